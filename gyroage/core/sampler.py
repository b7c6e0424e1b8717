"""MCMC age posteriors with measurement uncertainties (emcee's affine-invariant ensemble sampler).

Parameters per star: theta = (x, c, y) with x = log10 age [yr], c the true
(BP-RP)0 and y the true log10 period [days]. The log posterior is

    log p(theta) = log prior(x)
                 + log [(1 - w) f(y | x, c, s0) + w u]          (flow + outlier mixture)
                 + log N(c_obs | c, sigma_c)                     (colour error)
                 + log N(y_obs | y, sigma_y)                     (period error)

with f the ONNX flow density, s0 the smallest colour error the flow was trained
on (the true colour is known exactly; the colour error enters through the
nuisance term instead) and sigma_y = prot_err / (prot ln 10) dex, floored at
``period_err_floor_dex`` so a zero error stays samplable. With an extinction
column E(BP-RP) (the reddening used to de-redden the colour) and its
uncertainty sigma_E, the colour term becomes the Gaussian noise convolved with
a Gaussian reddening error truncated at E >= 0, marginalised analytically:

    log N(d | 0, s) + log Phi((mu + E) / t) - log Phi(E / sigma_E),
    d = c_obs - c, s^2 = sigma_c^2 + sigma_E^2, mu = d sigma_E^2 / s^2, t = sigma_c sigma_E / s.

Moves: emcee's stretch move (Goodman & Weare 2010; weight ``stretch_weight``,
10%) mixed with an independence Metropolis-Hastings move whose proposal is
close to the posterior (:class:`IndependenceProposal`), as emcee mixes moves:
one move, drawn by weight, per step. Two back ends run the same moves:

* ``batched`` (default): vectorised over a block of stars, so each move (each
  half of a stretch move) is ONE onnxruntime call for all walkers of all stars
  in the block (stars are independent ensembles; converged stars drop out).
* ``emcee``: one ``emcee.EnsembleSampler(vectorize=True)`` per star with
  ``StretchMove`` and an ``MHMove``; slower, kept as the reference.

Convergence: the integrated autocorrelation time tau (emcee's estimator,
Sokal window c = 5) of every parameter is checked every ``check_every`` steps;
a star stops once its chain is >= ``tau_multiple`` (50) times its largest tau
and holds >= ``min_n_eff`` effective samples of log age (the Monte Carlo error
of the median is then ~1.25 sigma / sqrt(n_eff)).
Stars still short at ``max_steps`` get status ``not_converged``. Summaries use
the chain after a burn-in of 2 tau. Results depend only on the inputs, the
settings and the seed (each block of stars has its own seeded stream).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gyroage.density import FlowDensity
from gyroage.posterior import QUANTILES, SUMMARY_COLUMNS, grid_posterior, summary_myr
from gyroage.priors import Prior

NDIM = 3
MCMC_COLUMNS = ("mcmc_tau", "mcmc_acceptance", "mcmc_n_eff")


@dataclass(frozen=True)
class SamplerSettings:
    """How chains are run; everything that changes a result is in here except ``processes``."""

    n_walkers: int = 16
    check_every: int = 50
    max_steps: int = 2000
    tau_multiple: float = 50.0
    min_n_eff: float = 4000.0  # also required: effective samples of log age (Monte Carlo error of p50)
    stretch_a: float = 2.0
    stretch_weight: float = 0.1  # probability of a stretch step; otherwise an independence step
    n_keep: int = 1000  # posterior samples kept per star for --posteriors
    block: int = 256  # stars advanced together (one seeded stream per block)
    period_err_floor_dex: float = 1e-3
    backend: str = "batched"
    processes: int = 1  # worker processes, one onnxruntime session each; results do not depend on it


@dataclass
class StarInputs:
    """Per-star arrays for the sampler (all length n)."""

    log10_prot: np.ndarray
    log10_prot_err: np.ndarray
    bp_rp0: np.ndarray
    bp_rp0_err: np.ndarray
    ebprp: np.ndarray | None = None
    ebprp_err: np.ndarray | None = None
    prior_mean: np.ndarray | None = None
    prior_sigma: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.log10_prot)

    def take(self, idx) -> StarInputs:
        return StarInputs(*(None if v is None else np.asarray(v)[idx] for v in
                            (getattr(self, f) for f in self.__dataclass_fields__)))


@dataclass
class SampleResult:
    """Per-star sampler output: summaries (Myr), diagnostics and kept samples (log10 yr)."""

    summaries: dict[str, np.ndarray]
    tau: np.ndarray
    acceptance: np.ndarray
    n_eff: np.ndarray
    converged: np.ndarray
    samples: list[np.ndarray]


def _colour_log_like(c_true, c_obs, sig_c, ebprp, ebprp_err):
    """Colour measurement term (with the optional truncated-Gaussian reddening error)."""
    d = c_obs - c_true
    if ebprp is None:
        return -0.5 * (d / sig_c) ** 2
    from scipy.special import log_ndtr  # only needed with an extinction column

    e = np.where(np.isfinite(ebprp), ebprp, 0.0)
    se = np.where(np.isfinite(ebprp_err) & (ebprp_err > 0), ebprp_err, 0.0)
    plain = -0.5 * (d / sig_c) ** 2
    s2 = sig_c**2 + se**2
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = d * se**2 / s2
        t = sig_c * se / np.sqrt(s2)
        conv = -0.5 * d**2 / s2 - 0.5 * np.log(s2 / sig_c**2) + log_ndtr((mu + e) / t) - log_ndtr(e / se)
    return np.where(se > 0, conv, plain)


class LogPosterior:
    """log p(theta) for many stars at once; ``theta`` is (stars, walkers, 3)."""

    def __init__(self, density: FlowDensity, prior: Prior, stars: StarInputs, outlier_weight: float | None = None):
        self.density, self.prior, self.stars, self.w = density, prior, stars, outlier_weight
        dom = density.card.domain
        self.s0 = float(dom["bp_rp0_err"][0])
        self.c_lo, self.c_hi = dom["bp_rp0"]
        self.y_lo, self.y_hi = dom["log10_prot"]

    def __call__(self, theta: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        s = self.stars if idx is None else self.stars.take(idx)
        col = lambda a: None if a is None else np.asarray(a)[:, None]  # noqa: E731
        x, c, y = theta[..., 0], theta[..., 1], theta[..., 2]
        lp = self.prior.log_prob(x, col(s.prior_mean), col(s.prior_sigma))
        lp = lp + _colour_log_like(c, col(s.bp_rp0), col(s.bp_rp0_err), col(s.ebprp), col(s.ebprp_err))
        lp = lp - 0.5 * ((y - col(s.log10_prot)) / col(s.log10_prot_err)) ** 2
        inside = np.isfinite(lp) & (c >= self.c_lo) & (c <= self.c_hi) & (y >= self.y_lo) & (y <= self.y_hi)
        out = np.full(x.shape, -np.inf)
        if inside.any():
            lf = self.density.log_prob(y[inside], x[inside], c[inside], self.s0, outlier_weight=self.w)
            out[inside] = lp[inside] + lf
        return out


def integrated_time(chain: np.ndarray, c: float = 5.0) -> np.ndarray:
    """emcee's integrated autocorrelation time, vectorised over stars.

    ``chain`` is (steps, stars, walkers, ndim); returns (stars, ndim). Matches
    ``emcee.autocorr.integrated_time`` (walker-averaged autocorrelation,
    Sokal's automatic window) star by star; NaN where a chain has no variance.
    """
    n_t = chain.shape[0]
    n = 1 << int(np.ceil(np.log2(max(n_t, 2))))
    out = np.empty(chain.shape[1:2] + chain.shape[3:])
    step = max(1, 2_000_000 // max(1, 2 * n * chain.shape[2] * chain.shape[3]))  # bound FFT memory
    for i in range(0, chain.shape[1], step):
        x = np.asarray(chain[:, i : i + step], dtype=np.float64)
        x = x - x.mean(axis=0, keepdims=True)
        f = np.fft.rfft(x, n=2 * n, axis=0)
        acf = np.fft.irfft(f * np.conjugate(f), axis=0)[:n_t]
        with np.errstate(invalid="ignore", divide="ignore"):
            acf = acf / acf[:1]
        rho = acf.mean(axis=2)  # average over walkers: (steps, stars, ndim)
        taus = 2.0 * np.cumsum(rho, axis=0) - 1.0
        m = np.arange(n_t)[:, None, None] < c * taus
        window = np.where(m.all(axis=0), n_t - 1, np.argmin(m, axis=0))
        out[i : i + step] = np.take_along_axis(taus, window[None], axis=0)[0]
    return out


class IndependenceProposal:
    """An independence Metropolis-Hastings proposal per star, close to the posterior.

    x from a coarse grid posterior (81 points, histogram bins) mixed with 10%
    uniform over the prior bounds (heavy coverage), c and y from Gaussians
    1.2 times wider than their measurement terms. Because it nearly matches
    the target, walkers decorrelate in a few steps; the stretch move handles
    what it misses (e.g. strong age-colour correlations when colour errors are
    large). Vectorised over stars: arrays are (stars, walkers, 3).
    """

    UNIFORM = 0.1
    WIDEN = 1.2

    def __init__(self, logpost: LogPosterior, n_grid: int = 81) -> None:
        s, prior = logpost.stars, logpost.prior
        # refine_tol=None: 81 points cost little next to the chains, and the exact pdf keeps
        # the proposal (hence every chain) independent of the refinement tolerance.
        post = grid_posterior(logpost.density, s.log10_prot, s.bp_rp0, s.bp_rp0_err, prior, n_grid, logpost.w,
                              s.prior_mean, s.prior_sigma, refine_tol=None)
        self.edges = post.grid
        pdf = np.where(np.isfinite(post.pdf), post.pdf, 0.0)
        mass = 0.5 * (pdf[:, 1:] + pdf[:, :-1])
        tot = mass.sum(axis=1, keepdims=True)
        mass = np.where(tot > 0, mass / np.where(tot > 0, tot, 1.0), 1.0 / mass.shape[1])
        self.mass = (1 - self.UNIFORM) * mass + self.UNIFORM / mass.shape[1]
        self.cum = np.cumsum(self.mass, axis=1)
        self.cum[:, -1] = 1.0
        self.dx = self.edges[1] - self.edges[0]
        self.log_bin_density = np.log(self.mass / self.dx)
        se = np.zeros_like(s.bp_rp0_err) if s.ebprp_err is None else np.nan_to_num(s.ebprp_err)
        self.c_mu, self.c_sd = s.bp_rp0, self.WIDEN * np.sqrt(s.bp_rp0_err**2 + se**2)
        self.y_mu, self.y_sd = s.log10_prot, self.WIDEN * s.log10_prot_err

    def draw(self, rng: np.random.Generator, act: np.ndarray, n_walkers: int) -> np.ndarray:
        u = rng.uniform(size=(len(act), n_walkers))
        j = (self.cum[act][:, None, :] < u[..., None]).sum(axis=2).clip(0, self.mass.shape[1] - 1)
        x = self.edges[j] + rng.uniform(size=j.shape) * self.dx
        c = self.c_mu[act, None] + self.c_sd[act, None] * rng.standard_normal(x.shape)
        y = self.y_mu[act, None] + self.y_sd[act, None] * rng.standard_normal(x.shape)
        return np.stack([x, c, y], axis=-1)

    def log_q(self, theta: np.ndarray, act: np.ndarray) -> np.ndarray:
        x, c, y = theta[..., 0], theta[..., 1], theta[..., 2]
        j = np.clip(np.floor((x - self.edges[0]) / self.dx).astype(int), 0, self.mass.shape[1] - 1)
        lx = np.take_along_axis(self.log_bin_density[act], j, axis=1)
        lc = -0.5 * ((c - self.c_mu[act, None]) / self.c_sd[act, None]) ** 2 - np.log(self.c_sd[act, None])
        ly = -0.5 * ((y - self.y_mu[act, None]) / self.y_sd[act, None]) ** 2 - np.log(self.y_sd[act, None])
        return lx + lc + ly


def _summarise(chain_x: np.ndarray, burn: int, n_keep: int, rng: np.random.Generator):
    """Quantiles/MAP (log10 yr) of one star's age chain (steps, walkers) after ``burn`` steps."""
    flat = chain_x[burn:].reshape(-1)
    q = np.quantile(flat, QUANTILES)
    hist, edges = np.histogram(flat, bins=max(10, min(60, int(np.sqrt(flat.size) / 2))))
    k = int(np.argmax(hist))
    mode = 0.5 * (edges[k] + edges[k + 1])
    keep = flat if flat.size <= n_keep else rng.choice(flat, n_keep, replace=False)
    return q, mode, keep


def _run_block_batched(logpost: LogPosterior, settings: SamplerSettings, rng: np.random.Generator) -> dict:
    """Stretch and independence moves over a block of stars; each move is one density call per half."""
    n_s, n_w, a = len(logpost.stars), settings.n_walkers, settings.stretch_a
    half = n_w // 2
    prop = IndependenceProposal(logpost)
    act = np.arange(n_s)  # stars of the block still running
    X = prop.draw(rng, act, n_w)
    lp = logpost(X, act)
    lq = prop.log_q(X, act)  # proposal density of the current walkers, kept in step with X
    chain = np.empty((settings.max_steps, n_s, n_w, NDIM), dtype=np.float32)
    n_acc = np.zeros((n_s, n_w))  # accepted moves of the active stars, compacted with X
    res = {k: np.full(n_s, np.nan) for k in ("tau", "tau_x", "acc")}
    res["conv"] = np.zeros(n_s, dtype=bool)
    res["steps"] = np.zeros(n_s, dtype=int)
    t = 0
    next_check = max(settings.check_every, int(settings.min_n_eff / n_w))
    halves = (np.arange(n_w) < half, np.arange(n_w) >= half)
    while act.size and t < settings.max_steps:
        if rng.uniform() < settings.stretch_weight:  # emcee picks one move per step by weight
            for first in halves:
                s_, c_ = X[:, first], X[:, ~first]
                z = ((a - 1.0) * rng.uniform(size=s_.shape[:2]) + 1.0) ** 2 / a
                r = rng.integers(c_.shape[1], size=s_.shape[:2])
                partner = np.take_along_axis(c_, r[..., None], axis=1)
                q = partner - (partner - s_) * z[..., None]
                new = logpost(q, act)
                lpf = lp[:, first]
                with np.errstate(invalid="ignore"):
                    ok = (NDIM - 1.0) * np.log(z) + new - lpf > np.log(rng.uniform(size=z.shape))
                s_[ok] = q[ok]
                lpf[ok] = new[ok]
                X[:, first], lp[:, first] = s_, lpf
                n_acc[:, first] += ok
            lq = prop.log_q(X, act)
        else:
            q = prop.draw(rng, act, n_w)
            new = logpost(q, act)
            lq_new = prop.log_q(q, act)
            with np.errstate(invalid="ignore"):
                ok = new - lp + lq - lq_new > np.log(rng.uniform(size=lp.shape))
            X[ok], lp[ok], lq[ok] = q[ok], new[ok], lq_new[ok]
            n_acc += ok
        chain[t, act] = X
        t += 1
        if t >= next_check or t == settings.max_steps:
            tau = integrated_time(chain[:t, act])
            tau_max = np.max(tau, axis=1)
            conv = np.isfinite(tau_max) & (t >= settings.tau_multiple * tau_max)
            need = np.maximum(settings.tau_multiple * tau_max, settings.min_n_eff * np.maximum(tau[:, 0], 1.0) / n_w)
            done = (conv & (t >= need)) | (t == settings.max_steps)
            # Next look when the quickest remaining star may be done (the FFT over long chains is not free).
            pending = need[~done]
            ahead = np.nanmin(pending) if pending.size and np.isfinite(pending).any() else t
            next_check = t + max(settings.check_every, int(min(ahead - t, t)))
            i = act[done]
            res["tau"][i], res["tau_x"][i], res["conv"][i] = tau_max[done], tau[done, 0], conv[done]
            res["steps"][i] = t
            res["acc"][i] = n_acc[done].mean(axis=1) / t
            keep = ~done
            act, X, lp, lq, n_acc = act[keep], X[keep], lp[keep], lq[keep], n_acc[keep]
    res["chain"] = chain
    return res


def _finish(res: dict, n_s: int, settings: SamplerSettings, rng: np.random.Generator) -> SampleResult:
    """Summaries from the stored chains (burn-in 2 tau, at most half the chain)."""
    qs = np.full((n_s, len(QUANTILES)), np.nan)
    modes = np.full(n_s, np.nan)
    neff = np.full(n_s, np.nan)
    samples = []
    for i in range(n_s):  # per star, but only quantiles of a finished chain: no density calls here
        t = int(res["steps"][i])
        tau = res["tau"][i]
        burn = int(min(t // 2, np.ceil(2 * tau))) if np.isfinite(tau) else t // 2
        cx = res["chain"][i][:t, :, 0] if isinstance(res["chain"], list) else res["chain"][:t, i, :, 0]
        q, mode, keep = _summarise(cx, burn, settings.n_keep, rng)
        qs[i], modes[i] = q, mode
        tx = res["tau_x"][i]
        neff[i] = cx.shape[1] * (t - burn) / max(tx, 1.0) if np.isfinite(tx) else np.nan
        samples.append(keep.astype(np.float32))
    return SampleResult(summary_myr(qs, modes), res["tau"], res["acc"], neff, res["conv"], samples)


def _run_block_emcee(logpost: LogPosterior, settings: SamplerSettings, rng: np.random.Generator) -> dict:
    """Reference back end: one emcee EnsembleSampler (vectorize=True) per star, same moves."""
    import emcee

    n_s, n_w = len(logpost.stars), settings.n_walkers
    prop = IndependenceProposal(logpost)
    res = {k: np.full(n_s, np.nan) for k in ("tau", "tau_x", "acc")}
    res["conv"] = np.zeros(n_s, dtype=bool)
    res["steps"] = np.zeros(n_s, dtype=int)
    chains = []
    for k in range(n_s):  # reference path: one sampler per star
        one = np.array([k])

        def fn(th, one=one):
            return logpost(th[None], one)[0]

        def independence(coords, random, one=one):
            q = prop.draw(np.random.default_rng(random.randint(2**31)), one, len(coords))
            return q[0], prop.log_q(coords[None], one)[0] - prop.log_q(q, one)[0]

        moves = [(emcee.moves.StretchMove(a=settings.stretch_a), settings.stretch_weight),
                 (emcee.moves.MHMove(independence), 1.0 - settings.stretch_weight)]
        sampler = emcee.EnsembleSampler(n_w, NDIM, fn, vectorize=True, moves=moves)
        sampler.random_state = np.random.RandomState(int(rng.integers(2**31))).get_state()
        state = prop.draw(rng, one, n_w)[0]
        t = 0
        while t < settings.max_steps:
            state = sampler.run_mcmc(state, settings.check_every, progress=False)
            t += settings.check_every
            tau = emcee.autocorr.integrated_time(sampler.get_chain(), tol=0)
            ok = bool(np.all(np.isfinite(tau)) and t >= settings.tau_multiple * tau.max())
            res["conv"][k] = ok
            if ok and n_w * t / max(tau[0], 1.0) >= settings.min_n_eff:
                break
        res["tau"][k], res["tau_x"][k], res["steps"][k] = tau.max(), tau[0], t
        res["acc"][k] = float(np.mean(sampler.acceptance_fraction))
        chains.append(sampler.get_chain().astype(np.float32))
    res["chain"] = chains
    return res


def sample_stars(density: FlowDensity, prior: Prior, stars: StarInputs, settings: SamplerSettings | None = None,
                 seed: int = 0, outlier_weight: float | None = None) -> SampleResult:
    """MCMC age posteriors for many stars (see the module docstring for the model).

    Stars are split into blocks of ``settings.block``; block b uses the random
    stream ``SeedSequence([seed, b])``, so results do not depend on
    ``settings.processes``. With ``processes > 1`` blocks run in worker
    processes, each with its own onnxruntime session.
    """
    settings = settings or SamplerSettings()
    n = len(stars)
    blocks = [np.arange(i, min(i + settings.block, n)) for i in range(0, n, settings.block)]
    jobs = list(enumerate(blocks))
    if settings.processes > 1 and len(jobs) > 1:
        # Imported here: multiprocessing would otherwise load with every `gyroage estimate`.
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(settings.processes, initializer=_worker_init,
                                 initargs=(str(density.onnx_path), density.batch)) as pool:
            parts = list(pool.map(_worker_run, [(prior, stars.take(idx), settings, seed, b, outlier_weight)
                                                for b, idx in jobs]))
    else:
        parts = [_run_blocks(density, prior, stars.take(idx), settings, seed, b, outlier_weight) for b, idx in jobs]
    return _concat(parts, n)


def _run_blocks(density, prior, stars, settings, seed, block_id, outlier_weight) -> SampleResult:
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(block_id)]))
    logpost = LogPosterior(density, prior, stars, outlier_weight)
    run = _run_block_emcee if settings.backend == "emcee" else _run_block_batched
    res = run(logpost, settings, rng)
    return _finish(res, len(stars), settings, rng)


_WORKER: dict = {}


def _worker_init(onnx_path: str, batch: int) -> None:
    _WORKER["density"] = FlowDensity(onnx_path, threads=1, batch=batch, check=False)


def _worker_run(args) -> SampleResult:
    prior, stars, settings, seed, block_id, w = args
    return _run_blocks(_WORKER["density"], prior, stars, settings, seed, block_id, w)


def _concat(parts: list[SampleResult], n: int) -> SampleResult:
    if not parts:
        empty = np.zeros(0)
        return SampleResult({k: empty for k in SUMMARY_COLUMNS}, empty, empty, empty, np.zeros(0, bool), [])
    cat = lambda f: np.concatenate([getattr(p, f) for p in parts])  # noqa: E731
    return SampleResult({k: np.concatenate([p.summaries[k] for p in parts]) for k in SUMMARY_COLUMNS},
                        cat("tau"), cat("acceptance"), cat("n_eff"), cat("converged"),
                        [s for p in parts for s in p.samples])
