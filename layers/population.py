"""Population per planlægningsområde from the practice plan's Tabel 3 (and Tabel 4).

The plan publishes capacity and inhabitants per capacity ("borgere pr. kapacitet") per planning
area; population = kapacitet × borgere pr. kapacitet. This is the region's default population
source when no population grid is supplied: approximate (rounded published ratios) and coarse
(spread evenly over each planning area).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from kkr_geo.geo.errors import InputError
from kkr_geo.layers import catalog
from kkr_geo.layers.datadir import DataDir, resolve_data_dir
from kkr_geo.layers.indicators import read_table
from kkr_geo.layers.joins import join_indicators
from kkr_geo.layers.registry import load_layer

SOURCE = "Region Hovedstaden, praksisplan for fysioterapi, Tabel 3 (befolkning = kapacitet × borgere pr. kapacitet)"
#: The practice plan's table per speciale: 51 (almen fysioterapi) is Tabel 3, 62 (vederlagsfri) Tabel 4.
TABLES = {51: "Tabel 3", 62: "Tabel 4"}


def check_speciale(speciale) -> int:
    try:
        sp = int(speciale)
    except (TypeError, ValueError):
        sp = None
    if sp not in TABLES:
        raise InputError(f"speciale {speciale!r} is not one of {', '.join(map(str, TABLES))}.",
                         hint="use 51 (Tabel 3, almen fysioterapi) or 62 (Tabel 4, vederlagsfri fysioterapi).")
    return sp


def source_text(speciale: int = 51) -> str:
    return SOURCE.replace("Tabel 3", TABLES[check_speciale(speciale)])


def read_capacity_table(dd: DataDir, speciale: int = 51):
    speciale = check_speciale(speciale)
    key = {51: "tabel3_sp51", 62: "tabel4_sp62"}[speciale]
    path = catalog.require(dd, key, layer=f"population (speciale {speciale})")
    table = read_table(path)
    need = {"område", "niveau", f"kapacitet_sp{speciale}", f"borgere_pr_kapacitet_sp{speciale}"}
    missing = need - set(table.columns)
    if missing:
        raise InputError(f"{path}: missing column(s) {sorted(missing)}.", hint="see data/README.md for the table format.")
    return table


def planlaegningsomraade_population(data_dir=None, *, speciale: int = 51) -> gpd.GeoDataFrame:
    """Planning areas with capacity, borgere pr. kapacitet and the derived ``population`` (int)."""
    speciale = check_speciale(speciale)
    dd = resolve_data_dir(data_dir)
    areas = load_layer("planomraader", dd)
    table = read_capacity_table(dd, speciale)
    areas_table = table[table["niveau"] == "planlægningsområde"]
    cols = ["område", f"kapacitet_sp{speciale}", f"patienter_pr_kapacitet_sp{speciale}", f"borgere_pr_kapacitet_sp{speciale}"]
    cols = [c for c in cols if c in areas_table.columns]
    joined, report = join_indicators(areas, areas_table, on="område", layer_on="navn", columns=cols, strict=True)
    cap = joined[f"kapacitet_sp{speciale}"].to_numpy(float)
    ratio = joined[f"borgere_pr_kapacitet_sp{speciale}"].to_numpy(float)
    joined["population"] = np.rint(cap * ratio).astype("int64")
    joined.attrs.update(areas.attrs)
    joined.attrs.update({"population_source": source_text(speciale), "speciale": speciale, "population_precision": "approximate (rounded published ratios)",
                         "join_report": report.lines()})
    return joined


def planning_area_access(data_dir=None, *, speciale: int = 51, capacity_column: str | None = None,
                         facilities: gpd.GeoDataFrame | None = None):
    """The practice plan's Tabel 3 (speciale 51) or Tabel 4 (speciale 62) as 2SFCA with each
    planlægningsområde as the catchment: ``by_area`` has population, capacity and
    ``borgere_pr_kapacitet`` per area, plus the published figure as ``tabel3_…``/``tabel4_…``
    when the capacity comes from the table itself (no ``facilities``).

    ``capacity_column`` defaults to ``kapacitet_sp{speciale}``; a column of the other speciale
    is an error (it would divide one speciale's capacity by the other's population)."""
    from kkr_geo.geo.access import area_catchment_fca

    speciale = check_speciale(speciale)
    capacity_column = capacity_column or f"kapacitet_sp{speciale}"
    other = [sp for sp in TABLES if sp != speciale and capacity_column.endswith(f"_sp{sp}")]
    if other:
        raise InputError(f"capacity column {capacity_column!r} belongs to speciale {other[0]}, but speciale {speciale} "
                         f"({TABLES[speciale]}) was asked for.",
                         hint=f"use --speciale {other[0]} (speciale={other[0]}), or drop the capacity column.")
    areas = planlaegningsomraade_population(data_dir, speciale=speciale)
    if facilities is None:
        res = area_catchment_fca(areas, capacity_column, population_column="population")
    else:
        res = area_catchment_fca(areas, capacity_column, population_column="population", facilities=facilities)
    res.meta["population_source"] = str(areas.attrs.get("population_source"))
    res.meta["population_precision"] = str(areas.attrs.get("population_precision"))
    res.meta["speciale"] = speciale
    by_area = res.by_area
    ref = f"borgere_pr_kapacitet_sp{speciale}"
    if facilities is None and ref in areas.columns:
        label = TABLES[speciale].lower().replace(" ", "")
        by_area = by_area.merge(areas[["navn", ref]].rename(columns={"navn": "area_name", ref: f"{label}_{ref}"}),
                                on="area_name", how="left")
        by_area.attrs.update(res.by_area.attrs)
    res.by_area = by_area
    res.areas = areas
    return res


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
