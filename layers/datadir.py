"""Where the data comes from: the embedded default, overridden file by file by a data directory.

The package ships an embedded default dataset (``kkr_geo.data``: the project's ``data/`` folder,
listed with licences and checksums in ``data/MANIFEST.json``). A *data directory* lies on top of it
and overrides it file by file; it is chosen in this order:

1. an explicit path (the CLI's ``--data-dir``, ``data_dir=`` in the Python API),
2. the environment variable ``KKR_GEO_DATA``,
3. the per-user cache (``~/.cache/kkr-geo/data`` on Linux), which ``kkr-geo data fetch`` fills.

A relative path such as ``dagi/kommuner.geojson`` is looked up in the data directory first and in the
embedded default second (:meth:`DataDir.file`). ``KKR_GEO_BUNDLE=0`` turns the embedded default off
(only the data directory counts), e.g. to check that a data directory is complete on its own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from kkr_geo.geo.errors import DataError

ENV_VAR = "KKR_GEO_DATA"
BUNDLE_ENV_VAR = "KKR_GEO_BUNDLE"


def bundle_dir() -> Path:
    """The embedded default dataset's folder (inside the installed package)."""
    import kkr_geo.data
    return Path(kkr_geo.data.__file__).resolve().parent


def bundle_enabled() -> bool:
    return os.environ.get(BUNDLE_ENV_VAR, "1").strip().lower() not in ("0", "no", "false", "off")


@dataclass(frozen=True)
class DataDir:
    """A data directory (``path``, which may not exist yet) over an optional ``base`` folder (the
    embedded default) that supplies every file the directory lacks."""

    path: Path
    origin: str  # "flag", "env", "cache" or "bundle" (no data directory of the user's yet)
    base: Path | None = None

    def file(self, relative: str) -> Path:
        """The file to read for ``relative``: the data directory's, else the embedded default's; a
        path that does not exist (in the data directory) when neither has it."""
        own = self.path / relative
        if own.exists() or self.base is None:
            return own
        fallback = self.base / relative
        return fallback if fallback.exists() else own

    def has(self, relative: str) -> bool:
        return self.file(relative).exists()

    def where(self, relative: str) -> str:
        """``"bundle"``, the data directory's path, or ``""`` when the file is nowhere."""
        p = self.file(relative)
        if not p.exists():
            return ""
        if self.origin == "bundle" or (self.base is not None and p.is_relative_to(self.base)):
            return "bundle"
        return str(self.path)

    @property
    def key(self) -> str:
        """A cache key: the same for two objects that find the same files."""
        return f"{self.path}|{self.base or ''}"

    def __str__(self) -> str:
        if self.origin == "bundle":
            return f"the embedded default ({self.path})"
        over = " over the embedded default" if self.base is not None else ""
        return f"{self.path} (from {self.origin}){over}"


def user_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("kkr-geo", appauthor=False)) / "data"


def _base() -> Path | None:
    return bundle_dir() if bundle_enabled() else None


def resolve_data_dir(explicit: str | os.PathLike | DataDir | None = None) -> DataDir:
    """Return the data directory to use, raising :class:`DataError` for a bad explicit choice."""
    if isinstance(explicit, DataDir):
        return explicit
    if explicit:
        p = Path(explicit).expanduser()
        if not p.is_dir():
            raise DataError(f"--data-dir {p}: no such directory.",
                            hint="pass an existing directory, or leave it out to use the embedded default data.")
        return DataDir(p.resolve(), "flag", _base())
    env = os.environ.get(ENV_VAR)
    if env:
        p = Path(env).expanduser()
        if not p.is_dir():
            raise DataError(f"{ENV_VAR}={env}: no such directory.",
                            hint=f"unset {ENV_VAR} (the embedded default is then used) or point it at an existing folder.")
        return DataDir(p.resolve(), "env", _base())
    cache = user_cache_dir()
    base = _base()
    if cache.is_dir() or base is None:
        return DataDir(cache, "cache", base)
    return DataDir(base, "bundle")  # nothing of the user's yet: the embedded default alone
