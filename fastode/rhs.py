"""User callables -> C function addresses the kernels can call (DESIGN.md, "Passing the RHS").

``fun(t, y, *args) -> array`` (scipy's form) is compiled with numba into a small ``cfunc`` with the
C signature ``void f(double t, const double *y, const double *p, double *dydt)``; ``args`` are
packed into the float64 parameter array ``p`` at run time, so new values of ``args`` never
recompile anything. Event functions ``g(t, y, *args) -> float`` become
``double g(double t, const double *y, const double *p)``.

A function numba cannot compile still works through a ctypes callback into Python (one warning
says why); a numba ``@cfunc`` with the C signature above is used as it is.
"""
import ctypes
import math
import warnings
import weakref
from typing import Callable, NamedTuple, Optional

import numpy as np
import numba
from numba.core.ccallback import CFunc
from numba.core.registry import CPUDispatcher

from . import numpy_extensions  # noqa: F401  (np.hstack forms numba lacks)
from .rhs_inplace import in_place_variant
from numba import carray, cfunc, types

RHS_SIGNATURE = types.void(types.float64, types.CPointer(types.float64),
                           types.CPointer(types.float64), types.CPointer(types.float64))
EVENT_SIGNATURE = types.float64(types.float64, types.CPointer(types.float64),
                                types.CPointer(types.float64))
_RHS_CTYPES = ctypes.CFUNCTYPE(None, ctypes.c_double, ctypes.POINTER(ctypes.c_double),
                               ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_double))
_EVENT_CTYPES = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double, ctypes.POINTER(ctypes.c_double),
                                 ctypes.POINTER(ctypes.c_double))


class ArgSpec(NamedTuple):
    """How one entry of ``args`` is stored in ``p``: kind 's' scalar float, 'i' int, 'b' bool,
    'a' float array, 'ia' int array; ``shape`` for arrays."""
    kind: str
    shape: tuple


class CompiledFunction(NamedTuple):
    """A user function made callable from kernels.

    ``address`` is the C function address; ``keepalive`` owns the code behind it (keep this
    object alive while the address is used); ``python_callback`` is True for the slow path, whose
    exceptions are collected in ``errors``.
    """
    address: int
    keepalive: object
    python_callback: bool
    errors: list
    reason: str


class FallbackWarning(UserWarning):
    """fastode could not compile a user function and calls it through Python instead."""


# fun -> {(kind, n, complex, argspecs, scalar_return): CompiledFunction or reason string}
_cache: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_strong_cache: dict = {}


def _cache_for(fun) -> dict:
    try:
        cache = _cache.get(fun)  # a hit costs no new dict or weak reference
        return cache if cache is not None else _cache.setdefault(fun, {})
    except TypeError:  # not weak-referenceable (e.g. some builtins)
        return _strong_cache.setdefault(id(fun), {})


def arg_specs(args) -> Optional[tuple]:
    """ArgSpecs of ``args``, or None when some argument cannot be packed into floats."""
    specs = []
    for a in args:
        if isinstance(a, (bool, np.bool_)):
            specs.append(ArgSpec("b", ()))
        elif isinstance(a, (int, np.integer)) and abs(int(a)) < 2 ** 53:
            specs.append(ArgSpec("i", ()))
        elif isinstance(a, (float, np.floating)):
            specs.append(ArgSpec("s", ()))
        elif isinstance(a, np.ndarray) and a.dtype.kind in "fiub" and a.ndim >= 1:
            specs.append(ArgSpec("ia" if a.dtype.kind in "iub" else "a", a.shape))
        else:
            return None
    return tuple(specs)


def pack_args(args, specs) -> np.ndarray:
    """Flatten ``args`` into the float64 parameter array ``p`` (length >= 1)."""
    if not args:
        return np.zeros(1)
    if all(s.shape == () for s in specs):
        return np.array(args, dtype=np.float64)
    size = sum(int(np.prod(s.shape)) for s in specs)
    p = np.empty(max(size, 1))
    k = 0
    for a, s in zip(args, specs):
        if s.shape == ():
            p[k] = float(a)
            k += 1
        else:
            m = a.size
            p[k:k + m] = np.ravel(a)
            k += m
    if size == 0:
        p[0] = 0.0
    return p


def _arg_expressions(specs) -> tuple:
    """Source expressions that rebuild ``args`` from ``p``, and the length of ``p``."""
    parts = []
    k = 0
    for s in specs:
        if s.kind == "s":
            parts.append(f"p[{k}]")
            k += 1
        elif s.kind == "i":
            parts.append(f"np.int64(p[{k}])")
            k += 1
        elif s.kind == "b":
            parts.append(f"p[{k}] != 0.0")
            k += 1
        else:
            m = int(np.prod(s.shape))
            if s.kind == "a" and len(s.shape) == 1:
                # a 1-D float array is a plain slice of p (the whole of p when it is the only
                # argument): no reshape view per call
                expr = "p" if len(specs) == 1 else f"p[{k}:{k + m}]"
            else:
                expr = f"p[{k}:{k + m}].reshape({tuple(s.shape)!r})"
            if s.kind == "ia":
                expr += ".astype(np.int64)"
            parts.append(expr)
            k += m
    return "".join(", " + e for e in parts), max(k, 1)


def _rhs_source(n, specs, is_complex, scalar_return, vectorized=False, in_place=False):
    argexpr, n_p = _arg_expressions(specs)
    n_real = 2 * n if is_complex else n
    lines = [
        "def rhs_wrapper(t, y_ptr, p_ptr, out_ptr):",
        f"    y = carray(y_ptr, ({n_real},))",
        f"    p = carray(p_ptr, ({n_p},))",
        f"    out = carray(out_ptr, ({n_real},))",
        # if fun raises inside compiled code the exception is swallowed: the NaN left here
        # tells the kernel the evaluation failed
        "    out[0] = np.nan",
    ]
    if in_place:
        # fun is the in-place rewrite (fastode.rhs_inplace): it assigns out[i] itself
        lines.append(f"    fun(t, y{argexpr}, out)")
        return "\n".join(lines)
    if is_complex:
        lines += [
            f"    z = np.empty({n}, dtype=np.complex128)",
            f"    for i in range({n}):",
            "        z[i] = complex(y[2 * i], y[2 * i + 1])",
            f"    r = fun(t, z{argexpr})",
        ]
    elif vectorized:
        # scipy calls a vectorized fun with y of shape (n, 1)
        lines.append(f"    r = np.asarray(fun(t, y.reshape(({n}, 1)){argexpr})).ravel()")
    else:
        lines.append(f"    r = fun(t, y{argexpr})")
    if scalar_return:
        lines.append("    v = r")
        if is_complex:
            lines += ["    out[1] = v.imag", "    out[0] = v.real"]
        else:
            lines.append("    out[0] = v")
    elif is_complex:
        lines += [f"    for i in range({n}):",
                  "        v = complex(r[i])",
                  "        out[2 * i] = v.real",
                  "        out[2 * i + 1] = v.imag"]
    else:
        lines += [f"    for i in range({n}):", "        out[i] = r[i]"]
    return "\n".join(lines)


def _event_source(n, specs, is_complex):
    argexpr, n_p = _arg_expressions(specs)
    n_real = 2 * n if is_complex else n
    lines = [
        "def event_wrapper(t, y_ptr, p_ptr):",
        f"    y = carray(y_ptr, ({n_real},))",
        f"    p = carray(p_ptr, ({n_p},))",
    ]
    if is_complex:
        lines += [f"    z = np.empty({n}, dtype=np.complex128)",
                  f"    for i in range({n}):",
                  "        z[i] = complex(y[2 * i], y[2 * i + 1])",
                  f"    return float(fun(t, z{argexpr}))"]
    else:
        lines.append(f"    return float(fun(t, y{argexpr}))")
    return "\n".join(lines)


def _jit(fun):
    if isinstance(fun, CPUDispatcher):
        return fun
    return numba.njit(fun)


def _compile(fun, source, name, signature):
    namespace = {"np": np, "carray": carray, "fun": _jit(fun)}
    exec(compile(source, f"<fastode {name} for {getattr(fun, '__name__', 'fun')}>", "exec"),
         namespace)
    compiled = cfunc(signature, error_model="numpy")(namespace[name])
    return compiled


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    for line in text:
        line = line.strip()
        # numba's first line ("Failed in nopython mode pipeline ...") says nothing about the
        # cause: report the next one (e.g. "Untyped global name 'D': Cannot determine ...")
        if (line and not line.startswith("\x1b") and "During:" not in line
                and not line.startswith("Failed in nopython mode pipeline")):
            return f"{type(exc).__name__}: {line}"[:300]
    return type(exc).__name__


def _python_rhs(fun, args, n, is_complex, vectorized) -> CompiledFunction:
    errors: list = []
    n_real = 2 * n if is_complex else n
    buffer_type = ctypes.c_double * n_real

    def callback(t, y_ptr, p_ptr, out_ptr):
        out = np.frombuffer(buffer_type.from_address(ctypes.addressof(out_ptr.contents)))
        try:
            y = np.frombuffer(buffer_type.from_address(ctypes.addressof(y_ptr.contents))).copy()
            if is_complex:
                y = y.view(np.complex128)
            if vectorized:
                y = y[:, None]
            r = fun(t, y, *args)
            if is_complex:
                out[:] = np.asarray(r, dtype=np.complex128).reshape(n).view(np.float64)
            else:
                out[:] = np.asarray(r, dtype=np.float64).reshape(n)
        except BaseException as exc:  # noqa: BLE001 - re-raised by the caller after the kernel
            if not errors:
                errors.append(exc)
            out[:] = np.nan

    c_callback = _RHS_CTYPES(callback)
    address = ctypes.cast(c_callback, ctypes.c_void_p).value
    return CompiledFunction(address, c_callback, True, errors, "")


def _python_event(fun, args, n, is_complex) -> CompiledFunction:
    errors: list = []
    n_real = 2 * n if is_complex else n
    buffer_type = ctypes.c_double * n_real

    def callback(t, y_ptr, p_ptr):
        try:
            y = np.frombuffer(buffer_type.from_address(ctypes.addressof(y_ptr.contents))).copy()
            if is_complex:
                y = y.view(np.complex128)
            return float(fun(t, y, *args))
        except BaseException as exc:  # noqa: BLE001
            if not errors:
                errors.append(exc)
            return math.nan

    c_callback = _EVENT_CTYPES(callback)
    address = ctypes.cast(c_callback, ctypes.c_void_p).value
    return CompiledFunction(address, c_callback, True, errors, "")


def _is_matching_cfunc(fun, signature) -> bool:
    return isinstance(fun, CFunc) and fun._sig == signature


def compile_rhs(fun: Callable, n: int, args: tuple, is_complex: bool, scalar_return: bool,
                vectorized: bool = False, check: Optional[tuple] = None) -> CompiledFunction:
    """Make ``fun(t, y, *args)`` callable from the kernels; compiled once per argument layout.

    ``check`` = (t0, y0_real, expected_real) compares the compiled function against the Python
    call once, right after compiling (numba and Python can disagree, e.g. on integer overflow).
    """
    if _is_matching_cfunc(fun, RHS_SIGNATURE):
        return CompiledFunction(fun.address, fun, False, [], "")
    specs = arg_specs(args)
    key = ("rhs", n, is_complex, specs, scalar_return, vectorized)
    cache = _cache_for(fun)
    hit = cache.get(key)
    if isinstance(hit, CompiledFunction):
        return hit
    if hit is None and specs is not None:
        in_place = None
        if not (is_complex or vectorized or scalar_return or isinstance(fun, CPUDispatcher)):
            in_place = in_place_variant(fun, n)
        if in_place is not None:
            try:
                compiled = _compile(in_place, _rhs_source(n, specs, False, False, in_place=True),
                                    "rhs_wrapper", RHS_SIGNATURE)
                if check is not None:
                    _check_compiled(compiled, args, specs, check)
                result = CompiledFunction(compiled.address, compiled, False, [], "")
                cache[key] = result
                return result
            except Exception:  # the allocating version below is the reference behaviour
                pass
        try:
            compiled = _compile(fun, _rhs_source(n, specs, is_complex, scalar_return, vectorized),
                                "rhs_wrapper", RHS_SIGNATURE)
            result = CompiledFunction(compiled.address, compiled, False, [], "")
            if check is not None:
                _check_compiled(compiled, args, specs, check)
            cache[key] = result
            return result
        except Exception as exc:  # numba's TypingError, UnsupportedError, ...
            hit = _first_line(exc)
            cache[key] = hit
            _warn_fallback("fun", hit)
    elif hit is None:
        hit = "`args` contains values that are not numbers or numeric arrays"
        cache[key] = hit
        _warn_fallback("fun", hit)
    result = _python_rhs(fun, args, n, is_complex, vectorized)
    return result._replace(reason=hit)


def _check_compiled(compiled, args, specs, check):
    """Compare the compiled RHS with the Python call at t0 (numba and Python can disagree)."""
    t0, y_real, expected = check
    out = np.empty_like(expected)
    p = pack_args(args, specs)
    as_pointer = ctypes.POINTER(ctypes.c_double)
    compiled.ctypes(t0, y_real.ctypes.data_as(as_pointer), p.ctypes.data_as(as_pointer),
                    out.ctypes.data_as(as_pointer))
    if not np.allclose(out, expected, rtol=1e-12, atol=0.0, equal_nan=True):
        raise ValueError("the numba-compiled `fun` returned different values than "
                         "the Python function at t0")


def compile_event(fun: Callable, n: int, args: tuple, is_complex: bool) -> CompiledFunction:
    """Make the event function ``fun(t, y, *args) -> float`` callable from the kernels."""
    if _is_matching_cfunc(fun, EVENT_SIGNATURE):
        return CompiledFunction(fun.address, fun, False, [], "")
    specs = arg_specs(args)
    key = ("event", n, is_complex, specs)
    cache = _cache_for(fun)
    hit = cache.get(key)
    if isinstance(hit, CompiledFunction):
        return hit
    if hit is None and specs is not None:
        try:
            compiled = _compile(fun, _event_source(n, specs, is_complex), "event_wrapper",
                                EVENT_SIGNATURE)
            result = CompiledFunction(compiled.address, compiled, False, [], "")
            cache[key] = result
            return result
        except Exception as exc:
            hit = _first_line(exc)
            cache[key] = hit
            _warn_fallback(f"event {getattr(fun, '__name__', '')}", hit)
    elif hit is None:
        hit = "`args` contains values that are not numbers or numeric arrays"
        cache[key] = hit
        _warn_fallback("events", hit)
    result = _python_event(fun, args, n, is_complex)
    return result._replace(reason=hit)


def _warn_fallback(what: str, reason: str) -> None:
    warnings.warn(
        f"fastode could not compile `{what}` with numba ({reason}); it will be called through "
        "Python instead, about 50-100x slower than the compiled path (measured 80x on "
        "Lotka-Volterra; still about as fast as scipy). "
        "Write it with numpy operations on float arrays (no Python objects) to get the fast path.",
        FallbackWarning, stacklevel=4)
