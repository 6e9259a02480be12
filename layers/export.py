"""Write layers to one GeoPackage (EPSG:25832) with descriptions and default QGIS styles.

Every row of a layer is exported (:func:`geopackage_parts`): a layer of one geometry type becomes one feature
table (a row without a geometry keeps a null one); a table with lines and points mixed (the 33 mobility projects:
lines, points and projects not placed) or with no geometry at all becomes a GeoPackage *attribute table* with every
row (no geometry; QGIS and GDAL read it as a table) plus one feature table per geometry type for the rows that
have one (``<name>_linjer``, ``<name>_punkter``, ``<name>_flader``). Rows that are only a drawing device (the flow
map's arrowheads, marked in ``attrs["drawing_only"]``) are not data and are left out. Each table's description
names its source and licence.

The file is written to a temporary name and renamed only when every layer and the styles are in,
then read back with pyogrio to verify.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from kkr_geo.geo.crs import ANALYSIS_CRS
from kkr_geo.geo.errors import InputError
from kkr_geo.geo.io import atomic_path
from kkr_geo.geo.safe_text import TextReport, clean, text_frame
from kkr_geo.layers.qgis_styles import GraduatedStyle, graduated_qml, qml

GENERATOR_METADATA = {"GENERATOR": "kkr-geo", "KKR_GEO_NOTE": "written by kkr-geo; layers added by hand may be lost on re-export"}
_FAMILY = {"Polygon": "polygon", "MultiPolygon": "polygon", "LineString": "line", "MultiLineString": "line",
           "Point": "point", "MultiPoint": "point"}
_PROMOTE = {"polygon": "MultiPolygon", "line": "MultiLineString", "point": "Point"}
# the feature table of one geometry type split off a mixed or partly placed table: ``<name>_<suffix>``
PART_SUFFIX = {"line": "linjer", "point": "punkter", "polygon": "flader"}
# attrs key of a layer whose rows are partly drawing devices, not data: {column: [values]} (flow arrowheads)
DRAWING_ONLY = "drawing_only"


def data_rows(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``gdf`` without the rows that only serve the drawing (``attrs["drawing_only"]``), attrs kept."""
    marks = (getattr(gdf, "attrs", {}) or {}).get(DRAWING_ONLY) or {}
    keep = pd.Series(True, index=gdf.index)
    for column, values in marks.items():
        if column in gdf.columns:
            keep &= ~gdf[column].isin(list(values))
    if keep.all():
        return gdf
    out = gdf[keep].copy()
    out.attrs.update(gdf.attrs)
    return out


def geopackage_parts(name: str, gdf: gpd.GeoDataFrame) -> tuple[dict[str, gpd.GeoDataFrame], pd.DataFrame | None]:
    """How ``gdf`` goes into a GeoPackage: ``(feature tables by name, attribute table or None)``.

    One geometry type (rows without a geometry allowed: they keep a null geometry, as a catchment that reaches
    nobody): ``({name: gdf}, None)``. Lines, points or areas mixed: every row goes into the attribute table ``name``
    (without geometry) and the rows with a geometry into one feature table per geometry type,
    ``<name>_linjer`` / ``_punkter`` / ``_flader``. No row with a geometry: only the attribute table. Drawing-only
    rows are left out."""
    gdf = data_rows(gdf)
    geoms = gdf.geometry.values
    placed = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    fams = pd.Series([_FAMILY.get(t) for t in gdf.geom_type], index=gdf.index)
    other = sorted({str(t) for t, f, p in zip(gdf.geom_type, fams, placed) if p and f is None})
    if other:   # a GeometryCollection has no GeoPackage table type: refused, not dropped
        raise InputError(f"layer {name!r} has geometries of type {', '.join(other)}, which no GeoPackage table of "
                         "one geometry type holds.", hint="explode them into points, lines and polygons first.")
    present = sorted({f for f in fams[placed] if f})
    if len(present) == 1 or len(gdf) == 0:
        return {name: gdf}, None
    table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    table.attrs.update(gdf.attrs)
    parts = {}
    for fam in present:
        part = gdf[placed & (fams == fam).to_numpy()].copy()
        part.attrs.update(gdf.attrs)
        parts[f"{name}_{PART_SUFFIX[fam]}"] = part
    return parts, table


def _prepare(gdf: gpd.GeoDataFrame | pd.DataFrame) -> gpd.GeoDataFrame | pd.DataFrame:
    spatial = isinstance(gdf, gpd.GeoDataFrame)
    out = gdf.to_crs(ANALYSIS_CRS).copy() if spatial else gdf.copy()
    if spatial and len(out) and out.geometry.has_z.any():
        out = out.set_geometry(shapely.force_2d(out.geometry.values))
    for c in out.columns:
        if spatial and c == out.geometry.name:
            continue
        s = out[c]
        if pd.api.types.is_bool_dtype(s):
            out[c] = s.astype("Int64")
        elif pd.api.types.is_integer_dtype(s) or pd.api.types.is_float_dtype(s):
            continue
        elif isinstance(s.dtype, pd.StringDtype) or s.dtype == object:
            out[c] = s.map(lambda v: None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)).astype(object)
    return out


def _geometry_type(gdf: gpd.GeoDataFrame, name: str, declared: str | None) -> str:
    fams = {_FAMILY.get(t) for t in gdf.geom_type.dropna().unique()}
    if len(fams) > 1:
        raise InputError(f"layer {name!r} mixes geometry types {sorted(gdf.geom_type.dropna().unique())}.",
                         hint="split it into one layer per geometry type.")
    fam = fams.pop() if fams else (declared or "point")
    if fam == "point" and (gdf.geom_type == "MultiPoint").any():
        return "MultiPoint"
    return _PROMOTE[fam]


def _description(name: str, frame, info) -> tuple[str, str]:
    """(title, description) of a table: title, description, source, licence, precision, status, known gaps."""
    attrs = getattr(frame, "attrs", {}) or {}
    title = attrs.get("title") or (info.title if info else name)
    desc_parts = [title, attrs.get("description") or (info.description if info else "")]
    for key, label in (("source", "Source"), ("licence", "Licence"), ("precision", "Precision"), ("status", "Status")):
        if attrs.get(key):
            desc_parts.append(f"{label}: {attrs[key]}")
    if attrs.get("gaps"):  # the same known gaps the maps print
        desc_parts.append("Kendte mangler: " + "; ".join(attrs["gaps"]))
    return title, ". ".join(str(p).rstrip(".") for p in desc_parts if p) + "."


def export_geopackage(path: str | Path, layers: dict[str, gpd.GeoDataFrame], *,
                      graduated: dict[str, GraduatedStyle] | None = None) -> dict:
    """Write ``layers`` (name -> GeoDataFrame) to ``path``, every row of each (:func:`geopackage_parts`: a
    table with mixed geometry types, or none, becomes an attribute table plus one feature table per geometry
    type; a part whose name is itself a key of ``layers`` is written once, as given).
    Returns the read-back summary (:func:`verify_geopackage`).

    ``graduated``: layer name -> the annex map's classes for that layer's indicator; such a layer gets a
    graduated QGIS style with the same limits and colours instead of a single flat colour.
    """
    graduated = graduated or {}
    from kkr_geo.layers.registry import entries

    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        raise InputError(f"{path}: the output must be a .gpkg file.", hint="use a name ending in .gpkg.")
    if not layers:
        from kkr_geo.geo.errors import DataError
        raise DataError(f"{path}: no layer to write; nothing was written.",
                        hint="run `kkr-geo data status` to see which data is missing.")
    styles = []
    text_report = TextReport()
    features: dict[str, tuple[gpd.GeoDataFrame, str]] = {}   # table name -> (frame, the layer it comes from)
    tables: dict[str, pd.DataFrame] = {}
    for name, gdf in layers.items():
        parts, table = geopackage_parts(name, gdf)
        if table is not None:
            tables[name] = table
        for part_name, part in parts.items():
            if part_name == name or part_name not in layers:
                features.setdefault(part_name, (part, name))
    with atomic_path(path, suffix=".gpkg") as tmp:
        for name, (gdf, origin) in features.items():
            info = entries().get(name) or entries().get(origin)
            geom_type = _geometry_type(gdf, name, info.geometry if info else None)
            # NUL would silently cut a GeoPackage string ("Før\0..." -> "Før"): replaced, and reported
            data = text_frame(_prepare(gdf), label=f"layer {name}", report=text_report)
            if geom_type.startswith("Multi"):
                data = data.set_geometry(data.geometry.map(_to_multi))
            title, description = _description(name, gdf, info)
            if name != origin:   # a part of a mixed table: say which part
                title = f"{title} – {_PART_TITLE.get(name.rsplit('_', 1)[-1], name)}"
                description = f"{title}. {description}"
            first = not tmp.exists()
            pyogrio.write_dataframe(data, tmp, layer=name, driver="GPKG", geometry_type=geom_type,
                                    append=not first, layer_options={"IDENTIFIER": clean(title, bidi=False),
                                                                     "DESCRIPTION": clean(description, bidi=False)},
                                    # recognisable as a kkr-geo output (see also geo.outputs' manifest)
                                    dataset_metadata=GENERATOR_METADATA if first else None)
            fam = _FAMILY[geom_type] if geom_type in _FAMILY else "point"
            grad = graduated.get(name)
            style = (graduated_qml(name, fam, grad) if grad is not None and grad.column in data.columns
                     else qml(name, fam, columns=list(data.columns)))
            styles.append((name, style, title))
        for name, table in tables.items():
            title, description = _description(name, table, entries().get(name))
            data = text_frame(_prepare(table), label=f"table {name}", report=text_report)
            first = not tmp.exists()
            # no geometry: GDAL writes a GeoPackage attribute table (gpkg_contents data_type 'attributes')
            pyogrio.write_dataframe(data, tmp, layer=name, driver="GPKG", append=not first,
                                    layer_options={"IDENTIFIER": clean(title, bidi=False),
                                                   "DESCRIPTION": clean(f"{description} Every row; no geometry "
                                                                        "(the placed rows are in the feature tables "
                                                                        f"{', '.join(n for n, (_, o) in features.items() if o == name) or 'none'}).",
                                                                        bidi=False)},
                                    dataset_metadata=GENERATOR_METADATA if first else None)
        _write_styles(tmp, styles)
    summary = verify_geopackage(path)
    summary["text_changes"] = list(text_report.items)
    return summary


_PART_TITLE = {"linjer": "strækninger", "punkter": "steder", "flader": "områder"}


def _to_multi(geom):
    if geom is None:
        return None
    t = geom.geom_type
    if t == "Polygon":
        return shapely.MultiPolygon([geom])
    if t == "LineString":
        return shapely.MultiLineString([geom])
    return geom


def _write_styles(path: Path, styles: list[tuple[str, str, str]]) -> None:
    """Store the default styles where QGIS looks for them: QGIS matches a ``layer_styles`` row on
    ``f_table_name`` = the table and ``f_geometry_column`` = the geometry column that GDAL actually
    wrote (``geom`` in a GeoPackage, whatever the GeoDataFrame called it), so the column is read back
    from ``gpkg_geometry_columns``."""
    con = sqlite3.connect(path)
    try:
        geom_cols = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall())
        con.execute("""CREATE TABLE IF NOT EXISTS layer_styles (
            id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), f_table_schema TEXT(256),
            f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT,
            styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), update_time DATETIME)""")
        for table, style, title in styles:
            geom_col = geom_cols.get(table)
            if geom_col is None:
                raise InputError(f"{path.name}: layer {table!r} has no entry in gpkg_geometry_columns; cannot attach its style.")
            con.execute("INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                        "styleName, styleQML, styleSLD, useAsDefault, description, owner, ui, update_time) "
                        "VALUES ('', '', ?, ?, ?, ?, '', 1, ?, 'kkr-geo', NULL, '2000-01-01T00:00:00Z')",
                        (table, geom_col, f"{table} (kkr-geo)", style, f"Standardstil: {title}"))
        # register the table so GDAL/QGIS see it as a proper GeoPackage attribute table
        con.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
                    "VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS layer styles', '2000-01-01T00:00:00.000Z')")
        con.commit()
    finally:
        con.close()


def verify_geopackage(path: str | Path) -> dict:
    """Read the GeoPackage back: layers with CRS, feature counts, geometry type, and styles."""
    path = Path(path)
    summary = {"path": str(path), "layers": {}, "styles": []}
    # GDAL opening the file read-only would write its dataset metadata (already in gpkg_metadata) to a stray
    # "<name>.gpkg.aux.xml" beside it: no sidecar for a file a user copies or mails
    pam = pyogrio.get_gdal_config_option("GDAL_PAM_ENABLED")
    pyogrio.set_gdal_config_options({"GDAL_PAM_ENABLED": "NO"})
    try:
        for name, gtype in pyogrio.list_layers(path):
            if name == "layer_styles":
                continue
            info = pyogrio.read_info(path, layer=name)
            summary["layers"][str(name)] = {"geometry_type": gtype, "features": int(info["features"]),
                                            "crs": info["crs"], "fields": list(info["fields"])}
    finally:
        pyogrio.set_gdal_config_options({"GDAL_PAM_ENABLED": pam})
    con = sqlite3.connect(path)
    try:
        summary["styles"] = [r[0] for r in con.execute("SELECT f_table_name FROM layer_styles WHERE useAsDefault = 1")]
    finally:
        con.close()
    return summary
