"""Corridor catchments against hand-derived areas: density × πr² for a stop, 2rL + πr² for a line.

Tolerance: population is counted over cells whose centre lies inside the buffer, so with 10 m
cells the relative sampling error for a 300–800 m buffer is well under 0.5 %; buffer polygons use
64 segments per circle, so exact polygon areas are within 0.2 % of πr².
"""

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from kkr_geo.geo.catchment import band_label, corridor_catchment
from kkr_geo.geo.distance import StreetNetwork
from kkr_geo.geo.errors import InputError
from kkr_geo.geo.population import PopulationGrid

X0, Y0 = 700_000.0, 6_170_000.0
DENSITY = 0.01  # people per m² = 1 person per 10 m cell
TOL = 0.005


@pytest.fixture(scope="module")
def grid():
    # 4 km × 4 km of 10 m cells, one person each
    return PopulationGrid(np.full((400, 400), 1.0), Affine(10, 0, X0, 0, -10, Y0 + 4000), source="uniform", precision="exact")


def _pts(*xy, **cols):
    return gpd.GeoDataFrame(cols, geometry=[shapely.Point(x, y) for x, y in xy], crs=25832)


def _lines(*lines, **cols):
    return gpd.GeoDataFrame(cols, geometry=[shapely.LineString(c) for c in lines], crs=25832)


def test_stop_buffer_is_density_times_pi_r2(grid):
    r = corridor_catchment(_pts((X0 + 2000, Y0 + 2000)), grid, distances=(400, 800), detour_factor=1.0)
    t = r.table
    assert list(t["band"]) == ["0–400 m", "400–800 m"]
    assert t["population"][0] == pytest.approx(DENSITY * math.pi * 400**2, rel=TOL)
    assert t["population"][1] == pytest.approx(DENSITY * math.pi * (800**2 - 400**2), rel=TOL)
    assert t["area_km2"][0] == pytest.approx(math.pi * 0.4**2, rel=0.002)
    assert r.meta["distance_method"].startswith("euclidean") and r.meta["detour_factor"] == 1.0
    assert r.meta["population_source"] == "uniform" and r.meta["population_precision"] == "exact"


def test_cumulative_bands(grid):
    r = corridor_catchment(_pts((X0 + 2000, Y0 + 2000)), grid, distances=(400, 800), mode="cumulative", detour_factor=1.0)
    assert list(r.table["band"]) == ["0–400 m", "0–800 m"]
    assert r.table["population"][1] == pytest.approx(DENSITY * math.pi * 800**2, rel=TOL)
    assert r.polygons.area.iloc[1] / 1e6 == pytest.approx(math.pi * 0.8**2, rel=0.002)


def test_line_corridor_is_2rL_plus_pi_r2(grid):
    L, rad = 2000.0, 300.0
    line = _lines([(X0 + 1000, Y0 + 2000), (X0 + 1000 + L, Y0 + 2000)])
    r = corridor_catchment(line, grid, distances=(rad,), detour_factor=1.0)
    expected_area = 2 * rad * L + math.pi * rad**2
    assert r.table["population"][0] == pytest.approx(DENSITY * expected_area, rel=TOL)
    assert r.table["area_km2"][0] == pytest.approx(expected_area / 1e6, rel=0.002)


def test_detour_factor_shrinks_the_radius(grid):
    r = corridor_catchment(_pts((X0 + 2000, Y0 + 2000)), grid, distances=(520,), detour_factor=1.3)
    # 520 m route at detour 1.3 = 400 m crow-flies
    assert r.table["population"][0] == pytest.approx(DENSITY * math.pi * 400**2, rel=TOL)
    assert "1.3" in r.meta["distance_method"]


def test_overlapping_corridors_are_counted_once(grid):
    a = [(X0 + 1000, Y0 + 2000), (X0 + 3000, Y0 + 2000)]
    b = [(X0 + 2000, Y0 + 2000), (X0 + 3000, Y0 + 2000)]  # lies on the first line
    stops = _pts((X0 + 1500, Y0 + 2000), (X0 + 2500, Y0 + 2000))  # on the line too
    feats = gpd.GeoDataFrame({"projekt": ["A", "B", "A", "A"]},
                             geometry=list(_lines(a, b).geometry) + list(stops.geometry), crs=25832)
    together = corridor_catchment(feats, grid, distances=(300,), detour_factor=1.0)
    expected = DENSITY * (2 * 300 * 2000 + math.pi * 300**2)
    assert together.table["population"][0] == pytest.approx(expected, rel=TOL)
    per = corridor_catchment(feats, grid, distances=(300,), by="projekt", detour_factor=1.0).table.set_index("feature")
    assert per.loc["A", "population"] == pytest.approx(expected, rel=TOL)
    assert per.loc["B", "population"] == pytest.approx(DENSITY * (2 * 300 * 1000 + math.pi * 300**2), rel=TOL)


def test_two_crossing_corridors_union(grid):
    # a cross of two 2 km lines: union area = 2 × (2rL + πr²) − overlap; overlap of the two
    # straight parts is a (2r)² square plus, at each of the 4 ends... lines end far away, so the
    # intersection of the two buffers is exactly the 2r × 2r square at the crossing.
    rad = 200.0
    h = [(X0 + 1000, Y0 + 2000), (X0 + 3000, Y0 + 2000)]
    v = [(X0 + 2000, Y0 + 1000), (X0 + 2000, Y0 + 3000)]
    r = corridor_catchment(_lines(h, v), grid, distances=(rad,), detour_factor=1.0)
    expected = 2 * (2 * rad * 2000 + math.pi * rad**2) - (2 * rad) ** 2
    assert r.table["area_km2"][0] == pytest.approx(expected / 1e6, rel=0.002)
    assert r.table["population"][0] == pytest.approx(DENSITY * expected, rel=TOL)


def test_breakdown_by_area(grid):
    west = shapely.box(X0, Y0, X0 + 2000, Y0 + 4000)
    east = shapely.box(X0 + 2000, Y0, X0 + 4000, Y0 + 4000)
    kom = gpd.GeoDataFrame({"navn": ["Vest", "Øst"]}, geometry=[west, east], crs=25832)
    r = corridor_catchment(_pts((X0 + 2000, Y0 + 2000)), grid, distances=(400,), areas={"kommune": kom}, detour_factor=1.0)
    ba = r.by_area.set_index("area_name")
    assert set(ba.index) == {"Vest", "Øst"}
    assert ba["population"].sum() == pytest.approx(r.table["population"][0])
    half = DENSITY * math.pi * 400**2 / 2
    assert ba.loc["Vest", "population"] == pytest.approx(half, rel=0.01)
    assert (ba["area_type"] == "kommune").all()


def test_feature_outside_grid_and_empty_grid(grid):
    far = _pts((X0 + 50_000, Y0))
    r = corridor_catchment(far, grid, distances=(400,), detour_factor=1.0)
    assert r.table["population"][0] == 0
    assert r.table["area_km2"][0] == pytest.approx(math.pi * 0.16, rel=0.002)
    e = corridor_catchment(_pts((X0, Y0)), PopulationGrid.empty(), distances=(400, 800))
    assert list(e.table["population"]) == [0, 0]


def test_bad_inputs(grid):
    with pytest.raises(InputError, match="positive"):
        corridor_catchment(_pts((X0, Y0)), grid, distances=(0,))
    with pytest.raises(InputError, match="rings"):
        corridor_catchment(_pts((X0, Y0)), grid, mode="both")
    with pytest.raises(InputError, match="no column"):
        corridor_catchment(_pts((X0, Y0)), grid, by="projekt")
    with pytest.raises(InputError, match="≥ 1"):
        corridor_catchment(_pts((X0, Y0)), grid, detour_factor=0.8)


def test_band_labels():
    assert band_label(0, 400) == "0–400 m"
    assert band_label(400, 800) == "400–800 m"
    assert band_label(2000, 3000) == "2–3 km"
    assert band_label(800, 2000) == "800 m–2 km"
    assert band_label(0, 2000) == "0–2 km"


def test_network_catchment_follows_the_street():
    # one 100 m-cell row along an east-west street; a stop at its west end.
    grid = PopulationGrid(np.ones((3, 20)), Affine(100, 0, X0, 0, -100, Y0 + 300))
    street = _lines([(X0, Y0 + 150), (X0 + 2000, Y0 + 150)])
    net = StreetNetwork.from_edges(street)
    stop = _pts((X0, Y0 + 150))
    r = corridor_catchment(stop, grid, distances=(400, 800), network=net)
    # middle row: centres at x = 50, 150, ... on the street; route = x.  Outer rows: + 100 m snap.
    # ≤ 400: middle row x ≤ 400 → 4 cells; outer rows x + 100 ≤ 400 → 3 cells each → 10
    # 400–800: middle 4 more (450..750), outer rows x ≤ 700 → 4 more each → 12
    assert list(r.table["population"]) == [10, 12]
    assert r.meta["distance_method"] == "network shortest path"
    assert r.table["area_km2"][0] == pytest.approx(10 * 0.01)
