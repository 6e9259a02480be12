"""Detour factors per kommune, measured on the road network: the straight-line fallback's factors.

Users without the road file (it cannot be shipped) get straight-line distance × a detour factor. The
factor is measured per kommune on the road network (after the fixes of issue 20) and kept as a small
table in the package's ``data/afstand/omvejsfaktorer_kommuner.csv`` (dataset ``omvejsfaktorer``):
``kommunekode;kommune;omvejsfaktor_median;omvejsfaktor_p90;antal_par``, ``;``-separated, UTF-8,
**decimal comma**, one header line. Regenerate it from a road file with::

    python -m kkr_geo.layers.detour --out data/afstand/omvejsfaktorer_kommuner.csv

(sample: up to 300 populated cells per kommune, drawn ∝ population with a fixed seed, to the nearest
rail station 200–3,000 m away in a straight line; network ÷ straight line as coverage measures it).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from kkr_geo.layers import catalog
from kkr_geo.layers.datadir import resolve_data_dir

#: the table is declared in kkr_geo.layers.catalog
KEY = "omvejsfaktorer"
REL_PATH = catalog.DATASETS[KEY].path

log = logging.getLogger("kkr_geo.layers.detour")


def factors_path(data_dir=None) -> Path | None:
    """The factor table: the data directory's copy, else the embedded default's (``dd.file``); None when
    neither has one."""
    p = resolve_data_dir(data_dir).file(REL_PATH)
    return p if p.exists() else None


def kommune_detour_factors(data_dir=None):
    """An :class:`~kkr_geo.geo.detour.AreaDetourFactors` for the region's kommuner from the table, or None
    (with a warning) when the table or the kommune polygons are missing."""
    from kkr_geo.geo.detour import MIN_PAIRS, AreaDetourFactors, read_detour_csv
    from kkr_geo.geo.errors import DataError
    from kkr_geo.layers.registry import load_layer
    path = factors_path(data_dir)
    if path is None:
        log.warning("no detour-factor table (%s): straight line × 1.3 everywhere", REL_PATH)
        return None
    table = read_detour_csv(path)
    usable = table[(table["antal_par"] >= MIN_PAIRS) & table["omvejsfaktor_median"].notna()]
    if usable.empty:
        log.warning("%s holds no kommune with %d measured pairs: straight line × 1.3 everywhere", path, MIN_PAIRS)
        return None
    try:
        kommuner = load_layer("kommuner", data_dir)
    except DataError as exc:
        log.warning("detour factors per kommune need the kommune polygons (%s): straight line × 1.3", exc)
        return None
    f = dict(zip(usable["kommunekode"], usable["omvejsfaktor_median"].astype(float)))
    k = kommuner[kommuner["kommunekode"].isin(f)]
    default = float(np.median(list(f.values())))
    return AreaDetourFactors(areas=k[["kommunekode", "navn", "geometry"]].reset_index(drop=True),
                             factors=np.array([f[c] for c in k["kommunekode"]]), default=default,
                             names=list(k["navn"].astype(str)), source=str(path))


def measure(data_dir=None, *, per_area: int = 300, seed: int = 20):
    """Measure the table on the data directory's road network, stations and population surface."""
    from kkr_geo.geo.detour import measure_detour_factors
    from kkr_geo.layers import roads
    from kkr_geo.layers.region_population import region_population_grid
    from kkr_geo.layers.registry import load_layer
    dd = resolve_data_dir(data_dir)
    net = roads.street_network(dd)
    grid = region_population_grid(dd)
    st = load_layer("stationer", dd)
    kommuner = load_layer("kommuner", dd)
    xy = np.column_stack([st.geometry.x, st.geometry.y])
    return measure_detour_factors(net, kommuner, grid, xy, per_area=per_area, seed=seed)


def main(argv=None) -> int:
    from kkr_geo.geo.detour import write_detour_csv
    from kkr_geo.geo.errors import KkrGeoError
    from kkr_geo.geo.log import setup
    ap = argparse.ArgumentParser(prog="python -m kkr_geo.layers.detour",
                                 description="Measure the detour factor per kommune on the road network and "
                                             "write it as a Danish CSV (; and decimal comma).")
    ap.add_argument("--out", required=True, help="CSV to write, e.g. data/afstand/omvejsfaktorer_kommuner.csv")
    ap.add_argument("--data-dir", help="data directory with the road file (default: resolved like the CLI)")
    ap.add_argument("--per-kommune", type=int, default=300, help="sampled cells per kommune (default 300)")
    ap.add_argument("--seed", type=int, default=20)
    args = ap.parse_args(argv)
    setup()  # the table and the summary are logged (INFO, stderr); the result is the CSV file
    try:
        table = measure(args.data_dir, per_area=args.per_kommune, seed=args.seed)
        write_detour_csv(table, args.out)
    except KkrGeoError as exc:
        log.error("%s", exc)
        return 2
    log.info("%s", table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    fin = table["omvejsfaktor_median"].dropna()
    log.info("median over kommuner %.2f; range %.2f–%.2f; written to %s", fin.median(), fin.min(), fin.max(), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
