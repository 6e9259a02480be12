"""Raster helpers shared by the analyses: area labels on a grid, bincounts, mask → polygons."""

from __future__ import annotations

import hashlib

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
import shapely
from affine import Affine

from kkr_geo.geo.errors import InputError

OUTSIDE_LABEL = "(uden for områder)"


def frame_column(df: pd.DataFrame, name: str):
    """A column's array without building a Series: pandas deep-copies ``attrs`` (a layer's
    provenance) into every Series it hands out, which costs more than the rest of a warm corridor
    query. Falls back to ``df[name].array`` where the shortcut does not apply."""
    try:
        loc = df.columns.get_loc(name)
        if isinstance(loc, int):
            return df._get_column_array(loc)
    except (AttributeError, KeyError, TypeError):
        pass
    return df[name].array


def geometry_array(gdf: gpd.GeoDataFrame):
    """The active geometry column's GeometryArray (with its ``crs``), see :func:`frame_column`."""
    name = getattr(gdf, "_geometry_column_name", None)
    if name is not None and name in gdf.columns:
        arr = frame_column(gdf, name)
        if hasattr(arr, "crs"):
            return arr
    return gdf.geometry.values


def ensure_analysis_crs(gdf: gpd.GeoDataFrame, source: str) -> gpd.GeoDataFrame:
    """``gdf`` in EPSG:25832; a layer already declared EPSG:25832 is returned as is after a bounds
    check (the full :func:`geo.crs.to_analysis_crs` copies the frame, which matters in warm queries)."""
    from kkr_geo.geo.crs import ANALYSIS_CRS, looks_like_utm32, to_analysis_crs
    if len(gdf):
        garr = geometry_array(gdf)
        if garr.crs is not None and garr.crs == ANALYSIS_CRS:
            b = shapely.total_bounds(np.asarray(garr))
            if np.isfinite(b).all() and looks_like_utm32(tuple(b)):
                return gdf
    return to_analysis_crs(gdf, source=source)


# geometry_key memo: shapely geometries are immutable, so the same geometry *objects* (kept alive
# here, so their ids cannot be reused) with the same names and CRS have the same content hash.
_KEY_MEMO: dict = {}
_KEY_MEMO_SIZE = 64


def geometry_key(gdf: gpd.GeoDataFrame, column: str) -> str:
    """A content hash of a layer's geometries and names (cache key for its label raster).

    Hashing the WKB of detailed municipal boundaries costs milliseconds, so the hash is memoised
    per tuple of geometry objects, names and CRS: replacing a geometry, renaming an area or
    changing the CRS gives a new key."""
    garr = geometry_array(gdf)
    geoms = tuple(np.asarray(garr, dtype=object))
    names = tuple(map(str, np.asarray(frame_column(gdf, column), dtype=object).tolist()))
    memo_key = (tuple(map(id, geoms)), names, str(garr.crs))
    hit = _KEY_MEMO.get(memo_key)
    if hit is not None:
        return hit[0]
    key = _geometry_hash(gdf, column)
    if len(_KEY_MEMO) >= _KEY_MEMO_SIZE:
        _KEY_MEMO.pop(next(iter(_KEY_MEMO)))
    _KEY_MEMO[memo_key] = (key, geoms)
    return key


def _geometry_hash(gdf: gpd.GeoDataFrame, column: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    if len(gdf):
        h.update(b"".join(w or b"" for w in shapely.to_wkb(np.asarray(gdf.geometry.values), output_dimension=2)))
    h.update(str(gdf.crs).encode())
    h.update("\x1f".join(map(str, gdf[column].tolist())).encode())
    return h.hexdigest()


def area_labels(grid, areas: gpd.GeoDataFrame, name_column: str, *, area_type: str = "areas", key: str | None = None
                ) -> tuple[np.ndarray, list[str]]:
    """Label each grid cell with the area whose polygon contains the cell centre.

    Returns ``(labels, names)``: an int32 array shaped like the grid (index into ``names``, -1 = no
    area) and the list of distinct area names (features sharing a name are merged). Cached on the
    grid per layer content, so repeated queries are cheap.
    """
    check_name_column(areas, name_column, area_type)
    cache_key = ("labels", key or geometry_key(areas, name_column), name_column)
    return grid.cached(cache_key, lambda: _rasterize_labels(grid, areas, name_column, area_type))


def check_name_column(areas: gpd.GeoDataFrame, name_column: str, area_type: str) -> None:
    if name_column not in areas.columns:
        raise InputError(f"{area_type}: no column {name_column!r} (columns: {', '.join(map(str, areas.columns))}).",
                         hint="pass area_name_column= with the column holding the area names.")


def _rasterize_labels(grid, areas, name_column, area_type):
    areas = ensure_analysis_crs(areas, area_type)
    names = pd.unique(areas[name_column].astype(str)).tolist()
    code = {n: i for i, n in enumerate(names)}
    labels = np.full(grid.shape, -1, dtype=np.int32)
    if grid.values.size and len(areas):
        shapes = [(g, code[str(n)]) for g, n in zip(areas.geometry.values, areas[name_column])
                  if g is not None and not g.is_empty]
        if shapes:
            labels = rasterio.features.rasterize(shapes, out_shape=grid.shape, transform=grid.transform,
                                                 fill=-1, dtype="int32", all_touched=False)
    labels.flags.writeable = False
    return labels, names



def cell_area_index(grid, cell_index: np.ndarray, areas: gpd.GeoDataFrame, name_column: str, *,
                    area_type: str = "areas", key: str | None = None) -> tuple[np.ndarray, list[str]]:
    """For the cells at flat ``cell_index``: their area index into ``names``, with cells outside
    every area given index ``len(names)`` (ready for ``np.bincount(..., minlength=len(names) + 1)``)."""
    check_name_column(areas, name_column, area_type)
    gkey = key or geometry_key(areas, name_column)
    lab, names = area_labels(grid, areas, name_column, area_type=area_type, key=gkey)
    if cell_index is grid.cell_centres().index:
        # the populated cells: cached per grid and layer
        return grid.cached(("cell_labels", gkey, name_column),
                           lambda: _outside_last(lab.ravel()[cell_index], len(names))), names
    return _outside_last(lab.ravel()[cell_index], len(names)), names


def _outside_last(la: np.ndarray, n: int) -> np.ndarray:
    out = np.where(la < 0, n, la)
    out.flags.writeable = False
    return out

def grouped_sum(labels: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Sum of ``weights`` per label 0..n-1 (label -1 goes to slot n)."""
    lab = np.where(labels < 0, n, labels)
    return np.bincount(lab, weights=weights, minlength=n + 1)


def mask_to_polygons(mask: np.ndarray, transform: Affine, values: np.ndarray | None = None,
                     extra: dict[str, np.ndarray] | None = None, crs=None) -> gpd.GeoDataFrame:
    """Dissolve the True cells of ``mask`` into polygons (one per 4-connected patch).

    Each polygon carries ``population`` (sum of ``values`` over its cells, if given), ``area_km2``
    and, for every ``extra`` array, its maximum over the patch.
    """
    flat = np.flatnonzero(mask.ravel()) if mask.size else np.empty(0, dtype=np.int64)
    return cells_to_polygons(flat, mask.shape, transform,
                             values=None if values is None else np.asarray(values).ravel()[flat],
                             extra={k: np.asarray(a).ravel()[flat] for k, a in (extra or {}).items()}, crs=crs)


def cells_to_polygons(flat: np.ndarray, shape: tuple[int, int], transform: Affine, values: np.ndarray | None = None,
                      extra: dict[str, np.ndarray] | None = None, crs=None) -> gpd.GeoDataFrame:
    """Dissolve the grid cells at flat indices ``flat`` into polygons (one per 4-connected patch).

    ``values`` and each ``extra`` array are given per listed cell (aligned with ``flat``): each
    polygon carries ``population`` (sum of ``values``), ``area_km2`` and each extra's maximum.
    Outlines are traced from the boolean raster by ``rasterio.features.shapes`` in the window that
    holds the cells (no union of cell polygons); single-cell patches are boxes.
    """
    from scipy import ndimage
    extra = extra or {}
    cols: dict[str, list] = {"population": [], "area_km2": [], **{k: [] for k in extra}}
    flat = np.asarray(flat, dtype=np.int64)
    if len(flat) == 0:
        return gpd.GeoDataFrame({**cols, "geometry": []}, geometry="geometry", crs=crs)
    rr, cc = np.divmod(flat, shape[1])
    r0, c0 = int(rr.min()), int(cc.min())
    rr, cc = rr - r0, cc - c0
    mask = np.zeros((int(rr.max()) + 1, int(cc.max()) + 1), dtype=bool)
    mask[rr, cc] = True
    transform = transform @ Affine.translation(c0, r0)
    lab, n = ndimage.label(mask)
    cell_lab = lab[rr, cc]
    counts = np.bincount(cell_lab, minlength=n + 1)[1:]
    geoms = np.empty(n, dtype=object)
    # single-cell patches (common in rural grids): boxes, vectorised
    single = counts[cell_lab - 1] == 1
    if single.any():
        xl, yt = transform.c + cc[single] * transform.a, transform.f + rr[single] * transform.e
        geoms[cell_lab[single] - 1] = shapely.box(xl, yt + transform.e, xl + transform.a, yt)
    # larger 4-connected patches: one outer ring each (plus holes), traced by rasterio
    if not single.all():
        multi = np.zeros_like(mask)
        multi[rr[~single], cc[~single]] = True
        shells, owners = [], []
        for geom, v in rasterio.features.shapes(lab.astype(np.int32), mask=multi, transform=transform, connectivity=4):
            rings = geom["coordinates"]
            i = int(v) - 1
            if len(rings) == 1 and geoms[i] is None:
                shells.append(np.asarray(rings[0]))
                owners.append(i)
            else:  # a patch with holes: rings as arrays (coordinate lists go through Python per point)
                poly = shapely.Polygon(np.asarray(rings[0]), [np.asarray(h) for h in rings[1:]])
                geoms[i] = poly if geoms[i] is None else shapely.union(geoms[i], poly)
        if shells:
            ids = np.repeat(np.arange(len(shells)), [len(r) for r in shells])
            polys = shapely.polygons(shapely.linearrings(np.vstack(shells), indices=ids))
            for i, poly in zip(owners, polys):
                geoms[i] = poly if geoms[i] is None else shapely.union(geoms[i], poly)
    cell_area = abs(transform.a * transform.e)
    data = {"population": (np.bincount(cell_lab, weights=np.asarray(values, dtype=float), minlength=n + 1)[1:]
                           if values is not None else np.zeros(n)),
            "area_km2": counts * cell_area / 1e6}
    for k, arr in extra.items():
        m = np.full(n + 1, -np.inf)
        np.maximum.at(m, cell_lab, np.asarray(arr, dtype=float))
        data[k] = m[1:]
    return gpd.GeoDataFrame(data, geometry=geoms, crs=crs)
