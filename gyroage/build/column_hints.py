"""The hint beside the refusal of a missing training column: the catalogue's column that is likely meant (spelt
otherwise, as ``estimate`` reads it, or under a cluster's or age's usual name). Kept apart from
:mod:`gyroage.build.catalogue`, which reads the catalogue and calls it."""

from __future__ import annotations

import re

import pandas as pd

from gyroage.column_notes import limit_column
from gyroage.columns import column_key, column_role, error_of
from gyroage.core.groups import GROUP_COLUMN_NAMES, NAME_COLUMN_NAMES
from gyroage.errors import UserError

# The required columns estimate reads under other names (gyroage.columns.ALIASES' canonical name, the unit a column
# must be in), and the cluster column's usual other names (column_key), most specific first: the refusal of a missing
# column names the likeliest of them.
ESTIMATE_ROLES = {"Prot": ("prot", "days"), "BPRP_0": ("bp_rp0", "mag"), "e_BPRP_0": ("bp_rp0_err", "mag")}
# group-age's group and name columns (its ``--by`` guesses), most specific first; "cluster" itself is the one missing
CLUSTER_KEYS = tuple(column_key(n) for n in (*GROUP_COLUMN_NAMES[1:], "members", *NAME_COLUMN_NAMES))
_AGE_KEY = re.compile(r"(^|log|log10|fiducial|cluster)age")


def spelt_otherwise(name: str, frame: pd.DataFrame) -> str:
    """" (is it P_rot? rename it Prot)" when a column is ``name`` spelt otherwise: differing only in case, ``_``/``-``
    or spaces, or as ``estimate`` reads it (``period``, ``Prot [h]``: "give it in days as Prot"), or a cluster or age
    column's usual name (``group``, ``age_Gyr``): training reads the catalogue's own names, case ignored
    (:func:`gyroage.build.catalogue._canonical_names`). Of several cluster or age columns, error columns (``age_err``, ``e_age``) are passed
    over and the most specific name wins (``cluster_name`` over ``name``, ``age`` over ``age_Gyr``, ``fiducial_age``
    over ``age``), the first in the file on a tie: the first that matched was named, not the likeliest."""
    columns = [str(c) for c in frame.columns]
    close = [c for c in columns if column_key(c) == column_key(name)]
    if close:
        return f" (is it {close[0]}? rename it {name})"
    canon, unit = ESTIMATE_ROLES.get(name, (None, ""))
    if canon:
        for c in columns:
            role = column_role(c)
            if role is not None and role.name == canon:
                return f" (is it {c}? " + (f"rename it {name})" if role.scale == 1 else f"give it in {unit} as {name})")
        return ""
    keys = [(c, column_key(c)) for c in columns if not _error_column(c)]
    if name == "cluster":
        ranked = [(CLUSTER_KEYS.index(k), i, c) for i, (c, k) in enumerate(keys) if k in CLUSTER_KEYS]
        return f" (is it {min(ranked)[2]}? rename it {name})" if ranked else ""
    if name == "fiducial_age_Myr":
        # the whole name an age's (age, fiducial_age, logAge), then one carrying a unit (age_Gyr, Age_Myr), then the
        # longest match (the match of any other name is "age": it ranked nothing), the first in the file on a tie
        found = [(m.group(0) != k, not _UNIT.search(k), -len(m.group(0)), i, c) for i, (c, k) in enumerate(keys)
                 if (m := _AGE_KEY.search(k))]
        return f" (is it {min(found)[4]}? give it in Myr as {name})" if found else ""
    return ""


def period_limit_column(columns) -> str | None:
    """The column of the limit flags of ``Prot`` as ``estimate`` reads them (:func:`gyroage.column_notes
    .limit_column`), else those of a period column under another name the file no longer holds (``l_Per`` beside
    ``Prot``, renamed from ``Per`` as the missing-``Prot`` hint says): its limits were trained as periods (review V43, 3).
    ``None`` when there is none; several such (``l_Per`` and ``l_Period`` after a merge) are a :class:`UserError`:
    neither was read, and their flagged rows trained as periods without a word (review V44, 4)."""
    col = limit_column(columns, "Prot")
    if col is not None:
        return col
    names = {str(c).strip() for c in columns}
    found = [str(c) for c in columns if str(c).strip()[:2].lower() == "l_" and str(c).strip()[2:] not in names
             and (role := column_role(str(c).strip()[2:])) is not None and role.name == "prot"]
    if len(found) > 1:  # which is the period's? as limit_column refuses a repeated l_Prot
        raise UserError(f"the table has {len(found)} columns that could be the limit flags of 'Prot' "
                        f"({', '.join(map(repr, found))}): rename the right one l_Prot")
    return found[0] if found else None


# The words of a column name that make it no value column: an uncertainty (age_unc, age_sig), a bound (age_lo,
# Age_max) or a reference (Age_ref); errors (e_age, ERR_age, age_err) are columns.error_of's and "err" anywhere.
_NOT_A_VALUE = frozenset({"unc", "uncertainty", "sig", "sigma", "std", "lo", "hi", "low", "high", "lower", "upper",
                          "min", "max", "ref", "reference", "bound"})
_UNIT = re.compile(r"myr|gyr|kyr|yr")


def _error_column(name: str) -> bool:
    """Whether a column name reads as no value of its own, passed over by the hints: an error (:func:`gyroage.columns
    .error_of`, ``e_age``, ``ERR_age``, or ``err`` anywhere: ``age_err``, ``Age error``), or one whose words
    (split at ``_``, ``-``, spaces, brackets and lower-to-upper case) hold an uncertainty, bound or reference
    (:data:`_NOT_A_VALUE`: ``age_unc``, ``age_lo``, ``Age_ref``, ``ageSig``)."""
    if error_of(name) is not None or "err" in column_key(name):
        return True
    words = re.split(r"[\s_\-()\[\]{}./]+", re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name.strip()))
    return any(w.casefold() in _NOT_A_VALUE for w in words)
