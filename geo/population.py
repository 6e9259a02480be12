"""Population surfaces: people per square cell on a north-up EPSG:25832 grid.

A :class:`PopulationGrid` is a 2-D float array (people per cell) with a rasterio ``Affine``
transform, a cell size (100 m by default, any size allowed), and two labels every result carries
on: ``source`` (where the numbers come from) and ``precision`` (``"exact"`` for registers/address
counts, ``"approximate"`` for areal weighting or resampling).

Build one from

* a raster file (GHSL, WorldPop, the national 100 m grid): :meth:`PopulationGrid.from_raster`;
* polygon counts spread by areal weighting (tobler), optionally inside a mask:
  :meth:`PopulationGrid.from_polygons`;
* points with counts (addresses): :meth:`PopulationGrid.from_points`;
* Danish national square grid cell ids (``100m_61760_7240``, ``1km_6176_724``):
  :meth:`PopulationGrid.from_cell_ids`.

Grids built here are aligned to multiples of the cell size in EPSG:25832, like Det Danske
Kvadratnet, so grids of the same cell size from different sources line up cell for cell.

Example::

    >>> import geopandas as gpd, shapely
    >>> sq = gpd.GeoDataFrame({"pop": [1000]}, geometry=[shapely.box(700_000, 6_170_000, 701_000, 6_171_000)], crs=25832)
    >>> g = PopulationGrid.from_polygons(sq, "pop", cell_size=100)
    >>> g.shape, round(g.total())
    ((10, 10), 1000)
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.features
import shapely
from affine import Affine
from pyproj import CRS
from scipy.spatial import cKDTree

from kkr_geo.geo.crs import ANALYSIS_CRS, to_analysis_crs
from kkr_geo.geo.errors import InputError

# A raster band is read whole as float64 (8 bytes a cell, plus a working copy): refuse rasters
# larger than this many cells with a clear message instead of running out of memory.
# far above any real density (the densest city districts on earth hold ~100,000 per km²)
MAX_DENSITY_KM2 = 1_000_000
MAX_RASTER_CELLS = 100_000_000


class CellCentres(NamedTuple):
    """Populated cells: centre coordinates, population and flat index into the grid array."""

    x: np.ndarray
    y: np.ndarray
    population: np.ndarray
    index: np.ndarray  # type: ignore[assignment]  # shadows tuple.index; the field name is public API

    @property
    def xy(self) -> np.ndarray:
        return np.column_stack([self.x, self.y])


@dataclass
class PopulationGrid:
    """People per cell on a north-up grid in EPSG:25832.

    ``values[row, col]`` is the number of inhabitants in the cell whose upper-left corner is
    ``transform * (col, row)``. Zero means no inhabitants (there is no nodata).
    """

    values: np.ndarray
    transform: Affine
    source: str = "unknown"
    precision: str = "approximate"
    crs: CRS = ANALYSIS_CRS
    notes: list[str] = field(default_factory=list)
    #: per-area record of how the surface was made (e.g. which weight layer each area used), or None
    provenance: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        if self.values.ndim != 2:
            raise ValueError("values must be a 2-D array")
        t = self.transform
        if t.b != 0 or t.d != 0 or t.a <= 0 or not math.isclose(t.a, -t.e):
            raise InputError(f"population grid from {self.source}: cells must be square and north-up (transform {tuple(t)[:6]}).",
                             hint="resample the raster to a square north-up grid, "
                                  "or use PopulationGrid.from_raster(cell_size=...).")
        self.crs = CRS.from_user_input(self.crs)

    def __setattr__(self, name, value):
        # Derived indexes (cell centres, KD-tree, area label rasters) depend on the values and the
        # transform: assigning either drops them, so the next query rebuilds them.
        if name == "values":
            value = np.asarray(value, dtype=np.float64)
        if name in ("values", "transform") and "_cache" in self.__dict__:
            self.__dict__["_cache"] = {}
        object.__setattr__(self, name, value)

    # --- cached indexes -------------------------------------------------------------------

    def cached(self, key, build):
        """A derived index of this grid, built by ``build()`` on first use and reused by later
        queries (cell centres, the cell KD-tree, area label rasters, ...).

        Indexes stay valid because the grid cannot change under them: building the first one makes
        ``values`` read-only (an in-place write then raises numpy's "assignment destination is
        read-only" instead of silently giving stale answers), and assigning ``grid.values = new``
        or ``grid.transform = new`` empties the cache. The cache also notices a values array that
        was swapped or made writeable again behind its back and starts afresh.
        """
        cache = self._cache
        state = self._state()
        if cache.get("_state") != state:
            cache.clear()
            self._freeze()
            state = self._state()
            cache["_state"] = state
        if key not in cache:
            cache[key] = build()
        return cache[key]

    def _state(self):
        v = self.values
        return (id(v), v.__array_interface__["data"][0], v.shape, v.flags.writeable, tuple(self.transform))

    def _freeze(self) -> None:
        v = self.values
        if v.flags.writeable and not v.flags.owndata and v.base is not None:
            # a view of someone else's writeable array could change behind the cache: own a copy
            object.__setattr__(self, "values", v.copy())
            v = self.values
        v.flags.writeable = False

    # --- basic properties ---------------------------------------------------------------

    @property
    def cell_size(self) -> float:
        return float(self.transform.a)

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        rows, cols = self.shape
        x0, y1 = self.transform.c, self.transform.f
        return (x0, y1 - rows * self.cell_size, x0 + cols * self.cell_size, y1)

    @property
    def meta(self) -> dict:
        return {"population_source": self.source, "population_precision": self.precision,
                "cell_size_m": self.cell_size}

    def total(self) -> float:
        return float(self.values.sum())

    def __repr__(self) -> str:
        return (f"PopulationGrid({self.shape[0]}×{self.shape[1]} cells of {self.cell_size:g} m, "
                f"total {self.total():,.0f}, source={self.source!r}, precision={self.precision!r})")

    def cell_centres(self) -> CellCentres:
        """Centres of the populated cells (population > 0), as arrays (cached)."""
        def build():
            flat = np.flatnonzero(self.values.ravel() > 0)
            rows, cols = np.divmod(flat, self.shape[1]) if self.values.size else (flat, flat)
            cs = self.cell_size
            x = self.transform.c + (cols + 0.5) * cs
            y = self.transform.f - (rows + 0.5) * cs
            return CellCentres(x, y, self.values.ravel()[flat], flat)
        return self.cached("centres", build)

    def cell_xy(self) -> np.ndarray:
        """Populated cell centres as an (n, 2) array, aligned with :meth:`cell_centres` (cached)."""
        return self.cached("centres_xy", lambda: self.cell_centres().xy)

    def cell_tree(self) -> cKDTree:
        """A KD-tree of the populated cell centres, built once per grid and reused by every query
        (2SFCA candidate pairs; positions are those of :meth:`cell_centres`)."""
        return self.cached("cell_tree", lambda: cKDTree(self.cell_xy(), balanced_tree=False))

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        """Populated cells as square polygons with ``cell_id`` (national grid style) and ``population``."""
        c = self.cell_centres()
        h = self.cell_size / 2
        geoms = shapely.box(c.x - h, c.y - h, c.x + h, c.y + h)
        return gpd.GeoDataFrame({"cell_id": cell_ids(c.x - h, c.y - h, self.cell_size), "population": c.population},
                                geometry=geoms, crs=self.crs)

    def array_from_cells(self, cell_values: np.ndarray, fill=np.nan) -> np.ndarray:
        """Scatter per-populated-cell values (aligned with :meth:`cell_centres`) into a grid-shaped array."""
        out = np.full(self.shape, fill, dtype=np.float64)
        out.ravel()[self.cell_centres().index] = cell_values
        return out

    # --- output -------------------------------------------------------------------------

    def to_geotiff(self, path) -> Path:
        """Write the grid as a float64 GeoTIFF (deflate), with source and precision as tags (atomic)."""
        from kkr_geo.geo.io import atomic_path
        path = Path(path)
        profile = dict(driver="GTiff", width=self.shape[1], height=self.shape[0], count=1, dtype="float64",
                       crs=self.crs, transform=self.transform, compress="deflate", predictor=3)
        with atomic_path(path) as tmp:
            with rasterio.open(tmp, "w", **profile) as dst:
                dst.write(self.values, 1)
                dst.update_tags(population_source=self.source, population_precision=self.precision,
                                units="inhabitants per cell")
                dst.set_band_description(1, "population")
        return path

    # --- constructors -------------------------------------------------------------------

    @classmethod
    def empty(cls, cell_size: float = 100, *, source: str = "empty", precision: str = "exact") -> PopulationGrid:
        return cls(np.zeros((0, 0)), Affine(cell_size, 0, 0, 0, -cell_size, 0), source=source, precision=precision)

    @classmethod
    def from_cell_arrays(cls, x_ll: np.ndarray, y_ll: np.ndarray, counts: np.ndarray, cell_size: float, *,
                         source: str, precision: str) -> PopulationGrid:
        """Grid from lower-left corners (multiples of ``cell_size``) and counts; duplicates are summed."""
        cs = float(cell_size)
        if len(counts) == 0:
            return cls.empty(cs, source=source, precision=precision)
        ci = np.floor(np.asarray(x_ll) / cs + 1e-9).astype(np.int64)
        ri = np.floor(np.asarray(y_ll) / cs + 1e-9).astype(np.int64)
        c0, c1, r0, r1 = ci.min(), ci.max(), ri.min(), ri.max()
        rows, cols = int(r1 - r0 + 1), int(c1 - c0 + 1)
        values = np.zeros((rows, cols))
        np.add.at(values, (r1 - ri, ci - c0), np.asarray(counts, dtype=float))
        transform = Affine(cs, 0, c0 * cs, 0, -cs, (r1 + 1) * cs)
        return cls(values, transform, source=source, precision=precision)

    @classmethod
    def from_points(cls, gdf: gpd.GeoDataFrame, column: str | None = None, cell_size: float = 100, *,
                    source: str | None = None, precision: str = "exact") -> PopulationGrid:
        """Count points (e.g. addresses with a number of residents) into cells.

        ``column`` holds the count per point; ``None`` counts each point as one person.
        """
        source = source or gdf.attrs.get("source", "points")
        _check_cell_size(cell_size)
        gdf = to_analysis_crs(gdf, source=source)
        geoms = gdf.geometry.values
        bad = ~np.isin(shapely.get_type_id(geoms), (0,)) | shapely.is_empty(geoms)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            kind = geoms[i].geom_type if geoms[i] is not None else "no geometry"
            raise InputError(f"{source}: feature {gdf.index[i]!r} is not a point ({kind}).",
                             hint="supply single points (explode multipoints, use centroids of buildings).")
        counts = _counts(gdf, column, source) if column else np.ones(len(gdf))
        xy = shapely.get_coordinates(geoms)
        cs = float(cell_size)
        return cls.from_cell_arrays(np.floor(xy[:, 0] / cs) * cs, np.floor(xy[:, 1] / cs) * cs, counts, cs,
                                    source=source, precision=precision)

    @classmethod
    def from_cell_ids(cls, df: pd.DataFrame, id_column: str, count_column: str, *, source: str | None = None,
                      precision: str = "exact") -> PopulationGrid:
        """Grid from Danish national square grid ids (Det Danske Kvadratnet, EPSG:25832).

        ``100m_61760_7240`` is the 100 m cell whose lower-left corner is N 6,176,000, E 724,000
        (northing and easting in units of the cell size); ``1km_6176_724`` the 1 km cell at the
        same corner. All ids must share one cell size; duplicate ids are summed.
        """
        source = source or getattr(df, "attrs", {}).get("source", "cell ids")
        for col in (id_column, count_column):
            if col not in df.columns:
                raise InputError(f"{source}: no column {col!r} (columns: {', '.join(map(str, df.columns))}).",
                                 hint="name the id and count columns that exist in the table.")
        counts = _counts(df, count_column, source)
        sizes, north, east = [], [], []
        for idx, raw in zip(df.index, df[id_column]):
            m = _CELL_ID.match(str(raw).strip())
            if not m:
                raise InputError(f"{source}: row {idx!r}: {raw!r} is not a national grid cell id.",
                                 hint="ids look like 100m_61760_7240 or 1km_6176_724 (size_northing_easting).")
            size = int(m["size"]) * (1000 if m["unit"].lower() == "km" else 1)
            sizes.append(size)
            north.append(int(m["n"]) * size)
            east.append(int(m["e"]) * size)
        uniq = sorted(set(sizes))
        if len(uniq) > 1:
            raise InputError(f"{source}: cell ids of several sizes ({', '.join(f'{s} m' for s in uniq)}) in one table.",
                             hint="build one grid per cell size, or aggregate the fine cells first.")
        if not sizes:
            return cls.empty(100, source=source, precision=precision)
        return cls.from_cell_arrays(np.array(east, float), np.array(north, float), counts, uniq[0],
                                    source=source, precision=precision)

    @classmethod
    def from_polygons(cls, gdf: gpd.GeoDataFrame, column: str, cell_size: float = 100, mask=None, *,
                      source: str | None = None, precision: str = "approximate") -> PopulationGrid:
        """Spread polygon counts over cells by areal weighting (``tobler.area_interpolate``).

        Each polygon's count is divided among the cells in proportion to the area the cell shares
        with the polygon, so the grid total equals the sum of the counts. With ``mask`` (a
        GeoDataFrame/GeoSeries/geometry of where people can live, e.g. built-up areas), each polygon
        is first clipped to the mask; a polygon with no area inside the mask keeps its full extent
        and a note in :attr:`notes` says so (its people would otherwise vanish).
        """
        source = source or gdf.attrs.get("source", f"polygons ({column})")
        _check_cell_size(cell_size)
        if column not in gdf.columns:
            raise InputError(f"{source}: no column {column!r} (columns: {', '.join(map(str, gdf.columns))}).",
                             hint="pass the name of the population column.")
        gdf = to_analysis_crs(gdf, source=source)
        counts = _counts(gdf, column, source)
        geoms = gdf.geometry.values
        poly = np.isin(shapely.get_type_id(geoms), (3, 6)) & ~shapely.is_empty(geoms)
        if not poly.all():
            i = int(np.flatnonzero(~poly)[0])
            raise InputError(f"{source}: feature {gdf.index[i]!r} is not a polygon.",
                             hint="areal weighting needs polygons; use from_points for points.")
        geoms = shapely.make_valid(geoms)
        notes = []
        if mask is not None:
            mgeom = _union(mask)
            clipped = shapely.intersection(geoms, mgeom)
            empty = shapely.area(clipped) <= 0
            for j in np.flatnonzero(empty & (counts > 0)):
                notes.append(f"{source}: feature {gdf.index[j]!r} has no area inside the mask; its "
                             f"{counts[j]:,.0f} people are spread over the whole polygon")
            geoms = np.where(empty, geoms, clipped)
        cs = float(cell_size)
        if len(geoms) == 0:
            return cls.empty(cs, source=source, precision=precision)
        x0, y0, x1, y1 = shapely.total_bounds(geoms)
        c0, r0 = math.floor(x0 / cs), math.floor(y0 / cs)
        c1, r1 = math.ceil(x1 / cs), math.ceil(y1 / cs)
        rows, cols = r1 - r0, c1 - c0
        transform = Affine(cs, 0, c0 * cs, 0, -cs, r1 * cs)
        values = np.zeros((rows, cols))
        keep = counts > 0
        geoms, counts = geoms[keep], counts[keep]
        if len(geoms):
            values = _areal_weighting(geoms, counts, (rows, cols), transform)
        grid = cls(values, transform, source=source, precision=precision, notes=notes)
        return grid

    @classmethod
    def from_raster(cls, path, cell_size: float | None = None, *, band: int = 1, source: str | None = None,
                    precision: str | None = None) -> PopulationGrid:
        """Read a population raster (people per cell), reprojecting/resampling to EPSG:25832.

        * Already EPSG:25832 at the wanted cell size: read as is.
        * EPSG:25832, the wanted cell size an integer multiple of the raster's: exact block sums
          (totals preserved exactly).
        * Anything else (WorldPop in EPSG:4326, GHSL in Mollweide, odd cell sizes): counts are turned
          into densities (people/m², using each source cell's true area), resampled by area-weighted
          averaging (via a grid at least twice as fine, block-summed), multiplied by the new cell area and
          rescaled so the total equals the source total; ``precision`` becomes "approximate" and a note records the rescale.

        Nodata and NaN count as zero; negative values are an error.
        """
        path = Path(path)
        if not path.exists():
            raise InputError(f"{path}: population raster not found.", hint="check the --population path.")
        try:
            ds = rasterio.open(path)
        except rasterio.errors.RasterioIOError as exc:
            raise InputError(f"{path}: cannot be read as a raster ({exc}).", hint="supply a GeoTIFF.") from None
        with ds:
            if ds.crs is None:
                raise InputError(f"{path}: the raster has no CRS.", hint="assign its CRS (e.g. gdal_edit.py -a_srs EPSG:25832).")
            if band < 1 or band > ds.count:
                raise InputError(f"{path}: no band {band} (the raster has {ds.count}).", hint="choose an existing band.")
            cells = int(ds.width) * int(ds.height)
            if cells > MAX_RASTER_CELLS:
                raise InputError(
                    f"{path}: {ds.width:,} × {ds.height:,} = {cells:,} cells is more than the {MAX_RASTER_CELLS:,} cells "
                    f"kkr-geo reads into memory (about {cells * 16 / 1e9:,.1f} GB needed).",
                    hint="resample it to a coarser grid first, e.g. `gdalwarp -tr 100 100 -r sum in.tif out.tif`, "
                         "or clip it to the region.")
            arr = ds.read(band, masked=True).astype(np.float64).filled(0.0)
            tags = ds.tags()
            src_crs, src_t = CRS.from_user_input(ds.crs), ds.transform
        if np.isinf(arr).any():
            r, c = np.argwhere(np.isinf(arr))[0]
            raise InputError(f"{path}: population {arr[r, c]:g} (infinite) at row {r}, column {c}.",
                             hint="fix the cell, or set the raster's nodata value so that empty cells are not read as counts.")
        arr[np.isnan(arr)] = 0.0  # NaN is the no-data value of float rasters without a nodata tag
        cell_km2 = abs(src_t.a * src_t.e - src_t.b * src_t.d) / 1e6 if src_crs.is_projected else None
        if cell_km2 and (arr > MAX_DENSITY_KM2 * cell_km2).any():
            r, c = np.argwhere(arr > MAX_DENSITY_KM2 * cell_km2)[0]
            raise InputError(f"{path}: population {arr[r, c]:g} at row {r}, column {c} is more than "
                             f"{MAX_DENSITY_KM2:,} inhabitants per km² ({cell_km2:g} km² cell): not a count of people.",
                             hint="check the band and the raster's units (a density raster must be converted to counts "
                                  "per cell), or set its nodata value.")
        if (arr < 0).any():
            r, c = np.argwhere(arr < 0)[0]
            raise InputError(f"{path}: negative population {arr[r, c]:g} at row {r}, column {c}.",
                             hint="set the raster's nodata value so that empty cells are not read as counts.")
        source = source or tags.get("population_source") or path.name
        precision = precision or tags.get("population_precision") or "exact"
        square = src_t.b == 0 and src_t.d == 0 and src_t.a > 0 and math.isclose(src_t.a, -src_t.e)
        if src_crs.equals(ANALYSIS_CRS) and square:
            res = src_t.a
            if cell_size is None or math.isclose(cell_size, res):
                return cls(arr, src_t, source=source, precision=precision)
            factor = cell_size / res
            if factor > 1 and math.isclose(factor, round(factor)):
                return cls._block_sum(arr, src_t, int(round(factor)), source=source, precision=precision)
        return cls._resample(arr, src_t, src_crs, cell_size or (src_t.a if src_crs.equals(ANALYSIS_CRS) else 100.0),
                             source=source, precision=precision, path=path)

    @classmethod
    def _block_sum(cls, arr, t: Affine, k: int, *, source, precision) -> PopulationGrid:
        res = t.a
        cs = res * k
        # pad so that blocks align to multiples of the new cell size, like the national grid
        left = int(round((t.c - math.floor(t.c / cs + 1e-9) * cs) / res)) % k
        top = int(round((math.ceil(t.f / cs - 1e-9) * cs - t.f) / res)) % k
        rows, cols = arr.shape
        R = math.ceil((rows + top) / k) * k
        C = math.ceil((cols + left) / k) * k
        big = np.zeros((R, C))
        big[top:top + rows, left:left + cols] = arr
        out = big.reshape(R // k, k, C // k, k).sum(axis=(1, 3))
        nt = Affine(cs, 0, t.c - left * res, 0, -cs, t.f + top * res)
        return cls(out, nt, source=source, precision=precision)

    @classmethod
    def _resample(cls, arr, t: Affine, src_crs: CRS, cell_size: float, *, source, precision, path) -> PopulationGrid:
        from rasterio.warp import Resampling, reproject, transform_bounds
        _check_cell_size(cell_size)
        total = float(arr.sum())
        rows, cols = arr.shape
        if src_crs.is_geographic:
            # true cell areas on the sphere, per row
            lat_top = t.f + np.arange(rows) * t.e
            lat_bot = lat_top + t.e
            R = 6_371_008.8
            area_row = R ** 2 * np.radians(abs(t.a)) * np.abs(np.sin(np.radians(lat_top)) - np.sin(np.radians(lat_bot)))
            density = arr / area_row[:, None]
        else:
            density = arr / abs(t.a * t.e - t.b * t.d)
        west, south, east, north = transform_bounds(src_crs, ANALYSIS_CRS, t.c, t.f + rows * t.e, t.c + cols * t.a, t.f)
        cs = float(cell_size)
        c0, r0, c1, r1 = math.floor(west / cs), math.floor(south / cs), math.ceil(east / cs), math.ceil(north / cs)
        # Resample onto a grid at least twice as fine as the source (nearest), then sum blocks of
        # k × k fine cells: partial cells at the raster's edge and coarse-over-fine overlaps are
        # then weighted by area to within the fine cell size.
        if src_crs.is_geographic:
            mid_lat = np.radians(t.f + rows * t.e / 2)
            src_res_m = min(abs(t.a) * 111_320 * np.cos(mid_lat), abs(t.e) * 110_574)
        else:
            src_res_m = min(abs(t.a), abs(t.e))
        k = int(max(1, min(np.ceil(2 * cs / src_res_m), 16)))
        fine = cs / k
        dst_t = Affine(fine, 0, c0 * cs, 0, -fine, r1 * cs)
        dst = np.zeros(((r1 - r0) * k, (c1 - c0) * k))
        reproject(density, dst, src_transform=t, src_crs=src_crs, dst_transform=dst_t, dst_crs=ANALYSIS_CRS,
                  resampling=Resampling.nearest if k > 1 else Resampling.average, src_nodata=None, dst_nodata=np.nan)
        dst = np.nan_to_num(dst) * fine * fine
        dst = dst.reshape(r1 - r0, k, c1 - c0, k).sum(axis=(1, 3))
        dst_t = Affine(cs, 0, c0 * cs, 0, -cs, r1 * cs)
        got = float(dst.sum())
        grid = cls(dst, dst_t, source=source, precision="approximate")
        if got > 0 and total > 0:
            grid.values = grid.values * (total / got)
            grid.notes.append(f"{path}: resampled from {src_crs.to_string()} to {cs:g} m cells; "
                              f"rescaled by {total / got:.4f} to keep the total {total:,.0f}")
        return grid


# --- helpers ----------------------------------------------------------------------------------

def _areal_weighting(geoms, counts, shape, transform: Affine) -> np.ndarray:
    """Areal weighting of polygon counts onto a grid.

    Cells crossed by a polygon boundary get their share from ``tobler.area_interpolate`` (exact
    polygon ∩ cell areas). Cells wholly inside one polygon would get count × cell area / polygon
    area from tobler as well; that share is set directly, because intersecting ~250,000 interior
    cells with detailed municipal boundaries is where tobler spends its time (12 s vs < 2 s for
    the region). When the polygons overlap, every touched cell goes through tobler.
    """
    from tobler.area_weighted import area_interpolate
    cs = transform.a
    areas = shapely.area(geoms)
    overlap = areas.sum() > shapely.area(shapely.union_all(geoms)) * (1 + 1e-9) + 1e-6
    touched = rasterio.features.rasterize(((g, 1) for g in geoms), out_shape=shape, transform=transform,
                                          fill=0, dtype="uint8", all_touched=True).astype(bool)
    values = np.zeros(shape)
    if overlap:
        boundary = touched
    else:
        boundary = rasterio.features.rasterize(((shapely.boundary(g), 1) for g in geoms), out_shape=shape,
                                               transform=transform, fill=0, dtype="uint8", all_touched=True).astype(bool)
        label = rasterio.features.rasterize(((g, i) for i, g in enumerate(geoms)), out_shape=shape, transform=transform,
                                            fill=-1, dtype="int32", all_touched=False)
        interior = (label >= 0) & ~boundary
        dens = counts * cs * cs / areas
        values[interior] = dens[label[interior]]
        boundary = boundary & touched
    rr, cc = np.nonzero(boundary)
    if len(rr):
        xl = transform.c + cc * cs
        yt = transform.f - rr * cs
        target = gpd.GeoDataFrame(geometry=shapely.box(xl, yt - cs, xl + cs, yt), crs=ANALYSIS_CRS)
        src = gpd.GeoDataFrame({"_n": counts}, geometry=geoms, crs=ANALYSIS_CRS)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # allocate_total=False: denominator is the whole polygon area (interior cells hold the rest)
            est = area_interpolate(src, target, extensive_variables=["_n"], allocate_total=False)
        values[rr, cc] += np.nan_to_num(est["_n"].to_numpy(dtype=float))
    return values


_CELL_ID = re.compile(r"^(?:CRS\d+RES)?(?P<size>\d+)(?P<unit>m|km)_(?P<n>\d+)_(?P<e>\d+)$", re.IGNORECASE)


def cell_ids(x_ll: np.ndarray, y_ll: np.ndarray, cell_size: float) -> np.ndarray:
    """National square grid ids (``100m_61760_7240``) for lower-left corners; '' if not representable."""
    cs = float(cell_size)
    if cs <= 0 or not math.isclose(cs, round(cs)):
        return np.full(len(x_ll), "", dtype=object)
    cs = int(round(cs))
    label = f"{cs // 1000}km" if cs % 1000 == 0 else f"{cs}m"
    n = np.round(np.asarray(y_ll) / cs).astype(np.int64)
    e = np.round(np.asarray(x_ll) / cs).astype(np.int64)
    return np.char.add(np.char.add(np.char.add(f"{label}_", n.astype(str)), "_"), e.astype(str)).astype(object)


def _check_cell_size(cell_size) -> None:
    try:
        ok = float(cell_size) > 0 and np.isfinite(float(cell_size))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InputError(f"cell size {cell_size!r} must be a positive number of metres.", hint="use e.g. 100.")


def _counts(df, column: str, source: str) -> np.ndarray:
    vals = pd.to_numeric(df[column], errors="coerce")
    bad = vals.isna() | (vals < 0) | ~np.isfinite(vals.fillna(0))
    if bad.any():
        idx = vals.index[bad.to_numpy()][0]
        raise InputError(f"{source}: row {idx!r}: {column} = {df.at[idx, column]!r} is not a non-negative number.",
                         hint="fix or remove the row; use 0 for no inhabitants.")
    return vals.to_numpy(dtype=float)


def _union(mask):
    if isinstance(mask, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if mask.crs is not None:
            mask = to_analysis_crs(gpd.GeoDataFrame(geometry=mask.geometry if isinstance(mask, gpd.GeoDataFrame) else mask),
                                   source="mask")
        return shapely.union_all(shapely.make_valid(mask.geometry.values))
    if isinstance(mask, shapely.Geometry):
        return mask
    raise InputError(f"mask of type {type(mask).__name__} is not a geometry.", hint="pass a GeoDataFrame or a shapely geometry.")
