"""Dasymetric population surface: toys derived by hand, and Tabel 3/4 kept per planning area on the real data."""

import geopandas as gpd
import numpy as np
import pytest
import shapely

from kkr_geo.geo.dasymetric import (WeightLayer, area_shares, dasymetric_grid, grid_frame, line_length_per_cell,
                                    points_per_cell, population_by_area)
from kkr_geo.geo.errors import InputError

X0, Y0 = 700_000.0, 6_170_000.0
X3, Y3 = 699_900.0, 6_170_100.0  # multiples of 300 m: grids align to multiples of the cell size


def _areas(boxes, totals, names=None, x0=X0, y0=Y0):
    names = names or [chr(65 + i) for i in range(len(boxes))]
    return gpd.GeoDataFrame({"navn": names, "pop": totals},
                            geometry=[shapely.box(x0 + a, y0 + b, x0 + c, y0 + d) for a, b, c, d in boxes], crs=25832)


def test_two_areas_known_weights():
    # A = 1 km², weights 1 (west half) and 3 (east half); B = 1 km², no weight -> uniform
    areas = _areas([(0, 0, 1000, 1000), (1000, 0, 2000, 1000)], [1000, 3000])
    shape, t = grid_frame(areas, 500)
    assert shape == (2, 4)
    w = WeightLayer("toy", "toy", np.array([[1.0, 3.0, 0.0, 0.0]] * 2))
    grid, prov = dasymetric_grid(areas, "pop", [w], 500)
    # A: 1000 × 1/8 per weight unit; B: 3000 / 4 cells
    assert np.allclose(grid.values, [[125, 375, 750, 750]] * 2)
    assert prov["weight"].tolist() == ["toy", "uniform"]
    assert grid.total() == pytest.approx(4000)
    assert "toy (1 omr.)" in grid.source and "jævnt" in grid.source
    assert grid.precision == "approximate (dasymetric)"


def test_boundary_cell_split_by_share_solved_by_hand():
    # cells of 300 m: [0,300] in A, [300,600] half A half B, [600,900] in B. T_A = 900, T_B = 1800.
    # V = [s_A, (s_A + s_B)/2, s_B]; by share: s_A + (s_A+s_B)/4 = 900 and s_B + (s_A+s_B)/4 = 1800
    # -> s_A = 450, s_B = 1350: V = [450, 900, 1350]
    areas = _areas([(0, 0, 450, 300), (450, 0, 900, 300)], [900, 1800], x0=X3, y0=Y3)
    grid, prov = dasymetric_grid(areas, "pop", [], 300)
    assert grid.values.ravel().tolist() == pytest.approx([450, 900, 1350])
    assert prov["population_by_share"].tolist() == pytest.approx([900, 1800])
    by = population_by_area(grid, areas)
    assert by.to_dict() == pytest.approx({"A": 900, "B": 1800})


def test_coastal_cell_goes_to_its_area_and_cells_off_all_areas_to_the_nearest():
    # the area covers 100 m of the last 300 m cell: that cell is wholly the area's (the rest is sea)
    areas = _areas([(0, 0, 700, 300)], [700], x0=X3, y0=Y3)
    F = area_shares(areas.geometry.values, (1, 3), grid_frame(areas, 300)[1])
    assert F.toarray().ravel().tolist() == pytest.approx([1, 1, 1])
    grid, _ = dasymetric_grid(areas, "pop", [], 300)
    # uniform by share: every cell the same, 700 / 3
    assert grid.values.ravel() == pytest.approx([700 / 3] * 3)
    # a populated cell that touches no area (e.g. from a raster) is counted in the nearest area
    from affine import Affine
    from kkr_geo.geo.population import PopulationGrid
    g = PopulationGrid(np.array([[5.0, 0.0, 0.0, 0.0, 7.0]]), Affine(300, 0, X3, 0, -300, Y3 + 300))
    two = _areas([(0, 0, 300, 300), (600, 0, 900, 300)], [0, 0], x0=X3, y0=Y3)
    assert population_by_area(g, two).to_dict() == pytest.approx({"A": 5, "B": 7})


def test_first_covering_layer_wins_and_uniform_is_last():
    areas = _areas([(0, 0, 1000, 1000), (1000, 0, 2000, 1000), (2000, 0, 3000, 1000)], [100, 200, 300])
    shape, t = grid_frame(areas, 500)
    pts = WeightLayer("punkter", "punkter", np.array([[1.0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]),
                      coverage=shapely.box(X0, Y0, X0 + 1000, Y0 + 1000))
    roads = WeightLayer("veje", "veje", np.array([[9.0, 0, 1, 0, 0, 0], [0, 0, 0, 1, 0, 0]]))
    grid, prov = dasymetric_grid(areas, "pop", [pts, roads], 500)
    assert prov["weight"].tolist() == ["punkter", "veje", "uniform"]
    # A: all 100 in its one weighted cell; B: 100/100 on its two road cells; C uniform 75 per cell
    assert np.allclose(grid.values, [[100, 0, 100, 0, 75, 75], [0, 0, 0, 100, 75, 75]])
    # the points layer does not cover B, so B's points (none here) are never used even if present
    assert prov.set_index("navn").loc["B", "coverage"] == pytest.approx(1.0)


def test_weight_helpers_by_hand():
    areas = _areas([(0, 0, 200, 100)], [1])
    shape, t = grid_frame(areas, 100)
    line = shapely.LineString([(X0 + 50, Y0 + 50), (X0 + 150, Y0 + 50)])  # 50 m in each cell
    assert line_length_per_cell([line], shape, t).ravel() == pytest.approx([50, 50], abs=1e-6)
    assert points_per_cell(np.array([[X0 + 10, Y0 + 10], [X0 + 20, Y0 + 90], [X0 + 900, Y0]]), [2, 3, 99], shape, t
                           ).ravel().tolist() == [5, 0]


def test_bad_weights_and_columns_are_clear_errors():
    areas = _areas([(0, 0, 1000, 1000)], [10])
    with pytest.raises(InputError, match="non-negative"):
        dasymetric_grid(areas, "pop", [WeightLayer("w", "w", -np.ones((2, 2)))], 500)
    with pytest.raises(InputError, match="shape"):
        dasymetric_grid(areas, "pop", [WeightLayer("w", "w", np.ones((3, 3)))], 500)
    with pytest.raises(InputError, match="befolkning"):
        dasymetric_grid(areas, "befolkning", [], 500)
    bad = areas.assign(pop=[-5])
    with pytest.raises(InputError, match="non-negative"):
        dasymetric_grid(bad, "pop", [], 500)


# --- the region ----------------------------------------------------------------------------------

def _by_overlay(grid, areas):
    """Independent split: every populated cell by sjoin + exact intersection, shares normalised per cell."""
    cells = grid.to_geodataframe().reset_index(drop=True)
    pairs = gpd.sjoin(cells, areas[["navn", "geometry"]], predicate="intersects")
    inter = shapely.area(shapely.intersection(pairs.geometry.values,
                                              areas.geometry.values[pairs["index_right"].to_numpy()]))
    pairs = pairs.assign(inter=inter)
    pairs = pairs[pairs["inter"] > 0]
    share = pairs["inter"] / pairs.groupby(level=0)["inter"].transform("sum")
    return (pairs["population"] * share).groupby(pairs["navn"]).sum(), cells.index.difference(pairs.index)


@pytest.mark.parametrize("speciale", [51, 62])
def test_region_surface_keeps_tabel_totals_per_planning_area(real_data, speciale):
    from kkr_geo.layers.region_population import planlaegningsomraade_population, region_population_grid
    areas = planlaegningsomraade_population(real_data.path, speciale=speciale)
    grid = region_population_grid(real_data.path, speciale=speciale)
    assert len(areas) == 37
    got, lost = _by_overlay(grid, areas)
    assert len(lost) == 0  # no populated cell outside every area
    want = areas.set_index("navn")["population"]
    rel = (got.reindex(want.index) - want).abs() / want
    assert rel.max() < 0.001, rel.sort_values().tail()
    assert grid.total() == pytest.approx(want.sum(), rel=1e-9)
    prov = grid.provenance.set_index("navn")
    assert prov.loc["Vesterbro", "weight"] == "worldpop_punkter"
    assert prov.loc["Gribskov", "weight"] == "vejlaengde"
    assert "WorldPop 2020" in grid.source and "vejlængde" in grid.source and ("Tabel 3" if speciale == 51 else "Tabel 4") in grid.source


def test_region_surface_follows_roads_not_forest(real_data):
    """In a road-weighted area nobody lives in interior cells without a road (Gribskov's forest)."""
    from kkr_geo.layers import roads
    from kkr_geo.layers.region_population import planlaegningsomraade_population, region_population_grid
    grid = region_population_grid(real_data.path)
    areas = planlaegningsomraade_population(real_data.path)
    if roads.has_roads(real_data.path):
        w = roads.road_length_weights(real_data.path, grid.shape, grid.transform)
    else:  # the embedded default: the 100 m road-length grid made from the same lines
        w = roads.road_length_grid_weights(real_data.file("befolkning/vejlaengde_100m.tif"), grid.shape, grid.transform)
    F = area_shares(areas.geometry.values, grid.shape, grid.transform)
    g = list(areas["navn"]).index("Gribskov")
    col = F[:, g].toarray().ravel()
    interior = col == 1.0
    no_road = interior & (w.ravel() == 0)
    assert no_road.sum() > 1000  # Gribskov has forest and lakes
    assert grid.values.ravel()[no_road].sum() == 0
    # the old areal surface put people there
    old = region_population_grid(real_data.path, method="areal")
    assert old.provenance["weight"].eq("uniform").all()


def test_user_raster_is_the_first_weight_where_it_covers(real_data, tmp_path):
    """A raster covering only Gribskov's planning area: Gribskov uses it, the others keep their weights."""
    import rasterio
    from affine import Affine

    from kkr_geo.layers.region_population import planlaegningsomraade_population, region_population_grid
    areas = planlaegningsomraade_population(real_data.path)
    g = areas.set_index("navn").loc["Gribskov"].geometry
    x0, y0, x1, y1 = (np.floor(np.array(g.bounds) / 100) * 100) + np.array([-100, -100, 200, 200])
    cols, rows = int((x1 - x0) / 100), int((y1 - y0) / 100)
    arr = np.zeros((rows, cols), dtype="float32")
    arr[rows // 2, cols // 2] = 10.0  # one weighted cell in the middle
    arr[rows // 3, cols // 3] = 30.0
    path = tmp_path / "w.tif"
    with rasterio.open(path, "w", driver="GTiff", width=cols, height=rows, count=1, dtype="float32", crs="EPSG:25832",
                       transform=Affine(100, 0, x0, 0, -100, y1)) as ds:
        ds.write(arr, 1)
    grid = region_population_grid(real_data.path, weights_raster=path)
    prov = grid.provenance.set_index("navn")
    assert prov.loc["Gribskov", "weight"] == "raster"
    assert prov.loc["Vesterbro", "weight"] == "worldpop_punkter" and prov.loc["Egedal", "weight"] == "vejlaengde"
    # Gribskov's people go 1:3 to the two weighted cells (both interior); the only others counted in
    # Gribskov are the neighbours' people in boundary cells shared with it (their share of those cells)
    total = prov.loc["Gribskov", "total"]
    r0 = int(round((grid.transform.f - y1) / 100))
    c0 = int(round((x0 - grid.transform.c) / 100))
    a = grid.values[r0 + rows // 2, c0 + cols // 2]
    b = grid.values[r0 + rows // 3, c0 + cols // 3]
    assert b == pytest.approx(3 * a)
    assert 0.99 * total < a + b <= total
    assert population_by_area(grid, areas)["Gribskov"] == pytest.approx(total)
