"""Danish number format, classification and spec validation."""

import math

import numpy as np
import pytest

from kkr_geo.geo.errors import InputError
from kkr_geo.maps.classify import classify, palette_colours
from kkr_geo.maps.danish_numbers import esc, fmt_number, fmt_percent, fmt_range, fmt_value
from kkr_geo.maps.spec import load_spec, load_specs, parse_spec


@pytest.mark.parametrize("value,decimals,expected", [
    (1234.5, 1, "1.234,5"), (1234567, 0, "1.234.567"), (0.5, 2, "0,50"), (-1234.25, 1, "-1.234,2"),
    (-0.01, 1, "0,0"), (999.96, 1, "1.000,0"), (float("nan"), 0, "–"), (None, 0, "–"), (12, 0, "12"),
])
def test_fmt_number(value, decimals, expected):
    assert fmt_number(value, decimals) == expected


def test_fmt_helpers():
    assert fmt_percent(12.5, 1) == "12,5 %"
    assert fmt_range(1988, 3600) == "1.988–3.600"
    assert fmt_value(5465.0) == "5.465"
    assert fmt_value(7.16) == "7,16"
    assert fmt_value("Høje-Taastrup") == "Høje-Taastrup"
    assert esc('<script>alert("x")</script>&') == "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;"


@pytest.mark.parametrize("scheme", ["quantiles", "natural_breaks", "equal_interval"])
def test_classify_covers_data(scheme):
    values = np.array([1988, 2500, 3600, 4242, 5165, 7376, 14324, 5465, np.nan, 3000], dtype=float)
    c = classify(values, scheme, 4)
    assert c.lower == 1988 and c.bins[-1] == 14324
    assert c.classes[8] == -1 and c.has_missing
    assert sum(c.counts) == 9
    assert all(0 <= k < c.k for k in c.classes[~np.isnan(values)])
    # every value is at most its class's upper bound and above the previous one
    for v, k in zip(values, c.classes):
        if not math.isnan(v):
            assert v <= c.bins[k] and (k == 0 or v > c.bins[k - 1])
    assert c.labels[0].startswith("1.988–") and c.labels[-1].endswith("–14.324")
    assert c.legend_items()[-1][1] == "Ingen data"


def test_classify_manual_and_few_values():
    c = classify([1, 5, 10, 50], "manual", breaks=[5, 20])
    assert c.bins == [5, 20, 50] and c.counts == [2, 1, 1]
    c = classify([3, 3, 3], "quantiles", 5)
    assert c.k == 1 and c.counts == [3]


def test_palettes_light_to_dark():
    cols = palette_colours("YlGnBu", 5)
    assert len(set(cols)) == 5


def test_shipped_specs_load():
    specs = load_specs()
    names = {s.name for s in specs}
    assert {"borgere_pr_kapacitet_sp51", "borgere_pr_kapacitet_sp62", "planomraader_borgere_pr_kapacitet",
            "brt_oplande", "parker_og_rejs", "klinik_daekningshuller", "mobilitetsprojekter_oversigt",
            "patientstroemme"} <= names
    for s in specs:
        assert s.title and s.layers


BASE = {"title": "T", "layers": [{"id": "k", "source": "kommuner", "style": "choropleth"}],
        "indicator": {"column": "befolkning", "label": "Befolkning"}}


@pytest.mark.parametrize("patch,key", [
    ({"palette": "jet"}, "palette"),
    ({"classification": {"scheme": "jenks"}}, "classification.scheme"),
    ({"classification": {"scheme": "manual"}}, "classification.breaks"),
    ({"classification": {"k": 20}}, "classification.k"),
    ({"page": {"size": "A5"}}, "page.size"),
    ({"formats": ["png", "tiff"]}, "formats[1]"),
    ({"extent": [1, 2]}, "extent"),
    ({"titel": "x"}, "titel"),
    ({"labels": {"layer": "nope", "column": "navn"}}, "labels.layer"),
    ({"indicator": {"label": "x"}}, "indicator.column"),
])
def test_spec_errors_name_file_and_key(patch, key):
    data = {**BASE, **patch}
    with pytest.raises(InputError) as err:
        parse_spec(data, label="demo.yaml", name="demo")
    assert str(err.value).startswith(f"demo.yaml: {key}:")


def test_spec_layer_errors(tmp_path):
    p = tmp_path / "kort.yaml"
    p.write_text("title: X\nlayers:\n  - {id: a, source: kommuner, style: blob}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"kort.yaml: layers\[0\]\.style: unknown style 'blob'"):
        load_spec(p)
    p.write_text("title: X\nlayers: [\n", encoding="utf-8")
    with pytest.raises(InputError, match="kort.yaml: cannot be parsed"):
        load_spec(p)
    p.write_text("layers: []\n", encoding="utf-8")
    with pytest.raises(InputError, match="kort.yaml: title: is required"):
        load_spec(p)


def test_labels_accept_a_prioritised_list():
    from kkr_geo.maps.spec import parse_spec

    base = {"title": "T", "layers": [{"id": "kom", "source": "kommuner", "style": "fill", "label": "Kommune"},
                                     {"id": "brt", "source": "brt", "style": "line", "label": "BRT"}]}
    one = parse_spec(dict(base, labels={"layer": "kom", "column": "navn"}), name="t")
    assert one.labels == [{"layer": "kom", "column": "navn"}]
    two = parse_spec(dict(base, labels=[{"layer": "brt", "column": "kortnavn"}, {"layer": "kom", "column": "navn"}]), name="t")
    assert [lab["layer"] for lab in two.labels] == ["brt", "kom"]
    import pytest
    from kkr_geo.geo.errors import InputError
    with pytest.raises(InputError, match=r"labels\[1\]\.layer"):
        parse_spec(dict(base, labels=[{"layer": "brt", "column": "kortnavn"}, {"layer": "nope", "column": "navn"}]), name="t")
