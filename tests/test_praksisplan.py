"""The practice plan's tables on the map: figures checked against the CSVs by hand, and tables the project
does not understand (an extra column, a new year, a new speciale, a missing column) read with a report."""

from __future__ import annotations

import shutil

import pytest

from kkr_geo.geo.errors import DataError
from kkr_geo.maps.sources import SourceUnavailable, Sources
from tests.conftest import writable_subdir


@pytest.fixture(scope="module")
def src(real_data):
    return Sources(real_data)


def _row(gdf, col, value):
    hit = gdf[gdf[col] == value]
    assert len(hit) == 1, f"{value!r}: {len(hit)} rows"
    return hit.iloc[0]


def test_forecast_bispebjerg_and_vesterbro(src):
    g = src.get("befolkningsprognose")
    assert len(g) == 37 and g["aendring_pct"].notna().all()
    b = _row(g, "navn", "Bispebjerg")
    # CSV line: Bispebjerg;planlægningsområde;54980;...;57282;4,2
    assert (b["befolkning_2024"], b["befolkning_2030"], b["aendring_pct"]) == (54980, 57282, 4.2)
    assert b["aendring_antal"] == 57282 - 54980
    assert _row(g, "navn", "Vesterbro")["aendring_pct"] == 14.6      # published as 'Vesterbro'
    assert _row(g, "navn", "Gentofte")["aendring_pct"] == -3.6


def test_waiting_times_mean_range_and_clinics(src):
    g = src.get("ventetider")
    assert len(g) == 37 and g["ventetid_sp51"].notna().all() and g["ventetid_sp62"].notna().all()
    h = _row(g, "navn", "Halsnæs")                     # Bilag 7: Halsnæs;51;3;10,3;1;28
    assert (h["ventetid_sp51"], h["ventetid_min_sp51"], h["ventetid_max_sp51"], h["klinikker_sp51"]) == (10.3, 1, 28, 3)
    assert h["ventetid_spaend_sp51"] == "1–28 uger"
    gl = _row(g, "navn", "Glostrup")                   # Bilag 6: Glostrup;62;1;40,0;40;40
    assert (gl["ventetid_sp62"], gl["klinikker_sp62"]) == (40.0, 1)
    a = _row(g, "navn", "Amager")                      # Amager;62;3;16,7;2;30
    assert a["ventetid_spaend_sp62"] == "2–30 uger"


def test_subsidy_amounts_parsed_and_published_text_kept(src):
    g = src.get("tilskud_pr_kommune")
    k = _row(g, "navn", "København")                   # København;51;22772;667535;19.362.920 kr.;850 kr.;29 kr.
    assert k["tilskud_kr_sp51"] == 19_362_920 and k["tilskud_pr_borger_kr_sp51"] == 29
    assert k["tilskud_pr_patient_kr_sp51"] == 850 and k["tilskud_tekst_sp51"] == "19.362.920 kr."
    assert _row(g, "navn", "Rudersdal")["tilskud_pr_patient_kr_sp51"] == 1095   # '1.095 kr.'
    assert len(g) == 29 and g["tilskud_pr_borger_kr_sp51"].notna().all()


def test_patients_per_1000_and_change(src):
    g = src.get("patienter_pr_kommune")
    t = _row(g, "navn", "Tårnby")                      # Tårnby;51;...;68,6;55,3
    assert (t["pr_1000_2020_sp51"], t["pr_1000_2023_sp51"]) == (68.6, 55.3)
    assert t["aendring_pr_1000_sp51"] == pytest.approx(55.3 - 68.6)
    assert t["aendring_patienter_pct_sp51"] == -19
    assert g["pr_1000_2023_sp51"].notna().all()
    # the region row matches no kommune and is reported, not silently used
    assert any("Region Hovedstaden" in n for n in g.attrs["notes"])


def test_capacity_2030_vs_2024(src):
    g = src.get("kapacitet_2030")
    v = _row(g, "navn", "Valby")                       # Valby;51;3,6;4,14;3,6;16177;8653;47%
    assert (v["udvidelse_sp51"], v["borgere_pr_kap_2030_uden_sp51"], v["borgere_pr_kap_2030_med_sp51"],
            v["forandring_pct_sp51"]) == (3.6, 16177, 8653, 47)
    assert v["borgere_pr_kap_2024_sp51"] > 0          # from Tabel 3
    f = _row(g, "navn", "Frederiksberg")               # no proposal: 0 and stated, no invented 2030 figure
    assert f["udvidelse_sp51"] == 0 and f["status_sp51"] == "ingen udvidelse foreslået"
    assert f["borgere_pr_kap_2030_med_sp51"] != f["borgere_pr_kap_2030_med_sp51"]   # NaN
    assert int((g["status_sp51"] == "udvidelse foreslået").sum()) == 8


def test_share_treated_in_own_area(src):
    g = src.get("behandlet_i_eget_omraade")
    assert g["andel_eget_omraade_pct"].notna().all() and len(g) == 37
    assert _row(g, "navn", "Fredensborg")["andel_eget_omraade_pct"] == 29
    assert _row(g, "navn", "Vesterbro")["andel_eget_omraade_pct"] == 54   # 'Vesterbro-Kongens Enghave'
    assert _row(g, "navn", "Bornholm")["andel_eget_omraade_pct"] == 98


def test_physiotherapists_per_planomraade(src):
    g = src.get("fysioterapeuter_pr_planomraade")
    b = _row(g, "planomraade", "Byen")
    assert b["fysioterapeuter_i_alt"] == 196 and b["ejere"] == 28
    assert b["fysioterapeuter_pr_10000"] == round(196 / 462068 * 1e4, 1)     # 4,2
    # clinics in the waiting-time statistics, summed over Byen's planning areas (sp. 51)
    assert b["klinikker_sp51"] == 7 + 1 + 1 + 4 + 2 + 4 + 4   # Frederiksberg, Bispebjerg, Brønshøj-Husum, Indre By, Nørrebro, Vanløse, Østerbro


def _copy_table(data_copy, rel):
    root = data_copy()
    d = writable_subdir(root, "indikatorer/praksisplan")
    target = d / rel.split("/")[-1]
    src_file = target.resolve()
    target.unlink()
    shutil.copyfile(src_file, target)
    return root, target


def test_unknown_column_and_new_year_are_reported_not_fatal(data_copy):
    root, path = _copy_table(data_copy, "befolkningsprognose_2024_2030.csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [lines[0] + ";2031;kommentar"] + [ln + ";1;x" for ln in lines[1:]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    g = Sources(root).get("befolkningsprognose")
    assert _row(g, "navn", "Bispebjerg")["aendring_pct"] == 4.2
    notes = " ".join(g.attrs["notes"])
    assert "2031" in notes and "kommentar" in notes


def test_new_speciale_reported(data_copy):
    root, path = _copy_table(data_copy, "ventetider_2024.csv")
    with path.open("a", encoding="utf-8") as fh:
        fh.write("Albertslund;65;1;3,0;1;5;Bilag 9;1\n")
    g = Sources(root).get("ventetider")
    assert _row(g, "navn", "Albertslund")["ventetid_sp62"] == 28.0
    assert any("speciale value(s) 65" in n for n in g.attrs["notes"])


def test_missing_column_skips_the_map_with_the_reason(data_copy):
    root, path = _copy_table(data_copy, "tilskud_pr_kommune_2023.csv")
    text = path.read_text(encoding="utf-8").replace("tilskud_pr_borger", "pr_indbygger", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceUnavailable, match="tilskud_pr_kommune_2023.csv: missing column"):
        Sources(root).get("tilskud_pr_kommune")
    from kkr_geo.layers.praksisplan import PPTable
    from kkr_geo.layers.datadir import resolve_data_dir
    with pytest.raises(DataError, match="tilskud_pr_borger"):
        PPTable("pp_tilskud", resolve_data_dir(root), layer="x")


def test_parse_amount():
    from kkr_geo.layers.praksisplan import parse_amount
    assert parse_amount("19.362.920 kr.") == 19_362_920
    assert parse_amount("1.095 kr.") == 1095
    assert parse_amount("65 %") == 65
    assert parse_amount("") is None


def test_single_value_class_label():
    from kkr_geo.maps.classify import class_labels
    # the capacity map's first class holds only the areas without a proposal: "0,0", not "0,0–0,0"
    assert class_labels(0.0, [0.0, 0.5, 1.0], 1) == ["0,0", "over 0,0–0,5", "over 0,5–1,0"]  # limits never overlap
