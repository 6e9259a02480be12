"""``layers.fetch``: downloads of DAGI boundaries (DAWA) and population (StatBank), tested offline.

The responses under ``tests/fixtures/fetch/`` are small hand-written recordings following the
documented formats of the DAWA list endpoints (``format=geojson``) and StatBank's ``tableinfo``
(JSON) and ``data`` (CSV) calls.
"""

from __future__ import annotations

import gzip
import http.client
import io
import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from kkr_geo.geo.errors import DataError
from kkr_geo.layers import fetch as F

FIXTURES = Path(__file__).parent / "fixtures" / "fetch"

ROUTES = {
    "/kommuner": "dawa_kommuner.geojson",
    "/postnumre": "dawa_postnumre.geojson",
    "/regioner": "dawa_regioner.geojson",
    "/v1/tableinfo": "statbank_folk1a_tableinfo.json",
    "/v1/data": "statbank_folk1a_data.csv",
}


class FakeOpener:
    """Answers requests from recorded files; ``overrides`` maps a URL path to bytes or an exception."""

    def __init__(self, overrides: dict | None = None):
        self.overrides = overrides or {}
        self.requests: list[urllib.request.Request] = []

    def __call__(self, request: urllib.request.Request):
        self.requests.append(request)
        path = urllib.parse.urlparse(request.full_url).path
        path = next((route for route in ROUTES if path.endswith(route)), path)  # ignore a base URL's prefix
        answer = self.overrides.get(path)
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            return answer()
        if answer is None:
            answer = (FIXTURES / ROUTES[path]).read_bytes()
        return io.BytesIO(answer)

    def body(self, path: str) -> dict:
        req = next(r for r in self.requests if urllib.parse.urlparse(r.full_url).path == path)
        return json.loads(req.data.decode("utf-8"))


def run_fetch(target: Path, opener: FakeOpener, datasets=None, **kw):
    kw.setdefault("check_counts", False)  # the recordings have 2-4 features, not all 98 municipalities
    return F.fetch(target, datasets, opener=opener, progress=None, **kw)


def leftovers(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if ".part" in p.name]


@pytest.fixture(autouse=True)
def _no_env_base_urls(monkeypatch):
    for env in F.BASE_URL_ENV.values():
        monkeypatch.delenv(env, raising=False)


# ---- success path ---------------------------------------------------------------------------------

def test_fetch_all_writes_layout_and_schema(tmp_path):
    opener = FakeOpener()
    results = run_fetch(tmp_path, opener)

    assert [r.name for r in results] == ["kommuner", "postnumre", "regioner", "befolkning"]
    for r in results:
        assert r.path == tmp_path / F.DATASETS[r.name].target and r.path.exists()

    kom = gpd.read_file(tmp_path / "dagi" / "kommuner.geojson")
    assert kom.crs.to_epsg() == 4326
    assert {"KOMKODE", "KOMNAVN", "REGIONKODE"} <= set(kom.columns)
    assert list(kom["KOMKODE"]) == ["0101", "0147", "0169"]
    assert "Høje-Taastrup" in set(kom["KOMNAVN"])
    assert set(kom["REGIONKODE"]) == {"1084"}
    assert not {"kode", "navn", "dagi_id"} & set(kom.columns)  # DAWA's own names are not kept

    post = gpd.read_file(tmp_path / "dagi" / "postnumre.geojson")
    assert post.crs.to_epsg() == 4326
    assert sorted(post["POSTNR_TXT"]) == ["1050", "2800"]  # stormodtager 0800 and geometry-less 0555 dropped
    assert set(post["POSTBYNAVN"]) == {"Kongens Lyngby", "København K"}

    reg = gpd.read_file(tmp_path / "dagi" / "regioner.geojson")
    assert dict(zip(reg["REGIONKODE"], reg["REGIONNAVN"])) == {"1084": "Region Hovedstaden", "1085": "Region Sjælland"}
    assert set(reg.geom_type) <= {"Polygon", "MultiPolygon"}

    pop = pd.read_csv(tmp_path / "befolkning" / "befolkning_kommuner.csv", dtype={"kommunekode": str})
    assert list(pop.columns) == ["kommunekode", "kommune", "population", "date", "source"]
    assert list(pop["kommunekode"]) == ["0101", "0147", "0169", "0259"]
    assert list(pop["kommune"]) == ["København", "Frederiksberg", "Høje-Taastrup", "Køge"]
    assert pop["population"].tolist() == [667124, 104664, 58913, 63436]
    assert set(pop["date"]) == {"2025-01-01"}
    assert pop["source"].str.contains("FOLK1A").all() and pop["source"].str.contains("2025K1").all()
    assert results[-1].period == "2025K1"
    assert not (tmp_path / "befolkning" / "befolkning_kommuner.csv").read_bytes().startswith(b"\xef\xbb\xbf")

    sources = json.loads((tmp_path / F.SOURCES_FILE).read_text(encoding="utf-8"))["datasets"]
    assert set(sources) == {"kommuner", "postnumre", "regioner", "befolkning"}
    assert sources["kommuner"]["url"] == "https://api.dataforsyningen.dk/kommuner?format=geojson"
    assert sources["befolkning"]["url"] == "https://api.statbank.dk/v1/data"
    assert sources["befolkning"]["period"] == "2025K1"
    for entry in sources.values():
        assert entry["publisher"] and entry["licence"] and entry["fetched"] and entry["file"]
    assert F.read_sources(tmp_path) == sources
    assert leftovers(tmp_path) == []


def test_statbank_requests_follow_the_api(tmp_path):
    opener = FakeOpener()
    run_fetch(tmp_path, opener, ["befolkning"])

    info_req, data_req = opener.requests
    assert info_req.get_method() == "POST" and info_req.full_url == "https://api.statbank.dk/v1/tableinfo"
    assert opener.body("/v1/tableinfo") == {"table": "FOLK1A", "format": "JSON", "lang": "da"}
    assert data_req.get_method() == "POST" and data_req.full_url == "https://api.statbank.dk/v1/data"
    assert data_req.get_header("Content-type").startswith("application/json")
    body = opener.body("/v1/data")
    assert body["table"] == "FOLK1A" and body["format"] == "CSV" and body["lang"] == "da"
    assert body["valuePresentation"] == "CodeAndValue"
    variables = {v["code"]: v["values"] for v in body["variables"]}
    # only municipalities (not 000 = all Denmark, 084/085 = regions), the latest quarter, totals elsewhere
    assert variables == {"OMRÅDE": ["101", "147", "169", "259"], "Tid": ["2025K1"]}


def test_dawa_requests_are_plain_gets(tmp_path):
    opener = FakeOpener()
    run_fetch(tmp_path, opener, ["regioner", "kommuner"])
    assert [r.full_url for r in opener.requests] == [
        "https://api.dataforsyningen.dk/regioner?format=geojson",
        "https://api.dataforsyningen.dk/kommuner?format=geojson",
    ]
    assert all(r.get_method() == "GET" and r.data is None for r in opener.requests)
    assert opener.requests[0].get_header("User-agent").startswith("kkr-geo/")


def test_only_the_chosen_datasets_are_fetched(tmp_path):
    opener = FakeOpener()
    results = run_fetch(tmp_path, opener, ["regioner"])
    assert [r.name for r in results] == ["regioner"]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "SOURCES.json", "dagi/regioner.geojson"]


def test_sources_json_is_merged_across_runs(tmp_path):
    run_fetch(tmp_path, FakeOpener(), ["regioner"])
    run_fetch(tmp_path, FakeOpener(), ["befolkning"])
    assert set(F.read_sources(tmp_path)) == {"regioner", "befolkning"}


def test_base_urls_can_be_overridden(tmp_path, monkeypatch):
    opener = FakeOpener()
    run_fetch(tmp_path, opener, ["regioner"], base_urls={"dawa": "https://mirror.example/dawa/"})
    assert opener.requests[0].full_url == "https://mirror.example/dawa/regioner?format=geojson"

    monkeypatch.setenv("KKR_GEO_STATBANK_URL", "https://stat.example/v1")
    opener = FakeOpener({"/v1/tableinfo": (FIXTURES / ROUTES["/v1/tableinfo"]).read_bytes()})
    run_fetch(tmp_path, opener, ["befolkning"])
    assert opener.requests[0].full_url == "https://stat.example/v1/tableinfo"


def test_gzip_encoded_response_is_decompressed(tmp_path):
    raw = gzip.compress((FIXTURES / "dawa_regioner.geojson").read_bytes())
    run_fetch(tmp_path, FakeOpener({"/regioner": raw}), ["regioner"])
    assert len(gpd.read_file(tmp_path / "dagi" / "regioner.geojson")) == 2


def test_import_file_converts_a_manual_download(tmp_path):
    result = F.import_file("kommuner", FIXTURES / "dawa_kommuner.geojson", tmp_path, check_counts=False)
    kom = gpd.read_file(result.path)
    assert list(kom["KOMKODE"]) == ["0101", "0147", "0169"]
    assert "kommuner" in F.read_sources(tmp_path)
    # importing the converted file again (or a DAGI file that already has KOMKODE/KOMNAVN) works too
    again = F.import_file("kommuner", result.path, tmp_path, check_counts=False)
    assert list(gpd.read_file(again.path)["KOMNAVN"]) == ["København", "Frederiksberg", "Høje-Taastrup"]


# ---- network failures -----------------------------------------------------------------------------

@pytest.mark.parametrize("error, text", [
    (urllib.error.URLError("[Errno -2] Name or service not known"), "Name or service not known"),
    (urllib.error.HTTPError("https://api.dataforsyningen.dk/kommuner?format=geojson", 503,
                            "Service Unavailable", {}, io.BytesIO(b"down for maintenance")), "HTTP 503"),
    (TimeoutError("timed out"), "timeout"),
    (ConnectionResetError(104, "Connection reset by peer"), "Connection reset"),
])
def test_network_error_gives_data_error_and_no_file(tmp_path, error, text):
    with pytest.raises(DataError) as info:
        run_fetch(tmp_path, FakeOpener({"/kommuner": error}), ["kommuner"])
    message = str(info.value)
    assert "https://api.dataforsyningen.dk/kommuner?format=geojson" in message
    assert text in message
    assert "check your internet connection / proxy" in info.value.hint
    assert str(tmp_path / "dagi" / "kommuner.geojson") in info.value.hint
    assert not (tmp_path / "dagi" / "kommuner.geojson").exists()
    assert not (tmp_path / F.SOURCES_FILE).exists()
    assert leftovers(tmp_path) == []


def test_truncated_download_gives_data_error_and_no_file(tmp_path):
    class Truncated(io.BytesIO):
        def read(self, *args):
            raise http.client.IncompleteRead(b'{"type": "FeatureCo', 10_000)

    with pytest.raises(DataError, match="IncompleteRead"):
        run_fetch(tmp_path, FakeOpener({"/postnumre": lambda: Truncated()}), ["postnumre"])
    assert not (tmp_path / "dagi" / "postnumre.geojson").exists()
    assert leftovers(tmp_path) == []


def test_statbank_network_error_names_the_url_and_manual_page(tmp_path):
    with pytest.raises(DataError) as info:
        run_fetch(tmp_path, FakeOpener({"/v1/data": urllib.error.URLError("Connection refused")}), ["befolkning"])
    assert "https://api.statbank.dk/v1/data" in str(info.value)
    assert "statistikbanken.dk/FOLK1A" in info.value.hint
    assert not (tmp_path / "befolkning" / "befolkning_kommuner.csv").exists()


def test_failure_keeps_earlier_datasets_and_existing_file(tmp_path):
    old = tmp_path / "dagi" / "kommuner.geojson"
    old.parent.mkdir(parents=True)
    old.write_text("previous copy", encoding="utf-8")
    opener = FakeOpener({"/kommuner": urllib.error.URLError("Network is unreachable")})
    with pytest.raises(DataError):
        run_fetch(tmp_path, opener, ["regioner", "kommuner"])
    assert old.read_text(encoding="utf-8") == "previous copy"  # not overwritten, not truncated
    assert (tmp_path / "dagi" / "regioner.geojson").exists()
    assert set(F.read_sources(tmp_path)) == {"regioner"}
    assert leftovers(tmp_path) == []


# ---- malformed responses --------------------------------------------------------------------------

@pytest.mark.parametrize("route, dataset", [("/kommuner", "kommuner"), ("/v1/tableinfo", "befolkning"),
                                            ("/v1/data", "befolkning")])
def test_html_error_page_gives_data_error_and_no_file(tmp_path, route, dataset):
    html = (FIXTURES / "html_error_page.html").read_bytes()
    with pytest.raises(DataError) as info:
        run_fetch(tmp_path, FakeOpener({route: html}), [dataset])
    assert "<!DOCTYPE html>" in str(info.value) and route in str(info.value)
    assert not (tmp_path / F.DATASETS[dataset].target).exists()
    assert leftovers(tmp_path) == []


def test_missing_properties_give_data_error(tmp_path):
    raw = (FIXTURES / "dawa_kommuner_missing_fields.geojson").read_bytes()
    with pytest.raises(DataError, match=r"feature 0 lacks the properties kode"):
        run_fetch(tmp_path, FakeOpener({"/kommuner": raw}), ["kommuner"])
    assert not (tmp_path / "dagi" / "kommuner.geojson").exists()


@pytest.mark.parametrize("raw, match", [
    (b'{"type": "Feature", "properties": {}, "geometry": null}', "not a GeoJSON FeatureCollection"),
    (b'{"type": "ResourceNotFoundError", "title": "not found", "message": "Ressourcen findes ikke"}',
     "Ressourcen findes ikke"),
    (b'{"type": "FeatureCollection", "features": []}', "no features"),
    (b"", "not JSON"),
])
def test_other_malformed_geojson(tmp_path, raw, match):
    with pytest.raises(DataError, match=match):
        run_fetch(tmp_path, FakeOpener({"/regioner": raw}), ["regioner"])
    assert not (tmp_path / "dagi" / "regioner.geojson").exists()


def test_projected_coordinates_are_rejected(tmp_path):
    raw = (FIXTURES / "dawa_kommuner_utm.geojson").read_bytes()
    with pytest.raises(DataError, match="not lon/lat in Denmark"):
        run_fetch(tmp_path, FakeOpener({"/kommuner": raw}), ["kommuner"])


def test_implausible_counts_are_rejected(tmp_path):
    with pytest.raises(DataError, match=r"3 distinct codes; expected 98–99"):
        run_fetch(tmp_path, FakeOpener(), ["kommuner"], check_counts=True)
    with pytest.raises(DataError, match=r"4 municipalities; expected 98–99"):
        run_fetch(tmp_path, FakeOpener(), ["befolkning"], check_counts=True)
    assert not (tmp_path / "dagi" / "kommuner.geojson").exists()
    assert not (tmp_path / "befolkning" / "befolkning_kommuner.csv").exists()


def test_csv_without_expected_columns(tmp_path):
    raw = "\ufeffOMRÅDE;KØN;INDHOLD\n101 København;TOT;667124\n".encode("utf-8")
    with pytest.raises(DataError, match="OMRÅDE;TID;INDHOLD"):
        run_fetch(tmp_path, FakeOpener({"/v1/data": raw}), ["befolkning"])
    assert not (tmp_path / "befolkning" / "befolkning_kommuner.csv").exists()


def test_statbank_json_error_message_is_not_csv(tmp_path):
    raw = b'{"errorTypeCode":"EXTRACT-NOTFOUND","message":"Variablen OMR\xc3\x85DE findes ikke"}'
    with pytest.raises(DataError, match="is not CSV"):
        run_fetch(tmp_path, FakeOpener({"/v1/data": raw}), ["befolkning"])


def test_unknown_dataset(tmp_path):
    with pytest.raises(DataError, match="unknown dataset nope"):
        run_fetch(tmp_path, FakeOpener(), ["nope"])


# ---- StatBank CSV parsing -------------------------------------------------------------------------

@pytest.mark.parametrize("period, date", [("2025K1", "2025-01-01"), ("2024K2", "2024-04-01"),
                                          ("2024K3", "2024-07-01"), ("2023K4", "2023-10-01")])
def test_quarter_to_date(period, date):
    assert F.quarter_to_date(period) == date


def test_quarter_to_date_rejects_other_periods():
    with pytest.raises(ValueError):
        F.quarter_to_date("2025M01")


def test_parse_csv_with_bom_danish_names_and_padding():
    rows = F.parse_statbank_csv((FIXTURES / "statbank_folk1a_data.csv").read_bytes())
    assert [r["kommunekode"] for r in rows] == ["0101", "0147", "0169", "0259"]
    assert [r["kommune"] for r in rows] == ["København", "Frederiksberg", "Høje-Taastrup", "Køge"]
    assert rows[0]["population"] == 667124 and rows[0]["date"] == "2025-01-01"
    assert set(rows[0]) == set(F.POPULATION_COLUMNS)


def test_parse_csv_codes_only_takes_names_from_tableinfo_and_drops_totals():
    text = "OMRÅDE;TID;INDHOLD\n000;2024K4;5961249\n084;2024K4;1895597\n101;2024K4;667099\n411;2024K4;90\n"
    rows = F.parse_statbank_csv(text, names={"101": "København", "411": "Christiansø"})
    assert [(r["kommunekode"], r["kommune"], r["population"], r["date"]) for r in rows] == [
        ("0101", "København", 667099, "2024-10-01"), ("0411", "Christiansø", 90, "2024-10-01")]


def test_parse_csv_rejects_suppressed_values():
    with pytest.raises(ValueError, match="not a whole number"):
        F.parse_statbank_csv("OMRÅDE;TID;INDHOLD\n101 København;2025K1;..\n")


def test_population_csv_round_trip(tmp_path):
    rows = F.parse_statbank_csv((FIXTURES / "statbank_folk1a_data.csv").read_bytes())
    path = tmp_path / "p.csv"
    path.write_bytes(F.population_csv_bytes(rows))
    back = pd.read_csv(path, dtype={"kommunekode": str})
    assert back["kommunekode"].tolist() == ["0101", "0147", "0169", "0259"]
    assert back["kommune"].tolist()[2] == "Høje-Taastrup"


def test_datasets_describe_their_source():
    for name, ds in F.DATASETS.items():
        assert ds.name == name
        assert ds["target"] == ds.target and ds.url_path.startswith("/")
        assert ds.publisher and ds.licence and ds.description and ds.page.startswith("https://")
