"""Figures in map titles come from the data (``{tal:name}``, kkr_geo.maps.text_figures), not from the spec.

The red team found titles that typed the development data's figures ("Over 700.000 borgere ...", "18 står på
kortet, 15 kun i tabellen"): with other data they would lie. Each case is recorded in the reliability ledger.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from kkr_geo.geo.errors import InputError
from kkr_geo.maps.spec import load_spec, parse_spec
from kkr_geo.maps.text_figures import FIGURES, count_da, fill, over_da, resolve, texts_of
from reliability_cases import check, reliability_ledger  # noqa: F401  (autouse fixture)

SPEC_DIR = Path(str(resources.files("kkr_geo.maps") / "specs"))


def _spec(name):
    return load_spec(SPEC_DIR / f"{name}.yaml")


def _kommuner(values):
    return gpd.GeoDataFrame({"navn": [f"K{i}" for i in range(len(values))], "inden_1km": values},
                            geometry=[shapely.Point(700_000 + i, 6_170_000) for i in range(len(values))], crs=25832)


class FakeSources:
    def __init__(self, **layers):
        self.layers = layers

    def get(self, name):
        return self.layers[name]


# ------------------------------------------------------------------------------- formatting

@pytest.mark.parametrize("value, text", [(730_592, "over 730.000"), (700_000, "over 690.000"), (26_000, "over 25.000"),
                                         (1_234, "over 1.200"), (999_999, "over 990.000"), (1_000, "over 900"),
                                         (640, "ca. 600"), (30, "under 100"), (0, "0")])
def test_over_is_rounded_down_and_always_true(value, text):
    assert over_da(value) == text


@pytest.mark.parametrize("n, text", [(0, "ingen kommuner"), (1, "én kommune"), (7, "syv kommuner"), (12, "tolv kommuner"),
                                     (13, "13 kommuner"), (1234, "1.234 kommuner")])
def test_counts_in_words_up_to_twelve(n, text):
    assert count_da(n, "kommune", "kommuner") == text


# ------------------------------------------------------------------- titles follow the data

def test_cycle_title_changes_with_the_data():
    """26 kommuner with 1.000 inhabitants each within 1 km and three with none: by hand 'Over 25.000' (26.000
    rounded down, strictly below) and 'i tre kommuner'."""
    spec = _spec("supercykelstier_oplande")
    out = resolve(spec, FakeSources(supercykelstier_kommuner=_kommuner([1000.0] * 26 + [0.0] * 3)))
    ok = out.title.startswith("Over 25.000 borgere bor inden for 1 km") and "i tre kommuner bor ingen" in out.title
    check("title_figures_cycle_changed_data", "maps", "parses", "parses" if ok else "silent_loss", out.title)
    one = resolve(spec, FakeSources(supercykelstier_kommuner=_kommuner([400.0, 0.0, 5.0]))).title
    assert one.startswith("Ca. 400 borgere") and "i én kommune bor ingen" in one, one


def test_mobility_title_subtitle_and_table_title_change_with_the_data():
    projects = gpd.GeoDataFrame({"nr": [1, 2, 3, 4], "geometri": ["linje", "punkt", "ingen", "linje"]},
                                geometry=[shapely.LineString([(0, 0), (1, 1)]), shapely.Point(0, 0), None,
                                          shapely.LineString([(0, 0), (2, 2)])], crs=25832)
    out = resolve(_spec("mobilitetsprojekter_oversigt"), FakeSources(mobilitetsprojekter=projects))
    ok = (out.title.startswith("KKR Hovedstadens 4 mobilitetsprojekter – 3 står på kortet, 1 kun i tabellen")
          and "alle 4 projekter" in out.subtitle and out.table["title"].startswith("Alle 4 projekter"))
    check("title_figures_mobility_changed_data", "maps", "parses", "parses" if ok else "silent_loss",
          f"{out.title} | {out.subtitle} | {out.table['title']}")


def test_capacity_title_and_note_change_with_the_data():
    g = gpd.GeoDataFrame({"navn": ["A", "B", "C", "D"], "udvidelse_sp51": [0.0, 1.5, 0.2, None]},
                         geometry=[shapely.Point(i, 0) for i in range(4)], crs=25832)
    g.attrs["region_total"] = {51: {"udvidelse": 1.7, "borgere_pr_kap_2030_uden": 9123.4,
                                    "borgere_pr_kap_2030_med": 8001.0}}
    out = resolve(_spec("kapacitet_2030"), FakeSources(kapacitet_2030=g))
    ok = ("går til to planlægningsområder" in out.title
          and "+1,7 kapacitet (sp. 51), borgere pr. kapacitet 2030 fra 9.123 til 8.001." in out.notes[0])
    check("title_figures_capacity_changed_data", "maps", "parses", "parses" if ok else "silent_loss",
          f"{out.title} | {out.notes}")


def test_capacity_figure_without_a_total_row_skips_the_map_with_the_reason():
    from kkr_geo.maps.sources import SourceUnavailable
    g = gpd.GeoDataFrame({"navn": ["A"], "udvidelse_sp51": [1.0]}, geometry=[shapely.Point(0, 0)], crs=25832)
    with pytest.raises(SourceUnavailable, match="I alt"):
        resolve(_spec("kapacitet_2030"), FakeSources(kapacitet_2030=g))


def test_titles_of_the_shared_data(real_data):
    """The development data: 730.592 inhabitants within 1 km, and 7 of the 29 kommuner with none (Dragør,
    Fredensborg, Helsingør, Hørsholm, Halsnæs, Gribskov, Bornholm: the per-kommune table of the build);
    33 projects of which 18 placed; 8 planning areas with an expansion (region: +13,5; 8.677 -> 7.122)."""
    from kkr_geo.maps.sources import Sources
    src = Sources(real_data.path)
    kom = src.get("supercykelstier_kommuner")
    zero = set(kom.loc[kom["inden_1km"] == 0, "navn"])
    assert zero == {"Dragør", "Fredensborg", "Helsingør", "Hørsholm", "Halsnæs", "Gribskov", "Bornholm"}
    cycle = resolve(_spec("supercykelstier_oplande"), src).title
    assert cycle.startswith(f"{over_da(kom['inden_1km'].sum()).capitalize()} borgere") and "i syv kommuner" in cycle
    assert 700_000 < kom["inden_1km"].sum() < 800_000
    mob = resolve(_spec("mobilitetsprojekter_oversigt"), src)
    assert "33 mobilitetsprojekter – 18 står på kortet, 15 kun i tabellen" in mob.title
    cap = resolve(_spec("kapacitet_2030"), src)
    assert "går til otte planlægningsområder" in cap.title
    assert "+13,5 kapacitet (sp. 51), borgere pr. kapacitet 2030 fra 8.677 til 7.122." in cap.notes[0]


# ------------------------------------------------------------------- no typed figures left

# Figures that are not data: years, specialer, distances and rates the map is defined by.
_NOT_DATA = re.compile(r"\b(?:19|20)\d\d\b(?:[–-](?:19|20)\d\d\b)?|(?:speciale|sp\.) (?:51|62)\b|\b\d+(?: og \d+)? k?m\b"
                       r"|\(\d+ k?m\)|pr\. 1(?:0)?\.000|^0 = ingen|Tabel \d+(?:[–-]\d+)?|CO2|\b\d+ af \d+ stationer")
_NUMBER_WORDS = re.compile(r"\b(?:tre|fire|fem|seks|syv|otte|ni|ti|elleve|tolv|tyve|hundrede|tusind)\b", re.I)


@pytest.mark.parametrize("path", sorted(SPEC_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_no_spec_text_types_a_figure_of_the_data(path):
    """Every shipped spec: titles, subtitles, notes and table titles carry no typed figure of the data
    (digits or a counted number word) outside ``{tal:name}``."""
    spec = load_spec(path)
    found = []
    for text in texts_of(spec):
        rest = _NOT_DATA.sub("", re.sub(r"\{tal:[a-z0-9_]+\}", "", text))
        found += re.findall(r"\d[\d.,]*", rest) + _NUMBER_WORDS.findall(rest)
    check(f"spec_typed_figures:{path.stem}", "maps", "parses", "silent_loss" if found else "parses", f"{found}")


# ------------------------------------------------------------------------- the syntax is safe

def _parse(title, **extra):
    return parse_spec({"name": "t", "title": title, "layers": [{"id": "k", "source": "kommuner", "style": "fill"}], **extra},
                      label="t.yaml")


@pytest.mark.parametrize("title", ["Titel {tal:__class__}", "Titel {tal:ukendt}", "Titel {tal:supercykelsti_borgere_1km",
                                   "Titel {tal: mobilitetsprojekter_i_alt}"])
def test_unknown_or_broken_placeholder_is_a_spec_error(title):
    try:
        _parse(title)
        outcome, detail = "silent_loss", "accepted"
    except InputError as exc:
        outcome = "clear_error" if "t.yaml" in str(exc) and "title" in str(exc) and exc.hint else "unclear"
        detail = str(exc)
    check(f"title_placeholder_bad:{title[6:]}", "maps", "clear_error", outcome, detail)


def test_only_placeholders_are_replaced_and_values_are_not_read_again():
    values = {"mobilitetsprojekter_i_alt": "{tal:mobilitetsprojekter_paa_kortet} {{ 7*7 }}"}
    text = "{0} {{ 7*7 }} {% raw %} {tal:mobilitetsprojekter_i_alt} {x}"
    out = fill(text, values.__getitem__)
    assert out == "{0} {{ 7*7 }} {% raw %} {tal:mobilitetsprojekter_paa_kortet} {{ 7*7 }} {x}"
    spec = _parse("Titel {{ 7*7 }} {0}", notes=["{% if 1 %}x{% endif %}"])
    assert resolve(spec, FakeSources()) is spec   # no placeholder: nothing computed, nothing changed


def test_every_figure_names_a_known_source():
    from kkr_geo.layers.registry import source_names
    assert {f.source for f in FIGURES.values()} <= set(source_names())
