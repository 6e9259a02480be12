"""Every layer loads from the development data in EPSG:25832 with its documented schema and provenance."""

import geopandas as gpd
import pytest
import shapely

from conftest import writable_subdir

from kkr_geo.geo.errors import DataError, InputError
from kkr_geo.layers import LAYER_NAMES, available_layers, layer_info, load_layer

REGION_H = {"0101", "0147", "0151", "0153", "0155", "0157", "0159", "0161", "0163", "0165", "0167", "0169", "0173",
            "0175", "0183", "0185", "0187", "0190", "0201", "0210", "0217", "0219", "0223", "0230", "0240", "0250",
            "0260", "0270", "0400"}


def check_common(gdf: gpd.GeoDataFrame, name: str):
    assert gdf.crs.to_epsg() == 25832
    assert gdf.geometry.is_valid.all() and not gdf.geometry.is_empty.any()
    assert not gdf.geometry.has_z.any()
    for key in ("source", "precision", "status", "title", "notes"):
        assert key in gdf.attrs, key
    info = layer_info(name)
    undocumented = [c for c in gdf.columns if c != "geometry" and c not in info.schema]
    assert not undocumented, f"{name}: columns without schema entry: {undocumented}"


def test_kommuner(any_data):
    g = load_layer("kommuner", any_data)
    check_common(g, "kommuner")
    assert set(g["kommunekode"]) == REGION_H and len(g) == 29
    assert (g["region"] == "Region Hovedstaden").all()
    assert "0411" not in set(g["kommunekode"])  # Christiansø only on request
    kbh = g.set_index("navn").loc["København"]
    assert 80 < kbh["areal_km2"] <= 100 and kbh["befolkning"] > 600_000
    assert g["kommunekode"].str.fullmatch(r"\d{4}").all()


def test_kommuner_options(any_data):
    g = load_layer("kommuner", any_data, include_neighbours=["Køge", "0265"], include_christiansoe=True)
    assert {"0259", "0265", "0411"} <= set(g["kommunekode"]) and len(g) == 32
    assert set(g.loc[g["kommunekode"] == "0259", "region"]) == {"Region Sjælland"}
    with pytest.raises(InputError, match="Gotham"):
        load_layer("kommuner", any_data, include_neighbours=["Gotham"])


def test_planomraader_real_bydele(any_data):
    g = load_layer("planomraader", any_data)
    check_common(g, "planomraader")
    assert len(g) == 37 and set(g["planomraade"]) == {"Byen", "Midt", "Nord", "Syd", "Bornholm"}
    kbh = g[g["kommunekode"] == "0101"]
    assert sorted(kbh["navn"]) == sorted(["Bispebjerg", "Brønshøj-Husum", "Indre By", "Nørrebro", "Vanløse", "Østerbro",
                                          "Amager", "Valby", "Vesterbro"])
    assert (kbh["precision"] == "bydel").all()
    # the bydele tile København: their area is the municipality's to within its generalisation
    k = load_layer("kommuner", any_data).set_index("kommunekode").at["0101", "areal_km2"]
    assert kbh["areal_km2"].sum() == pytest.approx(k, rel=0.02)
    samlet = load_layer("planomraader_samlet", any_data)
    assert samlet["planomraade"].tolist() == ["Byen", "Midt", "Nord", "Syd", "Bornholm"]
    assert samlet["areal_km2"].sum() == pytest.approx(g["areal_km2"].sum(), rel=0.001)


def test_planomraader_postcode_fallback(data_copy):
    root = data_copy(exclude=("bydele/",))
    g = load_layer("planomraader", root)
    kbh = g[g["kommunekode"] == "0101"]
    assert len(kbh) == 9 and (kbh["precision"] == "postnummer-tilnærmet").all()
    assert "postnummer-tilnærmet" in g.attrs["precision"]
    assert any("approximated from postcodes" in n for n in g.attrs["notes"])
    assert g.geometry.is_valid.all()
    # no area is lost: the approximated bydele tile the DAGI municipality
    k = load_layer("kommuner", root).set_index("kommunekode").at["0101", "areal_km2"]
    assert kbh["areal_km2"].sum() == pytest.approx(k, rel=0.01)


def test_brt(real_data):
    g = load_layer("brt", real_data)
    check_common(g, "brt")
    assert set(g["projekt"]) == {"frederikssundsvej", "150s", "200s", "ring4"}
    # 150S follows the real route (Rejseplanen GTFS) when the data directory has it; the others stay schematic
    gtfs = real_data.has("brt/150s_gtfs_shape.geojson")
    prec = g.set_index("projekt")["precision"]
    assert (prec.drop("150s") == "schematic").all() and g.attrs["precision"].startswith("schematic")
    assert prec["150s"] == ("real (Rejseplanen GTFS)" if gtfs else "schematic")
    s150 = g.set_index("projekt").loc["150s"]
    assert s150["passagerpotentiale_dogn"] == 23000 and s150["flere_passagerer_dogn"] == 5000 and s150["anlaeg_mio_kr"] == 2500
    assert 20 < s150["laengde_km"] < 35
    # the card's missing stops are reported, and Hillerød/Helsingør get no invented corridor line
    assert any("Gladsaxe Trafikplads" in n for n in g.attrs["notes"])
    assert any("købstæderne" in n and "no corridor geometry" in n for n in g.attrs["notes"])
    stops = load_layer("brt_stops", real_data)
    check_common(stops, "brt_stops")
    assert set(stops.loc[stops["projekt"] == "koebstaeder", "navn"]) == {"Hillerød", "Helsingør"}


def test_brt_real_geometry_replaces_schematic(data_copy):
    import shapely

    root = data_copy()
    real = gpd.GeoDataFrame({"projekt": ["ring4"]}, geometry=[shapely.LineString([(700000, 6170000), (705000, 6185000)])], crs=25832)
    writable_subdir(root, "brt")  # the shared data may already hold brt/ (150s_gtfs_shape.geojson)
    real.to_file(root / "brt" / "brt_linjer.gpkg")
    g = load_layer("brt", root).set_index("projekt")
    gtfs = (root / "brt/150s_gtfs_shape.geojson").exists()
    assert g.at["ring4", "precision"] == "real"
    assert g.at["150s", "precision"] == ("real (Rejseplanen GTFS)" if gtfs else "schematic")
    assert g.at["frederikssundsvej", "precision"] == "schematic"
    assert g.at["ring4", "laengde_km"] == pytest.approx(15.81, abs=0.01)


def test_supercykelstier_without_geometry(data_copy):
    g = load_layer("supercykelstier", data_copy(exclude=("supercykelstier/eksisterende_kk_cykeldata",)))
    assert len(g) == 0 and g.attrs["status"] == "no_geometry"
    assert g.attrs["network"]["ruter_planlagt"] == 60 and g.attrs["network"]["km_planlagt"] == 850
    assert len(g.attrs["routes_table"]) >= 5


def test_parker_og_rejs(any_data):
    g = load_layer("parker_og_rejs", any_data)
    check_common(g, "parker_og_rejs")
    assert set(g["projekt"]) == {"koege_nord", "favrholm", "trekroner"}
    assert g.set_index("projekt").at["koege_nord", "flere_pladser"] == 2000
    assert any("Hvidovre Hospital" in n for n in g.attrs["notes"])  # missing coordinate reported, not guessed


def test_klinikker_from_csv(any_data, tmp_path):
    p = tmp_path / "klinikker.csv"
    p.write_text("navn;adresse;postnr;lat;lon;kapacitet_sp51;kapacitet_sp62\n"
                 "Fysio A;Nørrebrogade 1;2200;55,6890;12,5530;1,5;0,5\n"
                 "Fysio B;;2800;;;2;1\n"
                 "Fysio C;;9999;;;1;1\n", encoding="utf-8")
    g = load_layer("klinikker", any_data, path=p)
    check_common(g, "klinikker")
    assert g["navn"].tolist() == ["Fysio A", "Fysio B"]
    assert g["precision"].tolist() == ["koordinat", "postnummer"]
    assert g["kapacitet_sp51"].tolist() == [1.5, 2.0]
    assert any("line 4" in n and "9999" in n for n in g.attrs["notes"])
    # the postcode clinic sits inside postcode 2800's polygon
    post = gpd.read_file(any_data.file("dagi/postnumre.geojson")).to_crs(25832)
    assert post[post["POSTNR_TXT"] == "2800"].union_all().contains(g.geometry.iloc[1])


def test_klinikker_missing_gives_data_error(data_copy):
    with pytest.raises(DataError, match="klinikker"):
        load_layer("klinikker", data_copy(exclude=("klinikker/",)))


def test_available_layers_reports_skipped(data_copy):
    layers = available_layers(data_copy(exclude=("klinikker/",)))
    assert set(layers) | set(layers.skipped) == set(LAYER_NAMES)
    assert "klinikker" in layers.skipped


def test_missing_dagi_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KKR_GEO_BUNDLE", "0")
    with pytest.raises(DataError, match="dagi/kommuner.geojson"):
        load_layer("kommuner", tmp_path)


def test_klinik_in_grouped_central_postcode(any_data, tmp_path):
    # DAGI groups central Copenhagen as "1000-1499"; a clinic with postnr 1150 lands in that polygon
    p = tmp_path / "k.csv"
    p.write_text("navn,postnr,kapacitet_sp51\nIndre Fysio,1150,\"2,5\"\n", encoding="utf-8")
    g = load_layer("klinikker", any_data, path=p)
    assert len(g) == 1 and g["precision"].iloc[0] == "postnummer"
    post = gpd.read_file(any_data.file("dagi/postnumre.geojson")).to_crs(25832)
    assert post[post["POSTNR_TXT"] == "1000-1499"].union_all().contains(g.geometry.iloc[0])


def test_stationer(real_data):
    g = load_layer("stationer", real_data)
    check_common(g, "stationer")
    assert set(g["stationstype"]) == {"S-tog", "Metro", "Regional- og kysttog", "Lokaltog"}
    assert (g["stationstype"] == "S-tog").sum() == 87 and (g["stationstype"] == "Metro").sum() == 44


def test_station_coverage_source(any_data):
    from kkr_geo.layers.region_population import planlaegningsomraade_population
    from kkr_geo.maps.sources import STATION_GAP_THRESHOLD_M, Sources

    src = Sources(any_data)
    gaps = src.get("station_daekningshuller")
    table = src.tables["station_daekningshuller"]
    total = table[table["area_name"] == "I alt"].iloc[0]
    # the Tabel 3 population, all counted (1,925,218 in the development data)
    assert total["population"] == pytest.approx(planlaegningsomraade_population(any_data)["population"].sum(), rel=1e-6)
    assert 0 < total["population_beyond"] < total["population"]
    assert gaps["population"].sum() == pytest.approx(total["population_beyond"], rel=1e-6)
    st = load_layer("stationer", any_data)
    meta = src.table_meta["station_daekningshuller"]
    if meta["detour_factor"]:
        # no gap polygon comes within the threshold (straight line / detour factor) of a station; with a factor
        # per kommune, the largest factor gives the shortest straight-line reach
        factors = meta.get("detour_factors") or {}
        largest = max([float(meta["detour_factor"]), *(float(f) for f in factors.values())])
        reach = STATION_GAP_THRESHOLD_M / largest
        assert gaps.distance(st.union_all()).min() > reach - 100  # cells are 100 m: their edges may come one cell closer
    else:
        # a route is never shorter than the straight line: every cell farther than the threshold in a
        # straight line is a gap, so the gaps hold at least those cells' inhabitants
        assert meta["distance_method"] == "network shortest path"
        c = src._grid().cell_centres()
        d = shapely.distance(shapely.points(c.xy), st.union_all())
        assert total["population_beyond"] >= c.population[d > STATION_GAP_THRESHOLD_M].sum() * (1 - 1e-9)
        assert total["population_beyond"] > c.population[d > STATION_GAP_THRESHOLD_M].sum() * 1.01
