"""Data sources that map specs refer to by name, loaded lazily and cached for one build.

A spec layer's ``source`` is either a layer of :mod:`layers` (``kommuner``, ``planomraader``, ``brt``,
``parker_og_rejs``, ...) or one of the derived datasets below. Sources that cannot be made from the
data directory raise :class:`SourceUnavailable` with a reason; the build then skips the map and says why.

Derived sources:

``kommuner_nabo``            neighbouring Region Sjælland municipalities (grey context)
``planlaegningsomraader``    planning areas with population and borgere pr. kapacitet (speciale 51, 62)
``banelinjer``               rail lines from ``osm/banelinjer_osm.geojson`` (context)
``brt_opland``               400/800 m catchment rings around the BRT corridors with population
``parker_og_rejs_opland``    2/5 km catchment rings around the park-and-ride stations (cycling and short drives)
``klinik_daekningshuller``   areas farther than :data:`CLINIC_GAP_THRESHOLD_M` from any clinic
``station_daekningshuller``  areas farther than :data:`STATION_GAP_THRESHOLD_M` from any rail station (stationsnærhed)
``patientstroemme``          patient flows bopælskommune -> klinikkommune (needs ``flows/patientstroemme.csv``)
"""

from __future__ import annotations

from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kkr_geo.geo.errors import DataError, KkrGeoError

CATCHMENT_DISTANCES = (400, 800)          # walking distance to a BRT stop
PR_CATCHMENT_DISTANCES = (2000, 5000)     # park-and-ride: reached by bike or a short drive
CLINIC_GAP_THRESHOLD_M = 2000
# The Finger Plan's station proximity: within 600 m walking distance of a station ("stationsnære områder").
STATION_GAP_THRESHOLD_M = 600
GRID_CELL_M = 100
FLOW_FILES = ("flows/patientstroemme.csv", "flows/patientstroemme.xlsx", "patientstroemme.csv")


class SourceUnavailable(KkrGeoError):
    """A spec's source cannot be built from this data directory (the map is skipped, not faked)."""

    exit_code = 3


class Sources:
    """Lazy, cached access to layers and derived datasets for one data directory."""

    def __init__(self, data_dir=None, *, log: Callable[[str], None] | None = None):
        from kkr_geo.layers.datadir import resolve_data_dir
        self.data_dir = resolve_data_dir(data_dir)
        self.log = log or (lambda msg: None)
        self._cache: dict[str, object] = {}
        self._failed: dict[str, str] = {}
        self.tables: dict[str, pd.DataFrame] = {}     # summary tables of catchments and coverage
        self.table_meta: dict[str, dict] = {}
        self.extra: dict[str, gpd.GeoDataFrame] = {}  # registered in-memory sources (tests, notebooks)

    # -- public -------------------------------------------------------------------------------
    def register(self, name: str, gdf: gpd.GeoDataFrame) -> None:
        self.extra[name] = gdf

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

    def loaded(self) -> dict[str, object]:
        return dict(self._cache)

    # -- loaders ------------------------------------------------------------------------------
    def _load(self, name: str):
        method = getattr(self, f"_src_{name}", None)
        if method is not None:
            return method()
        from kkr_geo.layers.registry import LAYER_NAMES, load_layer
        if name in LAYER_NAMES:
            gdf = load_layer(name, self.data_dir)
            if gdf.attrs.get("status") == "no_geometry" or len(gdf) == 0:
                notes = "; ".join(gdf.attrs.get("notes", []))
                raise SourceUnavailable(f"{name}: the data directory has no geometry for this layer"
                                        + (f" ({notes})" if notes else "") + ".")
            return gdf
        raise SourceUnavailable(f"unknown source {name!r}.")

    def _src_kommuner_nabo(self):
        from kkr_geo.layers.registry import load_layer
        region = set(self.get("kommuner")["kommunekode"])
        gdf = load_layer("kommuner", self.data_dir, include_neighbours=True)
        out = gdf[~gdf["kommunekode"].isin(region)].copy()
        out.attrs = dict(gdf.attrs, title="Nabokommuner (Region Sjælland)")
        return out

    def _src_planlaegningsomraader(self):
        """Planning areas with population and capacity figures of speciale 51 and 62."""
        from kkr_geo.layers.population import planlaegningsomraade_population
        gdf = planlaegningsomraade_population(self.data_dir, speciale=51)
        try:
            sp62 = planlaegningsomraade_population(self.data_dir, speciale=62)
        except DataError as exc:
            self.log(f"speciale 62 not available: {exc.message}")
        else:
            cols = [c for c in sp62.columns if c.endswith("_sp62")]
            extra = sp62.set_index("navn")[cols]
            attrs = dict(gdf.attrs)
            gdf = gdf.join(extra, on="navn")
            gdf.attrs = attrs
        gdf.attrs["title"] = "Planlægningsområder"
        src = str(gdf.attrs.get("source", ""))
        if "Danmarks Statistik" not in src:
            gdf.attrs["source"] = src + "; Danmarks Statistik"
        return gdf

    def _src_planomraader_kapacitet(self):
        """The five planområder with the plan's planområde rows of Tabel 3 and 4."""
        from kkr_geo.layers import catalog
        from kkr_geo.layers.indicators import read_table
        gdf = self.get("planomraader_samlet").copy()
        attrs = dict(gdf.attrs)
        for key, sp in (("tabel3_sp51", 51), ("tabel4_sp62", 62)):
            try:
                table = read_table(catalog.require(self.data_dir, key, layer="planomraader_kapacitet"))
            except DataError as exc:
                self.log(f"speciale {sp} not available: {exc.message}")
                continue
            rows = table[table["niveau"] == "planområde"]
            cols = [c for c in rows.columns if c.endswith(f"_sp{sp}")]
            gdf = gdf.merge(rows[["område", *cols]].rename(columns={"område": "planomraade"}), on="planomraade", how="left")
        gdf.attrs = attrs
        gdf.attrs["title"] = "Planområder"
        return gdf

    def _src_banelinjer(self):
        from kkr_geo.geo.io import read_vector
        path = self.data_dir.file("osm/banelinjer_osm.geojson")
        if not path.exists():
            raise SourceUnavailable("banelinjer: osm/banelinjer_osm.geojson is not in the data directory.")
        gdf = read_vector(path)
        gdf.attrs.update(title="Banelinjer (S-tog, Metro, regionaltog)", source="OpenStreetMap-bidragydere (ODbL)",
                         precision="OSM-afledt", status="ok", notes=[])
        return gdf

    def _grid(self):
        if "_grid" not in self._cache:
            from kkr_geo.layers.population import region_population_grid
            self._cache["_grid"] = region_population_grid(self.data_dir, cell_size=GRID_CELL_M)
        return self._cache["_grid"]

    def _distance(self) -> dict:
        """Network distance on the data directory's roads when present, else straight line × 1.3."""
        if "_distance" not in self._cache:
            from kkr_geo.layers.analyses import distance_options
            self._cache["_distance"] = distance_options(self.data_dir, "auto", log=self.log)
        return self._cache["_distance"]

    def _method_note(self, meta: dict) -> str:
        """The map note on distance and population surface, in Danish."""
        if meta.get("network"):
            dist = "gang-/cykelafstand ad vejnettet (vejmidter)"
        else:
            dist = "luftlinje × omvejsfaktor {} (intet vejnet)".format(str(meta.get("detour_factor", "")).replace(".", ","))
        prov = getattr(self._grid(), "provenance", None)
        if prov is not None and "weight" in prov.columns and not prov["weight"].eq("uniform").all():
            used = ", ".join(f"{lab} ({n})" for lab, n in prov["weight_label"].value_counts().items())
            pop = f"befolkning (Tabel 3) fordelt inden for planlægningsområderne efter {used} (tilnærmet)"
        else:
            pop = "befolkning fordelt jævnt inden for planlægningsområderne (tilnærmet)"
        return f"{dist}; {pop}"

    def _areas(self):
        plan = self.get("planomraader_samlet")
        plan = plan.assign(navn=plan["planomraade"]) if "navn" not in plan.columns else plan
        return {"kommune": self.get("kommuner"), "planområde": plan}

    def _catchment(self, name: str, layer: str, by: str, title: str, label_column: str | None = None,
                   distances=CATCHMENT_DISTANCES):
        from kkr_geo.geo.catchment import corridor_catchment
        features = self.get(layer)
        result = corridor_catchment(features, self._grid(), distances=distances, by=by, mode="rings",
                                    areas=self._areas(), **self._distance())
        polys = result.polygons.copy()
        table = result.table.copy()
        # Readable names (the analysis groups by a code such as "150s").
        names = {}
        if label_column and label_column in features.columns:
            names = dict(zip(features[by].astype(str), features[label_column].astype(str)))
        polys["navn"] = [names.get(str(f), str(f)) for f in polys["feature"]]
        table.insert(1, "navn", [names.get(str(f), str(f)) for f in table["feature"]])
        # Catchments wholly outside the population surface (the region) were not counted: say so
        # instead of showing 0 inhabitants.
        region = shapely.union_all(self.get("kommuner").geometry.values)
        outside = {f for f, g in zip(polys["feature"], polys.geometry) if not g.intersects(region)}
        partly = {f for f, g in zip(polys["feature"], polys.geometry) if f not in outside and not region.contains(g)}
        polys.loc[polys["feature"].isin(outside), "population"] = np.nan
        table.loc[table["feature"].isin(outside), "population"] = np.nan
        table["bemaerkning"] = ["uden for Region Hovedstaden: befolkning ikke opgjort" if f in outside else
                                ("delvis uden for Region Hovedstaden: kun regionens del opgjort" if f in partly else "")
                                for f in table["feature"]]
        table.insert(0, "analyse", name)
        self.tables[name] = table
        self.table_meta[name] = dict(getattr(result, "meta", {}) or {})
        if hasattr(result, "by_area") and result.by_area is not None:
            by_area = result.by_area.copy()
            by_area.insert(0, "analyse", name)
            self.tables[f"{name}_pr_omraade"] = by_area
        prec = str(features.attrs.get("precision", ""))
        polys.attrs.update(
            title=title,
            source="; ".join(x for x in (features.attrs.get("source"), self._grid().source) if x),
            precision=("schematic" if "schematic" in prec or "skematisk" in prec else prec),
            status="ok",
            notes=list(features.attrs.get("notes", [])) + [f"{k}: {v}" for k, v in self.table_meta[name].items()],
            map_notes=["Oplande: {}; kun opgjort i Region Hovedstaden.".format(self._method_note(self.table_meta[name]))],
        )
        return polys

    def _src_brt_opland(self):
        return self._catchment("brt_opland", "brt", "projekt", "Opland til BRT-korridorer", "navn")

    def _src_parker_og_rejs_opland(self):
        pr = self.get("parker_og_rejs")
        by = "station" if "station" in pr.columns else "navn"
        return self._catchment("parker_og_rejs_opland", "parker_og_rejs", by, "Opland til parkér-og-rejs-anlæg", by,
                               distances=PR_CATCHMENT_DISTANCES)

    def _coverage(self, name: str, layer: str, threshold_m: int, title: str):
        from kkr_geo.geo.coverage import coverage_gaps
        facilities = self.get(layer)
        result = coverage_gaps(facilities, self._grid(), threshold_m, areas=self._areas(), **self._distance())
        table = result.table.copy()
        table.insert(0, "analyse", name)
        self.tables[name] = table
        self.table_meta[name] = dict(getattr(result, "meta", {}) or {})
        gaps = result.gaps.copy()
        gaps.attrs.update(title=title,
                          source="; ".join(x for x in (facilities.attrs.get("source"), self._grid().source) if x),
                          precision=self._grid().precision, status="ok", notes=[],
                          map_notes=["Afstand: {}.".format(self._method_note(self.table_meta[name]))])
        return gaps

    def _src_klinik_daekningshuller(self):
        return self._coverage("klinik_daekningshuller", "klinikker", CLINIC_GAP_THRESHOLD_M,
                              f"Mere end {CLINIC_GAP_THRESHOLD_M // 1000} km til nærmeste klinik")

    def _src_station_daekningshuller(self):
        return self._coverage("station_daekningshuller", "stationer", STATION_GAP_THRESHOLD_M,
                              f"Mere end {STATION_GAP_THRESHOLD_M} m til nærmeste station")

    def _src_patientstroemme(self):
        from kkr_geo.maps.flows import flow_lines, read_flow_table
        for rel in FLOW_FILES:
            path = self.data_dir.file(rel)
            if path.exists():
                table = read_flow_table(path)
                return flow_lines(table, self.get("kommuner"), source=str(rel))
        raise SourceUnavailable("patientstroemme: no flow table in the data directory "
                                f"(looked for {', '.join(FLOW_FILES)}).",
                                hint="add flows/patientstroemme.csv with columns bopaelskommune;klinikkommune;antal.")
