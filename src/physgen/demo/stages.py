"""The demo's stages, in order: data, analysis, one stage per model family (its defaults and the demo's
time budget), comparison."""
from physgen.demo.analysis_stage import analysis_stage
from physgen.demo.compare_stage import compare_stage
from physgen.demo.ising_stage import ising_stage
from physgen.demo.model_stage import ModelPlan, model_stage
from physgen.demo.runner import Stage

MODEL_PLANS = {
    "rbm": ("Restricted Boltzmann machine (one spin RBM per temperature)", ModelPlan("rbm")),
    "vae": ("Variational autoencoder (conditional on T)", ModelPlan("vae")),
    "gan": ("WGAN-GP (conditional on T)", ModelPlan("wgan-gp")),
    "ebm": ("Energy-based model (discrete Metropolis–Hastings chains on the spins)", ModelPlan("ebm")),
    "ddpm": ("Diffusion model (DDPM)", ModelPlan("ddpm")),
}

STAGES = [
    Stage("ising", "Ising Monte Carlo across Tc", ising_stage),
    Stage("analysis", "Unsupervised analysis: PCA, clustering, phase classification", analysis_stage, needs=("ising",)),
    *(Stage(name, title, model_stage(plan), needs=("ising",)) for name, (title, plan) in MODEL_PLANS.items()),
    Stage("compare", "Model comparison", compare_stage, needs=("ising",)),
]
