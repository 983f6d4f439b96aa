"""A deep belief network on binarized 8×8 digits: a single RBM's log-likelihood beside a 2-layer DBN's bound.

Hinton, Osindero & Teh (2006)'s DBN trained with ``physgen.training.train("dbn", ...)``: a 1-layer DBN (an
RBM, ``model.layers=[128]``) and a 2-layer one (``[128, 64]``, the upper RBM started as the lower one
transposed, ``model.tie_init``) that share the bottom RBM (same seed, same first updates), greedy layer-wise
training followed by up-down fine-tuning.  Both are scored on held-out digits with log Z of the top RBM by
annealed importance sampling (Neal 2001): the RBM's value is its log-likelihood, the DBN's the variational
lower bound of Salakhutdinov & Murray (2008, eq. 14), so the true log p of the DBN is at least that high.

    python examples/dbn_digits.py [--quick] [--out DIR] [--seed S] [--steps N]
"""
from __future__ import annotations

import numpy as np

from _common import Gallery, parser
from physgen.metrics.baselines import independent_pixels_log_likelihood
from rbm_digits import grid, split_digits

NAME = "dbn_digits"


def train_model(g: Gallery, name: str, layers: str, steps: int, seed: int, extra: list[str]) -> dict:
    """Train the dbn family on OUT/data/train.h5 into OUT/NAME; the schedule (``steps`` per layer) ends it."""
    from physgen.training import train

    sets = [f"model.layers={layers}", f"model.steps_per_layer={steps}", "train.progress=false", *extra]
    summary = train("dbn", data=g.out / "data" / "train.h5", out=g.out / name, overwrite=True, epochs=100000,
                    seed=seed, sets=sets)
    return {"layers": layers, "steps_per_layer": steps, "steps": summary.get("steps"),
            "wall_s": summary.get("wall_time_s"), "settings": extra}


def score(run, ds, seed: int, chains: int, betas: int, k: int | None) -> tuple[np.ndarray, dict]:
    """Per-digit log p (or its lower bound, ``k`` posterior draws per digit; None for a single RBM, whose
    hidden layer is summed in closed form) with log Z by AIS; the attributes carry the errors."""
    return run.log_prob(ds, method="ais", seed=seed, n_chains=chains, n_betas=betas, k=k)


def main(argv=None) -> dict:
    p = parser(NAME, __doc__)
    p.add_argument("--steps", type=int, default=None,
                   help="updates per layer and of fine-tuning (default 1500 quick, 5000 full)")
    args = p.parse_args(argv)
    g = Gallery(NAME, args)
    from matplotlib.figure import Figure

    from physgen.training import load_run

    steps = args.steps or (1500 if args.quick else 5000)
    chains, betas, k = (32, 500, 10) if args.quick else (100, 5000, 100)
    tr, te = split_digits(g.out, args.seed)
    g.record("training", {
        "rbm": train_model(g, "rbm", "[128]", steps, args.seed, []),
        "dbn": train_model(g, "dbn", "[128,64]", steps, args.seed,
                           ["model.tie_init=true", f"model.finetune_steps={steps}"])})
    rbm, dbn = load_run(g.out / "rbm", which="latest"), load_run(g.out / "dbn", which="latest")
    lp_rbm, a_rbm = score(rbm, te, args.seed, chains, betas, None)
    lp_dbn, a_dbn = score(dbn, te, args.seed, chains, betas, k)
    g.record("ais", {"n_chains": chains, "n_betas": betas, "posterior_samples": k})
    g.record("rbm_test_log_likelihood_nats", float(lp_rbm.mean()))
    g.record("rbm_test_log_likelihood_error", a_rbm.get("mean_log_prob_error"))
    g.record("dbn_test_lower_bound_nats", float(lp_dbn.mean()))
    g.record("dbn_test_lower_bound_error", a_dbn.get("mean_log_prob_error"))
    g.record("dbn_bound_minus_rbm_nats", float(lp_dbn.mean() - lp_rbm.mean()))
    g.record("independent_pixels_test_log_likelihood_nats", independent_pixels_log_likelihood(tr, te))
    burn = 200 if args.quick else 1000
    fakes = {name: run.sample(64, seed=args.seed, init="random", burn_in=burn) for name, run in
             (("rbm", rbm), ("dbn", dbn))}
    g.record("mean_pixel_real_rbm_dbn", [float(tr.samples.mean())]
             + [float(f.samples.mean()) for f in fakes.values()])
    fig = Figure(figsize=(15, 5))
    ax1, ax2, ax3 = fig.subplots(1, 3)
    grid(fig, ax1, te.samples.astype(float), "real (held-out) digits")
    grid(fig, ax2, fakes["rbm"].samples.astype(float), f"RBM [128]: log p {lp_rbm.mean():.2f}")
    grid(fig, ax3, fakes["dbn"].samples.astype(float), f"DBN [128, 64]: bound {lp_dbn.mean():.2f}")
    g.save(fig, "samples_rbm_vs_dbn")
    return g.finish()


if __name__ == "__main__":
    main()
