"""``physgen tune MODEL``: search hyperparameters with Optuna (TPE, median pruning, resumable study)."""
from __future__ import annotations

from physgen.cli.common import seed_int
from physgen.cli.options import Arg, verb
from physgen.constraints import POSITIVE, POSITIVE_INT

OBJECTIVE_CHOICES = ("kl", "auc", "observables")


def register(sub) -> None:
    verb(sub, "tune", "search a model's hyperparameters with Optuna (resumable study in --out)",
         "physgen tune rbm --data ising.h5 --condition temperature --trials 30 --trial-time 60 --out tune/rbm", run, (
             Arg("model", "registered model name (see `physgen models`)", metavar="MODEL"),
             Arg("--data", "dataset file (.h5); split once into train and held-out parts", required=True),
             Arg("--trials", "trials in the study in all (running the command again continues up to this many)",
                 range=POSITIVE_INT, required=True),
             Arg("--trial-time", "training wall time of each trial (its train.max_time)", range=POSITIVE,
                 required=True, metavar="SECONDS"),
             Arg("--objective", "held-out score to minimise: kl (mean per-feature KL), auc (classifier two-sample "
                 "AUC), observables (Ising observables' chi2/dof); default kl", choices=OBJECTIVE_CHOICES,
                 default="kl"),
             Arg("--space", "TOML search space (default: the family's built-in space)", dest="space_file",
                 metavar="FILE"),
             Arg("--seed", "seed of the split, sampler and every trial (default 0)", type=seed_int, default=0),
             Arg("--condition", "condition on /conditions/NAME (e.g. temperature) or on /labels (data.condition)",
                 metavar="NAME|labels"),
             Arg("--out", "study directory (created, or continued when it holds the study)", required=True)))


def run(args) -> int:
    from pathlib import Path

    from physgen.paths import refuse_overwriting_inputs
    from physgen.tune import tune
    from physgen.tune.split import HELDOUT, TRAIN

    split_dir = Path(args.out) / "data"
    refuse_overwriting_inputs({"--data": args.data, "--space": args.space_file},
                              {"--out": [split_dir / TRAIN, split_dir / HELDOUT]})
    try:
        tune(args.model, data=args.data, out=args.out, trials=args.trials, trial_time=args.trial_time,
             objective=args.objective, space_file=args.space_file, seed=args.seed, condition=args.condition)
    except Exception as exc:
        if not _database_error(exc):
            raise
        from physgen.errors import UserError
        from physgen.paths import shown
        from physgen.tune.study import STUDY_FILE

        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:160]
        raise UserError(f"--out {shown(Path(args.out) / STUDY_FILE)}: cannot write the study database "
                        f"({reason})") from None
    return 0


def _database_error(exc: BaseException) -> bool:
    """The study database failed (disk full, read-only, ...): SQLAlchemy's or sqlite3's error."""
    import sqlite3

    try:
        from sqlalchemy.exc import SQLAlchemyError
    except ImportError:
        return isinstance(exc, sqlite3.Error)
    return isinstance(exc, (SQLAlchemyError, sqlite3.Error))
