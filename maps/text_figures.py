"""Figures a map's texts quote, computed from the data: ``{tal:name}`` placeholders declared under ``tal:``.

An editorial title states figures ("Over 730.000 borgere bor inden for 1 km af en eksisterende
supercykelsti – i syv kommuner bor ingen så tæt på"). Typed into the spec they would be wrong as soon
as the data changes, so a spec's ``title``, ``subtitle``, ``notes`` and ``table.title`` write
``{tal:name}`` instead, and the same spec declares under ``tal:`` what ``name`` is, in a small vocabulary::

    tal:
      borgere_1km: {layer: kom, sum: inden_1km, as: over}                                # 'over 730.000'
      uden_1km: {layer: kom, count: {inden_1km: 0}, as: [kommune, kommuner]}             # 'syv kommuner'
      omraader: {layer: omr, count: {udvidelse_sp51: {above: 0}}, as: [område, områder], neuter: true}
      i_alt: {source: mobilitetsprojekter, count: all}                                   # '33'
      paa_kortet: {source: mobilitetsprojekter, count: {geometri: {not: ingen}}}
      udvidelse: {layer: omr, total: udvidelse_sp51, decimals: 1}                        # '13,5' (row 'I alt')

One of ``layer`` (a layer id of the spec: its source with the layer's ``filter``, every row, also those
without geometry) or ``source`` (a source, whole); one operation: ``sum: column`` (empty values left out),
``count: all`` or ``count: {column: condition, ...}`` (rows meeting every condition: a text or list of
texts as a layer's ``filter`` reads them, ``{not: text or [texts]}``, a number (equal), or one of the
claims' words ``{above|below|at_least|at_most|equal: number}``; an empty value meets no number
condition), or ``total: column`` (the source table's own region total row, ``attrs["region_total"]``);
and how it is written (``as``): ``number`` (default, ``decimals: n``), ``over`` (:func:`over_da`) or
``[singular, plural]`` with a count (:func:`count_da`, ``neuter: true`` for 'ét').

This is not a template language. Nothing else in a text is interpreted (``{{ 7*7 }}``, ``{0}`` and
``{tal:__class__}`` are never evaluated: a name the spec does not declare is an error when the spec is
read, and every other brace stays as written); there is no Jinja and no ``str.format`` on a text that may
hold user text (see :mod:`kkr_geo.maps.slots` for why), and a filled-in value is never read again.
The filled-in texts are escaped for their output like every other text (:mod:`kkr_geo.geo.safe_text`).
"""

from __future__ import annotations

import dataclasses
import math
import operator
import re
from dataclasses import dataclass
from typing import Callable, Collection

import pandas as pd

from kkr_geo.maps.claims import THRESHOLDS

PLACEHOLDER = re.compile(r"\{tal:([a-z0-9_]+)\}")
_ANY = re.compile(r"\{tal:")          # every use of the syntax, well-formed or not
NAME_RE = re.compile(r"[a-z0-9_]+\Z")

OPS = ("sum", "count", "total")
_KEYS = {"layer", "source", *OPS, "as", "decimals", "neuter"}
_COMPARE = {word: {">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le, "=": operator.eq}[sign]
            for word, sign in THRESHOLDS.items()}       # the claims' words: above, below, at_least, at_most, equal
EXAMPLE = "{layer: kom, sum: inden_1km, as: over}"

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
    """One ``tal:`` entry of a spec (see the module docstring)."""
    name: str
    layer: str | None                      # a layer id of the spec (the layer's filter applies) ...
    source: str | None                     # ... or a source name, whole
    op: str                                # sum | count | total
    column: str | None = None              # sum / total
    where: tuple = ()                      # count: ((column, test, value), ...); test: is | not | a threshold word
    as_: str | tuple[str, str] = "number"  # number | over | (singular, plural)
    decimals: int = 0
    neuter: bool = False

    def columns(self) -> list[str]:
        return [self.column] if self.column else [c for c, _, _ in self.where]


# ------------------------------------------------------------------------------------- reading

def parse_figures(raw, ck, spec, known_sources=None) -> dict[str, Figure]:
    """Validate ``tal:`` (``ck``: the spec checker; every error names the file and ``tal.name``)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        ck.fail("tal", f"expected a mapping of figure names, such as {{borgere_1km: {EXAMPLE}}}, got {raw!r}.")
    ids = [lay.id for lay in spec.layers]
    out = {}
    for name, d in raw.items():
        key = f"tal.{name}"
        if not isinstance(name, str) or not NAME_RE.match(name):
            ck.fail(key, f"{name!r} is not a figure name.", "use lower-case letters, digits and _ (as in {tal:name}).")
        if not isinstance(d, dict):
            ck.fail(key, f"expected a mapping such as {EXAMPLE}, got {d!r}.")
        ck.unknown(d, _KEYS, f"{key}.")
        whence = [k for k in ("layer", "source") if d.get(k) is not None]
        if len(whence) != 1:
            ck.fail(key, "give either layer (a layer id of this spec) or source (a source name)"
                         + (", not both." if whence else "."))
        layer = ck.typed(d, "layer", str, where=f"{key}.")
        if layer is not None and layer not in ids:
            ck.fail(f"{key}.layer", f"{layer!r} is not one of the spec's layer ids ({', '.join(sorted(ids))}).")
        source = ck.typed(d, "source", str, where=f"{key}.")
        if source is not None and known_sources is not None and source not in known_sources:
            ck.fail(f"{key}.source", f"unknown source {source!r}.", f"sources: {', '.join(known_sources)}")
        ops = [k for k in OPS if k in d]
        if len(ops) != 1:
            ck.fail(key, (f"has {', '.join(ops)}: " if ops else "computes nothing: ") + "a figure has one operation.",
                    "give one of sum: column, count: all, count: {column: condition}, total: column.")
        op = ops[0]
        fig = Figure(name, layer, source, op)
        if op in ("sum", "total"):
            col = d[op]
            if not isinstance(col, str) or not col.strip():
                ck.fail(f"{key}.{op}", f"expected a column name, got {col!r}.")
            fig = dataclasses.replace(fig, column=col)
        else:
            fig = dataclasses.replace(fig, where=_conditions(d["count"], ck, f"{key}.count"))
        fig = _written(d, ck, key, fig)
        out[name] = fig
    return out


def _conditions(raw, ck, key: str) -> tuple:
    if raw == "all":
        return ()
    if not isinstance(raw, dict) or not raw:
        ck.fail(key, f"expected all or {{column: condition}}, got {raw!r}.",
                "count: all, count: {geometri: ingen}, count: {inden_1km: 0}, count: {udvidelse_sp51: {above: 0}}.")
    out = []
    for col, cond in raw.items():
        where = f"{key}.{col}"
        if _is_text(cond) or (isinstance(cond, list) and cond and all(_is_text(v) for v in cond)):
            out.append((str(col), "is", _texts(cond)))
        elif _is_number(cond):
            out.append((str(col), "equal", float(cond)))
        elif isinstance(cond, dict) and len(cond) == 1:
            (test, value), = cond.items()
            if test == "not" and (_is_text(value) or (isinstance(value, list) and value and all(map(_is_text, value)))):
                out.append((str(col), "not", _texts(value)))
            elif test in THRESHOLDS and _is_number(value):
                out.append((str(col), test, float(value)))
            else:
                ck.fail(where, f"{cond!r} is not a condition.",
                        f"use {{not: text}} or one of {', '.join(f'{{{t}: number}}' for t in THRESHOLDS)}.")
        else:
            ck.fail(where, f"{cond!r} is not a condition.",
                    "a text or list of texts (as the column writes them), a number, {not: text} or {above: number} "
                    f"({', '.join(THRESHOLDS)}).")
    return tuple(out)


def _is_text(v) -> bool:
    return isinstance(v, str) and bool(v)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _texts(v) -> tuple[str, ...]:
    return tuple(v) if isinstance(v, list) else (v,)


def _written(d: dict, ck, key: str, fig: Figure) -> Figure:
    as_ = d.get("as", "number")
    if isinstance(as_, list):
        if len(as_) != 2 or not all(_is_text(w) for w in as_):
            ck.fail(f"{key}.as", f"expected [singular, plural], got {as_!r}.", "e.g. as: [kommune, kommuner].")
        if fig.op != "count":
            ck.fail(f"{key}.as", "a noun goes with count (it counts rows).", "use as: number or as: over.")
        as_ = (as_[0], as_[1])
    elif as_ not in ("number", "over"):
        ck.fail(f"{key}.as", f"{as_!r} is not a way to write a figure.", "use number, over or [singular, plural].")
    decimals = ck.typed(d, "decimals", int, 0, where=f"{key}.")
    if "decimals" in d and as_ != "number":
        ck.fail(f"{key}.decimals", "decimals goes with as: number.")
    if not 0 <= decimals <= 6:
        ck.fail(f"{key}.decimals", f"{decimals} decimals: use 0 to 6.")
    neuter = ck.typed(d, "neuter", bool, False, where=f"{key}.")
    if neuter and not isinstance(as_, tuple):
        ck.fail(f"{key}.neuter", "neuter goes with as: [singular, plural] ('ét område').")
    return dataclasses.replace(fig, as_=as_, decimals=decimals, neuter=neuter)


def names_in(text: str | None) -> list[str]:
    return PLACEHOLDER.findall(text or "")


def check_text(text: str | None, key: str, fail: Callable[..., object], known: Collection[str]) -> None:
    """Every ``{tal:`` in ``text`` is a placeholder written in full, of a name in ``known`` (the spec's
    ``tal:``); ``fail(key, message, hint)`` otherwise."""
    if not text:
        return
    wellformed = {m.start() for m in PLACEHOLDER.finditer(text)}
    for m in _ANY.finditer(text):
        if m.start() not in wellformed:
            fail(key, f"{text[m.start():m.start() + 40]!r} is not a placeholder {{tal:name}}.",
                 "write {tal:name} with a name of lower-case letters, digits and _.")
    for name in names_in(text):
        if name not in known:
            fail(key, f"unknown placeholder {{tal:{name}}}.",
                 f"declare it under tal: in the spec, e.g. tal: {{{name}: {EXAMPLE}}} (docs/maps.md); "
                 + (f"declared: {', '.join(sorted(known))}." if known else "this spec declares none."))


def check_texts(spec, fail: Callable[..., object]) -> None:
    """The placeholders of every text of ``spec`` are declared under ``tal:``, and every declared figure is used."""
    texts = (("title", spec.title), ("subtitle", spec.subtitle), ("table.title", (spec.table or {}).get("title")),
             *((f"notes[{i}]", n) for i, n in enumerate(spec.notes)))
    for key, text in texts:
        check_text(text, key, fail, spec.tal)
    used = {name for _, text in texts for name in names_in(text)}
    for name in spec.tal:
        if name not in used:
            fail(f"tal.{name}", "is used by no text.",
                 f"write {{tal:{name}}} in the title, subtitle, notes or table.title, or remove it.")


# ------------------------------------------------------------------------------------- computing

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


def _numbers(rows: pd.DataFrame, col: str) -> pd.Series:
    """The column as numbers (empty values NaN); a value that is text, not a number, is an error of the data."""
    values = pd.to_numeric(rows[col], errors="coerce")
    bad = rows[col][values.isna() & rows[col].notna() & (rows[col].astype(str).str.strip() != "")]
    if len(bad):
        raise FigureUnavailable(f"column {col!r} holds {len(bad)} value(s) that are not numbers, e.g. {bad.iloc[0]!r}")
    return values.astype(float)


def _value(fig: Figure, rows: pd.DataFrame, totals: dict) -> float:
    if fig.op == "sum":
        return float(_numbers(rows, fig.column).sum())       # NaN (empty) left out
    if fig.op == "total":
        v = totals.get(fig.column)
        if v is None or not math.isfinite(v):
            raise FigureUnavailable(f"the table has no region total row ('I alt') for {fig.column}")
        return float(v)
    mask = pd.Series(True, index=rows.index)
    for col, test, value in fig.where:
        if test in ("is", "not"):
            hit = rows[col].astype(str).isin([str(v) for v in value])
            mask &= ~hit if test == "not" else hit
        else:
            mask &= _COMPARE[test](_numbers(rows, col), value)   # NaN compares False: an empty value is not counted
    return float(mask.sum())


def _written_as(fig: Figure, value: float) -> str:
    from kkr_geo.maps.danish_numbers import fmt_number
    if fig.as_ == "over":
        return over_da(value)
    if isinstance(fig.as_, tuple):
        return count_da(int(value), *fig.as_, neuter=fig.neuter)
    return fmt_number(value, fig.decimals)


def compute(fig: Figure, spec, sources) -> str:
    """The text of ``fig`` on ``sources``. A missing column is an error of the spec (:class:`InputError`);
    data it cannot be computed from raises :class:`FigureUnavailable`; an unavailable source
    :class:`~kkr_geo.maps.sources.SourceUnavailable`."""
    from kkr_geo.geo.errors import InputError
    from kkr_geo.maps.prepare import _apply_filter
    label = spec.path.name if spec.path else f"{spec.name}.yaml"
    source = spec.layer(fig.layer).source if fig.layer else fig.source
    frame = sources.get(source)
    rows = _apply_filter(frame, spec.layer(fig.layer).filter, f"{label}: tal.{fig.name}: layer {fig.layer}") \
        if fig.layer else frame
    for col in fig.columns():
        if col not in rows.columns:
            raise InputError(f"{label}: tal.{fig.name}: column {col!r} is not in source {source!r}.",
                             hint=f"columns: {', '.join(str(c) for c in rows.columns if c != 'geometry')}")
    return _written_as(fig, _value(fig, rows, frame.attrs.get("region_total") or {}))


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
            try:
                cache[name] = compute(spec.tal[name], spec, sources)
            except FigureUnavailable as exc:
                raise SourceUnavailable(f"the figure {{tal:{name}}} of the map's text cannot be computed: {exc}") from None
        return cache[name]
    table = dict(spec.table, title=fill(spec.table.get("title"), value)) if spec.table else spec.table
    return dataclasses.replace(spec, title=fill(spec.title, value), subtitle=fill(spec.subtitle, value),
                               notes=[fill(n, value) for n in spec.notes], table=table)
