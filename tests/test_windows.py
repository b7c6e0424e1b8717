"""Windows, simulated on Linux: no fcntl, fsync of a writable descriptor only, a target another program holds open,
click's argument expansion, no /dev, and file systems that ignore case (macOS and Windows by default)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

from tests.conftest import EXAMPLES, ROOT

# a fresh interpreter in which `import fcntl` fails, as on Windows (msvcrt is missing too: the run goes unlocked)
NO_FCNTL = "import sys; sys.modules['fcntl'] = None; sys.argv[0] = 'gyroage'; "


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))


def test_without_fcntl_gyroage_imports_and_writes_an_output(tmp_path):
    """Review FA2 #2: files.py imported fcntl at its top, so on Windows `import gyroage` and every command failed
    (ModuleNotFoundError). The lock is now taken with what the platform has, and without any the run goes unlocked."""
    api = _python(NO_FCNTL + "from gyroage import AgeModel; print('ok')")
    assert api.returncode == 0 and api.stdout.strip() == "ok", api.stderr
    version = _python(NO_FCNTL + "sys.argv[1:] = ['--version']; from gyroage.cli import main; main()")
    assert version.returncode == 0 and version.stdout.startswith("gyroage "), version.stderr
    out = tmp_path / "ages.csv"
    run = _python(NO_FCNTL + "sys.argv[1:] = sys.argv[1:]; from gyroage.cli import main; main()", "estimate",
                  str(EXAMPLES / "field_stars.csv"), "--seed", "1", "-q", "-o", str(out))
    assert run.returncode == 0, run.stderr
    assert out.read_text().count("\n") == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ages.csv"]  # no lock file, no temporary file left


class FakeMsvcrt:
    """``msvcrt.locking`` as Windows has it, on top of flock: EACCES when another descriptor holds the byte."""

    LK_UNLCK, LK_NBLCK = 0, 2

    def __init__(self, fcntl) -> None:
        self.fcntl = fcntl
        self.calls: list[int] = []

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        assert nbytes == 1 and os.lseek(fd, 0, os.SEEK_CUR) == 0
        self.calls.append(mode)
        if mode == self.LK_UNLCK:
            self.fcntl.flock(fd, self.fcntl.LOCK_UN)
            return
        try:
            self.fcntl.flock(fd, self.fcntl.LOCK_EX | self.fcntl.LOCK_NB)
        except BlockingIOError:
            raise OSError(errno.EACCES, "Permission denied") from None


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def test_on_windows_the_lock_is_msvcrt_and_its_file_is_closed_before_it_is_removed(tmp_path, monkeypatch):
    """Without fcntl the lock is msvcrt.locking's: a second run is refused in one line; release unlocks and closes
    the lock file before removing it (Windows cannot remove an open file: the lock file stayed behind)."""
    import fcntl

    from gyroage import file_lock, files
    from gyroage.errors import UserError

    fake = FakeMsvcrt(fcntl)
    monkeypatch.setattr(file_lock, "fcntl", None)
    monkeypatch.setattr(file_lock, "msvcrt", fake)
    monkeypatch.setattr(file_lock, "UNLINK_WHILE_OPEN", False)
    unlink = os.unlink

    def windows_unlink(path, *args, **kwargs):
        for lock in files._HELD:  # a held lock's descriptor is open: Windows refuses to remove its file
            if lock.fd is not None and os.path.samefile(path, lock.path) and _is_open(lock.fd):
                raise PermissionError(errno.EACCES, "The process cannot access the file", str(path))
        return unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", windows_unlink)
    out = tmp_path / "out.csv"
    lock = files.TargetLock(out)
    with pytest.raises(UserError, match=r"^another gyroage run is writing .*out\.csv$"):
        files.TargetLock(out)
    lock.release()
    assert fake.calls == [fake.LK_NBLCK, fake.LK_NBLCK, fake.LK_UNLCK]
    assert list(tmp_path.iterdir()) == []  # the lock file is gone
    files.TargetLock(out).release()  # and the next run takes it


def windows_fsync(monkeypatch):
    """os.fsync as Windows has it (_commit, FlushFileBuffers): EBADF on a descriptor opened read-only."""
    import fcntl

    fsync = os.fsync

    def check(fd):
        if (fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE) == os.O_RDONLY:
            raise OSError(errno.EBADF, "Bad file descriptor")
        return fsync(fd)

    monkeypatch.setattr(os, "fsync", check)


def test_fsync_opens_the_file_writable(tmp_path, monkeypatch):
    """Review FA2 #3: fsync_file opened the file read-only, which Windows cannot sync: every -o run ended in
    '[Errno 9] Bad file descriptor'. It opens it for writing now (and changes nothing in it)."""
    from gyroage import files

    windows_fsync(monkeypatch)
    path = tmp_path / "a.csv"
    path.write_text("a\n1\n")
    files.fsync_file(path)
    assert path.read_text() == "a\n1\n"
    files.atomic_write_text(tmp_path / "b.json", "{}")  # fsync, then rename: what every output goes through
    assert (tmp_path / "b.json").read_text() == "{}"


def target_held_open(monkeypatch, target):
    """os.replace as Windows has it while another program (Excel) holds ``target`` open: PermissionError."""
    replace = os.replace

    def refuse(src, dst, *args, **kwargs):
        if os.path.exists(dst) and os.path.samefile(dst, target):
            raise PermissionError(errno.EACCES, "The process cannot access the file because it is being used by "
                                  "another process", str(src), 32, str(dst))
        return replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", refuse)


def test_an_output_open_in_another_program_is_one_line_and_its_rows_are_kept(tmp_path, monkeypatch, density,
                                                                            settings):
    """Review FA2 #5: on Windows the rename onto an output Excel holds open raises PermissionError, which ended the
    run in a traceback. It is one line now, naming the file and what to do; the finished rows stay for --resume."""
    from gyroage import files
    from gyroage.engines import local as engines
    from gyroage.engines.sinks import sidecar_dir
    from gyroage.errors import UserError
    from tests.test_engines import stars

    src, out = tmp_path / "in.csv", tmp_path / "ages.csv"
    stars(30).to_csv(src, index=False)
    engines.run_local(src, out, density, settings, chunksize=10, quiet=True)
    first = out.read_bytes()
    waits = []
    monkeypatch.setattr(files, "WINDOWS", True)
    monkeypatch.setattr(files.time, "sleep", waits.append)
    target_held_open(monkeypatch, out)
    with pytest.raises(UserError, match=r"^cannot replace .*ages\.csv: it is open in another program \(or read-only\); "
                                        r"close it and rerun with --resume \(all 30 rows are kept in .*\)$"):
        engines.run_local(src, out, density, settings, chunksize=10, quiet=True)
    assert out.read_bytes() == first and sidecar_dir(out).is_dir()
    assert len(waits) >= 3 and 0.8 <= sum(waits) <= 1.5, waits  # tried again over about 1 s (an antivirus scan)
    with pytest.raises(UserError, match=r"^cannot replace .*b\.json: it is open in another program \(or read-only\); "
                                        r"close it and rerun$"):
        target_held_open(monkeypatch, tmp_path / "b.json")
        (tmp_path / "b.json").write_text("[]")
        files.atomic_write_text(tmp_path / "b.json", "{}")
    assert (tmp_path / "b.json").read_text() == "[]"
    monkeypatch.undo()  # closed in the other program: --resume assembles the kept rows
    engines.run_local(src, out, density, settings, chunksize=10, quiet=True, resume=True)
    assert out.read_bytes() == first and not sidecar_dir(out).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ages.csv", "b.json", "in.csv"]


def test_arguments_reach_gyroage_as_typed_on_windows(monkeypatch, capsys):
    """Review FA2 #6: on Windows click expands globs, ~ and %VAR% in every argument, quoted or not, so the README's
    `gyroage estimate 'survey/part-*.csv' --engine dask` reached gyroage as many inputs and was refused. The
    arguments now reach it as the shell gave them (the dask engine expands its own glob)."""
    import typer.core

    from gyroage.cli import app

    class Windows:
        name = "nt"

        def __getattr__(self, attr):
            return getattr(os, attr)

    expanded = []
    monkeypatch.setattr(typer.core, "os", Windows())
    monkeypatch.setattr(typer.core._click.utils, "_expand_args", lambda args: expanded.append(args) or args)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # typer's app() sets its own
    monkeypatch.setattr(sys, "argv", ["gyroage", "estimate", "survey/part-*.csv", "--engine", "dask", "--help"])
    with pytest.raises(SystemExit) as exit_:
        app(prog_name="gyroage")
    assert exit_.value.code == 0 and "Usage: gyroage estimate" in capsys.readouterr().out
    assert expanded == []


@pytest.mark.parametrize("target", ["/dev/null", "/dev/stdout", "\\dev\\stderr", "/dev/fd/1"])
def test_a_unix_device_is_refused_on_windows(tmp_path, monkeypatch, density, settings, target):
    """Review FA2 #9: on Windows `-o /dev/stdout` and `-o /dev/null` made real files, C:\\dev\\stdout and
    C:\\dev\\null (and the folder). They are one line now, saying what Windows has instead."""
    from gyroage import files, writers
    from gyroage.engines import local as engines
    from gyroage.errors import UserError
    from tests.test_engines import stars

    monkeypatch.setattr(files, "WINDOWS", True, raising=False)
    monkeypatch.chdir(tmp_path)  # a backslashed name is a relative one on Linux: anything it makes is seen here
    src = tmp_path / "in.csv"
    stars(3).to_csv(src, index=False)
    with pytest.raises(UserError, match=r"^cannot write .*: Windows has no /dev/\S+: use '-o -' for standard output, "
                                        r"or NUL to discard the output$"):
        engines.run_local(src, target, density, settings, quiet=True)
    with pytest.raises(UserError, match="Windows has no /dev/"):  # every writer's way in (crossmatch's, convert's)
        writers.AtomicWriter(target, "csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]
    monkeypatch.setattr(files, "WINDOWS", False)
    files.output_path(target)  # elsewhere a device is written into, as before


def test_names_differing_in_case_are_one_file_where_the_file_system_ignores_case(tmp_path, monkeypatch):
    """Review FA2 #10: on macOS and Windows (which ignore case) `-o Post.parquet --posteriors post.parquet` was not
    refused, as the names differ, and one output silently replaced the other; and a killed run's temporary files
    named after `-o out.csv` stayed when the next run wrote `-o Out.csv`. Where the folder ignores case, so do these."""
    from gyroage import files, writers
    from gyroage.errors import UserError

    monkeypatch.setattr(files, "ignores_case", lambda path: True, raising=False)
    with pytest.raises(UserError, match="^-o and --posteriors name the same file"):
        writers.check_outputs(tmp_path / "in.csv", tmp_path / "Post.parquet", tmp_path / "post.parquet")
    left = tmp_path / ".out.csv.gyroage-abcd1234.part"
    left.write_text("a killed run's rows")
    assert files.remove_stale(tmp_path / "Out.csv") == [left.name] and not left.exists()
    monkeypatch.undo()  # this file system (Linux) minds case: two files, and another target's temporaries stay
    writers.check_outputs(tmp_path / "in.csv", tmp_path / "Post.parquet", tmp_path / "post.parquet")
    left.write_text("another target's rows")
    assert files.remove_stale(tmp_path / "Out.csv") == [] and left.exists()


def test_the_case_probe(tmp_path):
    """A folder ignores case when a name in it, case swapped, finds the same file: a link stands in for macOS's
    lookup here. A folder with another file by the swapped name, or with no cased name at all, minds case."""
    from gyroage import files

    (tmp_path / "sensitive").mkdir()
    (tmp_path / "sensitive" / "Ab.txt").write_text("")
    (tmp_path / "sensitive" / "aB.TXT").write_text("")
    assert not files.ignores_case(tmp_path / "sensitive" / "out.csv")
    (tmp_path / "insensitive").mkdir()
    (tmp_path / "insensitive" / "Ab.txt").write_text("")
    (tmp_path / "insensitive" / "aB.TXT").symlink_to("Ab.txt")
    assert files.ignores_case(tmp_path / "insensitive" / "new" / "out.csv")  # the nearest folder there is
    (tmp_path / "empty").mkdir()
    assert not files.ignores_case(tmp_path / "empty" / "123")  # probed by its own name: no file made in it
    assert list((tmp_path / "empty").iterdir()) == []


def test_a_leading_tilde_is_the_home_folder_on_windows(tmp_path, monkeypatch, capsys):
    """Review V5 #4: turning click's Windows argument expansion off (globs, %VAR%) turned its `~` off too, so
    `-o ~\\ages.csv` wrote into a folder literally named `~` in the working folder. A leading `~` is the home
    folder again on Windows (on POSIX the shell expands it), for input and output alike."""
    import shutil

    from gyroage import cli_help
    from gyroage.cli import app

    class Windows:
        name = "nt"

        def __getattr__(self, attr):
            return getattr(os, attr)

    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    shutil.copy(EXAMPLES / "field_stars.csv", home / "stars.csv")
    monkeypatch.setenv("HOME", str(home))  # what os.path.expanduser reads here
    monkeypatch.chdir(work)
    monkeypatch.setattr(cli_help, "os", Windows())
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # typer's app() sets its own
    monkeypatch.setattr(sys, "argv", ["gyroage", "estimate", "~/stars.csv", "--seed", "1", "-q", "-o", "~/ages.csv"])
    with pytest.raises(SystemExit) as exit_:
        app(prog_name="gyroage")
    assert exit_.value.code == 0, capsys.readouterr().err
    assert (home / "ages.csv").read_text().count("\n") == 2
    assert list(work.iterdir()) == []  # no folder named ~


def test_a_replace_on_windows_is_tried_again_while_a_scanner_holds_the_file(tmp_path, monkeypatch):
    """Review V5 #5: an antivirus scanner or the indexer holds a new file for a moment on Windows, and the one
    os.replace failed as "open in another program". It is tried again for about a second first."""
    from gyroage import files

    target = tmp_path / "b.json"
    target.write_text("[]")
    replace, calls = os.replace, []

    def briefly_held(src, dst, *args, **kwargs):
        calls.append(dst)
        if len(calls) < 3:
            raise PermissionError(errno.EACCES, "being used by another process", str(src), 32, str(dst))
        return replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(files, "WINDOWS", True)
    monkeypatch.setattr(files.time, "sleep", lambda s: None)
    monkeypatch.setattr(os, "replace", briefly_held)
    files.atomic_write_text(target, "{}")
    assert target.read_text() == "{}" and len(calls) == 3


def test_a_refused_replace_on_posix_names_the_folder_not_another_program(tmp_path, monkeypatch):
    """Review V5 #5: on POSIX os.replace onto a read-only file succeeds; a PermissionError comes from a sticky folder
    (/tmp) holding another user's old output, or a read-only folder, yet the message said "open in another program
    (or read-only)". It says what it is now, at once (no retry)."""
    from gyroage import files
    from gyroage.errors import UserError

    target = tmp_path / "b.json"
    target.write_text("[]")

    def sticky(src, dst, *args, **kwargs):
        raise PermissionError(errno.EPERM, "Operation not permitted", str(src), None, str(dst))

    monkeypatch.setattr(files, "WINDOWS", False)
    monkeypatch.setattr(files.time, "sleep", lambda s: pytest.fail("no retry off Windows"))
    monkeypatch.setattr(os, "replace", sticky)
    with pytest.raises(UserError, match=r"^cannot replace .*b\.json: permission denied \(another user's file in a "
                                        r"sticky folder, or a read-only folder\); have it removed or the folder "
                                        r"made writable, and rerun$"):
        files.atomic_write_text(target, "{}")
    monkeypatch.undo()
    assert target.read_text() == "[]" and sorted(p.name for p in tmp_path.iterdir()) == ["b.json"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_nul_discards_the_output_on_windows(tmp_path, monkeypatch, density, settings, fmt):
    """Review V5 #6: the README says `-o NUL` discards the output on Windows, untested. Simulated: os.stat gives NUL
    as a character device there (as CPython does on Windows) and writing it discards the bytes; the run completes
    and makes no file, folder, lock or sidecar."""
    import builtins
    import stat as stat_

    from gyroage import files
    from gyroage.engines import local as engines
    from tests.test_engines import stars

    src = tmp_path / "in" / "in.csv"
    src.parent.mkdir()
    stars(30).to_csv(src, index=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    real_stat, real_access, real_open, written = os.stat, os.access, builtins.open, []

    def is_nul(path) -> bool:
        return not isinstance(path, int) and os.fspath(path).upper() == "NUL"

    def stat(path, *args, **kwargs):
        return real_stat(os.devnull) if is_nul(path) else real_stat(path, *args, **kwargs)

    def access(path, *args, **kwargs):  # Windows finds NUL, writable, as it finds it in os.stat
        return real_access(os.devnull if is_nul(path) else path, *args, **kwargs)

    def open_(path, mode="r", *args, **kwargs):
        if is_nul(path):
            written.append(mode)
            return real_open(os.devnull, mode, *args, **kwargs)
        return real_open(path, mode, *args, **kwargs)

    assert stat_.S_ISCHR(real_stat(os.devnull).st_mode)
    monkeypatch.setattr(files, "WINDOWS", True)
    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(builtins, "open", open_)
    engines.run_local(src, "NUL", density, settings, chunksize=10, quiet=True, output_fmt=fmt)
    monkeypatch.undo()
    assert written and all("w" in m for m in written), written
    assert list(work.iterdir()) == []  # no file named NUL, nothing beside it
