"""The chunk runner of ``solve_ensemble``: one chunk of trajectories through its family's prange
kernel (explicit: fastode.kernels.ensemble; stiff: fastode.kernels.ensemble_stiff).

A :class:`_Plan` holds everything a chunk needs, small and picklable (it travels to Dask
workers); :func:`_compile_for_plan` compiles the user functions in the process that runs the
chunk (the RHS, ``observe``, ``jac``, the events); :func:`_run_chunk` calls the family's kernel
with exactly the arguments ``solve_ivp`` gives the family driver, so each trajectory's result is
bitwise the one ``solve_ivp`` gives. Adding a family: its prange kernel and one entry in
:func:`_stiff_kernels` (or a branch in :func:`_run_chunk`).
"""
from __future__ import annotations

import ctypes
import weakref
from typing import Any, Callable, Literal, NamedTuple, Optional, cast

import numpy as np
import numpy.typing as npt
import numba
from numba.core.ccallback import CFunc
from numba.core.registry import CPUDispatcher

from . import methods as method_registry
from .ensemble_input import _F64, _Stiff
from .ivp_common import compiled_rhs
from .kernels import ensemble as kern
from .kernels.jacobian import JAC_CONSTANT, JAC_USER
from .kernels.progress import announce_compiles
from .rhs import (_RHS_CTYPES, RHS_SIGNATURE, CompiledFunction, arg_specs, compile_event)

# a kernel compile (or cache load) that outlasts a second says so on stderr
announce_compiles(kern)


def _stiff_kernels() -> dict[str, Any]:
    """family -> its prange kernel (fastode.kernels.ensemble_stiff), imported on first use: an
    explicit sweep does not load the stiff families."""
    from .kernels import ensemble_stiff as kern_stiff
    announce_compiles(kern_stiff)
    return {"rosenbrock": kern_stiff.ensemble_rosenbrock, "radau": kern_stiff.ensemble_radau,
            "bdf": kern_stiff.ensemble_bdf, "sdirk": kern_stiff.ensemble_esdirk,
            "switching": kern_stiff.ensemble_switching}


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
    events: tuple[Any, ...] = ()  # ((event function, terminal count, direction), ...)
    event_samples: int = 4
    max_events: int = 8
    jac: Any = None       # the user's jac (function, cfunc or constant matrix)
    stiff: Optional[_Stiff] = None


class _Compiled(NamedTuple):
    """The compiled user functions of a plan in this process (keep alive while running)."""
    rhs: CompiledFunction
    obs: Any
    jac: Optional[CompiledFunction]
    jac_mode: int
    events: tuple[CompiledFunction, ...]

    def all(self) -> list[CompiledFunction]:
        return [self.rhs, *self.events, *([self.jac] if self.jac is not None else [])]


def _out_rows(plan: _Plan) -> tuple[int, int]:
    """Second and third dimensions of the kernel's output array."""
    n_cols = 1 if plan.mode in (kern.SAVE_FINAL, kern.SAVE_OBSERVE_FINAL) else plan.t_out.size
    return (plan.n_obs if plan.observe is not None else plan.n), n_cols


def _chunk_shapes(plan: _Plan, n_rows: int) -> dict[str, tuple[int, ...]]:
    """Name -> shape of a chunk's arrays (the event arrays only with events)."""
    rows, cols = _out_rows(plan)
    shapes: dict[str, tuple[int, ...]] = {"out": (n_rows, rows, cols), "status": (n_rows,),
                                          "counters": (n_rows, 4)}
    if plan.events:
        k = len(plan.events)
        shapes.update(ev_t=(n_rows, k, plan.max_events),
                      ev_y=(n_rows, k, plan.max_events, plan.n), ev_n=(n_rows, k))
    return shapes


def _new_arrays(plan: _Plan, n_rows: int) -> dict[str, npt.NDArray[Any]]:
    return {name: np.empty(shape, dtype=np.int64 if name in ("status", "ev_n") else np.float64)
            for name, shape in _chunk_shapes(plan, n_rows).items()}


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


def _python_fallback_refused(what: str, compiled: CompiledFunction) -> None:
    # a Python fallback binds one trajectory's `p` (solve_ivp's args) at compile time: wrong for
    # the others, so the ensemble needs the compiled function
    raise ValueError(f"`{what}` must be numba-compilable in solve_ensemble (numba could not "
                     f"compile it: {compiled.reason}); a Python fallback would see one "
                     "trajectory's parameters only.")


def _compile_for_plan(plan: _Plan, y0_row: _F64, p_row: _F64) -> _Compiled:
    """The plan's compiled functions for this process."""
    rhs = _ensemble_rhs(plan.fun, plan.t0, y0_row, plan.n, p_row, plan.has_params)
    obs = None
    if plan.observe is not None:
        obs, _ = _compile_observe(plan.observe, plan.n, plan.n_p, plan.has_params, plan.t0,
                                  y0_row, p_row, plan.n_obs)
    args = (p_row,) if plan.has_params else ()
    jac, jac_mode = None, plan.stiff.jac_mode if plan.stiff is not None else 0
    if plan.jac is not None:
        from .ivp_jacobian import CONSTANT_JAC, compile_jac
        jac_mode, jac = compile_jac(plan.jac, plan.n, args, False, plan.t0, y0_row)
        if jac is not None and jac.python_callback and jac.reason != CONSTANT_JAC:
            _python_fallback_refused("jac", jac)
    events = []
    for k, (e, _, _) in enumerate(plan.events):
        c = compile_event(e, plan.n, args, False)
        if c.python_callback:
            _python_fallback_refused(f"events[{k}]", c)
        events.append(c)
    return _Compiled(rhs, obs, jac, int(jac_mode), tuple(events))


def _event_group(plan: _Plan, comp: _Compiled) -> tuple[Any, ...]:
    if not plan.events:
        return (np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64),
                int(plan.event_samples))
    return (np.array([c.address for c in comp.events], dtype=np.int64),
            np.array([d for _, _, d in plan.events], dtype=np.float64),
            np.array([c for _, c, _ in plan.events], dtype=np.int64), int(plan.event_samples))


def _stiff_call(plan: _Plan, comp: _Compiled) -> tuple[Any, tuple[Any, ...], tuple[Any, ...]]:
    """(prange kernel, leading arguments (coefficients), option groups) of a stiff plan, built
    as fastode.ivp_implicit._prepare builds solve_ivp's driver call."""
    from .ivp_implicit import BANDED, FIXED_STEP_DRIVERS, STRUCTURED, driver_for
    from .ivp_jacobian import FD_STRUCT, NO_LU_ORDER
    stiff = cast(_Stiff, plan.stiff)
    chosen = method_registry.lookup(plan.method)
    if chosen.family == "switching":
        return _switching_call(plan, comp, chosen, stiff)
    driver = FIXED_STEP_DRIVERS[chosen.name] if stiff.fixed_step else driver_for(chosen)
    mode, structure = stiff.jac_mode, stiff.structure
    if comp.jac is not None:  # jac_sparsity / lband matter only without a user jac
        mode, structure = comp.jac_mode, FD_STRUCT
    if driver in BANDED:
        jacobian = (int(mode), *structure, int(stiff.kl), int(stiff.ku), *stiff.lu_plan)
    elif driver in STRUCTURED:  # pragma: no cover - every stiff driver is BANDED today
        jacobian = (int(mode), *structure, -1, -1, NO_LU_ORDER, 0)
    else:  # pragma: no cover
        jacobian = (int(mode in (JAC_USER, JAC_CONSTANT)), *FD_STRUCT, -1, -1, NO_LU_ORDER, 0)
    groups = ((plan.rtol, plan.atol), (stiff.mass, bool(stiff.has_mass)),
              (float(plan.first_step), float(plan.max_step), float(plan.min_step),
               int(plan.max_steps)))
    return _stiff_kernels()[chosen.family], driver.coefficients, groups + (jacobian,)


def _switching_call(plan: _Plan, comp: _Compiled, chosen: Any,
                    stiff: _Stiff) -> tuple[Any, tuple[Any, ...], tuple[Any, ...]]:
    """:func:`_stiff_call` for LSODA / auto, as fastode.ivp_auto.solve_auto builds its legs'
    arguments: the coefficients are the explicit leg's tableau and the choice of stiff leg."""
    from .ivp_auto import BDF_BELOW_RTOL, NONSTIFF_METHODS, _tableau_group
    from .ivp_jacobian import FD_STRUCT, NO_LU_ORDER
    mode, structure = stiff.jac_mode, stiff.structure
    if comp.jac is not None:
        mode, structure = comp.jac_mode, FD_STRUCT
    coefficients = (_tableau_group(NONSTIFF_METHODS[chosen.name][1]),
                    bool(float(np.max(plan.rtol)) < BDF_BELOW_RTOL))
    groups = ((plan.rtol, plan.atol), (stiff.mass, False),
              (float(plan.first_step), float(plan.max_step), float(plan.min_step),
               int(plan.max_steps)), (int(mode), *structure, -1, -1, NO_LU_ORDER, 0))
    return _stiff_kernels()["switching"], coefficients, groups


def _run_chunk(plan: _Plan, comp: _Compiled, y0_rows: _F64, p_rows: _F64,
               arrays: dict[str, npt.NDArray[Any]]) -> None:
    """Run the family's prange kernel on one chunk, writing into ``arrays`` (slices of the
    result, shapes :func:`_chunk_shapes`)."""
    n_rows = arrays["status"].shape[0]
    if plan.events:
        ev = (arrays["ev_t"], arrays["ev_y"], arrays["ev_n"])
    else:
        ev = (np.empty((n_rows, 0, 1)), np.empty((n_rows, 0, 1, plan.n)),
              np.empty((n_rows, 0), dtype=np.int64))
    t_eval = plan.t_eval if plan.t_eval is not None else plan.t_out
    obs = int(comp.obs.address) if comp.obs is not None else 0
    events = _event_group(plan, comp)
    if plan.family == "explicit":
        m = method_registry.lookup(plan.method)
        tab: Any = m.tableau
        explicit: Any = kern.ensemble_explicit  # (numba's Dispatcher hints take no arguments)
        explicit(
            int(comp.rhs.address), p_rows, y0_rows, plan.t0, plan.t1, plan.rtol, plan.atol,
            tab.C, tab.A, tab.B, tab.E, tab.E3, bool(m.use_e3), int(tab.error_order),
            tab.C_extra, tab.A_extra, tab.P, bool(m.adaptive), float(plan.first_step),
            float(plan.max_step), float(plan.min_step), int(plan.max_steps),
            t_eval, False, *events, int(plan.mode), obs, arrays["out"], arrays["status"],
            arrays["counters"], *ev)
        return
    kernel, coefficients, (tolerances, mass, steps, jacobian) = _stiff_call(plan, comp)
    jac_address = int(comp.jac.address) if comp.jac is not None else 0
    kernel(*coefficients, int(comp.rhs.address), jac_address, p_rows, y0_rows, plan.t0,
           plan.t1, tolerances, mass, steps, t_eval, False, events, jacobian, int(plan.mode), obs,
           arrays["out"], arrays["status"], arrays["counters"], *ev)


class _Threads:
    """Set numba's thread count (and a dynamic-schedule chunk) for a block; restore after."""

    def __init__(self, n_threads: int | None) -> None:
        self.n_threads = n_threads

    def __enter__(self) -> _Threads:
        self.old_threads = numba.get_num_threads()
        if self.n_threads is not None:
            numba.set_num_threads(self.n_threads)
        # trajectories cost different amounts: hand them out one at a time (dynamically)
        # instead of one equal block per thread, so a slow trajectory does not idle the other
        # threads. Measured on the 10k Lotka-Volterra sweep: same speed as static blocks (and
        # as 4 at a time); 8 at a time was 8% slower (longer tails at the end of each chunk).
        self.old_chunk = numba.set_parallel_chunksize(1)
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        numba.set_parallel_chunksize(self.old_chunk)
        numba.set_num_threads(self.old_threads)
        return False


def _solve_chunk_arrays(plan: _Plan, n_rows: int, comp: _Compiled, y0_rows: _F64,
                        p_rows: _F64) -> dict[str, npt.NDArray[Any]]:
    """Solve one chunk of ``n_rows`` trajectories into new arrays (Dask tasks)."""
    arrays = _new_arrays(plan, n_rows)
    _run_chunk(plan, comp, y0_rows, p_rows, arrays)
    return arrays


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
