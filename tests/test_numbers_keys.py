import math

import pytest

from kkr_geo.layers.keys import key_kind, normalise_kommunekode, normalise_name
from kkr_geo.layers.numbers import NumberFormatError, parse_number


@pytest.mark.parametrize("text, expected", [
    ("1.234,5", 1234.5), ("12,5 %", 12.5), ("-3", -3.0), ("1 234", 1234.0), ("1.234.567", 1234567.0),
    ("0,75", 0.75), ("\u22122,5", -2.5), ("395,01", 395.01), ("28.000", 28000.0), ("2,5 kr.", 2.5), ("1e3", 1000.0),
])
def test_danish_numbers(text, expected):
    assert parse_number(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", " ", "-", "..", "NA"])
def test_missing_cells_are_none(text):
    assert parse_number(text) is None


@pytest.mark.parametrize("text", ["abc", "1,2,3", "12.34,5.6", "1.23"])
def test_bad_numbers_raise(text):
    # "1.23" is not Danish (thousands groups have three digits): refused rather than misread as 123
    with pytest.raises(NumberFormatError):
        parse_number(text)


def test_english_decimal_when_asked():
    assert parse_number("1,234.5", decimal=".") == 1234.5


@pytest.mark.parametrize("value", [101, "101", "0101", 101.0, "101.0", " 0101 "])
def test_kommunekode_any_form(value):
    assert normalise_kommunekode(value) == "0101"


@pytest.mark.parametrize("value", [None, "", "abc", 101.5, float("nan"), 0, "12345"])
def test_kommunekode_rejects(value):
    assert normalise_kommunekode(value) is None


@pytest.mark.parametrize("a, b", [
    ("Høje-Taastrup", "Høje Taastrup"), ("Høje-Taastrup", "HOEJE-TAASTRUP Kommune"), ("Lyngby-Taarbæk", "Lyngby Taarbaek"),
    ("Ærø", "Aeroe"), ("København", "Københavns Kommune"), ("Bornholm", "Bornholms Regionskommune"),
    ("Brønshøj-Husum", "Broenshoej Husum"), ("Vesterbro", "Vesterbro-Kongens Enghave"), ("Tårnby", "Taarnby"),
])
def test_name_variants_match(a, b):
    assert normalise_name(a) == normalise_name(b)


@pytest.mark.parametrize("a, b", [("Herlev", "Hvidovre"), ("Furesø", "Fredensborg"), ("Amager", "Valby")])
def test_different_names_differ(a, b):
    assert normalise_name(a) != normalise_name(b)


def test_key_kind():
    assert key_kind(["101", "147", 151]) == "code"
    assert key_kind(["København", "Frederiksberg"]) == "name"
    assert math.isnan(float("nan")) and key_kind([float("nan"), "0101"]) == "code"


from hypothesis import given, settings, strategies as st  # noqa: E402

from kkr_geo.layers.numbers import parse_numbers  # noqa: E402

_cells = st.one_of(
    st.none(), st.floats(allow_nan=True, allow_infinity=False), st.integers(-10**9, 10**9),
    st.from_regex(r"[+-]?[0-9]{1,6}(,[0-9]{1,4})?", fullmatch=True),
    st.from_regex(r"[+-]?[0-9]{1,6}(\.[0-9]{1,4})?", fullmatch=True),
    st.from_regex(r"[0-9]{1,3}(\.[0-9]{3}){1,2}(,[0-9]{1,2})? ?%?", fullmatch=True),
    st.text(max_size=8),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_cells, max_size=30), st.sampled_from([",", "."]))
def test_column_parser_equals_cell_parser(values, decimal):
    got, bad = parse_numbers(values, decimal=decimal)
    for i, v in enumerate(values):
        try:
            expected = parse_number(v, decimal=decimal)
        except NumberFormatError:
            assert i in bad
            continue
        assert i not in bad
        assert (got[i] is None and expected is None) or got[i] == expected
