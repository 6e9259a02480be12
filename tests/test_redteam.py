"""Red-team round against the issue 8/9 fixes: cases a hostile tester found that the suite did not cover.

Each case is recorded in the reliability ledger before it is asserted, so a regression is counted.
"""

from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from reliability_cases import check, refusal_outcome, reliability_ledger  # noqa: F401  (autouse fixture)

AREA = "security"


def run(*args):
    return subprocess.run([sys.executable, "-m", "kkr_geo", *map(str, args)], capture_output=True, text=True)


# ------------------------------------------------------------------- CSV formulas the guard missed

# Spreadsheets and CSV importers trim leading whitespace, and East Asian input methods give fullwidth
# (＝＋－＠) or small-form (﹦﹢﹣﹫) signs that Excel/LibreOffice accept as formula starts.
SNEAKY_FORMULAS = [
    ' =HYPERLINK("http://x.invalid","klik")',
    "   +SUM(1+1)*cmd|' /C calc'!A0",
    "\u00a0=1+1",             # no-break space
    "\u3000@SUM(A1)",         # ideographic space
    "\n=1+1",
    "\uff1dHYPERLINK(\"http://x.invalid\")",   # fullwidth =
    "\uff0bSUM(1)",
    "\uff20SUM(A1)",
    "\uff0d2+3",
    "\ufe66cmd|calc!A1",      # small form =
]


def _lead(cell: str) -> str:
    import unicodedata
    return unicodedata.normalize("NFKC", cell.lstrip()[:1]) if cell.strip() else ""


def test_csv_cell_formula_after_whitespace_or_in_fullwidth_form():
    from kkr_geo.geo.safe_text import csv_cell

    bad = [s for s in SNEAKY_FORMULAS if not csv_cell(s).startswith("'")]
    # what must stay as it is
    keep = {" -5": " -5", "-12,5": "-12,5", "Ballerup": "Ballerup", " ": " ", "": "", "Høje-Taastrup": "Høje-Taastrup"}
    changed = [f"{k!r} -> {csv_cell(k)!r}" for k, v in keep.items() if csv_cell(k) != v]
    check("formula_after_space_or_fullwidth", AREA, "parses", "unescaped" if bad or changed else "parses",
          f"not neutralised: {bad}; wrongly changed: {changed}")


def test_analysis_csvs_neutralise_sneaky_formulas(tmp_path):
    from kkr_geo.commands.analysis import write_csv

    df = pd.DataFrame({"area_name": SNEAKY_FORMULAS, "population": np.arange(len(SNEAKY_FORMULAS), dtype=float)})
    bad = []
    for p in write_csv(df, tmp_path / "coverage.csv"):
        sep = ";" if p.name.endswith("_excel.csv") else ","
        back = pd.read_csv(p, sep=sep, dtype=str, encoding="utf-8-sig", keep_default_na=False)
        bad += [f"{p.name}: {c!r}" for c in back["area_name"] if _lead(c) in ("=", "+", "-", "@")]
    check("formula_sneaky_analysis_csv", AREA, "parses", "unescaped" if bad else "parses", "; ".join(bad))


def test_build_summary_csv_neutralises_a_kommune_name_with_leading_space(real_data, tmp_path):
    """A KOMNAVN of ' =HYPERLINK(...)' in DAGI reaches the build's summary CSVs as text, not a formula."""
    from kkr_geo.geo.safe_text import csv_frame

    df = pd.DataFrame({"area_name": [" =HYPERLINK(\"http://x.invalid\")", "\uff1d1+1"], "population": [1.0, 2.0]})
    out = csv_frame(df)
    bad = [c for c in out["area_name"] if not c.startswith("'")]
    check("formula_sneaky_summary_csv", AREA, "parses", "unescaped" if bad else "parses", repr(bad))


# ---------------------------------------------------------------- 2SFCA with infinite capacity

def test_access_refuses_an_infinite_capacity_in_a_facility_file(real_data, tmp_path):
    """A GeoPackage of facilities with capacity inf made every area's accessibility inf/NaN without a word."""
    fac = gpd.GeoDataFrame({"navn": ["A", "B"], "kapacitet": [2.0, np.inf]},
                           geometry=[shapely.Point(12.5683, 55.6761), shapely.Point(12.52, 55.70)], crs=4326)
    src = tmp_path / "fac.gpkg"
    fac.to_file(src, layer="fac")
    r = run("--data-dir", real_data.path, "access", "--facilities", src, "--capacity-column", "kapacitet",
            "--catchment", "2000", "--distance", "euclidean", "--out", tmp_path / "out")
    said = r.stdout + r.stderr
    outcome = refusal_outcome(said, r.returncode, "inf", "fac.gpkg", must_not=("np.float64",))
    check("access_infinite_capacity", "cli", "clear_error", outcome, said[-400:])
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").glob("*.csv"))


# ------------------------------------------------------------ facilities without geometry

def test_coverage_names_facilities_without_geometry(real_data, tmp_path):
    """A facility with a null geometry (or coordinates GDAL cannot read) was dropped silently: the run
    said "facilities: 1" where the file had 3, with no word about which ones were left out."""
    import json
    feats = [
        {"type": "Feature", "properties": {"navn": "Klinik Med"}, "geometry": {"type": "Point", "coordinates": [12.5683, 55.6761]}},
        {"type": "Feature", "properties": {"navn": "Klinik Uden"}, "geometry": None},
        {"type": "Feature", "properties": {"navn": "Klinik Tom"}, "geometry": {"type": "Point", "coordinates": []}},
    ]
    src = tmp_path / "fac.geojson"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    r = run("--data-dir", real_data.path, "coverage", "--facilities", src, "--threshold", "2000",
            "--distance", "euclidean", "--out", tmp_path / "out")
    said = r.stdout + r.stderr
    if "Traceback" in said:
        outcome = "unclear"
    elif r.returncode != 0:
        outcome = "clear_error" if "Klinik Uden" in said and "Klinik Tom" in said else "unclear"
    else:
        outcome = "reported" if ("Klinik Uden" in said and "Klinik Tom" in said and "no geometry" in said) else "silent_loss"
    check("facilities_without_geometry", "geometry", "reported", outcome, said[:600])


# ------------------------------------------------------------------- Markdown autolinks

@pytest.mark.parametrize("name", ["https://evil.example/login", "Se www.evil.example nu", "HTTP://EVIL.EXAMPLE",
                                  "kontakt admin@evil.example", "ftp://evil.example/x"])
def test_markdown_cell_makes_no_autolink(name):
    """GFM (GitHub, GitLab, most viewers of oplande_og_daekning.md) turns a bare URL, ``www.`` name or
    e-mail address into a clickable link: a municipality or clinic name must not put a link in the report."""
    import re

    from kkr_geo.geo.safe_text import md_text
    out = md_text(name)
    linkable = re.search(r"(?i)(\w://|\bwww\.|\w@\w)", out)   # an escaped ':', '.' or '@' breaks each
    # the visible text is unchanged once Markdown's backslash escapes are read
    shown = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", out)
    check(f"markdown_autolink_{name[:12]}", AREA, "parses",
          "unescaped" if linkable or shown != name else "parses", out)


def test_access_api_does_not_drop_the_capacity_of_a_facility_without_geometry(real_data):
    """Through the Python API a facility with a null geometry vanished from 2SFCA with its capacity:
    the supply total fell without a word. It must be an error naming the facility."""
    from kkr_geo.geo.errors import KkrGeoError
    from kkr_geo.geo.coverage import facility_geometries

    fac = gpd.GeoDataFrame({"navn": ["Klinik Med", "Klinik Uden"], "kapacitet": [2.0, 5.0]},
                           geometry=[shapely.Point(724351.9, 6175804.0), None], crs=25832)
    try:
        out = facility_geometries(fac)
        outcome = "silent_loss" if len(out) < len(fac) else "parses"
        detail = f"{len(out)} of {len(fac)} kept"
    except KkrGeoError as exc:
        outcome = "clear_error" if "Klinik Uden" in str(exc) else "unclear"
        detail = str(exc)
    check("access_api_facility_without_geometry", "geometry", "clear_error", outcome, detail)


# ------------------------------------------------------------------ population raster values

def _raster(path, values):
    import rasterio
    from rasterio.transform import from_origin
    a = np.full((20, 20), 10.0, dtype="float64")
    for (r, c), v in values.items():
        a[r, c] = v
    with rasterio.open(path, "w", driver="GTiff", height=20, width=20, count=1, dtype="float64", crs="EPSG:25832",
                       transform=from_origin(723000, 6177000, 100, 100)) as d:
        d.write(a, 1)
    return path


@pytest.mark.parametrize("bad", [np.inf, 1e300])
def test_population_raster_with_an_impossible_cell_is_refused(tmp_path, bad):
    """An inf cell was read as 0 inhabitants without a word (the total fell); a 1e300 cell gave a total of
    10^300 inhabitants in the table. Both must be an error naming the raster and the cell."""
    from kkr_geo.geo.errors import KkrGeoError
    from kkr_geo.geo.population import PopulationGrid

    path = _raster(tmp_path / "pop.tif", {(1, 1): bad})
    try:
        grid = PopulationGrid.from_raster(path)
        total = float(grid.population.sum()) if hasattr(grid, "population") else float("nan")
        outcome, detail = "silent_loss", f"read, total {total:g}"
    except KkrGeoError as exc:
        outcome = "clear_error" if "pop.tif" in str(exc) and "row 1" in str(exc) else "unclear"
        detail = str(exc)
    check(f"population_raster_cell_{bad:g}", "tables", "clear_error", outcome, detail)


# ----------------------------------------------------------------------- build options

@pytest.mark.parametrize("opt", [("--dpi", "0"), ("--dpi", "-300"), ("--dpi", "100000"), ("--date", "2026-13-45"),
                                 ("--date", "2026-02-30")])
def test_build_refuses_impossible_dpi_and_dates(real_data, tmp_path, opt):
    """--dpi 0 built the maps at 300 dpi without a word, --dpi 100000 ended in 'out of memory. Use a coarser
    cell size' (wrong advice), and an impossible --date was printed on every map."""
    out = tmp_path / "out"
    r = run("--data-dir", real_data.path, "build", "--only", "stationsnaerhed", "--formats", "png",
            "--no-tiles", "--out", out, *opt)
    said = r.stdout + r.stderr
    outcome = refusal_outcome(said, r.returncode, opt[0], opt[1], must_not=("memory",))
    check(f"build_option_{opt[0][2:]}_{opt[1]}", "cli", "clear_error", outcome, said[-300:])
    assert not out.exists() or not any(out.glob("*.png"))
