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
import platformdirs
import shapely
from scipy import sparse

from kkr_geo.geo.errors import DataError
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
#: Dangling road ends this close to another road are joined to it (metres), see geo.network_build (10 m
#: changed the region's share beyond 600 m of a station by 0.4 percentage points: 3 m is kept).
NETWORK_JOIN_DANGLES_M = 3.0
#: Dangling ends of walking paths this close to a road or another path are joined to it (metres).
PATH_JOIN_DANGLES_M = 8.0
#: Dangling ends of joinable streets this close to another joinable street are linked to it unless the link
#: crosses a state road or a surface rail line (geo.network_build.DEFAULT_CLOSE_GAPS_M): 28,299 road ends meet
#: no other road, 6,300 of them stop 3–15 m short of one (measured on the development data; docs/analysis.md).
NETWORK_CLOSE_GAPS_M = 15.0
#: Rail systems of the rail-line layer that are surface tracks: no gap is closed across them, and a station on
#: them is reached from both sides (the Metro runs in tunnels or on viaducts).
RAIL_TRACK_SYSTEMS = ("S-tog", "Kystbanen", "lokal", "regional")
CACHE_VERSION = 6
PATHS_KEY = "gangveje"
#: OSM ways of the walking-path layer merged with the road centre lines (roads come from the road file).
PATH_HIGHWAYS = ("footway", "path", "pedestrian", "cycleway", "steps", "track", "living_street", "service", "bridleway")

catalog.register_dataset(catalog.Dataset(
    PATHS_KEY, "osm/gangveje_osm.geojson", "Walkable ways from OpenStreetMap: paths merged with the road centre lines",
    "OpenStreetMap contributors", "ODbL", "`kkr-geo data fetch gangveje`", "real", required=False))

_memory: dict[tuple, object] = {}


def roads_path(data_dir=None) -> Path | None:
    """The road file in the data directory, or None when it is absent."""
    dd = resolve_data_dir(data_dir)
    p = dd.file(catalog.DATASETS[ROADS_KEY].path)
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


def road_length_grid_weights(path: Path, shape, transform) -> np.ndarray:
    """Metres of residential road per cell of the frame ``(shape, transform)``, from the 100 m road-length
    grid (``befolkning/vejlaengde_100m.tif``, made by ``data/make_bundle.py`` with
    :func:`road_length_weights`' rule), read like any population raster
    (:meth:`~kkr_geo.geo.population.PopulationGrid.from_raster`): as is at 100 m, block sums at multiples
    of 100 m, area-weighted resampling otherwise."""
    from kkr_geo.geo.dasymetric import raster_on_grid
    from kkr_geo.geo.population import PopulationGrid
    grid = PopulationGrid.from_raster(path, cell_size=transform.a, source="vejlængde pr. 100 m-celle")
    return raster_on_grid(grid, shape, transform)


# --- the street network -------------------------------------------------------------------------

def network_cache_dir() -> Path:
    return Path(os.environ.get("KKR_GEO_CACHE") or platformdirs.user_cache_dir("kkr-geo", appauthor=False)) / "networks"


def _cache_file(path: Path, paths: Path | None = None, rail: Path | None = None) -> Path:
    extra = (*(_stamp(paths) if paths is not None else ()), *(_stamp(rail) if rail is not None and rail.exists() else ()))
    h = hashlib.blake2b(repr((*_stamp(path), *extra, NETWORK_DENSIFY_M, NETWORK_JOIN_DANGLES_M, PATH_JOIN_DANGLES_M,
                              NETWORK_CLOSE_GAPS_M, RAIL_TRACK_SYSTEMS, CACHE_VERSION)).encode(),
                        digest_size=12).hexdigest()
    return network_cache_dir() / f"{path.stem}-{h}.npz"


# --- walking paths (OSM) merged with the road centre lines ---------------------------------------------

def paths_file(data_dir=None) -> Path | None:
    """The walking-path layer (``kkr-geo data fetch gangveje``) in the data directory, or None."""
    dd = resolve_data_dir(data_dir)
    p = dd.path / catalog.DATASETS[PATHS_KEY].path
    return p if p.exists() else None


def path_lines(data_dir=None) -> gpd.GeoDataFrame | None:
    """The path-type ways of the walking-path layer (:data:`PATH_HIGHWAYS`) in EPSG:25832, or None.
    Roads in it (residential, tertiary, ...) are left out: the road centre lines have them."""
    p = paths_file(data_dir)
    if p is None:
        return None
    key = ("paths", *_stamp(p))
    if key not in _memory:
        from kkr_geo.geo.io import read_vector
        gdf = read_vector(p)
        gdf = gdf[np.isin(shapely.get_type_id(gdf.geometry.values), (1, 5))]
        if "highway" in gdf.columns:
            gdf = gdf[gdf["highway"].astype(str).isin(PATH_HIGHWAYS)]
        _memory[key] = gdf.reset_index(drop=True)
    return _memory[key]


def rail_tracks(data_dir=None) -> np.ndarray:
    """The surface rail lines (:data:`RAIL_TRACK_SYSTEMS` of the rail-line layer) in EPSG:25832: a gap of
    the road centre lines is not closed across them, and a station on them is reached from both sides.
    Empty when the layer is absent."""
    from kkr_geo.geo.crs import to_analysis_crs
    from kkr_geo.geo.io import read_vector
    dd = resolve_data_dir(data_dir)
    p = dd.file(catalog.DATASETS["banelinjer"].path)
    if not p.exists():
        return np.empty(0, dtype=object)
    rail = to_analysis_crs(read_vector(p), source=str(p))
    if "system" in rail.columns:
        rail = rail[rail["system"].astype(str).isin(RAIL_TRACK_SYSTEMS)]
    return np.asarray(rail.geometry.values, dtype=object)


def station_points(data_dir=None) -> np.ndarray:
    """The rail stations of the ``stationer`` layer as (k, 2) xy in EPSG:25832: places there are reached from
    both sides of the tracks (:meth:`kkr_geo.geo.distance.StreetNetwork.place_joins`). Empty when the layer
    cannot be loaded."""
    from kkr_geo.layers.registry import load_layer
    try:
        st = load_layer("stationer", data_dir)
    except DataError:
        return np.empty((0, 2))
    pts = st.geometry[st.geometry.geom_type == "Point"]
    return np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()]) if len(pts) else np.empty((0, 2))


def network_lines(data_dir=None) -> tuple[np.ndarray, dict, str | None]:
    """The lines of the walking network: road centre lines, plus the walking paths where the data
    directory has them. Returns ``(geometries, build options, paths description or None)``: state
    roads are grade-separated and not joinable; paths are joinable, cross roads at grade (except state
    roads) and their dangling ends join a road or path within :data:`PATH_JOIN_DANGLES_M` (OSM and
    GeoDanmark centre lines lie a few metres apart)."""
    roads = road_lines(data_dir)
    geoms = roads.geometry.values
    grade = roads["type"].isin(GRADE_SEPARATED).to_numpy() if "type" in roads.columns else np.zeros(len(roads), bool)
    tol = np.full(len(roads), NETWORK_JOIN_DANGLES_M)
    paths = path_lines(data_dir)
    desc = None
    if paths is not None and len(paths):
        geoms = np.concatenate([np.asarray(geoms, dtype=object), np.asarray(paths.geometry.values, dtype=object)])
        grade = np.concatenate([grade, np.zeros(len(paths), bool)])
        tol = np.concatenate([tol, np.full(len(paths), PATH_JOIN_DANGLES_M)])
        desc = f"{len(paths):,} stier fra OpenStreetMap ({catalog.DATASETS[PATHS_KEY].path})"
    return geoms, {"grade_separated": grade, "snappable": ~grade, "join_dangles_m": tol,
                   "close_gaps_m": NETWORK_CLOSE_GAPS_M, "tracks": rail_tracks(data_dir)}, desc


def street_network(data_dir=None, *, use_disk_cache: bool = True, log=None):
    """The region's StreetNetwork from the road file, from memory, the disk cache, or built anew."""
    from kkr_geo.geo.distance import StreetNetwork
    dd = resolve_data_dir(data_dir)
    path = catalog.require(dd, ROADS_KEY, layer="vejnet (network distance)")
    key = ("network", *_stamp(path))
    if key in _memory:
        return _memory[key]
    paths = paths_file(dd)
    key = (*key, *(_stamp(paths) if paths is not None else ()))
    if key in _memory:
        return _memory[key]
    source = f"vejnet: {path.name} (vejmidter, GeoDanmark/RIDA 2024)"
    paths_desc = None
    if paths is not None:
        source += f" + stier: {paths.name} (OpenStreetMap, ODbL)"
        paths_desc = "stier fra OpenStreetMap"
    cache = _cache_file(path, paths, dd.file(catalog.DATASETS["banelinjer"].path))
    net = None
    if use_disk_cache and cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as z:
                g = sparse.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
                net = StreetNetwork(xy=z["xy"], graph=g, source=source, snap_edges=z["snap_edges"],
                                    snap_lengths=z["snap_lengths"], paths=paths_desc, tracks=rail_tracks(dd))
        except (OSError, ValueError, KeyError):
            net = None  # a damaged cache file is rebuilt below
    if net is None:
        from kkr_geo.geo.network_build import build_street_network
        geoms, options, desc = network_lines(dd)
        net = build_street_network(geoms, source=source, densify_m=NETWORK_DENSIFY_M, **options)
        net.paths = paths_desc if desc else None
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
    net.stations = station_points(dd)   # stations are reached from both sides of the tracks
    _memory[key] = net
    return net


def has_roads(data_dir=None) -> bool:
    try:
        return roads_path(data_dir) is not None
    except DataError:
        return False

