"""``wgan-gp --set model.reweight=G``: real batches at temperatures between the simulated ones by
Ferrenberg–Swendsen reweighting, checked against exact enumeration of the 4×4 Ising model; the observable
targets on the grid; bad input; a run that trains and resumes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from physgen.data import Dataset, save
from physgen.errors import UserError
from physgen.models import registry
from physgen.models.base import DataSpec
from physgen.models.gan.observables import observables
from physgen.physics.exact import ExactIsing, exact_ensembles

SMALL = {"arch": "conv", "width": 4, "dilations_g": (1,), "dilations_d": (1,), "latent": 2}
TEMPS = (2.1, 2.5)
SPEC = DataSpec("spins", (4, 4), None, ("temperature",), {"temperature": TEMPS})


def exact_lattices(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` exact 4×4 samples at each of TEMPS: (x (2n, 4, 4) ±1, T (2n, 1))."""
    states, temps = exact_ensembles(4, TEMPS, n, seed)
    return torch.tensor(states, dtype=torch.float32), torch.tensor(temps)[:, None].float()


@pytest.fixture(scope="module")
def fitted():
    model = registry.build("wgan-gp", {**SMALL, "reweight": 3, "match_observables": 1.0}, SPEC)
    x, t = exact_lattices(6000)
    message = model.reals.fit(x, t)
    return model, x, t, message


def test_draws_at_the_unsimulated_middle_temperature_follow_the_exact_ensemble(fitted):
    """Grid 2.1, 2.3, 2.5; lattices were simulated at 2.1 and 2.5 only.  20,000 drawn rows: at each grid T the
    drawn ⟨e⟩ and ⟨|m|⟩ agree with enumeration within 4 SE, SE² = s²(1/draws + 1/ESS): the draws' resampling
    noise and the reweighted lattices' own (effective sample size about 11,000–12,000 of 12,000), independent.
    The largest |z| of the six over data seeds 1000 k and draw seeds 1 + 1000 k (k = 0–59, one thread): 1.53 ±
    0.62 (largest 3.5; 4.0 sd inside 4; a 4σ test, false-alarm rate 4×10⁻⁴).  The former SE from
    min(draws, ESS) dropped the second term: 1.93 ± 0.79, 4.41 at one seed (2.6 sd).  Rows per temperature
    (6000, 7300) around 6,667 (binomial sd 67, ≥ 10 sd)."""
    model, *_ , message = fitted
    assert "3 temperatures in [2.1, 2.5]" in message and "effective sample size" in message
    batch = model.reals.draw(20000, torch.Generator().manual_seed(1))
    s = observables(batch["x"]).double()
    for T in (2.1, 2.3, 2.5):
        rows = (batch["cond"][:, 0] - T).abs() < 1e-6
        assert 6000 < int(rows.sum()) < 7300  # temperatures drawn uniformly
        ex = ExactIsing(4, T)
        ess = float(model.reals.ess[round((T - 2.1) / 0.2)])
        for j, exact in ((0, ex.mean_abs_m), (2, ex.mean_energy)):
            got = s[rows, j]
            se = float(got.std()) * (1 / int(rows.sum()) + 1 / ess) ** 0.5
            assert abs(float(got.mean()) - exact) < 4 * se, (T, j)


def test_observable_targets_are_the_reweighted_means_on_the_grid(fitted):
    """Over data seeds 1000 k (k = 0–19, one thread) the targets at 2.3 are 0.0021 ± 0.0019 (⟨|m|⟩, largest
    0.0062) and 0.0053 ± 0.0044 (⟨e⟩, largest 0.016) from enumeration: 4.2 and 5.6 sd inside 0.01 and 0.03."""
    model, x, t, _ = fitted
    model.observables.fit(x, t, model.reals)
    assert model.observables.target.shape == (3, 3)
    ex = ExactIsing(4, 2.3)
    assert float(model.observables.target[1, 0]) == pytest.approx(ex.mean_abs_m, abs=0.01)
    assert float(model.observables.target[1, 2]) == pytest.approx(ex.mean_energy, abs=0.03)
    # at a simulated temperature the reweighted mean is close to (not equal to) the plain mean there
    plain = observables(x[t[:, 0] == 2.1]).mean(0)
    torch.testing.assert_close(model.observables.target[0], plain, atol=0.02, rtol=0)


def test_bad_input_is_refused():
    with pytest.raises(UserError, match="model.reweight: needs spin lattices conditioned on temperature"):
        registry.build("wgan-gp", {**SMALL, "reweight": 5}, DataSpec("spins", (4, 4)))
    one = DataSpec("spins", (4, 4), None, ("temperature",), {"temperature": (2.0,)})
    with pytest.raises(UserError, match=">= 2 trained ones"):
        registry.build("wgan-gp", {**SMALL, "reweight": 5}, one)
    with pytest.raises(UserError, match="model.reweight"):
        registry.build("wgan-gp", {**SMALL, "reweight": -1}, SPEC)


def test_run_trains_with_reweighted_reals_and_resumes(tmp_path, capsys):
    from physgen.training import train

    x, t = exact_lattices(64)
    save(Dataset(x.numpy().astype(np.int8), "spins", conditions={"temperature": t[:, 0].numpy().astype(np.float64)}),
         tmp_path / "d.h5")
    sets = [f"model.{k}={v}" for k, v in {**SMALL, "dilations_g": "[1]", "dilations_d": "[1]"}.items()]
    sets += ["model.reweight=9", "model.match_observables=1.0", "model.diagnostics=false", "train.batch_size=16",
             "data.val_fraction=0"]  # all 128 lattices train
    summary = train("wgan-gp", data=tmp_path / "d.h5", out=tmp_path / "run", sets=sets, steps=4, condition="temperature")
    assert summary["status"] == "completed"
    assert "model.reweight: real batches at 9 temperatures in [2.1, 2.5] from 128 lattices at 2" in capsys.readouterr().err
    summary = train("wgan-gp", data=None, out=tmp_path / "run", resume=True, steps=8)
    assert summary["steps"] == 8 and summary["status"] == "completed"


def test_fluctuation_targets_are_the_reweighted_variances_on_the_grid():
    """``match_fluctuations``: at the unsimulated 2.3 the targets of the squared deviations are Var e and
    Var |m| per site, which enumeration gives as C T²/N and χ T/N (within 10%; 6000 lattices per simulated T).
    Over data seeds 1000 k (k = 0–19, one thread) the relative errors are 0.012 ± 0.009 and 0.019 ± 0.013
    (largest 0.041 and 0.060; 9.6 and 6.1 sd)."""
    model = registry.build("wgan-gp", {**SMALL, "reweight": 3, "match_observables": 1.0, "match_fluctuations": True},
                           SPEC)
    x, t = exact_lattices(6000)
    model.reals.fit(x, t)
    model.observables.fit(x, t, model.reals)
    ex = ExactIsing(4, 2.3)
    var_m, var_e = model.observables.target[1, 3:].tolist()
    assert var_e == pytest.approx(ex.specific_heat * 2.3 ** 2 / ex.n_spins, rel=0.1)
    assert var_m == pytest.approx(ex.susceptibility * 2.3 / ex.n_spins, rel=0.1)
