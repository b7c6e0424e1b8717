"""The conditional flow: p(log10 Prot | log10 age, (BP-RP)0, sigma colour), in torch.

One small MLP (the conditioner) maps the context to the parameters of every
transform at once: a conditional affine map followed by ``n_splines``
rational-quadratic splines (Durkan et al. 2019). The target is one-dimensional,
so one conditioner call per (star, age) is the whole cost of a density
evaluation; that keeps the exported ONNX graph small and fast. Inputs and
outputs are in physical units: normalisation lives inside the module, so the
exported graph is self-contained.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from gyroage.build import reference_law

LOG_2PI = math.log(2.0 * math.pi)

_KINDS = {"int": "a whole number", "float": "a finite number", "bool": "true or false", "str": "a string",
          "tuple[str, ...]": "a list of strings"}


def check_settings(obj, minimum: dict[str, tuple[float, bool]], prefix: str = "") -> None:
    """Refuse, naming the key, a field of the settings dataclass ``obj`` of the wrong type (a JSON config's "abc" for
    an int) or below ``minimum`` (name: (bound, whether the bound itself is allowed)); ValueError, one line.

    Checked when the settings are made, so a bad value fails before any catalogue is read, not as a TypeError
    deep in training (or, for max_epochs 0, as an untrained model).
    """
    for f in fields(obj):
        value, kind = getattr(obj, f.name), str(f.type)
        ok = {"int": isinstance(value, numbers.Integral) and not isinstance(value, bool),
              "float": isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value),
              "bool": isinstance(value, bool), "str": isinstance(value, str),
              "tuple[str, ...]": isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value),
              }.get(kind, True)
        if not ok:
            raise ValueError(f"{prefix}{f.name} must be {_KINDS[kind]}, not {value!r}")
        if f.name in minimum:
            bound, inclusive = minimum[f.name]
            if not (value >= bound if inclusive else value > bound):
                raise ValueError(f"{prefix}{f.name} must be {'at least' if inclusive else 'greater than'} {bound:g}, "
                                 f"not {value!r}")


def unknown_names(cls, d: dict, prefix: str = "") -> list[str]:
    """The keys of ``d`` that are no field of the settings dataclass ``cls``, as ``prefix`` + name."""
    names = {f.name for f in fields(cls)}
    return [f"{prefix}{k}" for k in d if k not in names]


def whole_numbers(cls, d: dict) -> dict:
    """``d`` with an integral float (a JSON writer's 5.0) made an int where ``cls`` has an int field; a fraction
    stays, for :func:`check_settings` to refuse."""
    ints = {f.name for f in fields(cls) if str(f.type) == "int"}
    return {k: int(v) if k in ints and isinstance(v, float) and v.is_integer() else v for k, v in d.items()}


@dataclass(frozen=True)
class FlowConfig:
    """Shape of the flow; stored in the model card."""

    hidden: int = 64
    layers: int = 2
    n_splines: int = 2
    bins: int = 8
    tail_bound: float = 4.0
    min_bin: float = 1e-3
    min_derivative: float = 1e-3
    # False: the conditioner sees (age, colour) only and the colour-error input is
    # accepted but ignored. The error tracks each cluster's distance, hence its age,
    # so conditioning on it can leak cluster identity (docs/validation.md).
    use_colour_err: bool = True
    # Law m(age, colour) whose residual log10 Prot - m the flow models
    # (gyroage.build.reference_law.KINDS); "none": log10 Prot itself.
    reference: str = "none"
    # log10 yr where the "skumanich_late" law starts to act (before it m = 0).
    reference_onset: float = reference_law.DEFAULT_ONSET

    def __post_init__(self) -> None:
        check_settings(self, {"hidden": (1, True), "layers": (1, True), "n_splines": (0, True), "bins": (1, True),
                                "tail_bound": (0, False), "min_derivative": (0, False)}, "flow.")
        # every bin is at least min_bin wide (a fraction of the spline's range): bins * min_bin >= 1 leaves the
        # softmax negative room and the knots run backwards; 0 lets a bin close, a division by zero
        if not 0 < self.min_bin < 1 / self.bins:
            raise ValueError(f"flow.min_bin must be greater than 0 and below 1/flow.bins ({1 / self.bins:g} for "
                             f"{self.bins} bins), not {self.min_bin!r}")
        if self.reference not in reference_law.KINDS:
            raise ValueError(f"unknown reference law {self.reference!r}; expected one of {reference_law.KINDS}")
        if self.reference != "skumanich_late" and self.reference_onset != reference_law.DEFAULT_ONSET:
            # any other law ignores the onset: a config that sets it expects something that would not happen
            raise ValueError(f"reference_onset applies to the 'skumanich_late' law only, not {self.reference!r}")

    def to_dict(self) -> dict:
        d = asdict(self)
        # Left out at its default so the shipped model's card and LOCO fold keys are unchanged.
        if d["reference"] == "none":
            del d["reference"]
        if d.get("reference") != "skumanich_late":  # only that law reads it; other keys unchanged
            del d["reference_onset"]
        return d

    @property
    def n_params(self) -> int:
        return 2 + self.n_splines * (3 * self.bins - 1)


def _knots(w: Tensor, h: Tensor, d: Tensor, bound: float, min_bin: float, min_deriv: float):
    """Knot positions (x, y) and derivatives of a spline from unconstrained parameters."""
    n_bins = w.shape[-1]
    widths = min_bin + (1 - min_bin * n_bins) * torch.softmax(w, dim=-1)
    heights = min_bin + (1 - min_bin * n_bins) * torch.softmax(h, dim=-1)
    cum_w = F.pad(torch.cumsum(widths, dim=-1), (1, 0)) * (2 * bound) - bound
    cum_h = F.pad(torch.cumsum(heights, dim=-1), (1, 0)) * (2 * bound) - bound
    # Boundary derivatives of 1 join the identity tails smoothly.
    deriv = F.pad(min_deriv + F.softplus(d), (1, 1), value=1.0)
    return cum_w, cum_h, deriv


def _bin(x: Tensor, cum_w: Tensor, cum_h: Tensor, deriv: Tensor):
    """Left knot, width, height and end derivatives of the bin holding ``x`` (no searchsorted: ONNX-friendly)."""
    idx = (x.unsqueeze(-1) >= cum_w[..., 1:-1]).to(torch.int64).sum(-1, keepdim=True)
    take = lambda a, i: torch.gather(a, -1, i).squeeze(-1)  # noqa: E731
    x_k, y_k = take(cum_w, idx), take(cum_h, idx)
    return (x_k, take(cum_w, idx + 1) - x_k, y_k, take(cum_h, idx + 1) - y_k,
            take(deriv, idx), take(deriv, idx + 1))


def rational_quadratic(
    x: Tensor, w: Tensor, h: Tensor, d: Tensor, bound: float, min_bin: float, min_deriv: float
) -> tuple[Tensor, Tensor]:
    """Monotone RQ spline on [-bound, bound], identity outside; returns (y, log|dy/dx|)."""
    cum_w, cum_h, deriv = _knots(w, h, d, bound, min_bin, min_deriv)
    inside = (x > -bound) & (x < bound)
    xc = torch.clamp(x, -bound, bound)
    x_k, w_k, y_k, h_k, d_k, d_k1 = _bin(xc, cum_w, cum_h, deriv)
    s = h_k / w_k
    t = (xc - x_k) / w_k
    t1 = t * (1 - t)
    denom = s + (d_k1 + d_k - 2 * s) * t1
    y = y_k + h_k * (s * t * t + d_k * t1) / denom
    num = s * s * (d_k1 * t * t + 2 * s * t1 + d_k * (1 - t) ** 2)
    logdet = torch.log(num) - 2 * torch.log(denom)
    return torch.where(inside, y, x), torch.where(inside, logdet, torch.zeros_like(x))


class ConditionalFlow(nn.Module):
    """Density of log10 Prot given (log10 age [yr], (BP-RP)0, sigma (BP-RP)0).

    ``forward`` returns log p per dex of period; every input is a 1-D tensor
    in physical units. ``reference``: the coefficients of the law the flow
    models residuals about (:mod:`gyroage.build.reference_law`), needed when
    ``config.reference`` is not "none" (a loaded state dict overwrites them).
    The ``prot_*`` normalisation then applies to the residual.
    """

    def __init__(self, config: FlowConfig, norm: dict[str, float], reference: list[float] | None = None) -> None:
        super().__init__()
        self.config = config
        self.norm = dict(norm)
        for key, value in norm.items():
            self.register_buffer(key, torch.tensor(float(value)), persistent=True)
        if config.reference != "none":
            n_coef = reference_law.n_coefficients(config.reference)
            coef = torch.zeros(n_coef) if reference is None else torch.tensor(reference, dtype=torch.float32)
            self.register_buffer("reference_coef", coef, persistent=True)
        dims = [3 if config.use_colour_err else 2] + [config.hidden] * config.layers
        blocks: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            blocks += [nn.Linear(a, b), nn.SiLU()]
        blocks.append(nn.Linear(dims[-1], config.n_params))
        self.net = nn.Sequential(*blocks)
        # Start near a standard normal: small final weights.
        with torch.no_grad():
            self.net[-1].weight.mul_(0.01)
            self.net[-1].bias.zero_()

    def context(self, log10_age: Tensor, bp_rp0: Tensor, bp_rp0_err: Tensor) -> Tensor:
        cols = [(log10_age - self.age_mean) / self.age_std, (bp_rp0 - self.colour_mean) / self.colour_std]
        if self.config.use_colour_err:
            err = torch.log10(torch.clamp(bp_rp0_err, min=1e-4))
            cols.append((err - self.err_mean) / self.err_std)
        else:  # keep the input in the graph (same ONNX signature) without using it
            cols[1] = cols[1] + 0.0 * bp_rp0_err
        return torch.stack(cols, dim=-1)

    def _params(self, ctx: Tensor) -> tuple[Tensor, Tensor, list[tuple[Tensor, Tensor, Tensor]]]:
        p = self.net(ctx)
        b = self.config.bins
        shift, log_scale = p[..., 0], p[..., 1]
        splines = []
        for k in range(self.config.n_splines):
            o = 2 + k * (3 * b - 1)
            splines.append((p[..., o : o + b], p[..., o + b : o + 2 * b], p[..., o + 2 * b : o + 3 * b - 1]))
        return shift, log_scale, splines

    def forward(self, log10_prot: Tensor, log10_age: Tensor, bp_rp0: Tensor, bp_rp0_err: Tensor) -> Tensor:
        cfg = self.config
        shift, log_scale, splines = self._params(self.context(log10_age, bp_rp0, bp_rp0_err))
        if cfg.reference != "none":
            log10_prot = log10_prot - reference_law.shift(self.reference_coef, log10_age, bp_rp0)
        u = (log10_prot - self.prot_mean) / self.prot_std
        x = (u - shift) * torch.exp(-log_scale)
        logdet = -log_scale
        for w, h, d in splines:
            x, ld = rational_quadratic(x, w, h, d, cfg.tail_bound, cfg.min_bin, cfg.min_derivative)
            logdet = logdet + ld
        return -0.5 * x * x - 0.5 * LOG_2PI + logdet - torch.log(self.prot_std)
