"""fastode.solve_ivp: validate input -> pick the method family -> its path -> result.

The public entry point. The families' paths are fastode.ivp_explicit (explicit Runge-Kutta),
fastode.ivp_implicit (stiff methods) and fastode.ivp_auto (stiffness switching); what they share
is in fastode.ivp_common. See docs/architecture.md for the layers.
"""
from __future__ import annotations

import inspect
import math
import warnings
from types import ModuleType
from typing import Any, Callable, Sequence, Union

import numpy as np
import numpy.typing as npt

from . import methods as method_registry
from .ivp_common import (validate_args, validate_events, validate_t_eval, validate_t_span,
                         validate_tolerances, validate_y0)
from .ivp_explicit import run_explicit, solve_explicit
from .kernels import status as st
from .results import MESSAGES, ConstantDenseOutput, OdeResult, OdeSolution

# implicit families scipy also has: solved by scipy until their compiled driver is registered
_SCIPY_FAMILY_NAMES = {"radau": "Radau", "bdf": "BDF", "lsoda": "LSODA"}

# ``events``: one event function or a sequence of them (attributes ``terminal``, ``direction``)
Events = Union[Callable[..., Any], Sequence[Callable[..., Any]]]


def _solve_with_scipy(fun: Callable[..., Any], t_span: npt.ArrayLike, y0: npt.ArrayLike,
                      method: str | type[Any], t_eval: npt.ArrayLike | None,
                      dense_output: bool, events: Events | None, vectorized: bool,
                      args: Sequence[Any] | None, options: dict[str, Any]) -> OdeResult:
    import scipy.integrate
    name = method if isinstance(method, str) else getattr(method, "__name__", str(method))
    warnings.warn(f"method {name!r} is not compiled by fastode yet; solving with "
                  "scipy.integrate.solve_ivp.", UserWarning, stacklevel=3)
    res = scipy.integrate.solve_ivp(fun, t_span, y0, method=method, t_eval=t_eval,
                                    dense_output=dense_output, events=events,
                                    vectorized=vectorized, args=args, **options)
    out = OdeResult(**res)
    out.naccept = None
    out.nreject = None
    return out


def _is_scipy_solver_class(method: type[Any]) -> bool:
    if not method.__module__.startswith("scipy.integrate"):
        return False
    import scipy.integrate
    return (method.__name__ in ("RK23", "RK45", "DOP853", "Radau", "BDF", "LSODA")
            and getattr(scipy.integrate, method.__name__, None) is method)


# fastode.ivp_implicit and fastode.ivp_auto, imported on first use (an import statement inside
# solve_ivp would cost ~0.6 us per call)
_implicit: ModuleType | None = None
_auto: ModuleType | None = None


def _load_families() -> tuple[ModuleType, ModuleType]:
    global _implicit, _auto
    from . import ivp_auto, ivp_implicit
    _implicit, _auto = ivp_implicit, ivp_auto
    return _implicit, _auto


def solve_ivp(fun: Callable[..., Any], t_span: npt.ArrayLike, y0: npt.ArrayLike,
              method: str | type[Any] = "RK45", t_eval: npt.ArrayLike | None = None,
              dense_output: bool = False, events: Events | None = None,
              vectorized: bool = False, args: Sequence[Any] | None = None,
              **options: Any) -> OdeResult:
    """Solve an initial value problem for a system of ODEs (drop-in for scipy's ``solve_ivp``).

    Parameters
    ----------
    fun : callable
        ``fun(t, y, *args) -> array_like, shape (n,)``. A plain Python function is compiled with
        numba once per argument layout (new values of ``args`` do not recompile); a numba
        ``@njit`` function, or a ``@cfunc`` with the C signature
        ``void(double t, double *y, double *p, double *dydt)``, is accepted as is. A function
        numba cannot compile is called through Python, with one ``FallbackWarning``.
    t_span : 2-member sequence
        Interval of integration ``(t0, tf)``; ``tf < t0`` integrates backwards.
    y0 : array_like, shape (n,)
        Initial state, real or complex (complex states are integrated as real pairs).
    method : str or OdeSolver class, optional
        ``'RK45'`` (default, Dormand-Prince 5(4)), ``'RK23'``, ``'DOP853'``, ``'Tsit5'``,
        ``'Vern7'`` (adaptive), ``'euler'``, ``'midpoint'``, ``'heun'``, ``'rk4'``, ``'rk38'``
        (fixed step, needs ``step``), or an alias (``bs3``, ``dopri5``, ``dop853``, ``tsit5``,
        ``vern7``); stiff: ``'Radau'``, ``'BDF'``, ``'Rodas5P'``, ``'Rodas4'``, ``'Rosenbrock23'``
        (see ``jac``, ``jac_sparsity``, ``lband``/``uband`` and fastode's ``mass`` option);
        automatic stiffness switching: ``'LSODA'`` (RK45 <-> Rodas4) and ``'auto'``
        (Tsit5 <-> Rodas4), whose result has ``method_switches`` (fastode.ivp_auto).
        scipy OdeSolver classes are passed on to scipy with a warning.
    t_eval : array_like, optional
        Times at which to store the solution (sorted, inside ``t_span``); by default every step.
    dense_output : bool, optional
        Whether to return ``sol``, a callable ``OdeSolution``.
    events : callable or list of callables, optional
        ``event(t, y, *args) -> float``; zeros are located on the dense output. Attributes:
        ``terminal`` (bool, or an int: stop after that many occurrences) and ``direction``.
    vectorized : bool, optional
        Whether ``fun`` accepts ``y`` of shape (n, k); it is then called with shape (n, 1).
    args : tuple, optional
        Extra arguments for ``fun`` and the events.
    **options
        ``rtol`` (1e-3), ``atol`` (1e-6), scalar or shape (n,); ``first_step``; ``max_step``
        (inf); ``min_step`` (0: a step below it ends the integration with status -1);
        ``max_steps`` (unlimited: the number of attempted steps after which the integration
        stops with status -1); ``step`` (fixed-step methods); ``event_samples`` (4: the number of
        pieces each step is cut into when looking for event sign changes). Stiff methods with
        a ``jac_sparsity`` that is not a narrow band: ``linear_solver`` (``'auto'``,
        ``'dense'``, ``'banded'``, ``'sparse'``: a sparse LU, or ``'krylov'``: Newton-Krylov,
        GMRES, BDF only), and for ``'krylov'`` ``preconditioner`` (``'ilu0'`` or None),
        ``krylov_dim`` (10), ``krylov_restarts`` (4); the result's ``linear_solver`` says
        which ran, and ``nli`` counts GMRES iterations.

    Returns
    -------
    OdeResult
        scipy's fields ``t, y, sol, t_events, y_events, nfev, njev, nlu, status, message,
        success`` plus ``naccept`` and ``nreject``. A failed integration has ``success=False``,
        a message and the solution up to the failure.

    Examples
    --------
    >>> import numpy as np, fastode
    >>> sol = fastode.solve_ivp(lambda t, y: -y, (0.0, 5.0), [1.0], rtol=1e-8, atol=1e-10)
    >>> bool(abs(sol.y[0, -1] - np.exp(-5.0)) < 1e-8)
    True
    """
    if not callable(fun):
        raise TypeError("`fun` must be callable.")
    chosen = method_registry.METHODS_BY_NAME.get(method) if type(method) is str else None
    if chosen is None:
        if (inspect.isclass(method)
                and getattr(method, "_method", None) in method_registry.METHODS_BY_NAME):
            # fastode's own step-by-step classes name a compiled method: run the compiled driver
            chosen = method_registry.METHODS_BY_NAME[method._method]  # type: ignore[attr-defined]
        elif inspect.isclass(method) and _is_scipy_solver_class(method):
            # scipy's own RK23 ... LSODA classes (code written for scipy passes them): the
            # compiled method of the same name (a subclass of them stays with scipy)
            chosen = method_registry.METHODS_BY_NAME[method.__name__]
        elif inspect.isclass(method) or method in method_registry.SCIPY_ONLY:
            return _solve_with_scipy(fun, t_span, y0, method, t_eval, dense_output, events,
                                     vectorized, args, options)
        elif not isinstance(method, str):
            raise TypeError(f"`method` must be a string or an OdeSolver class; got {method!r}.")
        else:
            chosen = method_registry.lookup(method)
    if chosen.family not in ("explicit", "switching"):
        # the stiff families load on first use: a script that only solves non-stiff problems
        # does not pay their import (fastode.ivp_implicit and its kernel modules, ~0.1 s)
        implicit = _implicit or _load_families()[0]
        if implicit.driver_for(chosen) is None and chosen.family in _SCIPY_FAMILY_NAMES:
            # registered, but its compiled driver is not plugged in yet
            return _solve_with_scipy(fun, t_span, y0, _SCIPY_FAMILY_NAMES[chosen.family],
                                     t_eval, dense_output, events, vectorized, args, options)
    t0, t1 = validate_t_span(t_span)
    # a NaN in y0 is checked here on every call: the kernels take it as a state (a NaN step size
    # made the explicit driver loop forever on a right-hand side that ignores y)
    y0_real, n, is_complex = validate_y0(y0, allow_empty=True)
    if n == 0:
        return _empty_state_result(fun, t_span, y0, method, t0, t1, t_eval, dense_output,
                                   events, vectorized, args, options)
    if args is None:
        args = ()
    elif type(args) is not tuple:
        args = validate_args(args)
    rtol, atol = validate_tolerances(options.pop("rtol", 1e-3), options.pop("atol", 1e-6), n,
                                     is_complex)
    t_eval_arr = None if t_eval is None else validate_t_eval(t_eval, t0, t1)
    event_list = [] if events is None else validate_events(events)
    if not math.isfinite(t1) and not (options.get("max_steps")
                                      or any(count for _, count, _ in event_list)):
        # scipy accepts it and may never return; an unbounded solve here would fill memory
        raise ValueError("`t_span` has an infinite end: give a terminal event (or `max_steps`) "
                         "so that the integration can end.")
    result: OdeResult   # the families' modules are not annotated (no code: a declaration)
    if chosen.family == "switching":
        # LSODA / auto: explicit <-> stiff switching (fastode.ivp_auto)
        auto = _auto or _load_families()[1]
        result = auto.solve_auto(fun, chosen, t0, t1, y0_real, n, is_complex, args, rtol, atol,
                                 t_eval_arr, dense_output, event_list, vectorized, options)
        return result
    if chosen.family != "explicit":
        # stiff methods (Rosenbrock, and the families registered in fastode.ivp_implicit)
        implicit = _implicit or _load_families()[0]
        result = implicit.solve_implicit(fun, chosen, t0, t1, y0_real, n, is_complex, args,
                                         rtol, atol, t_eval_arr, dense_output, event_list,
                                         vectorized, options)
        return result
    if not options and chosen.adaptive:
        # the common case: no further options (saves ~2 us of option parsing per call)
        result = run_explicit(fun, chosen, t0, t1, y0_real, n, is_complex, args, rtol, atol,
                              t_eval_arr, dense_output, event_list, vectorized, 0.0, np.inf, 0.0,
                              None, 4)
        return result
    result = solve_explicit(fun, chosen, method, t0, t1, y0_real, n, is_complex, args, rtol,
                            atol, t_eval_arr, dense_output, event_list, vectorized, options)
    return result


def _empty_state_result(fun: Callable[..., Any], t_span: npt.ArrayLike, y0: npt.ArrayLike,
                        method: str | type[Any], t0: float, t1: float,
                        t_eval: npt.ArrayLike | None, dense_output: bool, events: Events | None,
                        vectorized: bool, args: Sequence[Any] | None,
                        options: dict[str, Any]) -> OdeResult:
    """A state with no components has nothing to integrate: the answer is known (scipy's).

    With events there is still something to find (an event may depend on t alone): scipy's
    solver does it, on a problem that costs nothing.
    """
    if events is not None:
        import scipy.integrate
        return OdeResult(**scipy.integrate.solve_ivp(
            fun, t_span, np.asarray(y0), method=_scipy_method_name(method), t_eval=t_eval,
            dense_output=dense_output, events=events, vectorized=vectorized,
            args=None if args is None else validate_args(args), **options))
    if t_eval is not None:
        t = validate_t_eval(t_eval, t0, t1).copy()
    else:
        t = np.array([t0, t1]) if t1 != t0 else np.array([t0])
    dtype = np.asarray(y0).dtype
    y = np.zeros((0, t.size), dtype=complex if dtype.kind == "c" else float)
    sol = None
    if dense_output:
        empty = np.zeros(0)
        sol = OdeSolution(np.array([t0, t1]), [ConstantDenseOutput(t0, t1, empty)],
                          complex_state=dtype.kind == "c")
    return OdeResult(t=t, y=y, sol=sol, t_events=None, y_events=None, nfev=0, njev=0, nlu=0,
                     status=0, message=MESSAGES[st.SUCCESS], success=True, naccept=0,
                     nreject=0)


def _scipy_method_name(method: str | type[Any]) -> str:
    if isinstance(method, str):
        chosen = method_registry.METHODS_BY_NAME.get(method)
        if chosen is not None and chosen.family in _SCIPY_FAMILY_NAMES:
            return _SCIPY_FAMILY_NAMES[chosen.family]
        return method if method in ("RK23", "RK45", "DOP853", "Radau", "BDF", "LSODA") else "RK45"
    return getattr(method, "__name__", "RK45") if inspect.isclass(method) else "RK45"

