"""Population per planlægningsområde from the practice plan's Tabel 3 (and Tabel 4).

The plan publishes capacity and inhabitants per capacity ("borgere pr. kapacitet") per planning
area; population = kapacitet × borgere pr. kapacitet. This is the region's default population
source when no population grid is supplied: approximate (rounded published ratios) and coarse
(spread evenly over each planning area).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from kkr_geo.geo.errors import InputError
from kkr_geo.geo.provenance import carry_provenance
from kkr_geo.layers import catalog
from kkr_geo.layers.datadir import DataDir, resolve_data_dir
from kkr_geo.layers.indicators import read_table
from kkr_geo.layers.joins import join_indicators
from kkr_geo.layers.registry import load_layer

SOURCE = "Region Hovedstaden, praksisplan for fysioterapi, Tabel 3 (befolkning = kapacitet × borgere pr. kapacitet)"


def read_capacity_table(dd: DataDir, speciale: int = 51):
    key = {51: "tabel3_sp51", 62: "tabel4_sp62"}[speciale]
    path = catalog.require(dd, key, layer=f"population (speciale {speciale})")
    table = read_table(path)
    need = {"område", "niveau", f"kapacitet_sp{speciale}", f"borgere_pr_kapacitet_sp{speciale}"}
    missing = need - set(table.columns)
    if missing:
        raise InputError(f"{path}: missing column(s) {sorted(missing)}.", hint="see data/README.md for the table format.")
    return table


def _check_area_figures(rows, speciale: int) -> None:
    """Every planning area needs a readable, non-negative capacity and inhabitants per capacity:
    an empty or unreadable cell stops here with the file, line and cell named, instead of
    turning into a nonsense population (or a map drawn from it)."""
    report = rows.attrs.get("report")
    path = rows.attrs.get("source_path", "Tabel 3")
    bad = []
    for col in (f"kapacitet_sp{speciale}", f"borgere_pr_kapacitet_sp{speciale}"):
        values = pd.to_numeric(rows[col], errors="coerce")
        for line, area, v in zip(rows.index, rows["område"], values):
            if pd.notna(v) and np.isfinite(v) and v >= 0:
                continue
            raw = report.unread.get((int(line), col)) if report is not None else None
            if raw is None and pd.isna(v):
                raw = str(rows.at[line, col]) if isinstance(rows.at[line, col], str) else ""
            if not pd.isna(v):
                what = f"holds {v:g}, a negative number"
            elif raw == "":
                what = "is empty"
            elif _english_number(raw):
                what = f"holds {raw!r}, written with a decimal point in a table with decimal commas (e.g. 13,7)"
            else:
                what = f"holds {raw!r}, which is not a number"
            bad.append(f"line {line}, column {col!r} (område {area}): the cell {what}")
    if bad:
        raise InputError(f"{path}: the population of a planning area cannot be derived "
                         f"(befolkning = kapacitet × borgere pr. kapacitet):\n  " + "\n  ".join(bad[:20])
                         + (f"\n  ... and {len(bad) - 20} more" if len(bad) > 20 else ""),
                         hint="fill in the figures from the practice plan's table (Danish numbers, e.g. 13,7); "
                              "no map or analysis is made from an incomplete table.")


def _english_number(text: str) -> bool:
    from kkr_geo.layers.numbers import NumberFormatError, parse_number
    try:
        return parse_number(text, decimal=".", thousands="") is not None
    except NumberFormatError:
        return False


def planlaegningsomraade_population(data_dir=None, *, speciale: int = 51) -> gpd.GeoDataFrame:
    """Planning areas with capacity, borgere pr. kapacitet and the derived ``population`` (int)."""
    dd = resolve_data_dir(data_dir)
    areas = load_layer("planomraader", dd)
    table = read_capacity_table(dd, speciale)
    areas_table = table[table["niveau"] == "planlægningsområde"]
    _check_area_figures(areas_table, speciale)
    cols = ["område", f"kapacitet_sp{speciale}", f"patienter_pr_kapacitet_sp{speciale}", f"borgere_pr_kapacitet_sp{speciale}"]
    cols = [c for c in cols if c in areas_table.columns]
    joined, report = join_indicators(areas, areas_table, on="område", layer_on="navn", columns=cols, strict=True)
    cap = joined[f"kapacitet_sp{speciale}"].to_numpy(float)
    ratio = joined[f"borgere_pr_kapacitet_sp{speciale}"].to_numpy(float)
    joined["population"] = np.rint(cap * ratio).astype("int64")
    carry_provenance(joined, areas)
    joined.attrs.update({"population_source": SOURCE, "population_precision": "approximate (rounded published ratios)",
                         "join_report": report.lines()})
    return joined


def region_population_grid(data_dir=None, *, cell_size: float = 100.0, speciale: int = 51):
    """The region's default population surface: planlægningsområde populations (Tabel 3) spread by
    areal weighting over ``cell_size`` cells, labelled approximate (people are spread evenly within
    each planning area)."""
    from kkr_geo.geo.population import PopulationGrid

    areas = planlaegningsomraade_population(data_dir, speciale=speciale)
    return PopulationGrid.from_polygons(
        areas, "population", cell_size=cell_size,
        source="Region Hovedstaden, praksisplan for fysioterapi, Tabel 3 (befolkning pr. planlægningsområde, fordelt efter areal)",
        precision="approximate")
