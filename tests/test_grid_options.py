"""The sampler's options with the grid method: --processes 2 ran the grid in one process without a word (output
identical), while the grid reads no --walkers or --max-steps either. Each is now refused in one line, exit 2, when given
without --method mcmc (review FA3 finding 6); --seed stays accepted (the grid's ages do not depend on it)."""

import pytest

from tests.conftest import ROOT, invoke_quiet, one_line_error

STARS = str(ROOT / "catalogs" / "examples" / "field_stars.csv")


@pytest.mark.parametrize("given", [["--processes", "2"], ["--walkers", "32"], ["--max-steps", "100"],
                                   ["--processes", "1"], ["--method", "grid", "--walkers", "16"]])
def test_sampler_options_are_refused_with_the_grid_method(tmp_path, given):
    out = tmp_path / "out.csv"
    res = invoke_quiet("estimate", STARS, "-o", str(out), *given)
    option = next(a for a in given if a != "--method" and a.startswith("--"))
    msg = one_line_error(res, option, "--method mcmc")
    assert msg.startswith("gyroage: error: ") and not out.exists()


def test_every_sampler_option_given_is_named(tmp_path):
    res = invoke_quiet("estimate", STARS, "-o", str(tmp_path / "out.csv"), "--walkers", "32", "--processes", "2")
    one_line_error(res, "--walkers", "--processes")


def test_seed_and_mcmc_still_take_them(tmp_path):
    assert invoke_quiet("estimate", STARS, "--seed", "1").exit_code == 0
    res = invoke_quiet("estimate", STARS, "--method", "mcmc", "--seed", "1", "--walkers", "16", "--max-steps", "300",
                       "--processes", "1")
    assert res.exit_code == 0, res.output
