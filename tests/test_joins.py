import geopandas as gpd
import pandas as pd
import pytest
import shapely

from kkr_geo.geo.errors import InputError
from kkr_geo.layers.joins import join_indicators


@pytest.fixture
def layer():
    names = ["København", "Høje Taastrup", "Lyngby-Taarbæk", "Ærø"]
    codes = ["0101", "0169", "0173", "0492"]
    return gpd.GeoDataFrame({"kommunekode": codes, "navn": names},
                            geometry=[shapely.box(i, 0, i + 1, 1) for i in range(4)], crs=25832)


def table(**cols):
    df = pd.DataFrame(cols)
    df.index = pd.Index(range(2, len(df) + 2), name="line")
    return df


def test_codes_in_any_form(layer):
    t = table(kode=[101, "169", 173.0, "0492"], v=[1.0, 2.0, 3.0, 4.0])
    joined, rep = join_indicators(layer, t, on="kode")
    assert joined["v"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert rep.key_kind == "code" and rep.matched == 4 and rep.complete


def test_names_normalised(layer):
    t = table(kommune=["Københavns Kommune", "Høje-Taastrup", "Lyngby Taarbaek", "Aeroe"], v=[1, 2, 3, 4])
    joined, rep = join_indicators(layer, t, on="kommune")
    assert joined["v"].tolist() == [1, 2, 3, 4] and rep.complete


def test_unmatched_both_sides_and_duplicates_reported(layer):
    t = table(kommune=["København", "København", "Gotham", "Høje Taastrup", ""], v=[1, 9, 5, 2, 7])
    joined, rep = join_indicators(layer, t, on="kommune")
    assert joined["v"].tolist()[:2] == [1, 2]                  # first occurrence used
    assert pd.isna(joined["v"].iloc[2]) and pd.isna(joined["v"].iloc[3])
    assert rep.unmatched_table == [(4, "Gotham")]
    assert rep.unmatched_layer == ["Lyngby-Taarbæk", "Ærø"]
    assert rep.duplicated_table == [(3, "København")]
    assert rep.unreadable_keys == [(6, "")]
    text = "\n".join(rep.lines())
    assert "line 4: 'Gotham'" in text and "Lyngby-Taarbæk" in text and "line 3" in text
    assert len(joined) == len(layer)                            # no feature lost


def test_strict_raises_with_report(layer):
    t = table(kommune=["København", "Gotham"], v=[1, 2])
    with pytest.raises(InputError, match="Gotham"):
        join_indicators(layer, t, on="kommune", strict=True)


def test_missing_key_column(layer):
    with pytest.raises(InputError, match="no column 'x'"):
        join_indicators(layer, table(a=[1]), on="x")


def test_column_name_clash_gets_suffix(layer):
    t = table(kode=["0101"], navn=["anden"])
    joined, _ = join_indicators(layer, t, on="kode")
    assert joined.loc[0, "navn"] == "København" and joined.loc[0, "navn_tabel"] == "anden"


def test_bydel_names(any_data):
    from kkr_geo.layers import load_layer

    areas = load_layer("planomraader", any_data)
    t = table(omr=["Brønshøj Husum", "VESTERBRO-KONGENS ENGHAVE", "Oesterbro", "Indre by"], v=[1, 2, 3, 4])
    joined, rep = join_indicators(areas, t, on="omr")
    got = dict(zip(joined["navn"], joined["v"]))
    assert got["Brønshøj-Husum"] == 1 and got["Vesterbro"] == 2 and got["Østerbro"] == 3 and got["Indre By"] == 4
    assert not rep.unmatched_table
