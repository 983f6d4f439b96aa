"""Translation-invariant RBM weights on a periodic lattice (the symmetric RBM of Carleo & Troyer 2017).

A lattice of ``n`` sites with periodic boundaries (shape ``(L₁, …, L_d)``) and ``F`` filters: hidden unit
``(f, j)`` (``f < F``, site ``j``; flat index ``f·n + j``) sees the visible spin at site ``i`` through the
weight ``w_f(r_i − r_j mod L)``, and every hidden unit of filter ``f`` has the bias ``b_f``; every visible
unit has the same bias ``a``.  The hidden layer has ``m = F·n`` units, but only ``F·w + F + 1``
parameters (``w`` the sites of a filter's window, ``n`` without one): the energy is invariant under the
``n`` lattice translations, as the Ising Hamiltonian is, and each training configuration counts as its ``n`` translates.

The weights stay dense tensors ``W (n, F·n)``, so every sampler, the exact and AIS partition functions and the
closed-form CD gradients apply unchanged.  The symmetry is kept by the gradient: :meth:`Translations.project`
averages a gradient over each orbit of the translation group — the gradient with respect to the shared
parameters, divided by the orbit size ``n`` — and an invariant start (:meth:`Translations.expand`) stays
invariant under SGD, momentum, weight decay and Adam, whose updates act entry by entry on equal values.

A translation-invariant RBM represents the nearest-neighbour Ising model exactly with two filters per bond
direction (``exp(K sᵢsⱼ) ∝ Σ_{h,h'} exp((h − h') w (sᵢ + sⱼ) + b (h + h'))`` for a ``w`` fixed by ``K``).

Carleo, G. & Troyer, M. (2017). Solving the quantum many-body problem with artificial neural networks.
Science 355, 602 (translation-symmetric RBM with feature filters, hidden-unit density α = F).
"""
from __future__ import annotations

import numpy as np
import torch

from physgen.physics.lattice import Torus


class Translations:
    """The translation group of a periodic lattice of shape ``shape`` acting on ``F = filters`` filters whose
    support is the window of ``size`` sites per dimension (0, or more than a side: the whole lattice).

    ``mask (n,)``: the displacements inside the window; ``disp (n, n)``: the site of the displacement
    ``r_i − r_j mod L`` of visible site ``i`` and hidden site ``j`` (:attr:`physgen.physics.lattice.Torus.displacements`).
    """

    def __init__(self, shape: tuple[int, ...], filters: int, size: int = 0):
        self.shape, self.filters = tuple(shape), int(filters)
        lattice = Torus(self.shape)
        self.disp, self.n = torch.from_numpy(lattice.displacements), lattice.n          # (n, n)
        # displacements inside the window [0, size)^d (all of them for size 0): the filters' support
        inside = (lattice.coords < size).all(-1) if size else np.ones(self.n, dtype=bool)
        self.mask = torch.from_numpy(inside)                                                # (n,)

    @property
    def n_hidden(self) -> int:
        return self.filters * self.n

    def expand(self, kernel: torch.Tensor) -> torch.Tensor:
        """Filters ``(..., F, n)`` (``kernel[f, r]`` = weight at displacement ``r``) -> dense ``W (..., n, F·n)``."""
        w = kernel[..., self.disp.to(kernel.device)]                      # (..., F, n_i, n_j)
        return w.movedim(-2, -3).flatten(-2)                               # (..., n_i, F·n_j)

    def reduce(self, W: torch.Tensor) -> torch.Tensor:
        """Mean of ``W (..., n, F·n)`` over each orbit: the filters ``(..., F, n)`` of its invariant part
        (zero outside the window)."""
        w = W.unflatten(-1, (self.filters, self.n)).movedim(-3, -2)        # (..., F, n_i, n_j)
        flat = w.flatten(-2)
        idx = self.disp.to(W.device).flatten().expand(flat.shape)
        k = torch.zeros(*flat.shape[:-1], self.n, dtype=W.dtype, device=W.device).scatter_add_(-1, idx, flat)
        return k * (self.mask.to(W.device) / self.n)

    def project(self, W: torch.Tensor) -> torch.Tensor:
        """The orthogonal projection of ``W (..., n, F·n)`` onto translation-invariant weights in the window."""
        return self.expand(self.reduce(W))

    def project_visible(self, a: torch.Tensor) -> torch.Tensor:
        """Visible biases ``(..., n)`` -> their mean on every site."""
        return a.mean(-1, keepdim=True).expand_as(a).contiguous()

    def project_hidden(self, b: torch.Tensor) -> torch.Tensor:
        """Hidden biases ``(..., F·n)`` -> each filter's mean on all its units."""
        return b.unflatten(-1, (self.filters, self.n)).mean(-1, keepdim=True).expand(
            *b.shape[:-1], self.filters, self.n).flatten(-2).contiguous()

    def project_all(self, W: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``(W, a, b)`` projected (gradients or parameters alike)."""
        return self.project(W), self.project_visible(a), self.project_hidden(b)
