"""Reference log-likelihoods a generative model of binary data has to beat.

:func:`independent_pixels_log_likelihood` is the product-of-Bernoullis baseline: each pixel (or spin
mapped to 0/1) independent with its training-set mean, log p(x) = Σ_i [x_i log p_i + (1 − x_i) log(1 − p_i)].
A model that captures no correlation between pixels scores at most this much on held-out data.
"""
from __future__ import annotations

import numpy as np

from physgen.data.io import Dataset
from physgen.errors import UserError

P_CLIP = 1e-3  # keeps log p finite for pixels that are constant in the training set


def independent_pixels_log_likelihood(train: Dataset, test: Dataset) -> float:
    """Mean log-likelihood (nats per sample) of ``test`` under independent Bernoulli pixels fitted on ``train``.

    Both are ``binary`` Datasets of the same sample shape ``(N, *shape)``; the fitted means are clipped to
    [10⁻³, 1 − 10⁻³].
    """
    for name, ds in (("train", train), ("test", test)):
        if ds.kind != "binary":
            raise UserError(f"{name}: independent pixels need binary samples, got kind {ds.kind!r}")
    if train.shape != test.shape:
        raise UserError(f"test: sample shape {test.shape} differs from the training shape {train.shape}")
    p = np.clip(train.samples.reshape(len(train), -1).mean(0), P_CLIP, 1 - P_CLIP)
    x = test.samples.reshape(len(test), -1).astype(np.float64)
    return float(np.mean(x @ np.log(p) + (1 - x) @ np.log1p(-p)))
