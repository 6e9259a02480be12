"""2SFCA against a 3-supply × 2-demand toy computed on paper, and Tabel 3's borgere pr. kapacitet.

Toy (distances along one east-west line, catchment d0 = 600 m, straight-line distance):
demand D1 = 1000 people at x = 0, D2 = 3000 people at x = 1000;
supply S1 = 10 at x = 0 (reaches D1), S2 = 20 at x = 500 (reaches both, 500 m each),
S3 = 60 at x = 1000 (reaches D2).
Step decay: R1 = 10/1000 = 0.01, R2 = 20/4000 = 0.005, R3 = 60/3000 = 0.02;
A1 = R1 + R2 = 0.015 → 150 per 10,000; A2 = R2 + R3 = 0.025 → 250 per 10,000.
Check: 1000·0.015 + 3000·0.025 = 90 = 10 + 20 + 60.
"""

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine

from kkr_geo.geo.access import area_catchment_fca, decay_weights, two_step_fca
from kkr_geo.geo.errors import InputError
from kkr_geo.geo.population import PopulationGrid

X0, Y0 = 700_000.0, 6_170_000.0
CY = Y0 + 50  # centre line of the one-row grid


@pytest.fixture
def grid():
    v = np.zeros((1, 11))
    v[0, 0], v[0, 10] = 1000, 3000  # centres at X0+50 and X0+1050
    return PopulationGrid(v, Affine(100, 0, X0, 0, -100, Y0 + 100), source="toy", precision="exact")


def _fac(xs, caps):
    return gpd.GeoDataFrame({"navn": [f"S{i + 1}" for i in range(len(xs))], "kapacitet": caps},
                            geometry=[shapely.Point(X0 + 50 + x, CY) for x in xs], crs=25832)


TOY = _fac([0, 500, 1000], [10, 20, 60])


def test_step_2sfca_toy(grid):
    r = two_step_fca(TOY, "kapacitet", grid, 600, detour_factor=1.0)
    assert r.cells[0, 0] == pytest.approx(150) and r.cells[0, 10] == pytest.approx(250)
    assert np.isnan(r.cells[0, 5])
    assert list(r.facilities["ratio_per_10000"]) == pytest.approx([100, 50, 200])
    assert list(r.facilities["demand_population"]) == [1000, 4000, 3000]
    total = r.by_area.iloc[0]
    assert total["population"] == 4000 and total["accessible_capacity"] == pytest.approx(90)
    assert total["capacity_per_10000"] == pytest.approx(90 / 4000 * 10_000)
    assert total["borgere_pr_kapacitet"] == pytest.approx(4000 / 90)
    assert r.meta["method"] == "2SFCA" and r.meta["distance_method"].startswith("euclidean")


def test_gaussian_2sfca_toy(grid):
    e = math.exp(-0.5)
    w = (math.exp(-0.5 * (500 / 600) ** 2) - e) / (1 - e)  # S2's weight at 500 m ≈ 0.3206
    r = two_step_fca(TOY, "kapacitet", grid, 600, decay="gaussian", detour_factor=1.0)
    R1, R2, R3 = 10 / 1000, 20 / (w * 4000), 60 / 3000
    assert r.cells[0, 0] == pytest.approx((R1 + w * R2) * 10_000)
    assert r.cells[0, 10] == pytest.approx((w * R2 + R3) * 10_000)
    assert r.by_area.iloc[0]["accessible_capacity"] == pytest.approx(90)  # capacity still conserved


def test_enhanced_2sfca_zones(grid):
    # zones 0–200, 200–400, 400–600 m with weights 1, 0.68, 0.22: S2 sits in the third zone of both
    r = two_step_fca(TOY, "kapacitet", grid, 600, decay="zones", detour_factor=1.0)
    R2 = 20 / (0.22 * 4000)
    assert r.cells[0, 0] == pytest.approx((0.01 + 0.22 * R2) * 10_000)
    assert r.cells[0, 10] == pytest.approx((0.22 * R2 + 0.02) * 10_000)
    assert "E2SFCA" in r.meta["method"]
    assert list(decay_weights(np.array([0, 200, 201, 400, 599, 601]), 600, "zones")) == [1, 1, 0.68, 0.68, 0.22, 0]


def test_zero_capacity_and_facility_outside_grid(grid):
    fac = _fac([0, 500, 1000, 50_000], [10, 0, 60, 5])
    r = two_step_fca(fac, "kapacitet", grid, 600, detour_factor=1.0)
    # S2 contributes nothing: A1 = 0.01, A2 = 0.02
    assert r.cells[0, 0] == pytest.approx(100) and r.cells[0, 10] == pytest.approx(200)
    assert r.meta["capacity_without_demand"] == 5 and "not counted" in r.meta["note"]
    assert np.isnan(r.facilities["ratio_per_10000"].iloc[3])


def test_per_area_rows(grid):
    areas = gpd.GeoDataFrame({"navn": ["Vest", "Øst"]}, geometry=[shapely.box(X0, Y0, X0 + 500, Y0 + 100),
                                                                   shapely.box(X0 + 500, Y0, X0 + 1100, Y0 + 100)], crs=25832)
    r = two_step_fca(TOY, "kapacitet", grid, 600, areas=areas, detour_factor=1.0)
    t = r.by_area.set_index("area_name")
    assert t.loc["Vest", "capacity_per_10000"] == pytest.approx(150)
    assert t.loc["Øst", "borgere_pr_kapacitet"] == pytest.approx(1 / 0.025)


def test_bad_capacity_names_the_facility(grid):
    fac = _fac([0, 500], [10, None])
    with pytest.raises(InputError, match="facility 1"):
        two_step_fca(fac, "kapacitet", grid, 600)
    with pytest.raises(InputError, match="no capacity column"):
        two_step_fca(TOY, "capacity", grid, 600)


def test_no_facilities_gives_zero_access(grid):
    r = two_step_fca(_fac([], []), "kapacitet", grid, 600)
    assert r.cells[0, 0] == 0 and r.by_area.iloc[0]["accessible_capacity"] == 0


def test_area_catchment_with_points_and_grid():
    # two 1 km² planning areas, 100 people per cell-ha → 10,000 each; clinics: 2 + 3 in A, 4 in B
    grid = PopulationGrid(np.full((10, 20), 100.0), Affine(100, 0, X0, 0, -100, Y0 + 1000))
    areas = gpd.GeoDataFrame({"navn": ["A", "B"]}, geometry=[shapely.box(X0, Y0, X0 + 1000, Y0 + 1000),
                                                             shapely.box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)], crs=25832)
    clinics = gpd.GeoDataFrame({"kapacitet": [2.0, 3.0, 4.0]}, geometry=[shapely.Point(X0 + 100, Y0 + 100),
                               shapely.Point(X0 + 900, Y0 + 500), shapely.Point(X0 + 1500, Y0 + 500)], crs=25832)
    r = area_catchment_fca(areas, "kapacitet", grid=grid, facilities=clinics)
    t = r.by_area.set_index("area_name")
    assert t.loc["A", "population"] == 10_000 and t.loc["A", "capacity"] == 5
    assert t.loc["A", "borgere_pr_kapacitet"] == pytest.approx(2000)
    assert t.loc["B", "borgere_pr_kapacitet"] == pytest.approx(2500)
    assert r.cells[0, 0] == pytest.approx(5) and r.cells[0, 15] == pytest.approx(4)


def test_borgere_pr_kapacitet_equals_tabel3(any_data):
    """The planning area as catchment reproduces Tabel 3: population / capacity = borgere pr. kapacitet."""
    try:
        from kkr_geo.layers.region_population import planlaegningsomraade_population
    except ImportError:
        pytest.skip("layers.region_population not available")
    areas = planlaegningsomraade_population(any_data)
    r = area_catchment_fca(areas, "kapacitet_sp51", population_column="population")
    got = r.by_area.set_index("area_name")["borgere_pr_kapacitet"]
    want = areas.set_index("navn")["borgere_pr_kapacitet_sp51"]
    assert len(want) == 37
    # population is kapacitet × ratio rounded to whole people, so the ratio comes back within 0.5/kapacitet
    assert (got.round().astype(int) == want.loc[got.index].astype(int)).all()
    pd.testing.assert_series_equal(got.round(), want.loc[got.index].astype(float), check_names=False)


def test_borgere_pr_kapacitet_from_the_default_grid(any_data):
    """Spread over a grid, each area's population comes back to within the cells straddling its
    boundary (cells go to the area holding their centre): within 5 % of Tabel 3 per area at 100 m,
    and region-wide within 1 %."""
    try:
        from kkr_geo.layers.region_population import planlaegningsomraade_population
    except ImportError:
        pytest.skip("layers.region_population not available")
    areas = planlaegningsomraade_population(any_data)
    grid = PopulationGrid.from_polygons(areas, "population", cell_size=100, precision="approximate")
    assert grid.total() == pytest.approx(areas["population"].sum())
    r = area_catchment_fca(areas, "kapacitet_sp51", grid=grid)
    got = r.by_area.set_index("area_name")["borgere_pr_kapacitet"]
    want = areas.set_index("navn")["borgere_pr_kapacitet_sp51"].astype(float)
    assert ((got / want.loc[got.index] - 1).abs() < 0.05).all()
    assert r.meta["population_precision"] == "approximate"


def test_network_2sfca_matches_the_toy_along_a_street(grid):
    """The same toy on a street running along the demand cells: route = straight distance."""
    from kkr_geo.geo.distance import StreetNetwork
    street = gpd.GeoDataFrame(geometry=[shapely.LineString([(X0 - 500, CY), (X0 + 2000, CY)])], crs=25832)
    net = StreetNetwork.from_edges(street, densify_m=10)
    r = two_step_fca(TOY, "kapacitet", grid, 600, network=net)
    assert r.cells[0, 0] == pytest.approx(150) and r.cells[0, 10] == pytest.approx(250)
    assert r.meta["distance_method"] == "network shortest path"
