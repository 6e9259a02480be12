"""Property-based tests (hypothesis) for the Danish number parser and the join-key normalisers."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from kkr_geo.layers.keys import normalise_kommunekode, normalise_name
from kkr_geo.layers.numbers import NumberFormatError, guess_decimal, parse_number
from reliability_cases import LEDGER, reliability_ledger  # noqa: F401  (autouse fixture)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _group(n: int, sep: str) -> str:
    s = str(n)
    parts = []
    while len(s) > 3:
        parts.insert(0, s[-3:])
        s = s[:-3]
    parts.insert(0, s)
    return sep.join(parts)


numbers = st.tuples(st.booleans(), st.integers(0, 10**12), st.text("0123456789", max_size=6), st.booleans())


def _expected(neg, whole, frac) -> float:
    return float(f"{'-' if neg else ''}{whole}.{frac or '0'}")


@SETTINGS
@given(numbers)
def test_danish_format_round_trips(n):
    neg, whole, frac, grouped = n
    text = ("-" if neg else "") + (_group(whole, ".") if grouped else str(whole)) + (f",{frac}" if frac else "")
    assert parse_number(text, decimal=",") == _expected(neg, whole, frac)


@SETTINGS
@given(numbers)
def test_english_format_round_trips(n):
    neg, whole, frac, grouped = n
    text = ("-" if neg else "") + (_group(whole, ",") if grouped else str(whole)) + (f".{frac}" if frac else "")
    assert parse_number(text, decimal=".") == _expected(neg, whole, frac)


@SETTINGS
@given(numbers, st.sampled_from(["", " ", "\u00a0", "  "]), st.sampled_from(["", "%", " %", " kr.", " kr"]))
def test_spaces_and_units_do_not_change_the_value(n, pad, unit):
    neg, whole, frac, _ = n
    plain = ("-" if neg else "") + str(whole) + (f",{frac}" if frac else "")
    spaced = pad + ("-" if neg else "") + _group(whole, " ") + (f",{frac}" if frac else "") + unit + pad
    assert parse_number(spaced) == parse_number(plain)


@SETTINGS
@given(st.one_of(st.text(max_size=30), st.text("0123456789.,-+ %eE\u00a0kr", max_size=30)))
@example("1e999")
@example("1" * 400)
@example("١٢٣")
@example("nan")
@example(".")
def test_parser_never_crashes_and_returns_finite_or_none(text):
    for dec in (",", "."):
        try:
            value = parse_number(text, decimal=dec)
        except NumberFormatError:
            continue
        assert value is None or (isinstance(value, float) and math.isfinite(value))


@SETTINGS
@given(st.one_of(st.integers(-10**20, 10**20), st.floats(allow_nan=True, allow_infinity=True)))
def test_numeric_cells_pass_through_or_are_refused(v):
    try:
        out = parse_number(v)
    except NumberFormatError:
        assert isinstance(v, float) and math.isinf(v) or isinstance(v, int) and abs(v) > 1e308
        return
    if isinstance(v, float) and math.isnan(v):
        assert out is None
    else:
        assert out == float(v)


@SETTINGS
@given(st.lists(numbers, min_size=1, max_size=8))
def test_guess_decimal_recognises_unambiguous_danish_columns(rows):
    # a value with a decimal comma and no thousands dots is unambiguously Danish
    texts = [f"{whole},{frac or '5'}" for _, whole, frac, _ in rows]
    assert guess_decimal(texts) == ","


# ------------------------------------------------------------------------------- kommunekoder

@SETTINGS
@given(st.integers(1, 9999), st.sampled_from(["{n}", "{n:04d}", "{n}.0", " {n} ", "{n:04d}.00", "\t{n}\n"]))
def test_kommunekode_every_form_gives_four_digits(n, fmt):
    assert normalise_kommunekode(fmt.format(n=n)) == f"{n:04d}"
    assert normalise_kommunekode(n) == f"{n:04d}"
    assert normalise_kommunekode(float(n)) == f"{n:04d}"


@SETTINGS
@given(st.one_of(st.text(max_size=12), st.integers(), st.floats(), st.booleans(), st.none()))
def test_kommunekode_is_four_digits_or_none(v):
    out = normalise_kommunekode(v)
    assert out is None or re.fullmatch(r"\d{4}", out) and out != "0000"
    if out is not None:
        assert normalise_kommunekode(out) == out


# ----------------------------------------------------------------------------------- names

danish = st.text(alphabet="abcdefghijklmnopqrstuvwxyzæøåÆØÅ -", min_size=1, max_size=25)


@SETTINGS
@given(st.text(max_size=40))
@example("Ǿ")
@example("ß")
@example("aaa")
@example("Kom mune")
@example("S t")
def test_name_key_is_ascii_and_idempotent(text):
    key = normalise_name(text)
    assert key is None or re.fullmatch(r"[a-z0-9]+", key)
    if key is not None:
        assert normalise_name(key) == key


@SETTINGS
@given(danish)
@example("a-st-")  # found by hypothesis: the "St." suffix was stripped before hyphens became word separators
def test_name_key_ignores_case_spaces_hyphens(text):
    key = normalise_name(text)
    assert normalise_name(text.upper()) == key
    assert normalise_name(text.lower()) == key
    assert normalise_name(f"  {text}  ") == key
    assert normalise_name(text.replace("-", " ")) == normalise_name(text.replace(" ", "-"))


@SETTINGS
@given(danish)
def test_name_key_transliterations_match(text):
    t = text.lower()
    translit = t.replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    assert normalise_name(translit) == normalise_name(t)


@SETTINGS
@given(danish)
def test_name_key_kommune_suffix(text):
    assume(normalise_name(text) is not None)
    assert normalise_name(f"{text} Kommune") == normalise_name(text)


@pytest.mark.parametrize("a, b", [("Høje-Taastrup", "HOEJE TAASTRUP KOMMUNE"), ("Lyngby-Taarbæk", "lyngby taarbaek"),
                                  ("Ærø", "Aeroe"), ("Københavns Kommune", "København"), ("Bornholms Regionskommune", "Bornholm")])
def test_name_key_known_spellings(a, b):
    assert normalise_name(a) == normalise_name(b)


def test_record_property_cases():
    # the property tests above count as inputs tried in the ledger (one per property)
    for name in ("danish_round_trip", "english_round_trip", "spaces_units", "parser_never_crashes",
                 "numeric_cells", "guess_decimal", "kode_forms", "kode_range", "name_ascii_idempotent",
                 "name_case_spaces", "name_translit", "name_kommune_suffix"):
        LEDGER.record(f"property:{name}", "properties", "parses", "parses")
