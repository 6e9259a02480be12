"""Checks of command-line values that argparse cannot express; light (no heavy imports), run before any work."""

from __future__ import annotations

import datetime as dt
import re

from kkr_geo.geo.errors import InputError
from kkr_geo.geo.limits import DPI_RANGE, JOBS_RANGE  # noqa: F401  (DPI_RANGE: also read by commands/build.py)


def out_dir(value: str, option: str = "--out") -> str:
    """Refuse an empty output directory (it would silently mean the current directory)."""
    if value is None or not str(value).strip():
        raise InputError(f"{option} is empty: no output directory given.",
                         hint=f"name a directory, e.g. {option} bilag (use {option} . for the current directory).")
    return value


def date(value: str) -> str:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value or ""):
        raise InputError(f"--date {value}: expected a date as YYYY-MM-DD.", hint="e.g. --date 2024-03-01.")
    try:
        dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"--date {value}: not a calendar date ({exc}); expected YYYY-MM-DD.",
                         hint="e.g. --date 2024-03-01.") from None
    return value


def dpi(value: str | int | None) -> int | None:
    if value is None:
        return None
    lo, hi = DPI_RANGE
    try:
        n = int(str(value).strip())
    except ValueError:
        raise InputError(f"--dpi {value}: not a whole number of dots per inch.", hint=f"use {lo}–{hi}, e.g. --dpi 300.") from None
    if not lo <= n <= hi:
        raise InputError(f"--dpi {value}: outside {lo}–{hi} dots per inch.", hint="e.g. --dpi 300 for print, 150 for screen.")
    return n


def jobs(value: str | int | None) -> int | None:
    """``--jobs N``: processes rendering maps at once (1 = in the build process)."""
    if value is None:
        return None
    try:
        n = int(str(value).strip())
    except ValueError:
        raise InputError(f"--jobs {value}: not a whole number of processes.",
                         hint="e.g. --jobs 2 (1 renders one map at a time).") from None
    lo, hi = JOBS_RANGE
    if not lo <= n <= hi:
        raise InputError(f"--jobs {value}: outside {lo}–{hi} processes.", hint="leave it out to use the cores available.")
    return n


def formats(value: str | None) -> list[str] | None:
    from kkr_geo.maps.formats import FORMATS

    if value is None:
        return None
    fmts = [f.strip().lower() for f in value.split(",") if f.strip()]
    bad = [f for f in fmts if f not in FORMATS]
    if bad or not fmts:
        raise InputError(f"--formats {value}: unknown format(s) {', '.join(bad) or '(none given)'}.",
                         hint=f"use a comma-separated list of {', '.join(FORMATS)}.")
    return fmts
