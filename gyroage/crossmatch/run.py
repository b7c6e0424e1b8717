"""The cross-match run: per chunk, resolve ids, fetch Gaia DR3 and the period tables, adopt a period.

``CrossmatchSettings`` (frozen) says what to do; each run returns its own
``CrossmatchReport`` (status counts, warnings), so one settings object serves any
number of runs. The joining and the adoption rules are pure functions of the
fetched tables, tested without any network.
"""

from __future__ import annotations

import numbers
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from gyroage import io, writers
from gyroage.columns import REDDENING_NAMES, column_matches, error_of
from gyroage.crossmatch.colours import (
    A0_PER_UNIT,
    ERROR_SPELLINGS,
    REDDENING_LABELS,
    colours,
    error_by_name,
    role_in,
)
from gyroage.crossmatch.id_parsing import numpy_dtype
from gyroage.crossmatch.queries import (
    CATALOGUE_BY_NAME,
    DEFAULT_SOURCES,
    GAIA_SOURCE,
    fetch_gaia,
    fetch_periods,
    unique_ids,
)
from gyroage.crossmatch.resolve import (
    AMBIGUOUS_DR2,
    AMBIGUOUS_TIC,
    DEC_ALIASES,
    DR2_PREFIX,
    FAR_DR2,
    FAR_DR3,
    ID_ALIASES,
    RA_ALIASES,
    SPLIT_DR2,
    InputIds,
    detect_ids,
    j2000_note,
    resolve,
)
from gyroage.crossmatch.services import Services
from gyroage.errors import UserError
from gyroage.statuses import INVALID_REDDENING, NO_COLOUR, NO_PERIOD, NOT_FOUND, OK

# Written to CSV with every digit (shortest round trip), as Parquet keeps them: the colour, magnitude and parallax
# estimate reads, and the observed colour and reddening bp_rp0 comes from. At 6 significant digits (the other columns:
# periods from the catalogues rarely carry more) crossmatch | estimate moved the 5th digit of an age.
EXACT_COLUMNS = ("bp_rp0", "bp_rp0_err", "bp_rp_obs", "ebp_rp", "ebp_rp_err", "g0", "parallax_mas",
                 "parallax_error_mas")
# The units of crossmatch's own columns whose names give one, for typed outputs' unit-aware readers (an input column
# passed through, renamed input_<name> on a clash, carries none)
UNITS = {"parallax_mas": "mas", "parallax_error_mas": "mas", "phot_g_mean_mag": "mag", "match_sep_arcsec": "arcsec"}
# The warning each of resolve's notes gets (its count of rows: n), in the order said.
RESOLVE_WARNINGS = {
    FAR_DR3: ("warning: {n} TIC/KIC star(s) not_found: no Gaia DR3 neighbour of their Gaia DR2 source is within 1 mag "
              "of it in G (other stars, not theirs re-measured)"),
    FAR_DR2: ("warning: {n} Gaia DR3 source(s) kept without TIC/KIC (so without Kepler/TESS periods): no Gaia DR2 "
              "neighbour of theirs is within 1 mag of them in G (other stars, whose TIC or KIC would not lead to them "
              "either)"),
    AMBIGUOUS_DR2: ("warning: {n} Gaia DR3 source(s) kept without TIC/KIC (so without Kepler/TESS periods): several "
                    "Gaia DR2 neighbours, none clearly the same star (one within 1 mag in G, but not the nearest, or "
                    "another within 1 mag too); give their TIC or KIC to use them"),
    SPLIT_DR2: ("warning: {n} Gaia DR3 source(s) kept without TIC/KIC (so without Kepler/TESS periods): their Gaia "
                "DR2 source was split in DR3, and its TIC/KIC leads to another of its DR3 sources (or to none "
                "clearly), so its Kepler/TESS period may be another star's"),
    AMBIGUOUS_TIC: ("warning: {n} Gaia DR3 source(s) kept without TIC/KIC (so without Kepler/TESS periods): their "
                    "Gaia DR2 source has several TIC entries; give the TIC to use one"),
    DR2_PREFIX: ("warning: {n} row(s) invalid_id: their id is named as a Gaia DR2 one ('Gaia DR2 nnn'), and "
                 "crossmatch reads Gaia DR3 ids (DR3 renumbered some DR2 sources); give the DR3 source_id "
                 "(gaiadr3.dr2_neighbourhood maps one to the other) or the star's TIC"),
}
# A cone matches one star: 60 arcsec is already far beyond any sane match radius, and keeps a single cone's answer
# under the 2000-row sync cap even in the densest Gaia fields (about 1e6 sources per square degree: ~900 in it).
MAX_RADIUS_ARCSEC = 60.0


class Extinction(NamedTuple):
    """What ``--extinction`` takes from one input (:meth:`CrossmatchSettings.extinction_for`)."""

    column: str | None        # the reddening column (None under gspphot and none)
    error: str | None         # its error column, or None
    a0_per: float | None      # its A_0 per unit (None: an E(BP-RP))
    known: bool               # whether its kind is known (by :KIND or its role), not only taken as an E(BP-RP)
    notes: tuple[str, ...]    # note lines the run says once (which error column; a kind not known)


class _CaseBlind(str):
    """An alias :func:`gyroage.columns.find_column` matches by key only, never preferring an exact spelling, so
    that the column found is the one crossmatch reads (:func:`gyroage.columns.alias_columns`' first, as
    :func:`gyroage.crossmatch.resolve.detect_ids` takes it), whose repeat is refused, where ``RA,RA,ra`` read the
    first 'RA' unrefused and ``RA,ra,ra`` was refused over 'ra', not read (review V39a, 4)."""

    case_blind = True


def _blind(names: tuple[str, ...]) -> tuple[str, ...]:
    """``names`` as :class:`_CaseBlind` aliases."""
    return tuple(map(_CaseBlind, names))


@dataclass(frozen=True)
class CrossmatchSettings:
    extinction: str = "gspphot"            # gspphot | none | column:NAME[:av|ebv|ebprp]
    radius_arcsec: float = 2.0
    sources: tuple[str, ...] = DEFAULT_SOURCES   # period sources in adoption order
    id_column: str | None = None
    id_type: str | None = None
    # Under gspphot, stars nearer than this keep their observed colour (ebp_rp_source near_source); farther ones
    # without a correction are counted in a warning.
    warn_distance_pc: float = 100.0

    def __post_init__(self) -> None:
        if not (isinstance(self.radius_arcsec, numbers.Real) and 0 < self.radius_arcsec <= MAX_RADIUS_ARCSEC):
            raise UserError(f"--radius-arcsec must be positive and at most {MAX_RADIUS_ARCSEC:g} arcsec "
                            f"(got {self.radius_arcsec}): a cone matches one star")
        unknown = [s for s in self.sources if s != GAIA_SOURCE and s not in CATALOGUE_BY_NAME]
        if unknown or not self.sources:
            known = ", ".join(DEFAULT_SOURCES)
            raise UserError(f"unknown period source '{unknown[0] if unknown else ''}' (known: {known})")

    @property
    def near_source(self) -> str:
        """``ebp_rp_source`` of a star within :attr:`warn_distance_pc` under gspphot: ``none_within_100pc``."""
        return f"none_within_{self.warn_distance_pc:g}pc"

    def _extinction_name(self, columns: list[str]) -> tuple[str, str | None]:
        """(NAME, KIND lower-cased or None) of ``--extinction column:NAME[:KIND]``: the whole rest, without a KIND,
        when NAME is no column of ``columns`` but the rest is one (a column literally named ``x:av``)."""
        rest = self.extinction[7:]
        name, sep, kind = rest.rpartition(":")
        if sep and name and kind.lower() in A0_PER_UNIT:
            if io.find_column(columns, name) is not None or io.find_column(columns, rest) is None:
                return name, kind.lower()
        return rest, None

    def extinction_for(self, columns: list[str]) -> Extinction:
        """What ``--extinction`` takes from an input of header ``columns``: its column, that column's error column,
        its A_0 per unit and the notes to say (worked out once a run: :func:`crossmatch_chunk` takes it).

        The column: none under gspphot and none; a one-line :class:`UserError` when ``column:NAME[:KIND]`` names no
        column, or an error column (``av_err``, ``e_ebv``, ``e_X``). Its A_0 per unit (None for an E(BP-RP)): its
        ``:KIND``, else its role as ``estimate`` reads it (A_V, E(B-V), E(BP-RP)); any other name is read as an
        E(BP-RP), not known (a note says so). Its error: :meth:`_extinction_error`.
        """
        col = self._extinction_column(columns)
        if col is None:
            return Extinction(None, None, None, False, ())
        name, kind = self._extinction_name(columns)
        role = role_in(columns, col)
        error, err_note = self._extinction_error(columns, col, role)
        notes = [err_note]  # said once a run, under -q too: the ages depend on it
        if kind is not None:
            a0_per, known = A0_PER_UNIT[kind], True
        else:
            a0_per, known = A0_PER_UNIT.get(role or ""), role in REDDENING_NAMES
        if not known:  # said once a run, under -q too: the values depend on it
            notes.append(f"note: --extinction {self.extinction}: '{col}' is not named as an A_V, E(B-V) or "
                         f"E(BP-RP) gyroage reads, so it is read as E(BP-RP); if it holds an A_V or E(B-V), say "
                         f"--extinction column:{name}:av (or :ebv)")
        return Extinction(col, error, a0_per, known, tuple(notes))

    def read_names(self) -> dict[str, tuple[str, ...]]:
        """The columns the run reads, as the readers' ``roles`` (each the first of its names found, as
        :func:`detect_ids` finds them): a repeat of one is refused in one line, as estimate's (review V30, 3: the
        first copy was read without a word), a repeat of a column not read is passed through. --id-column's, else
        each id kind's (a fallback kind's too), and ra's and dec's, read only where no id is: theirs look for the
        ids first, as the id found is read anyway; under --id-type radec the coordinates'. --extinction
        column:NAME[:KIND]'s, NAME before the whole rest (the one :meth:`_extinction_name` reads)."""
        if self.id_type == "radec":  # an --id-column is one of the coordinates (detect_ids)
            roles = {"ra": _blind(RA_ALIASES), "dec": _blind(DEC_ALIASES)}
        elif self.id_column:
            roles = {"--id-column": (self.id_column,)}
        else:
            kinds = [self.id_type] if self.id_type else list(ID_ALIASES)
            roles = {f"a {k} id": _blind(ID_ALIASES.get(k, ())) for k in kinds}
            if not self.id_type:
                ids = tuple(n for k in kinds for n in ID_ALIASES[k])
                roles |= {"ra": _blind(ids + RA_ALIASES), "dec": _blind(ids + DEC_ALIASES)}
        if self.extinction.startswith("column:") and self.extinction[7:]:
            roles["--extinction"] = tuple(dict.fromkeys((self._extinction_name([])[0], self.extinction[7:])))
        return {f"crossmatch reads {role}": names for role, names in roles.items()}

    def _extinction_column(self, columns: list[str]) -> str | None:
        """The input column ``--extinction column:NAME[:KIND]`` names (None under gspphot and none), or the one-line
        :class:`UserError` of :meth:`extinction_for`."""
        mode = self.extinction
        if mode in ("gspphot", "none"):
            return None
        if mode.startswith("column:") and mode[7:]:
            name, kind = self._extinction_name(columns)
            col = io.find_column(columns, name)
            if col is None:
                if kind is not None:  # say how it was read: the name may hold the colon (the rest is no column either)
                    raise UserError(f"--extinction {mode}: no column '{name}' (column:NAME:KIND read as NAME "
                                    f"'{name}', KIND {kind}), nor '{mode[7:]}', in the input")
                kinds = " (a kind after the name is :av, :ebv or :ebprp)" if ":" in name else ""
                raise UserError(f"--extinction {mode}: no column '{name}' in the input{kinds}")
            role = role_in(columns, col)
            # an error subtracted as a reddening: 0.3 mag of "E(BP-RP)" from an A_V's error of 0.3
            whose = error_by_name(col, columns)
            if error_of(col) is not None or (role is not None and "_err" in role) or whose:
                raise UserError(f"--extinction {mode}: '{col}' is an error column, not a reddening"
                                f"{f' (by its name, {whose})' if whose else ''}: name the reddening's own column "
                                "(its error is read beside it)")
            return col
        raise UserError(f"--extinction must be gspphot, none or column:NAME[:av|ebv|ebprp] (got '{mode}')")

    def _extinction_error(self, columns: list[str], col: str, role: str | None) -> tuple[str | None, str]:
        """(the error column of the ``--extinction`` column ``col``, of role ``role``, or None; the note line that
        says which, or why none).

        NAME's own error first (:data:`ERROR_SPELLINGS` built on NAME: ``e_NAME``, ``NAME_err``, ...); else, when NAME
        is the only value column of its role (``A0`` the only A_V), that role's error as ``estimate`` pairs it
        (``e_av`` beside ``A0``); else none: beside ``A_V`` and ``e_A_V``, ``column:A0`` never takes ``e_A_V``.
        The note is said under -q too: the ages depend on it, and an error spelt otherwise (``sig_NAME``) is not read.
        """
        head = f"note: --extinction {self.extinction}: "
        spellings = [spelling.format(col) for spelling in ERROR_SPELLINGS]
        own = io.find_column(columns, *spellings)
        if own is not None:
            return own, f"{head}the error of '{col}' is '{own}' (converted as its value: ebp_rp_err)"
        found = column_matches(columns)
        errors = found.get(f"{role}_err", []) if role in REDDENING_NAMES else []
        values = found.get(role, []) if errors else []
        if errors and values == [col]:
            return errors[0], (f"{head}the error of '{col}' is '{errors[0]}', its {REDDENING_LABELS[role]} error "
                               "(converted as its value: ebp_rp_err)")
        why = ""
        if errors:  # another value column of the role is there: its error may be that column's
            others = ", ".join(f"'{c}'" for c in values if c != col)
            why = (f"; '{errors[0]}' is not taken: it may be the error of {others}, another "
                   f"{REDDENING_LABELS[role]} column")
        mine = f"an error of '{col}'"
        looks = [c for c in columns if c != col and error_by_name(c, columns) == mine]
        if looks:
            why += f"; '{looks[0]}' is not read as its error (rename it {spellings[0]} to use it)"
        return None, (f"{head}no error column for '{col}' (read as its error: {', '.join(spellings)}){why}; "
                      "ebp_rp_err is left empty, so no reddening error widens its ages")


@dataclass
class CrossmatchReport:
    """What one run found, filled in as its chunks go by and returned at the end."""

    counts: Counter = field(default_factory=Counter)   # crossmatch_status -> rows
    # Matched stars beyond warn_distance_pc (or without parallax) whose colour has no extinction correction.
    uncorrected_far: int = 0
    # Matched stars within it whose GSP-Phot E(BP-RP), biased high there, was not subtracted (--extinction gspphot).
    kept_near: int = 0
    # Rows that lost a match or their TIC/KIC no status tells (resolve's _note: FAR_DR3, FAR_DR2, AMBIGUOUS_DR2,
    # SPLIT_DR2, AMBIGUOUS_TIC, DR2_PREFIX) -> how many.
    resolve_notes: Counter = field(default_factory=Counter)
    # Gaia DR3 ids of a Gaia id input gaia_source does not know (not_found): a list of Gaia DR2 ids looks like this
    unknown_gaia: int = 0
    # Sources Gaia answered with several differing rows (the first of each kept).
    gaia_differing: set[int] = field(default_factory=set)
    cone_differing: set[int] = field(default_factory=set)  # the same of the cone search's answers (positions)
    messages: list[str] = field(default_factory=list)  # warnings, each once, in the order first seen

    def warn(self, message: str) -> None:
        if message not in self.messages:
            self.messages.append(message)


def crossmatch_chunk(frame: pd.DataFrame, ids: InputIds, services: Services, settings: CrossmatchSettings,
                     report: CrossmatchReport | None = None, extinction: Extinction | None = None) -> pd.DataFrame:
    """Every input row, in order, plus the columns ``estimate`` reads, candidates and provenance.

    Warnings and the count of far stars left uncorrected go to ``report``. ``extinction``: what ``--extinction``
    takes from ``frame``'s header (:meth:`CrossmatchSettings.extinction_for`, worked out here when not given).
    """
    report = report if report is not None else CrossmatchReport()
    ext = extinction if extinction is not None else settings.extinction_for(list(frame.columns))
    res = resolve(frame, ids, services, settings.radius_arcsec, report.warn, report.cone_differing.update)
    status = res["_status"].to_numpy(dtype=object).copy()
    report.resolve_notes.update(note for note in res["_note"] if note)
    n = len(frame)
    gaia = fetch_gaia(services, unique_ids(res["source_id"][status == OK].dropna()), report.gaia_differing.update)
    g = res[["source_id"]].merge(gaia, on="source_id", how="left")
    # found: gaia_source answered the id (a DR3 source without G or BP photometry is one: no_colour, below)
    found = res["source_id"].isin(gaia["source_id"]).fillna(False).to_numpy(bool)
    # only a Gaia id can be a DR2 one: a mixed list's TIC and KIC rows reach their source through the TIC
    report.unknown_gaia += int(((status == OK) & ~found & res["_by_gaia"].to_numpy(bool)).sum())
    status[(status == OK) & ~found] = NOT_FOUND

    plx = g["parallax"].to_numpy(float)
    # within warn_distance_pc (a parallax missing or <= 0 is not near): inside the Local Bubble, E(BP-RP) ~ 0
    near = plx >= 1000.0 / settings.warn_distance_pc
    for note in ext.notes:  # said once a run, under -q too: the ages depend on them
        report.warn(note)
    c = colours(frame, g, settings.extinction, ext.column, ext.error, ext.a0_per, near, settings.near_source)
    status[(status == OK) & ~np.isfinite(c.bp_rp)] = NO_COLOUR
    status[(status == OK) & c.invalid] = INVALID_REDDENING
    report.uncorrected_far += int(((status == OK) & ~c.applied & ~near).sum())
    report.kept_near += int(((status == OK) & (c.source == settings.near_source)).sum())

    cands = _candidates(res, g, status, services, settings.sources)
    prot, prot_err, prot_src, n_cand = adopt(cands, n)
    spread = np.full(n, np.nan)  # how far the other candidates sit from the adopted period
    with np.errstate(invalid="ignore", divide="ignore"):
        for p, _ in cands.values():
            spread = np.fmax(spread, np.abs(p - prot) / prot)
    status[(status == OK) & ~np.isfinite(prot)] = NO_PERIOD

    okish = np.isin(status, [OK, NO_PERIOD])
    ours: dict[str, object] = {}
    for col in ("source_id", "tic", "kic"):  # nullable int64: exact in CSV and Parquet alike
        ours[col] = res[col].array
    ours["prot"] = np.where(status == OK, prot, np.nan)
    ours["prot_err"] = np.where(status == OK, prot_err, np.nan)
    ours["bp_rp0"] = np.where(okish, c.bp_rp0, np.nan)
    ours["bp_rp0_err"] = np.where(okish, c.bp_rp0_err, np.nan)
    ours["prot_source"] = np.where(status == OK, prot_src, "")
    ours["prot_n_candidates"] = n_cand
    ours["prot_max_rel_diff"] = np.where(status == OK, spread, np.nan)
    for name, (p, e) in cands.items():
        ours[f"prot_{name}_days"] = p
        ours[f"prot_{name}_err_days"] = e
    ours["bp_rp_obs"] = c.bp_rp
    ours["ebp_rp"] = np.where(c.applied | c.invalid, c.ebprp, np.nan)  # a negative one shown as given: the reason
    # the column's error, converted as its value: estimate reads it beside bp_rp0 as it reads av_err beside bp_rp
    # (added to the colour's error in its own place, so the ages are those of estimate on the observed colour)
    ours["ebp_rp_err"] = np.where(c.applied, c.ebprp_err, np.nan)
    ours["ebp_rp_source"] = c.source
    ours["phot_g_mean_mag"] = g["phot_g_mean_mag"].to_numpy(float)
    # G de-reddened along with the colour (observed where the colour is): with parallax_mas, estimate's
    # main-sequence term reads it
    ours["g0"] = np.where(okish, ours["phot_g_mean_mag"] - np.where(c.applied, c.ag, 0.0), np.nan)
    ours["parallax_mas"] = plx
    ours["parallax_error_mas"] = g["parallax_error"].to_numpy(float)  # widens the term where the parallax is poor
    ours["ruwe"] = g["ruwe"].to_numpy(float)
    ours["match_sep_arcsec"] = res["match_sep_arcsec"].to_numpy(float)
    ours["crossmatch_status"] = status
    out = _input_columns(_ids_as_read(frame, ids), list(ours))
    for col, values in ours.items():
        out[col] = values
    return out


def _candidates(res: pd.DataFrame, g: pd.DataFrame, status: np.ndarray, services: Services,
                sources: tuple[str, ...]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Candidate (period, error) arrays, one pair per source, in adoption order."""
    cands: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in sources:
        if name == GAIA_SOURCE:
            cands[name] = (g["best_rotation_period"].to_numpy(float), g["best_rotation_period_error"].to_numpy(float))
            continue
        cat = CATALOGUE_BY_NAME[name]
        key = res[cat.key]
        table = fetch_periods(services, cat, unique_ids(key[status == OK].dropna()))
        m = pd.DataFrame({"id": key}).merge(table, on="id", how="left")
        cands[name] = (m["prot"].to_numpy(float), m["prot_err"].to_numpy(float))
    return cands


def adopt(cands: dict[str, tuple[np.ndarray, np.ndarray]], n: int):
    """First finite positive period in the order of ``cands`` (Kepler, then TESS, then Gaia DR3)."""
    prot = np.full(n, np.nan)
    err = np.full(n, np.nan)
    src = np.full(n, "", dtype=object)
    count = np.zeros(n, dtype=int)
    for name, (p, e) in cands.items():
        has = np.isfinite(p) & (p > 0)
        count += has
        take = has & ~np.isfinite(prot)
        prot[take], err[take], src[take] = p[take], e[take], name
    return prot, err, src, count


def _record(command: str | None, services: Services, settings: CrossmatchSettings, ids: InputIds) -> dict[str, str]:
    """The run's record (:func:`gyroage.provenance.crossmatch_provenance`): the services and tables asked and the ids."""
    from gyroage.provenance import crossmatch_provenance

    tables = [f"{s} (gaiadr3.vari_rotation_modulation)" if s == GAIA_SOURCE else f"{s} (VizieR {CATALOGUE_BY_NAME[s].vizier})"
              for s in settings.sources]
    if ids.kind == "radec":
        read = f"{ids.ra_column}, {ids.dec_column} (radec)"
    else:
        read = ", ".join(f"{col} ({kind})" for kind, col in ((ids.kind, ids.column), *ids.fallbacks))
    # Gaia's TAP service as queried (ESA's /tap-server/tap added to a URL without a path); the others' base URLs
    urls = {"gaia": services.gaia.tap_url, "vizier": services.vizier.url, "mast": services.mast.url}
    return crossmatch_provenance(command, urls, tables, settings.extinction, read,
                                 settings.radius_arcsec if ids.kind == "radec" else None)


def _ids_as_read(frame: pd.DataFrame, ids: InputIds) -> pd.DataFrame:
    """``frame`` with its float32 id columns widened: echoed at float32's own precision, the held id 100000048 would
    read 100000050, neither the file's number nor the user's (100000049)."""
    narrow = {c: "Float64" if isinstance(frame[c].dtype, pd.api.extensions.ExtensionDtype) else np.float64
              for c in (ids.column, *(c for _, c in ids.fallbacks)) if c is not None
              and (d := numpy_dtype(frame[c].dtype)).kind == "f" and d.itemsize < 8}
    return frame.astype(narrow) if narrow else frame


def _input_columns(frame: pd.DataFrame, ours: list[str]) -> pd.DataFrame:
    """Input columns, renamed ``input_<name>`` (never a duplicate) when we write a column of that name
    (``ours``: a user's own ``ruwe`` is kept beside Gaia's) or ``estimate`` would read them instead of ours."""
    return io.prefix_clashes(frame, [*ours, *(c for c in frame.columns if io.match_columns([c]))])


def _note_unused_reddenings(columns: list, renamed: list, settings: CrossmatchSettings,
                            report: CrossmatchReport) -> None:
    """One note naming the input's reddening columns (E(BP-RP), A_V, E(B-V) as ``estimate`` reads them) that
    ``--extinction gspphot`` or ``none`` sets aside: renamed ``input_<name>`` (``renamed``: the output's names of
    ``columns``), a user would otherwise take them for the correction applied."""
    if settings.extinction not in ("gspphot", "none"):
        return
    found = column_matches(columns)
    reddening = {c for name in REDDENING_NAMES for c in found.get(name, ())}
    named = [f"'{c}' (as {new})" for c, new in zip(columns, renamed) if c in reddening]
    if named:
        report.warn(f"note: input reddening column{'s' if len(named) > 1 else ''} {', '.join(named)} not used "
                    f"(--extinction {settings.extinction}); --extinction column:NAME uses one of them instead")


def run_crossmatch(source: str | Path, target: str | Path | None, services: Services,
                   settings: CrossmatchSettings, chunksize: int = 5000, quiet: bool = False, input_fmt: str | None = None,
                   output_fmt: str | None = None, command: str | None = None) -> CrossmatchReport:
    """Stream ``source`` through ``crossmatch_chunk`` into ``target`` (atomic); returns this run's report.

    ``input_fmt`` and ``output_fmt`` (:data:`gyroage.formats.FORMATS` names) override the formats the files give.
    A typed output carries the run's record (:func:`gyroage.provenance.crossmatch_provenance`; ``command``: the
    command as typed, :func:`gyroage.provenance.command_line`).
    """
    from gyroage.formats import input_format
    from gyroage.progress import Progress, counts_text

    if not (isinstance(chunksize, numbers.Integral) and chunksize >= 1):  # 0 rows a chunk would never end
        raise UserError(f"--chunksize must be at least 1, not {chunksize}")
    report = CrossmatchReport()
    progress = Progress("crossmatch", unit="stars", quiet=quiet)
    ids: InputIds | None = None
    fmt = input_format(source, input_fmt)
    writers.check_outputs(source, target)
    # held: stdout, -o /dev/stdout or a FIFO gets the whole table at the end or nothing, never the chunks written
    # before a service failed (a shorter table the next command of a pipe takes as complete)
    with writers.AtomicWriter(target, output_fmt, text_columns=fmt == "csv", hold=True, lock=True) as writer:
        # read_chunks yields at least one chunk; a header-only input gives one without rows, whose
        # output is the header alone.
        for chunk in io.read_chunks(source, chunksize, fmt, settings.read_names()):
            first = ids is None
            if first:
                ids = detect_ids(list(chunk.columns), settings.id_column, settings.id_type)
                extinction = settings.extinction_for(list(chunk.columns))  # one header a run: worked out once
                if (epoch := j2000_note(ids)) is not None:  # said once, under -q too: the matches depend on it
                    report.warn(epoch)
                writer.meta = _record(command, services, settings, ids)  # before the first write fixes Parquet's
                writer.units = UNITS
            out = crossmatch_chunk(chunk, ids, services, settings, report, extinction)  # no rows: no query is sent
            out = io.case_blind_clashes(out, chunk.shape[1], writer.format)  # FITS, VOTable: names without case
            if first:
                _note_unused_reddenings(list(chunk.columns), list(out.columns[:chunk.shape[1]]), settings, report)
            # the input's own columns come first; from a typed input their floats keep every digit (CSV input: as read)
            writer.write(out, exact=[*EXACT_COLUMNS, *(() if fmt == "csv" else out.columns[: chunk.shape[1]])])
            report.counts.update(out["crossmatch_status"].tolist())
            progress.update(len(chunk))
    if report.uncorrected_far:
        report.warn(
            f"warning: {report.uncorrected_far} star(s) beyond {settings.warn_distance_pc:.0f} pc (or without "
            f"parallax) have no extinction correction (--extinction {settings.extinction}); "
            "their bp_rp0 is the observed BP-RP")
    if report.gaia_differing:  # the service's contract is one row a source: a mirror joining another table breaks it
        report.warn(f"warning: Gaia answered several differing rows for {len(report.gaia_differing)} source(s) "
                    f"(the lowest: source_id {min(report.gaia_differing)}); the first row of each is used")
    if report.cone_differing:  # the first row's position and G decide the match
        report.warn(f"warning: Gaia's cone search answered several differing rows for {len(report.cone_differing)} "
                    f"source(s) (the lowest: source_id {min(report.cone_differing)}); the first row of each is used")
    for note, message in RESOLVE_WARNINGS.items():
        if report.resolve_notes[note]:
            report.warn(message.format(n=report.resolve_notes[note]))
    if report.unknown_gaia:
        report.warn(f"note: {report.unknown_gaia} Gaia id(s) not_found in Gaia DR3: if the list holds Gaia DR2 ids, "
                    "those DR3 renumbered are no DR3 ids (gaiadr3.dr2_neighbourhood maps one to the other; or give "
                    "the star's TIC)")
    if report.kept_near:  # said as the far count is, so -q says it too
        report.warn(
            f"note: {report.kept_near} star(s) within {settings.warn_distance_pc:g} pc (parallax >= "
            f"{1000.0 / settings.warn_distance_pc:g} mas) kept the observed colour and G ({settings.near_source}): "
            "GSP-Phot's E(BP-RP), biased high at low extinction, was not subtracted")
    for msg in report.messages:
        print(f"crossmatch: {msg}", file=sys.stderr, flush=True)
    progress.close(extra=counts_text(report.counts))
    return report
