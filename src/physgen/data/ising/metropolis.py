"""Checkerboard Metropolis for the 2D Ising model, vectorised over chains *and* temperatures (torch).

Model (periodic L×L, L even, spins s = ±1)::

    E(s) = -J Σ_<ij> s_i s_j - h Σ_i s_i,    ΔE_i = 2 s_i (J Σ_{j∈nn(i)} s_j + h),

and a site flips with probability min(1, exp(-β ΔE_i)) (Metropolis et al. 1953; ΔE = 0: see below).
All ``M`` chains (any mix of temperatures, one β per chain) are updated at once; device and dtype come
from the spin tensor, so the same code runs on CPU and CUDA.

Layout.  The lattice is split into four (L/2)×(L/2) sublattices ``A = s[0::2, 0::2]``, ``B = s[0::2, 1::2]``,
``C = s[1::2, 0::2]``, ``D = s[1::2, 1::2]``; A∪D and B∪C are the two checkerboard colours.  With indices
mod L/2 the neighbours are::

    A[i,j]: B[i,j-1] B[i,j] C[i-1,j] C[i,j]        D[i,j]: C[i,j] C[i,j+1] B[i,j] B[i+1,j]
    B[i,j]: A[i,j] A[i,j+1] D[i-1,j] D[i,j]        C[i,j]: D[i,j-1] D[i,j] A[i,j] A[i+1,j]

Each sublattice carries one ghost row and one ghost column (copies of the opposite edge), so every
neighbour term is a strided *view*: no ``torch.roll`` copies and no wasted half-lattice work.

Acceptance.  Moves with ΔE < 0 are always accepted, ΔE > 0 with e^{-βΔE} (Metropolis), and ΔE = 0 with
p₀ = max(1/2, e^{-4β|J|}) < 1.  (With p₀ = 1, checkerboard Metropolis is *reducible*: a state in which
every spin has exactly two aligned neighbours flips deterministically back and forth and can be neither
entered nor left, so on small lattices random starts that land there bias the samples — our L = 4
chi-square tests saw exactly that.  Any p₀ keeps detailed balance; p₀ < 1 restores ergodicity.)

Exactness.  A uniform integer r is compared with the integer threshold T = round(p · 2^k), so
P(accept) = T / 2^k differs from p by at most 2^-(k+1).  At h = 0, J > 0 (the fast path) the three
nested thresholds T₀ ≥ T₄ ≥ T₈ (ΔE = 0, 4J, 8J) are compared with r = b·2^32 + u, a 40-bit integer whose
top byte b is drawn for every site and whose low 32 bits u only where b equals a threshold's top byte
(≈3/256 of the sites), so k = 40 at the cost of ~1 random byte per site.  The per-site level
ℓ = [r < T₀] + [r < T₄] + [r < T₈] gives: flip ⟺ s_i Σ s_j ≤ 2ℓ − 2 (int8 arithmetic throughout;
thresholds are pre-expanded, because torch compares broadcast operands far slower than same-shape
ones).  Other J, h use 32-bit r (k = 32) and a 10-entry per-chain threshold table indexed by
(s_i Σ s_j, s_i).  Random bits: on CPU NumPy's PCG64 ``random_raw`` words reinterpreted as bytes/int32;
on CUDA ``torch.Tensor.random_`` on the device.

Threads.  On CPU a sweep is ~50 short element-wise torch operations, each a parallel region of its own
when torch runs several threads.  When another process keeps a core busy, every region waits for a
descheduled thread, and a 2-thread sweep on a fully loaded 2-core machine ran many times slower than a
1-thread one (benchmarks/records/training.md).  So by default (``threads=None``) the engine runs its CPU
work on one torch thread — whatever ``torch.get_num_threads()`` is — and restores the caller's setting
afterwards; the samples do not depend on the thread count.  ``threads=n`` uses ``n`` threads, which pays
only on an otherwise idle machine (``benchmarks/ising.py`` measures both).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from physgen.threads import torch_threads

_TWO32 = 2 ** 32


class RandomBits:
    """Uniform random bits on a device, from one seed: ``uint8(shape)`` and ``int32(shape)`` tensors.

    CPU: NumPy PCG64 ``random_raw`` words reinterpreted as bytes/int32 (fast, bulk).  CUDA: ``random_``
    over the full int64 range with a device ``torch.Generator``, reinterpreted the same way.
    """

    def __init__(self, seed: int, device: torch.device):
        self.device = torch.device(device)
        if self.device.type == "cpu":
            self._bits = np.random.PCG64(np.random.SeedSequence(seed))
        else:
            self._gen = torch.Generator(device=self.device)
            self._gen.manual_seed(int(np.random.SeedSequence(seed).generate_state(1, np.uint64)[0] >> 1))

    def _words(self, n_bytes: int) -> torch.Tensor:
        n64 = (n_bytes + 7) // 8
        if self.device.type == "cpu":
            return torch.from_numpy(self._bits.random_raw(n64).view(np.int64))
        return torch.empty(n64, dtype=torch.int64, device=self.device).random_(-2 ** 63, None, generator=self._gen)

    def uint8(self, shape: tuple[int, ...]) -> torch.Tensor:
        n = math.prod(shape)
        return self._words(n).view(torch.uint8)[:n].view(shape)

    def int32(self, shape: tuple[int, ...]) -> torch.Tensor:
        n = math.prod(shape)
        return self._words(4 * n).view(torch.int32)[:n].view(shape)


def _flatnonzero(mask: torch.Tensor) -> torch.Tensor:
    """Flat indices of True entries (NumPy on CPU, where it is much faster than torch.nonzero)."""
    if mask.device.type == "cpu":
        return torch.from_numpy(np.flatnonzero(mask.numpy()))
    return torch.nonzero(mask.reshape(-1)).squeeze(1)


def _thresholds(p: torch.Tensor) -> torch.Tensor:
    """Probabilities p ∈ [0, 1] -> int64 thresholds round(p · 2^32) ∈ [0, 2^32]."""
    return torch.round(p.clamp(0.0, 1.0) * float(_TWO32)).to(torch.int64)


class CheckerboardMetropolis:
    """State and sweeps of ``M`` independent Metropolis chains on periodic L×L lattices.

    Parameters
    ----------
    spins : (M, L, L) int8 tensor of ±1 (L even); its device is used for everything.
    beta : (M,) inverse temperature of each chain.
    J, h : coupling and field.
    seed : seed of the random bits.
    threads : torch threads for the CPU work (default 1, see the module docstring; ignored on CUDA).
    """

    def __init__(self, spins: torch.Tensor, beta, *, J: float = 1.0, h: float = 0.0, seed: int = 0,
                 threads: int | None = None):
        if spins.ndim != 3 or spins.shape[1] != spins.shape[2] or spins.shape[1] % 2:
            raise ValueError(f"spins must be (M, L, L) with L even, got {tuple(spins.shape)}")
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
        self.device = spins.device
        self.threads = (threads or 1) if self.device.type == "cpu" else None
        self.M, self.L = int(spins.shape[0]), int(spins.shape[1])
        self.J, self.h = float(J), float(h)
        self.beta = torch.as_tensor(beta, dtype=torch.float64).reshape(-1).to(self.device)
        if self.beta.numel() != self.M:
            raise ValueError(f"beta has {self.beta.numel()} entries for {self.M} chains")
        self.bits = RandomBits(seed, self.device)
        self.fast = self.h == 0.0 and self.J > 0.0
        self._make_tables()
        self._alloc()
        self.set_spins(spins)

    # ---- set-up -----------------------------------------------------------------------------------
    def _make_tables(self) -> None:
        beta, M, h = self.beta, self.M, self.L // 2
        p4 = torch.exp(-4.0 * beta * abs(self.J))
        p0 = torch.clamp(p4, min=0.5)                                  # ΔE = 0 (see module docstring)
        if self.fast:   # 40-bit thresholds T = round(p 2^40); their top byte, expanded to the random-byte shape
            p = torch.stack([p0, p4, p4 * p4], 1)                      # ΔE = 0, 4J, 8J: nested
            self.t40 = torch.round(p * 2.0 ** 40).to(torch.int64)      # (M, 3)
            top = (self.t40 >> 32).clamp(max=255).to(torch.uint8)
            self.top = [top[:, k].view(1, M, 1, 1).expand(4, M, h, h).contiguous() for k in range(3)]
        else:           # class k = (s Σ s_j + 4) + (s + 1)/2  ->  ΔE = 2 (J (s Σ s_j) + h s)
            k = torch.arange(10, device=self.device)
            sbit = k % 2
            d_e = 2.0 * (self.J * (k - sbit - 4) + self.h * (2 * sbit - 1)).to(torch.float64)
            p = torch.exp(-beta[:, None] * d_e[None, :]).clamp(max=1.0)
            p = torch.where(d_e[None, :] == 0, p0[:, None], p)
            self.table = _thresholds(p)                                 # (M, 10)

    def _alloc(self) -> None:
        h, M = self.L // 2, self.M
        pad = dict(dtype=torch.int8, device=self.device)
        self.Ap, self.Bp, self.Cp, self.Dp = (torch.empty(M, h + 1, h + 1, **pad) for _ in range(4))
        self.nb = torch.empty(M, h, h, **pad)
        self._flip = torch.empty(M, h, h, dtype=torch.bool, device=self.device)
        self._mask = torch.empty(M, h, h, dtype=torch.uint8, device=self.device)
        self._bufs = [torch.empty(4, M, h, h, dtype=torch.bool, device=self.device) for _ in range(3)]
        self._level = torch.empty(4, M, h, h, dtype=torch.int8, device=self.device)

    def _views(self):
        """Real data views and the four neighbour views of each sublattice."""
        h, Ap, Bp, Cp, Dp = self.L // 2, self.Ap, self.Bp, self.Cp, self.Dp
        A, B, C, D = Ap[:, :h, :h], Bp[:, :h, 1:], Cp[:, 1:, :h], Dp[:, 1:, 1:]
        return {
            "A": (A, (Bp[:, :h, :h], B, Cp[:, :h, :h], C)),
            "D": (D, (C, Cp[:, 1:, 1:], B, Bp[:, 1:, 1:])),
            "B": (B, (A, Ap[:, :h, 1:], Dp[:, :h, 1:], D)),
            "C": (C, (Dp[:, 1:, :h], D, A, Ap[:, 1:, :h])),
        }

    def _ghosts(self, names: str) -> None:
        h = self.L // 2
        if "A" in names:
            self.Ap[:, :h, h] = self.Ap[:, :h, 0]
            self.Ap[:, h, :h] = self.Ap[:, 0, :h]
        if "D" in names:
            self.Dp[:, 1:, 0] = self.Dp[:, 1:, h]
            self.Dp[:, 0, 1:] = self.Dp[:, h, 1:]
        if "B" in names:
            self.Bp[:, :h, 0] = self.Bp[:, :h, h]
            self.Bp[:, h, 1:] = self.Bp[:, 0, 1:]
        if "C" in names:
            self.Cp[:, 0, :h] = self.Cp[:, h, :h]
            self.Cp[:, 1:, h] = self.Cp[:, 1:, 0]

    # ---- state ------------------------------------------------------------------------------------
    def set_spins(self, spins: torch.Tensor) -> None:
        """Load an (M, L, L) ±1 configuration."""
        v = self._views()
        spins = spins.to(device=self.device, dtype=torch.int8)
        v["A"][0].copy_(spins[:, 0::2, 0::2])
        v["B"][0].copy_(spins[:, 0::2, 1::2])
        v["C"][0].copy_(spins[:, 1::2, 0::2])
        v["D"][0].copy_(spins[:, 1::2, 1::2])
        self._ghosts("ABCD")

    def spins(self) -> torch.Tensor:
        """The current configuration, (M, L, L) int8 (a new tensor)."""
        v = self._views()
        out = torch.empty(self.M, self.L, self.L, dtype=torch.int8, device=self.device)
        out[:, 0::2, 0::2], out[:, 0::2, 1::2] = v["A"][0], v["B"][0]
        out[:, 1::2, 0::2], out[:, 1::2, 1::2] = v["C"][0], v["D"][0]
        return out

    def _neighbour_sum(self, terms) -> torch.Tensor:
        nb = torch.add(terms[0], terms[1], out=self.nb)
        return nb.add_(terms[2]).add_(terms[3])

    def energy_magnetization(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-spin energy e = E/L² and magnetization m = Σ s / L², each (M,) float64.

        Every bond joins the two colours, so Σ_<ij> s_i s_j = Σ_{A∪D} s_i Σ_{j∈nn(i)} s_j.
        """
        with torch_threads(self.threads):
            return self._energy_magnetization()

    def _energy_magnetization(self) -> tuple[torch.Tensor, torch.Tensor]:
        v, M = self._views(), self.M
        total = sum(v[k][0].reshape(M, -1).sum(1, dtype=torch.int64) for k in "ABCD")
        bonds = 0
        for k in "AD":
            x, terms = v[k]
            bonds = bonds + (self._neighbour_sum(terms) * x).reshape(M, -1).sum(1, dtype=torch.int64)
        n = float(self.L * self.L)
        e = (-self.J * bonds.to(torch.float64) - self.h * total.to(torch.float64)) / n
        return e, total.to(torch.float64) / n

    # ---- dynamics ---------------------------------------------------------------------------------
    def sweep(self, n: int = 1) -> None:
        """``n`` full sweeps: each sweep updates colour A∪D, then B∪C (M·L² flip attempts)."""
        with torch_threads(self.threads):
            self._sweeps(int(n))

    def _sweeps(self, n: int) -> None:
        h = self.L // 2
        for _ in range(n):
            if self.fast:
                level = self._levels(self.bits.uint8((4, self.M, h, h)))
            else:
                level = self.bits.int32((4, self.M, h, h))
            v = self._views()
            for i, k in enumerate("ADBC"):
                self._update(*v[k], level[i])
                if k in "DC":
                    self._ghosts("AD" if k == "D" else "BC")

    def _levels(self, b: torch.Tensor) -> torch.Tensor:
        """Random bytes b (4, M, h, h) -> int8 flip bounds 2ℓ − 2, ℓ = Σ_k [r < T_k], r = b·2^32 + u.

        The top byte decides unless it equals a threshold's top byte; only those sites draw the 32 low
        bits u, so every comparison is exact at 40 bits.  (The result is a reused buffer.)
        """
        lt, tie, eq = self._bufs                               # preallocated: no page faults per sweep
        level = self._level.zero_()
        tie.zero_()
        for top in self.top:
            level.add_(torch.lt(b, top, out=lt).view(torch.int8))
            tie.logical_or_(torch.eq(b, top, out=eq))
        if self.device.type == "cpu":
            self._ties_numpy(b.numpy(), tie.numpy(), level.numpy())
        else:
            idx = _flatnonzero(tie)
            if idx.numel():
                chain = (idx // (level[0, 0].numel())) % self.M
                low = self.bits.int32((idx.numel(),)).to(torch.int64) & 0xFFFFFFFF
                r = (b.reshape(-1)[idx].to(torch.int64) << 32) | low
                level.view(-1)[idx] = (r[:, None] < self.t40[chain]).sum(1, dtype=torch.int8)
        return level.mul_(2).sub_(2)

    def _ties_numpy(self, b: np.ndarray, tie: np.ndarray, level: np.ndarray) -> None:
        """The tie resolution of :meth:`_levels` on CPU, in place on NumPy views of the same buffers and
        with the same random words: ~10 operations on ~1% of the sites, where NumPy's per-call cost is
        a fraction of torch's (benchmarks/records/training.md)."""
        idx = np.flatnonzero(tie)
        if idx.size:
            chain = (idx // level[0, 0].size) % self.M
            low = self.bits.int32((idx.size,)).numpy().astype(np.int64) & 0xFFFFFFFF
            r = (b.reshape(-1)[idx].astype(np.int64) << 32) | low
            t40 = self.t40.numpy()
            n = (r < t40[chain, 0]).view(np.int8)                     # one 1-D comparison per threshold
            n += r < t40[chain, 1]
            n += r < t40[chain, 2]
            level.reshape(-1)[idx] = n

    def _update(self, x: torch.Tensor, terms, level: torch.Tensor) -> None:
        """Update sublattice ``x`` in place; ``level``: flip bounds (fast path) or int32 random words."""
        prod = self._neighbour_sum(terms).mul_(x)                       # s_i Σ s_j ∈ {-4..4}
        if self.fast:
            flip = torch.le(prod, level, out=self._flip)
        else:
            k = (prod + 4).add_((x + 1) >> 1).to(torch.int64).reshape(self.M, -1)
            thr = torch.gather(self.table, 1, k).view_as(x)
            flip = torch.lt(level.to(torch.int64) + 2 ** 31, thr, out=self._flip)  # r_u < round(p 2^32)
        mask = torch.mul(flip.view(torch.uint8), 254, out=self._mask)
        x.view(torch.uint8).bitwise_xor_(mask)                        # ±1 <-> ∓1 (0x01 ^ 0xFE = 0xFF)
