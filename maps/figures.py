"""The figures behind a map as plain tables, shared by the annex PDF, the index page and ``<map>_tal.csv``.

The numbers are the map's own: the indicator column with the spec's decimals, tooltip columns rounded the way the
tooltips round them (:func:`kkr_geo.maps.danish_numbers.fmt_value`), catchment populations as whole people as in the map's figure
box. A map's *message* (alt text of the map image, one line on the index page) is generated from the first table:
the areas with the highest and lowest values, with those values.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from numbers import Number

import pandas as pd

from kkr_geo.maps.danish_numbers import MISSING, fmt_number, fmt_population_approx
from kkr_geo.maps.prepare import PreparedMap

NOT_COUNTED = "ikke opgjort"
# Styles whose layers never carry figures (drawn for orientation only).
_NO_FIGURES = ("context", "outline")
COVERAGE_COLUMNS = {"population": ("Befolkning", 0, 1.0), "population_beyond": ("Befolkning uden for", 0, 1.0),
                    "share_beyond": ("Andel uden for (%)", 1, 100.0)}


def shown_decimals(value, decimals: int | None) -> int:
    """The number of decimals a map shows for ``value``: ``decimals`` when the spec fixes it, else the
    tooltip rule of :func:`kkr_geo.maps.danish_numbers.fmt_value` (whole numbers and values >= 100: 0; >= 10: 1; else 2)."""
    if decimals is not None:
        return max(0, int(decimals))
    f = float(value)
    return 0 if f.is_integer() or abs(f) >= 100 else (1 if abs(f) >= 10 else 2)


def _missing(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


@dataclass
class Column:
    header: str
    decimals: int | None = None   # None: the tooltip rule; ignored for text columns
    numeric: bool = True
    unit: str | None = None       # used in the message ("1.234 borgere")
    key: bool = False             # the column the message ranks the rows by
    approx_population: bool = False  # a modelled population: shown as the map shows it ("ca. 21.000"); CSV exact


@dataclass
class FigureTable:
    """One table: ``rows[i][0]`` is the row's name (text), the other cells numbers (NaN = missing) or text."""

    caption: str
    columns: list[Column]
    rows: list[list]
    missing_text: str = MISSING
    notes: list[str] = field(default_factory=list)
    name_parts: int = 1           # leading text columns that together name a row in the message ("A → B")

    def row_name(self, i: int) -> str:
        return " → ".join(str(v) for v in self.rows[i][:self.name_parts])

    def text(self, i: int, j: int) -> str:
        """Cell (i, j) as the map shows it (Danish number format)."""
        value, col = self.rows[i][j], self.columns[j]
        if _missing(value):
            return self.missing_text if col.numeric else ""
        if col.numeric and isinstance(value, Number) and not isinstance(value, bool):
            if col.approx_population:
                return fmt_population_approx(value)
            return fmt_number(value, shown_decimals(value, col.decimals))
        return str(value)

    def csv_cell(self, i: int, j: int) -> str:
        """Cell (i, j) for a Danish Excel CSV: same rounding, decimal comma, no thousands separator."""
        value, col = self.rows[i][j], self.columns[j]
        if _missing(value):
            return ""
        if col.numeric and isinstance(value, Number) and not isinstance(value, bool):
            d = shown_decimals(value, col.decimals)
            text = f"{round(float(value), d):.{d}f}"
            if text.lstrip("-").strip("0.") == "":
                text = text.lstrip("-")
            return text.replace(".", ",")
        return str(value)

    def texts(self) -> list[list[str]]:
        return [[self.text(i, j) for j in range(len(self.columns))] for i in range(len(self.rows))]


@dataclass
class MapFigures:
    name: str
    tables: list[FigureTable]
    lead: str              # what the map shows
    summary: str | None    # what it says: highest and lowest areas with their values

    @property
    def message(self) -> str:
        """One or two sentences: the alt text of the map image."""
        return f"{self.lead} {self.summary}" if self.summary else self.lead

    @property
    def sentence(self) -> str:
        """The message in one sentence (index page)."""
        return self.summary or self.lead

    def csv(self) -> str:
        """All tables as one Danish Excel CSV (';', decimal comma, UTF-8 with BOM). Several tables are written
        one after another, each headed by its caption, separated by an empty line."""
        def line(cells):
            return ";".join(_csv_quote(c) for c in cells)
        blocks = []
        for t in self.tables:
            lines = [] if len(self.tables) == 1 else [line([t.caption])]
            lines.append(line([c.header for c in t.columns]))
            lines += [line([t.csv_cell(i, j) for j in range(len(t.columns))]) for i in range(len(t.rows))]
            blocks.append("\n".join(lines))
        return "\ufeff" + "\n\n".join(blocks) + "\n"


def _csv_quote(text: str) -> str:
    text = str(text)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number_text(text):
        text = "'" + text  # a spreadsheet would run it as a formula
    if any(ch in text for ch in ';"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _is_number_text(text: str) -> bool:
    return re.fullmatch(r"-?\d+(,\d+)?", text) is not None


# -- building the tables ------------------------------------------------------------------------------------------


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _name_column(gdf: pd.DataFrame, columns: list[str]) -> str | None:
    for c in columns:
        if c in gdf.columns and not _is_numeric(gdf[c]):
            return c
    return next((c for c in ("navn", "planomraade", "feature") if c in gdf.columns), None)


def _layer_table(pm: PreparedMap, lay, *, sort_col: str | None = None) -> FigureTable | None:
    """A table of one layer's tooltip columns (the first text column names the rows)."""
    gdf = lay.gdf
    cols = [c for c in lay.spec.tooltip if c in gdf.columns]
    ind = pm.spec.indicator
    is_ind = ind is not None and ind.layer == lay.spec.id
    if is_ind and ind.column not in cols:
        cols.append(ind.column)
    name_col = _name_column(gdf, cols)
    if name_col is None or not any(_is_numeric(gdf[c]) for c in cols if c != name_col):
        return None
    cols = [name_col] + [c for c in cols if c != name_col]
    names = lay.spec.tooltip_names
    columns = []
    for c in cols:
        numeric = c != name_col and _is_numeric(gdf[c])
        decimals = ind.decimals if is_ind and c == ind.column else None
        unit = ind.unit if is_ind and c == ind.column else None
        header = ind.label if is_ind and c == ind.column and c not in names else names.get(c, c)
        columns.append(Column(header, decimals, numeric, unit, key=is_ind and c == ind.column))
    df = gdf
    if "part" in df.columns:  # flow lines: the arrowheads are a drawing device, not data
        df = df[df["part"] == "linje"]
    df = df[cols].copy()
    sort_col = sort_col or (ind.column if is_ind else next((c for c in cols[1:] if _is_numeric(gdf[c])), None))
    if sort_col is not None:
        df = df.sort_values(sort_col, ascending=False, na_position="last", kind="mergesort")
    rows = [[None if _missing(v) else v for v in rec] for rec in df.itertuples(index=False, name=None)]
    rows = [[str(r[0])] + r[1:] for r in rows]
    caption = lay.label
    if sort_col is not None and len(rows) > 1:
        header = columns[cols.index(sort_col)].header
        caption += f", sorteret efter {_lower_first(header)} (størst først)"
    flow_names = lay.style == "flow" and len(cols) > 1 and not columns[1].numeric
    return FigureTable(caption, columns, rows, name_parts=2 if flow_names else 1)


def _catchment_table(pm: PreparedMap) -> FigureTable | None:
    figures = pm.figures()
    if not figures:
        return None
    title, heads, rows = figures
    columns = [Column("Projekt", numeric=False)]
    columns += [Column(f"Inden for {h}", 0, True, "borgere", key=k == len(heads) - 1, approx_population=True)
                for k, h in enumerate(heads)]
    out = [[r.name, *[float(v) for v in r.values]] for r in rows]
    key = len(heads)  # the widest ring's column
    out.sort(key=lambda r: (_missing(r[key]), -(r[key] if not _missing(r[key]) else 0)))
    if any(r.note for r in rows):  # what the print map's figure box says in brackets ("kun regionens del")
        notes = {r.name: r.note or "" for r in rows}
        columns.append(Column("Bemærkning", numeric=False))
        out = [[*r, notes[r[0]]] for r in out]
    return FigureTable(f"{title} (borgere), sorteret efter befolkningen {_lower_first(columns[-1].header)} (flest først)",
                       columns, out,
                       missing_text=NOT_COUNTED)


def _coverage_table(pm: PreparedMap, lay, tables: dict[str, pd.DataFrame], meta: dict) -> FigureTable | None:
    """Per municipality: population, population beyond the threshold and its share (from the coverage analysis)."""
    df = tables.get(lay.spec.source)
    if df is None or not {"area_name", "population_beyond"} <= set(df.columns):
        return None
    if "area_type" in df.columns:
        kom = df[df["area_type"] == "kommune"]
        total = df[df["area_type"] == "total"]
        kom = kom.sort_values("share_beyond" if "share_beyond" in kom.columns else "population_beyond",
                              ascending=False, kind="mergesort")
        outside = kom["area_name"].astype(str).str.startswith("(")  # "(uden for områder)": after the municipalities
        df = pd.concat([kom[~outside], kom[outside], total])
    keys = [c for c in COVERAGE_COLUMNS if c in df.columns]
    threshold = (meta.get(lay.spec.source) or {}).get("threshold_m")
    beyond = f"over {fmt_number(threshold, 0)} m" if threshold else "uden for"
    columns = [Column("Kommune", numeric=False)]
    columns += [Column(COVERAGE_COLUMNS[c][0].replace("uden for", beyond), COVERAGE_COLUMNS[c][1], True,
                       "%" if c == "share_beyond" else "borgere", key=c == "share_beyond") for c in keys]
    rows = []
    for rec in df.itertuples(index=False):
        row = [str(rec.area_name)]
        for c in keys:
            v = getattr(rec, c)
            row.append(None if _missing(v) else float(v) * COVERAGE_COLUMNS[c][2])
        rows.append(row)
    return FigureTable(f"{lay.label}: befolkning fordelt på kommuner, sorteret efter andel (størst først)", columns, rows)


def map_figures(pm: PreparedMap, tables: dict[str, pd.DataFrame] | None = None,
                meta: dict[str, dict] | None = None) -> MapFigures:
    """The figure tables of a prepared map, primary table first, and the map's message. ``tables`` and ``meta``:
    the analysis tables and their metadata by source name; by default the prepared map's own
    (``pm.tables``/``pm.table_meta``, taken when it was prepared)."""
    tables = (getattr(pm, "tables", None) or {}) if tables is None else tables
    meta = (getattr(pm, "table_meta", None) or {}) if meta is None else meta
    out: list[FigureTable] = []
    ind_layer = pm.spec.indicator.layer if pm.spec.indicator else None
    if ind_layer:
        t = _layer_table(pm, pm.layer(ind_layer))
        if t:
            out.append(t)
    t = _catchment_table(pm)
    if t:
        out.append(t)
    for lay in pm.layers:
        if lay.style == "gap":
            t = _coverage_table(pm, lay, tables, meta)
            if t:
                out.append(t)
    layer_tables = []
    for lay in pm.layers:
        if lay.spec.id == ind_layer or lay.style in _NO_FIGURES or lay.style in ("gap", "catchment"):
            continue
        if lay.spec.tooltip:
            t = _layer_table(pm, lay)
            if t:
                layer_tables.append((lay.style == "fill", t))  # project layers before area fills
    out += [t for _, t in sorted(layer_tables, key=lambda p: p[0])]
    analytic = bool(out) and (pm.spec.indicator is not None or pm.figures() is not None
                              or any(lay.style in ("gap", "flow") for lay in pm.layers))
    lead, summary = _message(pm, out) if analytic else (_overview_lead(pm), _largest(out[0]) if out else None)
    return MapFigures(pm.spec.name, out, lead, summary)


# -- the message ---------------------------------------------------------------------------------------------------


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " og " + items[-1]


def _with_value(t: FigureTable, i: int, j: int) -> str:
    unit = t.columns[j].unit
    text = t.text(i, j)
    if unit == "%":
        text += " %"
    elif unit:
        text += f" {unit}"
    return f"{t.row_name(i)} ({text})"


def _value_column(t: FigureTable) -> int | None:
    keyed = [j for j, c in enumerate(t.columns) if c.key]
    if keyed:
        return keyed[0]
    return next((j for j in range(1, len(t.columns)) if t.columns[j].numeric), None)


def _lower_first(text: str) -> str:
    # "Borgere pr. kapacitet" -> "borgere pr. kapacitet", but "BRT-korridor" stays
    return text[0].lower() + text[1:] if text[:2].istitle() else text


def _overview_lead(pm: PreparedMap) -> str:
    counts = [f"{lay.label}: {fmt_number(len(lay.gdf), 0)}" for lay in pm.layers
              if lay.style in ("line", "point") and len(lay.gdf)]
    return f"{pm.spec.title}" + (f" med {_join(counts)}." if counts else ".")


def _largest(t: FigureTable) -> str | None:
    j = _value_column(t)
    idx = [i for i, r in enumerate(t.rows) if j is not None and not _missing(r[j])]
    if not idx:
        return None
    i = max(idx, key=lambda i: float(t.rows[i][j]))
    return f"Størst {_lower_first(t.columns[j].header)}: {_with_value(t, i, j)}."


def _message(pm: PreparedMap, tables: list[FigureTable]) -> tuple[str, str | None]:
    spec = pm.spec
    t = tables[0]
    j = _value_column(t)
    skip = [i for i, r in enumerate(t.rows) if r[0] == "I alt" or str(r[0]).startswith("(")]
    idx = [i for i, r in enumerate(t.rows) if i not in skip and j is not None and not _missing(r[j])]
    missing = [t.row_name(i) for i in range(len(t.rows)) if i not in skip and i not in idx]
    if spec.indicator is not None:
        lead = f"Kortet viser {_lower_first(spec.indicator.label)} i {len(t.rows)} områder."
    else:
        lead = f"{spec.title}."
    if j is None or not idx:
        return lead, None
    what = _lower_first(t.columns[j].header).replace(" (%)", "")
    catchment = t.missing_text == NOT_COUNTED
    idx.sort(key=lambda i: -float(t.rows[i][j]))
    k = min(3, len(idx) // 2)
    if k == 0:
        summary = f"{'Borgere ' + what if catchment else what[0].upper() + what[1:]}: {_with_value(t, idx[0], j)}."
    else:
        hi = [_with_value(t, i, j) for i in idx[:k]]
        lo = [_with_value(t, i, j) for i in reversed(idx[-k:])]
        most, least = ("Flest borgere", "færrest") if catchment else ("Flest", "færrest") if t.name_parts > 1 \
            else ("Højest", "lavest")
        summary = f"{most} {what}: {_join(hi)}; {least}: {_join(lo)}."
    total = [i for i, r in enumerate(t.rows) if r[0] == "I alt"]
    if total:
        summary = summary[:-1] + f"; i alt {t.text(total[0], j)}{' %' if t.columns[j].unit == '%' else ''}."
    if missing:
        summary = summary[:-1] + f"; {NOT_COUNTED} for {_join(missing)}."
    return lead, summary
