"""Red-team leftovers on bad input: clinic capacities that cannot be capacities (-5, inf, 0, empty,
nan), units in number cells (``50 %``), scientific notation out of a float's range (``1E400``,
``1E-400``) and CSV files saved as UTF-16 (the gazetteer, the clinic file, indicator tables).

Each case is recorded in the reliability ledger before it is asserted.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest

from conftest import writable_subdir
from kkr_geo.geo.errors import KkrGeoError
from reliability_cases import check, error_is_clear, refusal_outcome, reliability_ledger  # noqa: F401  (autouse fixture)

# Two clinics in Copenhagen (Danish ';' file): the second one carries the cell under test.
HEADER = "navn;lat;lon;kapacitet_sp51;kapacitet_sp62\n"
GOOD_ROW = "Klinik God;55,6761;12,5683;2,5;1\n"


def _clinics(tmp_path, cell: str, *, column: str = "kapacitet_sp51", name: str = "klinikker.csv"):
    other = "1"
    row = f"Klinik Prøve;55,6920;12,5500;{cell};{other}\n" if column == "kapacitet_sp51" else \
        f"Klinik Prøve;55,6920;12,5500;{other};{cell}\n"
    p = tmp_path / name
    p.write_text(HEADER + GOOD_ROW + row, encoding="utf-8")
    return p


def _run(*args):
    env = dict(os.environ)
    env.pop("KKR_GEO_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "kkr_geo", *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=600)


def _load(dd, path):
    from kkr_geo.layers.registry import load_layer
    return load_layer("klinikker", dd, path=path)


# ============================================================ clinic capacities that cannot be one

IMPOSSIBLE = ["-5", "-0,5", "inf", "-inf", "1E400", "1E-400", "50 %", "3 kr."]


@pytest.mark.parametrize("column", ["kapacitet_sp51", "kapacitet_sp62"])
@pytest.mark.parametrize("cell", IMPOSSIBLE)
def test_impossible_clinic_capacity_is_an_error_naming_file_line_clinic_and_column(any_data, tmp_path, cell, column):
    """-5 was kept in the clinic layer without a word (only ``access`` refused it later); '50 %' read as 50,
    '1E-400' as 0. A present capacity that cannot be one is an error at reading, for every use of the layer."""
    p = _clinics(tmp_path, cell, column=column)
    try:
        g = _load(any_data, p)
        got = g.set_index("navn")[column].get("Klinik Prøve")
        outcome, detail = "silent_loss", f"read as {got!r}; notes: {g.attrs.get('notes')}"
    except KkrGeoError as exc:
        ok = error_is_clear(exc, "klinikker.csv", "line 3", "Klinik Prøve", column, cell.strip())
        outcome, detail = ("clear_error" if ok else "unclear"), str(exc)
    check(f"clinic_capacity_impossible:{column}:{cell}", "tables", "clear_error", outcome, detail)


@pytest.mark.parametrize("command", [["coverage", "--threshold", "2000"],
                                     ["access", "--catchment", "2000", "--capacity-column", "kapacitet_sp51"],
                                     ["layers", "show", "klinikker"]])
def test_negative_capacity_refused_the_same_way_by_every_command(real_data, tmp_path, command):
    p = _clinics(tmp_path, "-5")
    out = tmp_path / "out"
    extra = ["--klinikker", p] if command[0] == "layers" else \
        ["--layer", "klinikker", "--klinikker", p, "--distance", "euclidean", "--out", out]
    r = _run("--data-dir", real_data.path, *command, *extra)
    said = r.stdout + r.stderr
    outcome = refusal_outcome(said, r.returncode, "klinikker.csv", "line 3", "Klinik Prøve", "kapacitet_sp51", "-5")
    check(f"clinic_capacity_negative_cli:{command[0]}", "cli", "clear_error", outcome, said[-500:])
    assert not out.exists() or not any(out.glob("*.csv"))


def test_negative_capacity_in_the_data_directory_stops_the_clinic_map(real_data, tmp_path):
    """The build reads klinikker/klinikker.csv of the data directory: same error, no map of it."""
    root = tmp_path / "data"
    root.mkdir()
    for child in real_data.path.iterdir():
        (root / child.name).symlink_to(child)
    k = writable_subdir(root, "klinikker")
    (k / "klinikker.csv").write_text(HEADER + GOOD_ROW + "Klinik Prøve;55,6920;12,5500;-5;1\n", encoding="utf-8")
    out = tmp_path / "out"
    r = _run("--data-dir", root, "build", "--only", "klinik_daekningshuller", "--formats", "png", "--no-tiles",
             "--out", out)
    said = r.stdout + r.stderr
    outcome = refusal_outcome(said, r.returncode, "klinikker.csv", "line 3", "Klinik Prøve")
    check("clinic_capacity_negative_build", "cli", "clear_error", outcome, said[-500:])
    assert not (out / "klinik_daekningshuller.png").exists()


@pytest.mark.parametrize("cell, what", [("", "empty"), ("nan", "nan"), ("x", "'x'"), ("0", "0")])
def test_empty_or_zero_capacity_is_reported_and_refused_where_capacity_counts(real_data, tmp_path, cell, what):
    """A clinic without capacity is still a location (coverage), so it is kept, but the layer says so (file,
    line, clinic, column); 2SFCA needs the capacity and refuses the missing one naming the clinic. A capacity
    of 0 is a number: kept and reported (the clinic adds no supply)."""
    p = _clinics(tmp_path, cell)
    g = _load(real_data, p)
    notes = "\n".join(g.attrs.get("notes", []))
    named = all(s in notes for s in ("klinikker.csv", "line 3", "Klinik Prøve", "kapacitet_sp51"))
    out = tmp_path / "out"
    cov = _run("--data-dir", real_data.path, "coverage", "--layer", "klinikker", "--klinikker", p, "--threshold", "2000",
               "--distance", "euclidean", "--out", out)
    acc = _run("--data-dir", real_data.path, "access", "--layer", "klinikker", "--klinikker", p, "--catchment", "2000",
               "--distance", "euclidean", "--out", tmp_path / "out2")
    cov_ok = cov.returncode == 0 and "line 3" in cov.stderr and "Klinik Prøve" in cov.stderr
    if cell == "0":
        acc_ok = acc.returncode == 0 and "Klinik Prøve" in acc.stderr
    else:
        acc_ok = acc.returncode not in (0, 70) and "Klinik Prøve" in acc.stderr and "Traceback" not in acc.stderr
    kept = len(g) == 2
    outcome = "reported" if named and kept and cov_ok and acc_ok else "silent_loss"
    check(f"clinic_capacity_missing_or_zero:{what}", "tables", "reported", outcome,
          f"notes: {notes}\ncoverage {cov.returncode}: {cov.stderr[-300:]}\naccess {acc.returncode}: {acc.stderr[-300:]}")


def test_impossible_capacity_in_a_geopackage_clinic_file(any_data, tmp_path):
    """A GeoPackage stores capacity as a real number: -5 and inf there are the same error."""
    import geopandas as gpd
    import numpy as np
    import shapely
    fac = gpd.GeoDataFrame({"navn": ["Klinik God", "Klinik Minus", "Klinik Uendelig"], "kapacitet_sp51": [2.0, -5.0, np.inf]},
                           geometry=[shapely.Point(12.5683, 55.6761), shapely.Point(12.55, 55.692),
                                     shapely.Point(12.53, 55.68)], crs=4326)
    p = tmp_path / "klinikker.gpkg"
    fac.to_file(p, layer="klinikker")
    try:
        g = _load(any_data, p)
        outcome, detail = "silent_loss", str(g["kapacitet_sp51"].tolist())
    except KkrGeoError as exc:
        ok = error_is_clear(exc, "klinikker.gpkg", "Klinik Minus", "Klinik Uendelig", "kapacitet_sp51")
        outcome, detail = ("clear_error" if ok else "unclear"), str(exc)
    check("clinic_capacity_impossible_gpkg", "tables", "clear_error", outcome, detail)


# ==================================================================== units in a number column

def test_unit_in_a_plain_number_column_is_reported(tmp_path):
    """'50 %' among plain numbers read as 50 without a word."""
    from kkr_geo.layers.indicators import read_table
    p = tmp_path / "t.csv"
    p.write_text("kommune;antal\nA;12\nB;50 %\nC;7\n", encoding="utf-8")
    df = read_table(p)
    text = "\n".join(df.attrs["report"].lines())
    ok = all(s in text for s in ("t.csv", "line 3", "'antal'", "50 %", "%"))
    check("unit_among_plain_numbers", "tables", "reported", "reported" if ok else "silent_loss", f"{df['antal'].tolist()} {text}")


def test_a_percent_column_reads_without_a_report(tmp_path):
    """A column whose every cell carries the same unit (a share in %, an amount in kr.) is read as numbers."""
    from kkr_geo.layers.indicators import read_table
    p = tmp_path / "t.csv"
    p.write_text("kommune;andel;tilskud\nA;65 %;19.362.920 kr.\nB;4%;850 kr.\nC;-7 %;1.095 kr.\n", encoding="utf-8")
    df = read_table(p)
    rep = df.attrs["report"]
    ok = (df["andel"].tolist() == [65.0, 4.0, -7.0] and df["tilskud"].tolist() == [19362920.0, 850.0, 1095.0]
          and not rep.problems and not any("unit" in n for n in rep.notes))
    check("unit_consistent_column", "tables", "parses", "parses" if ok else "silent_loss", str(rep.lines()))


def test_the_shared_percent_and_amount_tables_still_read(real_data):
    """The real practice-plan tables carry '%' and 'kr.' in every cell of a column: unchanged values."""
    from kkr_geo.layers.indicators import read_table
    base = real_data.path / "indikatorer" / "praksisplan"
    pct = read_table(base / "patienter_pr_kommune_2020_2023.csv")
    kr = read_table(base / "tilskud_pr_kommune_2023.csv")
    ok = (pct["pct_aendring_patienter"].iloc[0] == 4.0 and kr["tilskud"].iloc[0] == 19362920.0
          and kr["tilskud_pr_patient"].iloc[0] == 850.0
          and not any("unit" in n for n in pct.attrs["report"].notes + kr.attrs["report"].notes))
    check("unit_shared_tables", "tables", "parses", "parses" if ok else "silent_loss",
          str(pct.attrs["report"].lines() + kr.attrs["report"].lines()))


# ========================================================= scientific notation out of range

@pytest.mark.parametrize("cell, word", [("1E400", "too large"), ("-1E400", "too large"), ("1E-400", "too small"),
                                        ("2,5E-320", "too small")])
def test_scientific_notation_out_of_range_is_reported_not_zero_or_inf(tmp_path, cell, word):
    from kkr_geo.layers.indicators import read_table
    p = tmp_path / "t.csv"
    p.write_text(f"kommune;vaerdi\nA;1,5\nB;{cell}\nC;2\nD;3\nE;4\n", encoding="utf-8")
    df = read_table(p)
    got = df["vaerdi"].tolist()
    text = "\n".join(df.attrs["report"].lines())
    ok = math.isnan(got[1]) and all(s in text for s in ("t.csv", "line 3", "'vaerdi'", cell, word))
    check(f"scientific_out_of_range:{cell}", "tables", "reported", "reported" if ok else "silent_loss", f"{got} {text}")


@pytest.mark.parametrize("cell", ["1E400", "1E-400", "inf", "Infinity"])
def test_parse_number_refuses_values_out_of_a_floats_range(cell):
    from kkr_geo.layers.numbers import NumberFormatError, parse_number
    try:
        got = parse_number(cell, decimal=".")
        outcome, detail = "silent_loss", repr(got)
    except NumberFormatError as exc:
        outcome, detail = ("clear_error" if cell in str(exc) else "unclear"), str(exc)
    check(f"parse_number_out_of_range:{cell}", "tables", "clear_error", outcome, detail)


def test_small_but_representable_numbers_still_read():
    from kkr_geo.layers.numbers import parse_number
    assert parse_number("1E-300", decimal=".") == 1e-300
    assert parse_number("0E5", decimal=".") == 0.0
    assert parse_number("0,0", decimal=",") == 0.0
    assert parse_number("-0", decimal=",") == 0.0


# ============================================================================== UTF-16 files

GAZ_UTF16 = "the file is UTF-16; save it as UTF-8 (CSV UTF-8 in Excel)"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_gazetteer_saved_as_utf16(data_copy, encoding):
    """Excel's 'Unicode text' is UTF-16: with a byte-order mark it is read as it is; without one it is
    refused naming the encoding (it was 'cannot be read as a UTF-8 CSV file ('utf-8' codec can't decode ...)')."""
    root = data_copy()
    g = writable_subdir(root, "gazetteer")
    text = (g / "gazetteer.csv").resolve().read_text(encoding="utf-8-sig")
    (g / "gazetteer.csv").unlink()
    (g / "gazetteer.csv").write_bytes(text.encode(encoding))
    res = _run("--data-dir", root, "layers", "show", "stationer")
    said = res.stdout + res.stderr
    if "Traceback" in said or "codec" in said:
        outcome = "unclear"
    elif encoding == "utf-16":   # BOM: read as it is
        outcome = "parses" if res.returncode == 0 and "status: ok" in res.stdout else "unclear"
    else:
        outcome = "clear_error" if res.returncode not in (0, 70) and "gazetteer.csv" in said and GAZ_UTF16 in said \
            else "unclear"
    expected = "parses" if encoding == "utf-16" else "clear_error"
    check(f"gazetteer_{encoding}", "tables", expected, outcome, f"exit {res.returncode}: {said[-400:]}")


def test_gazetteer_utf16_read_gives_the_same_stations(data_copy, any_data):
    from kkr_geo.layers._common import Gazetteer
    root = data_copy()
    g = writable_subdir(root, "gazetteer")
    src = (g / "gazetteer.csv").resolve()
    (g / "gazetteer.csv").unlink()
    (g / "gazetteer.csv").write_bytes(src.read_text(encoding="utf-8-sig").encode("utf-16"))
    a, b = Gazetteer(src).df, Gazetteer(g / "gazetteer.csv").df
    assert a.drop(columns="key").equals(b.drop(columns="key"))


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_clinic_file_in_utf16_without_bom_names_the_encoding(any_data, tmp_path, encoding):
    """Without a byte-order mark a UTF-16 file was 'contains NUL bytes; this is not a text (CSV) file'."""
    p = tmp_path / "klinikker.csv"
    p.write_bytes((HEADER + GOOD_ROW).encode(encoding))
    try:
        _load(any_data, p)
        outcome, detail = "silent_loss", "read"
    except KkrGeoError as exc:
        outcome = "clear_error" if error_is_clear(exc, "klinikker.csv", "UTF-16", "CSV UTF-8") else "unclear"
        detail = str(exc)
    check(f"clinic_file_{encoding}", "tables", "clear_error", outcome, detail)


def test_clinic_file_in_utf16_with_bom_is_read(any_data, tmp_path):
    p = tmp_path / "klinikker.csv"
    p.write_bytes((HEADER + GOOD_ROW).encode("utf-16"))
    g = _load(any_data, p)
    ok = g["navn"].tolist() == ["Klinik God"] and g["kapacitet_sp51"].tolist() == [2.5]
    check("clinic_file_utf16_bom", "tables", "parses", "parses" if ok else "silent_loss", str(g.drop(columns="geometry")))


def test_mobility_table_in_utf16(data_copy, real_data):
    """The mobility projects table (read with pandas, not read_table) in UTF-16 with a BOM: read as it is."""
    root = data_copy()
    m = writable_subdir(root, "mobilitet")
    src = (m / "mobilitetsanalyse_33_projekter.csv").resolve()
    (m / "mobilitetsanalyse_33_projekter.csv").unlink()
    (m / "mobilitetsanalyse_33_projekter.csv").write_bytes(src.read_text(encoding="utf-8-sig").encode("utf-16"))
    from kkr_geo.layers.datadir import DataDir
    from kkr_geo.layers.mobilitetsprojekter import read_projects
    try:
        df, _ = read_projects(DataDir(root, "flag"))
        outcome, detail = ("parses" if len(df) == 33 and "Kystbanen" in df.iloc[0].to_string() else "silent_loss"), str(len(df))
    except KkrGeoError as exc:
        outcome, detail = "unclear", str(exc)
    check("mobility_table_utf16", "tables", "parses", outcome, detail)
