"""Download the open national datasets into a data directory (``kkr-geo data fetch``).

The files are written in the layout the package reads from its data directory::

    dagi/kommuner.geojson              KOMKODE (4-digit string), KOMNAVN, REGIONKODE   EPSG:4326
    dagi/postnumre.geojson             POSTNR_TXT, POSTBYNAVN                          EPSG:4326
    dagi/regioner.geojson              REGIONKODE, REGIONNAVN                          EPSG:4326
    befolkning/befolkning_kommuner.csv kommunekode,kommune,population,date,source
    SOURCES.json                       URL, publisher, licence and fetch time per dataset

Sources
-------
* Boundaries: DAWA, Danmarks Adresser Web API, run by Klimadatastyrelsen / SDFI on Dataforsyningen
  (``https://api.dataforsyningen.dk``; documentation: https://dawadocs.dataforsyningen.dk/dok/dagi and
  https://dawadocs.dataforsyningen.dk/dok/api). The list endpoints ``/kommuner``, ``/postnumre`` and
  ``/regioner`` with ``format=geojson`` return a FeatureCollection in WGS84 (EPSG:4326, DAWA's default
  ``srid``) whose flat properties include ``kode``/``navn``/``regionskode`` (kommuner), ``nr``/``navn``
  (postnumre; ``stormodtager`` postcodes are dropped) and ``kode``/``navn`` (regioner). They are renamed here to the DAGI field names the rest of
  the package reads. DAWA is being retired (SDFI announced its closure for 1 July 2026) in favour of
  Datafordeleren's DAGI services (WFS / file download, which need a Datafordeler user); point
  ``base_urls={"dawa": ...}`` or the environment variable ``KKR_GEO_DAWA_URL`` at a compatible service
  (for example a mirror of the DAWA endpoints) when that happens.
* Population: Statistics Denmark's StatBank API (https://www.dst.dk/en/Statistik/hjaelp-til-statistikbanken/api),
  table FOLK1A (population on the first day of the quarter). ``POST {base}/tableinfo`` with
  ``{"table": "FOLK1A", "format": "JSON", "lang": "da"}`` gives the variables (``OMRÅDE``, ``Tid``, ...)
  and their values; ``POST {base}/data`` with ``{"table": "FOLK1A", "format": "CSV", "lang": "da",
  "valuePresentation": "CodeAndValue", "variables": [{"code": "OMRÅDE", "values": [...]},
  {"code": "Tid", "values": ["2025K1"]}]}`` returns ``;``-separated UTF-8 CSV (``OMRÅDE;TID;INDHOLD``,
  cells like ``101 København``). Variables left out (sex, age, marital status) are eliminated, i.e. totals.
  Base URL: ``base_urls={"statbank": ...}`` or ``KKR_GEO_STATBANK_URL``.

Every response is validated (GeoJSON FeatureCollection with the expected properties and plausible
counts; CSV with the expected columns) before anything is written, and files are written atomically,
so a failed or interrupted download never leaves a half-written file under the target name.
"""

from __future__ import annotations

import csv
import datetime as _dt
import gzip
import http.client
import io
import json
import os
import re
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from kkr_geo.geo.errors import DataError
from kkr_geo.geo.io import write_bytes_atomic
from kkr_geo.geo.log import get_logger
from kkr_geo.geo.version import __version__
from kkr_geo.layers.catalog import DATASETS as CATALOG  # the file layout of the data directory is defined once, there

DEFAULT_BASE_URLS = {
    "dawa": "https://api.dataforsyningen.dk",
    "statbank": "https://api.statbank.dk/v1",
}
BASE_URL_ENV = {"dawa": "KKR_GEO_DAWA_URL", "statbank": "KKR_GEO_STATBANK_URL"}
TIMEOUT_SECONDS = 120
SOURCES_FILE = "SOURCES.json"
USER_AGENT = f"kkr-geo/{__version__} (data fetch; Python urllib)"

_log = get_logger(__name__)

# Rough bounding box of Denmark in WGS84 (lon/lat), used to catch a response in the wrong CRS.
_DK_LON = (7.0, 16.0)
_DK_LAT = (54.0, 58.5)

Opener = Callable[[urllib.request.Request], Any]


@dataclass(frozen=True)
class Dataset:
    """One downloadable dataset. Items can also be read like a dict (``DATASETS[name]["target"]``)."""

    name: str
    service: str          # key into the base URLs: "dawa" or "statbank"
    url_path: str         # path (and query) below the service's base URL
    target: str           # file path relative to the data directory
    publisher: str
    licence: str
    description: str
    page: str             # human-readable page to download from by hand
    expected_count: tuple[int, int]  # plausible number of distinct codes (min, max)
    fields: dict[str, str] = field(default_factory=dict)  # source property -> output field (GeoJSON)

    def __getitem__(self, key: str):
        return getattr(self, key)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "url_path": self.url_path, "target": self.target, "publisher": self.publisher,
                "licence": self.licence, "description": self.description, "page": self.page}


_DAWA_PUBLISHER = "Klimadatastyrelsen / SDFI (DAGI via DAWA, Dataforsyningen)"
_DAWA_LICENCE = "Danish free geodata terms (Dataforsyningen / SDFI), free use with attribution"
_DST_PUBLISHER = "Danmarks Statistik (Statistics Denmark), StatBank"
_DST_LICENCE = "CC BY 4.0 (Statistics Denmark: free use with source reference)"

DATASETS: dict[str, Dataset] = {
    "kommuner": Dataset(
        name="kommuner", service="dawa", url_path="/kommuner?format=geojson", target=CATALOG["dagi_kommuner"].path,
        publisher=_DAWA_PUBLISHER, licence=_DAWA_LICENCE,
        description="municipality boundaries of Denmark (KOMKODE, KOMNAVN, REGIONKODE), EPSG:4326",
        page="https://dawadocs.dataforsyningen.dk/dok/api/kommune", expected_count=(98, 99),
        fields={"kode": "KOMKODE", "navn": "KOMNAVN", "regionskode": "REGIONKODE"}),
    "postnumre": Dataset(
        name="postnumre", service="dawa", url_path="/postnumre?format=geojson", target=CATALOG["dagi_postnumre"].path,
        publisher=_DAWA_PUBLISHER, licence=_DAWA_LICENCE,
        description="postcode boundaries of Denmark (POSTNR_TXT, POSTBYNAVN), EPSG:4326",
        page="https://dawadocs.dataforsyningen.dk/dok/api/postnummer", expected_count=(500, 1500),
        fields={"nr": "POSTNR_TXT", "navn": "POSTBYNAVN"}),
    "regioner": Dataset(
        name="regioner", service="dawa", url_path="/regioner?format=geojson", target=CATALOG["dagi_regioner"].path,
        publisher=_DAWA_PUBLISHER, licence=_DAWA_LICENCE,
        description="region boundaries of Denmark (REGIONKODE, REGIONNAVN), EPSG:4326",
        page="https://dawadocs.dataforsyningen.dk/dok/api/region", expected_count=(5, 5),
        fields={"kode": "REGIONKODE", "navn": "REGIONNAVN"}),
    "befolkning": Dataset(
        name="befolkning", service="statbank", url_path="/data", target=CATALOG["befolkning"].path,
        publisher=_DST_PUBLISHER, licence=_DST_LICENCE,
        description="population per municipality on the first day of the latest quarter (table FOLK1A)",
        page="https://www.statistikbanken.dk/FOLK1A", expected_count=(98, 99)),
}

# Output property names per GeoJSON dataset, in order; the first is the (zero-padded) key.
_KEY_WIDTH = {"KOMKODE": 4, "POSTNR_TXT": 4, "REGIONKODE": 4}
POPULATION_COLUMNS = ["kommunekode", "kommune", "population", "date", "source"]
STATBANK_TABLE = "FOLK1A"


@dataclass
class FetchResult:
    """What one dataset download produced."""

    name: str
    path: Path
    url: str
    records: int
    fetched_at: str
    period: str | None = None   # the StatBank period (e.g. "2025K1"), for the population table

    def __str__(self) -> str:
        extra = f", {self.period}" if self.period else ""
        return f"{self.name}: {self.records} records{extra} -> {self.path}"


# --------------------------------------------------------------------------------------------------
# HTTP

def _default_opener(request: urllib.request.Request):
    return urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS)


def _hint(dataset: Dataset, target_dir: Path, url: str) -> str:
    manual = url if dataset.service == "dawa" else dataset.page
    return (f"check your internet connection / proxy (HTTPS_PROXY), or download manually from {manual} "
            f"and put it at {target_dir / dataset.target}"
            + (" (layers.fetch.import_file renames DAWA's kode/navn fields to DAGI's)" if dataset.service == "dawa" else "")
            + ".")


def _request(url: str, *, data: dict | None, opener: Opener, dataset: Dataset, target_dir: Path) -> bytes:
    """GET (or POST a JSON body) and return the body bytes; network problems become DataError."""
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip"}
    body = None
    if data is not None:
        body = json.dumps(data).encode("utf-8")
        headers["Content-Type"] = "application/json; charset=utf-8"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST" if body else "GET")
    what = f"{dataset.name}: download from {url} failed"
    try:
        response = opener(request)
        try:
            raw = response.read()
        finally:
            close = getattr(response, "close", None)
            if close:
                close()
    except urllib.error.HTTPError as exc:
        detail = ""
        try:
            detail = exc.read()[:300].decode("utf-8", "replace").strip()
        except Exception:  # noqa: BLE001 - the body of an error response is optional
            pass
        raise DataError(f"{what}: HTTP {exc.code} {exc.reason}" + (f" ({detail})" if detail else ""),
                        hint=_hint(dataset, target_dir, url)) from None
    except urllib.error.URLError as exc:
        raise DataError(f"{what}: {exc.reason}", hint=_hint(dataset, target_dir, url)) from None
    except (TimeoutError, socket.timeout):
        raise DataError(f"{what}: no answer within {TIMEOUT_SECONDS} s (timeout)",
                        hint=_hint(dataset, target_dir, url)) from None
    except (OSError, http.client.HTTPException) as exc:  # connection reset, TLS errors, truncated body
        raise DataError(f"{what}: {type(exc).__name__}: {exc}", hint=_hint(dataset, target_dir, url)) from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataError(f"{what}: the compressed response is truncated ({exc})",
                            hint=_hint(dataset, target_dir, url)) from None
    return raw


def _base_urls(overrides: dict[str, str] | None) -> dict[str, str]:
    urls = dict(DEFAULT_BASE_URLS)
    for service, env in BASE_URL_ENV.items():
        if os.environ.get(env):
            urls[service] = os.environ[env]
    urls.update(overrides or {})
    return {k: v.rstrip("/") for k, v in urls.items()}


def _snippet(raw: bytes) -> str:
    text = raw[:120].decode("utf-8", "replace").replace("\n", " ").strip()
    return text or "(empty)"


# --------------------------------------------------------------------------------------------------
# GeoJSON (DAWA)

def convert_dawa_geojson(raw: bytes, dataset: Dataset, *, url: str, check_counts: bool = True) -> tuple[bytes, int]:
    """Validate a DAWA GeoJSON response and rename its properties; return (GeoJSON bytes, feature count).

    Raises DataError naming ``url`` if the body is not a FeatureCollection of (Multi)Polygons in
    EPSG:4326 with the expected properties.
    """
    bad = f"{dataset.name}: the response from {url}"
    hint = (f"the service may be down or changed; try again later, or set the base URL with "
            f"{BASE_URL_ENV[dataset.service]} (see {dataset.page}).")
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DataError(f"{bad} is not JSON (it starts with: {_snippet(raw)!r}).", hint=hint) from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        found = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        message = doc.get("message") if isinstance(doc, dict) else None
        raise DataError(f"{bad} is not a GeoJSON FeatureCollection (found {found!r}"
                        + (f": {message}" if message else "") + ").", hint=hint)
    crs_name = str(((doc.get("crs") or {}).get("properties") or {}).get("name", ""))
    if crs_name and not re.search(r"(4326|CRS84)$", crs_name):
        raise DataError(f"{bad} is in {crs_name}, not WGS84 (EPSG:4326).", hint=hint)

    fields = dict(dataset.fields)
    first = next((f.get("properties") or {} for f in doc["features"] if isinstance(f, dict)), {})
    if not any(src in first for src in fields) and all(dst in first for dst in list(fields.values())[:2]):
        fields = {dst: dst for dst in fields.values()}  # already in DAGI field names (e.g. a re-import)
    required = list(fields)[:2]  # code and name; further fields (e.g. regionskode) are optional
    out_features = []
    codes: set[str] = set()
    for i, feature in enumerate(doc["features"]):
        props = (feature or {}).get("properties") or {}
        missing = [src for src in required if props.get(src) in (None, "")]
        if missing:
            raise DataError(f"{bad}: feature {i} lacks the properties {', '.join(missing)} "
                            f"(has: {', '.join(sorted(props)) or 'none'}).", hint=hint)
        geometry = feature.get("geometry")
        if geometry is None:
            continue  # e.g. a postcode without an area; cannot be mapped
        if props.get("stormodtager") is True:
            continue  # single-organisation postcodes are not part of DAGI's postcode division
        if geometry.get("type") not in ("Polygon", "MultiPolygon"):
            raise DataError(f"{bad}: feature {i} has a {geometry.get('type')} geometry, expected a polygon.", hint=hint)
        _check_lonlat(geometry, f"{bad}: feature {i}", hint)
        new_props = {}
        for src, dst in fields.items():
            value = props.get(src)
            if value is None:
                continue
            value = str(value).strip()
            if dst in _KEY_WIDTH and value.isdigit():
                value = value.zfill(_KEY_WIDTH[dst])
            new_props[dst] = value
        key = new_props[next(iter(fields.values()))]
        codes.add(key)
        out_features.append({"type": "Feature", "properties": new_props, "geometry": geometry})
    if not out_features:
        raise DataError(f"{bad} has no features with a geometry.", hint=hint)
    lo, hi = dataset.expected_count
    if check_counts and not lo <= len(codes) <= hi:
        raise DataError(f"{bad} has {len(codes)} distinct codes; expected {lo}–{hi}. It may be incomplete.",
                        hint=hint)
    out = {"type": "FeatureCollection", "name": Path(dataset.target).stem,
           "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
           "features": out_features}
    return json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), len(out_features)


def _first_position(coords):
    while isinstance(coords, list) and coords and isinstance(coords[0], list):
        coords = coords[0]
    return coords


def _check_lonlat(geometry: dict, where: str, hint: str) -> None:
    pos = _first_position(geometry.get("coordinates"))
    if not (isinstance(pos, list) and len(pos) >= 2 and all(isinstance(c, (int, float)) for c in pos[:2])):
        raise DataError(f"{where} has malformed coordinates.", hint=hint)
    lon, lat = pos[0], pos[1]
    if not (_DK_LON[0] <= lon <= _DK_LON[1] and _DK_LAT[0] <= lat <= _DK_LAT[1]):
        raise DataError(f"{where} has the position ({lon}, {lat}), which is not lon/lat in Denmark "
                        "(wrong coordinate system?).", hint=hint)


# --------------------------------------------------------------------------------------------------
# StatBank (population)

_QUARTER = re.compile(r"(\d{4})K([1-4])")


def quarter_to_date(period: str) -> str:
    """``"2025K1"`` -> ``"2025-01-01"`` (the first day of the quarter; FOLK1A counts on that day)."""
    m = _QUARTER.search(period or "")
    if not m:
        raise ValueError(f"not a StatBank quarter like 2025K1: {period!r}")
    return f"{m.group(1)}-{(int(m.group(2)) - 1) * 3 + 1:02d}-01"


def _is_municipality_code(code: str) -> bool:
    # FOLK1A's OMRÅDE: 000 = all Denmark, 081-085 = regions, 101-860 = municipalities.
    return code.isdigit() and 100 < int(code) < 1000


def statbank_tableinfo_request(table: str = STATBANK_TABLE) -> dict:
    return {"table": table, "format": "JSON", "lang": "da"}


def statbank_data_request(tableinfo: dict, table: str = STATBANK_TABLE) -> tuple[dict, str, dict[str, str]]:
    """Build the ``/data`` request body from a ``/tableinfo`` answer.

    Returns (body, latest period, {municipality code: name}). OMRÅDE is restricted to the municipalities,
    the time variable to its latest value; other variables that cannot be eliminated get their total.
    """
    variables = tableinfo.get("variables") if isinstance(tableinfo, dict) else None
    if not isinstance(variables, list):
        raise ValueError("the tableinfo answer has no 'variables' list")
    area = next((v for v in variables if str(v.get("id", "")).upper() == "OMRÅDE"), None)
    time = next((v for v in variables if v.get("time") or str(v.get("id", "")).lower() == "tid"), None)
    if area is None or time is None:
        raise ValueError(f"table {table} has no OMRÅDE or time variable "
                         f"(variables: {', '.join(str(v.get('id')) for v in variables)})")
    names = {str(v["id"]): str(v.get("text", "")) for v in area.get("values", []) if _is_municipality_code(str(v.get("id")))}
    periods = [str(v["id"]) for v in time.get("values", []) if _QUARTER.fullmatch(str(v.get("id", "")))]
    if not names or not periods:
        raise ValueError(f"table {table} lists no municipalities or no quarters")
    latest = max(periods)
    selection = [{"code": area["id"], "values": list(names)}, {"code": time["id"], "values": [latest]}]
    for v in variables:
        if v is area or v is time or v.get("elimination", True):
            continue
        ids = [str(x["id"]) for x in v.get("values", [])]
        total = next((i for i in ids if i.upper() in ("TOT", "IALT", "I ALT")), ids[0] if ids else None)
        if total is not None:
            selection.append({"code": v["id"], "values": [total]})
    body = {"table": table, "format": "CSV", "lang": "da", "valuePresentation": "CodeAndValue",
            "variables": selection}
    return body, latest, names


_CODE_AND_VALUE = re.compile(r"^\s*(\d{1,4})(?:\s*[:\-]?\s+(.*?))?\s*$")


def parse_statbank_csv(raw: bytes | str, *, names: dict[str, str] | None = None,
                       source: str = "Statistics Denmark, StatBank table FOLK1A") -> list[dict[str, Any]]:
    """Parse StatBank's ``;``-separated CSV (OMRÅDE;TID;INDHOLD) into population rows.

    Accepts a UTF-8 BOM, cells as codes (``101``) or code and value (``101 København``); names missing
    from the cells come from ``names``. Only municipality rows (codes 101–999) are kept. Returns dicts
    with the :data:`POPULATION_COLUMNS`.
    """
    text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text), delimiter=";")
    try:
        header = [h.strip().upper() for h in next(reader)]
    except StopIteration:
        raise ValueError("the CSV is empty") from None
    area_col = next((i for i, h in enumerate(header) if h.startswith("OMR")), None)
    time_col = next((i for i, h in enumerate(header) if h == "TID"), None)
    value_col = next((i for i, h in enumerate(header) if h == "INDHOLD"), None)
    if None in (area_col, time_col, value_col):
        raise ValueError(f"expected the columns OMRÅDE;TID;INDHOLD, found {';'.join(header) or 'nothing'}")
    names = names or {}
    rows = []
    for lineno, cells in enumerate(reader, start=2):
        if not cells or not any(c.strip() for c in cells):
            continue
        if len(cells) < len(header):
            raise ValueError(f"line {lineno} has {len(cells)} fields, expected {len(header)}")
        m = _CODE_AND_VALUE.match(cells[area_col])
        if not m:
            raise ValueError(f"line {lineno}: cannot read the area {cells[area_col]!r}")
        code, name = m.group(1), (m.group(2) or "").strip()
        if not _is_municipality_code(code):
            continue  # all Denmark, regions
        value = cells[value_col].strip().replace(" ", "")
        if not value.isdigit():
            raise ValueError(f"line {lineno}: population {cells[value_col]!r} for {code} is not a whole number")
        period = _QUARTER.search(cells[time_col])
        if not period:
            raise ValueError(f"line {lineno}: period {cells[time_col]!r} is not a quarter like 2025K1")
        quarter = period.group(0)
        rows.append({"kommunekode": code.zfill(4), "kommune": name or names.get(code, names.get(code.zfill(4), "")),
                     "population": int(value), "date": quarter_to_date(quarter),
                     "source": f"{source} ({quarter})"})
    return rows


def population_csv_bytes(rows: Iterable[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=POPULATION_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row[k] for k in POPULATION_COLUMNS})
    return buf.getvalue().encode("utf-8")


def _validate_population(rows: list[dict], dataset: Dataset, url: str, check_counts: bool) -> None:
    hint = f"try again later; if it persists, download table FOLK1A from {dataset.page} (see {SOURCES_FILE})."
    if not rows:
        raise DataError(f"{dataset.name}: the response from {url} has no municipality rows.", hint=hint)
    codes = [r["kommunekode"] for r in rows]
    if len(set(codes)) != len(codes):
        raise DataError(f"{dataset.name}: the response from {url} repeats municipalities "
                        "(more than one period or sub-total?).", hint=hint)
    lo, hi = dataset.expected_count
    if check_counts and not lo <= len(codes) <= hi:
        raise DataError(f"{dataset.name}: the response from {url} has {len(codes)} municipalities; "
                        f"expected {lo}–{hi}. It may be incomplete.", hint=hint)
    if check_counts:
        total = sum(r["population"] for r in rows)
        if not 5_000_000 <= total <= 7_500_000:
            raise DataError(f"{dataset.name}: the municipalities in {url} add up to {total:,} inhabitants, "
                            "not Denmark's ~6 million.", hint=hint)


# --------------------------------------------------------------------------------------------------
# Driver

def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _fetch_dawa(dataset: Dataset, target_dir: Path, base: str, opener: Opener, check_counts: bool) -> FetchResult:
    url = base + dataset.url_path
    raw = _request(url, data=None, opener=opener, dataset=dataset, target_dir=target_dir)
    content, count = convert_dawa_geojson(raw, dataset, url=url, check_counts=check_counts)
    path = write_bytes_atomic(target_dir / dataset.target, content)
    return FetchResult(dataset.name, path, url, count, _now())


def _fetch_statbank(dataset: Dataset, target_dir: Path, base: str, opener: Opener, check_counts: bool) -> FetchResult:
    info_url = f"{base}/tableinfo"
    raw = _request(info_url, data=statbank_tableinfo_request(), opener=opener, dataset=dataset, target_dir=target_dir)
    bad_hint = f"the StatBank API may have changed; see https://www.dst.dk/en/Statistik/hjaelp-til-statistikbanken/api or {dataset.page}."
    try:
        tableinfo = json.loads(raw.decode("utf-8-sig"))
        body, period, names = statbank_data_request(tableinfo)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DataError(f"{dataset.name}: the response from {info_url} is not JSON (it starts with: {_snippet(raw)!r}).",
                        hint=bad_hint) from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataError(f"{dataset.name}: unexpected table description from {info_url}: {exc}.", hint=bad_hint) from None

    url = base + dataset.url_path
    raw = _request(url, data=body, opener=opener, dataset=dataset, target_dir=target_dir)
    if raw.lstrip()[:1] in (b"<", b"{", b"["):
        raise DataError(f"{dataset.name}: the response from {url} is not CSV (it starts with: {_snippet(raw)!r}).",
                        hint=bad_hint)
    try:
        rows = parse_statbank_csv(raw, names=names, source=f"{dataset.publisher}, table {STATBANK_TABLE}, {url}")
    except (UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{dataset.name}: cannot read the CSV from {url}: {exc}.", hint=bad_hint) from None
    _validate_population(rows, dataset, url, check_counts)
    rows.sort(key=lambda r: r["kommunekode"])
    path = write_bytes_atomic(target_dir / dataset.target, population_csv_bytes(rows))
    return FetchResult(dataset.name, path, url, len(rows), _now(), period=period)


def _record_sources(target_dir: Path, results: list[FetchResult]) -> Path:
    path = target_dir / SOURCES_FILE
    sources: dict[str, Any] = {}
    if path.exists():
        try:
            sources = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            sources = {}
    datasets = sources.get("datasets") if isinstance(sources.get("datasets"), dict) else {}
    for r in results:
        ds = DATASETS[r.name]
        entry = {"file": ds.target, "url": r.url, "method": "POST" if ds.service == "statbank" else "GET",
                 "publisher": ds.publisher, "licence": ds.licence, "description": ds.description,
                 "fetched": r.fetched_at, "records": r.records}
        if r.period:
            entry["period"] = r.period
        datasets[r.name] = entry
    sources = {"generator": "kkr-geo data fetch", "datasets": dict(sorted(datasets.items()))}
    write_bytes_atomic(path, (json.dumps(sources, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    return path


def read_sources(target_dir: str | os.PathLike) -> dict[str, dict]:
    """The per-dataset records of ``SOURCES.json`` in ``target_dir`` (empty if there is none)."""
    path = Path(target_dir) / SOURCES_FILE
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return {}
    return data.get("datasets", {}) if isinstance(data, dict) else {}


def fetch(target_dir: str | os.PathLike, datasets: list[str] | None = None, *,
          base_urls: dict[str, str] | None = None, opener: Opener | None = None,
          progress: Callable[[str], Any] | None = _log.info, check_counts: bool = True) -> list[FetchResult]:
    """Download ``datasets`` (default: all of :data:`DATASETS`) into ``target_dir``.

    ``base_urls`` overrides the service roots ({"dawa": ..., "statbank": ...}); ``opener`` is called
    with a :class:`urllib.request.Request` and must return a file-like response (default: ``urlopen``
    with a timeout). ``check_counts=False`` skips the plausibility checks on counts (for tests).
    Raises :class:`DataError` on the first dataset that fails; datasets fetched before it are kept
    and recorded in ``SOURCES.json``.
    """
    target_dir = Path(target_dir).expanduser()
    names = list(datasets) if datasets else list(DATASETS)
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        raise DataError(f"unknown dataset {', '.join(unknown)}.", hint=f"choose from {', '.join(DATASETS)}.")
    urls = _base_urls(base_urls)
    opener = opener or _default_opener
    say = progress or (lambda _msg: None)
    results: list[FetchResult] = []
    try:
        for name in names:
            ds = DATASETS[name]
            say(f"fetching {name} from {urls[ds.service]}{ds.url_path} ...")
            run = _fetch_dawa if ds.service == "dawa" else _fetch_statbank
            result = run(ds, target_dir, urls[ds.service], opener, check_counts)
            say(f"  {result}")
            results.append(result)
    finally:
        if results:
            _record_sources(target_dir, results)
    return results


def import_file(name: str, source: str | os.PathLike, target_dir: str | os.PathLike, *,
                check_counts: bool = True) -> FetchResult:
    """Convert a manually downloaded DAWA GeoJSON (e.g. saved from ``/kommuner?format=geojson``) into
    the data directory, with the same checks and field mapping as :func:`fetch`."""
    if name not in DATASETS or DATASETS[name].service != "dawa":
        raise DataError(f"import_file: {name!r} is not a boundary dataset.",
                        hint=f"choose from {', '.join(n for n, d in DATASETS.items() if d.service == 'dawa')}.")
    ds, source, target_dir = DATASETS[name], Path(source), Path(target_dir).expanduser()
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise DataError(f"{source}: cannot be read ({exc.strerror}).", hint="check the path.") from None
    content, count = convert_dawa_geojson(raw, ds, url=str(source), check_counts=check_counts)
    path = write_bytes_atomic(target_dir / ds.target, content)
    result = FetchResult(name, path, source.resolve().as_uri(), count, _now())
    _record_sources(target_dir, [result])
    return result
