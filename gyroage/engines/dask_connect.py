"""The Dask engine's cluster: the caller's client, a scheduler's (checked to be one, in bounded time) or a LocalCluster
of our own; the local inputs checked before any of them is tried.

distributed is imported inside the functions, as in :mod:`gyroage.engines.dask_engine`.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from gyroage import io
from gyroage.errors import UserError
from gyroage.swaps import signals_held

CONNECT_SECONDS = 20  # --scheduler: distributed's connect timeout; its handshake gets 5 s more at most


def require_inputs(paths: list[str]) -> None:
    """A local input that is not there (no file, directory or match of its pattern, ``**`` at any depth as Dask
    expands it), in one line; a URL is Dask's."""
    if "-" in paths:
        raise UserError("the dask engine reads files, not stdin")
    for p in paths:
        if "://" not in p and not Path(p).exists() and not glob.glob(p, recursive=True):
            io.require_input_file(p)


def mute_distributed() -> None:
    """Drop every later record of distributed's stderr handlers in this process: a run interrupted (Ctrl-C, SIGTERM)
    says one line. LocalCluster silences them only until ``close`` gives the handlers their old levels back, while
    its event loop may still log a comm it finds closed ("Batched Comm Closed" and a traceback, 1 run in 4)."""
    for handler in logging.getLogger("distributed").handlers:
        handler.addFilter(lambda record: False)


def connect(client, scheduler: str | None, workers: int | None):
    """(client, cluster we started or None): the caller's client, the scheduler's, or a new LocalCluster's."""
    try:
        from distributed import Client
    except ImportError:
        raise UserError("the dask engine needs dask.distributed: pip install 'gyroage[dask]'") from None
    if client is not None:
        return client, None
    if scheduler:
        # one deadline for both: Client's timeout is what the handshake left (its full one after a quick handshake)
        deadline = time.monotonic() + CONNECT_SECONDS + 5
        _handshake(scheduler, deadline)
        try:
            return Client(scheduler, timeout=min(CONNECT_SECONDS, max(deadline - time.monotonic(), 1))), None
        except (OSError, ValueError, TypeError) as exc:  # a malformed address (no port: "threads") is a ValueError
            raise UserError(f"cannot reach the Dask scheduler at {scheduler}: {_reason(exc)}") from None
    own = _local_cluster(workers)
    try:
        return Client(own), own
    except BaseException:  # a Ctrl-C now: no cluster left behind
        own.close()
        raise


def _local_cluster(workers: int | None):
    """A LocalCluster of ``workers`` processes. A Ctrl-C or SIGTERM while it starts (seconds on a busy machine) is
    held back and honoured once it is up: the cluster is closed, then the run's own handler raises (one line, exit
    130 or 143). Left to land mid-start it leaked multiprocessing's semaphores (a warning after the line); and the
    workers' SIGINT ignored in this process too (they inherited it so) lost the Ctrl-C: the run went on to the end."""
    from distributed import LocalCluster

    own = None
    # only the handlers Python calls (KeyboardInterrupt's, gyroage's on_sigterm): an ignored signal stays ignored
    with signals_held(called_only=True) as hit:
        try:
            with _workers_deaf_to_ctrl_c():
                # No dashboard; the scheduler's HTTP server (health, metrics) still starts, on 8787 unless told: a
                # port of the system's choosing, so another cluster on 8787 does not print distributed's warning
                own = LocalCluster(n_workers=workers or 2, threads_per_worker=1, processes=True,
                                   dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                                   silence_logs=logging.CRITICAL)
        except Exception:
            if not hit:  # else its workers died of the same signal (SIGTERM to the group): the signal's line says it
                raise
        if hit and own is not None:
            mute_distributed()
            own.close()
    if hit:  # raised again as the block ended: KeyboardInterrupt (or Terminated) came from its handler
        raise KeyboardInterrupt  # a handler of the caller's that returned: the cluster is closed all the same
    return own


@contextlib.contextmanager
def _workers_deaf_to_ctrl_c() -> Iterator[None]:
    """Start processes (multiprocessing's spawn) with SIGINT blocked: a terminal's Ctrl-C reaches every process of the
    group, and only this one is to stop (one line, then the cluster is closed), no worker printing its
    KeyboardInterrupt traceback. Blocked, not ignored, in the thread that starts them: this process keeps its handler,
    which an ignored SIGINT (inherited so before) took from it."""
    from multiprocessing import util

    spawn = util.spawnv_passfds

    def deaf(*args, **kwargs):
        before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            return spawn(*args, **kwargs)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, before)

    util.spawnv_passfds = deaf
    try:
        yield
    finally:
        util.spawnv_passfds = spawn


def _reason(exc: BaseException) -> str:
    """The text of ``exc``, or its type's name if it has none (Client's timeout is a bare ``TimeoutError()``)."""
    return str(exc) or type(exc).__name__


def _handshake(scheduler: str, deadline: float) -> None:
    """Refuse, in one line, an address where no Dask scheduler answers. distributed's ``timeout`` does not cover the
    handshake's read (a silent service, an HTTP server, was waited on for ever), and other bytes (an SSH server's)
    are read as a frame length: numpy's MemoryError. So a first handshake, in a loop of its own, under a deadline."""
    import asyncio

    from distributed.comm import connect as open_comm
    from distributed.security import Security

    async def greet() -> None:
        # Client's own connection arguments: a tls:// scheduler's certificates come from Dask's config (a file
        # named there that is missing is an OSError, one line below)
        args = Security().get_connection_args("client")
        comm = await open_comm(scheduler, timeout=CONNECT_SECONDS, **args)
        await comm.close()

    if scheduler.lower().startswith("tls://"):
        _require_tls_files()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(asyncio.wait_for(greet(), deadline - time.monotonic()))
        except BaseException as exc:  # noqa: BLE001 - raised below, in the caller's thread
            failed.append(exc)

    # A thread with a loop of its own, even if the caller's runs one (Jupyter); a daemon, so that Ctrl-C or SIGTERM
    # while it waits ends the run at once instead of after the deadline
    thread = threading.Thread(target=run, name="gyroage-dask-handshake", daemon=True)
    thread.start()
    thread.join()
    hint = "(is that its address and port?)"
    try:
        if failed:
            raise failed[0]
    except asyncio.TimeoutError:  # our deadline; connect's own ("Timed out trying to connect") is an OSError
        raise UserError(f"cannot reach the Dask scheduler at {scheduler}: it did not answer as a Dask scheduler "
                        f"within {CONNECT_SECONDS + 5} s {hint}") from None
    except (OSError, ValueError, TypeError) as exc:  # refused, closed; a malformed address (no port) is a ValueError
        raise UserError(f"cannot reach the Dask scheduler at {scheduler}: {_reason(exc)}") from None
    except Exception:  # a MemoryError, a decoding error: not distributed's protocol
        raise UserError(f"cannot reach the Dask scheduler at {scheduler}: it did not answer as a Dask scheduler "
                        f"{hint}") from None


def _require_tls_files() -> None:
    """Refuse, in one line naming it, a certificate or key file Dask's config names that is not there: ssl's
    FileNotFoundError names none ("[Errno 2] No such file or directory", review V59, 4)."""
    import dask

    for key in ("ca-file", "client.cert", "client.key"):
        value = dask.config.get(f"distributed.comm.tls.{key}", None)
        # distributed also takes the PEM text itself in place of a file's name
        if value and "-----BEGIN" not in str(value) and not Path(value).is_file():
            # a folder of certificates (OpenSSL's capath) is there, but Dask's ca-file takes one file
            what = "is a folder, not a file" if Path(value).is_dir() else "is not there"
            raise UserError(f"the TLS file {value} named in Dask's config (distributed.comm.tls.{key}) {what}")
