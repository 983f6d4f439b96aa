"""``physgen train MODEL``: train a registered model on a dataset file (or, for the families that can, on a
Hamiltonian alone: ``--hamiltonian ising``) into a run directory."""
from __future__ import annotations

import os
import sys

from dataclasses import replace

from physgen.cli.common import float_list, lattice_size, t_range
from physgen.cli.lattice_options import key_value
from physgen.cli.options import Arg, verb
from physgen.constraints import FINITE, NON_NEGATIVE_INT
from physgen.errors import UserError
from physgen import train_options as options


HAMILTONIAN = "training on a Hamiltonian, without data (van; docs/van.md)"
ARGS = (
    Arg("model", "registered model name (see `physgen models`)", metavar="MODEL"),
    Arg("--data", "training dataset file (.h5); optional with --resume, none with --hamiltonian"),
    Arg("--out", "run directory to create (or continue with --resume)", required=True),
    Arg("--config", "TOML file with [model], [train], [data] sections"),
    Arg("--set", "override one config value, e.g. --set model.filters=4 --set train.lr=0.01 (repeatable)",
        dest="sets", action="append", default=[], metavar="SECTION.KEY=VALUE"),
    Arg("--resume", "continue the run in --out from its newest checkpoint", action="store_true"),
    Arg("--overwrite", "replace an existing run directory --out", action="store_true"))
HAMILTONIAN_ARGS = tuple(replace(row, group=HAMILTONIAN) for row in (
    Arg("--hamiltonian", "minimise the variational free energy of this Hamiltonian instead of fitting --data: ising, "
        "or a model of `physgen data lattice` (potts, ea, triangular)", metavar="NAME"),
    Arg("--hamiltonian-from", "the Hamiltonian (and quenched couplings) a `physgen data lattice` file records",
        metavar="FILE"),
    Arg("--size", "--hamiltonian: lattice size L >= 2 (L x L)", type=lattice_size, metavar="L"),
    Arg("--temperatures", "--hamiltonian: comma-separated temperatures, e.g. 2.0,2.5", type=float_list),
    Arg("--t-range", "--hamiltonian: COUNT evenly spaced temperatures from LOW to HIGH", type=t_range,
        metavar="LOW:HIGH:COUNT"),
    Arg("--J", "--hamiltonian: coupling J (default 1)", range=FINITE),
    Arg("--h", "--hamiltonian: field h (default 0)", range=FINITE),
    Arg("--open", "--hamiltonian: open instead of periodic boundaries", action="store_true"),
    Arg("--param", "--hamiltonian: a model parameter, repeatable (e.g. --param q=3)", type=key_value, action="append",
        default=[], metavar="KEY=VALUE"),
    Arg("--disorder", "--hamiltonian ea: +-J (pm, default) or Gaussian couplings", choices=("pm", "gauss")),
    Arg("--disorder-seed", "--hamiltonian ea: the seed the couplings are drawn with (default 0)",
        range=NON_NEGATIVE_INT)))


def register(sub) -> None:
    verb(sub, "train", "train a model on a dataset file, or on a Hamiltonian alone (resumable run directory)",
         "physgen train rbm --data ising.h5 --condition temperature --out runs/rbm --set model.filters=4 --steps 5000",
         run, (*ARGS, *map(named, options.TRAIN), *HAMILTONIAN_ARGS))


def named(option: options.Option) -> Arg:
    """The row of a named training option (:mod:`physgen.train_options`): its flag, ``dest`` its keyword, the help
    ending with the key it sets."""
    help = f"{option.help} ({option.key})"
    if option.switch is not None:
        return Arg(option.flag, help, dest=option.name, action="store_const", const=option.switch)
    declared = option.declared
    return Arg(option.flag, help, dest=option.name, range=declared.range if declared else option.range,
               metavar=option.metavar, choices=option.choices)


def run(args) -> int:
    from physgen.paths import refuse_overwriting_inputs
    from physgen.training import signals, train

    signals.interrupted()   # forget a Ctrl-C of an earlier in-process run
    replaced = args.out if args.overwrite and not args.resume else None  # --overwrite replaces the directory
    refuse_overwriting_inputs({"--data": args.data, "--config": args.config}, {"--out": replaced})
    named = {o.name: getattr(args, o.name) for o in options.TRAIN}
    summary = train(args.model, data=args.data, out=args.out, config_file=args.config, sets=args.sets,
                    resume=args.resume, overwrite=args.overwrite, hamiltonian=hamiltonian_of(args), **named)
    if os.environ.get("RANK", "0") != "0":  # under torchrun only rank 0 reports
        return 0
    loss = summary["last_metrics"].get("loss")
    loss_text = f", loss {loss:.5g}" if isinstance(loss, float) else ""
    total = f"/{summary['total_steps']}" if summary.get("total_steps") is not None else ""
    print(f"{summary['status']}: {summary['model']} at step {summary['steps']}{total}"
          f"{loss_text} ({summary['wall_time_s']:.1f} s{_split(summary)}) -> {args.out}")
    for line in free_energy_lines(summary):
        print(line)
    for line in (stop_line(summary, args.model, args.out),
                 validation_line(summary.get("validation"), args.model, args.out, summary),
                 (summary.get("validation") or {}).get("fluctuations")):
        if line:
            print(line)
    if signals.interrupted():   # Ctrl-C: checkpointed, but the command did not finish (`cmd && next` stops)
        print("physgen: interrupted", file=sys.stderr)
        return 130
    return 0


def free_energy_lines(summary: dict) -> list[str]:
    """A run on a Hamiltonian: its variational free energy per spin F_q/N (an upper bound on F/N), and beside it,
    per temperature, the exact F/N of the finite lattice where one is known (``summary["free_energy"]``:
    :func:`physgen.training.hamiltonian.exact_free_energies`)."""
    f_q = summary["last_metrics"].get("f_q")
    if not isinstance(f_q, float):
        return []
    lines = [f"variational free energy per spin F_q/N = {f_q:.6g} (an upper bound on F/N; last logged steps)"]
    for row in summary.get("free_energy") or ():
        relative = f", relative {row['relative']:.2e}" if row.get("relative") is not None else ""
        lines.append(f"  T={row['temperature']:g}: F_q/N = {row['f_q']:.6g}, exact F/N = {row['exact']:.6g} "
                     f"({row['method']}): F_q/N - F/N = {row['excess']:.3g}{relative}")
    return lines


def hamiltonian_of(args):
    """The :class:`~physgen.training.hamiltonian.HamiltonianTraining` of ``--hamiltonian NAME --size L --temperatures
    T1,T2 | --t-range LO:HI:N [--J] [--h] [--open] [--disorder D --disorder-seed S]`` or of ``--hamiltonian-from
    FILE`` with the temperatures, or None without either (their flags are then refused)."""
    flags = {"--size": args.size, "--temperatures": args.temperatures, "--t-range": args.t_range, "--J": args.J,
             "--h": args.h, "--open": args.open or None, "--disorder": args.disorder,
             "--disorder-seed": args.disorder_seed, "--param": args.param or None}
    source = args.hamiltonian_from
    if args.hamiltonian is None and source is None:
        given = [flag for flag, value in flags.items() if value is not None]
        if given:
            raise UserError(f"{', '.join(given)}: describe --hamiltonian ising (or another model); add it (or drop them)")
        return None
    if args.data is not None:
        raise UserError("--data/--hamiltonian: give one (a run trains on a data file or on a Hamiltonian)")
    if args.resume:
        raise UserError("--hamiltonian: the run records its Hamiltonian; resume without --hamiltonian and its flags")
    if (args.temperatures is None) == (args.t_range is None):
        raise UserError("--temperatures/--t-range: give one with --hamiltonian")
    from physgen.training.hamiltonian import IsingTraining

    key = "temperatures" if args.t_range is None else "t_range"
    temperatures = args.temperatures if args.t_range is None else args.t_range
    try:
        if source is not None:
            return _from_file(source, args, flags, tuple(temperatures))
        if args.size is None:
            raise UserError("--size: required with --hamiltonian")
        from physgen.lattice import registry

        cls = registry.get(args.hamiltonian)   # (an unknown name: one line naming the known ones)
        given = cls.check_params(dict(args.param))
        named = {"J": args.J, "h": args.h}
        for key, value in dict(args.param).items():
            if key in named and named[key] is not None:
                raise UserError(f"--param {key}: given twice (also as --{key})")
            named[key] = given.get(key, value)
        J = named["J"] if named["J"] is not None else (cls.params["J"].default if "J" in cls.params else 1.0)
        others = tuple((k, float(given[k])) for k in dict(args.param) if k not in ("J", "h"))
        return IsingTraining(args.size, tuple(temperatures), float(J), 0.0 if named["h"] is None else float(named["h"]),
                             not args.open, args.hamiltonian, args.disorder, args.disorder_seed, others)
    except UserError as exc:   # (named by the flag that gave the temperatures)
        if exc.key == "temperatures":
            raise UserError(exc.detail, key=key, value=exc.value) from None
        raise


def _from_file(source: str, args, flags: dict, temperatures: tuple[float, ...]):
    """``--hamiltonian-from FILE``: the model a data file records, its quenched couplings those of its disorder
    seed (the van draws them from the seed)."""
    from physgen.data import load
    from physgen.lattice import registry
    from physgen.training.hamiltonian import HamiltonianTraining

    clash = [f for f in ("--size", "--J", "--h", "--open", "--disorder", "--disorder-seed", "--param")
             if flags[f] is not None]
    if args.hamiltonian is not None or clash:
        raise UserError(f"--hamiltonian-from: the file names the Hamiltonian; drop {', '.join(clash) or '--hamiltonian'}")
    model = registry.from_dataset(load(source), source)
    if not model.reproducible():
        raise UserError(f"--hamiltonian-from: {source}'s couplings are not those its disorder seed draws; the van "
                        f"takes quenched couplings from a seed (`physgen data lattice --disorder-seed`)")
    return HamiltonianTraining(model, temperatures)


def _split(summary: dict) -> str:
    """``: loop X s, checks Y s`` when the run had quality checks (probes and validation passes)."""
    checks = summary.get("checks_s")
    return f": loop {summary['loop_s']:.1f} s, checks {checks:.1f} s" if checks else ""


def stop_line(summary: dict, model: str, out: str) -> str | None:
    """What ended a run before its planned steps, with the command that finishes it: ``stopped by --max-time at
    step 1,200 of 4,000 (30% done): finish with physgen train MODEL --out RUN --resume``; the floor of
    ``--until floor`` reached early is said too."""
    done, planned, by = summary.get("steps"), summary.get("planned_steps"), summary.get("stopped_by")
    finish = f"physgen train {model} --out {out} --resume"
    if by == "floor" and planned:
        return f"stopped at the floor at step {done:,} of {planned:,} planned (--until floor)"
    if summary["status"] not in ("max-time", "terminated", "stopped"):
        return None
    what = {"time": "--max-time", "signal": "a termination signal", "request": "a stop request", None: "a stop request"
            }.get(by, f"a stop request ({by})")
    if planned:
        return f"stopped by {what} at step {done:,} of {planned:,} ({100 * done / planned:.0f}% done): finish with {finish}"
    return f"stopped by {what} at step {done:,}: continue with {finish}"


def validation_line(validation: dict | None, model: str, out: str, summary: dict) -> str | None:
    """``validation: KL 0.080 (floor 0.010) — 8x floor: train longer (physgen train MODEL --out RUN --resume
    --steps 2S)``: the quality probe's verdict on the best checkpoint; when the verdict asks for more training
    of a run that did its planned steps, the command that continues it for as many steps again."""
    if not validation or not validation.get("verdict"):
        return None
    line = f"validation: {validation['verdict']}"
    if "train longer" in line and summary["status"] == "completed" and summary.get("planned_steps"):
        line += f" (physgen train {model} --out {out} --resume --steps {2 * int(summary['planned_steps'])})"
    return line
