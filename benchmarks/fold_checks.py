"""Checks shared by the benchmark scripts that read ``gyroage validate``'s saved folds (cmd_term.py,
group_calibration.py, label_floor.py, calibration_widths.py): a fold trained on another catalogue than its run's
(an interrupted validate leaves a mix), or runs not validated as the card a script writes into was."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import numpy as np


def refuse(message: str) -> NoReturn:
    """One line on stderr and exit 2: a user's mistake, never a traceback."""
    print(f"{Path(sys.argv[0]).name}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def read_summary(table_dir: Path) -> dict:
    """A ``--loco`` table directory's ``loco_summary.json``, refused in one line when it is missing or unreadable
    (a validate interrupted before its tables, a typo): it was a FileNotFoundError traceback."""
    path = Path(table_dir) / "loco_summary.json"
    try:
        summary = json.loads(path.read_text())
    except FileNotFoundError:
        refuse(f"--loco {table_dir} holds no loco_summary.json (not a finished gyroage validate --out): let "
               "validate finish, or name its --out")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        refuse(f"--loco {table_dir}: its loco_summary.json cannot be read ({exc}): run gyroage validate again")
    if not isinstance(summary, dict):
        refuse(f"--loco {table_dir}: its loco_summary.json is not a gyroage validate summary")
    return summary


def table_dirs(outs: list[Path], tables: tuple[str, ...] = ("loco_clusters.csv",)) -> list[Path]:
    """:func:`gyroage.build.loco.seed_table_dirs` of every ``--loco`` directory, each checked first to hold its
    summary and ``tables`` (an interrupted validate leaves its folds without them), else refused in one line."""
    from gyroage.build.loco import seed_table_dirs

    dirs = []
    for out in outs:
        read_summary(out)
        for d in seed_table_dirs(out):
            read_summary(d)
            missing = [name for name in tables if not (d / name).is_file()]
            if missing:
                refuse(f"--loco {d} holds no {', '.join(missing)} (not a finished gyroage validate --out): let "
                       "validate finish")
            dirs.append(d)
    return dirs


def fold_catalogue(path: Path) -> str | None:
    """The catalogue SHA-256 a saved fold's meta records (None before validate recorded it)."""
    with np.load(path) as z:
        return json.loads(str(z["meta"])).get("catalog_sha256")


def card_differences(card: Any, train: dict, grid) -> list[str]:
    """How training settings ``train`` (seed and thread count aside) and age grid ``grid`` differ from those
    ``card`` was validated with (its training settings when never validated), as "key: card A, this run B"."""
    from gyroage.build.loco_card import settings_differences

    validation = card.validation or {}
    problems = settings_differences(validation.get("train_settings") or card.training.get("settings", {}), train)
    if validation.get("age_grid") is not None and list(grid) != list(validation["age_grid"]):
        problems.append(f"grid: card {list(validation['age_grid'])}, this run {list(grid)}")
    return problems


def summary_card_differences(summary: dict, card: Any) -> list[str]:
    """:func:`card_differences` of a ``loco_summary.json``, and its catalogue, minimum membership and held-out
    clusters against the card's (what is absent on the card is not compared)."""
    validation = card.validation or {}
    problems = card_differences(card, summary.get("train_settings", {}), summary.get("age_grid", []))
    ours, theirs = (summary.get("catalog") or {}).get("sha256"), (card.training.get("catalog") or {}).get("sha256")
    if theirs is not None and ours != theirs:
        problems.append(f"catalogue SHA-256: card {short(theirs)}, this run "
                        + (short(ours) if ours is not None else "not recorded"))
    if validation.get("min_members") is not None and summary.get("min_members") != validation["min_members"]:
        problems.append(f"min_members: card {validation['min_members']}, this run {summary.get('min_members')}")
    card_set, run_set = set(validation.get("per_cluster") or {}), set(summary.get("per_cluster") or {})
    if card_set and run_set != card_set:  # the names, not only the counts: two runs of 2 clusters may differ
        problems.append(f"clusters: card {len(card_set)}, this run {len(run_set)}"
                        + "".join(f"; {what} {few(names)}" for what, names in (
                            ("only on the card:", card_set - run_set), ("only in this run:", run_set - card_set))
                                  if names))
    return problems


def short(digest: Any) -> str:
    """A recorded SHA-256 as its first 12 digits; what is not a string (a hand-damaged card) as it is, never a
    TypeError traceback."""
    return f"{digest[:12]}..." if isinstance(digest, str) else f"{digest!r} (not a SHA-256)"


def few(names, n: int = 4) -> str:
    """The first ``n`` of ``names`` in order, and how many more."""
    names = sorted(map(str, names))
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


def checked_folds(table_dir: Path) -> dict[str, dict]:
    """:func:`gyroage.build.loco.saved_folds`, refused in one line when a fold's own meta ``catalog_sha256`` is not
    the catalogue its run's ``loco_summary.json`` records: validate rewrites its settings before retraining stale
    folds one by one, so an interrupted run leaves folds of two catalogues beside one summary and tables. Folds or
    summaries written before validate recorded the hash are taken as they are."""
    from gyroage.build.loco import saved_folds

    summary = read_summary(table_dir)
    digest = (summary.get("catalog") or {}).get("sha256")
    folds = saved_folds(table_dir)
    for c, f in folds.items():
        sha = f["meta"].get("catalog_sha256")
        if digest is not None and sha not in (None, digest):
            refuse(f"--loco {table_dir}: fold {c} was trained on another catalogue (SHA-256 {short(sha)}) than its "
                   f"run's tables and summary ({short(digest)}): let gyroage validate finish retraining its folds")
    return folds
