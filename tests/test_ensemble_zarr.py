"""solve_ensemble(..., store="x.zarr"): the Zarr store that xarray opens -- round trip, layout,
labels, interruption and resume, partial stores, refused inputs, save modes, the Dask backend, and
every new input check."""
import os
import signal
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

zarr = pytest.importorskip("zarr")
xr = pytest.importorskip("xarray")

import fastode  # noqa: E402
from fastode.ensemble import load_ensemble, solve_ensemble  # noqa: E402
from fastode.ensemble_store import _Store  # noqa: E402
from fastode.ensemble_zarr import NO_COUNT, NOT_SOLVED, ZarrStore  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LV_RATES = np.array([1.5, 1.0, 3.0, 1.0])
T_EVAL = np.linspace(0.0, 15.0, 31)
KEYS = ("t", "y", "status", "status_code", "success", "t_final", "nfev", "naccept", "nreject")
NAMES = ["alpha", "beta", "gamma", "delta"]


def lotka_volterra(t, y, p):
    return np.array([p[0] * y[0] - p[1] * y[0] * y[1], -p[2] * y[1] + p[3] * y[0] * y[1]])


def prey_and_predators(t, y, p):
    return np.array([y[0] + y[1], y[0] * y[1]])


def lv_params(n, seed=0):
    return LV_RATES * np.random.default_rng(seed).uniform(0.8, 1.2, (n, 4))


def assert_same_result(a, b):
    for key in KEYS:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert a.message == b.message and a.save == b.save


def open_zarr(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # consolidated metadata: xarray opens it without a warning
        return xr.open_zarr(path)


class Stop(Exception):
    pass


def stop_after(n_chunks):
    seen = []

    def callback(done, total):
        seen.append(done)
        if len(seen) == n_chunks:
            raise Stop
    return callback


# ---- round trip and layout -------------------------------------------------------------------

def test_round_trip_and_xarray_layout(tmp_path):
    params = lv_params(22)
    kw = dict(params=params, t_eval=T_EVAL, rtol=1e-6, atol=1e-9, chunk_size=5)
    fresh = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], **kw)
    path = tmp_path / "sweep.zarr"
    stored = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], store=path,
                            param_names=NAMES, state_names=["prey", "predator"], **kw)
    assert_same_result(stored, fresh)
    assert_same_result(load_ensemble(path), fresh)  # bitwise: the arrays, the summary
    assert not (path / "manifest.json").exists() and (path / "zarr.json").exists()

    ds = open_zarr(path)
    assert dict(ds.sizes) == {"traj": 22, "state": 2, "time": 31, "param": 4}
    assert ds.y.dims == ("traj", "state", "time")
    for name in ("status", "status_code", "t_final", "nfev", "naccept", "nreject", "complete"):
        assert ds[name].dims == ("traj",), name
    np.testing.assert_array_equal(ds.y.values, fresh.y)
    for name in ("status", "status_code", "t_final", "nfev", "naccept", "nreject"):
        np.testing.assert_array_equal(ds[name].values, fresh[name], err_msg=name)
        assert ds[name].dtype == fresh[name].dtype, name
    assert ds.complete.values.all()
    # coordinates: time, traj, the parameters (as a block and one per name), the labels
    assert {"time", "traj", "params", "param", "state", *NAMES} <= set(ds.coords)
    assert set(ds.data_vars) == {"y", "status", "status_code", "t_final", "nfev", "naccept",
                                 "nreject", "complete"}
    np.testing.assert_array_equal(ds.time.values, T_EVAL)
    np.testing.assert_array_equal(ds.traj.values, np.arange(22))
    np.testing.assert_array_equal(ds.params.values, params)
    assert ds.params.dims == ("traj", "param")
    assert list(ds.param.values) == NAMES and list(ds.state.values) == ["prey", "predator"]
    for k, name in enumerate(NAMES):
        assert ds[name].dims == ("traj",)
        np.testing.assert_array_equal(ds[name].values, params[:, k])
    # select by label and by parameter value
    prey = ds.y.sel(state="prey").values
    np.testing.assert_array_equal(prey, fresh.y[:, 0])
    big = ds.where((ds.alpha > 1.5).compute(), drop=True)
    np.testing.assert_array_equal(big.traj.values, np.flatnonzero(params[:, 0] > 1.5))
    # attributes
    attrs = ds.attrs
    assert attrs["method"] == fastode.methods.lookup("RK45").name
    assert attrs["rtol"] == [1e-6, 1e-6] and attrs["atol"] == [1e-9, 1e-9]
    assert attrs["t_span"] == [0.0, 15.0] and attrs["fastode_version"] == fastode.__version__
    assert attrs["save"] == "trajectory" and attrs["chunk_size"] == 5
    # chunked along traj with the ensemble's chunk size
    assert zarr.open_group(path, mode="r")["y"].chunks == (5, 2, 31)
    assert ds.y.encoding["chunks"] == (5, 2, 31)


def test_store_format_option_and_detection(tmp_path):
    kw = dict(params=lv_params(6), t_eval=T_EVAL, rtol=1e-6, atol=1e-9, chunk_size=4)
    path = tmp_path / "no_suffix"
    res = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], store=path,
                         store_format="zarr", **kw)
    assert (path / "zarr.json").exists()
    # resumed (and loaded) without store_format: what the path holds decides
    again = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], store=path, resume=True,
                           progress=lambda *a: pytest.fail("nothing should run"), **kw)
    assert_same_result(again, res)
    assert_same_result(load_ensemble(path), res)
    np.testing.assert_array_equal(open_zarr(path).y.values, res.y)
    # an npz store where the name says .zarr, on request
    npz = tmp_path / "npz.zarr"
    solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], store=npz, store_format="npz", **kw)
    assert (npz / "manifest.json").exists()
    assert_same_result(load_ensemble(npz), res)


# ---- interruption, resume, partial stores ------------------------------------------------------

def test_stopped_sweep_is_readable_and_resumes(tmp_path):
    params = lv_params(40)
    kw = dict(params=params, t_eval=T_EVAL, rtol=1e-6, atol=1e-9, chunk_size=6)
    path = tmp_path / "sweep.zarr"
    with pytest.raises(Stop):
        solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], store=path,
                       progress=stop_after(3), param_names=NAMES, **kw)
    fresh = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], **kw)
    # the partial store: finished chunks as solved, the others NaN / fill values
    ds = open_zarr(path)
    done = np.arange(40) < 18
    np.testing.assert_array_equal(ds.complete.values, done)
    np.testing.assert_array_equal(ds.y.values[done], fresh.y[done])
    assert np.isnan(ds.y.values[~done]).all() and np.isnan(ds.t_final.values[~done]).all()
    assert (ds.status.values[~done] == NOT_SOLVED).all()
    assert (ds.status_code.values[~done] == NOT_SOLVED).all()
    assert (ds.nfev.values[~done] == NO_COUNT).all()
    np.testing.assert_array_equal(ds.nfev.values[done], fresh.nfev[done])
    np.testing.assert_array_equal(ds.params.values, params)  # coordinates are there at once
    with pytest.raises(ValueError, match="incomplete"):
        load_ensemble(path)
    progress = []
    resumed = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], store=path, resume=True,
                             param_names=NAMES,
                             progress=lambda done, total: progress.append(done), **kw)
    assert progress == [24, 30, 36, 40]  # only the 4 missing chunks ran
    assert_same_result(resumed, fresh)
    assert_same_result(load_ensemble(path), fresh)
    np.testing.assert_array_equal(open_zarr(path).y.values, fresh.y)


def test_chunk_flagged_complete_only_after_its_data(tmp_path, monkeypatch):
    """Stop a chunk write just before its `complete` flags: its data is on disk, the chunk is
    not done, and a resume solves it again."""
    kw = dict(params=lv_params(20), t_eval=T_EVAL, rtol=1e-6, atol=1e-9, chunk_size=5)
    path = tmp_path / "s.zarr"
    written = []
    original_setitem = zarr.Array.__setitem__

    def recording_setitem(self, key, value):
        name, start = self.basename, getattr(key, "start", None)
        written.append((name, start))
        if name == "complete" and start == 10:
            raise Stop  # "killed" between the data and the flags of chunk 2
        original_setitem(self, key, value)

    monkeypatch.setattr(zarr.Array, "__setitem__", recording_setitem)
    with pytest.raises(Stop):
        solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], store=path, **kw)
    monkeypatch.undo()
    chunk2 = [name for name, lo in written if lo == 10]
    assert chunk2[-1] == "complete" and set(chunk2[:-1]) == {
        "y", "status", "status_code", "t_final", "nfev", "naccept", "nreject"}
    ds = open_zarr(path)
    np.testing.assert_array_equal(ds.complete.values, np.arange(20) < 10)
    assert not np.isnan(ds.y.values[10:15]).any()  # the data of chunk 2 was written
    progress = []
    resumed = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], store=path, resume=True,
                             progress=lambda done, total: progress.append(done), **kw)
    assert progress == [15, 20]
    assert_same_result(resumed, solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], **kw))


def test_killed_process_resumes(tmp_path):
    path = tmp_path / "killed.zarr"
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {os.path.join(ROOT, 'tests')!r})
        sys.path.insert(0, {ROOT!r})
        from test_ensemble_zarr import lotka_volterra, lv_params, T_EVAL
        from fastode.ensemble import solve_ensemble

        def kill_after_two(done, total):
            if done >= 10:
                os.kill(os.getpid(), signal.SIGKILL)

        solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], params=lv_params(25),
                       t_eval=T_EVAL, rtol=1e-6, atol=1e-9, chunk_size=5,
                       store={str(path)!r}, progress=kill_after_two)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    np.testing.assert_array_equal(open_zarr(path).complete.values, np.arange(25) < 10)
    kw = dict(params=lv_params(25), t_eval=T_EVAL, rtol=1e-6, atol=1e-9)
    resumed = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], store=path,
                             resume=True, **kw)
    assert_same_result(resumed, solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], **kw))


def test_refuses_other_inputs(tmp_path):
    path = tmp_path / "s.zarr"
    params = lv_params(10)
    kw = dict(t_eval=T_EVAL, rtol=1e-6, atol=1e-9, chunk_size=4)
    solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], params=params, store=path,
                   param_names=NAMES, **kw)
    with pytest.raises(FileExistsError, match="resume=True"):
        solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], params=params, store=path,
                       param_names=NAMES, **kw)
    changes = {
        "params": dict(params=params * 1.01),
        "y0": dict(y0=[10.0, 5.5]),
        "rtol": dict(rtol=1e-7),
        "t_eval": dict(t_eval=T_EVAL[:-1]),
        "method": dict(method="DOP853"),
        "save": dict(save="final", t_eval=None),
        "param_names": dict(param_names=["a", "b", "c", "d"]),
        "state_names": dict(state_names=["prey", "predator"]),
    }
    for name, change in changes.items():
        call = dict(fun=lotka_volterra, t_span=(0.0, 15.0), y0=[10.0, 5.0], params=params,
                    store=path, resume=True, param_names=NAMES, **kw)
        call.update(change)
        with pytest.raises(ValueError, match=f"different sweep: .*{name}"):
            solve_ensemble(**call)
    # a Zarr group that is not a fastode store is never overwritten
    other = tmp_path / "other.zarr"
    zarr.open_group(other, mode="w").create_array("x", shape=(3,), dtype="f8")
    with pytest.raises(ValueError, match="not a fastode ensemble store"):
        solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], params=params, store=other,
                       **kw)
    assert (other / "x").exists()
    # an npz store asked to be read as Zarr, and the other way round
    npz = tmp_path / "npz"
    solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], params=params, store=npz, **kw)
    with pytest.raises(ValueError, match="holds a 'npz' store"):
        solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], params=params, store=npz,
                       resume=True, store_format="zarr", **kw)
    with pytest.raises(ValueError, match="holds a 'zarr' store"):
        solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], params=params, store=path,
                       resume=True, store_format="npz", **kw)


# ---- save modes --------------------------------------------------------------------------------

def test_save_final(tmp_path):
    params = lv_params(9)
    kw = dict(params=params, save="final", rtol=1e-6, atol=1e-9, chunk_size=4)
    fresh = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], **kw)
    path = tmp_path / "final.zarr"
    solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], store=path,
                   state_names=["prey", "predator"], **kw)
    assert_same_result(load_ensemble(path), fresh)
    ds = open_zarr(path)
    assert ds.y.dims == ("traj", "state") and ds.y.shape == (9, 2)
    assert "time" in ds.coords and ds.time.shape == () and float(ds.time) == 15.0
    np.testing.assert_array_equal(ds.y.values, fresh.y)
    np.testing.assert_array_equal(ds.y.sel(state="predator").values, fresh.y[:, 1])


def test_trajectory_without_t_eval_with_failures(tmp_path):
    # max_steps stops the faster trajectories: y at t_bound is NaN for them, in the store too
    params = lv_params(8) * np.linspace(0.5, 3.0, 8)[:, None]
    kw = dict(params=params, rtol=1e-8, atol=1e-10, chunk_size=3, max_steps=300)
    fresh = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], **kw)
    assert 0 < fresh.failures["count"] < 8
    path = tmp_path / "t.zarr"
    solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], store=path, **kw)
    assert_same_result(load_ensemble(path), fresh)
    ds = open_zarr(path)
    assert ds.y.dims == ("traj", "state", "time") and list(ds.time.values) == [15.0]
    np.testing.assert_array_equal(ds.y.values, fresh.y)
    assert np.isnan(ds.y.values[~fresh.success]).all()
    np.testing.assert_array_equal(ds.status.values, fresh.status)


def test_observe(tmp_path):
    kw = dict(params=lv_params(10), t_eval=T_EVAL, save=prey_and_predators, rtol=1e-6,
              atol=1e-9, chunk_size=4)
    fresh = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], **kw)
    path = tmp_path / "obs.zarr"
    solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], store=path, **kw)
    assert_same_result(load_ensemble(path), fresh)
    ds = open_zarr(path)
    assert ds.y.dims == ("traj", "observable", "time") and ds.y.shape == (10, 2, 31)
    np.testing.assert_array_equal(ds.y.values, fresh.y)


def test_without_params(tmp_path):
    y0 = np.array([10.0, 5.0]) * np.random.default_rng(2).uniform(0.5, 1.5, (7, 2))

    def lv_fixed(t, y):
        return np.array([1.5 * y[0] - y[0] * y[1], -3.0 * y[1] + y[0] * y[1]])

    kw = dict(t_eval=T_EVAL, rtol=1e-6, atol=1e-9, chunk_size=3)
    fresh = solve_ensemble(lv_fixed, (0.0, 15.0), y0, **kw)
    path = tmp_path / "np.zarr"
    solve_ensemble(lv_fixed, (0.0, 15.0), y0, store=path, **kw)
    assert_same_result(load_ensemble(path), fresh)
    ds = open_zarr(path)
    assert "params" not in ds and "param" not in ds.dims
    np.testing.assert_array_equal(ds.y.values, fresh.y)


# ---- extra per-trajectory variables (events, later) --------------------------------------------

def test_extra_variables_hook(tmp_path):
    manifest = {"n_traj": 5, "chunk_size": 2, "n_out": 1, "out_cols": 3, "save": "trajectory",
                "summary": {}}
    path = tmp_path / "x.zarr"
    store = ZarrStore(path, extra_variables={"n_events": (("event",), (2,), "i8", -1)})
    store.write_manifest(manifest, np.array([0.0, 1.0, 2.0]))
    out = np.arange(6.0).reshape(2, 1, 3)
    counters = np.array([[10.0, 4.0, 1.0, 2.0], [12.0, 5.0, 0.0, 2.0]])
    status, n_events = np.array([0, 0]), np.array([[1, 0], [3, 2]])
    store.write_chunk(1, 2, 4, out, status, counters, n_events=n_events)
    got = store.read_chunk(1, 2, 4, (2, 1, 3))
    np.testing.assert_array_equal(got["out"], out)
    np.testing.assert_array_equal(got["counters"], counters)
    np.testing.assert_array_equal(got["n_events"], n_events)
    assert store.read_chunk(0, 0, 2, (2, 1, 3)) is None
    ds = open_zarr(path)
    assert ds.n_events.dims == ("traj", "event")
    np.testing.assert_array_equal(ds.n_events.values[2:4], n_events)
    assert (ds.n_events.values[[0, 1, 4]] == -1).all()
    with pytest.raises(KeyError):
        store.write_chunk(0, 0, 2, out, status, counters, undeclared=n_events)
    # the npz store carries them as well
    npz = _Store(tmp_path / "npz")
    os.makedirs(npz.path)
    npz.write_chunk(0, 0, 2, out, status, counters, n_events=n_events)
    np.testing.assert_array_equal(npz.read_chunk(0, 0, 2, (2, 1, 3))["n_events"], n_events)


# ---- Dask backend ------------------------------------------------------------------------------

def test_dask_backend_writes_the_zarr_store(tmp_path):
    pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    params = lv_params(60)
    kw = dict(params=params, t_eval=T_EVAL, rtol=1e-6, atol=1e-9)
    threads = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], **kw)
    path = tmp_path / "dask.zarr"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None, silence_logs=50) as cluster, \
            distributed.Client(cluster) as client:
        with pytest.raises(Stop):
            solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], backend="dask",
                           client=client, n_threads=1, chunk_size=10, store=path,
                           progress=stop_after(2), param_names=NAMES, **kw)
        assert open_zarr(path).complete.values.sum() == 20
        dask = solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], backend="dask",
                              client=client, n_threads=1, chunk_size=10, store=path,
                              resume=True, param_names=NAMES, **kw)
    assert_same_result(dask, threads)
    assert_same_result(load_ensemble(path), threads)
    ds = open_zarr(path)
    np.testing.assert_array_equal(ds.y.values, threads.y)
    np.testing.assert_array_equal(ds.beta.values, params[:, 1])


# ---- input checks ------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, error, match", [
    (dict(store_format="hdf5", store="s"), ValueError, "`store_format` must be"),
    (dict(store_format="zarr"), ValueError, "`store_format` needs a `store`"),
    (dict(param_names=NAMES), ValueError, "need store='....zarr'"),
    (dict(state_names=["a", "b"], store="plain"), ValueError, "need store='....zarr'"),
    (dict(param_names=NAMES[:3], store="s.zarr"), ValueError, "3 names for 4 parameters"),
    (dict(param_names=["a", "b", "a", "c"], store="s.zarr"), ValueError, "repeated: a"),
    (dict(param_names=["a", "b", "", "c"], store="s.zarr"), ValueError, "not usable"),
    (dict(param_names=["a", "b", "c/d", "e"], store="s.zarr"), ValueError, "not usable"),
    (dict(param_names=["a", "b", "y", "e"], store="s.zarr"), ValueError, "taken by the store"),
    (dict(param_names=["a", "b", "c", 4], store="s.zarr"), TypeError, "list of strings"),
    (dict(param_names="abcd", store="s.zarr"), TypeError, "list of strings"),
    (dict(param_names=None, state_names=["x"], store="s.zarr"), ValueError,
     "1 names for 2 state components"),
    (dict(state_names=["x", "x"], store="s.zarr"), ValueError, "repeated: x"),
    (dict(state_names=[1, 2], store="s.zarr"), TypeError, "list of strings"),
])
def test_input_checks(tmp_path, kwargs, error, match):
    kwargs = dict(kwargs)
    if "store" in kwargs:
        kwargs["store"] = tmp_path / kwargs["store"]
    with pytest.raises(error, match=match):
        solve_ensemble(lotka_volterra, (0.0, 1.0), [10.0, 5.0], params=lv_params(3), **kwargs)
    assert not os.listdir(tmp_path)  # refused before anything was written


def test_param_names_need_params(tmp_path):
    with pytest.raises(ValueError, match="`param_names` needs `params`"):
        solve_ensemble(lambda t, y: -y, (0.0, 1.0), [1.0], n_traj=2, store=tmp_path / "s.zarr",
                       param_names=["k"])


def test_missing_zarr_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "zarr", None)  # import zarr -> ImportError
    with pytest.raises(ImportError, match=r"pip install 'fastode\[zarr\]'"):
        solve_ensemble(lotka_volterra, (0.0, 1.0), [10.0, 5.0], params=lv_params(3),
                       store=tmp_path / "s.zarr")
    assert not os.listdir(tmp_path)
    # the npz store needs no zarr
    solve_ensemble(lotka_volterra, (0.0, 1.0), [10.0, 5.0], params=lv_params(3),
                   store=tmp_path / "s")


def test_load_ensemble_refuses_what_is_not_a_store(tmp_path):
    with pytest.raises(ValueError, match="not an ensemble store"):
        load_ensemble(tmp_path / "absent.zarr")
    zarr.open_group(tmp_path / "plain.zarr", mode="w").create_array("x", shape=(2,), dtype="f8")
    with pytest.raises(ValueError, match="not a fastode ensemble store"):
        load_ensemble(tmp_path / "plain.zarr")
