"""The RBM's declared cost model: the work of a training step and of drawing samples, in multiply-add
equivalents, from which the trainer bounds its quality checks to a share of the training
(:mod:`physgen.training.probe`).  A function of the configuration only, so the bound is the same on every
machine.

A block-Gibbs sweep of one chain (Hinton 2012 guide, §2) costs the two products ``v W`` and ``W h``
(``2·n·m`` multiply-adds for ``n`` visible and ``m`` hidden units) and the draw of its ``n + m`` units
(``UNIT`` multiply-add equivalents each: a logistic or exponential, a uniform number and a comparison).
A closed-form PCD-k step (Tieleman 2008) runs ``k`` sweeps of its persistent chains (``R`` replicas each
with parallel tempering, Desjardins et al. 2010), the hidden logits of the batch and the two outer products
``vᵀ p(h|v)`` of the data and of the chains (``n·m`` each); CD-k runs its ``k`` sweeps from the batch rows.
Translation-invariant weights (Carleo & Troyer 2017) add the projection of the weight gradient onto the
filters and the expansion of the filters into the weights, indexed passes over the ``K·n·m`` weights that
cost ``TIED`` multiply-add equivalents per weight.
Drawing ``n`` samples runs ``burn_in`` sweeps of ``n`` chains (``chains = n``, the sampler's default) and,
with parallel tempering, of their ``R`` replicas.  The model's accuracy against measured times is recorded
in benchmarks/records/rbm.md.
"""
from __future__ import annotations

UNIT = 60   # multiply-add equivalents of drawing one unit (logistic or exponential, uniform number, comparison)
TIED = 600  # multiply-add equivalents per weight of projecting and expanding translation-invariant weights


def sweep(n_visible: int, n_hidden: int) -> float:
    """Multiply-add equivalents of one block-Gibbs sweep of one chain."""
    return 2.0 * n_visible * n_hidden + UNIT * (n_visible + n_hidden)


def step(*, n_visible: int, n_hidden: int, batch: int, method: str, k: int, chains: int, replicas: int,
         groups: int, tied: bool = False) -> float:
    """One training step on ``batch`` rows, ``chains`` persistent chains per condition value (``groups``
    values), ``replicas`` PT replicas (1 without tempering); ``tied``: translation-invariant weights."""
    nm, one = float(n_visible * n_hidden), sweep(n_visible, n_hidden)
    data = batch * (2 * nm + UNIT * n_hidden) + (TIED * groups * nm if tied else 0.0)
    if method == "cd":
        return data + batch * k * one + batch * nm
    if method == "exact":
        return data
    negative = groups * chains * replicas * k * one + groups * chains * nm
    return data + negative


def sample(n: int, *, n_visible: int, n_hidden: int, burn_in: int, replicas: int) -> float:
    """Drawing ``n`` samples: ``burn_in`` sweeps (at least one) of ``n`` chains and their replicas."""
    return float(n) * replicas * max(burn_in, 1) * sweep(n_visible, n_hidden)
