"""Typed provenance of a layer or analysis result: where it comes from and how far to trust it.

A :class:`Provenance` travels with a GeoDataFrame in ``gdf.attrs``. The typed object is the
interface; the flat ``attrs`` keys (``source``, ``licence``, ``precision``, ``status``, ``notes``,
``map_notes``, ``title``, ...) stay as its storage, so code that reads ``gdf.attrs["source"]``
keeps working and the two can never disagree::

    prov = provenance_of(gdf)                       # read
    out = with_provenance(out, prov.replace(title="Opland"))   # write (returns ``out``)
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

STATUSES = ("ok", "no_geometry")
_LISTS = ("notes", "map_notes", "gaps")


@dataclass(frozen=True)
class Provenance:
    source: str = ""                 # publisher(s), map-facing (Danish where shown on maps)
    licence: str = ""
    precision: str = ""              # "real", "schematic", "approximate ...", free text
    status: str = "ok"               # ok | no_geometry
    notes: tuple[str, ...] = ()      # English notes for analysts (CLI, GeoPackage description)
    map_notes: tuple[str, ...] = ()  # Danish footnotes printed on maps
    gaps: tuple[str, ...] = ()       # Danish: known gaps (missing stops, stations left out, no corridor),
                                     # printed on every map that uses the layer and in the build summary
    date: str = ""                   # data date (ISO) if known
    title: str = ""                  # Danish, map-facing
    layer: str = ""                  # registry name
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)  # other attrs (geometry_report, join_report, ...)

    @property
    def schematic(self) -> bool:
        p = self.precision.lower()
        return "schematic" in p or "skematisk" in p

    def replace(self, **changes) -> Provenance:
        for key in _LISTS:
            if key in changes:
                changes[key] = tuple(changes[key] or ())
        return replace(self, **changes)

    def with_notes(self, *notes: str) -> Provenance:
        return self.replace(notes=(*self.notes, *notes))

    def to_attrs(self) -> dict:
        out = dict(self.extra)
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if f.name in _LISTS:
                value = list(value)
            if value in ("", []) and f.name not in ("notes", "status"):
                continue
            out[f.name] = value
        return out

    @classmethod
    def from_attrs(cls, attrs: dict) -> Provenance:
        names = {f.name for f in fields(cls)} - {"extra"}
        kw: dict[str, Any] = {}
        for key in names:
            if key in attrs and attrs[key] is not None:
                value = attrs[key]
                if key in _LISTS:
                    value = tuple(str(v) for v in (value if isinstance(value, (list, tuple)) else [value]))
                else:
                    value = str(value)
                kw[key] = value
        extra = {k: v for k, v in attrs.items() if k not in names and k != "provenance"}
        return cls(**kw, extra=extra)


def provenance_of(gdf) -> Provenance:
    """The provenance recorded on ``gdf`` (empty if none)."""
    return Provenance.from_attrs(dict(getattr(gdf, "attrs", {}) or {}))


def with_provenance(gdf, prov: Provenance):
    """Record ``prov`` on ``gdf`` (replacing what was there) and return ``gdf``."""
    gdf.attrs.clear()
    gdf.attrs.update(prov.to_attrs())
    return gdf


def carry_provenance(dst, src, **changes):
    """Give ``dst`` the provenance of ``src`` (with ``changes``); for frames rebuilt by merge/concat."""
    return with_provenance(dst, provenance_of(src).replace(**changes))
