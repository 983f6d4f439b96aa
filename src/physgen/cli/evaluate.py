"""``physgen evaluate``: compare generated samples with real ones; metrics.json + report.html."""
from __future__ import annotations

import sys
from pathlib import Path

from physgen.cli.common import add_seed, add_verb, nonneg_int


def register(sub) -> None:
    parser = add_verb(sub, "evaluate", "compare a generated dataset with a real one (metrics with errors and "
                      "real-data floors, plots, HTML report)",
                      "physgen evaluate --real ising.h5 --fake generated.h5 --out eval/ --metrics kl,js,mmd,c2st",
                      run)
    parser.add_argument("--real", required=True, help="real (reference) dataset file (.h5)")
    parser.add_argument("--fake", required=True, help="generated dataset file (.h5), same kind and shape")
    parser.add_argument("--out", required=True, help="output directory for metrics.json and report.html")
    parser.add_argument("--metrics", default=None,
                        help="comma list of kl,js,mmd,w1,fpd,c2st,observables (default: all that suit the kind)")
    add_seed(parser)
    parser.add_argument("--n-boot", type=nonneg_int, default=200, help="bootstrap resamples (default 200)")
    parser.add_argument("--max-samples", type=nonneg_int, default=10_000,
                        help="rows per side used by MMD and the classifier test (default 10000)")
    parser.add_argument("--no-plots", action="store_true", help="write metrics.json and a report without figures")
    parser.add_argument("--overwrite", action="store_true", help="replace existing metrics.json/report.html")
    parser.add_argument("--max-memory", default="auto", metavar="SIZE",
                        help="memory for the two files' samples, half each (e.g. 4GiB; default auto: half the "
                             "available RAM); a larger file is read as a seeded random subsample of rows, recorded "
                             "in metrics.json under _meta.subsample")


def run(args) -> int:
    from physgen.atomic import check_writable, write_json
    from physgen.data.lazy import load_within
    from physgen.data.memory import parse_bytes, resolve_max_memory
    from physgen.errors import UserError
    from physgen.metrics.evaluate import EvalConfig, evaluate, parse_metrics

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a directory")
    json_path, html_path = out / "metrics.json", out / "report.html"
    for path in (json_path, html_path):
        check_writable(path, overwrite=args.overwrite)
    limit = parse_bytes(resolve_max_memory(args.max_memory, "--max-memory"), "--max-memory") // 2  # per file
    (real, sub_real), (fake, sub_fake) = (load_within(args.real, limit, args.seed),
                                          load_within(args.fake, limit, args.seed + 1))
    parse_metrics(args.metrics, real.kind)  # fail fast on a bad --metrics before any work
    if args.max_samples < 2:
        raise UserError("--max-samples: must be >= 2")
    config = EvalConfig(n_boot=args.n_boot, max_samples=args.max_samples)
    warn = lambda msg: print(f"physgen: warning: {msg}", file=sys.stderr)  # noqa: E731
    result = evaluate(real, fake, args.metrics, args.seed, args.n_boot, names=(args.real, args.fake),
                      config=config, warn=warn)
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
    out.mkdir(parents=True, exist_ok=True)
    write_json(json_path, result)
    report.write(html_path)
    print(f"wrote {json_path} and {html_path}")
    for line in _summary_lines(result):
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
