"""The embedded default dataset: every shipped file is in the manifest with its checksum, licence and
attribution; the licences named have their texts; what must never ship is absent."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from kkr_geo.layers.datadir import bundle_dir

ROOT = Path(__file__).resolve().parent.parent
DATA_SUFFIXES = {".csv", ".geojson", ".tif", ".txt"}
KEYS = {"sha256", "bytes", "license", "attribution", "source", "retrieved", "changes"}


def _manifest() -> dict:
    return json.loads((bundle_dir() / "MANIFEST.json").read_text(encoding="utf-8"))["files"]


def _shipped() -> set[str]:
    return {p.relative_to(bundle_dir()).as_posix() for p in bundle_dir().rglob("*")
            if p.is_file() and p.suffix in DATA_SUFFIXES}


def test_every_shipped_file_has_a_manifest_entry_and_back():
    assert _shipped() == set(_manifest())


@pytest.mark.parametrize("rel", sorted(_manifest()))
def test_manifest_entry_matches_the_file(rel):
    entry = _manifest()[rel]
    assert KEYS <= set(entry), f"{rel}: missing {KEYS - set(entry)}"
    p = bundle_dir() / rel
    assert p.stat().st_size == entry["bytes"]
    assert hashlib.sha256(p.read_bytes()).hexdigest() == entry["sha256"], f"{rel} changed: rerun data/make_bundle.py --manifest-only"
    assert entry["attribution"].strip() and entry["source"].strip()
    assert len(entry["retrieved"]) == 10 and entry["retrieved"][4] == "-"


def test_licences_named_have_their_texts():
    spdx = set()
    for entry in _manifest().values():
        spdx |= {t for t in entry["license"].replace("(", " ").replace(")", " ").split() if t not in ("AND", "OR")}
    for lic in spdx:
        if lic.startswith("LicenseRef-"):
            continue  # described in ATTRIBUTION.md, no standard text
        assert (ROOT / "LICENSES" / f"{lic}.txt").stat().st_size > 5000, lic
    assert {"CC-BY-4.0", "ODbL-1.0"} <= spdx
    attribution = (ROOT / "ATTRIBUTION.md").read_text(encoding="utf-8")
    for needle in ("Styrelsen for Dataforsyning og Infrastruktur", "Københavns Kommune", "© OpenStreetMap contributors",
                   "WorldPop"):
        assert needle in attribution


def test_what_must_never_ship_is_absent():
    shipped = {p.relative_to(bundle_dir()).as_posix() for p in bundle_dir().rglob("*") if p.is_file()}
    assert not [p for p in shipped if p.startswith("vejnet/") or p.endswith(".gpkg")]
    assert "brt/150s_gtfs_shape.geojson" not in shipped


def test_bundle_is_compact():
    total = sum(e["bytes"] for e in _manifest().values())
    assert total < 15 * 2**20, f"the embedded default is {total / 2**20:.1f} MiB (aim: at most 15)"


def test_dagi_covers_denmark_and_the_region():
    import geopandas as gpd

    k = gpd.read_file(bundle_dir() / "dagi" / "kommuner.geojson")
    codes = set(k["KOMKODE"].astype(str))
    assert len(codes) == 99 and {"0101", "0147", "0400", "0411"} <= codes  # 98 kommuner + Christiansø
    assert k.crs.to_epsg() == 4326


def test_population_surface_of_the_embedded_default_uses_its_weights():
    """With nothing but the embedded default, every area is weighted (WorldPop points or road length),
    none spread evenly, and each keeps its Tabel 3 total."""
    from kkr_geo.layers.datadir import DataDir
    from kkr_geo.layers.region_population import planlaegningsomraade_population, region_population_grid

    dd = DataDir(bundle_dir(), "bundle")
    grid = region_population_grid(dd)
    weights = grid.provenance["weight"].value_counts().to_dict()
    assert weights == {"vejlaengde": 25, "worldpop_punkter": 12}, weights
    areas = planlaegningsomraade_population(dd)
    assert float(grid.values.sum()) == pytest.approx(float(areas["population"].sum()), rel=1e-9)
