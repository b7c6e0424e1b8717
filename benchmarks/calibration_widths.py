"""Fit the calibration's systematic widths by colour (gyroage.build.calibration.WIDTHS) on saved LOCO folds.

The widths maximise held-out stars' mean log density at their cluster's age (a proper
score) over the folds of several training seeds at once, each width in [0, WMAX] dex,
subject to every seed's 68% coverage of the three age bins lying inside the issue's
ranges (a quadratic penalty, 0.01 inside each edge); Powell's method. The level scale
is held at the model card's value (``gyroage validate --fit-calibration`` refits it).
A K-fold cross-validation over clusters (each fold's widths fitted without its
clusters, started from START with the full --maxfev budget, as the all-cluster fit is) gives held-out figures for comparing
colour-knot sets; the choice is by the cross-validated mean log score alone.

    PYTHONPATH=$PWD python benchmarks/calibration_widths.py --folds ../loco/baseline ../loco/base_s1 ../loco/base_s2 \\
        --colour-knots 0.7,1.2,1.9,2.6 --json /tmp/widths.json

(each DIR is a ``gyroage validate --out DIR`` of the shipped settings, one training seed each).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from fold_checks import checked_folds  # beside this script
from scipy.optimize import minimize

from gyroage.build import calibration as C
from gyroage.build.catalogue import default_catalogue_path, load_catalogue, quality_select
from gyroage.build.loco import star_posteriors
from gyroage.build.loco_figures import COLOUR_EDGES, log_score
from gyroage.core.calibration import Calibration
from gyroage.core.modelcard import load_card
from gyroage.core.posterior import cdf_at, quantiles
from gyroage.files import json_text

RANGES = ((0.60, 0.82), (0.62, 0.76), (0.62, 0.76))  # the 68% coverage ranges by age bin
MARGIN = 0.01
WMAX = 1.0
START = ((7.0, 8.0, 9.0, 9.6), (0.0, 0.44, 0.28, 0.28))  # v2.1's one row: where every fit starts
BANDS = (-np.inf, *COLOUR_EDGES, np.inf)  # the card's by-colour bands


def load_runs(dirs, exclude=()):
    """Per run directory: (member posteriors, grid, catalogue rows) of its held-out stars, read with the
    settings its loco_summary.json names (a directory may hold folds of other settings too); the clusters
    in ``exclude`` are left out of the fit and of every figure."""
    runs = []
    for d in dirs:
        folds = {c: f for c, f in checked_folds(d).items() if c not in exclude}
        grid = next(iter(folds.values()))["grid"]
        runs.append((np.concatenate([star_posteriors(f["loglike"], grid) for f in folds.values()]), grid,
                     np.concatenate([f["source_row"] for f in folds.values()])))
    return runs


class Problem:
    def __init__(self, runs, frame, colour_knots, age_knots=C.SIGMA_KNOTS, wmax=WMAX, level_scale=1.0):
        # free widths at the inner age knots; 0 at the first, the last repeats the one before it
        self.runs, self.ck, self.ak = runs, tuple(colour_knots), tuple(age_knots)
        self.n_free, self.wmax, self.level_scale = len(self.ak) - 2, wmax, level_scale
        self.colour = frame["BPRP_0"].to_numpy(float)
        self.age = np.log10(frame["fiducial_age_Myr"].to_numpy(float) * 1e6)
        self.cluster = frame["cluster"].to_numpy()

    def calibration(self, theta) -> Calibration:
        w = np.clip(np.asarray(theta), 0.0, self.wmax).reshape(len(self.ck), self.n_free)
        rows = tuple((0.0, *map(float, r), float(r[-1])) for r in w)
        return Calibration(self.ak, rows if len(self.ck) > 1 else rows[0], C.LEVEL_KNOTS, self.level_scale,
                           colour_knots=self.ck if len(self.ck) > 1 else ())

    def scores(self, theta, clusters=None, median=True):
        """Per seed: (source rows, PIT, median or None, log score) of the stars of ``clusters`` (all when None)."""
        cal, out = self.calibration(theta), []
        for pdf, grid, rows in self.runs:
            m = np.ones(len(rows), bool) if clusters is None else np.isin(self.cluster[rows], clusters)
            r = rows[m]
            post = cal.apply(pdf[m], grid, self.colour[r])
            t = self.age[r]
            out.append((r, cdf_at(post, grid, t), quantiles(post, grid, [0.5])[:, 0] if median else None,
                        log_score(post, grid, t)))
        return out

    def loss(self, theta, clusters=None):
        total, pen = 0.0, 0.0
        res = self.scores(theta, clusters, median=False)  # the loss reads PITs and scores only
        for r, pit, _, ls in res:
            total += ls.mean()
            b = np.digitize(self.age[r], C.AGE_EDGES)
            for j, (lo, hi) in enumerate(RANGES):
                cov = np.mean(C.inside(pit[b == j], C.TARGET))
                pen += max(0.0, lo + MARGIN - cov) ** 2 + max(0.0, cov - hi + MARGIN) ** 2
        return -total / len(res) + 200.0 * pen

    def fit(self, x0, clusters=None, maxfev=250):
        return minimize(self.loss, x0, args=(clusters,), method="Powell", bounds=[(0.0, self.wmax)] * len(x0),
                        options={"maxfev": maxfev, "xtol": 0.01, "ftol": 1e-4}).x

    def metrics(self, parts):
        """Seed-averaged 68% coverage, median |error| and mean log score by age bin and overall."""
        rows = []
        for r, pit, med, ls in parts:
            b = np.digitize(self.age[r], C.AGE_EDGES)
            err = np.abs(med - self.age[r])
            rows.append([np.mean(C.inside(pit[b == j], C.TARGET)) for j in range(3)] + [np.mean(C.inside(pit, C.TARGET))]
                        + [np.median(err[b == j]) for j in range(3)] + [np.median(err)]
                        + [ls[b == j].mean() for j in range(3)] + [ls.mean()])
        return np.mean(rows, axis=0), np.array(rows)

    def cells(self, parts):
        """Seed-averaged 68% coverage by age bin x colour band (BANDS)."""
        out = np.zeros((3, len(BANDS) - 1))
        for r, pit, _, _ in parts:
            b, k = np.digitize(self.age[r], C.AGE_EDGES), np.digitize(self.colour[r], BANDS) - 1
            for j in range(3):
                for c in range(len(BANDS) - 1):
                    m = (b == j) & (k == c)
                    out[j, c] += np.mean(C.inside(pit[m], C.TARGET)) if m.any() else np.nan
        return out / len(parts)


def cross_validate(p: Problem, x0: np.ndarray, k: int, maxfev: int) -> tuple[list, list]:
    """Held-out score parts per seed, and the folds: k groups of clusters, each scored with widths fitted without it.

    Every fold's fit starts from ``x0`` (START) with the full budget, as the all-cluster fit does: started from the
    all-cluster widths (which saw the held-out clusters) with a quarter of the budget, a fold barely moves from them
    and its score is close to in-sample.
    """
    # clusters by age (then name), dealt round-robin so each fold spans the ages; no empty folds when k > clusters
    names = sorted(set(p.cluster), key=lambda c: (np.median(p.age[p.cluster == c]), c))
    groups = [g for g in (names[i::k] for i in range(k)) if g]
    held = [[] for _ in p.runs]
    for g in groups:
        rest = [c for c in names if c not in g]
        th = p.fit(x0, rest, maxfev=maxfev)
        for s, part in enumerate(p.scores(th, g)):
            held[s].append(part)
        print(f"  cv fold {g}: {[list(np.round(r, 3)) for r in p.calibration(th).width_rows]}", flush=True)
    return held, groups


def fmt(m):
    return (f"cov68 {' / '.join(f'{v:.3f}' for v in m[:4])} | med err {' / '.join(f'{v:.3f}' for v in m[4:8])}"
            f" | log score {' / '.join(f'{v:.3f}' for v in m[8:])}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalogue", default=str(default_catalogue_path()))
    ap.add_argument("--folds", nargs="+", required=True, help="gyroage validate --out directories, one per seed")
    ap.add_argument("--colour-knots", default="0.7,1.2,1.9,2.6")
    ap.add_argument("--age-knots", default=",".join(map(str, C.SIGMA_KNOTS)),
                    help="log10 yr; width 0 at the first, the last repeats the one before it")
    ap.add_argument("--maxfev", type=int, default=250)
    ap.add_argument("--level-scale", type=float, help="held while the widths are fitted; default: the model card's")
    ap.add_argument("--wmax", type=float, default=WMAX, help="upper bound of every width, dex")
    ap.add_argument("--cv", type=int, default=5, help="cross-validation folds over clusters (0: none)")
    ap.add_argument("--exclude", default="", help="comma-separated clusters left out of the fit and the figures "
                    "(e.g. those whose labels the catalogue's own rotation contradicts: benchmarks/label_floor.py)")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    frame = quality_select(load_catalogue(a.catalogue))
    ck = tuple(float(v) for v in a.colour_knots.split(","))
    level = a.level_scale if a.level_scale is not None else Calibration.from_card(load_card()[0]).level_scale
    runs = load_runs(a.folds, set(filter(None, a.exclude.split(","))))
    p = Problem(runs, frame, ck, tuple(float(v) for v in a.age_knots.split(",")), a.wmax, level)
    x0 = np.tile(np.interp(p.ak[1:-1], *START), len(ck))
    full = p.fit(x0, maxfev=a.maxfev)
    cal = p.calibration(full)
    parts = p.scores(full)
    m, per_seed = p.metrics(parts)
    print(f"colour knots {ck}, age knots {p.ak}: widths {[list(r) for r in cal.width_rows]}", flush=True)
    print(f"  in-sample   {fmt(m)}")
    print(f"  per seed, 68% coverage by age bin: {np.round(per_seed[:, :3], 3).tolist()}")
    out = {"colour_knots": ck, "age_knots": p.ak, "widths": [list(r) for r in cal.width_rows], "in_sample": m.tolist(),
           "in_sample_per_seed": per_seed.tolist(), "in_sample_cells": p.cells(parts).tolist()}
    if a.cv:
        held, groups = cross_validate(p, x0, a.cv, a.maxfev)
        parts = [tuple(np.concatenate([h[i] for h in hs]) for i in range(4)) for hs in held]
        m, per_seed = p.metrics(parts)
        print(f"  {len(groups)}-fold CV   {fmt(m)}")
        print(f"  per seed, 68% coverage by age bin: {np.round(per_seed[:, :3], 3).tolist()}")
        print(f"  per seed, log score: {np.round(per_seed[:, -1], 4).tolist()}")
        print(f"  cells (age bin x colour {BANDS[1:-1]}):\n{np.round(p.cells(parts), 2)}")
        out.update({"cv_folds": len(groups), "cv": m.tolist(), "cv_per_seed": per_seed.tolist(),
                    "cv_cells": p.cells(parts).tolist()})
    if a.json:
        with open(a.json, "w") as f:  # strict JSON: a non-finite figure is null
            f.write(json_text(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
