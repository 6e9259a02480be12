"""The print maps draw DejaVu Sans from a Latin cut of it (fast PDF embedding, see kkr_geo.maps.fonts): the pages
must be pixel-identical to pages drawn with the full font, also for text outside the cut, and the PDF's text must
stay extractable."""

from __future__ import annotations

import dataclasses
import io

import matplotlib.pyplot as plt
import numpy as np
import pytest

from kkr_geo.maps import static
from kkr_geo.maps.fonts import BASE_FAMILY, CUT_FAMILY, font_family
from kkr_geo.maps.prepare import prepare
from kkr_geo.maps.sources import Sources
from kkr_geo.maps.spec import load_specs

# Danish letters, a decomposed å (a + combining ring), ½ and ≥ (in the cut); Cyrillic and Armenian (not in it)
TITLE = "Borgere på Ærø og Øster Åby – a\u030angen ½ ≥ 3 · Жук Արմ"


@pytest.fixture(scope="module")
def pm(synth_data):
    sources = Sources(synth_data)
    spec = load_specs(None, ["borgere_pr_kapacitet_sp51"], known_sources=sources.names())[0]
    p = prepare(spec, sources)
    return dataclasses.replace(p, spec=dataclasses.replace(p.spec, title=TITLE))


def _render(pm, family, fmt):
    rc = static._rc()
    rc["font.family"] = family
    with plt.rc_context(rc):
        fig = static.build_figure(pm, static.StaticResult())
        try:
            buf = io.BytesIO()
            fig.savefig(buf, format=fmt, dpi=60, facecolor="white")
        finally:
            plt.close(fig)
    return buf.getvalue()


def test_the_cut_is_made_and_used():
    assert font_family() == [CUT_FAMILY, BASE_FAMILY]
    assert static._rc()["font.family"] == [CUT_FAMILY, BASE_FAMILY]


def test_pages_are_pixel_identical_to_the_full_font_also_outside_the_cut(pm):
    full = np.frombuffer(_render(pm, [BASE_FAMILY], "rgba"), np.uint8)
    cut = np.frombuffer(_render(pm, font_family(), "rgba"), np.uint8)
    assert full.shape == cut.shape and np.array_equal(full, cut)


def test_the_pdf_embeds_the_cut_and_its_text_reads_back(pm):
    import pypdf
    reader = pypdf.PdfReader(io.BytesIO(_render(pm, font_family(), "pdf")))
    fonts = {str(f.get_object()["/BaseFont"]).split("+")[-1]
             for page in reader.pages for f in page["/Resources"]["/Font"].values()}
    assert "DejaVuSansKKR" in fonts and "DejaVuSansKKR-Bold" in fonts
    # the characters outside the cut come from the full font, embedded alongside
    assert any(f.startswith("DejaVuSans") and "KKR" not in f for f in fonts)
    text = reader.pages[0].extract_text()
    for word in ("Borgere", "Ærø", "Øster", "Åby", "Жук"):
        assert word in text, (word, text[:300])


@pytest.fixture
def own_font_manager():
    """Fonts registered by a test (from its tmp cache) are unregistered afterwards: later tests must not find them."""
    from matplotlib import font_manager
    saved = list(font_manager.fontManager.ttflist)
    yield
    font_manager.fontManager.ttflist[:] = saved
    font_manager.fontManager._findfont_cached.cache_clear()
    font_manager._get_font.cache_clear()


def test_the_cut_is_the_same_file_wherever_and_whenever_it_is_made(tmp_path, monkeypatch, own_font_manager):
    """PDFs embed (a subset of) the cut: a cut carrying its making time would make rebuilds differ."""
    import hashlib
    import time

    from kkr_geo.maps import fonts
    digests = []
    for run in ("a", "b"):
        monkeypatch.setenv("KKR_GEO_CACHE", str(tmp_path / run))
        monkeypatch.setattr(fonts, "_family", None)
        assert fonts.font_family() == [CUT_FAMILY, BASE_FAMILY]
        files = sorted((tmp_path / run / "fonts").glob("*.ttf"))
        assert len(files) == 2
        digests.append([hashlib.sha256(f.read_bytes()).hexdigest() for f in files])
        time.sleep(1.1)   # fontTools would stamp a new modification time into 'head'
    assert digests[0] == digests[1]
    monkeypatch.setattr(fonts, "_family", None)


def test_without_a_writable_cache_the_full_font_is_used(tmp_path, monkeypatch, own_font_manager):
    from kkr_geo.maps import fonts
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("KKR_GEO_CACHE", str(blocker))
    monkeypatch.setattr(fonts, "_family", None)
    assert fonts.font_family() == [BASE_FAMILY]
    monkeypatch.setattr(fonts, "_family", None)
