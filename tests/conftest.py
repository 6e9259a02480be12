"""Shared fixtures. Tests needing the development data find it the way the package does
(``KKR_GEO_DATA`` or ``../shared/data`` next to the checkout) and skip when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(scope="session")
def shared_data():
    from kkr_geo.layers.datadir import resolve_data_dir

    saved = os.environ.get("KKR_GEO_DATA")
    dd = resolve_data_dir()
    if dd.origin == "cache" or not (dd.path / "dagi" / "kommuner.geojson").exists():
        pytest.skip("development data (../shared/data or KKR_GEO_DATA) not available")
    assert saved == os.environ.get("KKR_GEO_DATA")
    return dd


@pytest.fixture
def data_copy(shared_data, tmp_path):
    """A writable data directory: symlinks to the shared files, so a test can add or remove one."""

    def make(exclude: tuple[str, ...] = ()) -> Path:
        root = tmp_path / "data"
        for src in shared_data.path.rglob("*"):
            if src.is_dir():
                continue
            rel = src.relative_to(shared_data.path)
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
