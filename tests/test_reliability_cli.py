"""Reliability of the command line: bad input gives a message naming the file and what to do, a
non-zero exit code and no traceback (``--debug`` shows one); interrupted or failed runs leave no
partially written output behind."""

from __future__ import annotations

import os
import subprocess
import sys

import geopandas as gpd
import pytest
import shapely

from kkr_geo.geo.errors import InputError
from kkr_geo.geo.io import atomic_path, write_text_atomic
from reliability_cases import check, reliability_ledger  # noqa: F401  (autouse fixture)

AREA = "cli"


def _run(*args, env_extra=None, cwd=None):
    env = dict(os.environ)
    env.pop("KKR_GEO_DEBUG", None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "kkr_geo", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300)


def _classify(res, *must_name) -> str:
    err = res.stderr
    if res.returncode == 0:
        return "silent_loss"
    if "Traceback" in err or "internal error" in err:
        return "unclear"
    return "clear_error" if all(n in err for n in must_name) and "What to do" in err else "unclear"


def _partials(directory) -> list[str]:
    return sorted(p.name for p in directory.rglob("*") if ".part" in p.name or p.name.endswith("-journal"))


@pytest.fixture
def bad_files(tmp_path):
    d = tmp_path / "ind"
    d.mkdir()
    (d / "tom.csv").write_bytes(b"")
    (d / "binaer.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    (d / "klinikker_uden_koordinater.csv").write_text("navn;telefon\nKlinik A;123\n", encoding="utf-8")
    gpd.GeoDataFrame({"navn": ["a"]}, geometry=[shapely.Point(12.5, 55.7)], crs=4326).set_crs(
        25832, allow_override=True).to_file(d / "forkert_crs.gpkg")
    (d / "ikke_json.geojson").write_text("<html>502</html>", encoding="utf-8")
    return d


CLI_CASES = {
    # case: (args builder, names the error must contain)
    "layers_show_missing_clinic_file": (lambda d, o: ["layers", "show", "klinikker", "--klinikker", str(d / "findes_ikke.csv")],
                                        ["findes_ikke.csv"]),
    "layers_show_empty_clinic_csv": (lambda d, o: ["layers", "show", "klinikker", "--klinikker", str(d / "tom.csv")],
                                     ["tom.csv"]),
    "layers_show_broken_xlsx": (lambda d, o: ["layers", "show", "klinikker", "--klinikker", str(d / "binaer.xlsx")],
                                ["binaer.xlsx"]),
    "layers_show_clinics_without_coordinates": (lambda d, o: ["layers", "show", "klinikker", "--klinikker",
                                                              str(d / "klinikker_uden_koordinater.csv")],
                                                ["klinikker_uden_koordinater.csv", "postnr"]),
    "layers_show_clinics_wrong_crs": (lambda d, o: ["layers", "show", "klinikker", "--klinikker", str(d / "forkert_crs.gpkg")],
                                      ["forkert_crs.gpkg", "EPSG:25832"]),
    "layers_show_clinics_not_json": (lambda d, o: ["layers", "show", "klinikker", "--klinikker", str(d / "ikke_json.geojson")],
                                     ["ikke_json.geojson"]),
    "layers_export_not_gpkg": (lambda d, o: ["layers", "export", str(o / "ud.zip")], ["ud.zip", ".gpkg"]),
    "layers_export_bad_clinics": (lambda d, o: ["layers", "export", str(o / "ud.gpkg"), "--klinikker", str(d / "tom.csv")],
                                  ["tom.csv"]),
    "data_dir_missing": (lambda d, o: ["--data-dir", str(d / "ingen"), "layers", "list"], ["ingen"]),
    "build_unknown_map": (lambda d, o: ["build", "--only", "../../evil", "--out", str(o)], ["evil"]),
    "build_bad_formats": (lambda d, o: ["build", "--formats", "html,exe", "--out", str(o)], ["exe"]),
    "build_bad_date": (lambda d, o: ["build", "--date", "i morgen", "--out", str(o)], ["i morgen"]),
    "catchment_bad_facilities": (lambda d, o: ["catchment", "--facilities", str(d / "ikke_json.geojson"), "--out", str(o)],
                                 ["ikke_json.geojson"]),
    "catchment_bad_population": (lambda d, o: ["catchment", "--layer", "parker_og_rejs", "--population", str(d / "tom.csv"),
                                               "--out", str(o)], ["tom.csv"]),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_bad_input_is_a_clear_message(case, bad_files, tmp_path, any_data):
    build_args, names = CLI_CASES[case]
    out = tmp_path / "ud"
    res = _run(*build_args(bad_files, out), env_extra={"KKR_GEO_DATA": str(any_data.path)})
    if "invalid choice" in res.stderr and case.startswith("catchment"):
        pytest.skip("catchment command not available")
    outcome = _classify(res, *names)
    leftovers = _partials(tmp_path)
    if leftovers:
        outcome = "silent_loss"
    check(f"cli:{case}", AREA, "clear_error", outcome, f"exit {res.returncode}: {res.stderr[-600:]} {leftovers}")


def test_debug_flag_shows_the_traceback(bad_files, any_data):
    res = _run("--debug", "layers", "show", "klinikker", "--klinikker", str(bad_files / "tom.csv"),
               env_extra={"KKR_GEO_DATA": str(any_data.path)})
    ok = res.returncode != 0 and "Traceback" in res.stderr and "tom.csv" in res.stderr
    check("cli:debug_traceback", AREA, "clear_error", "clear_error" if ok else "unclear", res.stderr[-400:])


def test_unexpected_bug_is_short_without_debug(monkeypatch, capsys):
    from kkr_geo import cli

    parser = cli.build_parser()
    args = parser.parse_args(["layers", "list"])

    def bug(_args):
        raise ZeroDivisionError("division by zero")

    args.func = bug
    monkeypatch.setattr(cli, "build_parser", lambda: type("P", (), {"parse_args": lambda self, a: args,
                                                                        "print_help": lambda self: None})())
    code = cli.main(["layers", "list"])
    err = capsys.readouterr().err
    ok = code == 70 and "Traceback" not in err and "--debug" in err
    check("cli:internal_error_short", AREA, "clear_error", "clear_error" if ok else "unclear", err)


# ------------------------------------------------------------------------ nothing half-written

def test_atomic_path_failure_leaves_nothing(tmp_path):
    target = tmp_path / "kort.html"
    target.write_text("old version")
    with pytest.raises(InputError):
        with atomic_path(target) as tmp:
            tmp.write_text("<html>half")
            raise InputError("failed half way", hint="-")
    ok = target.read_text() == "old version" and _partials(tmp_path) == []
    check("atomic_failure_keeps_old_file", AREA, "clear_error", "clear_error" if ok else "silent_loss")


def test_atomic_path_interrupt_leaves_nothing(tmp_path):
    target = tmp_path / "kort.png"
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"\x89PNG half")
            raise KeyboardInterrupt
    ok = not target.exists() and _partials(tmp_path) == []
    check("atomic_interrupt_no_output", AREA, "clear_error", "clear_error" if ok else "silent_loss")


def test_atomic_write_replaces_completely(tmp_path):
    target = tmp_path / "a.html"
    write_text_atomic(target, "x" * 10)
    write_text_atomic(target, "y")
    ok = target.read_text() == "y" and _partials(tmp_path) == []
    check("atomic_replace", AREA, "parses", "parses" if ok else "silent_loss")


def test_geopackage_export_failure_leaves_no_file(tmp_path):
    from kkr_geo.layers.export import export_geopackage

    good = gpd.GeoDataFrame({"navn": ["a"]}, geometry=[shapely.box(700_000, 6_170_000, 701_000, 6_171_000)], crs=25832)
    # a geometry collection fits no GeoPackage table type (mixed points and areas are split, no longer refused)
    mixed = gpd.GeoDataFrame({"navn": ["p"]}, geometry=[shapely.GeometryCollection([shapely.Point(700_000, 6_170_000),
                                                                                     shapely.box(700_000, 6_170_000, 701_000, 6_171_000)])],
                             crs=25832)
    target = tmp_path / "lag.gpkg"
    with pytest.raises(InputError):
        export_geopackage(target, {"kommuner": good, "blandet": mixed})  # the second layer fails
    ok = not target.exists() and list(tmp_path.iterdir()) == []
    check("gpkg_export_failure_no_partial", AREA, "clear_error", "clear_error" if ok else "silent_loss",
          str(list(tmp_path.iterdir())))


def test_killed_build_leaves_no_partial_file(tmp_path):
    """A process killed while writing (SIGKILL: no cleanup runs) leaves only a hidden .part file,
    never a truncated file under the real name."""
    code = (
        "import os, signal\n"
        "from kkr_geo.geo.io import atomic_path\n"
        f"with atomic_path({str(tmp_path / 'kort.html')!r}) as tmp:\n"
        "    tmp.write_text('<html>half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    # killed by the signal (not an ImportError), a .part file left, nothing under the real name
    ok = res.returncode == -9 and not (tmp_path / "kort.html").exists() and any(".part" in p.name for p in tmp_path.iterdir())
    check("killed_mid_write", AREA, "clear_error", "clear_error" if ok else "silent_loss",
          str(sorted(p.name for p in tmp_path.iterdir())))
