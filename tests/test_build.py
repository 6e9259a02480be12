"""The annex build on the development data directory: every shipped spec rendered into a temp dir."""

import re

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from conftest import writable_subdir
from PIL import Image

from kkr_geo.maps.build import GPKG_NAME, build
from kkr_geo.maps.inline import external_asset_urls
from kkr_geo.maps.sources import Sources
from kkr_geo.maps.spec import load_specs

DPI = 50


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, any_data):
    # A data directory of links to the development data (else the synthetic folder), without clinics (the
    # development data has no clinic addresses), plus a small flow table made here.
    root = tmp_path_factory.mktemp("data")
    for child in any_data.path.iterdir():
        if child.name != "klinikker":
            (root / child.name).symlink_to(child)
    flows = writable_subdir(root, "flows") / "patientstroemme.csv"
    flows.unlink(missing_ok=True)  # a link into the data directory: never write through it
    flows.write_text(
        "bopaelskommune;klinikkommune;antal\nFrederiksberg;København;1.250\nGentofte;København;430\n"
        "Ballerup;Herlev;210\nKøbenhavn;Frederiksberg;380\nBornholm;Bornholm;900\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def built(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("bilag")
    lines = []
    sources = Sources(data_dir)
    report = build(data_dir, out, dpi=DPI, sources=sources, log=lines.append)
    return report, out, lines, sources


def test_every_spec_built_or_skipped_with_reason(built):
    report, out, lines, _ = built
    names = {s.name for s in load_specs()}
    assert {m.name for m in report.maps} == names
    skipped = {m.name: m.skipped for m in report.skipped}
    # no clinic addresses in the development data: the gap map is skipped, not faked
    assert set(skipped) == {"klinik_daekningshuller"}
    assert "klinikker" in skipped["klinik_daekningshuller"]
    assert any("klinik_daekningshuller: skipped" in line for line in lines)
    assert any(line.startswith("[1/") for line in lines)  # progress
    for m in report.built:
        for fmt in ("html", "png", "pdf"):
            assert (out / f"{m.name}.{fmt}").stat().st_size > 1000, (m.name, fmt)
    assert not list(out.glob(".*part*"))  # no half-written temporaries


def test_html_self_contained_and_within_budget(built):
    report, out, _, _ = built
    for m in report.built:
        html = (out / f"{m.name}.html").read_text(encoding="utf-8")
        assert external_asset_urls(html) == [], m.name
        assert not re.search(r"<(script|link)\b[^>]*(src|href)\s*=\s*[\"']?(https?:)?//", html), m.name
        assert len(html.encode("utf-8")) < 3 * 1024 * 1024, m.name
        assert "kkr-legend" in html and "Kilde:" in html


def test_png_size_and_dpi(built):
    report, out, _, _ = built
    spec = {s.name: s for s in load_specs()}
    for m in report.built:
        img = Image.open(out / f"{m.name}.png")
        w, h = spec[m.name].page_mm
        assert abs(img.size[0] - w / 25.4 * DPI) <= 1 and abs(img.size[1] - h / 25.4 * DPI) <= 1, m.name
        assert [round(d) for d in img.info["dpi"]] == [DPI, DPI]


def test_legend_values_match_data(built):
    report, out, _, sources = built
    data = sources.get("planlaegningsomraader")
    legends = {}
    for sp in ("51", "62"):
        html = (out / f"borgere_pr_kapacitet_sp{sp}.html").read_text(encoding="utf-8")
        legend = html[html.index('id="kkr-legend"'):]
        legends[sp] = re.findall(r'<span class="kkr-sw"[^>]*></span>([^<]+)</div>', legend)
        # the legend says what the classes are and which end is worse; the unit is not doubled
        assert "Klasser: kvantiler" in legend and "Mørkere = flere borgere pr. kapacitet" in legend
        assert "Borgere pr. kapacitet (borgere)" not in legend
    # the two maps are meant to be compared: one set of classes spanning both specialities' values
    both = pd.concat([data["borgere_pr_kapacitet_sp51"], data["borgere_pr_kapacitet_sp62"]])
    fmt = lambda v: f"{v:,.0f}".replace(",", ".")  # noqa: E731
    assert legends["51"] == legends["62"]
    labels = legends["51"]
    assert labels[0].startswith(fmt(both.min()) + "–") and labels[4].endswith("–" + fmt(both.max()))


def test_geopackage_and_summary(built):
    report, out, _, _ = built
    layers = [name for name, _ in pyogrio.list_layers(out / GPKG_NAME)]
    for name in ("kommuner", "planomraader", "brt", "parker_og_rejs", "brt_opland", "parker_og_rejs_opland"):
        assert name in layers
    csv = pd.read_csv(out / "oplande_og_daekning.csv", sep=";", decimal=",", encoding="utf-8-sig")
    assert set(csv["analyse"]) == {"brt_opland", "parker_og_rejs_opland", "supercykelstier_opland"}
    assert (csv.loc[csv["analyse"] == "brt_opland", "population"] > 0).all()
    for name in ("supercykelstier", "supercykelstier_opland", "mobilitetsprojekter_linjer", "ventetider"):
        assert name in layers
    projects = pd.read_csv(out / "oplande_og_daekning_mobilitetsprojekter.csv", sep=";", decimal=",", encoding="utf-8-sig")
    assert list(projects["nr"]) == list(range(1, 34))
    md = (out / "oplande_og_daekning.md").read_text(encoding="utf-8")
    assert "BRT på linje 150S" in md and "ikke lavet" in md and re.search(r"\d{1,3}\.\d{3}", md)


def test_flow_map_built_from_flow_table(built):
    report, out, _, _ = built
    assert "patientstroemme" in {m.name for m in report.built}
    html = (out / "patientstroemme.html").read_text(encoding="utf-8")
    assert "1.250" in html and "Frederiksberg → København" in html


def test_rebuild_is_byte_identical(data_dir, built, tmp_path):
    sources = built[3]  # cached inputs: this checks that rendering and writing add no variation
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        build(data_dir, out, only=["brt_oplande"], dpi=DPI, formats=["html", "png", "pdf", "svg"],
              with_geopackage=True, sources=sources, log=lambda m: None)
    files = sorted(p.name for p in a.iterdir())
    assert "brt_oplande.svg" in files and GPKG_NAME in files
    for name in files:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_cli_build(data_dir, tmp_path, capsys):
    from kkr_geo.cli import main
    rc = main(["--data-dir", str(data_dir), "build", "--only", "borgere_pr_kapacitet_sp62", "--out", str(tmp_path),
               "--dpi", "40", "--no-tiles"])
    assert rc == 0
    assert (tmp_path / "borgere_pr_kapacitet_sp62.png").exists()
    assert "openstreetmap" not in (tmp_path / "borgere_pr_kapacitet_sp62.html").read_text(encoding="utf-8").lower()
    rc = main(["--data-dir", str(data_dir), "build", "--only", "findes_ikke", "--out", str(tmp_path)])
    assert rc == 4
    assert "--only findes_ikke: no such map" in capsys.readouterr().err


def test_gap_map_with_a_test_clinic_file(data_dir, tmp_path):
    """The coverage-gap map, on a clinic file made here (the development data has no clinic addresses)."""
    root = tmp_path / "data"
    root.mkdir()
    for child in data_dir.iterdir():
        (root / child.name).symlink_to(child.resolve() if child.is_symlink() else child)
    writable_subdir(root, "klinikker")
    (root / "klinikker" / "klinikker.csv").write_text(
        "navn;lat;lon;kapacitet_sp51\nKlinik <A>;55.6761;12.5683;2,5\nKlinik B;55.9300;12.3000;1\n", encoding="utf-8")
    out = tmp_path / "out"
    report = build(root, out, only=["klinik_daekningshuller"], dpi=DPI, formats=["html", "png"], log=lambda m: None)
    assert [m.name for m in report.built] == ["klinik_daekningshuller"]
    html = (out / "klinik_daekningshuller.html").read_text(encoding="utf-8")
    assert "Klinik &lt;A&gt;" in html and "Klinik <A>" not in html
    assert "Mere end 2 km til nærmeste klinik" in html


def test_park_and_ride_catchment_uses_bike_and_drive_bands(real_data):
    from kkr_geo.maps.sources import PR_CATCHMENT_DISTANCES, Sources

    src = Sources(real_data)
    polys = src.get("parker_og_rejs_opland")
    assert sorted(set(polys["distance_m"].astype(float))) == [float(d) for d in PR_CATCHMENT_DISTANCES]
    table = src.tables["parker_og_rejs_opland"]
    # Favrholm lies in Hillerød: its inner band holds the population surface's cells inside the band
    # polygon (cell-centre sampling), at most all of Hillerød's planning-area total
    fav = table[(table["navn"] == "Favrholm") & (table["distance_m"] == PR_CATCHMENT_DISTANCES[0])].iloc[0]
    band = polys[(polys["navn"] == "Favrholm") & (polys["distance_m"] == PR_CATCHMENT_DISTANCES[0])].geometry.iloc[0]
    grid = src._grid()
    c = grid.cell_centres()
    inside = shapely.contains_xy(band.buffer(1e-6), c.x, c.y)
    assert fav["population"] == pytest.approx(c.population[inside].sum(), rel=0.01)
    areas = src.get("planlaegningsomraader").set_index("navn")
    assert 0 < fav["population"] < areas.at["Hillerød", "population"]


# -- a reader can trust the annex (issue 10) ----------------------------------------------------------
def test_planning_areas_tile_copenhagen_and_no_orphan_rows(built):
    import shapely
    report, out, _, sources = built
    areas = sources.get("planlaegningsomraader")
    kom = sources.get("kommuner")
    kbh = kom.loc[kom["kommunekode"] == "0101"].geometry.iloc[0]
    bydele = areas[areas["kommunekode"] == "0101"]
    assert len(bydele) == 9
    assert shapely.union_all(bydele.geometry.values).symmetric_difference(kbh).area < 1.0  # m²: no holes
    assert bydele.area.sum() == pytest.approx(kbh.area, abs=1.0)  # no overlaps
    for name in ("oplande_og_daekning_pr_omraade.csv", "oplande_og_daekning_stationer.csv"):
        assert "(uden for områder)" not in (out / name).read_text(encoding="utf-8-sig"), name


def test_official_names_and_population_dates(built):
    _, out, _, sources = built
    kom = sources.get("kommuner")
    assert "Høje-Taastrup" in set(kom["navn"]) and "Høje Taastrup" not in set(kom["navn"])
    assert pd.api.types.is_datetime64_any_dtype(kom["befolkning_dato"])
    html = (out / "mobilitetsprojekter_oversigt.html").read_text(encoding="utf-8")
    assert "Befolkning pr. kommune 1.1.2023 (København 1.1.2025, Ishøj 1.1.2024)" in html


def test_known_gaps_on_the_maps_in_the_summary_and_not_denied_by_the_geopackage(built):
    import sqlite3
    from kkr_geo.maps.prepare import prepare
    report, out, _, sources = built
    spec = {s.name: s for s in load_specs()}
    brt_notes = " ".join(prepare(spec["brt_oplande"], sources).notes)
    assert "200S: tegnet gennem 3 af 7 navngivne stop" in brt_notes
    assert "Frederikssundsvej: tegnet gennem 2 af 3 navngivne stop; uden koordinat: Gladsaxe Trafikplads" in brt_notes
    pr_notes = " ".join(prepare(spec["parker_og_rejs"], sources).notes)
    assert "Parkér og rejs ved Hvidovre Hospital: ingen koordinat" in pr_notes
    md = (out / "oplande_og_daekning.md").read_text(encoding="utf-8")
    for gap in sources.get("brt").attrs["gaps"] + sources.get("parker_og_rejs").attrs["gaps"]:
        assert f"- {gap}" in md  # one source: the layer's own list
    con = sqlite3.connect(out / GPKG_NAME)
    try:
        desc, = con.execute("SELECT description FROM gpkg_contents WHERE table_name = 'parker_og_rejs'").fetchone()
        n, = con.execute("SELECT count(*) FROM parker_og_rejs").fetchone()
    finally:
        con.close()
    assert n == 3
    present = desc.split("missing")[0]
    assert "Hvidovre Hospital" not in present and "missing (no coordinate): Hvidovre Hospital" in desc


def test_catchment_outputs_agree_per_ring(built):
    """Map figures, the main table and the breakdown by area tell the same story for every ring:
    "ikke opgjort" (no population, no rows by area) or a number equal to the sum of its rows by area."""
    from kkr_geo.maps.prepare import prepare
    _, out, _, sources = built
    spec = {s.name: s for s in load_specs()}
    for analysis, map_name in (("parker_og_rejs_opland", "parker_og_rejs"), ("brt_opland", "brt_oplande")):
        main = sources.tables[analysis]
        by_area = sources.tables[f"{analysis}_pr_omraade"]
        for _, row in main.iterrows():
            rows = by_area[(by_area["feature"] == row["feature"]) & (by_area["band"] == row["band"])
                           & (by_area["area_type"] == "kommune")]
            if np.isnan(row["population"]):
                assert rows.empty, (row["navn"], row["band"])
                assert "ikke opgjort" in row["bemaerkning"]
            else:
                assert row["population"] == pytest.approx(rows["population"].sum(), abs=0.5), (row["navn"], row["band"])
        _, _, fig_rows = prepare(spec[map_name], sources).figures()
        for r in fig_rows:
            counted = main[(main["navn"] == r.name)]["population"].notna().to_numpy()
            assert [v == v for v in r.values] == list(np.maximum.accumulate(counted)), r.name
            assert ("ikke opgjort" in r.text()) == (not counted.all()), r.name


def test_station_map_shows_people_and_says_no_station(built):
    _, out, _, sources = built
    layer = sources.get("station_andel_pr_omraade").set_index("navn")
    table = sources.tables["station_daekningshuller"]
    rows = table[table["area_type"] == "planlægningsområde"].set_index("area_name")
    for name in ("Valby", "Gribskov", "Bornholm"):
        assert layer.at[name, "andel_uden_for_pct"] == pytest.approx(100 * rows.at[name, "share_beyond"])
    assert layer.at["Bornholm", "bemaerkning"] == "ingen station i området"
    assert np.isnan(rows.at["Bornholm", "mean_distance_m"])
    assert (table["mean_distance_m"].dropna() < 20_000).all()  # no 200 km "mean distance"
    html = (out / "stationsnaerhed.html").read_text(encoding="utf-8")
    assert "ingen station" in html


def test_geopackage_styles_load_in_qgis_with_the_annex_classes(built):
    import sqlite3
    report, out, _, sources = built
    con = sqlite3.connect(out / GPKG_NAME)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM gpkg_geometry_columns")}
        found = dict(con.execute(
            "SELECT g.table_name, s.styleQML FROM gpkg_geometry_columns g JOIN layer_styles s "
            "ON s.f_table_name = g.table_name AND s.f_geometry_column = g.column_name AND s.useAsDefault = 1"))
    finally:
        con.close()
    assert set(found) == tables
    qml = found["planlaegningsomraader"]
    assert 'type="graduatedSymbol"' in qml and 'attr="borgere_pr_kapacitet_sp51"' in qml
    html = (out / "borgere_pr_kapacitet_sp51.html").read_text(encoding="utf-8")
    legend = html[html.index('id="kkr-legend"'):]
    map_labels = re.findall(r'<span class="kkr-sw"[^>]*></span>([^<]+)</div>', legend)[:5]
    assert re.findall(r'label="([^"]+)"', qml)[:5] == map_labels
    assert 'type="graduatedSymbol"' in found["station_andel_pr_omraade"]
