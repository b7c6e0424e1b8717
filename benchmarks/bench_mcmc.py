"""Per-star cost of `--method mcmc` at convergence next to the grid path; writes docs/bench_mcmc.md.

One onnxruntime thread, one process (= one core) unless --processes is given.
Stars: catalogue stars (quality selection, in the colour domain) or, when the catalogue file is
absent, synthetic stars drawn from the model (a catalogue that is there but broken is an error).
Converged = dated (ok, extrapolated or not_converged) and not not_converged.

Run: PYTHONPATH=$PWD python benchmarks/bench_mcmc.py [--n 256] [--processes 2] [--write-docs]
(without --write-docs it only prints).
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

from gyroage import AgeModel, statuses
from gyroage.build.catalogue import default_catalogue_path, load_catalogue, quality_select
from gyroage.core.estimate import EstimateSettings, estimate_chunk
from gyroage.core.sampler import SamplerSettings
from gyroage.files import atomic_write_text

DOCS = Path(__file__).resolve().parent.parent / "docs"


def stars(model: AgeModel, n: int, seed: int) -> tuple[pd.DataFrame, str]:
    """``n`` catalogue stars, or synthetic ones only when the catalogue file is absent (not on any error)."""
    if default_catalogue_path().is_file():
        cat = quality_select(load_catalogue())
        cat = cat[cat["BPRP_0"].between(*model.card.domain["bp_rp0"])].sample(n, random_state=seed)
        return pd.DataFrame({"prot": cat["Prot"], "prot_err": 0.05 * cat["Prot"], "bp_rp0": cat["BPRP_0"],
                             "bp_rp0_err": cat["e_BPRP_0"]}), "catalogue stars, 5% period errors"
    rng = np.random.default_rng(seed)
    c = rng.uniform(0.5, 3.0, n)
    p = model.sample_periods(10 ** rng.uniform(1, 4, n), c, seed=seed)[:, 0]
    return pd.DataFrame({"prot": p, "prot_err": 0.05 * p, "bp_rp0": c}), "synthetic stars, 5% period errors"


def _cpu() -> float:
    """CPU seconds of this process and its finished children (worker pools are closed per call)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def converged(status: pd.Series) -> tuple[int, int]:
    """(converged, dated): extrapolated stars are dated and their chains converged too."""
    dated = status.isin([statuses.OK, statuses.EXTRAPOLATED, statuses.NOT_CONVERGED])
    return int((dated & (status != statuses.NOT_CONVERGED)).sum()), int(dated.sum())


def timed(frame, model, settings) -> tuple[float, float, pd.DataFrame]:
    t, c = time.perf_counter(), _cpu()
    out = estimate_chunk(frame, model.density, settings)
    return time.perf_counter() - t, _cpu() - c, out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write-docs", action="store_true", help="rewrite docs/bench_mcmc.md (default: print only)")
    args = ap.parse_args(argv)
    model = AgeModel.load(threads=1)
    frame, what = stars(model, args.n, args.seed)
    prior = model.default_prior
    estimate_chunk(frame.head(8), model.density, EstimateSettings(prior=prior))  # warm the session
    rows = []
    n_grid = model.card.age_grid["n"]
    t_grid, c_grid, _ = timed(frame, model, EstimateSettings(prior=prior, n_grid=n_grid))
    rows.append((f"grid ({n_grid} points)", 1, t_grid / len(frame), c_grid / len(frame), ""))
    for proc in sorted({1, args.processes}):
        ss = SamplerSettings(processes=proc)
        t_mc, c_mc, out = timed(frame, model, EstimateSettings(prior=prior, method="mcmc", seed=args.seed, sampler=ss))
        n_conv, n_dated = converged(out["status"])
        note = (f"converged {n_conv} of {n_dated} dated ({n_conv / max(n_dated, 1):.1%}), "
                f"median tau {np.nanmedian(out['mcmc_tau']):.2f} steps, median n_eff {np.nanmedian(out['mcmc_n_eff']):.0f}, "
                f"acceptance {np.nanmedian(out['mcmc_acceptance']):.2f}")
        label = f"mcmc ({ss.n_walkers} walkers, >= {ss.tau_multiple:g} tau, n_eff >= {ss.min_n_eff:g}), {proc} process(es)"
        rows.append((label, proc, t_mc / len(frame), c_mc / len(frame), note))
    for r in rows:
        print(f"{r[0]}: {r[2] * 1e3:.1f} ms/star wall, {r[2] * r[1] * 1e3:.1f} ms/star/core (wall x processes), "
              f"{r[3] * 1e3:.1f} ms CPU/star  {r[4]}")
    if not args.write_docs:
        return
    DOCS.mkdir(exist_ok=True)
    lines = [f"| {r[0]} | {r[2] * 1e3:.1f} | {r[2] * r[1] * 1e3:.1f} | {r[3] * 1e3:.1f} | {r[4]} |" for r in rows]
    atomic_write_text(
        DOCS / "bench_mcmc.md",
        "# Cost of `--method mcmc` at convergence vs the grid\n\n"
        f"{len(frame)} {what}; onnxruntime 1 thread per process; machine: {platform.machine()}, "
        f"{os.cpu_count()} cores (shared with other jobs while measured: compare ratios).\n\n"
        "| method | wall ms / star | wall x processes, ms / star | CPU ms / star | notes |\n|---|---|---|---|---|\n" +
        "\n".join(lines) +
        f"\n\nmcmc / grid, CPU per star: {rows[1][3] / rows[0][3]:.0f}x. Goal: <= 100 ms per star per core. CPU time\n"
        "is the fairer per-core figure on a shared machine (wall time includes waiting for the other jobs).\n\n"
        f"Rerun: `PYTHONPATH=$PWD python benchmarks/bench_mcmc.py --n {args.n} --processes {args.processes} --write-docs`\n")


if __name__ == "__main__":
    main()
