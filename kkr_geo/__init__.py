"""kkr-geo: the map and catchment toolkit of the Danish capital region.

One import namespace with three floors (see docs/architecture.md):

- ``kkr_geo.geo``     analysis core (CRS, safe I/O, population surfaces, catchments, coverage, 2SFCA);
                      knows nothing of the domain layers or of publishing.
- ``kkr_geo.layers``  domain layers of Region Hovedstaden, Danish tables, joins, GeoPackage export.
- ``kkr_geo.maps``    publishing: map specs, static and interactive maps, the annex build.

The public API is re-exported here and imported lazily, so ``kkr-geo --version`` stays fast::

    from kkr_geo import load_layer, corridor_catchment, coverage_gaps, two_step_fca, read_table, join_indicators
"""

from __future__ import annotations

import importlib

from kkr_geo.geo.version import __version__  # in the core, so that every floor may name it

# public name -> module that defines it
_PUBLIC = {
    "ANALYSIS_CRS": "kkr_geo.geo.crs",
    "KkrGeoError": "kkr_geo.geo.errors",
    "DataError": "kkr_geo.geo.errors",
    "InputError": "kkr_geo.geo.errors",
    "PopulationGrid": "kkr_geo.geo.population",
    "corridor_catchment": "kkr_geo.geo.catchment",
    "coverage_gaps": "kkr_geo.geo.coverage",
    "two_step_fca": "kkr_geo.geo.access",
    "DataDir": "kkr_geo.layers.datadir",
    "resolve_data_dir": "kkr_geo.layers.datadir",
    "LAYER_NAMES": "kkr_geo.layers.registry",
    "layer_info": "kkr_geo.layers.registry",
    "load_layer": "kkr_geo.layers.registry",
    "available_layers": "kkr_geo.layers.registry",
    "read_table": "kkr_geo.layers.indicators",
    "join_indicators": "kkr_geo.layers.joins",
    "planlaegningsomraade_population": "kkr_geo.layers.region_population",
    "region_population_grid": "kkr_geo.layers.region_population",
    "planning_area_access": "kkr_geo.layers.region_population",
    "region_catchment": "kkr_geo.layers.region_defaults",
    "region_coverage": "kkr_geo.layers.region_defaults",
    "region_access": "kkr_geo.layers.region_defaults",
    "access_by_planning_area": "kkr_geo.layers.analyses",
    "distance_options": "kkr_geo.layers.region_defaults",
    "dasymetric_grid": "kkr_geo.geo.dasymetric",
    "street_network": "kkr_geo.layers.roads",
    "build": "kkr_geo.maps.build",
}
__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kkr_geo' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
