"""Command-line arguments: where users type them, what they mistype, and how fast the CLI answers.

In-process (``kkr_geo.cli.main``) so they are cheap; the import checks run in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from kkr_geo.cli import main


def _err(capsys) -> str:
    return capsys.readouterr().err


# --- --data-dir (and --debug) before or after the subcommand ------------------------------------------

def test_data_dir_after_the_subcommand(synth_data, capsys):
    assert main(["build", "--data-dir", str(synth_data.path), "--list"]) == 0
    assert main(["layers", "list", "--data-dir", str(synth_data.path)]) == 0
    assert f"Data directory: {synth_data.path}" in capsys.readouterr().out
    assert main(["data", "status", "--data-dir", str(synth_data.path)]) == 0
    assert str(synth_data.path) in capsys.readouterr().out


def test_data_dir_after_the_subcommand_is_used(tmp_path, capsys):
    """A wrong directory after the subcommand is reported, so the flag is not silently ignored."""
    rc = main(["layers", "list", "--data-dir", str(tmp_path / "nope")])
    assert rc == 3 and "no such directory" in _err(capsys)


def test_data_dir_before_still_works_and_after_wins(synth_data, tmp_path, capsys):
    assert main(["--data-dir", str(synth_data.path), "layers", "list"]) == 0
    assert f"Data directory: {synth_data.path}" in capsys.readouterr().out
    assert main(["--data-dir", str(tmp_path / "nope"), "layers", "list", "--data-dir", str(synth_data.path)]) == 0


def test_debug_after_the_subcommand(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KKR_GEO_BUNDLE", "0")  # an empty data directory alone: the layer cannot be made
    rc = main(["layers", "show", "kommuner", "--data-dir", str(tmp_path), "--debug"])
    err = _err(capsys)
    assert rc == 3 and "Traceback" in err and "dagi/kommuner.geojson" in err


# --- --specs ----------------------------------------------------------------------------------------

def test_specs_single_file(synth_data, tmp_path, capsys):
    from kkr_geo.maps.spec import shipped_spec_dir

    spec = shipped_spec_dir() / "borgere_pr_kapacitet_sp62.yaml"
    assert main(["build", "--specs", str(spec), "--list"]) == 0
    listed = capsys.readouterr().out.split("\n")
    assert [line.split()[0] for line in listed if line.strip()] == ["borgere_pr_kapacitet_sp62"]
    out = tmp_path / "ud"
    assert main(["build", "--data-dir", str(synth_data.path), "--specs", str(spec), "--out", str(out),
                 "--formats", "png", "--dpi", "30"]) == 0
    assert (out / "borgere_pr_kapacitet_sp62.png").exists()


@pytest.mark.parametrize("what", ["missing_dir", "not_yaml", "empty_dir"])
def test_specs_bad_path_is_a_clear_error(what, tmp_path, capsys):
    target = {"missing_dir": tmp_path / "findes_ikke", "not_yaml": tmp_path / "noter.txt", "empty_dir": tmp_path}[what]
    if what == "not_yaml":
        target.write_text("hej", encoding="utf-8")
    rc = main(["build", "--specs", str(target), "--list"])
    err = _err(capsys)
    assert rc == 4, err
    assert "internal error" not in err and "--specs" in err and str(target) in err


# --- --out, --date, --dpi, --formats ----------------------------------------------------------------

@pytest.mark.parametrize("out", ["", "   "])
def test_empty_out_is_refused(out, synth_data, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rc = main(["--data-dir", str(synth_data.path), "build", "--only", "borgere_pr_kapacitet_sp62", "--out", out,
               "--formats", "png", "--dpi", "30"])
    assert rc == 4 and "--out" in _err(capsys)
    assert list(tmp_path.iterdir()) == []  # nothing written into the current directory


def test_empty_out_is_refused_by_the_analysis_commands(synth_data, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rc = main(["--data-dir", str(synth_data.path), "access", "--planning-area", "--out", ""])
    assert rc == 4 and "--out" in _err(capsys)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("date", ["2024-13-45", "2024-02-30", "2024-00-10", "24-1-1", "i morgen"])
def test_impossible_dates_are_refused(date, capsys):
    rc = main(["build", "--date", date, "--list"])
    err = _err(capsys)
    assert rc == 4 and f"--date {date}" in err and "YYYY-MM-DD" in err


def test_a_real_date_is_accepted(capsys):
    assert main(["build", "--date", "2024-02-29", "--list"]) == 0


@pytest.mark.parametrize("dpi", ["0", "-300", "5", "100000", "abc", "72.5"])
def test_bad_dpi_is_refused(dpi, capsys):
    rc = main(["build", "--dpi", dpi, "--list"])
    err = _err(capsys)
    assert rc == 4 and f"--dpi {dpi}" in err and "internal error" not in err


def test_bad_formats_is_refused_before_heavy_imports():
    code = ("import sys\nfrom kkr_geo.cli import main\nrc = main(['build', '--formats', 'html,exe'])\n"
            "print(rc, 'matplotlib' in sys.modules, 'geopandas' in sys.modules, 'folium' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.split() == ["4", "False", "False", "False"], r.stderr
    assert "--formats" in r.stderr and "exe" in r.stderr


# --- coverage --layer stationer ----------------------------------------------------------------------

def test_coverage_accepts_the_station_layer(synth_data, tmp_path, capsys):
    out = tmp_path / "st"
    rc = main(["--data-dir", str(synth_data.path), "coverage", "--layer", "stationer", "--threshold", "600",
               "--areas", "kommuner", "--out", str(out)])
    assert rc == 0, _err(capsys)
    meta = json.loads((out / "coverage_meta.json").read_text(encoding="utf-8"))
    # the synthetic gazetteer has 21 rail stations (14 S-tog, 2 Metro, 4 regional, 1 local)
    assert meta["facilities"] == 21 and meta["threshold_m"] == 600
    total = pd.read_csv(out / "coverage.csv").set_index("area_name").loc["I alt"]
    assert total["population"] == pytest.approx(1_907_200)  # the synthetic Tabel 3 population, all counted
    assert 0 < total["population_beyond"] < total["population"]


# --- a fast start: no heavy imports for parsing -----------------------------------------------------

HEAVY = ("geopandas", "pandas", "matplotlib", "folium", "shapely", "pyproj", "numpy", "scipy", "rasterio")


def test_parsing_imports_nothing_heavy():
    code = ("import sys\nimport kkr_geo.cli as c\nc.build_parser()\n"
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "", f"imported while building the parser: {r.stdout.strip()}"


def test_version_and_help_import_nothing_heavy():
    for args in (["--version"], ["--help"], ["build", "--help"], ["coverage", "--help"]):
        code = ("import sys\nfrom kkr_geo.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
                "print('@@', ' '.join(m for m in %r if m in sys.modules))" % (args, HEAVY))
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert r.stdout.split("@@")[-1].strip() == "", (args, r.stdout[-300:])
