"""Issue 22: large and odd inputs. Ambiguous numbers settled by what the column can mean (``55.681`` in
``lat``), text a reader would cut (NUL, lone surrogates) found in the raw file, and every row left out
of a table named on the console and in the build summary; the same kinds of files in other places
(the gazetteer, a user's route file, the table a spec shows). The speed of a big clinic file is a bench
(``python -m bench.input``), not a test.

Each case is recorded in the reliability ledger before it is asserted.
"""

from __future__ import annotations

import json
import logging
import math

import geopandas as gpd
import pytest

from conftest import writable_subdir
from kkr_geo.geo.errors import KkrGeoError
from kkr_geo.layers.indicators import read_table
from reliability_cases import check, error_is_clear, reliability_ledger  # noqa: F401  (autouse fixture)

NOERREBRO = (12.5500, 55.6920)
HILLEROED = (12.3000, 55.9300)


def _load_clinics(dd, path):
    from kkr_geo.layers.registry import load_layer
    return load_layer("klinikker", dd, path=path)


def _notes(gdf) -> str:
    return "\n".join(gdf.attrs.get("notes", []))


def _report(df) -> str:
    return "\n".join(df.attrs["report"].lines())


def _point_collection(rows) -> dict:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": list(xy)}}
        for props, xy in rows]}


# ================================================================== numbers settled by the column's meaning

def test_comma_clinic_file_with_three_decimal_coordinates_is_read_as_degrees(any_data, tmp_path):
    """Was: 55.692 'ambiguous (55692 or 55.692)', every clinic left out, 0 clinics. 55692 is no latitude."""
    p = tmp_path / "klinikker.csv"
    p.write_text("navn,lat,lon,kapacitet_sp51\nKlinik Nørrebro,55.692,12.550,2\nKlinik Hillerød,55.930,12.300,1\n",
                 encoding="utf-8")
    try:
        g = _load_clinics(any_data, p)
        wgs = g.to_crs(4326).set_index("navn")
        got = {n: (round(pt.y, 6), round(pt.x, 6)) for n, pt in zip(wgs.index, wgs.geometry)}
        notes = _notes(g)
        ok = (got == {"Klinik Nørrebro": (55.692, 12.55), "Klinik Hillerød": (55.93, 12.3)}
              and "a latitude in Denmark" in notes and "a longitude in Denmark" in notes and "'55.692' -> 55.692" in notes)
        outcome, detail = ("parses" if ok else "silent_loss"), f"{got} {notes}"
    except KkrGeoError as exc:
        outcome, detail = "unclear", str(exc)
    check("comma_clinics_three_decimal_latlon", "tables", "parses", outcome, detail)


def test_easting_in_epsg25832_settled_by_the_danish_extent(tmp_path):
    # 724.123 as an easting: 724123 (Copenhagen) or 724.123 (nowhere in Denmark)
    p = tmp_path / "punkter.csv"
    p.write_text("navn,x,y\nA,724.123,6176123\nB,700000,6180000\n", encoding="utf-8")
    df = read_table(p)
    got = df["x"].tolist()
    text = _report(df)
    ok = got == [724123.0, 700000.0] and "an easting in Denmark" in text and "(not 724.123)" in text
    check("comma_table_easting_25832", "tables", "parses", "parses" if ok else "silent_loss", f"{got} {text}")


def test_counts_are_whole_and_shares_at_most_100(tmp_path):
    """1.250 is 1250 as a count (1.25 patients cannot be) and 1.25 as a share (1250 % cannot be); a column
    that says nothing (beloeb) keeps the cell ambiguous and reported; '1.250 %' is a share wherever it is."""
    p = tmp_path / "indikator.csv"
    p.write_text("kommune,antal,andel_pct,beloeb,v\nA,1.250,1.250,1.250,1.250 %\nB,3,4,5,6 %\n", encoding="utf-8")
    df = read_table(p)
    got = {c: df[c].tolist() for c in ("antal", "andel_pct", "beloeb", "v")}
    text = _report(df)
    ok = (got["antal"] == [1250.0, 3.0] and got["andel_pct"] == [1.25, 4.0] and math.isnan(got["beloeb"][0])
          and got["beloeb"][1] == 5.0 and got["v"] == [1.25, 6.0]
          and "a count (a whole number)" in text and "a share (0-100 %)" in text
          and "line 2, column 'beloeb'" in text and "ambiguous" in text)
    check("comma_table_counts_and_shares", "tables", "reported", "reported" if ok else "silent_loss", f"{got} {text}")


def test_a_cell_no_reading_of_which_fits_stays_reported(tmp_path):
    p = tmp_path / "klinikker.csv"
    p.write_text("navn,lat,lon\nA,1.250,12.550\nB,55.692,12.300\n", encoding="utf-8")
    df = read_table(p)
    got = df["lat"].tolist()
    text = _report(df)
    ok = (math.isnan(got[0]) and got[1] == 55.692 and "line 2, column 'lat'" in text
          and "neither reading is a latitude in Denmark" in text)
    check("ambiguous_latitude_neither_fits", "tables", "reported", "reported" if ok else "silent_loss", f"{got} {text}")


# ============================================================ text a reader would cut (NUL, lone surrogates)

@pytest.mark.parametrize("case,name,expected_name,said", [
    ("nul", "Før\x00efter", "Før\ufffdefter", "1 NUL character(s)"),
    ("lone_surrogate", "Surrogat \ud800 H", "Surrogat \ufffd H", "1 lone surrogate(s)"),
])
def test_geojson_clinic_name_is_not_cut(any_data, tmp_path, case, name, expected_name, said):
    """Was: 'Før\\u0000efter' reached every output as 'Før' (GDAL ends the text at the NUL), without a word."""
    p = tmp_path / "klinikker.geojson"
    p.write_text(json.dumps(_point_collection([({"navn": "Klinik God", "kapacitet_sp51": 1}, NOERREBRO),
                                               ({"navn": name, "kapacitet_sp51": 2}, HILLEROED)])), encoding="utf-8")
    g = _load_clinics(any_data, p)
    names = g["navn"].tolist()
    notes = _notes(g)
    ok = (names == ["Klinik God", expected_name] and "klinikker.geojson: feature 2" in notes and "'navn'" in notes
          and said in notes)
    check(f"geojson_clinic_name_{case}", "geometry", "reported", "reported" if ok else "silent_loss", f"{names!r} {notes}")


def test_municipality_name_with_nul_in_the_dagi_file(any_data, data_copy):
    from kkr_geo.layers.datadir import DataDir
    from kkr_geo.layers.registry import load_layer

    root = data_copy()
    src = any_data.file("dagi/kommuner.geojson")
    doc = json.loads(src.read_text(encoding="utf-8"))
    hits = [f for f in doc["features"] if str(f["properties"].get("KOMKODE")).zfill(4) == "0147"]
    assert hits, "Frederiksberg (0147) is in the municipality file"
    for f in hits:
        f["properties"]["KOMNAVN"] = "Frederiks\x00berg Vest"
    d = writable_subdir(root, "dagi")
    (d / "kommuner.geojson").unlink()
    (d / "kommuner.geojson").write_text(json.dumps(doc), encoding="utf-8")
    kom = load_layer("kommuner", DataDir(root, "flag"))
    got = kom.set_index("kommunekode")["navn"].get("0147")
    notes = _notes(kom)
    ok = got == "Frederiks\ufffdberg Vest" and "kommuner.geojson: feature" in notes and "'KOMNAVN'" in notes and "NUL" in notes
    check("geojson_municipality_name_nul", "geometry", "reported", "reported" if ok else "silent_loss", f"{got!r} {notes}")


def test_route_file_with_nul_in_a_name(tmp_path):
    """A user's route file (``--facilities`` of ``catchment``): read through the same reader."""
    from kkr_geo.geo.io import read_vector

    p = tmp_path / "ruter.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"navn": "Rute\x00 1"},
         "geometry": {"type": "LineString", "coordinates": [[12.50, 55.68], [12.56, 55.70]]}}]}), encoding="utf-8")
    g = read_vector(p)
    notes = _notes(g)
    ok = g["navn"].tolist() == ["Rute\ufffd 1"] and "ruter.geojson: feature 1" in notes and "NUL" in notes
    check("route_file_name_nul", "geometry", "reported", "reported" if ok else "silent_loss", f"{g['navn'].tolist()!r} {notes}")


def test_raw_nul_byte_in_a_geojson_file_is_refused(tmp_path):
    from kkr_geo.geo.io import read_vector

    p = tmp_path / "ruter.geojson"
    text = json.dumps(_point_collection([({"navn": "A"}, NOERREBRO)]), indent=1).replace('"A"', '"A\x00B"')
    p.write_text(text, encoding="utf-8")
    try:
        read_vector(p)
        outcome, detail = "silent_loss", "read"
    except KkrGeoError as exc:
        line = text[: text.index("\x00")].count("\n") + 1
        outcome = "clear_error" if error_is_clear(exc, "ruter.geojson", f"line {line}", "NUL") else "unclear"
        detail = str(exc)
    check("geojson_raw_nul_byte", "geometry", "clear_error", outcome, detail)


def test_nul_in_a_clinic_csv_is_refused_naming_the_line(any_data, tmp_path):
    p = tmp_path / "klinikker.csv"
    p.write_bytes("navn;lat;lon\nKlinik God;55,692;12,55\nFør\x00efter;55,93;12,3\n".encode())
    try:
        g = _load_clinics(any_data, p)
        outcome, detail = "silent_loss", repr(g["navn"].tolist())
    except KkrGeoError as exc:
        outcome = "clear_error" if error_is_clear(exc, "klinikker.csv", "line 3", "'Før'", "NUL") else "unclear"
        detail = str(exc)
    check("csv_clinic_name_nul", "tables", "clear_error", outcome, detail)


def test_nul_after_the_first_64_kb_of_a_table_is_refused(tmp_path):
    """Only the first 64 KB were looked at: a NUL further down was read as a character of the text."""
    p = tmp_path / "indikator.csv"
    rows = ["kommunekode;navn;v"] + [f"{100 + i % 900};Kommune {i};{i}" for i in range(5000)] + ["0101;Kø\x00benhavn;1"]
    p.write_bytes("\n".join(rows).encode() + b"\n")
    assert p.stat().st_size > 65536
    try:
        read_table(p)
        outcome, detail = "silent_loss", "read"
    except KkrGeoError as exc:
        outcome = "clear_error" if error_is_clear(exc, "indikator.csv", "line 5002") else "unclear"
        detail = str(exc)
    check("csv_nul_after_64kb", "tables", "clear_error", outcome, detail)


def test_utf8_encoded_lone_surrogate_in_a_table_is_reported(tmp_path):
    """Bytes ED A0 80 (a surrogate written as UTF-8): was read as cp1252 'Kí\\xa0€benhavn' without a word."""
    p = tmp_path / "indikator.csv"
    p.write_bytes(b"kommunekode;kommune;v\n0101;K\xed\xa0\x80benhavn;1\n0147;Frederiksberg;2\n")
    df = read_table(p)
    got = df["kommune"].tolist()
    text = _report(df)
    ok = got == ["K\ufffdbenhavn", "Frederiksberg"] and "lone surrogate" in text and "line(s) 2" in text
    check("csv_utf8_lone_surrogate", "tables", "reported", "reported" if ok else "silent_loss", f"{got!r} {text}")


def test_gazetteer_with_a_nul_is_refused_naming_the_line(tmp_path):
    from kkr_geo.layers._common import Gazetteer

    p = tmp_path / "gazetteer.csv"
    p.write_bytes(b"name,kind,lat,lon\nN\xc3\xb8rreport,s_station,55.683,12.571\nAmager\x00 Strand,metro,55.656,12.632\n")
    try:
        Gazetteer(p)
        outcome, detail = "silent_loss", "read"
    except KkrGeoError as exc:
        outcome = "clear_error" if error_is_clear(exc, "gazetteer.csv", "line 3", "'Amager'") else "unclear"
        detail = str(exc)
    check("gazetteer_name_nul", "tables", "clear_error", outcome, detail)


def test_gazetteer_three_decimal_coordinates_read_as_degrees(tmp_path):
    from kkr_geo.layers._common import Gazetteer

    p = tmp_path / "gazetteer.csv"
    p.write_text("name,kind,lat,lon\nNørreport,s_station,55.683,12.571\n", encoding="utf-8")
    g = Gazetteer(p)
    got = (float(g.df["lat"].iloc[0]), float(g.df["lon"].iloc[0]))
    check("gazetteer_three_decimal_latlon", "tables", "parses", "parses" if got == (55.683, 12.571) else "silent_loss", str(got))


def test_spec_table_source_with_a_nul_is_refused(any_data, data_copy):
    """The table a spec shows under its map (``table: source: mobilitetsprojekter``) is read the same way."""
    from kkr_geo.layers import catalog
    from kkr_geo.layers.datadir import DataDir
    from kkr_geo.layers.mobilitetsprojekter import read_projects

    rel = catalog.DATASETS["mobilitetsprojekter"].path
    src = any_data.file(rel)
    if not src.exists():
        pytest.skip("no mobility projects table in this data directory")
    root = data_copy()
    lines = src.read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b";", b"\x00;", 1)
    d = writable_subdir(root, rel.rsplit("/", 1)[0])
    target = d / src.name
    target.unlink()
    target.write_bytes(b"\n".join(lines))
    try:
        read_projects(DataDir(root, "flag"))
        outcome, detail = "silent_loss", "read"
    except KkrGeoError as exc:
        outcome = "clear_error" if error_is_clear(exc, src.name, "line 4", "NUL") else "unclear"
        detail = str(exc)
    check("spec_table_source_nul", "tables", "clear_error", outcome, detail)


# ================================================================ rows left out: console and build summary

def test_flow_rows_without_a_usable_count_are_named(any_data, tmp_path, caplog):
    """Was: a negative count dropped with no word on the console or in the build summary."""
    from kkr_geo.layers.registry import load_layer
    from kkr_geo.maps.build import left_out_rows
    from kkr_geo.maps.flows import flow_lines, read_flow_table

    caplog.set_level(logging.WARNING, logger="kkr_geo")
    p = tmp_path / "patientstroemme.csv"
    p.write_text("bopaelskommune;klinikkommune;antal\nFrederiksberg;København;100\nGentofte;København;-5\n"
                 "Ballerup;Herlev;\nBallerup;Herlev;x\nGentofte;Frederiksberg;7\n", encoding="utf-8")
    table = read_flow_table(p)
    flows = flow_lines(table, load_layer("kommuner", any_data), source=str(p))

    class _Sources:
        def loaded(self):
            return {"patientstroemme": flows}

    said = "\n".join(r.getMessage() for r in caplog.records)
    summary = left_out_rows(_Sources())
    ok = (table["antal"].tolist() == [100.0, 7.0] and table.attrs["dropped_rows"] == [3, 4, 5]
          and "patientstroemme.csv: 1 line(s) left out, a negative count: line 3" in said
          and "patientstroemme.csv: 2 line(s) left out, no count (empty or not a number): lines 4-5" in said
          and "patientstroemme.csv: 1 rækker udeladt, negativt antal (linje 3)" in summary
          and any("3 rækker i tabellen er udeladt" in n for n in flows.attrs["map_notes"]))
    check("flow_rows_negative_or_missing_count", "tables", "reported", "reported" if ok else "silent_loss",
          f"{table['antal'].tolist()} {said} {summary}")


def test_clinic_rows_left_out_are_named_on_the_console_and_in_the_summary(any_data, tmp_path, caplog):
    from kkr_geo.maps.build import left_out_rows

    caplog.set_level(logging.WARNING, logger="kkr_geo")
    p = tmp_path / "klinikker.csv"
    p.write_text("navn;lat;lon;postnr;kapacitet_sp51\nKlinik God;55,692;12,55;;1\nKlinik Uden;;;;1\n"
                 "Klinik Malmø;55,605;13,0038;;1\nKlinik Ekstra;55,69;12,55;;1;9;9\n", encoding="utf-8")
    g = _load_clinics(any_data, p)

    class _Sources:
        def loaded(self):
            return {"klinikker": g}

    said = "\n".join(r.getMessage() for r in caplog.records)
    summary = "\n".join(left_out_rows(_Sources()))
    ok = (g["navn"].tolist() == ["Klinik God"]
          and "klinikker.csv: 1 line(s) left out, no coordinates and no postcode: line 3" in said
          and "klinikker.csv: 1 line(s) left out, outside Denmark: line 4" in said
          and "klinikker.csv: 1 line(s) left out, its number of cells differs from the header's: line 5" in said
          and "uden koordinater og postnummer (linje 3)" in summary and "uden for Danmark (linje 4)" in summary
          and "antallet af celler passer ikke til overskriften (linje 5)" in summary)
    check("clinic_rows_left_out_named", "tables", "reported", "reported" if ok else "silent_loss",
          f"{g['navn'].tolist()} {said} {summary}")


def test_indicator_row_skipped_by_the_reader_is_logged(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="kkr_geo")
    p = tmp_path / "indikator.csv"
    p.write_text("kommunekode;v\n0101;1\n0147;2;3\n0151;4\n", encoding="utf-8")
    df = read_table(p)
    said = "\n".join(r.getMessage() for r in caplog.records)
    rec = df.attrs["report"].left_out
    ok = (df["v"].tolist() == [1.0, 4.0] and "indikator.csv: 1 line(s) left out" in said and "line 3" in said
          and len(rec) == 1 and rec[0].numbers == (3,) and "linje 3" in rec[0].summary)
    check("indicator_row_skipped_logged", "tables", "reported", "reported" if ok else "silent_loss", f"{said} {rec}")


def test_a_big_table_report_is_shared_not_copied(tmp_path):
    """pandas deep-copied attrs['report'] on every column access: with one problem per row that made reading a
    big clinic file quadratic. Frames made from the table share its one report."""
    p = tmp_path / "t.csv"
    p.write_text("navn,v\n" + "".join(f"K{i},x{i}\n" for i in range(50)), encoding="utf-8")
    df = read_table(p)
    col = df["navn"]
    ok = col.attrs["report"] is df.attrs["report"]
    check("table_report_shared", "scale", "parses", "parses" if ok else "silent_loss", "")


def test_million_row_column_parses_like_the_cell_parser(tmp_path):
    """The column-wise reader gives what the cell parser gives: a sample of a long column with repeated texts
    (each distinct text parsed once) and odd cells in it, values derived by hand."""
    p = tmp_path / "klinikker.csv"
    body = "".join(f"K{i};{['2,5', '1', '0,5', '1.250'][i % 4]}\n" for i in range(40_000))
    p.write_text("navn;kapacitet_sp51\n" + body + "K-x;x\nK-neg;-3\n", encoding="utf-8")
    df = read_table(p)
    v = df["kapacitet_sp51"]
    ok = (v.iloc[:4].tolist() == [2.5, 1.0, 0.5, 1250.0] and v.iloc[4:8].tolist() == [2.5, 1.0, 0.5, 1250.0]
          and math.isnan(v.iloc[-2]) and v.iloc[-1] == -3.0 and df.index[-1] == 40_003
          and ("line 40002" in _report(df)) and round(float(v.iloc[:40_000].sum()), 6) == 10_000 * (2.5 + 1 + 0.5 + 1250))
    check("long_column_parsed_once_per_text", "scale", "reported", "reported" if ok else "silent_loss", _report(df)[:500])


def test_geometry_cleaning_keeps_valid_points_untouched():
    from kkr_geo.geo.geometry import clean_geometries
    import shapely

    gdf = gpd.GeoDataFrame({"navn": ["a", "b", "c"]},
                           geometry=[shapely.Point(1, 2), None, shapely.Point(3, 4)], crs=25832)
    out, report = clean_geometries(gdf, family="point", source="t", id_column="navn")
    ok = out["navn"].tolist() == ["a", "c"] and report.dropped == ["navn=b (empty geometry)"]
    check("geometry_clean_vectorised", "geometry", "reported", "reported" if ok else "silent_loss", str(report.lines()))


def test_many_unread_cells_are_summarised_per_column(tmp_path):
    """100 ambiguous cells: 20 named one by one, then one line with the other 80 and their lines (the report keeps
    all 100); a million such cells were a million console lines."""
    p = tmp_path / "indikator.csv"
    p.write_text("kommune,beloeb\n" + "".join(f"K{i},1.{i % 900 + 100}\n" for i in range(100)), encoding="utf-8")
    df = read_table(p)
    lines = df.attrs["report"].lines()
    problems = [ln for ln in lines if "column 'beloeb'" in ln]
    ok = (len(df.attrs["report"].problems) == 100 and len(problems) == 21
          and problems[-1].endswith("column 'beloeb': 80 more cell(s) or row(s) like the above, not read, on lines 22-101"))
    check("many_unread_cells_summarised", "scale", "reported", "reported" if ok else "silent_loss", "\n".join(lines[-3:]))


def test_gpkg_text_capacities_parsed_once_per_text(any_data, tmp_path):
    """A GeoPackage with its capacity stored as text: '2,5' read as 2.5, '1.250' (two ways) and 'x' named as
    missing capacity, '50 %' refused as a capacity with a unit."""
    rows = [("Klinik A", "2,5"), ("Klinik B", "1.250"), ("Klinik C", "x"), ("Klinik D", "2,5")]
    gdf = gpd.GeoDataFrame({"navn": [r[0] for r in rows], "kapacitet_sp51": [r[1] for r in rows]},
                           geometry=gpd.points_from_xy([NOERREBRO[0]] * 4, [NOERREBRO[1]] * 4), crs=4326)
    p = tmp_path / "klinikker.gpkg"
    gdf.to_file(p, engine="pyogrio")
    g = _load_clinics(any_data, p)
    got = g["kapacitet_sp51"].tolist()
    notes = _notes(g)
    ok = (got[0] == 2.5 and got[3] == 2.5 and math.isnan(got[1]) and math.isnan(got[2])
          and "feature 2: '1.250'" in notes and "feature 3 (Klinik C): empty" in notes)
    bad = tmp_path / "klinikker_enhed.gpkg"
    gdf.assign(kapacitet_sp51=["2,5", "50 %", "1", "1"]).to_file(bad, engine="pyogrio")
    try:
        _load_clinics(any_data, bad)
        ok = False
    except KkrGeoError as exc:
        ok = ok and error_is_clear(exc, "klinikker_enhed.gpkg", "feature 2", "Klinik B", "'50 %'")
    check("gpkg_text_capacities", "tables", "reported", "reported" if ok else "silent_loss", f"{got} {notes}")


def test_clinic_with_unreadable_coordinates_says_so(any_data, tmp_path):
    """A clinic whose coordinates are ambiguous (no column meaning settles 1.250 as a latitude) and which has no
    postcode: left out, and the reason is the unread coordinates, not 'no coordinates'."""
    p = tmp_path / "klinikker.csv"
    p.write_text("navn,lat,lon\nKlinik God,55.692,12.550\nKlinik Uklar,1.250,12.550\n", encoding="utf-8")
    g = _load_clinics(any_data, p)
    notes = _notes(g)
    ok = (g["navn"].tolist() == ["Klinik God"] and "line 3, column 'lat'" in notes
          and "coordinates that could not be read (see the notes on those cells) and no postcode: line 3" in notes)
    check("clinic_unread_coordinates_left_out", "tables", "reported", "reported" if ok else "silent_loss", notes)


def test_build_summary_names_the_rows_left_out(any_data, data_copy, tmp_path):
    """End to end: a build whose flow table has a negative count and a row without a count says so in its log and
    in the summary (oplande_og_daekning.md), in Danish."""
    from kkr_geo.maps.build import SUMMARY_NAME, build

    root = data_copy(exclude=("flows",))
    flows = writable_subdir(root, "flows") / "patientstroemme.csv"
    flows.write_text("bopaelskommune;klinikkommune;antal\nFrederiksberg;København;100\nGentofte;København;-5\n"
                     "Ballerup;Herlev;\nKøbenhavn;Frederiksberg;38\n", encoding="utf-8")
    lines: list[str] = []
    out = tmp_path / "bilag"
    report = build(root, out, only=["patientstroemme"], with_geopackage=True, formats=["html"], dpi=50,
                   log=lines.append)
    md = (out / f"{SUMMARY_NAME}.md").read_text(encoding="utf-8")
    section = md.split("## Udeladte rækker i inddata", 1)[1].split("##", 1)[0] if "## Udeladte rækker" in md else ""
    section = section.replace("\\", "")  # Markdown escapes of ( and )
    ok = ("patientstroemme.csv: 1 rækker udeladt, negativt antal (linje 3)" in section
          and "patientstroemme.csv: 1 rækker udeladt, uden antal (tom eller ikke et tal) (linje 4)" in section
          and len(report.left_out) == 2)
    check("build_summary_left_out_rows", "cli", "reported", "reported" if ok else "silent_loss", section or md[-800:])


def test_a_rate_is_not_settled_as_a_count(tmp_path):
    """'patienter_pr_1000' counts patients but is a rate: 12.500 there may be 12.5, so it stays ambiguous and
    reported (not read as 12500 because a count is whole); 'befolkning_andel' is a share, not a count."""
    p = tmp_path / "indikator.csv"
    p.write_text("kommune,patienter_pr_1000,befolkning_andel\nA,12.500,12.500\nB,3,4\n", encoding="utf-8")
    df = read_table(p)
    got = {c: df[c].tolist() for c in ("patienter_pr_1000", "befolkning_andel")}
    text = _report(df)
    ok = (math.isnan(got["patienter_pr_1000"][0]) and got["befolkning_andel"] == [12.5, 4.0]
          and "line 2, column 'patienter_pr_1000'" in text and "ambiguous" in text)
    check("rate_column_not_a_count", "tables", "reported", "reported" if ok else "silent_loss", f"{got} {text}")
