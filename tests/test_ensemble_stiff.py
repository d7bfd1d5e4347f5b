"""solve_ensemble with the stiff families (Rosenbrock, Radau, BDF, ESDIRK) and with events (every
family): each trajectory bitwise the one-by-one solve_ivp result, user Jacobians, isolated
failures, terminal and recorded events, max_events, the store with resume, and bad input."""
import os
import warnings

import numpy as np
import pytest

import fastode
from fastode.ensemble import load_ensemble, solve_ensemble
from fastode.rhs import FallbackWarning

T_SPAN = (0.0, 1e5)
T_EVAL = np.logspace(-5, 5, 21)
Y0 = np.array([1.0, 0.0, 0.0])
TOL = dict(rtol=1e-6, atol=1e-10)


def robertson(t, y, p):
    """Robertson's kinetics with rate constants p = (k1, k2, k3)."""
    return np.array([-p[0] * y[0] + p[2] * y[1] * y[2],
                     p[0] * y[0] - p[2] * y[1] * y[2] - p[1] * y[1] * y[1],
                     p[1] * y[1] * y[1]])


def robertson_jac(t, y, p):
    return np.array([[-p[0], p[2] * y[2], p[2] * y[1]],
                     [p[0], -p[2] * y[2] - 2.0 * p[1] * y[1], -p[2] * y[1]],
                     [0.0, 2.0 * p[1] * y[1], 0.0]])


def rates(n, seed=0):
    rng = np.random.default_rng(seed)
    return np.array([0.04, 3e7, 1e4]) * np.exp(rng.uniform(np.log(0.5), np.log(2.0), (n, 3)))


def half_converted(t, y, p):
    """y0 falls through 0.5 once, at a time set by k1."""
    return y[0] - 0.5


def third_formed(t, y, p):
    return y[2] - 0.1


def assert_same(res, i, sol, events=False):
    """Trajectory i of an ensemble equals a one-by-one solve_ivp result, bitwise."""
    assert res.status[i] == sol.status and res.messages[i] == sol.message
    assert res.nfev[i] == sol.nfev and res.naccept[i] == sol.naccept
    assert res.nreject[i] == sol.nreject
    if res.save == "final":
        np.testing.assert_array_equal(res.y[i], sol.y[:, -1])
    else:
        n_out = sol.t.size
        np.testing.assert_array_equal(res.y[i][:, :n_out], sol.y)
        assert np.isnan(res.y[i][:, n_out:]).all()
    if events:
        for k, (te, ye) in enumerate(zip(sol.t_events, sol.y_events)):
            kept = min(te.size, res.t_events.shape[2])
            assert res.n_events[i, k] == te.size
            np.testing.assert_array_equal(res.t_events[i, k, :kept], te[:kept])
            if te.size:
                np.testing.assert_array_equal(res.y_events[i, k, :kept], ye[:kept])
            assert np.isnan(res.t_events[i, k, kept:]).all()


# ---- agreement with solve_ivp ----------------------------------------------------------------

@pytest.mark.parametrize("method", ["Rodas5P", "Radau", "BDF", "KenCarp4", "Rodas4",
                                    "ros23", "kvaerno5"])
def test_stiff_matches_solve_ivp_one_by_one(method):
    params = rates(4)
    res = solve_ensemble(robertson, T_SPAN, Y0, params=params, t_eval=T_EVAL, method=method,
                         n_threads=2, chunk_size=3, **TOL)
    assert res.success.all() and res.y.shape == (4, 3, T_EVAL.size)
    for i in range(4):
        sol = fastode.solve_ivp(robertson, T_SPAN, Y0, method=method, t_eval=T_EVAL,
                                args=(params[i],), **TOL)
        assert_same(res, i, sol)
    # the rates matter: the trajectories differ
    assert not np.array_equal(res.y[0], res.y[1])


@pytest.mark.parametrize("method", ["Rodas5P", "Radau"])
def test_user_jacobian_and_step_options(method):
    params = rates(3, seed=1)
    opts = dict(jac=robertson_jac, max_step=1e4, first_step=1e-6, **TOL)
    res = solve_ensemble(robertson, T_SPAN, Y0, params=params, save="final", method=method,
                         **opts)
    without = solve_ensemble(robertson, T_SPAN, Y0, params=params, save="final",
                             method=method, max_step=1e4, first_step=1e-6, **TOL)
    for i in range(3):
        sol = fastode.solve_ivp(robertson, T_SPAN, Y0, method=method, args=(params[i],), **opts)
        assert_same(res, i, sol)
    # the analytic Jacobian was used (finite differences take other steps)
    assert not np.array_equal(res.y, without.y)


def test_banded_jacobian_pattern_shared_by_all():
    params = rates(3, seed=2)
    opts = dict(method="BDF", jac_sparsity=np.ones((3, 3)), **TOL)
    res = solve_ensemble(robertson, T_SPAN, Y0, params=params, t_eval=T_EVAL, **opts)
    for i in range(3):
        sol = fastode.solve_ivp(robertson, T_SPAN, Y0, t_eval=T_EVAL, args=(params[i],), **opts)
        assert_same(res, i, sol)


def test_auto_linear_solver_takes_the_sparse_lu_where_solve_ivp_takes_krylov(monkeypatch):
    import fastode.ivp_implicit as implicit
    # make "auto" choose Newton-Krylov for this small pattern, as it does from 512 unknowns
    monkeypatch.setattr(implicit, "SPARSE_MIN_SIZE", 1)
    monkeypatch.setattr(implicit, "KRYLOV_MIN_SIZE", 1)
    monkeypatch.setattr(implicit, "SPARSE_MAX_DENSITY", 1.0)
    params = rates(2, seed=7)
    pattern = np.ones((3, 3))
    assert fastode.solve_ivp(robertson, (0.0, 1.0), Y0, method="BDF", args=(params[0],),
                             jac_sparsity=pattern).linear_solver == "krylov"
    res = solve_ensemble(robertson, T_SPAN, Y0, params=params, t_eval=T_EVAL, method="BDF",
                         jac_sparsity=pattern, **TOL)
    for i in range(2):
        sol = fastode.solve_ivp(robertson, T_SPAN, Y0, method="BDF", t_eval=T_EVAL,
                                args=(params[i],), jac_sparsity=pattern,
                                linear_solver="sparse", **TOL)
        assert sol.linear_solver == "sparse"
        assert_same(res, i, sol)


def test_constant_mass_matrix():
    params = rates(2, seed=6)
    opts = dict(method="Rodas5P", mass=np.diag([1.0, 2.0, 1.0]), **TOL)
    res = solve_ensemble(robertson, T_SPAN, Y0, params=params, t_eval=T_EVAL, **opts)
    for i in range(2):
        sol = fastode.solve_ivp(robertson, T_SPAN, Y0, t_eval=T_EVAL, args=(params[i],), **opts)
        assert_same(res, i, sol)


def riccati(t, y, p):
    """y' = p0 y^2: blows up at t = 1 / p0 when p0 > 0, decays when p0 < 0."""
    return np.array([p[0] * y[0] * y[0]])


@pytest.mark.parametrize("method, rtol", [("LSODA", 1e-6), ("LSODA", 1e-9), ("auto", 1e-6)])
def test_switching_methods_match_solve_ivp_one_by_one(method, rtol):
    # LSODA / auto: explicit and stiff legs per trajectory (the BDF leg below rtol 1e-7), with
    # a terminal event on some trajectories and a user jac on a second sweep
    def stop(t, y, p):
        return y[0] - 0.5
    stop.terminal = True
    params = rates(4, seed=5)
    params[1, 0] *= 1e-3  # y0 stays above 0.5: this trajectory reaches the end
    tol = dict(rtol=rtol, atol=rtol * 1e-4)
    for kw in (dict(events=[third_formed, stop]), dict(jac=robertson_jac)):
        res = solve_ensemble(robertson, T_SPAN, Y0, params=params, t_eval=T_EVAL,
                             method=method, n_threads=2, chunk_size=3, **kw, **tol)
        assert res.success.all()
        for i in range(4):
            sol = fastode.solve_ivp(robertson, T_SPAN, Y0, method=method, t_eval=T_EVAL,
                                    args=(params[i],), **kw, **tol)
            assert_same(res, i, sol, events="events" in kw)
    # the trajectories did switch legs (explicit -> stiff) on the way
    sol = fastode.solve_ivp(robertson, T_SPAN, Y0, method=method, args=(params[0],), **tol)
    assert sol.method_switches


@pytest.mark.parametrize("method", ["Radau", "Rodas5P"])
def test_a_failing_trajectory_leaves_the_others_complete(method):
    params = np.array([[-1.0], [2.0], [-0.5], [-3.0]])  # trajectory 1 blows up at t = 0.5
    t_eval = np.linspace(0.0, 1.0, 11)
    res = solve_ensemble(riccati, (0.0, 1.0), [1.0], params=params, t_eval=t_eval,
                         method=method, **TOL)
    assert res.success.tolist() == [True, False, True, True]
    assert res.failures["count"] == 1 and res.failures["indices"].tolist() == [1]
    assert "3 of 4 trajectories reached the end; 1 failed" in res.message
    for i in range(4):
        sol = fastode.solve_ivp(riccati, (0.0, 1.0), [1.0], method=method, t_eval=t_eval,
                                args=(params[i],), **TOL)
        assert_same(res, i, sol)
    assert res.t_final[1] < 0.51


# ---- events --------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["Rodas5P", "BDF"])
def test_terminal_and_recorded_events_match_solve_ivp(method):
    def stop(t, y, p):
        return y[0] - 0.5
    stop.terminal = True
    stop.direction = -1
    params = rates(4, seed=3)
    params[1, 0] *= 1e-3  # k1 small: y0 stays above 0.5, that trajectory reaches the end
    events = [third_formed, stop]
    res = solve_ensemble(robertson, T_SPAN, Y0, params=params, t_eval=T_EVAL, method=method,
                         events=events, **TOL)
    assert res.t_events.shape == (4, 2, 8) and res.y_events.shape == (4, 2, 8, 3)
    assert res.status.tolist() == [1, 0, 1, 1]
    assert res.success.all()
    assert "3 stopped at a terminal event" in res.message
    for i in range(4):
        sol = fastode.solve_ivp(robertson, T_SPAN, Y0, method=method, t_eval=T_EVAL,
                                args=(params[i],), events=events, **TOL)
        assert_same(res, i, sol, events=True)
        if i != 1:
            assert res.t_final[i] == sol.t_events[1][0]
    assert res.n_events[:, 1].tolist() == [1, 0, 1, 1]
    # save="final": the state at the terminal event
    final = solve_ensemble(robertson, T_SPAN, Y0, params=params, save="final", method=method,
                           events=events, **TOL)
    for i in range(4):
        sol = fastode.solve_ivp(robertson, T_SPAN, Y0, method=method, args=(params[i],),
                                events=events, **TOL)
        assert_same(final, i, sol, events=True)
    np.testing.assert_allclose(final.y[[0, 2, 3]], res.y_events[[0, 2, 3], 1, 0], rtol=1e-12)
    assert final.y[1, 0] > 0.5


def lotka_volterra(t, y, p):
    return np.array([p[0] * y[0] - p[1] * y[0] * y[1], -p[2] * y[1] + p[3] * y[0] * y[1]])


def prey_at_ten(t, y):
    return y[0] - 10.0


def test_explicit_events_and_max_events_overflow():
    params = np.array([1.5, 1.0, 3.0, 1.0]) * np.random.default_rng(4).uniform(0.8, 1.2, (5, 4))
    params[2] = [1.5, 1.0, 3.0, 0.05]  # prey never falls back to 10: fewer crossings

    def prey(t, y, p):
        return prey_at_ten(t, y)
    res = solve_ensemble(lotka_volterra, (0.0, 30.0), [10.0, 5.0], params=params,
                         events=prey, max_events=3, save="final", rtol=1e-8, atol=1e-10)
    assert res.t_events.shape == (5, 1, 3)
    over = int((res.n_events[:, 0] > 3).sum())
    assert over >= 3
    assert f"{over} trajectories had more than max_events=3 occurrences" in res.message
    for i in range(5):
        sol = fastode.solve_ivp(lotka_volterra, (0.0, 30.0), [10.0, 5.0], args=(params[i],),
                                events=prey, rtol=1e-8, atol=1e-10)
        assert_same(res, i, sol, events=True)


def test_events_without_params():
    def decay(t, y):
        return -y

    def at_half(t, y):
        return y[0] - 0.5
    at_half.terminal = True
    res = solve_ensemble(decay, (0.0, 5.0), [[1.0], [2.0], [0.25]], events=at_half,
                         method="Radau", save="final", rtol=1e-8, atol=1e-10)
    assert res.status.tolist() == [1, 1, 0]
    np.testing.assert_allclose(res.t_events[:2, 0, 0], [np.log(2.0), np.log(4.0)], rtol=1e-6)


# ---- store and resume ------------------------------------------------------------------------

def test_store_resume_with_stiff_method_and_events(tmp_path):
    store = str(tmp_path / "sweep")
    params = rates(9, seed=5)

    def stop(t, y, p):
        return y[0] - 0.5
    stop.terminal = True
    kw = dict(params=params, t_eval=T_EVAL, method="Radau", events=[stop, third_formed],
              chunk_size=3, jac=robertson_jac, **TOL)
    full = solve_ensemble(robertson, T_SPAN, Y0, store=store, **kw)
    assert sorted(f for f in os.listdir(store) if f.endswith(".npz")) == [
        "chunk_000000.npz", "chunk_000001.npz", "chunk_000002.npz"]
    again = load_ensemble(store)
    for name in ("y", "status", "t_events", "y_events", "n_events", "t_final"):
        np.testing.assert_array_equal(again[name], full[name])
    os.remove(os.path.join(store, "chunk_000001.npz"))
    with pytest.raises(ValueError, match="incomplete"):
        load_ensemble(store)
    resumed = solve_ensemble(robertson, T_SPAN, Y0, store=store, resume=True, **kw)
    for name in ("y", "status", "t_events", "y_events", "n_events", "nfev"):
        np.testing.assert_array_equal(resumed[name], full[name])
    # another event, method option or jac: a different sweep
    for change in (dict(events=[stop]), dict(max_events=4), dict(jac=None),
                   dict(method="BDF")):
        with pytest.raises(ValueError, match="different sweep"):
            solve_ensemble(robertson, T_SPAN, Y0, store=store, resume=True, **dict(kw, **change))


# ---- bad input --------------------------------------------------------------------------------

def not_compilable_event(t, y, p):
    import json  # noqa: F401  (numba cannot compile an import)
    return y[0] - 0.5


def not_compilable_jac(t, y, p):
    import json  # noqa: F401  (numba cannot compile an import)
    return robertson_jac(t, y, p)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(method="no_such_method"), ValueError, r"`method` must be one of \[.*'LSODA'"),
    (dict(method="LSODA", mass=np.eye(3)), ValueError, "`mass` is not supported"),
    (dict(method="Radau", linear_solver="krylov"), ValueError, "linear_solver='krylov'"),
    (dict(method="Radau", linear_solver="banded"), ValueError, "linear_solver='banded'"),
    (dict(method="BDF", lband=1), ValueError, "`lband` and `uband`"),
    (dict(method="BDF", jac_sparsity=np.ones((2, 2))), ValueError, "`jac_sparsity` must have"),
    (dict(method="Radau", jac=np.ones((2, 2))), ValueError, r"`jac` must have shape \(3, 3\)"),
    (dict(method="Rodas5P", step=0.1), ValueError, "`step` is for fixed-step"),
    (dict(method="Rodas5P", max_steps=-1), ValueError, "`max_steps`"),
    (dict(method="Radau", events=half_converted, event_samples=0), ValueError,
     "`event_samples`"),
    (dict(method="Radau", events=half_converted, max_events=1.5), ValueError, "`max_events`"),
    (dict(method="Radau", jac=not_compilable_jac), ValueError, "`jac` must be numba-compilable"),
    (dict(method="BDF", events=not_compilable_event), ValueError,
     r"`events\[0\]` must be numba-compilable"),
    (dict(events=[half_converted, 3]), TypeError, r"`events\[1\]` must be callable"),
])
def test_bad_input(kwargs, error, match):
    call = dict(fun=robertson, t_span=(0.0, 1.0), y0=Y0, params=rates(2))
    call.update(kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)  # the not-compilable cases warn first
        with pytest.raises(error, match=match):
            solve_ensemble(**call)
