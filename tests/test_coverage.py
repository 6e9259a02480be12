"""Coverage gaps on a 10 × 10 grid (100 m cells, one person each) with one facility in a corner.

Hand count: with the facility on the centre of the top-left cell, a cell i columns and j rows
away is at 100·√(i² + j²) m. Within 500 m (i² + j² ≤ 25) per column i = 0…5: 6, 5, 5, 5, 4, 1
cells → 26 cells; 74 people are beyond. West half (i ≤ 4): 25 within, 25 beyond; east half: 1
within, 49 beyond.
"""

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from kkr_geo.geo.coverage import coverage_gaps
from kkr_geo.geo.distance import StreetNetwork
from kkr_geo.geo.errors import InputError
from kkr_geo.geo.population import PopulationGrid

X0, Y0 = 700_000.0, 6_170_000.0


@pytest.fixture
def grid():
    return PopulationGrid(np.ones((10, 10)), Affine(100, 0, X0, 0, -100, Y0 + 1000), source="toy", precision="exact")


def _pts(*xy, **cols):
    return gpd.GeoDataFrame(cols, geometry=[shapely.Point(x, y) for x, y in xy], crs=25832)


CORNER = (X0 + 50, Y0 + 950)


def test_one_facility_in_a_corner(grid):
    r = coverage_gaps(_pts(CORNER), grid, 500, detour_factor=1.0)
    total = r.table.iloc[0]
    assert total["area_name"] == "I alt"
    assert total["population"] == 100 and total["population_beyond"] == 74
    assert total["share_beyond"] == pytest.approx(0.74)
    assert r.distance[0, 0] == 0
    assert r.distance[9, 9] == pytest.approx(900 * math.sqrt(2))
    assert r.distance[0, 5] == pytest.approx(500)  # exactly at the threshold: covered
    # the gap is one connected patch of 74 cells
    assert len(r.gaps) == 1
    g = r.gaps.iloc[0]
    assert g["population"] == 74 and g["area_km2"] == pytest.approx(0.74)
    assert g.geometry.area == pytest.approx(740_000)
    assert g["max_distance_m"] == pytest.approx(900 * math.sqrt(2))
    assert r.meta["distance_method"].startswith("euclidean")


def test_per_area_table(grid):
    west = shapely.box(X0, Y0, X0 + 500, Y0 + 1000)
    east = shapely.box(X0 + 500, Y0, X0 + 1000, Y0 + 1000)
    areas = gpd.GeoDataFrame({"navn": ["Vest", "Øst"]}, geometry=[west, east], crs=25832)
    r = coverage_gaps(_pts(CORNER), grid, 500, areas=areas, detour_factor=1.0)
    t = r.table.set_index("area_name")
    assert t.loc["Vest", "population_beyond"] == 25 and t.loc["Øst", "population_beyond"] == 49
    assert t.loc["Vest", "population"] == 50


def test_detour_factor(grid):
    # 650 m route at detour 1.3 = 500 m straight line: same 26 cells covered
    r = coverage_gaps(_pts(CORNER), grid, 650, detour_factor=1.3)
    assert r.table.iloc[0]["population_beyond"] == 74
    assert r.distance[0, 5] == pytest.approx(650)


def test_facility_outside_the_grid(grid):
    # 1 km west of the grid's west edge, level with the top row's centre
    r = coverage_gaps(_pts((X0 - 1000, Y0 + 950)), grid, 1000, detour_factor=1.0)
    assert r.distance[0, 0] == pytest.approx(1050)
    assert r.table.iloc[0]["population_beyond"] == 100


def test_no_facilities_and_empty_grid(grid):
    r = coverage_gaps(_pts(), grid, 500)
    assert r.table.iloc[0]["population_beyond"] == 100
    assert np.isinf(r.distance).all()
    assert "no facilities" in r.meta["note"]
    e = coverage_gaps(_pts(CORNER), PopulationGrid.empty(), 500)
    assert e.table.iloc[0]["population"] == 0 and len(e.gaps) == 0


def test_unpopulated_cells_are_nan(grid):
    grid.values[5, 5] = 0
    r = coverage_gaps(_pts(CORNER), grid, 500, detour_factor=1.0)
    assert np.isnan(r.distance[5, 5]) and r.table.iloc[0]["population"] == 99


def test_bad_threshold(grid):
    with pytest.raises(InputError, match="positive"):
        coverage_gaps(_pts(CORNER), grid, -5)


# --- Bornholm: ~150 km east of Copenhagen -------------------------------------------------

CPH = (725_000.0, 6_175_000.0)
RONNE = (870_000.0, 6_125_000.0)


def _two_islands_grid():
    # two 1 × 1 cell populations: one in Copenhagen, one in Rønne
    pts = _pts((CPH[0] + 10, CPH[1] + 10), (RONNE[0] + 10, RONNE[1] + 10), n=[100, 50])
    return PopulationGrid.from_points(pts, "n", cell_size=100)


def test_bornholm_euclidean_is_plainly_correct():
    grid = _two_islands_grid()
    clinic_cph = _pts(CPH)
    r = coverage_gaps(clinic_cph, grid, 5000, detour_factor=1.0)
    c = grid.cell_centres()
    d = r.cell_distance[np.argmax(c.x)]  # the Rønne cell
    assert d == pytest.approx(math.hypot(RONNE[0] + 50 - CPH[0], RONNE[1] + 50 - CPH[1]))
    assert r.table.iloc[0]["population_beyond"] == 50


def test_bornholm_network_never_crosses_the_sea():
    grid = _two_islands_grid()
    streets = gpd.GeoDataFrame(geometry=[
        shapely.LineString([(CPH[0] - 1000, CPH[1] + 50), (CPH[0] + 1000, CPH[1] + 50)]),
        shapely.LineString([(RONNE[0] - 1000, RONNE[1] + 50), (RONNE[0] + 1000, RONNE[1] + 50)]),
    ], crs=25832)
    net = StreetNetwork.from_edges(streets)
    # only a Copenhagen clinic: the Rønne cell is unreachable, not 150 km away
    r = coverage_gaps(_pts(CPH), grid, 5000, network=net)
    c = grid.cell_centres()
    ronne = np.argmax(c.x)
    assert np.isinf(r.cell_distance[ronne])
    assert r.meta["unreachable_population"] == 50
    assert r.meta["distance_method"] == "network shortest path"
    assert r.gaps.iloc[0]["reachable"] == False  # noqa: E712  (numpy bool)
    # a clinic on Bornholm 500 m east of Rønne's cell along the street serves it; Copenhagen's cell
    # still uses its own clinic and never the Bornholm one
    r2 = coverage_gaps(_pts(CPH, (RONNE[0] + 550, RONNE[1] + 50)), grid, 5000, network=net)
    assert r2.cell_distance[ronne] == pytest.approx(500, abs=1)
    assert r2.cell_distance[1 - ronne] == pytest.approx(r.cell_distance[1 - ronne])
    assert r2.table.iloc[0]["population_beyond"] == 0


def test_gap_polygons_with_a_hole_and_single_cells():
    # 7 × 7 cells of 100 m; a facility on the centre cell with a 142 m threshold covers the 3 × 3
    # block around it (neighbours at 100 m, diagonals at 141.4 m): the gap is a ring of 40 cells.
    grid = PopulationGrid(np.ones((7, 7)), Affine(100, 0, X0, 0, -100, Y0 + 700))
    r = coverage_gaps(_pts((X0 + 350, Y0 + 350)), grid, 142, detour_factor=1.0)
    assert r.table.iloc[0]["population_beyond"] == 49 - 9
    assert len(r.gaps) == 1
    g = r.gaps.iloc[0].geometry
    assert len(g.interiors) == 1 and g.area == pytest.approx(40 * 10_000)
    # isolated populated cells become one-cell gap polygons each
    v = np.zeros((5, 5))
    v[0, 0] = v[4, 4] = v[0, 4] = 3
    sparse = PopulationGrid(v, Affine(100, 0, X0, 0, -100, Y0 + 500))
    r2 = coverage_gaps(_pts((X0 + 250, Y0 + 250)), sparse, 100, detour_factor=1.0)  # all corners ≈ 283 m away
    assert len(r2.gaps) == 3 and list(r2.gaps["population"]) == [3, 3, 3]
    assert np.allclose(r2.gaps.area, 10_000)
