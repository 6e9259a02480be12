"""The print maps' font: DejaVu Sans (matplotlib's own), with a Latin cut for fast PDF embedding.

matplotlib embeds a PDF's fonts as TrueType (Type 42) subsets made with fontTools, one subsetting run
per face and subset (four per map: regular and bold, each with a second subset for ligatures).
Subsetting the full DejaVu Sans (≈ 6.000 glyphs and large OpenType layout tables) took 0,1–0,15 s a
run, about 40 % of a map's PDF time. The build therefore draws with a copy of DejaVu Sans cut to
what maps of Danish public data use (Latin with its extensions, combining accents, Greek, punctuation,
super- and subscripts, currency, letter-like symbols, number forms, arrows, mathematical operators and
geometric shapes), with hinting and the layout tables (kerning, ligatures, mark positioning) kept,
under the family name ``DejaVu Sans KKR``. The full DejaVu Sans stays next in the family list, so
any other character still comes from it (matplotlib falls back per glyph). Pages are pixel-identical
to pages drawn with the full font (``tests/test_build_parallel.py`` renders a map both ways).

The copy is made once per machine, into ``$KKR_GEO_CACHE/fonts`` or the user cache, under a name
that carries the source font's checksum and the fontTools version; written atomically, so two
processes making it at once cannot leave a broken file. If it cannot be made, the full font is used.
The font's licence (Bitstream Vera / DejaVu) allows modified copies under a name without "Bitstream"
or "Vera"; the copy is never shipped, only made where the build runs.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

BASE_FAMILY = "DejaVu Sans"
CUT_FAMILY = "DejaVu Sans KKR"
_RECIPE = 2   # bump when the cut's options or ranges change (the cached files carry it in their names)
_FACES = (("normal", "DejaVuSansKKR"), ("bold", "DejaVuSansKKR-Bold"))
# Unicode blocks kept in the cut (start, end inclusive)
_RANGES = ((0x20, 0x7E), (0xA0, 0x24F), (0x250, 0x2FF), (0x300, 0x36F), (0x370, 0x3FF), (0x1E00, 0x1EFF),
           (0x2000, 0x206F), (0x2070, 0x209F), (0x20A0, 0x20CF), (0x2100, 0x214F), (0x2150, 0x218F),
           (0x2190, 0x21FF), (0x2200, 0x22FF), (0x25A0, 0x25FF))

logger = logging.getLogger(__name__)
_family: list[str] | None = None


def _cache_dir() -> Path:
    import platformdirs
    return Path(os.environ.get("KKR_GEO_CACHE") or platformdirs.user_cache_dir("kkr-geo", appauthor=False)) / "fonts"


def _make_cut(source: Path, target: Path, postscript_name: str) -> None:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    opts = subset.Options()
    opts.layout_features = ["*"]          # kerning, ligatures, marks: as the full font shapes them
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.hinting = True
    opts.legacy_kern = True
    opts.notdef_outline = True
    opts.glyph_names = True
    opts.drop_tables += ["FFTM"]           # FontForge's timestamp (fontTools would warn that it drops it)
    font = TTFont(str(source), recalcTimestamp=False)   # the same cut byte for byte wherever it is made
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=[u for a, b in _RANGES for u in range(a, b + 1)])
    sub.subset(font)
    for rec in font["name"].names:
        text = rec.toUnicode()
        if rec.nameID in (1, 3, 4, 16, 21):   # family, unique id, full name, typographic family
            rec.string = text.replace(BASE_FAMILY, CUT_FAMILY)
        elif rec.nameID == 6:                   # PostScript name
            rec.string = postscript_name
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        font.save(str(tmp))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def font_family() -> list[str]:
    """The family list for the print maps: ``["DejaVu Sans KKR", "DejaVu Sans"]`` once the cut is made
    and registered with matplotlib (once per process), else ``["DejaVu Sans"]``."""
    global _family
    if _family is not None:
        return _family
    from matplotlib import font_manager

    try:
        import fontTools
        folder = _cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for weight, ps_name in _FACES:
            source = Path(font_manager.findfont(font_manager.FontProperties(family=BASE_FAMILY, weight=weight),
                                                fallback_to_default=False))
            if BASE_FAMILY.replace(" ", "") not in source.name:
                raise FileNotFoundError(f"{BASE_FAMILY} ({weight}) not found, got {source.name}")
            digest = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
            target = folder / f"{ps_name}-{digest}-ft{fontTools.version}-r{_RECIPE}.ttf"
            if not target.exists():
                _make_cut(source, target, ps_name)
            paths.append(target)
        for p in paths:
            font_manager.fontManager.addfont(str(p))
        _family = [CUT_FAMILY, BASE_FAMILY]
    except Exception as exc:  # noqa: BLE001 - any failure: draw with the full font (slower PDFs, same pages)
        logger.debug("font cut not used: %s: %s", type(exc).__name__, exc)
        _family = [BASE_FAMILY]
    return _family


__all__ = ["BASE_FAMILY", "CUT_FAMILY", "font_family"]
