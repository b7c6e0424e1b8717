"""Joint ages of coeval groups (clusters, wide binaries, moving groups): product of member likelihoods x prior.

``gyroage group-age`` on a DataFrame (:func:`group_ages`) and on arrays (:func:`group_posterior`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gyroage import io, statuses
from gyroage.column_notes import membership_unit_note
from gyroage.core.api_frames import refuse_repeated_columns, star_frame, warn_column_notes
from gyroage.core.arguments import GROUP_KEYWORD_WORDS, in_keywords, same_index, warn_caller
from gyroage.core.calibration import Calibration, smear
from gyroage.core.colours import Reddening
from gyroage.core.density import FlowDensity, check_outlier_weight
from gyroage.core.domain import SequenceDomain
from gyroage.core.group_flags import (
    GroupPosterior,
    fit_statistics,
    group_flags,
    member_above,
    poor_fit,
)
from gyroage.core.group_notes import (
    WHOLE_TABLE,
    id_notes,
    negative_reddening_note,
    option_note,
    repeated_rows,
    unreached_note,
    warn_group_notes,
)
from gyroage.core.likelihood import colour_marginal_log_likelihood, colour_spread, spread_rows
from gyroage.core.main_sequence import MainSequenceTerm, require_term
from gyroage.core.membership import check_membership, membership_values
from gyroage.core.modelcard import outlier_log_density as _default_outlier_log_density
from gyroage.core.posterior import (
    age_grid,
    beyond_prior_bounds,
    bounds_are_the_cards,
    calibrate_under_prior,
    calibrated_within,
    grid_log_prior,
    normalise,
    over_model_grid,
    quantiles,
)
from gyroage.core.priors import Prior, check_model_grid, check_on_grid
from gyroage.core.stars import (
    bad_colour_err,
    check_stars,
    colour_in_domain,
    fill_colour_err,
    period_in_domain,
    require_magnitudes,
)
from gyroage.errors import UserError, check_grid

# Columns that name a star's group: without --by, several values in one of them are refused, never pooled (names are
# compared by io.column_key: Cluster_ID and ClusterID alike; VizieR's OCl, ClName too, never a star's SimbadName).
GROUP_COLUMN_NAMES = ("cluster", "cluster_name", "group", "association", "moving_group", "oc", "cl", "cluster_id",
                      "oc_name", "assoc", "mg", "region", "group_name", "clust", "ocl", "clname", "clusters", "cl.",
                      "group_id")
# Columns that name a star or its group: refused only when their values repeat (on average 2 rows or more a value),
# as a cluster's name does; a column of star names is no group column.
NAME_COLUMN_NAMES = ("name", "target")
# many_outliers (study 30, benchmarks/group_outlier_check.py): the larger outlier weights a group's evidence is
# compared at (the odds that flag a group: gyroage.core.group_flags.MANY_OUTLIERS_LOG_ODDS).
OUTLIER_WEIGHTS_TRIED = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
# Why a member with a usable period and colour is left out by its --membership value (the others: its row status).
MEMBERSHIP_MISSING = "membership_missing"
MEMBERSHIP_ZERO = "membership_zero"


def group_log_likelihood(flow_loglike: np.ndarray, gid: np.ndarray, n_groups: int, membership: np.ndarray,
                         outlier_weight: float, outlier_log_density: float) -> np.ndarray:
    """Sum over each group's members of log[m (1 - w) f + (1 - m (1 - w)) u]: (n_groups x grid).

    ``flow_loglike``: flow-only log-likelihoods (members x grid); ``gid``: each
    member's group index in [0, n_groups).
    """
    keep = np.asarray(membership, dtype=float) * (1.0 - outlier_weight)
    with np.errstate(divide="ignore"):
        ll = np.logaddexp(np.log(keep)[:, None] + flow_loglike, (np.log1p(-keep) + outlier_log_density)[:, None])
    total = np.zeros((n_groups, flow_loglike.shape[-1]))
    if len(gid):
        # Sum member rows per group: sort by group, then one reduceat over contiguous runs.
        order = np.argsort(gid, kind="stable")
        g_sorted = gid[order]
        starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]])
        total[g_sorted[starts]] = np.add.reduceat(ll[order], starts, axis=0)
    return total


def joint_age(loglike: np.ndarray, grid: np.ndarray, outlier_weight: float,
              log_prior: np.ndarray | None = None,
              outlier_log_density: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Joint (group) age of stars sharing one age: product of member likelihoods x prior.

    ``loglike``: flow-only (stars x grid), every star a full member; the same
    reduction as ``gyroage group-age`` (:func:`group_log_likelihood`), without
    its systematic floor, over every row given: group-age leaves the members off
    the card's colour or period domain out first, ``gyroage validate`` passes
    every held-out member (Taurus moves by 0.1 dex, review V46, 11). validate
    measures that floor, and training trims by it (``TrainSettings.trim_dex``). Returns (pdf per dex on the grid,
    log10-age quantiles 2.5/16/50/84/97.5). Flat prior in log age by default.
    ``outlier_log_density``: the outlier component's log density per dex of period, as ``group-age`` takes it from
    the card (``FlowDensity.outlier_log_density``); None: over the range training uses and every exported card holds
    (:data:`gyroage.core.modelcard.OUTLIER_LOG10_PROT_RANGE`), for flows that have no card yet.
    """
    ll = np.asarray(loglike, dtype=np.float64)
    log_u = _default_outlier_log_density() if outlier_log_density is None else float(outlier_log_density)
    lp = group_log_likelihood(ll, np.zeros(len(ll), dtype=int), 1, np.ones(len(ll)), outlier_weight, log_u)[0]
    if log_prior is not None:
        lp = lp + log_prior
    pdf = normalise(lp[None, :], grid)
    return pdf[0], quantiles(pdf, grid)[0]


def group_posterior(density: FlowDensity, log10_prot, bp_rp0, bp_rp0_err, groups, prior: Prior,
                    n_grid: int = 1001, membership=None, outlier_weight: float | None = None,
                    use=None, systematic_dex: float | Calibration = 0.0, colour_sigma=None,
                    main_sequence: MainSequenceTerm | None = None, abs_g=None, abs_g_err=None) -> GroupPosterior:
    """Joint log10-age posterior per group of coeval stars.

    p(x | group) ∝ p(x) * prod_i [ m_i (1 - w) f_i(x) + (1 - m_i (1 - w)) u ]

    with f_i the flow density of member i's log10 period, u the uniform outlier
    density over the card's ``outlier.log10_prot_range`` (-1.5 to 2.5 in the shipped
    card, against a trained ``domain.log10_prot`` of -1.544 to 2.336), w the outlier weight (the card's by
    default) and m_i the membership probability (1 when ``membership`` is
    None): a non-member or an outlier contributes the same flat density at all
    ages, so it cannot drag the group age. The prior is applied once per group.

    Parameters
    ----------
    density : the ONNX density.
    log10_prot, bp_rp0, bp_rp0_err : per-star arrays, read as ``group-age`` reads its members: a period or colour
        outside the trained domain (the card's ``domain``), or a colour error that is not a number >= 0, leaves the
        member out; a missing (NaN) colour error is the card's ``default_bp_rp0_err``; errors are clipped to
        ``domain.bp_rp0_err``.
    groups : per-star group labels (any hashable values; NaN-free).
    prior : a scalar :class:`Prior` (a per-star prior makes no sense for a group), within the card's age grid.
    n_grid : grid points over the prior bounds (group posteriors are narrow: keep it fine).
    membership : per-star membership probabilities in [0, 1], or None.
    use : boolean mask of stars to use (invalid rows still count in ``n_stars``).
    systematic_dex : the model's systematic age error, convolved into each group posterior: a Gaussian width
        (dex; 0: statistical only) or widths by age (a colour-free :class:`Calibration`; see
        :func:`default_group_systematic`).
    colour_sigma : per-star colour uncertainty (mag) beyond the training colours' (reddening included;
        :func:`gyroage.core.likelihood.colour_spread`: a ColourSpread keeps a reddening >= 0), marginalised over as
        ``gyroage estimate`` does (None: none); a used member's must be a number >= 0 (else a UserError).
    main_sequence, abs_g, abs_g_err : the height term, each star's absolute G (NaN: unknown) and its error (None
        or NaN: none known): each used member's p(height | colour, age) multiplies the group likelihood, as in
        ``gyroage estimate``.

    Returns
    -------
    GroupPosterior with groups in order of first appearance.
    """
    check_group_options(n_grid, outlier_weight, None)  # as group_ages: a weight of 2 gave NaN ages
    if prior.per_star:
        raise UserError("group-age takes one prior per group: give --prior-mean/--prior-sigma as numbers")
    check_model_grid(prior, density.card.age_grid)
    check_on_grid(prior, n_grid)  # as estimate: a table between two grid ages gave an ``ok`` group with no ages
    same_index(log10_prot=log10_prot, bp_rp0=bp_rp0, bp_rp0_err=bp_rp0_err, groups=groups, membership=membership,
               use=use, colour_sigma=colour_sigma, abs_g=abs_g, abs_g_err=abs_g_err)
    groups = np.asarray(groups)
    n = len(groups)
    log10_prot, bp_rp0, bp_rp0_err = _member_arrays(density, log10_prot, bp_rp0, bp_rp0_err, n)
    labels, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    order_groups = np.argsort(first)  # groups in order of first appearance
    rank = np.empty_like(order_groups)
    rank[order_groups] = np.arange(len(order_groups))
    gid = rank[inverse.reshape(-1)]
    use = np.ones(n, dtype=bool) if use is None else np.asarray(use, dtype=bool)
    # members read by group-age's rules (check_stars), so README's call on arrays gives group-age's numbers: a period
    # or colour off the trained domain, or an unusable colour error, is left out (a NaN period blanked its whole
    # group); it counts in n_stars, not n_used. A missing colour error takes the card's default, and every error is
    # clipped to the trained range (a 0 clipped up): group_ages' members, already so, are unchanged
    use = use & period_in_domain(log10_prot, density.card) & colour_in_domain(bp_rp0, density.card) \
        & ~bad_colour_err(bp_rp0_err, zero_colour_err=True)
    bp_rp0_err = fill_colour_err(bp_rp0_err, density.card)
    if membership is not None:
        check_membership(np.asarray(membership, dtype=float), "membership")
    m = np.ones(n) if membership is None else np.clip(np.asarray(membership, dtype=float), 0.0, 1.0)
    use = use & np.isfinite(m) & (m > 0)
    n_groups = len(labels)
    n_stars = np.bincount(gid, minlength=n_groups)
    n_used = np.bincount(gid[use], minlength=n_groups)
    n_members = n_stars - np.bincount(gid[np.isfinite(m) & (m <= 0)], minlength=n_groups)
    grid = age_grid(prior.log10_age_min, prior.log10_age_max, n_grid)
    total = np.zeros((n_groups, len(grid)))
    log_prior = grid_log_prior(prior, grid)
    odds = np.full(n_groups, np.nan)
    beyond = np.zeros(n_groups, dtype=bool)
    if use.any():
        w = density.outlier_weight if outlier_weight is None else float(outlier_weight)
        idx = np.flatnonzero(use)
        sig, width = (None, None) if colour_sigma is None else spread_rows(colour_sigma, n, idx)
        # a computed width, not a column: NaN is no "not given" here
        bad = [] if sig is None else np.flatnonzero(io.bad_error(width, missing_ok=False))
        if len(bad):  # colour_node_groups would refuse it as a ValueError: said here in the caller's words
            raise UserError(f"colour_sigma must be a number >= 0 (mag) for every used member: member {idx[bad[0]]} "
                            f"has {width[bad[0]]:g} ({len(bad)} such); 0 for none, or leave the member out (use)")

        def log_likelihood(ages: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """(members' flow log-likelihoods, each group's total, its height term) on the log10 ages ``ages``."""
            # every grid point evaluated (no refinement): group posteriors are narrow
            lf = colour_marginal_log_likelihood(density, log10_prot[idx], bp_rp0[idx], bp_rp0_err[idx], ages, sig,
                                                refine_tol=None).astype(np.float64)
            total = group_log_likelihood(lf, gid[idx], n_groups, m[idx], w, density.outlier_log_density)
            height = np.zeros_like(total)
            if main_sequence is not None and abs_g is not None:
                err = None if abs_g_err is None else np.asarray(abs_g_err)[idx]
                term = main_sequence.log_likelihood(bp_rp0[idx], np.asarray(abs_g)[idx], ages, err)
                np.add.at(height, gid[idx], term)
                total = total + height
            return lf, total, height

        lf, total, height = log_likelihood(grid)
        odds = _outlier_log_odds(lf, gid[idx], n_groups, m[idx], w, density.outlier_log_density,
                                 total + log_prior, height + log_prior)
        odds[n_used == 0] = np.nan
        if not bounds_are_the_cards(prior, density.card.age_grid):
            beyond = beyond_prior_bounds(prior, density.card.age_grid, lambda ages: log_likelihood(ages)[1])
            beyond &= n_used > 0
    smears = isinstance(systematic_dex, Calibration) or systematic_dex > 0
    over = over_model_grid(grid, density.card.age_grid, total, lambda a: log_likelihood(a)[1]) if (
        use.any() and smears) else None
    if over is not None:  # bounds inside the model's grid: smear all of it
        full, like, inside = over
        pdf = calibrated_within(like, log_prior, full, inside, lambda p: smear(p, full, systematic_dex))
    else:
        pdf = calibrate_under_prior(normalise(total + log_prior, grid), total, log_prior, grid,
                                    lambda p: smear(p, grid, systematic_dex))
    return GroupPosterior(labels[order_groups], n_stars, n_used, grid, pdf, odds, n_members, beyond, gid)


def _outlier_log_odds(lf: np.ndarray, gid: np.ndarray, n_groups: int, membership: np.ndarray, weight: float,
                      log_u: float, used: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Per group, max over the larger weights of :data:`OUTLIER_WEIGHTS_TRIED` of ln Z(w) - ln Z(``weight``): Z the
    group's evidence on the grid (``used``: its log posterior at ``weight``, unnormalised; ``rest``: the terms that
    do not depend on w, prior and heights). The grid step is common to both and cancels."""
    larger = [v for v in OUTLIER_WEIGHTS_TRIED if v > weight]
    if not larger:
        return np.full(n_groups, -np.inf)
    z0 = np.logaddexp.reduce(used, axis=1)
    z = [np.logaddexp.reduce(group_log_likelihood(lf, gid, n_groups, membership, v, log_u) + rest, axis=1)
         for v in larger]
    return np.max(z, axis=0) - z0


def _member_arrays(density: FlowDensity, log10_prot, bp_rp0, bp_rp0_err,
                   n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Members' log10 periods, colours and colour errors as float arrays of length ``n`` (a scalar error broadcast)."""
    lp, colour = (np.asarray(a, dtype=float).reshape(-1) for a in (log10_prot, bp_rp0))
    if len(lp) != n or len(colour) != n:
        raise UserError(f"group_posterior needs one log10_prot and bp_rp0 per member ({n} group labels, "
                        f"{len(lp)} periods, {len(colour)} colours)")
    err = np.asarray(density.card.default_bp_rp0_err if bp_rp0_err is None else bp_rp0_err, dtype=float)
    try:
        err = np.broadcast_to(err, (n,))
    except ValueError:
        raise UserError(f"group_posterior needs bp_rp0_err as one number or one per member ({n})") from None
    return lp, colour, err


def default_group_systematic(card) -> float | Calibration:
    """The model's systematic error on joint ages: the card's widths by age (``validation.group_calibration``,
    fitted by leave-one-cluster-out: benchmarks/group_calibration.py), else :func:`default_systematic_dex`."""
    widths = Calibration.from_dict((card.validation or {}).get("group_calibration"))
    return default_systematic_dex(card) if widths is None else widths


def default_systematic_dex(card) -> float:
    """The model's systematic error on joint ages, from its leave-one-cluster-out validation.

    Held-out clusters >= 30 Myr scatter about their fiducial ages far more than
    the statistical joint-age intervals allow (docs/validation.md); their median
    absolute error, scaled to a Gaussian sigma (/ 0.6745), is the floor. 0 when
    the card has no validation.
    """
    v = (card.validation or {}).get("loco_cluster_median_abs_dex_ge30myr")
    return float(v) / 0.6745 if v else 0.0


def check_group_options(n_grid: int, outlier_weight: float | None, systematic_dex: float | None) -> None:
    """The settings group_ages refuses, in the command line's words (the CLI calls it before loading the model)."""
    check_grid(n_grid)  # as estimate
    check_outlier_weight(outlier_weight)
    if systematic_dex is not None and not 0 <= systematic_dex < np.inf:  # NaN fails too: it acted as 0, inf blanked the ages
        raise UserError("--systematic-dex must be >= 0 and finite")


@dataclass
class GroupAges:
    """:func:`run_group_ages`' result: the output table, and why members were left out."""

    table: pd.DataFrame
    # rows with a group but not in its n_used, by reason (their row status, or MEMBERSHIP_MISSING / MEMBERSHIP_ZERO)
    left_out: dict[str, int]
    # used members whose colour error exceeds the trained range and was clipped to it (estimate flags each such star
    # colour_err_beyond_training; in a joint age it is a count, as left_out: the group's age is not rested on it alone)
    colour_err_clipped: int = 0
    # used rows that repeat an earlier one's group, period and colour, and their groups (group_notes.repeated_rows)
    repeated: tuple[int, int] = (0, 0)
    # the id columns that count compares (none: rows of distinct stars may agree at the table's precision)
    repeated_ids: tuple[str, ...] = ()
    # what the ages do not show, one line each (group_notes: unreached_note, ...)
    notes: tuple[str, ...] = ()


@in_keywords(GROUP_KEYWORD_WORDS)  # its refusals name membership, n_grid, ..., not --membership, --grid
def group_ages(frame, density: FlowDensity, by: str | None, prior: Prior, n_grid: int = 1001,
               membership: str | None = None, outlier_weight: float | None = None,
               systematic_dex: float | None = None, reddening: Reddening | None = None, main_sequence: bool = False,
               label: str = WHOLE_TABLE) -> pd.DataFrame:
    """``gyroage group-age`` on a DataFrame (:func:`gyroage.read_stars` with ``membership=``, as group-age reads a
    file) or an astropy Table (its units converted, as :meth:`gyroage.AgeModel.estimate` takes one): one row per
    group (:func:`run_group_ages`' table).

    Warns (UserWarning) what :meth:`gyroage.AgeModel.estimate` warns of its columns
    (:func:`gyroage.core.api_frames.warn_column_notes`): several columns of one quantity, a value changed on reading
    (``Prot [h]``), when ``main_sequence`` reads an absolute G without a 0 in its name (``M_G``) as de-reddened, and
    an observed colour's error left unread beside a bp_rp0; and what group-age says of its groups: labels that look
    alike, rows repeating another (:func:`gyroage.core.group_notes.warn_group_notes`)."""
    frame = star_frame(frame, None if membership is None else {"membership": membership}, "group_ages")
    refuse_repeated_columns(frame, (by, membership))  # as group-age's --by and --membership
    warn_column_notes(frame.columns, main_sequence, reddening is not None and reddening.given, rows=frame)  # no new local
    run = warn_group_notes(run_group_ages(**locals()), by, density.card)
    if unit := membership_unit_note(frame.columns, membership):  # after the run's refusals, as the command line
        warn_caller(f"gyroage: {unit}")
    return run  # locals() are the parameters, as given: one list of them to keep


def run_group_ages(frame, density: FlowDensity, by: str | None, prior: Prior, n_grid: int = 1001,
                   membership: str | None = None, outlier_weight: float | None = None,
                   systematic_dex: float | None = None, reddening: Reddening | None = None,
                   main_sequence: bool = False, label: str = WHOLE_TABLE) -> GroupAges:
    """``gyroage group-age`` on a DataFrame: one row per group (in order of first appearance), and the counts of
    members left out by reason (the command line says them on stderr).

    Columns: the ``by`` column (``input_<by>`` when ``by`` is one of the other names; with ``by`` None every row is
    in one group, named ``label``, in a column ``group``), ``n_stars`` (rows in the group), ``n_used``
    (rows with a usable period and colour and membership > 0), the age
    summaries of :data:`SUMMARY_COLUMNS`, ``age_flags`` (:func:`group_flags`) and ``status``
    (``ok``, ``extrapolated`` or ``no_valid_members``). Rows whose group cell is blank (or NA, nan, --, N/A, null,
    None: :data:`gyroage.io.NA_TOKENS`) are counted in one last
    row, with an empty group and status ``no_group``: every input row is accounted for, but a row blank in every
    column (a spreadsheet's trailing rows), which is no star.
    ``systematic_dex`` (dex) replaces the model's systematic error (by default :func:`default_group_systematic`).
    Colours are read as ``gyroage estimate`` reads them (``reddening``: its ``--ebprp``/``--av``), and their uncertainty beyond the
    training colours' (reddening errors included) is marginalised over as there. With ``main_sequence``, members
    with absolute magnitudes also carry the card's main-sequence height term; off by default, because a product over
    members treats their heights as independent when a cluster's distance and extinction are shared (study 22:
    leave-one-cluster-out joint ages were worse with it).
    """
    check_group_options(n_grid, outlier_weight, systematic_dex)  # the prior: group_posterior
    frame = frame.loc[~_empty_rows(frame)]  # a sheet's trailing ',,,' rows: no star, nor a row without a group
    w = density.outlier_weight if outlier_weight is None else float(outlier_weight)  # the posterior's and the fit's
    col, labels = _group_column(frame, by, label)
    # a blank label, or one that says "no value" (NA, nan, --, N/A, null, None) as in the other columns, is no group
    has = labels.notna().to_numpy() & ~labels.astype(str).str.strip().str.lower().isin(io.NA_TOKENS).to_numpy()
    sub = frame.loc[has].reset_index(drop=True)
    # the joint age never reads a period error: a sentinel (-99) or text ('<0.01') in one must not drop members
    columns = {k: v for k, v in io.require_columns(list(sub.columns)).items()
               if not k.startswith("prot_err")}  # and VizieR's upper error, E_Prot
    stars = check_stars(sub, density.card, columns, reddening=reddening, zero_colour_err=True)
    if main_sequence:  # asked for: never a silent rotation-only age
        require_term(density.card)
        require_magnitudes(list(frame.columns), io.match_columns(list(frame.columns)))
        if stars.ok.any() and not np.isfinite(stars.abs_g[stars.ok]).any():
            raise UserError("--main-sequence: no row has a usable abs_g0 (or g0 and parallax) beside its period and "
                            "colour")
    m = None if membership is None else membership_values(frame, membership)[has]
    # the members that date their group: usable period and colour, membership > 0 (group_flags reads the same ones)
    used = stars.ok if m is None else stars.ok & np.isfinite(m) & (m > 0)
    reason = stars.status.astype(object)
    if m is not None:
        reason[stars.ok & ~np.isfinite(m)] = MEMBERSHIP_MISSING
        reason[stars.ok & (m <= 0)] = MEMBERSHIP_ZERO
    left_out = {str(k): int(v) for k, v in zip(*np.unique(reason[~used].astype(str), return_counts=True))}
    groups = labels[has].astype(str).str.strip().to_numpy()
    term = MainSequenceTerm.from_card(density.card) if main_sequence else None
    gp = group_posterior(density, np.log10(np.where(stars.ok, stars.prot, 1.0)), np.where(stars.ok, stars.bp_rp0, 1.0),
                         stars.bp_rp0_err, groups, prior, n_grid,
                         membership=m, outlier_weight=w, use=used,
                         systematic_dex=default_group_systematic(density.card) if systematic_dex is None else systematic_dex,
                         colour_sigma=colour_spread(stars.bp_rp0_err, stars.ebprp, stars.ebprp_err, density.card),
                         main_sequence=term, abs_g=stars.abs_g, abs_g_err=stars.abs_g_err)
    # a group column named like an output column (--by status) keeps its labels as input_<name>, by estimate's rule
    summaries = gp.summaries()
    key = io.prefix_clashes(pd.DataFrame(columns=[col]), ["n_stars", "n_used", *summaries, "age_flags", "status"]
                            ).columns[0]
    out = pd.DataFrame({key: _group_labels(labels[has], groups, gp.groups), "n_stars": gp.n_stars,
                        "n_used": gp.n_used, **summaries})
    # the used members, once: each one's group index (group_posterior's), period and colour
    gid, lp, colour = gp.member_group[used], np.log10(stars.prot[used]), stars.bp_rp0[used]
    fit = fit_statistics(density, len(gp.groups), gid, lp, colour, stars.bp_rp0_err[used],
                         np.log10(summaries["age_p50_myr"]) + 6, w)
    above = member_above(density.card, term, gid, colour, None if stars.abs_g is None else stars.abs_g[used],
                         None if stars.abs_g_err is None else stars.abs_g_err[used], summaries["age_p50_myr"])
    flags, extrapolated = group_flags(SequenceDomain.from_card(density.card), gp, gid, colour, lp,
                                      summaries["age_p50_myr"], poor_fit(gp.n_used, *fit), above)
    out["age_flags"] = flags
    out["status"] = np.where(gp.n_used == 0, statuses.NO_VALID_MEMBERS,
                             np.where(extrapolated, statuses.EXTRAPOLATED, statuses.OK))
    if not has.all():
        blank = {key: "", "n_stars": int((~has).sum()), "n_used": 0, **{k: np.nan for k in summaries},
                 "age_flags": "", "status": statuses.NO_GROUP}
        tail = pd.DataFrame([blank])
        if out[key].dtype != object and not pd.api.types.is_string_dtype(out[key]):
            tail[key] = pd.Series([None], dtype=out[key].dtype)  # numeric labels: a missing one, not text
        out = pd.concat([out, tail], ignore_index=True)
    beyond, notes = stars.colour_err_beyond, []
    if term is not None and stars.abs_g is not None:  # asked for: a group it never reached is dated from rotation alone
        reads = term.informs(colour, stars.abs_g[used], None if stars.abs_g_err is None else stars.abs_g_err[used])
        notes.append(unreached_note(out[key][:len(gp.groups)], gp.n_used, np.bincount(gid[reads], minlength=len(gp.groups))))
    # as --posteriors finds them; a name twice (a cross-match's copy) once: sub.loc takes every column it names
    ids = [c for c in dict.fromkeys(io.id_columns(sub.columns)) if c not in (col, membership)]
    named = sub.loc[used, ids] if ids else None
    notes += [*id_notes(groups[used], stars.prot[used], stars.bp_rp0[used], named),
              option_note(reddening, sub, stars.colour_columns.get("colour_source"), groups, used),
              negative_reddening_note(groups, stars.status, stars.ebprp, stars.ebprp_err)]
    return GroupAges(out, left_out, 0 if beyond is None else int((beyond & used).sum()),
                     repeated_rows(groups[used], stars.prot[used], stars.bp_rp0[used], named,
                                   None if term is None or stars.abs_g is None else stars.abs_g[used]),
                     tuple(ids), tuple(filter(None, notes)))


def _empty_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows blank (missing, or text of blanks) in every column: a spreadsheet's trailing rows saved as ``,,,``."""
    empty = np.ones(len(frame), dtype=bool)
    for i in range(frame.shape[1]):
        if not empty.any():  # a column full of values ends it: one pass over a usual table's first column
            break
        col = frame.iloc[:, i]
        blank = col.isna().to_numpy()
        if not pd.api.types.is_numeric_dtype(col):
            blank = blank | col.astype(str).str.strip().eq("").to_numpy()
        empty &= blank
    return empty


def _group_column(frame: pd.DataFrame, by: str | None, label: str) -> tuple[str, pd.Series]:
    """The group column's name and its labels: ``by``'s, or (``by`` None) ``label`` on every row, in ``group``."""
    if by is None:
        _refuse_pooling(frame)
        return "group", pd.Series(label, index=frame.index, dtype=object)
    col = io.find_column(list(frame.columns), by)
    if col is None:
        raise UserError(f"missing column '{by}' (without --by, all rows are one group){io.file_has(frame.columns)}")
    return col, io.first_column(frame, col)


def _refuse_pooling(frame: pd.DataFrame) -> None:
    """Without --by every row is one group: refuse when a column named like a group column holds several groups,
    whose stars would be pooled into one meaningless age (a Name or Target column: when its values repeat)."""
    for name in (*GROUP_COLUMN_NAMES, *NAME_COLUMN_NAMES):
        col = io.find_column(list(frame.columns), name)
        if col is None:
            continue
        text = io.first_column(frame, col).dropna().astype(str).str.strip()
        text = text[~text.str.lower().isin(io.NA_TOKENS)]  # blank or NA: no group, as with --by
        values = text.unique()
        if len(values) > 1 and (name in GROUP_COLUMN_NAMES or 2 * len(values) <= len(text)):
            shown = ", ".join(repr(v) for v in values[:3]) + (", ..." if len(values) > 3 else "")
            raise UserError(f"column '{col}' holds {len(values)} groups ({shown}): give --by {col} to date each; "
                            f"without --by all rows are one group (drop the column to pool them)")


def _group_labels(labels: pd.Series, keys: np.ndarray, groups: np.ndarray) -> np.ndarray | pd.Series:
    """Each group's label for the output: numbers (and booleans) as the input has them, the first member's, so
    Parquet and FITS keep their type; text as the stripped key the groups were formed by (``groups``)."""
    if not pd.api.types.is_numeric_dtype(labels):
        return groups
    first = pd.Series(np.arange(len(keys))).groupby(keys, sort=False).first()
    return labels.iloc[first.reindex(groups).to_numpy()].reset_index(drop=True)
