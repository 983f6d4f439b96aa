"""``physgen demo``: the README's main job, on built-in data only."""
from __future__ import annotations

import shlex
from pathlib import Path

from physgen.cli.common import add_seed, add_verb, positive_float


def register(sub) -> None:
    parser = add_verb(sub, "demo", "run the end-to-end demo and write DIR/report.html",
                      "physgen demo --quick --out demo-out", run)
    parser.add_argument("--out", default="demo-out", help="output directory (default demo-out); "
                        "re-running with the same directory reuses finished stages")
    parser.add_argument("--quick", action="store_true",
                        help="L=8 lattices at three temperatures and a fixed step budget per family "
                             "(about two minutes on one core)")
    parser.add_argument("--device", default=None, help="torch device (default: cuda when present, else cpu)")
    parser.add_argument("--max-time", type=positive_float, default=None, metavar="SECONDS",
                        help="a time budget for each model stage instead of the default budgets (the family's "
                             "own; with --quick a step budget per family)")
    parser.add_argument("--stages", default=None, help="comma-separated subset of stages to run")
    add_seed(parser)


def run(args) -> int:
    from physgen import threads
    from physgen.demo.runner import run_stages
    from physgen.demo.stages import QUICK_NOTE, STAGES
    from physgen.errors import UserError
    from physgen.runlock import RunLock

    stages = STAGES
    if args.stages:
        wanted = [s.strip() for s in args.stages.split(",") if s.strip()]
        unknown = sorted(set(wanted) - {s.name for s in STAGES})
        if unknown:
            raise UserError(f"--stages: unknown stage(s) {', '.join(unknown)} "
                            f"(available: {', '.join(s.name for s in STAGES)})")
        stages = [s for s in STAGES if s.name in wanted]
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a directory")
    command = "physgen " + " ".join(shlex.quote(str(a)) for a in args.argv)
    # the quick demo's models, data and checks are all small: one thread (physgen.threads), unless the user chose
    pinned = None if args.quick is False or threads.user_set() else 1
    with RunLock(out), threads.torch_threads(pinned):  # one demo per output directory: stages are reused from there
        path = run_stages(stages, out, quick=args.quick, seed=args.seed, device=args.device, command=command,
                          max_time=args.max_time, intro=QUICK_NOTE if args.quick else None)
    print(f"report written to {path}")
    return 0
