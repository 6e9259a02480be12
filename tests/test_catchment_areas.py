"""Catchments made of grid cells are drawn as closed areas (maps/catchment_areas.py): every reached cell
stays inside what is drawn, the drawing has few parts at region zoom, and no figure changes."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from kkr_geo.maps.catchment_areas import cell_size_of, close_cells, closing_radius_m, drawn_areas
from kkr_geo.maps.style import catchment_band_label

CELL = 100.0
NOTES = ["distance_method: network shortest path", f"cell_size_m: {CELL}", "area_method: area of the cells reached"]


def _cells(cols_rows) -> shapely.Geometry:
    return shapely.union_all([shapely.box(700_000 + c * CELL, 6_170_000 + r * CELL, 700_000 + (c + 1) * CELL,
                                          6_170_000 + (r + 1) * CELL) for c, r in cols_rows])


def _centres(geom) -> np.ndarray:
    """The centres of the 100 m cells that make up ``geom`` (a union of grid cells)."""
    x0, y0, x1, y1 = geom.bounds
    xs = np.arange(x0 + CELL / 2, x1, CELL)
    ys = np.arange(y0 + CELL / 2, y1, CELL)
    pts = shapely.points(np.array([(x, y) for x in xs for y in ys]))
    return pts[shapely.contains(geom, pts)]


def _layer(rows, notes=NOTES):
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=25832)
    gdf.attrs.update({"title": "t", "notes": list(notes)})
    return gdf


def _along_a_road():
    # cells every other column along a "road" (gaps of one empty cell), 2 cells off the road here and there
    inner = _cells([(c, 0) for c in range(0, 20, 2)])
    outer = _cells([(c, 0) for c in range(20, 60, 2)] + [(c, 3) for c in range(0, 40, 4)])
    return _layer([{"feature": "a", "band": "0–2 km", "distance_from_m": 0.0, "distance_m": 2000.0, "population": 10.0,
                    "area_km2": inner.area / 1e6, "geometry": inner},
                   {"feature": "a", "band": "2–5 km", "distance_from_m": 2000.0, "distance_m": 5000.0, "population": 30.0,
                    "area_km2": outer.area / 1e6, "geometry": outer}])


def test_closing_radius_follows_the_band_within_cell_limits():
    assert closing_radius_m(400, CELL) == 150          # 1.5 cells at least
    assert closing_radius_m(2000, CELL) == 200         # a tenth of the distance
    assert closing_radius_m(5000, CELL) == 500         # at most 5 cells
    assert closing_radius_m(50_000, CELL) == 500


def test_closing_keeps_every_cell_and_joins_neighbours():
    cells = _cells([(c, 0) for c in range(0, 20, 2)])     # ten lone cells, one empty cell apart
    assert shapely.get_num_geometries(cells) == 10
    closed = close_cells(cells, 150)
    assert shapely.get_num_geometries(closed) == 1
    assert closed.contains(cells)
    # the closing does not grow outwards: the area lies within the cells' bounding box (plus nothing)
    assert shapely.box(*cells.bounds).buffer(1e-6).contains(closed)


def test_drawn_rings_cover_their_cells_have_few_parts_and_keep_the_figures():
    gdf = _along_a_road()
    out = drawn_areas(gdf)
    # figures, order and attributes untouched; only the geometry changes
    assert out.drop(columns="geometry").equals(gdf.drop(columns="geometry"))
    assert out.attrs == gdf.attrs
    inner, outer = out.geometry.iloc[0], out.geometry.iloc[1]
    # rings stay rings: the 2-5 km area does not overlap the 0-2 km area
    assert shapely.intersection(inner, outer).area == pytest.approx(0, abs=1e-3)
    # every reached cell centre lies in its band's drawn area or a nearer one
    within_2km = inner
    within_5km = shapely.union(inner, outer)
    assert shapely.contains(within_2km, _centres(gdf.geometry.iloc[0])).all()
    assert shapely.contains(within_5km, _centres(gdf.geometry.iloc[1])).all()
    assert shapely.get_num_geometries(gdf.geometry.iloc[1]) == 30
    assert shapely.get_num_geometries(outer) <= 3


def test_layers_not_made_of_cells_are_left_alone():
    buffer = shapely.Point(700_000, 6_170_000).buffer(400)
    gdf = _layer([{"feature": "a", "distance_m": 400.0, "population": 5.0, "geometry": buffer}],
                 notes=["distance_method: euclidean × detour factor 1.3", "cell_size_m: 100.0",
                        "area_method: exact buffer polygon area"])
    assert cell_size_of(gdf) is None
    assert drawn_areas(gdf) is gdf


def test_legend_says_what_is_drawn():
    gdf = _along_a_road()
    bands = [2000.0, 5000.0]
    assert catchment_band_label(gdf, bands, 0) == "Beboet område inden for 2 km ad vej"
    assert catchment_band_label(gdf, bands, 1) == "Beboet område 2–5 km ad vej"
    walk = _layer({"distance_m": [], "geometry": []}, notes=["distance_method: network shortest path", "cell_size_m: 100.0",
                             "area_method: area of the cells reached"])
    assert catchment_band_label(walk, [400.0, 800.0], 1) == "Beboet område 400–800 m ad vej"


# ------------------------------------------------------------------------------------------- real data

@pytest.fixture(scope="module")
def prepared(any_data):
    from kkr_geo.maps.prepare import prepare
    from kkr_geo.maps.sources import Sources
    from kkr_geo.maps.spec import load_specs
    sources = Sources(any_data)
    specs = {s.name: s for s in load_specs(only=["brt_oplande", "parker_og_rejs", "stationsnaerhed"])}
    return {name: prepare(spec, sources) for name, spec in specs.items()}, sources


@pytest.mark.devdata  # also in the devdata pass, where the catchments are network cells
@pytest.mark.parametrize("name,layer", [("brt_oplande", "opl"), ("parker_og_rejs", "opl"), ("stationsnaerhed", "naer")])
def test_real_catchments_are_drawn_as_areas_covering_every_reached_cell(prepared, name, layer):
    pms, _ = prepared
    lay = pms[name].layer(layer)
    cells = lay.rows[~(lay.rows.geometry.isna() | lay.rows.geometry.is_empty)]
    if cell_size_of(cells) is None:
        pytest.skip("this data directory has no road network: the catchments are buffers, not cells")
    drawn = lay.gdf
    assert len(drawn) == len(cells)
    key = "feature" if "feature" in cells.columns else None
    for k in (pd_unique(cells[key]) if key else [None]):
        mine = cells if k is None else cells[cells[key] == k]
        shown = drawn if k is None else drawn[drawn[key] == k]
        order = np.argsort(mine["distance_m" if "distance_m" in mine.columns else "afstand_m"].to_numpy())
        acc = shapely.Polygon()
        for i in order:
            acc = shapely.union(acc, shown.geometry.iloc[i])
            centres = _centres(mine.geometry.iloc[i])
            assert shapely.contains(acc, centres).all(), (name, k, i)
        # at region zoom a band is a handful of areas, not a spray of cells
        parts_cells = sum(shapely.get_num_geometries(g) for g in mine.geometry)
        parts_drawn = sum(shapely.get_num_geometries(g) for g in shown.geometry)
        # (lone cells farther apart than the closing radius stay separate; one zone per station at most)
        assert parts_drawn <= max(8, parts_cells // 2), (name, k, parts_cells, parts_drawn)
        print(name, k, parts_cells, "->", parts_drawn)


def pd_unique(series):
    return list(dict.fromkeys(series.tolist()))


@pytest.mark.parametrize("name", ["brt_oplande", "parker_og_rejs"])
def test_figures_do_not_change_with_the_drawing(prepared, name, monkeypatch):
    import kkr_geo.maps.prepare as prep
    from kkr_geo.maps.spec import load_specs
    pms, sources = prepared
    monkeypatch.setattr(prep, "drawn_areas", lambda gdf: gdf)
    undrawn = prep.prepare(load_specs(only=[name])[0], sources)
    (title, heads, rows), (title0, heads0, rows0) = pms[name].figures(), undrawn.figures()
    assert (title, heads, [(r.name, r.note) for r in rows]) == (title0, heads0, [(r.name, r.note) for r in rows0])
    np.testing.assert_array_equal([r.values for r in rows], [r.values for r in rows0])  # NaN = "ikke opgjort" too
    assert any(np.isfinite(r.values).any() for r in rows)
    lay, raw = pms[name].layer("opl"), undrawn.layer("opl")
    assert lay.gdf.drop(columns="geometry").equals(raw.gdf.drop(columns="geometry"))
