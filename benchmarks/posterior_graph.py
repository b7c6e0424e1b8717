"""Throughput of the posterior ONNX graph (onnxruntime alone) against AgeModel.posterior, same stars.

    PYTHONPATH=$PWD python benchmarks/posterior_graph.py [n_stars] [chunk] [mag]

Prints stars/s for both (the API with every grid point and with the default refined
grid) and the largest |difference| of the medians in dex. ``mag``: the graph with
magnitudes (gyroage-posterior-mag.onnx) against the API with the same ``abs_g0``
(stars 0-1 mag above the main sequence, error 0.05 mag: the term informs those of its colours).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gyroage import AgeModel
from gyroage.core.density import make_session
from gyroage.core.main_sequence import MainSequenceTerm
from gyroage.core.modelcard import POSTERIOR_FILE, POSTERIOR_MAG_FILE


def main(n: int = 2000, chunk: int = 500, magnitudes: bool = False) -> None:
    model = AgeModel.load(threads=1)
    d = model.domain
    rng = np.random.default_rng(0)
    prot = 10 ** rng.uniform(*np.percentile(d["log10_prot"], [30, 80]), n)
    colour = rng.uniform(*np.percentile(d["bp_rp0"], [15, 60]), n)
    err = np.full(n, np.nan)
    extra = {}
    if magnitudes:
        term = MainSequenceTerm.from_card(model.card)
        extra = {"abs_g0": np.interp(colour, term.ms_colour, term.ms_mag) - rng.uniform(0.0, 1.0, n),
                 "abs_g0_err": np.full(n, 0.05)}

    def medians(**kw) -> tuple[np.ndarray, float]:
        t = time.perf_counter()
        m = np.concatenate([model.posterior(prot[i:i + chunk], colour[i:i + chunk], **kw,
                                            **{k: v[i:i + chunk] for k, v in extra.items()}).summaries()["age_p50_myr"]
                            for i in range(0, n, chunk)])
        return m, time.perf_counter() - t

    ref, t_api = medians(refine_tol=None)  # every grid point, as the graph does
    fast, t_fast = medians()  # the default refined grid
    sess = make_session(model.density.onnx_path.parent / (POSTERIOR_MAG_FILE if magnitudes else POSTERIOR_FILE), threads=1)
    feed = {"prot_days": prot, "bp_rp0": colour, "bp_rp0_err": err, **extra}
    t = time.perf_counter()
    got = np.concatenate([sess.run(["age_quantiles_myr"], {k: v[i:i + chunk] for k, v in feed.items()})[0][:, 2]
                          for i in range(0, n, chunk)])
    t_graph = time.perf_counter() - t
    print(f"{n} stars, chunks of {chunk}, 1 thread" + (", with magnitudes" if magnitudes else ""))
    print(f"AgeModel.posterior, every grid point : {n / t_api:8.0f} stars/s")
    print(f"AgeModel.posterior, refined (default): {n / t_fast:8.0f} stars/s")
    print(f"posterior graph, every grid point    : {n / t_graph:8.0f} stars/s")
    print(f"max |median difference|, graph vs every grid point : {np.max(np.abs(np.log10(got) - np.log10(ref))):.2e} dex")
    print(f"max |median difference|, graph vs refined          : {np.max(np.abs(np.log10(got) - np.log10(fast))):.2e} dex")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n_stars", type=int, nargs="?", default=2000)
    parser.add_argument("chunk", type=int, nargs="?", default=500)
    parser.add_argument("mag", nargs="?", choices=["mag"], help="the graph with magnitudes")
    args = parser.parse_args()
    main(args.n_stars, args.chunk, magnitudes=args.mag == "mag")
