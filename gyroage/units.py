"""Units: a table's column units (FITS TUNIT, VOTable, ECSV, a CSV's units row) to the units gyroage reads in.

Re-exported by :mod:`gyroage.formats`, where readers have always looked for them. astropy is imported inside the
functions, so a CSV or Parquet run without units never loads it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pandas as pd

from gyroage import notices
from gyroage.columns import COLUMN_KINDS, KINDS, OPTION_KINDS, column_role, percent_base
from gyroage.errors import UserError
from gyroage.pandas_compat import no_numbers, to_floats


def convert_units(table, roles: dict[str, str]) -> None:
    """Every column the tool reads to the tool's unit, in place, from the unit it carries (:data:`COLUMN_KINDS`).

    ``roles`` maps canonical names (:data:`gyroage.io.ALIASES`) to column names. A column without a unit, or
    a dimensionless one, is taken as it is, as is a column of flags (no number in any unit; its unit checked).
    Periods go to days, colours, magnitudes, reddenings and extinctions (and their errors) to mag, parallaxes to
    mas, temperatures to K (an error in deg_C is a difference: as in K). A unit that cannot be converted, or a
    logarithmic one, is refused in one line, as is a column holding an array a row. The conversions are logged on
    stderr, in one line.
    """
    done = []
    for role, name in roles.items():
        col = table[name]
        if getattr(col, "ndim", 1) > 1:  # read as one number a star, each row would be a bad value without a word
            per_row = int(np.prod(col.shape[1:]))
            raise UserError(f"column '{name}' holds an array of {per_row} values a row (a FITS repeat count or TDIM, a "
                            "VOTable arraysize): gyroage reads one value a star; give it as a column of its own")
        conversion = unit_conversion(role, name, col.unit)
        if conversion is None or no_numbers(col.dtype):  # a flag in hours is still no number, not 1/24 d
            continue
        convert, note = conversion
        if note:
            done.append(note)
        if conversion.unchanged:  # d, mag: the column is read as it is (text cells too, as the CSV path keeps them)
            continue
        if col.dtype.kind in "fiub":
            table[name] = convert(_numbers(col))  # masked cells: NaN, their row's status
        else:  # text: its numbers converted, its other cells ('<0.5') kept for the row's status and the output
            table[name] = _convert_text_column(col, convert)
    if done:
        notices.say(f"gyroage: converted column {', '.join(done)}")


def convert_frame_units(frame: pd.DataFrame, units: list[tuple[str, str, str]]) -> tuple[pd.DataFrame, list[str]]:
    """(``frame`` with each (column, role, unit text) of ``units`` converted, the log notes): a CSV's units row, a
    Parquet file's units.

    A column of numbers is converted as a FITS column is (missing cells NaN). A column of text stays text: the cells
    that are numbers are converted (written back as Python's shortest repr of the value to 15 significant digits, so
    2.4 h is 0.1, not the float error 0.09999999999999999), the others (a bad value, a missing-value token) are kept
    as they are, so each row keeps its status; a column already in the tool's unit (``d``, ``mag``), or of flags, is
    left as it came. Refusals as in :func:`convert_units`. ``frame`` itself is left alone.
    """
    notes, original = [], frame
    for name, role, unit in units:
        conversion = unit_conversion(role, name, unit)
        if conversion is None or no_numbers(frame[name].dtype):  # a flag in hours: no number, as without a unit
            continue
        convert, note = conversion
        if note:
            notes.append(note)
        if conversion.unchanged:  # d, mag: rewriting each cell would only reformat it (7.1300)
            continue
        col = frame[name]
        if col.dtype.kind in "fiub":  # numbers: as a FITS column is converted
            frame = frame.copy() if frame is original else frame  # the caller's chunk is left alone
            frame[name] = convert(col.to_numpy(dtype=float, na_value=np.nan))
            continue
        if frame.empty:
            continue
        values = to_floats(col)
        ok = ~np.isnan(values)
        if ok.any():
            frame = frame.copy() if frame is original else frame
            cells = col.to_numpy(dtype=object).copy()
            cells[ok] = _number_texts(convert(values[ok]))
            frame[name] = pd.Series(cells, index=col.index, dtype=col.dtype)
    return frame, notes


# a CSV's units row converts text: the name its reader has always called
convert_text_units = convert_frame_units


def _number_texts(values: np.ndarray) -> list[str]:
    """Converted numbers as a table's text cells: Python's shortest repr of each to 15 significant digits (2.4 h is
    0.1, not the float error 0.09999999999999999)."""
    return [repr(float(f"{v:.15g}")) for v in values]


def _convert_text_column(col, convert):
    """The text column ``col`` with the cells that are numbers converted (written as :func:`convert_text_units`
    writes them), the others and the masked ones kept."""
    from astropy.table import MaskedColumn

    mask = np.ma.getmaskarray(col)
    data = np.asarray(np.ma.getdata(col))
    if data.dtype.kind == "S":  # FITS text is bytes
        data = np.char.decode(data, "utf-8", "replace")
    cells = data.astype(object)
    values = to_floats(pd.Series(cells))
    ok = ~np.isnan(values) & ~mask
    if ok.any():
        cells[ok] = _number_texts(convert(values[ok]))
    return MaskedColumn(cells.astype(str), mask=mask, name=col.name)


class Conversion(NamedTuple):
    """How a column's values go to the tool's unit: ``convert`` them, logging ``note`` (``None``: nothing to say)."""

    convert: Callable[[np.ndarray], np.ndarray]
    note: str | None

    @property
    def unchanged(self) -> bool:
        """Whether the values stay as they are (``d``, ``mag``, ``86400 s``): a text column then keeps its text."""
        return self.convert is _unchanged


def unit_conversion(role: str, name: str, unit) -> Conversion | None:
    """The :class:`Conversion` of a column carrying ``unit`` (an astropy unit, or a unit's text), or ``None`` when the
    column is taken as it is (no unit, a dimensionless one, or a column the tool does not convert); a one-line
    :class:`UserError` when the unit cannot be converted, or is logarithmic."""
    kind = COLUMN_KINDS.get(role) or OPTION_KINDS.get(role)
    if unit is None or (isinstance(unit, str) and not unit.strip()) or kind is None:
        return None
    if kind == "fraction" and percent_base(name) is not None:  # 'PMem (%)': read in its name's % (never twice)
        return None
    import astropy.units as u

    target, short, what, noun = KINDS[kind]
    want = u.Unit(target)
    text = unit if isinstance(unit, str) else str(unit)
    # A FITS TUNIT astropy does not know ('HOUR', '[d]') is read as a CSV units row's text is: CDS, plurals, case.
    parsed = None if isinstance(unit, (str, u.UnrecognizedUnit)) else _parse_unit(unit)
    converts = parsed is not None and parsed.is_equivalent(want, u.temperature())
    if not converts:  # a FITS 'D' astropy read as debye: its text, read as a table's (capitals)
        parsed = parse_unit_text(text, want) if parsed is None else (parse_unit_text(text, want, only=True) or parsed)
        converts = parsed is not None and parsed.is_equivalent(want, u.temperature())
    if parsed is not None and parsed == u.dimensionless_unscaled:
        return None
    if kind == "fraction" and (parsed is None or not parsed.is_equivalent(want)):
        return None  # a probability's unit is often free text ('prob', '---'): only % and the like are scaled
    if isinstance(parsed, u.MagUnit) and parsed.physical_unit == u.dimensionless_unscaled and want == u.mag:
        # an astropy Magnitude (a QTable's, or a FITS file's astropy meta): its value is the magnitude itself, so it
        # is read as mag unchanged (refused as a log, it asked for what it was; refused otherwise, a file's user was
        # given Python advice)
        return Conversion(_unchanged, f"'{name}' from mag(1) (an astropy Magnitude) to mag, its numbers unchanged")
    if _logarithmic(parsed, want) or (not converts and log_unit_text(text)):
        raise UserError(f"column '{name}' has a logarithmic unit '{unit}': give it in {what}, not its log")
    if not converts:
        raise UserError(f"column '{name}' has unit '{unit}': {noun} must be in {what}")
    named = column_role(name)
    if named is not None and named.unit is not None:  # "Prot [h]": gyroage.io.numeric reads it in the name's unit
        if not (parsed.is_equivalent(want) and abs(parsed.to(want) / named.scale - 1) < 1e-9):
            raise UserError(f"column '{name}' has unit '{unit}', but its name says '{named.unit}'")
        if named.scale != 1:
            return None  # converted here too, it would be converted twice
    offset = parsed.to(want, 0.0, u.temperature())  # only a temperature's scale starts elsewhere
    if offset == 0 or kind == "temperature difference":  # a difference (an error) scales, never shifts
        scale = parsed.to(want) if offset == 0 else _slope(parsed, want, offset)
        convert = (lambda v: v * scale) if scale != 1 else _unchanged
    else:
        def convert(v):
            return parsed.to(want, v, u.temperature())
    return Conversion(convert, f"'{name}' from {_unit_name(parsed)} to {short}" if parsed != want else None)


def _unit_name(unit) -> str:
    """``unit`` as a conversion notice names it: a bare scale of 0.01 as ``%`` (astropy writes % to FITS as
    ``10**-2`` and reads it back as that scale, which named the file's percentages 'from 0.01'), another bare scale
    as ``units of 0.001``, any other unit as astropy writes it."""
    if unit.physical_type == "dimensionless" and not unit.bases and unit.scale != 1:
        return "%" if np.isclose(unit.scale, 0.01) else f"units of {unit.scale:g}"
    return str(unit)


def _unchanged(values: np.ndarray) -> np.ndarray:
    """The conversion of a column already in the tool's unit (:attr:`Conversion.unchanged`)."""
    return values


def parse_unit_text(text: str, want=None, only: bool = False):
    """The astropy unit a table's unit text names, or ``None``: astropy's own syntax, then CDS's (VizieR and AAS
    tables: ``---`` for none, ``[K]`` for a log), then :func:`_parse_unit`'s plurals (``days``), then in lower case.

    ``want`` (an astropy unit): a unit not of its kind is read again in lower case, and taken if that is ('D' is
    astropy's debye, 'S' its siemens: a table's capitals mean d, s). ``only``: ``None`` rather than a unit not of
    ``want``'s kind. The one place unit text is lower-cased.
    """
    import astropy.units as u

    unit = _parse_text(text)
    if want is None:
        return unit
    if unit is None or not unit.is_equivalent(want, u.temperature()):
        lower = _parse_text(text.lower())
        if lower is not None and lower.is_equivalent(want, u.temperature()):
            return lower
        return None if only else unit
    return unit


# A unit text that names a log (``log(d)``, ``log10 (d)``, ``dex``, CDS's ``[mag]``): gyroage does not convert it.
# One detector for a CSV's units row (gyroage.csv_layout) and for any table's unit (unit_conversion).
_LOG_UNIT = re.compile(r"(?:log|log10|ln|lg|dex)(?:\s*\(.*\))?|\[.*\]", re.IGNORECASE)


def log_unit_text(text: str) -> bool:
    """Whether a unit's text names a log of a quantity (:data:`_LOG_UNIT`); text only, no astropy (a parsed unit:
    :func:`_logarithmic`)."""
    return _LOG_UNIT.fullmatch(text.strip()) is not None


def _parse_text(text: str):
    """:func:`parse_unit_text` of ``text`` without a unit wanted."""
    import astropy.units as u

    text = text.strip()
    with notices.quiet():  # a deprecated spelling still names its unit
        for fmt in (None, "cds"):
            try:
                return u.Unit(text, format=fmt)
            except (ValueError, TypeError):
                pass
    unit = _parse_unit(u.Unit(text, parse_strict="silent"))
    return _parse_unit(u.Unit(text.lower(), parse_strict="silent")) if unit is None else unit  # Days, MAG


def unit_of_kind(text: str, kind: str | None) -> bool | None:
    """Whether ``text`` names a unit of ``kind`` (a :data:`KINDS` key, temperatures' scales allowed; ``None``: any
    unit); ``None`` when it names no unit."""
    import astropy.units as u

    unit = parse_unit_text(text)
    if unit is None or kind is None:
        return None if unit is None else True
    return unit.is_equivalent(u.Unit(KINDS[kind][0]), u.temperature())


def _slope(unit, want, offset: float) -> float:
    """How many ``want`` one ``unit`` is as a difference (deg_C: 1 K), rounded off the offset's float error."""
    import astropy.units as u

    return float(f"{(unit.to(want, 1e3, u.temperature()) - offset) / 1e3:.12g}")


def _numbers(col) -> np.ndarray:
    """``col`` as float64: masked cells, and text that is no number, NaN."""
    if col.dtype.kind in "fiub":
        return np.ma.filled(np.ma.asarray(col, dtype=float), np.nan)
    cells = pd.Series(np.ma.filled(np.ma.asarray(col, dtype=object), None))
    return to_floats(cells)


def _logarithmic(unit, want) -> bool:
    """Whether ``unit`` is a log of a quantity (``dex(d)``, ``mag(AB)``) or a log scale other than mag (dex, dB).

    astropy calls ``dex(d)`` equivalent to days, and dex -2.5 mag: a linear factor would turn log10 P into 10 log10 P.
    """
    import astropy.units as u

    if isinstance(unit, u.FunctionUnitBase):
        return True
    return unit is not None and unit.is_equivalent(want) and unit.to(want) <= 0


def _parse_unit(unit):
    """An astropy unit, or ``None`` if it names none (``days`` and ``hours`` are read as ``day`` and ``hour``;
    imperial ``deg_F`` too)."""
    import astropy.units as u
    from astropy.units import imperial

    if not isinstance(unit, u.UnrecognizedUnit):
        return unit
    with imperial.enable():
        for text in (str(unit), str(unit).rstrip("s")):
            try:
                return u.Unit(text)
            except ValueError:
                pass
    return None
