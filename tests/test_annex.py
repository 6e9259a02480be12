"""The annex set: accessible annex PDFs (<map>_bilag.pdf), figure CSVs (<map>_tal.csv), index.html.

Figures are checked against the data by hand-rolled Danish formatting (not through the code under test);
the PDFs are read back with pypdf (text layer) and pikepdf (structure, metadata, fonts); the index page
and the back link are checked in headless Chromium with axe-core.
"""

from __future__ import annotations

import html as html_mod
import re
from pathlib import Path

import pandas as pd
import pytest

from kkr_geo.maps.danish_numbers import fmt_population_approx

from kkr_geo.maps.build import build
from kkr_geo.maps.sources import Sources

from axe_check import run_axe, serious
from conftest import weasyprint_or_fail

DPI = 40
MAPS = ["borgere_pr_kapacitet_sp51", "brt_oplande", "parker_og_rejs", "stationsnaerhed", "patientstroemme"]


def da(value: float, decimals: int = 0) -> str:
    """Danish number format, written independently of kkr_geo.maps.danish_numbers."""
    s = f"{value:,.{decimals}f}"
    return s.replace(",", "X").replace(".", ",").replace("X", ".")


@pytest.fixture(scope="module")
def annex(real_data, tmp_path_factory):
    weasyprint_or_fail()
    out = tmp_path_factory.mktemp("annex")
    sources = Sources(real_data.path)
    lines: list[str] = []
    report = build(real_data.path, out, only=MAPS, dpi=DPI, with_geopackage=True, sources=sources,
                   log=lines.append)
    return report, out, sources, lines


def _text(pdf: Path) -> str:
    from pypdf import PdfReader
    return " ".join(" ".join((page.extract_text() or "").split()) for page in PdfReader(pdf).pages)


def _struct_elements(pdf):
    """All structure elements (dicts with /S) of a pikepdf document, depth first."""
    import pikepdf
    out, stack, seen = [], [pdf.Root.StructTreeRoot], set()
    while stack:
        node = stack.pop()
        if isinstance(node, pikepdf.Array):
            stack.extend(node)
            continue
        if not isinstance(node, pikepdf.Dictionary):
            continue
        key = node.objgen
        if key != (0, 0):
            if key in seen:
                continue
            seen.add(key)
        if "/S" in node:
            out.append(node)
        if "/K" in node:
            stack.append(node.K)
    return out


def test_annex_pdfs_written_for_built_maps(annex):
    report, out, _, lines = annex
    built = {m.name for m in report.built}
    assert {"borgere_pr_kapacitet_sp51", "brt_oplande", "stationsnaerhed"} <= built
    for m in report.built:
        pdf = out / f"{m.name}_bilag.pdf"
        assert pdf.read_bytes().startswith(b"%PDF-1.7"), m.name
        assert m.files["bilag"] == pdf
    # the print maps are still there, unchanged in kind
    for m in report.built:
        for ext in ("png", "pdf", "html"):
            assert (out / f"{m.name}.{ext}").stat().st_size > 1000
    for m in report.skipped:
        assert not (out / f"{m.name}_bilag.pdf").exists()
    assert not list(out.glob("*.part*")) and not list(out.glob(".*part*"))


def test_annex_pdf_is_tagged_with_language_title_and_embedded_fonts(annex):
    import pikepdf
    report, out, _, _ = annex
    for m in report.built:
        with pikepdf.open(out / f"{m.name}_bilag.pdf") as pdf:
            root = pdf.Root
            assert "/StructTreeRoot" in root, m.name
            assert bool(root.MarkInfo.Marked) is True
            assert str(root.Lang) == "da"
            assert bool(root.ViewerPreferences.DisplayDocTitle) is True
            assert str(pdf.docinfo.Title) == m.title
            assert "/OutputIntents" in root  # PDF/A: sRGB output intent
            with pdf.open_metadata() as meta:
                assert meta["dc:title"] == m.title
                assert meta["pdfaid:part"] == "3" and meta["pdfaid:conformance"] == "B"
                assert meta["pdfuaid:part"] == "1"
            fonts = 0
            for page in pdf.pages:
                for font in page.Resources.get("/Font", {}).values():
                    fonts += 1
                    descendants = font.get("/DescendantFonts")
                    desc = (descendants[0] if descendants else font).FontDescriptor
                    assert any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3")), (m.name, font.BaseFont)
            assert fonts >= 1
            tags = [str(e.S) for e in _struct_elements(pdf)]
            for tag in ("/H1", "/Figure", "/Table", "/TH", "/TD", "/Caption"):
                assert tag in tags, (m.name, tag)


def test_map_image_alt_text_states_highest_and_lowest_areas(annex):
    import pikepdf
    report, out, sources, _ = annex
    data = sources.get("planlaegningsomraader")
    values = data[["navn", "borgere_pr_kapacitet_sp51"]].dropna().sort_values("borgere_pr_kapacitet_sp51")
    with pikepdf.open(out / "borgere_pr_kapacitet_sp51_bilag.pdf") as pdf:
        figures = [e for e in _struct_elements(pdf) if str(e.S) == "/Figure"]
        assert len(figures) == 1
        alt = str(figures[0].Alt)
    for name, v in list(values.itertuples(index=False))[-3:] + list(values.itertuples(index=False))[:3]:
        # the unit is named once in the sentence ("borgere pr. kapacitet"), not repeated after each value
        assert f"{name} ({da(v)})" in alt, alt
    assert "borgere pr. kapacitet" in alt
    sentences = re.split(r"(?<=\.) (?=[A-ZÆØÅ])", alt)
    assert 1 <= len(sentences) <= 2, sentences


def test_text_layer_holds_every_area_name_and_figure(annex):
    report, out, sources, _ = annex
    data = sources.get("planlaegningsomraader")
    text = _text(out / "borgere_pr_kapacitet_sp51_bilag.pdf")
    assert "Borgere pr. kapacitet – almen fysioterapi (speciale 51)" in text
    assert "Tal bag kortet" in text and "Kilde:" in text and "Datagrundlag:" in text
    for row in data.itertuples():
        value = row.borgere_pr_kapacitet_sp51
        assert row.navn in text, row.navn
        if pd.notna(value):
            # the row reads name, planområde, value (rounded as the map rounds: whole borgere)
            assert re.search(re.escape(row.navn) + r" \S+ " + re.escape(da(value)) + r" ", text), (row.navn, da(value))
        if pd.notna(row.population):
            assert da(row.population) in text


def test_catchment_annex_figures_match_the_catchment_table(annex):
    report, out, sources, _ = annex
    table = sources.tables["brt_opland"]
    text = _text(out / "brt_oplande_bilag.pdf")
    for navn, grp in table.groupby("navn"):
        grp = grp.sort_values("distance_m")
        cum = grp["population"].cumsum().tolist()
        # shown as the map shows it: rounded to what the method supports ("ca. 21.000"); the CSV keeps the figure
        assert f"{navn} {fmt_population_approx(cum[0])} {fmt_population_approx(cum[1])}" in text, navn


def test_missing_populations_are_said_not_counted(tmp_path):
    """A catchment whose population was not counted (outside the region) reads 'ikke opgjort', in the table, the
    CSV (empty cells) and the message; it is not ranked among the smallest."""
    from types import SimpleNamespace

    from PIL import Image

    from kkr_geo.maps.annex import write_annex
    from kkr_geo.maps.figures import map_figures
    from kkr_geo.maps.prepare import FigureRow
    weasyprint_or_fail()
    nan = float("nan")
    rows = [FigureRow("Køge Nord", [nan, nan]), FigureRow("Favrholm", [1897.05, 12686.9]),
            FigureRow("Hillerød St.", [2500.4, 9000.6]), FigureRow("Trekroner", [nan, nan])]
    spec = SimpleNamespace(name="pr", title="Parkér og rejs-anlæg og deres oplande", subtitle=None, indicator=None)
    pm = SimpleNamespace(spec=spec, layers=[], notes=[], source_line="Kilde: test", date_line=None,
                         figures=lambda: ("Befolkning inden for 2 km / 5 km", ["2.000 m", "5.000 m"], rows))
    mf = map_figures(pm)
    t = mf.tables[0]
    assert t.texts() == [["Favrholm", "ca. 1.900", "ca. 12.700"], ["Hillerød St.", "ca. 2.500", "ca. 9.000"],
                         ["Køge Nord", "ikke opgjort", "ikke opgjort"], ["Trekroner", "ikke opgjort", "ikke opgjort"]]
    assert mf.csv().lstrip("\ufeff").splitlines()[3:5] == ["Køge Nord;;", "Trekroner;;"]
    assert mf.summary == ("Flest borgere inden for 5.000 m: Favrholm (ca. 12.700 borgere); færrest: Hillerød St. "
                          "(ca. 9.000 borgere); ikke opgjort for Køge Nord og Trekroner.")
    png = tmp_path / "pr.png"
    Image.new("RGB", (300, 200), "white").save(png)
    write_annex(pm, mf, png, tmp_path / "pr_bilag.pdf")
    text = _text(tmp_path / "pr_bilag.pdf")
    for name in ("Køge Nord", "Trekroner"):
        assert f"{name} ikke opgjort ikke opgjort" in text


def test_figure_csv_is_danish_excel_and_matches_data(annex):
    _, out, sources, _ = annex
    raw = (out / "borgere_pr_kapacitet_sp51_tal.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    csv = pd.read_csv(out / "borgere_pr_kapacitet_sp51_tal.csv", sep=";", decimal=",", encoding="utf-8-sig")
    data = sources.get("planlaegningsomraader").set_index("navn")["borgere_pr_kapacitet_sp51"]
    assert len(csv) == len(data)
    got = csv.set_index(csv.columns[0])["Borgere pr. kapacitet"]
    for navn, v in data.items():
        assert got[navn] == round(v), navn
    # sorted from the highest value down
    assert list(got) == sorted(got, reverse=True)


def test_coverage_csv_shares_are_percent_of_population(annex):
    """The station-proximity map shows people (share of inhabitants beyond 600 m per planning area, issue 10);
    its figure CSV holds the same shares as the map's indicator layer, one row per planning area."""
    _, out, sources, _ = annex
    shares = sources.get("station_andel_pr_omraade").set_index("navn")["andel_uden_for_pct"]
    csv = pd.read_csv(out / "stationsnaerhed_tal.csv", sep=";", decimal=",", encoding="utf-8-sig")
    csv = csv.set_index("Planlægningsområde")
    assert len(csv) == len(shares) == 37
    for name, share in shares.items():
        assert csv.loc[name, "Andel mere end 600 m fra station (%)"] == pytest.approx(share, abs=0.5), name


def test_index_page_links_every_file_and_lists_what_was_skipped(annex):
    report, out, _, _ = annex
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="da">' in page
    assert "<script" not in page and not re.search(r"(src|href)=\"(https?:)?//", page)
    hrefs = re.findall(r'href="([^"#]+)"', page)
    for h in hrefs:
        assert (out / html_mod.unescape(h)).exists(), h
    for m in report.built:
        assert html_mod.escape(m.title) in page
        for suffix in (".html", ".pdf", "_bilag.pdf", ".png", "_tal.csv"):
            assert f'href="{m.name}{suffix}"' in page, (m.name, suffix)
    for m in report.skipped:
        assert html_mod.escape(m.skipped.split(" (")[0]) in page
    assert 'href="kkr_geo_lag.gpkg"' in page and 'href="oplande_og_daekning.md"' in page
    assert page.count('src="data:image/png;base64,') == len(report.built)
    assert "Datagrundlag:" in page and "Kilde:" in page


def test_index_sentence_is_the_map_message(annex):
    _, out, sources, _ = annex
    page = html_mod.unescape((out / "index.html").read_text(encoding="utf-8"))
    shares = sources.get("station_andel_pr_omraade").sort_values(["andel_uden_for_pct", "navn"])
    lowest = shares.iloc[0]
    assert lowest["navn"] in page and f"{da(lowest['andel_uden_for_pct'], 0)} %" in page


def test_html_maps_link_back_to_the_index(annex):
    report, out, _, _ = annex
    for m in report.built:
        page = (out / f"{m.name}.html").read_text(encoding="utf-8")
        body = page[page.index("<body"):]
        assert re.search(r'<a href="index.html">Til oversigten</a>', body), m.name
        assert page.count("Til oversigten") == 1
        assert m.html_bytes == len(page.encode("utf-8"))


def test_index_page_passes_axe_core(annex):
    _, out, _, _ = annex
    for width in (375, 1400):
        violations = run_axe(out / "index.html", width=width, height=900)
        assert serious(violations) == [], violations
        assert violations == [], violations  # not even minor or moderate ones on this page


def test_axe_check_detects_violations(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><head><title>x</title></head><body><img src="x.png">'
                   '<a href="y.html"></a></body></html>', encoding="utf-8")
    ids = {v["id"] for v in serious(run_axe(bad))}
    assert {"html-has-lang", "image-alt", "link-name"} <= ids


def test_back_link_is_not_an_accessibility_regression(annex):
    _, out, _, _ = annex
    violations = run_axe(out / "brt_oplande.html")
    # the link sits in its own named landmark: no violation (of any impact) points at it
    on_link = [v for v in violations for n in v["nodes"] if "kkr-index" in n]
    assert on_link == [], on_link
    page = (out / "brt_oplande.html").read_text(encoding="utf-8")
    assert '<nav class="kkr-index" aria-label="Kortbilag">' in page


# -- without a build ---------------------------------------------------------------------------------------------

from hypothesis import given, strategies as st  # noqa: E402

from kkr_geo.maps.figures import Column, FigureTable, MapFigures, shown_decimals  # noqa: E402
from kkr_geo.maps.danish_numbers import fmt_number, fmt_value  # noqa: E402


@given(st.floats(min_value=-1e7, max_value=1e7, allow_nan=False))
def test_table_rounds_like_the_tooltips(v):
    assert fmt_number(v, shown_decimals(v, None)) == fmt_value(v)


def test_csv_cells_round_like_the_table_and_quote_text():
    t = FigureTable("T", [Column("Navn", numeric=False), Column("Værdi", 1), Column("Auto")],
                    [['Nord; "syd"', 1234.56, 12.345], ["=cmd", float("nan"), 3.0], ["Øst", -0.04, 250.5]])
    mf = MapFigures("x", [t], "Lead.", None)
    assert t.texts() == [['Nord; "syd"', "1.234,6", "12,3"], ["=cmd", "–", "3"], ["Øst", "0,0", "250"]]
    lines = mf.csv().lstrip("\ufeff").splitlines()
    assert lines[0] == "Navn;Værdi;Auto"
    assert lines[1] == '"Nord; ""syd""";1234,6;12,3'
    assert lines[2] == "'=cmd;;3"  # no formula for Excel to run
    assert lines[3] == "Øst;0,0;250"


def test_build_without_weasyprint_says_so_and_keeps_the_rest(real_data, tmp_path, monkeypatch):
    """A machine without Pango: the maps, CSVs and index are still written; the missing annex is reported."""
    import kkr_geo.maps.annex as annex_mod
    from kkr_geo.maps.annex import AnnexUnavailable

    def unavailable():
        raise AnnexUnavailable("annex PDF: WeasyPrint cannot be loaded (libpango missing).")
    monkeypatch.setattr(annex_mod, "_weasyprint", unavailable)
    lines: list[str] = []
    report = build(real_data.path, tmp_path, only=["planomraader_borgere_pr_kapacitet"], dpi=DPI,
                   with_geopackage=True, log=lines.append)
    assert [m.name for m in report.built] == ["planomraader_borgere_pr_kapacitet"]
    assert not list(tmp_path.glob("*_bilag.pdf"))
    assert (tmp_path / "planomraader_borgere_pr_kapacitet.pdf").exists()
    assert (tmp_path / "planomraader_borgere_pr_kapacitet_tal.csv").exists()
    assert any("annex PDF of planomraader_borgere_pr_kapacitet not written" in line for line in lines)
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "tilgængeligt bilag (PDF)" in page and "libpango missing" in page
    assert "_bilag.pdf" not in page


def test_flow_map_table_has_one_row_per_flow(data_copy, tmp_path):
    """The flow layer draws each flow as a line plus an arrowhead: the table and CSV list each flow once."""
    from conftest import writable_subdir
    weasyprint_or_fail()
    root = data_copy()
    flows = writable_subdir(root, "flows")
    for f in flows.iterdir():
        f.unlink()
    (flows / "patientstroemme.csv").write_text(
        "bopaelskommune;klinikkommune;antal\nFrederiksberg;København;1.250\nGentofte;København;430\n"
        "Ballerup;Herlev;210\nKøbenhavn;Frederiksberg;380\nBornholm;Bornholm;900\n", encoding="utf-8")
    out = tmp_path / "ud"
    report = build(root, out, only=["patientstroemme"], dpi=DPI, formats=["png", "pdf"], log=lambda m: None)
    assert [m.name for m in report.built] == ["patientstroemme"]
    csv = (out / "patientstroemme_tal.csv").read_text(encoding="utf-8-sig").splitlines()
    assert csv == ["Bopælskommune;Klinikkommune;Patienter", "Frederiksberg;København;1250", "Gentofte;København;430",
                   "København;Frederiksberg;380", "Ballerup;Herlev;210"]
    text = _text(out / "patientstroemme_bilag.pdf")
    assert "Frederiksberg København 1.250" in text and "900 patienter behandles i egen kommune" in text
    import pikepdf
    with pikepdf.open(out / "patientstroemme_bilag.pdf") as pdf:
        alt = str(next(e for e in _struct_elements(pdf) if str(e.S) == "/Figure").Alt)
    assert "Flest patienter: Frederiksberg → København (1.250) og Gentofte → København (430)" in alt


def test_hostile_titles_and_names_are_escaped_in_index_and_annex(tmp_path):
    """Titles and area names come from specs and data files: they must reach HTML as text, never as markup."""
    from kkr_geo.maps.annex import annex_html, table_html
    from kkr_geo.maps.index_page import IndexCard, render_index
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    t = FigureTable(evil, [Column(evil, numeric=False), Column("Værdi", 0)], [[evil, 1.0]])
    html = table_html(t)
    assert "<script" not in html and "<img" not in html and "&lt;script&gt;" in html
    png = tmp_path / "m.png"
    from PIL import Image
    Image.new("RGB", (40, 30), "white").save(png)
    card = IndexCard("m", evil, evil, evil, {"png": png}, evil, evil)
    page = render_index([card], tmp_path, skipped=[(evil, evil)], sources=[(evil, evil)])
    assert "<script" not in page and "<img src=x" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 5

    class _Spec:
        name, title, subtitle = "m", evil, evil

    class _PM:
        spec, notes, source_line, date_line = _Spec, [evil], evil, evil
    doc = annex_html(_PM, MapFigures("m", [t], evil, evil), png)
    body = doc[doc.index("<body>"):]
    assert "<script" not in body and "<img src=x" not in body
    assert f'alt="{html_mod.escape(evil + " " + evil)}"' in body


@pytest.mark.parametrize("name", ["brt_oplande", "parker_og_rejs"])
def test_catchment_table_shows_what_the_print_maps_figure_box_shows(annex, tmp_path, name):
    """'Rounded as the map rounds': every line of the print map's figure box ("name: a / b") is the annex row."""
    from kkr_geo.maps.figures import map_figures
    from kkr_geo.maps.prepare import prepare
    from kkr_geo.maps.spec import load_specs
    from kkr_geo.maps.static import render_static
    _, out, sources, _ = annex
    pm = prepare(load_specs(None, [name])[0], sources)
    lines = render_static(pm, {"png": tmp_path / "m.png"}, dpi=DPI).figure_lines
    assert lines
    table = map_figures(pm, sources.tables, sources.table_meta).tables[0]
    rows = {r[0]: " / ".join(r[1:]) for r in table.texts()}
    text = _text(out / f"{name}_bilag.pdf")
    noted = table.columns[-1].header == "Bemærkning"
    for line in lines:
        row_name, shown = line.split(": ", 1)
        note = ""
        if shown.endswith(")") and " (" in shown:  # "ca. 6.800 (kun regionens del)": the note column
            shown, note = shown[:-1].rsplit(" (", 1)
        shown_cells = shown.split(" / ")
        if shown == "ikke opgjort":
            shown_cells = ["ikke opgjort"] * (len(table.columns) - 1 - noted)
        if noted:
            shown_cells.append(note)
        else:
            assert not note, line
        assert rows[row_name] == " / ".join(shown_cells), line
        assert f"{row_name} {' '.join(shown_cells)}".strip() in text, line


def test_annex_without_png_format_renders_its_own_image(real_data, tmp_path):
    """--formats pdf: no PNG is written to the output, the annex still has its map image."""
    import pikepdf
    weasyprint_or_fail()
    report = build(real_data.path, tmp_path, only=["planomraader_borgere_pr_kapacitet"], formats=["pdf"],
                   log=lambda m: None)
    assert [m.name for m in report.built] == ["planomraader_borgere_pr_kapacitet"]
    from kkr_geo.geo.outputs import MANIFEST_NAME
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != MANIFEST_NAME) == [
        "planomraader_borgere_pr_kapacitet.pdf", "planomraader_borgere_pr_kapacitet_bilag.pdf",
        "planomraader_borgere_pr_kapacitet_tal.csv"]
    with pikepdf.open(tmp_path / "planomraader_borgere_pr_kapacitet_bilag.pdf") as pdf:
        images = [x for page in pdf.pages
                  for x in (page.get_images() if hasattr(page, "get_images") else page.images).values()]
        assert images and max(int(i.Width) for i in images) > 1000  # the 150 dpi rendering
    text = _text(tmp_path / "planomraader_borgere_pr_kapacitet_bilag.pdf")
    assert "planomraader_borgere_pr_kapacitet.pdf (trykkort)" in text and ".html" not in text


def test_annex_outputs_are_own_outputs_on_rebuild(real_data, tmp_path):
    """The annex files (figure CSV, annex PDF, back link in the HTML) are recorded in the output manifest, so a
    second build replaces them without --overwrite, and a user's file with an annex name is never replaced."""
    from kkr_geo.geo.errors import InputError
    from kkr_geo.geo.outputs import MANIFEST_NAME
    weasyprint_or_fail()
    name = "planomraader_borgere_pr_kapacitet"
    for _ in range(2):  # the second build must not refuse its own annex files
        report = build(real_data.path, tmp_path, only=[name], formats=["html", "pdf"], log=lambda m: None)
        assert [m.name for m in report.built] == [name]
    manifest = (tmp_path / MANIFEST_NAME).read_text(encoding="utf-8")
    for f in (f"{name}_tal.csv", f"{name}_bilag.pdf", f"{name}.html"):
        assert f in manifest
    user_file = tmp_path / f"{name}_tal.csv"
    user_file.write_text("mine egne tal\n", encoding="utf-8")
    with pytest.raises(InputError):
        build(real_data.path, tmp_path, only=[name], formats=["html", "pdf"], log=lambda m: None)
    assert user_file.read_text(encoding="utf-8") == "mine egne tal\n"
