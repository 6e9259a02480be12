from pathlib import Path

import pytest

from kkr_geo.geo.errors import DataError
from kkr_geo.layers.datadir import ENV_VAR, resolve_data_dir


def test_flag_wins_over_env(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    monkeypatch.setenv(ENV_VAR, str(b))
    dd = resolve_data_dir(a)
    assert dd.path == a.resolve() and dd.origin == "flag"


def test_env_then_default(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert resolve_data_dir().origin == "env"
    monkeypatch.delenv(ENV_VAR)
    dd = resolve_data_dir()
    assert dd.origin in ("shared", "cache")
    if dd.origin == "shared":
        assert dd.path.parts[-2:] == ("shared", "data")


def test_bad_choices_are_clear(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="no such directory"):
        resolve_data_dir(tmp_path / "missing")
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nope"))
    with pytest.raises(DataError, match=ENV_VAR):
        resolve_data_dir()


def test_cache_when_nothing_else(tmp_path, monkeypatch):
    import kkr_geo.layers.datadir as d

    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(d, "PROJECT_ROOT", tmp_path / "proj")
    monkeypatch.chdir(tmp_path)
    dd = resolve_data_dir()
    assert dd.origin == "cache" and isinstance(dd.path, Path)
