"""Cached spatial indexes: the cached path gives the answers of the uncached one, and every cache
is invalidated (or refuses to go stale) when the grid, the facilities or the areas change."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine
from scipy import ndimage

from kkr_geo.geo.access import two_step_fca
from kkr_geo.geo.catchment import _euclidean_bands, _euclidean_bands_raster
from kkr_geo.geo.coverage import coverage_gaps
from kkr_geo.geo.distance import facility_tree, grid_pairs_within, grid_tree_pairs, nearest_distance, pairs_within
from kkr_geo.geo.population import PopulationGrid
from kkr_geo.geo.area_weights import area_weights
from kkr_geo.geo.raster import cells_to_polygons

X0, Y0 = 700_000.0, 6_170_000.0
T = Affine(100, 0, X0, 0, -100, Y0 + 6000)


def _grid(seed=7, shape=(60, 80)):
    rng = np.random.default_rng(seed)
    vals = np.where(rng.random(shape) < 0.5, rng.uniform(1, 10, shape), 0.0)
    return PopulationGrid(vals, T, source="toy", precision="exact")


def _facilities(seed=8, n=40):
    rng = np.random.default_rng(seed)
    xy = np.column_stack([rng.uniform(X0 - 500, X0 + 8500, n), rng.uniform(Y0 - 500, Y0 + 6500, n)])
    return gpd.GeoDataFrame({"kap": rng.uniform(1, 5, n)}, geometry=shapely.points(xy), crs=25832)


def _areas():
    return gpd.GeoDataFrame({"navn": ["Vest", "Øst"]}, geometry=[shapely.box(X0, Y0, X0 + 4000, Y0 + 6000),
                                                              shapely.box(X0 + 4000, Y0, X0 + 8000, Y0 + 6000)], crs=25832)


def _fresh(grid):
    return PopulationGrid(np.array(grid.values), grid.transform, source=grid.source, precision=grid.precision)


# --- cached path == uncached path -----------------------------------------------------------

def test_tree_pairs_equal_uncached_pairs_and_stencil():
    grid, fac = _grid(), _facilities()
    xy = shapely.get_coordinates(fac.geometry.values)
    c = grid.cell_centres()
    f0, c0, d0 = pairs_within(xy, c.xy, 750, detour_factor=1.3)           # trees built from scratch
    f1, c1, d1 = grid_tree_pairs(xy, grid, 750, detour_factor=1.3)         # cached trees
    f2, c2, d2 = grid_tree_pairs(xy, grid, 750, detour_factor=1.3)         # cached trees, second use
    f3, flat, d3 = grid_pairs_within(xy, grid, 750, detour_factor=1.3)     # arithmetic stencil
    a = sorted(zip(f0.tolist(), c0.tolist(), d0.tolist()))
    assert len(a) > 100
    assert a == sorted(zip(f1.tolist(), c1.tolist(), d1.tolist())) == sorted(zip(f2.tolist(), c2.tolist(), d2.tolist()))
    pos = {int(i): k for k, i in enumerate(c.index)}
    assert sorted(zip(f0.tolist(), c0.tolist(), np.round(d0, 6).tolist())) == \
        sorted(zip(f3.tolist(), [pos[int(i)] for i in flat], np.round(d3, 6).tolist()))


def test_queries_on_a_warm_grid_equal_queries_on_a_fresh_grid():
    grid, fac, areas = _grid(), _facilities(), {"kommune": _areas()}
    for _ in range(2):  # the second round runs on every cache built by the first
        cov, fresh = (coverage_gaps(fac, g, 600, areas=areas, detour_factor=1.3) for g in (grid, _fresh(grid)))
        assert cov.table.equals(fresh.table)
        assert np.array_equal(cov.distance, fresh.distance, equal_nan=True)
        for decay in ("step", "gaussian"):
            acc, ref = (two_step_fca(fac, "kap", g, 900, decay=decay, areas=areas, detour_factor=1.3)
                        for g in (grid, _fresh(grid)))
            assert acc.by_area.equals(ref.by_area) and acc.facilities.equals(ref.facilities)
            assert np.array_equal(acc.cells, ref.cells, equal_nan=True)


def test_two_step_fca_equals_a_hand_written_uncached_version():
    grid, fac = _grid(), _facilities()
    xy = shapely.get_coordinates(fac.geometry.values)
    c = grid.cell_centres()
    fi, ci, d = pairs_within(xy, c.xy, 900, detour_factor=1.3)
    demand = np.bincount(fi, weights=c.population[ci], minlength=len(xy))
    ratio = np.divide(fac["kap"].to_numpy(), demand, out=np.zeros(len(xy)), where=demand > 0)
    access = np.bincount(ci, weights=ratio[fi], minlength=len(c.x))
    r = two_step_fca(fac, "kap", grid, 900, decay="step", detour_factor=1.3)
    assert np.allclose(r.cell_access, access, rtol=1e-12, atol=0)
    assert np.allclose(r.facilities["demand_population"], demand, rtol=1e-12)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_corridor_tree_candidates_equal_raster_candidates(seed):
    grid = _grid(seed)
    rng = np.random.default_rng(seed)
    line = shapely.LineString(np.column_stack([rng.uniform(X0, X0 + 8000, 5), rng.uniform(Y0, Y0 + 6000, 5)]))
    stops = shapely.points(np.column_stack([rng.uniform(X0, X0 + 8000, 3), rng.uniform(Y0, Y0 + 6000, 3)]))
    merged = shapely.union_all([line, *stops])
    radii = np.array([400.0, 800.0, 1500.0]) / 1.3
    areas = _areas()
    aw = area_weights(grid, areas, "navn")
    cum = [shapely.buffer(merged, r, quad_segs=16) for r in radii]
    rings = [cum[0]] + [shapely.difference(cum[k], cum[k - 1]) for k in range(1, len(cum))]
    a = _euclidean_bands(merged, grid, radii, 1.3, {"k": aw})
    b = _euclidean_bands_raster(merged, grid, radii, 1.3, {"k": aw}, cum, rings, np.zeros(3))
    assert a[0].sum() > 0
    assert np.allclose(a[0], b[0], rtol=1e-12) and np.allclose(a[3]["k"], b[3]["k"], rtol=1e-12)


# --- invalidation -------------------------------------------------------------------------------

def test_values_are_frozen_once_indexed_and_assignment_invalidates():
    grid, fac = _grid(), _facilities()
    before = coverage_gaps(fac, grid, 600).table
    with pytest.raises(ValueError, match="read-only"):
        grid.values[0, 0] = 1e6  # an in-place write can no longer leave the indexes stale
    new = np.array(grid.values)
    new[:, :40] = 0.0
    grid.values = new  # assignment drops every index
    after = coverage_gaps(fac, grid, 600).table
    assert after.equals(coverage_gaps(fac, _fresh(grid), 600).table)
    assert after.iloc[0]["population"] < before.iloc[0]["population"]
    acc = two_step_fca(fac, "kap", grid, 900)
    assert acc.cells[:, :40].size and np.isnan(acc.cells[:, :40]).all()


def test_transform_assignment_invalidates():
    grid, fac = _grid(), _facilities()
    first = coverage_gaps(fac, grid, 600).cell_distance
    grid.transform = Affine(100, 0, X0 + 20_000, 0, -100, Y0 + 6000)  # 20 km east: every facility far away
    moved = coverage_gaps(fac, grid, 600).cell_distance
    assert moved.min() > first.max()
    assert np.array_equal(moved, coverage_gaps(fac, _fresh(grid), 600).cell_distance)


def test_unfreezing_behind_the_cache_is_noticed():
    grid, fac = _grid(), _facilities()
    two_step_fca(fac, "kap", grid, 900)
    grid.values.flags.writeable = True  # deliberately unlocked ...
    grid.values[:] = 0.0                # ... and emptied
    r = two_step_fca(fac, "kap", grid, 900)
    assert r.by_area.iloc[0]["population"] == 0 and len(grid.cell_centres().x) == 0


def test_a_view_of_another_array_is_copied_when_indexed():
    base = np.ones((20, 20))
    grid = PopulationGrid(base[:, :], T)
    fac = _facilities(n=5)
    t1 = coverage_gaps(fac, grid, 600).table
    base[:] = 0.0  # the caller's array stays writeable, and cannot change the indexed grid
    assert coverage_gaps(fac, grid, 600).table.equals(t1) and grid.values.sum() == 400


def test_moved_facility_gives_a_new_tree_and_new_answers():
    grid, fac = _grid(), _facilities()
    xy = shapely.get_coordinates(fac.geometry.values)
    assert facility_tree(xy) is facility_tree(xy.copy())  # same coordinates: the cached tree
    r1 = coverage_gaps(fac, grid, 600)
    fac.loc[0, "geometry"] = shapely.Point(X0 + 12_345, Y0 + 3_210)  # moved in place
    xy2 = shapely.get_coordinates(fac.geometry.values)
    assert facility_tree(xy2) is not facility_tree(xy)
    r2 = coverage_gaps(fac, grid, 600)
    expect = nearest_distance(grid.cell_centres().xy, list(shapely.points(xy2)), detour_factor=1.3)
    assert np.array_equal(r2.cell_distance, expect)
    assert not np.array_equal(r1.cell_distance, r2.cell_distance)


def test_renamed_or_moved_area_gives_new_labels():
    grid, fac = _grid(), _facilities()
    areas = _areas()
    t1 = coverage_gaps(fac, grid, 600, areas=areas).table
    areas.loc[1, "navn"] = "Nord"
    t2 = coverage_gaps(fac, grid, 600, areas=areas).table
    assert "Nord" in set(t2["area_name"]) and "Øst" not in set(t2["area_name"]) and "Øst" in set(t1["area_name"])
    areas.loc[0, "geometry"] = shapely.box(X0, Y0, X0 + 2000, Y0 + 6000)  # half of Vest moves outside every area
    t3 = coverage_gaps(fac, grid, 600, areas=areas).table
    vest = lambda t: float(t.loc[t["area_name"] == "Vest", "population"].iloc[0])  # noqa: E731
    assert vest(t3) < vest(t2)
    assert t3.equals(coverage_gaps(fac, _fresh(grid), 600, areas=areas).table)


# --- gap polygons from the raster mask -----------------------------------------------------------

def test_cells_to_polygons_equals_the_union_of_cell_squares():
    rng = np.random.default_rng(5)
    mask = rng.random((40, 50)) < 0.45
    vals = rng.uniform(1, 9, mask.shape)
    flat = np.flatnonzero(mask.ravel())
    polys = cells_to_polygons(flat, mask.shape, T, values=vals.ravel()[flat], extra={"m": vals.ravel()[flat]})
    lab, n = ndimage.label(mask)
    assert len(polys) == n
    rr, cc = np.nonzero(mask)
    boxes = shapely.box(X0 + cc * 100, Y0 + 6000 - (rr + 1) * 100, X0 + (cc + 1) * 100, Y0 + 6000 - rr * 100)
    union = shapely.union_all(boxes)
    mine = shapely.union_all(polys.geometry.values)
    assert shapely.symmetric_difference(union, mine).area < 1e-6
    assert polys["area_km2"].sum() == pytest.approx(mask.sum() * 0.01)
    assert sorted(polys["population"].round(9)) == sorted(np.round(ndimage.sum_labels(vals, lab, range(1, n + 1)), 9))
    assert sorted(polys["m"]) == sorted(ndimage.maximum(vals, lab, range(1, n + 1)))
    assert polys.geometry.is_valid.all()


# --- layers read once per build ------------------------------------------------------------------

def test_layer_cache_reads_once_and_hands_out_independent_copies(real_data, monkeypatch):
    from dataclasses import replace

    from kkr_geo.layers import registry
    from kkr_geo.layers.registry import layer_cache, load_layer
    calls = []
    info = registry.entry("kommuner")
    counting = replace(info, loader=lambda *a, **k: calls.append(a[0]) or info.loader(*a, **k))
    monkeypatch.setitem(registry._ENTRIES, "kommuner", counting)
    with layer_cache():
        a = load_layer("kommuner", real_data)
        a.loc[a.index[0], "navn"] = "Ændret"      # a careless caller edits its frame ...
        a.attrs["notes"].append("edited")
        b = load_layer("kommuner", real_data)  # ... the next caller still gets the layer as read
        load_layer("planomraader", real_data)  # reads the kommuner internally: from the cache too
    assert calls == ["kommuner"]
    assert b.iloc[0]["navn"] != "Ændret" and "edited" not in b.attrs["notes"]
    load_layer("kommuner", real_data)  # outside the block: read again
    assert calls == ["kommuner", "kommuner"]
