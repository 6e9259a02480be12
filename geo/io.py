"""Safe file I/O: atomic writes and vector reading with clear errors."""

from __future__ import annotations

import contextlib
import os
import re
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
    remove_stale_parts(target.parent, stem=target.stem)
    # the writing process's id is in the name, so a later run can tell a leftover of a killed run
    # (process gone) from a file another run is writing right now
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.{os.getpid()}-", suffix=f".part{suffix}", dir=target.parent)
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


_PART = re.compile(r"^\.(?P<stem>.+?)\.(?:(?P<pid>\d+)-)?[^.]*\.part(?:\.[^.]+)+?(?:-journal|-wal|-shm)?$")


def remove_stale_parts(directory: str | os.PathLike, *, stem: str | None = None) -> list[Path]:
    """Remove temporary files (``.<name>.<pid>-<random>.part.<ext>`` and their SQLite journals) left
    in ``directory`` by a run that was killed (SIGKILL, power loss: no cleanup ran). A file whose
    process is still alive is kept; files in the older naming without a process id are removed
    (no running version writes them). ``stem`` limits the clean-up to one target. Returns the
    removed paths."""
    directory = Path(directory)
    removed: list[Path] = []
    if not directory.is_dir():
        return removed
    for p in directory.iterdir():
        m = _PART.match(p.name)
        if not m or (stem is not None and m.group("stem") != stem) or not p.is_file():
            continue
        pid = m.group("pid")
        if pid is not None and _alive(int(pid)):
            continue
        with contextlib.suppress(FileNotFoundError, PermissionError):
            p.unlink()
            removed.append(p)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but belongs to someone else
    return True


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

    Errors name the file (and layer) and say what to do. A file with several spatial layers is
    refused unless ``layer`` names one (nothing is picked silently). A file without a CRS (a
    shapefile without ``.prj``) is read in ``assume_crs``, or in the CRS its coordinates
    unambiguously fit; what was assumed is in ``attrs['crs_note']`` and ``attrs['notes']``.
    Library warnings raised while reading become notes in ``attrs['notes']`` too.
    """
    import warnings

    path = Path(path)
    label = f"{path}" + (f" (layer {layer})" if layer else "")
    if not path.exists():
        raise InputError(f"{label}: file not found.", hint="check the path, or run `kkr-geo data status`.")
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if layer is None:
            layer = _only_spatial_layer(path)
        try:
            gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as exc:
            raise InputError(f"{label}: cannot be read as a vector dataset ({exc}).",
                             hint="open it in QGIS to check it, or export it again as GeoPackage.") from None
    notes += [f"{path.name}: {w.message}" for w in caught]
    if "geometry" not in gdf or not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"{label}: has no geometry column.", hint="supply a spatial layer, not a plain table.")
    text_notes = restore_cut_text(gdf, path) if path.suffix.lower() in _JSON_SUFFIXES else []
    notes += text_notes
    if gdf.crs is None and path.suffix.lower() == ".shp" and not path.with_suffix(".prj").exists():
        label += " (no .prj file)"
    out = to_analysis_crs(gdf, source=label, assume_crs=assume_crs)
    if out.attrs.get("crs_note"):
        notes.insert(0, out.attrs["crs_note"])
    out.attrs["notes"] = notes
    out.attrs["text_notes"] = text_notes
    return out


_JSON_SUFFIXES = {".geojson", ".json"}
# A JSON escape the reader cuts or changes: NUL (GDAL ends the text there: "F\u00f8r\u0000efter" -> "Før")
# and a lone surrogate (no character; GDAL writes U+FFFD without a word). Found in the raw bytes, so a
# file without them costs one scan.
_CUT_ESCAPES = re.compile(rb"\\u0000|\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
                          rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NAME_FIELDS = ("navn", "name", "NAVN", "NAME", "KOMNAVN", "kliniknavn", "id")


def restore_cut_text(gdf: gpd.GeoDataFrame, path: Path) -> list[str]:
    """Text properties of a GeoJSON file that the reader cut at a NUL (``\\u0000``) or changed (a lone
    surrogate): the full text from the file with the character replaced by U+FFFD, set in ``gdf`` in place;
    returns one note per cell naming the feature, the property and what was done. A raw NUL byte (not
    valid JSON) is refused naming its line."""
    import json

    data = path.read_bytes()
    if b"\x00" in data:
        pos = data.find(b"\x00")
        line = data.count(b"\n", 0, pos) + 1
        raise InputError(f"{path}: line {line} holds a NUL byte, which JSON does not allow; "
                         "a reader would cut the text there.",
                         hint="remove the NUL byte (or write it as \\u0000 if it is meant), then read the file again.")
    if not _CUT_ESCAPES.search(data):
        return []
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise InputError(f"{path}: cannot be read as JSON ({exc}).", hint="export the file again as GeoJSON.") from None
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list) or len(features) != len(gdf):
        raise InputError(f"{path}: text with a NUL character or a lone surrogate (\\u0000, \\ud800) that the reader "
                         "would cut or change, and its features cannot be matched to the file's.",
                         hint="remove those characters from the file's texts, then read it again.")
    from kkr_geo.geo.safe_text import clean

    notes = []
    for i, feature in enumerate(features):
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict):
            continue
        for key, value in props.items():
            if not isinstance(value, str) or ("\x00" not in value and not _SURROGATE.search(value)):
                continue
            if key not in gdf.columns:
                continue
            full = clean(value, bidi=False)
            got = gdf.iloc[i][key]
            what = []
            if "\x00" in value:
                what.append(f"{value.count(chr(0))} NUL character(s)")
            if _SURROGATE.search(value):
                what.append(f"{len(_SURROGATE.findall(value))} lone surrogate(s)")
            name = next((str(props[f]) for f in _NAME_FIELDS if f != key and isinstance(props.get(f), (str, int))), None)
            label = f"feature {i + 1}" + (f" ({clean(name)})" if name else "")
            gdf.iloc[i, gdf.columns.get_loc(key)] = full
            notes.append(f"{path.name}: {label}, property {key!r}: {' and '.join(what)} replaced by U+FFFD, giving "
                         f"{full!r} (the reader gave {clean(str(got))!r}); check the text in the file")
    return notes


def _only_spatial_layer(path: Path) -> str | None:
    """The name of the file's one spatial layer; a clear error when there are several."""
    try:
        info = pyogrio.list_layers(path)
    except Exception:  # noqa: BLE001 - unreadable files get their error from read_file
        return None
    spatial = [str(name) for name, gtype in info if gtype is not None]
    if len(spatial) > 1:
        raise InputError(f"{path}: has {len(spatial)} layers ({', '.join(spatial)}); which one is meant is not clear.",
                         hint=f"name the layer: --file-layer {spatial[0]} for a --facilities/--klinikker file on the command "
                              "line (layer= in the Python API), or save the wanted layer alone in its own file.")
    if len(info) > 1 and len(spatial) == 1:
        return spatial[0]  # e.g. a GeoPackage with a layer_styles table next to its one layer
    return None


def list_layers(path: str | os.PathLike) -> list[str]:
    return [str(name) for name, _ in pyogrio.list_layers(path)]
