"""Leave-one-cluster-out validation: the numpy analysis, and a reduced end-to-end run (CI smoke test)."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from gyroage.build.loco import star_posteriors
from gyroage.build.loco_figures import coverage
from gyroage.core.groups import joint_age
from gyroage.core.posterior import cdf_at as pit
from tests.conftest import needs_torch, run_cli


def gaussian_loglike(mu: np.ndarray, sigma: float, grid: np.ndarray) -> np.ndarray:
    """Fake flow log-likelihood rows: each star 'measures' its age as mu with error sigma (dex)."""
    return -0.5 * ((grid[None, :] - mu[:, None]) / sigma) ** 2 - np.log(sigma * np.sqrt(2 * np.pi))


def test_joint_age_shrinks_like_one_over_sqrt_n_and_resists_an_outlier():
    grid = np.linspace(6, 10, 401)
    rng = np.random.default_rng(1)
    mu = 8.5 + 0.3 * rng.standard_normal(100)
    _, q = joint_age(gaussian_loglike(mu, 0.3, grid), grid, outlier_weight=0.0)
    assert abs(q[2] - mu.mean()) < 0.01
    assert abs((q[3] - q[1]) / 2 - 0.3 / np.sqrt(100)) < 0.01
    # one wild star barely moves the joint age once the outlier mixture is on
    wild = np.append(mu, 6.2)
    ll = gaussian_loglike(wild, 0.3, grid)
    ll[-1] = -50.0 + 0 * grid  # a star the flow finds impossible at every age
    _, q_mix = joint_age(ll, grid, outlier_weight=0.05)
    assert abs(q_mix[2] - mu.mean()) < 0.02


def test_calibrated_posteriors_cover_at_the_nominal_rate():
    """If truth ~ N(mu, sigma) and the likelihood says so, x% intervals hold x% of truths."""
    grid = np.linspace(5, 11, 601)
    rng = np.random.default_rng(2)
    truth = 8.0
    mu = truth + 0.4 * rng.standard_normal(4000)
    post = star_posteriors(gaussian_loglike(mu, 0.4, grid), grid)
    p = pit(post, grid, np.full(len(mu), truth))
    for level in (0.5, 0.68, 0.9):
        assert abs(coverage(p, level) - level) < 0.03
    # an over-confident model under-covers
    post_narrow = star_posteriors(gaussian_loglike(mu, 0.2, grid), grid)
    assert coverage(pit(post_narrow, grid, np.full(len(mu), truth)), 0.68) < 0.5


def test_coverage_by_age_and_colour_keeps_opposite_errors_apart():
    """G dwarfs over-covered and M dwarfs under-covered in one age bin: the cells show both, the bin hides them."""
    from gyroage.build.loco_figures import by_age_and_colour, by_age_bin

    n = 200
    stars = pd.DataFrame({
        "true_age_myr": np.full(2 * n, 2000.0), "bp_rp0": np.r_[np.full(n, 0.9), np.full(n, 3.0)],
        "pit": np.r_[np.full(n, 0.5), np.where(np.arange(n) < n // 3, 0.5, 0.99)],
        "log_score": np.r_[np.full(n, 0.2), np.full(n, -3.0)],
        "error_dex": 0.1, "age_p16_myr": 1500.0, "age_p84_myr": 2500.0,
    })
    cells = by_age_and_colour(stars)
    old = ">=1000 Myr"
    assert cells["coverage_68"][old]["0.8-1.0"] == 1.0
    assert cells["coverage_68"][old][">=2.5"] == round((n // 3) / n, 3)
    assert cells["mean_log_score"][old]["0.8-1.0"] == 0.2 and cells["mean_log_score"][old][">=2.5"] == -3.0
    assert cells["coverage_68"][old]["1.0-1.3"] is None and cells["n_stars"][old]["1.0-1.3"] == 0
    assert cells["coverage_68"]["<100 Myr"]["0.8-1.0"] is None
    assert 0.6 < by_age_bin(stars)["coverage_68"][old] < 0.7  # the bin's average looks fine


def test_age_bins_say_which_side_the_misses_fall_on():
    """In-range coverage with every miss above p84 (ages too young): the bin reports the side, not just the rate."""
    from gyroage.build.loco_figures import by_age_bin

    pit = np.r_[np.full(70, 0.5), np.full(30, 0.95), np.full(50, 0.5), np.full(10, 0.02), np.full(10, 0.99)]
    stars = pd.DataFrame({
        "true_age_myr": np.r_[np.full(100, 2000.0), np.full(70, 300.0)], "pit": pit,
        "log_score": 0.0, "error_dex": 0.1, "age_p16_myr": 100.0, "age_p84_myr": 200.0,
    })
    b = by_age_bin(stars)
    old, mid = ">=1000 Myr", "100-1000 Myr"
    assert b["coverage_68"][old] == pytest.approx(0.70) and b["coverage_68"][mid] == pytest.approx(50 / 70)
    assert b["below_68"][old] == 0.0 and b["above_68"][old] == pytest.approx(0.30)
    assert b["below_68"][mid] == pytest.approx(10 / 70) and b["above_68"][mid] == pytest.approx(10 / 70)
    assert b["below_68"]["<100 Myr"] is None


@pytest.mark.slow
def test_reduced_validate_end_to_end(catalog_path, tmp_path):
    """Two clusters, one epoch (the figures need not be good): tables, resumability and the card's validation object."""
    pytest.importorskip("torch")
    import shutil

    from tests.conftest import ROOT

    model_dir = tmp_path / "model"
    shutil.copytree(ROOT / "models", model_dir)
    args = ["validate", "--catalog", str(catalog_path), "--clusters", "NGC2516,Praesepe", "--out",
            str(tmp_path / "v"), "--max-epochs", "1", "--jobs", "1", "--write-card", str(model_dir), "--force"]
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    clusters = pd.read_csv(tmp_path / "v" / "loco_clusters.csv")
    stars = pd.read_csv(tmp_path / "v" / "loco_stars.csv")
    assert list(clusters["cluster"]) == ["NGC2516", "Praesepe"]  # youngest first
    assert set(stars["cluster"]) == {"NGC2516", "Praesepe"}
    assert clusters["n_stars"].sum() == len(stars)
    assert ((stars["pit"] >= 0) & (stars["pit"] <= 1)).all()
    assert (stars["age_p16_myr"] <= stars["age_p50_myr"]).all() and (stars["age_p50_myr"] <= stars["age_p84_myr"]).all()
    card = json.loads((model_dir / "gyroage-model.json").read_text())
    v = card["validation"]
    assert v["loco_n_clusters"] == 2 and 0 <= v["loco_star_coverage_68"] <= 1
    assert set(v["per_cluster"]) == {"NGC2516", "Praesepe"}
    assert v["catalog"] == {k: card["training"]["catalog"][k] for k in ("file", "sha256")}  # the card's own catalogue
    assert np.isfinite(stars["log_score"]).all() and np.isfinite(v["loco_star_mean_log_score"])
    cells = v["loco_star_n_by_age_and_colour"]
    assert sum(sum(c.values()) for c in cells.values()) == len(stars)
    # the shipped card holds a main-sequence term, so held-out stars were dated with it, and the summary keeps
    # rotation alone's figures on the same folds: a --no-main-sequence run must reproduce them
    assert stars["ms_informed"].any() and v["main_sequence"]["n_informed"] == int(stars["ms_informed"].sum())
    assert stars.loc[~stars["ms_informed"], "ms_height_mag"].isna().all()
    alone = run_cli(*args, "--no-main-sequence")
    assert alone.returncode == 0 and "0 to train" in alone.stderr, alone.stderr
    plain = json.loads((tmp_path / "v" / "loco_summary.json").read_text())
    assert "main_sequence" not in plain and "ms_informed" not in pd.read_csv(tmp_path / "v" / "loco_stars.csv")
    ref = v["main_sequence"]["rotation_alone"]
    assert plain["loco_star_median_abs_dex"] == pytest.approx(ref["loco_star_median_abs_dex"])
    assert plain["loco_star_mean_log_score"] == pytest.approx(ref["loco_star_mean_log_score"])
    assert plain["loco_cluster_median_abs_dex"] == pytest.approx(v["loco_cluster_median_abs_dex"])  # joint: rotation's
    # the card still verifies (the ONNX file was not touched)
    from gyroage.core.modelcard import load_card

    load_card(model_dir, verify=True)
    # resume: nothing retrained
    r2 = run_cli(*args)
    assert r2.returncode == 0 and "0 to train" in r2.stderr
    # --fit-calibration rewrites the card's calibration, which the posterior graphs embed: one line says how to
    # rebuild them (even with -q)
    r4 = run_cli(*args, "--fit-calibration", "-q")
    assert r4.returncode == 0, r4.stderr
    assert r4.stderr.strip().splitlines() == [f"validate: the card's calibration changed: run 'gyroage export --rebuild "
                                              f"--out {model_dir}' to rebuild its graphs from it"]
    # the same folds refit the same calibration: the graphs are as current as before, so nothing to rebuild
    r5 = run_cli(*args, "--fit-calibration", "-q")
    assert r5.returncode == 0 and r5.stderr == "", r5.stderr
    # a second training seed: its own folds and tables, and the spread across seeds in the summary
    r3 = run_cli(*args, "--extra-seeds", "1")
    assert r3.returncode == 0, r3.stderr
    assert "2 to train" in r3.stderr  # seed 1's own folds, not seed 0's again
    assert (tmp_path / "v" / "seed_1" / "loco_clusters.csv").is_file()
    spread = json.loads((model_dir / "gyroage-model.json").read_text())["validation"]["loco_by_seed"]
    per_seed = spread["loco_cluster_median_abs_dex"]["per_seed"]
    assert spread["seeds"] == [0, 1] and per_seed[0] == pytest.approx(v["loco_cluster_median_abs_dex"])
    seed1 = pd.read_csv(tmp_path / "v" / "seed_1" / "loco_clusters.csv")
    assert per_seed[1] == pytest.approx(np.median(np.abs(seed1["error_dex"])), abs=1e-5)  # the CSV keeps 6 digits
    # the benchmarks' way back to each seed's folds: seed 1's tables sit in seed_1/, its folds under the top level
    from gyroage.build.loco import saved_folds, seed_table_dirs

    dirs = seed_table_dirs(tmp_path / "v")
    assert dirs == [tmp_path / "v", tmp_path / "v" / "seed_1"]
    f0, f1 = (saved_folds(d) for d in dirs)
    assert set(f0) == set(f1) == {"NGC2516", "Praesepe"}
    assert not np.array_equal(f0["Praesepe"]["loglike"], f1["Praesepe"]["loglike"])  # another seed's flow


@pytest.mark.slow
@pytest.mark.parametrize("delay", [1.0, 6.0])  # workers still importing torch; training their folds
def test_ctrl_c_during_validate_is_one_line_and_stops_the_workers(catalog_path, tmp_path, delay):
    """Ctrl-C (SIGINT to the whole foreground process group) printed each worker's KeyboardInterrupt traceback; now
    one line, exit 130, and every worker gone."""
    pytest.importorskip("torch")
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    cmd = [sys.executable, "-m", "gyroage.cli", "validate", "--catalog", str(catalog_path), "--out", str(tmp_path / "v"),
           "--clusters", "NGC1758,NGC1647,NGC1750,Ruprecht147", "--jobs", "2"]
    # its own process group, SIGINT at its default (as in a terminal): the group is what Ctrl-C signals
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        first = p.stderr.readline()
        assert "to train" in first, first + p.stderr.read()
        time.sleep(delay)
        assert p.poll() is None, "validate finished before the interrupt"
        os.killpg(p.pid, signal.SIGINT)
        _, rest = p.communicate(timeout=50)  # returns once every process holding stderr (the workers too) is gone
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    assert p.returncode == 130, rest
    assert rest.strip().splitlines() == ["gyroage: interrupted"], rest
    # multiprocessing's resource tracker ends on its own once the main process is gone: give it a moment
    deadline = time.monotonic() + 10
    while _running_in_group(p.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _running_in_group(p.pid) == [], "a worker outlived the interrupt"


def _running_in_group(pgid: int) -> list[int]:
    """Processes of group ``pgid`` still running (Linux /proc; zombies left to a container's init do not count)."""
    from pathlib import Path

    if not Path("/proc/self/stat").is_file():
        pytest.skip("no /proc to list a process group with")
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended while listed
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def test_validate_rejects_unknown_cluster(catalog_path, tmp_path):
    pytest.importorskip("torch")
    r = run_cli("validate", "--catalog", str(catalog_path), "--clusters", "NoSuchCluster", "--out", str(tmp_path))
    assert r.returncode == 2 and "NoSuchCluster" in r.stderr and "Traceback" not in r.stderr


def test_seed_spread_reports_each_seed_with_mean_and_sd():
    from gyroage.build.loco_figures import seed_spread

    def summary(c, old, star, young_cov):
        return {"loco_cluster_median_abs_dex": c, "loco_cluster_median_abs_dex_ge30myr": old,
                "loco_star_median_abs_dex": star, "loco_star_mean_log_score": -1.0,
                "loco_star_coverage_68_by_age": {"<100 Myr": young_cov}, "loco_star_median_abs_dex_by_age": {"<100 Myr": 0.3},
                "loco_star_below_68_by_age": {"<100 Myr": 0.1}, "loco_star_above_68_by_age": {"<100 Myr": 1 - young_cov - 0.1}}

    # seeds out of order; a subset without clusters >= 30 Myr gives None for that figure
    out = seed_spread({2: summary(0.12, None, 0.36, 0.7), 0: summary(0.10, 0.06, 0.35, 0.8)})
    assert out["seeds"] == [0, 2]
    c = out["loco_cluster_median_abs_dex"]
    assert c["per_seed"] == [0.10, 0.12] and c["mean"] == pytest.approx(0.11) and c["sd"] == pytest.approx(0.02 / np.sqrt(2))
    old = out["loco_cluster_median_abs_dex_ge30myr"]
    assert old["per_seed"] == [0.06, None] and old["mean"] == pytest.approx(0.06) and old["sd"] is None
    assert out["loco_star_coverage_68_by_age"]["<100 Myr"]["mean"] == pytest.approx(0.75)
    assert out["loco_star_above_68_by_age"]["<100 Myr"]["per_seed"] == pytest.approx([0.1, 0.2])


@pytest.mark.parametrize("given", [["1,two"], ["two", "--extra-seeds", "1"], ["-1"]])
def test_validate_refuses_bad_extra_seeds_in_one_line(catalog_path, tmp_path, given):
    """Every value of a repeated --extra-seeds is read (not just the last); negative seeds are refused up front."""
    pytest.importorskip("torch")
    r = run_cli("validate", "--catalog", str(catalog_path), "--clusters", "M67", "--out", str(tmp_path / "v"),
                "--extra-seeds", *given)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "--extra-seeds" in r.stderr, r.stderr
    assert not (tmp_path / "v").exists()


@pytest.mark.parametrize("flow", [{"reference": "barnes"}, {"reference": "skumanich", "reference_onset": 8.5}])
def test_validate_refuses_bad_flow_settings_in_one_line(catalog_path, tmp_path, flow):
    pytest.importorskip("torch")
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"flow": flow}))
    r = run_cli("validate", "--catalog", str(catalog_path), "--clusters", "M67", "--out", str(tmp_path / "v"),
                "--config", str(cfg))
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "reference" in r.stderr


def test_colour_only_flow_ignores_the_error():
    """The shipped conditioning: the error input stays in the signature but cannot change log p.
    (Its ONNX export is covered by test_flow_export's shipped-model parity test.)"""
    torch = pytest.importorskip("torch")

    from gyroage.build.flow import ConditionalFlow, FlowConfig

    norm = {"age_mean": 8.0, "age_std": 0.8, "colour_mean": 2.0, "colour_std": 0.9, "err_mean": -1.4,
            "err_std": 0.4, "prot_mean": 0.4, "prot_std": 0.6}
    torch.manual_seed(0)
    m = ConditionalFlow(FlowConfig(hidden=16, use_colour_err=False), norm).eval()
    with torch.no_grad():
        m.net[-1].weight.normal_(0, 0.5)
    x = torch.linspace(-0.5, 1.5, 50)
    age, col = torch.full_like(x, 8.5), torch.full_like(x, 1.2)
    with torch.no_grad():
        assert torch.allclose(m(x, age, col, torch.full_like(x, 0.01)), m(x, age, col, torch.full_like(x, 0.3)))
        other = m(x, age, torch.full_like(x, 2.2), torch.full_like(x, 0.01))
    assert not torch.allclose(m(x, age, col, torch.full_like(x, 0.01)), other)  # colour still matters


@pytest.mark.parametrize("command", ["train", "validate"])
@pytest.mark.parametrize("text, words", [(None, "cannot read --config"), ("{not json", "cannot read --config"),
                                         ('["a list"]', "must hold a JSON object"),
                                         ('{"flow": "skumanich"}', "must hold a JSON object")])
def test_train_and_validate_refuse_an_unreadable_config_in_one_line(catalog_path, tmp_path, command, text, words):
    """Both commands read --config the same way (a list or a non-object 'flow' used to give validate a traceback)."""
    pytest.importorskip("torch")
    cfg = tmp_path / "c.json"
    if text is not None:
        cfg.write_text(text)
    r = run_cli(command, "--catalog", str(catalog_path), "--out", str(tmp_path / "o"), "--config", str(cfg),
                *(["--clusters", "M67"] if command == "validate" else []))
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert words in r.stderr and not (tmp_path / "o").exists()


def test_cluster_medians_are_the_issues_two_columns():
    """All clusters, and those of 30 Myr and older (30 itself included); None when no cluster is that old."""
    from gyroage.build.loco_figures import cluster_medians

    assert cluster_medians([-0.5, 0.1, -0.02, 0.04], [10.0, 30.0, 100.0, 2000.0]) == pytest.approx((0.07, 0.04))
    assert cluster_medians([0.3, -0.1], [2.0, 15.0]) == (pytest.approx(0.2), None)


def test_age_bins_keep_the_sign_of_the_median_error():
    """Stars dated too young show a negative median error beside the (unsigned) median |error|."""
    from gyroage.build.loco_figures import by_age_bin

    stars = pd.DataFrame({"true_age_myr": 2000.0, "pit": 0.5, "log_score": 0.0, "error_dex": [-0.5, -0.4, 0.1],
                          "age_p16_myr": 100.0, "age_p84_myr": 200.0})
    b = by_age_bin(stars)
    assert b["median_error_dex"][">=1000 Myr"] == pytest.approx(-0.4)
    assert b["median_abs_dex"][">=1000 Myr"] == pytest.approx(0.4)
    assert b["median_error_dex"]["<100 Myr"] is None


def test_held_out_height_term_never_sees_the_held_out_cluster(catalog_path):
    """The term that dates a held-out cluster's stars is fitted without them: moving that cluster's magnitudes in
    the catalogue changes nothing, while moving another cluster's does."""
    from gyroage.build.catalogue import load_catalogue, quality_select
    from gyroage.build.main_sequence import held_out_height_term

    frame = quality_select(load_catalogue(catalog_path))
    grid = np.linspace(6.0, 10.0, 81)
    members = frame[frame["cluster"] == "Praesepe"]
    base, informed, _ = held_out_height_term(frame, "Praesepe", members, grid)
    assert informed.any()
    for moved, same in (("Praesepe", True), ("Pleiades", False)):
        shifted = frame.copy()
        shifted.loc[shifted["cluster"] == moved, "G_0"] -= 1.5  # 1.5 mag brighter: as if 100x younger
        ll, _, _ = held_out_height_term(shifted, "Praesepe", members, grid)
        assert np.array_equal(ll, base) is same, moved


def test_held_out_height_terms_are_fitted_once_per_run(catalog_path):
    """Every seed of a validate run shares the held-out terms (they do not depend on the flow): a term already in
    the run's dict is used as it is, and a new fit is added to it."""
    from gyroage.build.catalogue import load_catalogue, quality_select
    from gyroage.build.main_sequence import held_out_height_term

    frame = quality_select(load_catalogue(catalog_path))
    grid = np.linspace(6.0, 10.0, 81)
    members = frame[frame["cluster"] == "Praesepe"]
    fitted: dict = {}
    first, _, _ = held_out_height_term(frame, "Praesepe", members, grid, fitted)
    assert list(fitted) == ["Praesepe"]
    np.testing.assert_array_equal(first, held_out_height_term(frame, "Praesepe", members, grid)[0])
    # a planted term (the Pleiades' own fit) is read from the dict, not refitted
    held_out_height_term(frame, "Pleiades", members, grid, fitted)
    fitted["Praesepe"] = fitted["Pleiades"]
    again, _, _ = held_out_height_term(frame, "Praesepe", members, grid, fitted)
    assert not np.array_equal(again, first)


@pytest.mark.parametrize("same_settings", [True, False])
def test_a_new_validation_keeps_group_widths_only_for_the_same_settings(tmp_path, same_settings):
    """group-age's widths by age come from many seeds' folds of the model's settings, not from one validate run:
    rewriting the card's validation keeps them while the settings match and drops them (one width) when not."""
    import shutil

    from gyroage.build.loco import write_card_validation
    from gyroage.core.groups import default_group_systematic, default_systematic_dex
    from gyroage.core.modelcard import load_card
    from tests.conftest import ROOT

    model_dir = tmp_path / "model"
    shutil.copytree(ROOT / "models", model_dir)
    card, _ = load_card(model_dir)
    assert "group_calibration" in card.validation
    settings = dict(card.training["settings"], **({} if same_settings else {"trim_dex": 0.2}))
    summary = {"train_settings": settings, "loco_cluster_median_abs_dex_ge30myr": 0.06}
    write_card_validation(model_dir, summary, force=True)
    new, _ = load_card(model_dir)
    assert new.validation["loco_cluster_median_abs_dex_ge30myr"] == 0.06
    assert ("group_calibration" in new.validation) == same_settings
    assert ("group_calibration_fit" in new.validation) == same_settings
    if not same_settings:
        assert default_group_systematic(new) == default_systematic_dex(new) == pytest.approx(0.06 / 0.6745)


KNOWN = ["APer", "M67", "NGC2516", "NGC6811", "Pleiades", "Praesepe"]


@pytest.mark.parametrize("given, found", [("NGC 6811", "NGC6811"), ("ngc_6811", "NGC6811"), ("pleiades", "Pleiades"),
                                          ("PRAESEPE", "Praesepe"), ("M67", "M67")])
def test_cluster_names_match_ignoring_case_spaces_and_underscores(given, found):
    from gyroage.build.catalogue import match_clusters

    assert match_clusters([given], KNOWN) == [found]


def test_an_unknown_cluster_names_the_closest_and_the_known_ones():
    from gyroage.build.catalogue import match_clusters
    from gyroage.errors import UserError

    with pytest.raises(UserError) as exc:
        match_clusters(["Pleiads"], KNOWN)
    assert "did you mean 'Pleiades'?" in str(exc.value) and ", ".join(KNOWN) in str(exc.value)
    with pytest.raises(UserError) as exc:
        match_clusters(["Hyades"], KNOWN)
    assert "did you mean" not in str(exc.value) and ", ".join(KNOWN) in str(exc.value)


def test_validate_and_train_read_cluster_names_as_users_write_them(catalog_path, tmp_path):
    """--clusters "NGC 6811" was an unknown cluster, with no list of the known ones."""
    pytest.importorskip("torch")
    r = run_cli("validate", "--catalog", str(catalog_path), "--clusters", "ngc 6811", "--out", str(tmp_path / "v"),
                "--min-members", "500")  # resolved, then refused before any training: too few members at 500
    assert r.returncode == 2 and re.fullmatch(r"gyroage: error: cluster NGC6811 has (\d+) selected members, fewer than "
                                              r"--min-members 500 \(give --min-members \1 to validate it\)",
                                              r.stderr.strip()), r.stderr
    r = run_cli("validate", "--catalog", str(catalog_path), "--clusters", "Pleiads", "--out", str(tmp_path / "v"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "did you mean 'Pleiades'?" in r.stderr and "NGC6811" in r.stderr
    r = run_cli("train", "--catalog", str(catalog_path), "--exclude", "Pleiads", "--out", str(tmp_path / "t"))
    assert r.returncode == 2 and "did you mean 'Pleiades'?" in r.stderr, r.stderr


@pytest.mark.slow
def test_validate_does_not_reuse_folds_trained_on_another_catalogue(catalog_path, tmp_path):
    """The settings key hashes the training settings only: a second catalogue validated into the same --out with
    the same settings printed "1 folds already done" and scored the first catalogue's fold."""
    pytest.importorskip("torch")
    full = pd.read_csv(catalog_path)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    full.to_csv(first, index=False)
    full[full["cluster"] != full["cluster"].iloc[0]].to_csv(second, index=False)  # one other cluster fewer
    args = ["--clusters", "Praesepe", "--out", str(tmp_path / "v"), "--max-epochs", "1", "--jobs", "1"]
    r = run_cli("validate", "--catalog", str(first), *args)
    assert r.returncode == 0 and "1 to train" in r.stderr, r.stderr
    again = run_cli("validate", "--catalog", str(first), *args)
    assert again.returncode == 0 and "0 to train" in again.stderr, again.stderr  # same catalogue: resumed
    other = run_cli("validate", "--catalog", str(second), *args)
    assert other.returncode == 0, other.stderr
    assert "1 to train" in other.stderr and "another catalogue" in other.stderr, other.stderr


@pytest.mark.parametrize("kind", ["one", "two", "same_age"])
@needs_torch
def test_validate_refuses_too_few_clusters_before_any_fold(catalog_path, tmp_path, kind):
    """One or two clusters (or clusters of one age) left folds with nothing to learn from: validate started them and
    failed with train's "no stars left to train on (check --exclude ...)", an option validate does not have."""
    full = pd.read_csv(catalog_path)
    part = {"one": full[full["cluster"] == "Pleiades"],
            "two": full[full["cluster"].isin(["Pleiades", "Praesepe"])],
            # every cluster 4 Gyr: labelled 500 Myr, M67's 25.6 d median is refused first as periods in hours (FV43)
            "same_age": full.assign(fiducial_age_Myr=4000.0)}[kind]
    part.to_csv(tmp_path / "cat.csv", index=False)
    r = run_cli("validate", "--catalog", str(tmp_path / "cat.csv"), "--clusters", "Pleiades", "--min-members", "5",
                "--out", str(tmp_path / "v"), "--max-epochs", "1", "--jobs", "1")
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("gyroage: error: too few clusters to validate") and len(r.stderr.splitlines()) == 1
    assert not (tmp_path / "v" / "folds").exists()


@pytest.mark.parametrize("jobs", ["0", "-1"])
def test_validate_refuses_fewer_than_one_job_in_one_line(tmp_path, jobs):
    """--jobs 0 ran, saying "0 processes"."""
    r = run_cli("validate", "--jobs", jobs, "--out", str(tmp_path / "v"))
    assert r.returncode == 2 and r.stderr == f"gyroage: error: --jobs must be 1 or more, not {jobs}\n", r.stderr
    assert not (tmp_path / "v").exists()


def test_validate_names_more_validation_clusters_than_a_fold_can_hold_out(catalog_path):
    """The folds train quietly: validate says once, before them, that n_val_clusters is more than they can use."""
    from gyroage.build.catalogue import load_catalogue, quality_select
    from gyroage.build.loco_checks import val_clusters_capped

    frame = quality_select(load_catalogue(catalog_path))
    assert val_clusters_capped(frame, ["Praesepe"], {"n_val_clusters": 4}) is None
    note = val_clusters_capped(frame, ["Praesepe"], {"n_val_clusters": 100})
    assert note.startswith("fold Praesepe: n_val_clusters 100: only ") and "to train on" in note
