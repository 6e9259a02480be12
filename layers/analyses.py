"""The analysis service: catchments and coverage gaps as result objects, for the CLI and the build alike.

Each function takes features, a population grid and options, and returns an :class:`AnalysisResult`
(map-ready geometry with its provenance, named tables and metadata). Nothing is stored, printed or
written: ``kkr-geo catchment|coverage`` writes the result to files, the annex build draws the
geometry and collects the tables into its summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kkr_geo.geo.provenance import Provenance, provenance_of, with_provenance

OUTSIDE = "uden for Region Hovedstaden: befolkning ikke opgjort"
PARTLY = "delvis uden for Region Hovedstaden: kun regionens del opgjort"
# One short line of method on every map that shows population figures (maps print them rounded with
# kkr_geo.maps.danish_numbers.fmt_population_approx; the CSV tables keep the computed figures).
POPULATION_METHOD_NOTE = ("Befolkningstal på kortet er afrundet til nærmeste 100 (ca.), fordi befolkningen kun kendes pr. "
                          "planlægningsområde; de beregnede tal står i CSV-filerne.")


@dataclass
class AnalysisResult:
    """What an analysis returns: ``geometry`` to map or export, ``tables`` by role, ``meta`` for the method
    note. ``tables["main"]`` is the headline table; ``tables["pr_omraade"]`` the breakdown by area (if any).
    ``raw`` is the analysis core's own result (e.g. the distance array of a coverage run)."""

    name: str
    geometry: gpd.GeoDataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    raw: Any = None

    @property
    def provenance(self) -> Provenance:
        return provenance_of(self.geometry)

    @property
    def table(self) -> pd.DataFrame:
        return self.tables["main"]


def _detour_note(meta: dict) -> str:
    return str(meta.get("detour_factor", "")).replace(".", ",")


def method_note(meta: dict, grid) -> str:
    """How distance and population were measured, in Danish, for the map's note."""
    if meta.get("network"):
        dist = "gang-/cykelafstand ad vejnettet (vejmidter{})".format(
            " og stier" if meta.get("network_paths") else "; uden stier, så afstande er øvre skøn")
    elif meta.get("detour_factors"):
        dist = "luftlinje × omvejsfaktor pr. kommune (median {}; målt på vejnettet)".format(
            f"{float(meta['detour_factor']):.2f}".replace(".", ","))
    else:
        dist = "luftlinje × omvejsfaktor {} (intet vejnet)".format(_detour_note(meta))
    prov = getattr(grid, "provenance", None)
    if prov is not None and "weight_label" in prov.columns and not prov["weight"].eq("uniform").all():
        used = ", ".join(f"{lab} ({n} omr.)" for lab, n in prov["weight_label"].value_counts().items())
        pop = f"befolkning pr. planlægningsområde fordelt efter {used} (tilnærmet)"
    else:
        pop = "befolkning fordelt jævnt inden for planlægningsområderne (tilnærmet)"
    return f"{dist}; {pop}"


def catchment(features: gpd.GeoDataFrame, grid, distances, *, by: str | None = None, mode: str = "rings",
              areas: dict | None = None, name: str | None = None, title: str = "", label_column: str | None = None,
              region=None, **distance_options) -> AnalysisResult:
    """Population and area within ``distances`` of ``features`` (:func:`kkr_geo.geo.catchment.corridor_catchment`).

    With ``label_column`` the tables and polygons get a readable ``navn``; with ``region`` (a polygon)
    catchments wholly outside it get no population (NaN) and a ``bemaerkning``; with ``name`` the tables
    get an ``analyse`` column."""
    from kkr_geo.geo.catchment import corridor_catchment
    res = corridor_catchment(features, grid, distances, by=by, mode=mode, areas=areas, **distance_options)
    polys, table = res.polygons.copy(), res.table.copy()
    by_area = res.by_area.copy() if getattr(res, "by_area", None) is not None else None
    if label_column and by and label_column in features.columns:
        names = dict(zip(features[by].astype(str), features[label_column].astype(str)))
        polys["navn"] = [names.get(str(f), str(f)) for f in polys["feature"]]
        table.insert(1, "navn", [names.get(str(f), str(f)) for f in table["feature"]])
        if by_area is not None:  # readable names in the breakdown too (not only codes such as "150s")
            by_area.insert(1, "navn", [names.get(str(f), str(f)) for f in by_area["feature"]])
    if region is not None:
        # Decided per ring (feature × band), the same for the map, both tables and the GeoPackage: a ring
        # wholly outside the region is "ikke opgjort" (and has no rows by area), a ring partly outside
        # counts the region's part only.
        status = {(str(f), str(b)): ("nej" if not g.intersects(region) else "ja" if region.contains(g) else "delvis")
                  for f, b, g in zip(polys["feature"], polys["band"], polys.geometry)}

        def status_of(df):
            return pd.Series([status.get((str(f), str(b)), "ja") for f, b in zip(df["feature"], df["band"])],
                             index=df.index, dtype=object)
        polys["opgjort"] = status_of(polys)
        polys.loc[polys["opgjort"] == "nej", "population"] = np.nan
        st = status_of(table)
        table.loc[st == "nej", "population"] = np.nan
        table["bemaerkning"] = st.map({"nej": OUTSIDE, "delvis": PARTLY}).fillna("")
        if by_area is not None:
            by_area = by_area[status_of(by_area) != "nej"].reset_index(drop=True)
    if name:
        table.insert(0, "analyse", name)
        if by_area is not None:
            by_area.insert(0, "analyse", name)
    meta = dict(getattr(res, "meta", {}) or {})
    fprov = provenance_of(features)
    prov = Provenance(
        title=title, layer=name or "",
        source="; ".join(x for x in (fprov.source, grid.source) if x),
        precision="schematic" if fprov.schematic else fprov.precision,
        notes=(*fprov.notes, *(f"{k}: {v}" for k, v in meta.items())),
        gaps=fprov.gaps,
        map_notes=(("Oplande: {}; kun opgjort i Region Hovedstaden. {}".format(method_note(meta, grid), POPULATION_METHOD_NOTE),)
                   if "distance_method" in meta else (POPULATION_METHOD_NOTE,)) + tuple(meta.get("notes") or ()),
    )
    tables = {"main": table}
    if by_area is not None:
        tables["pr_omraade"] = by_area
    return AnalysisResult(name or "catchment", with_provenance(polys, prov), tables, meta, res)


def coverage(facilities: gpd.GeoDataFrame, grid, threshold_m: float, *, areas: dict | None = None,
             name: str | None = None, title: str = "", what: str = "facilitet", **distance_options) -> AnalysisResult:
    """Where people live farther than ``threshold_m`` from any facility (:func:`kkr_geo.geo.coverage.coverage_gaps`).

    The table gets ``antal_i_omraadet`` (facilities in each area) and ``bemaerkning``; an area without
    any ``what`` ("station", "klinik") has no mean distance and says so."""
    from kkr_geo.geo.coverage import coverage_gaps
    from kkr_geo.layers.coverage_share import mark_areas_without_facility
    res = coverage_gaps(facilities, grid, threshold_m, areas=areas, **distance_options)
    table = res.table.copy()
    if isinstance(areas, dict) and areas:
        table = mark_areas_without_facility(table, areas, facilities, what=what)
    if name:
        table.insert(0, "analyse", name)
    meta = dict(getattr(res, "meta", {}) or {})
    prov = Provenance(
        title=title, layer=name or "",
        source="; ".join(x for x in (provenance_of(facilities).source, grid.source) if x),
        precision=grid.precision,
        gaps=provenance_of(facilities).gaps,
        map_notes=(("Afstand: {}. {}".format(method_note(meta, grid), POPULATION_METHOD_NOTE),)
                   if "distance_method" in meta else (POPULATION_METHOD_NOTE,)) + tuple(meta.get("notes") or ()),
    )
    return AnalysisResult(name or "coverage", with_provenance(res.gaps.copy(), prov), {"main": table}, meta, res)


def region_outline(kommuner: gpd.GeoDataFrame):
    """The region as one polygon (for :func:`catchment`'s ``region``)."""
    return shapely.union_all(kommuner.geometry.values)
