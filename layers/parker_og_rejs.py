"""Layer ``parker_og_rejs``: the park-and-ride projects of the mobility analysis as station points.

Points come from the gazetteer; a station without a coordinate there (Hvidovre Hospital in the
development data) is left out and reported in the layer notes, never placed by guess. A user can
add it to the gazetteer (name, kind, lat, lon) to include it.
"""

from __future__ import annotations

import csv
from importlib import resources

import geopandas as gpd
import pandas as pd

from kkr_geo.layers import catalog
from kkr_geo.layers._common import Gazetteer, finish
from kkr_geo.layers.datadir import DataDir
from kkr_geo.layers.qgis_styles import QgisLook
from kkr_geo.layers.registry import LayerInfo, register_layer

INFO = {"parker_og_rejs": LayerInfo(
    "parker_og_rejs", "Parkér og rejs-anlæg", "point",
    "Park-and-ride projects of the mobility analysis (project cards 20-23) as station points; a station without a "
    "coordinate in the gazetteer is left out and listed in the layer notes.",
    {"projekt": "project id", "nr": "project number in the analysis", "navn": "project name", "station": "gazetteer place",
     "flere_pladser": "added parking spaces", "anlaeg_mio_kr": "construction cost, million DKK",
     "anlaegstype": "surface parking or structure", "status": "extension or new", "kilde": "source study",
     "confidence": "gazetteer confidence"},
    ("gazetteer",),
    qgis_look=QgisLook("marker", "0,114,178,255", "255,255,255,255", 3.2, label="navn"))}
SOURCE = "KKR Hovedstaden, mobilitetsanalyse (projektkort 20-23); stationer: Københavns Kommune, OpenStreetMap, Wikipedia"


def projects() -> pd.DataFrame:
    with resources.files("kkr_geo.layers").joinpath("seeddata/parker_og_rejs.csv").open(encoding="utf-8") as fh:
        df = pd.DataFrame(list(csv.DictReader(line for line in fh if not line.startswith("#"))))
    for c in ("nr", "flere_pladser", "anlaeg_mio_kr"):
        df[c] = pd.to_numeric(df[c]).astype("Int64")
    return df


@register_layer(*INFO.values())
def load(name: str, dd: DataDir, **options) -> gpd.GeoDataFrame:
    gaz = Gazetteer(catalog.require(dd, "gazetteer", layer=name))
    proj = projects()
    refs = [tuple(s.rsplit("@", 1)) for s in proj["station"]]
    pts, missing = gaz.points(refs)
    proj["ref"] = [r[0] for r in refs]
    gdf = pts.merge(proj, on="ref", how="inner").drop(columns=["station"]).rename(columns={"gazetteer_navn": "station"})
    gdf = gpd.GeoDataFrame(gdf, geometry="geometry", crs=pts.crs)
    gdf = gdf[["projekt", "nr", "navn", "station", "flere_pladser", "anlaeg_mio_kr", "anlaegstype", "status", "kilde",
               "confidence", "geometry"]]
    notes = [f"{p}: no coordinate in the gazetteer; left out of the layer (add it to gazetteer/gazetteer.csv to include it)"
             for p in missing]
    out = finish(gdf, name=name, family="point", source=SOURCE, licence="CC BY 4.0 / ODbL / CC BY-SA",
                 precision="station points (gazetteer, ~50 m)", id_column="projekt", notes=notes)
    out.attrs["gaps"] = [f"Parkér og rejs ved {p}: ingen koordinat i stednavnelisten; ikke vist og ikke med i oplandstallene"
                         for p in missing]
    # the description states what the layer holds, never what the analysis planned but the data lacks
    out.attrs["description"] = ("Park-and-ride projects of the mobility analysis (project cards 20-23) as station points: "
                                + ", ".join(out["station"].astype(str))
                                + (f"; missing (no coordinate): {', '.join(missing)}" if missing else ""))
    return out
