"""Shared fixtures.

Data directories:

- ``shared_data``: the development data, found the way the package finds it (``KKR_GEO_DATA`` or
  ``../shared/data`` next to the checkout); tests that check figures of the real sources skip without it.
- ``synth_data``: the SYNTHETIC folder ``tests/data_synth`` (invented geometry and figures, see its README); always
  present, so every layer and every map type is built in every test run, also in CI without the shared data.
- ``any_data``: the development data when present, else the synthetic folder: for tests whose assertions hold for
  any complete data directory.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")


SYNTH_DIR = Path(__file__).resolve().parent / "data_synth"


def _find_shared():
    """The development data directory, or None (also when ``KKR_GEO_DATA`` points nowhere)."""
    from kkr_geo.geo.errors import DataError
    from kkr_geo.layers.datadir import resolve_data_dir

    try:
        dd = resolve_data_dir()
    except DataError:
        return None
    if dd.origin == "cache" or not (dd.path / "dagi" / "kommuner.geojson").exists():
        return None
    return dd


@pytest.fixture(scope="session")
def shared_data():
    saved = os.environ.get("KKR_GEO_DATA")
    dd = _find_shared()
    if dd is None:
        pytest.skip("development data (../shared/data or KKR_GEO_DATA) not available")
    assert saved == os.environ.get("KKR_GEO_DATA")
    return dd


@pytest.fixture(scope="session")
def synth_data():
    from kkr_geo.layers.datadir import DataDir

    assert (SYNTH_DIR / "dagi" / "kommuner.geojson").exists(), "tests/data_synth is part of the checkout"
    return DataDir(SYNTH_DIR, "flag")


@pytest.fixture(scope="session")
def any_data(synth_data):
    return _find_shared() or synth_data


@pytest.fixture
def data_copy(any_data, tmp_path):
    """A writable data directory: symlinks to the files of ``any_data``, so a test can add or remove one."""

    def make(exclude: tuple[str, ...] = ()) -> Path:
        root = tmp_path / "data"
        for src in any_data.path.rglob("*"):
            if src.is_dir():
                continue
            rel = src.relative_to(any_data.path)
            if any(str(rel).startswith(e) for e in exclude):
                continue
            dst = root / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(src, dst)
        return root

    return make


def writable_subdir(root: Path, name: str) -> Path:
    """``root/name`` as a real, writable folder, whatever the data directory already holds there.

    Tests add files to a data-directory copy; they must not assume which folders the shared data lacks
    (it grows between turns). A linked folder is replaced by a real one holding links to its files.
    """
    d = root / name
    if d.is_symlink():
        target = d.resolve()
        d.unlink()
        d.mkdir(parents=True)
        for child in target.iterdir():
            (d / child.name).symlink_to(child)
    else:
        d.mkdir(parents=True, exist_ok=True)
    return d
