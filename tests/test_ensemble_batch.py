"""solve_ensemble(..., mode="batch"): the lock-step driver (fastode/ensemble_batch.py,
fastode/kernels/ensemble_batch.py) against the default one-solve-per-trajectory driver.

Each lane runs the scalar driver's arithmetic, so every trajectory must give the default mode's
steps (counters, status, t reached) and values; values are compared to 1e-12 relative (they are
bitwise equal here for polynomial right-hand sides: the batch RHS does the same operations).
"""
import numpy as np
import pytest
from numba import carray, cfunc

import fastode
from fastode import ensemble_batch as eb
from fastode.rhs import RHS_SIGNATURE

RATES = np.array([1.5, 1.0, 3.0, 1.0])
T_EVAL = np.linspace(0.0, 15.0, 31)


def lotka_volterra(t, y, p):
    return np.array([p[0] * y[0] - p[1] * y[0] * y[1], -p[2] * y[1] + p[3] * y[0] * y[1]])


def van_der_pol(t, y, p):
    return np.array([y[1], p[0] * (1.0 - y[0] * y[0]) * y[1] - y[0]])


def blow_up(t, y, p):
    # y' = p y^2, y(0) = 1: finite until t = 1 / p
    return np.array([p[0] * y[0] * y[0]])


def decay(t, y):
    return -0.5 * y


def lv_params(n, seed=0):
    return RATES * np.random.default_rng(seed).uniform(0.8, 1.2, (n, 4))


def both(fun, t_span, y0, **kw):
    default = fastode.solve_ensemble(fun, t_span, y0, mode="default", **kw)
    batch = fastode.solve_ensemble(fun, t_span, y0, mode="batch", **kw)
    return default, batch


def assert_same(default, batch, values=True):
    """Per trajectory: the same steps, status and end time; the same values to 1e-12."""
    for name in ("status", "status_code", "nfev", "naccept", "nreject", "success"):
        np.testing.assert_array_equal(getattr(batch, name), getattr(default, name), err_msg=name)
    np.testing.assert_array_equal(batch.t_final, default.t_final)
    np.testing.assert_array_equal(batch.t, default.t)
    assert batch.y.shape == default.y.shape
    if values:
        np.testing.assert_allclose(batch.y, default.y, rtol=1e-12, atol=0.0, equal_nan=True)
        # NaN exactly where the default mode has NaN (points a failed trajectory never reached)
        np.testing.assert_array_equal(np.isnan(batch.y), np.isnan(default.y))
    assert list(batch.messages) == list(default.messages)


@pytest.mark.parametrize("method", ["RK45", "DOP853", "Tsit5", "RK23", "Vern7"])
def test_matches_default_per_trajectory(method):
    params = lv_params(40)
    default, batch = both(lotka_volterra, (0.0, 15.0), [10.0, 5.0], params=params,
                          t_eval=T_EVAL, method=method, rtol=1e-6, atol=1e-9)
    assert batch.success.all()
    assert_same(default, batch)


def test_fixed_step_method():
    default, batch = both(lotka_volterra, (0.0, 3.0), [10.0, 5.0], params=lv_params(11),
                          t_eval=np.linspace(0.0, 3.0, 7), method="rk4", step=0.01)
    assert batch.success.all()
    assert_same(default, batch)


def test_lanes_of_very_different_difficulty():
    # Van der Pol with mu from 0.5 to 60: 72 to 487 steps per trajectory (DOP853),
    # so lanes finish at very different times and are refilled while others keep going
    mu = np.geomspace(0.5, 60.0, 27)[np.random.default_rng(3).permutation(27)]
    default, batch = both(van_der_pol, (0.0, 20.0), [2.0, 0.0], params=mu[:, None],
                          t_eval=np.linspace(0.0, 20.0, 41), method="DOP853", rtol=1e-7,
                          atol=1e-9)
    assert batch.success.all()
    assert batch.naccept.max() > 5 * batch.naccept.min()
    assert_same(default, batch)


def test_failing_lanes_do_not_spoil_the_others():
    # p = 1 blows up at t = 1 (inside [0, 2]): those lanes fail; p = -1 decays and succeeds.
    # One lane hits max_steps as well (the largest |p| needs the most steps).
    p = np.array([-1.0, 1.0, -0.5, -2.0, 1.0, -1.5, -0.25, 0.9, -1.0, -3.0, -0.1])[:, None]
    t_eval = np.linspace(0.0, 2.0, 9)
    for method in ("RK45", "DOP853"):
        default, batch = both(blow_up, (0.0, 2.0), [1.0], params=p, t_eval=t_eval,
                              method=method, rtol=1e-6, atol=1e-9)
        bad = p[:, 0] > 0
        assert not batch.success[bad].any() and batch.success[~bad].all()
        assert_same(default, batch)
        np.testing.assert_allclose(batch.y[~bad, 0, -1], np.exp(0) / (1.0 - 2.0 * p[~bad, 0]),
                                   rtol=1e-4)
        assert batch.failures["count"] == int(bad.sum())
        np.testing.assert_array_equal(batch.failures["indices"], np.flatnonzero(bad))
    default, batch = both(blow_up, (0.0, 2.0), [1.0], params=p, t_eval=t_eval, method="RK45",
                          max_steps=40)
    assert (batch.status_code == -2).any()  # max_steps
    assert_same(default, batch)


def test_fun_that_raises_in_some_lanes():
    def picky(t, y, p):
        if p[0] > 2.0:
            raise ValueError("too large")
        return -p[0] * y

    p = np.array([1.0, 3.0, 0.5, 2.5, 1.5])[:, None]
    default, batch = both(picky, (0.0, 1.0), [1.0], params=p, t_eval=[0.5, 1.0])
    np.testing.assert_array_equal(batch.status_code, default.status_code)
    np.testing.assert_array_equal(batch.success, p[:, 0] <= 2.0)
    ok = batch.success
    np.testing.assert_allclose(batch.y[ok], default.y[ok], rtol=1e-12, atol=0.0)
    assert np.isnan(batch.y[~ok]).all()


@pytest.mark.parametrize("n_traj", [1, 3, 13, 37])
def test_lane_refill_any_number_of_trajectories(n_traj):
    # fewer trajectories than lanes, and counts that are not multiples of the width, in
    # several chunks (chunk_size 5) so that blocks start partly empty
    params = lv_params(n_traj, seed=n_traj)
    y0 = np.column_stack([np.linspace(8.0, 12.0, n_traj), np.linspace(4.0, 6.0, n_traj)])
    default, batch = both(lotka_volterra, (0.0, 10.0), y0, params=params, t_eval=T_EVAL[:21],
                          method="Tsit5", rtol=1e-7, atol=1e-9, chunk_size=5)
    assert_same(default, batch)


@pytest.mark.parametrize("width", [1, 3, 8])
def test_other_widths(width):
    runner = eb.select("batch", _plan_for(lotka_volterra), lotka_volterra, _scalar_rhs(),
                       "threads", np.array([[10.0, 5.0]]), lv_params(4), 21, None, width=width)
    assert runner.width == width
    default = fastode.solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0],
                                     params=lv_params(21), t_eval=T_EVAL, mode="default")
    old = eb.WIDTH
    try:
        eb.WIDTH = width
        batch = fastode.solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0],
                                       params=lv_params(21), t_eval=T_EVAL, mode="batch")
    finally:
        eb.WIDTH = old
    assert_same(default, batch)


def test_save_modes():
    params = lv_params(19)
    kw = dict(params=params, method="DOP853", rtol=1e-6, atol=1e-9)
    # the final state only, with and without t_eval's absence meaning t = [t_bound]
    assert_same(*both(lotka_volterra, (0.0, 15.0), [10.0, 5.0], save="final", **kw))
    assert_same(*both(lotka_volterra, (0.0, 15.0), [10.0, 5.0], **kw))

    def prey_and_sum(t, y, p):
        return np.array([y[0], y[0] + y[1] + t])

    assert_same(*both(lotka_volterra, (0.0, 15.0), [10.0, 5.0], t_eval=T_EVAL,
                      save=prey_and_sum, **kw))
    assert_same(*both(lotka_volterra, (0.0, 15.0), [10.0, 5.0], save=prey_and_sum, **kw))
    # no params: fun(t, y); backwards in time
    assert_same(*both(decay, (0.0, 2.0), [1.0, 2.0], n_traj=10, t_eval=[0.5, 1.0, 2.0]))
    assert_same(*both(lotka_volterra, (5.0, 0.0), [10.0, 5.0], t_eval=[5.0, 2.5, 1.0, 0.0],
                      **kw))


def test_njit_fun_and_first_step():
    import numba
    lv_jit = numba.njit(lotka_volterra)
    assert_same(*both(lv_jit, (0.0, 15.0), [10.0, 5.0], params=lv_params(9), t_eval=T_EVAL,
                      first_step=1e-3, max_step=0.5))


# ---- mode selection and refusals ------------------------------------------------------------
def _plan_for(fun):
    from fastode.ensemble_chunk import _Plan
    return _Plan(fun=fun, observe=None, n_obs=0, has_params=True, method="RK45",
                 family="explicit", t0=0.0, t1=1.0, t_eval=None, t_out=np.array([1.0]),
                 rtol=np.full(2, 1e-3), atol=np.full(2, 1e-6), first_step=0.0,
                 max_step=np.inf, min_step=0.0, max_steps=0, mode=1, save="final", n=2, n_p=4,
                 options={}, n_threads=None)


def _scalar_rhs():
    from fastode.ensemble_chunk import _ensemble_rhs
    return _ensemble_rhs(lotka_volterra, 0.0, np.array([10.0, 5.0]), 2, RATES.copy(), True)


def _select(mode, backend="threads", fun=lotka_volterra, n=2):
    plan = _plan_for(fun)._replace(n=n)
    return eb.select(mode, plan, fun, _scalar_rhs(), backend, np.array([[10.0, 5.0]]),
                     lv_params(8), 1000, "the default driver")


def test_mode_selection():
    assert _select("default") == "the default driver"
    assert isinstance(_select("batch"), eb.BatchRunner)
    # the batch RHS of lotka_volterra is compiled now: auto uses it from the first chunk
    assert _select("auto").batch is not None
    # where batch does not apply, or for larger systems, auto is the default driver
    assert _select("auto", backend="dask") == "the default driver"
    assert _select("auto", n=eb.AUTO_MAX_N + 1) == "the default driver"


def test_auto_switches_when_the_compile_pays_off(monkeypatch):
    def lv_auto(t, y, p):  # a function of its own: no batch RHS compiled for it yet
        return np.array([p[0] * y[0] - p[1] * y[0] * y[1], -p[2] * y[1] + p[3] * y[0] * y[1]])

    batch_chunks = []
    real = eb.run_chunk
    monkeypatch.setattr(eb, "run_chunk", lambda *a: (batch_chunks.append(1), real(*a)))
    kw = dict(params=lv_params(60), t_eval=T_EVAL, method="DOP853", rtol=1e-6, atol=1e-9,
              chunk_size=20)
    default = fastode.solve_ensemble(lv_auto, (0.0, 15.0), [10.0, 5.0], mode="default", **kw)
    # a compile that never pays: auto stays in the default driver
    monkeypatch.setattr(eb, "COMPILE_SECONDS", np.inf)
    assert_same(default, fastode.solve_ensemble(lv_auto, (0.0, 15.0), [10.0, 5.0], **kw))
    assert batch_chunks == []
    # a free compile: the first chunk runs in the default driver, the other two in batch
    monkeypatch.setattr(eb, "COMPILE_SECONDS", 0.0)
    assert_same(default, fastode.solve_ensemble(lv_auto, (0.0, 15.0), [10.0, 5.0], **kw))
    assert batch_chunks == [1, 1]
    # compiled now: every chunk in batch, whatever the compile would cost
    monkeypatch.setattr(eb, "COMPILE_SECONDS", np.inf)
    assert_same(default, fastode.solve_ensemble(lv_auto, (0.0, 15.0), [10.0, 5.0], **kw))
    assert batch_chunks == [1] * 5


def test_invalid_mode():
    with pytest.raises(ValueError, match=r"`mode` must be 'default', 'batch' or 'auto'; got "
                                         r"'fast'"):
        fastode.solve_ensemble(decay, (0.0, 1.0), [1.0], n_traj=2, mode="fast")


def test_refuses_dask_backend():
    with pytest.raises(ValueError, match=r"mode='batch' is not available here: batch mode runs "
                                         r"with backend='threads' only"):
        fastode.solve_ensemble(decay, (0.0, 1.0), [1.0], n_traj=2, mode="batch",
                               backend="dask")


def test_refuses_cfunc_rhs_and_auto_falls_back():
    @cfunc(RHS_SIGNATURE)
    def rhs(t, y_ptr, p_ptr, out_ptr):
        y = carray(y_ptr, (1,))
        out = carray(out_ptr, (1,))
        out[0] = -y[0]

    with pytest.raises(ValueError, match=r"mode='batch' is not available here: a numba @cfunc "
                                         r"`fun` cannot be inlined into the batch RHS"):
        fastode.solve_ensemble(rhs, (0.0, 1.0), [1.0], n_traj=20, mode="batch")
    res = fastode.solve_ensemble(rhs, (0.0, 1.0), [1.0], n_traj=20, mode="auto", save="final")
    np.testing.assert_allclose(res.y[:, 0], np.exp(-1.0), rtol=1e-3)


def test_refuses_python_fallback_rhs_and_auto_falls_back():
    table = {"k": 0.5}  # a dict: numba cannot compile fun, which then runs through Python

    def slow(t, y, p):
        return -table["k"] * p[0] * y

    p = np.ones((20, 1))
    with pytest.warns(fastode.FallbackWarning if hasattr(fastode, "FallbackWarning")
                      else Warning):
        with pytest.raises(ValueError, match=r"mode='batch' is not available here: `fun` runs "
                                             r"through Python"):
            fastode.solve_ensemble(slow, (0.0, 1.0), [1.0], params=p, mode="batch")
    res = fastode.solve_ensemble(slow, (0.0, 1.0), [1.0], params=p, save="final")
    np.testing.assert_allclose(res.y[:, 0], np.exp(-0.5), rtol=1e-3)
