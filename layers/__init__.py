"""Domain layers of Region Hovedstaden and indicator-table joins.

Use :func:`load_layer` (by name) or :func:`available_layers`; every layer is a GeoDataFrame in
EPSG:25832 whose ``attrs`` carry its provenance (``source``, ``precision``, ``status``, ``notes``).
"""

from kkr_geo.layers.datadir import DataDir, resolve_data_dir
from kkr_geo.layers.registry import LAYER_NAMES, available_layers, layer_info, load_layer

__all__ = ["DataDir", "resolve_data_dir", "LAYER_NAMES", "available_layers", "layer_info", "load_layer"]
