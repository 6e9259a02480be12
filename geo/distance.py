"""Distances between population cells and facilities: Euclidean × detour factor, or a street network.

Two distance methods, and every analysis result says which one it used in ``meta['distance_method']``:

``euclidean × detour``
    Straight-line distance multiplied by a *detour factor* (also called circuity or route factor).
    A distance threshold ``d`` therefore becomes a straight-line radius ``d / detour_factor``.
    The default, :data:`DEFAULT_DETOUR_FACTOR` = 1.3, is the usual planning value for walking and
    cycling on a connected urban street grid. Basis: Levinson & El-Geneidy (2009), "The minimum
    circuity frontier and the journey to work", *Regional Science and Urban Economics* 39(6)
    (mean network/Euclidean ratio ≈ 1.2–1.3 for trips in US metro areas); Giacomin & Levinson
    (2015), "Road network circuity in metropolitan areas", *Environment and Planning B* 42(6)
    (≈ 1.2–1.4, higher for short trips); Boeing (2019), "Urban spatial order", *Applied Network
    Science* 4:67 (median street circuity ≈ 1.05–1.2 for edges, higher for routes). Danish towns
    with dense, permeable street grids sit at the low end, suburban cul-de-sac estates at the high
    end, so 1.3 is a deliberately cautious middle. Pass ``detour_factor=1.0`` for pure
    crow-flies distance.

``network``
    Shortest path on a user-supplied street network (:class:`StreetNetwork`, built from a GeoPackage
    of edges or an OSM extract, or by :func:`kkr_geo.geo.network_build.build_street_network`).
    Facilities and cell centres join the network at the nearest point of the nearest joinable edge
    (:meth:`StreetNetwork.locate`, :meth:`StreetNetwork.joins`); the access leg is added once as
    straight-line distance. Cells farther than ``max_snap_m`` (places: :data:`PLACE_MAX_SNAP_M`) from
    every joinable edge are *unreachable* (distance ``inf``), and nodes in disconnected
    components (e.g. Bornholm's streets, which are not joined to Zealand's) cannot reach each other:
    a clinic on Bornholm is never the "nearest" clinic of a Copenhagen cell across the sea, and a
    Bornholm cell without a Bornholm clinic is reported as unreachable rather than 150 km away.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from kkr_geo.geo.errors import InputError

#: Default detour factor for walking and cycling (see module docstring for the basis).
DEFAULT_DETOUR_FACTOR = 1.3
#: Default maximum snap distance from a cell centre to the street network, metres.
DEFAULT_MAX_SNAP_M = 500.0
#: A place (facility, stop, station) may lie this far from a street (a new station whose access road is not
#: in the data yet); a place more than :data:`PLACE_FAR_M` from every street is reported.
PLACE_MAX_SNAP_M = 1500.0
PLACE_FAR_M = 150.0
#: Besides the nearest segment, a point joins every segment at most this much farther away (metres):
#: a station between two streets is reached from both, a cell centre stands for its whole 100 m cell.
JOIN_WITHIN_M = 40.0
#: A place (a station with entrances on both sides of the tracks, a stop on either side of the road) joins
#: every other street whose nearest point lies at most this much farther away than the nearest street.
PLACE_JOIN_WITHIN_M = 100.0
#: A place at one of the network's ``stations`` (within :data:`STATION_MATCH_M`) and within
#: :data:`PLACE_ON_TRACKS_M` of its ``tracks`` (surface rail lines) also joins the nearest street on *each* side
#: of the tracks up to :data:`PLACE_SIDE_MAX_M` away: stations are as a rule reached from both sides (a tunnel,
#: a bridge, a level crossing). A street whose nearest point lies within :data:`PLACE_SIDE_MARGIN_M` of the
#: track line is in the rail corridor (a road ending at the station; a two-track line with its platforms is
#: about 20–25 m wide) and shows no side. Other places (a clinic beside the railway) get no side joins.
STATION_MATCH_M = 5.0
PLACE_ON_TRACKS_M = 60.0
PLACE_SIDE_MAX_M = 250.0
PLACE_SIDE_MARGIN_M = 20.0


def describe_method(network: StreetNetwork | None, detour_factor) -> dict:
    """The distance part of a result's ``meta``."""
    from kkr_geo.geo.detour import AreaDetourFactors
    if network is None and isinstance(detour_factor, AreaDetourFactors):
        return detour_factor.describe()
    if network is None:
        return {
            "distance_method": f"euclidean × detour factor {detour_factor:g}",
            "detour_factor": float(detour_factor),
            "network": None,
        }
    return {
        "distance_method": "network shortest path",
        "detour_factor": None,
        "network": network.source,
        "network_paths": network.paths,
        "network_lacks": ("footpaths, park paths and pedestrian bridges (road centre lines only): distances are upper "
                          "estimates" if not network.paths else
                          "paths only where OpenStreetMap has them (coverage varies); no level (bridge/tunnel) data"),
        "max_snap_m": network.max_snap_m,
    }


def check_detour_factor(detour_factor) -> Any:
    """A detour factor ≥ 1 as a float, or a :class:`~kkr_geo.geo.detour.AreaDetourFactors` (one per area)
    as it is."""
    from kkr_geo.geo.detour import AreaDetourFactors
    if isinstance(detour_factor, AreaDetourFactors):
        return detour_factor
    try:
        f = float(detour_factor)
    except (TypeError, ValueError):
        raise InputError(f"detour factor {detour_factor!r} is not a number.",
                         hint="use e.g. 1.3, or 1.0 for straight lines.") from None
    if not np.isfinite(f) or f < 1.0:
        raise InputError(f"detour factor {detour_factor!r} must be ≥ 1 (a route is never shorter than a straight line).",
                         hint="use e.g. 1.3 for walking/cycling, or 1.0 for straight lines.")
    return f


def geometry_anchor_points(geoms, spacing_m: float = 25.0) -> tuple[np.ndarray, np.ndarray]:
    """Points representing each geometry for snapping to a network: points as they are, lines
    densified to vertices every ``spacing_m``, polygons by their boundary. Returns ``(xy, owner)``
    where ``owner`` is the position of the geometry each point came from."""
    geoms = np.asarray(geoms, dtype=object)
    xy_parts, owner_parts = [], []
    for i, g in enumerate(geoms):
        if g is None or g.is_empty:
            continue
        if g.geom_type in ("Polygon", "MultiPolygon"):
            g = g.boundary
        if g.geom_type in ("LineString", "MultiLineString", "LinearRing"):
            g = shapely.segmentize(g, spacing_m)
        c = shapely.get_coordinates(g)
        xy_parts.append(c)
        owner_parts.append(np.full(len(c), i))
    if not xy_parts:
        return np.empty((0, 2)), np.empty(0, dtype=int)
    return np.vstack(xy_parts), np.concatenate(owner_parts)


def network_vertices(geoms, *, source: str, densify_m: float | None) -> tuple[np.ndarray, np.ndarray]:
    """The vertices of a street network's line features (densified every ``densify_m`` metres) and the
    index of the single-part line each belongs to; a clear error for non-line or empty input."""
    geoms = np.asarray(getattr(geoms, "values", geoms), dtype=object)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))] if len(geoms) else geoms
    if len(geoms) == 0 or not np.isin(shapely.get_type_id(geoms), (1, 5)).all():
        raise InputError(f"{source}: a street network must consist of line features (found {len(geoms)} usable).",
                         hint="supply the network's edges as LineStrings (e.g. an OSM extract's 'lines' layer).")
    parts = shapely.get_parts(geoms)
    if densify_m:
        parts = shapely.segmentize(parts, densify_m)
    coords, line_idx = shapely.get_coordinates(parts, return_index=True)
    if len(coords) < 2:
        raise InputError(f"{source}: the network has no edges.", hint="supply a non-empty network.")
    return coords, line_idx


@dataclass
class StreetNetwork:
    """An undirected street graph: node coordinates and a sparse matrix of edge lengths (metres).

    Build it with :meth:`from_edges` (a GeoDataFrame of line features, e.g. an OSM extract's
    ``lines`` layer or a GeoPackage of road centre lines) or :meth:`from_file`. Lines are split at
    every vertex, and vertices shared by two lines (within ``tolerance_m``) become one node, so OSM
    ways that cross at a shared node are connected; lines that merely cross without a shared vertex
    (bridges, tunnels) are not. :func:`kkr_geo.geo.network_build.build_street_network` builds one from
    road centre lines that are not noded (crossings, T-junctions, motorways, stranded pieces).
    """

    xy: np.ndarray
    graph: sparse.csr_matrix
    source: str = "network"
    max_snap_m: float = DEFAULT_MAX_SNAP_M
    #: (m, 2) node pairs of the road segments places may join, and their lengths; None: every edge
    snap_edges: np.ndarray | None = None
    snap_lengths: np.ndarray | None = None
    #: what was merged besides the roads (e.g. "stier fra OpenStreetMap"); None: roads only, no footpaths
    paths: str | None = None
    #: surface rail lines (EPSG:25832 line geometries) and the stations on them ((k, 2) xy): a place at a
    #: station is reached from both sides of the tracks (:meth:`place_joins`); None: not known
    tracks: np.ndarray | None = None
    stations: np.ndarray | None = None
    _tree: cKDTree | None = field(default=None, repr=False)
    _seg_tree: shapely.STRtree | None = field(default=None, repr=False)
    _seg: tuple | None = field(default=None, repr=False)
    _join_cache: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _end_tree: cKDTree | None = field(default=None, repr=False)
    _end_nodes: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_nodes(self) -> int:
        return len(self.xy)

    @property
    def tree(self) -> cKDTree:
        if self._tree is None:
            self._tree = cKDTree(self.xy)
        return self._tree

    @classmethod
    def from_edges(cls, edges: gpd.GeoDataFrame, *, source: str = "network", tolerance_m: float = 0.5,
                   max_snap_m: float = DEFAULT_MAX_SNAP_M, densify_m: float | None = 50.0) -> StreetNetwork:
        """Graph from line features. Edges are densified to a vertex every ``densify_m`` metres so
        that points snap to the street next to them, not only to its far-away end nodes (snap error
        ≤ ``densify_m / 2``); ``None`` keeps the original vertices."""
        if edges.crs is not None:
            from kkr_geo.geo.crs import to_analysis_crs
            edges = to_analysis_crs(edges, source=source)
        coords, line_idx = network_vertices(edges.geometry.values, source=source, densify_m=densify_m)
        key = np.round(coords / tolerance_m).astype(np.int64)
        uniq, node = np.unique(key, axis=0, return_inverse=True)
        node = node.ravel()
        # node coordinates: first occurrence
        first = np.full(len(uniq), -1)
        first[node[::-1]] = np.arange(len(node))[::-1]
        xy = coords[first]
        same_line = line_idx[1:] == line_idx[:-1]
        a, b = node[:-1][same_line], node[1:][same_line]
        w = np.hypot(*(coords[1:][same_line] - coords[:-1][same_line]).T)
        keep = a != b
        a, b, w = a[keep], b[keep], w[keep]
        n = len(xy)
        # parallel edges: keep the shortest (a plain sparse sum would add their lengths)
        g = _min_duplicates(np.concatenate([a, b]), np.concatenate([b, a]), np.concatenate([w, w]), n)
        return cls(xy=xy, graph=g, source=source, max_snap_m=max_snap_m)

    @classmethod
    def from_file(cls, path: str | os.PathLike, *, layer: str | None = None, max_snap_m: float = DEFAULT_MAX_SNAP_M,
                  densify_m: float | None = 50.0) -> StreetNetwork:
        """Read a network from a GeoPackage/GeoJSON/Shapefile of edges, or an OSM extract
        (``.osm``/``.pbf``: the ``lines`` layer, features with a ``highway`` tag)."""
        from kkr_geo.geo.io import read_vector
        path = Path(path)
        if not path.exists():
            raise InputError(f"{path}: network file not found.", hint="check the --network path.")
        if path.suffix.lower() in (".pbf", ".osm"):
            try:
                gdf = gpd.read_file(path, layer=layer or "lines", engine="pyogrio")
            except Exception as exc:  # pyogrio raises several types for bad OSM files
                raise InputError(f"{path}: cannot be read as an OSM extract ({exc}).",
                                 hint="export the network as a GeoPackage of LineStrings instead.") from None
            if "highway" in gdf.columns:
                gdf = gdf[gdf["highway"].notna()]
            from kkr_geo.geo.crs import to_analysis_crs
            gdf = to_analysis_crs(gdf, source=str(path))
        else:
            gdf = read_vector(path, layer=layer)
        return cls.from_edges(gdf, source=str(path), max_snap_m=max_snap_m, densify_m=densify_m)

    def _segments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The joinable segments ``(a, b, length)``: the builder's road segments, or every edge."""
        if self._seg is None:
            if self.snap_edges is not None and self.snap_lengths is not None and len(self.snap_edges):
                a, b = self.snap_edges[:, 0], self.snap_edges[:, 1]
                w = np.asarray(self.snap_lengths, dtype=float)
            else:
                g = sparse.triu(self.graph, k=1).tocoo()
                a, b, w = g.row.astype(np.int64), g.col.astype(np.int64), g.data.astype(float)
            self._seg = (a, b, w)
        return self._seg

    @property
    def segment_tree(self) -> shapely.STRtree:
        if self._seg_tree is None:
            a, b, _ = self._segments()
            lines = shapely.linestrings(np.stack([self.xy[a], self.xy[b]], axis=1))
            self._seg_tree = shapely.STRtree(lines)
        return self._seg_tree

    # --- joining the network and shortest paths --------------------------------------------

    def locate(self, xy: np.ndarray, *, max_snap_m: float | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Where each point joins the network: the nearest point of the nearest joinable segment.

        Returns ``(a, b, to_a, to_b, leg)``: the segment's end nodes, the route metres from the foot
        point to each end along the segment, and the straight access leg from the point to the
        foot. Points farther than ``max_snap_m`` (default: the network's) from every joinable
        segment get ``a = b = -1``, ``leg = inf``."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        n = len(xy)
        a_out, b_out = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
        ta, tb, leg = np.full(n, np.inf), np.full(n, np.inf), np.full(n, np.inf)
        sa, sb, sw = self._segments()
        if n == 0 or len(sa) == 0:
            return a_out, b_out, ta, tb, leg
        limit = self.max_snap_m if max_snap_m is None else max_snap_m
        # the nearest end node of a joinable segment bounds the nearest segment's distance: a tight
        # search radius per point makes the tree query several times faster than a fixed limit
        if self._end_tree is None:
            is_end = np.zeros(self.n_nodes, bool)
            is_end[sa] = True
            is_end[sb] = True
            self._end_nodes = np.flatnonzero(is_end)
            self._end_tree = cKDTree(self.xy[self._end_nodes])
        bound, _ = self._end_tree.query(xy, k=1)
        bound = np.minimum(bound * (1 + 1e-9) + 1e-6, limit)
        pi, si = _nearest_within(self.segment_tree, xy, bound)
        a_out[pi], b_out[pi], ta[pi], tb[pi], leg[pi] = self._foot(xy[pi], si)
        return a_out, b_out, ta, tb, leg

    def _foot(self, pts: np.ndarray, si: np.ndarray):
        sa, sb, sw = self._segments()
        p0, p1 = self.xy[sa[si]], self.xy[sb[si]]
        seg = p1 - p0
        L2 = np.einsum("ij,ij->i", seg, seg)
        t = np.clip(np.einsum("ij,ij->i", pts - p0, seg) / np.where(L2 > 0, L2, 1.0), 0.0, 1.0)
        foot = p0 + seg * t[:, None]
        return sa[si], sb[si], t * sw[si], (1.0 - t) * sw[si], np.hypot(*(pts - foot).T)

    def joins(self, xy: np.ndarray, *, max_snap_m: float | None = None, within_m: float | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every way a point joins the network: the nearest joinable segment (:meth:`locate`) and each
        other joinable segment whose nearest point lies at most ``within_m`` (default
        :data:`JOIN_WITHIN_M`) farther away. A station between two streets, or a cell whose
        centre lies between a back street and a railway, is reached from both sides.

        Returns ``(point, a, b, to_a, to_b, leg)``, one row per join, sorted by point."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        within = JOIN_WITHIN_M if within_m is None else within_m
        a, b, ta, tb, leg = self.locate(xy, max_snap_m=max_snap_m)
        ok = np.flatnonzero(a >= 0)
        if within <= 0 or len(ok) == 0:
            return ok, a[ok], b[ok], ta[ok], tb[ok], leg[ok]
        pi, si = self.segment_tree.query(shapely.points(xy[ok]), predicate="dwithin", distance=leg[ok] + within)
        pts = ok[pi]
        ja, jb, jta, jtb, jleg = self._foot(xy[pts], si)
        # other streets only: a perpendicular foot inside the segment (a neighbouring piece of the nearest
        # street has its foot at a clipped end, and a diagonal leg to it would cut the corner)
        primary = ((ja == a[pts]) & (jb == b[pts])) | ((ja == b[pts]) & (jb == a[pts]))
        keep = (jleg <= leg[pts] + within) & (jta > 1e-9) & (jtb > 1e-9) & ~primary
        p_all = np.concatenate([ok, pts[keep]])
        order = np.argsort(p_all, kind="stable")
        return (p_all[order], np.concatenate([a[ok], ja[keep]])[order], np.concatenate([b[ok], jb[keep]])[order],
                np.concatenate([ta[ok], jta[keep]])[order], np.concatenate([tb[ok], jtb[keep]])[order],
                np.concatenate([leg[ok], jleg[keep]])[order])

    def snap(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node and snap distance for each point; node -1 and distance inf beyond ``max_snap_m``."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        if len(xy) == 0:
            return np.empty(0, dtype=np.int64), np.empty(0)
        d, i = self.tree.query(xy, k=1, distance_upper_bound=self.max_snap_m)
        far = ~np.isfinite(d)
        i = np.where(far, -1, i).astype(np.int64)
        return i, d

    def distances_from(self, source_xy: np.ndarray, limit: float = np.inf) -> np.ndarray:
        """Network distance from the nearest of ``source_xy`` to every node (multi-source Dijkstra).
        Each source joins the network where :meth:`joins` says (places may lie up to
        :data:`PLACE_MAX_SNAP_M` from a street, see :meth:`place_joins`); its access leg and the metres
        along the joined segment to the segment's two ends are the start offsets. ``inf`` = not
        reachable within ``limit``."""
        _, a, b, ta, tb, leg = self.place_joins(source_xy)
        if len(a) == 0:
            return np.full(self.n_nodes, np.inf)
        start = np.full(self.n_nodes, np.inf)
        np.minimum.at(start, a, leg + ta)
        np.minimum.at(start, b, leg + tb)
        return self._multi_source(start, limit)

    def place_joins(self, xy: np.ndarray):
        """:meth:`joins` for places (facilities, stops): up to :data:`PLACE_MAX_SNAP_M` from a street; a place
        at one of the network's ``stations`` on its ``tracks`` also joins the nearest street on each side of
        them (:data:`PLACE_ON_TRACKS_M`, :data:`PLACE_SIDE_MAX_M`, :data:`PLACE_SIDE_MARGIN_M`)."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        stations = self.stations if self.tracks is not None and len(self.tracks) > 0 else None
        if stations is not None and len(stations) == 0:
            stations = None
        sides = stations is not None

        def compute():
            hit = self.joins(xy, max_snap_m=max(self.max_snap_m, PLACE_MAX_SNAP_M), within_m=PLACE_JOIN_WITHIN_M)
            return _with_side_joins(self, xy, hit) if sides and len(xy) else hit
        return self._remember((coordinates_key(xy), "place", coordinates_key(stations) if stations is not None else None),
                              compute)

    def _multi_source(self, start: np.ndarray, limit: float) -> np.ndarray:
        # A virtual super-source joined to each start node by its start offset.
        n = self.n_nodes
        src = np.flatnonzero(np.isfinite(start))
        w = start[src] + 1e-9  # explicit zeros would be dropped by some sparse operations
        g = _with_virtual_rows(self.graph, np.zeros(len(src), dtype=np.int64), src, w, 1)
        d = csgraph.dijkstra(g, directed=True, indices=n, limit=limit)
        return d[:n] - 1e-9

    def cached_joins(self, xy: np.ndarray, *, max_snap_m: float | None = None, within_m: float | None = None):
        """:meth:`joins` of a point set, remembered by the content hash of its coordinates (a grid's
        populated cell centres are joined once per network, not once per query; 8 sets are kept)."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        return self._remember((coordinates_key(xy), max_snap_m, within_m),
                              lambda: self.joins(xy, max_snap_m=max_snap_m, within_m=within_m))

    def _remember(self, key, compute):
        """``compute()``'s joins, kept under ``key`` (the 8 most recently used sets are kept)."""
        hit = self._join_cache.get(key)
        if hit is None:
            hit = compute()
            self._join_cache[key] = hit
            while len(self._join_cache) > 8:
                self._join_cache.popitem(last=False)
        else:
            self._join_cache.move_to_end(key)
        return hit

    def cell_distances(self, node_dist: np.ndarray, cell_xy: np.ndarray, source_xy: np.ndarray | None = None,
                       subset: np.ndarray | None = None) -> np.ndarray:
        """Distance of each point (cell centre), given the node distances from :meth:`distances_from`:
        the point joins the network where :meth:`joins` says; distance = the best join's access leg
        (counted once) + metres along its segment to the better end + that end's node distance.
        With ``source_xy`` (the sources of ``node_dist``), a point and a source on the same segment
        also reach each other directly along it. The joins of ``cell_xy`` are cached
        (:meth:`cached_joins`); ``subset`` (positions) limits the answer to those points."""
        cell_xy = np.asarray(cell_xy, dtype=float).reshape(-1, 2)
        pi, a, b, ta, tb, leg = self.cached_joins(cell_xy)
        out = np.full(len(cell_xy), np.inf)
        if subset is not None:
            # only the points of ``subset`` (positions): the others stay inf
            wanted = np.zeros(len(cell_xy), bool)
            wanted[subset] = True
            rows = wanted[pi]
            pi, a, b, ta, tb, leg = pi[rows], a[rows], b[rows], ta[rows], tb[rows], leg[rows]
        if len(pi) == 0:
            return out
        np.minimum.at(out, pi, np.minimum(node_dist[a] + ta, node_dist[b] + tb) + leg)
        if source_xy is not None:
            _, sa, sb, sta, stb, sleg = self.place_joins(source_xy)
            if len(sa):
                same = _same_segment(a, b, ta, tb, leg, sa, sb, sta, stb, sleg, per_source=True)
                if same is not None:
                    np.minimum.at(out, pi[same[1]], same[2])
        return out

    def pairs_within(self, fac_xy: np.ndarray, cell_xy: np.ndarray, limit: float, chunk: int = 64
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All (facility, cell, distance) triples with network distance ≤ ``limit`` (both ends join
        the network as in :meth:`distances_from` and :meth:`cell_distances`)."""
        fac_xy = np.asarray(fac_xy, dtype=float).reshape(-1, 2)
        cell_xy = np.asarray(cell_xy, dtype=float).reshape(-1, 2)
        fp, fa, fb, fta, ftb, fleg = self.place_joins(fac_xy)
        cp, ca, cb, cta, ctb, cleg = self.cached_joins(cell_xy)
        n = self.n_nodes
        facs = np.unique(fp)
        # the cells' joins indexed by end node: every (facility, node) reached expands to the joins at that node
        n_j = len(cp)
        ends = np.concatenate([ca, cb])
        along = np.concatenate([cta, ctb])
        jrow = np.concatenate([np.arange(n_j), np.arange(n_j)])
        order = np.argsort(ends, kind="stable")
        ends, along, jrow = ends[order], along[order], jrow[order]
        end_nodes = ends[np.r_[True, ends[1:] != ends[:-1]]] if len(ends) else ends
        fi_all, ci_all, d_all = [], [], []
        for s in range(0, len(facs), chunk):
            fs = facs[s:s + chunk]
            k = len(fs)
            pos = np.searchsorted(fs, fp)
            rows_m = (pos < k) & (fs[np.minimum(pos, k - 1)] == fp)
            r = pos[rows_m]
            # one virtual node per facility, joined to the two ends of each of its joined segments
            rows = np.concatenate([r, r])
            cols = np.concatenate([fa[rows_m], fb[rows_m]])
            w = np.concatenate([fleg[rows_m] + fta[rows_m], fleg[rows_m] + ftb[rows_m]]) + 1e-9
            g = _with_virtual_rows(self.graph, rows, cols, w, k)
            d = csgraph.dijkstra(g, directed=True, indices=np.arange(n, n + k), limit=limit)[:, :n] - 1e-9
            d = d[:, end_nodes]  # only nodes that some cell joins matter
            fr, ui = np.nonzero(np.isfinite(d))
            dv, nd = d[fr, ui], end_nodes[ui]
            lo = np.searchsorted(ends, nd, side="left")
            cnt = np.searchsorted(ends, nd, side="right") - lo
            total = int(cnt.sum())
            at = np.repeat(lo - (np.cumsum(cnt) - cnt), cnt) + np.arange(total)
            f_loc = np.repeat(fr, cnt)
            j = jrow[at]
            dist = np.repeat(dv, cnt) + along[at] + cleg[j]
            same = _same_segment(ca, cb, cta, ctb, cleg, fa[rows_m], fb[rows_m], fta[rows_m], ftb[rows_m],
                                 fleg[rows_m], per_source=True)
            if same is not None:
                sj, si, sv = same
                f_loc, j, dist = np.concatenate([f_loc, r[sj]]), np.concatenate([j, si]), np.concatenate([dist, sv])
            ok = dist <= limit
            f_loc, cell, dist = f_loc[ok], cp[j[ok]], dist[ok]
            # the shortest per (facility, cell)
            o = np.lexsort((dist, cell, f_loc))
            f_loc, cell, dist = f_loc[o], cell[o], dist[o]
            first = np.r_[True, (f_loc[1:] != f_loc[:-1]) | (cell[1:] != cell[:-1])] if len(o) else np.zeros(0, bool)
            fi_all.append(fs[f_loc[first]])
            ci_all.append(cell[first])
            d_all.append(dist[first])
        if not fi_all:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0)
        return np.concatenate(fi_all), np.concatenate(ci_all), np.concatenate(d_all)


def place_access(network: StreetNetwork, xy: np.ndarray) -> dict:
    """How places join the network: ``legs`` (the straight leg to the nearest joinable street, inf if
    none within :data:`PLACE_MAX_SNAP_M`), ``far`` (positions of places more than :data:`PLACE_FAR_M`
    from every street: their access is an estimate) and ``unjoined`` (positions of places that join
    nothing and reach nobody)."""
    _, _, _, _, leg = network.locate(xy, max_snap_m=max(network.max_snap_m, PLACE_MAX_SNAP_M))
    return {"legs": leg, "far": [int(i) for i in np.flatnonzero(np.isfinite(leg) & (leg > PLACE_FAR_M))],
            "unjoined": [int(i) for i in np.flatnonzero(~np.isfinite(leg))]}


def _track_segments(tracks) -> tuple[np.ndarray, np.ndarray]:
    """The single segments ``(start xy, end xy)`` of the track lines."""
    xy, idx = shapely.get_coordinates(shapely.get_parts(np.asarray(tracks, dtype=object)), return_index=True)
    same = idx[1:] == idx[:-1]
    return xy[:-1][same], xy[1:][same]


def _with_side_joins(network: StreetNetwork, xy: np.ndarray, joins: tuple) -> tuple:
    """``joins`` (:meth:`StreetNetwork.joins` of places ``xy``) with, for each place at a station on the
    network's tracks, the nearest joinable street on each side of the nearest track segment (see
    :data:`PLACE_ON_TRACKS_M`)."""
    r0, r1 = _track_segments(network.tracks)
    stations = np.asarray(network.stations, dtype=float).reshape(-1, 2)
    if len(r0) == 0 or len(stations) == 0:
        return joins
    d_station, _ = cKDTree(stations).query(xy)
    at_station = np.flatnonzero(d_station <= STATION_MATCH_M)
    if len(at_station) == 0:
        return joins
    pts = shapely.points(xy)
    on, seg = shapely.STRtree(shapely.linestrings(np.stack([r0, r1], axis=1))).query_nearest(
        pts[at_station], max_distance=PLACE_ON_TRACKS_M, all_matches=False)
    on = at_station[on]
    if len(on) == 0:
        return joins
    qi, qs = network.segment_tree.query(pts[on], predicate="dwithin", distance=PLACE_SIDE_MAX_M)
    if len(qs) == 0:
        return joins
    place, track = on[qi], seg[qi]
    fa, fb, fta, ftb, fleg = network._foot(xy[place], qs)
    p0, p1 = network.xy[fa], network.xy[fb]
    length = fta + ftb
    foot = p0 + (p1 - p0) * np.where(length > 0, fta / np.where(length > 0, length, 1.0), 0.0)[:, None]
    d = r1[track] - r0[track]
    # signed distance of the street's foot from the track line: the side, or none inside the rail corridor
    off = (d[:, 0] * (foot[:, 1] - r0[track][:, 1]) - d[:, 1] * (foot[:, 0] - r0[track][:, 0])) / np.maximum(
        np.hypot(d[:, 0], d[:, 1]), 1e-9)
    side = np.where(np.abs(off) >= PLACE_SIDE_MARGIN_M, np.sign(off), 0).astype(np.int64)
    rows = np.flatnonzero(side != 0)
    if len(rows) == 0:
        return joins
    # the nearest street per (place, side)
    order = np.lexsort((fleg[rows], side[rows], place[rows]))
    rows = rows[order]
    first = np.r_[True, (place[rows][1:] != place[rows][:-1]) | (side[rows][1:] != side[rows][:-1])]
    rows = rows[first]
    pi, a, b, ta, tb, leg = joins
    p_all = np.concatenate([pi, place[rows]])
    o = np.argsort(p_all, kind="stable")
    return (p_all[o], np.concatenate([a, fa[rows]])[o], np.concatenate([b, fb[rows]])[o],
            np.concatenate([ta, fta[rows]])[o], np.concatenate([tb, ftb[rows]])[o], np.concatenate([leg, fleg[rows]])[o])


def _nearest_within(tree: shapely.STRtree, xy: np.ndarray, bound: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(point, geometry)`` of the nearest geometry of ``tree`` within each point's own ``bound`` (points
    with none are left out): the nearest geometries are found among those within ``bound`` with one
    ``dwithin`` query (tight per-point radii), then the nearest per point is kept."""
    pts = shapely.points(xy)
    pi, gi = tree.query(pts, predicate="dwithin", distance=bound)
    if len(pi) == 0:
        return pi, gi
    d = shapely.distance(pts[pi], tree.geometries[gi])
    order = np.lexsort((gi, d, pi))  # nearest first; ties by geometry number, as STRtree.query_nearest
    pi, gi = pi[order], gi[order]
    first = np.r_[True, pi[1:] != pi[:-1]]
    return pi[first], gi[first]


def _with_virtual_rows(graph: sparse.csr_matrix, rows: np.ndarray, cols: np.ndarray, w: np.ndarray, k: int
                       ) -> sparse.csr_matrix:
    """``graph`` with ``k`` virtual nodes appended (numbered n, n+1, ...): virtual node ``rows[i]``
    has a directed edge to node ``cols[i]`` of length ``w[i]`` (the shortest of duplicates is kept);
    nothing leads into them. Built from the CSR arrays directly (no sparse stacking of the whole graph)."""
    n = graph.shape[0]
    order = np.lexsort((w, cols, rows))
    rows, cols, w = rows[order], cols[order], w[order]
    first = np.r_[True, (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])] if len(rows) else np.zeros(0, bool)
    rows, cols, w = rows[first], cols[first], w[first]
    counts = np.bincount(rows, minlength=k)
    indptr = np.concatenate([graph.indptr, graph.indptr[-1] + np.cumsum(counts)])
    return sparse.csr_matrix((np.concatenate([graph.data, w]), np.concatenate([graph.indices, cols]).astype(graph.indices.dtype),
                              indptr), shape=(n + k, n + k))


def _same_segment(a, b, ta, tb, leg, sa, sb, sta, stb, sleg, per_source: bool = True):
    """Point joins and source joins on the same segment (same end nodes, either direction) reach each
    other directly along it: leg + |position difference| + source leg. Returns ``(source join, point
    join, distance)`` arrays, or None when no segment is shared."""
    import pandas as pd
    pts = pd.DataFrame({"lo": np.minimum(a, b), "hi": np.maximum(a, b),
                        "pos": np.where(a <= b, ta, tb),  # metres from the lower-numbered end
                        "leg": leg, "i": np.arange(len(a))})
    src = pd.DataFrame({"lo": np.minimum(sa, sb), "hi": np.maximum(sa, sb), "spos": np.where(sa <= sb, sta, stb),
                        "sleg": sleg, "j": np.arange(len(sa))})
    m = pts.merge(src, on=["lo", "hi"])
    if len(m) == 0:
        return None
    v = (m["leg"] + (m["pos"] - m["spos"]).abs() + m["sleg"]).to_numpy()
    return m["j"].to_numpy(), m["i"].to_numpy(), v


def _min_duplicates(rows, cols, w, n) -> sparse.csr_matrix:
    order = np.lexsort((w, cols, rows))
    rows, cols, w = rows[order], cols[order], w[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    return sparse.csr_matrix((w[first], (rows[first], cols[first])), shape=(n, n))


# --- Euclidean helpers ----------------------------------------------------------------------

def nearest_distance(points_xy: np.ndarray, targets, *, detour_factor: float = DEFAULT_DETOUR_FACTOR,
                     network: StreetNetwork | None = None) -> np.ndarray:
    """Distance from each point to the nearest target geometry (inf if there are none/unreachable).

    ``targets`` is a GeoSeries/array of geometries (points are fastest; lines and polygons use an
    STRtree). Euclidean distances are multiplied by ``detour_factor``.
    """
    points_xy = np.asarray(points_xy, dtype=float).reshape(-1, 2)
    geoms = np.asarray(getattr(targets, "values", targets), dtype=object)
    geoms = geoms[~(shapely.is_empty(geoms) | shapely.is_missing(geoms))] if len(geoms) else geoms
    if len(points_xy) == 0:
        return np.empty(0)
    if len(geoms) == 0:
        return np.full(len(points_xy), np.inf)
    if network is not None:
        anchors, _ = geometry_anchor_points(geoms)
        node_d = network.distances_from(anchors)
        return network.cell_distances(node_d, points_xy, source_xy=anchors)
    if (shapely.get_type_id(geoms) == 0).all():
        # sliding-midpoint tree (same nearest distances, faster queries for clustered facilities),
        # built once per facility set and reused
        d, _ = facility_tree(shapely.get_coordinates(geoms)).query(points_xy, k=1, workers=-1)
    else:
        tree = shapely.STRtree(geoms)
        pts = shapely.points(points_xy)
        idx, d = tree.query_nearest(pts, return_distance=True, all_matches=False)
        out = np.full(len(points_xy), np.inf)
        out[idx[0]] = d
        d = out
    return d * detour_factor


# KD-trees of facility sets, keyed by a hash of their coordinates: a query with the same facilities
# reuses the tree, and any moved, added or removed facility gives a new key (a new tree).
_FACILITY_TREES: OrderedDict[bytes, cKDTree] = OrderedDict()
FACILITY_TREE_CACHE_SIZE = 16


def coordinates_key(xy: np.ndarray) -> bytes:
    """A content hash of a coordinate array (shape and every coordinate's bytes)."""
    xy = np.ascontiguousarray(xy, dtype=np.float64)
    h = hashlib.blake2b(digest_size=16)
    h.update(np.asarray(xy.shape, dtype=np.int64).tobytes())
    h.update(xy.tobytes())
    return h.digest()


def facility_tree(xy: np.ndarray) -> cKDTree:
    """A (sliding-midpoint) KD-tree of facility coordinates, cached by their content hash."""
    xy = np.ascontiguousarray(np.asarray(xy, dtype=np.float64).reshape(-1, 2))
    key = coordinates_key(xy)
    tree = _FACILITY_TREES.get(key)
    if tree is None:
        tree = cKDTree(xy, balanced_tree=False)
        _FACILITY_TREES[key] = tree
        while len(_FACILITY_TREES) > FACILITY_TREE_CACHE_SIZE:
            _FACILITY_TREES.popitem(last=False)
    else:
        _FACILITY_TREES.move_to_end(key)
    return tree


def clear_index_caches() -> None:
    """Forget the cached facility trees (grid indexes live on each PopulationGrid)."""
    _FACILITY_TREES.clear()


def grid_tree_pairs(fac_xy: np.ndarray, grid, max_distance: float, *, detour_factor: float = DEFAULT_DETOUR_FACTOR
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Euclidean (facility, cell, distance) triples within ``max_distance`` route metres, from the
    grid's cached KD-tree of populated cell centres and the cached facility tree (one vectorised
    ``sparse_distance_matrix`` call). Cells are *positions in* ``grid.cell_centres()``; the same
    pairs as :func:`pairs_within` on the cell centres."""
    fac_xy = np.asarray(fac_xy, dtype=float).reshape(-1, 2)
    empty = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0))
    if len(fac_xy) == 0 or len(grid.cell_centres().x) == 0:
        return empty
    m = facility_tree(fac_xy).sparse_distance_matrix(grid.cell_tree(), max_distance / detour_factor,
                                                      output_type="ndarray")
    if len(m) == 0:
        return empty
    return m["i"].astype(np.int64), m["j"].astype(np.int64), m["v"] * detour_factor


def pairs_within(fac_xy: np.ndarray, cell_xy: np.ndarray, max_distance: float, *,
                 detour_factor: float = DEFAULT_DETOUR_FACTOR, network: StreetNetwork | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(facility index, cell index, distance) for all pairs within ``max_distance`` (route metres)."""
    fac_xy = np.asarray(fac_xy, dtype=float).reshape(-1, 2)
    cell_xy = np.asarray(cell_xy, dtype=float).reshape(-1, 2)
    empty = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0))
    if len(fac_xy) == 0 or len(cell_xy) == 0:
        return empty
    if network is not None:
        return network.pairs_within(fac_xy, cell_xy, max_distance)
    ft, ct = cKDTree(fac_xy), cKDTree(cell_xy)
    m = ft.sparse_distance_matrix(ct, max_distance / detour_factor, output_type="ndarray")
    if len(m) == 0:
        return empty
    return m["i"].astype(np.int64), m["j"].astype(np.int64), m["v"] * detour_factor


def grid_pairs_within(fac_xy: np.ndarray, grid, max_distance: float, *, detour_factor: float = DEFAULT_DETOUR_FACTOR,
                      max_chunk: int = 4_000_000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Euclidean (facility, cell, distance) triples for the populated cells of a regular grid.

    The same answer as :func:`pairs_within` on the cell centres, computed with a stencil: the cells
    within ``max_distance / detour_factor`` of a facility lie in a fixed disk of row/column offsets
    around the facility's cell, so candidate cells are generated arithmetically (no tree) and only
    their exact centre distances are computed. Returns *flat grid indices* for the cells.
    """
    fac_xy = np.asarray(fac_xy, dtype=float).reshape(-1, 2)
    empty = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0))
    if len(fac_xy) == 0 or grid.values.size == 0:
        return empty
    t, cs = grid.transform, grid.cell_size
    rows, cols = grid.shape
    r = max_distance / detour_factor
    # continuous (col, row) of each facility in units of cells, relative to cell centres
    fc = (fac_xy[:, 0] - t.c) / cs - 0.5
    fr = (t.f - fac_xy[:, 1]) / cs - 0.5
    c0, r0 = np.rint(fc).astype(np.int64), np.rint(fr).astype(np.int64)
    R = int(np.ceil(r / cs)) + 1
    dr, dc = np.mgrid[-R:R + 1, -R:R + 1]
    keep = np.hypot(dr, dc) * cs <= r + cs * 0.7072  # the facility is ≤ √2/2 cells from its cell's centre
    dr, dc = dr[keep].astype(np.int64), dc[keep].astype(np.int64)
    # drop facilities whose stencil misses the grid entirely
    near = (c0 + R >= 0) & (c0 - R < cols) & (r0 + R >= 0) & (r0 - R < rows)
    idx = np.flatnonzero(near)
    flat_vals = grid.values.ravel()
    step = max(1, max_chunk // max(len(dr), 1))
    out_f, out_c, out_d = [], [], []
    for s in range(0, len(idx), step):
        fs = idx[s:s + step]
        cc = c0[fs, None] + dc[None, :]
        rr = r0[fs, None] + dr[None, :]
        inside = (cc >= 0) & (cc < cols) & (rr >= 0) & (rr < rows)
        fi = np.broadcast_to(fs[:, None], cc.shape)[inside]
        cc, rr = cc[inside], rr[inside]
        flat = rr * cols + cc
        populated = flat_vals[flat] > 0
        fi, cc, rr, flat = fi[populated], cc[populated], rr[populated], flat[populated]
        d = np.hypot((cc - fc[fi]) * cs, (rr - fr[fi]) * cs)
        ok = d <= r
        out_f.append(fi[ok])
        out_c.append(flat[ok])
        out_d.append(d[ok] * detour_factor)
    if not out_f:
        return empty
    return np.concatenate(out_f), np.concatenate(out_c), np.concatenate(out_d)


def positive_metres(value, what: str, example: str) -> float:
    """``value`` as a positive finite number of metres, or an InputError naming ``what``."""
    try:
        metres = float(value)
    except (TypeError, ValueError):
        metres = -1.0
    if not np.isfinite(metres) or metres <= 0:
        raise InputError(f"{what} {value!r} must be a positive number of metres.", hint=f"e.g. {example}.")
    return metres
