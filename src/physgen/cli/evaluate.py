"""``physgen evaluate``: compare generated samples with real ones; metrics.json + report.html."""
from __future__ import annotations

import sys
from pathlib import Path

from physgen.cli.options import Arg, checkpoint_arg, keyed, seed_arg, values, verb
from physgen.constraints import NON_NEGATIVE_INT


def register(sub) -> None:
    parser = verb(sub, "evaluate", "compare a generated dataset with a real one (metrics with errors and real-data "
                  "floors, plots, HTML report)",
                  "physgen evaluate --real ising.h5 --fake generated.h5 --out eval/ --metrics kl,js,mmd,c2st", run, (
                      Arg("run_dir", "instead of --real/--fake: a run made by `physgen train`, whose samples (as many "
                          "as --data has rows) are judged against --data; an sgan run on labelled --data also gets "
                          "its classifier's test accuracy beside a supervised baseline and a random forest",
                          nargs="?", metavar="RUN_DIR"),
                      Arg("--data", "with RUN_DIR: the test dataset file (.h5)"),
                      checkpoint_arg("with RUN_DIR: which checkpoint to sample (default best, as physgen sample)"),
                      Arg("--baseline-steps", "with an sgan RUN_DIR: steps of the supervised baseline (default: the "
                          "SGAN's steps)", range=NON_NEGATIVE_INT),
                      Arg("--real", "real (reference) dataset file (.h5)"),
                      Arg("--fake", "generated dataset file (.h5), same kind and shape"),
                      Arg("--out", "output directory for metrics.json and report.html", required=True),
                      Arg("--metrics", "comma list of kl,js,mmd,w1,fpd,c2st,observables (default: all that suit the "
                          "kind)"),
                      seed_arg(),
                      *protocol_rows(),
                      Arg("--no-plots", "write metrics.json and a report without figures", action="store_true"),
                      Arg("--overwrite", "replace existing metrics.json/report.html", action="store_true"),
                      Arg("--max-memory", "memory for the two files' samples, half each (e.g. 4GiB; default auto: "
                          "half the available RAM); a larger file is read as a seeded random subsample of rows, "
                          "recorded in metrics.json under _meta.subsample", default="auto", metavar="SIZE")))
    parser.set_defaults(locks_out=True)  # one writer per --out directory


def protocol_rows() -> tuple[Arg, ...]:
    """The rows of :class:`~physgen.eval_config.EvalConfig`'s fields on the command line (default and range from
    the dataclass)."""
    from physgen.eval_config import EvalConfig

    return (keyed(EvalConfig, "n_boot", "--n-boot", "bootstrap resamples (default {default})"),
            keyed(EvalConfig, "max_samples", "--max-samples", "rows per side used by MMD and the classifier test "
                  "(default {default})"))


def run(args) -> int:
    from physgen.atomic import check_writable, write_json
    from physgen.cli import evaluate_run
    from physgen.data.lazy import load_within
    from physgen.data.memory import parse_bytes, resolve_max_memory
    from physgen.errors import UserError
    from physgen.metrics.evaluate import EvalConfig, evaluate, parse_metrics
    from physgen.paths import refuse_overwriting_inputs

    evaluate_run.check_args(args)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a directory")
    json_path, html_path = out / "metrics.json", out / "report.html"
    refuse_overwriting_inputs({"--real": args.real, "--fake": args.fake}, {"--out": [json_path, html_path]})
    for path in (json_path, html_path):
        check_writable(path, overwrite=args.overwrite)
    sub_real = sub_fake = None
    if args.run_dir is None:
        limit = parse_bytes(resolve_max_memory(args.max_memory, "--max-memory"), "--max-memory") // 2  # per file
        (real, sub_real), (fake, sub_fake) = (load_within(args.real, limit, args.seed),
                                              load_within(args.fake, limit, args.seed + 1))
        run_, names = None, (args.real, args.fake)
    else:
        real, fake, run_ = evaluate_run.load_pair(args, check=lambda ds: parse_metrics(args.metrics, ds.kind))
        names = (args.data, f"samples of {args.run_dir}")
    parse_metrics(args.metrics, real.kind)  # fail fast on a bad --metrics before any work
    config = values(EvalConfig, protocol_rows(), args)
    warn = lambda msg: print(f"physgen: warning: {msg}", file=sys.stderr)  # noqa: E731
    classify = run_ is not None and evaluate_run.wants_classifier(run_, real)
    result = evaluate(real, fake, args.metrics, args.seed, args.n_boot, names=names, config=config, warn=warn)
    if sub_real or sub_fake:
        result["_meta"]["subsample"] = {"real": sub_real, "fake": sub_fake}
        if real.kind == "continuous":   # the 1-D histograms of every row, streamed (features = the file's columns)
            from physgen.metrics.streamed import whole_file_divergences

            result["_meta"]["subsample"]["whole_file"] = whole_file_divergences(args.real, args.fake,
                                                                                bins=config.bins, alpha=config.alpha)
        which = " and ".join(n for n, sub in (("--real", sub_real), ("--fake", sub_fake)) if sub)
        warn(f"{which}: larger than half of --max-memory, evaluated on a seeded subsample of rows "
             f"(recorded in metrics.json)")
    report = _report(real, fake, result, plots=not args.no_plots)
    if classify:
        result["classifier"] = evaluate_run.classifier_entry(run_, real, seed=args.seed,
                                                             baseline_steps=args.baseline_steps)
        evaluate_run.add_section(report, result["classifier"])
    out.mkdir(parents=True, exist_ok=True)
    write_json(json_path, result)
    report.write(html_path)
    print(f"wrote {json_path} and {html_path}")
    for line in _summary_lines(result):
        print(line)
    if "classifier" in result:
        for line in evaluate_run.summary_lines(result["classifier"]):
            print(line)
    return 0


def _report(real, fake, result, *, plots: bool):
    from physgen.report.evaluate_plots import evaluation_report

    return evaluation_report(real, fake, result, plots=plots)


def _summary_lines(result: dict) -> list[str]:
    lines = []
    for name, e in result.items():
        if name.startswith("_") or e.get("value") is None:
            continue
        err = f" ± {e['error']:.3g}" if e.get("error") is not None else ""
        floor = f"   (floor {e['floor']:.3g})" if e.get("floor") is not None else ""
        lines.append(f"  {name:<16} {e['value']:.4g}{err}{floor}")
    return lines
