"""Deprecated name of :mod:`kkr_geo.layers.region_population` (issue 21: it collided with the analysis core's
``kkr_geo.geo.population``). ``from kkr_geo.layers.population import planlaegningsomraade_population,
region_population_grid`` keeps working, with a ``DeprecationWarning``; import from
``kkr_geo.layers.region_population`` (or ``from kkr_geo import region_population_grid``)."""

from __future__ import annotations

import warnings

from kkr_geo.layers import region_population as _new
from kkr_geo.layers.region_population import (  # noqa: F401  (re-exported under the old name)
    METHODS,
    SOURCE,
    TABLES,
    check_speciale,
    planlaegningsomraade_population,
    planning_area_access,
    read_capacity_table,
    region_population_grid,
    source_text,
)

warnings.warn("kkr_geo.layers.population is deprecated: import from kkr_geo.layers.region_population",
              DeprecationWarning, stacklevel=2)


def __getattr__(name: str):
    """Any other name of the module (also the private ones) from its new place."""
    return getattr(_new, name)
