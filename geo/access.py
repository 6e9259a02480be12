"""Accessibility by the two-step floating catchment area method (2SFCA) and its enhanced variants.

Supply ``S_j`` is the capacity of facility ``j`` (e.g. clinic capacity units), demand ``P_k`` the
population of cell ``k``, ``d_kj`` the distance (Euclidean × detour factor or network, see
:mod:`geo.distance`) and ``W`` a decay weight that is zero beyond the catchment ``d0``:

1. for each facility, supply-to-demand ratio ``R_j = S_j / Σ_k P_k W(d_kj)``;
2. for each cell, accessibility ``A_k = Σ_j R_j W(d_kj)``, capacity per inhabitant, reported as
   capacity per 10,000 inhabitants (``A_k × 10,000``) and as its inverse, inhabitants per unit of
   capacity ("borgere pr. kapacitet", the practice plan's figure).

Decay (``decay=``):

* ``"step"``: ``W = 1`` within ``d0`` (Luo & Wang 2003, the classic 2SFCA; PySAL ``access``'s
  ``fca_ratio``/``two_stage_fca`` with a step weight);
* ``"gaussian"``: ``W = (exp(-½(d/d0)²) − exp(-½)) / (1 − exp(-½))`` within ``d0`` (Dai 2010,
  Gaussian 2SFCA; 1 at the facility, 0 at the catchment edge);
* ``"zones"``: enhanced 2SFCA (Luo & Qi 2009): step weights per distance zone, by default
  1.00 / 0.68 / 0.22 for the thirds of ``d0`` (``zone_weights=[(d, w), ...]`` to change).

A property the tests check: every unit of capacity of a facility that has demand within reach is
handed out, ``Σ_k P_k A_k = Σ_j S_j``.

With the planning area itself as the catchment (:func:`area_catchment_fca`), ``A`` for every
resident of area ``a`` is ``S_a / P_a``, so borgere pr. kapacitet = population / capacity: the
figure in Tabel 3 of the practice plan.
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
from kkr_geo.geo.coverage import TOTAL_LABEL, facility_geometries, normalise_areas
from kkr_geo.geo.detour import is_area_factors
from kkr_geo.geo.distance import (
    DEFAULT_DETOUR_FACTOR,
    StreetNetwork,
    check_detour_factor,
    describe_method,
    grid_tree_pairs,
    pairs_within,
    positive_metres,
)
from kkr_geo.geo.errors import InputError
from kkr_geo.geo.population import PopulationGrid
from kkr_geo.geo.raster import OUTSIDE_LABEL

#: Luo & Qi (2009) E2SFCA weights for three equal distance zones.
E2SFCA_WEIGHTS = (1.0, 0.68, 0.22)


@dataclass
class AccessResult:
    """``cells`` (grid-shaped capacity per 10,000 inhabitants) is scattered from ``cell_access`` on
    first access: a grid-sized array costs more than the rest of a warm query on a large grid."""

    by_area: pd.DataFrame
    facilities: pd.DataFrame
    meta: dict = field(default_factory=dict)
    cell_access: np.ndarray | None = None  # capacity per inhabitant per populated cell (grid.cell_centres order)
    _cells: np.ndarray | None = field(default=None, repr=False)
    _grid: PopulationGrid | None = field(default=None, repr=False)

    @property
    def cells(self) -> np.ndarray:
        if self._cells is None:
            if self._grid is None or self.cell_access is None:
                raise RuntimeError("AccessResult has neither cells nor the grid and cell values to make them")
            self._cells = self._grid.array_from_cells(self.cell_access * 10_000)
        return self._cells

    def __repr__(self) -> str:
        head = f"AccessResult({self.meta.get('method')}, {self.meta.get('distance_method')})"
        return f"{head}\n{self.by_area.to_string(index=False)}"


def decay_weights(d: np.ndarray, d0: float, decay: str | Callable = "step", zone_weights=None) -> np.ndarray:
    """Weights ``W(d)`` for distances ``d`` (0 beyond ``d0``)."""
    d = np.asarray(d, dtype=float)
    inside = d <= d0
    if callable(decay):
        w = np.asarray(decay(d), dtype=float)
    elif decay == "step":
        w = np.ones_like(d)
    elif decay == "gaussian":
        e = np.exp(-0.5)
        w = d / d0  # (exp(-½(d/d0)²) − e) / (1 − e), in place: same operations, fewer temporaries
        np.square(w, out=w)
        w *= -0.5
        np.exp(w, out=w)
        w -= e
        w /= 1 - e
    elif decay in ("zones", "e2sfca"):
        zones = zone_weights or [(d0 * (i + 1) / len(E2SFCA_WEIGHTS), wt) for i, wt in enumerate(E2SFCA_WEIGHTS)]
        edges = np.array([z[0] for z in zones], dtype=float)
        wts = np.array([z[1] for z in zones], dtype=float)
        idx = np.searchsorted(edges, d, side="left")
        w = np.where(idx < len(wts), wts[np.minimum(idx, len(wts) - 1)], 0.0)
    else:
        raise InputError(f"decay {decay!r} is not one of step, gaussian, zones.", hint="choose --decay step, gaussian or zones.")
    return np.where(inside, np.clip(w, 0.0, None), 0.0)


def _capacities(fac: gpd.GeoDataFrame, column: str, source: str) -> np.ndarray:
    if column not in fac.columns:
        raise InputError(f"{source}: no capacity column {column!r} (columns: {', '.join(map(str, fac.columns))}).",
                         hint="pass capacity_column= / --capacity-column with the column holding capacity.")
    vals = pd.to_numeric(fac[column], errors="coerce")
    bad = vals.isna() | (vals < 0) | ~np.isfinite(vals.fillna(0))
    if bad.any():
        idx = vals.index[bad.to_numpy()][0]
        where = f"facility {idx!r}"
        if "kilde_linje" in fac.columns:
            where = f"line {fac.at[idx, 'kilde_linje']}" + (f" ({fac.at[idx, 'navn']})" if "navn" in fac.columns else "")
        cell = fac.at[idx, column]
        shown = "empty" if pd.isna(cell) else (repr(cell) if isinstance(cell, str) else str(cell))
        raise InputError(f"{source}: {where}: {column} is {shown}, not a finite non-negative number"
                         + (f" ({int(bad.sum())} facilities in all)" if bad.sum() > 1 else "") + ".",
                         hint="fix the row (see the notes on the clinic file for why a cell was not read); "
                              "use 0 for a facility without capacity.")
    return vals.to_numpy(dtype=float)


def two_step_fca(facilities: gpd.GeoDataFrame, capacity_column: str, grid: PopulationGrid, catchment_m: float, *,
                 decay: str | Callable = "step", areas=None, area_name_column: str = "navn",
                 network: StreetNetwork | None = None, detour_factor: float = DEFAULT_DETOUR_FACTOR,
                 zone_weights=None) -> AccessResult:
    """Two-step floating catchment area accessibility of facilities' capacity.

    Returns
    -------
    AccessResult with ``cells`` (grid-shaped capacity per 10,000 inhabitants, NaN where
    unpopulated), ``by_area`` (area_type, area_name, population, accessible_capacity,
    capacity_per_10000, borgere_pr_kapacitet; first row the total), ``facilities`` (the facility
    attributes plus capacity, demand_population, ratio_per_10000 = capacity per 10,000 people in
    its catchment, borgere_pr_kapacitet) and ``meta``.

    Example::

        >>> import geopandas as gpd, numpy as np, shapely
        >>> from affine import Affine
        >>> grid = PopulationGrid(np.array([[1000.0, 0, 3000.0]]), Affine(100, 0, 700_000, 0, -100, 6_170_100))
        >>> clinics = gpd.GeoDataFrame({"kapacitet": [2.0]}, geometry=[shapely.Point(700_050, 6_170_050)], crs=25832)
        >>> r = two_step_fca(clinics, "kapacitet", grid, 150, detour_factor=1.0)
        >>> r.by_area[["population", "capacity_per_10000"]].round(3).to_dict("records")
        [{'population': 4000.0, 'capacity_per_10000': 5.0}]
    """
    d0 = positive_metres(catchment_m, "catchment", "--catchment 2000")
    detour_factor = check_detour_factor(detour_factor)
    source = str(facilities.attrs.get("source", "facilities")) if isinstance(facilities, gpd.GeoDataFrame) else "facilities"
    fac = facility_geometries(facilities)
    cap = _capacities(fac, capacity_column, source) if len(fac) else np.zeros(0)
    geoms = fac.geometry.values
    not_point = shapely.get_type_id(geoms) != 0 if len(fac) else np.zeros(0, bool)
    fac_pts = np.where(not_point, shapely.point_on_surface(geoms), geoms) if len(fac) else geoms
    fac_xy = shapely.get_coordinates(fac_pts) if len(fac) else np.empty((0, 2))

    c = grid.cell_centres()
    pop = c.population
    if network is None:
        # Euclidean: one vectorised query of the cached facility tree against the grid's cached
        # KD-tree of populated cell centres
        if is_area_factors(detour_factor):
            # each cell's own factor: candidates within the smallest factor's radius, then exact
            per_cell_factors: Any = detour_factor
            f = per_cell_factors.cell_factors(grid)
            fmin = float(f.min()) if len(f) else 1.0
            fi, ci, dist = grid_tree_pairs(fac_xy, grid, d0, detour_factor=fmin)
            dist = dist / fmin * f[ci]
            keep = dist <= d0
            fi, ci, dist = fi[keep], ci[keep], dist[keep]
        else:
            fi, ci, dist = grid_tree_pairs(fac_xy, grid, d0, detour_factor=detour_factor)
    else:
        fi, ci, dist = pairs_within(fac_xy, grid.cell_xy(), d0, network=network)
    w = decay_weights(dist, d0, decay, zone_weights)
    demand = np.bincount(fi, weights=pop[ci] * w, minlength=len(fac))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(demand > 0, cap / demand, np.nan)
    access = np.bincount(ci, weights=np.nan_to_num(ratio)[fi] * w, minlength=len(pop))

    rows = [_area_row("total", TOTAL_LABEL, pop.sum(), (pop * access).sum())]
    for area_type, agdf in normalise_areas(areas).items():
        aw = area_weights(grid, agdf, area_name_column, area_type=area_type)
        names, n = aw.names, len(aw.names)
        tot = aw.sums(pop)
        acc = aw.sums(pop * access)
        for j, name in enumerate(names + [OUTSIDE_LABEL]):
            if j == n and tot[j] <= 0:
                continue
            rows.append(_area_row(area_type, name, tot[j], acc[j]))
    by_area = pd.DataFrame(rows)

    ftab = pd.DataFrame(fac.drop(columns=fac.geometry.name)).reset_index(drop=True)
    ftab["capacity"] = cap
    ftab["demand_population"] = demand
    ftab["ratio_per_10000"] = ratio * 10_000
    with np.errstate(divide="ignore", invalid="ignore"):
        ftab["borgere_pr_kapacitet"] = np.where(ratio > 0, 1 / ratio, np.nan)
    unreached = cap[~(demand > 0)].sum() if len(fac) else 0.0
    meta = {
        **describe_method(network, detour_factor),
        **grid.meta,
        "method": {"step": "2SFCA", "gaussian": "Gaussian 2SFCA (Dai 2010)", "zones": "E2SFCA (Luo & Qi 2009)",
                   "e2sfca": "E2SFCA (Luo & Qi 2009)"}.get(decay if isinstance(decay, str) else "", "2SFCA, custom decay"),
        "decay": decay if isinstance(decay, str) else getattr(decay, "__name__", "custom"),
        "catchment_m": d0,
        "capacity_column": capacity_column,
        "capacity_total": float(cap.sum()),
        "capacity_without_demand": float(unreached),
        "facilities": len(fac),
    }
    if unreached > 0:
        meta["note"] = (f"{unreached:g} units of capacity have no populated cell within {d0:g} m "
                        "and are not counted (e.g. facilities outside the grid)")
    by_area.attrs.update(meta)
    return AccessResult(by_area=by_area, facilities=ftab, meta=meta, cell_access=access, _grid=grid)


def _area_row(area_type, name, population, accessible) -> dict:
    population, accessible = float(population), float(accessible)
    return {"area_type": area_type, "area_name": name, "population": population, "accessible_capacity": accessible,
            "capacity_per_10000": accessible / population * 10_000 if population > 0 else np.nan,
            "borgere_pr_kapacitet": population / accessible if accessible > 0 else np.nan}


def area_catchment_fca(areas: pd.DataFrame, capacity_column: str, *, population_column: str | None = None,
                       grid: PopulationGrid | None = None, facilities: gpd.GeoDataFrame | None = None,
                       area_name_column: str = "navn") -> AccessResult:
    """2SFCA with each planning area as the catchment of its own facilities and residents.

    Every facility in area ``a`` serves exactly the residents of ``a``: step 1 gives
    ``R_j = S_j / P_a``, step 2 ``A = Σ_{j in a} R_j = S_a / P_a`` for everyone in ``a``, so
    ``borgere_pr_kapacitet = P_a / S_a``, the practice plan's Tabel 3 figure.

    Capacity comes from ``facilities[capacity_column]`` (points assigned to the area containing
    them) or, without facilities, from ``areas[capacity_column]`` (one pseudo-facility per area,
    as in Tabel 3). Population comes from ``areas[population_column]`` or, with a ``grid``, from
    the grid summed per area by area share (boundary cells split between areas, see
    :mod:`geo.area_weights`; needs polygon geometry).
    """
    for col in [area_name_column] + ([population_column] if population_column else []):
        if col not in areas.columns:
            raise InputError(f"planning areas: no column {col!r} (columns: {', '.join(map(str, areas.columns))}).",
                             hint="name existing columns for the area name and population.")
    names = areas[area_name_column].astype(str).tolist()
    if population_column:
        pop = pd.to_numeric(areas[population_column], errors="coerce").to_numpy(dtype=float)
        if np.isnan(pop).any() or (pop < 0).any():
            i = int(np.flatnonzero(np.isnan(pop) | (pop < 0))[0])
            raise InputError(f"planning areas: {names[i]}: {population_column} = {areas[population_column].iloc[i]!r} "
                             "is not a non-negative number.", hint="fix the population value.")
        pop_source = f"{population_column} column"
    elif grid is not None:
        w = area_weights(grid, areas, area_name_column, area_type="planning areas")
        by_name = dict(zip(w.names, w.sums(grid.cell_centres().population)))
        pop = np.array([by_name.get(n, 0.0) for n in names])
        pop_source = grid.source
    else:
        raise InputError("planning areas: no population given.", hint="pass population_column= or grid=.")
    if facilities is not None:
        fac = facility_geometries(facilities)
        cap_f = _capacities(fac, capacity_column, str(facilities.attrs.get("source", "facilities")))
        ag = gpd.GeoDataFrame({"_area": np.arange(len(areas))}, geometry=areas.geometry.values, crs=areas.crs).to_crs(fac.crs)
        joined = gpd.sjoin(gpd.GeoDataFrame({"_cap": cap_f}, geometry=fac.geometry.values, crs=fac.crs), ag,
                           how="left", predicate="within")
        joined = joined[~joined.index.duplicated()]
        fac_area = joined["_area"].to_numpy()
        fac_cap = joined["_cap"].to_numpy(dtype=float)
        outside = pd.isna(fac_area)
        fac_area = np.where(outside, -1, fac_area).astype(int)
    else:
        fac_cap = _capacities(areas, capacity_column, "planning areas")
        fac_area = np.arange(len(areas))
        outside = np.zeros(len(areas), bool)
    n = len(areas)
    # step 1: each facility's catchment is its own area, demand = that area's population
    demand = np.where(fac_area >= 0, pop[np.maximum(fac_area, 0)], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(demand > 0, fac_cap / demand, np.nan)
    # step 2: residents of area a reach exactly the facilities in a
    ok = fac_area >= 0
    access = np.bincount(fac_area[ok], weights=np.nan_to_num(ratio[ok]), minlength=n)
    capacity = np.bincount(fac_area[ok], weights=fac_cap[ok], minlength=n)
    by_area = pd.DataFrame({"area_type": "planlægningsområde", "area_name": names, "population": pop,
                            "capacity": capacity, "accessible_capacity": pop * access})
    with np.errstate(divide="ignore", invalid="ignore"):
        by_area["capacity_per_10000"] = np.where(pop > 0, access * 10_000, np.nan)
        by_area["borgere_pr_kapacitet"] = np.where(access > 0, 1 / access, np.nan)
    cells = np.full(grid.shape, np.nan) if grid is not None else np.empty((0, 0))
    if grid is not None:
        # boundary cells: the share-weighted mean of their areas' access (outside: none)
        w = area_weights(grid, areas, area_name_column, area_type="planning areas")
        acc_by_name = dict(zip(names, access))
        per_column = np.array([acc_by_name.get(nm, 0.0) for nm in w.names] + [0.0])
        cells = grid.array_from_cells(w.cell_mean(per_column) * 10_000)
    ftab = pd.DataFrame({"area": [names[a] if a >= 0 else OUTSIDE_LABEL for a in fac_area], "capacity": fac_cap,
                         "demand_population": demand, "ratio_per_10000": ratio * 10_000})
    meta = {"method": "2SFCA with the planning area as catchment", "distance_method": "none (area membership)",
            "detour_factor": None, "population_source": pop_source,
            "population_precision": grid.precision if (grid is not None and not population_column) else "as given",
            "capacity_column": capacity_column, "capacity_outside_areas": float(fac_cap[outside].sum())}
    by_area.attrs.update(meta)
    return AccessResult(by_area=by_area, facilities=ftab, meta=meta, _cells=cells)
