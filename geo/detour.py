"""Detour factors per area: straight-line distance × the factor *measured* where the cell lies.

The straight-line fallback (no road file) multiplies the straight line by a detour factor. Instead of
one factor for the whole region, :class:`AreaDetourFactors` holds one per area (the kommuner) and
gives every populated cell the factor of the area its centre lies in (cells in no area: the
``default``, the regional median). The analyses take it wherever they take a scalar
``detour_factor`` and stay exact: coverage scales each cell's straight-line distance by its own
factor; catchments band each group of cells with the same factor with that factor (see
:mod:`geo.catchment`); 2SFCA scales each candidate pair by its cell's factor.

:func:`measure_detour_factors` measures the factors on a street network: for a fixed-seed sample of
populated cells in each area, network distance ÷ straight-line distance to the nearest facility
(e.g. station), both measured the way the analyses measure them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kkr_geo.geo.errors import InputError

#: Columns of the detour-factor table (and its CSV).
COLUMNS = ["kommunekode", "kommune", "omvejsfaktor_median", "omvejsfaktor_p90", "antal_par"]
#: A kommune needs this many measured pairs for its own factor (otherwise it gets the regional median).
MIN_PAIRS = 50


@dataclass
class AreaDetourFactors:
    """One detour factor per area polygon; ``default`` for cells in no area."""

    areas: gpd.GeoDataFrame            # polygons, EPSG:25832
    factors: np.ndarray                # one per area (≥ 1)
    default: float
    names: list[str] = field(default_factory=list)
    source: str = ""
    _cache: dict = field(default_factory=dict, repr=False)

    def cell_factors(self, grid) -> np.ndarray:
        """The factor of every populated cell (aligned with ``grid.cell_centres()``), by cell centre."""
        key = (id(grid), grid.values.shape, len(grid.cell_centres().population))
        if key not in self._cache:
            xy = grid.cell_xy()
            out = np.full(len(xy), float(self.default))
            for geom, f in zip(self.areas.geometry.values, self.factors):
                if geom is None or geom.is_empty:
                    continue
                inside = shapely.contains_xy(geom, xy[:, 0], xy[:, 1])
                out[inside & (out == float(self.default))] = float(f)
            self._cache.clear()
            self._cache[key] = out
        return self._cache[key]

    @property
    def median(self) -> float:
        return float(self.default)

    def describe(self) -> dict:
        return {
            "distance_method": f"euclidean × detour factor per area (median {self.default:.2f})",
            "detour_factor": float(self.default),
            "detour_factors": {n: round(float(f), 3) for n, f in zip(self.names, self.factors)},
            "detour_factor_source": self.source,
            "network": None,
        }


def is_area_factors(value) -> bool:
    return isinstance(value, AreaDetourFactors)


def measure_detour_factors(network, areas: gpd.GeoDataFrame, grid, facilities_xy: np.ndarray, *,
                           code_column: str = "kommunekode", name_column: str = "navn", per_area: int = 300,
                           min_m: float = 200.0, max_m: float = 3000.0, seed: int = 20) -> pd.DataFrame:
    """Network ÷ straight-line distance per area, for a sample of populated cells to the nearest facility.

    In each area, up to ``per_area`` populated cells are drawn (with probability ∝ population, fixed
    ``seed``: the same table every run). For each, the network distance to the nearest facility (as
    coverage measures it: cell centre and facility joined at the nearest usable street) is divided by
    the straight-line distance to the nearest facility; cells whose straight-line distance is outside
    ``min_m``–``max_m`` (a tiny denominator, or beyond walking/cycling range) or that reach no facility
    on the network are left out. Returns :data:`COLUMNS` (median, 90th percentile, number of pairs)."""
    from scipy.spatial import cKDTree

    from kkr_geo.geo.crs import to_analysis_crs
    for col in (code_column, name_column):
        if col not in areas.columns:
            raise InputError(f"areas: no column {col!r}.", hint=f"pass {'code' if col == code_column else 'name'}_column=.")
    areas = to_analysis_crs(areas, source="areas")
    fac = np.asarray(facilities_xy, dtype=float).reshape(-1, 2)
    if len(fac) == 0:
        raise InputError("no facilities to measure detour factors against.", hint="pass the stations.")
    rng = np.random.default_rng(seed)
    xy = grid.cell_xy()
    pop = grid.cell_centres().population
    node_d = network.distances_from(fac, limit=max_m * 4)
    straight_tree = cKDTree(fac)
    rows = []
    for code, name, geom in zip(areas[code_column].astype(str), areas[name_column].astype(str), areas.geometry.values):
        inside: np.ndarray = (np.flatnonzero(shapely.contains_xy(geom, xy[:, 0], xy[:, 1]) & (pop > 0))
                              if geom is not None else np.empty(0, np.int64))
        ratios = np.empty(0)
        if len(inside):
            ds, _ = straight_tree.query(xy[inside])
            cand = inside[(ds >= min_m) & (ds <= max_m)]
            if len(cand):
                p = pop[cand] / pop[cand].sum()
                pick = rng.choice(cand, size=min(per_area, len(cand)), replace=False, p=p)
                dn = network.cell_distances(node_d, xy[pick], source_xy=fac)
                dsp, _ = straight_tree.query(xy[pick])
                ok = np.isfinite(dn)
                ratios = dn[ok] / dsp[ok]
        rows.append({"kommunekode": code, "kommune": name,
                     "omvejsfaktor_median": float(np.median(ratios)) if len(ratios) else np.nan,
                     "omvejsfaktor_p90": float(np.percentile(ratios, 90)) if len(ratios) else np.nan,
                     "antal_par": int(len(ratios))})
    return pd.DataFrame(rows, columns=COLUMNS)


def write_detour_csv(table: pd.DataFrame, path) -> None:
    """The table as a Danish CSV: ``;``-separated, UTF-8, decimal **comma** (``1,32``), one header line,
    no comment lines; kommunekode as 4-digit text."""
    from kkr_geo.geo.io import write_text_atomic
    out = table[COLUMNS].copy()
    out["kommunekode"] = out["kommunekode"].astype(str).str.zfill(4)
    for c in ("omvejsfaktor_median", "omvejsfaktor_p90"):
        out[c] = [("" if not np.isfinite(v) else f"{v:.3f}".replace(".", ",")) for v in out[c]]
    write_text_atomic(path, out.to_csv(sep=";", index=False, lineterminator="\n"))


def read_detour_csv(path) -> pd.DataFrame:
    """Read :func:`write_detour_csv`'s format (decimal comma or point); InputError naming the file and
    the problem for anything else."""
    try:
        raw = pd.read_csv(path, sep=";", dtype=str, encoding="utf-8-sig")
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"{path}: cannot be read as a detour-factor table ({exc}).",
                         hint="regenerate it with `python -m kkr_geo.layers.detour --out FILE`.") from None
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}.", hint=f"the columns are {';'.join(COLUMNS)}.")
    out = raw[COLUMNS].copy()
    out["kommunekode"] = out["kommunekode"].str.strip().str.zfill(4)
    for c in ("omvejsfaktor_median", "omvejsfaktor_p90"):
        vals = pd.to_numeric(out[c].str.strip().str.replace(",", ".", regex=False), errors="coerce")
        bad = out[c].notna() & out[c].str.strip().ne("") & vals.isna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"{path}, line {i + 2}: {c} {out[c].iloc[i]!r} is not a number.", hint="e.g. 1,32")
        if (vals.dropna() < 1).any():
            i = int(np.flatnonzero((vals < 1).to_numpy())[0])
            raise InputError(f"{path}, line {i + 2}: {c} {vals.iloc[i]} is below 1 (a route is never shorter than "
                             "the straight line).", hint="regenerate the table.")
        out[c] = vals
    out["antal_par"] = pd.to_numeric(out["antal_par"], errors="coerce").fillna(0).astype(int)
    return out
