"""Maximum mean discrepancy (Gretton et al. 2012, JMLR 13:723), computed blockwise with torch.

Kernels, for samples x ∈ R^d (rows of ``(N, d)`` arrays):

* **course MMD** (Xu et al. 2018, "An empirical study on evaluation metrics of GANs",
  arXiv:1806.07755, the "calculating scores" recipe): Gaussian kernel
  ``k(a, b) = exp(−‖a−b‖² / (2 σ² D̄))`` whose bandwidth is scaled by the mean pairwise squared distance
  ``D̄ = (1/N²) Σ_ij ‖x_i − x_j‖² = 2 Σ_k Var(x_k)`` of the *real* sample, and the biased (V-statistic)
  estimate ``MMD = sqrt(max(0, mean K_xx + mean K_yy − 2 mean K_xy))``.
* **median heuristic** Gaussian ``exp(−‖a−b‖²/(2 h²))``, h = median pairwise distance of the real
  sample (Gretton et al. 2012, §8), with the unbiased MMD² (U-statistic, diagonals excluded).
* **multi-bandwidth** Gaussian: the mean of Gaussians with h × {1/4, 1/2, 1, 2, 4}, unbiased MMD².
* **polynomial** ``(a·b/d + 1)^4``, unbiased MMD² — the kernel physics distance (KPD) of Kansal et al.
  2023 (arXiv:2211.10295), here with degree 4.

Memory stays bounded: the kernel matrices are never formed; rows are processed in blocks of
``block_size`` (default 256 for d <= 32, cache-resident, else 1024) and only block sums are kept,
accumulated in float64, so a 100k × 100k MMD needs a few block-sized buffers.  Kernels are evaluated
in float32 by default (relative error ~1e-7 on the sums; pass ``dtype=torch.float64`` for exactness);
Gaussian-kernel inputs are centred on the reference mean first (distances are translation invariant)
to avoid cancellation in ‖a‖² + ‖b‖² − 2a·b.  The device follows torch inputs; numpy input goes to
CUDA when available.

The sums are kept per group of consecutive rows, which gives a cheap **group bootstrap**: with rows in
random order each group is i.i.d., and resampling groups with replacement reweights the stored group
sums (no kernel is recomputed);
``Σ_{a≠b} k(x_{s_a}, x_{s_b}) = Σ_gh c_g c_h S_gh − Σ_g c_g D_g`` keeps the U-statistic exact for resamples.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from physgen.errors import UserError

MULTI_SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)


def auto_block(d: int) -> int:
    """Rows per block: small (cache-resident) when distances are cheap, larger when the matmul dominates."""
    return 256 if d <= 32 else 1024


@dataclass(frozen=True)
class Kernel:
    """A kernel evaluated from squared distances and dot products of a block.

    ``kind="gaussian"``: ``mean_s exp(−sq / (2 σ_s²))`` over ``sigmas``;
    ``kind="poly"``: ``(gamma · dot + coef0) ** degree``.
    """

    kind: str
    sigmas: tuple[float, ...] = ()
    degree: int = 4
    gamma: float = 1.0
    coef0: float = 1.0

    def __call__(self, sq: torch.Tensor, dot: torch.Tensor | None) -> torch.Tensor:
        if self.kind == "poly":
            return (dot * self.gamma + self.coef0).pow_(self.degree)
        out = (sq * (-0.5 / self.sigmas[0] ** 2)).exp_()
        for s in self.sigmas[1:]:
            out.add_((sq * (-0.5 / s ** 2)).exp_())
        return out.div_(len(self.sigmas)) if len(self.sigmas) > 1 else out

    def describe(self) -> dict:
        if self.kind == "poly":
            return {"kernel": "polynomial", "degree": self.degree, "gamma": self.gamma, "coef0": self.coef0}
        return {"kernel": "gaussian", "sigmas": [float(s) for s in self.sigmas]}


def as_tensor(x, *, dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
    """``(N, ...)`` array or tensor -> ``(N, d)`` tensor; numpy goes to CUDA when available."""
    if isinstance(x, torch.Tensor):
        device = device or x.device
    elif device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x, device=device)
    return t.reshape(t.shape[0], -1).to(dtype)


def mean_pairwise_sqdist(x) -> float:
    """Exact ``(1/N²) Σ_ij ‖x_i − x_j‖² = 2 Σ_k Var_k(x)`` (biased variances) in O(N d)."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    return float(2.0 * x.var(axis=0).sum())


def median_distance(x, *, max_points: int = 1000, rng: int | np.random.Generator = 0) -> float:
    """Median pairwise Euclidean distance (i < j) of ``x (N, d)``, on at most ``max_points`` random rows."""
    from scipy.spatial.distance import pdist

    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    if len(x) > max_points:
        x = x[np.random.default_rng(rng).choice(len(x), max_points, replace=False)]
    d = pdist(x)
    d = d[d > 0]
    return float(np.median(d)) if d.size else 1.0


def standard_kernels(real, *, sigma: float = 1.0, rng: int | np.random.Generator = 0) -> dict[str, Kernel]:
    """The four kernels, with bandwidths fixed from the real (reference) sample ``(N, d)``."""
    real = np.asarray(real, dtype=np.float64).reshape(len(real), -1)
    dbar = mean_pairwise_sqdist(real) or 1.0
    h = median_distance(real, rng=rng)
    return {"mmd": Kernel("gaussian", (sigma * math.sqrt(dbar),)),
            "mmd2_median": Kernel("gaussian", (h,)),
            "mmd2_multiscale": Kernel("gaussian", tuple(h * s for s in MULTI_SCALES)),
            "kpd": Kernel("poly", degree=4, gamma=1.0 / real.shape[1], coef0=1.0)}


@torch.no_grad()
def block_sums(x: torch.Tensor, y: torch.Tensor | None, kernels: list[Kernel], *, block_size: int | None = None,
               group_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Group sums of kernel matrices, never holding more than one ``block_size²`` block per kernel.

    ``x (N, d)``, ``y (M, d)`` or ``None`` for ``y = x``; rows form consecutive groups of ``group_size``
    (default ``block_size``; blocks are rounded to whole groups).  Returns ``S (K, G_x, G_y)`` float64 with
    ``S[k, g, h] = Σ_{i∈g, j∈h} k(x_i, y_j)``, and for ``y is None`` the diagonal sums
    ``D (K, G_x)``, ``D[k, g] = Σ_{i∈g} k(x_i, x_i)`` (else None).  For ``y is None`` only blocks on and
    above the diagonal are evaluated; the rest follow from symmetry.
    """
    same = y is None
    y = x if same else y
    block_size = block_size or auto_block(x.shape[1])
    g = _group(group_size or block_size, x, y)
    bs = max(1, block_size // g) * g
    n_gx, n_gy = -(-len(x) // g), -(-len(y) // g)
    S = torch.zeros(len(kernels), n_gx, n_gy, dtype=torch.float64, device=x.device)
    D = torch.zeros(len(kernels), n_gx, dtype=torch.float64, device=x.device) if same else None
    yn = (y * y).sum(1)
    need_dot = any(k.kind == "poly" for k in kernels)
    for i0 in range(0, len(x), bs):
        xb = x[i0:i0 + bs]
        xnb = (xb * xb).sum(1)
        for j0 in range(i0 if same else 0, len(y), bs):
            yb, ynb = y[j0:j0 + bs], yn[j0:j0 + bs]
            dot = xb @ yb.T if need_dot else None
            sq = (torch.addmm(xnb[:, None], xb, yb.T, alpha=-2.0) if dot is None
                  else dot.mul(-2.0).add_(xnb[:, None])).add_(ynb[None, :]).clamp_min_(0.0)
            if same and i0 == j0:
                sq.fill_diagonal_(0.0)
            gi, gj = slice(i0 // g, -(-(i0 + len(xb)) // g)), slice(j0 // g, -(-(j0 + len(yb)) // g))
            for k, kernel in enumerate(kernels):
                kb = kernel(sq, dot)
                S[k, gi, gj] = _group_sum(kb, g)
                if same and i0 == j0:
                    D[k, gi] = _group_sum(kb.diagonal()[:, None], g, cols=False)[:, 0]
    if same:  # lower block triangle from the upper one
        upper = torch.arange(n_gx)[:, None] // (bs // g) <= torch.arange(n_gy)[None, :] // (bs // g)
        S = torch.where(upper.to(S.device), S, S.transpose(1, 2))
    return S.cpu(), (D.cpu() if D is not None else None)


def _group(g: int, x: torch.Tensor, y: torch.Tensor) -> int:
    """Group size, never larger than the larger sample (so padding stays small)."""
    return max(1, min(int(g), max(len(x), len(y))))


def _group_sum(kb: torch.Tensor, g: int, cols: bool = True) -> torch.Tensor:
    """Sum a block ``(bi, bj)`` over consecutive groups of ``g`` rows (and columns), zero-padding the rest."""
    pi, pj = (-kb.shape[0]) % g, ((-kb.shape[1]) % g if cols else 0)
    if pi or pj:
        kb = torch.nn.functional.pad(kb, (0, pj, 0, pi))
    gc = g if cols else 1
    return kb.reshape(kb.shape[0] // g, g, kb.shape[1] // gc, gc).sum((1, 3), dtype=torch.float64)


@dataclass
class MMDTerms:
    """Block sums of K_xx, K_yy, K_xy for several kernels, and the MMD estimates they give.

    ``counts_x (G_x,)`` / ``counts_y (G_y,)`` reweight the row groups (a group-bootstrap resample);
    ``None`` means every group once (the full-sample estimate).
    """

    sxx: torch.Tensor
    dxx: torch.Tensor
    syy: torch.Tensor
    dyy: torch.Tensor
    sxy: torch.Tensor
    size_x: np.ndarray
    size_y: np.ndarray

    def estimate(self, k: int, *, unbiased: bool, counts_x=None, counts_y=None) -> float:
        """Unbiased MMD² (``unbiased``) or the course's sqrt(max(0, V-statistic)) for kernel ``k``."""
        cx = torch.as_tensor(np.ones(len(self.size_x)) if counts_x is None else counts_x, dtype=torch.float64)
        cy = torch.as_tensor(np.ones(len(self.size_y)) if counts_y is None else counts_y, dtype=torch.float64)
        nx, ny = float(cx @ torch.as_tensor(self.size_x, dtype=torch.float64)), \
            float(cy @ torch.as_tensor(self.size_y, dtype=torch.float64))
        kxx, kyy, kxy = float(cx @ self.sxx[k] @ cx), float(cy @ self.syy[k] @ cy), float(cx @ self.sxy[k] @ cy)
        if not unbiased:
            return math.sqrt(max(0.0, kxx / nx ** 2 + kyy / ny ** 2 - 2.0 * kxy / (nx * ny)))
        if nx < 2 or ny < 2:
            raise UserError("unbiased MMD² needs at least 2 samples on each side")
        kxx -= float(cx @ self.dxx[k])
        kyy -= float(cy @ self.dyy[k])
        return kxx / (nx * (nx - 1)) + kyy / (ny * (ny - 1)) - 2.0 * kxy / (nx * ny)


def self_sums(x: torch.Tensor, kernels: list[Kernel], block_size: int | None = None,
              group_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(S, D)`` of :func:`block_sums` for ``K_xx``."""
    return block_sums(x, None, kernels, block_size=block_size, group_size=group_size)


def mmd_terms(x: torch.Tensor, y: torch.Tensor, kernels: list[Kernel], *, block_size: int | None = None,
              group_size: int | None = None, x_sums=None, y_sums=None) -> MMDTerms:
    """All group sums for the pair (x, y); pass precomputed ``x_sums``/``y_sums`` to reuse self terms."""
    g = _group(group_size or block_size or auto_block(x.shape[1]), x, y)
    sxx, dxx = x_sums if x_sums is not None else self_sums(x, kernels, block_size, g)
    syy, dyy = y_sums if y_sums is not None else self_sums(y, kernels, block_size, g)
    sxy, _ = block_sums(x, y, kernels, block_size=block_size, group_size=g)
    sizes = lambda n: np.minimum(g, n - g * np.arange(-(-n // g))).astype(np.float64)  # noqa: E731
    return MMDTerms(sxx, dxx, syy, dyy, sxy, sizes(len(x)), sizes(len(y)))


@torch.no_grad()
def _check(x, y, dtype, device, *, center: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Tensors ``(N, d)``, ``(M, d)`` on one device; centred on x's mean (float64) when ``center``."""
    tx, ty = as_tensor(x, dtype=torch.float64, device=device), as_tensor(y, dtype=torch.float64, device=device)
    if tx.shape[1] != ty.shape[1]:
        raise UserError(f"samples have different numbers of features ({tx.shape[1]} and {ty.shape[1]})")
    if len(tx) < 1 or len(ty) < 1:
        raise UserError("MMD needs at least one sample on each side")
    ty = ty.to(tx.device)
    if center:
        mu = tx.mean(0)
        tx, ty = tx - mu, ty - mu
    return tx.to(dtype), ty.to(dtype)


def mmd(x, y, *, sigma: float = 1.0, block_size: int | None = None, dtype: torch.dtype = torch.float32,
        device=None) -> float:
    """The course's MMD: ``sqrt(max(0, mean K_xx + mean K_yy − 2 mean K_xy))`` (see module docstring).

    ``x (N, d)`` is the real (reference) sample fixing ``D̄``; ``y (M, d)`` the generated one.
    """
    tx, ty = _check(x, y, dtype, device, center=True)
    kernel = Kernel("gaussian", (sigma * math.sqrt(mean_pairwise_sqdist(tx.cpu().numpy()) or 1.0),))
    return mmd_terms(tx, ty, [kernel], block_size=block_size).estimate(0, unbiased=False)


def mmd2_unbiased(x, y, *, kernel: str | Kernel = "gaussian", bandwidth: float | None = None,
                  block_size: int | None = None, dtype: torch.dtype = torch.float32, device=None,
                  rng: int | np.random.Generator = 0) -> float:
    """Unbiased MMD² (Gretton et al. 2012, eq. 3) for ``x (N, d)``, ``y (M, d)``, N, M >= 2.

    ``kernel``: ``"gaussian"`` (bandwidth ``h``; default the median heuristic on x), ``"multiscale"``
    (mean over h × {1/4, …, 4}), ``"poly"`` (``(a·b/d + 1)^4``, KPD-style) or a :class:`Kernel`.
    """
    tx, ty = _check(x, y, dtype, device, center=kernel in ("gaussian", "multiscale"))
    if isinstance(kernel, str):
        if kernel not in ("gaussian", "multiscale", "poly"):
            raise UserError(f"unknown kernel {kernel!r} (choose gaussian, multiscale or poly)")
        h = bandwidth if bandwidth is not None else median_distance(tx.cpu().numpy(), rng=rng)
        kernel = {"gaussian": Kernel("gaussian", (h,)),
                  "multiscale": Kernel("gaussian", tuple(h * s for s in MULTI_SCALES)),
                  "poly": Kernel("poly", degree=4, gamma=1.0 / tx.shape[1])}[kernel]
    return mmd_terms(tx, ty, [kernel], block_size=block_size).estimate(0, unbiased=True)


def kpd(x, y, **kwargs) -> float:
    """Kernel physics distance: unbiased MMD² with the polynomial kernel ``(a·b/d + 1)^4``."""
    return mmd2_unbiased(x, y, kernel="poly", **kwargs)
