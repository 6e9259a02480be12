"""Patient flows (bopælskommune -> klinikkommune) as curved flow lines with arrowheads.

The build draws a flow map when the data directory has ``flows/patientstroemme.csv`` (or ``.xlsx``):
one row per pair, columns ``bopaelskommune`` (or ``fra``), ``klinikkommune`` (or ``til``) and
``antal`` (patients); municipalities by name or kommunekode, Danish CSV (``;``, decimal comma) or
comma CSV. Flows within one municipality are not drawn (they are reported in the layer notes).

The reader and the flow geometry are domain code (the ``patientstroemme`` dataset of
:mod:`kkr_geo.layers.derived` is made from them); :mod:`kkr_geo.maps.flows` re-exports them.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kkr_geo.geo.crs import ANALYSIS_CRS
from kkr_geo.geo.errors import InputError

FROM_COLUMNS = ("bopaelskommune", "bopælskommune", "fra", "fra_kommune", "from")
TO_COLUMNS = ("klinikkommune", "til", "til_kommune", "to")
COUNT_COLUMNS = ("antal", "patienter", "count", "n")


def _whole(value) -> str:
    """A count the Danish way, rounded to a whole number: ``1250 -> '1.250'`` (as the maps print numbers)."""
    text = f"{float(value):,.0f}".replace(",", ".")
    return "0" if text == "-0" else text


def _pick(columns, options, what: str, path) -> str:
    lower = {str(c).strip().lower(): c for c in columns}
    for opt in options:
        if opt in lower:
            return lower[opt]
    raise InputError(f"{path}: no {what} column (expected one of {', '.join(options)}; found {', '.join(map(str, columns))}).",
                     hint="name the columns bopaelskommune;klinikkommune;antal.")


def read_flow_table(path: str | Path) -> pd.DataFrame:
    """Read a flow table into columns ``fra``, ``til``, ``antal``. Rows without a count (empty, not a
    number) or with a negative count are left out, and so are rows the table reader skipped: each group
    is logged, listed in ``attrs['notes']``, ``attrs['dropped_rows']`` (file lines) and
    ``attrs['left_out_rows']`` (for the build summary)."""
    from kkr_geo.layers import _left_out
    from kkr_geo.layers.indicators import read_table
    df = read_table(path)
    report = df.attrs["report"]
    f = _pick(df.columns, FROM_COLUMNS, "home municipality (bopælskommune)", path)
    t = _pick(df.columns, TO_COLUMNS, "clinic municipality (klinikkommune)", path)
    n = _pick(df.columns, COUNT_COLUMNS, "count (antal)", path)
    out = pd.DataFrame({"fra": df[f], "til": df[t], "antal": pd.to_numeric(df[n], errors="coerce")})
    missing = out["antal"].isna()
    negative = out["antal"] < 0
    if (missing | negative).all():
        raise InputError(f"{path}: column {n!r} has no usable counts.", hint="give patient numbers as whole numbers.")
    name = Path(path).name
    records = list(report.left_out)
    cell = {line: report.unread.get((int(line), str(n)), "") for line in out.index[missing]}
    if missing.any():
        records.append(_left_out.left_out(name, out.index[missing], "no count (empty or not a number)",
                                          "uden antal (tom eller ikke et tal)",
                                          examples=[f"line {ln}: {cell[ln]!r}" for ln in out.index[missing][:5]]))
    if negative.any():
        records.append(_left_out.left_out(name, out.index[negative], "a negative count", "negativt antal",
                                          examples=[f"line {ln}: {out.at[ln, 'fra']} -> {out.at[ln, 'til']}: "
                                                    f"{out.at[ln, 'antal']:g}" for ln in out.index[negative][:5]]))
    dropped = sorted(int(i) for i in out.index[missing | negative])
    out = out.drop(out.index[missing | negative])
    out.attrs["source_path"] = str(path)
    out.attrs["dropped_rows"] = dropped + list(report.skipped_lines)  # file line numbers (header = 1)
    out.attrs["notes"] = report.lines() + [r.note for r in records if r not in report.left_out]
    _left_out.add(out, records)
    return out


def _curve(p0, p1, bend: float = 0.18, n: int = 24) -> np.ndarray:
    """A quadratic Bézier from p0 to p1 bent to the right of the travel direction (A->B and B->A separate)."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    d = p1 - p0
    normal = np.array([d[1], -d[0]])
    ctrl = (p0 + p1) / 2 + bend * normal
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * ctrl + t ** 2 * p1


def _arrowhead(pts: np.ndarray, length: float, width: float) -> shapely.Polygon:
    tip = pts[-1]
    direction = tip - pts[-3]
    direction = direction / (np.linalg.norm(direction) or 1.0)
    back = tip - direction * length
    normal = np.array([-direction[1], direction[0]]) * width / 2
    return shapely.Polygon([tuple(tip), tuple(back + normal), tuple(back - normal)])


def flow_lines(table: pd.DataFrame, kommuner: gpd.GeoDataFrame, *, source: str = "flow table",
               min_count: float = 0) -> gpd.GeoDataFrame:
    """Flow lines (and arrowhead polygons, ``part == 'pil'``) between municipality anchor points."""
    from kkr_geo.layers.keys import normalise_kommunekode, normalise_name
    anchors = {}
    for code, name, geom in zip(kommuner["kommunekode"], kommuner["navn"], kommuner.geometry):
        part = max(getattr(geom, "geoms", [geom]), key=lambda g: g.area)
        pt = shapely.point_on_surface(part)
        anchors[str(code)] = (name, (pt.x, pt.y))
        anchors[normalise_name(name)] = (name, (pt.x, pt.y))

    def find(value):
        code = normalise_kommunekode(value)
        if code and code in anchors:
            return anchors[code]
        return anchors.get(normalise_name(value))

    unknown = sorted({str(v) for v in pd.concat([table["fra"], table["til"]]) if find(v) is None})
    if unknown:
        raise InputError(f"{source}: municipalities not in the region: {', '.join(unknown[:10])}.",
                         hint="use names or kommunekoder of Region Hovedstaden's municipalities.")
    agg = table.assign(fra_n=[find(v)[0] for v in table["fra"]], til_n=[find(v)[0] for v in table["til"]])
    agg = agg.groupby(["fra_n", "til_n"], as_index=False, sort=True)["antal"].sum()
    internal = agg[agg["fra_n"] == agg["til_n"]]
    agg = agg[(agg["fra_n"] != agg["til_n"]) & (agg["antal"] > min_count)]
    agg = agg.sort_values(["antal", "fra_n", "til_n"], ascending=[True, True, True])  # big flows drawn on top
    top = float(agg["antal"].max()) if len(agg) else 1.0
    rows, geoms = [], []
    name_to_pt = {v[0]: v[1] for v in anchors.values()}
    for r in agg.itertuples(index=False):
        pts = _curve(name_to_pt[r.fra_n], name_to_pt[r.til_n])
        dist = float(np.linalg.norm(pts[-1] - pts[0]))
        head = min(2500.0, 0.25 * dist)
        width = head * (0.5 + 0.6 * float(r.antal) / top)
        line_pts = pts.copy()
        line_pts[-1] = pts[-1] - (pts[-1] - pts[-3]) / (np.linalg.norm(pts[-1] - pts[-3]) or 1) * head * 0.8
        base = {"fra": r.fra_n, "til": r.til_n, "antal": float(r.antal),
                "beskrivelse": f"{r.fra_n} → {r.til_n}: {_whole(r.antal)} patienter"}
        rows.append({**base, "part": "linje"})
        geoms.append(shapely.LineString(line_pts))
        rows.append({**base, "part": "pil"})
        geoms.append(_arrowhead(pts, head, width))
    gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs=ANALYSIS_CRS) if rows else gpd.GeoDataFrame(
        {"fra": [], "til": [], "antal": [], "beskrivelse": [], "part": []}, geometry=[], crs=ANALYSIS_CRS)
    notes = []
    if len(internal):
        notes.append(f"{_whole(internal['antal'].sum())} patienter behandles i egen kommune (ikke vist som pile)")
    map_notes = list(notes)
    left = table.attrs.get("left_out_rows", [])
    if left:
        n_left = sum(len(r.numbers) for r in left)
        map_notes.append(f"{_whole(n_left)} rækker i tabellen er udeladt (uden antal, negativt antal eller "
                         "forkert antal celler); se byggeloggen")
    gdf.attrs.update(title="Patientstrømme", source=f"Patientstrømme ({Path(source).name})", precision="kommuneniveau",
                     status="ok", notes=list(table.attrs.get("notes", [])) + notes, map_notes=map_notes,
                     drawing_only={"part": ["pil"]})   # the arrowheads are a drawing device, not data (not exported)
    if left:
        gdf.attrs["left_out_rows"] = list(left)
    return gdf
