"""A million stars through ``gyroage estimate``: whole-process wall time, peak RSS and stars/s at survey scale.

Times, as whole processes (interpreter start to exit, measured with wait4), on one synthetic catalogue:
the local engine CSV -> CSV, CSV -> Parquet, CSV with magnitudes (``abs_g0``) -> CSV, and ``--engine dask``
CSV -> Parquet directory; checks that every output has every input row, in order (``star_id``), that every
bad row has its own non-ok status, and that Dask's ages equal the local engine's (1e-6 relative, text columns
equal); then kills a local run with SIGKILL midway and checks that ``--resume`` gives the uninterrupted
output byte for byte.

The stars are synthetic, never the shared catalogue: colours uniform in (BP-RP)0 0.5-2.5, ages log-uniform in
30 Myr-4 Gyr, periods drawn from the shipped model (``AgeModel.sample_periods``), ``bp_rp0_err`` 0.02, a text
``star_id``, ``abs_g0`` = 4.5 + 3 ((BP-RP)0 - 0.8) + N(0, 0.1) for the magnitudes variant, and 1% bad rows
(period NaN, negative or zero; colour 9.0). They are written only to a temporary directory, removed at the end.

Rerun:  PYTHONPATH=$PWD python benchmarks/bench_scale.py --stars 1000000 --json docs/performance_scale.json
"""

from __future__ import annotations

import argparse
import filecmp
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONWARNINGS="ignore")
BLOCK = 20_000  # stars per sample_periods call: it holds stars x n_points flow values at once (~33 KB a star)
BAD_KINDS = ("nan_period", "negative_period", "zero_period", "colour_9")


def _periods(args: tuple[np.ndarray, np.ndarray, int, int]) -> np.ndarray:
    """One block's periods (days), seeded by the block's index so the catalogue does not depend on --workers."""
    from gyroage import AgeModel

    age, colour, seed, n_points = args
    return AgeModel.load().sample_periods(age, colour, n=1, seed=seed, n_points=n_points)[:, 0]


def make_stars(n: int, folder: Path, workers: int, n_points: int, seed: int = 0) -> pd.Series:
    """Write ``stars.csv`` and ``stars_magnitudes.csv`` of ``n`` synthetic stars into ``folder``.

    Returns each row's kind of bad value ("" for a good row), for the status check.
    """
    rng = np.random.default_rng(seed)
    colour = rng.uniform(0.5, 2.5, n)
    age = 10 ** rng.uniform(np.log10(30.0), np.log10(4000.0), n)
    abs_g0 = 4.5 + 3.0 * (colour - 0.8) + rng.normal(0.0, 0.1, n)
    blocks = [(age[s:s + BLOCK], colour[s:s + BLOCK], seed * 100_003 + i, n_points)
              for i, s in enumerate(range(0, n, BLOCK))]
    # the model's sampler is the slow part (a million stars: minutes); blocks in processes, one per core
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        prot = np.concatenate(list(pool.map(_periods, blocks))) if n else np.empty(0)
    bad = rng.choice(n, int(0.01 * n), replace=False)
    kind = np.full(n, "", dtype=object)
    kind[bad] = np.array(BAD_KINDS, dtype=object)[np.arange(bad.size) % len(BAD_KINDS)]
    prot[kind == "nan_period"] = np.nan
    prot[kind == "negative_period"] = -3.0
    prot[kind == "zero_period"] = 0.0
    colour[kind == "colour_9"] = 9.0
    frame = pd.DataFrame({"star_id": [f"S{i:08d}" for i in range(n)], "prot": prot, "bp_rp0": colour,
                          "bp_rp0_err": np.full(n, 0.02)})
    frame.to_csv(folder / "stars.csv", index=False)
    frame.assign(abs_g0=abs_g0).to_csv(folder / "stars_magnitudes.csv", index=False)
    return pd.Series(kind, name="bad_kind")


# The timed process is started by this small launcher, not by the benchmark itself: a child forked from a process
# holding a million-row table starts with that process's RSS, and Linux carries it into the child's ru_maxrss
# across exec (the first version of this script read 306-753 MiB for runs /usr/bin/time puts at 250-400).
LAUNCH = """
import os, subprocess, sys, time
t = time.perf_counter()
p = subprocess.Popen(sys.argv[2:])
_, status, u = os.wait4(p.pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(f"{os.waitstatus_to_exitcode(status)} {time.perf_counter() - t} {u.ru_maxrss} {u.ru_utime + u.ru_stime}")
"""


def timed(cmd: list[str], kill_after: float | None = None) -> dict:
    """Wall seconds, peak RSS (MiB) and CPU seconds of one child process, measured with wait4 (by ``LAUNCH``).

    The peak RSS is the largest of the process and the descendants it waited for (Dask's worker processes too).
    ``kill_after``: SIGKILL the process after that many seconds (the run is expected to die).
    """
    with tempfile.NamedTemporaryFile("r", suffix=".usage") as usage:
        proc = subprocess.Popen([sys.executable, "-c", LAUNCH, usage.name, *cmd], cwd=ROOT, env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=kill_after is not None)
        try:
            _, err = proc.communicate(timeout=kill_after)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the launcher and the run: no child process left behind
            _, err = proc.communicate()
            return {"exit_code": -signal.SIGKILL, "stderr_tail": err.decode().strip().splitlines()[-2:]}
        code, wall, rss_kib, cpu = usage.read().split()
    err = err.decode()
    if int(code) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({code}): {err[-2000:]}")
    return {"wall_s": float(wall), "peak_rss_mib": int(rss_kib) / 1024.0, "cpu_s": float(cpu),
            "exit_code": int(code), "stderr_tail": err.strip().splitlines()[-2:]}


def gyroage(*args: str) -> list[str]:
    return [sys.executable, "-m", "gyroage.cli", "estimate", *args]


def read_table(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype={"star_id": str, "age_flags": str, "status": str}, keep_default_na=False,
                       na_values=[""])


def check_rows(out: pd.DataFrame, bad_kind: pd.Series) -> dict:
    """Every input row once, in input order, and every bad row with its own non-ok status and no age."""
    n = len(bad_kind)
    ids = np.array([f"S{i:08d}" for i in range(n)], dtype=object)
    bad = (bad_kind != "").to_numpy()
    status = out["status"].astype(str).to_numpy() if len(out) == n else np.array([])
    res = {"rows": len(out), "rows_equal_input": len(out) == n,
           "order_kept": len(out) == n and bool((out["star_id"].astype(str).to_numpy() == ids).all())}
    if len(out) == n:
        res["bad_rows"] = int(bad.sum())
        res["bad_rows_ok_status"] = int((status[bad] == "ok").sum())
        res["bad_rows_with_age"] = int(np.isfinite(out["age_p50_myr"].to_numpy(float)[bad]).sum())
        res["bad_statuses"] = {k: pd.Series(status[(bad_kind == k).to_numpy()]).value_counts().to_dict()
                               for k in BAD_KINDS}
        res["statuses"] = pd.Series(status).value_counts().to_dict()
    res["ok"] = bool(res["rows_equal_input"] and res["order_kept"] and res.get("bad_rows_ok_status", 1) == 0
                     and res.get("bad_rows_with_age", 1) == 0)
    return res


def compare(a: pd.DataFrame, b: pd.DataFrame, rtol: float = 1e-6) -> dict:
    """Largest relative difference of the float columns (NaN where the other is NaN), and text columns equal."""
    worst, text_equal, nan_equal = 0.0, True, True
    for c in a.columns:
        if a[c].dtype.kind == "f":
            x, y = a[c].to_numpy(float), b[c].to_numpy(float)
            nan_equal &= bool((np.isnan(x) == np.isnan(y)).all())
            ok = np.isfinite(x) & np.isfinite(y) & (x != 0)
            if ok.any():
                worst = max(worst, float(np.max(np.abs(y[ok] / x[ok] - 1))))
        else:
            text_equal &= bool((a[c].fillna("").astype(str).to_numpy() == b[c].fillna("").astype(str).to_numpy()).all())
    same_columns = list(a.columns) == list(b.columns) and len(a) == len(b)
    return {"same_columns_and_rows": same_columns, "max_rel_diff": worst, "nan_where_equal": nan_equal,
            "text_equal": text_equal, "agree": bool(same_columns and nan_equal and text_equal and worst <= rtol)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stars", type=int, default=1_000_000, help="synthetic stars (default 1,000,000)")
    ap.add_argument("--workers", type=int, default=2,
                    help="Dask worker processes, and processes drawing the synthetic periods (default 2)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here (strict JSON)")
    ap.add_argument("--n-points", type=int, default=256,
                    help="sample_periods' inverse-CDF grid for the synthetic periods (default 256; its 1024 "
                         "makes the catalogue 4x slower to draw and changes no timing)")
    ap.add_argument("--kill-at", type=float, default=0.4,
                    help="kill-and-resume: SIGKILL after this fraction of the local CSV run's wall time")
    ap.add_argument("--skip", nargs="*", default=[], choices=["magnitudes", "parquet", "dask", "resume"],
                    help="parts to skip")
    a = ap.parse_args()
    if a.stars < 1 or a.workers < 1:
        ap.error("--stars and --workers must be >= 1")
    from gyroage.files import json_text

    tmp = Path(tempfile.mkdtemp(prefix="gyroage-scale-"))
    try:
        t = time.perf_counter()
        bad_kind = make_stars(a.stars, tmp, a.workers, a.n_points)
        res: dict = {"stars": a.stars, "bad_rows": int((bad_kind != "").sum()), "workers": a.workers,
                     "make_stars_s": time.perf_counter() - t, "sample_periods_n_points": a.n_points,
                     "machine": {"cpus": len(os.sched_getaffinity(0)), "python": platform.python_version(),
                                 "load_before": os.getloadavg()},
                     "input_mib": {p.name: p.stat().st_size / 2**20 for p in sorted(tmp.glob("*.csv"))}}
        stars, mags = str(tmp / "stars.csv"), str(tmp / "stars_magnitudes.csv")
        jobs = {"local csv -> csv": (gyroage(stars, "-o", str(tmp / "local.csv"), "--seed", "1"), "local.csv")}
        if "parquet" not in a.skip or "dask" not in a.skip:  # the Dask comparison needs full-precision numbers
            jobs["local csv -> parquet"] = (gyroage(stars, "-o", str(tmp / "local.parquet"), "--seed", "1"),
                                            "local.parquet")
        if "magnitudes" not in a.skip:
            jobs["local csv with abs_g0 -> csv"] = (gyroage(mags, "-o", str(tmp / "local_mag.csv"), "--seed", "1"),
                                                    "local_mag.csv")
        if "dask" not in a.skip:
            jobs[f"dask --workers {a.workers} csv -> parquet dir"] = (
                gyroage(stars, "-o", str(tmp / "dask.parquet"), "--seed", "1", "--engine", "dask", "--workers",
                        str(a.workers)), "dask.parquet")
        res["runs"] = {}
        for name, (cmd, out) in jobs.items():
            run = timed(cmd)
            run["stars_per_s"] = a.stars / run["wall_s"]
            run["check"] = check_rows(read_table(tmp / out), bad_kind)
            res["runs"][name] = run
            print(f"{name}: {run['wall_s']:.1f} s, {run['peak_rss_mib']:.0f} MiB, rows ok {run['check']['ok']}",
                  file=sys.stderr, flush=True)
        if "dask" not in a.skip:
            res["dask_vs_local"] = compare(read_table(tmp / "local.parquet"), read_table(tmp / "dask.parquet"))
        if "resume" not in a.skip:
            kill_after = a.kill_at * res["runs"]["local csv -> csv"]["wall_s"]
            target = tmp / "resumed.csv"
            killed = timed(gyroage(stars, "-o", str(target), "--seed", "1"), kill_after=kill_after)
            sidecar = tmp / f".{target.name}.resume"
            kept = len(list(sidecar.glob("chunk-*"))) if sidecar.is_dir() else 0
            resumed = timed(gyroage(stars, "-o", str(target), "--seed", "1", "--resume"))
            res["kill_and_resume"] = {
                "killed_after_s": kill_after, "killed_exit_code": killed["exit_code"], "chunks_kept": kept,
                "resumed_wall_s": resumed["wall_s"], "resumed_peak_rss_mib": resumed["peak_rss_mib"],
                "resumed_stderr_tail": resumed["stderr_tail"],
                "byte_identical": filecmp.cmp(target, tmp / "local.csv", shallow=False),
                "sidecar_left": sidecar.exists()}
            print(f"kill and resume: byte-identical {res['kill_and_resume']['byte_identical']}", file=sys.stderr)
        res["machine"]["load_after"] = os.getloadavg()
        res["all_checks_pass"] = (all(r["check"]["ok"] for r in res["runs"].values())
                                  and res.get("dask_vs_local", {}).get("agree", True)
                                  and res.get("kill_and_resume", {}).get("byte_identical", True))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = json_text(res, indent=1)  # strict JSON: a non-finite figure is null
    print(text)
    if a.json:
        a.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
