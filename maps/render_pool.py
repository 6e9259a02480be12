"""Render the prepared maps of one build, in worker processes when the machine has more than one core.

The build prepares every map in its own process first (each layer is read once, and the notes about
the inputs are said once); then each map's outputs (HTML, PNG/PDF/SVG, figure table, annex PDF,
thumbnail) are rendered by :func:`render_map`, which touches no shared state. With ``jobs > 1`` the
workers are forked from the build process, so they inherit the prepared maps instead of receiving
them pickled; only the small :class:`RenderedMap` results travel back.

Results are yielded in the order of the maps, whatever order the workers finish in, so the log and
every output are the same for any number of jobs. Library warnings raised in a worker are handed
back and re-issued in the build process (where the build turns them into ``note:`` lines). A map
that fails with a user-facing error (:class:`~kkr_geo.geo.errors.KkrGeoError`) stops the build: no
further map is started, the maps already being rendered are finished and handed back (so the build
can record their files), and the error is raised by the caller after that.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from kkr_geo.geo.errors import KkrGeoError
from kkr_geo.maps.annex_set import AnnexOutputs, annex_outputs


@dataclass
class RenderTask:
    """One prepared map and what to make of it."""

    pm: object                     # kkr_geo.maps.prepare.PreparedMap
    formats: list[str]
    tiles: bool | None = None
    dpi: int | None = None


@dataclass
class RenderedMap:
    """What rendering one map made (picklable: it travels back from a worker)."""

    index: int
    files: dict[str, Path] = field(default_factory=dict)
    html_bytes: int | None = None
    labels_dropped: list[str] = field(default_factory=list)
    annex: AnnexOutputs | None = None
    warnings: list[tuple[type, str, str, int]] = field(default_factory=list)   # category, message, file, line
    error: KkrGeoError | None = None
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    pid: int = 0


def default_jobs() -> int:
    """The cores this process may use (its CPU affinity, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def render_map(index: int, task: RenderTask, out_dir: Path, tables: dict, meta: dict | None) -> RenderedMap:
    """Render one map's outputs into ``out_dir``; user-facing errors are returned, not raised."""
    from kkr_geo.maps.interactive import render_html
    from kkr_geo.maps.static import render_static

    t0, c0 = time.perf_counter(), time.process_time()
    pm = task.pm
    name = pm.spec.name  # type: ignore[attr-defined]
    res = RenderedMap(index, pid=os.getpid())
    with warnings.catch_warnings(record=True) as caught:
        try:
            if "html" in task.formats:
                path = Path(out_dir) / f"{name}.html"
                res.html_bytes = render_html(pm, path, tiles=task.tiles)
                res.files["html"] = path
            static = {f: Path(out_dir) / f"{name}.{f}" for f in task.formats if f in ("png", "pdf", "svg")}
            thumbnail = None
            if static:
                st = render_static(pm, static, dpi=task.dpi)
                res.files.update(st.files)
                res.labels_dropped = list(st.labels_dropped)
                thumbnail = st.thumbnail
            res.annex = annex_outputs(Path(out_dir), pm, dict(res.files), task.formats, tables, meta, thumbnail)
            res.files.update(res.annex.files)
            if res.annex.html_bytes is not None:
                res.html_bytes = res.annex.html_bytes
        except KkrGeoError as exc:
            res.error = exc
    res.warnings = [(w.category, str(w.message), w.filename, w.lineno) for w in caught]
    res.seconds = time.perf_counter() - t0
    res.cpu_seconds = time.process_time() - c0
    return res


# The tasks of the running build, set before the workers are forked (they read their task by index).
_STATE: tuple | None = None


def _work(index: int) -> RenderedMap:
    assert _STATE is not None, "render_pool: worker started without tasks"
    tasks, out_dir, tables, meta = _STATE
    return render_map(index, tasks[index], out_dir, tables, meta)


def reissue_warnings(rendered: RenderedMap) -> None:
    """Raise a worker's library warnings again in this process (the build turns them into notes)."""
    for category, message, filename, lineno in rendered.warnings:
        warnings.warn_explicit(message, category, filename, lineno)


def render_all(tasks: list[RenderTask], out_dir: Path, tables: dict, meta: dict | None, *,
               jobs: int | None = None) -> Iterator[RenderedMap]:
    """Render every task; yields one :class:`RenderedMap` per task started, in task order."""
    global _STATE
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    workers = min(jobs, len(tasks))
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for i, task in enumerate(tasks):
            r = render_map(i, task, out_dir, tables, meta)
            yield r
            if r.error is not None:
                return
        return

    _STATE = (tasks, Path(out_dir), tables, meta)
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
            pending: dict[Future, int] = {}
            finished: dict[int, RenderedMap] = {}
            submitted = next_out = 0
            failed = False
            while True:
                # keep every worker busy, but never more in flight than workers: after a failure the
                # build stops at once instead of rendering the maps still queued
                while not failed and submitted < len(tasks) and len(pending) < workers:
                    pending[pool.submit(_work, submitted)] = submitted
                    submitted += 1
                while next_out in finished:
                    r = finished.pop(next_out)
                    next_out += 1
                    failed = failed or r.error is not None
                    yield r
                if not pending:   # everything started has been handed back in order
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = pending.pop(fut)
                    r = fut.result()   # a programming error in a worker is raised here, with its traceback
                    finished[i] = r
                    failed = failed or r.error is not None
    finally:
        _STATE = None


__all__ = ["RenderTask", "RenderedMap", "default_jobs", "reissue_warnings", "render_all", "render_map"]
