"""``kkr-geo catchment|coverage|access`` on small files with answers derived by hand."""

import json
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine

from kkr_geo.geo.population import PopulationGrid
from kkr_geo.cli import main

X0, Y0 = 700_000.0, 6_170_000.0


@pytest.fixture
def files(tmp_path):
    # 10 × 10 cells of 100 m, one person each
    grid = PopulationGrid(np.ones((10, 10)), Affine(100, 0, X0, 0, -100, Y0 + 1000), source="toy", precision="exact")
    pop = grid.to_geotiff(tmp_path / "pop.tif")
    fac = gpd.GeoDataFrame({"navn": ["Hjørne"], "kapacitet": [5.0]}, geometry=[shapely.Point(X0 + 50, Y0 + 950)], crs=25832)
    fac_path = tmp_path / "fac.gpkg"
    fac.to_file(fac_path, engine="pyogrio")
    areas = gpd.GeoDataFrame({"navn": ["Vest", "Øst"]}, geometry=[shapely.box(X0, Y0, X0 + 500, Y0 + 1000),
                                                                   shapely.box(X0 + 500, Y0, X0 + 1000, Y0 + 1000)], crs=25832)
    areas_path = tmp_path / "areas.gpkg"
    areas.to_file(areas_path, engine="pyogrio")
    return {"pop": str(pop), "fac": str(fac_path), "areas": str(areas_path), "out": tmp_path / "out"}


def test_coverage_cli_writes_csv_gpkg_and_tif(files, capsys):
    rc = main(["coverage", "--facilities", files["fac"], "--population", files["pop"], "--threshold", "500",
               "--detour-factor", "1", "--areas", files["areas"], "--out", str(files["out"])])
    assert rc == 0
    t = pd.read_csv(files["out"] / "coverage.csv")
    # 26 of 100 cells lie within 500 m of the corner (see test_coverage); west half 25 beyond, east 49
    assert t.iloc[0]["population_beyond"] == 74
    assert t.set_index("area_name").loc["Øst", "population_beyond"] == 49
    assert t["distance_method"].iloc[0] == "euclidean × detour factor 1"
    assert t["population_source"].iloc[0] == "toy"
    excel = (files["out"] / "coverage_excel.csv").read_bytes()
    assert excel.startswith(b"\xef\xbb\xbf") and b";0,74;" in excel  # BOM, semicolons, decimal comma
    gaps = gpd.read_file(files["out"] / "coverage.gpkg", layer="gaps")
    assert len(gaps) == 1 and gaps["population"].iloc[0] == 74
    meta = json.loads((files["out"] / "coverage_meta.json").read_text())
    assert meta["threshold_m"] == 500
    assert (files["out"] / "coverage_distance.tif").exists()
    assert not list(files["out"].glob(".*part*"))  # no temporary files left


def test_catchment_cli(files):
    rc = main(["catchment", "--facilities", files["fac"], "--population", files["pop"], "--distances", "300,500",
               "--detour-factor", "1", "--areas", "none", "--out", str(files["out"])])
    assert rc == 0
    t = pd.read_csv(files["out"] / "catchment.csv")
    assert list(t["band"]) == ["0–300 m", "300–500 m"]
    # from the corner cell's centre, cells with i² + j² ≤ 9 (in 100 m steps): per column i = 0..3:
    # 4 + 3 + 3 + 1 = 11 (the cell at exactly 300 m counts); within 500 m: 26 (see test_coverage)
    assert t["population"].iloc[0] == 11 and t["population"].sum() == 26
    assert t["area_km2"].iloc[0] == pytest.approx(math.pi * 0.3**2, rel=0.002)
    polys = gpd.read_file(files["out"] / "catchment.gpkg", layer="catchment")
    assert len(polys) == 2 and polys.crs.to_epsg() == 25832


def test_access_cli(files):
    rc = main(["access", "--facilities", files["fac"], "--population", files["pop"], "--capacity-column", "kapacitet",
               "--catchment", "500", "--detour-factor", "1", "--areas", files["areas"], "--out", str(files["out"])])
    assert rc == 0
    t = pd.read_csv(files["out"] / "access.csv")
    # one facility of 5 serving 26 people: each of them has 5/26 × 10,000 per 10,000; region: 5/100
    assert t.iloc[0]["capacity_per_10000"] == pytest.approx(5 / 100 * 10_000)
    f = pd.read_csv(files["out"] / "access_facilities.csv")
    assert f["demand_population"].iloc[0] == 26
    assert set(gpd.list_layers(files["out"] / "access.gpkg")["name"]) == {"areas", "facilities"}


def test_cli_user_errors(files, capsys):
    assert main(["access", "--facilities", files["fac"], "--population", files["pop"], "--out", str(files["out"])]) == 4
    assert "--catchment is required" in capsys.readouterr().err
    assert main(["catchment", "--facilities", files["fac"], "--population", files["pop"], "--distances", "a,b",
                 "--out", str(files["out"])]) == 4
    assert main(["coverage", "--population", files["pop"], "--threshold", "500", "--out", str(files["out"])]) == 4
    assert "no features given" in capsys.readouterr().err


def test_access_planning_area_reproduces_tabel3(any_data, tmp_path):
    out = tmp_path / "out"
    assert main(["--data-dir", str(any_data.path), "access", "--planning-area", "--out", str(out)]) == 0
    t = pd.read_csv(out / "access.csv")
    assert len(t) == 37
    assert (t["borgere_pr_kapacitet"].round() == t["tabel3_borgere_pr_kapacitet_sp51"]).all()


# --- Tabel 4 (speciale 62) from the CLI and the API ----------------------------------------------
# Figures typed from the practice plan's Tabel 4 (kapacitet_sp62; borgere pr. kapacitet):
# Bispebjerg 5,23; 10.616 — Gribskov 8,93; 4.697 — Vesterbro 4,14; 20.031.
TABEL4_HAND = {"Bispebjerg": (5.23, 10616), "Gribskov": (8.93, 4697), "Vesterbro": (4.14, 20031)}


@pytest.mark.parametrize("args", [["--speciale", "62"], ["--capacity-column", "kapacitet_sp62"],
                                  ["--speciale", "62", "--capacity-column", "kapacitet_sp62"]])
def test_access_planning_area_reproduces_tabel4(real_data, tmp_path, args):
    out = tmp_path / "out"
    assert main(["--data-dir", str(real_data.path), "access", "--planning-area", *args, "--out", str(out)]) == 0
    t = pd.read_csv(out / "access.csv").set_index("area_name")
    assert len(t) == 37
    assert (t["borgere_pr_kapacitet"].round() == t["tabel4_borgere_pr_kapacitet_sp62"]).all()
    for name, (cap, ratio) in TABEL4_HAND.items():
        assert t.loc[name, "capacity"] == pytest.approx(cap)
        # population = round(cap × ratio); ratio recomputed = population / cap, rounds back to the table
        assert t.loc[name, "population"] == round(cap * ratio)
        assert round(t.loc[name, "borgere_pr_kapacitet"]) == ratio
    meta = json.loads((out / "access_meta.json").read_text())
    assert meta["capacity_column"] == "kapacitet_sp62" and "Tabel 4" in meta["population_source"]


def test_access_planning_area_speciale_conflict_is_a_clear_error(real_data, tmp_path, capsys):
    rc = main(["--data-dir", str(real_data.path), "access", "--planning-area", "--speciale", "51",
               "--capacity-column", "kapacitet_sp62", "--out", str(tmp_path / "o")])
    assert rc == 4
    err = capsys.readouterr().err
    assert "kapacitet_sp62" in err and "51" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_access_planning_area_api_speciale62(real_data):
    from kkr_geo import planning_area_access
    res = planning_area_access(real_data.path, speciale=62)
    t = res.by_area.set_index("area_name")
    assert round(t.loc["Vesterbro", "borgere_pr_kapacitet"]) == 20031
    assert round(t.loc["Bispebjerg", "borgere_pr_kapacitet"]) == 10616
    res51 = planning_area_access(real_data.path)
    assert round(res51.by_area.set_index("area_name").loc["Vesterbro", "borgere_pr_kapacitet"]) == 5848
    with pytest.raises(Exception, match="speciale"):
        planning_area_access(real_data.path, speciale=63)
