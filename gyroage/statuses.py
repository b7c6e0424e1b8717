"""The one vocabulary of row statuses, for every command (documented in the README).

A row never disappears: it carries ``ok`` and its results, or one short reason
and NaN results.
"""

from __future__ import annotations

# Statuses: one short reason per row; ``ok`` rows carry ages, others carry NaN.
OK = "ok"
INVALID_PERIOD = "invalid_period"
PERIOD_LIMIT = "period_limit"
INVALID_COLOUR = "invalid_colour"
INVALID_COLOUR_ERR = "invalid_colour_err"
TEFF_OUT_OF_RANGE = "teff_out_of_range"
DWARF_COLOUR_OUT_OF_RANGE = "dwarf_colour_out_of_range"
INVALID_REDDENING = "invalid_reddening"
INVALID_PERIOD_ERR = "invalid_period_err"
COLOUR_OUT_OF_DOMAIN = "colour_out_of_domain"
PERIOD_OUT_OF_DOMAIN = "period_out_of_domain"
NOT_CONVERGED = "not_converged"
EXTRAPOLATED = "extrapolated"
INVALID_PRIOR = "invalid_prior"
NO_VALID_MEMBERS = "no_valid_members"
NO_GROUP = "no_group"
# What each row status means (the README's table); the order is the order of precedence (a row with
# several problems gets the first): core.stars.check_stars applies them in reverse.
ESTIMATE = {
    OK: "age estimated",
    INVALID_PERIOD: "period missing, not a number, infinite, zero or negative",
    PERIOD_LIMIT: "the period is a limit, not a measurement: '<' or '>' in the period's VizieR limit column "
                  "(l_Prot beside Prot); not dated",
    TEFF_OUT_OF_RANGE: "colour from teff, but teff outside the dwarf sequence's range (2810-9700 K)",
    DWARF_COLOUR_OUT_OF_RANGE: "colour from b_v0 or v_ks0, but outside the dwarf sequence's range ((B-V)0 0-2.01, "
                               "(V-Ks)0 0.041-7.10 mag)",
    INVALID_REDDENING: "colour from the observed bp_rp, but its E(BP-RP) / A_V / E(B-V) missing, not a number or "
                       "negative, or its uncertainty given but not a non-negative finite number; or colour from bp_rp0 "
                       "with a reddening uncertainty beside it that is not a non-negative finite number",
    INVALID_COLOUR: "(BP-RP)0 missing, not a number or infinite (or the bp_rp, teff, b_v0 or v_ks0 it comes from)",
    INVALID_COLOUR_ERR: "colour uncertainty (or teff_err, b_v0_err, v_ks0_err) given but not a positive finite number",
    INVALID_PERIOD_ERR: "period uncertainty given but not a non-negative finite number",
    COLOUR_OUT_OF_DOMAIN: "(BP-RP)0 outside the colour range the model was trained on",
    PERIOD_OUT_OF_DOMAIN: "period outside the range the model was trained on",
    NOT_CONVERGED: "MCMC chain shorter than 50 autocorrelation times, or holding fewer than min_n_eff (4,000) "
                   "effective samples, at the step cap (the chain's own count: under a prior that is not flat "
                   "mcmc_n_eff shows the fewer of those and the ones behind the percentiles, which are 1,000 or more "
                   "for a kept chain, so a kept chain's mcmc_n_eff can be below 1,000; ages kept, less reliable; "
                   "never for a star whose chain left too few samples within the age bounds, which takes the grid's "
                   "posterior and status)",
    EXTRAPOLATED: "age given, but it rests on extrapolation beyond the training clusters: see the flags column",
    INVALID_PRIOR: "per-star prior centre or width missing, not a number, or width not positive, or a centre that is "
                   "no log10 age in years within 3 widths of the age bounds (Myr given?), or a prior that "
                   "leaves the star no age on the grid (mcmc as the grid: its calibrated likelihood is zero wherever the "
                   "prior is above zero)",
    NO_VALID_MEMBERS: "group-age: no member of the group has a usable period and colour",
    NO_GROUP: "group-age: the rows whose group cell is blank or NA, nan, --, N/A, null, None (counted, not dated)",
}

# The statuses only group-age gives (its rows are groups, not stars): not in estimate's list.
GROUP_ONLY = (NO_VALID_MEMBERS, NO_GROUP)

# Cross-match statuses (``gyroage crossmatch``'s ``crossmatch_status`` column); ``ok`` is the one above.
NOT_FOUND = "not_found"
NO_PERIOD = "no_period"
AMBIGUOUS = "ambiguous"
NO_COLOUR = "no_colour"
INVALID_ID = "invalid_id"
CROSSMATCH = {
    OK: "matched; adopted period and dereddened colour present",
    NOT_FOUND: "identifier not in the TIC / Gaia DR3 (or nothing within the cone radius)",
    NO_PERIOD: "matched, but no rotation period in any catalogue",
    AMBIGUOUS: "several counterparts and no rule picks one (see README)",
    INVALID_ID: "identifier missing or not a positive integer / a position not finite, or ra outside [0, 360) or dec "
                "outside [-90, 90] degrees (never queried)",
    NO_COLOUR: "matched, but Gaia DR3 has no BP or RP photometry",
    INVALID_REDDENING: "matched, but the --extinction column:NAME E(BP-RP) is negative: no bp_rp0 (nor period)",
}

# Flags (the ``age_flags`` column, ';'-separated): what a row's age rests on beyond the training data, and the
# cautions. Any of the first three, or above_main_sequence, makes the status ``extrapolated``; likely_outlier,
# pre_main_sequence_age, age_beyond_prior_bound, colour_err_beyond_training and period_err_uninformative alone do not,
# nor do group-age's many_outliers, most_members_unused, few_members and poor_fit. What each means: the README's flag
# tables (one text to keep).
BLUE_OF_KRAFT_BREAK = "colour_blue_of_kraft_break"
PERIOD_OUTSIDE_TRAINING = "period_outside_training"
AGE_OUTSIDE_TRAINING = "age_outside_training"
LIKELY_OUTLIER = "likely_outlier"
PRE_MAIN_SEQUENCE_AGE = "pre_main_sequence_age"
ABOVE_MAIN_SEQUENCE = "above_main_sequence"
MANY_OUTLIERS = "many_outliers"
MOST_MEMBERS_UNUSED = "most_members_unused"
FEW_MEMBERS = "few_members"
AGE_BEYOND_PRIOR_BOUND = "age_beyond_prior_bound"
POOR_FIT = "poor_fit"
COLOUR_ERR_BEYOND_TRAINING = "colour_err_beyond_training"
# --method mcmc under a prior that is not flat: the chain left too few effective samples where the prior lies, and the
# star's posterior (ages, flags, status, --posteriors samples) is the grid method's (gyroage.core.chain_summary.few_inside)
GRID_POSTERIOR = "grid_posterior"
# a period error at least the period itself (prot_err >= Prot): the period says little or nothing, and the age is
# (near) the prior's; a sentinel error (99, 999) for "no error" shows this way (gyroage.core.stars.period_err_wide)
PERIOD_ERR_UNINFORMATIVE = "period_err_uninformative"
DOMAIN_FLAGS = (BLUE_OF_KRAFT_BREAK, PERIOD_OUTSIDE_TRAINING, AGE_OUTSIDE_TRAINING)
# Every flag, in the order of the age_flags text and of the ONNX graph's bit mask (bit i: the i-th). A new flag goes
# last, so the bits that pipelines already read keep their meaning. The shipped graphs set none past
# age_beyond_prior_bound (they clip the colour error without a flag, and sample nothing: the README's embedding table).
FLAG_ORDER = (*DOMAIN_FLAGS, LIKELY_OUTLIER, PRE_MAIN_SEQUENCE_AGE, ABOVE_MAIN_SEQUENCE, AGE_BEYOND_PRIOR_BOUND,
              COLOUR_ERR_BEYOND_TRAINING, GRID_POSTERIOR, PERIOD_ERR_UNINFORMATIVE)
# group-age's text order (unchanged since age_beyond_prior_bound was group-age's alone)
GROUP_FLAG_ORDER = (*DOMAIN_FLAGS, LIKELY_OUTLIER, PRE_MAIN_SEQUENCE_AGE, ABOVE_MAIN_SEQUENCE, MANY_OUTLIERS,
                    MOST_MEMBERS_UNUSED, FEW_MEMBERS, AGE_BEYOND_PRIOR_BOUND, POOR_FIT)
