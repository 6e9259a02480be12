"""Logging for the package and the CLI: re-exported from :mod:`kkr_geo.geo.log`, where every floor may use it."""

from kkr_geo.geo.log import (
    LOGGER_NAME,
    clear_progress,
    get_logger,
    level_for,
    progress_line_clear,
    setup,
    show_progress,
    step,
)

__all__ = ["LOGGER_NAME", "clear_progress", "get_logger", "level_for", "progress_line_clear", "setup", "show_progress",
           "step"]
