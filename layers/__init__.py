"""Domain layers of Region Hovedstaden and indicator-table joins.

Use :func:`load_layer` (by name) or :func:`available_layers`; every layer is a GeoDataFrame in
EPSG:25832 whose provenance (:func:`kkr_geo.geo.provenance.provenance_of`, also readable as ``attrs``:
``source``, ``precision``, ``status``, ``notes``) travels with it. Layers and derived datasets are
declared once in the registry (:mod:`kkr_geo.layers.registry`).
"""

from kkr_geo.layers.datadir import DataDir, resolve_data_dir
from kkr_geo.layers.registry import available_layers, layer_info, load_layer

__all__ = ["DataDir", "resolve_data_dir", "LAYER_NAMES", "available_layers", "layer_info", "load_layer"]


def __getattr__(name: str):
    if name == "LAYER_NAMES":  # derived from the registry when first asked for
        from kkr_geo.layers.registry import layer_names
        return layer_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
