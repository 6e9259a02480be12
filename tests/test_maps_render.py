"""Rendering on small synthetic layers (no data directory needed): static and HTML outputs,
escaping of hostile strings, self-containment, determinism, flows."""

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from PIL import Image

from kkr_geo.maps.flows import flow_lines, read_flow_table
from kkr_geo.maps.inline import external_asset_urls
from kkr_geo.maps.interactive import render_html
from kkr_geo.maps.prepare import prepare
from kkr_geo.maps.sources import Sources, SourceUnavailable
from kkr_geo.maps.spec import parse_spec
from kkr_geo.maps.static import render_static

HOSTILE = '<img src=x onerror="alert(1)">Ølstykke & Co'


def _kommuner():
    boxes = [shapely.box(700_000 + i * 6_000, 6_170_000, 705_500 + i * 6_000, 6_180_000) for i in range(4)]
    boxes.append(shapely.box(870_000, 6_110_000, 890_000, 6_130_000))  # "Bornholm"
    gdf = gpd.GeoDataFrame({
        "kommunekode": ["0101", "0147", "0151", "0153", "0400"],
        "navn": ["København", HOSTILE, "Ballerup", "Brøndby", "Bornholm"],
        "befolkning": [653_664, 104_305.0, 52_000, np.nan, 39_572],
    }, geometry=boxes, crs=25832)
    gdf.attrs.update(title="Kommuner", source="SDFI (DAGI); Danmarks Statistik", precision="exact", status="ok", notes=[])
    return gdf


def _lines():
    gdf = gpd.GeoDataFrame({"projekt": ["a"], "navn": [HOSTILE], "passagerer": [12345.6]},
                           geometry=[shapely.LineString([(701_000, 6_171_000), (720_000, 6_179_000)])], crs=25832)
    gdf.attrs.update(title="BRT", source="KKR Hovedstaden; skematisk linjeføring", precision="schematic", status="ok", notes=[])
    return gdf


@pytest.fixture()
def sources(tmp_path):
    s = Sources(tmp_path)
    s.register("kommuner", _kommuner())
    s.register("linjer", _lines())
    return s


SPEC = {
    "title": "Befolkning <b>pr.</b> kommune",
    "subtitle": "Test & kontrol",
    "layers": [
        {"id": "kom", "source": "kommuner", "style": "choropleth", "label": HOSTILE,
         "tooltip": [{"navn": "Kommune"}, {"befolkning": "Borgere"}]},
        {"id": "brt", "source": "linjer", "style": "line", "label": "BRT-korridor", "tooltip": ["navn", "passagerer"]},
    ],
    "indicator": {"layer": "kom", "column": "befolkning", "label": "Befolkning", "unit": "borgere"},
    "classification": {"scheme": "equal_interval", "k": 3},
    "labels": {"layer": "kom", "column": "navn"},
    "sources": ["Egen opgørelse"],
}


def _pm(sources, **over):
    spec = parse_spec({**SPEC, **over}, label="test.yaml", name="test")
    return prepare(spec, sources)


def test_prepare_provenance_and_schematic(sources):
    pm = _pm(sources)
    assert pm.source_line == "Kilde: SDFI (DAGI), Danmarks Statistik, KKR Hovedstaden, Egen opgørelse; skematisk linjeføring"
    assert pm.layer("brt").schematic and pm.layer("brt").label == "BRT-korridor (skematisk linjeføring)"
    assert pm.inset_extent is not None and pm.extent[2] < 800_000  # Bornholm goes in the inset


def test_html_self_contained_and_escaped(sources, tmp_path):
    pm = _pm(sources)
    out = tmp_path / "m.html"
    size = render_html(pm, out)
    html = out.read_text(encoding="utf-8")
    assert size == len(html.encode("utf-8")) < 3 * 1024 * 1024
    assert external_asset_urls(html) == []
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']?(https?:)?//", html)
    assert "L.geoJSON" in html and "Leaflet 1.9.4" in html  # Leaflet inlined
    # the hostile string never appears raw; its escaped form does (tooltip, legend, layer control)
    assert "<img src=x" not in html and "onerror=\"alert" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;Ølstykke &amp; Co" in html
    assert "<b>pr.</b>" not in html and "Befolkning &lt;b&gt;pr.&lt;/b&gt; kommune" in html
    assert "12.346" in html and "653.664" in html  # Danish format in tooltips
    # no random folium ids
    assert not re.search(r"_[0-9a-f]{32}", html)


def test_html_legend_matches_data(sources, tmp_path):
    pm = _pm(sources)
    out = tmp_path / "m.html"
    render_html(pm, out)
    html = out.read_text(encoding="utf-8")
    legend = html[html.index('id="kkr-legend"'):]
    labels = re.findall(r'<div class="kkr-li"><span class="kkr-sw"[^>]*></span>([^<]+)</div>', legend)
    vals = pd.to_numeric(_kommuner()["befolkning"]).dropna()
    assert labels[0].startswith("39.572–") and labels[pm.classification.k - 1].endswith("–653.664")
    assert labels[-1] == "Ingen data"
    assert sum(pm.classification.counts) == len(vals)


def test_html_without_tiles(sources, tmp_path):
    out = tmp_path / "nt.html"
    render_html(_pm(sources), out, tiles=False)
    html = out.read_text(encoding="utf-8")
    assert "tile.openstreetmap" not in html and "L.tileLayer" not in html


def test_static_outputs_dpi_and_determinism(sources, tmp_path):
    pm = _pm(sources)
    files = {f: tmp_path / f"a.{f}" for f in ("png", "pdf", "svg")}
    res = render_static(pm, files, dpi=300)
    img = Image.open(files["png"])
    assert abs(img.size[0] - 210 / 25.4 * 300) <= 1 and abs(img.size[1] - 297 / 25.4 * 300) <= 1  # A4 at 300 dpi
    assert [round(d) for d in img.info["dpi"]] == [300, 300]
    assert files["pdf"].read_bytes().startswith(b"%PDF") and b"CreationDate" not in files["pdf"].read_bytes()
    assert b"<dc:date>" not in files["svg"].read_bytes()
    again = {f: tmp_path / f"b.{f}" for f in files}
    render_static(_pm(sources), again, dpi=300)
    for f in files:
        assert files[f].read_bytes() == again[f].read_bytes(), f
    h1, h2 = tmp_path / "1.html", tmp_path / "2.html"
    render_html(pm, h1)
    render_html(_pm(sources), h2)
    assert h1.read_bytes() == h2.read_bytes()
    # legend shows units, Danish numbers, schematic marking
    assert "Befolkning (borgere)" in res.legend_labels
    assert "BRT-korridor (skematisk linjeføring)" in res.legend_labels
    assert any(lab.endswith("653.664") for lab in res.legend_labels)
    assert res.scale_denominator > 0


@pytest.mark.parametrize("size,orient", [("A4", "landscape"), ("A3", "portrait"), ("A3", "landscape")])
def test_page_sizes(sources, tmp_path, size, orient):
    pm = _pm(sources, page={"size": size, "orientation": orient})
    png = tmp_path / "p.png"
    render_static(pm, {"png": png}, dpi=40)
    w, h = {"A4": (210, 297), "A3": (297, 420)}[size]
    if orient == "landscape":
        w, h = h, w
    got = Image.open(png).size
    assert abs(got[0] - w / 25.4 * 40) <= 1 and abs(got[1] - h / 25.4 * 40) <= 1


def test_labels_do_not_overlap(sources, tmp_path):
    res = render_static(_pm(sources), {"png": tmp_path / "l.png"}, dpi=100)
    boxes = res.label_boxes
    assert res.labels_placed
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


def test_optional_layer_and_unavailable_source(sources, tmp_path):
    spec = {**SPEC, "layers": SPEC["layers"] + [{"id": "x", "source": "patientstroemme", "style": "flow",
                                                  "label": "Strømme", "optional": True}]}
    pm = prepare(parse_spec(spec, label="t.yaml", name="t"), sources)
    assert any("Strømme: ikke vist" in n for n in pm.notes)
    spec["layers"][-1]["optional"] = False
    with pytest.raises(SourceUnavailable, match="no flow table"):
        prepare(parse_spec(spec, label="t.yaml", name="t"), sources)


def test_flow_map(sources, tmp_path):
    table = tmp_path / "patientstroemme.csv"
    table.write_text("\ufeffbopaelskommune;klinikkommune;antal\nKøbenhavn;Ballerup;120\nBallerup;København;45\n"
                     "0153;0101;1.200\nKøbenhavn;København;5000\n", encoding="utf-8")
    flows = read_flow_table(table)
    assert list(flows["antal"]) == [120, 45, 1200, 5000]
    gdf = flow_lines(flows, _kommuner(), source=str(table))
    assert set(gdf["part"]) == {"linje", "pil"} and len(gdf) == 6  # internal flow not drawn
    assert "5.000 patienter behandles i egen kommune" in gdf.attrs["notes"][0]
    sources.register("patientstroemme", gdf)
    spec = {"title": "Patientstrømme", "layers": [
        {"id": "kom", "source": "kommuner", "style": "fill"},
        {"id": "flow", "source": "patientstroemme", "style": "flow", "label": "Patienter",
         "tooltip": {"fra": "Bopælskommune", "til": "Klinikkommune", "antal": "Patienter"}}]}
    pm = prepare(parse_spec(spec, label="f.yaml", name="f"), sources)
    res = render_static(pm, {"png": tmp_path / "f.png"}, dpi=50)
    assert any(lab.endswith("patienter") for lab in res.legend_labels)
    render_html(pm, tmp_path / "f.html")
    html = (tmp_path / "f.html").read_text(encoding="utf-8")
    assert "1.200" in html and external_asset_urls(html) == []


def test_flow_table_errors(tmp_path):
    from kkr_geo.geo.errors import InputError
    bad = tmp_path / "f.csv"
    bad.write_text("a;b;c\n1;2;3\n", encoding="utf-8")
    with pytest.raises(InputError, match="home municipality"):
        read_flow_table(bad)
    ok = tmp_path / "g.csv"
    ok.write_text("fra;til;antal\nAarhus;København;3\n", encoding="utf-8")
    with pytest.raises(InputError, match="not in the region: Aarhus"):
        flow_lines(read_flow_table(ok), _kommuner())


def test_static_text_is_not_mathtext(sources, tmp_path):
    kom = _kommuner()
    kom.loc[2, "navn"] = "Pris $\\frac{1}{0}$ & 50 % {x}"
    sources.register("kommuner", kom)
    pm = _pm(sources, title="Titel med $dollar$ og \\n backslash")
    res = render_static(pm, {"png": tmp_path / "m.png", "svg": tmp_path / "m.svg"}, dpi=40)
    assert "Pris $\\frac{1}{0}$ & 50 % {x}" in res.labels_placed + res.labels_dropped
