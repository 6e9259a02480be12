"""Figures in map titles come from the data: ``{tal:name}`` declared under the spec's ``tal:`` (kkr_geo.maps.text_figures).

The red team found titles that typed the development data's figures ("Over 700.000 borgere ...", "18 står på
kortet, 15 kun i tabellen"): with other data they would lie. Each case is recorded in the reliability ledger.
The vocabulary is tested on small frames whose answers are worked out by hand in each test.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from kkr_geo.geo.errors import InputError
from kkr_geo.maps.sources import SourceUnavailable
from kkr_geo.maps.spec import load_spec, parse_spec
from kkr_geo.maps.text_figures import count_da, fill, over_da, resolve, texts_of
from reliability_cases import check, reliability_ledger  # noqa: F401  (autouse fixture)

SPEC_DIR = Path(str(resources.files("kkr_geo.maps") / "specs"))
SHIPPED_WITH_FIGURES = sorted(p.stem for p in SPEC_DIR.glob("*.yaml") if "{tal:" in p.read_text(encoding="utf-8"))


def _spec(name):
    return load_spec(SPEC_DIR / f"{name}.yaml")


class FakeSources:
    def __init__(self, **layers):
        self.layers = layers

    def get(self, name):
        if name not in self.layers:
            raise SourceUnavailable(f"{name}: not in this test's data")
        return self.layers[name]


def _frame():
    """Five areas; E has no geometry (a project 'ikke stedfæstet'), C no value."""
    return gpd.GeoDataFrame({"navn": ["A", "B", "C", "D", "E"],
                             "v": [0.0, 1.0, None, 2.0, 1.0],
                             "kind": ["x", "y", "x", "z", "x"],
                             "geometri": ["punkt", "linje", "punkt", "punkt", "ingen"]},
                            geometry=[shapely.Point(i, 0) for i in range(4)] + [None], crs=25832)


def _parse(title, tal=None, *, layers=None, known_sources=None, **extra):
    data = {"name": "t", "title": title, **extra,
            "layers": layers or [{"id": "k", "source": "omr", "style": "fill"},
                                 {"id": "kx", "source": "omr", "style": "fill", "filter": {"kind": "x"}}]}
    if tal is not None:
        data["tal"] = tal
    return parse_spec(data, label="t.yaml", known_sources=known_sources)


def _figure(fig: dict, frame=None) -> str:
    """The text of one figure ``{tal:f}`` declared as ``fig``, on ``frame`` (default :func:`_frame`) as source ``omr``."""
    spec = _parse("{tal:f}", {"f": fig})
    return resolve(spec, FakeSources(omr=_frame() if frame is None else frame)).title


# ------------------------------------------------------------------------------- formatting helpers

@pytest.mark.parametrize("value, text", [(730_592, "over 730.000"), (700_000, "over 690.000"), (26_000, "over 25.000"),
                                         (1_234, "over 1.200"), (999_999, "over 990.000"), (1_000, "over 900"),
                                         (640, "ca. 600"), (30, "under 100"), (0, "0")])
def test_over_is_rounded_down_and_always_true(value, text):
    assert over_da(value) == text


@pytest.mark.parametrize("n, text", [(0, "ingen kommuner"), (1, "én kommune"), (7, "syv kommuner"), (12, "tolv kommuner"),
                                     (13, "13 kommuner"), (1234, "1.234 kommuner")])
def test_counts_in_words_up_to_twelve(n, text):
    assert count_da(n, "kommune", "kommuner") == text


# ------------------------------------------------------------------------------- the vocabulary

@pytest.mark.parametrize("fig, text", [
    # sum of v: 0 + 1 + 2 + 1 = 4 (C, empty, left out)
    ({"layer": "k", "sum": "v"}, "4"),
    ({"layer": "k", "sum": "v", "decimals": 2}, "4,00"),
    ({"source": "omr", "sum": "v"}, "4"),
    # layer kx keeps kind x: A, C, E -> 0 + 1
    ({"layer": "kx", "sum": "v"}, "1"),
    # count: all five rows, E without geometry too; kx: three
    ({"layer": "k", "count": "all"}, "5"),
    ({"layer": "kx", "count": "all"}, "3"),
    # text conditions as a layer's filter reads them
    ({"layer": "k", "count": {"geometri": "ingen"}}, "1"),
    ({"layer": "k", "count": {"geometri": {"not": "ingen"}}}, "4"),
    ({"layer": "k", "count": {"kind": ["y", "z"]}}, "2"),
    ({"layer": "k", "count": {"kind": {"not": ["y", "z"]}}}, "3"),
    # number conditions on v = 0, 1, (empty), 2, 1: the empty value meets none
    ({"layer": "k", "count": {"v": 1}}, "2"),
    ({"layer": "k", "count": {"v": {"equal": 0}}}, "1"),
    ({"layer": "k", "count": {"v": {"above": 1}}}, "1"),
    ({"layer": "k", "count": {"v": {"below": 1}}}, "1"),
    ({"layer": "k", "count": {"v": {"at_least": 1}}}, "3"),
    ({"layer": "k", "count": {"v": {"at_most": 1}}}, "3"),
    # several conditions: all of them (kind x and v at least 1: E only)
    ({"layer": "k", "count": {"kind": "x", "v": {"at_least": 1}}}, "1"),
    # how it is written; a placeholder opening the text gets a capital letter
    ({"layer": "k", "count": {"v": {"at_least": 1}}, "as": ["kommune", "kommuner"]}, "Tre kommuner"),
    ({"layer": "k", "count": {"v": {"above": 1}}, "as": ["område", "områder"], "neuter": True}, "Ét område"),
    ({"layer": "k", "count": {"v": {"above": 1}}, "as": ["kommune", "kommuner"]}, "Én kommune"),
    ({"layer": "k", "count": {"v": {"above": 5}}, "as": ["kommune", "kommuner"]}, "Ingen kommuner"),
])
def test_vocabulary_on_a_small_frame(fig, text):
    assert _figure(fig) == text


def test_sum_written_over_and_as_a_number_with_decimals():
    """inhabitants 1.234,4 + 2.500,3 + 0 = 3.734,7: 'over 3.700' (rounded down to two digits), '3.734,7' (1 decimal),
    '3.735' (0 decimals, the default)."""
    g = _frame().assign(v=[1234.4, 2500.3, None, 0.0, None])
    assert _figure({"layer": "k", "sum": "v", "as": "over"}, g) == "Over 3.700"
    assert _figure({"layer": "k", "sum": "v", "decimals": 1}, g) == "3.734,7"
    assert _figure({"layer": "k", "sum": "v"}, g) == "3.735"


def test_total_reads_the_tables_own_total_row():
    """The region's row 'I alt' (attrs region_total by column), not the sum of the areas (0 + 1 + 2 + 1 = 4)."""
    g = _frame()
    g.attrs["region_total"] = {"v": 13.46, "w": 8677.0}
    assert _figure({"layer": "k", "total": "v", "decimals": 1}, g) == "13,5"
    assert _figure({"layer": "kx", "total": "v"}, g) == "13"      # the layer's filter does not change the table's row


def test_total_without_the_row_skips_the_map_with_the_reason():
    with pytest.raises(SourceUnavailable, match=r"\{tal:f\}.*no region total row \('I alt'\) for v"):
        _figure({"layer": "k", "total": "v"})


def test_text_in_a_number_column_skips_the_map_with_the_reason():
    g = _frame().assign(v=["1", "2", None, "ikke oplyst", ""])
    with pytest.raises(SourceUnavailable, match=r"\{tal:f\}.*'v' holds 1 value\(s\) that are not numbers.*'ikke oplyst'"):
        _figure({"layer": "k", "sum": "v"}, g)


def test_unavailable_source_skips_the_map():
    spec = _parse("{tal:f}", {"f": {"source": "other", "count": "all"}})
    with pytest.raises(SourceUnavailable, match="other: not in this test's data"):
        resolve(spec, FakeSources(omr=_frame()))


@pytest.mark.parametrize("fig, col", [({"layer": "k", "sum": "inhabitants"}, "inhabitants"),
                                      ({"layer": "k", "count": {"typ": "x"}}, "typ"),
                                      ({"layer": "k", "total": "vv"}, "vv")])
def test_a_column_the_source_lacks_is_a_clear_error_at_build_time(fig, col):
    try:
        _figure(fig)
        outcome, detail = "silent_loss", "computed"
    except InputError as exc:
        said = str(exc)
        outcome = "clear_error" if (exc.message == f"t.yaml: tal.f: column {col!r} is not in source 'omr'."
                                    and "navn, v, kind, geometri" in (exc.hint or "")) else "unclear"
        detail = said
    check(f"title_figure_bad_column:{col}", "maps", "clear_error", outcome, detail)


def test_each_figure_is_computed_once_and_only_when_used():
    calls = []

    class Counting(FakeSources):
        def get(self, name):
            calls.append(name)
            return super().get(name)
    spec = _parse("{tal:f} og {tal:f}", {"f": {"layer": "k", "count": "all"}}, notes=["{tal:f}"])
    out = resolve(spec, Counting(omr=_frame()))
    assert (out.title, out.notes, calls) == ("5 og 5", ["5"], ["omr"])


# ------------------------------------------------------------------------------- errors when the spec is read

def _spec_error(title, tal, **kw) -> InputError:
    with pytest.raises(InputError) as info:
        _parse(title, tal, **kw)
    return info.value


@pytest.mark.parametrize("tal, key, said", [
    ({"f": {"layer": "k", "summ": "v"}}, "tal.f.summ", "unknown key"),                       # unknown key ...
    ({"f": {"layer": "k", "mean": "v"}}, "tal.f.mean", "unknown key"),                       # ... an operation we lack
    ({"f": {"layer": "k"}}, "tal.f", "computes nothing"),
    ({"f": {"layer": "k", "sum": "v", "count": "all"}}, "tal.f", "has sum, count"),
    ({"f": {"layer": "nope", "sum": "v"}}, "tal.f.layer", "'nope' is not one of the spec's layer ids (k, kx)"),
    ({"f": {"sum": "v"}}, "tal.f", "give either layer"),
    ({"f": {"layer": "k", "source": "omr", "sum": "v"}}, "tal.f", "not both"),
    ({"f": {"layer": "k", "sum": ["v"]}}, "tal.f.sum", "expected a column name"),
    ({"f": {"layer": "k", "count": "alle"}}, "tal.f.count", "expected all or {column: condition}"),
    ({"f": {"layer": "k", "count": {}}}, "tal.f.count", "expected all or {column: condition}"),
    ({"f": {"layer": "k", "count": {"v": {"around": 1}}}}, "tal.f.count.v", "is not a condition"),
    ({"f": {"layer": "k", "count": {"v": {"above": "1"}}}}, "tal.f.count.v", "is not a condition"),
    ({"f": {"layer": "k", "count": {"v": True}}}, "tal.f.count.v", "is not a condition"),
    ({"f": {"layer": "k", "count": {"v": {"above": 1, "below": 3}}}}, "tal.f.count.v", "is not a condition"),
    ({"f": {"layer": "k", "sum": "v", "as": "words"}}, "tal.f.as", "is not a way to write a figure"),
    ({"f": {"layer": "k", "count": "all", "as": ["kommune"]}}, "tal.f.as", "expected [singular, plural]"),
    ({"f": {"layer": "k", "sum": "v", "as": ["kommune", "kommuner"]}}, "tal.f.as", "a noun goes with count"),
    ({"f": {"layer": "k", "sum": "v", "as": "over", "decimals": 1}}, "tal.f.decimals", "goes with as: number"),
    ({"f": {"layer": "k", "sum": "v", "decimals": 9}}, "tal.f.decimals", "use 0 to 6"),
    ({"f": {"layer": "k", "count": "all", "neuter": True}}, "tal.f.neuter", "goes with as: [singular, plural]"),
    ({"f": "sum of v"}, "tal.f", "expected a mapping"),
    (["f"], "tal", "expected a mapping of figure names"),
    ({"F-1": {"layer": "k", "count": "all"}}, "tal.F-1", "is not a figure name"),
])
def test_malformed_figure_is_a_spec_error_naming_file_and_key(tal, key, said):
    title = "Titel {tal:f}" if isinstance(tal, dict) and "f" in tal else "Titel"
    exc = _spec_error(title, tal)
    assert exc.message.startswith(f"t.yaml: {key}: ") and said in exc.message, str(exc)


def test_unknown_source_is_a_spec_error():
    exc = _spec_error("{tal:f}", {"f": {"source": "kommunr", "count": "all"}}, known_sources=["omr", "kommuner"])
    assert exc.message == "t.yaml: tal.f.source: unknown source 'kommunr'." and "kommuner" in exc.hint


def test_a_declared_figure_no_text_uses_is_a_spec_error():
    exc = _spec_error("Titel", {"f": {"layer": "k", "count": "all"}})
    assert exc.message == "t.yaml: tal.f: is used by no text." and "{tal:f}" in exc.hint


@pytest.mark.parametrize("key, extra", [("title", {}), ("subtitle", {"subtitle": "{tal:g}"}), ("notes[1]", {"notes": ["x", "{tal:g}"]}),
                                        ("table.title", {"table": {"source": "omr", "title": "{tal:g}", "columns": {"navn": "Navn"}}})])
def test_unknown_placeholder_in_any_text_names_the_text(key, extra):
    title = "{tal:g}" if key == "title" else "{tal:f}"
    exc = _spec_error(title, {"f": {"layer": "k", "count": "all"}} if key != "title" else None, **extra)
    assert exc.message == f"t.yaml: {key}: unknown placeholder {{tal:g}}." and "tal:" in exc.hint


@pytest.mark.parametrize("title", ["Titel {tal:__class__}", "Titel {tal:ukendt}", "Titel {tal:f",
                                   "Titel {tal: f}", "Titel {tal:F}"])
def test_unknown_or_broken_placeholder_is_a_spec_error(title):
    try:
        _parse(title, {"f": {"layer": "k", "count": "all"}}, notes=["{tal:f}"])
        outcome, detail = "silent_loss", "accepted"
    except InputError as exc:
        outcome = "clear_error" if exc.message.startswith("t.yaml: title: ") and exc.hint else "unclear"
        detail = str(exc)
    check(f"title_placeholder_bad:{title[6:]}", "maps", "clear_error", outcome, detail)


def test_only_placeholders_are_replaced_and_values_are_not_read_again():
    values = {"f": "{tal:g} {{ 7*7 }}"}
    text = "{0} {{ 7*7 }} {% raw %} {tal:f} {x}"
    assert fill(text, values.__getitem__) == "{0} {{ 7*7 }} {% raw %} {tal:g} {{ 7*7 }} {x}"
    spec = _parse("Titel {{ 7*7 }} {0}", notes=["{% if 1 %}x{% endif %}"])
    assert resolve(spec, FakeSources()) is spec   # no placeholder: nothing computed, nothing changed


# ------------------------------------------------------------------- the shipped specs follow the data

def test_the_shipped_specs_with_figures():
    assert SHIPPED_WITH_FIGURES == ["kapacitet_2030", "mobilitetsprojekter_oversigt", "supercykelstier_oplande"]


def _kommuner(values):
    return gpd.GeoDataFrame({"navn": [f"K{i}" for i in range(len(values))], "inden_1km": values},
                            geometry=[shapely.Point(700_000 + i, 6_170_000) for i in range(len(values))], crs=25832)


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
    g = gpd.GeoDataFrame({"navn": ["A", "B", "C", "D"], "udvidelse_sp51": [0.0, 1.5, 0.2, None],
                          "borgere_pr_kap_2030_uden_sp51": 1.0, "borgere_pr_kap_2030_med_sp51": 1.0},
                         geometry=[shapely.Point(i, 0) for i in range(4)], crs=25832)
    g.attrs["region_total"] = {"udvidelse_sp51": 1.7, "borgere_pr_kap_2030_uden_sp51": 9123.4,
                               "borgere_pr_kap_2030_med_sp51": 8001.0}
    out = resolve(_spec("kapacitet_2030"), FakeSources(kapacitet_2030=g))
    ok = ("går til to planlægningsområder" in out.title
          and "+1,7 kapacitet (sp. 51), borgere pr. kapacitet 2030 fra 9.123 til 8.001." in out.notes[0])
    check("title_figures_capacity_changed_data", "maps", "parses", "parses" if ok else "silent_loss",
          f"{out.title} | {out.notes}")


def test_capacity_figure_without_a_total_row_skips_the_map_with_the_reason():
    g = gpd.GeoDataFrame({"navn": ["A"], "udvidelse_sp51": [1.0], "borgere_pr_kap_2030_uden_sp51": [1.0],
                          "borgere_pr_kap_2030_med_sp51": [1.0]}, geometry=[shapely.Point(0, 0)], crs=25832)
    with pytest.raises(SourceUnavailable, match="I alt"):
        resolve(_spec("kapacitet_2030"), FakeSources(kapacitet_2030=g))


@pytest.mark.parametrize("name", SHIPPED_WITH_FIGURES)
def test_every_shipped_figure_resolves_on_the_data(name, real_data):
    """Each declared figure computes on the embedded (or development) data, and no placeholder is left."""
    from kkr_geo.maps.sources import Sources
    from kkr_geo.maps.text_figures import compute
    spec, src = _spec(name), Sources(real_data.path)
    assert spec.tal
    values = {n: compute(f, spec, src) for n, f in spec.tal.items()}
    assert all(v and "{" not in v for v in values.values()), values
    out = resolve(spec, src)
    assert not any("{tal:" in t for t in texts_of(out)), texts_of(out)


def test_titles_of_the_shared_data(real_data):
    """The data: 7 of the 29 kommuner with no inhabitant within 1 km (Dragør, Fredensborg, Helsingør, Hørsholm,
    Halsnæs, Gribskov, Bornholm: the per-kommune table of the build); 33 projects of which 18 placed; 8 planning
    areas with an expansion (region: +13,5; 8.677 -> 7.122)."""
    from kkr_geo.maps.sources import Sources
    src = Sources(real_data.path)
    kom = src.get("supercykelstier_kommuner")
    zero = set(kom.loc[kom["inden_1km"] == 0, "navn"])
    assert zero == {"Dragør", "Fredensborg", "Helsingør", "Hørsholm", "Halsnæs", "Gribskov", "Bornholm"}
    cycle = resolve(_spec("supercykelstier_oplande"), src).title
    assert cycle.startswith(f"{over_da(kom['inden_1km'].sum()).capitalize()} borgere") and "i syv kommuner" in cycle
    # between the straight line × 1.5 and × 1.0 figures of the same lines and surface (a route is never shorter
    # than the straight line; ~1.3 is the usual detour): 727.000 and 933.000 on the embedded default
    from kkr_geo.geo.catchment import corridor_catchment
    from kkr_geo.layers.region_population import region_population_grid
    from kkr_geo.layers.registry import load_layer
    lines, grid = load_layer("supercykelstier", real_data), region_population_grid(real_data)
    straight = {f: corridor_catchment(lines, grid, [1000], mode="cumulative", detour_factor=f).table["population"].sum()
                for f in (1.0, 1.5)}
    assert straight[1.5] < kom["inden_1km"].sum() <= straight[1.0] + 1
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
