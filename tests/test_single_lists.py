"""The registry and the build are the only lists (issue 21): no hand-kept copy of which layer modules declare
something, of the display order, or of the areas the figures are broken down by."""

from __future__ import annotations

import pkgutil
import sys

import pandas as pd

from kkr_geo.cli import main
from kkr_geo.layers import registry
from kkr_geo.layers.region_defaults import AREA_TYPES, DEFAULT_AREAS


def test_discovery_imports_exactly_the_declaring_modules():
    import kkr_geo.layers as pkg
    registry.entries()
    for mod in pkgutil.iter_modules(pkg.__path__):
        if mod.name.startswith("_") or mod.ispkg:
            continue
        source = open(mod.module_finder.find_spec(mod.name).origin, encoding="utf-8").read()
        declares = any(d in source for d in registry.DECLARATIONS)
        if declares:
            assert f"kkr_geo.layers.{mod.name}" in sys.modules, mod.name
    # every entry comes from a module that declares it (none is found any other way)
    for e in registry.entries().values():
        assert any(d in open(sys.modules[e.module].__file__, encoding="utf-8").read() for d in registry.DECLARATIONS)


def test_display_order_puts_every_entry_after_what_it_needs():
    order = list(registry.entries())
    assert sorted(order) == sorted(registry._ENTRIES)   # every entry listed, once
    for i, name in enumerate(order):
        sources, _ = registry.split_needs(registry.entry(name))
        assert all(order.index(s) < i for s in sources), (name, sources)
    # layers before derived datasets unless a layer needs one
    kinds = [registry.entry(n).kind for n in order]
    first_derived = kinds.index("derived")
    late = [n for n in order[first_derived:] if registry.entry(n).kind == "layer"]
    assert all(any(registry.entry(s).kind == "derived" for s in registry.split_needs(registry.entry(n))[0]) for n in late)


def test_display_order_is_derived_not_listed():
    a = registry.LayerInfo("zz_b", "B", "point", "b", needs=("zz_a",), kind="derived")
    b = registry.LayerInfo("zz_a", "A", "polygon", "a", kind="derived")
    c = registry.LayerInfo("aa_c", "C", "line", "c")
    assert [e.name for e in registry.display_order([a, b, c])] == ["aa_c", "zz_a", "zz_b"]


def test_the_command_line_breaks_figures_down_by_the_builds_areas(synth_data, tmp_path, capsys):
    from kkr_geo.commands import analysis
    from kkr_geo.maps.sources import Sources
    assert analysis.AREA_LAYERS is AREA_TYPES
    assert analysis.DEFAULT_AREAS.split(",") == list(DEFAULT_AREAS)
    build_areas = Sources(synth_data.path).areas()
    assert list(build_areas) == [AREA_TYPES[n] for n in DEFAULT_AREAS]
    out = tmp_path / "v"
    rc = main(["--data-dir", str(synth_data.path), "coverage", "--facilities",
               str(synth_data.path / "punkter" / "testpunkter.geojson"), "--threshold", "2000", "--detour-factor", "1",
               "--population-method", "areal", "--cell-size", "500", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    t = pd.read_csv(out / "coverage.csv")
    for area_type, gdf in build_areas.items():   # the default: the build's area types, with the build's area names
        assert set(t.loc[t["area_type"] == area_type, "area_name"]) == set(gdf["navn"]), area_type
    rc = main(["--data-dir", str(synth_data.path), "coverage", "--facilities",
               str(synth_data.path / "punkter" / "testpunkter.geojson"), "--threshold", "2000", "--detour-factor", "1",
               "--population-method", "areal", "--cell-size", "500", "--areas", "planomraader", "--out",
               str(tmp_path / "w")])
    assert rc == 0, capsys.readouterr().err
    t = pd.read_csv(tmp_path / "w" / "coverage.csv")
    assert set(t["area_type"]) - {"total"} == {"planlægningsområde"}


def test_qgis_styles_keep_no_list_of_layers():
    """Each layer's QGIS look is in its registry entry (``qgis_look``): qgis_styles.py names no layer."""
    import re
    from pathlib import Path

    from kkr_geo.layers import qgis_styles
    source = Path(qgis_styles.__file__).read_text(encoding="utf-8")
    quoted = set(re.findall(r'"([a-z_]+)"', source))
    assert not quoted & set(registry.entries()), quoted & set(registry.entries())
    assert not hasattr(qgis_styles, "_STYLES")
