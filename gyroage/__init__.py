"""gyroage: stellar ages from rotation periods with a normalizing flow evaluated by onnxruntime.

The public API is what ``__all__`` lists; everything else is reached through it.
Names are loaded on first use, so ``import gyroage`` stays fast and never
imports onnxruntime, pandas or torch until they are needed.
"""

from __future__ import annotations

from importlib import import_module

__version__ = "0.1.0"

# public name -> module that defines it
_PUBLIC = {
    "AgeModel": "gyroage.core.api",
    "Posterior": "gyroage.core.api",
    "read_stars": "gyroage.core.api_frames",
    "EstimateSettings": "gyroage.core.estimate",
    "estimate_chunk": "gyroage.core.estimate",
    "estimate_with_posteriors": "gyroage.core.estimate",
    "SamplerSettings": "gyroage.core.sampler",
    "Reddening": "gyroage.core.colours",
    "excess_colour_sigma": "gyroage.core.colours",
    "Prior": "gyroage.core.priors",
    "make_prior": "gyroage.core.priors",
    "FlowDensity": "gyroage.core.density",
    "group_ages": "gyroage.core.groups",
    "group_posterior": "gyroage.core.groups",
    "default_group_systematic": "gyroage.core.groups",
    "run_local": "gyroage.engines",
    "run_dask": "gyroage.engines",
    "UserError": "gyroage.errors",
    "ModelError": "gyroage.errors",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(import_module(_PUBLIC[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'gyroage' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
