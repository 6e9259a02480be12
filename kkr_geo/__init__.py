"""kkr-geo: the map and catchment toolkit of the Danish capital region."""

__version__ = "0.1.0"
