"""Logging for the package and the CLI (in the analysis core, so that every floor may use it; ``kkr_geo.log``
re-exports it).

Library code logs to the ``kkr_geo`` logger (``logging.getLogger("kkr_geo.<module>")``) with levels:
``info`` for progress and notes, ``warning`` for things the user should act on, ``debug`` for detail.
Results (tables, written files) are printed to stdout by the CLI commands; everything logged goes to
stderr, so ``kkr-geo ... > result.txt`` keeps only results. ``-v`` shows debug messages, ``-q`` only warnings.

:func:`setup` is called by the CLI; a program using the API configures logging as it likes (by default
Python shows warnings only).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

LOGGER_NAME = "kkr_geo"


def get_logger(name: str | None = None) -> logging.Logger:
    """The package logger, or a child of it (``get_logger(__name__)`` inside the package)."""
    if not name or name == LOGGER_NAME:
        return logging.getLogger(LOGGER_NAME)
    return logging.getLogger(name if name.startswith(LOGGER_NAME + ".") else f"{LOGGER_NAME}.{name}")


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.levelno >= logging.WARNING:
            return f"kkr-geo: {record.levelname.lower()}: {msg}"
        if record.levelno <= logging.DEBUG:
            return f"debug: {record.name}: {msg}"
        return msg


class _StderrHandler(logging.Handler):
    """Writes to the *current* ``sys.stderr`` (tests and callers may replace it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stderr
            progress_line_clear(stream)
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:  # noqa: BLE001  (logging must never raise)
            self.handleError(record)


_handler: _StderrHandler | None = None


def level_for(verbose: int = 0, quiet: int = 0) -> int:
    score = verbose - quiet
    if score <= -1:
        return logging.WARNING
    if score == 0:
        return logging.INFO
    return logging.DEBUG


def setup(verbose: int = 0, quiet: int = 0) -> logging.Logger:
    """Send the package's log records to stderr at the level chosen by ``-v``/``-q`` (idempotent)."""
    global _handler
    logger = logging.getLogger(LOGGER_NAME)
    if _handler is not None:
        logger.removeHandler(_handler)
    _handler = _StderrHandler()
    _handler.setFormatter(_Formatter())
    logger.addHandler(_handler)
    logger.setLevel(level_for(verbose, quiet))
    return logger


# -- a simple progress display ------------------------------------------------------------------------

_progress_shown = False


def progress_line_clear(stream) -> None:
    """Remove a transient progress line before anything else is written."""
    global _progress_shown
    if _progress_shown:
        stream.write("\r\033[K")
        _progress_shown = False


def show_progress(logger: logging.Logger, i: int, n: int, label: str) -> None:
    """Show ``[i/n] label …`` on a terminal until the next message (or :func:`clear_progress`)."""
    global _progress_shown
    stream = sys.stderr
    if logger.isEnabledFor(logging.INFO) and getattr(stream, "isatty", lambda: False)():
        progress_line_clear(stream)
        stream.write(f"\r\033[K[{i}/{n}] {label} …")
        stream.flush()
        _progress_shown = True


def clear_progress() -> None:
    progress_line_clear(sys.stderr)


@contextmanager
def step(logger: logging.Logger, i: int, n: int, label: str) -> Iterator[None]:
    """Show ``[i/n] label …`` while a long step runs (on a terminal only, overwritten when it ends).

    The finished step is reported by the caller (one log line per step), so logs and pipes see no clutter.
    """
    global _progress_shown
    stream = sys.stderr
    show = logger.isEnabledFor(logging.INFO) and getattr(stream, "isatty", lambda: False)()
    if show:
        stream.write(f"\r\033[K[{i}/{n}] {label} …")
        stream.flush()
        _progress_shown = True
    t0 = time.perf_counter()
    try:
        yield
    finally:
        if show:
            progress_line_clear(stream)
            stream.flush()
        logger.debug("%s took %.1f s", label, time.perf_counter() - t0)
