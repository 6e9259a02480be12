"""Derived datasets: made from layers by a join or an analysis, declared here once for the registry.

Each maker is ``make(name, sources)``; ``sources`` is the build's lazy cache
(:class:`kkr_geo.maps.sources.Sources`, or anything with ``get(name)``, ``data_dir``, ``grid()``,
``areas()`` and ``log(msg)``). A maker returns a GeoDataFrame or an
:class:`~kkr_geo.layers.analyses.AnalysisResult` (whose tables the build collects for its summary),
and raises :class:`~kkr_geo.geo.errors.DataError` when the data directory lacks what it needs.
"""

from __future__ import annotations

from kkr_geo.geo.errors import DataError
from kkr_geo.geo.provenance import Provenance, carry_provenance, provenance_of, with_provenance
from kkr_geo.layers import analyses
from kkr_geo.layers.registry import LayerInfo, register_derived

CATCHMENT_DISTANCES = (400, 800)          # walking distance to a BRT stop
PR_CATCHMENT_DISTANCES = (2000, 5000)     # park-and-ride: reached by bike or a short drive
CLINIC_GAP_THRESHOLD_M = 2000
# The Finger Plan's station proximity: within 600 m walking distance of a station ("stationsnære områder").
STATION_GAP_THRESHOLD_M = 600
FLOW_FILES = ("flows/patientstroemme.csv", "flows/patientstroemme.xlsx", "patientstroemme.csv")
_CATCHMENT_SCHEMA = {"feature": "corridor or station id", "navn": "name", "band": "distance band",
                     "population": "inhabitants (approximate)", "area_km2": "area in km²"}


@register_derived(LayerInfo(
    "kommuner_nabo", "Nabokommuner (Region Sjælland)", "polygon",
    "Neighbouring Region Sjælland municipalities, grey context on maps.", needs=("kommuner", "dagi_kommuner"),
    gpkg=False))
def kommuner_nabo(name, sources):
    from kkr_geo.layers.registry import load_layer
    region = set(sources.get("kommuner")["kommunekode"])
    gdf = load_layer("kommuner", sources.data_dir, include_neighbours=True)
    out = gdf[~gdf["kommunekode"].isin(region)].copy()
    return carry_provenance(out, gdf, title="Nabokommuner (Region Sjælland)", layer=name)


@register_derived(LayerInfo(
    "planlaegningsomraader", "Planlægningsområder", "polygon",
    "Planning areas with population and borgere pr. kapacitet of speciale 51 and 62 (practice plan Tabel 3 and 4).",
    needs=("planomraader", "tabel3_sp51", "tabel4_sp62")))
def planlaegningsomraader(name, sources):
    from kkr_geo.layers.region_population import planlaegningsomraade_population
    gdf = planlaegningsomraade_population(sources.data_dir, speciale=51)
    prov = provenance_of(gdf)
    try:
        sp62 = planlaegningsomraade_population(sources.data_dir, speciale=62)
    except DataError as exc:
        sources.log(f"speciale 62 not available: {exc.message}")
    else:
        cols = [c for c in sp62.columns if c.endswith("_sp62")]
        gdf = gdf.join(sp62.set_index("navn")[cols], on="navn")
    source = prov.source if "Danmarks Statistik" in prov.source else prov.source + "; Danmarks Statistik"
    return with_provenance(gdf, prov.replace(title="Planlægningsområder", layer=name, source=source))


@register_derived(LayerInfo(
    "planomraader_kapacitet", "Planområder", "polygon",
    "The five planområder with the practice plan's planområde rows of Tabel 3 and 4.",
    needs=("planomraader_samlet", "tabel3_sp51", "tabel4_sp62"), gpkg=False))
def planomraader_kapacitet(name, sources):
    from kkr_geo.layers import catalog
    from kkr_geo.layers.indicators import read_table
    base = sources.get("planomraader_samlet")
    gdf = base.copy()
    left: list = []
    for key, sp in (("tabel3_sp51", 51), ("tabel4_sp62", 62)):
        try:
            table = read_table(catalog.require(sources.data_dir, key, layer=name))
        except DataError as exc:
            sources.log(f"speciale {sp} not available: {exc.message}")
            continue
        left += table.attrs["report"].left_out
        rows = table[table["niveau"] == "planområde"]
        cols = [c for c in rows.columns if c.endswith(f"_sp{sp}")]
        gdf = gdf.merge(rows[["område", *cols]].rename(columns={"område": "planomraade"}), on="planomraade", how="left")
    out = carry_provenance(gdf, base, title="Planområder", layer=name)
    from kkr_geo.layers import _left_out
    _left_out.add(out, left)
    return out


@register_derived(LayerInfo(
    "banelinjer", "Banelinjer (S-tog, Metro, regionaltog)", "line",
    "Rail lines for map context (S-tog, Metro, Kystbanen, Lokaltog) from OpenStreetMap.", needs=("banelinjer",),
    gpkg=False, provenance=Provenance(source="OpenStreetMap-bidragydere (ODbL)", licence="ODbL", precision="OSM-afledt")))
def banelinjer(name, sources):
    from kkr_geo.geo.io import read_vector
    from kkr_geo.layers import catalog
    from kkr_geo.layers.registry import entry
    gdf = read_vector(catalog.require(sources.data_dir, "banelinjer", layer=name))
    info = entry(name)
    return with_provenance(gdf, info.provenance.replace(title=info.title, layer=name))


#: Optional data that the catchments and coverage use when present: the dasymetric weights, the road network,
#: the walking paths merged with it, and the detour factors per kommune of the straight-line fallback.
_SURFACE = ("worldpop_punkter", "vejmidter", "vejlaengde_grid", "gangveje", "omvejsfaktorer")


def _catchment(name, sources, layer, by, label_column, distances, features=None):
    from kkr_geo.layers.registry import entry
    features = sources.get(layer) if features is None else features
    return analyses.catchment(features, sources.grid(), distances, by=by, mode="rings", areas=sources.areas(),
                              name=name, title=entry(name).title, label_column=label_column,
                              region=analyses.region_outline(sources.get("kommuner")), **sources.distance())


@register_derived(LayerInfo(
    "brt_opland", "Opland til BRT-korridorer", "polygon",
    f"Catchment rings ({'/'.join(map(str, CATCHMENT_DISTANCES))} m) around the BRT corridors with population.",
    _CATCHMENT_SCHEMA, needs=("brt", "kommuner", "planomraader_samlet", "tabel3_sp51", *_SURFACE), summary="catchment"))
def brt_opland(name, sources):
    return _catchment(name, sources, "brt", "projekt", "navn", CATCHMENT_DISTANCES)


@register_derived(LayerInfo(
    "parker_og_rejs_opland", "Opland til parkér-og-rejs-anlæg", "polygon",
    f"Catchment rings ({'/'.join(str(d // 1000) for d in PR_CATCHMENT_DISTANCES)} km) around the park-and-ride "
    "stations (cycling and short drives) with population.",
    _CATCHMENT_SCHEMA, needs=("parker_og_rejs", "kommuner", "planomraader_samlet", "tabel3_sp51", *_SURFACE), summary="catchment"))
def parker_og_rejs_opland(name, sources):
    pr = sources.get("parker_og_rejs")
    by = "station" if "station" in pr.columns else "navn"
    return _catchment(name, sources, "parker_og_rejs", by, by, PR_CATCHMENT_DISTANCES)


def _coverage(name, sources, layer, threshold_m, what):
    from kkr_geo.layers.registry import entry
    areas = {**sources.areas(), "planlægningsområde": sources.get("planlaegningsomraader")}
    return analyses.coverage(sources.get(layer), sources.grid(), threshold_m, areas=areas, name=name,
                             title=entry(name).title, what=what, **sources.distance())


@register_derived(LayerInfo(
    "klinik_daekningshuller", f"Mere end {CLINIC_GAP_THRESHOLD_M // 1000} km til nærmeste klinik", "polygon",
    f"Areas farther than {CLINIC_GAP_THRESHOLD_M} m from any clinic, with the population there.",
    needs=("klinikker", "kommuner", "planomraader_samlet", "tabel3_sp51", *_SURFACE), summary="coverage",
    summary_heading="Dækning: befolkning langt fra nærmeste klinik", summary_file="klinikker"))
def klinik_daekningshuller(name, sources):
    return _coverage(name, sources, "klinikker", CLINIC_GAP_THRESHOLD_M, "klinik")


@register_derived(LayerInfo(
    "station_daekningshuller", f"Mere end {STATION_GAP_THRESHOLD_M} m til nærmeste station", "polygon",
    f"Areas farther than {STATION_GAP_THRESHOLD_M} m from any rail station (the Finger Plan's stationsnærhed).",
    needs=("stationer", "kommuner", "planomraader_samlet", "tabel3_sp51", *_SURFACE), summary="coverage",
    summary_heading="Stationsnærhed: befolkning langt fra nærmeste station", summary_file="stationer"))
def station_daekningshuller(name, sources):
    return _coverage(name, sources, "stationer", STATION_GAP_THRESHOLD_M, "station")


@register_derived(LayerInfo(
    "station_andel_pr_omraade", f"Andel af borgerne mere end {STATION_GAP_THRESHOLD_M} m fra nærmeste station", "polygon",
    f"Share of each planning area's inhabitants farther than {STATION_GAP_THRESHOLD_M} m (the coverage analysis' "
    "distance: road network or straight line × detour factor) from the nearest rail station: the station-proximity "
    "map of people, not land; the same figures as the summary's station table.",
    {"navn": "planning area", "befolkning": "inhabitants (approximate)", "befolkning_uden_for": "inhabitants beyond",
     "andel_uden_for_pct": "share beyond, %", "gns_afstand_m": "mean distance (empty where the area has no station)",
     "antal_i_omraadet": "stations in the area", "bemaerkning": "remark",
     "vejnet_luftlinje_median": "network ÷ straight-line distance, median over the area's cells (network distance only)",
     "etiket": "map label"},
    needs=("stationer", "kommuner", "planomraader", "tabel3_sp51")))
def station_andel_pr_omraade(name, sources):
    from kkr_geo.layers.coverage_share import region_total_note, share_layer
    res = sources.result("station_daekningshuller")
    table = res.tables["main"]
    out = share_layer(sources.get("planlaegningsomraader"), table, "planlægningsområde", what="station")
    prov = res.provenance
    return with_provenance(out, prov.replace(
        title=entry_title(name), layer=name, status="ok", notes=(),
        description=f"Share of inhabitants beyond {STATION_GAP_THRESHOLD_M} m from the nearest station per planning area",
        map_notes=(region_total_note(table, f"bor mere end {STATION_GAP_THRESHOLD_M} m fra en station"), *prov.map_notes)))


@register_derived(LayerInfo(
    "station_naerzoner", f"Bor højst {STATION_GAP_THRESHOLD_M} m fra en station", "polygon",
    f"Populated cells within {STATION_GAP_THRESHOLD_M} m of a rail station by the coverage analysis' own distance "
    "(road network or straight line × detour factor): context for the station-proximity map.",
    needs=("stationer", "kommuner"), gpkg=False))
def station_naerzoner(name, sources):
    from kkr_geo.layers.coverage_share import served_cells
    res = sources.result("station_daekningshuller")
    grid = sources.grid()
    out = served_cells(res.raw, grid, STATION_GAP_THRESHOLD_M)
    # the geometry is grid cells (the maps draw them as closed areas, kkr_geo.maps.catchment_areas)
    notes = (f"cell_size_m: {float(grid.cell_size)}", "area_method: area of the cells reached")
    return with_provenance(out, provenance_of(sources.get("stationer")).replace(
        title=entry_title(name), layer=name, precision="", notes=notes, gaps=()))


def entry_title(name: str) -> str:
    from kkr_geo.layers.registry import entry
    return entry(name).title


@register_derived(LayerInfo(
    "patientstroemme", "Patientstrømme", "line",
    "Patient flows bopælskommune -> klinikkommune as curved lines (needs flows/patientstroemme.csv).",
    needs=("kommuner",)))
def patientstroemme(name, sources):
    from kkr_geo.layers.flows import flow_lines, read_flow_table
    for rel in FLOW_FILES:
        path = sources.data_dir.file(rel)
        if path.exists():
            return flow_lines(read_flow_table(path), sources.get("kommuner"), source=str(rel))
    raise DataError(f"no flow table in the data directory (looked for {', '.join(FLOW_FILES)}).",
                    hint="add flows/patientstroemme.csv with columns bopaelskommune;klinikkommune;antal.")


CYCLE_CATCHMENT_DISTANCES = (1000, 2000)   # cycle superhighways: a short ride to the route


@register_derived(LayerInfo(
    "supercykelstier_opland", "Opland til supercykelstierne", "polygon",
    f"Rings within {'/'.join(str(d // 1000) for d in CYCLE_CATCHMENT_DISTANCES)} km of the existing cycle superhighway "
    "network, with population (total and per kommune in the summary).",
    _CATCHMENT_SCHEMA, needs=("supercykelstier", "kommuner", "planomraader_samlet", "tabel3_sp51"), summary="catchment"))
def supercykelstier_opland(name, sources):
    lines = sources.get("supercykelstier")
    if "net" not in lines.columns:  # a user's route file: one catchment for the whole network
        lines = carry_provenance(lines.assign(net="Supercykelstier"), lines)
    # the (possibly amended) lines themselves: sources.get() would hand back the file's layer without "net"
    return _catchment(name, sources, "supercykelstier", "net", "net", CYCLE_CATCHMENT_DISTANCES, features=lines)


@register_derived(LayerInfo(
    "supercykelstier_kommuner", "Borgere nær en supercykelsti pr. kommune", "polygon",
    "Kommuner with the inhabitants living within 1 and 2 km of an existing cycle superhighway and their share of the "
    "kommune's population (same method as supercykelstier_opland).",
    {"navn": "kommune", "inden_1km": "inhabitants within 1 km", "inden_2km": "inhabitants within 2 km",
     "befolkning_i_alt": "inhabitants of the kommune (population surface)", "andel_1km_pct": "% within 1 km",
     "andel_2km_pct": "% within 2 km"},
    needs=("supercykelstier_opland", "kommuner")))
def supercykelstier_kommuner(name, sources):
    res = sources.result("supercykelstier_opland")
    kom = sources.get("kommuner")
    by = res.tables.get("pr_omraade")
    if by is None:
        raise DataError("supercykelstier_opland has no breakdown by kommune.")
    by = by[by["area_type"] == "kommune"]
    band_dist = dict(zip(res.table["band"], res.table["distance_m"].astype(float)))
    by = by.assign(distance_m=by["band"].map(band_dist))
    totals = _grid_totals(sources.grid(), kom)
    out = kom[["kommunekode", "navn", "geometry"]].copy()
    for d in CYCLE_CATCHMENT_DISTANCES:
        rows = by[by["distance_m"] <= d].groupby("area_name")["population"].sum()
        out[f"inden_{d // 1000}km"] = out["navn"].map(rows).fillna(0.0).round(0)
    out["befolkning_i_alt"] = out["navn"].map(totals).round(0)
    for d in CYCLE_CATCHMENT_DISTANCES:
        out[f"andel_{d // 1000}km_pct"] = (100 * out[f"inden_{d // 1000}km"] / out["befolkning_i_alt"]).round(1)
    outside = by[~by["area_name"].isin(set(out["navn"]))]
    notes = [f"{outside['population'].sum():,.0f} inhabitants of the catchment lie outside every kommune polygon; "
             "counted in the totals, not in any kommune"] if len(outside) and outside["population"].sum() > 0.5 else []
    prov = provenance_of(res.geometry)
    return with_provenance(out, prov.replace(title=entry_title(name), layer=name).with_notes(*notes))


def _grid_totals(grid, areas):
    """Population of the surface per area name, by area share (the rule of the catchment's per-area table)."""
    import pandas as pd
    from kkr_geo.geo.area_weights import area_weights
    w = area_weights(grid, areas, "navn", area_type="kommune")
    sums = w.sums(grid.cell_centres().population)
    return pd.Series(list(sums[: len(w.names)]), index=list(w.names))
