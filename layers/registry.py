"""The registry of the region's layers: list them, describe them, load them by name."""

from __future__ import annotations

import copy
import importlib
from contextlib import contextmanager
from dataclasses import dataclass, field

import geopandas as gpd

from kkr_geo.geo.errors import DataError, KkrGeoError
from kkr_geo.layers.datadir import DataDir, resolve_data_dir


@dataclass(frozen=True)
class LayerInfo:
    name: str
    title: str                      # Danish, map-facing
    geometry: str                   # polygon | line | point
    description: str                # English, for docs and the GeoPackage description
    schema: dict[str, str] = field(default_factory=dict)  # column -> meaning
    needs: tuple[str, ...] = ()     # dataset keys from kkr_geo.layers.catalog


# name -> module in layers/ that defines INFO and load(data_dir, **options)
_MODULES = {
    "kommuner": "kkr_geo.layers.kommuner",
    "planomraader": "kkr_geo.layers.planomraader",
    "planomraader_samlet": "kkr_geo.layers.planomraader",
    "brt": "kkr_geo.layers.brt",
    "brt_stops": "kkr_geo.layers.brt",
    "supercykelstier": "kkr_geo.layers.supercykelstier",
    "parker_og_rejs": "kkr_geo.layers.parker_og_rejs",
    "klinikker": "kkr_geo.layers.klinikker",
    "stationer": "kkr_geo.layers.stationer",
}
LAYER_NAMES = tuple(_MODULES)


def _module(name: str):
    if name not in _MODULES:
        raise KkrGeoError(f"unknown layer {name!r}.", hint=f"choose one of: {', '.join(LAYER_NAMES)}.")
    return importlib.import_module(_MODULES[name])


def layer_info(name: str) -> LayerInfo:
    return _module(name).INFO[name]


def load_layer(name: str, data_dir: str | DataDir | None = None, **options) -> gpd.GeoDataFrame:
    """Load a layer as a GeoDataFrame in EPSG:25832.

    ``attrs`` carries ``layer``, ``title``, ``source``, ``licence``, ``precision``, ``status``
    (``ok`` or ``no_geometry``), ``notes`` (list of str) and ``geometry_report``.
    """
    dd = resolve_data_dir(data_dir)
    if _BUILD_LAYERS is not None:
        key = (name, str(dd.path), repr(sorted(options.items())))
        if key not in _BUILD_LAYERS:
            _BUILD_LAYERS[key] = _load_layer(name, dd, **options)
        gdf = _BUILD_LAYERS[key]
        out = gdf.copy()
        out.attrs = copy.deepcopy(gdf.attrs)
        return out
    return _load_layer(name, dd, **options)


# Layers loaded inside `layer_cache()`: one annex build asks for the kommuner ~7 times (directly,
# via the planning areas and via the population surface) and for the planning areas ~5 times.
_BUILD_LAYERS: dict | None = None


@contextmanager
def layer_cache():
    """Within the block, each layer is read once per data directory and options; later calls get
    a copy (attrs included), so a caller that modifies its frame cannot affect the next one. The
    data directory is assumed not to change inside the block (one build)."""
    global _BUILD_LAYERS
    outer = _BUILD_LAYERS is not None
    if not outer:
        _BUILD_LAYERS = {}
    try:
        yield
    finally:
        if not outer:
            _BUILD_LAYERS = None


def _load_layer(name: str, dd: DataDir, **options) -> gpd.GeoDataFrame:
    gdf = _module(name).load(name, dd, **options)
    info = layer_info(name)
    gdf.attrs.setdefault("layer", name)
    gdf.attrs.setdefault("title", info.title)
    gdf.attrs.setdefault("description", info.description)
    gdf.attrs.setdefault("status", "ok")
    gdf.attrs.setdefault("notes", [])
    return gdf


def available_layers(data_dir: str | DataDir | None = None, *, include_optional: bool = True) -> dict[str, gpd.GeoDataFrame]:
    """Load every layer that the data directory supports; report the others in ``skipped``.

    Returns a dict name -> GeoDataFrame; layers that cannot be loaded (e.g. no clinic file)
    are returned in the dict's ``skipped`` attribute as name -> reason.
    """
    dd = resolve_data_dir(data_dir)
    out = _LayerSet()
    for name in LAYER_NAMES:
        try:
            out[name] = load_layer(name, dd)
        except DataError as exc:
            out.skipped[name] = str(exc)
    return out


class _LayerSet(dict):
    def __init__(self):
        super().__init__()
        self.skipped: dict[str, str] = {}
