"""Defaults shared by training, export, validation and the run-time core, defined once.

A shipped model's own values live in its card; these are what a new model,
or a card without the field, gets.
"""

from __future__ import annotations

# Weight of the uniform outlier component mixed with the flow (per star and per group member).
OUTLIER_WEIGHT = 0.05
# The age grid, log10 yr: (lowest, highest, points).
AGE_GRID = (6.0, 10.0, 201)
# The fewest age grid points estimate and group-age take (--grid): a 3-point grid dated the Sun at 868 Myr, status ok.
MIN_GRID = 50
# The most (--grid): the calibration holds one grid x grid kernel per colour knot (four in the shipped card), so memory
# grows as the grid's square: 5001 points peak near 1.5 GB in estimate, 30001 ran out of memory with a traceback. 5001
# points step the 4 dex age grid by 0.0008 dex, 25 times finer than estimate's default and finer than any age needs
# (a Gaussian prior down to 0.0016 dex wide is resolved).
MAX_GRID = 5001
# Rows per chunk of `estimate` (--chunksize), run_local and run_dask: one value, since the chunk sets onnxruntime's
# float32 batches, which move the last bits of a grid posterior, so another default would give a Python caller ages
# differing from the command line's in the 6th digit (mcmc draws do not follow the chunk: each star's stream is keyed
# by the seed and its input row).
CHUNK_ROWS = 10_000
# gyroage crossmatch's query cache when neither --cache-dir, $GYROAGE_CACHE_DIR nor $XDG_CACHE_HOME is set
# (the README and `crossmatch --help` state it; tests/crossmatch/test_services.py checks both).
CROSSMATCH_CACHE_DIR = "~/.cache/gyroage/crossmatch"

# Where the command line's arguments are kept in click's context meta (set by gyroage.cli_help's root group, read by
# gyroage.provenance for the outputs' record of the command). Here, not in provenance, so that every CLI start does
# not import provenance for one name.
ARGV = "gyroage.argv"
