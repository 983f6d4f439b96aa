"""The thesis DCGAN on leading-order pp → tt̄ events: histograms of s, t, y, generated vs real, with KL.

By default the events are 10,000 pp → tt̄ collisions at √s = 13 TeV from ``physgen data pythia`` (hard
level, leading order, seed 1; the Mandelstam ŝ and t̂ in GeV² and the tt̄ rapidity y), made once into
``OUT/data`` and reused by later runs.  ``--data FILE`` reads a text table of (s, t, y) instead, such as
the thesis' MadGraph events (each feature rescaled to [−1, 1]; the public style-qGAN set of Bravo-Prieto
et al., arXiv:2110.06933): an optional cross-check, skipped with a one-line message when the file is
absent.  Without Pythia 8 (``pip install 'physgen[hep]'``) and without ``--data`` the example prints
``skipped`` and exits 0.
Trains ``thesis-dcgan`` (the thesis architecture: Dense → 10×10×2 → transposed convolutions, BCE, Adam
2·10⁻⁴, β₁ = 0.5, batch 256, min-max scaling) with ``physgen.training.train``, generates as many events as
the data set holds and evaluates them with ``physgen.metrics.evaluate``: the thesis figure (per-feature
histograms with KL and a generated/real ratio row, ``physgen.report.evaluate_plots``), 2-D correlation
plots, and KL / JS / W1 / MMD / C2ST AUC beside their real-vs-real floors.

    python examples/thesis_dcgan_ttbar.py [--quick] [--out DIR] [--seed S] [--data FILE] [--epochs N]
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from _common import Gallery, fail, parser, pythia_ttbar

NAME = "thesis_dcgan_ttbar"


def events(args):
    """The real events: ``--data FILE`` (a text table of s t y; None when the file is absent) or, by
    default, Pythia's (made once into ``OUT/data``)."""
    from physgen.data import load
    from physgen.data.tabular import import_file
    from physgen.errors import UserError

    if args.data is None:
        return load(pythia_ttbar(Path(args.out) / "data"))
    if not args.data.is_file():
        print(f"{NAME}: skipped: --data {args.data}: no such file (the optional cross-check file)")
        return None
    try:
        return import_file(args.data, kind="continuous")
    except UserError as exc:
        fail(f"--data: {exc}")


def main(argv=None) -> dict | None:
    p = parser(NAME, __doc__)
    p.add_argument("--data", type=Path, default=None,
                   help="a text table of s t y, e.g. the MadGraph events (default: 10,000 Pythia events)")
    p.add_argument("--epochs", type=int, default=100, help="training epochs (default 100; --quick: 20 steps)")
    args = p.parse_args(argv)
    real = events(args)
    if real is None:
        return None
    from physgen.data import save
    from physgen.metrics import evaluate
    from physgen.report.evaluate_plots import feature_histograms, pair_plots
    from physgen.training import load_run, train

    g = Gallery(NAME, args)   # created only once the data are known to be good: nothing half-written
    names = real.feature_names or [f"x{i}" for i in range(real.shape[0])]
    (g.out / "data").mkdir(exist_ok=True)
    save(real, g.out / "data" / "ttbar.h5", overwrite=True)
    budget = {"steps": 20} if args.quick else {"epochs": args.epochs}   # quick: a smoke test, not a fit
    summary = train("thesis-dcgan", data=g.out / "data" / "ttbar.h5", out=g.out / "run", overwrite=True,
                    seed=args.seed, sets=["train.progress=false", "model.diagnostics=false"], **budget)
    g.record("training", {**budget, "steps_done": summary.get("steps"), "wall_s": summary.get("wall_time_s"),
                          "n_events": len(real), "features": names,
                          "events": "physgen data pythia, seed 1" if args.data is None else args.data.name})
    fake = load_run(g.out / "run", which="latest").sample(2000 if args.quick else len(real), seed=args.seed)
    result = evaluate(real, fake, metrics=["kl", "js", "w1", "mmd", "c2st"], seed=args.seed, n_boot=100)
    kl = result["kl"]["per_feature"]
    g.record("kl_per_feature", {n: {"value": kl[n]["value"], "floor": kl[n]["floor"]} for n in names},
             ", ".join(f"{n}: {kl[n]['value']:.4f} (floor {kl[n]['floor']:.4f})" for n in names))
    for key in ("kl", "js", "w1", "mmd", "c2st_auc"):
        entry = result.get(key) or {}
        g.record(key, {"value": entry.get("value"), "error": entry.get("error"), "floor": entry.get("floor")},
                 f"{entry.get('value')} (floor {entry.get('floor')})")
    x_real, x_fake = real.samples.astype(np.float64), fake.samples.astype(np.float64)
    g.save(feature_histograms(x_real, x_fake, names, result), "histograms_s_t_y")
    g.save(pair_plots(x_real, x_fake, names), "correlations_2d")
    corr = {"real": np.corrcoef(x_real.T).round(4).tolist(), "generated": np.corrcoef(x_fake.T).round(4).tolist()}
    g.record("pearson_correlation_matrices", corr)
    return g.finish()


if __name__ == "__main__":
    main()
