"""Parse numbers as they appear in Danish tables: ``1.234,5``, ``12,5 %``, ``-3``, ``1 234``.

The parser is strict: a value it cannot read is reported, never silently turned into NaN.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass

_MISSING = {"", "-", "–", "—", "..", "...", "na", "n/a", "nan", "none", "null", "x", "#i/t", "#n/a"}
_SPACES = re.compile(r"[\s\u00a0\u202f]")
# A thousands-grouped number never starts with 0 ("0.500" is a decimal number, not five hundred).
_DANISH = re.compile(r"^[+-]?([1-9]\d{0,2}(\.\d{3})+|\d+)(,\d+)?$", re.ASCII)   # 1.234.567,89 / 1234,5
_ENGLISH = re.compile(r"^[+-]?([1-9]\d{0,2}(,\d{3})+|\d+)(\.\d+)?$", re.ASCII)  # 1,234,567.89 / 1234.5
# Without any thousands separator: 1234,5 / 1234.5
_NO_GROUPS = {",": re.compile(r"^[+-]?\d+(,\d+)?$", re.ASCII), ".": re.compile(r"^[+-]?\d+(\.\d+)?$", re.ASCII)}
_PLAIN_SCI = re.compile(r"^[+-]?\d+(\.\d+)?[eE][+-]?\d+$", re.ASCII)
_COMMA_SCI = re.compile(r"^[+-]?\d+(,\d+)?[eE][+-]?\d+$", re.ASCII)   # Excel in a Danish locale: 2,5E-03
_INFINITE = {"inf", "infinity", "uendelig", "\u221e"}
# Units a cell may carry after its number; stripped by parse_number, named by unit_of.
UNITS = ("%", "kr.", "kr", "DKK")


class NumberFormatError(ValueError):
    pass


class NumberRangeError(NumberFormatError):
    """A number written correctly that a float cannot hold: infinite, or so large it overflows, or so
    small it would be read as 0 (``1E-400``). Never turned into inf or 0 silently."""


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


def parse_number(value, *, decimal: str = ",", thousands: str | None = None, units: bool = True) -> float | None:
    """Parse one cell. Returns ``None`` for an empty/missing cell; raises NumberFormatError otherwise.

    ``decimal`` is the table's decimal separator (``,`` for Danish tables). ``thousands`` is its
    thousands separator: ``None`` means the other one of ``,``/``.`` (``1.234,5`` or
    ``1,234.5``); ``""`` means none (only spaces, which are always allowed). Percent signs and
    currency/unit suffixes (``%``, ``kr.``) are stripped: ``12,5 %`` gives 12.5 (the percentage
    number, not 0.125); ``units=False`` refuses them instead (a count such as a capacity has no unit).
    Scientific notation (``1.5E3``; ``1,5E3`` in a Danish table) is read; a value out of a float's
    range (``1E400``, ``1E-400``, ``inf``) raises :class:`NumberRangeError`.
    """
    check_separators(decimal, thousands)
    if isinstance(value, bool):
        raise NumberFormatError(f"{value!r} is not a number")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            return None
        return _finite(value, value)
    if is_missing(value):
        return None
    if not units and (unit := unit_of(value)):
        raise NumberFormatError(f"{value!r} carries a unit ({unit}); a plain number is expected here")
    text = _strip(value)
    if not text:
        raise NumberFormatError(f"{value!r} is not a number")
    if text.lower().lstrip("+-") in _INFINITE:
        raise NumberRangeError(f"{value!r} is infinite, not a number a table can hold")
    if _PLAIN_SCI.match(text):
        return _finite(text, value)
    if decimal == "," and _COMMA_SCI.match(text):
        return _finite(text.replace(",", "."), value)
    if thousands in ("", " "):
        if _NO_GROUPS[decimal].match(text):
            return _finite(text.replace(",", "."), value)
        raise NumberFormatError(f"{value!r} is not a number with decimal {decimal!r} and no thousands separator")
    if decimal == ",":
        if _DANISH.match(text):
            return _finite(text.replace(".", "").replace(",", "."), value)
        raise NumberFormatError(f"{value!r} is not a number in Danish format (e.g. 1.234,5)")
    if _ENGLISH.match(text):
        return _finite(text.replace(",", ""), value)
    raise NumberFormatError(f"{value!r} is not a number (e.g. 1,234.5)")


def check_separators(decimal: str, thousands: str | None) -> None:
    if decimal not in (",", "."):
        raise ValueError(f"decimal separator {decimal!r}: use ',' or '.'")
    if thousands is not None and thousands not in ("", " ", ",", "."):
        raise ValueError(f"thousands separator {thousands!r}: use '.', ',', ' ' or '' (none)")
    if thousands == decimal:
        raise ValueError(f"the decimal and thousands separators cannot both be {decimal!r}")


def _strip(value) -> str:
    text = _SPACES.sub("", str(value)).replace("\u2212", "-")  # typographic minus
    for suffix in UNITS:
        if text.lower().endswith(suffix.lower()):
            text = text[: -len(suffix)]
    return text


def unit_of(value) -> str:
    """The unit a text cell carries after its number (``'%'`` for ``'12,5 %'``, ``'kr.'`` for
    ``'850 kr.'``), as :func:`parse_number` strips it; ``''`` for none."""
    if not isinstance(value, str):
        return ""
    text = _SPACES.sub("", value)
    for suffix in UNITS:
        if text.lower().endswith(suffix.lower()) and len(text) > len(suffix):
            return "kr." if suffix == "kr" else suffix  # '850 kr' and '850 kr.' carry the same unit
    return ""


def readings(value) -> tuple[float | None, float | None]:
    """The value of a text cell read the Danish way (``1.234,5``) and the English way (``1,234.5``);
    ``None`` where that reading fails. Both readings present and different = an ambiguous cell
    (``1.250`` is 1250 in Danish and 1.25 in English)."""
    out = []
    for dec in (",", "."):
        try:
            out.append(parse_number(value, decimal=dec))
        except NumberFormatError:
            out.append(None)
    return out[0], out[1]


def is_ambiguous(value) -> bool:
    if not isinstance(value, str) or ("." not in value and "," not in value):
        return False
    da, en = readings(value)
    return da is not None and en is not None and da != en


def _finite(text, original) -> float:
    """``float(text)``, refusing infinities, numbers too large for a float (``1E400`` would be inf)
    and numbers too small for one (``1E-400`` would be 0; ``2.5E-320`` loses its digits)."""
    try:
        result = float(text)
    except OverflowError:
        result = math.inf
    if not math.isfinite(result):
        raise NumberRangeError(f"{original!r} is too large for a number (it would be read as infinite)")
    if not isinstance(text, str):
        return result  # a number already (Excel, GeoPackage): nothing was lost reading it
    if result == 0.0 and re.search(r"[1-9]", text.lower().split("e")[0]):
        raise NumberRangeError(f"{original!r} is too small for a number (it would be read as 0)")
    if 0.0 < abs(result) < sys.float_info.min:
        raise NumberRangeError(f"{original!r} is too small for a number (below {sys.float_info.min:g}, digits would be lost)")
    return result


def decimal_evidence(values) -> tuple[int, int]:
    """How many text values fit only the Danish format (``12,5``, ``1.234,5``, ``0,500``) and how
    many only the English one (``2.5``, ``1,234.5``, ``0.500``). Values fitting both (``12``,
    ``1.250``) are no evidence either way."""
    danish = english = 0
    for v in values:
        if not isinstance(v, str) or is_missing(v):
            continue
        t = _strip(v)
        d, e = bool(_DANISH.match(t)), bool(_ENGLISH.match(t))
        if d and not e:
            danish += 1
        elif e and not d:
            english += 1
    return danish, english


def guess_decimal(values, default: str | None = ",") -> str | None:
    """Guess a column's decimal separator from its text values: the format more values fit only;
    ``default`` when no value decides it (``None`` = undecided)."""
    danish, english = decimal_evidence(values)
    if english > danish:
        return "."
    if danish > english:
        return ","
    return default


# Plain numbers without thousands separators, signs or units, as most long tables hold them:
# these are converted column-wise; every other cell goes through parse_number one by one.
_PLAIN = {",": r"[+-]?[0-9]{1,15}(?:,[0-9]{1,15})?", ".": r"[+-]?[0-9]{1,15}(?:\.[0-9]{1,15})?"}


def parse_numbers(values, *, decimal: str = ",", thousands: str | None = None) -> tuple[list, list[int]]:
    """Parse a column: returns (values as float or None, positions that are not numbers).

    Gives exactly what :func:`parse_number` gives cell by cell, but converts the plain cells
    (``1234``, ``-12,5``) of a long column in one vectorised step (see :func:`parse_array`).
    """
    import numpy as np

    arr = np.empty(len(values), dtype=object)
    arr[:] = list(values)
    nums, bad = parse_array(arr, decimal=decimal, thousands=thousands)
    out = [None if (b or x != x) else float(x) for x, b in zip(nums.tolist(), bad.tolist())]
    return out, [int(i) for i in np.flatnonzero(bad)]


def parse_array(values, *, decimal: str = ",", thousands: str | None = None):
    """Parse an object array of cells: returns (float64 array, NaN where a cell is missing or not a
    number; bool array, True where a cell is not a number). Exactly :func:`parse_number` cell by cell,
    but the plain cells (``1234``, ``-12,5``) are converted in one vectorised step and only the others
    go through :func:`parse_number` one by one (call it on a column's distinct values for long columns)."""
    import numpy as np
    import pandas as pd

    values = np.asarray(values, dtype=object)
    n = len(values)
    out = np.full(n, np.nan)
    bad = np.zeros(n, dtype=bool)
    if n == 0:
        return out, bad
    s = pd.Series(values, dtype=object, copy=False)
    is_str = np.fromiter((type(v) is str for v in values), dtype=bool, count=n)
    fast = np.zeros(n, dtype=bool)
    if is_str.any():
        idx = np.flatnonzero(is_str)
        text = s.iloc[idx]
        plain = text.str.fullmatch(_PLAIN[decimal]).to_numpy(dtype=bool)
        if plain.any():
            t = text[plain]
            if decimal == ",":
                t = t.str.replace(",", ".", regex=False)
            out[idx[plain]] = pd.to_numeric(t).to_numpy(dtype=float)
            fast[idx[plain]] = True
    for i in np.flatnonzero(~fast):
        try:
            x = parse_number(values[i], decimal=decimal, thousands=thousands)
        except NumberFormatError:
            bad[i] = True
            continue
        if x is not None:
            out[i] = x
    return out, bad


@dataclass(frozen=True)
class Meaning:
    """What a column's numbers can be, from its name: a cell that reads two ways (``55.681`` = 55681 or
    55.681) is read the one way that fits (a latitude in Denmark is 54.5-57.8, so 55.681)."""
    what: str
    lo: float = -math.inf
    hi: float = math.inf
    whole: bool = False

    def fits(self, value: float | None) -> bool:
        if value is None or not math.isfinite(value) or not self.lo <= value <= self.hi:
            return False
        return not self.whole or value == int(value)


# Denmark's extent (mainland and Bornholm, with a margin for the coast)
LATITUDE = Meaning("a latitude in Denmark (54.5-57.8)", 54.5, 57.8)
LONGITUDE = Meaning("a longitude in Denmark (8-15.2)", 8.0, 15.2)
EASTING = Meaning("an easting in Denmark (EPSG:25832, 400000-920000)", 400_000.0, 920_000.0)
NORTHING = Meaning("a northing in Denmark (EPSG:25832, 6030000-6420000)", 6_030_000.0, 6_420_000.0)
COUNT = Meaning("a count (a whole number)", whole=True)
SHARE = Meaning("a share (0-100 %)", 0.0, 100.0)

_MEANINGS = (
    (re.compile(r"lat|latitude|breddegrad|bredde"), LATITUDE),
    (re.compile(r"lon|lng|long|longitude|laengdegrad|længdegrad|laengde|længde"), LONGITUDE),
    (re.compile(r"x|easting|x_?25832|ost|øst|utm_?x"), EASTING),
    (re.compile(r"y|northing|y_?25832|nord|utm_?y"), NORTHING),
    (re.compile(r".*(andel|pct|procent|percent|share|dækning|daekning).*"), SHARE),
    (re.compile(r"(antal(_[a-zæøå]+)*|count|n|patienter|befolkning|indbyggere|folketal|borgere)(_\d{4})?"), COUNT),
)
# A rate or an average is no count, whatever it counts ("patienter_pr_1000", "antal_gns"): 12.500 may be 12.5 there.
_NOT_A_COUNT = re.compile(r"(^|_)(pr|per|gns|gennemsnit|middel|rate|mean|avg)(_|$)")


def column_meaning(name) -> Meaning | None:
    """The :class:`Meaning` a column's name gives its numbers (``lat`` -> a latitude in Denmark,
    ``antal`` -> a count, ``andel_pct`` -> a share), or None when the name says nothing."""
    key = str(name).strip().lower()
    for pattern, meaning in _MEANINGS:
        if pattern.fullmatch(key):
            return None if meaning is COUNT and _NOT_A_COUNT.search(key) else meaning
    return None


def settle_by_meaning(value, meaning: Meaning | None) -> float | None:
    """The one reading of an ambiguous cell (``1.250``) that fits ``meaning`` (a share cell carrying
    ``%`` is a share whatever its column's name); None when both or neither fit."""
    if unit_of(value) == "%":
        meaning = SHARE
    if meaning is None:
        return None
    da, en = readings(value)
    fits = [x for x in (da, en) if meaning.fits(x)]
    return fits[0] if len(fits) == 1 else None


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
