"""The demo's stages, in order (later issues append model stages)."""
from physgen.demo.analysis_stage import analysis_stage
from physgen.demo.ising_stage import ising_stage
from physgen.demo.runner import Stage

STAGES = [
    Stage("ising", "Ising Monte Carlo across Tc", ising_stage),
    Stage("analysis", "Unsupervised analysis: PCA, clustering, phase classification", analysis_stage, needs=("ising",)),
]
