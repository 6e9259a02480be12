"""Annex documents: one accessible, archivable PDF per map (``<map>_bilag.pdf``).

The document is written as HTML and rendered by WeasyPrint as a tagged PDF: title and subtitle as headings,
the map image (the build's PNG) with an alt text stating the map's message, the figures as a real table
(``<th scope>`` headers, read back as text), the method and source lines and the data date.

Conformance: WeasyPrint's ``pdf/a-3b`` variant (output intent, XMP identification, embedded fonts) with tagging
switched on (structure tree, ``/MarkInfo /Marked true``, ``/Lang``, ``/ViewerPreferences /DisplayDocTitle``).
WeasyPrint has no combined PDF/A + PDF/UA variant; its ``pdf/ua-1`` variant only adds the PDF/UA identification
to the XMP metadata, which :func:`_add_pdfua_identification` does here, with the PDF/A extension schema that
PDF/A requires for the ``pdfuaid`` namespace. Nothing here runs a PDF/A or PDF/UA validator (veraPDF is not
available to the build); the tests check the structural requirements listed above.
"""

from __future__ import annotations

import base64
import contextlib
import os
import warnings
from pathlib import Path

from kkr_geo.geo.errors import KkrGeoError
from kkr_geo.geo.io import write_bytes_atomic
from kkr_geo.maps.figures import FigureTable, MapFigures
from kkr_geo.maps.danish_numbers import esc
from kkr_geo.maps.prepare import PreparedMap

PDF_VARIANT = "pdf/a-3b"
ANNEX_SUFFIX = "_bilag.pdf"
AUTHOR = "KKR Hovedstaden"

_PDFUA_XMP = (
    b'<rdf:Description xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" rdf:about=""'
    b' xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/" pdfuaid:part="1"/>'
    b'<rdf:Description xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" rdf:about=""'
    b' xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"'
    b' xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#"'
    b' xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">'
    b'<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">'
    b'<pdfaSchema:schema>PDF/UA Universal Accessibility Schema</pdfaSchema:schema>'
    b'<pdfaSchema:namespaceURI>http://www.aiim.org/pdfua/ns/id/</pdfaSchema:namespaceURI>'
    b'<pdfaSchema:prefix>pdfuaid</pdfaSchema:prefix>'
    b'<pdfaSchema:property><rdf:Seq><rdf:li rdf:parseType="Resource">'
    b'<pdfaProperty:name>part</pdfaProperty:name><pdfaProperty:valueType>Integer</pdfaProperty:valueType>'
    b'<pdfaProperty:category>internal</pdfaProperty:category>'
    b'<pdfaProperty:description>Indicates, which part of ISO 14289 standard is followed</pdfaProperty:description>'
    b'</rdf:li></rdf:Seq></pdfaSchema:property>'
    b'</rdf:li></rdf:Bag></pdfaExtension:schemas></rdf:Description>'
)


class AnnexUnavailable(KkrGeoError):
    """The annex PDF cannot be made here (WeasyPrint or its system libraries are missing)."""

    exit_code = 3


def _font_faces() -> str:
    """DejaVu Sans from matplotlib's own copy, so the embedded font does not depend on the system's fonts."""
    import matplotlib
    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    faces = []
    for file, weight, style in (("DejaVuSans.ttf", "normal", "normal"), ("DejaVuSans-Bold.ttf", "bold", "normal"),
                                ("DejaVuSans-Oblique.ttf", "normal", "italic")):
        path = ttf / file
        if path.exists():
            faces.append(f"@font-face{{font-family:'KKR DejaVu Sans';src:url('{path.as_uri()}');"
                         f"font-weight:{weight};font-style:{style}}}")
    return "".join(faces)


_CSS = """
@page{size:A4 portrait;margin:16mm 16mm 18mm 16mm}
html{font-family:'KKR DejaVu Sans','DejaVu Sans',sans-serif;font-size:9.5pt;line-height:1.4;color:#1a1a1a}
h1{font-size:16pt;margin:0 0 2mm;line-height:1.2}
p.sub{font-size:11pt;margin:0 0 5mm;color:#333}
h2{font-size:12pt;margin:6mm 0 2mm;break-after:avoid}
figure{margin:0 0 4mm}
figure img{width:100%;max-height:200mm;object-fit:contain;border:0.3pt solid #bdbdbd}
figcaption{font-size:8.5pt;color:#333;margin-top:1.5mm}
table{border-collapse:collapse;width:100%;margin:0 0 4mm;font-size:8.5pt}
caption{text-align:left;font-weight:bold;margin-bottom:1.5mm;caption-side:top}
th,td{border-bottom:0.4pt solid #d0d0d0;padding:1.2mm 2mm;vertical-align:top}
thead th{border-bottom:0.8pt solid #555;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tbody th{text-align:left;font-weight:normal}
tr{break-inside:avoid}
tr.total th,tr.total td{font-weight:bold;border-top:0.8pt solid #555}
p.meta{margin:0 0 1.5mm}
section.newpage{break-before:page}
caption{break-after:avoid}
"""


def table_html(t: FigureTable) -> str:
    """One figure table as accessible HTML (caption, column headers, row headers)."""
    num = ' class="n"'
    head = "".join(f"<th scope=\"col\"{num if c.numeric else ''}>{esc(c.header)}</th>" for c in t.columns)
    body = []
    for row in t.texts():
        cells = [f"<th scope=\"row\">{esc(row[0])}</th>"]
        cells += [f"<td{num if t.columns[j].numeric else ''}>{esc(v)}</td>" for j, v in enumerate(row) if j]
        body.append(("<tr class=\"total\">" if row[0] == "I alt" else "<tr>") + "".join(cells) + "</tr>")
    return (f"<table><caption>{esc(t.caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


COMPANIONS = (("pdf", "trykkort"), ("html", "interaktivt kort"), ("png", "billede"))


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " og " + items[-1]


def annex_html(pm: PreparedMap, figures: MapFigures, image: Path, files: dict[str, Path] | None = None) -> str:
    """``files``: the map's other outputs (by format), named in the caption under the map."""
    spec = pm.spec
    companions = [f"{Path(files[k]).name} ({what})" for k, what in COMPANIONS if files and k in files]
    parts = [f"<h1>{esc(spec.title)}</h1>"]
    if spec.subtitle:
        parts.append(f"<p class=\"sub\">{esc(spec.subtitle)}</p>")
    # a data: URI, not the file's path: the PDF must not depend on where the build runs (rebuilds are identical)
    src = "data:image/png;base64," + base64.b64encode(Path(image).read_bytes()).decode("ascii")
    parts.append(f"<figure><img src=\"{src}\" alt=\"{esc(figures.message)}\">"
                 + (f"<figcaption>Kortet findes også som {esc(_join(companions))}.</figcaption>" if companions else "")
                 + "</figure>")
    if figures.tables:
        # a portrait map fills its page: the figures start on the next; under a landscape map there is room
        parts.append(f"<section class=\"figs{' newpage' if _is_portrait(image) else ''}\"><h2>Tal bag kortet</h2>")
        parts += [table_html(t) for t in figures.tables]
        parts.append("</section>")
    parts.append("<h2>Metode og kilder</h2>")
    for line in (*pm.notes, pm.source_line, pm.date_line or "Datagrundlag: ikke angivet i kortets specifikation"):
        if line:
            parts.append(f"<p class=\"meta\">{esc(line)}</p>")
    desc = spec.subtitle or spec.title
    return ("<!DOCTYPE html>\n<html lang=\"da\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(spec.title)}</title><meta name=\"description\" content=\"{esc(desc)}\">"
            f"<meta name=\"author\" content=\"{esc(AUTHOR)}\"><meta name=\"generator\" content=\"kkr-geo\">"
            f"<style>{_font_faces()}{_CSS}</style></head><body><main>" + "".join(parts) + "</main></body></html>")


def _is_portrait(image: Path) -> bool:
    from PIL import Image
    with Image.open(image) as img:
        return img.height > img.width


def _weasyprint():
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: Pango/HarfBuzz system libraries missing
        raise AnnexUnavailable(
            f"annex PDF: WeasyPrint cannot be loaded ({exc}).",
            hint="install it with pip (it is a dependency of kkr-geo) and the Pango libraries: "
                 "apt-get install -y libpango-1.0-0 libpangoft2-1.0-0") from exc
    return weasyprint


def _add_pdfua_identification(pdf_bytes: bytes) -> bytes:
    """Add ``pdfuaid:part=1`` (and its PDF/A extension schema) to the XMP metadata WeasyPrint wrote."""
    import io

    import pikepdf
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        meta = pdf.Root.Metadata
        xmp = meta.read_bytes()
        end = xmp.rfind(b"</rdf:RDF>")
        if end < 0:
            raise KkrGeoError("annex PDF: WeasyPrint wrote no XMP packet to extend with the PDF/UA identification.")
        meta.write(xmp[:end] + _PDFUA_XMP + xmp[end:])
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True, static_id=False)
        return out.getvalue()


def write_annex(pm: PreparedMap, figures: MapFigures, image: Path, path: Path,
                files: dict[str, Path] | None = None) -> Path:
    """Render the annex document of one map to ``path`` (atomically)."""
    weasyprint = _weasyprint()
    html = annex_html(pm, figures, Path(image), files)
    with warnings.catch_warnings():
        # WeasyPrint opens its sRGB profile without closing it; the ResourceWarning says nothing about the annex.
        # (It fires when the cycle holding the file is collected: the build's notes ignore ResourceWarnings, so no
        # full gc.collect() per annex is needed here; that cost 0,1–0,25 s a map.)
        warnings.simplefilter("ignore", ResourceWarning)
        with _fixed_font_timestamp():
            pdf = weasyprint.HTML(string=html).write_pdf(pdf_variant=PDF_VARIANT, pdf_tags=True, uncompressed_pdf=False,
                                                         custom_metadata=False)
    pdf = _add_pdfua_identification(pdf)
    return write_bytes_atomic(path, pdf)


# 2000-01-01 (the GeoPackage's pinned date): the embedded font subsets' ``head.modified`` timestamp
FIXED_FONT_EPOCH = "946684800"


@contextlib.contextmanager
def _fixed_font_timestamp():
    """Without HarfBuzz-subset, WeasyPrint subsets the fonts with fontTools, which stamps each subset with the
    current time unless ``SOURCE_DATE_EPOCH`` is set: two builds then wrote different annex PDFs. The variable
    is set for the call only (a value the caller set is kept)."""
    if "SOURCE_DATE_EPOCH" in os.environ:
        yield
        return
    os.environ["SOURCE_DATE_EPOCH"] = FIXED_FONT_EPOCH
    try:
        yield
    finally:
        os.environ.pop("SOURCE_DATE_EPOCH", None)


def annex_path(out_dir: Path, name: str) -> Path:
    return Path(out_dir) / f"{name}{ANNEX_SUFFIX}"


def ensure_image(pm: PreparedMap, files: dict[str, Path], tmp_dir: Path) -> Path:
    """The map's PNG from the build, or (when the build made none) a 150 dpi PNG rendered into ``tmp_dir``."""
    if "png" in files and Path(files["png"]).exists():
        return Path(files["png"])
    from kkr_geo.maps.static import render_static
    target = Path(tmp_dir) / f"{pm.spec.name}.png"
    render_static(pm, {"png": target}, dpi=150)
    return target


__all__ = ["AnnexUnavailable", "annex_html", "annex_path", "ensure_image", "table_html", "write_annex",
           "PDF_VARIANT"]
