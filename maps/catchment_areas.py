"""Readable catchment areas for the maps, drawn from the grid cells an analysis reached.

A network catchment (route distance along the road network) and the served cells of a coverage analysis
are unions of populated 100 m grid cells: along the road graph they are thin strings and lone squares
that are nearly invisible at region zoom. For drawing only, the cells of each feature are closed
morphologically (``buffer(+r)`` then ``buffer(-r)``: gaps and holes narrower than ``2 r`` are filled,
the outer edge does not grow), so the reader sees the area the cells make up. Bands are closed
cumulatively (the area within 5 km contains the area within 2 km) and drawn as rings again.

The figures are not touched: population and cell area stay those of the cells (the tables and the
figures box read the undrawn rows). Every reached cell centre lies inside the drawn area of its band
or of a nearer band (tests/test_catchment_areas.py checks it on the real data).

One helper for every map: :func:`drawn_areas` is applied by :func:`kkr_geo.maps.prepare.prepare` to each
layer whose geometry is made of grid cells (its provenance records ``cell_size_m`` and
``area_method: area of the cells reached``), so the static and the HTML maps draw the same areas.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely


CELL_AREA_METHOD = "area of the cells reached"
NETWORK_METHOD = "network shortest path"
QUAD_SEGS = 8


def _notes(gdf) -> dict[str, str]:
    out = {}
    for note in (getattr(gdf, "attrs", {}) or {}).get("notes", []) or []:
        key, sep, value = str(note).partition(": ")
        if sep:
            out.setdefault(key.strip(), value.strip())
    return out


def cell_size_of(gdf) -> float | None:
    """The grid cell size (m) when ``gdf``'s geometry is made of grid cells, else None."""
    notes = _notes(gdf)
    if notes.get("area_method") != CELL_AREA_METHOD:
        return None
    try:
        size = float(notes.get("cell_size_m", "nan"))
    except ValueError:
        return None
    return size if np.isfinite(size) and size > 0 else None


def is_network(gdf) -> bool:
    """Distances along the road network (the legend says "ad vej")."""
    return _notes(gdf).get("distance_method") == NETWORK_METHOD


def closing_radius_m(distance_m: float, cell_size_m: float) -> float:
    """How wide a gap between reached cells is closed: a tenth of the band's distance, at least 1.5 and at
    most 5 cells (100 m cells: 150 m for a 400/800 m walk, 200 m for 2 km, 500 m for 5 km)."""
    d = float(distance_m) if np.isfinite(float(distance_m)) else 0.0
    return float(np.clip(d / 10.0, 1.5 * cell_size_m, 5.0 * cell_size_m))


def close_cells(geom, radius_m: float):
    """Morphological closing of ``geom`` by a disc of ``radius_m``; never smaller than ``geom`` itself."""
    if geom is None or shapely.is_empty(geom):
        return geom
    closed = shapely.buffer(shapely.buffer(geom, radius_m, quad_segs=QUAD_SEGS), -radius_m, quad_segs=QUAD_SEGS)
    # the arcs of a buffer are polygons: add the cells back so no reached cell falls outside by a sliver
    return shapely.union(shapely.make_valid(closed), geom)


def _cell_centres_in(part, cells, cell: float) -> bool:
    """Whether ``part`` holds the centre of one of the grid cells that make up ``cells``."""
    gx, gy = cells.bounds[0] % cell, cells.bounds[1] % cell       # the grid's origin (cells are aligned)
    x0, y0, x1, y1 = part.bounds
    xs = np.arange(np.floor((x0 - gx) / cell) * cell + gx + cell / 2, x1, cell)
    ys = np.arange(np.floor((y0 - gy) / cell) * cell + gy + cell / 2, y1, cell)
    if not len(xs) or not len(ys):
        return False
    pts = shapely.points(np.array(np.meshgrid(xs, ys)).reshape(2, -1).T)
    return bool((shapely.contains(part, pts) & shapely.contains(cells, pts)).any())


def _drop_slivers(ring, cells, cell: float):
    """A ring (closed band minus the nearer bands' area) without the thin slivers left where two closings'
    edges differ slightly; a small part is kept when it holds the centre of a cell of the band."""
    parts = shapely.get_parts(ring)
    small = shapely.area(parts) < cell * cell / 2
    if not small.any():
        return ring
    keep = [p for p, s in zip(parts, small) if not s or _cell_centres_in(p, cells, cell)]
    return shapely.union_all(keep) if keep else shapely.Polygon()


def _group_keys(gdf) -> list:
    for col in ("feature", "navn"):
        if col in gdf.columns:
            return [str(v) for v in gdf[col]]
    return ["alle"] * len(gdf)


def drawn_areas(gdf: gpd.GeoDataFrame, cell_size_m: float | None = None) -> gpd.GeoDataFrame:
    """A copy of ``gdf`` whose geometry is the closed area of each feature's cells, per band (rings stay
    rings, cumulative bands stay cumulative). Other columns, row order and attrs are unchanged; a layer
    not made of cells is returned as it is."""
    cell = cell_size_m if cell_size_m is not None else cell_size_of(gdf)
    if cell is None or len(gdf) == 0:
        return gdf
    col = next((c for c in ("distance_m", "afstand_m") if c in gdf.columns), None)
    dist = np.asarray(gdf[col], dtype=float) if col else np.full(len(gdf), 10.0 * cell)
    lows = np.asarray(gdf["distance_from_m"], dtype=float) if "distance_from_m" in gdf.columns else np.zeros(len(gdf))
    keys = _group_keys(gdf)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    out = geoms.copy()
    for key in dict.fromkeys(keys):
        idx = [i for i, k in enumerate(keys) if k == key]
        idx.sort(key=lambda i: (np.nan_to_num(dist[i], nan=np.inf), i))
        rings = any(lows[i] > 0 for i in idx)
        cells_acc = shapely.Polygon()
        closed_acc = shapely.Polygon()
        for i in idx:
            g = geoms[i]
            if g is None or shapely.is_empty(g):
                continue
            cells_acc = shapely.union(cells_acc, g)
            closed = shapely.union(close_cells(cells_acc, closing_radius_m(dist[i], cell)), closed_acc)
            out[i] = _drop_slivers(shapely.difference(closed, closed_acc), g, cell) if rings else closed
            closed_acc = closed
    res = gdf.copy()
    res = res.set_geometry(gpd.GeoSeries(out, index=gdf.index, crs=gdf.crs))
    res.attrs.update(gdf.attrs)
    return res
