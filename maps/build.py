"""The annex build: every spec -> HTML + PNG + PDF (+ SVG), the GeoPackage, and the summary table.

Same inputs give byte-identical outputs: no timestamps are written unless ``date_stamp`` is given,
folium's random ids are renumbered, matplotlib writes no dates, and the GeoPackage's
``last_change`` fields are pinned (``OGR_CURRENT_DATE``). Maps whose data is not in the data
directory (no clinic file, no flow table) are skipped with the reason printed and listed in the summary.

Progress, notes and warnings go to the ``kkr_geo.maps.build`` logger (:mod:`kkr_geo.geo.log`): one line per map
(with a transient ``[i/n] name …`` line on a terminal), notes at INFO, a skipped map or an over-budget page
at WARNING. ``log=`` optionally receives the same messages as plain strings (nothing is routed by its text).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from kkr_geo.geo.errors import InputError, KkrGeoError
from kkr_geo.geo.io import remove_stale_parts, write_text_atomic
from kkr_geo.geo.limits import DPI_RANGE, dpi_ok, range_text
from kkr_geo.geo.notes import warnings_as_notes
from kkr_geo.geo.outputs import OutputGuard
from kkr_geo.geo.safe_text import csv_frame, md_text
from kkr_geo.maps.annex import annex_path
from kkr_geo.maps.annex_set import CSV_SUFFIX, AnnexSet
from kkr_geo.maps.claims import ClaimFalse
from kkr_geo.maps.index_page import INDEX_NAME
from kkr_geo.geo.log import clear_progress, get_logger, show_progress
from kkr_geo.maps.danish_numbers import fmt_number
from kkr_geo.maps.interactive import SIZE_BUDGET_BYTES
from kkr_geo.maps.prepare import prepare
from kkr_geo.maps.sources import SourceUnavailable, Sources
from kkr_geo.maps.spec import load_specs
from kkr_geo.maps.render_pool import RenderTask, default_jobs, preload_renderers, reissue_warnings, render_all

logger = get_logger(__name__)

GPKG_NAME = "kkr_geo_lag.gpkg"
SUMMARY_NAME = "oplande_og_daekning"
FIXED_GPKG_DATE = "2000-01-01T00:00:00.000Z"


def gpkg_sources() -> tuple[str, ...]:
    """Layers and derived datasets written to the GeoPackage (registry entries with ``gpkg=True``)."""
    from kkr_geo.layers.registry import gpkg_sources as names
    return names()


def coverage_tables() -> dict[str, tuple[str, str]]:
    """Coverage analyses of the summary: source name -> (summary file suffix, Markdown heading)."""
    from kkr_geo.layers.registry import summary_sources
    return {n: (e.summary_file or n, e.summary_heading or e.title) for n, e in summary_sources("coverage").items()}


def __getattr__(name: str):
    # old constant names, now derived from the registry
    if name == "GPKG_SOURCES":
        return gpkg_sources()
    if name == "COVERAGE_TABLES":
        return coverage_tables()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def summary_files() -> list[str]:
    """Every file name the summary may write (checked before a full build writes anything)."""
    return [f"{SUMMARY_NAME}.csv", f"{SUMMARY_NAME}_pr_omraade.csv", f"{SUMMARY_NAME}.md",
            *(f"{SUMMARY_NAME}_{suffix}.csv" for suffix, _ in coverage_tables().values())]


@dataclass
class MapOutcome:
    name: str
    title: str
    files: dict[str, Path] = field(default_factory=dict)
    skipped: str | None = None
    html_bytes: int | None = None
    labels_dropped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    stopped: bool = False           # not built because its texts say what the data does not (maps.claims)


@dataclass
class BuildReport:
    out_dir: Path
    maps: list[MapOutcome] = field(default_factory=list)
    geopackage: Path | None = None
    gpkg_layers: list[str] = field(default_factory=list)
    gpkg_skipped: dict[str, str] = field(default_factory=dict)
    summary_files: list[Path] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)   # what happened to outputs a previous build made and this one did not
    left_out: list[str] = field(default_factory=list)  # rows left out of the inputs (Danish, as in the summary)

    @property
    def built(self) -> list[MapOutcome]:
        return [m for m in self.maps if not m.skipped]

    @property
    def skipped(self) -> list[MapOutcome]:
        return [m for m in self.maps if m.skipped]

    @property
    def stopped(self) -> list[MapOutcome]:
        """Maps not built because a claim of their texts is false for the data (``claims:``)."""
        return [m for m in self.maps if m.stopped]


def _check_dpi_and_date(dpi, date_stamp) -> None:
    """``--dpi 0`` was ignored (the specs' 300 used without a word) and ``--dpi 100000`` ran out of memory;
    ``--date 2026-13-45`` was printed on the maps. The range is the specs' (:data:`kkr_geo.geo.limits.DPI_RANGE`)."""
    if dpi is not None and not dpi_ok(dpi):
        raise InputError(f"--dpi {dpi}: out of range.", hint=f"use 300 for print ({range_text(DPI_RANGE)} allowed).")
    if date_stamp is not None:
        import datetime
        try:
            datetime.date.fromisoformat(str(date_stamp))
            ok = len(str(date_stamp)) == 10
        except ValueError:
            ok = False
        if not ok:
            raise InputError(f"--date {date_stamp}: not a date in the form YYYY-MM-DD.", hint="e.g. --date 2024-03-01.")


@warnings_as_notes
def build(data_dir=None, out_dir: str | Path = "bilag", *, only: list[str] | None = None, spec_dir=None,
          tiles: bool | None = None, dpi: int | None = None, formats: list[str] | None = None,
          date_stamp: str | None = None, sources: Sources | None = None, with_geopackage: bool | None = None,
          overwrite: bool = False, log: Callable[[str], None] | None = None, jobs: int | None = None) -> BuildReport:
    """Build the annex set into ``out_dir``. ``only`` restricts the maps (and then skips the GeoPackage
    unless ``with_geopackage``); ``formats`` overrides the specs' formats; ``dpi`` the specs' dpi.

    Files in ``out_dir`` that kkr-geo did not write (or that were changed since) are never replaced
    unless ``overwrite``; previous outputs of the maps built now that this build no longer makes are
    removed (if unchanged) and listed as stale (:class:`kkr_geo.geo.outputs.OutputGuard`).

    ``jobs``: processes rendering maps at once (default: the cores this process may use; 1 renders
    here). Every map is prepared first, in this process; the outputs are the same for any ``jobs``."""
    from kkr_geo.layers.registry import layer_cache
    _check_dpi_and_date(dpi, date_stamp)
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise InputError(f"--jobs {jobs}: not a number of processes.", hint="use 1 or more (default: the cores available).")
    from kkr_geo.layers._left_out import collecting
    with layer_cache(), collecting() as left_out:  # each layer read once per build; every row left out recorded
        return _build(data_dir, out_dir, only=only, spec_dir=spec_dir, tiles=tiles, dpi=dpi, formats=formats,
                      date_stamp=date_stamp, sources=sources, with_geopackage=with_geopackage, overwrite=overwrite,
                      log=log, jobs=jobs, left_out=left_out)


def _build(data_dir, out_dir, *, only, spec_dir, tiles, dpi, formats, date_stamp, sources, with_geopackage,
           overwrite, log, jobs=None, left_out=()) -> BuildReport:
    out = Path(out_dir)
    t_start, c_start = time.perf_counter(), time.process_time()
    emit = _Emitter(log)  # progress and notes are logged; ``log`` (optional) collects the same messages
    sources = sources or Sources(data_dir)
    sources.add_observer(emit.observer)
    specs = load_specs(spec_dir, only, known_sources=sources.names())  # validate every spec before any work
    full = not only if with_geopackage is None else with_geopackage
    guard = OutputGuard(out, command="build", overwrite=overwrite)
    planned = [out / f"{spec.name}.{f}" for spec in specs for f in (formats or spec.formats)]
    planned += [out / f"{spec.name}{CSV_SUFFIX}" for spec in specs]  # annex figure tables
    planned += [annex_path(out, spec.name) for spec in specs if "pdf" in (formats or spec.formats)]
    if full:
        planned += [out / GPKG_NAME, out / INDEX_NAME] + [out / n for n in summary_files()]
    guard.check(planned)  # refuse before anything is written
    owners = {spec.name for spec in specs} | ({"geopackage", "summary"} if full else set())
    written: list[Path] = []
    report = BuildReport(out)
    graduated: dict = {}  # GeoPackage layer -> the classes of the first annex map drawing it
    drawn: list[str] = []  # sources drawn on the maps prepared (all go into the GeoPackage)
    annex = AnnexSet(out, emit.info)
    emit.info(f"kkr-geo build: {len(specs)} map(s) from {sources.data_dir} -> {out}")
    parts = remove_stale_parts(out)
    if parts:
        emit.info(f"  note: removed {len(parts)} temporary file(s) left by an interrupted run: {', '.join(p.name for p in parts)}")
    # Every map is prepared here (each layer read once, its notes said once); each prepared map is rendered
    # in a process forked right after it was prepared, while the next maps are prepared (render_pool).
    n_jobs = jobs or default_jobs()
    planned_formats = {f for spec in specs for f in (formats or spec.formats)}
    preload_renderers(planned_formats)   # imported once here, shared by every render process
    outcomes: list[tuple[int, MapOutcome]] = []   # (position among the specs, outcome) per map prepared
    phase = {"prepare_s": 0.0, "prepared": 0}

    def prepared_maps():
        for i, spec in enumerate(specs, 1):
            outcome = MapOutcome(spec.name, spec.title)
            report.maps.append(outcome)
            t0 = time.perf_counter()
            try:
                pm = prepare(spec, sources, date_stamp=date_stamp)
            except SourceUnavailable as exc:
                outcome.skipped = exc.message.split("\n")[0]
                emit.warning(f"[{i}/{len(specs)}] {spec.name}: skipped – {outcome.skipped}")
                continue
            except ClaimFalse as exc:
                # the title would lie: this map is not built (the others are), and the build fails at the end
                outcome.skipped, outcome.stopped = "its texts do not match the data: " + exc.message.split("\n")[0], True
                outcome.title = spec.name   # the index page lists it by name, not by the title the data contradicts
                emit.warning(f"[{i}/{len(specs)}] {spec.name}: STOPPED – {exc}")
                continue
            finally:
                phase["prepare_s"] += time.perf_counter() - t0
            outcome.title = pm.spec.title  # its figures ({tal:name}) filled from the data
            drawn.extend(lay.spec.source for lay in pm.layers if lay.spec.source not in drawn)
            if pm.classification is not None and pm.indicator_layer is not None:
                graduated.setdefault(pm.indicator_layer.spec.source, graduated_style(pm))
            outcomes.append((i, outcome))
            phase["prepared"] += 1
            yield RenderTask(pm, list(formats or spec.formats), tiles=tiles, dpi=dpi)

    if len(specs) > 1:
        emit.info(f"  preparing and rendering {len(specs)} map(s) in up to {n_jobs} process(es) at once")
    t_render = time.perf_counter()
    children_cpu = children_cpu_seconds()
    render_cpu = 0.0
    error: KkrGeoError | None = None
    for done, r in enumerate(render_all(prepared_maps(), out, jobs=n_jobs), 1):
        i, outcome = outcomes[r.index]
        prefix = f"[{i}/{len(specs)}] {outcome.name}"
        show_progress(logger, done, len(specs), outcome.name)
        reissue_warnings(r)
        if r.annex is not None:
            annex.add(r.annex)
        # every file written is recorded, also those of a map that failed half-way
        outcome.files = {k: guard.record(p, outcome.name) for k, p in r.files.items() if Path(p).exists()}
        written += outcome.files.values()
        if r.error is not None:
            error = error or r.error
            continue
        outcome.html_bytes = r.html_bytes
        outcome.labels_dropped = r.labels_dropped
        outcome.seconds = r.seconds
        render_cpu += r.cpu_seconds
        if outcome.html_bytes is not None and outcome.html_bytes > SIZE_BUDGET_BYTES:
            emit.warning(f"{outcome.name}.html is {outcome.html_bytes / 1e6:.1f} MB, over the 3 MB budget")
        if r.labels_dropped:
            emit.info(f"  note: {outcome.name}: labels left out to avoid overlaps: "
                      + ", ".join(lab.replace("\n", " ") for lab in r.labels_dropped))
        sizes = ", ".join(f"{p.name} ({_size(p)})" for p in outcome.files.values())
        # CPU time next to wall-clock: on a shared machine the difference is time spent waiting for a core
        emit.info(f"{prefix}: {sizes} [{r.seconds:.1f} s, CPU {r.cpu_seconds:.1f} s]")
        logger.debug("%s took %.1f s", outcome.name, r.seconds)
    if error is not None:
        clear_progress()
        sources.remove_observer(emit.observer)
        raise error
    parallel = n_jobs > 1 and phase["prepared"] > 1
    if phase["prepared"] > 1:
        emit.info(f"  prepared {phase['prepared']} map(s) in {phase['prepare_s']:.1f} s; all rendered after "
                  f"{time.perf_counter() - t_render:.1f} s (render CPU {render_cpu:.1f} s"
                  + (f", up to {n_jobs} process(es) at once)" if parallel else ")"))
    children_cpu = children_cpu_seconds() - children_cpu

    if full and not report.built:
        emit.warning("no map could be built; `kkr-geo data status` shows which data is missing.")
    if full:
        _write_geopackage(report, sources, out, emit.info, graduated, drawn)
        if report.geopackage is not None:
            written.append(guard.record(report.geopackage, "geopackage"))
        _write_summary(report, sources, out, emit.info, guard=guard, owners=owners, written=written, left_out=left_out)
        guard.record(annex.write_index(report), "index")
    else:
        stale = guard.stale(owners, written)
        report.stale = stale.lines()
        emit.info("GeoPackage, summary table and index.html are written by a full build (without --only).")
    for line in report.stale:
        emit.info(f"stale: {line}")
    _log_input_notes(sources, emit.info)
    own_cpu = time.process_time() - c_start
    emit.info(f"done: {len(report.built)} map(s) built, {len(report.skipped) - len(report.stopped)} skipped"
              + (f", {len(report.stopped)} STOPPED (texts that do not match the data)" if report.stopped else "")
              + f" [{time.perf_counter() - t_start:.1f} s, CPU {own_cpu + children_cpu:.1f} s"
              + (f" of which {children_cpu:.1f} s in render processes" if parallel else "") + "].")
    sources.remove_observer(emit.observer)
    clear_progress()
    return report


class _Emitter:
    """Log a build message at its level, and hand the plain text to the caller's optional collector."""

    def __init__(self, collector: Callable[[str], None] | None):
        self.collector = collector

    def _emit(self, level: int, msg: str) -> None:
        logger.log(level, msg)
        if self.collector is not None:
            self.collector(msg)

    def info(self, msg: str) -> None:
        self._emit(logging.INFO, msg)

    def warning(self, msg: str) -> None:
        self._emit(logging.WARNING, msg)

    def observer(self, msg: str) -> None:
        """Notes from the sources: already logged there; only collected here."""
        if self.collector is not None:
            self.collector(f"  note: {msg}")


def _log_input_notes(sources: Sources, log) -> None:
    """What the inputs did not give as they are: features left out (clinics outside Denmark),
    geometries repaired, cells not read. Said once per layer, in the log."""
    seen = set()
    for name, gdf in sources.loaded().items():
        for note in getattr(gdf, "attrs", {}).get("notes", []) or []:
            if note in seen:
                continue
            seen.add(note)
            log(f"  note: {name}: {note}")


def children_cpu_seconds() -> float:
    """CPU seconds of this process's finished children (the render workers, once the pool is shut down)."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return 0.0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _size(path: Path) -> str:
    n = path.stat().st_size
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def graduated_style(pm):
    """The map's indicator classes as a QGIS graduated style (same limits, colours and labels)."""
    from kkr_geo.layers.qgis_styles import GraduatedStyle
    cls, ind = pm.classification, pm.spec.indicator
    return GraduatedStyle(column=ind.column, lower=cls.lower, bins=list(cls.bins), colours=list(cls.colours),
                          labels=list(cls.labels), method="manual" if pm.spec.classification.pool else cls.scheme)


def geopackage_names(drawn: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The sources written to the GeoPackage: every registry entry with ``gpkg=True`` and every source a map of
    this build draws (``drawn``), in registry order (then the drawn sources the registry does not know)."""
    from kkr_geo.layers.registry import entries
    wanted = set(gpkg_sources()) | set(drawn)
    return [n for n in entries() if n in wanted] + [n for n in dict.fromkeys(drawn) if n not in entries()]


def _write_geopackage(report: BuildReport, sources: Sources, out: Path, log, graduated: dict | None = None,
                      drawn: list[str] | tuple[str, ...] = ()) -> None:
    """The GeoPackage holds what the maps draw: each drawn source with every feature (a table mixing geometry
    types, like the 33 mobility projects, as an attribute table plus one feature table per type;
    :mod:`kkr_geo.layers.export`)."""
    import pyogrio
    from kkr_geo.layers.export import export_geopackage
    layers = {}
    for name in geopackage_names(drawn):
        try:
            layers[name] = sources.get(name)
        except (SourceUnavailable, KkrGeoError) as exc:
            report.gpkg_skipped[name] = exc.message.split("\n")[0]
    if not layers:
        log("GeoPackage: not written, no layer is available" + (f" ({', '.join(report.gpkg_skipped)})" if report.gpkg_skipped else ""))
        return
    path = out / GPKG_NAME
    out.mkdir(parents=True, exist_ok=True)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_GPKG_DATE})
    try:
        summary = export_geopackage(path, layers, graduated=graduated)
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})
    report.geopackage = path
    report.gpkg_layers = list(summary["layers"])
    tables = [n for n, info in summary["layers"].items() if info["geometry_type"] is None]
    log(f"GeoPackage: {path.name} ({_size(path)}) with {len(report.gpkg_layers)} table(s): {', '.join(report.gpkg_layers)}"
        + (f" (without geometry: {', '.join(tables)})" if tables else "")
        + (f"; not available: {', '.join(report.gpkg_skipped)}" if report.gpkg_skipped else ""))
    for item in summary.get("text_changes", []):
        log(f"  note: GeoPackage {item}")


def summary_results(sources: Sources) -> dict[str, object]:
    """The analysis results behind the summary (registry entries with a summary role), made if needed."""
    from kkr_geo.layers.registry import summary_sources
    out = {}
    for name in summary_sources():
        try:
            res = sources.result(name)
        except (SourceUnavailable, KkrGeoError):
            continue
        if res is not None:
            out[name] = res
    return out


def summary_tables(sources: Sources) -> dict[str, pd.DataFrame]:
    """Catchment and coverage tables by name (``<name>_pr_omraade`` for the breakdown by area)."""
    out = {}
    for name, res in summary_results(sources).items():
        out[name] = res.tables["main"]
        if "pr_omraade" in res.tables:
            out[f"{name}_pr_omraade"] = res.tables["pr_omraade"]
    return out


def known_gaps(sources: Sources) -> list[str]:
    """Every known gap of the layers loaded in this build (the same lines the maps print)."""
    out: list[str] = []
    for obj in sources.loaded().values():
        for gap in getattr(obj, "attrs", {}).get("gaps", []) if hasattr(obj, "attrs") else []:
            if gap not in out:
                out.append(gap)
    return out


def left_out_rows(sources: Sources, records=()) -> list[str]:
    """Every group of rows left out of an input of this build (clinics outside Denmark, flow rows
    without a count, table rows with too many cells), in Danish, for the summary: those recorded while
    the build ran (``records``) and those carried by the layers it used (read before it, e.g. passed in)."""
    from kkr_geo.layers._left_out import summary_lines
    return summary_lines(sources.loaded().values(), records)


def _danish_csv(df: pd.DataFrame) -> str:
    """Danish CSV for Excel: ';' separated, decimal comma, UTF-8 with BOM; text cells that a spreadsheet
    would read as a formula are neutralised (:func:`kkr_geo.geo.safe_text.csv_cell`)."""
    return "\ufeff" + csv_frame(df).to_csv(sep=";", decimal=",", index=False, float_format="%.2f", lineterminator="\n")


MD_HEADERS = {"analyse": "Analyse", "navn": "Navn", "feature": "Objekt", "band": "Afstandsbånd", "distance_m": "Til (m)",
              "distance_from_m": "Fra (m)", "population": "Befolkning", "area_km2": "Areal (km²)",
              "bemaerkning": "Bemærkning", "area_type": "Områdetype", "area_name": "Område",
              "population_beyond": "Befolkning uden for", "share_beyond": "Andel uden for",
              "mean_distance_m": "Gns. afstand (m)", "antal_i_omraadet": "Antal i området"}


def _md_table(df: pd.DataFrame, decimals: dict[str, int]) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(md_text(MD_HEADERS.get(c, c)) for c in cols) + " |",
             "|" + "|".join("---:" if pd.api.types.is_numeric_dtype(df[c]) else "---" for c in cols) + "|"]
    for _, row in df.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            if pd.api.types.is_numeric_dtype(df[c]):
                cells.append(fmt_number(v, decimals.get(c, 0)))
            else:
                cells.append("" if pd.isna(v) else md_text(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _project_table(sources: Sources, md: list[str]) -> dict[str, str]:
    """All projects of the mobility analysis (none dropped, placed or not) as a table of the summary."""
    try:
        gdf = sources.get("mobilitetsprojekter")
    except (SourceUnavailable, KkrGeoError):
        return {}
    from kkr_geo.layers.mobilitetsprojekter import overview_table
    df = overview_table(gdf)
    md += [f"## Mobilitetsprojekter (alle {len(df)})", "",
           _md_table(df, {"anlaeg_mio_kr": 0, "rejsetid_reduktion_pct": 0}), ""]
    return {f"{SUMMARY_NAME}_mobilitetsprojekter.csv": _danish_csv(df)}


def _write_summary(report: BuildReport, sources: Sources, out: Path, log, *, guard: OutputGuard, owners: set[str],
                   written: list[Path], left_out=()) -> None:
    from kkr_geo.layers.registry import entry
    results = summary_results(sources)
    coverage = coverage_tables()
    main = [r.tables["main"] for k, r in results.items() if entry(k).summary == "catchment"]
    by_area = [r.tables["pr_omraade"] for k, r in results.items() if entry(k).summary == "catchment" and "pr_omraade" in r.tables]
    md = ["# Oplande og dækning", "",
          "Befolkning og areal i oplandene til KKR Hovedstadens mobilitetsprojekter og dækningen af klinikker.",
          "Tal med dansk talformat; befolkningstal er tilnærmede (se metode nedenfor).", ""]
    files: dict[str, str] = {}
    if main:
        df = pd.concat(main, ignore_index=True)
        keep = [c for c in ("analyse", "navn", "band", "distance_m", "population", "area_km2", "bemaerkning") if c in df.columns]
        df = df[keep]
        files[f"{SUMMARY_NAME}.csv"] = _danish_csv(df)
        md += ["## Oplande pr. projekt", "", _md_table(df, {"population": 0, "area_km2": 2, "distance_m": 0}), ""]
    if by_area:
        df = pd.concat(by_area, ignore_index=True)
        files[f"{SUMMARY_NAME}_pr_omraade.csv"] = _danish_csv(df)
        md += ["## Oplande fordelt på kommuner og planområder", "", _md_table(df, {"population": 0}), ""]
    for key, (suffix, heading) in coverage.items():
        if key in results:
            df = results[key].tables["main"]
            files[f"{SUMMARY_NAME}_{suffix}.csv"] = _danish_csv(df)
            md += [f"## {md_text(heading)}", "", _md_table(df, {"share_beyond": 3}), ""]
    gaps = known_gaps(sources)
    if gaps:
        md += ["## Kendte mangler i lagene", "", *[f"- {md_text(g)}" for g in gaps], ""]
    report.left_out = left_out_rows(sources, left_out)
    if report.left_out:
        md += ["## Udeladte rækker i inddata", "", *[f"- {md_text(line)}" for line in report.left_out], ""]
    files.update(_project_table(sources, md))
    md += ["## Metode", ""]
    for name, meta in sorted((k, r.meta) for k, r in results.items()):
        md.append(f"- **{md_text(name)}**: " + "; ".join(f"{md_text(k)}: {md_text(v)}" for k, v in sorted(meta.items())
                                                         if v not in (None, "")))
    md += ["", "## Kort", ""]
    for m in report.maps:
        if m.skipped:
            md.append(f"- {md_text(m.title)} ({md_text(m.name)}): ikke lavet – {md_text(m.skipped)}")
        else:
            md.append(f"- {md_text(m.title)} ({md_text(m.name)}): " + ", ".join(md_text(p.name) for p in m.files.values()))
    if report.geopackage:
        md += ["", f"GeoPackage: {md_text(report.geopackage.name)} med lagene {md_text(', '.join(report.gpkg_layers))}."]
    # outputs of an earlier build that this one no longer makes: removed if unchanged, listed either way
    stale = guard.stale(owners, [*written, *(out / n for n in files), out / f"{SUMMARY_NAME}.md"])
    report.stale = stale.lines()
    if report.stale:
        md += ["", "## Forældede filer fra en tidligere kørsel", ""] + [f"- {md_text(line)}" for line in report.stale]
    files[f"{SUMMARY_NAME}.md"] = "\n".join(md) + "\n"
    summary_paths = [guard.record(write_text_atomic(out / name, text), "summary") for name, text in files.items()]
    report.summary_files = summary_paths
    log(f"summary: {', '.join(p.name for p in summary_paths)}")
