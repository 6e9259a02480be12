"""Reliability (issue 9): bad input an analyst produces by accident gives a clear error or a report,
never a wrong number - ambiguous numbers, duplicated keys, unreadable Tabel 3 cells, a decimal comma
in the gazetteer, clinics outside Denmark, files without CRS or with several layers, a
self-intersecting municipality, leaked library warnings and temporary files of killed runs.

Every case is recorded in the reliability ledger before it is asserted.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import warnings

import geopandas as gpd
import pytest
import shapely

from conftest import writable_subdir
from kkr_geo.geo.errors import KkrGeoError
from kkr_geo.layers.indicators import read_table
from reliability_cases import check, error_is_clear, reliability_ledger  # noqa: F401  (autouse fixture)

RAW_WARNING = re.compile(r":\d+: \w*Warning:")  # how Python prints a warning: file.py:12: UserWarning: ...
HELSINGBORG = (12.6945, 56.0465)
MALMOE = (13.0038, 55.6050)
NOERREBRO = (12.5500, 55.6920)
HILLEROED = (12.3000, 55.9300)


def _run(*args, cwd=None):
    env = dict(os.environ)
    env.pop("KKR_GEO_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "kkr_geo", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=600)


def _lines(df) -> str:
    return "\n".join(df.attrs["report"].lines())


# ============================================================================ numbers in tables

def test_comma_file_with_ambiguous_capacities_is_reported_not_guessed(tmp_path):
    # in a ','-separated file '1.500' is 1500 (thousands dot) or 1.5 (decimal point): nothing settles it
    p = tmp_path / "klinikker.csv"
    p.write_text("navn,kapacitet_sp51\nKlinik A,1.500\nKlinik B,1.250\nKlinik C,2\n", encoding="utf-8")
    df = read_table(p)
    got = df["kapacitet_sp51"].tolist()
    text = _lines(df)
    ok = (math.isnan(got[0]) and math.isnan(got[1]) and got[2] == 2.0
          and all(s in text for s in ("klinikker.csv", "line 2", "line 3", "'kapacitet_sp51'", "ambiguous", "--decimal")))
    check("comma_file_ambiguous_numbers", "tables", "reported", "reported" if ok else "silent_loss", f"{got} {text}")


def test_comma_file_capacities_settled_by_the_column(tmp_path):
    # the file: 0.500 can only be a decimal number (a thousands group never starts with 0),
    # so the column is read with decimal points, and the cells that alone were ambiguous are named
    p = tmp_path / "klinikker.csv"
    p.write_text("navn,kapacitet_sp51\nKlinik A,0.500\nKlinik B,1.250\nKlinik C,2.000\n", encoding="utf-8")
    df = read_table(p)
    got = df["kapacitet_sp51"].tolist()
    text = _lines(df)
    ok = got == [0.5, 1.25, 2.0] and "line 3" in text and "line 4" in text and "ambiguous" in text
    check("comma_file_numbers_settled_by_column", "tables", "reported", "reported" if ok else "silent_loss",
          f"{got} {text}")


@pytest.mark.parametrize("options, expected", [({"decimal": "."}, [1.5, 1.25, 2.0]),
                                               ({"thousands": "."}, [1500.0, 1250.0, 2.0]),
                                               ({"decimal": ".", "thousands": ""}, [1.5, 1.25, 2.0])])
def test_number_format_option_settles_ambiguous_cells(tmp_path, options, expected):
    p = tmp_path / "k.csv"
    p.write_text("navn,kapacitet_sp51\nKlinik A,1.500\nKlinik B,1.250\nKlinik C,2\n", encoding="utf-8")
    df = read_table(p, **options)
    ok = df["kapacitet_sp51"].tolist() == expected and not df.attrs["report"].problems
    check(f"number_format_option:{sorted(options.items())}", "tables", "parses", "parses" if ok else "silent_loss",
          f"{df['kapacitet_sp51'].tolist()} {_lines(df)}")


def test_semicolon_file_keeps_the_danish_convention(tmp_path):
    # a ';'-separated file is Danish: 1.250 is one thousand two hundred and fifty, no doubt about it
    p = tmp_path / "dk.csv"
    p.write_text("kommune;borgere\nDragør;1.250\nHerlev;2.000\nGentofte;75.000\n", encoding="utf-8")
    df = read_table(p)
    ok = df["borgere"].tolist() == [1250.0, 2000.0, 75000.0] and not df.attrs["report"].problems
    check("semicolon_file_danish_thousands", "tables", "parses", "parses" if ok else "silent_loss", _lines(df))


def test_strict_makes_an_ambiguous_cell_an_error(tmp_path):
    p = tmp_path / "streng.csv"
    p.write_text("navn,kapacitet_sp51\nKlinik A,1.500\nKlinik B,2\n", encoding="utf-8")
    with pytest.raises(KkrGeoError) as ei:
        read_table(p, strict=True)
    ok = error_is_clear(ei.value, "streng.csv", "line 2", "1.500", "ambiguous")
    check("strict_ambiguous_number", "tables", "clear_error", "clear_error" if ok else "unclear", str(ei.value))


def test_contradictory_number_format_is_a_clear_error(tmp_path):
    p = tmp_path / "k.csv"
    p.write_text("navn,v\nA,1\n", encoding="utf-8")
    try:
        read_table(p, decimal=",", thousands=",")
    except KkrGeoError as exc:
        return check("number_format_contradiction", "tables", "clear_error",
                     "clear_error" if error_is_clear(exc, "','") else "unclear", str(exc))
    except Exception as exc:  # noqa: BLE001
        return check("number_format_contradiction", "tables", "clear_error", "unclear", repr(exc))
    check("number_format_contradiction", "tables", "clear_error", "silent_loss", "accepted")


def test_clinic_file_capacities_never_become_thousands(tmp_path, real_data):
    from kkr_geo.layers.registry import load_layer
    p = tmp_path / "klinikker.csv"
    p.write_text("navn,lat,lon,kapacitet_sp51\nKlinik A,55.6920,12.5500,1.500\nKlinik B,55.6800,12.5300,1.250\n"
                 "Klinik C,55.7000,12.5000,2\n", encoding="utf-8")
    layer = load_layer("klinikker", real_data, path=p)
    caps = layer.set_index("navn")["kapacitet_sp51"]
    notes = "\n".join(layer.attrs["notes"])
    reported = caps.max() < 100 and "line 2" in notes and "ambiguous" in notes
    settled = load_layer("klinikker", real_data, path=p, decimal=".").set_index("navn")["kapacitet_sp51"].tolist()
    ok = reported and settled == [1.5, 1.25, 2.0]
    check("clinic_capacity_ambiguous", "tables", "reported", "reported" if ok else "silent_loss",
          f"{caps.tolist()} {settled} {notes}")


def test_clinic_capacity_number_format_on_the_command_line(tmp_path, real_data):
    p = tmp_path / "klinikker.csv"
    p.write_text("navn,lat,lon,kapacitet_sp51\nKlinik A,55.6920,12.5500,1.500\nKlinik B,55.6800,12.5300,1.250\n",
                 encoding="utf-8")
    res = _run("layers", "show", "klinikker", "--klinikker", str(p))
    plain = res.returncode == 0 and "ambiguous" in res.stdout and "--decimal" in res.stdout
    res2 = _run("layers", "show", "klinikker", "--klinikker", str(p), "--decimal", ".")
    ok = plain and res2.returncode == 0 and "ambiguous" not in res2.stdout
    check("cli_decimal_option", "cli", "reported", "reported" if ok else "silent_loss", res.stdout[-600:] + res2.stderr)


def test_duplicated_key_reported_with_both_values(tmp_path):
    from kkr_geo.layers.joins import join_indicators
    layer = gpd.GeoDataFrame({"kommunekode": ["0101", "0155"], "navn": ["København", "Dragør"]},
                             geometry=[shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)], crs=25832)
    p = tmp_path / "befolkning.csv"
    p.write_text("kommunekode;befolkning\n0101;667124\n0155;14609\n0155;99999\n", encoding="utf-8")
    joined, report = join_indicators(layer, read_table(p))
    text = str(report)
    ok = "14609" in text and "99999" in text and "line 3" in text and "line 4" in text
    with pytest.raises(KkrGeoError) as ei:
        join_indicators(layer, read_table(p), strict=True)
    ok = ok and "99999" in str(ei.value)
    check("join_duplicate_key_both_values", "tables", "reported", "reported" if ok else "silent_loss", text)


def test_duplicated_municipality_population_in_the_layer_notes(data_copy):
    from kkr_geo.layers.registry import load_layer
    root = data_copy()
    bef = writable_subdir(root, "befolkning")
    src = (bef / "befolkning_kommuner.csv").resolve().read_text(encoding="utf-8")
    (bef / "befolkning_kommuner.csv").unlink()
    (bef / "befolkning_kommuner.csv").write_text(src.rstrip("\n") + "\n0155,Dragør,99999,2023-01-01,kopi\n", encoding="utf-8")
    layer = load_layer("kommuner", root)
    notes = "\n".join(layer.attrs["notes"])
    first = layer.set_index("kommunekode").at["0155", "befolkning"]
    ok = "99999" in notes and str(first) in notes and "0155" in notes
    check("kommuner_duplicate_population_row", "tables", "reported", "reported" if ok else "silent_loss", notes)


# ================================================================================== Tabel 3

def _tabel3_copy(data_copy, value: str):
    root = data_copy()
    d = writable_subdir(root, "indikatorer")
    name = "fysioterapi_kapacitet_speciale51_2024.csv"
    text = (d / name).resolve().read_text(encoding="utf-8-sig")
    new, n = re.subn(r"(?m)^Dragør;planlægningsområde;Syd;[^;]*;", f"Dragør;planlægningsområde;Syd;{value};", text)
    assert n == 1
    line = text.splitlines().index(next(ln for ln in text.splitlines() if ln.startswith("Dragør;planlægningsområde"))) + 1
    (d / name).unlink()
    (d / name).write_text(new, encoding="utf-8")
    return root, line


@pytest.mark.parametrize("value", ["", "x", "13.7"])
def test_tabel3_unreadable_capacity_is_a_clear_error(data_copy, value):
    from kkr_geo.layers.region_population import planlaegningsomraade_population
    root, line = _tabel3_copy(data_copy, value)
    case = f"tabel3_capacity_cell:{value or 'empty'}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            got = planlaegningsomraade_population(root)
        except KkrGeoError as exc:
            leaked = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
            ok = error_is_clear(exc, "fysioterapi_kapacitet_speciale51_2024.csv", f"line {line}", "kapacitet_sp51",
                                "Dragør", repr(value) if value else "empty") and not leaked
            return check(case, "tables", "clear_error", "clear_error" if ok else "unclear", f"{exc} {leaked}")
        except Exception as exc:  # noqa: BLE001
            return check(case, "tables", "clear_error", "unclear", repr(exc))
    check(case, "tables", "clear_error", "silent_loss", str(got.set_index("navn").at["Dragør", "population"]))


def test_build_writes_no_map_from_an_incomplete_tabel3(data_copy, tmp_path):
    root, line = _tabel3_copy(data_copy, "")
    out = tmp_path / "bilag"
    res = _run("--data-dir", str(root), "build", "--only", "borgere_pr_kapacitet_sp51", "--formats", "png",
               "--dpi", "30", "--no-tiles", "--out", str(out))
    written = sorted(p.name for p in out.rglob("*")) if out.exists() else []
    ok = (res.returncode != 0 and not written and f"line {line}" in res.stderr and "kapacitet_sp51" in res.stderr
          and "Traceback" not in res.stderr and not RAW_WARNING.search(res.stderr))
    check("build_tabel3_empty_cell", "cli", "clear_error", "clear_error" if ok else "silent_loss",
          f"exit {res.returncode} {written} {res.stderr[-500:]}")


# ================================================================================ gazetteer

@pytest.mark.parametrize("quoted", [False, True])
def test_gazetteer_decimal_comma(data_copy, quoted):
    root = data_copy()
    g = writable_subdir(root, "gazetteer")
    text = (g / "gazetteer.csv").resolve().read_text(encoding="utf-8-sig").splitlines()
    row = text[2].split(",")
    lat = row[2]
    row[2] = f'"{lat.replace(".", ",")}"' if quoted else lat.replace(".", ",")
    text[2] = ",".join(row)
    (g / "gazetteer.csv").unlink()
    (g / "gazetteer.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    res = _run("--data-dir", str(root), "layers", "show", "stationer")
    case = f"gazetteer_decimal_comma:{'quoted' if quoted else 'unquoted'}"
    ok = (res.returncode not in (0, 70) and "gazetteer.csv" in res.stderr and "line 3" in res.stderr
          and "What to do" in res.stderr and "internal error" not in res.stderr)
    check(case, "tables", "clear_error", "clear_error" if ok else "unclear", f"exit {res.returncode}: {res.stderr[-400:]}")


# ========================================================================== outside Denmark

def _clinic_csv(path):
    rows = [("Klinik Nørrebro", NOERREBRO, "2,5"), ("Klinik Helsingborg", HELSINGBORG, "3,0"),
            ("Klinik Malmø", MALMOE, "1,0"), ("Klinik Hillerød", HILLEROED, "1,5")]
    path.write_text("navn;lat;lon;kapacitet_sp51\n" + "".join(f"{n};{str(y).replace('.', ',')};{str(x).replace('.', ',')};{c}\n"
                                                             for n, (x, y), c in rows), encoding="utf-8")
    return path


def test_clinics_across_oeresund_are_left_out_and_named(tmp_path, real_data):
    from kkr_geo.layers.registry import load_layer
    layer = load_layer("klinikker", real_data, path=_clinic_csv(tmp_path / "klinikker.csv"))
    notes = "\n".join(layer.attrs["notes"])
    ok = (sorted(layer["navn"]) == ["Klinik Hillerød", "Klinik Nørrebro"] and "Klinik Helsingborg" in notes
          and "Klinik Malmø" in notes and "line 3" in notes and "line 4" in notes
          and len(layer.attrs["left_out"]) == 2)
    check("clinics_in_sweden", "geometry", "reported", "reported" if ok else "silent_loss", notes)


def test_access_command_leaves_out_facilities_in_sweden(tmp_path, real_data):
    f = tmp_path / "klinikker.gpkg"
    gpd.GeoDataFrame({"navn": ["Klinik Nørrebro", "Klinik Helsingborg", "Klinik Hillerød"], "kapacitet_sp51": [2.5, 3.0, 1.5]},
                     geometry=[shapely.Point(*NOERREBRO), shapely.Point(*HELSINGBORG), shapely.Point(*HILLEROED)],
                     crs=4326).to_file(f)
    out = tmp_path / "ud"
    res = _run("access", "--facilities", str(f), "--catchment", "5000", "--areas", "none", "--cell-size", "500",
               "--out", str(out))
    fac = out / "access_facilities.csv"
    import pandas as pd
    names = sorted(pd.read_csv(fac)["navn"]) if fac.exists() and "navn" in pd.read_csv(fac).columns else None
    rows = len(pd.read_csv(fac)) if fac.exists() else None
    ok = (res.returncode == 0 and "Klinik Helsingborg" in res.stderr and "outside Denmark" in res.stderr
          and rows == 2 and (names is None or "Klinik Helsingborg" not in names))
    check("access_facility_in_sweden", "cli", "reported", "reported" if ok else "silent_loss",
          f"exit {res.returncode} rows={rows} {names} {res.stderr[-600:]}")


def test_build_says_which_clinics_were_left_out(data_copy, tmp_path):
    from kkr_geo.maps.build import build
    root = data_copy()
    k = writable_subdir(root, "klinikker")
    for old in list(k.iterdir()):
        old.unlink()
    _clinic_csv(k / "klinikker.csv")
    lines = []
    report = build(root, tmp_path / "ud", only=["klinik_daekningshuller"], dpi=30, formats=["png"], log=lines.append)
    log = "\n".join(lines)
    ok = [m.name for m in report.built] == ["klinik_daekningshuller"] and "Klinik Helsingborg" in log and "Klinik Malmø" in log
    check("build_clinics_left_out", "cli", "reported", "reported" if ok else "silent_loss", log[-800:])


# ============================================================================ silent guesses

def _shapefile_without_prj(tmp_path):
    p = tmp_path / "klinikker_uden_prj.shp"
    gpd.GeoDataFrame({"navn": ["A", "B"], "kap": [1.0, 2.0]},
                     geometry=[shapely.Point(*NOERREBRO), shapely.Point(*HILLEROED)], crs=4326).to_crs(25832).to_file(p)
    p.with_suffix(".prj").unlink()
    return p


def test_shapefile_without_prj_says_which_crs_was_assumed(tmp_path, real_data):
    p = _shapefile_without_prj(tmp_path)
    res = _run("coverage", "--facilities", str(p), "--threshold", "2000", "--areas", "none", "--cell-size", "500",
               "--out", str(tmp_path / "ud"))
    ok = res.returncode == 0 and "EPSG:25832" in res.stderr and ".prj" in res.stderr and "--crs" in res.stderr
    check("shapefile_without_prj_noted", "geometry", "reported", "reported" if ok else "silent_loss", res.stderr[-500:])


def test_shapefile_without_prj_with_crs_option(tmp_path, real_data):
    from kkr_geo.geo.io import read_vector
    p = _shapefile_without_prj(tmp_path)
    gdf = read_vector(p, assume_crs="EPSG:25832")
    note = " ".join(gdf.attrs["notes"])
    ok = "assumed EPSG:25832 as asked" in note and gdf.geometry.x.round().tolist() == \
        gpd.GeoSeries([shapely.Point(*NOERREBRO), shapely.Point(*HILLEROED)], crs=4326).to_crs(25832).x.round().tolist()
    check("shapefile_without_prj_crs_given", "geometry", "reported", "reported" if ok else "silent_loss", note)
    res = _run("coverage", "--facilities", str(p), "--crs", "ikke-en-crs", "--threshold", "2000", "--areas", "none",
               "--out", str(tmp_path / "ud"))
    ok = res.returncode == 4 and "ikke-en-crs" in res.stderr and "What to do" in res.stderr
    check("crs_option_unreadable", "cli", "clear_error", "clear_error" if ok else "unclear", res.stderr[-400:])


def _two_layer_gpkg(tmp_path):
    p = tmp_path / "klinikker_to_lag.gpkg"
    a = gpd.GeoDataFrame({"navn": ["A", "B"], "kapacitet_sp51": [1.0, 2.0]},
                         geometry=[shapely.Point(*NOERREBRO), shapely.Point(*HILLEROED)], crs=4326)
    a.to_file(p, layer="klinikker_2023")
    a.iloc[:1].to_file(p, layer="klinikker_2024")
    return p


@pytest.mark.parametrize("command", ["facilities", "klinikker"])
def test_geopackage_with_two_layers_is_not_guessed(tmp_path, real_data, command):
    p = _two_layer_gpkg(tmp_path)
    args = (["coverage", "--facilities", str(p), "--threshold", "2000", "--areas", "none", "--out", str(tmp_path / "ud")]
            if command == "facilities" else ["layers", "show", "klinikker", "--klinikker", str(p)])
    res = _run(*args)
    ok = (res.returncode == 4 and "klinikker_2023" in res.stderr and "klinikker_2024" in res.stderr
          and "--file-layer" in res.stderr and not RAW_WARNING.search(res.stderr) and "Warning" not in res.stderr)
    check(f"gpkg_two_layers:{command}", "cli", "clear_error", "clear_error" if ok else "unclear", res.stderr[-500:])
    res = _run(*args, "--file-layer", "klinikker_2024")
    ok = res.returncode == 0 and not RAW_WARNING.search(res.stderr)
    if command == "klinikker":
        ok = ok and "features: 1;" in res.stdout
    check(f"gpkg_two_layers_chosen:{command}", "cli", "parses", "parses" if ok else "silent_loss",
          res.stdout[-300:] + res.stderr[-300:])


# ========================================================================= geometry repair

def test_self_intersecting_dragoer_is_repaired_not_lost(data_copy):
    from kkr_geo.layers.registry import load_layer
    root = data_copy()
    dagi = writable_subdir(root, "dagi")
    src = gpd.read_file((dagi / "kommuner.geojson").resolve())
    idx = src.index[src["KOMKODE"] == "0155"][0]
    x0, y0, x1, y1 = src.geometry.to_crs(25832)[idx].bounds
    # an hourglass over Dragør's extent (self-intersecting in the middle): the inner point of the
    # invalid polygon falls outside the region, and the municipality used to vanish without a note
    # (drawn 30 % of Dragør's width to the east, so the crossing lies in Øresund, as a slipped vertex does)
    a, b = x0 + 0.3 * (x1 - x0), x1 + 0.3 * (x1 - x0)
    hourglass = gpd.GeoSeries([shapely.Polygon([(a, y0), (b, y0), (a, y1), (b, y1), (a, y0)])], crs=25832)
    src.loc[idx, "geometry"] = hourglass.to_crs(src.crs).iloc[0]
    assert not src.geometry[idx].is_valid
    (dagi / "kommuner.geojson").unlink()
    src.to_file(dagi / "kommuner.geojson", driver="GeoJSON")
    kommuner = load_layer("kommuner", root)
    notes = "\n".join(kommuner.attrs["notes"])
    drag = kommuner.set_index("kommunekode").geometry.get("0155")
    try:
        plan = load_layer("planomraader", root).set_index("navn")
    except KkrGeoError as exc:
        return check("dragoer_self_intersecting", "geometry", "reported", "silent_loss",
                     f"{len(kommuner)} kommuner, no repair note: {notes}; planomraader: {exc}")
    ok = (len(kommuner) == 29 and drag is not None and drag.is_valid and drag.area > 1e6
          and "0155" in notes and "repaired" in notes and "Dragør" in plan.index
          and plan.at["Dragør", "geometry"].area == pytest.approx(drag.area, rel=1e-6))
    check("dragoer_self_intersecting", "geometry", "reported", "reported" if ok else "silent_loss",
          f"{len(kommuner)} kommuner; {notes}")


# ============================================================================ warnings, files

def test_library_warnings_become_notes(monkeypatch, capsys):
    import numpy as np

    import kkr_geo.commands.layers as cmd
    from kkr_geo.cli import main

    def noisy(args):
        np.array([np.nan]).astype("int64")  # numpy: RuntimeWarning: invalid value encountered in cast
        warnings.warn("More than one layer found in 'x.gpkg': using 'a'", UserWarning, stacklevel=1)  # as pyogrio says it
        import logging
        logging.getLogger("rasterio._env").warning("CPLE_AppDefined in x.tif: TIFFReadDirectory: bad tag")  # GDAL via rasterio
        return 0

    monkeypatch.setattr(cmd, "cmd_list", noisy)
    rc = main(["layers", "list"])
    err = capsys.readouterr().err
    lines = err.splitlines()
    ok = (rc == 0 and not RAW_WARNING.search(err) and len(lines) == 3 and all(ln.startswith("kkr-geo: note:") for ln in lines)
          and "More than one layer" in err and "rasterio reported" in err and "TIFFReadDirectory" in err)
    check("library_warnings_as_notes", "cli", "reported", "reported" if ok else "silent_loss", err)


def test_stale_part_file_of_a_killed_run_is_removed(tmp_path):
    code = (
        "import os, signal\n"
        "from kkr_geo.geo.io import atomic_path\n"
        f"with atomic_path({str(tmp_path / 'kkr_geo_lag.gpkg')!r}) as tmp:\n"
        "    tmp.write_bytes(b'SQLite format 3 half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    left = sorted(p.name for p in tmp_path.iterdir())
    killed = res.returncode == -9 and len(left) == 1 and left[0].startswith(".kkr_geo_lag.") and ".part.gpkg" in left[0]
    # a run writing the same target right now must keep its file
    alive = tmp_path / f".kkr_geo_lag.{os.getpid()}-abcd1234.part.gpkg"
    alive.write_bytes(b"in progress")
    from kkr_geo.geo.io import write_text_atomic
    write_text_atomic(tmp_path / "kkr_geo_lag.gpkg", "ny")
    after = sorted(p.name for p in tmp_path.iterdir())
    ok = killed and after == sorted([alive.name, "kkr_geo_lag.gpkg"])
    check("stale_part_after_kill9", "cli", "reported", "reported" if ok else "silent_loss", f"{left} -> {after}")


def test_build_removes_stale_part_files_at_start(tmp_path, real_data):
    from kkr_geo.maps.build import build
    out = tmp_path / "bilag"
    out.mkdir()
    stale = [out / ".kkr_geo_lag.999999999-q1w2e3.part.gpkg", out / ".kkr_geo_lag.999999999-q1w2e3.part.gpkg-journal",
             out / ".kkr_geo_lag.abc123.part.gpkg"]
    for p in stale:
        p.write_bytes(b"x")
    lines = []
    build(real_data, out, only=["borgere_pr_kapacitet_sp62"], formats=["svg"], log=lines.append)
    gone = [p.name for p in stale if not p.exists()]
    ok = len(gone) == 3 and any("interrupted run" in ln for ln in lines)
    check("build_removes_stale_parts", "cli", "reported", "reported" if ok else "silent_loss", f"{gone} {lines[:3]}")
