"""A binary RBM (500 hidden units, CD-1) on binarized 8×8 digits: real vs generated, and log-likelihood by AIS.

The course's RBM experiment at the scale of scikit-learn's bundled digits (1797 images, no download),
binarized at pixel/16 > 0.5.  Trained with ``physgen.training.train("rbm", ...)`` (Hinton 2002's CD-1,
SGD with momentum), sampled by block Gibbs from random starts, and scored on held-out digits with
annealed importance sampling for log Z (Neal 2001; Salakhutdinov & Murray 2008), against the
independent-pixel baseline (each pixel Bernoulli with its training-set mean).

    python examples/rbm_digits.py [--quick] [--out DIR] [--seed S] [--epochs N]
"""
from __future__ import annotations

import numpy as np

from _common import Gallery, parser
from physgen.metrics.baselines import independent_pixels_log_likelihood

NAME = "rbm_digits"


def split_digits(out, seed: int):
    """Binarized digits, shuffled and split 1500 train / 297 test; both saved under OUT/data/."""
    from physgen.data import save
    from physgen.data.digits import load_digits, split

    train, test = split(load_digits(binarize=0.5), 1500, seed=seed)
    (out / "data").mkdir(exist_ok=True)
    save(train, out / "data" / "train.h5", overwrite=True)
    save(test, out / "data" / "test.h5", overwrite=True)
    return train, test


def grid(fig, ax, images: np.ndarray, title: str, rows: int = 8) -> None:
    """Tile ``images`` ``(rows², 8, 8)`` into one image."""
    n = rows * rows
    tiles = np.ones((rows * 9 + 1, rows * 9 + 1))
    for i, img in enumerate(images[:n]):
        r, c = divmod(i, rows)
        tiles[1 + 9 * r:9 * r + 9, 1 + 9 * c:9 * c + 9] = 1 - img
    ax.imshow(tiles, cmap="gray", vmin=0, vmax=1)
    ax.set(title=title, xticks=[], yticks=[])


def main(argv=None) -> dict:
    p = parser(NAME, __doc__)
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default 20 quick, 200 full)")
    args = p.parse_args(argv)
    g = Gallery(NAME, args)
    from matplotlib.figure import Figure

    from physgen.training import load_run, train

    epochs = args.epochs or (20 if args.quick else 200)
    tr, te = split_digits(g.out, args.seed)
    run_dir = g.out / "run"
    summary = train("rbm", data=g.out / "data" / "train.h5", out=run_dir, overwrite=True, epochs=epochs,
                    seed=args.seed, sets=["model.n_hidden=500", "model.method=cd", "model.k=1", "train.lr=0.05",
                                          "train.progress=false"])
    g.record("training", {"epochs": epochs, "steps": summary.get("steps"), "wall_s": summary.get("wall_time_s")})
    run = load_run(run_dir, which="latest")
    fake = run.sample(64, seed=args.seed, init="random", burn_in=200 if args.quick else 1000)
    g.record("mean_pixel_real_vs_generated", [float(tr.samples.mean()), float(fake.samples.mean())])
    chains, betas = (32, 500) if args.quick else (100, 10000)
    lp_test, attrs = run.log_prob(te, method="ais", seed=args.seed, n_chains=chains, n_betas=betas)
    lp_train, _ = run.log_prob(tr.subset(slice(0, len(te))), method="ais", seed=args.seed, n_chains=chains,
                               n_betas=betas)
    g.record("ais", {"n_chains": chains, "n_betas": betas, "log_z": attrs.get("log_z"),
                     "log_z_error": attrs.get("log_z_error")})
    g.record("test_log_likelihood_nats", float(lp_test.mean()))
    g.record("train_log_likelihood_nats", float(lp_train.mean()))
    g.record("independent_pixels_test_log_likelihood_nats", independent_pixels_log_likelihood(tr, te))
    fig = Figure(figsize=(10, 5))
    ax1, ax2 = fig.subplots(1, 2)
    grid(fig, ax1, te.samples.astype(float), "real (held-out) digits")
    grid(fig, ax2, fake.samples.astype(float), f"RBM samples ({epochs} epochs CD-1, Gibbs)")
    g.save(fig, "real_vs_generated")
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.hist(lp_test, bins=40, alpha=0.7, label=f"test, mean {lp_test.mean():.1f}")
    ax.hist(lp_train, bins=40, alpha=0.5, label=f"train, mean {lp_train.mean():.1f}")
    ax.set(xlabel="log p(v) (nats, AIS log Z)", ylabel="digits", title="RBM log-likelihood"), ax.legend(fontsize=8)
    g.save(fig, "log_likelihood_hist")
    return g.finish()


if __name__ == "__main__":
    main()
