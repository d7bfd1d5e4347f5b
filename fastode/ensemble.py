"""solve_ensemble: many trajectories of one model, in parallel, chunked, resumable, distributable.

Layers (docs/design.md, "Ensembles"):

* validation and compilation here (the RHS once per process, like ``solve_ivp``; parameters
  travel as data, so new parameter values never recompile anything);
* ``fastode.kernels.ensemble``: one ``prange`` over trajectories, each an independent call of the
  family's single-trajectory driver, writing into a slice of the result;
* chunks of trajectories: the unit of progress reporting, of the result files (``store=``) that
  make a killed sweep resumable, and of the Dask tasks (``backend="dask"``).

Adding a method family (the stiff ones) means adding its prange driver to
``fastode.kernels.ensemble`` and one branch to :func:`_run_chunk`; everything else (chunks,
progress, store, Dask) is family-agnostic.
"""
from __future__ import annotations

import ctypes
import hashlib
import math
import os
import time
import warnings
import weakref
from numbers import Integral
from typing import Any, Callable, Literal, NamedTuple, Optional, Sequence, cast

import numpy as np
import numpy.typing as npt
import numba
from numba.core.ccallback import CFunc
from numba.core.registry import CPUDispatcher
from scipy.optimize import OptimizeResult

from . import ensemble_batch as _batch, methods as method_registry
from ._version import __version__
from .ensemble_input import (_F64, _default_chunk, _resolve_n_traj, _step_options,
                             _validate_params, _validate_y0, _writeable)
from .ensemble_store import (STORE_FORMAT, STORE_VERSION, _check_manifest, _fingerprints, _Store,
                             callable_fingerprint)
from .ivp_common import compiled_rhs, validate_t_eval, validate_t_span, validate_tolerances
from .kernels import ensemble as kern
from .kernels import status as st
from .kernels.progress import announce_compiles
from .results import MESSAGES, MIN_STEP_MESSAGE
from .rhs import _RHS_CTYPES, RHS_SIGNATURE, CompiledFunction, arg_specs, forget_stale_failures

# a kernel compile (or cache load) that outlasts a second says so on stderr
announce_compiles(kern)

__all__ = ["solve_ensemble", "EnsembleResult", "load_ensemble"]


# ---------------------------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------------------------
class EnsembleResult(OptimizeResult):  # type: ignore[misc]  # scipy has no type information
    """Result of :func:`solve_ensemble` (a dict with attribute access, like ``OdeResult``).

    Attributes
    ----------
    t : ndarray, shape (n_t,)
        Output times: ``t_eval``, or ``[t_bound]`` when ``t_eval`` is None or ``save="final"``.
    y : ndarray
        ``save="trajectory"``: shape (n_traj, n, n_t), the states at ``t`` (NaN at times a failed
        trajectory did not reach). ``save="final"``: shape (n_traj, n), the last state reached
        (y(t_bound) for a successful trajectory). ``save=observe``: shape (n_traj, n_obs, n_t),
        ``observe(t, y, p)`` at each output time (NaN where not reached).
    status : ndarray of int, shape (n_traj,)
        scipy's status per trajectory: 0 reached the end, -1 failed.
    status_code : ndarray of int, shape (n_traj,)
        fastode's kernel status (fastode.kernels.status): -1 step too small, -2 max_steps,
        -3 non-finite values.
    success : ndarray of bool, shape (n_traj,)
    t_final : ndarray, shape (n_traj,)
        The time each trajectory reached (t_bound on success).
    nfev, naccept, nreject : ndarray of int, shape (n_traj,)
    message : str
        One-line summary (how many succeeded; failure kinds and counts).
    messages : ndarray of str (object), shape (n_traj,)
        scipy's message of each trajectory.
    failures : dict
        ``{"count": int, "indices": int array, "by_message": {message: count}}``.
    save : str
        ``"trajectory"``, ``"final"`` or ``"observe"``.

    Examples
    --------
    >>> import numpy as np, fastode
    >>> def decay(t, y, p):
    ...     return -p[0] * y
    >>> res = fastode.solve_ensemble(decay, (0.0, 1.0), [1.0], params=[[1.0], [2.0], [3.0]],
    ...                              t_eval=[0.5, 1.0])
    >>> res.y.shape, bool(res.success.all()), res.status.tolist()
    ((3, 1, 2), True, [0, 0, 0])
    """

    def __repr__(self) -> str:
        n = len(self.get("status", ()))
        return (f"EnsembleResult({n} trajectories, save={self.get('save')!r}, "
                f"y{tuple(np.shape(self.get('y')))}: {self.get('message')})")


def _message(code: int, t_final: float, options: dict[str, Any]) -> str:
    text = MESSAGES[int(code)]
    if code == st.STEP_TOO_SMALL and options.get("min_step", 0.0) > 0:
        text = MIN_STEP_MESSAGE.format(min_step=options["min_step"])
    return text.format(max_steps=options.get("max_steps") or 0, t=float(t_final))


def _build_result(t: _F64, y: _F64, status_code: npt.NDArray[np.int64], counters: _F64, save: str,
                  options: dict[str, Any], extra_failure: str | None = None) -> EnsembleResult:
    n_traj = status_code.shape[0]
    status = np.where(status_code >= 0, status_code, -1).astype(np.int64)
    success = status_code >= 0
    t_final = counters[:, 3].copy()
    failed = np.flatnonzero(~success)
    messages = np.empty(n_traj, dtype=object)
    messages[success] = MESSAGES[st.SUCCESS]
    by_message: dict[str, int] = {}
    for i in failed:
        m = _message(status_code[i], t_final[i], options)
        messages[i] = m
        generic = _message(status_code[i], np.nan, options).replace(" near t=nan", "")
        by_message[generic] = by_message.get(generic, 0) + 1
    if failed.size == 0:
        summary = (f"All {n_traj} trajectories reached the end of the integration interval."
                   if n_traj != 1 else MESSAGES[st.SUCCESS])
    else:
        kinds = "; ".join(f"{c} x {m.rstrip('.')}" for m, c in by_message.items())
        shown = ", ".join(str(i) for i in failed[:10]) + (", ..." if failed.size > 10 else "")
        summary = (f"{n_traj - failed.size} of {n_traj} trajectories reached the end; "
                   f"{failed.size} failed ({kinds}). Failed trajectories: [{shown}].")
    if extra_failure:
        summary += " " + extra_failure
    failures = {"count": int(failed.size), "indices": failed, "by_message": by_message}
    return EnsembleResult(t=t, y=y, status=status, status_code=status_code.astype(np.int64),
                          success=success, t_final=t_final,
                          nfev=counters[:, 0].astype(np.int64),
                          naccept=counters[:, 1].astype(np.int64),
                          nreject=counters[:, 2].astype(np.int64), message=summary,
                          messages=messages, failures=failures, save=save)


# ---------------------------------------------------------------------------------------------
# the plan: everything a chunk needs, small and picklable (it travels to Dask workers)
# ---------------------------------------------------------------------------------------------
class _Plan(NamedTuple):
    fun: Any              # on the wire to Dask workers, a numba cfunc is a _PicklableCFunc
    observe: Any
    n_obs: int
    has_params: bool
    method: str           # canonical method name
    family: str
    t0: float
    t1: float
    t_eval: Optional[np.ndarray]
    t_out: np.ndarray     # output times (result.t)
    rtol: np.ndarray
    atol: np.ndarray
    first_step: float
    max_step: float
    min_step: float
    max_steps: int
    mode: int
    save: str             # "trajectory" | "final" | "observe"
    n: int
    n_p: int
    options: dict[str, Any]  # the user's step options (for messages)
    n_threads: Optional[int]


def _out_rows(plan: _Plan) -> tuple[int, int]:
    """Second and third dimensions of the kernel's output array."""
    n_cols = 1 if plan.mode in (kern.SAVE_FINAL, kern.SAVE_OBSERVE_FINAL) else plan.t_out.size
    return (plan.n_obs if plan.observe is not None else plan.n), n_cols


def _ensemble_rhs(fun: Callable[..., Any], t0: float, y0_row: _F64, n: int, p_row: _F64,
                  has_params: bool) -> CompiledFunction:
    """The compiled RHS (as solve_ivp's, shared with it); for a function numba cannot compile,
    a Python callback that reads each trajectory's ``p`` from the kernel (solve_ivp's fallback
    binds one ``args`` at compile time)."""
    args = (p_row,) if has_params else ()
    rhs = compiled_rhs(fun, t0, y0_row, n, False, args, arg_specs(args), False)
    if not rhs.python_callback:
        return cast(CompiledFunction, rhs)
    errors: list[BaseException] = []
    n_p = p_row.shape[0]
    y_type: Any = ctypes.c_double * n  # (numpy's hints do not take ctypes arrays as buffers)
    p_type = ctypes.c_double * n_p

    def callback(t: float, y_ptr: Any, p_ptr: Any, out_ptr: Any) -> None:
        out = np.frombuffer(y_type.from_address(ctypes.addressof(out_ptr.contents)))
        try:
            y = np.frombuffer(y_type.from_address(ctypes.addressof(y_ptr.contents))).copy()
            if has_params:
                p = np.frombuffer(p_type.from_address(ctypes.addressof(p_ptr.contents))).copy()
                r = fun(t, y, p)
            else:
                r = fun(t, y)
            out[:] = np.asarray(r, dtype=np.float64).reshape(n)
        except BaseException as exc:  # noqa: BLE001 - reported in the result's message
            if not errors:
                errors.append(exc)
            out[:] = np.nan

    c_callback = _RHS_CTYPES(callback)
    address = cast(int, ctypes.cast(c_callback, ctypes.c_void_p).value)
    return CompiledFunction(address, c_callback, True, errors, rhs.reason)


def _compile_for_plan(plan: _Plan, y0_row: _F64, p_row: _F64) -> tuple[CompiledFunction, Any]:
    """(rhs CompiledFunction, observe cfunc or None) for this process."""
    rhs = _ensemble_rhs(plan.fun, plan.t0, y0_row, plan.n, p_row, plan.has_params)
    obs = None
    if plan.observe is not None:
        obs, _ = _compile_observe(plan.observe, plan.n, plan.n_p, plan.has_params, plan.t0,
                                  y0_row, p_row, plan.n_obs)
    return rhs, obs


def _run_chunk(plan: _Plan, rhs_address: int, obs_address: int, y0_rows: _F64,
               p_rows: _F64, out: _F64, status: npt.NDArray[np.int64], counters: _F64) -> None:
    """Run the family's prange driver on one chunk, writing into the given output slices."""
    if plan.family == "explicit":
        m = method_registry.lookup(plan.method)
        tab: Any = m.tableau
        kern.ensemble_explicit(
            int(rhs_address), p_rows, y0_rows, plan.t0, plan.t1, plan.rtol, plan.atol,
            tab.C, tab.A, tab.B, tab.E, tab.E3, bool(m.use_e3), int(tab.error_order),
            tab.C_extra, tab.A_extra, tab.P, bool(m.adaptive), float(plan.first_step),
            float(plan.max_step), float(plan.min_step), int(plan.max_steps),
            plan.t_eval if plan.t_eval is not None else plan.t_out, False,
            np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64), 1,
            int(plan.mode), int(obs_address), out, status, counters)
    else:  # pragma: no cover - the registry has explicit methods only so far
        raise NotImplementedError(f"no ensemble driver for the {plan.family!r} family yet")


class _Threads:
    """Set numba's thread count (and a dynamic-schedule chunk) for a block; restore after."""

    def __init__(self, n_threads: int | None) -> None:
        self.n_threads = n_threads

    def __enter__(self) -> _Threads:
        self.old_threads = numba.get_num_threads()
        if self.n_threads is not None:
            numba.set_num_threads(self.n_threads)
        # trajectories cost different amounts: hand them out one at a time (dynamically), not
        # one equal block per thread. Measured on the 10k Lotka-Volterra sweep: same speed as
        # static blocks (and as 4 at a time); 8 at a time was 8% slower (longer chunk tails).
        self.old_chunk = numba.set_parallel_chunksize(1)
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        numba.set_parallel_chunksize(self.old_chunk)
        numba.set_num_threads(self.old_threads)
        return False


def _solve_chunk_arrays(plan: _Plan, n_rows: int, rhs_address: int, obs_address: int,
                        y0_rows: _F64, p_rows: _F64) -> dict[str, npt.NDArray[Any]]:
    """Solve one chunk of ``n_rows`` trajectories into new arrays (Dask tasks)."""
    rows, cols = _out_rows(plan)
    out = np.empty((n_rows, rows, cols))
    status = np.empty(n_rows, dtype=np.int64)
    counters = np.empty((n_rows, 4))
    _run_chunk(plan, rhs_address, obs_address, y0_rows, p_rows, out, status, counters)
    return {"out": out, "status": status, "counters": counters}


# ---------------------------------------------------------------------------------------------
# observe functions
# ---------------------------------------------------------------------------------------------
# observe function -> {(n, n_p, has_params, n_obs, scalar): cfunc}
_observe_cache: "weakref.WeakKeyDictionary[Any, dict[Any, Any]]" = weakref.WeakKeyDictionary()


def _compile_observe(observe: Any, n: int, n_p: int, has_params: bool, t0: float,
                     y0_row: _F64, p_row: _F64, n_obs: int | None = None) -> tuple[Any, int]:
    """Compile ``observe(t, y, p) -> values`` into a cfunc with the RHS's C signature.

    Returns (cfunc, n_obs). A numba ``@cfunc`` with that signature is used as it is (``n_obs``
    must then be given).
    """
    if isinstance(observe, CFunc):
        if observe._sig != RHS_SIGNATURE:  # type: ignore[attr-defined]  # numba's hints lack _sig
            raise TypeError(f"a numba @cfunc `save` (observe) function must have the signature "
                            f"{RHS_SIGNATURE}; got {observe._sig}.")  # type: ignore[attr-defined]
        if n_obs is None:
            raise TypeError("a numba @cfunc `save` (observe) function needs `n_obs=` (the "
                            "number of values it writes).")
        return observe, int(n_obs)
    py = observe.py_func if isinstance(observe, CPUDispatcher) else observe
    try:
        r = observe(t0, y0_row.copy(), p_row.copy()) if has_params else observe(t0, y0_row.copy())
        r = np.asarray(r, dtype=np.float64)
    except Exception as exc:
        raise ValueError(f"the observe function (`save`) raised {type(exc).__name__} when "
                         f"called as observe(t0, y0, p): {exc}") from exc
    if r.ndim > 1:
        raise ValueError(f"the observe function (`save`) must return a scalar or a 1-D array; "
                         f"got shape {r.shape}.")
    scalar = r.ndim == 0
    found = 1 if scalar else r.shape[0]
    if n_obs is not None and int(n_obs) != found:
        raise ValueError(f"`n_obs`={n_obs} but the observe function returned {found} values.")
    if found < 1:
        raise ValueError("the observe function (`save`) returned no values.")
    key = (n, n_p, has_params, found, scalar)
    try:
        per_function: dict[Any, Any] = _observe_cache.setdefault(py, {})
    except TypeError:  # not weak-referenceable: compile every time
        per_function = {}
    if key in per_function:
        return per_function[key], found
    pcall = ", p" if has_params else ""
    lines = ["def observe_wrapper(t, y_ptr, p_ptr, out_ptr):",
             f"    y = carray(y_ptr, ({n},))",
             f"    p = carray(p_ptr, ({max(n_p, 1)},))",
             f"    out = carray(out_ptr, ({found},))",
             "    out[0] = np.nan",
             f"    r = fun(t, y{pcall})"]
    if scalar:
        lines.append("    out[0] = r")
    else:
        lines += [f"    for i in range({found}):", "        out[i] = r[i]"]
    jitted = observe if isinstance(observe, CPUDispatcher) else numba.njit(observe)
    namespace: dict[str, Any] = {"np": np, "carray": numba.carray, "fun": jitted}
    exec(compile("\n".join(lines), "<fastode observe wrapper>", "exec"), namespace)
    try:
        compiled = numba.cfunc(RHS_SIGNATURE, error_model="numpy")(namespace["observe_wrapper"])
    except Exception as exc:
        from .rhs import _first_line
        raise TypeError(f"numba could not compile the observe function (`save`): "
                        f"{_first_line(exc)}. It must be numba-compilable (numpy operations on "
                        "float arrays).") from None
    per_function[key] = compiled
    return compiled, found


def load_ensemble(path: str | os.PathLike[str]) -> EnsembleResult:
    """Read a complete result store written by ``solve_ensemble(..., store=path)``.

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
    store = _Store(path)
    manifest = store.read_manifest()
    if manifest is None:
        raise ValueError(f"`path` {os.fspath(path)!r} has no manifest.json: not an ensemble "
                         "store.")
    if manifest.get("kind") == "sde":
        raise ValueError(f"store {store.path!r} holds solve_sde paths: read it with "
                         "solve_sde(..., store=path, resume=True) and the same inputs.")
    n_traj, chunk = manifest["n_traj"], manifest["chunk_size"]
    out = np.empty((n_traj, manifest["n_out"], manifest["out_cols"]))
    status = np.empty(n_traj, dtype=np.int64)
    counters = np.empty((n_traj, 4))
    missing = []
    for j, (lo, hi) in enumerate(_chunk_bounds(n_traj, chunk)):
        got = store.read_chunk(j, lo, hi, (hi - lo,) + out.shape[1:])
        if got is None:
            missing.append(j)
            continue
        out[lo:hi], status[lo:hi], counters[lo:hi] = got["out"], got["status"], got["counters"]
    if missing:
        raise ValueError(f"store {store.path!r} is incomplete: {len(missing)} of "
                         f"{manifest['n_chunks']} chunks missing; finish the sweep with "
                         "solve_ensemble(..., store=path, resume=True).")
    t_out = np.load(os.path.join(store.path, "t.npy"))
    return _finish(out, status, counters, t_out, manifest["save"], manifest["options"],
                   manifest["trajectory_without_t_eval"], manifest["t1"])


def _finish(out: _F64, status: npt.NDArray[np.int64], counters: _F64, t_out: _F64, save: str,
            options: dict[str, Any], trajectory_without_t_eval: bool, t1: float) -> EnsembleResult:
    if save == "final":
        y = out[:, :, 0]
    else:
        y = out
        if trajectory_without_t_eval:
            # t = [t_bound]: a trajectory that did not get there has no value at t
            y[(status < 0) | (counters[:, 3] != t1), :, 0] = np.nan
    return _build_result(t_out, y, status, counters, save, options)


def _chunk_bounds(n_traj: int, chunk: int) -> list[tuple[int, int]]:
    return [(lo, min(lo + chunk, n_traj)) for lo in range(0, n_traj, chunk)]


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------
def solve_ensemble(fun: Callable[..., Any], t_span: npt.ArrayLike, y0: npt.ArrayLike,
                   params: npt.ArrayLike | None = None, t_eval: npt.ArrayLike | None = None,
                   method: str = "RK45", rtol: npt.ArrayLike = 1e-3, atol: npt.ArrayLike = 1e-6,
                   n_threads: int | None = None, chunk_size: int | None = None,
                   save: str | Callable[..., Any] = "trajectory", progress: bool = False,
                   store: str | os.PathLike[str] | None = None, resume: bool = False,
                   backend: str = "threads", client: Any = None, n_traj: int | None = None,
                   mode: str = "auto", **options: Any) -> EnsembleResult:
    """Solve one ODE for many parameter sets and/or initial states, in parallel.

    Each trajectory is integrated independently (its own steps, controller, counters and
    status), exactly as ``fastode.solve_ivp(fun, t_span, y0[i], method, t_eval,
    args=(params[i],), ...)`` would integrate it (bitwise the same numbers), in a numba
    ``prange`` over threads. A trajectory that fails (blow-up, non-finite values, step-size
    collapse, ``max_steps``) is reported in ``status``/``failures``; the others are complete.

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
        ``'Vern7'``, fixed-step ``'rk4'``, ... with ``step=``).
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
        method, tolerances, step options, save mode, and ``fun``'s qualified name and bytecode).
        Read it back with :func:`load_ensemble`.
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
    mode : "auto" (batch where it applies), "default" or "batch": see fastode.ensemble_batch
    **options
        ``first_step``, ``max_step``, ``min_step``, ``max_steps``, ``step`` as for
        ``solve_ivp``; ``n_obs`` for an observe function given as a numba ``@cfunc``.

    Returns
    -------
    EnsembleResult
        ``t``, ``y``, per-trajectory ``status`` (scipy's codes), ``status_code`` (fastode's),
        ``success``, ``t_final``, ``nfev``, ``naccept``, ``nreject``, ``messages``, and a
        summary: ``message`` and ``failures``.

    Examples
    --------
    >>> import numpy as np, fastode
    >>> def decay(t, y, p):
    ...     return -p[0] * y
    >>> res = fastode.solve_ensemble(decay, (0.0, 1.0), [1.0], params=[[1.0], [2.0]],
    ...                              save="final", rtol=1e-10, atol=1e-12)
    >>> np.allclose(res.y[:, 0], np.exp([-1.0, -2.0]))
    True
    """
    # ---- validate everything before compiling anything ---------------------------------------
    if not callable(fun):
        raise TypeError("`fun` must be callable.")
    batch_mode = _batch.check_mode(mode)
    if not isinstance(method, str):
        raise TypeError(f"`method` must be a string for solve_ensemble; got {method!r}.")
    chosen = None if method in method_registry.SCIPY_ONLY else method_registry.lookup(method)
    if chosen is None or chosen.family != "explicit":
        explicit = sorted(k for k, m in method_registry.METHODS_BY_NAME.items()
                          if m.family == "explicit")
        raise ValueError(f"`method` {method!r} is not available in solve_ensemble yet (explicit "
                         "methods only: " + ", ".join(explicit) + ").")
    t0, t1 = validate_t_span(t_span)
    if not math.isfinite(t1):
        # no events here to end such a solve: it would run (and store steps) forever
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
    if backend not in ("threads", "dask"):
        raise ValueError(f"`backend` must be 'threads' or 'dask'; got {backend!r}.")
    if client is not None and backend != "dask":
        raise ValueError("`client` is only used with backend='dask'.")
    n_obs_opt = options.pop("n_obs", None)
    first_step, max_step, min_step, max_steps, msg_options = _step_options(
        chosen, options, t0, t1, method)

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

    if n_traj == 0:
        rows = (n_obs_opt or 1) if observe is not None else n
        cols = t_out.size if save_mode in (kern.SAVE_TRAJECTORY, kern.SAVE_OBSERVE) else 1
        return _finish(np.empty((0, rows, cols)), np.empty(0, dtype=np.int64),
                       np.empty((0, 4)), t_out, save_name, msg_options,
                       trajectory_without_t_eval, t1)

    # ---- compile here (the shape check runs in Python once, with clear errors) ---------------
    y0_row = y0_all[0].copy()
    p_row = p_all[0].copy()
    rhs = _ensemble_rhs(fun, t0, y0_row, n, p_row, has_params)
    obs_cfunc, n_obs = None, 0
    if observe is not None:
        obs_cfunc, n_obs = _compile_observe(observe, n, n_p, has_params, t0, y0_row, p_row,
                                            n_obs_opt)
    plan = _Plan(fun=fun, observe=observe, n_obs=n_obs, has_params=has_params,
                 method=chosen.name, family=chosen.family, t0=t0, t1=t1, t_eval=t_eval_arr,
                 t_out=t_out, rtol=rtol_arr, atol=atol_arr, first_step=first_step,
                 max_step=max_step, min_step=min_step, max_steps=max_steps, mode=save_mode,
                 save=save_name, n=n, n_p=n_p, options=msg_options, n_threads=n_threads)
    run = _batch.select(batch_mode, plan, fun, rhs, backend, y0_all, p_all, n_traj, _run_chunk)
    rows, cols = _out_rows(plan)
    threads_for_chunks = n_threads or (numba.get_num_threads() if backend == "threads" else 1)
    chunk = int(chunk_size) if chunk_size is not None else _default_chunk(n_traj,
                                                                           threads_for_chunks)

    # ---- store ---------------------------------------------------------------------------------
    st_obj = None
    if store is not None:
        st_obj = _Store(store)
        expected = {
            "format": STORE_FORMAT, "version": STORE_VERSION,
            "inputs": _fingerprints(plan, y0_arr, params_arr),
            "n_traj": n_traj, "n": n, "n_out": rows, "out_cols": cols,
        }
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
            summary = {
                "fun": f"{getattr(fun, '__module__', '')}."
                       f"{getattr(fun, '__qualname__', type(fun).__qualname__)}",
                "method": chosen.name, "t_span": [t0, t1],
                "n_t": int(t_out.size), "rtol": rtol_arr.tolist() if n <= 16 else "array",
                "atol": atol_arr.tolist() if n <= 16 else "array",
            }
            manifest = dict(expected, chunk_size=chunk,
                            n_chunks=len(_chunk_bounds(n_traj, chunk)),
                            save=save_name, options=msg_options,
                            trajectory_without_t_eval=trajectory_without_t_eval, t1=t1,
                            summary=summary, fastode_version=__version__,
                            created=time.strftime("%Y-%m-%d %H:%M:%S"))
            st_obj.write_manifest(manifest, t_out)

    # ---- run the chunks ----------------------------------------------------------------------
    out = np.empty((n_traj, rows, cols))
    status = np.empty(n_traj, dtype=np.int64)
    counters = np.empty((n_traj, 4))
    bounds = _chunk_bounds(n_traj, chunk)
    todo = []
    for j, (lo, hi) in enumerate(bounds):
        got = st_obj.read_chunk(j, lo, hi, (hi - lo, rows, cols)) if (st_obj and resume) \
            else None
        if got is None:
            todo.append(j)
        else:
            out[lo:hi], status[lo:hi], counters[lo:hi] = got["out"], got["status"], \
                got["counters"]
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
            out[lo:hi], status[lo:hi], counters[lo:hi] = got["out"], got["status"], \
                got["counters"]
        if st_obj is not None:
            st_obj.write_chunk(j, lo, hi, out[lo:hi], status[lo:hi], counters[lo:hi])
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
    forget_stale_failures((rhs,))
    try:
        if backend == "threads":
            with _Threads(n_threads):
                for j in todo:
                    lo, hi = bounds[j]
                    y_rows, p_rows = chunk_inputs(lo, hi)
                    run(plan, rhs.address, obs_cfunc.address if obs_cfunc else 0,
                        y_rows, p_rows, out[lo:hi], status[lo:hi], counters[lo:hi])
                    finished(j, None)
            if rhs.errors:
                extra = (f"`fun` raised {type(rhs.errors[0]).__name__}: {rhs.errors[0]} "
                         "(Python fallback; those trajectories report non-finite values).")
            elif rhs.failure is not None and rhs.failure.flag[0]:
                # the compiled wrapper's note (shared with solve_ivp: cleared here)
                extra = (rhs.failure.summary()
                         + " Those trajectories report non-finite values.")
        else:
            _run_dask(plan, client, todo, bounds, chunk_inputs, finished)
    finally:
        if bar is not None:
            bar.close()
    # keep the compiled functions alive until the kernels are done with their addresses
    del rhs, obs_cfunc, run
    result = _finish(out, status, counters, t_out, save_name, msg_options,
                     trajectory_without_t_eval, t1)
    if extra:
        result.message += " " + extra
    return result


# ---------------------------------------------------------------------------------------------
# Dask backend
# ---------------------------------------------------------------------------------------------
class _PicklableCFunc:
    """A numba @cfunc RHS crossing to a Dask worker: rebuilt there from its Python function."""

    def __init__(self, cf: Any) -> None:
        self.pyfunc = cf._pyfunc
        self.sig = cf._sig

    def build(self) -> Any:
        return numba.cfunc(self.sig)(self.pyfunc)


# worker side: first function object seen per fingerprint, so that each worker compiles a
# given fun once (every task unpickles a new function object)
_worker_functions: dict[str, Any] = {}


def _worker_function(f: Any) -> Any:
    if f is None:
        return None
    if isinstance(f, _PicklableCFunc):
        key = "cfunc:" + callable_fingerprint(f.pyfunc)
        if key not in _worker_functions:
            _worker_functions[key] = f.build()
        return _worker_functions[key]
    key = callable_fingerprint(f)
    return _worker_functions.setdefault(key, f)


def _dask_task(plan: _Plan, n_rows: int, y_rows: _F64, p_rows: _F64) -> dict[str, Any]:
    """One chunk on a Dask worker: compile (once per worker) and run the threaded kernel."""
    rtol, atol, t_eval, t_out = _writeable(plan.rtol, plan.atol, plan.t_eval, plan.t_out)
    plan = plan._replace(fun=_worker_function(plan.fun), observe=_worker_function(plan.observe),
                         rtol=rtol, atol=atol, t_eval=t_eval, t_out=t_out)
    y_rows, p_rows = _writeable(y_rows, p_rows)  # arrays from the wire may be read-only
    p_row = p_rows[0].copy()
    rhs, obs = _compile_for_plan(plan, y_rows[0].copy(), p_row)
    with _Threads(plan.n_threads):
        result = _solve_chunk_arrays(plan, n_rows, rhs.address,
                                     obs.address if obs is not None else 0, y_rows, p_rows)
    del rhs, obs
    return result


def _run_dask(plan: _Plan, client: Any, todo: list[int], bounds: list[tuple[int, int]],
              chunk_inputs: Callable[..., Any], finished: Callable[[int, Any], None]) -> None:
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
    wire = plan._replace(
        fun=_PicklableCFunc(plan.fun) if isinstance(plan.fun, CFunc) else plan.fun,
        observe=(_PicklableCFunc(plan.observe) if isinstance(plan.observe, CFunc)
                 else plan.observe))
    token = hashlib.sha256(repr((time.time_ns(), os.getpid(), id(plan))).encode()).hexdigest()[:16]
    futures: dict[Any, int] = {}
    for j in todo:
        lo, hi = bounds[j]
        y_rows, p_rows = chunk_inputs(lo, hi)
        fut = client.submit(_dask_task, wire, hi - lo, y_rows, p_rows,
                            key=f"fastode-ensemble-{token}-{j}", pure=False)
        futures[fut] = j
    try:
        for fut in as_completed(list(futures)):
            j = futures.pop(fut)
            finished(j, fut.result())
            fut.release()
    finally:
        if futures:
            client.cancel(list(futures))
