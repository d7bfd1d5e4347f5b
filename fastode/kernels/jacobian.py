"""Jacobians for the implicit kernels: finite differences (dense, or column-grouped from a
sparsity pattern or a band) and user Jacobians reached through a C function address.

A user Jacobian has the RHS's C signature ``void jac(double t, const double *y, const double *p,
double *out)`` and writes the n x n matrix df/dy into ``out`` row-major (fastode.ivp_implicit
compiles ``jac(t, y, *args) -> (n, n)`` or a constant matrix into one).

Finite differences (used by the Rosenbrock drivers; Radau, BDF and the ESDIRK methods use
scipy's num_jac, fastode.kernels.newton) are forward differences with Hairer's increment (RADAU5,
RODAS) ``sqrt(eps * max(1e-5, |y_j|))``, capped at ``FD_REL_MAX * max(atol_j, |y_j|)``
(:func:`fd_increment_scaled`), rounded so that ``y_j + delta_j`` is exact. The cap: a Rosenbrock
step uses J in its formula, so J's error goes into the solution, unseen by the embedded
estimate (made with the same J). Hairer's increment alone is ~5e-11 for any |y_j| < 1e-5; on
Robertson to t = 1e11 (y2 ~ 1e-11..3e-13 there) it was up to ~180x y2 itself, the 3e7 y2^2 term
put an O(1) error on d(y3')/dy2 (the slow mode), and at rtol 1e-6, atol 1e-10 Rodas4 ended 74x
the tolerance off in y1 (tests/test_robertson_long.py). Smaller caps lose J to round-off where
f_i cancels O(1) terms, as the algebraic row y1 + y2 + y3 - 1 of the Robertson DAE while y3 ~ 0
(cap 1e-4: Rodas4 and Rodas5P rejected 13 and 18 steps there instead of 2 and 5; 3e-5: Rodas4
and Rosenbrock23 failed), so 1e-3; where Hairer's increment is below the cap
nothing changes (HIRES, Van der Pol, Oregonator, Brusselator: the same steps, or within 0.3% at
rtol 1e-9). With a
sparsity pattern, columns that share no row are perturbed together (Curtis, Powell & Reid,
"On the estimation of sparse Jacobian matrices", J. Inst. Maths Applics 13, 1974): a Jacobian
costs one RHS call per group instead of one per column; a band of lband + uband + 1 diagonals
needs lband + uband + 1 groups whatever n is. The grouping is computed once in Python
(:func:`cpr_groups`) and reaches the kernels as plain int arrays.

Jacobian modes: the ``use_jac`` argument of the structured implicit drivers (see
fastode.ivp_implicit).
"""
import math

import numpy as np
from numba import njit

from .callbacks import call_rhs

JAC_FD = 0          # dense forward differences, n RHS calls
JAC_USER = 1        # call the user Jacobian at every evaluation
JAC_CONSTANT = 2    # the user Jacobian is constant: evaluate it once per solve
JAC_FD_GROUPED = 3  # forward differences with column groups (jac_sparsity, lband/uband)

from .status import NEWTON_FAILED, SINGULAR  # noqa: F401  (re-exported for the drivers)

EPS = np.finfo(np.float64).eps


@njit(cache=True, nogil=True, inline="always")
def fd_increment(yj):
    """Hairer's increment sqrt(eps max(1e-5, |y_j|)) (at least 2 ulp of y_j), rounded so that
    y_j + delta is exact."""
    delta = max(math.sqrt(EPS * max(1e-5, abs(yj))), 2.0 * EPS * abs(yj))
    return (yj + delta) - yj


FD_REL_MAX = 1e-3  # largest increment of fd_increment_scaled, relative to max(atol_j, |y_j|)


@njit(cache=True, nogil=True, inline="always")
def fd_increment_scaled(yj, atol_j):
    """Hairer's increment, at most FD_REL_MAX max(atol_j, |y_j|) (where that is > 0), rounded so
    that y_j + delta is exact: the increment of the Rosenbrock drivers' Jacobians."""
    delta = max(math.sqrt(EPS * max(1e-5, abs(yj))), 2.0 * EPS * abs(yj))
    cap = FD_REL_MAX * max(atol_j, abs(yj))
    if 0.0 < cap < delta:
        delta = cap
    return (yj + delta) - yj


@njit(cache=True, nogil=True, inline="always")
def fd_jacobian_dense(rhs, p, t, y, f0, atol, J, ytmp, ftmp):
    """J = df/dy at (t, y) by forward differences (f0 = f(t, y)) with the increments of
    :func:`fd_increment_scaled`; returns the RHS calls (n)."""
    n = y.shape[0]
    for i in range(n):
        ytmp[i] = y[i]
    for j in range(n):
        yj = y[j]
        delta = fd_increment_scaled(yj, atol[j])
        ytmp[j] = yj + delta
        call_rhs(rhs, t, ytmp, p, ftmp)
        ytmp[j] = yj
        inv = 1.0 / delta
        for i in range(n):
            J[i, j] = (ftmp[i] - f0[i]) * inv
    return n


@njit(cache=True, nogil=True, inline="always")
def fd_jacobian_grouped(rhs, p, t, y, f0, atol, J, group_ptr, group_cols, col_ptr, rows, ytmp,
                        ftmp, deltas):
    """Column-grouped forward differences: the columns ``group_cols[group_ptr[g]:group_ptr[g+1]]``
    share no row and are perturbed together; column j has its nonzeros in the rows
    ``rows[col_ptr[j]:col_ptr[j+1]]``. Entries of J outside the pattern are left untouched
    (the caller zeroes J once). Returns the RHS calls (the number of groups)."""
    n = y.shape[0]
    n_groups = group_ptr.shape[0] - 1
    for i in range(n):
        ytmp[i] = y[i]
    for g in range(n_groups):
        for k in range(group_ptr[g], group_ptr[g + 1]):
            j = group_cols[k]
            delta = fd_increment_scaled(y[j], atol[j])
            ytmp[j] = y[j] + delta
            deltas[j] = delta
        call_rhs(rhs, t, ytmp, p, ftmp)
        for k in range(group_ptr[g], group_ptr[g + 1]):
            j = group_cols[k]
            ytmp[j] = y[j]
            inv = 1.0 / deltas[j]
            for r in range(col_ptr[j], col_ptr[j + 1]):
                i = rows[r]
                J[i, j] = (ftmp[i] - f0[i]) * inv
    return n_groups


@njit(cache=True, nogil=True, inline="always")
def evaluate_jacobian(mode, rhs, jac, p, t, y, f0, atol, J, group_ptr, group_cols, col_ptr,
                      rows, ytmp, ftmp, deltas):
    """J = df/dy at (t, y) in the given mode; returns the RHS calls it made.

    ``JAC_CONSTANT`` evaluates like ``JAC_USER``: the driver decides to call it only once.
    """
    if mode == JAC_USER or mode == JAC_CONSTANT:
        call_rhs(jac, t, y, p, J)
        return 0
    if mode == JAC_FD_GROUPED:
        return fd_jacobian_grouped(rhs, p, t, y, f0, atol, J, group_ptr, group_cols, col_ptr,
                                   rows, ytmp, ftmp, deltas)
    return fd_jacobian_dense(rhs, p, t, y, f0, atol, J, ytmp, ftmp)


@njit(cache=True, nogil=True, inline="always")
def fd_time_derivative(rhs, p, t, y, f0, ft, ftmp):
    """ft = df/dt at (t, y) by a forward difference (one RHS call)."""
    n = y.shape[0]
    delta = fd_increment(t)
    call_rhs(rhs, t + delta, y, p, ftmp)
    inv = 1.0 / delta
    for i in range(n):
        ft[i] = (ftmp[i] - f0[i]) * inv
    return 1


# ---- Python side: the column grouping (numpy only) ------------------------------------------

def cpr_groups(col_rows, n):
    """Curtis-Powell-Reid greedy grouping of n columns whose nonzero rows are ``col_rows[j]``
    (sorted int arrays, the diagonal included: the implicit methods need it in M/(h gamma) - J).

    Returns (group_ptr, group_cols, col_ptr, rows), int64 arrays: group g holds the columns
    ``group_cols[group_ptr[g]:group_ptr[g + 1]]`` (no two share a row); column j has its
    nonzeros in ``rows[col_ptr[j]:col_ptr[j + 1]]``.
    """
    group_of = np.empty(n, dtype=np.int64)
    used_rows = []  # per group: boolean mask of the rows its columns touch
    for j in range(n):
        r = col_rows[j]
        for g, mask in enumerate(used_rows):
            if not mask[r].any():
                mask[r] = True
                group_of[j] = g
                break
        else:
            mask = np.zeros(n, dtype=bool)
            mask[r] = True
            used_rows.append(mask)
            group_of[j] = len(used_rows) - 1
    order = np.argsort(group_of, kind="stable")
    counts = np.bincount(group_of, minlength=len(used_rows))
    group_ptr = np.zeros(len(used_rows) + 1, dtype=np.int64)
    group_ptr[1:] = np.cumsum(counts)
    col_ptr = np.zeros(n + 1, dtype=np.int64)
    col_ptr[1:] = np.cumsum([r.size for r in col_rows])
    rows = np.concatenate(col_rows).astype(np.int64)
    return group_ptr, order.astype(np.int64), col_ptr, rows


def pattern_columns(pattern):
    """Nonzero rows of each column of a dense or scipy.sparse (n, n) pattern, diagonal added."""
    n = pattern.shape[0]
    if hasattr(pattern, "tocsc"):
        csc = pattern.tocsc()
        csc.sum_duplicates()
        cols = []
        for j in range(n):
            lo, hi = csc.indptr[j], csc.indptr[j + 1]
            r = csc.indices[lo:hi][csc.data[lo:hi] != 0]
            cols.append(np.union1d(r, [j]).astype(np.int64))
        return cols
    dense = np.asarray(pattern) != 0
    return [np.union1d(np.flatnonzero(dense[:, j]), [j]).astype(np.int64) for j in range(n)]


def band_columns(n, lband, uband):
    """Nonzero rows of each column of a band matrix (J[i, j] != 0 only for
    -uband <= i - j <= lband)."""
    return [np.arange(max(0, j - uband), min(n, j + lband + 1), dtype=np.int64) for j in range(n)]


# ---- banded storage (fastode.kernels.linalg.band_lu_factor) ---------------------------------

@njit(cache=True, nogil=True, inline="always")
def fd_jacobian_banded(rhs, p, t, y, f0, atol, Jb, ku, group_ptr, group_cols, col_ptr, rows,
                       ytmp, ftmp, deltas):
    """:func:`fd_jacobian_grouped` storing J[i, j] into the band array ``Jb[ku + i - j, j]``
    (shape (kl + ku + 1, n), LAPACK gbmv layout); the pattern must lie inside the band.
    Entries outside the pattern are left untouched (the caller zeroes Jb once)."""
    n = y.shape[0]
    n_groups = group_ptr.shape[0] - 1
    for i in range(n):
        ytmp[i] = y[i]
    for g in range(n_groups):
        for k in range(group_ptr[g], group_ptr[g + 1]):
            j = group_cols[k]
            delta = fd_increment_scaled(y[j], atol[j])
            ytmp[j] = y[j] + delta
            deltas[j] = delta
        call_rhs(rhs, t, ytmp, p, ftmp)
        for k in range(group_ptr[g], group_ptr[g + 1]):
            j = group_cols[k]
            ytmp[j] = y[j]
            inv = 1.0 / deltas[j]
            for r in range(col_ptr[j], col_ptr[j + 1]):
                i = rows[r]
                Jb[ku + i - j, j] = (ftmp[i] - f0[i]) * inv
    return n_groups


def band_groups(n, lband, uband):
    """:func:`cpr_groups` of :func:`band_columns` (the same arrays), built directly: group g
    holds the columns j = g mod (lband + uband + 1)."""
    w = min(lband + uband + 1, n)
    group_cols = np.concatenate([np.arange(g, n, w, dtype=np.int64) for g in range(w)])
    group_ptr = np.zeros(w + 1, dtype=np.int64)
    group_ptr[1:] = np.cumsum([len(range(g, n, w)) for g in range(w)])
    j = np.arange(n, dtype=np.int64)
    lo = np.maximum(0, j - uband)
    hi = np.minimum(n, j + lband + 1)
    col_ptr = np.zeros(n + 1, dtype=np.int64)
    col_ptr[1:] = np.cumsum(hi - lo)
    rows = (np.arange(col_ptr[-1], dtype=np.int64) - np.repeat(col_ptr[:-1], hi - lo)
            + np.repeat(lo, hi - lo))
    return group_ptr, group_cols, col_ptr, rows


def pattern_bandwidth(pattern):
    """(lband, uband) of a dense or scipy.sparse square pattern (the diagonal counts)."""
    if hasattr(pattern, "tocoo"):
        coo = pattern.tocoo()
        mask = coo.data != 0
        r, c = coo.row[mask], coo.col[mask]
    else:
        r, c = np.nonzero(np.asarray(pattern))
    if r.size == 0:
        return 0, 0
    d = r.astype(np.int64) - c.astype(np.int64)
    return max(int(d.max()), 0), max(int(-d.min()), 0)
