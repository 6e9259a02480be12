"""Layers ``brt`` (corridor lines) and ``brt_stops`` (named stops) of the mobility analysis (seed 000).

Without real alignments the corridors are drawn as straight segments through named stops from the
gazetteer and marked ``precision = "schematic"``. A GeoPackage ``brt/brt_linjer.gpkg`` with a
``projekt`` column (frederikssundsvej, 150s, 200s, ring4, koebstaeder) replaces them with real
geometry (``precision = "real"``). Stops that the project cards name but that have no coordinate
are listed in the layer notes, never guessed.
"""

from __future__ import annotations

import csv
from importlib import resources

import geopandas as gpd
import pandas as pd
import shapely

from kkr_geo.geo.errors import InputError
from kkr_geo.geo.io import read_vector
from kkr_geo.layers import catalog
from kkr_geo.layers._common import Gazetteer, finish
from kkr_geo.layers.datadir import DataDir
from kkr_geo.layers.qgis_styles import QgisLook
from kkr_geo.layers.registry import LayerInfo, register_layer

_ATTRS = {"projekt": "project id (frederikssundsvej, 150s, 200s, ring4, koebstaeder)", "nr": "project number in the analysis",
          "navn": "project name", "kortnavn": "short name for map labels", "strækning": "corridor as the project card describes it",
          "passagerpotentiale_dogn": "passenger potential per day", "flere_passagerer_dogn": "added passengers per day",
          "flere_passagerer_pct": "added passengers, %", "rejsetidsreduktion_pct": "travel-time reduction up to, %",
          "anlaeg_mio_kr": "construction cost, million DKK", "co2_anlaeg_t_min": "CO2e in construction, tonnes (low)",
          "co2_anlaeg_t_max": "CO2e in construction, tonnes (high)", "kilde": "source study", "bemaerkning": "remarks",
          "manglende_stop": "named stops without coordinates", "precision": "schematic or real", "laengde_km": "line length, km"}
INFO = {
    "brt": LayerInfo("brt", "BRT-korridorer", "line", "BRT corridors of the mobility analysis, schematic unless real alignments are supplied.",
                     _ATTRS, ("gazetteer", "brt_geometri", "brt_150s_gtfs"),
                     qgis_look=QgisLook("line", None, "213,94,0,255", 1.2, dash="dash", label="navn")),
    "brt_stops": LayerInfo("brt_stops", "BRT-stoppesteder", "point", "Named stops of the BRT corridors (gazetteer points).",
                           {"projekt": "project id", "korridor": "corridor short name (map-facing)",
                            "navn": "stop name as in the gazetteer", "bemaerkning": "remark for readers (Danish)", "raekkefoelge": "order along the corridor",
                            "kind": "gazetteer kind", "confidence": "gazetteer confidence"}, ("gazetteer",),
                           qgis_look=QgisLook("marker", "213,94,0,255", "255,255,255,255", 2.2)),
}
SOURCE = "KKR Hovedstaden, mobilitetsanalyse (projektkort 2-6); stop: Københavns Kommune, OpenStreetMap, Movia"
GTFS_SOURCE = "Rejseplanen/Movia (GTFS, linje 150S)"
GTFS_PRECISION = "real (Rejseplanen GTFS)"
# The real route of bus 150S (Rejseplanen GTFS shapes.txt): the 150S BRT project follows it.
GTFS_150S = catalog.register_dataset(catalog.Dataset(
    "brt_150s_gtfs", "brt/150s_gtfs_shape.geojson", "The real route of bus line 150S, Kokkedal St. - Nørreport St. (one LineString)",
    "Rejseplanen (GTFS shapes.txt), Movia", "Rejseplanen GTFS terms (attribution Rejseplanen/Movia)",
    "take the 150S shape from Rejseplanen's GTFS feed (shapes.txt) and save it as GeoJSON", "real", required=False))


def projects() -> pd.DataFrame:
    with resources.files("kkr_geo.layers").joinpath("seeddata/brt_projekter.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    df = pd.DataFrame(rows)
    for c in ("nr", "passagerpotentiale_dogn", "flere_passagerer_dogn", "flere_passagerer_pct", "rejsetidsreduktion_pct",
              "anlaeg_mio_kr", "co2_anlaeg_t_min", "co2_anlaeg_t_max"):
        df[c] = pd.to_numeric(df[c].replace("", None)).astype("Int64")
    return df


def _stops(dd: DataDir) -> tuple[gpd.GeoDataFrame, list[str]]:
    gaz = Gazetteer(catalog.require(dd, "gazetteer", layer="brt"))
    frames, notes, gaps = [], [], []
    for p in projects().itertuples():
        refs = [tuple(w.rsplit("@", 1)) for w in p.waypoints.split("|") if w]
        pts, missing = gaz.points(refs)
        pts.insert(0, "projekt", p.projekt)
        pts["raekkefoelge"] = range(1, len(pts) + 1)
        frames.append(pts)
        absent = [m for m in (p.missing_waypoints.split("|") if p.missing_waypoints else []) if m]
        if missing or absent:
            # one fact, two languages: the English layer note and the Danish line printed on the maps
            notes.append(f"{p.navn}: no coordinates for {', '.join(missing + absent)} (not in the gazetteer); "
                         "the schematic line runs through the stops that have them")
            gaps.append(f"{p.kortnavn}: tegnet gennem {len(pts)} af {len(pts) + len(missing) + len(absent)} navngivne stop; "
                        f"uden koordinat: {', '.join(missing + absent)}")
        if p.linje != "ja":
            gaps.append(f"{p.kortnavn}: kilden beskriver ingen korridor; kun stationerne er vist")
    stops = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=frames[0].crs)
    # readable corridor names and a remark for readers (no internal codes such as "150s" on the maps)
    proj = projects().set_index("projekt")
    stops["korridor"] = stops["projekt"].map(proj["kortnavn"])
    stops["bemaerkning"] = stops["projekt"].map(
        lambda p: "Kilden beskriver ingen korridor; kun stationen er vist" if proj.at[p, "linje"] != "ja" else None)
    stops = stops.rename(columns={"gazetteer_navn": "navn"})[["projekt", "korridor", "navn", "raekkefoelge", "kind",
                                                               "confidence", "bemaerkning", "geometry"]]
    return stops, notes, gaps


@register_layer(*INFO.values())
def load(name: str, dd: DataDir, **options) -> gpd.GeoDataFrame:
    stops, notes, gaps = _stops(dd)
    if name == "brt_stops":
        out = finish(stops, name=name, family="point", source=SOURCE, licence="CC BY 4.0 / ODbL",
                     precision="stop points (gazetteer, ~50 m)", id_column="navn", notes=notes)
        out.attrs["gaps"] = gaps
        return out
    proj = projects()
    rows = []
    for p in proj.itertuples():
        pts = stops[stops["projekt"] == p.projekt].sort_values("raekkefoelge")
        if len(pts) < 2 or p.linje != "ja":
            continue
        rows.append({"projekt": p.projekt, "geometry": shapely.LineString(list(pts.geometry))})
    lines = gpd.GeoDataFrame(rows, geometry="geometry", crs=stops.crs)
    lines["precision"] = "schematic"
    gtfs_path = dd.file(GTFS_150S.path)
    gtfs = False
    if gtfs_path.exists():
        lines, msg = _apply_gtfs_150s(lines, gtfs_path)
        notes += msg
        gtfs = True
    no_line = [p.navn for p in proj.itertuples() if p.projekt not in set(lines["projekt"])]
    real_path = dd.file(catalog.DATASETS["brt_geometri"].path)
    if real_path.exists():
        lines, msg = _apply_real_geometry(lines, real_path, proj)
        notes += msg
        no_line = [n for n, pid in zip(proj["navn"], proj["projekt"]) if pid not in set(lines["projekt"])]
    for n in no_line:
        notes.append(f"{n}: no corridor geometry (the source does not describe the corridors); shown as stops in brt_stops")
    attrs = proj.drop(columns=["waypoints", "missing_waypoints", "linje"])
    attrs["manglende_stop"] = proj["missing_waypoints"].str.replace("|", ", ", regex=False)
    gdf = lines.merge(attrs, on="projekt", how="left")
    gdf["laengde_km"] = (gdf.geometry.length / 1000).round(2)
    cols = ["projekt", "nr", "navn", "kortnavn", "strækning", "passagerpotentiale_dogn", "flere_passagerer_dogn", "flere_passagerer_pct",
            "rejsetidsreduktion_pct", "anlaeg_mio_kr", "co2_anlaeg_t_min", "co2_anlaeg_t_max", "laengde_km", "kilde",
            "bemaerkning", "manglende_stop", "precision", "geometry"]
    gdf = gdf[cols]
    schematic = (gdf["precision"] == "schematic").any()
    precision = ("schematic" + (f" (150S: {GTFS_PRECISION})" if (gdf["precision"] == GTFS_PRECISION).any() else "")
                 if schematic else "real")
    source = SOURCE + ("; 150S: " + GTFS_SOURCE if gtfs and (gdf["precision"] == GTFS_PRECISION).any() else "")
    traced = set(gdf.loc[gdf["precision"] != "schematic", "projekt"])
    if traced:  # real or GTFS alignments: the stops' gaps no longer shape those lines
        names = list(proj.loc[proj["projekt"].isin(traced), "kortnavn"])
        gaps = [g for g in gaps if "kilden beskriver ingen korridor" in g or not any(g.startswith(f"{k}:") for k in names)]
    out = finish(gdf, name=name, family="line", source=source + ("; skematisk linjeføring" if schematic else ""),
                 licence="CC BY 4.0 / ODbL", precision=precision, id_column="projekt", notes=notes)
    out.attrs["gaps"] = gaps  # known gaps, Danish, printed on every map that uses the layer and in the summary
    return out


def _apply_gtfs_150s(lines: gpd.GeoDataFrame, path):
    """Replace the schematic 150S line by the real GTFS route (the user's brt_linjer.gpkg still takes precedence)."""
    shape = read_vector(path).to_crs(lines.crs)
    geoms = [g for g in shape.geometry if g is not None and not g.is_empty]
    if not geoms:
        raise InputError(f"{path}: no line geometry.", hint="the file must hold the 150S route as a LineString.")
    geom = shapely.line_merge(shapely.union_all(geoms)) if len(geoms) > 1 else geoms[0]
    if geom.geom_type not in ("LineString", "MultiLineString"):
        raise InputError(f"{path}: expected a line, got {geom.geom_type}.", hint="save the 150S shape as a LineString.")
    kept = lines[lines["projekt"] != "150s"]
    real = gpd.GeoDataFrame({"projekt": ["150s"], "precision": [GTFS_PRECISION]}, geometry=[geom], crs=lines.crs)
    out = pd.concat([real, kept], ignore_index=True)
    return (gpd.GeoDataFrame(out, geometry="geometry", crs=lines.crs),
            [f"150S follows the real bus route from {path.name} (Rejseplanen GTFS, {geom.length / 1000:.1f} km); "
             "the other corridors are schematic"])


def _apply_real_geometry(lines: gpd.GeoDataFrame, path, proj: pd.DataFrame):
    real = read_vector(path)
    if "projekt" not in real.columns:
        raise InputError(f"{path}: missing column 'projekt'.", hint=f"name each line with one of: {', '.join(proj['projekt'])}.")
    unknown = sorted(set(real["projekt"]) - set(proj["projekt"]))
    if unknown:
        raise InputError(f"{path}: unknown projekt value(s) {unknown}.", hint=f"use: {', '.join(proj['projekt'])}.")
    real = real.dissolve(by="projekt", as_index=False)[["projekt", "geometry"]]
    real["precision"] = "real"
    kept = lines[~lines["projekt"].isin(real["projekt"])]
    out = pd.concat([real, kept], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=lines.crs), [f"real alignments from {path.name} for: {', '.join(real['projekt'])}"]
