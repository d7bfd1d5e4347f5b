"""Rosenbrock methods (Rodas4, Rodas5P, Rosenbrock23): order, standard stiff problems, mass
matrices.

References are scipy's Radau at tight tolerances (computed once per session). The stiff test
problems are module-level functions (compiled by numba once per session) that the other stiff
test modules import.
"""
import functools

import numpy as np
import pytest
import scipy.integrate
from scipy.linalg import expm

import fastode
from fastode.tableaus.rosenbrock import RODAS4, RODAS5P, validate

ROSENBROCK = ("Rodas4", "Rodas5P", "Rosenbrock23")
ORDER = {"Rodas4": 4, "Rodas5P": 5, "Rosenbrock23": 2}
# error / tolerance reached on the standard problems: Rosenbrock23 advances its order-2
# solution with an order-3 estimate (as MATLAB's ode23s), so it is the less accurate of the two
ACCURACY = {"Rodas4": 30, "Rodas5P": 30, "Rosenbrock23": 300}

# ---- problems ---------------------------------------------------------------------------------


def robertson(t, y):
    return np.array([-0.04 * y[0] + 1e4 * y[1] * y[2],
                     0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                     3e7 * y[1] ** 2])


def robertson_jac(t, y):
    return np.array([[-0.04, 1e4 * y[2], 1e4 * y[1]],
                     [0.04, -1e4 * y[2] - 6e7 * y[1], -1e4 * y[1]],
                     [0.0, 6e7 * y[1], 0.0]])


def robertson_dae(t, y):
    """Robertson with the conservation law as its algebraic equation (mass diag(1, 1, 0))."""
    return np.array([-0.04 * y[0] + 1e4 * y[1] * y[2],
                     0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                     y[0] + y[1] + y[2] - 1.0])


def van_der_pol(t, y, mu):
    return np.array([y[1], mu * ((1.0 - y[0] ** 2) * y[1]) - y[0]])


def hires(t, y):
    return np.array([
        -1.71 * y[0] + 0.43 * y[1] + 8.32 * y[2] + 0.0007,
        1.71 * y[0] - 8.75 * y[1],
        -10.03 * y[2] + 0.43 * y[3] + 0.035 * y[4],
        8.32 * y[1] + 1.71 * y[2] - 1.12 * y[3],
        -1.745 * y[4] + 0.43 * y[5] + 0.43 * y[6],
        -280.0 * y[5] * y[7] + 0.69 * y[3] + 1.71 * y[4] - 0.43 * y[5] + 0.69 * y[6],
        280.0 * y[5] * y[7] - 1.81 * y[6],
        -280.0 * y[5] * y[7] + 1.81 * y[6],
    ])


HIRES_Y0 = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0057]
HIRES_T = 321.8122

# linear, non-autonomous, stiffness ratio 20: y' = L (y - phi(t)) + phi'(t)
LIN_L = np.array([[-2.0, 1.0], [1.0, -20.0]])


def linear_forced(t, y):
    s, c = np.sin(t), np.cos(t)
    return np.array([-2.0 * (y[0] - s) + (y[1] - c) + c,
                     (y[0] - s) - 20.0 * (y[1] - c) - s])


def linear_forced_exact(t, y0=(1.0, 0.0)):
    phi = np.array([np.sin(t), np.cos(t)])
    return phi + expm(LIN_L * t) @ (np.asarray(y0) - np.array([0.0, 1.0]))


@functools.lru_cache(maxsize=None)
def radau_reference(name):
    fun, t_span, y0, args = {
        "robertson": (robertson, (0.0, 1e5), [1.0, 0.0, 0.0], ()),
        "vdp": (van_der_pol, (0.0, 3000.0), [2.0, 0.0], (1000.0,)),
        "hires": (hires, (0.0, HIRES_T), HIRES_Y0, ()),
    }[name]
    return scipy.integrate.solve_ivp(fun, t_span, y0, method="Radau", rtol=1e-11, atol=1e-14,
                                     args=args, dense_output=True)


# ---- tableau and order -----------------------------------------------------------------------

def test_rodas4_tableau_structure():
    assert validate(RODAS4) == []
    # c_5 = c_6 = 1 (stiffly accurate: the last two stages are evaluated at t + h)
    assert RODAS4.c[4] == RODAS4.c[5] == 1.0


def test_rodas5p_tableau_structure():
    assert validate(RODAS5P) == []
    # stages 6-8 at t + h; y_new - (the embedded solution) = the last stage
    assert np.all(RODAS5P.c[5:] == 1.0) and RODAS5P.E.tolist() == [0.0] * 7 + [1.0]


@pytest.mark.parametrize("method", ROSENBROCK)
def test_convergence_order(method):
    """Fixed steps h = 1/N (max_step = first_step = h, loose tolerances never reject)."""
    steps, errors = [], []
    # order 5 reaches the rounding floor (~2e-12 here) near h = 1/64: coarser steps for it
    for N in (8, 16, 32) if ORDER[method] >= 5 else (16, 32, 64, 128):
        h = 1.0 / N
        sol = fastode.solve_ivp(linear_forced, (0.0, 1.0), [1.0, 0.0], method=method,
                                first_step=h, max_step=h, rtol=1e3, atol=1e3)
        assert sol.success and sol.nreject == 0
        steps.append(h)
        errors.append(np.max(np.abs(sol.y[:, -1] - linear_forced_exact(1.0))))
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    # pre-asymptotic (h |lambda| up to 1.25) the error falls a little faster than h^p
    assert ORDER[method] - 0.3 < slope < ORDER[method] + 0.6, (slope, errors)


@pytest.mark.parametrize("method", ROSENBROCK)
def test_dense_output_accuracy(method):
    sol = fastode.solve_ivp(linear_forced, (0.0, 3.0), [1.0, 0.0], method=method, rtol=1e-8,
                            atol=1e-10, dense_output=True)
    ts = np.linspace(0.0, 3.0, 37)
    exact = np.array([linear_forced_exact(t) for t in ts]).T
    assert np.max(np.abs(sol.sol(ts) - exact)) < 1e-5
    # t_eval uses the same interpolant
    sol2 = fastode.solve_ivp(linear_forced, (0.0, 3.0), [1.0, 0.0], method=method, rtol=1e-8,
                             atol=1e-10, t_eval=ts)
    np.testing.assert_allclose(sol2.y, sol.sol(ts), rtol=1e-12, atol=1e-14)


# ---- standard stiff problems -----------------------------------------------------------------

def _scaled_error(y, ref, rtol, atol):
    return np.max(np.abs(y - ref) / (atol + rtol * np.abs(ref)))


@pytest.mark.parametrize("method", ROSENBROCK)
def test_robertson(method):
    ref = radau_reference("robertson")
    ts = np.array([1e-3, 1.0, 40.0, 1e3, 1e4, 1e5])
    rtol, atol = 1e-6, 1e-10
    sol = fastode.solve_ivp(robertson, (0.0, 1e5), [1.0, 0.0, 0.0], method=method, rtol=rtol,
                            atol=atol, t_eval=ts)
    assert sol.success, sol.message
    np.testing.assert_allclose(sol.y.sum(axis=0), 1.0, atol=1e-12)
    err = _scaled_error(sol.y, ref.sol(ts), rtol, atol)
    assert err < ACCURACY[method], err
    assert sol.njev > 0 and sol.nlu >= sol.naccept


@pytest.mark.parametrize("method", ROSENBROCK)
def test_van_der_pol_stiff(method):
    ref = radau_reference("vdp")
    rtol, atol = 1e-6, 1e-8
    sol = fastode.solve_ivp(van_der_pol, (0.0, 3000.0), [2.0, 0.0], method=method, rtol=rtol,
                            atol=atol, args=(1000.0,))
    assert sol.success, sol.message
    # the solution jumps on a time scale of 1/mu: compare the end point (past the second jump)
    err = _scaled_error(sol.y[0, -1], ref.y[0, -1], rtol, atol)
    assert err < 3 * ACCURACY[method], err
    assert sol.naccept < {"Rodas4": 2000, "Rodas5P": 2000, "Rosenbrock23": 8000}[method]


@pytest.mark.parametrize("method", ROSENBROCK)
def test_hires(method):
    ref = radau_reference("hires")
    rtol, atol = 1e-7, 1e-10
    ts = np.array([1.0, 10.0, 100.0, HIRES_T])
    sol = fastode.solve_ivp(hires, (0.0, HIRES_T), HIRES_Y0, method=method, rtol=rtol,
                            atol=atol, t_eval=ts)
    assert sol.success, sol.message
    err = _scaled_error(sol.y, ref.sol(ts), rtol, atol)
    assert err < ACCURACY[method], err


@pytest.mark.parametrize("rtol", [1e-5, 1e-8])
def test_rodas5p_fewer_steps_than_rodas4_at_tight_tolerances(rtol):
    """Order 5 pays at tight tolerances (Steinebach 2023): fewer steps, same accuracy class."""
    ref = radau_reference("hires")
    ts = np.array([1.0, 10.0, 100.0, HIRES_T])
    atol = rtol * 1e-3
    sols = {m: fastode.solve_ivp(hires, (0.0, HIRES_T), HIRES_Y0, method=m, rtol=rtol,
                                 atol=atol, t_eval=ts) for m in ("Rodas4", "Rodas5P")}
    assert all(s.success for s in sols.values())
    assert sols["Rodas5P"].naccept < 0.8 * sols["Rodas4"].naccept
    assert _scaled_error(sols["Rodas5P"].y, ref.sol(ts), rtol, atol) < ACCURACY["Rodas5P"]


def test_tight_tolerance_agrees_with_radau():
    ref = radau_reference("hires")
    sol = fastode.solve_ivp(hires, (0.0, HIRES_T), HIRES_Y0, method="Rodas4", rtol=1e-10,
                            atol=1e-13)
    np.testing.assert_allclose(sol.y[:, -1], ref.y[:, -1], rtol=2e-7, atol=1e-11)


# ---- mass matrices and DAEs ------------------------------------------------------------------

@pytest.mark.parametrize("method", ROSENBROCK)
def test_constant_nonsingular_mass(method):
    """M y' = M f(y) has the same solution as y' = f(y)."""
    M = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 0.0], [1.0, 0.0, 1.0]])

    def scaled(t, y):
        f0 = -0.04 * y[0] + 1e4 * y[1] * y[2]
        f1 = 0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2
        f2 = 3e7 * y[1] ** 2
        return np.array([2.0 * f0 + f1, 3.0 * f1, f0 + f2])

    ts = np.array([1.0, 100.0, 1e4])
    a = fastode.solve_ivp(scaled, (0.0, 1e4), [1.0, 0.0, 0.0], method=method, rtol=1e-7,
                          atol=1e-11, t_eval=ts, mass=M)
    b = fastode.solve_ivp(robertson, (0.0, 1e4), [1.0, 0.0, 0.0], method=method, rtol=1e-7,
                          atol=1e-11, t_eval=ts)
    assert a.success, a.message
    assert _scaled_error(a.y, b.y, 1e-7, 1e-11) < ACCURACY[method]


@pytest.mark.parametrize("method", ROSENBROCK)
def test_robertson_dae_singular_mass(method):
    M = np.diag([1.0, 1.0, 0.0])
    ts = np.array([1e-2, 1.0, 100.0, 1e4, 1e5])
    rtol, atol = 1e-7, 1e-11
    dae = fastode.solve_ivp(robertson_dae, (0.0, 1e5), [1.0, 0.0, 0.0], method=method,
                            rtol=rtol, atol=atol, t_eval=ts, mass=M, dense_output=True)
    assert dae.success, dae.message
    np.testing.assert_allclose(dae.y.sum(axis=0), 1.0, atol=1e-12)
    ref = radau_reference("robertson")
    assert _scaled_error(dae.y, ref.sol(ts), rtol, atol) < 2 * ACCURACY[method]
    # the dense output honours the algebraic constraint too (to the interpolation error)
    tt = np.geomspace(1e-3, 1e5, 30)
    assert np.max(np.abs(dae.sol(tt).sum(axis=0) - 1.0)) < 1e-6


# ---- events, t_eval, backwards ---------------------------------------------------------------

@pytest.mark.parametrize("method", ROSENBROCK)
def test_events_on_stiff_problem(method):
    def y3_half(t, y):
        return y[2] - 0.5

    y3_half.terminal = True
    sol = fastode.solve_ivp(robertson, (0.0, 1e5), [1.0, 0.0, 0.0], method=method, rtol=1e-8,
                            atol=1e-12, events=y3_half)
    assert sol.status == 1
    ref = scipy.integrate.solve_ivp(robertson, (0.0, 1e5), [1.0, 0.0, 0.0], method="Radau",
                                    rtol=1e-10, atol=1e-14, events=y3_half)
    np.testing.assert_allclose(sol.t_events[0], ref.t_events[0], rtol=1e-4)
    assert sol.t[-1] == sol.t_events[0][0]


def decay(t, y):
    return np.array([-0.5 * y[0], -y[1] + np.cos(t)])


@pytest.mark.parametrize("method", ROSENBROCK)
def test_backwards_integration(method):
    sol = fastode.solve_ivp(decay, (2.0, 0.0), [1.0, 0.5], method=method, rtol=1e-9,
                            atol=1e-12)
    assert sol.success
    assert np.all(np.diff(sol.t) < 0)
    ref = scipy.integrate.solve_ivp(decay, (2.0, 0.0), [1.0, 0.5], method="DOP853",
                                    rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sol.y[:, -1], ref.y[:, -1], rtol=1e-6)
