"""Coverage gaps: distance from every populated cell to the nearest facility.

:func:`coverage_gaps` answers "where do people live farther than X from any clinic / station /
P+R?". Distances are measured from cell centres to the nearest facility (Euclidean × detour factor
by default, or route distance on a street network, see :mod:`geo.distance`). Cells that cannot
reach any facility on the network get distance ``inf`` and count as beyond the threshold.

Example::

    >>> import geopandas as gpd, numpy as np, shapely
    >>> from affine import Affine
    >>> from kkr_geo.geo.population import PopulationGrid
    >>> grid = PopulationGrid(np.ones((10, 10)), Affine(100, 0, 700_000, 0, -100, 6_171_000))
    >>> # a clinic at the centre of the top-left cell; 26 cells lie within 500 m
    >>> clinic = gpd.GeoDataFrame(geometry=[shapely.Point(700_050, 6_170_950)], crs=25832)
    >>> r = coverage_gaps(clinic, grid, 500, detour_factor=1.0)
    >>> r.table[["area_name", "population", "population_beyond"]].to_dict("records")
    [{'area_name': 'I alt', 'population': 100.0, 'population_beyond': 74.0}]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kkr_geo.geo.area_weights import area_weights
from kkr_geo.geo.crs import ANALYSIS_CRS
from kkr_geo.geo.detour import is_area_factors
from kkr_geo.geo.distance import (
    DEFAULT_DETOUR_FACTOR,
    StreetNetwork,
    check_detour_factor,
    describe_method,
    nearest_distance,
    positive_metres,
)
from kkr_geo.geo.errors import InputError
from kkr_geo.geo.geometry import split_missing_geometry
from kkr_geo.geo.network_check import dominant_labels, place_notes, ratio_check
from kkr_geo.geo.population import PopulationGrid
from kkr_geo.geo.raster import OUTSIDE_LABEL, cells_to_polygons, ensure_analysis_crs

TOTAL_LABEL = "I alt"


@dataclass
class CoverageResult:
    """``distance``, ``table`` and ``meta`` are computed by the query; ``gaps`` (polygons) is built
    on first access and cached, since dissolving many scattered cells into polygons can cost more
    than the distance computation itself and is needed only for maps and GeoPackage output."""

    table: pd.DataFrame
    meta: dict = field(default_factory=dict)
    cell_distance: np.ndarray | None = None  # per populated cell, aligned with grid.cell_centres()
    _gap_builder: Callable[[], gpd.GeoDataFrame] | None = field(default=None, repr=False)
    _gaps: gpd.GeoDataFrame | None = field(default=None, repr=False)
    _grid: PopulationGrid | None = field(default=None, repr=False)
    _distance: np.ndarray | None = field(default=None, repr=False)

    @property
    def distance(self) -> np.ndarray:
        """Grid-shaped route metres to the nearest facility (NaN = unpopulated, inf = unreachable),
        scattered from ``cell_distance`` on first access."""
        if self._distance is None:
            if self._grid is None or self.cell_distance is None:
                raise RuntimeError("CoverageResult has neither distances nor the grid and cell values to make them")
            self._distance = self._grid.array_from_cells(self.cell_distance)
        return self._distance

    @property
    def gaps(self) -> gpd.GeoDataFrame:
        """Dissolved polygons (4-connected patches) of the populated cells beyond the threshold:
        gap_id, population, area_km2, max_distance_m (NaN where unreachable), reachable."""
        if self._gaps is None:
            if self._gap_builder is None:
                raise RuntimeError("CoverageResult has neither gaps nor a gap builder")
            self._gaps = self._gap_builder()
        return self._gaps

    def __repr__(self) -> str:
        head = f"CoverageResult({self.meta.get('distance_method')}, threshold {self.meta.get('threshold_m')} m)"
        return f"{head}\n{self.table.to_string(index=False)}"


def normalise_areas(areas, default_type: str = "område") -> dict[str, gpd.GeoDataFrame]:
    if areas is None:
        return {}
    if isinstance(areas, gpd.GeoDataFrame):
        return {default_type: areas}
    if isinstance(areas, dict):
        return dict(areas)
    raise InputError(f"areas of type {type(areas).__name__} is neither a GeoDataFrame nor a dict of them.",
                     hint='pass areas=kommuner or areas={"kommune": kommuner, "planområde": planomraader}.')


def facility_geometries(facilities: gpd.GeoDataFrame, what: str = "facilities") -> gpd.GeoDataFrame:
    if not isinstance(facilities, gpd.GeoDataFrame):
        raise InputError(f"{what} must be a GeoDataFrame.", hint="read them with geo.io.read_vector or layers.load_layer.")
    name = str(facilities.attrs.get("source", what))
    if len(facilities) == 0:
        return facilities.set_crs(ANALYSIS_CRS, allow_override=True)
    out = ensure_analysis_crs(facilities, name)
    missing = (out.geometry.isna() | out.geometry.is_empty).to_numpy()
    if missing.any():
        _, note = split_missing_geometry(out, source=name)
        raise InputError(f"{note[0].replace('were left out', 'cannot be used')}.",
                         hint="drop them, or give them coordinates (a facility without a location would silently "
                              "lose its capacity or its coverage).")
    return out


def coverage_gaps(facilities: gpd.GeoDataFrame, grid: PopulationGrid, threshold_m: float, *, areas=None,
                  area_name_column: str = "navn", network: StreetNetwork | None = None,
                  detour_factor: float = DEFAULT_DETOUR_FACTOR) -> CoverageResult:
    """Distance from each populated cell to the nearest facility; population beyond ``threshold_m``.

    Parameters
    ----------
    facilities
        Points (clinics, stations, P+R); lines or polygons work too (distance to the nearest edge).
    grid
        The population surface.
    threshold_m
        Route metres beyond which a cell is a coverage gap.
    areas
        A GeoDataFrame (one area type, "område") or ``{"kommune": gdf, "planområde": gdf}``. Cells
        crossed by an area boundary are split between the areas by area share
        (:mod:`geo.area_weights`), so the per-area populations add up to the grid total.

    Returns
    -------
    CoverageResult with ``distance`` (grid-shaped, NaN where unpopulated, inf = unreachable),
    ``table`` (area_type, area_name, population, population_beyond, share_beyond,
    mean_distance_m; first row the total "I alt"), ``gaps`` (dissolved polygons of the cells beyond
    the threshold with population, area_km2, max_distance_m) and ``meta``.
    """
    threshold = positive_metres(threshold_m, "threshold", "--threshold 1000")
    detour_factor = check_detour_factor(detour_factor)
    fac = facility_geometries(facilities)
    c = grid.cell_centres()
    per_cell = network is None and is_area_factors(detour_factor)
    d = nearest_distance(grid.cell_xy(), fac.geometry.values, detour_factor=1.0 if per_cell else detour_factor,
                         network=network)
    if per_cell:
        per_cell_factors: Any = detour_factor
        d = d * per_cell_factors.cell_factors(grid)  # each cell's straight line × its own area's factor
    beyond_cells = d > threshold
    pop = c.population

    rows = [_row("total", TOTAL_LABEL, pop, beyond_cells, d)]
    labels = {}
    for area_type, agdf in normalise_areas(areas).items():
        w = area_weights(grid, agdf, area_name_column, area_type=area_type)
        if network is not None:
            labels[area_type] = dominant_labels(w)
        names, n = w.names, len(w.names)
        fin = np.isfinite(d)
        tot = w.sums(pop)
        bey = w.sums(pop * beyond_cells)
        wd = w.sums(np.where(fin, pop * d, 0.0))
        wp = w.sums(np.where(fin, pop, 0.0))
        for j, name in enumerate(names + [OUTSIDE_LABEL]):
            if j == n and tot[j] <= 0:
                continue
            rows.append({"area_type": area_type, "area_name": name, "population": tot[j], "population_beyond": bey[j],
                         "share_beyond": bey[j] / tot[j] if tot[j] > 0 else np.nan,
                         "mean_distance_m": wd[j] / wp[j] if wp[j] > 0 else np.nan})
    table = pd.DataFrame(rows, columns=["area_type", "area_name", "population", "population_beyond", "share_beyond",
                                        "mean_distance_m"])

    def build_gaps() -> gpd.GeoDataFrame:
        gaps = cells_to_polygons(c.index[beyond_cells], grid.shape, grid.transform, values=pop[beyond_cells],
                                 extra={"max_distance_m": d[beyond_cells]}, crs=ANALYSIS_CRS)
        if len(gaps):
            gaps["max_distance_m"] = gaps["max_distance_m"].replace(np.inf, np.nan)
            gaps["reachable"] = gaps["max_distance_m"].notna()
            gaps = gaps.sort_values("population", ascending=False).reset_index(drop=True)
            gaps.insert(0, "gap_id", np.arange(1, len(gaps) + 1))
        gaps.attrs.update(meta)
        return gaps

    meta = {
        **describe_method(network, detour_factor),
        **grid.meta,
        "threshold_m": threshold,
        "facilities": len(fac),
        "facilities_source": str(facilities.attrs.get("source", "facilities")),
        "unreachable_population": float(pop[~np.isfinite(d)].sum()),
        "population_method": "distance from each populated cell centre to the nearest facility",
    }
    if network is not None and len(fac):
        # the answer's own check: network ÷ straight line per area, and places far from every street
        straight = nearest_distance(grid.cell_xy(), fac.geometry.values, detour_factor=1.0)
        check, notes = ratio_check(d, straight, labels)
        geoms = fac.geometry.values
        pts = np.where(shapely.get_type_id(geoms) == 0, geoms, shapely.point_on_surface(geoms))
        names = [str(v) for v in (fac["navn"] if "navn" in fac.columns else range(len(fac)))]
        notes = place_notes(network, shapely.get_coordinates(pts), names) + notes
        meta["network_check"] = check
        meta["notes"] = notes
        # the check next to the figures: network ÷ straight line per area (median, 90th percentile)
        med, p90 = [np.nan] * len(table), [np.nan] * len(table)
        for i, (atype, aname) in enumerate(zip(table["area_type"], table["area_name"])):
            s = check.get("overall") if atype == "total" else check.get(atype, {}).get(aname)
            if s:
                med[i], p90[i] = s["median"], s["p90"]
        table["vejnet_luftlinje_median"] = med
        table["vejnet_luftlinje_p90"] = p90
    if len(fac) == 0:
        meta["note"] = "no facilities: every populated cell is beyond the threshold"
    table.attrs.update(meta)
    return CoverageResult(table=table, meta=meta, cell_distance=d, _gap_builder=build_gaps, _grid=grid)


def _row(area_type, name, pop, beyond, d) -> dict:
    total = float(pop.sum())
    b = float(pop[beyond].sum())
    fin = np.isfinite(d)
    wp = float(pop[fin].sum())
    return {"area_type": area_type, "area_name": name, "population": total, "population_beyond": b,
            "share_beyond": b / total if total > 0 else np.nan,
            "mean_distance_m": float((pop[fin] * d[fin]).sum() / wp) if wp > 0 else np.nan}
