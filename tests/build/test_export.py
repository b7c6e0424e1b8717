"""The torch side: spline algebra, normalisation, ONNX parity (needs the 'train' extra)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from gyroage.build.flow import ConditionalFlow, FlowConfig, rational_quadratic  # noqa: E402
from tests.conftest import ROOT  # noqa: E402

NORM = {"age_mean": 8.0, "age_std": 0.8, "colour_mean": 2.0, "colour_std": 0.9, "err_mean": -1.4,
        "err_std": 0.4, "prot_mean": 0.4, "prot_std": 0.6}


def random_flow(seed=0):
    torch.manual_seed(seed)
    m = ConditionalFlow(FlowConfig(hidden=32), NORM)
    with torch.no_grad():  # push it away from the identity so the test means something
        m.net[-1].weight.normal_(0, 0.5)
        m.net[-1].bias.normal_(0, 0.5)
    return m.eval()


def test_spline_is_monotone_and_its_logdet_is_the_derivative():
    torch.manual_seed(1)
    n, b = 2000, 8
    w, h, d = torch.randn(n, b), torch.randn(n, b), torch.randn(n, b - 1)
    x = torch.linspace(-5, 5, n, dtype=torch.float64)
    _, ld = rational_quadratic(x, w.double(), h.double(), d.double(), 4.0, 1e-3, 1e-3)
    # Same parameters in every row: y is one spline along x, so it must rise (a bijection).
    same = (w[:1].double().expand(n, b), h[:1].double().expand(n, b), d[:1].double().expand(n, b - 1))
    assert (torch.diff(rational_quadratic(x, *same, 4.0, 1e-3, 1e-3)[0]) > 0).all()
    eps = 1e-6
    yp, _ = rational_quadratic(x + eps, w.double(), h.double(), d.double(), 4.0, 1e-3, 1e-3)
    ym, _ = rational_quadratic(x - eps, w.double(), h.double(), d.double(), 4.0, 1e-3, 1e-3)
    num = torch.log((yp - ym) / (2 * eps))
    assert torch.allclose(ld, num, atol=1e-5)


def test_density_integrates_to_one():
    m = random_flow()
    x = torch.linspace(-4, 5, 20001)
    for age, colour in [(7.0, 1.0), (9.2, 2.5)]:
        lp = m(x, torch.full_like(x, age), torch.full_like(x, colour), torch.full_like(x, 0.03))
        assert abs(torch.trapezoid(lp.exp(), x).item() - 1.0) < 1e-3


def test_onnx_parity_on_10000_points(tmp_path):
    from gyroage.build.export import export_density, parity

    m = random_flow(3)
    path = export_density(m, tmp_path / "d.onnx")
    onnx.checker.check_model(onnx.load(str(path)))
    assert parity(m, path, n=10_000) <= 1e-3


def test_shipped_onnx_matches_shipped_checkpoint():
    from gyroage.build.export import load_checkpoint, parity
    from gyroage.core.modelcard import load_card

    card, d = load_card(ROOT / "models")
    m = load_checkpoint(ROOT / "models" / "gyroage-flow.pt")
    onnx.checker.check_model(onnx.load(str(d / "gyroage-density.onnx")))
    assert parity(m, d / "gyroage-density.onnx", n=10_000, domain=card.parity_domain()) <= 1e-3


@pytest.mark.parametrize("cfg", [dict(hidden=16, layers=1, n_splines=1, bins=4, use_colour_err=False),
                                 dict(hidden=24, layers=3, n_splines=3, bins=12, tail_bound=3.0)])
def test_hand_laid_graph_matches_torch_for_other_shapes_and_in_the_tails(tmp_path, cfg):
    """The graph builder is not tied to the shipped shape; far-out periods exercise the identity tails."""
    from gyroage.build.export import export_density
    from gyroage.core.density import make_session
    from gyroage.core.modelcard import DENSITY_INPUTS

    torch.manual_seed(4)
    m = ConditionalFlow(FlowConfig(**cfg), NORM)
    with torch.no_grad():
        m.net[-1].weight.normal_(0, 0.7)
        m.net[-1].bias.normal_(0, 0.7)
    path = export_density(m.eval(), tmp_path / "d.onnx")
    rng = np.random.default_rng(2)
    n = 5000
    cols = {"log10_prot": rng.uniform(-4, 5, n), "log10_age": rng.uniform(6, 10, n), "bp_rp0": rng.uniform(0, 4, n),
            "bp_rp0_err": rng.uniform(0.005, 0.3, n)}
    cols = {k: v.astype(np.float32) for k, v in cols.items()}
    with torch.no_grad():
        ref = m(*(torch.as_tensor(cols[k]) for k in DENSITY_INPUTS)).numpy()
    got = make_session(path).run(None, cols)[0]
    assert np.abs(ref).max() > 5  # the tails were reached: far from a standard normal's log density
    assert np.max(np.abs(got - ref)) <= 1e-3
