"""Reliability at scale: big tables and rasters are processed in bounded memory or refused clearly.

Nothing large is written: the 1 GB raster is a sparse GeoTIFF (its header declares the size, its
tiles are absent), and the table limits are tested with lowered limits via monkeypatch.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import rasterio
from affine import Affine

from kkr_geo.geo.errors import KkrGeoError
from reliability_cases import check, error_is_clear, reliability_ledger  # noqa: F401  (autouse fixture)

AREA = "scale"


def _sparse_raster(path, width, height, dtype="float32"):
    profile = {"driver": "GTiff", "width": width, "height": height, "count": 1, "dtype": dtype, "crs": "EPSG:25832",
               "transform": Affine(10, 0, 440_000, 0, -10, 6_410_000), "tiled": True, "blockxsize": 512,
               "blockysize": 512, "compress": "deflate", "sparse_ok": True, "nodata": 0}
    with rasterio.open(path, "w", **profile):
        pass  # no tiles written: the file stays a few kB
    return path


def test_one_gigabyte_raster_is_refused_without_reading(tmp_path):
    from kkr_geo.geo.population import PopulationGrid

    p = _sparse_raster(tmp_path / "befolkning_10m.tif", 16_384, 16_384)  # 268M float32 cells = 1.07 GB
    assert p.stat().st_size < 5_000_000
    t0 = time.perf_counter()
    with pytest.raises(KkrGeoError) as ei:
        PopulationGrid.from_raster(p, cell_size=100)
    fast = time.perf_counter() - t0 < 5
    ok = error_is_clear(ei.value, "befolkning_10m.tif", "cells") and fast and "gdalwarp" in ei.value.hint
    check("raster_1gb_refused", AREA, "refused", "refused" if ok else "unclear", str(ei.value))


def test_raster_guard_limit_is_enforced(tmp_path, monkeypatch):
    import kkr_geo.geo.population as pop

    path = tmp_path / "lille.tif"
    arr = np.ones((50, 40), dtype="float32")
    with rasterio.open(path, "w", driver="GTiff", width=40, height=50, count=1, dtype="float32", crs="EPSG:25832",
                       transform=Affine(100, 0, 700_000, 0, -100, 6_180_000)) as ds:
        ds.write(arr, 1)
    grid = pop.PopulationGrid.from_raster(path)
    ok_read = grid.total() == pytest.approx(2000)
    monkeypatch.setattr(pop, "MAX_RASTER_CELLS", 1000)
    with pytest.raises(KkrGeoError) as ei:
        pop.PopulationGrid.from_raster(path)
    ok = ok_read and error_is_clear(ei.value, "lille.tif", "2,000 cells")
    check("raster_guard_monkeypatched", AREA, "refused", "refused" if ok else "unclear", str(ei.value))


def test_table_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    import kkr_geo.layers.indicators as ind

    p = tmp_path / "stor.csv"
    p.write_text("kommunekode;værdi\n" + "".join(f"{101 + i % 99};{i},5\n" for i in range(20_000)), encoding="utf-8")
    monkeypatch.setattr(ind, "MAX_TABLE_BYTES", 100_000)
    with pytest.raises(KkrGeoError) as ei:
        ind.read_table(p)
    ok = error_is_clear(ei.value, "stor.csv", "MB")
    check("table_size_limit", AREA, "refused", "refused" if ok else "unclear", str(ei.value))


def test_default_limit_admits_a_million_row_table():
    import kkr_geo.layers.indicators as ind

    # a million rows of "kommunekode;kommune;værdi;andel" is ~36 MB: under the default limit
    assert 40 * 1024 * 1024 < ind.MAX_TABLE_BYTES <= 128 * 1024 * 1024


def test_large_table_every_row_kept(tmp_path):
    from kkr_geo.layers.indicators import read_table

    n = 50_000
    p = tmp_path / "mange.csv"
    def dk(i):  # 1.234,5 with a thousands dot
        return f"{i // 1000}.{i % 1000:03d},5" if i >= 1000 else f"{i},5"
    p.write_text("kommunekode;kommune;værdi\n" + "".join(f"{101 + i % 99};Kommune {i};{dk(i)}\n" for i in range(n)),
                 encoding="cp1252")
    t0 = time.perf_counter()
    df = read_table(p)
    secs = time.perf_counter() - t0
    ok = (len(df) == n and np.array_equal(df["værdi"].to_numpy(), np.arange(n) + 0.5)
          and df["kommune"].iloc[-1] == f"Kommune {n - 1}" and not df.attrs["report"].problems)
    check("table_50k_rows", AREA, "parses", "parses" if ok else "silent_loss", f"{len(df)} rows in {secs:.1f} s")


def test_xlsx_that_unpacks_too_large_is_refused(tmp_path, monkeypatch):
    import openpyxl

    import kkr_geo.layers.indicators as ind

    p = tmp_path / "bombe.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["kommunekode", "værdi"])
    for _ in range(2000):
        ws.append([101, "x" * 50])
    wb.save(p)
    monkeypatch.setattr(ind, "MAX_XLSX_UNPACKED_BYTES", 50_000)
    with pytest.raises(KkrGeoError) as ei:
        ind.read_table(p)
    ok = error_is_clear(ei.value, "bombe.xlsx", "unpacks")
    check("xlsx_unpacked_limit", AREA, "refused", "refused" if ok else "unclear", str(ei.value))


def test_memory_error_in_cli_is_a_message(monkeypatch, capsys):
    from kkr_geo import cli

    def boom(args):
        raise MemoryError()

    parser = cli.build_parser()
    args = parser.parse_args(["layers", "list"])
    monkeypatch.setattr(cli, "build_parser", lambda: _Fixed(parser, args, boom))
    code = cli.main(["layers", "list"])
    err = capsys.readouterr().err
    ok = code != 0 and "Traceback" not in err and "out of memory" in err
    check("cli_memory_error", AREA, "refused", "refused" if ok else "unclear", err)


class _Fixed:
    def __init__(self, parser, args, func):
        self.parser, self.args = parser, args
        self.args.func = func

    def parse_args(self, argv):
        return self.args

    def print_help(self):
        pass
