"""The semi-supervised GAN on 8×8 digits with 10 labels per class, beside the same network without the GAN.

Salimans et al. (2016, §5)'s SGAN trained with ``physgen.training.train("sgan", ...)``: a classifier with K
real classes and the class "generated", a generator trained by feature matching, 10 labelled digits per
class and every other training digit unlabelled.  On held-out digits
``physgen.models.gan.sgan_classifiers.compare_classifiers`` scores the SGAN's classifier, the same network trained on
the 100 labelled digits alone for as many steps (the supervised baseline), and a random forest fitted to
the same labels.  The split is the one of ``benchmarks/sgan.py`` (stratified 75/25, labelled rows drawn
with ``model.label_seed`` = the seed).  Figures: the three accuracies with binomial errors and the SGAN's
confusion matrix.

    python examples/sgan_digits.py [--quick] [--out DIR] [--seed S] [--steps N]
"""
from __future__ import annotations

import numpy as np

from _common import Gallery, parser

NAME = "sgan_digits"
LABELS_PER_CLASS = 10


def split(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(train, test)``: a 75/25 split stratified by class."""
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(np.arange(len(labels)), test_size=0.25, random_state=seed, stratify=labels)
    return np.sort(train), np.sort(test)


def confusion(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    """``(k, k)`` counts, row = true class, column = predicted class."""
    m = np.zeros((k, k), dtype=np.int64)
    np.add.at(m, (y_true, y_pred), 1)
    return m


def plot(g: Gallery, acc: dict, cm: np.ndarray, steps: int) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.5))
    ax1, ax2 = fig.subplots(1, 2)
    names = ("sgan", "supervised", "random_forest")
    vals = [100 * acc[n]["value"] for n in names]
    ax1.bar(range(3), vals, yerr=[100 * acc[n]["error"] for n in names], color=["C0", "C1", "C2"], capsize=4)
    for i, v in enumerate(vals):
        ax1.text(i, v - 10, f"{v:.1f}", ha="center", color="white")
    ax1.set(xticks=range(3), xticklabels=["SGAN", "same net,\nlabels only", "random forest"], ylim=(0, 105),
            ylabel="test accuracy (%)", title=f"{acc['n_labelled']} labelled digits, {steps} steps")
    ax2.imshow(cm, cmap="Blues")
    for (i, j), c in np.ndenumerate(cm):
        if c:
            ax2.text(j, i, str(c), ha="center", va="center", fontsize=7,
                     color="white" if c > cm.max() / 2 else "black")
    ax2.set(xticks=range(len(cm)), yticks=range(len(cm)), xlabel="predicted", ylabel="true",
            title="SGAN confusion matrix (test digits)")
    g.save(fig, "sgan_accuracy")


def main(argv=None) -> dict:
    p = parser(NAME, __doc__)
    p.add_argument("--steps", type=int, default=None, help="training steps (default 500 quick, 8000 full)")
    args = p.parse_args(argv)
    g = Gallery(NAME, args)
    import torch

    from physgen.data import save
    from physgen.data.digits import load_digits
    from physgen.models.gan.sgan_classifiers import compare_classifiers, predict
    from physgen.training import load_run, train
    from physgen.training.data import to_model_space

    steps = args.steps or (500 if args.quick else 8000)
    ds = load_digits()
    tr, te = split(ds.labels, args.seed)
    (g.out / "data").mkdir(exist_ok=True)
    save(ds.subset(tr), g.out / "data" / "train.h5", overwrite=True)
    run_dir = g.out / "run"
    summary = train("sgan", data=g.out / "data" / "train.h5", out=run_dir, overwrite=True, seed=args.seed,
                    steps=steps, sets=[f"model.labels_per_class={LABELS_PER_CLASS}", f"model.label_seed={args.seed}",
                                       "model.diagnostics=false", "train.progress=false"])
    g.record("training", {"steps": summary.get("steps"), "wall_s": summary.get("wall_time_s"),
                          "n_train": len(tr), "n_test": len(te)})
    run = load_run(run_dir, device="cpu", which="latest")
    x_test = torch.from_numpy(to_model_space(ds.samples[te], ds.kind, run.transform))
    acc = compare_classifiers(run.model, x_test, ds.labels[te], seed=args.seed)
    for name in ("sgan", "supervised", "random_forest"):
        g.record(f"{name}_accuracy", acc[name])
    g.record("sgan_minus_supervised", acc["sgan"]["value"] - acc["supervised"]["value"])
    g.record("n_labelled", acc["n_labelled"])
    cm = confusion(ds.labels[te].astype(np.int64), predict(run.model, x_test), 10)
    g.record("sgan_confusion_matrix", cm)
    plot(g, acc, cm, steps)
    return g.finish()


if __name__ == "__main__":
    main()
