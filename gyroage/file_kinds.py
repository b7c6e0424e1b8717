"""Files gyroage neither reads nor writes, known by name: a one-line error names what the file would be.

A table written as CSV under an ``.xlsx`` or ``.h5`` name is a file its reader refuses to open, so such a name is
an error rather than CSV in disguise.
"""

from __future__ import annotations

_COMPRESSED = "name it .gz (gzip), the one compression gyroage writes"
_SPREADSHEET = "name it .csv, which spreadsheets open"
# An output suffix -> what it names, and the name to give instead (no entry: CSV, the default).
FOREIGN_SUFFIXES: dict[str, tuple[str, str]] = {
    **dict.fromkeys((".xlsx", ".xlsm", ".xls"), ("an Excel workbook", _SPREADSHEET)),
    ".ods": ("an OpenDocument spreadsheet", _SPREADSHEET),
    **dict.fromkeys((".h5", ".hdf5", ".hdf", ".he5"), ("HDF5", "name it .fits or .parquet for a binary table")),
    **dict.fromkeys((".json", ".jsonl", ".ndjson"), ("JSON", "name it .vot or .ecsv for a self-describing text table")),
    **dict.fromkeys((".npy", ".npz"), ("a NumPy array", "name it .csv or .fits, which numpy and astropy read")),
    **dict.fromkeys((".feather", ".arrow", ".ipc"), ("Arrow IPC (Feather)", "name it .parquet, which pyarrow reads")),
    **dict.fromkeys((".pkl", ".pickle"), ("a Python pickle", "name it .parquet or .csv, which pandas reads")),
    **dict.fromkeys((".sqlite", ".sqlite3", ".db"), ("a database", "name it .csv and import that")),
    ".orc": ("ORC", "name it .parquet"),
    ".avro": ("Avro", "name it .parquet"),
    ".asdf": ("ASDF", "name it .ecsv or .fits"),
    ".zip": ("a ZIP archive", _COMPRESSED),
    ".bz2": ("bzip2 compression", _COMPRESSED),
    ".xz": ("xz compression", _COMPRESSED),
    ".zst": ("zstd compression", _COMPRESSED),
    ".7z": ("a 7-Zip archive", _COMPRESSED),
    ".tar": ("a tar archive", _COMPRESSED),
}


def foreign_output(suffix: str) -> str | None:
    """Why an output named ``...suffix`` (lower-case, a ``.gz`` looked through) cannot be written in the format
    its name gives, or ``None`` when its suffix names no format gyroage knows (then it is CSV)."""
    found = FOREIGN_SUFFIXES.get(suffix)
    if found is None:
        return None
    kind, advice = found
    return f"{suffix} names {kind}, which gyroage does not write: {advice}"
