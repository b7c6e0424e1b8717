"""The run-time density: onnxruntime over the exported graph, numpy in and out.

No torch here. One session is made per :class:`FlowDensity` and reused; calls
are split into cache-sized batches, which onnxruntime runs several times
faster than one huge batch (measured in docs/performance.md).
"""

from __future__ import annotations

import functools
import json
import numbers
import os
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ParamSpec, TypeVar

import numpy as np

from gyroage.core.modelcard import (
    DENSITY_FILE,
    DENSITY_INPUTS,
    METADATA_KEY,
    ModelCard,
    load_card,
    outlier_log_density,
    refuse_newer_format,
)
from gyroage.errors import ModelError, UserError, whole_number

DEFAULT_BATCH = 8192
P = ParamSpec("P")
R = TypeVar("R")


def default_threads() -> int:
    """CPUs this process may use (affinity-aware), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def make_session(onnx_path: str | Path | bytes, threads: int | None = None):
    """An onnxruntime CPU session with full graph optimisation (from a file, or a serialised graph).

    ``threads`` is onnxruntime's intra-op pool. :class:`FlowDensity` uses 1 and
    runs batches from several Python threads instead: the graph is ~200 small
    nodes, and splitting each node over cores costs more in synchronisation
    than it gains (measured 4x slower with 2 threads on a busy 2-core box).
    Spinning is off so idle pool threads do not steal the other core.
    """
    try:
        import onnxruntime as ort
    except ImportError as exc:
        # pybind11 turns a Ctrl-C (or SIGTERM's Terminated) while the native module starts into "ImportError:
        # initialization failed", the interrupt its cause: raised as the interrupt it was, said in one line
        if isinstance(exc.__cause__, KeyboardInterrupt):
            raise exc.__cause__ from None
        raise

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        source = onnx_path if isinstance(onnx_path, bytes) else str(onnx_path)
        return ort.InferenceSession(source, sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
        what = "(in memory)" if isinstance(onnx_path, bytes) else onnx_path
        raise ModelError(f"cannot load ONNX model {what}: {str(exc).splitlines()[0]}") from None


class FlowDensity:
    """log p(log10 Prot | log10 age, (BP-RP)0, sigma colour) from the ONNX graph.

    Parameters
    ----------
    model : path to a model directory, card JSON or ONNX file; ``None`` for
        the shipped model.
    threads : batches run concurrently on this many threads, each a
        single-threaded onnxruntime run (``None``: the CPUs available).
    batch : rows per onnxruntime call (cache-sized: 2k-8k rows run several
        times faster per row than huge batches).
    check : verify file SHA-256 against the card.
    """

    def __init__(self, model: str | Path | None = None, threads: int | None = None,
                 batch: int = DEFAULT_BATCH, check: bool = True) -> None:
        self._source, self._threads_arg, self._check = model, threads, check
        p = Path(model) if model is not None else None
        if p is not None and p.suffix == ".onnx" and not check:
            # The card comes from the graph's own metadata: read it from the session used for running.
            onnx_path = p
            self.session = make_session(onnx_path, 1)
            self.card = card_from_session(self.session, onnx_path)
        else:
            self.card, model_dir = load_card(model, verify=check)
            onnx_path = model_dir / DENSITY_FILE
            self.session = make_session(onnx_path, 1)
        self.onnx_path = Path(onnx_path)
        self.threads = check_threads(threads) or default_threads()
        names = sorted(i.name for i in self.session.get_inputs())
        if names != sorted(DENSITY_INPUTS):
            raise ModelError(f"{onnx_path} is not a gyroage density graph (inputs {', '.join(names)})")
        self.batch = int(batch)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        _LIVE.add(self)  # a forked child gets a pool of its own (_after_fork)
        self.outlier_weight = float(self.card.outlier["weight"])
        self.outlier_log_density = outlier_log_density(self.card.outlier["log10_prot_range"])

    def log_prob_flow(self, log10_prot, log10_age, bp_rp0, bp_rp0_err) -> np.ndarray:
        """Flow log density per dex of period, broadcast over the inputs (float32 inside)."""
        arrays = np.broadcast_arrays(*(np.asarray(a, dtype=np.float32) for a in
                                       (log10_prot, log10_age, bp_rp0, bp_rp0_err)))
        shape = arrays[0].shape
        flat = [np.ascontiguousarray(a.reshape(-1)) for a in arrays]
        n = flat[0].size
        out = np.empty(n, dtype=np.float32)

        def run(i: int) -> None:
            feed = {k: a[i : i + self.batch] for k, a in zip(DENSITY_INPUTS, flat)}
            out[i : i + self.batch] = self.session.run(None, feed)[0]

        self._map(run, range(0, n, self.batch))
        return out.reshape(shape)

    def log_prob_grid(self, log10_prot, bp_rp0, bp_rp0_err, grid, outlier_weight: float | None = None) -> np.ndarray:
        """Mixture log density of each star (rows) at each grid age (columns), float32.

        Same values as ``log_prob`` on broadcast (stars x grid) inputs, but the
        inputs of each onnxruntime call are built per block of stars, so no
        (stars x grid) input copies are held in memory.
        """
        prot, colour, err = (np.asarray(a, dtype=np.float32).reshape(-1) for a in (log10_prot, bp_rp0, bp_rp0_err))
        g = np.asarray(grid, dtype=np.float32).reshape(-1)
        n, m = prot.size, g.size
        out = np.empty((n, m), dtype=np.float32)
        per = max(1, self.batch // max(m, 1))  # stars per call
        w = self.outlier_weight if outlier_weight is None else outlier_weight

        def run(i: int) -> None:
            j = min(i + per, n)
            k = j - i
            feed = dict(zip(DENSITY_INPUTS, (np.repeat(prot[i:j], m), np.tile(g, k),
                                             np.repeat(colour[i:j], m), np.repeat(err[i:j], m))))
            lp = self.session.run(None, feed)[0].reshape(k, m)
            out[i:j] = mix_outlier(lp, w, self.outlier_log_density)

        self._map(run, range(0, n, per))
        return out

    def on_one_thread(self) -> FlowDensity:
        """This density on the same session, its batches run on the calling thread.

        For callers that already run one block of stars per CPU (``estimate``'s grid
        blocks): handing each batch to the pool and waiting costs them about 5%.
        Outputs are the same: the batches are.
        """
        if self.threads <= 1:
            return self
        # not copy.copy: it goes through __reduce__, which loads the model again
        twin = object.__new__(FlowDensity)
        twin.__dict__.update(self.__dict__)
        twin.threads, twin._pool, twin._pool_lock = 1, None, threading.Lock()
        return twin

    def _map(self, fn, starts) -> None:
        starts = list(starts)
        if self.threads <= 1 or len(starts) <= 1:
            for i in starts:
                fn(i)
            return
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="gyroage-ort")
        # onnxruntime releases the GIL in run(), so the threads really run in parallel.
        for _ in self._pool.map(fn, starts):
            pass

    def __reduce__(self):
        # A session cannot be pickled: ship how to load it, and let each process
        # load it once (Dask workers, process pools).
        return cached_density, (self._source, self._threads_arg, self.batch, self._check)

    def log_prob(self, log10_prot, log10_age, bp_rp0, bp_rp0_err, outlier_weight: float | None = None) -> np.ndarray:
        """Mixture log density: (1 - w) flow + w uniform in log10 Prot over the card's range."""
        lp = self.log_prob_flow(log10_prot, log10_age, bp_rp0, bp_rp0_err)
        return mix_outlier(lp, self.outlier_weight if outlier_weight is None else outlier_weight,
                           self.outlier_log_density)


def underflow_ignored(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` run with numpy's default for underflow (ignored), whatever the caller's ``np.seterr``.

    Densities far in a posterior's tail underflow to 0 in exp and matmul, as they should; a pipeline's
    ``np.seterr(all="raise")`` turned that into a FloatingPointError. Only the reporting changes, never a number.
    """
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with np.errstate(under="ignore"):
            return fn(*args, **kwargs)

    return wrapper


def as_density(model) -> FlowDensity:
    """``model`` itself when a :class:`FlowDensity`, an :class:`~gyroage.AgeModel`'s ``.density``; anything else a
    one-line TypeError (a deep AttributeError, 'AgeModel' has no 'log_prob_grid', said nothing of what to pass)."""
    if isinstance(model, FlowDensity):
        return model
    inner = getattr(model, "density", None)
    if isinstance(inner, FlowDensity):
        return inner
    raise TypeError("density must be a FlowDensity (AgeModel.load().density) or an AgeModel, "  # the callers' name
                    f"not {type(model).__name__}")


def check_threads(threads, option: str | None = None) -> int:
    """``threads`` as an int (0 for None: the CPUs available, :func:`default_threads`); a TypeError for anything but
    a whole number (``int(2.5)`` quietly ran 2, "2" ran too) and a ValueError below 0.

    ``option``: the command line's (``--threads``), which refuses a negative in one line (:class:`UserError`) in its
    words, estimate and group-age alike, before the model loads.
    """
    if threads is None:
        return 0
    whole_number(threads, option or "threads")
    if threads < 0:
        if option is not None:
            raise UserError(f"{option} must be >= 0 (0: the CPUs available)")
        raise ValueError("threads must be >= 0 (0 or None: the CPUs available)")
    return int(threads)


_CACHE: dict[tuple, FlowDensity] = {}
_CACHE_LOCK = threading.Lock()
# Every density that may hold a thread pool, for _after_fork (weak: a density is not kept alive for it).
_LIVE: weakref.WeakSet[FlowDensity] = weakref.WeakSet()


def _after_fork() -> None:
    """In a forked child: forget the parent's thread pools and locks.

    A child inherits a started pool without its threads (fork copies only the calling thread): its first batch
    waited forever for a worker that does not exist (a model used once in the parent hung every
    ``multiprocessing`` fork worker). A lock some parent thread held at the fork would never be released either.
    Runs while the child still has one thread, so nothing races it.
    """
    global _CACHE_LOCK
    _CACHE_LOCK = threading.Lock()
    for density in list(_LIVE):
        density._pool, density._pool_lock = None, threading.Lock()  # the next batch starts a new pool


if hasattr(os, "register_at_fork"):  # POSIX; elsewhere there is no fork to recover from
    os.register_at_fork(after_in_child=_after_fork)


def cached_density(model: str | Path | None = None, threads: int | None = None, batch: int = DEFAULT_BATCH,
                   check: bool = True) -> FlowDensity:
    """One :class:`FlowDensity` per process and argument set (what unpickling returns)."""
    key = (str(model) if model is not None else None, threads, int(batch), bool(check))
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = FlowDensity(model, threads=threads, batch=batch, check=check)
        return _CACHE[key]


def check_outlier_weight(weight: float | None, option: str = "--outlier-weight", card_default: bool = True) -> None:
    """Refuse an outlier mixture weight that is not a number in [0, 1), in the words of its command-line ``option``.

    ``None`` stands for the card's weight where ``card_default`` (estimate, group-age, the API); settings that hold
    the weight itself (validate's) pass ``card_default=False``.
    """
    if weight is None and card_default:
        return
    if not (isinstance(weight, numbers.Real) and 0 <= weight < 1):  # NaN fails the comparison too
        raise UserError(f"{option} must be in [0, 1)")


def mix_outlier(lp: np.ndarray, weight: float, outlier_log_density: float) -> np.ndarray:
    """log((1 - w) exp(lp) + w u): the flow mixed with the uniform outlier density u, in lp's float type."""
    if weight <= 0:
        return lp
    lp = np.asarray(lp)
    dt = lp.dtype.type if lp.dtype in (np.float32, np.float64) else np.float64
    # One exp and one log, 4x faster than logaddexp. A density per dex of period never nears exp's
    # float32 overflow (lp > 88); the clip only guards against it.
    out = np.exp(np.minimum(lp, dt(80.0)), dtype=dt)
    out *= dt(1.0 - weight)
    out += dt(weight * np.exp(outlier_log_density))
    return np.log(out, out=out)


def card_from_session(session, path: str | Path) -> ModelCard:
    """The card embedded in the metadata of the ONNX file ``session`` was made from (``path``, for messages)."""
    meta = session.get_modelmeta().custom_metadata_map
    if METADATA_KEY not in meta:
        raise ModelError(f"{path} carries no gyroage model card in its metadata")
    raw = json.loads(meta[METADATA_KEY])
    refuse_newer_format(raw, f"in {path}")
    return ModelCard.from_dict(raw)
