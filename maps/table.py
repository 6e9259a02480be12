"""A table of figures printed under a map (``table:`` in a spec) and shown as a panel in the HTML map.

The table is made from a *source* (not a drawn layer), so rows without geometry ("ikke stedfæstet")
are listed too: nothing is dropped. Numbers are written in Danish format; every cell is HTML-escaped
in the HTML panel.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd

from kkr_geo.maps.danish_numbers import fmt_number


@dataclass
class MapTable:
    title: str
    headers: list[str]
    rows: list[list[str]]
    numeric: list[bool]


def _cell(v, numeric: bool) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    if numeric:
        f = float(v)
        return fmt_number(f, 0 if f.is_integer() or abs(f) >= 100 else 1)
    return str(v)


def make_table(spec_table: dict, sources) -> MapTable:
    gdf = sources.get(spec_table["source"])
    cols = spec_table["columns"]
    missing = [c for c in cols if c not in gdf.columns]
    if missing:
        from kkr_geo.geo.errors import InputError
        raise InputError(f"table.columns: {', '.join(missing)} not in source {spec_table['source']!r}.")
    numeric = [pd.api.types.is_numeric_dtype(gdf[c]) for c in cols]
    rows = [[_cell(v, n) for v, n in zip(rec, numeric)] for rec in gdf[list(cols)].itertuples(index=False)]
    return MapTable(spec_table.get("title") or "", list(cols.values()), rows, numeric)


def table_height_mm(t: MapTable, fs: float) -> float:
    return (len(t.rows) + 2.5) * 5.6 * fs * 0.3528 * 1.45 + 4


def draw_table(fig, t: MapTable, x_mm: float, y_top_mm: float, width_mm: float, W: float, H: float, fs: float) -> None:
    """Draw ``t`` at (x, y_top) in page millimetres, columns sized by their longest cell."""
    size = 5.6 * fs
    line_h = size * 0.3528 * 1.45
    char_w = size * 0.3528 * 0.56
    # bold headers are ~15 % wider than the body text
    widths = [max(int(len(h) * 1.15) + 1, *(len(r[i]) for r in t.rows)) if t.rows else len(h) + 1
              for i, h in enumerate(t.headers)]
    total = sum(widths) * char_w
    limit = [w for w in widths]
    if total > width_mm:  # shorten the widest text columns until the table fits
        while sum(limit) * char_w > width_mm and max(limit) > 12:
            i = limit.index(max(limit))
            limit[i] -= 1
    y = y_top_mm
    if t.title:
        fig.text(x_mm / W, y / H, t.title, fontsize=size * 1.15, fontweight="bold", va="top", ha="left")
        y -= line_h * 1.3
    xs, x = [], x_mm
    for w in limit:
        xs.append(x)
        x += (w + 1.5) * char_w

    def clip(text, n):
        return text if len(text) <= n else text[: max(1, n - 1)] + "…"
    for i, h in enumerate(t.headers):
        if t.numeric[i]:  # right-aligned over right-aligned figures
            fig.text((xs[i] + limit[i] * char_w) / W, y / H, h, fontsize=size, fontweight="bold", va="top", ha="right")
        else:
            fig.text(xs[i] / W, y / H, clip(h, limit[i]), fontsize=size, fontweight="bold", va="top", ha="left")
    y -= line_h
    for r in t.rows:
        for i, v in enumerate(r):
            if t.numeric[i]:
                fig.text((xs[i] + limit[i] * char_w) / W, y / H, v, fontsize=size, va="top", ha="right")
            else:
                fig.text(xs[i] / W, y / H, clip(v, limit[i]), fontsize=size, va="top", ha="left", color="#1a1a1a")
        y -= line_h


def table_html(t: MapTable) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in t.headers)
    body = "".join("<tr>" + "".join(f"<td class=\"{'n' if n else 't'}\">{html.escape(v)}</td>" for v, n in zip(r, t.numeric))
                   + "</tr>" for r in t.rows)
    style = ("<style>.kkr-table{position:absolute;bottom:86px;left:10px;z-index:1000;max-width:min(46%,640px);max-height:62%;overflow:auto;"
             "background:rgba(255,255,255,.96);padding:6px 8px;font:11px/1.35 sans-serif;border:1px solid #bbb}"
             ".kkr-table table{border-collapse:collapse}.kkr-table th{text-align:left;border-bottom:1px solid #999;"
             "position:sticky;top:0;background:#fff}.kkr-table td{padding:1px 6px 1px 0;vertical-align:top}"
             ".kkr-table td.n{text-align:right;white-space:nowrap}</style>")
    # small screens show the short summary (the table starts closed there, maps/html_access.py)
    return (style + f"<details class=\"kkr-table\" open><summary><span class=\"kkr-table-long\"><b>"
            f"{html.escape(t.title or 'Tabel')}</b> ({len(t.rows)} rækker)</span>"
            f"<span class=\"kkr-table-short\"><b>Tabel</b> ({len(t.rows)} rækker)</span></summary><table><caption class=\"kkr-table-cap\">{html.escape(t.title or 'Tabel')}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></details>")
