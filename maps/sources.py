"""Data sources that map specs refer to by name, loaded lazily and cached for one build.

A spec layer's ``source`` is any name of the registry (:mod:`kkr_geo.layers.registry`): a layer
(``kommuner``, ``planomraader``, ``brt``, ...) or a derived dataset declared in
:mod:`kkr_geo.layers.derived` (``brt_opland``, ``klinik_daekningshuller``, ``patientstroemme``, ...).
Sources that cannot be made from the data directory raise :class:`SourceUnavailable` with a reason;
the build then skips the map and says why. Derived datasets made by an analysis keep their
:class:`~kkr_geo.layers.analyses.AnalysisResult` (:meth:`Sources.result`), from which the build
takes its summary tables.
"""

from __future__ import annotations

from typing import Callable

import geopandas as gpd
import pandas as pd

from kkr_geo.geo.errors import DataError, KkrGeoError
from kkr_geo.layers.derived import (CATCHMENT_DISTANCES, CLINIC_GAP_THRESHOLD_M, FLOW_FILES,  # noqa: F401 (re-exported)
                                    PR_CATCHMENT_DISTANCES, STATION_GAP_THRESHOLD_M)
from kkr_geo.geo.log import get_logger

logger = get_logger(__name__)

GRID_CELL_M = 100


class SourceUnavailable(KkrGeoError):
    """A spec's source cannot be built from this data directory (the map is skipped, not faked)."""

    exit_code = 3


class Sources:
    """Lazy, cached access to layers and derived datasets for one data directory."""

    def __init__(self, data_dir=None, *, log: Callable[[str], None] | None = None):
        from kkr_geo.layers.datadir import resolve_data_dir
        self.data_dir = resolve_data_dir(data_dir)
        self._observers: list[Callable[[str], None]] = [log] if log is not None else []
        self._cache: dict[str, object] = {}
        self._results: dict[str, object] = {}          # name -> AnalysisResult (derived datasets made by analyses)
        self._failed: dict[str, str] = {}
        self.extra: dict[str, gpd.GeoDataFrame] = {}  # registered in-memory sources (tests, notebooks)

    # -- public -------------------------------------------------------------------------------
    def log(self, msg: str) -> None:
        """A note while making a source (e.g. one table of two missing): logged at INFO, and passed to
        any observer (``log=`` of the constructor, or one added by the build)."""
        logger.info("note: %s", msg)
        for observer in list(self._observers):
            observer(msg)

    def add_observer(self, observer: Callable[[str], None]) -> None:
        self._observers.append(observer)

    def remove_observer(self, observer: Callable[[str], None]) -> None:
        if observer in self._observers:
            self._observers.remove(observer)

    def register(self, name: str, gdf: gpd.GeoDataFrame) -> None:
        self.extra[name] = gdf

    def names(self) -> tuple[str, ...]:
        """Every source name this instance can be asked for (the registry plus registered ones)."""
        from kkr_geo.layers.registry import source_names
        return tuple(dict.fromkeys([*source_names(), *self.extra]))

    def get(self, name: str) -> gpd.GeoDataFrame:
        if name in self.extra:
            return self.extra[name]
        if name in self._failed:
            raise SourceUnavailable(self._failed[name])
        if name not in self._cache:
            try:
                self._cache[name] = self._load(name)
            except SourceUnavailable as exc:
                self._failed[name] = exc.message
                raise
            except DataError as exc:
                self._failed[name] = f"{name}: {exc.message}"
                raise SourceUnavailable(self._failed[name], hint=exc.hint) from None
        return self._cache[name]

    def result(self, name: str):
        """The :class:`AnalysisResult` behind a derived source (None if it is not made by an analysis)."""
        self.get(name)
        return self._results.get(name)

    def loaded(self) -> dict[str, object]:
        return {k: v for k, v in self._cache.items() if not k.startswith("_")}

    def grid(self):
        """The region's population surface (planning-area populations spread over GRID_CELL_M cells)."""
        if "_grid" not in self._cache:
            from kkr_geo.layers.region_population import region_population_grid
            self._cache["_grid"] = region_population_grid(self.data_dir, cell_size=GRID_CELL_M)
        return self._cache["_grid"]

    def distance(self) -> dict:
        """Distance options for the analyses: the road network of the data directory when it has one
        (walking/cycling routes), else straight line × 1.3 (see :mod:`kkr_geo.layers.region_defaults`)."""
        if "_distance" not in self._cache:
            from kkr_geo.layers.region_defaults import distance_options
            self._cache["_distance"] = distance_options(self.data_dir, "auto", log=self.log)
        return self._cache["_distance"]

    def areas(self) -> dict[str, gpd.GeoDataFrame]:
        """The areas the analyses break figures down by (:data:`kkr_geo.layers.region_defaults.DEFAULT_AREAS`)."""
        from kkr_geo.layers.region_defaults import area_layers
        return area_layers(load=self.get)

    _grid = grid      # old private names
    _areas = areas

    # Read-only views of the analysis results (older callers read these after ``get``).
    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        out = {}
        for name, res in self._results.items():
            out[name] = res.tables["main"]
            if "pr_omraade" in res.tables:
                out[f"{name}_pr_omraade"] = res.tables["pr_omraade"]
        return out

    @property
    def table_meta(self) -> dict[str, dict]:
        return {name: dict(res.meta) for name, res in self._results.items()}

    # -- loading ------------------------------------------------------------------------------
    def _load(self, name: str):
        from kkr_geo.layers.analyses import AnalysisResult
        from kkr_geo.layers.registry import entries, load_layer
        known = entries()
        if name not in known:
            raise SourceUnavailable(f"unknown source {name!r}.", hint=f"sources: {', '.join(known)}")
        info = known[name]
        if info.kind == "derived":
            made = info.loader(name, self)
            if isinstance(made, AnalysisResult):
                self._results[name] = made
                return made.geometry
            return made
        gdf = load_layer(name, self.data_dir)
        if gdf.attrs.get("status") == "no_geometry" or len(gdf) == 0:
            notes = "; ".join(gdf.attrs.get("notes", []))
            raise SourceUnavailable(f"{name}: the data directory has no geometry for this layer"
                                    + (f" ({notes})" if notes else "") + ".")
        return gdf
