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
    speciale = check_speciale(speciale)
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
    joined.attrs.update({"population_source": source_text(speciale), "speciale": speciale,
                         "population_precision": "approximate (rounded published ratios)",
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


METHODS = ("dasymetric", "areal")
_grid_cache: dict[tuple, object] = {}


def region_population_grid(data_dir=None, *, cell_size: float = 100.0, speciale: int = 51, method: str = "dasymetric",
                           weights_raster=None):
    """The region's default population surface: planlægningsområde populations (Tabel 3, or Tabel 4
    for speciale 62) on ``cell_size`` cells.

    ``method="dasymetric"`` (default; :mod:`kkr_geo.geo.dasymetric`): each area's total is kept
    exactly and spread inside the area by the first weight layer that covers it:

    1. ``weights_raster``, a population GeoTIFF (WorldPop, GHS-POP, DST kvadratnet counts), where given;
    2. the WorldPop 2020 points (``befolkning/worldpop2020_kbh_frb_punkter.geojson``) where they cover the area;
    3. residential road length per cell from the road centre lines (``vejnet/…gpkg``), or where they
       are absent from the embedded 100 m road-length grid derived from them (``befolkning/vejlaengde_100m.tif``);
    4. uniform (areal weighting) as the last resort.

    The grid's ``provenance`` table says which weight each area used, and its ``source`` text
    names them. ``method="areal"`` is the old even spread (areal weighting).
    """
    from kkr_geo.geo.population import PopulationGrid

    if method not in METHODS:
        raise InputError(f"population method {method!r} is not one of {', '.join(METHODS)}.",
                         hint="use dasymetric (default) or areal.")
    dd = resolve_data_dir(data_dir)
    stamps = tuple((p, p.stat().st_size, p.stat().st_mtime_ns) for p in _weight_files(dd, weights_raster))
    key = (dd.key, float(cell_size), int(speciale), method, stamps)
    if key in _grid_cache:
        return _grid_cache[key]
    areas = planlaegningsomraade_population(dd, speciale=speciale)
    table = TABLES[speciale]
    if method == "areal":
        grid = PopulationGrid.from_polygons(
            areas, "population", cell_size=cell_size,
            source=f"Region Hovedstaden, praksisplan for fysioterapi, {table} (befolkning pr. planlægningsområde, fordelt efter areal)",
            precision="approximate")
        grid.provenance = pd.DataFrame({"navn": areas["navn"].astype(str), "total": areas["population"],
                                        "weight": "uniform", "weight_label": "jævnt fordelt (areal)"})
    else:
        from kkr_geo.geo.dasymetric import dasymetric_grid, grid_frame
        frame = grid_frame(areas, cell_size)
        weights = _weight_layers(dd, frame, cell_size, weights_raster)
        grid, prov = dasymetric_grid(
            areas, "population", weights, cell_size, name_column="navn", frame=frame,
            source=f"Region Hovedstaden, praksisplan for fysioterapi, {table} (befolkning pr. planlægningsområde)")
        grid.provenance = prov
    _grid_cache[key] = grid
    return grid


def _weight_files(dd: DataDir, weights_raster) -> list:
    from pathlib import Path
    files = [Path(weights_raster)] if weights_raster else []
    for key in ("worldpop_punkter", "vejmidter", "vejlaengde_grid"):
        p = dd.file(catalog.DATASETS[key].path)
        if p.exists():
            files.append(p)
    return files


def _weight_layers(dd: DataDir, frame, cell_size: float, weights_raster) -> list:
    """The weight layers present, in priority order, on the surface's grid frame."""
    import shapely

    from kkr_geo.geo.dasymetric import WeightLayer, points_per_cell, raster_coverage, raster_on_grid
    from kkr_geo.geo.io import read_vector
    from kkr_geo.geo.population import PopulationGrid
    from kkr_geo.layers import roads

    shape, transform = frame
    layers = []
    if weights_raster:
        r = PopulationGrid.from_raster(weights_raster, cell_size=cell_size)
        layers.append(WeightLayer("raster", f"befolkningsraster ({r.source})", raster_on_grid(r, shape, transform),
                                  coverage=raster_coverage(r)))
    wp = dd.file(catalog.DATASETS["worldpop_punkter"].path)
    if wp.exists():
        pts = read_vector(wp)
        if "pop" not in pts.columns:
            raise InputError(f"{wp}: no column 'pop' (inhabitants per point).", hint="see data/README.md for the format.")
        from kkr_geo.geo.population import _counts
        xy = shapely.get_coordinates(pts.geometry.values)
        # where the points are complete: their convex hull (the extract was cut to a bounding box)
        hull = shapely.convex_hull(shapely.multipoints(xy))
        layers.append(WeightLayer("worldpop_punkter", "WorldPop 2020 (punkter)",
                                  points_per_cell(xy, _counts(pts, "pop", str(wp)), shape, transform), coverage=hull))
    if roads.has_roads(dd):
        layers.append(WeightLayer("vejlaengde", "vejlængde pr. celle (vejmidter)",
                                  roads.road_length_weights(dd, shape, transform)))
    elif dd.has(catalog.DATASETS["vejlaengde_grid"].path):
        layers.append(WeightLayer("vejlaengde", "vejlængde pr. celle (100 m-net afledt af vejmidter)",
                                  roads.road_length_grid_weights(dd.file(catalog.DATASETS["vejlaengde_grid"].path),
                                                                 shape, transform)))
    return layers
