"""An energy-based model with Langevin sampling: chains from noise, the learned landscape, OOD scores.

Du & Mordatch 2019 (the course notebook after Lippe's UvA tutorial 8): ``physgen.training.train("ebm",
...)`` learns E_θ(x), p_θ ∝ exp(−E_θ), by contrastive divergence with Langevin chains kept in a replay
buffer, here on the ring of 8 Gaussians (``physgen.data.toys``, whose exact density is known).

1. chain snapshots: ``model.chain_snapshots`` runs Langevin chains from uniform noise and keeps their
   states at steps 0, 5, 10, 20, 50, 100, 200 — the points flow onto the eight modes;
2. the learned landscape −E(x) beside the exact log-density (Spearman rank correlation on a grid);
3. out-of-distribution scores: energies of held-out data, of perturbed data, of uniform noise
   (``model.ood_scores``) and of another distribution (two moons), with the AUROC of the energy as an
   in/out classifier (a trained model ranks data < perturbed < noise).

    python examples/ebm_langevin.py [--quick] [--out DIR] [--seed S] [--steps N]
"""
from __future__ import annotations

import numpy as np

from _common import Gallery, parser

NAME = "ebm_langevin"
NOISE = 0.2  # std of each of the 8 ring modes (physgen default 0.1; broader modes train faster)
SNAPSHOT_STEPS = (0, 5, 10, 20, 50, 100, 200)
# the recipe of tests/test_ebm.py (fits mixtures in a few thousand CPU steps): proper Langevin, η = 0.05,
# K = 20, a weak energy regulariser, Adam 1e-3 with β₁ = 0 (Du & Mordatch's setting); plus an elementwise
# clip of ∇E at 10 (drift ≤ 0.25 per step), without which the deepening energy makes chains overshoot.
# No Gaussian base: the ring's density has a hole where the base peaks, which the network must first cancel
# (in the quick run the ranking of −E against the exact log-density fell from 0.92 to 0.72 with the base)
RECIPE = ["model.langevin=conventional", "model.step_size=0.05", "model.k_steps=20", "model.grad_clip=10",
          "model.alpha=0.005", "model.hidden=[64,64]", "model.buffer_size=4096", "train.lr=1e-3",
          "model.base=none",
          "data.transform=none"]  # energies are compared with the exact density in data coordinates


def snapshots_figure(g: Gallery, model, real: np.ndarray, seed: int) -> None:
    import torch
    from matplotlib.figure import Figure

    from physgen.data.toys import toy_log_density

    snaps = model.chain_snapshots(1000, generator=torch.Generator().manual_seed(seed), steps=SNAPSHOT_STEPS)
    fig = Figure(figsize=(2.6 * len(snaps), 2.8))
    for ax, (step, x) in zip(fig.subplots(1, len(snaps)), snaps.items()):
        x = x.float().cpu().numpy()
        ax.scatter(real[:, 0], real[:, 1], s=1, color="0.8")
        ax.scatter(x[:, 0], x[:, 1], s=1, color="tab:red")
        ax.set(title=f"step {step}", xlim=(-3, 3), ylim=(-3, 3), xticks=[], yticks=[], aspect="equal")
    g.save(fig, "langevin_chain_snapshots")
    final = snaps[SNAPSHOT_STEPS[-1]].float().cpu().numpy()
    g.record("chains_mean_exact_log_density_start_end",
             [float(np.mean(toy_log_density("ring", noise=NOISE, x=snaps[0].float().cpu().numpy()))),
              float(np.mean(toy_log_density("ring", noise=NOISE, x=final)))])
    g.record("chains_radius_mean_std_end", [float(np.linalg.norm(final, axis=1).mean()),
                                            float(np.linalg.norm(final, axis=1).std())])


def landscape(g: Gallery, run, seed: int) -> None:
    from matplotlib.figure import Figure
    from scipy.stats import spearmanr

    from physgen.data import Dataset
    from physgen.data.toys import toy_log_density

    axis = np.linspace(-3, 3, 121)
    xx, yy = np.meshgrid(axis, axis)
    pts = np.stack([xx.ravel(), yy.ravel()], 1).astype(np.float32)
    neg_e, _ = run.log_prob(Dataset(pts, "continuous", attrs={"feature_names": ["x0", "x1"]}), method="energy",
                            seed=seed)
    logp = toy_log_density("ring", noise=NOISE, x=pts)
    rho = spearmanr(neg_e, logp).statistic
    g.record("landscape_spearman_vs_exact_log_density", float(rho))
    fig = Figure(figsize=(10, 4.2))
    for ax, z, title in zip(fig.subplots(1, 2), (neg_e, np.maximum(logp, -30)),
                            ("learned −E(x)", "exact log p(x) (clipped at −30)")):
        im = ax.imshow(z.reshape(xx.shape), origin="lower", extent=(-3, 3, -3, 3), cmap="viridis")
        fig.colorbar(im, ax=ax)
        ax.set(title=title)
    g.save(fig, "energy_landscape")


def ood(g: Gallery, run, seed: int, n: int) -> None:
    import torch
    from matplotlib.figure import Figure
    from sklearn.metrics import roc_auc_score

    from physgen.data.toys import make_toy

    held = make_toy("ring", n, seed=seed + 1, noise=NOISE)
    moons = make_toy("moons", n, seed=seed + 2)
    scores = run.model.ood_scores(torch.as_tensor(held.samples), generator=torch.Generator().manual_seed(seed),
                                  noise_std=0.3)
    energies = {k: v.float().cpu().numpy() for k, v in scores.items()}
    energies["two moons"] = -run.log_prob(moons, method="energy", seed=seed)[0]
    g.record("mean_energy", {k: float(v.mean()) for k, v in energies.items()})
    auroc = {k: float(roc_auc_score(np.r_[np.zeros(n), np.ones(len(v))], np.r_[energies["data"], v]))
             for k, v in energies.items() if k != "data"}
    g.record("ood_auroc_energy", auroc, ", ".join(f"{k}: {v:.3f}" for k, v in auroc.items()))
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    lo, hi = np.percentile(np.concatenate(list(energies.values())), [0.5, 99.5])
    for k, v in energies.items():
        ax.hist(v, bins=np.linspace(lo, hi, 60), histtype="step", lw=1.5, density=True, label=k)
    ax.set(xlabel="energy E(x)", ylabel="density", title="out-of-distribution scores"), ax.legend(fontsize=8)
    g.save(fig, "ood_energies")


def main(argv=None) -> dict:
    p = parser(NAME, __doc__)
    p.add_argument("--steps", type=int, default=None, help="training steps (default 1000 quick, 2000 full)")
    args = p.parse_args(argv)
    g = Gallery(NAME, args)
    from physgen.data import save
    from physgen.data.toys import make_toy
    from physgen.training import load_run, train

    steps = args.steps or (1000 if args.quick else 2000)
    data = make_toy("ring", 4000 if args.quick else 20000, seed=args.seed, noise=NOISE)
    (g.out / "data").mkdir(exist_ok=True)
    save(data, g.out / "data" / "ring.h5", overwrite=True)
    summary = train("ebm", data=g.out / "data" / "ring.h5", out=g.out / "run", overwrite=True, steps=steps,
                    seed=args.seed, sets=RECIPE + ["train.progress=false"])
    g.record("training", {"steps": summary.get("steps"), "wall_s": summary.get("wall_time_s")})
    run = load_run(g.out / "run", which="latest")
    snapshots_figure(g, run.model, data.samples[:2000], args.seed)
    landscape(g, run, args.seed)
    ood(g, run, args.seed, 1000)
    return g.finish()


if __name__ == "__main__":
    main()
