"""Command-line options for reading a user's file when the file does not say it itself: which layer
of a multi-layer GeoPackage (``--file-layer``), which CRS a file without one is in (``--crs``), and
which number format a table uses (``--decimal``/``--thousands``). Shared by every command that
takes a clinic or facility file, so the commands stay small.
"""

from __future__ import annotations

import sys


def add_input_options(p) -> None:
    """How to read a user's file when it does not say so itself (shared by the commands taking files)."""
    p.add_argument("--file-layer", metavar="NAME",
                   help="layer of a multi-layer file (GeoPackage) given with --facilities/--klinikker")
    p.add_argument("--crs", metavar="EPSG:NNNN", help="CRS of a vector file that has none (e.g. a shapefile without .prj)")
    p.add_argument("--decimal", choices=[",", "."], help="decimal separator of a clinic table (default: from the file)")
    p.add_argument("--thousands", choices=[".", ",", "space", "none"],
                   help="thousands separator of a clinic table (default: from the file)")


def vector_options(args) -> dict:
    return {"layer": getattr(args, "file_layer", None), "assume_crs": getattr(args, "crs", None)}


def file_options(args) -> dict:
    """load_layer options for a user's clinic file (path, layer, CRS, number format)."""
    thousands = {"space": " ", "none": ""}.get(getattr(args, "thousands", None), getattr(args, "thousands", None))
    return {"path": args.klinikker, **vector_options(args), "decimal": getattr(args, "decimal", None), "thousands": thousands}


def print_notes(gdf) -> None:
    """The notes of an input (CRS assumed, rows or features left out, cells not read) on stderr."""
    for note in gdf.attrs.get("notes", []):
        print(f"note: {note}", file=sys.stderr)


