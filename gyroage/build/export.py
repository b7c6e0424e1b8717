"""torch -> ONNX: the density graph, a parity check, the posterior graph and the model card.

Needs the ``train`` extra (torch, onnx). The graph takes physical inputs
(float32, one dynamic batch axis) and returns the flow's log density per dex of
period, without the outlier term (that is applied at run time from the card).
"""

from __future__ import annotations

import math
import platform
import shutil
from pathlib import Path

import numpy as np
import onnx
import torch

from gyroage import __version__
from gyroage.build.density_graph import OPSET, build_density_graph, set_metadata
from gyroage.build.flow import ConditionalFlow, FlowConfig
from gyroage.build.model_swap import staged
from gyroage.build.posterior_graph import save_atomic, write_posteriors
from gyroage.core.modelcard import (
    CARD_FILE,
    DENSITY_FILE,
    DENSITY_INPUTS,
    METADATA_KEY,
    OUTLIER_LOG10_PROT_RANGE,
    POSTERIOR_GRAPHS,
    ModelCard,
    write_card,
)
from gyroage.defaults import OUTLIER_WEIGHT
from gyroage.errors import BuildError, ModelError

# The largest |log p(onnx) - log p(torch)| an export accepts: float32 graphs of trained flows differ by ~1e-4; a
# graph that differs by more computes another function than the checkpoint.
PARITY_TOLERANCE = 1e-2
CHECKPOINT_FILE = "gyroage-flow.pt"


def save_checkpoint(model: ConditionalFlow, path: str | Path) -> None:
    torch.save({"config": model.config.to_dict(), "norm": model.norm, "state": model.state_dict()}, path)


def load_checkpoint(path: str | Path) -> ConditionalFlow:
    ck = torch.load(path, weights_only=False)
    try:
        config = FlowConfig(**ck["config"])
    except (TypeError, ValueError) as exc:  # written before FlowConfig refused such settings, or by another version
        raise BuildError(f"checkpoint {path} holds flow settings this gyroage cannot use: {exc}") from None
    model = ConditionalFlow(config, ck["norm"])
    model.load_state_dict(ck["state"])
    return model.eval()


def build_density(model: ConditionalFlow) -> onnx.ModelProto:
    """The density graph of ``model``.

    Laid out by :func:`gyroage.build.density_graph.build_density_graph` from the
    weights (about 2x faster in onnxruntime than torch's own export of the
    same function); :func:`parity` checks it against ``model``.
    """
    weights = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items() if k.startswith("net.")}
    reference = None if model.config.reference == "none" else model.reference_coef.detach().cpu().tolist()
    return build_density_graph(weights, model.config.to_dict(), model.norm, reference)


def export_density(model: ConditionalFlow, path: str | Path) -> Path:
    """Write the density graph of ``model`` (no card); returns its path."""
    path = Path(path)
    onnx.save(build_density(model), str(path))
    return path


def parity(model: ConditionalFlow, onnx_path: str | Path | onnx.ModelProto, n: int = 10_000, seed: int = 0,
           domain: dict | None = None) -> float:
    """Max |log p(onnx) - log p(torch)| on ``n`` random in-domain points; ``onnx_path`` may be the graph itself."""
    from gyroage.core.density import make_session

    dom = domain or {"log10_prot": [-1.0, 2.0], "log10_age": [6.3, 9.6], "bp_rp0": [0.3, 3.5],
                     "bp_rp0_err": [0.01, 0.2]}
    rng = np.random.default_rng(seed)
    cols = {k: rng.uniform(*dom[k], n).astype(np.float32) for k in DENSITY_INPUTS}
    with torch.no_grad():
        ref = model(*(torch.as_tensor(cols[k]) for k in DENSITY_INPUTS)).numpy()
    if isinstance(onnx_path, onnx.ModelProto):
        onnx_path = onnx_path.SerializeToString()
    got = make_session(onnx_path).run(None, cols)[0]
    return float(np.max(np.abs(got - ref)))


def export_model(model: ConditionalFlow, out_dir: str | Path, card: ModelCard,
                 checkpoint: str | Path | None = None) -> Path:
    """Export the graphs and their card to ``out_dir`` (with ``checkpoint`` copied in as ``gyroage-flow.pt``), all
    replaced as one set; returns the card path."""
    out_dir = Path(out_dir)
    check_scales(card)
    if checkpoint is not None:  # what export --rebuild checks its gyroage-flow.pt against (review V55, 2)
        from gyroage.core.modelcard import sha256

        card.training["checkpoint_sha256"] = sha256(checkpoint)
    graph = build_density(model)
    worst = parity(model, graph, domain=card.parity_domain())
    if not worst <= PARITY_TOLERANCE:  # NaN too: a flow whose density is not finite
        raise BuildError(f"refusing to export to {out_dir}: the ONNX/torch parity check gives {worst:.3g} (must be "
                         f"finite and at most {PARITY_TOLERANCE:g}); the flow's log density is not finite or the "
                         "graph is not the checkpoint's: retrain (gyroage train)")
    card.metrics["onnx_torch_max_abs_logp"] = worst
    out_dir.mkdir(parents=True, exist_ok=True)
    card.versions.update({
        "gyroage": __version__, "torch": torch.__version__, "onnx": onnx.__version__,
        "python": platform.python_version(), "opset": OPSET,
    })
    set_metadata(graph, {METADATA_KEY: card.to_dict(include_files=False)})
    onnx.checker.check_model(graph)
    with staged(out_dir) as stage:  # an interrupted export leaves the old model, never a mix of the two
        target = save_atomic(graph, stage / DENSITY_FILE)
        # Derived from the density graph just written, so the two can never disagree.
        write_posteriors(target, card, stage)
        if checkpoint is not None and Path(checkpoint).resolve() != (out_dir / CHECKPOINT_FILE).resolve():
            # the torch checkpoint travels with its graph (parity test, retraining from the shipped model)
            shutil.copyfile(checkpoint, stage / CHECKPOINT_FILE)
        write_card(card, stage, built=POSTERIOR_GRAPHS)
    return out_dir / CARD_FILE


def check_scales(card: ModelCard) -> None:
    """Refuse (BuildError, one line) a card whose normalisation or trained domain is not finite, or whose scales are
    not positive: the model computed from them is NaN everywhere (and the parity check cannot even draw its points)."""
    named = [(f"normalisation.{k}", v) for k, v in card.normalisation.items()]
    named += [(f"domain.{k}", v) for k, pair in card.parity_domain().items() for v in pair]
    for name, value in named:
        v = float(value)
        if not math.isfinite(v) or (name.endswith("_std") and v <= 0):
            raise BuildError(f"refusing to export: the training record's {name} is {v:g}, not a finite"
                             f"{' positive' if name.endswith('_std') else ''} number: retrain (gyroage train)")


def card_from_training(info: dict, outlier_weight: float = OUTLIER_WEIGHT) -> ModelCard:
    """A model card from ``train_info`` (see :func:`gyroage.build.training.train_info`)."""
    return ModelCard(
        normalisation=info["normalisation"],
        domain=info["domain"],
        outlier={"weight": outlier_weight, "log10_prot_range": list(OUTLIER_LOG10_PROT_RANGE),
                 "note": "uniform in log10 Prot over 0.03-316 d, mixed with the flow at run time"},
        default_bp_rp0_err=round(info["default_bp_rp0_err"], 4),
        training={k: info[k] for k in ("catalog", "clusters", "n_stars", "validation_clusters",
                                       "best_epoch", "settings", "seconds", "note", "trimmed_clusters",
                                       "relabelled_clusters", "left_at_labels") if k in info},
        flow=info["settings"]["flow"],
        metrics=dict(info["metrics"]),
    )


def reexport(model_dir: str | Path, catalogue: str | Path | None = None, trust_checkpoint: bool = False) -> Path:
    """Rewrite a model directory's graphs from its checkpoint, keeping its card (training, validation).

    For when the graph layout changes but the trained weights do not::

        gyroage export --rebuild --out models/

    A card without ``domain.sequence`` gets it from the training catalogue, which must be the one
    the card records (same SHA-256). ``trust_checkpoint``: the user vouches that gyroage-flow.pt is the card's flow
    where :func:`same_flow` cannot check it. A card's ``main_sequence`` section is kept as it is: a term enters a card only
    through ``benchmarks/cmd_term.py --write-card``, with the calibration its leave-one-cluster-out run fitted.
    """
    from gyroage.build.catalogue import default_catalogue_path, read_selection, training_set
    from gyroage.build.training import card_sequence_domain
    from gyroage.core.modelcard import load_card, sha256
    from gyroage.errors import UserError

    card, model_dir = load_card(model_dir, verify=False)
    checkpoint = model_dir / CHECKPOINT_FILE
    if not checkpoint.is_file():
        raise ModelError(f"{model_dir} holds no gyroage-flow.pt to rebuild its graphs from: 'gyroage export "
                         f"--checkpoint RUN_DIR --out {model_dir}' writes it (RUN_DIR from 'gyroage train')")
    if "sequence" not in card.domain:
        path = Path(catalogue) if catalogue is not None else default_catalogue_path()
        want = card.training.get("catalog", {}).get("sha256")
        if not path.is_file() or sha256(path) != want:
            raise UserError(f"the card has no domain.sequence and {path} is not its training catalogue (SHA-256 {want})")
        card.domain["sequence"] = card_sequence_domain(card.training, training_set(read_selection(path).frame))
    model = load_checkpoint(checkpoint)
    same_flow(model, checkpoint, card, model_dir, trust_checkpoint)
    return export_model(model, model_dir, card, checkpoint=checkpoint)


def same_flow(model: ConditionalFlow, checkpoint: Path, card: ModelCard, model_dir: Path,
              trust: bool = False) -> None:
    """Refuse, in one line, to rebuild a folder's graphs from a ``checkpoint`` that is not the flow its card describes
    (another run's flow.pt copied in: its graphs under the card's training, calibration and validation gave other
    ages without a word; review V55, 2): its SHA-256 is not the card's ``training.checkpoint_sha256``, or, for a card
    exported before that was recorded, its density differs from the folder's density graph's (a layout change keeps
    the function). Where neither can be checked (no record; the graph missing, unreadable or not the card's files
    record) it refuses too unless ``trust`` (--trust-checkpoint): the SHA-256 export then records would launder
    another run's flow into the card's record, passed by every later rebuild (review V58, 1)."""
    from gyroage.core.modelcard import sha256
    from gyroage.errors import UserError

    redo = "export it to a folder of its own: gyroage export --checkpoint RUN --out NEW_DIR"
    want, graph = card.training.get("checkpoint_sha256"), model_dir / DENSITY_FILE
    if want is not None:
        if sha256(checkpoint) != want:
            raise UserError(f"{checkpoint} is not the flow the card in {model_dir} was exported from (its SHA-256 "
                            f"differs from the card's training.checkpoint_sha256 {want[:12]}): {redo}")
        return
    recorded = card.files.get(DENSITY_FILE, {}).get("sha256")
    try:
        if graph.is_file() and recorded is not None and sha256(graph) != recorded:
            # another run's graph copied in with its flow would vouch for that flow (review V59, 1)
            worst, why = None, "is not the card's (its SHA-256 differs from the card's files record)"
        else:
            worst = parity(model, graph, n=2000, domain=card.parity_domain()) if graph.is_file() else None
            why = "is missing"
    except Exception as exc:  # onnxruntime's own errors: an old layout it cannot read any more
        worst, why = None, f"cannot be read ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
    if worst is None and not trust:
        raise UserError(f"cannot check that {checkpoint} is the flow the card in {model_dir} was exported from: "
                        f"{graph} {why} and the card records no checkpoint SHA-256; restore {DENSITY_FILE} (the "
                        "card's files record its SHA-256), or, if you know the flow is the card's: gyroage export "
                        f"--rebuild --trust-checkpoint --out {model_dir}")
    if worst is None:  # what the checkpoint records of itself can still be checked: only its weights are trusted
        differs = recorded_difference(model, card)
        if differs is not None:
            raise UserError(f"{checkpoint} is not the flow the card in {model_dir} was exported from (its {differs} "
                            "and the card's disagree; --trust-checkpoint vouches only for what cannot be checked): "
                            f"{redo}")
        import sys

        print(f"gyroage: note: {graph} {why}: {checkpoint} is taken as the card's flow, as --trust-checkpoint says "
              "(its flow settings and normalisation are the card's, its weights taken on trust)", file=sys.stderr)
    elif not worst <= PARITY_TOLERANCE:
        raise UserError(f"{checkpoint} is not the flow the card in {model_dir} was exported from (its log density "
                        f"differs from {DENSITY_FILE}'s by up to {worst:.3g}): {redo}")


def recorded_difference(model: ConditionalFlow, card: ModelCard) -> str | None:
    """What ``model`` (a checkpoint) records of itself that is not its ``card``'s: ``"flow settings"`` (``card.flow``,
    read as :class:`FlowConfig` reads it, defaults filled), ``"normalisation"`` (``card.normalisation``), or ``None``.

    Another run's flow has its own normalisation (its catalogue's means and spreads) or settings; the weights alone
    are what no record can check."""
    try:
        flow = FlowConfig(**card.flow).to_dict()
    except (TypeError, ValueError):  # settings the checkpoint, which loaded, cannot have
        flow = None
    if flow != model.config.to_dict():
        return "flow settings"
    norm = card.normalisation
    if set(norm) != set(model.norm) or any(not math.isclose(float(norm[k]), float(model.norm[k]), rel_tol=1e-12)
                                           for k in norm):
        return "normalisation"
    return None
