"""The build renders maps in worker processes (``jobs``): the outputs, the log order, errors and warnings must be
the same as when every map is rendered in the build process, and no file a worker wrote may be left unrecorded.

Runs on the synthetic data folder (always present) with a low dpi so it stays quick.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import warnings

import pytest

from kkr_geo.cli import main
from kkr_geo.geo.errors import DataError, InputError, KkrGeoError
from kkr_geo.maps.build import build
from kkr_geo.maps.render_pool import RenderTask, render_all

MAPS = ["borgere_pr_kapacitet_sp51", "brt_oplande", "stationsnaerhed", "supercykelstier_oplande"]
MANIFEST = ".kkr-geo-manifest.json"


def _digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _build(data, out, jobs, **kw):
    lines: list[str] = []
    report = build(data, out, only=MAPS, dpi=40, jobs=jobs, log=lines.append, **kw)
    return report, lines


def test_one_and_two_processes_write_identical_files_and_log_in_map_order(synth_data, tmp_path):
    r1, log1 = _build(synth_data, tmp_path / "one", 1)
    r2, log2 = _build(synth_data, tmp_path / "two", 2)
    d1, d2 = _digests(tmp_path / "one"), _digests(tmp_path / "two")
    assert len([n for n in d1 if n.endswith(".png")]) == len(MAPS)
    assert d1 == d2   # every file, the annex PDFs and the output manifest included
    assert [m.name for m in r2.built] == MAPS and [m.files.keys() for m in r1.built] == [m.files.keys() for m in r2.built]
    # the per-map lines come in map order, whatever order the workers finished in
    order = [next(n for n in MAPS if f"] {n}:" in line) for line in log2 if any(f"] {n}:" in line for n in MAPS)]
    assert order == MAPS
    assert any("prepared 4 map(s)" in line and "up to 2 process(es) at once" in line for line in log2)


def test_maps_are_really_rendered_in_other_processes(synth_data, tmp_path):
    import os
    from kkr_geo.maps.prepare import prepare
    from kkr_geo.maps.sources import Sources
    from kkr_geo.maps.spec import load_specs
    sources = Sources(synth_data)
    specs = load_specs(None, MAPS[:2], known_sources=sources.names())
    tasks = [RenderTask(prepare(s, sources), ["png"], dpi=30) for s in specs]
    got = list(render_all(tasks, tmp_path, jobs=2))
    assert [r.index for r in got] == [0, 1]
    assert all(r.pid != os.getpid() for r in got)
    assert all((tmp_path / f"{s.name}.png").exists() for s in specs)
    here = list(render_all(tasks, tmp_path / "here", jobs=1))
    assert all(r.pid == os.getpid() for r in here)


def test_a_failing_map_stops_the_build_with_its_own_error_and_every_written_file_is_recorded(synth_data, tmp_path,
                                                                                              monkeypatch):
    import kkr_geo.maps.static as static
    original = static.render_static

    def fail_on_brt(pm, targets, **kw):
        if pm.spec.name == "brt_oplande":
            raise InputError("brt_oplande: a broken corridor file (test)", hint="fix the file (test)")
        return original(pm, targets, **kw)

    monkeypatch.setattr(static, "render_static", fail_on_brt)
    out = tmp_path / "out"
    with pytest.raises(InputError) as err:
        _build(synth_data, out, 2)
    assert err.value.message == "brt_oplande: a broken corridor file (test)" and err.value.hint == "fix the file (test)"
    recorded = json.dumps(json.loads((out / MANIFEST).read_text(encoding="utf-8")), ensure_ascii=False)
    on_disk = {p.name for p in out.iterdir() if p.is_file() and p.name != MANIFEST}
    assert any(n.startswith("borgere_pr_kapacitet_sp51.") for n in on_disk), "the map before the failing one was written"
    assert all(name in recorded for name in on_disk), (on_disk, recorded)
    assert not [p for p in out.iterdir() if ".part" in p.name]
    # the next build (fixed) replaces them without --overwrite: they are known as kkr-geo's own
    monkeypatch.setattr(static, "render_static", original)
    report, _ = _build(synth_data, out, 2)
    assert [m.name for m in report.built] == MAPS


def test_library_warnings_raised_in_a_worker_become_notes_of_the_build(synth_data, tmp_path, monkeypatch):
    import kkr_geo.maps.interactive as interactive
    original = interactive.render_html

    def warn_then_render(pm, path, **kw):
        warnings.warn(f"odd value in {pm.spec.name} (test warning)", UserWarning, stacklevel=1)
        return original(pm, path, **kw)

    monkeypatch.setattr(interactive, "render_html", warn_then_render)
    _, lines = _build(synth_data, tmp_path / "w", 2)
    notes = [line for line in lines if "(test warning)" in line]
    assert len(notes) == len(MAPS) and all(line.lstrip().startswith("note:") for line in notes)


@pytest.mark.parametrize("cls", [KkrGeoError, InputError, DataError])
def test_user_errors_survive_the_trip_between_processes(cls):
    err = cls("tabel3.csv line 4: 'x' is not a number", hint="write a number")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is cls and back.message == err.message and back.hint == err.hint and str(back) == str(err)
    assert back.exit_code == err.exit_code


@pytest.mark.parametrize("value", ["0", "-1", "two", "", "1.5", "65"])
def test_cli_refuses_a_bad_jobs_value(value, tmp_path, capsys):
    code = main(["build", "--out", str(tmp_path / "o"), "--jobs", value])
    err = capsys.readouterr().err
    assert code != 0 and "--jobs" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("jobs", [0, -2, True, 1.5])
def test_api_refuses_a_bad_jobs_value(jobs, synth_data, tmp_path):
    with pytest.raises(InputError, match="--jobs"):
        build(synth_data, tmp_path / "o", only=MAPS[:1], jobs=jobs)
    assert not (tmp_path / "o").exists()


def test_build_bench_times_a_real_build_and_reads_its_lines(synth_data):
    from bench.build import one_build
    r = one_build(str(synth_data.path), jobs=2, extra=["--only", "brt_oplande,stationsnaerhed", "--dpi", "30"])
    assert r["maps_built"] == 2 and r["render_processes"] == 2 and r["files"] >= 2 * 4
    assert set(r["per_map_s"]) == {"brt_oplande", "stationsnaerhed"}
    assert r["wall_s"] > 0 and r["cpu_s"] > 0 and r["prepare_s"] is not None and r["render_cpu_s"] > 0


def test_build_bench_fails_loudly_when_the_build_fails(tmp_path):
    from bench.build import one_build
    with pytest.raises(RuntimeError, match="exited"):
        one_build(str(tmp_path / "no such folder"))


def test_a_map_that_cannot_be_prepared_stops_the_build_after_the_maps_already_rendering(synth_data, tmp_path,
                                                                                         monkeypatch):
    import kkr_geo.maps.build as build_mod
    original = build_mod.prepare

    def fail_on_third(spec, sources, **kw):
        if spec.name == MAPS[2]:
            raise InputError(f"{spec.name}: a table cell is not a number (test)", hint="fix the cell (test)")
        return original(spec, sources, **kw)

    monkeypatch.setattr(build_mod, "prepare", fail_on_third)
    out = tmp_path / "out"
    with pytest.raises(InputError, match="not a number"):
        _build(synth_data, out, 2)
    recorded = (out / MANIFEST).read_text(encoding="utf-8")
    written = {p.name for p in out.iterdir() if p.is_file() and p.name != MANIFEST}
    assert any(n.startswith(f"{MAPS[0]}.") for n in written) and any(n.startswith(f"{MAPS[1]}.") for n in written)
    assert not any(n.startswith(f"{MAPS[3]}.") for n in written), "no map is started after the failure"
    assert all(n in recorded for n in written)
    assert not [p for p in out.iterdir() if ".part" in p.name]


def test_a_programming_error_in_a_render_process_comes_back_with_its_traceback(synth_data, tmp_path, monkeypatch):
    import kkr_geo.maps.interactive as interactive
    from kkr_geo.maps.render_pool import RenderCrash

    def broken(pm, path, **kw):
        raise ZeroDivisionError(f"bug while drawing {pm.spec.name} (test)")

    monkeypatch.setattr(interactive, "render_html", broken)
    with pytest.raises(RenderCrash) as err:
        _build(synth_data, tmp_path / "out", 2)
    assert "ZeroDivisionError" in str(err.value) and "(test)" in str(err.value) and "Traceback" in str(err.value)
    import multiprocessing
    assert not multiprocessing.active_children(), "no render process is left behind"
