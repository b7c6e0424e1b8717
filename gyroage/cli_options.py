"""Options that the commands share: the run-time commands (cli.py, cli_plot.py) with one another, and with the
build commands (build/commands.py); and the model, prior and settings estimate and plot posterior make of them.

Defined once, so a shared option has the same name, type and help everywhere;
tests/test_cli_help.py checks that the shared options agree across every command.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Optional

import typer

# "cannot do what its settings ask": train's and validate's early stopping capped or off, the term off, a calibration at
# its floor (README, Retraining and Validation)
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or notices on stderr (errors, and notices "
                                                               "that values were changed on reading or that the run "
                                                               "cannot do what its settings ask, still print).")]
_SEED = typer.Option("--seed", help="Random seed (>= 0): a rerun with the same seed gives the same results.")
SeedOpt = Annotated[int, _SEED]
# None when not given (train, validate): a --config file's "seed" holds then, where a default of 0 replaced it
OptionalSeedOpt = Annotated[Optional[int], _SEED]


def comma_list(values: str | Iterable[str] | None) -> list[str]:
    """Items of an option given as ``a,b`` and/or repeated, stripped, blanks dropped (None: none)."""
    if values is None:
        return []
    items = [values] if isinstance(values, str) else values
    return [name.strip() for v in items for name in v.split(",") if name.strip()]


# What io.read_chunks reads (formats.FORMATS), for every argument or option that takes a table of stars.
TABLES = "CSV, Parquet, FITS, VOTable, ECSV or ASCII"
ModelOpt = Annotated[Optional[Path], typer.Option("--model", help="Model directory, card JSON or ONNX file (default: the shipped model).")]
OutputOpt = Annotated[Optional[str], typer.Option("-o", "--output", help="Output file in the format its suffix names (.csv, "
                                                  ".parquet, .fits, .vot, .ecsv, .txt; see --output-format; .csv.gz, "
                                                  ".fits.gz, .vot.gz: gzip); default CSV on stdout.")]
PriorOpt = Annotated[str, typer.Option(help="uniform_log_age, uniform_age, gaussian_log_age or tabulated.")]
# A number for every star, or (estimate, plot posterior) a column giving each star its own; group-age takes a number.
PriorMeanOpt = Annotated[Optional[str], typer.Option(help="gaussian_log_age centre, log10 yr: a number, or a column "
                                                          "name (one per star).")]
PriorSigmaOpt = Annotated[Optional[str], typer.Option(help="gaussian_log_age width, dex: a number, or a column name "
                                                           "(one per star).")]
# group-age applies one prior to a whole group: a number only (a column name is refused in one line). Still text, so
# that refusal keeps its own words rather than click's "not a valid float".
GroupPriorMeanOpt = Annotated[Optional[str], typer.Option(help="gaussian_log_age centre, log10 yr: a number, the same "
                                                               "for every group.")]
GroupPriorSigmaOpt = Annotated[Optional[str], typer.Option(help="gaussian_log_age width, dex: a number, the same for "
                                                                "every group.")]
PriorTableOpt = Annotated[Optional[Path], typer.Option(help="tabulated prior CSV: log10_age or age_myr, and density.")]
AgeMinOpt = Annotated[Optional[float], typer.Option(help="Lower prior bound, Myr, within the model's age grid "
                                                          "(default: its lower end).")]
AgeMaxOpt = Annotated[Optional[float], typer.Option(help="Upper prior bound, Myr, within the model's age grid "
                                                          "(default: its upper end).")]
OutlierOpt = Annotated[Optional[float], typer.Option(help="Outlier mixture weight (default: the card's).")]
# Rows with a reddening column value use theirs (gyroage.core.colours._reddening): every option's help says which.
_COLUMNS_WIN = "rows with an E(BP-RP), A_V or E(B-V) column value use theirs"
EbprpOpt = Annotated[Optional[float], typer.Option(help="E(BP-RP), mag, de-reddening an observed bp_rp column "
                                                    f"({_COLUMNS_WIN}).")]
EbprpErrOpt = Annotated[Optional[float], typer.Option(help="Uncertainty of --ebprp, mag.")]
AvOpt = Annotated[Optional[float], typer.Option(help="A_V (taken as A_0), mag, de-reddening an observed bp_rp: "
                                                 "E(BP-RP) = k A_V, k of the Gaia EDR3 extinction law at each star's "
                                                 "(BP-RP)0 and A_V, 0.37-0.49 (0.424 for the Sun, 0.391 for M dwarfs "
                                                 f"at A_V -> 0; {_COLUMNS_WIN}).")]
AvErrOpt = Annotated[Optional[float], typer.Option(help="Uncertainty of --av, mag.")]
EbvOpt = Annotated[Optional[float], typer.Option(help="E(B-V), mag, de-reddening an observed bp_rp: A_0 = 3.16 "
                                                  "E(B-V) (R_V of Wang & Chen 2019), then as --av: E(BP-RP) = 1.34 "
                                                  f"E(B-V) for the Sun, 1.2 for M dwarfs ({_COLUMNS_WIN}).")]
EbvErrOpt = Annotated[Optional[float], typer.Option(help="Uncertainty of --ebv, mag.")]
MainSequenceOpt = Annotated[Optional[bool], typer.Option(
    "--main-sequence/--no-main-sequence",
    help="Use each star's height above the main sequence (columns abs_g0, or g0 with parallax in mas; both "
         "de-reddened; parallax_err or abs_g0_err widen it) beside its rotation, where the model card has the term: "
         "it tells pre-main-sequence stars from older ones that rotate alike. Default: where the input has the "
         "columns; --main-sequence: an input without them, or a model without the term, is refused; "
         "--no-main-sequence: rotation alone.")]
# The grid and sampler options of estimate that plot posterior shares, so its star is dated as estimate dates it.
GridOpt = Annotated[Optional[int], typer.Option(help="Age grid points, 50 to 5001 (default: the card's).")]
ExactGridOpt = Annotated[bool, typer.Option("--exact-grid", help="Evaluate the flow at every grid point, not at every "
                                            "4th one (of 201; 8th of 401, 16th of 1001) refined where a cubic is "
                                            "unsure (2.5x slower; medians agree to 6e-4 dex for 99% of stars; with --grid above 201 "
                                            "add it: the refinement misses by up to 0.024 dex there).")]
WalkersOpt = Annotated[int, typer.Option(help="mcmc: walkers per star.")]
MaxStepsOpt = Annotated[int, typer.Option(help="mcmc: step cap per star (not_converged beyond).")]
WALKERS, MAX_STEPS = 16, 2000  # SamplerSettings' defaults (tests/test_plot_options.py checks that they agree)
# --input-format and --output-format say how each command reads and writes: estimate and crossmatch read CSV and
# Parquet chunk by chunk, group-age reads the whole table (a group's members may be anywhere in it)
_INPUT_FORMATS = ("csv, parquet, fits, votable, ecsv or ascii (whitespace-delimited); default: from the "
                  "file's first bytes, else its suffix (.fits/.fit/.fts[.gz], .vot/.votable/.xml, .ecsv, .txt/.dat; "
                  ".mrt/.cds: AAS and CDS tables), else csv. CSV may be gzip-compressed (known by its first bytes). ")
InputFormatOpt = Annotated[Optional[str], typer.Option(
    "--input-format", help=_INPUT_FORMATS + "CSV and Parquet stream; the others are read whole into memory, columns "
    "converted from their units.")]
WholeInputFormatOpt = Annotated[Optional[str], typer.Option(
    "--input-format", help=_INPUT_FORMATS + "The whole table is read into memory (every group's members at once), "
    "columns converted from their units.")]
_OUTPUT_FORMATS = "Format of -o (same names as --input-format); default: from its suffix, else csv. "
OutputFormatOpt = Annotated[Optional[str], typer.Option(
    "--output-format", help=_OUTPUT_FORMATS + "CSV and Parquet stream; fits, votable, ecsv and ascii are written whole "
    "at the end.")]
GroupOutputFormatOpt = Annotated[Optional[str], typer.Option(
    "--output-format", help=_OUTPUT_FORMATS + "One row per group, written at the end.")]
CrossmatchOutputFormatOpt = Annotated[Optional[str], typer.Option(
    "--output-format", help=_OUTPUT_FORMATS + "CSV and Parquet are written chunk by chunk, but to stdout or a pipe "
    "whole at the end (never a partial table); fits, votable, ecsv and ascii are written whole at the end.")]


def density_and_prior(model: Path | None, threads: int | None, prior: str, age_min_myr: float | None,
                      age_max_myr: float | None, mean, sigma, table: Path | None, per_group: bool = False):
    """The model's density and the prior over its card's age grid, from the options estimate, group-age and
    plot posterior share (``per_group``: group-age's, a Gaussian prior's centre and width numbers only)."""
    from gyroage.core.density import FlowDensity
    from gyroage.core.priors import make_prior

    density = FlowDensity(model, threads=threads)
    g = density.card.age_grid
    return density, make_prior(prior, age_min_myr, age_max_myr, (g["log10_age_min"], g["log10_age_max"]),
                               mean=mean, sigma=sigma, table=table, per_group=per_group)


def estimate_settings(density, prior, grid: int | None, exact_grid: bool, outlier_weight: float | None, seed: int,
                      method: str, walkers: int, max_steps: int, processes: int, reddening,
                      main_sequence: bool | None):
    """estimate's EstimateSettings from its options (plot posterior dates its star with the same)."""
    from gyroage.core.arguments import in_keywords
    from gyroage.core.estimate import EstimateSettings
    from gyroage.core.likelihood import REFINE_TOL
    from gyroage.core.main_sequence import require_term
    from gyroage.core.sampler import SamplerSettings

    if main_sequence is True:  # before the input is read: a card without the term would ignore the option
        require_term(density.card)
    # the settings name their fields (n_walkers), as a Python caller gives them; the user here gave options
    with in_keywords(FIELD_OPTIONS):
        return EstimateSettings(prior=prior, n_grid=density.card.age_grid["n"] if grid is None else grid,
                                refine_tol=None if exact_grid else REFINE_TOL, outlier_weight=outlier_weight,
                                seed=seed, method=method, reddening=reddening,
                                main_sequence=main_sequence is not False, require_magnitudes=main_sequence is True,
                                sampler=SamplerSettings(n_walkers=walkers, max_steps=max_steps, processes=processes))


# EstimateSettings' and SamplerSettings' words for their fields (a refusal's start, or priors.check_on_grid's advice
# "n_grid 801"), and the options that set them: the API's in_keywords table, read the other way
FIELD_OPTIONS = (("n_grid ", "--grid "), ("outlier_weight ", "--outlier-weight "), ("seed ", "--seed "),
                 ("unknown method ", "unknown --method "), ("n_walkers ", "--walkers "),
                 ("max_steps ", "--max-steps "), ("processes ", "--processes "))


# estimate's options that only the sampler reads (parameter names)
SAMPLER_ONLY = ("walkers", "max_steps", "processes")


def refuse_sampler_options(ctx, method: str) -> None:
    """Refuse, in one line, sampler options given on the command line with the grid method: it reads none of them,
    so ``--processes 2`` ran one process and ``--walkers`` changed nothing, without a word. ``--seed`` is kept (the
    grid's ages do not depend on it; one command line may switch ``--method``). ``ctx``: the command's context."""
    if method != "grid":
        return
    given = [f"--{name.replace('_', '-')}" for name in SAMPLER_ONLY
             # by name: typer 0.29 vendors its own click, whose ParameterSource is another enum than click's
             if getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"]
    if given:
        from gyroage.errors import UserError

        raise UserError(f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} --method mcmc's: the grid method "
                        "(the default) reads no sampler option; add --method mcmc, or leave "
                        f"{'it' if len(given) == 1 else 'them'} out")
