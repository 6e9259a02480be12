"""Write the SYNTHETIC test data folder ``tests/data_synth`` (run: ``python tests/data_synth/make_synth.py``).

Every geometry and figure here is INVENTED. Municipalities are 5 km × 5 km squares laid out roughly where they
lie on Zealand (København a 10 km × 10 km block of ten 2 km × 5 km bydele, Bornholm a 20 km × 20 km square),
so areas, densities and catchment populations can be worked out by hand. The files have the formats of the real
sources (DAGI GeoJSON in EPSG:4326 with KOMKODE/KOMNAVN, the practice plan's Tabel 3/4 as Danish CSV, the
gazetteer CSV), so every layer and every map type of the package can be built without the shared data.

The output is deterministic: running the script again gives byte-identical files.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point, box, mapping

HERE = Path(__file__).resolve().parent
X0, Y0, CELL = 675_000, 6_130_000, 5_000
TO_WGS84 = Transformer.from_crs(25832, 4326, always_xy=True)

# kommunekode, name, grid cell (column, row) of its 5 km square (None: placed below)
REGION = [
    ("0101", "København", None), ("0147", "Frederiksberg", (8, 10)), ("0151", "Ballerup", (6, 11)),
    ("0153", "Brøndby", (7, 9)), ("0155", "Dragør", (11, 8)), ("0157", "Gentofte", (10, 11)),
    ("0159", "Gladsaxe", (8, 11)), ("0161", "Glostrup", (6, 10)), ("0163", "Herlev", (7, 11)),
    ("0165", "Albertslund", (5, 10)), ("0167", "Hvidovre", (8, 9)), ("0169", "Høje-Taastrup", (4, 10)),
    ("0173", "Lyngby-Taarbæk", (9, 11)), ("0175", "Rødovre", (7, 10)), ("0183", "Ishøj", (5, 9)),
    ("0185", "Tårnby", (10, 8)), ("0187", "Vallensbæk", (6, 9)), ("0190", "Furesø", (7, 12)),
    ("0201", "Allerød", (7, 13)), ("0210", "Fredensborg", (9, 14)), ("0217", "Helsingør", (10, 15)),
    ("0219", "Hillerød", (6, 14)), ("0223", "Hørsholm", (9, 13)), ("0230", "Rudersdal", (9, 12)),
    ("0240", "Egedal", (5, 12)), ("0250", "Frederikssund", (4, 13)), ("0260", "Halsnæs", (4, 14)),
    ("0270", "Gribskov", (6, 15)), ("0400", "Bornholm", None), ("0411", "Christiansø", None),
]
NEIGHBOURS = [("0259", "Køge", (4, 6)), ("0265", "Roskilde", (3, 10)), ("0253", "Greve", (4, 8)),
              ("0269", "Solrød", (4, 7)), ("0350", "Lejre", (2, 10))]
KBH = box(720_000, 6_175_000, 730_000, 6_185_000)          # 100 km²
BORNHOLM = box(865_000, 6_105_000, 885_000, 6_125_000)      # 400 km²
CHRISTIANSOE = box(895_000, 6_130_000, 896_000, 6_131_000)  # 1 km²
# Copenhagen's ten bydele: 2 km × 5 km strips (10 km² each); north row, then south row, west to east.
BYDELE = [("Brønshøj-Husum", 0, 1), ("Bispebjerg", 1, 1), ("Nørrebro", 2, 1), ("Østerbro", 3, 1), ("Indre By", 4, 1),
          ("Vanløse", 0, 0), ("Valby", 1, 0), ("Vesterbro-Kongens Enghave", 2, 0), ("Amager Vest", 3, 0),
          ("Amager Øst", 4, 0)]
BYDEL_POSTNR = {"Brønshøj-Husum": "2700", "Bispebjerg": "2400", "Nørrebro": "2200", "Østerbro": "2100",
                "Indre By": "1000-1499", "Vanløse": "2720", "Valby": "2500", "Vesterbro-Kongens Enghave": "1500-1799",
                "Amager Vest": "2450", "Amager Øst": "2300"}


def cell(c: int, r: int):
    return box(X0 + c * CELL, Y0 + r * CELL, X0 + (c + 1) * CELL, Y0 + (r + 1) * CELL)


def bydel(i: int, j: int):
    return box(720_000 + i * 2000, 6_175_000 + j * 5000, 720_000 + (i + 1) * 2000, 6_175_000 + (j + 1) * 5000)


def kommune_geometry(code: str, where):
    fixed = {"0101": KBH, "0400": BORNHOLM, "0411": CHRISTIANSOE}
    return fixed[code] if code in fixed else cell(*where)


def wgs84(geom):
    return shapely.transform(geom, lambda xy: np.column_stack(TO_WGS84.transform(xy[:, 0], xy[:, 1])))


def lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = TO_WGS84.transform(x, y)
    return round(lon, 7), round(lat, 7)


def _round(obj):
    if isinstance(obj, float):
        return round(obj, 8)
    if isinstance(obj, (list, tuple)):
        return [_round(v) for v in obj]
    return obj


def write_geojson(path: Path, features: list[tuple[dict, object]], *, to_wgs84: bool = True) -> None:
    fc = {"type": "FeatureCollection", "name": path.stem, "features": [
        {"type": "Feature", "properties": props,
         "geometry": {**(m := mapping(wgs84(g) if to_wgs84 else g)), "coordinates": _round(m["coordinates"])}}
        for props, g in features]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


def write_text(path: Path, text: str, *, bom: bool = False, crlf: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if crlf:
        text = text.replace("\n", "\r\n")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


def dk(v: float) -> str:
    """Danish decimal comma, no thousands separator (as the practice plan's CSVs)."""
    return (f"{v:.2f}".rstrip("0").rstrip(".") if v != int(v) else str(int(v))).replace(".", ",")


# --- the practice plan's Tabel 3 (speciale 51) and Tabel 4 (speciale 62): invented figures ----------------
# planlægningsområde -> (planområde, kapacitet sp51, borgere pr. kapacitet sp51); population = product (exact).
PLAN = {
    "Bispebjerg": ("Byen", 5, 11000), "Brønshøj-Husum": ("Byen", 6, 7500), "Indre By": ("Byen", 14, 4000),
    "Nørrebro": ("Byen", 13, 6000), "Vanløse": ("Byen", 4, 9000), "Østerbro": ("Byen", 13, 6500),
    "Frederiksberg": ("Byen", 25, 4200),
    "Ballerup": ("Midt", 14, 3800), "Egedal": ("Midt", 8, 5900), "Furesø": ("Midt", 12.5, 3200),
    "Gentofte": ("Midt", 21, 3600), "Gladsaxe": ("Midt", 14.5, 4800), "Herlev": ("Midt", 8.5, 3600),
    "Lyngby-Taarbæk": ("Midt", 11.5, 5000), "Rudersdal": ("Midt", 28, 2000), "Rødovre": ("Midt", 9, 4400),
    "Allerød": ("Nord", 6, 4300), "Fredensborg": ("Nord", 9, 4500), "Frederikssund": ("Nord", 10, 4600),
    "Gribskov": ("Nord", 9, 4700), "Halsnæs": ("Nord", 6, 5200), "Helsingør": ("Nord", 14, 4500),
    "Hillerød": ("Nord", 12, 4200), "Hørsholm": ("Nord", 7, 3600),
    "Albertslund": ("Syd", 5, 5600), "Amager": ("Syd", 30, 6000), "Brøndby": ("Syd", 5, 7000),
    "Dragør": ("Syd", 3, 4600), "Glostrup": ("Syd", 5, 4600), "Hvidovre": ("Syd", 9, 5700),
    "Høje-Taastrup": ("Syd", 8, 7000), "Ishøj": ("Syd", 3, 7400), "Tårnby": ("Syd", 9.5, 4600),
    "Valby": ("Syd", 4.5, 14000), "Vallensbæk": ("Syd", 2.5, 7600), "Vesterbro": ("Syd", 14, 5800),
    "Bornholm": ("Bornholm", 7, 5400),
}
PLANOMRAADER = ["Bornholm", "Byen", "Midt", "Nord", "Syd"]


def capacity_table(speciale: int) -> str:
    """Tabel 3 (sp51) / Tabel 4 (sp62): sp62 has half the capacity and twice the ratio (same population)."""
    f_cap, f_ratio = (1, 1) if speciale == 51 else (0.5, 2)
    s = f"sp{speciale}"
    lines = [f"område;niveau;planområde;kapacitet_{s};patienter_pr_kapacitet_{s};borgere_pr_kapacitet_{s}"]
    total_cap = total_pop = 0.0
    for po in PLANOMRAADER:
        members = sorted(n for n, v in PLAN.items() if v[0] == po)
        cap = sum(PLAN[n][1] for n in members) * f_cap
        pop = sum(PLAN[n][1] * PLAN[n][2] for n in members)
        total_cap, total_pop = total_cap + cap, total_pop + pop
        lines.append(f"{po};planområde;{po};{dk(cap)};{350 if speciale == 51 else 80};{round(pop / cap)}")
        for n in members:
            _, c, ratio = PLAN[n]
            lines.append(f"{n};planlægningsområde;{po};{dk(c * f_cap)};{300 + len(n) * 7};{int(ratio * f_ratio)}")
    lines.append(f"Region Hovedstaden;region;;{dk(total_cap)};355;{round(total_pop / total_cap)}")
    return "\n".join(lines) + "\n"


def population() -> dict[str, int]:
    return {n: int(v[1] * v[2]) for n, v in PLAN.items()}


def befolkning_csv() -> str:
    pop = population()
    kbh = sum(pop[n] for n in ("Bispebjerg", "Brønshøj-Husum", "Indre By", "Nørrebro", "Vanløse", "Østerbro",
                                "Amager", "Valby", "Vesterbro"))
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["kommunekode", "kommune", "population", "date", "source"])
    for code, name, _ in REGION:
        if code == "0411":
            continue
        w.writerow([code, name, kbh if code == "0101" else pop[name], "2024-01-01", "SYNTETISK (opfundet til test)"])
    return out.getvalue()


# --- points: (name, kind, x, y, municipality) in EPSG:25832 ------------------------------------------------
def cx(c: int, dx: float = 2500) -> float:
    return X0 + c * CELL + dx


def cy(r: int, dy: float = 2500) -> float:
    return Y0 + r * CELL + dy


GAZETTEER = [
    # S-tog, Metro, regional and local rail (stations layer; BRT and park-and-ride waypoints)
    ("Nørrebro", "s_station", 724_500, 6_182_500, "København"),
    ("Husum", "s_station", 720_500, 6_184_000, "København"),
    ("Nørreport", "s_station", 729_000, 6_181_000, "København"),
    ("Valby", "s_station", 723_000, 6_177_500, "København"),
    ("Kongens Nytorv", "metro_station", 729_500, 6_180_500, "København"),
    ("Frederiksberg", "metro_station", cx(8), cy(10), "Frederiksberg"),
    ("Friheden", "s_station", cx(8), cy(9), "Hvidovre"),
    ("Buddinge", "s_station", cx(8), cy(11), "Gladsaxe"),
    ("Bagsværd", "s_station", cx(8, 1000), cy(11, 4000), "Gladsaxe"),
    ("Lyngby", "s_station", cx(9), cy(11), "Lyngby-Taarbæk"),
    ("Ishøj", "s_station", cx(5), cy(9), "Ishøj"),
    ("Høje Taastrup", "s_station", cx(4), cy(10), "Høje-Taastrup"),
    ("Ballerup", "s_station", cx(6), cy(11), "Ballerup"),
    ("Hillerød", "s_station", cx(6), cy(14), "Hillerød"),
    ("Favrholm", "s_station", cx(6, 4000), cy(14, 1000), "Hillerød"),
    ("Køge Nord", "s_station", cx(4), cy(6, 4000), "Køge"),
    ("Kokkedal", "regional_station", cx(9), cy(13, 4000), "Hørsholm"),
    ("Helsingør", "regional_station", cx(10), cy(15), "Helsingør"),
    ("Trekroner", "regional_station", cx(3), cy(10), "Roskilde"),
    ("Gilleleje", "local_rail_station", cx(6), cy(15, 4500), "Gribskov"),
    ("Rønne", "regional_station", 867_000, 6_115_000, "Bornholm"),  # invented: Bornholm has no railway
    # BRT stops of line 150S (bus nodes); the other stops of the card are deliberately absent (reported in notes)
    ("Nørreport St. (Nørre Voldgade)", "bus_node", 728_800, 6_181_200, "København"),
    ("Ryparken St. (Lyngbyvej)", "bus_node", 727_000, 6_184_500, "København"),
    ("Nærum St. (Helsingørmotorvejen)", "bus_node", cx(9), cy(12), "Rudersdal"),
    ("Lautruphøj (Lautrupparken)", "bus_node", cx(6, 4000), cy(11, 3000), "Ballerup"),
]
# park-and-ride: Hvidovre Hospital is absent on purpose (the layer must report it, not guess it)

CLINICS = [  # navn, x, y, kapacitet_sp51, kapacitet_sp62, postnr (a clinic without coordinates: postcode only)
    ("Fysioterapi Nørrebro", 724_000, 6_182_000, 2.5, 1, ""),
    ("Klinik Østerbro & Søn", 727_000, 6_182_000, 1.5, 0.5, ""),
    ("Fysio Ballerup", cx(6), cy(11), 2, 1, ""),
    ("Hillerød Fysioterapi", cx(6), cy(14), 3, 1, ""),
    ("Rønne Træningscenter", 870_000, 6_115_000, 1, 1, ""),
    ("Lyngby Fys (kun postnummer)", None, None, 1, 0, "2800"),
]


def gazetteer_csv() -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["name", "kind", "lat", "lon", "municipality", "source_url_or_repo", "confidence"])
    for name, kind, x, y, kom in GAZETTEER:
        lon, lat = lonlat(x, y)
        w.writerow([name, kind, f"{lat:.7f}", f"{lon:.7f}", kom, "SYNTETISK (opfundet til test)", "high"])
    return out.getvalue()


def klinikker_csv() -> str:
    lines = ["navn;lat;lon;postnr;kapacitet_sp51;kapacitet_sp62"]
    for navn, x, y, k51, k62, postnr in CLINICS:
        lat = lon = ""
        if x is not None:
            lo, la = lonlat(x, y)
            lat, lon = f"{la:.7f}".replace(".", ","), f"{lo:.7f}".replace(".", ",")
        lines.append(f"{navn};{lat};{lon};{postnr};{dk(k51)};{dk(k62)}")
    return "\n".join(lines) + "\n"


def main() -> None:
    kom = [({"KOMKODE": code, "KOMNAVN": name}, kommune_geometry(code, where)) for code, name, where in REGION + NEIGHBOURS]
    write_geojson(HERE / "dagi" / "kommuner.geojson", kom)
    hov = shapely.union_all([kommune_geometry(c, w) for c, _, w in REGION])
    sj = shapely.union_all([cell(*w) for _, _, w in NEIGHBOURS])
    write_geojson(HERE / "dagi" / "regioner.geojson", [({"REGIONKODE": "1084", "REGIONNAVN": "Region Hovedstaden"}, hov),
                                                        ({"REGIONKODE": "1085", "REGIONNAVN": "Region Sjælland"}, sj)])
    post = [({"POSTNR_TXT": BYDEL_POSTNR[n], "POSTBYNAVN": f"København ({n})"}, bydel(i, j)) for n, i, j in BYDELE]
    post.append(({"POSTNR_TXT": "2800", "POSTBYNAVN": "Kongens Lyngby"}, cell(9, 11)))
    write_geojson(HERE / "dagi" / "postnumre.geojson", post)
    write_geojson(HERE / "bydele" / "koebenhavn_bydele.geojson",
                  [({"bydel_nr": k + 1, "navn": n, "areal_m2": 10_000_000}, bydel(i, j)) for k, (n, i, j) in enumerate(BYDELE)])
    plan_of = {"Amager Vest": "Amager", "Amager Øst": "Amager", "Vesterbro-Kongens Enghave": "Vesterbro"}
    write_text(HERE / "planomraader" / "koebenhavn_bydele_fra_postnumre.csv",
               "postnr;postbynavn;planlaegningsomraade;bemaerkning\n"
               + "".join(f"{BYDEL_POSTNR[n]};København;{plan_of.get(n, n)};syntetisk\n" for n, _, _ in BYDELE))
    write_text(HERE / "indikatorer" / "fysioterapi_kapacitet_speciale51_2024.csv", capacity_table(51), bom=True, crlf=True)
    write_text(HERE / "indikatorer" / "fysioterapi_kapacitet_speciale62_2024.csv", capacity_table(62), bom=True, crlf=True)
    write_text(HERE / "befolkning" / "befolkning_kommuner.csv", befolkning_csv())
    # invented detour factors: 1,30 everywhere, Hillerød 1,25 (tests/test_synthetic.py derives Favrholm's band from it)
    write_text(HERE / "afstand" / "omvejsfaktorer_kommuner.csv",
               "kommunekode;kommune;omvejsfaktor_median;omvejsfaktor_p90;antal_par\n"
               + "".join(f"{code};{name};{'1,25' if code == '0219' else '1,30'};1,60;100\n"
                         for code, name, _ in REGION + NEIGHBOURS))
    write_text(HERE / "gazetteer" / "gazetteer.csv", gazetteer_csv())
    write_text(HERE / "klinikker" / "klinikker.csv", klinikker_csv())
    write_text(HERE / "flows" / "patientstroemme.csv",
               "bopaelskommune;klinikkommune;antal\nFrederiksberg;København;1.250\nGentofte;København;430\n"
               "Ballerup;Herlev;210\nKøbenhavn;Frederiksberg;380\nBornholm;Bornholm;900\n")
    write_text(HERE / "supercykelstier" / "ruter.csv",
               "route_code,route_name,from,to,length_km,status,opened_year,municipalities_or_authorities,source\n"
               "S1,Testruten Vest,Albertslund,København,17.5,opened,2012,Albertslund; Glostrup; Rødovre; København,SYNTETISK\n"
               "S2,Testruten Nord,Furesø,København,22.5,planned,,Furesø; Gladsaxe; København,SYNTETISK\n")
    write_geojson(HERE / "supercykelstier" / "ruter.geojson", [
        ({"route_name": "Testruten Vest", "status": "opened"}, LineString([(cx(5), cy(10)), (722_000, 6_180_000)])),
        ({"route_name": "Testruten Nord", "status": "planned"}, LineString([(cx(7), cy(12)), (cx(8), cy(11)), (724_000, 6_184_000)])),
    ])
    write_geojson(HERE / "osm" / "banelinjer_osm.geojson", [
        ({"line": "B", "system": "S-tog", "source": "SYNTETISK"},
         LineString([(729_000, 6_181_000), (723_000, 6_177_500), (cx(7), cy(10)), (cx(6), cy(10)), (cx(4), cy(10))])),
        ({"line": "Kystbanen", "system": "Regionaltog", "source": "SYNTETISK"},
         LineString([(729_000, 6_181_000), (cx(10), cy(11)), (cx(9), cy(13, 4000)), (cx(10), cy(15))])),
    ])
    # a point of interest file for the analysis CLI tests (--facilities)
    write_geojson(HERE / "punkter" / "testpunkter.geojson",
                  [({"navn": "Punkt A", "kapacitet_sp51": 2.0}, Point(725_000, 6_180_000)),
                   ({"navn": "Punkt B", "kapacitet_sp51": 1.0}, Point(cx(6), cy(14)))])


if __name__ == "__main__":
    main()
