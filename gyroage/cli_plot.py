"""The ``gyroage plot`` commands (``plot posterior``, ``plot sequence``), registered on the CLI's app by
:func:`register`.

Kept apart from cli.py, which would otherwise pass its length limit; matplotlib is imported inside
:mod:`gyroage.plots`, when a figure is drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Optional

import typer

from gyroage.cli_options import (
    MAX_STEPS,
    TABLES,
    WALKERS,
    AgeMaxOpt,
    AgeMinOpt,
    AvErrOpt,
    AvOpt,
    EbprpErrOpt,
    EbprpOpt,
    EbvErrOpt,
    EbvOpt,
    ExactGridOpt,
    GridOpt,
    MainSequenceOpt,
    MaxStepsOpt,
    ModelOpt,
    OutlierOpt,
    PriorMeanOpt,
    PriorOpt,
    PriorSigmaOpt,
    PriorTableOpt,
    QuietOpt,
    SeedOpt,
    WalkersOpt,
    density_and_prior,
    estimate_settings,
    refuse_sampler_options,
)

FigureOut = Annotated[Optional[str], typer.Option(
    "-o", "--output", help="Figure file (.png, .pdf or .svg; '-' for stdout; default: posterior.<format> or "
    "sequence.<format>).")]
FigureFormat = Annotated[Optional[str], typer.Option(
    "--format", help="png, pdf or svg (default: the -o suffix, else png); must agree with the suffix.")]
FigureDpi = Annotated[float, typer.Option(
    "--dpi", help="Resolution: PNG pixels per inch (PDF/SVG: only their rasterised data points).")]


def plot_posterior_cmd(
    ctx: typer.Context,
    input: Annotated[str, typer.Argument(help=f"{TABLES} table of stars; '-' for stdin.")],
    row: Annotated[int, typer.Option("--row", help="0-based input row to plot.")] = 0,
    output: FigureOut = None,
    method: Annotated[str, typer.Option(help="grid, or mcmc (samples histogram, the grid curve dashed beside it).")] = "grid",
    model: ModelOpt = None,
    seed: SeedOpt = 0,
    true_age_myr: Annotated[Optional[float], typer.Option(help="Mark a reference age (Myr, > 0).")] = None,
    fmt: FigureFormat = None,
    dpi: FigureDpi = 200.0,
    prior: PriorOpt = "uniform_log_age",
    prior_mean: PriorMeanOpt = None,
    prior_sigma: PriorSigmaOpt = None,
    prior_table: PriorTableOpt = None,
    age_min_myr: AgeMinOpt = None,
    age_max_myr: AgeMaxOpt = None,
    ebprp: EbprpOpt = None,
    ebprp_err: EbprpErrOpt = None,
    av: AvOpt = None,
    av_err: AvErrOpt = None,
    ebv: EbvOpt = None,
    ebv_err: EbvErrOpt = None,
    grid: GridOpt = None,
    exact_grid: ExactGridOpt = False,
    outlier_weight: OutlierOpt = None,
    main_sequence: MainSequenceOpt = None,
    walkers: WalkersOpt = WALKERS,
    max_steps: MaxStepsOpt = MAX_STEPS,
    quiet: QuietOpt = False,
) -> None:
    """The age posterior of one star with its median, 68% and 95% intervals and MAP."""
    from gyroage.core.api import AgeModel
    from gyroage.core.colours import Reddening
    from gyroage.core.modelcard import model_notes
    from gyroage.core.priors import grid_step_note
    from gyroage.plots import plot_posterior
    from gyroage.progress import check_stdout_open
    from gyroage.provenance import command_line

    if output is not None:  # no -o: a file (posterior.<format>); -o - is stdout
        check_stdout_open(output, what="figure")
    if quiet:
        _hush_fonts()
    refuse_sampler_options(ctx, method)  # as estimate: the grid reads none, and the figure would not say so

    reddening = Reddening(ebprp, ebprp_err, av, av_err, ebv, ebv_err)
    # the star is dated as estimate dates it with the same options (its --method is the plot's own)
    density, pri = density_and_prior(model, None, prior, age_min_myr, age_max_myr, prior_mean, prior_sigma,
                                     prior_table)
    # its method checked there too, so a wrong one is refused in estimate's words (--method)
    settings = estimate_settings(density, pri, grid, exact_grid, outlier_weight, seed, method, walkers, max_steps, 1,
                                 reddening, main_sequence)
    # what estimate says of its model (no calibration, stale graphs): the figure's intervals depend on it too
    notes = [*model_notes(density.card, density.onnx_path.parent, uncalibrated=True),
             *filter(None, [grid_step_note(pri, settings.n_grid)])]  # the figure's curve and numbers are the grid's
    for note in [] if quiet else notes:
        _plot_note(note)
    am = AgeModel(density, notes=False)  # its Python warnings would repeat the lines above
    path = plot_posterior(input, row, output, method=method, model=am, true_age_myr=true_age_myr,
                          fmt=fmt, dpi=dpi, settings=settings, log=None if quiet else _plot_note,
                          command=command_line(ctx))
    if not quiet:
        _plot_note(f"wrote {_where(path)}")


def plot_sequence_cmd(
    ctx: typer.Context,
    output: FigureOut = None,
    ages_myr: Annotated[Optional[list[float]], typer.Option("--age", help="Age in Myr, within the model's age grid (repeatable).")] = None,
    data: Annotated[Optional[str], typer.Option(help=f"{TABLES} table of stars to overlay (prot, bp_rp0); '-' for stdin.")] = None,
    colour_by: Annotated[Optional[str], typer.Option(help="Column of --data to colour points by (e.g. cluster).")] = None,
    model: ModelOpt = None,
    fmt: FigureFormat = None,
    dpi: FigureDpi = 200.0,
    quiet: QuietOpt = False,
) -> None:
    """Period vs colour: the model's 16/50/84% period bands at chosen ages, data overlaid, untrained regions hatched."""
    from gyroage.plots import plot_sequence
    from gyroage.progress import check_stdout_open
    from gyroage.provenance import command_line

    if output is not None:  # no -o: a file (sequence.<format>); -o - is stdout
        check_stdout_open(output, what="figure")
    if quiet:
        _hush_fonts()
    path = plot_sequence(output, ages_myr or [120.0, 670.0, 2500.0], data=data, colour_by=colour_by, model=model,
                         fmt=fmt, dpi=dpi, log=None if quiet else _plot_note, command=command_line(ctx))
    if not quiet:
        _plot_note(f"wrote {_where(path)}")


def _hush_fonts() -> None:
    """-q: matplotlib's notices of a glyph its fonts lack (a star named in CJK, drawn as a box), a Python warning
    with a line of gyroage's source and a logged line per glyph, are not printed."""
    import logging
    import warnings

    warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font", category=UserWarning)
    logging.getLogger("matplotlib").setLevel(logging.ERROR)


def _where(path) -> str:
    """What a figure's ``plot: wrote`` line names: its file, or stdout for ``-o -``."""
    from gyroage.figure_files import STDOUT

    return "the figure to stdout" if str(path) == STDOUT else str(path)


def _plot_note(line: str) -> None:
    """One line of a plot's stderr: the columns read, or a notice about the model, as estimate says them."""
    typer.echo(f"plot: {line}", err=True)


def register(app: typer.Typer, wrap: Callable) -> None:
    """Add the ``plot`` group to ``app``, each command wrapped in ``wrap`` (cli.user_errors: a user mistake is one
    line, not a traceback)."""
    plot_app = typer.Typer(help="Figures (PNG, PDF or SVG; needs matplotlib).", no_args_is_help=True)
    plot_app.command("posterior")(wrap(plot_posterior_cmd))
    plot_app.command("sequence")(wrap(plot_sequence_cmd))
    app.add_typer(plot_app, name="plot")
