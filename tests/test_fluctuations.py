"""Fluctuations judged beside the means: the second-moment correlation length against exact enumeration, and
the training probe's C and χ components (the line ``physgen train`` prints after its verdict)."""
from __future__ import annotations

import numpy as np
import pytest

from physgen.data import Dataset
from physgen.metrics.quality import QualityProbe
from physgen.physics import observables as ob
from physgen.physics.exact import ExactIsing


@pytest.mark.parametrize("T", [1.5, 2.27, 3.0, 10.0])
def test_second_moment_length_matches_exact_enumeration(T):
    """ξ₂ of all 65,536 states of 4×4 weighted by their exact probabilities (the structure-factor route of
    :func:`physgen.physics.observables.lowest_mode_power`) equals the exact value built from G(d) over every
    displacement (:meth:`ExactIsing.correlation_length`) to rounding."""
    ex = ExactIsing(4, T)
    est = ob.thermodynamics(ex.states, T, log_weights=np.log(ex.probabilities), n_boot=2)
    assert est["correlation_length"].value == pytest.approx(ex.correlation_length(), rel=1e-9)


def test_second_moment_length_limits():
    """Independent random spins: G(d) = δ_d0, so ⟨m²⟩ = ⟨|m̃(k₁)|²⟩ = 1/N_s and ξ₂ = 0 in expectation; an
    ordered lattice has no k₁ mode (ξ₂ undefined: NaN)."""
    L = 8
    f1 = ob.lowest_mode_power(np.ones((1, L, L)))
    assert f1[0] == pytest.approx(0.0, abs=1e-24)
    assert np.isnan(ob.second_moment_length(np.array(1.0), f1, L))
    s = np.random.default_rng(0).choice([-1, 1], size=(20000, L, L))
    m2, f1 = float(np.mean(ob.magnetization(s) ** 2)), float(np.mean(ob.lowest_mode_power(s)))
    assert m2 == pytest.approx(1 / L ** 2, rel=0.03) and f1 == pytest.approx(1 / L ** 2, rel=0.03)


def _draws(T: float, n: int, seed: int) -> np.ndarray:
    ex = ExactIsing(4, T)
    return ex.states[ex.sample_indices(n, np.random.default_rng(seed))]


def _lattices(s: np.ndarray, T: float) -> Dataset:
    return Dataset(s.astype(np.int8), "spins", {"temperature": np.full(len(s), T)})


def test_probe_sees_wrong_fluctuations_beside_right_means():
    """Held-out: 4,000 exact 4×4 draws at T = 2.5.  Exact draws at 2.5 keep C and χ within 3× their floors;
    an equal mixture of draws at T = 2.0 and 3.4, whose means are 6–9 % off, has C and χ off by 30–50 %.

    Measured over seeds 0–4: floors c_err 0.03–0.06, chi_err 0.04–0.08; the same law 0.02–0.05 and
    0.01–0.07 (bound 3× floor: ≥ 2.3 floors of margin); the mixture 0.35–0.47 and 0.33–0.52 (bound 0.25)."""
    probe = QualityProbe(_lattices(_draws(2.5, 4000, 0), 2.5), condition="temperature", seed=0)
    same = probe.score(_lattices(_draws(2.5, 2000, 100), 2.5))
    assert same["c_err"] < 3 * probe.floor["c_err"] and same["chi_err"] < 3 * probe.floor["chi_err"]
    mixture = np.concatenate([_draws(2.0, 1000, 200), _draws(3.4, 1000, 300)])
    wrong = probe.score(_lattices(mixture, 2.5))
    assert wrong["c_err"] > 0.25 and wrong["chi_err"] > 0.25
    assert wrong["c_err"] > 4 * wrong["e_err"]
    line = probe.remarks(wrong)
    assert line.startswith("fluctuations: C ") and "χ " in line and line.count("floor") == 2
    assert probe.remarks({}) is None


def test_train_prints_the_fluctuation_line(tmp_path, capsys):
    """``physgen train`` on Ising lattices ends with the verdict and the fluctuation line; summary.json
    records it under ``validation.fluctuations``."""
    import json

    from physgen.cli import main
    from physgen.data.io import save

    data = tmp_path / "ising.h5"
    save(_lattices(_draws(2.5, 600, 1), 2.5), data)
    out = tmp_path / "run"
    assert main(["train", "rbm", "--data", str(data), "--steps", "40", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "\nfluctuations: C " in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["validation"]["fluctuations"].startswith("fluctuations: C ")
