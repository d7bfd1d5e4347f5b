"""solve_sde's chunked ensembles (fastode/sde/store.py): parameter sets x paths in chunks, the
resumable store of solve_ensemble, the Dask backend; every path keeps its random stream, so
the chunked result is the one-call result bit for bit."""
import os

import numpy as np
import pytest

from fastode.sde import solve_sde


def ou_f(t, y, p):
    return np.array([p[0] * (p[1] - y[0])])


def ou_g(t, y, p):
    return np.array([p[2]])


PARAMS = np.array([[1.0, 0.0, 0.3], [2.0, 1.0, 0.5], [0.5, -1.0, 0.2]])
KW = dict(method="EM", dt=0.01, seed=5, noise="additive", t_eval=np.linspace(0, 1, 11))


def same(a, b):
    for key in ("t", "y", "status", "counters"):
        np.testing.assert_array_equal(a[key], b[key])
    assert (a.nfev, a.naccept, a.success, a.message) == (b.nfev, b.naccept, b.success,
                                                         b.message)


@pytest.mark.parametrize("common", [True, False])
def test_chunks_equal_one_call(common):
    one = solve_sde(ou_f, ou_g, (0, 1), [0.5], params=PARAMS, n_paths=20, common_noise=common,
                    **KW)
    for chunk in (1, 7, 20):
        same(solve_sde(ou_f, ou_g, (0, 1), [0.5], params=PARAMS, n_paths=20,
                       common_noise=common, chunk_size=chunk, **KW), one)
    # without params, with first_path, and with supplied increments
    plain = dict(KW, first_path=3, args=(PARAMS[1],))
    same(solve_sde(ou_f, ou_g, (0, 1), [0.5], n_paths=9, chunk_size=4, **plain),
         solve_sde(ou_f, ou_g, (0, 1), [0.5], n_paths=9, **plain))
    dw = np.random.default_rng(0).normal(0, 0.1, (6, 100, 1))
    kw = dict(method="EM", noise="additive", dW=dw, n_paths=6, params=PARAMS)
    same(solve_sde(ou_f, ou_g, (0, 1), [0.5], chunk_size=4, **kw),
         solve_sde(ou_f, ou_g, (0, 1), [0.5], **kw))


def test_store_and_resume(tmp_path, monkeypatch):
    from fastode.sde import store as sde_store
    one = solve_sde(ou_f, ou_g, (0, 1), [0.5], params=PARAMS, n_paths=10, **KW)
    path = tmp_path / "paths"
    first = solve_sde(ou_f, ou_g, (0, 1), [0.5], params=PARAMS, n_paths=10, chunk_size=4,
                      store=path, **KW)
    same(first, one)
    files = sorted(f for f in os.listdir(path) if f.startswith("chunk_"))
    assert len(files) == 9  # 3 sets x (4 + 4 + 2 paths)
    # as if the run had been killed before two chunks were written: only those are solved
    os.remove(path / files[1])
    os.remove(path / files[7])
    calls = []
    original = sde_store._chunk
    monkeypatch.setattr(sde_store, "_chunk", lambda *a: calls.append(a[-3:]) or original(*a))
    resumed = solve_sde(ou_f, ou_g, (0, 1), [0.5], params=PARAMS, n_paths=10, chunk_size=4,
                        store=path, resume=True, **KW)
    same(resumed, one)
    assert calls == [(0, 4, 8), (2, 4, 8)]
    from fastode.ensemble import load_ensemble
    with pytest.raises(ValueError, match="solve_sde paths"):
        load_ensemble(path)
    with pytest.raises(FileExistsError, match="resume=True"):
        solve_sde(ou_f, ou_g, (0, 1), [0.5], params=PARAMS, n_paths=10, store=path, **KW)
    with pytest.raises(ValueError, match="different sweep"):
        solve_sde(ou_f, ou_g, (0, 1), [0.5], params=PARAMS * 1.01, n_paths=10, store=path,
                  resume=True, **KW)
    with pytest.raises(ValueError, match="different sweep"):
        solve_sde(ou_f, ou_g, (0, 1), [0.5], params=PARAMS, n_paths=10, store=path,
                  resume=True, **dict(KW, seed=6))


def test_store_bad_input(tmp_path):
    with pytest.raises(ValueError, match="fixed `seed`"):
        solve_sde(ou_f, ou_g, (0, 1), [0.5], args=(PARAMS[0],), method="EM", dt=0.1,
                  store=tmp_path / "s")
    with pytest.raises(ValueError, match="needs a `store`"):
        solve_sde(ou_f, ou_g, (0, 1), [0.5], args=(PARAMS[0],), method="EM", dt=0.1, seed=1,
                  resume=True)
    with pytest.raises(ValueError, match="backend"):
        solve_sde(ou_f, ou_g, (0, 1), [0.5], args=(PARAMS[0],), method="EM", dt=0.1, seed=1,
                  backend="mpi")
    with pytest.raises(ValueError, match="chunk_size"):
        solve_sde(ou_f, ou_g, (0, 1), [0.5], args=(PARAMS[0],), method="EM", dt=0.1, seed=1,
                  chunk_size=0)


def test_dask_backend_equals_threads(tmp_path):
    pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=50)
    client = distributed.Client(cluster)
    try:
        one = solve_sde(ou_f, ou_g, (0, 1), [0.5], params=PARAMS, n_paths=10, **KW)
        dask = solve_sde(ou_f, ou_g, (0, 1), [0.5], params=PARAMS, n_paths=10, chunk_size=4,
                         backend="dask", client=client, store=tmp_path / "d", **KW)
        same(dask, one)
        assert len([f for f in os.listdir(tmp_path / "d") if f.startswith("chunk_")]) == 9
    finally:
        client.close()
        cluster.close()
