"""Distance bands of populated cells around points and lines, without an exact distance per cell.

:func:`cell_distance_bands` gives every populated cell whose centre lies within ``radii[-1]`` of
the features its band under the rule of :mod:`geo.catchment`: the first ``k`` with
``shapely.distance(centre, features) · detour · (1 − 1e-12) ≤ radii[k] · detour`` (a centre at
exactly 400 m counts in 0–400 m). The exact GEOS distance costs O(vertices) per cell, so instead:

* the features are densified to anchors at most ``h`` apart (``shapely.segmentize``; a point is its
  own anchor). For a cell centre at true distance ``d`` with nearest anchor at ``dv``:
  ``sqrt(dv² − h²/4) ≤ d ≤ dv`` (the foot of the perpendicular lies within ``h/2`` of an anchor of
  its segment, and the offset to it is perpendicular to the segment);
* so a cell within ``t − m`` of some anchor is surely within ``t``, and a cell farther than
  ``sqrt((t + m)² + h²/4)`` from every anchor is surely beyond ``t`` (``m`` = a margin of
  1e-6 m + 1e-9 × the coordinate magnitude, far above the rounding of either distance);
* "within ρ of some anchor" is painted on the grid window row by row: each anchor covers, in each
  row, the interval of cells whose centre lies within ρ (a difference array and a cumulative sum);
* only cells left undecided at some limit — a strip about ``h²/(4t)`` wide along each limit, a few
  dozen cells for a 30 km line — get the exact ``shapely.distance`` and the rule itself.

The window is processed in strips of rows holding at most about :data:`CHUNK_CELLS` (anchor, row)
pairs and painted cells over all levels (a single row may exceed it), so the memory stays bounded
for a long line over a fine grid.
"""

from __future__ import annotations

import numpy as np
import shapely

#: about how many (level × (anchor, row) pair) and (level × cell) entries one strip of rows may take
CHUNK_CELLS = 1 << 21


def _anchors(geom, h: float) -> tuple[np.ndarray, float]:
    """Vertices of ``geom`` with every line segmentised to at most ``h`` (points as they are), and
    the longest distance between consecutive vertices of one part (measured, not assumed)."""
    parts = shapely.get_parts(geom)
    kind = shapely.get_type_id(parts)
    while ((kind >= 4) & (kind <= 7)).any():  # multi-geometries inside a collection
        parts = shapely.get_parts(parts)
        kind = shapely.get_type_id(parts)
    # GEOS cannot segmentise a zero-length line (union_all makes it empty): its vertices suffice
    lines = (kind != 0) & (shapely.length(parts) > 0)
    parts[lines] = shapely.segmentize(parts[lines], h)
    coords, part = shapely.get_coordinates(parts, return_index=True)
    step = np.diff(coords, axis=0)[part[1:] == part[:-1]]
    gap = float(np.sqrt((step * step).sum(axis=1).max())) if len(step) else 0.0
    return coords, gap


def cell_distance_bands(merged, grid, radii: np.ndarray, detour_factor: float) -> tuple[np.ndarray, np.ndarray]:
    """``(positions, bands)`` of the populated cells within ``radii[-1]`` (metres, increasing) of
    the points and lines ``merged``: positions in :meth:`PopulationGrid.cell_centres` order
    (ascending), bands ``0 .. len(radii) − 1``."""
    radii = np.asarray(radii, dtype=float)
    n = len(radii)
    none = np.empty(0, np.int64), np.empty(0, np.int64)
    c = grid.cell_centres()
    if len(c.index) == 0 or shapely.is_empty(merged):
        return none
    cs = grid.cell_size
    h = min(cs, max(float(radii[0]), cs / 8))
    anchors, gap = _anchors(merged, h)
    if len(anchors) == 0:
        return none
    margin = 1e-6 + 1e-9 * (float(np.abs(anchors).max()) + radii)
    rhos = np.concatenate([radii - margin,                                      # an anchor within: surely inside
                           np.sqrt((radii + margin) ** 2 + gap * gap / 4)])     # none within: surely beyond
    reach = float(rhos[-1])
    # squared radii in cells; a radius below the margin has no "surely inside" disc at all
    reach2 = np.where(rhos > 0, (rhos / cs) ** 2, -1.0)
    # anchors in fractional grid rows/columns (cell centres at integers); the window of rows and
    # columns whose centres some anchor may reach
    t = grid.transform
    fr = (t.f - anchors[:, 1]) / cs - 0.5
    fc = (anchors[:, 0] - t.c) / cs - 0.5
    nrows, ncols = grid.shape
    row0 = max(int(np.ceil(fr.min() - reach / cs)), 0)
    row1 = min(int(np.floor(fr.max() + reach / cs)) + 1, nrows)
    col0 = max(int(np.ceil(fc.min() - reach / cs)), 0)
    col1 = min(int(np.floor(fc.max() + reach / cs)) + 1, ncols)
    if row0 >= row1 or col0 >= col1:
        return none
    fr, fc = fr - row0, fc - col0
    wrows, wcols = row1 - row0, col1 - col0
    a_lo = np.maximum(np.ceil(fr - reach / cs), 0).astype(np.int64)
    a_hi = np.minimum(np.floor(fr + reach / cs), wrows - 1).astype(np.int64)
    levels = len(rhos)
    # strips of rows: each row costs its (anchor, row) pairs and its cells, at every level
    some = a_lo <= a_hi  # anchors far off the grid reach none of its rows
    reaching = np.cumsum(np.bincount(a_lo[some], minlength=wrows + 1)
                         - np.bincount(a_hi[some] + 1, minlength=wrows + 1))[:wrows]
    cost = np.cumsum(levels * (reaching + wcols + 1))
    strip = cost // CHUNK_CELLS
    cuts = np.concatenate([np.flatnonzero(np.diff(strip)) + 1, [wrows]])
    limits = radii * detour_factor
    index_lo = np.searchsorted(c.index, row0 * ncols + col0)
    index_hi = np.searchsorted(c.index, (row1 - 1) * ncols + col1)
    index = c.index[index_lo:index_hi]
    positions, bands = [], []
    for r0, r1 in zip(np.concatenate([[0], cuts[:-1]]).tolist(), cuts.tolist()):
        lo_row, hi_row = np.maximum(a_lo, r0), np.minimum(a_hi, r1 - 1)
        k = np.maximum(hi_row - lo_row + 1, 0)
        npairs = int(k.sum())
        if npairs == 0:
            continue
        # one (anchor, row) pair per row an anchor may reach; per level, the interval [lo, hi) of
        # columns whose centres lie within rho of the anchor
        a = np.repeat(np.arange(len(anchors)), k)
        row = np.arange(npairs) - np.repeat(np.cumsum(k) - k - lo_row + r0, k)  # its row in the strip
        dy = fr[a] - (row + r0)                                   # in cells
        w2 = reach2[:, None] - (dy * dy)[None, :]                 # levels × pairs, in cells²
        w = np.sqrt(np.maximum(w2, 0.0))
        w[w2 < 0] = -1.0                                          # the row is out of reach: an empty interval
        f = fc[a]
        lo = np.clip(np.ceil(f - w), 0, wcols).astype(np.int64)
        hi = np.clip(np.floor(f + w) + 1, 0, wcols).astype(np.int64)
        # each row of the strip is painted only between the extremes of its outermost intervals
        # (the levels are nested), as +1/-1 in a difference array with one spare slot per row
        nr = r1 - r0
        first, last = np.full(nr, wcols), np.zeros(nr, np.int64)
        reach_row = hi[-1] > lo[-1]
        np.minimum.at(first, row[reach_row], lo[-1][reach_row])
        np.maximum.at(last, row[reach_row], hi[-1][reach_row])
        empty = last <= first
        first[empty], last[empty] = 0, 0
        width = last - first + 1
        start = np.cumsum(width) - width
        size = int(width.sum())
        lo = np.minimum(np.maximum(lo, first[row]), last[row])
        hi = np.minimum(np.maximum(hi, lo), last[row])
        base = (np.arange(levels) * size)[:, None] + (start - first)[row]
        diff = np.bincount((base + lo).ravel(), minlength=levels * size)
        diff -= np.bincount((base + hi).ravel(), minlength=levels * size)
        cover = (np.cumsum(diff) > 0).reshape(levels, size)
        j = np.flatnonzero(cover[-1])
        rows_of = np.repeat(np.arange(nr), width)
        rr = rows_of[j]
        cc = first[rr] + j - start[rr]
        vals = grid.values[row0 + r0:row0 + r1, col0:col1]
        populated = vals[rr, cc] > 0
        j, rr, cc = j[populated], rr[populated], cc[populated]
        if len(j) == 0:
            continue
        at = np.take(cover, j, axis=1)
        # the levels are nested, so counts say which: n − n_out limits surely passed, unsure if n_in < n_out
        n_in, n_out = at.view(np.int8).reshape(2, n, -1).sum(axis=1, dtype=np.int16)
        band = (n - n_out).astype(np.int64)
        pos = index_lo + np.searchsorted(index, (rr + row0 + r0) * ncols + cc + col0)
        unsure = np.flatnonzero(n_in != n_out)
        if len(unsure):
            # the rule itself, on the cell centres every other query uses
            u = pos[unsure]
            d = shapely.distance(shapely.points(c.x[u], c.y[u]), merged) * detour_factor
            band[unsure] = np.searchsorted(limits, d * (1 - 1e-12), side="left")
        keep = band < n
        positions.append(pos[keep])
        bands.append(band[keep])
    if not positions:
        return none
    return np.concatenate(positions), np.concatenate(bands)
