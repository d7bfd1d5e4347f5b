"""Jacobians of the implicit kernels, in one place: finite differences (dense, column-grouped
from a sparsity pattern, or banded) in both increment schemes, the user Jacobian reached
through a C function address, and :func:`evaluate_jacobian`, the one dispatch by mode that
every implicit driver calls.

A user Jacobian has the RHS's C signature ``void jac(double t, const double *y, const double *p,
double *out)`` and writes the n x n matrix df/dy into ``out`` row-major (fastode.ivp_implicit
compiles ``jac(t, y, *args) -> (n, n)`` or a constant matrix into one).

Two increment schemes (``scheme`` of :func:`evaluate_jacobian`), each dense or grouped:

* ``FD_SCALED`` (the Rosenbrock drivers and the switching legs: :func:`fd_jacobian_dense`,
  :func:`fd_jacobian_grouped`): forward differences with Hairer's increment (RADAU5, RODAS)
  ``sqrt(eps * max(1e-5, |y_j|))``, capped at ``FD_REL_MAX * max(atol_j, |y_j|)``
  (:func:`fd_increment_scaled`), rounded so that ``y_j + delta_j`` is exact. The cap: a
  Rosenbrock step uses J in its formula, so J's error goes into the solution, unseen by the
  embedded estimate (made with the same J). Hairer's increment alone is ~5e-11 for any
  |y_j| < 1e-5; on Robertson to t = 1e11 (y2 ~ 1e-11..3e-13 there) it was up to ~180x y2
  itself, the 3e7 y2^2 term put an O(1) error on d(y3')/dy2 (the slow mode), and at rtol 1e-6,
  atol 1e-10 Rodas4 ended 74x the tolerance off in y1 (tests/test_robertson_long.py). Smaller
  caps lose J to round-off where f_i cancels O(1) terms, as the algebraic row y1 + y2 + y3 - 1
  of the Robertson DAE while y3 ~ 0 (cap 1e-4: Rodas4 and Rodas5P rejected 13 and 18 steps
  there instead of 2 and 5; 3e-5: Rodas4 and Rosenbrock23 failed), so 1e-3; where Hairer's
  increment is below the cap nothing changes (HIRES, Van der Pol, Oregonator, Brusselator: the
  same steps, or within 0.3% at rtol 1e-9).
* ``FD_NUM_JAC`` / ``FD_NUM_JAC_BDF`` (Radau and ESDIRK / BDF: :func:`num_jac_dense`,
  :func:`num_jac_grouped`): scipy's ``num_jac`` (scipy.integrate._ivp.common), relative
  increments ``factor`` carried from call to call and adapted, a column whose difference
  drowned in round-off retried with a 10x larger increment, so the steps match scipy's
  solvers. The two differ only in the scale of an all-zero column of a grouped Jacobian:
  ``|f0[0]|`` (Radau, ESDIRK) or ``max(|f0[0]|, |f(y + h)[0]|)`` (BDF, as scipy's
  ``_sparse_num_jac``); both are kept so that every driver's results stay as they were.

With a sparsity pattern, columns that share no row are perturbed together (Curtis, Powell &
Reid, "On the estimation of sparse Jacobian matrices", J. Inst. Maths Applics 13, 1974): a
Jacobian costs one RHS call per group instead of one per column; a band of lband + uband + 1
diagonals needs lband + uband + 1 groups whatever n is. The grouping is computed once in Python
(:func:`cpr_groups`, :func:`band_groups`) and reaches the kernels as plain int arrays
``group_ptr, group_cols, col_ptr, rows``. A grouped Jacobian goes into the dense J
(``storage`` STORE_DENSE), into the band array ``J[ku + i - j, j]`` (STORE_BAND, shape
(kl + ku + 1, n), LAPACK gbmv layout; the pattern must lie inside the band) or, for the sparse
direct path, into the CSC values of the pattern (STORE_SPARSE, J (1, nnz)); entries outside
the pattern are left untouched (the caller zeroes J once).

Calling convention of the finite-difference kernels (all ``inline="always"``; each returns the
RHS calls it made)::

    fd_jacobian_dense  (rhs, p, t, y, f0, atol, J,                    ytmp, fbuf)
    fd_jacobian_grouped(rhs, p, t, y, f0, atol, J, storage, ku, group_ptr, group_cols, col_ptr,
                        rows,                    hvec,          ytmp, fbuf)
    num_jac_dense      (rhs, p, t, y, f0, atol, J,            factor, hvec, yscale, ytmp, fbuf)
    num_jac_grouped    (rhs, p, t, y, f0, atol, J, storage, ku, group_ptr, group_cols, col_ptr,
                        rows, factor, hvec, yscale, ytmp, fbuf, cmax, cscale, scipy_zero_column)

``f0`` = f(t, y); ``ytmp``, ``fbuf``, ``hvec`` (the increments), ``yscale``, ``cmax``,
``cscale``: (n,) scratch; ``factor`` (n,): num_jac's relative increments (start at sqrt(eps)),
updated. Only the order of operations each driver had before is used: the results are the
same bit for bit (bench/result_hashes.py).

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

# increment schemes of the finite differences (see the module docstring)
FD_SCALED = 0       # Hairer's increment capped by atol_j and |y_j| (Rosenbrock, switching)
FD_NUM_JAC = 1      # scipy's num_jac; an all-zero grouped column scaled by |f0[0]| (Radau, ESDIRK)
FD_NUM_JAC_BDF = 2  # scipy's num_jac; that column scaled as scipy's _sparse_num_jac (BDF)

# where a grouped Jacobian is stored (``storage`` of the grouped kernels)
STORE_DENSE = 0     # J[i, j], J (n, n)
STORE_BAND = 1      # J[ku + i - j, j], J (kl + ku + 1, n) (LAPACK gbmv layout)
STORE_SPARSE = 2    # J[0, r] for the r-th pattern entry (rows[r], column j), J (1, nnz): CSC values
# kl of the driver contract that asks for the sparse direct (fastode.kernels.sparse_lu) path,
# and for the Newton-Krylov one (fastode.kernels.krylov); both store J as STORE_SPARSE
KL_SPARSE = -2
KL_KRYLOV = -3

from .status import NEWTON_FAILED, SINGULAR  # noqa: F401,E402  (re-exported for the drivers)

EPS = np.finfo(np.float64).eps

# scipy.integrate._ivp.common.num_jac's constants
NUM_JAC_DIFF_REJECT = EPS ** 0.875
NUM_JAC_DIFF_SMALL = EPS ** 0.75
NUM_JAC_DIFF_BIG = EPS ** 0.25
NUM_JAC_MIN_FACTOR = 1e3 * EPS
NUM_JAC_FACTOR_INCREASE = 10.0
NUM_JAC_FACTOR_DECREASE = 0.1


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


# ---- FD_SCALED: forward differences with fd_increment_scaled ---------------------------------

@njit(cache=True, nogil=True, inline="always")
def fd_jacobian_dense(rhs, p, t, y, f0, atol, J, ytmp, fbuf):
    """J = df/dy at (t, y) by forward differences (f0 = f(t, y)) with the increments of
    :func:`fd_increment_scaled`; returns the RHS calls (n)."""
    n = y.shape[0]
    for i in range(n):
        ytmp[i] = y[i]
    for j in range(n):
        yj = y[j]
        delta = fd_increment_scaled(yj, atol[j])
        ytmp[j] = yj + delta
        call_rhs(rhs, t, ytmp, p, fbuf)
        ytmp[j] = yj
        inv = 1.0 / delta
        for i in range(n):
            J[i, j] = (fbuf[i] - f0[i]) * inv
    return n


@njit(cache=True, nogil=True, inline="always")
def fd_jacobian_grouped(rhs, p, t, y, f0, atol, J, storage, ku, group_ptr, group_cols, col_ptr,
                        rows, hvec, ytmp, fbuf):
    """:func:`fd_jacobian_dense` by column groups: the columns
    ``group_cols[group_ptr[g]:group_ptr[g+1]]`` share no row and are perturbed together; column
    j has its nonzeros in the rows ``rows[col_ptr[j]:col_ptr[j+1]]``, stored to ``J[i, j]``
    (STORE_DENSE), ``J[ku + i - j, j]`` (STORE_BAND) or ``J[0, r]`` (STORE_SPARSE, r the
    entry's index in ``rows``: CSC values). ``hvec`` receives the
    increments. Returns the RHS calls (the number of groups)."""
    n = y.shape[0]
    n_groups = group_ptr.shape[0] - 1
    for i in range(n):
        ytmp[i] = y[i]
    for g in range(n_groups):
        for k in range(group_ptr[g], group_ptr[g + 1]):
            j = group_cols[k]
            delta = fd_increment_scaled(y[j], atol[j])
            ytmp[j] = y[j] + delta
            hvec[j] = delta
        call_rhs(rhs, t, ytmp, p, fbuf)
        for k in range(group_ptr[g], group_ptr[g + 1]):
            j = group_cols[k]
            ytmp[j] = y[j]
            inv = 1.0 / hvec[j]
            for r in range(col_ptr[j], col_ptr[j + 1]):
                i = rows[r]
                if storage == STORE_BAND:
                    J[ku + i - j, j] = (fbuf[i] - f0[i]) * inv
                elif storage == STORE_SPARSE:
                    J[0, r] = (fbuf[i] - f0[i]) * inv
                else:
                    J[i, j] = (fbuf[i] - f0[i]) * inv
    return n_groups


@njit(cache=True, nogil=True, inline="always")
def fd_time_derivative(rhs, p, t, y, f0, ft, fbuf):
    """ft = df/dt at (t, y) by a forward difference (one RHS call)."""
    n = y.shape[0]
    delta = fd_increment(t)
    call_rhs(rhs, t + delta, y, p, fbuf)
    inv = 1.0 / delta
    for i in range(n):
        ft[i] = (fbuf[i] - f0[i]) * inv
    return 1


# ---- FD_NUM_JAC: scipy's num_jac ---------------------------------------------------------------

@njit(cache=True, nogil=True, inline="always")
def num_jac_dense(rhs, p, t, y, f0, atol, J, factor, hvec, yscale, ytmp, fbuf):
    """J[i, j] ~ d f_i / d y_j by forward differences (scipy's ``num_jac``, dense): n RHS
    calls, plus one more for each column whose difference drowned in round-off.

    ``f0`` = f(t, y); ``atol`` is num_jac's threshold; ``factor`` (n,) carries the relative
    increments from call to call (start with sqrt(eps)) and is updated. Returns the number of
    RHS calls.
    """
    n = y.shape[0]
    nfev = 0
    for i in range(n):
        sign = 1.0 if f0[i] >= 0.0 else -1.0
        yscale[i] = sign * max(atol[i], abs(y[i]))
        hi = (y[i] + factor[i] * yscale[i]) - y[i]
        while hi == 0.0:
            factor[i] *= 10.0
            hi = (y[i] + factor[i] * yscale[i]) - y[i]
        hvec[i] = hi
        ytmp[i] = y[i]
    for j in range(n):
        ytmp[j] = y[j] + hvec[j]
        call_rhs(rhs, t, ytmp, p, fbuf)
        nfev += 1
        best = -1.0
        bi = 0
        for i in range(n):
            d = fbuf[i] - f0[i]
            J[i, j] = d
            if abs(d) > best:
                best = abs(d)
                bi = i
        max_diff = best
        scale = max(abs(f0[bi]), abs(fbuf[bi]))
        if max_diff < NUM_JAC_DIFF_REJECT * scale:
            # the difference is lost in round-off: try a 10x larger increment
            new_factor = NUM_JAC_FACTOR_INCREASE * factor[j]
            h_new = (y[j] + new_factor * yscale[j]) - y[j]
            ytmp[j] = y[j] + h_new
            call_rhs(rhs, t, ytmp, p, fbuf)
            nfev += 1
            best2 = -1.0
            bi2 = 0
            for i in range(n):
                d = abs(fbuf[i] - f0[i])
                if d > best2:
                    best2 = d
                    bi2 = i
            scale_new = max(abs(f0[bi2]), abs(fbuf[bi2]))
            if max_diff * scale_new < best2 * scale:
                factor[j] = new_factor
                hvec[j] = h_new
                for i in range(n):
                    J[i, j] = fbuf[i] - f0[i]
                scale = scale_new
                max_diff = best2
        ytmp[j] = y[j]
        hj = hvec[j]
        for i in range(n):
            J[i, j] /= hj
        if max_diff < NUM_JAC_DIFF_SMALL * scale:
            factor[j] *= NUM_JAC_FACTOR_INCREASE
        elif max_diff > NUM_JAC_DIFF_BIG * scale:
            factor[j] *= NUM_JAC_FACTOR_DECREASE
        if factor[j] < NUM_JAC_MIN_FACTOR:
            factor[j] = NUM_JAC_MIN_FACTOR
    return nfev


@njit(cache=True, nogil=True, inline="always")
def num_jac_grouped(rhs, p, t, y, f0, atol, J, storage, ku, group_ptr, group_cols, col_ptr, rows,
                    factor, hvec, yscale, ytmp, fbuf, cmax, cscale, scipy_zero_column):
    """:func:`num_jac_dense` by column groups, as scipy's ``_sparse_num_jac``: the columns of a
    group share no row and are perturbed together, one RHS call per group, plus one per group
    holding a column whose difference drowned in round-off (retried with a 10x larger
    increment, kept if better, as scipy). Storage of J as :func:`fd_jacobian_grouped`.

    ``cmax``, ``cscale`` (n,) scratch: the largest |f(y + h_j e_j) - f0| of column j and its
    scale. A column with no change at all takes row 0 for its scale, as the dense loop:
    ``max(|f0[0]|, |f(y + h)[0]|)`` when ``scipy_zero_column`` (BDF), else ``|f0[0]|`` (Radau,
    ESDIRK). When f has the given pattern, each f_i sees the perturbation of one column only:
    the entries, and the updates of ``factor``, are :func:`num_jac_dense`'s numbers, so the
    banded and dense drivers take the same steps. Returns the number of RHS calls.
    """
    n = y.shape[0]
    n_groups = group_ptr.shape[0] - 1
    nfev = 0
    for i in range(n):
        sign = 1.0 if f0[i] >= 0.0 else -1.0
        yscale[i] = sign * max(atol[i], abs(y[i]))
        hi = (y[i] + factor[i] * yscale[i]) - y[i]
        while hi == 0.0:
            factor[i] *= 10.0
            hi = (y[i] + factor[i] * yscale[i]) - y[i]
        hvec[i] = hi
        ytmp[i] = y[i]
    retry = False
    for g in range(n_groups):
        for k in range(group_ptr[g], group_ptr[g + 1]):
            j = group_cols[k]
            ytmp[j] = y[j] + hvec[j]
        call_rhs(rhs, t, ytmp, p, fbuf)
        nfev += 1
        for k in range(group_ptr[g], group_ptr[g + 1]):
            j = group_cols[k]
            ytmp[j] = y[j]
            best = -1.0
            bi = 0
            for r in range(col_ptr[j], col_ptr[j + 1]):
                i = rows[r]
                d = fbuf[i] - f0[i]
                if storage == STORE_BAND:
                    J[ku + i - j, j] = d
                elif storage == STORE_SPARSE:
                    J[0, r] = d
                else:
                    J[i, j] = d
                if abs(d) > best:
                    best = abs(d)
                    bi = i
            if best <= 0.0:
                bi = 0  # an all-zero column: argmax over all rows is row 0 (dense and sparse)
            if best == 0.0 and not scipy_zero_column:
                scale = abs(f0[0])
            else:
                scale = max(abs(f0[bi]), abs(fbuf[bi]))
            cmax[j] = best
            cscale[j] = scale
            if best < NUM_JAC_DIFF_REJECT * scale:
                retry = True
    if retry:
        # columns whose difference drowned in round-off: one more call per group, 10x increments
        for g in range(n_groups):
            perturbed = False
            for k in range(group_ptr[g], group_ptr[g + 1]):
                j = group_cols[k]
                if cmax[j] < NUM_JAC_DIFF_REJECT * cscale[j]:
                    h_new = (y[j] + NUM_JAC_FACTOR_INCREASE * factor[j] * yscale[j]) - y[j]
                    ytmp[j] = y[j] + h_new
                    perturbed = True
            if not perturbed:
                continue
            call_rhs(rhs, t, ytmp, p, fbuf)
            nfev += 1
            for k in range(group_ptr[g], group_ptr[g + 1]):
                j = group_cols[k]
                if not (cmax[j] < NUM_JAC_DIFF_REJECT * cscale[j]):
                    continue
                ytmp[j] = y[j]
                new_factor = NUM_JAC_FACTOR_INCREASE * factor[j]
                h_new = (y[j] + new_factor * yscale[j]) - y[j]
                best = -1.0
                bi = 0
                for r in range(col_ptr[j], col_ptr[j + 1]):
                    i = rows[r]
                    d = abs(fbuf[i] - f0[i])
                    if d > best:
                        best = d
                        bi = i
                if best <= 0.0:
                    bi = 0
                if best == 0.0 and not scipy_zero_column:
                    scale_new = abs(f0[0])
                else:
                    scale_new = max(abs(f0[bi]), abs(fbuf[bi]))
                if cmax[j] * scale_new < best * cscale[j]:
                    factor[j] = new_factor
                    hvec[j] = h_new
                    for r in range(col_ptr[j], col_ptr[j + 1]):
                        i = rows[r]
                        if storage == STORE_BAND:
                            J[ku + i - j, j] = fbuf[i] - f0[i]
                        elif storage == STORE_SPARSE:
                            J[0, r] = fbuf[i] - f0[i]
                        else:
                            J[i, j] = fbuf[i] - f0[i]
                    cmax[j] = best
                    cscale[j] = scale_new
    for j in range(n):
        hj = hvec[j]
        for r in range(col_ptr[j], col_ptr[j + 1]):
            i = rows[r]
            if storage == STORE_BAND:
                J[ku + i - j, j] /= hj
            elif storage == STORE_SPARSE:
                J[0, r] /= hj
            else:
                J[i, j] /= hj
        if cmax[j] < NUM_JAC_DIFF_SMALL * cscale[j]:
            factor[j] *= NUM_JAC_FACTOR_INCREASE
        elif cmax[j] > NUM_JAC_DIFF_BIG * cscale[j]:
            factor[j] *= NUM_JAC_FACTOR_DECREASE
        if factor[j] < NUM_JAC_MIN_FACTOR:
            factor[j] = NUM_JAC_MIN_FACTOR
    return nfev


# ---- the dispatch ----------------------------------------------------------------------------

@njit(cache=True, nogil=True)
def evaluate_jacobian(mode, scheme, rhs, jac, p, t, y, f0, atol, J, Jb, kl, ku, group_ptr,
                      group_cols, col_ptr, rows, factor, hvec, yscale, ytmp, fbuf, cmax, cscale):
    """J (dense) or Jb (band, ``kl`` >= 0) = df/dy at (t, y), f0 = f(t, y), in the Jacobian
    ``mode`` (JAC_FD, JAC_USER, JAC_CONSTANT, JAC_FD_GROUPED) with the increments of
    ``scheme`` (FD_SCALED, FD_NUM_JAC, FD_NUM_JAC_BDF); returns the RHS calls it made.

    ``JAC_CONSTANT`` evaluates like ``JAC_USER``: the driver decides to call it only once.
    ``kl`` == KL_SPARSE or KL_KRYLOV (always with JAC_FD_GROUPED) stores them into J (1, nnz),
    the values of the pattern ``col_ptr, rows`` (CSC).
    ``kl`` >= 0 (banded mode, always with JAC_FD_GROUPED) stores the grouped differences into
    the band array Jb (kl + ku + 1, n); otherwise J (n, n) is used. The arrays a mode or
    scheme does not use may be any arrays of the right type (``factor``, ``yscale``, ``cmax``,
    ``cscale`` with FD_SCALED, the group arrays with dense modes, Jb when ``kl`` < 0).

    Not inlined (one compiled copy for every driver): the drivers call the inline kernels
    directly where a Jacobian is evaluated every step or after every accepted step.
    """
    if mode == JAC_USER or mode == JAC_CONSTANT:
        call_rhs(jac, t, y, p, J)
        return 0
    if scheme == FD_SCALED:
        if kl >= 0:
            return fd_jacobian_grouped(rhs, p, t, y, f0, atol, Jb, STORE_BAND, ku, group_ptr,
                                       group_cols, col_ptr, rows, hvec, ytmp, fbuf)
        if kl == KL_SPARSE or kl == KL_KRYLOV:
            return fd_jacobian_grouped(rhs, p, t, y, f0, atol, J, STORE_SPARSE, 0, group_ptr,
                                       group_cols, col_ptr, rows, hvec, ytmp, fbuf)
        if mode == JAC_FD_GROUPED:
            return fd_jacobian_grouped(rhs, p, t, y, f0, atol, J, STORE_DENSE, 0, group_ptr,
                                       group_cols, col_ptr, rows, hvec, ytmp, fbuf)
        return fd_jacobian_dense(rhs, p, t, y, f0, atol, J, ytmp, fbuf)
    scipy_zero_column = scheme == FD_NUM_JAC_BDF
    if kl >= 0:
        return num_jac_grouped(rhs, p, t, y, f0, atol, Jb, STORE_BAND, ku, group_ptr, group_cols,
                               col_ptr, rows, factor, hvec, yscale, ytmp, fbuf, cmax, cscale,
                               scipy_zero_column)
    if kl == KL_SPARSE or kl == KL_KRYLOV:
        return num_jac_grouped(rhs, p, t, y, f0, atol, J, STORE_SPARSE, 0, group_ptr,
                               group_cols, col_ptr, rows, factor, hvec, yscale, ytmp, fbuf, cmax,
                               cscale, scipy_zero_column)
    if mode == JAC_FD_GROUPED:
        return num_jac_grouped(rhs, p, t, y, f0, atol, J, STORE_DENSE, 0, group_ptr, group_cols,
                               col_ptr, rows, factor, hvec, yscale, ytmp, fbuf, cmax, cscale,
                               scipy_zero_column)
    return num_jac_dense(rhs, p, t, y, f0, atol, J, factor, hvec, yscale, ytmp, fbuf)


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
