"""``kkr_geo.layers.analyses.access`` and ``access_by_planning_area``: the 2SFCA floor the CLI and the API call.

Toy worked by hand (one row of four 100 m cells, straight-line distance, catchment 120 m, step decay):
cells c0..c3 with centres at x = 50, 150, 250, 350 and 100, 200, 300, 400 inhabitants;
facility A (capacity 6) at c0 reaches c0, c1 (0 and 100 m): demand 300, R_A = 6/300 = 0.02 (200 per 10,000);
facility B (capacity 9) at c2 reaches c1, c2, c3 (100, 0, 100 m): demand 900, R_B = 9/900 = 0.01 (100 per 10,000).
Access per cell: c0 = 0.02, c1 = 0.02 + 0.01 = 0.03, c2 = c3 = 0.01 → 200, 300, 100, 100 per 10,000.
Total: 100·0.02 + 200·0.03 + 300·0.01 + 400·0.01 = 15 = 6 + 9 capacity for 1,000 people → 150 per 10,000.
Areas Vest (c0, c1) and Øst (c2, c3): Vest 300 people, 2 + 6 = 8 capacity → 8/300 · 10,000 = 266.67 per 10,000,
borgere pr. kapacitet 300/8 = 37.5; Øst 700 people, 3 + 4 = 7 → 100 per 10,000, 100 borgere pr. kapacitet.
"""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine

from kkr_geo.geo.population import PopulationGrid
from kkr_geo.layers.analyses import AnalysisResult, access, access_by_planning_area

X0, Y0 = 700_000.0, 6_170_000.0


@pytest.fixture
def grid():
    return PopulationGrid(np.array([[100.0, 200.0, 300.0, 400.0]]), Affine(100, 0, X0, 0, -100, Y0 + 100),
                          source="toy", precision="exact")


FAC = gpd.GeoDataFrame({"navn": ["A", "B"], "kapacitet": [6.0, 9.0]},
                       geometry=[shapely.Point(X0 + 50, Y0 + 50), shapely.Point(X0 + 250, Y0 + 50)], crs=25832)
AREAS = gpd.GeoDataFrame({"navn": ["Vest", "Øst"]}, geometry=[shapely.box(X0, Y0, X0 + 200, Y0 + 100),
                                                              shapely.box(X0 + 200, Y0, X0 + 400, Y0 + 100)], crs=25832)


def test_access_by_hand(grid):
    res = access(FAC, grid, 120, capacity_column="kapacitet", areas={"område": AREAS}, detour_factor=1.0)
    assert isinstance(res, AnalysisResult) and res.name == "access"
    f = res.tables["facilities"].set_index("navn")
    assert list(f["demand_population"]) == [300, 900]
    assert list(f["ratio_per_10000"]) == pytest.approx([200, 100])
    assert list(f["borgere_pr_kapacitet"]) == pytest.approx([50, 100])
    t = res.table.set_index("area_name")
    assert t.iloc[0]["population"] == 1000 and t.iloc[0]["accessible_capacity"] == pytest.approx(15)
    assert t.iloc[0]["capacity_per_10000"] == pytest.approx(150)
    assert t.at["Vest", "capacity_per_10000"] == pytest.approx(8 / 300 * 10_000)
    assert t.at["Vest", "borgere_pr_kapacitet"] == pytest.approx(37.5)
    assert t.at["Øst", "capacity_per_10000"] == pytest.approx(100)
    assert t.at["Øst", "borgere_pr_kapacitet"] == pytest.approx(100)
    assert res.raw.cells[0] == pytest.approx([200, 300, 100, 100])  # the grid the command writes as a GeoTIFF
    assert res.meta["capacity_total"] == 15 and res.meta["catchment_m"] == 120


def test_access_layers_and_provenance(grid):
    res = access(FAC, grid, 120, capacity_column="kapacitet", areas={"område": AREAS}, detour_factor=1.0,
                 name="adgang", title="Adgang")
    assert list(res.layers) == ["område", "facilities"] and res.geometry is res.layers["facilities"]
    areas = res.layers["område"].set_index("navn")
    assert areas.geom_type.eq("Polygon").all() and areas.at["Vest", "borgere_pr_kapacitet"] == pytest.approx(37.5)
    fac = res.layers["facilities"].set_index("navn")
    assert list(fac["ratio_per_10000"]) == pytest.approx([200, 100]) and list(fac["capacity"]) == [6, 9]
    assert (res.table["analyse"] == "adgang").all() and (res.tables["facilities"]["analyse"] == "adgang").all()
    prov = res.provenance
    assert prov.layer == "adgang" and prov.title == "Adgang" and "toy" in prov.source and prov.precision == "exact"
    assert prov.map_notes[0].startswith("Adgang efter 2SFCA: kapacitet pr. 10.000 indbyggere inden for 120 m; luftlinje")
    for layer in res.layers.values():
        assert layer.attrs["map_notes"] == list(prov.map_notes)


def test_access_notes_capacity_nobody_reaches(grid):
    far = pd.concat([FAC, gpd.GeoDataFrame({"navn": ["C"], "kapacitet": [2.5]},
                                           geometry=[shapely.Point(X0 + 5_000, Y0)], crs=25832)], ignore_index=True)
    res = access(far, grid, 120, capacity_column="kapacitet", decay="gaussian", detour_factor=1.0)
    assert list(res.layers) == ["facilities"] and res.table["area_type"].tolist() == ["total"]
    assert res.meta["capacity_without_demand"] == 2.5
    notes = res.provenance.map_notes
    assert "gaussisk" in notes[0] and notes[1].startswith("2,5 kapacitetsenheder har ingen beboet celle inden for 120 m")


def test_region_access_is_access_on_the_region_defaults(grid, any_data):
    from kkr_geo import region_access
    res = region_access(FAC, 120, data_dir=any_data.path, grid=grid, areas=None, detour_factor=1.0,
                        capacity_column="kapacitet")
    assert res.table.iloc[0]["capacity_per_10000"] == pytest.approx(150)


def test_access_by_planning_area_is_the_practice_plans_figure(any_data):
    from kkr_geo.layers.region_population import planning_area_access
    res = access_by_planning_area(any_data.path)
    core = planning_area_access(any_data.path)
    pd.testing.assert_frame_equal(res.table, core.by_area)
    assert res.meta == core.meta and res.meta["speciale"] == 51
    assert list(res.layers) == ["omraader"] and res.geometry is res.layers["omraader"] and len(res.geometry) == 37
    assert (res.table["borgere_pr_kapacitet"].round() == res.table["tabel3_borgere_pr_kapacitet_sp51"]).all()
    assert "Tabel 3" in res.provenance.map_notes[0] and "Tabel 3" in res.provenance.source


def test_access_by_planning_area_speciale_from_the_capacity_column(real_data):
    res = access_by_planning_area(real_data.path, capacity_column="kapacitet_sp62", name="sp62")
    assert res.meta["speciale"] == 62 and "Tabel 4" in res.provenance.map_notes[0]
    assert (res.table["analyse"] == "sp62").all() and "analyse" not in res.geometry.columns


def test_the_method_note_names_a_population_raster_of_the_users_own(grid):
    # a surface without the region's provenance (a user's raster) is named, not described as the region's
    # planning areas spread evenly
    from kkr_geo.layers.analyses import method_note
    note = method_note({"detour_factor": 1.3}, grid)
    assert grid.provenance is None and f"befolkning: {grid.source}" in note
    assert "planlægningsområderne" not in note
