"""Training loop for :class:`gyroage.build.flow.ConditionalFlow` (torch; optional ``train`` extra).

Early stopping uses whole clusters held out for validation; the final model is
then refit on every training cluster for the early-stopped number of epochs,
so no cluster is wasted.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import torch

from gyroage.build import reference_law
from gyroage.build.catalogue import (
    FULL_SELECTION,
    TrainingSet,
    domain_of,
    val_candidates,
    val_clusters_notice,
    without_evolved,
    without_sole_sources,
)
from gyroage.build.flow import ConditionalFlow, FlowConfig, check_settings, unknown_names, whole_numbers
from gyroage.build.relabel import flagged_clusters
from gyroage.build.sequence_domain import sequence_domain
from gyroage.core.groups import joint_age
from gyroage.core.modelcard import outlier_log_density
from gyroage.core.posterior import age_grid
from gyroage.defaults import AGE_GRID, OUTLIER_WEIGHT
from gyroage.errors import BuildError, UserError, close_names
from gyroage.progress import Progress

# The smallest value of each setting that can train at all (bound, whether the bound itself is allowed):
# max_epochs 0 gave an untrained model with exit 0, a zero batch or lr never moves. The powers, trims and cuts are
# "0: off": below 0 a power up-weights the richest clusters or the likeliest contaminants, and a trim or cut
# means off too, silently.
SETTINGS_MINIMUM = {"seed": (0, True), "max_epochs": (1, True), "patience": (1, True), "batch_size": (1, True),
                    "lr": (0, False), "weight_decay": (0, True), "age_jitter_dex": (0, True), "colour_jitter": (0, True),
                    "cluster_weight_power": (0, True), "membership_weight_power": (0, True), "trim_dex": (0, True),
                    "trim_weight": (0, True), "trim_min_age_myr": (0, True), "trim_keep_redder": (0, True),
                    "drop_evolved_mag": (0, True), "n_val_clusters": (0, True), "threads": (1, True),
                    "outlier_weight_train": (0, True), "ema_decay": (0, True)}


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings; stored in the model card."""

    seed: int = 0
    max_epochs: int = 300
    patience: int = 40
    batch_size: int = 256
    lr: float = 3e-3
    weight_decay: float = 1e-4
    age_jitter_dex: float = 0.05
    # Gaussian colour noise during training, in units of each star's colour error
    # (0: none); smooths the colour direction when the error is not an input.
    colour_jitter: float = 0.0
    # Per-star loss weight n_cluster**-power (0: every star counts once), so the
    # few rich clusters do not dominate the fit.
    cluster_weight_power: float = 0.0
    # Times each star's membership probability**power, rescaled to mean 1 within its cluster (0: off), so
    # likely field contaminants count less while every cluster keeps its total weight.
    membership_weight_power: float = 0.0
    # > 0: after training, drop every training cluster whose in-sample joint age misses its label by more than
    # this (dex; never the youngest or oldest) and train again on the rest (0: off) ...
    trim_dex: float = 0.0
    # ... or, if > 0, train again on every cluster with those clusters' loss weights times this
    trim_weight: float = 0.0
    # Clusters younger than this (Myr) are never trimmed: the pre-main-sequence groups carry the young
    # ages' only information, whatever their in-sample error.
    trim_min_age_myr: float = 0.0
    # > 0: a trimmed cluster's stars at least this red ((BP-RP)0) stay, since unconverged M dwarfs barely
    # change with age and their periods hardly depend on the label that the trim distrusts.
    trim_keep_redder: float = 0.0
    # True: the flagged clusters stay, every star, with their labels moved to their in-sample joint ages: a label the
    # rest of the data contradicts stops pulling the age scale, and its periods still shape the sequence.
    trim_relabel: bool = False
    # > 0: the training likelihood is the flow mixed with the card's uniform outlier density at this weight, as
    # ages are computed, so non-members and binaries need not widen the flow's tails (0: the flow alone).
    outlier_weight_train: float = 0.0
    # Period sources (the catalogue's Prot_source) whose stars are left out of training where they are their
    # cluster's only source but the cluster has periods from elsewhere too: a survey whose periods disagree with the
    # dedicated ones in the same clusters. A cluster with no other source keeps every star.
    drop_sole_period_sources: tuple[str, ...] = ()
    # > 0: stars of clusters >= 1 Gyr more than this many magnitudes above the main sequence (subgiants that the
    # catalogue's cmd_exclude missed) are left out of training (0: off).
    drop_evolved_mag: float = 0.0
    # Clusters (the catalogue's names) left out of every training, before any trim or relabel; a held-out one is
    # scored as any other. For a study of one cluster's pull on its neighbours' ages (empty: off).
    exclude_clusters: tuple[str, ...] = ()
    # > 0: early stopping and the final model use an exponential moving average of the weights, this decay per
    # optimiser step, so neither the stopping epoch nor the last weights hang on one noisy step (0: the weights as
    # trained).
    ema_decay: float = 0.0
    n_val_clusters: int = 4
    refit: bool = True
    threads: int = 2
    flow: FlowConfig = field(default_factory=FlowConfig)

    def __post_init__(self) -> None:
        check_settings(self, SETTINGS_MINIMUM)
        if self.outlier_weight_train >= 1:  # the flow would carry no weight at all
            raise ValueError(f"outlier_weight_train must be below 1, not {self.outlier_weight_train!r}")
        if self.ema_decay >= 1:  # the average would never leave the initial weights
            raise ValueError(f"ema_decay must be below 1, not {self.ema_decay!r}")
        if not isinstance(self.flow, FlowConfig):
            raise ValueError(f"flow must be an object of flow settings, not {self.flow!r}")
        # a JSON config gives a list: held as a tuple, so settings compare and hash alike however they were made
        object.__setattr__(self, "drop_sole_period_sources", tuple(self.drop_sole_period_sources))
        object.__setattr__(self, "exclude_clusters", tuple(self.exclude_clusters))

    def to_dict(self) -> dict:
        # a tuple setting (exclude_clusters) as the list JSON gives back: a card's settings compare equal to a run's
        d = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
        d["flow"] = self.flow.to_dict()
        for name in ("membership_weight_power", "trim_dex", "trim_weight", "trim_min_age_myr", "trim_keep_redder",
                     "trim_relabel", "outlier_weight_train", "drop_sole_period_sources",
                     "drop_evolved_mag", "exclude_clusters", "ema_decay"):
            if not d[name]:  # left out at its default: the shipped card and fold keys stay
                del d[name]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainSettings:
        """Settings from (a subset of) :meth:`to_dict`; an unknown name or a bad value raises ValueError, one line
        naming it. Integral floats (5.0) are read as whole numbers where a field is one."""
        d = dict(d)
        flow = d.pop("flow", {})
        if not isinstance(flow, dict):
            raise ValueError(f"flow must be an object of flow settings, not {flow!r}")
        unknown = unknown_setting_text({**d, "flow": flow})
        if unknown:
            raise ValueError(unknown)
        return cls(**whole_numbers(cls, d), flow=FlowConfig(**whole_numbers(FlowConfig, flow)))


def unknown_setting_text(d: dict, where: str = "") -> str | None:
    """The one-line refusal of the first name in a settings dict (or a --config file) that is no setting, as written
    there ("flow.hiden"), with the closest known name when one is close (a misspelling) and the names its level may
    hold: "unknown setting 'max_epoch'{where} (did you mean 'max_epochs'?); known: ..."; None when every name is
    known."""
    flow = d.get("flow") or {}
    unknown = unknown_names(TrainSettings, {k: v for k, v in d.items() if k != "flow"}) \
        + unknown_names(FlowConfig, flow, "flow.")
    if not unknown:
        return None
    name = unknown[0]
    known = ([f"flow.{f.name}" for f in fields(FlowConfig)] if name.startswith("flow.")
             else [f.name for f in fields(TrainSettings)])
    close = close_names(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown setting {name!r}{where}{hint}; known: {', '.join(known)}"


@dataclass
class TrainResult:
    model: ConditionalFlow
    settings: TrainSettings
    val_clusters: list[str]
    best_epoch: int
    val_nll: float
    train_nll: float
    seconds: float
    history: list[tuple[int, float, float]]
    trimmed: dict = field(default_factory=dict)  # clusters flagged by trim_dex (dropped, down-weighted or relabelled): dex
    kept_labels: dict = field(default_factory=dict)  # flagged clusters a relabel left at their labels, each with why


def kept_for_training(data: TrainingSet, s: TrainSettings) -> TrainingSet:
    """The stars ``s`` trains on before any trim: without ``s.exclude_clusters``, without the stars of
    ``s.drop_sole_period_sources`` (where their cluster has other periods) and, with ``s.drop_evolved_mag`` > 0,
    without the old clusters' evolved stars."""
    if s.exclude_clusters:
        data = data.subset(~np.isin(data.cluster, list(s.exclude_clusters)))
    return without_evolved(without_sole_sources(data, s.drop_sole_period_sources), s.drop_evolved_mag)


def val_clusters_said(data: TrainingSet, s: TrainSettings) -> str | None:
    """:func:`gyroage.build.catalogue.val_clusters_notice` for the stars ``s`` trains on (:func:`kept_for_training`),
    its ``n_val_clusters`` and ``max_epochs``: what train says before training, and validate once for its folds."""
    return val_clusters_notice(kept_for_training(data, s), s.n_val_clusters, s.max_epochs)


def second_training_set(data: TrainingSet, flagged: dict[str, float], s: TrainSettings) -> TrainingSet:
    """The stars and labels trained on after ``flagged`` clusters (name: in-sample error, dex) were found under ``s``:
    under ``trim_relabel`` every star, each flagged cluster's label moved by its error (label + error is the age its
    periods give); under ``trim_weight`` every star as it was (the loss weights change instead); otherwise without
    the flagged clusters, except their stars at least ``trim_keep_redder`` red."""
    if s.trim_relabel:
        shift = np.zeros(len(data))
        for c, e in flagged.items():  # one pass per flagged cluster (a handful), not per star
            shift[data.cluster == c] = e
        return replace(data, log10_age=data.log10_age + shift)
    if s.trim_weight > 0:
        return data
    out = np.isin(data.cluster, list(flagged))
    if s.trim_keep_redder > 0:
        out &= data.bp_rp0 < s.trim_keep_redder
    return data.subset(~out)


def card_sequence_domain(training: dict, data: TrainingSet) -> dict:
    """A card's ``domain.sequence`` from its catalogue's :func:`training_set` ``data``, as :func:`train_info` derives
    it: :func:`sequence_domain` of the stars the card's ``settings`` keep, with its ``relabelled_clusters`` (or
    ``trimmed_clusters``) applied by :func:`second_training_set`. No training: the domain is statistics of the
    stars and labels trained on."""
    s = TrainSettings.from_dict(training.get("settings", {}))
    flagged = training.get("relabelled_clusters") or training.get("trimmed_clusters") or {}
    return sequence_domain(second_training_set(kept_for_training(data, s), flagged, s))


def normalisation(data: TrainingSet, reference: list[float] | None = None) -> dict[str, float]:
    """Input and target scales; with a ``reference`` law, the target is the residual about it."""
    err = np.log10(np.clip(data.bp_rp0_err, 1e-4, None))
    target = data.log10_prot
    if reference is not None:
        m = reference_law.shift(torch.tensor(reference, dtype=torch.float64), torch.as_tensor(data.log10_age),
                                torch.as_tensor(data.bp_rp0))
        target = target - m.numpy()
    return {
        "age_mean": float(data.log10_age.mean()), "age_std": float(data.log10_age.std()),
        "colour_mean": float(data.bp_rp0.mean()), "colour_std": float(data.bp_rp0.std()),
        "err_mean": float(err.mean()), "err_std": float(err.std()),
        "prot_mean": float(target.mean()), "prot_std": float(target.std()),
    }


_SCALED = {"age": "ages", "colour": "(BP-RP)0 colours", "prot": "periods", "err": "colour errors"}


def _one_value(norm: dict[str, float], key: str) -> bool:
    """Whether ``norm``'s input ``key`` holds one value repeated (a float64 spread of ~1e-15, not 0)."""
    return norm[f"{key}_std"] <= 1e-9 * max(1.0, abs(norm[f"{key}_mean"]))


def check_normalisation(norm: dict[str, float], data: TrainingSet, use_colour_err: bool = True) -> None:
    """Refuse (UserError, one line) training data that cannot be scaled: an input of one value only
    (one cluster's age: its spread is 0 and every scaled input NaN, so the loss is NaN from the first step). An error
    input the flow ignores (``use_colour_err`` false) is not checked."""
    for key, what in _SCALED.items():
        if key == "err" and not use_colour_err:
            continue
        mean, std, one_value = norm[f"{key}_mean"], norm[f"{key}_std"], _one_value(norm, key)
        if not (math.isfinite(mean) and math.isfinite(std)):
            raise UserError(f"cannot train: the training stars' {what} are not finite (mean {mean}, sd {std})")
        if one_value:
            if key == "age":
                raise UserError(f"cannot train on one age: every training star is labelled {10 ** mean / 1e6:g} Myr "
                                f"({len(data.clusters)} cluster(s)); give clusters of at least two ages")
            hint = ": set flow.use_colour_err false (as the shipped settings do)" if key == "err" else ""
            raise UserError(f"cannot train: the training stars' {what} do not vary{hint}")


def choose_val_clusters(data: TrainingSet, n: int, seed: int) -> list[str]:
    """``n`` clusters with >= 20 members, never the youngest or oldest (no extrapolation)."""
    eligible = val_candidates(data)
    if n <= 0 or len(eligible) < 2:
        return []
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(eligible, size=min(n, len(eligible) - 1), replace=False).tolist())


def _tensors(data: TrainingSet) -> tuple[torch.Tensor, ...]:
    return tuple(
        torch.tensor(a, dtype=torch.float32)
        for a in (data.log10_prot, data.log10_age, data.bp_rp0, data.bp_rp0_err)
    )


def star_weights(cluster: np.ndarray, power: float, membership: np.ndarray | None = None,
                 membership_power: float = 0.0, factors: dict[str, float] | None = None) -> np.ndarray:
    """Loss weights n_cluster**-power, times membership**membership_power rescaled to mean 1 in each
    cluster, times ``factors[cluster]`` (1 for clusters it leaves out); normalised to mean 1."""
    if len(cluster) == 0:
        return np.ones(0)
    names, inv, counts = np.unique(cluster, return_inverse=True, return_counts=True)
    w = counts[inv].astype(float) ** -power
    if membership is not None and membership_power != 0:
        m = np.clip(np.asarray(membership, dtype=float), 1e-3, 1.0) ** membership_power
        w *= m / (np.bincount(inv, weights=m) / counts)[inv]
    if factors:
        w *= np.array([factors.get(c, 1.0) for c in names])[inv]  # one lookup per cluster, not per star
    return w / w.mean()


def training_log_prob(model: ConditionalFlow, s: TrainSettings, log10_prot, log10_age, bp_rp0, bp_rp0_err):
    """The log likelihood training maximises: the flow's, or (``s.outlier_weight_train`` > 0) the flow mixed with
    the uniform outlier density per dex of period (:func:`gyroage.core.modelcard.outlier_log_density`)."""
    lp = model(log10_prot, log10_age, bp_rp0, bp_rp0_err)
    w = s.outlier_weight_train
    if w <= 0:
        return lp
    return torch.logaddexp(lp + math.log1p(-w), torch.full_like(lp, math.log(w) + outlier_log_density()))


def _fit(model: ConditionalFlow, train: TrainingSet, val: TrainingSet | None, s: TrainSettings,
         epochs: int, progress: Progress, factors: dict[str, float] | None = None) -> tuple[int, float, float, list]:
    """``factors``: per-cluster loss-weight factors (trimmed clusters under trim_weight; see star_weights)."""
    gen = torch.Generator().manual_seed(s.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=s.lr, weight_decay=s.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs, eta_min=s.lr * 0.05)
    tp, ta, tc, te = _tensors(train)
    tw = torch.tensor(star_weights(train.cluster, s.cluster_weight_power, train.membership,
                                   s.membership_weight_power, factors), dtype=torch.float32)
    vt = _tensors(val) if val is not None and len(val) else None
    # the model that is judged and kept: the trained one, or its moving average
    judged = copy.deepcopy(model) if s.ema_decay > 0 else model
    best, best_epoch, best_state, wait, history = np.inf, epochs, None, 0, []
    n, step = len(tp), 0
    train_nll = np.nan
    for epoch in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for i in range(0, n, s.batch_size):
            b = perm[i : i + s.batch_size]
            age = ta[b] + s.age_jitter_dex * torch.randn(len(b), generator=gen)
            colour = tc[b]
            if s.colour_jitter > 0:
                colour = colour + s.colour_jitter * te[b] * torch.randn(len(b), generator=gen)
            loss = -(tw[b] * training_log_prob(model, s, tp[b], age, colour, te[b])).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if judged is not model:
                _average_into(judged, model, s.ema_decay, step)
            total += loss.item() * len(b)
        sched.step()
        train_nll = total / n
        if not math.isfinite(train_nll):  # NaN weights never recover: stop before anything is written
            raise BuildError(f"training failed: the loss is not finite at epoch {epoch} (train nll {train_nll}); "
                             "check the catalogue and try a smaller lr or other flow settings")
        val_nll = np.nan
        if vt is not None:
            judged.eval()
            with torch.no_grad():
                val_nll = float(-training_log_prob(judged, s, *vt).mean())
            if val_nll < best - 1e-4:
                best, best_epoch, wait = val_nll, epoch, 0
                best_state = {k: v.clone() for k, v in judged.state_dict().items()}
            else:
                wait += 1
        history.append((epoch, train_nll, val_nll))
        progress.update(1, extra=f"train nll {train_nll:.4f}" + (f" val nll {val_nll:.4f}" if vt else ""))
        if vt is not None and wait >= s.patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    elif judged is not model:
        model.load_state_dict(judged.state_dict())
    return best_epoch, float(best), float(train_nll), history


def _average_into(average: ConditionalFlow, model: ConditionalFlow, decay: float, step: int) -> None:
    """Step ``step`` (from 1) of the moving average of ``model``'s weights in ``average``. The decay grows from 0.18
    over the first steps (TensorFlow's num_updates rule), so the random initial weights are forgotten early."""
    d = min(decay, (1 + step) / (10 + step))
    with torch.no_grad():
        for a, p in zip(average.parameters(), model.parameters(), strict=True):
            a.mul_(d).add_(p, alpha=1 - d)


def train_flow(data: TrainingSet, settings: TrainSettings | None = None, quiet: bool = False) -> TrainResult:
    """Train a flow on ``data``; deterministic for a given ``settings.seed``.

    With ``settings.trim_dex`` > 0 the flow is trained twice: the clusters the first
    flow dates more than ``trim_dex`` from their labels (:func:`in_sample_errors`) are
    left out of the second, except the youngest and oldest, which bound the age domain, and
    those younger than ``settings.trim_min_age_myr``; with ``settings.trim_weight`` > 0 they stay,
    their stars' loss weights times ``trim_weight``; with ``settings.trim_keep_redder`` > 0 their
    stars at least that red stay; with ``settings.trim_relabel`` every star stays and each flagged cluster's label
    becomes its in-sample joint age (label + error), unless that is more than :data:`gyroage.build.relabel.RELABEL_MAX_DEX` away or the
    cluster has fewer than :data:`gyroage.build.relabel.RELABEL_MIN_MEMBERS` stars (:func:`gyroage.build.relabel.flagged_clusters`).
    Before all this, :func:`kept_for_training` leaves out the stars that ``settings.drop_sole_period_sources`` and
    ``settings.drop_evolved_mag`` name.
    """
    s = settings or TrainSettings()
    kept = kept_for_training(data, s)
    if len(kept) < len(data):
        Progress("train", quiet=quiet).log(f"{len(data) - len(kept)} stars left out (exclude_clusters "
                                          f"{list(s.exclude_clusters)}, drop_sole_period_sources "
                                          f"{list(s.drop_sole_period_sources)}, drop_evolved_mag {s.drop_evolved_mag})")
    data = kept
    first = _train_once(data, s, quiet)
    if s.trim_dex <= 0:
        return first
    drop, kept = flagged_clusters(in_sample_errors(first.model, data), data, s, quiet)
    if not drop:
        first.kept_labels = kept
        return first
    what = "relabelled to their in-sample ages" if s.trim_relabel else "trimmed"
    Progress("train", quiet=quiet).log(f"{what} (in-sample error > {s.trim_dex} dex): "
                                      + ", ".join(f"{c} {e:+.2f}" for c, e in drop.items()))
    factors = {c: s.trim_weight for c in drop} if s.trim_weight > 0 else None
    second = _train_once(second_training_set(data, drop, s), s, quiet, factors)
    second.trimmed, second.kept_labels = drop, kept
    second.seconds += first.seconds
    return second


def in_sample_errors(model: ConditionalFlow, data: TrainingSet) -> dict[str, float]:
    """Each cluster's joint age by ``model`` minus its median label (dex), as ``gyroage validate`` dates a held-out
    cluster (:func:`gyroage.core.groups.joint_age` on the validation grid, outlier weight 0.05)."""
    grid = age_grid(*AGE_GRID)
    out = {}
    for c in data.clusters:
        m = data.cluster == c
        ll = grid_log_prob(model, data.log10_prot[m], data.bp_rp0[m], data.bp_rp0_err[m], grid)
        out[c] = float(joint_age(ll, grid, OUTLIER_WEIGHT)[1][2] - np.median(data.log10_age[m]))
    return out


def grid_log_prob(model: ConditionalFlow, log10_prot: np.ndarray, bp_rp0: np.ndarray, bp_rp0_err: np.ndarray,
                  grid: np.ndarray) -> np.ndarray:
    """Flow log p(log10 Prot | grid age, colour, error): (stars x grid), float32."""
    n, g = len(log10_prot), len(grid)
    rep = lambda a: torch.as_tensor(np.repeat(np.asarray(a, dtype=np.float32), g))  # noqa: E731
    ages = torch.as_tensor(np.tile(np.asarray(grid, dtype=np.float32), n))
    with torch.no_grad():
        lp = model(rep(log10_prot), ages, rep(bp_rp0), rep(bp_rp0_err))
    return lp.numpy().reshape(n, g)


def _train_once(data: TrainingSet, s: TrainSettings, quiet: bool,
                factors: dict[str, float] | None = None) -> TrainResult:
    torch.set_num_threads(s.threads)
    torch.manual_seed(s.seed)
    start = time.perf_counter()
    if len(data) == 0:
        raise UserError("no stars left to train on (check --exclude and the catalogue's quality flags)")
    # Fitted to the training data only: in a LOCO fold the held-out cluster never shapes the law.
    reference = (None if s.flow.reference == "none"
                 else reference_law.reference_coefficients(s.flow.reference, data, s.flow.reference_onset))
    norm = normalisation(data, reference)
    check_normalisation(norm, data, s.flow.use_colour_err)
    if not s.flow.use_colour_err and _one_value(norm, "err"):  # its scale is never used; export, the card need one > 0
        norm["err_std"] = 1.0
    val_clusters = choose_val_clusters(data, s.n_val_clusters, s.seed)
    is_val = np.isin(data.cluster, val_clusters)
    model = ConditionalFlow(s.flow, norm, reference)
    prog = Progress("train", total=s.max_epochs, unit="epochs", quiet=quiet, every=5.0)
    prog.log(f"{len(data)} stars, {len(data.clusters)} clusters; validation clusters: {', '.join(val_clusters) or 'none'}")
    if reference is not None:
        prog.log(f"reference law {s.flow.reference}: (n, b0, b1, b2[, a0]) = {np.round(reference, 4).tolist()}")
    best_epoch, val_nll, train_nll, history = _fit(
        model, data.subset(~is_val), data.subset(is_val), s, s.max_epochs, prog, factors
    )
    if s.refit and val_clusters:
        prog.log(f"early stop at epoch {best_epoch} (val nll {val_nll:.4f}); refit on all clusters")
        torch.manual_seed(s.seed)
        model = ConditionalFlow(s.flow, norm, reference)
        prog2 = Progress("refit", total=best_epoch, unit="epochs", quiet=quiet, every=5.0)
        _, _, train_nll, _ = _fit(model, data, None, s, best_epoch, prog2, factors)
    model.eval()
    return TrainResult(model, s, val_clusters, best_epoch, val_nll, train_nll,
                       time.perf_counter() - start, history)


def train_info(result: TrainResult, data: TrainingSet, catalog_path: str, catalog_sha256: str,
               selection: str = FULL_SELECTION) -> dict:
    """What the model card records about training (JSON-ready); the domain is that of the stars and labels the flow
    was trained on (after a trim or relabelling, and without the stars :func:`kept_for_training` leaves out).

    ``selection``: the quality selection the catalogue was given (:func:`gyroage.build.catalogue.selection_applied`
    of its columns; a catalogue without some of them skips those cuts).
    """
    trained = second_training_set(kept_for_training(data, result.settings), result.trimmed, result.settings)
    return {
        # The file name only: an absolute path is machine-specific and leaks the builder's layout.
        "catalog": {"file": Path(catalog_path).name, "sha256": catalog_sha256,
                    "selection": selection},
        # the ones the flow was trained on (down-weighted or partly trimmed ones included)
        "clusters": trained.clusters,
        "n_stars": len(trained),
        "validation_clusters": result.val_clusters,
        "best_epoch": result.best_epoch,
        "settings": result.settings.to_dict(),
        "seconds": round(result.seconds, 1),
        "normalisation": result.model.norm,
        "domain": {**domain_of(trained), "sequence": sequence_domain(trained)},
        "default_bp_rp0_err": float(np.median(trained.bp_rp0_err)),
        "metrics": {"val_nll": result.val_nll, "train_nll": result.train_nll},
        **({("relabelled_clusters" if result.settings.trim_relabel else "trimmed_clusters"): result.trimmed}
           if result.trimmed else {}),
        **({"left_at_labels": result.kept_labels} if result.kept_labels else {}),
    }
