"""Euclidean bands of points and lines: every populated cell gets the band of the brute-force rule.

The rule (``geo.catchment``): a populated cell belongs to the first band ``k`` with
``shapely.distance(centre, features) · detour · (1 − 1e-12) ≤ distance_k`` (so a cell centre at
exactly 400 m counts in 0–400 m). The reference here applies it to *every* populated cell of the
grid; the engine may only skip the exact distance where it can prove the band.  Populations are
integers in most grids, so sums are exact whatever the order of summation.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

import kkr_geo.geo.distance_bands as distance_bands
from kkr_geo.geo.area_weights import area_weights
from kkr_geo.geo.catchment import corridor_catchment
from kkr_geo.geo.distance_bands import cell_distance_bands
from kkr_geo.geo.population import PopulationGrid

X0, Y0 = 700_000.0, 6_170_000.0


def brute_force(merged, grid: PopulationGrid, radii: np.ndarray, detour: float):
    """(positions, bands) of every populated cell within the last band, by the exact distance rule."""
    c = grid.cell_centres()
    d = shapely.distance(shapely.points(c.x, c.y), merged) * detour
    band = np.searchsorted(np.asarray(radii) * detour, d * (1 - 1e-12), side="left")
    pos = np.flatnonzero(band < len(radii))
    return pos, band[pos]


def _grid(seed: int, shape=(70, 90), cs=100.0, fill=0.6, integer=True) -> PopulationGrid:
    rng = np.random.default_rng(seed)
    vals = rng.integers(1, 50, shape).astype(float) if integer else rng.uniform(0.1, 40, shape)
    vals = np.where(rng.random(shape) < fill, vals, 0.0)
    return PopulationGrid(vals, Affine(cs, 0, X0, 0, -cs, Y0 + shape[0] * cs), source="toy", precision="exact")


def _random_geometry(rng, kind: str, w: float, h: float):
    def xy(n):
        return np.column_stack([rng.uniform(X0 - 0.1 * w, X0 + 1.1 * w, n), rng.uniform(Y0 - 0.1 * h, Y0 + 1.1 * h, n)])

    def line():
        return shapely.LineString(xy(int(rng.integers(2, 40))))

    if kind == "line":
        return line()
    if kind == "multiline":
        return shapely.MultiLineString([line() for _ in range(int(rng.integers(2, 5)))])
    if kind == "points":
        return shapely.MultiPoint(xy(int(rng.integers(5, 30))))
    parts = [line() for _ in range(int(rng.integers(1, 3)))] + list(shapely.points(xy(int(rng.integers(1, 12)))))
    return shapely.union_all(parts)  # a GeometryCollection of lines and points


def _check(merged, grid, radii, detour=1.0, areas=None):
    radii = np.asarray(radii, dtype=float)
    pos, band = cell_distance_bands(merged, grid, radii, detour)
    ref_pos, ref_band = brute_force(merged, grid, radii, detour)
    np.testing.assert_array_equal(pos, ref_pos)
    np.testing.assert_array_equal(band, ref_band)
    return ref_pos, ref_band


@pytest.mark.parametrize("kind", ["line", "multiline", "points", "mixed"])
@pytest.mark.parametrize("seed", range(6))
def test_random_features_match_the_brute_force_rule(kind, seed):
    rng = np.random.default_rng(100 * seed + len(kind))
    cs = float(rng.choice([10.0, 25.0, 100.0]))
    grid = _grid(seed, cs=cs, integer=bool(seed % 2))
    w, h = grid.shape[1] * cs, grid.shape[0] * cs
    merged = _random_geometry(rng, kind, w, h)
    n = int(rng.integers(1, 4))
    radii = np.sort(rng.uniform(0.8, 12, n) * cs)
    detour = float(rng.choice([1.0, 1.3, 1.55]))
    pos, band = _check(merged, grid, np.unique(radii) / detour, detour)
    assert len(pos) > 0


def test_cells_exactly_on_the_limits_count_inside():
    # 1 person per 100 m cell; a stop on a cell centre; 400 m = 4 cells: the lattice points with
    # i² + j² ≤ 16 (Gauss circle: 49), ≤ 25 (81, incl. the (3, 4) points at exactly 500 m) and
    # ≤ 64 (197) — the cells at exactly 400, 500 and 800 m are inside.
    grid = PopulationGrid(np.ones((41, 41)), Affine(100, 0, X0, 0, -100, Y0 + 4100), source="toy", precision="exact")
    stop = shapely.Point(X0 + 2050, Y0 + 2050)
    pos, band = _check(stop, grid, [400.0, 500.0, 800.0])
    assert np.bincount(band).tolist() == [49, 81 - 49, 197 - 81]
    r = corridor_catchment(gpd.GeoDataFrame(geometry=[stop], crs=25832), grid, (400, 500, 800), detour_factor=1.0)
    assert r.table["population"].tolist() == [49.0, 32.0, 116.0]
    # the same at a detour factor: 520 m of route at 1.3 is 400 m as the crow flies
    r = corridor_catchment(gpd.GeoDataFrame(geometry=[stop], crs=25832), grid, (520, 1040), detour_factor=1.3)
    assert r.table["population"].tolist() == [49.0, 148.0]
    # 440 m at 1.1: the radius 440 / 1.1 rounds to 399.99999999999994 and 400 · 1.1 to 440.00000000000006,
    # so only the (1 − 1e-12) rule keeps the cells at exactly 400 and 800 m inside
    assert 400.0 * 1.1 > (440.0 / 1.1) * 1.1
    _check(stop, grid, np.array([440.0, 880.0]) / 1.1, 1.1)
    r = corridor_catchment(gpd.GeoDataFrame(geometry=[stop], crs=25832), grid, (440, 880), detour_factor=1.1)
    assert r.table["population"].tolist() == [49.0, 148.0]


def test_line_through_cell_centres_exact_width():
    # a 1,000 m line along a row of cell centres, radius 300 m: 11 columns × 7 rows under the line
    # plus, at each end, the lattice points (i ≥ 1, j) with i² + j² ≤ 9: 5 + 5 + 1 = 11 → 77 + 22 = 99
    grid = PopulationGrid(np.ones((41, 41)), Affine(100, 0, X0, 0, -100, Y0 + 4100), source="toy", precision="exact")
    line = shapely.LineString([(X0 + 1550, Y0 + 2050), (X0 + 2550, Y0 + 2050)])
    pos, band = _check(line, grid, [300.0])
    assert len(pos) == 99


@pytest.mark.parametrize("geom", [
    shapely.LineString([(X0 + 3000, Y0 + 3000), (X0 + 3000, Y0 + 3000)]),                        # zero length
    shapely.LineString([(X0 + 1000, Y0 + 1000)] * 3 + [(X0 + 4000, Y0 + 2500)] * 2),             # repeated vertices
    shapely.LineString([(X0 + 1000, Y0 + 1000), (X0 + 5000, Y0 + 1000), (X0 + 1000, Y0 + 1000.5)]),  # backtracking
    shapely.LinearRing([(X0 + 2000, Y0 + 2000), (X0 + 5000, Y0 + 2000), (X0 + 3500, Y0 + 5000)]),  # closed
    shapely.LineString([(X0 + 3000, Y0 + 3000), (X0 + 3000.001, Y0 + 3000.002)]),                # shorter than 1 cm
    shapely.LineString([(X0 - 20_000, Y0 + 3050), (X0 + 30_000, Y0 + 3050)]),                     # crosses the whole grid
    shapely.MultiPoint([(X0 + 2050, Y0 + 2050), (X0 + 2050, Y0 + 2050.0000001)]),                 # all but equal points
    shapely.Point(X0 - 50_000, Y0),                                                                # far outside
    shapely.Point(X0 - 250, Y0 + 3050),                                                            # just outside, reaching in
    shapely.GeometryCollection([shapely.Point(X0 + 500, Y0 + 90_000), shapely.Point(X0 + 500, Y0 - 90_000),
                                shapely.LineString([(X0 + 1000, Y0 + 1000), (X0 + 3000, Y0 + 2000)])]),  # parts far off
])
@pytest.mark.parametrize("radii", [[400.0, 800.0], [5.0], [49.999, 50.0, 50.001], [100.0, 100.5, 2000.0]])
def test_degenerate_features(geom, radii):
    grid = _grid(3, shape=(60, 70))
    _check(geom, grid, radii)
    _check(geom, grid, np.asarray(radii) / 1.3, 1.3)


def test_radius_below_the_margin():
    # a stop 2 mm from a cell centre: with a radius of 0.1 µm that cell is in the outer band, not the
    # inner one (the "surely inside" bound must not go negative and square back to positive)
    grid = PopulationGrid(np.ones((21, 21)), Affine(100, 0, X0, 0, -100, Y0 + 2100), source="toy", precision="exact")
    stop = shapely.Point(X0 + 1050.002, Y0 + 1050)
    pos, band = _check(stop, grid, [1e-7, 0.001, 0.0025, 150.0])
    assert np.bincount(band, minlength=4).tolist() == [0, 0, 1, 8]


def test_lattice_distances_along_a_diagonal():
    # a 45° line through cell centres: cells at k·√2·100 m, limits at those distances computed in floats
    grid = PopulationGrid(np.ones((50, 50)), Affine(100, 0, X0, 0, -100, Y0 + 5000), source="toy", precision="exact")
    line = shapely.LineString([(X0 + 50, Y0 + 50), (X0 + 4950, Y0 + 4950)])
    _check(line, grid, [np.hypot(100, 100), 2 * np.hypot(100, 100), 300 * np.sqrt(2)])
    _check(line, grid, [100 * np.sqrt(2) * 1.3], 1 / 1.3)


def test_many_window_chunks(monkeypatch):
    # a small chunk size forces the window to be processed in many row strips
    monkeypatch.setattr(distance_bands, "CHUNK_CELLS", 500)
    rng = np.random.default_rng(5)
    grid = _grid(9, shape=(80, 60), cs=50.0)
    for kind in ("line", "mixed", "points"):
        _check(_random_geometry(rng, kind, 3000, 4000), grid, [130.0, 400.0, 777.0], 1.0)


def test_empty_grid_and_no_candidates():
    empty = PopulationGrid(np.zeros((10, 10)), Affine(100, 0, X0, 0, -100, Y0 + 1000), source="toy", precision="exact")
    pos, band = cell_distance_bands(shapely.Point(X0 + 500, Y0 + 500), empty, np.array([400.0]), 1.0)
    assert len(pos) == 0 and len(band) == 0
    grid = _grid(1)
    pos, band = cell_distance_bands(shapely.Point(X0 - 9000, Y0), grid, np.array([400.0]), 1.0)
    assert len(pos) == 0


@pytest.mark.parametrize("seed", range(4))
def test_catchment_populations_by_band_and_area_equal_brute_force(seed):
    rng = np.random.default_rng(seed)
    grid = _grid(20 + seed, cs=100.0, integer=False)
    w, h = grid.shape[1] * 100.0, grid.shape[0] * 100.0
    areas = gpd.GeoDataFrame({"navn": ["Vest", "Øst", "Nord"]}, geometry=[
        shapely.box(X0, Y0, X0 + 0.43 * w, Y0 + 0.7 * h), shapely.box(X0 + 0.43 * w, Y0, X0 + w, Y0 + 0.7 * h),
        shapely.Polygon([(X0, Y0 + 0.7 * h), (X0 + w, Y0 + 0.66 * h), (X0 + w, Y0 + h), (X0, Y0 + h)])], crs=25832)
    line = _random_geometry(rng, "line", w, h)
    stops = shapely.line_interpolate_point(line, np.arange(0, line.length, 600.0))
    feats = gpd.GeoDataFrame(geometry=[line, *stops], crs=25832)
    dists = (400.0, 800.0)
    r = corridor_catchment(feats, grid, dists, areas={"område": areas}, detour_factor=1.3)
    merged = shapely.union_all(feats.geometry.values)
    pos, band = brute_force(merged, grid, np.array(dists) / 1.3, 1.3)
    pop = grid.cell_centres().population[pos]
    np.testing.assert_allclose(r.table["population"], np.bincount(band, weights=pop, minlength=2), rtol=1e-12, atol=0)
    w_mat = area_weights(grid, areas, "navn").matrix[pos]
    expect = np.vstack([w_mat[band == k].T @ pop[band == k] for k in range(2)])
    got = np.zeros_like(expect)
    names = ["Vest", "Øst", "Nord", "(uden for områder)"]
    for b, name, p in zip(r.by_area["band"], r.by_area["area_name"], r.by_area["population"]):
        got[["0–400 m", "400–800 m"].index(b), names.index(name)] = p
    np.testing.assert_allclose(got, expect, rtol=1e-12, atol=1e-9)
    assert expect.sum() > 0
