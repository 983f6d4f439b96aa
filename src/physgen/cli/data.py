"""``physgen data``: make and inspect dataset files.

Sub-verbs live in their own modules ``physgen.cli.data_<name>`` with a ``register(subparsers)``.
"""
from __future__ import annotations

import importlib
import json

from physgen.cli.common import EXAMPLE_FMT, ArgumentParser
from physgen.cli.options import Arg, verb

SUBVERBS = ("ising", "lattice", "import", "digits", "mnist", "toy", "pythia", "jets", "merge")


def register(sub) -> None:
    parser = sub.add_parser("data", help="generate, import and inspect dataset files",
                            description="Generate, import and inspect physgen HDF5 dataset files.",
                            epilog="Example:\n  physgen data ising --size 16 --t-range 1.5:3.5:8 --samples 500 "
                                   "--algorithm wolff --out ising.h5", formatter_class=EXAMPLE_FMT)
    inner = parser.add_subparsers(dest="data_verb", required=True, metavar="SUBVERB", parser_class=ArgumentParser)
    for name in SUBVERBS:
        module = f"physgen.cli.data_{name}"
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module).register(inner)
    verb(inner, "info", "print a summary of a dataset file", "physgen data info ising.h5", run_info,
         (Arg("file", "dataset file (.h5)"), Arg("--json", "print the summary as JSON", action="store_true")))


def run_info(args) -> int:
    from physgen.data import describe, load

    summary = describe(load(args.file))
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
        return 0
    print(f"file        {args.file}")
    print(f"samples     N={summary['n']}  shape={tuple(summary['shape'])}  kind={summary['kind']}  dtype={summary['dtype']}")
    for name, c in summary["conditions"].items():
        values = c["values"] if c["values"] is not None else f"{c['min']:g} .. {c['max']:g}"
        print(f"condition   {name}: {c['distinct']} distinct, {values}")
    if "labels" in summary:
        print(f"labels      {summary['labels']}")
    if "multiplicity" in summary:
        m = summary["multiplicity"]
        print(f"particles   {m['min']} .. {m['max']} per sample (mean {m['mean']:.2f}) in {m['slots']} slots")
    for key, value in summary["attrs"].items():
        print(f"attr        {key} = {value}")
    return 0
