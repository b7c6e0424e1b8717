"""Training on the real catalogue (skipped when ../shared/data is absent)."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gyroage.build.catalogue import load_catalogue, quality_select, training_set  # noqa: E402
from gyroage.build.training import TrainSettings, choose_val_clusters, train_flow  # noqa: E402
from tests.conftest import run_cli  # noqa: E402


def test_quality_selection(catalog_path):
    raw = load_catalogue(catalog_path)
    sel = quality_select(raw)
    assert 0 < len(sel) < len(raw)
    assert (sel["dr3_ruwe"] < 1.4).all() and (sel["cmd_exclude"] == 0).all()


@pytest.mark.slow
def test_training_is_deterministic_and_holds_out_clusters(catalog_path):
    data = training_set(quality_select(load_catalogue(catalog_path)))
    s = TrainSettings(max_epochs=3, seed=7, refit=False)
    a, b = train_flow(data, s, quiet=True), train_flow(data, s, quiet=True)
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(pa, pb)
    val = choose_val_clusters(data, 4, 7)
    assert a.val_clusters == val and len(val) == 4
    ages = {c: data.log10_age[data.cluster == c][0] for c in data.clusters}
    assert min(ages, key=ages.get) not in val and max(ages, key=ages.get) not in val
    assert np.isfinite(a.val_nll)


def test_membership_weights_move_weight_within_a_cluster_never_between_clusters():
    """Two clusters of 3 and 1 stars: membership reweights inside a cluster, each cluster's total stays its own."""
    from gyroage.build.training import star_weights

    cluster = np.array(["a", "a", "a", "b"])
    base = star_weights(cluster, 0.5)
    w = star_weights(cluster, 0.5, np.array([1.0, 0.5, 0.5, 0.2]), 1.0)
    assert np.isclose(w[:3].sum(), base[:3].sum()) and np.isclose(w[3], base[3])
    assert np.isclose(w[0] / w[1], 2.0) and np.isclose(w[1], w[2])
    assert np.array_equal(star_weights(cluster, 0.5, np.array([1.0, 0.5, 0.5, 0.2]), 0.0), base)


def test_membership_comes_from_the_source_probability_and_stays_out_of_default_settings(catalog_path):
    frame = quality_select(load_catalogue(catalog_path))
    data = training_set(frame)
    p = frame["mem_prob_source"].to_numpy(dtype=float)
    assert np.array_equal(data.membership[np.isfinite(p)], p[np.isfinite(p)])
    assert np.all(data.membership[~np.isfinite(p)] == 1.0)
    assert np.all(training_set(frame.drop(columns="mem_prob_source")).membership == 1.0)
    # at its default the setting is left out, so earlier cards' settings and LOCO fold keys are unchanged
    assert "membership_weight_power" not in TrainSettings().to_dict()
    s = TrainSettings(membership_weight_power=1.0)
    assert TrainSettings.from_dict(s.to_dict()) == s


def _toy_set(ages=(7.0, 7.5, 8.0, 8.5, 9.0), n=30):
    from gyroage.build.catalogue import TrainingSet

    age = np.repeat(ages, n)
    return TrainingSet(np.full(len(age), 0.5), age, np.full(len(age), 1.0), np.full(len(age), 0.02),
                       np.repeat([f"C{a}" for a in ages], n))


def test_in_sample_errors_date_each_cluster_as_validate_does():
    """A stand-in flow whose likelihood peaks at log age 8.0 for every star: each cluster's error is 8.0 - its label."""
    from gyroage.build.training import in_sample_errors

    def flow(prot, age, colour, err):
        return -0.5 * ((age - 8.0) / 0.05) ** 2

    errors = in_sample_errors(flow, _toy_set())
    assert errors.keys() == {"C7.0", "C7.5", "C8.0", "C8.5", "C9.0"}
    for c, e in errors.items():
        assert abs(e - (8.0 - float(c[1:]))) < 0.01


def test_trimming_retrains_once_without_the_misfits_but_keeps_the_age_ends(monkeypatch):
    from gyroage.build import training

    data, seen = _toy_set(), []

    def once(d, s, quiet, factors=None):
        seen.append((d.clusters, factors))
        return training.TrainResult(None, s, [], 1, 0.0, 0.0, 1.0, [])

    monkeypatch.setattr(training, "_train_once", once)
    monkeypatch.setattr(training, "in_sample_errors",
                        lambda model, d: {"C7.0": 0.5, "C7.5": 0.2, "C8.0": -0.05, "C8.5": -0.3, "C9.0": 0.4})
    result = training.train_flow(data, TrainSettings(trim_dex=0.1), quiet=True)
    assert seen == [(data.clusters, None), (["C7.0", "C8.0", "C9.0"], None)]  # the ends stay, whatever their error
    assert result.trimmed == {"C7.5": 0.2, "C8.5": -0.3}
    from types import SimpleNamespace

    from gyroage.build.export import card_from_training

    result.model = SimpleNamespace(norm={})
    info = training.train_info(result, data, "catalogue.csv", "0" * 64)
    assert info["clusters"] == ["C7.0", "C8.0", "C9.0"] and info["trimmed_clusters"] == result.trimmed
    assert card_from_training(info).training["trimmed_clusters"] == result.trimmed
    seen.clear()
    assert training.train_flow(data, TrainSettings(), quiet=True).trimmed == {} and len(seen) == 1
    assert "trim_dex" not in TrainSettings().to_dict()
    # trim_weight: the second training keeps every cluster, the misfits' loss weights scaled
    seen.clear()
    result = training.train_flow(data, TrainSettings(trim_dex=0.1, trim_weight=0.2), quiet=True)
    assert seen[1] == (data.clusters, {"C7.5": 0.2, "C8.5": 0.2})
    result.model = SimpleNamespace(norm={})
    assert training.train_info(result, data, "catalogue.csv", "0" * 64)["clusters"] == data.clusters


def _stub_training(monkeypatch) -> list:
    """train_flow with each training recorded (the list returned) instead of run, and fixed in-sample errors:
    C7.0 +0.5, C7.5 +0.2, C8.0 -0.05, C8.5 -0.3, C9.0 +0.4 dex."""
    from types import SimpleNamespace

    from gyroage.build import training

    seen = []

    def once(d, s, quiet, factors=None):
        seen.append(d)
        return training.TrainResult(SimpleNamespace(norm={}), s, [], 1, 0.0, 0.0, 1.0, [])

    monkeypatch.setattr(training, "_train_once", once)
    monkeypatch.setattr(training, "in_sample_errors",
                        lambda model, d: {"C7.0": 0.5, "C7.5": 0.2, "C8.0": -0.05, "C8.5": -0.3, "C9.0": 0.4})
    return seen


def test_trimming_spares_young_clusters_and_keeps_red_stars_when_asked(monkeypatch):
    from gyroage.build import training

    data = _toy_set()
    data.bp_rp0[1::2] = 3.0  # every cluster: half its stars M dwarfs
    seen = _stub_training(monkeypatch)
    # C7.5 is 31.6 Myr: under a 40 Myr guard only C8.5 goes, and its stars redder than 2.5 stay
    s = TrainSettings(trim_dex=0.1, trim_min_age_myr=40.0, trim_keep_redder=2.5)
    result = training.train_flow(data, s, quiet=True)
    assert result.trimmed == {"C8.5": -0.3}
    second = seen[1]
    assert len(second) == len(data) - 15
    assert np.all(second.bp_rp0[second.cluster == "C8.5"] == 3.0) and np.sum(second.cluster == "C8.5") == 15
    info = training.train_info(result, data, "catalogue.csv", "0" * 64)
    assert info["clusters"] == data.clusters and info["n_stars"] == len(data) - 15
    assert TrainSettings.from_dict(s.to_dict()) == s
    assert "trim_min_age_myr" not in TrainSettings().to_dict() and "trim_keep_redder" not in TrainSettings().to_dict()
    # without the red keep, all of C8.5 goes (and the guard still spares C7.5)
    seen.clear()
    result = training.train_flow(data, TrainSettings(trim_dex=0.1, trim_min_age_myr=40.0), quiet=True)
    assert "C8.5" not in seen[1].clusters and "C7.5" in seen[1].clusters


def test_relabelling_keeps_every_star_and_moves_the_misfits_labels_to_their_in_sample_ages(monkeypatch):
    from gyroage.build import training
    from gyroage.build.export import card_from_training

    data = _toy_set()
    seen = _stub_training(monkeypatch)
    s = TrainSettings(trim_dex=0.1, trim_min_age_myr=40.0, trim_relabel=True)
    result = training.train_flow(data, s, quiet=True)
    assert result.trimmed == {"C8.5": -0.3}  # the ends and the 31.6 Myr C7.5 (under the guard) keep their labels
    second = seen[1]
    assert len(second) == len(data) and np.array_equal(second.cluster, data.cluster)
    moved = second.log10_age - data.log10_age
    assert np.allclose(moved[data.cluster == "C8.5"], -0.3) and np.all(moved[data.cluster != "C8.5"] == 0)
    assert np.all(data.log10_age[data.cluster == "C8.5"] == 8.5)  # the caller's set is not changed
    info = training.train_info(result, data, "catalogue.csv", "0" * 64)
    assert info["clusters"] == data.clusters and info["n_stars"] == len(data)
    assert info["relabelled_clusters"] == {"C8.5": -0.3} and "trimmed_clusters" not in info
    assert card_from_training(info).training["relabelled_clusters"] == {"C8.5": -0.3}
    assert TrainSettings.from_dict(s.to_dict()) == s and "trim_relabel" not in TrainSettings().to_dict()
    # the card's sequence domain holds the ages trained on: where C8.5 is a colour bin's oldest cluster, that bin
    # ends at its new label, 8.2, padded by SEQUENCE_AGE_PAD_DEX (0.1)
    data.bp_rp0[data.cluster == "C9.0"] = 2.0
    info = training.train_info(training.train_flow(data, s, quiet=True), data, "catalogue.csv", "0" * 64)
    seq = info["domain"]["sequence"]
    b = int(np.digitize(1.0, seq["colour_edges"])) - 1
    assert seq["log10_age_max"][b] == pytest.approx(8.3, abs=1e-6)


def test_trim_weight_scales_the_loss_weights_of_the_flagged_clusters(monkeypatch):
    from gyroage.build import training

    data, got = _toy_set(), {}
    monkeypatch.setattr(training, "_tensors", lambda d: (None,) * 4)

    class Stop(Exception):
        pass

    def capture(w, dtype=None):
        got["w"] = np.asarray(w)
        raise Stop

    monkeypatch.setattr(training.torch, "tensor", capture)
    with pytest.raises(Stop):
        training._fit(torch.nn.Linear(1, 1), data, None, TrainSettings(), 1, None, {"C7.5": 0.2})
    w = got["w"]
    assert np.isclose(w.mean(), 1.0) and np.allclose(w[data.cluster == "C7.5"] / w[data.cluster == "C7.0"], 0.2)


def test_the_outlier_mixture_in_training_is_the_one_ages_use_and_stays_out_of_default_settings():
    from gyroage.build.flow import ConditionalFlow, FlowConfig
    from gyroage.build.training import training_log_prob
    from gyroage.core.density import mix_outlier
    from gyroage.core.modelcard import outlier_log_density

    torch.manual_seed(0)
    norm = {"age_mean": 8.3, "age_std": 0.8, "colour_mean": 1.5, "colour_std": 0.6, "err_mean": -1.7, "err_std": 0.3,
            "prot_mean": 0.8, "prot_std": 0.4}
    model = ConditionalFlow(FlowConfig(), norm)
    x = [torch.tensor(v, dtype=torch.float32) for v in ([0.2, 1.0, 1.8, -1.0], [7.5, 8.5, 9.5, 8.0],
                                                          [0.9, 1.3, 2.2, 1.0], [0.02] * 4)]
    plain = training_log_prob(model, TrainSettings(), *x).detach().numpy()
    assert np.array_equal(plain, model(*x).detach().numpy())
    mixed = training_log_prob(model, TrainSettings(outlier_weight_train=0.05), *x).detach().numpy()
    assert np.allclose(mixed, mix_outlier(plain.astype(float), 0.05, outlier_log_density()), rtol=1e-5, atol=1e-6)
    assert np.all(mixed > plain + np.log(0.95) - 1e-6)  # the mixture never loses more than log(1 - w)
    assert "outlier_weight_train" not in TrainSettings().to_dict()
    s = TrainSettings(outlier_weight_train=0.05)
    assert TrainSettings.from_dict(s.to_dict()) == s


def _toy_fit(ema_decay: float, with_val: bool):
    """Two epochs of _fit on a tiny two-cluster set; the weights it returns (and the per-step weights it passed)."""
    from gyroage.build.catalogue import TrainingSet
    from gyroage.build.flow import ConditionalFlow, FlowConfig
    from gyroage.build.training import _fit
    from gyroage.progress import Progress

    rng = np.random.default_rng(0)
    age = np.repeat([7.5, 8.5], 40)
    data = TrainingSet(rng.normal(0.8, 0.2, 80), age, rng.uniform(0.8, 2.0, 80), np.full(80, 0.02),
                       np.repeat(["A", "B"], 40))
    norm = {"age_mean": 8.0, "age_std": 0.5, "colour_mean": 1.4, "colour_std": 0.4, "err_mean": -1.7, "err_std": 0.3,
            "prot_mean": 0.8, "prot_std": 0.2}
    torch.manual_seed(0)
    model = ConditionalFlow(FlowConfig(hidden=8, use_colour_err=False), norm)
    s = TrainSettings(batch_size=16, max_epochs=2, ema_decay=ema_decay, threads=1)
    val = data.subset(data.cluster == "B") if with_val else None
    train = data.subset(data.cluster == "A") if with_val else data
    _fit(model, train, val, s, 2, Progress("t", quiet=True))
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("with_val", [False, True])
def test_a_vanishing_moving_average_keeps_the_weights_as_trained_and_a_slow_one_does_not(with_val):
    """The average's plumbing (which weights are judged, kept and returned) is checked by a decay so small that the
    average is the latest weights: the result must equal plain training; a decay of 0.9 must not."""
    plain = _toy_fit(0.0, with_val)
    tiny = _toy_fit(1e-12, with_val)
    slow = _toy_fit(0.9, with_val)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(plain, tiny))
    assert not all(torch.allclose(a, b, atol=1e-4) for a, b in zip(plain, slow))


def test_the_moving_average_forgets_the_initial_weights_at_the_rate_it_promises():
    from gyroage.build.flow import ConditionalFlow, FlowConfig
    from gyroage.build.training import _average_into

    norm = {"age_mean": 8.0, "age_std": 0.5, "colour_mean": 1.4, "colour_std": 0.4, "err_mean": -1.7, "err_std": 0.3,
            "prot_mean": 0.8, "prot_std": 0.2}
    avg, model = (ConditionalFlow(FlowConfig(hidden=4), norm) for _ in range(2))
    with torch.no_grad():
        for a, m in zip(avg.parameters(), model.parameters()):
            a.fill_(0.0)
            m.fill_(1.0)
    expected = 0.0
    for step in range(1, 400):
        _average_into(avg, model, 0.995, step)
        d = min(0.995, (1 + step) / (10 + step))
        expected = d * expected + (1 - d)
    first = next(avg.parameters())
    assert torch.allclose(first, torch.full_like(first, expected), atol=1e-5)
    # the warm-up forgets the random start: without it, 0.995 ** 399 = 14% of it would remain
    assert expected > 0.999


def test_the_weight_average_stays_out_of_default_settings_and_round_trips():
    assert "ema_decay" not in TrainSettings().to_dict()
    s = TrainSettings(ema_decay=0.995)
    assert TrainSettings.from_dict(s.to_dict()) == s and s.to_dict()["ema_decay"] == 0.995


def test_sole_period_sources_leave_training_only_where_their_cluster_has_other_periods(monkeypatch):
    from gyroage.build import training
    from gyroage.build.catalogue import without_sole_sources

    data = _toy_set(ages=(7.0, 8.0, 9.0), n=4)
    data.period_source[:] = ["L", "L", "X", "L;X", "L", "L", "L", "L", "X", "", "X", "X"]
    kept = without_sole_sources(data, ("L",))
    # C7.0 loses its two L-only stars (X and L;X are elsewhere); C8.0 has nothing but L and keeps all four
    assert list(kept.cluster) == ["C7.0", "C7.0"] + ["C8.0"] * 4 + ["C9.0"] * 4
    assert list(kept.period_source[:2]) == ["X", "L;X"]
    assert without_sole_sources(data, ()) is data and len(without_sole_sources(data, ("Z",))) == len(data)
    seen = _stub_training(monkeypatch)
    s = TrainSettings(drop_sole_period_sources=("L",))
    result = training.train_flow(data, s, quiet=True)
    assert len(seen[0]) == 10
    assert training.train_info(result, data, "catalogue.csv", "0" * 64)["n_stars"] == 10
    # a JSON config gives a list; at its default the setting is left out, so fold keys and cards stay
    assert TrainSettings.from_dict({"drop_sole_period_sources": ["L"]}) == s == TrainSettings.from_dict(s.to_dict())
    assert "drop_sole_period_sources" not in TrainSettings().to_dict()


def test_period_sources_come_from_the_catalogue(catalog_path):
    frame = quality_select(load_catalogue(catalog_path))
    data = training_set(frame)
    assert list(data.period_source) == frame["Prot_source"].fillna("").astype(str).tolist()
    assert np.all(training_set(frame.drop(columns="Prot_source")).period_source == "")


def test_evolved_stars_of_old_clusters_leave_training_but_binaries_and_young_stars_stay(monkeypatch):
    from gyroage.build import training
    from gyroage.build.catalogue import above_main_sequence, without_evolved

    data = _toy_set(ages=(7.0, 8.5, 9.3), n=4)
    data.bp_rp0[:] = np.tile([0.85, 0.85, 1.45, 1.45], 3)
    # the 8.5 cluster is the main sequence: M_G 4.5 at 0.85 and 6.5 at 1.45 (its median per 0.1-mag bin)
    data.abs_mag_g[:] = [2.0, 4.5, 6.5, 3.0,  # 10 Myr: pre-main-sequence stars above it stay
                         4.4, 4.6, 6.4, 6.6,
                         3.2, 3.9, 6.5, np.nan]  # 2 Gyr: a subgiant 1.3 mag up goes; a binary 0.6 up stays
    assert np.allclose(above_main_sequence(data)[8:11], [1.3, 0.6, 0.0])
    kept = without_evolved(data, 1.0)
    assert len(kept) == 11 and 3.2 not in kept.abs_mag_g
    assert without_evolved(data, 0.0) is data and len(without_evolved(data, 2.0)) == 12
    seen = _stub_training(monkeypatch)
    s = TrainSettings(drop_evolved_mag=1.0)
    result = training.train_flow(data, s, quiet=True)
    assert len(seen[0]) == 11
    assert training.train_info(result, data, "catalogue.csv", "0" * 64)["n_stars"] == 11
    assert TrainSettings.from_dict(s.to_dict()) == s and "drop_evolved_mag" not in TrainSettings().to_dict()


def test_absolute_magnitudes_use_each_clusters_median_parallax(catalog_path):
    frame = quality_select(load_catalogue(catalog_path))
    data = training_set(frame)
    m = (frame["cluster"] == "NGC6819").to_numpy()
    plx = np.median(frame.loc[m, "dr3_parallax_zpt_corrected"])
    assert np.allclose(data.abs_mag_g[m], frame.loc[m, "G_0"] + 5 * np.log10(plx / 100))
    assert np.all(np.isnan(training_set(frame.drop(columns="G_0")).abs_mag_g))


def test_relabelling_never_moves_a_cluster_to_another_solution(monkeypatch):
    from gyroage.build import training

    data = _toy_set()
    seen = _stub_training(monkeypatch)
    # C8.5 (316 Myr) dated in-sample 1.2 dex younger (20 Myr): another solution, not a label conflict
    monkeypatch.setattr(training, "in_sample_errors",
                        lambda model, d: {"C7.0": 0.5, "C7.5": -0.2, "C8.0": -0.05, "C8.5": -1.2, "C9.0": 0.4})
    s = TrainSettings(trim_dex=0.1, trim_min_age_myr=30.0, trim_relabel=True)
    result = training.train_flow(data, s, quiet=True)
    assert result.trimmed == {"C7.5": -0.2}  # 31.6 Myr moved to 20 Myr; C8.5 keeps its label
    assert np.all(seen[1].log10_age[seen[1].cluster == "C8.5"] == 8.5)
    # trimming (no relabel) still leaves C8.5 out: only a relabel would put it where its periods are ambiguous
    seen.clear()
    result = training.train_flow(data, TrainSettings(trim_dex=0.1, trim_min_age_myr=30.0), quiet=True)
    assert set(result.trimmed) == {"C7.5", "C8.5"}


def test_a_configs_epoch_cap_holds_unless_the_command_line_gives_one(catalog_path, tmp_path):
    """--max-epochs' default must not override a --config file's max_epochs (study 28 trained 300 epochs for 100)."""
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"max_epochs": 2, "n_val_clusters": 0, "threads": 1}))
    runs = {"config": (), "flag": ("--max-epochs", "1")}
    for name, extra in runs.items():
        r = run_cli("train", "--catalog", str(catalog_path), "--out", str(tmp_path / name), "--config", str(cfg),
                    "-q", *extra)
        assert r.returncode == 0, r.stderr
    epochs = {name: json.loads((tmp_path / name / "train.json").read_text())["settings"]["max_epochs"] for name in runs}
    assert epochs == {"config": 2, "flag": 1}


@pytest.mark.parametrize("kwargs, key", [
    ({"max_epochs": 0}, "max_epochs"), ({"max_epochs": -5}, "max_epochs"), ({"batch_size": 0}, "batch_size"),
    ({"lr": 0.0}, "lr"), ({"lr": float("nan")}, "lr"), ({"patience": 0}, "patience"), ({"threads": 0}, "threads"),
    ({"weight_decay": -1e-4}, "weight_decay"), ({"outlier_weight_train": 1.0}, "outlier_weight_train"),
    ({"ema_decay": 1.0}, "ema_decay"), ({"ema_decay": -0.5}, "ema_decay"),
])
def test_train_settings_refuse_values_that_cannot_train(kwargs, key):
    with pytest.raises(ValueError, match=f"^{key} must be"):
        TrainSettings(**kwargs)


def _build_cli(*args):
    from typer.testing import CliRunner

    from gyroage.cli import app

    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("command", ["train", "validate"])
@pytest.mark.parametrize("how", ["flag 0", "flag -2", "config -5"])
def test_train_and_validate_refuse_max_epochs_below_one_before_the_catalogue(tmp_path, command, how):
    """--max-epochs 0 (or a config's max_epochs -5) trained nothing and wrote an untrained model with exit 0;
    it is now one line, exit 2, before the catalogue is read (here: a catalogue that does not exist)."""
    kind, value = how.split()
    args = [command, "--out", str(tmp_path / "out"), "--catalogue", str(tmp_path / "missing.csv")]
    if kind == "flag":
        args += ["--max-epochs", value]
    else:
        (tmp_path / "c.json").write_text(json.dumps({"max_epochs": int(value)}))
        args += ["--config", str(tmp_path / "c.json")]
    res = _build_cli(*args)
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert f"max_epochs must be at least 1, not {value}" in res.output.replace("-max-epochs", "max_epochs")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["train", "validate"])
@pytest.mark.parametrize("config, message", [
    ({"max_epochs": "abc"}, "max_epochs must be a whole number, not 'abc'"),
    ({"lr": "fast"}, "lr must be a finite number, not 'fast'"),
    ({"refit": 1}, "refit must be true or false, not 1"),
    ({"flow": {"hidden": 6.5}}, "flow.hidden must be a whole number, not 6.5"),
])
def test_config_values_of_the_wrong_type_are_one_line_naming_the_key(tmp_path, command, config, message):
    """A config's {"max_epochs": "abc"} was a TypeError traceback (in training, after the catalogue was read)."""
    (tmp_path / "c.json").write_text(json.dumps(config))
    res = _build_cli(command, "--out", str(tmp_path / "out"), "--catalogue", str(tmp_path / "missing.csv"),
                     "--config", str(tmp_path / "c.json"))
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert message in res.output and str(tmp_path / "c.json") in res.output


@pytest.mark.parametrize("option, value", [("--outlier-weight-star", "2"), ("--outlier-weight-group", "-1"),
                                           ("--outlier-weight-star", "nan"), ("--outlier-weight-group", "1")])
def test_validate_refuses_outlier_weights_outside_0_1_up_front(tmp_path, option, value):
    res = _build_cli("validate", "--out", str(tmp_path / "v"), "--catalogue", str(tmp_path / "missing.csv"),
                     option, value)
    assert res.exit_code == 2 and res.output.strip() == f"gyroage: error: {option} must be in [0, 1)", res.output


def test_validate_with_no_cluster_that_large_says_so(catalog_path, tmp_path):
    """--min-members 100000 was 'ValueError: No objects to concatenate' once the (no) folds were done."""
    res = _build_cli("validate", "--catalogue", str(catalog_path), "--out", str(tmp_path / "v"),
                     "--min-members", "100000", "--max-epochs", "1", "--jobs", "1")
    assert res.exit_code == 2 and res.output.count("\n") == 1, res.output
    assert "no cluster has 100000 or more selected members" in res.output


@pytest.mark.slow
def test_a_failed_training_run_sets_the_earlier_checkpoint_aside(catalog_path, tmp_path):
    """After a NaN stop --out still held the earlier run's flow.pt and train.json, which export --checkpoint took for
    this run's; they are now renamed, and export says the directory holds no checkpoint."""
    pytest.importorskip("torch")
    out = tmp_path / "run"
    first = run_cli("train", "--catalog", str(catalog_path), "--out", str(out), "--max-epochs", "1", "-q")
    assert first.returncode == 0, first.stderr
    earlier = (out / "flow.pt").read_bytes()
    (tmp_path / "nan.json").write_text('{"lr": 1e8, "max_epochs": 5}')  # the loss is not finite at epoch 1
    failed = run_cli("train", "--catalog", str(catalog_path), "--out", str(out), "--config", str(tmp_path / "nan.json"),
                     "-q")
    assert failed.returncode != 0 and "not finite" in failed.stderr, failed.stderr
    assert not (out / "flow.pt").exists() and not (out / "train.json").exists()
    assert (out / "flow.previous.pt").read_bytes() == earlier and (out / "train.previous.json").is_file()
    assert "renamed the earlier run's flow.pt" in failed.stderr
    export = run_cli("export", "--checkpoint", str(out), "--out", str(tmp_path / "model"))
    assert export.returncode == 2 and "holds no flow.pt" in export.stderr, export.stderr


def test_more_validation_clusters_than_can_be_held_out_are_named(catalog_path, tmp_path):
    """{"n_val_clusters": 100} held out 22 of the 26 clusters for early stopping, silently."""
    from gyroage.build.catalogue import val_candidates, val_clusters_notice

    data = training_set(quality_select(load_catalogue(catalog_path)))
    most = len(val_candidates(data)) - 1
    assert val_clusters_notice(data, 4) is None
    # as many as can be held out: so many that fewer than half the clusters are left to train on, said too
    assert "fewer than half, to train on" in val_clusters_notice(data, most)
    note = val_clusters_notice(data, 100)
    total = len(set(data.cluster))
    assert note == (f"n_val_clusters 100: only {most} of the {total} clusters can be held out for early stopping "
                    f"(20+ members, never the youngest or oldest), leaving {total - most} to train on")
    assert len(choose_val_clusters(data, 100, 0)) == most  # what training does hold out
    (tmp_path / "nv.json").write_text('{"n_val_clusters": 100}')
    r = run_cli("train", "--catalog", str(catalog_path), "--config", str(tmp_path / "nv.json"), "--max-epochs", "1",
                "--out", str(tmp_path / "run"), "-q")
    assert r.returncode == 0 and r.stderr == f"train: {note}\n", r.stderr


def test_excluded_clusters_leave_every_training_and_stay_out_of_default_settings(monkeypatch):
    from gyroage.build import training

    data = _toy_set(ages=(7.0, 8.0, 9.0), n=5)
    seen = _stub_training(monkeypatch)
    s = TrainSettings(exclude_clusters=["C8.0"])  # a JSON config gives a list
    result = training.train_flow(data, s, quiet=True)
    assert len(seen[0]) == 10 and "C8.0" not in set(seen[0].cluster)
    assert training.train_info(result, data, "catalogue.csv", "0" * 64)["n_stars"] == 10
    assert TrainSettings.from_dict(s.to_dict()) == s and s.exclude_clusters == ("C8.0",)
    assert "exclude_clusters" not in TrainSettings().to_dict()
    with pytest.raises(ValueError, match="exclude_clusters must be a list of strings"):
        TrainSettings(exclude_clusters="C8.0")


def test_a_relabel_leaves_a_cluster_too_small_to_date_itself_at_its_label(monkeypatch, capsys):
    """3 stars of a 462 Myr cluster were relabelled by -1.00 dex, widening the card's trained ages (review V40, 6): a
    cluster of fewer than RELABEL_MIN_MEMBERS (20) keeps its label, said in the relabel's "left at" line and recorded."""
    from gyroage.build import training

    full = _toy_set()
    small = ~((full.cluster == "C8.5") & (np.arange(len(full)) % 30 >= 19))  # C8.5: 19 of its 30 stars
    seen = _stub_training(monkeypatch)
    s = TrainSettings(trim_dex=0.1, trim_min_age_myr=20.0, trim_relabel=True)
    result = training.train_flow(full.subset(small), s)
    assert result.trimmed == {"C7.5": 0.2} and result.kept_labels == {"C8.5": "19 members"}
    assert np.all(seen[1].log10_age[seen[1].cluster == "C8.5"] == 8.5)
    assert ("left at their labels (in-sample age more than 1 dex away, or under 20 members): C8.5 19 members"
            in capsys.readouterr().err)
    info = training.train_info(result, full.subset(small), "catalogue.csv", "0" * 64)
    assert info["relabelled_clusters"] == {"C7.5": 0.2} and info["left_at_labels"] == {"C8.5": "19 members"}
    from gyroage.build.export import card_from_training

    assert card_from_training(info).training["left_at_labels"] == {"C8.5": "19 members"}  # the card says so too
    seen.clear()  # 20 members: relabelled as before, nothing left at its label
    result = training.train_flow(full.subset(small | (np.arange(len(full)) % 30 == 19)), s, quiet=True)
    assert result.trimmed == {"C7.5": 0.2, "C8.5": -0.3} and result.kept_labels == {}
