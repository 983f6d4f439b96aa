"""``physgen demo``: the README's main job, on built-in data only."""
from __future__ import annotations

import shlex
from pathlib import Path

from physgen.cli.options import Arg, seed_arg, verb
from physgen.constraints import POSITIVE


def register(sub) -> None:
    verb(sub, "demo", "run the end-to-end demo and write DIR/report.html", "physgen demo --quick --out demo-out", run, (
        Arg("--out", "output directory (default demo-out); re-running with the same directory reuses finished stages",
            default="demo-out"),
        Arg("--quick", "L=8 lattices at three temperatures and a fixed step budget per family (about two minutes on "
            "one core)", action="store_true"),
        Arg("--device", "torch device (default: cuda when present, else cpu)"),
        Arg("--max-time", "a time budget for each model stage instead of the default budgets (the family's own; with "
            "--quick a step budget per family)", range=POSITIVE, metavar="SECONDS"),
        Arg("--stages", "comma-separated subset of stages to run"),
        seed_arg()))


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
