"""fastode.solve_ivp: validate input -> pick method -> compile RHS -> run kernel -> result."""
import inspect
import math
import warnings
from numbers import Integral, Real

import numpy as np
from numba.core.ccallback import CFunc

from . import methods as method_registry
from .kernels import status as st
from .kernels.explicit import explicit_rk_solve as _explicit_rk_kernel
from .kernels.family import MethodDriver
from . import usercode
from .results import (MESSAGES, MIN_STEP_MESSAGE, ConstantDenseOutput, OdeResult, OdeSolution,
                      scipy_status)
from .rhs import (RHS_SIGNATURE, Extras, _cache_for, arg_specs, compile_event, compile_rhs,
                  forget_stale_failures, pack_args, raise_failures)

EPS = np.finfo(float).eps
_NO_EVENTS_I = np.zeros(0, dtype=np.int64)
_NO_EVENTS_F = np.zeros(0)
_DUMMY_T_EVAL = np.zeros(1)
# scipy's sentences first (code written against scipy matches on them), fastode's detail after
Y0_NOT_FINITE = "All components of the initial state `y0` must be finite (no NaN or inf)."
ARGS_NOT_UNPACKABLE = ("Supplied 'args' cannot be unpacked. Please supply `args` as a tuple "
                       "(e.g. `args=(a,)`).")

# options of scipy.integrate.solve_ivp that explicit methods ignore (scipy warns for them too)
_IMPLICIT_ONLY_OPTIONS = ("jac", "jac_sparsity", "lband", "uband")
# implicit families scipy also has: solved by scipy until their compiled driver is registered
_SCIPY_FAMILY_NAMES = {"radau": "Radau", "bdf": "BDF", "lsoda": "LSODA"}
_FASTODE_OPTIONS = ("first_step", "max_step", "min_step", "max_steps", "step", "event_samples")


# the first call in a process says so on stderr if the kernel has to compile
explicit_rk_solve = MethodDriver("explicit Runge-Kutta", _explicit_rk_kernel)


def _fail(kind, message):
    return kind(message)


def validate_t_span(t_span):
    try:
        first, last = t_span
        t0 = float(first)
        t1 = float(last)
    except (TypeError, ValueError):
        raise ValueError("`t_span` must be a pair of real numbers (t0, t_bound).") from None
    # t_bound may be infinite, as in scipy (an event or max_steps ends such a solve)
    if not math.isfinite(t0) or math.isnan(t1):
        raise ValueError(f"`t_span` must have a finite start and a non-NaN end; "
                         f"got {tuple(t_span)!r}.")
    return t0, t1


def _all_finite(arr) -> bool:
    # plain Python for a small vector: ~0.3 us instead of ~1.2 us for np.isfinite(...).all()
    return all(map(math.isfinite, arr.tolist())) if arr.size <= 32 else bool(np.isfinite(arr).all())


def validate_y0(y0, check_finite=True, allow_empty=False):
    """Return (y0 as float64 (real pairs for complex), n, is_complex).

    With ``check_finite=False`` the caller checks finiteness itself. ``allow_empty`` accepts a
    state with no components (scipy's solve_ivp does).
    """
    if type(y0) is np.ndarray and y0.dtype == np.float64 and y0.ndim == 1 and y0.size:
        arr = y0.copy()  # fast path: already a float vector
        if check_finite and not _all_finite(arr):
            raise ValueError(Y0_NOT_FINITE)
        return arr, arr.size, False
    try:
        arr = np.asarray(y0)
    except Exception:
        raise TypeError("`y0` must be array-like of numbers.") from None
    if arr.dtype == object or arr.dtype.kind not in "biufc":
        raise TypeError(f"`y0` must contain real or complex numbers; got dtype {arr.dtype}.")
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"`y0` must be 1-dimensional; got shape {arr.shape}.")
    if arr.size == 0 and not allow_empty:
        raise ValueError("`y0` must have at least one component.")
    if check_finite and not (_all_finite(arr) if arr.dtype.kind != "c"
                             else np.isfinite(arr).all()):
        raise ValueError(Y0_NOT_FINITE)
    if arr.dtype.kind == "c":
        z = arr.astype(np.complex128)
        return np.ascontiguousarray(z.view(np.float64)), arr.size, True
    return np.array(arr, dtype=np.float64), arr.size, False


_SCALAR_TOLERANCES: dict = {}


def validate_tolerances(rtol, atol, n, is_complex):
    """Per-component float64 rtol and atol arrays (doubled for complex states)."""
    if (type(rtol) is float and type(atol) is float and 100 * EPS <= rtol < np.inf
            and 0.0 <= atol < np.inf):
        # fast path for the common scalar case: the kernels only read these arrays, so equal
        # tolerances share one pair (not flagged read-only: numba would compile the kernels
        # again for read-only array types)
        m = 2 * n if is_complex else n
        key = (rtol, atol, m)
        pair = _SCALAR_TOLERANCES.get(key)
        if pair is None:
            if len(_SCALAR_TOLERANCES) > 256:
                _SCALAR_TOLERANCES.clear()
            pair = (np.full(m, rtol), np.full(m, atol))
            _SCALAR_TOLERANCES[key] = pair
        return pair
    rtol_arr = np.asarray(rtol, dtype=float)
    atol_arr = np.asarray(atol, dtype=float)
    for name, arr in (("rtol", rtol_arr), ("atol", atol_arr)):
        if arr.ndim > 1 or (arr.ndim == 1 and arr.shape != (n,)):
            raise ValueError(f"`{name}` must be a scalar or have shape ({n},); got {arr.shape}.")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"`{name}` must be finite.")
        if np.any(arr < 0):
            raise ValueError(f"`{name}` must be non-negative.")
    if np.any(rtol_arr < 100 * EPS):
        warnings.warn(f"At least one element of `rtol` is too small. Setting `rtol = "
                      f"np.maximum(rtol, {100 * EPS})` (as scipy does).", UserWarning,
                      stacklevel=3)
        rtol_arr = np.maximum(rtol_arr, 100 * EPS)
    # copies: a read-only array (np.broadcast_to) would make numba compile the kernel again
    rtol_full = np.array(np.broadcast_to(rtol_arr, (n,)), dtype=float)
    atol_full = np.array(np.broadcast_to(atol_arr, (n,)), dtype=float)
    if is_complex:
        rtol_full = np.repeat(rtol_full, 2)
        atol_full = np.repeat(atol_full, 2)
    return rtol_full, atol_full


def validate_t_eval(t_eval, t0, t1):
    if t_eval is None:
        return None
    arr = np.asarray(t_eval, dtype=float)
    if arr.ndim != 1:
        raise ValueError("`t_eval` must be 1-dimensional.")
    if arr.size <= 16:
        # the same checks in plain Python: ~1 us instead of ~9 us of numpy calls for a few points
        values = arr.tolist()
        lo, hi = min(t0, t1), max(t0, t1)
        if not all(map(math.isfinite, values)):
            raise ValueError("`t_eval` must be finite.")
        if any(v < lo or v > hi for v in values):
            raise ValueError("Values in `t_eval` are not within `t_span`.")
        if t1 >= t0:
            if any(b <= a for a, b in zip(values, values[1:])):
                raise ValueError("Values in `t_eval` are not properly sorted.")
        elif any(b >= a for a, b in zip(values, values[1:])):
            raise ValueError("Values in `t_eval` are not properly sorted.")
        return arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)
    if not np.all(np.isfinite(arr)):
        raise ValueError("`t_eval` must be finite.")
    lo, hi = min(t0, t1), max(t0, t1)
    if np.any(arr < lo) or np.any(arr > hi):
        raise ValueError("Values in `t_eval` are not within `t_span`.")
    d = np.diff(arr)
    if (t1 >= t0 and np.any(d <= 0)) or (t1 < t0 and np.any(d >= 0)):
        raise ValueError("Values in `t_eval` are not properly sorted.")
    return np.ascontiguousarray(arr)


def validate_events(events):
    """List of (function, terminal count (0 = not terminal), direction)."""
    if events is None:
        return []
    if callable(events):
        events = [events]
    out = []
    for k, event in enumerate(events):
        if not callable(event):
            raise TypeError(f"`events[{k}]` must be callable.")
        terminal = getattr(event, "terminal", None)
        # scipy's rule: None, False or 0 -> not terminal; True or an integer k > 0 -> stop at
        # the k-th occurrence
        if terminal is None or isinstance(terminal, (bool, np.bool_)):
            count = 1 if terminal else 0
        elif isinstance(terminal, Real) and terminal >= 0 and int(terminal) == terminal:
            count = int(terminal)
        else:
            raise ValueError("The `terminal` attribute of each event must be a boolean or "
                             f"positive integer; `events[{k}].terminal` is {terminal!r}.")
        direction = getattr(event, "direction", 0)
        try:
            direction = float(direction)
        except (TypeError, ValueError):
            raise ValueError(f"`events[{k}].direction` must be a number.") from None
        if not np.isfinite(direction):
            raise ValueError(f"`events[{k}].direction` must be finite.")
        out.append((event, count, float(np.sign(direction))))
    return out


def validate_args(args):
    if args is None:
        return ()
    if isinstance(args, (str, bytes)):
        # scipy would unpack it into characters: always a mistake, so say so early
        raise TypeError(ARGS_NOT_UNPACKABLE + f" Got a string, {args!r}.")
    try:
        return tuple(args)
    except TypeError as exc:
        raise TypeError(ARGS_NOT_UNPACKABLE) from exc


def _positive_option(options, name, default, allow_inf=False):
    value = options.pop(name, None)
    if value is None:
        return default
    if not isinstance(value, Real) or isinstance(value, bool):
        raise TypeError(f"`{name}` must be a real number; got {value!r}.")
    value = float(value)
    if not (value > 0) or (not allow_inf and not np.isfinite(value)):
        raise ValueError(f"`{name}` must be positive{'' if allow_inf else ' and finite'}; "
                         f"got {value!r}.")
    return value


def parse_step_options(options, t0, t1, events=True):
    """Pop and check the step options every driver takes (scipy's and fastode's own).

    Returns (max_step, first_step, min_step, max_steps, event_samples); ``first_step`` 0 means
    automatic, ``max_steps`` None unlimited. With ``events=False`` ``event_samples`` stays in
    ``options`` (so the caller reports it as having no effect).
    """
    max_step = _positive_option(options, "max_step", np.inf, allow_inf=True)
    first_step = _positive_option(options, "first_step", 0.0)
    min_step = options.pop("min_step", 0.0)
    if (isinstance(min_step, bool) or not isinstance(min_step, Real) or not (min_step >= 0)
            or not np.isfinite(min_step)):
        raise ValueError(f"`min_step` must be a non-negative finite number; got {min_step!r}.")
    max_steps = options.pop("max_steps", None)
    if max_steps is not None and (isinstance(max_steps, bool)
                                  or not isinstance(max_steps, Integral) or max_steps <= 0):
        raise ValueError(f"`max_steps` must be a positive integer; got {max_steps!r}.")
    event_samples = options.pop("event_samples", 4) if events else 4
    if not isinstance(event_samples, Integral) or event_samples < 1:
        raise ValueError(f"`event_samples` must be a positive integer; got {event_samples!r}.")
    if first_step and first_step > abs(t1 - t0) and t1 != t0:
        raise ValueError("`first_step` exceeds the length of `t_span`.")
    return max_step, first_step, float(min_step), max_steps, int(event_samples)


def fixed_or_adaptive_first_step(chosen, method, step, first_step, t0, t1):
    """The explicit driver's ``first_step``: the fixed step of a fixed-step method (``step``,
    else ``first_step``), or the adaptive first step (``step`` is an error there)."""
    if chosen.adaptive:
        if step:
            raise ValueError(f"`step` is for fixed-step methods; {method!r} is adaptive "
                             "(use `first_step` / `max_step`).")
        return first_step
    step = step or first_step
    if not step and t1 != t0:
        raise ValueError(f"fixed-step method {method!r} needs a step size: pass `step=` "
                         "(or `first_step=`).")
    return step or 1.0


def check_fun(fun, t0, y0_real, n, is_complex, args, vectorized):
    """Call ``fun`` once in Python at (t0, y0): the shape check scipy does, with clear errors.

    Returns (expected f(t0, y0) as real array, scalar_return).
    """
    y = y0_real.view(np.complex128) if is_complex else y0_real.copy()
    if vectorized:
        y = y[:, None]
    try:
        f0 = fun(t0, y, *args)
    except Exception as exc:
        raise ValueError(f"`fun` raised {type(exc).__name__} when called as fun(t0, y0, *args): "
                         f"{exc}") from exc
    try:
        f0 = np.asarray(f0, dtype=np.complex128 if is_complex else np.float64)
    except (TypeError, ValueError):
        raise ValueError("`fun` must return an array of numbers; got "
                         f"{type(f0).__name__}.") from None
    scalar_return = f0.ndim == 0
    if scalar_return and n == 1:
        f0 = f0.reshape(1)
    if vectorized and f0.shape == (n, 1):
        f0 = f0[:, 0]
    if f0.shape != (n,):
        raise ValueError(f"`fun` returned shape {f0.shape}; expected ({n},) to match `y0`.")
    if is_complex:
        f0 = f0.view(np.float64)
    return np.ascontiguousarray(f0), scalar_return


def _solve_with_scipy(fun, t_span, y0, method, t_eval, dense_output, events, vectorized, args,
                      options):
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


def _is_scipy_solver_class(method) -> bool:
    if not method.__module__.startswith("scipy.integrate"):
        return False
    import scipy.integrate
    return (method.__name__ in ("RK23", "RK45", "DOP853", "Radau", "BDF", "LSODA")
            and getattr(scipy.integrate, method.__name__, None) is method)


_IMPLICIT = None  # fastode.ivp_implicit, imported on first use (it imports this module)


def _import_implicit():
    global _IMPLICIT
    from . import ivp_implicit
    _IMPLICIT = ivp_implicit
    return ivp_implicit


def solve_ivp(fun, t_span, y0, method="RK45", t_eval=None, dense_output=False, events=None,
              vectorized=False, args=None, **options):
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
        pieces each step is cut into when looking for event sign changes).

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
            chosen = method_registry.METHODS_BY_NAME[method._method]
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
        implicit = _IMPLICIT or _import_implicit()
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
    if chosen.family == "switching":
        # LSODA / auto: explicit <-> stiff switching (fastode.ivp_auto)
        from .ivp_auto import solve_auto
        return solve_auto(fun, chosen, t0, t1, y0_real, n, is_complex, args, rtol, atol,
                          t_eval_arr, dense_output, event_list, vectorized, options)
    if chosen.family != "explicit":
        # stiff methods (Rosenbrock, and the families registered in fastode.ivp_implicit)
        return implicit.solve_implicit(fun, chosen, t0, t1, y0_real, n, is_complex, args, rtol,
                                       atol, t_eval_arr, dense_output, event_list, vectorized,
                                       options)
    if not options and chosen.adaptive:
        # the common case: no further options (saves ~2 us of option parsing per call)
        return _run_explicit(fun, chosen, t0, t1, y0_real, n, is_complex, args, rtol, atol,
                             t_eval_arr, dense_output, event_list, vectorized, 0.0, np.inf, 0.0,
                             None, 4)
    if "mass" in options:
        # an explicit method cannot solve M y' = f: ignoring `mass` would solve y' = f
        raise ValueError(f"`mass` is not supported by the explicit method {chosen.name!r}; "
                         "use a stiff method that accepts it: 'Radau', 'BDF', 'Rodas5P', "
                         "'Rodas4', 'Rosenbrock23', 'KenCarp4', 'Kvaerno5' or 'implicit_euler'.")
    step = _positive_option(options, "step", 0.0)
    max_step, first_step, min_step, max_steps, event_samples = parse_step_options(options, t0, t1)
    first_step = fixed_or_adaptive_first_step(chosen, method, step, first_step, t0, t1)
    if options:
        ignored = [k for k in options if k in _IMPLICIT_ONLY_OPTIONS]
        unknown = [k for k in options if k not in _IMPLICIT_ONLY_OPTIONS]
        warnings.warn(f"The following arguments have no effect for a chosen solver: "
                      f"{', '.join('`%s`' % k for k in ignored + unknown)}.", UserWarning,
                      stacklevel=2)
    return _run_explicit(fun, chosen, t0, t1, y0_real, n, is_complex, args, rtol, atol,
                         t_eval_arr, dense_output, event_list, vectorized, first_step, max_step,
                         min_step, max_steps, event_samples)


def _empty_state_result(fun, t_span, y0, method, t0, t1, t_eval, dense_output, events,
                        vectorized, args, options):
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


def _scipy_method_name(method):
    if isinstance(method, str):
        chosen = method_registry.METHODS_BY_NAME.get(method)
        if chosen is not None and chosen.family in _SCIPY_FAMILY_NAMES:
            return _SCIPY_FAMILY_NAMES[chosen.family]
        return method if method in ("RK23", "RK45", "DOP853", "Radau", "BDF", "LSODA") else "RK45"
    return getattr(method, "__name__", "RK45") if inspect.isclass(method) else "RK45"


_FLOAT_SPECS = {}
_EMPTY_P = np.zeros(1)


def _pack(args):
    """(specs, p) for ``args``; floats-only tuples take a fast path."""
    if not args:
        return (), _EMPTY_P
    if all(type(a) is float for a in args):
        specs = _FLOAT_SPECS.get(len(args))
        if specs is None:
            specs = _FLOAT_SPECS[len(args)] = arg_specs(args)
        return specs, np.array(args)
    specs = arg_specs(args)
    return specs, (pack_args(args, specs) if specs is not None else _EMPTY_P)


def _run_explicit(fun, chosen, t0, t1, y0_real, n, is_complex, args, rtol, atol, t_eval_arr,
                  dense_output, event_list, vectorized, first_step, max_step, min_step,
                  max_steps, event_samples):
    """Compile (or fetch) the user functions, run the explicit RK kernel, shape the result."""
    specs, p = _pack(args)
    extras = Extras(specs)
    rhs = _compiled_rhs(fun, t0, y0_real, n, is_complex, args, specs, vectorized, extras)
    compiled_events = [compile_event(e, n, args, is_complex, extras) for e, _, _ in event_list]
    p = extras.pack(args, specs, p)  # + the current values of numeric globals the functions read

    tab = chosen.tableau
    failure = rhs.failure
    if failure is not None and failure.flag[0]:  # a note nobody reported (see forget_stale)
        failure.buffer[0] = 0.0
    if event_list:
        forget_stale_failures(compiled_events)
        addresses = np.array([c.address for c in compiled_events], dtype=np.int64)
        terminal = np.array([c for _, c, _ in event_list], dtype=np.int64)
        directions = np.array([d for _, _, d in event_list])
    else:
        addresses, terminal, directions = _NO_EVENTS_I, _NO_EVENTS_I, _NO_EVENTS_F
    (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg, ev_t, ev_y, ev_index, n_ev,
     counters) = explicit_rk_solve(
        rhs.address, p, t0, t1, y0_real, rtol, atol,
        tab.C, tab.A, tab.B, tab.E, tab.E3, chosen.use_e3, tab.error_order, tab.C_extra, tab.A_extra,
        tab.P, chosen.adaptive, first_step, max_step, min_step,
        int(max_steps or 0), t_eval_arr if t_eval_arr is not None else _DUMMY_T_EVAL,
        t_eval_arr is not None, bool(dense_output), addresses, directions, terminal,
        event_samples)
    status = int(status)
    if rhs.errors or compiled_events or (rhs.failure is not None and rhs.failure.flag[0]):
        # fun or an event raised (or fun returned another length): re-raise it, as scipy
        raise_failures([rhs] + compiled_events, args, 1.0 if t1 >= t0 else -1.0)

    message = MESSAGES[status]
    if status == st.STEP_TOO_SMALL and min_step > 0:
        message = MIN_STEP_MESSAGE.format(min_step=min_step)
    if "{" in message:
        message = message.format(max_steps=max_steps, t=float(counters[3]))
    return shape_result(status, message, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg,
                        ev_t, ev_y, ev_index, n_ev, counters, t0, y0_real, n, is_complex,
                        tab.P.shape[1], dense_output, len(event_list), 0, 0)


def shape_result(status, message, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg, ev_t,
                 ev_y, ev_index, n_ev, counters, t0, y0_real, n, is_complex, q, dense_output,
                 n_events, njev, nlu):
    """OdeResult from a driver's 13-tuple (shared by the explicit and implicit paths)."""
    nfev, naccept, nreject, t_final = counters[:4].tolist()
    y_sol = y_out[:n_out].T
    if is_complex:
        y_sol = y_sol[0::2] + 1j * y_sol[1::2]
    else:
        y_sol = np.ascontiguousarray(y_sol)
    sol = None
    if dense_output:
        breakpoints = np.empty(n_seg + 1)
        breakpoints[:n_seg] = seg_t[:n_seg]
        breakpoints[n_seg] = t_final
        if n_seg == 0:
            breakpoints = np.array([t0, t0])
            seg_t, seg_h = np.array([t0]), np.array([1.0])
            seg_data = np.zeros((1, y0_real.size * (q + 1)))
            seg_data[0, :y0_real.size] = y0_real
            n_seg = 1
        node_states = None
        if n_out == n_seg + 1 and np.array_equal(t_out[:n_out], breakpoints):
            node_states = y_out[:n_out]  # every step's state (real pairs if complex)
        sol = OdeSolution(breakpoints, _segments=(seg_t[:n_seg], seg_h[:n_seg], seg_data[:n_seg],
                                                  y0_real.size, q, node_states),
                          complex_state=is_complex)
    t_events = y_events = None
    if n_events:
        idx = ev_index[:n_ev]
        t_events, y_events = [], []
        for k in range(n_events):
            mask = idx == k
            ye = ev_y[:n_ev][mask]
            if is_complex:
                ye = ye[:, 0::2] + 1j * ye[:, 1::2]
            t_events.append(ev_t[:n_ev][mask].copy())
            # no occurrence: shape (0,) as scipy (np.asarray of an empty list), else (k, n)
            y_events.append(ye.reshape(-1, n).copy() if ye.shape[0] else np.asarray([]))
    t_sol = t_out[:n_out].copy()
    if n_out == 0:
        # only with a t_eval none of whose points was reached (t0 is stored otherwise): scipy
        # then returns empty lists, and code written for it tests `not res.t`
        t_sol, y_sol = [], []
    return OdeResult(t=t_sol, y=y_sol, sol=sol, t_events=t_events,
                     y_events=y_events, nfev=int(nfev), njev=njev, nlu=nlu,
                     status=scipy_status(status), message=message, success=status >= 0,
                     naccept=int(naccept), nreject=int(nreject))


def _compiled_rhs(fun, t0, y0_real, n, is_complex, args, specs, vectorized, extras=None):
    """Fetch or build the compiled RHS; the Python shape check runs only when compiling.

    With ``extras`` (fastode.rhs.Extras), the numeric globals and closure cells ``fun`` reads
    are added to it as run-time values; without, they are compiled in (keyed by value)."""
    if isinstance(fun, CFunc):
        # a numba @cfunc is used as it is: it cannot be called the Python way (fun(t, y)), so
        # there is no shape check, only the signature check
        if fun._sig != RHS_SIGNATURE:
            raise TypeError(f"a numba @cfunc `fun` must have the signature {RHS_SIGNATURE} "
                            f"(void f(double t, double *y, double *p, double *dydt)); "
                            f"got {fun._sig}.")
        return compile_rhs(fun, n, args, is_complex, False, vectorized=vectorized)
    cache = _cache_for(fun)
    st = usercode.state(fun, extras is not None) if specs is not None else None
    if st is None:
        plan_key = ("plan", n, is_complex, specs, vectorized)
    else:
        plan_key = ("plan", n, is_complex, specs, vectorized, st.key,
                    extras.next_offset() if st.specs else None)
    hit = cache.get(plan_key)
    if hit is not None:
        if st is not None and st.specs:
            extras.add(st.values, st.specs)
        return hit
    if not np.isfinite(y0_real).all():
        raise ValueError(Y0_NOT_FINITE)
    f0, scalar_return = check_fun(fun, t0, y0_real, n, is_complex, args, vectorized)
    compiled = compile_rhs(fun, n, args, is_complex, scalar_return, vectorized=vectorized,
                           check=(t0, y0_real, f0), extras=extras, state=st)
    if not compiled.python_callback and (st is None or not st.specs or extras):
        cache[plan_key] = compiled
    return compiled
