"""Benchmark of the analysis engine against a naive geopandas baseline.

    python -m geo.bench            # region-sized: ~250,000 populated 100 m cells, 1,000 facilities
    python -m geo.bench --quick    # small run (a few seconds)

With the development data present (found like the CLI does) the grid is the region's default
population surface (planlægningsområde populations spread by areal weighting over 100 m cells)
with the real kommuner, planområder and BRT corridor; without it a region-sized grid is
synthesised. Facilities are 1,000 random points drawn in proportion to population.

Each query is timed warm (median of repeated runs after one warm-up run) and compared with a
naive geopandas baseline computed in the same run (buffer + overlay + sjoin on cell points, run
once). Results of both are printed side by side, so the speed-up is between like answers. The
memory figures are the peak traced allocation of each engine query (tracemalloc) and the process
peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import tracemalloc

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine

from geo.access import two_step_fca
from geo.catchment import corridor_catchment
from geo.coverage import coverage_gaps
from geo.crs import ANALYSIS_CRS
from geo.population import PopulationGrid
from geo.raster import OUTSIDE_LABEL

DETOUR = 1.3


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
    # 29 'kommuner' as 6 × 5 blocks (minus one) and 5 'planområder' as horizontal strips
    kb = []
    w, h = cols * cs / 6, rows * cs / 5
    for i in range(6):
        for j in range(5):
            kb.append(shapely.box(x0 + i * w, ytop - (j + 1) * h, x0 + (i + 1) * w, ytop - j * h))
    kommuner = gpd.GeoDataFrame({"navn": [f"Kommune {i + 1}" for i in range(29)]}, geometry=kb[:29], crs=ANALYSIS_CRS)
    strips = [shapely.box(x0, ytop - (j + 1) * rows * cs / 5, x0 + cols * cs, ytop - j * rows * cs / 5) for j in range(5)]
    plan = gpd.GeoDataFrame({"navn": ["Nord", "Midt", "Byen", "Syd", "Vest"]}, geometry=strips, crs=ANALYSIS_CRS)
    # a 25 km BRT line through the centre with stops every 600 m
    xs = x0 + cx * cs + np.linspace(-15_000, 10_000, 26)
    ys = ytop - cy * cs + 3000 * np.sin(np.linspace(0, 3, 26))
    line = shapely.LineString(np.column_stack([xs, ys]))
    stops = shapely.line_interpolate_point(line, np.arange(0, line.length, 600))
    corridor = gpd.GeoDataFrame({"projekt": ["BRT"] * (1 + len(stops))}, geometry=[line, *stops], crs=ANALYSIS_CRS)
    return grid, {"kommune": kommuner, "planområde": plan}, corridor


def real_region(data_dir) -> tuple[PopulationGrid, dict, gpd.GeoDataFrame]:
    from layers import load_layer
    from layers.population import planlaegningsomraade_population
    areas = planlaegningsomraade_population(data_dir)
    grid = PopulationGrid.from_polygons(areas, "population", cell_size=100,
                                        source=str(areas.attrs.get("population_source", "Tabel 3")),
                                        precision="approximate")
    kommuner = load_layer("kommuner", data_dir)
    brt = load_layer("brt", data_dir)
    stops = load_layer("brt_stops", data_dir)
    proj = brt["projekt"].iloc[0]
    corridor = pd.concat([brt[brt["projekt"] == proj][["projekt", "geometry"]],
                          stops[stops["projekt"] == proj][["projekt", "geometry"]]], ignore_index=True)
    corridor = gpd.GeoDataFrame(corridor, geometry="geometry", crs=ANALYSIS_CRS)
    return grid, {"kommune": kommuner, "planområde": areas[["navn", "geometry"]]}, corridor


def random_facilities(grid: PopulationGrid, n: int, seed: int = 2) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    c = grid.cell_centres()
    pick = rng.choice(len(c.x), size=n, p=c.population / c.population.sum())
    jitter = rng.uniform(-50, 50, size=(n, 2))
    return gpd.GeoDataFrame({"navn": [f"F{i}" for i in range(n)], "kapacitet": rng.uniform(1, 20, n).round(2)},
                            geometry=shapely.points(c.x[pick] + jitter[:, 0], c.y[pick] + jitter[:, 1]), crs=ANALYSIS_CRS)


# --- naive baselines ----------------------------------------------------------------------------

def naive_coverage(cells: gpd.GeoDataFrame, facilities, areas, threshold):
    """Gap polygons per area = area minus the union of facility buffers; population by sjoin."""
    served = facilities.buffer(threshold / DETOUR).union_all()
    gaps = gpd.overlay(areas[["navn", "geometry"]], gpd.GeoDataFrame(geometry=[served], crs=ANALYSIS_CRS),
                       how="difference")
    j = gpd.sjoin(cells, gaps, predicate="within")
    return float(j["population"].sum())  # population beyond the threshold inside the areas


def naive_2sfca(cells: gpd.GeoDataFrame, facilities, catchment):
    buf = gpd.GeoDataFrame({"fid": np.arange(len(facilities)), "cap": facilities["kapacitet"].to_numpy()},
                           geometry=facilities.buffer(catchment / DETOUR), crs=ANALYSIS_CRS)
    pairs = gpd.sjoin(cells, buf, predicate="within")
    demand = pairs.groupby("fid")["population"].sum()
    ratio = buf.set_index("fid")["cap"] / demand
    pairs["r"] = pairs["fid"].map(ratio)
    access = pairs.groupby(level=0)["r"].sum()
    return float((cells["population"] * access.reindex(cells.index).fillna(0)).sum())


def naive_corridor(cells: gpd.GeoDataFrame, corridor, areas, distances):
    merged = corridor.union_all()
    prev = None
    rings = []
    for d in distances:
        b = gpd.GeoDataFrame({"band": [d]}, geometry=[shapely.buffer(merged, d / DETOUR)], crs=ANALYSIS_CRS)
        rings.append(b if prev is None else gpd.overlay(b, prev[["geometry"]], how="difference"))
        prev = b
    bands = pd.concat(rings, ignore_index=True)
    pieces = gpd.overlay(bands, areas[["navn", "geometry"]], how="intersection")
    j = gpd.sjoin(cells, pieces, predicate="within")
    return j.groupby("band")["population"].sum().to_list()


# --- runner --------------------------------------------------------------------------------------

def _timed(fn, repeat: int):
    fn()  # warm-up (caches: cell centres, area label rasters)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def _peak(fn) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def _once(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m geo.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small synthetic run")
    ap.add_argument("--synthetic", action="store_true", help="use the synthetic region even if the data exists")
    ap.add_argument("--data-dir", help="data directory (default: resolved like the CLI)")
    ap.add_argument("--facilities", type=int, default=None)
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args(argv)

    n_fac = args.facilities or (100 if args.quick else 1000)
    t0 = time.perf_counter()
    label = "synthetic"
    if args.quick:
        grid, areas, corridor = synthetic_region(n_cells=20_000)
    else:
        grid = None
        if not args.synthetic:
            try:
                from layers.datadir import resolve_data_dir
                dd = resolve_data_dir(args.data_dir)
                if dd.has("indikatorer/fysioterapi_kapacitet_speciale51_2024.csv") and dd.has("dagi/kommuner.geojson"):
                    grid, areas, corridor = real_region(dd)
                    label = f"default region grid from {dd}"
            except Exception as exc:  # noqa: BLE001 - the bench falls back to synthetic data
                print(f"(real data not usable: {type(exc).__name__}: {exc}; using a synthetic region)")
        if grid is None:
            grid, areas, corridor = synthetic_region()
    facilities = random_facilities(grid, n_fac)
    c = grid.cell_centres()
    print(f"grid: {label}: {grid}")
    print(f"      {len(c.x):,} populated cells; {n_fac:,} facilities; areas: "
          + ", ".join(f"{k} ({len(v)})" for k, v in areas.items()) + f"; built in {time.perf_counter() - t0:.1f} s")
    repeat = 5
    threshold, catchment, distances = 1000.0, 2000.0, (400, 800)

    def q_cov():
        return coverage_gaps(facilities, grid, threshold, areas={"kommune": areas["kommune"]}, detour_factor=DETOUR)

    def q_acc():
        return two_step_fca(facilities, "kapacitet", grid, catchment, decay="gaussian", areas={"kommune": areas["kommune"]},
                            detour_factor=DETOUR)

    def q_acc_step():
        return two_step_fca(facilities, "kapacitet", grid, catchment, decay="step", detour_factor=DETOUR)

    def q_cor():
        return corridor_catchment(corridor, grid, distances, areas=areas, detour_factor=DETOUR)

    t_cov, cov = _timed(q_cov, 3)
    t_acc, acc = _timed(q_acc, 3)
    t_acc_s, acc_s = _timed(q_acc_step, 3)
    t_cor, cor = _timed(q_cor, repeat)
    peaks = {"coverage": _peak(q_cov), "2sfca": _peak(q_acc), "corridor": _peak(q_cor)}

    t_gaps, n_gaps = _once(lambda: len(q_cov().gaps))
    t_gaps -= t_cov
    rows = []
    kt = cov.table[(cov.table["area_type"] == "kommune") & (cov.table["area_name"] != OUTSIDE_LABEL)]
    beyond = kt["population_beyond"].sum()
    cells = None
    if not args.no_baseline:
        tb = time.perf_counter()
        cells = gpd.GeoDataFrame({"population": c.population}, geometry=shapely.points(c.x, c.y), crs=ANALYSIS_CRS)
        t_cells = time.perf_counter() - tb
        print(f"baseline input: {len(cells):,} cell points built in {t_cells:.2f} s (not counted below)")
        tb_cov, nb_beyond = _once(lambda: naive_coverage(cells, facilities, areas["kommune"], threshold))
        tb_acc, nb_acc = _once(lambda: naive_2sfca(cells, facilities, catchment))
        tb_cor, nb_cor = _once(lambda: naive_corridor(cells, corridor, areas["kommune"], distances))
    else:
        tb_cov = tb_acc = tb_cor = float("nan")
        nb_beyond = nb_acc = nb_cor = None
    cor_pop = cor.table["population"].to_list()
    rows.append(("coverage gaps (1 km, distances + table per kommune)", t_cov, tb_cov, 1.0, "< 1 s",
                 f"beyond {beyond:,.0f}", f"beyond {nb_beyond:,.0f}" if nb_beyond is not None else "-"))
    rows.append((f"  + gap polygons on first access ({n_gaps:,} patches)", t_cov + t_gaps, tb_cov, 1.0, "< 1 s",
                 "", ""))
    rows.append(("2SFCA Gaussian (2 km, per kommune)", t_acc, tb_acc, 3.0, "< 3 s",
                 f"Σ P·A {acc.by_area.iloc[0]['accessible_capacity']:,.1f}", "(step below)"))
    rows.append(("2SFCA step (2 km)", t_acc_s, tb_acc, 3.0, "< 3 s",
                 f"Σ P·A {acc_s.by_area.iloc[0]['accessible_capacity']:,.1f}",
                 f"Σ P·A {nb_acc:,.1f}" if nb_acc is not None else "-"))
    rows.append(("corridor 400/800 m, line + stops, by kommune & planområde (warm)", t_cor, tb_cor, 0.05, "< 50 ms",
                 "pop " + "/".join(f"{p:,.0f}" for p in cor_pop),
                 ("pop " + "/".join(f"{p:,.0f}" for p in nb_cor)) if nb_cor is not None else "-"))
    print()
    print(f"{'query':<66} {'engine':>9} {'baseline':>9} {'speed-up':>9}  target    engine answer / baseline answer")
    for name, t, tb, target, ttxt, a1, a2 in rows:
        ok = "ok" if t < target else "MISSED"
        print(f"{name:<66} {_fmt(t):>9} {_fmt(tb):>9} {tb / t:>8.0f}x  {ttxt:<8}{ok:>3}  {a1} / {a2}")
    print()
    print("engine peak traced memory per query: " + ", ".join(f"{k} {v:,.0f} MiB" for k, v in peaks.items()))
    print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")
    print(f"distance: {cov.meta['distance_method']}; population: {grid.source} ({grid.precision})")
    return 0


def _fmt(t: float) -> str:
    if t != t:
        return "-"
    return f"{t * 1000:.1f} ms" if t < 1 else f"{t:.2f} s"


if __name__ == "__main__":
    sys.exit(main())
