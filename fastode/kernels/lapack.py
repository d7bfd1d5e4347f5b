"""LAPACK's dense LU (getrf / getrs, real and complex) for the kernels' large systems.

fastode.kernels.linalg's ``lu_factor`` / ``lu_solve`` / ``lu_solve_row`` call these from
``LAPACK_MIN_N`` unknowns up (see its comment and ``bench/lapack_threshold.py``): for small
systems the inlined unblocked LU wins (no call, no copies); for large ones LAPACK's blocked
factorisation does (O(n^3) work in cache-friendly blocks).

The routines are scipy's (``scipy.linalg.cython_lapack``: the LAPACK scipy itself uses). The
kernels are cached on disk and loaded by later processes, so an address must not be compiled
into them (it changes from process to process): each routine is registered with LLVM's linker
under a fixed symbol name (``fastode_dgetrf``, ...) when this module is imported, and the
compiled code calls that symbol (``numba.types.ExternalFunction``), which is resolved to this
process's address when cached code is loaded. Every module whose kernels use these imports
this one, so the symbols are registered before such code is loaded.

Layout: the kernels' matrices are C-ordered (row-major), so LAPACK, which reads column-major,
factors A^T = P L U; A = U^T L^T P^T is then solved with getrs's ``trans = 'T'`` (not 'C' for
complex: a transpose, no conjugate). In the row-major array the factors lie transposed (U^T
below and on the diagonal, L^T above it): only these solves may read them. ``piv`` (int64,
length n) holds LAPACK's pivots from 0 (``piv[k]``: the column of A swapped with column k at
step k); getrs wants them from 1 as 32-bit integers, converted in each call (O(n), against the
O(n^2) of the solve).

The info contract is the hand-written LU's: 0, or k + 1 for an exactly zero pivot of U in
column k (getrf finishes the factorisation; the solve must not be used then).
"""
import numpy as np
from llvmlite import binding as _llvm
from numba import types
from numba.core import cgutils
from numba.extending import get_cython_function_address, intrinsic, overload

# From this size on the LAPACK calls are used; below it the results are those of the inlined
# LU, bit for bit. The measured crossover (bench/lapack_threshold.py, one thread) is 20-32 (real
# factor + solves; complex below 20), LAPACK 2.7x faster at 80. 100 keeps the dense path
# bit-identical to the banded LU on the sizes the banded == dense tests use (up to 80; a
# jac_sparsity band is taken from n = 32 on, so those tests cannot move below 32): lowering it
# to 32 means giving those tests another oracle.
LAPACK_MIN_N = 100

_SYMBOLS = {name: "fastode_" + name for name in ("dgetrf", "dgetrs", "zgetrf", "zgetrs")}


def register_symbols():
    """Register scipy's getrf/getrs with LLVM's linker under the fixed names of ``_SYMBOLS``
    (done at import; code compiled or loaded later in this process calls these addresses)."""
    for routine, symbol in _SYMBOLS.items():
        _llvm.add_symbol(symbol, get_cython_function_address("scipy.linalg.cython_lapack",
                                                             routine))


register_symbols()

_p = types.voidptr
# getrf(m, n, a, lda, ipiv, info); getrs(trans, n, nrhs, a, lda, ipiv, b, ldb, info):
# Fortran convention, every argument by address
_dgetrf = types.ExternalFunction(_SYMBOLS["dgetrf"], types.void(_p, _p, _p, _p, _p, _p))
_zgetrf = types.ExternalFunction(_SYMBOLS["zgetrf"], types.void(_p, _p, _p, _p, _p, _p))
_dgetrs = types.ExternalFunction(_SYMBOLS["dgetrs"],
                                 types.void(_p, _p, _p, _p, _p, _p, _p, _p, _p))
_zgetrs = types.ExternalFunction(_SYMBOLS["zgetrs"],
                                 types.void(_p, _p, _p, _p, _p, _p, _p, _p, _p))


@intrinsic
def _address(typingctx, arr, offset):
    """``void *`` address of element ``offset`` (counted in elements, over the flat data) of the
    contiguous array ``arr``: no view, so no reference to count."""
    if not isinstance(arr, types.Array):
        return None
    sig = types.voidptr(arr, types.intp)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.gep(ary.data, [args[1]])
        return builder.bitcast(ptr, context.get_value_type(types.voidptr))

    return sig, codegen


@intrinsic
def _trans_t(typingctx):
    """``char *`` to the constant "T" (getrs's ``trans``: solve with the transpose)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(context.insert_const_string(builder.module, "T"),
                               cgutils.voidptr_t)

    return types.voidptr(), codegen


def _routine(dtype, real, cplx):
    if dtype == types.float64:
        return real
    if dtype == types.complex128:
        return cplx
    return None


def getrf(a, piv):
    """Factor the C-contiguous square ``a`` (float64 or complex128) in place with LAPACK; see
    the module docstring for the layout. Returns 0 or k + 1 (zero pivot in column k).
    Compiled code only."""
    raise NotImplementedError("compiled code only")


def getrs(lu, piv, b):
    """Solve A x = b in place on the contiguous 1-D ``b`` with the factors of :func:`getrf`.
    Compiled code only."""
    raise NotImplementedError("compiled code only")


def getrs_row(lu, piv, b, row):
    """:func:`getrs` on row ``row`` of the C-contiguous 2-D ``b``. Compiled code only."""
    raise NotImplementedError("compiled code only")


_JIT = dict(nogil=True, error_model="numpy")


@overload(getrf, jit_options=_JIT)
def _getrf_impl(a, piv):
    if not (isinstance(a, types.Array) and a.ndim == 2):
        return None
    fn = _routine(a.dtype, _dgetrf, _zgetrf)
    if fn is None:
        return None
    if a.layout != "C":
        # not reached by the drivers (their dense matrices are C-ordered; the band path compiles
        # this branch with F-ordered arrays but never runs it), correct all the same
        def copy_impl(a, piv):
            c = np.ascontiguousarray(a)
            info = getrf(c, piv)
            a[:, :] = c
            return info

        return copy_impl

    def impl(a, piv):
        n = a.shape[0]
        iw = np.empty(n + 2, dtype=np.int32)    # ipiv, then n, info
        iw[n] = n
        iw[n + 1] = 0
        nptr = _address(iw, n)
        fn(nptr, nptr, _address(a, 0), nptr, _address(iw, 0), _address(iw, n + 1))
        for k in range(n):
            piv[k] = iw[k] - 1
        # info < 0 (an illegal argument) cannot happen with these arguments; > 0 is the first
        # exactly zero pivot, counted from 1 as the hand-written LU's
        return np.int64(iw[n + 1])

    return impl


def _solve_routine(lu, b, ndim):
    if not (isinstance(lu, types.Array) and lu.ndim == 2 and isinstance(b, types.Array)
            and b.ndim == ndim and b.dtype == lu.dtype):
        return None
    return _routine(lu.dtype, _dgetrs, _zgetrs)


@overload(getrs, jit_options=_JIT)
def _getrs_impl(lu, piv, b):
    fn = _solve_routine(lu, b, 1)
    if fn is None:
        return None
    if lu.layout != "C" or b.layout != "C":
        def copy_impl(lu, piv, b):      # as getrf's: correct, not reached by the drivers
            x = np.ascontiguousarray(b)
            getrs(np.ascontiguousarray(lu), piv, x)
            b[:] = x
            return b

        return copy_impl

    def impl(lu, piv, b):
        n = lu.shape[0]
        iw = np.empty(n + 3, dtype=np.int32)    # ipiv, then n, nrhs, info
        for k in range(n):
            iw[k] = piv[k] + 1
        iw[n] = n
        iw[n + 1] = 1
        iw[n + 2] = 0
        nptr = _address(iw, n)
        fn(_trans_t(), nptr, _address(iw, n + 1), _address(lu, 0), nptr, _address(iw, 0),
           _address(b, 0), nptr, _address(iw, n + 2))
        return b

    return impl


@overload(getrs_row, jit_options=_JIT)
def _getrs_row_impl(lu, piv, b, row):
    fn = _solve_routine(lu, b, 2)
    if fn is None:
        return None
    if lu.layout != "C" or b.layout != "C":
        def copy_impl(lu, piv, b, row):     # as getrf's: correct, not reached by the drivers
            x = np.ascontiguousarray(b[row])
            getrs(np.ascontiguousarray(lu), piv, x)
            b[row, :] = x

        return copy_impl

    def impl(lu, piv, b, row):
        n = lu.shape[0]
        iw = np.empty(n + 3, dtype=np.int32)
        for k in range(n):
            iw[k] = piv[k] + 1
        iw[n] = n
        iw[n + 1] = 1
        iw[n + 2] = 0
        nptr = _address(iw, n)
        fn(_trans_t(), nptr, _address(iw, n + 1), _address(lu, 0), nptr, _address(iw, 0),
           _address(b, row * b.shape[1]), nptr, _address(iw, n + 2))

    return impl
