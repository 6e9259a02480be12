"""Safe file I/O: atomic writes and vector reading with clear errors."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pyogrio

from kkr_geo.geo.crs import to_analysis_crs
from kkr_geo.geo.errors import InputError


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` only on success.

    A failure (or an interrupt) inside the block removes the temporary file, so a half-written
    output never appears under the target name.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = suffix if suffix is not None else "".join(target.suffixes) or ".tmp"
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".part{suffix}", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.unlink()  # writers (GDAL, matplotlib) want to create the file themselves
    try:
        yield tmp_path
        if not tmp_path.exists():
            raise RuntimeError(f"nothing was written to {tmp_path}")
        os.replace(tmp_path, target)
    except BaseException:
        for leftover in (tmp_path, Path(str(tmp_path) + "-journal"), Path(str(tmp_path) + "-wal"), Path(str(tmp_path) + "-shm")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        raise


def write_text_atomic(target: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(target)


def write_bytes_atomic(target: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def read_vector(path: str | os.PathLike, *, layer: str | None = None, assume_crs=None) -> gpd.GeoDataFrame:
    """Read a vector file (GeoPackage, GeoJSON, Shapefile, ...) into EPSG:25832.

    Errors name the file (and layer) and say what to do.
    """
    path = Path(path)
    label = f"{path}" + (f" (layer {layer})" if layer else "")
    if not path.exists():
        raise InputError(f"{label}: file not found.", hint="check the path, or run `kkr-geo data status`.")
    try:
        gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as exc:
        raise InputError(f"{label}: cannot be read as a vector dataset ({exc}).",
                         hint="open it in QGIS to check it, or export it again as GeoPackage.") from None
    if "geometry" not in gdf or not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"{label}: has no geometry column.", hint="supply a spatial layer, not a plain table.")
    return to_analysis_crs(gdf, source=label, assume_crs=assume_crs)


def list_layers(path: str | os.PathLike) -> list[str]:
    return [str(name) for name, _ in pyogrio.list_layers(path)]
