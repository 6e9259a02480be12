"""The floors hold: a module imports only from its own floor or the floors below it (docs/architecture.md).

Floor order: ``kkr_geo.geo`` (analysis core, folder geo/) < ``kkr_geo.layers`` (domain, layers/) < ``kkr_geo.maps``
(publishing, maps/) < ``kkr_geo`` itself (the command line and the public API, kkr_geo/). Every
import of every module is read with ``ast`` (also those inside functions, which run later but still make the lower
floor depend on the upper one).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"geo": ("kkr_geo.geo", 0), "layers": ("kkr_geo.layers", 1), "maps": ("kkr_geo.maps", 2), "kkr_geo": ("kkr_geo", 3)}
FLOOR_NAMES = ["geo", "layers", "maps", "kkr_geo (command line)"]


def floor_of(module: str) -> int | None:
    """The floor of an imported module name, None outside the package."""
    if module != "kkr_geo" and not module.startswith("kkr_geo."):
        return None
    # kkr_geo.data (folder data/) is the embedded default dataset: domain data, read by the domain floor
    for package, floor in (("kkr_geo.geo", 0), ("kkr_geo.layers", 1), ("kkr_geo.data", 1), ("kkr_geo.maps", 2)):
        if module == package or module.startswith(package + "."):
            return floor
    return 3


def _modules():
    for folder, (package, floor) in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            yield path, ".".join([package, *parts]), floor, path.name == "__init__.py"


def imports_of(path: Path, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, imported module) for every import in the file, relative imports resolved; ``from X import y``
    counts as importing ``X.y`` when that is a module of the package (``from kkr_geo import maps``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if is_package else module.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            out.append((node.lineno, base))
            if base == "kkr_geo":   # from kkr_geo import maps / layers / geo / log / __version__
                out += [(node.lineno, f"kkr_geo.{alias.name}") for alias in node.names
                        if alias.name in ("geo", "layers", "maps")]
    return out


def crossings() -> list[str]:
    found = []
    for path, module, floor, is_package in _modules():
        for line, imported in imports_of(path, module, is_package):
            target = floor_of(imported)
            if target is not None and target > floor:
                found.append(f"{path.relative_to(ROOT)}:{line}: {module} ({FLOOR_NAMES[floor]}) imports {imported} "
                             f"({FLOOR_NAMES[target]})")
    return found


def test_no_import_runs_up_a_floor():
    assert crossings() == []


def test_every_module_is_seen():
    seen = {module for _, module, _, _ in _modules()}
    assert {"kkr_geo.geo.coverage", "kkr_geo.layers.derived", "kkr_geo.maps.build", "kkr_geo.cli"} <= seen
    assert len(seen) > 80


@pytest.mark.parametrize("source, module, expected", [
    ("from kkr_geo.maps.flows import flow_lines\n", "kkr_geo.layers.derived", "kkr_geo.maps.flows"),
    ("def f():\n    from kkr_geo import __version__\n", "kkr_geo.layers.fetch", "kkr_geo"),
    ("from ..maps import build\n", "kkr_geo.layers.derived", "kkr_geo.maps"),
    ("import kkr_geo.log\n", "kkr_geo.maps.build", "kkr_geo.log"),
    ("from kkr_geo import maps\n", "kkr_geo.geo.coverage", "kkr_geo.maps"),
])
def test_the_checker_sees_a_crossing(tmp_path, source, module, expected):
    """The checker finds a crossing written at module level, inside a function, relatively, or as a package name."""
    path = tmp_path / "m.py"
    path.write_text(source, encoding="utf-8")
    found = [name for _, name in imports_of(path, module, False)]
    assert expected in found
    assert floor_of(expected) > floor_of(module)


def test_the_version_in_the_core_is_the_package_version():
    import tomllib

    import kkr_geo
    from kkr_geo.geo.version import __version__
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert kkr_geo.__version__ == __version__ == project["version"]
