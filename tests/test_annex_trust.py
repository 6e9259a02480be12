"""Properties a reader of the annex relies on, checked on small synthetic inputs with hand-derived answers:
legend classes that do not overlap, population figures rounded to what the method supports, coverage
shown as the share of people, planning areas that tile their municipality, every area with a value
labelled, QGIS styles that QGIS finds, PDF metadata."""

import re
import sqlite3

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from kkr_geo.geo.coverage import coverage_gaps
from kkr_geo.geo.population import PopulationGrid
from kkr_geo.layers.export import export_geopackage
from kkr_geo.layers.planomraader import tile_to_boundary
from kkr_geo.layers.qgis_styles import GraduatedStyle
from kkr_geo.maps.classify import classify
from kkr_geo.layers.coverage_share import mark_areas_without_facility, served_cells, share_layer
from kkr_geo.maps.danish_numbers import fmt_population_approx, fmt_value
from kkr_geo.maps.prepare import FigureRow, prepare
from kkr_geo.maps.sources import Sources
from kkr_geo.maps.spec import parse_spec
from kkr_geo.maps.static import LEGEND_DASH, LEGEND_HANDLE_LENGTH, build_figure, render_static


def _bounds_of(label: str) -> tuple[float, float]:
    nums = re.findall(r"\d[\d.]*(?:,\d+)?", label)
    lo, hi = (float(n.replace(".", "").replace(",", ".")) for n in nums[-2:])
    return lo, hi


# -- legends ----------------------------------------------------------------------------------
def test_integer_class_limits_are_disjoint_and_increasing():
    values = [1988, 2033, 3331, 3600, 3600, 3601, 4242, 5000, 7376, 14324]
    cls = classify(values, "quantiles", 5)
    spans = [_bounds_of(lab) for lab in cls.labels]
    for (lo, hi) in spans:
        assert lo <= hi
    for (_, hi), (lo, _) in zip(spans, spans[1:]):
        assert lo > hi, cls.labels  # "3.600" never in two classes
    # every value lies in the class whose label covers it
    for v, c in zip(values, cls.classes):
        lo, hi = spans[c]
        assert lo <= v <= hi, (v, cls.labels[c])
    assert spans[0][0] == 1988 and spans[-1][1] == 14324


def test_decimal_class_limits_say_over():
    cls = classify([0.5, 1.25, 2.0, 3.75, 4.0], "manual", breaks=[1.0, 3.0], decimals=1)
    assert cls.labels == ["0,5–1,0", "over 1,0–3,0", "over 3,0–4,0"]
    assert list(cls.classes) == [0, 1, 1, 2, 2]


def test_pooled_classes_are_shared_between_maps():
    a = [10, 20, 30, 40, 50]
    b = [15, 60, 70, 80, 90]
    pool = np.array(a + b, dtype=float)
    ca = classify(a, "quantiles", 3, pool=pool)
    cb = classify(b, "quantiles", 3, pool=pool)
    assert ca.bins == cb.bins and ca.labels == cb.labels
    assert ca.labels[0].startswith("10–") and ca.labels[-1].endswith("–90")


# -- honest precision -------------------------------------------------------------------------
@pytest.mark.parametrize("value, text", [(21044.3, "ca. 21.000"), (49897.6, "ca. 49.900"), (193, "ca. 200"),
                                         (49, "under 100"), (0, "0"), (float("nan"), "–"), (None, "–")])
def test_population_rounded_to_the_method(value, text):
    assert fmt_population_approx(value) == text


def test_figure_row_text_rounds_and_discloses_partial_counts():
    assert FigureRow("A", [21044.3, 49897.6]).text() == "ca. 21.000 / ca. 49.900"
    assert FigureRow("T", [float("nan"), 7733.0], "kun regionens del").text() == "ikke opgjort / ca. 7.700 (kun regionens del)"
    assert FigureRow("K", [float("nan"), float("nan")]).text() == "ikke opgjort"


def test_no_pandas_na_in_text():
    assert fmt_value(pd.NA) == "–" and fmt_value(pd.NaT) == "–"


# -- people, not area -------------------------------------------------------------------------
X0, Y0 = 700_000.0, 6_170_000.0  # somewhere in Denmark (EPSG:25832)


def _toy():
    """Two areas of 2 x 1 cells (100 m); a station in the west cell of area A.

    Cell centres (relative to X0, Y0): A (50,50) pop 10, (150,50) pop 30; B (250,50) pop 20, (350,50) pop 40.
    Distance = straight line × 1.0 from the station at (50,50): 0, 100, 200, 300.
    With threshold 150 m: A has 0 beyond, B has 60 beyond (both cells).
    """
    grid = PopulationGrid.from_cell_arrays(X0 + np.array([0.0, 100, 200, 300]), Y0 + np.array([0.0, 0, 0, 0]),
                                           np.array([10.0, 30, 20, 40]), 100, source="toy", precision="exact")
    areas = gpd.GeoDataFrame({"navn": ["A", "B"]}, geometry=[shapely.box(X0, Y0, X0 + 200, Y0 + 100),
                                                             shapely.box(X0 + 200, Y0, X0 + 400, Y0 + 100)], crs=25832)
    station = gpd.GeoDataFrame({"navn": ["S"]}, geometry=[shapely.Point(X0 + 50, Y0 + 50)], crs=25832)
    return grid, areas, station


def test_share_beyond_per_area_equals_hand_count():
    grid, areas, station = _toy()
    res = coverage_gaps(station, grid, 150, areas={"område": areas}, detour_factor=1.0)
    table = mark_areas_without_facility(res.table, {"område": areas}, station)
    layer = share_layer(areas, table, "område").set_index("navn")
    assert layer.at["A", "andel_uden_for_pct"] == pytest.approx(0.0)
    assert layer.at["B", "andel_uden_for_pct"] == pytest.approx(100.0)  # 60 of 60
    assert layer.at["A", "befolkning"] == pytest.approx(40) and layer.at["B", "befolkning_uden_for"] == pytest.approx(60)
    # B holds no station: no mean distance, said in words
    assert np.isnan(layer.at["B", "gns_afstand_m"]) and layer.at["B", "bemaerkning"] == "ingen station i området"
    assert layer.at["B", "etiket"] == "B\n(ingen station)" and layer.at["A", "etiket"] == "A"
    # the total's mean distance leaves out the area without a station: A's own mean = (10*0 + 30*100) / 40
    total = table[table["area_type"] == "total"].iloc[0]
    assert total["mean_distance_m"] == pytest.approx(75.0)
    assert "uden B" in total["bemaerkning"]
    assert total["share_beyond"] == pytest.approx(60 / 100)


def test_served_cells_are_the_cells_within_the_threshold():
    grid, areas, station = _toy()
    res = coverage_gaps(station, grid, 150, areas={"område": areas}, detour_factor=1.0)
    zone = served_cells(res, grid, 150)
    # distances 0 and 100 m are within 150 m: the two cells of area A (2 × 100 m × 100 m), 40 people
    assert zone.geometry.iloc[0].area == pytest.approx(20_000)
    assert zone["population"].iloc[0] == pytest.approx(40)
    assert zone.geometry.iloc[0].equals(shapely.box(X0, Y0, X0 + 200, Y0 + 100).normalize()) or \
        zone.geometry.iloc[0].symmetric_difference(shapely.box(X0, Y0, X0 + 200, Y0 + 100)).area < 1e-6


# -- seamless planning areas ------------------------------------------------------------------
def test_parts_tile_the_boundary_exactly():
    boundary = shapely.box(0, 0, 10, 10).union(shapely.box(10, 4, 11, 5))  # a nub no part covers
    parts = gpd.GeoDataFrame({"navn": ["V", "Ø"]},
                             geometry=[shapely.box(-1, 0, 4.8, 10), shapely.box(5, 0, 10, 10.5)], crs=25832)
    out, filled = tile_to_boundary(parts, boundary)
    union = shapely.union_all(out.geometry.values)
    assert union.symmetric_difference(boundary).area < 1e-9
    assert out.geometry.iloc[0].intersection(out.geometry.iloc[1]).area < 1e-9
    assert filled == pytest.approx((0.2 * 10 + 1) / 1e6)
    # the strip between them goes to a neighbour, the nub to the eastern part it touches
    assert out.geometry.iloc[1].contains(shapely.Point(10.5, 4.5))


def test_coastal_cell_whose_centre_is_outside_still_belongs_to_its_area():
    grid = PopulationGrid.from_cell_arrays(np.array([X0]), np.array([Y0]), np.array([5.0]), 100,
                                           source="toy", precision="exact")
    coast = gpd.GeoDataFrame({"navn": ["Kyst"]}, geometry=[shapely.box(X0, Y0, X0 + 40, Y0 + 100)], crs=25832)  # centre outside
    station = gpd.GeoDataFrame({"navn": ["S"]}, geometry=[shapely.Point(X0 + 20, Y0 + 50)], crs=25832)
    table = coverage_gaps(station, grid, 600, areas={"kommune": coast}, detour_factor=1.0).table
    rows = table[table["area_type"] == "kommune"].set_index("area_name")
    assert list(rows.index) == ["Kyst"] and rows.at["Kyst", "population"] == pytest.approx(5.0)  # no "(uden for områder)"


# -- labels: every area with a value -----------------------------------------------------------
def _planning_sources(tmp_path):
    kbh = shapely.box(720_000, 6_170_000, 726_000, 6_176_000)
    frb = shapely.box(718_000, 6_172_000, 720_000, 6_174_000)
    far = [shapely.box(680_000 + i * 9_000, 6_180_000, 688_000 + i * 9_000, 6_200_000) for i in range(3)]
    bornholm = shapely.box(870_000, 6_110_000, 890_000, 6_130_000)
    kom = gpd.GeoDataFrame({"kommunekode": ["0101", "0147", "0151", "0153", "0155", "0400"],
                            "navn": ["København", "Frederiksberg", "Aby", "Bby", "Cby", "Bornholm"]},
                           geometry=[kbh, frb, *far, bornholm], crs=25832)
    kom.attrs.update(title="Kommuner", source="test", precision="exact", status="ok", notes=[])
    # København split into nine small bydele (3 x 3 blocks of 2 km)
    bydele = [shapely.box(720_000 + i * 2000, 6_170_000 + j * 2000, 722_000 + i * 2000, 6_172_000 + j * 2000)
              for i in range(3) for j in range(3)]
    names = [f"Bydel {k}" for k in range(1, 10)]
    omr = gpd.GeoDataFrame({"navn": ["Frederiksberg", "Aby", "Bby", "Cby", "Bornholm", *names],
                            "v": [4178, 3825, np.nan, 5919, 5465, *range(5000, 14000, 1000)]},
                           geometry=[frb, *far, bornholm, *bydele], crs=25832)
    omr.attrs.update(title="Planlægningsområder", source="test", precision="exact", status="ok", notes=[])
    s = Sources(tmp_path)
    s.register("kommuner", kom)
    s.register("omr", omr)
    return s, omr


PLANNING_SPEC = {
    "title": "Borgere pr. kapacitet",
    "copenhagen_inset": True,
    "layers": [{"id": "omr", "source": "omr", "style": "choropleth", "label": "Planlægningsområder"},
               {"id": "kom", "source": "kommuner", "style": "outline", "label": "Kommunegrænse"}],
    "indicator": {"layer": "omr", "column": "v", "label": "Borgere pr. kapacitet", "unit": "borgere",
                  "darker": "flere borgere pr. kapacitet"},
    "classification": {"scheme": "quantiles", "k": 3},
    "labels": {"layer": "omr", "column": "navn", "value": "v", "size": 9},
}


def test_every_area_with_a_value_is_labelled(tmp_path):
    sources, omr = _planning_sources(tmp_path)
    pm = prepare(parse_spec(PLANNING_SPEC, label="p.yaml", name="p"), sources)
    assert pm.detail_extent is not None
    res = render_static(pm, {"png": tmp_path / "p.png"}, dpi=60)
    shown = [t.split("\n")[0] for t in res.labels_placed] + [re.sub(r"^\d+ ", "", k).split(":")[0] for k in res.label_key]
    for name, v in zip(omr["navn"], omr["v"]):
        if v == v:
            assert name in shown, (name, res.labels_placed, res.label_key)
    # the nine small bydele are labelled at the panel's scale, not dropped
    assert sum(t.startswith("Bydel") for t in res.labels_placed) + len(res.label_key) >= 9
    # the legend says which end is worse and how the classes were made; the unit is not doubled
    assert "Mørkere = flere borgere pr. kapacitet" in res.legend_labels
    assert "Klasser: kvantiler (lige mange områder i hver klasse)" in res.legend_labels
    assert "Borgere pr. kapacitet" in res.legend_labels and "Borgere pr. kapacitet (borgere)" not in res.legend_labels


def test_schematic_line_is_dashed_in_the_legend(tmp_path):
    import matplotlib.pyplot as plt
    sources, _ = _planning_sources(tmp_path)
    line = gpd.GeoDataFrame({"navn": ["BRT"]}, geometry=[shapely.LineString([(680_000, 6_185_000), (725_000, 6_173_000)])],
                            crs=25832)
    line.attrs.update(title="BRT", source="x; skematisk linjeføring", precision="schematic", status="ok", notes=[])
    sources.register("brt", line)
    spec = {"title": "BRT", "layers": [{"id": "kom", "source": "kommuner", "style": "fill"},
                                       {"id": "brt", "source": "brt", "style": "line", "label": "BRT-korridor", "width": 2.0}]}
    pm = prepare(parse_spec(spec, label="b.yaml", name="b"), sources)
    fig = build_figure(pm)
    try:
        legend = next(a.get_legend() for a in fig.axes if a.get_legend() is not None)
        handle = next(h for h, t in zip(legend.legend_handles, legend.get_texts()) if t.get_text().startswith("BRT-korridor"))
        assert handle.get_linestyle() == "--"
        on, off = LEGEND_DASH[1]
        # the handle is long enough to show two dashes and the gap between them
        assert LEGEND_HANDLE_LENGTH * legend._fontsize >= (2 * on + off) * handle.get_linewidth() - 1e-9
    finally:
        plt.close(fig)


def test_pdf_metadata_title_author_language(tmp_path):
    sources, _ = _planning_sources(tmp_path)
    pm = prepare(parse_spec(PLANNING_SPEC, label="p.yaml", name="p"), sources)
    pdf = tmp_path / "p.pdf"
    render_static(pm, {"pdf": pdf}, dpi=40)
    raw = pdf.read_bytes()
    assert b"/Title (Borgere pr. kapacitet)" in raw and b"/Author (KKR Hovedstaden)" in raw
    assert b"/Subject" in raw and b"/Keywords" in raw and b"/Lang (da)" in raw
    assert b"CreationDate" not in raw


# -- QGIS styles --------------------------------------------------------------------------------
def _qgis_default_styles(path):
    """What QGIS does when it opens a GeoPackage layer: find the default style whose table and
    geometry column match the layer's entry in gpkg_geometry_columns."""
    con = sqlite3.connect(path)
    try:
        return dict(con.execute(
            "SELECT g.table_name, s.styleQML FROM gpkg_geometry_columns g JOIN layer_styles s "
            "ON s.f_table_name = g.table_name AND s.f_geometry_column = g.column_name AND s.useAsDefault = 1"))
    finally:
        con.close()


def test_layer_styles_are_found_the_way_qgis_looks_them_up(tmp_path):
    areas = gpd.GeoDataFrame({"navn": ["A", "B"], "v": [1.0, 5.0]},
                             geometry=[shapely.box(700_000, 6_170_000, 701_000, 6_171_000),
                                       shapely.box(701_000, 6_170_000, 702_000, 6_171_000)], crs=25832)
    points = gpd.GeoDataFrame({"navn": ["S"]}, geometry=[shapely.Point(700_500, 6_170_500)], crs=25832)
    style = GraduatedStyle(column="v", lower=1.0, bins=[2.0, 5.0], colours=["#ffffcc", "#253494"],
                           labels=["1–2", "3–5"], method="quantiles")
    out = tmp_path / "t.gpkg"
    export_geopackage(out, {"omr": areas, "stationer": points}, graduated={"omr": style})
    found = _qgis_default_styles(out)
    assert set(found) == {"omr", "stationer"}
    qml = found["omr"]
    assert 'type="graduatedSymbol"' in qml and 'attr="v"' in qml
    assert re.findall(r'<range lower="([^"]+)" upper="([^"]+)"', qml) == [("1.0", "2.0"), ("2.0", "5.0")]
    assert "255,255,204,255" in qml and "37,52,148,255" in qml  # the annex colours
    assert 'type="singleSymbol"' in found["stationer"]


def test_fixed_classes_of_a_share_start_at_zero_not_at_an_empty_class():
    cls = classify([43.0, 55.0, 97.0], "manual", breaks=[40, 60, 80, 90, 100])
    assert cls.labels[0] == "0–40" and cls.counts[0] == 0
    assert all(_bounds_of(lab)[0] <= _bounds_of(lab)[1] for lab in cls.labels)


def test_a_catchment_reaching_nobody_stays_in_the_figures_box(tmp_path):
    """With network distance a station outside the region gets empty catchment polygons; its row must
    still say "ikke opgjort" rather than vanish from the map's figures."""
    sources, _ = _planning_sources(tmp_path)
    rings = gpd.GeoDataFrame({"feature": ["A", "A", "B", "B"], "navn": ["A", "A", "B", "B"],
                              "band": ["0–2 km", "2–5 km"] * 2, "distance_m": [2000.0, 5000.0] * 2,
                              "population": [120.0, 3000.0, np.nan, np.nan], "opgjort": ["ja", "ja", "nej", "nej"]},
                             geometry=[shapely.box(700_000, 6_180_000, 701_000, 6_181_000).buffer(0),
                                       shapely.box(701_000, 6_180_000, 703_000, 6_181_000), shapely.Polygon(), shapely.Polygon()],
                             crs=25832)
    rings.attrs.update(title="Opland", source="test", precision="exact", status="ok", notes=[])
    sources.register("opl", rings)
    spec = {"title": "P+R", "layers": [{"id": "kom", "source": "kommuner", "style": "fill"},
                                       {"id": "opl", "source": "opl", "style": "catchment"}],
            "figures": {"layer": "opl", "title": "Befolkning inden for 2 km / 5 km"}}
    pm = prepare(parse_spec(spec, label="f.yaml", name="f"), sources)
    rows = {r.name: r.text() for r in pm.figures()[2]}
    assert rows == {"A": "ca. 100 / ca. 3.100", "B": "ikke opgjort"}
    res = render_static(pm, {"png": tmp_path / "f.png"}, dpi=40)
    assert res.figure_lines == ["A: ca. 100 / ca. 3.100", "B: ikke opgjort"]


def test_official_names_replace_spelling_variants_only():
    from kkr_geo.layers.kommuner import _official_names
    gdf = gpd.GeoDataFrame({"kommunekode": ["0169", "0151", "0101"],
                            "navn": ["Høje Taastrup", "Ballerup {{ 7*7 }}", "København"]},
                           geometry=[shapely.Point(X0, Y0)] * 3, crs=25832)
    changed = _official_names(gdf)
    assert list(gdf["navn"]) == ["Høje-Taastrup", "Ballerup {{ 7*7 }}", "København"]
    assert changed == [("0169", "Høje Taastrup", "Høje-Taastrup")]
