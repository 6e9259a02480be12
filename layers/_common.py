"""Helpers shared by the layer modules: provenance in attrs, gazetteer lookup."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from kkr_geo.geo.crs import ANALYSIS_CRS
from kkr_geo.geo.errors import InputError
from kkr_geo.geo.geometry import clean_geometries
from kkr_geo.geo.provenance import provenance_of, with_provenance
from kkr_geo.layers.keys import normalise_name


def finish(gdf: gpd.GeoDataFrame, *, name: str, family: str, source: str, licence: str, precision: str,
           id_column: str | None = None, notes: list[str] | None = None, status: str = "ok") -> gpd.GeoDataFrame:
    """Clean geometries, put the layer in EPSG:25832 and record its :class:`~kkr_geo.geo.provenance.Provenance`."""
    if gdf.crs is None:
        gdf = gdf.set_crs(ANALYSIS_CRS)
    gdf = gdf.to_crs(ANALYSIS_CRS)
    if len(gdf) and gdf.geometry.has_z.any():
        gdf = gdf.set_geometry(shapely.force_2d(gdf.geometry.values))  # DAGI carries a Z of 0; layers are 2D
    notes = list(notes or [])
    if len(gdf):
        gdf, report = clean_geometries(gdf, family=family, source=name, id_column=id_column)
        notes += report.lines()
        geometry_report = report.to_dict()
    else:
        geometry_report = {"source": name, "repaired": [], "dropped": []}
    gdf = gdf.reset_index(drop=True)
    prov = provenance_of(gdf).replace(layer=name, source=source, licence=licence, precision=precision, status=status,
                                      notes=notes)
    return with_provenance(gdf, prov.replace(extra={**prov.extra, "geometry_report": geometry_report}))


class Gazetteer:
    """Named places (stations, bus stops, hospitals) from ``gazetteer/gazetteer.csv``."""

    def __init__(self, path):
        self.path = path
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        missing = {"name", "kind", "lat", "lon"} - set(df.columns)
        if missing:
            raise InputError(f"{path}: missing column(s) {sorted(missing)}.", hint="the gazetteer needs name, kind, lat, lon.")
        df["lat"] = pd.to_numeric(df["lat"], errors="coerce")
        df["lon"] = pd.to_numeric(df["lon"], errors="coerce")
        bad = df[df["lat"].isna() | df["lon"].isna()]
        if len(bad):
            raise InputError(f"{path}: rows without readable lat/lon: lines {', '.join(str(i + 2) for i in bad.index[:10])}.",
                             hint="fix or remove those rows.")
        df["key"] = df["name"].map(normalise_name)
        self.df = df

    def find(self, name: str, kind: str | None = None):
        """Return the row for ``name`` (optionally of ``kind``) or None."""
        key = normalise_name(name)
        hits = self.df[self.df["key"] == key]
        if kind is not None:
            k = hits[hits["kind"] == kind]
            hits = k if len(k) else hits
        return None if hits.empty else hits.iloc[0]

    def points(self, refs: list[tuple[str, str | None]]) -> tuple[gpd.GeoDataFrame, list[str]]:
        """Look up ``(name, kind)`` refs; return found points (EPSG:25832) and the missing names."""
        rows, missing = [], []
        for name, kind in refs:
            r = self.find(name, kind)
            if r is None:
                missing.append(name)
            else:
                rows.append({"gazetteer_navn": r["name"], "kind": r["kind"], "lon": r["lon"], "lat": r["lat"],
                             "confidence": r.get("confidence", ""), "ref": name})
        df = pd.DataFrame(rows, columns=["gazetteer_navn", "kind", "lon", "lat", "confidence", "ref"])
        gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=4326).to_crs(ANALYSIS_CRS)
        return gdf, missing
