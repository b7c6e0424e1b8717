"""Study 30 (benchmarks/candidates/PREREGISTRATION.md): would a group-age flag for member lists the rotation sequence
does not hold fire on clean held-out clusters, and does it catch contaminated ones?

Per group, dlnZ = max over w in WEIGHTS of lnZ(w) - lnZ(w0), with Z(w) the evidence of the group's product
likelihood (group_posterior's, before its calibration) under a flat prior in log age, w0 the card's group weight.
(i) held-out clean clusters: the stored star log-likelihoods of ``gyroage validate`` folds; (ii) contamination: the
shipped model in-sample on the catalogue's quality-selected members, with field stars (colour U(0.5, 2.5), period
U(1, 40) d) added, the joint median as ``gyroage group-age`` gives it.

    PYTHONPATH=$PWD python benchmarks/group_outlier_check.py --loco /work/loco/s0 \
        --catalogue ../shared/data/open_cluster_rotators.csv [--draws 5]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from gyroage.build.catalogue import load_catalogue, quality_select
from gyroage.build.loco import saved_folds
from gyroage.core.api import AgeModel
from gyroage.core.groups import group_log_likelihood
from gyroage.core.likelihood import colour_marginal_log_likelihood
from gyroage.core.modelcard import outlier_log_density

WEIGHTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
THRESHOLD = 3.0  # ln odds: 20:1 for a larger outlier share
FRACTIONS = (0.2, 0.4)


def delta_ln_evidence(loglike: np.ndarray, w0: float, log_u: float) -> tuple[float, float]:
    """(max_w lnZ(w) - lnZ(w0), the best w) for one group's members' flow log-likelihoods (stars x grid);
    flat prior in log age on an even grid: its constant cancels."""
    ll = np.asarray(loglike, dtype=np.float64)
    gid, m = np.zeros(len(ll), dtype=int), np.ones(len(ll))
    z = {w: logsumexp(group_log_likelihood(ll, gid, 1, m, w, log_u)[0]) for w in (w0, *WEIGHTS)}
    best = max(WEIGHTS, key=z.get)
    return float(z[best] - z[w0]), best


def held_out(loco: Path, w0: float, log_u: float) -> pd.DataFrame:
    rows = []
    for cluster, fold in saved_folds(loco).items():
        d, best = delta_ln_evidence(fold["loglike"], w0, log_u)
        rows.append({"cluster": cluster, "n": len(fold["loglike"]), "dlnZ": d, "best_w": best, "flag": d > THRESHOLD})
    return pd.DataFrame(rows)


def contaminated(catalogue: Path, model: AgeModel, draws: int, w0: float, log_u: float) -> pd.DataFrame:
    from gyroage.core.groups import group_ages
    from gyroage.core.priors import Prior

    cat = quality_select(load_catalogue(catalogue))
    counts = cat["cluster"].value_counts()
    density = model.density
    grid = np.linspace(np.log10(1e6), np.log10(1e10), 201)
    rows = []
    for cluster in [c for c in cat["cluster"].unique() if counts[c] >= 50]:
        members = cat.loc[cat["cluster"] == cluster, ["Prot", "BPRP_0", "e_BPRP_0"]].to_numpy(dtype=float)
        frame = pd.DataFrame({"prot": members[:, 0], "bp_rp0": members[:, 1], "bp_rp0_err": members[:, 2]})
        clean = float(group_ages(frame, density, None, Prior(), 401)["age_p50_myr"][0])
        for frac in FRACTIONS:
            for k in range(draws):
                rng = np.random.default_rng([k, int(frac * 100), len(members)])
                n_field = int(round(frac / (1 - frac) * len(members)))
                field = pd.DataFrame({"prot": rng.uniform(1, 40, n_field), "bp_rp0": rng.uniform(0.5, 2.5, n_field),
                                      "bp_rp0_err": 0.02})
                both = pd.concat([frame, field], ignore_index=True)
                med = float(group_ages(both, density, None, Prior(), 401)["age_p50_myr"][0])
                ll = colour_marginal_log_likelihood(density, np.log10(both["prot"]), both["bp_rp0"],
                                                    both["bp_rp0_err"], grid, refine_tol=None)
                ok = np.isfinite(ll).all(axis=1)
                d, best = delta_ln_evidence(ll[ok], w0, log_u)
                rows.append({"cluster": cluster, "frac": frac, "draw": k, "shift": np.log10(med / clean),
                             "dlnZ": d, "best_w": best, "flag": d > THRESHOLD})
        d, best = delta_ln_evidence(colour_marginal_log_likelihood(
            density, np.log10(frame["prot"]), frame["bp_rp0"], frame["bp_rp0_err"], grid, refine_tol=None), w0, log_u)
        rows.append({"cluster": cluster, "frac": 0.0, "draw": 0, "shift": 0.0, "dlnZ": d, "best_w": best,
                     "flag": d > THRESHOLD})
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loco", type=Path, required=True)
    ap.add_argument("--catalogue", type=Path, required=True)
    ap.add_argument("--draws", type=int, default=5)
    args = ap.parse_args()
    model = AgeModel.load()
    card = model.density.card
    w0 = float((card.validation or {}).get("outlier_weight_group", 0.05))
    log_u = outlier_log_density()
    pd.set_option("display.width", 200)
    pd.set_option("display.max_rows", 500)
    h = held_out(args.loco, w0, log_u)
    print(f"(i) held-out clean clusters (w0 {w0}): flagged {int(h['flag'].sum())} of {len(h)}  [rule (a): <= 2]")
    print(h.sort_values("dlnZ", ascending=False).round(2).to_string(index=False))
    c = contaminated(args.catalogue, model, args.draws, w0, log_u)
    print("\n(ii) in-sample, clean (frac 0) and contaminated")
    print(c.groupby(["cluster", "frac"]).agg(shift=("shift", "mean"), max_shift=("shift", "max"),
                                           dlnZ=("dlnZ", "median"), flagged=("flag", "mean")).round(3).to_string())
    moved = c[(c["frac"] == 0.4) & (c["shift"].abs() > 0.1)]
    rate = moved["flag"].mean() if len(moved) else float("nan")
    print(f"\nrule (b): at 40%, draws moved > 0.1 dex: {len(moved)}, flagged {rate:.2f}  [>= 0.80]")
    clean = c[c["frac"] == 0]
    print(f"in-sample clean clusters flagged: {int(clean['flag'].sum())} of {len(clean)} (described, not a rule)")
    for frac in FRACTIONS:
        sub = c[c["frac"] == frac]
        print(f"{frac:.0%}: flagged {sub['flag'].mean():.2f} of draws; |shift| > 0.1 in {(sub['shift'].abs() > 0.1).mean():.2f}")


if __name__ == "__main__":
    main()
