"""The datasets the package can read (embedded default or data directory): where each comes from and who needs it.

``kkr-geo data status`` prints this catalogue against the resolved data directory; data/README.md
documents the same entries for people.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from kkr_geo.layers.datadir import DataDir


@dataclass(frozen=True)
class Dataset:
    key: str
    path: str                 # relative to the data directory
    what: str
    publisher: str
    licence: str
    how: str                  # how to obtain it
    kind: str                 # "real" or "schematic" or "table"
    required: bool = True     # False: the layer works without it (degraded or absent)

    @property
    def used_by(self) -> tuple[str, ...]:
        """Registry entries (layers, derived datasets) that declare this dataset in their ``needs``."""
        from kkr_geo.layers.registry import used_by
        return used_by(self.key)


DATASETS: dict[str, Dataset] = {d.key: d for d in [
    Dataset("dagi_kommuner", "dagi/kommuner.geojson", "Municipality polygons of Denmark (KOMKODE, KOMNAVN)",
            "SDFI (Styrelsen for Dataforsyning og Infrastruktur), DAGI", "CC BY 4.0 (SDFI free data; attribution)",
            "`kkr-geo data fetch` (Dataforsyningen), or download DAGI from dataforsyningen.dk", "real"),
    Dataset("dagi_regioner", "dagi/regioner.geojson", "Region polygons (REGIONKODE, REGIONNAVN)",
            "SDFI, DAGI", "CC BY 4.0 (SDFI free data; attribution)", "`kkr-geo data fetch`", "real"),
    Dataset("dagi_postnumre", "dagi/postnumre.geojson", "Postcode polygons (POSTNR_TXT, POSTBYNAVN)",
            "SDFI, DAGI", "CC BY 4.0 (SDFI free data; attribution)", "`kkr-geo data fetch`", "real", required=False),
    Dataset("bydele", "bydele/koebenhavn_bydele.geojson", "Copenhagen's 10 bydele (bydel_nr, navn)",
            "Københavns Kommune (Open Data DK)", "CC BY 4.0",
            "download the 'Bydele' layer from Open Data DK / Københavns Kommune WFS as GeoJSON", "real", required=False),
    Dataset("bydele_postnumre", "planomraader/koebenhavn_bydele_fra_postnumre.csv",
            "Copenhagen postcode -> practice-plan bydel (approximation used when bydel polygons are absent)",
            "kkr-geo (derived from the practice plan's bydel names)", "CC BY 4.0",
            "ships in the embedded default; see data/README.md for its format", "table", required=False),
    Dataset("tabel3_sp51", "indikatorer/fysioterapi_kapacitet_speciale51_2024.csv",
            "Practice plan Tabel 3: physiotherapy capacity and inhabitants per capacity, speciale 51",
            "Region Hovedstaden, praksisplan for fysioterapi (DST population, LUNA capacity)", "public document",
            "transcribe Tabel 3 of the practice plan (format in data/README.md)", "table", required=False),
    Dataset("tabel4_sp62", "indikatorer/fysioterapi_kapacitet_speciale62_2024.csv",
            "Practice plan Tabel 4: the same for speciale 62 (vederlagsfri fysioterapi)",
            "Region Hovedstaden, praksisplan for fysioterapi", "public document",
            "transcribe Tabel 4 of the practice plan", "table", required=False),
    Dataset("befolkning", "befolkning/befolkning_kommuner.csv", "Population per municipality (kommunekode, population, date)",
            "Danmarks Statistik (FOLK1A)", "CC BY 4.0 (Danmarks Statistik)", "`kkr-geo data fetch` (statbank.dk API)", "table", required=False),
    Dataset("gazetteer", "gazetteer/gazetteer.csv", "Named stations, bus stops and hospitals (name, kind, lat, lon, municipality, confidence)",
            "Københavns Kommune WFS (CC BY 4.0), OpenStreetMap (ODbL), Wikipedia", "CC BY 4.0 / ODbL / CC BY-SA",
            "ships in the embedded default; any CSV with the same columns works", "real"),
    Dataset("brt_geometri", "brt/brt_linjer.gpkg", "Real BRT alignments (column projekt) replacing the schematic lines",
            "Movia / the municipalities (feasibility studies)", "as published",
            "export the alignments from the feasibility studies to a GeoPackage with a 'projekt' column", "real", required=False),
    Dataset("supercykelstier_ruter", "supercykelstier/ruter.csv", "Cycle superhighway route table (no geometry)",
            "Supercykelstisekretariatet (supercykelstier.dk)", "public information", "supercykelstier.dk route pages", "table", required=False),
    Dataset("supercykelstier_geometri", "supercykelstier/ruter.gpkg", "Cycle superhighway route lines (route_name, status)",
            "Supercykelstisekretariatet", "as published",
            "download the route lines from supercykelstier.dk / Region Hovedstaden's open data", "real", required=False),
    Dataset("klinikker", "klinikker/klinikker.csv", "Clinic locations with capacity (navn, lat/lon or x/y or adresse, postnr, kapacitet_sp51, kapacitet_sp62)",
            "Region Hovedstaden (practice register) or the municipality", "as agreed with the publisher",
            "export the clinic list from the practice register; coordinates, or at least a postcode per clinic", "real", required=False),
    Dataset("worldpop_punkter", "befolkning/worldpop2020_kbh_frb_punkter.geojson",
            "WorldPop 2020 inhabitants added to street nodes, København and Frederiksberg (field pop): a weight layer",
            "WorldPop (University of Southampton); node positions OpenStreetMap contributors", "CC BY 4.0 / ODbL",
            "ships in the embedded default", "real", required=False),
    Dataset("vejmidter", "vejnet/vejmidter_region_hovedstaden.gpkg",
            "Road centre lines of the 29 municipalities (type, komkode): street network and road-length weights",
            "GeoDanmark road centre lines via RIDA (Septima)", "to be confirmed: never redistribute",
            "place a GeoPackage of road centre lines (EPSG:25832) here (see data/README.md)", "real", required=False),
    Dataset("vejlaengde_grid", "befolkning/vejlaengde_100m.tif",
            "Metres of residential road per 100 m cell (EPSG:25832): the road-length weight of the population surface "
            "where the road centre lines themselves are absent",
            "kkr-geo, aggregated from GeoDanmark road centre lines (RIDA, Septima)", "aggregate (no road geometry)",
            "ships in the embedded default (data/make_bundle.py derives it from the road centre lines)", "real",
            required=False),
    # The detour factor per kommune of the straight-line fallback (kkr_geo.layers.detour). It ships with the package
    # (data/afstand/); kind "derived", not "table", so that its absence from a data directory makes no analysis
    # look unavailable in `kkr-geo layers list`.
    Dataset("omvejsfaktorer", "afstand/omvejsfaktorer_kommuner.csv",
            "Detour factor (network ÷ straight line) per kommune: median, 90th percentile, pairs measured",
            "kkr-geo, measured on GeoDanmark road centre lines (RIDA)", "CC BY 4.0 (derived statistic)",
            "ships with kkr-geo (data/afstand/); regenerate with `python -m kkr_geo.layers.detour --out FILE`",
            "derived", required=False),
    Dataset("banelinjer", "osm/banelinjer_osm.geojson", "Rail lines for map context (S-tog, Metro, Kystbanen, Lokaltog)",
            "OpenStreetMap contributors", "ODbL", "extract railway lines from an OpenStreetMap export", "real", required=False),
]}


def register_dataset(dataset: Dataset) -> Dataset:
    """Declare a dataset the data directory may hold (for a layer module that reads a new file)."""
    old = DATASETS.get(dataset.key)
    if old is not None and old != dataset:
        raise ValueError(f"dataset {dataset.key!r} is declared twice with different contents.")
    DATASETS[dataset.key] = dataset
    return dataset


def fetched_metadata(dd: DataDir) -> dict:
    """What ``kkr-geo data fetch`` recorded about downloaded files (``SOURCES.json``), keyed by the file's
    path relative to the data directory (the records are keyed by fetch name and carry ``file``)."""
    for name in ("SOURCES.json", "_fetched.json"):
        p = dd.path / name
        if p.exists():
            try:
                data = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return {}
            if not isinstance(data, dict):
                return {}
            records = data.get("datasets") if isinstance(data.get("datasets"), dict) else data
            out = {}
            for key, rec in records.items():
                if isinstance(rec, dict):
                    out[str(rec.get("file") or key)] = rec
            return out
    return {}


def bundle_manifest() -> dict:
    """The embedded default's manifest (``data/MANIFEST.json``): per file its sha256, size, SPDX licence,
    attribution, source, retrieval date and what was changed."""
    from kkr_geo.layers.datadir import bundle_dir
    p = bundle_dir() / "MANIFEST.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, dict) else {}


def status(dd: DataDir) -> list[dict]:
    """One row per dataset: where it was found (``"bundle"``, the data directory, or ``""``), its date,
    size and licence, and what needs it."""
    from kkr_geo.layers.registry import entries
    entries()  # import the layer modules first: they may declare datasets of their own
    shipped = bundle_manifest()
    rows = []
    for d in DATASETS.values():
        p = dd.file(d.path)
        where = dd.where(d.path)
        row = {"key": d.key, "path": d.path, "found": p.exists(), "where": where, "what": d.what,
               "publisher": d.publisher, "licence": d.licence, "attribution": "", "kind": d.kind,
               "used_by": ", ".join(d.used_by), "required": d.required, "how": d.how, "date": "", "size": ""}
        if p.exists():
            st = p.stat()
            row["date"] = dt.date.fromtimestamp(st.st_mtime).isoformat()
            row["size"] = f"{st.st_size / 1024:,.0f} KiB"
        if where == "bundle" and d.path in shipped:
            m = shipped[d.path]
            row["licence"] = str(m.get("license", d.licence))
            row["attribution"] = str(m.get("attribution", ""))
            row["date"] = str(m.get("retrieved", row["date"]))
        rows.append(row)
    return rows


def require(dd: DataDir, key: str, *, layer: str) -> Path:
    from kkr_geo.geo.errors import DataError

    d = DATASETS[key]
    p = dd.file(d.path)
    if not p.exists():
        if dd.origin == "bundle":
            where = "not in the embedded default, and no data directory is set (--data-dir or KKR_GEO_DATA)"
        elif dd.base is not None:
            where = f"neither in the data directory {dd.path} nor in the embedded default"
        else:
            where = f"not in the data directory {dd}"
        raise DataError(f"layer {layer!r} needs {d.path} ({d.what}), which is {where}.",
                        hint=f"{d.how}; then run `kkr-geo data status` to check.")
    return p
