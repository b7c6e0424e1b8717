"""One cluster's periods split by magnitude at fixed colour (a data check): are its fast rotators dwarfs?

The quality-selected members of ``--cluster`` with (BP-RP)0 in ``--colour``, split at de-reddened ``G_0`` =
``--g0``: count, median and interquartile period, and how many have a period from ``--source``. Derived statistics
only; no row of the catalogue is printed. NGC 6819's bright half (docs/validation.md, "Thirty-second session") sits
1.5-2.5 mag above its G dwarfs and rotates at a third of their period: subgiants.

    PYTHONPATH=$PWD python benchmarks/magnitude_split.py [--catalogue PATH] [--cluster NGC6819] \
        [--colour 0.70 0.95] [--g0 15.5] [--source Meibom2015]
"""

from __future__ import annotations

import argparse

import numpy as np

from gyroage.build.catalogue import PERIOD_SOURCE, default_catalogue_path, load_catalogue, quality_select


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalogue", default=str(default_catalogue_path()))
    ap.add_argument("--cluster", default="NGC6819")
    ap.add_argument("--colour", type=float, nargs=2, default=(0.70, 0.95), metavar=("BLUE", "RED"))
    ap.add_argument("--g0", type=float, default=15.5, help="split at this G_0 (mag)")
    ap.add_argument("--source", default="Meibom2015", help="count the stars whose period sources name this")
    a = ap.parse_args()
    cat = quality_select(load_catalogue(a.catalogue, notices=False))
    sel = cat[(cat["cluster"] == a.cluster) & cat["BPRP_0"].between(*a.colour)]
    print(f"{a.cluster}, (BP-RP)0 {a.colour[0]}-{a.colour[1]}, {len(sel)} quality-selected members\n")
    print(f"| G_0 (mag) | stars | median period (d) | interquartile range (d) | with a {a.source} period |")
    print("|---|---|---|---|---|")
    for part in (sel[sel["G_0"] < a.g0], sel[sel["G_0"] >= a.g0]):
        if part.empty:
            continue
        q25, q50, q75 = np.percentile(part["Prot"], [25, 50, 75])
        named = int(part[PERIOD_SOURCE].astype(str).str.contains(a.source, regex=False).sum())
        print(f"| {part['G_0'].min():.2f}-{part['G_0'].max():.2f} | {len(part)} | {q50:.1f} | {q25:.1f}-{q75:.1f} "
              f"| {named} |")


if __name__ == "__main__":
    main()
