"""Library warnings (numpy RuntimeWarning, pyogrio/geopandas UserWarning, GDAL messages) turned into
the tool's own notes instead of raw lines on the console.

:func:`library_warnings_as_notes` records the warnings raised inside its block and hands each
(once) to a ``sink`` as a short sentence naming the library; the CLI prints them as
``kkr-geo: note: ...`` and the build writes them to its log. Deprecation warnings are for
developers and are left to Python's default handling.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

_LIBRARIES = ("pyogrio", "geopandas", "shapely", "pyproj", "numpy", "pandas", "rasterio", "matplotlib", "folium",
              "tobler", "scipy", "mapclassify", "openpyxl", "networkx", "osgeo", "fiona")


def describe(w: warnings.WarningMessage) -> str:
    """One warning as a sentence: what the library said, and which library it was."""
    parts = Path(str(w.filename)).parts
    lib = next((p for p in parts if p in _LIBRARIES), None)
    text = " ".join(str(w.message).split())
    return f"{lib or 'a library'} reported ({w.category.__name__}): {text}"


@contextlib.contextmanager
def library_warnings_as_notes(sink: Callable[[str], None]) -> Iterator[list[str]]:
    """Record warnings raised in the block; on exit pass each distinct one to ``sink`` as a note.
    Yields the list of notes (filled on exit)."""
    notes: list[str] = []
    records: list[logging.LogRecord] = []
    handler = _ListHandler(records)
    loggers = [logging.getLogger(name) for name in _LOGGING_LIBRARIES]
    saved = [(lg.propagate, lg.level) for lg in loggers]
    for lg in loggers:  # GDAL messages that rasterio (and others) log instead of warn
        lg.addHandler(handler)
        lg.propagate = False
        if lg.level == logging.NOTSET or lg.level > logging.WARNING:
            lg.setLevel(logging.WARNING)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        # an unclosed file inside a library (WeasyPrint's sRGB profile) says nothing about the user's data
        warnings.filterwarnings("ignore", category=ResourceWarning)
        try:
            yield notes
        finally:
            for lg, (propagate, level) in zip(loggers, saved):
                lg.removeHandler(handler)
                lg.propagate = propagate
                lg.setLevel(level)
            found = [describe(w) for w in caught]
            found += [f"{r.name.split('.')[0]} reported ({r.levelname.lower()}): {' '.join(r.getMessage().split())}"
                      for r in records]
            seen = set()
            for note in found:
                if note not in seen:
                    seen.add(note)
                    notes.append(note)
                    sink(note)


_LOGGING_LIBRARIES = ("rasterio", "fiona", "pyogrio", "pyproj")


class _ListHandler(logging.Handler):
    def __init__(self, records: list):
        super().__init__(level=logging.WARNING)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def warnings_as_notes(func):
    """Decorator for functions with an optional ``log`` collector keyword (the build): warnings become
    ``note:`` messages, logged (logger ``kkr_geo.notes``, INFO) and handed to the collector if one is given."""
    sig = inspect.signature(func)
    logger = logging.getLogger("kkr_geo.notes")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        bound = sig.bind_partial(*args, **kwargs)
        log = bound.arguments.get("log", sig.parameters["log"].default)

        def sink(m: str) -> None:
            logger.info("  note: %s", m)
            if log is not None:
                log(f"  note: {m}")

        with library_warnings_as_notes(sink):
            return func(*args, **kwargs)

    return wrapper
