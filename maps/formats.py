"""Output formats of the maps (a light module: the CLI checks ``--formats`` before importing the renderers)."""

FORMATS = ("html", "png", "pdf", "svg")
DEFAULT_FORMATS = ("html", "png", "pdf")
