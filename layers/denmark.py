"""Is a point in Denmark? Checked against the land (DAGI municipality polygons), not a bounding box.

Denmark's bounding box holds Malmø, Helsingborg and Lund: a clinic geocoded to the wrong side of
Øresund passes any box check. Features are therefore tested against the union of all Danish
municipality polygons (``dagi/kommuner.geojson``) widened by :data:`COAST_TOLERANCE_M` (the
boundaries are generalised to ~100 m, and harbours and piers lie on the coast line). Without the
polygons the box is the fallback, and the note says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import geopandas as gpd
import numpy as np
import shapely

from kkr_geo.geo.crs import ANALYSIS_CRS, DK_BOUNDS_25832
from kkr_geo.geo.geometry import feature_label as _default_label
from kkr_geo.geo.geometry import split_missing_geometry  # noqa: F401  (re-exported: it moved to the core)

COAST_TOLERANCE_M = 1000.0


@dataclass
class OutsideReport:
    """Features left out because they lie outside Denmark; ``lines()`` names each one."""
    source: str
    left_out: list[str] = field(default_factory=list)
    method: str = "land"

    def lines(self) -> list[str]:
        if not self.left_out:
            return []
        how = ("outside Denmark (more than 1 km from Danish land, DAGI)" if self.method == "land"
               else "outside Denmark (outside its bounding box; the land polygons were not available)")
        return [f"{self.source}: {len(self.left_out)} feature(s) {how} were left out (check lat/lon order and CRS): "
                + "; ".join(self.left_out)]


@lru_cache(maxsize=4)
def _land(path: str, mtime: float):
    from kkr_geo.geo.io import read_vector

    land = shapely.union_all(shapely.make_valid(read_vector(path).geometry.values))
    land = shapely.buffer(land, COAST_TOLERANCE_M)
    shapely.prepare(land)
    return land


def land_polygon(data_dir=None):
    """Denmark's land (widened by the coast tolerance) in EPSG:25832, or ``None`` when the data
    directory has no municipality polygons."""
    from kkr_geo.layers import catalog
    from kkr_geo.layers.datadir import resolve_data_dir

    try:
        dd = resolve_data_dir(data_dir)
    except Exception:  # noqa: BLE001 - no data directory: the box fallback applies
        return None
    path = dd.file(catalog.DATASETS["dagi_kommuner"].path)
    if not path.exists():
        return None
    return _land(str(path), path.stat().st_mtime)


def split_outside_denmark(gdf: gpd.GeoDataFrame, *, source: str, data_dir=None, label=None
                          ) -> tuple[gpd.GeoDataFrame, OutsideReport]:
    """Return (the features in Denmark, a report naming those left out).

    ``label(index, row)`` names a feature in the report (default: its row number and first text column).
    """
    report = OutsideReport(source)
    if gdf.empty:
        return gdf, report
    g = gdf if gdf.crs is not None and gdf.crs.equals(ANALYSIS_CRS) else gdf.to_crs(ANALYSIS_CRS)
    geoms = g.geometry.values
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    land = land_polygon(data_dir)
    if land is not None:
        inside = np.ones(len(g), dtype=bool)
        points = present & (shapely.get_type_id(geoms) == 0)
        if points.any():  # points by their coordinates against the prepared land: a million in under a second
            inside[points] = shapely.contains_xy(land, shapely.get_x(geoms[points]), shapely.get_y(geoms[points]))
        others = present & ~points
        if others.any():
            inside[others] = shapely.within(geoms[others], land)
    else:
        report.method = "box"
        x0, y0, x1, y1 = DK_BOUNDS_25832
        b = shapely.bounds(geoms)
        inside = ~present | ((b[:, 0] >= x0) & (b[:, 2] <= x1) & (b[:, 1] >= y0) & (b[:, 3] <= y1))
    if inside.all():
        return gdf, report
    wgs = g.loc[~inside].to_crs(4326)
    for (idx, row), pt in zip(g.loc[~inside].iterrows(), wgs.geometry.values):
        name = label(idx, row) if label else _default_label(g, idx, row)
        c = shapely.centroid(pt)
        report.left_out.append(f"{name} at {c.x:.4f} E, {c.y:.4f} N")
    out = gdf.loc[inside].copy()
    out.attrs = dict(gdf.attrs)
    return out, report
