"""Region defaults for the analyses: which distance and which population surface to use.

The analysis core (:mod:`kkr_geo.geo`) and the analysis service (:mod:`kkr_geo.layers.analyses`) take
a street network or a detour factor, and a population grid. This module picks the region's defaults
from the data directory, for the CLI, the map build (``Sources.distance()``) and the Python API alike:

* distance ``"auto"`` (default): walking/cycling distance on the road network when the data
  directory has the road centre lines, straight line × the detour factor measured for the kommune the
  cell lies in otherwise (``data/afstand/omvejsfaktorer_kommuner.csv``; 1.3 everywhere without it);
  ``"network"`` demands the roads (a clear error without them), ``"euclidean"`` never uses them;
* population: the dasymetric surface of :func:`kkr_geo.layers.region_population.region_population_grid`.

Example::

    from kkr_geo import load_layer, region_catchment
    brt = load_layer("brt")
    res = region_catchment(brt, (400, 800), by="projekt", distance="network")
"""

from __future__ import annotations

from kkr_geo.geo.errors import DataError, InputError

DISTANCES = ("auto", "network", "euclidean")


def distance_options(data_dir=None, distance: str | None = "auto", *, detour_factor: float | None = None,
                     network_file=None, log=None) -> dict:
    """Keyword arguments for the core analyses: ``{"network": StreetNetwork}`` or ``{"detour_factor": f}``.

    ``network_file`` (a GeoPackage/OSM extract of edges) replaces the data directory's roads.
    A detour factor with ``distance="auto"`` means straight-line distance; with ``"network"`` it is
    an error (a route needs no factor).
    """
    from kkr_geo.geo.distance import DEFAULT_DETOUR_FACTOR, StreetNetwork, check_detour_factor
    from kkr_geo.layers import roads

    distance = (distance or "auto").lower()
    if distance not in DISTANCES:
        raise InputError(f"distance {distance!r} is not one of {', '.join(DISTANCES)}.",
                         hint="use network (route on the road network), euclidean (straight line × detour factor) or auto.")
    if detour_factor is not None:
        if distance == "network" or network_file:
            raise InputError("a detour factor applies only to straight-line distance, not to network distance.",
                             hint="drop --detour-factor, or use --distance euclidean.")
        return {"detour_factor": check_detour_factor(detour_factor)}
    if distance == "euclidean":
        if network_file:
            raise InputError("--network FILE and --distance euclidean contradict each other.", hint="drop one of them.")
        return {"detour_factor": _kommune_factors_or_default(data_dir, DEFAULT_DETOUR_FACTOR)}
    if network_file:
        return {"network": StreetNetwork.from_file(network_file)}
    if roads.has_roads(data_dir):
        return {"network": roads.street_network(data_dir, log=log)}
    if distance == "network":
        from kkr_geo.layers import catalog
        raise DataError(f"network distance needs the road centre lines {catalog.DATASETS[roads.ROADS_KEY].path} "
                        "in the data directory, and they are not there.",
                        hint="add them (see data/README.md), pass --network FILE, or use --distance euclidean.")
    return {"detour_factor": _kommune_factors_or_default(data_dir, DEFAULT_DETOUR_FACTOR)}


def _kommune_factors_or_default(data_dir, default: float):
    """The measured detour factors per kommune (``data/afstand/omvejsfaktorer_kommuner.csv``), or the
    uniform ``default`` (with a warning) when the table or the kommuner are missing."""
    from kkr_geo.layers.detour import kommune_detour_factors
    factors = kommune_detour_factors(data_dir)
    return default if factors is None else factors


# The area layers of the breakdowns by area, once: registry name -> the area type their rows are labelled with
# ("planområde" is one of the five planområder, as in the practice plan; the 37 are "planlægningsområder").
AREA_TYPES = {"kommuner": "kommune", "planomraader_samlet": "planområde", "planomraader": "planlægningsområde"}
# what the build, the region_* helpers and the command line (``--areas`` default) break figures down by
DEFAULT_AREAS = ("kommuner", "planomraader_samlet")


def area_layers(data_dir=None, names=DEFAULT_AREAS, *, load=None) -> dict:
    """``{area type: GeoDataFrame with a 'navn' column}`` for area layers of :data:`AREA_TYPES` (by registry name).
    ``load(name)`` reads a layer (default: :func:`kkr_geo.layers.registry.load_layer` on ``data_dir``; the build
    passes its cached sources)."""
    if load is None:
        from kkr_geo.layers.registry import load_layer

        def load(name):
            return load_layer(name, data_dir)
    out = {}
    for name in names:
        gdf = load(name)
        if "navn" not in gdf.columns and "planomraade" in gdf.columns:
            gdf = gdf.assign(navn=gdf["planomraade"])
        out[AREA_TYPES[name]] = gdf
    return out


def _areas(data_dir):
    return {k: v[["navn", "geometry"]] for k, v in area_layers(data_dir).items()}


def region_catchment(features, distances=(400, 800), *, data_dir=None, distance: str = "auto", grid=None,
                     detour_factor: float | None = None, areas="default", **kwargs):
    """:func:`kkr_geo.layers.analyses.catchment` on the region's defaults (see module docstring); returns
    an :class:`~kkr_geo.layers.analyses.AnalysisResult` (``.table``, ``.tables["pr_omraade"]``, ``.meta``)."""
    from kkr_geo.layers.analyses import catchment
    from kkr_geo.layers.region_population import region_population_grid
    grid = grid if grid is not None else region_population_grid(data_dir)
    areas = _areas(data_dir) if isinstance(areas, str) and areas == "default" else areas
    return catchment(features, grid, distances, areas=areas,
                     **distance_options(data_dir, distance, detour_factor=detour_factor), **kwargs)


def region_coverage(facilities, threshold_m: float, *, data_dir=None, distance: str = "auto", grid=None,
                    detour_factor: float | None = None, areas="default", **kwargs):
    """:func:`kkr_geo.layers.analyses.coverage` on the region's defaults (see module docstring)."""
    from kkr_geo.layers.analyses import coverage
    from kkr_geo.layers.region_population import region_population_grid
    grid = grid if grid is not None else region_population_grid(data_dir)
    areas = _areas(data_dir) if isinstance(areas, str) and areas == "default" else areas
    return coverage(facilities, grid, threshold_m, areas=areas,
                    **distance_options(data_dir, distance, detour_factor=detour_factor), **kwargs)


def region_access(facilities, catchment_m: float, *, data_dir=None, distance: str = "auto", grid=None,
                  detour_factor: float | None = None, areas="default", **kwargs):
    """:func:`kkr_geo.layers.analyses.access` (2SFCA) on the region's defaults (see module docstring); returns
    an :class:`~kkr_geo.layers.analyses.AnalysisResult` (``.table``, ``.tables["facilities"]``, ``.layers``,
    ``.raw.cells``). With the planning area as the catchment: :func:`kkr_geo.layers.analyses.access_by_planning_area`."""
    from kkr_geo.layers.analyses import access
    from kkr_geo.layers.region_population import region_population_grid
    grid = grid if grid is not None else region_population_grid(data_dir)
    areas = _areas(data_dir) if isinstance(areas, str) and areas == "default" else areas
    return access(facilities, grid, catchment_m, areas=areas,
                  **distance_options(data_dir, distance, detour_factor=detour_factor), **kwargs)
