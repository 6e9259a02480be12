"""Benchmark of the analysis engine against a naive geopandas baseline.

    python -m kkr_geo.bench            # region-sized: ~250,000 populated 100 m cells, 1,000 facilities
    python -m kkr_geo.bench --quick    # small run (a few seconds)

With the development data present (found like the CLI does) the grid is the region's default
population surface (planlægningsområde populations spread by areal weighting over 100 m cells)
with the real kommuner, planområder and BRT corridor; without it a region-sized grid is
synthesised. Facilities are 1,000 random points drawn in proportion to population.

Each query is timed warm (median of repeated runs after one warm-up run) and compared with two
geopandas baselines computed in the same run, each run once:

* *cell-polygon overlay*: the literal analyst (QGIS-style) workflow on the grid as a polygon layer
  of 100 m cells: buffer the facilities / corridor, ``gpd.overlay`` the cell polygons with the
  buffers, population of each intersected piece by area weighting (cell population × piece area /
  cell area), then overlay / groupby per area;
* *point sjoin*: an already optimised baseline: buffers + overlay of the *areas* + ``sjoin`` of the
  cell *centre points* (centre sampling, like the engine).

The cell polygons and cell points are built outside the timing. Answers of all three are printed
side by side and checked to agree within a stated tolerance (area weighting and centre sampling
differ slightly at buffer edges), so the speed-ups are between like answers. The memory figures are
the peak traced allocation of each engine query (tracemalloc) and the process peak RSS.
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

from kkr_geo.geo.access import two_step_fca
from kkr_geo.geo.catchment import corridor_catchment
from kkr_geo.geo.coverage import coverage_gaps
from kkr_geo.geo.crs import ANALYSIS_CRS
from kkr_geo.geo.population import PopulationGrid
from kkr_geo.geo.raster import OUTSIDE_LABEL

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
    from kkr_geo.layers import load_layer
    from kkr_geo.layers.population import region_population_grid
    grid = region_population_grid(data_dir, cell_size=100)
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


# --- naive baselines ----------------------------------------------------------------------------

def naive_coverage(cells: gpd.GeoDataFrame, facilities, areas, threshold):
    """Gap polygons per area = area minus the union of facility buffers; population by sjoin."""
    served = facilities.buffer(threshold / DETOUR).union_all()
    gaps = gpd.overlay(areas[["navn", "geometry"]], gpd.GeoDataFrame(geometry=[served], crs=ANALYSIS_CRS),
                       how="difference")
    j = gpd.sjoin(cells, gaps, predicate="within")
    return float(j["population"].sum())  # population beyond the threshold inside the areas


def naive_2sfca(cells: gpd.GeoDataFrame, facilities, catchment):
    """Step 2SFCA; returns (Σ P·A, Σ facility demand)."""
    buf = gpd.GeoDataFrame({"fid": np.arange(len(facilities)), "cap": facilities["kapacitet"].to_numpy()},
                           geometry=facilities.buffer(catchment / DETOUR), crs=ANALYSIS_CRS)
    pairs = gpd.sjoin(cells, buf, predicate="within")
    demand = pairs.groupby("fid")["population"].sum()
    ratio = buf.set_index("fid")["cap"] / demand
    pairs["r"] = pairs["fid"].map(ratio)
    access = pairs.groupby(level=0)["r"].sum()
    return float((cells["population"] * access.reindex(cells.index).fillna(0)).sum()), float(demand.sum())


def _ring_bands(corridor, distances) -> gpd.GeoDataFrame:
    """Ring buffers of the merged corridor (buffer, then overlay difference with the inner ring)."""
    merged = corridor.union_all()
    prev = None
    rings = []
    for d in distances:
        b = gpd.GeoDataFrame({"band": [d]}, geometry=[shapely.buffer(merged, d / DETOUR)], crs=ANALYSIS_CRS)
        rings.append(b if prev is None else gpd.overlay(b, prev[["geometry"]], how="difference"))
        prev = b
    bands = pd.concat(rings, ignore_index=True)
    return bands


def naive_corridor(cells: gpd.GeoDataFrame, corridor, areas, distances):
    bands = _ring_bands(corridor, distances)
    pieces = gpd.overlay(bands, areas[["navn", "geometry"]], how="intersection")
    j = gpd.sjoin(cells, pieces, predicate="within")
    return j.groupby("band")["population"].sum().to_list()


# --- naive baselines on cell polygons (the analyst's overlay workflow) ---------------------------

def cell_polygons(c, cell_size: float) -> gpd.GeoDataFrame:
    """The populated cells as a polygon layer (100 m squares) with their population."""
    h = cell_size / 2
    return gpd.GeoDataFrame({"cid": np.arange(len(c.x)), "population": c.population},
                            geometry=shapely.box(c.x - h, c.y - h, c.x + h, c.y + h), crs=ANALYSIS_CRS)


def _area_weighted(pieces: gpd.GeoDataFrame, cell_area: float) -> pd.Series:
    return pieces["population"] * pieces.geometry.area / cell_area


def poly_coverage(cells: gpd.GeoDataFrame, facilities, areas, threshold, cell_area):
    """Cells minus facility buffers (overlay difference), split by area (overlay intersection),
    population of the pieces by area weighting: population beyond the threshold inside the areas."""
    buf = gpd.GeoDataFrame(geometry=facilities.buffer(threshold / DETOUR), crs=ANALYSIS_CRS)
    outside = gpd.overlay(cells, buf, how="difference")
    pieces = gpd.overlay(outside, areas[["navn", "geometry"]], how="intersection")
    return float(_area_weighted(pieces, cell_area).groupby(pieces["navn"]).sum().sum())


def poly_2sfca(cells: gpd.GeoDataFrame, facilities, catchment, cell_area):
    """Step 2SFCA with cell polygons: overlay cells × facility buffers, each piece weighted by the
    share of its cell inside the buffer; returns (Σ P·A, Σ facility demand)."""
    buf = gpd.GeoDataFrame({"fid": np.arange(len(facilities)), "cap": facilities["kapacitet"].to_numpy()},
                           geometry=facilities.buffer(catchment / DETOUR), crs=ANALYSIS_CRS)
    pieces = gpd.overlay(cells, buf, how="intersection")
    frac = pieces.geometry.area / cell_area
    demand = (pieces["population"] * frac).groupby(pieces["fid"]).sum()
    ratio = buf.set_index("fid")["cap"] / demand
    access = (pieces["fid"].map(ratio) * frac).groupby(pieces["cid"]).sum()
    pop = cells.set_index("cid")["population"]
    return float((pop * access.reindex(pop.index).fillna(0)).sum()), float(demand.sum())


def poly_corridor(cells: gpd.GeoDataFrame, corridor, areas, distances, cell_area):
    """Ring buffers of the corridor, split by area, overlaid with the cell polygons; area-weighted
    population per band."""
    bands = _ring_bands(corridor, distances)
    zones = gpd.overlay(bands, areas[["navn", "geometry"]], how="intersection")
    pieces = gpd.overlay(cells, zones, how="intersection")
    return _area_weighted(pieces, cell_area).groupby(pieces["band"]).sum().reindex(list(distances), fill_value=0.0).to_list()


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
    ap = argparse.ArgumentParser(prog="python -m kkr_geo.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small synthetic run")
    ap.add_argument("--synthetic", action="store_true", help="use the synthetic region even if the data exists")
    ap.add_argument("--data-dir", help="data directory (default: resolved like the CLI)")
    ap.add_argument("--facilities", type=int, default=None)
    ap.add_argument("--no-baseline", action="store_true", help="skip both baselines")
    ap.add_argument("--no-polygon-baseline", action="store_true", help="skip the (slow) cell-polygon overlay baseline")
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
                from kkr_geo.layers.datadir import resolve_data_dir
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
    rss_engine = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = []
    kt = cov.table[(cov.table["area_type"] == "kommune") & (cov.table["area_name"] != OUTSIDE_LABEL)]
    beyond = kt["population_beyond"].sum()
    nan = float("nan")
    tb_cov = tb_acc = tb_cor = tp_cov = tp_acc = tp_cor = nan
    nb_beyond = nb_acc = nb_cor = np_beyond = np_acc = np_cor = None
    if not args.no_baseline:
        tb = time.perf_counter()
        cells = gpd.GeoDataFrame({"population": c.population}, geometry=shapely.points(c.x, c.y), crs=ANALYSIS_CRS)
        t_cells = time.perf_counter() - tb
        print(f"baseline input: {len(cells):,} cell points built in {t_cells:.2f} s (not counted below)")
        tb_cov, nb_beyond = _once(lambda: naive_coverage(cells, facilities, areas["kommune"], threshold))
        tb_acc, nb_acc = _once(lambda: naive_2sfca(cells, facilities, catchment))
        tb_cor, nb_cor = _once(lambda: naive_corridor(cells, corridor, areas["kommune"], distances))
        del cells
        if not args.no_polygon_baseline:
            tb = time.perf_counter()
            polys = cell_polygons(c, grid.cell_size)
            t_polys = time.perf_counter() - tb
            ca = grid.cell_size ** 2
            print(f"baseline input: {len(polys):,} cell polygons ({grid.cell_size:g} m squares) built in {t_polys:.2f} s "
                  "(not counted below); the cell-polygon overlays are slow, so each is timed once (single run)")
            tp_cov, np_beyond = _once(lambda: poly_coverage(polys, facilities, areas["kommune"], threshold, ca))
            tp_acc, np_acc = _once(lambda: poly_2sfca(polys, facilities, catchment, ca))
            tp_cor, np_cor = _once(lambda: poly_corridor(polys, corridor, areas["kommune"], distances, ca))
            del polys
    cor_pop = cor.table["population"].to_list()
    acc_sum = acc.by_area.iloc[0]["accessible_capacity"]
    acc_s_sum = acc_s.by_area.iloc[0]["accessible_capacity"]
    acc_s_dem = float(acc_s.facilities["demand_population"].sum())

    def f_beyond(v):
        return "-" if v is None else f"beyond {v:,.0f}"

    def f_acc(v):
        return "-" if v is None else f"Σ P·A {v[0]:,.1f}, Σ demand {v[1]:,.0f}"

    def f_cor(v):
        return "-" if v is None else "pop " + "/".join(f"{p:,.0f}" for p in v)

    # (name, engine s, cell-polygon s, point s, target s, target text, engine / polygon / point answers, agreement)
    rows.append(("coverage gaps (1 km, distances + table per kommune)", t_cov, tp_cov, tb_cov, 1.0, "< 1 s",
                 f_beyond(beyond), f_beyond(np_beyond), f_beyond(nb_beyond),
                 _agree([beyond], [np_beyond] if np_beyond is not None else None,
                        [nb_beyond] if nb_beyond is not None else None)))
    rows.append((f"  + gap polygons on first access ({n_gaps:,} patches)", t_cov + t_gaps, tp_cov, tb_cov, 1.0, "< 1 s",
                 "", "", "", ""))
    rows.append(("2SFCA Gaussian (2 km, per kommune)", t_acc, tp_acc, tb_acc, 3.0, "< 3 s",
                 f"Σ P·A {acc_sum:,.1f}", "(step below)", "(step below)", ""))
    rows.append(("2SFCA step (2 km)", t_acc_s, tp_acc, tb_acc, 3.0, "< 3 s",
                 f_acc((acc_s_sum, acc_s_dem)), f_acc(np_acc), f_acc(nb_acc),
                 _agree([acc_s_sum, acc_s_dem], list(np_acc) if np_acc is not None else None,
                        list(nb_acc) if nb_acc is not None else None)))
    rows.append(("corridor 400/800 m, line + stops, by kommune & planområde (warm)", t_cor, tp_cor, tb_cor, 0.05,
                 "< 50 ms", f_cor(cor_pop), f_cor(np_cor), f_cor(nb_cor), _agree(cor_pop, np_cor, nb_cor)))
    print()
    print(f"{'query':<66} {'engine':>9} {'cell-polygon':>12} {'vs. cell-polygon':>16} {'point':>9} {'vs. point':>9}  target")
    print(f"{'':<66} {'':>9} {'overlay':>12} {'overlay':>16} {'sjoin':>9} {'sjoin':>9}")
    for name, t, tp, tb, target, ttxt, *_ in rows:
        ok = "ok" if t < target else "MISSED"
        print(f"{name:<66} {_fmt(t):>9} {_fmt(tp):>12} {_ratio(tp, t):>16} {_fmt(tb):>9} {_ratio(tb, t):>9}  "
              f"{ttxt:<8}{ok:>3}")
    print()
    print(f"answers (agreement tolerance: {AGREE_TOL:.0%} relative; the cell-polygon baseline weights cells by the area "
          "inside the buffer, engine and point baseline count cells by their centre)")
    print(f"{'query':<66} engine | cell-polygon overlay | point sjoin | agree")
    for name, *_, a1, a2, a3, agree in rows:
        if a1:
            print(f"{name:<66} {a1} | {a2} | {a3} | {agree}")
    print()
    print("engine peak traced memory per query: " + ", ".join(f"{k} {v:,.0f} MiB" for k, v in peaks.items()))
    print(f"process peak RSS: {rss_engine:,.0f} MiB after the engine queries, "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB after the baselines")
    print(f"distance: {cov.meta['distance_method']}; population: {grid.source} ({grid.precision})")
    return 0


AGREE_TOL = 0.02  # relative difference allowed between engine and baseline answers


def _agree(engine, poly, point) -> str:
    """'yes'/'NO' per baseline: every figure within AGREE_TOL of the engine's, with the largest difference."""
    out = []
    for label, other in (("polygon", poly), ("point", point)):
        if other is None:
            continue
        rel = max(abs(a - b) / max(abs(a), 1e-12) for a, b in zip(engine, other))
        out.append(f"{label} {'yes' if rel <= AGREE_TOL else 'NO'} (max {rel:.2%})")
    return ", ".join(out) or "-"


def _ratio(tb: float, t: float) -> str:
    if tb != tb:
        return "-"
    r = tb / t
    return f"{r:.1f}x" if r < 10 else f"{r:.0f}x"


def _fmt(t: float) -> str:
    if t != t:
        return "-"
    return f"{t * 1000:.1f} ms" if t < 1 else f"{t:.2f} s"


if __name__ == "__main__":
    sys.exit(main())
