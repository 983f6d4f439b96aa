"""The VAE's autoregressive decoder: a normalised law, causal logits, and an ancestral sampler that draws
from that law exactly (3×3 lattices, all 512 states enumerated).

The sampler test is a chi-square of 200,000 ancestral draws against the enumerated law of a randomly
initialised head (its most probable state has p = 0.23; states with fewer than 5 expected counts merged),
rule p < 1e-3.  Measured power (``python benchmarks/power.py autoregressive``: 200 repetitions of exact
independent draws with the most probable state's weight raised): 3% is rejected 9/200 times, 5% 157/200
and 10% 200/200; the exact law 0/200.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from test_gibbs import chi2_pvalue

from physgen.errors import UserError
from physgen.models.autoregressive import AutoregressiveHead
from physgen.models.base import DataSpec
from physgen.models.vae import VAE, ConvVAE, ConvVAEConfig, VAEConfig

GLOBAL = pytest.mark.parametrize("global_mean,periodic", [(False, False), (True, False), (False, True), (True, True)],
                                 ids=["window", "window+mean", "torus", "torus+mean"])

L, CONTEXT, N_DRAWS = 3, 2, 200_000
STATES = torch.tensor(list(itertools.product([0.0, 1.0], repeat=L * L))).reshape(-1, L, L)


def head_and_context(seed: int = 0, global_mean: bool = False, periodic: bool = False
                     ) -> tuple[AutoregressiveHead, torch.Tensor]:
    """A randomly initialised head with weights scaled up (a law far from uniform) and one context map;
    ``global_mean`` adds the running mean of the earlier spins to every site's input, ``periodic`` wraps
    the window round the torus."""
    torch.manual_seed(seed)
    head = AutoregressiveHead(CONTEXT, kernel=3, width=16, global_mean=global_mean, periodic=periodic)
    with torch.no_grad():
        for p in head.parameters():
            p.mul_(3.0)
    return head, torch.randn(1, CONTEXT, L, L)


def exact_law(seed: int = 0, global_mean: bool = False, periodic: bool = False) -> np.ndarray:
    """p(x | h) of every 3×3 state (raster order of ``STATES``), from the teacher-forced logits."""
    head, h = head_and_context(seed, global_mean, periodic)
    states = STATES.double()
    with torch.no_grad():
        logits = head.double()(2 * states - 1, h.double().expand(len(states), -1, -1, -1))
        log_p = -torch.nn.functional.binary_cross_entropy_with_logits(logits, states, reduction="none").sum((1, 2))
    return log_p.exp().numpy()


def state_index(bits: torch.Tensor) -> np.ndarray:
    weights = 2 ** torch.arange(L * L - 1, -1, -1)
    return (bits.reshape(len(bits), -1).long() * weights).sum(1).numpy()


@GLOBAL
def test_the_law_is_normalised(global_mean, periodic):
    """Σ_x p(x) = 1 holds only if no logit sees its own site or a later one."""
    assert exact_law(0, global_mean, periodic).sum() == pytest.approx(1.0, abs=1e-12)
    assert exact_law(1, global_mean, periodic).sum() == pytest.approx(1.0, abs=1e-12)


@GLOBAL
def test_logits_depend_only_on_earlier_sites(global_mean, periodic):
    head, _ = head_and_context(0, global_mean, periodic)
    x = torch.randint(0, 2, (1, 5, 5)).float() * 2 - 1
    for i in range(25):
        y = x.clone().reshape(-1)
        y[i:] = -y[i:]
        changed = head(x, torch.zeros(1, CONTEXT, 5, 5)) != head(y.reshape(1, 5, 5), torch.zeros(1, CONTEXT, 5, 5))
        assert not changed.reshape(-1)[:i + 1].any()


@GLOBAL
def test_ancestral_sampling_draws_the_exact_law(global_mean, periodic):
    head, h = head_and_context(0, global_mean, periodic)
    bits = head.sample(h.expand(N_DRAWS, -1, -1, -1), generator=torch.Generator().manual_seed(0))
    counts = torch.bincount(torch.from_numpy(state_index(bits)), minlength=2 ** (L * L))
    assert chi2_pvalue(counts, torch.from_numpy(exact_law(0, global_mean, periodic))) > 1e-3


def test_the_periodic_window_sees_across_the_boundary():
    """On a 5×5 torus the last site of a row sees the row's first site, and a site of the last row the
    first row; on the open lattice neither does."""
    x = torch.randint(0, 2, (1, 5, 5), generator=torch.Generator().manual_seed(0)).float() * 2 - 1
    for periodic in (False, True):
        head, _ = head_and_context(0, periodic=periodic)
        for flip, site in (((1, 0), (1, 4)), ((0, 2), (4, 2))):
            y = x.clone()
            y[0, flip[0], flip[1]] *= -1
            h = torch.zeros(1, CONTEXT, 5, 5)
            assert bool(head(x, h)[0, site[0], site[1]] != head(y, h)[0, site[0], site[1]]) == periodic


@pytest.mark.parametrize("cls,config", [(VAE, VAEConfig), (ConvVAE, ConvVAEConfig)])
def test_spin_lattices_get_the_autoregressive_decoder_by_default(cls, config):
    spec = DataSpec("spins", (8, 8))
    model = cls(config(**{**cls.defaults(spec)["model"], "latent": 4}), spec)
    assert model.autoregressive and (model.head.global_mean is not None) == (cls is VAE)   # (measured on vae)
    x = torch.randint(0, 2, (6, 8, 8)).float() * 2 - 1
    elbo, _ = model.log_prob(x, method="elbo", k=8, generator=torch.Generator().manual_seed(0))
    iwae, _ = model.log_prob(x, method="iwae", k=8, generator=torch.Generator().manual_seed(0))
    assert (elbo <= iwae + 1e-5).all()
    draws = model.sample(5, generator=torch.Generator().manual_seed(0))
    assert draws.shape == (5, 8, 8) and set(draws.unique().tolist()) <= {-1.0, 1.0}
    binary = DataSpec("binary", (8, 8))
    assert "decoder" not in cls.defaults(binary).get("model", {})
    # the dataclass default is what runs made before the option did: their checkpoints still load
    assert not cls(config(latent=4), spec).autoregressive
    window_only = cls(config(latent=4, decoder="autoregressive"), spec)
    assert window_only.head.global_mean is None and "head.global_mean.weight" not in window_only.state_dict()


def test_autoregressive_decoder_refuses_what_it_cannot_model():
    with pytest.raises(UserError, match="Bernoulli or spin"):
        VAE(VAEConfig(decoder="autoregressive"), DataSpec("continuous", (3,)))
    with pytest.raises(UserError, match="lattices of shape"):
        VAE(VAEConfig(decoder="autoregressive"), DataSpec("binary", (64,)))
    with pytest.raises(UserError, match="ar_kernel"):
        VAEConfig(ar_kernel=4)
    with pytest.raises(UserError, match="model.decoder"):
        VAEConfig(decoder="pixelcnn")
