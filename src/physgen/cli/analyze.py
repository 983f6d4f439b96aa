"""``physgen analyze``: PCA, k-means, hierarchical clustering and tree ensembles on a dataset file.

Each method writes ``DIR/analysis.json`` (its numbers and protocol), PNG figures, arrays as ``.npy`` and
``DIR/index.html``.  Everything is computed before anything is written; ``analysis.json`` is written
last, so its presence marks a complete analysis.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from physgen.cli.common import EXAMPLE_FMT, ArgumentParser
from physgen.cli.options import Arg, seed_arg, verb
from physgen.constraints import NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT, Interval

METHODS = ("pca", "kmeans", "hierarchical", "forest")


def register(sub) -> None:
    parser = sub.add_parser("analyze", help="unsupervised analysis: PCA, k-means, hierarchical, random forests",
                            description="Analyse a dataset file with the course's unsupervised and tree methods.",
                            epilog="Example:\n  physgen analyze pca ising.h5 --out pca-out\n"
                                   "  physgen analyze forest ising.h5 --target phase --out forest-out",
                            formatter_class=EXAMPLE_FMT)
    inner = parser.add_subparsers(dest="method", required=True, metavar="METHOD", parser_class=ArgumentParser)
    for name, help, example, func, rows in (
            ("pca", "principal components, PC1 vs magnetization, PC1 weights", "physgen analyze pca ising.h5 --out "
             "pca-out", run_pca, (*common(), Arg("--components", "number of components kept (default 10)",
                                                 range=POSITIVE_INT, default=10))),
            ("kmeans", "k-means clustering on raw configurations or PCA projections", "physgen analyze kmeans ising.h5 "
             "--k 3 --out kmeans-out", run_kmeans, (
                 *common(), Arg("--k", "number of clusters", range=POSITIVE_INT, required=True), *SPACE,
                 Arg("--n-init", "k-means restarts (default 10)", range=POSITIVE_INT, default=10))),
            ("hierarchical", "agglomerative clustering (scipy linkage) with a dendrogram", "physgen analyze "
             "hierarchical ising.h5 --linkage ward --k 3 --out hier-out", run_hierarchical, (
                 *common(),
                 Arg("--linkage", "cluster distance: closest pair, farthest pair, mean pair, or Ward's variance "
                     "increase", required=True, choices=("single", "complete", "average", "ward")),
                 Arg("--k", "cut the tree into K clusters (default 3)", range=POSITIVE_INT, exclusive="cut"),
                 Arg("--height", "cut the tree at this merge distance", range=POSITIVE, exclusive="cut"),
                 Arg("--max-points", "largest number of points given to the linkage (default 2000); more are reduced",
                     range=POSITIVE_INT, default=2000),
                 Arg("--reduce", "reduction of large data: a random subsample (default) or k-means centroids",
                     choices=("subsample", "kmeans"), default="subsample"),
                 *SPACE)),
            ("forest", "random forest, bagging and a single tree: phases or labels", "physgen analyze forest ising.h5 "
             "--target phase --out forest-out", run_forest, (
                 *common(standardize=False),
                 Arg("--target", "phase: ordered (T < Tc) vs disordered from /conditions/temperature; label: /labels",
                     required=True, choices=("phase", "label")),
                 Arg("--estimators", "trees per ensemble (default 50)", range=POSITIVE_INT, default=50),
                 Arg("--test-fraction", "held-out fraction (default 0.25)", range=FRACTION, default=0.25),
                 Arg("--critical-width", "critical region |T - Tc| < WIDTH (default 0.3)", range=POSITIVE,
                     default=0.3),
                 Arg("--tc", "critical temperature (default 2J/ln(1+sqrt 2))", range=POSITIVE),
                 Arg("--train-on-critical", "also train on the critical region", action="store_true"),
                 Arg("--variance-repeats", "training resamples for the bagging-vs-tree variance figure (default 5; < 2 "
                     "skips it)", range=NON_NEGATIVE_INT, default=5)))):
        verb(inner, name, help, example, func, rows).set_defaults(locks_out=True)


FRACTION = Interval(float, 0, 1, closed="neither")
SPACE = (Arg("--on", "cluster raw samples or PCA projections", choices=("raw", "pca"), default="raw"),
         Arg("--components", "PCA components with --on pca (default 2)", range=POSITIVE_INT, default=2))


def common(standardize: bool = True) -> tuple[Arg, ...]:
    """The input file, the output directory, the seed (scikit-learn's ``random_state``) and the memory cap of
    every method; ``--standardize`` where it applies."""
    return (Arg("file", "dataset file (.h5)"),
            Arg("--out", "output directory (analysis.json, index.html, PNGs)", required=True),
            Arg("--overwrite", "replace an existing analysis in --out", action="store_true"),
            seed_arg(below=2 ** 32),
            Arg("--max-memory", "memory for the samples (e.g. 2GiB; default auto: half the available RAM); a larger "
                "file is analysed on a seeded random subsample of rows, recorded in analysis.json", default="auto",
                metavar="SIZE")) + (STANDARDIZE if standardize else ())


STANDARDIZE = (Arg("--standardize", "scale every feature to unit variance first", action="store_true"),)


def _prepare(args) -> tuple[Any, Path]:
    """Check --out before any work, then load the dataset."""
    from physgen.data.lazy import load_within
    from physgen.data.memory import parse_bytes, resolve_max_memory
    from physgen.errors import UserError
    from physgen.paths import refuse_overwriting_inputs

    out = Path(args.out)
    refuse_overwriting_inputs({"FILE": args.file}, {"--out": [out / "analysis.json", out / "index.html"]})
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a directory")
    if (out / "analysis.json").exists() and not args.overwrite:
        raise UserError(f"--out {out}: already holds an analysis (pass --overwrite to replace it)")
    limit = parse_bytes(resolve_max_memory(args.max_memory, "--max-memory"), "--max-memory")
    ds, args.subsample = load_within(args.file, limit, args.seed)   # (the record goes into analysis.json)
    return ds, out


def _mkdir(out: Path) -> None:
    from physgen.errors import UserError

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {out}: cannot create the directory ({exc.strerror or exc})") from None


def _write(args, out: Path, ds, report, numbers: dict[str, Any], arrays: dict[str, np.ndarray]) -> int:
    """Write arrays, index.html and, last, analysis.json."""
    from physgen.atomic import atomic_path, write_json

    for name, array in arrays.items():
        with atomic_path(out / f"{name}.npy") as tmp, open(tmp, "wb") as fh:
            np.save(fh, array)
    report.write(out / "index.html")
    header = {"method": args.method, "file": str(args.file), "n": len(ds), "shape": list(ds.shape),
              "kind": ds.kind, "seed": args.seed, **({"subsample": args.subsample} if args.subsample else {}),
              "files": sorted(p.name for p in out.iterdir() if not p.name.startswith("."))}
    write_json(out / "analysis.json", {**header, **numbers})
    print(f"wrote {out / 'analysis.json'} and {out / 'index.html'}")
    return 0


def _report(args, ds):
    from physgen.report import Report

    report = Report(f"physgen analyze {args.method}: {Path(args.file).name}")
    report.text(f"{args.file}: N = {len(ds)}, sample shape {tuple(ds.shape)}, kind {ds.kind}.", cls="note")
    return report


def run_pca(args) -> int:
    from physgen.analysis import analyze_pca
    from physgen.analysis.plots import pca_section

    ds, out = _prepare(args)
    result = analyze_pca(ds, n_components=args.components, standardize=args.standardize, seed=args.seed)
    report = _report(args, ds)
    _mkdir(out)
    pca_section(report, result, ds, save_dir=out)
    arrays = {"projections": result.projections.astype(np.float32), "components": result.components}
    return _write(args, out, ds, report, result.to_json(), arrays)


def run_kmeans(args) -> int:
    from physgen.analysis import analyze_kmeans

    ds, out = _prepare(args)
    result = analyze_kmeans(ds, args.k, on=args.on, n_components=args.components, standardize=args.standardize,
                            seed=args.seed, n_init=args.n_init)
    return _clusters(args, ds, out, result, f"k-means, k = {args.k}", "kmeans")


def run_hierarchical(args) -> int:
    from physgen.analysis import analyze_hierarchical

    ds, out = _prepare(args)
    k = args.k if args.k is not None or args.height is not None else 3
    result = analyze_hierarchical(ds, args.linkage, k=k, height=args.height, max_points=args.max_points,
                                  reduce=args.reduce, on=args.on, n_components=args.components,
                                  standardize=args.standardize, seed=args.seed)
    return _clusters(args, ds, out, result, f"hierarchical clustering, {args.linkage} linkage", "hierarchical")


def _clusters(args, ds, out: Path, result, title: str, prefix: str) -> int:
    from physgen.analysis.plots import cluster_section, dendrogram_figure

    report = _report(args, ds)
    _mkdir(out)
    z = result.extra.pop("linkage_matrix", None)
    cluster_section(report, result, ds, title, save_dir=out, prefix=prefix)
    arrays = {"labels": result.labels, "centroids": result.centroids}
    if z is not None:
        cut = result.protocol["cut"]
        dendrogram_figure(report, z, args.linkage, save_dir=out, k=cut.get("k"), height=cut.get("height"))
        arrays["linkage"] = z
    return _write(args, out, ds, report, result.to_json(), arrays)


def run_forest(args) -> int:
    from physgen.analysis import analyze_forest
    from physgen.analysis.plots import forest_section

    ds, out = _prepare(args)
    result = analyze_forest(ds, args.target, n_estimators=args.estimators, test_fraction=args.test_fraction,
                            critical_half_width=args.critical_width, train_on_critical=args.train_on_critical,
                            tc=args.tc, variance_repeats=args.variance_repeats, seed=args.seed)
    report = _report(args, ds)
    _mkdir(out)
    forest_section(report, result, ds, save_dir=out)
    return _write(args, out, ds, report, result.to_json(), {"importances": result.importances})
