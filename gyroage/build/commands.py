"""The build-time commands, ``gyroage train``, ``export`` and ``validate``, registered on the CLI's app.

Thin wrappers over :mod:`gyroage.build`; torch and onnx are imported inside
them, after a one-line check that they are installed.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Optional

import typer

from gyroage.cli_options import OptionalSeedOpt, QuietOpt, comma_list
from gyroage.defaults import OUTLIER_WEIGHT
from gyroage.errors import UserError
from gyroage.files import json_text

CatalogueOpt = Annotated[Optional[Path], typer.Option("--catalogue", "--catalog", help="Rotator catalogue, in any "
                                                      "format estimate reads (CSV, Parquet, FITS, ...; default: "
                                                      "$GYROAGE_CATALOG, else ../shared/data/open_cluster_rotators.csv "
                                                      "beside the checkout). Columns cluster, Prot (d), BPRP_0, "
                                                      "e_BPRP_0, fiducial_age_Myr (Myr): these names, case ignored.")]


def train(
    out: Annotated[Path, typer.Option("--out", help="Directory for the checkpoint and training record.")],
    catalogue: CatalogueOpt = None,
    seed: OptionalSeedOpt = None,
    max_epochs: Annotated[Optional[int], typer.Option(
        help="Epoch cap (default: --config's max_epochs, else 300 with --config; without --config, the shipped card's "
        "training settings').")] = None,
    exclude: Annotated[Optional[list[str]], typer.Option(
        "--exclude", help="Leave this cluster out of training (repeatable; recorded as the settings' "
        "exclude_clusters).")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", help="JSON of training settings over the code's "
                                                   "defaults, its seed and max_epochs unless given (default: the "
                                                   "shipped model's, its card's training settings, as validate's; "
                                                   "README, Retraining).")] = None,
    export_to: Annotated[Optional[Path], typer.Option("--export", help="Also export ONNX + card to this directory.")] = None,
    force: Annotated[bool, typer.Option("--force", help="With --export: replace a model whose card holds a "
                                        "calibration, main-sequence term or validation (they are lost).")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Train the flow on the open-cluster catalogue with the shipped model's settings unless --config (needs the
    'train' extra: torch)."""
    # TrainSettings checks these too, but it needs torch: a bad option is named first, with or without the extra
    if seed is not None and seed < 0:
        raise UserError("--seed must be >= 0")
    _check_max_epochs(max_epochs)
    if force and export_to is None:  # it was ignored without a word: the user believed something was forced
        raise UserError("--force replaces a model in --export's directory: give it with --export DIR, or leave it "
                        "out (--out needs no --force: train replaces an earlier run there, and refuses only a file or a broken "
                        "symbolic link)")
    _need("torch", "onnx")
    from gyroage.build.catalogue import (
        check_excluded,
        default_catalogue_path,
        match_clusters,
        training_set,
        val_clusters_notice,
    )
    from gyroage.build.export import save_checkpoint
    from gyroage.build.loco_checks import read_hashed
    from gyroage.build.training import (
        TrainSettings,
        check_normalisation,
        kept_for_training,
        normalisation,
        train_flow,
        train_info,
    )

    # The settings first: a bad --config or --max-epochs fails in one line before the catalogue is read.
    _check_out_dir(out, "--out")
    if export_to is not None:
        _check_out_dir(export_to, "--export")
        _refuse_replacing_model(export_to, "--export", force)
    shipped, overrides = _shipped_settings() if config is None else (None, None)
    if shipped is not None:  # the shipped note tells of the shipped model's studies, not of this one
        note = "gyroage train without --config: the shipped model's settings (its card's training.settings)"
    else:
        overrides, note = _read_config(config)
    _refuse_unknown(overrides, config or shipped)
    source = _settings_source(config, shipped, shipped=True)
    settings = _train_settings(TrainSettings.from_dict, {**overrides, **_given(seed=seed, max_epochs=max_epochs)},
                               source)
    path = catalogue or default_catalogue_path()
    # its reasons worked out once (notices, rows trained on, refusals, summary); the hash is of the bytes read
    selection, catalog_sha = read_hashed(path)
    frame = selection.frame
    if frame.empty:  # training divided by the number of stars
        raise UserError(f"no star of rotator catalogue {path} passes the quality selection ({selection.applied}; "
                        "colour, colour error, age and a positive period given)")
    left_out = selection.clusters_left_out
    check_excluded(settings.exclude_clusters, frame["cluster"], left_out, source)  # all of them too
    configured = settings.exclude_clusters
    if exclude:
        exclude = match_clusters(exclude, frame["cluster"], left_out)  # as validate --clusters reads them
        # into the settings, not dropped here: the card records them, and validate's folds leave them out too
        settings = replace(settings, exclude_clusters=tuple(dict.fromkeys([*settings.exclude_clusters, *exclude])))
    if frame["cluster"].isin(settings.exclude_clusters).all():  # --exclude's doing: the config's alone is refused above
        whose = f"exclude_clusters in {source} and --exclude: " if configured else ""
        raise UserError(f"--exclude leaves no star to train on ({whose}{', '.join(settings.exclude_clusters)})")
    data = training_set(frame)
    kept = kept_for_training(data, settings)
    check_normalisation(normalisation(kept, None), kept, settings.flow.use_colour_err)  # as train_flow refuses, first
    if not quiet:  # after the refusals: a refused run's stderr is its one line
        typer.echo(f"train: {selection.summary()}", err=True)
    capped = val_clusters_notice(kept, settings.n_val_clusters, settings.max_epochs)  # validate's words for its folds
    if capped:
        typer.echo(f"train: {capped}", err=True)
    try:
        result = train_flow(data, settings, quiet=quiet)
    except BaseException:  # a NaN stop, Ctrl-C: export --checkpoint must not take --out's earlier model for this one
        _set_aside_earlier_run(out)
        raise
    out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(result.model, out / "flow.pt")
    info = train_info(result, data, str(path), catalog_sha, selection.applied)
    if note:
        info["note"] = note
    (out / "train.json").write_text(json_text(info, indent=2) + "\n")  # val_nll is inf without validation clusters
    if not quiet:
        # said at the end: before training it would be a second line beside a refusal of the catalogue
        which = (f"; the shipped model's settings (its card's training.settings, {shipped}), --config FILE for others"
                 if shipped else "")
        typer.echo(f"train: wrote {out / 'flow.pt'} ({result.seconds:.0f} s{which})", err=True)
    if export_to is not None:
        _export(out, export_to, quiet)


def _shipped_settings() -> tuple[Path, dict]:
    """(the shipped model's card, in a checkout or a wheel, and its ``training.settings``): what ``train`` trains
    without --config, as ``validate`` validates without one (the code's defaults are not the shipped model's: README,
    Model). One source: a train-config.json beside the card stayed as it was when a candidate was exported over it."""
    from gyroage.core.modelcard import CARD_FILE, default_model_dir, load_card

    card, model_dir = load_card(default_model_dir(), verify=False)
    settings = card.training.get("settings")
    if not isinstance(settings, dict) or not settings:
        raise UserError(f"the shipped model's card {model_dir / CARD_FILE} records no training settings: give "
                        "--config FILE")
    return model_dir / CARD_FILE, dict(settings)


def _set_aside_earlier_run(out: Path) -> None:
    """Rename an earlier run's flow.pt and train.json in ``out`` to flow.previous.pt and train.previous.json, with a
    notice: a failed run writes neither, and left in place they would pass for its result."""
    moved = []
    for name, aside in (("flow.pt", "flow.previous.pt"), ("train.json", "train.previous.json")):
        if (out / name).is_file():
            (out / name).replace(out / aside)
            moved.append(f"{name} to {aside}")
    if moved:
        typer.echo(f"train: this run wrote no checkpoint; renamed the earlier run's {' and '.join(moved)} in {out}",
                   err=True)


def export(
    checkpoint: Annotated[Optional[Path], typer.Option("--checkpoint", help="Directory written by 'gyroage train'.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Model directory to write (ONNX + card).")] = Path("models"),
    outlier_weight: Annotated[Optional[float], typer.Option(help=f"Outlier mixture weight recorded in the card "
                                                            f"(default {OUTLIER_WEIGHT:g}; with --checkpoint only).")] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Rewrite --out's graphs from its own gyroage-flow.pt, "
                                          "keeping its card (training record, validation).")] = False,
    posterior_only: Annotated[bool, typer.Option("--posterior-only", help="Rebuild --out's posterior graph from its "
                                                 "density graph and card alone (needs onnx, not torch).")] = False,
    force: Annotated[bool, typer.Option("--force", help="With --checkpoint: replace a model whose card holds a "
                                        "calibration, main-sequence term or validation (they are lost).")] = False,
    trust_checkpoint: Annotated[bool, typer.Option("--trust-checkpoint", help="With --rebuild: take gyroage-flow.pt "
                                                   "as the card's flow where it cannot be checked (no SHA-256 "
                                                   "recorded, the density graph missing or unreadable).")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Export a trained flow to ONNX with its model card (needs the 'train' extra)."""
    if (checkpoint is not None) + rebuild + posterior_only != 1:
        raise UserError("give exactly one of --checkpoint DIR, --rebuild or --posterior-only")
    if outlier_weight is not None and checkpoint is None:
        # A rebuild keeps the card, whose calibration and validation were fitted with its weight: applying another
        # here would leave them describing a model that no longer exists.
        how = "--rebuild" if rebuild else "--posterior-only"
        raise UserError(f"{how} keeps the card's outlier weight (its calibration was fitted with it): to change it, "
                        "export from the training run: gyroage export --checkpoint RUN --out DIR --outlier-weight W")
    if force and checkpoint is None:  # ignored without a word, as train's without --export
        how = "--rebuild" if rebuild else "--posterior-only"
        raise UserError(f"--force replaces a model in --out with --checkpoint's: {how} keeps the card, leave --force "
                        "out")
    if trust_checkpoint and not rebuild:  # it vouches for --out's own gyroage-flow.pt, which only --rebuild reads
        raise UserError("--trust-checkpoint vouches for --out's gyroage-flow.pt, which only --rebuild reads: leave it "
                        "out")
    outlier_weight = OUTLIER_WEIGHT if outlier_weight is None else outlier_weight
    _check_out_dir(out, "--out")
    if checkpoint is not None:  # --rebuild and --posterior-only keep the card
        _refuse_replacing_model(out, "--out", force)
    from gyroage.core.density import check_outlier_weight

    # the card loader's own range: a weight outside it wrote a card that every later load refused
    check_outlier_weight(outlier_weight, "--outlier-weight", card_default=False)
    if posterior_only:
        _need("onnx", why="posterior-graph rebuilds", install="pip install onnx")
        from gyroage.build.posterior_graph import regenerate

        path = regenerate(out)
    else:
        _need("torch", "onnx")
        if rebuild:
            from gyroage.build.export import reexport

            path = reexport(out, trust_checkpoint=trust_checkpoint)
        else:
            path = _export(checkpoint, out, quiet, outlier_weight)
    if not quiet:
        typer.echo(f"export: wrote {path}", err=True)


def _export(checkpoint: Path, out: Path, quiet: bool, outlier_weight: float = OUTLIER_WEIGHT) -> Path:
    from gyroage.build.export import card_from_training, export_model, load_checkpoint

    ck, info = checkpoint / "flow.pt", checkpoint / "train.json"
    if not ck.is_file() or not info.is_file():
        raise UserError(f"{checkpoint} holds no flow.pt and train.json (run 'gyroage train' first)")
    card = card_from_training(json.loads(info.read_text()), outlier_weight)
    path = export_model(load_checkpoint(ck), out, card, checkpoint=ck)
    if not quiet:
        typer.echo(f"export: ONNX/torch parity {card.metrics['onnx_torch_max_abs_logp']:.2e}", err=True)
    return path


def validate(
    catalogue: CatalogueOpt = None,
    clusters: Annotated[Optional[list[str]], typer.Option("--clusters", help="Only these clusters (repeatable or a,b; "
                                                          "case, spaces, hyphens and underscores ignored: 'NGC 6811', "
                                                          "'Sco-Cen').")] = None,
    out: Annotated[Path, typer.Option("--out", help="Directory for folds and tables (resumable).")] = Path("validation"),
    jobs: Annotated[int, typer.Option(help="Folds trained in parallel (one torch thread each).")] = 2,
    min_members: Annotated[int, typer.Option(help="Smallest cluster validated.")] = 20,
    seed: OptionalSeedOpt = None,  # the training seed of every fold
    extra_seeds: Annotated[Optional[list[str]], typer.Option(
        "--extra-seeds", help="Also run these training seeds (repeatable or 1,2): their spread goes into the summary's "
        "loco_by_seed; every other figure stays --seed's.")] = None,
    max_epochs: Annotated[Optional[int], typer.Option(
        help="Epoch cap per fold (default: --config's max_epochs, else 300 with --config; without --config, the "
        "card's training settings').")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", help="JSON of training settings over the defaults, "
                                                   "as 'train' reads it (default: the model card's settings).")] = None,
    outlier_weight_star: Annotated[Optional[float], typer.Option(help="Outlier weight for individual stars (default: the card's).")] = None,
    outlier_weight_group: Annotated[Optional[float], typer.Option(help="Outlier weight for joint ages (default: the card's).")] = None,
    write_card: Annotated[Optional[Path], typer.Option("--write-card", help="Write the summary into this model dir's JSON card "
                                                       "(its star figures uncalibrated unless --fit-calibration, which "
                                                       "scores them with the calibration it fits and writes that too).")] = None,
    force: Annotated[bool, typer.Option(help="With --write-card: write even if the model's training settings or data differ.")] = False,
    keep_folds: Annotated[bool, typer.Option("--keep-folds", help="Reuse saved folds trained by another gyroage (its "
                                             "source differs; said in one line), rather than train them again.")] = False,
    fit_calibration: Annotated[bool, typer.Option("--fit-calibration", help="Fit the calibration's young-age level scale to the "
                                                  "held-out posteriors (the widths are constants, group-age's come from "
                                                  "benchmarks/group_calibration.py; README, Retraining). With --write-card: "
                                                  "into the card; then gyroage export --rebuild.")] = False,
    main_sequence: Annotated[Optional[bool], typer.Option(
        "--main-sequence/--no-main-sequence", help="Date held-out stars with the main-sequence height term too, fitted "
        "in each fold without the held-out cluster; with --fit-calibration the stars it informs take the card's "
        "main_sequence.calibration (joint ages stay rotation's). Default: on when the card holds a term.")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Leave-one-cluster-out validation: retrain without each cluster, score its stars and joint age."""
    _check_max_epochs(max_epochs)
    _check_out_dir(out, "--out")
    if jobs < 1:  # ran with "0 processes"
        raise UserError(f"--jobs must be 1 or more, not {jobs}")
    if min_members < 1:  # -1 was accepted and recorded in the summary: every cluster, as 1 gives it
        raise UserError(f"--min-members must be 1 or more, not {min_members}")
    if force and write_card is None:  # it was ignored without a word, and README said it retrained folds: it never did
        raise UserError("--force writes the summary into --write-card's card whatever differs: give it with --write-card "
                        "DIR, or leave it out (saved folds of another catalogue or gyroage are trained again without it)")
    from gyroage.core.density import check_outlier_weight

    for option, weight in (("--outlier-weight-star", outlier_weight_star), ("--outlier-weight-group", outlier_weight_group)):
        check_outlier_weight(weight, option)  # up front, as estimate's (not after the card loads and the folds are set up)
    _need("torch", "onnx")
    from gyroage.build.catalogue import default_catalogue_path
    from gyroage.build.loco import ValidateSettings, run_loco
    from gyroage.build.loco_card import settings_differences, write_card_validation
    from gyroage.build.loco_checks import catalogue_record, refuse_other_catalogue, refuse_other_settings
    from gyroage.build.loco_fold import full_train_dict
    from gyroage.core.main_sequence import MainSequenceTerm, require_term
    from gyroage.core.modelcard import CARD_FILE, load_card, stale_since

    path = catalogue or default_catalogue_path()
    names = comma_list(clusters)
    try:
        more = tuple(int(v) for v in comma_list(extra_seeds))
    except ValueError:
        raise UserError(f"--extra-seeds takes whole numbers separated by commas, not {','.join(extra_seeds)!r}") from None
    if (seed is not None and seed < 0) or any(k < 0 for k in more):  # numpy's generators refuse them, deep in a fold's worker
        raise UserError("--seed and --extra-seeds must be >= 0")
    card, card_dir = load_card(write_card, verify=True)
    extra, _ = _read_config(config)
    _refuse_unknown(extra, config)
    # A --config means what it means to train: its settings over the code defaults (over the card's, a config that
    # leaves a setting out validated the card's value but trained the default). Without one: the card's settings.
    base = extra if config is not None else {k: v for k, v in card.training.get("settings", {}).items()
                                             if k not in ("seed", "threads")}
    source = _settings_source(config, card_dir / CARD_FILE, shipped=write_card is None)
    train = _train_settings(full_train_dict, {**base, **_given(seed=seed, max_epochs=max_epochs)}, source)
    if write_card is not None and not force:  # before any fold trains, not after all of them
        differences = settings_differences(card.training.get("settings", {}), train)
        if differences:
            refuse_other_settings(write_card, differences)
        if path.is_file():  # a missing catalogue is the run's to name
            refuse_other_catalogue(write_card, card.training.get("catalog"), catalogue_record(path))
        held = (card.validation or {}).get("min_members", min_members)  # a card's figures are of >= this many members
        if held != min_members:
            raise UserError(f"--write-card {write_card}: its validation held out clusters of {held} or more selected "
                            f"members, this run of {min_members} (--min-members): validate with --min-members {held} "
                            "(or use --force to write anyway)")
    w = float(card.outlier["weight"])
    if main_sequence:
        require_term(card)
    has_term = MainSequenceTerm.from_card(card) is not None
    use_term = has_term if main_sequence is None else main_sequence
    term_calibration = (card.main_sequence or {}).get("calibration") if use_term and fit_calibration else None
    settings = ValidateSettings(train=train, min_members=min_members,
                                grid=(card.age_grid["log10_age_min"], card.age_grid["log10_age_max"], card.age_grid["n"]),
                                outlier_weight_star=w if outlier_weight_star is None else outlier_weight_star,
                                outlier_weight_group=w if outlier_weight_group is None else outlier_weight_group,
                                jobs=jobs, main_sequence=use_term, main_sequence_asked=bool(main_sequence),
                                main_sequence_calibration_dict=term_calibration or {}, train_source=source,
                                keep_folds=keep_folds, whole_for=str(write_card or "") if not force else "")
    summary = run_loco(path, out, names or None, settings, quiet=quiet, fit_calibration=fit_calibration,
                       extra_seeds=more)
    if write_card is not None:
        p = write_card_validation(write_card, summary, force=force)
        if not quiet:
            # which figures: without --fit-calibration they are not those of the card's calibrated estimates
            how = ("calibrated with the calibration fitted here" if fit_calibration else
                   "uncalibrated, unlike the card's estimates: --fit-calibration scores them calibrated")
            typer.echo(f"validate: wrote the validation summary into {p} (star figures {how})", err=True)
        # the posterior graphs embed the calibration: stale until rebuilt (said even with -q), but an identical refit
        # leaves them as they are
        if fit_calibration and stale_since(load_card(write_card)[0], card.calibration):
            typer.echo(f"validate: the card's calibration changed: run 'gyroage export --rebuild --out {write_card}' "
                       "to rebuild its graphs from it", err=True)


def _check_out_dir(path: Path, option: str) -> None:
    """Refuse, in one line, an output directory that cannot be one (a file, or under a file): found only when the
    model was written, after training, it was a traceback and the trained model was lost. A broken symbolic link
    (which does not exist, so passed) is refused too: mkdir ended in FileExistsError. So is a directory where nothing
    can be written (read-only, no permission): the probe makes and removes an empty folder there, leaving no trace."""
    for p in (path, *path.parents):
        if p.is_symlink() and not p.exists():
            raise UserError(f"{option} {path}: {p} is a broken symbolic link (to {os.readlink(p)}): remove it or give "
                            "another directory")
        if p.exists():
            if not p.is_dir():
                raise UserError(f"{option} {path}: {p} is a file, not a directory")
            try:
                os.rmdir(tempfile.mkdtemp(prefix=".gyroage-probe-", dir=p))
            except OSError as exc:
                what = "cannot write in it" if p == path else f"cannot create the directory in {p}"
                raise UserError(f"{option} {path}: {what} ({exc.strerror or exc})") from None
            return


def _refuse_replacing_model(out: Path, option: str, force: bool) -> None:
    """Refuse, in one line naming what would be lost, to export over a model whose card holds a calibration,
    main-sequence term or validation (the shipped model's does): the new card holds none of them, and the README's
    retraining command once wrote over models/ without a word."""
    from gyroage.core.modelcard import CARD_FILE

    if force or not (out / CARD_FILE).is_file():
        return
    try:
        card = json.loads((out / CARD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # not a card this check can read: the export replaces it as before
        return
    held = [what for key, what in (("calibration", "a calibration"), ("main_sequence", "a main-sequence term"),
                                   ("validation", "a validation")) if isinstance(card, dict) and card.get(key)]
    if held:
        named = held[0] if len(held) == 1 else f"{', '.join(held[:-1])} and {held[-1]}"
        raise UserError(f"{option} {out} holds a model whose card has {named}, which this export would lose: "
                        "export to another directory (then estimate --model DIR), or give --force")


def _check_max_epochs(max_epochs: int | None) -> None:
    """--max-epochs 0 or below trained nothing and still wrote a model (exit 0)."""
    if max_epochs is not None and max_epochs < 1:
        raise UserError(f"--max-epochs must be at least 1, not {max_epochs}")


def _settings_source(config: Path | None, card: Path | None, shipped: bool) -> str:
    """Where the training settings came from, as a refusal of them names it: ``--config FILE``, else the card's
    ``training.settings`` (the shipped card's, or ``validate --write-card``'s); a message naming a config the user
    never gave sent them looking for one."""
    if config is not None:
        return f"--config {config}"
    return f"the {'shipped ' if shipped else ''}card's training.settings ({card})"


def _train_settings(make, overrides: dict, source: str):
    """``make(overrides)`` (TrainSettings or its dict), its refusal one line naming the key and where it came from
    (:func:`_settings_source`)."""
    try:
        return make(overrides)
    except (TypeError, ValueError) as exc:  # an unknown key, or a value of the wrong type or out of range
        raise UserError(f"bad training settings in {source}: {exc}") from None


def _given(**options) -> dict:
    """The options the user gave (not None): a command-line default must not override a --config file's value."""
    return {k: v for k, v in options.items() if v is not None}


def _read_config(config: Path | None) -> tuple[dict, str | None]:
    """A ``--config`` file's TrainSettings overrides and its ``note`` (why these settings; the card records it)."""
    if config is None:
        return {}, None
    repeats: list[str] = []
    try:
        # a BOM, as Windows editors write, is fine; a key written twice is not (json keeps the last without a word)
        overrides = json.loads(config.read_text(encoding="utf-8-sig"), object_pairs_hook=_once(config, repeats))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read --config {config}: {exc}") from None
    if not isinstance(overrides, dict) or not isinstance(overrides.get("flow", {}), dict):
        raise UserError(f"--config {config} must hold a JSON object of training settings (its 'flow' an object too)")
    if repeats:  # after the shape: mending a repeat inside an array would only reveal that refusal (review V58, 3)
        raise UserError(repeats[0])
    note = overrides.pop("note", None)
    return overrides, note


# the keys of a calibration file (benchmarks/candidates/*-calibration*.json, a card's calibration section)
CALIBRATION_KEYS = ("colour_knots", "age_knots", "widths", "log10_age_knots", "sigma_dex", "level_knots",
                    "level_scale")


def _once(config: Path, repeats: list[str]):
    """A json ``object_pairs_hook`` appending to ``repeats`` the one-line refusal of a key written twice in one object
    of ``config`` (a value appended to a copied config, or the first of two edited: the setting trained was not the
    one meant)."""
    def pairs(items: list[tuple]) -> dict:
        seen: dict = {}
        for key, value in items:
            if key in seen:
                repeats.append(f"--config {config} sets {key!r} twice ({json.dumps(seen[key])} and "
                               f"{json.dumps(value)}): keep one")
            seen[key] = value
        return seen
    return pairs


def _refuse_unknown(overrides: dict, config: Path | None) -> None:
    """A --config key that is no training setting, one line naming it, the file and the known ones (not Python's
    "unexpected keyword argument"): a misspelt key would otherwise be the only sign the setting was not applied."""
    from dataclasses import fields

    from gyroage.build.training import TrainSettings, unknown_setting_text

    unknown = unknown_setting_text(overrides, f" in {config}")
    if unknown and {"format_version", "training"} <= set(overrides):  # two keys no training config has
        # the card's first key read as a typo ("unknown setting 'age_grid'"): its settings are two levels down
        raise UserError(f"--config {config} is a model card, not training settings (those it was trained with are "
                        "its 'training.settings'): give a training config (models/train-config.json, "
                        "benchmarks/candidates/relabel.json, ...)")
    found = [k for k in overrides if k in CALIBRATION_KEYS]
    if unknown and found and not {f.name for f in fields(TrainSettings)} & set(overrides):
        # benchmarks/candidates holds both kinds: "unknown setting 'colour_knots' (did you mean 'colour_jitter'?)"
        # read as a typo of a training key (review V55, 6)
        raise UserError(f"--config {config} holds a calibration ({', '.join(found)}), not training settings: give a "
                        "training config (models/train-config.json, benchmarks/candidates/relabel.json, ...)")
    if unknown and found:  # mixed with training keys (or only 'flow'): still no typo of one (review V58, 2)
        rest = unknown_setting_text({k: v for k, v in overrides.items() if k not in found}, f" in {config}")
        raise UserError(f"--config {config} holds a calibration's keys ({', '.join(found)}) beside its training "
                        f"settings: they are not training settings, remove them{f'; and {rest}' if rest else ''}")
    if unknown:
        raise UserError(unknown)


def _need(*modules: str, why: str = "training and export",
          install: str = "pip install torch==2.13.0 'gyroage[train]'") -> None:
    """A one-line error, not a traceback, when an optional build dependency is missing."""
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise UserError(f"{why} need {' and '.join(modules)}: {install}")

