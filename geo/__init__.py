"""Analysis core of kkr-geo: CRS handling, safe I/O, geometry helpers and catchment analysis.

Nothing in ``geo`` knows about the domain layers (``layers``) or publishing (``maps``).
"""

from kkr_geo.geo.crs import ANALYSIS_CRS
from kkr_geo.geo.errors import KkrGeoError, DataError, InputError

__all__ = ["ANALYSIS_CRS", "KkrGeoError", "DataError", "InputError"]
