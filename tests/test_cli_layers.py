import subprocess
import sys

import geopandas as gpd
import pyogrio


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "kkr_geo", *args], capture_output=True, text=True, env=env)


def test_layers_export_cli(data_copy, tmp_path):
    out = tmp_path / "lag.gpkg"
    r = run("--data-dir", str(data_copy(exclude=("klinikker/",))), "layers", "export", str(out))
    assert r.returncode == 0, r.stderr
    assert "klinikker" in r.stdout and "not included" in r.stdout
    assert "brt" in {n for n, _ in pyogrio.list_layers(out)}
    assert len(gpd.read_file(out, layer="kommuner")) == 29


def test_data_status_cli(any_data):
    r = run("--data-dir", str(any_data.path), "data", "status")
    assert r.returncode == 0 and "dagi/kommuner.geojson" in r.stdout and "SDFI" in r.stdout


def test_missing_data_is_a_message_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("KKR_GEO_BUNDLE", "0")  # an empty data directory alone, without the embedded default
    r = run("--data-dir", str(tmp_path), "layers", "export", str(tmp_path / "x.gpkg"))
    # no layer at all can be built: the export refuses cleanly and writes nothing
    assert r.returncode == 3 and "Traceback" not in r.stderr and "nothing was written" in r.stderr
    assert not (tmp_path / "x.gpkg").exists()
    r = run("--data-dir", str(tmp_path), "layers", "show", "kommuner")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "dagi/kommuner.geojson" in r.stderr and "What to do" in r.stderr
    r = run("--data-dir", str(tmp_path / "nope"), "layers", "list")
    assert r.returncode != 0 and "no such directory" in r.stderr


def test_data_import_cli(real_data, tmp_path):
    # needs the real national file: the import refuses a kommuner file without all 98-99 codes (synthetic has 35)
    r = run("data", "import", "kommuner", str(real_data.file("dagi/kommuner.geojson")), "--to", str(tmp_path))
    assert r.returncode == 0, r.stderr
    back = gpd.read_file(tmp_path / "dagi" / "kommuner.geojson")
    assert {"KOMKODE", "KOMNAVN"} <= set(back.columns) and back["KOMKODE"].str.fullmatch(r"\d{4}").all()
    assert (tmp_path / "SOURCES.json").exists()
    r = run("data", "import", "kommuner", str(tmp_path / "missing.geojson"), "--to", str(tmp_path))
    assert r.returncode != 0 and "Traceback" not in r.stderr and "cannot be read" in r.stderr


def test_an_empty_data_directory_is_filled_by_the_embedded_default(tmp_path, monkeypatch):
    monkeypatch.delenv("KKR_GEO_BUNDLE", raising=False)
    r = run("--data-dir", str(tmp_path), "layers", "show", "kommuner")
    assert r.returncode == 0, r.stderr
    assert "dagi/kommuner.geojson" in r.stdout or "kommunekode" in r.stdout


def test_data_status_names_the_embedded_default_with_licences(tmp_path, monkeypatch):
    import os
    env = {k: v for k, v in os.environ.items() if k not in ("KKR_GEO_DATA", "KKR_GEO_BUNDLE")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "fresh-cache")   # a user who never fetched anything
    r = run("data", "status", env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Data: the embedded default")
    block = r.stdout.split("[bundle ] dagi/kommuner.geojson", 1)[1].split("  [", 1)[0]
    assert "licence: CC-BY-4.0" in block and "Styrelsen for Dataforsyning og Infrastruktur" in block
    assert "[bundle ] osm/banelinjer_osm.geojson" in r.stdout and "ODbL-1.0" in r.stdout
    # what never ships is reported absent, with how to get it
    assert "[absent ] vejnet/vejmidter_region_hovedstaden.gpkg" in r.stdout


def test_a_build_with_nothing_to_build_is_a_message_and_exit_3(tmp_path, monkeypatch):
    monkeypatch.setenv("KKR_GEO_BUNDLE", "0")  # an empty data directory alone
    (tmp_path / "data").mkdir()
    r = run("--data-dir", str(tmp_path / "data"), "build", "--out", str(tmp_path / "out"))
    assert r.returncode == 3, r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    import re
    assert re.search(r"none of the \d+ map\(s\) could be built", r.stderr)
    assert not (tmp_path / "out" / "kkr_geo_lag.gpkg").exists()
