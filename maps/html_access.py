"""Accessibility and small-screen layout of the HTML maps.

* the legend sits in a ``<details>`` box ("Signaturforklaring") that starts closed below 1100 px, so on a
  phone or tablet the map is visible first; its scrolling area can be reached with the keyboard; a map's
  table (spec ``table:``) starts closed there too, behind a short "Tabel (n rækker)" button;
* on a phone (600 px or less) the title box shows the title only; the subtitle and the view links fold
  away behind a "Mere om kortet" button (``aria-expanded``); the map is fitted below the title box
  (``maps/interactive.py``), so the whole region is in view when the page opens;
* "Tal bag kortet": every figure a tooltip shows, as HTML tables (nothing is hover-only), plus the
  catchment figures;
* the layer control starts collapsed; the view links and every toggle are keyboard-reachable;
* CSS for 375-1400 px wide screens with AA contrast.

Every user string goes through :func:`kkr_geo.geo.safe_text.html_text`; the markup enters the page via
:class:`kkr_geo.maps.slots.Slots` like the rest of the page (see ``maps/interactive.py``).
"""

from __future__ import annotations

from kkr_geo.geo.safe_text import html_text as esc
from kkr_geo.maps.danish_numbers import fmt_population_approx, fmt_value
from kkr_geo.maps.prepare import PreparedMap

SMALL_SCREEN_PX = 1100
PHONE_PX = 600
LEGEND_SUMMARY = "Signaturforklaring"
DATA_SUMMARY = "Tal bag kortet"

ACCESS_CSS = f"""
<style>
.kkr-legend-box{{position:absolute;bottom:24px;right:10px;z-index:1001;max-width:min(320px,calc(100vw - 20px));
 font:12px/1.35 'DejaVu Sans',Arial,sans-serif}}
.kkr-legend-box .kkr-legend{{position:static;max-width:none;max-height:min(60vh,560px);margin-top:4px}}
.kkr-legend-box > summary,.kkr-data > summary{{cursor:pointer;background:#fff;color:#1a1a1a;border:1px solid #595959;
 border-radius:3px;padding:6px 10px;font:bold 13px/1.2 'DejaVu Sans',Arial,sans-serif;width:max-content;margin-left:auto}}
.kkr-data > summary{{margin-left:0}}
.kkr-legend-box > summary:focus-visible,.kkr-data > summary:focus-visible,.kkr-views a:focus-visible,
.kkr-legend:focus-visible,.kkr-data-body:focus-visible{{outline:3px solid #08519c;outline-offset:2px}}
.kkr-data{{position:absolute;bottom:44px;left:10px;z-index:1001;max-width:min(460px,calc(100vw - 20px));
 font:12px/1.35 'DejaVu Sans',Arial,sans-serif}}
.kkr-data-body{{background:rgba(255,255,255,.97);border:1px solid #bdbdbd;border-radius:3px;padding:6px 10px;
 margin-top:4px;max-height:min(55vh,520px);overflow:auto}}
.kkr-data table{{border-collapse:collapse;margin:2px 0 10px}}
.kkr-data caption{{text-align:left;font-weight:bold;padding:2px 0 4px}}
.kkr-data th,.kkr-data td{{padding:2px 8px 2px 0;text-align:left;vertical-align:top;border-bottom:1px solid #e0e0e0}}
.kkr-data td.kkr-num{{text-align:right;white-space:nowrap}}
table.kkr-fig td{{white-space:nowrap}}
.kkr-lnote{{color:#404040;font-size:11px;margin:2px 0}}
.kkr-title .kkr-views a{{color:#08519c}}
.kkr-more-btn{{display:none}}
.kkr-table-short{{display:none}} .kkr-table-cap{{display:none}}
@media (max-width:{SMALL_SCREEN_PX - 1}px){{
 .kkr-title{{max-width:calc(100vw - 130px)}}
 .kkr-table-short{{display:inline}} .kkr-table-long{{display:none}}
 .kkr-table-cap{{display:table-caption;text-align:left;font-weight:bold;padding:2px 0 4px}}
 .kkr-table{{max-width:calc(100vw - 20px) !important}}
 .kkr-table > summary{{padding:4px 2px}}
}}
@media (max-width:{PHONE_PX}px){{
 .kkr-title{{left:50px;right:56px;max-width:none;padding:3px 8px;font-size:12px}}
 .kkr-title h1{{font-size:13px;line-height:1.25}} .kkr-title p{{font-size:11px}}
 .kkr-title .kkr-more{{display:none}} .kkr-title.kkr-open .kkr-more{{display:block}}
 .kkr-more-btn{{display:inline-block;margin-top:3px;padding:2px 8px;font:12px/1.3 'DejaVu Sans',Arial,sans-serif;
  color:#08519c;background:#fff;border:1px solid #595959;border-radius:3px;cursor:pointer}}
 .kkr-more-btn:focus-visible{{outline:3px solid #08519c;outline-offset:2px}}
 .kkr-data{{bottom:40px}}
}}
</style>
"""

# Runs once the page is built: small screens start with the legend closed; the view links become real
# keyboard controls; Leaflet's layer toggle gets a Danish name.
ACCESS_JS = f"""
<script>
(function () {{
  function ready() {{
    var box = document.getElementById('kkr-legend-box');
    var small = window.matchMedia('(max-width: {SMALL_SCREEN_PX - 1}px)').matches;
    if (box && small) {{ box.open = false; }}
    if (small) {{ Array.prototype.forEach.call(document.querySelectorAll('details.kkr-table'), function (d) {{ d.open = false; }}); }}
    Array.prototype.forEach.call(document.querySelectorAll('.kkr-more-btn'), function (b) {{
      b.addEventListener('click', function () {{
        var title = b.closest('.kkr-title'); var open = !title.classList.contains('kkr-open');
        title.classList.toggle('kkr-open', open); b.setAttribute('aria-expanded', open ? 'true' : 'false');
        b.textContent = open ? 'Skjul' : 'Mere om kortet';
      }});
    }});
    Array.prototype.forEach.call(document.querySelectorAll('.kkr-views a'), function (a) {{
      if (!a.hasAttribute('href')) {{ a.setAttribute('href', '#'); a.setAttribute('role', 'button'); }}
      a.addEventListener('click', function (e) {{ e.preventDefault(); }});
    }});
    Array.prototype.forEach.call(document.querySelectorAll('.leaflet-control-layers-toggle'), function (a) {{
      a.setAttribute('title', 'Kortlag'); a.setAttribute('aria-label', 'Vælg kortlag');
    }});
  }}
  if (document.readyState === 'loading') {{ document.addEventListener('DOMContentLoaded', ready); }} else {{ ready(); }}
}})();
</script>
"""


def legend_box(legend_html: str) -> str:
    """The legend in a ``<details>`` box; its scrolling area is keyboard-focusable and named."""
    marker = '<div class="kkr-legend" id="kkr-legend">'
    if marker in legend_html:
        legend_html = legend_html.replace(
            marker, f'<div class="kkr-legend" id="kkr-legend" tabindex="0" role="region" aria-label="{esc(LEGEND_SUMMARY)}">', 1)
    return (f'<details class="kkr-legend-box" id="kkr-legend-box" open><summary>{esc(LEGEND_SUMMARY)}</summary>'
            f"{legend_html}</details>")


def _cell(value, decimals) -> str:
    text = fmt_value(value, decimals)
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return f'<td class="kkr-num">{esc(text)}</td>' if numeric else f"<td>{esc(text)}</td>"


def data_tables(pm: PreparedMap) -> list[str]:
    """One table per layer with tooltip columns (the figures a reader would otherwise only see on hover),
    then the catchment figures."""
    tables = []
    ind = pm.spec.indicator
    for lay in pm.layers:
        cols = [c for c in lay.spec.tooltip if c in lay.gdf.columns]
        if not cols or lay.style == "context" or len(lay.gdf) == 0:
            continue
        names = lay.spec.tooltip_names
        head = "".join(f'<th scope="col">{esc(names.get(c, c))}</th>' for c in cols)
        rows = []
        for _, row in lay.gdf.iterrows():
            cells = []
            for c in cols:
                dec = ind.decimals if ind is not None and c == ind.column and lay.spec.id == ind.layer else None
                v = row.get(c)
                cells.append(_cell(v.item() if hasattr(v, "item") else v, dec))
            rows.append("<tr>" + "".join(cells) + "</tr>")
        tables.append(f"<table><caption>{esc(lay.label)}</caption><thead><tr>{head}</tr></thead>"
                      f"<tbody>{''.join(rows)}</tbody></table>")
    figures = pm.figures()
    if figures:
        ftitle, heads, frows = figures
        head = '<th scope="col"></th>' + "".join(f'<th scope="col">{esc(h)}</th>' for h in heads) + '<th scope="col"></th>'
        body = "".join(
            f'<tr><th scope="row">{esc(r.name)}</th>'
            + "".join(f'<td class="kkr-num">{esc(fmt_population_approx(v) if v == v else "ikke opgjort")}</td>' for v in r.values)
            + f"<td>{esc(r.note or '')}</td></tr>" for r in frows)
        tables.append(f"<table><caption>{esc(ftitle)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return tables


def data_section(pm: PreparedMap) -> str:
    """"Tal bag kortet": the map's figures as HTML tables in a ``<details>`` box (closed at first)."""
    tables = data_tables(pm)
    if not tables:
        return ""
    return (f'<details class="kkr-data" id="kkr-data"><summary>{esc(DATA_SUMMARY)}</summary>'
            f'<div class="kkr-data-body" tabindex="0" role="region" aria-label="{esc(DATA_SUMMARY)}">'
            + "".join(tables) + "</div></details>")
