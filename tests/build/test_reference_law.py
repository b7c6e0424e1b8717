"""Flows about a reference spin-down law (FlowConfig.reference; needs the 'train' extra)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gyroage.build import reference_law  # noqa: E402
from gyroage.build.catalogue import TrainingSet  # noqa: E402
from gyroage.build.flow import ConditionalFlow, FlowConfig  # noqa: E402
from gyroage.build.training import TrainSettings, normalisation  # noqa: E402

NORM = {"age_mean": 8.0, "age_std": 0.8, "colour_mean": 2.0, "colour_std": 0.9, "err_mean": -1.4,
        "err_std": 0.4, "prot_mean": 0.4, "prot_std": 0.6}
COEF = [0.55, 1.05, 0.8, -0.9]


def synthetic(coef, ages=(7.5, 8.2, 8.6, 8.9, 9.2, 9.6), n=400, seed=0) -> TrainingSet:
    """Clusters whose stars lie on the law ``coef`` with 0.05 dex scatter."""
    rng = np.random.default_rng(seed)
    age = np.repeat(ages, n).astype(float)
    colour = rng.uniform(0.3, 3.0, len(age))
    m = reference_law.shift(torch.tensor(coef, dtype=torch.float64), torch.as_tensor(age), torch.as_tensor(colour))
    prot = m.numpy() + rng.normal(0, 0.05, len(age))
    return TrainingSet(prot, age, colour, np.full(len(age), 0.02), np.repeat([f"C{a}" for a in ages], n))


def test_residual_flow_density_is_the_plain_flows_at_the_shifted_period():
    torch.manual_seed(0)
    plain = ConditionalFlow(FlowConfig(hidden=16, use_colour_err=False), NORM)
    with torch.no_grad():
        plain.net[-1].weight.normal_(0, 0.5)
    resid = ConditionalFlow(FlowConfig(hidden=16, use_colour_err=False, reference="fitted"), NORM, COEF)
    resid.net.load_state_dict(plain.net.state_dict())
    n = 500
    g = torch.Generator().manual_seed(1)
    prot, age = torch.rand(n, generator=g) * 2.5 - 0.5, torch.rand(n, generator=g) * 3 + 6.5
    colour, err = torch.rand(n, generator=g) * 3 + 0.3, torch.full((n,), 0.02)
    m = 0.55 * (age - 9) + 1.05 + (x := colour.clamp(0.5, 2.0) - 1) * 0.8 - 0.9 * x * x
    with torch.no_grad():
        assert torch.allclose(resid(prot, age, colour, err), plain(prot - m, age, colour, err), atol=1e-5)
        assert not torch.allclose(resid(prot, age, colour, err), plain(prot, age, colour, err), atol=1e-2)
    # still a density in log10 Prot: integrates to one at a fixed context
    grid = torch.linspace(-4, 6, 20001)
    with torch.no_grad():
        lp = resid(grid, torch.full_like(grid, 8.3), torch.full_like(grid, 1.4), torch.full_like(grid, 0.02))
    assert float(torch.trapezoid(lp.exp(), grid)) == pytest.approx(1.0, abs=1e-3)


def test_fitted_law_recovers_the_law_of_the_training_stars_alone():
    data = synthetic(COEF)
    assert reference_law.reference_coefficients("fitted", data) == pytest.approx(COEF, abs=0.02)
    # a cluster off the law moves the fit only when it is in the data given
    odd = synthetic([0.55, 1.6, 0.8, -0.9], ages=(8.4,), seed=1)
    both = TrainingSet(*(np.concatenate([getattr(data, f), getattr(odd, f)]) for f in TrainingSet.__dataclass_fields__))
    assert reference_law.reference_coefficients("fitted", both)[1] > COEF[1] + 0.03
    assert reference_law.reference_coefficients("skumanich", data) == [0.5, 0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="unknown reference law"):
        reference_law.reference_coefficients("barnes", data)
    with pytest.raises(ValueError, match="unknown reference law"):  # a config typo fails before any training
        TrainSettings.from_dict({"flow": {"reference": "barnes"}})


def test_normalisation_scales_the_residual_and_the_default_settings_are_unchanged():
    data = synthetic(COEF)
    norm = normalisation(data, COEF)
    assert abs(norm["prot_mean"]) < 0.01 and norm["prot_std"] == pytest.approx(0.05, abs=0.005)
    assert normalisation(data)["prot_std"] > 0.3
    # the default is left out of the stored settings: the shipped card and LOCO fold keys do not move
    assert "reference" not in TrainSettings().to_dict()["flow"]
    s = TrainSettings.from_dict({"flow": {"reference": "skumanich"}})
    assert TrainSettings.from_dict(s.to_dict()) == s and s.to_dict()["flow"]["reference"] == "skumanich"


def perturbed_round_trip(model: ConditionalFlow, tmp_path) -> ConditionalFlow:
    """``model`` with weights moved away from their initial values (so the context matters),
    saved as a checkpoint and loaded back."""
    from gyroage.build.export import load_checkpoint, save_checkpoint

    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    save_checkpoint(model.eval(), tmp_path / "m.pt")
    return load_checkpoint(tmp_path / "m.pt")


def test_a_reference_flow_survives_a_checkpoint_and_its_onnx_graph_matches_torch(tmp_path):
    pytest.importorskip("onnx")
    from gyroage.build.export import build_density, parity

    back = perturbed_round_trip(ConditionalFlow(FlowConfig(hidden=8, reference="fitted"), NORM, COEF), tmp_path)
    assert torch.allclose(back.reference_coef, torch.tensor(COEF))
    # the graph applies the law's shift (colours beyond COLOUR_RANGE included) as torch does
    assert parity(back, build_density(back), n=4000) < 1e-3
    plain = ConditionalFlow(FlowConfig(hidden=8), NORM).eval()
    plain.load_state_dict({k: v for k, v in back.state_dict().items() if k != "reference_coef"})
    assert parity(back, build_density(plain), n=4000) > 0.01  # without the shift the graph is another density


def test_late_onset_law_is_zero_before_its_onset_and_skumanich_after():
    age = torch.linspace(6.0, 10.2, 43, dtype=torch.float64)
    colour = torch.linspace(0.2, 3.5, 43, dtype=torch.float64)
    data = synthetic(COEF)
    for onset in (8.7, 8.5):
        coef = reference_law.reference_coefficients("skumanich_late", data, onset)
        assert len(coef) == reference_law.n_coefficients("skumanich_late") == 5
        m = reference_law.shift(torch.tensor(coef, dtype=torch.float64), age, colour)
        assert torch.allclose(m, 0.5 * torch.clamp(age - onset, min=0.0), atol=1e-12)
    # the four-number laws are unchanged: no onset, the law acts at every age
    sk = reference_law.shift(torch.tensor([0.5, 0.0, 0.0, 0.0], dtype=torch.float64), age, colour)
    assert torch.allclose(sk, 0.5 * (age - 9.0))
    # the onset is a setting of that law only: stored with it, left out of every other key
    s = TrainSettings.from_dict({"flow": {"reference": "skumanich_late", "reference_onset": 8.5}})
    assert s.to_dict()["flow"]["reference_onset"] == 8.5 and TrainSettings.from_dict(s.to_dict()) == s
    assert "reference_onset" not in TrainSettings.from_dict({"flow": {"reference": "skumanich"}}).to_dict()["flow"]
    assert "reference_onset" not in TrainSettings().to_dict()["flow"]
    with pytest.raises(ValueError, match="skumanich_late"):  # another law would silently ignore it
        TrainSettings.from_dict({"flow": {"reference": "skumanich", "reference_onset": 8.5}})


def test_a_late_onset_flow_survives_a_checkpoint_and_its_onnx_graph_applies_the_onset(tmp_path):
    pytest.importorskip("onnx")
    from gyroage.build.export import build_density, parity

    coef = reference_law.reference_coefficients("skumanich_late", synthetic(COEF), 8.7)
    back = perturbed_round_trip(ConditionalFlow(FlowConfig(hidden=8, reference="skumanich_late"), NORM, coef), tmp_path)
    assert torch.allclose(back.reference_coef, torch.tensor(coef))
    # parity on ages either side of the onset (6.3-9.6 by default), and well before it
    assert parity(back, build_density(back), n=4000) < 1e-3
    young = {"log10_prot": [-1.0, 2.0], "log10_age": [6.3, 8.6], "bp_rp0": [0.3, 3.5], "bp_rp0_err": [0.01, 0.2]}
    assert parity(back, build_density(back), n=4000, domain=young) < 1e-3
    # the graph without the onset (plain Skumanich shift, same constant) is another density
    no_onset = ConditionalFlow(FlowConfig(hidden=8, reference="skumanich"), NORM, coef[:4]).eval()
    no_onset.load_state_dict({**back.state_dict(), "reference_coef": torch.tensor(coef[:4])})
    assert parity(back, build_density(no_onset), n=4000, domain=young) > 0.01


def test_a_default_spelled_out_in_a_config_keeps_the_fold_key():
    """validate's folds are keyed by these settings: writing a default out must not retrain every fold."""
    pytest.importorskip("torch")
    from gyroage.build.loco_fold import full_train_dict

    assert full_train_dict({"flow": {"reference": "none"}}) == full_train_dict({})
    late = {"flow": {"reference": "skumanich_late"}}
    assert full_train_dict({"flow": {**late["flow"], "reference_onset": 8.7}}) == full_train_dict(late)
