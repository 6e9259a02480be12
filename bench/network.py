"""Benchmark and report of network distance and the dasymetric population surface on the region's data.

    python -m bench.network            # timings, networkx comparison, old vs new BRT figures
    python -m bench.network --detour   # also the detour factors per kommune (kkr_geo.layers.detour.measure)

Needs the development data (road centre lines ``vejnet/…gpkg``; found like the CLI does). Prints:

* the street network build *cold* (no disk cache) and from the disk cache;
* the four BRT corridors' 400/800 m network catchments, cold (network build included) and warm;
* coverage of the ~215 rail stations at 600 m on the network;
* the same shortest paths with networkx on the same graph, timed in the same run, and the largest
  difference between the two answers (they must agree);
* old vs new figures for the BRT corridors: straight line × 1.3 on the even (areal) surface against
  network distance on the dasymetric surface, with the two intermediate combinations.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


_cpu: list[float] = []


def _t(fn):
    """(result, wall seconds); the process CPU seconds go to ``_cpu`` (the machine may be shared)."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    _cpu.append(time.process_time() - c)
    return out, time.perf_counter() - t


def _c(k: int = 1) -> str:
    """CPU seconds of the last ``k`` timings."""
    return f"{sum(_cpu[-k:]):.2f} s CPU"


def have_networkx() -> bool:
    """Whether networkx (the ``bench`` extra: ``pip install -e '.[bench]'``) can be imported."""
    import importlib.util
    return importlib.util.find_spec("networkx") is not None


def _nx_graph(net):
    import networkx as nx
    g = net.graph.tocoo()
    G = nx.Graph()
    G.add_nodes_from(range(net.n_nodes))
    m = g.row < g.col
    G.add_weighted_edges_from(zip(g.row[m].tolist(), g.col[m].tolist(), g.data[m].tolist()))
    return G


def _nx_multi_source(G, start: np.ndarray, limit: float | None):
    """networkx multi-source Dijkstra with per-source start offsets (a virtual source node)."""
    import networkx as nx
    src = np.flatnonzero(np.isfinite(start))
    s = -1
    G.add_weighted_edges_from((s, int(i), float(start[i])) for i in src)
    try:
        d = nx.single_source_dijkstra_path_length(G, s, cutoff=limit)
    finally:
        G.remove_node(s)
    out = np.full(len(start), np.inf)
    d.pop(s, None)
    if d:
        k = np.fromiter(d.keys(), dtype=np.int64, count=len(d))
        out[k] = np.fromiter(d.values(), dtype=float, count=len(d))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.network", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", help="data directory (default: resolved like the CLI)")
    ap.add_argument("--detour", action="store_true", help="also measure the detour factor per kommune")
    ap.add_argument("--no-networkx", action="store_true", help="skip the networkx comparison")
    args = ap.parse_args(argv)

    from kkr_geo.geo.catchment import corridor_catchment
    from kkr_geo.geo.coverage import coverage_gaps
    from kkr_geo.geo.distance import geometry_anchor_points
    from kkr_geo.geo.network_build import components_summary
    from kkr_geo.layers import roads
    from kkr_geo.layers.datadir import resolve_data_dir
    from kkr_geo.layers.region_population import region_population_grid
    from kkr_geo.layers.registry import load_layer

    dd = resolve_data_dir(args.data_dir)
    if not roads.has_roads(dd):
        print(f"no road network in {dd}: nothing to benchmark (see data/README.md)")
        return 2
    brt = load_layer("brt", dd)
    stations = load_layer("stationer", dd)
    grid, t_grid = _t(lambda: region_population_grid(dd))
    areal, t_areal = _t(lambda: region_population_grid(dd, method="areal"))
    print(f"population surfaces: dasymetric {t_grid:.2f} s, areal {t_areal:.2f} s (cold, this process)")

    roads._memory.clear()
    roads.road_lines(dd)  # file reading is not the network build; report it apart
    roads._memory.clear()
    lines, t_read = _t(lambda: roads.road_lines(dd))
    net, t_build = _t(lambda: roads.street_network(dd, use_disk_cache=False))
    roads._memory.clear()
    roads.road_lines(dd)
    _, t_disk = _t(lambda: roads.street_network(dd))  # writes the cache if missing
    roads._memory.clear()
    roads.road_lines(dd)
    net2, t_disk = _t(lambda: roads.street_network(dd))
    cs = components_summary(net)
    print(f"road lines: {len(lines):,} read in {t_read:.2f} s; network: {cs['nodes']:,} nodes, {cs['edges']:,} edges, "
          f"{cs['components']} pieces (largest {cs['largest_share']:.1%}); build {t_build:.2f} s ({_cpu[-3]:.2f} s CPU), from disk cache {t_disk:.2f} s")

    def brt_net():
        return corridor_catchment(brt, grid, (400, 800), by="projekt", network=net)

    res_net, t_brt = _t(brt_net)
    cpu_cold = _cpu[-5] + _cpu[-4] + _cpu[-1]  # read + build + first catchments
    _, t_brt_warm = _t(brt_net)
    print(f"BRT corridors ({brt['projekt'].nunique()}), 400/800 m on the network: {t_brt:.2f} s first, {t_brt_warm:.2f} s warm; "
          f"cold total (read + build + catchments) {t_read + t_build + t_brt:.2f} s wall, {cpu_cold:.2f} s CPU (target < 5 s); "
          f"with the disk cache {t_disk + t_brt:.2f} s")
    cov, t_cov = _t(lambda: coverage_gaps(stations, grid, 600, network=net))
    print(f"coverage, {len(stations)} stations at 600 m on the network: {t_cov:.2f} s, {_c()} (target < 10 s); "
          f"{cov.table.iloc[0]['share_beyond']:.1%} of inhabitants beyond")

    if not args.no_networkx and not have_networkx():
        print("networkx is not installed: the networkx comparison is skipped (pip install -e '.[bench]')")
    elif not args.no_networkx:
        G, t_g = _t(lambda: _nx_graph(net))
        print(f"networkx graph from the same edges: {t_g:.2f} s (not counted below)")
        # the corridors: node distances from the snapped anchors of each corridor, cut at 800 m
        worst = 0.0
        t_sc = t_nx = 0.0
        for key, grp in brt.groupby("projekt"):
            anchors, _ = geometry_anchor_points(grp.geometry.values)
            nodes, snap = net.snap(anchors)
            start = np.full(net.n_nodes, np.inf)
            ok = nodes >= 0
            np.minimum.at(start, nodes[ok], snap[ok])
            d_sc, t1 = _t(lambda: net._multi_source(start, 800.0))
            d_nx, t2 = _t(lambda: _nx_multi_source(G, start, 800.0))
            t_sc += t1
            t_nx += t2
            both = np.isfinite(d_sc) & (d_sc <= 800)
            worst = max(worst, float(np.max(np.abs(d_sc[both] - d_nx[both]))) if both.any() else 0.0,
                        float(np.sum(np.isfinite(d_sc[d_sc <= 800]) != np.isfinite(d_nx[d_sc <= 800]))))
        print(f"BRT 800 m shortest paths: scipy csgraph {t_sc:.2f} s, networkx {t_nx:.2f} s "
              f"(networkx / scipy = {t_nx / max(t_sc, 1e-9):.1f}×); largest difference {worst:.2e} m")
        nodes, snap = net.snap(np.column_stack([stations.geometry.x, stations.geometry.y]))
        start = np.full(net.n_nodes, np.inf)
        ok = nodes >= 0
        np.minimum.at(start, nodes[ok], snap[ok])
        d_sc, t1 = _t(lambda: net._multi_source(start, np.inf))
        d_nx, t2 = _t(lambda: _nx_multi_source(G, start, None))
        fin = np.isfinite(d_sc)
        same_reach = bool((fin == np.isfinite(d_nx)).all())
        diff = float(np.max(np.abs(d_sc[fin] - d_nx[fin]))) if fin.any() else 0.0
        print(f"stations, distance to the nearest from every node: scipy {t1:.2f} s, networkx {t2:.2f} s "
              f"({t2 / max(t1, 1e-9):.1f}×); same nodes reached: {same_reach}; largest difference {diff:.2e} m")

    # old vs new
    combos = {"old: luftlinje × 1,3, jævn": (areal, {"detour_factor": 1.3}),
              "luftlinje × 1,3, dasymetrisk": (grid, {"detour_factor": 1.3}),
              "vejnet, jævn": (areal, {"network": net}),
              "new: vejnet, dasymetrisk": (grid, {"network": net})}
    cols = {}
    for label, (g, opts) in combos.items():
        r = corridor_catchment(brt, g, (400, 800), by="projekt", mode="cumulative", **opts)
        cols[label] = r.table.set_index(["feature", "band"])["population"]
    table = pd.DataFrame(cols)
    table["new / old"] = table.iloc[:, -1] / table.iloc[:, 0]
    print("\nBRT corridors, inhabitants within 400 m and 800 m (cumulative):")
    print(table.to_string(float_format=lambda v: f"{v:,.0f}" if v > 10 else f"{v:.2f}"))

    if args.detour:
        from kkr_geo.layers.detour import measure
        fac, t_fac = _t(lambda: measure(dd))
        print(f"\nMeasured detour factor per kommune (network ÷ straight line, populated cells to the nearest station "
              f"200–3,000 m away, as coverage measures them; `python -m kkr_geo.layers.detour` writes it), "
              f"{t_fac:.1f} s, {_c()}:")
        print(fac.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        from kkr_geo.geo.detour import MIN_PAIRS
        fin = fac.loc[fac["antal_par"] >= MIN_PAIRS, "omvejsfaktor_median"].dropna()
        print(f"median over the {len(fin)} kommuner with ≥ {MIN_PAIRS} pairs (those the fallback uses) {fin.median():.2f}; "
              f"range {fin.min():.2f}–{fin.max():.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
