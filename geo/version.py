"""The package version, in the analysis core so that every floor may name it (``kkr_geo.__version__`` re-exports it;
keep it equal to ``version`` in pyproject.toml)."""

__version__ = "0.2.0"
