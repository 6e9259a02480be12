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


def ensure_analysis_crs(gdf: gpd.GeoDataFrame, source: str) -> gpd.GeoDataFrame:
    """``gdf`` in EPSG:25832; a layer already declared EPSG:25832 is returned as is after a bounds
    check (the full :func:`geo.crs.to_analysis_crs` copies the frame, which matters in warm queries)."""
    from kkr_geo.geo.crs import ANALYSIS_CRS, looks_like_utm32, to_analysis_crs
    if gdf.crs is not None and len(gdf) and gdf.crs == ANALYSIS_CRS:
        b = gdf.total_bounds
        if np.isfinite(b).all() and looks_like_utm32(tuple(b)):
            return gdf
    return to_analysis_crs(gdf, source=source)


def geometry_key(gdf: gpd.GeoDataFrame, column: str) -> str:
    """A content hash of a layer's geometries and names (cache key for its label raster)."""
    h = hashlib.blake2b(digest_size=16)
    if len(gdf):
        h.update(b"".join(w or b"" for w in shapely.to_wkb(np.asarray(gdf.geometry.values), output_dimension=2)))
    h.update(str(gdf.crs).encode())
    h.update("\x1f".join(map(str, gdf[column].tolist())).encode())
    return h.hexdigest()


def area_labels(grid, areas: gpd.GeoDataFrame, name_column: str, *, area_type: str = "areas"
                ) -> tuple[np.ndarray, list[str]]:
    """Label each grid cell with the area whose polygon contains the cell centre.

    Returns ``(labels, names)``: an int32 array shaped like the grid (index into ``names``, -1 = no
    area) and the list of distinct area names (features sharing a name are merged). Cached on the
    grid per layer content, so repeated queries are cheap.
    """
    if name_column not in areas.columns:
        raise InputError(f"{area_type}: no column {name_column!r} (columns: {', '.join(map(str, areas.columns))}).",
                         hint="pass area_name_column= with the column holding the area names.")
    key = ("labels", geometry_key(areas, name_column), name_column, grid.shape, tuple(grid.transform))
    cache = grid._cache
    if key in cache:
        return cache[key]
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
    cache[key] = (labels, names)
    return labels, names



def cell_area_index(grid, cell_index: np.ndarray, areas: gpd.GeoDataFrame, name_column: str, *,
                    area_type: str = "areas") -> tuple[np.ndarray, list[str]]:
    """For the cells at flat ``cell_index``: their area index into ``names``, with cells outside
    every area given index ``len(names)`` (ready for ``np.bincount(..., minlength=len(names) + 1)``)."""
    lab, names = area_labels(grid, areas, name_column, area_type=area_type)
    la = lab.ravel()[cell_index]
    return np.where(la < 0, len(names), la), names

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
    from scipy import ndimage
    extra = extra or {}
    cols: dict[str, list] = {"population": [], "area_km2": [], **{k: [] for k in extra}}
    if mask.size == 0 or not mask.any():
        return gpd.GeoDataFrame({**cols, "geometry": []}, geometry="geometry", crs=crs)
    lab, n = ndimage.label(mask)
    counts = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    geoms = np.empty(n, dtype=object)
    # single-cell patches (common in rural grids): boxes, vectorised
    single = np.zeros(n + 1, dtype=bool)
    single[1:] = counts == 1
    cell_mask = single[lab] & mask
    rr, cc = np.nonzero(cell_mask)
    if len(rr):
        xl, yt = transform.c + cc * transform.a, transform.f + rr * transform.e
        geoms[lab[rr, cc] - 1] = shapely.box(xl, yt + transform.e, xl + transform.a, yt)
    # larger 4-connected patches: one outer ring each (plus holes), traced by rasterio
    multi = mask & ~cell_mask
    if multi.any():
        shells, owners = [], []
        for geom, v in rasterio.features.shapes(lab.astype(np.int32), mask=multi, transform=transform, connectivity=4):
            rings = geom["coordinates"]
            i = int(v) - 1
            if len(rings) == 1 and geoms[i] is None:
                shells.append(np.asarray(rings[0]))
                owners.append(i)
            else:
                poly = shapely.Polygon(rings[0], rings[1:])
                geoms[i] = poly if geoms[i] is None else shapely.union(geoms[i], poly)
        if shells:
            ids = np.repeat(np.arange(len(shells)), [len(r) for r in shells])
            polys = shapely.polygons(shapely.linearrings(np.vstack(shells), indices=ids))
            for i, poly in zip(owners, polys):
                geoms[i] = poly if geoms[i] is None else shapely.union(geoms[i], poly)
    idx = np.arange(1, n + 1)
    cell_area = abs(transform.a * transform.e)
    data = {"population": (ndimage.sum_labels(values, lab, idx) if values is not None else np.zeros(n)),
            "area_km2": counts * cell_area / 1e6}
    for k, arr in extra.items():
        data[k] = ndimage.maximum(np.where(mask, arr, -np.inf), lab, idx)
    return gpd.GeoDataFrame(data, geometry=geoms, crs=crs)
