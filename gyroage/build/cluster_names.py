"""Cluster names as a catalogue and its users write them: one cluster spelt two ways in a catalogue is read as one
(:func:`merge_spellings`), and the names users give (``--clusters``, ``--exclude``) are matched to the catalogue's."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from gyroage.errors import UserError, close_names

# hyphens and dashes ignored as column names ignore them (gyroage.columns.column_key): 'Sco-Cen' is ScoCen
_IGNORED = str.maketrans("", "", "_-\u2010\u2011\u2012\u2013\u2014\u2212")


def cluster_key(name: str) -> str:
    """A cluster name as users write it, compared: case, spaces, hyphens (and dashes) and underscores ignored
    ("NGC 6811" is NGC6811, "Sco-Cen" ScoCen)."""
    return "".join(str(name).split()).translate(_IGNORED).casefold()


# Names of the Perseus clusters as users write them (docs/validation.md writes "alpha Per", "h Per"), keyed as
# :func:`cluster_key` gives them, to one form each: the shared catalogue writes APer and HPer, and "alpha Per" was
# refused with "did you mean 'HPer'", another cluster (15 Myr, not 68). chi Per (NGC 884) is h Per's neighbour, not
# h Per: it matches only a catalogue that names it (XPer, chiPer, NGC884).
_PERSEUS = {**dict.fromkeys(("alphaper", "alfper", "\u03b1per", "alphapersei", "melotte20", "mel20"),
                            "aper"),
            **dict.fromkeys(("hpersei", "ngc869"), "hper"),
            **dict.fromkeys(("chiper", "\u03c7per", "chipersei", "ngc884"), "xper")}


def _alias_key(name: str) -> str:
    """:func:`cluster_key`, with the spelled-out Perseus names (:data:`_PERSEUS`) as the short ones."""
    key = cluster_key(name)
    return _PERSEUS.get(key, key)


def match_clusters(given, known, left_out: Mapping[str, str] | None = None) -> list[str]:
    """The catalogue's names (``known``) for the clusters named in ``given``: an exact name wins, then one the same
    but for case, spaces and hyphens (:func:`cluster_key`), and only then "alpha Per" as APer and the like
    (:data:`_PERSEUS`): a catalogue keeping NGC869 apart from HPer, or writing both APer and 'alpha Per', had
    'NGC 869' and 'aper' refused as ambiguous (review V47, 6).

    An unknown name is refused in one line naming the closest known ones (difflib) and every known name; an ambiguous
    one naming its candidates; one of the catalogue's clusters that has no star passing the selection (``left_out``:
    name -> why, as :func:`gyroage.build.catalogue.clusters_left_out` gives them) is refused saying so, and why.
    """
    known = sorted({str(k) for k in known})
    # the plain keys first, the alias keys after: each a catalogue cluster's names, then a left-out one's
    steps: list[tuple[dict[str, list[str]], dict[str, tuple[str, str]], Callable[[str], str]]] = []
    for key in (cluster_key, _alias_key):
        by_key: dict[str, list[str]] = {}
        for k in known:
            by_key.setdefault(key(k), []).append(k)
        steps.append((by_key, {key(k): (k, why) for k, why in (left_out or {}).items()}, key))
    out = []
    for name in given:
        found = [name] if name in known else []
        for by_key, gone, key in steps if not found else ():
            found = by_key.get(key(name), [])
            if not found and key(name) in gone:
                was, why = gone[key(name)]
                raise UserError(f"cluster {was!r} has no star passing the quality selection ({why})")
            if found:
                break
        if len(found) > 1:
            raise UserError(f"ambiguous cluster {name!r}: it could be {' or '.join(repr(c) for c in found)} (the "
                            f"catalogue's clusters: {', '.join(known)})")
        if not found:
            by_alias = steps[-1][0]
            close = [by_alias[k][0] for k in close_names(_alias_key(name), by_alias)]
            hint = f": did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise UserError(f"unknown cluster {name!r}{hint} (the catalogue's clusters: {', '.join(known)})")
        out.append(found[0])
    return out


def check_excluded(names, known, left_out: Mapping[str, str] | None = None, source: str = "the settings") -> None:
    """Refuse, in one line, a name of the ``exclude_clusters`` setting that is not a catalogue cluster as written: it
    would leave nothing out, silently (the setting is part of a fold's key, so it is not respelt); or names every
    cluster, leaving no star to train on. ``left_out``: as :func:`match_clusters` reads it. ``source``: where the
    setting came from, as the refusal names it (``--config FILE``, the card's training.settings): without --config
    the user gave none."""
    known = {str(k) for k in known}
    for name in names:
        if name not in known:
            try:
                found = match_clusters([name], known, left_out)  # an unknown name: refused here, with the closest
            except UserError as exc:
                raise UserError(f"exclude_clusters in {source}: {exc}") from None
            raise UserError(f"exclude_clusters in {source} names {name!r}: write it as the catalogue does, "
                            f"{found[0]!r}")
    if known and known <= set(names):
        raise UserError(f"exclude_clusters in {source} leave no star to train on ({', '.join(names)})")


def merge_spellings(frame: pd.DataFrame, path: Path, notices: bool = True) -> pd.DataFrame:
    """``frame`` with the cluster names equal under :func:`cluster_key` ("NGC 2516", NGC2516) written as the first
    of them in the file, with one stderr line naming them (``notices``): as two clusters,
    ``validate`` held out one spelling and trained on the other. Any two spellings whose ages (the set of each one's
    rows' ages, rows without an age aside) differ are refused in one line naming both. ``frame`` itself is returned
    when no name is spelt twice.
    """
    names = frame["cluster"].astype(str)
    unique, first, counts = np.unique(names.to_numpy(dtype=object), return_index=True, return_counts=True)
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(unique):
        groups.setdefault(cluster_key(name), []).append(i)
    # the first spelling in the file names the cluster: by row counts, adding rows could rename it (and a card's
    # exclude_clusters written as before was then refused)
    groups = {k: sorted(v, key=lambda i: first[i]) for k, v in groups.items() if len(v) > 1}
    if not groups:
        return frame
    ages = frame["fiducial_age_Myr"].to_numpy(dtype=float)
    renames, said = {}, []
    for members in groups.values():
        spellings = [str(unique[i]) for i in members]
        sets = {n: frozenset(np.unique(ages[(names == n).to_numpy() & np.isfinite(ages)]).tolist()) for n in spellings}
        # any two spellings whose ages differ, pairwise (a third holding both ages hid two clusters), are refused:
        # a cluster of subgroup ages (ScoCen) is one spelling, and a spelling whose rows have no age is left out anyway
        aged = [n for n in spellings if sets[n]]
        pair = next(((a, b) for i, a in enumerate(aged) for b in aged[i + 1:] if sets[a] != sets[b]), None)
        if pair is not None:
            a, b = pair
            raise UserError(f"rotator catalogue {path}: clusters {a!r} and {b!r} differ only in case, spaces, hyphens "
                            f"or underscores, and their ages differ ({a!r}: {_ages(sets[a])}; {b!r}: "
                            f"{_ages(sets[b])}): give them one spelling (a cluster may hold subgroup ages) or names that differ otherwise")
        name = spellings[0]
        for other, i in zip(spellings[1:], members[1:]):
            renames[other] = name
            said.append(f"{other!r} ({counts[i]} rows) as {name!r} ({counts[members[0]]} rows)")
    if notices:
        print(f"gyroage: rotator catalogue {path}: cluster names that differ only in case, spaces, hyphens or "
              f"underscores are read as one cluster: {'; '.join(said)}", file=sys.stderr, flush=True)
    frame = frame.copy()
    frame["cluster"] = frame["cluster"].where(~names.isin(list(renames)).to_numpy(), names.map(renames))
    return frame


def _ages(ages: frozenset) -> str:
    """"2500 Myr", "3.7, 5, 18.8 Myr", "no age" for a set of ages in Myr."""
    shown = sorted(ages)
    if not shown:
        return "no age"
    return ", ".join(f"{a:g}" for a in shown[:3]) + (", ..." if len(shown) > 3 else "") + " Myr"
