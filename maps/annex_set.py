"""The build's hook for the annex set: per map the figure table CSV (``<map>_tal.csv``), the annex PDF
(``<map>_bilag.pdf``) and the link back to the index; after all maps, ``index.html``.

:func:`kkr_geo.maps.build.build` calls :meth:`AnnexSet.add_map` after a map's renderers and
:meth:`AnnexSet.write_index` at the end of a full build.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

from kkr_geo.geo.errors import KkrGeoError
from kkr_geo.geo.io import write_text_atomic
from kkr_geo.maps.annex import annex_path, ensure_image, write_annex
from kkr_geo.maps.figures import map_figures
from kkr_geo.maps.index_page import IndexCard, link_to_index, write_index

CSV_SUFFIX = "_tal.csv"


class AnnexSet:
    def __init__(self, out_dir: Path, log: Callable[[str], None] = print):
        self.out = Path(out_dir)
        self.log = log
        self.cards: list[IndexCard] = []
        self.not_made: list[tuple[str, str]] = []   # (what, why) for the index page

    def add_map(self, pm, outcome, formats, tables: dict, meta: dict | None = None) -> None:
        """Figures CSV always; the annex PDF when the build writes PDFs; the back link when it writes HTML."""
        spec = pm.spec
        figures = map_figures(pm, tables, meta)
        if figures.tables:
            outcome.files["csv"] = write_text_atomic(self.out / f"{spec.name}{CSV_SUFFIX}", figures.csv())
        if "pdf" in formats:
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    image = ensure_image(pm, outcome.files, Path(tmp))
                    outcome.files["bilag"] = write_annex(pm, figures, image, annex_path(self.out, spec.name),
                                                         outcome.files)
            except KkrGeoError as exc:
                why = exc.message.split("\n")[0]
                self.not_made.append((f"{spec.title}: tilgængeligt bilag (PDF)", why))
                self.log(f"  warning: annex PDF of {spec.name} not written – {why}")
        if "html" in outcome.files:
            outcome.html_bytes = link_to_index(outcome.files["html"])
        self.cards.append(IndexCard(spec.name, spec.title, spec.subtitle, figures.sentence, outcome.files,
                                    pm.source_line, pm.date_line, list(pm.notes)))

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
