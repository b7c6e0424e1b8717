"""What :func:`gyroage.build.loco.run_folds` checks before a fold trains: which clusters are held out, that the folds
can train at all, whether a saved fold may be reused and whether the main-sequence term can be fitted in each; and
what ``validate --write-card`` checks: that the card's model was trained with the validated settings and catalogue."""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from gyroage.build.catalogue import (
    Selection,
    TrainingSet,
    check_excluded,
    cluster_table,
    match_clusters,
    read_selection,
    repeats,
    training_set,
)
from gyroage.build.main_sequence import why_no_term
from gyroage.errors import UserError

# loco's ValidateSettings, which this module cannot import (loco imports it): any dataclass with a main-sequence field
Settings = TypeVar("Settings")


def read_hashed(path: str | Path, notices: bool = True) -> tuple[Selection, str]:
    """(:func:`gyroage.build.catalogue.read_selection` of ``path``, the SHA-256 of the bytes it read): hashed before
    and after reading, a file changed meanwhile refused in one line. A hash taken after training named an edited
    file as the one trained on (review V55, 4); read_table reads paths (any format), so the bytes are hashed twice."""
    from gyroage.core.modelcard import sha256

    before = sha256(path) if Path(path).is_file() else None  # a missing file: read_selection's own refusal
    selection = read_selection(path, notices)
    if sha256(path) != before:
        raise UserError(f"rotator catalogue {path} changed while it was read: run again once it is written")
    return selection, before


def eligible_clusters(frame: pd.DataFrame, min_members: int) -> pd.DataFrame:
    """Clusters with >= ``min_members`` selected stars, youngest first (cluster, n_stars, age_myr)."""
    t = cluster_table(frame)
    return t[t["n_stars"] >= min_members].reset_index(drop=True)


def chosen_clusters(selection: Selection, clusters: list[str] | None, min_members: int,
                    exclude: Iterable[str], source: str = "the settings", whole_for: str = "") -> list[str]:
    """The clusters a run holds out, youngest first: ``clusters`` (as users write them; all by default) of those with
    ``min_members`` selected stars (``selection``: the catalogue's quality selection, read once). A name that is no
    such cluster, an ``exclude`` (the exclude_clusters setting) not written as the catalogue writes it, or folds that
    could not train (:func:`check_folds_can_train`) are refused in one line, ``source`` naming where exclude_clusters
    came from. ``whole_for`` (``--write-card DIR``): a subset is refused too, since the card's validation, and
    group-age's single width taken from it, stand for every cluster (a 6-cluster run moved it 0.078 -> 0.198 dex)."""
    frame, left_out = selection.frame, selection.clusters_left_out
    names = eligible_clusters(frame, min_members)["cluster"].tolist()
    if not names:  # nothing to hold out: say so, rather than fail on an empty table once the folds are "done"
        largest = int(cluster_table(frame)["n_stars"].max()) if len(frame) else 0
        raise UserError(f"no cluster has {min_members} or more selected members (--min-members; the largest has "
                        f"{largest})")
    if clusters:
        clusters = match_clusters(clusters, frame["cluster"], left_out)  # "NGC 6811", ngc_6811: NGC6811
        small = [c for c in clusters if c not in names]
        if small:  # its count and the option that admits it (review V55, 7)
            n = int((frame["cluster"] == small[0]).sum())
            raise UserError(f"cluster {small[0]} has {n} selected members, fewer than --min-members {min_members} "
                            f"(give --min-members {n} to validate it)")
        if whole_for and set(clusters) != set(names):
            raise UserError(f"--write-card {whole_for}: --clusters holds {len(set(clusters))} of the {len(names)} "
                            f"clusters with {min_members} or more selected members, and the card's validation is "
                            "every one's: leave --clusters out (or use --force to write anyway)")
        names = [c for c in names if c in set(clusters)]
    check_excluded(exclude, frame["cluster"], left_out, source)
    check_folds_can_train(frame, names, exclude)
    return names


def check_folds_can_train(frame: pd.DataFrame, held_out: list[str], exclude: Iterable[str] = ()) -> None:
    """Refuse, in one line, a run whose folds could not train: each fold trains on the quality-selected stars of
    the other clusters but those ``exclude`` names (the exclude_clusters setting), which must hold at least two
    clusters and two ages (training refuses one age, or no star, but only after other folds have trained)."""
    exclude = list(exclude)
    for c in held_out:
        rest = frame[(frame["cluster"] != c) & ~frame["cluster"].isin(exclude)]
        n_clusters, n_ages = rest["cluster"].nunique(), rest["fiducial_age_Myr"].nunique()
        if n_clusters < 2 or n_ages < 2:
            besides = f" and the exclude_clusters setting's {', '.join(exclude)}" if exclude else ""
            raise UserError(f"too few clusters to validate: without {c}{besides} the catalogue leaves {n_clusters} "
                            f"cluster(s) of {n_ages} age(s) to train on (validate needs 3 or more clusters, and 2 or "
                            "more ages besides each held-out one)")


def rows_sha256(data: TrainingSet) -> str:
    """SHA-256 of what a fold trains and scores on: every star of the training arrays, in order (the held-out ones
    are among them, where the fold's ``source_row`` points). The catalogue's SHA-256 does not name them: a new way of
    reading the same file (exact repeats used once, two spellings of a cluster merged, a negative e_BPRP_0 read as
    missing) changes them, and a fold saved before it gave its stars another star's truth (:func:`fold_from`). Hashed:
    each field's name and values in order, numbers as float64 bytes, names as JSON."""
    h = hashlib.sha256()
    for name in data.__dataclass_fields__:
        values = getattr(data, name)
        h.update(name.encode() + b"\0")
        if values.dtype.kind in "fiub":
            h.update(np.ascontiguousarray(values, dtype=np.float64).tobytes())
        else:  # names and period sources: JSON keeps "a", "b" apart from "a\0b"
            h.update(json.dumps([str(v) for v in values.tolist()]).encode())
    return h.hexdigest()


def fold_from(path: Path, catalog_sha: str, rows_sha: str, held_rows: np.ndarray,
              read_as_before: Callable[[], bool]) -> bool:
    """Whether the saved fold at ``path`` was trained and scored on this catalogue's stars: the catalogue's SHA-256
    (``catalog_sha``) and its selected rows' (:func:`rows_sha256`, ``rows_sha``). The settings key names the training
    settings only. A fold saved before its rows were hashed is reused only where what it stored still holds: its
    held-out rows are this catalogue's rows of its cluster (``held_rows``, position and count), and the catalogue reads
    as it did before (:func:`read_as_before`, asked only then); older still, before the
    catalogue's hash, the held-out count stands for it."""
    with np.load(path) as z:
        meta = json.loads(str(z["meta"]))
        source = z["source_row"]
    if "catalog_sha256" in meta and meta["catalog_sha256"] != catalog_sha:
        return False
    if "rows_sha256" in meta:
        return meta["rows_sha256"] == rows_sha
    if "catalog_sha256" not in meta and meta.get("n_stars") != len(held_rows):
        return False
    return np.array_equal(source, held_rows) and read_as_before()


def read_as_before(raw: pd.DataFrame) -> bool:
    """Whether the catalogue ``raw`` (as :func:`gyroage.build.catalogue.load_catalogue` reads it) gives the rows it
    gave a fold saved before the fold's stars were hashed (:func:`rows_sha256`): it holds no repeat as the loader
    judges one now (:func:`gyroage.build.catalogue.repeats`, an exact copy, used once), and the loader neither merged
    a cluster spelt two ways, read a negative e_BPRP_0 as missing, nor left out a period limit (``l_Prot``; its
    ``read_changes``). A fold saved before may have trained on any of them. Only these four are checked: older
    changes (quality and optional columns matched ignoring case, b9d37ab and 4aabda3) are not, and README asks for
    --force there."""
    changes = raw.attrs.get("read_changes", {})
    return not repeats(raw).any() and not any(changes.get(k) for k in ("spellings_merged", "negative_errors",
                                                                       "period_limits"))


def stale_folds(fold_dir: Path, names: list[str], raw: pd.DataFrame, frame: pd.DataFrame,
                catalog_sha: str) -> list[str]:
    """The clusters of ``names`` whose saved fold in ``fold_dir`` was not trained on this catalogue's stars
    (:func:`fold_from`): trained again."""
    saved = [c for c in names if (fold_dir / f"{c}.npz").is_file()]
    if not saved:
        return []
    rows_sha = rows_sha256(training_set(frame))
    clusters = frame["cluster"].astype(str).to_numpy()
    return [c for c in saved if not fold_from(fold_dir / f"{c}.npz", catalog_sha, rows_sha,
                                               np.flatnonzero(clusters == c), lambda: read_as_before(raw))]


def source_files(root: Path) -> list[str]:
    """The regular ``*.py`` files under ``root``, relative posix paths (sorted). Symlinked sub-directories are walked
    (rglob skipped them, so their edits went unseen), each real directory once (a link loop ends); a dangling link
    (an editor's ``.#x.py`` lock) or a directory named ``x.py`` is no source file (a traceback; review V49, 1, 4)."""
    seen, out = set(), []
    for here, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(here)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        out += [Path(here, f).relative_to(root).as_posix() for f in files
                if f.endswith(".py") and os.path.isfile(os.path.join(here, f))]
    return sorted(out)


def source_sha256_of(root: Path) -> str | None:
    """SHA-256 over the source under ``root`` (:func:`source_files`), each relative path and its bytes' SHA-256
    hashed; None when there is none to read (bytecode only, or a zipped package), which was the SHA-256 of nothing:
    every such install "the same gyroage" (review V49, 4)."""
    rels, h = source_files(root), hashlib.sha256()
    for rel in rels:
        h.update(rel.encode() + b"\0" + hashlib.sha256((root / rel).read_bytes()).digest())
    return h.hexdigest() if rels else None


@functools.cache
def source_sha256() -> str | None:
    """:func:`source_sha256_of` the gyroage package's own directory. Computed once per process."""
    import gyroage

    return source_sha256_of(Path(gyroage.__file__).resolve().parent)


def code_version() -> dict:
    """The gyroage that trains a fold, as its meta records it: the version (for the line) and :func:`source_sha256`.
    The settings key names the settings only, so a fold trained by other code (another training constant, say) was
    reused without a word (review V46, 1); the git commit recorded first missed uncommitted edits, never changed in
    a checkout git refuses to read, and changed with a docs-only commit or an installed copy (review V47, 1, 5, 7)."""
    import gyroage

    return {"version": gyroage.__version__, "source_sha256": source_sha256()}


def same_code(saved: dict | None, code: dict) -> bool:
    """Whether a fold's recorded gyroage is ``code``: never when this one's source could not be read (unknown)."""
    return saved == code and code.get("source_sha256") is not None


def other_version_folds(fold_dir: Path, names: list[str], code: dict) -> dict[str, dict | None]:
    """The saved folds of ``names`` in ``fold_dir`` trained by another gyroage than ``code`` (:func:`code_version`),
    with the one that trained each (None: saved before folds recorded it; one recorded by its git commit, before
    folds recorded their source, is another gyroage too; every fold, when this gyroage's source is unread)."""
    out = {}
    for c in names:
        if (fold_dir / f"{c}.npz").is_file():
            with np.load(fold_dir / f"{c}.npz") as z:
                saved = json.loads(str(z["meta"])).get("gyroage")
            if not same_code(saved, code):
                out[c] = saved
    return out


def other_version_text(folds: dict[str, dict | None], code: dict, keep: bool) -> str:
    """The line saying that saved folds were trained by another gyroage (:func:`other_version_folds`), which and
    why, and what happens to them: trained again, or reused with ``keep`` (--keep-folds)."""
    def named(v: dict | None) -> str:
        if not v:
            return "a gyroage that recorded no version (saved before folds recorded it)"
        if "source_sha256" in v and v["source_sha256"] is None:
            return f"gyroage {v.get('version')} (its source could not be read: no *.py file in its package)"
        if v.get("source_sha256"):
            return f"gyroage {v.get('version')} (source {str(v['source_sha256'])[:12]})"
        commit = f"commit {v['commit'][:12]}, " if v.get("commit") else ""
        return f"gyroage {v.get('version')} ({commit}saved before folds recorded their source)"

    n, versions = len(folds), dict.fromkeys(named(v) for v in folds.values())
    edited = any(v and v.get("source_sha256") for v in folds.values())
    why = ": its source differs (a gyroage/*.py file);" if edited else ":"
    if code.get("source_sha256") is None:  # bytecode only or zipped: no two codes can be told apart
        why = ": no fold is known to be its own;"
    what = "reused as --keep-folds asks" if keep else "training again (--keep-folds reuses them)"
    return f"{n} saved fold{'' if n == 1 else 's'} {'was' if n == 1 else 'were'} trained by {', '.join(versions)}, " \
           f"not this {named(code)}{why} {what}"


def kept_other_gyroage(folds: dict[str, dict], seed: int) -> dict:
    """``{"folds_of_other_gyroage": ...}`` for a seed's ``loco_summary.json`` (and so a card's validation) when its
    saved ``folds`` (:func:`gyroage.build.loco.load_folds`) include some another gyroage trained, which only
    --keep-folds keeps: how many, which clusters (by seed), which code (:func:`code_version`); else ``{}``. The line
    saying so went to stderr alone, and the figures are partly that code's flows' (review V47, 8)."""
    code = code_version()
    other = {c: f["meta"].get("gyroage") for c, f in folds.items() if not same_code(f["meta"].get("gyroage"), code)}
    if not other:
        return {}
    return {"folds_of_other_gyroage": {"n_folds": len(other), "clusters": {str(seed): sorted(other)},
                                       "trained_by": _distinct(other.values()), "this_gyroage": code}}


def kept_across_seeds(summaries: Iterable[dict]) -> dict:
    """:func:`kept_other_gyroage`'s records of every seed's summary, as one (the top level's): ``{}`` if none."""
    found = [s["folds_of_other_gyroage"] for s in summaries if s.get("folds_of_other_gyroage")]
    if not found:
        return {}
    return {"folds_of_other_gyroage": {
        "n_folds": sum(f["n_folds"] for f in found), "clusters": {k: v for f in found for k, v in f["clusters"].items()},
        "trained_by": _distinct(v for f in found for v in f["trained_by"]), "this_gyroage": found[0]["this_gyroage"]}}


def _distinct(records: Iterable[dict | None]) -> list[dict | None]:
    return list({json.dumps(r, sort_keys=True): r for r in records}.values())


def val_clusters_capped(frame: pd.DataFrame, held_out: list[str], train: dict) -> str | None:
    """:func:`gyroage.build.training.val_clusters_said` (train's notice) for the first fold (of ``held_out``) it
    concerns, trained with ``train`` (TrainSettings as a dict), said once here since the folds train quietly; the
    others differ by at most the held-out cluster."""
    from gyroage.build.training import TrainSettings, val_clusters_said  # torch: only where folds are about to train

    s = TrainSettings.from_dict(train)
    for c in held_out:
        note = val_clusters_said(training_set(frame[frame["cluster"] != c]), s)
        if note:  # "and likely the others" only when there are others
            return f"fold {c}{' and likely the others' if len(held_out) > 1 else ''}: {note}"
    return None


def without_unfit_term(frame: pd.DataFrame, names: list[str], s: Settings, fitted: dict) -> tuple[Settings, str | None]:
    """(``s``, a :class:`gyroage.build.loco.ValidateSettings`, with the main-sequence term off, and the notice saying
    why) when the term cannot be fitted in a fold of the run: the quality-selected catalogue (``frame``) has no G_0 or
    parallax column, or without a held-out cluster (of ``names``, :func:`chosen_clusters`) too few clusters are left
    (its only 100 Myr-1 Gyr one, say). The fits fail only after every fold has trained; here they are made first,
    into ``fitted`` (which the analysis reads). With ``s.main_sequence_asked`` (--main-sequence) such a catalogue is
    refused instead; else (``s``, None)."""
    if not s.main_sequence:
        return s, None
    why = why_no_term(frame, names, fitted)
    if why is None:
        return s, None
    if s.main_sequence_asked:
        raise UserError(f"--main-sequence: {why} (the term needs G_0 and dr3_parallax_zpt_corrected of clusters of "
                        "several ages): validate with --no-main-sequence")
    # said even with -q: the figures are then rotation's alone, unlike the card's
    return replace(s, main_sequence=False, main_sequence_calibration_dict={}), (
        f"the main-sequence term is off ({why}): held-out stars are dated from rotation alone, as with "
        "--no-main-sequence")


def catalogue_record(path: str | Path, sha: str | None = None) -> dict:
    """The validated catalogue as the summary and the card's ``validation`` record it: its file name and SHA-256
    (``sha`` when the caller has it), as the card's ``training.catalog`` records the training catalogue."""
    from gyroage.core.modelcard import sha256

    return {"file": Path(path).name, "sha256": sha or sha256(path)}


def catalogue_differs(trained: dict | None, validated: dict | None) -> bool:
    """Whether two catalogue records (:func:`catalogue_record`) name different SHA-256; a side without a recorded hash
    (a summary written before it was recorded) is not compared."""
    want, got = (trained or {}).get("sha256"), (validated or {}).get("sha256")
    return bool(want and got and want != got)


def refuse_other_catalogue(model_dir: str | Path, trained: dict | None, validated: dict | None) -> None:
    """Refuse, in one line naming both, to write a validation of one catalogue into the card of a model trained on
    another (:func:`catalogue_differs`)."""
    if catalogue_differs(trained, validated):
        want, got = trained["sha256"], validated["sha256"]
        raise UserError(f"model in {model_dir} was trained on {trained.get('file', '?')} (SHA-256 {want}), not on the "
                        f"validated catalogue {validated.get('file', '?')} (SHA-256 {got}) (use --force to write anyway)")


def refuse_other_settings(model_dir: str | Path, differences: list[str]) -> None:
    """The one-line refusal to write a validation into a card trained with other settings (``differences``)."""
    raise UserError(f"model in {model_dir} was trained with other settings than the validated ones: "
                    f"{'; '.join(differences)} (use --force to write anyway)")
