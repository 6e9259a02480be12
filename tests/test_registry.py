"""The one registry of layers and derived datasets, the analysis service, typed provenance.

No test here needs the development data: the example layer is made from a CSV written by the test.
"""

from __future__ import annotations

import copy
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml
from affine import Affine

from kkr_geo.geo.errors import InputError
from kkr_geo.geo.population import PopulationGrid
from kkr_geo.geo.provenance import Provenance, carry_provenance, provenance_of, with_provenance
from kkr_geo.layers import catalog, registry
from kkr_geo.layers.registry import LayerInfo, entries, register_layer

# --- 1. a new layer from a CSV, end to end: layer module + spec -> built map ---------------------------
# This is the whole of a new layer: the module below would be kkr_geo/layers/legepladser.py (found by the
# registry's discovery, no list to edit), the spec maps/specs/legepladser.yaml, plus this test: 3 files. A figure
# in the title is declared in the spec too (tal:), not in Python.

LAYER_MODULE = '''
"""Layer ``legepladser``: playgrounds from a CSV (navn;lat;lon)."""
import geopandas as gpd
import pandas as pd

from kkr_geo.geo.provenance import Provenance
from kkr_geo.layers import catalog
from kkr_geo.layers._common import finish
from kkr_geo.layers.qgis_styles import QgisLook
from kkr_geo.layers.registry import LayerInfo, register_layer

catalog.register_dataset(catalog.Dataset(
    "legepladser", "eksempel/legepladser.csv", "Playgrounds (navn, lat, lon)", "example publisher", "CC0",
    "written by the test", "table", required=False))


@register_layer(LayerInfo("legepladser", "Legepladser", "point", "Playgrounds (example layer).", {"navn": "name"},
                          needs=("legepladser",), provenance=Provenance(source="Eksempelkilde", licence="CC0"),
                          qgis_look=QgisLook("marker", "230,159,0,255", "255,255,255,255", 2.5, label="navn")))
def load(name, dd, **options):
    df = pd.read_csv(catalog.require(dd, "legepladser", layer=name), sep=";", encoding="utf-8")
    gdf = gpd.GeoDataFrame(df[["navn"]], geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=4326)
    return finish(gdf, name=name, family="point", source="Eksempelkilde", licence="CC0", precision="exact")
'''


@pytest.fixture
def example_layer(tmp_path, monkeypatch):
    """Put the example module into the kkr_geo.layers package path (not the source tree) and rediscover."""
    import sys

    import kkr_geo.layers as pkg
    extra = tmp_path / "extra_layers"
    extra.mkdir()
    (extra / "legepladser.py").write_text(LAYER_MODULE, encoding="utf-8")
    registry.entries()  # the shipped entries first
    monkeypatch.setattr(pkg, "__path__", [*pkg.__path__, str(extra)])
    monkeypatch.setattr(registry, "_discovered", False)
    yield "legepladser"
    registry.unregister("legepladser")
    catalog.DATASETS.pop("legepladser", None)
    sys.modules.pop("kkr_geo.layers.legepladser", None)


def _example_data(root):
    d = root / "eksempel"
    d.mkdir(parents=True)
    (d / "legepladser.csv").write_text("navn;lat;lon\nKongens Have;55,6850;12,5800\nFælledparken;55,7000;12,5700\n"
                                       "Amager Strandpark;55,6550;12,6500\n".replace(",", "."), encoding="utf-8")
    return root


def test_example_layer_from_csv_end_to_end(example_layer, tmp_path):
    from kkr_geo.maps.build import build, gpkg_sources

    data = _example_data(tmp_path / "data")
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "legepladser.yaml").write_text(yaml.safe_dump({
        "title": "{tal:antal} i eksemplet", "tal": {"antal": {"layer": "lp", "count": "all", "as": ["legeplads", "legepladser"]}},
        "extent": "data", "tiles": False, "formats": ["png", "html"], "inset": "none",
        "layers": [{"id": "lp", "source": "legepladser", "style": "point", "label": "Legeplads", "tooltip": ["navn"]}],
    }, allow_unicode=True), encoding="utf-8")

    # the registry found the module and is the single place the new layer is known from ...
    assert registry.entries()["legepladser"].module == "kkr_geo.layers.legepladser"
    assert "legepladser" in registry.layer_names() and "legepladser" in gpkg_sources()
    assert catalog.DATASETS["legepladser"].used_by == ("legepladser",)
    row = next(r for r in catalog.status(registry.resolve_data_dir(data)) if r["key"] == "legepladser")
    assert row["found"] and row["used_by"] == "legepladser"
    gdf = registry.load_layer("legepladser", data)
    assert len(gdf) == 3 and gdf.crs.to_epsg() == 25832
    assert provenance_of(gdf).source == "Eksempelkilde" and gdf.attrs["title"] == "Legepladser"

    # ... and the build draws it from the spec
    report = build(data, tmp_path / "bilag", spec_dir=specs, with_geopackage=False, log=lambda m: None)
    assert [m.name for m in report.built] == ["legepladser"], [m.skipped for m in report.maps]
    png = tmp_path / "bilag" / "legepladser.png"
    html = (tmp_path / "bilag" / "legepladser.html").read_text(encoding="utf-8")
    assert png.stat().st_size > 5_000
    assert "Fælledparken" in html and "Amager Strandpark" in html
    assert "<title>Tre legepladser i eksemplet</title>" in html     # the three rows of the CSV, counted by the spec's tal:


def test_example_layer_brings_its_own_qgis_look(example_layer, tmp_path):
    """The example layer's QGIS look is declared in its registry entry: the GeoPackage's default style draws it
    (colour, size, label) although qgis_styles.py never heard of the layer."""
    import re
    import sqlite3
    from pathlib import Path

    from kkr_geo.layers import qgis_styles
    from kkr_geo.layers.export import export_geopackage

    data = _example_data(tmp_path / "data")
    out = tmp_path / "lag.gpkg"
    export_geopackage(out, {"legepladser": registry.load_layer("legepladser", data)})
    con = sqlite3.connect(out)
    (style,) = con.execute("SELECT styleQML FROM layer_styles WHERE f_table_name = 'legepladser'").fetchone()
    con.close()
    props = dict(re.findall(r'<prop k="([^"]+)" v="([^"]*)"/>', style))
    assert (props["color"], props["outline_color"], props["size"]) == ("230,159,0,255", "255,255,255,255", "2.5")
    assert 'fieldName="navn"' in style
    assert "legepladser" not in Path(qgis_styles.__file__).read_text(encoding="utf-8")
    # without a look of its own, a point layer gets the default point style
    default = qgis_styles.qml("ikke_registreret", "point")
    assert 'v="86,180,233,255"' in default and "fieldName" not in default


def test_cli_choices_come_from_the_registry(example_layer):
    from kkr_geo.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["layers", "show", "legepladser"]).name == "legepladser"
    assert parser.parse_args(["coverage", "--layer", "stationer", "--threshold", "600"]).layer == "stationer"
    assert parser.parse_args(["catchment", "--layer", "legepladser"]).layer == "legepladser"
    with pytest.raises(SystemExit):
        parser.parse_args(["coverage", "--layer", "kommuner", "--threshold", "600"])  # polygons are not facilities


# --- 2. the registry is consistent ---------------------------------------------------------------

def test_every_need_is_a_dataset_or_a_registry_entry():
    names = entries()
    for name, info in names.items():
        sources, datasets = registry.split_needs(info)
        for key in datasets:
            assert key in catalog.DATASETS, f"{name} needs {key!r}, which is neither a dataset nor a source"
            assert name in catalog.DATASETS[key].used_by
        assert all(s in names for s in sources)


def test_used_by_agrees_with_needs_and_every_dataset_is_used():
    for key, d in catalog.DATASETS.items():
        assert d.used_by, f"dataset {key} is used by no layer"
        for user in d.used_by:
            assert key in entries()[user].needs


def test_layer_and_dataset_of_the_same_name_are_told_apart():
    # the dataset klinikker (the file) is used by the layer klinikker; the coverage analysis needs the layer
    assert catalog.DATASETS["klinikker"].used_by == ("klinikker",)
    assert registry.split_needs(entries()["klinik_daekningshuller"])[0][0] == "klinikker"


def test_derived_datasets_are_registered_with_their_roles():
    e = entries()
    for name in ("brt_opland", "parker_og_rejs_opland", "klinik_daekningshuller", "station_daekningshuller",
                 "patientstroemme", "kommuner_nabo", "planlaegningsomraader", "planomraader_kapacitet", "banelinjer"):
        assert e[name].kind == "derived" and e[name].loader is not None
    assert set(registry.summary_sources("catchment")) == {"brt_opland", "parker_og_rejs_opland", "supercykelstier_opland"}
    assert set(registry.summary_sources("coverage")) == {"klinik_daekningshuller", "station_daekningshuller"}
    assert not {"kommuner_nabo", "banelinjer", "planomraader_kapacitet"} & set(registry.gpkg_sources())
    assert set(registry.layer_names()) <= set(registry.gpkg_sources())


def test_old_names_still_work():
    from kkr_geo import LAYER_NAMES, layer_info
    from kkr_geo.maps import build as build_mod
    assert LAYER_NAMES == registry.layer_names() and "stationer" in LAYER_NAMES
    assert layer_info("brt").geometry == "line"
    assert build_mod.GPKG_SOURCES == registry.gpkg_sources()
    assert build_mod.COVERAGE_TABLES["station_daekningshuller"][0] == "stationer"


def test_a_name_declared_twice_is_refused():
    from kkr_geo.geo.errors import KkrGeoError

    def other(name, dd):
        return None

    with pytest.raises(KkrGeoError, match="declared twice"):
        register_layer(LayerInfo("kommuner", "Kommuner", "polygon", "a second kommuner"))(other)
    assert entries()["kommuner"].module == "kkr_geo.layers.kommuner"


# --- 3. spec sources are checked when the spec is read -----------------------------------------------

def test_misspelt_spec_source_is_an_error_when_read(tmp_path):
    from kkr_geo.maps.build import build
    from kkr_geo.maps.spec import load_specs

    d = tmp_path / "specs"
    d.mkdir()
    (d / "x.yaml").write_text(yaml.safe_dump({"title": "t", "layers": [
        {"id": "a", "source": "kommuner", "style": "outline"},
        {"id": "b", "source": "brt_oplnad", "style": "catchment"}]}), encoding="utf-8")
    with pytest.raises(InputError) as ei:
        load_specs(d)
    msg = str(ei.value)
    assert "x.yaml" in msg and "layers[1].source" in msg and "brt_oplnad" in msg and "brt_opland" in msg
    out = tmp_path / "bilag"
    with pytest.raises(InputError):
        build(tmp_path, out, spec_dir=d, log=lambda m: None)
    assert not out.exists()  # nothing was written


def test_registered_in_memory_sources_pass_the_check(tmp_path):
    from kkr_geo.maps.sources import Sources
    from kkr_geo.maps.spec import load_specs

    d = tmp_path / "specs"
    d.mkdir()
    (d / "x.yaml").write_text(yaml.safe_dump({"title": "t", "layers": [{"id": "a", "source": "mine", "style": "fill"}]}),
                              encoding="utf-8")
    s = Sources(tmp_path)
    s.register("mine", gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=25832))
    assert [sp.name for sp in load_specs(d, known_sources=s.names())] == ["x"]


# --- 4. the analysis service returns results and changes nothing -------------------------------------

X0, Y0 = 700_000.0, 6_170_000.0


@pytest.fixture(scope="module")
def grid():
    # 4 km × 4 km of 10 m cells, one person each
    return PopulationGrid(np.full((400, 400), 1.0), Affine(10, 0, X0, 0, -10, Y0 + 4000), source="uniform", precision="exact")


def test_catchment_result_without_side_effects(grid):
    from kkr_geo.layers.analyses import OUTSIDE, catchment

    pts = gpd.GeoDataFrame({"id": ["a", "b"], "navn": ["Inde", "Ude"]},
                           geometry=[shapely.Point(X0 + 2000, Y0 + 2000), shapely.Point(X0 + 20_000, Y0 + 2000)], crs=25832)
    with_provenance(pts, Provenance(source="testkilde", precision="exact", notes=("n1",)))
    before = (pts.copy(), copy.deepcopy(pts.attrs))
    region = shapely.box(X0, Y0, X0 + 4000, Y0 + 4000)
    res = catchment(pts, grid, [300], by="id", name="test_opland", title="Opland", label_column="navn",
                    region=region, detour_factor=1.0)
    pd.testing.assert_frame_equal(pts, before[0])
    assert pts.attrs == before[1]
    t = res.tables["main"].set_index("feature")
    # density 0.01 per m², r = 300 m: about 0.01 × π × 300² = 2.827 people
    assert t.loc["a", "population"] == pytest.approx(0.01 * math.pi * 300 ** 2, rel=0.01)
    assert np.isnan(t.loc["b", "population"]) and t.loc["b", "bemaerkning"] == OUTSIDE
    assert list(t["navn"]) == ["Inde", "Ude"] and set(t["analyse"]) == {"test_opland"}
    prov = res.provenance
    assert prov.title == "Opland" and prov.source == "testkilde; uniform" and "n1" in prov.notes
    again = catchment(pts, grid, [300], by="id", name="test_opland", label_column="navn", region=region, detour_factor=1.0)
    pd.testing.assert_frame_equal(again.tables["main"], res.tables["main"])


def test_coverage_result(grid):
    from kkr_geo.layers.analyses import coverage

    pts = gpd.GeoDataFrame(geometry=[shapely.Point(X0 + 200, Y0 + 200)], crs=25832)
    res = coverage(pts, grid, 1000, name="huller", detour_factor=1.0)
    assert res.raw.distance.shape == grid.shape
    # 1 person per 100 m² beyond 1 km of a point 200 m from a corner of the 4 km × 4 km square:
    # 160,000 people minus those in the part of the 1 km disc that lies inside the square
    square = shapely.box(X0, Y0, X0 + 4000, Y0 + 4000)
    near = shapely.Point(X0 + 200, Y0 + 200).buffer(1000, 256).intersection(square).area
    total = res.table["population_beyond"].sum()
    expected = 160_000 - 0.01 * near
    assert total == pytest.approx(expected, rel=0.002)
    assert res.geometry.attrs["layer"] == "huller"


# --- 5. typed provenance, readable as attrs ---------------------------------------------------------

def test_provenance_round_trip_and_attrs_view():
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(0, 0)], crs=25832)
    gdf.attrs["geometry_report"] = {"dropped": []}
    p = Provenance(source="SDFI (DAGI)", licence="CC BY 4.0", precision="skematisk", notes=("x",), title="Kommuner")
    with_provenance(gdf, p.replace(extra={"geometry_report": {"dropped": []}}))
    assert gdf.attrs["source"] == "SDFI (DAGI)" and gdf.attrs["notes"] == ["x"] and gdf.attrs["status"] == "ok"
    assert gdf.attrs["geometry_report"] == {"dropped": []}
    back = provenance_of(gdf)
    assert back == p and back.schematic
    # old code writing attrs directly is seen by the typed view
    gdf.attrs["precision"] = "real"
    assert not provenance_of(gdf).schematic
    out = carry_provenance(gdf[["a", "geometry"]].copy(), gdf, title="Andet")
    assert provenance_of(out).title == "Andet" and provenance_of(out).source == "SDFI (DAGI)"


# --- 6. renderers never write into the spec ----------------------------------------------------------

def test_html_renderer_leaves_the_spec_alone(tmp_path):
    from kkr_geo.maps.interactive import render_html
    from kkr_geo.maps.prepare import prepare
    from kkr_geo.maps.sources import Sources
    from kkr_geo.maps.spec import parse_spec

    rings = gpd.GeoDataFrame({"feature": ["a", "a"], "navn": ["A", "A"], "band": ["0–400 m", "400–800 m"],
                              "distance_m": [400, 800], "population": [100.0, 200.0], "area_km2": [0.5, 1.5]},
                             geometry=[shapely.Point(X0, Y0).buffer(400), shapely.Point(X0, Y0).buffer(800).difference(
                                 shapely.Point(X0, Y0).buffer(400))], crs=25832)
    rings.attrs.update(title="Opland", source="test", precision="exact", status="ok", notes=[])
    s = Sources(tmp_path)
    s.register("ringe", rings)
    spec = parse_spec({"title": "Opland", "tiles": False, "extent": "data", "inset": "none",
                       "layers": [{"id": "r", "source": "ringe", "style": "catchment"}]}, name="o")
    before = copy.deepcopy(spec)
    render_html(prepare(spec, s), tmp_path / "o.html")
    assert spec == before
    assert "Befolkning" in (tmp_path / "o.html").read_text(encoding="utf-8")


# --- 7. data status: used_by from the registry, fetch records found by file ---------------------------

def test_data_status_shows_users_and_fetch_record(tmp_path, capsys):
    import json

    from kkr_geo.cli import main
    d = tmp_path / "data"
    (d / "dagi").mkdir(parents=True)
    (d / "dagi" / "regioner.geojson").write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    (d / "SOURCES.json").write_text(json.dumps({"generator": "kkr-geo data fetch", "datasets": {"regioner": {
        "file": "dagi/regioner.geojson", "url": "https://api.dataforsyningen.dk/regioner?format=geojson",
        "fetched": "2026-01-02T03:04:05Z"}}}), encoding="utf-8")
    assert main(["--data-dir", str(d), "data", "status"]) == 0
    out = capsys.readouterr().out
    block = out[out.index("dagi/regioner.geojson"):].split("  [")[0]
    assert "fetched from https://api.dataforsyningen.dk/regioner?format=geojson" in block
    assert "2026-01-02T03:04:05Z" in block
    stations = out[out.index("gazetteer/gazetteer.csv"):].split("  [")[0]
    users = registry.used_by("gazetteer")   # in the registry's display order
    assert set(users) == {"brt", "brt_stops", "parker_og_rejs", "supercykelstier", "stationer", "mobilitetsprojekter",
                          "mobilitetsprojekter_linjer", "mobilitetsprojekter_punkter"}
    assert f"used by: {', '.join(users)};" in stations
