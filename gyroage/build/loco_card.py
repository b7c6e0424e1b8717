"""What ``gyroage validate --write-card`` does with a leave-one-cluster-out summary: compare the card's training
settings and catalogue with the validated ones, and put the summary into the model's JSON card.

Kept apart from :mod:`gyroage.build.loco`, which runs the folds and makes the summary; this reads and writes a card.
"""

from __future__ import annotations

from pathlib import Path

from gyroage.build.loco_checks import catalogue_differs, refuse_other_catalogue, refuse_other_settings

GROUP_CALIBRATION_KEYS = ("group_calibration", "group_calibration_fit")


def write_card_validation(model_dir: str | Path, summary: dict, force: bool = False) -> Path:
    """Put the LOCO summary into the JSON card of ``model_dir`` (ONNX files untouched).

    The ONNX metadata keeps the card as exported (without ``validation``): the
    JSON card is the one that carries validation, so the files' SHA-256 stay
    valid without re-embedding. Refuses when the model's training settings
    differ from the validated ones (other than the seed and thread count), or
    its training catalogue's SHA-256 from the validated one's, unless ``force``.
    """
    from gyroage.core.modelcard import load_card, write_card

    card, d = load_card(model_dir, verify=True)
    differences = settings_differences(card.training.get("settings", {}), summary["train_settings"])
    same = not differences
    if not same and not force:
        refuse_other_settings(model_dir, differences)
    other_catalogue = catalogue_differs(card.training.get("catalog"), summary.get("catalog"))
    if other_catalogue and not force:
        refuse_other_catalogue(model_dir, card.training.get("catalog"), summary.get("catalog"))
    if summary.get("calibration_fit"):
        card.calibration = summary["calibration"]  # embedded in the graphs: re-export them (gyroage export --rebuild)
    # group-age's widths by age are fitted to many seeds' folds of these settings (benchmarks/group_calibration.py),
    # not to this run: they stay while the settings and catalogue do, and go (group-age: one width) when they do not.
    kept = {k: v for k, v in (card.validation or {}).items() if k in GROUP_CALIBRATION_KEYS} if same and not other_catalogue else {}
    card.validation = {"method": "leave-one-cluster-out (gyroage validate)", **summary,
                       "settings_match_model": bool(same), **kept}
    return write_card(card, d)


_MISSING = object()


def settings_differences(trained: dict, validated: dict) -> list[str]:
    """Each training setting (``flow.`` ones by that name) in which a model's card (``trained``) and a validation run
    differ, as "key: card A, this run B"; the seed and thread count do not count. Both dicts are
    ``TrainSettings.to_dict`` output, which leaves some settings out at their defaults: a key on one side only is
    compared with "(default)", from either side (the card's own keys too: trim_dex 0.1 against a run without it)."""
    ignore = {"seed", "threads"}
    flat = [{**{k: v for k, v in s.items() if k not in ignore and k != "flow"},
             **{f"flow.{k}": v for k, v in (s.get("flow") or {}).items()}} for s in (trained, validated)]
    show = lambda side, k: repr(side[k]) if k in side else "(default)"  # noqa: E731
    return [f"{k}: card {show(flat[0], k)}, this run {show(flat[1], k)}"
            for k in dict.fromkeys([*flat[0], *flat[1]]) if flat[0].get(k, _MISSING) != flat[1].get(k, _MISSING)]
