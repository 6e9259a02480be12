import sqlite3

import geopandas as gpd
import pyogrio
import pytest
import shapely

from kkr_geo.geo.errors import InputError
from kkr_geo.layers import available_layers
from kkr_geo.layers.export import export_geopackage


def test_round_trip_all_layers(any_data, tmp_path):
    layers = dict(available_layers(any_data))
    out = tmp_path / "lag.gpkg"
    summary = export_geopackage(out, layers)
    names = [n for n, _ in pyogrio.list_layers(out)]
    assert set(layers) <= set(names) and "layer_styles" in names
    for name, gdf in layers.items():
        back = gpd.read_file(out, layer=name)
        assert back.crs.to_epsg() == 25832
        assert len(back) == len(gdf)
        info = summary["layers"][name]
        assert info["crs"] == "EPSG:25832"
    # field types: kommunekode stays text with its leading zero; numbers are numbers
    k = gpd.read_file(out, layer="kommuner")
    assert k["kommunekode"].iloc[0] == "0101"
    info = pyogrio.read_info(out, layer="brt")
    types = dict(zip(info["fields"], info["dtypes"]))
    assert types["anlaeg_mio_kr"] in ("int64", "int32") and types["laengde_km"] == "float64" and types["navn"] == "object"
    # a default QGIS style per layer, and a readable description
    con = sqlite3.connect(out)
    styles = dict(con.execute("SELECT f_table_name, styleQML FROM layer_styles WHERE useAsDefault = 1").fetchall())
    desc = dict(con.execute("SELECT table_name, description FROM gpkg_contents").fetchall())
    con.close()
    assert set(styles) == set(layers)
    assert "<renderer-v2" in styles["brt"] and 'value="dash"' in styles["brt"]  # schematic lines are dashed
    assert "Precision: schematic" in desc["brt"] and "Kommuner" in desc["kommuner"]
    assert summary["styles"] and not list(tmp_path.glob(".*part*"))


def _fail_on_styles(monkeypatch):
    """Make the export fail after its tables are written (the styles step)."""
    import kkr_geo.layers.export as export

    def fail(*args, **kwargs):
        raise InputError("styles could not be written (test)")

    monkeypatch.setattr(export, "_write_styles", fail)


def test_failed_export_leaves_nothing(tmp_path, monkeypatch):
    good = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(700000, 6170000)], crs=25832)
    _fail_on_styles(monkeypatch)
    out = tmp_path / "x.gpkg"
    with pytest.raises(InputError, match="styles could not be written"):
        export_geopackage(out, {"punkter": good})
    assert list(tmp_path.iterdir()) == []


def test_existing_file_survives_failed_export(tmp_path, monkeypatch):
    good = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(700000, 6170000)], crs=25832)
    out = tmp_path / "x.gpkg"
    export_geopackage(out, {"punkter": good})
    before = out.read_bytes()
    _fail_on_styles(monkeypatch)
    with pytest.raises(InputError):
        export_geopackage(out, {"andre": good})
    assert out.read_bytes() == before


def test_mixed_and_unplaced_rows_become_an_attribute_table_and_one_feature_table_per_type(tmp_path):
    """Lines, points and rows without geometry in one table (like the 33 mobility projects): every row in an
    attribute table, the placed rows by geometry type; the drawing-only rows of a layer are left out."""
    mixed = gpd.GeoDataFrame({"nr": [1, 2, 3, 4], "navn": ["A", "B", "C", "D"]},
                             geometry=[shapely.Point(700000, 6170000), shapely.LineString([(0, 0), (1, 1)]), None,
                                       shapely.Point(700100, 6170000)], crs=25832)
    mixed.attrs.update(source="Kilde X", licence="CC BY 4.0")
    flows = gpd.GeoDataFrame({"part": ["linje", "pil"]}, geometry=[shapely.LineString([(0, 0), (2, 2)]),
                                                                    shapely.box(0, 0, 1, 1)], crs=25832)
    flows.attrs["drawing_only"] = {"part": ["pil"]}
    out = tmp_path / "x.gpkg"
    summary = export_geopackage(out, {"projekter": mixed, "strømme": flows})
    layers = {str(n): t for n, t in pyogrio.list_layers(out)}
    assert layers["projekter"] is None and layers["projekter_punkter"] == "Point"
    assert layers["projekter_linjer"] == "MultiLineString" and layers["strømme"] == "MultiLineString"
    table = pyogrio.read_dataframe(out, layer="projekter", read_geometry=False)
    assert list(table["nr"]) == [1, 2, 3, 4] and list(table["navn"]) == ["A", "B", "C", "D"]
    assert list(gpd.read_file(out, layer="projekter_punkter")["nr"]) == [1, 4]
    assert list(gpd.read_file(out, layer="projekter_linjer")["nr"]) == [2]
    assert list(gpd.read_file(out, layer="strømme")["part"]) == ["linje"]
    assert summary["layers"]["projekter"]["features"] == 4
    con = sqlite3.connect(out)
    kinds = dict(con.execute("SELECT table_name, data_type FROM gpkg_contents").fetchall())
    desc = dict(con.execute("SELECT table_name, description FROM gpkg_contents").fetchall())
    styled = {r[0] for r in con.execute("SELECT f_table_name FROM layer_styles")}
    con.close()
    assert kinds["projekter"] == "attributes" and kinds["projekter_linjer"] == "features"
    assert "Source: Kilde X" in desc["projekter"] and "Licence: CC BY 4.0" in desc["projekter_punkter"]
    assert styled == {"projekter_punkter", "projekter_linjer", "strømme"}


def test_one_geometry_type_with_unplaced_rows_stays_one_feature_table(tmp_path):
    """A catchment that reaches nobody has no geometry: its row stays in the layer's one feature table (null
    geometry), it is not split off into an attribute table."""
    gdf = gpd.GeoDataFrame({"navn": ["nået", "ingen"]}, geometry=[shapely.box(700_000, 6_170_000, 701_000, 6_171_000),
                                                                  None], crs=25832)
    out = tmp_path / "x.gpkg"
    export_geopackage(out, {"opland": gdf})
    assert {str(n): t for n, t in pyogrio.list_layers(out)} == {"opland": "MultiPolygon", "layer_styles": None}
    back = gpd.read_file(out, layer="opland")
    assert list(back["navn"]) == ["nået", "ingen"] and back.geometry.isna().tolist() == [False, True]


def test_the_geopackage_comes_without_a_sidecar_file(tmp_path):
    # reading the file back (verify_geopackage) once left GDAL's "<name>.gpkg.aux.xml" beside it, holding the
    # dataset metadata that is already inside the GeoPackage
    g = gpd.GeoDataFrame({"navn": ["a"]}, geometry=[shapely.Point(700_000, 6_170_000)], crs=25832)
    out = tmp_path / "lag.gpkg"
    export_geopackage(out, {"kommuner": g})
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["lag.gpkg"]
    assert pyogrio.read_info(out)["dataset_metadata"]["GENERATOR"] == "kkr-geo"
    assert pyogrio.get_gdal_config_option("GDAL_PAM_ENABLED") is None  # the setting is restored


def qml_look(qml: str) -> dict:
    """What a single-symbol QML draws: the symbol's kind, its ``prop`` settings and the labelled field (or None)."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(qml.split("\n", 1)[1])   # after the DOCTYPE line
    symbol = root.find("renderer-v2/symbols/symbol")
    text = root.find("labeling/settings/text-style")
    return {"kind": symbol.get("type"), "props": {p.get("k"): p.get("v") for p in symbol.iter("prop")},
            "label": None if text is None else text.get("fieldName")}


_ONE = {"polygon": shapely.box(700_000, 6_170_000, 701_000, 6_171_000),
        "line": shapely.LineString([(700_000, 6_170_000), (701_000, 6_171_000)]), "point": shapely.Point(700_000, 6_170_000)}


def test_every_registered_look_is_the_exported_style(tmp_path):
    """Issue 21: a layer's QGIS look is declared in its registry entry (``qgis_look``), not in a second list in
    qgis_styles.py; the GeoPackage's default style draws exactly that look, labelled where the column exists."""
    from kkr_geo.layers.registry import entries

    looks = {n: e.qgis_look for n, e in entries().items() if e.qgis_look is not None}
    assert {"kommuner", "planomraader", "planomraader_samlet", "brt", "brt_stops", "supercykelstier", "parker_og_rejs",
            "stationer", "klinikker"} <= set(looks)
    layers = {}
    for n, look in looks.items():
        cols = {look.label: ["x"]} if look.label and n != "brt" else {}   # brt: the label column left out
        layers[n] = gpd.GeoDataFrame({"nr": [1], **cols}, geometry=[_ONE[entries()[n].geometry]], crs=25832)
    out = tmp_path / "looks.gpkg"
    export_geopackage(out, layers)
    con = sqlite3.connect(out)
    styles = dict(con.execute("SELECT f_table_name, styleQML FROM layer_styles").fetchall())
    con.close()
    for n, look in looks.items():
        got = qml_look(styles[n])
        assert got["kind"] == look.kind, n
        p = got["props"]
        if look.kind == "line":
            assert (p["line_color"], p["line_width"], p["line_style"]) == (look.stroke, str(look.width), look.dash or "solid"), n
        else:
            assert (p["color"], p["outline_color"]) == (look.fill, look.stroke), n
            assert p["outline_width" if look.kind == "fill" else "size"] == str(look.width), n
        assert got["label"] == (None if n == "brt" else look.label), n
    assert qml_look(styles["brt"])["props"]["line_style"] == "dash"   # schematic lines are dashed
