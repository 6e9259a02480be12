"""Coverage maps that show people, not land: the share of an area's inhabitants beyond a distance
threshold, the served zones as context, and areas without any facility said as such.

Built from a :func:`kkr_geo.geo.coverage.coverage_gaps` table (via :func:`kkr_geo.layers.analyses.coverage`),
so the map, the summary CSV and the GeoPackage carry the same figures.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

NO_FACILITY = {"station": "ingen station i området", "klinik": "ingen klinik i området"}


def facilities_per_area(areas: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, name_column: str = "navn") -> pd.Series:
    """Number of facilities (representative points) inside each area, indexed by area name."""
    pts = gpd.GeoDataFrame(geometry=facilities.geometry.representative_point(), crs=facilities.crs).to_crs(areas.crs)
    joined = gpd.sjoin(pts, areas[[name_column, "geometry"]], how="inner", predicate="within")
    counts = joined.groupby(name_column).size()
    return counts.reindex(pd.unique(areas[name_column]), fill_value=0).astype(int)


def mark_areas_without_facility(table: pd.DataFrame, areas_by_type: dict[str, gpd.GeoDataFrame],
                                facilities: gpd.GeoDataFrame, what: str = "station",
                                name_column: str = "navn") -> pd.DataFrame:
    """Add ``antal_i_omraadet`` and ``bemaerkning`` to a coverage table; where an area holds no
    facility its mean distance is left empty (a mean distance to a station across the sea, 200 km
    for Bornholm, is not a figure anyone can use) and the remark says why."""
    out = table.copy()
    out["antal_i_omraadet"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["bemaerkning"] = ""
    for area_type, areas in areas_by_type.items():
        counts = facilities_per_area(areas, facilities, name_column)
        rows = out["area_type"] == area_type
        n = out.loc[rows, "area_name"].map(counts)
        out.loc[rows, "antal_i_omraadet"] = n.astype("Int64")
        none = rows & out["area_name"].map(counts).eq(0)
        out.loc[none, "mean_distance_m"] = np.nan
        out.loc[none, "bemaerkning"] = NO_FACILITY.get(what, f"ingen {what} i området")
    # The total's mean distance must not carry the blanked areas either: recompute it from the first
    # area type's rows that keep one (their means are population-weighted, so this is exact).
    total = out["area_type"] == "total"
    if areas_by_type and total.any():
        first = out["area_type"] == next(iter(areas_by_type))
        blanked = first & out["mean_distance_m"].isna() & out["bemaerkning"].ne("")
        if blanked.any():
            keep = first & out["mean_distance_m"].notna()
            w = out.loc[keep, "population"].astype(float)
            mean = float((w * out.loc[keep, "mean_distance_m"]).sum() / w.sum()) if w.sum() > 0 else np.nan
            out.loc[total, "mean_distance_m"] = mean
            out.loc[total, "bemaerkning"] = "gennemsnitlig afstand uden " + ", ".join(out.loc[blanked, "area_name"].astype(str))
    return out


def share_layer(areas: gpd.GeoDataFrame, table: pd.DataFrame, area_type: str, *, name_column: str = "navn",
                what: str = "station") -> gpd.GeoDataFrame:
    """``areas`` with the coverage figures of ``area_type`` joined by name: ``befolkning``,
    ``befolkning_uden_for``, ``andel_uden_for_pct`` (0-100), ``gns_afstand_m``, ``antal_i_omraadet``,
    ``bemaerkning`` and ``etiket`` (the name, plus "ingen station" where there is none)."""
    rows = table[table["area_type"] == area_type].set_index("area_name")
    out = areas[[name_column, "geometry"]].copy()
    names = out[name_column].astype(str)
    out["befolkning"] = names.map(rows["population"]).astype(float)
    out["befolkning_uden_for"] = names.map(rows["population_beyond"]).astype(float)
    out["andel_uden_for_pct"] = (100.0 * names.map(rows["share_beyond"]).astype(float))
    out["gns_afstand_m"] = names.map(rows["mean_distance_m"]).astype(float)
    if "antal_i_omraadet" in rows.columns:
        out["antal_i_omraadet"] = names.map(rows["antal_i_omraadet"]).astype("Int64")
        out["bemaerkning"] = names.map(rows["bemaerkning"]).fillna("")
    else:
        out["antal_i_omraadet"] = pd.array([pd.NA] * len(out), dtype="Int64")
        out["bemaerkning"] = ""
    # the network answer's own check (network ÷ straight line, median over the area's cells); empty for
    # straight-line distance
    out["vejnet_luftlinje_median"] = (names.map(rows["vejnet_luftlinje_median"]).astype(float)
                                      if "vejnet_luftlinje_median" in rows.columns else np.nan)
    no_fac = {"station": "ingen station", "klinik": "ingen klinik"}.get(what, f"ingen {what}")
    out["etiket"] = [f"{n}\n({no_fac})" if b else n for n, b in zip(names, out["bemaerkning"])]
    return out


def served_cells(coverage_result, grid, threshold_m: float) -> gpd.GeoDataFrame:
    """The populated cells whose distance to the nearest facility is within ``threshold_m``, by the
    coverage analysis' own distances (network or straight line × detour factor), dissolved to polygons."""
    from kkr_geo.geo.crs import ANALYSIS_CRS
    from kkr_geo.geo.raster import mask_to_polygons
    dist = np.asarray(coverage_result.distance, dtype=float)
    with np.errstate(invalid="ignore"):
        mask = np.isfinite(dist) & (dist <= float(threshold_m))
    polys = mask_to_polygons(mask, grid.transform, values=grid.values, crs=ANALYSIS_CRS)
    geom = shapely.union_all(polys.geometry.values) if len(polys) else shapely.Polygon()
    pop = float(polys["population"].sum()) if "population" in polys.columns else float("nan")
    return gpd.GeoDataFrame({"afstand_m": [float(threshold_m)], "population": [pop]}, geometry=[geom], crs=ANALYSIS_CRS)


def region_total_note(table: pd.DataFrame, what: str) -> str:
    """The map line with the whole region's figure from the table's total row:
    "Hele regionen: 79 % af borgerne (ca. 1.521.100 af ca. 1.925.200) bor mere end 600 m fra en station."."""
    from kkr_geo.layers.numbers import format_da, population_approx_da
    total = table[table["area_type"] == "total"].iloc[0]
    return (f"Hele regionen: {format_da(100 * float(total['share_beyond']))} % af borgerne "
            f"({population_approx_da(total['population_beyond'])} af {population_approx_da(total['population'])}) {what}.")
