"""Visible units for grey levels k/N: binomial (the counts n = N v) and softmax (one category of N + 1 per
pixel). Energies, log Z, the closed-form CD gradient and the Gibbs sampler against exact enumeration over
all (N + 1)^n visible states.

The sampler test uses the decision rule of tests/test_gibbs.py (Fisher-combined chi-square and largest-bin
p-values over five laws, both > 1e-3) with 20,000 draws per law over 27 (binomial) or 9 (softmax) states;
its power is checked here: the same draws judged against a law whose one weight is off by 0.2 are rejected
(test_sampler_test_has_power).  Over generator seeds s + 1000 k (k = 0–19, one thread; the laws kept;
benchmarks/test_margins.py rbm_levels) the combined p are 0.027–1.0 (false-alarm rate 10⁻³), the shifted law's
at most 10⁻³⁵ every seed, and AIS log Z is 0.0027 ± 0.0019 (binomial, largest 0.0058) and 0.0043 ± 0.0035
(softmax, largest 0.011) nats off, against 0.05 (25 and 13 sd).
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from physgen.data.digits import load_digits
from physgen.errors import UserError
from physgen.models.base import DataSpec, grey_grid
from physgen.models.rbm import RBM, RBMConfig, RBMEnergy
from physgen.models.rbm.partition import all_states, exact_log_z
from physgen.samplers.ais import ais_log_z
from physgen.samplers.gibbs import gibbs_sample
from test_gibbs import consistent, histogram_pvalues

LEVELS, N_HID = 2, 3
N_PIX = {"binomial": 3, "softmax": 2}
UNITS = ("binomial", "softmax")


def width(visible: str, n_pix: int, levels: int) -> int:
    """Visible units of ``n_pix`` pixels: one per pixel (binomial), N + 1 per pixel (softmax)."""
    return n_pix * (levels + 1) if visible == "softmax" else n_pix


def level_rbm(visible: str, seed: int, levels: int = LEVELS, n_pix: int | None = None, m: int = N_HID,
              shift: float = 0.0) -> RBMEnergy:
    g = torch.Generator().manual_seed(200 + seed)
    n = width(visible, N_PIX[visible] if n_pix is None else n_pix, levels)
    W = torch.randn(n, m, generator=g, dtype=torch.float64)
    W[0, 0] += shift
    return RBMEnergy(visible, W, 0.5 * torch.randn(n, generator=g, dtype=torch.float64),
                     0.5 * torch.randn(m, generator=g, dtype=torch.float64), levels=levels)


def all_levels(n_pix: int, levels: int) -> torch.Tensor:
    """Every row of ``n_pix`` pixel levels k ``((N + 1)^n_pix, n_pix)`` int64, the last pixel fastest."""
    return torch.tensor(list(itertools.product(range(levels + 1), repeat=n_pix)), dtype=torch.int64)


def as_units(e: RBMEnergy, k: torch.Tensor) -> torch.Tensor:
    """Pixel levels k -> visible units: k/N (binomial) or one-hot groups (softmax), float64."""
    if e.visible == "softmax":
        return torch.nn.functional.one_hot(k, e.levels + 1).to(torch.float64).flatten(-2)
    return k.to(torch.float64) / e.levels


def n_pixels(e: RBMEnergy) -> int:
    return e.n_visible // (e.levels + 1) if e.visible == "softmax" else e.n_visible


def brute_log_z(e: RBMEnergy) -> float:
    """log Σ_{v, h} exp(−E(v, h)) with the base measure Π C(N, n_i) of binomial units, term by term."""
    terms = []
    for k in all_levels(n_pixels(e), e.levels):
        u = as_units(e, k)
        x = u * e.levels if e.visible == "binomial" else u
        log_c = sum(math.log(math.comb(e.levels, int(j))) for j in k) if e.visible == "binomial" else 0.0
        for h in all_states(e.n_hidden, dtype=torch.float64):
            terms.append(float(e.a @ x + e.b @ h + x @ e.W @ h) + log_c)
    return float(torch.logsumexp(torch.tensor(terms, dtype=torch.float64), 0))


@pytest.mark.parametrize("visible", UNITS)
def test_free_energy_and_log_z_match_enumeration(visible):
    e = level_rbm(visible, 0)
    v = as_units(e, all_levels(n_pixels(e), LEVELS))
    hs = all_states(N_HID, dtype=torch.float64)
    joint = -e.energy(v[:, None].expand(-1, len(hs), -1), hs[None].expand(len(v), -1, -1))
    torch.testing.assert_close(e.free_energy(v), -torch.logsumexp(joint, 1))
    assert float(exact_log_z(e)) == pytest.approx(brute_log_z(e), abs=1e-9)
    base = RBMEnergy(visible, torch.zeros_like(e.W), e.a, torch.zeros_like(e.b), levels=LEVELS)
    assert float(base.log_z_base()) == pytest.approx(brute_log_z(base), abs=1e-9)


def test_binomial_visible_conditional():
    """Largest deviations over seeds 1000 k (k = 0–19, one thread): mean 0.0053 ± 0.0023, largest 0.0099, against
    0.03 (10.7 sd); variance 0.0074 ± 0.0044, largest 0.023, against 0.05 (9.7 sd)."""
    e = level_rbm("binomial", 1, levels=4)
    h = torch.tensor([[1.0, 0.0, 1.0]], dtype=torch.float64).expand(40000, -1)
    x = e.sample_visible(h, torch.Generator().manual_seed(0)) * 4
    assert bool((x == x.round()).all()) and float(x.min()) >= 0 and float(x.max()) <= 4
    p = torch.sigmoid(e.visible_field(h[:1]))[0]
    torch.testing.assert_close(x.mean(0), 4 * p, atol=0.03, rtol=0)          # mean N p (SE ≈ 0.005)
    torch.testing.assert_close(x.var(0), 4 * p * (1 - p), atol=0.05, rtol=0)  # variance N p (1 − p)


def exact_probs(e: RBMEnergy) -> torch.Tensor:
    return torch.softmax(-e.free_energy(as_units(e, all_levels(n_pixels(e), e.levels))), 0)


def state_counts(e: RBMEnergy, x: torch.Tensor) -> torch.Tensor:
    """Counts of each pixel-level row, in the order of :func:`all_levels`."""
    k = (x.unflatten(-1, (-1, e.levels + 1)).argmax(-1) if e.visible == "softmax"
         else (x * e.levels).round().long())
    index = (k * (e.levels + 1) ** torch.arange(k.shape[1] - 1, -1, -1)).sum(1)
    return torch.bincount(index, minlength=(e.levels + 1) ** k.shape[1])


def gibbs_pvalues(visible: str, shift: float = 0.0) -> list[tuple[float, float]]:
    out = []
    for seed in range(5):
        e, g = level_rbm(visible, seed), torch.Generator().manual_seed(seed)
        x = gibbs_sample(e, 20000, generator=g, burn_in=50)
        out.append(histogram_pvalues(state_counts(e, x), exact_probs(level_rbm(visible, seed, shift=shift))))
    return out


@pytest.mark.parametrize("visible", UNITS)
def test_gibbs_matches_exact_distribution(visible):
    p = gibbs_pvalues(visible)
    assert consistent(p), p


@pytest.mark.parametrize("visible", UNITS)
def test_sampler_test_has_power(visible):
    assert not consistent(gibbs_pvalues(visible, shift=0.2))


@pytest.mark.parametrize("visible", UNITS)
def test_ais_matches_exact_log_z(visible):
    e = level_rbm(visible, 2, n_pix=4, m=4)
    r = ais_log_z(e, n_chains=200, n_betas=2000, generator=torch.Generator().manual_seed(0))
    assert abs(r.log_z - float(exact_log_z(e))) < 0.05


def _spec(levels: int | None = 16, shape=(2, 3)) -> DataSpec:
    return DataSpec("image", shape, levels=levels)


@pytest.mark.parametrize("visible", UNITS)
def test_closed_form_gradient_is_the_cd_gradient(visible):
    """∂L/∂W = −(⟨ṽ p(h|ṽ)⟩_data − ⟨ṽ p(h|ṽ)⟩_neg) with ṽ the counts N v (binomial) or the one-hot
    groups (softmax); CD-1, one negative per row."""
    torch.manual_seed(0)
    model = RBM(RBMConfig(visible=visible, n_hidden=4, method="cd", k=1), _spec(levels=4))
    data = torch.randint(0, 5, (32, 6)).float() / 4
    model.ready[0] = 1
    loss, _ = model.loss({"x": data.reshape(32, 2, 3)}, generator=torch.Generator().manual_seed(1))
    loss.backward()
    e, v = model.energy(0).detach(), model.encode(data)
    neg = e.gibbs_step(v, torch.Generator().manual_seed(1))
    scale = 4 if visible == "binomial" else 1
    stat = lambda u: (scale * u[:, :, None] * torch.sigmoid(e.hidden_logits(u))[:, None, :]).mean(0)  # noqa: E731
    torch.testing.assert_close(model.W.grad[0], -(stat(v) - stat(neg)))
    torch.testing.assert_close(model.a.grad[0], -scale * (v.mean(0) - neg.mean(0)))


def test_grey_grid_and_unit_choice():
    digits = load_digits().samples
    assert grey_grid(digits) == 16
    assert grey_grid(np.array([0.0, 0.5, 1.0])) == 2
    assert grey_grid(np.array([0.0, 0.3333, 1.0])) is None        # not on a grid to 1e-5
    assert grey_grid(np.linspace(0, 1, 300)) is None               # more levels than 255 steps
    assert RBM(RBMConfig(), _spec()).visible == "softmax"
    assert RBM(RBMConfig(), _spec(levels=None)).visible == "bernoulli"   # intensities read as probabilities
    assert RBM(RBMConfig(visible="binomial"), _spec()).levels == 16
    for visible in UNITS:
        with pytest.raises(UserError, match=f"model.visible={visible}"):
            RBM(RBMConfig(visible=visible), _spec(levels=None))


@pytest.mark.parametrize("visible", UNITS)
def test_model_trains_and_samples_on_the_grid(visible):
    model = RBM(RBMConfig(visible=visible, n_hidden=4, burn_in=5), _spec(levels=4))
    with pytest.raises(UserError, match="grid k/4"):
        model.loss({"x": torch.full((4, 2, 3), 0.3)}, generator=torch.Generator())
    data = torch.randint(0, 5, (16, 2, 3)).float() / 4
    torch.testing.assert_close(model.decode(model.encode(data.reshape(16, 6))), data.reshape(16, 6))
    loss, _ = model.loss({"x": data}, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(loss)
    x = model.sample(50, generator=torch.Generator().manual_seed(0), init=data)
    assert x.shape == (50, 2, 3) and bool((x * 4 == (x * 4).round()).all())
    assert float(x.min()) >= 0 and float(x.max()) <= 1
