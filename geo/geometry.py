"""Geometry hygiene: repair invalid geometries, drop empties, enforce one geometry family.

Nothing is changed silently: every repair or drop is recorded in a :class:`GeometryReport`
that the caller attaches to the layer's metadata and shows to the user.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely

_FAMILY = {
    "Polygon": "polygon", "MultiPolygon": "polygon",
    "LineString": "line", "MultiLineString": "line", "LinearRing": "line",
    "Point": "point", "MultiPoint": "point",
}


@dataclass
class GeometryReport:
    source: str
    repaired: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.repaired and not self.dropped

    def lines(self) -> list[str]:
        out = []
        if self.repaired:
            plural = "y" if len(self.repaired) == 1 else "ies"
            out.append(f"{self.source}: repaired {len(self.repaired)} invalid geometr{plural}: "
                       + ", ".join(self.repaired[:10]) + (" ..." if len(self.repaired) > 10 else ""))
        if self.dropped:
            out.append(f"{self.source}: dropped {len(self.dropped)} feature(s): "
                       + "; ".join(self.dropped[:10]) + (" ..." if len(self.dropped) > 10 else ""))
        return out

    def to_dict(self) -> dict:
        return {"source": self.source, "repaired": list(self.repaired), "dropped": list(self.dropped)}


def _label(gdf: gpd.GeoDataFrame, idx, id_column: str | None) -> str:
    if id_column and id_column in gdf.columns:
        return f"{id_column}={gdf.at[idx, id_column]!s}"
    return f"feature {idx}"


def clean_geometries(gdf: gpd.GeoDataFrame, *, family: str, source: str, id_column: str | None = None
                     ) -> tuple[gpd.GeoDataFrame, GeometryReport]:
    """Repair invalid geometries (``shapely.make_valid``), drop missing/empty ones and
    features of another geometry family. ``family`` is ``polygon``, ``line`` or ``point``.

    Geometry collections produced by a repair keep only the parts of the wanted family.
    """
    report = GeometryReport(source)
    values = gdf.geometry.values
    # Vectorised first: the features that need nothing (present, valid, of the family) are not looked
    # at one by one, so a layer of a million points is cleaned in a few array operations.
    types = shapely.get_type_id(values)
    wanted = {"polygon": (3, 6), "line": (1, 2, 5), "point": (0, 4)}[family]
    fine = np.isin(types, wanted) & ~shapely.is_empty(values) & shapely.is_valid(values)
    if fine.all():
        out = gdf.copy()
        out.attrs = dict(gdf.attrs)
        return out, report
    gdf = gdf.copy()
    keep = []
    geoms = list(values)
    for pos, (idx, geom) in enumerate(zip(gdf.index, geoms)):
        if fine[pos]:
            keep.append(pos)
            continue
        label = _label(gdf, idx, id_column)
        if geom is None or geom.is_empty:
            report.dropped.append(f"{label} (empty geometry)")
            continue
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            geom = shapely.make_valid(geom)
            geom = _extract_family(geom, family)
            if geom is None or geom.is_empty:
                report.dropped.append(f"{label} (invalid: {reason}; nothing left after repair)")
                continue
            report.repaired.append(f"{label} ({reason})")
        gtype = geom.geom_type
        if gtype == "GeometryCollection":
            geom = _extract_family(geom, family)
            if geom is None:
                report.dropped.append(f"{label} (geometry collection without {family}s)")
                continue
        elif _FAMILY.get(gtype) != family:
            report.dropped.append(f"{label} ({gtype}, expected {family})")
            continue
        geoms[pos] = geom
        keep.append(pos)
    out = gdf.iloc[keep].copy()
    out = out.set_geometry(gpd.GeoSeries([geoms[p] for p in keep], index=out.index, crs=gdf.crs))
    out.attrs = dict(gdf.attrs)
    return out, report


def _extract_family(geom, family: str):
    if _FAMILY.get(geom.geom_type) == family:
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if _FAMILY.get(g.geom_type) == family]
    if not parts:
        return None
    if family == "polygon":
        return shapely.union_all(parts)
    if family == "line":
        return shapely.MultiLineString([p for g in parts for p in getattr(g, "geoms", [g])])
    return shapely.MultiPoint([p for g in parts for p in getattr(g, "geoms", [g])])


def split_missing_geometry(gdf: gpd.GeoDataFrame, *, source: str) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Return (the features that have a geometry, a note naming those left out because they have none:
    a null geometry, an empty one, or coordinates the reader could not use, e.g. ``[]`` or ``NaN``)."""
    if gdf.empty:
        return gdf, []
    geoms = gdf.geometry.values
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if not missing.any():
        return gdf, []
    names = [feature_label(gdf, idx, row) for idx, row in gdf.loc[missing].iterrows()]
    out = gdf.loc[~missing].copy()
    out.attrs = dict(gdf.attrs)
    return out, [f"{source}: {len(names)} feature(s) with no geometry (null, empty or unreadable coordinates) "
                 "were left out: " + "; ".join(names)]


def feature_label(gdf, idx, row) -> str:
    """A feature for a message: its position (1-based) and its name or first text column."""
    pos = gdf.index.get_loc(idx)
    text = [c for c in gdf.columns if c != gdf.geometry.name and isinstance(row[c], str)]
    for pref in ("navn", "name", "klinik"):
        if pref in text:
            return f"feature {pos + 1} ({pref}={row[pref]})"
    return f"feature {pos + 1}" + (f" ({text[0]}={row[text[0]]})" if text else "")
