"""Automatic stiffness switching: method="LSODA" (RK45 <-> Rodas4) and "auto" (Tsit5 <-> Rodas4).

The switching rule is documented in fastode.ivp_auto.
"""
import functools
import warnings

import numpy as np
import pytest
import scipy.integrate

import fastode
from fastode.methods import lookup
from test_rosenbrock import robertson, robertson_jac, van_der_pol

SWITCHING = ("LSODA", "auto")
EXPLICIT_OF = {"LSODA": ("RK45", "RK45"), "auto": ("Tsit5", "Tsit5")}
MU = 1e3
VDP_Y0 = [2.0, 0.0]
ROB_Y0 = [1.0, 0.0, 0.0]


def lotka_volterra(t, y):
    return np.array([1.5 * y[0] - y[0] * y[1], -3.0 * y[1] + y[0] * y[1]])


@functools.lru_cache(maxsize=None)
def radau_reference(problem, t_end):
    """scipy Radau at tight tolerance, with dense output."""
    if problem == "vdp":
        return scipy.integrate.solve_ivp(van_der_pol, (0.0, t_end), VDP_Y0, method="Radau",
                                         args=(MU,), rtol=1e-11, atol=1e-11, dense_output=True)
    return scipy.integrate.solve_ivp(robertson, (0.0, t_end), ROB_Y0, method="Radau",
                                     rtol=1e-11, atol=1e-15, dense_output=True)


def test_registered_names():
    assert lookup("LSODA").name == "LSODA" and lookup("lsoda").name == "LSODA"
    assert lookup("auto").family == "switching"
    assert "LSODA" in fastode.available_methods() and "auto" in fastode.available_methods()


@pytest.mark.parametrize("method", SWITCHING)
def test_van_der_pol_switches_to_stiff_and_back(method):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # compiled: no hand-over to scipy
        sol = fastode.solve_ivp(van_der_pol, (0.0, 3000.0), VDP_Y0, method=method,
                                args=(MU,), rtol=1e-6, atol=1e-9)
    assert sol.success and sol.status == 0
    explicit = EXPLICIT_OF[method][0]
    sw = sol.method_switches
    # stiff almost at once, then back to explicit for each fast relaxation jump (3 in
    # [0, 3000]) and stiff again after it
    assert sw[0][1:] == (explicit, "Rodas4") and sw[0][0] < 1.0
    back = [s for s in sw if s[2] == explicit]
    assert len(back) >= 1
    for (ta, fa, to_a), (tb, fb, to_b) in zip(sw, sw[1:]):
        assert ta < tb and to_a == fb  # alternating, in time order
    assert sol.njev > 0 and sol.nlu > 0
    ref = radau_reference("vdp", 3000.0)
    np.testing.assert_allclose(sol.y[:, -1], ref.y[:, -1], rtol=1e-4)
    # slow phases, away from the jumps, against the tight reference
    t_check = np.array([100.0, 500.0, 1000.0, 2000.0])
    dense = fastode.solve_ivp(van_der_pol, (0.0, 3000.0), VDP_Y0, method=method, args=(MU,),
                              rtol=1e-6, atol=1e-9, t_eval=t_check)
    np.testing.assert_allclose(dense.y, ref.sol(t_check), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("method", SWITCHING)
def test_robertson_against_radau(method):
    sol = fastode.solve_ivp(robertson, (0.0, 1e5), ROB_Y0, method=method, rtol=1e-6,
                            atol=1e-10)
    assert sol.success
    assert len(sol.method_switches) >= 1 and sol.method_switches[0][2] == "Rodas4"
    ref = radau_reference("rob", 1e5)
    np.testing.assert_allclose(sol.y[:, -1], ref.y[:, -1], rtol=1e-4, atol=1e-10)
    t_check = np.array([1e-3, 0.1, 10.0, 1e3, 1e4])
    np.testing.assert_allclose(fastode.solve_ivp(robertson, (0.0, 1e5), ROB_Y0, method=method,
                                                 rtol=1e-6, atol=1e-10, t_eval=t_check).y,
                               ref.sol(t_check), rtol=1e-4, atol=1e-10)


@pytest.mark.parametrize("method", SWITCHING)
def test_non_stiff_problem_stays_explicit_and_equals_it(method):
    explicit = EXPLICIT_OF[method][1]
    kw = dict(rtol=1e-6, atol=1e-9)
    sol = fastode.solve_ivp(lotka_volterra, (0.0, 15.0), [10.0, 5.0], method=method, **kw)
    ref = fastode.solve_ivp(lotka_volterra, (0.0, 15.0), [10.0, 5.0], method=explicit, **kw)
    assert sol.method_switches == []
    np.testing.assert_array_equal(sol.t, ref.t)
    np.testing.assert_array_equal(sol.y, ref.y)
    assert (sol.nfev, sol.naccept, sol.nreject, sol.njev, sol.nlu) == (
        ref.nfev, ref.naccept, ref.nreject, 0, 0)
    # backwards in time too
    sol = fastode.solve_ivp(lotka_volterra, (15.0, 0.0), [1.0, 2.0], method=method, **kw)
    ref = fastode.solve_ivp(lotka_volterra, (15.0, 0.0), [1.0, 2.0], method=explicit, **kw)
    assert sol.method_switches == []
    np.testing.assert_array_equal(sol.y, ref.y)


@pytest.mark.parametrize("method", SWITCHING)
def test_outputs_join_across_switches(method):
    t_end = 2000.0  # one relaxation jump: stiff -> explicit -> stiff
    kw = dict(args=(MU,), rtol=1e-6, atol=1e-9)
    sol = fastode.solve_ivp(van_der_pol, (0.0, t_end), VDP_Y0, method=method,
                            dense_output=True, **kw)
    sw = [s[0] for s in sol.method_switches]
    assert len(sw) >= 3
    # every step once, in order, each switch point once
    assert np.all(np.diff(sol.t) > 0) and sol.t[0] == 0.0 and sol.t[-1] == t_end
    for ts in sw:
        assert np.count_nonzero(sol.t == ts) == 1
    assert sol.y.shape == (2, sol.t.size)
    # dense output: through the step points of both methods, continuous at the switches
    np.testing.assert_allclose(sol.sol(sol.t), sol.y, rtol=1e-10, atol=1e-12)
    for ts in sw:
        left, right = sol.sol(np.nextafter(ts, -np.inf)), sol.sol(np.nextafter(ts, np.inf))
        np.testing.assert_allclose(left, right, rtol=1e-8, atol=1e-8)
    # t_eval: points on both sides of each switch, and at a switch point itself
    t_eval = np.unique(np.concatenate([np.linspace(0.0, t_end, 41), sw,
                                       [s - 1e-3 for s in sw], [s + 1e-3 for s in sw]]))
    on = fastode.solve_ivp(van_der_pol, (0.0, t_end), VDP_Y0, method=method, t_eval=t_eval,
                           **kw)
    np.testing.assert_array_equal(on.t, t_eval)
    np.testing.assert_allclose(on.y, sol.sol(t_eval), rtol=1e-9, atol=1e-9)
    assert on.method_switches == sol.method_switches and on.nfev == sol.nfev


def x_zero(t, y, mu):
    return y[0]


def x_one(t, y, mu):
    return y[0] - 1.0


@pytest.mark.parametrize("method", SWITCHING)
def test_events_across_switches(method):
    t_end = 3000.0
    kw = dict(args=(MU,), rtol=1e-8, atol=1e-10)
    sol = fastode.solve_ivp(van_der_pol, (0.0, t_end), VDP_Y0, method=method,
                            events=[x_zero], **kw)
    ref = scipy.integrate.solve_ivp(van_der_pol, (0.0, t_end), VDP_Y0, method="Radau",
                                    events=[x_zero], args=(MU,), rtol=1e-11, atol=1e-11)
    assert len(sol.method_switches) >= 3
    assert sol.t_events[0].size == ref.t_events[0].size == 3
    np.testing.assert_allclose(sol.t_events[0], ref.t_events[0], rtol=1e-5)
    np.testing.assert_allclose(sol.y_events[0][:, 0], 0.0, atol=1e-8)
    # a terminal event counted across legs: the second downward crossing of x = 1 ends it
    x_one.terminal = 2
    x_one.direction = -1.0
    try:
        term = fastode.solve_ivp(van_der_pol, (0.0, t_end), VDP_Y0, method=method,
                                 events=[x_one], **kw)
        ref = scipy.integrate.solve_ivp(van_der_pol, (0.0, t_end), VDP_Y0, method="Radau",
                                        events=[x_one], args=(MU,), rtol=1e-11, atol=1e-11)
    finally:
        del x_one.terminal, x_one.direction
    assert term.status == 1 and ref.status == 1
    np.testing.assert_allclose(term.t_events[0], ref.t_events[0], rtol=1e-5)
    assert term.t[-1] == term.t_events[0][-1]
    np.testing.assert_allclose(term.y[:, -1], term.y_events[0][-1], rtol=1e-12)


def test_fewer_rhs_calls_than_rk45_on_a_stiff_problem():
    kw = dict(args=(MU,), rtol=1e-6, atol=1e-9, t_eval=[50.0])
    auto = fastode.solve_ivp(van_der_pol, (0.0, 50.0), VDP_Y0, method="LSODA", **kw)
    rk45 = fastode.solve_ivp(van_der_pol, (0.0, 50.0), VDP_Y0, method="RK45", **kw)
    assert auto.success and rk45.success
    assert auto.nfev * 20 < rk45.nfev
    np.testing.assert_allclose(auto.y, rk45.y, rtol=1e-4)


def test_options():
    # a user Jacobian reaches the stiff leg
    sol = fastode.solve_ivp(robertson, (0.0, 1e3), ROB_Y0, method="LSODA", rtol=1e-6,
                            atol=1e-10, jac=robertson_jac)
    fd = fastode.solve_ivp(robertson, (0.0, 1e3), ROB_Y0, method="LSODA", rtol=1e-6,
                           atol=1e-10)
    assert sol.success and sol.njev > 0 and sol.nfev < fd.nfev
    np.testing.assert_allclose(sol.y[:, -1], fd.y[:, -1], rtol=1e-4, atol=1e-10)
    # max_steps counts the attempts of every leg
    short = fastode.solve_ivp(robertson, (0.0, 1e5), ROB_Y0, method="auto", max_steps=30)
    assert short.status == -1 and not short.success and "max_steps=30" in short.message
    assert short.naccept + short.nreject <= 30
    with pytest.raises(ValueError, match="mass"):
        fastode.solve_ivp(robertson, (0.0, 1.0), ROB_Y0, method="LSODA", mass=np.eye(3))
    with pytest.raises(ValueError, match="step"):
        fastode.solve_ivp(robertson, (0.0, 1.0), ROB_Y0, method="auto", step=0.1)
    with pytest.warns(UserWarning, match="no effect"):
        fastode.solve_ivp(robertson, (0.0, 1e-3), ROB_Y0, method="auto", bogus=1)
    # t_span of length zero
    zero = fastode.solve_ivp(robertson, (1.0, 1.0), ROB_Y0, method="LSODA")
    assert zero.success and zero.t.tolist() == [1.0]


def stiff_complex(t, z):
    return np.array([(-1e4 + 10j) * (z[0] - np.exp(1j * t)), 1j * z[1]])


def test_complex_state_switches():
    sol = fastode.solve_ivp(stiff_complex, (0.0, 10.0), [0.0j, 1.0 + 0j], method="auto",
                            rtol=1e-8, atol=1e-10)
    assert sol.success and sol.y.dtype == np.complex128
    # rtol 1e-8 is below fastode.ivp_auto.BDF_BELOW_RTOL: the BDF leg
    assert sol.method_switches and sol.method_switches[0][2] == "BDF"
    np.testing.assert_allclose(sol.y[1, -1], np.exp(10j), rtol=1e-6)
    np.testing.assert_allclose(sol.y[0, -1], np.exp(10j), rtol=1e-3)


def heat(t, y):
    """Stiff 1-D heat equation with a source: f_i reads y[i-1], y[i], y[i+1] only."""
    n = y.shape[0]
    dydt = np.empty(n)
    for i in range(n):
        left = y[i - 1] if i > 0 else 0.0
        right = y[i + 1] if i < n - 1 else 0.0
        dydt[i] = 1e3 * (left - 2.0 * y[i] + right) + np.sin(t)
    return dydt


@pytest.mark.parametrize("method", SWITCHING)
def test_grouped_fd_jacobian_equals_dense_on_a_band(method):
    # On a tridiagonal problem, column-grouped forward differences (jac_sparsity or
    # lband/uband: 3 RHS calls per Jacobian) perturb columns that share no row, so every entry
    # is the dense difference quotient bit for bit: the same steps, n - 3 fewer RHS calls per
    # Jacobian.
    n = 20
    y0 = np.sin(np.pi * np.arange(1, n + 1) / (n + 1))
    kw = dict(method=method, rtol=1e-6, atol=1e-9, dense_output=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # compiled: no hand-over to scipy
        dense = fastode.solve_ivp(heat, (0.0, 10.0), y0, **kw)
        pattern = (np.abs(np.subtract.outer(np.arange(n), np.arange(n))) <= 1).astype(int)
        grouped = [fastode.solve_ivp(heat, (0.0, 10.0), y0, jac_sparsity=pattern, **kw),
                   fastode.solve_ivp(heat, (0.0, 10.0), y0, lband=1, uband=1, **kw)]
    assert dense.success and dense.njev > 0
    assert dense.method_switches and dense.method_switches[0][2] == "Rodas4"
    for sol in grouped:
        assert sol.method_switches == dense.method_switches
        np.testing.assert_array_equal(sol.t, dense.t)
        np.testing.assert_array_equal(sol.y, dense.y)
        assert (sol.njev, sol.nlu, sol.naccept) == (dense.njev, dense.nlu, dense.naccept)
        assert dense.nfev - sol.nfev == dense.njev * (n - 3)
    # and the solution is right: the dense-FD run against scipy's Radau at tight tolerance
    ref = scipy.integrate.solve_ivp(heat, (0.0, 10.0), y0, method="Radau", rtol=1e-10,
                                    atol=1e-12)
    np.testing.assert_allclose(dense.y[:, -1], ref.y[:, -1], rtol=1e-4, atol=1e-7)
