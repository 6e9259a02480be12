"""Dasymetric population surfaces: authoritative totals per area, spread inside each area by a weight layer.

Areal weighting spreads an area's inhabitants evenly over its land, so forest and lakes get as many
people per km² as the towns. A *dasymetric* surface keeps the authoritative total of each area (e.g.
the practice plan's Tabel 3 per planlægningsområde) but distributes it inside the area in proportion
to a weight layer that follows where people live: a population raster (WorldPop, GHS-POP), population
points, road length per cell as a proxy for built-up land, and uniform weights only as the last resort.

Method (all on one north-up grid aligned to multiples of the cell size, like Det Danske Kvadratnet)
-----------------------------------------------------------------------------------------------------
* **Area shares.** Every cell touching an area gets the share ``f[c, A]`` of its area that lies in
  area ``A`` (exact polygon ∩ cell areas for boundary cells), normalised so that each cell's shares sum
  to one: a coastal cell half in the sea gives all of its land share to the area it touches. Cells
  touching no area hold nobody.
* **Weights per area.** For each area the first weight layer (in the order given) that *covers* it is
  used: the layer's coverage polygon holds at least ``min_coverage`` of the area and the layer has a
  positive weight in it. ``u[c, A] = weight[c] × f[c, A]``; with no layer covering, ``weight = 1``
  (uniform).
* **Exact totals, boundary cells split by share.** The cell value is ``V[c] = Σ_A s_A u[c, A]`` with
  one scale factor ``s_A`` per area, chosen so that summing the surface per area *by area share*
  returns each area's total exactly: ``Σ_c V[c] f[c, A] = T_A``, a small linear system
  ``(Fᵀ U) s = T`` (one row per area). Away from boundaries this is the plain dasymetric rule
  ``V[c] = T_A × weight[c] / Σ weight``; at a boundary the cell holds the people of both sides.

:func:`population_by_area` sums any grid per area by the same share rule (populated cells that touch
no area go to the nearest area, so coastal inhabitants are never lost).

Example: two 1 km² areas side by side, 1,000 and 3,000 people; weights 1 in the west half of area A
and 3 in its east half::

    >>> import geopandas as gpd, numpy as np, shapely
    >>> areas = gpd.GeoDataFrame({"navn": ["A", "B"], "pop": [1000, 3000]},
    ...     geometry=[shapely.box(700_000, 6_170_000, 701_000, 6_171_000),
    ...               shapely.box(701_000, 6_170_000, 702_000, 6_171_000)], crs=25832)
    >>> shape, t = grid_frame(areas, 500)
    >>> w = WeightLayer("toy", "toy", np.array([[1.0, 3.0, 0.0, 0.0]] * 2))
    >>> grid, prov = dasymetric_grid(areas, "pop", [w], 500)
    >>> grid.values.round(1).tolist()   # A: 1,000 × 1/8 and × 3/8 per row; B has no weight → uniform
    [[125.0, 375.0, 750.0, 750.0], [125.0, 375.0, 750.0, 750.0]]
    >>> prov["weight"].tolist()
    ['toy', 'uniform']
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
import shapely
from affine import Affine
from scipy import sparse

from kkr_geo.geo.crs import to_analysis_crs
from kkr_geo.geo.errors import InputError
from kkr_geo.geo.population import PopulationGrid, _check_cell_size, _counts

UNIFORM = "uniform"
UNIFORM_LABEL = "jævnt fordelt (ingen vægtlag)"


@dataclass
class WeightLayer:
    """A weight per cell on the target grid, and where it is valid.

    ``coverage``: polygon where the layer is complete (``None`` = everywhere). An area is covered when
    at least ``min_coverage`` of its area lies inside ``coverage`` and the layer's weight inside the
    area is positive.
    """

    name: str
    label: str
    values: np.ndarray
    coverage: shapely.Geometry | None = None
    min_coverage: float = 0.95


def grid_frame(areas: gpd.GeoDataFrame, cell_size: float) -> tuple[tuple[int, int], Affine]:
    """The grid (shape, transform) covering ``areas``, aligned to multiples of ``cell_size``."""
    _check_cell_size(cell_size)
    cs = float(cell_size)
    x0, y0, x1, y1 = to_analysis_crs(areas, source="areas").total_bounds
    c0, r0, c1, r1 = math.floor(x0 / cs), math.floor(y0 / cs), math.ceil(x1 / cs), math.ceil(y1 / cs)
    return (int(r1 - r0), int(c1 - c0)), Affine(cs, 0, c0 * cs, 0, -cs, r1 * cs)


# --- weight layers on a grid ---------------------------------------------------------------------

def points_per_cell(xy: np.ndarray, values: np.ndarray, shape, transform: Affine) -> np.ndarray:
    """Sum of ``values`` of the points in each cell (points off the grid are ignored)."""
    out = np.zeros(shape)
    xy = np.asarray(xy, float).reshape(-1, 2)
    if len(xy) == 0:
        return out
    cs = transform.a
    col = np.floor((xy[:, 0] - transform.c) / cs).astype(np.int64)
    row = np.floor((transform.f - xy[:, 1]) / cs).astype(np.int64)
    ok = (col >= 0) & (col < shape[1]) & (row >= 0) & (row < shape[0])
    np.add.at(out, (row[ok], col[ok]), np.asarray(values, float)[ok])
    return out


def line_length_per_cell(geoms, shape, transform: Affine, step_m: float | None = None) -> np.ndarray:
    """Length of lines (metres) per cell: lines are cut into pieces of at most ``step_m`` (default
    a tenth of the cell size) and each piece's length is added to the cell of its midpoint, so the
    error per cell is at most one piece at each cell edge."""
    geoms = np.asarray(getattr(geoms, "values", geoms), dtype=object)
    geoms = geoms[~(shapely.is_empty(geoms) | shapely.is_missing(geoms))] if len(geoms) else geoms
    if len(geoms) == 0:
        return np.zeros(shape)
    step = step_m or transform.a / 10
    parts = shapely.segmentize(shapely.get_parts(geoms), step)
    coords, idx = shapely.get_coordinates(parts, return_index=True)
    same = idx[1:] == idx[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    return points_per_cell((a + b) / 2, np.hypot(*(b - a).T), shape, transform)


def raster_on_grid(grid: PopulationGrid, shape, transform: Affine) -> np.ndarray:
    """A population grid of the same cell size, copied onto the frame ``(shape, transform)``."""
    if not math.isclose(grid.cell_size, transform.a):
        raise InputError(f"weight raster {grid.source}: cells of {grid.cell_size:g} m, the surface uses {transform.a:g} m.",
                         hint="read the raster with PopulationGrid.from_raster(path, cell_size=...) at the surface's cell size.")
    out = np.zeros(shape)
    cs = transform.a
    dc = int(round((grid.transform.c - transform.c) / cs))
    dr = int(round((transform.f - grid.transform.f) / cs))
    if abs((grid.transform.c - transform.c) / cs - dc) > 1e-6 or abs((transform.f - grid.transform.f) / cs - dr) > 1e-6:
        raise InputError(f"weight raster {grid.source}: its cells are not aligned to multiples of {cs:g} m.",
                         hint="resample it with PopulationGrid.from_raster, which aligns to the national grid.")
    rows, cols = grid.shape
    r0, c0 = max(dr, 0), max(dc, 0)
    r1, c1 = min(dr + rows, shape[0]), min(dc + cols, shape[1])
    if r0 < r1 and c0 < c1:
        out[r0:r1, c0:c1] = grid.values[r0 - dr:r1 - dr, c0 - dc:c1 - dc]
    return out


def raster_coverage(grid: PopulationGrid) -> shapely.Geometry:
    """The extent of a raster as a polygon (where it has data, nodata counts as zero people)."""
    return shapely.box(*grid.bounds)


# --- area shares ------------------------------------------------------------------------------

def area_shares(geoms, shape, transform: Affine) -> sparse.csr_matrix:
    """Cells × areas matrix of each cell's share in each area, rows summing to 1 (or 0 off all areas).

    Interior cells (no area boundary crosses them) belong wholly to the area of their centre; cells
    crossed by a boundary get exact polygon ∩ cell areas, normalised over the areas they touch.
    """
    geoms = np.asarray(geoms, dtype=object)
    n_cells, n_areas = shape[0] * shape[1], len(geoms)
    if n_cells == 0 or n_areas == 0:
        return sparse.csr_matrix((n_cells, n_areas))
    label = rasterio.features.rasterize(((g, i) for i, g in enumerate(geoms)), out_shape=shape, transform=transform,
                                        fill=-1, dtype="int32", all_touched=False)
    boundary = rasterio.features.rasterize(((shapely.boundary(g), 1) for g in geoms), out_shape=shape,
                                           transform=transform, fill=0, dtype="uint8", all_touched=True).astype(bool)
    # cells touched by an area but missed by its centre-rasterisation (slivers, small islands)
    touched = rasterio.features.rasterize(((g, 1) for g in geoms), out_shape=shape, transform=transform,
                                          fill=0, dtype="uint8", all_touched=True).astype(bool)
    boundary |= touched & (label < 0)
    interior = (label >= 0) & ~boundary
    flat_i = np.flatnonzero(interior.ravel())
    rows, cols, vals = [flat_i], [label.ravel()[flat_i]], [np.ones(len(flat_i))]
    flat_b = np.flatnonzero(boundary.ravel())
    if len(flat_b):
        rr, cc = np.divmod(flat_b, shape[1])
        cs = transform.a
        xl, yt = transform.c + cc * cs, transform.f - rr * cs
        boxes = shapely.box(xl, yt - cs, xl + cs, yt)
        tree = shapely.STRtree(geoms)
        bi, ai = tree.query(boxes, predicate="intersects")
        inter = shapely.area(shapely.intersection(boxes[bi], geoms[ai]))
        ok = inter > 0
        bi, ai, inter = bi[ok], ai[ok], inter[ok]
        tot = np.bincount(bi, weights=inter, minlength=len(boxes))
        rows.append(flat_b[bi])
        cols.append(ai)
        vals.append(inter / tot[bi])
    return sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(n_cells, n_areas))


def _coverage_fraction(geoms, coverage) -> np.ndarray:
    if coverage is None:
        return np.ones(len(geoms))
    areas = shapely.area(geoms)
    inside = shapely.area(shapely.intersection(geoms, coverage))
    return np.where(areas > 0, inside / np.where(areas > 0, areas, 1), 0.0)


# --- the surface ------------------------------------------------------------------------------

def dasymetric_grid(areas: gpd.GeoDataFrame, total_column: str, weights: list[WeightLayer], cell_size: float = 100, *,
                    name_column: str = "navn", source: str | None = None,
                    frame: tuple[tuple[int, int], Affine] | None = None) -> tuple[PopulationGrid, pd.DataFrame]:
    """Spread ``areas[total_column]`` over cells by the first covering weight layer per area.

    Returns the grid (``source`` names the totals and the weights used, ``precision`` is
    "approximate (dasymetric)") and a provenance table with one row per area: name, total, weight
    (layer name or ``uniform``), weight_label, coverage (share of the area inside the layer's
    coverage) and population_by_share (the grid summed back per area by area share).
    """
    src = source or str(areas.attrs.get("source", f"areas ({total_column})"))
    if total_column not in areas.columns:
        raise InputError(f"{src}: no column {total_column!r} (columns: {', '.join(map(str, areas.columns))}).",
                         hint="pass the name of the population column.")
    if name_column not in areas.columns:
        raise InputError(f"{src}: no column {name_column!r} for the area names.", hint="pass name_column=.")
    areas = to_analysis_crs(areas, source=src)
    totals = _counts(areas, total_column, src)
    geoms = shapely.make_valid(areas.geometry.values)
    bad = ~np.isin(shapely.get_type_id(geoms), (3, 6, 7)) | shapely.is_empty(geoms)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{src}: area {areas[name_column].iloc[i]!r} has no polygon.", hint="supply polygon areas.")
    shape, transform = frame or grid_frame(areas, cell_size)
    for w in weights:
        if np.shape(w.values) != tuple(shape):
            raise InputError(f"weight layer {w.name}: shape {np.shape(w.values)} is not the grid's {tuple(shape)}.",
                             hint="build weight layers on grid_frame(areas, cell_size).")
        if (np.asarray(w.values) < 0).any() or not np.isfinite(w.values).all():
            raise InputError(f"weight layer {w.name}: weights must be finite and non-negative.", hint="fix the weight layer.")
    F = area_shares(geoms, shape, transform).tocsc()
    n = len(geoms)
    chosen, labels, cover = [], [], np.zeros(n)
    U_cols = []
    for a in range(n):
        col = F.getcol(a)
        cells, f = col.indices, col.data
        pick = None
        for w in weights:
            frac = float(_coverage_fraction(geoms[a:a + 1], w.coverage)[0])
            if frac < w.min_coverage:
                continue
            u = np.asarray(w.values).ravel()[cells] * f
            if u.sum() > 0:
                pick = (w.name, w.label, u, frac)
                break
        if pick is None:
            pick = (UNIFORM, UNIFORM_LABEL, f.copy(), 1.0)
        chosen.append(pick[0])
        labels.append(pick[1])
        cover[a] = pick[3]
        U_cols.append((cells, pick[2]))
    rows = np.concatenate([c for c, _ in U_cols]) if U_cols else np.empty(0, int)
    vals = np.concatenate([u for _, u in U_cols]) if U_cols else np.empty(0)
    colidx = np.concatenate([np.full(len(c), a) for a, (c, _) in enumerate(U_cols)]) if U_cols else np.empty(0, int)
    U = sparse.csr_matrix((vals, (rows, colidx)), shape=F.shape)
    W = np.asarray(U.sum(axis=0)).ravel()
    no_cells = (W <= 0) & (totals > 0)
    if no_cells.any():
        i = int(np.flatnonzero(no_cells)[0])
        raise InputError(f"{src}: area {areas[name_column].iloc[i]!r} covers no cell of {shape[0]}×{shape[1]} cells.",
                         hint="use a smaller cell size or check the area's geometry.")
    M = (F.T @ U).toarray()
    notes = []
    try:
        s = np.linalg.solve(M, totals)
        ok = np.all(s >= 0) and np.allclose(M @ s, totals, rtol=1e-9, atol=1e-6)
    except np.linalg.LinAlgError:
        ok = False
    if not ok:
        s = np.divide(totals, W, out=np.zeros(n), where=W > 0)
        notes.append("boundary correction not solvable; each area scaled on its own (totals by share approximate)")
    values = (U @ s).reshape(shape)
    by_share = F.T @ values.ravel()
    used = pd.Series(labels).value_counts()
    parts = ", ".join(f"{lab} ({k} omr.)" for lab, k in used.items())
    grid = PopulationGrid(values, transform,
                          source=f"{src}, fordelt efter {parts}",
                          precision="approximate (dasymetric)", notes=notes)
    prov = pd.DataFrame({name_column: areas[name_column].astype(str).to_numpy(), "total": totals, "weight": chosen,
                         "weight_label": labels, "coverage": cover, "population_by_share": by_share})
    grid.notes.append("weights per area: " + "; ".join(f"{a}: {w}" for a, w in zip(prov[name_column], prov["weight"])))
    grid._cache["dasymetric_provenance"] = prov
    return grid, prov


def population_by_area(grid: PopulationGrid, areas: gpd.GeoDataFrame, name_column: str = "navn") -> pd.Series:
    """Inhabitants of ``grid`` per area, splitting each cell by its area shares (see
    :func:`area_shares`); populated cells touching no area go wholly to the nearest area."""
    areas = to_analysis_crs(areas, source="areas")
    geoms = shapely.make_valid(areas.geometry.values)
    names = areas[name_column].astype(str).to_numpy()
    if grid.values.size == 0:
        return pd.Series(0.0, index=pd.Index(names, name=name_column)).groupby(level=0, sort=False).sum()
    F = area_shares(geoms, grid.shape, grid.transform)
    v = grid.values.ravel()
    out = F.T @ v
    lost = (np.asarray(F.sum(axis=1)).ravel() == 0) & (v > 0)
    if lost.any():
        c = grid.cell_centres()
        pos = np.flatnonzero(lost[c.index])
        pts = shapely.points(c.xy[pos])
        pt_i, area_i = shapely.STRtree(geoms).query_nearest(pts, all_matches=False)
        np.add.at(out, area_i, c.population[pos][pt_i])
    return pd.Series(out, index=pd.Index(names, name=name_column)).groupby(level=0, sort=False).sum()
