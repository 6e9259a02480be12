"""User-facing errors.

Every error a user can cause (bad file, missing data, unmatched keys) is raised as a
:class:`KkrGeoError` whose message names the file, row or feature and says what to do.
The CLI prints these without a traceback and exits non-zero.
"""

from __future__ import annotations


class KkrGeoError(Exception):
    """Base class of errors meant to be read by a user (not a programming error)."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(message if not hint else f"{message}\n  What to do: {hint}")

    def __reduce__(self):
        # picklable with its hint (the build renders maps in worker processes and hands errors back)
        return (_rebuild_error, (type(self), self.message, self.hint), self.__dict__)


def _rebuild_error(cls, message, hint):
    err = cls.__new__(cls)
    KkrGeoError.__init__(err, message, hint=hint)
    return err


class DataError(KkrGeoError):
    """A dataset is missing or cannot be found in the data directory."""

    exit_code = 3


class InputError(KkrGeoError):
    """A file or value supplied by the user is malformed (encoding, schema, geometry, CRS)."""

    exit_code = 4
