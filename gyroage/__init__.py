"""gyroage: stellar ages from rotation periods with a normalizing flow evaluated by onnxruntime."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["AgeModel", "__version__"]


def __getattr__(name: str):
    # Lazy so that `import gyroage` stays fast and never pulls in onnxruntime until needed.
    if name == "AgeModel":
        from gyroage.core.api import AgeModel

        return AgeModel
    raise AttributeError(name)
