"""Real cycle superhighways, the real 150S, and all 33 mobility projects: checked against the source files."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from kkr_geo.layers.registry import load_layer
from kkr_geo.maps.sources import Sources
from tests.conftest import writable_subdir


@pytest.fixture(scope="module")
def projects(real_data):
    return Sources(real_data).get("mobilitetsprojekter")


# ---------------------------------------------------------------------------------------- 33 projects
def test_all_33_projects_none_dropped(projects, real_data):
    raw = pd.read_csv(real_data.file("mobilitet/mobilitetsanalyse_33_projekter.csv"), sep=";", dtype=str)
    assert len(projects) == len(raw) == 33
    assert sorted(projects["nr"]) == list(range(1, 34))
    assert list(projects["navn"]) == list(raw["navn"])                     # text as published
    assert set(projects["geometri"]) <= {"linje", "punkt", "ingen"}
    none = projects[projects["geometri"] == "ingen"]
    assert none.geometry.isna().all() and none["stedfaestelse"].str.startswith("ikke stedfæstet").all()
    lines = load_layer("mobilitetsprojekter_linjer", real_data)
    points = load_layer("mobilitetsprojekter_punkter", real_data)
    assert len(lines) + len(points) + len(none) == 33


def test_figures_parsed_where_unambiguous(projects):
    p = projects.set_index("nr")
    assert p.loc[1, "anlaeg_mio_kr"] == 3600                 # 'Ca. 3,6 mia. kr.'
    assert p.loc[6, "anlaeg_mio_kr"] == 70                   # 'Ca. 70 mio. kr.'
    assert p.loc[1, "flere_passagerer_dogn"] == 7000 and p.loc[1, "flere_passagerer_pct"] == 20
    assert p.loc[1, "passagerpotentiale_dogn"] == 42000
    assert (p.loc[7, "co2_anlaeg_t_min"], p.loc[7, "co2_anlaeg_t_max"]) == (650_000, 1_000_000)  # '650.000-1.000.000 t.'
    assert (p.loc[2, "co2_anlaeg_t_min"], p.loc[2, "co2_anlaeg_t_max"]) == (20_000, 30_000)      # '20-30.000 t.'
    assert p.loc[1, "co2_anlaeg_t_max"] == 25_000                                                # '25.000 t.'
    assert p.loc[12, "rejsetid_reduktion_pct"] == 60 and p.loc[12, "passagerer_dogn"] == 18000
    # two figures of a kind (one per town / line): not parsed, text kept
    assert pd.isna(p.loc[6, "flere_passagerer_dogn"]) and pd.isna(p.loc[6, "passagerpotentiale_dogn"])
    assert "+300 (3 %)" in p.loc[6, "passagerer_tekst"]
    assert pd.isna(p.loc[10, "flere_passagerer_dogn"])
    assert pd.isna(p.loc[26, "anlaeg_mio_kr"]) and p.loc[26, "anlaeg_tekst"].startswith("Kendes ikke")


def test_placement_is_honest(projects, real_data):
    p = projects.set_index("nr")
    gtfs = real_data.has("brt/150s_gtfs_shape.geojson")  # never shipped: the embedded default draws 150S schematic
    assert p.loc[3, "precision"] == ("real (Rejseplanen GTFS)" if gtfs else "schematic")   # BRT 150S
    brt = load_layer("brt", real_data).set_index("projekt")
    assert p.loc[3, "geometry"].equals(brt.loc["150s", "geometry"])
    # on existing rail: along the OSM rail lines; a new line: straight between the named stations
    assert p.loc[1, "precision"] == "OSM-afledt (eksisterende bane)"
    assert p.loc[1, "geometry"].length > 1.2 * shapely.Point(p.loc[1, "geometry"].coords[0]).distance(
        shapely.Point(p.loc[1, "geometry"].coords[-1]))                       # Kystbanen follows the coast
    assert p.loc[11, "precision"] == "schematic" and len(p.loc[11, "geometry"].coords) == 2
    # Hvidovre Hospital is not in the gazetteer: no half line to København Syd
    assert p.loc[12, "geometri"] == "ingen" and "Hvidovre Hospital" in p.loc[12, "stedfaestelse"]
    assert p.loc[24, "geometri"] == "punkt" and "2 af 7" in p.loc[24, "stedfaestelse"]


def test_overview_table_and_html_list_all_33(real_data, tmp_path):
    from kkr_geo.maps.interactive import render_html
    from kkr_geo.maps.prepare import prepare
    from kkr_geo.maps.spec import load_specs
    spec = load_specs(only=["mobilitetsprojekter_oversigt"])[0]
    pm = prepare(spec, Sources(real_data))
    assert len(pm.table.rows) == 33
    assert [r[0] for r in pm.table.rows] == [str(i) for i in range(1, 34)]
    assert sum(r[-1] == "ingen" for r in pm.table.rows) == 15
    out = tmp_path / "o.html"
    render_html(pm, out, tiles=False)
    page = out.read_text(encoding="utf-8")
    assert "(33 rækker)" in page and "Takstreform i den kollektive trafik" in page
    # every project type of the issue has a legend entry on the map
    labels = [lay.label for lay in pm.layers]
    for t in ("Tog", "Metro", "BRT", "Lokalbane", "Parkér og rejs", "Cykel", "Vej"):
        assert any(lab.startswith(t) for lab in labels), t


# ---------------------------------------------------------------------------------------------- 150S
def test_150s_follows_gtfs_and_passes_its_stops(dev_data):
    brt = load_layer("brt", dev_data)
    row = brt[brt["projekt"] == "150s"].iloc[0]
    assert row["precision"] == "real (Rejseplanen GTFS)"
    assert (brt[brt["projekt"] != "150s"]["precision"] == "schematic").all()   # the others stay schematic
    assert row.geometry.length == pytest.approx(30_700, abs=200)
    stops = load_layer("brt_stops", dev_data)
    stops = stops[(stops["projekt"] == "150s") & (stops["kind"] == "bus_node")]
    assert len(stops) == 12
    d = dict(zip(stops["navn"], stops.geometry.distance(row.geometry)))
    far = {n: round(v) for n, v in d.items() if v > 30}
    # 11 of the 12 bus stops lie within 30 m. Ryparken St. (Lyngbyvej) is 58 m off: the gazetteer's stop is
    # one stop of a pair and the route passes on a parallel road (both within 4 m of the road network).
    assert far == {"Ryparken St. (Lyngbyvej)": 58}


def test_user_brt_file_keeps_precedence_over_gtfs(data_copy):
    root = data_copy()
    d = writable_subdir(root, "brt")
    line = shapely.LineString([(724000, 6177000), (719000, 6200000)])
    gpd.GeoDataFrame({"projekt": ["150s"]}, geometry=[line], crs=25832).to_file(d / "brt_linjer.gpkg")
    brt = load_layer("brt", root)
    row = brt[brt["projekt"] == "150s"].iloc[0]
    assert row["precision"] == "real" and row.geometry.equals_exact(line, 1e-6)


# ----------------------------------------------------------------------------------- cycle superhighways
def test_supercykelstier_real_network_without_invented_names(real_data):
    g = load_layer("supercykelstier", real_data)
    assert len(g) == 56 and g.attrs["precision"] == "real" and g.attrs["status"] == "ok"
    assert g.geometry.length.sum() / 1000 == pytest.approx(167.3, abs=0.2)
    assert (g["rute"] == "").all()
    assert "CC BY 4.0" in g.attrs["source"] and "Københavns Kommune" in g.attrs["source"]
    assert any("Farum-Allerødruten: not matched" in n for n in g.attrs["notes"])


def test_route_matched_only_by_both_ends(real_data):
    from kkr_geo.layers._common import Gazetteer
    from kkr_geo.layers.supercykelstier import match_routes
    gaz = Gazetteer(real_data.file("gazetteer/gazetteer.csv"))
    farum, _ = gaz.points([("Farum", "s_station")])
    alleroed, _ = gaz.points([("Allerød", "s_station")])
    a, b = farum.geometry.iloc[0], alleroed.geometry.iloc[0]
    lines = gpd.GeoDataFrame({"rute": ["", ""]}, crs=25832, geometry=[
        shapely.LineString([(a.x + 200, a.y), (b.x, b.y - 300)]),          # both ends near the route's ends
        shapely.LineString([(a.x + 200, a.y), (a.x + 5000, a.y + 5000)])])  # only one end
    table = pd.DataFrame({"route_name": ["Farum-Allerødruten"], "from": ["Farum"], "to": ["Allerød (Lillerød)"]})
    out, notes = match_routes(lines, table, real_data)
    assert list(out["rute"]) == ["Farum-Allerødruten", ""]
    assert "both ends within 1000 m" in notes[0]


def test_cycle_catchment_per_kommune_adds_up(real_data):
    s = Sources(real_data)
    res = s.result("supercykelstier_opland")
    main = res.table.set_index("band")["population"]
    k = s.get("supercykelstier_kommuner")
    by = res.tables["pr_omraade"]
    outside = by[(by["area_type"] == "kommune") & ~by["area_name"].isin(set(k["navn"]))].groupby("band")["population"].sum()
    out1 = float(outside.get(main.index[0], 0.0))
    # per kommune (rounded) + anything outside every kommune polygon (reported) = the network's catchment
    assert k["inden_1km"].sum() + out1 == pytest.approx(main.iloc[0], abs=30)
    assert k["inden_2km"].sum() + outside.sum() == pytest.approx(main.sum(), abs=30)
    assert outside.sum() < 0.01 * main.sum()
    assert (outside.sum() > 0.5) == any("outside every kommune" in n for n in k.attrs["notes"])
    # the kommune totals are the surface summed by area share: they add up to the surface's total
    assert k["befolkning_i_alt"].sum() == pytest.approx(s.grid().total(), abs=30)
    assert (k["inden_2km"] >= k["inden_1km"]).all()
    assert (k["andel_1km_pct"].between(0, 100)).all()
    fb = k.set_index("navn").loc["Frederiksberg"]                            # a small kommune crossed by routes
    assert fb["andel_2km_pct"] == round(100 * fb["inden_2km"] / fb["befolkning_i_alt"], 1) > 90
    assert k.set_index("navn").loc["Gribskov", "inden_2km"] == 0
