"""``kkr-geo catchment|coverage|access``: the analysis engine (:mod:`geo`) on the command line.

Every command reads its features from a region layer (``--layer``) or a file (``--facilities``),
a population grid from a GeoTIFF (``--population``) or the region's default surface
(planlægningsområde populations from the practice plan's Tabel 3 spread dasymetrically over
``--cell-size`` cells, see :mod:`kkr_geo.geo.dasymetric`), distances on the road network where the
data directory has it (``--distance network|euclidean``), and writes to ``--out``:

* CSV in UTF-8 (``*.csv``) and a Danish-Excel variant (``*_excel.csv``: semicolon, decimal comma,
  UTF-8 with BOM), each row carrying the distance method and population source/precision;
* a GeoPackage of polygons ready to map, and a ``*_meta.json`` with the full result metadata.

All files are written atomically (a failed run leaves no half-written output).
"""

from __future__ import annotations

import json
from pathlib import Path

from kkr_geo.commands import _checks
from kkr_geo.commands._lazy import LazyChoices, LazyModule
from kkr_geo.geo.errors import DataError, InputError
from kkr_geo.input_options import add_input_options, file_options, print_notes, vector_options
from kkr_geo.layers import region_defaults as _region

# imported on first use: parsing the command line (--help, --version) must not load them
gpd = LazyModule("geopandas")
np = LazyModule("numpy")
pd = LazyModule("pandas")

# the area layers --areas accepts by name, and its default: the build's (region_defaults imports nothing heavy)
AREA_LAYERS = _region.AREA_TYPES
DEFAULT_AREAS = ",".join(_region.DEFAULT_AREAS)


def register(sub) -> None:
    c = sub.add_parser("catchment", help="inhabitants within walking/cycling distance of corridors, stops, stations",
                       description="Population and area within one or more distances of lines and/or points "
                                   "(e.g. a BRT corridor and its stops), in rings or cumulative bands, per kommune "
                                   "and planområde.")
    _common(c, what="features")
    c.add_argument("--distances", default="400,800", help="distances in metres, comma-separated (default 400,800; bike: 2000,3000)")
    c.add_argument("--mode", choices=["rings", "cumulative"], default="rings", help="rings (0–400, 400–800) or cumulative (0–400, 0–800)")
    c.add_argument("--by", default="auto", help="column identifying separate catchments (default: 'projekt' if present; 'none' = all together)")
    c.add_argument("--with-stops", action="store_true", help="with --layer brt: add each corridor's stops (brt_stops)")
    c.set_defaults(func=cmd_catchment)

    v = sub.add_parser("coverage", help="where people live farther than a threshold from any facility",
                       description="Distance from every populated cell to the nearest facility; population beyond "
                                   "the threshold per area; gap polygons.")
    _common(v, what="facilities")
    v.add_argument("--threshold", type=float, required=True, help="distance in metres beyond which a cell is a gap")
    v.set_defaults(func=cmd_coverage)

    a = sub.add_parser("access", help="2SFCA accessibility: capacity per 10,000 inhabitants, borgere pr. kapacitet",
                       description="Two-step floating catchment area accessibility of facility capacity, per cell and "
                                   "per area; --planning-area uses each planlægningsområde as the catchment (Tabel 3).")
    _common(a, what="facilities")
    a.add_argument("--capacity-column", default=None,
                   help="facility capacity column (default kapacitet_sp51, or kapacitet_sp62 with --speciale 62)")
    a.add_argument("--speciale", type=int, choices=[51, 62], default=None,
                   help="with --planning-area: 51 = Tabel 3 (default), 62 = Tabel 4 (vederlagsfri fysioterapi)")
    a.add_argument("--catchment", type=float, default=None, help="catchment distance in metres (required unless --planning-area)")
    a.add_argument("--decay", choices=["step", "gaussian", "zones"], default="step",
                   help="step (2SFCA), gaussian (Dai 2010) or zones (E2SFCA, Luo & Qi 2009)")
    a.add_argument("--planning-area", action="store_true",
                   help="use each planlægningsområde as the catchment; capacity from Tabel 3 unless facilities are given")
    a.set_defaults(func=cmd_access)


def _feature_layers() -> tuple[str, ...]:
    from kkr_geo.layers.registry import feature_layers  # loads the layer modules: only when --layer is used
    return feature_layers()


def _common(p, *, what: str) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument("--layer", type=LazyChoices(_feature_layers), metavar="LAYER",
                     help=f"region layer with the {what}: a point or line layer of the registry (see `kkr-geo layers list`)")
    src.add_argument("--facilities", "--features", dest="facilities", metavar="FILE",
                     help=f"vector file (GeoPackage, GeoJSON, Shapefile) with the {what}")
    p.add_argument("--klinikker", metavar="FILE", help="clinic file for --layer klinikker")
    add_input_options(p)
    pop = p.add_mutually_exclusive_group()
    pop.add_argument("--population", metavar="FILE.tif", help="population raster (default: the region's planning-area surface)")
    p.add_argument("--cell-size", type=float, default=100.0, help="cell size in metres (default 100)")
    p.add_argument("--areas", default=DEFAULT_AREAS,
                   help=f"area layers for the breakdown (default {DEFAULT_AREAS}, as the build): "
                        f"{', '.join(AREA_LAYERS)} or a vector file (name column 'navn'); 'none' to skip")
    p.add_argument("--area-name-column", default="navn", help="name column of area files (default navn)")
    p.add_argument("--distance", choices=["auto", "network", "euclidean"], default="auto",
                   help="network: walking/cycling route on the road network (vejnet/ in the data directory, or --network); "
                        "euclidean: straight line × the detour factor measured per kommune; auto (default): network "
                        "where the road data is present")
    p.add_argument("--network", metavar="FILE", help="street network (GeoPackage of edges or .osm.pbf) for route distances")
    p.add_argument("--detour-factor", type=float, default=None,
                   help="one detour factor for straight-line distance everywhere (default: the factor measured for "
                        "each kommune, data/afstand/omvejsfaktorer_kommuner.csv; implies --distance euclidean)")
    p.add_argument("--weights-raster", metavar="FILE.tif",
                   help="population raster (WorldPop, GHS-POP; `kkr-geo data fetch worldpop`) used as the first "
                        "dasymetric weight where it covers a planning area")
    p.add_argument("--population-method", choices=["dasymetric", "areal"], default="dasymetric",
                   help="default surface without --population: dasymetric (Tabel 3 per planning area spread by "
                        "WorldPop points/road length; default) or areal (spread evenly)")
    p.add_argument("--out", default="analyse", metavar="DIR", help="output directory (default ./analyse)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace files in --out that kkr-geo did not write (never an input of the command)")


# --- inputs ----------------------------------------------------------------------------------------

def _data_dir(args):
    from kkr_geo.layers.datadir import resolve_data_dir
    return resolve_data_dir(args.data_dir)


def load_features(args, *, required: bool = True) -> gpd.GeoDataFrame | None:
    from kkr_geo.geo.io import read_vector
    if args.facilities:
        from kkr_geo.geo.geometry import split_missing_geometry
        from kkr_geo.layers.denmark import split_outside_denmark
        gdf = read_vector(args.facilities, **vector_options(args))
        gdf, missing = split_missing_geometry(gdf, source=Path(args.facilities).name)
        gdf, outside = split_outside_denmark(gdf, source=Path(args.facilities).name, data_dir=args.data_dir)
        gdf.attrs["source"] = str(args.facilities)
        gdf.attrs["notes"] = list(gdf.attrs.get("notes", [])) + missing + outside.lines()
        print_notes(gdf)
        if len(gdf) == 0:
            raise InputError(f"{args.facilities}: no feature lies in Denmark.", hint="check the file's CRS and lat/lon order.")
        return gdf
    if args.layer:
        from kkr_geo.layers import load_layer
        dd = _data_dir(args)
        opts = file_options(args) if args.layer == "klinikker" and args.klinikker else {}
        gdf = load_layer(args.layer, dd, **opts)
        print_notes(gdf)
        if args.layer == "brt" and getattr(args, "with_stops", False):
            from kkr_geo.geo.provenance import carry_provenance
            stops = load_layer("brt_stops", dd)
            gdf = carry_provenance(
                gpd.GeoDataFrame(pd.concat([gdf, stops[[c for c in stops.columns if c in ("projekt", "navn", "geometry")]]],
                                           ignore_index=True), geometry="geometry", crs=gdf.crs), gdf)
        gdf.attrs.setdefault("source", args.layer)
        if gdf.attrs.get("status") == "no_geometry" or len(gdf) == 0:
            raise DataError(f"layer {args.layer} has no geometry in this data directory.",
                            hint="supply the features as a file with --facilities FILE.")
        return gdf
    if required:
        raise InputError("no features given.", hint="use --layer NAME or --facilities FILE.")
    return None


def load_population(args):
    """The population grid: --population FILE, else the region's default planning-area surface."""
    from kkr_geo.geo.population import PopulationGrid
    if args.population:
        return PopulationGrid.from_raster(args.population, cell_size=args.cell_size if args.cell_size != 100.0 else None)
    from kkr_geo.layers.region_population import region_population_grid
    return region_population_grid(_data_dir(args), cell_size=args.cell_size,
                                  method=getattr(args, "population_method", "dasymetric"),
                                  weights_raster=getattr(args, "weights_raster", None))


def load_areas(args) -> dict[str, gpd.GeoDataFrame]:
    spec = (args.areas or "").strip()
    if not spec or spec.lower() == "none":
        return {}
    out = {}
    for item in [s.strip() for s in spec.split(",") if s.strip()]:
        if item in AREA_LAYERS:
            from kkr_geo.layers.region_defaults import area_layers
            try:
                out.update({k: v[["navn", "geometry"]] for k, v in area_layers(_data_dir(args), (item,)).items()})
            except DataError as exc:
                raise DataError(f"area layer {item}: {exc.message}", hint=exc.hint or "use --areas none to skip it.") from None
        else:
            from kkr_geo.geo.io import read_vector
            gdf = read_vector(item)
            print_notes(gdf)
            if args.area_name_column not in gdf.columns:
                raise InputError(f"{item}: no column {args.area_name_column!r} for the area names.",
                                 hint="pass --area-name-column with the column holding the names.")
            out[Path(item).stem] = gdf[[args.area_name_column, "geometry"]].rename(columns={args.area_name_column: "navn"})
    return out


def distance_options(args) -> dict:
    from kkr_geo.layers.region_defaults import distance_options as region_distance_options
    if args.network and args.detour_factor is not None:
        raise InputError("--detour-factor applies only without --network.", hint="drop one of the two options.")
    return region_distance_options(_data_dir(args), args.distance, detour_factor=args.detour_factor,
                                   network_file=args.network)


def parse_distances(text: str) -> list[float]:
    try:
        vals = [float(x) for x in str(text).replace(";", ",").split(",") if x.strip()]
    except ValueError:
        raise InputError(f"--distances {text!r}: not a comma-separated list of metres.", hint="e.g. --distances 400,800") from None
    if not vals:
        raise InputError("--distances is empty.", hint="e.g. --distances 400,800")
    return vals


# --- outputs ---------------------------------------------------------------------------------------

OUTPUTS = {
    "catchment": ["catchment.csv", "catchment_excel.csv", "catchment_omraader.csv", "catchment_omraader_excel.csv",
                  "catchment.gpkg", "catchment_meta.json"],
    "coverage": ["coverage.csv", "coverage_excel.csv", "coverage.gpkg", "coverage_distance.tif", "coverage_meta.json"],
    "access": ["access.csv", "access_excel.csv", "access_facilities.csv", "access_facilities_excel.csv", "access.gpkg",
               "access_per_10000.tif", "access_meta.json"],
}


def output_guard(args, command: str):
    """Check every output of ``command`` before any work: never an input, never a user's file."""
    from kkr_geo.geo.outputs import OutputGuard
    areas = [a.strip() for a in (getattr(args, "areas", "") or "").split(",") if a.strip() and a.strip() not in AREA_LAYERS
             and a.strip().lower() != "none"]
    inputs = [getattr(args, k, None) for k in ("facilities", "klinikker", "population", "network", "weights_raster")]
    inputs += areas
    guard = OutputGuard(Path(args.out), command=command, overwrite=args.overwrite, inputs=inputs)
    guard.check(Path(args.out) / n for n in OUTPUTS[command])
    return guard


def finish_outputs(guard, command: str, paths: list[Path]) -> None:
    """Record what was written; an output of an earlier run of ``command`` not written now is stale."""
    for p in paths:
        guard.record(p, command)
    for line in guard.stale({command}, paths).lines():
        print(f"stale: {line}")

META_COLUMNS = ("distance_method", "population_source", "population_precision")


def _with_meta(df: pd.DataFrame, meta: dict) -> pd.DataFrame:
    out = df.copy()
    for k in META_COLUMNS:
        out[k] = meta.get(k)
    return out


def write_csv(df: pd.DataFrame, path: Path) -> list[Path]:
    """UTF-8 CSV and the Danish Excel variant; text cells a spreadsheet would run as formulas are neutralised."""
    from kkr_geo.geo.io import atomic_path
    from kkr_geo.geo.safe_text import csv_frame
    df = csv_frame(df)
    excel = path.with_name(path.stem + "_excel.csv")
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, encoding="utf-8")
    with atomic_path(excel) as tmp:
        df.to_csv(tmp, index=False, sep=";", decimal=",", encoding="utf-8-sig")
    return [path, excel]


def write_gpkg(layers: dict[str, gpd.GeoDataFrame], path: Path) -> Path:
    """Write the layers; text GDAL cannot hold (NUL, lone surrogates) is replaced and the change printed."""
    from kkr_geo.geo.io import atomic_path
    from kkr_geo.geo.safe_text import TextReport, text_frame
    report = TextReport()
    with atomic_path(path) as tmp:
        for name, gdf in layers.items():
            g = gdf.copy()
            for col in g.columns:
                if col != g.geometry.name and g[col].dtype == object:
                    g[col] = g[col].map(lambda v: v if v is None or isinstance(v, (str, int, float, bool)) else str(v))
            g = text_frame(g, label=f"{path.name} layer {name}", report=report)
            g.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio")
    for item in report.items:
        print(f"note: {item}")
    return path


def write_meta(meta: dict, path: Path) -> Path:
    from kkr_geo.geo.io import write_text_atomic
    return write_text_atomic(path, json.dumps(meta, ensure_ascii=False, indent=2, default=str) + "\n")


def _report(paths: list[Path], meta: dict) -> None:
    print(f"distance: {meta.get('distance_method')}; population: {meta.get('population_source')} "
          f"({meta.get('population_precision')})")
    for p in paths:
        print(f"wrote {p}")


# --- commands --------------------------------------------------------------------------------------

def cmd_catchment(args) -> int:
    _checks.out_dir(args.out)  # before any work
    from kkr_geo.layers.analyses import catchment
    guard = output_guard(args, "catchment")
    features = load_features(args)
    by = args.by
    if by == "auto":
        by = "projekt" if "projekt" in features.columns else None
    elif by.lower() == "none":
        by = None
    grid = load_population(args)
    res = catchment(features, grid, parse_distances(args.distances), by=by, mode=args.mode,
                    areas=load_areas(args), **distance_options(args))
    out = Path(_checks.out_dir(args.out))
    paths = write_csv(_with_meta(res.table, res.meta), out / "catchment.csv")
    paths += write_csv(_with_meta(res.tables["pr_omraade"], res.meta), out / "catchment_omraader.csv")
    paths.append(write_gpkg({"catchment": _with_meta(res.geometry, res.meta)}, out / "catchment.gpkg"))
    paths.append(write_meta(res.meta, out / "catchment_meta.json"))
    finish_outputs(guard, "catchment", paths)
    print(res.table.to_string(index=False, float_format=lambda v: f"{v:,.1f}"))
    _report(paths, res.meta)
    return 0


def cmd_coverage(args) -> int:
    _checks.out_dir(args.out)  # before any work
    from kkr_geo.layers.analyses import coverage
    guard = output_guard(args, "coverage")
    facilities = load_features(args)
    grid = load_population(args)
    areas = load_areas(args)
    res = coverage(facilities, grid, args.threshold, areas=areas, **distance_options(args))
    out = Path(_checks.out_dir(args.out))
    paths = write_csv(_with_meta(res.table, res.meta), out / "coverage.csv")
    paths.append(write_gpkg({"gaps": _with_meta(res.geometry, res.meta)}, out / "coverage.gpkg"))
    paths.append(_write_grid_tif(grid, res.raw.distance, out / "coverage_distance.tif", "distance to nearest facility (m)"))
    paths.append(write_meta(res.meta, out / "coverage_meta.json"))
    finish_outputs(guard, "coverage", paths)
    print(res.table.to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
    _report(paths, res.meta)
    return 0


def cmd_access(args) -> int:
    out = Path(_checks.out_dir(args.out))
    guard = output_guard(args, "access")
    grid = None
    if args.planning_area:
        from kkr_geo.layers.analyses import access_by_planning_area
        res = access_by_planning_area(_data_dir(args), speciale=args.speciale, capacity_column=args.capacity_column,
                                      facilities=load_features(args, required=False))
    else:
        from kkr_geo.layers.analyses import access
        if args.speciale:
            raise InputError("--speciale applies only with --planning-area.",
                             hint="with facilities, name their capacity column with --capacity-column.")
        if args.catchment is None:
            raise InputError("--catchment is required (or use --planning-area).", hint="e.g. --catchment 2000")
        facilities = load_features(args)
        grid = load_population(args)
        res = access(facilities, grid, args.catchment, capacity_column=args.capacity_column, decay=args.decay,
                     areas=load_areas(args), **distance_options(args))
    paths = write_csv(_with_meta(res.table, res.meta), out / "access.csv")
    if "facilities" in res.tables:
        paths += write_csv(_with_meta(res.tables["facilities"], res.meta), out / "access_facilities.csv")
    paths.append(write_gpkg({k: _with_meta(v, res.meta) for k, v in res.layers.items()}, out / "access.gpkg"))
    if grid is not None:
        paths.append(_write_grid_tif(grid, res.raw.cells, out / "access_per_10000.tif", "capacity per 10,000 inhabitants"))
    paths.append(write_meta(res.meta, out / "access_meta.json"))
    finish_outputs(guard, "access", paths)
    print(res.table.to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
    _report(paths, res.meta)
    return 0


def _write_grid_tif(grid, values: np.ndarray, path: Path, description: str) -> Path:
    import rasterio

    from kkr_geo.geo.io import atomic_path
    arr = np.where(np.isinf(values), -1.0, values).astype("float32")  # -1 = unreachable
    profile = dict(driver="GTiff", width=grid.shape[1], height=grid.shape[0], count=1, dtype="float32",
                   crs=grid.crs, transform=grid.transform, nodata=np.nan, compress="deflate")
    with atomic_path(path) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(arr, 1)
            dst.set_band_description(1, description)
            dst.update_tags(population_source=grid.source, population_precision=grid.precision,
                            note="NaN = unpopulated cell; -1 = unreachable")
    return path
