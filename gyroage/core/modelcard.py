"""The model card: what a shipped model is, where its files are, and their integrity.

The card is JSON beside the ONNX files (``gyroage-model.json``) and is also
embedded in each ONNX file's metadata under ``gyroage_model_card``, so a
graph describes itself wherever it is copied.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

from gyroage.core.calibration import Calibration
from gyroage.defaults import AGE_GRID
from gyroage.errors import ModelError
from gyroage.files import atomic_write_text, json_text

CARD_FILE = "gyroage-model.json"
DENSITY_FILE = "gyroage-density.onnx"
POSTERIOR_FILE = "gyroage-posterior.onnx"
POSTERIOR_MAG_FILE = "gyroage-posterior-mag.onnx"  # with magnitudes: the main-sequence term too
POSTERIOR_GRAPHS = (POSTERIOR_FILE, POSTERIOR_MAG_FILE)
METADATA_KEY = "gyroage_model_card"
# a posterior graph's files entry: graph_digest of the card it was built from (absent: not checked)
BUILT_FROM = "calibration_sha256"
DENSITY_INPUTS = ("log10_prot", "log10_age", "bp_rp0", "bp_rp0_err")
DENSITY_OUTPUT = "log_prob"
FORMAT_VERSION = 1
UNCALIBRATED = ("the model card has no calibration: age intervals are the flow's alone, "
                "not calibrated by leave-one-cluster-out (README, Retraining)")
"""What ``estimate``, ``group-age`` and :class:`gyroage.AgeModel` say of a card without calibration (as ``train --export``
writes it)."""

# Outlier component: uniform in log10 Prot over 0.03-316 d (recorded in every card).
OUTLIER_LOG10_PROT_RANGE = (-1.5, 2.5)

INPUT_DOC = {
    "log10_prot": "log10 of the rotation period in days",
    "log10_age": "log10 of the age in years",
    "bp_rp0": "de-reddened Gaia DR3 (BP-RP)0, mag",
    "bp_rp0_err": "uncertainty of (BP-RP)0, mag",
    "log_prob": "log density of log10_prot per dex, flow only (no outlier term)",
}


@dataclass
class ModelCard:
    """Everything needed to use and audit a trained model."""

    normalisation: dict[str, float]
    domain: dict[str, list[float]]
    outlier: dict[str, float | list[float]]
    default_bp_rp0_err: float
    training: dict
    flow: dict
    age_grid: dict = field(default_factory=lambda: dict(zip(("log10_age_min", "log10_age_max", "n"), AGE_GRID)))
    metrics: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    validation: dict = field(default_factory=dict)
    # the age-dependent systematic term (core.calibration.Calibration), fitted by leave-one-cluster-out
    calibration: dict = field(default_factory=dict)
    # p(height above the main sequence | colour, age) (core.main_sequence.MainSequenceTerm), fitted to the training
    # clusters' stars, and the calibration of the stars it informs; empty: rotation alone
    main_sequence: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    # the SHA-256 of the card file's bytes as load_card read them (what sha256sum prints; None: a card not read from
    # a file): not a field, so to_dict and the resume fingerprint never hold it
    file_sha256 = None

    def to_dict(self, include_files: bool = True) -> dict:
        d = asdict(self)
        d["inputs"] = {k: INPUT_DOC[k] for k in DENSITY_INPUTS}
        d["output"] = {DENSITY_OUTPUT: INPUT_DOC[DENSITY_OUTPUT]}
        if not include_files:
            d.pop("files")
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelCard:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in names})

    def parity_domain(self) -> dict[str, list[float]]:
        dom = self.domain
        return {
            "log10_prot": dom["log10_prot"], "log10_age": dom["log10_age_trained"],
            "bp_rp0": dom["bp_rp0"], "bp_rp0_err": dom["bp_rp0_err"],
        }


def outlier_log_density(log10_prot_range=OUTLIER_LOG10_PROT_RANGE) -> float:
    """log density per dex of the outlier component, uniform in log10 Prot over ``log10_prot_range``."""
    lo, hi = (float(v) for v in log10_prot_range)
    return -math.log(hi - lo)


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def graph_digest(card: ModelCard, name: str) -> str:
    """SHA-256 of what posterior graph ``name`` takes from the card beside the density graph and is rewritten by
    later steps (``validate --fit-calibration``, ``benchmarks/cmd_term.py --write-card``): the calibration, and for the
    graph with magnitudes the main-sequence term, its calibration and the above-main-sequence bounds."""
    parts: dict = {"calibration": card.calibration or {}}
    if name == POSTERIOR_MAG_FILE:
        ms = card.main_sequence or {}
        parts["main_sequence"] = {k: ms.get(k) or {} for k in ("term", "calibration", "above_flag")}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def stale_graphs(card: ModelCard) -> list[str]:
    """The posterior graphs the card lists as built from another calibration than its own (:func:`graph_digest`);
    a graph listed without a digest (a card written before digests; the shipped card lists one for both) is not
    checked."""
    return [name for name, meta in sorted(card.files.items())
            if meta.get(BUILT_FROM) is not None and meta[BUILT_FROM] != graph_digest(card, name)]


def stale_since(card: ModelCard, before: dict | None) -> bool:
    """Whether writing ``card``'s calibration (it was ``before``) left its posterior graphs behind it: the calibration
    moved, and a graph listed with a digest no longer matches (:func:`stale_graphs`) or one is listed without.

    An identical refit says nothing, whatever the graphs' state: a graph already stale is named at every load
    (:func:`stale_notice`)."""
    if (card.calibration or {}) == (before or {}):
        return False
    undigested = any(name in POSTERIOR_GRAPHS and meta.get(BUILT_FROM) is None for name, meta in card.files.items())
    return bool(stale_graphs(card)) or undigested


def stale_notice(card: ModelCard, model_dir: str | Path) -> str | None:
    """One line naming the stale posterior graphs of ``model_dir`` and the command that rebuilds them, or None."""
    names = stale_graphs(card)
    if not names:
        return None
    return (f"{' and '.join(names)} in {model_dir} {'was' if len(names) == 1 else 'were'} built from another "
            f"calibration than the card's (estimate uses the card's): run 'gyroage export --rebuild --out {model_dir}'")


def model_notes(card: ModelCard, model_dir: str | Path, uncalibrated: bool = True) -> list[str]:
    """What estimate and group-age say of their model on stderr, one line each: a card without calibration
    (``uncalibrated``: when the run's intervals depend on it; group-age's --systematic-dex replaces it), e.g. straight
    from `gyroage train --export`, whose intervals would otherwise read as the shipped ones; and posterior graphs built
    from another calibration than the card's."""
    notes = [UNCALIBRATED] if uncalibrated and not card.calibration else []
    stale = stale_notice(card, model_dir)
    return notes + ([stale] if stale else [])


def write_card(card: ModelCard, out_dir: str | Path, built: tuple[str, ...] = ()) -> Path:
    """Record SHA-256 of every ONNX file in ``out_dir`` and write the card JSON.

    ``built``: the posterior graphs just built from ``card``, whose :func:`graph_digest` is recorded beside their
    SHA-256; an unchanged graph keeps the digest it was built with, so that a calibration written later shows it stale.
    """
    out_dir = Path(out_dir)
    old = card.files if isinstance(card.files, dict) else {}
    files = {}
    for p in sorted(out_dir.glob("*.onnx")):
        entry = {"sha256": sha256(p)}
        if p.name in built:
            entry[BUILT_FROM] = graph_digest(card, p.name)
        elif (old.get(p.name) or {}).get("sha256") == entry["sha256"] and BUILT_FROM in old[p.name]:
            entry[BUILT_FROM] = old[p.name][BUILT_FROM]
        files[p.name] = entry
    card.files = files
    path = out_dir / CARD_FILE
    atomic_write_text(path, json_text(card.to_dict(), indent=2, sort_keys=True) + "\n")
    return path


def default_model_dir() -> Path:
    """The shipped model: inside an installed wheel, else ``models/`` of the checkout."""
    packaged = Path(str(resources.files("gyroage"))) / "_models"
    if (packaged / CARD_FILE).is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / "models"


def resolve_model(path: str | Path | None) -> tuple[Path, Path]:
    """(card path, model dir) for ``path``: a directory, a card JSON, or an ONNX file beside its card."""
    p = Path(path) if path is not None else default_model_dir()
    if p.is_dir():
        card = p / CARD_FILE
    elif p.suffix == ".json":
        card = p
    elif p.suffix == ".onnx":
        # Never fall back to the card's own files when the named graph is absent: that would
        # silently answer with a model the user did not ask for.
        if not p.is_file():
            raise ModelError(f"model file not found: {p}")
        card = p.with_name(CARD_FILE)
    else:
        card = p
    run = p if p.is_dir() else p.parent
    checkpoint = p.suffix == ".pt" and p.is_file()
    if checkpoint and (run / CARD_FILE).is_file():
        raise ModelError(f"{p} is a model's torch checkpoint, not its graphs: give --model {run}")
    if checkpoint or (p.is_dir() and not card.is_file() and (p / "train.json").is_file()):
        # a training run's checkpoint is no model (and read as a card, "'utf-8' codec can't decode byte 0x80")
        raise ModelError(f"{p} is a training run's {'checkpoint' if checkpoint else 'directory'}, not a model: "
                         f"'gyroage export --checkpoint {run} --out DIR' writes one, then --model DIR")
    if not card.is_file():
        raise ModelError(f"model card not found: {card}")
    return card, card.parent


def refuse_newer_format(raw: dict, source: str | Path) -> None:
    """Raise :class:`ModelError` if the card dict ``raw`` (from ``source``) is of a format newer than this gyroage's.

    Checked before any other field: a newer format may lay the card out otherwise, and "upgrade" is the one useful
    answer then (read as this version's, its fields could silently mean something else).
    """
    v = raw.get("format_version", FORMAT_VERSION)
    if isinstance(v, int) and not isinstance(v, bool) and v > FORMAT_VERSION:
        raise ModelError(f"model card {source} has format_version {v}, newer than this gyroage reads "
                         f"({FORMAT_VERSION}): upgrade gyroage to use this model")


def _check_schema(card: ModelCard) -> None:
    """The fields run time relies on, with usable types; raises ValueError/TypeError/KeyError otherwise."""
    v = card.format_version
    if not (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
        raise ValueError("format_version must be a positive integer")
    for key in ("log10_prot", "bp_rp0", "bp_rp0_err"):
        lo, hi = (float(v) for v in card.domain[key])
        if not lo < hi:
            raise ValueError(f"domain.{key} is empty")
    weight = float(card.outlier["weight"])
    lo, hi = (float(v) for v in card.outlier["log10_prot_range"])
    if not (0 <= weight < 1 and lo < hi):
        raise ValueError("outlier weight or range out of bounds")
    if not float(card.default_bp_rp0_err) > 0:
        raise ValueError("default_bp_rp0_err must be positive")
    g = card.age_grid
    if not (float(g["log10_age_min"]) < float(g["log10_age_max"]) and int(g["n"]) >= 3):
        raise ValueError("age_grid is invalid")
    if not isinstance(card.files, dict) or not all(isinstance(m, dict) for m in card.files.values()):
        raise TypeError("files must map file names to {'sha256': ...}")
    _check_calibration(card.calibration, "calibration")
    ms = card.main_sequence
    if ms:
        if not isinstance(ms, dict) or not all(isinstance(ms.get(k) or {}, dict) for k in ("term", "above_flag")):
            raise TypeError("main_sequence must be an object, its term and above_flag objects too")
        _check_calibration(ms.get("calibration"), "main_sequence.calibration")


def _check_calibration(c, where: str) -> None:
    """A card's calibration object: empty (uncalibrated) or one :meth:`Calibration.from_dict` builds (its checks,
    naming the field as ``where``.field); ValueError/TypeError otherwise."""
    Calibration.from_dict(c, where)


def load_card(path: str | Path | None = None, verify: bool = True) -> tuple[ModelCard, Path]:
    """Read a card; with ``verify`` every listed ONNX file must exist and match its SHA-256."""
    card_path, model_dir = resolve_model(path)
    try:
        data = card_path.read_bytes()
        raw = json.loads(data.decode("utf-8"))
        if not isinstance(raw, dict):
            raise TypeError("not a JSON object")
        refuse_newer_format(raw, card_path)
        card = ModelCard.from_dict(raw)
        _check_schema(card)
        card.file_sha256 = hashlib.sha256(data).hexdigest()
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(f"model card {card_path} is not a valid gyroage card: {why}") from None
    except OSError as exc:
        raise ModelError(f"cannot read model card {card_path}: {exc.strerror or exc}") from None
    if verify:
        if DENSITY_FILE not in card.files:
            raise ModelError(f"model card {card_path} lists no {DENSITY_FILE}")
        named = Path(path) if path is not None else None
        if named is not None and named.suffix == ".onnx" and named.name not in card.files:
            raise ModelError(f"{named} is not listed in its model card {card_path}")
        for name, meta in card.files.items():
            f = model_dir / name
            if not f.is_file():
                raise ModelError(f"model file missing: {f}")
            if sha256(f) != meta.get("sha256"):
                raise ModelError(f"model file {f} does not match its card (SHA-256 differs): corrupted or replaced")
    return card, model_dir
