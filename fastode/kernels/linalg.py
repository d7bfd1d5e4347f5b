"""Dense LU with partial pivoting, real and complex (for the implicit methods), in place.

For the small systems fastode targets, an inlined unblocked LU beats a LAPACK call (no call
overhead, no copies). Conventions as LAPACK's getrf/getrs: ``piv[k]`` is the row swapped with
row k at step k. From ``LAPACK_MIN_N`` unknowns up (the measured crossover), ``lu_factor`` /
``lu_solve`` / ``lu_solve_row`` call LAPACK instead (fastode.kernels.lapack), which stores the
factors in its own (transposed) layout: a factorisation must be solved with these functions only,
and the decision, by ``n``, is the same in all of them.
"""
from numba import njit

from .lapack import LAPACK_MIN_N, getrf, getrs, getrs_row


@njit(cache=True, nogil=True)
def lu_factor(a, piv):
    """Factor the square C-contiguous ``a`` in place into L (unit, below) and U.

    Returns 0, or k + 1 when the pivot of column k is exactly zero (singular matrix).
    Works for float64 and complex128 arrays. From ``LAPACK_MIN_N`` rows up LAPACK factors it
    (its own layout of the factors; see the module docstring).
    """
    n = a.shape[0]
    if n >= LAPACK_MIN_N:
        # large: LAPACK's blocked LU (fastode.kernels.lapack; transposed factors)
        info = getrf(a, piv)
    else:
        info = 0
        for k in range(n):
            # pivot: largest modulus in column k at or below the diagonal
            p = k
            best = abs(a[k, k])
            for i in range(k + 1, n):
                v = abs(a[i, k])
                if v > best:
                    best = v
                    p = i
            piv[k] = p
            if best == 0.0:
                if info == 0:
                    info = k + 1
                continue
            if p != k:
                for j in range(n):
                    tmp = a[k, j]
                    a[k, j] = a[p, j]
                    a[p, j] = tmp
            inv = 1.0 / a[k, k]
            for i in range(k + 1, n):
                a[i, k] *= inv
                f = a[i, k]
                if f != 0.0:
                    for j in range(k + 1, n):
                        a[i, j] -= f * a[k, j]
    return info


@njit(cache=True, nogil=True)
def lu_solve(lu, piv, b):
    """Solve (P L U) x = b in place on ``b`` with the factors of :func:`lu_factor`."""
    n = lu.shape[0]
    if n >= LAPACK_MIN_N:
        getrs(lu, piv, b)
    else:
        for k in range(n):
            p = piv[k]
            if p != k:
                tmp = b[k]
                b[k] = b[p]
                b[p] = tmp
        for i in range(n):
            acc = b[i]
            for j in range(i):
                acc -= lu[i, j] * b[j]
            b[i] = acc
        for i in range(n - 1, -1, -1):
            acc = b[i]
            for j in range(i + 1, n):
                acc -= lu[i, j] * b[j]
            b[i] = acc / lu[i, i]
    return b


@njit(cache=True, nogil=True, inline="always")
def lu_solve_row(lu, piv, b, row):
    """Solve (P L U) x = b[row] in place on one row of the C-contiguous 2-D ``b`` (no view:
    the implicit kernels keep their stages as rows of one array)."""
    n = lu.shape[0]
    if n >= LAPACK_MIN_N:
        getrs_row(lu, piv, b, row)
    else:
        for k in range(n):
            p = piv[k]
            if p != k:
                tmp = b[row, k]
                b[row, k] = b[row, p]
                b[row, p] = tmp
        for i in range(n):
            acc = b[row, i]
            for j in range(i):
                acc -= lu[i, j] * b[row, j]
            b[row, i] = acc
        for i in range(n - 1, -1, -1):
            acc = b[row, i]
            for j in range(i + 1, n):
                acc -= lu[i, j] * b[row, j]
            b[row, i] = acc / lu[i, i]


# ---- banded LU (LAPACK gbtrf/gbtrs layout) ----------------------------------------------------
#
# A band matrix with ``kl`` sub- and ``ku`` super-diagonals is stored in ``ab`` of shape
# (2 kl + ku + 1, n): A[i, j] lives in ab[kl + ku + i - j, j] (rows kl .. 2 kl + ku); the top
# kl rows are workspace for the fill-in of partial pivoting (U gets kl + ku super-diagonals).
# The functions index ab[i, j] only, so ab may be C- or F-ordered; the implicit drivers use an
# F-ordered array (each column contiguous, as in LAPACK). These are unblocked ports of
# LAPACK's dgbtf2 / dgbtrs and work for float64 and complex128 arrays.

def band_storage(a, kl, ku):
    """The LAPACK gbtrf storage (2 kl + ku + 1, n) of a dense square matrix (numpy, for tests
    and setup): entries outside the band are dropped."""
    import numpy as np
    n = a.shape[0]
    ab = np.zeros((2 * kl + ku + 1, n), dtype=a.dtype)
    for j in range(n):
        for i in range(max(0, j - ku), min(n, j + kl + 1)):
            ab[kl + ku + i - j, j] = a[i, j]
    return ab


@njit(cache=True, nogil=True, inline="always")
def band_lu_factor(ab, kl, ku, piv):
    """Factor the band matrix in ``ab`` (LAPACK gbtrf layout, see above) in place with partial
    pivoting. ``piv[j]`` is the row swapped with row j at step j.

    Returns 0, or j + 1 when the pivot of column j is exactly zero (singular matrix)."""
    n = ab.shape[1]
    kv = ku + kl
    info = 0
    # zero the fill-in workspace of columns ku+1 .. kv-1 (later columns: inside the loop)
    for j in range(ku + 1, min(kv, n)):
        for i in range(kv - j, kl):
            ab[i, j] = 0.0
    ju = 0
    for j in range(n):
        if j + kv < n:
            for i in range(kl):
                ab[i, j + kv] = 0.0
        km = min(kl, n - 1 - j)
        jp = 0
        best = abs(ab[kv, j])
        for i in range(1, km + 1):
            v = abs(ab[kv + i, j])
            if v > best:
                best = v
                jp = i
        piv[j] = j + jp
        if best == 0.0:
            if info == 0:
                info = j + 1
            continue
        ju = max(ju, min(j + ku + jp, n - 1))
        if jp != 0:
            for k in range(ju - j + 1):
                tmp = ab[kv + jp - k, j + k]
                ab[kv + jp - k, j + k] = ab[kv - k, j + k]
                ab[kv - k, j + k] = tmp
        if km > 0:
            inv = 1.0 / ab[kv, j]
            for i in range(1, km + 1):
                ab[kv + i, j] *= inv
            for k in range(1, ju - j + 1):
                u = ab[kv - k, j + k]
                if u != 0.0:
                    for i in range(1, km + 1):
                        ab[kv + i - k, j + k] -= ab[kv + i, j] * u
    return info


@njit(cache=True, nogil=True, inline="always")
def band_lu_solve_row(ab, kl, ku, piv, b, row):
    """Solve A x = b[row] in place on one row of the 2-D ``b`` with the factors of
    :func:`band_lu_factor` (no view, as :func:`lu_solve_row`)."""
    n = ab.shape[1]
    kv = ku + kl
    if kl > 0:
        for j in range(n - 1):
            lm = min(kl, n - 1 - j)
            l = piv[j]
            if l != j:
                tmp = b[row, l]
                b[row, l] = b[row, j]
                b[row, j] = tmp
            bj = b[row, j]
            if bj != 0.0:
                for i in range(1, lm + 1):
                    b[row, j + i] -= ab[kv + i, j] * bj
    # back substitution row by row; dividing by the pivot (not multiplying by its reciprocal,
    # measured 2x faster for narrow bands) keeps the results bit-identical to the dense LU's
    for i in range(n - 1, -1, -1):
        acc = b[row, i]
        for j in range(i + 1, min(n, i + kv + 1)):
            acc -= ab[kv + i - j, j] * b[row, j]
        b[row, i] = acc / ab[kv, i]


@njit(cache=True, nogil=True)
def band_lu_solve(ab, kl, ku, piv, b):
    """Solve A x = b in place on the 1-D ``b`` with the factors of :func:`band_lu_factor`."""
    n = ab.shape[1]
    kv = ku + kl
    if kl > 0:
        for j in range(n - 1):
            lm = min(kl, n - 1 - j)
            l = piv[j]
            if l != j:
                tmp = b[l]
                b[l] = b[j]
                b[j] = tmp
            bj = b[j]
            if bj != 0.0:
                for i in range(1, lm + 1):
                    b[j + i] -= ab[kv + i, j] * bj
    # back substitution row by row (division, as the dense LU: bit-identical results)
    for i in range(n - 1, -1, -1):
        acc = b[i]
        for j in range(i + 1, min(n, i + kv + 1)):
            acc -= ab[kv + i - j, j] * b[j]
        b[i] = acc / ab[kv, i]
    return b


@njit(cache=True, nogil=True)
def band_lu_factor_nb(ab, kl, ku, piv):
    """:func:`band_lu_factor` as a standalone (not inlined) function, for callers outside a
    driver (tests, Python)."""
    return band_lu_factor(ab, kl, ku, piv)
