"""Area shares of populated cells: the cell × area weight matrix behind every per-area figure.

The dasymetric surface (:mod:`geo.dasymetric`) keeps each area's authoritative total when the grid
is summed *by area share*: a cell crossed by a boundary belongs to each area in proportion to the
part of the cell's area lying in it. Per-area breakdowns of the analyses (corridor catchments,
coverage tables, 2SFCA) must use the same rule, or a boundary cell is counted wholly in the area of
its centre and the per-area figures drift from the totals (up to 2.8 % for Indre By).

:func:`area_weights` builds, once per grid and area layer, a sparse matrix ``W`` with one row per
populated cell (in :meth:`PopulationGrid.cell_centres` order) and one column per distinct area name
plus a last column for "outside every area":

* a cell wholly inside one area: weight 1 for that area;
* a cell crossed by a boundary (or touched by an area without containing its centre): the exact
  polygon ∩ cell areas, normalised over the areas it touches, so the shares sum to 1 (a coastal cell
  half in the sea gives all of its land share to the area it touches, as the surface does);
* a populated cell touching no area: wholly to the nearest area if its centre lies within one cell
  size of it (coastal cells off a generalised coastline), otherwise to "outside every area" (e.g. a
  catchment reaching beyond a layer that covers only some municipalities).

Every row sums to 1, so summing any per-area figure over all columns gives the grid total. The
matrix is cached on the grid (see :meth:`PopulationGrid.cached`) under the layer's content hash
(:func:`geo.raster.geometry_key`): a changed geometry, name or CRS gives a new key, and changing
the grid's values empties the cache.

Example: one 100 m cell with 100 inhabitants, 30 m of it in area A and 70 m in area B::

    >>> import geopandas as gpd, numpy as np, shapely
    >>> from affine import Affine
    >>> from kkr_geo.geo.population import PopulationGrid
    >>> grid = PopulationGrid(np.array([[100.0]]), Affine(100, 0, 700_000, 0, -100, 6_170_100))
    >>> areas = gpd.GeoDataFrame({"navn": ["A", "B"]}, geometry=[shapely.box(700_000, 6_170_000, 700_030, 6_170_100),
    ...     shapely.box(700_030, 6_170_000, 700_100, 6_170_100)], crs=25832)
    >>> w = area_weights(grid, areas, "navn")
    >>> w.names, w.sums(grid.cell_centres().population).round(6).tolist()
    (['A', 'B'], [30.0, 70.0, 0.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
import shapely
from scipy import sparse

from kkr_geo.geo.raster import check_name_column, ensure_analysis_crs, geometry_key


@dataclass(frozen=True)
class AreaWeights:
    """Shares of the populated cells in the areas ``names`` (column ``len(names)`` = outside).

    Stored as each row's first entry (``col0``, ``w0``: every row has one) plus the further entries
    of the few cells split between areas (``split_*``, CSR over all rows), so the common case is a
    plain ``np.bincount``.
    """

    names: list[str]
    col0: np.ndarray
    w0: np.ndarray
    split_indptr: np.ndarray
    split_cols: np.ndarray
    split_w: np.ndarray
    split_rows: np.ndarray    # the row of each further entry
    split_count: np.ndarray   # further entries per row
    whole: bool               # every row a single weight of 1 (no split cell): plain bincounts

    @property
    def n_columns(self) -> int:
        return len(self.names) + 1

    @property
    def matrix(self) -> sparse.csr_matrix:
        """The full cells × (areas + outside) matrix (rows sum to 1)."""
        n = len(self.col0)
        rows = np.concatenate([np.arange(n), self.split_rows])
        return sparse.csr_matrix((np.concatenate([self.w0, self.split_w]),
                                  (rows, np.concatenate([self.col0, self.split_cols]))), shape=(n, self.n_columns))

    def sums(self, values: np.ndarray) -> np.ndarray:
        """``Wᵀ values``: per-area sums of a per-cell quantity (length ``len(names) + 1``)."""
        k = self.n_columns
        values = np.asarray(values, dtype=float)
        out = np.bincount(self.col0, weights=values if self.whole else values * self.w0, minlength=k)
        if len(self.split_cols):
            out += np.bincount(self.split_cols, weights=values[self.split_rows] * self.split_w, minlength=k)
        return out

    def band_sums(self, cells: np.ndarray, band: np.ndarray, values: np.ndarray, n_bands: int) -> np.ndarray:
        """``(n_bands, len(names) + 1)`` sums of ``values`` (given for the cells at positions
        ``cells``, each in band ``band``) per band and area."""
        k = self.n_columns
        values = np.asarray(values, dtype=float)
        out = np.bincount(band * k + self.col0[cells], weights=values if self.whole else values * self.w0[cells],
                          minlength=n_bands * k)
        if len(self.split_cols):
            sel = np.flatnonzero(self.split_count[cells])
            if len(sel):
                cnt = self.split_count[cells[sel]]
                rep = np.repeat(sel, cnt)
                offs = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
                j = self.split_indptr[cells[rep]] + offs
                out += np.bincount(band[rep] * k + self.split_cols[j], weights=values[rep] * self.split_w[j],
                                   minlength=n_bands * k)
        return out[: n_bands * k].reshape(n_bands, k)

    def cell_mean(self, per_column: np.ndarray) -> np.ndarray:
        """Per cell, the share-weighted mean of a per-column value (``len(names) + 1`` values)."""
        per_column = np.asarray(per_column, dtype=float)
        out = per_column[self.col0] * self.w0
        if len(self.split_cols):
            out += np.bincount(self.split_rows, weights=per_column[self.split_cols] * self.split_w,
                               minlength=len(self.col0))
        return out


def area_weights(grid, areas: gpd.GeoDataFrame, name_column: str, *, area_type: str = "areas",
                 key: str | None = None) -> AreaWeights:
    """The area shares of ``grid``'s populated cells in ``areas`` (cached per grid and layer content)."""
    check_name_column(areas, name_column, area_type)
    gkey = key or geometry_key(areas, name_column)
    return grid.cached(("area_weights", gkey, name_column), lambda: _build(grid, areas, name_column, area_type))


def cell_positions(grid, flat: np.ndarray) -> np.ndarray:
    """Positions in :meth:`PopulationGrid.cell_centres` of populated cells at flat grid indices ``flat``."""
    return np.searchsorted(grid.cell_centres().index, flat)


def _build(grid, areas: gpd.GeoDataFrame, name_column: str, area_type: str) -> AreaWeights:
    areas = ensure_analysis_crs(areas, area_type)
    c = grid.cell_centres()
    n_cells = len(c.index)
    names = pd.unique(areas[name_column].astype(str)).tolist()
    outside = len(names)
    code = {nm: i for i, nm in enumerate(names)}
    feat_names = np.array([code[str(v)] for v in areas[name_column]], dtype=np.int64)
    geoms = np.asarray(areas.geometry.values, dtype=object)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)) if len(geoms) else np.zeros(0, bool)
    geoms, feat_names = shapely.make_valid(geoms[ok]), feat_names[ok]
    if n_cells == 0 or len(geoms) == 0:
        return _weights(names, np.full(n_cells, outside), np.ones(n_cells), np.empty(0, np.int64),
                        np.empty(0, np.int64), np.empty(0))
    shape, t = grid.shape, grid.transform
    # The whole-grid rasters cost little next to the exact intersections, which are done only for
    # populated cells crossed or touched by a boundary.
    label = rasterio.features.rasterize(((g, i) for i, g in enumerate(geoms)), out_shape=shape, transform=t,
                                        fill=-1, dtype="int32", all_touched=False).ravel()[c.index]
    boundary = rasterio.features.rasterize(((shapely.boundary(g), 1) for g in geoms), out_shape=shape, transform=t,
                                           fill=0, dtype="uint8", all_touched=True).ravel()[c.index].astype(bool)
    touched = rasterio.features.rasterize(((g, 1) for g in geoms), out_shape=shape, transform=t,
                                          fill=0, dtype="uint8", all_touched=True).ravel()[c.index].astype(bool)
    exact = boundary | (touched & (label < 0))
    interior = (label >= 0) & ~exact
    # Every row's first entry goes straight into (col0, w0); only the cells split between areas get further
    # entries (a small CSR over those rows). No cells × areas matrix is built: at national scale (4.3 M
    # cells) that took longer than everything else in the first query.
    col0 = np.full(n_cells, outside, dtype=np.int64)
    w0 = np.ones(n_cells)
    col0[interior] = feat_names[label[interior]]
    covered = interior.copy()
    split_rows = np.empty(0, np.int64)
    split_cols = np.empty(0, np.int64)
    split_w = np.empty(0)
    tree = shapely.STRtree(geoms)
    pe = np.flatnonzero(exact)
    if len(pe):
        h = grid.cell_size / 2
        boxes = shapely.box(c.x[pe] - h, c.y[pe] - h, c.x[pe] + h, c.y[pe] + h)
        bi, ai = tree.query(boxes, predicate="intersects")
        inter = shapely.area(shapely.intersection(boxes[bi], geoms[ai]))
        keep = inter > 0
        bi, ai, inter = bi[keep], ai[keep], inter[keep]
        tot = np.bincount(bi, weights=inter, minlength=len(pe))
        # the exact cells' shares, per cell sorted by column with equal columns (two features of one
        # name) summed
        m = sparse.csr_matrix((inter / tot[bi], (bi, feat_names[ai])), shape=(len(pe), outside + 1))
        m.sum_duplicates()
        m.sort_indices()
        counts = np.diff(m.indptr)
        hit = counts > 0
        first = m.indptr[:-1][hit]
        col0[pe[hit]] = m.indices[first]
        w0[pe[hit]] = m.data[first]
        covered[pe[hit]] = True
        more = np.ones(len(m.indices), bool)
        more[first] = False
        split_rows = np.repeat(pe, np.maximum(counts - 1, 0))
        split_cols = m.indices[more].astype(np.int64)
        split_w = m.data[more]
    rest = np.flatnonzero(~covered)
    if len(rest):
        # populated cells touching no area: the nearest area within one cell size, else outside
        pts = shapely.points(c.x[rest], c.y[rest])
        pi, ai = tree.query_nearest(pts, max_distance=grid.cell_size, all_matches=False)
        near = np.full(len(rest), outside, dtype=np.int64)
        near[pi] = feat_names[ai]
        col0[rest] = near
    return _weights(names, col0, w0, split_rows, split_cols, split_w)


def _weights(names, col0, w0, split_rows, split_cols, split_w) -> AreaWeights:
    """Pack the first entries and the further entries (``split_rows`` ascending) of every row."""
    n_cells = len(col0)
    extra = np.bincount(split_rows, minlength=n_cells).astype(np.int64)
    split_indptr = np.concatenate([[0], np.cumsum(extra)]).astype(np.int64)
    arrays = [np.asarray(col0, np.int64), np.asarray(w0, float), split_indptr, np.asarray(split_cols, np.int64),
              np.asarray(split_w, float), np.asarray(split_rows, np.int64), extra]
    for a in arrays:
        a.flags.writeable = False
    a0, a1, a2, a3, a4, a5, a6 = arrays  # positional, in field order (named so mypy sees seven values)
    return AreaWeights(list(names), a0, a1, a2, a3, a4, a5, a6, whole=bool(len(a3) == 0 and np.all(a1 == 1.0)))
