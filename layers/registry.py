"""The one registry of the region's layers and derived datasets: declare once, list, describe, load.

Every layer and every derived dataset (catchments, coverage gaps, flows, context) is declared ONCE,
next to its loader, with :func:`register_layer` (or :func:`register_derived`)::

    @register_layer(LayerInfo("stationer", "Stationer", "point", "Rail stations of the gazetteer.",
                              needs=("gazetteer",), provenance=Provenance(source="...", licence="...")))
    def load(name: str, dd: DataDir, **options) -> gpd.GeoDataFrame: ...

The registry finds the declarations by importing every public module of ``kkr_geo.layers``
(:data:`PROVIDER_PACKAGE`), so a new layer is one new module there; nothing else lists layers by hand.
Everything else derives from it: :data:`LAYER_NAMES`, the CLI's choices, ``catalog.used_by`` and
``kkr-geo data status``, the build's GeoPackage list and summary tables, the GeoPackage's default QGIS styles
(``qgis_look``), and spec validation.
"""

from __future__ import annotations

import copy
import importlib
import pkgutil
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Callable

import geopandas as gpd

from kkr_geo.geo.errors import DataError, KkrGeoError
from kkr_geo.geo.provenance import Provenance, provenance_of, with_provenance
from kkr_geo.layers.datadir import DataDir, resolve_data_dir
from kkr_geo.layers.qgis_styles import QgisLook

GEOMETRIES = ("polygon", "line", "point")
KINDS = ("layer", "derived")
SUMMARY_ROLES = (None, "catchment", "coverage")


@dataclass(frozen=True)
class LayerInfo:
    """One registry entry: a layer (loaded from the data directory) or a derived dataset (made from
    other sources by an analysis or a join)."""

    name: str
    title: str                      # Danish, map-facing
    geometry: str                   # polygon | line | point
    description: str                # English, for docs and the GeoPackage description
    schema: dict[str, str] = field(default_factory=dict)  # column -> meaning
    needs: tuple[str, ...] = ()     # dataset keys (kkr_geo.layers.catalog) and/or other registry names
    kind: str = "layer"             # layer | derived
    gpkg: bool = True               # written to the build's GeoPackage even if no map draws it (drawn ones always are)
    summary: str | None = None      # summary-table role in the build: None | catchment | coverage
    summary_heading: str = ""       # Danish heading of its section in the summary (coverage)
    summary_file: str = ""          # suffix of its own summary CSV (coverage)
    provenance: Provenance = field(default_factory=Provenance)  # declared defaults (the loader may refine)
    qgis_look: QgisLook | None = None  # default QGIS style in the GeoPackage; None: the geometry's default
    loader: Callable | None = field(default=None, compare=False, repr=False)
    module: str = ""

    def __post_init__(self):
        if self.geometry not in GEOMETRIES:
            raise ValueError(f"layer {self.name!r}: geometry {self.geometry!r} is not one of {GEOMETRIES}")
        if self.kind not in KINDS:
            raise ValueError(f"layer {self.name!r}: kind {self.kind!r} is not one of {KINDS}")
        if self.summary not in SUMMARY_ROLES:
            raise ValueError(f"layer {self.name!r}: summary role {self.summary!r} is not one of {SUMMARY_ROLES}")


PROVIDER_PACKAGE = "kkr_geo.layers"
# A module of the package is imported by discovery only if its source declares something (a layer, a derived
# dataset or a catalogue dataset); the others (readers, joins, export, fetch, ...) stay unimported, so importing
# the registry stays light. Read from the code, not kept by hand.
DECLARATIONS = ("register_layer(", "register_derived(", "register_dataset(")

_ENTRIES: dict[str, LayerInfo] = {}
_discovered = False


def register_layer(*infos: LayerInfo, kind: str | None = None):
    """Decorator: register ``infos`` with the decorated loader ``load(name, data_dir, **options)``
    (layers) or ``make(name, sources)`` (derived datasets; ``sources`` has ``get``/``data_dir``)."""

    def deco(fn):
        for info in infos:
            entry = replace(info, loader=fn, module=fn.__module__, **({"kind": kind} if kind else {}))
            old = _ENTRIES.get(entry.name)
            if old is not None and old.module != entry.module:
                raise KkrGeoError(f"registry: {entry.name!r} is declared twice ({old.module} and {entry.module}).")
            _ENTRIES[entry.name] = entry
        return fn

    return deco


def register_derived(*infos: LayerInfo):
    """Decorator for derived datasets: ``make(name, sources) -> GeoDataFrame | AnalysisResult``."""
    return register_layer(*infos, kind="derived")


def unregister(name: str) -> None:
    """Remove an entry (tests and notebooks that registered a temporary layer)."""
    _ENTRIES.pop(name, None)


def _declares(mod: pkgutil.ModuleInfo) -> bool:
    """Whether a module's source declares registry entries or datasets (unreadable source: assume it does)."""
    finder = mod.module_finder
    spec = finder.find_spec(mod.name, None) if hasattr(finder, "find_spec") else None  # type: ignore[call-arg]
    origin = getattr(spec, "origin", None)
    if not origin or not str(origin).endswith(".py"):
        return True
    try:
        with open(origin, encoding="utf-8") as fh:
            text = fh.read()
    except OSError:
        return True
    return any(d in text for d in DECLARATIONS)


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    _discovered = True
    pkg = importlib.import_module(PROVIDER_PACKAGE)
    for mod in pkgutil.iter_modules(pkg.__path__):
        if mod.name.startswith("_") or mod.ispkg or not _declares(mod):
            continue
        importlib.import_module(f"{PROVIDER_PACKAGE}.{mod.name}")


def entries(*, kind: str | None = None) -> dict[str, LayerInfo]:
    """All registry entries (name -> LayerInfo) in display order (also the GeoPackage's layer order):
    :func:`display_order`."""
    _discover()
    return {e.name: e for e in display_order(_ENTRIES.values()) if kind is None or e.kind == kind}


def display_order(infos) -> list[LayerInfo]:
    """Entries in the order of their ``needs``: every entry after the registry entries it is made from; where the
    needs allow, layers before derived datasets, areas before lines before points (the order a GIS stacks them),
    then by name: ``kommuner`` and the planning areas first, a catchment after its features and areas. Derived
    from the declarations; nothing lists the order by hand."""
    infos = {e.name: e for e in infos}
    needs = {n: {d for d in e.needs if d in infos and d != n} for n, e in infos.items()}
    done: list[LayerInfo] = []
    placed: set[str] = set()
    while len(done) < len(infos):
        ready = [n for n in infos if n not in placed and needs[n] <= placed]
        if not ready:   # a cycle of needs: the rest by name (the registry does not refuse it here)
            ready = [n for n in infos if n not in placed]
        n = min(ready, key=lambda n: (infos[n].kind != "layer", GEOMETRIES.index(infos[n].geometry), n))
        done.append(infos[n])
        placed.add(n)
    return done


def layer_names() -> tuple[str, ...]:
    return tuple(entries(kind="layer"))


def source_names() -> tuple[str, ...]:
    """Every name a map spec's ``source:`` may use (layers and derived datasets)."""
    return tuple(entries())


def entry(name: str) -> LayerInfo:
    all_ = entries()
    if name not in all_:
        raise KkrGeoError(f"unknown layer or dataset {name!r}.", hint=f"choose one of: {', '.join(all_)}.")
    return all_[name]


def _layer_entry(name: str) -> LayerInfo:
    layers = entries(kind="layer")
    if name not in layers:
        raise KkrGeoError(f"unknown layer {name!r}.", hint=f"choose one of: {', '.join(layers)}.")
    return layers[name]


def layer_info(name: str) -> LayerInfo:
    return entry(name)


def load_layer(name: str, data_dir: str | DataDir | None = None, **options) -> gpd.GeoDataFrame:
    """Load a layer as a GeoDataFrame in EPSG:25832.

    Its provenance (:func:`kkr_geo.geo.provenance.provenance_of`) is also readable as ``attrs``:
    ``layer``, ``title``, ``source``, ``licence``, ``precision``, ``status`` (``ok`` or
    ``no_geometry``), ``notes`` (list of str) and ``geometry_report``.
    """
    info = _layer_entry(name)
    dd = resolve_data_dir(data_dir)
    if _BUILD_LAYERS is not None:
        key = (name, dd.key, repr(sorted(options.items())))
        if key not in _BUILD_LAYERS:
            _BUILD_LAYERS[key] = _load_layer(info, name, dd, **options)
        gdf = _BUILD_LAYERS[key]
        out = gdf.copy()
        out.attrs = copy.deepcopy(gdf.attrs)
        return out
    return _load_layer(info, name, dd, **options)


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


def _load_layer(info: LayerInfo, name: str, dd: DataDir, **options) -> gpd.GeoDataFrame:
    gdf = info.loader(name, dd, **options)
    declared, got = info.provenance, provenance_of(gdf)
    merged = got.replace(**{k: getattr(declared, k) for k in ("source", "licence", "precision", "date")
                            if not getattr(got, k) and getattr(declared, k)})
    merged = merged.replace(layer=merged.layer or name, title=merged.title or info.title,
                            description=merged.description or info.description, status=merged.status or "ok")
    return with_provenance(gdf, merged)


def available_layers(data_dir: str | DataDir | None = None, *, include_optional: bool = True) -> dict[str, gpd.GeoDataFrame]:
    """Load every layer that the data directory supports; report the others in ``skipped``.

    Returns a dict name -> GeoDataFrame; layers that cannot be loaded (e.g. no clinic file)
    are returned in the dict's ``skipped`` attribute as name -> reason.
    """
    dd = resolve_data_dir(data_dir)
    out = _LayerSet()
    for name in layer_names():
        try:
            out[name] = load_layer(name, dd)
        except DataError as exc:
            out.skipped[name] = str(exc)
    return out


def split_needs(info: LayerInfo) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(sources, dataset_keys)`` of an entry's ``needs``. A need names another registry entry if one
    exists (``klinik_daekningshuller`` needs the layer ``klinikker``), else a catalogue dataset (the
    layer ``klinikker`` needs the dataset ``klinikker``)."""
    names = entries()
    srcs = tuple(n for n in info.needs if n in names and n != info.name)
    return srcs, tuple(n for n in info.needs if n not in srcs)


def used_by(dataset_key: str) -> tuple[str, ...]:
    """Registry entries that declare the catalogue dataset ``dataset_key`` in their ``needs``."""
    return tuple(n for n, e in entries().items() if dataset_key in split_needs(e)[1])


def feature_layers() -> tuple[str, ...]:
    """Layers of points or lines: the features/facilities the CLI's analyses accept with ``--layer``."""
    return tuple(n for n, e in entries(kind="layer").items() if e.geometry in ("point", "line"))


def gpkg_sources() -> tuple[str, ...]:
    return tuple(n for n, e in entries().items() if e.gpkg)


def summary_sources(role: str | None = None) -> dict[str, LayerInfo]:
    return {n: e for n, e in entries().items() if e.summary and (role is None or e.summary == role)}


class _LayerSet(dict):
    def __init__(self):
        super().__init__()
        self.skipped: dict[str, str] = {}


def __getattr__(name: str):
    # LAYER_NAMES is derived from the registry on first use (discovery imports the layer modules,
    # which import this module: a module-level constant would be computed too early).
    if name == "LAYER_NAMES":
        return layer_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
