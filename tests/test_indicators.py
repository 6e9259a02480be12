import pandas as pd
import pytest

from kkr_geo.geo.errors import InputError
from kkr_geo.layers.indicators import read_table

HEADER = "kommunekode;kommune;andel;beløb\n"


def write(tmp_path, name, data: bytes):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_semicolon_danish_numbers_bom(tmp_path):
    p = write(tmp_path, "t.csv", ("\ufeff" + HEADER + "101;København;12,5 %;1.234,5\n147;Frederiksberg;7,25;-3\n").encode("utf-8"))
    t = read_table(p)
    assert list(t.columns) == ["kommunekode", "kommune", "andel", "beløb"]
    assert t["kommunekode"].tolist() == ["101", "147"]        # key column stays text
    assert t["andel"].tolist() == [12.5, 7.25]
    assert t["beløb"].tolist() == [1234.5, -3.0]
    assert t.attrs["report"].encoding == "utf-8-sig" and t.attrs["report"].delimiter == ";"
    assert not t.attrs["report"].problems


def test_cp1252(tmp_path):
    p = write(tmp_path, "t.csv", (HEADER + "219;Hillerød;1,5;2\n").encode("cp1252"))
    t = read_table(p)
    assert t["kommune"].tolist() == ["Hillerød"]
    assert t.attrs["report"].encoding == "cp1252"


def test_mixed_encodings_reported(tmp_path):
    data = (HEADER + "219;Hillerød;1;2\n").encode("utf-8") + "223;Hørsholm;3;4\n".encode("cp1252")
    t = read_table(write(tmp_path, "t.csv", data))
    assert t["kommune"].tolist() == ["Hillerød", "Hørsholm"]
    assert any("mixed encodings" in n and "3" in n for n in t.attrs["report"].notes)


def test_comma_separated_english_decimals(tmp_path):
    t = read_table(write(tmp_path, "t.csv", b"navn,value\nHerlev,1.5\nGentofte,2.25\n"))
    assert t["value"].tolist() == [1.5, 2.25]


def test_text_in_numeric_column_reported_with_line(tmp_path):
    body = HEADER + "101;København;1,5;2\n147;Frederiksberg;ukendt;3\n151;Ballerup;2,5;4\n153;Brøndby;3,5;5\n155;Dragør;4;6\n"
    t = read_table(write(tmp_path, "t.csv", body.encode()))
    assert pd.isna(t.loc[3, "andel"])
    probs = t.attrs["report"].problems
    assert len(probs) == 1 and probs[0].line == 3 and probs[0].column == "andel" and probs[0].value == "ukendt"
    with pytest.raises(InputError, match="line 3"):
        read_table(write(tmp_path, "t2.csv", body.encode()), strict=True)


def test_empty_cells_and_trailing_spaces(tmp_path):
    t = read_table(write(tmp_path, "t.csv", (HEADER + "101 ; København ;;2 \n").encode()))
    assert t["kommune"].tolist() == ["København"] and pd.isna(t["andel"].iloc[0]) and t["beløb"].iloc[0] == 2.0


def test_title_rows_skipped(tmp_path):
    body = "Tabel 3. Kapacitet;;;\n\n" + HEADER + "101;København;1;2\n"
    t = read_table(write(tmp_path, "t.csv", body.encode()))
    assert list(t.columns) == ["kommunekode", "kommune", "andel", "beløb"] and len(t) == 1
    assert t.index[0] == 4  # file line numbers are kept for reports


def test_ragged_row_reported(tmp_path):
    t = read_table(write(tmp_path, "t.csv", (HEADER + "101;København;1;2\n147;Frederiksberg;1\n").encode()))
    assert len(t) == 1
    assert t.attrs["report"].problems[0].line == 3


def test_excel_with_title_rows(tmp_path):
    p = tmp_path / "t.xlsx"
    rows = [["Bilag 2: Indikatorer", None, None], [None, None, None], ["kommunekode", "kommune", "andel"],
            ["0101", "København", "12,5"], [147, "Frederiksberg", 7.5]]
    pd.DataFrame(rows).to_excel(p, header=False, index=False)
    t = read_table(p)
    assert list(t.columns) == ["kommunekode", "kommune", "andel"]
    assert t["andel"].tolist() == [12.5, 7.5]
    assert t["kommunekode"].tolist() == ["0101", "147"]


def test_missing_and_unsupported_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(InputError, match="unsupported"):
        read_table(tmp_path / "x.json")
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(InputError, match="empty"):
        read_table(tmp_path / "e.csv")
