"""The ``gyroage`` command line: thin Typer wrappers over the Python API and engines.

User mistakes (:class:`gyroage.errors.UserError`) print one line and exit 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import warnings
from pathlib import Path
from typing import Annotated, Optional

import typer

from gyroage import statuses
from gyroage.cli_help import PlainHelpGroup
from gyroage.cli_options import (
    MAX_STEPS,
    TABLES,
    WALKERS,
    AgeMaxOpt,
    AgeMinOpt,
    AvErrOpt,
    AvOpt,
    CrossmatchOutputFormatOpt,
    EbprpErrOpt,
    EbprpOpt,
    EbvErrOpt,
    EbvOpt,
    ExactGridOpt,
    GridOpt,
    GroupOutputFormatOpt,
    GroupPriorMeanOpt,
    GroupPriorSigmaOpt,
    InputFormatOpt,
    MainSequenceOpt,
    MaxStepsOpt,
    ModelOpt,
    OutlierOpt,
    OutputFormatOpt,
    OutputOpt,
    PriorMeanOpt,
    PriorOpt,
    PriorSigmaOpt,
    PriorTableOpt,
    QuietOpt,
    SeedOpt,
    WalkersOpt,
    WholeInputFormatOpt,
    comma_list,
    density_and_prior,
    estimate_settings,
    refuse_sampler_options,
)
from gyroage.cli_process import interrupted, on_sigint, on_sigterm, pipe_as_stdin
from gyroage.defaults import CHUNK_ROWS, CROSSMATCH_CACHE_DIR
from gyroage.errors import DISK_FULL, NothingPiped, UserError

app = typer.Typer(
    name="gyroage",
    cls=PlainHelpGroup,  # help shows flags without a value, arguments as INPUT (see gyroage/cli_help.py)
    help="Stellar ages from rotation periods (gyrochronology) with a normalizing flow.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



def user_errors(fn):
    """Turn a UserError into one line on stderr and its exit code (Ctrl-C: "interrupted", exit 130; SIGTERM:
    "terminated (SIGTERM)", exit 143)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            if not isinstance(exc, NothingPiped):  # the command before the pipe has already said why
                typer.echo(f"gyroage: error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except BrokenPipeError:  # stdout's reader stopped (`| head`): a failing stderr never raises (main's guard)
            sys.stderr.close()
            raise typer.Exit(0) from None
        except KeyboardInterrupt as exc:  # Ctrl-C: one line, never a traceback (validate's fold workers are stopped)
            raise typer.Exit(interrupted(exc)) from None
        except OSError as exc:
            if exc.errno not in DISK_FULL:  # anything else is a bug: keep its traceback
                raise
            typer.echo(f"gyroage: error: cannot write output: {exc.strerror}", err=True)
            raise typer.Exit(2) from None

    return wrapper


def _version(value: bool) -> None:
    if not value:
        return
    from gyroage import __version__
    from gyroage.core.modelcard import DENSITY_FILE, load_card
    from gyroage.provenance import card_sha256, density_sha256

    try:
        card, model_dir = load_card(None, verify=False)
        sha = density_sha256(card)
        # the card's SHA-256 (the one to cite) appended: a script reading the line's earlier text still finds it
        typer.echo(f"gyroage {__version__}; model {model_dir} ({DENSITY_FILE} sha256 {sha}); model card sha256 "
                   f"{card_sha256(card)}")
    except Exception as exc:  # a missing model must not hide the version
        typer.echo(f"gyroage {__version__}; model not found ({exc})")
    raise typer.Exit(0)


@app.callback()
def _main(version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True,
                                                          help="Print the version and the shipped model's density "
                                                               "and card SHA-256.")] = None) -> None:
    """Stellar ages from rotation periods (gyrochronology) with a normalizing flow."""


# Generated from gyroage/statuses.py, so the help never lists a status the code does not have.
ESTIMATE_EPILOG = (f"Each row's status column is one of: "
                   f"{', '.join(k for k in statuses.ESTIMATE if k not in statuses.GROUP_ONLY)} (README, 'Statuses'). "
                   "Column names are matched case-insensitively, with the aliases listed in the README, "
                   "'Input columns' (a lower-case e_ prefix is the error of the column it names, as in VizieR; a "
                   "unit may end a name: Prot (d), Per_d).")


@app.command(epilog=ESTIMATE_EPILOG)
@user_errors
def estimate(
    ctx: typer.Context,
    input: Annotated[str, typer.Argument(help=f"{TABLES} table of stars; '-' for stdin.")],
    output: OutputOpt = None,
    input_format: InputFormatOpt = None,
    output_format: OutputFormatOpt = None,
    model: ModelOpt = None,
    seed: SeedOpt = 0,
    prior: PriorOpt = "uniform_log_age",
    prior_mean: PriorMeanOpt = None,
    prior_sigma: PriorSigmaOpt = None,
    prior_table: PriorTableOpt = None,
    method: Annotated[str, typer.Option(help="grid (fast) or mcmc (gyroage's own affine-invariant ensemble sampler, "
                                             "batched over stars, with colour/period errors as nuisance parameters; "
                                             "emcee is the reference backend, from Python only).")] = "grid",
    posteriors: Annotated[Optional[str], typer.Option(help="Also write per-star posteriors (grid pdf or samples) to .parquet.")] = None,
    id_names: Annotated[Optional[list[str]], typer.Option("--id", help="--posteriors: input column(s) naming each star, "
                        "repeatable or comma-separated (default: columns named id, name, source_id, tic, kic...).")] = None,
    walkers: WalkersOpt = WALKERS,
    max_steps: MaxStepsOpt = MAX_STEPS,
    processes: Annotated[int, typer.Option(help="mcmc: worker processes (results do not depend on it).")] = 1,
    age_min_myr: AgeMinOpt = None,
    age_max_myr: AgeMaxOpt = None,
    grid: GridOpt = None,
    exact_grid: ExactGridOpt = False,
    outlier_weight: OutlierOpt = None,
    threads: Annotated[Optional[int], typer.Option(help="Threads running onnxruntime batches in parallel (default: all CPUs; "
                                                           "results do not depend on it).")] = None,
    chunksize: Annotated[int, typer.Option(help="Rows per chunk (memory grows with it, not with the input).")] = CHUNK_ROWS,
    quiet: QuietOpt = False,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run into the same -o file (any output format; a "
                                              "finished one is computed again, with a notice; local engine only, "
                                              "not --engine dask).")] = False,
    engine: Annotated[str, typer.Option(help="local, or dask (Parquet directory out).")] = "local",
    workers: Annotated[Optional[int], typer.Option(help="Dask: local worker processes (default 2).")] = None,
    scheduler: Annotated[Optional[str], typer.Option(help="Dask: address of an existing scheduler.")] = None,
    ebprp: EbprpOpt = None,
    ebprp_err: EbprpErrOpt = None,
    av: AvOpt = None,
    av_err: AvErrOpt = None,
    ebv: EbvOpt = None,
    ebv_err: EbvErrOpt = None,
    main_sequence: MainSequenceOpt = None,
) -> None:
    """Age posteriors for every star of INPUT (columns prot and bp_rp0, or bp_rp with a reddening, teff, v_ks0 or b_v0)."""
    one_blas_thread()
    from gyroage import formats, writers
    from gyroage.core.colours import Reddening
    from gyroage.core.density import check_outlier_weight, check_threads
    from gyroage.core.modelcard import model_notes
    from gyroage.core.priors import grid_step_note
    from gyroage.engines import run_local
    from gyroage.files import is_pipe
    from gyroage.progress import Progress, check_stdout_open
    from gyroage.provenance import command_line

    if quiet:
        # numpy's overflow and invalid-value warnings from the model's code (absurd errors, prot_err 1e300, overflow
        # float32 chains): each such row already carries its status, and -q asks for no notices; forked
        # --processes workers inherit the filter
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"gyroage\.core\.")
    in_fmt = formats.check_format(input_format, "--input-format")
    out_fmt = formats.check_format(output_format, "--output-format")
    if engine == "dask" and is_pipe(input):
        raise UserError(f"--engine dask reads files: input {input} is a pipe (use the local engine)")
    input = pipe_as_stdin(input)
    if chunksize < 1:
        raise UserError("--chunksize must be at least 1")
    refuse_sampler_options(ctx, method)  # before the model loads
    reddening = Reddening(ebprp, ebprp_err, av, av_err, ebv, ebv_err)
    check_threads(threads, "--threads")
    check_outlier_weight(outlier_weight)  # before the model loads
    if engine not in ("local", "dask"):
        raise UserError(f"unknown engine {engine!r} (choose local or dask)")
    if engine == "dask" and posteriors is not None:  # each refusal names the option at fault (review V51, 7)
        raise UserError("--engine dask writes no --posteriors: use --engine local for them")
    if engine == "dask" and resume:
        raise UserError("--engine dask does not --resume: use --engine local to resume a run")
    if engine == "dask" and output is None:
        raise UserError("--engine dask needs -o NAME.parquet: it writes no table to stdout")
    if id_names is not None and posteriors is None:  # before the model loads
        raise UserError("--id names the id columns of the --posteriors file: add --posteriors PATH.parquet")
    if engine == "dask" and (out_fmt not in (None, "parquet")
                             or (input != "-" and formats.input_format(input, in_fmt) not in formats.STREAMING)):
        raise UserError("--engine dask reads CSV or Parquet and writes Parquet")
    writers.check_outputs(input, output, posteriors)  # as group-age: an -o naming the input fails before the model loads
    check_stdout_open(output, *filter(None, [posteriors]))
    if engine == "local":  # a name the output cannot be written under (.mrt, .parquet.gz) too; dask checks its own
        formats.output_format(output, out_fmt)
    density, pri = density_and_prior(model, threads, prior, age_min_myr, age_max_myr, prior_mean, prior_sigma,
                                     prior_table)
    settings = estimate_settings(density, pri, grid, exact_grid, outlier_weight, seed, method, walkers, max_steps,
                                 processes, reddening, main_sequence)  # a refused option's stderr is its one line
    # the grid's own limit only where the ages come from the grid (the sampler's chains are not on it)
    narrow = grid_step_note(pri, settings.n_grid) if settings.method == "grid" else None
    for note in [*model_notes(density.card, density.onnx_path.parent, uncalibrated=True), *filter(None, [narrow])]:
        Progress("estimate", quiet=quiet).log(note)
    if engine == "dask":
        from gyroage.engines import run_dask

        run_dask(input, output, settings, model=model, workers=workers, scheduler=scheduler, chunksize=chunksize,
                 quiet=quiet, command=command_line(ctx))
        return
    ids = None if id_names is None else comma_list(id_names)
    run_local(input, output, density, settings, chunksize=chunksize, quiet=quiet, resume=resume, posteriors=posteriors,
              ids=ids, input_fmt=in_fmt, output_fmt=out_fmt, command=command_line(ctx))


@app.command()
@user_errors
def crossmatch(
    ctx: typer.Context,
    input: Annotated[str, typer.Argument(help=f"Table ({TABLES}) with source_id, tic, kic or ra/dec; '-' for stdin.")],
    output: OutputOpt = None,
    input_format: InputFormatOpt = None,
    output_format: CrossmatchOutputFormatOpt = None,
    id_column: Annotated[Optional[str], typer.Option(help="Identifier column (default: detected by name).")] = None,
    id_type: Annotated[Optional[str], typer.Option(help="gaia, tic, kic or radec (default: from the column name).")] = None,
    radius_arcsec: Annotated[float, typer.Option(help="Cone radius for ra/dec input, arcsec; positions must be at "
                                                      "epoch 2016.0 (no proper motion is applied).")] = 2.0,
    extinction: Annotated[str, typer.Option(help="gspphot, none or column:NAME[:av|ebv|ebprp] (an input column: A_V, "
                                                 "E(B-V) or E(BP-RP) as :KIND or its name says; else E(BP-RP)).")] = "gspphot",
    periods: Annotated[str, typer.Option(help="Period sources in adoption order, comma-separated.")] =
        "mcquillan2014,santos2021,santos2019,holcomb2022,gaiadr3",
    gaia_url: Annotated[Optional[str], typer.Option(help="Gaia TAP server (env GYROAGE_GAIA_TAP_URL).")] = None,
    vizier_url: Annotated[Optional[str], typer.Option(help="VizieR server (env GYROAGE_VIZIER_URL).")] = None,
    mast_url: Annotated[Optional[str], typer.Option(help="MAST server (env GYROAGE_MAST_URL).")] = None,
    cache_dir: Annotated[Optional[Path], typer.Option(
        help="Query cache (else $GYROAGE_CACHE_DIR/crossmatch, else $XDG_CACHE_HOME/gyroage/crossmatch; "
             f"default {CROSSMATCH_CACHE_DIR}).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the query cache.")] = False,
    retries: Annotated[int, typer.Option(help="Attempts per query before giving up.")] = 3,
    backoff: Annotated[float, typer.Option(help="First retry delay, s (doubles each retry).")] = 1.0,
    chunksize: Annotated[int, typer.Option(help="Rows per chunk.")] = 5000,
    quiet: QuietOpt = False,
) -> None:
    """Gaia DR3 colours and TESS/Kepler/Gaia rotation periods for a target list (pipe into 'estimate -')."""
    from gyroage import formats
    from gyroage.crossmatch import CrossmatchSettings, Services, default_cache_dir, run_crossmatch
    from gyroage.progress import check_stdout_open
    from gyroage.provenance import CROSSMATCH_LEFT_OUT, command_line

    in_fmt, out_fmt = formats.check_format(input_format, "--input-format"), formats.check_format(output_format, "--output-format")
    input = pipe_as_stdin(input)
    if id_type is not None and id_type not in ("gaia", "tic", "kic", "radec"):
        raise UserError("--id-type must be gaia, tic, kic or radec")
    if not radius_arcsec > 0:
        raise UserError("--radius-arcsec must be positive")
    check_stdout_open(output)  # before any query is sent
    formats.output_format(output, out_fmt)  # and before stdin is waited for (a pipe's upstream queries all ran)
    services = Services.create(gaia_url, vizier_url, mast_url, None if no_cache else (cache_dir or default_cache_dir()),
                               retries=retries, backoff=backoff)
    sources = tuple(comma_list(periods))
    settings = CrossmatchSettings(extinction=extinction, radius_arcsec=radius_arcsec, sources=sources,
                                  id_column=id_column, id_type=id_type)
    run_crossmatch(input, output, services, settings, chunksize=chunksize, quiet=quiet, input_fmt=in_fmt,
                   output_fmt=out_fmt, command=command_line(ctx, CROSSMATCH_LEFT_OUT))


@app.command("group-age")
@user_errors
def group_age(
    ctx: typer.Context,
    input: Annotated[str, typer.Argument(help=f"Table of stars ({TABLES}) with a group column; '-' for stdin.")],
    by: Annotated[Optional[str], typer.Option("--by", help="Column naming each star's group (cluster, binary, moving "
                                              "group); without it, all rows are one group, named after the file (refused if a "
                                              "cluster or group column holds several values).")] = None,
    output: OutputOpt = None,
    input_format: WholeInputFormatOpt = None,
    output_format: GroupOutputFormatOpt = None,
    membership: Annotated[Optional[str], typer.Option(help="Column of membership probabilities in [0, 1] (a column "
                                                      "in % units: divided by 100).")] = None,
    model: ModelOpt = None,
    prior: PriorOpt = "uniform_log_age",
    prior_mean: GroupPriorMeanOpt = None,
    prior_sigma: GroupPriorSigmaOpt = None,
    prior_table: PriorTableOpt = None,
    age_min_myr: AgeMinOpt = None,
    age_max_myr: AgeMaxOpt = None,
    grid: Annotated[int, typer.Option(help="Age grid points, 50 to 5001 (group posteriors are narrow).")] = 1001,
    outlier_weight: OutlierOpt = None,
    threads: Annotated[Optional[int], typer.Option(help="Threads running onnxruntime batches in parallel (default: all "
                                                           "CPUs; results do not depend on it).")] = None,
    systematic_dex: Annotated[Optional[float], typer.Option(
        help="Systematic error (dex) convolved into group ages, one width at every age (default: the card's widths "
             "by age, from its LOCO validation; 0: none).")] = None,
    quiet: QuietOpt = False,
    ebprp: EbprpOpt = None,
    ebprp_err: EbprpErrOpt = None,
    av: AvOpt = None,
    av_err: AvErrOpt = None,
    ebv: EbvOpt = None,
    ebv_err: EbvErrOpt = None,
    main_sequence: Annotated[bool, typer.Option(
        "--main-sequence/--no-main-sequence",
        help="Also use each member's height above the main sequence (abs_g0, or g0 with parallax). Off by default: "
             "held-out cluster ages were worse with it (docs/validation.md, study 22).")] = False,
) -> None:
    """Joint age of each group of coeval stars: product of member likelihoods, prior applied once."""

    from gyroage import formats, io, writers
    from gyroage.column_notes import membership_unit_note
    from gyroage.core.colours import Reddening, say_input_notes
    from gyroage.core.density import check_threads
    from gyroage.core.group_notes import clipped_text, file_label, label_warnings, repeated_text
    from gyroage.core.groups import check_group_options, default_group_systematic, run_group_ages
    from gyroage.core.main_sequence import require_term
    from gyroage.core.membership import membership_note
    from gyroage.core.modelcard import model_notes
    from gyroage.core.priors import grid_step_note
    from gyroage.core.stars import check_input_columns
    from gyroage.progress import check_stdout_open
    from gyroage.provenance import command_line, group_provenance

    input = pipe_as_stdin(input)  # a pipe's rows are one group as stdin's are, not a group named '63'
    in_choice, out_fmt = formats.check_format(input_format, "--input-format"), formats.check_format(output_format, "--output-format")
    check_group_options(grid, outlier_weight, systematic_dex)  # before the model loads and the input is read
    check_threads(threads, "--threads")
    writers.check_outputs(input, output)
    check_stdout_open(output)
    written = formats.output_format(output, out_fmt)  # refused before the model loads, and before stdin is waited for
    in_fmt = formats.input_format(input, in_choice)
    reddening = Reddening(ebprp, ebprp_err, av, av_err, ebv, ebv_err)
    density, pri = density_and_prior(model, threads, prior, age_min_myr, age_max_myr, prior_mean, prior_sigma,
                                     prior_table, per_group=True)
    if main_sequence:  # before the input is read (group_ages refuses it too)
        require_term(density.card)
    frame = io.read_table(input, in_fmt, {k: v for k, v in (("membership", membership), ("by", by)) if v is not None})
    columns = check_input_columns(frame.columns, reddening)
    run = run_group_ages(frame, density, by, pri, grid, membership, outlier_weight, systematic_dex, reddening,
                         main_sequence, label=file_label(input))
    if unit := membership_unit_note(frame.columns, membership):  # a value changed on reading: even with -q
        typer.echo(f"gyroage: {unit}", err=True)
    out = run.table
    if not quiet:  # after the checks group_ages makes: a refused run's stderr is its one line
        for note in [*model_notes(density.card, density.onnx_path.parent, uncalibrated=systematic_dex is None),
                     *filter(None, [grid_step_note(pri, grid)])]:
            typer.echo(f"group-age: {note}", err=True)
    say_input_notes(frame.columns, reddening, main_sequence,
                    None if quiet else lambda line: typer.echo(f"group-age: {line}", err=True),
                    [("--by", by), ("--membership", membership)], period_error=False,  # a joint age never reads it
                    rows=frame)
    out = io.case_blind_clashes(out, 1, written)  # FITS, VOTable: --by Status beside status
    meta = group_provenance(density.card, density.onnx_path.parent, pri, grid, outlier_weight, systematic_dex, reddening,
                            main_sequence, by, membership, columns, command_line(ctx),
                            default_group_systematic(density.card))
    written_in = []  # the output renamed in: the run has succeeded, a Ctrl-C after it is taken in (review V71 #5)
    try:
        writer = writers.AtomicWriter(output, out_fmt, text_columns=in_fmt == "csv", lock=True, meta=meta)
        try:  # the group label (first column) is the input's: from a typed input it keeps every digit
            writer.write(out, exact=() if in_fmt == "csv" else out.columns[:1])
            writer.commit(then=lambda: written_in.append(True))  # signals held over the rename and the mark
        except BaseException:
            writer.abort()
            raise
        if not quiet:
            for line in label_warnings(out, by):
                typer.echo(f"group-age: warning: {line}", err=True)
            if run.repeated[0]:
                typer.echo(f"group-age: {repeated_text(run.repeated, run.repeated_ids)}", err=True)
            for note in run.notes:
                typer.echo(f"group-age: {note}", err=True)
            if run.left_out:
                typer.echo(f"group-age: {left_out_text(out, run.left_out)}", err=True)
            if run.colour_err_clipped:
                typer.echo(f"group-age: {clipped_text(out, run.colour_err_clipped, density.card)}", err=True)
            unread = None if membership is not None else membership_note(frame)
            if unread:
                typer.echo(f"group-age: {unread}", err=True)
            typer.echo(f"group-age: {group_summary(out)}", err=True)
    except KeyboardInterrupt:  # (and SIGTERM) while the closing notes were said: they are cut short, no more
        if not written_in:
            raise


def _register_plot_commands() -> None:
    from gyroage import cli_plot

    cli_plot.register(app, user_errors)


_register_plot_commands()


def group_summary(out) -> str:
    """``N groups, M ok``, and the input rows without a group (the ``no_group`` row counts them: it is no group)."""
    blank = out["status"] == statuses.NO_GROUP
    g = int((~blank).sum())
    text = f"{g} group{'s' if g != 1 else ''}, {int((out['status'] == statuses.OK).sum())} ok"
    n = int(out.loc[blank, "n_stars"].sum())
    return text + (f"; {n} row{'s' if n != 1 else ''} without a group" if n else "")


def left_out_text(out, left_out: dict[str, int]) -> str:
    """``K of N members left out: reason count, ...``: the members of groups (not the no_group rows) outside n_used,
    by reason, as estimate closes with its status counts."""
    from gyroage.progress import counts_text

    members = int(out.loc[out["status"] != statuses.NO_GROUP, "n_stars"].sum())
    k = sum(left_out.values())
    return f"{k} of {members} member{'s' if members != 1 else ''} left out: {counts_text(left_out)}"


def one_blas_thread() -> None:
    """Ask numpy's BLAS for one thread, when numpy is not loaded yet (a variable the user set wins).

    estimate already runs its posterior blocks on one thread per CPU; BLAS threads of
    their own in the calibration's matrix products only oversubscribe the cores and
    spin, costing about 5% of a whole run (docs/performance.md). OpenBLAS and MKL read
    these variables once, when numpy loads; child processes (Dask workers) inherit them.
    """
    if "numpy" not in sys.modules:
        for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(name, "1")


def _register_build_commands() -> None:
    # train, export and validate live with the build tools they drive; their torch imports stay inside them.
    from gyroage.build import commands

    for name, fn in (("train", commands.train), ("export", commands.export), ("validate", commands.validate)):
        app.command(name)(user_errors(fn))


_register_build_commands()


def main(prog_name: str | None = None) -> None:
    """The ``gyroage`` console script (``prog_name``: the program as usage lines and error hints name it; None: as
    click finds it, ``gyroage`` or ``python -m gyroage``)."""
    from gyroage.progress import guard_stderr, guard_stdout

    guard_stderr()  # stderr closed, its reader gone or its disk full: notices are dropped, the table is still written
    guard_stdout()  # stdout closed: a table for it is a one-line error, a run with -o is not stopped
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:  # one the parent set to be ignored stays ignored
        signal.signal(signal.SIGTERM, on_sigterm)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # likewise an ignored SIGINT (a background job)
        signal.signal(signal.SIGINT, on_sigint)
    try:
        app(prog_name=prog_name)
        code = 0
    except SystemExit as exc:  # typer ends every run with one, carrying the exit code
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, (int, type(None))):
            print(exc.code, file=sys.stderr)
    except UserError as exc:  # raised outside a command (--version, --help into a closed stdout): one line too
        print(f"gyroage: error: {exc}", file=sys.stderr)
        code = exc.exit_code
    # Every output is written, closed or renamed into place by now. Skip the interpreter's teardown: freeing pandas,
    # pyarrow and onnxruntime costs 0.1-0.3 s per run (docs/performance.md), more than a one-star estimate computes.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe, or a full disk already reported
            pass
    os._exit(code)


if __name__ == "__main__":
    main()
