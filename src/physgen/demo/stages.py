"""The demo's stages, in order: data, analysis, one stage per model family, comparison.

The full demo trains each family with its defaults; quick mode gives each family the step budget and the
settings for the L = 8 lattices in its :class:`~physgen.demo.model_stage.QuickPlan` (docs/demo.md)."""
from physgen.demo.analysis_stage import analysis_stage
from physgen.demo.compare_stage import compare_stage
from physgen.demo.ising_stage import ising_stage
from physgen.demo.model_stage import ModelPlan, QuickPlan, model_stage
from physgen.demo.runner import Stage

MODEL_PLANS = {
    "rbm": ("Restricted Boltzmann machine (one spin RBM per temperature)",
            ModelPlan("rbm", QuickPlan(1500))),
    "vae": ("Variational autoencoder (conditional on T)",
            ModelPlan("vae", QuickPlan(500))),
    "gan": ("WGAN-GP (conditional on T)",
            ModelPlan("wgan-gp", QuickPlan(1500, ("model.arch=mlp", "model.lattice_stats=false",
                                                   "model.global_pool=false", "model.projection=false",
                                                   "model.bond_features=true", "model.match_observables=30")))),
    "ebm": ("Energy-based model (discrete Metropolis–Hastings chains on the spins)",
            ModelPlan("ebm", QuickPlan(1800, ("model.k_steps=5", "model.channels=[8,16]", "train.lr=3e-3",
                                               "train.batch_size=64")))),
    "ddpm": ("Diffusion model (DDPM)",
             ModelPlan("ddpm", QuickPlan(1000, ("model.timesteps=100", "model.steps=50", "train.lr=6e-3",
                                                "train.ema=0.99")))),
}

# each stage's notebook (notebooks/NN_topic.py), linked from its section of the report
NOTEBOOKS = {"ising": "01_ising_monte_carlo.py", "analysis": "02_unsupervised_ising.py", "rbm": "04_rbm_ising.py",
             "vae": "06_vae_latent.py", "gan": "08_wgan_gp_temperature.py", "ebm": "09_ebm_langevin.py",
             "ddpm": "10_diffusion.py", "compare": "00_tour.py"}

STAGES = [
    Stage("ising", "Ising Monte Carlo across Tc", ising_stage, notebook=NOTEBOOKS["ising"]),
    Stage("analysis", "Unsupervised analysis: PCA, clustering, phase classification", analysis_stage, needs=("ising",),
          notebook=NOTEBOOKS["analysis"]),
    *(Stage(name, title, model_stage(plan), needs=("ising",), notebook=NOTEBOOKS[name])
      for name, (title, plan) in MODEL_PLANS.items()),
    Stage("compare", "Model comparison", compare_stage, needs=("ising",), notebook=NOTEBOOKS["compare"]),
]

QUICK_NOTE = ("Quick mode: L = 8 lattices at three temperatures and a short step budget per family, to show in "
              "about two minutes on one core that every family learns the Ising model. The full demo, make demo "
              "(physgen demo without --quick), gives the quality recorded in docs/scoreboard.md: L = 16 lattices, "
              "each family with its default settings and budget.")
