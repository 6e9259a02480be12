"""Join indicator tables onto layers by kommunekode or by (normalised) name, with a report."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from kkr_geo.geo.errors import InputError
from kkr_geo.layers.keys import key_kind, normalise_kommunekode, normalise_name


@dataclass
class JoinReport:
    table_column: str
    layer_column: str
    key_kind: str                                  # "code" or "name"
    matched: int = 0
    unmatched_table: list[tuple[object, str]] = field(default_factory=list)   # (line/row, key)
    unmatched_layer: list[str] = field(default_factory=list)
    duplicated_table: list[tuple[object, str]] = field(default_factory=list)  # rows not used
    unreadable_keys: list[tuple[object, str]] = field(default_factory=list)
    # duplicate rows whose values differ from the row used: (line not used, key, line used, {column: (used, not used)})
    conflicting: list[tuple[object, str, object, dict]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not (self.unmatched_table or self.unmatched_layer or self.duplicated_table or self.unreadable_keys)

    def lines(self) -> list[str]:
        out = [f"joined {self.matched} feature(s) on {self.layer_column} = table column {self.table_column!r} ({self.key_kind})"]
        if self.unmatched_table:
            out.append("table rows matching no feature: " + "; ".join(f"line {r}: {k!r}" for r, k in self.unmatched_table))
        if self.unmatched_layer:
            out.append("features with no table row: " + ", ".join(self.unmatched_layer))
        if self.duplicated_table:
            out.append("duplicate keys (row not used, the first occurrence was): "
                       + "; ".join(f"line {r}: {k!r}" for r, k in self.duplicated_table))
        for line, key, used, diffs in self.conflicting:
            out.append(f"duplicate key {key!r} with different values: line {used} (used) and line {line} (not used) give "
                       + "; ".join(f"{c} {_show(a)} vs {_show(b)}" for c, (a, b) in diffs.items())
                       + " - check which is right")
        if self.unreadable_keys:
            out.append("rows with an empty or unreadable key: " + "; ".join(f"line {r}: {k!r}" for r, k in self.unreadable_keys))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def join_indicators(layer: gpd.GeoDataFrame, table: pd.DataFrame, on: str | None = None, *,
                    layer_on: str | None = None, columns: list[str] | None = None,
                    strict: bool = False, suffix: str = "_tabel") -> tuple[gpd.GeoDataFrame, JoinReport]:
    """Join ``table`` onto ``layer``.

    ``on`` is the table's key column (default: the first column that looks like a kommunekode,
    else the first text column). Keys are matched as kommunekoder in any form (``101``, ``0101``,
    ``101.0``) or as names normalised for case, spaces, hyphens, a "Kommune" suffix and æ/ø/å
    spellings. ``layer_on`` defaults to ``kommunekode`` for codes and ``navn`` for names.

    Returns the joined layer (every feature kept; table columns missing where no row matched)
    and a :class:`JoinReport`. ``strict=True`` raises :class:`InputError` with the report when
    anything does not match one-to-one.
    """
    source = table.attrs.get("source_path", "table")
    if on is None:
        on = _guess_key_column(table)
    if on not in table.columns:
        raise InputError(f"{source}: no column {on!r} to join on.", hint=f"columns are: {', '.join(map(str, table.columns))}.")
    kind = key_kind(table[on].tolist())
    if kind == "name" and "kode" in str(on).lower() and key_kind(table[on].tolist(), threshold=0.5) == "code":
        # a 'kommunekode' column with a few unreadable cells is still a code column: join on codes
        # and report those cells, rather than matching every row by name and matching nothing
        kind = "code"
    if layer_on is None:
        layer_on = "kommunekode" if kind == "code" else "navn"
    if layer_on not in layer.columns:
        raise InputError(f"layer {layer.attrs.get('layer', '')!r} has no column {layer_on!r} to join on.",
                         hint=f"pass layer_on= one of: {', '.join(c for c in layer.columns if c != 'geometry')}.")
    norm = normalise_kommunekode if kind == "code" else normalise_name
    report = JoinReport(str(on), layer_on, kind)

    layer_keys = pd.Series([norm(v) for v in layer[layer_on].tolist()], index=layer.index, dtype=object)
    if kind == "name" and layer_keys.duplicated().any():
        dups = layer.loc[layer_keys.duplicated(keep=False), layer_on].tolist()
        raise InputError(f"layer key {layer_on!r} is not unique after normalisation: {dups}.",
                         hint="join on a unique column (e.g. kommunekode).")
    table_keys = [norm(v) for v in table[on].tolist()]  # a plain list: pandas would turn None into NaN
    rows = {}
    for line, raw, key in zip(table.index, table[on], table_keys):
        if key is None or raw is None or (isinstance(raw, float) and pd.isna(raw)):
            report.unreadable_keys.append((line, "" if raw is None else str(raw)))
        elif key in rows:
            report.duplicated_table.append((line, str(raw)))
        else:
            rows[key] = line
    use_cols = [c for c in (columns or table.columns) if c != on]
    for line, raw in report.duplicated_table:
        first_line = rows[norm(raw)]
        diffs = {c: (table.at[first_line, c], table.at[line, c]) for c in use_cols
                 if not _same(table.at[first_line, c], table.at[line, c])}
        if diffs:
            report.conflicting.append((line, raw, first_line, diffs))
    layer_key_set = set(layer_keys.dropna())
    report.unmatched_table = [(rows[k], str(table.at[rows[k], on])) for k in rows if k not in layer_key_set]
    report.unmatched_layer = [str(v) for v, k in zip(layer[layer_on], layer_keys) if k not in rows]
    report.matched = int(sum(k in rows for k in layer_keys))

    first = table.loc[[rows[k] for k in rows], use_cols].copy()
    first.index = list(rows)
    rename = {c: (f"{c}{suffix}" if c in layer.columns else c) for c in use_cols}
    first = first.rename(columns=rename)
    joined = layer.copy()
    for c in first.columns:
        joined[c] = layer_keys.map(first[c]).values
    joined.attrs = dict(layer.attrs)
    joined.attrs["join_report"] = report.lines()
    if strict and not report.complete:
        raise InputError(f"{source}: join onto {layer.attrs.get('layer', 'layer')!r} is not one-to-one:\n  "
                         + "\n  ".join(report.lines()[1:]),
                         hint="fix the keys in the table, or join without strict=True and read the report.")
    return joined, report


def _same(a, b) -> bool:
    try:
        if pd.isna(a) and pd.isna(b):
            return True
    except (TypeError, ValueError):
        pass
    return bool(a == b)


def _show(v) -> str:
    if isinstance(v, float):
        return "empty" if pd.isna(v) else f"{v:g}"
    return "empty" if v is None else repr(v)


def _guess_key_column(table: pd.DataFrame) -> str:
    for c in table.columns:
        if "kode" in str(c).lower() and key_kind(table[c].tolist()) == "code":
            return c
    for c in table.columns:
        if table[c].dtype == object:
            return c
    return table.columns[0]
