"""JetNet's own HDF5 files as physgen point clouds (``physgen data import g.hdf5 --out gluon.h5``).

The JetNet data sets (Kansal et al. 2021; the ``jetnet`` package, which downloads them from Zenodo) come as one
HDF5 file per jet type, named by the type: ``g.hdf5``, ``q.hdf5``, ``t.hdf5``, ``w.hdf5``, ``z.hdf5`` with the 30
leading particles of each jet, and ``g150.hdf5`` … with 150.  Each holds two datasets::

    particle_features   (N, P, 4)   η_rel, φ_rel, p_T,rel and a mask (1 for a particle, 0 for a padded slot)
    jet_features        (N, 4)      jet p_T, η, mass and constituent multiplicity

:func:`read_jetnet` turns them into the dataset ``physgen data jets`` writes
(:func:`physgen.data.hep.jets.to_dataset`): ``/samples`` ``(N, P, 3)`` float32, ``/mask`` ``(N, P)`` uint8,
``/labels`` the jet type's index in :data:`~physgen.data.hep.jets.JET_TYPES` with the attribute ``label_names``,
and the jet features as the conditions ``jet_pt``, ``jet_eta``, ``jet_mass``, ``jet_n``.  physgen never
downloads the files; the user brings them.

Reference: R. Kansal et al., "Particle Cloud Generation with Message Passing Generative Adversarial
Networks", NeurIPS 2021, arXiv:2106.11535.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from physgen.errors import UserError, as_written

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
HDF5_SUFFIXES = (".h5", ".hdf5", ".he5")
PARTICLES, JETS = "particle_features", "jet_features"
#: JetNet's file-name letter -> physgen's jet type (:data:`physgen.data.hep.jets.JET_TYPES`)
FILE_TYPES = {"g": "gluon", "q": "quark", "t": "top", "w": "w", "z": "z"}
_NAME = re.compile(r"^([gqtwz])(150)?$")


def is_hdf5(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an HDF5 file: its suffix (.h5, .hdf5, .he5) or the HDF5 signature in its first bytes."""
    path = Path(path)
    if path.suffix.lower() in HDF5_SUFFIXES:
        return True
    try:
        with open(path, "rb") as f:
            return f.read(len(HDF5_MAGIC)) == HDF5_MAGIC
    except OSError:
        return False


def jet_type_of(path: str | os.PathLike) -> str:
    """physgen's jet type from a JetNet file name: ``g``, ``q``, ``t``, ``w``, ``z``, with or without ``150``
    (``t150.hdf5`` -> ``top``); a one-line UserError for any other name."""
    match = _NAME.match(Path(path).stem.lower())
    if match is None:
        raise UserError(f"{Path(path).name}: the jet type comes from JetNet's file names g, q, t, w, z (with or "
                        f"without 150, e.g. t150.hdf5); for another name give {as_written('jet_type')}")
    return FILE_TYPES[match.group(1)]


def read_jetnet(path: str | os.PathLike, *, jet_type: str | None = None):
    """The point-cloud :class:`~physgen.data.Dataset` of the JetNet file ``path`` (layout above).

    ``jet_type`` (one of :data:`~physgen.data.hep.jets.JET_TYPES`) overrides the type read from the file name.
    Every problem -- not HDF5, a missing dataset, a dataset of the wrong rank or width, row counts that
    disagree, a mask other than 0/1, NaN/Inf -- is a one-line UserError naming the file and the dataset."""
    import h5py

    from physgen.data.hep.jets import JET_FEATURES, JET_TYPES, PARTICLE_FEATURES
    from physgen.data.io import Dataset, existing_file
    from physgen.paths import shown

    path = existing_file(path)
    where = shown(path)
    if jet_type is not None and jet_type not in JET_TYPES:
        raise UserError(f"choose from {', '.join(JET_TYPES)}", key="jet_type", value=jet_type)
    try:
        with h5py.File(path, "r") as f:
            particles, jets = _read_arrays(f, where)
    except UserError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{where}: not a readable HDF5 file ({text[:200]})") from None
    jet_type = jet_type or jet_type_of(path)
    mask = particles[..., 3]
    bad = (mask != 0) & (mask != 1)
    if bad.any():
        jet, slot = (int(i) for i in np.argwhere(bad)[0])
        raise UserError(f"{where}: /{PARTICLES}[..., 3] (the mask) holds {int(bad.sum())} values other than 0 and 1 "
                        f"(first at jet {jet}, particle {slot}: {mask[jet, slot]!r})")
    mask = mask.astype(np.uint8)
    samples = (particles[..., :3] * mask[..., None]).astype(np.float32)
    conditions = dict(zip(JET_FEATURES, jets.astype(np.float64).T))
    labels = np.full(len(samples), JET_TYPES.index(jet_type), dtype=np.int64)
    attrs = {"source": os.path.abspath(path), "format": "jetnet", "jet_type": jet_type,
             "particles": int(samples.shape[1]), "feature_names": list(PARTICLE_FEATURES),
             "label_names": list(JET_TYPES)}
    return Dataset(samples, "pointcloud", conditions, labels, attrs, mask).validate(where)


def _read_arrays(f, where: str) -> tuple[np.ndarray, np.ndarray]:
    """``(particle_features, jet_features)`` of an open JetNet file, checked for presence, rank, width, row
    counts, real dtype, finite values and the memory they need."""
    import h5py

    from physgen.memory_guard import require

    present = [name for name in (PARTICLES, JETS) if isinstance(f.get(name), h5py.Dataset)]
    if not present:
        hint = " (a physgen dataset file: use it as it is)" if "samples" in f else ""
        raise UserError(f"{where}: an HDF5 file without JetNet's datasets /{PARTICLES} and /{JETS}{hint}")
    if len(present) == 1:
        missing = JETS if present[0] == PARTICLES else PARTICLES
        raise UserError(f"{where}: JetNet file without the dataset /{missing} (it has /{present[0]})")
    p, j = f[PARTICLES], f[JETS]
    if len(p.shape) != 3 or p.shape[2] != 4 or p.shape[0] < 1 or p.shape[1] < 1:
        raise UserError(f"{where}: /{PARTICLES} has shape {p.shape}, expected (N, P, 4): "
                        "η_rel, φ_rel, p_T,rel and the mask of P particle slots")
    if len(j.shape) != 2 or j.shape[1] != 4:
        raise UserError(f"{where}: /{JETS} has shape {j.shape}, expected (N, 4): jet p_T, η, mass and multiplicity")
    if j.shape[0] != p.shape[0]:
        raise UserError(f"{where}: /{PARTICLES} holds {p.shape[0]} jets but /{JETS} {j.shape[0]}")
    for name, node in ((PARTICLES, p), (JETS, j)):
        if node.dtype.kind not in "biuf":
            raise UserError(f"{where}: /{name} has dtype {node.dtype}, expected real numbers")
    n, slots = p.shape[0], p.shape[1]
    require(n * slots * (4 * 8 + 3 * 4 + 2) + n * 4 * 16, what=f"{where}: /{PARTICLES} of shape {p.shape}",
            reduce="split the file into smaller ones")
    particles, jets = p[()], j[()]
    for name, values in ((PARTICLES, particles), (JETS, jets)):
        bad = ~np.isfinite(values)
        if bad.any():
            raise UserError(f"{where}: /{name} holds {int(bad.sum())} NaN/Inf values "
                            f"(first at jet {int(np.argwhere(bad)[0][0])})")
    return particles, jets
