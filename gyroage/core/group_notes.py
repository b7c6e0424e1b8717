"""What ``gyroage group-age`` says on stderr of its groups' labels and rows (none changes an age): labels that look
alike, groups of single rows, rows that repeat another, the group of a file read without ``--by``, groups the
``--main-sequence`` term never reached, star ids in two groups or twice in one, one reddening option met by many
groups, and members left out for a negative reddening.

Split from :mod:`gyroage.core.groups` (which counts the repeats) and :mod:`gyroage.cli` (which says them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from gyroage import io, statuses
from gyroage.columns import REDDENING_NAMES

# The group of every row when no group column is named and the rows come from stdin (from a file: its name).
WHOLE_TABLE = "all"
# The most group labels a notice names (the others: ", ..."), as the refusal of a pooled group column does.
SHOWN_GROUPS = 3


def file_label(source: str) -> str:
    """The one group of a file read without ``--by``: its name without directory, compression and format suffixes
    (``praesepe.csv.gz``: ``praesepe``); :data:`WHOLE_TABLE` for stdin."""
    name = Path(str(source)).name
    if str(source) == "-" or not name:
        return WHOLE_TABLE
    name = re.sub(r"\.(gz|bz2|xz|zip)$", "", name, flags=re.IGNORECASE)
    return Path(name).stem or name


def label_key(label: str) -> str:
    """What two labels that look alike share: lower case, ``_`` and ``-`` read as blanks, blanks dropped, leading zeros
    of a number dropped (``NGC 120``, ``NGC_120``, ``ngc0120``: ``ngc120``; ``IC-2391``: ``ic2391``). Not a zero after
    a decimal point: ``field 1.05`` is not ``field 1.5``."""
    return re.sub(r"(?<![\d.])0+(?=\d)", "", "".join(re.sub(r"[_-]", " ", label.lower()).split()))


def similar_labels(labels) -> list[list[str]]:
    """Sets of text group labels that differ only in case, blanks, ``_``, ``-`` or a number's leading zeros (``NGC 6811``,
    ``NGC6811``, ``NGC_6811``; :func:`label_key`), each in order of appearance: labels are the user's data, so they are
    dated apart, but the user should hear of it."""
    sets: dict[str, list[str]] = {}
    for label in pd.unique(pd.Series(labels, dtype=object).dropna()):
        if isinstance(label, str) and label:
            sets.setdefault(label_key(label), []).append(label)
    return [s for s in sets.values() if len(s) > 1]


def similar_labels_text(same: list[str]) -> str:
    """The warning for one set of :func:`similar_labels`."""
    names = ", ".join(f"'{g}'" for g in same[:-1]) + f" and '{same[-1]}'"
    return f"groups {names} differ only in case, blanks, '_', '-' or leading zeros: dated separately"


def single_rows_note(out: pd.DataFrame, by: str | None) -> str | None:
    """A warning when most of two or more groups hold one row each: ``--by`` on a column of star names (or ids)
    dates every star as its own group, which ``estimate`` does better; None otherwise."""
    rows = out.loc[out["status"] != statuses.NO_GROUP, "n_stars"]
    single = int((rows == 1).sum())
    if by is None or len(rows) < 2 or 2 * single <= len(rows):
        return None
    return f"{single} of {len(rows)} groups hold a single row: does --by {by} name each star rather than its group?"


def label_warnings(out: pd.DataFrame, by: str | None) -> list[str]:
    """group-age's warnings of its output's labels (first column): :func:`similar_labels`, :func:`single_rows_note`."""
    single = single_rows_note(out, by)
    return [*map(similar_labels_text, similar_labels(out.iloc[:, 0])), *([single] if single else [])]


def repeated_rows(groups: np.ndarray, prot: np.ndarray, bp_rp0: np.ndarray,
                  ids: pd.DataFrame | None = None, abs_g: np.ndarray | None = None) -> tuple[int, int]:
    """(rows that repeat an earlier row's group, period and colour exactly, the groups they are in): a row copied (a
    list merged with itself) counts twice in its group's joint age and narrows its interval; a star listed twice
    with two surveys' different periods is not (:func:`id_notes` tells it by id). ``ids``: the rows' id columns
    (:func:`gyroage.io.id_columns`), also compared when given: distinct stars may share a period and colour to a
    table's precision (18 of the Pleiades' and NGC 2516's 1,441 at 0.01 d and 0.01 mag; review V36a); a row with a
    blank or placeholder id (:func:`no_id`) repeats no row (it tells nothing of which star it is: two were called
    copies by id, review V38); ``abs_g``: the absolute G the height term reads (``--main-sequence``), compared too; one with some id columns
    blank compares the others (a mostly empty name beside a full source_id hid every copy, review V39b)."""
    rows = pd.DataFrame({"g": groups, "p": prot, "c": bp_rp0})
    if abs_g is not None:  # the height term reads it: stars of one period and colour at other heights are distinct
        rows["m"] = abs_g
    blank = np.zeros(len(rows), bool)
    if ids is not None and ids.shape[1]:
        named = ids.reset_index(drop=True).set_axis(range(ids.shape[1]), axis=1)
        # no star's id in any column (blank, '--', 'N/A', HIP 0: no_id, as id_notes reads them)
        blank = np.all([no_id(named[k], named[k].astype(str).str.strip()) for k in named.columns], axis=0)
        rows = pd.concat([rows, named], axis=1)
    again = rows.duplicated().to_numpy() & ~blank
    return int(again.sum()), int(rows["g"][again].nunique())


def repeated_text(repeated: tuple[int, int], ids: Sequence[str] = ()) -> str:
    """The notice of :func:`repeated_rows`' count, compared on the id columns ``ids`` (none: said so)."""
    n, g = repeated
    rows, groups = f"{n} used row{'s' if n != 1 else ''}", f"{g} group{'s' if g != 1 else ''}"
    copies = "a star listed twice counts as two members, narrowing the interval: drop its copies"
    if ids:
        return (f"{rows} repeat{'s' if n == 1 else ''} another row's {', '.join(ids)}, group, period and colour "
                f"(in {groups}): {copies}")
    return (f"{rows} {'has' if n == 1 else 'have'} another row's group, period and colour to the table's precision "
            f"(in {groups}; no column named as an id, source_id, tic, name, ..., tells stars apart): distinct stars "
            f"may agree so and are kept, but {copies}")


def shown_groups(labels) -> str:
    """Up to :data:`SHOWN_GROUPS` group labels, then ``...``: ``cl30, cl120, cl300, ...``."""
    labels = [str(g) for g in labels]
    return ", ".join(labels[:SHOWN_GROUPS]) + (", ..." if len(labels) > SHOWN_GROUPS else "")


def unreached_note(labels, n_used: np.ndarray, reached: np.ndarray) -> str | None:
    """Under ``--main-sequence``, the groups with used members of which the height term reads none (``reached``:
    each group's count; no usable magnitude, its error too large, colours or heights outside the term's): their
    ages rest on rotation alone, where the run's metadata says the term was used; None when every group was."""
    alone = [g for g, n, r in zip(labels, n_used, reached) if n > 0 and r == 0]
    if not alone:
        return None
    k = len(alone)
    return (f"--main-sequence: {k} group{'s' if k != 1 else ''} {'have' if k != 1 else 'has'} no member whose "
            f"magnitude the height term uses ({shown_groups(alone)}): dated from rotation alone")


def no_id(cells: pd.Series, text: pd.Series) -> np.ndarray:
    """Which id ``cells`` (``text``: as stripped text) name no star: blank, a missing-value token (:data:`gyroage.io.
    NA_TOKENS`: ``--``, ``N/A``, as fixed-width and astropy tables write a masked cell), text with no letter or digit
    (``-``, ``?``), or a number 0 or below (HIP 0 for a star with none: catalogue numbers start at 1). Each would be
    one star listed in every group (review V65)."""
    number = pd.to_numeric(text, errors="coerce")
    return (cells.isna() | text.str.lower().isin(io.NA_TOKENS) | ~text.str.contains(r"[^\W_]", regex=True)
            | (number <= 0)).to_numpy()


# A star is listed in a few surveys' lists at most; a value on more rows than this, on average, names a group
MAX_LISTINGS = 5
# ... and a value on more than two rows names a group when each group holds this many distinct values or fewer (a
# cluster's name, spelt a way or three), where one of star ids holds its members'
FEW_NAMES = 3


def _names_groups(rows: pd.DataFrame, n_ids: int) -> bool:
    """Whether an id column's values (``rows``' ``id``, by group ``g``; ``n_ids`` distinct) name groups, not stars:
    each on more than :data:`MAX_LISTINGS` rows on average, or on more than two with :data:`FEW_NAMES` or fewer
    distinct values a group. Rows per value alone took every star listed three times (three surveys' periods) for a
    cluster's name and said nothing, where twice was said; a cluster's name on each of its members' rows (review
    V65) has few values in each group, ids many."""
    per_value = len(rows) / n_ids
    return per_value > MAX_LISTINGS or (per_value > 2 and rows.groupby("g")["id"].nunique().mean() <= FEW_NAMES)


def id_notes(groups: np.ndarray, prot: np.ndarray, bp_rp0: np.ndarray, ids: pd.DataFrame | None) -> list[str]:
    """What the used rows' id columns ``ids`` (:func:`gyroage.io.id_columns`) tell that :func:`repeated_rows` does
    not: ids in more than one group (two membership lists merged: the star counts in each), and ids listed twice in
    one group with another period or colour (two surveys' periods: each row counts as a star, narrowing the
    interval). Each counted on the id column that finds the most; a blank or placeholder id is no star's
    (:func:`no_id`), and a column with no more values than groups, or few values a group on many rows each
    (:func:`_names_groups`), names groups, not stars. ``ids`` None: no line."""
    if ids is None:
        return []
    groups_of, twice = (0, "", []), (0, "", [])
    for i, col in enumerate(ids.columns):  # by position: a column named twice (a cross-match's copy) is two
        cells = ids.iloc[:, i].reset_index(drop=True)
        text = cells.astype(str).str.strip()
        keep = ~no_id(cells, text)
        rows = pd.DataFrame({"g": groups, "id": text, "p": prot, "c": bp_rp0})[keep]
        n_ids = rows["id"].nunique()
        if n_ids <= rows["g"].nunique() or _names_groups(rows, n_ids):
            continue
        per_id = rows.groupby("id", sort=False)["g"].nunique()
        shared = rows[rows["id"].isin(per_id.index[per_id > 1])]
        if len(per_id[per_id > 1]) > groups_of[0]:
            groups_of = (int((per_id > 1).sum()), str(col), list(pd.unique(shared["g"])))
        kinds = rows.drop_duplicates().groupby(["g", "id"], sort=False).size()  # distinct period and colour
        again = kinds[kinds > 1]
        if len(again) > twice[0]:
            twice = (len(again), str(col), list(pd.unique(again.index.get_level_values("g"))))
    lines = []
    if groups_of[0]:
        n, col, shown = groups_of
        lines.append(f"{n} {col} value{'s are' if n != 1 else ' is'} in more than one group ({shown_groups(shown)}): "
                     "each counts as a member of every group it is listed in")
    if twice[0]:
        n, col, shown = twice
        k = len(shown)
        lines.append(f"{n} {col} value{'s repeat' if n != 1 else ' repeats'} within one group with a different period "
                     f"or colour (in {k} group{'s' if k != 1 else ''}: {shown_groups(shown)}): each row counts as a "
                     "member, narrowing the group's interval")
    return lines


def negative_reddening_note(groups: np.ndarray, status: np.ndarray, ebprp: np.ndarray | None,
                            ebprp_err: np.ndarray | None) -> str | None:
    """``3 members of 2 groups (A, B) have a negative reddening and are left out ...``: the members (``groups``,
    their row ``status``) left out as ``invalid_reddening`` because their reddening (``ebprp``, E(BP-RP) as read, and
    its error) is below 0, as estimate leaves such a star undated. A dust map's -0.01 +- 0.02 is 0 within its error,
    and the counts of left-out members alone named neither the groups nor the cause. None when there is none."""
    if ebprp is None:
        return None
    with np.errstate(invalid="ignore"):
        neg = (np.asarray(status) == statuses.INVALID_REDDENING) & (ebprp < 0)
        near = neg & (ebprp + (np.inf if ebprp_err is None else ebprp_err) >= 0)  # NaN error: not within it
    n, k = int(neg.sum()), int(near.sum())
    if not n:
        return None
    hit = pd.unique(groups[neg])
    one, g = n == 1, len(hit)
    within = ("none" if not k else "it" if one else f"{k} of them") + f" within {'its' if one else 'their'} error of 0"
    return (f"{n} member{'' if one else 's'} of {g} group{'' if g == 1 else 's'} ({shown_groups(hit)}) "
            f"{'has' if one else 'have'} a negative reddening and {'is' if one else 'are'} left out as "
            f"invalid_reddening ({within}): the input's reddening is negative; clip it at 0 where its error allows")


def option_note(reddening, frame: pd.DataFrame, source: np.ndarray | None, groups: np.ndarray,
                used: np.ndarray) -> str | None:
    """``--ebv 0.05 is one reddening for every star: it de-reddens the colours of all 6 groups ...``: a reddening
    option (``reddening``, one value) that de-reddened the observed colours of rows ``used`` (of ``frame``, their
    ``colour_source`` ``source``, None: none read, and ``groups``) in two groups or more, where each cluster has its own; a row whose
    reddening column has a value takes that. None otherwise, and for a zero option (nothing de-reddened)."""
    if reddening is None or not reddening.given or source is None:
        return None
    found = io.match_columns(list(frame.columns))
    took = used & pd.Series(source, dtype=str).str.startswith("bp_rp-").to_numpy()  # from the observed colour
    for name in REDDENING_NAMES:
        if name in found:  # a column with a value (or text) in the row is the row's reddening, not the option
            v = io.numeric(frame, found[name])
            took = took & np.isnan(v) & ~io.unparsed(frame, found[name], v)
    hit = pd.unique(groups[took])
    value, _, _, _ = reddening.values()
    if len(hit) < 2 or value == 0:  # 0: every star taken as unreddened, nothing de-reddened (review V65)
        return None
    option = next(name for name in REDDENING_NAMES if getattr(reddening, name) is not None)
    every = "all " if len(hit) == len(pd.unique(groups[used])) else ""
    return (f"--{option} {value:g} is one reddening for every star: it de-reddens the colours of {every}{len(hit)} "
            f"groups ({shown_groups(hit)}); clusters of different reddening need a reddening column (E(B-V), A_V or "
            "E(BP-RP)) giving each its own")


def api_words(note: str) -> str:
    """A group notice in the API's words (``main_sequence=True``, not ``--main-sequence``; ``Reddening(ebv=0.05)``,
    not ``--ebv 0.05``)."""
    from gyroage.core.arguments import GROUP_KEYWORD_WORDS, reworded

    return re.sub(r"^--(ebprp|av|ebv) (\S+) is one reddening", r"Reddening(\1=\2) is one reddening",
                  reworded(note, GROUP_KEYWORD_WORDS))


def warn_group_notes(run, by: str | None, card) -> pd.DataFrame:
    """``run``'s table (a :class:`gyroage.core.groups.GroupAges`), after a UserWarning for its labels
    (:func:`label_warnings`, one for all), one for its repeated rows (:func:`repeated_text`), one for each of its
    ``notes`` (:func:`unreached_note`, ...) and one for its members'
    colour errors clipped to ``card``'s trained range (:func:`clipped_text`): what ``gyroage group-age`` says on stderr
    of them, for :func:`gyroage.group_ages`."""
    from gyroage.core.arguments import warn_caller

    lines = label_warnings(run.table, by)
    if lines:
        warn_caller("gyroage: " + "; ".join(lines))
    if run.repeated[0]:
        warn_caller(f"gyroage: {repeated_text(run.repeated, run.repeated_ids)}")
    for note in run.notes:
        warn_caller(f"gyroage: {api_words(note)}")
    if run.colour_err_clipped:
        warn_caller(f"gyroage: {clipped_text(run.table, run.colour_err_clipped, card)}")
    return run.table


def clipped_text(out, clipped: int, card) -> str:
    """``K of M used members' colour errors exceed the trained range ...``: the used members whose colour error was
    clipped (estimate flags each such star ``colour_err_beyond_training``; a joint age says how many)."""
    used = int(out.loc[out["status"] != statuses.NO_GROUP, "n_used"].sum())  # K counts used members only
    hi = card.domain["bp_rp0_err"][1]
    one, whose = clipped == 1, "members'" if used != 1 else "member's"
    return (f"{clipped} of {used} used {whose} colour error{'' if one else 's'} exceed{'s' if one else ''} the "
            f"trained range (above {hi:.4g} mag) and {'is' if one else 'are'} clipped to it: if "
            f"{'it is' if one else 'one is'} a sentinel (99) for a missing colour, that member has no colour to date")
