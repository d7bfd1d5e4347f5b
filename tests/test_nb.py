"""fastode.nb: the kernels called from the user's own numba code."""
import numba
import numpy as np
import pytest

import fastode
import fastode.nb as fnb


def lotka_volterra(t, y, p):
    return np.array([p[0] * y[0] - p[1] * y[0] * y[1], -p[2] * y[1] + p[3] * y[0] * y[1]])


def decay(t, y):
    return -y


@numba.njit
def _final_states(address, params, tableau, y0, rtol, atol, step):
    out = np.empty((params.shape[0], y0.shape[0]))
    status = np.empty(params.shape[0], dtype=np.int64)
    for i in range(params.shape[0]):
        s, y = fnb.solve_final(address, params[i], 0.0, 15.0, y0, rtol, atol, tableau, step)
        status[i] = s
        out[i] = y
    return status, out


@numba.njit
def _at_times(address, p, tableau, y0, t_eval):
    return fnb.solve(address, p, 0.0, 15.0, y0, 1e-8, 1e-10, tableau, t_eval)


RHS = fnb.compile_rhs(lotka_volterra, n=2, n_params=4)
PARAMS = np.array([1.5, 1.0, 3.0, 1.0]) * np.random.default_rng(1).uniform(0.8, 1.2, (5, 4))
Y0 = np.array([10.0, 5.0])


@pytest.mark.parametrize("method", ["RK45", "DOP853", "Tsit5"])
def test_solve_final_in_njit_loop_equals_solve_ivp(method):
    status, out = _final_states(RHS.address, PARAMS, fnb.tableau(method), Y0, 1e-7, 1e-10, 0.0)
    assert np.all(status == 0)
    for i in range(PARAMS.shape[0]):
        ref = fastode.solve_ivp(lotka_volterra, (0.0, 15.0), Y0, method=method,
                                args=(PARAMS[i],), rtol=1e-7, atol=1e-10)
        np.testing.assert_array_equal(out[i], ref.y[:, -1])


def test_solve_at_t_eval_equals_solve_ivp():
    t_eval = np.linspace(0.0, 15.0, 31)
    status, y = _at_times(RHS.address, PARAMS[0], fnb.tableau("RK45"), Y0, t_eval)
    ref = fastode.solve_ivp(lotka_volterra, (0.0, 15.0), Y0, args=(PARAMS[0],), t_eval=t_eval,
                            rtol=1e-8, atol=1e-10)
    assert status == 0
    np.testing.assert_array_equal(y, ref.y.T)


def test_fixed_step_method_through_nb():
    rhs = fnb.compile_rhs(decay, n=1)
    status, out = _final_states(rhs.address, np.zeros((1, 1)), fnb.tableau("euler"),
                                np.array([1.0]), 1e-3, 1e-6, 0.005)
    # the lecture's Euler example: 1000 steps of 0.005 from 0 to 5 would give 0.995**1000;
    # here the interval is 0..15, so 3000 steps
    assert status[0] == 0
    np.testing.assert_allclose(out[0, 0], 0.995 ** 3000, rtol=1e-12)


class _Rates:
    k = 1.0


_RATES = _Rates()


def uses_a_python_object(t, y, p):
    return np.array([-_RATES.k * y[0]])


def test_compile_rhs_rejects_what_numba_cannot_compile():
    with pytest.warns(fastode.FallbackWarning):
        with pytest.raises(TypeError, match="fun"):
            fnb.compile_rhs(uses_a_python_object, n=1, n_params=1)


@pytest.mark.parametrize("n, n_params", [(0, 1), (-1, 0), (2, -1), (1.5, 0)])
def test_compile_rhs_bad_sizes(n, n_params):
    with pytest.raises(ValueError):
        fnb.compile_rhs(decay, n=n, n_params=n_params)


def test_tableau_unknown_method():
    with pytest.raises(ValueError, match="method"):
        fnb.tableau("no-such-method")


# ---- stiff: Rosenbrock methods from numba code -----------------------------------------------

def van_der_pol(t, y, p):
    return np.array([y[1], p[0] * ((1.0 - y[0] * y[0]) * y[1]) - y[0]])


def van_der_pol_args(t, y, mu):
    return np.array([y[1], mu * ((1.0 - y[0] * y[0]) * y[1]) - y[0]])


@numba.njit
def _stiff_final_states(address, mus, stiff, y0, t1, rtol, atol):
    out = np.empty((mus.shape[0], y0.shape[0]))
    status = np.empty(mus.shape[0], dtype=np.int64)
    for i in range(mus.shape[0]):
        s, y = fnb.solve_stiff_final(address, mus[i:i + 1], 0.0, t1, y0, rtol, atol, stiff)
        status[i] = s
        out[i] = y
    return status, out


@numba.njit
def _stiff_at_times(address, p, stiff, y0, t_eval):
    return fnb.solve_stiff(address, p, 0.0, t_eval[-1], y0, 1e-6, 1e-8, stiff, t_eval)


VDP = fnb.compile_rhs(van_der_pol, n=2, n_params=1)
MUS = np.array([10.0, 100.0, 1000.0])


@pytest.mark.parametrize("method", ["Rodas5P", "Rodas4", "Rosenbrock23"])
def test_solve_stiff_final_in_njit_loop_equals_solve_ivp(method):
    y0 = np.array([2.0, 0.0])
    status, out = _stiff_final_states(VDP.address, MUS, fnb.stiff_tableau(method), y0, 3000.0,
                                      1e-6, 1e-8)
    assert np.all(status == 0)
    for i, mu in enumerate(MUS):
        ref = fastode.solve_ivp(van_der_pol_args, (0.0, 3000.0), y0, method=method,
                                args=(mu,), rtol=1e-6, atol=1e-8)
        assert ref.success
        np.testing.assert_array_equal(out[i], ref.y[:, -1])


def test_solve_stiff_at_t_eval_equals_solve_ivp():
    t_eval = np.linspace(0.0, 2000.0, 21)
    y0 = np.array([2.0, 0.0])
    status, y, counters = _stiff_at_times(VDP.address, np.array([1000.0]),
                                          fnb.stiff_tableau("Rodas5P"), y0, t_eval)
    ref = fastode.solve_ivp(van_der_pol_args, (0.0, 2000.0), y0, method="Rodas5P",
                            args=(1000.0,), t_eval=t_eval, rtol=1e-6, atol=1e-8)
    assert status == 0
    np.testing.assert_array_equal(y, ref.y.T)
    assert (counters[0], counters[1], counters[2], counters[4], counters[5]) == (
        ref.nfev, ref.naccept, ref.nreject, ref.njev, ref.nlu)


def test_solve_stiff_reports_failure():
    # a NaN state: every step is rejected until the step size underflows (status < 0, NaN out)
    rhs = fnb.compile_rhs(decay, n=1)
    status, out = _stiff_final_states(rhs.address, np.zeros(1), fnb.stiff_tableau("Rodas4"),
                                      np.array([np.nan]), 1.0, 1e-6, 1e-8)
    assert status[0] < 0 and np.isnan(out[0, 0])


def test_stiff_tableau_rejects_other_families():
    with pytest.raises(ValueError, match="Rosenbrock"):
        fnb.stiff_tableau("Radau")
    with pytest.raises(ValueError, match="Rosenbrock"):
        fnb.stiff_tableau("RK45")
    assert fnb.stiff_tableau("rodas5p").error_order == 4
