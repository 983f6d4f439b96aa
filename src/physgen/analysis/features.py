"""Turn any physgen dataset into the ``(N, d)`` design matrix the analysis tools need.

The analysis wraps scikit-learn and scipy; this module only decides what a *feature* is for each
dataset kind (every lattice site, pixel or tabular column is one feature) and which physics
side-information is available: the magnetization per spin for ``spins`` data and the temperature
from ``/conditions/temperature``.  Outputs that need them are produced only when they exist.
"""
from __future__ import annotations

import numpy as np

from physgen.data import Dataset
from physgen.errors import UserError


def design_matrix(ds: Dataset, *, standardize: bool = False) -> np.ndarray:
    """Flatten ``ds.samples`` ``(N, *shape)`` to a float32 matrix ``(N, d)``, d = prod(shape).

    Spins stay ±1, binary 0/1, images and tabular features as stored.  With ``standardize`` each
    column is centred and scaled to unit variance (constant columns are only centred), which puts
    tabular features with different units on one footing before PCA or clustering.
    """
    x = np.asarray(ds.samples, dtype=np.float32).reshape(len(ds), -1)
    if standardize:
        x = x - x.mean(axis=0, keepdims=True)
        std = x.std(axis=0, keepdims=True)
        x = x / np.where(std > 0, std, 1.0)
    return x


def magnetization(ds: Dataset) -> np.ndarray | None:
    """Signed magnetization per spin ``m = (1/N_s) Σ_i s_i`` ``(N,)`` for ``spins`` data, else None."""
    if ds.kind != "spins":
        return None
    return np.asarray(ds.samples, dtype=np.float64).reshape(len(ds), -1).mean(axis=1)


def temperature(ds: Dataset) -> np.ndarray | None:
    """``/conditions/temperature`` ``(N,)`` if present, else None."""
    return ds.conditions.get("temperature")


def lattice_shape(ds: Dataset) -> tuple[int, int] | None:
    """``(L, W)`` when each sample is a 2D lattice/image (so weights can be drawn as an image)."""
    shape = ds.shape
    if len(shape) == 2 and min(shape) > 1:
        return int(shape[0]), int(shape[1])
    if len(shape) == 3 and shape[0] == 1:  # (1, H, W) single-channel images
        return int(shape[1]), int(shape[2])
    return None


def feature_labels(ds: Dataset) -> list[str]:
    """Names of the d features: ``feature_names`` for tabular data, else ``x0, x1, ...``."""
    names = ds.feature_names
    d = int(np.prod(ds.shape))
    if names is not None and len(names) == d:
        return [str(n) for n in names]
    return [f"x{i}" for i in range(d)]


def require_rows(ds: Dataset, minimum: int, where: str, what: str) -> None:
    """Raise a one-line UserError when ``ds`` has fewer than ``minimum`` samples."""
    if len(ds) < minimum:
        raise UserError(f"{where}: {what} needs at least {minimum} samples, the file has {len(ds)}")
