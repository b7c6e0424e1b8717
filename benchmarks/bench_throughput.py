"""Throughput, memory, Dask and cold-start benchmark for ``gyroage estimate``.

Every timed number is a whole process (interpreter start, imports, model load,
CSV in, posteriors, CSV out), run side by side in one session and repeated, so
the ratios hold even on a shared, drifting machine. Stars are drawn (with
replacement) from the quality-selected rotator catalogue, read from
../shared/data and written only to a temporary directory, never the repository.

Rerun:  PYTHONPATH=$PWD python benchmarks/bench_throughput.py --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))  # bench_scale beside this file, also when imported by path
from bench_scale import LAUNCH  # noqa: E402  (the launcher that gives a child its own peak RSS)

from gyroage.build.catalogue import default_catalogue_path  # noqa: E402

CATALOG = default_catalogue_path()  # $GYROAGE_CATALOG, else ../shared/data beside the checkout
ENV = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONWARNINGS="ignore")

GYRONET = """
import sys, warnings
warnings.filterwarnings("ignore")
import gyronet
res = gyronet.predict_csv(sys.argv[1], fetch=False, return_posteriors=False)  # baseline tier: no aux columns
res.to_csv(sys.argv[2], index=False)
"""

# The same flow as the shipped ONNX graph, evaluated by torch on (stars x grid) batches, 2 threads,
# with the same grid-posterior summaries (numpy): the "batched torch" peer.
TORCH = """
import sys, numpy as np, pandas as pd, torch
torch.set_num_threads(2)
from gyroage.build.export import load_checkpoint
from gyroage.core.modelcard import load_card
from gyroage.core.posterior import GridPosterior, normalise, age_grid
from gyroage.core.density import mix_outlier
from gyroage.core.modelcard import outlier_log_density
from gyroage.build.training import grid_log_prob
card, d = load_card()
model = load_checkpoint(d / "gyroage-flow.pt")
df = pd.read_csv(sys.argv[1])
g = card.age_grid; grid = age_grid(g["log10_age_min"], g["log10_age_max"], g["n"])
lp = np.log10(df["Prot"].to_numpy()); c = df["BPRP_0"].to_numpy()
e = np.clip(df["e_BPRP_0"].to_numpy(), *card.domain["bp_rp0_err"])
per = 256  # stars per call: 256 x 201 = 51k rows, torch's best batch here
w, u = card.outlier["weight"], outlier_log_density(card.outlier["log10_prot_range"])
rows = []
for i in range(0, len(df), per):
    s = slice(i, i + per)
    ll = mix_outlier(grid_log_prob(model, lp[s], c[s], e[s], grid), w, u)
    rows.append(pd.DataFrame(GridPosterior(grid, normalise(ll, grid)).summaries()))
pd.concat(rows, ignore_index=True).to_csv(sys.argv[2], index=False)
"""

REFERENCE = """
import sys, json, numpy as np, pandas as pd
from gyroage.core.density import FlowDensity
from gyroage.core.estimate import EstimateSettings, estimate_chunk
from gyroage.core.priors import Prior
d = FlowDensity()
df = pd.read_csv(sys.argv[1])
out = pd.read_csv(sys.argv[2])
n_ref = int(sys.argv[3])
dated = out["status"].isin(["ok", "extrapolated"]).to_numpy()
g = d.card.age_grid
prior = Prior("uniform_log_age", g["log10_age_min"], g["log10_age_max"])
# the whole estimate pipeline (colour nodes, calibration) on a dense grid with every point evaluated
ref = estimate_chunk(df, d, EstimateSettings(prior=prior, n_grid=n_ref, refine_tol=None))
class Counted:  # every flow evaluation goes through the session's run: count the rows fed to it
    def __init__(self, session):
        self.session, self.rows = session, 0
    def run(self, names, feed):
        self.rows += len(next(iter(feed.values())))
        return self.session.run(names, feed)
session, d.session = d.session, Counted(d.session)
estimate_chunk(df, d, EstimateSettings(prior=prior, n_grid=g["n"]))  # the default, refined grid
evals, d.session = d.session.rows, session
exact = estimate_chunk(df, d, EstimateSettings(prior=prior, n_grid=g["n"], refine_tol=None))  # --exact-grid
res = {"n_stars": int(dated.sum()), "n_ref": n_ref, "n_grid": int(g["n"]), "flow_evals_per_star": evals / dated.sum()}
for name, got in (("default", out), ("exact_grid", exact)):
    for col in ("age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr"):
        dd = np.abs(np.log10(got[col].to_numpy()[dated]) - np.log10(ref[col].to_numpy()[dated]))
        res.setdefault(name, {})[col] = {"max": float(dd.max()), "p99": float(np.percentile(dd, 99)),
                                         "median": float(np.median(dd))}
print(json.dumps(res))
"""


def make_stars(n: int, path: Path, seed: int = 0, magnitudes_path: Path | None = None) -> None:
    """``n`` stars resampled from the quality-selected catalogue (BP-RP0 >= 0.5, gyronet's validated range);
    ``magnitudes_path``: the same stars with their G_0 and parallax too (what a model's main-sequence term reads)."""
    from gyroage.build.catalogue import PARALLAX, load_catalogue, quality_select

    q = quality_select(load_catalogue(CATALOG))
    s = q[q.BPRP_0 >= 0.5].sample(n, replace=True, random_state=seed)
    cols = {"Prot": s.Prot.to_numpy(), "BPRP_0": s.BPRP_0.to_numpy(), "e_BPRP_0": s.e_BPRP_0.to_numpy()}
    pd.DataFrame(cols).to_csv(path, index=False)
    if magnitudes_path is not None:
        pd.DataFrame(cols | {"G_0": s.G_0.to_numpy(), "parallax": s[PARALLAX].to_numpy()}).to_csv(magnitudes_path,
                                                                                                   index=False)


def timed(cmd: list[str]) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MiB, CPU seconds user+system) of one child process, measured with wait4.

    The child is started by bench_scale's small ``LAUNCH`` process, which waits for it: Linux carries the RSS a
    process had when it was forked into ``ru_maxrss`` across exec, so a child forked from this process (which holds
    the stars and pandas) would report this process's peak as a floor. stderr is read while the child runs
    (``communicate``), so a child writing more than a pipe holds cannot block.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".usage") as usage:
        proc = subprocess.Popen([sys.executable, "-c", LAUNCH, usage.name, *cmd], cwd=ROOT, env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, err = proc.communicate()
        code, wall, rss_kib, cpu = usage.read().split()
    if int(code) != 0 or proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({code}): {err.decode()[-2000:]}")
    return float(wall), int(rss_kib) / 1024.0, float(cpu)


def gyroage(*args: str) -> list[str]:
    return [sys.executable, "-m", "gyroage.cli", "estimate", *args, "-q"]


def flops_per_eval(onnx_path: Path) -> dict:
    """Floating-point operations per density evaluation, counted node by node at batch 1.

    Gemm/MatMul: 2*K*N (+N bias); element-wise and reductions: one per element
    produced or read; transcendental ops counted as one (a lower bound).
    """
    import onnx
    from onnx import shape_inference

    m = onnx.load(str(onnx_path))
    for inp in m.graph.input:
        inp.type.tensor_type.shape.dim[0].dim_value = 1
    m = shape_inference.infer_shapes(m, data_prop=True)
    shapes = {}
    for vi in list(m.graph.value_info) + list(m.graph.input) + list(m.graph.output):
        dims = [d.dim_value if d.dim_value > 0 else 1 for d in vi.type.tensor_type.shape.dim]
        shapes[vi.name] = int(np.prod(dims)) if dims else 1
    inits = {i.name: i for i in m.graph.initializer}
    free = {"Shape", "Reshape", "Squeeze", "Unsqueeze", "Slice", "Gather", "GatherElements", "Concat", "Expand",
            "Cast", "Constant", "Identity", "Split", "Pad", "Transpose"}
    matmul = elementwise = 0
    for node in m.graph.node:
        if node.op_type in ("Gemm", "MatMul"):
            # The weight is B ([K, N], features last) in torch's export and A ([M, K], features
            # first) in gyroage's hand-laid graph: 2 flops per weight, plus the bias.
            w = next((inits[i] for i in node.input[:2] if i in inits), None)
            if w is not None:
                out = w.dims[1] if w.name == node.input[1] else w.dims[0]
                if any(a.name in ("transA", "transB") and a.i for a in node.attribute):
                    out = w.dims[0] if w.name == node.input[1] else w.dims[1]
                matmul += 2 * int(np.prod(w.dims)) + (out if len(node.input) > 2 else 0)
        elif node.op_type not in free:
            elementwise += max(shapes.get(o, 1) for o in node.output)
    return {"matmul": matmul, "elementwise": elementwise, "total": matmul + elementwise, "nodes": len(m.graph.node)}


def density_rate(seconds: float = 3.0) -> dict:
    """In-process density evaluations per second (2 threads, default batch) on the card's grid."""
    from gyroage.core.density import FlowDensity

    d = FlowDensity(threads=2)
    rng = np.random.default_rng(0)
    n = 4000
    lp, c, e = rng.uniform(0, 1.3, n), rng.uniform(0.5, 2.5, n), np.full(n, 0.03)
    from gyroage.core.posterior import age_grid

    g = age_grid(d.card.age_grid["log10_age_min"], d.card.age_grid["log10_age_max"], d.card.age_grid["n"])
    d.log_prob_grid(lp[:200], c[:200], e[:200], g)
    best, best_cpu, t0 = 0.0, 0.0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        t, c0 = time.perf_counter(), time.process_time()
        d.log_prob_grid(lp, c, e, g)
        best = max(best, n * g.size / (time.perf_counter() - t))
        best_cpu = max(best_cpu, n * g.size / max(time.process_time() - c0, 1e-9))
    # per CPU-second: what each core delivers when it is not taken by other processes
    return {"evals_per_s": best, "evals_per_cpu_s": best_cpu, "batch": d.batch, "threads": d.threads}


def bytecode(package: Path, keep: bool) -> None:
    """Give the checkout's modules their bytecode, as ``pip install`` gives an installed package's (gyronet's has it),
    or take it away (``keep=False``) and keep the timed processes from writing it back. A machine with
    PYTHONDONTWRITEBYTECODE=1 never writes it for an editable checkout, so every timed process would compile gyroage's
    sources again (about 0.1 s of CPU here) while the peers load theirs."""
    import compileall
    import shutil

    if keep:
        compileall.compile_dir(str(package), quiet=1)
        return
    for cache in package.rglob("__pycache__"):
        shutil.rmtree(cache)
    ENV["PYTHONDONTWRITEBYTECODE"] = "1"  # else the first timed run writes it, and the rest load it


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stars", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--big", type=int, default=10, help="memory check: also run stars x BIG")
    ap.add_argument("--ref-grid", type=int, default=2001, help="dense reference grid for the accuracy check")
    ap.add_argument("--skip", nargs="*", default=[], help="parts to skip: gyronet torch dask memory accuracy cold")
    ap.add_argument("--json", type=Path, default=None, help="also write the raw numbers here")
    ap.add_argument("--model", type=Path, default=None,
                    help="also time gyroage estimate --model MODEL (a candidate) in the same rounds")
    ap.add_argument("--magnitudes", action="store_true",
                    help="give the stars G_0 and parallax too, so a model's main-sequence term is evaluated")
    ap.add_argument("--no-bytecode", action="store_true",
                    help="time gyroage compiling its own modules in every process (no __pycache__), as the runs "
                         "before the eighteenth session did on machines that set PYTHONDONTWRITEBYTECODE=1")
    a = ap.parse_args(argv)
    bytecode(ROOT / "gyroage", keep=not a.no_bytecode)
    tmp = Path(tempfile.mkdtemp(prefix="gyroage-bench-"))
    stars = tmp / "stars.csv"
    # gyroage's input; the peers always read the same stars without magnitudes
    ours = tmp / "stars_magnitudes.csv" if a.magnitudes else stars
    make_stars(a.stars, stars, magnitudes_path=ours if a.magnitudes else None)
    n = a.stars
    res: dict = {"stars": n, "machine": {"cpus": len(os.sched_getaffinity(0)), "python": platform.python_version(),
                                         "load_before": os.getloadavg()}, "magnitudes": a.magnitudes,
           "gyroage_bytecode": not a.no_bytecode}

    runs: dict[str, list[tuple[float, float, float]]] = {}
    jobs = {"gyroage": gyroage(str(ours), "-o", str(tmp / "gyroage.csv"))}
    if a.model is not None:
        jobs["gyroage --model"] = gyroage(str(ours), "-o", str(tmp / "candidate.csv"), "--model", str(a.model))
    if "gyronet" not in a.skip:
        jobs["gyronet"] = [sys.executable, "-c", GYRONET, str(stars), str(tmp / "gyronet.csv")]
    if "torch" not in a.skip:
        jobs["torch (batched, 2 threads)"] = [sys.executable, "-c", TORCH, str(stars), str(tmp / "torch.csv")]
    if "dask" not in a.skip:
        jobs["gyroage --engine dask --workers 2"] = gyroage(str(stars), "-o", str(tmp / "dask.parquet"),
                                                            "--engine", "dask", "--workers", "2")
        jobs["gyroage -o parquet (local)"] = gyroage(str(stars), "-o", str(tmp / "local.parquet"))
    for r in range(a.repeats):  # interleaved, so drift hits every tool alike
        for name, cmd in jobs.items():
            runs.setdefault(name, []).append(timed(cmd))
            print(f"round {r + 1} {name}: {runs[name][-1][0]:.2f} s", file=sys.stderr, flush=True)
    res["runs"] = {k: {"wall_s": [w for w, _, _ in v], "median_s": statistics.median(w for w, _, _ in v),
                       "stars_per_s": n / statistics.median(w for w, _, _ in v),
                       "cpu_s": [c for _, _, c in v], "stars_per_cpu_s": n / statistics.median(c for _, _, c in v),
                       "peak_rss_mib": max(m for _, m, _ in v)}
                   for k, v in runs.items()}
    base = res["runs"]["gyroage"]["median_s"]
    for k in res["runs"]:
        res["runs"][k]["ratio_vs_gyroage"] = res["runs"][k]["median_s"] / base
    if "gyronet" in res["runs"]:
        for key, name in (("gyroage", "gyroage"), ("candidate", "gyroage --model")):
            if name in runs:  # wall-time ratios round by round: the rounds share the machine's drift
                res[f"{key}_over_gyronet_per_round"] = [g[0] / m[0] for g, m in zip(runs["gyronet"], runs[name])]
    if "dask" not in a.skip:
        a1, b1 = pd.read_parquet(tmp / "local.parquet"), pd.read_parquet(tmp / "dask.parquet")
        cols = [c for c in a1.columns if c.startswith("age_") and c.endswith("_myr")]  # not the age_flags text
        x, y = a1[cols].to_numpy(), b1[cols].to_numpy()
        ok = ~np.isnan(x)
        res["dask_max_rel_diff"] = float(np.max(np.abs(x[ok] / y[ok] - 1))) if ok.any() else 0.0

    if "memory" not in a.skip:
        big = tmp / "big.csv"
        make_stars(n * a.big, big, seed=1)
        w_small, m_small, _ = timed(gyroage(str(stars), "-o", str(tmp / "m1.csv")))
        w_big, m_big, _ = timed(gyroage(str(big), "-o", str(tmp / "m2.csv")))
        res["memory"] = {"small_rows": n, "small_peak_rss_mib": m_small, "small_wall_s": w_small,
                         "big_rows": n * a.big, "big_peak_rss_mib": m_big, "big_wall_s": w_big,
                         "ratio": m_big / m_small}
        big.unlink()

    if "cold" not in a.skip:
        one = tmp / "one.csv"
        one.write_text("prot,bp_rp0\n12.3,1.1\n")
        cold = {"python -c pass": [sys.executable, "-c", "pass"],
                "python -c 'import numpy, pandas, onnxruntime'": [sys.executable, "-c",
                                                                   "import numpy, pandas, onnxruntime"],
                "gyroage estimate (1 star)": gyroage(str(one), "-o", str(tmp / "one_out.csv"))}
        timed(cold["gyroage estimate (1 star)"])  # warm the file cache
        res["cold_start_s"] = {k: statistics.median(timed(c)[0] for _ in range(5)) for k, c in cold.items()}
        probe = "import sys, gyroage.cli; from gyroage.core import density, estimate; from gyroage import engines; " \
                "print('torch' in sys.modules)"
        res["torch_imported_by_estimate"] = subprocess.run([sys.executable, "-c", probe], env=ENV, cwd=ROOT,
                                                           capture_output=True, text=True, check=True).stdout.strip()

    from gyroage.core.modelcard import DENSITY_FILE, load_card
    from gyroage.files import json_text

    _, model_dir = load_card()
    res["flops_per_eval"] = flops_per_eval(model_dir / DENSITY_FILE)
    res["density"] = density_rate()
    res["density"]["gflops"] = res["density"]["evals_per_s"] * res["flops_per_eval"]["total"] / 1e9
    res["density"]["gflops_per_cpu_s"] = res["density"]["evals_per_cpu_s"] * res["flops_per_eval"]["total"] / 1e9
    if "accuracy" not in a.skip:
        # the reference reads the file gyroage read (with --magnitudes, the main-sequence term moves the ages)
        out = subprocess.run([sys.executable, "-c", REFERENCE, str(ours), str(tmp / "gyroage.csv"), str(a.ref_grid)],
                             env=ENV, cwd=ROOT, capture_output=True, text=True, check=True)
        res["accuracy_vs_dense_grid"] = json.loads(out.stdout)
    res["machine"]["load_after"] = os.getloadavg()
    text = json_text(res, indent=1)  # strict JSON: a non-finite figure is null
    print(text)
    if a.json:
        a.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
