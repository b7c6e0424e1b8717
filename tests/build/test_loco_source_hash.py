"""What the source hash of a fold's gyroage covers (review V49, 1, 4): only regular ``*.py`` files, symlinked
sub-packages included; an install with no source to read records no hash, and then no saved fold is its own."""

import compileall
import os
from pathlib import Path

import numpy as np

from tests.build.test_loco_fold_reuse import save_fold
from tests.build.test_loco_fold_version import _code_version_of, _copy_package


def test_an_editor_lock_link_or_a_directory_named_py_is_no_source(tmp_path):
    """Emacs leaves a dangling link ``.#loco.py`` beside a file being edited: every validate was a traceback
    (FileNotFoundError), as a directory named ``junk.py`` was (IsADirectoryError). Neither is source: same hash."""
    from gyroage.build.loco_checks import code_version

    root = _copy_package(tmp_path)
    os.symlink("user@host.1234:1700000000", Path(root, "gyroage", "build", ".#loco.py"))
    Path(root, "gyroage", "junk.py").mkdir()
    assert _code_version_of(root) == code_version()


def test_a_symlinked_sub_package_is_hashed_and_its_edits_seen(tmp_path):
    """rglob did not enter a symlinked ``core/``: its files were left out of the hash, an edit there unseen. A link
    back to the package (a loop) ends the walk rather than running forever."""
    from gyroage.build.loco_checks import code_version

    linked, elsewhere = _copy_package(tmp_path / "a"), Path(_copy_package(tmp_path / "b"))
    core = Path(linked, "gyroage", "core")
    for f in sorted(core.rglob("*"), reverse=True):
        f.rmdir() if f.is_dir() else f.unlink()
    core.rmdir()
    core.symlink_to(elsewhere / "gyroage" / "core", target_is_directory=True)
    os.symlink(elsewhere / "gyroage", elsewhere / "gyroage" / "core" / "loop")  # a loop: the walk must end
    same = _code_version_of(linked)
    assert same["source_sha256"] != code_version()["source_sha256"]  # the loop's files are its own paths
    (elsewhere / "gyroage" / "core" / "loop").unlink()
    assert _code_version_of(linked) == code_version()
    groups = elsewhere / "gyroage" / "core" / "groups.py"
    groups.write_text(groups.read_text() + "\n# an edit in the linked sub-package\n")
    assert _code_version_of(linked)["source_sha256"] != code_version()["source_sha256"]


def test_a_bytecode_only_install_records_no_source_and_owns_no_fold(tmp_path):
    """Compiled with ``compileall -b`` and its sources removed, the package hashed nothing: SHA-256 of b"" for every
    code, so an edited install reused another code's folds. Now no hash, and every saved fold is another gyroage's,
    even one that recorded the same (unknown) source; the line says the source could not be read."""
    from gyroage.build.loco_checks import other_version_folds, other_version_text

    root = _copy_package(tmp_path)
    assert compileall.compile_dir(Path(root, "gyroage"), quiet=1, legacy=True)
    for p in Path(root, "gyroage").rglob("*.py"):
        p.unlink()
    code = _code_version_of(root)
    assert code["source_sha256"] is None, code
    save_fold(tmp_path / "folds" / "M67.npz", np.arange(3), gyroage=code)
    other = other_version_folds(tmp_path / "folds", ["M67"], code)
    assert other == {"M67": code}
    line = other_version_text(other, code, keep=True)
    assert "\n" not in line and "source could not be read" in line and "reused as --keep-folds asks" in line, line
