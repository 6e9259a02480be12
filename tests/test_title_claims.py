"""Area names in map texts are checked against the data (``claims:`` in a spec, kkr_geo.maps.claims).

"Befolkningen vokser mest på Vesterbro, Amager og i Høje-Taastrup" is true of one year's data; with the next
practice plan it may not be, and the title would lie while looking finished. Each such statement is declared next
to the title as a claim, and the build checks it against the prepared map's data: a false claim stops that map.
"""

from __future__ import annotations

import csv
import re
from importlib import resources
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from kkr_geo.geo.errors import InputError
from kkr_geo.maps.claims import ClaimFalse, check_claims
from kkr_geo.maps.spec import load_spec, parse_spec
from reliability_cases import check, reliability_ledger  # noqa: F401  (autouse fixture)

SPEC_DIR = Path(str(resources.files("kkr_geo.maps") / "specs"))
SHIPPED = sorted(SPEC_DIR.glob("*.yaml"))


def _areas(values: dict, column="v", **extra):
    """Square areas named by ``values``' keys, one column of figures."""
    names = list(values)
    return gpd.GeoDataFrame({"navn": names, column: list(values.values()), **extra},
                            geometry=[shapely.box(i * 10, 0, i * 10 + 9, 9) for i in range(len(names))], crs=25832)


class FakeSources:
    def __init__(self, **layers):
        self.layers = layers

    def get(self, name):
        return self.layers[name]

    def names(self):
        return list(self.layers)


def _spec(claims, **extra):
    data = {"name": "t", "title": "Titel", "layers": [{"id": "omr", "source": "omr", "style": "choropleth"}],
            "indicator": {"layer": "omr", "column": "v", "label": "V"}, "claims": claims, **extra}
    return parse_spec(data, label="t.yaml", known_sources=["omr", "kommuner", "projekter"])


def _check(claims, gdf, **layers):
    spec = _spec(claims)
    check_claims(spec, {"omr": gdf}, FakeSources(omr=gdf, **layers))


def _fails(claims, gdf, **layers) -> str:
    with pytest.raises(ClaimFalse) as info:
        _check(claims, gdf, **layers)
    return str(info.value)


# ------------------------------------------------------------------------------ the vocabulary

GROWTH = {"Vesterbro": 14.6, "Amager": 9.6, "Høje-Taastrup": 8.2, "Valby": 1.8, "Gentofte": -3.6, "Hørsholm": -3.5,
          "Dragør": -2.8}


def test_top_holds_for_the_highest_and_is_stopped_with_what_the_data_says():
    _check([{"names": ["Vesterbro", "Amager", "Høje-Taastrup"], "top": 3}], _areas(GROWTH))
    changed = dict(GROWTH, Valby=20.0)           # by hand: Valby 20,0 > Vesterbro > Amager > Høje-Taastrup
    msg = _fails([{"names": ["Vesterbro", "Amager", "Høje-Taastrup"], "top": 3}], _areas(changed))
    assert "t.yaml: claims[0]" in msg and "Vesterbro, Amager, Høje-Taastrup" in msg
    assert "top 3 are Valby (20), Vesterbro (14,6), Amager (9,6)" in msg, msg


def test_top_n_larger_than_the_names_means_among_the_highest():
    _check([{"names": ["Amager", "Vesterbro"], "top": 3}], _areas(GROWTH))
    msg = _fails([{"names": ["Amager", "Valby"], "top": 3}], _areas(GROWTH))
    assert "Valby (1,8)" in msg


def test_bottom_and_ties():
    _check([{"names": ["Gentofte", "Hørsholm"], "bottom": 2}], _areas(GROWTH))
    # a tie at the edge: either of the tied areas may be named
    tied = {"A": 1.0, "B": 2.0, "C": 2.0, "D": 5.0}
    _check([{"names": ["A", "B"], "bottom": 2}], _areas(tied))
    _check([{"names": ["A", "C"], "bottom": 2}], _areas(tied))
    assert "D (5)" in _fails([{"names": ["A", "D"], "bottom": 2}], _areas(tied))


def test_thresholds_each_name_and_only():
    _check([{"names": ["Gentofte", "Hørsholm"], "below": 0}], _areas(GROWTH))
    msg = _fails([{"names": ["Gentofte", "Valby"], "below": 0}], _areas(GROWTH))
    assert "Valby (1,8)" in msg and "below 0" in msg
    # only: no other area is; the 'at_least' bound is inclusive, 'above' is not
    waits = {"Glostrup": 40.0, "Egedal": 29.0, "Ballerup": 26.0, "Furesø": 25.0}
    _check([{"names": ["Glostrup", "Egedal", "Ballerup"], "at_least": 26, "only": True}], _areas(waits))
    msg = _fails([{"names": ["Glostrup", "Egedal"], "above": 26, "only": False}, {"names": ["Glostrup", "Egedal"],
                  "at_least": 26, "only": True}], _areas(waits))
    assert "claims[1]" in msg and "also Ballerup (26)" in msg, msg
    _check([{"names": ["Furesø"], "at_most": 25}, {"names": ["Ballerup"], "equal": 26}], _areas(waits))


def test_only_with_except_leaves_areas_out():
    shares = {"Fredensborg": 29.0, "Vallensbæk": 40.0, "Valby": 40.0, "Bispebjerg": 39.0, "Gentofte": 75.0}
    kk = ["0210", "0187", "0101", "0101", "0157"]
    gdf = _areas(shares, kommunekode=kk)
    _check([{"names": ["Fredensborg", "Vallensbæk"], "below": 50, "only": True, "except": {"kommunekode": "0101"}}], gdf)
    msg = _fails([{"names": ["Fredensborg"], "below": 50, "only": True, "except": {"kommunekode": "0101"}}], gdf)
    assert "also Vallensbæk (40)" in msg
    # "flere københavnske bydele": at least two of København's areas
    _check([{"count_min": 2, "below": 50, "where": {"kommunekode": "0101"}}], gdf)
    msg = _fails([{"count_min": 3, "below": 50, "where": {"kommunekode": "0101"}}], gdf)
    assert "at least 3" in msg and "2 (Bispebjerg, Valby)" in msg, msg


def test_count_with_a_threshold_is_exactly_n_areas_in_the_scope():
    # by hand: København's (0101) areas are Valby 40, Bispebjerg 39, Vesterbro 60 and Amager (no value); below 50:
    # Valby and Bispebjerg = 2. Vallensbæk (40, kommune 0187) is below 50 too but outside the where: not counted.
    shares = {"Valby": 40.0, "Bispebjerg": 39.0, "Vesterbro": 60.0, "Amager": None, "Vallensbæk": 40.0}
    gdf = _areas(shares, kommunekode=["0101", "0101", "0101", "0101", "0187"])
    _check([{"count": 2, "below": 50, "where": {"kommunekode": "0101"}}], gdf)
    # exactly, not at least: 1 is false although count_min: 1 holds; 3 is false as well
    _check([{"count_min": 1, "below": 50, "where": {"kommunekode": "0101"}}], gdf)
    msg = _fails([{"count": 1, "below": 50, "where": {"kommunekode": "0101"}}], gdf)
    assert "exactly 1 area(s) with kommunekode = 0101 are below 50" in msg, msg
    assert "the data has 2 (Bispebjerg, Valby)" in msg, msg
    msg = _fails([{"count": 3, "below": 50, "where": {"kommunekode": "0101"}}], gdf)
    assert "exactly 3" in msg and "the data has 2 (Bispebjerg, Valby)" in msg, msg
    # without where every area with a value counts: below 50 are Valby, Bispebjerg, Vallensbæk = 3;
    # at_least 40 (inclusive) are Valby, Vesterbro, Vallensbæk = 3, not Bispebjerg (39)
    _check([{"count": 3, "below": 50}, {"count": 3, "at_least": 40}], gdf)
    msg = _fails([{"count": 2, "below": 50}], gdf)
    assert "the data has 3 (Bispebjerg, Valby, Vallensbæk)" in msg, msg


def test_a_name_the_data_does_not_have_or_without_a_value_stops_the_map():
    assert "Atlantis is not an area" in _fails([{"names": ["Atlantis"], "top": 1}], _areas(GROWTH))
    assert "Valby has no value" in _fails([{"names": ["Valby"], "below": 5}], _areas(dict(GROWTH, Valby=None)))


def test_none_of_a_source_within_the_named_areas():
    kom = _areas({"Bornholm": 1, "Gribskov": 2})
    projects = gpd.GeoDataFrame({"navn": ["P1", "P2", "P3"]},
                                geometry=[shapely.Point(15, 5), shapely.LineString([(12, 1), (30, 1)]), None], crs=25832)
    spec = parse_spec({"name": "t", "title": "Bornholm har ingen", "layers": [{"id": "kom", "source": "kommuner",
                       "style": "fill"}], "claims": [{"names": ["Bornholm"], "layer": "kom", "none_of": "projekter"}]},
                      label="t.yaml", known_sources=["kommuner", "projekter"])
    check_claims(spec, {"kom": kom}, FakeSources(kommuner=kom, projekter=projects))
    moved = projects.set_geometry([shapely.Point(5, 5), shapely.Point(15, 5), None])
    with pytest.raises(ClaimFalse, match=r"Bornholm has none of projekter.*1 there: P1"):
        check_claims(spec, {"kom": kom}, FakeSources(kommuner=kom, projekter=moved))


def test_count_of_points_a_layer_draws():
    pts = gpd.GeoDataFrame({"navn": ["Cykelparkering"]}, geometry=[shapely.MultiPoint([(0, 0), (1, 1)])], crs=25832)
    spec = parse_spec({"name": "t", "title": "T", "layers": [{"id": "pkt", "source": "projekter", "style": "point",
                       "label": "Cykelparkering (2 af 7 stationer)"}], "claims": [{"layer": "pkt", "count": 2}]},
                      label="t.yaml", known_sources=["projekter"])
    check_claims(spec, {"pkt": pts}, FakeSources(projekter=pts))
    three = pts.set_geometry([shapely.MultiPoint([(0, 0), (1, 1), (2, 2)])])
    with pytest.raises(ClaimFalse, match="draws 2 points; the data has 3"):
        check_claims(spec, {"pkt": three}, FakeSources(projekter=three))


_BAD = [
    ({"names": ["A"]}, "one of"),
    ({"names": ["A"], "top": 1, "below": 3}, "only one of"),
    ({"names": ["A", "B"], "top": 1}, "top: 1"),
    ({"names": ["A"], "top": 1, "only": True}, "only"),
    ({"names": "A", "top": 1}, "names"),
    ({"names": ["A"], "below": "fem"}, "number"),
    ({"names": ["A"], "top": 1, "layer": "nope"}, "layer"),
    ({"names": ["A"], "top": 1, "colour": "red"}, "unknown key"),
    ({"top": 1}, "names"),
    ({"names": ["A"], "count": 2}, "count"),
    ({"names": [], "top": 1}, "names"),
    ({"names": ["A"], "below": 3, "except": {"kommunekode": "0101"}}, "only"),
    ({"count_min": 2, "top": 2}, "threshold"),
]


@pytest.mark.parametrize("i", range(len(_BAD)))
def test_a_malformed_claim_is_a_spec_error_naming_file_and_key(i):
    claim, words = _BAD[i]
    try:
        _spec([claim])
        outcome, detail = "silent_loss", "accepted"
    except InputError as exc:
        ok = "t.yaml: claims[0]" in str(exc) and words in str(exc) + (exc.hint or "")
        outcome, detail = ("clear_error" if ok else "unclear"), str(exc)
    check(f"title_claim_bad:{i}:{claim}", "maps", "clear_error", outcome, detail)


# ------------------------------------------------------------------ the shipped specs and the data

@pytest.fixture(scope="module")
def shared_sources(real_data):
    from kkr_geo.maps.sources import Sources
    return Sources(real_data.path)


def _prepare(spec, sources):
    from kkr_geo.maps.prepare import prepare
    return prepare(spec, sources)


CLAIMED = [p for p in SHIPPED if load_spec(p).claims]


@pytest.mark.parametrize("path", CLAIMED, ids=lambda p: p.stem)
def test_every_shipped_claim_holds_on_the_shared_data(path, shared_sources):
    from kkr_geo.maps.sources import SourceUnavailable
    spec = load_spec(path)
    try:
        _prepare(spec, shared_sources)
        outcome, detail = "parses", f"{len(spec.claims)} claim(s) hold"
    except SourceUnavailable as exc:
        pytest.skip(str(exc))
    except ClaimFalse as exc:
        outcome, detail = "silent_loss", str(exc)
    check(f"title_claims_hold:{path.stem}", "maps", "parses", outcome, detail)


def _area_names(spec, sources) -> set[str]:
    """The names of the areas the map's layers draw (kommuner, planning areas, planområder)."""
    from kkr_geo.maps.sources import SourceUnavailable
    names: set[str] = set()
    for lay in spec.layers:
        try:
            gdf = sources.get(lay.source)
        except SourceUnavailable:
            continue
        if not len(gdf) or not gdf.geometry.geom_type.dropna().str.contains("Polygon").all():
            continue
        for col in ("navn", "planomraade"):
            if col in gdf.columns:
                names |= {str(n) for n in gdf[col].dropna()}
    return names


def _unclaimed(spec, sources) -> list[str]:
    texts = [spec.title, spec.subtitle, *spec.notes, (spec.table or {}).get("title"), *(lay.label for lay in spec.layers)]
    text = " | ".join(t for t in texts if t)
    claimed = {n for c in spec.claims for n in c.names}
    return sorted(n for n in _area_names(spec, sources)
                  if re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", text) and n not in claimed)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_area_name_in_a_shipped_text_is_covered_by_a_claim(path, shared_sources):
    """A future editor cannot add an unchecked name: every area name of the map's layers that a title, subtitle,
    note, table title or layer label states is one of the names of a claim."""
    unclaimed = _unclaimed(load_spec(path), shared_sources)
    check(f"title_names_claimed:{path.stem}", "maps", "parses", "silent_loss" if unclaimed else "parses",
          f"unclaimed area names: {unclaimed}")


def test_the_name_coverage_finds_an_unclaimed_name(shared_sources):
    """The detector itself: a name added to a title without a claim is found (also after a preposition and
    before a dash), a longer word that only begins with a name ("Københavns", "Amagerbro") is not."""
    import dataclasses
    spec = load_spec(SPEC_DIR / "befolkningsprognose_2030.yaml")
    assert _unclaimed(spec, shared_sources) == []
    edited = dataclasses.replace(spec, title=spec.title + " – mest på Valby-siden? nej: i Valby", notes=[
        "Københavns Kommune og Amagerbro", "på Østerbro."])
    assert _unclaimed(edited, shared_sources) == ["Valby", "Østerbro"]
    assert _unclaimed(dataclasses.replace(spec, claims=[]), shared_sources) == sorted(
        ["Vesterbro", "Amager", "Høje-Taastrup", "Gentofte", "Hørsholm", "Frederiksberg"])


def test_the_layer_label_count_is_claimed():
    spec = load_spec(SPEC_DIR / "mobilitetsprojekter_oversigt.yaml")
    assert any(c.layer == "cykelpkt" and c.count == 2 for c in spec.claims)


def _changed_forecast(data_copy) -> Path:
    """A copy of the data where Valby grows 20 % 2024-2030: the top 3 become Valby, Vesterbro, Amager."""
    from conftest import writable_subdir
    root = data_copy()
    writable_subdir(root, "indikatorer")
    folder = writable_subdir(root, "indikatorer/praksisplan")
    path = folder / "befolkningsprognose_2024_2030.csv"
    src = path.resolve()
    rows = list(csv.reader(src.read_text(encoding="utf-8-sig").splitlines(), delimiter=";"))
    head = rows[0]
    for row in rows[1:]:
        if row[0] == "Valby" and row[1] == "planlægningsområde":
            row[head.index("2030")] = str(round(int(row[head.index("2024")]) * 1.2))
            row[head.index("procentaendring_2024_2030")] = "20,0"
    path.unlink()
    path.write_text("\n".join(";".join(r) for r in rows) + "\n", encoding="utf-8")
    return root


def test_changed_data_stops_the_map_with_the_message(real_data, data_copy, tmp_path, capsys):
    """The map whose title the changed data contradicts is not built, the other is; exit status 3."""
    from kkr_geo.cli import main
    root = _changed_forecast(data_copy)
    code = main(["--data-dir", str(root), "build", "--only", "befolkningsprognose_2030,kapacitet_2030", "--out", str(tmp_path / "out"),
                 "--formats", "png", "--dpi", "30"])
    out, err = capsys.readouterr()
    said = out + err
    ok = (code == 3 and not (tmp_path / "out" / "befolkningsprognose_2030.png").exists()
          and (tmp_path / "out" / "kapacitet_2030.png").exists()       # the other map is built
          and "1 STOPPED" in said
          and "befolkningsprognose_2030.yaml: claims[0]" in said
          and "top 3 are Valby (20), Vesterbro (14,6), Amager (9,6)" in said)
    check("title_claims_changed_data_stops_map", "maps", "clear_error", "clear_error" if ok else "silent_loss",
          f"exit {code}: {said[-1500:]}")


def test_a_stopped_map_is_listed_by_name_not_by_its_false_title(real_data, data_copy, tmp_path):
    from kkr_geo.maps.build import build
    root = _changed_forecast(data_copy)
    report = build(root, tmp_path / "out", only=["befolkningsprognose_2030"], formats=["png"], dpi=30)
    [m] = report.stopped
    assert m.name == m.title == "befolkningsprognose_2030" and not m.files and report.skipped == [m]
    assert m.skipped.startswith("its texts do not match the data: befolkningsprognose_2030.yaml: claims[0]")
