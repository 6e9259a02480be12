"""Reliability: hostile strings in layer values, column names, labels, titles and provenance never reach
the generated HTML page as markup, and output names cannot leave the output directory.

The map is built end to end (``maps.build.build``) from in-memory layers whose names and values carry
classic payloads. Every generated page is parsed with the stdlib ``html.parser``; so is every HTML
fragment that Leaflet would later insert with ``innerHTML`` (tooltips, popups, layer-control names),
which the page carries as JSON strings inside its scripts.
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

import geopandas as gpd
import pytest
import shapely
import yaml

from kkr_geo.geo.errors import KkrGeoError
from reliability_cases import LEDGER, check, reliability_ledger  # noqa: F401  (autouse fixture)

AREA = "html"
# each payload carries a unique marker so the checks can tell injected code from the library's
HOSTILE = [
    "<script>alert(1337)</script>",
    '"><img src=x onerror=alert(1337)>',
    "javascript:alert(1337)",
    "</script><script>alert(1337)</script>",
    "<a href=\"javascript:alert(1337)\">klik</a>",
    "'-alert(1337)-'",
    '";alert(1337);//',
    "<svg/onload=alert(1337)>",
    "{{7*7}} ${alert(1337)} <!-- x",
    "<style>body{display:none}</style>",
    "\u2028\u2029 linjeskift",
]
MARKER = "1337"
JS_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"' + r"|'(?:[^'\\\n]|\\.)*'")
ALLOWED_ONCLICK = re.compile(r"^\w+\.fitBounds\(\[\[[-0-9.]+,[-0-9.]+\],\[[-0-9.]+,[-0-9.]+\]\]\)$")


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)


def _parse(text: str) -> _Page:
    p = _Page()
    p.feed(text)
    p.close()
    return p


def _injections(page: _Page, where: str) -> list[str]:
    """Elements, attributes and URLs that a payload could have created."""
    found = []
    for tag, attrs in page.elements:
        if tag in ("img", "svg", "iframe", "object", "embed") or (tag == "style" and where != "page"):
            found.append(f"{where}: <{tag}> element")
        for name, value in attrs.items():
            value = value or ""
            if name.startswith("on"):
                if not (where == "page" and tag == "a" and name == "onclick" and ALLOWED_ONCLICK.match(value)):
                    found.append(f"{where}: <{tag} {name}={value[:60]!r}>")
            if name in ("href", "src", "action", "formaction", "xlink:href") and \
                    re.sub(r"[\s\x00-\x1f]", "", html.unescape(value)).lower().startswith(("javascript:", "data:text/html", "vbscript:")):
                found.append(f"{where}: <{tag} {name}={value[:60]!r}>")
            if MARKER in name:
                found.append(f"{where}: attribute name {name!r}")
    if where != "page" and any(tag == "script" for tag, _ in page.elements):
        found.append(f"{where}: <script> in a fragment")
    return found


def _script_fragments(script: str) -> list[str]:
    """The JSON/JS string literals of a script, decoded (what Leaflet would put in innerHTML)."""
    out = []
    for lit in JS_STRING.findall(script):
        if lit.startswith('"'):
            try:
                out.append(json.loads(lit))
            except ValueError:
                out.append(lit[1:-1])
        else:
            out.append(lit[1:-1])
    return out


def check_page(text: str) -> tuple[list[str], int]:
    """Return (injections found, hostile strings found as harmless text)."""
    page = _parse(text)
    problems = _injections(page, "page")
    shown = 0
    for script in page.scripts:
        if MARKER not in script:
            continue  # the inlined Leaflet library
        code = JS_STRING.sub('""', script)
        if MARKER in code:  # a payload outside any string literal is executable code
            problems.append(f"script code contains a payload: {code[code.index(MARKER) - 80:code.index(MARKER) + 40]!r}")
        for frag in _script_fragments(script):
            if MARKER in frag or "linjeskift" in frag:
                fp = _parse(frag)
                problems += _injections(fp, "fragment")
                fragment_text = "".join(fp.text)
                shown += sum(h in fragment_text for h in HOSTILE)
    page_text = "".join(page.text)
    shown += sum(h in page_text for h in HOSTILE)
    return problems, shown


def _hostile_sources(data_dir):
    from kkr_geo.maps.sources import Sources

    n = len(HOSTILE)
    polys = gpd.GeoDataFrame(
        {"navn": HOSTILE, "værdi": [float(i) for i in range(n)], "note": HOSTILE[::-1],
         HOSTILE[0]: HOSTILE, "precision": ["koordinat"] * n},
        geometry=[shapely.box(700_000 + i * 3000, 6_170_000, 702_000 + i * 3000, 6_172_000) for i in range(n)], crs=25832)
    polys.attrs.update({"source": f"Kilde {HOSTILE[0]}; {HOSTILE[1]}", "precision": "exact", "title": HOSTILE[3],
                        "notes": list(HOSTILE)})
    points = gpd.GeoDataFrame({"navn": HOSTILE}, geometry=[shapely.Point(701_000 + i * 3000, 6_171_000) for i in range(n)],
                              crs=25832)
    points.attrs.update({"source": HOSTILE[2], "precision": "postnummer"})
    lines = gpd.GeoDataFrame({"navn": HOSTILE[:2], "antal": [5.0, 9.0]},
                             geometry=[shapely.LineString([(700_000, 6_165_000), (720_000, 6_168_000)]),
                                       shapely.LineString([(700_000, 6_166_000), (720_000, 6_169_000)])], crs=25832)
    lines.attrs.update({"source": HOSTILE[4], "precision": "schematic"})
    src = Sources(data_dir)  # the region outline and Bornholm inset come from the data directory
    src.register("ond_flader", polys)
    src.register("ond_punkter", points)
    src.register("ond_linjer", lines)
    return src


def _hostile_spec(spec_dir, *, name="ond"):
    h = " | ".join(HOSTILE)
    spec = {
        "name": name, "title": f"Titel {h}", "subtitle": f"Undertitel {h}", "data_date": f"dato {HOSTILE[1]}",
        "description": h,
        "layers": [
            {"id": "fl", "source": "ond_flader", "style": "choropleth", "label": f"Lag {h}",
             "tooltip": [{"navn": f"Navn {HOSTILE[1]}"}, "værdi", {"note": HOSTILE[7]}, HOSTILE[0]],
             "popup": ["navn", "note", HOSTILE[0]]},
            {"id": "pk", "source": "ond_punkter", "style": "point", "label": f"Punkter {HOSTILE[3]}", "tooltip": ["navn"]},
            {"id": "ln", "source": "ond_linjer", "style": "line", "label": f"Linjer {HOSTILE[5]}", "tooltip": ["navn"],
             "source_note": f"note {HOSTILE[6]}"},
        ],
        "indicator": {"layer": "fl", "column": "værdi", "label": f"Indikator {h}", "unit": HOSTILE[1]},
        "labels": {"layer": "fl", "column": "navn"},
        "sources": [f"ekstra kilde {HOSTILE[4]}"],
        "notes": [f"note {h}"],
    }
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / f"{name}.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return spec_dir


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory, any_data):
    pytest.importorskip("folium")
    from kkr_geo.maps.build import build

    tmp = tmp_path_factory.mktemp("hostile")
    specs = _hostile_spec(tmp / "specs")
    out = tmp / "bilag"
    report = build(None, out, spec_dir=specs, sources=_hostile_sources(any_data), formats=["html", "png"],
                   with_geopackage=False, tiles=False, log=lambda m: None)
    return report, out


def test_hostile_strings_are_escaped_in_the_html_map(hostile_build):
    report, out = hostile_build
    pages = sorted(out.glob("*.html"))
    assert pages, f"no HTML page built: {[(m.name, m.skipped) for m in report.maps]}"
    for page in pages:
        problems, shown = check_page(page.read_text(encoding="utf-8"))
        LEDGER.html_strings_checked += shown
        LEDGER.unescaped_strings += len(problems)
        check(f"hostile_strings:{page.name}", AREA, "parses", "parses" if not problems else "unescaped",
              "; ".join(problems[:10]))
        # the payloads must still be visible to the reader, as text
        assert shown >= len(HOSTILE), f"only {shown} hostile strings found as text"


def test_hostile_strings_do_not_break_the_static_map(hostile_build):
    report, out = hostile_build
    ok = (out / "ond.png").exists() and (out / "ond.png").stat().st_size > 10_000
    check("hostile_strings:static_png", AREA, "parses", "parses" if ok else "silent_loss", str(report.maps[0].files))


def test_mathtext_dollar_signs_in_names(tmp_path, any_data):
    """Matplotlib reads $...$ as math: a name like '$\\broken{$' must not crash the static map."""
    from kkr_geo.maps.build import build

    src = _hostile_sources(any_data)
    g = src.extra["ond_flader"].copy()
    g["navn"] = [r"$\broken{$", "Pris $5 og $10", r"$\frac{1}{0}$", "a_b^c", "100 %"] + [f"k{i}" for i in range(len(g) - 5)]
    src.register("ond_flader", g)
    specs = _hostile_spec(tmp_path / "specs", name="dollar")
    try:
        report = build(None, tmp_path / "ud", spec_dir=specs, sources=src, formats=["png"], with_geopackage=False,
                       tiles=False, log=lambda m: None)
        outcome = "parses" if (tmp_path / "ud" / "dollar.png").exists() else "silent_loss"
        detail = str(report.maps[0].files)
    except KkrGeoError as exc:
        outcome, detail = "clear_error", str(exc)
    except Exception as exc:  # noqa: BLE001
        outcome, detail = "unclear", f"{type(exc).__name__}: {exc}"
    leftovers = [p.name for p in (tmp_path / "ud").glob(".*part*")] if (tmp_path / "ud").exists() else []
    check("mathtext_dollar_names", AREA, "parses", outcome if not leftovers else "silent_loss", f"{detail} {leftovers}")


def test_checker_catches_an_unescaped_page():
    """The HTML check itself: an unescaped payload in a page or a tooltip is found."""
    bad_page = f"<html><body><h1>{HOSTILE[1]}</h1></body></html>"
    bad_tip = '<script>var d = {"_t": "<img src=x onerror=alert(1337)>"};</script>'
    bad_code = '<script>var name = "x";alert(1337);//";</script>'
    good = f"<html><body><h1>{html.escape(HOSTILE[1])}</h1><script>var d = {json.dumps({'_t': html.escape(HOSTILE[0])})};</script></body></html>"
    assert check_page(bad_page)[0]
    assert check_page(bad_tip)[0]
    assert check_page(bad_code)[0]
    assert check_page(good)[0] == []


# ------------------------------------------------------------------------------- output names

@pytest.mark.parametrize("name", ["../../evil", "..", "/abs/evil", "evil\n", "Evil", "a/b", "con.html", ""])
def test_spec_names_cannot_escape_the_output_dir(name, tmp_path):
    from kkr_geo.maps.spec import load_specs

    d = tmp_path / "specs"
    d.mkdir()
    (d / "x.yaml").write_text(yaml.safe_dump({"name": name, "title": "t", "layers": [
        {"id": "a", "source": "kommuner", "style": "outline"}]}), encoding="utf-8")
    try:
        specs = load_specs(d)
    except KkrGeoError as exc:
        return check(f"spec_name:{name!r}", AREA, "clear_error", "clear_error" if "name" in str(exc) else "unclear", str(exc))
    out = (tmp_path / "bilag").resolve()
    escaped = [s.name for s in specs if (out / f"{s.name}.html").resolve().parent != out or "\n" in s.name]
    check(f"spec_name:{name!r}", AREA, "clear_error", "silent_loss" if escaped else "parses", f"accepted {escaped}")


def test_only_with_a_path_is_refused(tmp_path):
    from kkr_geo.maps.spec import load_specs

    with pytest.raises(KkrGeoError) as ei:
        load_specs(None, only=["../../evil"])
    check("build_only_path", AREA, "clear_error", "clear_error" if "evil" in str(ei.value) else "unclear")


def test_spec_file_stem_with_odd_characters(tmp_path):
    from kkr_geo.maps.spec import load_specs

    d = tmp_path / "specs"
    d.mkdir()
    (d / "..evil name.yaml").write_text(yaml.safe_dump({"title": "t", "layers": [
        {"id": "a", "source": "kommuner", "style": "outline"}]}), encoding="utf-8")
    with pytest.raises(KkrGeoError) as ei:
        load_specs(d)
    check("spec_file_stem_odd", AREA, "clear_error", "clear_error" if "..evil name" in str(ei.value) else "unclear",
          str(ei.value))
