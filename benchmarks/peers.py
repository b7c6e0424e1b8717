"""Peers on the same held-out stars as ``gyroage validate``: gyronet, gyrointerp, Mamajek & Hillenbrand 2008.

    PYTHONPATH=$PWD python benchmarks/peers.py --loco validation --out docs/peers.json \
        [--gyrointerp-n 16] [--seed 0]

Reads ``loco_stars.csv`` (our leave-one-cluster-out results) and scores every
tool on the same stars. Our ages there come from folds that never saw the
star's cluster; gyronet's and gyrointerp's published calibrations include
these clusters (in-sample for them), and MH08 was calibrated on some of them.

Conversions (stated because they change the answers):
- gyrointerp takes Teff: Curtis et al. (2020, Appendix A) colour-Teff relation
  as shipped in ``gyrointerp.teff`` with A_V = 0 on our de-reddened DR3
  (BP-RP)0 (DR2/DR3 colour differences, ~0.02 mag for FGK, are ignored);
  Teff_err 100 K, Prot_err 1% (gyrointerp's defaults); age grid 0-5000 Myr,
  500 points, ``bounds_error='4gyrextrap'`` so M67 is reachable. It takes
  ~40 s per star, so it runs on a random subsample inside its Teff range
  (3800-6200 K).
- MH08: P = a (B-V - c)^b t^n, a=0.407, b=0.325, c=0.495, n=0.566 (t in Myr),
  with (B-V)0 interpolated from (BP-RP)0 in Mamajek's dwarf colour table
  (Pecaut & Mamajek 2013, version 2024.05.15), used for 0.5 <= B-V <= 1.4.
  A point estimate: no interval, so no coverage.
- gyronet 0.1.3, baseline tier: ``predict_csv`` with Prot, BPRP_0, e_BPRP_0 only
  and ``fetch=False``.
Timings are wall-clock seconds per star on this machine, tools run one after
another in one process. Each timed call loads its tool's model (gyronet loads its
weights on every ``predict_csv`` call, so gyroage's timed call includes
``AgeModel.load`` too), after one untimed warm-up call of each tool on 100 stars
(imports and file cache warm for both).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gyroage.core.grid_cdf import trapezoid
from gyroage.files import json_text  # strict JSON: a non-finite score is null, not NaN

# (Bp-Rp, B-V) of F5V..M0V dwarfs, Mamajek "A Modern Mean Dwarf Stellar Color and
# Effective Temperature Sequence", version 2024.05.15 (Pecaut & Mamajek 2013, ApJS 208, 9).
_BPRP_BV = np.array([
    (0.587, 0.440), (0.640, 0.486), (0.670, 0.500), (0.694, 0.530), (0.719, 0.560), (0.784, 0.595),
    (0.803, 0.622), (0.823, 0.650), (0.832, 0.660), (0.850, 0.680), (0.869, 0.700), (0.900, 0.730),
    (0.950, 0.775), (0.983, 0.816), (1.01, 0.857), (1.10, 0.884), (1.19, 0.990), (1.34, 1.090),
    (1.43, 1.150), (1.53, 1.240), (1.70, 1.340), (1.73, 1.363), (1.79, 1.400), (1.84, 1.420),
])


def bv_from_bprp(bp_rp0: np.ndarray) -> np.ndarray:
    """(B-V)0 from (BP-RP)0 by linear interpolation in Mamajek's table; NaN outside it."""
    x = np.asarray(bp_rp0, dtype=float)
    bv = np.interp(x, _BPRP_BV[:, 0], _BPRP_BV[:, 1])
    return np.where((x >= _BPRP_BV[0, 0]) & (x <= _BPRP_BV[-1, 0]), bv, np.nan)


def mh08_age_myr(prot: np.ndarray, bp_rp0: np.ndarray) -> np.ndarray:
    """Mamajek & Hillenbrand (2008) gyrochronology age (Myr); NaN outside 0.5 <= B-V <= 1.4."""
    a, b, c, n = 0.407, 0.325, 0.495, 0.566
    bv = bv_from_bprp(bp_rp0)
    ok = (bv >= 0.5) & (bv <= 1.4)
    with np.errstate(invalid="ignore"):
        age = (np.asarray(prot) / (a * (bv - c) ** b)) ** (1 / n)
    return np.where(ok, age, np.nan)


def run_gyronet(stars: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, float]:
    """gyronet baseline tier; returns (summaries, log10-age grid, pdf per star on it, seconds)."""
    import torch
    from gyronet import predict_csv

    torch.set_num_threads(2)
    df = pd.DataFrame({"Prot": stars["prot_days"], "BPRP_0": stars["bp_rp0"], "e_BPRP_0": stars["bp_rp0_err"]})
    predict_csv(df.head(100), fetch=False)  # warm-up, as ours_seconds': imports done, weight files in the page cache
    t0 = time.perf_counter()
    res, posts = predict_csv(df, fetch=False)
    sec = time.perf_counter() - t0
    grid = np.asarray(posts[0]._logA_grid)  # log10 Myr; the public .pdf is per linear Myr
    pdf = np.stack([np.asarray(p._pdf_on_logA) for p in posts])
    return res.reset_index(drop=True), grid, pdf, sec


def run_gyrointerp(stars: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    from gyrointerp import gyro_age_posterior
    from gyrointerp.teff import given_dr2_BpmRp_AV_get_Teff_Curtis2020

    teff = given_dr2_BpmRp_AV_get_Teff_Curtis2020(stars["bp_rp0"].to_numpy(dtype=float), 0.0)
    grid = np.linspace(0, 5000, 500)
    rows = []
    t0 = time.perf_counter()
    for prot, t in zip(stars["prot_days"], teff):
        post = gyro_age_posterior(float(prot), float(t), age_grid=grid, bounds_error="4gyrextrap")
        c = np.concatenate([[0], np.cumsum(0.5 * (post[1:] + post[:-1]) * np.diff(grid))])
        c = c / c[-1]
        rows.append(np.interp([0.16, 0.5, 0.84], c, grid))
    sec = time.perf_counter() - t0
    q = np.array(rows)
    return pd.DataFrame({"p16": q[:, 0], "p50": q[:, 1], "p84": q[:, 2], "teff": teff}), sec


def gyronet_cluster_ages(grid: np.ndarray, pdf: np.ndarray, clusters: np.ndarray, w: float = 0.05) -> dict:
    """Joint ages from gyronet's posteriors: flat prior in log age, so product of posteriors,
    each mixed with a uniform component (weight ``w``) like our outlier term."""
    width = grid[-1] - grid[0]
    out = {}
    for c in np.unique(clusters):
        p = pdf[clusters == c]
        p = p / trapezoid(p, grid, axis=1)[:, None]
        lp = np.log((1 - w) * p + w / width).sum(axis=0)
        post = np.exp(lp - lp.max())
        cdf = np.concatenate([[0], np.cumsum(0.5 * (post[1:] + post[:-1]) * np.diff(grid))])
        out[c] = float(np.interp(0.5, cdf / cdf[-1], grid))
    return out


def ours_seconds(stars: pd.DataFrame) -> float:
    """Per-star cost of the shipped model on these stars (ONNX, grid posterior), its model load included.

    gyronet's timed call loads its weights (``predict_csv`` does on every call), so ours loads the model too.
    """
    from gyroage import AgeModel

    frame = pd.DataFrame({"prot": stars["prot_days"], "bp_rp0": stars["bp_rp0"], "bp_rp0_err": stars["bp_rp0_err"]})
    AgeModel.load(threads=2).estimate(frame.head(100))  # warm-up, as run_gyronet's
    t0 = time.perf_counter()
    AgeModel.load(threads=2).estimate(frame)
    return (time.perf_counter() - t0) / len(frame)


def score(truth_log: np.ndarray, p50: np.ndarray, p16=None, p84=None) -> dict:
    err = np.log10(p50) - truth_log
    ok = np.isfinite(err)
    out = {"n": int(ok.sum()), "star_median_abs_dex": float(np.median(np.abs(err[ok])))}
    if p16 is not None:
        inside = (np.log10(p16) <= truth_log) & (truth_log <= np.log10(p84))
        out["coverage_68"] = float(np.mean(inside[ok]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loco", default="validation", help="directory written by gyroage validate")
    ap.add_argument("--out", default="docs/peers.json")
    ap.add_argument("--gyrointerp-n", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "2")

    stars = pd.read_csv(Path(args.loco) / "loco_stars.csv")
    stars = stars[stars["bp_rp0"] >= 0.5].reset_index(drop=True)  # gyronet's (ChronoFlow's) colour cut
    truth = np.log10(stars["true_age_myr"].to_numpy())
    clusters = stars["cluster"].to_numpy()
    results: dict = {"n_stars": len(stars), "note": "stars with (BP-RP)0 >= 0.5 from loco_stars.csv"}

    # ours (held-out: each star's cluster was left out of training)
    ours = score(truth, stars["age_p50_myr"].to_numpy(), stars["age_p16_myr"].to_numpy(), stars["age_p84_myr"].to_numpy())
    ours["seconds_per_star"] = ours_seconds(stars)
    cl = pd.read_csv(Path(args.loco) / "loco_clusters.csv")
    ours["cluster_median_abs_dex"] = float(np.median(np.abs(cl["error_dex"])))
    results["gyroage (LOCO)"] = ours

    # gyronet (in-sample for it)
    res, grid, pdf, sec = run_gyronet(stars)
    g = score(truth, res["age_median_Myr"].to_numpy(), res["age_68_low_Myr"].to_numpy(), res["age_68_high_Myr"].to_numpy())
    g["seconds_per_star"] = sec / len(stars)
    joint = gyronet_cluster_ages(grid, pdf, clusters)
    ctruth = {c: float(np.log10(stars.loc[clusters == c, "true_age_myr"].iloc[0])) for c in joint}
    g["cluster_median_abs_dex"] = float(np.median([abs(joint[c] - ctruth[c]) for c in joint]))  # both log10 Myr
    results["gyronet 0.1.3 baseline"] = g

    # MH08: cluster age = median of members' ages
    t0 = time.perf_counter()
    mh = mh08_age_myr(stars["prot_days"].to_numpy(), stars["bp_rp0"].to_numpy())
    m = score(truth, mh)
    m["seconds_per_star"] = (time.perf_counter() - t0) / len(stars)
    per = pd.Series(np.log10(mh)).groupby(clusters).median()
    m["cluster_median_abs_dex"] = float(np.median([abs(per[c] - ctruth[c]) for c in per.index if np.isfinite(per[c])]))
    results["MH08 (analytic)"] = m

    Path(args.out).write_text(json_text(results, indent=2) + "\n")  # partial: gyrointerp is slow
    if args.gyrointerp_n <= 0:
        print(json_text(results, indent=2))
        return
    # gyrointerp on a random subsample inside its Teff range; all tools on the same subsample
    from gyrointerp.teff import given_dr2_BpmRp_AV_get_Teff_Curtis2020

    teff = given_dr2_BpmRp_AV_get_Teff_Curtis2020(stars["bp_rp0"].to_numpy(dtype=float), 0.0)
    pool = np.flatnonzero((teff >= 3800) & (teff <= 6200))
    rng = np.random.default_rng(args.seed)
    pick = np.sort(rng.choice(pool, size=min(args.gyrointerp_n, len(pool)), replace=False))
    sub = stars.iloc[pick].reset_index(drop=True)
    gi, sec = run_gyrointerp(sub)
    t_sub = truth[pick]
    results["subsample"] = {
        "n": len(sub), "clusters": sorted(set(sub["cluster"])),
        "gyrointerp 0.7": {**score(t_sub, gi["p50"].to_numpy(), gi["p16"].to_numpy(), gi["p84"].to_numpy()),
                           "seconds_per_star": sec / len(sub)},
        "gyroage (LOCO)": score(t_sub, sub["age_p50_myr"].to_numpy(), sub["age_p16_myr"].to_numpy(), sub["age_p84_myr"].to_numpy()),
        "gyronet 0.1.3 baseline": score(t_sub, res["age_median_Myr"].to_numpy()[pick], res["age_68_low_Myr"].to_numpy()[pick],
                                        res["age_68_high_Myr"].to_numpy()[pick]),
        "MH08 (analytic)": score(t_sub, mh[pick]),
    }
    Path(args.out).write_text(json_text(results, indent=2) + "\n")
    print(json_text(results, indent=2))


if __name__ == "__main__":
    main()
