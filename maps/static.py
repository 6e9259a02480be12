"""Static print maps (matplotlib): A4/A3, portrait/landscape, PNG (300 dpi), PDF and SVG.

Layout, top to bottom: title and subtitle; the map frame with an in-map legend and a Bornholm
inset in the emptiest corners (where even the emptiest corner would cover mapped data, the map's extent
opens towards it to make room) and collision-free labels; below the frame the source and date
lines (left) and the scale bar, scale statement and north arrow (right).

Outputs are byte-identical for identical inputs: no creation dates or software strings are
written, and SVG ids use a fixed hash salt.
"""

from __future__ import annotations

import math
import textwrap
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.patheffects as pe  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import shapely  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch, Polygon as MplPolygon, Rectangle  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

from kkr_geo.geo.io import atomic_path  # noqa: E402
from kkr_geo.maps.danish_numbers import fmt_number  # noqa: E402
from kkr_geo.maps.fonts import font_family  # noqa: E402
from kkr_geo.maps.prepare import PreparedMap, split_bornholm  # noqa: E402
from kkr_geo.maps.style import (COLOURS, EDGE, band_column, catchment_colour, flow_width_scale,  # noqa: E402
                        legend_entries)

MM = 1 / 25.4
FONT = "DejaVu Sans"
SAVE_METADATA = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None},
    "svg": {"Creator": None, "Date": None, "Format": None, "Type": None},
}
HALO = [pe.withStroke(linewidth=2.2, foreground="white")]


@dataclass
class StaticResult:
    files: dict[str, Path] = field(default_factory=dict)
    labels_placed: list[str] = field(default_factory=list)
    labels_dropped: list[str] = field(default_factory=list)
    label_boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    legend_labels: list[str] = field(default_factory=list)
    scale_denominator: int = 0
    figure_lines: list[str] = field(default_factory=list)
    label_key: list[str] = field(default_factory=list)   # numbered key of areas too small for a label
    thumbnail: str | None = None   # the index page's thumbnail (data: URI), made from the PNG page in memory
    inset_cover: float | None = None   # share of the Bornholm inset box (in the map frame) lying over mapped areas
    legend_cover: float | None = None  # share of the legend box (in the map frame) lying over mapped areas
    figures_cover: float | None = None  # the same for the catchment figures box
    key_cover: float | None = None   # the same for the numbered key's box
    legend_corner: str | None = None   # where the legend sits in the map frame (None: in the strip, or no legend)
    figures_corner: str | None = None
    room_growth: float = 1.0   # how much the map's extent was widened to make room for a box (1.0: not)


def _rc():
    return {
        # DejaVu Sans, drawn from its Latin cut where it has the glyph (PDFs embed it 2x faster; same pixels)
        "font.family": font_family(), "svg.hashsalt": "kkr-geo", "svg.fonttype": "path", "pdf.fonttype": 42,
        "path.simplify": True, "axes.unicode_minus": True,
        # names and titles are user text: "$" is a dollar sign, not mathtext ("$\\broken{$" crashed the render)
        "text.parse_math": False,
    }


# -- drawing layers --------------------------------------------------------------------------
def _draw_layer(ax, lay, pm: PreparedMap, z: int):
    s, gdf = lay.spec, lay.gdf
    if len(gdf) == 0:
        return
    colour = s.colour or COLOURS.get(s.style, "#333333")
    gtype = gdf.geom_type.iloc[0]
    if s.style == "choropleth":
        cls = pm.classification
        colours = [cls.colour_of(int(i)) for i in cls.classes]
        gdf.plot(ax=ax, color=colours, edgecolor=EDGE, linewidth=0.35, zorder=z)
    elif s.style in ("fill", "context"):
        if "Line" in gtype:
            gdf.plot(ax=ax, color=s.colour or "#969696", linewidth=s.width or 0.6, zorder=z,
                     linestyle=(0, (4, 2)) if lay.schematic else "-")
        else:
            gdf.plot(ax=ax, color=colour, edgecolor="#bdbdbd", linewidth=0.4, zorder=z)
    elif s.style == "outline":
        gdf.boundary.plot(ax=ax, color=colour, linewidth=s.width or 0.6, zorder=z)
    elif s.style == "line":
        width = s.width or 2.0
        gdf.plot(ax=ax, color="white", linewidth=width + 1.4, zorder=z)
        gdf.plot(ax=ax, color=colour, linewidth=width, zorder=z, linestyle=(0, (5, 2.5)) if lay.schematic else "-")
    elif s.style == "point":
        pts = gdf.geometry.representative_point()
        ax.scatter(pts.x, pts.y, s=(s.size or 5) ** 2, c=colour, edgecolors="white", linewidths=0.8, zorder=z + 0.5)
    elif s.style == "catchment":
        col = band_column(gdf)
        order = gdf.sort_values(col, ascending=False) if col else gdf  # far bands first, near on top
        colours = [catchment_colour(gdf, v) for v in order[col]] if col else [colour] * len(order)
        order.plot(ax=ax, color=colours, alpha=0.5, edgecolor="none", zorder=z)
        # an outline in the band's colour keeps small areas visible at region scale
        order.boundary.plot(ax=ax, color=colours, linewidth=0.5, alpha=0.9, zorder=z + 0.01)
    elif s.style == "gap":
        gdf.plot(ax=ax, facecolor=colour, alpha=0.35, edgecolor=colour, linewidth=0.5, hatch="////", zorder=z)
    elif s.style == "flow":
        scale = flow_width_scale(gdf["antal"]) if "antal" in gdf.columns else (lambda v: 1.5)
        polys = gdf[gdf.geom_type.str.contains("Polygon")]
        lines = gdf[~gdf.geom_type.str.contains("Polygon")]
        if len(polys) and "antal" in polys.columns:
            polys = polys.sort_values("antal", kind="stable")
        for geom, v in zip(lines.geometry, lines.get("antal", [1] * len(lines))):
            xs, ys = geom.xy
            ax.plot(xs, ys, color=colour, linewidth=scale(v), alpha=0.8, solid_capstyle="butt", zorder=z)
        if len(polys):
            polys.plot(ax=ax, color=colour, alpha=0.9, zorder=z + 0.1)


def _fit_extent(extent, aspect_wh: float, pad: float = 0.03):
    x0, y0, x1, y1 = extent
    w, h = (x1 - x0) * (1 + 2 * pad), (y1 - y0) * (1 + 2 * pad)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    if w / h < aspect_wh:
        w = h * aspect_wh
    else:
        h = w / aspect_wh
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def _nice_length(target_m: float) -> float:
    for v in (100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 25000, 50000, 100000):
        if v >= target_m:
            return float(v)
    return 100000.0


def printed_denominator(m_per_mm: float) -> int:
    """The scale denominator N of "Målestok 1:N" for ``m_per_mm`` metres on the ground per printed mm,
    rounded to three significant digits (at most 0.5 % off, so a ruler on the print agrees with it):
    1:537.000 for a region map, 1:25.600 for a town map. Rounding to a fixed step (10.000) was
    17 % off on a town map and printed 1:0 for a map under about 1 km wide."""
    n = m_per_mm * 1000.0
    if not math.isfinite(n) or n <= 0:
        raise ValueError(f"scale of {m_per_mm!r} m per mm")
    step = 10.0 ** max(0, math.floor(math.log10(n)) - 2)
    return int(round(n / step) * step)


def _data_union(pm: PreparedMap):
    """What the legend and boxes must not cover: the thematic layers if any, else all but context."""
    thematic = ("choropleth", "line", "point", "catchment", "gap", "flow")
    keep = [lay for lay in pm.layers if lay.style in thematic and len(lay.gdf)]
    if not keep:
        keep = [lay for lay in pm.layers if lay.style != "context" and len(lay.gdf)]
    geoms = []
    for lay in keep:
        main, _ = split_bornholm(lay.gdf)
        geoms.append(shapely.union_all(shapely.buffer(main.geometry.values, 300)) if lay.style in ("point", "line", "flow")
                     else shapely.union_all(main.geometry.values))
    return shapely.union_all(geoms) if geoms else shapely.Polygon()


def _corner_box(corner: str, xlim, ylim, w: float, h: float, margin: float):
    x0, x1 = xlim
    y0, y1 = ylim
    left = corner.endswith("left")
    lower = corner.startswith("lower")
    bx = x0 + margin if left else x1 - margin - w
    by = y0 + margin if lower else y1 - margin - h
    return shapely.box(bx, by, bx + w, by + h)


CORNERS = ("lower left", "lower right", "upper right", "upper left")


def _best_corner(union, xlim, ylim, w, h, margin, exclude=()):
    best, best_cost = None, None
    for c in CORNERS:
        if c in exclude:
            continue
        box = _corner_box(c, xlim, ylim, w, h, margin)
        cost = union.intersection(box).area / box.area if not union.is_empty else 0.0
        if best_cost is None or cost < best_cost - 1e-9:
            best, best_cost = c, cost
    return best


# A legend or text box may lie over this share of mapped data at most (an outline's edge, a few pixels; 0.4 %
# was a visible corner of Helsingør's coast under the waiting time legends); beyond
# it the map's extent opens towards the box's corner (``_make_room``).
BOX_COVER_TOLERANCE = 0.001
# ... by at most this factor (the map's scale shrinks by as much); a box that needs more keeps the least bad corner
ROOM_MAX_GROWTH = 1.25
# ... and the box it makes room for should then keep this far (printed mm) from any mapped data
ROOM_GAP_MM = 1.0


def _cover(union, box) -> float:
    """The share of ``box`` lying over ``union`` (the mapped data)."""
    return union.intersection(box).area / box.area if not union.is_empty and box.area > 0 else 0.0


def _drawn_text_box(box, inner: float):
    """The white box a ``_corner_text`` text draws for the text extent ``box`` placed at its lower left
    corner (data units): the box's pad ``inner`` lies around the text, which is shifted inwards by it."""
    bx0, by0, bx1, by1 = box.bounds
    return shapely.box(bx0, by0, bx1 + 2 * inner, by1 + 2 * inner)


@dataclass
class CornerPlan:
    """Where the in-frame boxes go for one map extent: the Bornholm inset, the legend and the figures box,
    each a corner, its box (data coordinates) and the share of it lying over mapped data."""
    extent: tuple[float, float, float, float]
    inset: tuple[str, float, shapely.Polygon] | None = None   # corner, size factor, box
    inset_cover: float | None = None
    legend: tuple[str, shapely.Polygon] | None = None
    legend_cover: float | None = None
    figures: tuple[str, shapely.Polygon] | None = None   # corner, box of the text extent (as placed)
    figures_cover: float | None = None   # ... of the white box drawn around the text
    figures_drawn: shapely.Polygon | None = None   # that white box
    growth: float = 1.0

    @property
    def used(self) -> list[str]:
        return [b[0] for b in (self.inset, self.legend, self.figures) if b is not None]

    def worst_box_cover(self) -> float:
        return max(c or 0.0 for c in (self.legend_cover, self.figures_cover))

    def boxes_clear(self, union, gap: float) -> bool:
        """No mapped data under the legend or the figures box nor within ``gap`` (data units) of them."""
        boxes = [b for b in (self.legend[1] if self.legend else None, self.figures_drawn) if b is not None]
        return not any(union.intersects(shapely.box(*np.add(b.bounds, (-gap, -gap, gap, gap)))) for b in boxes)


def _plan_corners(union, extent, map_w_mm: float, inset_wh, legend_mm, figures_mm, keep: CornerPlan | None = None
                  ) -> CornerPlan:
    """The corners of the Bornholm inset (data size ``inset_wh``), the legend and the figures box (sizes in
    printed mm; the figures box as ``(w, h, pad)`` of its text) for the map ``extent`` drawn ``map_w_mm``
    wide: the inset first (the largest size down to half whose corner covers no data), then the legend, then
    the figures box, each in the corner whose box covers least data among those left. With ``keep`` each
    box stays in its corner in that plan."""
    def corners(kind):
        if keep is None:
            return CORNERS
        held = getattr(keep, kind)
        return (held[0],) if held is not None else CORNERS

    x0, y0, x1, y1 = extent
    m_per_mm = (x1 - x0) / map_w_mm
    pad = 3 * m_per_mm
    xl, yl = (x0, x1), (y0, y1)
    plan = CornerPlan(extent=tuple(extent))
    if inset_wh is not None:
        bw, bh = inset_wh
        k_full = min(1.0, 0.30 * (x1 - x0) / bw)
        # the largest inset (down to half size) whose emptiest corner covers no data; failing that, the one
        # that covers least (a Bornholm box over a mainland kommune hides part of the map's message)
        choices = []
        for shrink in (1.0, 0.85, 0.7, 0.6, 0.5):
            k = k_full * shrink
            corner = _best_corner(union, xl, yl, bw * k, bh * k, pad,
                                  exclude=tuple(c for c in CORNERS if c not in corners("inset")))
            cover = _corner_box(corner, xl, yl, bw * k, bh * k, pad).intersection(union).area if not union.is_empty else 0.0
            choices.append((cover, -k, corner))
            if cover <= 1e-6 * bw * bh:
                break
        cover, neg_k, corner = min(choices)
        k = -neg_k
        plan.inset = (corner, k, _corner_box(corner, xl, yl, bw * k, bh * k, pad))
        plan.inset_cover = cover / (bw * k * bh * k)
    if legend_mm is not None:
        lw, lh = legend_mm[0] * m_per_mm, legend_mm[1] * m_per_mm
        corner = _best_corner(union, xl, yl, lw, lh, pad,
                              exclude=tuple(plan.used) + tuple(c for c in CORNERS if c not in corners("legend")))
        box = _corner_box(corner, xl, yl, lw, lh, pad)
        plan.legend, plan.legend_cover = (corner, box), _cover(union, box)
    if figures_mm is not None:
        fw, fh, inner = (v * m_per_mm for v in figures_mm)
        best = None
        for c in corners("figures"):
            if c in plan.used:
                continue
            box = _corner_box(c, xl, yl, fw, fh, pad)
            drawn = _drawn_text_box(box, inner)
            cost = _cover(union, drawn)
            if best is None or cost < best[0] - 1e-9:
                best = (cost, c, box, drawn)
        if best is not None:
            plan.figures, plan.figures_cover, plan.figures_drawn = (best[1], best[2]), best[0], best[3]
    return plan


def _make_room(union, plan: CornerPlan, data_extent, map_w_mm: float, inset_wh, legend_mm, figures_mm) -> CornerPlan:
    """For a ``plan`` whose legend or figures box covers mapped data (beyond ``BOX_COVER_TOLERANCE``), a plan
    that makes room for it by opening the map's extent towards that box's corner: the frame keeps its size,
    the map moves away from that corner (using the slack across the frame first, as little as will do, at
    most until the data reaches its margin on the far sides) and, where that is not enough, its scale shrinks
    a little (at most ``ROOM_MAX_GROWTH``). Each box stays in its corner where it can.

    Wanted: the boxes ``ROOM_GAP_MM`` clear of any data with the least growth (the map's scale matters
    most), then the largest Bornholm inset; the inset may not come to cover more than before. Failing that,
    the first plan within the tolerance; failing that, ``plan`` itself."""
    if plan.worst_box_cover() <= BOX_COVER_TOLERANCE:
        return plan
    offenders = [b[0] for b, c in ((plan.legend, plan.legend_cover), (plan.figures, plan.figures_cover))
                 if b is not None and (c or 0.0) > BOX_COVER_TOLERANCE]
    x0, y0, x1, y1 = plan.extent
    w, h = x1 - x0, y1 - y0
    # the data with the margin _fit_extent gives it
    dx0, dy0, dx1, dy1 = data_extent
    mx, my = 0.03 * (dx1 - dx0), 0.03 * (dy1 - dy0)
    dx0, dy0, dx1, dy1 = dx0 - mx, dy0 - my, dx1 + mx, dy1 + my
    inset_limit = max(plan.inset_cover or 0.0, BOX_COVER_TOLERANCE)

    def inset_mm(p: CornerPlan) -> float:   # the inset's printed width
        return p.inset[1] * inset_wh[0] / ((p.extent[2] - p.extent[0]) / map_w_mm) if p.inset else 0.0

    within = None
    for step in range(int(round((ROOM_MAX_GROWTH - 1) * 100)) + 1):
        k = 1 + step / 100
        nw, nh = k * w, k * h
        clear = []
        for t in (0.0, 0.25, 0.5, 0.75, 1.0):
            for corner in offenders:
                # the far sides stay (t = 0) or move out until the data reaches its margin there (t = 1)
                far_x = min(x0, dx0) if corner.endswith("right") else max(x1, dx1)
                far_y = min(y0, dy0) if corner.startswith("upper") else max(y1, dy1)
                far_x += t * ((dx0 - far_x) if corner.endswith("right") else (dx1 - far_x))
                far_y += t * ((dy0 - far_y) if corner.startswith("upper") else (dy1 - far_y))
                nx0 = far_x if corner.endswith("right") else far_x - nw
                ny0 = far_y if corner.startswith("upper") else far_y - nh
                # each box in its corner first (the layout stays as it was), else wherever it goes best
                for keep in (plan, None):
                    cand = _plan_corners(union, (nx0, ny0, nx0 + nw, ny0 + nh), map_w_mm, inset_wh, legend_mm,
                                         figures_mm, keep=keep)
                    if cand.worst_box_cover() > BOX_COVER_TOLERANCE or (cand.inset_cover or 0.0) > inset_limit:
                        continue
                    cand.growth = k
                    within = within or cand
                    if cand.boxes_clear(union, ROOM_GAP_MM * nw / map_w_mm):
                        clear.append(cand)
        if clear:   # the least growth; then the largest inset, the least move, the boxes in their corners
            return max(clear, key=lambda c: round(inset_mm(c), 1))
    return within or plan


# -- the figure --------------------------------------------------------------------------------
def build_figure(pm: PreparedMap, result: StaticResult | None = None):
    spec = pm.spec
    result = result if result is not None else StaticResult()
    W, H = spec.page_mm
    fs = ((W * H) / (210 * 297)) ** 0.25  # font scale: A3 ~ 1.19 x A4
    margin = 12.0
    fig = plt.figure(figsize=(W * MM, H * MM))
    # geopandas' plot() calls plt.draw() after every layer, which rasterises the whole 300 dpi page each
    # time (most of the build's time went there). Layout without rasterising leaves the figure in the same
    # state (aspect applied, text laid out); the page is rendered once, when it is saved.
    fig.canvas.draw_idle = lambda *args, **kwargs: fig.draw_without_rendering()  # type: ignore[method-assign]

    def fx(mm):
        return mm / W

    def fy(mm):
        return mm / H

    # Title block.
    top = H - margin
    # Wrap title and subtitle to the page width (approximate glyph widths of DejaVu Sans).
    title_lines = textwrap.wrap(spec.title, max(20, int((W - 2 * margin) / (16 * fs * 0.3528 * 0.66))))
    fig.text(fx(margin), fy(top), "\n".join(title_lines), fontsize=16 * fs, fontweight="bold", va="top", ha="left",
             linespacing=1.15)
    title_h = 16 * fs * 0.3528 * (1.35 + 1.15 * (len(title_lines) - 1))
    if spec.subtitle:
        sub_lines = textwrap.wrap(spec.subtitle, max(30, int((W - 2 * margin) / (10.5 * fs * 0.3528 * 0.58))))
        fig.text(fx(margin), fy(top - title_h), "\n".join(sub_lines), fontsize=10.5 * fs, va="top", ha="left",
                 color="#333333", linespacing=1.2)
        title_h += 10.5 * fs * 0.3528 * (1.5 + 1.2 * (len(sub_lines) - 1))
    title_h += 3

    # Footer: source/date/notes left, scale bar and north arrow right.
    foot_size = 6.5 * fs
    right_w = 62.0 * fs
    chars = int((W - 2 * margin - right_w - 4) / (foot_size * 0.3528 * 0.55))
    foot_lines = []
    for text in [pm.source_line, pm.date_line, *pm.notes]:
        if text:
            foot_lines.extend(textwrap.wrap(text, chars) or [""])
    line_h = foot_size * 0.3528 * 1.45
    footer_h = max(len(foot_lines) * line_h, 16 * fs) + 3
    for i, line in enumerate(foot_lines):
        fig.text(fx(margin), fy(margin + footer_h - 3 - i * line_h), line, fontsize=foot_size, va="top", ha="left",
                 color="#333333")

    # Table under the map (spec ``table:``), above the footer.
    table_h = 0.0
    if getattr(pm, "table", None) is not None:
        from kkr_geo.maps.table import draw_table, table_height_mm
        table_h = table_height_mm(pm.table, fs)
        draw_table(fig, pm.table, margin, margin + footer_h + table_h, W - 2 * margin, W, H, fs)

    # Map frame. A map with a Copenhagen panel gets a strip under the main map holding the
    # København/Frederiksberg panel, the legend and Bornholm, so that none of them covers data.
    map_x0, map_y0 = margin, margin + footer_h + 2 + table_h
    map_w, map_h = W - 2 * margin, H - margin - title_h - map_y0
    detail = pm.detail_extent
    strip_h = min(0.40 * map_h, 0.47 * map_w) if detail is not None else 0.0
    main_y0 = map_y0 + (strip_h + 3 if strip_h else 0)
    main_h = map_h - (strip_h + 3 if strip_h else 0)
    ax = _frame_axes(fig, (fx(map_x0), fy(main_y0), fx(map_w), fy(main_h)))
    x0, y0, x1, y1 = _fit_extent(pm.extent, map_w / main_h)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")

    for z, lay in enumerate(pm.layers, start=1):
        _draw_layer(ax, lay, pm, z)
    ax.set_xlabel("")
    ax.set_ylabel("")

    union = _data_union(pm)
    entries = legend_entries(pm)
    result.legend_labels = [e.label for e in entries]
    renderer = fig.canvas.get_renderer()

    def size_mm(bb):
        return bb.width / fig.dpi * 25.4, bb.height / fig.dpi * 25.4

    # The boxes that go into corners of the frame, measured in printed mm: the legend (unless in the strip)
    # and the catchment figures box (population rounded to what the method supports).
    legend = None
    legend_mm = None
    if entries and detail is None:
        legend = _legend(ax, entries, fs, loc="lower left")
        legend_mm = size_mm(legend.get_window_extent(renderer))
    figures = pm.figures()
    figures_txt = None
    figures_mm = None
    if figures:
        ftitle, heads, rows = figures
        lines = [ftitle] + [f"{r.name}: {r.text()}" for r in rows]
        figures_txt = _box_text(ax, "\n".join(lines), fs)
        figures_mm = (*size_mm(figures_txt.get_window_extent(renderer)), _box_pad_pt(fs) * 25.4 / 72)
        result.figure_lines = lines[1:]
    inset_wh = None
    if detail is None and pm.inset_extent is not None:
        bx0, by0, bx1, by1 = pm.inset_extent
        inset_wh = ((bx1 - bx0) * 1.12, (by1 - by0) * 1.12)
    # Their corners; where one would cover mapped data, the extent opens towards it to make room.
    plan = _plan_corners(union, (x0, y0, x1, y1), map_w, inset_wh, legend_mm, figures_mm)
    plan = _make_room(union, plan, pm.extent, map_w, inset_wh, legend_mm, figures_mm)
    x0, y0, x1, y1 = plan.extent
    result.room_growth = plan.growth
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    m_per_mm = (x1 - x0) / map_w
    result.scale_denominator = printed_denominator(m_per_mm)

    obstacles_data = []  # shapely boxes in data coordinates
    pad = 3 * m_per_mm

    panel_ax = None
    inset_ax = None
    legend_corner = None
    if detail is not None:
        # Strip: [København/Frederiksberg | legend | Bornholm]
        sy0 = map_y0
        dw = (detail[2] - detail[0]) / (detail[3] - detail[1]) * strip_h
        dw = min(dw, 0.55 * map_w)
        panel_ax = _frame_axes(fig, (fx(map_x0), fy(sy0), fx(dw), fy(strip_h)))
        px0, py0, px1, py1 = _fit_extent(detail, dw / strip_h, pad=0.0)
        for z, lay in enumerate(pm.layers, start=1):
            _draw_layer(panel_ax, lay, pm, z)
        panel_ax.set_xlim(px0, px1)
        panel_ax.set_ylim(py0, py1)
        panel_ax.set_aspect("equal", adjustable="box")
        panel_ax.set_xlabel("")
        panel_ax.set_ylabel("")
        panel_ax.text(0.03, 0.97, "København og Frederiksberg", transform=panel_ax.transAxes, fontsize=7 * fs, va="top",
                      ha="left", fontweight="bold", path_effects=HALO, zorder=30)
        panel_scale = printed_denominator((px1 - px0) / dw)
        panel_ax.text(0.03, 0.03, f"Målestok 1:{fmt_number(panel_scale, 0)}", transform=panel_ax.transAxes,
                      fontsize=5.5 * fs, va="bottom", ha="left", color="#555555", path_effects=HALO, zorder=30)
        # where the panel lies on the main map
        ax.add_patch(Rectangle((px0, py0), px1 - px0, py1 - py0, fill=False, edgecolor="#1a1a1a", linewidth=0.7,
                               linestyle=(0, (3, 2)), zorder=19))
        # legend next to the panel
        rest_x0 = map_x0 + dw + 3
        rest_w = map_w - dw - 3
        lax = fig.add_axes((fx(rest_x0), fy(sy0), fx(rest_w), fy(strip_h)))
        lax.set_axis_off()
        if entries:
            legend = _legend(lax, entries, fs, loc="upper left", bbox=(0.0, 1.0))
            lbb = legend.get_window_extent(renderer)
            legend_w_mm, legend_h_mm = lbb.width / fig.dpi * 25.4, lbb.height / fig.dpi * 25.4
        else:
            legend_w_mm = legend_h_mm = 0.0
        # Bornholm in what is left of the strip: right of the legend, else under it
        if pm.inset_extent is not None:
            bx_x0 = rest_x0 + legend_w_mm + 3
            bw_mm = W - margin - bx_x0
            if bw_mm >= 28:
                box = (bx_x0, sy0, bw_mm, strip_h)
            else:
                box = (rest_x0, sy0, rest_w, strip_h - legend_h_mm - 3)
            if box[2] >= 15 and box[3] >= 15:
                inset_ax = _frame_axes(fig, (fx(box[0]), fy(box[1]), fx(box[2]), fy(box[3])))
                _draw_bornholm(inset_ax, pm, fs, box[2] / box[3])
    elif plan.inset is not None:
        # Bornholm inset in the emptiest corner.
        k = plan.inset[1]
        result.inset_cover = plan.inset_cover
        box = plan.inset[2]
        obstacles_data.append(box)
        bxmin, bymin, bxmax, bymax = box.bounds
        inset_ax = ax.inset_axes((bxmin, bymin, bxmax - bxmin, bymax - bymin), transform=ax.transData, zorder=20)
        _draw_bornholm(inset_ax, pm, fs, None, scaled=k < 0.999)

    if legend is not None and plan.legend is not None:
        # Legend in the emptiest remaining corner.
        legend_corner, box = plan.legend
        result.legend_corner, result.legend_cover = legend_corner, plan.legend_cover
        ax_bb = ax.transAxes.inverted().transform(ax.transData.transform((box.bounds[0], box.bounds[1])))
        legend.set_loc(tuple(float(v) for v in ax_bb))
        obstacles_data.append(box)
    used = plan.used

    # Catchment figures box.
    if figures_txt is not None and plan.figures is not None:
        corner, box = plan.figures
        result.figures_corner, result.figures_cover = corner, plan.figures_cover
        _place_box_text(fig, ax, figures_txt, box, fs)
        obstacles_data.append(box)

    # Labels; areas left without a label get a number and a key.
    placed: list[Bbox] = []
    for box in obstacles_data:
        b = box.bounds
        placed.append(Bbox.from_extents(*ax.transData.transform((b[0], b[1])), *ax.transData.transform((b[2], b[3]))))
    unlabelled = []
    for label_spec in spec.labels:
        unlabelled += _place_labels(fig, ax, inset_ax, pm, label_spec, placed, fs, result, panel_ax=panel_ax,
                                    detail=(px0, py0, px1, py1) if panel_ax is not None else None)
    if unlabelled:
        # a number led away from its area goes where no other labelled area is (the sea, the neighbours)
        labelled_land = shapely.union_all([g for ls in spec.labels for g in pm.layer(ls["layer"]).gdf.geometry
                                           if g is not None and g.geom_type.endswith("Polygon")])
        key_lines = []
        scratch = StaticResult()
        for i, (target, geom, text) in enumerate(unlabelled, 1):
            # the number avoids the labels already placed where it can; otherwise it sits on its area
            if not _try_label(fig, target, geom, str(i), 6.5 * fs, placed, scratch, fig.dpi / 72.0) and \
                    not _number_with_leader(fig, target, geom, str(i), 6.5 * fs, placed, labelled_land):
                pt = shapely.point_on_surface(geom)
                target.annotate(str(i), (pt.x, pt.y), ha="center", va="center", fontsize=6.5 * fs,
                                color="#1a1a1a", path_effects=HALO, zorder=23, annotation_clip=False)
            key_lines.append(f"{i} {text.replace(chr(10), ': ')}")
        key_box = _corner_text(fig, ax, "\n".join(key_lines), fs, union, (x0, x1), (y0, y1), pad, used)
        result.key_cover = _cover(union, _drawn_text_box(key_box, _box_pad_pt(fs) * 25.4 / 72 * m_per_mm))
        result.label_key = key_lines

    # Scale bar and north arrow (right of the footer).
    _scale_bar(fig, W, H, margin, footer_h, right_w, m_per_mm, fs, result)
    return fig


def _frame_axes(fig, rect):
    a = fig.add_axes(rect)
    a.set_xticks([])
    a.set_yticks([])
    for sp in a.spines.values():
        sp.set_edgecolor("#808080")
        sp.set_linewidth(0.6)
    a.set_facecolor("#ffffff")
    return a


def _draw_bornholm(inset_ax, pm, fs, aspect_wh: float | None, *, scaled: bool = True):
    """Draw the layers into ``inset_ax`` around Bornholm (``aspect_wh``: the axes' width/height when
    the extent must be fitted to a given box)."""
    inset_ax.set_xticks([])
    inset_ax.set_yticks([])
    for sp in inset_ax.spines.values():
        sp.set_edgecolor("#808080")
        sp.set_linewidth(0.6)
    for z, lay in enumerate(pm.layers, start=1):
        _draw_layer(inset_ax, lay, pm, z)
    bx0, by0, bx1, by1 = pm.inset_extent
    if aspect_wh is None:
        bw, bh = (bx1 - bx0) * 1.12, (by1 - by0) * 1.12
        cx, cy = (bx0 + bx1) / 2, (by0 + by1) / 2
        inset_ax.set_xlim(cx - bw / 2, cx + bw / 2)
        inset_ax.set_ylim(cy - bh / 2, cy + bh / 2)
    else:
        ex = _fit_extent(pm.inset_extent, aspect_wh, pad=0.06)
        inset_ax.set_xlim(ex[0], ex[2])
        inset_ax.set_ylim(ex[1], ex[3])
    inset_ax.set_aspect("equal", adjustable="box")
    inset_ax.set_xlabel("")
    inset_ax.set_ylabel("")
    inset_ax.set_facecolor("white")
    inset_ax.text(0.04, 0.96, "Bornholm", transform=inset_ax.transAxes, fontsize=7 * fs, va="top", ha="left",
                  fontweight="bold", path_effects=HALO, zorder=30)
    if scaled:
        inset_ax.text(0.04, 0.04, "Anden målestok", transform=inset_ax.transAxes, fontsize=5.5 * fs, va="bottom",
                      ha="left", color="#555555", path_effects=HALO, zorder=30)


LEGEND_DASH = (0, (5, 2.5))  # the dash of schematic lines, on the map and in the legend


def _legend(target, entries, fs, *, loc, bbox=None):
    handles = []
    for e in entries:
        if e.kind in ("header", "note"):
            handles.append(Line2D([], [], linestyle="none"))
        elif e.kind == "patch":
            handles.append(Patch(facecolor=e.colour, edgecolor=e.edge or "none", linewidth=0.4, alpha=e.alpha))
        elif e.kind == "hatch":
            handles.append(Patch(facecolor=(*matplotlib.colors.to_rgb(e.colour), e.alpha), edgecolor=e.edge,
                                 hatch="////", linewidth=0.5))
        elif e.kind == "line":
            handles.append(Line2D([], [], color=e.colour, linewidth=e.width, linestyle=LEGEND_DASH if e.dashed else "-"))
        else:
            handles.append(Line2D([], [], marker="o", linestyle="none", markerfacecolor=e.colour,
                                  markeredgecolor="white", markersize=6))
    kw = dict(fontsize=7 * fs, frameon=True, framealpha=0.92, edgecolor="#bdbdbd", fancybox=False,
              handlelength=LEGEND_HANDLE_LENGTH, borderpad=0.7, labelspacing=0.45)
    if bbox is not None:
        kw["bbox_to_anchor"] = bbox
    labels = [textwrap.fill(e.label, 40) if e.kind == "note" else e.label for e in entries]
    legend = target.legend(handles, labels, loc=loc, **kw)
    legend.set_zorder(25)
    for text, e in zip(legend.get_texts(), entries):
        if e.kind == "header":
            text.set_fontweight("bold")
        elif e.kind == "note":
            text.set_fontsize(6 * fs)
            text.set_color("#333333")
    for handle, e in zip(legend.legend_handles, entries):
        if e.kind == "note" and handle is not None:
            handle.set_visible(False)
    return legend


# A legend handle long enough to show two dashes and a gap of the thickest schematic line.
LEGEND_HANDLE_LENGTH = 3.6


def _box_pad_pt(fs) -> float:
    """The pad of a ``_box_text`` white box around its text, in points."""
    return 0.6 * 6.5 * fs


def _box_text(ax, text, fs):
    """A white text box in ``ax`` (placed later by ``_place_box_text``)."""
    return ax.text(0, 0, text, transform=ax.transAxes, fontsize=6.5 * fs, va="bottom", ha="left", zorder=26,
                   linespacing=1.45,
                   bbox=dict(boxstyle="square,pad=0.6", facecolor="white", alpha=0.92, edgecolor="#bdbdbd", linewidth=0.6))


def _place_box_text(fig, ax, txt, box, fs):
    """Put the text of ``txt`` at the lower left of ``box`` (data coordinates; the white box around it grows
    by its pad: ``_drawn_text_box``)."""
    inner = _box_pad_pt(fs) * (fig.dpi / 72.0)  # the bbox pad lies outside the text extent: shift inwards by it
    px, py = ax.transData.transform((box.bounds[0], box.bounds[1]))
    txt.set_position(tuple(ax.transAxes.inverted().transform((px + inner, py + inner))))


def _corner_text(fig, ax, text, fs, union, xlim, ylim, pad, used: list):
    """A white text box in the emptiest free corner of ``ax``; returns its text's box (data coordinates)."""
    txt = _box_text(ax, text, fs)
    renderer = fig.canvas.get_renderer()
    bb = txt.get_window_extent(renderer).transformed(ax.transData.inverted())
    corner = _best_corner(union, xlim, ylim, bb.width, bb.height, pad, exclude=tuple(used))
    box = _corner_box(corner, xlim, ylim, bb.width, bb.height, pad)
    _place_box_text(fig, ax, txt, box, fs)
    used.append(corner)
    return box


def _label_text(name, value, label_spec) -> str:
    value_col = label_spec.get("value")
    if value_col is None:
        return str(name)
    if value != value or value is None:  # NaN
        missing = label_spec.get("missing")
        return f"{name}\n{missing}" if missing else str(name)
    return f"{name}\n{fmt_number(value, int(label_spec.get('decimals', 0)))}{label_spec.get('suffix', '')}"


def _try_label(fig, ax, geom, text, base, placed, result, dpi_scale, keep_clear=None):
    """Place ``text`` for ``geom`` on ``ax`` at the first free position; True when placed.

    ``keep_clear``: data points (the inner points of the layer's other areas) that a label moved off its
    own area's centre must not cover, so a crowded neighbour keeps room for its own label or number."""
    renderer = fig.canvas.get_renderer()
    ax_bbox = ax.get_window_extent(renderer)
    part = max(getattr(geom, "geoms", [geom]), key=lambda g: g.area) if geom.geom_type.startswith("Multi") else geom
    pt = (shapely.point_on_surface(part) if part.geom_type.endswith("Polygon")
          else part.interpolate(0.5, normalized=True) if "Line" in part.geom_type else part)
    x, y = pt.x, pt.y
    xl, yl = ax.get_xlim(), ax.get_ylim()
    if not (xl[0] <= x <= xl[1] and yl[0] <= y <= yl[1]):
        return None  # outside this frame: nothing to label here
    is_point = geom.geom_type.endswith("Point")
    m_per_pt = (xl[1] - xl[0]) / ax_bbox.width * dpi_scale
    for size in (base, base * 0.88, base * 0.78):
        h = size * 1.2
        if is_point:
            offsets = [(h * 0.8, 0, "left"), (-h * 0.8, 0, "right"), (0, h, "center"), (0, -h, "center"),
                       (h * 0.7, h * 0.7, "left"), (-h * 0.7, -h * 0.7, "right")]
        else:
            offsets = [(dx, dy, "center") for dx, dy in
                       [(0, 0), (0, h), (0, -h), (h * 2.5, 0), (-h * 2.5, 0), (h * 2, h), (-h * 2, h), (h * 2, -h),
                        (-h * 2, -h), (0, 2 * h), (0, -2 * h)]]
        for dx, dy, ha in offsets:
            t = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, va="center",
                            fontsize=size, color="#1a1a1a", path_effects=HALO, zorder=22, annotation_clip=False)
            bb = t.get_window_extent(renderer).padded(1.5 * dpi_scale)
            inside = (bb.x0 >= ax_bbox.x0 and bb.x1 <= ax_bbox.x1 and bb.y0 >= ax_bbox.y0 and bb.y1 <= ax_bbox.y1)
            # A displaced label must still sit over its own feature.
            if inside and (dx, dy) != (0, 0) and not is_point:
                cx, cy = ax.transData.inverted().transform(((bb.x0 + bb.x1) / 2, (bb.y0 + bb.y1) / 2))
                inside = geom.buffer(max(600, 4 * m_per_pt)).contains(shapely.Point(cx, cy))
                if inside and keep_clear is not None and len(keep_clear):
                    disp = ax.transData.transform(keep_clear)
                    inside = not ((disp[:, 0] >= bb.x0) & (disp[:, 0] <= bb.x1)
                                  & (disp[:, 1] >= bb.y0) & (disp[:, 1] <= bb.y1)).any()
            if inside and not any(bb.overlaps(p) for p in placed):
                placed.append(bb)
                result.labels_placed.append(text)
                result.label_boxes.append((bb.x0, bb.y0, bb.x1, bb.y1))
                return True
            t.remove()
    return False


def _free_anchors(ax, geom, boxes, n: int = 4) -> list:
    """Up to ``n`` points of ``geom`` (display coordinates) under no placed label, nearest to its inner
    point first: where a key number's leader line can end on its area."""
    part = max(getattr(geom, "geoms", [geom]), key=lambda g: g.area) if geom.geom_type.startswith("Multi") else geom
    centre = shapely.point_on_surface(part)
    x0, y0, x1, y1 = part.bounds
    xs, ys = np.meshgrid(np.linspace(x0, x1, 9)[1:-1], np.linspace(y0, y1, 9)[1:-1])
    pts = shapely.points(np.column_stack([np.r_[centre.x, xs.ravel()], np.r_[centre.y, ys.ravel()]]))
    pts = pts[shapely.contains(part, pts) | (np.arange(len(pts)) == 0)]
    # and points just inside its outline (a small area may be covered by its neighbours' labels but for its edge)
    ring = part.exterior if part.geom_type == "Polygon" else part.boundary
    edge = shapely.line_interpolate_point(ring, np.linspace(0, 1, 48, endpoint=False), normalized=True)
    inner = shapely.points(0.9 * shapely.get_coordinates(edge) + 0.1 * np.array([centre.x, centre.y]))
    pts = np.concatenate([pts, inner[shapely.contains(part, inner)]])
    disp = ax.transData.transform(shapely.get_coordinates(pts))
    free = [d for d in disp if not any(b.contains(shapely.Point(d)) for b in boxes)]
    c = disp[0]
    return sorted(free, key=lambda d: float(np.hypot(*(d - c))))[:n]


def _number_with_leader(fig, ax, geom, text, size, placed, land=None) -> bool:
    """Place a key number that found no room by the label rules (crowded suburbs); True when placed.

    First on a point of its own area under no label (at full and at 85 % size); else in the nearest
    free spot outside ``land`` (the labelled areas: the number must not seem to belong to a neighbour)
    with a thin leader line from a point of its area under no label. Neither the number nor its leader
    may touch another label. Spots further out are tried ring by ring, 12 directions each."""
    renderer = fig.canvas.get_renderer()
    ax_bbox = ax.get_window_extent(renderer)
    boxes = [shapely.box(p.x0, p.y0, p.x1, p.y1) for p in placed]
    to_data = ax.transData.inverted()
    # first on the area itself, at a point under no label (no leader needed)
    for fsize in (size, size * 0.85, size * 0.72):
        for anchor in _free_anchors(ax, geom, boxes, n=40):
            t = ax.annotate(text, tuple(to_data.transform(anchor)), ha="center", va="center", fontsize=fsize,
                            color="#1a1a1a", path_effects=HALO, zorder=23, annotation_clip=False)
            bb = t.get_window_extent(renderer).padded(1.5 * fig.dpi / 72.0)
            if geom.contains(shapely.Point(to_data.transform(anchor))) and not any(bb.overlaps(p) for p in placed):
                placed.append(bb)
                return True
            t.remove()
    others = shapely.difference(land, geom) if land is not None else None
    anchors = _free_anchors(ax, geom, boxes, n=8)
    for r in (2.6, 3.4, 4.6, 6.0, 8.0):  # the shortest leader long enough to be seen, and near
        for anchor in anchors:
            ax_pt = to_data.transform(anchor)
            for k in range(12):
                angle = math.pi / 12 + k * math.pi / 6
                dx, dy = r * size * math.cos(angle), r * size * math.sin(angle)
                t = ax.annotate(text, tuple(ax_pt), xytext=(dx, dy), textcoords="offset points", ha="center",
                                va="center", fontsize=size, color="#1a1a1a", path_effects=HALO, zorder=23,
                                annotation_clip=False,
                                arrowprops={"arrowstyle": "-", "color": "#1a1a1a", "lw": 0.7, "shrinkA": 4, "shrinkB": 0})
                t.update_positions(renderer)
                bb = Text.get_window_extent(t, renderer).padded(1.5 * fig.dpi / 72.0)  # the number, not its leader
                inside = bb.x0 >= ax_bbox.x0 and bb.x1 <= ax_bbox.x1 and bb.y0 >= ax_bbox.y0 and bb.y1 <= ax_bbox.y1
                spot = shapely.Point(to_data.transform(((bb.x0 + bb.x1) / 2, (bb.y0 + bb.y1) / 2)))
                if others is not None and others.intersects(spot):
                    t.remove()
                    continue
                if inside and not any(bb.overlaps(p) for p in placed):
                    leader = shapely.LineString([anchor, ((bb.x0 + bb.x1) / 2, (bb.y0 + bb.y1) / 2)])
                    # ... nor cross a neighbour on its way (it would seem to point there)
                    crosses = others is not None and others.intersects(
                        shapely.LineString(to_data.transform(np.asarray(leader.coords))))
                    if not crosses and not any(leader.intersects(b) for b in boxes):
                        placed.append(bb)
                        return True
                t.remove()
    return False


def _place_labels(fig, ax, inset_ax, pm, label_spec, placed, fs, result, *, panel_ax=None, detail=None):
    """Place one label layer's labels (priority order across layers via the shared ``placed``).

    With a Copenhagen panel (``panel_ax``, ``detail`` its extent) areas lying mostly inside the panel
    are labelled there. Returns the areas with a value that found no place:
    ``[(axes, geometry, text)]`` for the numbered key.
    """
    lay = pm.layer(label_spec["layer"])
    col = label_spec["column"]
    base = float(label_spec.get("size", 6.5)) * fs
    main, bh = split_bornholm(lay.gdf)
    # Largest features first: they have the most room, small ones get displaced.
    main = main.assign(_a=main.geometry.area).sort_values(["_a", col], ascending=[False, True])
    value_col = label_spec.get("value")
    values = main[value_col] if value_col else [None] * len(main)
    dpi_scale = fig.dpi / 72.0
    detail_box = shapely.box(*detail) if detail is not None else None
    deferred, unlabelled = [], []
    polys = [g for g in main.geometry if g is not None and g.geom_type.endswith("Polygon")]
    inner_pts = shapely.get_coordinates(shapely.point_on_surface(polys)) if polys else np.empty((0, 2))
    for geom, name, value in zip(main.geometry, main[col], values):
        if name is None or str(name) == "nan":
            continue
        text = _label_text(name, value, label_spec)
        if detail_box is not None and geom.geom_type.endswith("Polygon") and \
                geom.intersection(detail_box).area > 0.5 * geom.area:
            deferred.append((geom, text, value))
            continue
        own = shapely.get_coordinates(shapely.point_on_surface(geom)) if geom.geom_type.endswith("Polygon") else None
        clear = inner_pts if own is None else inner_pts[~np.all(np.isclose(inner_pts, own[0]), axis=1)]
        done = _try_label(fig, ax, geom, text, base, placed, result, dpi_scale, keep_clear=clear)
        if done is False:
            result.labels_dropped.append(text)
            if value_col is not None:
                unlabelled.append((ax, geom, text))
    for geom, text, _value in deferred:
        done = _try_label(fig, panel_ax, geom, text, base, placed, result, dpi_scale)
        if not done:
            result.labels_dropped.append(text)
            if value_col is not None:
                unlabelled.append((panel_ax, geom, text))
    if inset_ax is not None:
        bvalues = bh[value_col] if value_col else [None] * len(bh)
        for geom, name, value in zip(bh.geometry, bh[col], bvalues):
            pt = shapely.point_on_surface(geom) if geom.geom_type.endswith("Polygon") else geom.centroid
            if name is not None and (str(name) != "Bornholm" or value_col):
                inset_ax.text(pt.x, pt.y, _label_text(name, value, label_spec), ha="center", va="center",
                              fontsize=base * 0.9, path_effects=HALO, zorder=22)
                result.labels_placed.append(_label_text(name, value, label_spec))
    return unlabelled


def _scale_bar(fig, W, H, margin, footer_h, right_w, m_per_mm, fs, result):
    bar_mm_target = 32.0 * fs
    length_m = _nice_length(bar_mm_target * m_per_mm * 0.8)
    bar_mm = length_m / m_per_mm
    x_right = W - margin
    arrow_w = 8.0 * fs
    bar_x1 = x_right - arrow_w - 4
    bar_x0 = bar_x1 - bar_mm
    y = margin + footer_h - 7 * fs
    sax = fig.add_axes((0, 0, 1, 1), facecolor="none")
    sax.set_xlim(0, W)
    sax.set_ylim(0, H)
    sax.set_axis_off()
    seg = bar_mm / 4
    for i in range(4):
        sax.add_patch(Rectangle((bar_x0 + i * seg, y), seg, 1.4 * fs, facecolor="#1a1a1a" if i % 2 == 0 else "white",
                                edgecolor="#1a1a1a", linewidth=0.5))
    unit_km = length_m >= 1000

    def lab(v):
        return fmt_number(v / 1000, 0 if (v / 1000).is_integer() else 1) if unit_km else fmt_number(v, 0)
    for v, xx in ((0, bar_x0), (length_m / 2, bar_x0 + bar_mm / 2), (length_m, bar_x1)):
        sax.text(xx, y + 2.2 * fs, lab(v) + (" km" if (unit_km and v == length_m) else (" m" if v == length_m else "")),
                 ha="center", va="bottom", fontsize=6 * fs)
    sax.text(bar_x1, y - 1.2 * fs, f"Målestok 1:{fmt_number(result.scale_denominator, 0)} ved udskrift på {spec_page(W, H)}",
             ha="right", va="top", fontsize=5.5 * fs, color="#333333")
    # North arrow (grid north of UTM 32N; true north differs by about 2 degrees here).
    ax0 = x_right - arrow_w / 2
    ay = y - 2 * fs
    sax.add_patch(MplPolygon([(ax0, ay + 9 * fs), (ax0 - 2.6 * fs, ay), (ax0, ay + 2.2 * fs)], closed=True,
                             facecolor="#1a1a1a", edgecolor="#1a1a1a", linewidth=0.5))
    sax.add_patch(MplPolygon([(ax0, ay + 9 * fs), (ax0 + 2.6 * fs, ay), (ax0, ay + 2.2 * fs)], closed=True,
                             facecolor="white", edgecolor="#1a1a1a", linewidth=0.5))
    sax.text(ax0, ay + 9.6 * fs, "N", ha="center", va="bottom", fontsize=8 * fs, fontweight="bold")


def spec_page(W: float, H: float) -> str:
    return "A3" if max(W, H) > 400 else "A4"


AUTHOR = "KKR Hovedstaden"
LANGUAGE = "da"


def document_metadata(pm: PreparedMap, fmt: str) -> dict:
    """Title, subject, author and keywords for the file (no dates or software strings: outputs stay
    byte-identical)."""
    spec = pm.spec
    subject = spec.subtitle or spec.description or spec.title
    keywords = ", ".join(dict.fromkeys(k for k in ["Region Hovedstaden", "KKR Hovedstaden", spec.name,
                                                   *(lay.label for lay in pm.layers if lay.spec.legend)] if k))
    meta = dict(SAVE_METADATA.get(fmt) or {})
    if fmt == "pdf":
        meta.update(Title=spec.title, Subject=subject, Author=AUTHOR, Keywords=keywords)
    elif fmt == "png":
        meta.update(Title=spec.title, Author=AUTHOR, Description=subject)
    elif fmt == "svg":
        meta.update(Title=spec.title, Description=subject, Keywords=keywords.split(", "))
    return meta


@contextmanager
def _pdf_catalog_language(lang: str):
    """Write ``/Lang`` into the PDF catalog (screen readers pick the Danish voice); matplotlib has no
    option for it, so its catalog write is wrapped for the duration of one save."""
    from matplotlib.backends import backend_pdf
    original = backend_pdf.PdfFile.writeObject

    def write(self, obj, contents):
        if isinstance(contents, dict) and contents.get("Type") == backend_pdf.Name("Catalog"):
            contents = {**contents, "Lang": lang}
        return original(self, obj, contents)
    backend_pdf.PdfFile.writeObject = write
    try:
        yield
    finally:
        backend_pdf.PdfFile.writeObject = original


PNG_COMPRESS_LEVEL = 3   # zlib level: 6 (Pillow's default) took 40 % longer for files 7 % smaller


def _save_png(fig, path, dpi: int, metadata: dict):
    """The page as an opaque RGB PNG (matplotlib writes RGBA; the alpha channel of a white page carries
    nothing, and every reader of the file, the annex PDF included, had to split it off again)."""
    import io

    from PIL import Image
    from PIL.PngImagePlugin import PngInfo
    raw = io.BytesIO()
    fig.savefig(raw, format="rgba", dpi=dpi, facecolor="white")
    w, h = int(fig.get_figwidth() * dpi), int(fig.get_figheight() * dpi)   # Agg truncates the page size
    data = raw.getvalue()
    if len(data) != w * h * 4:  # pragma: no cover - a matplotlib that sizes its canvas differently
        fig.savefig(path, format="png", dpi=dpi, metadata=metadata, facecolor="white")
        return None
    img = Image.frombuffer("RGBA", (w, h), data, "raw", "RGBA", 0, 1)
    if img.getchannel("A").getextrema()[0] < 255:   # something see-through: flatten onto the white page
        img = Image.alpha_composite(Image.new("RGBA", img.size, "white"), img)
    info = PngInfo()
    for key, value in metadata.items():
        if value is not None:
            info.add_text(key, str(value))
    rgb = img.convert("RGB")
    rgb.save(path, format="png", pnginfo=info, dpi=(dpi, dpi), compress_level=PNG_COMPRESS_LEVEL)
    return rgb


def render_static(pm: PreparedMap, targets: dict[str, Path], *, dpi: int | None = None) -> StaticResult:
    """Render ``pm`` once and save it to every ``{format: path}`` in ``targets`` (atomically)."""
    result = StaticResult()
    with plt.rc_context(_rc()):
        fig = build_figure(pm, result)
        try:
            for fmt, path in targets.items():
                with atomic_path(path) as tmp, (_pdf_catalog_language(LANGUAGE) if fmt == "pdf" else nullcontext()):
                    if fmt == "png":
                        page = _save_png(fig, tmp, dpi or pm.spec.dpi, document_metadata(pm, fmt))
                        if page is not None:   # the index page's thumbnail, without reading the file back
                            from kkr_geo.maps.index_page import thumbnail_data_uri
                            result.thumbnail = thumbnail_data_uri(page)
                    else:
                        fig.savefig(tmp, format=fmt, dpi=dpi or pm.spec.dpi, metadata=document_metadata(pm, fmt),
                                    facecolor="white")
                result.files[fmt] = Path(path)
        finally:
            plt.close(fig)
    return result
