"""Where data comes from: the embedded default, overridden file by file by a data directory."""

from pathlib import Path

import pytest

import kkr_geo.layers.datadir as d
from kkr_geo.geo.errors import DataError
from kkr_geo.layers.datadir import ENV_VAR, DataDir, bundle_dir, resolve_data_dir


@pytest.fixture
def no_user_cache(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.delenv(d.BUNDLE_ENV_VAR, raising=False)
    monkeypatch.setattr(d, "user_cache_dir", lambda: tmp_path / "no-cache-yet")


def test_flag_wins_over_env(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    monkeypatch.setenv(ENV_VAR, str(b))
    dd = resolve_data_dir(a)
    assert dd.path == a.resolve() and dd.origin == "flag" and dd.base == bundle_dir()


def test_env_then_bundle(tmp_path, monkeypatch, no_user_cache):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert resolve_data_dir().origin == "env"
    monkeypatch.delenv(ENV_VAR)
    dd = resolve_data_dir()
    # nothing of the user's: the embedded default alone, never a folder beside the checkout
    assert dd.origin == "bundle" and dd.path == bundle_dir() and dd.base is None
    assert "shared" not in dd.path.parts
    assert dd.has("dagi/kommuner.geojson") and dd.where("dagi/kommuner.geojson") == "bundle"


def test_user_cache_lies_over_the_bundle(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    (cache / "dagi").mkdir(parents=True)
    (cache / "dagi" / "kommuner.geojson").write_text("{}", encoding="utf-8")
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(d, "user_cache_dir", lambda: cache)
    dd = resolve_data_dir()
    assert dd.origin == "cache"
    # file by file: the cache's own file wins, the rest comes from the bundle
    assert dd.file("dagi/kommuner.geojson") == cache / "dagi" / "kommuner.geojson"
    assert dd.where("dagi/kommuner.geojson") == str(cache)
    assert dd.file("dagi/regioner.geojson") == bundle_dir() / "dagi" / "regioner.geojson"
    assert dd.where("dagi/regioner.geojson") == "bundle"
    # a file nowhere is reported at the data directory's path
    assert dd.file("klinikker/klinikker.csv") == cache / "klinikker" / "klinikker.csv"
    assert dd.where("klinikker/klinikker.csv") == ""


def test_bundle_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv(d.BUNDLE_ENV_VAR, "0")
    dd = resolve_data_dir(tmp_path)
    assert dd.base is None and not dd.has("dagi/kommuner.geojson")


def test_the_road_lines_and_gtfs_shape_never_ship():
    shipped = {p.relative_to(bundle_dir()).as_posix() for p in bundle_dir().rglob("*") if p.is_file()}
    assert not any(p.startswith("vejnet/") for p in shipped)
    assert "brt/150s_gtfs_shape.geojson" not in shipped
    assert not any(p.endswith(".gpkg") for p in shipped)


def test_bad_choices_are_clear(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="no such directory"):
        resolve_data_dir(tmp_path / "missing")
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nope"))
    with pytest.raises(DataError, match=ENV_VAR):
        resolve_data_dir()


def test_cache_key_tells_bundle_from_no_bundle(tmp_path):
    a = DataDir(tmp_path, "flag", bundle_dir())
    b = DataDir(tmp_path, "flag", None)
    assert a.key != b.key and isinstance(a.key, str)
    assert isinstance(b.path, Path)
