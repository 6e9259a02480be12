"""A module imported on first use, so that building the CLI parser (``--help``, ``--version``) stays fast."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands in for ``import NAME as alias`` at module level; imports NAME on the first attribute access."""

    def __init__(self, name: str):
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)


class LazyChoices:
    """An argparse ``type=`` that accepts one of a list computed on first use (e.g. from the layer registry).

    Not ``choices=``: argparse expands ``choices`` whenever it formats ``--help``, which would load the
    registry (and geopandas) just to print help. A wrong value still fails while parsing, with the list.
    """

    def __init__(self, compute: Callable[[], Iterable[str]]):
        self._compute = compute
        self._values: tuple[str, ...] | None = None
        self.__name__ = "choice"  # argparse names the type in its error message

    def values(self) -> tuple[str, ...]:
        if self._values is None:
            self._values = tuple(self._compute())
        return self._values

    def __call__(self, value: str) -> str:
        if value not in self.values():
            import argparse
            raise argparse.ArgumentTypeError(f"invalid choice: {value!r} (choose from {', '.join(self.values())})")
        return value
