"""Rebuild the embedded default dataset (the files beside this script) from the development data.

Run from the project root with the development data in ``KKR_GEO_DATA``::

    KKR_GEO_DATA=../shared/data .venv/bin/python data/make_bundle.py            # copy, compact, derive
    .venv/bin/python data/make_bundle.py --manifest-only                        # re-hash after an edit

What it does, file by file (recorded in ``data/MANIFEST.json`` as each file's ``changes``):

* GeoJSON: coordinates rounded to 6 decimals (≈ 0,1 m; the DAGI copy is a 1:500.000 generalisation,
  ~100 m), the constant third coordinate of DAGI dropped, attributes kept as they are;
* tables (CSV, TXT): copied byte for byte;
* ``befolkning/vejlaengde_100m.tif``: derived here from the road centre lines (never shipped
  themselves): metres of residential road per 100 m cell (cells aligned to multiples of 100 m in
  EPSG:25832, the population surface's grid), the road-length weight of the population surface;
* ``afstand/omvejsfaktorer_kommuner.csv`` is made by the detour-factor measurement (see
  docs/analysis.md) and only hashed here.

The road centre lines (``vejnet/``) and the 150S GTFS shape are never copied: see data/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

from kkr_geo.geo.io import atomic_path, write_text_atomic

HERE = Path(__file__).resolve().parent

CC_BY = "CC-BY-4.0"
ODBL = "ODbL-1.0"
SDFI = ("Indeholder data fra Styrelsen for Dataforsyning og Infrastruktur, DAGI (1:500.000), "
        "hentet 2014-02-13")
KK = "Københavns Kommune"
OSM = "© OpenStreetMap contributors"
PLAN = ("Region Hovedstaden, Praksisplan for fysioterapi (offentligt dokument; tal afskrevet linje for linje, "
        "kildelinjer i hver række)")
MOBIL = "KKR Hovedstaden, Mobilitetsanalyse (offentligt dokument; tal afskrevet, kildelinjer i hver række)"

# path -> (SPDX licence expression, attribution, source, retrieved, what was changed)
FILES: dict[str, tuple[str, str, str, str, str]] = {
    "dagi/kommuner.geojson": (CC_BY, SDFI, "SDFI, DAGI kommuneinddeling, all 98 municipalities", "2014-02-13",
                              "coordinates rounded to 6 decimals, z dropped"),
    "dagi/regioner.geojson": (CC_BY, SDFI, "SDFI, DAGI regionsinddeling", "2014-02-13",
                              "coordinates rounded to 6 decimals, z dropped"),
    "dagi/postnumre.geojson": (CC_BY, SDFI, "SDFI, DAGI postnummerinddeling, all of Denmark", "2014-02-13",
                               "coordinates rounded to 6 decimals, z dropped"),
    "bydele/koebenhavn_bydele.geojson": (CC_BY, KK, "Københavns Kommune, Bydele (Open Data DK), 2023 copy",
                                         "2023-08-10", "coordinates rounded to 6 decimals"),
    "planomraader/koebenhavn_bydele_fra_postnumre.csv": (
        CC_BY, "kkr-geo; Region Hovedstaden, Praksisplan for fysioterapi",
        "Copenhagen postcodes mapped to the practice plan's bydele (used only without the bydel polygons)",
        "2026-08-01", "none"),
    "supercykelstier/eksisterende_kk_cykeldata.geojson": (
        CC_BY, KK, "Københavns Kommune, Cykeldata (WFS k101:cykeldata_kk), kategori Supercykelsti", "2026-08-01",
        "coordinates rounded to 6 decimals"),
    "supercykelstier/ruter.csv": ("LicenseRef-public-information", "Supercykelstisekretariatet (supercykelstier.dk)",
                                  "route table from supercykelstier.dk and municipal pages (facts)", "2026-08-01",
                                  "none"),
    "osm/banelinjer_osm.geojson": (ODBL, OSM, "OpenStreetMap rail lines (S-tog, Metro, Kystbanen, Lokaltog)",
                                   "2026-08-08", "coordinates rounded to 6 decimals"),
    "gazetteer/gazetteer.csv": (
        f"{CC_BY} AND {ODBL}", f"{KK}; {OSM}; Wikipedia (facts)",
        "Københavns Kommune station WFS (CC BY 4.0), OpenStreetMap-derived station list (ODbL), Wikipedia "
        "coordinates (facts); source per row in source_url_or_repo", "2026-08-08", "none"),
    "gazetteer/gazetteer_notes.csv": (f"{CC_BY} AND {ODBL}", f"{KK}; {OSM}", "per-row notes of gazetteer.csv",
                                      "2026-08-08", "none"),
    "gazetteer/missing.txt": (CC_BY, "kkr-geo", "places the gazetteer lacks", "2026-08-08", "none"),
    "gazetteer/stationer_koebenhavns_kommune_wfs.csv": (CC_BY, KK, "Københavns Kommune WFS station_oversigtskort",
                                                        "2024-04-08", "none"),
    "gazetteer/stationer_supplement.csv": (CC_BY, "kkr-geo; Wikipedia (facts)", "station infobox coordinates",
                                           "2026-08-01", "none"),
    "befolkning/befolkning_kommuner.csv": (
        CC_BY, "Danmarks Statistik (FOLK1A), as quoted per row", "population of the 29 municipalities, dates per row",
        "2026-08-01", "none"),
    "befolkning/worldpop2020_kbh_frb_punkter.geojson": (
        f"{CC_BY} AND {ODBL}", f"WorldPop (www.worldpop.org), University of Southampton; {OSM}",
        "WorldPop 2020 constrained 100 m population added to the nearest OpenStreetMap street node, København and "
        "Frederiksberg", "2026-08-01", "coordinates rounded to 6 decimals, pop to 4 decimals, node id dropped"),
    "befolkning/vejlaengde_100m.tif": (
        "LicenseRef-GeoDanmark-aggregate",
        "Afledt af vejmidter fra GeoDanmark (via RIDA, Septima), 2024: kun vejlængde pr. 100 m-celle",
        "derived: metres of residential road (all types but Off. statsvej) per 100 m cell, EPSG:25832",
        "2024-01-01", "aggregate of road centre lines to a 100 m grid; the lines themselves are not included"),
    "afstand/omvejsfaktorer_kommuner.csv": (
        CC_BY, "kkr-geo; målt på vejmidter fra GeoDanmark (via RIDA, Septima), 2024",
        "derived statistic: network ÷ straight-line distance per kommune", "2026-12-07",
        "measured (median and 90th percentile per kommune); no road geometry included"),
    "indikatorer/fysioterapi_kapacitet_speciale51_2024.csv": ("LicenseRef-public-document", PLAN, "Tabel 3",
                                                              "2026-08-01", "transcribed"),
    "indikatorer/fysioterapi_kapacitet_speciale62_2024.csv": ("LicenseRef-public-document", PLAN, "Tabel 4",
                                                              "2026-08-01", "transcribed"),
    "indikatorer/kommunegrupper_dst_2018.csv": ("LicenseRef-public-document", "KL, Mobilitetsundersøgelse 2023; "
                                                "Danmarks Statistik KOMMUNEGRUPPER_V1_2018",
                                                "seed 004 fact box", "2026-08-01", "transcribed"),
    "indikatorer/erhvervshus_kommunefordeling_2024.csv": ("LicenseRef-public-document", "Erhvervshus Hovedstaden",
                                                          "seed 000 l. 12357-12425", "2026-08-01", "transcribed"),
    "mobilitet/mobilitetsanalyse_33_projekter.csv": ("LicenseRef-public-document", MOBIL, "seed 000 l. 962-3804",
                                                     "2026-08-01", "transcribed"),
    "mobilitet/infrastrukturprojekter_ip35_tovholdere_2025.csv": ("LicenseRef-public-document", "KKR Hovedstaden",
                                                                  "seed 003 l. 1066-1160 (IP35)", "2026-08-01",
                                                                  "transcribed"),
    "mobilitet/vip_7plus3_status_infrastrukturplan_2035.csv": ("LicenseRef-public-document", "KKR Hovedstaden",
                                                               "seed 003 l. 1290-1310", "2026-08-01", "transcribed"),
    "mobilitet/lastbilvaekst_2025_2035_pr_straekning.csv": ("LicenseRef-public-document", "KKR Hovedstaden",
                                                            "seed 001 l. 5720-5745", "2026-08-01", "transcribed"),
    "mobilitet/steder_og_linjer_uden_tal.csv": ("LicenseRef-public-document", "KKR Hovedstaden",
                                                "seeds 001-003 (file prefix per row)", "2026-08-01", "transcribed"),
}
for _name, _what in [("ventetider_2024", "Bilag 6/7"), ("befolkningsprognose_2024_2030", "Bilag 3"),
                     ("patienter_pr_kommune_2020_2023", "Bilag 1/2"), ("tilskud_pr_kommune_2023", "Tabel 7/8"),
                     ("kapacitetsudvidelse_2030", "Tabel 10-12"),
                     ("klinikker_og_fysioterapeuter_pr_omraade", "Tabel 1, Bilag 6/7"),
                     ("behandlet_i_eget_omraade_sp51", "Bilag 4")]:
    FILES[f"indikatorer/praksisplan/{_name}.csv"] = ("LicenseRef-public-document", PLAN, _what, "2026-08-01",
                                                     "transcribed")

NEVER = ("vejnet/", "brt/150s_gtfs_shape.geojson")
DERIVED = ("befolkning/vejlaengde_100m.tif", "afstand/omvejsfaktorer_kommuner.csv")


def _round(coords, nd: int = 6):
    if isinstance(coords, (int, float)):
        return round(float(coords), nd)
    if coords and isinstance(coords[0], (int, float)):
        return [round(float(c), nd) for c in coords[:2]]
    return [_round(c, nd) for c in coords]


def compact_geojson(src: Path, dst: Path, *, drop: tuple[str, ...] = (), pop_decimals: int | None = None) -> None:
    data = json.loads(src.read_text(encoding="utf-8"))
    for f in data.get("features", []):
        g = f.get("geometry")
        if g and "coordinates" in g:
            g["coordinates"] = _round(g["coordinates"])
        props = f.get("properties") or {}
        for k in drop:
            props.pop(k, None)
        if pop_decimals is not None and isinstance(props.get("pop"), float):
            props["pop"] = round(props["pop"], pop_decimals)
    data.pop("name", None)
    write_text_atomic(dst, json.dumps(data, ensure_ascii=False, separators=(",", ":")))


def road_length_raster(src: Path, dst: Path) -> None:
    """Metres of residential road per 100 m cell over the region, as a compressed float32 GeoTIFF."""
    import numpy as np
    import rasterio

    from kkr_geo.geo.dasymetric import line_length_per_cell
    from kkr_geo.geo.io import read_vector
    from kkr_geo.layers.roads import NOT_RESIDENTIAL

    roads = read_vector(src)
    if "type" in roads.columns:
        roads = roads[~roads["type"].isin(NOT_RESIDENTIAL)]
    cs = 100.0
    x0, y0, x1, y1 = roads.total_bounds
    c0, r0, c1, r1 = int(np.floor(x0 / cs)) - 1, int(np.floor(y0 / cs)) - 1, int(np.ceil(x1 / cs)) + 1, int(np.ceil(y1 / cs)) + 1
    shape = (r1 - r0, c1 - c0)
    transform = rasterio.Affine(cs, 0, c0 * cs, 0, -cs, r1 * cs)
    values = line_length_per_cell(roads.geometry.values, shape, transform).astype("float32")
    with atomic_path(dst, suffix=".tif") as tmp, rasterio.open(
            tmp, "w", driver="GTiff", height=shape[0], width=shape[1], count=1, dtype="float32",
            crs="EPSG:25832", transform=transform, nodata=None, compress="deflate", predictor=3,
            zlevel=9, tiled=True, blockxsize=256, blockysize=256) as out:
        out.write(values, 1)
        out.update_tags(units="m", description="metres of residential road per 100 m cell (not Off. statsvej)")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest() -> dict:
    files = {}
    for rel, (lic, attribution, source, retrieved, changes) in sorted(FILES.items()):
        p = HERE / rel
        if not p.exists():
            continue
        files[rel] = {"sha256": sha256(p), "bytes": p.stat().st_size, "license": lic, "attribution": attribution,
                      "source": source, "retrieved": retrieved, "changes": changes}
    manifest = {"about": "kkr-geo's embedded default dataset: see data/README.md and ATTRIBUTION.md",
                "made": dt.date.today().isoformat(), "files": files}
    write_text_atomic(HERE / "MANIFEST.json", json.dumps(manifest, ensure_ascii=False, indent=1) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--manifest-only", action="store_true")
    args = ap.parse_args(argv)
    if not args.manifest_only:
        src_root = Path(os.environ.get("KKR_GEO_DATA", "")).expanduser()
        if not (src_root / "dagi" / "kommuner.geojson").exists():
            print("set KKR_GEO_DATA to the development data folder", file=sys.stderr)
            return 2
        for rel in FILES:
            assert not rel.startswith(NEVER), rel
            src, dst = src_root / rel, HERE / rel
            if rel in DERIVED:
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            if rel.endswith(".geojson"):
                worldpop = "worldpop" in rel
                compact_geojson(src, dst, drop=("id",) if worldpop else (), pop_decimals=4 if worldpop else None)
            else:
                shutil.copyfile(src, dst)
        (HERE / "befolkning").mkdir(exist_ok=True)
        road_length_raster(src_root / "vejnet" / "vejmidter_region_hovedstaden.gpkg", HERE / "befolkning" / "vejlaengde_100m.tif")
    m = write_manifest()
    total = sum(f["bytes"] for f in m["files"].values())
    print(f"{len(m['files'])} files, {total / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
