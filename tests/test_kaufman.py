"""Kaufman's exact finite-lattice solution against enumeration, a transfer matrix, Onsager and its own
derivative; the GAN conditioner's energy map built on it.  The references are computed here, independently
of the code: enumeration of every state (L ≤ 4, a 3 × 4 torus) and the row-to-row transfer matrix of
strips up to 8 × 16 (ln Z = ln Tr T^length from its eigenvalues; Kramers & Wannier 1941)."""
import numpy as np
import pytest
import torch

from physgen.errors import UserError
from physgen.models.base import DataSpec
from physgen.models.gan.base import GANConfig
from physgen.models.nets import Conditioner
from physgen.physics import kaufman, onsager
from physgen.physics.exact import ExactIsing

TEMPERATURES = [0.7, 1.5, 2.0, 2.269, 2.5, 3.5, 6.0]


@pytest.mark.parametrize("L", [2, 3, 4])
def test_energy_and_log_z_equal_exact_enumeration(L):
    for T in TEMPERATURES:
        ex = ExactIsing(L, T)
        assert kaufman.energy_per_spin(L, T) == pytest.approx(ex.mean_energy, abs=1e-10)
        assert kaufman.log_partition(L, T) == pytest.approx(ex.log_z, abs=1e-10)


def test_rectangular_torus_equals_enumeration():
    """3 rows × 4 columns: the formula's m and n play different roles, so a non-square lattice checks both."""
    m, n = 3, 4
    codes = np.arange(2 ** (m * n))
    s = (2 * ((codes[:, None] >> np.arange(m * n)) & 1) - 1).reshape(-1, m, n)
    bonds = (s * np.roll(s, -1, 1)).sum((1, 2)) + (s * np.roll(s, -1, 2)).sum((1, 2))
    for T in TEMPERATURES:
        log_w = bonds / T
        log_z = np.logaddexp.reduce(log_w)
        u = -(np.exp(log_w - log_z) * bonds).sum() / (m * n)
        assert kaufman.log_partition(m, T, cols=n) == pytest.approx(log_z, abs=1e-10)
        assert kaufman.energy_per_spin(m, T, cols=n) == pytest.approx(u, abs=1e-10)


def _transfer_matrix_log_z(width: int, length: int, T: float) -> float:
    """ln Z of the periodic ``width × length`` lattice (J = 1) as ln Tr T^length, T the symmetric
    2^width × 2^width row-to-row transfer matrix exp(K (½ h(s) + ½ h(s') + s·s')), h a row's bond sum."""
    codes = np.arange(2 ** width)
    s = 2 * ((codes[:, None] >> np.arange(width)) & 1) - 1                     # (2^w, w) rows of spins
    row = (s * np.roll(s, -1, 1)).sum(1)
    lam = np.linalg.eigvalsh(np.exp((row[:, None] / 2 + row[None, :] / 2 + s @ s.T) / T))
    top = np.abs(lam).max()
    return length * np.log(top) + np.log(np.sum((lam / top) ** length))


def _transfer_matrix_energy(width: int, length: int, T: float, h: float = 1e-5) -> float:
    """⟨E⟩/N = −(1/N) ∂ln Z/∂β by a central difference in β of the transfer-matrix ln Z."""
    beta = 1.0 / T
    up, down = (_transfer_matrix_log_z(width, length, 1.0 / (beta + d)) for d in (h, -h))
    return -(up - down) / (2 * h) / (width * length)


@pytest.mark.parametrize("rows,cols", [(4, 16), (16, 4), (3, 16), (16, 3), (8, 16), (16, 8)])
def test_strips_equal_transfer_matrix(rows, cols):
    """Sides of 16 (the lattices the GAN's energy map uses), both orientations of the formula's m and n, odd
    and even widths: ln Z to 1e-9 and the closed-form energy to 1e-7 of the transfer matrix's."""
    for T in TEMPERATURES:
        w, length = min(rows, cols), max(rows, cols)
        assert kaufman.log_partition(rows, T, cols=cols) == pytest.approx(_transfer_matrix_log_z(w, length, T),
                                                                          abs=1e-9)
        assert kaufman.energy_per_spin(rows, T, cols=cols) == pytest.approx(_transfer_matrix_energy(w, length, T),
                                                                            abs=1e-7)


def test_large_lattice_reaches_onsager_and_derivative_is_consistent():
    T = np.array([1.2, 1.8, 2.0, 2.6, 3.0, 4.0])          # away from T_c the finite-size shift is ~e^{-L/ξ}
    assert np.allclose(kaufman.energy_per_spin(128, T), onsager.energy_per_spin(T), atol=1e-12)
    # u = ⟨E⟩/N = (T²/N) ∂ln Z/∂T at L = 16, where nothing else can check it: a central difference of ln Z
    for t in (1.5, 2.25, 2.269185, 2.75, 3.5):
        h = 1e-5
        dlnz = (kaufman.log_partition(16, t + h) - kaufman.log_partition(16, t - h)) / (2 * h)
        assert kaufman.energy_per_spin(16, t) == pytest.approx(t * t * dlnz / 256, abs=1e-6)
    u = kaufman.energy_per_spin(16, np.linspace(1.0, 4.0, 301))
    assert np.all(np.diff(u) > 0) and u[0] > -2.0 and u[-1] < 0.0      # C = du/dT > 0, −2 < u < 0


def test_bad_arguments():
    with pytest.raises(ValueError, match="J > 0"):
        kaufman.energy_per_spin(4, 2.0, J=-1.0)
    with pytest.raises(ValueError, match="> 0"):
        kaufman.log_partition(4, [2.0, 0.0])
    with pytest.raises(ValueError, match=">= 2"):
        kaufman.energy_per_spin(1, 2.0)
    with pytest.raises(ValueError, match=">= 2"):
        kaufman.log_partition(4, 2.0, cols=1)


def _spins_spec(values=(1.5, 2.125, 2.375, 3.5), shape=(16, 16)):
    return DataSpec("spins", shape, condition_names=("temperature",), condition_values={"temperature": values})


def test_energy_map_normalises_the_exact_energy_over_the_trained_range():
    cond = Conditioner(_spins_spec(), cond_map="energy")
    T = torch.tensor([[1.5], [2.25], [2.75], [3.5]])
    c = cond(T)[:, 0].double().numpy()
    u = kaufman.energy_per_spin(16, np.array([1.5, 2.25, 2.75, 3.5]))
    want = 2 * (u - u[0]) / (u[-1] - u[0]) - 1
    assert np.allclose(c, want, atol=1e-5)
    assert c[0] == pytest.approx(-1.0, abs=1e-6) and c[-1] == pytest.approx(1.0, abs=1e-6)
    # the linear map puts 2.25 at its place in T
    linear = Conditioner(_spins_spec())(T)[:, 0]
    assert float(linear[1]) == pytest.approx(2 * (2.25 - 1.5) / 2.0 - 1, abs=1e-6)


def test_energy_map_interpolates_where_the_transfer_matrix_energy_lies():
    """On an 8 × 16 lattice the energy map puts T = 2.25 where the transfer matrix's u(2.25) lies between
    u(2.125) and u(2.375), short of halfway (u changes fastest just above T_c), not at 50% as the linear map."""
    cond = Conditioner(_spins_spec(shape=(8, 16)), cond_map="energy")
    c = cond(torch.tensor([[2.125], [2.25], [2.375]]))[:, 0].double().numpy()
    u = [_transfer_matrix_energy(8, 16, t) for t in (2.125, 2.25, 2.375)]
    want = (u[1] - u[0]) / (u[2] - u[0])
    assert (c[1] - c[0]) / (c[2] - c[0]) == pytest.approx(want, abs=2e-4)
    assert want < 0.49


def test_energy_map_bad_input():
    with pytest.raises(UserError, match="model.cond_map=energy: needs"):
        Conditioner(DataSpec("continuous", (3,), condition_names=("temperature",),
                             condition_values={"temperature": (1.0, 2.0)}), cond_map="energy")
    with pytest.raises(UserError, match="model.cond_map=energy: needs"):
        Conditioner(DataSpec("spins", (16, 16)), cond_map="energy")
    with pytest.raises(UserError, match=r"model.cond_map: 'beta' is not one of linear \| energy"):
        GANConfig(cond_map="beta")
