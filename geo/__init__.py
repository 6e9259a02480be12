"""Analysis core of kkr-geo: CRS handling, safe I/O, geometry helpers and catchment analysis.

Nothing in ``geo`` knows about the domain layers (``layers``) or publishing (``maps``).
Names are imported lazily, so ``kkr_geo.geo.errors`` (used by the CLI) does not pull in geopandas.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {"ANALYSIS_CRS": "kkr_geo.geo.crs", "KkrGeoError": "kkr_geo.geo.errors", "DataError": "kkr_geo.geo.errors",
           "InputError": "kkr_geo.geo.errors"}
__all__ = list(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kkr_geo.geo' has no attribute {name!r}")
