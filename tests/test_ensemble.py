"""solve_ensemble (threads backend): agreement with one-by-one solve_ivp, isolated failures,
save modes, chunking and threads, the result store (interrupt + resume), bad input, and the
numba-callable driver."""
import os
import signal
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest

import fastode
from fastode.ensemble import EnsembleResult, load_ensemble, solve_ensemble
from fastode.ensemble_store import callable_fingerprint

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
T_EVAL = np.linspace(0.0, 15.0, 31)
LV_RATES = np.array([1.5, 1.0, 3.0, 1.0])


def lotka_volterra(t, y, p):
    return np.array([p[0] * y[0] - p[1] * y[0] * y[1], -p[2] * y[1] + p[3] * y[0] * y[1]])


def lv_params(n, seed=0):
    rng = np.random.default_rng(seed)
    return LV_RATES * rng.uniform(0.8, 1.2, (n, 4))


def lv_y0(n, seed=1):
    rng = np.random.default_rng(seed)
    return np.array([10.0, 5.0]) * rng.uniform(0.5, 1.5, (n, 2))


def riccati(t, y, p):
    """y' = p0 y^2: blows up at t = 1 / (p0 y0) when p0 > 0."""
    return np.array([p[0] * y[0] * y[0]])


def sqrt_rhs(t, y, p):
    """Non-finite (NaN) from the start when p0 < 0."""
    return np.array([np.sqrt(p[0] - t)])


def decay(t, y):
    return -y


def energy(t, y, p):
    """An observe function: LV's conserved quantity and the prey count."""
    v = p[3] * y[0] - p[2] * np.log(y[0]) + p[1] * y[1] - p[0] * np.log(y[1])
    return np.array([v, y[0]])


def assert_same_as_solve_ivp(res, i, sol, t_eval=None):
    """Trajectory i of an ensemble equals a one-by-one solve_ivp result, bitwise."""
    n_out = sol.t.size
    assert res.status[i] == sol.status
    assert res.success[i] == sol.success
    assert res.nfev[i] == sol.nfev and res.naccept[i] == sol.naccept
    assert res.nreject[i] == sol.nreject
    np.testing.assert_array_equal(res.y[i][:, :n_out], sol.y)
    if t_eval is not None:
        assert np.all(np.isnan(res.y[i][:, n_out:]))


# ---- agreement with solve_ivp ----------------------------------------------------------------

@pytest.mark.parametrize("method, options", [
    ("RK45", {}), ("DOP853", {}), ("Tsit5", {}), ("RK23", {}), ("Vern7", {}),
    ("rk4", {"step": 0.01}),
])
def test_matches_solve_ivp_one_by_one(method, options):
    params, y0 = lv_params(12), lv_y0(12)
    res = solve_ensemble(lotka_volterra, (0.0, 15.0), y0, params=params, t_eval=T_EVAL,
                         method=method, rtol=1e-7, atol=1e-9, **options)
    assert isinstance(res, EnsembleResult)
    assert res.y.shape == (12, 2, T_EVAL.size)
    np.testing.assert_array_equal(res.t, T_EVAL)
    assert res.success.all() and res.failures["count"] == 0
    for i in range(12):
        sol = fastode.solve_ivp(lotka_volterra, (0.0, 15.0), y0[i], method=method,
                                t_eval=T_EVAL, args=(params[i],), rtol=1e-7, atol=1e-9, **options)
        assert_same_as_solve_ivp(res, i, sol)


def test_shared_y0_per_trajectory_tolerances_and_step_options():
    params = lv_params(6)
    kw = dict(rtol=[1e-6, 1e-8], atol=1e-9, max_step=0.5, first_step=1e-3)
    res = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], params=params,
                         t_eval=T_EVAL, **kw)
    for i in range(6):
        sol = fastode.solve_ivp(lotka_volterra, (0.0, 15.0), [10.0, 5.0], t_eval=T_EVAL,
                                args=(params[i],), **kw)
        assert_same_as_solve_ivp(res, i, sol)


def test_backward_integration():
    params = lv_params(4)
    res = solve_ensemble(lotka_volterra, (5.0, 0.0), [10.0, 5.0], params=params,
                         t_eval=[5.0, 2.5, 0.0], rtol=1e-8, atol=1e-10)
    for i in range(4):
        sol = fastode.solve_ivp(lotka_volterra, (5.0, 0.0), [10.0, 5.0], t_eval=[5.0, 2.5, 0.0],
                                args=(params[i],), rtol=1e-8, atol=1e-10)
        assert_same_as_solve_ivp(res, i, sol)


def test_without_params_y0_per_trajectory():
    y0 = np.arange(1.0, 6.0)[:, None] * np.ones((5, 3))
    res = solve_ensemble(decay, (0.0, 2.0), y0, save="final", rtol=1e-10, atol=1e-12)
    assert res.y.shape == (5, 3)
    np.testing.assert_allclose(res.y, y0 * np.exp(-2.0), rtol=1e-8)
    sol = fastode.solve_ivp(decay, (0.0, 2.0), y0[3], rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(res.y[3], sol.y[:, -1])


def test_n_traj_copies_of_one_problem():
    res = solve_ensemble(decay, (0.0, 1.0), [1.0, 2.0], n_traj=3, save="final")
    assert res.y.shape == (3, 2)
    assert np.all(res.y == res.y[0])


def test_save_final_is_the_last_state_of_solve_ivp():
    params = lv_params(8)
    res = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], params=params, save="final",
                         rtol=1e-6, atol=1e-9)
    assert res.y.shape == (8, 2)
    np.testing.assert_array_equal(res.t, [15.0])
    for i in range(8):
        sol = fastode.solve_ivp(lotka_volterra, (0.0, 15.0), [10.0, 5.0], args=(params[i],),
                                rtol=1e-6, atol=1e-9)
        np.testing.assert_array_equal(res.y[i], sol.y[:, -1])
        assert res.nfev[i] == sol.nfev


def test_no_t_eval_keeps_the_state_at_t_bound():
    params = lv_params(3)
    res = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], params=params)
    final = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], params=params,
                           save="final")
    assert res.y.shape == (3, 2, 1)
    np.testing.assert_array_equal(res.y[:, :, 0], final.y)


def test_observe_function():
    params = lv_params(5)
    res = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], params=params,
                         t_eval=T_EVAL, save=energy, rtol=1e-8, atol=1e-10)
    full = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], params=params,
                          t_eval=T_EVAL, rtol=1e-8, atol=1e-10)
    assert res.save == "observe" and res.y.shape == (5, 2, T_EVAL.size)
    for i in range(5):
        for k in (0, 10, 30):
            np.testing.assert_allclose(res.y[i, :, k], energy(T_EVAL[k], full.y[i, :, k],
                                                              params[i]), rtol=1e-14)
    # the invariant is conserved to about the tolerance
    assert np.max(np.abs(res.y[:, 0, :] - res.y[:, 0, :1])) < 1e-5
    # scalar-valued observe at t_bound only
    peak = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], params=params,
                          save=lambda t, y, p: y[0] + y[1], rtol=1e-8, atol=1e-10)
    assert peak.y.shape == (5, 1, 1)
    np.testing.assert_allclose(peak.y[:, 0, 0], full.y[:, :, -1].sum(axis=1), rtol=1e-14)


def test_cfunc_rhs_and_cfunc_observe():
    from numba import carray, cfunc

    from fastode.rhs import RHS_SIGNATURE

    @cfunc(RHS_SIGNATURE)
    def lv_c(t, y_ptr, p_ptr, out_ptr):
        y, p, out = carray(y_ptr, (2,)), carray(p_ptr, (4,)), carray(out_ptr, (2,))
        out[0] = p[0] * y[0] - p[1] * y[0] * y[1]
        out[1] = -p[2] * y[1] + p[3] * y[0] * y[1]

    @cfunc(RHS_SIGNATURE)
    def total(t, y_ptr, p_ptr, out_ptr):
        y, out = carray(y_ptr, (2,)), carray(out_ptr, (1,))
        out[0] = y[0] + y[1]

    params = lv_params(6)
    kw = dict(params=params, t_eval=T_EVAL, rtol=1e-6, atol=1e-9)
    res = solve_ensemble(lv_c, (0.0, 15.0), [10.0, 5.0], **kw)
    ref = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], **kw)
    np.testing.assert_array_equal(res.y, ref.y)
    obs = solve_ensemble(lv_c, (0.0, 15.0), [10.0, 5.0], save=total, n_obs=1, **kw)
    np.testing.assert_array_equal(obs.y[:, 0], ref.y.sum(axis=1))
    with pytest.raises(TypeError, match="n_obs"):
        solve_ensemble(lv_c, (0.0, 15.0), [10.0, 5.0], save=total, **kw)


# ---- failures ----------------------------------------------------------------------------------

def test_failures_are_isolated():
    # rows 1 and 3 blow up (finite-time singularity), row 4 hits NaN, row 5 runs out of steps
    params = np.array([[-1.0], [1.0], [-2.0], [3.0], [-0.5], [-1.5]])
    t_eval = [0.2, 0.5, 1.0, 2.0]
    kw = dict(rtol=1e-6, atol=1e-9)
    res = solve_ensemble(riccati, (0.0, 2.0), [1.0], params=params, t_eval=t_eval, **kw)
    assert res.success.tolist() == [True, False, True, False, True, True]
    assert res.failures["count"] == 2
    assert res.failures["indices"].tolist() == [1, 3]
    assert "2 failed" in res.message and "[1, 3]" in res.message
    for i in range(6):
        sol = fastode.solve_ivp(riccati, (0.0, 2.0), [1.0], t_eval=t_eval, args=(params[i],),
                                **kw)
        assert_same_as_solve_ivp(res, i, sol, t_eval)
        assert res.messages[i] == sol.message
    assert res.t_final[1] < 1.01 and res.t_final[0] == 2.0
    np.testing.assert_allclose(res.y[0, 0], 1.0 / (1.0 + np.array(t_eval)), rtol=1e-5)

    nan = solve_ensemble(sqrt_rhs, (0.0, 2.0), [0.0], params=[[3.0], [-1.0]], save="final")
    assert nan.status_code.tolist() == [0, -3]
    assert "non-finite" in nan.messages[1] and nan.success.tolist() == [True, False]

    few = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0],
                         params=LV_RATES * np.array([[1.0], [3.0]]), save="final",
                         max_steps=400, rtol=1e-6, atol=1e-9)
    assert few.status_code.tolist() == [0, -2]
    assert "max_steps=400" in few.messages[1]


def test_python_fallback_gets_each_rows_params():
    class Holder:
        k = 2.0
    holder = Holder()

    def uncompilable(t, y, p):  # numba cannot type `holder`
        if p[0] > 2.5:
            raise RuntimeError("boom")
        return -holder.k * p[0] * y

    params = np.array([[1.0], [2.0], [3.0], [0.5]])
    with pytest.warns(fastode.FallbackWarning):
        res = solve_ensemble(uncompilable, (0.0, 1.0), [1.0], params=params, save="final",
                             rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(res.y[[0, 1, 3], 0], np.exp(-2.0 * params[[0, 1, 3], 0]),
                               rtol=1e-6)
    assert res.success.tolist() == [True, True, False, True]
    assert "RuntimeError: boom" in res.message


# ---- chunks and threads ----------------------------------------------------------------------

def test_chunks_and_threads_do_not_change_results():
    params, y0 = lv_params(50), lv_y0(50)
    kw = dict(params=params, t_eval=T_EVAL, rtol=1e-6, atol=1e-9)
    before = numba.get_num_threads()
    one = solve_ensemble(lotka_volterra, (0.0, 15.0), y0, n_threads=1, **kw)
    assert numba.get_num_threads() == before
    many = solve_ensemble(lotka_volterra, (0.0, 15.0), y0,
                          n_threads=numba.config.NUMBA_NUM_THREADS, chunk_size=7, **kw)
    assert numba.get_num_threads() == before
    np.testing.assert_array_equal(one.y, many.y)
    np.testing.assert_array_equal(one.nfev, many.nfev)


def test_progress_bar_and_callback(capsys):
    calls = []
    solve_ensemble(decay, (0.0, 1.0), [1.0], n_traj=10, chunk_size=3,
                   progress=lambda done, total: calls.append((done, total)))
    assert calls == [(3, 10), (6, 10), (9, 10), (10, 10)]
    solve_ensemble(decay, (0.0, 1.0), [1.0], n_traj=10, chunk_size=3, progress=True)
    err = capsys.readouterr().err
    assert "solve_ensemble" in err and "traj/s" in err and "10/10" in err


def test_empty_ensemble():
    res = solve_ensemble(lotka_volterra, (0.0, 1.0), [10.0, 5.0], params=np.zeros((0, 4)),
                         t_eval=[0.5, 1.0])
    assert res.y.shape == (0, 2, 2) and res.status.shape == (0,)


# ---- store and resume ------------------------------------------------------------------------

class Stop(Exception):
    pass


def _stop_after(n_chunks):
    seen = []

    def callback(done, total):
        seen.append(done)
        if len(seen) == n_chunks:
            raise Stop
    return callback


def test_store_resume_after_interruption_gives_identical_results(tmp_path):
    params, y0 = lv_params(40), lv_y0(40)
    kw = dict(params=params, t_eval=T_EVAL, rtol=1e-6, atol=1e-9, chunk_size=6)
    store = tmp_path / "sweep"
    with pytest.raises(Stop):
        solve_ensemble(lotka_volterra, (0.0, 15.0), y0, store=store, progress=_stop_after(3),
                       **kw)
    assert len(list(store.glob("chunk_*.npz"))) == 3
    with pytest.raises(ValueError, match="incomplete"):
        load_ensemble(store)
    progress = []
    resumed = solve_ensemble(lotka_volterra, (0.0, 15.0), y0, store=store, resume=True,
                             progress=lambda done, total: progress.append(done), **kw)
    assert progress == [24, 30, 36, 40]  # only the 4 missing chunks ran
    fresh = solve_ensemble(lotka_volterra, (0.0, 15.0), y0, **kw)
    for key in ("y", "status", "nfev", "naccept", "nreject", "t_final"):
        np.testing.assert_array_equal(resumed[key], fresh[key])
    loaded = load_ensemble(store)
    np.testing.assert_array_equal(loaded.y, fresh.y)
    assert loaded.message == fresh.message


def test_store_killed_process_resumes(tmp_path):
    store = tmp_path / "killed"
    script = textwrap.dedent(f"""
        import os, signal, sys
        import numpy as np
        sys.path.insert(0, {os.path.join(ROOT, 'tests')!r})
        sys.path.insert(0, {ROOT!r})
        from test_ensemble import lotka_volterra, lv_params, T_EVAL
        from fastode.ensemble import solve_ensemble

        def kill_after_two(done, total):
            if done >= 10:
                os.kill(os.getpid(), signal.SIGKILL)

        solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], params=lv_params(25),
                       t_eval=T_EVAL, rtol=1e-6, atol=1e-9, chunk_size=5,
                       store={str(store)!r}, progress=kill_after_two)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert sorted(p.name for p in store.glob("chunk_*")) == ["chunk_000000.npz",
                                                             "chunk_000001.npz"]
    kw = dict(params=lv_params(25), t_eval=T_EVAL, rtol=1e-6, atol=1e-9)
    resumed = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], store=store,
                             resume=True, **kw)
    fresh = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], **kw)
    np.testing.assert_array_equal(resumed.y, fresh.y)
    np.testing.assert_array_equal(resumed.nfev, fresh.nfev)


def test_store_refuses_other_inputs(tmp_path):
    store = tmp_path / "s"
    params = lv_params(10)
    kw = dict(t_eval=T_EVAL, rtol=1e-6, atol=1e-9, chunk_size=4)
    solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], params=params, store=store, **kw)
    with pytest.raises(FileExistsError, match="resume=True"):
        solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], params=params, store=store,
                       **kw)
    # resuming a complete store solves nothing and returns the stored results
    again = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], params=params,
                           store=store, resume=True,
                           progress=lambda *a: pytest.fail("nothing should run"), **kw)
    assert again.success.all()
    changes = {
        "params": dict(params=params * 1.01),
        "y0": dict(y0=[10.0, 5.5]),
        "rtol": dict(rtol=1e-7),
        "t_eval": dict(t_eval=T_EVAL[:-1]),
        "t_span": dict(t_span=(0.0, 16.0)),
        "method": dict(method="DOP853"),
        "fun": dict(fun=energy),
        "save": dict(save="final", t_eval=None),
    }
    for name, change in changes.items():
        call = dict(fun=lotka_volterra, t_span=(0.0, 15.0), y0=[10.0, 5.0], params=params,
                    store=store, resume=True, **kw)
        call.update(change)
        with pytest.raises(ValueError, match=f"different sweep: .*{name}"):
            solve_ensemble(**call)


def test_function_fingerprint():
    def make(k):
        def f(t, y, p):
            return -k * y
        return f

    assert callable_fingerprint(make(1.0)) == callable_fingerprint(make(1.0))
    assert callable_fingerprint(make(1.0)) != callable_fingerprint(make(2.0))
    assert callable_fingerprint(lotka_volterra) != callable_fingerprint(energy)
    assert callable_fingerprint(numba.njit(lotka_volterra)) == \
        callable_fingerprint(lotka_volterra)


# ---- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, error, match", [
    (dict(y0=np.ones((3, 2)), params=np.ones((4, 4))), ValueError,
     "trajectories disagrees: `params` has 4 rows, `y0` has 3 rows"),
    (dict(params=np.ones((4, 4)), n_traj=5), ValueError, "n_traj"),
    (dict(params=np.ones(4)), ValueError, "`params` must be 2-dimensional"),
    (dict(params=np.ones((3, 4)) * np.array([[1], [np.nan], [1]])), ValueError,
     r"`params` must be finite: params\[1, 0\]"),
    (dict(params=np.full((2, 4), np.inf)), ValueError, "`params` must be finite"),
    (dict(params=np.ones((2, 0))), ValueError, "`params` has no columns"),
    (dict(params=[["a", "b"]]), TypeError, "`params` must contain real numbers"),
    (dict(y0=[[1.0, np.nan]]), ValueError, "`y0` must be finite"),
    (dict(y0=np.ones((2, 2, 2))), ValueError, "`y0` must have shape"),
    (dict(y0=[1.0 + 1j, 2.0]), TypeError, "complex"),
    (dict(y0=[1.0, 2.0, 3.0]), ValueError, r"`fun` returned shape \(2,\)"),
    (dict(t_span=(0.0, np.inf)), ValueError, "`t_span`"),
    (dict(t_eval=[20.0]), ValueError, "`t_eval`"),
    (dict(rtol=-1.0), ValueError, "`rtol`"),
    (dict(atol=[1.0, 2.0, 3.0]), ValueError, "`atol`"),
    (dict(method="nope"), ValueError, "`method`"),
    (dict(method="rk4"), ValueError, "needs a step size"),
    (dict(save="everything"), ValueError, "`save`"),
    (dict(save="final", t_eval=[1.0]), ValueError, "`t_eval` has no effect"),
    (dict(n_threads=0), ValueError, "`n_threads`"),
    (dict(n_threads=10_000), ValueError, "`n_threads`"),
    (dict(chunk_size=0), ValueError, "`chunk_size`"),
    (dict(backend="mpi"), ValueError, "`backend`"),
    (dict(resume=True), ValueError, "`resume=True` needs a `store`"),
    (dict(args=(1.0,)), TypeError, "`args`: pass per-trajectory parameters as `params`"),
    (dict(events=[3]), TypeError, r"`events\[0\]` must be callable"),
    (dict(events=lambda t, y, p: y[0], max_events=0), ValueError, "`max_events`"),
    (dict(progress="yes"), TypeError, "`progress`"),
    (dict(fun=3), TypeError, "`fun` must be callable"),
    (dict(save=lambda t, y, p: np.ones((2, 2))), ValueError, "observe function"),
    (dict(max_steps=0), ValueError, "`max_steps`"),
])
def test_bad_input(kwargs, error, match):
    call = dict(fun=lotka_volterra, t_span=(0.0, 1.0), y0=[10.0, 5.0], params=lv_params(4))
    call.update(kwargs)
    with pytest.raises(error, match=match):
        solve_ensemble(**call)


def test_unknown_option_warns_like_scipy():
    with pytest.warns(UserWarning, match="no effect"):
        solve_ensemble(decay, (0.0, 1.0), [1.0], n_traj=2, save="final", colour="red")


# ---- numba users -----------------------------------------------------------------------------

def test_numba_callable_driver():
    import fastode.nb as fnb
    from fastode.kernels.ensemble import nb_solve_ensemble

    rhs = fnb.compile_rhs(lotka_volterra, n=2, n_params=4)
    tableau = fnb.tableau("DOP853")

    @numba.njit
    def prey_at_end(address, params, tableau, t_eval):
        status, y = nb_solve_ensemble(address, params, 0.0, 15.0, np.array([10.0, 5.0]), 1e-6,
                                      1e-9, tableau, t_eval)
        return status, y[:, 0, -1].copy()

    params = lv_params(20)
    status, prey = prey_at_end(rhs.address, params, tableau, T_EVAL)
    res = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], params=params,
                         t_eval=T_EVAL, method="DOP853", rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(prey, res.y[:, 0, -1])
    assert (status == 0).all()
