"""``solve_ensemble(..., mode="batch")``: explicit methods stepped W trajectories at a time.

The kernel is fastode.kernels.ensemble_batch (compiled once, cached, like every kernel). What is
compiled per user function is a small *batch RHS*: a C function ``f(t[W], Y[n, W], P[n_p, W],
out[n, W])`` whose lane loop calls the user's ``fun`` (a ``return np.array([...])`` RHS
rewritten to write into ``out`` in place, fastode.rhs_inplace, so no lane allocates; LLVM
inlines it). Not numba's ``inline="always"``: an exception raised in IR-inlined code escapes
the lane's ``try`` (measured: the same speed without it, 1.3-1.9 ns per lane on LV). It is checked against the scalar
compiled RHS on the first W trajectories' inputs before use.

``mode``:

* ``"default"``: one scalar solve per trajectory (fastode.kernels.ensemble);
* ``"batch"``: the lock-step driver; refused (ValueError saying why) where it does not apply:
  a non-explicit method, ``backend="dask"``, a RHS that runs through Python, a numba ``@cfunc``
  RHS, events, or a RHS numba cannot compile into the batch form;
* ``"auto"`` (solve_ensemble's default): the default driver where batch does not apply;
  where it does, batch once compiling the batch RHS pays off (:class:`AutoRunner`).

The results are the default mode's, trajectory by trajectory, to the last bit where the batch
RHS does the same floating-point operations as the scalar one (the driver's arithmetic is the
scalar driver's, lane by lane).
"""
from __future__ import annotations

import ctypes
import math
import time
import weakref
from typing import Any, NamedTuple, Optional

import numpy as np
import numba
from numba import carray, types
from numba.core.ccallback import CFunc
from numba.core.registry import CPUDispatcher

from . import methods as method_registry
from .kernels import ensemble_batch as kern
from .kernels.progress import announce_compiles
from .rhs import _RHS_CTYPES
from .rhs_inplace import in_place_variant

announce_compiles(kern)

MODES = ("default", "batch", "auto")

# Lanes per batch: two AVX-512 vectors of doubles. Measured on the 10k Lotka-Volterra sweep
# (1 thread, default chunks, process time on the shared AVX-512 machine): 16 lanes 49k traj/s
# (DOP853) and 35k (RK45), 8 lanes 43k and 34k; 4 lanes were slower still.
WIDTH = 16
# Largest system "auto" sends to the batch driver: measured faster than the default driver up
# to n = 40 (DOP853, 1 thread: Lorenz-96 1.1-1.4x, a linear chain 1.1-1.6x, both allocating
# right-hand sides; Lotka-Volterra 2-2.4x); larger systems were not measured.
AUTO_MAX_N = 40

BATCH_SIGNATURE = types.void(types.CPointer(types.float64), types.CPointer(types.float64),
                             types.CPointer(types.float64), types.CPointer(types.float64))
_BATCH_CTYPES = ctypes.CFUNCTYPE(None, *([ctypes.POINTER(ctypes.c_double)] * 4))


def check_mode(mode: Any) -> str:
    """Validate ``solve_ensemble``'s ``mode`` (before anything is compiled)."""
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"`mode` must be 'default', 'batch' or 'auto'; got {mode!r}.")
    return mode


# ---------------------------------------------------------------------------------------------
# the batch RHS
# ---------------------------------------------------------------------------------------------
def _batch_source(n: int, n_p: int, width: int, has_params: bool, form: str) -> str:
    """Source of the batch wrapper: ``form`` "in_place" (fun writes its ``out``), "views" (fun
    returns an array, called on lane views) or "copies" (on contiguous copies of the lane)."""
    pcall = ", P[:, w]" if has_params else ""
    lines = ["def rhs_batch(t_ptr, y_ptr, p_ptr, out_ptr):",
             f"    T = carray(t_ptr, ({width},))",
             f"    Y = carray(y_ptr, ({n}, {width}))",
             f"    P = carray(p_ptr, ({max(n_p, 1)}, {width}))",
             f"    O = carray(out_ptr, ({n}, {width}))"]
    if form == "copies":
        lines += [f"    yb = np.empty({n})", f"    pb = np.empty({max(n_p, 1)})"]
        pcall = ", pb" if has_params else ""
    lines.append(f"    for w in range({width}):")
    # a lane whose fun raises gets NaN (it then fails with non-finite values); the others not
    body = []
    if form == "in_place":
        body.append(f"fun(T[w], Y[:, w]{pcall}, O[:, w])")
    else:
        if form == "copies":
            body += [f"for m in range({n}):", "    yb[m] = Y[m, w]",
                     f"for m in range({max(n_p, 1)}):", "    pb[m] = P[m, w]",
                     f"r = np.asarray(fun(T[w], yb{pcall}))"]
        else:
            body.append(f"r = np.asarray(fun(T[w], Y[:, w]{pcall}))")
        body += [f"if r.size == {n}:", "    rf = r.ravel()", f"    for m in range({n}):",
                 "        O[m, w] = rf[m]", "else:", f"    for m in range({n}):",
                 "        O[m, w] = np.nan"]
    lines.append("        try:")
    lines += ["            " + b for b in body]
    lines += ["        except Exception:", f"            for m in range({n}):",
              "                O[m, w] = np.nan"]
    return "\n".join(lines)


class BatchRHS(NamedTuple):
    address: int
    keepalive: Any
    form: str
    compile_seconds: float


# the scalar RHS's compiled object -> {(n, n_p, has_params, width): BatchRHS or reason}: a new
# scalar compile (globals that changed value, fastode.usercode) means a new batch compile
_batch_cache: "weakref.WeakKeyDictionary[Any, dict[Any, Any]]" = weakref.WeakKeyDictionary()


def _candidates(fun: Any, n: int) -> list[tuple[str, Any]]:
    """(form, jit-able function) pairs to try, fastest first."""
    py = fun.py_func if isinstance(fun, CPUDispatcher) else fun
    out: list[tuple[str, Any]] = []
    in_place = in_place_variant(py, n)
    if in_place is not None:
        out.append(("in_place", in_place))
    out += [("views", py), ("copies", py)]
    return out


def compile_batch_rhs(fun: Any, scalar: Any, n: int, n_p: int, has_params: bool, width: int,
                      y_rows: np.ndarray, p_rows: np.ndarray, t0: float) -> BatchRHS | str:
    """The batch RHS of ``fun`` (checked against the scalar compiled RHS ``scalar`` on the
    first ``width`` rows of ``y_rows``/``p_rows``), or the reason it cannot be built."""
    key = (n, n_p, has_params, width)
    try:
        per_function = _batch_cache.setdefault(scalar.keepalive, {})
    except TypeError:
        per_function = {}
    hit = per_function.get(key)
    if hit is not None:
        return hit
    reason = "numba could not compile `fun` in the batch form"
    result: BatchRHS | str = reason
    start = time.perf_counter()
    for form, fn in _candidates(fun, n):
        namespace: dict[str, Any] = {"np": np, "carray": carray}
        try:
            namespace["fun"] = numba.njit(error_model="numpy")(fn)
            source = _batch_source(n, n_p, width, has_params, form)
            exec(compile(source, f"<fastode batch rhs for {getattr(fn, '__name__', 'fun')}>",
                         "exec"), namespace)
            compiled = numba.cfunc(BATCH_SIGNATURE, error_model="numpy")(namespace["rhs_batch"])
        except Exception as exc:  # numba's TypingError, ...: the next form, or the reason
            reason = (f"numba could not compile `fun` in the batch form "
                      f"({type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]})")
            continue
        mismatch = _check(compiled.address, scalar.address, n, n_p, width, y_rows, p_rows, t0)
        if mismatch is None:
            result = BatchRHS(compiled.address, compiled, form, time.perf_counter() - start)
            break
        reason = mismatch
        result = reason
    per_function[key] = result
    return result


def _check(address: int, scalar_address: int, n: int, n_p: int, width: int, y_rows: np.ndarray,
           p_rows: np.ndarray, t0: float) -> Optional[str]:
    """None if the batch RHS agrees with the scalar one lane by lane, else why not."""
    ptr = ctypes.POINTER(ctypes.c_double)
    T = np.full(width, float(t0))
    Y = np.empty((n, width))
    P = np.zeros((max(n_p, 1), width))
    want = np.empty((n, width))
    scalar = _RHS_CTYPES(scalar_address)
    for w in range(width):
        y = np.ascontiguousarray(y_rows[w % y_rows.shape[0]], dtype=np.float64)
        p = np.ascontiguousarray(p_rows[w % p_rows.shape[0]], dtype=np.float64)
        Y[:, w] = y
        P[:p.shape[0], w] = p[:P.shape[0]]
        out = np.empty(n)
        scalar(T[w], y.ctypes.data_as(ptr), p.ctypes.data_as(ptr), out.ctypes.data_as(ptr))
        want[:, w] = out
    got = np.empty((n, width))
    _BATCH_CTYPES(address)(T.ctypes.data_as(ptr), Y.ctypes.data_as(ptr), P.ctypes.data_as(ptr),
                           got.ctypes.data_as(ptr))
    if not np.allclose(got, want, rtol=1e-12, atol=0.0, equal_nan=True):
        return "the batch form of `fun` returned different values than the scalar one at t0"
    return None


# ---------------------------------------------------------------------------------------------
# choosing the mode, running a chunk
# ---------------------------------------------------------------------------------------------
class BatchRunner(NamedTuple):
    """Runs a chunk in batch mode; called as fastode.ensemble_chunk._run_chunk is (``rhs``
    keeps the batch RHS alive)."""
    rhs: BatchRHS
    width: int
    n_threads: int

    def __call__(self, plan: Any, comp: Any, y0_rows: np.ndarray, p_rows: np.ndarray,
                 arrays: dict[str, np.ndarray]) -> None:
        obs_address = int(comp.obs.address) if comp.obs is not None else 0
        run_chunk(self, plan, obs_address, y0_rows, p_rows, arrays["out"], arrays["status"],
                  arrays["counters"])


def _refusal(plan: Any, fun: Any, rhs: Any, backend: str) -> Optional[str]:
    """Why the batch driver cannot run this ensemble, or None."""
    if plan.family != "explicit":
        return f"method {plan.method!r} is not explicit (batch mode runs explicit methods only)"
    if getattr(plan, "events", None):
        return "events are not supported in batch mode"
    if backend != "threads":
        return "batch mode runs with backend='threads' only"
    if isinstance(fun, CFunc):
        return ("a numba @cfunc `fun` cannot be inlined into the batch RHS; pass the Python "
                "function (or its @njit version)")
    if rhs.python_callback:
        return "`fun` runs through Python (numba could not compile it)"
    return None


# "auto": seconds this process spent in the default driver, per compiled scalar RHS object
_default_seconds: "weakref.WeakKeyDictionary[Any, float]" = weakref.WeakKeyDictionary()
# what "auto" weighs: compiling a batch RHS (measured 0.9 s CPU for Lotka-Volterra in a fresh
# process, 1.2-2.4 s wall on the shared machine) against the time the batch driver saves (it
# measured 2.0-2.4x the default driver's speed on easy and hard sweeps: >= half the time)
COMPILE_SECONDS = 1.0
SAVED_FRACTION = 0.5


class AutoRunner:
    """``mode="auto"``: the default driver until the batch RHS pays for its compile.

    The batch RHS is used from the first chunk where it is already compiled in this process;
    otherwise chunks run in the default driver, timed, and once the default-mode time of this
    RHS in this process (earlier calls included) plus this call's projected remainder, times
    the measured saving, exceeds the compile time, the batch RHS is compiled and the remaining
    chunks run in batch mode. Both drivers give the same results, so the switch is invisible
    except in speed.
    """

    def __init__(self, default_run: Any, fun: Any, rhs: Any, plan: Any, n_traj: int,
                 width: int, y_rows: np.ndarray, p_rows: np.ndarray) -> None:
        self.default_run, self.fun, self.rhs, self.n_traj = default_run, fun, rhs, n_traj
        self.width, self.y_rows, self.p_rows = width, y_rows, p_rows
        self.n_threads = plan.n_threads or numba.get_num_threads()
        self.batch: Optional[BatchRunner] = None
        self.rows = 0
        self.seconds = 0.0
        self.settled = False
        key = (plan.n, plan.n_p, plan.has_params, width)
        try:
            hit = _batch_cache.get(rhs.keepalive, {}).get(key)
        except TypeError:  # not weak-referenceable: nothing cached for it
            hit = None
        if isinstance(hit, BatchRHS):
            self.batch = BatchRunner(hit, width, self.n_threads)
        self.settled = hit is not None

    def __call__(self, plan: Any, comp: Any, y0_rows: np.ndarray, p_rows: np.ndarray,
                 arrays: dict[str, np.ndarray]) -> None:
        if self.batch is not None:
            self.batch(plan, comp, y0_rows, p_rows, arrays)
            return
        start = time.perf_counter()
        self.default_run(plan, comp, y0_rows, p_rows, arrays)
        took = time.perf_counter() - start
        self.rows += arrays["status"].shape[0]
        self.seconds += took
        spent = _default_seconds.get(self.rhs.keepalive, 0.0) + took
        try:
            _default_seconds[self.rhs.keepalive] = spent
        except TypeError:  # not weak-referenceable: this call's time only
            spent = self.seconds
        projected = self.seconds / self.rows * (self.n_traj - self.rows)
        if not self.settled and (spent + projected) * SAVED_FRACTION >= COMPILE_SECONDS:
            self.settled = True
            got = compile_batch_rhs(self.fun, self.rhs, plan.n, plan.n_p, plan.has_params,
                                    self.width, self.y_rows, self.p_rows, plan.t0)
            if isinstance(got, BatchRHS):
                self.batch = BatchRunner(got, self.width, self.n_threads)


def select(mode: str, plan: Any, fun: Any, rhs: Any, backend: str, y_rows: np.ndarray,
           p_rows: np.ndarray, n_traj: int, default_run: Any,
           width: int | None = None) -> Any:
    """The chunk runner for ``mode``: ``default_run`` (fastode.ensemble_chunk._run_chunk), a
    BatchRunner ("batch") or an AutoRunner ("auto", where the batch driver applies).

    ``mode="batch"`` raises ValueError where the batch driver does not apply. ``"auto"`` keeps
    the default driver where it does not, and for systems of more than ``AUTO_MAX_N``
    equations.
    """
    if mode == "default":
        return default_run
    width = WIDTH if width is None else width
    reason = _refusal(plan, fun, rhs, backend)
    if mode == "auto":
        if reason is None and plan.n <= AUTO_MAX_N:
            return AutoRunner(default_run, fun, rhs, plan, n_traj, width, y_rows, p_rows)
        return default_run
    if reason is None:
        got = compile_batch_rhs(fun, rhs, plan.n, plan.n_p, plan.has_params, width, y_rows,
                                p_rows, plan.t0)
        if isinstance(got, BatchRHS):
            return BatchRunner(got, width, plan.n_threads or numba.get_num_threads())
        reason = got
    raise ValueError(f"mode='batch' is not available here: {reason}. Use mode='default' "
                     "(or 'auto', which falls back to it).")


def block_size(n_rows: int, width: int, n_threads: int) -> int:
    """Trajectories per prange iteration: about two blocks per thread (dynamic balance), at
    least 4 per lane (each block ends with lanes draining)."""
    return max(4 * width, math.ceil(n_rows / (2 * max(n_threads, 1))))


def run_chunk(runner: BatchRunner, plan: Any, obs_address: int, y0_rows: np.ndarray,
              p_rows: np.ndarray, out: np.ndarray, status: np.ndarray,
              counters: np.ndarray) -> None:
    """Run the batch driver on one chunk (``out``, ``status``, ``counters``: the chunk's
    slices of the result)."""
    m = method_registry.lookup(plan.method)
    tab: Any = m.tableau
    n_rows = out.shape[0]
    if p_rows.shape[1] == 0:  # the batch RHS reads one (unused) parameter row
        p_rows = np.zeros((p_rows.shape[0], 1))
    kern.ensemble_explicit_batch(
        int(runner.rhs.address), int(runner.width),
        int(block_size(n_rows, runner.width, runner.n_threads)), p_rows, y0_rows, plan.t0,
        plan.t1, plan.rtol, plan.atol, tab.C, tab.A, tab.B, tab.E, tab.E3, bool(m.use_e3),
        int(tab.error_order), tab.C_extra, tab.A_extra, tab.P, bool(m.adaptive),
        float(plan.first_step), float(plan.max_step), float(plan.min_step),
        int(plan.max_steps), plan.t_eval if plan.t_eval is not None else plan.t_out,
        int(plan.mode), int(obs_address), out, status, counters)
