"""Sparse LU with threshold partial pivoting, for the iteration matrices of the stiff drivers
when a ``jac_sparsity`` is not a narrow band (issue #15).

Left-looking, column by column (Gilbert & Peierls, "Sparse partial pivoting in time proportional
to arithmetic operations", SIAM J. Sci. Stat. Comput. 9, 1988; the formulation of T. A. Davis,
"Direct Methods for Sparse Linear Systems", SIAM 2006, ch. 6, as in CSparse's ``cs_lu`` and
KLU): column k of L and U is the sparse triangular solve L x = A[:, q[k]], whose nonzero pattern
is found first as the reach of A[:, q[k]]'s rows in the graph of L (a depth-first search), so the
work is proportional to the arithmetic. The pivot is the diagonal entry A[q[k], q[k]] when it is
at least ``DIAGONAL_PIVOT_TOL`` times the largest candidate (an iteration matrix M - c J is
nearly always diagonally dominant, and keeping the diagonal keeps the fill of the symmetric
ordering), else the largest.

The column order ``q`` (fill-reducing) and the storage bound come from Python once per pattern
(fastode.ivp_jacobian.sparse_lu_plan); the kernels below are the numeric factorisation, run at
every change of the iteration matrix, and the solve. Works for float64 and complex128 values.

Storage (CSC, 0-based): A by ``Ap, Ai, Ax``; L unit lower triangular with its diagonal stored
first in each column (``Lp, Li, Lx``, row indices in pivot order once factored), U upper with its
diagonal stored last (``Up, Ui, Ux``); ``pinv[i]`` = the step at which row i was pivotal.
"""
import numpy as np
from numba import njit

# keep the diagonal pivot when |a_jj| >= this x the largest candidate of its column (KLU and
# UMFPACK's symmetric strategy use 1e-3; 0.1 bounds the growth per column at 10)
DIAGONAL_PIVOT_TOL = 0.1

SPARSE_LU_OUT_OF_SPACE = -1  # sparse_lu_factor: L or U outgrew Li/Lx or Ui/Ux
SPARSE_LU_REPIVOT = -2       # sparse_lu_refactor: a kept pivot became too small


@njit(cache=True, nogil=True, error_model="numpy")
def sparse_lu_workspace(n, capacity, like):
    """The arrays of :func:`sparse_lu_factor` for an n x n matrix with room for ``capacity``
    entries in each of L and U; values of the type of the array ``like`` (float64 or
    complex128).

    Returns (Lp, Li, Lx, Up, Ui, Ux, pinv, x, xi, mark)."""
    cap = max(capacity, n)
    return (np.zeros(n + 1, dtype=np.int64), np.zeros(cap, dtype=np.int64),
            np.zeros(cap, dtype=like.dtype), np.zeros(n + 1, dtype=np.int64),
            np.zeros(cap, dtype=np.int64), np.zeros(cap, dtype=like.dtype),
            np.zeros(n, dtype=np.int64), np.zeros(n, dtype=like.dtype),
            np.zeros(2 * n, dtype=np.int64), np.zeros(n, dtype=np.int64))


@njit(cache=True, nogil=True, error_model="numpy")
def sparse_lu_factor(Ap, Ai, Ax, q, Lp, Li, Lx, Up, Ui, Ux, pinv, x, xi, mark):
    """Factor P A Q = L U (``q`` the column order, P from the pivots, ``pinv``) into the given
    arrays. Returns 0; k + 1 when column k has no nonzero pivot candidate (singular); or
    SPARSE_LU_OUT_OF_SPACE when L or U needs more room than Li/Lx or Ui/Ux have (the caller
    enlarges them and calls again). ``x``, ``xi`` (2n), ``mark`` (n): scratch."""
    n = Ap.shape[0] - 1
    lcap = Li.shape[0]
    ucap = Ui.shape[0]
    for i in range(n):
        pinv[i] = -1
        mark[i] = -1
        x[i] = 0.0
    lnz = 0
    unz = 0
    for k in range(n):
        Lp[k] = lnz
        Up[k] = unz
        if lnz + (n - k) > lcap or unz + (k + 1) > ucap:
            # column k adds at most n - k entries to L and k + 1 to U
            return SPARSE_LU_OUT_OF_SPACE
        col = q[k]
        # ---- the reach of A[:, col] in the graph of L (Davis, cs_reach / cs_dfs) -----------
        top = n
        for pa in range(Ap[col], Ap[col + 1]):
            start = Ai[pa]
            if mark[start] == k:
                continue
            head = 0
            xi[0] = start
            while head >= 0:
                j = xi[head]
                jnew = pinv[j]
                if mark[j] != k:
                    mark[j] = k
                    xi[n + head] = Lp[jnew] + 1 if jnew >= 0 else 0
                done = True
                pend = Lp[jnew + 1] if jnew >= 0 else 0
                for p in range(xi[n + head], pend):
                    i = Li[p]
                    if mark[i] == k:
                        continue
                    xi[n + head] = p + 1
                    head += 1
                    xi[head] = i
                    done = False
                    break
                if done:
                    head -= 1
                    top -= 1
                    xi[top] = j
        # ---- x = L \ A[:, col] on that pattern, in topological order -----------------------
        for pa in range(Ap[col], Ap[col + 1]):
            x[Ai[pa]] = Ax[pa]
        for px in range(top, n):
            j = xi[px]
            jnew = pinv[j]
            if jnew < 0:
                continue
            xj = x[j]
            for p in range(Lp[jnew] + 1, Lp[jnew + 1]):
                x[Li[p]] -= Lx[p] * xj
        # ---- the pivot: the diagonal if large enough, else the largest ---------------------
        ipiv = -1
        amax = -1.0
        for px in range(top, n):
            i = xi[px]
            if pinv[i] < 0:
                a = abs(x[i])
                if a > amax:
                    amax = a
                    ipiv = i
            else:
                Ui[unz] = pinv[i]
                Ux[unz] = x[i]
                unz += 1
        if ipiv < 0 or amax <= 0.0:
            for px in range(top, n):
                x[xi[px]] = 0.0
            Lp[n] = lnz
            Up[n] = unz
            return k + 1
        if pinv[col] < 0 and mark[col] == k and abs(x[col]) >= DIAGONAL_PIVOT_TOL * amax:
            ipiv = col
        pivot = x[ipiv]
        Ui[unz] = k
        Ux[unz] = pivot
        unz += 1
        pinv[ipiv] = k
        Li[lnz] = ipiv
        Lx[lnz] = 1.0
        lnz += 1
        inv = 1.0 / pivot
        for px in range(top, n):
            i = xi[px]
            if pinv[i] < 0:
                Li[lnz] = i
                Lx[lnz] = x[i] * inv
                lnz += 1
            x[i] = 0.0
    Lp[n] = lnz
    Up[n] = unz
    for p in range(lnz):
        Li[p] = pinv[Li[p]]
    # U's columns in increasing row order (their diagonal last): the order in which
    # sparse_lu_refactor applies the columns of L
    for k in range(n):
        a = Up[k]
        b = Up[k + 1] - 1
        if b - a > 1:
            perm = np.argsort(Ui[a:b])
            rows_sorted = Ui[a:b][perm]
            values_sorted = Ux[a:b][perm]
            Ui[a:b] = rows_sorted
            Ux[a:b] = values_sorted
    return 0


@njit(cache=True, nogil=True, error_model="numpy")
def sparse_lu_refactor(Ap, Ai, Ax, q, Lp, Li, Lx, Up, Ui, Ux, pinv, x):
    """Factor A again with the pivots and the L, U patterns of the last :func:`sparse_lu_factor`
    (A's pattern unchanged: KLU's ``klu_refactor``): no search of the reach, no choice of pivot.
    Returns 0, or SPARSE_LU_REPIVOT when a kept pivot is below DIAGONAL_PIVOT_TOL times the
    largest entry of its L column or zero (the caller then calls sparse_lu_factor: the values
    have moved too far for the old pivots). ``x``: n scratch."""
    n = Ap.shape[0] - 1
    for i in range(n):
        x[i] = 0.0
    for k in range(n):
        col = q[k]
        for pa in range(Ap[col], Ap[col + 1]):
            x[pinv[Ai[pa]]] = Ax[pa]
        for p in range(Up[k], Up[k + 1] - 1):
            j = Ui[p]
            xj = x[j]
            Ux[p] = xj
            x[j] = 0.0
            if xj != 0.0:
                for pl in range(Lp[j] + 1, Lp[j + 1]):
                    x[Li[pl]] -= Lx[pl] * xj
        pivot = x[k]
        x[k] = 0.0
        Ux[Up[k + 1] - 1] = pivot
        amax = 0.0
        for pl in range(Lp[k] + 1, Lp[k + 1]):
            amax = max(amax, abs(x[Li[pl]]))
        if not (abs(pivot) >= DIAGONAL_PIVOT_TOL * amax and abs(pivot) > 0.0):
            return SPARSE_LU_REPIVOT
        inv = 1.0 / pivot
        for pl in range(Lp[k] + 1, Lp[k + 1]):
            i = Li[pl]
            Lx[pl] = x[i] * inv
            x[i] = 0.0
    return 0


@njit(cache=True, nogil=True, error_model="numpy")
def sparse_lu_solve(Lp, Li, Lx, Up, Ui, Ux, pinv, q, b, x):
    """Solve A y = b in place on ``b`` with the factors of :func:`sparse_lu_factor`
    (``x``: n scratch of b's type)."""
    n = b.shape[0]
    for i in range(n):
        x[pinv[i]] = b[i]
    for j in range(n):  # L: unit diagonal, stored first
        xj = x[j]
        if xj != 0.0:
            for p in range(Lp[j] + 1, Lp[j + 1]):
                x[Li[p]] -= Lx[p] * xj
    for j in range(n - 1, -1, -1):  # U: diagonal stored last
        xj = x[j] / Ux[Up[j + 1] - 1]
        x[j] = xj
        if xj != 0.0:
            for p in range(Up[j], Up[j + 1] - 1):
                x[Ui[p]] -= Ux[p] * xj
    for k in range(n):
        b[q[k]] = x[k]
    return b


@njit(cache=True, nogil=True, error_model="numpy")
def grow_factor_storage(Li, Lx, Ui, Ux):
    """Li, Lx, Ui, Ux with twice the room (contents not kept: the factorisation restarts)."""
    cap = 2 * Li.shape[0]
    return (np.empty(cap, dtype=Li.dtype), np.empty(cap, dtype=Lx.dtype),
            np.empty(cap, dtype=Ui.dtype), np.empty(cap, dtype=Ux.dtype))
