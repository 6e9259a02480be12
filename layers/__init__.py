"""Domain layers of Region Hovedstaden and indicator-table joins.

Use :func:`load_layer` (by name) or :func:`available_layers`; every layer is a GeoDataFrame in
EPSG:25832 whose ``attrs`` carry its provenance (``source``, ``precision``, ``status``, ``notes``).
Names are imported lazily, so importing a light submodule (``kkr_geo.layers.datadir``) stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {"DataDir": "kkr_geo.layers.datadir", "resolve_data_dir": "kkr_geo.layers.datadir",
           "LAYER_NAMES": "kkr_geo.layers.registry", "available_layers": "kkr_geo.layers.registry",
           "layer_info": "kkr_geo.layers.registry", "load_layer": "kkr_geo.layers.registry"}
__all__ = list(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kkr_geo.layers' has no attribute {name!r}")
