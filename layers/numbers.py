"""Parse numbers as they appear in Danish tables: ``1.234,5``, ``12,5 %``, ``-3``, ``1 234``.

The parser is strict: a value it cannot read is reported, never silently turned into NaN.
"""

from __future__ import annotations

import math
import re

_MISSING = {"", "-", "–", "—", "..", "...", "na", "n/a", "nan", "none", "null", "x", "#i/t", "#n/a"}
_SPACES = re.compile(r"[\s\u00a0\u202f]")
_DANISH = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$", re.ASCII)   # 1.234.567,89 / 1234,5
_ENGLISH = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$", re.ASCII)  # 1,234,567.89 / 1234.5
_PLAIN_SCI = re.compile(r"^[+-]?\d+(\.\d+)?[eE][+-]?\d+$", re.ASCII)


class NumberFormatError(ValueError):
    pass


def is_missing(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if not isinstance(value, str):
        return False
    if value[:1].isdigit() and value[-1:].isdigit():
        return False  # fast path for the common case: a number is never a missing-value marker
    return _SPACES.sub("", value).lower() in _MISSING


def parse_number(value, *, decimal: str = ",") -> float | None:
    """Parse one cell. Returns ``None`` for an empty/missing cell; raises NumberFormatError otherwise.

    ``decimal`` is the table's decimal separator (``,`` for Danish tables). Percent signs and
    currency/unit suffixes (``%``, ``kr.``) are stripped: ``12,5 %`` gives 12.5 (the percentage
    number, not 0.125).
    """
    if isinstance(value, bool):
        raise NumberFormatError(f"{value!r} is not a number")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            return None
        return _finite(value, value)
    if is_missing(value):
        return None
    text = _SPACES.sub("", str(value))
    text = text.replace("\u2212", "-")  # typographic minus
    for suffix in ("%", "kr.", "kr", "DKK"):
        if text.lower().endswith(suffix.lower()):
            text = text[: -len(suffix)]
    if not text:
        raise NumberFormatError(f"{value!r} is not a number")
    if _PLAIN_SCI.match(text):
        return _finite(text, value)
    if decimal == ",":
        if _DANISH.match(text):
            return _finite(text.replace(".", "").replace(",", "."), value)
        raise NumberFormatError(f"{value!r} is not a number in Danish format (e.g. 1.234,5)")
    if _ENGLISH.match(text):
        return _finite(text.replace(",", ""), value)
    raise NumberFormatError(f"{value!r} is not a number (e.g. 1,234.5)")


def _finite(text, original) -> float:
    """``float(text)``, refusing infinities and numbers too large for a float."""
    try:
        result = float(text)
    except OverflowError:
        result = math.inf
    if not math.isfinite(result):
        raise NumberFormatError(f"{original!r} is not a finite number (too large)")
    return result


def guess_decimal(values) -> str:
    """Guess a column's decimal separator from its text values (``,`` unless the values only fit ``.``)."""
    danish = english = 0
    for v in values:
        if not isinstance(v, str) or is_missing(v):
            continue
        t = _SPACES.sub("", v).rstrip("%")
        d, e = bool(_DANISH.match(t)), bool(_ENGLISH.match(t))
        if d and not e:
            danish += 1
        elif e and not d:
            english += 1
    return "." if english > danish else ","


# Plain numbers without thousands separators, signs or units, as most long tables hold them:
# these are converted column-wise; every other cell goes through parse_number one by one.
_PLAIN = {",": r"[+-]?[0-9]{1,15}(?:,[0-9]{1,15})?", ".": r"[+-]?[0-9]{1,15}(?:\.[0-9]{1,15})?"}


def parse_numbers(values, *, decimal: str = ",") -> tuple[list, list[int]]:
    """Parse a column: returns (values as float or None, positions that are not numbers).

    Gives exactly what :func:`parse_number` gives cell by cell, but converts the plain cells
    (``1234``, ``-12,5``) of a long column in one vectorised step.
    """
    import numpy as np
    import pandas as pd

    n = len(values)
    out: list = [None] * n
    bad: list[int] = []
    is_str = np.fromiter((type(v) is str for v in values), dtype=bool, count=n)
    fast = np.zeros(n, dtype=bool)
    if is_str.any():
        idx = np.flatnonzero(is_str)
        s = pd.Series([values[i] for i in idx], dtype=object)
        plain = s.str.fullmatch(_PLAIN[decimal]).to_numpy(dtype=bool)
        if plain.any():
            text = s[plain]
            if decimal == ",":
                text = text.str.replace(",", ".", regex=False)
            nums = pd.to_numeric(text).to_numpy(dtype=float)
            for i, x in zip(idx[plain], nums):
                out[i] = float(x)
            fast[idx[plain]] = True
    for i in np.flatnonzero(~fast):
        try:
            out[i] = parse_number(values[i], decimal=decimal)
        except NumberFormatError:
            bad.append(int(i))
    return out, bad


def format_da(value: float, decimals: int = 0) -> str:
    """Write a number the Danish way: ``format_da(1234.5, 1) == '1.234,5'`` (the inverse of :func:`parse_number`)."""
    text = f"{float(value):,.{max(0, int(decimals))}f}"
    if text.lstrip("-").strip("0.,") == "":
        text = text.lstrip("-")
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def population_approx_da(value, step: int = 100) -> str:
    """A population estimate rounded to what an evenly spread planning-area population supports:
    ``'ca. 21.000'`` for 21.044 (nearest ``step``), ``'under 100'`` below half a step, ``'0'`` for none,
    an en dash when missing."""
    if value is None or type(value).__name__ in ("NAType", "NaTType") or (isinstance(value, float) and math.isnan(value)):
        return "–"
    v = float(value)
    if math.isnan(v):
        return "–"
    if v < step / 2:
        return "0" if v == 0 else f"under {format_da(step)}"
    return "ca. " + format_da(round(v / step) * step)
