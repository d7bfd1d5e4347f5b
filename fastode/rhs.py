"""User callables -> C function addresses the kernels can call (docs/design.md, "Passing the RHS").

``fun(t, y, *args) -> array`` (scipy's form) is compiled with numba into a small ``cfunc`` with the
C signature ``void f(double t, const double *y, const double *p, double *dydt)``; ``args`` are
packed into the float64 parameter array ``p`` at run time, so new values of ``args`` never
recompile anything. Event functions ``g(t, y, *args) -> float`` become
``double g(double t, const double *y, const double *p)``.

A function numba cannot compile still works through a ctypes callback into Python (one warning
says why); a numba ``@cfunc`` with the C signature above is used as it is.

Failures of a user function: an exception cannot leave a numba ``cfunc`` (numba would print
"Exception ignored" and return garbage), so the generated wrapper catches it, writes NaN (the
kernels' failure signal) and notes the first failure, with its (t, y), in the function's
:class:`FailureRecord`; it also checks the length of what ``fun`` returns (one comparison per
call). After the kernel returns, :func:`raise_failures` re-raises it as scipy would: the
exception itself, obtained by calling the function again in Python at the recorded (t, y), or
a ValueError for a wrong output length.

Compiled wrappers of plain Python functions are kept in the user cache (fastode.user_cache)
for later processes; the address of the failure record is therefore not compiled in but
resolved when the code is linked, through a symbol named after the wrapper's content.
"""
import ctypes
import math
import re
import types as pytypes
import warnings
import weakref
from typing import Callable, NamedTuple, Optional

import numpy as np
import numba
from numba.core.ccallback import CFunc
from numba.core.registry import CPUDispatcher

from . import numpy_extensions  # noqa: F401  (np.hstack forms numba lacks)
from . import user_cache, usercode
# the failure records and the compiled-function tuple (re-exported: the front end imports them here)
from .failures import (RAISED, WRONG_LENGTH, WRONG_SHAPE, _RECORD_TOKEN, CompiledFunction,  # noqa: F401
                       FailureRecord, _jit, _records, _symbol_serials, clear_failures, failed,
                       forget_stale_failures, length_message, raise_failures, record_pointer)
from .usercode import ArgSpec
from .kernels import progress
from .rhs_inplace import in_place_variant, rewrite_returns
from numba import carray, types

RHS_SIGNATURE = types.void(types.float64, types.CPointer(types.float64),
                           types.CPointer(types.float64), types.CPointer(types.float64))
EVENT_SIGNATURE = types.float64(types.float64, types.CPointer(types.float64),
                                types.CPointer(types.float64))
_RHS_CTYPES = ctypes.CFUNCTYPE(None, ctypes.c_double, ctypes.POINTER(ctypes.c_double),
                               ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_double))
_EVENT_CTYPES = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double, ctypes.POINTER(ctypes.c_double),
                                 ctypes.POINTER(ctypes.c_double))


class FallbackWarning(UserWarning):
    """fastode could not compile a user function and calls it through Python instead.

    Examples
    --------
    A right-hand side numba cannot compile (here: it uses the ``fractions`` module) still
    works, through Python, with one warning saying why:

    >>> import warnings, fractions
    >>> import numpy as np, fastode
    >>> def rate(t, y):
    ...     return np.array([-float(fractions.Fraction(1, 2)) * y[0]])
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     sol = fastode.solve_ivp(rate, (0.0, 1.0), [1.0])
    >>> any(issubclass(w.category, fastode.FallbackWarning) for w in caught)
    True
    >>> bool(abs(sol.y[0, -1] - np.exp(-0.5)) < 1e-3)
    True
    """


# fun -> {(kind, n, complex, argspecs, scalar_return, ...): CompiledFunction or reason string}
_cache: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_strong_cache: dict = {}
# the same, keyed by code (fastode.usercode: code objects, helpers, layout of the run-time
# values), so a lambda re-created in a loop reuses its compiled copy
_code_cache: dict = {}
_CODE_CACHE_SIZE = 1024
# (layout, static key) -> reason: a function that did not compile is not tried again
_failures: dict = {}


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


def _packed_size(specs) -> int:
    return sum(math.prod(s.shape) if s.shape else 1 for s in specs)


class Extras(list):
    """Run-time values (numeric globals and closure cells, fastode.usercode) that compiled user
    functions read from ``p`` after ``args``: each compiled function appends its own (values,
    specs) at the next offset; ``pack`` builds the ``p`` of this call. The kernel passes one
    ``p`` to the RHS, the Jacobian and the events, so they share one Extras."""
    __slots__ = ("arg_specs",)

    def __init__(self, specs):
        self.arg_specs = specs

    def next_offset(self) -> int:
        size = _packed_size(self.arg_specs) if self.arg_specs else 0
        for _, specs in self:
            size += _packed_size(specs)
        return size

    def add(self, values, specs) -> None:
        self.append((values, specs))

    def pack(self, args, specs, p) -> np.ndarray:
        """``p`` with the added values after the packed ``args`` (``p`` itself if none)."""
        if not self:
            return p
        values, all_specs = tuple(args), tuple(specs)
        for v, s in self:
            values += tuple(v)
            all_specs += tuple(s)
        return pack_args(values, all_specs)


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
        if s.kind == "skip":
            k += s.shape[0]
        elif s.kind == "s":
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


def _rhs_source(n, specs, is_complex, scalar_return, vectorized=False, in_place=False,
                record=None):
    """Source of the C-callable wrapper of ``fun``; ``record`` (a FailureRecord) is where it
    notes an exception or a wrong output length (inside compiled code an exception would be
    printed and swallowed). The success path costs one length comparison per call."""
    argexpr, n_p = _arg_expressions(specs)
    n_real = 2 * n if is_complex else n
    lines = [
        "def rhs_wrapper(t, y_ptr, p_ptr, out_ptr):",
        f"    y = carray(y_ptr, ({n_real},))",
        f"    p = carray(p_ptr, ({n_p},))",
        f"    out = carray(out_ptr, ({n_real},))",
        "    try:",
    ]
    body = []
    length_check = False
    if in_place:
        # fun is the in-place rewrite (fastode.rhs_inplace): it assigns out[i] itself (every
        # return has n entries: no length to check)
        body.append(f"fun(t, y{argexpr}, out)")
    else:
        if is_complex:
            body += [f"z = np.empty({n}, dtype=np.complex128)",
                     f"for i in range({n}):",
                     "    z[i] = complex(y[2 * i], y[2 * i + 1])",
                     f"r = fun(t, z{argexpr})"]
        elif vectorized:
            # scipy calls a vectorized fun with y of shape (n, 1)
            body.append(f"r = np.asarray(fun(t, y.reshape(({n}, 1)){argexpr})).ravel()")
        else:
            body.append(f"r = fun(t, y{argexpr})")
        if scalar_return:
            body.append("v = r")
            if is_complex:
                body += ["out[1] = v.imag", "out[0] = v.real"]
            else:
                body.append("out[0] = v")
        else:
            length_check = True
            body.append(f"if len(r) == {n}:")
            if is_complex:
                body += [f"    for i in range({n}):",
                         "        v = complex(r[i])",
                         "        out[2 * i] = v.real",
                         "        out[2 * i + 1] = v.imag"]
            else:
                body += [f"    for i in range({n}):", "        out[i] = r[i]"]
    lines += ["        " + line for line in body]
    if length_check:
        lines += ["        else:", "            out[0] = np.nan"]
        if record is not None:
            lines += record.source_lines(12, WRONG_LENGTH, a="len(r)")
    lines += ["    except Exception:", "        out[0] = np.nan"]
    if record is not None:
        lines += record.source_lines(8, RAISED)
    return "\n".join(lines)


def _event_source(n, specs, is_complex, record=None):
    """Source of the C-callable wrapper of an event function: NaN (and a note in ``record``)
    when it raises."""
    argexpr, n_p = _arg_expressions(specs)
    n_real = 2 * n if is_complex else n
    lines = [
        "def event_wrapper(t, y_ptr, p_ptr):",
        f"    y = carray(y_ptr, ({n_real},))",
        f"    p = carray(p_ptr, ({n_p},))",
        "    try:",
    ]
    if is_complex:
        lines += [f"        z = np.empty({n}, dtype=np.complex128)",
                  f"        for i in range({n}):",
                  "            z[i] = complex(y[2 * i], y[2 * i + 1])",
                  f"        v = float(fun(t, z{argexpr}))"]
    else:
        lines.append(f"        v = float(fun(t, y{argexpr}))")
    lines += ["    except Exception:", "        v = np.nan"]
    if record is not None:
        lines += record.source_lines(8, RAISED)
    lines.append("    return v")
    return "\n".join(lines)


def _compile(fun, source, name, signature, disk=False):
    """Compile the wrapper ``source`` (defining ``name``) around ``fun`` into a cfunc.

    With ``disk``, a plain Python ``fun`` that fastode.usercode built is loaded from / saved to
    the user cache under its content key (fastode.user_cache) when the key can describe it;
    otherwise it is compiled for this process only.
    """
    records = [_records[int(s)] for s in dict.fromkeys(_RECORD_TOKEN.findall(source))]
    key = None
    label = getattr(fun, "__name__", "fun")
    if disk and type(fun) is pytypes.FunctionType and getattr(fun, "__fastode_built__", False):
        try:
            key = user_cache.content_key(fun, _RECORD_TOKEN.sub("__fastode_record__", source),
                                         name, signature)
        except (user_cache.Unkeyable, RecursionError):
            user_cache.stats["uncacheable"] += 1
    if key is not None:
        digest = user_cache.digest(key)
        user_cache.name_by_content(fun, key)
        symbols = [f"fastode_record_{digest[:32]}_{i}" for i in range(len(records))]
    else:
        symbols = [f"fastode_record_local_{next(_symbol_serials)}" for _ in records]
    for record, symbol in zip(records, symbols):
        record.attach(symbol)  # before the code is linked: compiled or loaded
        source = source.replace(f"__fastode_record_{record.serial}__", symbol)
    namespace = {"np": np, "carray": carray, "record_pointer": record_pointer, "fun": _jit(fun),
                 "__name__": __name__}  # numba rebuilds a cached environment from its module
    exec(compile(source, f"<fastode {name} for {label}>", "exec"), namespace)
    wrapper = namespace[name]
    if key is not None:
        user_cache.name_by_content(wrapper, key)
    with progress.compile_notice(f"`{label}`"):
        return user_cache.compile_cfunc(wrapper, signature, key, error_model="numpy")


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
            r = np.asarray(fun(t, y, *args), dtype=np.complex128 if is_complex else np.float64)
            if r.size != n:  # as the compiled wrapper: a length that changed after t0
                raise ValueError(length_message("fun", r.size, n, t))
            out[:] = r.reshape(n).view(np.float64) if is_complex else r.reshape(n)
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


def _wrapper_specs(specs, offset, extra_specs) -> tuple:
    """The layout the wrapper reads: ``args``, then (after other functions' values) this
    function's run-time values at ``offset``."""
    if not extra_specs:
        return specs
    gap = offset - _packed_size(specs)
    skip = (ArgSpec("skip", (gap,)),) if gap else ()
    return tuple(specs) + skip + tuple(extra_specs)


def _verify_p(args, specs, offset, st) -> np.ndarray:
    """A ``p`` laid out as at run time, to check a compiled function against Python at t0."""
    base = pack_args(args, specs)
    if not st.specs:
        return base
    extra = pack_args(st.values, st.specs)
    p = np.zeros(offset + _packed_size(st.specs))
    m = _packed_size(specs)
    p[:m] = base[:m]
    p[offset:] = extra[:p.size - offset]
    return p


def _store(fun, key, value) -> None:
    _cache_for(fun)[key] = value
    if len(_code_cache) >= _CODE_CACHE_SIZE:
        _code_cache.pop(next(iter(_code_cache)))  # the oldest entry
    _code_cache[key] = value


def spec_variants(specs, int_as_float):
    """The argument layouts to try compiling with: as given, then (``int_as_float``) with
    integer scalars passed as floats. numba cannot build an array from nested lists that mix
    ints and floats (``np.array([[0, -omega], [omega, k * z]])`` with int ``omega``, ``k``:
    scipy's test_args); as floats it can. Only where the result is checked against the Python
    call at t0 (``verify``)."""
    yield specs
    if int_as_float and specs and any(s.kind == "i" for s in specs):
        yield tuple(s._replace(kind="s") if s.kind == "i" else s for s in specs)


def _compile_user(fun, st, layout, args, specs, extras, source, wrapper, signature, verify,
                  in_place_n=None, record=None, int_as_float=False, rewrite=rewrite_returns):
    """Compile a plain Python user function (fastode.usercode State ``st``) into a cfunc.

    ``source(wrapper_specs, in_place)`` is the wrapper source; ``verify(compiled, p)`` raises if
    the compiled function disagrees with Python. With ``in_place_n``, the in-place variant
    (``rewrite``: fastode.rhs_inplace.rewrite_returns or rewrite_matrix_returns) is tried first,
    the allocating one where it does not apply. ``record`` is the FailureRecord the wrapper
    source notes failures in (it becomes the result's ``failure``). Returns a CompiledFunction
    (its run-time values added to ``extras``) or the reason string of a failure.
    """
    offset = extras.next_offset() if extras is not None else 0
    fail_key = (layout, st.analysis.static_key)
    reason = _failures.get(fail_key)
    if reason is not None:
        return reason
    attempts = [st]
    if st.runtime:
        # the function as it is, values compiled in and keyed (never stale): for a global flag
        # that selects a branch numba types only as a constant, or a function without source
        # (python -c, exec) that the run-time copy cannot be built from
        attempts.append(usercode.state(fun, False))
    reason = None
    for attempt in attempts:
        key = (layout, attempt.key, offset if attempt.specs else None)
        hit = _cache_for(fun).get(key)
        if hit is None:
            hit = _code_cache.get(key)
        if isinstance(hit, CompiledFunction):
            _cache_for(fun)[key] = hit
            if hit.failure is not None:
                # a copy shared by code (a lambda re-created in a loop): a failure is re-raised
                # by calling this function object, with its own closure
                hit.failure.bind(fun)
            if attempt.specs:
                extras.add(attempt.values, attempt.specs)
            return hit
        compiled = None
        for variant in spec_variants(specs, int_as_float):
            wspecs = _wrapper_specs(variant, offset, attempt.specs)
            try:
                if in_place_n is not None and attempt.runtime:
                    try:
                        fn = usercode.build(attempt, in_place=(in_place_n, rewrite))
                        if fn is not None:
                            compiled = _compile(fn, source(wspecs, True), wrapper, signature,
                                                disk=True)
                            verify(compiled, _verify_p(args, specs, offset, attempt))
                    except Exception:  # the allocating version below is the reference
                        compiled = None
                if compiled is None:
                    fn = usercode.build(attempt)
                    compiled = _compile(fn, source(wspecs, False), wrapper, signature,
                                        disk=True)
                    verify(compiled, _verify_p(args, specs, offset, attempt))
                break
            except Exception as exc:  # numba's TypingError, UnsupportedError, CannotRewrite ...
                compiled = None
                if reason is None:
                    reason = _fallback_reason(exc)  # the first attempt's reason is reported
        if compiled is None:
            if attempt.runtime:
                usercode.runtime_failed.add(st.analysis.static_key)
            continue
        if record is not None:
            record.buffer[0] = 0.0  # verify() may have noted a failure
        result = CompiledFunction(compiled.address, compiled, False, [], "", record)
        _store(fun, key, result)
        if attempt.specs:
            extras.add(attempt.values, attempt.specs)
        return result
    _failures[fail_key] = reason
    return reason


def compile_rhs(fun: Callable, n: int, args: tuple, is_complex: bool, scalar_return: bool,
                vectorized: bool = False, check: Optional[tuple] = None,
                extras: Optional[Extras] = None, state=None) -> CompiledFunction:
    """Make ``fun(t, y, *args)`` callable from the kernels; compiled once per argument layout.

    ``check`` = (t0, y0_real, expected_real) compares the compiled function against the Python
    call once, right after compiling (numba and Python can disagree, e.g. on integer overflow).
    With ``extras`` (an Extras shared by this call's functions), the numeric globals and closure
    cells ``fun`` reads are run-time values added to it (pack ``p`` with ``extras.pack``);
    without, they are compiled in as constants and the compiled copy is keyed by their values.
    """
    if _is_matching_cfunc(fun, RHS_SIGNATURE):
        return CompiledFunction(fun.address, fun, False, [], "")
    specs = arg_specs(args)
    st = None
    if specs is not None:
        st = state if state is not None else usercode.state(fun, extras is not None)
    if st is not None:
        record = FailureRecord("fun", fun, n, is_complex, vectorized)

        def source(wspecs, in_place):
            if in_place:
                return _rhs_source(n, wspecs, False, False, in_place=True, record=record)
            return _rhs_source(n, wspecs, is_complex, scalar_return, vectorized, record=record)

        def verify(compiled, p):
            if check is not None:
                _check_compiled(compiled, p, check)

        in_place_n = None if (is_complex or vectorized or scalar_return) else n
        hit = _compile_user(fun, st, ("rhs", n, is_complex, specs, scalar_return, vectorized),
                            args, specs, extras, source, "rhs_wrapper", RHS_SIGNATURE, verify,
                            in_place_n, record, int_as_float=check is not None)
        if isinstance(hit, CompiledFunction):
            return hit
        if _cache_for(fun).get(("warned", "rhs")) is None:
            _cache_for(fun)[("warned", "rhs")] = hit
            if not _failures.get(("warned", st.analysis.static_key)):
                _failures[("warned", st.analysis.static_key)] = True
                _warn_fallback("fun", hit)
        result = _python_rhs(fun, args, n, is_complex, vectorized)
        return result._replace(reason=hit)
    key = ("rhs", n, is_complex, specs, scalar_return, vectorized)
    cache = _cache_for(fun)
    hit = cache.get(key)
    if isinstance(hit, CompiledFunction):
        return hit
    if hit is None and specs is not None:
        in_place = None
        if not (is_complex or vectorized or scalar_return or isinstance(fun, CPUDispatcher)):
            in_place = in_place_variant(fun, n)
        record = FailureRecord("fun", fun, n, is_complex, vectorized)
        if in_place is not None:
            try:
                compiled = _compile(in_place, _rhs_source(n, specs, False, False, in_place=True,
                                                          record=record),
                                    "rhs_wrapper", RHS_SIGNATURE)
                if check is not None:
                    _check_compiled(compiled, pack_args(args, specs), check)
                result = CompiledFunction(compiled.address, compiled, False, [], "", record)
                cache[key] = result
                return result
            except Exception:  # the allocating version below is the reference behaviour
                pass
        try:
            record.buffer[0] = 0.0  # a failed in-place check may have noted something
            compiled = _compile(fun, _rhs_source(n, specs, is_complex, scalar_return, vectorized,
                                                 record=record),
                                "rhs_wrapper", RHS_SIGNATURE)
            result = CompiledFunction(compiled.address, compiled, False, [], "", record)
            if check is not None:
                _check_compiled(compiled, pack_args(args, specs), check)
            cache[key] = result
            return result
        except Exception as exc:  # numba's TypingError, UnsupportedError, ...
            hit = _fallback_reason(exc)
            cache[key] = hit
            _warn_fallback("fun", hit)
    elif hit is None:
        hit = "`args` contains values that are not numbers or numeric arrays"
        cache[key] = hit
        _warn_fallback("fun", hit)
    result = _python_rhs(fun, args, n, is_complex, vectorized)
    return result._replace(reason=hit)


def _check_compiled(compiled, p, check):
    """Compare the compiled RHS with the Python call at t0 (numba and Python can disagree)."""
    t0, y_real, expected = check
    out = np.empty_like(expected)
    as_pointer = ctypes.POINTER(ctypes.c_double)
    compiled.ctypes(t0, y_real.ctypes.data_as(as_pointer), p.ctypes.data_as(as_pointer),
                    out.ctypes.data_as(as_pointer))
    if not np.allclose(out, expected, rtol=1e-12, atol=0.0, equal_nan=True):
        raise ValueError("the numba-compiled `fun` returned different values than "
                         "the Python function at t0")


def compile_event(fun: Callable, n: int, args: tuple, is_complex: bool,
                  extras: Optional[Extras] = None) -> CompiledFunction:
    """Make the event function ``fun(t, y, *args) -> float`` callable from the kernels
    (``extras``: as in compile_rhs)."""
    if _is_matching_cfunc(fun, EVENT_SIGNATURE):
        return CompiledFunction(fun.address, fun, False, [], "")
    specs = arg_specs(args)
    st = usercode.state(fun, extras is not None) if specs is not None else None
    if st is not None:
        record = FailureRecord(f"event {getattr(fun, '__name__', '')}".strip(), fun, n,
                               is_complex)
        hit = _compile_user(fun, st, ("event", n, is_complex, specs), args, specs, extras,
                            lambda wspecs, _: _event_source(n, wspecs, is_complex, record),
                            "event_wrapper", EVENT_SIGNATURE, lambda compiled, p: None,
                            record=record)
        if isinstance(hit, CompiledFunction):
            return hit
        if _cache_for(fun).get(("warned", "event")) is None:
            _cache_for(fun)[("warned", "event")] = hit
            if not _failures.get(("warned", st.analysis.static_key)):
                _failures[("warned", st.analysis.static_key)] = True
                _warn_fallback(f"event {getattr(fun, '__name__', '')}", hit)
        result = _python_event(fun, args, n, is_complex)
        return result._replace(reason=hit)
    key = ("event", n, is_complex, specs)
    cache = _cache_for(fun)
    hit = cache.get(key)
    if isinstance(hit, CompiledFunction):
        return hit
    if hit is None and specs is not None:
        try:
            record = FailureRecord(f"event {getattr(fun, '__name__', '')}".strip(), fun, n,
                                   is_complex)
            compiled = _compile(fun, _event_source(n, specs, is_complex, record),
                                "event_wrapper", EVENT_SIGNATURE)
            result = CompiledFunction(compiled.address, compiled, False, [], "", record)
            cache[key] = result
            return result
        except Exception as exc:
            hit = _fallback_reason(exc)
            cache[key] = hit
            _warn_fallback(f"event {getattr(fun, '__name__', '')}", hit)
    elif hit is None:
        hit = "`args` contains values that are not numbers or numeric arrays"
        cache[key] = hit
        _warn_fallback("events", hit)
    result = _python_event(fun, args, n, is_complex)
    return result._replace(reason=hit)


_WHERE = re.compile(r'File "([^"]+)", line (\d+)')


def _fallback_reason(exc: BaseException) -> str:
    """Why numba failed, where (the user's file:line) and what to change, for the warning."""
    reason = _first_line(exc)
    text = str(exc)
    where = [m for m in _WHERE.finditer(text)
             if not m.group(1).startswith("<") and "/fastode/" not in m.group(1)
             and "/numba/" not in m.group(1)]
    if where:
        reason += f", at {where[-1].group(1)}:{where[-1].group(2)}"
    if "Untyped global name" in reason or "Unknown attribute" in reason:
        advice = ("make that name a number, a numpy array or a plain function of numbers and "
                  "arrays, or pass the value through `args`")
    elif "reflected list" in text or "list(" in reason or "List" in reason:
        advice = "build a numpy array (np.array, np.empty) instead of a Python list there"
    elif isinstance(exc, usercode.CannotRewrite):
        advice = "see the reason"
    else:
        advice = ("use numpy operations on float arrays on that line (no dicts, lists of "
                  "arrays, scipy.sparse or other Python objects)")
    return f"{reason}; to compile it: {advice}"
def _warn_fallback(what: str, reason: str) -> None:
    warnings.warn(
        f"fastode could not compile `{what}` with numba ({reason}); it will be called through "
        "Python instead, about 50-100x slower than the compiled path (measured 80x on "
        "Lotka-Volterra; still about as fast as scipy). "
        "Write it with numpy operations on float arrays (no Python objects) to get the fast path.",
        FallbackWarning, stacklevel=4)
