"""Write protection: a command never replaces a file it did not write, nor one of its own inputs.

Every folder the tool writes into gets a manifest, ``.kkr-geo-manifest.json``, listing each file the
tool wrote there with its SHA-256 and the part of the run that produced it (a map name, ``geopackage``,
``summary``, ``catchment`` ...). A file may be replaced only if

* it is not an input of the same command (never, not even with ``--overwrite``), and
* it does not exist, or the manifest lists it with the same content (an unchanged previous output),
  or the user passed ``--overwrite``.

So a GeoPackage holding the user's own layers, a text file that happens to have the output's name, or
a previous output the user has since changed (a layer added in QGIS) is refused with a message naming
the file. A rebuild that no longer produces an output it used to (a map skipped because its data went
away) removes the old file if it is unchanged, and lists it as stale either way.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kkr_geo.geo.errors import InputError

MANIFEST_NAME = ".kkr-geo-manifest.json"
_TOOL = "kkr-geo"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


@dataclass
class Stale:
    removed: list[str] = field(default_factory=list)   # unchanged previous outputs, deleted
    kept: list[str] = field(default_factory=list)      # previous outputs changed since: left in place

    def lines(self) -> list[str]:
        return ([f"removed stale output {n} (no longer produced by this build)" for n in self.removed]
                + [f"stale output {n} left in place: changed since kkr-geo wrote it; delete it if no longer needed"
                   for n in self.kept])


class OutputGuard:
    """The write permissions of one command run in one output folder."""

    def __init__(self, folder: str | os.PathLike, *, command: str, overwrite: bool = False,
                 inputs: Iterable[str | os.PathLike | None] = ()):
        self.folder = Path(folder)
        self.command = command
        self.overwrite = overwrite
        self.inputs = [Path(p) for p in inputs if p]
        self.path = self.folder / MANIFEST_NAME
        self.files: dict[str, dict] = self._load()

    def _load(self) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("tool") == _TOOL and isinstance(data.get("files"), dict):
                return {str(k): v for k, v in data["files"].items() if isinstance(v, dict)}
        except (OSError, ValueError, AttributeError):
            pass
        return {}  # an unreadable manifest vouches for nothing: every existing file counts as the user's

    def _save(self) -> None:
        from kkr_geo.geo.io import write_text_atomic
        text = json.dumps({"tool": _TOOL, "note": "files written by kkr-geo in this folder (do not edit)",
                           "files": dict(sorted(self.files.items()))}, ensure_ascii=False, indent=1)
        write_text_atomic(self.path, text + "\n")

    def is_own_output(self, path: Path) -> bool:
        """``path`` is a previous output of kkr-geo, unchanged since it was written."""
        entry = self.files.get(path.name)
        return entry is not None and path.is_file() and entry.get("sha256") == file_sha256(path)

    def check(self, paths: Iterable[str | os.PathLike]) -> None:
        """Refuse (before anything is written) if any of ``paths`` may not be replaced."""
        for p in paths:
            p = Path(p)
            for inp in self.inputs:
                if _same_file(p, inp):
                    raise InputError(f"{p}: this output is also an input of the command ({inp}); writing it would "
                                     "destroy the input. Nothing was written.",
                                     hint="choose another output path (another --out folder or file name).")
            if p.is_dir():
                raise InputError(f"{p}: is a folder, not a file; nothing was written.", hint="choose another output path.")
            if p.exists() and not self.overwrite and not self.is_own_output(p):
                why = ("it was not written by kkr-geo" if p.name not in self.files
                       else "it was changed since kkr-geo wrote it")
                raise InputError(f"{p}: the file exists and {why}, so it is left untouched. Nothing was written.",
                                 hint="choose another output path, or pass --overwrite to replace it.")

    def record(self, path: str | os.PathLike, owner: str) -> Path:
        """Note that the tool has just written ``path`` (for ``owner``); saves the manifest."""
        path = Path(path)
        if path.parent.resolve() != self.folder.resolve():
            raise ValueError(f"{path} is not in {self.folder}")
        self.files[path.name] = {"sha256": file_sha256(path), "owner": owner, "command": self.command}
        self._save()
        return path

    def stale(self, owners: Iterable[str], written: Iterable[str | os.PathLike], *, remove: bool = True) -> Stale:
        """Previous outputs of ``owners`` that this run did not write: removed if unchanged, else listed."""
        owners = set(owners)
        keep_names = {Path(w).name for w in written}
        result = Stale()
        for name, entry in sorted(self.files.items()):
            if entry.get("owner") not in owners or name in keep_names:
                continue
            p = self.folder / name
            if not p.exists():
                del self.files[name]
                continue
            if remove and entry.get("sha256") == file_sha256(p):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
                del self.files[name]
                result.removed.append(name)
            else:
                result.kept.append(name)
        self._save()
        return result
