"""No two labels or key numbers overlap on the real-data maps (maps/static.py label placement): measured on
the rendered figure with matplotlib's own text extents (the number of a key, not its leader line)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
from matplotlib.text import Text

LABELLED = ["befolkningsprognose_2030", "behandlet_i_eget_omraade", "borgere_pr_kapacitet_sp51", "kapacitet_2030",
            "stationsnaerhed", "tilskud_pr_borger", "ventetider_sp51", "ventetider_sp62", "brt_oplande"]


@pytest.fixture(scope="module")
def sources(any_data):
    from kkr_geo.maps.sources import Sources
    return Sources(any_data)


def _label_boxes(fig):
    renderer = fig.canvas.get_renderer()
    out = []
    for ax in fig.axes:
        for t in ax.texts:
            if t.get_zorder() < 22 or not t.get_visible() or not t.get_text().strip():
                continue  # labels and key numbers are drawn at zorder 22-23
            if hasattr(t, "update_positions"):
                t.update_positions(renderer)
            out.append((t.get_text(), Text.get_window_extent(t, renderer)))
    return out


@pytest.mark.parametrize("name", LABELLED)
def test_no_two_labels_overlap(sources, name):
    from kkr_geo.maps.prepare import prepare
    from kkr_geo.maps.sources import SourceUnavailable
    from kkr_geo.maps.spec import load_specs
    from kkr_geo.maps.static import build_figure
    try:
        pm = prepare(load_specs(only=[name])[0], sources)
    except SourceUnavailable as exc:
        pytest.skip(f"{name}: {exc}")
    fig = build_figure(pm)
    try:
        boxes = _label_boxes(fig)
        assert len(boxes) >= 4, boxes
        clashes = [(a, b) for i, (a, ba) in enumerate(boxes) for b, bb in boxes[i + 1:] if ba.overlaps(bb)]
        assert clashes == [], clashes
    finally:
        plt.close(fig)


@pytest.fixture(scope="module")
def shipped_results(sources):
    """{map name: StaticResult} of every shipped map's static figure (built once for the tests below)."""
    from kkr_geo.maps.prepare import prepare
    from kkr_geo.maps.spec import load_specs
    from kkr_geo.maps.static import StaticResult, build_figure
    results = {}
    for spec in load_specs():
        if spec.name in ("klinik_daekningshuller", "patientstroemme"):
            continue  # need a clinic file / a flow table
        result = StaticResult()
        plt.close(build_figure(prepare(spec, sources), result))
        results[spec.name] = result
    return results


def test_the_bornholm_inset_covers_no_mapped_area(shipped_results):
    """Where Bornholm sits in a corner of the main map, its box lies over sea or neighbours, not over the region's
    areas (it shrinks to half size before it may cover any; the supercykelsti map's box hid southern Frederikssund).
    Maps with Bornholm in the strip under the map, or without Bornholm, have no corner inset."""
    covers = {name: r.inset_cover for name, r in shipped_results.items() if r.inset_cover is not None}
    assert len(covers) >= 8 and "supercykelstier_oplande" in covers, covers
    assert {n: c for n, c in covers.items() if c > 0.02} == {}


def test_no_legend_or_text_box_covers_mapped_data(shipped_results):
    """The in-map legend, the catchment figures box and the numbered key lie over sea or neighbours, not over the
    mapped data (maps/static.py: where the emptiest corner still covers data, the map's extent opens towards it).
    The supercykelsti legend hid northern Helsingør and Gribskov's coast (21 % of its box), the patient change
    legend the top of Helsingør (1 %), the waiting time legends a corner of Helsingør's coast (0.4 %)."""
    from kkr_geo.maps.static import BOX_COVER_TOLERANCE
    covers = {(name, box): cover for name, r in shipped_results.items()
              for box, cover in (("legend", r.legend_cover), ("figures", r.figures_cover), ("key", r.key_cover))
              if cover is not None}
    boxes = {box for _, box in covers}
    assert boxes == {"legend", "figures", "key"}, covers   # every kind of box is measured on some map
    assert ("supercykelstier_oplande", "legend") in covers and len(covers) >= 20, covers
    assert {k: round(c, 4) for k, c in covers.items() if c > BOX_COVER_TOLERANCE} == {}
    # the map made room without shrinking much (its scale bar and scale text follow the new extent)
    assert {n: r.room_growth for n, r in shipped_results.items() if r.room_growth > 1.15} == {}
