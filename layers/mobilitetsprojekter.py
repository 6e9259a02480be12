"""Layers ``mobilitetsprojekter`` (all 33 projects), ``mobilitetsprojekter_linjer`` and ``mobilitetsprojekter_punkter``.

The 33 projects of KKR Hovedstaden's mobility analysis (``mobilitet/mobilitetsanalyse_33_projekter.csv``),
text as published, with typed figures parsed from the Danish text where the text is unambiguous
(one figure of its kind: ``Ca. 3,6 mia. kr.`` -> 3600 mio. kr.; ``20-30.000 t.`` -> 20,000-30,000 t;
``Ca. 7.000 (+20 %) flere passagerer pr. døgn`` -> 7000 and 20 %); two or more figures of one kind
(projects 6 and 10 give one per town or line) are left unparsed and the text is kept.

Each project gets the best geometry that can honestly be given (``layers/seeddata/mobilitetsprojekter_stedfaestelse.csv``):
the corridor of the ``brt`` layer (150S real, the others schematic); a schematic straight line through the named
stations of the gazetteer; points at named stations; or none ("ikke stedfæstet", with the reason). No project
is dropped: ``mobilitetsprojekter`` holds all 33 (mixed or no geometry; for the overview map and its table, the
summary, and the GeoPackage's attribute table of the same name), the ``_linjer``/``_punkter`` layers hold the
placed ones (feature tables of the GeoPackage).
"""

from __future__ import annotations

import csv
import io
import re
from importlib import resources

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kkr_geo.geo.crs import ANALYSIS_CRS
from kkr_geo.geo.errors import DataError, InputError
from kkr_geo.geo.provenance import Provenance, with_provenance
from kkr_geo.layers import catalog
from kkr_geo.layers._common import Gazetteer
from kkr_geo.layers.catalog import Dataset
from kkr_geo.layers.datadir import DataDir
from kkr_geo.layers.registry import LayerInfo, register_derived, register_layer
from kkr_geo.layers.textfile import read_text

DATASET = catalog.register_dataset(Dataset(
    "mobilitetsprojekter", "mobilitet/mobilitetsanalyse_33_projekter.csv",
    "All 33 projects of KKR Hovedstaden's mobility analysis: type, stretch/place, stops, figures as published",
    "KKR Hovedstaden, mobilitetsanalyse", "public document",
    "transcribed from the mobility analysis (seed 000, l. 962-3804); ships in the embedded default", "table",
    required=False))

SOURCE = "KKR Hovedstaden, mobilitetsanalyse"
CATEGORIES = ("Tog (S-tog og regionaltog)", "Metro", "BRT", "Lokalbane", "Parkér og rejs", "Cykel", "Vej og andet")
REQUIRED = ("nr", "navn", "type", "strækning_eller_sted", "stop_eller_stationer", "rejsetidsgevinst", "passagerer",
            "potentiale", "anlægsomkostning", "co2")
TEXT_COLUMNS = {"type": "type_tekst", "strækning_eller_sted": "straekning_tekst", "stop_eller_stationer": "stop_tekst",
                "rejsetidsgevinst": "rejsetid_tekst", "passagerer": "passagerer_tekst", "potentiale": "potentiale_tekst",
                "anlægsomkostning": "anlaeg_tekst", "co2": "co2_tekst", "andre_tal": "andre_tal", "kilde_linjer": "kilde_linjer"}
_SCHEMA = {"nr": "project number (1-33)", "navn": "project name as published", "kategori": "map type: " + ", ".join(CATEGORIES),
           "stedfaestelse": "how it is placed: linje (skematisk) / BRT-korridor / punkt / ikke stedfæstet, with the reason",
           "geometri": "linje / punkt / ingen",
           "rejsetid_reduktion_pct": "travel-time reduction up to, %", "flere_passagerer_dogn": "added passengers per day",
           "flere_passagerer_pct": "added passengers, %", "passagerer_dogn": "daily passengers (new line or stretch)",
           "passagerpotentiale_dogn": "passenger potential per day", "anlaeg_mio_kr": "cost, million DKK",
           "co2_anlaeg_t_min": "CO2 in construction, t (low)", "co2_anlaeg_t_max": "CO2 in construction, t (high)",
           "…_tekst": "the published text of each figure"}
_NEEDS = ("mobilitetsprojekter", "gazetteer", "brt", "banelinjer")
ALL = LayerInfo(
    "mobilitetsprojekter", "Mobilitetsprojekter (alle 33)", "line",
    "All 33 projects of the mobility analysis with typed figures and the published text; geometry where it can be "
    "honestly given (lines, points or none); in the build's GeoPackage an attribute table with all 33 (no geometry; "
    "the placed ones are the _linjer/_punkter layers).", _SCHEMA, _NEEDS, gpkg=False)
INFO = {
    "mobilitetsprojekter_linjer": LayerInfo(
        "mobilitetsprojekter_linjer", "Mobilitetsprojekter – strækninger", "line",
        "Mobility projects placed as lines: BRT corridors (150S real, others schematic) and schematic lines through "
        "named stations.", _SCHEMA, _NEEDS),
    "mobilitetsprojekter_punkter": LayerInfo(
        "mobilitetsprojekter_punkter", "Mobilitetsprojekter – steder", "point",
        "Mobility projects placed at named stations or places (park and ride, cycle parking, town bus corridors).",
        _SCHEMA, _NEEDS),
}


# ---------------------------------------------------------------------------------------------- parsing
def _num(text: str) -> float:
    """A Danish number: '7.000' -> 7000, '3,6' -> 3.6."""
    return float(text.replace(".", "").replace(",", "."))


def _single(pattern: str, text: str, flags=re.I):
    hits = re.findall(pattern, text or "", flags)
    return hits[0] if len(hits) == 1 else None


def parse_cost_mio(text: str) -> float | None:
    """'Ca. 3,6 mia. kr.' -> 3600.0; 'Ca. 70 mio. kr.' -> 70.0; two amounts or none -> None."""
    hits = re.findall(r"(\d[\d.]*(?:,\d+)?)\s*(mia|mio)\.?\s*kr", text or "", re.I)
    if len(hits) != 1:
        return None
    value, unit = hits[0]
    return round(_num(value) * (1000 if unit.lower() == "mia" else 1), 3)


def parse_co2_range(text: str) -> tuple[float | None, float | None]:
    """'CO2 i anlægsfasen: 20-30.000 t.' -> (20000, 30000); '25.000 t.' -> (25000, 25000)."""
    m = re.findall(r"anlægsfasen:\s*(\d[\d.]*)(?:\s*-\s*(\d[\d.]*))?\s*t\b", text or "", re.I)
    if len(m) != 1:
        return None, None
    lo, hi = m[0]
    if not hi:
        v = _num(lo)
        return v, v
    hi_v = _num(hi)
    lo_v = _num(lo)
    if "." not in lo and lo_v < 1000 <= hi_v:  # '20-30.000' means 20.000-30.000 (the thousands written once)
        lo_v *= 1000 ** hi.count(".")
    return lo_v, hi_v


def parse_figures(row: dict) -> dict:
    t = str(row.get("rejsetidsgevinst") or "")
    p = str(row.get("passagerer") or "")
    pot = str(row.get("potentiale") or "")
    out = {"rejsetid_reduktion_pct": None, "flere_passagerer_dogn": None, "flere_passagerer_pct": None,
           "passagerer_dogn": None, "passagerpotentiale_dogn": None}
    pct = _single(r"(\d+(?:,\d+)?)\s*%\s*reduktion", t)
    out["rejsetid_reduktion_pct"] = _num(pct) if pct else None
    more = re.findall(r"(\d[\d.]*)\s*\(\+\s*(\d+(?:,\d+)?)\s*%\)\s*flere passagerer", p, re.I)
    if len(more) == 1 and "|" not in p:
        out["flere_passagerer_dogn"], out["flere_passagerer_pct"] = _num(more[0][0]), _num(more[0][1])
    more_daily = _single(r"(\d[\d.]*)\s*flere daglige passagerer", p)
    if more_daily and out["flere_passagerer_dogn"] is None:
        out["flere_passagerer_dogn"] = _num(more_daily)
    daily = re.findall(r"(\d[\d.]*)\s*daglige passagerer", p, re.I)
    if len(daily) == 1 and "flere daglige" not in p.lower():
        out["passagerer_dogn"] = _num(daily[0])
    potv = re.findall(r"Passagerpotentiale pr\. døgn:\s*(?:Ca\.\s*)?(\d[\d.]*)", pot, re.I)
    if len(potv) == 1 and "|" not in pot:
        out["passagerpotentiale_dogn"] = _num(potv[0])
    out["anlaeg_mio_kr"] = parse_cost_mio(str(row.get("anlægsomkostning") or ""))
    out["co2_anlaeg_t_min"], out["co2_anlaeg_t_max"] = parse_co2_range(str(row.get("co2") or ""))
    return out


# --------------------------------------------------------------------------------------------- placing
def placements() -> pd.DataFrame:
    with resources.files("kkr_geo.layers").joinpath("seeddata/mobilitetsprojekter_stedfaestelse.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    return pd.DataFrame(rows).set_index("nr")


def read_projects(dd: DataDir, *, layer: str = "mobilitetsprojekter") -> tuple[pd.DataFrame, list[str]]:
    path = catalog.require(dd, "mobilitetsprojekter", layer=layer)
    try:
        df = pd.read_csv(io.StringIO(read_text(path)), sep=";", dtype=str, keep_default_na=False)
    except pd.errors.ParserError as exc:
        raise InputError(f"{path}: cannot be read as a ';'-separated UTF-8 table ({exc}).") from None
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}.",
                        hint=f"the table has: {', '.join(df.columns)}; see data/README.md.")
    notes = []
    extra = [c for c in df.columns if c not in REQUIRED and c not in TEXT_COLUMNS]
    if extra:
        notes.append(f"{path.name}: column(s) not used by kkr-geo: {', '.join(extra)}")
    df["nr"] = df["nr"].str.strip()
    bad = df[~df["nr"].str.fullmatch(r"\d+")]
    if len(bad):
        raise DataError(f"{path}: rows without a project number: lines {', '.join(str(i + 2) for i in bad.index)}.",
                        hint="every row needs its project number in 'nr'.")
    return df, notes


@register_derived(ALL)
def all_projects(name, sources) -> gpd.GeoDataFrame:
    """All 33 projects (a derived dataset: lines, points and rows without geometry in one table)."""
    return load(name, sources.data_dir)


@register_layer(*INFO.values())
def load(name: str, dd: DataDir, **options) -> gpd.GeoDataFrame:
    from kkr_geo.layers.registry import load_layer
    df, notes = read_projects(dd, layer=name)
    place = placements()
    gaz = Gazetteer(catalog.require(dd, "gazetteer", layer=name))
    try:
        brt = load_layer("brt", dd)
    except DataError:
        brt = None
    rows, geoms = [], []
    for rec in df.to_dict(orient="records"):
        nr = rec["nr"]
        row = {"nr": int(nr), "navn": rec["navn"]}
        p = place.loc[nr] if nr in place.index else None
        kategori = p["kategori"] if p is not None else _category(rec["type"])
        geom, how, precision, missing = None, "ikke stedfæstet", "", []
        if p is None:
            how = "ikke stedfæstet: projektet er ukendt for kkr-geo (ny række?)"
            notes.append(f"project {nr} ({rec['navn']}): not in the placement table; listed without geometry")
        elif p["metode"] == "brt" and brt is not None and p["punkter"] in set(brt["projekt"]):
            b = brt[brt["projekt"] == p["punkter"]].iloc[0]
            geom, precision = b.geometry, str(b["precision"])
            how = ("BRT-korridor (Rejseplanens rute)" if "real" in precision else "BRT-korridor (skematisk)")
        elif p["metode"] in ("linje", "punkt", "bane"):
            refs = [tuple(w.rsplit("@", 1)) for w in p["punkter"].split("|") if w]
            pts, missing = gaz.points(refs)
            if missing:
                notes.append(f"project {nr}: no coordinates for {', '.join(missing)} (not in the gazetteer)")
            if p["metode"] == "bane" and len(pts) >= 2 and not missing:
                geom, routed = along_rail(pts, rail_graph(dd))
                legs = len(pts) - 1
                if routed == legs:
                    precision = "OSM-afledt (eksisterende bane)"
                    how = "langs eksisterende bane (OpenStreetMap) gennem " + ", ".join(pts["gazetteer_navn"])
                else:
                    precision = "schematic"
                    how = (f"linje gennem {', '.join(pts['gazetteer_navn'])}: {routed} af {legs} delstrækninger langs "
                           "eksisterende bane, resten skematisk (lige linje)")
            elif p["metode"] in ("linje", "bane") and len(pts) >= 2:
                geom, precision = shapely.LineString(list(pts.geometry)), "schematic"
                how = "linje (skematisk) gennem " + ", ".join(pts["gazetteer_navn"])
            elif p["metode"] == "punkt" and len(pts):
                geom = pts.geometry.iloc[0] if len(pts) == 1 else shapely.MultiPoint(list(pts.geometry))
                precision = "stop points (gazetteer, ~50 m)"
                how = "punkt ved " + ", ".join(pts["gazetteer_navn"])
        if geom is None and missing:
            how = (f"ikke stedfæstet – {', '.join(missing)} mangler i stednavnelisten (gazetteer)"
                   + ("; et halvt forløb tegnes ikke" if p["metode"] in ("linje", "bane") else ""))
        elif p is not None and p["note"] and p["metode"] not in ("brt", "bane"):
            how = f"{how} – {p['note']}" if geom is not None else f"ikke stedfæstet – {p['note']}"
        row.update({"kategori": kategori, "stedfaestelse": how, "precision": precision,
                    "geometri": "ingen" if geom is None else ("linje" if "Line" in geom.geom_type else "punkt")})
        row.update(parse_figures(rec))
        for src, dst in TEXT_COLUMNS.items():
            row[dst] = rec.get(src, "")
        rows.append(row)
        geoms.append(geom)
    gdf = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=ANALYSIS_CRS)
    for c in ("rejsetid_reduktion_pct", "flere_passagerer_dogn", "flere_passagerer_pct", "passagerer_dogn",
              "passagerpotentiale_dogn", "anlaeg_mio_kr", "co2_anlaeg_t_min", "co2_anlaeg_t_max"):
        gdf[c] = pd.to_numeric(gdf[c], errors="coerce").astype(float)
    gdf = gdf.sort_values("nr", kind="stable").reset_index(drop=True)
    n_none = int((gdf["geometri"] == "ingen").sum())
    notes.append(f"{len(gdf)} project(s): {int((gdf['geometri'] == 'linje').sum())} as lines, "
                 f"{int((gdf['geometri'] == 'punkt').sum())} as points, {n_none} not placed (ikke stedfæstet)")
    schematic = (gdf["precision"] == "schematic").any()
    osm = (gdf["precision"] == "OSM-afledt (eksisterende bane)").any()
    prov = Provenance(source=SOURCE + "; stop: Københavns Kommune, OpenStreetMap, Movia"
                      + ("; banelinjer: OpenStreetMap-bidragydere (ODbL)" if osm else "")
                      + ("; skematisk linjeføring" if schematic else ""),
                      licence="public document; CC BY 4.0 / ODbL (stops)",
                      precision="schematic (150S: real (Rejseplanen GTFS))" if schematic else "mixed",
                      status="ok", notes=tuple(notes), layer=name, title=(INFO.get(name) or ALL).title,
                      description=(INFO.get(name) or ALL).description)
    if name == "mobilitetsprojekter":
        return with_provenance(gdf, prov)
    want = "linje" if name == "mobilitetsprojekter_linjer" else "punkt"
    sub = gdf[gdf["geometri"] == want].reset_index(drop=True)
    if want == "punkt":
        prov = prov.replace(precision="stop points (gazetteer, ~50 m)",
                            source=SOURCE + "; stop: Københavns Kommune, OpenStreetMap, Movia")
    return with_provenance(sub, prov)


def _category(type_text: str) -> str:
    t = str(type_text).lower()
    for key, cat in (("metro", "Metro"), ("brt", "BRT"), ("lokalban", "Lokalbane"), ("parkér og rejs", "Parkér og rejs"),
                     ("cykel", "Cykel"), ("s-tog", "Tog (S-tog og regionaltog)"), ("regionaltog", "Tog (S-tog og regionaltog)")):
        if key in t:
            return cat
    return "Vej og andet"


def overview_table(gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    """The overview's table: one row per project (all of them), figures typed, the placement stated."""
    cols = ["nr", "navn", "kategori", "anlaeg_mio_kr", "passagerpotentiale_dogn", "flere_passagerer_dogn",
            "passagerer_dogn", "rejsetid_reduktion_pct", "co2_anlaeg_t_min", "co2_anlaeg_t_max", "geometri", "stedfaestelse"]
    return pd.DataFrame(gdf[[c for c in cols if c in gdf.columns]]).reset_index(drop=True)





# ------------------------------------------------------------------------------------- along existing rail
RAIL_SNAP_M = 300.0        # a station must lie this close to a rail line to be routed along it
RAIL_GAP_M = 25.0          # gaps between OSM line pieces bridged up to this length
MAX_DETOUR = 1.6           # a routed leg longer than this × the straight distance is not trusted


class RailGraph:
    """The OSM rail lines (``osm/banelinjer_osm.geojson``) as a graph for routing between stations."""

    def __init__(self, lines: gpd.GeoDataFrame):
        from scipy.sparse import coo_matrix
        from scipy.spatial import cKDTree
        coords, edges = [], []
        index: dict[tuple[int, int], int] = {}

        def node(x, y):
            key = (int(round(x / 2)), int(round(y / 2)))  # 2 m snapping: shared vertices become one node
            if key not in index:
                index[key] = len(coords)
                coords.append((x, y))
            return index[key]
        ends = []
        for geom in lines.geometry:
            for part in getattr(geom, "geoms", [geom]):
                ids = [node(x, y) for x, y in part.coords]
                edges += [(a, b) for a, b in zip(ids[:-1], ids[1:]) if a != b]
                ends += [ids[0], ids[-1]]
        xy = np.asarray(coords)
        tree = cKDTree(xy)
        for e in set(ends):  # bridge small gaps between pieces
            for other in tree.query_ball_point(xy[e], RAIL_GAP_M):
                if other != e:
                    edges.append((e, other))
        a, b = np.array(edges).T
        w = np.hypot(*(xy[a] - xy[b]).T) + 1e-6
        n = len(xy)
        self.matrix = coo_matrix((np.r_[w, w], (np.r_[a, b], np.r_[b, a])), shape=(n, n)).tocsr()
        self.xy, self.tree = xy, tree

    def route(self, p, q) -> shapely.LineString | None:
        """The rail path from point ``p`` to ``q``, or None (off the network, no path, or an implausible detour)."""
        from scipy.sparse.csgraph import dijkstra
        dp, ip = self.tree.query((p.x, p.y))
        dq, iq = self.tree.query((q.x, q.y))
        if dp > RAIL_SNAP_M or dq > RAIL_SNAP_M:
            return None
        dist, pred = dijkstra(self.matrix, indices=ip, return_predecessors=True)
        if not np.isfinite(dist[iq]) or dist[iq] > MAX_DETOUR * max(p.distance(q), 1.0):
            return None
        path = [iq]
        while path[-1] != ip:
            path.append(pred[path[-1]])
        pts = self.xy[path[::-1]]
        return shapely.LineString(pts) if len(pts) >= 2 else None


_RAIL: dict[str, RailGraph] = {}


def rail_graph(dd: DataDir) -> RailGraph | None:
    path = dd.file(catalog.DATASETS["banelinjer"].path)
    if not path.exists():
        return None
    key = str(path)
    if key not in _RAIL:
        from kkr_geo.geo.io import read_vector
        _RAIL[key] = RailGraph(read_vector(path).to_crs(ANALYSIS_CRS))
    return _RAIL[key]


def along_rail(pts: gpd.GeoDataFrame, graph: RailGraph | None) -> tuple[object, int]:
    """A line through ``pts`` (in order) along the rail lines; legs that cannot be routed stay straight.
    Returns (geometry, number of legs routed along the rails)."""
    legs, routed = [], 0
    geoms = list(pts.geometry)
    for p, q in zip(geoms[:-1], geoms[1:]):
        leg = graph.route(p, q) if graph is not None else None
        if leg is None:
            leg = shapely.LineString([p, q])
        else:
            routed += 1
        legs.append(leg)
    coords = []
    for leg in legs:
        c = list(leg.coords)
        coords += c if not coords else c[1:]
    return shapely.LineString(coords), routed
