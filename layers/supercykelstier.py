"""Layer ``supercykelstier``: the cycle superhighways.

Geometry, in order of precedence:

1. ``supercykelstier/ruter.gpkg`` (or ``.geojson``): the user's own route lines (``route_name``, ``status``).
2. ``supercykelstier/eksisterende_kk_cykeldata.geojson``: the existing network from Københavns Kommune's
   "Cykeldata" (56 lines, CC BY 4.0). The copy has **no route names**, so the lines are shown as one network.
   A line is given a route name from ``supercykelstier/ruter.csv`` only if *both* of its ends lie within
   :data:`MATCH_RADIUS_M` of the two named ends of that route (the route table's ``from``/``to`` looked up
   in the gazetteer); the match method is written into the layer's notes. With the development data no
   line qualifies (the lines are pieces of routes, and "København" is no point), so none is named.
3. Neither: no features, ``status = "no_geometry"``, with the network figures of the mobility analysis.
"""

from __future__ import annotations

import re

import geopandas as gpd
import pandas as pd
import shapely

from kkr_geo.geo.crs import ANALYSIS_CRS
from kkr_geo.geo.io import read_vector
from kkr_geo.layers import catalog
from kkr_geo.layers._common import Gazetteer, finish
from kkr_geo.layers.catalog import Dataset
from kkr_geo.layers.datadir import DataDir
from kkr_geo.layers.qgis_styles import QgisLook
from kkr_geo.layers.registry import LayerInfo, register_layer

KK_NETWORK = catalog.register_dataset(Dataset(
    "supercykelstier_kk", "supercykelstier/eksisterende_kk_cykeldata.geojson",
    "Existing cycle superhighway lines (kk_id, kategori, status, length_m; no route names)",
    "Københavns Kommune, Cykeldata (WFS k101:cykeldata_kk)", "CC BY 4.0 (attribution: Københavns Kommune)",
    "download the layer cykeldata_kk from Københavns Kommune's WFS (filter kategori = Supercykelsti) as GeoJSON",
    "real", required=False))

INFO = {"supercykelstier": LayerInfo(
    "supercykelstier", "Supercykelstier", "line",
    "Cycle superhighways: the user's route file if supplied, else Københavns Kommune's existing network (no route names).",
    {"rute": "route name (only when matched by both ends; else empty)", "kk_id": "line id in Københavns Kommune's data",
     "status": "Eksisterende / planned", "laengde_km": "length, km", "precision": "real"},
    ("supercykelstier_geometri", "supercykelstier_kk", "supercykelstier_ruter", "gazetteer"),
    # label: the user's route file's own column (source 1); Københavns Kommune's lines have none, so no label
    qgis_look=QgisLook("line", None, "0,158,115,255", 0.9, label="route_name"))}

# Network-level figures of the mobility analysis (seed 000, project card 'Udbygning af supercykelstinettet').
NETWORK = {"ruter_planlagt": 60, "km_planlagt": 850, "ruter_etableret": 16, "cykeltrafik_stigning_pct": 87,
           "anlaeg_mio_kr": 2500, "co2_anlaeg_t": "70.000-100.000", "intern_forrentning_pct": 23,
           "kilde": "KKR Hovedstaden, mobilitetsanalyse; Supercykelstisekretariatets publikationer"}
SOURCE = "Supercykelstisekretariatet; KKR Hovedstaden, mobilitetsanalyse"
KK_SOURCE = "Københavns Kommune, Cykeldata (CC BY 4.0)"
MATCH_RADIUS_M = 1000.0


@register_layer(*INFO.values())
def load(name: str, dd: DataDir, **options) -> gpd.GeoDataFrame:
    notes = []
    table = None
    tpath = dd.file(catalog.DATASETS["supercykelstier_ruter"].path)
    if tpath.exists():
        from kkr_geo.layers.indicators import read_table
        table = read_table(tpath)
    own = next((dd.file(c) for c in ("supercykelstier/ruter.gpkg", "supercykelstier/ruter.geojson")
                if dd.has(c)), None)
    kk = dd.file(KK_NETWORK.path)
    if own is not None:
        gdf = read_vector(own)
        gdf["laengde_km"] = (gdf.geometry.length / 1000).round(2)
        if "route_name" in gdf.columns and "rute" not in gdf.columns:
            gdf["rute"] = gdf["route_name"]
        gdf["precision"] = "real"
        out = finish(gdf, name=name, family="line", source=SOURCE, licence="as published", precision="real",
                     id_column="route_name" if "route_name" in gdf else None, notes=notes)
    elif kk.exists():
        gdf = read_vector(kk).to_crs(ANALYSIS_CRS)
        if "kategori" in gdf.columns:
            other = gdf[gdf["kategori"].astype(str) != "Supercykelsti"]
            if len(other):
                notes.append(f"{kk.name}: {len(other)} line(s) of another kategori left out: "
                             f"{', '.join(sorted(set(other['kategori'].astype(str))))}")
                gdf = gdf[gdf["kategori"].astype(str) == "Supercykelsti"]
        gdf["laengde_km"] = (gdf.geometry.length / 1000).round(3)
        gdf["rute"] = ""
        gdf["net"] = "Eksisterende supercykelstier"
        gdf["precision"] = "real"
        if table is not None:
            gdf, match_notes = match_routes(gdf, table, dd)
            notes += match_notes
        keep = [c for c in ("kk_id", "part", "rute", "kategori", "status", "laengde_km", "net", "precision", "geometry")
                if c in gdf.columns]
        notes.append(f"{len(gdf)} line(s), {gdf['laengde_km'].sum():.1f} km from {kk.name}; the copy has no route names")
        out = finish(gdf[keep], name=name, family="line", source=KK_SOURCE, licence="CC BY 4.0", precision="real",
                     id_column="kk_id" if "kk_id" in gdf else None, notes=notes)
    else:
        empty = gpd.GeoDataFrame({"rute": [], "status": [], "laengde_km": []}, geometry=[], crs=ANALYSIS_CRS)
        notes.append("no route geometry in the data directory (supercykelstier/ruter.gpkg or "
                     f"{KK_NETWORK.path}): the layer has no lines; network figures: {NETWORK['ruter_planlagt']} routes, "
                     f"~{NETWORK['km_planlagt']} km planned, {NETWORK['ruter_etableret']} built, "
                     f"+{NETWORK['cykeltrafik_stigning_pct']} % cycling on built routes")
        out = finish(empty, name=name, family="line", source=SOURCE, licence="public information",
                     precision="none (no geometry)", notes=notes, status="no_geometry")
    out.attrs["network"] = dict(NETWORK)
    if table is not None:
        out.attrs["routes_table"] = table.drop(columns=[c for c in ("source",) if c in table]).to_dict(orient="records")
    return out


def _place(gaz: Gazetteer | None, text) -> tuple[object, str]:
    """A route end ('Albertslund (Herstedvester)', 'Farum') as a gazetteer point, or (None, why not)."""
    if gaz is None or text is None or (isinstance(text, float) and pd.isna(text)):
        return None, "no gazetteer or no end given"
    name = re.sub(r"\s*\(.*?\)\s*", " ", str(text)).strip()
    if not name or name.lower() in ("københavn", "kobenhavn"):
        return None, f"end {text!r} is not a point"
    row = gaz.find(name)
    if row is None:
        return None, f"end {text!r} is not in the gazetteer"
    pt = gpd.GeoSeries(gpd.points_from_xy([row["lon"]], [row["lat"]]), crs=4326).to_crs(ANALYSIS_CRS).iloc[0]
    return pt, ""


def match_routes(lines: gpd.GeoDataFrame, table: pd.DataFrame, dd: DataDir,
                 radius_m: float = MATCH_RADIUS_M) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Name a line after a route of ``table`` only when both its ends lie within ``radius_m`` of the route's
    two named ends (one end each). Returns the lines (column ``rute``) and notes saying what was matched and why
    the other routes were not."""
    gpath = dd.file(catalog.DATASETS["gazetteer"].path)
    gaz = Gazetteer(gpath) if gpath.exists() else None
    lines = lines.copy()
    notes = []
    ends = [(shapely.Point(g.coords[0]), shapely.Point(g.coords[-1])) if g.geom_type == "LineString"
            else (None, None) for g in lines.geometry]
    for r in table.to_dict(orient="records"):
        route = str(r.get("route_name") or "")
        a, why_a = _place(gaz, r.get("from"))
        b, why_b = _place(gaz, r.get("to"))
        if a is None or b is None:
            notes.append(f"route {route}: not matched ({why_a or why_b})")
            continue
        hits = [i for i, (p, q) in zip(lines.index, ends) if p is not None and
                ((p.distance(a) <= radius_m and q.distance(b) <= radius_m) or (p.distance(b) <= radius_m and q.distance(a) <= radius_m))]
        if hits:
            lines.loc[hits, "rute"] = route
            notes.append(f"route {route}: {len(hits)} line(s) matched (both ends within {radius_m:.0f} m of the route's ends)")
        else:
            notes.append(f"route {route}: not matched (no line has both ends within {radius_m:.0f} m of the route's ends)")
    return lines, notes
