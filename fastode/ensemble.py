"""solve_ensemble: many trajectories of one model, in parallel, chunked, resumable, distributable.

Layers (docs/design.md, "Ensembles"):

* validation here (fastode.ensemble_input: the inputs, the step, stiff and event options) and
  compilation (the RHS once per process, like ``solve_ivp``; parameters travel as data, so new
  parameter values never recompile anything);
* fastode.ensemble_chunk: the plan of a sweep and the chunk runner, calling the family's prange
  kernel (fastode.kernels.ensemble for explicit methods, fastode.kernels.ensemble_stiff for the
  stiff families): each trajectory an independent call of the family's single-trajectory
  driver, writing into a slice of the result;
* chunks of trajectories: the unit of progress reporting, of the result files (``store=``,
  fastode.ensemble_store) that make a killed sweep resumable, and of the Dask tasks
  (``backend="dask"``, fastode.ensemble_dask); fastode.ensemble_result builds the result.

Adding a method family means adding its prange kernel and one entry in
fastode.ensemble_chunk; everything else (chunks, progress, store, Dask, events) is
family-agnostic.
"""
from __future__ import annotations

import math
import os
import warnings
from numbers import Integral
from typing import Any, Callable, Sequence, cast

import numpy as np
import numpy.typing as npt
import numba

from . import ensemble_batch as _batch, methods as method_registry
from .ensemble_chunk import (_chunk_shapes, _compile_for_plan, _compile_observe, _Plan,
                             _run_chunk, _Threads)
from .ensemble_dask import _run_dask
from .ensemble_input import (_default_chunk, _event_options, _F64, _resolve_n_traj,
                             _stiff_options, _step_options, _validate_params, _validate_y0,
                             _writeable, ENSEMBLE_FAMILIES)
from .ensemble_result import _chunk_bounds, _finish, EnsembleResult
from .ensemble_zarr import event_variables
from .ensemble_store import (STORE_FORMAT, STORE_VERSION, _check_manifest, _fingerprints,
                             check_store_options, new_manifest,
                             open_store)
from .ivp_common import validate_t_eval, validate_t_span, validate_tolerances
from .kernels import ensemble as kern
from .rhs import forget_stale_failures

__all__ = ["solve_ensemble", "EnsembleResult", "load_ensemble"]


def load_ensemble(path: str | os.PathLike[str]) -> EnsembleResult:
    """Read a complete result store (.npz folder or Zarr) from ``solve_ensemble(store=path)``.

    Missing chunks (a sweep still running, or killed) raise ``ValueError``: finish it with
    ``solve_ensemble(..., store=path, resume=True)``.

    Examples
    --------
    >>> import tempfile, numpy as np, fastode
    >>> def decay(t, y, p):
    ...     return -p[0] * y
    >>> store = tempfile.mkdtemp()
    >>> res = fastode.solve_ensemble(decay, (0.0, 1.0), [1.0], params=[[1.0], [2.0]],
    ...                              save="final", store=store)
    >>> again = fastode.load_ensemble(store)
    >>> bool(np.array_equal(again.y, res.y))
    True
    """
    store = open_store(path)
    manifest = store.read_manifest()
    if manifest is None:
        raise ValueError(f"`path` {os.fspath(path)!r} has no manifest (manifest.json or Zarr "
                         "attributes): not an ensemble store.")
    if manifest.get("kind") == "sde":
        raise ValueError(f"store {store.path!r} holds solve_sde paths: read it with "
                         "solve_sde(..., store=path, resume=True) and the same inputs.")
    n_traj, chunk = manifest["n_traj"], manifest["chunk_size"]
    n_events, max_events = manifest.get("n_events", 0), manifest.get("max_events", 0)
    shapes = _stored_shapes(manifest["n_out"], manifest["out_cols"], manifest["n"], n_events,
                            max_events)
    arrays = _empty_arrays(shapes, n_traj)
    missing = []
    for j, (lo, hi) in enumerate(_chunk_bounds(n_traj, chunk)):
        got = store.read_arrays(j, lo, hi, {k: (hi - lo,) + v for k, v in shapes.items()})
        if got is None:
            missing.append(j)
            continue
        for name, value in got.items():
            arrays[name][lo:hi] = value
    if missing:
        raise ValueError(f"store {store.path!r} is incomplete: {len(missing)} of "
                         f"{manifest['n_chunks']} chunks missing; finish the sweep with "
                         "solve_ensemble(..., store=path, resume=True).")
    t_out = store.read_times()
    return _finish(arrays, t_out, manifest["save"], manifest["options"],
                   manifest["trajectory_without_t_eval"], manifest["t1"], n_events > 0)


def _stored_shapes(n_out: int, out_cols: int, n: int, n_events: int,
                   max_events: int) -> dict[str, tuple[int, ...]]:
    """Name -> shape without the leading trajectory axis, of a sweep's arrays."""
    shapes: dict[str, tuple[int, ...]] = {"out": (n_out, out_cols), "status": (),
                                          "counters": (4,)}
    if n_events:
        shapes.update(ev_t=(n_events, max_events), ev_y=(n_events, max_events, n),
                      ev_n=(n_events,))
    return shapes


def _empty_arrays(shapes: dict[str, tuple[int, ...]], n_traj: int) -> dict[str, Any]:
    return {name: np.empty((n_traj,) + shape,
                           dtype=np.int64 if name in ("status", "ev_n") else np.float64)
            for name, shape in shapes.items()}


def solve_ensemble(fun: Callable[..., Any], t_span: npt.ArrayLike, y0: npt.ArrayLike,
                   params: npt.ArrayLike | None = None, t_eval: npt.ArrayLike | None = None,
                   method: str = "RK45", rtol: npt.ArrayLike = 1e-3, atol: npt.ArrayLike = 1e-6,
                   n_threads: int | None = None, chunk_size: int | None = None,
                   save: str | Callable[..., Any] = "trajectory", progress: bool = False,
                   store: str | os.PathLike[str] | None = None, resume: bool = False,
                   backend: str = "threads", client: Any = None, n_traj: int | None = None,
                   events: Callable[..., Any] | Sequence[Callable[..., Any]] | None = None,
                   max_events: int = 8, store_format: str | None = None,
                   param_names: Sequence[str] | None = None,
                   state_names: Sequence[str] | None = None, mode: str = "auto",
                   **options: Any) -> EnsembleResult:
    """Solve one ODE for many parameter sets and/or initial states, in parallel.

    Each trajectory is integrated independently (its own steps, controller, counters and
    status), exactly as ``fastode.solve_ivp(fun, t_span, y0[i], method, t_eval,
    args=(params[i],), ...)`` would integrate it (bitwise the same numbers), in a numba
    ``prange`` over threads. A trajectory that fails (blow-up, non-finite values, step-size
    collapse, ``max_steps``, Newton failures) is reported in ``status``/``failures``; the
    others are complete.

    Parameters
    ----------
    fun : callable
        ``fun(t, y, p) -> array (n,)`` with ``p`` one row of ``params`` (a float64 array), or
        ``fun(t, y)`` when ``params`` is None. Compiled with numba once per process (a numba
        ``@njit`` function or a ``@cfunc`` with fastode's RHS signature is used as it is); new
        parameter values never recompile. A function numba cannot compile runs through Python
        (one ``FallbackWarning``), correct but slow.
    t_span : (t0, t_bound)
    y0 : array_like, shape (n,) or (n_traj, n)
        One initial state for all trajectories, or one per trajectory. Real values only.
    params : array_like, shape (n_traj, n_params), optional
        One parameter row per trajectory; must be finite.
    t_eval : array_like, optional
        Output times (sorted, inside ``t_span``). None: only the state at ``t_bound``.
    method : str
        Any explicit method of ``solve_ivp`` (``'RK45'``, ``'RK23'``, ``'DOP853'``, ``'Tsit5'``,
        ``'Vern7'``, fixed-step ``'rk4'``, ... with ``step=``) or a stiff one: ``'Radau'``,
        ``'BDF'``, ``'Rodas5P'``, ``'Rodas4'``, ``'Rosenbrock23'``, ``'KenCarp4'``,
        ``'Kvaerno5'``, ``'implicit_euler'`` (and their aliases). Each stiff trajectory keeps its
        own Jacobian and LU. ``'LSODA'`` and ``'auto'`` switch per trajectory between their
        explicit and stiff legs (fastode.ivp_auto), each trajectory as ``solve_ivp`` would.
    rtol, atol : float or array (n,)
        Tolerances, as ``solve_ivp``.
    n_threads : int, optional
        numba threads for this call (default: numba's current setting; at most
        ``numba.config.NUMBA_NUM_THREADS``). Restored afterwards. With ``backend="dask"``: the
        threads each task uses on its worker (default: the worker's numba default).
    chunk_size : int, optional
        Trajectories per chunk: the unit of progress updates, of the ``store`` files and of the
        Dask tasks. Default about ``n_traj / 32`` (at least ``256 * n_threads``, at most
        50,000). Working memory beyond the result is one driver's work arrays per thread.
    save : "trajectory", "final" or callable
        ``"trajectory"``: ``y`` (n_traj, n, n_t). ``"final"``: ``y`` (n_traj, n), the state at
        ``t_bound`` (the last state reached for a failed trajectory). A callable
        ``observe(t, y, p) -> float or array (n_obs,)`` (``observe(t, y)`` without ``params``)
        keeps only those values at each output time: ``y`` (n_traj, n_obs, n_t). It is
        compiled with numba into a C function, so it never recompiles the kernel.
    progress : bool or callable
        True: a tqdm progress bar (trajectories/s), updated per chunk. A callable is called as
        ``progress(n_done, n_traj)`` after each chunk (raising from it stops the sweep; with a
        ``store`` the finished chunks are kept).
    store : str or os.PathLike, optional
        A directory for the results: one ``.npz`` per finished chunk (written atomically) and
        ``manifest.json`` recording fingerprints of every input (t_span, t_eval, y0, params,
        method, tolerances, step options, save mode, events, ``jac`` and the stiff options, and
        ``fun``'s qualified name and bytecode; with events the chunks hold them too).
        A path ending in ``.zarr``: a Zarr store (``pip install 'fastode[zarr]'``) that
        ``xarray.open_zarr`` reads at any time, ``params`` as coordinates, the same fingerprints
        (fastode.ensemble_zarr; events as ``t_events``, ``y_events``, ``n_events``). Read either
        back with :func:`load_ensemble`.
    resume : bool
        With ``store``: reuse the chunks already there (a sweep killed half-way continues where
        it stopped). A store written for different inputs raises ``ValueError``. Without
        ``resume``, an existing store raises ``FileExistsError``.
    backend : "threads" or "dask"
        ``"dask"``: chunks become tasks on a ``dask.distributed`` cluster, each running the same
        threaded kernel on its worker (``fun`` must be picklable: plain functions are, through
        cloudpickle; each worker compiles it once). Results are gathered here (and written to
        ``store``); a lost worker's chunks are recomputed by Dask. Give each worker one Dask
        thread and let ``n_threads`` (numba) use its cores.
    client : distributed.Client, optional
        The Dask client (default: the current one).
    n_traj : int, optional
        The number of trajectories when neither ``params`` nor ``y0`` gives it (identical
        trajectories); when they do, it must agree.
    events : callable or list of callables, optional
        Per-trajectory events as in ``solve_ivp``: ``event(t, y, p) -> float``
        (``event(t, y)`` without ``params``), numba-compilable, with scipy's ``terminal`` and
        ``direction`` attributes. A terminal event ends that trajectory (status 1, ``t_final``
        the event time; ``save="final"`` then keeps the state at the event).
    max_events : int
        Occurrences kept per event and trajectory (default 8): ``t_events`` has shape
        (n_traj, n_events, max_events) and ``y_events`` (n_traj, n_events, max_events, n),
        NaN-padded, i.e. ``n_traj * n_events * max_events * (n + 1) * 8`` bytes. Later
        occurrences are counted in ``n_events`` and the result's message says how many
        trajectories had more.
    store_format : "npz" or "zarr", optional
        The store's format (default: what the path holds, else ``"zarr"`` for ``*.zarr``).
    param_names, state_names : list of str, optional
        Zarr store only: labels of the ``param`` and ``state`` dimensions (one 1-D coordinate
        along ``traj`` per parameter name).
    mode : "auto", "default" or "batch"
        The explicit methods' driver: ``"default"`` one trajectory per thread at a time;
        ``"batch"`` lock-step lanes of trajectories with a vectorised RHS (fastode.ensemble_batch;
        the same results, bitwise); ``"auto"`` (default) takes the batch driver where it applies
        and pays for its compile (explicit method, compilable ``fun``, n <= 40, no events,
        threads backend).
    **options
        ``first_step``, ``max_step``, ``min_step``, ``max_steps``, ``step`` as for
        ``solve_ivp``; ``n_obs`` for an observe function given as a numba ``@cfunc``;
        ``event_samples`` as for ``solve_ivp``. Stiff methods also take ``jac`` (``jac(t, y, p)
        -> (n, n)``, compiled like ``fun``; a constant matrix is fine; a function numba cannot
        compile is refused), ``jac_sparsity`` or ``lband``/``uband`` (one pattern for all
        trajectories), ``linear_solver`` (as ``solve_ivp``, except that ``"auto"`` takes the
        sparse LU where ``solve_ivp`` would take Newton-Krylov, and no trajectory is solved
        again after a Newton-Krylov failure), ``mass`` (one constant mass matrix).

    Returns
    -------
    EnsembleResult
        ``t``, ``y``, per-trajectory ``status`` (scipy's codes), ``status_code`` (fastode's),
        ``success``, ``t_final``, ``nfev``, ``naccept``, ``nreject``, ``messages``, and a
        summary: ``message`` and ``failures``; with ``events``: ``t_events``, ``y_events`` and
        ``n_events``.

    Examples
    --------
    >>> import numpy as np, fastode
    >>> def decay(t, y, p):
    ...     return -p[0] * y
    >>> res = fastode.solve_ensemble(decay, (0.0, 1.0), [1.0], params=[[1.0], [2.0]],
    ...                              save="final", rtol=1e-10, atol=1e-12)
    >>> np.allclose(res.y[:, 0], np.exp([-1.0, -2.0]))
    True

    A stiff sweep with a terminal event:

    >>> def robertson(t, y, k):
    ...     return np.array([-k[0] * y[0] + k[2] * y[1] * y[2],
    ...                      k[0] * y[0] - k[2] * y[1] * y[2] - k[1] * y[1] ** 2,
    ...                      k[1] * y[1] ** 2])
    >>> def half_converted(t, y, k):
    ...     return y[0] - 0.5
    >>> half_converted.terminal = True
    >>> k = np.array([[0.04, 3e7, 1e4], [0.08, 3e7, 1e4]])
    >>> res = fastode.solve_ensemble(robertson, (0.0, 1e5), [1.0, 0.0, 0.0], params=k,
    ...                              method="Rodas5P", events=half_converted, save="final",
    ...                              rtol=1e-6, atol=1e-10)
    >>> res.status.tolist(), res.t_events.shape
    ([1, 1], (2, 1, 8))
    >>> bool(res.t_events[1, 0, 0] < res.t_events[0, 0, 0])
    True
    """
    # ---- validate everything before compiling anything ---------------------------------------
    if not callable(fun):
        raise TypeError("`fun` must be callable.")
    batch_mode = _batch.check_mode(mode)
    if not isinstance(method, str):
        raise TypeError(f"`method` must be a string for solve_ensemble; got {method!r}.")
    chosen = None if method in method_registry.SCIPY_ONLY else method_registry.lookup(method)
    if chosen is None or chosen.family not in ENSEMBLE_FAMILIES:
        names = sorted(k for k, m in method_registry.METHODS_BY_NAME.items()
                       if m.family in ENSEMBLE_FAMILIES)
        raise ValueError(f"`method` {method!r} is not available in solve_ensemble. "
                         "Methods: " + ", ".join(names) + ".")
    t0, t1 = validate_t_span(t_span)
    if not math.isfinite(t1):
        # a trajectory no terminal event stops would run (and store steps) forever
        raise ValueError(f"`t_span` must be finite for solve_ensemble; "
                         f"got {tuple(cast(Any, t_span))!r}.")
    y0_arr = _validate_y0(y0)
    params_arr = _validate_params(params)
    n_traj = _resolve_n_traj(y0_arr, params_arr, n_traj)
    n = y0_arr.shape[-1]
    rtol_arr, atol_arr = validate_tolerances(rtol, atol, n, False)
    t_eval_arr = validate_t_eval(t_eval, t0, t1)
    # writeable copies: a read-only array (np.broadcast_to) is another numba type, another compile
    rtol_arr, atol_arr, t_eval_arr = _writeable(rtol_arr, atol_arr, t_eval_arr)
    if isinstance(save, str):
        if save not in ("trajectory", "final"):
            raise ValueError(f"`save` must be 'trajectory', 'final' or an observe function "
                             f"observe(t, y, p); got {save!r}.")
        observe = None
    elif callable(save):
        observe = save
    else:
        raise ValueError(f"`save` must be 'trajectory', 'final' or an observe function; got "
                         f"{save!r}.")
    if save == "final" and t_eval_arr is not None:
        raise ValueError("`t_eval` has no effect with save='final' (only the state at t_bound "
                         "is kept); pass one or the other.")
    if n_threads is not None:
        if isinstance(n_threads, bool) or not isinstance(n_threads, Integral) or n_threads < 1:
            raise ValueError(f"`n_threads` must be a positive integer; got {n_threads!r}.")
        if backend == "threads" and n_threads > numba.config.NUMBA_NUM_THREADS:
            raise ValueError(f"`n_threads`={n_threads} exceeds numba's thread pool "
                             f"({numba.config.NUMBA_NUM_THREADS}; set NUMBA_NUM_THREADS before "
                             "importing numba to enlarge it).")
        n_threads = int(n_threads)
    if chunk_size is not None and (isinstance(chunk_size, bool)
                                   or not isinstance(chunk_size, Integral) or chunk_size < 1):
        raise ValueError(f"`chunk_size` must be a positive integer; got {chunk_size!r}.")
    if not (isinstance(progress, bool) or callable(progress)):
        raise TypeError("`progress` must be a bool or a callable progress(n_done, n_traj).")
    if store is not None and not isinstance(store, (str, os.PathLike)):
        raise TypeError(f"`store` must be a directory path; got {store!r}.")
    if resume and store is None:
        raise ValueError("`resume=True` needs a `store` to resume from.")
    store_kind, param_names, state_names = check_store_options(
        store, store_format, param_names, state_names,
        0 if params_arr is None else params_arr.shape[1], n)
    if backend not in ("threads", "dask"):
        raise ValueError(f"`backend` must be 'threads' or 'dask'; got {backend!r}.")
    if client is not None and backend != "dask":
        raise ValueError("`client` is only used with backend='dask'.")
    n_obs_opt = options.pop("n_obs", None)
    event_list, event_samples, max_events = _event_options(events, max_events, options)
    stiff = None
    if chosen.family == "explicit":
        first_step, max_step, min_step, max_steps, msg_options = _step_options(
            chosen, options, t0, t1, method)
    else:
        stiff, first_step, max_step, min_step, max_steps, jac, msg_options = _stiff_options(
            chosen, options, t0, t1, y0_arr.reshape(-1, n)[0].copy(), n)

    has_params = params_arr is not None
    p_all = params_arr if has_params else np.zeros((1, 1))
    n_p = p_all.shape[1] if has_params else 0
    y0_all = y0_arr.reshape(-1, n)  # (1, n) shared or (n_traj, n)
    if observe is not None:
        save_mode = kern.SAVE_OBSERVE if t_eval_arr is not None else kern.SAVE_OBSERVE_FINAL
        save_name = "observe"
    elif save == "final" or t_eval_arr is None:
        save_mode = kern.SAVE_FINAL
        save_name = cast(str, save)  # observe is None: save is a string
    else:
        save_mode = kern.SAVE_TRAJECTORY
        save_name = "trajectory"
    t_out = t_eval_arr if t_eval_arr is not None else np.array([t1])
    trajectory_without_t_eval = save == "trajectory" and t_eval_arr is None

    plan = _Plan(fun=fun, observe=observe, n_obs=0, has_params=has_params,
                 method=chosen.name, family=chosen.family, t0=t0, t1=t1, t_eval=t_eval_arr,
                 t_out=t_out, rtol=rtol_arr, atol=atol_arr, first_step=first_step,
                 max_step=max_step, min_step=min_step, max_steps=max_steps, mode=save_mode,
                 save=save_name, n=n, n_p=n_p, options=msg_options, n_threads=n_threads,
                 events=tuple(event_list), event_samples=event_samples, max_events=max_events,
                 jac=jac if stiff is not None else None, stiff=stiff)
    has_events = bool(event_list)
    if n_traj == 0:
        plan = plan._replace(n_obs=(n_obs_opt or 1) if observe is not None else 0)
        arrays = {k: np.empty(v) for k, v in _chunk_shapes(plan, 0).items()}
        arrays["status"] = arrays["status"].astype(np.int64)
        if has_events:
            arrays["ev_n"] = arrays["ev_n"].astype(np.int64)
        return _finish(arrays, t_out, save_name, msg_options, trajectory_without_t_eval, t1,
                       has_events)

    # ---- compile here (the shape check runs in Python once, with clear errors) ---------------
    y0_row = y0_all[0].copy()
    p_row = p_all[0].copy()
    if observe is not None:
        _, n_obs = _compile_observe(observe, n, n_p, has_params, t0, y0_row, p_row, n_obs_opt)
        plan = plan._replace(n_obs=n_obs)
    comp = _compile_for_plan(plan, y0_row, p_row)
    run = _batch.select(batch_mode, plan, fun, comp.rhs, backend, y0_all, p_all, n_traj,
                        _run_chunk)
    shapes = _chunk_shapes(plan, 0)
    threads_for_chunks = n_threads or (numba.get_num_threads() if backend == "threads" else 1)
    chunk = int(chunk_size) if chunk_size is not None else _default_chunk(n_traj,
                                                                           threads_for_chunks)

    # ---- store ---------------------------------------------------------------------------------
    st_obj = None
    if store is not None:
        st_obj = open_store(store, store_kind, params_arr, param_names, state_names,
                            event_variables(len(event_list), max_events, n) if has_events
                            else None)
        expected = {
            "format": STORE_FORMAT, "version": STORE_VERSION,
            "inputs": dict(_fingerprints(plan, y0_arr, params_arr), **st_obj.extra_inputs),
            "n_traj": n_traj, "n": n, "n_out": shapes["out"][1], "out_cols": shapes["out"][2],
        }
        if has_events:
            expected.update(n_events=len(event_list), max_events=max_events)
        manifest = st_obj.read_manifest()
        if manifest is not None:
            if not resume:
                raise FileExistsError(
                    f"`store` {st_obj.path!r} already holds an ensemble; pass resume=True to "
                    "continue it, or use a new path.")
            _check_manifest(st_obj, manifest, expected)
            if chunk_size is not None and int(chunk_size) != manifest["chunk_size"]:
                warnings.warn(f"resuming with the store's chunk_size={manifest['chunk_size']} "
                              f"(not {chunk_size})", UserWarning, stacklevel=2)
            chunk = manifest["chunk_size"]
        else:
            manifest = new_manifest(expected, plan, chunk, len(_chunk_bounds(n_traj, chunk)),
                                    trajectory_without_t_eval)
            st_obj.write_manifest(manifest, t_out)

    # ---- run the chunks ----------------------------------------------------------------------
    arrays = _empty_arrays({k: v[1:] for k, v in shapes.items()}, n_traj)
    bounds = _chunk_bounds(n_traj, chunk)
    todo = []
    for j, (lo, hi) in enumerate(bounds):
        got = (st_obj.read_arrays(j, lo, hi, {k: (hi - lo,) + v[1:] for k, v in shapes.items()})
               if (st_obj and resume) else None)
        if got is None:
            todo.append(j)
        else:
            for name, value in got.items():
                arrays[name][lo:hi] = value
    n_done = n_traj - sum(bounds[j][1] - bounds[j][0] for j in todo)

    bar = None
    if progress is True:
        from tqdm.auto import tqdm
        bar = tqdm(total=n_traj, initial=n_done, unit="traj", unit_scale=n_traj >= 10_000,
                   desc="solve_ensemble", smoothing=0.1)

    def finished(j: int, got: dict[str, Any] | None) -> None:
        nonlocal n_done
        lo, hi = bounds[j]
        if got is not None:
            for name, value in got.items():
                arrays[name][lo:hi] = value
        if st_obj is not None:
            st_obj.write_arrays(j, lo, hi, {k: v[lo:hi] for k, v in arrays.items()})
        n_done += hi - lo
        if bar is not None:
            bar.update(hi - lo)
        elif callable(progress):
            progress(n_done, n_traj)

    p_shared = not has_params
    y_shared = y0_all.shape[0] == 1 and y0_arr.ndim == 1

    def chunk_inputs(lo: int, hi: int) -> tuple[_F64, _F64]:
        y_rows = y0_all if y_shared else y0_all[lo:hi]
        p_rows = p_all if p_shared else p_all[lo:hi]
        return y_rows, p_rows

    extra = None
    forget_stale_failures(comp.all())
    try:
        if backend == "threads":
            with _Threads(n_threads):
                for j in todo:
                    lo, hi = bounds[j]
                    y_rows, p_rows = chunk_inputs(lo, hi)
                    run(plan, comp, y_rows, p_rows, {k: v[lo:hi] for k, v in arrays.items()})
                    finished(j, None)
            extra = _python_errors(comp)
        else:
            _run_dask(plan, client, todo, bounds, chunk_inputs, finished)
    finally:
        if bar is not None:
            bar.close()
    # keep the compiled functions alive until the kernels are done with their addresses
    del comp, run
    result = _finish(arrays, t_out, save_name, msg_options, trajectory_without_t_eval, t1,
                     has_events)
    if extra:
        result.message += " " + extra
    return result


def _python_errors(comp: Any) -> str | None:
    """What a user function raised inside the threaded kernels (the Python fallback's
    exceptions, or the compiled wrappers' notes), for the result's message."""
    rhs = comp.rhs
    if rhs.errors:
        return (f"`fun` raised {type(rhs.errors[0]).__name__}: {rhs.errors[0]} "
                "(Python fallback; those trajectories report non-finite values).")
    for c, what in [(rhs, "non-finite values"), (comp.jac, "non-finite values"),
                    *((e, "an event failure") for e in comp.events)]:
        if c is not None and c.failure is not None and c.failure.flag[0]:
            # the compiled wrapper's note (shared with solve_ivp: cleared here)
            return str(c.failure.summary()) + f" Those trajectories report {what}."
    return None
