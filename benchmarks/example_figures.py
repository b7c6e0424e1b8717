"""The README's example figures, drawn with ``gyroage plot`` and the shipped model.

    PYTHONPATH=$PWD python benchmarks/example_figures.py [--catalogue PATH] [--out docs/figures]

Writes posterior_sun.png (the Sun: 25.4 d, (BP-RP)0 = 0.82, reference age 4570 Myr) and sequence.png (the model's
bands at 120, 670 and 2500 Myr over the rotator catalogue's Pleiades, Praesepe and NGC 6819 stars). The catalogue
(default: $GYROAGE_CATALOG, else ../shared/data/open_cluster_rotators.csv) reaches the command on stdin, so no
part of it is written into the repository. Prints each command as it runs it; two plots, a few seconds.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SUN = "name,prot,bp_rp0\nSun,25.4,0.82\n"
SUN_AGE_MYR = 4570.0  # Bouvier & Wadhwa 2010, as catalogs/examples/field_stars.csv
# one cluster near each band's age: Pleiades ~120 Myr, Praesepe ~670 Myr, NGC 6819 ~2.5 Gyr
CLUSTERS = ("NGC6819", "Pleiades", "Praesepe")
AGES_MYR = (120, 670, 2500)


def plot(args: list[str], stdin: str) -> None:
    """Run ``gyroage plot ARGS`` (this checkout's, with this interpreter) reading ``stdin``; stop on any failure."""
    cmd = [sys.executable, "-m", "gyroage.cli", "plot", *args]
    print("gyroage plot " + shlex.join(args), flush=True)
    subprocess.run(cmd, input=stdin, text=True, check=True, cwd=ROOT)


def cluster_stars(catalogue: Path) -> str:
    """The catalogue's stars in :data:`CLUSTERS` as CSV text (cluster, Prot, BPRP_0), in catalogue order."""
    frame = pd.read_csv(catalogue, usecols=["cluster", "Prot", "BPRP_0"])
    return frame[frame["cluster"].isin(CLUSTERS)].to_csv(index=False)


def main() -> None:
    from gyroage.build.catalogue import default_catalogue_path

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalogue", type=Path, default=None, help="rotator catalogue (default: the shared one)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "figures")
    args = ap.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if out.is_relative_to(ROOT):  # the commands run in ROOT: print them as one would type them there
        out = out.relative_to(ROOT)
    plot(["posterior", "-", "-o", str(out / "posterior_sun.png"), "--true-age-myr", f"{SUN_AGE_MYR:g}", "-q"], SUN)
    ages = [a for age in AGES_MYR for a in ("--age", str(age))]
    plot(["sequence", "-o", str(out / "sequence.png"), *ages, "--data", "-", "--colour-by", "cluster", "-q"],
         cluster_stars(args.catalogue or default_catalogue_path()))


if __name__ == "__main__":
    main()
