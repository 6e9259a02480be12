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


def test_failed_export_leaves_nothing(tmp_path):
    good = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(700000, 6170000)], crs=25832)
    mixed = gpd.GeoDataFrame({"a": [1, 2]}, geometry=[shapely.Point(700000, 6170000), shapely.box(0, 0, 1, 1)], crs=25832)
    out = tmp_path / "x.gpkg"
    with pytest.raises(InputError, match="mixes geometry types"):
        export_geopackage(out, {"punkter": good, "blandet": mixed})
    assert list(tmp_path.iterdir()) == []


def test_existing_file_survives_failed_export(tmp_path):
    good = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(700000, 6170000)], crs=25832)
    out = tmp_path / "x.gpkg"
    export_geopackage(out, {"punkter": good})
    before = out.read_bytes()
    bad = gpd.GeoDataFrame({"a": [1, 2]}, geometry=[shapely.Point(1, 1), shapely.box(0, 0, 1, 1)], crs=25832)
    with pytest.raises(InputError):
        export_geopackage(out, {"blandet": bad})
    assert out.read_bytes() == before
