"""Street network from road centre lines: junction repair by hand, the disk cache, --distance on the CLI."""

import os

import geopandas as gpd
import numpy as np
import pytest
import shapely

from kkr_geo.geo.errors import DataError, InputError
from kkr_geo.geo.network_build import build_street_network, components_summary

X0, Y0 = 700_000.0, 6_170_000.0


def L(*pts):
    return shapely.LineString([(X0 + x, Y0 + y) for x, y in pts])


def test_t_junction_without_shared_vertex_is_joined_with_exact_lengths():
    # main road 0..100 along y=0; a side road from (40, 50) ending 0.4 m short of it at (40, 0.4)
    main = L((0, 0), (100, 0))
    side = L((40, 50), (40, 0.4))
    plain = build_street_network([main, side], densify_m=None, join_dangles_m=0, min_component_nodes=0)
    assert components_summary(plain)["components"] == 2
    net = build_street_network([main, side], densify_m=None, min_component_nodes=0)
    assert components_summary(net)["components"] == 1
    # from the side road's far end to the main road's east end: 49.6 + 0.4 gap + 60 along the road = 110
    d = net.distances_from(np.array([[X0 + 40, Y0 + 50]]))
    east = net.snap(np.array([[X0 + 100, Y0]]))[0][0]
    west = net.snap(np.array([[X0, Y0]]))[0][0]
    assert d[east] == pytest.approx(110.0, abs=1e-6)
    assert d[west] == pytest.approx(90.0, abs=1e-6)


def test_far_ends_stay_apart_and_tiny_pieces_are_dropped():
    main = L((0, 0), (1000, 0))
    far = L((40, 50), (40, 5))  # ends 5 m from the main road: beyond the 3 m default
    net = build_street_network([main, far], densify_m=None, min_component_nodes=0)
    assert components_summary(net)["components"] == 2
    # densified every 50 m the main road has 21 nodes, the stub 2: the stub is dropped at min 10 nodes
    pruned = build_street_network([main, far], densify_m=50, min_component_nodes=10)
    assert components_summary(pruned) == {"components": 1, "largest_share": 1.0, "nodes": 21, "edges": 20}
    # a home beside the stub now snaps to the main road (5 m away from the stub's end, 50 m from the road)
    node, dist = pruned.snap(np.array([[X0 + 40, Y0 + 50]]))
    assert node[0] >= 0 and dist[0] == pytest.approx(np.hypot(10, 50))


def test_parallel_lines_keep_the_shortest_and_lengths_are_metres():
    a = L((0, 0), (100, 0))
    b = L((0, 0), (50, 30), (100, 0))  # a longer way between the same ends
    net = build_street_network([a, b], densify_m=None, min_component_nodes=0)
    d = net.distances_from(np.array([[X0, Y0]]))
    end = net.snap(np.array([[X0 + 100, Y0]]))[0][0]
    assert d[end] == pytest.approx(100.0, abs=1e-6)


def test_not_lines_is_a_clear_error():
    with pytest.raises(InputError, match="line features"):
        build_street_network([shapely.Point(X0, Y0)])


def test_network_cache_is_keyed_by_file_and_rebuilt_when_it_changes(tmp_path, monkeypatch):
    from kkr_geo.layers import roads
    monkeypatch.setenv("KKR_GEO_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "data"
    (root / "vejnet").mkdir(parents=True)
    path = root / "vejnet" / "vejmidter_region_hovedstaden.gpkg"
    gpd.GeoDataFrame({"type": ["Off. kommunevej"]}, geometry=[L((0, 0), (300, 0))], crs=25832).to_file(path)
    n1 = roads.street_network(root)
    files = list((tmp_path / "cache" / "networks").glob("*.npz"))
    assert len(files) == 1 and n1.n_nodes == 7
    roads._memory.clear()
    n2 = roads.street_network(root)  # from the disk cache
    assert n2.n_nodes == 7 and (n2.graph != n1.graph).nnz == 0
    # a changed road file (new size and mtime) is never answered from the old cache
    gpd.GeoDataFrame({"type": ["Off. kommunevej"] * 2}, geometry=[L((0, 0), (300, 0)), L((300, 0), (300, 400))],
                     crs=25832).to_file(path)
    os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 10**9))
    roads._memory.clear()
    n3 = roads.street_network(root)
    assert n3.n_nodes > 7
    # a damaged cache file is rebuilt, not trusted
    for f in (tmp_path / "cache" / "networks").glob("*.npz"):
        f.write_bytes(b"not a cache")
    roads._memory.clear()
    assert roads.street_network(root).n_nodes == n3.n_nodes


def test_distance_options(tmp_path, monkeypatch):
    from kkr_geo.geo.detour import AreaDetourFactors
    from kkr_geo.layers.region_defaults import distance_options
    empty = tmp_path / "empty"
    empty.mkdir()
    # an empty data directory over the embedded default: straight line × the shipped factor per kommune
    auto = distance_options(empty, "auto")["detour_factor"]
    assert isinstance(auto, AreaDetourFactors)
    # the directory alone, without the embedded default: the uniform 1.3
    monkeypatch.setenv("KKR_GEO_BUNDLE", "0")
    assert distance_options(empty, "auto") == {"detour_factor": 1.3}
    with pytest.raises(DataError, match="vejnet"):
        distance_options(empty, "network")
    with pytest.raises(InputError, match="not one of"):
        distance_options(empty, "crow")
    with pytest.raises(InputError, match="detour factor"):
        distance_options(empty, "network", detour_factor=1.2)
    assert distance_options(empty, "euclidean", detour_factor=1.1) == {"detour_factor": 1.1}
    assert distance_options(empty, "auto", detour_factor=1.0) == {"detour_factor": 1.0}


def test_cli_distance_network_and_euclidean_on_the_region(dev_data, tmp_path):
    import json

    from kkr_geo.cli import main
    common = ["--data-dir", str(dev_data.path), "coverage", "--layer", "stationer", "--threshold", "600", "--areas", "none"]
    assert main([*common, "--distance", "network", "--out", str(tmp_path / "n")]) == 0
    assert main([*common, "--distance", "euclidean", "--out", str(tmp_path / "e")]) == 0
    assert main([*common, "--out", str(tmp_path / "a")]) == 0
    mn = json.loads((tmp_path / "n" / "coverage_meta.json").read_text())
    me = json.loads((tmp_path / "e" / "coverage_meta.json").read_text())
    ma = json.loads((tmp_path / "a" / "coverage_meta.json").read_text())
    assert mn["distance_method"] == "network shortest path" and "vejmidter" in mn["network"]
    # straight line × the factor measured for each kommune (data/afstand/omvejsfaktorer_kommuner.csv);
    # the headline figure is the median of the kommuner with enough measured pairs
    from kkr_geo.geo.detour import MIN_PAIRS, read_detour_csv
    from kkr_geo.layers.detour import factors_path
    table = read_detour_csv(factors_path(dev_data.path))
    usable = table[table["antal_par"] >= MIN_PAIRS]
    assert me["distance_method"] == f"euclidean × detour factor per area (median {usable['omvejsfaktor_median'].median():.2f})"
    assert me["detour_factors"]["København"] == pytest.approx(
        float(usable.loc[usable["kommunekode"] == "0101", "omvejsfaktor_median"].iloc[0]), abs=1e-3)
    assert main([*common, "--detour-factor", "1.3", "--out", str(tmp_path / "u")]) == 0
    mu = json.loads((tmp_path / "u" / "coverage_meta.json").read_text())
    assert mu["distance_method"] == "euclidean × detour factor 1.3"  # an explicit factor is used as given
    assert "network_check" in mn and 1.0 < mn["network_check"]["overall"]["median"] < 2.0
    assert ma["distance_method"] == mn["distance_method"]  # the default where the roads exist
    assert "dasymetric" in mn["population_precision"]
    assert main([*common, "--distance", "network", "--detour-factor", "1.2", "--out", str(tmp_path / "x")]) == 4


def test_api_distance_option_on_the_region(dev_data):
    from kkr_geo import load_layer, region_catchment
    brt = load_layer("brt", dev_data.path)
    brt = brt[brt["projekt"] == "150s"]
    net = region_catchment(brt, (400,), by="projekt", data_dir=dev_data.path, distance="network", areas=None)
    euc = region_catchment(brt, (400,), by="projekt", data_dir=dev_data.path, distance="euclidean", areas=None)
    assert net.meta["distance_method"] == "network shortest path"
    assert euc.meta["distance_method"].startswith("euclidean × detour factor per area (median ")
    assert "omvejsfaktor pr. kommune (median 1," in euc.provenance.map_notes[0]
    # same dasymetric surface, different distance: both count people, and they differ
    assert 0 < net.table["population"].iloc[0] != euc.table["population"].iloc[0] > 0
    assert "vejnettet" in net.provenance.map_notes[0] and "luftlinje" in euc.provenance.map_notes[0]
