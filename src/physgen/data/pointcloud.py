"""Point clouds (kind ``pointcloud``): samples ``(N, P, F)`` of up to P particles with F features each, and a
mask ``(N, P)`` (1 for a particle, 0 for a padded slot, whose features are zeros).

:func:`from_arrays` builds a validated dataset from arrays in the JetNet layout (particle features with the
mask as a separate array or as one of the feature columns); :func:`import_pointcloud` reads them from
``.npy``/``.npz`` files (``physgen data import --kind pointcloud``).

Reference: R. Kansal et al., "Particle Cloud Generation with Message Passing Generative Adversarial
Networks", NeurIPS 2021, arXiv:2106.11535 (the JetNet layout: η_rel, φ_rel, p_T,rel and a mask).
"""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from physgen.data.io import Dataset
from physgen.errors import UserError, as_written


def from_arrays(particles: np.ndarray, mask: np.ndarray | None = None, *, mask_feature: int | None = None,
                names: Sequence[str] | None = None, labels: np.ndarray | None = None, attrs: dict | None = None,
                where: str = "point cloud") -> Dataset:
    """A ``pointcloud`` dataset from ``particles`` ``(N, P, F)``.

    The mask is ``mask`` ``(N, P)`` when given, else feature column ``mask_feature`` (removed from the
    features; JetNet's files keep it last), else 1 wherever a particle slot has any non-zero feature.  Padded
    slots are set to zero.  ``names`` name the remaining features."""
    x = np.asarray(particles)
    if x.ndim != 3 or x.shape[0] < 1 or x.shape[1] < 1:
        raise UserError(f"{where}: particle array of shape {x.shape}, expected (N, P, F) with N, P >= 1")
    if x.dtype.kind not in "biuf":
        raise UserError(f"{where}: dtype {x.dtype} is not a real number type")
    if mask is not None and mask_feature is not None:
        raise UserError("give one of them, not both", key="mask/mask_feature")
    if mask_feature is not None:
        if not 0 <= mask_feature < x.shape[2] or x.shape[2] < 2:
            raise UserError(f"{mask_feature} is not a feature index of {x.shape[2]} features "
                            "(the mask must leave at least one feature)", key="mask_feature")
        mask = x[:, :, mask_feature]
        x = np.delete(x, mask_feature, axis=2)
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise UserError(f"{where}: particle features contain NaN or Inf")
    if mask is None:
        mask = np.any(x != 0, axis=2)
    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[:, :, 0]
    if mask.shape != x.shape[:2] or not np.all((mask == 0) | (mask == 1)):
        raise UserError(f"shape {mask.shape} with values other than 0/1 or a shape other than {x.shape[:2]}"
                        if mask.shape == x.shape[:2] else f"shape {mask.shape}, expected {x.shape[:2]}", key="mask")
    mask = mask.astype(np.uint8)
    samples = (x * mask[:, :, None]).astype(np.float32)
    names = list(names) if names is not None else [f"f{j}" for j in range(samples.shape[2])]
    return Dataset(samples, "pointcloud", labels=labels, attrs={**(attrs or {}), "feature_names": names},
                   mask=mask).validate(where)


def import_pointcloud(path: str | os.PathLike, *, array: str | None = None, mask: str | None = None,
                      mask_feature: int | None = None) -> Dataset:
    """Read ``(N, P, F)`` particles from ``.npy`` or ``.npz`` (``array`` as for tables) and the mask from the
    ``.npz`` array ``mask`` (given, or present under that name), or ``mask_feature``, or non-zero rows."""
    from physgen.data.tabular import read_table
    from physgen.paths import as_path

    path = as_path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".npz"):
        raise UserError(f"reads .npy or .npz files (got {path.name})", key="kind", value="pointcloud")
    table = read_table(path, array=array)
    mask_values = None
    if suffix == ".npz" and mask_feature is None:
        with np.load(path, allow_pickle=False) as archive:
            if mask is not None and mask not in archive.files:
                raise UserError(f"{path} has no array {mask!r} (arrays: {', '.join(archive.files)})", key="mask")
            key = mask or ("mask" if "mask" in archive.files and array != "mask" else None)
            mask_values = archive[key] if key is not None else None
    elif mask is not None:
        raise UserError(f"names an array of an .npz file; for .npy use {as_written('mask_feature')} K", key="mask")
    attrs = {"source": os.path.abspath(path), "format": table.fmt}
    return from_arrays(table.values, mask_values, mask_feature=mask_feature, labels=table.labels, attrs=attrs,
                       where=str(path))
