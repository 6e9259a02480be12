"""kkr-geo's embedded default dataset (package data only; see README.md and MANIFEST.json beside this file)."""
