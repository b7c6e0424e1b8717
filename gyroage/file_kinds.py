"""Files gyroage neither reads nor writes, known by an output's name or an input's first bytes: a one-line error
names what the file is.

A table written as CSV under an ``.xlsx`` or ``.h5`` name is a file its reader refuses to open, so such a name is
an error rather than CSV in disguise; an input workbook or archive told "not UTF-8 text" would be re-saved as text
in vain.
"""

from __future__ import annotations

_COMPRESSED = "name it .csv.gz, .fits.gz or .vot.gz (gzip, the one compression gyroage writes)"  # .tar.gz has .gz
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


_UNCOMPRESS = "decompress it (gzip is read directly)"
_SHEET = "save the sheet as CSV (File > Save As > CSV UTF-8)"
_BINARY = "write the table as CSV, Parquet or FITS"
# An input's first bytes -> what the file is, and what to do instead. Each is binary no CSV header starts with.
MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx or OpenDocument .ods workbook is one)", f"unzip it, or {_SHEET}"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel workbook (.xls) or another Microsoft Office file", _SHEET),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file", _BINARY),
    (b"\xfd7zXZ\x00", "xz-compressed", _UNCOMPRESS),
    (b"(\xb5/\xfd", "zstd-compressed", _UNCOMPRESS),
    (b"7z\xbc\xaf'\x1c", "a 7-Zip archive", "extract it"),
    (b"\x93NUMPY", "a NumPy .npy array", _BINARY),
    (b"ARROW1\x00\x00", "an Arrow IPC (Feather) file", "write it as Parquet"),
    (b"SQLite format 3\x00", "an SQLite database", "export the table as CSV"),
)


def foreign_input(head: bytes) -> str | None:
    """What a file starting with ``head`` is, and what to do, when it is a kind gyroage does not read; else
    ``None``. bzip2 is known by its stream header and first block's magic (``BZh`` alone starts words)."""
    if len(head) >= 10 and head[:3] == b"BZh" and head[3:4].isdigit() and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):
        return f"bzip2-compressed: {_UNCOMPRESS}"
    # UTF-16 (Windows' "Unicode" text): its BOM, or ASCII text's NUL high bytes (read as UTF-8: NULs in every name)
    text = set(range(0x20, 0x7F)) | {9, 10, 13}
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(head) >= 8 and any(
            not any(head[i + 1 : 8 : 2]) and all(b in text for b in head[i:8:2]) for i in (0, 1))):
        return "UTF-16 text: re-save it as UTF-8"
    for magic, kind, advice in MAGIC:
        if head.startswith(magic):
            return f"{kind}: {advice}"
    return None
