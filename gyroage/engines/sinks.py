"""Where the local engine's finished chunks go: a resumable sidecar beside an output file, or a stream
(:class:`gyroage.engines.stream.Stream`).

With a file input and a file target, every finished chunk is first written to a sidecar
directory beside it (``.<name>.resume/``) with a manifest holding the input's
fingerprint, the settings (and their hash) and each chunk's size and SHA-256; the final output is assembled from
the chunks and renamed into place atomically. A killed run leaves the sidecar
behind, and a resumed run skips the chunks it already holds that pass their check; a run without ``--resume``
replaces it once its own first chunk is computed. The run holds the target's lock
(:class:`gyroage.files.TargetLock`) throughout. Chunks are CSV
for a CSV target (tab-separated for a ``.tsv``; gzip-compressed only when assembled)
and Parquet for any other (CSV text as read: its columns of numbers are settled from every chunk when
assembled, :func:`gyroage.column_types.typed_chunks`), so every output format resumes;
FITS, VOTable, ECSV and ASCII targets are assembled in memory (astropy
writes a table whole).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from collections.abc import Collection
from errno import EFBIG
from pathlib import Path

import pandas as pd

from gyroage import io, writers
from gyroage.column_types import nullable_int
from gyroage.engines.manifest import changed, entry_fault
from gyroage.errors import DISK_FULL, NOT_WRITABLE, UserError
from gyroage.files import AtomicFile, TargetBusy, atomic_path, atomic_write_text, json_text, output_path
from gyroage.formats import is_gzip_name
from gyroage.notices import say_kept
from gyroage.swaps import uninterrupted
from gyroage.together import commit_together

MANIFEST = "manifest.json"


def sidecar_dir(target: str | Path) -> Path:
    t = output_path(target)  # beside the file a symlink points to, where the output is assembled
    return t.parent / f".{t.name}.resume"


def earlier_rows(target: str | Path) -> int:
    """Finished rows an interrupted run's manifest lists in ``target``'s sidecar (0: none, or none readable): what
    a run stopped before it opened the sidecar (the input's scan) says is still kept."""
    try:
        chunks = json.loads((sidecar_dir(target) / MANIFEST).read_text(encoding="utf-8"))["chunks"]
        # as the sidecar counts them (_replaces): an entry --resume would refuse is no row kept
        return sum(int(c["rows"]) for c in chunks.values() if entry_fault(c) is None)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return 0


class Sidecar:
    """Finished chunks of one run, each in its own file, and a manifest."""
    meta: dict[str, str] | None = None  # the run's record (gyroage.provenance), set by the engine before finish

    def __init__(self, target: Path, fingerprint: str, shash: str, resume: bool, fmt: str | None = None,
                 text_columns: bool = False, settings: dict | None = None) -> None:
        """``shash``: the hash of everything that changes what the run writes; ``settings``: what it hashes
        (:func:`gyroage.engines.local.settings_record`), kept so that a refused ``--resume`` names what changed."""
        from gyroage.formats import output_delimiter, output_format

        self.target = target
        self.dir = sidecar_dir(target)
        self.format = output_format(target, fmt)
        self.text_columns = text_columns  # CSV text input: numbers in typed outputs (gyroage.column_types)
        self.sep = output_delimiter(target, fmt)
        # A tab-separated run's chunks have their own suffix: comma chunks left by an older run are not resumed into it.
        self.ext = (".tsv" if self.sep == "\t" else ".csv") if self.format == "csv" else ".parquet"
        self.manifest = {"fingerprint": fingerprint, "settings": shash, "chunks_as": self.ext,
                         "record": _flat_settings(settings or {}), "chunks": {}}
        # An interrupted run's sidecar that this run (without --resume) replaces: removed only once a chunk of this
        # run is computed, so a run failing at its start (a typo'd column) loses nothing. Its rows, or None.
        self._replaces: int | None = None
        self._damage: str | None = None  # what is wrong with that sidecar's manifest, if anything
        self.earlier_differs: str | None = None  # how this run's settings or input differ from that earlier run's
        self.earlier_made_by: str | None = None  # "an older" or "a newer" gyroage made it: its rows cannot be resumed
        self.finished = False  # the output is assembled and in place (finish): nothing is left to resume
        self.rejected = 0  # finished chunks --resume found damaged (computed again, said in one line)
        # the folders made for it (removed again if the run fails) and its lock, held until finish or abort: a second
        # run into the same target would remove this one's sidecar
        self.made, self.lock = writers.locked_target(target)
        try:
            self._start(resume, fingerprint, shash)
        except OSError as exc:  # prepare_target probed the folder; a leftover .resume that is a file still fails here
            self._release()
            raise UserError(f"cannot write {target}: {exc.strerror or exc}") from None
        except BaseException:  # a refused --resume: the interrupted run's sidecar stays as it is
            self._release()
            raise

    def _start(self, resume: bool, fingerprint: str, shash: str) -> None:
        """Keep the interrupted run's chunks that pass their checks (``resume``; the manifest is written) or mark its
        sidecar to be replaced (the sidecar is made at the first chunk)."""
        if not self.dir.exists():
            return
        if not self.dir.is_dir():  # not gyroage's (it makes a folder there): the user's to remove, named as it is
            raise UserError(f"cannot write {self.target}: {self.dir} is a file, where gyroage keeps a run's finished "
                            "chunks: remove it")
        old, self._damage = self._read()
        if old is None and self._damage is None:
            # no manifest lists a chunk (a run killed before its first, or a finished run's removal cut short): nothing
            # in it can be resumed, so it goes now, not at this run's first chunk (a run stopping sooner left it)
            shutil.rmtree(self.dir)
            return
        was = _chunk_format(old.get("record")) if old else CHUNK_FORMAT
        self.earlier_made_by = None if was == CHUNK_FORMAT else "an older" if was < CHUNK_FORMAT else "a newer"
        if resume and self._damage is not None:
            raise UserError(f"cannot resume: the manifest of the interrupted run of {self.target} is damaged "
                            f"({self._damage}): run without --resume to compute every row")
        if resume and old is not None:
            if self.earlier_made_by:  # its chunks may lack flags or hold other types: not to be mixed with this run's
                raise UserError(f"cannot resume: the interrupted run of {self.target} was made by "
                                f"{self.earlier_made_by} gyroage (chunk format {was}, now {CHUNK_FORMAT}); rerun "
                                "without --resume")
            if old.get("fingerprint") != fingerprint:
                raise UserError(f"cannot resume: the input differs from the interrupted run's (remove {self.dir} "
                                "or run without --resume)")
            was = old.get("chunks_as", self.ext)
            if was != self.ext and old["chunks"]:  # its chunks cannot be assembled into this format (CSV text is not Parquet)
                raise UserError(f"cannot resume: the interrupted run of {self.target} kept its chunks as "
                                f"{_KINDS.get(was, was)}, this run's output as {self.format} takes "
                                f"{_KINDS[self.ext]} ones: rerun with its --output-format, or without --resume to "
                                "start again")
            if old.get("settings") != shash:
                what = changed(old.get("record"), self.manifest["record"])
                raise UserError(f"cannot resume: {what or 'settings, model or --chunksize differ'} from the "
                                "interrupted run's (run without --resume to start again)")
            self.manifest["chunks"] = self._checked(old["chunks"])
            self._write_manifest()
        else:
            self._replaces = sum(c["rows"] for c in (old or {}).get("chunks", {}).values() if entry_fault(c) is None)
            # what --resume would refuse in this run's command, if anything: the earlier rows are its command's then
            self.earlier_differs = (None if not old else "the input differs" if old.get("fingerprint") != fingerprint
                                    else None if old.get("settings") == shash
                                    else changed(old.get("record"), self.manifest["record"]) or "the settings differ")

    def _checked(self, chunks: dict) -> dict:
        """The interrupted run's chunks whose files have the size and SHA-256 its manifest lists; the others are
        removed, to be computed again (said in one line)."""
        kept, bad = {}, []
        for k, entry in chunks.items():
            number = k.isascii() and k.isdigit()
            fault = entry_fault(entry) if number else "not a chunk"
            if fault is None:
                files = [(self.path(int(k)), entry)] + ([(self.post_path(int(k)), entry["posteriors"])]
                                                        if "posteriors" in entry else [])
                fault = next(filter(None, (_file_fault(p, e) for p, e in files)), None)
            if fault is None:
                kept[k] = entry
                continue
            bad.append(f"{self.path(int(k)).name if number else k} {fault}")
            if number:
                for p in (self.path(int(k)), self.post_path(int(k))):
                    p.unlink(missing_ok=True)
        self.rejected = len(bad)
        if bad:
            n = len(bad)
            say_kept(f"--resume: {n} finished chunk{'s' if n != 1 else ''} of the interrupted run of {self.target} "
                f"failed {'their' if n != 1 else 'its'} check ({', '.join(bad[:3])}{', ...' if n > 3 else ''}): "
                f"computing {'them' if n != 1 else 'it'} again")
        return kept

    def earlier(self) -> int:
        """Finished rows of an interrupted run this run has not replaced yet (it would at its first chunk): kept
        for ``--resume`` if this run stops now."""
        return self._replaces or 0

    def _replace_old(self) -> None:
        """Remove the interrupted run's sidecar this run replaces, saying how many finished rows go with it."""
        if self._replaces is None:
            return
        # no longer counted as kept before any of it goes: a Ctrl-C during the removal must not report those rows kept
        # (abort removes the rest, a sidecar no command resumes whole)
        rows, self._replaces = self._replaces, None
        if self._damage is not None:
            say_kept(f"discarding an interrupted run of {self.target} whose manifest is damaged ({self._damage})")
        elif rows:  # --resume is offered only where this command would take them
            why = (f" made by {self.earlier_made_by} gyroage: its rows cannot be resumed" if self.earlier_made_by else
                   f" ({self.earlier_differs} in this run)" if self.earlier_differs else " (use --resume to keep them)")
            say_kept(f"discarding {rows} finished rows of an interrupted run of {self.target}{why}")
        shutil.rmtree(self.dir)

    def _read(self) -> tuple[dict | None, str | None]:
        """(The interrupted run's manifest, or None if it wrote none; what is wrong with it, or None)."""
        path = self.dir / MANIFEST
        if not path.exists():  # killed before its first chunk was listed: nothing finished
            return None, None
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            return None, f"{path} unreadable: {exc.strerror or exc}"
        except ValueError:  # cut short, or not JSON (UnicodeDecodeError too)
            return None, f"{path} is not JSON"
        if not (isinstance(old, dict) and isinstance(old.get("fingerprint"), str)
                and isinstance(old.get("settings"), str) and isinstance(old.get("chunks"), dict)):
            return None, f"{path} lacks the input's fingerprint, the settings or the chunk list"
        return old, None

    def _write_manifest(self) -> None:
        atomic_write_text(self.dir / MANIFEST, json_text(self.manifest, sort_keys=True))

    def path(self, i: int) -> Path:
        return self.dir / f"chunk-{i:07d}{self.ext}"

    def post_path(self, i: int) -> Path:
        return self.dir / f"posteriors-{i:07d}.parquet"

    def done(self, i: int, rows: int) -> dict | None:
        """Chunk ``i``'s manifest entry (``counts``: its status counts) if the interrupted run finished it (``rows``)."""
        prev = self.manifest["chunks"].get(str(i))
        return prev if prev is not None and prev["rows"] == rows else None

    def kept(self) -> int:
        """Rows of the finished chunks held in the sidecar (an interrupted run's, and this run's so far)."""
        return sum(int(c["rows"]) for c in self.manifest["chunks"].values())

    def add(self, i: int, frame: pd.DataFrame, counts: Counter, posteriors: pd.DataFrame | None = None,
            exact: Collection = (), notes: dict | None = None) -> None:
        """Keep chunk ``i``; ``exact``: its columns written with every digit in CSV (:func:`writers.csv_text`); ``notes``:
        its end-of-run counts for --resume (``narrow``: its stars that took the grid's posterior under mcmc, [count, least
        width, with prot_err]; ``clipped``: its clipped colour errors; ``unreddened``: its rows with bp_rp, no usable
        reddening and a sequence column's value, one count per SEQUENCE_COLUMN key). A full disk is a one-line error
        saying the rows finished so far are kept for ``--resume``; so is a folder made read-only.
        """
        kept = self.kept()
        try:
            self._add(i, frame, counts, posteriors, exact, notes)
        except OSError as exc:
            if exc.errno in NOT_WRITABLE:
                raise self.unwritable(exc, f"the {kept} rows finished so far are" if kept else "") from None
            if exc.errno not in DISK_FULL or not kept:  # nothing kept: the command line's own words say it
                raise
            raise self._disk_full(exc, f"the {kept} rows finished so far are") from None

    def unwritable(self, exc: OSError, rows: str) -> UserError:
        """The one line for a folder that refused a new file (made read-only during the run: README names the case)
        while ``rows`` (``"all 300 rows are"``; ``""``: none) are kept for ``--resume``."""
        where = Path(exc.filename).parent if exc.filename else self.dir  # mkstemp names the file it tried
        kept = f": {rows} kept in {self.dir}" if rows else ""
        return UserError(f"cannot write {self.target}: {exc.strerror} in {where} (a folder made read-only during the "
                         f"run?){kept}: make it writable and rerun{' with --resume' if rows else ''}")

    def _disk_full(self, exc: OSError, rows: str) -> UserError:
        """The one line for a disk that refused the bytes while ``rows`` (``"all 300 rows are"``) are kept."""
        # freeing space does not lift a file-size limit (ulimit -f, FAT32's 4 GiB): EFBIG is told what stopped it
        fix = ("the file-size limit (ulimit -f) or the file system's was reached: raise it and" if exc.errno == EFBIG
               else "free space and")
        return UserError(f"cannot write {self.target}: {exc.strerror}: {rows} kept in {self.dir}: {fix} rerun with "
                         "--resume")

    def _add(self, i: int, frame: pd.DataFrame, counts: Counter, posteriors: pd.DataFrame | None,
             exact: Collection, notes: dict | None = None) -> None:
        self._replace_old()
        self.dir.mkdir(exist_ok=True)
        entry = {"rows": len(frame), "counts": dict(counts), **(notes or {})}
        if posteriors is not None and len(posteriors):  # written before the chunk, so a listed chunk has both
            with atomic_path(self.post_path(i)) as tmp:
                posteriors.to_parquet(tmp, index=False)
                entry["posteriors"] = _digest(tmp)
        with atomic_path(self.path(i)) as tmp:  # the chunk exists whole or not at all, and survives a crash
            if self.ext == ".parquet":  # CSV text as it is: its numbers are settled from every chunk (_assemble)
                frame.to_parquet(tmp, index=False)
            else:
                # only chunk 0 holds the header: a later one's would have to be cut off when joined, and a quoted
                # header cell may span lines
                text = writers.csv_text(frame, header=i == 0, sep=self.sep, exact=exact)
                tmp.write_bytes(text.encode("utf-8"))
            # size and SHA-256, checked on --resume: a chunk damaged on disk is computed again, never assembled
            entry.update(_digest(tmp))
        # on disk first: an interrupt between the two must not count a chunk the manifest does not list
        chunks = {**self.manifest["chunks"], str(i): entry}
        atomic_write_text(self.dir / MANIFEST, json_text({**self.manifest, "chunks": chunks}, sort_keys=True))
        self.manifest["chunks"] = chunks

    def finish(self, n_chunks: int, posteriors: str | Path | None = None, ids: pd.DataFrame | None = None) -> None:
        """Concatenate the chunk files into the target (atomic rename), then drop the sidecar.

        A full disk here (the assembled table needs about its own size again) is a one-line error that says the
        rows are kept: the sidecar stays, and ``--resume`` assembles them without computing any again. Once the
        output is in place the run is finished: an interrupt while the sidecar is removed is taken in, not raised.
        """
        try:
            self._assemble(n_chunks, posteriors, ids)
        except KeyboardInterrupt:  # held over the renames, raised after them: once -o is in place it is taken in
            if not self.finished:  # (review V69 #5: it reported the rows kept for --resume, beside a complete -o)
                raise
        except TargetBusy as exc:  # the sidecar stays (abort keeps its chunks): --resume assembles them again
            n = self.kept()
            rows = f"all {n} rows are" if n != 1 else "its row is"
            raise UserError(f"{exc} with --resume ({rows} kept in {self.dir})") from None
        except OSError as exc:
            if exc.errno not in DISK_FULL:
                raise
            raise self._disk_full(exc, f"all {self.kept()} rows are") from None
        # the output is in place (_done set finished with the renames): the sidecar goes whole, whatever comes now
        uninterrupted(self._drop)

    def _drop(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        self.lock.release()

    def _assemble(self, n_chunks: int, posteriors: str | Path | None, ids: pd.DataFrame | None) -> None:
        """The table and the ``--posteriors`` file, each written to its temporary file, then renamed in back to back
        (:func:`~gyroage.together.commit_together`), the table first; ``finished`` once both are. The posteriors went
        in first, so a stop or a failure while the table was assembled left them beside the old table (V69 #2)."""
        staged = [AtomicFile(self.target)]
        try:
            self._write_table(n_chunks, staged[0].path)
            if posteriors is not None:
                staged.append(AtomicFile(posteriors))
                write_posteriors([p for i in range(n_chunks) if (p := self.post_path(i)).is_file()], staged[1].path,
                                 ids, self.meta)
        except BaseException:
            for f in staged:
                f.abort()
            raise
        commit_together(staged, then=self._done)  # "finished" in the same held step as the renames

    def _done(self) -> None:
        self.finished = True

    def _write_table(self, n_chunks: int, tmp: Path) -> None:
        parts = [self.path(i) for i in range(n_chunks)]
        if self.format == "parquet":
            _concat_parquet(parts, tmp, self.text_columns, self.meta)
        elif self.format != "csv":
            _write_astropy(parts, tmp, self.target, self.format, self.text_columns, self.meta)
        else:
            with writers.open_bytes(tmp, is_gzip_name(self.target)) as out:
                for i in range(n_chunks):
                    # chunks after the first hold no header (add). An older gyroage's chunks, which did, are never
                    # resumed into: the settings hash it wrote differs (it held no card)
                    with open(self.path(i), "rb") as fh:
                        shutil.copyfileobj(fh, out, 1 << 20)

    def abort(self) -> None:
        # nothing worth resuming: leave no trace (an interrupted run's sidecar not yet replaced stays as it was)
        if not self.manifest["chunks"] and self._replaces is None:
            shutil.rmtree(self.dir, ignore_errors=True)
        self._release()

    def _release(self) -> None:
        self.lock.release()
        writers.remove_made(self.made)  # those of a typo'd -o path, unless they hold the chunks kept to resume


# What a run's chunks hold, recorded in its manifest (settings_record): bump it whenever chunk contents, flags, column types,
# posterior types or the entries' counts change, so --resume refuses an older gyroage's chunks instead of mixing them into the
# new output (the version is not bumped for every change). None recorded: 1; 2: colour_err_beyond_training, float64
# posteriors' log10_age, text cells as written; 3: mcmc_n_eff/grid_posterior's effective-samples rule, grid ages above 0.08
# mag; 4: each entry's clipped colour errors (``clipped``) and unreddened rows (``unreddened``, one count per sequence
# column), absent when none (a 3's lack them: its resumed chunks would count none).
CHUNK_FORMAT = 4

# what a sidecar's chunk suffix holds, for a refused --resume
_KINDS = {".csv": "CSV", ".tsv": "tab-separated CSV", ".parquet": "Parquet"}

# the manifest's names for the parts of a settings record that are not run settings
_PARTS = {"model": "model files", "card": "model card", "chunksize": "--chunksize", "gyroage": "gyroage version",
          "chunk_format": "chunk format"}


def _flat_settings(record: dict) -> dict[str, str]:
    """A settings record as ``{name: JSON text}``: run settings one by one (``n_grid``, ``prior.mean``), the model's
    files and card as a SHA-256 each (the card is large)."""
    flat: dict[str, str] = {}

    def walk(name: str, v) -> None:
        if isinstance(v, dict) and v:
            for k, x in v.items():
                walk(f"{name}.{k}" if name else str(k), x)
        else:
            flat[name] = json.dumps(v, sort_keys=True, default=str)

    for part, v in record.items():
        if part == "settings":
            walk("", v)
        elif part in ("model", "card"):
            flat[_PARTS[part]] = hashlib.sha256(json.dumps(v, sort_keys=True, default=str).encode()).hexdigest()
        else:
            flat[_PARTS.get(part, part)] = json.dumps(v, sort_keys=True, default=str)
    return flat


def _chunk_format(record) -> int:
    """The chunk format a manifest's flat settings record names; 1 for one from before formats were recorded."""
    try:
        return int(json.loads(record["chunk format"]))
    except (TypeError, KeyError, ValueError):
        return 1


def _digest(path: Path) -> dict:
    """``{"bytes": size, "sha256": hex}`` of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
        return {"bytes": fh.tell(), "sha256": h.hexdigest()}


def _file_fault(path: Path, listed: dict) -> str | None:
    """Why ``path`` is not the file its manifest entry ``listed`` describes (size, SHA-256), or None."""
    try:
        size = path.stat().st_size
    except OSError:
        return "missing"
    if size != listed["bytes"]:
        return f"holds {size} bytes, not {listed['bytes']}"
    if _digest(path)["sha256"] != listed["sha256"]:
        return "SHA-256 differs"
    return None


def _concat_parquet(parts: list[Path], tmp: Path, text: bool = False, meta: dict | None = None) -> None:
    """Parquet files (at least one) into one, in order, with the run's record ``meta``, written into ``tmp`` (the
    target's temporary file: renamed in by the caller).

    The chunks' column types may differ (:func:`gyroage.column_types.merge_schemas` reconciles them); ``text``:
    they hold CSV text, whose number columns are settled from all of them (:func:`~gyroage.column_types.typed_chunks`).
    """
    schema, tables = _typed_parts(parts, text)
    writers.write_parquet(tmp, schema, tables, meta)


def _typed_parts(parts: list[Path], text: bool) -> tuple:
    """(Schema, tables) of the chunk files as one table (:func:`gyroage.column_types.typed_chunks`)."""
    import pyarrow.parquet as pq

    from gyroage.column_types import typed_chunks

    return typed_chunks(merged_schema(parts), lambda names: (pq.read_table(p, columns=names) for p in parts),
                        io.NA_TOKENS, text)


def merged_schema(parts: list[Path], schemas: list | None = None):
    """One schema for the chunk files (:func:`gyroage.column_types.merge_schemas`); differing columns are read.
    ``schemas``: the files' own, when the caller has read them already."""
    import pyarrow.parquet as pq

    from gyroage.column_types import merge_schemas

    schemas = schemas if schemas is not None else [pq.read_schema(p) for p in parts]
    return merge_schemas(schemas, lambda j: [pq.read_table(p, columns=[schemas[0].field(j).name]).column(0) for p in parts],
                         io.NA_TOKENS)


def _write_astropy(parts: list[Path], tmp: Path, target: Path, fmt: str, text: bool = False,
                   meta: dict | None = None) -> None:
    """Parquet chunk files into one FITS, VOTable, ECSV or ASCII table (in memory) for ``target``, written into
    ``tmp`` (its temporary file: renamed in by the caller)."""
    import pyarrow as pa

    table = pa.concat_tables(list(_typed_parts(parts, text)[1]))
    frame = table.to_pandas(types_mapper=nullable_int)  # a missing cell keeps an int column int
    writers.write_astropy(frame, tmp, fmt, target, meta)


def write_posteriors(parts: list[Path], tmp: Path, ids: pd.DataFrame | None = None, meta: dict | None = None) -> None:
    """All chunks' posterior tables into ``tmp`` (the ``--posteriors`` file's temporary one, renamed in with the
    table's: :func:`gyroage.together.commit_together`); an empty table (with the ``ids`` columns) when no star had one."""
    if parts:
        _concat_parquet(parts, tmp, meta=meta)
    else:
        from gyroage.core.posterior import write_empty_posteriors

        write_empty_posteriors(tmp, ids, meta)
