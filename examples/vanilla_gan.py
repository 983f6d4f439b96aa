"""The course's vanilla GAN (Raschka, *Machine Learning with PyTorch and Scikit-Learn*, ch. 17) on 8×8 digits.

``physgen.training.train("gan", ...)``: fully connected G (z ∈ U[−1, 1]^20 → 100 → 64, tanh) and D
(64 → 100 → 1, dropout), BCE with the non-saturating generator loss, Adam 10⁻³, batch 64 (Goodfellow et
al. 2014).  The GAN family's diagnostics write the course's figures: generator loss and discriminator
loss/2, D(x) and D(G(z)) per iteration, and fixed-z sample grids at epochs 1, 2, 4, 10, 50, 100 (quick
mode: 1, 2, 4, 10).  The example adds a classifier two-sample test (C2ST AUC; 0.5 = indistinguishable)
of generated against held-out real digits, beside the real-vs-real floor.

    python examples/vanilla_gan.py [--quick] [--out DIR] [--seed S] [--epochs N]
"""
from __future__ import annotations

import json
import shutil

import numpy as np

from _common import Gallery, parser

NAME = "vanilla_gan"


def main(argv=None) -> dict:
    p = parser(NAME, __doc__)
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default 10 quick, 100 full)")
    args = p.parse_args(argv)
    g = Gallery(NAME, args)
    from physgen.data import save
    from physgen.data.digits import load_digits
    from physgen.metrics import c2st_auc
    from physgen.training import load_run, train
    from physgen.training.logbook import tail_means

    epochs = args.epochs or (10 if args.quick else 100)
    shown = [e for e in (1, 2, 4, 10, 50, 100) if e <= epochs]
    ds = load_digits()
    perm = np.random.default_rng(args.seed).permutation(len(ds))
    tr, te = ds.subset(perm[:1300]), ds.subset(perm[1300:])
    (g.out / "data").mkdir(exist_ok=True)
    save(tr, g.out / "data" / "digits_train.h5", overwrite=True)
    run_dir = g.out / "run"
    train("gan", data=g.out / "data" / "digits_train.h5", out=run_dir, overwrite=True, epochs=epochs, seed=args.seed,
          sets=["model.sample_epochs=[" + ",".join(map(str, shown)) + "]", "train.log_every=1",
                "train.progress=false"])
    for src, dst in (("losses.png", "gan_losses"), ("samples.png", "gan_samples_by_epoch")):
        shutil.copyfile(run_dir / "diagnostics" / src, g.out / f"{dst}.png")
        g.figures.append(f"{dst}.png")
    diag = json.loads((run_dir / "diagnostics" / "diagnostics.json").read_text())
    g.record("sample_epochs", diag["epochs"])
    g.record("diversity_ratio_by_epoch", diag["diversity_ratio"])
    g.record("warnings", [w["kind"] for w in diag["warnings"]])
    g.record("last_50_iterations", tail_means(run_dir, ("g_loss", "d_loss", "d_real", "d_fake"), 50))
    fake = load_run(run_dir, which="latest").sample(len(te), seed=args.seed)
    auc = c2st_auc(te.samples, fake.samples, seed=args.seed)
    half = len(te) // 2
    floor = c2st_auc(te.samples[:half], te.samples[half:], seed=args.seed)
    g.record("c2st_auc_generated_vs_real", auc, f"{auc.value:.3f} ± {auc.error:.3f}")
    g.record("c2st_auc_real_vs_real_floor", floor, f"{floor.value:.3f} ± {floor.error:.3f}")
    return g.finish()


if __name__ == "__main__":
    main()
