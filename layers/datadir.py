"""Resolve the data directory.

Order: an explicit path (the CLI's ``--data-dir``), the environment variable ``KKR_GEO_DATA``,
``../shared/data`` next to the project checkout (or next to the current directory), then a
per-user cache directory (where ``kkr-geo data fetch`` downloads to).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from kkr_geo.geo.errors import DataError

ENV_VAR = "KKR_GEO_DATA"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class DataDir:
    path: Path
    origin: str  # "flag", "env", "shared", "cache"

    def file(self, relative: str) -> Path:
        return self.path / relative

    def has(self, relative: str) -> bool:
        return (self.path / relative).exists()

    def __str__(self) -> str:
        return f"{self.path} (from {self.origin})"


def user_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("kkr-geo", appauthor=False)) / "data"


def resolve_data_dir(explicit: str | os.PathLike | DataDir | None = None) -> DataDir:
    """Return the data directory to use, raising :class:`DataError` for a bad explicit choice."""
    if isinstance(explicit, DataDir):
        return explicit
    if explicit:
        p = Path(explicit).expanduser()
        if not p.is_dir():
            raise DataError(f"--data-dir {p}: no such directory.",
                            hint="pass an existing directory, or run `kkr-geo data fetch` to fill the user cache.")
        return DataDir(p.resolve(), "flag")
    env = os.environ.get(ENV_VAR)
    if env:
        p = Path(env).expanduser()
        if not p.is_dir():
            raise DataError(f"{ENV_VAR}={env}: no such directory.",
                            hint=f"unset {ENV_VAR} or point it at an existing data directory.")
        return DataDir(p.resolve(), "env")
    for candidate in (PROJECT_ROOT.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"):
        if candidate.is_dir():
            return DataDir(candidate.resolve(), "shared")
    return DataDir(user_cache_dir(), "cache")
