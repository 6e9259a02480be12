"""``kkr-geo layers list|show|export``."""

from __future__ import annotations

from kkr_geo.commands._lazy import LazyChoices
from kkr_geo.input_options import add_input_options, file_options
from kkr_geo.layers.datadir import resolve_data_dir

# kkr_geo.layers.registry loads every layer module (geopandas): imported in the handlers and for the
# choices only when they are checked, so that parsing (--help, --version) stays fast.


def _layer_names() -> tuple[str, ...]:
    from kkr_geo.layers.registry import layer_names
    return layer_names()


def register(sub) -> None:
    p = sub.add_parser("layers", help="list, inspect and export the region's layers")
    lsub = p.add_subparsers(dest="layers_command", metavar="ACTION")
    lp = lsub.add_parser("list", help="the layers, their status and precision")
    lp.set_defaults(func=cmd_list)
    sp = lsub.add_parser("show", help="schema, provenance and notes of one layer")
    sp.add_argument("name", type=LazyChoices(_layer_names), metavar="NAME",
                    help="layer name (see `kkr-geo layers list`)")
    sp.add_argument("--klinikker", metavar="FILE", help="clinic file (for the klinikker layer)")
    add_input_options(sp)
    sp.set_defaults(func=cmd_show)
    ep = lsub.add_parser("export", help="write all available layers to one GeoPackage (EPSG:25832, QGIS styles)")
    ep.add_argument("output", help="the .gpkg file to write")
    ep.add_argument("--neighbours", action="store_true", help="include neighbouring Region Sjælland municipalities in kommuner")
    ep.add_argument("--klinikker", metavar="FILE", help="clinic file (CSV/XLSX/GPKG) to include as the klinikker layer")
    ep.add_argument("--overwrite", action="store_true",
                    help="replace the output file even if kkr-geo did not write it (its own layers are lost)")
    add_input_options(ep)
    ep.set_defaults(func=cmd_export)
    p.set_defaults(func=lambda args: (p.print_help(), 1)[1])


def _print_notes(name, gdf) -> None:
    for note in gdf.attrs.get("notes", []):
        print(f"      note: {note}")


def cmd_list(args) -> int:
    from kkr_geo.layers.registry import available_layers, layer_info, layer_names

    dd = resolve_data_dir(args.data_dir)
    print(f"Data directory: {dd}")
    layers = available_layers(dd)
    for name in layer_names():
        info = layer_info(name)
        if name in layers:
            g = layers[name]
            status, precision = g.attrs.get("status"), g.attrs.get("precision")
            print(f"  {name:20s} {len(g):4d} {info.geometry:8s} status={status}  precision={precision}")
            print(f"      source: {g.attrs.get('source') or '-'}")
            _print_notes(name, g)
        else:
            print(f"  {name:20s}    - {info.geometry:8s} not available: {layers.skipped[name].splitlines()[0]}")
    _list_derived(dd)
    return 0


def _list_derived(dd) -> None:
    """Derived datasets (made by the build from layers and tables): what they are made of, their sources,
    and whether the data directory has their tables. Not computed here (catchments take a while)."""
    from kkr_geo.layers import catalog
    from kkr_geo.layers.registry import entries, split_needs
    print("Derived datasets (made by `kkr-geo build`; tables and catchments):")
    all_entries = entries()

    def required_missing(name, seen=()):
        srcs, keys = split_needs(all_entries[name])
        out = [catalog.DATASETS[k].path for k in keys if k in catalog.DATASETS and catalog.DATASETS[k].required is not False
               and not (dd.file(catalog.DATASETS[k].path)).exists()]
        if name in ("klinikker",) and not (dd.file(catalog.DATASETS["klinikker"].path)).exists():
            out.append(catalog.DATASETS["klinikker"].path)
        for src in srcs:
            if src not in seen:
                out += required_missing(src, (*seen, name))
        return list(dict.fromkeys(out))

    for name, info in entries(kind="derived").items():
        srcs, keys = split_needs(info)
        tables = [k for k in keys if k in catalog.DATASETS and catalog.DATASETS[k].kind == "table"]
        missing = required_missing(name) + [catalog.DATASETS[k].path for k in tables
                                            if not (dd.file(catalog.DATASETS[k].path)).exists()]
        publishers = [catalog.DATASETS[k].publisher for k in keys if k in catalog.DATASETS]
        source = info.provenance.source or "; ".join(dict.fromkeys(publishers)) or "(from " + ", ".join(srcs) + ")"
        if info.provenance.precision:
            precision = info.provenance.precision
        elif info.summary or name.endswith("_kommuner"):
            precision = "approximate (population spread evenly within planning areas; distance as the crow flies × detour)"
        elif tables:
            precision = "figures as published (table joined onto " + ", ".join(srcs) + ")"
        else:
            precision = "from " + ", ".join(srcs)
        state = "available" if not missing else "not available: needs " + ", ".join(dict.fromkeys(missing))
        print(f"  {name:30s} {info.geometry:8s} {state}")
        print(f"      {info.title}; source: {source}; precision: {precision}")


def cmd_show(args) -> int:
    from kkr_geo.layers.registry import layer_info, load_layer

    dd = resolve_data_dir(args.data_dir)
    opts = file_options(args) if args.name == "klinikker" and args.klinikker else {}
    gdf = load_layer(args.name, dd, **opts)
    info = layer_info(args.name)
    print(f"{args.name}: {info.title}\n  {info.description}")
    for key in ("source", "licence", "precision", "status"):
        print(f"  {key}: {gdf.attrs.get(key)}")
    print(f"  features: {len(gdf)}; CRS: {gdf.crs.to_string() if gdf.crs else None}")
    print("  columns:")
    for col in gdf.columns:
        if col != "geometry":
            print(f"    {col:26s} {str(gdf[col].dtype):10s} {info.schema.get(col, '')}")
    _print_notes(args.name, gdf)
    return 0


def cmd_export(args) -> int:
    from pathlib import Path

    from kkr_geo.geo.outputs import OutputGuard
    from kkr_geo.layers.export import export_geopackage
    from kkr_geo.layers.registry import available_layers, layer_names, load_layer

    output = Path(args.output)
    guard = OutputGuard(output.parent, command="layers export", overwrite=args.overwrite, inputs=[args.klinikker])
    guard.check([output])  # never the input, never a file kkr-geo did not write (unless --overwrite)
    dd = resolve_data_dir(args.data_dir)
    print(f"Data directory: {dd}")
    found = available_layers(dd)
    layers = dict(found)
    if args.neighbours:
        layers["kommuner"] = load_layer("kommuner", dd, include_neighbours=True)
    if args.klinikker:
        layers["klinikker"] = load_layer("klinikker", dd, **file_options(args))
    if not any(len(g) for g in layers.values()):
        from kkr_geo.geo.errors import DataError

        raise DataError(f"no layer can be built from the data directory {dd}; nothing was written.",
                        hint="run `kkr-geo data status` to see what is missing, then `kkr-geo data fetch` or --data-dir.")
    summary = export_geopackage(output, layers)
    guard.record(output, "layers export")
    print(f"Wrote {args.output}:")
    for name, info in summary["layers"].items():
        styled = "styled" if name in summary["styles"] else "no style"
        print(f"  {name:20s} {info['features']:5d} {info['geometry_type']:16s} {info['crs']}  {styled}")
        _print_notes(name, layers[name])
    for item in summary.get("text_changes", []):
        print(f"  note: {item}")
    for n in layer_names():
        if n not in layers:
            print(f"  {n:20s} not included: {found.skipped.get(n, 'no data').splitlines()[0]}")
    return 0
