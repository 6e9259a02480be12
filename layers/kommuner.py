"""Layer ``kommuner``: the 29 municipalities of Region Hovedstaden from DAGI, one feature per kommunekode."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from kkr_geo.geo.errors import InputError
from kkr_geo.geo.geometry import clean_geometries
from kkr_geo.geo.io import read_vector
from kkr_geo.layers import catalog
from kkr_geo.layers._common import finish
from kkr_geo.layers.datadir import DataDir
from kkr_geo.layers.keys import normalise_kommunekode, normalise_name
from kkr_geo.layers.qgis_styles import QgisLook
from kkr_geo.layers.registry import LayerInfo, register_layer

INFO = {"kommuner": LayerInfo(
    "kommuner", "Kommuner", "polygon",
    "Municipalities of Region Hovedstaden (DAGI), dissolved per kommunekode; Christiansø excluded by default.",
    {"kommunekode": "4-digit municipality code, text (e.g. '0101')", "navn": "municipality name",
     "region": "region name", "areal_km2": "area in km² (EPSG:25832)", "befolkning": "population (when the data directory has it)",
     "befolkning_dato": "date of the population figure"},
    ("dagi_kommuner", "dagi_regioner", "befolkning"),
    qgis_look=QgisLook("fill", "255,255,255,0", "60,60,60,255", 0.4, label="navn"))}

REGION_HOVEDSTADEN = "1084"
CHRISTIANSOE = "0411"
# Region Sjælland municipalities next to the capital region that the mobility projects touch.
DEFAULT_NEIGHBOURS = ("0259", "0265", "0253", "0269", "0350")  # Køge, Roskilde, Greve, Solrød, Lejre


@register_layer(*INFO.values())
def load(name: str, dd: DataDir, *, include_neighbours: bool | list[str] = False,
         include_christiansoe: bool = False) -> gpd.GeoDataFrame:
    path = catalog.require(dd, "dagi_kommuner", layer=name)
    raw = read_vector(path)
    for col in ("KOMKODE", "KOMNAVN"):
        if col not in raw.columns:
            raise InputError(f"{path}: missing field {col}.", hint="use DAGI kommuner with KOMKODE/KOMNAVN (kkr-geo data fetch writes them).")
    raw["kommunekode"] = raw["KOMKODE"].map(normalise_kommunekode)
    bad = raw[raw["kommunekode"].isna()]
    if len(bad):
        raise InputError(f"{path}: features {list(bad.index[:10])} have an unreadable KOMKODE {list(bad['KOMKODE'][:10])}.",
                         hint="fix the codes in the file.")
    # Repair invalid parts (self-intersections) before anything else uses them: make_valid keeps the
    # polygonal parts, and every repair or drop is named in the notes. A dissolve or region lookup
    # on an invalid polygon could otherwise lose the municipality without a word.
    raw, repairs = clean_geometries(raw, family="polygon", source=path.name, id_column="kommunekode")
    repair_notes = repairs.lines()
    gdf = raw.dissolve(by="kommunekode", aggfunc={"KOMNAVN": "first"}, as_index=False)
    gdf = gdf.rename(columns={"KOMNAVN": "navn"})
    gdf["region"] = _regions(gdf, dd)
    renamed = _official_names(gdf)

    wanted = set(gdf.loc[gdf["region"] == "Region Hovedstaden", "kommunekode"])
    if not include_christiansoe:
        wanted.discard(CHRISTIANSOE)
    if include_neighbours:
        extra = DEFAULT_NEIGHBOURS if include_neighbours is True else include_neighbours
        by_name = {normalise_name(n): k for k, n in zip(gdf["kommunekode"], gdf["navn"])}
        for ref in extra:
            code = normalise_kommunekode(ref) or by_name.get(normalise_name(ref))
            if code is None or code not in set(gdf["kommunekode"]):
                raise InputError(f"kommuner: neighbour {ref!r} is not a municipality in {path}.",
                                 hint="give a kommunekode (e.g. 0259) or a name (e.g. Køge).")
            wanted.add(code)
    gdf = gdf[gdf["kommunekode"].isin(wanted)].copy()
    gdf["areal_km2"] = (gdf.geometry.area / 1e6).round(2)
    notes = list(raw.attrs.get("text_notes", [])) + list(repair_notes) + [f"name {old!r} (DAGI) replaced by the official {new!r} (kommunekode {code})"
                                  for code, old, new in renamed if code in set(gdf["kommunekode"])]
    gdf = _add_population(gdf, dd, notes)
    gdf = gdf.sort_values("kommunekode")[[c for c in ("kommunekode", "navn", "region", "areal_km2", "befolkning",
                                                     "befolkning_dato", "geometry") if c in gdf.columns]]
    return finish(gdf, name=name, family="polygon", source="Indeholder data fra Styrelsen for Dataforsyning og Infrastruktur (DAGI)" + ("; Danmarks Statistik" if "befolkning" in gdf else ""),
                  licence="Danish free geodata terms; CC BY 4.0 (DST)", precision="DAGI 1:500.000 (generalised, ~100 m)",
                  id_column="kommunekode", notes=notes)


def official_names() -> dict[str, str]:
    """Official municipality names keyed by kommunekode, from the practice plan's table of planning areas
    (the indicator files' spelling, e.g. "Høje-Taastrup"; the DAGI 2014 copy writes "Høje Taastrup")."""
    from kkr_geo.layers.planomraader import definition
    d = definition()
    d = d[d["type"] == "kommune"]
    return dict(zip(d["kommunekode"], d["planlaegningsomraade"]))


def _official_names(gdf: gpd.GeoDataFrame) -> list[tuple[str, str, str]]:
    """Replace DAGI spellings by the official names in place ("Høje Taastrup" -> "Høje-Taastrup");
    return (code, old, new) for each change. Only a spelling variant of the same name is replaced: a
    file whose name for a code is something else entirely keeps its own name (the data is shown as given)."""
    names = official_names()
    changed = []
    for i, code, old in zip(gdf.index, gdf["kommunekode"], gdf["navn"]):
        new = names.get(code)
        if new and new != old and normalise_name(str(old)) == normalise_name(new):
            gdf.at[i, "navn"] = new
            changed.append((code, old, new))
    return changed


def _regions(gdf: gpd.GeoDataFrame, dd: DataDir) -> pd.Series:
    path = catalog.require(dd, "dagi_regioner", layer="kommuner")
    regions = read_vector(path)[["REGIONNAVN", "geometry"]].dissolve(by="REGIONNAVN", as_index=False)
    pts = gpd.GeoDataFrame(geometry=gdf.geometry.representative_point(), crs=gdf.crs)
    joined = gpd.sjoin(pts, regions, how="left", predicate="within")
    joined = joined[~joined.index.duplicated()]
    out = joined["REGIONNAVN"].reindex(gdf.index)
    # a municipality whose inner point misses every region (a repaired or odd-shaped polygon, or
    # generalised boundaries): the region it overlaps most
    for idx in out.index[out.isna()]:
        overlap = regions.geometry.intersection(gdf.geometry[idx]).area
        if len(overlap) and overlap.max() > 0:
            out[idx] = regions["REGIONNAVN"].iloc[int(overlap.to_numpy().argmax())]
    return out


def _add_population(gdf: gpd.GeoDataFrame, dd: DataDir, notes: list[str]) -> gpd.GeoDataFrame:
    path = dd.file(catalog.DATASETS["befolkning"].path)
    if not path.exists():
        notes.append("no population table in the data directory (befolkning/befolkning_kommuner.csv)")
        return gdf
    from kkr_geo.layers.indicators import read_table
    from kkr_geo.layers.joins import join_indicators

    table = read_table(path)
    keep = [c for c in ("population", "date") if c in table.columns]
    joined, report = join_indicators(gdf, table, on="kommunekode", columns=["kommunekode", *keep])
    joined = joined.rename(columns={"population": "befolkning", "date": "befolkning_dato"})
    if "befolkning" in joined:
        joined["befolkning"] = joined["befolkning"].astype("Int64")
    if "befolkning_dato" in joined:  # ISO text -> dates (a bad date is an error, not a silent NaT)
        raw = joined["befolkning_dato"]
        parsed = pd.to_datetime(raw, format="%Y-%m-%d", errors="coerce")
        bad = raw.notna() & parsed.isna()
        if bad.any():
            raise InputError(f"{path}: unreadable date(s) {sorted(set(raw[bad].astype(str)))[:5]} in column 'date'.",
                             hint="write dates as YYYY-MM-DD.")
        joined["befolkning_dato"] = parsed
    if report.unmatched_layer:
        notes.append("population missing for: " + ", ".join(report.unmatched_layer))
    notes += table.attrs["report"].lines()
    from kkr_geo.layers import _left_out
    _left_out.add(joined, table.attrs["report"].left_out)
    notes += [f"{path.name}: {line}" for line in report.lines()[1:] if not line.startswith("features with no table row")]
    dates = sorted(set(joined.get("befolkning_dato", pd.Series(dtype=object)).dropna()))
    if len(dates) > 1:
        notes.append(f"population figures have different dates: {', '.join(d.strftime('%Y-%m-%d') for d in dates)}")
    return joined
