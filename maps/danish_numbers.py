"""Danish number formatting and HTML escaping for map-facing text.

Danish convention: thousands separator ``.``, decimal separator ``,`` (1.234,5). A missing value
is shown as an en dash. Every string that reaches HTML goes through :func:`esc`.
"""

from __future__ import annotations

import math
from numbers import Number

MISSING = "–"


def _is_missing(value) -> bool:
    if value is None or type(value).__name__ in ("NAType", "NaTType"):  # pandas' NA/NaT: never print "<NA>"
        return True
    try:
        return bool(isinstance(value, float) and math.isnan(value)) or (hasattr(value, "__float__") and math.isnan(float(value)))
    except (TypeError, ValueError):
        return False


def fmt_number(value, decimals: int = 0, *, unit: str | None = None) -> str:
    """Format ``value`` the Danish way: ``fmt_number(1234.5, 1) == '1.234,5'``.

    ``-0`` is printed as ``0``; a missing value (None/NaN) as an en dash.
    """
    if _is_missing(value):
        return MISSING
    if not isinstance(value, Number):
        try:
            value = float(value)
        except (TypeError, ValueError):
            return str(value)
    decimals = max(0, int(decimals))
    text = f"{float(value):,.{decimals}f}"
    if text.lstrip("-").strip("0.,") == "":
        text = text.lstrip("-")
    text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return f"{text} {unit}" if unit else text


def fmt_percent(value, decimals: int = 0) -> str:
    """``fmt_percent(12.5, 1) == '12,5 %'`` (value in percent, Danish spacing)."""
    if _is_missing(value):
        return MISSING
    return f"{fmt_number(value, decimals)} %"


def fmt_range(lo, hi, decimals: int = 0) -> str:
    """A class interval for a legend: ``'1.234–2.345'``."""
    return f"{fmt_number(lo, decimals)}–{fmt_number(hi, decimals)}"


def fmt_value(value, decimals: int | None = None) -> str:
    """Format any attribute value for a tooltip: numbers Danish, text as is (not yet escaped)."""
    if _is_missing(value):
        return MISSING
    if isinstance(value, bool):
        return "ja" if value else "nej"
    if isinstance(value, Number):
        if decimals is None:
            f = float(value)
            decimals = 0 if float(f).is_integer() or abs(f) >= 100 else (1 if abs(f) >= 10 else 2)
        return fmt_number(value, decimals)
    return str(value)


def esc(text) -> str:
    """HTML-escape a user string (quotes too, so it is also safe inside attributes); see geo.safe_text."""
    from kkr_geo.geo.safe_text import html_text
    return html_text(text)


def fmt_date_da(iso: str) -> str:
    """``'2024-03-01'`` -> ``'1.3.2024'`` (Danish short date); other strings are returned unchanged."""
    parts = str(iso).split("-")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        y, m, d = parts
        return f"{int(d)}.{int(m)}.{y}"
    return str(iso)


POPULATION_ROUNDING = 100  # the rounding kkr_geo.layers.analyses.POPULATION_METHOD_NOTE states on the maps


def fmt_population_approx(value, step: int = POPULATION_ROUNDING) -> str:
    """A population estimate rounded to what the method supports: ``'ca. 21.000'`` for 21.044 (nearest
    ``step``), ``'under 100'`` for less than half a step, ``'0'`` for none; missing -> en dash."""
    from kkr_geo.layers.numbers import population_approx_da
    return population_approx_da(value, step)
