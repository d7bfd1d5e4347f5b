"""``solve_sde(..., store=, resume=, chunk_size=, backend=, client=)``: an SDE ensemble
(parameter sets x paths) in chunks, written to the same resumable store as ``solve_ensemble``'s
(fastode.ensemble_store: ``manifest.json`` with the inputs' fingerprints, one ``.npz`` per
finished chunk) and optionally run as Dask tasks.

A chunk is paths ``a..b-1`` of one parameter set, solved by an ordinary ``solve_sde`` call with
``n_paths = b - a`` and the first path index moved so that every path keeps its random stream
(path r of set s: stream ``first_path + r`` with common noise, ``first_path + s * n_paths + r``
without): the chunked result is the one-call result, bit for bit, whatever the chunk size, the
backend or the order in which chunks finish.
"""
import hashlib
import math
import os
import time

import numpy as np

from .._version import __version__
from ..ensemble_input import _validate_params
from ..ensemble_store import (STORE_FORMAT, STORE_VERSION, _check_manifest, _digest, _Store,
                              callable_fingerprint)
from .result import SdeResult, summary_message

DEFAULT_CHUNK = 10_000  # paths per chunk (per set) when chunk_size is not given


def _chunk(solve_sde, drift, diffusion, t_span, y0, kw, s, a, b):
    """Paths a..b-1 of parameter set s by ``solve_sde`` (fastode.sde.api's, passed in: this
    module is imported by it): {"t", "out" (b - a, n, n_t), "status", "counters"}."""
    sub = dict(kw)
    params = kw["params"]
    n_paths = kw["n_paths"]
    sub["n_paths"] = b - a
    offset = a
    if params is not None:
        sub["params"] = params[s:s + 1]
        if not kw["common_noise"]:
            offset += s * n_paths  # the streams one call gives set s
        sub["common_noise"] = True  # one set: streams first_path + r
    sub["first_path"] = kw["first_path"] + offset
    if kw["dW"] is not None:
        sub["dW"] = kw["dW"][a:b]
    res = solve_sde(drift, diffusion, t_span, y0, **sub)
    out = res.y[0] if params is not None else res.y
    return {"t": res.t, "out": out, "status": np.asarray(res.status).reshape(-1),
            "counters": np.asarray(res.counters).reshape(-1, 4)}


def _fingerprints(drift, diffusion, t_span, y0, kw):
    """Per-input sha256 digests: a store from other inputs is refused on resume."""
    dderiv = kw["diffusion_derivative"]
    t_eval = kw["t_eval"]
    options = tuple((k, kw[k]) for k in ("method", "noise", "interpretation", "save", "dt",
                                         "rtol", "atol", "n_paths", "seed", "first_path",
                                         "max_steps", "first_step", "common_noise"))
    return {
        "drift": callable_fingerprint(drift),
        "diffusion": callable_fingerprint(diffusion),
        "diffusion_derivative": callable_fingerprint(dderiv) if dderiv is not None else "",
        "t_span": _digest(tuple(float(v) for v in t_span)),
        "y0": _digest(np.asarray(y0, dtype=np.float64)),
        "t_eval": _digest(None if t_eval is None else np.asarray(t_eval, dtype=np.float64)),
        "args": _digest(tuple(kw["args"])),
        "params": _digest(kw["params"]),
        "dW": _digest(kw["dW"]),
        "options": _digest(options),
    }


def solve_sde_chunked(solve_sde, drift, diffusion, t_span, y0, kw, store, resume, chunk_size,
                      backend, client, method_name):
    """The chunked ``solve_sde`` (see its ``store`` parameter); ``kw`` holds its keywords, with
    ``seed``, ``n_paths``, ``first_path`` and ``chunk_size`` already checked."""
    if store is not None and not isinstance(store, (str, os.PathLike)):
        raise TypeError(f"`store` must be a directory path; got {store!r}.")
    if resume and store is None:
        raise ValueError("`resume=True` needs a `store` to resume from.")
    if backend not in ("threads", "dask"):
        raise ValueError(f"`backend` must be 'threads' or 'dask'; got {backend!r}.")
    if client is not None and backend != "dask":
        raise ValueError("`client` is only used with backend='dask'.")
    kw = dict(kw)
    n_paths = kw["n_paths"]
    if kw["params"] is not None:
        kw["params"] = _validate_params(kw["params"])
    if kw["dW"] is not None:
        kw["dW"] = np.asarray(kw["dW"], dtype=np.float64)
    n_sets = 1 if kw["params"] is None else kw["params"].shape[0]
    chunk = chunk_size if chunk_size is not None else min(n_paths, DEFAULT_CHUNK)
    st_obj = _Store(store) if store is not None else None
    manifest = st_obj.read_manifest() if st_obj is not None else None
    if manifest is not None:
        if not resume:
            raise FileExistsError(f"`store` {st_obj.path!r} already holds an ensemble; pass "
                                  "resume=True to continue it, or use a new path.")
        if manifest.get("kind") != "sde":
            raise ValueError(f"`store` {st_obj.path!r} holds an ODE ensemble, not solve_sde "
                             "paths; use another path.")
        chunk = manifest["chunk_size"]  # the chunks on disk decide
    bounds = [(s, a, min(a + chunk, n_paths)) for s in range(n_sets)
              for a in range(0, n_paths, chunk)]
    n = np.asarray(y0).size
    expected = None
    if st_obj is not None:
        expected = {"format": STORE_FORMAT, "version": STORE_VERSION,
                    "inputs": _fingerprints(drift, diffusion, t_span, y0, kw),
                    "n_traj": n_sets * n_paths, "n": n, "n_out": n}
        if manifest is not None:
            expected["out_cols"] = manifest.get("out_cols")
            _check_manifest(st_obj, manifest, expected)

    rows = n_sets * n_paths
    state = {"t": None, "out": None}
    status = np.zeros(rows, dtype=np.int64)
    counters = np.zeros((rows, 4), dtype=np.int64)

    def place(j, got):
        s, a, b = bounds[j]
        lo, hi = s * n_paths + a, s * n_paths + b
        if state["out"] is None:
            state["t"] = got["t"]
            state["out"] = np.full((rows, n, got["t"].size), np.nan)
        state["out"][lo:hi] = got["out"]
        status[lo:hi] = got["status"]
        counters[lo:hi] = got["counters"]
        return lo, hi

    todo = list(range(len(bounds)))
    if manifest is not None:
        t_saved = np.load(os.path.join(st_obj.path, "t.npy"))
        todo = []
        for j, (s, a, b) in enumerate(bounds):
            lo = s * n_paths + a
            got = st_obj.read_chunk(j, lo, lo + b - a, (b - a, n, t_saved.size))
            if got is None:
                todo.append(j)
            else:
                place(j, {"t": t_saved, "out": got["out"], "status": got["status"],
                          "counters": got["counters"]})

    def finished(j, got):
        lo, hi = place(j, got)
        if st_obj is None:
            return
        if st_obj.read_manifest() is None:  # a new store: written once the output times exist
            st_obj.write_manifest(dict(expected, out_cols=int(got["t"].size), kind="sde",
                                       chunk_size=chunk, n_chunks=len(bounds),
                                       seed=str(kw["seed"]), fastode_version=__version__,
                                       created=time.strftime("%Y-%m-%d %H:%M:%S")), got["t"])
        st_obj.write_chunk(j, lo, hi, state["out"][lo:hi], status[lo:hi], counters[lo:hi])

    if backend == "threads" or not todo:
        for j in todo:  # each chunk is one solve_sde call, its paths in parallel (prange)
            s, a, b = bounds[j]
            finished(j, _chunk(solve_sde, drift, diffusion, t_span, y0, kw, s, a, b))
    else:
        _run_dask(client, solve_sde, drift, diffusion, t_span, y0, kw, bounds, todo, finished)
    totals = counters.sum(axis=0).tolist()
    out, st_arr, cnt = state["out"], status, counters
    if kw["params"] is not None:
        out = out.reshape(n_sets, n_paths, n, -1)
        st_arr = status.reshape(n_sets, n_paths)
        cnt = counters.reshape(n_sets, n_paths, 4)
    return SdeResult(t=state["t"], y=out, status=st_arr, success=bool((status >= 0).all()),
                     message=summary_message(status), nfev=totals[0], ngev=totals[1],
                     naccept=totals[2], nreject=totals[3], counters=cnt, seed=kw["seed"],
                     method=method_name, noise=kw["noise"],
                     interpretation=kw["interpretation"].lower())


def _run_dask(client, solve_sde, drift, diffusion, t_span, y0, kw, bounds, todo, finished):
    """The chunks as Dask tasks; results placed (and stored) as they complete."""
    try:
        from distributed import as_completed, default_client
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("backend='dask' needs dask.distributed: "
                          "pip install 'fastode[dask]'") from None
    if client is None:
        try:
            client = default_client()
        except ValueError:
            raise ValueError("backend='dask' needs a `client` (distributed.Client) or a "
                             "current default client.") from None
    token = hashlib.sha256(repr((time.time_ns(), os.getpid(), math.pi)).encode()).hexdigest()[:16]
    futures = {}
    for j in todo:
        s, a, b = bounds[j]
        fut = client.submit(_chunk, solve_sde, drift, diffusion, t_span, y0, kw, s, a, b,
                            key=f"fastode-sde-{token}-{j}", pure=False)
        futures[fut] = j
    try:
        for fut in as_completed(list(futures)):
            j = futures.pop(fut)
            finished(j, fut.result())
            fut.release()
    finally:
        if futures:
            client.cancel(list(futures))
