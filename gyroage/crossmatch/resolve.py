"""From an input row to Gaia DR3 ``source_id``, TIC and KIC: identifier detection and resolution (parsing:
:mod:`gyroage.crossmatch.id_parsing`).

Identifiers flow as: TIC/KIC --MAST TIC--> Gaia DR2 id --gaiadr3.dr2_neighbourhood-->
Gaia DR3 ``source_id`` (and back for Gaia inputs, to reach the TESS/Kepler catalogues);
positions go through a cone search around each one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from gyroage import io, notices
from gyroage.columns import alias_columns
from gyroage.crossmatch.id_parsing import DR2_RE, float_column_note, parse_ids
from gyroage.crossmatch.queries import (
    fetch_cone_sources,
    fetch_neighbourhood,
    fetch_tic,
    unique_ids,
)
from gyroage.errors import UserError
from gyroage.statuses import AMBIGUOUS, INVALID_ID, NOT_FOUND, OK

# ``_note`` of a row whose DR2 -> DR3 hop met no neighbour within 1 mag, however many there are (a TIC/KIC row,
# not_found), of a Gaia DR3 row with no DR2 neighbour within 1 mag (kept, without TIC/KIC), and of a Gaia DR3 row whose
# DR2 neighbours include one within 1 mag but none clearly the same star (kept, without TIC/KIC): the run counts them
FAR_DR3, FAR_DR2, AMBIGUOUS_DR2 = "far_dr3", "far_dr2", "ambiguous_dr2"
# ``_note`` of a Gaia DR3 row whose DR2 source's TIC/KIC route (DR2 -> DR3) leads to another DR3 source or to none
# (a DR2 source split in DR3): kept, without TIC/KIC, counted by the run
SPLIT_DR2 = "split_dr2"
# ``_note`` of a Gaia DR3 row whose DR2 source has several (unflagged) TIC entries: kept, without TIC/KIC, counted
AMBIGUOUS_TIC = "ambiguous_tic"
# ``_note`` of a Gaia row invalid_id for its DR2 prefix ('Gaia DR2 nnn'): a DR2 id, counted by the run
DR2_PREFIX = "dr2_prefix"

if TYPE_CHECKING:
    from gyroage.crossmatch.services import Services

ID_ALIASES: dict[str, tuple[str, ...]] = {
    # gaia_dr3_id: the shared rotator catalogue's (ChronoFlow's) GaiaDR3_ID
    "gaia": ("source_id", "gaia_dr3_source_id", "dr3_source_id", "gaiadr3_source_id", "gaia_dr3_id", "dr3_id",
             "gaia_dr3", "gaiadr3", "gaia_source_id", "gaia_id", "gaia"),
    "tic": ("tic", "tic_id", "ticid", "tess_id", "tid"),
    "kic": ("kic", "kic_id", "kicid", "kepid", "kepler_id"),
}
# Compared by io.name_key (io.find_column), so raj2000 is also VizieR's computed _RAJ2000 and RA_J2000, dedeg DEdeg and DE_deg.
# Bare alpha/delta are left out: in a rotation table alpha is as likely the differential-rotation shear and delta a
# difference (of magnitudes, periods), so a table holding both would be cone-searched at made-up positions.
RA_ALIASES = ("ra", "ra_deg", "raj2000", "ra_icrs", "radeg", "alpha_j2000")
DEC_ALIASES = ("dec", "dec_deg", "dej2000", "de_icrs", "decdeg", "de", "dedeg", "decj2000", "dec_icrs", "delta_j2000")


# ---------------------------------------------------------------- input detection and parsing
@dataclass(frozen=True)
class InputIds:
    kind: str                 # gaia / tic / kic / radec
    column: str | None
    ra_column: str | None = None
    dec_column: str | None = None
    # (kind, column) of the other id columns found, in order: a row without a readable id in ``column`` uses the first
    # of these it has one in. Only when neither --id-column nor --id-type says which column to read.
    fallbacks: tuple[tuple[str, str], ...] = ()


def detect_ids(columns: list[str], id_column: str | None = None, id_type: str | None = None) -> InputIds:
    """The identifier column: named with ``id_column`` or found by (case-insensitive) alias; found by alias,
    the other kinds' id columns are the rows' fallbacks (a mixed list of Gaia, TIC and KIC stars).

    Positions (``id_type`` radec, or no id column but both coordinates) come from the ra and dec columns; a missing
    one is a one-line error naming it, so no row is left ``invalid_id`` for want of a column.
    """
    if id_type == "radec":
        return _positions(columns, id_column)
    if id_column:
        col = io.find_column(columns, id_column)
        if col is None:
            raise UserError(f"--id-column '{id_column}' is not a column of the input")
        kind = id_type or next((k for k, names in ID_ALIASES.items() if io.find_column([col], *names)), None)
        if kind is None:
            raise UserError(f"cannot tell whether '{col}' holds Gaia DR3, TIC or KIC ids: add --id-type gaia|tic|kic")
        return InputIds(kind, col)
    # each kind's columns, the first alias's first (in the input's order) leading; the others are its rows' fallbacks
    found = [[(kind, c) for c in _by_alias(columns, ID_ALIASES[kind], f"{_ID_NAMES[kind]} ids", fallback=True)]
             for kind in (("gaia", "tic", "kic") if id_type is None else (id_type,)) if kind in ID_ALIASES]
    found = [pair for pairs in found for pair in pairs]  # "radec" has no id column
    if found:
        return InputIds(*found[0], fallbacks=tuple(found[1:]))
    ra, dec = _coordinates(columns)
    if ra and dec and id_type is None:
        return InputIds("radec", None, ra, dec)
    need = "no identifier column: need one of source_id, tic, kic or ra+dec (or name it with --id-column)"
    # Gaia's own 'Gaia DR3 nnn' designation and VizieR's Source (I/355/gaiadr3) hold Gaia DR3 ids, but a bare
    # 'source' is as often where a period came from: pointed at, not taken
    if (likely := io.find_column(columns, *GAIA_ID_HINTS)) is not None and id_type is None:
        need += f"; '{likely}' may hold Gaia DR3 ids (Gaia's designation, VizieR's Source): --id-column {likely} " \
                "--id-type gaia reads them"
    if (ra or dec) and id_type is None:  # half a position: say which half is missing
        raise UserError(f"{need}; found '{ra or dec}' but {_missing_coordinates(ra, dec)}")
    raise UserError(need)


_ID_NAMES = {"gaia": "Gaia DR3", "tic": "TIC", "kic": "KIC"}
GAIA_ID_HINTS = ("designation", "source")  # named in the no-identifier error, never taken (detect_ids)


def _by_alias(columns: list[str], aliases: tuple[str, ...], what: str, fallback: bool = False) -> list[str]:
    """The columns of ``columns`` matching ``aliases`` (:func:`gyroage.columns.alias_columns`), the one read first:
    the first alias any matches, then its first column in the input's order (a later exact spelling won: ``Source_ID ...
    source_id`` read the third column, ``RA,Dec,ra`` star B's RA with star A's Dec); a repeat of it is refused
    before (:meth:`gyroage.crossmatch.run.CrossmatchSettings.read_names`). When there are several, one line on
    stderr says which is read and how the others are (``fallback``: a row with no readable id in the first uses the
    next; else ignored), a CSV's copies (pandas' ``ra.1``) named too."""
    hits = alias_columns(columns, aliases)
    copies = [c for c in columns if (m := re.fullmatch(r"(.+)\.\d+", str(c))) and m.group(1) in hits[1:]]
    if len(hits) > 1:
        others, rest = (", ".join(repr(str(c)) for c in cs) for cs in (hits[1:], copies))
        how = (f"then {others} in a row with no readable id in it{f', ignoring {rest}' if rest else ''}" if fallback
               else f"ignoring {', '.join(filter(None, (others, rest)))}")
        notices.say(f"crossmatch: several columns are {what}: using '{hits[0]}', {how}")
    return hits if fallback else hits[:1]


def _coordinates(columns: list[str]) -> tuple[str | None, str | None]:
    """The ra and dec columns (:func:`_by_alias`: the first of several, said)."""
    ra, dec = (_by_alias(columns, aliases, name) for aliases, name in ((RA_ALIASES, "ra"), (DEC_ALIASES, "dec")))
    return (ra or [None])[0], (dec or [None])[0]


# Position names that declare an epoch-2000 position (VizieR computes _RAJ2000 at epoch J2000), not Gaia's 2016.0
_J2000_NAMES = frozenset(map(io.name_key, ("raj2000", "alpha_j2000", "dej2000", "decj2000", "delta_j2000")))


def j2000_note(ids: InputIds) -> str | None:
    """The note a run says when its positions come from J2000-named columns (README's epoch rule), else None."""
    named = [c for c in (ids.ra_column, ids.dec_column) if c is not None and io.name_key(c) in _J2000_NAMES]
    if ids.kind != "radec" or not named:
        return None
    cols = "/".join(f"'{c}'" for c in (ids.ra_column, ids.dec_column))
    return (f"note: positions {cols} are named as J2000 ones; they are compared with Gaia DR3's epoch-2016.0 "
            "positions with no proper motion applied, so a fast-moving star can be arcseconds off and matched to "
            "another source: give epoch-2016.0 positions, or mind --radius-arcsec")


def _missing_coordinates(ra: str | None, dec: str | None) -> str:
    """'no ra column (any of ...)' and/or the same for dec, for the coordinates not found."""
    return " and ".join(f"no {name} column (any of {', '.join(aliases)})"
                        for name, col, aliases in (("ra", ra, RA_ALIASES), ("dec", dec, DEC_ALIASES)) if col is None)


def _positions(columns: list[str], id_column: str | None) -> InputIds:
    """``--id-type radec``: the ra and dec columns; ``id_column``, if given, must be one of them."""
    ra, dec = _coordinates(columns)
    if ra is None or dec is None:
        raise UserError(f"--id-type radec needs ra and dec columns: {_missing_coordinates(ra, dec)} in the input")
    if id_column and io.find_column([ra, dec], id_column) is None:
        raise UserError(f"--id-column '{id_column}' is neither coordinate: --id-type radec reads the positions from "
                        f"'{ra}' and '{dec}' (drop --id-column)")
    return InputIds("radec", None, ra, dec)


# ---------------------------------------------------------------- TIC/KIC -> DR2 -> DR3
def _neighbour(nb: pd.DataFrame, key: str, value: str) -> dict[int, int | str]:
    """``key`` id -> its one ``value`` id in a dr2_neighbourhood answer, or AMBIGUOUS, or NOT_FOUND (no neighbour
    within 1 mag: other stars): one rule both ways (DR2 -> DR3 for TIC/KIC inputs, DR3 -> DR2 back from a Gaia DR3
    input). See :func:`_neighbour_choice`."""
    return _chosen_ids(_neighbour_choice(nb, key, value))


def _chosen_ids(choice: pd.DataFrame) -> dict[int, int | str]:
    """A :func:`_neighbour_choice` as ``key`` id -> ``value`` id, or NOT_FOUND where no neighbour is within 1 mag
    (other stars: nothing to choose between), or AMBIGUOUS where one is but the choice is not clear."""
    return {int(k): int(v) if ok else NOT_FOUND if far else AMBIGUOUS
            for k, v, ok, far in zip(choice.index, choice["value"], choice["clear"], choice["all_far"])}


def _neighbour_choice(nb: pd.DataFrame, key: str, value: str) -> pd.DataFrame:
    """Per ``key`` id (the index): the nearest-ranked ``value`` id, whether it is ``clear``ly the same star, whether
    no neighbour at all is within 1 mag (``all_far``: other stars, one or several), and its ``sep_arcsec`` (the
    answer's angular_distance, mas, in arcsec; NaN where not given).

    The neighbour keeping the id from DR2 to DR3 wins. Otherwise the nearest is taken when it is within 1 mag of the
    source (an unknown difference counts as within) and every other neighbour differs from it by more than 1 mag (an
    unknown one counts against; the cone match's rule for the other sources); a lone neighbour must be within 1 mag
    too, unlike the cone match, which adopts a lone source whatever its G. A source without a neighbour within 1 mag
    has no counterpart, whatever the number of its neighbours (not ``clear``, yet nothing to be ambiguous about).
    """
    nb = nb.dropna(subset=[key, value])
    if nb.empty:
        return pd.DataFrame({"value": pd.Series(dtype="int64"), "clear": pd.Series(dtype=bool),
                             "all_far": pd.Series(dtype=bool), "sep_arcsec": pd.Series(dtype=float)})
    sep_mas = pd.to_numeric(nb["angular_distance"], errors="coerce").to_numpy(float)
    d = pd.DataFrame({"key": nb[key].to_numpy("int64"), "value": nb[value].to_numpy("int64"),
                      "dist": np.where(np.isnan(sep_mas), np.inf, sep_mas), "sep_arcsec": sep_mas / 1000.0,
                      "off": pd.to_numeric(nb["magnitude_difference"], errors="coerce").abs().to_numpy()})
    d["same"] = d["key"] == d["value"]
    d["close"] = ~(d["off"] > 1.0)  # NaN: could be the same star
    d = d.drop_duplicates(["key", "value"]).sort_values(["key", "same", "dist"], ascending=[True, False, True],
                                                        kind="stable")
    groups = d.groupby("key", sort=False)
    first = groups.head(1).set_index("key")
    others_close = groups["close"].sum().reindex(first.index) - first["close"].astype(int)
    # A lone neighbour is held to the 1-mag rule as well: a star 3 mag off 1.5" away is another star, not this one
    # re-measured, and taking it hands one star's TIC/KIC period to another's colour.
    first["clear"] = first["same"] | (first["close"] & (others_close == 0))
    # no neighbour within 1 mag (an unknown difference counts as within): other stars, however many, as a lone one
    first["all_far"] = ~first["clear"] & (groups["close"].sum().reindex(first.index) == 0)
    return first[["value", "clear", "all_far", "sep_arcsec"]]


def _opt_int(v) -> int | None:
    return None if pd.isna(v) else int(v)


def _tic_by(tic: pd.DataFrame, key: str) -> dict[int, tuple[int, int | None, int | None] | str]:
    """``key`` id -> its TIC row as (TIC, KIC, Gaia DR2), or AMBIGUOUS when it has several TIC ids."""
    out: dict[int, tuple[int, int | None, int | None] | str] = {}
    for k, tid, kic, dr2 in zip(tic[key], tic["ID"], tic["KIC"], tic["GAIA"]):
        if pd.isna(k):
            continue
        row = (int(tid), _opt_int(kic), _opt_int(dr2))
        first = out.setdefault(int(k), row)
        if isinstance(first, tuple) and first[0] != row[0]:
            out[int(k)] = AMBIGUOUS
    return out


def _look_up(table: dict, keys: np.ndarray, status: np.ndarray) -> np.ndarray:
    """``table[int(key)]`` for each row still ``ok`` (else None); a missing key (NOT_FOUND) or a status entry
    (AMBIGUOUS, NOT_FOUND) sets ``status``."""
    out = np.full(len(keys), None, dtype=object)
    for i in np.flatnonzero(status == OK):
        hit = table.get(int(keys[i]))
        if hit is None:
            status[i] = NOT_FOUND
        elif isinstance(hit, str):
            status[i] = hit
        else:
            out[i] = hit
    return out


def resolve(frame: pd.DataFrame, ids: InputIds, services: Services, radius_arcsec: float,
            warn: Callable[[str], None] | None = None,
            cone_differing: Callable[[list[int]], None] | None = None) -> pd.DataFrame:
    """Per input row: Gaia DR3 source_id, TIC, KIC (nullable), a provisional status and whether the row was read by
    its Gaia id (``_by_gaia``: a mixed list's TIC and KIC rows are not); warnings go to ``warn``,
    the ids of sources a cone search answered in differing rows to ``cone_differing`` (counted over the run)."""
    if ids.fallbacks:
        return _resolve_mixed(frame, ids, services, radius_arcsec, warn, cone_differing)
    n = len(frame)
    gaia = np.full(n, None, dtype=object)
    tic = np.full(n, None, dtype=object)
    kic = np.full(n, None, dtype=object)
    status = np.full(n, OK, dtype=object)
    sep = np.full(n, np.nan)
    note = np.full(n, "", dtype=object)  # why a row lost a match that no status tells (counted by the run)

    if ids.kind == "radec":
        ra = coordinate(frame, ids.ra_column, hours=True)
        dec = coordinate(frame, ids.dec_column, hours=False)
        # a position off the sky is a bad identifier: never sent to the service (which may wrap it or fail the query)
        good = (ra >= 0) & (ra < 360) & (np.abs(dec) <= 90)  # False for NaN
        status[~good] = INVALID_ID
        gaia, sep, status = _cone_match(ra, dec, good, status, services, radius_arcsec, warn, cone_differing)
    else:
        parsed = parse_ids(frame[ids.column], ids.kind)
        status[np.array([p is None for p in parsed], dtype=bool)] = INVALID_ID
        if warn is not None and (rounded := float_column_note(frame[ids.column], ids.column)) is not None:
            warn(rounded)
        if ids.kind == "gaia":  # a DR2 id is no DR3 one (DR3 renumbered some): say why the row is invalid_id
            note[np.array([p is None and bool(DR2_RE.match(str(v))) for p, v in zip(parsed, frame[ids.column])],
                          dtype=bool)] = DR2_PREFIX
        {"gaia": gaia, "tic": tic, "kic": kic}[ids.kind][:] = parsed

    if ids.kind in ("tic", "kic"):
        own = tic if ids.kind == "tic" else kic
        col = "ID" if ids.kind == "tic" else "KIC"
        tic_of = _tic_by(fetch_tic(services, col, unique_ids(own), warn), col)
        dr2 = np.full(n, None, dtype=object)
        rows = _look_up(tic_of, own, status)
        for i, row in enumerate(rows):
            if row is not None:
                tic[i], kic[i], dr2[i] = row
        status[(status == OK) & np.array([d is None for d in dr2], dtype=bool)] = NOT_FOUND  # in TIC, no Gaia DR2
        choice = _neighbour_choice(fetch_neighbourhood(services, "dr2_source_id", unique_ids(dr2[status == OK])),
                                   "dr2_source_id", "dr3_source_id")
        before = status == OK
        found = _look_up(_chosen_ids(choice), dr2, status)
        far = set(choice.index[choice["all_far"]])
        # the DR2 source's DR3 neighbours are all other stars: counted by the run, as no status says why
        note[before & np.array([d in far for d in dr2], dtype=bool)] = FAR_DR3
        hit = status == OK
        gaia[hit] = found[hit]
        # the hop's own distance (DR3 source to the DR2 one): the only separation an identifier match has
        sep[hit] = pd.Series(dr2[hit], dtype=object).map(choice["sep_arcsec"]).to_numpy(float)
    else:
        # Gaia in: find DR2 ids, then TIC/KIC, only to reach the TESS/Kepler period tables.
        live = [g for g, s in zip(gaia, status) if s == OK]
        back = _neighbour(fetch_neighbourhood(services, "dr3_source_id", unique_ids(live)), "dr3_source_id",
                          "dr2_source_id")
        dr2_of = {k: v for k, v in back.items() if not isinstance(v, str)}
        # The same rule forward: a DR2 source split in DR3 has one TIC/KIC, which the TIC route sends to one of its
        # DR3 parts (the id kept, or the clear one) or to none; the other parts would take another star's period. A
        # DR2 id kept in DR3 leads back to itself (the same id wins), so only renumbered ones are asked.
        fwd = _neighbour(fetch_neighbourhood(services, "dr2_source_id",
                                             unique_ids(v for k, v in dr2_of.items() if k != v)),
                         "dr2_source_id", "dr3_source_id")
        split = {k for k, v in dr2_of.items() if k != v and fwd.get(v) != k}
        dr2_of = {k: v for k, v in dr2_of.items() if k not in split}
        # the row keeps its Gaia match, only the TIC/KIC route is lost; counted by the run: DR2 neighbours none of
        # them within 1 mag are other stars (whose TIC/KIC would not lead here either), while one within 1 mag that
        # fails the rule may be the star (its TIC or KIC, given, is worth a try)
        lost = np.array([back.get(int(g)) if s == OK else None for g, s in zip(gaia, status)], dtype=object)
        note[lost == NOT_FOUND] = FAR_DR2
        note[lost == AMBIGUOUS] = AMBIGUOUS_DR2
        note[np.array([s == OK and int(g) in split for g, s in zip(gaia, status)], dtype=bool)] = SPLIT_DR2
        tic_of = _tic_by(fetch_tic(services, "GAIA", unique_ids(dr2_of.values())), "GAIA")
        for i in np.flatnonzero(status == OK):
            row = tic_of.get(dr2_of.get(int(gaia[i]), -1))
            if isinstance(row, tuple):
                tic[i], kic[i], _ = row
            elif row == AMBIGUOUS:  # several TIC rows: skip the TIC/KIC route, keep Gaia; counted by the run
                note[i] = AMBIGUOUS_TIC

    return pd.DataFrame({"source_id": pd.array(gaia, dtype="Int64"), "tic": pd.array(tic, dtype="Int64"),
                         "kic": pd.array(kic, dtype="Int64"), "match_sep_arcsec": sep, "_status": status,
                         "_note": note, "_by_gaia": np.full(n, ids.kind == "gaia")})


def _resolve_mixed(frame: pd.DataFrame, ids: InputIds, services: Services, radius_arcsec: float,
                   warn: Callable[[str], None] | None,
                   cone_differing: Callable[[list[int]], None] | None = None) -> pd.DataFrame:
    """Each row through its first readable id of ``ids.column`` then ``ids.fallbacks``; rows keep their order."""
    columns = [(ids.kind, ids.column), *ids.fallbacks]
    if not len(frame):
        return resolve(frame, InputIds(ids.kind, ids.column), services, radius_arcsec, warn, cone_differing)
    route = np.zeros(len(frame), dtype=int)  # index into columns; rows with no readable id stay with the first
    unread = np.ones(len(frame), dtype=bool)
    for j, (kind, col) in enumerate(columns):
        readable = np.array([p is not None for p in parse_ids(frame[col], kind)], dtype=bool)
        route[unread & readable] = j
        unread &= ~readable
    parts = []
    for j, (kind, col) in enumerate(columns):
        rows = np.flatnonzero(route == j)
        if rows.size:
            part = resolve(frame.iloc[rows], InputIds(kind, col), services, radius_arcsec, warn, cone_differing)
            parts.append(part.set_axis(rows))
    return pd.concat(parts).sort_index().reset_index(drop=True)


# ---------------------------------------------------------------- positions
def coordinate(frame: pd.DataFrame, column: str, hours: bool) -> np.ndarray:
    """A position column in degrees: numbers are degrees; sexagesimal text (``03 47 00.0``, ``03:47:00``,
    ``03h47m00s``; ``+24 07 00``, ``24d07m00s``) is hours for RA (``hours``) and degrees for Dec, unless its letters
    say otherwise. Any other cell is NaN (the row's invalid_id)."""
    values = io.numeric(frame, column).copy()  # pandas may hand back a read-only view
    text = io.unparsed(frame, column, values)
    if text.any():  # astropy is loaded only for a table that has such cells
        import astropy.units as u
        from astropy.coordinates import Angle

        cells = io.first_column(frame, column)
        unit = u.hourangle if hours else u.deg
        # 24 00 00 is read as 24 h (so 360 deg: off the sky) with a warning. Under the readers' lock
        # (notices.quiet): a bare catch_warnings() would swallow other threads' warnings, or leave its filter behind.
        with notices.quiet():
            for i in np.flatnonzero(text):
                try:
                    angle = float(Angle(str(cells.iloc[i]).strip(), unit=unit).to_value(u.deg))
                except (ValueError, TypeError, u.UnitsError):
                    continue  # neither a number nor an angle: stays NaN
                values[i] = angle
    return values


def angsep_arcsec(ra1, dec1, ra2, dec2) -> np.ndarray:
    """Angular separation, arcsec, of positions in degrees (haversine: exact at small angles)."""
    ra1, dec1, ra2, dec2 = (np.radians(np.asarray(x, dtype=float)) for x in (ra1, dec1, ra2, dec2))
    s = np.sin((dec2 - dec1) / 2) ** 2 + np.cos(dec1) * np.cos(dec2) * np.sin((ra2 - ra1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(s, 0, 1)))) * 3600.0


def _cone_match(ra: np.ndarray, dec: np.ndarray, good: np.ndarray, status: np.ndarray, services: Services,
                radius_arcsec: float, warn: Callable[[str], None] | None = None,
                differing: Callable[[list[int]], None] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest Gaia DR3 source within the radius of each ``good`` position; ``status`` updated in place."""
    n = len(ra)
    gaia = np.full(n, None, dtype=object)
    sep = np.full(n, np.nan)
    idx = np.flatnonzero(good)
    src = fetch_cone_sources(services, ra[idx], dec[idx], radius_arcsec, warn, differing)
    # int64, never float64: a 19-digit id as a float is another source's (the answer's ids are exact, none missing)
    sid, sra, sdec = src["source_id"].to_numpy("int64"), src["ra"].to_numpy(float), src["dec"].to_numpy(float)
    gmag = pd.to_numeric(src["phot_g_mean_mag"], errors="coerce").to_numpy(float)
    # A source within the radius is within it in dec alone, so each position measures only the sources in
    # its dec window (sorted once), not every source of the chunk; the margin covers rounding.
    by_dec = np.argsort(sdec, kind="stable")
    r_deg = radius_arcsec / 3600.0 * (1 + 1e-6)
    lo = np.searchsorted(sdec[by_dec], dec[idx] - r_deg, side="left")
    hi = np.searchsorted(sdec[by_dec], dec[idx] + r_deg, side="right")
    for i, a, b in zip(idx, lo, hi):
        near = np.sort(by_dec[a:b])  # source order, so ties in distance break as over the whole list
        d = angsep_arcsec(ra[i], dec[i], sra[near], sdec[near])
        keep = d <= radius_arcsec
        if not keep.any():
            status[i] = NOT_FOUND
            continue
        order = np.argsort(d[keep])
        near, d = near[keep][order], d[keep][order]
        # Another source within the radius could own the period unless it is over 1 mag fainter than the nearest:
        # one within 1 mag, or a brighter one (the likely target of a light curve), makes the match ambiguous.
        # An unknown G counts against the match too (NaN compares False).
        if near.size > 1 and not (gmag[near[1:]] - gmag[near[0]] > 1.0).all():
            status[i] = AMBIGUOUS
            continue
        gaia[i] = int(sid[near[0]])
        sep[i] = d[0]
    return gaia, sep, status
