"""Typed, validated configuration of the DBN family (``[model]`` section of a run's config.toml)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from physgen.config import validate
from physgen.constraints import NON_NEGATIVE_INT, POSITIVE_INT, WIDTHS, Constraint, Satisfies
from physgen.models.rbm.config import Method, RBMConfig, Visible
# the RBMConfig fields every layer shares (the bottom layer's visible type, σ and flip apply to it alone)
SHARED = ("method", "k", "n_chains", "n_temperatures", "beta_min", "l2", "l1", "sparsity_target",
          "sparsity_cost", "init_std", "monitor_every", "burn_in", "thin")


@dataclass
class DBNConfig:
    """Hyperparameters of :class:`physgen.models.dbn.DBN` (defaults are physgen's defaults).

    layers           hidden-layer sizes from the bottom up, e.g. ``[500, 500, 2000]``: one RBM per entry,
                     the last two layers forming the undirected top RBM
    steps_per_layer  updates of each layer's RBM in the greedy pass (layer l trains during updates
                     ``l·S .. (l+1)·S − 1``; the run stops when the last layer is done)
    decay            ``linear``: each layer's gradient is scaled by ``(S − s)/S`` at its update ``s``, a
                     linear learning-rate decay per layer (with SGD); ``constant``: no scaling
    tie_init         start each upper RBM as the transpose of the one below (weights transposed, visible and
                     hidden biases swapped; Hinton, Osindero & Teh 2006, §4): the DBN's bound then starts at the
                     lower RBM's log-likelihood, and training the new layer raises it.  Needs ``layers[l]`` equal
                     to the size of layer ``l − 1`` (the data for l = 1) and Bernoulli units below
    finetune_steps   up-down fine-tuning updates after the greedy pass (Hinton et al. 2006, §5): the directed
                     layers' recognition weights are untied from the generative ones and both learn by the
                     wake-sleep rules, the top RBM by CD-k (``k``) from the wake states; 0 (default): none; a
                     single layer (an RBM) has nothing to fine-tune and ignores it
    visible          bottom layer's units: ``auto`` (spins -> spin, binary and grey images -> bernoulli,
                     continuous -> gaussian), ``bernoulli``, ``spin``, ``gaussian``; the layers above are Bernoulli
    flip, sigma, learn_sigma   the bottom RBM's global spin flip and Gaussian σ (see the rbm family)
    method, k, n_chains, ...   every layer's RBM training settings, as in :class:`RBMConfig`
    """

    layers: list[int] = field(default_factory=lambda: [128, 128])
    steps_per_layer: int = 5000
    decay: Literal["linear", "constant"] = "linear"
    tie_init: bool = False
    finetune_steps: int = 0
    visible: Visible = "auto"
    flip: bool | None = None
    sigma: float = 1.0
    learn_sigma: bool = False
    method: Method = "pcd"
    k: int = 1
    n_chains: int = 100
    n_temperatures: int = 10
    beta_min: float = 0.0
    l2: float = 0.0
    l1: float = 0.0
    sparsity_target: float = 0.1
    sparsity_cost: float = 0.0
    init_std: float = 0.01
    monitor_every: int = 50
    burn_in: int = 1000
    thin: int = 10

    constraints: ClassVar[dict[str, Constraint]] = {
        "layers": Satisfies(lambda v: len(v) > 0 and WIDTHS.accepts(v),
                            "a non-empty list of hidden-layer sizes, each an integer >= 1 (e.g. [500, 500, 2000])"),
        "steps_per_layer": POSITIVE_INT, "finetune_steps": NON_NEGATIVE_INT,
        **{key: c for key, c in RBMConfig.constraints.items() if key in SHARED}}

    def __post_init__(self) -> None:
        validate(self, "model")
        self.layers = [int(v) for v in self.layers]
        for i in range(len(self.layers)):
            self.layer_config(i)   # RBMConfig validates the shared settings (errors name model.KEY)

    @property
    def up_down_steps(self) -> int:
        """The fine-tuning updates that apply: ``finetune_steps``, or 0 for a single layer."""
        return self.finetune_steps if len(self.layers) > 1 else 0

    def layer_config(self, i: int) -> RBMConfig:
        """The :class:`RBMConfig` of layer ``i`` (0 = the RBM on the data)."""
        shared = {name: getattr(self, name) for name in SHARED}
        if i == 0:
            return RBMConfig(visible=self.visible, n_hidden=self.layers[0], flip=self.flip, sigma=self.sigma,
                             learn_sigma=self.learn_sigma, **shared)
        return RBMConfig(visible="bernoulli", n_hidden=self.layers[i], flip=False, **shared)
