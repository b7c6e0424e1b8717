"""Recompute a model card's ``domain.sequence`` from its training catalogue, as training derives it, and rebuild the
posterior graphs that carry it (no retraining: the domain is statistics of the trained stars and labels)::

    python benchmarks/sequence_domain.py models/            # show what changes
    python benchmarks/sequence_domain.py models/ --write-card

The catalogue must be the one the card records (same SHA-256).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gyroage.build.catalogue import default_catalogue_path, load_catalogue, quality_select, training_set
from gyroage.build.export import reexport
from gyroage.build.training import card_sequence_domain
from gyroage.core.modelcard import load_card, sha256, write_card
from gyroage.files import json_text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--catalogue", type=Path, default=None)
    ap.add_argument("--write-card", action="store_true")
    a = ap.parse_args()
    card, model_dir = load_card(a.model)
    path = a.catalogue or default_catalogue_path()
    want = card.training.get("catalog", {}).get("sha256")
    if sha256(path) != want:
        raise SystemExit(f"{path} is not the card's training catalogue (SHA-256 {want})")
    seq = card_sequence_domain(card.training, training_set(quality_select(load_catalogue(path, notices=False))))
    old = card.domain.get("sequence", {})
    for k in seq:
        if seq[k] != old.get(k):
            print(f"{k}: {json_text(old.get(k))}\n  -> {json_text(seq[k])}")
    if a.write_card:
        card.domain["sequence"] = seq
        write_card(card, model_dir)
        reexport(model_dir)  # the posterior graphs carry the domain
        print(f"wrote {model_dir}")


if __name__ == "__main__":
    main()
