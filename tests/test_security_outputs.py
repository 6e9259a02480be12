"""Issue 8: formulas in the analysis CSVs, NUL characters in the GeoPackage, and no command destroys a user's file.

File-safety cases run the real CLI (``python -m kkr_geo``) the way a careless analyst would, and check the
user's file byte for byte afterwards.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from conftest import writable_subdir
from reliability_cases import check, reliability_ledger  # noqa: F401  (autouse fixture)

AREA = "security"


def run(*args):
    return subprocess.run([sys.executable, "-m", "kkr_geo", *map(str, args)], capture_output=True, text=True)


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _cli_outcome(r, must_say: str) -> str:
    if "Traceback" in r.stderr:
        return "unclear"
    if r.returncode == 0:
        return "silent_loss"
    return "clear_error" if must_say.lower() in (r.stdout + r.stderr).lower() else "unclear"


# ------------------------------------------------------------------------------------ formulas

def _analysis_write_csv():
    from kkr_geo.commands.analysis import write_csv
    return write_csv


def test_analysis_csv_formulas(tmp_path):
    write_csv = _analysis_write_csv()
    df = pd.DataFrame({"area_name": ['=HYPERLINK("http://x.invalid","klik")', "+SUM(1+1)*cmd|' /C calc'!A0", "@SUM(A1)",
                                     "-2+3", "\t=1+1", "Ballerup"],
                       "population_beyond": [-12.5, 3.0, 0.0, -1.0, 2.0, 1234.5]})
    paths = write_csv(df, tmp_path / "coverage.csv")
    bad = []
    for p in paths:
        sep = ";" if p.name.endswith("_excel.csv") else ","
        back = pd.read_csv(p, sep=sep, dtype=str, encoding="utf-8-sig", keep_default_na=False)
        for cell in back["area_name"]:
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                bad.append(f"{p.name}: {cell!r}")
        # genuine negative numbers stay numbers
        nums = back["population_beyond"].str.replace(",", ".").astype(float).tolist()
        if nums != [-12.5, 3.0, 0.0, -1.0, 2.0, 1234.5]:
            bad.append(f"{p.name}: numbers changed {nums}")
        if "'=HYPERLINK" not in " ".join(back["area_name"]):
            bad.append(f"{p.name}: the neutralised text is missing")
    check("formula_analysis_csv", AREA, "parses", "unescaped" if bad else "parses", "; ".join(bad))


def test_csv_cell_rules():
    from kkr_geo.geo.safe_text import csv_cell

    assert csv_cell("=1+1") == "'=1+1"
    assert csv_cell("-2+3") == "'-2+3"
    assert csv_cell("@x") == "'@x"
    assert csv_cell("\r=1") == "'\r=1"
    assert csv_cell("-12,5") == "-12,5" and csv_cell("-1.234,5") == "-1.234,5"  # text that is just a number
    assert csv_cell(-3.0) == -3.0 and csv_cell(7) == 7
    assert csv_cell("Ballerup") == "Ballerup"


# ------------------------------------------------------------------------------------- NUL

def test_nul_in_a_name_is_replaced_and_reported_in_the_geopackage(tmp_path):
    from kkr_geo.layers.export import export_geopackage

    gdf = gpd.GeoDataFrame({"navn": ["Før\x00efter", "Klinik B"], "kapacitet_sp51": [1.0, 2.0]},
                           geometry=[shapely.Point(720_000, 6_175_000), shapely.Point(721_000, 6_176_000)], crs=25832)
    summary = export_geopackage(tmp_path / "k.gpkg", {"klinikker": gdf})
    back = pyogrio.read_dataframe(tmp_path / "k.gpkg", layer="klinikker")
    name = back["navn"].iloc[0]
    reported = any("NUL" in r and "navn" in r for r in summary.get("text_changes", []))
    if name == "Før":
        outcome = "silent_loss"
    elif name == "Før\ufffdefter" and reported:
        outcome = "reported"
    else:
        outcome = "silent_loss"
    check("nul_in_clinic_name_gpkg", AREA, "reported", outcome, f"{name!r} {summary.get('text_changes')}")


def test_nul_in_clinic_csv_reported_by_layers_export(real_data, tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    for child in real_data.path.iterdir():
        (root / child.name).symlink_to(child)
    writable_subdir(root, "klinikker")
    (root / "klinikker" / "klinikker.csv").write_bytes(
        "navn;lat;lon;kapacitet_sp51\nFør\x00efter;55.6761;12.5683;2\nKlinik B;55.93;12.30;1\n".encode("utf-8"))
    out = tmp_path / "lag.gpkg"
    r = run("--data-dir", root, "layers", "export", out)
    names = set(pyogrio.read_dataframe(out, layer="klinikker")["navn"]) if out.exists() else set()
    if r.returncode != 0:  # the CSV reader refuses NUL bytes with a message naming the file: also fine
        outcome = "clear_error" if "NUL" in r.stderr and "Traceback" not in r.stderr else "unclear"
    elif "Før" in names:
        outcome = "silent_loss"
    elif "Før\ufffdefter" in names and "NUL" in r.stdout + r.stderr:
        outcome = "reported"
    else:
        outcome = "silent_loss"
    check("nul_in_clinic_csv_export", AREA, outcome if outcome in ("clear_error", "reported") else "reported", outcome,
          f"{sorted(names)} {r.stdout[-300:]} {r.stderr[-300:]}")


# ----------------------------------------------------------------------------- file safety

def _user_gpkg(path: Path) -> None:
    gdf = gpd.GeoDataFrame({"mit_felt": ["vigtigt"]}, geometry=[shapely.Point(720_000, 6_175_000)], crs=25832)
    gdf.to_file(path, layer="mine_egne_data", driver="GPKG", engine="pyogrio")


def test_layers_export_refuses_to_replace_a_users_geopackage(real_data, tmp_path):
    proj = tmp_path / "projekt.gpkg"
    _user_gpkg(proj)
    before = sha(proj)
    r = run("--data-dir", real_data.path, "layers", "export", proj)
    kept = sha(proj) == before
    outcome = _cli_outcome(r, "--overwrite") if kept else "silent_loss"
    check("export_over_users_gpkg", AREA, "clear_error", outcome, r.stderr[-300:])
    # said plainly, the file may be replaced
    r2 = run("--data-dir", real_data.path, "layers", "export", proj, "--overwrite")
    assert r2.returncode == 0, r2.stderr
    assert "kommuner" in {n for n, _ in pyogrio.list_layers(proj)}


def test_layers_export_refuses_a_non_geopackage_file(real_data, tmp_path):
    notes = tmp_path / "noter.gpkg"
    notes.write_text("mine noter, ikke en GeoPackage\n", encoding="utf-8")
    r = run("--data-dir", real_data.path, "layers", "export", notes)
    kept = notes.read_text(encoding="utf-8") == "mine noter, ikke en GeoPackage\n"
    check("export_over_text_file", AREA, "clear_error", _cli_outcome(r, "--overwrite") if kept else "silent_loss",
          r.stderr[-300:])


def test_layers_export_output_equal_to_input_is_refused_even_with_overwrite(real_data, tmp_path):
    k = tmp_path / "k.gpkg"
    gpd.GeoDataFrame({"navn": ["Klinik A"], "kapacitet_sp51": [2.0]}, geometry=[shapely.Point(720_000, 6_175_000)],
                     crs=25832).to_file(k, layer="klinikker", driver="GPKG", engine="pyogrio")
    before = sha(k)
    for extra in ([], ["--overwrite"]):
        r = run("--data-dir", real_data.path, "layers", "export", k, "--klinikker", k, *extra)
        kept = sha(k) == before
        check(f"export_output_is_input{''.join(extra)}", AREA, "clear_error",
              _cli_outcome(r, "input") if kept else "silent_loss", r.stderr[-300:])


def test_layers_export_replaces_its_own_output_but_not_after_the_user_changed_it(real_data, tmp_path):
    out = tmp_path / "lag.gpkg"
    assert run("--data-dir", real_data.path, "layers", "export", out).returncode == 0
    assert (tmp_path / ".kkr-geo-manifest.json").exists()
    assert pyogrio.read_info(out, layer="kommuner")["dataset_metadata"]["GENERATOR"] == "kkr-geo"  # recognisable
    r = run("--data-dir", real_data.path, "layers", "export", out)
    assert r.returncode == 0, r.stderr  # a previous output of the tool is replaced without fuss
    # the user adds a layer of their own in QGIS: the file is now theirs too
    gdf = gpd.GeoDataFrame({"x": [1]}, geometry=[shapely.Point(720_000, 6_175_000)], crs=25832)
    gdf.to_file(out, layer="mine_punkter", driver="GPKG", engine="pyogrio", append=False)
    before = sha(out)
    r = run("--data-dir", real_data.path, "layers", "export", out)
    kept = sha(out) == before and "mine_punkter" in {n for n, _ in pyogrio.list_layers(out)}
    check("export_over_changed_own_output", AREA, "clear_error", _cli_outcome(r, "--overwrite") if kept else "silent_loss",
          r.stderr[-300:])


def test_coverage_output_equal_to_facilities_input_is_refused(real_data, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    fac = out / "coverage.gpkg"
    gpd.GeoDataFrame({"navn": ["Klinik A"]}, geometry=[shapely.Point(724_000, 6_176_000)], crs=25832).to_file(
        fac, layer="klinikker", driver="GPKG", engine="pyogrio")
    before = sha(fac)
    for extra in ([], ["--overwrite"]):
        r = run("--data-dir", real_data.path, "coverage", "--facilities", fac, "--threshold", "2000", "--areas", "none",
                "--out", out, *extra)
        kept = sha(fac) == before
        check(f"coverage_output_is_input{''.join(extra)}", AREA, "clear_error",
              _cli_outcome(r, "input") if kept else "silent_loss", r.stderr[-300:])


def test_build_refuses_to_replace_a_users_file_and_removes_stale_maps(real_data, tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    for child in real_data.path.iterdir():
        (root / child.name).symlink_to(child)
    writable_subdir(root, "klinikker")
    (root / "klinikker" / "klinikker.csv").write_text(
        "navn;lat;lon;kapacitet_sp51\nKlinik A;55.6761;12.5683;2\nKlinik B;55.93;12.30;1\n", encoding="utf-8")
    out = tmp_path / "bilag"
    out.mkdir()
    mine = out / "klinik_daekningshuller.html"
    mine.write_text("<p>min egen side</p>", encoding="utf-8")
    args = ["--data-dir", root, "build", "--only", "klinik_daekningshuller", "--formats", "html", "--out", out]
    r = run(*args)
    kept = mine.read_text(encoding="utf-8") == "<p>min egen side</p>"
    check("build_over_users_file", AREA, "clear_error", _cli_outcome(r, "--overwrite") if kept else "silent_loss",
          r.stderr[-300:])
    mine.unlink()
    r = run(*args)
    assert r.returncode == 0 and mine.exists(), r.stderr
    # a rebuild without the clinic file no longer makes the map: its old page goes, and the console says so
    (root / "klinikker" / "klinikker.csv").unlink()
    r = run(*args)
    gone = not mine.exists()
    console = r.stdout + r.stderr  # notes and warnings go to stderr (logging), results to stdout
    said = "stale" in console.lower() and mine.name in console
    check("build_stale_map_removed", AREA, "reported", "reported" if gone and said else "silent_loss",
          console[-400:])


def test_full_rebuild_lists_stale_outputs_in_the_summary(real_data, tmp_path):
    """A full build whose clinic file went away: the old clinic map and clinic CSV are removed and named in
    the Markdown summary; a stale file the user changed is kept and named too."""
    from kkr_geo.maps.build import SUMMARY_NAME, build

    root = tmp_path / "data"
    root.mkdir()
    for child in real_data.path.iterdir():
        (root / child.name).symlink_to(child)
    writable_subdir(root, "klinikker")
    (root / "klinikker" / "klinikker.csv").write_text(
        "navn;lat;lon;kapacitet_sp51\nKlinik A;55.6761;12.5683;2\nKlinik B;55.93;12.30;1\n", encoding="utf-8")
    specs = tmp_path / "specs"
    specs.mkdir()
    shipped = Path(__file__).resolve().parents[1] / "maps" / "specs" / "klinik_daekningshuller.yaml"
    (specs / shipped.name).write_text(shipped.read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "bilag"
    build(root, out, spec_dir=specs, formats=["html", "svg"], dpi=30, log=lambda m: None)
    html, svg, csv = out / "klinik_daekningshuller.html", out / "klinik_daekningshuller.svg", out / f"{SUMMARY_NAME}_klinikker.csv"
    assert html.exists() and svg.exists() and csv.exists()
    svg.write_text(svg.read_text(encoding="utf-8") + "<!-- user edit -->", encoding="utf-8")  # the user changed this one
    (root / "klinikker" / "klinikker.csv").unlink()
    lines: list[str] = []
    report = build(root, out, spec_dir=specs, formats=["html"], dpi=30, log=lines.append)
    md = (out / f"{SUMMARY_NAME}.md").read_text(encoding="utf-8")
    removed_ok = not html.exists() and not csv.exists() and svg.exists()
    listed = all(n.replace("_", "\\_") in md for n in (html.name, svg.name, csv.name))
    on_console = any("stale" in ln and html.name in ln for ln in lines) and any(svg.name in ln for ln in lines)
    check("full_build_stale_summary", AREA, "reported", "reported" if removed_ok and listed and on_console else "silent_loss",
          f"{report.stale} {md[-400:]}")
