"""One import namespace: every module of the project is imported as ``kkr_geo.…``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import kkr_geo

ROOT = Path(__file__).resolve().parents[1]
BARE = re.compile(r"(?m)^\s*(?:from|import)\s+(geo|layers|maps)(?:\.|\s)")


def test_no_bare_top_level_imports():
    offenders = []
    for folder in ("geo", "layers", "maps", "kkr_geo", "tests"):
        for p in (ROOT / folder).rglob("*.py"):
            for m in BARE.finditer(p.read_text(encoding="utf-8")):
                offenders.append(f"{p.relative_to(ROOT)}: {m.group(0).strip()}")
    assert offenders == []


def test_public_api_is_reexported():
    for name in kkr_geo.__all__:
        assert getattr(kkr_geo, name) is not None, name
    from kkr_geo.layers.registry import load_layer
    assert kkr_geo.load_layer is load_layer


def test_installed_names_do_not_shadow_other_distributions(tmp_path):
    # Outside the checkout, only kkr_geo is importable: no bare geo/layers/maps packages are installed.
    code = ("import importlib.util as u, kkr_geo.geo, kkr_geo.layers, kkr_geo.maps;"
            "print([n for n in ('geo','layers','maps') if u.find_spec(n) is not None])")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_renamed_modules_and_the_deprecated_population_name():
    """Issue 21: module names no longer collide across floors; the old name in the README's API keeps working."""
    import importlib
    import importlib.util
    import warnings

    for old in ("kkr_geo.layers.styles", "kkr_geo.maps.fmt"):
        assert importlib.util.find_spec(old) is None, old
    for new in ("kkr_geo.layers.region_population", "kkr_geo.layers.qgis_styles", "kkr_geo.maps.danish_numbers"):
        importlib.import_module(new)
    sys.modules.pop("kkr_geo.layers.population", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from kkr_geo.layers import population as old
    assert any(issubclass(w.category, DeprecationWarning) and "region_population" in str(w.message) for w in caught)
    from kkr_geo.layers import region_population as new
    assert old.planlaegningsomraade_population is new.planlaegningsomraade_population
    assert old.region_population_grid is new.region_population_grid is kkr_geo.region_population_grid
    assert old._weight_files is new._weight_files  # the rest of the module, too
