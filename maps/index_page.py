"""``index.html``: one self-contained, accessible page that ties the annex set together.

One card per map (thumbnail embedded as a small PNG data URI, title, the map's message in one sentence, links to
the interactive map, the print PDF, the annex PDF, the PNG and the figure table CSV), the GeoPackage and the summary,
the data sources and dates, and what was skipped and why. No scripts, no external assets; every link is relative,
so the folder can be moved or archived as a whole.

:func:`link_to_index` adds the "Til oversigten" link to an HTML map written by :mod:`kkr_geo.maps.interactive`.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from kkr_geo.geo.io import write_text_atomic
from kkr_geo.maps.danish_numbers import esc

INDEX_NAME = "index.html"
THUMB_WIDTH = 320
BACK_LINK_CLASS = "kkr-index"
LINK_LABELS = (("html", "Interaktivt kort", "HTML"), ("pdf", "Trykkort", "PDF"), ("bilag", "Tilgængeligt bilag", "PDF"),
               ("png", "Billede til Word", "PNG"), ("svg", "Vektorgrafik", "SVG"), ("csv", "Tal bag kortet", "CSV"))


@dataclass
class IndexCard:
    name: str
    title: str
    subtitle: str | None
    sentence: str
    files: dict[str, Path]
    source_line: str = ""
    date_line: str | None = None
    notes: list[str] = field(default_factory=list)
    thumbnail: str | None = None   # a ``data:`` URI made when the map was rendered; else made from ``files["png"]``


def thumbnail_data_uri(png, width: int = THUMB_WIDTH) -> str:
    """A downscaled copy of the map PNG (a path, or the page as a PIL image) as a ``data:`` URI
    (deterministic: no metadata, fixed compression)."""
    from PIL import Image
    if isinstance(png, Image.Image):
        return _thumbnail(png, width)
    with Image.open(png) as img:
        return _thumbnail(img, width)


def _thumbnail(img, width: int) -> str:
    from PIL import Image
    img = img.convert("RGB")
    h = max(1, round(img.height * width / img.width))
    # a box reduction first (to at least twice the thumbnail's size), then Lanczos: 4x faster than
    # Lanczos from 300 dpi, and the same to the eye at 320 px
    factor = max(1, img.width // (2 * width))
    small = (img.reduce(factor) if factor > 1 else img).resize((width, h), Image.Resampling.LANCZOS)
    small = small.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buf = io.BytesIO()
    small.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _size(path: Path) -> str:
    n = path.stat().st_size
    if n >= 1e6:
        return f"{n / 1e6:.1f} MB".replace(".", ",")
    return f"{max(1, round(n / 1e3))} kB"


def _card(card: IndexCard, out_dir: Path) -> str:
    links = []
    for key, label, kind in LINK_LABELS:
        path = card.files.get(key)
        if path is None or not Path(path).exists():
            continue
        rel = Path(path).name
        links.append(f"<li><a href=\"{esc(rel)}\">{esc(label)} <span class=\"fmt\">({kind}, {_size(Path(path))})</span>"
                     f"<span class=\"vh\"> – {esc(card.title)}</span></a></li>")
    thumb = ""
    png = card.files.get("png")
    uri = card.thumbnail or (thumbnail_data_uri(Path(png)) if png is not None and Path(png).exists() else None)
    if uri:
        # the sentence next to it states the message, so the thumbnail is decorative for a screen reader
        thumb = f"<img class=\"thumb\" src=\"{uri}\" alt=\"\" width=\"{THUMB_WIDTH}\">"
    meta = [t for t in (card.date_line, card.source_line) if t]
    return (f"<li class=\"card\" id=\"{esc(card.name)}\"><article aria-labelledby=\"t-{esc(card.name)}\">"
            f"<h3 id=\"t-{esc(card.name)}\">{esc(card.title)}</h3>"
            + (f"<p class=\"sub\">{esc(card.subtitle)}</p>" if card.subtitle else "")
            + thumb
            + f"<p class=\"msg\">{esc(card.sentence)}</p>"
            + (f"<ul class=\"links\">{''.join(links)}</ul>" if links else "")
            + ("".join(f"<p class=\"meta\">{esc(m)}</p>" for m in meta))
            + "</article></li>")


_CSS = """
:root{--ink:#1a1a1a;--muted:#4a4a4a;--link:#0b4f8a;--line:#c9c9c9;--bg:#ffffff;--card:#f6f7f9}
*{box-sizing:border-box}
html{font-family:'DejaVu Sans',Verdana,Arial,sans-serif;font-size:16px;line-height:1.5;color:var(--ink);background:var(--bg)}
body{margin:0}
.skip{position:absolute;left:-10000px;top:0;background:#fff;padding:8px 12px;border:2px solid var(--link)}
.skip:focus{left:8px;top:8px;z-index:10}
header,main,footer{max-width:1240px;margin:0 auto;padding:16px 20px}
h1{font-size:1.7rem;margin:8px 0 4px;line-height:1.25}
h2{font-size:1.3rem;margin:28px 0 10px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:1.1rem;margin:0 0 4px;line-height:1.3}
p.lead{color:var(--muted);margin:0 0 8px;max-width:70ch}
ul.cards{list-style:none;padding:0;margin:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:20px}
li.card article{background:var(--card);border:1px solid var(--line);border-radius:4px;padding:14px;height:100%}
p.sub{color:var(--muted);font-size:.9rem;margin:0 0 8px}
img.thumb{display:block;width:100%;height:auto;border:1px solid var(--line);background:#fff;margin:0 0 8px}
p.msg{margin:0 0 8px}
ul.links{padding-left:1.2em;margin:0 0 8px}
ul.links li{margin:2px 0}
a{color:var(--link);text-decoration:underline;text-underline-offset:2px}
a:focus-visible,a:focus{outline:3px solid #e07b00;outline-offset:2px}
.fmt{color:var(--muted);font-size:.85rem}
p.meta{font-size:.8rem;color:var(--muted);margin:2px 0}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
table{border-collapse:collapse;margin:8px 0;font-size:.92rem}
th,td{border-bottom:1px solid var(--line);padding:4px 10px 4px 0;text-align:left;vertical-align:top}
footer{color:var(--muted);font-size:.85rem}
@media (max-width:480px){html{font-size:15px}header,main,footer{padding:12px}ul.cards{grid-template-columns:1fr}}
"""


def render_index(cards: list[IndexCard], out_dir: Path, *, skipped: list[tuple[str, str]] = (),
                 downloads: list[tuple[str, Path, str]] = (), sources: list[tuple[str, str]] = (),
                 data_dir: str | None = None) -> str:
    """The index page as a string. ``skipped``: (what, why); ``downloads``: (label, file, description);
    ``sources``: (map title, source and date line)."""
    title = "Kortbilag – KKR Hovedstaden"
    parts = ["<a class=\"skip\" href=\"#indhold\">Spring til indholdet</a>",
             f"<header><h1>{esc(title)}</h1><p class=\"lead\">Oversigt over kortbilagene: {len(cards)} kort med "
             f"interaktivt kort, trykkort, tilgængeligt bilag (PDF med tal og kildeangivelse) og tallene bag kortet "
             f"som CSV til Excel.</p></header>",
             "<main id=\"indhold\" tabindex=\"-1\">", "<section aria-labelledby=\"h-kort\"><h2 id=\"h-kort\">Kort</h2>",
             "<ul class=\"cards\">" + "".join(_card(c, out_dir) for c in cards) + "</ul></section>"]
    if downloads:
        items = "".join(f"<li><a href=\"{esc(Path(p).name)}\">{esc(label)}</a> ({_size(Path(p))}) – {esc(desc)}</li>"
                        for label, p, desc in downloads if Path(p).exists())
        parts.append(f"<section aria-labelledby=\"h-data\"><h2 id=\"h-data\">Data til GIS og regneark</h2><ul>{items}</ul></section>")
    if sources:
        rows = "".join(f"<tr><th scope=\"row\">{esc(t)}</th><td>{esc(s)}</td></tr>" for t, s in sources)
        parts.append("<section aria-labelledby=\"h-kilder\"><h2 id=\"h-kilder\">Datakilder og datoer</h2>"
                     "<table><caption class=\"vh\">Kilder og datagrundlag pr. kort</caption><thead><tr>"
                     "<th scope=\"col\">Kort</th><th scope=\"col\">Kilder og datagrundlag</th></tr></thead>"
                     f"<tbody>{rows}</tbody></table></section>")
    if skipped:
        items = "".join(f"<li><strong>{esc(what)}</strong>: {esc(why)}</li>" for what, why in skipped)
        parts.append(f"<section aria-labelledby=\"h-skip\"><h2 id=\"h-skip\">Ikke lavet</h2><ul>{items}</ul></section>")
    parts.append("</main>")
    foot = "Lavet med kkr-geo." + (f" Datamappe: {esc(data_dir)}." if data_dir else "")
    parts.append(f"<footer><p>{foot}</p></footer>")
    return ("<!DOCTYPE html>\n<html lang=\"da\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<meta name=\"generator\" content=\"kkr-geo\"><title>{esc(title)}</title><style>{_CSS}</style></head>"
            "<body>" + "".join(parts) + "</body></html>\n")


def write_index(cards, out_dir: Path, **kwargs) -> Path:
    out_dir = Path(out_dir)
    return write_text_atomic(out_dir / INDEX_NAME, render_index(cards, out_dir, **kwargs))


# Bottom left, above Leaflet's scale bar: the title, zoom and layer controls crowd the top; the legend is on the right.
_BACK_CSS = (f"<style>.{BACK_LINK_CLASS}{{position:absolute;left:10px;bottom:40px;z-index:1001;background:#fff;"
             "padding:4px 8px;border:1px solid #8c8c8c;border-radius:3px;font:13px/1.3 'DejaVu Sans',Arial,sans-serif}"
             f".{BACK_LINK_CLASS} a{{color:#0b4f8a}}.{BACK_LINK_CLASS} a:focus{{outline:3px solid #e07b00;outline-offset:2px}}"
             "</style>")


def link_to_index(html_path: Path, href: str = INDEX_NAME) -> int:
    """Put a "Til oversigten" link (first in the tab order) into an HTML map; returns the new size in bytes.
    Idempotent: a page that already has the link is left as it is."""
    html_path = Path(html_path)
    html = html_path.read_text(encoding="utf-8")
    if f'class="{BACK_LINK_CLASS}"' not in html:
        m = re.search(r"<body\b[^>]*>", html)
        if m is None:
            raise ValueError(f"{html_path.name}: no <body> element to put the link to the index into")
        nav = (f"{_BACK_CSS}<nav class=\"{BACK_LINK_CLASS}\" aria-label=\"Kortbilag\">"
               f"<a href=\"{esc(href)}\">Til oversigten</a></nav>")
        html = html[:m.end()] + nav + html[m.end():]
        write_text_atomic(html_path, html)
    return len(html.encode("utf-8"))
