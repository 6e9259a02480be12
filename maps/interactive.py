"""Interactive maps (folium/Leaflet) as one self-contained HTML file per map.

Leaflet's JavaScript and CSS are inlined (:mod:`maps.inline`); the only network use is the
background tiles, and ``tiles=False`` draws boundaries only. Geometry is simplified for display
and coordinates are rounded so a region-wide map stays well under 3 MB. Every user string in
tooltips, popups, the legend and the title is HTML-escaped here (:mod:`kkr_geo.geo.safe_text`), and
no user string ever reaches folium's template engine: folium only sees inert tokens, and the content
is put in after rendering (:mod:`kkr_geo.maps.slots`).
"""

from __future__ import annotations

from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.template import Template

from kkr_geo.geo.io import write_text_atomic
from kkr_geo.geo.safe_text import html_text as esc
from kkr_geo.geo.safe_text import script_json
from kkr_geo.maps.danish_numbers import fmt_population_approx, fmt_value
from kkr_geo.maps.inline import inline_assets, stable_ids
from kkr_geo.maps.prepare import PreparedMap
from kkr_geo.maps.slots import Slots
from kkr_geo.maps.catchment_areas import cell_size_of
from kkr_geo.maps.style import COLOURS, band_column, catchment_band_label, catchment_bands, catchment_colour, flow_width_scale, legend_entries

LEAFLET_JS_URL = "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js"
LEAFLET_CSS_URL = "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.css"
SIZE_BUDGET_BYTES = 3 * 1024 * 1024
DISPLAY_TOLERANCE_M = {"choropleth": 25.0, "fill": 40.0, "context": 60.0, "outline": 25.0, "catchment": 15.0,
                       "gap": 15.0, "line": 5.0, "flow": 20.0, "point": 0.0}
COORD_DECIMALS = 5  # ~1 m


def _json(obj) -> str:
    """JSON safe to embed in a <script> block."""
    return script_json(obj)


def _round_coords(geom):
    return shapely.transform(geom, lambda c: np.round(c, COORD_DECIMALS))


def display_geometry(gdf: gpd.GeoDataFrame, tolerance_m: float) -> gpd.GeoSeries:
    """Simplify in EPSG:25832 (topology-preserving per feature), reproject to WGS84, round coordinates."""
    geoms = gdf.geometry
    if tolerance_m > 0:
        geoms = geoms.simplify(tolerance_m, preserve_topology=True)
    geoms = geoms.to_crs(4326)
    return gpd.GeoSeries([_round_coords(g) for g in geoms], index=gdf.index, crs=4326)


def _decimals_for(pm: PreparedMap, column: str):
    ind = pm.spec.indicator
    if ind is not None and column == ind.column:
        return ind.decimals
    return None


def _rows_html(pairs) -> str:
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in pairs)
    return f"<table class=\"kkr-tip\">{rows}</table>"


def _feature_html(pm, lay, row, columns, *, heading: str | None, names: dict | None = None) -> str:
    pairs = []
    names = lay.spec.tooltip_names if names is None else names
    for col in columns:
        name = names.get(col, col)
        pairs.append((name, fmt_value(row.get(col), _decimals_for(pm, col))))
    head = f"<div class=\"kkr-tip-head\">{esc(heading)}</div>" if heading else ""
    return head + (_rows_html(pairs) if pairs else "")


class GeoJsonLayer(folium.map.Layer):
    """A GeoJSON overlay whose tooltips/popups are pre-escaped HTML strings in the properties.

    ``data``, ``base_style`` and ``name`` are slot tokens (:class:`Slots`), never the content itself.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.geoJSON({{ this.data }}, {
    style: function (f) { return Object.assign({}, {{ this.base_style }}, f.properties._s || {}); },
    pointToLayer: function (f, ll) { return L.circleMarker(ll, Object.assign({}, {{ this.base_style }}, f.properties._s || {})); },
    onEachFeature: function (f, l) {
        if (f.properties._t) { l.bindTooltip(f.properties._t, {sticky: true}); }
        if (f.properties._p) { l.bindPopup(f.properties._p, {maxWidth: 340}); }
    }
});
{{ this.get_name() }}.addTo({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self, data: dict, base_style: dict, label: str, slots: Slots, show: bool = True, control: bool = True):
        # LayerControl writes the name with |tojson and Leaflet inserts it as HTML: escaped HTML in a JS string
        super().__init__(name=slots.js_string(esc(label)) if control else None, overlay=True, control=control, show=show)
        self._name = "geo_json_layer"
        self.data = slots.js_value(data)
        self.base_style = slots.js_value(base_style)


class _ViewLinks(MacroElement):
    """Fit the map to its extent so no part of it lies under the title box or the buttons at the bottom,
    at load, on resize (a phone turned) and for the links in the title box (``data-kkr-bounds``); no
    inline event handlers. ``window.kkrFit`` (bounds) is the one fitting function, ``window.kkrMap`` the map."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function (map) {
    var main = {{ this.bounds }};
    function padding() {
        var box = map.getContainer().getBoundingClientRect();
        var top = 10, bottom = 10, right = 10;
        var title = document.querySelector(".kkr-title");
        if (title) {
            var t = title.getBoundingClientRect();
            if (t.height > 0) { top = Math.max(top, t.bottom - box.top + 8); }
        }
        var legend = document.getElementById("kkr-legend-box");
        var beside = legend && legend.open;  // an open legend (wide screens) stands at the right: keep clear of it
        if (beside) { right = Math.max(right, box.right - legend.getBoundingClientRect().left + 6); }
        var table = document.querySelector("details.kkr-table");
        var left = 10;  // an open table (wide screens) stands at the left
        if (table && table.open) { left = Math.max(left, table.getBoundingClientRect().right - box.left + 6); }
        document.querySelectorAll((beside ? "" : ".kkr-legend-box > summary, ") + ".kkr-data > summary"
                                  + (table && table.open ? "" : ", .kkr-table > summary")).forEach(function (el) {
            var r = el.getBoundingClientRect();
            if (r.height > 0) { bottom = Math.max(bottom, box.bottom - r.top + 6); }
        });
        // never more padding than leaves a third of the map to draw in
        top = Math.min(top, box.height / 3); bottom = Math.min(bottom, box.height / 3);
        right = Math.min(right, box.width / 3); left = Math.min(left, box.width / 2, box.width - right - 300);
        return {paddingTopLeft: [left, top], paddingBottomRight: [right, bottom]};
    }
    function fit(bounds, animate) {
        var opts = padding(); opts.animate = animate !== false; map.fitBounds(bounds, opts);
    }
    window.kkrFit = fit; window.kkrMap = map;
    document.querySelectorAll("a[data-kkr-bounds]").forEach(function (a) {
        a.addEventListener("click", function (e) {
            e.preventDefault();
            fit(JSON.parse(a.getAttribute("data-kkr-bounds")));
        });
    });
    fit(main, false);
    // again once the small-screen layout is set (legend and table closed, title folded: maps/html_access.py,
    // whose DOMContentLoaded handler was registered first) and when fonts and images are in
    document.addEventListener("DOMContentLoaded", function () { fit(main, false); });
    window.addEventListener("load", function () { fit(main, false); });
    var last = [window.innerWidth, window.innerHeight];
    window.addEventListener("resize", function () {
        if (window.innerWidth !== last[0] || window.innerHeight !== last[1]) {
            last = [window.innerWidth, window.innerHeight]; map.invalidateSize(); fit(main, false);
        }
    });
})({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self, bounds: list[list[float]]):
        super().__init__()
        self._name = "view_links"
        self.bounds = _json([[float(v) for v in p] for p in bounds])


class _MetricScale(MacroElement):
    _template = Template("""
{% macro script(this, kwargs) %}
L.control.scale({imperial: false, position: "bottomleft"}).addTo({{ this._parent.get_name() }});
{% endmacro %}
""")


def _base_style(lay) -> dict:
    s = lay.spec
    colour = s.colour or COLOURS.get(s.style, "#333333")
    if s.style == "choropleth":
        return {"color": "#ffffff", "weight": 0.8, "fillOpacity": 0.85, "opacity": 1}
    if s.style in ("fill", "context"):
        return {"color": "#bdbdbd", "weight": 0.6, "fillColor": colour, "fillOpacity": 0.7}
    if s.style == "outline":
        return {"color": colour, "weight": (s.width or 0.8) * 1.5, "fill": False}
    if s.style == "line":
        style = {"color": colour, "weight": (s.width or 2.0) * 2, "opacity": 0.9}
        if lay.schematic:
            style["dashArray"] = "10 6"
        return style
    if s.style == "point":
        return {"radius": s.size or 6, "color": "#ffffff", "weight": 1.5, "fillColor": colour, "fillOpacity": 1}
    if s.style == "catchment":
        # a thin outline in the band's colour keeps small areas visible at region zoom
        return {"stroke": True, "weight": 1, "opacity": 0.9, "fillOpacity": 0.45}
    if s.style == "gap":
        return {"color": colour, "weight": 1, "fillColor": colour, "fillOpacity": 0.35, "dashArray": "3 3"}
    if s.style == "flow":
        return {"color": colour, "opacity": 0.75, "fillColor": colour, "fillOpacity": 0.85, "weight": 2}
    return {"color": colour}


def _feature_collection(pm: PreparedMap, lay) -> dict:
    gdf = lay.gdf
    tol = DISPLAY_TOLERANCE_M.get(lay.style, 20.0)
    geoms = display_geometry(gdf, tol)
    cls = pm.classification if lay.style == "choropleth" else None
    bcol = band_column(gdf) if lay.style == "catchment" else None
    bands = catchment_bands(gdf) if bcol else []
    cells = cell_size_of(gdf) is not None
    scale = flow_width_scale(gdf["antal"]) if lay.style == "flow" and "antal" in gdf.columns else None
    head_col = next((c for c in ("beskrivelse", "navn", "projekt", "planomraade", "feature") if c in gdf.columns), None)
    features = []
    order = list(range(len(gdf)))
    if bcol:  # far bands first, near bands on top
        order = sorted(order, key=lambda i: -float(pd.to_numeric(gdf[bcol].iloc[i], errors="coerce") or 0))
    for i in order:
        row = gdf.iloc[i]
        geom = geoms.iloc[i]
        if geom is None or geom.is_empty:
            continue
        props: dict = {}
        style: dict = {}
        if cls is not None:
            style["fillColor"] = cls.colour_of(int(cls.classes[i]))
        if bcol:
            style["fillColor"] = style["color"] = catchment_colour(gdf, row[bcol])
        if scale is not None and "Line" in geom.geom_type:
            style["weight"] = round(scale(row["antal"]) * 1.5, 2)
        if style:
            props["_s"] = style
        heading = str(row[head_col]) if head_col and pd.notna(row[head_col]) else lay.label
        tip_cols = list(lay.spec.tooltip)
        tip_names = dict(lay.spec.tooltip_names)  # a copy: renderers never write into the spec
        if bcol and not tip_cols:
            b = bands.index(row[bcol]) if row[bcol] in bands else 0
            heading = f"{heading} · {catchment_band_label(gdf, bands, b)}"
            tip_cols = [c for c in ("population", "area_km2") if c in gdf.columns]
            tip_names.setdefault("population", "Befolkning")
            tip_names.setdefault("area_km2", "Areal af de beboede celler (km²)" if cells else "Areal (km²)")
        if tip_cols or heading:
            props["_t"] = _feature_html(pm, lay, row, tip_cols, heading=heading, names=tip_names)
        popup_cols = lay.spec.popup or tip_cols
        if lay.spec.popup or lay.style in ("choropleth", "point", "line"):
            extra = []
            if lay.schematic:
                extra.append("<div class=\"kkr-note\">Skematisk linjeføring – ikke præcis placering</div>")
            props["_p"] = _feature_html(pm, lay, row, popup_cols, heading=heading, names=tip_names) + "".join(extra)
        features.append({"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)})
    return {"type": "FeatureCollection", "features": features}


def _legend_html(pm: PreparedMap) -> str:
    parts = []
    for e in legend_entries(pm):
        label = esc(e.label)
        if e.kind == "header":
            parts.append(f"<div class=\"kkr-lh\">{label}</div>")
        elif e.kind in ("patch", "hatch"):
            extra = "background-image:repeating-linear-gradient(45deg,transparent 0 3px,rgba(0,0,0,.35) 3px 4px);" if e.kind == "hatch" else ""
            parts.append(f"<div class=\"kkr-li\"><span class=\"kkr-sw\" style=\"background:{esc(e.colour)};opacity:{e.alpha};"
                         f"{extra}border-color:{esc(e.edge or e.colour)}\"></span>{label}</div>")
        elif e.kind == "note":
            parts.append(f"<div class=\"kkr-lnote\">{label}</div>")
        elif e.kind == "line":
            dash = "dashed" if e.dashed else "solid"
            parts.append(f"<div class=\"kkr-li\"><span class=\"kkr-ln\" style=\"border-top:{max(1, round(e.width * 1.5))}px {dash} "
                         f"{esc(e.colour)}\"></span>{label}</div>")
        else:
            parts.append(f"<div class=\"kkr-li\"><span class=\"kkr-pt\" style=\"background:{esc(e.colour)}\"></span>{label}</div>")
    figures = pm.figures()
    if figures:
        ftitle, heads, rows = figures
        # a row's note ("kun regionens del") goes under its name: an extra cell had no header and ran out of the panel
        body = "".join("<tr><th>" + esc(r.name) + (f"<br><small>({esc(r.note)})</small>" if r.note else "") + "</th>"
                       + ("".join(f"<td>{esc(fmt_population_approx(v) if v == v else 'ikke opgjort')}</td>" for v in r.values)
                          if any(v == v for v in r.values) else f"<td colspan=\"{len(heads)}\">ikke opgjort</td>")
                       + "</tr>" for r in rows)
        head = "<tr><th></th>" + "".join(f"<td><b>{esc(h)}</b></td>" for h in heads) + "</tr>"
        parts.append(f"<div class=\"kkr-lh\">{esc(ftitle)}</div><table class=\"kkr-tip kkr-fig\">{head}{body}</table>")
    foot = [esc(t) for t in (pm.source_line, pm.date_line, *pm.notes) if t]
    if foot:
        parts.append("<div class=\"kkr-src\">" + "<br>".join(foot) + "</div>")
    return "<div class=\"kkr-legend\" id=\"kkr-legend\">" + "".join(parts) + "</div>"


_CSS = """
<style>
.kkr-title{position:absolute;top:10px;left:56px;z-index:1000;background:rgba(255,255,255,.93);padding:6px 12px;
 border:1px solid #bdbdbd;border-radius:3px;font:14px/1.3 'DejaVu Sans',Arial,sans-serif;max-width:60%;}
.kkr-title h1{font-size:17px;margin:0;font-weight:bold}.kkr-title p{margin:2px 0 0;color:#333}
.kkr-title .kkr-views a{margin-right:10px;font-size:12px;color:#08519c;cursor:pointer;text-decoration:underline}
.kkr-legend{position:absolute;bottom:24px;right:10px;z-index:1000;background:rgba(255,255,255,.94);padding:8px 10px;
 border:1px solid #bdbdbd;border-radius:3px;font:12px/1.35 'DejaVu Sans',Arial,sans-serif;max-width:300px;max-height:70%;overflow:auto}
.kkr-lh{font-weight:bold;margin:4px 0 3px}.kkr-li{display:flex;align-items:center;margin:2px 0}
.kkr-sw{display:inline-block;width:18px;height:12px;margin-right:7px;border:1px solid #808080;flex:none}
.kkr-ln{display:inline-block;width:24px;height:0;margin-right:7px;flex:none}
.kkr-pt{display:inline-block;width:10px;height:10px;border-radius:50%;margin:0 11px 0 5px;border:1px solid #fff;box-shadow:0 0 0 1px #888;flex:none}
.kkr-src{margin-top:6px;color:#444;font-size:10.5px;border-top:1px solid #ddd;padding-top:4px}
table.kkr-tip{border-collapse:collapse;font-size:12px}table.kkr-tip th{text-align:left;padding:1px 8px 1px 0;font-weight:normal;color:#555}
table.kkr-tip td{text-align:right;padding:1px 0 1px 8px}.kkr-tip-head{font-weight:bold;margin-bottom:2px}.kkr-note{color:#a63603;font-size:11px;margin-top:4px}
.leaflet-container{background:#f4f7fa !important}
</style>
"""


def _bounds_latlon(extent) -> list[list[float]]:
    box = gpd.GeoSeries([shapely.box(*extent)], crs=25832).to_crs(4326).total_bounds
    return [[round(float(box[1]), 5), round(float(box[0]), 5)], [round(float(box[3]), 5), round(float(box[2]), 5)]]


def build_map(pm: PreparedMap, *, tiles: bool | None = None, slots: Slots | None = None) -> folium.Map:
    """The folium map; user content is in ``slots`` (tokens in the map) until :meth:`Slots.fill`."""
    slots = slots if slots is not None else Slots()
    spec = pm.spec
    tiles = spec.tiles if tiles is None else tiles
    main = _bounds_latlon(pm.screen_extent or pm.extent)
    centre = [(main[0][0] + main[1][0]) / 2, (main[0][1] + main[1][1]) / 2]
    m = folium.Map(location=centre, zoom_start=9, tiles=None, control_scale=False, prefer_canvas=False,
                   zoom_snap=0.1, zoom_delta=0.5)  # fine snap: the region fills a phone
    m.default_js = [("leaflet", LEAFLET_JS_URL)]
    m.default_css = [("leaflet_css", LEAFLET_CSS_URL)]
    if tiles:
        folium.TileLayer("OpenStreetMap", name="Baggrundskort (OpenStreetMap)", control=True, opacity=0.6).add_to(m)
    for lay in pm.layers:
        data = _feature_collection(pm, lay)
        GeoJsonLayer(data, _base_style(lay), lay.label, slots, show=lay.spec.show,
                     control=lay.style != "context").add_to(m)
    folium.LayerControl(collapsed=True, position="topright").add_to(m)  # small screens: the map first
    _MetricScale().add_to(m)
    _ViewLinks(main).add_to(m)

    views = [f"<a href=\"#\" data-kkr-bounds=\"{esc(_json(main))}\">Hovedstadsområdet</a>"]
    if pm.detail_extent is not None:
        views.append(f"<a href=\"#\" data-kkr-bounds=\"{esc(_json(_bounds_latlon(pm.detail_extent)))}\">København og Frederiksberg</a>")
    if pm.inset_extent is not None:
        views.append(f"<a href=\"#\" data-kkr-bounds=\"{esc(_json(_bounds_latlon(pm.inset_extent)))}\">Bornholm</a>")
    # on a phone the subtitle and the view links fold away behind "Mere" (maps/html_access.py)
    more = ("<div class=\"kkr-more\" id=\"kkr-title-more\">" + (f"<p>{esc(spec.subtitle)}</p>" if spec.subtitle else "")
            + "<div class=\"kkr-views\">Vis: " + "".join(views) + "</div></div>")
    title = (f"<h1>{esc(spec.title)}</h1><button type=\"button\" class=\"kkr-more-btn\" aria-expanded=\"false\" "
             f"aria-controls=\"kkr-title-more\">Mere om kortet</button>" + more)
    root = m.get_root()
    # Only inert tokens pass through branca/Jinja; the markup is put in by Slots.fill after rendering.
    root.header.add_child(Element(slots.markup(_CSS)), name="kkr_css")
    root.html.add_child(Element(slots.markup(f"<div class=\"kkr-title\">{title}</div>")), name="kkr_title")
    _add_access(root, pm, slots)
    if getattr(pm, "table", None) is not None:
        from kkr_geo.maps.table import table_html
        root.html.add_child(Element(slots.markup(table_html(pm.table))), name="kkr_table")
    if not tiles:
        note = "Ingen baggrundskort: kun grænser."
        root.html.add_child(Element(slots.markup(f"<div style=\"display:none\" id=\"kkr-notiles\">{esc(note)}</div>")),
                            name="kkr_nt")
    return m


def _add_access(root, pm: PreparedMap, slots: Slots) -> None:
    """Legend in a toggle box, "Tal bag kortet" tables, keyboard and small-screen fixes (maps/html_access.py);
    the markup goes in through ``slots`` like every other piece of the page."""
    from kkr_geo.maps import html_access
    root.header.add_child(Element(slots.markup(html_access.ACCESS_CSS)), name="kkr_access_css")
    root.html.add_child(Element(slots.markup(html_access.legend_box(_legend_html(pm)))), name="kkr_legend")
    root.html.add_child(Element(slots.markup(html_access.data_section(pm))), name="kkr_data")
    root.html.add_child(Element(slots.markup(html_access.ACCESS_JS)), name="kkr_access_js")


def render_html(pm: PreparedMap, path: str | Path, *, tiles: bool | None = None) -> int:
    """Write the self-contained HTML map; returns its size in bytes."""
    slots = Slots()
    m = build_map(pm, tiles=tiles, slots=slots)
    html = m.get_root().render()
    # post-process the template output while it holds no user content, then put the content in
    html = stable_ids(inline_assets(html))
    title = slots.markup(esc(pm.spec.title))
    html = html.replace("<head>", f"<head>\n<title>{title}</title>\n<meta name=\"generator\" content=\"kkr-geo\">", 1)
    html = html.replace("<html>", "<html lang=\"da\">", 1)
    html = slots.fill(html)
    write_text_atomic(path, html)
    return len(html.encode("utf-8"))
