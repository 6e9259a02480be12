"""Distance methods: Euclidean × detour factor and shortest paths on a street network."""


import geopandas as gpd
import numpy as np
import pytest
import shapely

from kkr_geo.geo.distance import (DEFAULT_DETOUR_FACTOR, StreetNetwork, check_detour_factor, describe_method,
                          nearest_distance, pairs_within)
from kkr_geo.geo.errors import InputError

X0, Y0 = 700_000.0, 6_170_000.0


def _lines(*coords):
    return gpd.GeoDataFrame(geometry=[shapely.LineString(c) for c in coords], crs=25832)


def test_euclidean_times_detour():
    pts = np.array([[X0 + 300, Y0 + 400], [X0, Y0]])
    d = nearest_distance(pts, [shapely.Point(X0, Y0)], detour_factor=1.3)
    assert list(d) == pytest.approx([500 * 1.3, 0])
    assert DEFAULT_DETOUR_FACTOR == 1.3
    assert describe_method(None, 1.3)["distance_method"] == "euclidean × detour factor 1.3"


def test_nearest_distance_to_lines_and_no_targets():
    d = nearest_distance(np.array([[X0 + 50, Y0 + 30]]), [shapely.LineString([(X0, Y0), (X0 + 100, Y0)])],
                         detour_factor=1.0)
    assert d[0] == pytest.approx(30)
    assert np.isinf(nearest_distance(np.array([[X0, Y0]]), [])).all()


def test_pairs_within_includes_the_edge():
    fac = np.array([[X0, Y0]])
    cells = np.array([[X0 + 300, Y0 + 400], [X0 + 301, Y0 + 400], [X0, Y0]])
    fi, ci, d = pairs_within(fac, cells, 500, detour_factor=1.0)
    assert sorted(ci) == [0, 2] and sorted(d) == pytest.approx([0, 500])


def test_network_square_with_a_shortcut_missing():
    # a U-shaped street: (0,0) → (0,1000) → (1000,1000) → (1000,0). The two bottom ends are
    # 1000 m apart as the crow flies but 3000 m by street.
    net = StreetNetwork.from_edges(_lines([(X0, Y0), (X0, Y0 + 1000), (X0 + 1000, Y0 + 1000), (X0 + 1000, Y0)]),
                                   densify_m=10)  # a node every 10 m: (X0+1000, Y0+20) lies on one
    node_d = net.distances_from(np.array([[X0, Y0]]))
    d = net.cell_distances(node_d, np.array([[X0 + 1000, Y0], [X0 + 1000, Y0 + 20]]))
    assert d[0] == pytest.approx(3000) and d[1] == pytest.approx(2980)
    assert describe_method(net, 1.3)["distance_method"] == "network shortest path"


def test_network_joins_lines_at_shared_vertices_only():
    # two lines meeting at a shared end point are connected; a line crossing without a vertex is not
    # (from_edges does not node crossings; geo.network_build does, see tests/test_network_access.py)
    net = StreetNetwork.from_edges(_lines([(X0, Y0), (X0 + 300, Y0)], [(X0 + 300, Y0), (X0 + 300, Y0 + 100)],
                                          [(X0 + 250, Y0 - 50), (X0 + 250, Y0 + 50)]), densify_m=None)
    node_d = net.distances_from(np.array([[X0, Y0]]))
    d = net.cell_distances(node_d, np.array([[X0 + 300, Y0 + 100], [X0 + 250, Y0 + 50]]))
    assert d[0] == pytest.approx(400)
    assert np.isinf(d[1])  # the crossing line is its own component


def test_parallel_edges_keep_the_shortest():
    net = StreetNetwork.from_edges(_lines([(X0, Y0), (X0 + 100, Y0)],
                                          [(X0, Y0), (X0 + 50, Y0 + 200), (X0 + 100, Y0)]), densify_m=None)
    node_d = net.distances_from(np.array([[X0, Y0]]))
    assert net.cell_distances(node_d, np.array([[X0 + 100, Y0]]))[0] == pytest.approx(100)


def test_snap_limit_makes_far_points_unreachable():
    net = StreetNetwork.from_edges(_lines([(X0, Y0), (X0 + 100, Y0)]), max_snap_m=200)
    node_d = net.distances_from(np.array([[X0, Y0]]))
    d = net.cell_distances(node_d, np.array([[X0 + 100, Y0 + 150], [X0 + 100, Y0 + 250]]))
    assert d[0] == pytest.approx(250) and np.isinf(d[1])
    # a facility beyond the snap limit reaches nothing
    assert np.isinf(net.distances_from(np.array([[X0, Y0 + 5000]]))).all()


def test_network_pairs_within():
    net = StreetNetwork.from_edges(_lines([(X0, Y0), (X0 + 1000, Y0)]))
    fac = np.array([[X0, Y0 + 10]])
    cells = np.array([[X0 + 400, Y0], [X0 + 600, Y0 + 20], [X0 + 900, Y0]])
    fi, ci, d = pairs_within(fac, cells, 650, network=net)
    order = np.argsort(ci)
    assert list(ci[order]) == [0, 1] and list(d[order]) == pytest.approx([410, 630])


def test_bad_detour_factor_and_network():
    with pytest.raises(InputError):
        check_detour_factor("fast")
    with pytest.raises(InputError):
        check_detour_factor(0.9)
    with pytest.raises(InputError, match="line features"):
        StreetNetwork.from_edges(gpd.GeoDataFrame(geometry=[shapely.Point(X0, Y0)], crs=25832))


def test_network_from_gpkg(tmp_path):
    path = tmp_path / "net.gpkg"
    _lines([(X0, Y0), (X0 + 500, Y0)]).to_file(path, engine="pyogrio")
    net = StreetNetwork.from_file(path)
    d = net.cell_distances(net.distances_from(np.array([[X0, Y0]])), np.array([[X0 + 500, Y0]]))
    assert d[0] == pytest.approx(500)
    with pytest.raises(InputError, match="not found"):
        StreetNetwork.from_file(tmp_path / "missing.gpkg")


def test_grid_stencil_pairs_equal_tree_pairs():
    """The stencil shortcut used by 2SFCA finds exactly the pairs a KD-tree finds (random grid)."""
    from affine import Affine

    from kkr_geo.geo.distance import grid_pairs_within
    from kkr_geo.geo.population import PopulationGrid
    rng = np.random.default_rng(7)
    vals = np.where(rng.random((60, 80)) < 0.5, rng.uniform(1, 10, (60, 80)), 0.0)
    grid = PopulationGrid(vals, Affine(100, 0, X0, 0, -100, Y0 + 6000))
    fac = np.column_stack([rng.uniform(X0 - 1000, X0 + 9000, 40), rng.uniform(Y0 - 1000, Y0 + 7000, 40)])
    c = grid.cell_centres()
    f1, c1, d1 = pairs_within(fac, c.xy, 750, detour_factor=1.3)
    f2, flat, d2 = grid_pairs_within(fac, grid, 750, detour_factor=1.3)
    a = sorted(zip(f1.tolist(), c.index[c1].tolist(), np.round(d1, 6).tolist()))
    b = sorted(zip(f2.tolist(), flat.tolist(), np.round(d2, 6).tolist()))
    assert len(a) > 100 and a == b
