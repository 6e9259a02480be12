"""The build's hook for the annex set: per map the figure table CSV (``<map>_tal.csv``), the annex PDF
(``<map>_bilag.pdf``) and the link back to the index; after all maps, ``index.html``.

:func:`annex_outputs` runs after a map's renderers (in the build's worker processes, see
:mod:`kkr_geo.maps.render_pool`); :meth:`AnnexSet.add` collects the results in map order and
:meth:`AnnexSet.write_index` writes the index at the end of a full build.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from kkr_geo.geo.errors import KkrGeoError
from kkr_geo.geo.io import write_text_atomic
from kkr_geo.geo.log import get_logger
from kkr_geo.maps.annex import annex_path, ensure_image, write_annex
from kkr_geo.maps.figures import map_figures
from kkr_geo.maps.index_page import IndexCard, link_to_index, thumbnail_data_uri, write_index

CSV_SUFFIX = "_tal.csv"


@dataclass
class AnnexOutputs:
    """What the annex hook made for one map: new files (by key), its index card, what could not be made."""

    files: dict[str, Path] = field(default_factory=dict)
    card: IndexCard | None = None
    not_made: list[tuple[str, str]] = field(default_factory=list)   # (what, why) for the index page
    messages: list[str] = field(default_factory=list)               # warnings for the build log
    html_bytes: int | None = None                                    # the HTML map's size after the back link


def annex_outputs(out_dir: Path, pm, files: dict[str, Path], formats, thumbnail: str | None = None) -> AnnexOutputs:
    """Figures CSV always; the annex PDF when the build writes PDFs; the back link when it writes HTML.
    ``files``: the map's outputs so far (by format); ``thumbnail``: the index card's, if the renderer made it.
    Everything comes from the prepared map (its analysis tables included, ``pm.tables``); no shared state:
    the build calls this in a render process."""
    spec = pm.spec
    out_dir = Path(out_dir)
    res = AnnexOutputs()
    figures = map_figures(pm)
    if figures.tables:
        res.files["csv"] = write_text_atomic(out_dir / f"{spec.name}{CSV_SUFFIX}", figures.csv())
    everything = {**files, **res.files}
    if "pdf" in formats:
        try:
            with tempfile.TemporaryDirectory() as tmp:
                image = ensure_image(pm, everything, Path(tmp))
                res.files["bilag"] = write_annex(pm, figures, image, annex_path(out_dir, spec.name), everything)
        except KkrGeoError as exc:
            why = exc.message.split("\n")[0]
            res.not_made.append((f"{spec.title}: tilgængeligt bilag (PDF)", why))
            res.messages.append(f"  warning: annex PDF of {spec.name} not written – {why}")
    everything = {**files, **res.files}
    if "html" in everything:
        res.html_bytes = link_to_index(everything["html"])
    png = everything.get("png")
    thumb = thumbnail or (thumbnail_data_uri(Path(png)) if png is not None and Path(png).exists() else None)
    res.card = IndexCard(spec.name, spec.title, spec.subtitle, figures.sentence, everything, pm.source_line,
                         pm.date_line, list(pm.notes), thumbnail=thumb)
    return res


_log = get_logger(__name__)


class AnnexSet:
    def __init__(self, out_dir: Path, log: Callable[[str], None] = _log.info):
        self.out = Path(out_dir)
        self.log = log
        self.cards: list[IndexCard] = []
        self.not_made: list[tuple[str, str]] = []   # (what, why) for the index page

    def add(self, made: AnnexOutputs) -> None:
        """Collect one map's card and what could not be made (in the order the maps are listed)."""
        for line in made.messages:
            self.log(line)
        self.not_made += made.not_made
        if made.card is not None:
            self.cards.append(made.card)

    def write_index(self, report) -> Path:
        from kkr_geo.maps.build import SUMMARY_NAME, coverage_tables
        labels = {f"{SUMMARY_NAME}.csv": "Oplande pr. projekt",
                  f"{SUMMARY_NAME}_pr_omraade.csv": "Oplande fordelt på kommuner og planområder",
                  f"{SUMMARY_NAME}.md": "Oversigt over oplande og dækning med metode"}
        labels.update({f"{SUMMARY_NAME}_{suffix}.csv": heading for suffix, heading in coverage_tables().values()})
        skipped = [(m.title, m.skipped) for m in report.skipped]
        skipped += [(f"GeoPackage-lag {name}", why) for name, why in report.gpkg_skipped.items()]
        skipped += self.not_made
        downloads = []
        if report.geopackage:
            downloads.append(("GeoPackage til QGIS/ArcGIS", report.geopackage,
                              f"lagene {', '.join(report.gpkg_layers)} (EPSG:25832)"))
        for p in report.summary_files:
            desc = "tekst (Markdown)" if p.suffix == ".md" else "tal til Excel (semikolon, decimalkomma)"
            downloads.append((labels.get(p.name, p.stem), p, desc))
        sources = [(c.title, " · ".join(t for t in (c.source_line, c.date_line) if t)) for c in self.cards]
        path = write_index(self.cards, self.out, skipped=skipped, downloads=downloads, sources=sources)
        self.log(f"index: {path.name} ({len(self.cards)} map(s))")
        return path
