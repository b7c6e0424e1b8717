"""Input column names: which column holds which quantity, as literature tables and VizieR spell them.

A name is matched to a canonical name (:data:`ALIASES`' keys) in three steps:

1. a raw name starting with a lower-case ``e_`` (VizieR's "error of") or ``err_`` is the error of the column the
   rest names (``e_BP-RP`` is ``bp_rp_err``, ``e_E(B-V)`` is ``ebv_err``), never a value: upper-case ``E(``,
   ``E_``, ``EBV`` names are reddenings (:func:`error_of`; a column looked up by a name the user or a catalogue
   gives follows the same rule, :func:`name_key`);
2. the name compared case-insensitively, ignoring spaces, ``_``, ``-`` and brackets (:func:`column_key`);
3. else a trailing unit, in brackets (``Prot [d]``, ``Per (h)``; for a period any time unit astropy knows,
   ``Prot [min]``) or after ``_`` (``Period_d``), taken off and the rest matched: the values are read in that unit
   (:func:`column_role`'s ``scale``, applied by :func:`gyroage.io.numeric`). A bracketed unit of another kind
   (``Prot [mag]``) is refused in one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from gyroage import notices
from gyroage.errors import UserError

# The reddening value columns, E(BP-RP), A_V, E(B-V): gyroage.core.colours.REDDENINGS' names, in its order.
REDDENING_NAMES = ("ebprp", "av", "ebv")


def reads_observed(cols, given: bool) -> bool:
    """Whether the observed ``bp_rp`` column dates stars: it is among the matched ``cols`` and a reddening de-reddens
    it (``given``: an option, ``--ebprp``/``--av``/``--ebv``; or a reddening value column)."""
    return "bp_rp" in cols and (given or any(name in cols for name in REDDENING_NAMES))


# Canonical name -> accepted spellings (compared by column_key). Names starting with a lower-case e_ never reach
# these lists as they are (step 1 above): their e_ entries are for the same key spelt otherwise (EBPRP0, eprot).
ALIASES: dict[str, tuple[str, ...]] = {
    "prot": ("prot", "prot_days", "period", "period_days", "p_rot", "rotation_period", "per", "prot_d"),
    "bp_rp0": ("bp_rp0", "bprp_0", "bprp0", "bp_rp_0", "(bp-rp)0", "bp_rp_0_mag", "bprp0_mag", "color0", "colour0",
               # Gaia's own band names, and de-reddened spelt out; (BP-RP)o is the subscript zero typed as a letter
               "(gbp-grp)0", "bp0-rp0", "bp_rp_dered", "bprp_dered", "bp_rp_dereddened", "(bp-rp)o"),
    # Error columns also with the unit their value columns may carry (bp_rp0_err_mag, e_prot_days, parallax_err_mas),
    # or they would be ignored while the value is read (tests/core/test_colours.py checks every such pair).
    "bp_rp0_err": ("bp_rp0_err", "e_bprp_0", "e_bprp0", "e_bp_rp0", "bprp_0_err", "bp_rp0_error",
                   "sigma_bp_rp0", "bp_rp_0_err", "e_bp_rp_0", "bp_rp0_err_mag", "e_bp_rp0_mag", "bp_rp0_error_mag"),
    "prot_err": ("prot_err", "e_prot", "prot_error", "sigma_prot", "period_err", "e_period", "e_per", "prot_err_days",
                 "e_prot_days", "prot_error_days", "prot_err_d", "e_prot_d", "period_err_days", "e_period_days"),
    # Colours as users have them (gyroage.core.colours). E(BP-RP), E_BP_RP and ebprp are one key: the reddening;
    # e_BP-RP is the observed colour's error (step 1).
    "bp_rp": ("bp_rp", "bprp", "bp-rp", "(bp-rp)", "bp_rp_mag", "bprp_mag", "gbp-grp"),
    "bp_rp_err": ("bp_rp_err", "bprp_err", "bp_rp_error", "sigma_bp_rp", "bp_rp_err_mag"),
    "ebprp": ("ebprp", "E(BP-RP)", "ebp_rp", "ebpminrp", "ebpminrp_gspphot", "ebprp_mag", "E(GBP-GRP)"),
    "ebprp_err": ("ebprp_err", "E(BP-RP)_err", "e_ebprp", "sigma_ebprp", "ebprp_error", "ebp_rp_err", "ebprp_err_mag",
                  "e_ebprp_mag"),
    "av": ("av", "a_v", "A0", "azero", "azero_gspphot", "av_mag", "extinction_v"),
    "av_err": ("av_err", "a_v_err", "e_av", "e_a_v", "sigma_av", "av_error", "a0_err", "e_a0", "av_err_mag", "e_av_mag"),
    # E(B-V), as cluster tables list it; the error of a de-reddened (B-V)0 is e_b_v0 (e_b_v: the error of an observed
    # B-V, which is not read).
    "ebv": ("ebv", "E(B-V)", "ebmv", "ebv_mag", "ebmv_mag"),
    "ebv_err": ("ebv_err", "E(B-V)_err", "e_ebv", "sigma_ebv", "ebv_error", "ebmv_err", "e_ebmv", "ebv_err_mag",
                "e_ebv_mag", "ebmv_err_mag", "e_ebmv_mag"),
    "teff": ("teff", "t_eff", "teff_k", "teff_spec"),
    "teff_err": ("teff_err", "e_teff", "teff_error", "sigma_teff", "teff_err_k", "e_teff_k"),
    # De-reddened Johnson (B-V)0 and Johnson-2MASS (V-Ks)0, as older rotation tables give them, through the same
    # dwarf sequence. Only de-reddened names: an observed B-V is not accepted (no reddening law for it here).
    "b_v0": ("b_v0", "(b-v)0", "b_v_0", "bmv0", "b_v0_mag", "bv0_mag", "(b-v)o"),
    "b_v0_err": ("b_v0_err", "e_b_v0", "e_(b-v)0", "b_v0_error", "sigma_b_v0", "e_bmv0", "bmv0_err", "b_v0_err_mag",
                 "e_b_v0_mag", "bv0_err_mag", "e_bv0_mag"),
    "v_ks0": ("v_ks0", "(v-ks)0", "v_ks_0", "v_k0", "(v-k)0", "vmks0", "v_ks0_mag", "(v-ks)o", "(v-k)o"),
    "v_ks0_err": ("v_ks0_err", "e_v_ks0", "e_(v-ks)0", "v_ks0_error", "sigma_v_ks0", "e_v_k0", "v_k0_err",
                  "e_(v-k)0", "v_ks0_err_mag", "e_v_ks0_mag"),
    # The height above the main sequence (gyroage.core.main_sequence): a de-reddened absolute G, or a de-reddened
    # G with a parallax. An observed phot_g_mean_mag is not accepted: its extinction is not the colour's business.
    "abs_g0": ("abs_g0", "m_g0", "abs_g0_mag", "absmag_g0", "mg0", "abs_g", "m_g", "absmag_g"),
    "g0": ("g0", "g_0", "g0_mag", "g_0_mag", "gmag0", "phot_g_mean_mag0"),
    "parallax": ("parallax", "plx", "parallax_mas", "plx_mas", "dr3_parallax_zpt_corrected", "parallax_zpt_corrected",
                 "parallax_corrected"),
    # their errors (mas; mag): they widen the term's width for that star (gyroage.core.main_sequence)
    "parallax_err": ("parallax_error", "parallax_err", "e_parallax", "plx_err", "e_plx", "sigma_parallax",
                     "parallax_error_mas", "plx_err_mas", "parallax_err_mas", "e_parallax_mas", "e_plx_mas"),
    "abs_g0_err": ("abs_g0_err", "e_abs_g0", "abs_g0_error", "m_g0_err", "e_m_g0", "abs_g_err", "e_abs_g",
                   "abs_g0_err_mag", "e_abs_g0_mag", "abs_g0_error_mag"),
}
REQUIRED = ("prot", "bp_rp0")
# Inputs a (BP-RP)0 can come from, in order of preference (gyroage.core.colours); any satisfies "bp_rp0" in REQUIRED.
COLOUR_SOURCES = ("bp_rp0", "bp_rp", "teff", "v_ks0", "b_v0")
MISSING_COLOUR = ("missing colour: give bp_rp0 (de-reddened), or bp_rp with E(BP-RP)/A_V/E(B-V), or teff, or a "
                  "de-reddened v_ks0 or b_v0")


# The unit the tool takes each column it reads in (ALIASES' canonical names; a test checks every one is here), by
# kind: a column carrying another unit (gyroage.formats.convert_units, or its name) is converted to it, or refused.
_MAGS = ("bp_rp0", "bp_rp0_err", "bp_rp", "bp_rp_err", "ebprp", "ebprp_err", "av", "av_err", "ebv", "ebv_err",
         "b_v0", "b_v0_err", "v_ks0", "v_ks0_err", "abs_g0", "abs_g0_err", "g0")
COLUMN_KINDS: dict[str, str] = {"prot": "period", "prot_err": "period", "parallax": "angle", "parallax_err": "angle",
                                "teff": "temperature", "teff_err": "temperature difference",
                                **dict.fromkeys(_MAGS, "magnitude")}
# A colour's or the period's upper error (VizieR's E_X beside e_X: :func:`column_matches`), read in its error's unit.
UPPER = "_upper"
UPPER_ERRORS = (*COLOUR_SOURCES, "prot")
COLUMN_KINDS.update({f"{c}_err{UPPER}": COLUMN_KINDS[f"{c}_err"] for c in UPPER_ERRORS})
_PLAIN_ERRORS = frozenset(f"{c}_err" for c in UPPER_ERRORS)
# Columns an option names (group-age --membership; train's fiducial_age_Myr): converted as COLUMN_KINDS' are.
OPTION_KINDS: dict[str, str] = {"membership": "fraction", "cluster_age": "age"}
# kind -> (unit, its name in the log line, what the refusal asks for, what the column is)
KINDS: dict[str, tuple[str, str, str, str]] = {
    "period": ("d", "days", "days (or another time unit)", "a rotation period"),
    "magnitude": ("mag", "mag", "mag", "a colour, magnitude or extinction"),
    "angle": ("mas", "mas", "mas (or another angle)", "a parallax"),
    "temperature": ("K", "K", "K (or deg_C, deg_F)", "a temperature"),
    "temperature difference": ("K", "K", "K (or deg_C, deg_F)", "a temperature error"),
    "fraction": ("", "fraction", "a fraction (or %)", "a probability"),
    "age": ("Myr", "Myr", "Myr (or another time unit)", "a cluster's age")}
# Units a name may carry (lower-case) -> (kind, as in KINDS; factor to the tool's unit of that kind).
UNITS: dict[str, tuple[str, float]] = {
    **dict.fromkeys(("d", "day", "days"), ("period", 1.0)),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), ("period", 1.0 / 24.0)),
    **dict.fromkeys(("minute", "minutes"), ("period", 1.0 / 1440.0)),  # not "min": Prot_min is a minimum
    **dict.fromkeys(("mag", "mags"), ("magnitude", 1.0)),
    "mmag": ("magnitude", 1e-3),
    "mas": ("angle", 1.0),
    "arcsec": ("angle", 1e3),
    **dict.fromkeys(("uas", "\u00b5as", "\u03bcas"), ("angle", 1e-3)),
    "k": ("temperature", 1.0),
}
_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-"})  # Unicode minus and en dash, as typeset tables give them
_BRACKETED = re.compile(r"^(.*\S)\s*[\[(]\s*([^\[\]()]+?)\s*[\])]$")  # "Prot [d]", "Per (h)", "(BP-RP)0 [mag]"
_SUFFIXED = re.compile(r"^(.+)_([A-Za-z]+)$")  # "Period_d", "Prot_h"
_OBSERVED_COLOUR = re.compile(r"^(bv|vks?)(mag)?$")  # column_key of an observed B-V or V-Ks
_PERIOD_LIKE = re.compile(r"^(?!.*(err|sig|amp|pow|flag))(p|pr|ps|rot|p(\d+|acf|ls|main)|(prot|per).*)$")  # not pm
_MANGLED = re.compile(r"^(.+)\.(\d+)$")  # pandas' name for a repeated header: "A_V.1" beside "A_V"
_SUFFIX_UNITS = frozenset(("d", "day", "days", "h", "hr", "hrs", "hour", "hours", "mag", "mmag", "mas", "k"))


def is_number(text: str) -> bool:
    """Whether ``text`` reads as a float (``1e3``, ``inf`` too): a header cell that does is data, not a name."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def column_key(name: str) -> str:
    """A column name compared case-insensitively, ignoring a BOM, spaces, '-' (and Unicode minus), '_' and brackets."""
    return "".join(ch for ch in _clean(name).lower() if ch not in " -_()[]")


def _clean(name) -> str:
    return str(name).lstrip("\ufeff").strip().translate(_MINUS)


def error_of(name) -> str | None:
    """What an error-of column's name names (``e_BP-RP``: ``BP-RP``; ``ERR_Prot``: ``Prot``), or ``None`` for any other
    name: a lower-case ``e_`` (VizieR's) or an ``err_`` in any case. An upper-case ``E_`` is no such prefix
    (``E_BP_RP`` is a reddening)."""
    name = _clean(name)
    if name.startswith("e_"):
        return name[2:]
    return name[4:] if name.lower().startswith("err_") else None


def name_key(name) -> str:
    """:func:`column_key`, marked for an error-of name (:func:`error_of`), so that ``e_BP-RP`` never matches
    ``E(BP-RP)`` while ``e_Prot`` and ``err_Prot`` match each other: how a column is looked up by a name
    (``--by``, ``--membership``, ``--id``, prior and extinction columns, catalogue aliases)."""
    rest = error_of(name)
    return column_key(name) if rest is None else "e_" + column_key(rest)  # column_key drops '_': no value's key


_ALIAS_KEYS = {column_key(a): canon for canon, names in ALIASES.items() for a in names}


@dataclass(frozen=True)
class Role:
    """What an input column holds: the canonical ``name``, and the ``unit`` its name gives (``None``: the tool's
    own), whose values times ``scale`` are in the tool's unit."""

    name: str
    scale: float = 1.0
    unit: str | None = None


@lru_cache(maxsize=4096)
def _role(raw: str) -> Role | str | None:
    """:func:`column_role`, or the one-line refusal of a name whose bracketed unit cannot be its quantity's."""
    rest = error_of(raw)
    if rest is None:
        return _value_role(_clean(raw), raw)
    value = _value_role(rest, raw)
    if not isinstance(value, Role):
        return value
    err = f"{value.name}_err"
    return Role(err, value.scale, value.unit) if err in ALIASES else None


def _value_role(name: str, raw: str) -> Role | str | None:
    canon = _ALIAS_KEYS.get(column_key(name))
    named = _unit_role(name, raw)
    if canon is None:
        return named
    # An alias may spell a unit (Prot [d] is prot_d, Prot_days, (BP-RP)0 [mag]): it carries it as Per (d) does, so a
    # table's unit that disagrees is refused for every spelling alike (gyroage.formats.unit_conversion).
    return named if isinstance(named, Role) and named.name == canon else Role(canon)


def unit_splits(name: str) -> list[tuple[str, str, bool]]:
    """(the name, its unit, whether bracketed) of each reading of ``name`` as a name and a trailing unit (module
    docstring, step 3): any bracketed word (``Prot [d]``, ``Per (h)``), after ``_`` only one of :data:`_SUFFIX_UNITS`."""
    found = ((pattern.match(name), bracketed) for pattern, bracketed in ((_BRACKETED, True), (_SUFFIXED, False)))
    return [(m[1], m[2], bracketed) for m, bracketed in found if m and (bracketed or m[2].lower() in _SUFFIX_UNITS)]


def _unit_role(name: str, raw: str) -> Role | str | None:
    """The role of ``name`` read as a name and a trailing unit (:func:`unit_splits`), or the refusal, or ``None``."""
    for rest, unit, bracketed in unit_splits(name):
        canon = _ALIAS_KEYS.get(column_key(rest))
        if canon is None:
            continue
        kind, scale = UNITS.get(unit.lower(), (None, 1.0))
        want = COLUMN_KINDS[canon].replace("temperature difference", "temperature")
        if kind is None and bracketed and want == "period":  # Prot [min], Prot [s], Prot [yr]: any time unit
            days = _days(unit)
            kind, scale = ("period", days) if days is not None else (None, 1.0)
        if kind == want:
            return Role(canon, scale, unit)
        if bracketed and kind is not None:  # a known unit of another quantity: the column is not what it seems
            _, _, what, noun = KINDS[want]
            return f"column '{raw}' names the unit '{unit}', but {canon} is {noun}: give it in {what}"
    return None


def _days(unit: str) -> float | None:
    """Days in one of the time unit ``unit`` names (astropy's or CDS's: ``min``, ``s``, ``yr``, ``years``), or ``None``
    (no time unit, or a log one). astropy is imported only for a bracketed unit :data:`UNITS` lacks, on a period's name.
    """
    import astropy.units as u

    if unit == "ha":  # a hectare from astropy 7 on, a hecto-annum (36525 d) before: the same answer on every astropy
        return None
    for text in dict.fromkeys((unit, unit[:-1] if len(unit) > 2 and unit.endswith("s") else unit)):
        for fmt in (None, "cds"):
            try:
                with notices.quiet():
                    parsed = u.Unit(text, format=fmt)
            except (ValueError, TypeError):
                continue
            if isinstance(parsed, u.FunctionUnitBase) or not parsed.is_equivalent(u.day):
                return None
            days = float(parsed.to(u.day))
            return days if days > 0 else None
    return None


def column_role(name) -> Role | None:
    """The quantity the column ``name`` holds (module docstring), or ``None`` when it is none the tool reads."""
    role = _role(str(name))
    return role if isinstance(role, Role) else None


def _upper_error(name: str, lower: set[str]) -> Role | None:
    """The role ``<X>_err_upper`` of an upper-case ``E_X`` whose ``e_X`` is a column too (``lower``: the
    :func:`column_key` of what each error-of column names), X a colour or the period (:data:`UPPER_ERRORS`), else
    ``None``.

    VizieR gives an asymmetric error as ``e_X`` (lower) and ``E_X`` (upper): ``E_BP-RP`` beside ``e_BP-RP`` is no
    reddening E(BP-RP), and subtracting it from the colour made the stars look bluer, hence younger; ``E_Prot``
    beside ``e_Prot`` was a second period error, the first column's taken, so MCMC ages hung on the column order.
    """
    name = _clean(name)
    if not name.startswith("E_") or column_key(name[2:]) not in lower:
        return None
    value = _value_role(name[2:], name)
    if isinstance(value, Role) and value.name in UPPER_ERRORS:
        return Role(f"{value.name}_err{UPPER}", value.scale, value.unit)
    return None


def column_matches(columns) -> dict[str, list[str]]:
    """Canonical name -> every input column that supplies it, in input order (the first is used).

    A name whose bracketed unit is another quantity's (``Prot [mag]``) is a one-line :class:`UserError`. ``X.1``
    beside ``X`` (a repeated header, as pandas renames it) has X's role. ``E_X`` beside its ``e_X`` is a colour's or
    the period's upper error, ``<X>_err_upper`` (:func:`_upper_error`), when that ``e_X`` is its first error; any
    other ``E_X`` error comes after the plain ones (:func:`_pair_errors`).
    """
    columns = list(columns)
    lower = {column_key(rest) for rest in map(error_of, columns) if rest is not None}
    found: dict[str, list[str]] = {}
    seen: set[str] = set()
    for col in columns:
        # pandas renames a repeated header A_V to A_V.1: another column of A_V's role (named by duplicate_notes);
        # only after A_V, where pandas puts it (a Prot.1 before Prot was read in its place)
        m = _MANGLED.match(str(col))
        name = m.group(1) if m and m.group(1) in seen else str(col)
        seen.add(str(col))
        role = (_upper_error(name, lower) if lower else None) or _role(name)
        if isinstance(role, str):
            raise UserError(role)
        if role is not None and _clean(name).startswith("E_") and role.name in _PLAIN_ERRORS:
            # VizieR's E_X is an upper error with or without its e_X: after the plain errors (review V34, 3)
            role = Role(f"{role.name}{UPPER}", role.scale, role.unit)
        if role is not None:
            found.setdefault(role.name, []).append(col)
    return _pair_errors(found)


def _pair_errors(found: dict[str, list[str]]) -> dict[str, list[str]]:
    """``found``, each colour's and the period's upper errors made plain errors again (after them) unless the
    first ``<X>_err`` is the ``e_X`` (or ``err_X``) whose ``E_X`` is the first upper one: a mean of another pair
    (``E_Period`` with ``E_P_rot``, of two upper errors; ``sigma_bp_rp`` with the ``E_BP-RP`` of a later ``e_BP-RP``)
    changed ages where the first error column is read as it is."""
    for name in UPPER_ERRORS:
        upper, err = found.get(f"{name}_err{UPPER}"), f"{name}_err"
        lower = error_of(found.get(err, [""])[0])
        if not upper or (lower is not None and column_key(lower) == column_key(_clean(upper[0])[2:])):
            continue
        # after the plain errors: an E_X read first made its one-sided upper half the error (review V30, 4)
        found[err] = found.get(err, []) + found.pop(f"{name}_err{UPPER}")
    return found


def match_columns(columns) -> dict[str, str]:
    """Canonical name -> the input column that supplies it (first match wins)."""
    return {canon: cols[0] for canon, cols in column_matches(columns).items()}


def file_has(columns, limit: int = 12, prefix: str = "; the file has: ", quote: bool = False) -> str:
    """"; the file has: a, b, c" (the first ``limit`` names, then how many more): what a missing column's error adds.

    ``prefix`` says whose columns they are (an answer's: ``"; its columns: "``); ``quote``: names as ``'a'``, so
    a header that is one name with separators in it (``'log10_age;density'``) reads as one.
    """
    names = [repr(str(c)) if quote else str(c) for c in columns]
    shown = ", ".join(names[:limit]) if names else "no columns"
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return f"{prefix}{shown}{more}"


def require_columns(columns, required=REQUIRED) -> dict[str, str]:
    """Canonical name -> input column; a one-line :class:`UserError` naming what is missing and what the file has.

    A required ``bp_rp0`` is satisfied by any of :data:`COLOUR_SOURCES` (whether an observed
    colour has its reddening is checked by :func:`gyroage.core.colours.required_colour`).
    """
    columns = list(columns)
    found = match_columns(columns)
    for name in required:
        if name == "bp_rp0":
            if not any(c in found for c in COLOUR_SOURCES):
                seen = [f"'{c}'" for c in columns if _OBSERVED_COLOUR.match(column_key(c))]  # B-V: no Gaia colour
                said = f"; {seen[0]} is an observed colour, never read (only Gaia's BP-RP is de-reddened)" if seen else ""
                raise UserError(MISSING_COLOUR + said + file_has(columns))
        elif name not in found:
            raise UserError(f"missing required column '{name}' (accepted names: {', '.join(ALIASES[name][:4])}, ...)"
                            f"{_period_hint(columns) if name == 'prot' else ''}{file_has(columns)}")
    _refuse_old_reddening_pair(columns, found)
    return found


def _period_hint(columns: list) -> str:
    """VizieR's Per1, Prot_ACF...: offered as the period, never read unasked (which one is it?), with their l_/e_/E_
    columns, which a rename must carry along (left behind, the limits are dated and the errors unread)."""
    like = [str(c) for c in columns if _PERIOD_LIKE.match(column_key(c))]
    kept = [f"'{c}' {c.strip()[:2].replace('L', 'l')}Prot" for c in map(str, columns) if c.strip()[:2] in ("l_", "L_", "e_", "E_")
            and column_key(c.strip()[2:]) in set(map(column_key, like))]
    return (f"; if {'one of ' if len(like) > 1 else ''}{', '.join(map(repr, like))} is the rotation period in days, "
            f"rename it Prot{' (and its ' + ', '.join(kept) + ')' if kept else ''}") if like else ""


def _refuse_old_reddening_pair(columns: list, found: dict[str, str]) -> None:
    """A one-line :class:`UserError` for a (BP-RP)0 table whose E(BP-RP) and its error were read by the rule before
    e_ meant "the error of" (``e_bp_rp``, ``e_bp_rp_err``) and are not both read now.

    Beside ``bp_rp0`` that pair's error is added to the colour's (:func:`gyroage.core.colours.input_colours`): dropped
    quietly, the ages would change. An observed ``bp_rp`` needs no such check: without its reddening it is refused.
    """
    if "bp_rp0" not in found:
        return
    old: dict[str, str] = {}
    for col in columns:  # the old rule: the key alone
        canon = _ALIAS_KEYS.get(column_key(col))
        if canon in ("ebprp", "ebprp_err"):
            old.setdefault(canon, col)
    lost = {k: c for k, c in old.items() if found.get(k) != c}
    if len(old) == 2 and lost:
        what = {"ebprp": ("E(BP-RP)", "E(BP-RP)"), "ebprp_err": ("the error of E(BP-RP)", "e_E(BP-RP)")}
        raise UserError(" and ".join(f"'{c}' is no longer read as {what[k][0]}" for k, c in lost.items())
                        + " (a lower-case e_ prefix is the error of the column it names, as in VizieR): rename "
                        + ("it " if len(lost) == 1 else "them ")
                        + " and ".join(what[k][1] for k in lost))


def _several(what: str, used, ignored, columns=()) -> str:
    """The note that several columns are ``what``: which one is used, which are ignored; a label ``columns`` (all the
    input's) holds more than once with its column number, so that a DataFrame's two 'prot' read apart (review V41 5)."""
    at = {c: iter([i + 1 for i, d in enumerate(columns) if d == c]) for c in columns if list(columns).count(c) > 1}
    def where(c) -> str:
        return f" (column {next(at[c])})" if c in at else ""
    return f"several columns are {what}: using '{used}'{where(used)}, ignoring {', '.join(repr(str(c)) + where(c) for c in ignored)}"


def duplicate_notes(columns) -> list[str]:
    """One line per quantity that several columns supply: which is used, which are ignored (an upper error in
    words, ``the upper error of prot``: README names no ``<X>_err_upper`` role)."""
    return [_several(f"the upper error of {canon[:-len(f'_err{UPPER}')]}" if canon.endswith(f"_err{UPPER}") else canon,
                     cols[0], cols[1:], columns) for canon, cols in column_matches(columns).items() if len(cols) > 1]


def option_notes(columns, options) -> list[str]:
    """One line per option naming a column (``(option, name)`` pairs, ``("--by", "cluster")``; a name ``None``: not
    given) that several columns match, in :func:`duplicate_notes`' words: which one :func:`find_column` takes."""
    columns = list(columns)
    found = [(option, name, find_column(columns, name)) for option, name in options if name is not None]
    others = [(f"{option} {name}", col, [c for c in columns if name_key(c) == name_key(name) and str(c) != str(col)])
              for option, name, col in found if col is not None]
    return [_several(what, col, rest) for what, col, rest in others if rest]


def name_conversions(columns) -> str | None:
    """``converted column 'Per [h]' from h to days``: the columns read whose name gives a unit other than the tool's.
    The reading line says so too (:func:`describe`), but ``-q`` silences it, and a value changed on reading is always
    said (as a units row's conversions are); ``None`` when no name converts."""
    done = []
    for col in match_columns(columns).values():
        role = column_role(col)
        if role is not None and role.unit is not None and role.scale != 1.0 and role.name in COLUMN_KINDS:
            done.append(f"'{col}' from {role.unit} to {KINDS[COLUMN_KINDS[role.name]][1]}")
    return f"converted column {', '.join(done)}" if done else None


def describe(column: str, unit_of: str | None = None) -> str:
    """``'column'`` for a notice, with its unit when its name gives one (``unit_of``: the tool's unit, always shown)."""
    role = column_role(column)
    text = f"'{column}'"
    if role is not None and role.unit is not None and role.scale != 1.0:
        want = KINDS[COLUMN_KINDS[role.name]][1]
        return f"{text} ({role.unit}, converted to {want})"
    return f"{text} ({unit_of})" if unit_of else text


def alias_columns(columns, aliases) -> list:
    """The columns matching any of ``aliases`` by :func:`name_key`, the first alias's first (in the input's order)
    first, however each is spelt: crossmatch's id and coordinate columns, and :func:`find_column`'s key match."""
    keys = [name_key(a) for a in aliases]
    return sorted((c for c in columns if name_key(c) in keys), key=lambda c: keys.index(name_key(c)))


def find_column(columns, *names: str | None) -> str | None:
    """The column of ``columns`` named exactly the first of ``names`` that any column matches, else the first matching
    it by :func:`name_key` (an error-of column, ``e_BP-RP``, only for an error-of name, never for ``E(BP-RP)``).

    An exact name wins: ``--by cluster`` beside ``Cluster`` and ``cluster`` is ``cluster`` (the first case-insensitive
    match pooled a table's clusters by a column the user did not name); a ``case_blind`` name is found by key only.
    """
    columns = list(columns)
    exact = {str(c): c for c in reversed(columns)}
    for n in filter(None, names):
        if str(n) in exact and not getattr(n, "case_blind", False):  # crossmatch's aliases: alias_columns' first
            return exact[str(n)]
        if found := alias_columns(columns, (n,)):
            return found[0]
    return None


def read_roles(columns, roles: dict[str, str | tuple[str, ...]] | None = None) -> dict[str, str]:
    """Role -> column of each column of ``columns`` the tool reads: the canonical ones (:func:`match_columns`), and
    ``roles`` (role -> the name the user gave an option, ``{"membership": "member"}``, or names: the first found)
    found by :func:`find_column`; one absent is left out. What a table's units convert (CSV units row, astropy...)."""
    columns = list(columns)
    found = match_columns(columns)
    for role, name in (roles or {}).items():
        names = name if isinstance(name, tuple) else (name,)
        col = membership_in(columns, name) if role == "membership" else find_column(columns, *names)
        if col is not None:
            found[role] = col
    return found


# A name that ends in its unit, %: 'PMem (%)', 'PMem [%]', 'PMem%', 'Mem_%' (a membership in percent)
_PERCENT_NAME = re.compile(r"^(.*?[^\s_])\s*(?:[\[(]\s*%\s*[\])]|_?%)$")


def percent_base(name) -> str | None:
    """The name before the ``%`` that ``name`` ends with as its unit (``PMem (%)``, ``Mem%``: ``PMem``, ``Mem``), or
    ``None``: such a --membership column is read in %, as a units row's % is."""
    m = _PERCENT_NAME.match(str(name).strip())
    return m[1] if m else None


def membership_in(columns, name: str) -> str | None:
    """The column ``--membership name`` reads: :func:`find_column`'s, else ``name`` and a % (``PMem`` finds
    ``PMem (%)``), else ``None``."""
    columns = list(columns)
    if (col := find_column(columns, name)) is None:
        key = name_key(name)
        col = next((c for c in columns if (base := percent_base(c)) is not None and name_key(base) == key), None)
    return col
