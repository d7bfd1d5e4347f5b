"""solve_ensemble(backend="dask") on a LocalCluster with 2 worker processes: equal to the threaded
backend, writes the store, and survives a worker killed in the middle of a sweep."""
import os

import numpy as np
import pytest

pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

from fastode.ensemble import load_ensemble, solve_ensemble  # noqa: E402

LV_RATES = np.array([1.5, 1.0, 3.0, 1.0])
T_EVAL = np.linspace(0.0, 15.0, 51)


def lotka_volterra(t, y, p):
    return np.array([p[0] * y[0] - p[1] * y[0] * y[1], -p[2] * y[1] + p[3] * y[0] * y[1]])


def prey_and_predators(t, y, p):
    return np.array([y[0] + y[1]])


def decay(t, y):
    return -y


def lv_params(n, seed=0):
    return LV_RATES * np.random.default_rng(seed).uniform(0.8, 1.2, (n, 4))


def test_dask_needs_a_client():
    # runs before the cluster fixture exists: no default client yet
    try:
        distributed.default_client()
    except ValueError:
        with pytest.raises(ValueError, match="needs a `client`"):
            solve_ensemble(lotka_volterra, (0.0, 1.0), [10.0, 5.0], params=lv_params(2),
                           backend="dask")
    else:  # pragma: no cover - another module left a default client behind
        pytest.skip("a default dask client is active")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=50)
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def test_dask_equals_threads(client, tmp_path):
    params = lv_params(600)
    kw = dict(params=params, t_eval=T_EVAL, rtol=1e-7, atol=1e-9)
    threads = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], **kw)
    dask = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], backend="dask",
                          client=client, n_threads=1, chunk_size=50, store=tmp_path / "s", **kw)
    for key in ("y", "status", "nfev", "naccept", "nreject", "t_final"):
        np.testing.assert_array_equal(dask[key], threads[key])
    np.testing.assert_array_equal(load_ensemble(tmp_path / "s").y, threads.y)
    # an observe function and per-trajectory y0 travel to the workers too
    y0 = np.array([10.0, 5.0]) * np.random.default_rng(3).uniform(0.5, 1.5, (600, 2))
    kw.update(save=prey_and_predators)
    threads = solve_ensemble(lotka_volterra, (0.0, 15.0), y0, **kw)
    dask = solve_ensemble(lotka_volterra, (0.0, 15.0), y0, backend="dask", client=client,
                          n_threads=1, chunk_size=70, **kw)
    np.testing.assert_array_equal(dask.y, threads.y)
    # identical copies of one problem (no params, one y0): each task still gets its row count
    copies = solve_ensemble(decay, (0.0, 1.0), [1.0, 2.0], n_traj=130, save="final",
                            backend="dask", client=client, n_threads=1, chunk_size=50)
    assert copies.y.shape == (130, 2) and np.all(copies.y == copies.y[0])


def test_dask_with_a_cfunc_rhs(client):
    from numba import carray, cfunc

    from fastode.rhs import RHS_SIGNATURE

    @cfunc(RHS_SIGNATURE)
    def lv_c(t, y_ptr, p_ptr, out_ptr):
        y, p, out = carray(y_ptr, (2,)), carray(p_ptr, (4,)), carray(out_ptr, (2,))
        out[0] = p[0] * y[0] - p[1] * y[0] * y[1]
        out[1] = -p[2] * y[1] + p[3] * y[0] * y[1]

    kw = dict(params=lv_params(200), t_eval=T_EVAL, rtol=1e-6, atol=1e-9)
    dask = solve_ensemble(lv_c, (0.0, 15.0), [10.0, 5.0], backend="dask", client=client,
                          n_threads=1, chunk_size=50, **kw)
    threads = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], **kw)
    np.testing.assert_array_equal(dask.y, threads.y)


def test_worker_killed_mid_sweep(client):
    params = lv_params(3000, seed=1)
    kw = dict(params=params, t_eval=T_EVAL, rtol=1e-9, atol=1e-12)
    threads = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], **kw)
    killed = []

    def kill_a_busy_worker(done, total):
        if killed:
            return
        processing = client.processing()
        victim = max(processing, key=lambda w: len(processing[w]))
        assert processing[victim], "the sweep should still be running"
        killed.append(victim)
        # os._exit in the worker's process, at once (client.run does not wait for its tasks)
        client.run(os._exit, 1, workers=[victim], on_error="ignore")

    dask = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], backend="dask",
                          client=client, n_threads=1, chunk_size=100,
                          progress=kill_a_busy_worker, **kw)
    assert killed and killed[0] not in client.scheduler_info()["workers"]
    for key in ("y", "status", "nfev", "naccept", "nreject"):
        np.testing.assert_array_equal(dask[key], threads[key])
    assert dask.success.all()


def robertson(t, y, p):
    return np.array([-p[0] * y[0] + p[2] * y[1] * y[2],
                     p[0] * y[0] - p[2] * y[1] * y[2] - p[1] * y[1] * y[1],
                     p[1] * y[1] * y[1]])


def robertson_jac(t, y, p):
    return np.array([[-p[0], p[2] * y[2], p[2] * y[1]],
                     [p[0], -p[2] * y[2] - 2.0 * p[1] * y[1], -p[2] * y[1]],
                     [0.0, 2.0 * p[1] * y[1], 0.0]])


def half_converted(t, y, p):
    return y[0] - 0.5


half_converted.terminal = True


def test_dask_stiff_method_with_events_and_jac(client, tmp_path):
    rng = np.random.default_rng(7)
    params = np.array([0.04, 3e7, 1e4]) * np.exp(rng.uniform(np.log(0.5), np.log(2.0), (40, 3)))
    params[::3, 0] *= 1e-3  # these never reach y0 = 0.5: the event is not terminal for them
    kw = dict(params=params, t_eval=np.logspace(-5, 5, 11), method="Rodas5P", rtol=1e-6,
              atol=1e-10, jac=robertson_jac, events=half_converted)
    threads = solve_ensemble(robertson, (0.0, 1e5), [1.0, 0.0, 0.0], **kw)
    dask = solve_ensemble(robertson, (0.0, 1e5), [1.0, 0.0, 0.0], backend="dask", client=client,
                          n_threads=1, chunk_size=15, store=tmp_path / "stiff", **kw)
    assert set(threads.status.tolist()) == {0, 1}
    for key in ("y", "status", "nfev", "t_final", "t_events", "y_events", "n_events"):
        np.testing.assert_array_equal(dask[key], threads[key])
    np.testing.assert_array_equal(load_ensemble(tmp_path / "stiff").t_events, threads.t_events)
