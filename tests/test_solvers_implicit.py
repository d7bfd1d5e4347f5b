"""Step-by-step Radau and LSODA classes (fastode.solvers_radau, fastode.solvers_lsoda).

Radau runs scipy's algorithm: its steps and counters are checked against scipy.integrate.Radau
step by step, and against fastode.solve_ivp(method="Radau") (the whole-interval kernel) bit for
bit. LSODA runs fastode's own switching: its steps are checked against
fastode.solve_ivp(method="LSODA") bit for bit.
"""
import warnings

import numpy as np
import pytest
import scipy.integrate

import fastode
from fastode.solvers import LSODA, OdeSolver, Radau
from test_radau import (HIRES_T1, HIRES_Y0, blow_up, hires, nan_after_one, robertson,
                        robertson_jac, vdp1000)

ROB = (robertson, 0.0, [1.0, 0.0, 0.0], 1e5)
HIRES = (hires, 0.0, HIRES_Y0, HIRES_T1)
VDP = (vdp1000, 0.0, [2.0, 0.0], 3000.0)


def lotka_volterra(t, y):
    return np.array([1.5 * y[0] - y[0] * y[1], -3.0 * y[1] + y[0] * y[1]])


def run(solver):
    """Step to the end; returns (t, y (n, k), [(nfev, njev, nlu) after each step])."""
    ts, ys, counts = [solver.t], [np.array(solver.y)], []
    while solver.status == "running":
        message = solver.step()
        assert message is None, message
        ts.append(solver.t)
        ys.append(np.array(solver.y))
        counts.append((solver.nfev, solver.njev, solver.nlu))
    return np.array(ts), np.array(ys).T, counts


# ---- Radau ------------------------------------------------------------------------------------

@pytest.mark.parametrize("problem,rtol,atol", [(ROB, 1e-6, 1e-10), (ROB, 1e-3, 1e-6),
                                               (HIRES, 1e-6, 1e-9), (HIRES, 1e-4, 1e-7)])
def test_radau_steps_as_scipy(problem, rtol, atol):
    fun, t0, y0, t1 = problem
    t, y, counts = run(Radau(fun, t0, y0, t1, rtol=rtol, atol=atol))
    t_ref, y_ref, counts_ref = run(scipy.integrate.Radau(fun, t0, y0, t1, rtol=rtol, atol=atol))
    assert t.size == t_ref.size
    # the same steps, with the same work at each; rounding differences of the LU solves
    # (pivoting, summation order) reach ~1e-6 late in the integration
    assert counts == counts_ref
    np.testing.assert_allclose(t, t_ref, rtol=2e-5, atol=1e-12)
    np.testing.assert_allclose(y, y_ref, rtol=2e-5, atol=10 * atol)


def test_radau_vdp_close_to_scipy():
    """Van der Pol mu=1e3: the same steps until rounding makes them drift apart (late)."""
    fun, t0, y0, t1 = VDP
    t, y, counts = run(Radau(fun, t0, y0, t1, rtol=1e-6, atol=1e-9))
    t_ref, y_ref, counts_ref = run(scipy.integrate.Radau(fun, t0, y0, t1, rtol=1e-6,
                                                         atol=1e-9))
    assert counts[:400] == counts_ref[:400]
    np.testing.assert_allclose(t[:400], t_ref[:400], rtol=1e-6)
    np.testing.assert_allclose(y[:, -1], y_ref[:, -1], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("problem,rtol,atol,jac", [(ROB, 1e-6, 1e-10, None),
                                                   (ROB, 1e-6, 1e-10, robertson_jac),
                                                   (HIRES, 1e-6, 1e-9, None),
                                                   (VDP, 1e-6, 1e-9, None)])
def test_radau_equals_solve_ivp(problem, rtol, atol, jac):
    """The resumable kernel (radau_advance) takes radau_solve's steps, bit for bit."""
    fun, t0, y0, t1 = problem
    solver = Radau(fun, t0, y0, t1, rtol=rtol, atol=atol, jac=jac)
    t, y, _ = run(solver)
    ref = fastode.solve_ivp(fun, (t0, t1), y0, method="Radau", rtol=rtol, atol=atol, jac=jac)
    np.testing.assert_array_equal(t, ref.t)
    np.testing.assert_array_equal(y, ref.y)
    assert (solver.nfev, solver.njev, solver.nlu, solver.naccept, solver.nreject) == (
        ref.nfev, ref.njev, ref.nlu, ref.naccept, ref.nreject)


def test_radau_user_jac_counters_as_scipy():
    fun, t0, y0, t1 = ROB
    solver = Radau(fun, t0, y0, t1, rtol=1e-6, atol=1e-10, jac=robertson_jac)
    t, y, counts = run(solver)
    t_ref, y_ref, counts_ref = run(scipy.integrate.Radau(fun, t0, y0, t1, rtol=1e-6,
                                                         atol=1e-10, jac=robertson_jac))
    assert counts == counts_ref
    np.testing.assert_allclose(t, t_ref, rtol=2e-5)


def test_radau_dense_output_and_attributes():
    fun, t0, y0, t1 = HIRES
    ref = fastode.solve_ivp(fun, (t0, t1), y0, method="Radau", rtol=1e-6, atol=1e-9,
                            dense_output=True)
    sp = scipy.integrate.Radau(fun, t0, y0, t1, rtol=1e-6, atol=1e-9)
    solver = Radau(fun, t0, y0, t1, rtol=1e-6, atol=1e-9)
    assert isinstance(solver, OdeSolver) and isinstance(solver, scipy.integrate.OdeSolver)
    assert solver.n == 8 and solver.h_abs_old is None and solver.error_norm_old is None
    assert solver.newton_tol == sp.newton_tol and solver.h_abs == pytest.approx(sp.h_abs)
    np.testing.assert_allclose(solver.J, sp.J, rtol=1e-7, atol=1e-12)
    np.testing.assert_array_equal(solver.f, hires(t0, HIRES_Y0))
    with pytest.raises(RuntimeError):
        solver.dense_output()
    k = 0
    while solver.status == "running":
        y_before = solver.y.copy()
        solver.step()
        sp.step()
        np.testing.assert_array_equal(solver.y_old, y_before)
        assert solver.step_size == pytest.approx(sp.step_size, rel=2e-5)
        assert solver.current_jac == sp.current_jac
        assert solver.h_abs_old == pytest.approx(sp.h_abs_old, rel=2e-5)
        sol = solver.dense_output()
        assert (sol.t_old, sol.t) == (solver.t_old, solver.t)
        tt = solver.t_old + np.array([0.0, 0.3, 0.7, 1.0]) * (solver.t - solver.t_old)
        np.testing.assert_allclose(sol(tt), ref.sol(tt), rtol=1e-13, atol=1e-18)
        np.testing.assert_allclose(sol(tt), sp.dense_output()(tt), rtol=1e-5, atol=1e-12)
        np.testing.assert_allclose(sol(solver.t), solver.y, rtol=1e-14, atol=1e-20)
        k += 1
    assert k == ref.t.size - 1
    with pytest.raises(RuntimeError):
        solver.step()


def test_scipy_solve_ivp_drives_radau():
    fun, t0, y0, t1 = ROB
    res = scipy.integrate.solve_ivp(fun, (t0, t1), y0, method=Radau, rtol=1e-6, atol=1e-10,
                                    dense_output=True)
    ref = fastode.solve_ivp(fun, (t0, t1), y0, method="Radau", rtol=1e-6, atol=1e-10,
                            dense_output=True)
    assert res.success
    np.testing.assert_array_equal(res.t, ref.t)
    np.testing.assert_array_equal(res.y, ref.y)
    assert (res.nfev, res.njev, res.nlu) == (ref.nfev, ref.njev, ref.nlu)
    tt = np.logspace(-4, 5, 30)
    np.testing.assert_allclose(res.sol(tt), ref.sol(tt), rtol=1e-13, atol=1e-20)


def test_radau_backward_and_max_step_and_first_step():
    kw = dict(rtol=1e-5, atol=1e-8, max_step=0.5, first_step=1e-3)
    t, y, _ = run(Radau(lotka_volterra, 5.0, [1.0, 2.0], 0.0, **kw))
    ref = fastode.solve_ivp(lotka_volterra, (5.0, 0.0), [1.0, 2.0], method="Radau", **kw)
    np.testing.assert_array_equal(t, ref.t)
    np.testing.assert_array_equal(y, ref.y)
    assert np.all(np.abs(np.diff(t)) <= 0.5) and t[1] == 5.0 - 1e-3 and t[-1] == 0.0
    t_ref, y_ref, _ = run(scipy.integrate.Radau(lotka_volterra, 5.0, [1.0, 2.0], 0.0, **kw))
    assert t.size == t_ref.size  # scipy: the same steps up to rounding
    np.testing.assert_allclose(t, t_ref, rtol=1e-6)


def test_radau_complex_state():
    def rot(t, y):
        return np.array([-1j * 5.0 * y[0] - y[0], -0.5 * y[1]])
    y0 = np.array([1.0 + 0.5j, 2.0 - 1j])
    solver = Radau(rot, 0.0, y0, 2.0, rtol=1e-8, atol=1e-10)
    t, y, _ = run(solver)
    assert y.dtype == np.complex128 and solver.y.dtype == np.complex128
    exact = np.array([y0[0] * np.exp((-5j - 1) * 2.0), y0[1] * np.exp(-0.5 * 2.0)])
    np.testing.assert_allclose(y[:, -1], exact, rtol=1e-6)
    ref = fastode.solve_ivp(rot, (0.0, 2.0), y0, method="Radau", rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(y, ref.y)
    assert solver.dense_output()(2.0).dtype == np.complex128
    # a complex jac is df/dz, as in scipy (it was rejected before)
    with_jac = Radau(rot, 0.0, y0, 2.0, rtol=1e-8, atol=1e-10,
                     jac=lambda t, y: np.diag([-5j - 1.0, -0.5 + 0j]))
    t_j, y_j, _ = run(with_jac)
    assert with_jac.njev >= 1
    np.testing.assert_allclose(y_j[:, -1], exact, rtol=1e-6)


@pytest.mark.parametrize("kwargs,error", [
    (dict(max_step=0.0), ValueError), (dict(max_step=-1.0), ValueError),
    (dict(first_step=0.0), ValueError), (dict(first_step=2.0), ValueError),
    (dict(rtol=-1.0), ValueError), (dict(atol=[1e-6, 1e-6]), ValueError),
    (dict(jac=np.eye(2)), ValueError), (dict(jac_sparsity=np.ones((2, 2))), ValueError),
    (dict(jac=lambda t, y: np.eye(2)), ValueError)])
def test_radau_bad_input(kwargs, error):
    with pytest.raises(error):
        Radau(robertson, 0.0, [1.0, 0.0, 0.0], 1.0, **kwargs)


def test_radau_bad_fun_and_y0_and_extraneous():
    with pytest.raises(TypeError):
        Radau(None, 0.0, [1.0], 1.0)
    with pytest.raises(ValueError):
        Radau(robertson, 0.0, np.ones((3, 1)), 1.0)
    with pytest.warns(UserWarning, match="no effect"):
        Radau(robertson, 0.0, [1.0, 0.0, 0.0], 1.0, banana=3)


def test_radau_failing_steps_set_failed_status():
    # f turns NaN at t = 1: the step collapses there
    solver = Radau(nan_after_one, 0.0, [1.0], 2.0)
    while solver.status == "running":
        message = solver.step()
    assert solver.status == "failed" and message
    assert 0.9 < solver.t <= 1.0 and np.isfinite(solver.y).all()
    # y = 1 / (1 - t) blows up at t = 1
    solver = Radau(blow_up, 0.0, [1.0], 2.0)
    while solver.status == "running":
        message = solver.step()
    assert solver.status == "failed" and message and 0.99 < solver.t < 1.01
    # a non-finite f(t0, y0) fails at the first step
    solver = Radau(lambda t, y: np.array([np.nan]), 0.0, [1.0], 1.0)
    assert solver.step() and solver.status == "failed" and solver.t == 0.0


def test_radau_empty_interval():
    solver = Radau(robertson, 1.0, [1.0, 0.0, 0.0], 1.0)
    assert solver.step() is None and solver.status == "finished" and solver.t == 1.0


# ---- LSODA ------------------------------------------------------------------------------------

def _lsoda_against_solve_ivp(fun, t0, y0, t1, **kw):
    solver = LSODA(fun, t0, y0, t1, **kw)
    ts, ys, methods = [solver.t], [solver.y.copy()], []
    while solver.status == "running":
        assert solver.step() is None
        ts.append(solver.t)
        ys.append(solver.y.copy())
        methods.append(solver.method_in_use)
    ref = fastode.solve_ivp(fun, (t0, t1), y0, method="LSODA", **kw)
    np.testing.assert_array_equal(np.array(ts), ref.t)
    np.testing.assert_array_equal(np.array(ys).T, ref.y)
    assert (solver.nfev, solver.njev, solver.nlu, solver.naccept, solver.nreject) == (
        ref.nfev, ref.njev, ref.nlu, ref.naccept, ref.nreject)
    names = {"explicit": "RK45", "stiff": "Rodas4"}
    assert [(t, names[a], names[b]) for t, a, b in solver.switches] == ref.method_switches
    assert solver.n_switches == len(ref.method_switches)
    return solver, methods


def test_lsoda_vdp_switches_as_solve_ivp():
    fun, t0, y0, t1 = VDP
    solver, methods = _lsoda_against_solve_ivp(fun, t0, y0, t1, rtol=1e-6, atol=1e-9)
    assert solver.switches[0][1:] == ("explicit", "stiff") and solver.switches[0][0] < 1.0
    assert methods[0] == "explicit" and "stiff" in methods
    # each switch takes effect at the next step: one change of method per switch
    changes = sum(a != b for a, b in zip(methods, methods[1:]))
    assert changes == solver.n_switches >= 3


def test_lsoda_non_stiff_stays_explicit_and_equals_rk45():
    solver, methods = _lsoda_against_solve_ivp(lotka_volterra, 0.0, [10.0, 5.0], 15.0,
                                               rtol=1e-6, atol=1e-9)
    assert solver.switches == [] and set(methods) == {"explicit"}
    assert solver.njev == 0 and solver.nlu == 0
    ref = fastode.solve_ivp(lotka_volterra, (0.0, 15.0), [10.0, 5.0], method="RK45",
                            rtol=1e-6, atol=1e-9)
    assert solver.nfev == ref.nfev and solver.t == 15.0
    np.testing.assert_array_equal(solver.y, ref.y[:, -1])


def test_lsoda_robertson_jac_band_and_options():
    fun, t0, y0, t1 = ROB
    _lsoda_against_solve_ivp(fun, t0, y0, t1, rtol=1e-6, atol=1e-10, jac=robertson_jac)
    _lsoda_against_solve_ivp(fun, t0, y0, t1, rtol=1e-6, atol=1e-10, lband=1, uband=1,
                             first_step=1e-6, max_step=1e4)
    _lsoda_against_solve_ivp(fun, t1, y0, t0, rtol=1e-4, atol=1e-8)  # backwards


def test_lsoda_dense_output_as_solve_ivp():
    fun, t0, y0, t1 = VDP
    t1 = 900.0  # explicit, stiff, explicit (a relaxation jump), stiff
    ref = fastode.solve_ivp(fun, (t0, t1), y0, method="LSODA", rtol=1e-6, atol=1e-9,
                            dense_output=True)
    solver = LSODA(fun, t0, y0, t1, rtol=1e-6, atol=1e-9)
    seen = set()
    while solver.status == "running":
        solver.step()
        seen.add(solver.method_in_use)
        sol = solver.dense_output()
        tt = solver.t_old + np.array([0.0, 0.25, 0.8, 1.0]) * (solver.t - solver.t_old)
        np.testing.assert_allclose(sol(tt), ref.sol(tt), rtol=1e-12, atol=1e-14)
    assert seen == {"explicit", "stiff"}


def test_lsoda_defaults_errors_and_failure():
    solver = LSODA(lotka_volterra, 0.0, [10.0, 5.0], 1.0)
    assert solver.atol == 1e-12 and solver.rtol == 1e-3 and solver.min_step == 0.0
    assert solver.method_in_use == "explicit"
    with pytest.raises(ValueError):
        LSODA(lotka_volterra, 0.0, [10.0, 5.0], 1.0, min_step=-1.0)
    with pytest.raises(ValueError):
        LSODA(lotka_volterra, 0.0, [10.0, 5.0], 1.0, lband=1)
    with pytest.warns(UserWarning, match="no effect"):
        LSODA(lotka_volterra, 0.0, [10.0, 5.0], 1.0, mass=np.eye(2))
    solver = LSODA(nan_after_one, 0.0, [1.0], 2.0)
    while solver.status == "running":
        message = solver.step()
    assert solver.status == "failed" and message and 0.9 < solver.t <= 1.0
    # min_step: a step below it fails
    solver = LSODA(blow_up, 0.0, [1.0], 2.0, min_step=1e-3)
    while solver.status == "running":
        message = solver.step()
    assert solver.status == "failed" and solver.t < 1.0


def test_scipy_solve_ivp_drives_lsoda():
    res = scipy.integrate.solve_ivp(vdp1000, (0.0, 3000.0), [2.0, 0.0], method=LSODA,
                                    rtol=1e-6, atol=1e-9)
    ref = fastode.solve_ivp(vdp1000, (0.0, 3000.0), [2.0, 0.0], method="LSODA", rtol=1e-6,
                            atol=1e-9)
    assert res.success
    np.testing.assert_array_equal(res.t, ref.t)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LSODA(vdp1000, 0.0, [2.0, 0.0], 1.0)  # compiled: no fallback warning


# ---- the classes as `method=` of fastode.solve_ivp ----------------------------------------------

@pytest.mark.parametrize("cls,name", [(fastode.Radau, "Radau"), (fastode.BDF, "BDF"),
                                      (fastode.LSODA, "LSODA")])
def test_fastode_solve_ivp_runs_the_compiled_driver_of_a_class(cls, name):
    """method=<fastode class> is the compiled whole-interval driver of that method (no warning,
    no detour through scipy's solve_ivp): the same result as method=<its name>."""
    fun, t0, y0, t1 = ROB
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        by_class = fastode.solve_ivp(fun, (t0, t1), y0, method=cls, rtol=1e-6, atol=1e-10)
    by_name = fastode.solve_ivp(fun, (t0, t1), y0, method=name, rtol=1e-6, atol=1e-10)
    assert by_class.success
    np.testing.assert_array_equal(by_class.t, by_name.t)
    np.testing.assert_array_equal(by_class.y, by_name.y)
    assert (by_class.nfev, by_class.njev, by_class.nlu) == (by_name.nfev, by_name.njev,
                                                             by_name.nlu)
