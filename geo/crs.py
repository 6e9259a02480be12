"""Coordinate reference systems and extent checks for Denmark.

All analysis happens in EPSG:25832 (ETRS89 / UTM zone 32N). Files arriving in another CRS are
reprojected; files whose coordinates do not fit their declared CRS (a classic: longitude/latitude
declared as 25832, or metres declared as 4326) are detected by an extent check and reported.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import CRS

from kkr_geo.geo.errors import InputError

ANALYSIS_CRS = CRS.from_epsg(25832)

# Generous envelopes of Denmark (incl. Bornholm and Christiansø) in the two CRSs people use.
DK_BOUNDS_25832 = (400_000.0, 6_030_000.0, 920_000.0, 6_420_000.0)
DK_BOUNDS_4326 = (7.5, 54.4, 15.5, 57.9)


def _within(bounds, envelope) -> bool:
    minx, miny, maxx, maxy = bounds
    ex0, ey0, ex1, ey1 = envelope
    return minx >= ex0 and miny >= ey0 and maxx <= ex1 and maxy <= ey1


def looks_like_lonlat(bounds) -> bool:
    return _within(bounds, DK_BOUNDS_4326)


def looks_like_utm32(bounds) -> bool:
    return _within(bounds, DK_BOUNDS_25832)


def to_analysis_crs(gdf: gpd.GeoDataFrame, *, source: str = "input", assume_crs=None) -> gpd.GeoDataFrame:
    """Return ``gdf`` in EPSG:25832, checking that its coordinates fit the declared CRS.

    ``source`` names the file or layer in error messages. ``assume_crs`` is used when the data
    carries no CRS at all; without it, a missing CRS is guessed only when the coordinates
    unambiguously look like Danish lon/lat or UTM 32N metres, and the guess is recorded in
    ``gdf.attrs['crs_note']``.
    """
    if len(gdf) == 0 or gdf.geometry.is_empty.all():
        return gdf.set_crs(ANALYSIS_CRS, allow_override=True) if gdf.crs is None else gdf.to_crs(ANALYSIS_CRS)
    bounds = _present_bounds(gdf)
    note = None
    if gdf.crs is None:
        if assume_crs is not None:
            try:
                assumed = CRS.from_user_input(assume_crs)
            except Exception:  # noqa: BLE001 - pyproj raises CRSError for any unreadable input
                raise InputError(f"{source}: {assume_crs!r} is not a coordinate reference system.",
                                 hint="give an EPSG code, e.g. --crs EPSG:25832 or --crs EPSG:4326.") from None
            gdf = gdf.set_crs(assumed)
            note = f"no CRS in {source}; assumed {assume_crs} as asked"
        elif looks_like_lonlat(bounds):
            gdf = gdf.set_crs(4326)
            note = (f"no CRS in {source}; coordinates look like longitude/latitude, read as EPSG:4326 "
                    "(if that is wrong, give the CRS: --crs EPSG:NNNN, or assume_crs= in the Python API)")
        elif looks_like_utm32(bounds):
            gdf = gdf.set_crs(ANALYSIS_CRS)
            note = (f"no CRS in {source}; coordinates look like UTM 32N metres, read as EPSG:25832 "
                    "(if that is wrong, give the CRS: --crs EPSG:NNNN, or assume_crs= in the Python API)")
        else:
            raise InputError(
                f"{source}: the data has no coordinate reference system and its extent {_fmt(bounds)} "
                "fits neither EPSG:4326 nor EPSG:25832 over Denmark.",
                hint="save the file with its CRS (e.g. a GeoPackage or a GeoJSON with crs), or give it: --crs EPSG:NNNN "
                     "(assume_crs= in the Python API).",
            )
    crs = CRS.from_user_input(gdf.crs)
    if crs.is_geographic and not looks_like_lonlat(bounds):
        if looks_like_utm32(bounds):
            raise InputError(
                f"{source}: declared as {crs.to_string()} (degrees) but the coordinates {_fmt(bounds)} are "
                "metres in EPSG:25832.",
                hint="re-save the file declaring EPSG:25832 (in QGIS: Layer > Set CRS, not reproject).",
            )
        raise InputError(
            f"{source}: coordinates {_fmt(bounds)} lie outside Denmark for the declared {crs.to_string()}."
            + _outside_features(gdf, DK_BOUNDS_4326),
            hint="check the file's CRS and that the features are in Denmark.",
        )
    if crs.equals(ANALYSIS_CRS) and not looks_like_utm32(bounds):
        if looks_like_lonlat(bounds):
            raise InputError(
                f"{source}: declared as EPSG:25832 but the coordinates {_fmt(bounds)} are longitude/latitude degrees.",
                hint="re-save the file declaring EPSG:4326 (in QGIS: Layer > Set CRS), then load it again.",
            )
        raise InputError(
            f"{source}: coordinates {_fmt(bounds)} lie outside Denmark in EPSG:25832."
            + _outside_features(gdf, DK_BOUNDS_25832),
            hint="check the file's CRS and that the features are in Denmark.",
        )
    out = gdf.to_crs(ANALYSIS_CRS)
    if not crs.equals(ANALYSIS_CRS):
        out_bounds = _present_bounds(out)
        if not looks_like_utm32(out_bounds):
            raise InputError(
                f"{source}: after reprojection from {crs.to_string()} the extent {_fmt(out_bounds)} lies outside Denmark."
                + _outside_features(out, DK_BOUNDS_25832),
                hint="check the file's declared CRS.",
            )
    if note:
        out.attrs["crs_note"] = note
    return out


def _outside_features(gdf: gpd.GeoDataFrame, envelope) -> str:
    """' Features outside: ...' naming (by row number and first text column) the features not inside ``envelope``."""
    try:
        b = gdf.geometry.bounds
        geoms = gdf.geometry.values
        ok = pd.Series(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)), index=gdf.index)
        out = ok & ~((b.minx >= envelope[0]) & (b.miny >= envelope[1]) & (b.maxx <= envelope[2]) & (b.maxy <= envelope[3]))
        if not out.any() or out.sum() == ok.sum() and ok.sum() > 10:
            return ""
        from pandas.api.types import is_string_dtype
        text_cols = [c for c in gdf.columns if c != gdf.geometry.name and is_string_dtype(gdf[c])]
        labels = []
        for pos in [i for i, v in enumerate(out.tolist()) if v][:10]:
            name = f" ({text_cols[0]}={gdf.iloc[pos][text_cols[0]]!s})" if text_cols else ""
            labels.append(f"feature {pos + 1}{name}")
        more = f" and {int(out.sum()) - 10} more" if out.sum() > 10 else ""
        return f" Features outside: {', '.join(labels)}{more}."
    except Exception:  # the message must never fail because of a helper
        return ""


def _present_bounds(gdf: gpd.GeoDataFrame) -> tuple:
    """Total bounds of the non-missing, non-empty geometries (without geopandas' notna() warning)."""
    geoms = gdf.geometry.values
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not keep.any():
        return (float("nan"),) * 4
    return tuple(float(b) for b in shapely.total_bounds(geoms[keep]))


def _fmt(bounds) -> str:
    return "(" + ", ".join(f"{b:.6g}" for b in bounds) + ")"
