"""Small in-place dense LU with partial pivoting, real and complex (for the implicit methods).

For the small systems fastode targets, an inlined LU beats a LAPACK call (no call overhead, no
copies). Conventions as LAPACK's getrf/getrs: ``piv[k]`` is the row swapped with row k at step k.
"""
from numba import njit


@njit(cache=True, nogil=True)
def lu_factor(a, piv):
    """Factor the square C-contiguous ``a`` in place into L (unit, below) and U.

    Returns 0, or k + 1 when the pivot of column k is exactly zero (singular matrix).
    Works for float64 and complex128 arrays.
    """
    n = a.shape[0]
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
