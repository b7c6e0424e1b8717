"""Column names compared and taken apart: the key two spellings share, the value an error column is named after,
and which of two columns holding one quantity an error belongs to (:func:`own_error`).

No other gyroage module is imported here: :mod:`gyroage.columns` builds its roles on these.
"""

from __future__ import annotations

MINUS = str.maketrans({"\u2212": "-", "\u2013": "-"})  # Unicode minus and en dash, as typeset tables give them
# What an error's name may end in after its value's: an error word, then a unit (av_err_mag, prot_err_days, e_teff_k).
_ERROR_TAILS = ("_err", "_error", "_unc")
_UNIT_TAILS = ("_mag", "_days", "_d", "_k", "_mas")


def column_key(name: str) -> str:
    """A column name compared case-insensitively, ignoring a BOM, spaces, '-' (and Unicode minus), '_' and brackets."""
    return "".join(ch for ch in clean(name).lower() if ch not in " -_()[]")


def clean(name) -> str:
    """``name`` as text, without a BOM, outer spaces or Unicode minus signs."""
    return str(name).lstrip("\ufeff").strip().translate(MINUS)


def error_of(name) -> str | None:
    """What an error-of column's name names (``e_BP-RP``: ``BP-RP``; ``ERR_Prot``: ``Prot``), or ``None`` for any other
    name: a lower-case ``e_`` (VizieR's) or an ``err_`` in any case. An upper-case ``E_`` is no such prefix
    (``E_BP_RP`` is a reddening)."""
    name = clean(name)
    if name.startswith("e_"):
        return name[2:]
    return name[4:] if name.lower().startswith("err_") else None


def name_key(name) -> str:
    """:func:`column_key`, marked for an error-of name (:func:`error_of`), so that ``e_BP-RP`` never matches
    ``E(BP-RP)`` while ``e_Prot`` and ``err_Prot`` match each other: how a column is looked up by a name
    (``--by``, ``--membership``, ``--id``, prior and extinction columns, catalogue aliases)."""
    rest = error_of(name)
    return column_key(name) if rest is None else "e_" + column_key(rest)  # column_key drops '_': no value's key


def _stems(err: str) -> list[str]:
    """The value names an error column's name may be built on: ``A0`` of ``e_A0``, ``parallax`` of
    ``parallax_error``, ``av`` of ``sigma_av`` or ``e_av_mag`` (with and without a unit tail)."""
    name = clean(err)
    rest = name[2:] if name.startswith("E_") else error_of(name)  # E_X: an upper error (it is in an error role)
    if rest is None:
        low = name.lower()
        for tail in _UNIT_TAILS:
            if low.endswith(tail) and any(low[: -len(tail)].endswith(t) for t in _ERROR_TAILS):
                name, low = name[: -len(tail)], low[: -len(tail)]
        if low.startswith(("sigma_", "sig_")):
            rest = name.split("_", 1)[1]
        else:
            rest = next((name[: -len(t)] for t in _ERROR_TAILS if low.endswith(t) and len(low) > len(t)), None)
    if not rest:
        return []
    bare = next((rest[: -len(t)] for t in _UNIT_TAILS if rest.lower().endswith(t) and len(rest) > len(t)), None)
    return [rest] + ([bare] if bare else [])


def _owner(err: str, values: list[str], read: str) -> str | None:
    """The one of ``values`` (columns of one quantity) ``err`` is named after: a name equal to one of its stems
    (:func:`_stems`), else one whose key is a stem's (``read`` first); ``""`` for a stem naming none; None when
    the name shows no stem."""
    stems = _stems(err)
    if not stems:
        return None
    exact = [v for v in values if clean(v) in stems]
    keys = {column_key(s) for s in stems}
    keyed = [v for v in values if column_key(v) in keys]
    return exact[0] if exact else (read if read in keyed else keyed[0]) if keyed else ""


def own_error(errors: list[str], values: list[str], read: str) -> str | None:
    """The error of ``read``, read among ``values`` (columns of one quantity), from ``errors`` (that quantity's error
    columns, in input order): one named after ``read``; else one named after a value whose key is a word of
    ``read``'s name (``parallax_error`` of ``dr3_parallax_zpt_corrected``, ``e_Teff`` of ``teff_spec``); else one
    whose name shows no value; else None: each names another column (``e_A0`` beside ``av`` and ``A0``; ``e_Per``
    of ``Per`` beside ``Period``), or a value not in the table (``e_A0`` beside ``av`` and ``azero_gspphot``)."""
    owners = {e: _owner(e, values, read) for e in errors}
    words = {column_key(w) for w in clean(read).replace("-", "_").split("_")} - {column_key(read)}
    for fits in (lambda o: o == read, lambda o: bool(o) and column_key(o) in words, lambda o: o is None):
        found = next((e for e in errors if fits(owners[e])), None)
        if found is not None:
            return found
    return None
