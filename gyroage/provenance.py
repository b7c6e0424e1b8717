"""What made an output: gyroage's version, the model and the settings that decide the ages, as a flat dict of
short strings written into every typed output (Parquet key-value metadata, FITS header cards, ECSV ``meta``,
VOTable INFO elements). CSV and text outputs carry none: comment lines would break their readers.

Nothing in it varies between two identical runs (no time, no host, no absolute path gyroage adds itself; what was
typed stays: a path in the command, and with ``--engine dask`` a ``--scheduler`` address, host and port), so an
output stays byte-identical run to run. The command is the one typed, less the options that decide no bit of the
table (:data:`LEFT_OUT`: ``-o``, ``--posteriors``, ``-q``, ``--threads``, ``--processes``, ``--resume``, and ``--workers`` and
``--scheduler`` except with ``--engine dask``, whose partitions follow the worker count): runs differing only in them,
a resumed one too, write the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

from gyroage.columns import UPPER, reads_observed
from gyroage.defaults import ARGV

# The Parquet metadata key and ECSV meta key that hold the record; VOTable INFO names start with it and a dot.
KEY = "gyroage"

# Each entry's FITS keyword and comment. Short keywords, not HIERARCH: astropy before 7.1 cannot write a HIERARCH
# card whose value needs CONTINUE cards (a SHA-256, the command), and astropy >= 6.0 is supported.
FITS_KEYWORDS: dict[str, tuple[str, str]] = {
    "version": ("GYROAGE", "gyroage version"),
    "command": ("GYCMD", "command, less -o and the like"),
    "engine": ("GYENGINE", "local or dask"),
    "model": ("GYMODEL", "shipped, or the --model folder's name"),
    "model_sha256": ("GYMODSHA", "SHA-256 of gyroage-density.onnx (gyroage --version)"),
    "model_card_sha256": ("GYCARDSH", "SHA-256 of the model card file"),
    "calibration": ("GYCALIB", "what widened the intervals"),
    "method": ("GYMETHOD", "grid or mcmc"),
    "prior": ("GYPRIOR", "age prior (--prior)"),
    "age_min_myr": ("GYAGEMIN", "prior's lower age bound, Myr"),
    "age_max_myr": ("GYAGEMAX", "prior's upper age bound, Myr"),
    "prior_mean_log10_yr": ("GYPRMEAN", "gaussian prior's centre, log10 yr"),
    "prior_sigma_dex": ("GYPRSIG", "gaussian prior's width, dex"),
    "prior_mean_column": ("GYPRMCOL", "input column of per-star prior centres"),
    "prior_sigma_column": ("GYPRSCOL", "input column of per-star prior widths"),
    "prior_table_sha256": ("GYPRTAB", "SHA-256 of the --prior-table values"),
    "outlier_weight": ("GYOUTW", "outlier component's weight"),
    "n_grid": ("GYNGRID", "age grid points"),
    "refine_tol": ("GYREFINE", "grid refinement tolerance, dex"),
    "seed": ("GYSEED", "mcmc seed"),
    "sampler": ("GYSAMPLR", "mcmc sampler settings"),
    "chunksize": ("GYCHUNK", "rows per chunk (--chunksize)"),
    "reddening": ("GYREDDEN", "reddening options and columns read"),
    "main_sequence": ("GYMS", "height above the main sequence term"),
    "columns": ("GYCOLS", "input columns read"),
    "by": ("GYBY", "group column (--by)"),
    "membership": ("GYMEMBER", "membership column (--membership)"),
    "systematic_dex": ("GYSYSDEX", "systematic width (--systematic-dex)"),
    "gaia_url": ("GYGAIAU", "Gaia TAP service asked"),
    "vizier_url": ("GYVIZU", "VizieR service asked (base URL)"),
    "mast_url": ("GYMASTU", "MAST service asked (base URL)"),
    "period_sources": ("GYPSRC", "period tables in adoption order"),
    "extinction": ("GYEXTINC", "extinction (--extinction)"),
    "ids": ("GYIDS", "identifier columns read (kind)"),
    "radius_arcsec": ("GYRADIUS", "cone radius, arcsec"),
}



def _num(v: float) -> str:
    """A number as short text: 10 significant digits (a bound of 5000 Myr held as log10 yr reads 5000)."""
    return f"{float(v):.10g}"


def _sha(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


# Options that decide no bit of an output's table, left out of the recorded command with their values (README,
# "What made the table"), so runs differing only in them write the same bytes: where it goes (-o, --posteriors; --id,
# the posteriors' id columns, stays), what stderr shows
# (-q), how the work is spread (--threads, --processes; --workers and --scheduler unless with --engine dask, where
# the partitions follow the worker count and move the last bits: DASK_KEPT), and --resume (a resumed table is an
# uninterrupted run's).
LEFT_OUT = frozenset({"output", "posteriors", "quiet", "threads", "processes", "workers", "scheduler", "resume"})
DASK_KEPT = frozenset({"workers", "scheduler"})
# crossmatch's: where the output goes, -q, and how the services are asked (the query cache, retries, chunking:
# the answers are the same rows)
CROSSMATCH_LEFT_OUT = frozenset({"output", "quiet", "cache_dir", "no_cache", "retries", "backoff", "chunksize"})


def command_line(ctx, left_out: frozenset[str] = LEFT_OUT) -> str | None:
    """The command as typed (the program as ``gyroage``, however it was started: ``python -m gyroage`` runs the same
    code, then its arguments), less the ``left_out`` options (:data:`LEFT_OUT`; crossmatch's
    :data:`CROSSMATCH_LEFT_OUT`) and their values (with ``--engine dask`` the :data:`DASK_KEPT` ones stay); None when
    the arguments were not recorded (a command called from Python)."""
    args = ctx.meta.get(ARGV)
    if args is None:
        return None
    left_out_names = left_out - DASK_KEPT if ctx.params.get("engine") == "dask" else left_out
    options = {}  # option string -> (whether it takes a value, whether it is left out)
    for p in ctx.command.params:
        if p.param_type_name == "option":
            for opt in (*p.opts, *p.secondary_opts):
                options[opt] = (not (p.is_flag or p.count), p.name in left_out_names)
    kept, i = [], 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":  # all after it are arguments, as click reads them
            kept += args[i - 1:]
            break
        name, eq, _ = arg.partition("=")
        if arg.startswith("--") and name in options:
            value, left_out = options[name]
            given = [arg, *args[i:i + (value and not eq)]]
        elif arg.startswith("-") and not arg.startswith("--") and f"-{arg[1:2]}" in options:
            value, left_out = options[arg[:2]]
            if len(arg) > 2 and not value:  # flags given together (-qo NAME): one at a time
                args = [*args[:i - 1], arg[:2], f"-{arg[2:]}", *args[i:]]
                i -= 1
                continue
            given = [arg, *args[i:i + (value and len(arg) == 2)]]
        else:
            left_out, given = False, [arg]
        i += len(given) - 1
        if not left_out:
            kept += given
    return " ".join([KEY, shell_join(kept)]).strip()


def _model(card, model_dir: str | Path | None) -> dict[str, str]:
    """Which model: ``shipped`` or its folder's name (no absolute path), its density file's SHA-256 as ``gyroage
    --version`` prints it, and the card file's (a calibration refitted into the card leaves the ONNX files as they
    were: the resume fingerprint hashes the card for that reason too)."""
    from gyroage.core.modelcard import default_model_dir

    name = "unknown"
    if model_dir is not None:
        shipped = Path(model_dir).resolve() == default_model_dir().resolve()
        name = "shipped" if shipped else Path(model_dir).resolve().name
    return {"model": name, "model_sha256": density_sha256(card), "model_card_sha256": card_sha256(card)}


def density_sha256(card) -> str:
    """The density file's SHA-256 as the card lists it (``gyroage --version`` prints it; ``unknown`` if unlisted)."""
    from gyroage.core.modelcard import DENSITY_FILE

    return str(card.files.get(DENSITY_FILE, {}).get("sha256", "unknown"))


def card_sha256(card) -> str:
    """The SHA-256 that identifies the ages a model gives: its card file's bytes' (calibration, terms and its files'
    SHA-256), what ``sha256sum gyroage-model.json`` prints, as outputs carry it (``model_card_sha256``, FITS
    ``GYCARDSH``) and ``gyroage --version`` prints it; ``unknown`` for a card not read from its file by
    :func:`gyroage.core.modelcard.load_card`: one read from an ONNX file's metadata without the card file
    (:func:`gyroage.core.density.card_from_session`) or built in Python. Not the card as gyroage re-serialises it,
    which changed with gyroage's version."""
    return card.file_sha256 or "unknown"


# Prior's fields and their entries, in the record's order: tests/test_provenance.py fails for a field without one.
PRIOR_KEYS = {"kind": "prior", "log10_age_min": "age_min_myr", "log10_age_max": "age_max_myr",
              "mean": "prior_mean_log10_yr", "sigma": "prior_sigma_dex", "mean_column": "prior_mean_column",
              "sigma_column": "prior_sigma_column", "table": "prior_table_sha256"}


def _prior(prior) -> dict[str, str]:
    """The prior's fields that are set, as :data:`PRIOR_KEYS` names them: bounds in Myr, a table as its SHA-256."""
    out = {}
    for field, key in PRIOR_KEYS.items():
        v = getattr(prior, field)
        if v is None:
            continue
        if field == "table":  # hundreds of numbers: their hash (the --prior-table file is named in the command)
            out[key] = _sha([list(map(float, c)) for c in v])
        elif field.startswith("log10_age"):
            out[key] = _num(10 ** (v - 6))
        else:
            out[key] = v if isinstance(v, str) else _num(v)
    return out


def read_columns(columns: Mapping[str, str], reddening) -> dict[str, str]:
    """The matched ``columns`` less those no star is dated with, as :func:`gyroage.core.colours.input_colours` reads
    them: an observed ``bp_rp`` (and its error) without any reddening, column or option; and the reddening columns
    (the options' names are their roles) unless they can de-redden that ``bp_rp`` (named for a ``bp_rp``
    column, whether or not a row lacks the ``bp_rp0`` that takes precedence) or an error among them widens a
    ``bp_rp0``'s (a value beside ``bp_rp0`` with no error beside it changes no age)."""
    roles = [k for k in asdict(reddening) if k in columns or f"{k}{UPPER}" in columns]
    observed = reads_observed(columns, reddening.given)
    beside = "bp_rp0" in columns and any(k.endswith("_err") for k in roles)
    unread = set() if observed else {"bp_rp", "bp_rp_err", f"bp_rp_err{UPPER}"}
    if not (observed or beside):
        unread |= {name for k in roles for name in (k, f"{k}{UPPER}")}
    return {k: v for k, v in columns.items() if k not in unread}


def _reddening(reddening, columns: Mapping[str, str]) -> str:
    """The reddening options given, and the input's reddening columns read (:func:`read_columns`): those take
    precedence row by row."""
    options = ", ".join(f"{k}={_num(v)}" for k, v in asdict(reddening).items() if v is not None)
    read = [k for k in asdict(reddening) if k in columns]  # the options' names are the columns' roles
    if read:
        read_text = f"input columns {', '.join(read)}, row by row (options fill only rows without them)"
        return f"{options}; {read_text}" if options else read_text
    return options or "none"


def _main_sequence(card, on: bool, columns: Mapping[str, str]) -> str:
    """Whether the height term dated the stars that have magnitudes: the card's term as the estimate path reads it
    (:func:`gyroage.core.main_sequence.magnitude_use`; a section holding only the flag's bounds has none)."""
    from gyroage.core.main_sequence import MainSequenceTerm

    if MainSequenceTerm.from_card(card) is None:
        return "not in the model"
    if not on:
        return "off"
    return "used" if "abs_g0" in columns or {"g0", "parallax"} <= set(columns) else "not used: no magnitudes"


def _columns(columns: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in columns.items())


def _head(card, model_dir: str | Path | None, command: str | None, engine: str | None, calibration: str,
          method: str, prior, outlier_weight: float | None, n_grid: int) -> dict[str, str]:
    """The entries estimate's and group-age's records share, before their own: which gyroage and model, the
    command, and the settings both have."""
    return {**_made_by(command), **({"engine": engine} if engine else {}), **_model(card, model_dir),
            "calibration": calibration,
            "method": method, **_prior(prior),
            "outlier_weight": _num(card.outlier["weight"] if outlier_weight is None else outlier_weight),
            "n_grid": str(n_grid)}


def _made_by(command: str | None) -> dict[str, str]:
    """The entries every record starts with: the gyroage version and, when recorded, the command."""
    return {"version": _version(), **({"command": command} if command else {})}


def _inputs(card, reddening, main_sequence: bool, columns: Mapping[str, str]) -> dict[str, str]:
    """The entries both records share on what was read of the input."""
    read = read_columns(columns, reddening)
    return {"reddening": _reddening(reddening, read), "main_sequence": _main_sequence(card, main_sequence, columns),
            "columns": _columns(read)}


def estimate_provenance(card, model_dir: str | Path | None, settings, columns: Mapping[str, str],
                        command: str | None = None, chunksize: int | None = None, engine: str = "local") -> dict[str, str]:
    """``estimate``'s record: what the resume fingerprint counts as deciding the ages
    (:func:`gyroage.engines.local.settings_record`), as short text; ``columns``: the input columns read
    (:func:`gyroage.core.stars.check_input_columns`)."""
    out = _head(card, model_dir, command, engine, "model card" if card.calibration else "none", settings.method,
                settings.prior, settings.outlier_weight, settings.n_grid)
    out["refine_tol"] = "none (every grid point)" if settings.refine_tol is None else _num(settings.refine_tol)
    if settings.method == "mcmc":  # the grid draws nothing: the seed and sampler decide nothing there
        sampler = {k: v for k, v in asdict(settings.sampler).items() if k != "processes"}  # results do not depend on it
        out.update(seed=str(settings.seed), sampler=", ".join(f"{k}={v}" for k, v in sampler.items()))
    if chunksize is not None:  # the float32 batches it makes move the last bits of an age (README, "The same bytes")
        out["chunksize"] = str(chunksize)
    out.update(_inputs(card, settings.reddening, settings.main_sequence, columns))
    return out


def sequence_provenance(card, model_dir: str | Path | None, ages_myr, command: str | None = None) -> dict[str, str]:
    """``plot sequence``'s record: which gyroage and model drew the bands (its SHA-256s), at which ages."""
    return {**_made_by(command), **_model(card, model_dir), "ages_myr": ", ".join(_num(a) for a in ages_myr)}


def group_provenance(card, model_dir: str | Path | None, prior, n_grid: int, outlier_weight: float | None,
                     systematic_dex: float | None, reddening, main_sequence: bool, by: str | None,
                     membership: str | None, columns: Mapping[str, str], command: str | None,
                     card_systematic: float | object) -> dict[str, str]:
    """``group-age``'s record: its own settings, as :func:`estimate_provenance` gives estimate's;
    ``card_systematic``: :func:`gyroage.core.groups.default_group_systematic` of the card (a float or the card's
    widths by age; required: a default would record "none (0 dex)" for ages a card widened). Passed in because
    importing gyroage.core.groups here would close a cycle: groups imports gyroage.io, which imports gyroage.formats,
    which imports this module."""
    out = {**_head(card, model_dir, command, None, _group_calibration(systematic_dex, card_systematic), "grid", prior,
                   outlier_weight, n_grid),
           **_inputs(card, reddening, main_sequence, columns),
           "by": by or "none (one group)", "membership": membership or "none"}
    if systematic_dex is not None:
        out["systematic_dex"] = _num(systematic_dex)
    return out


def crossmatch_provenance(command: str | None, urls: Mapping[str, str], sources: list[str], extinction: str,
                          ids: str, radius_arcsec: float | None) -> dict[str, str]:
    """``crossmatch``'s record: the services asked (``urls``: gaia, vizier, mast; an environment variable can set
    them unseen in the command), the period tables in adoption order, the extinction, the identifier columns read
    and, for positions, the cone radius. No model: crossmatch uses none."""
    out = {**_made_by(command), **{f"{k}_url": urls[k] for k in ("gaia", "vizier", "mast")},
           "period_sources": ", ".join(sources), "extinction": extinction, "ids": ids}
    if radius_arcsec is not None:
        out["radius_arcsec"] = _num(radius_arcsec)
    return out


def _group_calibration(systematic_dex: float | None, card_systematic) -> str:
    """What widened group-age's joint ages: ``--systematic-dex``, else ``card_systematic``, what
    :func:`gyroage.core.groups.default_group_systematic` takes from the card (never the per-star ``calibration``,
    which a joint age does not use)."""
    if systematic_dex is not None:
        return "--systematic-dex"
    if not isinstance(card_systematic, float):
        return "card widths by age (validation.group_calibration)"
    if card_systematic:
        return f"card scalar {_num(card_systematic)} dex (validation.loco_cluster_median_abs_dex_ge30myr / 0.6745)"
    return "none (0 dex)"


def _version() -> str:
    from gyroage import __version__

    return __version__


def with_provenance(schema, meta: Mapping[str, str] | None):
    """An Arrow schema with ``meta`` as JSON under the key-value metadata key ``gyroage`` (pandas' own kept)."""
    if not meta:
        return schema
    return schema.with_metadata({**(schema.metadata or {}), KEY.encode(): json.dumps(_text(meta)).encode()})


def votable(table, meta: Mapping[str, str]):
    """``table`` as astropy's VOTable writer makes it, with ``meta`` as INFO elements of its RESOURCE (the writer
    drops a table's meta); :func:`gyroage.formats.write_table` writes it."""
    from astropy.io.votable import from_table
    from astropy.io.votable.tree import Info

    votable = from_table(table)
    infos = [Info(name=f"{KEY}.{k}", value=v) for k, v in _text(meta).items()]
    for info in infos:  # astropy takes an ID from the name, which a column's FIELD ID can equal: ID is optional
        info.ID = None
    votable.resources[0].infos.extend(infos)
    return votable


def astropy_meta(fmt: str, meta: Mapping[str, str] | None) -> dict:
    """What goes into an astropy table's ``meta`` for ``fmt``: FITS header cards, ECSV ``meta[gyroage]``; nothing
    for plain ASCII (a comment line would break its readers) or without a record."""
    if meta and fmt == "fits":
        return _fits_cards(meta)
    return {KEY: _text(meta)} if meta and fmt == "ecsv" else {}


def _fits_cards(meta: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """The record as FITS cards: keyword -> (value, comment), the comment left out where it cannot fit whole beside
    its value (a SHA-256 fills its card, astropy would cut the comment to one letter; a long command, column list or
    sampler setting leaves no room either)."""
    from astropy.io import fits

    cards = {}
    for key, text in _text(meta, ascii_only=True).items():
        word, comment = FITS_KEYWORDS[key]
        whole = fits.Card.fromstring(fits.Card(word, text, comment).image).comment == comment
        cards[word] = (text, comment if whole else "")
    return cards


def _text(meta: Mapping[str, str], ascii_only: bool = False) -> dict[str, str]:
    """The record as a format holds it: each value :func:`escaped`, but the command, whose arguments are re-quoted
    (:func:`shell_join`) where they hold a character the format cannot (with ``ascii_only``, FITS, a non-ASCII one
    too) and else kept as they are (a Windows path stays verbatim in its shell quotes)."""
    return {k: _command(v, ascii_only) if k == "command" else escaped(v, ascii_only) for k, v in meta.items()}


def _command(text: str, ascii_only: bool) -> str:
    """The recorded command as a format holds it: :func:`command_line` quoted it for the formats that hold any
    printable character, so it is re-quoted only where it holds one :func:`_pattern` names."""
    return shell_join(split_command(text), ascii_only) if re.search(_pattern(ascii_only), text) else text


def _pattern(ascii_only: bool) -> str:
    """The characters a format cannot hold as they are: control characters (a tab, a newline), lone surrogates (an
    undecodable byte of a file name) and XML non-characters; with ``ascii_only`` (FITS) every non-ASCII one."""
    return r"[^\x20-\x7e]" if ascii_only else r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]"


def escaped(value: str, ascii_only: bool = False) -> str:
    """``value`` with its backslashes doubled and then each character :func:`_pattern` names as its Python escape
    (``\\n``, ``\\x01``, ``\\xe9``), so a typed backslash-t and a tab record apart and the text decodes back:
    ``text.encode("raw_unicode_escape").decode("unicode_escape")`` (for ASCII text, as FITS holds,
    ``codecs.decode(text, "unicode_escape")``). XML 1.0 holds no control character (a VOTable with one would not
    parse), ECSV's YAML header read a newline back as a space, and a FITS card holding one was dropped."""
    return re.sub(_pattern(ascii_only), lambda m: m.group().encode("unicode_escape").decode("ascii"),
                  value.replace("\\", "\\\\"))


_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\\": "\\\\", "'": "\\'"}


def _ansi_c_char(c: str) -> str:
    """One character as an ANSI-C quoted string writes it: a non-ASCII one as its UTF-8 bytes (``é`` as
    ``\\xc3\\xa9``; bash reads ``\\u00e9`` back as the character only in a UTF-8 locale, bytes in any), an
    undecodable byte of a file name (Python's surrogate escape, U+DC80-U+DCFF) as that byte, ``\\xHH``, which bash
    passes on as it was."""
    o = ord(c)
    if c in _SHORT:
        return _SHORT[c]
    if o < 0x80 or 0xDC80 <= o <= 0xDCFF:
        return f"\\x{o & 0xFF:02x}"
    if 0xD800 <= o <= 0xDFFF:  # any other lone surrogate has no UTF-8 bytes
        return f"\\u{o:04x}"
    return "".join(f"\\x{b:02x}" for b in c.encode())


def shell_arg(arg: str, ascii_only: bool = False) -> str:
    """``arg`` as a POSIX shell reads it back: ANSI-C quoted (``$'a\\tb.csv'``, bash, zsh, ksh) when it holds a
    character :func:`_pattern` names, its backslashes and single quotes escaped too; else as :func:`shlex.quote`
    writes it (a Windows path ``'C:\\tables\\new.csv'`` verbatim)."""
    pattern = _pattern(ascii_only)
    if not re.search(pattern, arg):
        return shlex.quote(arg)
    return "$'" + re.sub(rf"{pattern}|[\\']", lambda m: _ansi_c_char(m.group()), arg) + "'"


def shell_join(args, ascii_only: bool = False) -> str:
    """The arguments as a shell command line (:func:`shell_arg`), space-separated."""
    return " ".join(shell_arg(a, ascii_only) for a in args)


_ANSI_C = re.compile(r"((?:\\x[89a-f][0-9a-f])+)|\\(x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8}|.)", re.S)


def split_command(text: str) -> list[str]:
    """The arguments of a recorded command (:func:`shell_join`'s inverse): ``'...'``, ``"'"`` and ``$'...'``
    quoting undone, a run of ANSI-C ``\\xHH`` above 7F decoded as UTF-8, a byte that decodes as none read back as
    the undecodable byte it stands for (Python's surrogate escape, as :func:`os.fsdecode` reads a file name)."""
    def ansi_c(m: re.Match) -> str:
        if m.group(1):
            return bytes.fromhex(m.group(1).replace("\\x", "")).decode("utf-8", "surrogateescape")
        e = m.group(2)
        if e[0] in "xuU" and len(e) > 1:
            return chr(int(e[1:], 16))
        return {"t": "\t", "n": "\n", "r": "\r"}.get(e, e)

    args, arg, i = [], None, 0
    while i < len(text):
        c = text[i]
        if c == " ":
            if arg is not None:
                args.append(arg)
            arg, i = None, i + 1
            continue
        arg = arg or ""
        if text.startswith("$'", i):
            end = re.compile(r"(?:[^\\']|\\.)*", re.S).match(text, i + 2).end()
            arg, i = arg + _ANSI_C.sub(ansi_c, text[i + 2:end]), end + 1
        elif c in "'\"":
            end = text.index(c, i + 1)
            arg, i = arg + text[i + 1:end], end + 1
        else:
            arg, i = arg + c, i + 1
    return args if arg is None else [*args, arg]
