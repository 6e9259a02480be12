"""Tests for the three mutants that survived the mutation probe.

1. reprojection of layers in another CRS (GeoPackage export, --klinikker, --facilities): a mutant that
   only relabels the CRS (``set_crs``) instead of transforming (``to_crs``) must fail;
2. ``</script>`` and friends inside the JSON that the interactive HTML map embeds in its <script>;
3. the printed scale "Målestok 1:N" and the scale bar of the static map, measured on the figure.

Expected coordinates come from pyproj directly (not from geopandas' ``to_crs``, the code under test).
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from affine import Affine
from pyproj import Transformer

from kkr_geo.cli import main
from kkr_geo.geo.population import PopulationGrid
from kkr_geo.layers.export import export_geopackage

TOL_M = 0.01

# known places (lon, lat): Nørrebro, Hillerød station, Rønne (Bornholm)
NOERREBRO = (12.5536, 55.6936)
HILLEROED = (12.3107, 55.9276)
ROENNE = (14.7067, 55.1005)


def _expected_25832(xy, from_epsg: int) -> np.ndarray:
    t = Transformer.from_crs(f"EPSG:{from_epsg}", "EPSG:25832", always_xy=True)
    xy = np.asarray(xy, dtype=float)
    x, y = t.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def _in_crs(lonlat, epsg: int) -> list[tuple[float, float]]:
    """The lon/lat points expressed in ``epsg`` (pyproj)."""
    if epsg == 4326:
        return [tuple(p) for p in lonlat]
    t = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    return [t.transform(*p) for p in lonlat]


def _coords(gdf) -> np.ndarray:
    return shapely.get_coordinates(gdf.geometry.values)


def _assert_moved_to_25832(back: gpd.GeoDataFrame, source_coords, from_epsg: int, what: str) -> None:
    assert back.crs is not None and back.crs.to_epsg() == 25832, f"{what}: CRS {back.crs}"
    want = _expected_25832(source_coords, from_epsg)
    got = _coords(back)
    assert got.shape == want.shape, f"{what}: {got.shape} vs {want.shape}"
    err = np.abs(got - want).max()
    assert err <= TOL_M, f"{what}: coordinates are up to {err:.3f} m from pyproj's EPSG:{from_epsg} -> 25832 transform"


# ============================================================== 1. reprojection on export and load

def test_export_reprojects_layers_from_other_crs(tmp_path):
    pts_ll = [NOERREBRO, HILLEROED, ROENNE]
    points_4326 = gpd.GeoDataFrame({"navn": ["Nørrebro", "Hillerød", "Rønne"]},
                                   geometry=[shapely.Point(p) for p in pts_ll], crs=4326)
    ring_33 = _in_crs([(12.50, 55.65), (12.60, 55.65), (12.60, 55.72), (12.50, 55.72), (12.50, 55.65)], 25833)
    poly_25833 = gpd.GeoDataFrame({"navn": ["firkant"]}, geometry=[shapely.Polygon(ring_33)], crs=25833)
    line_3857 = _in_crs([NOERREBRO, HILLEROED], 3857)
    lines_3857 = gpd.GeoDataFrame({"navn": ["linje"]}, geometry=[shapely.LineString(line_3857)], crs=3857)
    already = gpd.GeoDataFrame({"navn": ["utm32"]}, geometry=[shapely.Point(724_000.5, 6_175_000.25)], crs=25832)
    out = tmp_path / "lag.gpkg"
    summary = export_geopackage(out, {"punkter_4326": points_4326, "flade_25833": poly_25833,
                                      "linje_3857": lines_3857, "punkt_25832": already})
    for name in ("punkter_4326", "flade_25833", "linje_3857", "punkt_25832"):
        assert summary["layers"][name]["crs"] == "EPSG:25832"
    _assert_moved_to_25832(pyogrio.read_dataframe(out, layer="punkter_4326"), pts_ll, 4326, "points from EPSG:4326")
    _assert_moved_to_25832(pyogrio.read_dataframe(out, layer="flade_25833"), ring_33, 25833, "polygon from EPSG:25833")
    _assert_moved_to_25832(pyogrio.read_dataframe(out, layer="linje_3857"), line_3857, 3857, "line from EPSG:3857")
    back = pyogrio.read_dataframe(out, layer="punkt_25832")
    assert back.crs.to_epsg() == 25832 and np.abs(_coords(back) - [[724_000.5, 6_175_000.25]]).max() <= TOL_M
    # the input frames are not changed by the export
    assert points_4326.crs.to_epsg() == 4326 and _coords(points_4326)[0].tolist() == list(NOERREBRO)


@pytest.mark.parametrize("epsg,suffix", [(4326, ".geojson"), (25833, ".gpkg")])
def test_cli_export_klinikker_file_in_other_crs(tmp_path, real_data, epsg, suffix):
    """`kkr-geo layers export --klinikker FILE` with FILE in EPSG:4326 or EPSG:25833."""
    pts_ll = [NOERREBRO, HILLEROED, ROENNE]
    src_xy = _in_crs(pts_ll, epsg)
    f = tmp_path / f"klinikker_{epsg}{suffix}"
    gpd.GeoDataFrame({"navn": ["Nørrebro", "Hillerød", "Rønne"], "kapacitet_sp51": [2.0, 3.0, 1.0]},
                     geometry=[shapely.Point(p) for p in src_xy], crs=epsg).to_file(f, engine="pyogrio")
    out = tmp_path / "lag.gpkg"
    rc = main(["--data-dir", str(real_data.path), "layers", "export", str(out), "--klinikker", str(f)])
    assert rc == 0
    back = pyogrio.read_dataframe(out, layer="klinikker")
    assert back["navn"].tolist() == ["Nørrebro", "Hillerød", "Rønne"]
    _assert_moved_to_25832(back, src_xy, epsg, f"klinikker from EPSG:{epsg}")


def test_cli_klinikker_table_with_lat_lon(tmp_path, real_data):
    """A clinic table with WGS84 lat/lon columns (Danish decimal comma) lands where pyproj says."""
    pts_ll = [NOERREBRO, HILLEROED, ROENNE]
    f = tmp_path / "klinikker.csv"
    rows = ["navn;lat;lon;kapacitet_sp51"] + [f"K{i};{lat};{lon};1".replace(".", ",") for i, (lon, lat) in enumerate(pts_ll)]
    f.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "lag.gpkg"
    assert main(["--data-dir", str(real_data.path), "layers", "export", str(out), "--klinikker", str(f)]) == 0
    back = pyogrio.read_dataframe(out, layer="klinikker")
    _assert_moved_to_25832(back, pts_ll, 4326, "klinikker.csv lat/lon")


X0, Y0 = 700_000.0, 6_170_000.0


@pytest.mark.parametrize("epsg", [4326, 25833])
def test_cli_facilities_file_in_other_crs(tmp_path, real_data, epsg):
    """`kkr-geo access --facilities FILE` with FILE in another CRS: the facility sits where pyproj puts it
    (in the output GeoPackage), and it serves the same people as the same facility given in EPSG:25832."""
    corner = (X0 + 50, Y0 + 950)  # centre of the top-left cell of the toy grid
    src_xy = [Transformer.from_crs("EPSG:25832", f"EPSG:{epsg}", always_xy=True).transform(*corner)]
    grid = PopulationGrid(np.ones((10, 10)), Affine(100, 0, X0, 0, -100, Y0 + 1000), source="toy", precision="exact")
    pop = grid.to_geotiff(tmp_path / "pop.tif")
    fac = tmp_path / f"fac_{epsg}.gpkg"
    gpd.GeoDataFrame({"navn": ["Hjørne"], "kapacitet": [5.0]}, geometry=[shapely.Point(src_xy[0])],
                     crs=epsg).to_file(fac, engine="pyogrio")
    out = tmp_path / "ud"
    rc = main(["--data-dir", str(real_data.path), "access", "--facilities", str(fac), "--population", str(pop),
               "--capacity-column", "kapacitet", "--catchment", "500", "--detour-factor", "1", "--areas", "none",
               "--out", str(out)])
    assert rc == 0
    back = pyogrio.read_dataframe(out / "access.gpkg", layer="facilities")
    _assert_moved_to_25832(back, src_xy, epsg, f"--facilities from EPSG:{epsg}")
    assert np.abs(_coords(back) - [corner]).max() <= TOL_M
    # 26 cell centres lie within 500 m of the corner cell's centre (see test_analysis_cli)
    assert back["demand_population"].iloc[0] == 26


def test_layer_finish_reprojects_an_in_memory_layer_from_lonlat():
    """A layer module handing finish() a frame in EPSG:4326 gets it back transformed, not relabelled."""
    from kkr_geo.layers._common import finish

    pts_ll = [NOERREBRO, HILLEROED]
    gdf = gpd.GeoDataFrame({"navn": ["a", "b"]}, geometry=[shapely.Point(p) for p in pts_ll], crs=4326)
    out = finish(gdf, name="test", family="point", source="test", licence="test", precision="exact", id_column="navn")
    _assert_moved_to_25832(out, pts_ll, 4326, "finish() from EPSG:4326")


# ============================================================== 2. hostile text in the HTML map's embedded JSON

HOSTILE_NAMES = [
    "Klinik </script><script>alert(1)</script>",
    "Station </SCRIPT >",
    "Kommentar <!-- skjult",
    "<script>alert(2)</script>",
    "Linje\u2028skift og afsnit\u2029skift",
    "</scr" + "ipt",
    "Ølstykke & Co",
]
NOTE_LABEL = "Note </Script\t><!--"
CLOSE_SCRIPT = re.compile(r"</script", re.I)


def _html_map(tmp_path, names: list[str], stem: str, note_label: str) -> str:
    from kkr_geo.maps.interactive import render_html
    from kkr_geo.maps.prepare import prepare
    from kkr_geo.maps.sources import Sources
    from kkr_geo.maps.spec import parse_spec

    n = len(names)
    polys = gpd.GeoDataFrame(
        {"navn": names, "note": names[::-1], "værdi": [float(10 * i + 1) for i in range(n)]},
        geometry=[shapely.box(700_000 + i * 3_000, 6_170_000, 702_500 + i * 3_000, 6_173_000) for i in range(n)], crs=25832)
    polys.attrs.update(title="Flader", source="Test", precision="exact", status="ok", notes=[])
    points = gpd.GeoDataFrame({"navn": names}, geometry=[shapely.Point(701_000 + i * 3_000, 6_175_000) for i in range(n)],
                              crs=25832)
    points.attrs.update(title="Punkter", source="Test", precision="exact", status="ok", notes=[])
    src = Sources(tmp_path)
    src.register("flader", polys)
    src.register("punkter", points)
    spec = parse_spec({
        "title": "Kort", "extent": "data",
        "layers": [
            {"id": "fl", "source": "flader", "style": "choropleth", "label": "Flader", "tooltip": [{"navn": "Navn"}, {"note": note_label}]},
            {"id": "pk", "source": "punkter", "style": "point", "label": "Punkter", "tooltip": ["navn"]},
        ],
        "indicator": {"layer": "fl", "column": "værdi", "label": "Værdi", "unit": "stk"},
        "classification": {"scheme": "equal_interval", "k": 3},
    }, label=f"{stem}.yaml", name=stem)
    out = tmp_path / f"{stem}.html"
    render_html(prepare(spec, src), out, tiles=False)
    return out.read_text(encoding="utf-8")


def _embedded_geojson(page: str) -> list[tuple[str, dict]]:
    """(raw JSON text, parsed object) of every FeatureCollection the page passes to L.geoJSON(...)."""
    dec = json.JSONDecoder()
    found = []
    for m in re.finditer(r"L\.geoJSON\(\s*", page):
        obj, end = dec.raw_decode(page, m.end())
        found.append((page[m.end():end], obj))
    return found


class _Fragment(HTMLParser):
    """Text of a tooltip fragment as a browser shows it: one string per heading/cell; other tags are noted."""

    CELLS = ("div", "th", "td")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.other_tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.CELLS:
            self.texts.append("")
        elif tag not in ("table", "tr", "tbody"):
            self.other_tags.append(tag)

    def handle_data(self, data):
        if self.texts:
            self.texts[-1] += data


def _tooltip_texts(tip_html: str) -> list[str]:
    p = _Fragment()
    p.feed(tip_html)
    p.close()
    assert not p.other_tags, f"markup from data in a tooltip: {p.other_tags} in {tip_html!r}"
    return p.texts


def test_html_map_keeps_hostile_names_inside_the_embedded_json(tmp_path):
    benign = [f"Sted {i}" for i in range(len(HOSTILE_NAMES))]
    page_ok = _html_map(tmp_path, benign, "rolig", "Note")
    page = _html_map(tmp_path, HOSTILE_NAMES, "fjendtlig", NOTE_LABEL)
    # no name can close the <script> element early: as many closing tags as the page without hostile data
    n_template = len(CLOSE_SCRIPT.findall(page_ok))
    assert n_template > 0
    assert len(CLOSE_SCRIPT.findall(page)) == n_template
    assert len(re.findall(r"<script\b", page, re.I)) == len(re.findall(r"<script\b", page_ok, re.I))

    blocks = _embedded_geojson(page)
    assert len(blocks) == 2
    for raw, _ in blocks:
        # whatever a string holds, the embedded JSON never contains a sequence that ends or re-parses the script
        for bad in ("</", "<!--", "<script", "\u2028", "\u2029"):
            assert bad not in raw.lower(), f"raw {bad!r} inside the embedded JSON: ...{raw[raw.lower().find(bad) - 40:][:80]!r}"
    # round trip: the tooltip text read back from the page is the original string, character for character
    polys, points = (obj for _, obj in blocks)
    heads = [_tooltip_texts(f["properties"]["_t"]) for f in polys["features"]]
    by_name = {t[0]: t for t in heads}
    assert set(by_name) == set(HOSTILE_NAMES)
    for i, name in enumerate(HOSTILE_NAMES):
        assert by_name[name] == [name, "Navn", name, NOTE_LABEL, HOSTILE_NAMES[::-1][i]]
    assert sorted(_tooltip_texts(f["properties"]["_t"])[0] for f in points["features"]) == sorted(HOSTILE_NAMES)


# ============================================================== 3. the printed scale and the scale bar

SCALE_TEXT = re.compile(r"^Målestok 1:(\d{1,3}(?:\.\d{3})*) ved udskrift på (A[34])$")
BAR_END = re.compile(r"^(\d+(?:,\d+)?) (km|m)$")
PRINTED_SCALE_TOLERANCE = 0.005  # maps/static.py: the denominator is rounded to three significant digits


def _static_pm(tmp_path, extent, page):
    from kkr_geo.maps.prepare import prepare
    from kkr_geo.maps.sources import Sources
    from kkr_geo.maps.spec import parse_spec

    x0, y0, x1, y1 = extent
    gdf = gpd.GeoDataFrame({"navn": ["a"]}, geometry=[shapely.box(x0, y0, x1, y1)], crs=25832)
    gdf.attrs.update(title="Flade", source="Test", precision="exact", status="ok", notes=[])
    src = Sources(tmp_path)
    src.register("flade", gdf)
    spec = parse_spec({"title": "Målestok", "page": page, "extent": list(extent),
                       "layers": [{"id": "f", "source": "flade", "style": "fill", "label": "Flade"}]},
                      label="scale.yaml", name="scale")
    return prepare(spec, src)


def _measure(fig):
    """Everything about the scale, read off the drawn figure (not from the code's own variables)."""
    fig.canvas.draw()  # applies the equal aspect: the axes' final position on the page
    page_w_mm, page_h_mm = (v * 25.4 for v in fig.get_size_inches())
    maps = [a for a in fig.axes if a.get_aspect() == 1.0]  # the map frame and the Bornholm inset
    ax = max(maps, key=lambda a: a.get_position().width)
    x0, x1 = ax.get_xlim()
    axes_w_mm = page_w_mm * ax.get_position().width
    true_n = (x1 - x0) * 1000 / axes_w_mm
    # the same from the height: the map is not stretched
    y0, y1 = ax.get_ylim()
    true_n_h = (y1 - y0) * 1000 / (page_h_mm * ax.get_position().height)

    texts = [(a, t) for a in fig.axes for t in a.texts] + [(None, t) for t in fig.texts]
    stated = [(a, SCALE_TEXT.match(t.get_text())) for a, t in texts if SCALE_TEXT.match(t.get_text())]
    assert len(stated) == 1, [t.get_text() for _, t in texts]
    sax, m = stated[0]
    printed_n = int(m.group(1).replace(".", ""))
    paper = m.group(2)

    def to_mm(ax_, x, y):
        px, py = ax_.transData.transform((x, y))
        return px / fig.dpi * 25.4, py / fig.dpi * 25.4

    from matplotlib.patches import Rectangle
    segs = [p for p in sax.patches if isinstance(p, Rectangle)]
    assert len(segs) == 4
    xs = []
    for p in segs:
        xs += [to_mm(sax, p.get_x(), p.get_y())[0], to_mm(sax, p.get_x() + p.get_width(), p.get_y())[0]]
    bar_x0, bar_x1 = min(xs), max(xs)
    ends = [(t, BAR_END.match(t.get_text())) for t in sax.texts if BAR_END.match(t.get_text())]
    assert len(ends) == 1, [t.get_text() for t in sax.texts]
    t_end, m_end = ends[0]
    ground_m = float(m_end.group(1).replace(",", ".")) * (1000 if m_end.group(2) == "km" else 1)
    label_x_mm = to_mm(sax, *t_end.get_position())[0]
    return {"page_mm": (page_w_mm, page_h_mm), "paper": paper, "true_n": true_n, "true_n_h": true_n_h,
            "printed_n": printed_n, "bar_mm": bar_x1 - bar_x0, "bar_x1": bar_x1, "ground_m": ground_m,
            "label_x_mm": label_x_mm}


REGION = (680_000.0, 6_150_000.0, 740_000.0, 6_230_000.0)   # ~60 × 80 km, the capital region's mainland
TOWN = (718_000.0, 6_175_000.0, 722_500.0, 6_178_000.0)     # ~4.5 × 3 km, one municipality
BLOCK = (720_000.0, 6_176_000.0, 720_600.0, 6_176_400.0)     # 600 × 400 m around a station


@pytest.mark.parametrize("extent", [REGION, TOWN, BLOCK], ids=["region", "town", "block"])
@pytest.mark.parametrize("page", [{"size": "A4"}, {"size": "A4", "orientation": "landscape"},
                                  {"size": "A3", "orientation": "portrait"}], ids=["A4", "A4-landscape", "A3"])
def test_printed_scale_and_scale_bar_match_the_drawn_map(tmp_path, extent, page):
    import matplotlib.pyplot as plt

    from kkr_geo.maps.static import StaticResult, build_figure

    pm = _static_pm(tmp_path, extent, page)
    result = StaticResult()
    fig = build_figure(pm, result)
    try:
        got = _measure(fig)
    finally:
        plt.close(fig)
    w, h = {"A4": (210, 297), "A3": (297, 420)}[page["size"]]
    if page.get("orientation") == "landscape":
        w, h = h, w
    assert got["paper"] == page["size"]
    assert abs(got["page_mm"][0] - w) < 0.01 and abs(got["page_mm"][1] - h) < 0.01
    true_n = got["true_n"]
    assert abs(got["true_n_h"] / true_n - 1) < 0.001, got  # same scale across and along: no distortion
    # the printed scale is the scale of the printed map
    assert abs(got["printed_n"] / true_n - 1) <= PRINTED_SCALE_TOLERANCE, (got["printed_n"], true_n)
    assert result.scale_denominator == got["printed_n"]
    # the bar: its printed length times the scale is the distance written at its end
    assert got["bar_mm"] * true_n / 1000 == pytest.approx(got["ground_m"], rel=0.001), got
    assert got["bar_mm"] * got["printed_n"] / 1000 == pytest.approx(got["ground_m"], rel=PRINTED_SCALE_TOLERANCE), got
    assert abs(got["label_x_mm"] - got["bar_x1"]) < 0.1  # the distance is written at the bar's end
    assert 10 <= got["bar_mm"] <= 60  # readable, and it fits the footer


def test_printed_denominator_rounding_by_hand():
    from kkr_geo.maps.static import printed_denominator

    assert printed_denominator(537.123) == 537_000      # region map on A4: 537 m per printed mm
    assert printed_denominator(25.6452) == 25_600       # town map
    assert printed_denominator(3.2549) == 3_250         # a few blocks: not "1:0"
    assert printed_denominator(0.0999) == 100
    assert printed_denominator(1234.5) == 1_230_000
    with pytest.raises(ValueError):
        printed_denominator(float("nan"))
