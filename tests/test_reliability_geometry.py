"""Reliability: vector files from five municipalities - wrong or missing CRS, bad geometry, outside Denmark."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely

from kkr_geo.geo.crs import to_analysis_crs
from kkr_geo.geo.errors import KkrGeoError
from kkr_geo.geo.geometry import clean_geometries
from kkr_geo.geo.io import read_vector
from reliability_cases import check, error_is_clear, reliability_ledger  # noqa: F401  (autouse fixture)

AREA = "geometry"
LONLAT = [shapely.Point(12.57, 55.68), shapely.Point(12.53, 55.68), shapely.Point(14.70, 55.10)]  # Kbh, Frb, Bornholm


def _gdf(geoms, crs, names=None):
    names = names or [f"f{i}" for i in range(len(geoms))]
    return gpd.GeoDataFrame({"navn": names}, geometry=list(geoms), crs=crs)


def _write(gdf, path):
    gdf.to_file(path)
    return path


def _expect_error(case_id, path, *names, **kw):
    try:
        got = read_vector(path, **kw)
    except KkrGeoError as exc:
        ok = error_is_clear(exc, path.name, *names)
        return check(case_id, AREA, "clear_error", "clear_error" if ok else "unclear", str(exc)), exc
    except Exception as exc:  # noqa: BLE001
        return check(case_id, AREA, "clear_error", "unclear", f"{type(exc).__name__}: {exc}"), None
    return check(case_id, AREA, "clear_error", "silent_loss", f"read {len(got)} features without error"), None


# ------------------------------------------------------------------------------------- CRS

def test_lonlat_declared_as_utm(tmp_path):
    p = _write(_gdf(LONLAT, 4326).set_crs(25832, allow_override=True), tmp_path / "lonlat_som_utm.gpkg")
    _, exc = _expect_error("crs_lonlat_declared_25832", p, "EPSG:25832", "longitude/latitude")
    assert "EPSG:4326" in exc.hint


def test_utm_declared_as_lonlat(tmp_path):
    p = _write(_gdf(LONLAT, 4326).to_crs(25832).set_crs(4326, allow_override=True), tmp_path / "utm_som_lonlat.gpkg")
    _, exc = _expect_error("crs_utm_declared_4326", p, "EPSG:4326", "metres")
    assert "25832" in exc.hint


@pytest.mark.parametrize("kind", ["lonlat", "utm"])
def test_missing_crs_is_guessed_and_noted(kind, tmp_path):
    g = _gdf(LONLAT, 4326)
    if kind == "utm":
        g = g.to_crs(25832)
    p = _write(g.set_crs(None, allow_override=True), tmp_path / f"uden_crs_{kind}.shp")
    out = read_vector(p)
    ok = (out.crs.to_epsg() == 25832 and len(out) == 3 and "no CRS" in out.attrs.get("crs_note", "")
          and out.geometry.distance(g.to_crs(25832).geometry.set_crs(25832, allow_override=True) if kind == "utm"
                                    else _gdf(LONLAT, 4326).to_crs(25832).geometry).max() < 1)
    check(f"crs_missing_{kind}", AREA, "reported", "reported" if ok else "silent_loss", str(out.attrs))


def test_missing_crs_unrecognisable_extent(tmp_path):
    p = _write(_gdf([shapely.Point(1000, 1000), shapely.Point(2000, 2000)], None), tmp_path / "lokale_koordinater.shp")
    _expect_error("crs_missing_unknown_extent", p, "no coordinate reference system")


def test_missing_crs_with_explicit_assumption(tmp_path):
    p = _write(_gdf(LONLAT, None), tmp_path / "antag.shp")
    out = read_vector(p, assume_crs=4326)
    ok = len(out) == 3 and "assumed" in out.attrs.get("crs_note", "")
    check("crs_missing_assumed", AREA, "reported", "reported" if ok else "silent_loss")


def test_feature_outside_denmark_is_named(tmp_path):
    g = _gdf(LONLAT + [shapely.Point(2.35, 48.85)], 4326, names=["København", "Frederiksberg", "Rønne", "Paris"])
    p = _write(g, tmp_path / "udenfor.gpkg")
    _expect_error("outside_denmark_named", p, "outside Denmark", "feature 4", "Paris")


def test_null_island(tmp_path):
    p = _write(_gdf([shapely.Point(0, 0)], 4326, names=["nul"]), tmp_path / "null_island.geojson")
    _expect_error("null_island", p, "outside Denmark")


def test_other_projected_crs_is_reprojected(tmp_path):
    g = _gdf(LONLAT, 4326).to_crs(3857)
    p = _write(g, tmp_path / "webmercator.gpkg")
    out = read_vector(p)
    ok = out.crs.to_epsg() == 25832 and out.geometry.distance(_gdf(LONLAT, 4326).to_crs(25832).geometry).max() < 1
    check("crs_web_mercator_reprojected", AREA, "parses", "parses" if ok else "silent_loss")


def test_utm33_declared_correctly_is_reprojected(tmp_path):
    p = _write(_gdf(LONLAT, 4326).to_crs(25833), tmp_path / "utm33.gpkg")
    out = read_vector(p)
    ok = out.geometry.distance(_gdf(LONLAT, 4326).to_crs(25832).geometry).max() < 1
    check("crs_utm33_reprojected", AREA, "parses", "parses" if ok else "silent_loss")


def test_in_memory_frame_wrong_crs():
    g = _gdf(LONLAT, 4326).set_crs(25832, allow_override=True)
    with pytest.raises(KkrGeoError) as ei:
        to_analysis_crs(g, source="klinikker fra regneark")
    check("crs_in_memory_wrong", AREA, "clear_error",
          "clear_error" if error_is_clear(ei.value, "klinikker fra regneark") else "unclear")


# -------------------------------------------------------------------------------- geometry

def _bowtie():
    b = shapely.Polygon([(0, 0), (1000, 1000), (1000, 0), (0, 1000)])
    return shapely.affinity.translate(b, 700_000, 6_170_000)


def _box(i=0):
    return shapely.box(700_000 + i * 2000, 6_170_000, 701_000 + i * 2000, 6_171_000)


def _accounted(src, out, report) -> bool:
    """Every input feature is either in the output or named in the report."""
    text = "\n".join(report.lines())
    return all(n in set(out["navn"]) or f"navn={n}" in text for n in src["navn"])


@pytest.mark.parametrize("case, geoms, expect_kept", [
    ("invalid_bowtie_repaired", [_bowtie(), _box(1)], 2),
    ("empty_polygon_dropped", [shapely.Polygon(), _box(1)], 1),
    ("null_geometry_dropped", [None, _box(1)], 1),
    ("mixed_types_dropped", [shapely.Point(700_000, 6_170_000), shapely.LineString([(700_000, 6_170_000), (701_000, 6_171_000)]), _box(1)], 1),
    ("collection_keeps_polygons", [shapely.GeometryCollection([_box(0), shapely.Point(700_000, 6_170_000)]), _box(1)], 2),
    ("collection_without_polygons", [shapely.GeometryCollection([shapely.Point(700_000, 6_170_000)]), _box(1)], 1),
    ("self_touching_ring", [shapely.Polygon([(700_000, 6_170_000), (701_000, 6_170_000), (700_500, 6_170_500),
                                             (701_000, 6_171_000), (700_000, 6_171_000), (700_500, 6_170_500)]), _box(1)], 2),
    ("degenerate_zero_area", [shapely.Polygon([(700_000, 6_170_000), (701_000, 6_170_000), (702_000, 6_170_000)]), _box(1)], 1),
])
def test_clean_geometries_reports_every_change(case, geoms, expect_kept):
    src = _gdf(geoms, 25832, names=[f"omr{i}" for i in range(len(geoms))])
    out, report = clean_geometries(src, family="polygon", source=f"{case}.gpkg", id_column="navn")
    ok = len(out) == expect_kept and _accounted(src, out, report) and out.geometry.is_valid.all()
    if case == "invalid_bowtie_repaired":
        ok = ok and report.repaired and "omr0" in report.repaired[0] and out.geometry.iloc[0].area == pytest.approx(500_000)
    check(case, AREA, "reported", "reported" if ok else "silent_loss", "; ".join(report.lines()))


def test_mixed_types_in_geopackage_end_to_end(tmp_path):
    from kkr_geo.layers._common import finish
    src = _gdf([_bowtie(), shapely.Point(700_000, 6_170_000), shapely.Polygon(), _box(2), None], 25832,
               names=["bow", "punkt", "tom", "ok", "ingen"])
    p = _write(src, tmp_path / "blandet.gpkg")
    layer = finish(read_vector(p), name="test", family="polygon", source="test", licence="-", precision="-", id_column="navn")
    text = "\n".join(layer.attrs["notes"])
    ok = sorted(layer["navn"]) == ["bow", "ok"] and all(f"navn={n}" in text for n in ("bow", "punkt", "tom", "ingen"))
    check("gpkg_mixed_types_finish", AREA, "reported", "reported" if ok else "silent_loss", text)


def test_export_keeps_every_row_of_a_mixed_geometry_layer(tmp_path):
    """A layer mixing points and polygons (was refused) is written without loss: every row in an attribute table,
    each geometry in the feature table of its type (issue 21)."""
    import pyogrio

    from kkr_geo.layers.export import export_geopackage
    src = _gdf([shapely.Point(700_000, 6_170_000), _box(1)], 25832)
    out = tmp_path / "ud.gpkg"
    export_geopackage(out, {"blandet": src})
    table = pyogrio.read_dataframe(out, layer="blandet", read_geometry=False)
    points = gpd.read_file(out, layer="blandet_punkter")
    areas = gpd.read_file(out, layer="blandet_flader")
    ok = (list(table["navn"]) == list(src["navn"]) and list(points["navn"]) == ["f0"] and list(areas["navn"]) == ["f1"]
          and points.geometry.iloc[0].equals(src.geometry.iloc[0]) and areas.geometry.iloc[0].area == src.geometry.iloc[1].area)
    check("export_mixed_types", AREA, "parses", "parses" if ok else "silent_loss", f"{table} {points} {areas}")


# --------------------------------------------------------------------------------- files

FILE_CASES = {
    "empty_geojson": (".geojson", b""),
    "garbage_geojson": (".geojson", b"{not json"),
    "html_error_page_as_geojson": (".geojson", b"<html><body>502 Bad Gateway</body></html>"),
    "csv_without_geometry": (".csv", b"a,b\n1,2\n"),
    "truncated_gpkg": (".gpkg", None),
    "feature_with_bad_coordinates": (".geojson", json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"navn": "x"}, "geometry": {"type": "Point", "coordinates": ["a", "b"]}}]}).encode()),
}


@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_unreadable_vector_files(case, tmp_path):
    suffix, data = FILE_CASES[case]
    p = tmp_path / f"{case}{suffix}"
    if data is None:
        full = _write(_gdf([_box(i) for i in range(50)], 25832), tmp_path / "full.gpkg").read_bytes()
        data = full[: len(full) // 3]
    p.write_bytes(data)
    try:
        got = read_vector(p)
    except KkrGeoError as exc:
        return check(case, AREA, "clear_error", "clear_error" if error_is_clear(exc, p.name) else "unclear", str(exc))
    except Exception as exc:  # noqa: BLE001
        return check(case, AREA, "clear_error", "unclear", f"{type(exc).__name__}: {exc}")
    # a reader that returns something must not have lost features silently
    check(case, AREA, "clear_error", "silent_loss", f"read {len(got)} features")


def test_missing_vector_file(tmp_path):
    _expect_error("vector_file_missing", tmp_path / "findes_ikke.gpkg", "not found")


def test_missing_layer_in_geopackage(tmp_path):
    p = _write(_gdf([_box()], 25832), tmp_path / "lag.gpkg")
    _expect_error("gpkg_missing_layer", p, "ikke_her", layer="ikke_her")


def test_zero_features_is_fine(tmp_path):
    p = tmp_path / "tom.geojson"
    p.write_text('{"type":"FeatureCollection","features":[]}')
    out = read_vector(p)
    check("geojson_zero_features", AREA, "parses", "parses" if len(out) == 0 and out.crs.to_epsg() == 25832 else "silent_loss")


def test_null_geometry_in_geojson_is_kept_for_cleaning(tmp_path):
    p = tmp_path / "null.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"navn": "a"}, "geometry": None},
        {"type": "Feature", "properties": {"navn": "b"}, "geometry": {"type": "Point", "coordinates": [12.5, 55.7]}}]}))
    out = read_vector(p)
    cleaned, report = clean_geometries(out, family="point", source="null.geojson", id_column="navn")
    ok = len(out) == 2 and list(cleaned["navn"]) == ["b"] and "navn=a" in "\n".join(report.lines())
    check("geojson_null_geometry", AREA, "reported", "reported" if ok else "silent_loss")


# ------------------------------------------------------------------------- klinikker tables

def test_clinic_table_with_swapped_lat_lon(tmp_path, any_data):
    from kkr_geo.layers.registry import load_layer
    p = tmp_path / "klinikker.csv"
    p.write_text("navn;lat;lon;kapacitet_sp51\nKlinik A;55,68;12,57;2\nKlinik B;12,53;55,68;1\nKlinik C;55,70;12,50;1,5\n",
                 encoding="utf-8")
    layer = load_layer("klinikker", any_data, path=p)
    notes = "\n".join(layer.attrs["notes"])
    ok = sorted(layer["navn"]) == ["Klinik A", "Klinik C"] and "line 3" in notes and "outside Denmark" in notes
    check("clinics_swapped_lat_lon", AREA, "reported", "reported" if ok else "silent_loss", notes)


def test_clinic_table_with_text_coordinates(tmp_path, any_data):
    from kkr_geo.layers.registry import load_layer
    p = tmp_path / "klinikker.csv"
    p.write_text("navn;lat;lon\nKlinik A;55,68;12,57\nKlinik B;ukendt;12,53\nKlinik C;55,70;12,50\nKlinik D;55,71;12,51\n"
                 "Klinik E;55,72;12,52\n", encoding="utf-8")
    try:
        layer = load_layer("klinikker", any_data, path=p)
    except KkrGeoError as exc:
        return check("clinics_text_coordinates", AREA, "reported",
                     "clear_error" if error_is_clear(exc, "klinikker.csv") else "unclear", str(exc))
    notes = "\n".join(layer.attrs["notes"])
    ok = "Klinik B" not in set(layer["navn"]) and "line 3" in notes
    check("clinics_text_coordinates", AREA, "reported", "reported" if ok else "silent_loss", notes)
