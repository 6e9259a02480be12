"""Rows left out of an input (a clinic file, a flow table, an indicator table): each group is said on the
console (logger ``kkr_geo.layers``, WARNING), kept in the frame's ``attrs['left_out_rows']`` for the
build summary (Danish), and returned as an English note for the layer's notes. Nothing is left out
without a word.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger("kkr_geo.layers")

ATTR = "left_out_rows"
_collecting: list[list] = []   # the buckets of the runs collecting records now (a build)


def line_ranges(numbers, limit: int = 30) -> str:
    """``[2, 3, 4, 9]`` -> ``'2-4, 9'``; at most ``limit`` ranges, then how many lines there are in all."""
    nums = sorted({int(n) for n in numbers})
    ranges: list[str] = []
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        ranges.append(str(nums[i]) if i == j else f"{nums[i]}-{nums[j]}")
        i = j + 1
    if len(ranges) > limit:
        return ", ".join(ranges[:limit]) + f", ... ({len(nums)} in all)"
    return ", ".join(ranges)


@dataclass(frozen=True)
class LeftOut:
    source: str
    reason: str
    numbers: tuple[int, ...]
    note: str        # English: console and layer notes
    summary: str     # Danish: the build summary

    def __deepcopy__(self, memo) -> LeftOut:
        return self  # immutable; pandas deep-copies attrs on every operation of the frame carrying it


def left_out(source: str, numbers, reason: str, reason_da: str, *, unit: str = "line", examples=()) -> LeftOut:
    """One group of rows left out for one reason: logged now; returns the record for ``attrs[ATTR]``.

    ``source`` is the file name, ``numbers`` the lines (or features) left out, ``reason``/``reason_da``
    why in English (console, notes) and Danish (build summary); ``examples`` a few texts to show."""
    numbers = [int(n) for n in numbers]
    shown = f" ({'; '.join(map(str, list(examples)[:5]))}{' ...' if len(list(examples)) > 5 else ''})" if examples else ""
    which = f"{unit} {numbers[0]}" if len(set(numbers)) == 1 else f"{unit}s {line_ranges(numbers)}"
    note = f"{source}: {len(numbers)} {unit}(s) left out, {reason}: {which}{shown}"
    log.warning("%s", note)
    unit_da = "linje" if unit == "line" else "objekt"
    summary = (f"{source}: {len(numbers)} {'rækker' if unit == 'line' else 'objekter'} udeladt, {reason_da} "
               f"({unit_da} {line_ranges(numbers)})")
    record = LeftOut(source, reason, tuple(numbers), note, summary)
    for bucket in _collecting:
        bucket.append(record)
    return record


@contextmanager
def collecting() -> Iterator[list[LeftOut]]:
    """Every record made while the block runs, whichever reader made it (a build collects the rows left
    out of every table it reads, also of tables whose frames do not reach the summary)."""
    bucket: list[LeftOut] = []
    _collecting.append(bucket)
    try:
        yield bucket
    finally:
        _collecting.remove(bucket)


def add(frame, records: list[LeftOut]) -> None:
    """Attach left-out records to a frame's attrs (kept with the frame, read by the build summary)."""
    if records:
        frame.attrs[ATTR] = list(frame.attrs.get(ATTR, [])) + list(records)


def summary_lines(frames, records=()) -> list[str]:
    """The Danish lines of the build summary for every frame's left-out rows and ``records`` (each said once)."""
    out: list[str] = []
    for rec in records:
        if rec.summary not in out:
            out.append(rec.summary)
    for frame in frames:
        for rec in getattr(frame, "attrs", {}).get(ATTR, []) or []:
            if rec.summary not in out:
                out.append(rec.summary)
    return out
