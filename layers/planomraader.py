"""Layers ``planomraader`` and ``planomraader_samlet``: the physiotherapy practice plan's planning geography.

Planlægningsområder are the 28 municipalities other than København plus Copenhagen's bydele as the
plan's Tabel 3 names them (Amager = Amager Øst + Amager Vest; Vesterbro = Vesterbro/Kongens Enghave).
Planområder (Byen, Midt, Nord, Syd, Bornholm) are unions of those. Real bydel polygons are used when
the data directory has them; otherwise the bydele are approximated from postcodes (precision
``postnummer-tilnærmet``). No boundary is invented.
"""

from __future__ import annotations

import csv
from importlib import resources

import geopandas as gpd
import pandas as pd

from kkr_geo.geo.errors import InputError
from kkr_geo.geo.io import read_vector
from kkr_geo.layers import catalog
from kkr_geo.layers._common import finish
from kkr_geo.layers.datadir import DataDir
from kkr_geo.layers.keys import normalise_name, postcode_range
from kkr_geo.layers.qgis_styles import QgisLook
from kkr_geo.layers.registry import LayerInfo, register_layer, load_layer

_SCHEMA = {"navn": "planlægningsområde (municipality or Copenhagen bydel)", "planomraade": "Byen, Midt, Nord, Syd or Bornholm",
           "kommunekode": "4-digit municipality code", "type": "kommune or bydel", "areal_km2": "area in km²",
           "precision": "geometry precision of the feature (DAGI, bydel, postnummer-tilnærmet)"}
INFO = {
    "planomraader": LayerInfo("planomraader", "Planlægningsområder (praksisplan for fysioterapi)", "polygon",
                              "Planning areas of the physiotherapy practice plan: 28 municipalities and 9 Copenhagen bydele.",
                              _SCHEMA, ("kommuner", "bydele", "bydele_postnumre", "dagi_postnumre"),
                              qgis_look=QgisLook("fill", "255,255,255,0", "90,90,90,255", 0.3, label="navn")),
    "planomraader_samlet": LayerInfo("planomraader_samlet", "Planområder (praksisplan for fysioterapi)", "polygon",
                                     "The five planområder Byen, Midt, Nord, Syd, Bornholm as unions of planning areas.",
                                     {"planomraade": "Byen, Midt, Nord, Syd or Bornholm", "areal_km2": "area in km²"},
                                     ("planomraader",),
                                     qgis_look=QgisLook("fill", "255,255,255,0", "30,30,30,255", 0.8, label="planomraade")),
}

# Copenhagen bydel names (Københavns Kommune) -> the practice plan's planning area.
_BYDEL_TO_PLAN = {"amagerost": "Amager", "amagervest": "Amager", "vesterbrokongensenghave": "Vesterbro",
                  "vesterbro": "Vesterbro"}


def definition() -> pd.DataFrame:
    """The planning-area definition shipped with the package (from the practice plan's Tabel 3)."""
    with resources.files("kkr_geo.layers").joinpath("seeddata/planlaegningsomraader.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    return pd.DataFrame(rows)


@register_layer(*INFO.values())
def load(name: str, dd: DataDir, **options) -> gpd.GeoDataFrame:
    areas = _planlaegningsomraader(dd)
    if name == "planomraader":
        return areas
    diss = areas.dissolve(by="planomraade", as_index=False)[["planomraade", "geometry"]]
    diss["areal_km2"] = (diss.geometry.area / 1e6).round(2)
    order = ["Byen", "Midt", "Nord", "Syd", "Bornholm"]
    diss = diss.set_index("planomraade").loc[order].reset_index()
    return finish(diss, name=name, family="polygon", source=areas.attrs["source"], licence=areas.attrs["licence"],
                  precision=areas.attrs["precision"], id_column="planomraade", notes=list(areas.attrs["notes"]))


def _planlaegningsomraader(dd: DataDir) -> gpd.GeoDataFrame:
    spec = definition()
    kommuner = load_layer("kommuner", dd)
    by_code = kommuner.set_index("kommunekode")
    notes: list[str] = []
    rows = []
    for r in spec[spec["type"] == "kommune"].itertuples():
        if r.kommunekode not in by_code.index:
            raise InputError(f"planomraader: kommunekode {r.kommunekode} ({r.planlaegningsomraade}) is not in the kommuner layer.",
                             hint="check dagi/kommuner.geojson in the data directory.")
        rows.append({"navn": r.planlaegningsomraade, "planomraade": r.planomraade, "kommunekode": r.kommunekode,
                     "type": "kommune", "precision": "DAGI", "geometry": by_code.at[r.kommunekode, "geometry"]})
    kbh = by_code.at["0101", "geometry"]
    bydele, precision, source = _copenhagen_bydele(dd, kbh, notes, kommuner.crs)
    plan = spec[spec["type"] == "bydel"].set_index("planlaegningsomraade")
    missing = set(plan.index) - set(bydele["navn"])
    if missing:
        raise InputError(f"planomraader: Copenhagen planning area(s) {sorted(missing)} not found in the bydel data.",
                         hint="check the bydel file's names (navn) in the data directory.")
    for b in bydele.itertuples():
        rows.append({"navn": b.navn, "planomraade": plan.at[b.navn, "planomraade"], "kommunekode": "0101",
                     "type": "bydel", "precision": precision, "geometry": b.geometry})
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=kommuner.crs)
    gdf["areal_km2"] = (gdf.geometry.area / 1e6).round(2)
    gdf = gdf[["navn", "planomraade", "kommunekode", "type", "areal_km2", "precision", "geometry"]]
    overall = "DAGI kommuner; " + ("bydele: Københavns Kommune" if precision == "bydel" else "bydele: postnummer-tilnærmet")
    src = "Indeholder data fra Styrelsen for Dataforsyning og Infrastruktur (DAGI); " + source + "; Region Hovedstaden, praksisplan for fysioterapi"
    return finish(gdf, name="planomraader", family="polygon", source=src,
                  licence="Danish free geodata terms; CC BY 4.0 (Københavns Kommune)", precision=overall,
                  id_column="navn", notes=notes)


def tile_to_boundary(parts: gpd.GeoDataFrame, boundary) -> tuple[gpd.GeoDataFrame, float]:
    """Clip ``parts`` to ``boundary`` and give every piece of ``boundary`` that no part covers to the
    part it shares the longest border with (the nearest part when it touches none), so that the parts
    tile ``boundary`` exactly: no holes, no overlaps. Returns (parts, km² filled)."""
    import shapely
    geoms = [shapely.make_valid(g).intersection(boundary) for g in parts.geometry]
    # overlaps between neighbours: the earlier part keeps the shared piece
    for i in range(len(geoms)):
        for j in range(i):
            if geoms[i].intersects(geoms[j]):
                geoms[i] = geoms[i].difference(geoms[j])
    holes = boundary.difference(shapely.union_all(geoms))
    pieces = [g for g in getattr(holes, "geoms", [holes]) if not g.is_empty and g.area > 0]
    for piece in pieces:
        ring = piece.buffer(1.0)
        shared = [ring.intersection(g.boundary).length for g in geoms]
        k = max(range(len(geoms)), key=lambda i: (shared[i], -geoms[i].distance(piece)))
        if shared[k] == 0:
            k = min(range(len(geoms)), key=lambda i: geoms[i].distance(piece))
        geoms[k] = geoms[k].union(piece)
    out = parts.copy()
    out["geometry"] = [shapely.make_valid(g) for g in geoms]
    return out, sum(p.area for p in pieces) / 1e6


def _copenhagen_bydele(dd: DataDir, kbh, notes: list[str], kommune_crs=None):
    """Return (GeoDataFrame navn/geometry of the 9 plan bydele clipped to København, precision, source)."""
    bydel_path = dd.file(catalog.DATASETS["bydele"].path)
    if bydel_path.exists():
        raw = read_vector(bydel_path)
        if "navn" not in raw.columns:
            raise InputError(f"{bydel_path}: missing field 'navn'.", hint="use Københavns Kommune's bydele layer (field navn).")
        raw["navn"] = [_plan_name(n) for n in raw["navn"]]
        out = raw.to_crs(kommune_crs).dissolve(by="navn", as_index=False)[["navn", "geometry"]]
        out, filled = tile_to_boundary(out, kbh)
        if filled > 0.005:
            notes.append(f"{filled:.2f} km² of København's DAGI polygon lay outside every bydel polygon (different "
                         "boundary generalisations); each gap was given to the bydel it shares the longest border with, "
                         "so the bydele tile København exactly")
        return out, "bydel", "Københavns Kommune (bydele)"
    table_path = dd.file(catalog.DATASETS["bydele_postnumre"].path)
    post_path = dd.file(catalog.DATASETS["dagi_postnumre"].path)
    if not (table_path.exists() and post_path.exists()):
        catalog.require(dd, "bydele", layer="planomraader")
    notes.append("Copenhagen bydele approximated from postcodes (no bydel polygons in the data directory)")
    return _bydele_from_postcodes(table_path, post_path, kbh, notes), "postnummer-tilnærmet", "SDFI (DAGI postnumre), tilnærmet"


def _plan_name(navn: str) -> str:
    key = normalise_name(navn)
    return _BYDEL_TO_PLAN.get(key, navn)


def _bydele_from_postcodes(table_path, post_path, kbh, notes):
    from kkr_geo.layers.indicators import read_table

    table = read_table(table_path)
    mapping: dict[int, str] = {}
    for line, r in table.iterrows():
        text = str(r["postnr"]).strip()
        lo, _, hi = text.partition("-")
        try:
            lo_i, hi_i = int(lo), int(hi or lo)
        except ValueError:
            raise InputError(f"{table_path}, line {line}: postnr {text!r} is not a postcode or a range like 1000-1499.",
                             hint="fix the row.") from None
        for p in range(lo_i, hi_i + 1):
            mapping[p] = r["planlaegningsomraade"]
    post = read_vector(post_path)
    post = post[post.intersects(kbh)].copy()
    post["geometry"] = post.geometry.intersection(kbh)
    post = post[post.geometry.area > 1]
    post["navn"] = [mapping.get(r[0]) if (r := postcode_range(t)) else None for t in post["POSTNR_TXT"]]
    assigned = post[post["navn"].notna()].dissolve(by="navn", as_index=False)[["navn", "geometry"]]
    slivers = post[post["navn"].isna()]
    geoms = dict(zip(assigned["navn"], assigned.geometry))
    for s in slivers.itertuples():
        # give the sliver to the area it shares the longest boundary with
        best = max(geoms, key=lambda n: s.geometry.boundary.intersection(geoms[n].buffer(1)).length)
        geoms[best] = geoms[best].union(s.geometry)
        notes.append(f"postcode {s.POSTNR_TXT} ({s.geometry.area / 1e6:.2f} km² inside København) assigned to {best}")
    return gpd.GeoDataFrame({"navn": list(geoms)}, geometry=list(geoms.values()), crs=post.crs)
