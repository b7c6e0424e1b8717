"""Peak memory and throughput of a posterior ONNX graph per call, by colour error (onnxruntime alone, no gyroage).

    python benchmarks/posterior_graph_memory.py [--stars 100 500] [--errors nan 0.1 0.3 0.45] [--mag] [--calls 3]

Each (stars, colour error) runs in a fresh process, since ``ru_maxrss`` is a process's peak: one session of one
thread, ``--calls`` calls on the same stars (a pipeline's chunks; onnxruntime plans a session's memory on its first
call and keeps about twice that from the second on). Prints the peak RSS, the RSS after loading the graph, their
difference per star (the graph's float32 intermediates, which grow with the colour nodes a star's error takes: not
its outputs) and the best call's stars/s. Stars: periods log-uniform over 0.5-40 d, colours uniform over 0.4-2.5 mag.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

MODELS = Path(__file__).resolve().parents[1] / "models"


def peak_mb() -> float:
    """This process's peak resident memory, MB: Linux's VmHWM, which a new program starts afresh, where
    ``ru_maxrss`` keeps the high-water mark of the process it was forked from (a test worker's 1.6 GB read as this
    run's peak and load alike); ``ru_maxrss`` elsewhere."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024  # kB
    except (OSError, StopIteration):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux, bytes on macOS


def child(graph: str, n: int, err: float, calls: int) -> dict[str, float]:
    """Measure in this process (a fresh one: its peak is this run's): n stars of colour error err, calls calls."""
    import time

    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(MODELS / graph), options, providers=["CPUExecutionProvider"])
    loaded = peak_mb()
    rng = np.random.default_rng(5)
    feed = {"prot_days": np.exp(rng.uniform(np.log(0.5), np.log(40.0), n)), "bp_rp0": rng.uniform(0.4, 2.5, n),
            "bp_rp0_err": np.full(n, err)}
    if "mag" in graph:  # no magnitudes given: the same stars as the rotation graph's
        feed.update(abs_g0=np.full(n, np.nan), abs_g0_err=np.full(n, np.nan))
    best = np.inf
    for _ in range(calls):
        t = time.perf_counter()
        session.run(None, feed)
        best = min(best, time.perf_counter() - t)
    peak = peak_mb()
    return {"peak_mb": peak, "loaded_mb": loaded, "per_star_mb": (peak - loaded) / n, "stars_per_s": n / best}


def run(n: int, err: float, mag: bool = False, calls: int = 3) -> dict[str, float]:
    """:func:`child` in a fresh interpreter: its numbers."""
    graph = "gyroage-posterior-mag.onnx" if mag else "gyroage-posterior.onnx"
    res = subprocess.run([sys.executable, __file__, "--child", graph, str(n), repr(err), str(calls)],
                         capture_output=True, text=True, check=True, timeout=600)
    return json.loads(res.stdout)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        graph, n, err, calls = sys.argv[2:6]
        result = child(graph, int(n), float(err), int(calls))
        from gyroage.files import json_text  # after the measurement: gyroage's import is no part of the graph's peak

        print(json_text(result))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stars", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--errors", type=float, nargs="+", default=[float("nan"), 0.06, 0.1, 0.2, 0.3, 0.45],
                        help="colour errors, mag (nan: the default error, no colour nodes)")
    parser.add_argument("--mag", action="store_true", help="the graph with magnitudes")
    parser.add_argument("--calls", type=int, default=3)
    args = parser.parse_args()
    print("stars  bp_rp0_err  peak RSS MB  after load MB  MB a star  stars/s  (1 thread, "
          f"{args.calls} calls{', with magnitudes' if args.mag else ''})")
    for err in args.errors:
        for n in args.stars:
            r = run(n, err, args.mag, args.calls)
            print(f"{n:5d}  {err:10.3g}  {r['peak_mb']:11.0f}  {r['loaded_mb']:13.0f}  {r['per_star_mb']:9.2f}  "
                  f"{r['stars_per_s']:7.0f}")
