"""Layer ``stationer``: rail stations (S-tog, Metro, regional and local trains) from the gazetteer.

Used as context on maps and as the facilities of the station-proximity coverage analysis
("stationsnærhed", the Finger Plan's principle of locating development near stations).
"""

from __future__ import annotations

import geopandas as gpd

from kkr_geo.geo.crs import ANALYSIS_CRS
from kkr_geo.layers import catalog
from kkr_geo.layers._common import Gazetteer, finish
from kkr_geo.layers.datadir import DataDir
from kkr_geo.layers.qgis_styles import QgisLook
from kkr_geo.layers.registry import LayerInfo, register_layer

KINDS = {"s_station": "S-tog", "metro_station": "Metro", "regional_station": "Regional- og kysttog",
         "local_rail_station": "Lokaltog"}
INFO = {"stationer": LayerInfo(
    "stationer", "Stationer", "point",
    "Rail stations (S-tog, Metro, regional and local trains) of the gazetteer.",
    {"navn": "station name", "stationstype": "S-tog, Metro, Regional- og kysttog or Lokaltog", "kommune": "municipality",
     "confidence": "gazetteer confidence (high/medium/low)"},
    ("gazetteer",),
    qgis_look=QgisLook("marker", "90,90,90,255", "255,255,255,255", 1.6))}


@register_layer(*INFO.values())
def load(name: str, dd: DataDir, **options) -> gpd.GeoDataFrame:
    gaz = Gazetteer(catalog.require(dd, "gazetteer", layer=name))
    df = gaz.df[gaz.df["kind"].isin(KINDS)].copy()
    gdf = gpd.GeoDataFrame(
        {"navn": df["name"].values, "stationstype": df["kind"].map(KINDS).values,
         "kommune": df["municipality"].values if "municipality" in df else None,
         "confidence": df["confidence"].values if "confidence" in df else None},
        geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=4326).to_crs(ANALYSIS_CRS)
    return finish(gdf, name=name, family="point",
                  source="Københavns Kommune (stationer), OpenStreetMap-bidragydere, Wikipedia",
                  licence="CC BY 4.0 / ODbL / CC BY-SA", precision="station points (gazetteer, ~50 m)", id_column="navn")
