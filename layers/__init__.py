"""Domain layers of Region Hovedstaden and indicator-table joins.

Use :func:`load_layer` (by name) or :func:`available_layers`; every layer is a GeoDataFrame in
EPSG:25832 whose provenance (:func:`kkr_geo.geo.provenance.provenance_of`, also readable as ``attrs``:
``source``, ``precision``, ``status``, ``notes``) travels with it. Layers and derived datasets are
declared once in the registry (:mod:`kkr_geo.layers.registry`).

Names are imported lazily, so importing a light submodule (``kkr_geo.layers.datadir``, as the CLI does
while parsing) does not load the registry and geopandas.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {"DataDir": "kkr_geo.layers.datadir", "resolve_data_dir": "kkr_geo.layers.datadir",
           "available_layers": "kkr_geo.layers.registry", "layer_info": "kkr_geo.layers.registry",
           "load_layer": "kkr_geo.layers.registry"}
__all__ = ["DataDir", "resolve_data_dir", "LAYER_NAMES", "available_layers", "layer_info", "load_layer"]


def __getattr__(name: str) -> Any:
    if name == "LAYER_NAMES":  # derived from the registry when first asked for
        from kkr_geo.layers.registry import layer_names
        return layer_names()
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
