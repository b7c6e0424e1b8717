"""Output files on disk: permissions, reproducible gzip, the sidecar's life (discard, checks, lock, leftovers)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from gyroage import writers
from gyroage.core.estimate import EstimateSettings
from gyroage.engines import local as engines
from tests.test_engines import stars


@pytest.fixture
def umask():
    """Set the umask for one test (``umask(0o077)``), and put the old one back after it."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_outputs_follow_the_umask_and_keep_a_replaced_files_mode(tmp_path, umask, density, settings):
    """Every output was 0644 whatever the umask: a private umask (077) left results readable by all, a group one
    (002) kept the group from them. New files now get 0666 less the umask; a replaced file keeps its mode."""
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    src = tmp_path / "in.csv"
    stars(30).to_csv(src, index=False)
    for mask, want in ((0o077, 0o600), (0o002, 0o664), (0o027, 0o640)):
        umask(mask)
        for name in (f"w{mask:o}.csv", f"w{mask:o}.parquet", f"w{mask:o}.fits"):
            with writers.AtomicWriter(tmp_path / name) as w:
                w.write(frame)
            assert mode(tmp_path / name) == want, name
        out = tmp_path / f"est{mask:o}.csv"  # through the resumable sidecar
        engines.run_local(src, out, density, settings, chunksize=10, quiet=True)
        assert mode(out) == want
    umask(0o022)
    kept = tmp_path / "kept.csv"
    kept.write_text("old\n")
    os.chmod(kept, 0o640)
    with writers.AtomicWriter(kept) as w:
        w.write(frame)
    assert mode(kept) == 0o640 and kept.read_text() == "a\n1\n2\n"
    os.chmod(kept, 0o604)
    engines.run_local(src, kept, density, settings, chunksize=10, quiet=True)
    assert mode(kept) == 0o604


def gzip_header(path) -> tuple[int, bytes]:
    """(flags, mtime bytes) of a gzip file's header (RFC 1952: FNAME is flag 0x08)."""
    head = open(path, "rb").read(8)
    assert head[:2] == b"\x1f\x8b"
    return head[3], head[4:8]


@pytest.mark.parametrize("suffix", [".fits.gz", ".vot.gz"])
def test_gz_astropy_outputs_hold_no_temp_name_or_time(tmp_path, density, settings, suffix):
    """astropy compressed by the temporary file's name: its gzip header held ".f1.fits.gz.barn6qx4.part" (gunzip -N
    made a hidden file of that name) and the time, so two runs of one table differed in bytes."""
    import gzip

    from astropy.table import Table

    frame = pd.DataFrame({"star": ["a", "b"], "age_p50_myr": [100.0, 2000.0]})
    a, b, plain = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}", tmp_path / f"plain{suffix[:-3]}"
    for target in (a, b, plain):
        with writers.AtomicWriter(target) as w:
            w.write(frame)
    assert a.read_bytes() == b.read_bytes()
    assert gzip_header(a) == (0, b"\0\0\0\0")  # no name, no time
    assert gzip.decompress(a.read_bytes()) == plain.read_bytes()
    assert list(Table.read(a)["star"]) == ["a", "b"]
    src = tmp_path / "in.csv"  # through the sidecar (assembled from its chunks), twice
    stars(30).to_csv(src, index=False)
    c, d = tmp_path / f"c{suffix}", tmp_path / f"d{suffix}"
    for target in (c, d):
        engines.run_local(src, target, density, settings, chunksize=10, quiet=True)
    assert c.read_bytes() == d.read_bytes() and gzip_header(c) == (0, b"\0\0\0\0")
    assert len(Table.read(c)) == 30
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary file left


def hold_lock(target):
    """Another process holding ``target``'s lock, as a run writing it does; ends when its stdin closes."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = ("import sys; from gyroage.files import TargetLock; lock = TargetLock(sys.argv[1]); print('held', flush=True);"
            " sys.stdin.read(); lock.release()")
    proc = subprocess.Popen([sys.executable, "-c", code, str(target)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_run_into_the_same_output_is_refused_in_one_line(tmp_path, density, settings):
    """Two runs writing one -o: the second removed the first's live sidecar, and one of them crashed with a
    FileNotFoundError traceback. The second is now refused (exit 2, one line) and touches nothing of the first's."""
    from gyroage.engines.sinks import sidecar_dir
    from gyroage.errors import UserError
    from tests.conftest import run_cli

    src = tmp_path / "in.csv"
    stars(30).to_csv(src, index=False)
    out = tmp_path / "conc.csv"
    live = sidecar_dir(out)
    live.mkdir()
    (live / "manifest.json").write_text("{}")
    holder = hold_lock(out)
    temp = tmp_path / ".conc.csv.gyroage-abcd1234.part"  # the holder's (made after it took the lock, which removes old ones)
    temp.write_text("the first run's rows")
    try:
        res = run_cli("estimate", str(src), "-o", str(out))
        assert res.returncode == 2 and res.stderr.strip() == f"gyroage: error: another gyroage run is writing {out}"
        assert temp.read_text() == "the first run's rows" and (live / "manifest.json").read_text() == "{}"
        for resume in (False, True):  # the library, and --resume, are refused alike
            with pytest.raises(UserError, match="another gyroage run is writing"):
                engines.run_local(src, out, density, settings, chunksize=10, quiet=True, resume=resume)
        with pytest.raises(UserError, match="another gyroage run is writing"):  # a stdin run's stream too
            with writers.AtomicWriter(out, lock=True):
                pass
        assert not out.exists()
    finally:
        holder.communicate("")
    engines.run_local(src, out, density, settings, chunksize=10, quiet=True)  # the lock is free again
    assert len(pd.read_csv(out)) == 30 and not temp.exists() and not live.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conc.csv", "in.csv"]  # no lock file is left


def test_a_killed_runs_temporaries_are_removed_by_the_next_run(tmp_path, density, settings):
    """Hidden temporaries of killed runs (.NAME.gyroage-xxxxxxxx.part, .NAME.gyroage-xxxxxxxx.dask-tmp/) piled up
    beside the output; a run into the same target removes them (the exact names gyroage makes for it, nothing else).
    Named without the marker, ".ages.csv.20261204.part" and ".ages.csv.backup_1.dask-tmp/" were the user's own files
    and folders, which a run removed: they are now left alone."""
    src = tmp_path / "in.csv"
    stars(20).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    stale = [".out.csv.gyroage-abcd1234.part", ".out.csv.gyroage-a_b0c9zz.part.gz", ".out.csv.gyroage-k2j4h5g6.dask-tmp"]
    kept = [".out.csv.gyroage-abc.part", ".out.csv.gyroage-abcd12345.part", ".other.csv.gyroage-abcd1234.part",
            "out.csv.gyroage-abcd1234.part", ".out.csv.gyroage-ABCD1234.part", ".out.csv.gyroage-abcd1234.resume",
            ".out.csv.gyroage-abcd1234.partial", ".out.csv.abcd1234.part", ".out.csv.20261204.part",
            ".out.csv.a_b0c9zz.part.gz", ".out.csv.backup_1.dask-tmp"]
    for name in stale + kept:
        (tmp_path / name).write_text("x")
    for folder in (stale[-1], kept[-1]):
        (tmp_path / folder).unlink()
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "part.00000.parquet").write_text("x")
    engines.run_local(src, out, density, settings, chunksize=10, quiet=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept + ["in.csv", "out.csv"])
    assert (tmp_path / kept[-1] / "part.00000.parquet").read_text() == "x"
    for name in stale:
        (tmp_path / name).write_text("x")
    with writers.AtomicWriter(out, lock=True) as w:  # the stream's writer (stdin input) removes them too
        w.write(pd.DataFrame({"a": [1]}))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept + ["in.csv", "out.csv"])


def test_every_temporary_beside_an_output_carries_the_marker(tmp_path, monkeypatch):
    """What the stale cleanup removes is what gyroage names its own temporaries: every file and folder made beside a
    target (the atomic writer's, a .gz table's astropy file, prepare_target's probe, the dask engine's folder) is
    ``.NAME.gyroage-`` and 8 characters; those of a plain ``.part`` suffix match the cleanup's pattern."""
    import re
    import tempfile

    from gyroage import files

    made = []
    real_stemp, real_dtemp = tempfile.mkstemp, tempfile.mkdtemp

    def stemp(*args, **kwargs):
        fd, name = real_stemp(*args, **kwargs)
        made.append(name)
        return fd, name

    def dtemp(*args, **kwargs):
        name = real_dtemp(*args, **kwargs)
        made.append(name)
        return name

    monkeypatch.setattr(tempfile, "mkstemp", stemp)
    monkeypatch.setattr(tempfile, "mkdtemp", dtemp)
    frame = pd.DataFrame({"star": ["a"], "age": [1.0]})
    for name in ("t.csv", "t.fits.gz", "t.parquet"):
        with writers.AtomicWriter(tmp_path / name, lock=True) as w:
            w.write(frame)
    writers.prepare_target(tmp_path / "p.csv")
    files.AtomicFile(tmp_path / "d.parquet", suffix=".dask-tmp", directory=True).abort()
    beside = [Path(m) for m in made if Path(m).parent == tmp_path]
    assert len(beside) >= 6
    for m in beside:
        assert re.fullmatch(r"\.[a-z.]+\.gyroage-[a-z0-9_]{8}\.[a-z-]+", m.name), m.name


def test_without_flock_nothing_is_removed(tmp_path, monkeypatch):
    """Where flock fails (some network mounts) a run goes on unlocked, and removes no temporary file: a live run's
    are named as a killed one's."""
    import errno
    import fcntl

    from gyroage.files import TargetLock

    live = tmp_path / ".out.csv.gyroage-abcd1234.part"
    live.write_text("a live run's rows")

    def no_flock(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    TargetLock(tmp_path / "out.csv").release()
    with writers.AtomicWriter(tmp_path / "out.csv", lock=True) as w:
        w.write(pd.DataFrame({"a": [1]}))
    assert live.read_text() == "a live run's rows"
    # the lock file it made and could not lock was left, one per output: removed now; another's stays
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.csv.gyroage-abcd1234.part", "out.csv"]
    (tmp_path / ".out.csv.lock").write_text("")
    TargetLock(tmp_path / "out.csv").release()
    assert (tmp_path / ".out.csv.lock").exists()


def killed_run(tmp_path, density, settings, monkeypatch, n: int = 300, finished: int = 2, name: str = "out.csv"):
    """A run into ``name`` in chunks of 100 interrupted after ``finished`` chunks; (input, output, uninterrupted
    output's bytes)."""
    from tests.test_engines import interrupt_after

    src = tmp_path / "in.csv"
    if not src.exists():
        stars(n).to_csv(src, index=False)
    ref = tmp_path / f"ref_{name}"
    engines.run_local(src, ref, density, settings, chunksize=100, quiet=True)
    out = tmp_path / name
    real, _ = interrupt_after(monkeypatch, "estimate_chunk", finished)
    with pytest.raises(KeyboardInterrupt):
        engines.run_local(src, out, density, settings, chunksize=100, quiet=True)
    monkeypatch.setattr(engines, "estimate_chunk", real)
    return src, out, ref.read_bytes()


def sidecar_files(out) -> dict[str, bytes]:
    from gyroage.engines.sinks import sidecar_dir

    return {p.name: p.read_bytes() for p in sorted(sidecar_dir(out).iterdir())}


def test_a_run_without_resume_keeps_the_interrupted_runs_chunks_until_it_computes_one(tmp_path, density, settings,
                                                                                     monkeypatch, capsys):
    """A run without --resume removed an interrupted run's finished chunks at its start, without a word, even when it
    then failed at once on a user mistake (a typo'd --prior-mean column). They now stay until the new run has
    computed its first chunk, and are then discarded with one line on stderr (even under -q)."""
    from gyroage.errors import UserError
    from tests.conftest import run_cli

    src, out, ref = killed_run(tmp_path, density, settings, monkeypatch)
    before = sidecar_files(out)
    assert len(before) == 3  # two chunks and the manifest
    res = run_cli("estimate", str(src), "-o", str(out), "--chunksize", "100", "--prior", "gaussian_log_age",
                  "--prior-mean", "typo", "--prior-sigma", "0.3", "-q")
    assert res.returncode == 2 and "typo" in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert sidecar_files(out) == before

    def fails(*a, **k):
        raise UserError("a mistake found in the first chunk")

    real = engines.estimate_chunk
    monkeypatch.setattr(engines, "estimate_chunk", fails)
    with pytest.raises(UserError):
        engines.run_local(src, out, density, settings, chunksize=100, quiet=True)
    monkeypatch.setattr(engines, "estimate_chunk", real)
    assert sidecar_files(out) == before and capsys.readouterr().err == ""

    engines.run_local(src, out, density, settings, chunksize=100, quiet=True)  # computed: the old chunks go
    err = capsys.readouterr().err.splitlines()
    assert err == [f"gyroage: discarding 200 finished rows of an interrupted run of {out} (use --resume to keep them)"]
    assert out.read_bytes() == ref


def test_the_discarded_sidecar_is_replaced_by_the_new_runs_chunks(tmp_path, density, settings, monkeypatch, capsys):
    """Interrupted again after discarding, the sidecar holds the new run's chunks alone, and --resume finishes it."""
    from tests.test_engines import interrupt_after

    src, out, ref = killed_run(tmp_path, density, settings, monkeypatch, finished=2)
    real, _ = interrupt_after(monkeypatch, "estimate_chunk", 1)
    with pytest.raises(KeyboardInterrupt):
        engines.run_local(src, out, density, settings, chunksize=100, quiet=True)
    monkeypatch.setattr(engines, "estimate_chunk", real)
    assert "discarding 200 finished rows" in capsys.readouterr().err
    assert sorted(sidecar_files(out)) == ["chunk-0000000.csv", "manifest.json"]
    engines.run_local(src, out, density, settings, chunksize=100, quiet=True, resume=True)
    assert out.read_bytes() == ref


def test_resume_recomputes_chunks_damaged_on_disk(tmp_path, density, settings, monkeypatch, capsys):
    """A truncated CSV chunk went into the output unchecked (exit 0, a corrupt table); a chunk entry without its
    status counts was a KeyError traceback. Each chunk's size and SHA-256 are in the manifest and checked on
    --resume: one that fails is computed again, said in one line."""
    import json

    from gyroage.engines.sinks import sidecar_dir

    src, out, ref = killed_run(tmp_path, density, settings, monkeypatch, n=400, finished=3)
    side = sidecar_dir(out)
    chunk = side / "chunk-0000001.csv"
    size = chunk.stat().st_size
    chunk.write_bytes(chunk.read_bytes()[: size // 2])
    manifest = json.loads((side / "manifest.json").read_text())
    assert manifest["chunks"]["1"]["bytes"] == size and len(manifest["chunks"]["1"]["sha256"]) == 64
    del manifest["chunks"]["2"]["counts"]
    (side / "manifest.json").write_text(json.dumps(manifest))
    capsys.readouterr()
    from tests.conftest import count_chunks

    calls = count_chunks(monkeypatch)
    engines.run_local(src, out, density, settings, chunksize=100, quiet=True, resume=True)
    assert calls == [100, 100, 100]  # chunks 1 and 2 again, and 3
    err = capsys.readouterr().err.splitlines()
    assert err == [f"gyroage: --resume: 2 finished chunks of the interrupted run of {out} failed their check "
                   f"(chunk-0000001.csv holds {size // 2} bytes, not {size}, chunk-0000002.csv listed without its rows "
                   "or status counts): computing them again"]
    assert out.read_bytes() == ref


def test_resume_recomputes_a_damaged_parquet_chunk_and_posteriors(tmp_path, density, settings, monkeypatch, capsys):
    """A damaged Parquet chunk was a traceback at assembly (exit 1), and every later --resume failed the same way."""
    from gyroage.engines.sinks import sidecar_dir
    from tests.test_engines import interrupt_after

    src = tmp_path / "in.csv"
    stars(300).to_csv(src, index=False)
    ref, ref_post = tmp_path / "ref.parquet", tmp_path / "ref_post.parquet"
    engines.run_local(src, ref, density, settings, chunksize=100, quiet=True, posteriors=ref_post)
    out, post = tmp_path / "out.parquet", tmp_path / "post.parquet"
    real, _ = interrupt_after(monkeypatch, "estimate_with_posteriors", 2)
    with pytest.raises(KeyboardInterrupt):
        engines.run_local(src, out, density, settings, chunksize=100, quiet=True, posteriors=post)
    monkeypatch.setattr(engines, "estimate_with_posteriors", real)
    side = sidecar_dir(out)
    for name in ("chunk-0000000.parquet", "posteriors-0000001.parquet"):  # the same size, other bytes
        data = bytearray((side / name).read_bytes())
        data[len(data) // 2] ^= 0xFF
        (side / name).write_bytes(bytes(data))
    capsys.readouterr()
    engines.run_local(src, out, density, settings, chunksize=100, quiet=True, resume=True, posteriors=post)
    assert "2 finished chunks" in capsys.readouterr().err
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(ref))
    pd.testing.assert_frame_equal(pd.read_parquet(post), pd.read_parquet(ref_post))


@pytest.mark.parametrize("text", ["{not json", '["a list"]', '{"fingerprint": "x", "settings": "y"}', "\udcff"])
def test_a_damaged_manifest_is_one_line(tmp_path, density, settings, monkeypatch, capsys, text):
    """A manifest that is no JSON was discarded without a word (a run without --resume) or taken as no run at all;
    one without its chunk list was a KeyError traceback. --resume now refuses it in one line, and a run without
    --resume says it discards it."""
    from gyroage.engines.sinks import sidecar_dir
    from gyroage.errors import UserError

    src, out, ref = killed_run(tmp_path, density, settings, monkeypatch)
    manifest = sidecar_dir(out) / "manifest.json"
    manifest.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(UserError, match=r"cannot resume: the manifest of the interrupted run of .* is damaged \("
                                        r".*manifest.json.*\): run without --resume to compute every row"):
        engines.run_local(src, out, density, settings, chunksize=100, quiet=True, resume=True)
    assert manifest.read_bytes() == text.encode("utf-8", "surrogateescape")  # left for the user to look at
    capsys.readouterr()
    engines.run_local(src, out, density, settings, chunksize=100, quiet=True)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"gyroage: discarding an interrupted run of {out} whose manifest is "
                                               "damaged ("), err
    assert out.read_bytes() == ref


@pytest.mark.parametrize("was", [None, 0, 2, 3])
def test_resume_refuses_chunks_of_an_older_chunk_format(tmp_path, density, settings, monkeypatch, was):
    """An interrupted run made by an older gyroage (whose version string was the same) was resumed without a word:
    its chunks lacked newer flags and kept other posterior types. The manifest now records a chunk format and
    --resume refuses an older one (or none) in one line, leaving the sidecar as it is. Format 2's chunks hold
    mcmc_n_eff and grid_posterior under the rule before MIN_EFFECTIVE, and older grid ages above 0.08 mag: a run
    resumed across that change mixed both into one table (V36a, finding 1). Format 3's entries keep no clipped colour
    errors, which a resumed run now reads from the manifest: its chunks would have counted none (FR39a)."""
    import json

    from gyroage.engines.sinks import CHUNK_FORMAT, sidecar_dir
    from gyroage.errors import UserError

    src, out, ref = killed_run(tmp_path, density, settings, monkeypatch)
    manifest = sidecar_dir(out) / "manifest.json"
    kept = json.loads(manifest.read_text())
    assert kept["record"]["chunk format"] == str(CHUNK_FORMAT)
    if was is None:
        del kept["record"]["chunk format"]
    else:
        kept["record"]["chunk format"] = str(was)
    manifest.write_text(json.dumps(kept))
    before = sidecar_files(out)
    shown = 1 if was is None else was
    with pytest.raises(UserError, match=rf"^cannot resume: the interrupted run of .*out.csv was made by an older "
                                        rf"gyroage \(chunk format {shown}, now {CHUNK_FORMAT}\); rerun without "
                                        r"--resume$"):
        engines.run_local(src, out, density, settings, chunksize=100, quiet=True, resume=True)
    assert sidecar_files(out) == before
    engines.run_local(src, out, density, settings, chunksize=100, quiet=True)  # without --resume: every row anew
    assert out.read_bytes() == ref


def test_a_refused_resume_names_what_changed(tmp_path, density, settings, monkeypatch):
    """After a changed --output-format --resume said "nothing to resume (no interrupted run ... left finished
    chunks)" though one had; a refusal for changed settings did not say which. Both now name it."""
    from gyroage.errors import UserError
    from tests.conftest import count_chunks

    src, out, ref = killed_run(tmp_path, density, settings, monkeypatch)
    with pytest.raises(UserError, match=r"^cannot resume: the interrupted run of .*out.csv kept its chunks as CSV, "
                                        r"this run's output as parquet takes Parquet ones: rerun with its "
                                        r"--output-format, or without --resume to start again$"):
        engines.run_local(src, out, density, settings, chunksize=100, quiet=True, resume=True, output_fmt="parquet")
    n = settings.n_grid
    other = EstimateSettings(prior=settings.prior, n_grid=n + 10)
    with pytest.raises(UserError, match=rf"^cannot resume: --grid \(was {n}, now {n + 10}\) differs from the "
                                        r"interrupted run's \(run without --resume to start again\)$"):
        engines.run_local(src, out, density, other, chunksize=100, quiet=True, resume=True)
    with pytest.raises(UserError, match=r"^cannot resume: --chunksize \(was 100, now 50\) differs"):
        engines.run_local(src, out, density, settings, chunksize=50, quiet=True, resume=True)
    with pytest.raises(UserError, match=r"^cannot resume: --posteriors \(was not given, now given\) differs from"):
        engines.run_local(src, out, density, settings, chunksize=100, quiet=True, resume=True,
                          posteriors=tmp_path / "p.parquet")
    engines.run_local(src, out, density, settings, chunksize=100, quiet=True, resume=True)  # all as it was: resumed
    assert out.read_bytes() == ref

    _, fits, _ = killed_run(tmp_path, density, settings, monkeypatch, name="t.fits")  # Parquet chunks serve any
    calls = count_chunks(monkeypatch)  # typed format: FITS chunks resume into a VOTable
    engines.run_local(src, fits, density, settings, chunksize=100, quiet=True, resume=True, output_fmt="votable")
    assert calls == [100] and fits.read_bytes().startswith(b"<?xml")


def test_a_file_where_the_sidecar_goes_is_named(tmp_path):
    """A regular file .dr.csv.resume: the error named dr.csv ("Not a directory"); it now names the file in the way."""
    from tests.conftest import run_cli

    src = tmp_path / "in.csv"
    stars(10).to_csv(src, index=False)
    (tmp_path / ".dr.csv.resume").write_text("mine")
    for extra in ([], ["--resume"]):
        res = run_cli("estimate", str(src), "-o", str(tmp_path / "dr.csv"), "-q", *extra)
        assert res.returncode == 2 and res.stderr == (f"gyroage: error: cannot write {tmp_path / 'dr.csv'}: "
                                                      f"{tmp_path / '.dr.csv.resume'} is a file, where gyroage keeps a "
                                                      "run's finished chunks: remove it\n")
    assert (tmp_path / ".dr.csv.resume").read_text() == "mine"


@pytest.mark.parametrize("name", ["full.csv", "full.parquet"])
def test_a_full_disk_at_assembly_says_the_rows_are_kept(tmp_path, density, settings, monkeypatch, name):
    """The disk filling up while the chunks are assembled said only "No space left on device"; every row was still
    kept in the sidecar. It now says so, and --resume assembles them without computing any again."""
    import errno
    import shutil

    from gyroage.engines import sinks
    from gyroage.errors import UserError
    from tests.conftest import count_chunks

    src = tmp_path / "in.csv"
    stars(250).to_csv(src, index=False)
    ref, out = tmp_path / f"ref_{name}", tmp_path / name

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    engines.run_local(src, ref, density, settings, chunksize=100, quiet=True)
    real, copy = sinks._concat_parquet, shutil.copyfileobj
    monkeypatch.setattr(sinks.shutil, "copyfileobj", full)
    monkeypatch.setattr(sinks, "_concat_parquet", full)
    with pytest.raises(UserError) as err:
        engines.run_local(src, out, density, settings, chunksize=100, quiet=True)
    assert str(err.value) == (f"cannot write {out}: No space left on device: all 250 rows are kept in "
                              f"{sinks.sidecar_dir(out)}: free space and rerun with --resume")
    monkeypatch.setattr(sinks.shutil, "copyfileobj", copy)
    monkeypatch.setattr(sinks, "_concat_parquet", real)
    calls = count_chunks(monkeypatch)
    engines.run_local(src, out, density, settings, chunksize=100, quiet=True, resume=True)
    assert calls == [] and out.read_bytes() == ref.read_bytes()


def test_a_failed_run_takes_back_the_folders_it_made_for_its_output(tmp_path, density, settings):
    """A run failing on a missing column left typo_dir/deep/ behind (made for -o typo_dir/deep/out.csv). The folders
    a run makes for its output are removed again when it fails; those that were there, or hold anything, stay."""
    from gyroage.errors import UserError
    from tests.conftest import run_cli

    bad = tmp_path / "nocol.csv"
    bad.write_text("name,period\nx,1\n")
    (tmp_path / "there").mkdir()
    for out in (tmp_path / "typo_dir" / "deep" / "out.csv", tmp_path / "there" / "a" / "b" / "out.parquet"):
        res = run_cli("estimate", str(bad), "-o", str(out), "-q")
        assert res.returncode == 2 and "missing" in res.stderr, res.stderr
        res = run_cli("estimate", "-", "-o", str(out), "-q", input="name,period\nx,1\n")  # stdin: streamed
        assert res.returncode == 2 and "missing" in res.stderr, res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nocol.csv", "there"]
    assert list((tmp_path / "there").iterdir()) == []
    # --posteriors typo3/deep/p.parquet: its folders were made and left (made before any row is read)
    for out in (tmp_path / "o.csv", None):
        with pytest.raises(UserError, match="missing"):
            engines.run_local(bad, out, density, settings, quiet=True,
                              posteriors=tmp_path / "typo3" / "deep" / "p.parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nocol.csv", "there"]
    src = tmp_path / "in.csv"
    stars(10).to_csv(src, index=False)
    out = tmp_path / "new" / "deep" / "out.csv"  # a run that succeeds keeps them
    engines.run_local(src, out, density, settings, quiet=True)
    assert sorted(p.name for p in out.parent.iterdir()) == ["out.csv"]


def test_a_full_disk_mid_run_says_the_finished_rows_are_kept(tmp_path, density, settings, monkeypatch):
    """A chunk the disk refuses part-way said only "No space left on device"; the rows finished so far are kept."""
    import errno

    from gyroage.engines import sinks
    from gyroage.errors import UserError

    src = tmp_path / "in.csv"
    stars(300).to_csv(src, index=False)
    ref, out = tmp_path / "ref.csv", tmp_path / "out.csv"
    engines.run_local(src, ref, density, settings, chunksize=100, quiet=True)
    real, calls = sinks._digest, []

    def fills_up(path):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path)

    monkeypatch.setattr(sinks, "_digest", fills_up)
    with pytest.raises(UserError) as err:
        engines.run_local(src, out, density, settings, chunksize=100, quiet=True)
    assert str(err.value) == (f"cannot write {out}: No space left on device: the 200 rows finished so far are kept in "
                              f"{sinks.sidecar_dir(out)}: free space and rerun with --resume")
    monkeypatch.setattr(sinks, "_digest", real)
    engines.run_local(src, out, density, settings, chunksize=100, quiet=True, resume=True)
    assert out.read_bytes() == ref.read_bytes()


def test_rows_said_kept_are_the_rows_the_manifest_on_disk_holds(tmp_path, density, settings, monkeypatch):
    """An interrupt landing while a chunk's manifest entry was written counted the chunk as kept ("825 rows kept")
    though the manifest on disk did not list it (--resume then took 820): the count follows the manifest written."""
    import json

    from gyroage.engines import sinks

    src = tmp_path / "in.csv"
    stars(300).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    real, calls = sinks.atomic_write_text, []

    def interrupted(path, text, *a, **k):
        calls.append(path)
        if len(calls) == 2:  # the second chunk's manifest: the interrupt arrives before it is on disk
            raise KeyboardInterrupt
        return real(path, text, *a, **k)

    monkeypatch.setattr(sinks, "atomic_write_text", interrupted)
    with pytest.raises(KeyboardInterrupt) as err:
        engines.run_local(src, out, density, settings, chunksize=100, quiet=True)
    on_disk = json.loads((sinks.sidecar_dir(out) / sinks.MANIFEST).read_text())
    rows = sum(c["rows"] for c in on_disk["chunks"].values())
    assert rows == 100
    assert f"{rows} rows" in str(err.value.args[0] if err.value.args else "")


def test_resume_whose_every_chunk_failed_its_check_says_so_once(tmp_path, density, settings, monkeypatch, capsys):
    """With every finished chunk damaged, --resume said they would be computed again and then 'nothing to resume (no
    interrupted run ... left finished chunks)', which contradicted it: the first line alone is said."""
    from gyroage.engines.sinks import sidecar_dir

    src, out, ref = killed_run(tmp_path, density, settings, monkeypatch, n=300, finished=2)
    for chunk in sidecar_dir(out).glob("chunk-*.csv"):
        chunk.write_bytes(b"damaged")
    capsys.readouterr()
    engines.run_local(src, out, density, settings, chunksize=100, quiet=True, resume=True)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "failed their check" in err[0], err
    assert out.read_bytes() == ref


def test_a_second_run_into_the_same_posteriors_file_is_refused(tmp_path, density, settings):
    """--posteriors was written without the output's lock: two runs into different -o files but one posteriors file
    both ran, and the file kept whichever finished last (its stars' pdfs beside the other run's table), and a killed
    run's temporary posteriors file stayed beside it for good. The posteriors file is now held as -o is: a second run
    is refused in one line before any star is computed, and a killed run's leftovers go."""
    from gyroage.errors import UserError

    src = tmp_path / "in.csv"
    stars(20).to_csv(src, index=False)
    post = tmp_path / "post.parquet"
    holder = hold_lock(post)
    try:
        with pytest.raises(UserError, match=f"another gyroage run is writing {post}"):
            engines.run_local(src, tmp_path / "b.csv", density, settings, chunksize=10, quiet=True, posteriors=post)
        assert not (tmp_path / "b.csv").exists() and not post.exists()
    finally:
        holder.communicate("")
    left = tmp_path / ".post.parquet.gyroage-abcd1234.part"  # what a killed run was writing
    left.write_text("a killed run's posteriors")
    engines.run_local(src, tmp_path / "b.csv", density, settings, chunksize=10, quiet=True, posteriors=post)
    dated = pd.read_csv(tmp_path / "b.csv")["age_p50_myr"].notna()
    assert set(pd.read_parquet(post)["row"]) == set(dated[dated].index) and dated.sum() >= 15
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.csv", "in.csv", "post.parquet"]  # no lock, no leftover


def test_a_lock_file_left_by_another_user_does_not_stop_the_run(tmp_path, monkeypatch, density, settings):
    """A lock file another user's run left (mode 0644 in a 0777 shared folder) made everyone else's run fail with
    "cannot write shared/out.csv: Permission denied": it was opened for writing. A lock needs no write access: the
    file is opened read-only then, and locked as any other (checked as root too, where a chmod stops nothing)."""
    import errno

    from gyroage.errors import UserError
    from gyroage.files import TargetLock

    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    stars(20).to_csv(src, index=False)
    lock_file = tmp_path / ".out.csv.lock"
    lock_file.write_text("")
    os.chmod(lock_file, 0o444)
    real_open = os.open

    def others(path, flags, *args, **kwargs):  # the file is not ours: writing it is refused, as for another user
        if str(path).endswith(".lock") and flags & (os.O_RDWR | os.O_WRONLY):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", others)
    lock = TargetLock(out)
    try:
        assert lock.fd is not None
        with pytest.raises(UserError, match="another gyroage run is writing"):  # locked all the same
            TargetLock(out)
    finally:
        lock.release()
    lock_file.write_text("")
    os.chmod(lock_file, 0o444)
    engines.run_local(src, out, density, settings, chunksize=10, quiet=True)
    assert len(pd.read_csv(out)) == 20
    os.chmod(tmp_path, 0o555)  # a folder nobody may write: still one line, naming why
    try:
        with pytest.raises(UserError, match="^cannot write .*out2.csv: Permission denied$"):
            TargetLock(tmp_path / "out2.csv")
    finally:
        os.chmod(tmp_path, 0o755)


def test_a_failed_dask_run_takes_back_the_folders_it_made(tmp_path):
    """--engine dask -o typo4/deep/x.parquet failing (here: its input missing) left typo4/deep/ behind, as the local
    engine no longer does."""
    pytest.importorskip("distributed")
    from gyroage.engines.dask_engine import run_dask
    from gyroage.errors import UserError

    class Client:  # the caller's client: no cluster is started, and the run fails before any task
        def scheduler_info(self) -> dict:
            return {"workers": {"w": {}}}

    with pytest.raises(UserError, match="input file not found"):
        run_dask(str(tmp_path / "missing.csv"), tmp_path / "typo4" / "deep" / "x.parquet", EstimateSettings(),
                 quiet=True, client=Client())
    assert list(tmp_path.iterdir()) == []


def _interrupted_at_first_chunk(monkeypatch, src, out, density, settings, chunksize: int) -> tuple[tuple, object]:
    """A run of ``src`` into ``out`` interrupted before its first chunk is computed: the interrupt's message (its
    args) and the real ``estimate_chunk``, to put back for a later run."""
    from tests.test_engines import interrupt_after

    real, _ = interrupt_after(monkeypatch, "estimate_chunk", 0)
    with pytest.raises(KeyboardInterrupt) as info:
        engines.run_local(src, out, density, settings, chunksize=chunksize, quiet=True)
    return info.value.args, real


def test_an_interrupt_before_the_first_chunk_says_the_earlier_runs_rows_are_kept(tmp_path, density, settings,
                                                                                monkeypatch):
    """A run without --resume interrupted before it computed its first chunk said only "interrupted", though the
    earlier interrupted run's finished chunks were still there (replaced only at the first chunk) for --resume to
    take over. It now says so."""
    src, out, ref = killed_run(tmp_path, density, settings, monkeypatch)
    args, real = _interrupted_at_first_chunk(monkeypatch, src, out, density, settings, 100)
    assert args == (f"interrupted: the earlier run's 200 finished rows of {out} are kept; run the same "
                    "command with --resume to continue",)
    monkeypatch.setattr(engines, "estimate_chunk", real)
    engines.run_local(src, out, density, settings, chunksize=100, quiet=True, resume=True)
    assert out.read_bytes() == ref


def test_resume_from_a_pipe_says_it_needs_a_file_not_an_output(tmp_path, density, settings):
    """--resume with a process-substitution input (read as stdin) said it "needs a file input and an output file
    (-o)", with -o given. Each refusal now names what is missing."""
    from gyroage.errors import UserError

    with pytest.raises(UserError, match=r"^--resume needs an input file: it cannot resume from stdin or a pipe$"):
        engines.run_local("-", tmp_path / "o.csv", density, settings, resume=True)
    src = tmp_path / "in.csv"
    stars(5).to_csv(src, index=False)
    for target in (None, "-", "/dev/null"):
        with pytest.raises(UserError, match=r"^--resume needs an output file \(-o\): "):
            engines.run_local(src, target, density, settings, resume=True)


def test_an_interrupt_before_the_first_chunk_with_other_settings_names_whose_rows_they_are(tmp_path, density,
                                                                                          settings, monkeypatch):
    """Review V3: a run with other settings (here the chunk size) interrupted before its first chunk said to "run
    the same command with --resume", which --resume then refused (the chunk size differs). It now says only the
    earlier run's command takes those rows, and what differs."""
    src, out, _ = killed_run(tmp_path, density, settings, monkeypatch)
    (text,), _ = _interrupted_at_first_chunk(monkeypatch, src, out, density, settings, 150)
    assert text.startswith(f"interrupted: the earlier run's 200 finished rows of {out} are kept; only that run's own "
                           "command takes them with --resume ("), text
    assert "chunksize" in text and "run the same command" not in text, text


def test_a_refused_resume_names_the_options_not_the_manifests_keys(tmp_path, density, settings, monkeypatch):
    """Review R1 (finding 8): refusals named internal keys (prior.kind, sampler.n_walkers, keep_posteriors,
    "posterior_ids (was not set, now null)") and a changed --method listed every sampler setting; they now name the
    options, with values as given (Myr, not log10 yr), and "not given" for an option left out."""
    import dataclasses

    from gyroage.core.priors import Prior
    from gyroage.core.sampler import SamplerSettings
    from gyroage.errors import UserError

    src, out, _ = killed_run(tmp_path, density, settings, monkeypatch)
    lo, hi = settings.prior.log10_age_min, settings.prior.log10_age_max

    def refused(other, **kw) -> str:
        with pytest.raises(UserError) as exc:
            engines.run_local(src, out, density, other, chunksize=100, quiet=True, resume=True, **kw)
        text = str(exc.value)
        assert text.startswith("cannot resume: ") and text.endswith(
            " from the interrupted run's (run without --resume to start again)"), text
        return text[len("cannot resume: "):text.index(" from the interrupted")]

    assert refused(dataclasses.replace(settings, prior=Prior("uniform_age", lo, hi))) == (
        "--prior (was uniform_log_age, now uniform_age) differs")
    assert refused(dataclasses.replace(settings, prior=Prior("uniform_log_age", lo, 9.0))) == (
        f"--age-max-myr (was {10 ** hi / 1e6:g}, now 1000) differs")
    assert refused(dataclasses.replace(settings, method="mcmc")) == "--method (was grid, now mcmc) differs"
    assert refused(dataclasses.replace(settings, refine_tol=None, outlier_weight=0.2)) == (
        "--exact-grid (was not given, now given), --outlier-weight (was not given, now 0.2) differ")
    assert refused(settings, posteriors=tmp_path / "p.parquet", ids=["name"]) == (
        "--id (was not given, now name), --posteriors (was not given, now given) differ")
    mcmc = dataclasses.replace(settings, method="mcmc", seed=3, sampler=SamplerSettings(max_steps=200))
    src, out, _ = killed_run(tmp_path, density, mcmc, monkeypatch, name="m.csv")
    assert refused(dataclasses.replace(mcmc, seed=4, sampler=SamplerSettings(n_walkers=32, max_steps=500))) == (
        "--max-steps (was 200, now 500), --seed (was 3, now 4), --walkers (was 16, now 32) differ")
    assert refused(dataclasses.replace(mcmc, main_sequence=False)) == "--no-main-sequence (was not given, now given) differs"



def test_a_refused_resume_names_an_age_bound_that_changed_below_its_printed_digits():
    """Review V23 (finding 5): --age-min-myr 1.000001 against an interrupted run's 1 printed both as '1' (:g), and
    the refusal fell back to 'settings, model or --chunksize differ'; it names the option with digits enough."""
    import json
    import math

    from gyroage.engines.manifest import changed as _changed

    def bounds(lo_myr: float, hi_myr: float) -> dict[str, str]:
        return {"prior.log10_age_min": json.dumps(math.log10(lo_myr * 1e6)),
                "prior.log10_age_max": json.dumps(math.log10(hi_myr * 1e6)), "n_grid": "1001"}

    assert _changed(bounds(1, 10000), bounds(1.000001, 10000)) == "--age-min-myr (was 1, now 1.000001) differs"
    assert _changed(bounds(1, 10000), bounds(1, 10000.00002)) == "--age-max-myr (was 10000, now 10000.00002) differs"
    assert _changed(bounds(1, 10000), bounds(2, 10000)) == "--age-min-myr (was 1, now 2) differs"
    assert _changed(bounds(1, 10000), bounds(1, 10000)) is None

@pytest.mark.parametrize("was", [None, 0])
def test_an_older_gyroages_interrupted_run_is_not_offered_to_resume(tmp_path, density, settings, monkeypatch, capsys,
                                                                     was):
    """Review V7: an interrupted run made by an older gyroage (another chunk format), which --resume refuses, was
    offered to it: "only that run's own command takes them with --resume (chunk format (was not set, now 2) differs in
    this one)" and "discarding 200 finished rows ... (use --resume to keep them)". Both now say its rows cannot be
    resumed."""
    import json

    from gyroage.engines.sinks import sidecar_dir
    src, out, ref = killed_run(tmp_path, density, settings, monkeypatch)
    manifest = sidecar_dir(out) / "manifest.json"
    kept = json.loads(manifest.read_text())
    if was is None:
        del kept["record"]["chunk format"]
    else:
        kept["record"]["chunk format"] = str(was)
    manifest.write_text(json.dumps(kept))
    args, real = _interrupted_at_first_chunk(monkeypatch, src, out, density, settings, 150)
    assert args == (f"interrupted: the earlier run of {out} was made by an older gyroage: its 200 "
                    "finished rows cannot be resumed",)
    monkeypatch.setattr(engines, "estimate_chunk", real)
    capsys.readouterr()
    engines.run_local(src, out, density, settings, chunksize=100, quiet=True)
    assert capsys.readouterr().err.splitlines() == [f"gyroage: discarding 200 finished rows of an interrupted run of "
                                                    f"{out} made by an older gyroage: its rows cannot be resumed"]
    assert out.read_bytes() == ref


def test_discarding_a_run_with_other_settings_or_input_does_not_offer_resume(tmp_path, density, settings,
                                                                            monkeypatch, capsys):
    """Review V7: "(use --resume to keep them)" was said whatever differed, though --resume refuses other settings or
    another input. It is said only when this command could resume them; else what differs is named."""
    src, out, _ = killed_run(tmp_path, density, settings, monkeypatch)
    capsys.readouterr()
    engines.run_local(src, out, density, settings, chunksize=150, quiet=True)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"gyroage: discarding 200 finished rows of an interrupted run of {out} "
                                               "(--chunksize (was 100, now 150) differs in this run)"), err
    src, out, _ = killed_run(tmp_path, density, settings, monkeypatch, name="out2.csv")
    src.write_text(src.read_text() + src.read_text().splitlines()[1] + "\n")
    capsys.readouterr()
    engines.run_local(src, out, density, settings, chunksize=100, quiet=True)
    assert capsys.readouterr().err.splitlines() == [f"gyroage: discarding 200 finished rows of an interrupted run of "
                                                    f"{out} (the input differs in this run)"]


def test_a_read_only_lock_file_nfs_cannot_lock_is_one_line_not_an_unlocked_run(tmp_path, monkeypatch):
    """Review V3: on NFS an exclusive flock on a descriptor opened read-only (another user's lock file) fails with
    EBADF, which was taken for "no flock on this file system": the run went on unlocked, beside a run of that user.
    It is now a one-line refusal naming the lock file."""
    import errno

    from gyroage import file_lock, files
    from gyroage.errors import UserError

    lock = tmp_path / ".out.csv.lock"
    lock.write_text("")
    monkeypatch.setattr(files, "_open_lock_file", lambda path: (os.open(path, os.O_RDONLY), False))

    def nfs_flock(fd, op):
        raise OSError(errno.EBADF, "Bad file descriptor")

    monkeypatch.setattr(file_lock.fcntl, "flock", nfs_flock)
    with pytest.raises(UserError, match=r"^cannot lock .*out\.csv: its lock file .* belongs to another user"):
        files.TargetLock(tmp_path / "out.csv")
    assert lock.exists()


def test_group_age_holds_its_output_as_estimate_does(tmp_path):
    """Review V5 #8a: group-age wrote without the output's lock, so a killed Parquet run's temporary files stayed
    beside its output (until a locked estimate wrote the same name), and two runs into one -o both went ahead. It
    now takes the lock: a killed run's temporaries go, and a second run is refused in one line."""
    from tests.conftest import invoke_quiet, ok_output

    src, out = tmp_path / "in.csv", tmp_path / "g.parquet"
    frame = stars(6)
    frame["cluster"] = ["a", "a", "a", "b", "b", "b"]
    frame.to_csv(src, index=False)
    stale = tmp_path / ".g.parquet.gyroage-abcd1234.part"  # a killed run's, as mkstemp names them
    stale.write_bytes(b"PAR1")
    ok_output(invoke_quiet("group-age", str(src), "--by", "cluster", "-o", str(out)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.parquet", "in.csv"]
    first = out.read_bytes()
    holder = hold_lock(out)
    try:
        res = invoke_quiet("group-age", str(src), "--by", "cluster", "-o", str(out))
        assert res.exit_code == 2 and f"another gyroage run is writing {out}" in res.output, res.output
    finally:
        holder.communicate("")
    assert out.read_bytes() == first


@pytest.mark.parametrize("where", ["assembly", "mid-run"])
def test_a_file_size_limit_is_not_told_to_free_space(tmp_path, density, settings, monkeypatch, where):
    """A file-size limit (``ulimit -f``, EFBIG) was told "free space and rerun with --resume" (review V48, 4), which
    does not help: it now names the limit. A full disk or quota (ENOSPC, EDQUOT) keeps "free space"."""
    import errno
    import shutil

    from gyroage.engines import sinks
    from gyroage.errors import UserError

    src = tmp_path / "in.csv"
    stars(300).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    real, calls = sinks._digest, []

    def too_large(*a, **k):
        raise OSError(errno.EFBIG, "File too large")

    def grows(path):  # the third chunk's file is refused
        calls.append(path)
        if len(calls) == 3:
            too_large()
        return real(path)

    if where == "assembly":
        monkeypatch.setattr(shutil, "copyfileobj", too_large)
    else:
        monkeypatch.setattr(sinks, "_digest", grows)
    with pytest.raises(UserError) as err:
        engines.run_local(src, out, density, settings, chunksize=100, quiet=True)
    rows = "all 300 rows are" if where == "assembly" else "the 200 rows finished so far are"
    assert str(err.value) == (f"cannot write {out}: File too large: {rows} kept in {sinks.sidecar_dir(out)}: the "
                              "file-size limit (ulimit -f) or the file system's was reached: raise it and rerun "
                              "with --resume")


@pytest.mark.skipif(not os.path.exists("/dev/tty") or os.name == "nt", reason="a Unix /dev/tty")
def test_dev_tty_with_no_controlling_terminal_is_one_line(tmp_path):
    """``-o /dev/tty`` from cron, ``setsid`` or a detached job (no controlling terminal): an OSError traceback
    ('No such device or address'), exit 1 (review V53, 6). One line now, exit 2."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    stars(3).to_csv(tmp_path / "in.csv", index=False)
    res = subprocess.run([sys.executable, "-m", "gyroage.cli", "estimate", str(tmp_path / "in.csv"), "-q", "-o",
                          "/dev/tty"], stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), start_new_session=True, timeout=50)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert res.stderr.strip().startswith("gyroage: error: cannot write /dev/tty") and res.stderr.count("\n") == 1
