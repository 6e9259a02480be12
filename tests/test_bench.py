"""The benchmark's quick mode runs, writes JSON of the documented shape, and its answers agree
with the prebuilt-tree baseline. No timing is asserted (timings are the bench's output, not a test).

The benchmarks live in the checkout's ``bench/`` folder (not installed); the network benchmark's networkx
baseline is the ``bench`` extra (the ``test`` extra includes it, so CI runs its test; without networkx that test
skips and says why). Nothing in the installed package may import networkx."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.region import compare_runs

ROOT = Path(__file__).resolve().parent.parent


def test_quick_bench_json(tmp_path):
    out = tmp_path / "quick.json"
    proc = subprocess.run([sys.executable, "-m", "bench.region", "--quick", "--json", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "load average" in proc.stdout and "interleaved" in proc.stdout
    r = json.loads(out.read_text(encoding="utf-8"))
    assert r["version"] == 3 and r["mode"] == "quick" and len(r["load_start"]) == 3 and len(r["load_end"]) == 3
    assert r["all_answers_agree"] is True and isinstance(r["all_targets_met"], bool)
    expected = {"region": {"coverage", "coverage_with_gaps", "2sfca_step", "2sfca_gaussian", "corridor"},
                "national": {"coverage", "2sfca_step", "2sfca_gaussian"}}
    for section, queries in expected.items():
        sec = r[section]
        assert set(sec["queries"]) == queries
        assert len(sec["load_per_rep"]) == sec["reps"] + 1
        for name, q in sec["queries"].items():
            for side in ("engine", "baseline"):
                s = q[side]
                assert len(s["times_s"]) == sec["reps"] and s["min_s"] <= s["median_s"] <= s["max_s"]
                assert s["cpu_median_s"] >= 0
            assert q["ratio"] > 0 and q["ratio_per_rep_median"] > 0
            assert q["answers"]["agree"] is True, (section, name, q["answers"])
        mem = sec["memory"]
        assert mem["traced_peak_mib"] and 0 < mem["engine_maxrss_mib"] <= mem["maxrss_mib"]
        assert mem["inputs_rss_mib"] is None or 0 < mem["inputs_rss_mib"] <= mem["maxrss_mib"]
        for t in sec["targets"]:
            assert {"what", "unit", "value", "limit", "met"} <= set(t)
            assert t["met"] == (t["value"] <= t["limit"] if t["unit"] == "ratio" else t["value"] < t["limit"])
    # the engine and the baseline report the same population beyond the threshold
    cov = r["region"]["queries"]["coverage"]["answers"]
    assert cov["engine"]["total_beyond"] == pytest.approx(cov["baseline"]["total_beyond"], rel=1e-9)
    assert cov["engine"]["total_beyond"] > 0
    gaps = r["region"]["queries"]["coverage_with_gaps"]["answers"]
    assert abs(gaps["engine"]["gap_population"] - cov["engine"]["total_beyond"]) < 1e-6 * cov["engine"]["total_beyond"]


    # the memory target is the engine's peak (before the baseline is built), not the whole process's
    (memory_target,) = [t for t in r["national"]["targets"] if t["unit"] == "MiB"]
    assert memory_target["value"] == r["national"]["memory"]["engine_maxrss_mib"]
    assert "engine" in memory_target["what"]


def test_baseline_shares_in_chunks_equal_all_at_once():
    # cells split between two areas, a cell in a hole of none (nearest within a cell), one far outside
    import numpy as np
    import shapely
    from affine import Affine

    import geopandas as gpd
    from bench.region import baseline_shares

    t = Affine(100, 0, 700_000, 0, -100, 6_171_000)
    shape = (10, 15)
    rows, cols = np.nonzero(np.ones(shape, bool))
    cxy = np.column_stack([t.c + (cols + 0.5) * 100, t.f - (rows + 0.5) * 100])
    areas = gpd.GeoDataFrame({"navn": ["A", "B", "A"]}, geometry=[
        shapely.box(700_000, 6_170_000, 700_430, 6_171_000), shapely.box(700_430, 6_170_000, 700_930, 6_170_970),
        shapely.Polygon([(700_930, 6_170_500), (701_100, 6_170_000), (701_100, 6_170_900)])], crs=25832)
    whole, names = baseline_shares(areas, cxy, 100.0, t, shape, rows, cols, chunk=10**9)
    for chunk in (1, 7, 50):
        part, names_c = baseline_shares(areas, cxy, 100.0, t, shape, rows, cols, chunk=chunk)
        assert names_c == names == ["A", "B"]
        assert (part != whole).nnz == 0
    dense = whole.toarray()
    assert np.allclose(dense.sum(axis=1), 1.0)
    assert dense[:, 0].sum() > 0 and dense[:, 1].sum() > 0 and dense[:, 2].sum() > 0  # some cells outside
    assert ((dense > 0) & (dense < 1)).any()  # split cells


def _run(ratio, met=True, agree=True):
    return {"region": {"queries": {"coverage": {"ratio": ratio, "answers": {"agree": agree}}},
                       "targets": [{"what": "x", "met": met}]}}


def test_compare_ratio_agreement(capsys):
    assert compare_runs(_run(1.00), _run(1.20)) is True          # 20 % apart: within 25 %
    assert compare_runs(_run(1.00), _run(1.30)) is False         # 30 % apart
    assert compare_runs(_run(1.00), _run(1.00, met=False)) is False
    assert compare_runs(_run(1.00), _run(1.00, agree=False)) is False
    assert "NO" in capsys.readouterr().out


def test_the_installed_package_does_not_import_networkx():
    """networkx is the benchmarks' extra, not a dependency: no module of geo/, layers/, maps/, kkr_geo/ imports it
    (read with ast, so also imports inside functions)."""
    found = []
    for folder in ("geo", "layers", "maps", "kkr_geo"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                found += [f"{path.relative_to(ROOT)}:{node.lineno}" for n in names
                          if n == "networkx" or n.startswith("networkx.")]
            text = path.read_text(encoding="utf-8")
            if "import_module(\"networkx" in text or "__import__(\"networkx" in text:
                found.append(f"{path.relative_to(ROOT)}: dynamic import of networkx")
    assert found == []


def test_networkx_is_the_bench_extra_not_a_dependency():
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert not [d for d in project["dependencies"] if d.startswith("networkx")]
    assert [d for d in project["optional-dependencies"]["bench"] if d.startswith("networkx")]
    # the benchmarks are not installed with the package
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    assert not [p for p in packages if p == "bench" or p.startswith("bench.") or ".bench" in p]


def test_network_bench_networkx_baseline_agrees_with_the_engine():
    """The network benchmark's networkx baseline (multi-source Dijkstra with start offsets) gives the engine's
    distances on a small grid of streets."""
    pytest.importorskip("networkx", reason="networkx is the bench extra (pip install -e '.[bench]'): "
                                           "the networkx comparison of bench.network is not tested without it")
    import geopandas as gpd
    import numpy as np
    import shapely

    from bench.network import _nx_graph, _nx_multi_source, have_networkx
    from kkr_geo.geo.distance import StreetNetwork

    assert have_networkx()
    lines = [shapely.LineString([(700_000 + 100 * i, 6_170_000), (700_000 + 100 * i, 6_170_500)]) for i in range(6)]
    lines += [shapely.LineString([(700_000, 6_170_000 + 100 * j), (700_500, 6_170_000 + 100 * j)]) for j in range(6)]
    net = StreetNetwork.from_edges(gpd.GeoDataFrame(geometry=lines, crs=25832), densify_m=100.0)
    start = np.full(net.n_nodes, np.inf)
    nodes, snap = net.snap(np.array([[700_010.0, 6_170_000.0], [700_500.0, 6_170_430.0]]))
    np.minimum.at(start, nodes[nodes >= 0], snap[nodes >= 0])
    G = _nx_graph(net)
    for limit in (250.0, None):
        d_sc = net._multi_source(start, np.inf if limit is None else limit)
        d_nx = _nx_multi_source(G, start, limit)
        reach = np.isfinite(d_sc) & (d_sc <= (limit or np.inf))
        assert reach.sum() > 3
        assert np.allclose(d_sc[reach], d_nx[reach])
        assert G.number_of_nodes() == net.n_nodes   # the virtual source node is removed again
