"""Turn a spec plus its data sources into a :class:`PreparedMap` that both renderers draw.

Here the layers are resolved and filtered, the indicator is classified, schematic geometry is
recognised from the layers' provenance, and the source line ("Kilde: ...") is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kkr_geo.geo.errors import InputError
from kkr_geo.geo.provenance import carry_provenance
from kkr_geo.maps.catchment_areas import drawn_areas
from kkr_geo.maps.classify import Classification, classify
from kkr_geo.maps.danish_numbers import fmt_number
from kkr_geo.maps.spec import LayerSpec, MapSpec

# Parts of the region east of this easting (EPSG:25832) are Bornholm (and Christiansø).
BORNHOLM_MIN_X = 800_000.0
COPENHAGEN_CODES = ("0101", "0147")  # København and Frederiksberg: the detail panel of planning-area maps

PRECISION_NOTES = {
    "schematic": "skematisk linjeføring",
    "postnummer-tilnærmet": "Københavns planlægningsområder tilnærmet ved postnumre",
}


@dataclass
class PreparedLayer:
    spec: LayerSpec
    gdf: gpd.GeoDataFrame
    schematic: bool
    label: str
    # every filtered row, including those without geometry (a catchment that reaches nobody still has
    # a row in the figures box: "ikke opgjort" instead of vanishing from the map)
    rows: gpd.GeoDataFrame | None = None

    @property
    def style(self) -> str:
        return self.spec.style


@dataclass
class FigureRow:
    name: str
    values: list[float]            # cumulative population per distance; NaN = not counted (outside the region)
    note: str | None = None        # e.g. "kun regionens del" when a ring reaches outside the region

    def text(self) -> str:
        """"ca. 21.000 / ca. 49.900" (rounded to what the method supports), "ikke opgjort" where not counted."""
        from kkr_geo.maps.danish_numbers import fmt_population_approx
        if not any(v == v for v in self.values):
            return "ikke opgjort"
        out = " / ".join(fmt_population_approx(v) if v == v else "ikke opgjort" for v in self.values)
        return out + (f" ({self.note})" if self.note else "")


@dataclass
class PreparedMap:
    spec: MapSpec
    layers: list[PreparedLayer]
    classification: Classification | None
    source_line: str
    date_line: str | None
    extent: tuple[float, float, float, float]          # main map (mainland), EPSG:25832
    inset_extent: tuple[float, float, float, float] | None  # Bornholm, or None
    notes: list[str] = field(default_factory=list)
    detail_extent: tuple[float, float, float, float] | None = None  # København/Frederiksberg panel, or None
    table: object = None                                     # maps.table.MapTable (spec ``table:``) or None
    # what the HTML map opens on when it differs from ``extent``: a fixed print extent leaves room for the
    # printed legend; on a screen the map is fitted to the region's mainland inside it
    screen_extent: tuple[float, float, float, float] | None = None
    # the analysis tables behind the map's layers (``<source>`` and ``<source>_pr_omraade``) and their method
    # metadata, taken when the map is prepared: every output of the map (figure CSV, annex PDF, index card)
    # is made from this prepared map alone, in whichever process renders it
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    table_meta: dict[str, dict] = field(default_factory=dict)

    def layer(self, layer_id: str) -> PreparedLayer:
        for lay in self.layers:
            if lay.spec.id == layer_id:
                return lay
        raise KeyError(layer_id)

    @property
    def indicator_layer(self) -> PreparedLayer | None:
        if self.spec.indicator is None:
            return None
        return self.layer(self.spec.indicator.layer)

    def figures(self) -> tuple[str, list[str], list[FigureRow]] | None:
        """(title, column headers, rows) of cumulative population per catchment feature, or None."""
        fig = self.spec.figures
        if not fig:
            return None
        lay = self.layer(fig["layer"])
        gdf = lay.rows if lay.rows is not None else lay.gdf
        if not {"feature", "population", "distance_m"} <= set(gdf.columns):
            return None
        dists = sorted(pd.unique(gdf["distance_m"].astype(float)))
        heads = [f"{fmt_number(d, 0)} m" for d in dists]
        rows = []
        name_col = "navn" if "navn" in gdf.columns else "feature"
        for feat, grp in gdf.groupby(name_col, sort=False):
            grp = grp.sort_values("distance_m")
            status = grp["opgjort"].tolist() if "opgjort" in grp.columns else ["ja"] * len(grp)
            values, acc, counted = [], 0.0, False
            for pop in grp["population"].astype(float):
                if pop == pop:
                    acc, counted = acc + pop, True
                values.append(acc if counted else float("nan"))  # cumulative; NaN until a ring was counted
            partial = counted and any(s != "ja" for s in status)
            rows.append(FigureRow(str(feat), values, "kun regionens del" if partial else None))
        title = fig.get("title") or "Befolkning inden for " + " / ".join(heads)
        return title, heads, rows

    def legend_title(self) -> str | None:
        ind = self.spec.indicator
        if ind is None:
            return None
        # no doubled unit: "Borgere pr. kapacitet (borgere)" says "borgere" twice
        if ind.unit and ind.unit.lower() not in ind.label.lower():
            return f"{ind.label} ({ind.unit})"
        return ind.label

    def legend_notes(self) -> list[str]:
        """Small legend lines under the classes: which end is worse, the method, shared classes."""
        cls, ind = self.classification, self.spec.indicator
        if cls is None or ind is None:
            return []
        out = []
        if ind.darker:
            out.append(f"Mørkere = {ind.darker}")
        out.append(f"Klasser: {cls.method}")
        if self.spec.classification.pool_note:
            out.append(self.spec.classification.pool_note)
        return out


def known_gaps_note(gaps: list[str]) -> str:
    """The map line listing the layers' known gaps (missing stops, missing stations, no corridor)."""
    return "Kendte mangler: " + "; ".join(g.rstrip(".") for g in gaps) + "."


def population_date_note(gdf: gpd.GeoDataFrame) -> str | None:
    """One reference date for a layer's population figures, and the exceptions by name:
    "Befolkning pr. kommune 1.1.2023 (København 1.1.2025, Ishøj 1.1.2024)"."""
    from kkr_geo.maps.danish_numbers import fmt_date_da
    dates = pd.to_datetime(gdf["befolkning_dato"], errors="coerce")
    if dates.notna().sum() == 0:
        return None
    iso = dates.dt.strftime("%Y-%m-%d")
    ref = iso.dropna().value_counts().sort_index().idxmax()
    names = gdf["navn"] if "navn" in gdf.columns else pd.Series(gdf.index.astype(str), index=gdf.index)
    other = [f"{n} {fmt_date_da(d)}" for n, d in zip(names, iso) if isinstance(d, str) and d != ref]
    return f"Befolkning pr. kommune {fmt_date_da(ref)}" + (f" ({', '.join(other)})" if other else "")


def is_schematic(gdf: gpd.GeoDataFrame, override: bool | None = None) -> bool:
    if override is not None:
        return override
    prec = str(gdf.attrs.get("precision", "")).lower()
    if "schematic" in prec or "skematisk" in prec:
        return True
    if "precision" in gdf.columns:
        return bool(gdf["precision"].astype(str).str.lower().str.contains("schematic|skematisk").any())
    return False


def _first_sentence(text: str) -> str:
    return str(text).split("\n")[0].rstrip(".")


def _apply_filter(gdf: gpd.GeoDataFrame, filt: dict, label: str) -> gpd.GeoDataFrame:
    for col, wanted in filt.items():
        if col not in gdf.columns:
            raise InputError(f"{label}: filter column {col!r} is not in the layer (columns: {', '.join(map(str, gdf.columns))}).")
        values = wanted if isinstance(wanted, list) else [wanted]
        gdf = gdf[gdf[col].astype(str).isin([str(v) for v in values])]
    return gdf


def provenance(layers: list[PreparedLayer], spec: MapSpec) -> tuple[str, list[str]]:
    """Build "Kilde: A, B; note" from the layers' ``source`` and ``precision`` attributes."""
    sources: list[str] = []
    notes: list[str] = []
    for lay in layers:
        src = lay.spec.source_note or lay.gdf.attrs.get("source") or ""
        for part in str(src).replace(" og ", "; ").split(";"):
            part = part.strip()
            if part.lower().startswith(("skematisk", "schematic")):
                if PRECISION_NOTES["schematic"] not in notes:
                    notes.append(PRECISION_NOTES["schematic"])
                continue
            if part and part not in sources:
                sources.append(part)
        if lay.schematic and PRECISION_NOTES["schematic"] not in notes:
            notes.append(PRECISION_NOTES["schematic"])
        precs = {str(lay.gdf.attrs.get("precision", ""))}
        if "precision" in lay.gdf.columns:
            precs |= set(lay.gdf["precision"].dropna().astype(str))
        for prec in sorted(precs):
            note = PRECISION_NOTES.get(prec)
            if note and note not in notes:
                notes.append(note)
    for extra in spec.sources:
        if extra not in sources:
            sources.append(extra)
    line = "Kilde: " + ", ".join(sources) if sources else ""
    if notes:
        line += ("; " if line else "") + "; ".join(notes)
    return line, notes


def _bounds(gdfs, *, min_part_km2: float = 0.0) -> tuple[float, float, float, float] | None:
    """Bounds of the layers; polygon parts smaller than ``min_part_km2`` (remote islets such as
    Hesselø) do not widen the map frame."""
    boxes = []
    for g in gdfs:
        if not len(g) or g.geometry.is_empty.all():
            continue
        geoms = g.geometry
        if min_part_km2 > 0 and geoms.geom_type.str.contains("Polygon").all():
            parts = geoms.explode(index_parts=False)
            big = parts[parts.area >= min_part_km2 * 1e6]
            if len(big):
                geoms = big
        boxes.append(geoms.total_bounds)
    if not boxes:
        return None
    b = np.array(boxes)
    return (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()))


def split_bornholm(gdf: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """(mainland part, Bornholm part) by representative point easting."""
    if len(gdf) == 0:
        return gdf, gdf
    x = gdf.geometry.representative_point().x
    return gdf[x < BORNHOLM_MIN_X], gdf[x >= BORNHOLM_MIN_X]


def prepare(spec: MapSpec, sources, *, date_stamp: str | None = None) -> PreparedMap:
    """Resolve ``spec`` against ``sources`` (a :class:`maps.sources.Sources`); the figures its texts
    quote (``{tal:name}``) are computed from the data (:mod:`kkr_geo.maps.text_figures`), and the area
    names they state are checked on the data (``claims:``, :mod:`kkr_geo.maps.claims`; a false claim
    raises :class:`~kkr_geo.maps.claims.ClaimFalse`)."""
    from kkr_geo.maps.sources import SourceUnavailable
    from kkr_geo.maps.text_figures import resolve
    spec = resolve(spec, sources)
    layers: list[PreparedLayer] = []
    skipped_notes: list[str] = []
    for lspec in spec.layers:
        try:
            gdf = sources.get(lspec.source)
        except SourceUnavailable:
            if not lspec.optional:
                raise
            skipped_notes.append(f"{lspec.label or lspec.source}: ikke vist – ingen geometri i datagrundlaget")
            continue
        source_gdf = gdf
        gdf = _apply_filter(gdf, lspec.filter, f"{spec.name}: layer {lspec.id}")
        rows = gdf
        # features with a drawable geometry ("ikke stedfæstet" projects have none, or an empty one)
        has_geometry = ~(shapely.is_missing(gdf.geometry.values) | shapely.is_empty(gdf.geometry.values))
        gdf = carry_provenance(gdf[has_geometry].copy(), source_gdf)
        # grid-cell geometry (network catchments, served cells) is drawn as closed areas; ``rows`` keep the cells
        gdf = drawn_areas(gdf)
        attrs = gdf.attrs
        for col in lspec.tooltip + lspec.popup:
            if col not in gdf.columns:
                raise InputError(f"{spec.path.name if spec.path else spec.name}: layers ({lspec.id}): tooltip/popup column "
                                 f"{col!r} is not in source {lspec.source!r}.", hint=f"columns: {', '.join(c for c in gdf.columns if c != 'geometry')}")
        schematic = is_schematic(gdf, lspec.schematic)
        label = lspec.label or attrs.get("title") or lspec.source
        if schematic and "skematisk" not in label.lower():
            label = (f"{label} (skematisk linjeføring)" if lspec.style in ("line", "context")
                     else f"{label}, beregnet fra skematisk linjeføring" if lspec.style == "catchment"
                     else f"{label} (skematisk)")
        layers.append(PreparedLayer(lspec, gdf, schematic, label, rows))

    from kkr_geo.maps.claims import check_claims
    check_claims(spec, {lay.spec.id: (lay.rows if lay.rows is not None else lay.gdf) for lay in layers}, sources)

    classification = None
    if spec.indicator is not None:
        ind = spec.indicator
        lay = next(lay for lay in layers if lay.spec.id == ind.layer)
        if ind.column not in lay.gdf.columns:
            raise InputError(f"{spec.path.name if spec.path else spec.name}: indicator.column: {ind.column!r} is not in source "
                             f"{lay.spec.source!r}.", hint=f"columns: {', '.join(c for c in lay.gdf.columns if c != 'geometry')}")
        values = pd.to_numeric(lay.gdf[ind.column], errors="coerce").to_numpy(dtype=float)
        cs = spec.classification
        pool = None
        if cs.pool:
            missing = [c for c in cs.pool if c not in lay.gdf.columns]
            if missing:
                raise InputError(f"{spec.path.name if spec.path else spec.name}: classification.pool: column(s) {missing} "
                                 f"are not in source {lay.spec.source!r}.")
            pool = np.concatenate([pd.to_numeric(lay.gdf[c], errors="coerce").to_numpy(dtype=float) for c in cs.pool])
        classification = classify(values, cs.scheme, cs.k, cs.breaks, spec.palette, ind.decimals, pool=pool)

    # Extent: the mainland part of the region (Bornholm goes in an inset).
    screen = None
    if isinstance(spec.extent, list):
        extent = tuple(float(v) for v in spec.extent)
        inset = None
        try:
            region = _bounds([split_bornholm(sources.get("kommuner"))[0]], min_part_km2=1.0)
        except SourceUnavailable:  # no region layer: the screen opens on the print extent
            region = None
        if region is not None:
            box = (max(extent[0], region[0]), max(extent[1], region[1]), min(extent[2], region[2]), min(extent[3], region[3]))
            screen = box if box[0] < box[2] and box[1] < box[3] else None
    else:
        if spec.extent == "region":
            base = [sources.get("kommuner")]
        elif spec.extent == "data":
            base = [lay.gdf for lay in layers if lay.style not in ("context",)] or [sources.get("kommuner")]
        else:
            base = [next(lay.gdf for lay in layers if lay.spec.id == spec.extent)]
        main_parts, bh_parts = zip(*(split_bornholm(g) for g in base))
        extent = _bounds(main_parts, min_part_km2=1.0) or _bounds(base)
        bh = _bounds(bh_parts)
        inset = None
        if spec.inset != "none" and (bh is not None or spec.inset == "bornholm"):
            kom = sources.get("kommuner")
            inset = _bounds([split_bornholm(kom)[1]]) or bh
        if extent is None:
            raise InputError(f"{spec.name}: extent: the layers have no geometry to fit the map to.")
    detail = None
    if spec.copenhagen_inset:
        kom = sources.get("kommuner")
        kf = kom[kom["kommunekode"].isin(COPENHAGEN_CODES)] if "kommunekode" in kom.columns else kom.iloc[0:0]
        detail = _bounds([kf], min_part_km2=1.0)
        if detail is not None:
            dx, dy = (detail[2] - detail[0]) * 0.03, (detail[3] - detail[1]) * 0.03
            detail = (detail[0] - dx, detail[1] - dy, detail[2] + dx, detail[3] + dy)
    source_line, notes = provenance(layers, spec)
    date_parts = []
    if spec.data_date:
        date_parts.append(f"Datagrundlag: {spec.data_date}")
    if date_stamp:
        from kkr_geo.maps.danish_numbers import fmt_date_da
        date_parts.append(f"Udarbejdet {fmt_date_da(date_stamp)}")
    map_notes = list(spec.notes)
    for lay in layers:
        for note in lay.gdf.attrs.get("map_notes", []):
            if note not in map_notes:
                map_notes.append(note)
    gaps: list[str] = []
    for lay in layers:
        for gap in lay.gdf.attrs.get("gaps", []):
            if gap not in gaps:
                gaps.append(gap)
    if gaps:
        map_notes.append(known_gaps_note(gaps))
    for lay in layers:
        if "befolkning_dato" in lay.gdf.columns and "befolkning" in lay.spec.tooltip + lay.spec.popup:
            note = population_date_note(lay.gdf)
            if note and note not in map_notes:
                map_notes.append(note)
    map_notes += skipped_notes
    return PreparedMap(spec=spec, layers=layers, classification=classification, source_line=source_line,
                       date_line=" · ".join(date_parts) or None, extent=extent, inset_extent=inset,
                       notes=map_notes, detail_extent=detail, table=_table(spec, sources), screen_extent=screen,
                       **_analysis_tables(layers, sources))


def _analysis_tables(layers: list[PreparedLayer], sources) -> dict[str, dict]:
    """The analysis results of the map's sources (made by now: the layers were just read) as
    ``{"tables": {name: main, name_pr_omraade: by area}, "table_meta": {name: meta}}``."""
    tables: dict[str, pd.DataFrame] = {}
    meta: dict[str, dict] = {}
    result = getattr(sources, "result", None)
    for name in dict.fromkeys(lay.spec.source for lay in layers):
        res = result(name) if result is not None else None
        if res is None:
            continue
        tables[name] = res.tables["main"]
        if "pr_omraade" in res.tables:
            tables[f"{name}_pr_omraade"] = res.tables["pr_omraade"]
        meta[name] = dict(res.meta)
    return {"tables": tables, "table_meta": meta}


def _table(spec: MapSpec, sources):
    if not getattr(spec, "table", None):
        return None
    from kkr_geo.maps.table import make_table
    return make_table(spec.table, sources)
