"""Diffusion models: forward and reverse 1-D trajectories, samples on a 2-D toy and on Ising.

DDPM (Ho, Jain & Abbeel 2020) trained with ``physgen.training.train("ddpm", ...)`` (ε-prediction, linear
schedule, EMA weights):

1. 1-D: a two-Gaussian mixture.  Forward trajectories x_t = √(1−β_t) x_{t−1} + √β_t ε with the model's
   schedule (``physgen.samplers.ddpm.beta_schedule``) turn the data into N(0, 1); reverse trajectories of
   the trained model (ancestral sampling, ``physgen.samplers.ddpm.ddpm_ancestral`` with the model's
   denoiser) carry N(0, 1) back onto the two modes.  Numbers: W1 and the mode weights, generated vs real.
2. 2-D: the ring of 8 Gaussians (exact density known): scatter of samples, mean exact log-density of the
   samples against that of real points, and the course's MMD beside the real-vs-real floor.
3. Ising: a temperature-conditioned DDPM with a small circular-padding U-Net on L = 8 Monte Carlo
   configurations at T = 1.8 and 3.0, sampled with DDIM; ⟨|m|⟩ and ⟨e⟩ of the samples vs Monte Carlo.

    python examples/diffusion.py [--quick] [--out DIR] [--seed S]
"""
from __future__ import annotations

import warnings

import numpy as np

from _common import Gallery, parser

NAME = "diffusion"
TIMESTEPS_1D = 200


def ema(quick: bool) -> str:
    """EMA decay of the sampled weights: physgen's 0.999 averages over ~1000 steps, longer than a quick run."""
    return f"train.ema={0.99 if quick else 0.999}"


def reverse_trajectories(model, n: int, seed: int) -> np.ndarray:
    """``(T + 1, n)`` states of ancestral sampling, recorded at every call of the denoiser."""
    import torch

    from physgen.samplers.ddpm import ancestral_paths

    paths = ancestral_paths(lambda x, t: model.denoiser(x, t, None), (n, 1), model.alpha_bar,
                            generator=torch.Generator().manual_seed(seed), device=model.device, clip=model.data_clip())
    return paths[..., 0].cpu().numpy()


def one_dimensional(g: Gallery, quick: bool, seed: int) -> None:
    from matplotlib.figure import Figure

    from physgen.data import save
    from physgen.data.toys import mixture_1d
    from physgen.metrics import wasserstein
    from physgen.samplers.ddpm import beta_schedule
    from physgen.training import load_run, train

    real = mixture_1d(5000, seed=seed)
    save(real, g.out / "data" / "mixture_1d.h5", overwrite=True)
    train("ddpm", data=g.out / "data" / "mixture_1d.h5", out=g.out / "run_1d", overwrite=True, seed=seed,
          steps=800 if quick else 5000, sets=[f"model.timesteps={TIMESTEPS_1D}", ema(quick), "train.progress=false",
                                                 "data.transform=none"])  # the reverse paths are drawn in data units
    model = load_run(g.out / "run_1d", which="latest").model
    betas = beta_schedule("linear", TIMESTEPS_1D).numpy()
    rng = np.random.default_rng(seed)
    fwd = [real.samples[:30, 0].astype(np.float64)]
    for b in betas:
        fwd.append(np.sqrt(1 - b) * fwd[-1] + np.sqrt(b) * rng.standard_normal(30))
    fwd = np.array(fwd)
    rev = reverse_trajectories(model, 2000, seed)
    gen = rev[-1]
    w1 = float(np.mean(wasserstein(real.samples[:2000], gen[:, None])))
    floor = float(np.mean(wasserstein(real.samples[:2000], real.samples[2000:4000])))
    g.record("w1_1d_generated_vs_real", w1)
    g.record("w1_1d_real_vs_real_floor", floor)
    g.record("mode_weight_right_generated_vs_real", [float(np.mean(gen > 0.25)), float(np.mean(real.samples > 0.25))])
    g.record("forward_end_mean_std", [float(fwd[-1].mean()), float(fwd[-1].std())])
    fig = Figure(figsize=(12, 4))
    ax1, ax2, ax3 = fig.subplots(1, 3, gridspec_kw={"width_ratios": [3, 3, 1.2]})
    t = np.arange(TIMESTEPS_1D + 1)
    ax1.plot(t, fwd, lw=0.6, alpha=0.8)
    ax1.set(xlabel="diffusion step t", ylabel="x_t", title="forward process q(x_t | x_{t−1})")
    ax2.plot(t, rev[:, :30], lw=0.6, alpha=0.8)
    ax2.set(xlabel="reverse step (noise → data)", ylabel="x", title="reverse process of the trained DDPM")
    bins = np.linspace(-2.5, 3, 60)
    ax3.hist(real.samples[:, 0], bins=bins, orientation="horizontal", density=True, alpha=0.5, label="data")
    ax3.hist(gen, bins=bins, orientation="horizontal", density=True, histtype="step", color="k", label="DDPM")
    ax3.set(title=f"W1 {w1:.3f}\n(floor {floor:.3f})"), ax3.legend(fontsize=7)
    fig.tight_layout()
    g.save(fig, "trajectories_1d")


def two_dimensional(g: Gallery, quick: bool, seed: int) -> None:
    from matplotlib.figure import Figure

    from physgen.data import save
    from physgen.data.toys import make_toy, toy_centers, toy_log_density
    from physgen.metrics import mmd
    from physgen.training import load_run, train

    real = make_toy("ring", 8000, seed=seed)
    save(real, g.out / "data" / "ring.h5", overwrite=True)
    train("ddpm", data=g.out / "data" / "ring.h5", out=g.out / "run_ring", overwrite=True, seed=seed,
          steps=1000 if quick else 8000, sets=[ema(quick), "train.progress=false"])
    fake = load_run(g.out / "run_ring", which="latest").sample(2000, seed=seed, sampler="ddim", steps=100)
    held = make_toy("ring", 2000, seed=seed + 1)
    g.record("ring_mean_exact_log_density_generated_vs_real",
             [float(np.mean(toy_log_density("ring", x))) for x in (fake.samples, held.samples)])
    g.record("ring_median_exact_log_density_generated_vs_real",
             [float(np.median(toy_log_density("ring", x))) for x in (fake.samples, held.samples)])
    near = [float(np.mean(np.min(np.linalg.norm(x[:, None] - toy_centers("ring")[None], axis=2), 1) < 0.3))
            for x in (fake.samples, held.samples)]
    g.record("ring_fraction_within_3_sigma_of_a_mode_generated_vs_real", near)
    g.record("ring_mmd_generated", mmd(held.samples, fake.samples))
    g.record("ring_mmd_real_floor", mmd(held.samples, real.samples[:2000]))
    fig = Figure(figsize=(8, 4))
    for ax, x, title in zip(fig.subplots(1, 2), (held.samples, fake.samples), ("data", "DDPM (DDIM, 100 steps)")):
        ax.scatter(x[:, 0], x[:, 1], s=1)
        ax.set(title=title, xlim=(-3, 3), ylim=(-3, 3), aspect="equal")
    g.save(fig, "samples_ring")


def ising(g: Gallery, quick: bool, seed: int) -> None:
    from matplotlib.figure import Figure

    from physgen.data import save
    from physgen.data.ising import ThinningWarning, simulate
    from physgen.physics.observables import energy_per_spin, magnetization
    from physgen.training import load_run, train

    temps = [1.8, 3.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ThinningWarning)
        real = simulate(8, temps, 1000 if quick else 4000, algorithm="wolff", burn_in=100, thin=3, chains=20,
                        seed=seed)
    save(real, g.out / "data" / "ising_L8.h5", overwrite=True)
    train("ddpm", data=g.out / "data" / "ising_L8.h5", out=g.out / "run_ising", overwrite=True, seed=seed,
          condition="temperature", steps=150 if quick else 2000,
          sets=["model.channels=[16,32]", "model.timesteps=200", ema(quick), "train.progress=false"])
    run = load_run(g.out / "run_ising", which="latest")
    table, snaps = {}, {}
    for t in temps:
        fake = run.sample(100 if quick else 1000, seed=seed, condition={"temperature": t}, sampler="ddim",
                          steps=50)
        mc = real.samples[real.conditions["temperature"] == t]
        snaps[t] = fake.samples[:6]
        table[f"{t:g}"] = {"abs_m": [float(np.abs(magnetization(fake.samples)).mean()),
                                     float(np.abs(magnetization(mc)).mean())],
                           "energy": [float(energy_per_spin(fake.samples).mean()), float(energy_per_spin(mc).mean())]}
    g.record("ising_generated_vs_mc", table, "; ".join(
        f"T={t}: |m| {v['abs_m'][0]:.3f} vs {v['abs_m'][1]:.3f}, e {v['energy'][0]:.3f} vs {v['energy'][1]:.3f}"
        for t, v in table.items()))
    fig = Figure(figsize=(12, 4.4))
    axes = fig.subplots(2, 6)
    for row, t in enumerate(temps):
        for ax, s in zip(axes[row], snaps[t]):
            ax.imshow(s, cmap="gray_r", vmin=-1, vmax=1)
            ax.set(xticks=[], yticks=[])
        axes[row, 0].set_ylabel(f"T = {t:g}")
    fig.suptitle("DDPM samples, L = 8 Ising, conditioned on temperature")
    g.save(fig, "samples_ising")


def main(argv=None) -> dict:
    args = parser(NAME, __doc__).parse_args(argv)
    g = Gallery(NAME, args)
    (g.out / "data").mkdir(exist_ok=True)
    one_dimensional(g, args.quick, args.seed)
    two_dimensional(g, args.quick, args.seed)
    ising(g, args.quick, args.seed)
    return g.finish()


if __name__ == "__main__":
    main()
