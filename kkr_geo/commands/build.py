"""``kkr-geo build``: rebuild the whole annex set (maps, GeoPackage, summary table) from the specs."""

from __future__ import annotations

from kkr_geo.commands import _checks


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "build", help="build every map spec into HTML + PNG + PDF, the GeoPackage and the summary table",
        description="Rebuild the annex set from the map specifications in maps/specs (or --specs DIR). "
                    "The same inputs give byte-identical outputs.")
    p.add_argument("--only", metavar="NAME", action="append",
                   help="build only this map (repeatable or comma-separated); skips the GeoPackage and summary")
    p.add_argument("--out", metavar="DIR", default="bilag", help="output directory (default: ./bilag)")
    p.add_argument("--specs", metavar="PATH", help="a map spec file or a directory of specs (default: the shipped maps/specs)")
    p.add_argument("--no-tiles", action="store_true",
                   help="interactive maps without background tiles (boundaries only; no network use at all)")
    lo, hi = _checks.DPI_RANGE
    p.add_argument("--dpi", help=f"override the specs' PNG resolution ({lo}–{hi}; default 300)")
    p.add_argument("--formats", help="comma-separated output formats overriding the specs (html,png,pdf,svg)")
    p.add_argument("--date", metavar="YYYY-MM-DD",
                   help="print 'Udarbejdet <date>' on the maps (off by default so rebuilds are byte-identical)")
    p.add_argument("--jobs", metavar="N",
                   help="render N maps at once in worker processes (default: the cores available; 1 = one at a time)")
    p.add_argument("--list", action="store_true", help="list the map specs and exit")
    p.add_argument("--overwrite", action="store_true",
                   help="replace files in --out that kkr-geo did not write (or that were changed since)")
    p.set_defaults(func=run)


def run(args) -> int:
    # every value is checked before the (slow) map libraries are imported
    out = _checks.out_dir(args.out)
    dpi = _checks.dpi(args.dpi)
    formats = _checks.formats(args.formats)
    jobs = _checks.jobs(args.jobs)
    if args.date is not None:
        _checks.date(args.date)
    if args.specs is not None:
        from kkr_geo.maps.spec import spec_files
        spec_files(args.specs)

    from kkr_geo.maps.spec import load_specs

    if args.list:
        for spec in load_specs(args.specs):
            print(f"{spec.name:34s} {spec.page_size} {spec.orientation:9s} {','.join(spec.formats):16s} {spec.title}")
        return 0
    only = [n.strip() for item in (args.only or []) for n in item.split(",") if n.strip()] or None

    from kkr_geo.layers.datadir import resolve_data_dir
    from kkr_geo.maps.build import build

    dd = resolve_data_dir(args.data_dir)
    # progress, notes and warnings are logged (stderr); the result is printed (stdout)
    report = build(dd, out, only=only, spec_dir=args.specs, tiles=False if args.no_tiles else None,
                   dpi=dpi, formats=formats, date_stamp=args.date, overwrite=args.overwrite, jobs=jobs)
    for m in report.maps:
        if m.skipped:
            print(f"{m.name}: not built – {m.skipped}")
        else:
            print(f"{m.name}: {', '.join(str(p) for p in m.files.values())}")
    if report.geopackage:
        print(f"GeoPackage: {report.geopackage}")
    for p in report.summary_files:
        print(f"summary: {p}")
    if report.stopped:
        import sys
        print(f"error: {len(report.stopped)} map(s) not built: their texts say what the data does not "
              f"({', '.join(m.name for m in report.stopped)}); see the messages above.", file=sys.stderr)
        return 3
    if report.maps and not report.built:
        import sys
        print(f"error: none of the {len(report.maps)} map(s) could be built from {dd}; see the messages above and "
              "`kkr-geo data status`.", file=sys.stderr)
        return 3
    return 0
