"""Shared pieces of the Newton-based stiff drivers (Radau, BDF, ESDIRK).

* ``lu_factor_inline`` / ``lu_solve_inline``: fastode.kernels.linalg's LU, inlined.
* ``spacing10``, ``needs_interpolant``: scipy's minimal step; whether a step's interpolant is used.
* ``fill_iteration_matrix`` / ``fill_iteration_matrix_band``: M - c J, dense or in LAPACK's
  band layout, before its factorisation (BDF: c = h / alpha; ESDIRK: c = h gamma).
* ``fill_w_sparse``: a I - b J as CSC values; ``sparse_w_workspace`` / ``sparse_w_factor`` /
  ``sparse_w_solve``: the sparse LU of that matrix in one tuple, refactored with the kept pivots
  while they serve and grown in place (the Rosenbrock and ESDIRK drivers).

Their Jacobians (scipy's ``num_jac`` finite differences, or the user's) come from
fastode.kernels.jacobian.

Counting follows scipy: ``nfev`` counts the RHS calls of the method itself; the calls made by a
finite-difference Jacobian are counted by ``njev`` (one per Jacobian), not in ``nfev``.
"""

import numpy as np
from numba import njit
from numba.typed import List

from .linalg import lu_factor as _lu_factor, lu_solve as _lu_solve
from .sparse_lu import (SPARSE_LU_OUT_OF_SPACE, SPARSE_LU_REPIVOT, grow_factor_storage,
                        sparse_lu_factor, sparse_lu_refactor, sparse_lu_solve, sparse_lu_workspace)

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
def sparse_w_workspace_of(n, col_ptr, rows, lu_order, lu_capacity, sparse, like):
    """The sparse LU of an iteration matrix a I - b J on the pattern ``col_ptr, rows`` (CSC,
    diagonal included; fastode.kernels.sparse_lu, column order ``lu_order``, room for
    ``lu_capacity`` entries in each of L and U), for :func:`sparse_w_factor` and
    :func:`sparse_w_solve`: the tuple ``slu`` = (Ax, col_ptr, rows, q, Lp, LU, Up, pinv, x, xi,
    mark, kept), one-entry placeholders unless ``sparse``; values of the type of the array
    ``like`` (float64, or complex128 for Radau's complex matrix).

    L's and U's indices and values sit in a typed list of one tuple, LU = [(Li, Lx, Ui, Ux)],
    which sparse_w_factor replaces when the factors outgrow it: a driver that rebound
    array variables in its step loop (``Li, Lx, Ui, Ux = grow_factor_storage(...)``) would pay
    reference-count updates for them on every pass through every loop around it, in dense
    mode too (measured: KenCarp4 on Van der Pol mu=1e3, 0.76 -> 0.94 ms). ``kept[0]``: the
    last factorisation's pivots may be reused."""
    kept = np.zeros(1, dtype=np.int64)
    if sparse:
        Ax = np.zeros(rows.shape[0], dtype=like.dtype)
        Lp, Li, Lx, Up, Ui, Ux, pinv, x, xi, mark = sparse_lu_workspace(n, lu_capacity, Ax)
    else:
        # never read: two shared one-entry arrays (each allocation counts in a small solve)
        Ax = Lx = Ux = x = np.zeros(1, dtype=like.dtype)
        Lp = Li = Up = Ui = pinv = xi = mark = kept
    LU = List()
    LU.append((Li, Lx, Ui, Ux))
    return (Ax, col_ptr, rows, lu_order, Lp, LU, Up, pinv, x, xi, mark, kept)


@njit(cache=True, nogil=True, error_model="numpy")
def sparse_w_workspace(n, col_ptr, rows, lu_order, lu_capacity, sparse):
    """:func:`sparse_w_workspace_of` with float64 values."""
    return sparse_w_workspace_of(n, col_ptr, rows, lu_order, lu_capacity, sparse,
                                 np.zeros(1))


@njit(cache=True, nogil=True, error_model="numpy")
def sparse_w_factor(slu, J, a, b):
    """Factor W = a I - b J (J's CSC values in ``J[0]``, fastode.kernels.jacobian's
    STORE_SPARSE; no mass matrix) into ``slu`` (:func:`sparse_w_workspace`): with the last
    factorisation's pivots and patterns while they serve (KLU's refactor: no search), else with
    pivoting; L and U get more room while they need it. Returns 0, or k + 1 when W is singular
    (column k)."""
    Ax, col_ptr, rows, q, Lp, LU, Up, pinv, x, xi, mark, kept = slu
    fill_w_sparse(J, a, b, col_ptr, rows, Ax)
    Li, Lx, Ui, Ux = LU[0]
    info = SPARSE_LU_REPIVOT
    if kept[0] != 0:
        info = sparse_lu_refactor(col_ptr, rows, Ax, q, Lp, Li, Lx, Up, Ui, Ux, pinv, x)
    if info == SPARSE_LU_REPIVOT:
        info = sparse_lu_factor(col_ptr, rows, Ax, q, Lp, Li, Lx, Up, Ui, Ux, pinv, x, xi, mark)
    while info == SPARSE_LU_OUT_OF_SPACE:
        Li, Lx, Ui, Ux = grow_factor_storage(Li, Lx, Ui, Ux)
        LU[0] = (Li, Lx, Ui, Ux)
        info = sparse_lu_factor(col_ptr, rows, Ax, q, Lp, Li, Lx, Up, Ui, Ux, pinv, x, xi, mark)
    kept[0] = 1 if info == 0 else 0
    return info


@njit(cache=True, nogil=True, error_model="numpy")
def sparse_w_solve(slu, b):
    """b = W^-1 b in place (a 1-D float64 array, or a contiguous row) with the factors of
    :func:`sparse_w_factor`."""
    Ax, col_ptr, rows, q, Lp, LU, Up, pinv, x, xi, mark, kept = slu
    Li, Lx, Ui, Ux = LU[0]
    sparse_lu_solve(Lp, Li, Lx, Up, Ui, Ux, pinv, q, b, x)


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
