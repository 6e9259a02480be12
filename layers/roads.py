"""The region's road centre lines (``vejnet/vejmidter_region_hovedstaden.gpkg``): a street network for
walking/cycling distances and a road-length weight layer for the population surface.

The road file is read from the data directory only (its licence is unconfirmed: never copy it into
the project). Building the :class:`~kkr_geo.geo.distance.StreetNetwork` of the whole region takes a
few seconds; it is kept in memory for the process and on disk in the user cache
(``<user cache>/kkr-geo/networks/``), keyed by the file's path, size and modification time, so a
changed road file is rebuilt and a stale cache is never used.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import platformdirs
import shapely
from scipy import sparse

from kkr_geo.geo.errors import DataError, InputError
from kkr_geo.layers import catalog
from kkr_geo.layers.datadir import resolve_data_dir

ROADS_KEY = "vejmidter"
#: Road types that carry no homes along them (motorways and trunk roads): left out of the road-length weight.
NOT_RESIDENTIAL = ("Off. statsvej",)
#: Road types whose crossings with other roads are taken as bridges or tunnels (motorways and trunk roads are
#: state roads), and which homes and places do not join (a home beside a motorway joins the street behind it).
#: Every other crossing without a shared vertex is an at-grade junction.
GRADE_SEPARATED = ("Off. statsvej",)
#: Densification of the network (metres): points snap to the street beside them (error ≤ half this).
NETWORK_DENSIFY_M = 50.0
CACHE_VERSION = 4

_memory: dict[tuple, object] = {}


def roads_path(data_dir=None) -> Path | None:
    """The road file in the data directory, or None when it is absent."""
    dd = resolve_data_dir(data_dir)
    p = dd.path / catalog.DATASETS[ROADS_KEY].path
    return p if p.exists() else None


def _stamp(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def road_lines(data_dir=None) -> gpd.GeoDataFrame:
    """The road centre lines (EPSG:25832) with ``type`` and ``komkode``; DataError when absent."""
    dd = resolve_data_dir(data_dir)
    path = catalog.require(dd, ROADS_KEY, layer="vejnet")
    key = ("lines", *_stamp(path))
    if key not in _memory:
        from kkr_geo.geo.io import read_vector
        gdf = read_vector(path)
        types = shapely.get_type_id(gdf.geometry.values)
        if not np.isin(types, (1, 5)).all():
            i = int(np.flatnonzero(~np.isin(types, (1, 5)))[0])
            raise DataError(f"{path}: feature {gdf.index[i]!r} is not a line ({gdf.geometry.values[i].geom_type}).",
                            hint="the road file must hold road centre lines (LineStrings).")
        gdf.attrs["source"] = "Vejmidter (GeoDanmark/RIDA, 2024)"
        _memory[key] = gdf
    return _memory[key]


def road_length_weights(data_dir, shape, transform) -> np.ndarray:
    """Metres of residential road (all types but :data:`NOT_RESIDENTIAL`) per cell."""
    from kkr_geo.geo.dasymetric import line_length_per_cell
    roads = road_lines(data_dir)
    if "type" in roads.columns:
        roads = roads[~roads["type"].isin(NOT_RESIDENTIAL)]
    return line_length_per_cell(roads.geometry.values, shape, transform)


# --- the street network -------------------------------------------------------------------------

def network_cache_dir() -> Path:
    return Path(os.environ.get("KKR_GEO_CACHE") or platformdirs.user_cache_dir("kkr-geo", appauthor=False)) / "networks"


def _cache_file(path: Path) -> Path:
    h = hashlib.blake2b(repr((*_stamp(path), NETWORK_DENSIFY_M, CACHE_VERSION)).encode(), digest_size=12).hexdigest()
    return network_cache_dir() / f"{path.stem}-{h}.npz"


def street_network(data_dir=None, *, use_disk_cache: bool = True, log=None):
    """The region's StreetNetwork from the road file, from memory, the disk cache, or built anew."""
    from kkr_geo.geo.distance import StreetNetwork
    dd = resolve_data_dir(data_dir)
    path = catalog.require(dd, ROADS_KEY, layer="vejnet (network distance)")
    key = ("network", *_stamp(path))
    if key in _memory:
        return _memory[key]
    source = f"vejnet: {path.name} (vejmidter, GeoDanmark/RIDA 2024)"
    cache = _cache_file(path)
    net = None
    if use_disk_cache and cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as z:
                g = sparse.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
                net = StreetNetwork(xy=z["xy"], graph=g, source=source, snap_edges=z["snap_edges"],
                                    snap_lengths=z["snap_lengths"])
        except (OSError, ValueError, KeyError):
            net = None  # a damaged cache file is rebuilt below
    if net is None:
        from kkr_geo.geo.network_build import build_street_network
        lines = road_lines(dd)
        grade = lines["type"].isin(GRADE_SEPARATED).to_numpy() if "type" in lines.columns else None
        net = build_street_network(lines.geometry.values, source=source, densify_m=NETWORK_DENSIFY_M,
                                   grade_separated=grade, snappable=None if grade is None else ~grade)
        if use_disk_cache:
            try:
                cache.parent.mkdir(parents=True, exist_ok=True)
                tmp = cache.with_name(cache.name + f".{os.getpid()}.part.npz")
                g = net.graph.tocsr()
                np.savez(tmp, xy=net.xy, data=g.data, indices=g.indices, indptr=g.indptr, shape=np.array(g.shape),
                         snap_edges=net.snap_edges, snap_lengths=net.snap_lengths)
                os.replace(tmp, cache)
            except OSError as exc:  # a read-only cache only costs time
                if log:
                    log(f"network cache not written ({exc})")
    _memory[key] = net
    return net


def has_roads(data_dir=None) -> bool:
    try:
        return roads_path(data_dir) is not None
    except DataError:
        return False


# --- measured detour factors ---------------------------------------------------------------------

def measured_detour_factors(network, kommuner: gpd.GeoDataFrame, *, name_column: str = "navn", pairs: int = 60,
                            min_m: float = 400.0, max_m: float = 1600.0, seed: int = 12) -> pd.DataFrame:
    """Network ÷ straight-line distance between random pairs of network nodes in each kommune.

    For each kommune ``pairs`` origin nodes are drawn inside it; each gets a destination node
    ``min_m``–``max_m`` away in a straight line (the walking/cycling range of the catchments). The
    ratio of the shortest path to the straight line is summarised as median and mean; pairs with no
    route within 2.5 × ``max_m`` (different network pieces, or a route longer than that) are left out and
    counted as ``unreachable``. Reproducible (fixed ``seed``). The road data has no footpaths
    through parks, so for walking these are upper estimates.
    """
    from scipy.sparse import csgraph
    from scipy.spatial import cKDTree
    from kkr_geo.geo.crs import to_analysis_crs
    if name_column not in kommuner.columns:
        raise InputError(f"kommuner: no column {name_column!r}.", hint="pass name_column=.")
    kommuner = to_analysis_crs(kommuner, source="kommuner")
    rng = np.random.default_rng(seed)
    tree = cKDTree(network.xy)
    rows = []
    for name, geom in zip(kommuner[name_column].astype(str), kommuner.geometry.values):
        if geom is not None:
            shapely.prepare(geom)
            x0, y0, x1, y1 = shapely.bounds(geom)
            box = np.flatnonzero((network.xy[:, 0] >= x0) & (network.xy[:, 0] <= x1)
                                 & (network.xy[:, 1] >= y0) & (network.xy[:, 1] <= y1))
            inside = box[shapely.contains_xy(geom, network.xy[box, 0], network.xy[box, 1])]
        else:
            inside = []
        if len(inside) < 2:
            rows.append({name_column: name, "pairs": 0, "unreachable": 0, "detour_median": np.nan, "detour_mean": np.nan})
            continue
        origins = rng.choice(inside, size=min(pairs, len(inside)), replace=False)
        dest = np.full(len(origins), -1)
        for k, o in enumerate(origins):
            cand = np.array(tree.query_ball_point(network.xy[o], max_m))
            if len(cand) == 0:
                continue
            dd = np.hypot(*(network.xy[cand] - network.xy[o]).T)
            cand = cand[(dd >= min_m) & shapely.contains_xy(geom, *network.xy[cand].T)]
            if len(cand):
                dest[k] = rng.choice(cand)
        ok = dest >= 0
        o, d = origins[ok], dest[ok]
        if len(o) == 0:
            rows.append({name_column: name, "pairs": 0, "unreachable": 0, "detour_median": np.nan, "detour_mean": np.nan})
            continue
        # shortest paths on the part of the network near the kommune (a route longer than
        # `limit` cannot leave a box grown by `limit / 2` around it)
        limit = max_m * 2.5
        x0, y0, x1, y1 = shapely.bounds(geom)
        m = limit / 2
        local = np.flatnonzero((network.xy[:, 0] >= x0 - m) & (network.xy[:, 0] <= x1 + m)
                               & (network.xy[:, 1] >= y0 - m) & (network.xy[:, 1] <= y1 + m))
        pos = np.full(network.n_nodes, -1)
        pos[local] = np.arange(len(local))
        sub = network.graph[local][:, local]
        dist = csgraph.dijkstra(sub, directed=False, indices=pos[o], limit=limit)
        net_d = dist[np.arange(len(o)), pos[d]]
        straight = np.hypot(*(network.xy[d] - network.xy[o]).T)
        reach = np.isfinite(net_d)
        ratio = net_d[reach] / straight[reach]
        rows.append({name_column: name, "pairs": int(reach.sum()), "unreachable": int((~reach).sum()),
                     "detour_median": float(np.median(ratio)) if len(ratio) else np.nan,
                     "detour_mean": float(np.mean(ratio)) if len(ratio) else np.nan})
    return pd.DataFrame(rows)
