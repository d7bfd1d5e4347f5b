"""The implicit (stiff) path of fastode.solve_ivp: options, Jacobians, mass matrix -> driver.

Implicit driver contract
------------------------
Every implicit family driver is an ``@njit(cache=True, nogil=True)`` function

    driver(rhs, jac, use_jac, p, t0, t1, y0, rtol, atol, mass, has_mass, first_step, max_step,
           min_step, max_steps, t_eval, use_t_eval, dense, event_addresses, event_directions,
           event_terminal, event_samples)

* ``rhs``, ``jac``: int64 C function addresses (fastode.kernels.callbacks); ``jac`` writes the
  n x n matrix df/dy row-major into its ``out`` argument; it is 0 when there is no user Jacobian.
* ``use_jac``: bool, True when ``jac`` is to be called (else finite differences).
* ``p``: float64 parameter array of the RHS (and of jac and the events).
* ``rtol``, ``atol``: float64 arrays of shape (n,); ``first_step`` <= 0: automatic;
  ``max_steps`` <= 0: unlimited; ``min_step`` >= 0.
* ``mass``: (n, n) float64, the constant mass matrix of M y' = f(t, y) (may be singular: index-1
  DAE); the identity when ``has_mass`` is False (the driver should then skip it).
* ``t_eval``/``use_t_eval``, ``dense``, events: as the explicit driver
  (fastode.kernels.explicit.explicit_rk_solve), whose helpers ``record_events`` and
  ``record_segment`` the implicit drivers reuse.

It returns the explicit driver's 13-tuple ``(status, t_out, y_out, n_out, seg_t, seg_h,
seg_data, n_seg, ev_t, ev_y, ev_index, n_ev, counters)``, dense segments in monomial form
``y(t + theta h) = y + sum_j Q[:, j] theta^(j+1)`` (seg_data rows ``[y, Q.ravel()]``, any
number q of columns, the same for every step), with ``counters = [nfev, naccept, nreject,
t_final, njev, nlu]``. Status codes: fastode.kernels.status plus ``SINGULAR`` (-4) and
``NEWTON_FAILED`` (-5) of fastode.kernels.jacobian.

A driver registered in :data:`STRUCTURED` also takes four trailing int64 arrays ``group_ptr,
group_cols, col_ptr, rows`` (column groups of a sparsity pattern, see
fastode.kernels.jacobian.cpr_groups) and an int ``use_jac`` mode (JAC_FD, JAC_USER,
JAC_CONSTANT, JAC_FD_GROUPED); the others get ``use_jac`` as a bool and compute dense finite
differences whenever ``use_jac`` is False.

A driver registered in :data:`BANDED` (a subset of STRUCTURED) also takes two trailing ints
``kl, ku`` after the structure arrays. ``kl >= 0`` asks for banded mode: the Jacobian has ``kl``
sub- and ``ku`` super-diagonals, ``use_jac`` is JAC_FD_GROUPED with column groups inside the
band, and the driver stores J in band form (kl + ku + 1, n) and factors its iteration matrix
with fastode.kernels.linalg.band_lu_factor (LAPACK gbtrf layout, (2 kl + ku + 1, n)): O(n)
memory and work per step instead of O(n^2) and O(n^3). ``kl = ku = -1``: the dense path,
unchanged. Banded mode is used when ``lband``/``uband`` are given, or when ``jac_sparsity``
lies in a band narrow enough to pay (:func:`band_of`), and there is no user ``jac``. A BANDED
driver gets a (1, 1) placeholder ``mass`` when ``has_mass`` is False (an n x n identity would
cost O(n^2) memory), and a mass matrix given with a band must lie inside the band.

Adding a family: write the driver, register ``Method(..., family="radau", ...)`` in
fastode.methods, and add one line to :data:`DRIVERS` (``"radau": radau_solve``); say in
:data:`MASS_FAMILIES` whether it accepts a mass matrix. Drivers are looked up by method name
first, then by family.
"""
import ctypes
import math
import warnings
from numbers import Integral, Real

import numpy as np
from numba.core.ccallback import CFunc

from .ivp import (Y0_NOT_FINITE, _DUMMY_T_EVAL, _NO_EVENTS_F, _NO_EVENTS_I, _compiled_rhs,
                  _pack, parse_step_options, shape_result)
from .kernels import status as st
from .kernels.jacobian import (JAC_CONSTANT, JAC_FD, JAC_FD_GROUPED, JAC_USER, NEWTON_FAILED,
                               SINGULAR, band_groups, cpr_groups, pattern_bandwidth,
                               pattern_columns)
from .kernels.bdf import bdf_solve as _bdf_kernel
from .kernels.family import MethodDriver
from .kernels.radau import radau_solve as _radau_kernel
from .kernels.rosenbrock import rodas4_solve, rodas5p_solve, rosenbrock23_solve
from .kernels.sdirk import (implicit_euler_fixed_solve, implicit_euler_solve, kencarp4_solve,
                            kvaerno5_solve)
from . import usercode
from .results import MESSAGES, MIN_STEP_MESSAGE, OdeResult
from .rhs import (RAISED, RHS_SIGNATURE, WRONG_SHAPE, _RHS_CTYPES, CompiledFunction, Extras,
                  FailureRecord, FallbackWarning, _arg_expressions, _cache_for, _compile,
                  _compile_user, _failures, _fallback_reason, arg_specs, compile_event,
                  forget_stale_failures, pack_args, raise_failures, spec_variants)

radau_solve = MethodDriver("Radau", _radau_kernel)
bdf_solve = MethodDriver("BDF", _bdf_kernel)
# method name or family -> driver (see the module docstring)
DRIVERS = {
    "Rodas4": rodas4_solve,
    "Rodas5P": rodas5p_solve,
    "Rosenbrock23": rosenbrock23_solve,
    "radau": radau_solve,
    "bdf": bdf_solve,
    "Kvaerno5": kvaerno5_solve, "KenCarp4": kencarp4_solve,
    "implicit_euler": implicit_euler_solve,
}
# drivers that take the Jacobian structure arrays and an int use_jac mode
STRUCTURED = {rodas4_solve, rosenbrock23_solve, bdf_solve}
# structured drivers that also take kl, ku and can run with a banded Jacobian and LU
BANDED = {rodas4_solve, rosenbrock23_solve, bdf_solve}
# Rodas5P runs in the Rosenbrock driver of Rodas4: structured and banded alike
STRUCTURED.add(rodas5p_solve)
BANDED.add(rodas5p_solve)
# Radau and the ESDIRK drivers (fastode.kernels.radau, .sdirk): structured and banded
_RADAU_ESDIRK = {radau_solve, kvaerno5_solve, kencarp4_solve, implicit_euler_solve,
                 implicit_euler_fixed_solve}
STRUCTURED.update(_RADAU_ESDIRK)
BANDED.update(_RADAU_ESDIRK)
# families whose drivers accept a mass matrix
MASS_FAMILIES = {"rosenbrock", "radau", "bdf", "sdirk"}
# methods that also take a fixed `step=` (same contract; steps of exactly first_step)
FIXED_STEP_DRIVERS = {"implicit_euler": implicit_euler_fixed_solve}

IMPLICIT_MESSAGES = MESSAGES  # status codes and messages: kernels/status.py, results.py
FIXED_STEP_FAILED = {NEWTON_FAILED: "Newton iterations did not converge",
                     SINGULAR: "The iteration matrix is singular",
                     st.NON_FINITE: "The right-hand side returned a non-finite value"}

_FD_STRUCT = (np.zeros(1, dtype=np.int64),) * 4
# CompiledFunction.reason of a constant `jac` matrix: it is copied, not evaluated (njev = 0,
# as scipy counts it)
CONSTANT_JAC = "constant jac"
_IDENTITY = {}


def _identity(n):
    eye = _IDENTITY.get(n)
    if eye is None:
        eye = np.eye(n)
        if n <= 200:
            _IDENTITY[n] = eye
    return eye


def _dense_matrix(value, n, name):
    if hasattr(value, "toarray"):
        value = value.toarray()
    try:
        arr = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be an (n, n) array of real numbers.") from None
    if arr.shape != (n, n):
        raise ValueError(f"`{name}` must have shape ({n}, {n}); got {arr.shape}.")
    if not np.isfinite(arr).all():
        raise ValueError(f"`{name}` must be finite.")
    return np.ascontiguousarray(arr)


# ---- user Jacobians -----------------------------------------------------------------------

def _jac_source(n, specs, is_complex=False, scalar_return=False, record=None):
    """Source of the C-callable wrapper of ``jac``: ``out`` (row-major) is the Jacobian of the
    real system the kernel solves; NaN and a note in ``record`` (a FailureRecord) when ``jac``
    raises or returns another shape than (n, n).

    For a complex state (real pairs ``[Re z0, Im z0, ...]``) the user's ``jac`` is the complex
    df/dz, as in scipy; each entry J becomes the 2 x 2 block [[Re J, -Im J], [Im J, Re J]]
    (Cauchy-Riemann: scipy's Newton iteration in complex arithmetic assumes the same).
    """
    argexpr, n_p = _arg_expressions(specs)
    m = 2 * n if is_complex else n
    lines = [
        "def jac_wrapper(t, y_ptr, p_ptr, out_ptr):",
        f"    y = carray(y_ptr, ({m},))",
        f"    p = carray(p_ptr, ({n_p},))",
        f"    out = carray(out_ptr, ({m * m},))",
        "    rows = -1",
        "    cols = -1",
        "    try:",
    ]
    if is_complex:
        lines += [f"        z = np.empty({n}, dtype=np.complex128)",
                  f"        for i in range({n}):",
                  "            z[i] = complex(y[2 * i], y[2 * i + 1])",
                  f"        r = fun(t, z{argexpr})"]
    else:
        lines.append(f"        r = fun(t, y{argexpr})")
    if scalar_return:  # a 1-component system whose jac returns a number (scipy accepts it)
        if is_complex:
            lines += ["        v = complex(r)", "        out[1] = -v.imag",
                      "        out[2] = v.imag", "        out[3] = v.real", "        out[0] = v.real"]
        else:
            lines.append("        out[0] = r")
    else:
        lines += [
            f"        if len(r) != {n}:",
            "            rows = len(r)",
            "            cols = len(r[0]) if len(r) > 0 else 0",
            "        else:",
            f"            for i in range({n}):",
            "                ri = r[i]",
            f"                if len(ri) != {n}:",
            f"                    rows = {n}",
            "                    cols = len(ri)",
            "                else:",
            f"                    for j in range({n}):",
        ]
        if is_complex:
            lines += ["                        v = complex(ri[j])",
                      f"                        out[2 * i * {m} + 2 * j] = v.real",
                      f"                        out[2 * i * {m} + 2 * j + 1] = -v.imag",
                      f"                        out[(2 * i + 1) * {m} + 2 * j] = v.imag",
                      f"                        out[(2 * i + 1) * {m} + 2 * j + 1] = v.real"]
        else:
            lines.append(f"                        out[i * {n} + j] = ri[j]")
    lines += ["    except Exception:", "        out[0] = np.nan"]
    if record is not None:
        lines += record.source_lines(8, RAISED)
    lines += ["    if rows >= 0:", "        out[0] = np.nan"]
    if record is not None:
        lines += record.source_lines(8, WRONG_SHAPE, a="rows", b="cols")
    return "\n".join(lines)


def complex_jacobian_as_real(J):
    """The real-pair Jacobian (2n, 2n) of a complex df/dz (n, n), see ``_jac_source``."""
    J = np.asarray(J, dtype=np.complex128)
    n = J.shape[0]
    out = np.empty((2 * n, 2 * n))
    out[0::2, 0::2] = J.real
    out[0::2, 1::2] = -J.imag
    out[1::2, 0::2] = J.imag
    out[1::2, 1::2] = J.real
    return out


def _python_jac(fun, args, n, constant=None, is_complex=False):
    """A ctypes callback into Python (a function numba cannot compile, or a constant matrix)."""
    errors: list = []
    m = 2 * n if is_complex else n
    buffer_type = ctypes.c_double * m
    out_type = ctypes.c_double * (m * m)

    def callback(t, y_ptr, p_ptr, out_ptr):
        out = np.frombuffer(out_type.from_address(ctypes.addressof(out_ptr.contents)))
        if constant is not None:
            out[:] = constant.ravel()
            return
        try:
            y = np.frombuffer(buffer_type.from_address(ctypes.addressof(y_ptr.contents))).copy()
            if is_complex:
                y = y.view(np.complex128)
            r = fun(t, y, *args)
            if hasattr(r, "toarray"):
                r = r.toarray()
            r = np.asarray(r, dtype=np.complex128 if is_complex else np.float64)
            if r.ndim == 0 and n == 1:
                r = r.reshape(1, 1)
            if r.shape != (n, n):  # as the compiled wrapper: a shape that changed after t0
                raise ValueError(f"`jac` returned shape {r.shape} at t={t!r}; "
                                 f"expected ({n}, {n}).")
            if is_complex:
                r = complex_jacobian_as_real(r)
            out[:] = r.reshape(m * m)
        except BaseException as exc:  # noqa: BLE001 - re-raised after the kernel
            if not errors:
                errors.append(exc)
            out[:] = np.nan

    c_callback = _RHS_CTYPES(callback)
    address = ctypes.cast(c_callback, ctypes.c_void_p).value
    return CompiledFunction(address, (c_callback, constant), True, errors,
                            CONSTANT_JAC if constant is not None else "")


def compile_jac(jac, n, args, is_complex, t0, y0_real, extras=None):
    """(use_jac mode, CompiledFunction or None) for solve_ivp's ``jac`` option (``extras``: as
    in fastode.rhs.compile_rhs).

    ``jac`` may return a dense array, a scipy sparse matrix (called through Python: it cannot be
    compiled, and a Jacobian is evaluated rarely), or a number for a 1-component system; for a
    complex state it is the complex df/dz, as in scipy.
    """
    if jac is None:
        return JAC_FD, None
    if isinstance(jac, CFunc):
        if is_complex:
            raise ValueError("a numba @cfunc `jac` cannot be used with a complex `y0` (it would "
                             "need the Jacobian of the real-pair form); pass a Python `jac` "
                             "returning the complex df/dz, or leave it out.")
        if jac._sig != RHS_SIGNATURE:
            raise TypeError(f"a numba @cfunc `jac` must have the signature {RHS_SIGNATURE} "
                            "(void jac(double t, double *y, double *p, double *out), out: the "
                            "n x n Jacobian row-major); got {jac._sig}.")
        return JAC_USER, CompiledFunction(jac.address, jac, False, [], "")
    if not callable(jac):
        if is_complex:
            constant = np.asarray(jac.toarray() if hasattr(jac, "toarray") else jac)
            if constant.shape != (n, n):
                raise ValueError(f"`jac` must have shape ({n}, {n}); got {constant.shape}.")
            try:
                constant = complex_jacobian_as_real(constant)
            except (TypeError, ValueError):
                raise ValueError("`jac` must be an (n, n) array of numbers.") from None
            constant = _dense_matrix(constant, 2 * n, "jac")
        else:
            constant = _dense_matrix(jac, n, "jac")
        return JAC_CONSTANT, _python_jac(None, args, n, constant, is_complex)
    y_call = y0_real.view(np.complex128).copy() if is_complex else y0_real.copy()
    try:
        J0 = jac(t0, y_call, *args)
    except Exception as exc:
        raise ValueError(f"`jac` raised {type(exc).__name__} when called as jac(t0, y0, *args): "
                         f"{exc}") from exc
    sparse = hasattr(J0, "toarray")
    if sparse:
        J0 = J0.toarray()
    try:
        J0 = np.asarray(J0, dtype=np.complex128 if is_complex else float)
    except (TypeError, ValueError):
        raise ValueError("`jac` must return an (n, n) array of numbers.") from None
    scalar_return = J0.ndim == 0 and n == 1
    if scalar_return:
        J0 = J0.reshape(1, 1)
    if J0.shape != (n, n):
        raise ValueError(f"`jac` returned shape {J0.shape}; expected ({n}, {n}).")
    if is_complex:
        J0 = complex_jacobian_as_real(J0)
    if sparse:
        # numba cannot build scipy sparse matrices; a Jacobian is evaluated once per many steps,
        # so the Python call costs little next to the solve (no warning: nothing to change)
        return JAC_USER, _python_jac(jac, args, n, is_complex=is_complex)
    specs = arg_specs(args)

    def verify(compiled, p):
        """The compiled jac at t0 must give the Python call's matrix."""
        out = np.empty(J0.size)
        ptr = ctypes.POINTER(ctypes.c_double)
        compiled.ctypes(t0, y0_real.ctypes.data_as(ptr), p.ctypes.data_as(ptr),
                        out.ctypes.data_as(ptr))
        if not np.allclose(out, J0.ravel(), rtol=1e-12, atol=0.0, equal_nan=True):
            raise ValueError("the numba-compiled `jac` returned different values than the "
                             "Python function at t0")

    st = usercode.state(jac, extras is not None) if specs is not None else None
    if st is not None:
        record = FailureRecord("jac", jac, n, is_complex)
        hit = _compile_user(jac, st, ("jac", n, specs, is_complex, scalar_return), args, specs,
                            extras,
                            lambda wspecs, _: _jac_source(n, wspecs, is_complex, scalar_return,
                                                          record),
                            "jac_wrapper", RHS_SIGNATURE, verify, record=record,
                            int_as_float=True)
        if isinstance(hit, CompiledFunction):
            return JAC_USER, hit
        if not _failures.get(("warned", st.analysis.static_key)):
            _failures[("warned", st.analysis.static_key)] = True
            warnings.warn(f"fastode could not compile `jac` with numba ({hit}); it will be "
                          "called through Python instead (slower).", FallbackWarning,
                          stacklevel=4)
        return JAC_USER, _python_jac(jac, args, n, is_complex=is_complex)
    cache = _cache_for(jac)
    key = ("jac", n, specs, is_complex, scalar_return)
    hit = cache.get(key)
    if isinstance(hit, CompiledFunction):
        return JAC_USER, hit
    if hit is None and specs is not None:
        for attempt in spec_variants(specs, True):
            try:
                record = FailureRecord("jac", jac, n, is_complex)
                compiled = _compile(jac, _jac_source(n, attempt, is_complex, scalar_return,
                                                     record), "jac_wrapper", RHS_SIGNATURE)
                verify(compiled, pack_args(args, specs))
                result = CompiledFunction(compiled.address, compiled, False, [], "", record)
                cache[key] = result
                return JAC_USER, result
            except Exception as exc:
                if hit is None:
                    hit = _fallback_reason(exc)  # the first attempt's reason is reported
        cache[key] = hit
    if hit is None:
        hit = "`args` contains values that are not numbers or numeric arrays"
    warnings.warn(f"fastode could not compile `jac` with numba ({hit}); it will be called "
                  "through Python instead (slower).", FallbackWarning, stacklevel=4)
    return JAC_USER, _python_jac(jac, args, n, is_complex=is_complex)


def jacobian_structure(jac_sparsity, lband, uband, n):
    """(use_jac mode, structure arrays) for ``jac_sparsity`` / ``lband`` + ``uband``."""
    if (lband is None) != (uband is None):
        raise ValueError("`lband` and `uband` must be given together.")
    if lband is not None:
        for name, v in (("lband", lband), ("uband", uband)):
            if not isinstance(v, Integral) or isinstance(v, bool) or v < 0:
                raise ValueError(f"`{name}` must be a non-negative integer; got {v!r}.")
        if jac_sparsity is not None:
            raise ValueError("give either `jac_sparsity` or `lband`/`uband`, not both.")
        return JAC_FD_GROUPED, band_groups(n, int(lband), int(uband))
    elif jac_sparsity is not None:
        shape = getattr(jac_sparsity, "shape", None)
        if shape is None:
            jac_sparsity = np.asarray(jac_sparsity)
            shape = jac_sparsity.shape
        if tuple(shape) != (n, n):
            raise ValueError(f"`jac_sparsity` must have shape ({n}, {n}); got {tuple(shape)}.")
        cols = pattern_columns(jac_sparsity)
    else:
        return JAC_FD, _FD_STRUCT
    return JAC_FD_GROUPED, cpr_groups(cols, n)


def band_of(jac_sparsity, lband, uband, n):
    """(kl, ku) for a banded solve, or (-1, -1) for the dense path: ``lband``/``uband`` as
    given; a ``jac_sparsity`` pattern when its band (2 kl + ku + 1 stored rows) is under half
    of n and n >= 32 (smaller systems gain nothing from it)."""
    if lband is not None and uband is not None:
        return min(int(lband), max(n - 1, 0)), min(int(uband), max(n - 1, 0))
    if jac_sparsity is not None and n >= 32:
        kl, ku = pattern_bandwidth(jac_sparsity)
        if 2 * kl + ku + 1 <= n // 2:
            return kl, ku
    return -1, -1


# ---- solve_ivp's implicit path ------------------------------------------------------------

def driver_for(chosen):
    """The registered driver of a Method (by name, then by family), or None."""
    return DRIVERS.get(chosen.name) or DRIVERS.get(chosen.family)


def _real_pairs_structure(jac_sparsity, lband, uband, n):
    """The structure options of a complex system of size ``n`` for its real form.

    A complex state is integrated as 2n reals, component i as (re, im) at 2i, 2i + 1, so the
    complex entry (i, j) of the Jacobian becomes the 2 x 2 block at (2i, 2j): a band (kl, ku)
    becomes (2 kl + 1, 2 ku + 1) and a pattern P becomes kron(P, ones((2, 2))).
    """
    jacobian_structure(jac_sparsity, lband, uband, n)  # the checks, against the complex size
    if lband is not None:
        return None, 2 * int(lband) + 1, 2 * int(uband) + 1
    block = np.ones((2, 2))
    if hasattr(jac_sparsity, "tocsr"):
        import scipy.sparse
        pattern = scipy.sparse.csr_matrix(jac_sparsity, dtype=float)
        pattern.data = (pattern.data != 0).astype(float)
        return scipy.sparse.kron(pattern, block, format="csr"), None, None
    return np.kron(np.asarray(jac_sparsity) != 0, block), None, None


def _parse_options(chosen, driver, t0, t1, y0_real, n, is_complex, options):
    """Check the options of an implicit solve (scipy's and fastode's own): returns (driver,
    mass_arr, has_mass, mode, structure, kl, ku, jac, first_step, max_step, min_step,
    max_steps, event_samples); ``jac`` is the user's, compiled later (after ``fun``)."""
    step = options.pop("step", None)
    if step is not None:
        if chosen.name not in FIXED_STEP_DRIVERS:
            raise ValueError(f"`step` is for fixed-step methods; {chosen.name!r} is adaptive "
                             "(use `first_step` / `max_step`).")
        if (not isinstance(step, Real) or isinstance(step, bool) or not np.isfinite(step)
                or step <= 0):
            raise ValueError(f"`step` must be a positive finite number; got {step!r}.")
        driver = FIXED_STEP_DRIVERS[chosen.name]
        first_step = float(step)
    max_step, first_step_option, min_step, max_steps, event_samples = parse_step_options(
        options, t0, t1)
    first_step = first_step if step is not None else first_step_option
    jac = options.pop("jac", None)
    jac_sparsity = options.pop("jac_sparsity", None)
    lband = options.pop("lband", None)
    uband = options.pop("uband", None)
    mass = options.pop("mass", None)
    if options:
        warnings.warn(f"The following arguments have no effect for a chosen solver: "
                      f"{', '.join('`%s`' % k for k in options)}.", UserWarning, stacklevel=4)

    m = y0_real.size
    if is_complex and (jac_sparsity is not None or lband is not None or uband is not None):
        jac_sparsity, lband, uband = _real_pairs_structure(jac_sparsity, lband, uband, n)
    mode_struct, structure = jacobian_structure(jac_sparsity, lband, uband, m)
    kl, ku = band_of(jac_sparsity, lband, uband, m) if driver in BANDED else (-1, -1)
    if jac is not None:
        kl, ku = -1, -1  # a user Jacobian is an (n, n) matrix: the dense path
    if mass is not None:
        if chosen.family not in MASS_FAMILIES:
            raise ValueError(f"`mass` is not supported by method {chosen.name!r}; use one of the "
                             f"families {sorted(MASS_FAMILIES)}.")
        if is_complex:
            raise ValueError("`mass` is not supported for a complex `y0`.")
        mass_arr = _dense_matrix(mass, n, "mass")
        has_mass = True
        if kl >= 0:
            i, j = np.nonzero(mass_arr)
            if i.size and ((i - j).max() > kl or (j - i).max() > ku):
                if lband is not None:
                    raise ValueError(f"`mass` has entries outside the band lband={kl}, "
                                     f"uband={ku}; widen the band or leave it out.")
                kl, ku = -1, -1  # a jac_sparsity band that the mass matrix leaves: dense
    elif driver in BANDED:
        mass_arr = _identity(1)
        has_mass = False
    else:
        mass_arr = _identity(m)
        has_mass = False
    return (driver, mass_arr, has_mass, mode_struct, structure, kl, ku, jac, first_step,
            max_step, float(min_step), max_steps, int(event_samples))


# solve_implicit's setup when no option is given (the common case), per (driver, size): the
# defaults of _parse_options, cached (saves ~3 us of option parsing per call)
_DEFAULT_SETUPS: dict = {}


def _default_setup(driver, m):
    key = (driver, m)
    setup = _DEFAULT_SETUPS.get(key)
    if setup is None:
        mass_arr = _identity(1) if driver in BANDED else _identity(m)
        setup = (driver, mass_arr, False, JAC_FD, _FD_STRUCT, -1, -1, None, 0.0, np.inf, 0.0,
                 None, 4)
        if m <= 200:  # as _identity: small systems only (an n x n identity each)
            _DEFAULT_SETUPS[key] = setup
    return setup


def _prepare(fun, chosen, t0, t1, y0_real, n, is_complex, args, rtol, atol, t_eval_arr,
             dense_output, event_list, vectorized, options):
    """Check the options and compile the user functions: (driver, call arguments, the
    compiled functions to keep alive and check for Python errors, min_step, max_steps)."""
    driver = driver_for(chosen)
    if driver is None:
        raise ValueError(f"no compiled driver is registered for method {chosen.name!r} "
                         f"(family {chosen.family!r}).")
    if options:
        setup = _parse_options(chosen, driver, t0, t1, y0_real, n, is_complex, options)
    else:
        setup = _default_setup(driver, y0_real.size)
    (driver, mass_arr, has_mass, mode, structure, kl, ku, jac, first_step, max_step, min_step,
     max_steps, event_samples) = setup
    m = y0_real.size
    # plain Python for a small y0: ~0.3 us instead of ~1.2 us
    if not (all(map(math.isfinite, y0_real.tolist())) if m <= 32
            else np.isfinite(y0_real).all()):
        raise ValueError(Y0_NOT_FINITE)

    specs, p = _pack(args)
    extras = Extras(specs)
    rhs = _compiled_rhs(fun, t0, y0_real, n, is_complex, args, specs, vectorized, extras)
    if jac is None:
        jac_compiled = None
    else:
        mode_jac, jac_compiled = compile_jac(jac, n, args, is_complex, t0, y0_real, extras)
        if jac_compiled is not None:  # jac_sparsity / lband matter only without a user jac
            mode, structure = mode_jac, _FD_STRUCT
    if event_list:
        compiled_events = [compile_event(e, n, args, is_complex, extras)
                           for e, _, _ in event_list]
        addresses = np.array([c.address for c in compiled_events], dtype=np.int64)
        terminal = np.array([c for _, c, _ in event_list], dtype=np.int64)
        directions = np.array([d for _, _, d in event_list])
    else:
        compiled_events = ()
        addresses, terminal, directions = _NO_EVENTS_I, _NO_EVENTS_I, _NO_EVENTS_F
    p = extras.pack(args, specs, p)  # + the current values of numeric globals they read
    jac_address = jac_compiled.address if jac_compiled is not None else 0
    rest = (p, t0, t1, y0_real, rtol, atol, mass_arr, has_mass, first_step, max_step,
            min_step, int(max_steps or 0),
            t_eval_arr if t_eval_arr is not None else _DUMMY_T_EVAL, t_eval_arr is not None,
            bool(dense_output), addresses, directions, terminal, event_samples)
    if driver in BANDED:
        call_args = (rhs.address, jac_address, int(mode), *rest, *structure, int(kl), int(ku))
    elif driver in STRUCTURED:
        call_args = (rhs.address, jac_address, int(mode), *rest, *structure)
    else:
        call_args = (rhs.address, jac_address, mode in (JAC_USER, JAC_CONSTANT), *rest)
    if rhs.errors or compiled_events or jac_compiled is not None:
        compiled = [rhs, *compiled_events, *([jac_compiled] if jac_compiled is not None else [])]
    else:
        compiled = (rhs,)
    return driver, call_args, compiled, min_step, max_steps


# A RHS numba cannot compile, for a large system on the dense path (no band): scipy's own
# BDF/Radau wins there (sparse LU with jac_sparsity, LAPACK otherwise, against fastode's
# hand-written dense LU), so it runs the solve. Measured (bench/fallback.py, 2-D Brusselator
# with a scipy.sparse Laplacian and jac_sparsity, 2 cores): 128 states fastode 0.020 s vs scipy
# 0.036 s (BDF); 288 states 0.089 vs 0.055; 512 states 0.51 vs 0.093; 2048 states 41.8 vs 0.69.
SCIPY_DELEGATE = {"bdf": "BDF", "radau_iia_5": "Radau"}  # fastode's method name -> scipy's
SCIPY_DELEGATE_MIN_SIZE = 200
_SCIPY_OPTIONS = {"jac", "jac_sparsity", "max_step", "first_step"}


def _scipy_solve(fun, method, t0, t1, y0_real, args, rtol, atol, t_eval_arr, dense_output,
                 event_list, vectorized, options):
    """scipy.integrate.solve_ivp for this call, as an OdeResult (``naccept``/``nreject``: None,
    scipy does not count them)."""
    import scipy.integrate
    events = [e for e, _, _ in event_list] or None
    rtol = float(np.ravel(rtol)[0])  # uniform (checked by the caller); scipy takes a scalar
    res = scipy.integrate.solve_ivp(fun, (t0, t1), y0_real.copy(), method=method,
                                    t_eval=t_eval_arr, dense_output=dense_output, events=events,
                                    vectorized=vectorized, args=args or None, rtol=rtol,
                                    atol=atol, **options)
    out = OdeResult(**res)
    out.naccept = out.nreject = None
    return out


def solve_implicit(fun, chosen, t0, t1, y0_real, n, is_complex, args, rtol, atol, t_eval_arr,
                   dense_output, event_list, vectorized, options):
    """solve_ivp for an implicit method (called by fastode.ivp.solve_ivp after the common
    validation of t_span, y0, rtol/atol, t_eval and events)."""
    scipy_options = dict(options)
    driver, call_args, compiled, min_step, max_steps = _prepare(
        fun, chosen, t0, t1, y0_real, n, is_complex, args, rtol, atol, t_eval_arr,
        dense_output, event_list, vectorized, options)
    if (compiled[0].python_callback and chosen.name in SCIPY_DELEGATE
            and y0_real.size >= SCIPY_DELEGATE_MIN_SIZE and not is_complex
            and set(scipy_options) <= _SCIPY_OPTIONS and np.ptp(rtol) == 0
            and (driver not in BANDED or call_args[-2] < 0)):
        return _scipy_solve(fun, SCIPY_DELEGATE[chosen.name], t0, t1, y0_real, args, rtol,
                            atol, t_eval_arr, dense_output, event_list, vectorized,
                            scipy_options)
    forget_stale_failures(compiled)
    (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg, ev_t, ev_y, ev_index, n_ev,
     counters) = driver(*call_args)
    status = int(status)
    for c in compiled:
        if c.errors or (c.failure is not None and c.failure.flag[0]):
            # fun, jac or an event raised (or returned a wrong shape): re-raise it, as scipy
            raise_failures(compiled, args, 1.0 if t1 >= t0 else -1.0)
    m = y0_real.size
    message = IMPLICIT_MESSAGES.get(status, f"Integration failed (status {status}) near t={{t}}.")
    if status == st.STEP_TOO_SMALL and min_step > 0:
        message = MIN_STEP_MESSAGE.format(min_step=min_step)
    if driver in FIXED_STEP_DRIVERS.values() and status in (NEWTON_FAILED, SINGULAR,
                                                              st.NON_FINITE):
        # no smaller step is tried with a fixed `step`: say so, and what to do
        message = (FIXED_STEP_FAILED[status] + " near t={t} with the fixed step; use a smaller "
                   "`step` or the adaptive method (no `step`).")
    if "{" in message:
        message = message.format(max_steps=max_steps, t=float(counters[3]))
    q = (seg_data.shape[1] // m - 1) if seg_data.shape[0] else 1
    return shape_result(status, message, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg,
                        ev_t, ev_y, ev_index, n_ev, counters, t0, y0_real, n, is_complex, q,
                        dense_output, len(event_list),
                        0 if any(c.reason == CONSTANT_JAC for c in compiled) else int(counters[4]),
                        int(counters[5]))


def kernel_call(fun, t_span, y0, method, t_eval=None, args=(), **options):
    """The compiled driver and the exact arguments ``fastode.solve_ivp`` would call it with.

    For benchmarks and numba users who want the kernel alone: ``driver(*call_args)`` returns
    the implicit driver contract's 13-tuple (module docstring) and can be called in a loop,
    from Python or from an ``@njit`` function. ``keep`` holds the compiled user functions whose
    addresses are in ``call_args``: keep it alive while calling. Real ``y0`` only.

    Returns
    -------
    (driver, call_args, keep)
    """
    from . import methods as method_registry
    from .ivp import validate_t_eval, validate_t_span, validate_tolerances, validate_y0
    chosen = method_registry.lookup(method)
    t0, t1 = validate_t_span(t_span)
    y0_real, n, is_complex = validate_y0(y0)
    if is_complex:
        raise ValueError("kernel_call takes a real `y0`.")
    rtol, atol = validate_tolerances(options.pop("rtol", 1e-3), options.pop("atol", 1e-6), n,
                                     False)
    driver, call_args, compiled, _, _ = _prepare(
        fun, chosen, t0, t1, y0_real, n, False, tuple(args), rtol, atol,
        validate_t_eval(t_eval, t0, t1), False, [], False, options)
    # the compiled family driver itself (a MethodDriver binds coefficients in Python)
    kernel, call_args = driver.kernel_args(*call_args)
    return kernel, call_args, tuple(compiled)
