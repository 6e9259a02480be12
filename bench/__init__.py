"""Benchmarks of kkr-geo, run from the checkout (this folder is not installed with the package).

    python -m bench.region    # the analysis engine against a prebuilt-tree baseline (``--quick`` for CI)
    python -m bench.build     # the full annex build in fresh processes (also ``python -m bench.region --build``)
    python -m bench.network   # network distance and the dasymetric surface; networkx comparison (the ``bench`` extra)
    python -m bench.input     # reading a big clinic file against an older revision

networkx, the network benchmark's baseline, is an optional extra: ``pip install -e '.[bench]'``.
"""
