"""Banded Jacobians: the banded LU of fastode.kernels.linalg, and the Rosenbrock and BDF drivers
in banded mode (lband/uband, banded jac_sparsity) on the heat equation by the method of lines."""
import numpy as np
import pytest
import scipy.integrate
import scipy.linalg
import scipy.sparse

import fastode
from fastode.ivp_implicit import band_of
from fastode.kernels.jacobian import band_columns, band_groups, cpr_groups, pattern_bandwidth
from fastode.kernels.linalg import (band_lu_factor_nb, band_lu_solve, band_lu_solve_row,
                                    band_storage)


def _band_matrix(rng, n, kl, ku, dtype):
    a = rng.standard_normal((n, n))
    if dtype == np.complex128:
        a = a + 1j * rng.standard_normal((n, n))
    return np.triu(np.tril(a, ku), -kl).astype(dtype)


# ---- banded LU -------------------------------------------------------------------------------

@pytest.mark.parametrize("n,kl,ku", [(1, 0, 0), (2, 1, 0), (5, 1, 1), (20, 2, 3), (20, 3, 0),
                                     (20, 0, 4), (7, 6, 6), (60, 4, 2)])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("order", ["C", "F"])
def test_band_lu_matches_dense_and_scipy(n, kl, ku, dtype, order):
    rng = np.random.default_rng(100 * n + 10 * kl + ku)
    a = _band_matrix(rng, n, kl, ku, dtype)
    a += np.eye(n) * 0.1  # keep it away from singular
    b = rng.standard_normal(n).astype(dtype)
    ab = np.asarray(band_storage(a, kl, ku), order=order)
    piv = np.empty(n, dtype=np.int64)
    assert band_lu_factor_nb(ab, kl, ku, piv) == 0
    x_ref = np.linalg.solve(a, b)
    x = band_lu_solve(ab, kl, ku, piv, b.copy())
    np.testing.assert_allclose(x, x_ref, rtol=1e-9, atol=1e-11 * np.abs(x_ref).max())
    x_sp = scipy.linalg.solve_banded((kl, ku), band_storage(a, kl, ku)[kl:], b)
    np.testing.assert_allclose(x, x_sp, rtol=1e-9, atol=1e-11 * np.abs(x_ref).max())
    rows = np.vstack([b, 2.0 * b, b[::-1]]).astype(dtype)
    band_lu_solve_row(ab, kl, ku, piv, rows, 1)
    np.testing.assert_allclose(rows[1], 2.0 * x, rtol=1e-12, atol=1e-14 * np.abs(x).max())
    np.testing.assert_array_equal(rows[0], b)


def test_band_lu_pivots_like_lapack():
    """A zero diagonal forces row swaps (the fill-in rows of the layout are used)."""
    n, kl, ku = 12, 2, 1
    rng = np.random.default_rng(3)
    a = _band_matrix(rng, n, kl, ku, np.float64)
    np.fill_diagonal(a, 0.0)
    ab = band_storage(a, kl, ku)
    piv = np.empty(n, dtype=np.int64)
    assert band_lu_factor_nb(ab, kl, ku, piv) == 0
    lu, piv_ref, info = scipy.linalg.lapack.dgbtrf(band_storage(a, kl, ku), kl, ku)
    assert info == 0
    np.testing.assert_array_equal(piv, piv_ref)
    np.testing.assert_allclose(ab, lu, rtol=1e-12, atol=1e-14)


def test_band_lu_reports_singular():
    a = np.diag([1.0, 2.0, 0.0, 4.0]) + np.diag([1.0, 1.0, 0.0], 1)
    ab = band_storage(a, 0, 1)
    piv = np.empty(4, dtype=np.int64)
    assert band_lu_factor_nb(ab, 0, 1, piv) == 3


@pytest.mark.parametrize("n,kl,ku", [(1, 0, 0), (5, 1, 1), (10, 2, 0), (10, 0, 3), (4, 5, 5),
                                     (101, 1, 1)])
def test_band_groups_equal_cpr_groups(n, kl, ku):
    for a, b in zip(cpr_groups(band_columns(n, kl, ku), n), band_groups(n, kl, ku)):
        np.testing.assert_array_equal(a, b)


def test_band_of_patterns():
    tri = scipy.sparse.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(100, 100))
    assert pattern_bandwidth(tri) == (1, 1)
    assert band_of(tri, None, None, 100) == (1, 1)
    assert band_of(tri.toarray(), None, None, 100) == (1, 1)
    assert band_of(None, 2, 0, 100) == (2, 0)
    assert band_of(np.ones((100, 100)), None, None, 100) == (-1, -1)  # full: dense
    assert band_of(np.eye(8), None, None, 8) == (-1, -1)  # small: dense
    assert band_of(None, None, None, 100) == (-1, -1)


# ---- the heat equation u_t = u_xx on (0, 1), u = 0 at both ends -----------------------------

MODES = ((1, 1.0), (3, 0.5), (7, 0.25))


def heat_problem(n):
    dx = 1.0 / (n + 1)
    x = np.arange(1, n + 1) * dx
    c = 1.0 / dx ** 2

    def heat(t, u):
        du = np.empty_like(u)
        du[0] = c * (u[1] - 2.0 * u[0])
        du[-1] = c * (u[-2] - 2.0 * u[-1])
        du[1:-1] = c * (u[:-2] - 2.0 * u[1:-1] + u[2:])
        return du

    u0 = sum(a * np.sin(k * np.pi * x) for k, a in MODES)

    def semi_discrete(t):
        """Exact solution of the semi-discrete system: sin(k pi x_i) are eigenvectors of the
        second-difference matrix with eigenvalues -4/dx^2 sin^2(k pi dx / 2)."""
        return sum(a * np.exp(-4.0 / dx ** 2 * np.sin(k * np.pi * dx / 2) ** 2 * t)
                   * np.sin(k * np.pi * x) for k, a in MODES)

    def pde(t):
        return sum(a * np.exp(-(k * np.pi) ** 2 * t) * np.sin(k * np.pi * x) for k, a in MODES)

    return heat, u0, semi_discrete, pde


@pytest.mark.parametrize("method,rtol,tol", [("Rodas4", 1e-7, 2e-7), ("Rosenbrock23", 1e-5, 3e-5)])
def test_heat_equation_banded(method, rtol, tol):
    n, T = 600, 0.05
    heat, u0, semi, pde = heat_problem(n)
    t_eval = np.array([0.01, 0.02, T])
    sol = fastode.solve_ivp(heat, (0.0, T), u0, method=method, rtol=rtol, atol=1e-10,
                            lband=1, uband=1, t_eval=t_eval)
    assert sol.success, sol.message
    for i, t in enumerate(t_eval):
        exact = semi(t)
        err = np.abs(sol.y[:, i] - exact).max()
        assert err < tol, (t, err)
        # the PDE's solution, to the O(dx^2) accuracy of the discretisation
        disc = np.abs(exact - pde(t)).max()
        assert disc < 5e-5
        assert np.abs(sol.y[:, i] - pde(t)).max() < disc + tol
    # a banded Jacobian costs lband + uband + 1 = 3 RHS calls
    assert sol.njev > 0 and sol.nlu >= sol.njev
    # (+ 1 for df/dt); per LU Rodas4 makes 5 stage calls and f(y_new), ode23s 2 calls
    per_step = 6 if method == "Rodas4" else 2
    assert sol.nfev <= 2 + sol.njev * (3 + 1) + sol.nlu * per_step


@pytest.mark.parametrize("method", ["Rodas4", "Rosenbrock23"])
def test_banded_equals_dense(method):
    """Same steps and values with the banded and the dense path (the FD Jacobian entries are
    the same numbers); only nfev differs (3 RHS calls per Jacobian instead of n)."""
    n = 40
    heat, u0, semi, _ = heat_problem(n)
    kw = dict(method=method, rtol=1e-6, atol=1e-9, dense_output=True)
    banded = fastode.solve_ivp(heat, (0.0, 0.1), u0, lband=1, uband=1, **kw)
    dense = fastode.solve_ivp(heat, (0.0, 0.1), u0, **kw)
    assert banded.success and dense.success
    np.testing.assert_array_equal(banded.t, dense.t)
    np.testing.assert_allclose(banded.y, dense.y, rtol=1e-12, atol=1e-14)
    assert banded.njev == dense.njev and banded.nlu == dense.nlu
    assert dense.nfev - banded.nfev == banded.njev * (n - 3)
    np.testing.assert_allclose(banded.sol(0.037), dense.sol(0.037), rtol=1e-12, atol=1e-14)
    tol = 1e-6 if method == "Rodas4" else 1e-5
    np.testing.assert_allclose(banded.y[:, -1], semi(0.1), atol=tol)


def test_banded_jac_sparsity_and_asymmetric_band():
    """Advection-diffusion with an upwind difference: kl = 2, ku = 1 (given as a sparsity
    pattern with a wider lower band), banded path vs dense finite differences."""
    n = 80
    dx = 1.0 / (n + 1)
    x = np.arange(1, n + 1) * dx
    a, d = 1.0, 0.01

    def adv_diff(t, u):
        up = np.zeros(n + 4)
        up[2:-2] = u
        # second-order upwind advection (uses i-1, i-2) + diffusion
        adv = -a * (3.0 * up[2:-2] - 4.0 * up[1:-3] + up[:-4]) / (2.0 * dx)
        dif = d * (up[1:-3] - 2.0 * up[2:-2] + up[3:-1]) / dx ** 2
        return adv + dif

    pattern = scipy.sparse.diags([1.0, 1.0, 1.0, 1.0], [-2, -1, 0, 1], shape=(n, n))
    assert band_of(pattern, None, None, n) == (2, 1)
    u0 = np.exp(-100.0 * (x - 0.3) ** 2)
    kw = dict(method="Rodas4", rtol=1e-6, atol=1e-9)
    by_pattern = fastode.solve_ivp(adv_diff, (0.0, 0.3), u0, jac_sparsity=pattern, **kw)
    by_band = fastode.solve_ivp(adv_diff, (0.0, 0.3), u0, lband=2, uband=1, **kw)
    dense = fastode.solve_ivp(adv_diff, (0.0, 0.3), u0, **kw)
    for sol in (by_pattern, by_band):
        assert sol.success
        np.testing.assert_array_equal(sol.t, dense.t)
        np.testing.assert_allclose(sol.y, dense.y, rtol=1e-10, atol=1e-13)
        assert sol.nfev == dense.nfev - dense.njev * (n - 4)


def test_banded_mass_matrix():
    """2 u_t = u_xx with a (diagonal, so banded) mass matrix: the heat equation at half time."""
    n = 64
    heat, u0, semi, _ = heat_problem(n)
    sol = fastode.solve_ivp(heat, (0.0, 0.1), u0, method="Rodas4", rtol=1e-7, atol=1e-10,
                            lband=1, uband=1, mass=2.0 * np.eye(n))
    assert sol.success
    np.testing.assert_allclose(sol.y[:, -1], semi(0.05), atol=5e-7)
    wide = np.eye(n)
    wide[0, 5] = 0.1
    with pytest.raises(ValueError, match="outside the band"):
        fastode.solve_ivp(heat, (0.0, 0.1), u0, method="Rodas4", lband=1, uband=1, mass=wide)


def test_banded_large_system_memory():
    """n = 20000: dense storage would need 3.2 GB per matrix; banded runs in O(n)."""
    n = 20000
    heat, u0, semi, _ = heat_problem(n)
    sol = fastode.solve_ivp(heat, (0.0, 0.01), u0, method="Rodas4", rtol=1e-5, atol=1e-8,
                            lband=1, uband=1, t_eval=[0.01])
    assert sol.success
    assert np.abs(sol.y[:, -1] - semi(0.01)).max() < 1e-4
    assert sol.nfev < 40 * sol.njev


# ---- BDF (fastode.kernels.bdf) in banded mode ------------------------------------------------

def test_bdf_heat_equation_banded():
    """n = 600, lband = uband = 1: against the exact (Fourier) solution of the semi-discrete
    system and, to the O(dx^2) discretisation error, of the PDE."""
    n, T = 600, 0.05
    heat, u0, semi, pde = heat_problem(n)
    t_eval = np.array([0.01, 0.02, T])
    sol = fastode.solve_ivp(heat, (0.0, T), u0, method="BDF", rtol=1e-7, atol=1e-10,
                            lband=1, uband=1, t_eval=t_eval)
    assert sol.success, sol.message
    for i, t in enumerate(t_eval):
        err = np.abs(sol.y[:, i] - semi(t)).max()
        assert err < 2e-6, (t, err)
        disc = np.abs(semi(t) - pde(t)).max()
        assert np.abs(sol.y[:, i] - pde(t)).max() < disc + 2e-6
    # one banded LU serves many steps: the point of BDF on a linear problem
    assert sol.njev == 1 and sol.nlu < sol.t.size + 40


@pytest.mark.parametrize("kind", ["band", "sparsity"])
def test_bdf_banded_equals_dense_and_scipy(kind):
    """The banded path gives the dense path's numbers to the last bit (the grouped finite
    differences equal scipy's dense num_jac column by column, and for a tridiagonal matrix the
    banded LU does the dense LU's operations), and the steps and counters of scipy's BDF."""
    n = 40
    heat, u0, semi, _ = heat_problem(n)
    kw = dict(rtol=1e-6, atol=1e-9)
    pattern = scipy.sparse.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(n, n))
    extra = dict(lband=1, uband=1) if kind == "band" else dict(jac_sparsity=pattern)
    banded = fastode.solve_ivp(heat, (0.0, 0.1), u0, method="BDF", dense_output=True,
                               **extra, **kw)
    dense = fastode.solve_ivp(heat, (0.0, 0.1), u0, method="BDF", dense_output=True, **kw)
    ref = scipy.integrate.solve_ivp(heat, (0.0, 0.1), u0, method="BDF", jac_sparsity=pattern,
                                    **kw)
    assert banded.success and dense.success
    np.testing.assert_array_equal(banded.t, dense.t)
    np.testing.assert_array_equal(banded.y, dense.y)
    np.testing.assert_array_equal(banded.sol(0.037), dense.sol(0.037))
    # scipy counts neither way the RHS calls of the finite-difference Jacobian
    assert (banded.nfev, banded.njev, banded.nlu) == (ref.nfev, ref.njev, ref.nlu)
    assert banded.t.size == ref.t.size
    np.testing.assert_allclose(banded.t, ref.t, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(banded.y[:, -1], semi(0.1), atol=1e-6)


def test_bdf_grouped_dense_storage_matches_scipy():
    """A jac_sparsity too wide for the band path (here n < 32): grouped finite differences
    into a dense J, scipy's sparse num_jac; steps and counters as scipy's BDF with it."""
    n = 20
    heat, u0, semi, _ = heat_problem(n)
    pattern = scipy.sparse.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(n, n)).toarray()
    pattern[0, -1] = pattern[-1, 0] = 1.0  # periodic corner entries: not a narrow band
    assert band_of(pattern, None, None, n) == (-1, -1)
    kw = dict(method="BDF", rtol=1e-5, atol=1e-8, jac_sparsity=pattern)
    sol = fastode.solve_ivp(heat, (0.0, 0.2), u0, **kw)
    ref = scipy.integrate.solve_ivp(heat, (0.0, 0.2), u0, **kw)
    assert sol.success
    assert (sol.nfev, sol.njev, sol.nlu) == (ref.nfev, ref.njev, ref.nlu)
    np.testing.assert_allclose(sol.t, ref.t, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(sol.y[:, -1], semi(0.2), atol=1e-5)


def test_bdf_banded_asymmetric_band():
    """Upwind advection-diffusion (kl = 2, ku = 1) with the band given both ways: the same
    steps as the dense path."""
    n = 80
    dx = 1.0 / (n + 1)
    x = np.arange(1, n + 1) * dx

    def adv_diff(t, u):
        up = np.zeros(n + 4)
        up[2:-2] = u
        adv = -(3.0 * up[2:-2] - 4.0 * up[1:-3] + up[:-4]) / (2.0 * dx)
        dif = 0.01 * (up[1:-3] - 2.0 * up[2:-2] + up[3:-1]) / dx ** 2
        return adv + dif

    pattern = scipy.sparse.diags([1.0, 1.0, 1.0, 1.0], [-2, -1, 0, 1], shape=(n, n))
    u0 = np.exp(-100.0 * (x - 0.3) ** 2)
    kw = dict(method="BDF", rtol=1e-6, atol=1e-9)
    dense = fastode.solve_ivp(adv_diff, (0.0, 0.3), u0, **kw)
    ref = scipy.integrate.solve_ivp(adv_diff, (0.0, 0.3), u0, **kw)
    for extra in (dict(jac_sparsity=pattern), dict(lband=2, uband=1)):
        sol = fastode.solve_ivp(adv_diff, (0.0, 0.3), u0, **extra, **kw)
        assert sol.success
        assert (sol.nfev, sol.njev, sol.nlu) == (dense.nfev, dense.njev, dense.nlu)
        np.testing.assert_allclose(sol.t, dense.t, rtol=1e-12)
        np.testing.assert_allclose(sol.y, dense.y, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dense.y[:, -1], ref.y[:, -1], rtol=1e-6, atol=1e-9)


def test_bdf_banded_mass_matrix():
    """2 u_t = u_xx with a diagonal (banded) mass matrix: the heat equation at half time; a
    tridiagonal M (finite-element style) against the equivalent explicit system."""
    n = 64
    heat, u0, semi, _ = heat_problem(n)
    kw = dict(method="BDF", rtol=1e-7, atol=1e-10)
    sol = fastode.solve_ivp(heat, (0.0, 0.1), u0, lband=1, uband=1, mass=2.0 * np.eye(n), **kw)
    assert sol.success
    np.testing.assert_allclose(sol.y[:, -1], semi(0.05), atol=5e-7)
    M = np.eye(n) + 0.1 * (np.eye(n, k=1) + np.eye(n, k=-1))
    Minv = np.linalg.inv(M)
    banded = fastode.solve_ivp(heat, (0.0, 0.05), u0, lband=1, uband=1, mass=M, **kw)
    dense = fastode.solve_ivp(heat, (0.0, 0.05), u0, mass=M, **kw)
    ref = scipy.integrate.solve_ivp(lambda t, u: Minv @ heat(t, u), (0.0, 0.05), u0,
                                    method="Radau", rtol=1e-10, atol=1e-13)
    assert banded.success and dense.success
    np.testing.assert_array_equal(banded.t, dense.t)
    np.testing.assert_allclose(banded.y, dense.y, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(banded.y[:, -1], ref.y[:, -1], atol=2e-6)
    wide = np.eye(n)
    wide[0, 5] = 0.1
    with pytest.raises(ValueError, match="outside the band"):
        fastode.solve_ivp(heat, (0.0, 0.1), u0, method="BDF", lband=1, uband=1, mass=wide)


def test_bdf_banded_large_system():
    """n = 20000 (dense storage would need 3.2 GB per matrix)."""
    n = 20000
    heat, u0, semi, _ = heat_problem(n)
    sol = fastode.solve_ivp(heat, (0.0, 0.01), u0, method="BDF", rtol=1e-5, atol=1e-8,
                            lband=1, uband=1, t_eval=[0.01])
    assert sol.success
    assert np.abs(sol.y[:, -1] - semi(0.01)).max() < 1e-4
