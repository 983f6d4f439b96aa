"""A Hamiltonian added from outside physgen is one class and one registration: the Ising chain in a longitudinal
field, H = −J Σ_⟨ij⟩ σᶻ_i σᶻ_j − h Σ_i σᶻ_i.  It is diagonal, so its ground state is the all-up configuration
and E₀ = −J n_bonds − h N exactly; the exact diagonalization and ``physgen nqs`` must find that value."""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

from physgen.quantum import hamiltonians as H
from physgen.quantum.exact import exact_energy
from physgen.quantum.lattice import Lattice


@dataclass(frozen=True)
class LongitudinalIsing:
    """``H = −J Σ_⟨ij⟩ σᶻ_i σᶻ_j − h Σ_i σᶻ_i`` on ``lattice``: every configuration connects to itself only."""

    lattice: Lattice
    h: float = 1.0
    J: float = 1.0
    name = "ising-z"
    conserves_sz = False
    e_infinity = 0.0

    @property
    def n_sites(self) -> int:
        return self.lattice.n_sites

    def connected(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b = self.lattice.bonds(1)
        diag = -self.J * np.sum(s[:, b[:, 0]] * s[:, b[:, 1]], axis=1) - self.h * s.sum(1)
        return s[:, None, :], diag[:, None]


@pytest.fixture
def registered():
    @H.register_hamiltonian("ising-z", "Ising chain in a longitudinal field (a test's)", couplings=("h", "J"))
    def build(lattice, *, h, J, J2, marshall):
        return LongitudinalIsing(lattice, h=h, J=J)

    yield
    del H.HAMILTONIANS["ising-z"]


def test_a_registered_hamiltonian_is_built_and_diagonalized(registered):
    lattice = Lattice("chain", 6, True)
    ham = H.make_hamiltonian("ising-z", lattice, h=0.5, J=1.0)
    energy, method = exact_energy(ham)
    assert energy == pytest.approx(-(6 * 1.0 + 0.5 * 6), abs=1e-9) and "Lanczos" in method


def test_physgen_nqs_offers_it(registered, tmp_path, capsys):
    from physgen.cli import main

    with pytest.raises(SystemExit):
        main(["nqs", "--help"])
    assert "ising-z: Ising chain in a longitudinal field" in capsys.readouterr().out
    out = tmp_path / "run"
    assert main(["nqs", "--hamiltonian", "ising-z", "--size", "4", "--h", "0.5", "--ansatz", "mean-field",
                 "--iterations", "3", "--samples", "100", "--walkers", "10", "--quiet", "--out", str(out)]) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["exact"]["energy"] == pytest.approx(-(4 * 1.0 + 0.5 * 4), abs=1e-9)
    # an option the registered Hamiltonian does not read is refused
    assert main(["nqs", "--hamiltonian", "ising-z", "--size", "4", "--J2", "0.3", "--out", str(tmp_path / "b")]) == 2
    assert "physgen: error: --J2: ising-z does not read it (its couplings: h, J)" in capsys.readouterr().err
    assert main(["nqs", "--hamiltonian", "heisenberg", "--size", "4", "--h", "2", "--out", str(tmp_path / "c")]) == 2
    assert "physgen: error: --h: heisenberg does not read it (its couplings: J)" in capsys.readouterr().err
