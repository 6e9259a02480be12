"""Fetchers for the real sources behind the region's layers (``kkr-geo data fetch NAME``).

Each fetcher downloads one public source, validates it, converts it to the data directory's layout
and records a dated provenance entry (URL, time, size, SHA-256, licence) in ``SOURCES.json``:

``worldpop``        WorldPop 2020 constrained population, Denmark, 100 m (GeoTIFF, EPSG:4326)
                    -> ``befolkning/worldpop_dnk_2020_100m.tif`` (use it as the dasymetric weight raster)
``supercykelstier`` OpenStreetMap bicycle route relations of the Cykelsuperstier, with names (Overpass API)
                    -> ``supercykelstier/ruter.geojson`` (route_name, ref, status, osm_id)
``fysioterapeuter`` OSM ``healthcare=physiotherapist`` in Region Hovedstaden -> ``osm/fysioterapeuter_osm.geojson``
``hospitaler``      OSM ``amenity=hospital`` / ``healthcare=hospital`` -> ``osm/hospitaler_osm.geojson``
``gangveje``        OSM walkable ways (footway, path, pedestrian, living_street, residential, ...)
                    -> ``osm/gangveje_osm.geojson`` (a street network for ``--network``)
``gtfs``            Rejseplanen's GTFS feed: shapes of 150S, 200S, 250S, 400S, 500S and their stops
                    -> ``brt/gtfs_linjer.geojson``, ``brt/gtfs_stoppesteder.geojson``
``dagi``            DAGI kommuner and regioner from Dataforsyningen's current WFS (GeoJSON output)
                    -> ``dagi/kommuner.geojson``, ``dagi/regioner.geojson``
``befolkning``      Danmarks Statistik FOLK1A, all 98 municipalities (incl. the Region Sjælland
                    neighbours, e.g. Køge and Roskilde) -> ``befolkning/befolkning_kommuner.csv`` (see layers.fetch)

Large files (WorldPop, GTFS) are downloaded to ``<target>.part`` and resumed with an HTTP ``Range``
request when a ``.part`` file is left from an interrupted run; a known SHA-256 (``KKR_GEO_SHA256_<NAME>``
or ``expected_sha256=``) is checked before the file is moved into place. Progress is logged (INFO) every
few megabytes. Without a network connection every fetcher stops with one clear message and writes
nothing. Service roots can be changed with environment variables (``KKR_GEO_WORLDPOP_URL``,
``KKR_GEO_OVERPASS_URL``, ``KKR_GEO_GTFS_URL``, ``KKR_GEO_DAGI_WFS_URL``; Dataforsyningen needs a free
token in ``KKR_GEO_DATAFORSYNINGEN_TOKEN``).

The formats these converters expect (and the recorded responses in ``tests/fixtures/fetch`` follow):
Overpass ``[out:json]`` with ``out geom`` (ways and relation members carry ``geometry`` lists of
``{"lat", "lon"}``) or ``out center`` (``center`` for ways); GTFS text files ``routes.txt``,
``trips.txt``, ``shapes.txt``, ``stop_times.txt``, ``stops.txt`` in a zip; WFS 2.0 ``GetFeature`` with
``outputFormat=application/json`` (a GeoJSON FeatureCollection in EPSG:4326).
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import io
import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from kkr_geo.geo.errors import DataError
from kkr_geo.geo.io import write_bytes_atomic
from kkr_geo.geo.log import get_logger

_log = get_logger(__name__)

SOURCES_FILE = "SOURCES.json"
CHUNK = 1 << 20
TIMEOUT_SECONDS = 300
#: Region Hovedstaden in WGS84 (south, west, north, east), Bornholm included.
REGION_BBOX = (54.95, 11.85, 56.15, 15.25)
BRT_LINES = ("150S", "200S", "250S", "400S", "500S")
#: GTFS line -> the project key of the BRT layer, where the line is a BRT project of the mobility analysis.
BRT_PROJECTS = {"150S": "150s", "200S": "200s"}

DEFAULT_URLS = {
    "worldpop": "https://data.worldpop.org/GIS/Population/Global_2000_2020_Constrained/2020/maxar_v1/DNK/"
                "dnk_ppp_2020_constrained.tif",
    "overpass": "https://overpass-api.de/api/interpreter",
    "gtfs": "https://www.rejseplanen.info/labs/GTFS.zip",
    "dagi": "https://api.dataforsyningen.dk/DAGI_10MULTIGEOM_GMLSFP_DAF",
}
URL_ENV = {"worldpop": "KKR_GEO_WORLDPOP_URL", "overpass": "KKR_GEO_OVERPASS_URL", "gtfs": "KKR_GEO_GTFS_URL",
           "dagi": "KKR_GEO_DAGI_WFS_URL"}
TOKEN_ENV = "KKR_GEO_DATAFORSYNINGEN_TOKEN"

Opener = Callable[[urllib.request.Request], Any]


@dataclass(frozen=True)
class Source:
    name: str
    service: str
    targets: tuple[str, ...]
    publisher: str
    licence: str
    description: str


_OSM = ("OpenStreetMap contributors (Overpass API)", "ODbL 1.0 (© OpenStreetMap contributors)")
SOURCES: dict[str, Source] = {s.name: s for s in [
    Source("worldpop", "worldpop", ("befolkning/worldpop_dnk_2020_100m.tif",),
           "WorldPop, University of Southampton", "CC BY 4.0",
           "WorldPop 2020 constrained population counts, Denmark, 3 arc-seconds (~100 m), people per cell"),
    Source("supercykelstier", "overpass", ("supercykelstier/ruter.geojson",), *_OSM,
           "Cykelsuperstier: OSM bicycle route relations named Cykelsuperstien/Supercykelsti, with names"),
    Source("fysioterapeuter", "overpass", ("osm/fysioterapeuter_osm.geojson",), *_OSM,
           "physiotherapists (healthcare=physiotherapist) in Region Hovedstaden"),
    Source("hospitaler", "overpass", ("osm/hospitaler_osm.geojson",), *_OSM,
           "hospitals (amenity=hospital or healthcare=hospital) in Region Hovedstaden"),
    Source("gangveje", "overpass", ("osm/gangveje_osm.geojson",), *_OSM,
           "walkable ways in Region Hovedstaden (a street network for walking distance)"),
    Source("gtfs", "gtfs", ("brt/gtfs_linjer.geojson", "brt/gtfs_stoppesteder.geojson"),
           "Rejseplanen A/S (GTFS feed); Movia", "Rejseplanen Labs terms (free use with attribution)",
           "route shapes and stops of the S-bus lines " + ", ".join(BRT_LINES)),
    Source("dagi", "dagi", ("dagi/kommuner.geojson", "dagi/regioner.geojson"),
           "Klimadatastyrelsen (DAGI on Dataforsyningen, WFS)", "Danish free geodata terms (attribution)",
           "municipality and region boundaries (KOMKODE, KOMNAVN, REGIONKODE / REGIONKODE, REGIONNAVN), EPSG:4326"),
]}
NAMES = (*SOURCES, "befolkning")


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _url(service: str, overrides: dict | None) -> str:
    return ((overrides or {}).get(service) or os.environ.get(URL_ENV[service]) or DEFAULT_URLS[service]).rstrip("/")


# --- HTTP ---------------------------------------------------------------------------------------

def _offline_hint(url: str, target: Path) -> str:
    return (f"you seem to be offline or {urllib.parse.urlparse(url).hostname} cannot be reached: check the internet "
            f"connection or proxy (HTTPS_PROXY), or download {url} by hand and put the converted file at {target}.")


def _open(request, opener: Opener, name: str, target: Path):
    url = request.full_url
    try:
        return opener(request)
    except urllib.error.HTTPError as exc:
        raise DataError(f"{name}: {url} answered HTTP {exc.code} {exc.reason}.",
                        hint=f"the service may be down or moved; set {URL_ENV.get(SOURCES[name].service, 'the URL')} "
                             "to a working address, or try later.") from None
    except urllib.error.URLError as exc:
        raise DataError(f"{name}: cannot reach {url} ({exc.reason}).", hint=_offline_hint(url, target)) from None
    except (TimeoutError, socket.timeout):
        raise DataError(f"{name}: no answer from {url} within {TIMEOUT_SECONDS} s.", hint=_offline_hint(url, target)) from None
    except OSError as exc:
        raise DataError(f"{name}: {url}: {type(exc).__name__}: {exc}", hint=_offline_hint(url, target)) from None


def _default_opener(request):
    return urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS)


def _headers() -> dict:
    from kkr_geo.geo.version import __version__
    return {"User-Agent": f"kkr-geo/{__version__} (data fetch)"}


def download(url: str, dest: Path, *, name: str, opener: Opener | None = None, say=_log.info,
             expected_sha256: str | None = None) -> tuple[Path, str, int]:
    """Download ``url`` to ``dest`` resumably; returns (path, sha256, bytes).

    Bytes go to ``dest.part``; a ``.part`` left by an interrupted run is continued with
    ``Range: bytes=N-`` (a server that answers 200 instead of 206 sends the whole file again, and the
    ``.part`` is restarted). With ``expected_sha256`` a mismatch deletes the ``.part`` and raises.
    """
    opener = opener or _default_opener
    say = say or (lambda _m: None)
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    headers = _headers()
    if have:
        headers["Range"] = f"bytes={have}-"
    resp = _open(urllib.request.Request(url, headers=headers), opener, name, dest)
    status = getattr(resp, "status", None) or getattr(resp, "code", None) or 200
    if have and status != 206:
        say(f"  {name}: the server does not resume; downloading from the start")
        have = 0
    elif have:
        say(f"  {name}: resuming after {have / 1e6:,.1f} MB")
    length = resp.headers.get("Content-Length") if getattr(resp, "headers", None) else None
    total = have + int(length) if length and str(length).isdigit() else None
    h = hashlib.sha256()
    if have:
        with open(part, "rb") as f:
            for block in iter(lambda: f.read(CHUNK), b""):
                h.update(block)
    got, next_report = have, have + 8 * CHUNK
    try:
        with open(part, "ab" if have else "wb") as out:
            while True:
                try:
                    block = resp.read(CHUNK)
                except (OSError, socket.timeout) as exc:
                    raise DataError(f"{name}: the download of {url} broke off after {got / 1e6:,.1f} MB ({exc}).",
                                    hint=f"run the same command again: it resumes from {part.name}.") from None
                if not block:
                    break
                out.write(block)
                h.update(block)
                got += len(block)
                if got >= next_report:
                    say(f"  {name}: {got / 1e6:,.1f}" + (f" of {total / 1e6:,.1f} MB ({got / total:.0%})" if total else " MB"))
                    next_report = got + 8 * CHUNK
    finally:
        close = getattr(resp, "close", None)
        if close:
            close()
    if total is not None and got != total:
        raise DataError(f"{name}: {url} ended after {got:,} of {total:,} bytes.",
                        hint=f"run the same command again: it resumes from {part.name}.")
    digest = h.hexdigest()
    expected = expected_sha256 or os.environ.get(f"KKR_GEO_SHA256_{name.upper()}")
    if expected and digest.lower() != expected.lower():
        part.unlink(missing_ok=True)
        raise DataError(f"{name}: the download of {url} has SHA-256 {digest}, expected {expected}.",
                        hint="the file was damaged or changed at the source; run the command again, or check the checksum.")
    os.replace(part, dest)
    say(f"  {name}: {got / 1e6:,.1f} MB, sha256 {digest[:16]}…")
    return dest, digest, got


def _post_form(url: str, data: dict, *, name: str, opener: Opener, target: Path) -> bytes:
    body = urllib.parse.urlencode(data).encode("utf-8")
    req = urllib.request.Request(url, data=body, headers={**_headers(), "Content-Type": "application/x-www-form-urlencoded"},
                                 method="POST")
    return _read(req, opener, name, target)


def _get(url: str, *, name: str, opener: Opener, target: Path) -> bytes:
    return _read(urllib.request.Request(url, headers=_headers()), opener, name, target)


def _read(req, opener: Opener, name: str, target: Path) -> bytes:
    """The whole body of one request's response, closed afterwards."""
    resp = _open(req, opener, name, target)
    try:
        return resp.read()
    finally:
        close = getattr(resp, "close", None)
        if close:
            close()


# --- provenance -----------------------------------------------------------------------------------

def record(target_dir: Path, name: str, entry: dict) -> Path:
    """Add or replace ``name``'s dated record in ``SOURCES.json`` (shared with :mod:`kkr_geo.layers.fetch`)."""
    path = Path(target_dir) / SOURCES_FILE
    data: dict = {}
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
    datasets = data.get("datasets") if isinstance(data.get("datasets"), dict) else {}
    datasets[name] = entry
    data = {"generator": "kkr-geo data fetch", "datasets": dict(sorted(datasets.items()))}
    return write_bytes_atomic(path, (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))


def _entry(src: Source, url: str, files: dict[str, bytes | tuple[str, int]], records: int, **extra) -> dict:
    out = {"url": url, "publisher": src.publisher, "licence": src.licence, "description": src.description,
           "fetched": _now(), "records": records, "files": {}}
    for rel, content in files.items():
        if isinstance(content, tuple):
            out["files"][rel] = {"sha256": content[0], "bytes": content[1]}
        else:
            out["files"][rel] = {"sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}
    out["file"] = next(iter(files))
    out.update(extra)
    return out


# --- WorldPop -------------------------------------------------------------------------------------

def check_population_raster(path: Path, name: str = "worldpop") -> dict:
    """A downloaded population raster must open, have a CRS, lie over Denmark and hold no negative counts."""
    import rasterio
    from rasterio.warp import transform_bounds
    try:
        with rasterio.open(path) as ds:
            if ds.crs is None:
                raise DataError(f"{name}: {path.name} has no coordinate system.", hint="the download is not a WorldPop GeoTIFF.")
            w, s, e, n = transform_bounds(ds.crs, "EPSG:4326", *ds.bounds)
            arr = ds.read(1, masked=True)
            total = float(arr.sum()) if arr.count() else 0.0
            neg = bool((arr < 0).any())
    except rasterio.errors.RasterioIOError as exc:
        raise DataError(f"{name}: {path.name} is not a readable GeoTIFF ({exc}).",
                        hint="delete it and run the fetch again (an HTML error page may have been saved).") from None
    if not (e > 8 and w < 15.5 and n > 54.5 and s < 57.8):
        raise DataError(f"{name}: {path.name} covers {w:.2f}–{e:.2f} E, {s:.2f}–{n:.2f} N, not Denmark.",
                        hint=f"check {URL_ENV['worldpop']}.")
    if neg:
        raise DataError(f"{name}: {path.name} holds negative population counts.", hint="its nodata value is not set.")
    return {"bounds_wgs84": [round(w, 4), round(s, 4), round(e, 4), round(n, 4)], "population_total": round(total)}


def fetch_worldpop(target_dir: Path, *, opener=None, say=_log.info, base_urls=None, expected_sha256=None) -> dict:
    src = SOURCES["worldpop"]
    url = _url("worldpop", base_urls)
    dest = Path(target_dir) / src.targets[0]
    tmp = dest.with_name(dest.stem + ".download.tif")
    _, digest, size = download(url, tmp, name="worldpop", opener=opener, say=say, expected_sha256=expected_sha256)
    try:
        info = check_population_raster(tmp)
    except DataError:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, dest)
    entry = _entry(src, url, {src.targets[0]: (digest, size)}, 1, **info)
    record(target_dir, "worldpop", entry)
    return entry


# --- Overpass -------------------------------------------------------------------------------------

def overpass_query(name: str, bbox=REGION_BBOX) -> str:
    """The Overpass QL query of an OSM source (``[out:json]``)."""
    b = ",".join(f"{v:g}" for v in bbox)
    head = f"[out:json][timeout:300][bbox:{b}];"
    if name == "supercykelstier":
        return head + 'relation["type"="route"]["route"="bicycle"]["name"~"[Ss]upercykelsti|[Cc]ykelsupersti"];out geom;'
    if name == "fysioterapeuter":
        return head + 'nwr["healthcare"="physiotherapist"];out center tags;'
    if name == "hospitaler":
        return head + '(nwr["amenity"="hospital"];nwr["healthcare"="hospital"];);out center tags;'
    if name == "gangveje":
        return head + ('way["highway"~"^(footway|path|pedestrian|living_street|residential|service|unclassified|'
                       'tertiary|secondary|primary|cycleway|steps|track)$"]["access"!~"^(no|private)$"]'
                       '["foot"!~"^(no)$"];out geom;')
    raise KeyError(name)


def _line(geometry: list) -> list | None:
    pts = [[float(p["lon"]), float(p["lat"])] for p in geometry or [] if p and "lon" in p and "lat" in p]
    return pts if len(pts) >= 2 else None


def convert_overpass(raw: bytes, name: str, *, url: str = "overpass") -> tuple[bytes, int]:
    """Overpass JSON -> GeoJSON FeatureCollection (EPSG:4326) for one OSM source; (bytes, features)."""
    bad = f"{name}: the answer from {url}"
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        snippet = raw[:100].decode("utf-8", "replace").replace("\n", " ")
        raise DataError(f"{bad} is not JSON (it starts with {snippet!r}).",
                        hint="Overpass answers with an HTML page when it is overloaded or the query timed out; try later.") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("elements"), list):
        raise DataError(f"{bad} has no 'elements' list.", hint="is this an Overpass [out:json] answer?")
    if doc.get("remark") and "error" in str(doc["remark"]).lower():
        raise DataError(f"{bad} reports: {doc['remark']}", hint="the query timed out or ran out of memory; try later.")
    feats = []
    for el in doc["elements"]:
        tags = el.get("tags") or {}
        oid = f"{el.get('type')}/{el.get('id')}"
        if name == "supercykelstier":
            if el.get("type") != "relation":
                continue
            lines = [ln for m in el.get("members") or [] if m.get("type") == "way" for ln in [_line(m.get("geometry"))] if ln]
            if not lines:
                continue
            status = "planlagt" if tags.get("state") == "proposed" or "proposed" in tags else "eksisterende"
            feats.append({"type": "Feature", "geometry": {"type": "MultiLineString", "coordinates": lines},
                          "properties": {"route_name": tags.get("name", ""), "ref": tags.get("ref", ""),
                                         "status": status, "osm_id": oid}})
        elif name == "gangveje":
            ln = _line(el.get("geometry")) if el.get("type") == "way" else None
            if ln:
                feats.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": ln},
                              "properties": {"highway": tags.get("highway", ""), "name": tags.get("name", ""), "osm_id": oid}})
        else:
            c = el if el.get("type") == "node" else (el.get("center") or {})
            if "lat" not in c or "lon" not in c:
                continue
            addr = " ".join(x for x in (tags.get("addr:street"), tags.get("addr:housenumber")) if x)
            feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(c["lon"]), float(c["lat"])]},
                          "properties": {"navn": tags.get("name", ""), "adresse": addr, "postnr": tags.get("addr:postcode", ""),
                                         "kind": tags.get("healthcare") or tags.get("amenity", ""), "osm_id": oid}})
    if not feats:
        raise DataError(f"{bad} holds no usable {name} features.", hint="the query found nothing; check the tags or the area.")
    fc = {"type": "FeatureCollection", "name": name,
          "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}, "features": feats}
    return json.dumps(fc, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), len(feats)


def fetch_overpass(name: str, target_dir: Path, *, opener=None, say=_log.info, base_urls=None) -> dict:
    src = SOURCES[name]
    url = _url("overpass", base_urls)
    target = Path(target_dir) / src.targets[0]
    query = overpass_query(name)
    raw = _post_form(url, {"data": query}, name=name, opener=opener or _default_opener, target=target)
    content, n = convert_overpass(raw, name, url=url)
    write_bytes_atomic(target, content)
    say(f"  {name}: {n} features -> {target}")
    entry = _entry(src, url, {src.targets[0]: content}, n, method="POST", query=query)
    record(target_dir, name, entry)
    return entry


# --- GTFS -----------------------------------------------------------------------------------------

def _gtfs_table(z: zipfile.ZipFile, member: str, need: set[str]) -> list[dict]:
    names = {Path(n).name: n for n in z.namelist()}
    if member not in names:
        raise DataError(f"gtfs: the feed has no {member}.", hint="is this a GTFS zip? (routes.txt, trips.txt, shapes.txt, ...)")
    with z.open(names[member]) as f:
        rows = list(csv.DictReader(io.TextIOWrapper(f, encoding="utf-8-sig")))
    missing = need - set(rows[0].keys() if rows else need)
    if missing:
        raise DataError(f"gtfs: {member} lacks the column(s) {', '.join(sorted(missing))}.", hint="see https://gtfs.org/schedule/reference/.")
    return rows


def convert_gtfs(zip_bytes_or_path, lines=BRT_LINES) -> tuple[bytes, bytes, int, int]:
    """Shapes and stops of ``lines`` from a GTFS zip: (lines GeoJSON, stops GeoJSON, n lines, n stops).

    Per line and direction the shape used by most trips is kept. Stops are those served by any trip
    of the lines, each with the lines that serve it (``linjer``).
    """
    src = zip_bytes_or_path if isinstance(zip_bytes_or_path, (str, os.PathLike)) else io.BytesIO(zip_bytes_or_path)
    try:
        z = zipfile.ZipFile(src)
    except zipfile.BadZipFile:
        raise DataError("gtfs: the download is not a zip file.", hint="the feed URL may have changed; set KKR_GEO_GTFS_URL.") from None
    with z:
        routes = _gtfs_table(z, "routes.txt", {"route_id", "route_short_name"})
        wanted = {r["route_id"]: r["route_short_name"].strip().upper() for r in routes
                  if r["route_short_name"].strip().upper() in set(lines)}
        if not wanted:
            raise DataError(f"gtfs: none of the lines {', '.join(lines)} is in routes.txt.", hint="check the feed.")
        trips = [t for t in _gtfs_table(z, "trips.txt", {"route_id", "trip_id", "shape_id"}) if t["route_id"] in wanted]
        use: dict[tuple[str, str], dict[str, int]] = {}
        for t in trips:
            key = (wanted[t["route_id"]], t.get("direction_id", "") or "")
            use.setdefault(key, {}).setdefault(t["shape_id"], 0)
            use[key][t["shape_id"]] += 1
        chosen = {max(c, key=c.get): key for key, c in use.items()}
        pts: dict[str, list[tuple[int, float, float]]] = {}
        for s in _gtfs_table(z, "shapes.txt", {"shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence"}):
            if s["shape_id"] in chosen:
                pts.setdefault(s["shape_id"], []).append((int(s["shape_pt_sequence"]), float(s["shape_pt_lon"]), float(s["shape_pt_lat"])))
        line_feats = []
        for sid, (line, direction) in sorted(chosen.items(), key=lambda kv: kv[1]):
            seq = sorted(pts.get(sid, []))
            if len(seq) < 2:
                continue
            line_feats.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[x, y] for _, x, y in seq]},
                               "properties": {"linje": line, "retning": direction, "shape_id": sid,
                                              "projekt": BRT_PROJECTS.get(line, ""), "ture": use[(line, direction)][sid]}})
        trip_line = {t["trip_id"]: wanted[t["route_id"]] for t in trips}
        served: dict[str, set[str]] = {}
        for st in _gtfs_table(z, "stop_times.txt", {"trip_id", "stop_id"}):
            if st["trip_id"] in trip_line:
                served.setdefault(st["stop_id"], set()).add(trip_line[st["trip_id"]])
        stop_feats = []
        for s in _gtfs_table(z, "stops.txt", {"stop_id", "stop_name", "stop_lat", "stop_lon"}):
            if s["stop_id"] in served:
                stop_feats.append({"type": "Feature",
                                   "geometry": {"type": "Point", "coordinates": [float(s["stop_lon"]), float(s["stop_lat"])]},
                                   "properties": {"stop_id": s["stop_id"], "navn": s["stop_name"],
                                                  "linjer": ",".join(sorted(served[s["stop_id"]]))}})
    if not line_feats:
        raise DataError("gtfs: the lines have no shapes in shapes.txt.", hint="the feed may lack shapes; check it.")

    def fc(name, feats):
        return json.dumps({"type": "FeatureCollection", "name": name,
                           "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
                           "features": feats}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return fc("gtfs_linjer", line_feats), fc("gtfs_stoppesteder", stop_feats), len(line_feats), len(stop_feats)


def fetch_gtfs(target_dir: Path, *, opener=None, say=_log.info, base_urls=None, expected_sha256=None) -> dict:
    src = SOURCES["gtfs"]
    url = _url("gtfs", base_urls)
    cache = Path(target_dir) / "brt" / "_gtfs_feed.zip"
    _, digest, size = download(url, cache, name="gtfs", opener=opener, say=say, expected_sha256=expected_sha256)
    try:
        lines_fc, stops_fc, n_lines, n_stops = convert_gtfs(cache)
    finally:
        cache.unlink(missing_ok=True)
    write_bytes_atomic(Path(target_dir) / src.targets[0], lines_fc)
    write_bytes_atomic(Path(target_dir) / src.targets[1], stops_fc)
    say(f"  gtfs: {n_lines} line shapes, {n_stops} stops")
    entry = _entry(src, url, {src.targets[0]: lines_fc, src.targets[1]: stops_fc}, n_lines + n_stops,
                   feed_sha256=digest, feed_bytes=size, lines=list(BRT_LINES))
    record(target_dir, "gtfs", entry)
    return entry


# --- DAGI (Dataforsyningen WFS) ---------------------------------------------------------------------

DAGI_TYPES = {"kommuner": ("Kommuneinddeling", {"kommunekode": "KOMKODE", "navn": "KOMNAVN", "regionskode": "REGIONKODE"}),
              "regioner": ("Regionsinddeling", {"regionskode": "REGIONKODE", "navn": "REGIONNAVN"})}


def dagi_url(base: str, type_name: str, token: str) -> str:
    q = {"service": "WFS", "version": "2.0.0", "request": "GetFeature", "typeNames": type_name,
         "outputFormat": "application/json", "srsName": "EPSG:4326", "token": token}
    return f"{base}?{urllib.parse.urlencode(q)}"


def fetch_dagi(target_dir: Path, *, opener=None, say=_log.info, base_urls=None, token: str | None = None,
               check_counts: bool = True) -> dict:
    from kkr_geo.layers import fetch as dawa
    src = SOURCES["dagi"]
    token = token or os.environ.get(TOKEN_ENV)
    if not token:
        raise DataError("dagi: Dataforsyningen's WFS needs a token, and none is set.",
                        hint=f"create a free user on dataforsyningen.dk and set {TOKEN_ENV}; or use `kkr-geo data import`.")
    base = _url("dagi", base_urls)
    files, counts = {}, {}
    for (kind, (type_name, fields)), target in zip(DAGI_TYPES.items(), src.targets):
        url = dagi_url(base, type_name, token)
        raw = _get(url, name="dagi", opener=opener or _default_opener, target=Path(target_dir) / target)
        ds = dawa.Dataset(name=kind, service="dawa", url_path="", target=target, publisher=src.publisher,
                          licence=src.licence, description=src.description, page="https://dataforsyningen.dk",
                          expected_count=(98, 99) if kind == "kommuner" else (5, 5), fields=_case_fields(raw, fields))
        shown = url.replace(token, "***")
        content, n = dawa.convert_dawa_geojson(raw, ds, url=shown, check_counts=check_counts)
        files[target], counts[kind] = content, n
    for target, content in files.items():  # written only when both parts are valid
        write_bytes_atomic(Path(target_dir) / target, content)
    say("  dagi: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    entry = _entry(src, base + " (WFS GetFeature " + ", ".join(t for t, _ in DAGI_TYPES.values()) + ")", files,
                   sum(counts.values()))
    record(target_dir, "dagi", entry)
    return entry


def _case_fields(raw: bytes, fields: dict[str, str]) -> dict[str, str]:
    """The WFS may spell properties in lower or upper case: match the first feature's keys."""
    try:
        first = (json.loads(raw.decode("utf-8-sig")).get("features") or [{}])[0].get("properties") or {}
    except (ValueError, AttributeError, UnicodeDecodeError):
        return fields
    lower = {k.lower(): k for k in first}
    return {lower.get(k.lower(), k): v for k, v in fields.items()}


# --- driver ---------------------------------------------------------------------------------------

def fetch_source(name: str, target_dir, *, opener=None, say=_log.info, base_urls=None, **kw) -> dict:
    """Fetch one source by name (see :data:`NAMES`) into ``target_dir``."""
    target_dir = Path(target_dir).expanduser()
    if name not in NAMES:
        raise DataError(f"unknown source {name!r}.", hint=f"choose from {', '.join(NAMES)}.")
    say = say or (lambda _m: None)
    say(f"fetching {name} ...")
    if name == "befolkning":
        from kkr_geo.layers import fetch as dawa
        res = dawa.fetch(target_dir, ["befolkning"], opener=opener, progress=say, base_urls=base_urls, **kw)
        return {"records": res[0].records, "file": str(res[0].path)}
    if name == "worldpop":
        return fetch_worldpop(target_dir, opener=opener, say=say, base_urls=base_urls, **kw)
    if name == "gtfs":
        return fetch_gtfs(target_dir, opener=opener, say=say, base_urls=base_urls, **kw)
    if name == "dagi":
        return fetch_dagi(target_dir, opener=opener, say=say, base_urls=base_urls, **kw)
    return fetch_overpass(name, target_dir, opener=opener, say=say, base_urls=base_urls)
