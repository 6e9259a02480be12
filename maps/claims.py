"""Area names in map texts, checked against the data: a spec's ``claims:``.

An editorial title names areas ("Befolkningen vokser mest på Vesterbro, Amager og i Høje-Taastrup"). The names
cannot be placeholders (the Danish prepositions around them vary: "på Vesterbro", "i Høje-Taastrup"), so the
spec declares what each statement says, next to the title, and the build checks it on the prepared map's data.
A false claim stops that map with a message naming the spec, the claim and what the data says; the texts are
never rewritten. The vocabulary (one relation per claim)::

    claims:
      - {names: [Vesterbro, Amager, Høje-Taastrup], top: 3}        # the names are among the 3 highest
      - {names: [Gentofte, Hørsholm], bottom: 2}                    # ... among the 2 lowest
      - {names: [Gentofte, Hørsholm, Frederiksberg], below: 0}      # each is below 0 (above, at_least, at_most, equal)
      - {names: [Halsnæs, Vesterbro], above: 4, only: true}         # ... and no other area is
      - {names: [Fredensborg], below: 50, only: true, except: {kommunekode: "0101"}}  # others: outside København
      - {count_min: 2, below: 50, where: {kommunekode: "0101"}}    # at least 2 areas (count: exactly n)
      - {names: [Bornholm], layer: kom, none_of: mobilitetsprojekter}  # no feature of the source lies there
      - {layer: cykelpkt, count: 2}                                 # the layer draws exactly 2 points

``layer`` is a layer id of the spec (default: the indicator's layer), ``of`` a column (default: the indicator's
column); the areas are named by the layer's ``navn`` column (``planomraade`` when it has none). Values are
compared as the data holds them; ties at the edge of a ``top``/``bottom`` claim are accepted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd
import shapely

from kkr_geo.geo.errors import KkrGeoError

RANKS = ("top", "bottom")
THRESHOLDS = {"above": ">", "below": "<", "at_least": ">=", "at_most": "<=", "equal": "="}
_KEYS = {"names", "layer", "of", "only", "except", "where", "count", "count_min", "none_of", *RANKS, *THRESHOLDS}
_WORDS = {"above": "above", "below": "below", "at_least": "at least", "at_most": "at most", "equal": "equal to"}


class ClaimFalse(KkrGeoError):
    """A claim of a map's text does not hold for the data: the map is not built."""

    exit_code = 3


@dataclass
class Claim:
    index: int
    names: list[str] = field(default_factory=list)
    layer: str | None = None
    of: str | None = None
    rank: str | None = None          # top | bottom
    n: int | None = None
    threshold: str | None = None     # above | below | at_least | at_most | equal
    value: float | None = None
    only: bool = False
    except_: dict = field(default_factory=dict)
    where: dict = field(default_factory=dict)
    count: int | None = None
    count_min: int | None = None
    none_of: str | None = None

    def describe(self) -> str:
        what = f"{', '.join(self.names)}" if self.names else ""
        if self.rank:
            return f"{what} are among the {self.rank} {self.n} of {self.of}"
        if self.none_of:
            return f"{what} has none of {self.none_of}"
        if self.threshold and (self.count is not None or self.count_min is not None):
            n = f"exactly {self.count}" if self.count is not None else f"at least {self.count_min}"
            return f"{n} area(s){_scope(self.where)} are {_WORDS[self.threshold]} {_num(self.value)} ({self.of})"
        if self.threshold:
            return (f"{what} {'are' if len(self.names) > 1 else 'is'} {_WORDS[self.threshold]} {_num(self.value)} "
                    f"({self.of})" + (f", and no other area{_scope(self.except_, ' outside')}" if self.only else ""))
        return f"layer {self.layer} draws {self.count} points"


def _scope(where: dict, word: str = " with") -> str:
    return "".join(f"{word} {k} = {v}" for k, v in where.items())


def _num(v) -> str:
    from kkr_geo.maps.danish_numbers import fmt_number
    v = float(v)
    return fmt_number(v, 0 if v == int(v) else (1 if round(v, 1) == v else 2))


def parse_claims(raw, ck, spec) -> list[Claim]:
    """Validate ``claims:`` (``ck``: the spec checker; every error names the file and ``claims[i]``)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        ck.fail("claims", f"expected a list of claims, got {type(raw).__name__}.")
    ids = {lay.id for lay in spec.layers}
    out = []
    for i, c in enumerate(raw):
        key = f"claims[{i}]"
        if not isinstance(c, dict):
            ck.fail(key, f"expected a mapping such as {{names: [Vesterbro, Amager], top: 2}}, got {c!r}.")
        ck.unknown(c, _KEYS, f"{key}.")
        claim = Claim(i)
        relations = [k for k in (*RANKS, *THRESHOLDS, "none_of") if k in c]
        counting = [k for k in ("count", "count_min") if k in c]
        if len(relations) > 1:
            ck.fail(key, f"has {', '.join(relations)}: a claim states only one of top, bottom, "
                         f"{', '.join(THRESHOLDS)}, none_of.", "write two claims.")
        if not relations and not counting:
            ck.fail(key, "states nothing.", f"give one of top, bottom, {', '.join(THRESHOLDS)}, none_of, count.")
        names = c.get("names")
        if names is not None or not counting:
            if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.strip() for n in names):
                ck.fail(f"{key}.names", f"expected a list of area names, got {names!r}.",
                        "names: [Vesterbro, Amager] (as the layer's navn column writes them).")
            claim.names = [n.strip() for n in names]
        claim.layer = ck.typed(c, "layer", str, spec.indicator.layer if spec.indicator else None, where=f"{key}.")
        if claim.layer is None or claim.layer not in ids:
            ck.fail(f"{key}.layer", f"{claim.layer!r} is not one of the spec's layer ids ({', '.join(sorted(ids))}).")
        default_of = spec.indicator.column if spec.indicator and spec.indicator.layer == claim.layer else None
        claim.of = ck.typed(c, "of", str, default_of, where=f"{key}.")
        rel = relations[0] if relations else None
        if rel in RANKS:
            n = c[rel]
            if isinstance(n, bool) or not isinstance(n, int) or n < len(claim.names):
                ck.fail(f"{key}.{rel}", f"{rel}: {n!r} with {len(claim.names)} name(s).",
                        f"give a whole number of at least {len(claim.names)} (the names are among the {rel} n).")
            claim.rank, claim.n = rel, n
        elif rel in THRESHOLDS:
            v = c[rel]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                ck.fail(f"{key}.{rel}", f"expected a number, got {v!r}.")
            claim.threshold, claim.value = rel, float(v)
        elif rel == "none_of":
            claim.none_of = ck.typed(c, "none_of", str, where=f"{key}.")
            if not claim.names:
                ck.fail(f"{key}.names", "none_of needs the names of the areas.")
        if rel in RANKS or rel in THRESHOLDS:
            if claim.of is None:
                ck.fail(f"{key}.of", f"layer {claim.layer!r} is not the indicator's layer: name the column (of: ...).")
        claim.only = ck.typed(c, "only", bool, False, where=f"{key}.")
        if claim.only and rel not in THRESHOLDS:
            ck.fail(f"{key}.only", f"only goes with {', '.join(THRESHOLDS)} (a top/bottom claim is exact already).")
        claim.except_ = ck.typed(c, "except", dict, {}, where=f"{key}.")
        claim.where = ck.typed(c, "where", dict, {}, where=f"{key}.")
        if claim.except_ and not claim.only:
            ck.fail(f"{key}.except", "except goes with only: true.")
        for ckey in counting:
            v = c[ckey]
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                ck.fail(f"{key}.{ckey}", f"expected a whole number, got {v!r}.")
            setattr(claim, ckey, v)
        if counting:
            if claim.names:
                ck.fail(f"{key}.{counting[0]}", "a count claim names no areas (it counts them).",
                        "drop names, or state each name with a threshold.")
            if len(counting) > 1 or (rel is not None and rel not in THRESHOLDS):
                ck.fail(f"{key}.{counting[0]}", "count/count_min go with one threshold (or alone: points of the layer).")
            if rel is None and "count_min" in c:
                ck.fail(f"{key}.count_min", "a layer's points are counted exactly: count.")
        elif claim.where:
            ck.fail(f"{key}.where", "where goes with count or count_min.")
        out.append(claim)
    return out


# ----------------------------------------------------------------------------------- checking

def _label(spec) -> str:
    return spec.path.name if spec.path else f"{spec.name}.yaml"


def _name_col(gdf) -> str:
    return "navn" if "navn" in gdf.columns else "planomraade"


def _select(gdf, where: dict):
    for col, wanted in where.items():
        values = wanted if isinstance(wanted, list) else [wanted]
        gdf = gdf[gdf[col].astype(str).isin([str(v) for v in values])] if col in gdf.columns else gdf.iloc[0:0]
    return gdf


def _holds(value: float, rel: str, bound: float) -> bool:
    return {"above": value > bound, "below": value < bound, "at_least": value >= bound,
            "at_most": value <= bound, "equal": value == bound}[rel]


def _listing(series) -> str:
    return ", ".join(f"{n} ({_num(v)})" for n, v in series.items())


def _evaluate(claim: Claim, rows, sources) -> str | None:
    """None when ``claim`` holds for ``rows`` (the layer's features); else what the data says."""
    if claim.rank is None and claim.threshold is None and claim.none_of is None:       # points of a layer
        parts = shapely.get_parts(rows.geometry.dropna().to_numpy())
        n = int(sum(1 for g in parts if g.geom_type == "Point" and not g.is_empty))
        return None if n == claim.count else f"the data has {n}"
    col = _name_col(rows)
    if col not in rows.columns:
        return f"layer {claim.layer} has no area names (no navn or planomraade column)"
    names = rows[col].astype(str)
    missing = [n for n in claim.names if n not in set(names)]
    if missing:
        return (f"{', '.join(missing)} is not an area of layer {claim.layer} "
                f"(its areas: {', '.join(sorted(set(names)))})")
    if claim.none_of is not None:
        areas = rows[names.isin(claim.names)].geometry.union_all()
        other = sources.get(claim.none_of)
        other = other[other.geometry.notna() & ~other.geometry.is_empty]
        hit = other[other.geometry.intersects(areas)]
        if not len(hit):
            return None
        label = hit[_name_col(hit)].astype(str) if _name_col(hit) in hit.columns else hit.index.astype(str)
        return f"the data has {len(hit)} there: {', '.join(label)}"
    if claim.of not in rows.columns:
        return f"layer {claim.layer} has no column {claim.of!r}"
    values = pd.Series(pd.to_numeric(rows[claim.of], errors="coerce").to_numpy(dtype=float), index=names.to_numpy())
    values = values[~values.index.duplicated()]
    if claim.count is not None or claim.count_min is not None:
        scope = values[_select(rows, claim.where)[col].astype(str).to_numpy()].dropna()
        yes = scope[[_holds(v, claim.threshold, claim.value) for v in scope]]
        ok = len(yes) == claim.count if claim.count is not None else len(yes) >= claim.count_min
        return None if ok else f"the data has {len(yes)}" + (f" ({', '.join(sorted(yes.index))})" if len(yes) else "")
    blank = [n for n in claim.names if not math.isfinite(values[n])]
    if blank:
        return f"{', '.join(blank)} has no value of {claim.of}"
    named = values[claim.names]
    known = values.dropna()
    if claim.rank is not None:
        ordered = known.sort_values(ascending=claim.rank == "bottom", kind="stable")
        edge = ordered.iloc[min(claim.n, len(ordered)) - 1]
        outside = named[named < edge] if claim.rank == "top" else named[named > edge]
        if not len(outside):
            return None
        first = ordered.head(claim.n)
        return (f"the data's {claim.rank} {claim.n} are {_listing(first)}; "
                f"{_listing(outside)} {'is' if len(outside) == 1 else 'are'} not among them")
    wrong = named[[not _holds(v, claim.threshold, claim.value) for v in named]]
    if len(wrong):
        return f"the data has {_listing(wrong)}"
    if claim.only:
        scope = known.drop(index=claim.names)
        if claim.except_:
            scope = scope.drop(index=_select(rows, claim.except_)[col].astype(str), errors="ignore")
        also = scope[[_holds(v, claim.threshold, claim.value) for v in scope]]
        if len(also):
            return f"the data has also {_listing(also.sort_values(ascending=claim.threshold in ('below', 'at_most')))}"
    return None


def check_claims(spec, rows_by_layer: dict, sources) -> None:
    """Check every claim of ``spec`` against the prepared layers' rows (``{layer id: GeoDataFrame}``, every
    filtered feature of the layer, also those without geometry). Raises :class:`ClaimFalse` listing each false
    claim: the spec, the claim, what the data says."""
    if not spec.claims:
        return
    wrong = []
    for claim in spec.claims:
        rows = rows_by_layer.get(claim.layer)
        if rows is None:
            said = f"layer {claim.layer} is not on the map"
        else:
            said = _evaluate(claim, rows, sources)
        if said:
            wrong.append(f"{_label(spec)}: claims[{claim.index}]: the text says {claim.describe()}; {said}.")
    if wrong:
        raise ClaimFalse("\n".join(wrong) + "\n" + f"The map's texts: {spec.title}",
                         hint="correct the title or notes to the data (and the claim with them), then build again.")
