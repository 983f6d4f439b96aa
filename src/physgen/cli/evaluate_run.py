"""``physgen evaluate RUN_DIR --data TEST.h5``: a trained run judged on test data it never saw.

The run's samples (as many as the test rows, ``physgen sample``'s defaults, ``--seed``) are compared with
the test rows by the same metrics as ``physgen evaluate --real TEST.h5 --fake SAMPLES.h5``.  For a run of a
family that is also a classifier (the capability ``classifier`` on its card, e.g. the semi-supervised GAN) on test
data that carry ``/labels``, the result also has a ``classifier`` entry: the test accuracy of the model's
classifier beside the same network trained on the same labelled subset without the GAN, beside scikit-learn's
multilayer perceptron and beside a random forest fitted to that subset (the family's ``compare_classifiers``, e.g.
:func:`physgen.models.gan.sgan_classifiers.compare_classifiers`; Salimans et al. 2016, §5), each with its binomial
standard error √(p(1 − p)/n) over the n labelled test rows.
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np

from physgen.errors import UserError

CLASSIFIERS = (("sgan", "SGAN classifier"), ("supervised", "same network, labelled rows only"),
               ("mlp", "scikit-learn MLP, labelled rows only"), ("random_forest", "random forest, labelled rows only"))


def check_args(args) -> None:
    """RUN_DIR needs ``--data`` and excludes ``--real``/``--fake``; without RUN_DIR both of those are needed."""
    if args.run_dir is not None:
        if args.data is None:
            raise UserError("--data: required with RUN_DIR (the test dataset the run is judged on)")
        if args.real is not None or args.fake is not None:
            raise UserError("--real/--fake: not with RUN_DIR (the run's samples are the generated side; "
                            "--data is the real side)")
        return
    if args.data is not None or args.baseline_steps is not None:
        raise UserError(f"{'--data' if args.data is not None else '--baseline-steps'}: needs RUN_DIR")
    missing = [flag for flag, value in (("--real", args.real), ("--fake", args.fake)) if value is None]
    if missing:
        raise UserError(f"{', '.join(missing)}: required (or give RUN_DIR and --data)")


def load_pair(args, check=None):
    """``(real, fake, run)``: the test dataset, as many samples of the run (``--checkpoint``, ``--seed``);
    ``check(real)`` runs before the run is loaded (to refuse bad options before any work)."""
    from physgen.data import load
    from physgen.training import load_run

    real = load(args.data)
    if check is not None:
        check(real)
    run = load_run(args.run_dir, which=args.which)
    if run.checkpoint != args.which and not run.skipped:
        print(f"note: {args.run_dir} has no best checkpoint; using the latest (step {run.step})", file=sys.stderr)
    if real.kind != run.spec.kind or tuple(real.shape) != tuple(run.spec.shape):
        raise UserError(f"--data {args.data}: samples of kind {real.kind!r} and shape {real.shape}, the run was "
                        f"trained on kind {run.spec.kind!r} and shape {tuple(run.spec.shape)}")
    fake = run.sample(len(real), seed=args.seed)
    return real, fake, run


def wants_classifier(run, real) -> bool:
    """A run of a classifier family (capability ``classifier``) and test data with at least one labelled row (a
    label outside the run's K classes is a UserError, raised here before any work)."""
    if "classifier" not in run.model.capabilities:
        return False
    labels = None if real.labels is None else np.asarray(real.labels, dtype=np.int64)
    if labels is None or not bool((labels >= 0).any()):
        print(f"note: --data has no /labels: the {run.model.name} classifier is not scored", file=sys.stderr)
        return False
    k = run.model.n_classes
    if int(labels.max()) >= k:
        raise UserError(f"--data: label {int(labels.max())} is outside the run's {k} classes (0..{k - 1})")
    return True


def classifier_entry(run, real, *, seed: int, baseline_steps: int | None) -> dict[str, Any]:
    """The ``classifier`` entry of ``metrics.json`` for a classifier ``run`` on labelled test data ``real``
    (checked by :func:`wants_classifier`); rows with a negative label are left out.

    ``{"sgan" | "supervised" | "mlp" | "random_forest": {"value", "error", "n"}, "sgan_minus_supervised", "sgan_minus_mlp",
    "n_labelled", "labels_per_class", "sgan_steps", "baseline_steps", "forest_trees", "checkpoint",
    ["per_temperature"]}``."""
    import torch

    from physgen.training.data import to_model_space

    labels = np.asarray(real.labels, dtype=np.int64)
    test = real.subset(np.flatnonzero(labels >= 0))
    x = torch.from_numpy(to_model_space(test.samples, test.kind, run.transform))
    res = run.model.compare_classifiers(x, labels[labels >= 0], temperatures=test.conditions.get("temperature"),
                                        baseline_steps=baseline_steps, seed=seed)
    res["sgan_minus_supervised"] = res["sgan"]["value"] - res["supervised"]["value"]
    res["sgan_minus_mlp"] = res["sgan"]["value"] - res["mlp"]["value"]
    res["checkpoint"] = {"which": run.checkpoint, "step": run.step}
    return res


def summary_lines(entry: dict[str, Any]) -> list[str]:
    """Printed lines of the classifier entry (accuracy ± binomial error)."""
    lines = [f"  classifier test accuracy ({entry['sgan']['n']} labelled test rows; {entry['n_labelled']} "
             f"labelled training rows, {entry['labels_per_class']} per class):"]
    for key, label in CLASSIFIERS:
        a = entry[key]
        lines.append(f"    {key:<14} {a['value']:.4f} ± {a['error']:.4f}   ({label})")
    lines.append(f"    sgan − supervised {entry['sgan_minus_supervised']:+.4f}, sgan − mlp {entry['sgan_minus_mlp']:+.4f}")
    return lines


def add_section(report, entry: dict[str, Any]) -> None:
    """The report's classifier section: the three accuracies, then (with temperatures) per temperature."""
    report.section("Classifier: SGAN against the same network without the GAN", "classifier")
    report.text(f"Test accuracy on {entry['sgan']['n']} labelled test rows, ± binomial standard error. Baseline: "
                f"the same network trained for {entry['baseline_steps']} steps on the SGAN's "
                f"{entry['n_labelled']} labelled training rows only; scikit-learn's MLP ({entry['mlp_hidden']} hidden "
                f"units) and a random forest ({entry['forest_trees']} trees) on the same rows.", cls="note")
    report.table(["classifier", "accuracy", "error"],
                 [[label, f"{entry[key]['value']:.4f}", f"{entry[key]['error']:.4f}"] for key, label in CLASSIFIERS])
    per_t = entry.get("per_temperature")
    if per_t:
        report.table(["T", *(key for key, _ in CLASSIFIERS)],
                     [[t, *(f"{acc[key]:.3f}" for key, _ in CLASSIFIERS)] for t, acc in per_t.items()])
