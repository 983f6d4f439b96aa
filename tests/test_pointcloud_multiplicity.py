"""Both point-cloud families (``epic-gan``, ``epic-fm``) draw each sample's multiplicity from the training set's
per-label distribution (:mod:`physgen.models.epic`)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from physgen.models.base import DataSpec
from physgen.models.epic import mask_of
from physgen.models.gan.epic_gan import EPiCGAN, EPiCGANConfig
from physgen.models.pointcloud import EPiCFlowMatching, EPiCFMConfig

NAMES = ("eta_rel", "phi_rel", "pt_rel")
FAMILIES = {
    "epic-gan": lambda spec: EPiCGAN(EPiCGANConfig(hidden=16, global_dim=4, layers_g=2, layers_d=2), spec),
    "epic-fm": lambda spec: EPiCFlowMatching(EPiCFMConfig(hidden=16, global_dim=8, layers=2, emb_dim=8, steps=4),
                                             spec),
}


def _clouds(n: int, counts, probs=None, seed: int = 0, p: int = 8) -> np.ndarray:
    """``(n, p, 3)`` clouds (η_rel, φ_rel, p_T,rel > 0) of ``counts`` particles drawn with ``probs``, zero-padded."""
    rng = np.random.default_rng(seed)
    k = rng.choice(counts, n, p=probs)
    mask = np.arange(p)[None] < k[:, None]
    return np.stack([rng.normal(0, 0.1, (n, p)), rng.normal(0, 0.1, (n, p)),
                     rng.lognormal(-2, 0.5, (n, p))], axis=2) * mask[..., None]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_generated_multiplicities_follow_the_training_distribution(family):
    """Label 0 clouds have 2–5 particles with probabilities (0.1, 0.2, 0.3, 0.4), label 1 always 6.  The
    multiplicities of 4,000 generated label-0 clouds pass a χ² test (α = 0.01, 3 d.o.f.) against the training
    histogram.  Power: against the alternative (0.12, 0.2, 0.3, 0.38) the test rejects with probability 0.91
    (non-centrality 20; 0.89 measured over 1,000 multinomial draws), against (0.13, 0.2, 0.3, 0.37) with 1.00;
    its size measured over 1,000 draws from the null is 0.011; over data and sampling seeds s + 1000 k (k = 0–19,
    one thread) p is 0.025–0.98 for both families, whose multiplicity draws coincide (0.50 at the test's seeds).
    Every label-1 sample has 6 particles, all with p_T,rel > 0."""
    x = torch.tensor(np.concatenate([_clouds(2000, (2, 3, 4, 5), (0.1, 0.2, 0.3, 0.4)), _clouds(300, (6,), seed=1)]),
                     dtype=torch.float32)
    labels = torch.tensor([0] * 2000 + [1] * 300)
    model = FAMILIES[family](DataSpec("pointcloud", (8, 3), NAMES, n_labels=2))
    g = torch.Generator().manual_seed(0)
    model.on_fit_start({"x": x, "labels": labels}, resumed=False, generator=g)
    counts = mask_of(model.sample(4000, generator=g, condition={"labels": 0}))[..., 0].sum(1).long().numpy()
    train = mask_of(x[:2000])[..., 0].sum(1).long().numpy()
    expected = np.bincount(train, minlength=9)[2:6] / 2000 * 4000
    observed = np.bincount(counts, minlength=9)
    assert observed.sum() == observed[2:6].sum()
    assert stats.chisquare(observed[2:6], expected).pvalue > 0.01
    s1 = model.sample(50, generator=g, condition={"labels": 1})
    assert torch.all(mask_of(s1)[..., 0].sum(1) == 6)
    assert torch.all(s1[..., 2][mask_of(s1)[..., 0] == 1] > 0)   # p_T,rel positive
