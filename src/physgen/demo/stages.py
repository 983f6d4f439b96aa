"""The demo's stages, in order: data, analysis, one stage per model family that declares one, comparison.

The full demo trains each family with its defaults; quick mode gives each family the step budget and the
settings for the L = 8 lattices in its :class:`~physgen.demo.model_stage.QuickPlan` (docs/demo.md)."""
from physgen.demo.analysis_stage import analysis_stage
from physgen.demo.compare_stage import compare_stage
from physgen.demo.ising_stage import ising_stage
from physgen.demo.model_stage import ModelPlan, QuickPlan, model_stage
from physgen.demo.runner import Stage
from physgen.models import registry


def model_plans() -> dict[str, tuple[str, ModelPlan, str]]:
    """Stage name -> (title, plan, notebook) of every registered family that declares a demo stage on its own
    class (:attr:`~physgen.models.base.GenerativeModel.demo`), in the declared order."""
    declared = []
    for name in registry.names():
        cls = registry.get(name)
        stage = vars(cls).get("demo")   # the family's own declaration, not one inherited from its parent
        if stage is not None:
            declared.append((stage.order, stage.stage, name, stage))
    return {key: (stage.title, ModelPlan(name, QuickPlan(stage.quick_steps, stage.quick_sets)), stage.notebook)
            for _, key, name, stage in sorted(declared)}


MODEL_PLANS = model_plans()

# each stage's notebook (notebooks/NN_topic.py), linked from its section of the report
NOTEBOOKS = {"ising": "01_ising_monte_carlo.py", "analysis": "02_unsupervised_ising.py",
             **{name: notebook for name, (_, _, notebook) in MODEL_PLANS.items()}, "compare": "00_tour.py"}

STAGES = [
    Stage("ising", "Ising Monte Carlo across Tc", ising_stage, notebook=NOTEBOOKS["ising"]),
    Stage("analysis", "Unsupervised analysis: PCA, clustering, phase classification", analysis_stage, needs=("ising",),
          notebook=NOTEBOOKS["analysis"]),
    *(Stage(name, title, model_stage(plan), needs=("ising",), notebook=notebook)
      for name, (title, plan, notebook) in MODEL_PLANS.items()),
    Stage("compare", "Model comparison", compare_stage, needs=("ising",), notebook=NOTEBOOKS["compare"]),
]

QUICK_NOTE = ("Quick mode: L = 8 lattices at three temperatures and a short step budget per family, to show in "
              "about four minutes of one core that every family learns the Ising model. The full demo, make demo "
              "(physgen demo without --quick), gives the quality recorded in docs/scoreboard.md: L = 16 lattices, "
              "each family with its default settings and budget.")
