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


@pytest.mark.parametrize("given, known, found", [
    ("NGC 869", ["NGC869", "HPer"], "NGC869"),  # a catalogue keeping NGC 869 apart from HPer (the h+chi pair)
    ("ngc869", ["HPer", "NGC869"], "NGC869"),
    ("aper", ["APer", "alpha Per", "HPer", "Pleiades"], "APer"),
    ("alphaper", ["APer", "alpha Per", "HPer", "Pleiades"], "alpha Per"),
    ("Alpha Per", ["APer", "alpha Per"], "alpha Per"),
    ("alpha Per", ["APer", "HPer"], "APer"),  # no name matches but the alias: the alias (control)
])
def test_a_name_matching_a_catalogue_cluster_wins_over_a_perseus_alias(given, known, found):
    """Review V47, 6: the aliases (c5c28f6) were tried before names that matched by case and spaces: 'NGC 869'
    beside NGC869 and HPer, 'aper' beside APer and 'alpha Per', were refused as ambiguous."""
    from gyroage.build.catalogue import match_clusters

    assert match_clusters([given], known) == [found]


def test_an_ambiguous_name_is_refused_naming_its_candidates():
    """'ambiguous cluster' named every cluster of the catalogue, not the ones the name could be."""
    from gyroage.build.catalogue import match_clusters
    from gyroage.errors import UserError

    with pytest.raises(UserError) as exc:
        match_clusters(["Melotte 20"], ["APer", "alpha Per", "HPer", "Pleiades"])
    assert str(exc.value).startswith("ambiguous cluster 'Melotte 20': it could be 'APer' or 'alpha Per' ("), exc.value


def test_a_left_out_cluster_named_as_written_is_refused_not_taken_for_its_alias():
    """'NGC 869' of a catalogue whose NGC869 has no selected star: that is said, rather than HPer validated."""
    from gyroage.build.catalogue import match_clusters
    from gyroage.errors import UserError

    with pytest.raises(UserError) as exc:
        match_clusters(["NGC 869"], ["HPer", "Pleiades"], {"NGC869": "all flagged"})
    assert str(exc.value) == "cluster 'NGC869' has no star passing the quality selection (all flagged)"


@pytest.mark.parametrize("value", ["0", "-1"])
def test_validate_refuses_min_members_below_one_in_one_line(tmp_path, value):
    res = cli("validate", "--out", str(tmp_path / "v"), "--catalogue", str(tmp_path / "missing.csv"),
              "--min-members", value)
    one_line_error(res, f"--min-members must be 1 or more, not {value}")
    assert not (tmp_path / "v").exists()


def test_a_cluster_too_small_for_min_members_is_refused_with_its_count_and_the_option(tmp_path):
    """"cluster NGC752 has fewer than 20 selected members" named neither its count nor the option admitting it."""
    pytest.importorskip("torch")
    import pandas as pd

    from tests.build.test_build_guards import FAST, toy_catalogue, write_config

    cat = toy_catalogue(tmp_path / "cat.csv", n=30)
    d = pd.read_csv(cat)
    d.drop(d.index[d["cluster"] == "C1"][:22]).to_csv(cat, index=False)  # C1 keeps 8 stars, the others 30
    res = cli("validate", "--catalogue", str(cat), "--config", str(write_config(tmp_path, FAST)), "--clusters", "C1",
              "--out", str(tmp_path / "v"))
    one_line_error(res, "cluster C1 has 8 selected members, fewer than --min-members 20 (give --min-members 8 to "
                        "validate it)")
