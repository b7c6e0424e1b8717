"""Review V46, 12: "alpha Per", as docs/validation.md writes it, was refused with "did you mean 'HPer'" (h Per,
15 Myr, not alpha Per's 68), and --min-members -1 was accepted and recorded in the summary."""

import pytest

from tests.build.test_build_guards import cli
from tests.conftest import one_line_error

SHARED = ["APer", "Collinder135", "HPer", "M67", "NGC2516", "Pleiades", "Praesepe", "ScoCen"]


@pytest.mark.parametrize("given, found", [("alpha Per", "APer"), ("Alpha Persei", "APer"), ("\u03b1 Per", "APer"),
                                          ("Melotte 20", "APer"), ("alpha-Per", "APer"), ("h Persei", "HPer"),
                                          ("NGC 869", "HPer"), ("h Per", "HPer"), ("APer", "APer")])
def test_perseus_clusters_as_users_write_them(given, found):
    from gyroage.build.catalogue import match_clusters

    assert match_clusters([given], SHARED) == [found]


def test_the_spelled_out_catalogue_name_takes_the_short_one_and_chi_per_is_not_h_per():
    from gyroage.build.catalogue import match_clusters
    from gyroage.errors import UserError

    assert match_clusters(["APer", "chi Per"], ["alpha Persei", "h Per", "NGC 884"]) == ["alpha Persei", "NGC 884"]
    with pytest.raises(UserError) as exc:  # NGC 884 is h Per's neighbour, another cluster
        match_clusters(["chi Per"], SHARED)
    assert str(exc.value).startswith("unknown cluster 'chi Per'"), str(exc.value)


@pytest.mark.parametrize("value", ["0", "-1"])
def test_validate_refuses_min_members_below_one_in_one_line(tmp_path, value):
    res = cli("validate", "--out", str(tmp_path / "v"), "--catalogue", str(tmp_path / "missing.csv"),
              "--min-members", value)
    one_line_error(res, f"--min-members must be 1 or more, not {value}")
    assert not (tmp_path / "v").exists()
