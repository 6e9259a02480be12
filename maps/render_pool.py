"""Render the maps of one build, each in a process forked from the build when the machine has more than one core.

The build prepares the maps one after the other in its own process (each layer is read once, and the
notes about the inputs are said once) and hands them over lazily; :func:`render_all` forks a render
process for each map right after it is prepared, so the next maps are prepared while the earlier ones
render. A render process runs :func:`render_map` (HTML, PNG/PDF/SVG, figure table, annex PDF,
thumbnail), which touches no shared state, and sends back a small :class:`RenderedMap`; the prepared
map itself is inherited through the fork, never pickled. The renderers are imported once, before the
first fork (:func:`preload_renderers`).

Results are yielded in the order of the maps, whatever order the processes finish in, so the log and
every output are the same for any number of jobs. Library warnings raised while rendering are handed
back and re-issued in the build process (where the build turns them into ``note:`` lines). A map that
fails with a user-facing error (:class:`~kkr_geo.geo.errors.KkrGeoError`), or one that cannot be
prepared, stops the build: no further map is started, the maps already rendering are finished and
handed back (so the build can record their files), then the error is raised. A programming error in
a render process comes back as :class:`RenderCrash` with its traceback; the other render processes
are stopped.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

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


def render_map(index: int, task: RenderTask, out_dir: Path) -> RenderedMap:
    """Render one map's outputs into ``out_dir`` from its prepared map alone; user-facing errors are returned,
    not raised."""
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
            res.annex = annex_outputs(Path(out_dir), pm, dict(res.files), task.formats, thumbnail)
            res.files.update(res.annex.files)
            if res.annex.html_bytes is not None:
                res.html_bytes = res.annex.html_bytes
        except KkrGeoError as exc:
            res.error = exc
    res.warnings = [(w.category, str(w.message), w.filename, w.lineno) for w in caught]
    res.seconds = time.perf_counter() - t0
    res.cpu_seconds = time.process_time() - c0
    return res


def _child(index: int, task: RenderTask, out_dir: Path, conn) -> None:
    """Body of a forked render process: render one map and send the result (or the traceback) back."""
    try:
        result: tuple[str, object] = ("ok", render_map(index, task, out_dir))
    except BaseException:  # noqa: BLE001 - a programming error: its traceback goes to the build process
        result = ("crash", traceback.format_exc())
    try:
        conn.send(result)
    finally:
        conn.close()


def reissue_warnings(rendered: RenderedMap) -> None:
    """Raise a worker's library warnings again in this process (the build turns them into notes)."""
    for category, message, filename, lineno in rendered.warnings:
        warnings.warn_explicit(message, category, filename, lineno)


class RenderCrash(RuntimeError):
    """A render process failed with a programming error (its traceback is the message) or died."""


def preload_renderers(formats: set[str]) -> None:
    """Import the renderers (matplotlib, folium, WeasyPrint) in the build process, so that forked render
    processes share them instead of importing them again each; and make the print font's cut."""
    from kkr_geo.maps import interactive, static  # noqa: F401
    if formats & {"png", "pdf", "svg"}:
        from kkr_geo.maps.fonts import font_family
        font_family()
    if "pdf" in formats:
        from kkr_geo.geo.errors import KkrGeoError as _Err
        from kkr_geo.maps import annex
        try:
            annex._weasyprint()
        except _Err:
            pass   # said per map, where the annex PDF is left out


def render_all(tasks: Iterable[RenderTask], out_dir: Path, *, jobs: int | None = None) -> Iterator[RenderedMap]:
    """Render every task; yields one :class:`RenderedMap` per task started, in task order.

    ``tasks`` may be lazy (the build prepares each map when it is asked for the next task): with
    ``jobs > 1`` every map is rendered in a process forked right after it was prepared, so preparing
    the next maps goes on while the earlier ones render. At most ``jobs`` maps render at once, and at
    most ``jobs`` prepared maps wait for a free slot. An exception while preparing (from ``tasks``)
    stops new work; the maps being rendered are finished and yielded, then it is raised."""
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    it = iter(tasks)
    if jobs == 1 or "fork" not in multiprocessing.get_all_start_methods():
        for i, task in enumerate(it):
            r = render_map(i, task, out_dir)
            yield r
            if r.error is not None:
                return
        return

    ctx = multiprocessing.get_context("fork")
    running: dict = {}                       # receiving end of a pipe -> (index, process)
    waiting: list[tuple[int, RenderTask]] = []  # prepared, not yet started
    finished: dict[int, RenderedMap] = {}
    next_index = next_out = 0
    exhausted = failed = False
    prepare_error: BaseException | None = None
    try:
        while True:
            # start prepared maps while there are free slots
            while waiting and len(running) < jobs and not failed:
                index, task = waiting.pop(0)
                receive, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_child, args=(index, task, Path(out_dir), send),
                                   name=f"kkr-geo render {index}", daemon=True)
                proc.start()
                send.close()
                running[receive] = (index, proc)
            # hand back what is done, in order
            while next_out in finished:
                r = finished.pop(next_out)
                next_out += 1
                yield r
            # prepare the next map while the others render (keeping at most `jobs` waiting)
            if not exhausted and not failed and len(waiting) < jobs:
                try:
                    waiting.append((next_index, next(it)))
                    next_index += 1
                except StopIteration:
                    exhausted = True
                except BaseException as exc:  # noqa: BLE001 - raised after the running maps are recorded
                    prepare_error, failed = exc, True
                continue
            if not running:
                if waiting and not failed:
                    continue
                break
            for receive in multiprocessing.connection.wait(list(running)):
                index, proc = running.pop(receive)
                try:
                    kind, payload = receive.recv()
                except EOFError:
                    kind, payload = "crash", f"the process rendering map {index + 1} died (exit code {proc.exitcode})"
                receive.close()
                proc.join()
                if kind != "ok":
                    raise RenderCrash(str(payload))
                assert isinstance(payload, RenderedMap)
                finished[index] = payload
                failed = failed or payload.error is not None
        while next_out in finished:   # after a failure: what finished behind it, in order
            yield finished.pop(next_out)
            next_out += 1
        for index in sorted(finished):
            yield finished.pop(index)
    finally:
        for receive, (_, proc) in running.items():   # an interrupt or a crash: stop the others
            proc.terminate()
            proc.join()
            receive.close()
    if prepare_error is not None:
        raise prepare_error


__all__ = ["RenderCrash", "RenderTask", "RenderedMap", "default_jobs", "preload_renderers", "reissue_warnings",
           "render_all", "render_map"]
