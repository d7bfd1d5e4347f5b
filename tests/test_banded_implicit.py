"""Structured and banded Jacobians in the Radau and ESDIRK drivers (Radau, KenCarp4, Kvaerno5,
implicit Euler, adaptive and fixed-step): the heat equation u_t = u_xx by the method of lines
against its Fourier-series solution, banded == dense step for step, ``jac_sparsity`` (a banded
pattern takes the band, a sparse non-banded one the dense path with grouped finite
differences), a banded (finite-element) mass matrix, and a large system in O(n) memory.

The semi-discrete systems here have exact solutions: sin(k pi x_i) are eigenvectors of the
second-difference matrix (and of the linear finite-element mass matrix), so each Fourier mode
of u0 decays with its own exponential; the error measured is the integrator's alone."""
import functools
import itertools
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse

import fastode
from fastode import methods as method_registry
from fastode.ivp_implicit import driver_for, kernel_call


def contract_call(fun, t_span, y0, method, **options):
    """kernel_call's arguments after the method's bound coefficients (fastode.kernels.family):
    the implicit driver contract, as solve_ivp passes it."""
    kernel, args, keep = kernel_call(fun, t_span, y0, method, **options)
    coefficients = driver_for(method_registry.lookup(method)).coefficients
    assert all(a is b for a, b in zip(args, coefficients))
    # (rhs, jac, p, t0, t1, y0, tolerances, mass_matrix, steps, output, events, jacobian)
    groups = args[len(coefficients):]
    assert len(groups) == 12
    return kernel, (MassMatrix(*groups[7]), Jacobian(*groups[11])), keep
from fastode.kernels.jacobian import JAC_FD, JAC_FD_GROUPED
from fastode.kernels.options import Jacobian, MassMatrix
from fastode.kernels.esdirk import implicit_euler_fixed_solve
from fastode.rhs import FallbackWarning

METHODS = ["Radau", "KenCarp4", "Kvaerno5", "implicit_euler"]
MODES = ((1, 1.0), (3, 0.5), (7, 0.25))


# ---- problems -----------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def heat_problem(n):
    """u_t = u_xx on (0, 1), u = 0 at both ends, n interior points (second differences).
    Cached per n: one function object, compiled once per session."""
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
    # eigenvalues of the second-difference matrix for sin(k pi x_i)
    rates = {k: 4.0 / dx ** 2 * np.sin(k * np.pi * dx / 2) ** 2 for k, _ in MODES}

    def semi_discrete(t):
        """Exact solution of the semi-discrete system."""
        return sum(a * np.exp(-rates[k] * t) * np.sin(k * np.pi * x) for k, a in MODES)

    def backward_euler(h, steps):
        """Exact result of `steps` backward Euler steps of size h: (1 + h rate)^-steps."""
        return sum(a * (1.0 + h * rates[k]) ** -steps * np.sin(k * np.pi * x)
                   for k, a in MODES)

    def pde(t):
        return sum(a * np.exp(-(k * np.pi) ** 2 * t) * np.sin(k * np.pi * x) for k, a in MODES)

    return heat, u0, semi_discrete, backward_euler, pde


@functools.lru_cache(maxsize=None)
def fem_heat_problem(n):
    """The heat equation by linear finite elements: M u' = K u with the tridiagonal mass matrix
    M = dx/6 [1 4 1] and stiffness K = 1/dx [1 -2 1]. sin(k pi x_i) is an eigenvector of both
    (eigenvalues dx/6 (4 + 2 cos th) and -2/dx (1 - cos th), th = k pi dx)."""
    dx = 1.0 / (n + 1)
    x = np.arange(1, n + 1) * dx
    c = 1.0 / dx

    def stiffness(t, u):
        du = np.empty_like(u)
        du[0] = c * (u[1] - 2.0 * u[0])
        du[-1] = c * (u[-2] - 2.0 * u[-1])
        du[1:-1] = c * (u[:-2] - 2.0 * u[1:-1] + u[2:])
        return du

    mass = scipy.sparse.diags([np.full(n - 1, dx / 6), np.full(n, 4 * dx / 6),
                               np.full(n - 1, dx / 6)], [-1, 0, 1]).toarray()
    u0 = sum(a * np.sin(k * np.pi * x) for k, a in MODES)

    def exact(t):
        out = 0.0
        for k, a in MODES:
            th = k * np.pi * dx
            rate = (6.0 / dx ** 2) * (1.0 - np.cos(th)) / (2.0 + np.cos(th))
            out = out + a * np.exp(-rate * t) * np.sin(k * np.pi * x)
        return out

    return stiffness, mass, u0, exact


# ---- accuracy on the heat equation ------------------------------------------------------------

# (method, rtol, bound on the max error against the semi-discrete solution). Radau (order 5) and
# the ESDIRKs (orders 4-5) keep the global error within a few rtol (|u| <= 1.75; measured:
# Radau 0.06 rtol, KenCarp4 1.4 rtol, Kvaerno5 2.0 rtol at rtol 1e-6). Backward Euler with its
# local error held at tol takes steps ~ sqrt(tol): its global error is O(sqrt(rtol)) (measured
# 0.14 sqrt(rtol) at rtol 1e-3 .. 1e-5).
ACCURACY = [("Radau", 1e-6, 2e-6), ("KenCarp4", 1e-6, 5e-6), ("Kvaerno5", 1e-6, 5e-6),
            ("implicit_euler", 1e-4, 0.5 * 1e-4 ** 0.5)]


@pytest.mark.parametrize("method,rtol,tol", ACCURACY)
def test_heat_equation_banded(method, rtol, tol):
    n, T = 600, 0.05
    heat, u0, semi, _, pde = heat_problem(n)
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
    # a banded Jacobian: lband + uband + 1 = 3 RHS calls (not counted in nfev, as scipy)
    assert 0 < sol.njev <= 5 and sol.nlu >= sol.njev


def test_implicit_euler_error_falls_as_sqrt_rtol():
    """Backward Euler (banded): 100x smaller rtol, about 10x smaller error (first order with
    local error control: h ~ sqrt(tol), global error ~ h)."""
    n, T = 600, 0.05
    heat, u0, semi, _, _ = heat_problem(n)
    errs = []
    for rtol in (1e-3, 1e-5):
        sol = fastode.solve_ivp(heat, (0.0, T), u0, method="implicit_euler", rtol=rtol,
                                atol=1e-10, lband=1, uband=1, t_eval=[T])
        assert sol.success
        errs.append(np.abs(sol.y[:, -1] - semi(T)).max())
    assert 5.0 < errs[0] / errs[1] < 20.0, errs


def test_fixed_step_implicit_euler_banded():
    """implicit_euler with step=: exactly the backward Euler recursion (1 + h rate)^-N on each
    mode, to the Newton tolerance; banded == dense."""
    n, h, steps = 300, 1e-3, 50
    heat, u0, _, backward_euler, _ = heat_problem(n)
    kw = dict(method="implicit_euler", step=h, rtol=1e-10, atol=1e-12)
    driver, args, _ = kernel_call(heat, (0.0, h * steps), u0, "implicit_euler", step=h,
                                  lband=1, uband=1)
    # the ESDIRK family driver with the fixed-step method's coefficients (its flag `fixed` last)
    coefficients = implicit_euler_fixed_solve.coefficients[0]
    assert driver is implicit_euler_fixed_solve.driver and coefficients[-1] is True
    assert args[0] is coefficients and tuple(args[-1][5:7]) == (1, 1)  # kl, ku
    sol = fastode.solve_ivp(heat, (0.0, h * steps), u0, lband=1, uband=1, **kw)
    assert sol.success and sol.t.size == steps + 1
    np.testing.assert_allclose(sol.y[:, -1], backward_euler(h, steps), rtol=0, atol=1e-9)
    dense = fastode.solve_ivp(heat, (0.0, h * steps), u0, **kw)
    np.testing.assert_array_equal(sol.t, dense.t)
    np.testing.assert_allclose(sol.y, dense.y, rtol=1e-12, atol=1e-14)
    assert (sol.nfev, sol.njev, sol.nlu) == (dense.nfev, dense.njev, dense.nlu)


# ---- banded == dense ----------------------------------------------------------------------

@pytest.mark.parametrize("method", METHODS)
def test_banded_equals_dense(method):
    """Same steps and values on the banded and the dense path: the grouped finite differences
    give the dense ones' numbers (each f_i sees one perturbed column), and the banded LU does
    the dense LU's arithmetic. The counters agree too (FD calls are in njev, not nfev)."""
    n = 40
    heat, u0, semi, _, _ = heat_problem(n)
    kw = dict(method=method, rtol=1e-6, atol=1e-9, dense_output=True)
    banded = fastode.solve_ivp(heat, (0.0, 0.1), u0, lband=1, uband=1, **kw)
    dense = fastode.solve_ivp(heat, (0.0, 0.1), u0, **kw)
    assert banded.success and dense.success
    np.testing.assert_array_equal(banded.t, dense.t)
    np.testing.assert_allclose(banded.y, dense.y, rtol=1e-12, atol=1e-14)
    assert (banded.nfev, banded.njev, banded.nlu) == (dense.nfev, dense.njev, dense.nlu)
    np.testing.assert_allclose(banded.sol(0.037), dense.sol(0.037), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("method", METHODS)
def test_banded_call_arguments(method):
    """lband/uband reach the driver as kl, ku with grouped finite differences and the (1, 1)
    placeholder mass; without them: the dense path (kl = ku = -1)."""
    heat, u0, _, _, _ = heat_problem(50)
    _, (mass, jac), _ = contract_call(heat, (0.0, 0.1), u0, method, lband=1, uband=1)
    assert jac.use_jac == JAC_FD_GROUPED and (jac.kl, jac.ku) == (1, 1)
    assert mass.mass.shape == (1, 1) and not mass.has_mass  # placeholder, has_mass False
    _, (mass, jac), _ = contract_call(heat, (0.0, 0.1), u0, method)
    assert jac.use_jac == JAC_FD and (jac.kl, jac.ku) == (-1, -1)


# ---- jac_sparsity -------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["Radau", "KenCarp4"])
def test_jac_sparsity_band_pattern(method):
    """A tridiagonal pattern (scipy.sparse or dense) is taken as the band kl = ku = 1: the same
    solve as lband = uband = 1."""
    n = 40
    heat, u0, _, _, _ = heat_problem(n)
    pattern = scipy.sparse.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(n, n))
    kw = dict(method=method, rtol=1e-6, atol=1e-9)
    _, (_, jac), _ = contract_call(heat, (0.0, 0.1), u0, method, jac_sparsity=pattern)
    assert jac.use_jac == JAC_FD_GROUPED and (jac.kl, jac.ku) == (1, 1)
    by_band = fastode.solve_ivp(heat, (0.0, 0.1), u0, lband=1, uband=1, **kw)
    for pat in (pattern, pattern.toarray()):
        sol = fastode.solve_ivp(heat, (0.0, 0.1), u0, jac_sparsity=pat, **kw)
        np.testing.assert_array_equal(sol.t, by_band.t)
        np.testing.assert_array_equal(sol.y, by_band.y)
        assert (sol.nfev, sol.njev, sol.nlu) == (by_band.nfev, by_band.njev, by_band.nlu)


def periodic_heat(n, counter):
    """u_t = u_xx on a ring: tridiagonal plus the two corners (not a narrow band). Calls go
    through Python (counted: ``counter`` is an itertools.count, which numba cannot compile)."""
    c = float(n * n)

    def ring(t, u):
        next(counter)
        return c * (np.roll(u, 1) - 2.0 * u + np.roll(u, -1))

    return ring


@pytest.mark.parametrize("method", ["Radau", "KenCarp4"])
def test_jac_sparsity_sparse_pattern_groups(method):
    """A sparse pattern that is no narrow band (periodic: corners) runs the dense path with
    column-grouped finite differences: the dense path's steps and counters, with 3 RHS calls
    per Jacobian (plus retries, at most one per group) instead of n."""
    n = 60
    pattern = (scipy.sparse.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(n, n)).tolil())
    pattern[0, n - 1] = pattern[n - 1, 0] = 1.0
    x = np.arange(n) / n
    u0 = 1.0 + np.sin(2 * np.pi * x) + 0.5 * np.cos(6 * np.pi * x)
    kw = dict(method=method, rtol=1e-6, atol=1e-9)
    runs = {}
    for name, extra in (("grouped", dict(jac_sparsity=pattern)), ("dense", {})):
        counter = itertools.count()
        ring = periodic_heat(n, counter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FallbackWarning)
            if name == "grouped":
                _, (_, jac), _ = contract_call(ring, (0.0, 0.05), u0, method, **extra)
                assert jac.use_jac == JAC_FD_GROUPED and (jac.kl, jac.ku) == (-1, -1)
            start = next(counter)
            sol = fastode.solve_ivp(ring, (0.0, 0.05), u0, **extra, **kw)
        assert sol.success
        runs[name] = (sol, next(counter) - start - 1)
    (grouped, calls_g), (dense, calls_d) = runs["grouped"], runs["dense"]
    np.testing.assert_array_equal(grouped.t, dense.t)
    np.testing.assert_allclose(grouped.y, dense.y, rtol=1e-12, atol=1e-14)
    assert (grouped.nfev, grouped.njev, grouped.nlu) == (dense.nfev, dense.njev, dense.nlu)
    # the Python calls outside nfev: the Jacobians' (and a few of solve_ivp's own set-up calls)
    fd_grouped = calls_g - grouped.nfev
    fd_dense = calls_d - dense.nfev
    assert fd_dense >= dense.njev * n
    assert 3 * grouped.njev <= fd_grouped <= 2 * 3 * grouped.njev + 4
    # the ring's mean is conserved; the modes decay as exp(-(2 pi k)^2 t) (to O(dx^2))
    np.testing.assert_allclose(grouped.y[:, -1].mean(), 1.0, rtol=1e-9)


# ---- banded mass matrix -------------------------------------------------------------------

@pytest.mark.parametrize("method,rtol,tol", ACCURACY)
def test_banded_fem_mass_matrix(method, rtol, tol):
    """M u' = K u with the tridiagonal finite-element mass matrix, inside the band: the values
    at every step against the exact solution. (Between steps, the ESDIRKs' dense output with a
    mass matrix is a cubic through stage values of stage order 2, less accurate: KenCarp4 1.6e-5
    at rtol 1e-6 on this problem, banded or dense alike.)"""
    n, T = 200, 0.02
    stiffness, mass, u0, exact = fem_heat_problem(n)
    sol = fastode.solve_ivp(stiffness, (0.0, T), u0, method=method, rtol=rtol, atol=1e-10,
                            lband=1, uband=1, mass=mass)
    assert sol.success, sol.message
    assert sol.t.size > 5
    for i, t in enumerate(sol.t):
        assert np.abs(sol.y[:, i] - exact(t)).max() < tol, (t, i)


@pytest.mark.parametrize("method", ["Radau", "Kvaerno5"])
def test_banded_mass_equals_dense(method):
    n = 40
    stiffness, mass, u0, _ = fem_heat_problem(n)
    kw = dict(method=method, rtol=1e-6, atol=1e-9, mass=mass)
    banded = fastode.solve_ivp(stiffness, (0.0, 0.02), u0, lband=1, uband=1, **kw)
    dense = fastode.solve_ivp(stiffness, (0.0, 0.02), u0, **kw)
    assert banded.success and dense.success
    np.testing.assert_array_equal(banded.t, dense.t)
    np.testing.assert_allclose(banded.y, dense.y, rtol=1e-12, atol=1e-14)
    assert (banded.nfev, banded.njev, banded.nlu) == (dense.nfev, dense.njev, dense.nlu)


def test_mass_outside_band_rejected():
    n = 40
    stiffness, mass, u0, _ = fem_heat_problem(n)
    wide = mass.copy()
    wide[0, 3] = 0.1
    with pytest.raises(ValueError, match="outside the band"):
        fastode.solve_ivp(stiffness, (0.0, 0.01), u0, method="Radau", lband=1, uband=1,
                          mass=wide)


# ---- a large system -----------------------------------------------------------------------

@pytest.mark.parametrize("method,options", [("Radau", {}), ("KenCarp4", {}), ("Kvaerno5", {}),
                                            ("implicit_euler", {"step": 1e-4})])
def test_large_system_runs_in_linear_memory(method, options):
    """n = 10000: the dense path would need 2.4 GB of matrices (J, real and complex LU) and
    O(n^3) work per LU; banded, the solve's allocations stay O(n) (numba's allocations are
    traced by tracemalloc) and it takes well under a second once compiled."""
    n, T = 10000, 0.002
    heat, u0, semi, backward_euler, _ = heat_problem(n)
    kw = dict(method=method, rtol=1e-6, atol=1e-9, lband=1, uband=1, t_eval=[T], **options)
    fastode.solve_ivp(heat, (0.0, T / 10), u0, **kw | dict(t_eval=None))  # compile the RHS
    tracemalloc.start()
    try:
        sol = fastode.solve_ivp(heat, (0.0, T), u0, **kw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sol.success, sol.message
    assert peak < 100 * 8 * n, peak   # 100 doubles per unknown; dense: 4 n per unknown
    exact = backward_euler(1e-4, 20) if options else semi(T)
    assert np.abs(sol.y[:, -1] - exact).max() < 1e-5


# ---- complex states: the band of the real form ------------------------------------------------

@functools.lru_cache(maxsize=None)
def complex_heat_problem(n):
    """u_t = (1 + i) u_xx, u = 0 at both ends: each sine mode decays and turns,
    u_k(t) = a_k exp(-(1 + i) rate_k t). A complex state is integrated as 2n reals, so a complex
    band (1, 1) is the real band (3, 3) (fastode.ivp_jacobian.real_pairs_structure)."""
    dx = 1.0 / (n + 1)
    x = np.arange(1, n + 1) * dx
    c = (1.0 + 1.0j) / dx ** 2

    def heat(t, u):
        du = np.empty_like(u)
        du[0] = c * (u[1] - 2.0 * u[0])
        du[-1] = c * (u[-2] - 2.0 * u[-1])
        du[1:-1] = c * (u[:-2] - 2.0 * u[1:-1] + u[2:])
        return du

    u0 = sum(a * np.sin(k * np.pi * x) for k, a in MODES).astype(complex)
    rates = {k: 4.0 / dx ** 2 * np.sin(k * np.pi * dx / 2) ** 2 for k, _ in MODES}

    def exact(t):
        return sum(a * np.exp(-(1.0 + 1.0j) * rates[k] * t) * np.sin(k * np.pi * x)
                   for k, a in MODES)

    return heat, u0, exact


@pytest.mark.parametrize("method", ["Radau", "BDF", "Rodas4", "KenCarp4", "LSODA"])
@pytest.mark.parametrize("structure", ["band", "sparsity"])
def test_complex_state_with_band(method, structure):
    n, rtol, atol, t1 = 40, 1e-6, 1e-9, 0.02
    heat, u0, exact = complex_heat_problem(n)
    if structure == "band":
        options = dict(lband=1, uband=1)
    else:
        options = dict(jac_sparsity=scipy.sparse.diags([1, 1, 1], [-1, 0, 1], shape=(n, n)))
    dense = fastode.solve_ivp(heat, (0.0, t1), u0, method=method, rtol=rtol, atol=atol)
    sol = fastode.solve_ivp(heat, (0.0, t1), u0, method=method, rtol=rtol, atol=atol,
                            max_steps=20000, **options)
    assert sol.success, sol.message
    assert np.iscomplexobj(sol.y)
    err = np.abs(sol.y[:, -1] - exact(t1)).max()
    err_dense = np.abs(dense.y[:, -1] - exact(t1)).max()
    # as accurate as the dense Jacobian (a wrong band costs accuracy or millions of RHS calls)
    assert err <= 2.0 * err_dense + 10 * atol
    assert err <= 100 * rtol
    assert sol.nfev <= 2 * dense.nfev
