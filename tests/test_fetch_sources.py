"""``layers.fetch_sources``: WorldPop, Overpass, GTFS, DAGI (WFS), FOLK1A fetchers, tested offline.

The responses are small hand-written recordings under ``tests/fixtures/fetch`` in the services'
documented formats (Overpass ``[out:json]``, GTFS text files, WFS 2.0 GeoJSON); the WorldPop GeoTIFF
is a 4 × 3 raster written by the test itself. Nothing here touches the network.
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
import urllib.error
import urllib.parse
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

from kkr_geo.geo.errors import DataError
from kkr_geo.layers import fetch_sources as FS

FIX = Path(__file__).parent / "fixtures" / "fetch"


class Resp(io.BytesIO):
    def __init__(self, data: bytes, status: int = 200, headers: dict | None = None, fail_after: int | None = None):
        super().__init__(data)
        self.status = status
        self.headers = headers or {"Content-Length": str(len(data))}
        self.fail_after = fail_after

    def read(self, n=-1):
        if self.fail_after is not None and self.tell() >= self.fail_after:
            raise ConnectionResetError("connection reset by peer")
        if self.fail_after is not None and n > 0:
            n = min(n, self.fail_after - self.tell()) or 1
        return super().read(n)


class Server:
    """Serves bytes per URL path, honours ``Range: bytes=N-`` (206), can break a body off once."""

    def __init__(self, routes: dict[str, bytes], *, ranges: bool = True, break_first_at: int | None = None):
        self.routes, self.ranges, self.break_at = routes, ranges, break_first_at
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        path = urllib.parse.urlparse(request.full_url).path
        data = next(v for k, v in self.routes.items() if path.endswith(k))
        rng = request.get_header("Range")
        if rng and self.ranges:
            start = int(rng.split("=")[1].rstrip("-"))
            return Resp(data[start:], status=206)
        fail, self.break_at = self.break_at, None
        return Resp(data, fail_after=fail)


def offline(request):
    raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))


def _tif(tmp_path, crs="EPSG:4326", west=12.0, north=55.8, values=None) -> bytes:
    import rasterio
    from affine import Affine
    arr = np.array(values if values is not None else [[1, 2, 3, 4], [0, 5, 6, 0], [7, 8, 9, 10]], dtype="float32")
    p = tmp_path / "src.tif"
    with rasterio.open(p, "w", driver="GTiff", width=arr.shape[1], height=arr.shape[0], count=1, dtype="float32",
                       crs=crs, transform=Affine(0.000833333, 0, west, 0, -0.000833333, north), nodata=-99999) as ds:
        ds.write(arr, 1)
    return p.read_bytes()


# --- WorldPop: resumable download, checksum, validation ------------------------------------------------

def test_worldpop_download_resumes_after_a_break_and_records_checksum(tmp_path):
    tif = _tif(tmp_path)
    server = Server({"constrained.tif": tif}, break_first_at=300)
    target = tmp_path / "data"
    with pytest.raises(DataError, match="broke off") as exc:
        FS.fetch_source("worldpop", target, opener=server, say=None)
    assert "resumes" in exc.value.hint
    assert not (target / "befolkning" / "worldpop_dnk_2020_100m.tif").exists()  # nothing half-written
    msgs = []
    entry = FS.fetch_source("worldpop", target, opener=server, say=msgs.append)
    assert server.requests[-1].get_header("Range") == "bytes=300-"
    assert any("resuming after" in m for m in msgs)
    out = target / "befolkning" / "worldpop_dnk_2020_100m.tif"
    assert out.read_bytes() == tif
    rec = json.loads((target / "SOURCES.json").read_text())["datasets"]["worldpop"]
    assert rec["files"]["befolkning/worldpop_dnk_2020_100m.tif"]["sha256"] == hashlib.sha256(tif).hexdigest()
    assert rec["population_total"] == 55 and rec["licence"] == "CC BY 4.0" and rec["fetched"].startswith("20")
    assert entry["records"] == 1 and not list(target.rglob("*.part"))
    # the fetched raster is a usable weight layer
    from kkr_geo.geo.population import PopulationGrid
    assert PopulationGrid.from_raster(out, cell_size=100).total() == pytest.approx(55)


def test_worldpop_server_without_range_restarts_and_a_bad_checksum_is_refused(tmp_path):
    tif = _tif(tmp_path)
    target = tmp_path / "data"
    part = target / "befolkning" / "worldpop_dnk_2020_100m.download.tif.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"stale bytes from another file")
    FS.fetch_source("worldpop", target, opener=Server({"constrained.tif": tif}, ranges=False), say=None)
    assert (target / "befolkning" / "worldpop_dnk_2020_100m.tif").read_bytes() == tif
    with pytest.raises(DataError, match="SHA-256"):
        FS.fetch_source("worldpop", tmp_path / "d2", opener=Server({"constrained.tif": tif}), say=None,
                        expected_sha256="0" * 64)
    assert not list((tmp_path / "d2").rglob("*.tif*"))


def test_worldpop_rejects_html_and_rasters_outside_denmark(tmp_path):
    with pytest.raises(DataError, match="not a readable GeoTIFF"):
        FS.fetch_source("worldpop", tmp_path / "a", opener=Server({".tif": b"<html>maintenance</html>"}), say=None)
    with pytest.raises(DataError, match="not Denmark"):
        FS.fetch_source("worldpop", tmp_path / "b", opener=Server({".tif": _tif(tmp_path, west=-3.0, north=40.0)}), say=None)
    assert not list((tmp_path / "a").rglob("*.tif")) and not list((tmp_path / "b").rglob("*.tif"))


@pytest.mark.parametrize("name", ["worldpop", "supercykelstier", "gtfs", "befolkning"])
def test_offline_gives_one_clear_message_and_writes_nothing(tmp_path, name, monkeypatch):
    monkeypatch.setenv(FS.TOKEN_ENV, "t")
    with pytest.raises(DataError) as exc:
        FS.fetch_source(name, tmp_path, opener=offline, say=None)
    text = exc.value.message + " " + (exc.value.hint or "")
    assert "name resolution" in text or "offline" in text
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


# --- Overpass -------------------------------------------------------------------------------------------

def test_supercykelstier_relations_with_names(tmp_path):
    server = Server({"/interpreter": (FIX / "overpass_supercykelstier.json").read_bytes()})
    entry = FS.fetch_source("supercykelstier", tmp_path, opener=server, say=None)
    body = urllib.parse.parse_qs(server.requests[0].data.decode())["data"][0]
    assert body.startswith("[out:json]") and '"route"="bicycle"' in body and "out geom" in body
    gdf = gpd.read_file(tmp_path / "supercykelstier" / "ruter.geojson")
    assert list(gdf["route_name"]) == ["Cykelsuperstien Albertslundruten", "Supercykelsti Ring 4-ruten"]
    assert list(gdf["status"]) == ["eksisterende", "planlagt"] and gdf.crs.to_epsg() == 4326
    assert len(gdf.geometry.iloc[0].geoms) == 2 and entry["records"] == 2
    # the supercykelstier layer reads it as its route geometry
    from kkr_geo.layers.registry import load_layer
    layer = load_layer("supercykelstier", tmp_path)
    assert len(layer) == 2


def test_physiotherapists_points_and_bad_answers(tmp_path):
    server = Server({"/interpreter": (FIX / "overpass_fysioterapeuter.json").read_bytes()})
    FS.fetch_source("fysioterapeuter", tmp_path, opener=server, say=None)
    gdf = gpd.read_file(tmp_path / "osm" / "fysioterapeuter_osm.geojson")
    assert list(gdf["navn"]) == ["Fysio Rådhuspladsen", "Klinik Æblehaven & Co <test>"]  # the way without a centre is left out
    assert gdf.iloc[0]["adresse"] == "Vestergade 3" and gdf.iloc[0]["postnr"] == "1456"
    assert gdf.geometry.iloc[1].x == pytest.approx(12.52)
    with pytest.raises(DataError, match="timed out"):
        FS.fetch_source("hospitaler", tmp_path / "x", opener=Server({"/interpreter": (FIX / "overpass_error_remark.json").read_bytes()}), say=None)
    with pytest.raises(DataError, match="not JSON"):
        FS.fetch_source("hospitaler", tmp_path / "y", opener=Server({"/interpreter": b"<html>429 Too Many Requests</html>"}), say=None)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_walkable_ways_query_and_lines():
    q = FS.overpass_query("gangveje")
    assert "footway" in q and '"access"!~"^(no|private)$"' in q
    raw = json.dumps({"elements": [{"type": "way", "id": 5, "tags": {"highway": "footway"},
                                    "geometry": [{"lat": 55.7, "lon": 12.5}, {"lat": 55.701, "lon": 12.501}]},
                                   {"type": "way", "id": 6, "tags": {"highway": "path"}, "geometry": [{"lat": 55.7, "lon": 12.5}]}]}).encode()
    content, n = FS.convert_overpass(raw, "gangveje")
    assert n == 1 and json.loads(content)["features"][0]["properties"]["highway"] == "footway"


# --- GTFS -----------------------------------------------------------------------------------------------

def _gtfs_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for f in sorted((FIX / "gtfs").glob("*.txt")):
            z.write(f, f.name)
    return buf.getvalue()


def test_gtfs_shapes_and_stops_of_the_s_bus_lines(tmp_path):
    feed = _gtfs_zip()
    entry = FS.fetch_source("gtfs", tmp_path, opener=Server({"GTFS.zip": feed}), say=None)
    lines = gpd.read_file(tmp_path / "brt" / "gtfs_linjer.geojson")
    # 150S direction 0: shape SH1 (2 trips) beats SH1b (1 trip); direction 1: SH2 (sorted by sequence); 200S: SH3; 1A is left out
    assert sorted(zip(lines["linje"], lines["retning"], lines["shape_id"])) == [
        ("150S", "0", "SH1"), ("150S", "1", "SH2"), ("200S", "0", "SH3")]
    sh2 = lines[lines["shape_id"] == "SH2"].geometry.iloc[0]
    assert list(sh2.coords)[0] == pytest.approx((12.49, 55.90))
    assert set(lines["projekt"]) == {"150s", "200s"}
    stops = gpd.read_file(tmp_path / "brt" / "gtfs_stoppesteder.geojson").set_index("stop_id")
    assert sorted(stops.index) == ["A", "B", "C"]  # D is served only by 1A
    assert stops.loc["B", "linjer"] == "150S,200S"
    rec = json.loads((tmp_path / "SOURCES.json").read_text())["datasets"]["gtfs"]
    assert rec["feed_sha256"] == hashlib.sha256(feed).hexdigest() and entry["records"] == 6
    assert not (tmp_path / "brt" / "_gtfs_feed.zip").exists()


def test_gtfs_bad_feeds(tmp_path):
    with pytest.raises(DataError, match="not a zip"):
        FS.fetch_source("gtfs", tmp_path / "a", opener=Server({"GTFS.zip": b"<html>moved</html>"}), say=None)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("routes.txt", "route_id,route_short_name\nX,5C\n")
    with pytest.raises(DataError, match="none of the lines"):
        FS.fetch_source("gtfs", tmp_path / "b", opener=Server({"GTFS.zip": buf.getvalue()}), say=None)


# --- DAGI (Dataforsyningen WFS) and FOLK1A --------------------------------------------------------------

def test_dagi_wfs_needs_a_token_and_maps_fields(tmp_path, monkeypatch):
    monkeypatch.delenv(FS.TOKEN_ENV, raising=False)
    with pytest.raises(DataError, match="token"):
        FS.fetch_source("dagi", tmp_path, opener=offline, say=None)

    def wfs(request):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(request.full_url).query)
        assert q["outputFormat"] == ["application/json"] and q["srsName"] == ["EPSG:4326"] and q["token"] == ["hemmelig"]
        name = {"Kommuneinddeling": "dagi_wfs_kommuner.geojson", "Regionsinddeling": "dagi_wfs_regioner.geojson"}[q["typeNames"][0]]
        return Resp((FIX / name).read_bytes())

    entry = FS.fetch_source("dagi", tmp_path, opener=wfs, say=None, token="hemmelig", check_counts=False)
    k = gpd.read_file(tmp_path / "dagi" / "kommuner.geojson")
    assert list(k["KOMKODE"]) == ["0101", "0259"] and list(k["KOMNAVN"]) == ["København", "Køge"]
    r = gpd.read_file(tmp_path / "dagi" / "regioner.geojson")
    assert list(r["REGIONKODE"]) == ["1084"] and list(r["REGIONNAVN"]) == ["Region Hovedstaden"]
    assert "hemmelig" not in (tmp_path / "SOURCES.json").read_text()  # the token is never recorded
    assert entry["records"] == 3
    # with the counts checked, two kommuner are not Denmark's 98: refused, nothing written
    with pytest.raises(DataError, match="expected 98"):
        FS.fetch_source("dagi", tmp_path / "c", opener=wfs, say=None, token="hemmelig")
    assert not (tmp_path / "c" / "dagi").exists()


def test_folk1a_includes_region_sjaelland_neighbours(tmp_path):
    from tests.test_fetch import FakeOpener  # the StatBank recordings of tests/test_fetch.py
    FS.fetch_source("befolkning", tmp_path, opener=FakeOpener(), say=None, check_counts=False)
    import pandas as pd
    t = pd.read_csv(tmp_path / "befolkning" / "befolkning_kommuner.csv", dtype={"kommunekode": str})
    assert "0259" in set(t["kommunekode"])  # Køge (Region Sjælland): the Køge Nord catchment can be counted


def test_cli_fetch_by_name_offline_and_unknown(tmp_path, capsys, monkeypatch):
    from kkr_geo.cli import main
    monkeypatch.setattr(FS, "_default_opener", offline)
    assert main(["data", "fetch", "supercykelstier", "--to", str(tmp_path)]) != 0
    err = capsys.readouterr().err
    assert "offline" in err and "Traceback" not in err
    assert main(["data", "fetch", "vejrdata", "--to", str(tmp_path)]) == 4
    assert "unknown source" in capsys.readouterr().err
