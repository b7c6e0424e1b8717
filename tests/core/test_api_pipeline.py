"""The Python API as pipelines use it: index alignment, forked workers, masked and unit-carrying arrays."""

import numpy as np
import pandas as pd

import gyroage
from gyroage.core.estimate import EstimateSettings, estimate_chunk, estimate_with_posteriors


def gappy_catalogue() -> pd.DataFrame:
    return pd.DataFrame({"name": ["Sun", "bad", "K1", "bad2", "M1"], "prot": [25.4, None, 8.0, None, 3.0],
                         "bp_rp0": [0.82, 1.0, 1.1, 1.0, 2.0]})


def test_estimate_chunk_keeps_the_frame_index_so_ages_land_on_their_stars(model):
    cat = gappy_catalogue()
    good = cat[cat.prot.notna()]
    out = estimate_chunk(good, model.density, EstimateSettings())
    both, post = estimate_with_posteriors(good, model.density, EstimateSettings())
    assert list(out.index) == [0, 2, 4] and list(both.index) == [0, 2, 4]
    assert list(post["row"]) == [0, 1, 2]  # the posteriors table numbers the chunk's rows, as documented
    cat["age"] = out["age_p50_myr"]
    assert np.isnan(cat["age"][[1, 3]]).all()
    assert cat["age"][[0, 2, 4]].tolist() == model.estimate(good)["age_p50_myr"].tolist()
    assert list(gyroage.estimate_chunk(good.set_index("name"), model.density, EstimateSettings()).index) == \
        ["Sun", "K1", "M1"]
