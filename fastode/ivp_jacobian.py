"""User Jacobians and Jacobian structure for the stiff methods: ``jac``, ``jac_sparsity``,
``lband``/``uband``.

Shared by the stiff paths of solve_ivp (fastode.ivp_implicit, fastode.ivp_auto) and the
step-by-step classes (fastode.solvers_radau, .solvers_bdf, .solvers_lsoda). ``compile_jac``
turns solve_ivp's ``jac`` option into a C-callable function (fastode.rhs's machinery, the
signature of the RHS: ``void jac(double t, double *y, double *p, double *out)``, ``out`` the
n x n matrix row-major); ``jacobian_structure`` / ``band_of`` turn the sparsity options into the
column groups and band the drivers take (fastode.kernels.jacobian).
"""
import ctypes
import warnings
from numbers import Integral

import numpy as np
from numba.core.ccallback import CFunc

from . import usercode
from .kernels.jacobian import (JAC_CONSTANT, JAC_FD, JAC_FD_GROUPED, JAC_USER, band_groups,
                               cpr_groups, pattern_bandwidth, pattern_columns)
from .rhs import (RAISED, RHS_SIGNATURE, WRONG_SHAPE, _RHS_CTYPES, CompiledFunction,
                  FailureRecord, FallbackWarning, _arg_expressions, _cache_for, _compile,
                  _compile_user, _failures, _fallback_reason, arg_specs, pack_args,
                  spec_variants)
from .rhs_inplace import rewrite_matrix_returns

# the structure arrays of a dense finite-difference Jacobian (placeholders the drivers ignore)
FD_STRUCT = (np.zeros(1, dtype=np.int64),) * 4
# the Jacobian group's sparse LU column order when the sparse direct path is not used
NO_LU_ORDER = np.zeros(1, dtype=np.int64)
# CompiledFunction.reason of a constant `jac` matrix: it is copied, not evaluated (njev = 0,
# as scipy counts it)
CONSTANT_JAC = "constant jac"


def dense_matrix(value, n, name):
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

def _jac_source_in_place(n, specs, record=None):
    """Source of the wrapper of the in-place rewrite of ``jac`` (fastode.rhs_inplace
    .rewrite_matrix_returns): it assigns the n * n entries of ``out`` itself (every return has
    n rows of n entries: no shape to check)."""
    argexpr, n_p = _arg_expressions(specs)
    lines = [
        "def jac_wrapper(t, y_ptr, p_ptr, out_ptr):",
        f"    y = carray(y_ptr, ({n},))",
        f"    p = carray(p_ptr, ({n_p},))",
        f"    out = carray(out_ptr, ({n * n},))",
        "    try:",
        f"        fun(t, y{argexpr}, out)",
        "    except Exception:",
        "        out[0] = np.nan",
    ]
    if record is not None:
        lines += record.source_lines(8, RAISED)
    return "\n".join(lines)


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
            constant = dense_matrix(constant, 2 * n, "jac")
        else:
            constant = dense_matrix(jac, n, "jac")
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

        def source(wspecs, in_place):
            if in_place:
                return _jac_source_in_place(n, wspecs, record)
            return _jac_source(n, wspecs, is_complex, scalar_return, record)

        # a jac returning an (n, n) literal writes into the kernel's matrix (no allocation per
        # call: 152 -> 4 ns for Lorenz's 3 x 3), checked against the Python call by verify()
        in_place_n = None if (is_complex or scalar_return) else n
        hit = _compile_user(jac, st, ("jac", n, specs, is_complex, scalar_return), args, specs,
                            extras, source, "jac_wrapper", RHS_SIGNATURE, verify,
                            in_place_n=in_place_n, record=record, int_as_float=True,
                            rewrite=rewrite_matrix_returns)
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
        return JAC_FD, FD_STRUCT
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


def real_pairs_structure(jac_sparsity, lband, uband, n):
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



# ---- the sparse direct path: symbolic analysis, once per pattern ---------------------------

# sparse_lu_plan's results by pattern (n, hash of col_ptr and rows); a handful kept
_LU_PLANS: dict = {}


def sparse_lu_plan(col_ptr, rows, n):
    """(column order, storage bound) of fastode.kernels.sparse_lu for the pattern ``col_ptr,
    rows`` (CSC, diagonal included, as fastode.kernels.jacobian.cpr_groups returns it).

    The order is SuperLU's multiple minimum degree on the pattern of A^T + A
    (scipy.sparse.linalg.splu, ``permc_spec="MMD_AT_PLUS_A"``), the fill-reducing ordering for
    a structurally (nearly) symmetric matrix such as a discretised PDE's Jacobian; the bound is
    the entries of the L and U that factorisation made (values: the pattern, diagonally
    dominant, so its pivots are the diagonal, as the kernel's usually are), plus n. Computed
    once per pattern and cached: this is the "symbolic analysis" a KLU-style solver does once
    and reuses for every numeric factorisation.
    """
    import hashlib

    import scipy.sparse
    import scipy.sparse.linalg
    key = (n, hashlib.sha256(col_ptr.tobytes() + rows.tobytes()).hexdigest())
    plan = _LU_PLANS.get(key)
    if plan is not None:
        return plan
    data = np.full(rows.shape[0], -1.0 / max(int(np.diff(col_ptr).max()), 1))
    data[rows == np.repeat(np.arange(n), np.diff(col_ptr))] = 2.0
    A = scipy.sparse.csc_matrix((data, rows, col_ptr), shape=(n, n))
    lu = scipy.sparse.linalg.splu(A, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.1)
    # splu factors Pr A Pc = L U with column j of A Pc = column i of A where perm_c[i] == j
    order = np.argsort(lu.perm_c).astype(np.int64)
    capacity = int(max(lu.L.nnz, lu.U.nnz) * 1.25) + n
    plan = (order, capacity)
    if len(_LU_PLANS) >= 8:
        _LU_PLANS.pop(next(iter(_LU_PLANS)))
    _LU_PLANS[key] = plan
    return plan
