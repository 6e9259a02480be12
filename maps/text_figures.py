"""Figures a map's texts quote, computed from the data: ``{tal:name}`` placeholders.

An editorial title states figures ("Over 730.000 borgere bor inden for 1 km af en eksisterende
supercykelsti – i syv kommuner bor ingen så tæt på"). Typed into the spec they would be wrong as soon
as the data changes, so a spec's ``title``, ``subtitle``, ``notes`` and ``table.title`` write
``{tal:name}`` instead, with ``name`` one of :data:`FIGURES`: each is computed by code from the
build's sources and formatted the Danish way (:mod:`kkr_geo.maps.danish_numbers`).

This is not a template language. Nothing else in a text is interpreted (``{{ 7*7 }}``, ``{0}`` and
``{tal:__class__}`` are never evaluated: an unknown name is an error when the spec is read, and
every other brace stays as written); there is no Jinja and no ``str.format`` on a text that may
hold user text (see :mod:`kkr_geo.maps.slots` for why), and a filled-in value is never read again.
The filled-in texts are escaped for their output like every other text (:mod:`kkr_geo.geo.safe_text`).
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Callable

import pandas as pd

PLACEHOLDER = re.compile(r"\{tal:([a-z0-9_]+)\}")
_ANY = re.compile(r"\{tal:")          # every use of the syntax, well-formed or not

# Danish editorial style: counts up to twelve in words.
_WORDS = {2: "to", 3: "tre", 4: "fire", 5: "fem", 6: "seks", 7: "syv", 8: "otte", 9: "ni", 10: "ti", 11: "elleve",
          12: "tolv"}


def count_da(n: int, singular: str, plural: str, *, neuter: bool = False) -> str:
    """``count_da(7, 'kommune', 'kommuner') == 'syv kommuner'``; 1 -> 'én kommune' ('ét område' when
    ``neuter``); 0 -> 'ingen kommuner'; above twelve in digits ('33 kommuner')."""
    from kkr_geo.maps.danish_numbers import fmt_number
    n = int(n)
    if n == 0:
        return f"ingen {plural}"
    if n == 1:
        return f"{'ét' if neuter else 'én'} {singular}"
    return f"{_WORDS.get(n) or fmt_number(n)} {plural}"


def over_da(value: float) -> str:
    """A population as "over N": N rounded *down* to two significant digits and always below the value
    (730.592 -> 'over 730.000', 700.000 -> 'over 690.000'); below 1.000 the maps' own rounding
    ('ca. 200', 'under 100', '0')."""
    from kkr_geo.maps.danish_numbers import fmt_number, fmt_population_approx
    v = float(value)
    if not math.isfinite(v) or v < 1000:
        return fmt_population_approx(v)
    step = 10 ** (len(str(int(v))) - 2)
    n = math.floor(v / step) * step
    if n >= v:
        n -= step
    return f"over {fmt_number(n)}"


class FigureUnavailable(Exception):
    """A figure cannot be computed from the data (the map is skipped and the reason printed)."""


@dataclass(frozen=True)
class Figure:
    source: str                            # the source it is computed from
    compute: Callable[[pd.DataFrame], str]
    description: str                       # for docs/maps.md and error messages


def _cycle_population(gdf) -> str:
    return over_da(pd.to_numeric(gdf["inden_1km"], errors="coerce").fillna(0).sum())


def _cycle_without(gdf) -> str:
    return count_da(int((pd.to_numeric(gdf["inden_1km"], errors="coerce").fillna(0).round(0) == 0).sum()),
                    "kommune", "kommuner")


def _projects(gdf) -> int:
    return len(gdf)


def _placed(gdf) -> int:
    return int((gdf["geometri"] != "ingen").sum())


def _total(gdf, key: str, decimals: int) -> str:
    from kkr_geo.maps.danish_numbers import fmt_number
    total = (gdf.attrs.get("region_total") or {}).get(51)
    if not total or key not in total or not math.isfinite(total[key]):
        raise FigureUnavailable("the capacity table has no region total row ('I alt') for speciale 51")
    return fmt_number(total[key], decimals)


def _digits(n: int) -> str:
    from kkr_geo.maps.danish_numbers import fmt_number
    return fmt_number(n)


FIGURES: dict[str, Figure] = {
    "supercykelsti_borgere_1km": Figure(
        "supercykelstier_kommuner", _cycle_population,
        "inhabitants within 1 km of the existing cycle superhighways, 'over N' (N rounded down to two significant digits)"),
    "supercykelsti_kommuner_uden_1km": Figure(
        "supercykelstier_kommuner", _cycle_without,
        "the municipalities where no inhabitant lives within 1 km, counted with the noun ('syv kommuner')"),
    "mobilitetsprojekter_i_alt": Figure(
        "mobilitetsprojekter", lambda g: _digits(_projects(g)), "the number of mobility projects (rows of the table)"),
    "mobilitetsprojekter_paa_kortet": Figure(
        "mobilitetsprojekter", lambda g: _digits(_placed(g)), "the projects drawn on the map (with a line or a point)"),
    "mobilitetsprojekter_kun_i_tabel": Figure(
        "mobilitetsprojekter", lambda g: _digits(_projects(g) - _placed(g)),
        "the projects only in the table (no place)"),
    "kapacitet_2030_omraader": Figure(
        "kapacitet_2030",
        lambda g: count_da(int((pd.to_numeric(g["udvidelse_sp51"], errors="coerce").fillna(0) > 0).sum()),
                           "planlægningsområde", "planlægningsområder", neuter=True),
        "the planning areas with a proposed capacity expansion (speciale 51), with the noun ('otte planlægningsområder')"),
    "kapacitet_2030_udvidelse_i_alt": Figure(
        "kapacitet_2030", lambda g: _total(g, "udvidelse", 1),
        "the region's proposed extra capacity, speciale 51 (row 'I alt' of the table; '13,5')"),
    "kapacitet_2030_borgere_pr_kap_uden": Figure(
        "kapacitet_2030", lambda g: _total(g, "borgere_pr_kap_2030_uden", 0),
        "the region's inhabitants per capacity 2030 without the expansion, speciale 51 (row 'I alt')"),
    "kapacitet_2030_borgere_pr_kap_med": Figure(
        "kapacitet_2030", lambda g: _total(g, "borgere_pr_kap_2030_med", 0),
        "the region's inhabitants per capacity 2030 with the expansion, speciale 51 (row 'I alt')"),
}


def names_in(text: str | None) -> list[str]:
    return PLACEHOLDER.findall(text or "")


def check_text(text: str | None, key: str, fail: Callable[[str, str, str | None], object]) -> None:
    """Every ``{tal:`` in ``text`` is a known placeholder, written in full (``fail(key, message, hint)``)."""
    if not text:
        return
    wellformed = {m.start() for m in PLACEHOLDER.finditer(text)}
    for m in _ANY.finditer(text):
        if m.start() not in wellformed:
            fail(key, f"{text[m.start():m.start() + 40]!r} is not a placeholder {{tal:name}}.",
                 "write {tal:name} with a name of lower-case letters, digits and _.")
    for name in names_in(text):
        if name not in FIGURES:
            fail(key, f"unknown placeholder {{tal:{name}}}.", f"known: {', '.join(sorted(FIGURES))}.")


def fill(text: str | None, values: Callable[[str], str]) -> str | None:
    """``text`` with each ``{tal:name}`` replaced by ``values(name)``, in one pass (a value is never
    read again); a placeholder that opens the text gets a capital letter ('Over 730.000 ...')."""
    if not text:
        return text

    def repl(m: re.Match) -> str:
        value = values(m.group(1))
        return value[:1].upper() + value[1:] if m.start() == 0 else value
    return PLACEHOLDER.sub(repl, text)


def texts_of(spec) -> list[str]:
    """The texts of a spec that may hold placeholders."""
    return [t for t in (spec.title, spec.subtitle, *spec.notes, (spec.table or {}).get("title")) if t]


def resolve(spec, sources):
    """``spec`` with its placeholders filled from ``sources`` (a :class:`kkr_geo.maps.sources.Sources`);
    the spec itself unchanged when it has none. A figure that cannot be computed raises
    :class:`~kkr_geo.maps.sources.SourceUnavailable`, so the map is skipped with the reason."""
    from kkr_geo.maps.sources import SourceUnavailable
    if not any(names_in(t) for t in texts_of(spec)):
        return spec
    cache: dict[str, str] = {}

    def value(name: str) -> str:
        if name not in cache:
            fig = FIGURES[name]
            try:
                cache[name] = fig.compute(sources.get(fig.source))
            except FigureUnavailable as exc:
                raise SourceUnavailable(f"the figure {{tal:{name}}} of the map's text cannot be computed: {exc}") from None
            except KeyError as exc:
                raise SourceUnavailable(f"the figure {{tal:{name}}} of the map's text cannot be computed: source "
                                        f"{fig.source!r} has no column {exc}") from None
        return cache[name]
    table = dict(spec.table, title=fill(spec.table.get("title"), value)) if spec.table else spec.table
    return dataclasses.replace(spec, title=fill(spec.title, value), subtitle=fill(spec.subtitle, value),
                               notes=[fill(n, value) for n in spec.notes], table=table)
