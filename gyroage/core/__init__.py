"""The run-time core: density, stars, priors, posteriors, sampler, model card, API (no torch)."""
