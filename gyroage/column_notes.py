"""Notes on input columns said even with ``-q``, as the ages rest on them: how the magnitudes are read
(:func:`magnitude_notes`), and the columns a run leaves unread although an astronomer gave them for the ages."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gyroage.columns import _MANGLED, REDDENING_NAMES, column_key, match_columns, membership_in, percent_base, reads_observed, unit_splits
from gyroage.errors import UserError
from gyroage.pandas_compat import to_floats


def unread_column_notes(columns, magnitudes: bool, given: bool = False, no_term: str | None = None,
                        rows: pd.DataFrame | None = None) -> list[str]:
    """The notes said even with ``-q`` (the command line's stderr, :func:`gyroage.core.colours.say_input_notes`; the
    API's warnings, :func:`gyroage.core.api_frames.warn_column_notes`), in order: with ``magnitudes`` (the run uses the
    card's main-sequence term) how the magnitudes are read (:func:`magnitude_notes`), then an observed
    colour's error left unread beside a bp_rp0 (:func:`unread_colour_error_note`; ``given``: a reddening option), then
    the period's limit flags (:func:`limit_note`), then a GSP-Phot reddening read (:func:`gsp_phot_note`). ``no_term``:
    the model, when the run would read magnitudes but its card has no main-sequence term (:func:`no_term_note`).
    ``rows``: the input's rows (or its first chunk), whose colours tell whether GSP-Phot de-reddens any."""
    names = list(columns)
    return [*(magnitude_notes(names) if magnitudes else []),
            *filter(None, [no_term and no_term_note(names, no_term), unread_colour_error_note(names, given),
                           limit_note(names)]), *gsp_phot_notes(names, given, rows)]


# Gaia DR3's GSP-Phot reddenings (column_key), read as an E(BP-RP) and an A_V by their names (gyroage.columns.ALIASES)
_GSP_PHOT_KEYS = frozenset(map(column_key, ("ebpminrp_gspphot", "azero_gspphot")))


def gsp_phot_notes(columns, given: bool = False, rows: pd.DataFrame | None = None) -> list[str]:
    """``'ebpminrp_gspphot' is Gaia GSP-Phot's per-star reddening, biased high ...``, for each GSP-Phot reddening column
    that de-reddens the observed colour (``given``: a reddening option, which such a column's values take precedence
    over): crossmatch keeps the observed colour within 100 pc for that bias, a table read directly had no word of it.
    With ``rows``, only where a row de-reddens its colour by it (:func:`_gsp_phot_read`): beside a bp_rp0 on every
    row, no star carries its bias (review V65, 4). The figures are README's (Cross-matching, Extinction)."""
    found = match_columns(columns)
    if not reads_observed(found, given):
        return []
    gsp = [name for name in REDDENING_NAMES if name in found and column_key(found[name]) in _GSP_PHOT_KEYS
           and (rows is None or _gsp_phot_read(rows, found, name))]
    return [f"'{found[name]}' is Gaia GSP-Phot's per-star reddening, biased high at low extinction (Andrae et al. "
            "2023): a G or K dwarf with about no reddening can still lose ~0.08 mag of colour to it, some 40% of its age "
            f"(README, Cross-matching); {_own_reddening(found, name)}" for name in gsp]


def _own_reddening(found: dict[str, str], role: str) -> str:
    """The GSP-Phot note's advice: a cluster's own E(B-V) or A_V; or, where the table has one that ``found[role]``
    overrides (a reddening after it in :data:`REDDENING_NAMES`, read only where it is blank), that it is not read and
    how to read it: advising what the table has would not say it was passed over (review V65, 5)."""
    own = [f"'{found[k]}'" for k in REDDENING_NAMES[REDDENING_NAMES.index(role) + 1:]
           if k in found and column_key(found[k]) not in _GSP_PHOT_KEYS]
    if not own:
        return "for a cluster, its own E(B-V) or A_V (one value for its members) is better"
    # every GSP-Phot column read before the own ones (azero_gspphot after ebpminrp_gspphot): dropping one alone
    # would make the next read, the table's own still not (review V67, 5)
    gsp = " and ".join(f"'{found[k]}'" for k in REDDENING_NAMES[REDDENING_NAMES.index(role):]
                       if k in found and column_key(found[k]) in _GSP_PHOT_KEYS)
    return (f"the table's own {' and '.join(own)} {'is' if len(own) == 1 else 'are'} read only where {gsp} "
            f"{'is' if ' and ' not in gsp else 'are'} blank: drop or rename {gsp} to read "
            f"{'it' if len(own) == 1 else 'them'}")


def _gsp_phot_read(rows: pd.DataFrame, found: dict[str, str], role: str) -> bool:
    """Whether a row of ``rows`` takes its colour from the observed one de-reddened by ``found[role]``: no bp_rp0 in it,
    a bp_rp, and ``role`` the first reddening with a value (:func:`gyroage.core.colours.input_colours`' order)."""
    def has(name: str) -> np.ndarray:
        if name not in found:
            return np.zeros(len(rows), dtype=bool)
        col = rows[found[name]]
        return np.isfinite(to_floats(col.iloc[:, 0] if isinstance(col, pd.DataFrame) else col))

    left = ~has("bp_rp0") & has("bp_rp")
    for name in REDDENING_NAMES[:REDDENING_NAMES.index(role)]:
        left &= ~has(name)
    return bool((left & has(role)).any())


def absolute_g_note(columns) -> str | None:
    """``'M_G' taken as de-reddened absolute G ...``: the abs_g0 column read when its name has no 0 (``M_G``,
    ``abs_g``), else ``None``.

    The height term needs a de-reddened absolute G, and an observed G is refused because its extinction is unknown;
    a plain ``M_G`` is read as de-reddened all the same, so the run says so (a name with a 0 says it already).
    """
    col = match_columns(columns).get("abs_g0")
    if col is None or "0" in str(col):
        return None
    return (f"'{col}' taken as de-reddened absolute G (G0 - 5 log10(100/parallax)); subtract its extinction A_G "
            f"first if it holds any (a name with a 0, 'M_G0', skips this note)")


def unread_magnitudes_note(columns) -> str | None:
    """``'g0', 'parallax' not read: 'abs_g0' gives the absolute G ...`` when the input has ``abs_g0`` beside ``g0``
    and ``parallax``, else ``None``: ``abs_g0`` wins in every row (:func:`gyroage.core.stars.input_abs_g`), so a row
    with a blank ``abs_g0`` is dated from rotation alone, its g0 and parallax unused."""
    found = match_columns(columns)
    if "abs_g0" not in found or not ("g0" in found and "parallax" in found):
        return None
    unread = ", ".join(f"'{found[k]}'" for k in ("g0", "parallax", "parallax_err") if k in found)
    return (f"{unread} not read: '{found['abs_g0']}' gives the absolute G (a row with a blank '{found['abs_g0']}' is "
            f"dated from rotation alone; leave that column out to read these)")


def magnitude_notes(columns) -> list[str]:
    """How a run that reads magnitudes takes them, said even with ``-q`` (the API: UserWarnings), as its ages depend on
    it: :func:`absolute_g_note` and :func:`unread_magnitudes_note`, those that apply."""
    return [line for line in (absolute_g_note(columns), unread_magnitudes_note(columns)) if line]


def no_term_note(columns, model: str) -> str | None:
    """``'abs_g0' not read: model M has no main-sequence term ...`` when the input gives magnitudes the shipped model
    would read (``abs_g0``, or ``g0`` with ``parallax``) and ``model`` (from ``gyroage train --export``) cannot: a
    subgiant was then dated as a dwarf, ``ok``, without a word; else ``None``."""
    found = match_columns(columns)
    if "abs_g0" not in found and not ("g0" in found and "parallax" in found):
        return None
    cols = ", ".join(f"'{found[k]}'" for k in ("abs_g0", "g0", "parallax") if k in found)
    return (f"{cols} not read: model {model} has no main-sequence term, so ages rest on rotation alone (a star above "
            "the main sequence is not flagged; README, Retraining)")


def limit_column(columns, prot: str | None) -> str | None:
    """The column of VizieR's limit flags of the period column ``prot``: ``l_`` (``L_``) and its name (``l_Prot``), else
    ``None``. A unit in either name is left out (``l_Prot`` beside ``Prot [d]`` or ``Prot_d``, read as Prot in days)."""
    if prot is None:
        return None
    keys = _unitless_keys(prot)
    found = [str(c) for c in columns if str(c).strip()[:2].lower() == "l_"  # L_PROT: an upper-cased table
             and _unitless_keys(_MANGLED.sub(r"\1", str(c).strip()[2:])) & keys]  # l_Prot.1: pandas' repeat
    if len(found) > 1:  # which is the period's? (a repeated Prot is refused so too)
        raise UserError(f"the table has {len(found)} columns of limit flags of '{prot}' ({', '.join(map(repr, found))}): "
                        f"rename all but one (the first would be read)")
    return found[0] if found else None


def _unitless_keys(name: str) -> set[str]:
    """``column_key`` of ``name`` and of ``name`` without a trailing unit (``Prot [d]``, ``Prot (d)``, ``Prot_d``:
    :func:`gyroage.columns.unit_splits`, as the period column's role is read)."""
    return {column_key(name), *(column_key(rest) for rest, _, _ in unit_splits(name.strip()))}


def limit_note(columns) -> str | None:
    """What a table with the period's limit flags (:func:`limit_column`) is told: its flagged rows are not dated."""
    prot = match_columns(columns).get("prot")
    col = limit_column(columns, prot)
    if col is None:
        return None
    return (f"'{col}' read as the limit flags of '{prot}': a row flagged '<' or '>' is not dated (status "
            f"period_limit)")


def unread_colour_error_note(columns, given: bool = False) -> str | None:
    """``'e_bp_rp' not read: it is the error of an observed BP-RP ...`` when the input has a ``bp_rp0`` without an
    error of its own beside an observed colour's error (``bp_rp_error``, ``e_BP-RP``), else ``None``.

    That error is read only for rows dated from the observed ``bp_rp`` (``given``: a reddening option, with which
    it is read; :func:`gyroage.columns.reads_observed`): a row dated from ``bp_rp0`` takes the model's default
    colour error. Using it as ``bp_rp0``'s error would change ages; the note says how to have it read.
    """
    found = match_columns(columns)
    if "bp_rp_err" not in found or "bp_rp0" not in found or "bp_rp0_err" in found:
        return None
    err, c0 = found["bp_rp_err"], found["bp_rp0"]
    # VizieR's upper error E_BP-RP beside e_BP-RP: renaming only e_BP-RP made E_BP-RP a reddening (or left it unread)
    upper = found.get("bp_rp_err_upper")
    if upper is None:
        cols, it, are, s_, new = f"'{err}'", "it", "it is", "", "e_bp_rp0"
    else:
        cols, it, are, s_, new = f"'{err}' and '{upper}'", "them", "they are", "s", "e_bp_rp0 and E_bp_rp0"
    if reads_observed(found, given):
        return (f"{cols} not read where '{c0}' has a value (those rows take the model's default colour error): "
                f"{are} the error{s_} of the observed '{found['bp_rp']}'; give '{c0}' its own error column{s_}, {new}")
    return (f"{cols} not read: {are} the error{s_} of an observed BP-RP, and the colour comes from '{c0}' (with the "
            f"model's default colour error): name {it} {new} if {are} the error{s_} of '{c0}'")


# names VizieR and member catalogues give a membership probability (column_key of each; Hunt & Reffert 2023's Prob);
# group-age reads one only when --membership names it, so a table holding one is told so
_MEMBERSHIP_KEYS = frozenset(map(column_key, (
    "Mem", "PMem", "P_mem", "PMemb", "Membership", "MemProb", "Prob_mem", "proba", "Pmb", "HDBSCAN_prob", "Prob", "Memb",
    "Member", "MembProb", "memb_prob", "membership_probability", "Mem3D", "Mem%")))


def membership_column(columns) -> str | None:
    """The first of ``columns`` named like a membership probability (``PMem``, ``Mem``), or ``None``: ``group-age``
    reads one only when ``--membership`` names it, and says so (:func:`gyroage.core.groups.membership_note`)."""
    return next((str(c) for c in columns if column_key(percent_base(c) or c) in _MEMBERSHIP_KEYS), None)


def true_false(cells, values: np.ndarray) -> np.ndarray:
    """``values`` (``cells`` as numbers) with the cells that read ``true``/``false`` (any case: a boolean column as
    pandas and astropy write it to CSV, as a FITS logical column is read) as 1/0, as the catalogue's quality flags."""
    if pd.api.types.is_bool_dtype(cells):  # a FITS logical column: io.numeric reads a flag as no number
        return pd.Series(cells).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    missing = np.isnan(values)
    if not missing.any() or pd.api.types.is_numeric_dtype(cells):
        return values
    text = pd.Series(cells.to_numpy(dtype=object)[missing]).astype(str).str.strip().str.lower()
    values = values.copy()
    values[missing] = text.map({"true": 1.0, "false": 0.0}).to_numpy(dtype=float, na_value=np.nan)
    return values


def membership_percent(values, col: str):
    """``values`` of the membership column ``col`` as fractions when its name carries % (:func:`percent_base`); a
    one-line refusal when no value is above 1 (a probability under a % name, or every star below 1%: neither read)."""
    if percent_base(col) is None:
        return values
    if 0 < (top := values[np.isfinite(values)].max(initial=0.0)) <= 1:
        raise UserError(f"column '{col}' names the unit %, but no value is above 1 (up to {top:g}): rename it "
                        "without the % if it holds probabilities 0-1")
    return values / 100.0


def percent_advice(columns, col: str, top: float) -> str | None:
    """What to do with the unread membership column ``col`` whose name carries % (``None`` for another), its largest
    value ``top``: give ``--membership`` by the name before its % (no shell quoting) when that finds it, or rename it
    (no value above 1, which :func:`membership_percent` refuses)."""
    if (base := percent_base(col)) is None:
        return None
    if top <= 1:
        return "its name says % but no value is above 1: rename it without the % to give it to --membership"
    return f"give --membership {base if membership_in(columns, base) == col else col} (read in %, as its name says)"


def membership_unit_note(columns, name: str | None) -> str | None:
    """``converted column 'PMem (%)' from % to fraction``: what the command line says (even with -q) and the API warns
    when ``--membership`` reads a column whose name carries % (:func:`membership_percent`), else ``None``."""
    col = None if name is None else membership_in(columns, name)
    return None if col is None or percent_base(col) is None else f"converted column '{col}' from % to fraction"
