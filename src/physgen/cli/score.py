"""``physgen score RUN --data FILE``: per-sample log-likelihoods (exact or bounds) and log Z."""
from __future__ import annotations

import math

from physgen.cli.options import Arg, checkpoint_arg, out_args, seed_arg, verb
from physgen.constraints import POSITIVE_INT


def register(sub) -> None:
    verb(sub, "score", "per-sample log-likelihood of a dataset under a trained run",
         "physgen score runs/rbm --data ising.h5 --method ais --out scores.h5", run, (
             Arg("run_dir", "run directory made by `physgen train`", metavar="RUN_DIR"),
             Arg("--data", "dataset file (.h5) of the run's kind and shape", required=True),
             *out_args(help="output HDF5 file: /log_prob (N,), attributes log_z, log_z_error, method (--method ode: "
                       "/log_prob_error (N,) too)"),
             Arg("--method", "exact | ais | elbo | iwae | ode | ... (model-dependent; default exact; ode: the "
                 "probability-flow ODE of ddpm, score-sde and flow-matching runs on continuous data)", default="exact"),
             Arg("--k", "importance samples / chains / Hutchinson probes of --method ode (passed to the model as k=K)",
                 range=POSITIVE_INT),
             Arg("--steps", "--method ode: RK4 steps from the data to the prior (default 100)", range=POSITIVE_INT),
             seed_arg(),
             Arg("--device", "auto | cpu | cuda | cuda:N | mps (default auto)"),
             checkpoint_arg("which checkpoint to score: best (chosen by the validation score; the latest where the run "
                            "has no best) or latest (default best)")))


def write_scores(path, log_prob, attrs, *, overwrite: bool, errors=None) -> None:
    """Atomically write ``/log_prob``, ``/log_prob_error`` (the standard error of each value, when given) and the
    attributes (JSON text for non-scalar values)."""
    import json

    import numpy as np

    from physgen.data.io import h5_text, write_h5

    def fill(f) -> None:
        f.create_dataset("log_prob", data=np.asarray(log_prob, dtype=np.float64))
        if errors is not None:
            f.create_dataset("log_prob_error", data=np.asarray(errors, dtype=np.float64))
        for key, value in attrs.items():
            value = _plain(value)
            if value is None:
                continue
            ok = isinstance(value, (str, int, float, bool))
            f.attrs[key] = (h5_text(value) if isinstance(value, str) else value) if ok else "json:" + json.dumps(value)

    write_h5(path, fill, overwrite=overwrite)


def _plain(value):
    """Tensors/arrays/numpy scalars -> Python numbers and lists (JSON-able; NaN kept as float)."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def run(args) -> int:
    import numpy as np

    from physgen import __version__
    from physgen.atomic import check_writable
    from physgen.data import load
    from physgen.paths import refuse_overwriting_inputs
    from physgen.training import load_run
    from physgen.training.rundir import run_files

    refuse_overwriting_inputs({"--data": args.data, "RUN_DIR": run_files(args.run_dir)}, {"--out": args.out})
    check_writable(args.out, overwrite=args.overwrite, what="--out")
    ds = load(args.data)
    run_ = load_run(args.run_dir, device=args.device, which=args.which)
    if args.method == "ode":
        from physgen.models.ode_score import check_ode

        check_ode(run_.model.name, run_.spec.kind)
    options = {key: value for key, value in (("k", args.k), ("steps", args.steps)) if value is not None}
    lp, attrs = run_.log_prob(ds, method=args.method, seed=args.seed, **options)
    errors = attrs.pop("log_prob_error", None)
    attrs = {"log_z": float("nan"), "log_z_error": float("nan"), **attrs, "method": args.method,
             "run": str(run_.path.resolve()), "data": str(args.data), "mean_log_prob": float(np.mean(lp)),
             "physgen_version": __version__}
    write_scores(args.out, lp, attrs, overwrite=args.overwrite, errors=errors)
    print(f"mean log p = {attrs['mean_log_prob']:.6g} nats over {len(lp)} samples ({args.method})"
          f"{_log_z_text(attrs)} -> {args.out}")
    return 0


def _log_z_text(attrs) -> str:
    z, err = attrs.get("log_z"), attrs.get("log_z_error")
    if not isinstance(z, float) or not math.isfinite(z):
        return ""
    return f"; log Z = {z:.6g}" + (f" ± {err:.2g}" if isinstance(err, float) and math.isfinite(err) else "")
