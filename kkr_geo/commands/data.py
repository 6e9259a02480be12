"""``kkr-geo data status`` and ``kkr-geo data fetch``."""

from __future__ import annotations

from pathlib import Path

from kkr_geo.layers.catalog import fetched_metadata, status
from kkr_geo.layers.datadir import resolve_data_dir, user_cache_dir


def register(sub) -> None:
    p = sub.add_parser("data", help="show or fetch the data the layers need")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION")
    s = dsub.add_parser("status", help="what each layer needs and what was found where")
    s.set_defaults(func=cmd_status)
    f = dsub.add_parser("fetch", help="download the real sources (DAGI, Danmarks Statistik, WorldPop, OSM, GTFS) into the cache",
                        description="Without NAME: the national boundaries and population (DAWA, StatBank). With NAME: one "
                                    "source: worldpop, supercykelstier, fysioterapeuter, hospitaler, gangveje, gtfs, dagi "
                                    "(Dataforsyningen WFS, needs KKR_GEO_DATAFORSYNINGEN_TOKEN), befolkning, or kommuner, "
                                    "postnumre, regioner (DAWA). Large downloads resume after an interruption.")
    f.add_argument("names", nargs="*", metavar="NAME",
                   help="source(s) to fetch (default: kommuner, postnumre, regioner, befolkning)")
    f.add_argument("--only", action="append", metavar="NAME", help="fetch only this dataset (repeatable)")
    f.add_argument("--to", metavar="DIR", help="target directory (default: the per-user cache)")
    f.set_defaults(func=cmd_fetch)
    i = dsub.add_parser("import", help="put a manually downloaded boundary file (GeoJSON) into the data directory")
    i.add_argument("name", choices=["kommuner", "postnumre", "regioner"], help="which boundary dataset the file holds")
    i.add_argument("file", help="the downloaded GeoJSON (DAWA fields kode/navn, or DAGI fields KOMKODE/KOMNAVN ...)")
    i.add_argument("--to", metavar="DIR", help="target directory (default: the per-user cache)")
    i.set_defaults(func=cmd_import)
    p.set_defaults(func=lambda args: (p.print_help(), 1)[1])


def cmd_status(args) -> int:
    dd = resolve_data_dir(args.data_dir)
    print(f"Data: {dd}")
    if dd.origin == "bundle":
        print("  Every file below comes from the embedded default that ships with kkr-geo; a data directory "
              "(--data-dir, KKR_GEO_DATA, or `kkr-geo data fetch`) overrides it file by file.")
    fetched = fetched_metadata(dd)
    missing_required = 0
    for row in status(dd):
        if row["found"]:
            mark = "bundle " if row["where"] == "bundle" else "datadir"
        else:
            mark = "MISSING" if row["required"] else "absent "
        if not row["found"] and row["required"]:
            missing_required += 1
        print(f"  [{mark}] {row['path']}")
        print(f"            {row['what']}")
        print(f"            used by: {row['used_by']}; publisher: {row['publisher']}; licence: {row['licence']}")
        if row["attribution"]:
            print(f"            attribution: {row['attribution']}")
        if row["found"]:
            extra = fetched.get(row["path"], {}) if isinstance(fetched, dict) else {}
            when = extra.get("fetched") or extra.get("date") or row["date"]
            fetched_from = f"; fetched from {extra['url']}" if extra.get("url") else ""
            where = "embedded default" if row["where"] == "bundle" else row["where"]
            print(f"            from: {where}; date: {when}; size: {row['size']}{fetched_from}")
        else:
            print(f"            how to get it: {row['how']}")
    if missing_required:
        print(f"\n{missing_required} required dataset(s) missing. Run `kkr-geo data fetch`, or point --data-dir / "
              f"KKR_GEO_DATA at a directory that has them (see data/README.md).")
    print("\nLicences and attribution of the embedded default: ATTRIBUTION.md and data/MANIFEST.json in the project.")
    return 0


def cmd_fetch(args) -> int:
    from kkr_geo.geo.errors import InputError
    from kkr_geo.layers import fetch as fetch_mod
    from kkr_geo.layers import fetch_sources

    target = Path(args.to) if args.to else (resolve_data_dir(args.data_dir).path if args.data_dir else user_cache_dir())
    print(f"Fetching into {target}")
    names = list(getattr(args, "names", None) or [])
    if names:
        known = set(fetch_sources.NAMES) | set(fetch_mod.DATASETS)
        unknown = [n for n in names if n not in known]
        if unknown:
            raise InputError(f"unknown source {', '.join(unknown)}.", hint=f"choose from {', '.join(sorted(known))}.")
        for name in names:
            if name in fetch_sources.NAMES:
                entry = fetch_sources.fetch_source(name, target)
                print(f"  {name}: {entry.get('records')} records, recorded in {target / fetch_sources.SOURCES_FILE}")
            else:
                for r in fetch_mod.fetch(target, [name]):
                    print(f"  {r}")
        return 0
    results = fetch_mod.fetch(target, args.only)
    for r in results:
        print(f"  {r}")
    return 0


def cmd_import(args) -> int:
    from kkr_geo.layers import fetch as fetch_mod

    target = Path(args.to) if args.to else (resolve_data_dir(args.data_dir).path if args.data_dir else user_cache_dir())
    result = fetch_mod.import_file(args.name, args.file, target)
    print(f"  {result}")
    return 0
