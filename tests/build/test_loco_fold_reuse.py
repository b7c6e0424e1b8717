"""validate reuses a saved fold only when it was trained and scored on the stars the catalogue gives now: reading the
same file anew (exact repeats used once, two spellings of one cluster merged) gave a fold's held-out rows another
star's truth while "1 folds already done" was said."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gyroage.build.catalogue import load_catalogue, quality_select, training_set
from gyroage.core.modelcard import sha256
from tests.conftest import run_cli

CLUSTERS = [("IC2602", 40), ("Pleiades", 120), ("Praesepe", 700), ("NGC6811", 1000), ("M67", 4000)]


def rotators(clusters=CLUSTERS, n: int = 40, seed: int = 0) -> pd.DataFrame:
    """A small catalogue of ``n`` stars per (name, age in Myr) cluster, periods growing with age and colour."""
    rng = np.random.default_rng(seed)
    parts = []
    for name, age in clusters:
        colour = rng.uniform(0.6, 2.2, n)
        prot = np.clip(0.5 + 8 * (colour - 0.4) * (age / 600) ** 0.5 + rng.normal(0, 0.3, n), 0.2, 60)
        parts.append(pd.DataFrame({"cluster": name, "Prot": prot.round(4), "BPRP_0": colour.round(4),
                                   "e_BPRP_0": rng.uniform(0.01, 0.03, n).round(4), "fiducial_age_Myr": age}))
    return pd.concat(parts, ignore_index=True)


def with_repeats(cat: pd.DataFrame, of: str = "Pleiades", n: int = 10) -> pd.DataFrame:
    """``cat`` with the first ``n`` rows of cluster ``of`` repeated exactly, right after that cluster's rows."""
    rows = cat.index[cat["cluster"] == of]
    return pd.concat([cat.loc[: rows[-1]], cat.loc[rows[:n]], cat.loc[rows[-1] + 1:]], ignore_index=True)


def save_fold(path: Path, source_row: np.ndarray, **meta) -> None:
    """A fold file as run_fold writes it (the likelihoods do not matter here)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, loglike=np.zeros((len(source_row), 3), np.float32), grid=np.linspace(6, 10, 3),
                        source_row=np.asarray(source_row), meta=json.dumps({"n_stars": len(source_row), **meta}))


def stale(csv: Path, folds: Path, names: list[str]) -> list[str]:
    from gyroage.build.loco_checks import stale_folds

    raw = load_catalogue(csv, notices=False)
    return stale_folds(folds, names, raw, quality_select(raw), sha256(csv))


def rows_of(csv: Path, cluster: str) -> np.ndarray:
    return np.flatnonzero(quality_select(load_catalogue(csv, notices=False))["cluster"] == cluster)


def test_a_fold_saved_before_repeats_were_used_once_is_trained_again(tmp_path):
    """V11's dq.csv: 10 exact repeats of Pleiades rows before Praesepe. The fold saved before (its held-out rows
    counted the repeats: 90-129) was reused and scored stars 80-89 of Praesepe with NGC 6811's age."""
    csv = tmp_path / "dq.csv"
    with_repeats(rotators()).to_csv(csv, index=False)
    folds = tmp_path / "folds"
    save_fold(folds / "Praesepe.npz", np.arange(90, 130), catalog_sha256=sha256(csv))
    assert stale(csv, folds, ["Praesepe"]) == ["Praesepe"]
    # the repeats after the held-out cluster leave its rows in place, but the fold trained on them twice
    save_fold(folds / "IC2602.npz", rows_of(csv, "IC2602"), catalog_sha256=sha256(csv))
    assert stale(csv, folds, ["IC2602"]) == ["IC2602"]


def test_a_fold_saved_before_spellings_were_merged_is_trained_again(tmp_path):
    """V11's sp.csv: 'NGC 2516' x30 and 'NGC2516' x15. The held-out 'NGC 2516' fold (30 stars, trained on the other
    15) was reused for the merged cluster of 45; a fold of another cluster trained on them as two clusters."""
    cat = rotators([*CLUSTERS[:2], ("NGC 2516", 150), *CLUSTERS[2:]])
    cat.loc[cat.index[cat["cluster"] == "NGC 2516"][:15], "cluster"] = "NGC2516"
    csv = tmp_path / "sp.csv"
    cat.to_csv(csv, index=False)
    folds = tmp_path / "folds"
    save_fold(folds / "NGC 2516.npz", np.flatnonzero(cat["cluster"] == "NGC 2516"), catalog_sha256=sha256(csv))
    save_fold(folds / "Praesepe.npz", rows_of(csv, "Praesepe"), catalog_sha256=sha256(csv))
    assert stale(csv, folds, ["NGC 2516", "Praesepe"]) == ["NGC 2516", "Praesepe"]


def test_a_fold_saved_before_negative_colour_errors_were_read_as_missing_is_trained_again(tmp_path):
    """A negative e_BPRP_0 is read as missing (the star left out) since 4f4f551: a fold saved before then may have
    trained on that star, so it is reused only when the file holds no negative e_BPRP_0; a star listed again with
    another ref (two rows, as before) does not make it stale."""
    cat = rotators()
    cat.loc[cat.index[cat["cluster"] == "M67"][0], "e_BPRP_0"] = -0.02
    csv = tmp_path / "neg.csv"
    cat.to_csv(csv, index=False)
    folds = tmp_path / "folds"
    save_fold(folds / "IC2602.npz", rows_of(csv, "IC2602"), catalog_sha256=sha256(csv))
    assert stale(csv, folds, ["IC2602"]) == ["IC2602"]
    ref = pd.concat([rotators().assign(ref="A"), rotators().iloc[[5]].assign(ref="B")], ignore_index=True)
    ref.to_csv(csv, index=False)
    save_fold(folds / "IC2602.npz", rows_of(csv, "IC2602"), catalog_sha256=sha256(csv))
    assert stale(csv, folds, ["IC2602"]) == []


def test_a_fold_of_the_same_stars_is_reused_whenever_it_was_saved(tmp_path):
    """Folds saved before their stars were hashed (the stored LOCO runs of the shared catalogue) stay usable where
    the catalogue reads as before; a hashed fold is judged by its hash."""
    from gyroage.build.loco_checks import rows_sha256

    csv = tmp_path / "cat.csv"
    rotators().to_csv(csv, index=False)
    rows = rows_sha256(training_set(quality_select(load_catalogue(csv, notices=False))))
    folds = tmp_path / "folds"
    save_fold(folds / "IC2602.npz", rows_of(csv, "IC2602"), catalog_sha256=sha256(csv))  # before the stars' hash
    save_fold(folds / "Pleiades.npz", rows_of(csv, "Pleiades"))  # before the catalogue's hash
    save_fold(folds / "Praesepe.npz", rows_of(csv, "Praesepe"), catalog_sha256=sha256(csv), rows_sha256=rows)
    save_fold(folds / "M67.npz", rows_of(csv, "M67"), catalog_sha256=sha256(csv), rows_sha256="0" * 64)
    save_fold(folds / "NGC6811.npz", rows_of(csv, "NGC6811")[:-1], catalog_sha256=sha256(csv))
    assert stale(csv, folds, [c for c, _ in CLUSTERS]) == ["NGC6811", "M67"]


@pytest.mark.slow
def test_validate_retrains_a_fold_saved_before_the_catalogue_was_read_anew(tmp_path):
    """End to end, V11's case: a Praesepe fold whose held-out rows counted 10 repeats (trained here on the repeats
    made distinct, then labelled with the repeated file's SHA-256 and no stars' hash, as gyroage before wrote it) was
    reused: '1 folds already done', and 10 of its 40 stars carried NGC 6811's age of 1000 Myr."""
    pytest.importorskip("torch")
    cat = with_repeats(rotators())
    distinct, repeated = tmp_path / "distinct.csv", tmp_path / "dq.csv"
    cat.to_csv(repeated, index=False)
    cat.assign(Prot=cat["Prot"] + 1e-4 * cat.duplicated()).to_csv(distinct, index=False)
    (tmp_path / "fast.json").write_text('{"max_epochs": 1, "n_val_clusters": 0, "flow": {"use_colour_err": false}}')
    args = ["--out", str(tmp_path / "v"), "--clusters", "Praesepe", "--config", str(tmp_path / "fast.json"),
            "--min-members", "10", "--no-main-sequence", "--jobs", "1"]
    r = run_cli("validate", "--catalog", str(distinct), *args)
    assert r.returncode == 0, r.stderr
    (fold,) = (tmp_path / "v" / "folds").glob("*/Praesepe.npz")
    with np.load(fold) as z:
        saved = {k: z[k] for k in z.files}
    meta = json.loads(str(saved["meta"]))
    assert list(saved["source_row"]) == list(range(90, 130)) and "rows_sha256" in meta
    meta = {k: v for k, v in meta.items() if k != "rows_sha256"} | {"catalog_sha256": sha256(repeated)}
    np.savez_compressed(fold, **{**saved, "meta": json.dumps(meta)})
    r = run_cli("validate", "--catalog", str(repeated), *args)
    assert r.returncode == 0, r.stderr
    assert "0 folds already done, 1 to train" in r.stderr and "another catalogue" in r.stderr, r.stderr
    stars = pd.read_csv(tmp_path / "v" / "loco_stars.csv")
    assert len(stars) == 40 and (stars["true_age_myr"] == 700).all()
    again = run_cli("validate", "--catalog", str(repeated), *args)
    assert again.returncode == 0 and "1 fold already done, 0 to train" in again.stderr, again.stderr


def test_an_interrupted_validate_leaves_the_folds_record_of_the_catalogue_they_were_trained_on(tmp_path, monkeypatch):
    """validate wrote folds/<key>/settings.json with the new catalogue's SHA-256 before it trained the folds that
    catalogue makes stale, so after an interrupt the record named a catalogue most folds were not trained on, and
    cmd_term.py scored the old folds as the new catalogue's (review V46, 5; mended then in cmd_term alone). The
    record is written once the folds are trained: an interrupt leaves the one of the catalogue the folds hold."""
    from gyroage.build import loco, loco_fold

    csv = tmp_path / "cat.csv"
    rotators().to_csv(csv, index=False)
    folds = tmp_path / "folds"
    s = loco.ValidateSettings(jobs=1)
    fold_dir = s.fold_dir(folds)
    fold_dir.mkdir(parents=True)
    before = json.dumps({"catalog_sha256": "the catalogue the folds were trained on"})
    (fold_dir / "settings.json").write_text(before)

    def interrupted(task):
        raise KeyboardInterrupt

    monkeypatch.setattr(loco_fold, "run_fold", interrupted)
    with pytest.raises(KeyboardInterrupt):
        loco.run_folds(loco.read_catalogue(csv), folds, ["IC2602"], s, quiet=True)
    assert (fold_dir / "settings.json").read_text() == before
