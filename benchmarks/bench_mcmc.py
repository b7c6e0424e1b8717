"""Per-star cost of `--method mcmc` at convergence next to the grid path; writes docs/bench_mcmc.md.

One onnxruntime thread, one process (= one core) unless --processes is given.
Stars: catalogue stars (quality selection, in the colour domain) or, without the
catalogue, synthetic stars drawn from the model.

Run: PYTHONPATH=$PWD python benchmarks/bench_mcmc.py [--n 256] [--processes 2]
Timings on shared machines drift: compare the two methods in one run, quote ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gyroage import AgeModel
from gyroage.core.estimate import EstimateSettings, estimate_chunk
from gyroage.core.sampler import SamplerSettings

DOCS = Path(__file__).resolve().parent.parent / "docs"


def stars(model: AgeModel, n: int, seed: int) -> tuple[pd.DataFrame, str]:
    try:
        from gyroage.build.catalogue import load_catalogue, quality_select

        cat = quality_select(load_catalogue())
        cat = cat[cat["BPRP_0"].between(*model.card.domain["bp_rp0"])].sample(n, random_state=seed)
        return pd.DataFrame({"prot": cat["Prot"], "prot_err": 0.05 * cat["Prot"], "bp_rp0": cat["BPRP_0"],
                             "bp_rp0_err": cat["e_BPRP_0"]}), "catalogue stars, 5% period errors"
    except Exception:
        rng = np.random.default_rng(seed)
        c = rng.uniform(0.5, 3.0, n)
        p = model.sample_periods(10 ** rng.uniform(1, 4, n), c, seed=seed)[:, 0]
        return pd.DataFrame({"prot": p, "prot_err": 0.05 * p, "bp_rp0": c}), "synthetic stars, 5% period errors"


def _cpu() -> float:
    """CPU seconds of this process and its finished children (worker pools are closed per call)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(frame, model, settings) -> tuple[float, float, pd.DataFrame]:
    t, c = time.perf_counter(), _cpu()
    out = estimate_chunk(frame, model.density, settings)
    return time.perf_counter() - t, _cpu() - c, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    model = AgeModel.load(threads=1)
    frame, what = stars(model, args.n, args.seed)
    prior = model.default_prior
    estimate_chunk(frame.head(8), model.density, EstimateSettings(prior=prior))  # warm the session
    rows = []
    t_grid, c_grid, _ = timed(frame, model, EstimateSettings(prior=prior, n_grid=model.card.age_grid["n"]))
    rows.append(("grid (201 points)", 1, t_grid / len(frame), c_grid / len(frame), ""))
    for proc in sorted({1, args.processes}):
        s = EstimateSettings(prior=prior, method="mcmc", seed=args.seed, sampler=SamplerSettings(processes=proc))
        t_mc, c_mc, out = timed(frame, model, s)
        conv = (out["status"] == "ok").mean()
        note = (f"converged {conv:.1%}, median tau {np.nanmedian(out['mcmc_tau']):.2f} steps, "
                f"median n_eff {np.nanmedian(out['mcmc_n_eff']):.0f}, acceptance {np.nanmedian(out['mcmc_acceptance']):.2f}")
        rows.append((f"mcmc (16 walkers, >= 50 tau, n_eff >= 4000), {proc} process(es)", proc, t_mc / len(frame),
                     c_mc / len(frame), note))
    for r in rows:
        print(f"{r[0]}: {r[2] * 1e3:.1f} ms/star wall, {r[2] * r[1] * 1e3:.1f} ms/star/core (wall x processes), "
              f"{r[3] * 1e3:.1f} ms CPU/star  {r[4]}")
    DOCS.mkdir(exist_ok=True)
    lines = [f"| {r[0]} | {r[2] * 1e3:.1f} | {r[2] * r[1] * 1e3:.1f} | {r[3] * 1e3:.1f} | {r[4]} |" for r in rows]
    (DOCS / "bench_mcmc.md").write_text(
        "# Cost of `--method mcmc` at convergence vs the grid\n\n"
        f"{len(frame)} {what}; onnxruntime 1 thread per process; machine: {platform.machine()}, "
        f"{os.cpu_count()} cores (shared with other jobs while measured: compare ratios).\n\n"
        "| method | wall ms / star | wall x processes, ms / star | CPU ms / star | notes |\n|---|---|---|---|---|\n" +
        "\n".join(lines) +
        f"\n\nmcmc / grid, CPU per star: {rows[1][3] / rows[0][3]:.0f}x. Goal: <= 100 ms per star per core. CPU time\n"
        "is the fairer per-core figure on a shared machine (wall time includes waiting for the other jobs).\n\n"
        f"Rerun: `PYTHONPATH=$PWD python benchmarks/bench_mcmc.py --n {args.n} --processes {args.processes}`\n")


if __name__ == "__main__":
    main()
