"""Issue 20: detour factors per kommune (measured, written as a Danish CSV, applied per cell) and the
network answer's own check. Every expected number is counted or derived by hand in the comments."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine

from kkr_geo.geo.access import two_step_fca
from kkr_geo.geo.catchment import corridor_catchment
from kkr_geo.geo.coverage import coverage_gaps
from kkr_geo.geo.detour import (
    COLUMNS,
    AreaDetourFactors,
    measure_detour_factors,
    read_detour_csv,
    write_detour_csv,
)
from kkr_geo.geo.errors import InputError
from kkr_geo.geo.network_build import build_street_network
from kkr_geo.geo.network_check import ratio_check
from kkr_geo.geo.population import PopulationGrid

X0, Y0 = 700_000.0, 6_170_000.0
FAC = (X0 + 450, Y0 + 950)  # the centre of the cell in column 4 of the top row


@pytest.fixture
def grid():
    # 10 × 10 cells of 100 m, one inhabitant each
    return PopulationGrid(np.ones((10, 10)), Affine(100, 0, X0, 0, -100, Y0 + 1000), source="toy", precision="exact")


def _two_kommuner(west: float, east: float) -> AreaDetourFactors:
    areas = gpd.GeoDataFrame({"kommunekode": ["0001", "0002"], "navn": ["Vest", "Øst"]},
                             geometry=[shapely.box(X0, Y0, X0 + 500, Y0 + 1000),
                                       shapely.box(X0 + 500, Y0, X0 + 1000, Y0 + 1000)], crs=25832)
    return AreaDetourFactors(areas=areas, factors=np.array([west, east]), default=1.3, names=["Vest", "Øst"])


def _pts(*xy, **cols):
    return gpd.GeoDataFrame(cols, geometry=[shapely.Point(x, y) for x, y in xy], crs=25832)


def _brute_force(grid, factors: AreaDetourFactors) -> np.ndarray:
    """Plain numpy: straight line from every cell centre to the facility × its column's factor."""
    xy = grid.cell_xy()
    f = np.where(xy[:, 0] < X0 + 500, factors.factors[0], factors.factors[1])
    return np.hypot(xy[:, 0] - FAC[0], xy[:, 1] - FAC[1]) * f


def test_coverage_applies_each_cells_own_kommune_factor(grid):
    # in cell units (100 m) from the facility's cell: dc = column − 4, dr = row.
    # West (columns 0–4, factor 1.0), 300 m: dc² + dr² ≤ 9 → dc 0: 4, −1: 3, −2: 3, −3: 1 = 11 cells.
    # East (columns 5–9, factor 1.5), 150·√(dc² + dr²) ≤ 300 → dc² + dr² ≤ 4 → dc 1: 2, dc 2: 1 = 3 cells.
    factors = _two_kommuner(1.0, 1.5)
    r = coverage_gaps(_pts(FAC), grid, 300, detour_factor=factors)
    total = r.table.iloc[0]
    assert total["population"] - total["population_beyond"] == 14
    assert r.cell_distance == pytest.approx(_brute_force(grid, factors))
    # with one factor 1.0 everywhere the east would add dc 1: 3, dc 2: 3, dc 3: 1 → 18
    plain = coverage_gaps(_pts(FAC), grid, 300, detour_factor=1.0).table.iloc[0]
    assert plain["population"] - plain["population_beyond"] == 18
    assert r.meta["distance_method"] == "euclidean × detour factor per area (median 1.30)"
    assert r.meta["detour_factors"] == {"Vest": 1.0, "Øst": 1.5}


def test_catchment_bands_each_factor_group_exactly(grid):
    # 0–200 m: West dc² + dr² ≤ 4 → dc 0: 3, −1: 2, −2: 1 = 6; East 150·√(…) ≤ 200 → dc² + dr² ≤ 1.78 → 1. = 7
    # 0–300 m: 14 (above), so the ring 200–300 m holds 7; areas are the cells reached (0.01 km² each)
    res = corridor_catchment(_pts(FAC), grid, (200, 300), detour_factor=_two_kommuner(1.0, 1.5))
    assert res.table["population"].tolist() == [7, 7]
    assert res.table["area_km2"].tolist() == pytest.approx([0.07, 0.07])
    assert res.meta["area_method"] == "area of the cells reached"
    # the same band rule as the brute force, cell by cell
    d = _brute_force(grid, _two_kommuner(1.0, 1.5))
    assert (d <= 200).sum() == 7 and ((d > 200) & (d <= 300)).sum() == 7


def test_one_factor_everywhere_equals_the_scalar(grid):
    areas = gpd.GeoDataFrame({"kommunekode": ["0001"], "navn": ["Alt"]},
                             geometry=[shapely.box(X0, Y0, X0 + 1000, Y0 + 1000)], crs=25832)
    one = AreaDetourFactors(areas=areas, factors=np.array([1.3]), default=1.3, names=["Alt"])
    for dists in ((200, 300), (400, 800)):
        a = corridor_catchment(_pts(FAC), grid, dists, detour_factor=one).table["population"].tolist()
        b = corridor_catchment(_pts(FAC), grid, dists, detour_factor=1.3).table["population"].tolist()
        assert a == b
    a = coverage_gaps(_pts(FAC), grid, 500, detour_factor=one).table.iloc[0]["population_beyond"]
    assert a == coverage_gaps(_pts(FAC), grid, 500, detour_factor=1.3).table.iloc[0]["population_beyond"]


def test_2sfca_pairs_use_each_cells_factor(grid):
    # 300 m step catchment: the 14 cells counted above are the facility's demand
    res = two_step_fca(_pts(FAC, kap=[14.0]), "kap", grid, 300, decay="step", detour_factor=_two_kommuner(1.0, 1.5))
    assert res.facilities["demand_population"].iloc[0] == pytest.approx(14)


def test_detour_csv_is_danish_and_reads_back(tmp_path):
    t = pd.DataFrame({"kommunekode": ["101", "0147"], "kommune": ["København", "Frederiksberg"],
                      "omvejsfaktor_median": [1.3174, np.nan], "omvejsfaktor_p90": [1.7291, np.nan],
                      "antal_par": [298, 0]})
    p = tmp_path / "f.csv"
    write_detour_csv(t, p)
    assert p.read_text(encoding="utf-8").splitlines() == [
        "kommunekode;kommune;omvejsfaktor_median;omvejsfaktor_p90;antal_par",
        "0101;København;1,317;1,729;298",
        "0147;Frederiksberg;;;0"]
    back = read_detour_csv(p)
    assert list(back.columns) == COLUMNS and back["omvejsfaktor_median"].iloc[0] == pytest.approx(1.317)
    p.write_text("kommunekode;kommune;omvejsfaktor_median;omvejsfaktor_p90;antal_par\n0101;K;1.25;1.5;10\n"
                 "0147;F;hurtig;1,5;10\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 3: omvejsfaktor_median 'hurtig'"):
        read_detour_csv(p)


def test_measured_factor_on_a_street_beside_a_row_of_cells():
    # one street along y = Y0; cells of one row with centres at (X0 + 50 + 100 i, Y0 + 50); a station
    # at the street's west end. Cell i: network = 50 (leg) + (50 + 100 i) along = 100 + 100 i;
    # straight = √((50 + 100 i)² + 50²). Cells nearer than 200 m (i = 0, 1) are left out: 8 pairs.
    grid = PopulationGrid(np.ones((1, 10)), Affine(100, 0, X0, 0, -100, Y0 + 100), source="row", precision="exact")
    net = build_street_network([shapely.LineString([(X0, Y0), (X0 + 1000, Y0)])], densify_m=None,
                               min_component_nodes=0)
    areas = gpd.GeoDataFrame({"kommunekode": ["0001"], "navn": ["Række"]},
                             geometry=[shapely.box(X0, Y0 - 10, X0 + 1000, Y0 + 100)], crs=25832)
    t = measure_detour_factors(net, areas, grid, np.array([[X0, Y0]]))
    i = np.arange(2, 10)
    ratio = (100 + 100 * i) / np.hypot(50 + 100 * i, 50)
    assert t["antal_par"].iloc[0] == 8
    assert t["omvejsfaktor_median"].iloc[0] == pytest.approx(np.median(ratio))
    assert t["omvejsfaktor_p90"].iloc[0] == pytest.approx(np.percentile(ratio, 90))
    assert t["kommunekode"].iloc[0] == "0001"


def test_measured_factor_on_a_street_grid_is_exactly_manhattan_over_straight():
    # 10 × 10 cells of 100 m (the `grid` fixture's layout, one inhabitant each) and a street along every row
    # and column of cell centres: every centre is a junction (leg 0), so from the station at the centre of
    # the bottom-left cell, cell (c, r) (column c, row r counted from the bottom) is 100 (c + r) away on the
    # network and 100 √(c² + r²) in a straight line.
    #   Diagonal (cells c = r): 200 c / (141.4 c) = √2 exactly; c = 1 (141 m) is nearer than 200 m → c = 2–9: 8.
    #   Bottom row (cells r = 0, c ≥ 1): 100 c / 100 c = 1 exactly; c = 1 (100 m) too near → c = 2–9: 8.
    #   An area with no cells: no pairs, no factor.
    # With max_m = 500: diagonal 141.4 c ≤ 500 → c = 2, 3 (2 pairs); row 100 c ≤ 500 → c = 2–5 (4 pairs).
    grid = PopulationGrid(np.ones((10, 10)), Affine(100, 0, X0, 0, -100, Y0 + 1000), source="toy", precision="exact")
    centres = X0 + 50 + 100 * np.arange(10), Y0 + 50 + 100 * np.arange(10)
    streets = ([shapely.LineString([(X0 + 50, y), (X0 + 950, y)]) for y in centres[1]]
               + [shapely.LineString([(x, Y0 + 50), (x, Y0 + 950)]) for x in centres[0]])
    net = build_street_network(streets, densify_m=None, min_component_nodes=0)
    areas = gpd.GeoDataFrame({"kommunekode": ["0001", "0002", "0003"], "navn": ["Diagonal", "Række", "Tom"]},
                             geometry=[shapely.LineString([(X0 + 50, Y0 + 50), (X0 + 950, Y0 + 950)]).buffer(10),
                                       shapely.box(X0 + 100, Y0, X0 + 1000, Y0 + 100),
                                       shapely.box(X0 + 5000, Y0, X0 + 6000, Y0 + 1000)], crs=25832)
    station = np.array([[X0 + 50, Y0 + 50]])
    t = measure_detour_factors(net, areas, grid, station).set_index("kommune")
    assert list(t.columns) == [c for c in COLUMNS if c != "kommune"]
    assert t["antal_par"].tolist() == [8, 8, 0]
    assert t.loc["Diagonal", "omvejsfaktor_median"] == pytest.approx(np.sqrt(2))
    assert t.loc["Diagonal", "omvejsfaktor_p90"] == pytest.approx(np.sqrt(2))
    assert t.loc["Række", "omvejsfaktor_median"] == pytest.approx(1.0)
    assert t.loc["Række", "omvejsfaktor_p90"] == pytest.approx(1.0)
    assert np.isnan(t.loc["Tom", "omvejsfaktor_median"]) and np.isnan(t.loc["Tom", "omvejsfaktor_p90"])
    near = measure_detour_factors(net, areas, grid, station, max_m=500)
    assert near["antal_par"].tolist() == [2, 4, 0]
    assert near["omvejsfaktor_median"].iloc[:2].tolist() == pytest.approx([np.sqrt(2), 1.0])
    with pytest.raises(InputError, match="no facilities"):
        measure_detour_factors(net, areas, grid, np.empty((0, 2)))
    with pytest.raises(InputError, match="no column 'navn'"):
        measure_detour_factors(net, areas.drop(columns="navn"), grid, station)


def test_the_ratio_check_reports_an_implausible_area():
    # area A: 20 cells at 260 / 200 = 1.3; area B: 20 cells at 400 / 200 = 2.0; one cell too near (150 m)
    d_net = np.r_[np.full(20, 260.0), np.full(20, 400.0), 200.0]
    d_straight = np.r_[np.full(40, 200.0), 150.0]
    lab = np.r_[np.zeros(20, int), np.ones(20, int), 0]
    check, notes = ratio_check(d_net, d_straight, {"kommune": (["A", "B"], lab)})
    assert check["kommune"]["A"] == {"median": 1.3, "p90": 1.3, "cells": 20}
    assert check["kommune"]["B"]["median"] == 2.0
    assert check["overall"]["median"] == pytest.approx(1.65)
    assert len(notes) == 1 and "B" in notes[0] and "2,00" in notes[0] and "1,05–1,60" in notes[0]
