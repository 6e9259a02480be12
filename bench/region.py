"""Benchmark of the analysis engine against a prebuilt-tree baseline measured in the same run.

    python -m bench.region                        # region (real data if present) + Denmark at 100 m
    python -m bench.region --quick --json q.json  # small synthetic run for CI (a few seconds)
    python -m bench.region --national             # only the national run (one core)
    python -m bench.region --compare A.json B.json

Run from the checkout (the ``bench`` folder is not installed with the package).

*Region*: with the development data present (found like the CLI does) the grid is the region's
default population surface (planlægningsområde populations spread over 100 m cells, ~260,000
populated cells) with the real kommuner, planområder and a BRT corridor; otherwise a region-sized
synthetic grid. Facilities are 1,000 random points drawn in proportion to population.

*National* (``--national``; part of the full run, in its own process pinned to one CPU so that its
peak memory and single-core time are its own): a synthetic Denmark of ~4.3 million 100 m land
cells, every one populated (the worst case), 98 block "kommuner" and 3,000 facilities.

*Baseline*: what a competent analyst writes in ~20 lines with the indexes built in advance (not
timed): a scipy ``cKDTree`` of the facilities and of the populated cell centres, every cell's
share in each kommune computed once (box ∩ area, as a scipy sparse matrix; see
:func:`baseline_shares`), and ``np.bincount`` / sparse products for the sums. Coverage = one nearest-neighbour
query; 2SFCA = one ``sparse_distance_matrix`` + two bincounts; corridor = ball queries around
points every 50 m along the corridor + exact distances. The engine's answers (tables per kommune,
per facility, per band) are compared with the baseline's in every run.

*Timing*: every query and its baseline are run once as a warm-up, then ``--reps`` times
*interleaved* (engine, baseline, next query, ...; the order reversed every other repetition), so
a burst of load from other processes hits both sides alike; a query faster than 50 ms is run
n times back to back per repetition (timeit-style, the same n for both sides) and its per-call
time recorded. Medians, min–max spread and the
machine's load average (``os.getloadavg``) are printed; ``--json FILE`` writes everything so that
two runs can be compared with ``--compare``. Memory: peak traced allocation of each engine query
(tracemalloc; C++ allocations inside scipy's KD-tree are not traced) and two peak RSS figures
(``ru_maxrss``): the engine's, read after the inputs and the engine's cold (and, national, traced)
queries but before the baseline prepares anything — the national memory target is judged on it —
and the whole process's at the end. The baseline computes its area shares in chunks of
:data:`BASELINE_CHUNK` cells, so its preparation does not need gigabytes either.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
import shapely
from affine import Affine
from scipy.spatial import cKDTree

from kkr_geo.geo.access import two_step_fca
from kkr_geo.geo.catchment import corridor_catchment
from kkr_geo.geo.coverage import coverage_gaps
from kkr_geo.geo.crs import ANALYSIS_CRS
from kkr_geo.geo.population import PopulationGrid
from kkr_geo.geo.raster import OUTSIDE_LABEL

DETOUR = 1.3
JSON_VERSION = 3             # 3: memory.engine_maxrss_mib, inputs_rss_mib (the memory target is the engine's); cold user_s/system_s
RATIO_TARGET = 1.2            # engine median / baseline median
GAPS_TARGET_S = 0.25          # coverage + gap polygons
WARM_CORRIDOR_TARGET_S = 0.005
NATIONAL_COVERAGE_TARGET_S = 3.0
NATIONAL_2SFCA_TARGET_S = 10.0
NATIONAL_MEMORY_TARGET_MIB = 3 * 1024
AGREE_RTOL = 1e-9             # engine and baseline compute the same sums: only summation order may differ
COMPARE_TOLERANCE = 0.25      # two runs' ratios agree if max/min - 1 <= this
BATCH_S = 0.05                # queries faster than this are timed in batches (per-call time recorded)
MAX_BATCH = 25
BASELINE_CHUNK = 250_000     # cells per chunk when the baseline computes the area shares


# --- inputs --------------------------------------------------------------------------------------

def synthetic_region(n_cells: int = 250_000, seed: int = 1) -> tuple[PopulationGrid, dict, gpd.GeoDataFrame]:
    """A region-sized grid: ~n_cells populated 100 m cells around a 'Copenhagen' centre, ~1.9 M people."""
    rng = np.random.default_rng(seed)
    cs = 100.0
    rows, cols = 1100, 900  # 110 km × 90 km, like Zealand's north-east
    x0, ytop = 660_000.0, 6_250_000.0
    yy, xx = np.mgrid[0:rows, 0:cols]
    cx, cy = 650, 750  # centre (col, row)
    r = np.hypot(xx - cx, yy - cy) * cs / 1000  # km from centre
    p_pop = np.clip(0.95 * np.exp(-r / 45) + 0.02, 0, 1)
    p_pop *= n_cells / p_pop.sum()
    populated = rng.random((rows, cols)) < p_pop
    dens = 120 * np.exp(-r / 8) + 3
    vals = np.where(populated, rng.gamma(2.0, dens / 2.0), 0.0)
    vals *= 1_900_000 / vals.sum()
    grid = PopulationGrid(vals, Affine(cs, 0, x0, 0, -cs, ytop), source="synthetic region", precision="synthetic")
    kommuner = _block_areas(x0, ytop, cols * cs, rows * cs, 6, 5, 29, "Kommune")
    strips = [shapely.box(x0, ytop - (j + 1) * rows * cs / 5, x0 + cols * cs, ytop - j * rows * cs / 5) for j in range(5)]
    plan = gpd.GeoDataFrame({"navn": ["Nord", "Midt", "Byen", "Syd", "Vest"]}, geometry=strips, crs=ANALYSIS_CRS)
    # a 25 km BRT line through the centre with stops every 600 m
    xs = x0 + cx * cs + np.linspace(-15_000, 10_000, 26)
    ys = ytop - cy * cs + 3000 * np.sin(np.linspace(0, 3, 26))
    line = shapely.LineString(np.column_stack([xs, ys]))
    stops = shapely.line_interpolate_point(line, np.arange(0, line.length, 600))
    corridor = gpd.GeoDataFrame({"projekt": ["BRT"] * (1 + len(stops))}, geometry=[line, *stops], crs=ANALYSIS_CRS)
    return grid, {"kommune": kommuner, "planområde": plan}, corridor


def _block_areas(x0, ytop, width, height, nx, ny, n, prefix) -> gpd.GeoDataFrame:
    w, h = width / nx, height / ny
    boxes = [shapely.box(x0 + i * w, ytop - (j + 1) * h, x0 + (i + 1) * w, ytop - j * h) for i in range(nx) for j in range(ny)]
    return gpd.GeoDataFrame({"navn": [f"{prefix} {i + 1}" for i in range(n)]}, geometry=boxes[:n], crs=ANALYSIS_CRS)


def synthetic_denmark(n_cells: int = 4_300_000, seed: int = 3) -> tuple[PopulationGrid, dict]:
    """Denmark at 100 m as a worst case: ~n_cells land cells (Jutland, Funen, Zealand, Lolland-Falster
    and Bornholm as ellipses in Denmark's EPSG:25832 bounding box), *every* land cell populated
    (~5.9 M people, denser towards 'Copenhagen'), and 98 block 'kommuner'."""
    rng = np.random.default_rng(seed)
    cs = 100.0
    x0, x1, y0, y1 = 440_000.0, 895_000.0, 6_050_000.0, 6_405_000.0
    rows, cols = int((y1 - y0) / cs), int((x1 - x0) / cs)
    # (centre x, centre y, semi-axis x, semi-axis y) in metres, before scaling to the wanted cell count
    islands = [(520_000, 6_250_000, 75_000, 150_000), (590_000, 6_130_000, 35_000, 30_000),
               (690_000, 6_160_000, 55_000, 50_000), (660_000, 6_075_000, 40_000, 15_000),
               (870_000, 6_115_000, 18_000, 14_000)]

    def land(scale: float) -> np.ndarray:
        m = np.zeros((rows, cols), dtype=bool)
        for cx, cy, ax, ay in islands:
            ax, ay = ax * scale, ay * scale
            c0, c1 = max(int((cx - ax - x0) / cs), 0), min(int((cx + ax - x0) / cs) + 1, cols)
            r0, r1 = max(int((y1 - cy - ay) / cs), 0), min(int((y1 - cy + ay) / cs) + 1, rows)
            xx = x0 + (np.arange(c0, c1) + 0.5) * cs
            yy = y1 - (np.arange(r0, r1) + 0.5) * cs
            m[r0:r1, c0:c1] |= ((xx[None, :] - cx) / ax) ** 2 + ((yy[:, None] - cy) / ay) ** 2 <= 1
        return m

    scale = 1.0
    for _ in range(4):  # the area grows with scale², less where ellipses overlap or leave the box
        mask = land(scale)
        scale *= np.sqrt(n_cells / mask.sum())
    mask = land(scale)
    rr, cc = np.nonzero(mask)
    dist_km = np.hypot(x0 + cc * cs - 725_000, y1 - rr * cs - 6_175_000) / 1000
    vals = np.zeros((rows, cols))
    vals[rr, cc] = rng.gamma(2.0, (6 * np.exp(-dist_km / 25) + 0.6) / 2.0) + 0.01
    vals *= 5_900_000 / vals.sum()
    grid = PopulationGrid(vals, Affine(cs, 0, x0, 0, -cs, y1), source="synthetic Denmark (every land cell populated)",
                          precision="synthetic")
    return grid, {"kommune": _block_areas(x0, y1, cols * cs, rows * cs, 14, 7, 98, "Kommune")}


def real_region(data_dir, method: str = "areal") -> tuple[PopulationGrid, dict, gpd.GeoDataFrame]:
    """The region's grid from the data directory. ``method="areal"`` (the bench's default): Tabel 3 spread
    evenly over each planning area, 260,407 populated cells, the grid issue 14's targets were set on and
    the heavier case; ``"dasymetric"``: the maps' default surface (≈ 89,000 populated cells)."""
    from kkr_geo.layers import load_layer
    from kkr_geo.layers.region_population import region_population_grid
    grid = region_population_grid(data_dir, cell_size=100, method=method)
    kommuner = load_layer("kommuner", data_dir)
    brt = load_layer("brt", data_dir)
    stops = load_layer("brt_stops", data_dir)
    proj = brt["projekt"].iloc[0]
    corridor = pd.concat([brt[brt["projekt"] == proj][["projekt", "geometry"]],
                          stops[stops["projekt"] == proj][["projekt", "geometry"]]], ignore_index=True)
    corridor = gpd.GeoDataFrame(corridor, geometry="geometry", crs=ANALYSIS_CRS)
    return grid, {"kommune": kommuner, "planområde": load_layer("planomraader", data_dir)[["navn", "geometry"]]}, corridor


def random_facilities(grid: PopulationGrid, n: int, seed: int = 2) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    c = grid.cell_centres()
    pick = rng.choice(len(c.x), size=n, p=c.population / c.population.sum())
    jitter = rng.uniform(-50, 50, size=(n, 2))
    return gpd.GeoDataFrame({"navn": [f"F{i}" for i in range(n)], "kapacitet": rng.uniform(1, 20, n).round(2)},
                            geometry=shapely.points(c.x[pick] + jitter[:, 0], c.y[pick] + jitter[:, 1]), crs=ANALYSIS_CRS)


# --- the prebuilt-tree baseline --------------------------------------------------------------------

@dataclass
class Prebuilt:
    """What the analyst prepares once, outside the timing: trees, cell arrays and area labels."""

    cxy: np.ndarray
    pop: np.ndarray
    cell_tree: cKDTree
    fac_xy: np.ndarray
    fac_tree: cKDTree
    cap: np.ndarray
    labels: dict  # area type -> (cells × (areas + outside) share matrix, rows summing to 1; names)


def prebuild(grid: PopulationGrid, facilities: gpd.GeoDataFrame, areas: dict) -> Prebuilt:
    v = grid.values
    rows, cols = np.nonzero(v > 0)
    cs, t = grid.cell_size, grid.transform
    cxy = np.column_stack([t.c + (cols + 0.5) * cs, t.f - (rows + 0.5) * cs])
    labels = {}
    for area_type, gdf in areas.items():
        labels[area_type] = baseline_shares(gdf, cxy, cs, t, grid.shape, rows, cols)
    fxy = shapely.get_coordinates(facilities.geometry.values)
    return Prebuilt(cxy, v[rows, cols], cKDTree(cxy), fxy, cKDTree(fxy), facilities["kapacitet"].to_numpy(float), labels)


def baseline_shares(gdf, cxy, cs, t, shape, rows, cols, chunk: int = BASELINE_CHUNK):
    """Each populated cell's share in each area, written independently of the engine: the cell box
    wholly inside the area of its centre -> 1; otherwise exact box ∩ area areas normalised over the
    areas it meets; meeting none -> the nearest area within one cell size, else outside (column n).
    Cells are taken ``chunk`` at a time, so the cell boxes of a national grid (4.3 M shapely
    polygons, ~2 GB at once) never all exist together."""
    from scipy import sparse
    names = pd.unique(gdf["navn"].astype(str)).tolist()
    code = np.array([names.index(str(n)) for n in gdf["navn"]])
    geoms = shapely.make_valid(np.asarray(gdf.geometry.values, dtype=object))
    shapely.prepare(geoms)
    labels = rasterio.features.rasterize([(g, i) for i, g in enumerate(geoms)], out_shape=shape, transform=t,
                                         fill=-1, dtype="int32")[rows, cols]
    tree = shapely.STRtree(geoms)
    h = cs / 2
    r, c, w = [], [], []
    for s in range(0, len(cxy), chunk):
        xy, lab = cxy[s:s + chunk], labels[s:s + chunk]
        boxes = shapely.box(xy[:, 0] - h, xy[:, 1] - h, xy[:, 0] + h, xy[:, 1] + h)
        whole = np.zeros(len(xy), bool)
        has = lab >= 0
        whole[has] = shapely.contains(geoms[lab[has]], boxes[has])
        r.append(s + np.flatnonzero(whole)), c.append(code[lab[whole]]), w.append(np.ones(int(whole.sum())))
        rest = np.flatnonzero(~whole)
        bi, ai = tree.query(boxes[rest], predicate="intersects")
        inter = shapely.area(shapely.intersection(boxes[rest][bi], geoms[ai]))
        ok = inter > 0
        bi, ai, inter = bi[ok], ai[ok], inter[ok]
        r.append(s + rest[bi]), c.append(code[ai])
        w.append(inter / np.bincount(bi, weights=inter, minlength=len(rest))[bi])
        none = rest[np.bincount(bi, minlength=len(rest)) == 0]
        pi, ni = tree.query_nearest(shapely.points(xy[none]), max_distance=cs, all_matches=False)
        near = np.full(len(none), len(names))
        near[pi] = code[ni]
        r.append(s + none), c.append(near), w.append(np.ones(len(none)))
        del boxes
    m = sparse.csr_matrix((np.concatenate(w), (np.concatenate(r), np.concatenate(c))), shape=(len(cxy), len(names) + 1))
    return m, names


def base_coverage(pb: Prebuilt, threshold: float) -> dict:
    d = pb.fac_tree.query(pb.cxy)[0] * DETOUR
    beyond = pb.pop * (d > threshold)
    m, names = pb.labels["kommune"]
    n = len(names) + 1
    tot = m.T @ pb.pop
    mean = np.divide(m.T @ (pb.pop * d), tot, out=np.full(n, np.nan), where=tot > 0)
    return {"total_beyond": beyond.sum(), "beyond": m.T @ beyond, "mean_distance": mean}


def gaussian(d, d0):
    e = np.exp(-0.5)
    return (np.exp(-0.5 * (d / d0) ** 2) - e) / (1 - e)


def base_2sfca(pb: Prebuilt, d0: float, decay: str) -> dict:
    m = pb.fac_tree.sparse_distance_matrix(pb.cell_tree, d0 / DETOUR, output_type="ndarray")
    f, c, d = m["i"], m["j"], m["v"] * DETOUR
    w = gaussian(d, d0) if decay == "gaussian" else np.ones(len(d))
    demand = np.bincount(f, weights=pb.pop[c] * w, minlength=len(pb.cap))
    ratio = np.divide(pb.cap, demand, out=np.zeros_like(demand), where=demand > 0)
    access = np.bincount(c, weights=ratio[f] * w, minlength=len(pb.pop))
    out = {"sum_pa": (pb.pop * access).sum(), "demand": demand}
    if decay == "gaussian":
        m, names = pb.labels["kommune"]
        out["accessible_by_kommune"] = m.T @ (pb.pop * access)
    return out


def base_corridor(pb: Prebuilt, corridor: gpd.GeoDataFrame, distances) -> dict:
    merged = shapely.union_all(corridor.geometry.values)
    radii = np.asarray(distances, float) / DETOUR
    # every point of the corridor is within 25 m of a vertex once it is segmentised to 50 m
    anchors = shapely.get_coordinates(shapely.segmentize(merged, 50.0))
    hits = pb.cell_tree.query_ball_point(anchors, radii[-1] + 25.0, return_sorted=False)
    idx = np.unique(np.concatenate([np.asarray(h, dtype=np.int64) for h in hits]))
    d = shapely.distance(shapely.points(pb.cxy[idx]), merged) * DETOUR
    band = np.searchsorted(radii * DETOUR, d * (1 - 1e-12), side="left")
    ok = band < len(radii)
    idx, band = idx[ok], band[ok]
    nb = len(radii)
    out = {"population": np.bincount(band, weights=pb.pop[idx], minlength=nb)}
    rings = [shapely.buffer(merged, r, quad_segs=16) for r in radii]
    out["area_km2"] = np.array([rings[0].area] + [rings[k].area - rings[k - 1].area for k in range(1, nb)]) / 1e6
    for area_type, (m, names) in pb.labels.items():
        n = len(names) + 1
        sub = m[idx].tocoo()
        out[area_type] = np.bincount(band[sub.row] * n + sub.col, weights=pb.pop[idx][sub.row] * sub.data,
                                     minlength=nb * n).reshape(nb, n)
    return out


# --- engine answers in the baseline's shape ---------------------------------------------------------

def _by_name(table: pd.DataFrame, area_type: str, names: list[str], column: str, missing: float = 0.0) -> np.ndarray:
    """A table column per area name (+ the outside row, which the engine leaves out when nobody lives there)."""
    t = table[table["area_type"] == area_type].set_index("area_name")[column]
    return np.array([float(t.get(n, missing)) for n in names + [OUTSIDE_LABEL]])


def engine_coverage_answer(r, pb: Prebuilt) -> dict:
    names = pb.labels["kommune"][1]
    return {"total_beyond": float(r.table.iloc[0]["population_beyond"]),
            "beyond": _by_name(r.table, "kommune", names, "population_beyond"),
            "mean_distance": _by_name(r.table, "kommune", names, "mean_distance_m", missing=np.nan)}


def engine_2sfca_answer(r, pb: Prebuilt, decay: str) -> dict:
    out = {"sum_pa": float(r.by_area.iloc[0]["accessible_capacity"]),
           "demand": r.facilities["demand_population"].to_numpy(float)}
    if decay == "gaussian":
        out["accessible_by_kommune"] = _by_name(r.by_area, "kommune", pb.labels["kommune"][1], "accessible_capacity")
    return out


def engine_corridor_answer(r, pb: Prebuilt, distances) -> dict:
    out = {"population": r.table["population"].to_numpy(float), "area_km2": r.table["area_km2"].to_numpy(float)}
    bands = r.table["band"].tolist()
    for area_type, (lab, names) in pb.labels.items():
        sub = r.by_area[r.by_area["area_type"] == area_type]
        m = np.zeros((len(bands), len(names) + 1))
        pos = {n: j for j, n in enumerate(names + [OUTSIDE_LABEL])}
        for band, name, p in zip(sub["band"], sub["area_name"], sub["population"]):
            m[bands.index(band), pos[name]] = p
        out[area_type] = m
    return out


def compare_answers(engine: dict, base: dict, rtol: float = AGREE_RTOL) -> dict:
    """Largest relative difference over every figure; NaN (no population) must match NaN."""
    worst, worst_key = 0.0, None
    for k, b in base.items():
        a = np.atleast_1d(np.asarray(engine[k], float)).ravel()
        b = np.atleast_1d(np.asarray(b, float)).ravel()
        if a.shape != b.shape:
            return {"agree": False, "max_rel_diff": float("inf"), "worst": f"{k}: shapes {a.shape} vs {b.shape}"}
        both_nan = np.isnan(a) & np.isnan(b)
        a, b = a[~both_nan], b[~both_nan]
        if len(a) == 0:
            continue
        diff = np.abs(a - b)
        rel = np.where(diff <= 1e-9, 0.0, diff / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-300))
        r = float(np.max(np.where(np.isnan(rel), np.inf, rel)))  # NaN on one side only: disagreement
        if worst_key is None or r > worst:
            worst, worst_key = r, k
    return {"agree": bool(worst <= rtol), "max_rel_diff": worst, "worst": worst_key}


def _summary(engine: dict, keys) -> dict:
    out = {}
    for k in keys:
        v = np.asarray(engine[k], float)
        out[k] = float(v) if v.ndim == 0 else float(np.nansum(v))
    return out


# --- timing ------------------------------------------------------------------------------------

@dataclass
class Query:
    name: str
    engine: Callable
    baseline: Callable | None
    answer: Callable | None = None      # engine result -> answer dict comparable with the baseline's
    summary_keys: tuple = ()


def stats(times: list[float]) -> dict:
    q = statistics.quantiles(times, n=4) if len(times) >= 2 else [times[0]] * 3
    med = statistics.median(times)
    return {"median_s": med, "min_s": min(times), "max_s": max(times), "p25_s": q[0], "p75_s": q[2],
            "spread": (max(times) - min(times)) / med if med > 0 else 0.0, "n": len(times), "times_s": times}


def run_interleaved(queries: list[Query], reps: int, log=print) -> dict:
    """Warm-up, then ``reps`` rounds of engine/baseline pairs, the order reversed every other round.

    A query shorter than :data:`BATCH_S` is timed timeit-style: each round runs it ``number`` times
    back to back (the same ``number`` for engine and baseline) and records the time per call, so
    that one preemption by another process does not decide a millisecond query's median."""
    results = {}
    for q in queries:
        engine_out = q.engine()  # warm-up (may build indexes)
        t = time.perf_counter()
        q.engine()  # calibration of the batch size
        warm = time.perf_counter() - t
        results[q.name] = {"engine_out": engine_out, "baseline_out": q.baseline() if q.baseline else None,
                           "engine": [], "baseline": [], "engine_cpu": [], "baseline_cpu": [],
                           "number": max(1, min(MAX_BATCH, int(BATCH_S / max(warm, 1e-6))))}
    loads = [os.getloadavg()[0]]
    for rep in range(reps):
        seq = queries if rep % 2 == 0 else queries[::-1]
        for q in seq:
            sides = [("engine", q.engine), ("baseline", q.baseline)]
            if rep % 2:
                sides.reverse()
            for side, fn in sides:
                if fn is None:
                    continue
                number = results[q.name]["number"]
                t, c = time.perf_counter(), time.process_time()
                for _ in range(number):
                    fn()
                results[q.name][side].append((time.perf_counter() - t) / number)
                results[q.name][side + "_cpu"].append((time.process_time() - c) / number)
        loads.append(os.getloadavg()[0])
    out = {}
    for q in queries:
        r = results[q.name]
        e = stats(r["engine"])
        e["cpu_median_s"] = statistics.median(r["engine_cpu"])
        entry = {"engine": e, "calls_per_timing": r["number"]}
        if r["baseline"]:
            b = stats(r["baseline"])
            b["cpu_median_s"] = statistics.median(r["baseline_cpu"])
            per_rep = [x / y for x, y in zip(r["engine"], r["baseline"])]
            entry.update(baseline=b, ratio=e["median_s"] / b["median_s"], ratio_per_rep_median=statistics.median(per_rep),
                         ratio_cpu=e["cpu_median_s"] / b["cpu_median_s"] if b["cpu_median_s"] > 0 else float("nan"))
        if q.answer is not None and r["baseline_out"] is not None:
            eng = q.answer(r["engine_out"])
            entry["answers"] = {**compare_answers(eng, r["baseline_out"]),
                                "engine": _summary(eng, q.summary_keys), "baseline": _summary(r["baseline_out"], q.summary_keys)}
        out[q.name] = entry
    return {"queries": out, "load_per_rep": loads}


def traced_peak_mib(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def maxrss_mib() -> float:
    """The process's peak resident set so far (MiB): a high-water mark that never goes down."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mib() -> float | None:
    """The process's resident set now (MiB; Linux ``/proc/self/statm``), None where unknown."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _cold(fn) -> dict:
    """Wall-clock and CPU time of a first call; CPU split into user and system time (in a fresh
    process the system part is mostly first-touch page faults of the memory the indexes take)."""
    t, c, o = time.perf_counter(), time.process_time(), os.times()
    fn()
    e = os.times()
    return {"wall_s": time.perf_counter() - t, "cpu_s": time.process_time() - c,
            "user_s": e.user - o.user, "system_s": e.system - o.system}


# --- the two benchmarks ------------------------------------------------------------------------

def bench_region(args, log=print) -> dict:
    t0 = time.perf_counter()
    label = "synthetic region"
    grid = None
    if args.quick:
        grid, areas, corridor = synthetic_region(n_cells=20_000)
    elif not args.synthetic:
        try:
            from kkr_geo.layers.datadir import resolve_data_dir
            dd = resolve_data_dir(args.data_dir)
            if dd.has("indikatorer/fysioterapi_kapacitet_speciale51_2024.csv") and dd.has("dagi/kommuner.geojson"):
                grid, areas, corridor = real_region(dd, args.grid)
                # how the data directory was found, not its path: the JSON is kept and compared across machines
                label = f"region grid ({args.grid}) from the data directory ({dd.origin})"
        except Exception as exc:  # noqa: BLE001 - the bench falls back to synthetic data
            log(f"(real data not usable: {type(exc).__name__}: {exc}; using a synthetic region)")
    if grid is None:
        grid, areas, corridor = synthetic_region()
    n_fac = args.facilities or (100 if args.quick else 1000)
    facilities = random_facilities(grid, n_fac)
    t_inputs = time.perf_counter() - t0
    inputs_rss = rss_mib()
    threshold, catchment, distances = 1000.0, 2000.0, (400, 800)
    kommune = {"kommune": areas["kommune"]}

    # cold first queries: the engine builds its indexes (cell centres, trees, label rasters) here,
    # before the baseline's indexes exist, so that the peak RSS so far is the engine's (and the inputs')
    cold = {}
    cold["coverage"] = _cold(lambda: coverage_gaps(facilities, grid, threshold, areas=kommune, detour_factor=DETOUR))
    cold["2sfca_gaussian"] = _cold(lambda: two_step_fca(facilities, "kapacitet", grid, catchment, decay="gaussian",
                                                        areas=kommune, detour_factor=DETOUR))
    cold["corridor"] = _cold(lambda: corridor_catchment(corridor, grid, distances, areas=areas, detour_factor=DETOUR))
    engine_maxrss = maxrss_mib()
    t1 = time.perf_counter()
    pb = prebuild(grid, facilities, areas)
    t_prebuild = time.perf_counter() - t1
    n_cells = len(pb.pop)
    log(f"region: {label}: {grid}")
    log(f"  {n_cells:,} populated cells; {n_fac:,} facilities; areas: "
        + ", ".join(f"{k} ({len(v)})" for k, v in areas.items())
        + f"; inputs {t_inputs:.1f} s; baseline indexes built in {t_prebuild:.2f} s (not timed)")

    queries = [
        Query("coverage", lambda: coverage_gaps(facilities, grid, threshold, areas=kommune, detour_factor=DETOUR),
              lambda: base_coverage(pb, threshold), lambda r: engine_coverage_answer(r, pb), ("total_beyond",)),
        Query("coverage_with_gaps", lambda: coverage_gaps(facilities, grid, threshold, areas=kommune,
                                                          detour_factor=DETOUR).gaps,
              lambda: base_coverage(pb, threshold)),
        Query("2sfca_step", lambda: two_step_fca(facilities, "kapacitet", grid, catchment, decay="step", detour_factor=DETOUR),
              lambda: base_2sfca(pb, catchment, "step"), lambda r: engine_2sfca_answer(r, pb, "step"), ("sum_pa", "demand")),
        Query("2sfca_gaussian", lambda: two_step_fca(facilities, "kapacitet", grid, catchment, decay="gaussian",
                                                     areas=kommune, detour_factor=DETOUR),
              lambda: base_2sfca(pb, catchment, "gaussian"), lambda r: engine_2sfca_answer(r, pb, "gaussian"),
              ("sum_pa", "demand")),
        Query("corridor", lambda: corridor_catchment(corridor, grid, distances, areas=areas, detour_factor=DETOUR),
              lambda: base_corridor(pb, corridor, distances), lambda r: engine_corridor_answer(r, pb, distances),
              ("population", "area_km2")),
    ]
    res = run_interleaved(queries, args.reps, log)
    q = res["queries"]
    gaps = queries[1].engine()
    gap_pop = float(gaps["population"].sum())
    total_beyond = q["coverage"]["answers"]["engine"]["total_beyond"]
    q["coverage_with_gaps"]["answers"] = {
        "agree": bool(abs(gap_pop - total_beyond) <= 1e-6 * max(total_beyond, 1)), "max_rel_diff": abs(gap_pop - total_beyond) / max(total_beyond, 1),
        "worst": "gap population vs population beyond", "engine": {"gap_population": gap_pop, "patches": len(gaps)},
        "baseline": {"total_beyond": q["coverage"]["answers"]["baseline"]["total_beyond"]}}
    memory = {"traced_peak_mib": {name: traced_peak_mib(fn) for name, fn in
                                  (("coverage", queries[0].engine), ("coverage_with_gaps", queries[1].engine),
                                   ("2sfca_gaussian", queries[3].engine), ("corridor", queries[4].engine))},
              "inputs_rss_mib": inputs_rss, "engine_maxrss_mib": engine_maxrss, "maxrss_mib": maxrss_mib()}
    targets = [_target(f"{n}: engine/baseline ≤ {RATIO_TARGET:g}", "ratio", q[n]["ratio"], RATIO_TARGET)
               for n in ("coverage", "2sfca_step", "2sfca_gaussian", "corridor")]
    targets.append(_target(f"coverage with gap polygons < {GAPS_TARGET_S * 1000:g} ms", "seconds",
                           q["coverage_with_gaps"]["engine"]["median_s"], GAPS_TARGET_S,
                           cpu=q["coverage_with_gaps"]["engine"]["cpu_median_s"]))
    targets.append(_target(f"one warm corridor query < {WARM_CORRIDOR_TARGET_S * 1000:g} ms", "seconds",
                           q["corridor"]["engine"]["median_s"], WARM_CORRIDOR_TARGET_S,
                           cpu=q["corridor"]["engine"]["cpu_median_s"]))
    return {"grid": {"label": label, "shape": list(grid.shape), "populated_cells": n_cells, "facilities": n_fac,
                     "population": grid.total()},
            "reps": args.reps, "cold_s": cold, **res, "memory": memory, "targets": targets}


def bench_national(args, log=print) -> dict:
    one_core = None
    if hasattr(os, "sched_setaffinity"):
        cpu = sorted(os.sched_getaffinity(0))[-1]
        os.sched_setaffinity(0, {cpu})
        one_core = sorted(os.sched_getaffinity(0))
    t0 = time.perf_counter()
    n_cells = 150_000 if args.quick else 4_300_000
    n_fac = 100 if args.quick else 3000
    grid, areas = synthetic_denmark(n_cells)
    facilities = random_facilities(grid, n_fac, seed=4)
    t_inputs = time.perf_counter() - t0
    inputs_rss = rss_mib()
    threshold, catchment = 2000.0, 2000.0
    cov = lambda: coverage_gaps(facilities, grid, threshold, areas=areas, detour_factor=DETOUR)  # noqa: E731
    step = lambda: two_step_fca(facilities, "kapacitet", grid, catchment, decay="step", detour_factor=DETOUR)  # noqa: E731
    gauss = lambda: two_step_fca(facilities, "kapacitet", grid, catchment, decay="gaussian", areas=areas,  # noqa: E731
                                 detour_factor=DETOUR)
    # The engine's memory first: its cold queries (indexes built) and one traced warm run of each,
    # before the baseline prepares anything, so the peak RSS so far is the inputs' and the engine's.
    cold = {}
    cold["coverage"] = _cold(cov)
    cold["2sfca_step"] = _cold(step)
    cold["2sfca_gaussian"] = _cold(gauss)
    traced = {"coverage": traced_peak_mib(cov), "2sfca_step": traced_peak_mib(step), "2sfca_gaussian": traced_peak_mib(gauss)}
    engine_maxrss = maxrss_mib()
    t1 = time.perf_counter()
    pb = prebuild(grid, facilities, areas)
    t_prebuild = time.perf_counter() - t1
    log(f"national: {grid}")
    log(f"  {len(pb.pop):,} populated (= land) cells; {n_fac:,} facilities; 98 block kommuner; "
        f"inputs {t_inputs:.1f} s; baseline indexes built in {t_prebuild:.1f} s (not timed); CPU affinity {one_core}")
    queries = [Query("coverage", cov, lambda: base_coverage(pb, threshold), lambda r: engine_coverage_answer(r, pb),
                     ("total_beyond",)),
               Query("2sfca_step", step, lambda: base_2sfca(pb, catchment, "step"),
                     lambda r: engine_2sfca_answer(r, pb, "step"), ("sum_pa", "demand")),
               Query("2sfca_gaussian", gauss, lambda: base_2sfca(pb, catchment, "gaussian"),
                     lambda r: engine_2sfca_answer(r, pb, "gaussian"), ("sum_pa", "demand"))]
    res = run_interleaved(queries, max(2, args.reps // 2), log)
    q = res["queries"]
    memory = {"traced_peak_mib": traced, "inputs_rss_mib": inputs_rss, "engine_maxrss_mib": engine_maxrss,
              "maxrss_mib": maxrss_mib()}
    targets = []
    for n, limit in (("coverage", NATIONAL_COVERAGE_TARGET_S), ("2sfca_step", NATIONAL_2SFCA_TARGET_S),
                     ("2sfca_gaussian", NATIONAL_2SFCA_TARGET_S)):
        targets.append(_target(f"{n} < {limit:g} s (warm median)", "seconds", q[n]["engine"]["median_s"], limit,
                               cpu=q[n]["engine"]["cpu_median_s"]))
        targets.append(_target(f"{n} < {limit:g} s (cold: first query, indexes built)", "seconds", cold[n]["wall_s"], limit,
                               cpu=cold[n]["cpu_s"]))
    targets.append(_target(f"engine peak memory (ru_maxrss before the baseline) < {NATIONAL_MEMORY_TARGET_MIB / 1024:g} GB",
                           "MiB", memory["engine_maxrss_mib"], NATIONAL_MEMORY_TARGET_MIB))
    return {"grid": {"label": grid.source, "shape": list(grid.shape), "populated_cells": len(pb.pop), "facilities": n_fac,
                     "population": grid.total(), "cpu_affinity": one_core},
            "reps": max(2, args.reps // 2), "cold_s": cold, **res, "memory": memory, "targets": targets}


def _target(what: str, unit: str, value: float, limit: float, cpu: float | None = None) -> dict:
    """A target, judged on wall-clock time (``met``); ``cpu`` (process CPU time) is shown next to it
    because on a shared machine wall-clock includes waiting for the core."""
    met = value <= limit if unit == "ratio" else value < limit
    t = {"what": what, "unit": unit, "value": float(value), "limit": float(limit), "met": bool(met)}
    if cpu is not None:
        t.update(cpu_s=float(cpu), met_cpu=bool(cpu < limit))
    return t


# --- printing ------------------------------------------------------------------------------------

def _fmt(t: float) -> str:
    return f"{t * 1000:.1f} ms" if t < 1 else f"{t:.2f} s"


def print_section(name: str, sec: dict, log=print) -> None:
    log("")
    log(f"== {name}: medians of {sec['reps']} interleaved repetitions (spread = (max − min) / median; "
        f"(×n) = per-call time of n back-to-back calls); "
        f"load average per round: {', '.join(f'{x:.1f}' for x in sec['load_per_rep'])}")
    log(f"{'query':<20} {'engine':>10} {'spread':>7} {'eng. CPU':>10} {'baseline':>10} {'spread':>7} {'ratio':>6} "
        f"{'ratio/rep':>9} {'CPU ratio':>9} {'cold':>9}  answers")
    for qn, e in sec["queries"].items():
        eng, base = e["engine"], e.get("baseline")
        ans = e.get("answers")
        agree = "-" if ans is None else (f"{'agree' if ans['agree'] else 'DIFFER'} (max rel. diff {ans['max_rel_diff']:.1e})")
        b_med = _fmt(base["median_s"]) if base else "-"
        b_spread = f"{base['spread']:.0%}" if base else "-"
        ratio = f"{e['ratio']:.2f}" if base else "-"
        ratio_rep = f"{e['ratio_per_rep_median']:.2f}" if base else "-"
        ratio_cpu = f"{e['ratio_cpu']:.2f}" if base else "-"
        cold = _fmt(sec["cold_s"][qn]["wall_s"]) if qn in sec["cold_s"] else ""
        name = qn if e.get("calls_per_timing", 1) == 1 else f"{qn} (×{e['calls_per_timing']})"
        log(f"{name:<20} {_fmt(eng['median_s']):>10} {eng['spread']:>6.0%} {_fmt(eng['cpu_median_s']):>10} {b_med:>10} "
            f"{b_spread:>7} {ratio:>6} {ratio_rep:>9} {ratio_cpu:>9} {cold:>9}  {agree}")
    for qn, e in sec["queries"].items():
        ans = e.get("answers")
        if ans:
            log(f"  {qn}: engine {_kv(ans['engine'])} | baseline {_kv(ans['baseline'])}")
    cold_split = [f"{qn} {_fmt(c['user_s'])} + {_fmt(c['system_s'])}" for qn, c in sec["cold_s"].items() if "user_s" in c]
    if cold_split:
        log("  cold CPU = user + system (system: mostly first-touch page faults): " + ", ".join(cold_split))
    m = sec["memory"]
    log("  peak traced memory per engine query: " + ", ".join(f"{k} {v:,.0f} MiB" for k, v in m["traced_peak_mib"].items()))
    if "engine_maxrss_mib" in m:
        inputs = f"{m['inputs_rss_mib']:,.0f} MiB" if m.get("inputs_rss_mib") is not None else "unknown"
        log(f"  peak RSS: engine {m['engine_maxrss_mib']:,.0f} MiB (inputs + the engine's first queries, "
            f"before the baseline; RSS after the inputs {inputs}); whole process {m['maxrss_mib']:,.0f} MiB "
            f"(with the baseline's indexes and the interleaved runs)")
    else:
        log(f"  process peak RSS {m['maxrss_mib']:,.0f} MiB")
    for t in sec["targets"]:
        val = f"{t['value']:.2f}" if t["unit"] == "ratio" else (_fmt(t["value"]) if t["unit"] == "seconds"
                                                                 else f"{t['value']:,.0f} MiB")
        cpu = (f"  (CPU {_fmt(t['cpu_s'])}: {'met' if t['met_cpu'] else 'missed'})" if "cpu_s" in t else "")
        log(f"  target {t['what']:<62} {val:>10}  {'met' if t['met'] else 'MISSED'}{cpu}")


def _kv(d: dict) -> str:
    return ", ".join(f"{k} {v:,.1f}" for k, v in d.items())


# --- compare two runs ----------------------------------------------------------------------------

def compare_runs(a: dict, b: dict, tolerance: float = COMPARE_TOLERANCE, log=print) -> bool:
    """Print ratio agreement between two JSON results; True if every common ratio agrees within
    ``tolerance`` (max/min − 1) and every target and answer check passed in both."""
    ok = True
    log(f"{'section/query':<30} {'ratio A':>8} {'ratio B':>8} {'differ':>7}  agreement (≤ {tolerance:.0%})")
    for sec in ("region", "national"):
        if sec not in a or sec not in b:
            continue
        for qn, ea in a[sec]["queries"].items():
            eb = b[sec]["queries"].get(qn)
            if not eb or "ratio" not in ea or "ratio" not in eb:
                continue
            ra, rb = ea["ratio"], eb["ratio"]
            diff = max(ra, rb) / min(ra, rb) - 1
            good = diff <= tolerance
            ok &= good
            log(f"{sec + '/' + qn:<30} {ra:>8.2f} {rb:>8.2f} {diff:>6.0%}  {'yes' if good else 'NO'}")
        for label, run in (("A", a), ("B", b)):
            missed = [t["what"] for t in run[sec]["targets"] if not t["met"]]
            differ = [qn for qn, e in run[sec]["queries"].items() if e.get("answers") and not e["answers"]["agree"]]
            log(f"{sec} run {label}: targets {'all met' if not missed else 'MISSED: ' + '; '.join(missed)}; "
                f"answers {'agree' if not differ else 'DIFFER: ' + ', '.join(differ)}")
            ok &= not missed and not differ
    if "build" in a and "build" in b:
        for label, run in (("A", a), ("B", b)):
            missed = [t["what"] for t in run["build"]["targets"] if not t["met"]]
            log(f"build run {label}: median {run['build']['median_wall_s']:.1f} s; "
                f"{'target met' if not missed else 'MISSED: ' + '; '.join(missed)}")
            ok &= not missed
    log("verdict: " + ("ratios agree, every target met and every answer agreeing in both runs" if ok else "NOT all good"))
    return ok


# --- main ----------------------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.region", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small synthetic run (CI; a few seconds)")
    ap.add_argument("--national", action="store_true", help="only the national run (Denmark at 100 m, one core)")
    ap.add_argument("--no-national", action="store_true", help="full mode without the national run")
    ap.add_argument("--synthetic", action="store_true", help="use the synthetic region even if the data exists")
    ap.add_argument("--data-dir", help="data directory (default: resolved like the CLI)")
    ap.add_argument("--grid", choices=("areal", "dasymetric"), default="areal",
                    help="region population grid: areal (even spread, 260,407 cells; default) or dasymetric (the maps')")
    ap.add_argument("--build", action="store_true",
                    help="also time the full annex build (3 fresh `kkr-geo build` processes; bench.build)")
    ap.add_argument("--facilities", type=int, default=None, help="facilities in the region run")
    ap.add_argument("--reps", type=int, default=None, help="interleaved repetitions (default 7, quick 3)")
    ap.add_argument("--json", metavar="FILE", help="write the results as JSON")
    ap.add_argument("--compare", nargs=2, metavar=("A.json", "B.json"), help="compare the ratios of two runs and exit")
    args = ap.parse_args(argv)
    if args.compare:
        a, b = (json.loads(Path(p).read_text(encoding="utf-8")) for p in args.compare)
        return 0 if compare_runs(a, b) else 1
    args.reps = args.reps or (3 if args.quick else 7)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    out = {"bench": "bench.region", "version": JSON_VERSION, "started": started,
           "mode": "national" if args.national else ("quick" if args.quick else "full"),
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
                       "platform": platform.platform()},
           "load_start": list(os.getloadavg())}
    print(f"bench.region ({out['mode']}), load average {', '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} CPUs")
    if not args.national:
        out["region"] = bench_region(args)
        print_section("region", out["region"])
    if args.national or args.quick:
        out["national"] = bench_national(args)
        print_section("national (one core)", out["national"])
    elif not args.no_national:
        # its own process: its peak memory is its own, and it is pinned to one CPU
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "national.json"
            cmd = [sys.executable, "-m", "bench.region", "--national", "--reps", str(args.reps), "--json", str(path)]
            env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
            # from the checkout: the bench folder is not installed
            proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  cwd=Path(__file__).resolve().parent.parent)
            print(proc.stdout.split("\n", 1)[1] if "\n" in proc.stdout else proc.stdout, end="")
            if proc.returncode != 0 or not path.exists():
                print(f"national run failed (exit {proc.returncode})")
                return 1
            out["national"] = json.loads(path.read_text(encoding="utf-8"))["national"]
    if args.build:
        from bench.build import bench_build
        from kkr_geo.layers.datadir import resolve_data_dir
        print()
        print("== annex build: fresh `python -m kkr_geo build` processes into empty folders")
        out["build"] = bench_build(str(resolve_data_dir(args.data_dir).path), reps=3)
    out["load_end"] = list(os.getloadavg())
    sections = [out[s] for s in ("region", "national", "build") if s in out]
    out["all_targets_met"] = all(t["met"] for s in sections for t in s["targets"])
    out["all_answers_agree"] = all(e["answers"]["agree"] for s in sections for e in s.get("queries", {}).values()
                                   if e.get("answers"))
    print()
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in out['load_end'])}; "
          f"all targets met: {out['all_targets_met']}; all answers agree with the baseline: {out['all_answers_agree']}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, ensure_ascii=False), encoding="utf-8")
        print(f"results written to {args.json}")
    return 0 if out["all_answers_agree"] else 1


if __name__ == "__main__":
    sys.exit(main())
