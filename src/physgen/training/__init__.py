"""Model-agnostic training: the trainer loop, checkpoints, DDP, run directories.

Public API: :class:`Trainer` (``physgen.training.trainer``), :func:`train` (what ``physgen train``
runs), :func:`load_run` / :class:`Run` (sampling and scoring a trained run).  See docs/training.md.
"""
from physgen.training.launch import train
from physgen.training.run import Run, load_run
from physgen.training.trainer import EVENTS, Trainer, TrainingDiverged

__all__ = ["EVENTS", "Run", "Trainer", "TrainingDiverged", "load_run", "train"]
