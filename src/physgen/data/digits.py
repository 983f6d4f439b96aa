"""scikit-learn's bundled 8x8 handwritten digits (no download) as a physgen Dataset.

The UCI "Optical Recognition of Handwritten Digits" test set (Alpaydin & Kaynak 1998), as shipped with
scikit-learn (:func:`sklearn.datasets.load_digits`): 1797 images of 8x8 pixels with integer intensities
0..16 and labels 0..9.
"""
from __future__ import annotations

import numpy as np

from physgen.data.idx import check_threshold, scale_pixels
from physgen.data.io import Dataset

DIGITS_MAX = 16.0  # pixel intensities of load_digits are integers 0..16


def load_digits(*, binarize: float | None = None) -> Dataset:
    """The digits as ``(1797, 8, 8)``: kind ``image`` float32 pixel/16 in [0, 1], labels int64 0..9.

    With ``binarize=T`` (0 <= T < 1) the samples are kind ``binary``, uint8 ``pixel / 16 > T``.
    """
    from sklearn.datasets import load_digits as sk_load_digits

    check_threshold(binarize)
    bunch = sk_load_digits()
    samples, kind = scale_pixels(np.asarray(bunch.images), DIGITS_MAX, binarize)
    attrs = {"source": "sklearn.datasets.load_digits", "binarize": binarize, "full_scale": DIGITS_MAX}
    return Dataset(samples, kind, labels=np.asarray(bunch.target, dtype=np.int64), attrs=attrs).validate("digits")


def split(ds: Dataset, n_train: int, *, seed: int = 0) -> tuple[Dataset, Dataset]:
    """``(train, test)``: the rows of ``ds`` shuffled by ``np.random.default_rng(seed).permutation`` and cut
    after ``n_train`` (1 <= n_train < len(ds))."""
    from physgen.errors import UserError

    if not 1 <= n_train < len(ds):
        raise UserError(f"n_train: must be between 1 and {len(ds) - 1}, got {n_train}")
    perm = np.random.default_rng(seed).permutation(len(ds))
    return ds.subset(perm[:n_train]), ds.subset(perm[n_train:])
