"""The checks a resumable run's manifest entries pass before ``--resume`` trusts them
(:class:`gyroage.engines.sinks.Sidecar`): their end-of-run counts are summed into the run's lines, so a damaged or
hand-edited entry is computed again, never believed; and, for a ``--resume`` refused because the settings
differ, which options changed (:func:`changed`)."""

from __future__ import annotations

import json
import math

from gyroage.core.photometry import SEQUENCE_COLUMN


def entry_fault(entry) -> str | None:
    """Why a manifest's chunk entry cannot be trusted (a field missing or of the wrong type, status counts not
    summing to its rows, a count of more stars than its rows: a hand-edited manifest's end-of-run counts would be
    summed into the run's lines), or None."""
    def digest_ok(d) -> bool:
        return isinstance(d, dict) and _count(d.get("bytes")) and isinstance(d.get("sha256"), str)

    if not (isinstance(entry, dict) and _count(entry.get("rows")) and isinstance(entry.get("counts"), dict)
            and all(isinstance(k, str) and _count(v) for k, v in entry["counts"].items())):
        return "listed without its rows or status counts"
    rows, total = entry["rows"], sum(entry["counts"].values())
    if total != rows:  # each row has one status: other counts would be summed into the closing line (review V49, 2)
        return f"listed with bad status counts (counts summing to {total}, not its {rows} rows)"
    unreddened = kept_unreddened(entry)
    for field, ok in (("clipped", _count(entry.get("clipped", 0), rows)),
                      ("unreddened", _counts(unreddened) and sum(unreddened) <= rows),
                      ("narrow", entry.get("narrow") is None or _narrow(entry["narrow"], rows))):
        if not ok:
            return f"listed with a bad {field} count (a count of its {rows} rows)"
    if not digest_ok(entry) or ("posteriors" in entry and not digest_ok(entry["posteriors"])):
        return "listed without its size and SHA-256"
    return None


def kept_unreddened(entry: dict) -> list[int]:
    """A chunk entry's unreddened rows, one count per :data:`~gyroage.core.photometry.SEQUENCE_COLUMN` key (kept only
    when any is not 0: none otherwise)."""
    return entry.get("unreddened", [0] * len(SEQUENCE_COLUMN))


def _count(v, most: int | None = None) -> bool:
    """A whole number >= 0 (and <= ``most``, when given)."""
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0 and (most is None or v <= most)


def _narrow(v, rows: int) -> bool:
    """An mcmc chunk's [stars that took the grid's posterior, their least prior width (null: none), those with a
    period error] (:meth:`Sidecar.add`), both counts of its ``rows``."""
    return (isinstance(v, list) and len(v) == 3 and _count(v[0], rows) and _count(v[2], rows)
            and (v[1] is None or (isinstance(v[1], (int, float)) and not isinstance(v[1], bool)
                                  and _finite(v[1]) and v[1] >= 0)))


def _finite(x: int | float) -> bool:
    """A finite number; an integer too large for a float (a hand edit) is none, not an OverflowError (review V49, 3)."""
    try:
        return math.isfinite(x)
    except OverflowError:
        return False


def _counts(v) -> bool:
    """A chunk's unreddened rows, one count per :data:`~gyroage.core.photometry.SEQUENCE_COLUMN` key."""
    return isinstance(v, list) and len(v) == len(SEQUENCE_COLUMN) and all(map(_count, v))


# A run setting's manifest key -> the estimate option that sets it, so a refused --resume names what the user typed
# (keys not here keep their names: the API's own settings, the model, the gyroage version).
_OPTIONS = {"prior.kind": "--prior", "prior.log10_age_min": "--age-min-myr", "prior.log10_age_max": "--age-max-myr",
            "prior.mean": "--prior-mean", "prior.mean_column": "--prior-mean", "prior.sigma": "--prior-sigma",
            "prior.sigma_column": "--prior-sigma", "prior.table": "--prior-table", "n_grid": "--grid",
            "refine_tol": "--exact-grid", "outlier_weight": "--outlier-weight", "method": "--method", "seed": "--seed",
            "sampler.n_walkers": "--walkers", "sampler.max_steps": "--max-steps", "main_sequence": "--no-main-sequence",
            "require_magnitudes": "--main-sequence", "keep_posteriors": "--posteriors", "posterior_ids": "--id",
            **{f"reddening.{k}": f"--{k.replace('_', '-')}" for k in ("ebprp", "ebprp_err", "av", "av_err", "ebv", "ebv_err")}}
# flags: the value that means the option was given (refine_tol null: every grid point, --exact-grid)
_FLAGS = {"refine_tol": "null", "main_sequence": "false", "require_magnitudes": "true", "keep_posteriors": "true"}
_UNSET = "not given"  # one wording for an option left out, whether its key is absent or null


def _as_options(record: dict[str, str]) -> dict[str, str]:
    """A flat settings record (:func:`_flat_settings`) under the options' names, each value as it is typed: flags
    ``given`` or ``not given``, age bounds in Myr, text unquoted, lists comma-separated."""
    out: dict[str, str] = {}
    for k, v in record.items():
        if k in _FLAGS:
            text = "given" if v == _FLAGS[k] else _UNSET
        elif k in ("prior.log10_age_min", "prior.log10_age_max"):
            text = f"{10 ** float(v) / 1e6:g}"
        else:
            try:
                val = json.loads(v)
            except ValueError:  # a model's SHA-256
                val = v
            text = _UNSET if val is None else ",".join(map(str, val)) if isinstance(val, list) else str(val)
        name = _OPTIONS.get(k, k)
        if out.get(name, _UNSET) == _UNSET:  # --prior-mean is a number or a column
            out[name] = text
    return out


def _distinct_myr(a: float, b: float) -> tuple[str, str]:
    """Two different log10-yr age bounds in Myr, with the fewest digits (from 6) that tell them apart."""
    for digits in (6, 9, 12, 15, 17):
        ta, tb = f"{10 ** a / 1e6:.{digits}g}", f"{10 ** b / 1e6:.{digits}g}"
        if ta != tb:
            return ta, tb
    return f"log10 yr {a!r}", f"log10 yr {b!r}"  # the same float in Myr: the logs differ


def changed(old, new: dict[str, str]) -> str | None:
    """The options and settings that differ between two flat records, with their values where short
    (``--grid (was 1001, now 1011)``); None when the old run kept none (an older gyroage) or none differs."""
    if not isinstance(old, dict):
        return None
    raw_old, raw_new, old, new = old, new, _as_options(old), _as_options(new)
    for key in ("prior.log10_age_min", "prior.log10_age_max"):  # 1 and 1.000001 Myr both print '1' under :g
        a, b = raw_old.get(key), raw_new.get(key)
        if a != b and None not in (a, b) and old.get(_OPTIONS[key]) == new.get(_OPTIONS[key]):
            old[_OPTIONS[key]], new[_OPTIONS[key]] = _distinct_myr(float(a), float(b))
    names = sorted(k for k in old.keys() | new.keys() if old.get(k, _UNSET) != new.get(k, _UNSET))
    if "--method" in names:  # the seed and sampler settings come and go with the method: not changes of their own
        names = [k for k in names if k not in ("--seed", "--walkers", "--max-steps") and not k.startswith("sampler.")]
    parts = []
    for k in names[:6]:
        a, b = old.get(k, _UNSET), new.get(k, _UNSET)
        short = len(a) <= 40 and len(b) <= 40 and k not in ("model files", "model card")
        parts.append(f"{k} (was {a}, now {b})" if short else k)
    if not parts:
        return None
    return ", ".join(parts) + (", ..." if len(names) > 6 else "") + (" differ" if len(names) > 1 else " differs")
