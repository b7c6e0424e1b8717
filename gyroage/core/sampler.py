"""MCMC age posteriors with measurement uncertainties (emcee's affine-invariant ensemble sampler).

Parameters per star: theta = (x, c, y) with x = log10 age [yr], c the true
(BP-RP)0 and y the true log10 period [days]. The log posterior is

    log p(theta) = log prior(x)
                 + log f(y | x, c, s0)                           (flow)
                 + log N(c_obs | c, sigma_c)                     (colour error)
                 + log N(y_obs | y, sigma_y)                     (period error)

with f the ONNX flow density (no outlier mixture: :func:`gyroage.core.estimate._mcmc_rows` passes an
outlier weight of 0, so ages are those of a rotation-sequence member, as the grid's; ``p_outlier`` is the
grid's), s0 the smallest colour error the flow was trained on (the true colour is known exactly; the colour error enters through the
nuisance term instead), sigma_c the colour error beyond the training colours' (the card's
``default_bp_rp0_err``, which the flow's sequence already carries), floored at ``colour_err_floor``
(:func:`gyroage.core.estimate._mcmc_rows`), and sigma_y = prot_err / (prot ln 10) dex, floored at
``period_err_floor_dex`` so a zero error stays samplable. With an extinction
column E(BP-RP) (the reddening used to de-redden the colour) and its
uncertainty sigma_E, the colour term becomes the Gaussian noise convolved with
a Gaussian reddening error truncated at E >= 0, marginalised analytically:

    log N(d | 0, s) + log Phi((mu + E) / t) - log Phi(E / sigma_E),
    d = c_obs - c, s^2 = sigma_c^2 + sigma_E^2, mu = d sigma_E^2 / s^2, t = sigma_c sigma_E / s.

Moves: emcee's stretch move (Goodman & Weare 2010; weight ``stretch_weight``,
10%) mixed with an independence Metropolis-Hastings move whose proposal is
close to the posterior (:mod:`gyroage.core.moves`), as emcee mixes moves:
one move, drawn by weight, per step. Two back ends run the same moves:

* ``batched`` (default): vectorised over a block of stars, so each move (each
  half of a stretch move) is ONE onnxruntime call for all walkers of all stars
  in the block (stars are independent ensembles; converged stars drop out).
* ``emcee``: one ``emcee.EnsembleSampler(vectorize=True)`` per star with
  ``StretchMove`` and an ``MHMove``; slower, kept as the reference.

Convergence: the integrated autocorrelation time tau (emcee's estimator,
Sokal window c = 5) of every parameter is checked per star: by the batched
back end first after max(``check_every``, ``min_n_eff`` / walkers) steps, then
when the star's own chain may be done (at most doubling it), at least
``check_every`` steps apart, and at ``max_steps``; by the emcee back end every
``check_every`` steps. A star stops once its chain is >= ``tau_multiple`` (50) times its largest tau
and holds >= ``min_n_eff`` effective samples of log age (the Monte Carlo error
of the median is then ~1.25 sigma / sqrt(n_eff)).
Stars still short at ``max_steps`` get status ``not_converged`` (under a prior that is not flat, too: the chains sample
the likelihood, whose calibrated density the prior multiplies, :mod:`gyroage.core.chain_summary`). Summaries use
the chain after a burn-in of 2 tau. Results depend only on the inputs, the
settings and the seed: every star draws from its own stream, keyed by the seed and its absolute input row
(:class:`gyroage.core.moves.StarDraws`; the move each step takes follows from the seed and the step), and is
checked for convergence on its own schedule, so its chain does
not depend on the stars beside it, the chunk size, the block size or the number of processes.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gyroage.core.autocorr import integrated_time
from gyroage.core.calibration import SAMPLE_GRID, Calibration
from gyroage.core.chain_summary import SUMMARY_STREAM, chain_checks, star_generator, summarise_chain
from gyroage.core.density import FlowDensity, cached_density
from gyroage.core.main_sequence import MainSequenceTerm
from gyroage.core.mcmc_target import LogPosterior, StarInputs
from gyroage.core.moves import IndependenceMove, IndependenceProposal, StarDraws, StretchMove, Walkers, pick, run_key, star_keys
from gyroage.core.posterior import (
    QUANTILES,
    SUMMARY_COLUMNS,
    bounds_are_the_cards,
    flat_over_model_grid,
    summary_myr,
)
from gyroage.core.priors import Prior
from gyroage.core.worker_pool import broken_pool, check_started, die_with_parent, exit_codes, leave_if_starting, start_failed, stop_pool
from gyroage.defaults import AGE_GRID
from gyroage.errors import UserError, whole_number

NDIM = 3
MCMC_COLUMNS = ("mcmc_tau", "mcmc_acceptance", "mcmc_n_eff")
BACKENDS = ("batched", "emcee")
# Steps the batched back end's chain buffer holds at first; it doubles as chains run on, to max_steps.
CHAIN_FIRST_STEPS = 256


@dataclass(frozen=True)
class SamplerSettings:
    """How chains are run; everything that changes a result is in here except ``processes``.

    ``processes > 1`` under the spawn start method (macOS, Windows): each worker imports the calling script, so call
    gyroage from under ``if __name__ == "__main__":`` (without it the run is a one-line UserError saying so).
    """

    n_walkers: int = 16
    check_every: int = 50
    max_steps: int = 2000
    tau_multiple: float = 50.0
    min_n_eff: float = 4000.0  # also required: effective samples of log age (Monte Carlo error of p50)
    stretch_a: float = 2.0
    stretch_weight: float = 0.1  # probability of a stretch step; otherwise an independence step
    n_keep: int = 1000  # posterior samples kept per star for --posteriors
    block: int = 256  # stars advanced together (each star has its own stream: results do not depend on it)
    period_err_floor_dex: float = 1e-3
    colour_err_floor: float = 1e-3  # mag: the colour nuisance term stays samplable when the excess error is 0
    backend: str = "batched"
    processes: int = 1  # worker processes, one onnxruntime session each; results do not depend on it

    def __post_init__(self) -> None:
        # Every field, here where the settings are made: block=0 was a traceback deep in the run (range step 0) and
        # emcee's check_every=0 an AttributeError, while a zero stretch scale or a negative floor ran silently.
        for name in ("n_walkers", "check_every", "max_steps", "n_keep", "block", "processes"):
            whole_number(getattr(self, name), name)
        # in the fields' names; the command line's options in cli_options.estimate_settings
        for bad, rule, value in ((self.n_walkers < 6 or self.n_walkers % 2, "n_walkers must be even and >= 6", self.n_walkers),
                                 (self.max_steps < 50, "max_steps must be >= 50", self.max_steps),
                                 (self.processes < 1, "processes must be >= 1", self.processes)):
            if bad:  # only the field at fault: plot posterior has no --processes to name
                raise UserError(f"{rule}, not {value}")
        if self.backend not in BACKENDS:
            raise UserError(f"unknown sampler backend {self.backend!r} (choose batched or emcee)")
        for name in ("check_every", "n_keep", "block"):
            if getattr(self, name) < 1:
                raise UserError(f"sampler {name} must be >= 1")
        checks = (("tau_multiple", lambda v: v > 0, "> 0"), ("min_n_eff", lambda v: v >= 0, ">= 0"),
                  ("stretch_a", lambda v: v > 1, "> 1"), ("stretch_weight", lambda v: 0 <= v <= 1, "in [0, 1]"),
                  ("period_err_floor_dex", lambda v: v > 0, "> 0"), ("colour_err_floor", lambda v: v > 0, "> 0"))
        for name, good, words in checks:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise TypeError(f"sampler {name} must be a number, not {v!r}")
            if not (math.isfinite(v) and good(v)):
                raise UserError(f"sampler {name} must be finite and {words}, not {v!r}")


@dataclass
class SampleResult:
    """Per-star sampler output: summaries (Myr), diagnostics and kept samples (log10 yr).

    ``outside``: each star's posterior mass outside its trained ages (``StarInputs.trained_lo``/``trained_hi``),
    read from every sample the percentiles come from (or their density, under a prior that is not flat), not the kept; NaN
    where not counted or the star has no posterior. ``few_inside``: the stars whose chains left too few (effective)
    samples within a prior's bounds (:func:`gyroage.core.chain_summary.few_inside`), which take the grid's posterior;
    ``visits``: where their chains went (:func:`gyroage.core.chain_summary.chain_visits`; no columns under a flat prior).
    """

    summaries: dict[str, np.ndarray]
    tau: np.ndarray
    acceptance: np.ndarray
    n_eff: np.ndarray
    converged: np.ndarray
    samples: list[np.ndarray]
    outside: np.ndarray
    few_inside: np.ndarray
    visits: np.ndarray


@dataclass(frozen=True)
class BlockChains:
    """What a back end returns for a block of stars: per-star chains and diagnostics, one type for both back ends."""

    chains: tuple[np.ndarray, ...]  # per star, (steps, walkers, 3) float32; only the first ``steps`` rows are the chain
    steps: np.ndarray  # steps run per star
    tau: np.ndarray  # largest integrated autocorrelation time over the parameters
    tau_x: np.ndarray  # that of log age
    acceptance: np.ndarray
    converged: np.ndarray

    def age_chain(self, i: int) -> np.ndarray:
        """Star ``i``'s log10 age chain, (steps, walkers)."""
        return self.chains[i][: int(self.steps[i]), :, 0]


class _Diagnostics:
    """Per-star diagnostics of a block, filled in as stars stop."""

    def __init__(self, n_s: int) -> None:
        self.tau, self.tau_x, self.acc = np.full(n_s, np.nan), np.full(n_s, np.nan), np.full(n_s, np.nan)
        self.conv, self.steps = np.zeros(n_s, dtype=bool), np.zeros(n_s, dtype=int)

    def result(self, chains) -> BlockChains:
        return BlockChains(tuple(chains), self.steps, self.tau, self.tau_x, self.acc, self.conv)


# Draw slots within a step: the move picked, then each move's own draws (so the two never share numbers)
_PICK_SLOT, _STRETCH_SLOT, _INDEPENDENCE_SLOT = 0, 100, 200


def _run_block_batched(logpost: LogPosterior, settings: SamplerSettings, star_rng) -> BlockChains:
    """Stretch and independence moves over a block of stars; each move is one density call per half.

    ``star_rng.keys``: each star's stream key. The move each step takes follows from the seed and the step alone
    (``star_rng.run_key``), the same for every star, so one density call serves the block and no star's chain
    depends on which stars share it."""
    keys = star_rng.keys
    n_s, n_w = len(logpost.stars), settings.n_walkers
    proposal = IndependenceProposal(logpost)
    moves = (StretchMove(settings.stretch_a, proposal.log_q), IndependenceMove(proposal))
    weights = (settings.stretch_weight, 1.0 - settings.stretch_weight)
    next_check = np.full(n_s, max(settings.check_every, int(settings.min_n_eff / n_w)))
    # The chains' first steps; the buffer doubles as they run on (most stop within a few hundred steps): max_steps
    # up front was 38 GB for 2 stars at --max-steps 100000000, a MemoryError traceback.
    chain = _chain_buffer(None, min(settings.max_steps, CHAIN_FIRST_STEPS), n_s, settings)
    walkers = Walkers.start(proposal, logpost, n_s, n_w, StarDraws(keys, -1))
    diag = _Diagnostics(n_s)
    t = 0
    while walkers.act.size and t < settings.max_steps:
        u = float(StarDraws(star_rng.run_key, t, _PICK_SLOT).uniform(size=(1,))[0])
        move, slot = pick(tuple(zip(moves, (_STRETCH_SLOT, _INDEPENDENCE_SLOT))), weights, u)
        walkers.n_accepted += move.propose(logpost, walkers, StarDraws(keys[walkers.act], t, slot))
        if t == len(chain):  # full: twice as long, at most max_steps (the steps run are copied, so draws are unchanged)
            chain = _chain_buffer(chain[:t], min(settings.max_steps, 2 * t), n_s, settings)
        chain[t, walkers.act] = walkers.coords
        t += 1
        due = (next_check[walkers.act] <= t) | (t == settings.max_steps)
        if due.any():
            _stop_converged(chain, t, walkers, settings, diag, due, next_check)
    return diag.result(chain[:, i] for i in range(n_s))


def _free_memory() -> float | None:
    """Bytes this machine can still give (Linux's MemAvailable, else the free pages); None when it will not say."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024.0
    except OSError:
        pass
    return _pages("SC_AVPHYS_PAGES")


def _pages(name: str) -> float | None:
    """Bytes in sysconf's ``name`` pages; None where the platform has no such name (macOS: no SC_AVPHYS_PAGES)."""
    try:
        pages, size = os.sysconf(name), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):  # no sysconf (Windows), or not this name
        return None
    return float(pages * size) if pages > 0 and size > 0 else None


def _chain_buffer(old: np.ndarray | None, steps: int, n_s: int, settings: SamplerSettings) -> np.ndarray:
    """A (steps, n_s, walkers, 3) float32 chain buffer holding ``old``'s steps first; a buffer beyond the free memory
    is a one-line UserError naming the options (numpy's MemoryError was a traceback, or the kernel killed the run)."""
    n_w = settings.n_walkers
    need, free, what = float(steps) * n_s * n_w * NDIM * 4, _free_memory(), "free"
    if free is None:  # macOS: not said, but no buffer beyond the machine's memory fits (it would swap for hours)
        free, what = _pages("SC_PHYS_PAGES"), "this machine has"
    too_big = free is not None and need > free
    if not too_big:
        try:
            chain = np.empty((steps, n_s, n_w, NDIM), dtype=np.float32)
        except MemoryError:
            too_big = True
    if too_big:
        have = "" if free is None else f", more than the {free / 1e9:.1f} GB {what}"
        # the first buffer is a few hundred steps: only fewer walkers help; a buffer growing, fewer steps too
        steps_too = "" if old is None else f" or --max-steps ({settings.max_steps})"
        raise UserError(f"MCMC chains of {n_s} star{'s' if n_s != 1 else ''} x {n_w} walkers x {steps} steps need "
                        f"{need / 1e9:.1f} GB{have}: lower --walkers ({n_w}){steps_too}")
    if old is not None:
        chain[: len(old)] = old
    return chain


def _stop_converged(chain: np.ndarray, t: int, walkers: Walkers, settings: SamplerSettings,
                    diag: _Diagnostics, due: np.ndarray, next_check: np.ndarray) -> None:
    """Check the active stars ``due`` after ``t`` steps: record and drop those that are done, and set the others'
    ``next_check`` from their own chains (never from their neighbours', so a star's chain is its own)."""
    act = walkers.act[due]
    tau = integrated_time(chain[:t, act])
    tau_max = np.max(tau, axis=1)
    conv = np.isfinite(tau_max) & (t >= settings.tau_multiple * tau_max)
    # enough steps for both rules, the effective samples counted after the burn-in _finish drops (2 tau)
    need = np.maximum(settings.tau_multiple * tau_max,
                      settings.min_n_eff * np.maximum(tau[:, 0], 1.0) / settings.n_walkers + np.ceil(2 * tau_max))
    enough = conv & (t >= need)
    done = enough | (t == settings.max_steps)
    # Next look when this star may be done (the FFT over long chains is not free), at most doubling its chain.
    ahead = np.where(np.isfinite(need), need, t)
    next_check[act] = t + np.maximum(settings.check_every, np.minimum(ahead - t, t).astype(int))
    i = act[done]
    diag.tau[i], diag.tau_x[i], diag.conv[i] = tau_max[done], tau[done, 0], enough[done]
    diag.steps[i] = t
    diag.acc[i] = walkers.n_accepted[due][done].mean(axis=1) / t
    stop = np.zeros(walkers.act.size, dtype=bool)
    stop[np.flatnonzero(due)[done]] = True
    walkers.keep(~stop)


def _finish(run: BlockChains, settings: SamplerSettings, star_rng,
            calibration: Calibration | None = None, bounds: tuple[float, float] = (6.0, 10.0),
            colours: np.ndarray | None = None, main_sequence_calibration: Calibration | None = None,
            informed: np.ndarray | None = None, log_prior: Callable[[int], Callable[[np.ndarray], np.ndarray]] | None = None,
            trained: tuple[np.ndarray, np.ndarray] | None = None, kernel_bounds=None) -> SampleResult:
    """Summaries from the stored chains (burn-in 2 tau, at most half the chain); ``colours``: the
    stars' (BP-RP)0, for a calibration whose widths depend on colour; the stars the height term ``informed``
    take ``main_sequence_calibration`` (when given), as in the grid method. ``log_prior(i)``: star i's log prior
    (None for the flat default), which the calibration must not widen. ``star_rng(i, k)``: star i's generator k.
    ``trained``: the stars' lowest and highest trained log10 ages, for :attr:`SampleResult.outside` (None: NaN);
    ``kernel_bounds`` the ages the calibration moves samples over (None: ``bounds``, the prior's)."""
    n_s = len(run.steps)
    qs = np.full((n_s, len(QUANTILES)), np.nan)
    modes = np.full(n_s, np.nan)
    neff = np.full(n_s, np.nan)
    outside, few, behind = np.full(n_s, np.nan), np.zeros(n_s, dtype=bool), np.full(n_s, np.inf)
    visits = np.zeros((n_s, 0 if log_prior is None else SAMPLE_GRID))
    samples = []
    for i in range(n_s):  # per star, but only quantiles of a finished chain: no density calls here
        t, tau, c = int(run.steps[i]), run.tau[i], None if colours is None else float(colours[i])
        burn = int(min(t // 2, np.ceil(2 * tau))) if np.isfinite(tau) else t // 2
        cx = run.age_chain(i)
        cal = main_sequence_calibration if (main_sequence_calibration is not None and informed is not None
                                            and informed[i]) else calibration
        lp = None if log_prior is None else log_prior(i)
        if lp is not None:  # the likelihood's chain: enough samples behind the posterior, where they went, its histogram
            few[i], visits[i], behind[i], binned = chain_checks(cx, burn, bounds, lp, cal, c, kernel_bounds)
        q, mode, keep, outside[i] = summarise_chain(cx, burn, settings.n_keep, star_rng(i, SUMMARY_STREAM), cal, bounds, c, lp,
                                                        None if trained is None else (trained[0][i], trained[1][i]),
                                                        kernel_bounds, None if lp is None else binned)
        qs[i], modes[i] = q, mode
        tx = run.tau_x[i]
        neff[i] = cx.shape[1] * (t - burn) / max(tx, 1.0) if np.isfinite(tx) else np.nan
        samples.append(keep.astype(np.float32))
    # converged: long enough in tau and holding the effective samples the summaries are quoted from. Under a prior
    # that is not flat that is the likelihood's chain too: the prior no longer weights its samples (a rule on the
    # weights' Kish fraction left stars not_converged that no --max-steps cured, V22), it multiplies their density
    converged = run.converged & (neff >= settings.min_n_eff)
    # mcmc_n_eff: under such a prior the fewer of the chain's and those behind the percentiles (V32; inf: a flat prior)
    return SampleResult(summary_myr(qs, modes), run.tau, run.acceptance, np.minimum(neff, behind), converged, samples,
                        outside, few, visits)


def _run_block_emcee(logpost: LogPosterior, settings: SamplerSettings, star_rng) -> BlockChains:
    """Reference back end: one emcee EnsembleSampler (vectorize=True) per star, same moves, its own generator."""
    n_s = len(logpost.stars)
    independence = IndependenceMove(IndependenceProposal(logpost))
    diag = _Diagnostics(n_s)
    chains = [_run_star_emcee(logpost, settings, independence, k, star_rng(k, 0), diag) for k in range(n_s)]
    return diag.result(chains)


def _run_star_emcee(logpost: LogPosterior, settings: SamplerSettings, independence: IndependenceMove, k: int,
                    rng: np.random.Generator, diag: _Diagnostics) -> np.ndarray:
    """Star ``k``'s chain from its own emcee sampler, checked every ``check_every`` steps; fills ``diag``."""
    import emcee

    one, n_w = np.array([k]), settings.n_walkers
    moves = [(emcee.moves.StretchMove(a=settings.stretch_a), settings.stretch_weight),
             (emcee.moves.MHMove(independence.emcee_proposal(k)), 1.0 - settings.stretch_weight)]
    sampler = emcee.EnsembleSampler(n_w, NDIM, lambda th: logpost(th[None], one)[0], vectorize=True, moves=moves)
    sampler.random_state = np.random.RandomState(int(rng.integers(2**31))).get_state()
    state = independence.proposal.draw(rng, one, n_w)[0]
    t = 0
    while t < settings.max_steps:
        run = min(settings.check_every, settings.max_steps - t)  # the last run stops at max_steps, not past it
        state = sampler.run_mcmc(state, run, progress=False)
        t += run
        with np.errstate(invalid="ignore", divide="ignore"):  # a chain without variance yet: tau NaN, not ok
            tau = emcee.autocorr.integrated_time(sampler.get_chain(), tol=0)
        ok = bool(np.all(np.isfinite(tau)) and t >= settings.tau_multiple * tau.max())
        diag.conv[k] = ok
        # the effective samples counted after the burn-in _finish drops (2 tau), as the batched back end counts them
        burn = int(min(t // 2, np.ceil(2 * tau.max()))) if ok else 0
        if ok and n_w * (t - burn) / max(tau[0], 1.0) >= settings.min_n_eff:
            break
    diag.tau[k], diag.tau_x[k], diag.steps[k] = tau.max(), tau[0], t
    diag.acc[k] = float(np.mean(sampler.acceptance_fraction))
    return sampler.get_chain().astype(np.float32)


def sample_stars(density: FlowDensity, prior: Prior, stars: StarInputs, settings: SamplerSettings | None = None,
                 seed: int = 0, outlier_weight: float | None = None, calibration: Calibration | None = None,
                 on_block: Callable[[int], None] | None = None, main_sequence: MainSequenceTerm | None = None,
                 main_sequence_calibration: Calibration | None = None, n_grid: int = AGE_GRID[2],
                 rows: np.ndarray | None = None, flat: bool | None = None) -> SampleResult:
    """MCMC age posteriors for many stars (see the module docstring for the model).

    ``rows``: each star's absolute input row (default 0..n-1), which with ``seed`` keys the star's random stream,
    so results do not depend on how the catalogue is cut into chunks, on ``settings.block`` or on
    ``settings.processes``. Stars are split into blocks of ``settings.block``; with ``processes > 1`` blocks
    run in worker processes, each with its own onnxruntime session. ``on_block(n_stars)`` is
    called in this process with the size of each block as it finishes (in
    finishing order with processes), e.g. to report progress; it cannot change results.
    ``main_sequence``: the height term, for stars with ``stars.abs_g``; the stars it informs take
    ``main_sequence_calibration`` (when given) instead of ``calibration``. ``n_grid``: the grid method's number of
    ages, on which a prior is judged flat as there (:func:`gyroage.core.posterior.flat_over_model_grid`; ``flat``: that
    answer if known), once for all stars (per block, flat per-star priors beside others gave a concatenation traceback)."""
    ms, settings = (main_sequence, main_sequence_calibration), settings or SamplerSettings()
    if flat is None:
        flat = flat_over_model_grid(prior, density.card.age_grid, n_grid, stars.prior_mean, stars.prior_sigma)
    n = len(stars)
    rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    if rows.shape != (n,) or (n and rows.min() < 0):
        raise ValueError("rows must give one input row >= 0 per star")
    jobs = [np.arange(i, min(i + settings.block, n)) for i in range(0, n, settings.block)]
    done = on_block or (lambda n_stars: None)
    if settings.processes > 1 and len(jobs) > 1:
        leave_if_starting()  # a spawned worker importing a script that calls this at its top level
        # Imported here: multiprocessing would otherwise load with every `gyroage estimate`.
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        # Each worker loads the model once, single-threaded, through the session cache of gyroage.core.density.
        model = (str(density.onnx_path), 1, density.batch, False)  # cached_density(model, threads, batch, check)
        import multiprocessing

        # the workers are the run's own children, forked (Linux's default before Python 3.14, which defaults to a fork
        # server: a server's workers outlive a killed run, its children, not the run's): they die with the run
        ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)
        pool = ProcessPoolExecutor(settings.processes, mp_context=ctx, initializer=_worker_start,
                                   initargs=(os.getpid(), model))
        try:
            futures = {pool.submit(_worker_run, (model, prior, stars.take(idx), settings, seed, rows[idx],
                                                 outlier_weight, calibration, ms, flat)): len(idx) for idx in jobs}
            for f in as_completed(futures):
                f.result()  # a failed block stops the run here, as pool.map did
                done(futures[f])
            parts = [f.result() for f in futures]  # dicts keep insertion order: block order
        except BrokenProcessPool:  # a worker gone: killed, or (spawned) importing a script without a __main__ guard
            codes = exit_codes(pool)
            stop_pool(pool)
            raise broken_pool(ctx.get_start_method(allow_none=True), codes) from None
        except BaseException:  # Ctrl-C, SIGTERM, a failed block: the pending blocks would all be computed first
            stop_pool(pool)
            raise
        pool.shutdown()
    else:
        parts = []
        for idx in jobs:
            parts.append(_run_blocks(density, prior, stars.take(idx), settings, seed, rows[idx], outlier_weight,
                                     calibration, ms, flat))
            done(len(idx))
    return _concat(parts, n)


class _StarRandom:
    """Each star's randomness: ``keys`` for the batched moves' counter-based draws, and ``(i, k)`` -> a numpy
    Generator of star ``i`` (k = 0: the emcee back end's chain; 1: the summaries' draws), both keyed by the seed
    and the star's absolute input row."""

    def __init__(self, seed: int, rows: np.ndarray) -> None:
        self.seed, self.rows = int(seed), np.asarray(rows, dtype=np.int64)
        self.keys, self.run_key = star_keys(seed, self.rows), run_key(seed)

    def __call__(self, i: int, k: int) -> np.random.Generator:
        return star_generator(self.seed, self.rows[i], k)


def _run_blocks(density, prior, stars, settings, seed, rows, outlier_weight, calibration, main_sequence,
                flat: bool) -> SampleResult:
    star_rng = _StarRandom(seed, rows)
    term, term_calibration = main_sequence
    # A calibration widens the likelihood, not the prior (as in the grid method): under a prior not flat over the model's
    # grid (judged on a grid: a constant table is flat; bounds inside it are not) chains sample the likelihood (summarise_chain).
    bounds, g = (prior.log10_age_min, prior.log10_age_max), density.card.age_grid
    inside = not bounds_are_the_cards(prior, g)  # cut there, a 100 d M dwarf at 2.6 mag came out 70 Myr under 1 Gyr
    kernel_bounds = (float(g["log10_age_min"]), float(g["log10_age_max"])) if inside else bounds
    apart = (calibration is not None or term_calibration is not None) and not flat
    chain_prior = Prior("uniform_log_age", *kernel_bounds) if apart else prior
    logpost = LogPosterior(density, chain_prior, stars, outlier_weight, term)
    informed = term.informs(stars.bp_rp0, stars.abs_g, stars.abs_g_err) if logpost.main_sequence is not None else None
    run = _run_block_emcee if settings.backend == "emcee" else _run_block_batched
    return _finish(run(logpost, settings, star_rng), settings, star_rng, calibration, bounds,
                   stars.bp_rp0, term_calibration, informed, star_log_prior(prior, stars) if apart else None,
                   None if stars.trained_lo is None else (stars.trained_lo, stars.trained_hi), kernel_bounds)


def star_log_prior(prior: Prior, stars: StarInputs) -> Callable[[int], Callable[[np.ndarray], np.ndarray]]:
    """Star i's log prior as a function of log10 age, to weight its likelihood samples."""
    mean, sigma = stars.prior_mean, stars.prior_sigma
    return lambda i: (lambda x: prior.log_prob(x, None if mean is None else mean[i], None if sigma is None else sigma[i]))


def _worker_start(parent: int, model: tuple) -> None:
    """A pool worker's start: die with the run's process (:func:`gyroage.core.worker_pool.die_with_parent`), then load
    the model once (an error kept for its first block to raise: a raised one breaks the pool, said as killed)."""
    die_with_parent(parent)
    with start_failed():
        cached_density(*model)


def _worker_run(args) -> SampleResult:
    check_started()
    model, prior, stars, settings, seed, rows, w, calibration, main_sequence, flat = args
    return _run_blocks(cached_density(*model), prior, stars, settings, seed, rows, w, calibration, main_sequence, flat)


def _concat(parts: list[SampleResult], n: int) -> SampleResult:
    if not parts:
        empty = np.zeros(0)
        return SampleResult({k: empty for k in SUMMARY_COLUMNS}, empty, empty, empty, np.zeros(0, bool), [], empty,
                            np.zeros(0, bool), np.zeros((0, 0)))
    cat = lambda f: np.concatenate([getattr(p, f) for p in parts])  # noqa: E731
    return SampleResult({k: np.concatenate([p.summaries[k] for p in parts]) for k in SUMMARY_COLUMNS},
                        cat("tau"), cat("acceptance"), cat("n_eff"), cat("converged"),
                        [s for p in parts for s in p.samples], cat("outside"), cat("few_inside"), cat("visits"))
