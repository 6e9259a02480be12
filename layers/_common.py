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
        df = _read_gazetteer(path)
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


def _read_gazetteer(path) -> pd.DataFrame:
    """The gazetteer CSV (comma-separated, WGS84 lat/lon with decimal points), read line by line so
    that every problem names its line: a row split by an unquoted decimal comma (``55,87``), a
    coordinate that is not a number, or a point outside Denmark (lat/lon swapped)."""
    import csv

    from kkr_geo.geo.crs import DK_BOUNDS_4326
    from kkr_geo.layers.numbers import NumberFormatError, parse_number

    import io

    from kkr_geo.layers.textfile import read_text

    text = read_text(path)  # UTF-8, or UTF-16 with a byte-order mark; UTF-16 without one is refused by name
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InputError(f"{path}: cannot be read as a CSV file ({exc}).",
                         hint="save the gazetteer again as CSV UTF-8, comma-separated.") from None
    if not rows:
        raise InputError(f"{path}: the file is empty.", hint="the gazetteer needs a header row name,kind,lat,lon.")
    header = [h.strip() for h in rows[0]]
    missing = {"name", "kind", "lat", "lon"} - set(header)
    if missing:
        raise InputError(f"{path}: missing column(s) {sorted(missing)}.", hint="the gazetteer needs name, kind, lat, lon.")
    ilat, ilon = header.index("lat"), header.index("lon")
    x0, y0, x1, y1 = DK_BOUNDS_4326
    records, problems = [], []
    for line, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            hint = ""
            if len(row) == len(header) + 1:
                hint = " (a decimal comma in lat/lon, e.g. '55,87', splits a cell in this comma-separated file)"
            problems.append(f"line {line}: {len(row)} cells, the header has {len(header)}{hint}")
            continue
        coords = {}
        for col, i, lo, hi in (("lat", ilat, y0, y1), ("lon", ilon, x0, x1)):
            cell = row[i].strip()
            try:
                value = parse_number(cell, decimal=".", thousands="")
            except NumberFormatError:
                value = None
                extra = " (write it with a decimal point)" if "," in cell else ""
                problems.append(f"line {line}: {col} {cell!r} is not a number{extra}")
                continue
            if value is None:
                problems.append(f"line {line}: {col} is empty")
            elif not lo <= value <= hi:
                problems.append(f"line {line}: {col} {cell} is outside Denmark ({lo}..{hi}; lat/lon swapped?)")
            coords[col] = value
        records.append(dict(zip(header, row), lat=coords.get("lat"), lon=coords.get("lon")))
    if problems:
        raise InputError(f"{path}: {len(problems)} row(s) without a readable location in Denmark:\n  "
                         + "\n  ".join(problems[:20]) + (f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""),
                         hint="fix those rows (WGS84 degrees with a decimal point: lat 55.87, lon 12.35), or remove them.")
    df = pd.DataFrame(records, columns=header)
    df["lat"] = df["lat"].astype(float)
    df["lon"] = df["lon"].astype(float)
    return df
