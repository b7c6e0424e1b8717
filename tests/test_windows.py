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
