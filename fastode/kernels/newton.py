"""Shared pieces of the Newton-based stiff drivers (Radau, BDF, ESDIRK).

* ``lu_factor_inline`` / ``lu_solve_inline``: fastode.kernels.linalg's LU, inlined.
* ``spacing10``, ``needs_interpolant``: scipy's minimal step; whether a step's interpolant is used.
* ``fill_iteration_matrix`` / ``fill_iteration_matrix_band`` / ``fill_iteration_matrix_sparse``:
  M - c J, dense, in LAPACK's band layout or as CSC values (fastode.kernels.sparse_lu; no mass
  matrix), before its factorisation (BDF: c = h / alpha; ESDIRK: c = h gamma).
* ``fill_w_sparse``: a I - b J as CSC values (Rosenbrock); ``sparse_refactor_or_factor``: the
  sparse LU's refactorisation with kept pivots, or a factorisation with pivoting.

Their Jacobians (scipy's ``num_jac`` finite differences, or the user's) come from
fastode.kernels.jacobian.

Counting follows scipy: ``nfev`` counts the RHS calls of the method itself; the calls made by a
finite-difference Jacobian are counted by ``njev`` (one per Jacobian), not in ``nfev``.
"""

import numpy as np
from numba import njit

from .linalg import lu_factor as _lu_factor, lu_solve as _lu_solve
from .sparse_lu import SPARSE_LU_REPIVOT, sparse_lu_factor, sparse_lu_refactor

# linalg's LU, inlined into the drivers: a call per solve costs reference-count traffic
# (atomic increments of every array argument), measured 45% of Radau's time on Robertson
lu_factor_inline = njit(cache=True, nogil=True, inline="always")(_lu_factor.py_func)
lu_solve_inline = njit(cache=True, nogil=True, inline="always")(_lu_solve.py_func)

EPS = np.finfo(np.float64).eps


@njit(cache=True, nogil=True, inline="always")
def spacing10(t, direction):
    """scipy's minimal step: 10 times the spacing of floating-point numbers at t."""
    return 10.0 * abs(np.nextafter(t, direction * np.inf) - t)


@njit(cache=True, nogil=True, inline="always")
def needs_interpolant(dense, n_events, use_t_eval, t_eval, i_eval, t_new, direction):
    """Whether an accepted step's interpolant is used (dense output, events, inner t_eval)."""
    return dense or n_events > 0 or (
        use_t_eval and i_eval < t_eval.shape[0]
        and direction * (t_eval[i_eval] - t_new) < 0.0)


@njit(cache=True, nogil=True, inline="always")
def fill_iteration_matrix(J, mass, has_mass, c, LU):
    """LU = M - c J (M the identity unless ``has_mass``), to be factored in place."""
    n = LU.shape[0]
    for i in range(n):
        for j in range(n):
            if has_mass:
                mij = mass[i, j]
            else:
                mij = 1.0 if i == j else 0.0
            LU[i, j] = mij - c * J[i, j]


@njit(cache=True, nogil=True, inline="always")
def fill_iteration_matrix_band(Jb, mass, has_mass, c, kl, ku, LUb):
    """LUb = M - c J in LAPACK's gbtrf layout (fastode.kernels.linalg; the top kl rows, the
    fill-in workspace, zeroed), from J in band storage ``Jb``; a mass matrix lies in the band."""
    n = LUb.shape[1]
    kv = kl + ku
    for j in range(n):
        for r in range(kl):
            LUb[r, j] = 0.0
        for i in range(max(0, j - ku), min(n, j + kl + 1)):
            if has_mass:
                mij = mass[i, j]
            else:
                mij = 1.0 if i == j else 0.0
            LUb[kv + i - j, j] = mij - c * Jb[ku + i - j, j]


@njit(cache=True, nogil=True, inline="always")
def fill_iteration_matrix_sparse(Jv, c, col_ptr, rows, Ax):
    """Ax = the CSC values of I - c J on the pattern ``col_ptr, rows`` (diagonal included),
    J's values in ``Jv[0, :]`` (fastode.kernels.jacobian's STORE_SPARSE)."""
    n = col_ptr.shape[0] - 1
    for j in range(n):
        for r in range(col_ptr[j], col_ptr[j + 1]):
            if rows[r] == j:
                Ax[r] = 1.0 - c * Jv[0, r]
            else:
                Ax[r] = -c * Jv[0, r]


@njit(cache=True, nogil=True, error_model="numpy")
def fill_w_sparse(Jv, a, b, col_ptr, rows, Ax):
    """Ax = the CSC values of a I - b J on the pattern ``col_ptr, rows`` (diagonal included),
    J's values in ``Jv[0, :]``: the Rosenbrock iteration matrix (a = 1 / (gamma h), b = 1;
    ode23s: a = 1, b = h d). No mass matrix."""
    n = col_ptr.shape[0] - 1
    for j in range(n):
        for r in range(col_ptr[j], col_ptr[j + 1]):
            if rows[r] == j:
                Ax[r] = a - b * Jv[0, r]
            else:
                Ax[r] = -b * Jv[0, r]


@njit(cache=True, nogil=True, error_model="numpy")
def sparse_refactor_or_factor(col_ptr, rows, Ax, q, Lp, Li, Lx, Up, Ui, Ux, pinv, x, xi, mark,
                              pivots_kept):
    """Factor the CSC matrix ``col_ptr, rows, Ax`` (fastode.kernels.sparse_lu): with the last
    factorisation's pivots and patterns when ``pivots_kept`` (KLU's refactor, no search), and
    with pivoting when they are not kept or no longer serve (SPARSE_LU_REPIVOT). Returns
    sparse_lu_factor's info: 0, k + 1 (singular) or SPARSE_LU_OUT_OF_SPACE (the caller
    enlarges Li, Lx, Ui, Ux with grow_factor_storage and calls sparse_lu_factor again)."""
    info = SPARSE_LU_REPIVOT
    if pivots_kept:
        info = sparse_lu_refactor(col_ptr, rows, Ax, q, Lp, Li, Lx, Up, Ui, Ux, pinv, x)
    if info == SPARSE_LU_REPIVOT:
        info = sparse_lu_factor(col_ptr, rows, Ax, q, Lp, Li, Lx, Up, Ui, Ux, pinv, x, xi, mark)
    return info


@njit(cache=True, nogil=True)
def jacobian_scratch(n):
    """Work arrays of fastode.kernels.jacobian's finite differences: (jac_factor, hvec, yscale,
    cmax, cscale); ``jac_factor`` starts at sqrt(eps), as scipy's num_jac."""
    return (np.full(n, np.sqrt(EPS)), np.empty(n), np.empty(n), np.empty(n), np.empty(n))


@njit(cache=True, nogil=True)
def newton_tolerance(rtol):
    """scipy's Newton tolerance max(10 eps / rtol, min(0.03, rtol ** 0.5)), rtol the smallest."""
    rtol_min = rtol[0]
    for i in range(rtol.shape[0]):
        rtol_min = min(rtol_min, rtol[i])
    return max(10.0 * EPS / rtol_min, min(0.03, rtol_min ** 0.5))
