"""Events of fastode.solve_ivp: scipy's semantics, and the corner cases scipy gets wrong."""
import warnings

import numba
import numpy as np
import pytest
import scipy.integrate
from numba import carray, cfunc, types

import fastode
from conftest import SCIPY_METHODS, free_fall, harmonic

G = 9.81
H0 = 10.0
T_LAND = np.sqrt(2 * H0 / G)


def ball(t, y):
    return np.array([y[1], -G])


def hits_ground(t, y):
    return y[0]


hits_ground.terminal = True
hits_ground.direction = -1


def apex(t, y):
    return y[1]


def position(t, y):
    return y[0]


def make_event(fun, terminal=False, direction=0):
    """A fresh event function object with the given attributes (each compiles once)."""
    compiled = numba.njit(fun)

    def event(t, y, *args):
        return compiled(t, np.asarray(y))
    event.terminal = terminal
    event.direction = direction
    return event


def _compare_events(ours, theirs, tol=1e-10):
    assert len(ours.t_events) == len(theirs.t_events)
    for te_o, te_s, ye_o, ye_s in zip(ours.t_events, theirs.t_events, ours.y_events,
                                      theirs.y_events):
        assert te_o.shape == te_s.shape
        assert ye_o.shape == ye_s.shape
        np.testing.assert_allclose(te_o, te_s, rtol=tol, atol=tol)
        if ye_s.size:
            np.testing.assert_allclose(ye_o, ye_s, rtol=1e-8, atol=1e-8)


# ---- scipy semantics ---------------------------------------------------------------------------

@pytest.mark.parametrize("method", SCIPY_METHODS)
def test_falling_ball_terminal(method):
    """A ball dropped from H0 lands at sqrt(2 H0 / g). (Every method is exact on this quadratic
    solution: the error estimates are pure roundoff, so at a tight tolerance the steps of fastode
    and scipy differ; at this one both grow by the maximal factor 10 and agree.)"""
    kw = dict(method=method, rtol=1e-6, atol=1e-9)
    ours = fastode.solve_ivp(ball, (0.0, 10.0), [H0, 0.0], events=[hits_ground, position], **kw)
    theirs = scipy.integrate.solve_ivp(ball, (0.0, 10.0), [H0, 0.0],
                                       events=[hits_ground, position], **kw)
    assert ours.status == theirs.status == 1
    assert ours.message == "A termination event occurred."
    assert ours.success
    _compare_events(ours, theirs)
    np.testing.assert_allclose(ours.t_events[0], [T_LAND], rtol=1e-12)
    np.testing.assert_allclose(ours.y_events[0], [[0.0, -G * T_LAND]], atol=1e-10)
    # the position event has the same root as the terminal one: listed after it, it is not
    # reported (the integration stopped at the terminal event, which comes first at equal
    # times, as in scipy); listed before it, it is
    assert ours.t_events[1].size == 0
    before = fastode.solve_ivp(ball, (0.0, 10.0), [H0, 0.0], events=[position, hits_ground],
                               **kw)
    before_scipy = scipy.integrate.solve_ivp(ball, (0.0, 10.0), [H0, 0.0],
                                             events=[position, hits_ground], **kw)
    _compare_events(before, before_scipy)
    np.testing.assert_allclose(before.t_events[0], [T_LAND], rtol=1e-12)
    # the solution ends at the event, with the event's state
    assert ours.t[-1] == ours.t_events[0][0]
    np.testing.assert_allclose(ours.y[:, -1], ours.y_events[0][0], rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(ours.t, theirs.t, rtol=1e-9)


def _bouncing_ball(solver, method, n_bounces, restitution=0.8):
    t0, y0 = 0.0, [H0, 0.0]
    times = []
    for _ in range(n_bounces):
        res = solver(ball, (t0, t0 + 20.0), y0, method=method, events=hits_ground,
                     rtol=1e-10, atol=1e-12)
        assert res.status == 1
        t0 = res.t_events[0][0]
        times.append(t0)
        y0 = [0.0, -restitution * res.y_events[0][0][1]]
    return np.array(times)


@pytest.mark.parametrize("method", SCIPY_METHODS)
def test_bouncing_ball(method):
    """Restart after each terminal event, as the scipy docs do: same times as scipy, and the
    exact ones (a ball thrown up at v lands after 2 v / g)."""
    ours = _bouncing_ball(fastode.solve_ivp, method, 4)
    theirs = _bouncing_ball(scipy.integrate.solve_ivp, method, 4)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)
    v = G * T_LAND
    exact = [T_LAND]
    for _ in range(3):
        v *= 0.8
        exact.append(exact[-1] + 2 * v / G)
    np.testing.assert_allclose(ours, exact, rtol=1e-9)


ZERO = make_event(position)
UP = make_event(position, direction=1)
DOWN = make_event(position, direction=-1)
VELOCITY = make_event(apex)


@pytest.mark.parametrize("method", SCIPY_METHODS)
def test_directions_and_multiple_events(method):
    kw = dict(method=method, rtol=1e-10, atol=1e-12)
    events = [ZERO, UP, DOWN, VELOCITY]
    ours = fastode.solve_ivp(harmonic, (0.0, 20.0), [1.0, 0.0], events=events, **kw)
    theirs = scipy.integrate.solve_ivp(harmonic, (0.0, 20.0), [1.0, 0.0], events=events, **kw)
    # VELOCITY (g = y[1]) is 0 at t0: scipy reports that, fastode does not
    assert theirs.t_events[3][0] == 0.0
    theirs.t_events[3] = theirs.t_events[3][1:]
    theirs.y_events[3] = theirs.y_events[3][1:]
    _compare_events(ours, theirs)
    zeros = np.pi / 2 + np.pi * np.arange(6)  # cos t = 0
    np.testing.assert_allclose(ours.t_events[0], zeros, atol=1e-9)
    np.testing.assert_allclose(ours.t_events[1], zeros[1::2], atol=1e-9)  # upward: odd ones
    np.testing.assert_allclose(ours.t_events[2], zeros[0::2], atol=1e-9)
    np.testing.assert_allclose(ours.t_events[3], np.pi * np.arange(1, 7), atol=1e-9)
    assert ours.y_events[0].shape == (6, 2)
    np.testing.assert_allclose(ours.y_events[1][:, 1], 1.0, atol=1e-9)  # y' = -sin > 0 upward
    np.testing.assert_allclose(ours.y_events[2][:, 1], -1.0, atol=1e-9)


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_terminal_count(count):
    """terminal = k stops at the k-th occurrence (scipy >= 1.11)."""
    event = make_event(position, terminal=count)
    ours = fastode.solve_ivp(harmonic, (0.0, 30.0), [1.0, 0.0], events=event, rtol=1e-10,
                             atol=1e-12)
    theirs = scipy.integrate.solve_ivp(harmonic, (0.0, 30.0), [1.0, 0.0], events=event,
                                       rtol=1e-10, atol=1e-12)
    assert ours.status == theirs.status == 1
    _compare_events(ours, theirs)
    assert ours.t_events[0].size == count
    np.testing.assert_allclose(ours.t[-1], np.pi / 2 + np.pi * (count - 1), atol=1e-9)


def test_terminal_count_with_direction_and_other_events():
    up_twice = make_event(position, terminal=2, direction=1)
    events = [ZERO, up_twice]
    ours = fastode.solve_ivp(harmonic, (0.0, 30.0), [1.0, 0.0], events=events, rtol=1e-10,
                             atol=1e-12)
    theirs = scipy.integrate.solve_ivp(harmonic, (0.0, 30.0), [1.0, 0.0], events=events,
                                       rtol=1e-10, atol=1e-12)
    _compare_events(ours, theirs)
    # upward crossings at 3 pi / 2 and 7 pi / 2: the second stops the integration
    np.testing.assert_allclose(ours.t[-1], 3.5 * np.pi, atol=1e-9)
    assert ours.t_events[0].size == 4


def test_terminal_false_and_zero_mean_not_terminal():
    for terminal in (False, 0, np.False_):
        event = make_event(position, terminal=terminal)
        res = fastode.solve_ivp(harmonic, (0.0, 10.0), [1.0, 0.0], events=event)
        assert res.status == 0 and res.t[-1] == 10.0 and res.t_events[0].size == 3


def test_no_events_shapes_match_scipy():
    never = make_event(lambda t, y: y[0] + 5.0)
    ours = fastode.solve_ivp(harmonic, (0.0, 5.0), [1.0, 0.0], events=[never, ZERO])
    theirs = scipy.integrate.solve_ivp(harmonic, (0.0, 5.0), [1.0, 0.0], events=[never, ZERO])
    _compare_events(ours, theirs, tol=1e-3)
    assert ours.t_events[0].shape == (0,) and ours.y_events[0].shape == (0,)
    # no events argument: None, as scipy
    res = fastode.solve_ivp(harmonic, (0.0, 5.0), [1.0, 0.0])
    assert res.t_events is None and res.y_events is None
    # a single callable (not a list) gives lists of one
    one = fastode.solve_ivp(harmonic, (0.0, 5.0), [1.0, 0.0], events=ZERO)
    assert isinstance(one.t_events, list) and len(one.t_events) == 1


@pytest.mark.parametrize("method", SCIPY_METHODS)
def test_backward_events(method):
    kw = dict(method=method, rtol=1e-10, atol=1e-12)
    events = [ZERO, UP, DOWN]
    ours = fastode.solve_ivp(harmonic, (10.0, 0.0), [np.cos(10), -np.sin(10)], events=events,
                             **kw)
    theirs = scipy.integrate.solve_ivp(harmonic, (10.0, 0.0), [np.cos(10), -np.sin(10)],
                                       events=events, **kw)
    _compare_events(ours, theirs)
    np.testing.assert_allclose(ours.t_events[0], np.pi / 2 + np.pi * np.arange(2, -1, -1),
                               atol=1e-9)


def test_events_with_fixed_step_methods():
    res = fastode.solve_ivp(harmonic, (0.0, 10.0), [1.0, 0.0], method="rk4", step=0.01,
                            events=[ZERO, VELOCITY])
    np.testing.assert_allclose(res.t_events[0], np.pi / 2 + np.pi * np.arange(3), atol=1e-8)
    np.testing.assert_allclose(res.t_events[1], np.pi * np.arange(1, 4), atol=1e-8)
    # a root exactly at a step end is reported once
    res = fastode.solve_ivp(lambda t, y: np.array([1.0]), (0.0, 1.0), [0.0], method="euler",
                            step=0.25, events=make_event(lambda t, y: y[0] - 0.5))
    np.testing.assert_array_equal(res.t_events[0], [0.5])


def test_events_with_dense_output():
    stop = make_event(position, terminal=2)
    res = fastode.solve_ivp(harmonic, (0.0, 10.0), [1.0, 0.0], events=stop, dense_output=True,
                            rtol=1e-10, atol=1e-12)
    t_stop = res.t_events[0][-1]
    assert res.sol.t_max == t_stop == res.t[-1]
    np.testing.assert_allclose(res.sol(t_stop), res.y_events[0][-1], atol=1e-14)
    np.testing.assert_allclose(res.sol(np.linspace(0, t_stop, 50)),
                               np.array([np.cos(np.linspace(0, t_stop, 50)),
                                         -np.sin(np.linspace(0, t_stop, 50))]), atol=1e-9)


# ---- corner cases ----------------------------------------------------------------------------

def test_two_crossings_inside_one_step():
    """Free fall thrown up at 1 from 0 under g = 2 is y = t - t^2, exact for every method. One
    step (first_step = 1.5) covers both crossings of y = 0.1, where g = y - 0.1 has the same
    sign at both ends of the step: fastode samples the interpolant inside the step and finds
    both (scipy looks only at the step ends and finds none)."""
    crossing = make_event(lambda t, y: y[0] - 0.1)
    exact = [(1 - np.sqrt(0.6)) / 2, (1 + np.sqrt(0.6)) / 2]
    for method in ("RK23", "RK45", "DOP853", "Tsit5", "Vern7"):
        res = fastode.solve_ivp(free_fall, (0.0, 1.5), [0.0, 1.0], method=method,
                                events=crossing, first_step=1.5, args=(2.0,))
        assert res.t.size == 2  # one step
        np.testing.assert_allclose(res.t_events[0], exact, rtol=1e-12)
        np.testing.assert_allclose(res.y_events[0][:, 0], 0.1, rtol=1e-12)
        np.testing.assert_allclose(res.y_events[0][:, 1], [np.sqrt(0.6), -np.sqrt(0.6)],
                                   rtol=1e-12)
    theirs = scipy.integrate.solve_ivp(free_fall, (0.0, 1.5), [0.0, 1.0], events=crossing,
                                       first_step=1.5, args=(2.0,))
    assert theirs.t_events[0].size == 0  # scipy misses both


def test_two_crossings_in_one_step_oscillator():
    """cos t crosses 0.9 twice around each maximum, 0.9 apart; DOP853 at rtol 1e-6 takes steps
    up to ~1.1 long, so some steps contain both crossings: scipy misses two of the seven."""
    level = make_event(lambda t, y: y[0] - 0.9)
    a = np.arccos(0.9)
    k = np.arange(4)
    exact = np.sort(np.concatenate([2 * np.pi * k + a, 2 * np.pi * k[1:] - a]))
    ours = fastode.solve_ivp(harmonic, (0.0, 20.0), [1.0, 0.0], method="DOP853", events=level,
                             rtol=1e-6, atol=1e-6)
    theirs = scipy.integrate.solve_ivp(harmonic, (0.0, 20.0), [1.0, 0.0], method="DOP853",
                                       events=level, rtol=1e-6, atol=1e-6)
    assert np.diff(ours.t).max() > 2 * a
    assert theirs.t_events[0].size < exact.size
    assert ours.t_events[0].size == exact.size
    np.testing.assert_allclose(ours.t_events[0], exact, atol=1e-4)
    # the more samples per step, the same answer
    more = fastode.solve_ivp(harmonic, (0.0, 20.0), [1.0, 0.0], method="DOP853", events=level,
                             rtol=1e-6, atol=1e-6, event_samples=16)
    np.testing.assert_allclose(more.t_events[0], ours.t_events[0], rtol=1e-12)


def test_terminal_event_at_t_eval_point():
    """A terminal event exactly at a t_eval point: the point is output once, and it is the last."""
    def unit(t, y):
        return np.array([1.0])

    at_one = make_event(lambda t, y: y[0] - 1.0, terminal=True)
    t_eval = [0.0, 0.5, 1.0, 2.0]
    res = fastode.solve_ivp(unit, (0.0, 3.0), [0.0], events=at_one, t_eval=t_eval)
    assert res.status == 1
    np.testing.assert_array_equal(res.t_events[0], [1.0])
    np.testing.assert_array_equal(res.t, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(res.y[0], [0.0, 0.5, 1.0], rtol=1e-15)
    # the same with a time event on the harmonic oscillator, t_eval containing the time
    at_time = make_event(lambda t, y: t - 1.3, terminal=True)
    t_eval = np.unique(np.concatenate([np.linspace(0.0, 3.0, 31), [1.3]]))
    res = fastode.solve_ivp(harmonic, (0.0, 3.0), [1.0, 0.0], events=at_time, t_eval=t_eval,
                            rtol=1e-10, atol=1e-12)
    assert res.t[-1] == 1.3 and np.sum(res.t == 1.3) == 1
    np.testing.assert_array_equal(res.t_events[0], [1.3])
    np.testing.assert_allclose(res.y[:, -1], res.y_events[0][0], atol=1e-15)
    np.testing.assert_array_equal(res.t, t_eval[t_eval <= 1.3])


def test_event_at_t0_not_reported():
    """g(t0) = 0 is not an event in fastode (it is the state the user started from); scipy
    reports it (and, if terminal, stops at t0). A documented difference."""
    vertical = make_event(apex, terminal=True)
    ours = fastode.solve_ivp(harmonic, (0.0, 5.0), [1.0, 0.0], events=vertical, rtol=1e-10,
                             atol=1e-12)
    theirs = scipy.integrate.solve_ivp(harmonic, (0.0, 5.0), [1.0, 0.0], events=vertical)
    assert theirs.t_events[0][0] == 0.0 and theirs.status == 1  # scipy: at t0
    assert ours.status == 1
    np.testing.assert_allclose(ours.t_events[0], [np.pi], atol=1e-9)  # the next zero


def event_with_args(t, y, omega, level):
    return y[0] - level


def oscillator(t, y, omega, level):
    return np.array([y[1], -omega * omega * y[0]])


def test_event_args():
    """Events get the same ``args`` as fun; new values do not recompile."""
    for omega, level in [(2.0, 0.5), (3.0, -0.25)]:
        res = fastode.solve_ivp(oscillator, (0.0, 3.0), [1.0, 0.0], args=(omega, level),
                                events=event_with_args, rtol=1e-10, atol=1e-12)
        first = np.arccos(level) / omega
        np.testing.assert_allclose(res.t_events[0][0], first, atol=1e-9)
        theirs = scipy.integrate.solve_ivp(oscillator, (0.0, 3.0), [1.0, 0.0],
                                           args=(omega, level), events=event_with_args,
                                           rtol=1e-10, atol=1e-12)
        _compare_events(res, theirs)
    cache = fastode.rhs._cache_for(event_with_args)
    assert len([v for v in cache.values() if not isinstance(v, str)]) == 1


def test_python_only_event():
    """An event numba cannot compile (a Python object inside) runs through Python, with one
    FallbackWarning, and gives the same events."""
    registry = {"level": 0.0}

    def python_event(t, y):
        return y[0] - registry["level"]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fastode.solve_ivp(harmonic, (0.0, 10.0), [1.0, 0.0], events=python_event,
                                rtol=1e-10, atol=1e-12)
        again = fastode.solve_ivp(harmonic, (0.0, 10.0), [1.0, 0.0], events=python_event,
                                  rtol=1e-10, atol=1e-12)
    fallback = [w for w in caught if issubclass(w.category, fastode.FallbackWarning)]
    assert len(fallback) == 1
    assert "python_event" in str(fallback[0].message)
    np.testing.assert_allclose(res.t_events[0], np.pi / 2 + np.pi * np.arange(3), atol=1e-9)
    np.testing.assert_array_equal(again.t_events[0], res.t_events[0])


def test_python_event_exception_propagates():
    def failing(t, y):
        if t > 1.0:
            raise KeyError("event failed")
        return y[0] + 2.0 + len([object()])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(KeyError, match="event failed"):
            fastode.solve_ivp(harmonic, (0.0, 3.0), [1.0, 0.0], events=failing)


@cfunc(types.float64(types.float64, types.CPointer(types.float64), types.CPointer(types.float64)))
def cfunc_event(t, y_ptr, p_ptr):
    y = carray(y_ptr, (2,))
    return y[0]


def test_cfunc_event():
    res = fastode.solve_ivp(harmonic, (0.0, 10.0), [1.0, 0.0], events=cfunc_event, rtol=1e-10,
                            atol=1e-12)
    np.testing.assert_allclose(res.t_events[0], np.pi / 2 + np.pi * np.arange(3), atol=1e-9)


def test_complex_state_event():
    def rotate(t, y):
        return 1j * y

    def real_part(t, y):
        return y[0].real

    res = fastode.solve_ivp(rotate, (0.0, 7.0), [1.0 + 0.0j], events=real_part, rtol=1e-10,
                            atol=1e-12)
    np.testing.assert_allclose(res.t_events[0], [np.pi / 2, 1.5 * np.pi], atol=1e-9)
    assert res.y_events[0].dtype == np.complex128 and res.y_events[0].shape == (2, 1)
    np.testing.assert_allclose(res.y_events[0][:, 0], [1j, -1j], atol=1e-9)
