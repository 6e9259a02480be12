"""Shared fixtures.

Data directories:

- ``real_data``: what a user gets: the embedded default dataset that ships in the package (``data/``),
  or, when ``KKR_GEO_DATA`` points at the development data, that folder over the embedded default.
  Tests of the real sources' figures run on it in every run.
- ``dev_data``: the development data only (``KKR_GEO_DATA`` with the road centre lines, which never
  ship); the few tests that need road lines or the GTFS shape are marked ``devdata`` and skip without it.
  ``.ci/run`` runs the suite once without it (as a user's machine is) and then once more with it.
- ``synth_data``: the SYNTHETIC folder ``tests/data_synth`` (invented geometry and figures, see its README); always
  present, so every layer and every map type is built in every test run.
- ``any_data``: the real data (see ``real_data``).
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")


SYNTH_DIR = Path(__file__).resolve().parent / "data_synth"
ROADS = Path("vejnet") / "vejmidter_region_hovedstaden.gpkg"


def _dev_dir():
    """The development data directory named by ``KKR_GEO_DATA`` (over the embedded default), or None."""
    from kkr_geo.layers.datadir import DataDir, _base

    env = os.environ.get("KKR_GEO_DATA")
    if not env or not (Path(env) / "dagi" / "kommuner.geojson").exists():
        return None
    return DataDir(Path(env).resolve(), "env", _base())


def _real_dir():
    from kkr_geo.layers.datadir import DataDir, bundle_dir

    return _dev_dir() or DataDir(bundle_dir(), "bundle")


def pytest_collection_modifyitems(config, items):
    """A test that asks for ``dev_data`` is a ``devdata`` test (``-m devdata`` selects them)."""
    for item in items:
        if "dev_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.devdata)


@pytest.fixture(scope="session")
def real_data():
    return _real_dir()


@pytest.fixture(scope="session")
def dev_data():
    dd = _dev_dir()
    if dd is None or not (dd.path / ROADS).exists():
        pytest.skip("development data with road centre lines (KKR_GEO_DATA) not available: .ci/run runs this "
                    "test in its development-data pass")
    return dd


@pytest.fixture(scope="session")
def synth_data():
    from kkr_geo.layers.datadir import DataDir

    assert (SYNTH_DIR / "dagi" / "kommuner.geojson").exists(), "tests/data_synth is part of the checkout"
    return DataDir(SYNTH_DIR, "flag")


@pytest.fixture(autouse=True)
def _synthetic_data_stands_alone(request, monkeypatch):
    """The synthetic folder is a complete data directory of invented figures: the embedded default's real
    files must not fill its gaps, so tests that use it run with ``KKR_GEO_BUNDLE=0``."""
    if "synth_data" in request.fixturenames:
        monkeypatch.setenv("KKR_GEO_BUNDLE", "0")


@pytest.fixture(scope="session")
def any_data(real_data):
    return real_data


@pytest.fixture
def data_copy(any_data, tmp_path, monkeypatch):
    """A writable, complete data directory: symlinks to every file ``any_data`` finds (the embedded
    default's, overridden by the development data's), so a test can add or remove one. The embedded
    default is turned off (``KKR_GEO_BUNDLE=0``) while the test runs, so a removed file stays removed."""

    def make(exclude: tuple[str, ...] = ()) -> Path:
        root = tmp_path / "data"
        sources = [d for d in (any_data.base, any_data.path) if d is not None]
        for folder in sources:
            for src in folder.rglob("*"):
                rel = src.relative_to(folder)
                if src.is_dir() or src.suffix == ".py" or "__pycache__" in rel.parts or rel.name == "MANIFEST.json":
                    continue
                if any(str(rel).startswith(e) for e in exclude):
                    continue
                dst = root / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                if dst.is_symlink():
                    dst.unlink()
                os.symlink(src, dst)
        monkeypatch.setenv("KKR_GEO_BUNDLE", "0")
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


def weasyprint_or_fail():
    """Skip without WeasyPrint/Pango on a developer's machine; in CI (which installs them) fail instead."""
    try:
        import weasyprint  # noqa: F401  (the import is the check)
    except (ImportError, OSError) as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"WeasyPrint/Pango missing in CI (.ci/run installs them): {exc}")
        pytest.skip(f"WeasyPrint not usable here: {exc}")
