"""The analysis service: catchments, coverage gaps and 2SFCA access as result objects, for the CLI and the build alike.

Each function takes features, a population grid and options, and returns an :class:`AnalysisResult`
(map-ready geometry with its provenance, named tables and metadata). Nothing is stored, printed or
written: ``kkr-geo catchment|coverage|access`` writes the result to files, the annex build draws the
geometry and collects the tables into its summary. :func:`access_by_planning_area` is the one that
reads its population itself: the practice plan's figure per planning area, from the data directory.
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
    ``raw`` is the analysis core's own result (e.g. the distance array of a coverage run). ``layers`` holds
    every map-ready layer by name where an analysis has more than one (``geometry`` is one of them), as
    they go into a GeoPackage; empty otherwise."""

    name: str
    geometry: gpd.GeoDataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    raw: Any = None
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)

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
    elif prov is not None:
        pop = "befolkning fordelt jævnt inden for planlægningsområderne (tilnærmet)"
    else:  # a surface of the user's own (a raster): say which, claim nothing about how it was made
        pop = f"befolkning: {grid.source}"
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


#: The decay of :func:`access` as the map note names it.
_DECAY_NOTE = {"step": "2SFCA", "gaussian": "2SFCA med gaussisk afstandsvægt (Dai 2010)",
               "zones": "E2SFCA med afstandszoner (Luo & Qi 2009)", "e2sfca": "E2SFCA med afstandszoner (Luo & Qi 2009)"}
#: Facility columns :func:`access` adds to the facility layer (from the core's facility table).
FACILITY_COLUMNS = ("capacity", "demand_population", "ratio_per_10000", "borgere_pr_kapacitet")


def _danish(value: float) -> str:
    """A number as a Danish map note writes it: 2.000, 2,5."""
    value = float(value)
    return f"{int(value):,}".replace(",", ".") if value.is_integer() else f"{value:g}".replace(".", ",")


def access(facilities: gpd.GeoDataFrame, grid, catchment_m: float, *, capacity_column: str | None = None,
           decay: str = "step", areas: dict | gpd.GeoDataFrame | None = None, area_name_column: str = "navn",
           name: str | None = None, title: str = "", **distance_options) -> AnalysisResult:
    """Capacity per 10,000 inhabitants and borgere pr. kapacitet by 2SFCA (:func:`kkr_geo.geo.access.two_step_fca`).

    ``capacity_column`` defaults to ``kapacitet_sp51`` (the clinic layer's). The result:

    * ``tables["main"]``: per area (area_type, area_name, population, accessible_capacity,
      capacity_per_10000, borgere_pr_kapacitet; first row the total), with ``analyse`` first given ``name``;
    * ``tables["facilities"]``: per facility (its attributes plus capacity, demand_population,
      ratio_per_10000, borgere_pr_kapacitet);
    * ``layers``: one polygon layer per area type (every area, joined with its row) and ``"facilities"``
      (the facilities with the four figures); ``geometry`` is the facility layer;
    * ``raw``: the core's :class:`~kkr_geo.geo.access.AccessResult`; ``raw.cells`` is the grid of
      capacity per 10,000 inhabitants (NaN = unpopulated).
    """
    from kkr_geo.geo.access import two_step_fca
    from kkr_geo.geo.coverage import normalise_areas
    capacity_column = capacity_column or "kapacitet_sp51"
    areas = normalise_areas(areas)
    res = two_step_fca(facilities, capacity_column, grid, catchment_m, decay=decay, areas=areas,
                       area_name_column=area_name_column, **distance_options)
    meta = dict(res.meta)
    by_area, ftab = res.by_area.copy(), res.facilities.copy()
    if name:
        by_area.insert(0, "analyse", name)
        ftab.insert(0, "analyse", name)
    fprov = provenance_of(facilities)
    notes = [f"Adgang efter {_DECAY_NOTE.get(str(meta.get('decay')), str(meta.get('method')))}: kapacitet pr. 10.000 "
             f"indbyggere inden for {_danish(meta['catchment_m'])} m; {method_note(meta, grid)}."]
    if meta.get("capacity_without_demand"):
        notes.append(f"{_danish(meta['capacity_without_demand'])} kapacitetsenheder har ingen beboet celle inden for "
                     f"{_danish(meta['catchment_m'])} m og tæller ikke med.")
    prov = Provenance(
        title=title, layer=name or "",
        source="; ".join(x for x in (fprov.source, grid.source) if x),
        precision=grid.precision, gaps=fprov.gaps,
        notes=tuple(f"{k}: {v}" for k, v in meta.items()), map_notes=tuple(notes),
    )
    layers: dict[str, gpd.GeoDataFrame] = {}
    for area_type, agdf in areas.items():
        rows = res.by_area[res.by_area["area_type"] == area_type]
        geom = agdf.geometry.name
        layers[area_type] = with_provenance(gpd.GeoDataFrame(
            agdf[[area_name_column, geom]].astype({area_name_column: str}).merge(
                rows, left_on=area_name_column, right_on="area_name", how="left"),
            geometry=geom, crs=agdf.crs), prov)
    fac = facilities.copy()
    if len(fac) == len(res.facilities):  # else facilities without geometry were dropped: no row to match
        for col in FACILITY_COLUMNS:
            fac[col] = res.facilities[col].to_numpy()
    layers["facilities"] = with_provenance(fac, prov)
    return AnalysisResult(name or "access", layers["facilities"], {"main": by_area, "facilities": ftab}, meta, res,
                          layers)


def _speciale_of(column: str | None) -> int | None:
    """51 or 62 from a capacity column named like ``kapacitet_sp62``; None otherwise."""
    import re
    m = re.search(r"_sp(51|62)$", column or "")
    return int(m.group(1)) if m else None


def access_by_planning_area(data_dir=None, *, speciale: int | None = None, capacity_column: str | None = None,
                            facilities: gpd.GeoDataFrame | None = None, name: str | None = None,
                            title: str = "") -> AnalysisResult:
    """2SFCA with each planlægningsområde as the catchment
    (:func:`kkr_geo.layers.region_population.planning_area_access`): borgere pr. kapacitet = the area's
    population (the practice plan's Tabel 3, or Tabel 4 for speciale 62) ÷ the capacity in it: the table's
    own (which gives back the published figure), or that of the ``facilities`` lying in the area.

    ``speciale`` defaults to the one ``capacity_column`` names (``kapacitet_sp62``), else 51. The result:
    ``tables["main"]`` per area (with the published figure as ``tabel3_…``/``tabel4_…`` when the capacity is
    the table's), ``geometry`` (also ``layers["omraader"]``) the planning areas joined with their row,
    ``raw`` the core's :class:`~kkr_geo.geo.access.AccessResult` (``raw.facilities``, ``raw.areas``).
    """
    from kkr_geo.layers.region_population import TABLES, planning_area_access
    speciale = speciale or _speciale_of(capacity_column) or 51
    res = planning_area_access(data_dir, speciale=speciale, capacity_column=capacity_column, facilities=facilities)
    meta = dict(res.meta)
    by_area, areas = res.by_area.copy(), res.areas
    geo_layer = gpd.GeoDataFrame(by_area.merge(areas[["navn", "geometry"]].rename(columns={"navn": "area_name"}),
                                               on="area_name"), geometry="geometry", crs=areas.crs)
    if name:
        by_area.insert(0, "analyse", name)
    table = TABLES.get(int(meta.get("speciale", speciale)), "Tabel 3")
    if facilities is None:
        note = f"Borgere pr. kapacitet = befolkning ÷ kapacitet i planlægningsområdet (praksisplanens {table})."
    else:
        note = (f"Borgere pr. kapacitet = befolkning (praksisplanens {table}) ÷ kapaciteten af de steder, "
                "der ligger i planlægningsområdet.")
        if meta.get("capacity_outside_areas"):
            note += (f" {_danish(meta['capacity_outside_areas'])} kapacitetsenheder ligger uden for "
                     "planlægningsområderne og tæller ikke med.")
    aprov, fprov = provenance_of(areas), (provenance_of(facilities) if facilities is not None else None)
    prov = Provenance(
        title=title, layer=name or "",
        source="; ".join(dict.fromkeys(x for x in (aprov.source, str(meta.get("population_source") or ""),
                                                    fprov.source if fprov else "") if x)),
        precision=str(meta.get("population_precision") or ""),
        gaps=(*aprov.gaps, *(fprov.gaps if fprov else ())),
        notes=tuple(f"{k}: {v}" for k, v in meta.items()), map_notes=(note,),
    )
    geo_layer = with_provenance(geo_layer, prov)
    return AnalysisResult(name or "access", geo_layer, {"main": by_area}, meta, res, {"omraader": geo_layer})


def region_outline(kommuner: gpd.GeoDataFrame):
    """The region as one polygon (for :func:`catchment`'s ``region``)."""
    return shapely.union_all(kommuner.geometry.values)
