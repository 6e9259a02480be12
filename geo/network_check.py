"""Every network answer carries its own check: network ÷ straight-line distance per area.

A street network that is badly noded, or a place joined to the wrong piece of it, shows up as a ratio
far from the usual 1.2–1.4 of walking in Danish towns. :func:`ratio_check` summarises, per area, the
ratio of each populated cell's network distance to its straight-line distance (cells 200 m or more
from the target in a straight line, reached on the network), as median and 90th percentile, and
returns Danish warning notes for areas whose median lies outside :data:`PLAUSIBLE_MEDIAN`.
"""

from __future__ import annotations

import logging

import numpy as np

#: A median network ÷ straight-line ratio outside this range is reported, never silently mapped.
PLAUSIBLE_MEDIAN = (1.05, 1.6)
#: Cells nearer than this in a straight line are left out (a tiny denominator).
MIN_STRAIGHT_M = 200.0
#: An area needs this many cells for its own ratio.
MIN_CELLS = 20

log = logging.getLogger("kkr_geo.geo.network_check")


def dk(x: float) -> str:
    """A number with two decimals and a decimal comma (map text)."""
    return f"{x:.2f}".replace(".", ",")


def thousands(x: float) -> str:
    """A whole number with a thousands dot (map text): 12.859."""
    return f"{x:,.0f}".replace(",", ".")


def place_notes(network, xy: np.ndarray, names: list[str]) -> list[str]:
    """Danish notes for places far from every street (their access leg is a straight-line estimate) or
    joining none (they reach nobody on the network)."""
    from kkr_geo.geo.distance import PLACE_FAR_M, PLACE_MAX_SNAP_M, place_access
    rep = place_access(network, xy)
    notes = []
    if rep["far"]:
        # one line for all of them (a map's notes stay short)
        listed = [f"{names[i]} {thousands(rep['legs'][i])} m" for i in rep["far"]]
        notes.append("Langt fra nærmeste vej i vejnettet (adgangen regnet som luftlinje): " + ", ".join(listed) + ".")
        for i in rep["far"]:
            log.warning("%s is %.0f m from the nearest usable street (> %.0f m): access leg estimated", names[i],
                        rep["legs"][i], PLACE_FAR_M)
    if rep["unjoined"]:
        # typically places beyond the road file's area (stations in the neighbouring region): one line
        listed = [names[i] for i in rep["unjoined"]]
        shown = ", ".join(listed[:5]) + (f" og {len(listed) - 5} flere" if len(listed) > 5 else "")
        what = "1 sted ligger" if len(listed) == 1 else f"{len(listed)} steder ligger"
        notes.append(f"{what} mere end {thousands(PLACE_MAX_SNAP_M)} m fra vejnettet (uden for dets område) og når "
                     f"ingen ad vej: {shown}.")
        log.warning("%d places join no street of the network (more than %.0f m away): %s", len(listed),
                    PLACE_MAX_SNAP_M, ", ".join(listed))
    return notes


def _summary(r: np.ndarray) -> dict:
    return {"median": round(float(np.median(r)), 3), "p90": round(float(np.percentile(r, 90)), 3), "cells": int(len(r))}


def ratio_check(d_net: np.ndarray, d_straight: np.ndarray, labels: dict[str, tuple[list[str], np.ndarray]] | None = None
                ) -> tuple[dict, list[str]]:
    """``(check, notes)``: ``check = {"overall": {...}, "<area type>": {area: {median, p90, cells}}, "plausible_median":
    [lo, hi]}``; ``labels`` maps an area type to (names, each cell's area index, -1 = none)."""
    d_net, d_straight = np.asarray(d_net, float), np.asarray(d_straight, float)
    ok = np.isfinite(d_net) & np.isfinite(d_straight) & (d_straight >= MIN_STRAIGHT_M)
    ratio = np.where(ok, d_net / np.where(ok, d_straight, 1.0), np.nan)
    check: dict = {"plausible_median": list(PLAUSIBLE_MEDIAN), "min_straight_m": MIN_STRAIGHT_M}
    notes: list[str] = []
    noted: set[str] = set()
    lo, hi = PLAUSIBLE_MEDIAN
    if ok.sum() >= MIN_CELLS:
        check["overall"] = _summary(ratio[ok])
    for area_type, (names, lab) in (labels or {}).items():
        per = {}
        for j, name in enumerate(names):
            m = ok & (lab == j)
            if m.sum() < MIN_CELLS:
                continue
            per[name] = s = _summary(ratio[m])
            if not lo <= s["median"] <= hi and name not in noted:
                noted.add(name)
                notes.append(f"Kontrol: vejnet ÷ luftlinje i {name} er {dk(s['median'])} (median), uden for "
                             f"{dk(lo)}–{dk(hi)}; afstandene dér er usikre.")
                log.warning("network ÷ straight-line ratio in %s: median %.2f, outside %.2f–%.2f", name, s["median"], lo, hi)
        check[area_type] = per
    return check, list(dict.fromkeys(notes))  # an area in two layers (kommune and planområde) is noted once


def dominant_labels(weights) -> tuple[list[str], np.ndarray]:
    """(names, each cell's area with the largest share, -1 = outside every area) from an AreaWeights."""
    m = weights.matrix
    lab = np.asarray(m.argmax(axis=1)).ravel()
    lab[lab >= len(weights.names)] = -1
    return list(weights.names), lab
