"""The demo's stages, in order (later issues append model stages)."""
from physgen.demo.ising_stage import ising_stage
from physgen.demo.runner import Stage

STAGES = [
    Stage("ising", "Ising Monte Carlo across Tc", ising_stage),
]
