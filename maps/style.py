"""Shared cartographic style: default colours per layer style and the legend entries both renderers draw."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kkr_geo.maps.danish_numbers import fmt_number

COLOURS = {
    "fill": "#f0f0f0",
    "context": "#ececec",
    "outline": "#4d4d4d",
    "line": "#d95f02",
    "point": "#1b1b1b",
    "gap": "#e6550d",
    "flow": "#54278f",
}
CATCHMENT_COLOURS = ["#08519c", "#4292c6", "#9ecae1", "#c6dbef"]  # Blues, near to far
EDGE = "#ffffff"


@dataclass
class LegendEntry:
    kind: str            # "header", "patch", "line", "point", "hatch", "note" (small text line, no symbol)
    label: str
    colour: str = "#000000"
    edge: str | None = None
    dashed: bool = False
    alpha: float = 1.0
    width: float = 1.0


def band_column(gdf) -> str | None:
    for col in ("distance_m", "band", "afstand_m"):
        if col in gdf.columns:
            return col
    return None


def catchment_bands(gdf) -> list:
    col = band_column(gdf)
    if col is None:
        return []
    vals = pd.unique(gdf[col].dropna())
    try:
        return sorted(vals, key=float)
    except (TypeError, ValueError):
        return sorted(vals, key=str)


def catchment_colour(gdf, value) -> str:
    bands = catchment_bands(gdf)
    i = bands.index(value) if value in bands else len(bands) - 1
    return CATCHMENT_COLOURS[min(i, len(CATCHMENT_COLOURS) - 1)]


def band_label(bands, i) -> str:
    def num(v):
        try:
            return fmt_number(float(v), 0)
        except (TypeError, ValueError):
            return str(v)
    v = bands[i]
    try:
        float(v)
    except (TypeError, ValueError):
        return str(v)
    if i == 0:
        return f"Inden for {num(v)} m"
    return f"{num(bands[i - 1])}–{num(v)} m"


def _distance_parts(v) -> tuple[str, str]:
    d = float(v)
    if d >= 1000:
        return fmt_number(d / 1000, 0 if d % 1000 == 0 else 1), "km"
    return fmt_number(d, 0), "m"


def catchment_band_label(gdf, bands, i) -> str:
    """The legend/tooltip name of band ``i``. Catchments drawn from grid cells say what the area is: the
    inhabited cells reached (closed into areas, :mod:`kkr_geo.maps.catchment_areas`), "ad vej" when the
    distance is along the road network ("Beboet område 2–5 km ad vej")."""
    from kkr_geo.maps.catchment_areas import cell_size_of, is_network
    if cell_size_of(gdf) is None:
        return band_label(bands, i)
    try:
        hi, hi_unit = _distance_parts(bands[i])
        lo = _distance_parts(bands[i - 1]) if i > 0 else None
    except (TypeError, ValueError):
        return band_label(bands, i)
    how = " ad vej" if is_network(gdf) else ""
    if lo is None:
        return f"Beboet område inden for {hi} {hi_unit}{how}"
    lo_text = lo[0] if lo[1] == hi_unit else f"{lo[0]} {lo[1]}"
    return f"Beboet område {lo_text}–{hi} {hi_unit}{how}"


def catchment_area_note(gdf) -> str | None:
    """A legend line saying how grid-cell catchments are drawn, or None."""
    from kkr_geo.maps.catchment_areas import cell_size_of
    cell = cell_size_of(gdf)
    if cell is None:
        return None
    return (f"Tegnet som de beboede {fmt_number(cell, 0)} m-celler, der nås, samlet til områder; "
            "befolkningstallene er cellernes.")


def flow_width_scale(values, max_width: float = 8.0, min_width: float = 0.6):
    """Line width per flow value (linear in the value, capped)."""
    values = np.asarray(values, dtype=float)
    top = np.nanmax(values) if values.size and np.isfinite(values).any() else 1.0
    return lambda v: max(min_width, max_width * float(v) / top if top > 0 else min_width)


def nice_flow_steps(values) -> list[float]:
    values = np.asarray(values, dtype=float)
    top = float(np.nanmax(values)) if values.size else 0.0
    if top <= 0:
        return []
    exp = 10 ** np.floor(np.log10(top))
    steps = [s * exp for s in (1, 2, 5) if s * exp <= top]
    steps = sorted({float(top if s == steps[-1] else s) for s in steps}) if steps else [top]
    return [s for s in (top / 4, top / 2, top)] if len(steps) < 2 else steps


def legend_entries(pm) -> list[LegendEntry]:
    """Legend for a :class:`maps.prepare.PreparedMap`: indicator classes first, then other layers top-down."""
    out: list[LegendEntry] = []
    cls = pm.classification
    if cls is not None:
        out.append(LegendEntry("header", pm.legend_title()))
        for colour, label, _n in cls.legend_items():
            out.append(LegendEntry("patch", label, colour, edge="#808080"))
        for note in pm.legend_notes():
            out.append(LegendEntry("note", note))
    for lay in reversed(pm.layers):
        s = lay.spec
        if not s.legend or s.style == "choropleth":
            continue
        if s.style in ("line", "point") and not lay.gdf.geometry.notna().any():
            continue  # nothing drawn (e.g. no real alignment in the data): no legend entry that promises one
        colour = s.colour or COLOURS.get(s.style, "#333333")
        if s.style in ("fill", "context"):
            geom = lay.gdf.geom_type.iloc[0] if len(lay.gdf) else "Polygon"
            if "Line" in geom:
                out.append(LegendEntry("line", lay.label, s.colour or "#969696", dashed=lay.schematic, width=s.width or 0.8))
            else:
                out.append(LegendEntry("patch", lay.label, colour, edge="#bdbdbd"))
        elif s.style == "outline":
            out.append(LegendEntry("line", lay.label, colour, width=s.width or 0.8))
        elif s.style == "line":
            out.append(LegendEntry("line", lay.label, colour, dashed=lay.schematic, width=s.width or 2.0))
        elif s.style == "point":
            out.append(LegendEntry("point", lay.label, colour, edge="#ffffff"))
        elif s.style == "catchment":
            bands = catchment_bands(lay.gdf)
            out.append(LegendEntry("header", lay.label))
            for i, b in enumerate(bands):
                colour = catchment_colour(lay.gdf, b)
                out.append(LegendEntry("patch", catchment_band_label(lay.gdf, bands, i), colour, edge=colour, alpha=0.55))
            note = catchment_area_note(lay.gdf)
            if note:
                out.append(LegendEntry("note", note))
        elif s.style == "gap":
            out.append(LegendEntry("hatch", lay.label, colour, edge=colour, alpha=0.35))
        elif s.style == "flow":
            out.append(LegendEntry("header", lay.label))
            col = "antal" if "antal" in lay.gdf.columns else None
            if col:
                scale = flow_width_scale(lay.gdf[col])
                for v in nice_flow_steps(lay.gdf[col]):
                    out.append(LegendEntry("line", f"{fmt_number(v, 0)} patienter", colour, width=scale(v)))
    return out
