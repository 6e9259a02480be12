"""The annex build on the development data directory: every shipped spec rendered into a temp dir."""

import re

import pandas as pd
import pyogrio
import pytest
import shapely

from conftest import writable_subdir
from PIL import Image

from kkr_geo.layers.datadir import resolve_data_dir
from kkr_geo.maps.build import GPKG_NAME, build
from kkr_geo.maps.inline import external_asset_urls
from kkr_geo.maps.sources import Sources
from kkr_geo.maps.spec import load_specs

DPI = 50


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    dd = resolve_data_dir()
    if not dd.has("dagi/kommuner.geojson"):
        pytest.skip("development data directory not available")
    # A data directory of links to the real one plus a small flow table made here.
    root = tmp_path_factory.mktemp("data")
    for child in dd.path.iterdir():
        (root / child.name).symlink_to(child)
    writable_subdir(root, "flows")
    (root / "flows" / "patientstroemme.csv").write_text(
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
    html = (out / "borgere_pr_kapacitet_sp51.html").read_text(encoding="utf-8")
    legend = html[html.index('id="kkr-legend"'):]
    labels = re.findall(r'<span class="kkr-sw"[^>]*></span>([^<]+)</div>', legend)
    lo, hi = data["borgere_pr_kapacitet_sp51"].min(), data["borgere_pr_kapacitet_sp51"].max()
    fmt = lambda v: f"{v:,.0f}".replace(",", ".")  # noqa: E731
    assert labels[0].startswith(fmt(lo) + "–") and labels[4].endswith("–" + fmt(hi))
    assert "Borgere pr. kapacitet (borgere)" in legend


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


def test_park_and_ride_catchment_uses_bike_and_drive_bands(shared_data):
    from kkr_geo.maps.sources import PR_CATCHMENT_DISTANCES, Sources

    src = Sources(shared_data)
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
