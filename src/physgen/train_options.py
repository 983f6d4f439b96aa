"""The options of a training run that have a name of their own: one table, from which ``physgen train``'s
arguments and their help (:mod:`physgen.cli.train`), the keyword arguments of :func:`physgen.training.train`
and the option table of docs/training.md are made (``tests/test_train_options.py`` compares all three).

Each row sets one configuration key.  Given on the command line or as a keyword, a value is the top layer of
the run's configuration: family defaults <- ``--config`` <- ``--set`` <- these (:func:`physgen.config.resolve`),
and the key counts as set by the user.  Every other key is set with ``--set section.key=value`` or a
``--config`` file.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from physgen import constraints
from physgen.config import DataConfig, TrainConfig
from physgen.constraints import Constraint
from physgen.errors import UserError
from physgen.fields import Declaration, declaration


@dataclass(frozen=True)
class Option:
    """One named option: the configuration ``key`` (``section.name``) it sets, its command-line ``flag``, the
    ``help`` text and ``metavar``; a switch (a flag without an argument) sets ``switch``.  The value's type, range
    and choices are the key's declaration in its section's dataclass (:attr:`declared`); a ``[model]`` key, whose
    dataclass is the family's, states its ``range`` here."""

    key: str
    flag: str
    help: str
    metavar: str | None = None
    range: Constraint | None = None
    switch: Any = None

    @property
    def name(self) -> str:
        """The keyword argument of :func:`physgen.training.train` (the key's name in its section)."""
        return self.key.partition(".")[2]

    @property
    def declared(self) -> Declaration | None:
        """The declaration of a ``train.*`` or ``data.*`` key in its section's dataclass
        (:func:`physgen.fields.declaration`); None for a key of another section."""
        section, _, name = self.key.partition(".")
        cls = {"train": TrainConfig, "data": DataConfig}.get(section)
        return None if cls is None else declaration(cls, name)

    @property
    def choices(self) -> tuple[Any, ...] | None:
        """The values the option takes, where its key declares a choice."""
        return self.declared.choices if self.declared else None


TRAIN = (
    Option("train.epochs", "--epochs", "train this many passes over the data instead of the family's default steps",
           metavar="N"),
    Option("train.steps", "--steps", "train this many optimizer steps instead of the family's default step budget for "
           "the data (`physgen models` lists them; docs/training.md how long they take); overrides --epochs",
           metavar="N"),
    Option("train.max_time", "--max-time", "a wall-time cap for this invocation: the run stops cleanly at the cap or "
           "at its steps, whichever comes first, and --resume finishes it; the model does not depend on it",
           metavar="SECONDS"),
    Option("train.until", "--until", "budget (default): train the planned steps; floor: stop early once the held-out "
           "probe is at its real-vs-real floor within its noise"),
    Option("train.seed", "--seed", "random seed (default 0)"),
    Option("train.device", "--device", "auto | cpu | cuda | cuda:N | mps"),
    Option("data.condition", "--condition", "condition on /conditions/NAME (e.g. temperature) or on /labels",
           metavar="NAME|labels"),
    Option("train.on_divergence", "--on-divergence", "on NaN/Inf: restore the last good checkpoint, then stop or "
           "retry with a lower lr"),
    Option("train.checkpoint_every", "--checkpoint-every", "checkpoint every STEPS optimizer steps (0: at each epoch "
           "end)", metavar="STEPS"),
    Option("model.labels_per_class", "--labels-per-class", "semi-supervised models (sgan): keep N labels per class, "
           "the rest unlabelled", "N", range=constraints.POSITIVE_INT),
    Option("train.progress", "--no-progress", "no progress bar", switch=False),
)
BY_NAME = {o.name: o for o in TRAIN}


def layer(**values: Any) -> dict[str, dict[str, Any]]:
    """The configuration layer of the named options given (None: not given), e.g. ``layer(steps=500,
    progress=False)`` -> ``{"train": {"steps": 500, "progress": False}}``; the layer's budget replaces or caps
    the one below it as :mod:`physgen.budget` says.  An unknown name is a TypeError, as for any
    keyword argument."""
    unknown = sorted(set(values) - set(BY_NAME))
    if unknown:
        raise TypeError(f"unknown training option(s) {', '.join(unknown)} (known: {', '.join(BY_NAME)})")
    out: dict[str, dict[str, Any]] = {}
    for name, value in values.items():
        if value is not None:
            section, _, key = BY_NAME[name].key.partition(".")
            out.setdefault(section, {})[key] = value
    out.setdefault("train", {})
    return out


@contextmanager
def named_as_given(**values: Any) -> Iterator[None]:
    """Within the block, a :class:`~physgen.errors.UserError` about a configuration key that one of the named
    options given here set (not None) names that option instead: its keyword (``max_time=-1: ...``), which the
    command line shows as the flag the user typed (``--max-time``; :mod:`physgen.cli.flags`).  A key the user
    set with ``--set`` or ``--config`` keeps its name (``train.max_time``): the error names what was typed."""
    names = {BY_NAME[name].key: name for name, value in values.items() if value is not None and name in BY_NAME}
    try:
        yield
    except UserError as exc:
        exc.rekeyed(names)
        raise


def docs_table() -> str:
    """The markdown table of the options (docs/training.md holds it verbatim)."""
    cell = lambda text: text.replace("|", "\\|")   # noqa: E731  (a pipe inside a table cell)
    rows = ["| option | sets | meaning |", "|---|---|---|"]
    for o in TRAIN:
        arg = "" if o.switch is not None else " " + (o.metavar or "|".join(o.choices or ()) or o.name.upper())
        sets = f"`{o.key}`" + ("" if o.switch is None else f" = {str(o.switch).lower()}")
        rows.append(f"| `{cell(o.flag + arg)}` | {sets} | {cell(o.help)} |")
    return "\n".join(rows)
