"""A model folder replaced by ``gyroage export`` as one set: an export stopped part-way (Ctrl-C, SIGTERM, a full
disk) leaves the old model loading, never a new density graph beside the old card (tiny toy models only)."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from tests.build.test_build_guards import FAST, cli, toy_catalogue, write_config  # noqa: E402


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path]:
    """Two checkpoints whose density graphs differ: a two-epoch toy run, and the same with its weights nudged."""
    from gyroage.build.export import load_checkpoint, save_checkpoint

    tmp = tmp_path_factory.mktemp("runs")
    cat = toy_catalogue(tmp / "cat.csv")
    res = cli("train", "--catalogue", str(cat), "--out", str(tmp / "a"), "--config", str(write_config(tmp, FAST)),
              "-q")
    assert res.exit_code == 0, res.output
    (tmp / "b").mkdir()
    shutil.copyfile(tmp / "a" / "train.json", tmp / "b" / "train.json")
    model = load_checkpoint(tmp / "a" / "flow.pt")
    with torch.no_grad():
        for p in model.net.parameters():
            p.add_(0.01)
    save_checkpoint(model, tmp / "b" / "flow.pt")
    return tmp / "a", tmp / "b"


def _exported(runs, tmp_path) -> Path:
    out = tmp_path / "m"
    res = cli("export", "--checkpoint", str(runs[0]), "--out", str(out), "-q")
    assert res.exit_code == 0, res.output
    return out


def _loads(model_dir: Path) -> dict:
    from gyroage.core.modelcard import load_card

    card, _ = load_card(model_dir)  # verifies every listed graph against its SHA-256
    return card.files


@pytest.mark.parametrize("fails", ["write_posteriors", "write_card"])
@pytest.mark.parametrize("stop", [KeyboardInterrupt, OSError(28, "No space left on device")])
def test_an_export_stopped_before_the_card_leaves_the_old_model(runs, tmp_path, monkeypatch, fails, stop):
    """export wrote the new density graph, then the posterior graph, then the card: stopped in between, the folder
    held a density graph its card did not describe, and every run refused it ('does not match its card')."""
    import gyroage.build.export as export

    out = _exported(runs, tmp_path)
    before = _digests(out)

    def boom(*args, **kwargs):
        raise stop

    monkeypatch.setattr(export, fails, boom)
    res = cli("export", "--checkpoint", str(runs[1]), "--out", str(out), "--force", "-q")
    assert res.exit_code != 0
    assert _digests(out) == before  # the old model, file for file
    _loads(out)
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []  # no staging folder left behind


def test_an_interrupt_while_the_files_are_moved_in_waits_for_the_card(runs, tmp_path, monkeypatch):
    """Ctrl-C between the renames would leave the mix again: it is held back until the card is in, then raised."""
    import os

    out = _exported(runs, tmp_path)
    real = os.replace
    calls = []

    def replace(src, dst):
        if Path(dst).parent == out:  # a staged file moved in (not a file written atomically into the staging folder)
            calls.append(Path(dst).name)
            if len(calls) == 1:
                signal.raise_signal(signal.SIGINT)
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        res = cli("export", "--checkpoint", str(runs[1]), "--out", str(out), "--force")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert res.exit_code == 130, res.output
    assert calls[-1] == "gyroage-model.json"
    files = _loads(out)
    new = tmp_path / "new"
    assert cli("export", "--checkpoint", str(runs[1]), "--out", str(new), "-q").exit_code == 0
    assert files == _loads(new)  # the whole new model is in
    assert (out / "gyroage-flow.pt").read_bytes() == (runs[1] / "flow.pt").read_bytes()


def test_a_stale_magnitude_graph_goes_and_a_rebuild_keeps_the_folder_loading(runs, tmp_path):
    """Staged exports still remove a posterior graph the new card has no term for, and --posterior-only rebuilds
    in place through the same staging."""
    out = _exported(runs, tmp_path)
    (out / "gyroage-posterior-mag.onnx").write_bytes(b"stale")
    res = cli("export", "--checkpoint", str(runs[1]), "--out", str(out), "--force", "-q")
    assert res.exit_code == 0, res.output
    assert not (out / "gyroage-posterior-mag.onnx").exists()
    card = json.loads((out / "gyroage-model.json").read_text())
    assert sorted(card["files"]) == ["gyroage-density.onnx", "gyroage-posterior.onnx"]
    res = cli("export", "--posterior-only", "--out", str(out), "-q")
    assert res.exit_code == 0, res.output
    _loads(out)
    assert sorted(p.name for p in out.iterdir()) == ["gyroage-density.onnx", "gyroage-flow.pt", "gyroage-model.json",
                                                    "gyroage-posterior.onnx"]


def _dead_pid() -> int:
    """The pid of a process that has ended (reaped)."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _our_staging(out: Path, name: str, pid, age_s: float = 7200.0) -> Path:
    """A staging folder as an export makes it, its marker naming ``pid``, written ``age_s`` seconds ago."""
    import os
    import time

    from gyroage.build.model_swap import OWNER_FILE, STAGE_PREFIX
    from gyroage.core.modelcard import CARD_FILE

    folder = out / (STAGE_PREFIX + name)
    folder.mkdir(parents=True)
    (folder / OWNER_FILE).write_text(str(pid))
    (folder / CARD_FILE).write_text("{}")
    then = time.time() - age_s
    os.utime(folder / OWNER_FILE, (then, then))
    return folder


def test_a_fresh_staging_folder_of_a_pid_gone_here_and_an_absurd_marker_are_left_alone(tmp_path):
    """Review V45: an export in another pid namespace (a container, another host on a shared folder) looks dead here,
    so its live staging folder was removed and that export died with a FileNotFoundError; a marker holding a huge
    number made every later export fail with os.kill's OverflowError. The first is kept until its marker is an hour
    old, the second is left alone, and the export runs."""
    from gyroage.build.model_swap import staged
    from gyroage.core.modelcard import CARD_FILE

    out = tmp_path / "m"
    _our_staging(out, "live", _dead_pid(), age_s=5.0)
    _our_staging(out, "huge", "99999999999999999999")
    with staged(out) as stage:
        (stage / CARD_FILE).write_text('{"new": 1}')
    kept = sorted(p.name for p in out.iterdir())
    assert kept == [".gyroage-staging-huge", ".gyroage-staging-live", CARD_FILE]


def test_a_staging_folder_left_by_a_killed_export_is_removed_by_the_next(tmp_path):
    """A staging folder left in a model folder by an export killed outright (SIGKILL: no finally ran) was never
    removed or mentioned, a whole model's size (review V43, 11): the next export into that folder removes it, as
    its owner (the pid in its marker) is gone (review V44, 5: only such a one)."""
    from gyroage.build.model_swap import staged
    from gyroage.core.modelcard import CARD_FILE

    out = tmp_path / "m"
    _our_staging(out, "abc", _dead_pid())
    (out / "notes.txt").write_text("mine")
    with staged(out) as stage:
        (stage / CARD_FILE).write_text('{"new": 1}')
    assert sorted(p.name for p in out.iterdir()) == [CARD_FILE, "notes.txt"]
    assert (out / CARD_FILE).read_text() == '{"new": 1}'


def test_staging_clean_up_keeps_a_users_folder_and_a_live_exports(tmp_path):
    """The clean-up removed every .staging-* folder: a user's own (.staging-notes) and a concurrent export's live
    one (that export then died with a FileNotFoundError traceback) (review V44, 5). Both are kept now."""
    import os

    from gyroage.build.model_swap import staged
    from gyroage.core.modelcard import CARD_FILE

    out = tmp_path / "m"
    (out / ".staging-notes").mkdir(parents=True)
    (out / ".staging-notes" / "notes.txt").write_text("keep")
    live = _our_staging(out, "live", os.getppid())  # another process, running
    with staged(out) as stage:
        (stage / CARD_FILE).write_text('{"new": 1}')
    assert (out / ".staging-notes" / "notes.txt").read_text() == "keep"
    assert (live / CARD_FILE).read_text() == "{}"
    assert sorted(p.name for p in out.iterdir()) == [live.name, ".staging-notes", CARD_FILE]

