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


def planlaegningsomraade_population(data_dir=None, *, speciale: int = 51) -> gpd.GeoDataFrame:
    """Planning areas with capacity, borgere pr. kapacitet and the derived ``population`` (int)."""
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
