"""Run ``gyroage crossmatch ids.csv | gyroage estimate -`` for 3 stars against the test fake services.

Prints (markdown) the ADQL / VizieR / MAST queries the command sends and the joined output;
docs/crossmatch_demo.md is this script's output. Usage, from the repository root:
    PYTHONPATH=$PWD python benchmarks/crossmatch_demo.py > docs/crossmatch_demo.md
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
from pytest_httpserver import HTTPServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.crossmatch.fakesky import GA, GB, GC, FakeSky  # noqa: E402


def main() -> None:
    sky = FakeSky()
    server = HTTPServer()
    server.start()
    server.expect_request(re.compile(".*")).respond_with_handler(sky)
    url = server.url_for("/").rstrip("/")
    with tempfile.TemporaryDirectory() as tmp:
        ids = Path(tmp) / "ids.csv"
        ids.write_text(f"name,source_id\nkepler_star,{GA}\ntess_star,{GB}\ngaia_star,{GC}\n")
        env = dict(os.environ, PYTHONPATH=str(ROOT), GYROAGE_GAIA_TAP_URL=url, GYROAGE_VIZIER_URL=url,
                   GYROAGE_MAST_URL=url, GYROAGE_CACHE_DIR=str(Path(tmp) / "cache"))
        cmd = [sys.executable, "-m", "gyroage.cli"]
        xm = subprocess.run(cmd + ["crossmatch", str(ids), "--quiet"], capture_output=True, text=True, env=env,
                            check=True)
        est = subprocess.run(cmd + ["estimate", "-", "--quiet"], input=xm.stdout, capture_output=True, text=True,
                             env=env, check=True)
    server.stop()
    print("# gyroage crossmatch: 3-star example against the test fake services\n")
    print(f"Input:\n```\nname,source_id\nkepler_star,{GA}\ntess_star,{GB}\ngaia_star,{GC}\n```\n")
    print("## Queries sent (in order)\n")
    for service, query in sky.log:
        print(f"- **{service}**: `{query}`")
    print("\nRaw request bodies as astroquery sent them (VizieR and MAST; the TAP ones carry the ADQL above):\n")
    for path, body in sky.raw:
        if "tap/sync" not in path:
            print(f"- `POST {path}`: `{body.replace(chr(10), ' ')[:400]}`")
    print("\n## `gyroage crossmatch ids.csv` (transposed)\n")
    frame = pd.read_csv(io.StringIO(xm.stdout), dtype=str, keep_default_na=False)
    print("```\n" + frame.set_index("name").T.to_string() + "\n```")
    print("\n## `| gyroage estimate -`\n")
    ages = pd.read_csv(io.StringIO(est.stdout), dtype=str, keep_default_na=False)
    cols = ["name", "prot", "prot_source", "bp_rp0", "bp_rp0_err", "age_p16_myr", "age_p50_myr", "age_p84_myr",
            "status"]
    print("```\n" + ages[[c for c in cols if c in ages]].to_string(index=False) + "\n```")


if __name__ == "__main__":
    main()
