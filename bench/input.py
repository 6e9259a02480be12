"""Bench of reading a big clinic file: ``python -m bench.input [--rows 1600000] [--baseline main]``.

Writes a Danish clinic CSV (``;``, decimal comma; name, postcode, lat/lon, two capacities) of
``--rows`` rows (1.6 million rows are about 60 MB, under the 64 MB cap of a table) and times
``kkr-geo layers show klinikker --klinikker FILE`` in a fresh process: wall-clock and the peak
resident memory of that process (``wait4``). The targets: 30 s and 2 GB for 1.6 million rows.

Baseline: the code of ``--baseline`` (a git revision, default where this branch left ``main``; exported with ``git archive``
into a temporary folder, the working tree is not touched) reads a smaller file of ``--baseline-rows``
rows in the same run, and the current code reads that file too, so the ratio is measured on the same
machine at the same time. (The old code was too slow to read the big file: a user stopped it after
58 minutes.) The old time for the big file is extrapolated linearly from the small one and marked
as such; linear is a lower bound for code that is quadratic in places. Once this branch is merged, the
default baseline is the current code itself: name the old revision (``--baseline 341817f``, the code before
issue 22).

The clinics lie on land around towns of Region Hovedstaden; a data directory with the DAGI
municipality polygons is needed (``--data-dir`` or ``$KKR_GEO_DATA``). Not a unit test: run it by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 30.0
TARGET_MIB = 2048.0
# (lat, lon) of town centres in Region Hovedstaden; clinics are spread ±0.002° around them
TOWNS = [(55.6761, 12.5683), (55.6867, 12.5233), (55.7040, 12.5490), (55.6590, 12.6010), (55.7306, 12.4366),
         (55.7568, 12.5134), (55.7853, 12.5187), (55.8090, 12.3550), (55.9267, 12.3106), (56.0361, 12.6136),
         (55.6480, 12.3770), (55.6583, 12.3547), (55.6500, 12.2900), (55.6570, 12.4410), (55.6350, 12.4810),
         (55.8808, 12.5011), (55.9590, 12.5050), (55.8390, 12.0650), (55.8400, 12.4300), (55.1009, 14.7066)]


def write_clinics(path: Path, rows: int, seed: int = 1, kind: str = "danish") -> int:
    """A clinic CSV of ``rows`` rows as a user saves it (names with a Danish letter, so not plain ASCII);
    returns its size in bytes. ``danish``: ``;``-separated
    with decimal commas and five decimals; ``comma``: ``,``-separated with three-decimal coordinates
    (``55.681``, the cells that read two ways) and a postcode, as in issue 22."""
    rnd = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        sep = ";" if kind == "danish" else ","
        fh.write(sep.join(("navn", "postnr", "lat", "lon", "kapacitet_sp51", "kapacitet_sp62")) + "\n")
        chunk = []
        for i in range(rows):
            lat, lon = TOWNS[i % len(TOWNS)]
            lat += rnd.uniform(-0.002, 0.002)
            lon += rnd.uniform(-0.002, 0.002)
            if kind == "danish":
                chunk.append(f"Ø{i};{2000 + i % 900};{lat:.5f};{lon:.5f};{i % 7},5;{i % 3}\n".replace(".", ","))
            else:
                chunk.append(f"Ø{i},{2000 + i % 900},{lat:.3f},{lon:.3f},{i % 7}.5,{i % 3}\n")
            if len(chunk) == 100_000:
                fh.write("".join(chunk))
                chunk = []
        fh.write("".join(chunk))
    return path.stat().st_size


def run_read(path: Path, data_dir: str | None, *, pythonpath: str | None = None, timeout: float | None = None) -> dict:
    """``kkr-geo layers show klinikker --klinikker PATH`` in a fresh process: wall-clock, peak RSS, exit code."""
    env = dict(os.environ)
    if data_dir:
        env["KKR_GEO_DATA"] = str(data_dir)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", "kkr_geo", "layers", "show", "klinikker", "--klinikker", str(path)]
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        # run in the file's folder: `python -m` puts the working directory first on sys.path, and a checkout's
        # own kkr_geo/ there would shadow the baseline's
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=path.parent)
        deadline = None if timeout is None else t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if deadline is not None and time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                return {"wall_s": None, "timed_out_after_s": timeout, "peak_rss_mib": usage.ru_maxrss / 1024}
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        out.seek(0)
        text = out.read().decode("utf-8", errors="replace")
    code = os.waitstatus_to_exitcode(status)
    features = next((int(line.split()[1].rstrip(";")) for line in text.splitlines() if line.strip().startswith("features:")),
                    None)
    return {"wall_s": round(wall, 2), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1), "exit": code, "features": features,
            **({"output_tail": text[-1500:]} if code != 0 else {})}


def export_revision(rev: str, dest: Path) -> Path | None:
    """The package of git revision ``rev`` laid out for import (``dest/kkr_geo`` with ``geo``, ``layers``,
    ``maps`` inside), from ``git archive``; None when git or the revision is not available."""
    root = Path(__file__).resolve().parent.parent
    raw = dest / "tree"
    raw.mkdir(parents=True)
    try:
        archive = subprocess.run(["git", "-C", str(root), "archive", rev], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(raw)], input=archive, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    pkg = dest / "pkg"
    pkg.mkdir()
    (raw / "kkr_geo").rename(pkg / "kkr_geo")
    for sub in ("geo", "layers", "maps", "data"):
        if (raw / sub).is_dir() and (sub != "data" or (raw / sub / "__init__.py").exists()):
            (raw / sub).rename(pkg / "kkr_geo" / sub)
    return pkg


def merge_base() -> str:
    """The revision this branch started from (``git merge-base HEAD main``), else ``main``."""
    root = Path(__file__).resolve().parent.parent
    try:
        return subprocess.run(["git", "-C", str(root), "merge-base", "HEAD", "main"], capture_output=True, text=True,
                              check=True).stdout.strip() or "main"
    except (OSError, subprocess.CalledProcessError):
        return "main"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.input", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_600_000)
    ap.add_argument("--baseline", default=None,
                    help="git revision of the old code (default: where this branch left main); 'none' to skip")
    ap.add_argument("--baseline-rows", default="50000",
                    help="rows of the smaller file(s) both codes read, comma-separated for several (e.g. 25000,50000)")
    ap.add_argument("--kind", choices=["danish", "comma"], default="danish",
                    help="danish: ';' and decimal commas; comma: ',' with three-decimal coordinates (55.681)")
    ap.add_argument("--baseline-timeout", type=float, default=900.0)
    ap.add_argument("--data-dir", default=os.environ.get("KKR_GEO_DATA"))
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args(argv)
    if args.baseline is None:
        args.baseline = merge_base()
    result: dict = {"rows": args.rows, "target_s": TARGET_S, "target_mib": TARGET_MIB, "cpus": os.cpu_count(),
                    "load_1min": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory(prefix="kkr-bench-input-") as tmp:
        tmp_path = Path(tmp)
        big = tmp_path / "klinikker_stor.csv"
        result["bytes"] = write_clinics(big, args.rows, kind=args.kind)
        result["kind"] = args.kind
        print(f"clinic file ({args.kind}): {args.rows:,} rows, {result['bytes'] / 1e6:.1f} MB", flush=True)
        result["current"] = run_read(big, args.data_dir)
        print(f"current code: {result['current']['wall_s']} s, peak {result['current']['peak_rss_mib']} MiB, "
              f"{result['current'].get('features')} clinics", flush=True)
        big.unlink()
        pkg = None if args.baseline == "none" else export_revision(args.baseline, tmp_path / "baseline")
        if args.baseline != "none" and pkg is None:
            print(f"baseline: revision {args.baseline!r} not available (git archive failed); skipped")
        runs = []
        startup = {}
        if pkg is not None:
            # the start of a process (imports, the land polygon) on a 10-row file, subtracted before extrapolating
            tiny = tmp_path / "klinikker_10.csv"
            write_clinics(tiny, 10, kind=args.kind)
            startup = {"old": run_read(tiny, args.data_dir, pythonpath=str(pkg))["wall_s"],
                       "current": run_read(tiny, args.data_dir)["wall_s"]}
            result["startup_s"] = startup
            print(f"start-up on 10 rows: old {startup['old']} s, current {startup['current']} s", flush=True)
        for rows in ([] if pkg is None else [int(r) for r in str(args.baseline_rows).split(",") if r.strip()]):
            small = tmp_path / f"klinikker_{rows}.csv"
            write_clinics(small, rows, kind=args.kind)
            new_small = run_read(small, args.data_dir)
            old_small = run_read(small, args.data_dir, pythonpath=str(pkg), timeout=args.baseline_timeout)
            run = {"rows": rows, "old": old_small, "current": new_small}
            if old_small.get("wall_s") and new_small.get("wall_s"):
                run["ratio_old_over_current"] = round(old_small["wall_s"] / new_small["wall_s"], 1)
            runs.append(run)
            for who, r in (("old", old_small), ("current", new_small)):
                if r.get("exit") not in (0, None):
                    print(f"  the {who} code exited {r['exit']}: {r.get('output_tail', '').strip()[-300:]}")
            print(f"baseline ({args.baseline[:12]}) on {rows:,} rows: old {old_small.get('wall_s')} s "
                  f"(peak {old_small.get('peak_rss_mib')} MiB, {old_small.get('features')} clinics), current "
                  f"{new_small['wall_s']} s (peak {new_small['peak_rss_mib']} MiB, {new_small.get('features')} clinics); "
                  f"old/current {run.get('ratio_old_over_current')}", flush=True)
        if runs:
            result["baseline"] = {"revision": args.baseline, "runs": runs}
            timed = [r for r in runs if r["old"].get("wall_s")]
            if timed:
                last = timed[-1]

                def net(run):  # the time spent on the rows, without the process's start-up
                    return max(run["old"]["wall_s"] - (startup.get("old") or 0.0), 0.01)

                linear = startup.get("old", 0.0) + net(last) * args.rows / last["rows"]
                result["baseline"]["old_extrapolated_big_s_linear"] = round(linear)
                text = (f"old on {args.rows:,} rows extrapolated linearly from {last['rows']:,} rows (a lower bound): "
                        f"{linear:.0f} s")
                if len(timed) >= 2:
                    import math
                    a, b = timed[-2], timed[-1]
                    k = math.log(net(b) / net(a)) / math.log(b["rows"] / a["rows"])
                    grown = startup.get("old", 0.0) + net(b) * (args.rows / b["rows"]) ** k
                    result["baseline"]["old_growth_exponent"] = round(k, 2)
                    result["baseline"]["old_extrapolated_big_s_by_growth"] = round(grown)
                    text += f"; by its measured growth (time ~ rows^{k:.2f}): {grown:.0f} s"
                print(text, flush=True)
    cur = result["current"]
    ok = cur.get("exit") == 0 and cur["wall_s"] is not None and cur["wall_s"] <= TARGET_S and cur["peak_rss_mib"] <= TARGET_MIB
    result["target_met"] = bool(ok)
    print(("target met" if ok else "TARGET MISSED") + f": {cur['wall_s']} s (<= {TARGET_S:g}), "
          f"{cur['peak_rss_mib']} MiB (<= {TARGET_MIB:g})")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
