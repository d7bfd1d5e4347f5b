"""What every solve_ivp path shares: input validation, option parsing, the compiled RHS, results.

The layer below the method families (fastode.ivp_explicit, .ivp_implicit, .ivp_auto), the
step-by-step classes (fastode.solvers_*) and fastode.ensemble / fastode.reference; it imports
only fastode's core (fastode.rhs, .usercode, .results, .kernels). See docs/architecture.md.
"""
import math
import warnings
from numbers import Integral, Real

import numpy as np
from numba.core.ccallback import CFunc

from . import usercode
from .results import OdeResult, OdeSolution, scipy_status
from .rhs import RHS_SIGNATURE, _cache_for, arg_specs, compile_rhs, pack_args

EPS = np.finfo(float).eps
NO_EVENTS_I = np.zeros(0, dtype=np.int64)
NO_EVENTS_F = np.zeros(0)
DUMMY_T_EVAL = np.zeros(1)
# scipy's sentences first (code written against scipy matches on them), fastode's detail after
Y0_NOT_FINITE = "All components of the initial state `y0` must be finite (no NaN or inf)."
ARGS_NOT_UNPACKABLE = ("Supplied 'args' cannot be unpacked. Please supply `args` as a tuple "
                       "(e.g. `args=(a,)`).")


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
    if (type(y0) is list and 0 < len(y0) <= 32
            and all(type(v) is float for v in y0)):
        # a short list of Python floats (``y0=[1.0, 0.0]``): one conversion, ~1 us less
        if check_finite and not all(map(math.isfinite, y0)):
            raise ValueError(Y0_NOT_FINITE)
        return np.array(y0), len(y0), False
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
    if arr.size > 16:
        # strictly monotonic with finite ends inside t_span: then every value is finite and
        # inside (a NaN fails every comparison); 2 numpy calls instead of ~9 (~1.5 us instead of
        # ~12 us for 100 points). Anything else goes to the checks below for their message.
        first, last = float(arr[0]), float(arr[-1])
        if t1 >= t0:
            ok = (t0 <= first and last <= t1 and math.isfinite(last)
                  and bool((arr[1:] > arr[:-1]).all()))
        else:
            ok = (t1 <= last and first <= t0 and math.isfinite(last)
                  and bool((arr[1:] < arr[:-1]).all()))
        if ok:
            return arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)
    else:
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


def positive_option(options, name, default, allow_inf=False):
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
    if not options:  # the common call: the defaults, without the checks' ~1 us
        return np.inf, 0.0, 0.0, None, 4
    max_step = positive_option(options, "max_step", np.inf, allow_inf=True)
    first_step = positive_option(options, "first_step", 0.0)
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


_FLOAT_SPECS = {}
_EMPTY_P = np.zeros(1)


def pack(args):
    """(specs, p) for ``args``; floats-only tuples take a fast path."""
    if not args:
        return (), _EMPTY_P
    # keyed by the arguments' exact types: only all-float tuples are stored (one per length),
    # and the types tuple costs less than testing each argument (~0.3 us)
    kinds = tuple(map(type, args))
    specs = _FLOAT_SPECS.get(kinds)
    if specs is not None:
        return specs, np.array(args)
    if all(k is float for k in kinds):
        specs = _FLOAT_SPECS[kinds] = arg_specs(args)
        return specs, np.array(args)
    specs = arg_specs(args)
    return specs, (pack_args(args, specs) if specs is not None else _EMPTY_P)



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


def compiled_rhs(fun, t0, y0_real, n, is_complex, args, specs, vectorized, extras=None):
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
