"""VAE latent spaces: digits coloured by class, Ising coloured by temperature, and the decoded latent grid.

The course's Keras VAE figures (Kingma & Welling 2014) with ``physgen.training.train("vae", ...)`` and the
latent tools of ``physgen.models.diagnostics`` (``latent_scatter``, ``latent_grid``, ``encode_means``):

1. binarized 8×8 digits, 2-D latent space: scatter of the posterior means μ(x) coloured by digit, the
   decoder's means over a grid of (z₁, z₂), and held-out ELBO / IWAE log-likelihood bounds
   (Burda et al. 2016) in nats;
2. 2D Ising configurations at temperatures across Tc (Bernoulli "spin" decoder): the latent scatter
   coloured by temperature — ordered states sit in two lobes (m ≈ ±1), disordered ones at the centre —
   and the largest |Pearson r| between a latent coordinate and the magnetization.

    python examples/vae_latent.py [--quick] [--out DIR] [--seed S]
"""
from __future__ import annotations

import warnings

import numpy as np

from _common import Gallery, parser

NAME = "vae_latent"


def digits(g: Gallery, quick: bool, seed: int) -> None:
    import torch
    from matplotlib.figure import Figure

    from physgen.data import save
    from physgen.data.digits import load_digits
    from physgen.models.diagnostics import latent_grid, latent_scatter
    from physgen.training import load_run, train

    ds = load_digits(binarize=0.5)
    perm = np.random.default_rng(seed).permutation(len(ds))
    tr, te = ds.subset(perm[:1500]), ds.subset(perm[1500:])
    save(tr, g.out / "data" / "digits_train.h5", overwrite=True)
    epochs = 40 if quick else 300
    train("vae", data=g.out / "data" / "digits_train.h5", out=g.out / "run_digits", overwrite=True, epochs=epochs,
          seed=seed, sets=["model.latent=2", "model.hidden=[128,128]", "train.progress=false"])
    run = load_run(g.out / "run_digits", which="latest")
    k = 20 if quick else 1000
    elbo, _ = run.log_prob(te, method="elbo", seed=seed)
    iwae, _ = run.log_prob(te, method="iwae", seed=seed, k=k)
    g.record("digits_test_elbo_nats", float(elbo.mean()))
    g.record(f"digits_test_iwae{k}_nats", float(iwae.mean()))
    g.record("digits_iwae_minus_elbo", float(iwae.mean() - elbo.mean()))
    x = torch.as_tensor(ds.samples, dtype=torch.float32)
    fig = latent_scatter(run.model, x, ds.labels, label="digit")
    fig.axes[0].set_title(f"VAE latent means, binarized digits ({epochs} epochs)")
    for c in fig.axes[0].collections:
        c.set_cmap("tab10")
    g.save(fig, "latent_digits")
    img = latent_grid(run.model, n=15, span=2.0)
    fig = Figure(figsize=(6, 6))
    ax = fig.subplots()
    ax.imshow(img, cmap="gray_r", vmin=0, vmax=1)
    ax.set(title="decoder means over (z₁, z₂) ∈ [−2, 2]²", xticks=[], yticks=[])
    g.save(fig, "latent_grid_digits")


def ising(g: Gallery, quick: bool, seed: int) -> None:
    import torch

    from physgen.analysis.pca import pearson
    from physgen.data import save
    from physgen.data.ising import ThinningWarning, simulate
    from physgen.models.diagnostics import encode_means, latent_scatter
    from physgen.physics.observables import magnetization
    from physgen.training import load_run, train

    temps = [1.5, 2.0, 2.27, 2.6, 3.0, 3.5] if quick else [1.5, 1.8, 2.0, 2.2, 2.27, 2.4, 2.6, 3.0, 3.5]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ThinningWarning)
        ds = simulate(16, temps, 150 if quick else 1000, algorithm="wolff", burn_in=50, thin=3, chains=25, seed=seed)
    save(ds, g.out / "data" / "ising_L16.h5", overwrite=True)
    epochs = 30 if quick else 200
    train("vae", data=g.out / "data" / "ising_L16.h5", out=g.out / "run_ising", overwrite=True, epochs=epochs,
          seed=seed, sets=["model.latent=2", "train.progress=false"])
    model = load_run(g.out / "run_ising", which="latest").model
    x = torch.as_tensor(ds.samples, dtype=torch.float32)
    mu = encode_means(model, x)
    m = magnetization(ds.samples)
    r = max(abs(pearson(mu[:, d], m)) for d in range(mu.shape[1]))
    g.record("ising_latent_magnetization_abs_corr", r, f"{r:.3f} (max over latent coordinates of |r(μ_d, m)|)")
    radius = np.linalg.norm(mu, axis=1)
    temps_all = ds.conditions["temperature"]
    g.record("ising_latent_radius_by_T", {f"{t:g}": float(radius[temps_all == t].mean()) for t in temps})
    fig = latent_scatter(model, x, temps_all, label="temperature")
    for c in fig.axes[0].collections:
        c.set_cmap("coolwarm")
    fig.axes[0].set_title(f"VAE latent means, L = 16 Ising ({epochs} epochs)")
    g.save(fig, "latent_ising")


def main(argv=None) -> dict:
    args = parser(NAME, __doc__).parse_args(argv)
    g = Gallery(NAME, args)
    (g.out / "data").mkdir(exist_ok=True)
    digits(g, args.quick, args.seed)
    ising(g, args.quick, args.seed)
    return g.finish()


if __name__ == "__main__":
    main()
