"""Layer ``klinikker``: clinic locations with capacity from a user file.

Accepted input (CSV/XLSX table or a vector file such as GeoPackage):
- a vector file with point geometry;
- a table with coordinates: ``lat``/``lon`` (WGS84) or ``x``/``y`` (EPSG:25832), optionally with an address;
- a table with only a postcode (``postnr``): the clinic is placed at the representative point of the
  postcode polygon and marked ``precision = "postnummer"``, as the practice plan's own map does.
Capacity columns per speciale: ``kapacitet_sp51``, ``kapacitet_sp62`` (Danish numbers accepted).
Rows that cannot be placed are left out and listed in the layer notes (file, line, reason).

A capacity that cannot be one (negative, infinite, out of a float's range such as ``1E400`` or
``1E-400``, or carrying a unit such as ``50 %``) is an error naming file, line, clinic and column,
wherever the layer is read (build, CLI, API). A missing capacity (empty, ``nan``, ``x``) or a
capacity of 0 is kept and listed in the notes: the clinic still is a location (coverage, maps),
and 2SFCA (``access``) refuses a missing capacity by the clinic's name.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kkr_geo.geo.crs import ANALYSIS_CRS
from kkr_geo.geo.errors import DataError, InputError
from kkr_geo.geo.io import read_vector
from kkr_geo.layers import catalog
from kkr_geo.layers._common import finish
from kkr_geo.layers.datadir import DataDir
from kkr_geo.layers.indicators import read_table
from kkr_geo.layers.keys import postcode_range
from kkr_geo.layers.qgis_styles import QgisLook
from kkr_geo.layers.registry import LayerInfo, register_layer

INFO = {"klinikker": LayerInfo(
    "klinikker", "Fysioterapiklinikker", "point",
    "Clinic locations with capacity per speciale; postcode-only clinics at the postcode's representative point.",
    {"navn": "clinic name", "adresse": "address", "postnr": "postcode", "kapacitet_sp51": "capacity, speciale 51",
     "kapacitet_sp62": "capacity, speciale 62", "precision": "koordinat or postnummer", "kilde_linje": "line in the source file"},
    ("klinikker", "dagi_postnumre"),
    qgis_look=QgisLook("marker", "204,121,167,255", "255,255,255,255", 2.0))}

_TABLE_SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm"}
_ALIASES = {"lat": ("lat", "latitude", "breddegrad"), "lon": ("lon", "lng", "long", "longitude", "laengdegrad"),
            "x": ("x", "easting", "x_25832", "ost"), "y": ("y", "northing", "y_25832", "nord"),
            "postnr": ("postnr", "postnummer", "post_nr", "postcode"), "navn": ("navn", "name", "klinik", "kliniknavn"),
            "adresse": ("adresse", "address", "vejnavn")}


def _find_column(columns, key):
    lower = {str(c).strip().lower(): c for c in columns}
    for alias in _ALIASES[key]:
        if alias in lower:
            return lower[alias]
    return None


@register_layer(*INFO.values())
def load(name: str, dd: DataDir, *, path: str | Path | None = None, layer: str | None = None, assume_crs=None,
         decimal: str | None = None, thousands: str | None = None) -> gpd.GeoDataFrame:
    """``layer`` names the layer of a multi-layer GeoPackage, ``assume_crs`` the CRS of a vector file
    that has none, ``decimal``/``thousands`` the number format of a table (see
    :func:`kkr_geo.layers.indicators.read_table`)."""
    if path is None:
        candidates = [dd.file(f"klinikker/{f}") for f in ("klinikker.csv", "klinikker.gpkg", "klinikker.xlsx")]
        path = next((p for p in candidates if p.exists()), None)
        if path is None:
            from kkr_geo.geo.errors import DataError
            raise DataError(f"layer {name!r} needs a clinic file, and none was given: clinics never ship with kkr-geo "
                            f"(looked for klinikker/klinikker.csv, .gpkg or .xlsx in {dd}).",
                            hint="put your clinic list at klinikker/klinikker.csv in a data directory (--data-dir DIR or "
                                 "KKR_GEO_DATA), or pass --klinikker FILE to `kkr-geo layers` and the analysis "
                                 "commands; the format is in data/README.md.")
    from kkr_geo.layers import _left_out

    path = Path(path)
    notes: list[str] = []
    left: list = []
    cells = _Cells()
    if path.suffix.lower() in _TABLE_SUFFIXES:
        gdf = _from_table(path, dd, notes, cells, decimal=decimal, thousands=thousands, left=left)
    else:
        gdf = read_vector(path, layer=layer, assume_crs=assume_crs)
        notes += gdf.attrs.get("notes", [])
        gdf["precision"] = "koordinat"
        gdf["kilde_linje"] = np.arange(1, len(gdf) + 1)
    row = "line" if path.suffix.lower() in _TABLE_SUFFIXES else "feature"
    for col in ("kapacitet_sp51", "kapacitet_sp62"):
        if col not in gdf.columns:
            gdf[col] = np.nan
            notes.append(f"{path.name}: no column {col}; capacity unknown")
        elif not pd.api.types.is_numeric_dtype(gdf[col]):
            gdf[col] = _capacity_numbers(gdf, col, path, notes, cells, row=row)
    if "navn" not in gdf.columns:
        col = _find_column(gdf.columns, "navn")
        gdf["navn"] = gdf[col] if col is not None else [f"Klinik {i}" for i in gdf["kilde_linje"]]
    _check_capacities(gdf, path, notes, cells, row=row)
    gdf = _drop_outside_denmark(gdf, path, notes, dd, left=left, row=row)
    cols = [c for c in ("navn", "adresse", "postnr", "kapacitet_sp51", "kapacitet_sp62", "precision", "kilde_linje", "geometry")
            if c in gdf.columns]
    gdf = gdf[cols]
    overall = "postnummer" if (gdf["precision"] == "postnummer").all() and len(gdf) else (
        "blandet (koordinat og postnummer)" if (gdf["precision"] == "postnummer").any() else "koordinat")
    left_out = gdf.attrs.get("left_out", [])
    before = len(gdf)
    out = finish(gdf, name=name, family="point", source=f"brugerfil {path.name}", licence="as supplied",
                 precision=overall, id_column="navn", notes=notes)
    if len(out) < before:
        dropped = sorted(set(gdf["kilde_linje"].tolist()) - set(out["kilde_linje"].tolist()))
        left.append(_left_out.left_out(path.name, dropped, "their geometry is empty or not a point",
                                       "geometrien er tom eller ikke et punkt", unit=row))
    out.attrs["left_out"] = left_out
    _left_out.add(out, left)
    return out


class _Cells:
    """The text of capacity cells that were not read as they stand, by (line, column): ``unread``
    (not a number, out of range) and ``units`` (read without a unit such as ``%``)."""

    def __init__(self) -> None:
        self.unread: dict[tuple[int, str], str] = {}
        self.units: dict[tuple[int, str], str] = {}


CAPACITY_COLUMNS = ("kapacitet_sp51", "kapacitet_sp62")


def _from_table(path: Path, dd: DataDir, notes: list[str], cells: _Cells, *, decimal=None,
                thousands=None, left: list | None = None) -> gpd.GeoDataFrame:
    """Column-wise from first to last (a million clinics in seconds): coordinates converted and
    projected as arrays, postcodes looked up once per distinct postcode."""
    from kkr_geo.layers import _left_out
    from kkr_geo.layers.indicators import _distinct

    table = read_table(path, decimal=decimal, thousands=thousands)
    report = table.attrs["report"]
    table.attrs = {}
    notes += report.lines()
    if left is not None:
        left += report.left_out
    cells.unread.update({k: v for k, v in report.unread.items() if k[1] in CAPACITY_COLUMNS})
    cells.units.update({k: v for k, v in report.units.items() if k[1] in CAPACITY_COLUMNS})
    cols = {k: _find_column(table.columns, k) for k in _ALIASES}
    df = pd.DataFrame(index=table.index)
    for k in ("navn", "adresse"):
        if cols[k] is not None:
            df[k] = table[cols[k]]
    if cols["postnr"] is not None:
        codes, uniq = _distinct(table[cols["postnr"]])
        pnrs = np.array([(f"{r[0]:04d}" if (r := postcode_range(v)) and r[0] == r[1] else None) for v in uniq], dtype=object)
        df["postnr"] = pnrs[codes].tolist()  # (as a list: the same text dtype as before)
    x = y = None
    crs = None
    if cols["lat"] is not None and cols["lon"] is not None:
        x, y, crs = pd.to_numeric(table[cols["lon"]], errors="coerce"), pd.to_numeric(table[cols["lat"]], errors="coerce"), 4326
    elif cols["x"] is not None and cols["y"] is not None:
        x, y, crs = pd.to_numeric(table[cols["x"]], errors="coerce"), pd.to_numeric(table[cols["y"]], errors="coerce"), ANALYSIS_CRS
    if x is None and cols["postnr"] is None:
        raise InputError(f"{path}: no coordinates (lat/lon or x/y) and no postcode column (postnr).",
                         hint="add lat/lon columns, or at least a postnr column per clinic.")
    for c in ("kapacitet_sp51", "kapacitet_sp62"):
        if c in table.columns:
            df[c] = table[c]
    del table
    n = len(df)
    has_xy = np.zeros(n, dtype=bool) if x is None else (x.notna() & y.notna()).to_numpy()
    geoms = np.full(n, None, dtype=object)
    if x is not None and has_xy.any():
        xs, ys = x.to_numpy(dtype=float)[has_xy], y.to_numpy(dtype=float)[has_xy]
        if crs != ANALYSIS_CRS:  # project the coordinate arrays, then make the points once
            from pyproj import Transformer
            xs, ys = Transformer.from_crs(crs, ANALYSIS_CRS, always_xy=True).transform(xs, ys)
        geoms[has_xy] = shapely.points(xs, ys)
    df["precision"] = np.where(has_xy, "koordinat", "postnummer")
    need_post = np.flatnonzero(~has_xy)
    lines = df.index.to_numpy()
    if len(need_post):
        post = _postcode_points(dd, path)
        pnr = df["postnr"].to_numpy(dtype=object)[need_post] if "postnr" in df.columns else np.full(len(need_post), None)
        found = {p: _lookup_postcode(post, p) for p in pd.unique(pnr[pd.notna(pnr)])}
        points = np.array([None if p is None else found.get(p) for p in pnr], dtype=object)
        geoms[need_post] = points
        missing = pd.isna(pnr)
        coord_cols = {c for c in (cols["lat"], cols["lon"], cols["x"], cols["y"]) if c is not None}
        unread = np.isin(lines[need_post], [ln for (ln, c) in report.unread if c in coord_cols])
        for mask, why, why_da in ((missing & ~unread, "no coordinates and no postcode", "uden koordinater og postnummer"),
                                  (missing & unread, "coordinates that could not be read (see the notes on those cells) "
                                   "and no postcode", "koordinaterne kunne ikke læses, og der er intet postnummer")):
            if mask.any():
                rec = _left_out.left_out(path.name, lines[need_post[mask]], why, why_da)
                notes.append(rec.note)
                if left is not None:
                    left.append(rec)
        unknown = ~missing & pd.isna(points)
        if unknown.any():
            rows = lines[need_post[unknown]]
            codes_shown = sorted({str(p) for p in pnr[unknown]})
            rec = _left_out.left_out(path.name, rows, "their postcode is not in the postcode layer",
                                     "postnummeret findes ikke i postnummerlaget",
                                     examples=[f"postcode {c}" for c in codes_shown])
            notes.append(rec.note)
            if left is not None:
                left.append(rec)
    df["kilde_linje"] = lines
    ok = pd.notna(geoms)
    gdf = gpd.GeoDataFrame(df[ok], geometry=gpd.GeoSeries(geoms[ok], index=df.index[ok], crs=ANALYSIS_CRS), crs=ANALYSIS_CRS)
    return gdf


def _capacity_numbers(gdf, col: str, path: Path, notes: list[str], cells: _Cells, *, row: str = "line") -> np.ndarray:
    """A capacity column stored as text (a GeoPackage field, or a table column with stray text):
    each cell parsed as a Danish number; a cell that is not one, or reads two ways (``1.250``),
    becomes missing and is named in the notes, never coerced silently (a cell out of range or with
    a unit is kept in ``cells`` for :func:`_check_capacities`, which refuses it). Each distinct text
    is parsed once."""
    from kkr_geo.layers.indicators import _distinct
    from kkr_geo.layers.numbers import is_ambiguous, parse_array, unit_of

    codes, uniq = _distinct(gdf[col])
    values, bad = parse_array(uniq, decimal=",")
    ambiguous = np.fromiter((is_ambiguous(v) for v in uniq), dtype=bool, count=len(uniq))
    unit = np.array([unit_of(v) if not b else "" for v, b in zip(uniq, bad | ambiguous)], dtype=object)
    unread = bad | ambiguous
    values[unread] = np.nan
    lines = gdf["kilde_linje"].to_numpy()
    rows = np.flatnonzero(unread[codes])
    for i in rows:
        cells.unread[(int(lines[i]), col)] = str(uniq[codes[i]])
    for i in np.flatnonzero((unit != "")[codes]):
        cells.units[(int(lines[i]), col)] = str(uniq[codes[i]]).strip()
    if len(rows):
        shown = [f"{row} {lines[i]}: {uniq[codes[i]]!r}" for i in rows[:10]]
        notes.append(f"{path.name}: column {col}: {len(rows)} cell(s) are not an unambiguous number and were read as "
                     f"missing capacity ({'; '.join(shown)}{' ...' if len(rows) > 10 else ''}); write them as Danish "
                     "numbers (1,25) or give the number format (--decimal/--thousands)")
    return values[codes]


def _range_problem(text: str) -> str | None:
    """Why a cell is out of a float's range (``inf``, ``1E400``, ``1E-400``), read either way; None otherwise."""
    from kkr_geo.layers.numbers import NumberFormatError, NumberRangeError, parse_number
    for dec in (",", "."):
        try:
            parse_number(text, decimal=dec)
        except NumberRangeError as exc:
            return str(exc).split(" ", 1)[1]
        except NumberFormatError:
            continue
    return None


def _check_capacities(gdf, path: Path, notes: list[str], cells: _Cells, *, row: str = "line") -> None:
    """Refuse a capacity that cannot be one (negative, infinite, out of range, with a unit), listing
    every such cell with its line, clinic and column; list missing capacities and capacities of 0 in
    the notes (the clinic is kept as a location). Column-wise: the cells are classified as arrays and
    only the ones shown are formatted."""
    errors: list[tuple[int, str]] = []   # (row position, message), counted in full, shown in part
    lines = gdf["kilde_linje"].to_numpy()
    names = gdf["navn"].to_numpy(dtype=object)
    for col in CAPACITY_COLUMNS:
        if col not in gdf.columns:
            continue
        v = pd.to_numeric(gdf[col], errors="coerce").to_numpy(dtype=float)
        noted = {line for (line, c) in (*cells.units, *cells.unread) if c == col}
        special = np.isin(lines, np.fromiter(noted, dtype=np.int64, count=len(noted))) if noted else np.zeros(len(v), bool)
        missing: list[int] = []
        unread_shown: dict[int, str] = {}
        for i in np.flatnonzero(special):
            key = (int(lines[i]), col)
            where = f"{row} {lines[i]} ({names[i]}): {col}"
            if key in cells.units:
                errors.append((i, f"{where} {cells.units[key]!r} carries a unit; a capacity is a plain number"))
            elif key in cells.unread and (why := _range_problem(cells.unread[key])):
                errors.append((i, f"{where} {cells.unread[key]!r} {why}"))
            elif np.isnan(v[i]):
                missing.append(int(i))
                unread_shown[int(i)] = repr(cells.unread[key]) if key in cells.unread else "empty"
        plain = ~special
        for i in np.flatnonzero(plain & np.isinf(v)):
            errors.append((i, f"{row} {lines[i]} ({names[i]}): {col} is {v[i]:g}, infinite"))
        for i in np.flatnonzero(plain & np.isfinite(v) & (v < 0)):
            errors.append((i, f"{row} {lines[i]} ({names[i]}): {col} is negative ({f'{v[i]:g}'.replace('.', ',')})"))
        missing_rows = np.union1d(np.array(missing, dtype=np.int64), np.flatnonzero(plain & np.isnan(v)))
        zero_rows = np.flatnonzero(plain & (v == 0))
        if len(missing_rows):
            shown = [f"{row} {lines[i]} ({names[i]}): {unread_shown.get(int(i), 'empty')}" for i in missing_rows[:10]]
            notes.append(f"{path.name}: column {col}: no capacity for {len(missing_rows)} clinic(s) "
                         f"({_shown(shown, len(missing_rows))}); they count as locations (coverage, maps), but 2SFCA "
                         "(access) refuses a clinic without capacity")
        if len(zero_rows):
            shown = [f"{row} {lines[i]} ({names[i]})" for i in zero_rows[:10]]
            notes.append(f"{path.name}: column {col}: capacity 0 for {len(zero_rows)} clinic(s) "
                         f"({_shown(shown, len(zero_rows))}); they add no capacity in 2SFCA (access)")
    if errors:
        errors.sort(key=lambda e: lines[e[0]])
        text = [m for _, m in errors]
        raise InputError(f"{path}: {len(text)} capacity cell(s) that cannot be a capacity:\n  "
                         + "\n  ".join(text[:20]) + (f"\n  ... and {len(text) - 20} more" if len(text) > 20 else ""),
                         hint="a capacity is a number of 0 or more without a unit (e.g. 2,5; 0,5 for half a "
                              "full-time capacity); fix those cells, or leave a cell empty when the capacity is unknown.")


def _shown(rows: list[str], total: int | None = None) -> str:
    total = len(rows) if total is None else total
    return "; ".join(rows[:10]) + (f"; ... and {total - 10} more" if total > 10 else "")


def _lookup_postcode(post: pd.DataFrame, pnr):
    if pnr is None:
        return None
    n = int(pnr)
    hit = post[(post["lo"] <= n) & (post["hi"] >= n)]
    return None if hit.empty else hit.geometry.iloc[0]


def _postcode_points(dd: DataDir, path: Path) -> gpd.GeoDataFrame:
    ppath = dd.file(catalog.DATASETS["dagi_postnumre"].path)
    if not ppath.exists():
        raise DataError(f"{path}: some clinics have only a postcode, and the postcode polygons ({ppath}) are missing.",
                        hint="run `kkr-geo data fetch`, or give those clinics coordinates.")
    post = read_vector(ppath)
    diss = post.dissolve(by="POSTNR_TXT").reset_index()
    ranges = [postcode_range(t) or (-1, -1) for t in diss["POSTNR_TXT"]]
    diss["lo"] = [r[0] for r in ranges]
    diss["hi"] = [r[1] for r in ranges]
    return diss.set_geometry(diss.geometry.representative_point())


def _drop_outside_denmark(gdf: gpd.GeoDataFrame, path: Path, notes: list[str], dd: DataDir, *, left: list | None = None,
                          row: str = "line") -> gpd.GeoDataFrame:
    """Clinics must lie in Denmark (on land, not just inside its bounding box, which holds Malmø and
    Helsingborg): the others are left out, named in the notes and listed in ``attrs['left_out']``."""
    from kkr_geo.layers import _left_out
    from kkr_geo.layers.denmark import split_outside_denmark

    def label(idx, r):
        return f"{row} {r['kilde_linje']} ({r['navn']})"

    inside, report = split_outside_denmark(gdf, source=path.name, data_dir=dd, label=label)
    notes += report.lines()
    inside.attrs["left_out"] = list(report.left_out)
    if report.left_out and left is not None:
        out_lines = sorted(set(gdf["kilde_linje"].tolist()) - set(inside["kilde_linje"].tolist()))
        rec = _left_out.left_out(path.name, out_lines, "outside Denmark", "uden for Danmark", unit=row)
        left.append(rec)
    return inside
