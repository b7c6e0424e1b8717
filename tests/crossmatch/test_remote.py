"""The real services (Gaia archive, VizieR, MAST): what the code expects of their answers.

Marked ``remote`` and skipped unless asked for by name (``pytest -m remote``, as astroquery
runs its remote-data tests); CI has no network. Each test sends one to three small queries.
"""

from __future__ import annotations

import pytest

pytest.importorskip("astroquery")

from gyroage.crossmatch import CATALOGUES, Services  # noqa: E402
from gyroage.crossmatch.queries import GAIA_COLUMNS, fetch_gaia, fetch_periods, fetch_tic  # noqa: E402
from gyroage.errors import UserError  # noqa: E402

pytestmark = pytest.mark.remote

BARNARD_DR3 = 4472832130942575872  # Barnard's star: Gaia DR3 = DR2 source_id


@pytest.fixture(scope="module")
def services() -> Services:
    return Services.create(cache_dir=None, retries=2, backoff=2.0)  # default URLs, nothing cached


def test_remote_gaia_dr3_answers_a_known_source_with_the_columns_used(services):
    g = fetch_gaia(services, [BARNARD_DR3])
    assert g["source_id"].tolist() == [BARNARD_DR3]
    assert set(GAIA_COLUMNS) | {"best_rotation_period", "best_rotation_period_error"} <= set(g.columns)
    assert 1.0 < g.loc[0, "phot_bp_mean_mag"] - g.loc[0, "phot_rp_mean_mag"] < 4.0  # an M dwarf
    assert g.loc[0, "parallax"] > 500  # mas


@pytest.mark.parametrize("cat", CATALOGUES, ids=lambda c: c.name)
def test_remote_period_catalogue_has_the_columns_used_and_answers_a_listed_star(services, cat):
    from astroquery.vizier import Vizier

    # an id that is in no catalogue: an empty answer, which must still carry the table's columns
    assert fetch_periods(services, cat, [1]).empty
    listed = Vizier(columns=[cat.id_column], row_limit=1).get_catalogs(cat.vizier)[0][cat.id_column][0]
    periods = fetch_periods(services, cat, [int(listed)])  # raises if the id or period column went missing
    assert periods["id"].tolist() == [int(listed)] and periods["prot"].iloc[0] > 0


def test_remote_vizier_unknown_catalogue_is_an_error(services):
    from gyroage.crossmatch.services import PeriodCatalogue

    bogus = PeriodCatalogue("bogus", "J/ApJ/999/999/nosuch", "tic", "TIC", "Prot", "e_Prot", "tess", "-")
    with pytest.raises(UserError, match="J/ApJ/999/999/nosuch"):
        fetch_periods(services, bogus, [1])


def test_remote_mast_tic_finds_the_gaia_dr2_id(services):
    tic = fetch_tic(services, "GAIA", [BARNARD_DR3])
    assert len(tic) >= 1 and {"ID", "KIC", "GAIA", "disposition"} <= set(tic.columns)
    assert tic["GAIA"].iloc[0] == BARNARD_DR3
