"""Time the full annex build as a user runs it: ``python -m bench.region --build`` (or ``python -m bench.build``).

Each run is a fresh ``python -m kkr_geo build`` process writing into an empty temporary folder, on
the same data directory as the bench; wall-clock from start to exit, CPU as user + system time of
that process *and* its render processes (``RUSAGE_CHILDREN``). The build's own lines give the time
spent preparing maps, when the last map was rendered, the render CPU and the number of maps. The first run may include
one-time work per machine (the print font's cut, the road network cache): every run is reported,
the target is judged on the median. The build must exit 0 and write every map it lists, or the
bench fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUILD_TARGET_S = 30.0


def one_build(data_dir: str | None, jobs: int | None = None, extra: list[str] = ()) -> dict:
    """One full build in a fresh process; its wall-clock, CPU, phases and what it wrote (``extra``: more
    ``build`` options, e.g. ``--only`` for a test)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bilag"
        cmd = [sys.executable, "-m", "kkr_geo", *(["--data-dir", str(data_dir)] if data_dir else []), "build",
               "--out", str(out), *(["--jobs", str(jobs)] if jobs else []), *extra]
        load = os.getloadavg()[0]
        from kkr_geo.maps.build import children_cpu_seconds
        c0, t0 = children_cpu_seconds(), time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall, cpu = time.perf_counter() - t0, children_cpu_seconds() - c0
        log = proc.stderr + proc.stdout
        if proc.returncode != 0:
            raise RuntimeError(f"the build exited {proc.returncode}:\n{log[-2000:]}")
        done = re.search(r"done: (\d+) map\(s\) built, (\d+) skipped", log)
        prepared = re.search(r"prepared \d+ map\(s\) in ([\d.]+) s; all rendered after ([\d.]+) s "
                             r"\(render CPU ([\d.]+) s(?:, up to (\d+) process)?", log)
        per_map = {m.group(1): float(m.group(2)) for m in re.finditer(r"\] (\w+): .*\[([\d.]+) s, CPU", log)}
        files = sorted(p.name for p in out.iterdir() if p.is_file())
        built = int(done.group(1)) if done else 0
        pngs = [f for f in files if f.endswith(".png")]
        if len(pngs) != built:
            raise RuntimeError(f"the build says {built} map(s) built but wrote {len(pngs)} PNG(s)")
        return {"wall_s": wall, "cpu_s": cpu, "load_1min": load, "maps_built": built,
                "maps_skipped": int(done.group(2)) if done else None,
                "prepare_s": float(prepared.group(1)) if prepared else None,
                "render_processes": int(prepared.group(4)) if prepared and prepared.group(4) else 1,
                "render_s": float(prepared.group(2)) if prepared else None,   # until the last map was rendered
                "render_cpu_s": float(prepared.group(3)) if prepared else None,
                "per_map_s": per_map, "files": len(files)}


def bench_build(data_dir: str | None = None, reps: int = 3, jobs: int | None = None, log=print) -> dict:
    from bench.region import _target
    runs = []
    for i in range(reps):
        r = one_build(data_dir, jobs)
        runs.append(r)
        log(f"  build run {i + 1}/{reps}: {r['wall_s']:.1f} s wall, CPU {r['cpu_s']:.1f} s (load {r['load_1min']:.1f}); "
            f"{r['maps_built']} maps, {r['files']} files; prepare {r['prepare_s']} s (overlapping the rendering), "
            f"all rendered after {r['render_s']} s, up to {r['render_processes']} render process(es)")
    wall = statistics.median(r["wall_s"] for r in runs)
    cpu = statistics.median(r["cpu_s"] for r in runs)
    slowest = max(runs[-1]["per_map_s"].items(), key=lambda kv: kv[1]) if runs[-1]["per_map_s"] else None
    target = _target(f"full annex build < {BUILD_TARGET_S:g} s (median of {reps} fresh processes)", "seconds", wall,
                     BUILD_TARGET_S, cpu=cpu)
    log(f"  median {wall:.1f} s wall, CPU {cpu:.1f} s; slowest map {slowest[0]} {slowest[1]:.1f} s" if slowest else
        f"  median {wall:.1f} s wall, CPU {cpu:.1f} s")
    log(f"  target {target['what']:<60} {wall:.1f} s  {'met' if target['met'] else 'MISSED'}")
    return {"reps": reps, "runs": runs, "median_wall_s": wall, "median_cpu_s": cpu, "cpus": os.cpu_count(),
            "targets": [target]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.build", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--jobs", type=int)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    res = bench_build(args.data_dir, args.reps, args.jobs)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1), encoding="utf-8")
    return 0 if res["targets"][0]["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
