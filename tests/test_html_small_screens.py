"""The HTML maps on a phone, a tablet and a desktop in headless Chromium: the whole region is in view when the
page opens, below the title box and above the buttons at the bottom; the title is compact on a phone (the
subtitle behind a named button); a map's table starts closed on small screens behind a short, named
button; axe-core finds nothing serious at any width.

These run in CI: ``.ci/run`` installs Chromium and axe-core; with ``CI=true`` a missing tool fails the test.
"""

from __future__ import annotations

import pytest

from browser import axe_violations, probe

WIDTHS = {"telefon": (375, 812), "tablet": (768, 1024), "skærm": (1400, 900)}
SERIOUS = ("serious", "critical")

# Where the region's fitted bounds, and the westernmost municipality's centroid, land on the screen.
FIT = """
var m = window.kkrMap;
var main = JSON.parse(document.querySelector('a[data-kkr-bounds]').getAttribute('data-kkr-bounds'));
function pt(lat, lon) { var p = m.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }
var title = document.querySelector('.kkr-title').getBoundingClientRect();
var box = m.getContainer().getBoundingClientRect();
var legend = document.getElementById('kkr-legend-box');
var bottoms = Array.prototype.map.call(document.querySelectorAll((legend.open ? '' : '.kkr-legend-box > summary, ') + '.kkr-data > summary, details.kkr-table > summary'),
  function (s) { return s.getBoundingClientRect().top; });
var more = document.querySelector('.kkr-more-btn'), sub = document.querySelector('.kkr-title .kkr-more');
var table = document.querySelector('details.kkr-table');
var west = WEST;
var b = m.getBounds();
report({nw: pt(main[1][0], main[0][1]), se: pt(main[0][0], main[1][1]), title_bottom: title.bottom - box.top,
        title_h: title.height, bottom_top: Math.min.apply(null, bottoms.concat([box.height])) - box.top,
        w: box.width, h: box.height, west_in_view: b.contains(west), west: pt(west[0], west[1]),
        more_visible: more ? more.offsetParent !== null : null, more_name: more ? more.textContent.trim() : null,
        more_expanded: more ? more.getAttribute('aria-expanded') : null,
        sub_visible: sub ? sub.offsetParent !== null : null,
        table_open: table ? table.open : null,
        legend_left: legend.open ? legend.getBoundingClientRect().left - box.left : box.width,
        table_summary: table ? table.querySelector('summary').innerText.trim() : null});
"""

TOGGLE = """
var more = document.querySelector('.kkr-more-btn'); more.click();
var sub = document.querySelector('.kkr-title .kkr-more');
report({expanded: more.getAttribute('aria-expanded'), sub_visible: sub.offsetParent !== null,
        views: Array.prototype.map.call(sub.querySelectorAll('a'), function (a) { return a.textContent; })});
"""


def _westernmost(sources) -> list[float]:
    """[lat, lon] of the centroid of the westernmost municipality (not Bornholm's: that one is east)."""
    kom = sources.get("kommuner")
    c = kom.geometry.centroid
    west = kom.loc[c.x.idxmin()]
    pt = kom.loc[[west.name]].geometry.centroid.to_crs(4326).iloc[0]
    return [round(pt.y, 5), round(pt.x, 5)]


@pytest.fixture(scope="module")
def pages(any_data, tmp_path_factory):
    from kkr_geo.maps.build import build
    from kkr_geo.maps.sources import Sources
    out = tmp_path_factory.mktemp("small_screens")
    names = ["borgere_pr_kapacitet_sp51", "parker_og_rejs", "mobilitetsprojekter_oversigt"]
    sources = Sources(any_data)
    build(any_data, out, only=names, formats=["html"], tiles=False, sources=sources, log=lambda m: None)
    return {n: out / f"{n}.html" for n in names if (out / f"{n}.html").exists()}, _westernmost(sources)


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("name", ["borgere_pr_kapacitet_sp51", "parker_og_rejs"])
def test_the_whole_region_is_in_view_below_the_title(pages, name, width):
    files, west = pages
    w, h = WIDTHS[width]
    got = probe(files[name], FIT.replace("WEST", str(west)), width=w, height=h)
    assert got["w"] == w
    (x0, y0), (x1, y1) = got["nw"], got["se"]
    # the fitted extent lies inside the map, below the title box and above the bottom buttons
    assert 0 <= x0 < x1 <= got["legend_left"] <= w, got   # an open legend (wide screens) stands beside the region
    assert got["title_bottom"] <= y0 < y1 <= got["bottom_top"], got
    assert got["west_in_view"], got
    assert 0 < got["west"][0] < w and got["title_bottom"] < got["west"][1] < got["bottom_top"], got
    # and the map uses the screen: the extent fills most of the width or of the height left free
    assert ((x1 - x0) > 0.8 * (got["legend_left"] - 20)
            or (y1 - y0) > 0.8 * (got["bottom_top"] - got["title_bottom"] - 20)), got
    if w <= 600:
        # a compact title: the subtitle folds away behind a named button
        assert got["title_h"] < 0.15 * h, got
        assert got["more_visible"] and got["more_name"] == "Mere om kortet" and got["more_expanded"] == "false"
        assert got["sub_visible"] is False
    else:
        assert got["more_visible"] is False and got["sub_visible"] is True


def test_the_subtitle_button_opens_the_subtitle(pages):
    files, _ = pages
    got = probe(files["parker_og_rejs"], TOGGLE, width=375, height=812)
    assert got == {"expanded": "true", "sub_visible": True, "views": ["Hovedstadsområdet"]}


@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_project_table_starts_closed_on_small_screens(pages, width):
    files, west = pages
    if "mobilitetsprojekter_oversigt" not in files:
        pytest.skip("this data directory has no mobility projects table (the synthetic one has not)")
    w, h = WIDTHS[width]
    got = probe(files["mobilitetsprojekter_oversigt"], FIT.replace("WEST", str(west)), width=w, height=h)
    small = w < 1100
    assert got["table_open"] is (not small)
    if small:
        assert got["table_summary"] == "Tabel (33 rækker)"
        (x0, y0), (x1, y1) = got["nw"], got["se"]
        assert 0 <= x0 < x1 <= w and got["title_bottom"] <= y0 < y1 <= got["bottom_top"], got
    else:
        assert got["table_summary"].startswith("Alle 33 projekter")


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("name", ["parker_og_rejs", "mobilitetsprojekter_oversigt"])
def test_no_serious_axe_violations_at_any_width(pages, name, width):
    files, _ = pages
    if name not in files:
        pytest.skip("this data directory has no mobility projects table (the synthetic one has not)")
    w, h = WIDTHS[width]
    bad = [v for v in axe_violations(files[name], width=w, height=h) if v["impact"] in SERIOUS]
    assert bad == [], bad
