"""How long a training run lasts: ``train.steps``, ``train.epochs`` and ``train.max_time`` read together, here only.

* **A plan**: ``steps`` optimizer steps, or ``epochs`` passes over the data (``steps`` wins where both are set).
  The learning-rate schedule and the quality probes run over the plan, so the same command and seed give the
  same model on a fast, a slow or a busy machine.
* **A cap**: ``max_time`` seconds of wall time for one invocation.  The run then writes a checkpoint and stops
  cleanly, and ``--resume`` continues it; the model does not depend on the cap.
* **A time budget**: ``max_time`` with no plan.  The schedule's length is then estimated from the measured step
  rate (:mod:`physgen.training.span`), so such a run depends on the machine.
* **None of the three**: :data:`FALLBACK_EPOCHS` passes over the data.

The configuration is built in layers (family defaults or a saved run, then ``--config``, ``--set`` and the
flags; :func:`physgen.config.resolve`).  A plan the user gives replaces the plan below it whole: epochs alone
clear the steps below, and a plan without a ``max_time`` of the user's also clears the cap below
(:meth:`Budget.over`).  A ``max_time`` given alone caps the plan below it and keeps it.  A resumed run that has a
plan drops the cap of the invocation that stopped it (:meth:`Budget.resumed`), so ``--resume`` alone finishes
the plan.  :func:`physgen.config.stacked` applies :meth:`Budget.over` at each layer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from physgen.errors import UserError

FALLBACK_EPOCHS = 10   # the budget of a config that sets none of train.epochs, train.steps, train.max_time
KEYS = ("steps", "epochs", "max_time")
_UNSET = (None, "none", "None", "null", "")   # how a layer of TOML or --set items leaves a key unset


@dataclass(frozen=True)
class Budget:
    """The three budget keys of one ``[train]`` section (None: not set)."""

    steps: int | None = None
    epochs: int | None = None
    max_time: float | None = None

    @classmethod
    def of(cls, train: Any) -> "Budget":
        """The budget of a :class:`~physgen.config.TrainConfig` (or anything with the three attributes)."""
        return cls(train.steps, train.epochs, train.max_time)

    @staticmethod
    def default(steps: int) -> dict[str, Any]:
        """A family's default budget as a configuration layer: ``steps`` optimizer steps, no cap."""
        if not (isinstance(steps, int) and steps >= 1):
            raise ValueError(f"budget: {steps!r} is not a number of steps >= 1")
        return {"train": {"steps": steps, "epochs": None, "max_time": None}}

    @staticmethod
    def over(user: Mapping[str, Any]) -> dict[str, Any]:
        """What the user's layer ``user`` (``{"train": {...}, ...}``) clears of the budget below it, as a layer
        to merge over both: epochs without steps clear the steps below; a plan without ``max_time`` clears the
        cap below."""
        train = user.get("train", {})
        if not isinstance(train, Mapping):
            return {}
        given = {key for key in KEYS if key in train and train[key] not in _UNSET}
        out: dict[str, Any] = {}
        if "epochs" in given and "steps" not in train:
            out["steps"] = None
        if given & {"steps", "epochs"} and "max_time" not in train:
            out["max_time"] = None
        return {"train": out} if out else {}

    def resumed(self, saved: Mapping[str, Any]) -> dict[str, Any]:
        """The saved run configuration ``saved`` (whose budget this is) as ``--resume`` continues it: with a plan,
        without the cap of the invocation that stopped it."""
        if not self.planned:
            return dict(saved)
        return {**saved, "train": {**saved.get("train", {}), "max_time": None}}

    @property
    def planned(self) -> bool:
        """Whether the run has a plan (steps or epochs), not only a time budget."""
        return self.steps is not None or self.epochs is not None

    def completed(self) -> "Budget":
        """This budget, or :data:`FALLBACK_EPOCHS` passes where none of the three is set."""
        return self if self.planned or self.max_time is not None else Budget(epochs=FALLBACK_EPOCHS)

    def total_steps(self, batches_per_epoch: int) -> int | None:
        """The plan in optimizer steps (None: a time budget); a budget of nothing is refused."""
        if self.steps is not None:
            return self.steps
        if self.epochs is not None:
            return self.epochs * batches_per_epoch
        if self.max_time is None:
            raise UserError("train.epochs, train.steps, train.max_time: no budget; set one of them")
        return None
