"""Layer ``supercykelstier``: cycle superhighways.

Route lines are used when the data directory has ``supercykelstier/ruter.gpkg`` (or .geojson).
Otherwise the layer has no features, ``status = "no_geometry"``, and carries the network-level
figures of the mobility analysis and the route table as metadata: no line is invented.
"""

from __future__ import annotations

import geopandas as gpd

from kkr_geo.geo.crs import ANALYSIS_CRS
from kkr_geo.geo.io import read_vector
from kkr_geo.layers import catalog
from kkr_geo.layers._common import finish
from kkr_geo.layers.datadir import DataDir
from kkr_geo.layers.registry import LayerInfo, register_layer

INFO = {"supercykelstier": LayerInfo(
    "supercykelstier", "Supercykelstier", "line",
    "Cycle superhighway routes (lines when a route file is supplied; otherwise network figures only).",
    {"route_name": "route name", "status": "opened / planned", "laengde_km": "length, km"},
    ("supercykelstier_geometri", "supercykelstier_ruter"))}

# Network-level figures of the mobility analysis (seed 000, project card 'Udbygning af supercykelstinettet').
NETWORK = {"ruter_planlagt": 60, "km_planlagt": 850, "ruter_etableret": 16, "cykeltrafik_stigning_pct": 87,
           "anlaeg_mio_kr": 2500, "co2_anlaeg_t": "70.000-100.000", "intern_forrentning_pct": 23,
           "kilde": "KKR Hovedstaden, mobilitetsanalyse; Supercykelstisekretariatets publikationer"}
SOURCE = "Supercykelstisekretariatet; KKR Hovedstaden, mobilitetsanalyse"


@register_layer(*INFO.values())
def load(name: str, dd: DataDir, **options) -> gpd.GeoDataFrame:
    notes = []
    geom_path = None
    for candidate in ("supercykelstier/ruter.gpkg", "supercykelstier/ruter.geojson"):
        if (dd.path / candidate).exists():
            geom_path = dd.path / candidate
            break
    table = None
    tpath = dd.path / catalog.DATASETS["supercykelstier_ruter"].path
    if tpath.exists():
        from kkr_geo.layers.indicators import read_table
        table = read_table(tpath)
    if geom_path is not None:
        gdf = read_vector(geom_path)
        gdf["laengde_km"] = (gdf.geometry.length / 1000).round(2)
        out = finish(gdf, name=name, family="line", source=SOURCE, licence="as published", precision="real",
                     id_column="route_name" if "route_name" in gdf else None, notes=notes)
    else:
        empty = gpd.GeoDataFrame({"route_name": [], "status": [], "laengde_km": []}, geometry=[], crs=ANALYSIS_CRS)
        notes.append("no route geometry in the data directory (supercykelstier/ruter.gpkg): the layer has no lines; "
                     f"network figures: {NETWORK['ruter_planlagt']} routes, ~{NETWORK['km_planlagt']} km planned, "
                     f"{NETWORK['ruter_etableret']} built, +{NETWORK['cykeltrafik_stigning_pct']} % cycling on built routes")
        out = finish(empty, name=name, family="line", source=SOURCE, licence="public information",
                     precision="none (no geometry)", notes=notes, status="no_geometry")
    out.attrs["network"] = dict(NETWORK)
    if table is not None:
        out.attrs["routes_table"] = table.drop(columns=[c for c in ("source",) if c in table]).to_dict(orient="records")
    return out
