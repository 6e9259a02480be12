"""Normalise join keys: kommunekoder in any form and Danish place names in any spelling."""

from __future__ import annotations

import math
import re
import unicodedata

_CODE = re.compile(r"^\s*(\d{1,4})(\.0+)?\s*$")

# Spelling variants that are not mere transliterations: old/alternative names -> canonical key.
_ALIASES = {
    "kobenhavnskommune": "kobenhavn",
    "kobenhavns": "kobenhavn",
    "kbh": "kobenhavn",
    "copenhagen": "kobenhavn",
    "vesterbrokongensenghave": "vesterbro",
    "vesterbrokgsenghave": "vesterbro",
    "brondshojhusum": "bronshojhusum",
    "bornholmsregionskommune": "bornholm",
    "bornholmskommune": "bornholm",
    "bornholms": "bornholm",
    "regionhovedstaden": "regionhovedstaden",
}


def normalise_kommunekode(value) -> str | None:
    """``101``, ``'0101'``, ``101.0``, ``'101.0'`` -> ``'0101'``; anything else -> None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            return None
        value = int(value)
    if isinstance(value, int):
        return f"{value:04d}" if 0 < value < 10000 else None
    m = _CODE.match(str(value))
    if not m:
        return None
    num = int(m.group(1))
    return f"{num:04d}" if num > 0 else None


def normalise_name(value) -> str | None:
    """A name key insensitive to case, spaces, hyphens, a 'Kommune' suffix and æ/ø/å spellings.

    ``Høje-Taastrup``, ``Høje Taastrup``, ``HOEJE-TAASTRUP Kommune`` and ``Hoje Taastrup`` all
    give ``hojetaastrup``; ``Ærø`` and ``Aeroe`` give ``aro``.
    """
    if value is None or isinstance(value, bool) or (isinstance(value, float) and math.isnan(value)):
        return None
    # Applied until nothing changes, so the key is a fixed point: normalise_name(key) == key.
    text, prev = str(value), None
    while text is not None and text != prev:
        prev, text = text, _name_key(text)
    return text


def _name_key(value: str) -> str | None:
    # casefold (ß -> ss) and strip accents first (Ǿ -> ø, Å -> A + ring -> a), then transliterate
    text = unicodedata.normalize("NFKD", value.strip().casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    if not text:
        return None
    text = re.sub(r"\b(kommune|kommunes|municipality|regionskommune)\b", " ", text)
    # hyphens and underscores separate words like spaces do ("a-st-" and "a st " are one key)
    text = re.sub(r"[\s_-]+", " ", text).strip()
    text = re.sub(r"\bst\.?$", " ", text)  # "Køge Nord St." -> "køge nord"
    # Danish letters and their ASCII transliterations map to one form.
    for src, dst in (("æ", "a"), ("ø", "o"), ("å", "a"), ("ae", "a"), ("oe", "o"), ("aa", "a")):
        text = text.replace(src, dst)
    text = re.sub(r"[^a-z0-9]", "", text)
    if not text:
        return None
    return _ALIASES.get(text, text)


def key_kind(values, threshold: float = 0.8) -> str:
    """Guess whether a column holds kommunekoder ('code') or names ('name')."""
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v)) and str(v).strip()]
    if not vals:
        return "name"
    codes = sum(normalise_kommunekode(v) is not None for v in vals)
    return "code" if codes >= threshold * len(vals) else "name"


def postcode_range(value) -> tuple[int, int] | None:
    """``'2800'`` -> (2800, 2800); ``'1000-1499'`` (DAGI's grouped central-Copenhagen codes) -> (1000, 1499)."""
    if value is None or isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
        return None
    text = str(value).strip()
    if isinstance(value, float) and value == int(value):
        text = str(int(value))
    m = re.fullmatch(r"(\d{3,4})(?:\.0+)?(?:\s*-\s*(\d{3,4}))?", text)
    if not m:
        return None
    lo = int(m.group(1))
    hi = int(m.group(2)) if m.group(2) else lo
    return (lo, hi) if lo <= hi else None
