"""Training on the real catalogue (skipped when ../shared/data is absent)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gyroage.build.catalogue import load_catalogue, quality_select, training_set  # noqa: E402
from gyroage.build.training import TrainSettings, choose_val_clusters, train_flow  # noqa: E402


def test_quality_selection(catalog_path):
    raw = load_catalogue(catalog_path)
    sel = quality_select(raw)
    assert 0 < len(sel) < len(raw)
    assert (sel["dr3_ruwe"] < 1.4).all() and (sel["cmd_exclude"] == 0).all()


@pytest.mark.slow
def test_training_is_deterministic_and_holds_out_clusters(catalog_path):
    data = training_set(quality_select(load_catalogue(catalog_path)))
    s = TrainSettings(max_epochs=3, seed=7, refit=False)
    a, b = train_flow(data, s, quiet=True), train_flow(data, s, quiet=True)
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(pa, pb)
    val = choose_val_clusters(data, 4, 7)
    assert a.val_clusters == val and len(val) == 4
    ages = {c: data.log10_age[data.cluster == c][0] for c in data.clusters}
    assert min(ages, key=ages.get) not in val and max(ages, key=ages.get) not in val
    assert np.isfinite(a.val_nll)
