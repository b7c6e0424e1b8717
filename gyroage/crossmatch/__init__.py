"""Cross-match target lists (Gaia DR3 / TIC / KIC / positions) to what ``estimate`` reads.

Laid out as an astroquery module is:

- ``services``: the Gaia TAP, VizieR and MAST TIC clients with their configuration
  (URL from option > environment > default, the on-disk query cache, retries);
- ``queries``: the period catalogues, the ADQL / VizieR / MAST queries and their batching;
- ``id_parsing``: ids read from the input's cells (prefixes, exact floats), and why a column's are unreadable;
- ``resolve``: identifier detection, TIC/KIC -> Gaia DR2 -> DR3, cone matching;
- ``run``: the per-chunk cross-match, the period adoption rule and ``run_crossmatch``.

astroquery/astropy are imported inside functions: ``import gyroage`` never pulls them in.
The statuses (``crossmatch_status``) are ``gyroage.statuses.CROSSMATCH``.
"""

from gyroage.crossmatch.id_parsing import parse_ids
from gyroage.crossmatch.queries import CATALOGUES, DEFAULT_SOURCES, GAIA_SOURCE, PeriodCatalogue
from gyroage.crossmatch.resolve import InputIds, detect_ids, resolve
from gyroage.crossmatch.run import CrossmatchReport, CrossmatchSettings, adopt, crossmatch_chunk, run_crossmatch
from gyroage.crossmatch.services import GaiaArchive, MastTic, QueryCache, Services, VizierService, default_cache_dir

__all__ = [
    "CATALOGUES", "DEFAULT_SOURCES", "GAIA_SOURCE", "PeriodCatalogue",
    "InputIds", "detect_ids", "parse_ids", "resolve",
    "CrossmatchReport", "CrossmatchSettings", "adopt", "crossmatch_chunk", "run_crossmatch",
    "GaiaArchive", "MastTic", "QueryCache", "Services", "VizierService", "default_cache_dir",
]
