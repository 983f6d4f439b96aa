"""``physgen sample RUN``: draw samples from a trained run into a dataset file of the training kind."""
from __future__ import annotations

import sys

from physgen.cli.options import Arg, checkpoint_arg, out_args, seed_arg, verb
from physgen.constraints import FINITE, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT
from physgen.errors import UserError
from physgen.samplers import DEFAULT_CHAINS


def register(sub) -> None:
    verb(sub, "sample", "draw samples from a trained run (same kind as its training data)",
         "physgen sample runs/rbm --n 1000 --condition temperature=2.269 --out rbm_samples.h5", run, (
             Arg("run_dir", "run directory made by `physgen train`", metavar="RUN_DIR"),
             Arg("--n", "number of samples", range=POSITIVE_INT, required=True),
             *out_args(help="output dataset file (.h5)"), seed_arg(),
             Arg("--condition", "condition value, e.g. temperature=2.5 or labels=3 (default: spread over the trained "
                 "values)", action="append", default=[], metavar="NAME=VALUE"),
             Arg("--extrapolate", "allow condition values outside the trained range", action="store_true"),
             Arg("--steps", "sampler steps (passed to the model's sampler as steps=N)", range=NON_NEGATIVE_INT),
             Arg("--sampler", "sampler name (passed to the model's sampler as sampler=NAME)"),
             Arg("--set", "one option of the sampler, e.g. --set sampler.eta=0.5 for ddim, --set sampler.burn_in=500 "
                 "for an rbm or --mcmc --set sampler.thin=5 (repeatable; docs/models.md lists each sampler's options)",
                 dest="sets",
                 action="append", default=[], metavar="sampler.KEY=VALUE"),
             Arg("--guidance", "classifier-free guidance weight of a conditional diffusion run trained with "
                 "model.p_uncond > 0 (default: the run's model.guidance)", range=FINITE, metavar="W"),
             Arg("--device", "auto | cpu | cuda | cuda:N | mps (default auto)"),
             checkpoint_arg("which checkpoint to use: best (chosen by the validation score; the latest where the run "
                            "has no best) or latest (default best)"),
             Arg("--format", "h5: physgen dataset (default); root: a TTree 'events', one branch per feature; lhe: tt̄ "
                 "events rebuilt from the features s, t, y (see docs/hep.md)", choices=("h5", "root", "lhe"),
                 default="h5"),
             Arg("--mcmc", "exact Boltzmann samples: Markov chains that propose from the model and accept with the "
                 "Ising weight e^(-H/T) of the training data (or --hamiltonian); families with a density only",
                 action="store_true"),
             Arg("--importance", "the model's samples with self-normalised importance weights /log_weights against "
                 "the Boltzmann weight, and their effective sample size", action="store_true"),
             Arg("--chains", f"--mcmc: parallel chains (default {DEFAULT_CHAINS}); other runs: the model's sampler "
                 "chains", range=POSITIVE_INT, metavar="C"),
             Arg("--hamiltonian", "--mcmc/--importance: the target Hamiltonian when the run's data records none (with "
                 "--J, --h, --open)", choices=("ising",)),
             Arg("--J", "--hamiltonian ising: coupling J (default 1)", range=FINITE, default=1.0),
             Arg("--h", "--hamiltonian ising: field h (default 0)", range=FINITE, default=0.0),
             Arg("--open", "--hamiltonian ising: open instead of periodic boundaries", action="store_true"),
             Arg("--ecm", "--format lhe: collision energy √s in GeV (default: the training data's 'ecm' attribute)",
                 range=POSITIVE),
             Arg("--top-mass", "--format lhe: top mass in GeV for on-shell tops (default 173.0, Pythia 8.317's)",
                 range=POSITIVE, default=173.0)))


def parse_conditions(items: list[str]) -> dict[str, float]:
    """``["temperature=2.5", "labels=3"]`` -> ``{"temperature": 2.5, "labels": 3.0}``."""
    out: dict[str, float] = {}
    for item in items:
        for part in filter(None, (s.strip() for s in item.split(","))):
            name, sep, value = part.partition("=")
            try:
                if not sep or not name.strip():
                    raise ValueError
                number = float(value)
            except ValueError:
                raise UserError(f"--condition {part}: expected NAME=NUMBER, e.g. temperature=2.5") from None
            if number != number or number in (float("inf"), float("-inf")):
                raise UserError(f"--condition {part}: value is not finite")
            out[name.strip()] = number
    return out


def run(args) -> int:
    from physgen.atomic import check_writable
    from physgen.data import save
    from physgen.paths import refuse_overwriting_inputs
    from physgen.training import load_run
    from physgen.training.rundir import run_files

    refuse_overwriting_inputs({"RUN_DIR": run_files(args.run_dir)}, {"--out": args.out})
    check_writable(args.out, overwrite=args.overwrite, what="--out")
    if args.format != "h5":
        from physgen.cli.sample_formats import check

        check(args)
    condition = parse_conditions(args.condition) or None
    options = {k: v for k, v in (("steps", args.steps), ("sampler", args.sampler), ("guidance", args.guidance))
               if v is not None}
    exact = _exact_options(args)
    sets = sampler_sets(args.sets, set(FLAGGED) if exact else {k for k in FLAGGED if getattr(args, k) is not None})
    run_ = load_run(args.run_dir, device=args.device, which=args.which)
    options.update(sets if exact else typed(run_.model, sets))   # --mcmc's own settings: the sampler checks them
    if run_.checkpoint != args.which and not run_.skipped:
        print(f"note: {args.run_dir} has no best checkpoint; using the latest (step {run_.step})", file=sys.stderr)
    if exact:
        from physgen.training.exact_sampling import check_exact, constants_of

        if "hamiltonian" in exact:   # --hamiltonian ising --J --h [--open] on the run's lattice
            exact["hamiltonian"] = exact["hamiltonian"](int(run_.spec.shape[-1]))
        check_exact(run_.config.model_name, run_.spec.kind, exact.get("hamiltonian"), constants_of(run_),
                    chains=args.chains, shape=run_.spec.shape)
        for why in run_.outside_trained_range(condition):
            print(f"physgen: warning: {why}: the chains stay exact, the acceptance reported below says what the "
                  "model is worth there", file=sys.stderr)
    elif args.chains is not None:
        options["chains"] = args.chains
    ds = run_.sample(args.n, seed=args.seed, condition=condition, extrapolate=args.extrapolate, **exact, **options)
    if args.format == "h5":
        save(ds, args.out, overwrite=args.overwrite)
    else:
        from physgen.cli.sample_formats import write

        write(args, ds)
    print(f"wrote {len(ds)} {ds.kind} samples of shape {ds.shape} -> {args.out}")
    if exact:
        from physgen.training.exact_sampling import acceptance_text

        print(acceptance_text(ds))
    return 0


def _exact_options(args) -> dict:
    """``Run.sample``'s keywords for --mcmc / --importance; refuses their flags without them."""
    if args.mcmc and args.importance:
        raise UserError("--mcmc and --importance exclude each other")
    if not (args.mcmc or args.importance):
        if args.hamiltonian or args.open or args.J != 1.0 or args.h != 0.0:
            raise UserError("--hamiltonian, --J, --h and --open go with --mcmc or --importance")
        return {}
    if args.format != "h5":
        raise UserError("--mcmc/--importance write physgen's h5 format (drop --format)")
    if args.steps is not None or args.sampler is not None or args.guidance is not None:
        raise UserError("--mcmc/--importance propose with the model's own sampler: drop --steps, --sampler, --guidance")
    if not args.hamiltonian and (args.open or args.J != 1.0 or args.h != 0.0):
        raise UserError("--J, --h and --open describe --hamiltonian ising: add it")
    out: dict = {"mcmc": args.mcmc, "importance": args.importance}
    if args.mcmc and args.chains is not None:
        out["chains"] = args.chains
    if args.hamiltonian:
        from functools import partial

        from physgen.training.exact_sampling import ising

        out["hamiltonian"] = partial(ising, J=args.J, h=args.h, periodic=not args.open)
    return out


#: the sampler keywords that have a flag of their own
FLAGGED = ("steps", "sampler", "guidance", "chains")


def sampler_sets(items: list[str], flags: set[str]) -> dict[str, str]:
    """``--set sampler.KEY=VALUE`` items -> ``{KEY: VALUE}`` (text); a KEY that one of ``flags`` (``--steps``,
    ``--chains``, ...: the ones given, or all for ``--mcmc``) sets is refused."""
    out: dict[str, str] = {}
    for item in items:
        key, eq, value = item.partition("=")
        section, _, name = key.strip().partition(".")
        if not eq or section != "sampler" or not name.strip():
            raise UserError(f"--set {item}: expected sampler.KEY=VALUE, e.g. sampler.eta=0.5")
        if name.strip() in flags:
            raise UserError(f"--set {item}: set it with --{name.strip()}")
        out[name.strip()] = value.strip()
    return out


def typed(model, sets: dict[str, str]) -> dict:
    """The ``--set sampler.KEY`` texts as keyword options of ``model.sample``: a keyword it names is coerced to
    its annotated type (:func:`physgen.coerce.coerce`); where it also takes the options of a named sampler
    (``**options``), any other is passed as text, for the sampler to read
    (:func:`physgen.samplers.registry.configure`); else it is refused, listing the keywords it takes."""
    import typing

    from physgen.coerce import coerce
    from physgen.training.run import keywords

    if not sets:
        return {}
    named, more = keywords(model.sample)
    hints = typing.get_type_hints(model.sample)
    out = {}
    for name, text in sets.items():
        if name in named:
            out[name] = coerce(text, hints.get(name, typing.Any), f"sampler.{name}")
        elif more:
            out[name] = text
        else:
            shown = [f"--{k}" if k in FLAGGED else f"sampler.{k}" for k in named]
            raise UserError(f"model {model.name!r} takes {', '.join(shown)}", key=f"sampler.{name}")
    return out
