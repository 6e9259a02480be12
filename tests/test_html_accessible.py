"""The HTML maps in a real browser (headless Chromium): accessible (axe-core: no serious or critical
violations, lang="da", keyboard-reachable controls), usable at phone, tablet and desktop widths
(layer control and legend collapsed on small screens, legend toggleable), and nothing hover-only (a
"Tal bag kortet" section holds the figures as an HTML table).

These run in CI: ``.ci/run`` installs Chromium and axe-core; with ``CI=true`` a missing tool fails the test.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pytest
import shapely

from browser import axe_violations, probe
from kkr_geo.maps.interactive import render_html
from kkr_geo.maps.prepare import prepare
from kkr_geo.maps.sources import Sources
from kkr_geo.maps.spec import parse_spec

WIDTHS = {"telefon": (375, 812), "tablet": (768, 1024), "skærm": (1400, 900)}
SERIOUS = ("serious", "critical")


def _synthetic(tmp_path):
    boxes = [shapely.box(700_000 + i * 6_000, 6_170_000, 705_500 + i * 6_000, 6_180_000) for i in range(4)]
    kom = gpd.GeoDataFrame({"kommunekode": ["0101", "0147", "0151", "0153"],
                            "navn": ["København", "Frederiksberg <b>&</b>", "Ballerup", "Brøndby"],
                            "v": [14324.0, 4178.0, np.nan, 3825.0]}, geometry=boxes, crs=25832)
    kom.attrs.update(title="Kommuner", source="test", precision="exact", status="ok", notes=[])
    s = Sources(tmp_path)
    s.register("kommuner", kom)
    spec = parse_spec({
        "title": "Borgere pr. kapacitet", "subtitle": "Test",
        "layers": [{"id": "kom", "source": "kommuner", "style": "choropleth", "label": "Kommuner",
                    "tooltip": [{"navn": "Kommune"}, {"v": "Borgere pr. kapacitet"}]}],
        "indicator": {"layer": "kom", "column": "v", "label": "Borgere pr. kapacitet", "darker": "flere borgere"},
        "classification": {"scheme": "equal_interval", "k": 2}}, label="t.yaml", name="t")
    out = tmp_path / "t.html"
    render_html(prepare(spec, s), out, tiles=False)
    return out


LAYOUT = """
var vw = window.innerWidth, vh = window.innerHeight;
function rect(el){ if(!el) return null; var r = el.getBoundingClientRect(); return {x:r.left,y:r.top,w:r.width,h:r.height}; }
var lc = document.querySelector('.leaflet-control-layers');
var legend = document.getElementById('kkr-legend');
var box = document.getElementById('kkr-legend-box');
var data = document.getElementById('kkr-data');
var focusable = Array.prototype.map.call(document.querySelectorAll('.kkr-views a, #kkr-legend-box > summary, #kkr-data > summary, .leaflet-control-layers-toggle'),
  function(a){ return {tag: a.tagName, tab: a.tabIndex, text: a.textContent.trim()}; });
var lv = legend ? legend.getBoundingClientRect() : null;
report({vw: vw, vh: vh, lang: document.documentElement.lang,
  layers_expanded: lc ? lc.classList.contains('leaflet-control-layers-expanded') : null,
  legend_open: box ? box.open : null,
  legend_visible_area: (lv && (legend.checkVisibility ? legend.checkVisibility() : legend.offsetParent !== null))
                       ? lv.width * lv.height / (vw * vh) : 0,
  data_summary: data ? data.querySelector('summary').textContent.trim() : null,
  data_rows: data ? data.querySelectorAll('table tr').length : 0,
  data_text: data ? data.textContent : '',
  focusable: focusable});
"""


@pytest.mark.parametrize("width", ["telefon", "skærm"])
def test_synthetic_map_has_no_serious_axe_violations(tmp_path, width):
    page = _synthetic(tmp_path)
    bad = [v for v in axe_violations(page, width=WIDTHS[width][0], height=WIDTHS[width][1]) if v["impact"] in SERIOUS]
    assert bad == [], bad


def test_synthetic_map_figures_are_not_hover_only(tmp_path):
    page = _synthetic(tmp_path)
    got = probe(page, LAYOUT, width=1400, height=900)
    assert got["lang"] == "da"
    assert got["data_summary"] == "Tal bag kortet"
    # one header row + one row per feature; the values in Danish format, the hostile name as text
    assert got["data_rows"] == 1 + 4
    assert "14.324" in got["data_text"] and "Frederiksberg <b>&</b>" in got["data_text"]


@pytest.fixture(scope="module")
def annex_html(real_data, tmp_path_factory):
    from kkr_geo.maps.build import build
    out = tmp_path_factory.mktemp("html")
    names = ["borgere_pr_kapacitet_sp51", "brt_oplande", "stationsnaerhed"]
    build(real_data, out, only=names, formats=["html"], tiles=False, log=lambda m: None)
    return {n: out / f"{n}.html" for n in names}


@pytest.mark.parametrize("name", ["borgere_pr_kapacitet_sp51", "brt_oplande", "stationsnaerhed"])
def test_annex_maps_have_no_serious_axe_violations(annex_html, name):
    bad = [v for v in axe_violations(annex_html[name], width=768, height=1024) if v["impact"] in SERIOUS]
    assert bad == [], bad


@pytest.mark.parametrize("width", list(WIDTHS))
def test_annex_map_layout_per_screen_width(annex_html, width):
    w, h = WIDTHS[width]
    got = probe(annex_html["brt_oplande"], LAYOUT, width=w, height=h)
    assert got["vw"] == w
    small = w < 1100
    # small screens: the layer list and the legend start collapsed, so the map is visible; both can be opened
    assert got["layers_expanded"] is False
    assert got["legend_open"] is (not small)
    if small:
        assert got["legend_visible_area"] == 0
    else:
        assert 0 < got["legend_visible_area"] < 0.25
    # every control can be reached with the keyboard (a link with href or a summary: tabIndex 0)
    assert got["focusable"] and all(f["tab"] >= 0 for f in got["focusable"]), got["focusable"]
    assert {"Signaturforklaring", "Tal bag kortet", "Hovedstadsområdet"} <= {f["text"] for f in got["focusable"]}


def test_annex_figures_in_a_table_and_no_codes_or_na(annex_html):
    sp51 = probe(annex_html["borgere_pr_kapacitet_sp51"], LAYOUT, width=1400, height=900)
    assert sp51["data_rows"] >= 1 + 37  # every planning area, with its value
    assert "Valby" in sp51["data_text"] and "14.324" in sp51["data_text"]
    brt = annex_html["brt_oplande"].read_text(encoding="utf-8")
    assert "&lt;NA&gt;" not in brt and "<NA>" not in brt
    tips = " ".join(re.findall(r'"_[tp]":"((?:[^"\\]|\\.)*)"', brt))
    for code in ("150s", "200s", "koebstaeder", "frederikssundsvej", "ring4"):
        assert f">{code}<" not in tips, code
    # the stops without a corridor say why
    assert "Kilden beskriver ingen korridor; kun stationen er vist" in tips
    brt_probe = probe(annex_html["brt_oplande"], LAYOUT, width=1400, height=900)
    # the catchment figures are there, rounded to the nearest 100
    approx = [int(v.replace(".", "")) for v in re.findall(r"ca\. (\d{1,3}(?:\.\d{3})*)", brt_probe["data_text"])]
    assert len(approx) >= 8 and all(v % 100 == 0 for v in approx), approx
