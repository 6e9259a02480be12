"""Limits of values a user gives (spec keys, API arguments, command-line options), in one place for every floor.

Each limit is checked where the value enters (the spec reader, ``build()``, the command line) and every check
reads it from here, so the three cannot drift apart again (the DPI range was 50–1200 in specs, 10–1200 in
``build()`` and 20–1200 on the command line).
"""

from __future__ import annotations

# PNG resolution (spec ``dpi:``, ``build(dpi=)``, ``--dpi``). Below 20 dpi the text is unreadable (20–60 dpi is for
# quick drafts and tests); above 1200 an A3 page is already ~14.000 × 20.000 pixels.
DPI_RANGE = (20, 1200)
# Render processes at once (``--jobs``; ``build(jobs=)`` only needs at least 1).
JOBS_RANGE = (1, 64)


def dpi_ok(value) -> bool:
    """A whole number (not a bool) inside :data:`DPI_RANGE`."""
    lo, hi = DPI_RANGE
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def range_text(limits: tuple[int, int]) -> str:
    """``(20, 1200)`` -> ``'20–1200'`` for messages."""
    return f"{limits[0]}–{limits[1]}"
