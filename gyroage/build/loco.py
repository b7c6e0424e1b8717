"""Leave-one-cluster-out (LOCO) validation: the evidence for how good a trained model is.

For every cluster with at least ``min_members`` quality-selected stars, a flow is
trained without it (:mod:`gyroage.build.loco_fold`, torch, one process per
fold), and the held-out stars' log-likelihoods on the age grid are saved to
``DIR/folds/<cluster>.npz``. Everything else happens here, in numpy, from those
grids: each star's posterior, the cluster's joint age, calibration and the summary
(the figures themselves: :mod:`gyroage.build.loco_figures`; the summary written into the
model card: :mod:`gyroage.build.loco_card`).

A finished fold is never recomputed while its training settings and catalogue are unchanged
(resumable); changing a setting that shapes training starts new folds (the settings key names
their directory), and a fold saved from another catalogue, or from other stars read from it (the SHA-256 of both is
in the fold), is trained again.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from gyroage.build import calibration, loco_checks
from gyroage.build.catalogue import Selection, read_selection
from gyroage.build.loco_card import write_card_validation  # re-exported (in __all__): callers import it from here
from gyroage.build.loco_checks import (  # eligible_clusters re-exported (in __all__)
    catalogue_record,
    chosen_clusters,
    code_version,
    eligible_clusters,
    other_version_folds,
    other_version_text,
    stale_folds,
    val_clusters_capped,
    without_unfit_term,
)
from gyroage.build.loco_figures import (
    LEVELS,
    by_age_and_colour,
    by_age_bin,
    cluster_medians,
    coverage,
    judge_stars,
    main_sequence_summary,
    seed_spread,
    seed_table_dirs,  # re-exported (in __all__)
)
from gyroage.build.main_sequence import held_out_height_term
from gyroage.core.calibration import Calibration
from gyroage.core.density import check_outlier_weight
from gyroage.core.groups import joint_age
from gyroage.core.modelcard import outlier_log_density
from gyroage.core.posterior import (
    calibrate,
    log_evidence,
    normalise,
    outlier_probability,
)
from gyroage.defaults import AGE_GRID, OUTLIER_WEIGHT
from gyroage.files import atomic_path, atomic_write_text, json_text
from gyroage.progress import Progress


@dataclass(frozen=True)
class ValidateSettings:
    """What a LOCO run does.

    ``train`` is the complete :class:`gyroage.build.training.TrainSettings` as a dict
    (``validation_train.full_train_dict`` builds it), so that this module and the
    analysis of saved folds need no torch.
    """

    train: dict = field(default_factory=dict)
    min_members: int = 20
    grid: tuple[float, float, int] = AGE_GRID
    outlier_weight_star: float = OUTLIER_WEIGHT
    outlier_weight_group: float = OUTLIER_WEIGHT
    jobs: int = 2
    # the age-dependent systematic term applied to star posteriors (core.calibration.Calibration as a dict), or empty
    calibration_dict: dict = field(default_factory=dict)
    # the main-sequence height term on individual held-out stars (fitted in each fold without the held-out cluster,
    # as the flow is), and the calibration of the stars it informs (a dict as above; empty: uncalibrated). Joint
    # ages stay rotation's, as in group-age. Neither shapes a fold: both stay out of the key.
    main_sequence: bool = False
    main_sequence_calibration_dict: dict = field(default_factory=dict)
    # --main-sequence given: a catalogue the term cannot be fitted to is refused, not validated without it
    main_sequence_asked: bool = False
    # where ``train`` came from (--config FILE, the card's training.settings), as its refusals name it; not in the key
    train_source: str = "the settings"
    keep_folds: bool = False  # --keep-folds: reuse saved folds trained by another gyroage (said); not in the key
    whole_for: str = ""  # --write-card DIR (not --force): a --clusters subset is refused, the card's figures are all's

    def __post_init__(self) -> None:
        for name in ("outlier_weight_star", "outlier_weight_group"):  # as estimate's --outlier-weight, before any fold
            check_outlier_weight(getattr(self, name), f"--{name.replace('_', '-')}", card_default=False)

    def calibration(self) -> Calibration | None:
        return Calibration.from_dict(self.calibration_dict)

    def main_sequence_calibration(self) -> Calibration | None:
        return Calibration.from_dict(self.main_sequence_calibration_dict)

    def train_dict(self) -> dict:
        """The full training settings of every fold (see ``validation_train.full_train_dict``)."""
        return dict(self.train)

    def fold_settings(self) -> dict:
        """Everything that shapes a fold's result (training settings and grid)."""
        return {"train": self.train_dict(), "grid": list(self.grid)}

    def key(self) -> str:
        """Hash of :meth:`fold_settings`: names the directory of the folds trained with them."""
        return hashlib.sha256(json.dumps(self.fold_settings(), sort_keys=True).encode()).hexdigest()[:12]

    def fold_dir(self, out_dir: str | Path) -> Path:
        """Where the folds of these settings live under a ``gyroage validate`` directory."""
        return Path(out_dir) / "folds" / self.key()


@dataclass(frozen=True, eq=False)
class CatalogueRead:
    """A validate run's catalogue, read (with its notices), quality-selected and hashed once: every seed's folds,
    checks and analysis take it."""

    path: str  # resolved: the fold workers read it again in their own processes
    selection: Selection  # the catalogue as read (raw) and its quality selection, its reasons worked out once
    sha256: str  # as the card records the training catalogue

    @property
    def raw(self) -> pd.DataFrame:
        return self.selection.raw

    @property
    def frame(self) -> pd.DataFrame:
        """The rows trained on."""
        return self.selection.frame


def read_catalogue(catalogue: str | Path) -> CatalogueRead:
    path = str(Path(catalogue).resolve())
    return CatalogueRead(path, *loco_checks.read_hashed(path))  # the hash of the bytes read, not of a later file


def run_folds(read: CatalogueRead, out_dir: str | Path, names: list[str], settings: ValidateSettings | None = None,
              quiet: bool = False, said: set[str] | None = None) -> None:
    """Train every missing fold of the held-out clusters ``names`` (:func:`chosen_clusters`; at most
    ``settings.jobs`` processes) on the catalogue ``read`` (:func:`read_catalogue`). ``said``:
    the once-per-run notices already said by an earlier seed's folds (``"early stopping"``), added to here."""
    s = settings or ValidateSettings()
    catalogue, raw, frame, catalog_sha = read.path, read.raw, read.frame, read.sha256
    fold_dir = s.fold_dir(out_dir)
    fold_dir.mkdir(parents=True, exist_ok=True)
    other, code = stale_folds(fold_dir, names, raw, frame, catalog_sha), code_version()
    older = other_version_folds(fold_dir, [c for c in names if c not in other], code)  # stale ones: read once
    todo = [c for c in names if c in other or (c in older and not s.keep_folds) or not (fold_dir / f"{c}.npz").is_file()]
    progress = Progress("validate", total=len(todo), unit="folds", quiet=quiet)
    capped = val_clusters_capped(frame, todo, s.train)
    said = set() if said is None else said
    if capped and "early stopping" not in said:  # even with -q, as train -q says it: the folds stop otherwise
        Progress("validate").log(capped)
        said.add("early stopping")
    if other:
        progress.log(f"{_count(len(other), 'saved fold')} {'was' if len(other) == 1 else 'were'} trained on another "
                     "catalogue, or on its stars as an earlier gyroage read them: training again")
    if older:  # a fold of other code scores that code's flow, not this one's
        progress.log(other_version_text(older, code, s.keep_folds))
    jobs = min(s.jobs, max(len(todo), 1))
    progress.log(f"{_count(len(names), 'cluster')}, {_count(len(names) - len(todo), 'fold')} already done, {len(todo)} "
                 f"to train ({_count(jobs, 'process', 'processes')}) in {fold_dir}")
    if todo:
        tasks = [{"catalogue": catalogue, "cluster": c, "path": str(fold_dir / f"{c}.npz"), "grid": list(s.grid),
                  "train": s.train_dict(), "key": s.key(), "catalog_sha256": catalog_sha, "gyroage": code} for c in todo]
        if s.jobs <= 1:
            from gyroage.build.loco_fold import run_fold

            results = map(run_fold, tasks)
            _report(results, progress)
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor, as_completed

            from gyroage.build.loco_fold import ignore_interrupts, run_fold

            # spawn: a clean interpreter per worker, never a forked torch state
            with ProcessPoolExecutor(max_workers=s.jobs, mp_context=mp.get_context("spawn"),
                                     initializer=ignore_interrupts) as pool:
                try:
                    with _sigint_ignored():  # the workers start here, and inherit it from their first instruction
                        futures = [pool.submit(run_fold, t) for t in tasks]
                    _report((f.result() for f in as_completed(futures)), progress)
                except BaseException:  # Ctrl-C (exit 130), a fold's refusal (exit 2): stop the other folds now
                    _terminate(pool)
                    raise
    # after training: an interrupt left it naming a catalogue stale folds were not trained on (review V46, 5)
    (fold_dir / "settings.json").write_text(json_text({**s.fold_settings(), "catalog_sha256": catalog_sha}, indent=2,
                                                      sort_keys=True) + "\n")


def _count(n: int, one: str, many: str | None = None) -> str:
    """"1 cluster", "2 clusters": a progress line's count ("1 clusters", "(1 processes)" read as slips)."""
    return f"{n} {one if n == 1 else many or one + 's'}"


@contextmanager
def _sigint_ignored():
    """SIGINT ignored while the fold workers are spawned: Ctrl-C, sent to the whole process group, then reaches the
    main process alone, which stops the workers, rather than one KeyboardInterrupt traceback per worker."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _terminate(pool) -> None:
    """End a process pool's workers now (a running fold would otherwise be waited for)."""
    stop = getattr(pool, "terminate_workers", None)  # Python >= 3.14
    if stop is not None:
        stop()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()


def _report(results, progress: Progress) -> None:
    for meta in results:
        progress.update(1, force=True, extra=f"{meta['cluster']}: {meta['n_stars']} stars, epoch {meta['best_epoch']}, "
                                             f"{meta['seconds']:.0f} s")


def load_folds(out_dir: str | Path, settings: ValidateSettings, clusters: list[str]) -> dict[str, dict]:
    fold_dir = settings.fold_dir(out_dir)
    out = {}
    for c in clusters:
        with np.load(fold_dir / f"{c}.npz") as z:
            out[c] = {"loglike": z["loglike"], "grid": z["grid"], "source_row": z["source_row"],
                      "meta": json.loads(str(z["meta"]))}
    return out


def saved_folds(table_dir: str | Path) -> dict[str, dict]:
    """The saved folds behind one table directory (:func:`seed_table_dirs`), read with the settings and clusters its
    ``loco_summary.json`` names; a ``seed_<n>/`` directory's folds live under its parent's ``folds/``."""
    d = Path(table_dir)
    summary = json.loads((d / "loco_summary.json").read_text())
    settings = ValidateSettings(train=summary["train_settings"], grid=tuple(summary["age_grid"]))
    return load_folds(d if (d / "folds").is_dir() else d.parent, settings, list(summary["per_cluster"]))


def star_posteriors(loglike: np.ndarray, grid: np.ndarray, calibration: Calibration | None = None,
                    log_prior: np.ndarray | None = None, colour: np.ndarray | None = None) -> np.ndarray:
    """Held-out stars' age posteriors as ``gyroage estimate`` makes them: sequence members, calibrated
    (``colour``, their (BP-RP)0, for a calibration by colour)."""
    lp = np.asarray(loglike, dtype=np.float64)
    if log_prior is not None:
        lp = lp + log_prior[None, :]
    pdf = normalise(lp, grid)
    return calibration.apply(pdf, grid, colour) if calibration is not None else pdf


def load_held_out(catalogue: str | Path, out_dir: str | Path, settings: ValidateSettings,
                  clusters: list[str], frame: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict[str, dict]]:
    """(the quality-selected catalogue, the saved folds of ``clusters``): what the analysis reads; ``frame``: the
    selected catalogue, when the caller has it."""
    if frame is None:
        frame = read_selection(catalogue, notices=False).frame
    return frame, load_folds(out_dir, settings, clusters)


def analyse(catalogue: str | Path, out_dir: str | Path, clusters: list[str],
            settings: ValidateSettings, calibrations: dict[str, Calibration] | None = None,
            held_out: tuple[pd.DataFrame, dict[str, dict]] | None = None,
            fitted_terms: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Per-star and per-cluster tables and the summary, from saved folds.

    ``calibrations``: per held-out cluster, the calibration applied to its stars
    (one fitted without it, see :func:`fit_calibrations`); by default the settings'.
    ``held_out``: :func:`load_held_out`'s result, when the caller has it already.
    ``fitted_terms``: main-sequence terms fitted without each cluster, shared by the seeds of one run
    (:func:`gyroage.build.main_sequence.held_out_height_term`).
    """
    frame, folds = held_out or load_held_out(catalogue, out_dir, settings, clusters)
    star_rows, cluster_rows, alone_rows = [], [], []
    for c in clusters:
        f = folds[c]
        grid, ll = f["grid"], f["loglike"]
        members = frame.iloc[f["source_row"]]
        colour = members["BPRP_0"].to_numpy(dtype=float)
        # Associations (Sco-Cen, Taurus) hold subgroups of different ages: each star is
        # judged against its own subgroup's age, the joint age against the members' median.
        star_truth = np.log10(members["fiducial_age_Myr"].to_numpy(dtype=float) * 1e6)
        truth = float(np.median(star_truth))
        calib = calibrations[c] if calibrations else settings.calibration()
        judged = judge_stars(star_posteriors(ll, grid, calib, colour=colour), grid, star_truth)
        extra = {}
        if settings.main_sequence:
            alone_rows.append(pd.DataFrame(judged))
            term, informed, height = held_out_height_term(frame, c, members, grid, fitted_terms)
            post = calibrate(star_posteriors(ll + term, grid), grid, colour, calib,
                             settings.main_sequence_calibration(), informed)
            judged = judge_stars(post, grid, star_truth)
            extra = {"ms_informed": informed, "ms_height_mag": np.where(informed, height, np.nan)}
        p_out = outlier_probability(log_evidence(ll, np.zeros((1, len(grid))), grid), settings.outlier_weight_star,
                                    outlier_log_density())
        _, jq = joint_age(ll, grid, settings.outlier_weight_group)
        star_rows.append(pd.DataFrame({
            # the ids are optional (load_catalogue does not require them): missing ones stay blank
            "cluster": c, "GaiaDR3_ID": members.get("GaiaDR3_ID", pd.Series(np.nan, index=members.index)).to_numpy(),
            "prot_days": members["Prot"].to_numpy(), "bp_rp0": members["BPRP_0"].to_numpy(),
            "bp_rp0_err": members["e_BPRP_0"].to_numpy(), **extra, **judged, "p_outlier": p_out,
        }))
        cluster_rows.append({
            "cluster": c, "n_stars": len(members), "fiducial_age_myr": 10 ** (truth - 6),
            "fiducial_age_spread_dex": float(star_truth.max() - star_truth.min()),
            "joint_age_myr": 10 ** (jq[2] - 6), "joint_p16_myr": 10 ** (jq[1] - 6),
            "joint_p84_myr": 10 ** (jq[3] - 6), "error_dex": jq[2] - truth,
            "star_coverage_68": coverage(judged["pit"], 0.68),
            "star_median_abs_error_dex": float(np.median(np.abs(judged["error_dex"]))),
            "best_epoch": f["meta"]["best_epoch"], "fold_seconds": f["meta"]["seconds"],
        })
    stars = pd.concat(star_rows, ignore_index=True)
    table = pd.DataFrame(cluster_rows).sort_values("fiducial_age_myr").reset_index(drop=True)
    summary = summarise(stars, table, settings)
    if settings.main_sequence:
        summary["main_sequence"] = main_sequence_summary(stars, pd.concat(alone_rows, ignore_index=True))
    return stars, table, summary


def summarise(stars: pd.DataFrame, table: pd.DataFrame, settings: ValidateSettings) -> dict:
    """The numbers the goals and the model card quote."""
    bins = by_age_bin(stars)
    colour = by_age_and_colour(stars)
    every, old = cluster_medians(table["error_dex"], table["fiducial_age_myr"])
    return {
        "loco_n_clusters": int(len(table)),
        "loco_n_stars": int(len(stars)),
        "loco_cluster_median_abs_dex": every,
        "loco_cluster_median_abs_dex_ge30myr": old,
        "loco_star_median_abs_dex": float(np.median(np.abs(stars["error_dex"]))),
        # joint-age intervals are statistical only; how often they hold the fiducial age
        "loco_cluster_coverage_68": float(np.mean((table["joint_p16_myr"] <= table["fiducial_age_myr"])
                                                  & (table["fiducial_age_myr"] <= table["joint_p84_myr"]))),
        "loco_star_coverage_68": coverage(stars["pit"], 0.68),
        "loco_star_coverage": {f"{lv:g}": coverage(stars["pit"], lv) for lv in LEVELS},
        "loco_star_median_half_width_68_dex": float(np.median(
            0.5 * (np.log10(stars["age_p84_myr"]) - np.log10(stars["age_p16_myr"])))),
        # by the held-out cluster's age (AGE_BINS): the average hides opposite errors
        "loco_star_coverage_68_by_age": bins["coverage_68"],
        "loco_star_below_68_by_age": bins["below_68"],  # truth below the 68% interval (p16)
        "loco_star_above_68_by_age": bins["above_68"],  # truth above it (p84)
        "loco_star_median_abs_dex_by_age": bins["median_abs_dex"],
        "loco_star_median_half_width_68_dex_by_age": bins["median_half_width_68_dex"],
        "loco_star_n_by_age": bins["n_stars"],
        "loco_star_mean_log_score": float(np.mean(stars["log_score"])),
        "loco_star_mean_log_score_by_age": bins["mean_log_score"],
        "loco_star_coverage_68_by_age_and_colour": colour["coverage_68"],
        "loco_star_mean_log_score_by_age_and_colour": colour["mean_log_score"],
        "loco_star_n_by_age_and_colour": colour["n_stars"],
        "star_posteriors": "sequence members (outlier term in p_outlier only)"
                           + (", with the card's calibration" if settings.calibration_dict else ", uncalibrated")
                           + (", with the main-sequence height term where it applies (joint ages without it)"
                              if settings.main_sequence else ""),
        "calibration": settings.calibration_dict,
        "outlier_weight_star": settings.outlier_weight_star,
        "outlier_weight_group": settings.outlier_weight_group,
        "age_grid": list(settings.grid),
        "min_members": settings.min_members,
        "train_settings": settings.train_dict(),
        "settings_key": settings.key(),
        "per_cluster": {r.cluster: {"n": int(r.n_stars), "fiducial_age_myr": round(float(r.fiducial_age_myr), 2),
                                    "joint_age_myr": round(float(r.joint_age_myr), 2),
                                    "error_dex": round(float(r.error_dex), 4),
                                    "star_coverage_68": round(float(r.star_coverage_68), 3)}
                        for r in table.itertuples()},
    }


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path, suffix=".tmp") as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")


def write_tables(out_dir: str | Path, stars: pd.DataFrame, table: pd.DataFrame, summary: dict) -> None:
    out = Path(out_dir)
    _write_csv(stars, out / "loco_stars.csv")
    _write_csv(table, out / "loco_clusters.csv")
    atomic_write_text(out / "loco_summary.json", json_text(summary, indent=2) + "\n")


def fit_calibrations(held_out: tuple[pd.DataFrame, dict[str, dict]],
                     clusters: list[str]) -> tuple[Calibration, dict[str, Calibration], int]:
    """The calibration fitted on every held-out star, per cluster the one fitted without it (nested LOCO), and how
    many held-out stars are under 100 Myr (the level scale's fit; none: it stays 1)."""
    frame, folds = held_out
    grid = folds[clusters[0]]["grid"]
    pdf = np.concatenate([star_posteriors(folds[c]["loglike"], grid) for c in clusters])
    rows = np.concatenate([folds[c]["source_row"] for c in clusters])
    truth = np.log10(frame["fiducial_age_Myr"].to_numpy(dtype=float)[rows] * 1e6)
    colour = frame["BPRP_0"].to_numpy(dtype=float)[rows]
    which = np.repeat(clusters, [len(folds[c]["source_row"]) for c in clusters])
    nested = {c: calibration.fit(pdf[which != c], grid, truth[which != c], colour[which != c]) for c in clusters}
    return calibration.fit(pdf, grid, truth, colour), nested, int(np.sum(truth < calibration.AGE_EDGES[0]))


def _one_seed(read: CatalogueRead, out: Path, names: list[str], s: ValidateSettings, quiet: bool,
              fit_calibration: bool, fitted_terms: dict | None = None,
              said: set[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    catalogue = read.path
    run_folds(read, out, names, s, quiet, said)
    held_out = load_held_out(catalogue, out, s, names, read.frame)
    kept = loco_checks.kept_other_gyroage(held_out[1], int(s.train.get("seed", 0)))  # folds --keep-folds kept
    calibrations = None
    if fit_calibration:
        full, calibrations, n_young = fit_calibrations(held_out, names)
        s = replace(s, calibration_dict=full.to_dict())
    stars, table, summary = analyse(catalogue, out, names, s, calibrations, held_out, fitted_terms)
    if fit_calibration:
        # only the level scale is fitted; the widths are calibration.WIDTHS (README, Retraining): the card and the run
        # said "fitted" of both, and a catalogue without young stars kept level scale 1 without a word
        level = (f"level scale {full.level_scale:.4g} fitted on the {n_young} held-out stars under 100 Myr" if n_young
                 else "level scale kept at 1 (no held-out star under 100 Myr to fit it on)")
        summary["calibration_fit"] = (f"{level}, each cluster's figures from a fit without it; interval widths: the "
                                      "shipped constants (WIDTHS in gyroage/build/calibration.py), not refitted")
        if not quiet:
            Progress("validate").log(f"calibration fit (seed {s.train.get('seed', 0)}): {summary['calibration_fit']}")
        floor = calibration.at_floor(s.calibration_dict["level_scale"])
        summary["calibration_level_scale_at_floor"] = floor
        if floor:  # said even with -q, as the term-off notice: the calibration is not the one asked for
            Progress("validate").log(
                f"level scale at its floor ({calibration.LEVEL_SCALE_MIN:g}) in seed {s.train.get('seed', 0)}'s "
                "calibration fit: the young stars' intervals still cover more than 68% there, and it narrows them "
                "no further")
    # what was validated: --write-card compares it with the card's
    summary["catalog"] = catalogue_record(catalogue, read.sha256)
    return stars, table, {**summary, **kept}


def run_loco(catalogue: str | Path, out_dir: str | Path, clusters: list[str] | None = None,
             settings: ValidateSettings | None = None, quiet: bool = False, fit_calibration: bool = False,
             extra_seeds: tuple[int, ...] = ()) -> dict:
    """Run (or resume) LOCO and write ``loco_stars.csv``, ``loco_clusters.csv``, ``loco_summary.json``.

    ``fit_calibration``: fit the model's calibration (:mod:`gyroage.build.calibration`) to the held-out
    posteriors; the summary's ``calibration`` is that fit, its star figures come from nested fits.
    ``extra_seeds``: also run the folds of these training seeds (tables in ``DIR/seed_<n>/``, each with its
    own nested calibration fit) and add ``loco_by_seed`` (:func:`seed_spread`) to the summary; every other
    figure stays the settings' own seed's.
    """
    s = settings or ValidateSettings()
    read = read_catalogue(catalogue)  # once for every seed, its notices said once
    names = chosen_clusters(read.selection, clusters, s.min_members, s.train.get("exclude_clusters") or (),
                            s.train_source, s.whole_for)
    terms: dict = {}  # the held-out main-sequence terms, fitted once for every seed (here first, before any fold)
    s, notice = without_unfit_term(read.frame, names, s, terms)
    if notice:  # even with -q: the figures are then rotation's alone, unlike the card's
        Progress("validate").log(notice)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    said: set[str] = set()  # the notices said once per run, whatever the seeds
    stars, table, summary = _one_seed(read, out, names, s, quiet, fit_calibration, terms, said)
    # after the first seed's folds (before, it would stand between the fold count and an interrupt's one line), once
    Progress("validate", quiet=quiet).log(read.selection.summary())
    write_tables(out, stars, table, summary)  # written before the other seeds run: a failure there keeps them
    seed = int(s.train.get("seed", 0))
    others = [k for k in dict.fromkeys(extra_seeds) if k != seed]
    if others:
        by_seed = {seed: summary}
        for k in others:
            stars_k, table_k, by_seed[k] = _one_seed(read, out, names, replace(s, train={**s.train, "seed": k}),
                                                     quiet, fit_calibration, terms, said)
            (out / f"seed_{k}").mkdir(exist_ok=True)
            write_tables(out / f"seed_{k}", stars_k, table_k, by_seed[k])
        summary["loco_by_seed"] = seed_spread(by_seed, seed)
        summary.update(loco_checks.kept_across_seeds(by_seed.values()))  # every seed's kept folds, not only its own
        write_tables(out, stars, table, summary)
    log = Progress("validate", quiet=quiet).log
    log(f"{_count(summary['loco_n_clusters'], 'cluster')}: joint-age median |error| "
        f"{summary['loco_cluster_median_abs_dex']:.3f} dex; stars: median |error| "
        f"{summary['loco_star_median_abs_dex']:.3f} dex, 68% coverage {summary['loco_star_coverage_68']:.3f}; "
        f"tables in {out}")
    if others:
        c = summary["loco_by_seed"]["loco_cluster_median_abs_dex"]
        log(f"over seeds {', '.join(map(str, summary['loco_by_seed']['seeds']))}: joint-age median |error| "
            f"{c['mean']:.3f} +- {c['sd']:.3f} dex")
    return summary


__all__ = ["ValidateSettings", "run_loco", "seed_table_dirs", "saved_folds", "star_posteriors", "analyse",
           "write_card_validation", "eligible_clusters"]
