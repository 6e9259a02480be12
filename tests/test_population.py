"""PopulationGrid constructors and I/O, checked against hand-computed cells."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine

from kkr_geo.geo.errors import InputError
from kkr_geo.geo.population import PopulationGrid, cell_ids

X0, Y0 = 700_000, 6_170_000


def _gdf(geoms, **cols):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=25832)


def test_polygon_aligned_with_cells_spreads_evenly():
    # 1000 people on 1 km² → 100 cells of 100 m, 10 people each
    g = PopulationGrid.from_polygons(_gdf([shapely.box(X0, Y0, X0 + 1000, Y0 + 1000)], pop=[1000]), "pop")
    assert g.shape == (10, 10)
    assert np.allclose(g.values, 10.0)
    assert g.bounds == (X0, Y0, X0 + 1000, Y0 + 1000)
    assert g.precision == "approximate"


def test_polygon_straddling_cells_is_weighted_by_area():
    # 200 m × 100 m strip starting 50 m into a cell: 200 people = 0.01 per m²
    strip = shapely.box(X0 + 50, Y0, X0 + 250, Y0 + 100)
    g = PopulationGrid.from_polygons(_gdf([strip], pop=[200]), "pop")
    assert g.shape == (1, 3)
    assert np.allclose(g.values, [[50, 100, 50]])  # 5000 m², 10000 m², 5000 m²


def test_two_polygons_and_total_preserved():
    a = shapely.box(X0, Y0, X0 + 300, Y0 + 300)          # 9 cells, 900 people → 100 per cell
    b = shapely.box(X0 + 300, Y0, X0 + 350, Y0 + 100)    # half a cell, 7 people
    g = PopulationGrid.from_polygons(_gdf([a, b], pop=[900, 7]), "pop")
    assert g.total() == pytest.approx(907)
    assert g.values[-1, 3] == pytest.approx(7)
    assert g.values[0, 0] == pytest.approx(100)


def test_overlapping_polygons_each_keep_their_count():
    a = shapely.box(X0, Y0, X0 + 200, Y0 + 100)
    b = shapely.box(X0 + 100, Y0, X0 + 300, Y0 + 100)
    g = PopulationGrid.from_polygons(_gdf([a, b], pop=[20, 40]), "pop")
    assert np.allclose(g.values, [[10, 30, 20]])


def test_mask_restricts_where_people_live():
    area = shapely.box(X0, Y0, X0 + 1000, Y0 + 1000)
    mask = shapely.box(X0, Y0, X0 + 500, Y0 + 1000)  # only the west half is built up
    g = PopulationGrid.from_polygons(_gdf([area], pop=[1000]), "pop", mask=mask)
    assert g.total() == pytest.approx(1000)
    assert np.allclose(g.values[:, :5], 20) and np.allclose(g.values[:, 5:], 0)


def test_mask_missing_a_polygon_keeps_its_people_and_says_so():
    area = shapely.box(X0, Y0, X0 + 100, Y0 + 100)
    g = PopulationGrid.from_polygons(_gdf([area], pop=[50]), "pop", mask=shapely.box(0, 0, 1, 1))
    assert g.total() == pytest.approx(50)
    assert g.notes and "no area inside the mask" in g.notes[0]


def test_bad_count_names_the_row():
    with pytest.raises(InputError, match="row 1"):
        PopulationGrid.from_polygons(_gdf([shapely.box(X0, Y0, X0 + 1, Y0 + 1)] * 2, pop=[1, -5]), "pop")


def test_points_are_counted_into_cells():
    pts = [shapely.Point(X0 + 10, Y0 + 10), shapely.Point(X0 + 90, Y0 + 90), shapely.Point(X0 + 150, Y0 + 50)]
    g = PopulationGrid.from_points(_gdf(pts, n=[2, 3, 4]), "n")
    assert g.shape == (1, 2)
    assert np.allclose(g.values, [[5, 4]])
    assert g.precision == "exact"
    g1 = PopulationGrid.from_points(_gdf(pts))
    assert g1.total() == 3


def test_points_reject_polygons():
    with pytest.raises(InputError, match="not a point"):
        PopulationGrid.from_points(_gdf([shapely.box(X0, Y0, X0 + 1, Y0 + 1)]))


def test_cell_ids_100m_and_1km():
    df = pd.DataFrame({"id": ["100m_61760_7240", "100m_61761_7241", "100m_61760_7240"], "n": [1, 2, 3]})
    g = PopulationGrid.from_cell_ids(df, "id", "n")
    assert g.cell_size == 100
    assert g.bounds == (724_000, 6_176_000, 724_200, 6_176_200)
    assert np.allclose(g.values, [[0, 2], [4, 0]])  # row 0 is the north row
    k = PopulationGrid.from_cell_ids(pd.DataFrame({"id": ["1km_6176_724"], "n": [9]}), "id", "n")
    assert k.cell_size == 1000 and k.bounds == (724_000, 6_176_000, 725_000, 6_177_000)


def test_cell_id_errors():
    with pytest.raises(InputError, match="several sizes"):
        PopulationGrid.from_cell_ids(pd.DataFrame({"id": ["100m_61760_7240", "1km_6176_724"], "n": [1, 1]}), "id", "n")
    with pytest.raises(InputError, match="row 1"):
        PopulationGrid.from_cell_ids(pd.DataFrame({"id": ["100m_61760_7240", "61760-7240"], "n": [1, 1]}), "id", "n")


def test_to_geodataframe_ids_round_trip():
    df = pd.DataFrame({"id": ["100m_61760_7240", "100m_61762_7243"], "n": [5, 7]})
    g = PopulationGrid.from_cell_ids(df, "id", "n")
    gdf = g.to_geodataframe()
    assert sorted(gdf["cell_id"]) == sorted(df["id"])
    assert gdf["population"].sum() == 12
    assert np.allclose(gdf.area, 10_000)
    assert list(cell_ids(np.array([724_000.0]), np.array([6_176_000.0]), 1000)) == ["1km_6176_724"]


def test_cell_centres():
    g = PopulationGrid(np.array([[0, 2.0], [3.0, 0]]), Affine(100, 0, X0, 0, -100, Y0 + 200))
    c = g.cell_centres()
    assert list(c.x) == [X0 + 150, X0 + 50] and list(c.y) == [Y0 + 150, Y0 + 50]
    assert list(c.population) == [2, 3] and list(c.index) == [1, 2]


def test_geotiff_round_trip_and_block_sum(tmp_path):
    vals = np.arange(12, dtype=float).reshape(3, 4)
    g = PopulationGrid(vals, Affine(100, 0, X0 + 100, 0, -100, Y0 + 300), source="test", precision="exact")
    path = g.to_geotiff(tmp_path / "pop.tif")
    back = PopulationGrid.from_raster(path)
    assert np.array_equal(back.values, vals) and back.source == "test" and back.precision == "exact"
    # 200 m cells aligned to multiples of 200: the grid starts at x0+100 (odd), y top at y0+300 (odd)
    c = PopulationGrid.from_raster(path, cell_size=200)
    assert c.total() == vals.sum()
    assert c.transform.c % 200 == 0 and c.transform.f % 200 == 0
    # top row of 200 m cells holds only source row 0; its first cell only source cell (0, 0)
    assert c.values[0, 0] == 0.0 and c.values[0, 1] == 1 + 2


def test_geographic_raster_is_resampled_preserving_total(tmp_path):
    path = tmp_path / "wp.tif"
    arr = np.full((20, 30), 5.0)
    arr[0, 0] = -99999  # nodata
    t = Affine(0.001, 0, 12.40, 0, -0.001, 55.70)
    with rasterio.open(path, "w", driver="GTiff", width=30, height=20, count=1, dtype="float64", crs="EPSG:4326",
                       transform=t, nodata=-99999) as dst:
        dst.write(arr, 1)
    g = PopulationGrid.from_raster(path, cell_size=100)
    assert g.total() == pytest.approx(5.0 * 599)
    assert g.precision == "approximate" and g.cell_size == 100
    # ~0.001° × 0.001° at 55.7° N ≈ 62.8 m × 111.3 m ≈ 6,990 m², so 5 people ≈ 7.2 per hectare
    inner = g.values[3:-3, 3:-3]
    assert np.median(inner) == pytest.approx(5 / 6990 * 10_000, rel=0.05)


def test_negative_raster_values_are_an_error(tmp_path):
    g = PopulationGrid(np.array([[1.0, -2.0]]), Affine(100, 0, X0, 0, -100, Y0))
    path = g.to_geotiff(tmp_path / "neg.tif")
    with pytest.raises(InputError, match="negative population"):
        PopulationGrid.from_raster(path)


def test_empty_grid():
    g = PopulationGrid.empty()
    assert g.total() == 0 and len(g.cell_centres().x) == 0 and len(g.to_geodataframe()) == 0
