"""Every output of a map is made from the same prepared map (issue 21).

One build of EVERY map, with a clinic file and a flow table added to the data directory (the development data when
present, else the synthetic folder), so that no map is skipped for want of input. Checked on it:

- every map built has a non-empty figure CSV (``<map>_tal.csv``) and a figure table in its annex PDF, the clinic
  coverage map included (its coverage table was handed to the renderers before it was made);
- the GeoPackage holds what the maps draw (see ``test_geopackage_holds_what_each_map_draws``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from kkr_geo.maps.annex import annex_path
from kkr_geo.maps.annex_set import CSV_SUFFIX
from kkr_geo.maps.build import GPKG_NAME, build
from kkr_geo.maps.sources import Sources
from kkr_geo.maps.spec import load_specs
from conftest import weasyprint_or_fail

DPI = 30
SYNTH_INPUTS = ("klinikker", "flows")   # the synthetic folder's clinic file and flow table (real municipality names)


@pytest.fixture(scope="module")
def every_map(any_data, synth_data, tmp_path_factory):
    """Build every shipped map (PNG + PDF, so every annex PDF is made) and the GeoPackage."""
    weasyprint_or_fail()
    data = tmp_path_factory.mktemp("data")
    for entry in any_data.path.iterdir():
        os.symlink(entry, data / entry.name)
    for name in SYNTH_INPUTS:
        if not (data / name).exists():
            os.symlink(synth_data.path / name, data / name)
    out = tmp_path_factory.mktemp("every_map")
    sources = Sources(data)
    report = build(data, out, dpi=DPI, formats=["png", "pdf"], sources=sources, jobs=2)
    return report, out, sources, any_data.path != synth_data.path


def _struct_tables(pdf: Path) -> list[int]:
    """Per /Table structure element of a tagged PDF, its number of data cells (/TD)."""
    import pikepdf

    def walk(node, found):
        kids = node.get("/K")
        items = kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []
        for kid in items:
            if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
                found.append(kid)
                walk(kid, found)

    with pikepdf.open(pdf) as doc:
        found: list = []
        walk(doc.Root.StructTreeRoot, found)
        tables = []
        for el in found:
            if str(el.S) == "/Table":
                cells: list = []
                walk(el, cells)
                tables.append(sum(1 for c in cells if str(c.S) == "/TD"))
        return tables


def test_every_map_is_built_with_a_figure_csv_and_an_annex_table(every_map):
    report, out, _, real = every_map
    specs = [s.name for s in load_specs(None, None)]
    # with the development data every map is built; the synthetic folder has no table of the mobility projects
    expected_skips = set() if real else {"mobilitetsprojekter_oversigt"}
    assert {m.name for m in report.skipped} == expected_skips, [(m.name, m.skipped) for m in report.skipped]
    built = [m.name for m in report.built]
    assert "klinik_daekningshuller" in built and len(built) == len(specs) - len(expected_skips)
    for name in built:
        csv = out / f"{name}{CSV_SUFFIX}"
        assert csv.exists(), f"{name}: no figure CSV"
        lines = [line for line in csv.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
        assert len(lines) >= 2, f"{name}: the figure CSV has no rows"
        pdf = annex_path(out, name)
        assert pdf.exists(), f"{name}: no annex PDF"
        tables = _struct_tables(pdf)
        assert tables and max(tables) > 0, f"{name}: the annex PDF has no figure table"


def test_clinic_coverage_figures_are_the_coverage_analysis(every_map):
    """The clinic map's CSV lists every municipality of the coverage analysis, with its population beyond 2 km."""
    report, out, sources, _ = every_map
    table = sources.result("klinik_daekningshuller").tables["main"]
    kommuner = table[table["area_type"] == "kommune"]
    text = (out / f"klinik_daekningshuller{CSV_SUFFIX}").read_text(encoding="utf-8-sig")
    rows = {line.split(";")[0].strip('"'): line.split(";") for line in text.splitlines()[1:] if line}
    assert set(kommuner["area_name"].astype(str)) <= set(rows)
    for rec in kommuner.itertuples(index=False):
        assert int(rows[str(rec.area_name)][2]) == round(rec.population_beyond), rec.area_name


# ------------------------------------------------------------------------------ the GeoPackage holds what the maps draw

def _gpkg(out: Path):
    import pyogrio
    path = out / GPKG_NAME
    return path, {str(n): t for n, t in pyogrio.list_layers(path) if str(n) != "layer_styles"}


def test_geopackage_holds_what_each_map_draws(every_map):
    """Per map and drawn layer: the features drawn are the features of the source's GeoPackage table (the same
    filter applied to it; a source mixing geometry types: its feature table of the drawn
    geometry type). Drawing devices (flow arrowheads) are not data."""
    import pyogrio
    from kkr_geo.layers.export import PART_SUFFIX, data_rows
    from kkr_geo.maps.prepare import _apply_filter, prepare

    report, out, sources, _ = every_map
    path, layers = _gpkg(out)
    specs = {s.name: s for s in load_specs(None, None, known_sources=sources.names())}
    family = {"Polygon": "polygon", "MultiPolygon": "polygon", "LineString": "line", "MultiLineString": "line",
              "Point": "point", "MultiPoint": "point"}
    checked = 0
    for outcome in report.built:
        pm = prepare(specs[outcome.name], sources)
        for lay in pm.layers:
            drawn = data_rows(lay.gdf)
            src = lay.spec.source
            if src in layers and layers[src] is not None:
                table = src
            else:
                fams = {family[t] for t in drawn.geom_type}
                assert len(fams) <= 1, (outcome.name, lay.spec.id, fams)
                table = f"{src}_{PART_SUFFIX[fams.pop()]}" if fams else src
            assert table in layers, f"{outcome.name}: layer {lay.spec.id} ({src}) is not in the GeoPackage"
            if layers[table] is None:   # nothing drawn of a table without geometry
                assert len(drawn) == 0
                continue
            got = pyogrio.read_dataframe(path, layer=table)
            got = _apply_filter(got, lay.spec.filter, table)
            got = got[~(got.geometry.isna() | got.geometry.is_empty)]
            assert len(got) == len(drawn), (outcome.name, lay.spec.id, table, len(got), len(drawn))
            checked += 1
    assert checked >= len(report.built)


def test_supercykelstier_lines_reach_the_geopackage(every_map, any_data):
    import geopandas as gpd
    import pyogrio
    kk = any_data.path / "supercykelstier" / "eksisterende_kk_cykeldata.geojson"
    if not kk.exists():
        pytest.skip("no Københavns Kommune line file in this data directory")
    _, out, _, _ = every_map
    lines = gpd.read_file(kk)
    expected = int((lines["kategori"].astype(str) == "Supercykelsti").sum()) if "kategori" in lines else len(lines)
    assert expected > 0
    assert pyogrio.read_info(out / GPKG_NAME, layer="supercykelstier")["features"] == expected


def test_every_mobility_project_is_an_attribute_table_row(every_map):
    import sqlite3

    import pyogrio
    report, out, sources, real = every_map
    if not real:
        pytest.skip("the synthetic folder has no table of the mobility projects")
    path, layers = _gpkg(out)
    projects = sources.get("mobilitetsprojekter")
    source_rows = pd.read_csv(sources.data_dir.path / "mobilitet" / "mobilitetsanalyse_33_projekter.csv", sep=";",
                              dtype=str)
    assert layers["mobilitetsprojekter"] is None          # an attribute table: no geometry
    table = pyogrio.read_dataframe(path, layer="mobilitetsprojekter", read_geometry=False)
    assert sorted(table["nr"].astype(int)) == sorted(source_rows["nr"].str.strip().astype(int))
    assert len(table) == len(projects)
    unplaced = table[table["geometri"] == "ingen"]
    assert len(unplaced) == int((projects.geometry.isna() | projects.geometry.is_empty).sum()) > 0
    with sqlite3.connect(path) as con:
        kind, description = con.execute("SELECT data_type, description FROM gpkg_contents WHERE table_name = ?",
                                        ("mobilitetsprojekter",)).fetchone()
        descriptions = dict(con.execute("SELECT table_name, description FROM gpkg_contents").fetchall())
    assert kind == "attributes"
    # metadata names source and licence, for the tables of the maps' layers too
    assert "Source: " in description and "Licence: " in description
    for name in ("kommuner", "supercykelstier", "mobilitetsprojekter_linjer"):
        assert "Source: " in descriptions[name] and "Licence: " in descriptions[name], name
