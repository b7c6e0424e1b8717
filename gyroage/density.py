"""The run-time density: onnxruntime over the exported graph, numpy in and out.

No torch here. One session is made per :class:`FlowDensity` and reused; calls
are split into cache-sized batches, which onnxruntime runs several times
faster than one huge batch (../shared/ANCHORS.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from gyroage.errors import ModelError
from gyroage.modelcard import DENSITY_FILE, DENSITY_INPUTS, METADATA_KEY, ModelCard, load_card

DEFAULT_BATCH = 8192


def make_session(onnx_path: str | Path, threads: int | None = None):
    """An onnxruntime CPU session with full graph optimisation."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(onnx_path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
        raise ModelError(f"cannot load ONNX model {onnx_path}: {str(exc).splitlines()[0]}") from None


class FlowDensity:
    """log p(log10 Prot | log10 age, (BP-RP)0, sigma colour) from the ONNX graph.

    Parameters
    ----------
    model : path to a model directory, card JSON or ONNX file; ``None`` for
        the shipped model.
    threads : onnxruntime intra-op threads (``None``: onnxruntime's default).
    batch : rows per onnxruntime call.
    check : verify file SHA-256 against the card.
    """

    def __init__(self, model: str | Path | None = None, threads: int | None = None,
                 batch: int = DEFAULT_BATCH, check: bool = True) -> None:
        p = Path(model) if model is not None else None
        if p is not None and p.suffix == ".onnx" and not check:
            self.card = card_from_onnx(p)
            onnx_path = p
        else:
            self.card, model_dir = load_card(model, verify=check)
            onnx_path = model_dir / DENSITY_FILE
        self.onnx_path = Path(onnx_path)
        self.session = make_session(onnx_path, threads)
        names = sorted(i.name for i in self.session.get_inputs())
        if names != sorted(DENSITY_INPUTS):
            raise ModelError(f"{onnx_path} is not a gyroage density graph (inputs {', '.join(names)})")
        self.batch = int(batch)
        out = self.card.outlier
        lo, hi = out["log10_prot_range"]
        self.outlier_weight = float(out["weight"])
        self.outlier_log_density = -float(np.log(hi - lo))

    def log_prob_flow(self, log10_prot, log10_age, bp_rp0, bp_rp0_err) -> np.ndarray:
        """Flow log density per dex of period, broadcast over the inputs (float32 inside)."""
        arrays = np.broadcast_arrays(*(np.asarray(a, dtype=np.float32) for a in
                                       (log10_prot, log10_age, bp_rp0, bp_rp0_err)))
        shape = arrays[0].shape
        flat = [np.ascontiguousarray(a.reshape(-1)) for a in arrays]
        n = flat[0].size
        out = np.empty(n, dtype=np.float32)
        for i in range(0, n, self.batch):
            feed = {k: a[i : i + self.batch] for k, a in zip(DENSITY_INPUTS, flat)}
            out[i : i + self.batch] = self.session.run(None, feed)[0]
        return out.reshape(shape)

    def log_prob(self, log10_prot, log10_age, bp_rp0, bp_rp0_err, outlier_weight: float | None = None) -> np.ndarray:
        """Mixture log density: (1 - w) flow + w uniform in log10 Prot over the card's range."""
        lp = self.log_prob_flow(log10_prot, log10_age, bp_rp0, bp_rp0_err)
        return mix_outlier(lp, self.outlier_weight if outlier_weight is None else outlier_weight,
                           self.outlier_log_density)


def mix_outlier(lp: np.ndarray, weight: float, outlier_log_density: float) -> np.ndarray:
    if weight <= 0:
        return lp
    return np.logaddexp(lp + np.log1p(-weight), np.log(weight) + outlier_log_density).astype(lp.dtype)


def card_from_onnx(path: str | Path) -> ModelCard:
    """The card embedded in an ONNX file's metadata."""
    import onnxruntime as ort

    try:
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelError(f"cannot load ONNX model {path}: {str(exc).splitlines()[0]}") from None
    meta = sess.get_modelmeta().custom_metadata_map
    if METADATA_KEY not in meta:
        raise ModelError(f"{path} carries no gyroage model card in its metadata")
    return ModelCard.from_dict(json.loads(meta[METADATA_KEY]))
