"""User functions that misbehave inside a solve (issue #10): exceptions, NaN, wrong output length.

scipy's solve_ivp lets an exception from ``fun``, ``jac`` or an event propagate, and a wrong
output length fails with a ValueError from broadcasting. fastode calls these functions from
compiled code, where an exception cannot propagate: the tests check that it is re-raised after
the kernel returns (type and message, once, nothing on stderr), that no event is reported that
was not found, and that no failure makes a solve loop forever or return ``success=True``.
"""
import warnings

import numpy as np
import pytest

import fastode
from fastode.rhs import FallbackWarning

G = 9.81
H0 = 26.0
T_LAND = np.sqrt(2 * H0 / G)  # 2.30: where the ball lands
T_FAIL = 1.0  # the user functions below fail after this time

# every driver family: explicit, Radau, BDF, Rosenbrock, ESDIRK, switching
METHODS = ["RK45", "Radau", "BDF", "Rodas5P", "KenCarp4", "LSODA"]
STIFF_METHODS = ["Radau", "BDF", "Rodas5P", "KenCarp4", "LSODA"]

_NOT_A_NUMBER = object()  # numba cannot type this global: functions using it take the fallback


class BadState(Exception):
    """A user exception class: its type must survive the compiled code."""


def ball(t, y):
    return np.array([y[1], -G])


def ball_raises(t, y):
    if t > T_FAIL:
        raise BadState("the ball left the model")
    return np.array([y[1], -G])


def ball_raises_fallback(t, y):
    if _NOT_A_NUMBER is None:
        return np.zeros(2)
    if t > T_FAIL:
        raise BadState("the ball left the model (Python)")
    return np.array([y[1], -G])


def ball_longer(t, y):
    if t > T_FAIL:
        return np.array([y[1], -G, 0.0])
    return np.array([y[1], -G])


def ball_shorter(t, y):
    if t > T_FAIL:
        return np.array([y[1]])
    return np.array([y[1], -G])


def ball_longer_fallback(t, y):
    if _NOT_A_NUMBER is None:
        return np.zeros(2)
    if t > T_FAIL:
        return np.array([y[1], -G, 0.0])
    return np.array([y[1], -G])


def ball_nan(t, y):
    if t > 0.0:
        return np.array([np.nan, -G])
    return np.array([y[1], -G])


def ground_raises(t, y):
    if t > T_FAIL:
        raise BadState("event failed")
    return y[0]


ground_raises.terminal = True


def ground_raises_fallback(t, y):
    if _NOT_A_NUMBER is None:
        return 0.0
    if t > T_FAIL:
        raise BadState("event failed (Python)")
    return y[0]


ground_raises_fallback.terminal = True


def ground_nan(t, y):
    if t > T_FAIL:
        return np.nan
    return y[0]


ground_nan.terminal = True


def _solve(fun, method, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        return fastode.solve_ivp(fun, (0.0, 5.0), [H0, 0.0], method=method, **kwargs)


def _no_ignored_exceptions(capfd):
    err = capfd.readouterr().err
    assert "Exception ignored" not in err
    assert "Traceback" not in err


# ---- 1. events that raise or return NaN ------------------------------------------------------

@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("event, text", [(ground_raises, "event failed"),
                                         (ground_raises_fallback, r"event failed \(Python\)")])
def test_event_exception_is_reraised(method, event, text, capfd):
    # before: status 1, 'A termination event occurred', t_events [1.13] (the crossing is 2.30)
    with pytest.raises(BadState, match=text):
        _solve(ball, method, events=event)
    _no_ignored_exceptions(capfd)


@pytest.mark.parametrize("method", METHODS)
def test_event_nan_stops_without_inventing_a_root(method):
    res = _solve(ball, method, events=ground_nan, dense_output=True)
    assert res.status == -1 and not res.success
    assert "event" in res.message and "NaN" in res.message
    assert res.t_events[0].size == 0
    assert res.t[-1] < T_LAND


# ---- 2. fun whose output length changes after t0 ---------------------------------------------

@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("fun, got", [(ball_longer, 3), (ball_shorter, 1),
                                      (ball_longer_fallback, 3)])
def test_fun_output_length_change_raises(method, fun, got):
    # before: success=True, the extra value dropped or memory past the end read as dy/dt
    with pytest.raises(ValueError, match=rf"`fun` returned .*length {got}.*expected 2"):
        _solve(fun, method)


# ---- 3. fun raising inside compiled code -----------------------------------------------------

@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("fun, text", [(ball_raises, "the ball left the model"),
                                       (ball_raises_fallback, r"left the model \(Python\)")])
def test_fun_exception_is_reraised_once(method, fun, text, capfd):
    # before (compiled): status -1 and a NaN message, ~200 'Exception ignored' tracebacks
    with pytest.raises(BadState, match=text):
        _solve(fun, method)
    _no_ignored_exceptions(capfd)


@pytest.mark.parametrize("method", ["RK45", "Radau"])
def test_failure_record_does_not_leak_into_the_next_solve(method):
    with pytest.raises(BadState):
        _solve(ball_raises, method)
    res = fastode.solve_ivp(ball_raises, (0.0, 0.5), [H0, 0.0], method=method)
    assert res.success
    np.testing.assert_allclose(res.y[0, -1], H0 - G * 0.5 ** 2 / 2, rtol=1e-6)


def test_fun_exception_with_events_and_args():
    def fun(t, y, k):
        if t > T_FAIL:
            raise BadState("with args")
        return np.array([y[1], -k])

    def event(t, y, k):
        return y[0]
    event.terminal = True
    with pytest.raises(BadState, match="with args"):
        fastode.solve_ivp(fun, (0.0, 5.0), [H0, 0.0], events=event, args=(G,))


def spiral_raises(t, y):
    if t > T_FAIL:
        raise BadState("complex state failed")
    return -1j * y


def ball_vectorized_raises(t, y):
    if t > T_FAIL:
        raise BadState("vectorized failed")
    return np.vstack((y[1:2], -G * np.ones_like(y[1:2])))


def spiral_shorter(t, y):
    if t > T_FAIL:
        return -1j * y[:1]
    return -1j * y


@pytest.mark.parametrize("fun, y0, kwargs, error, text", [
    (spiral_raises, [1.0 + 0j, 1j], {}, BadState, "complex state failed"),
    (ball_vectorized_raises, [H0, 0.0], {"vectorized": True}, BadState, "vectorized failed"),
    (spiral_shorter, [1.0 + 0j, 1j], {}, ValueError, "`fun` returned .*length 1.*expected 2"),
])
@pytest.mark.parametrize("method", ["RK45", "Radau"])
def test_complex_and_vectorized_failures(fun, y0, kwargs, error, text, method, capfd):
    with pytest.raises(error, match=text):
        fastode.solve_ivp(fun, (0.0, 5.0), y0, method=method, **kwargs)
    _no_ignored_exceptions(capfd)


# ---- 4. jac raising or returning a wrong shape -----------------------------------------------

MU = 100.0


def vdp(t, y):
    return np.array([y[1], MU * (1.0 - y[0] ** 2) * y[1] - y[0]])


def vdp_jac_raises(t, y):
    if t > T_FAIL:
        raise BadState("jac failed")
    return np.array([[0.0, 1.0], [-2.0 * MU * y[0] * y[1] - 1.0, MU * (1.0 - y[0] ** 2)]])


def vdp_jac_raises_fallback(t, y):
    if _NOT_A_NUMBER is None:
        return np.zeros((2, 2))
    if t > T_FAIL:
        raise BadState("jac failed (Python)")
    return np.array([[0.0, 1.0], [-2.0 * MU * y[0] * y[1] - 1.0, MU * (1.0 - y[0] ** 2)]])


def vdp_jac_wrong_shape(t, y):
    if t > T_FAIL:
        return np.zeros((2, 3))
    return np.array([[0.0, 1.0], [-2.0 * MU * y[0] * y[1] - 1.0, MU * (1.0 - y[0] ** 2)]])


def vdp_jac_nan(t, y):
    if t > 0.0:
        return np.full((2, 2), np.nan)
    return np.array([[0.0, 1.0], [-2.0 * MU * y[0] * y[1] - 1.0, MU * (1.0 - y[0] ** 2)]])


def _solve_vdp(method, jac):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)
        return fastode.solve_ivp(vdp, (0.0, 2 * MU), [2.0, 0.0], method=method, jac=jac,
                                 rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("method", STIFF_METHODS)
@pytest.mark.parametrize("jac, text", [(vdp_jac_raises, "jac failed"),
                                       (vdp_jac_raises_fallback, r"jac failed \(Python\)")])
def test_jac_exception_is_reraised(method, jac, text, capfd):
    with pytest.raises(BadState, match=text):
        _solve_vdp(method, jac)
    _no_ignored_exceptions(capfd)


@pytest.mark.parametrize("method", STIFF_METHODS)
def test_jac_wrong_shape_raises(method):
    with pytest.raises(ValueError, match=r"`jac` returned shape \(2, 3\).*expected \(2, 2\)"):
        _solve_vdp(method, vdp_jac_wrong_shape)


@pytest.mark.parametrize("method", STIFF_METHODS)
def test_jac_nan_at_every_call_ends(method):
    res = _solve_vdp(method, vdp_jac_nan)
    assert res.status == -1 and not res.success
    assert res.nfev < 20000


# ---- 5. mass with an explicit method ---------------------------------------------------------

@pytest.mark.parametrize("method", ["RK45", "DOP853"])
def test_mass_with_explicit_method_raises(method):
    with pytest.raises(ValueError, match=r"`mass`.*Radau"):
        fastode.solve_ivp(ball, (0.0, 1.0), [H0, 0.0], method=method, mass=np.eye(2))


# ---- no hang: NaN from fun at every call ends the solve --------------------------------------

@pytest.mark.parametrize("method", METHODS + ["DOP853", "Rodas4", "Kvaerno5", "auto"])
def test_fun_nan_at_every_call_ends(method):
    res = _solve(ball_nan, method)
    assert res.status == -1 and not res.success
    assert "non-finite" in res.message
    assert res.nfev < 20000


# ---- the step-by-step classes and solve_ensemble share the compiled wrappers -----------------

@pytest.mark.parametrize("cls", [fastode.RK45, fastode.Radau, fastode.BDF])
def test_step_by_step_solver_reraises(cls, capfd):
    solver = cls(ball_raises, 0.0, [H0, 0.0], 5.0)
    with pytest.raises(BadState, match="the ball left the model"):
        while solver.status == "running":
            solver.step()
    _no_ignored_exceptions(capfd)


def test_ensemble_reports_the_failure_once_and_forgets_it(capfd):
    res = fastode.solve_ensemble(ball_raises, (0.0, 5.0), [H0, 0.0], n_threads=1)
    assert "raised an exception inside compiled code" in res.message
    _no_ignored_exceptions(capfd)
    ok = fastode.solve_ivp(ball_raises, (0.0, 0.5), [H0, 0.0])
    assert ok.success
