"""The periodic hypercubic lattice and its symmetry group, for every part of physgen that uses one.

A lattice of shape ``(L₁, …, L_d)`` has ``n = Π L_k`` sites numbered in row-major order: site ``i`` has the
integer coordinates ``r_i`` with the last coordinate running fastest (the order of a ``(B, L₁, …, L_d)`` spin
array flattened to ``(B, n)``).  With periodic boundaries its symmetries are the ``n`` translations
``r → r + t mod L`` and the point group of the box: the reflections ``r_k → L_k − 1 − r_k`` of each axis and, on
a square lattice, the exchange of its two axes (with the reflections, the dihedral group D4 of the square).
Every map is a gather table: ``image[i]`` is the site whose value lands on site ``i``, so a configuration ``s``
moves to ``s[..., image]``.

The users: the translation-invariant RBM's weight sharing (:meth:`Torus.displacements`; Carleo & Troyer 2017,
Science 355, 602), the neural quantum states' symmetric ansatz (:meth:`Torus.translations`) and the training
batches' random symmetry images (:meth:`Torus.images`).  The symmetries of the square-lattice Ising model:
Newman & Barkema, *Monte Carlo Methods in Statistical Physics* (1999), ch. 3.
"""
from __future__ import annotations

from functools import cached_property

import numpy as np


class Torus:
    """The periodic lattice of shape ``shape`` (see the module docstring for the numbering and the maps)."""

    def __init__(self, shape: tuple[int, ...]):
        self.shape = tuple(int(s) for s in shape)
        if not self.shape or min(self.shape) < 1:
            raise ValueError(f"a lattice needs one or more sides >= 1, got shape {shape}")
        self.n = int(np.prod(self.shape))
        self._sides = np.array(self.shape, dtype=np.int64)
        self._strides = np.array([np.prod(self.shape[k + 1:], dtype=np.int64) for k in range(self.dim)], dtype=np.int64)

    @property
    def dim(self) -> int:
        return len(self.shape)

    @cached_property
    def coords(self) -> np.ndarray:
        """``(n, d)`` int64: the coordinates ``r_i`` of the sites."""
        return np.stack(np.unravel_index(np.arange(self.n), self.shape), -1).astype(np.int64)

    def index(self, coords: np.ndarray) -> np.ndarray:
        """Site numbers of integer coordinates ``(..., d)``, taken modulo the sides."""
        return ((np.asarray(coords, dtype=np.int64) % self._sides) * self._strides).sum(-1)

    @cached_property
    def displacements(self) -> np.ndarray:
        """``(n, n)`` int64: the site of the displacement ``r_i − r_j mod L`` (each site occurs ``n`` times)."""
        return self.index(self.coords[:, None, :] - self.coords[None, :, :])

    @cached_property
    def translations(self) -> np.ndarray:
        """``(n, n)`` int64 gather tables of the translation group: row ``g`` sends the value at ``r_i + r_g`` to
        site ``i`` (row 0 is the identity)."""
        return self.index(self.coords[None, :, :] + self.coords[:, None, :])

    def images(self, *, swap, reflect, shift):
        """Gather tables ``(B, n)`` (a torch tensor on the device of ``shift``) of ``B`` elements of the symmetry
        group of a 2-D lattice.

        Element ``b`` takes the value at ``r' = P(r)`` to site ``r``, where ``P`` first exchanges the two axes
        when ``swap[b]`` (a square lattice only; None: never), then reflects axis ``k`` (``r_k → L_k − 1 − r_k``)
        when ``reflect[b, k]``, then translates by ``shift[b] (d,)`` modulo the sides.  ``swap (B,)`` and
        ``reflect (B, d)`` are boolean tensors, ``shift (B, d)`` an integer tensor, all on one device."""
        import torch   # (the tables above serve torch-free callers: the quantum stack)

        if self.dim != 2:
            raise ValueError(f"images: a 2-D lattice is needed, this one has shape {self.shape}")
        dev = shift.device
        sides, strides = torch.from_numpy(self._sides).to(dev), torch.from_numpy(self._strides).to(dev)
        r = torch.from_numpy(self.coords).to(dev)[None].expand(len(shift), self.n, self.dim)   # (B, n, d)
        if swap is not None:
            if self.shape[0] != self.shape[1]:
                raise ValueError(f"images: exchanging the axes needs a square lattice, not {self.shape}")
            r = torch.where(swap.view(-1, 1, 1), r.flip(-1), r)
        r = torch.where(reflect[:, None, :], sides - 1 - r, r)
        return (((r + shift[:, None, :]) % sides) * strides).sum(-1)
