"""ESDIRK methods: the constants, the iteration matrix and its factorisation, the per-stage Newton
iteration (dense, banded and sparse) and the step-size predictor (moved from kernels/sdirk.py)."""

import math

import numpy as np
from numba import njit

from .. import status as st
from ..callbacks import call_rhs
from ..jacobian import (FD_NUM_JAC, JAC_CONSTANT, JAC_FD, JAC_USER, KL_SPARSE, NEWTON_FAILED,
                        SINGULAR, evaluate_jacobian, num_jac_dense)
from ..linalg import band_lu_factor, band_lu_solve
from ..newton import (fill_iteration_matrix, fill_iteration_matrix_band,
                      lu_factor_inline as lu_factor, lu_solve_inline as lu_solve, sparse_w_solve)

NEWTON_MAXITER = 7
MIN_FACTOR = 0.2
MAX_FACTOR = 10.0
KEEP_LO = 1.0          # an accepted step's factor in [KEEP_LO, KEEP_HI] keeps h (and the LU)
KEEP_HI = 1.2
JAC_RATE = 1e-3        # recompute J after a step whose Newton ran > 2 iterations above this rate
JAC_GROWTH = 10.0      # recompute J before a step more than this times the first one taken with it
MAX_SINGULAR_CUTS = 20
FAIL_STATUS = (st.STEP_TOO_SMALL, st.NON_FINITE, SINGULAR, NEWTON_FAILED)


@njit(cache=True, nogil=True, inline="always")
def factor_w(J, mass, has_mass, hg, LU, piv):
    """LU = M - hg J, factored in place; True when singular."""
    fill_iteration_matrix(J, mass, has_mass, hg, LU)
    info = lu_factor(LU, piv)
    return info != 0


@njit(cache=True, nogil=True, inline="always")
def fresh_jacobian(mode, rhs, jac, p, t, y, fx, atol, J, Jb, kl, ku, group_ptr, group_cols,
                   col_ptr, rows, jac_factor, hvec, yscale, ytmp, fbuf, cmax, cscale):
    """J (or the band array Jb, ``kl`` >= 0) = df/dy at (t, y) in the Jacobian ``mode``
    (fastode.kernels.jacobian.evaluate_jacobian, scipy's num_jac increments). Finite
    differences need f(t, y) to full precision (the last stage's f is accurate only to the
    Newton tolerance), so it is re-evaluated into the scratch ``fx``: returns the number of RHS
    calls to add to nfev (0 or 1).

    The step keeps the last stage's f (first same as last): replacing it by f(t, y) made the
    explicit first stage differ by J times the Newton error, O(1) on stiff components at large
    h, and the stage predictors and Newton then failed (KenCarp4 on Robertson at rtol 1e-3 took
    90 steps with finite differences, 25 with the exact J; now 25 with both)."""
    # called after most accepted steps: the user and dense modes inline (evaluate_jacobian's
    # call with its 24 arguments made KenCarp4 on Robertson 4% slower)
    if mode == JAC_USER or mode == JAC_CONSTANT:
        call_rhs(jac, t, y, p, J)
        return 0
    call_rhs(rhs, t, y, p, fx)
    if mode == JAC_FD:
        num_jac_dense(rhs, p, t, y, fx, atol, J, jac_factor, hvec, yscale, ytmp, fbuf)
    else:
        evaluate_jacobian(mode, FD_NUM_JAC, rhs, jac, p, t, y, fx, atol, J, Jb, kl, ku,
                          group_ptr, group_cols, col_ptr, rows, jac_factor, hvec, yscale, ytmp,
                          fbuf, cmax, cscale)
    return 1


@njit(cache=True, nogil=True, inline="always")
def stage_newton(rhs, p, ti, y, hg, gamma, R, u, Z, row, ytmp, fbuf, res, scale, tol, eta0,
                 LU, piv, mass, has_mass, kl, ku, slu=None):
    """Solve M u - R - hg f(ti, y + u) = 0 from the guess in ``u`` (simplified Newton), with the
    factors of :func:`factor_w` (``kl`` < 0) or the banded ones of :func:`factor_w_band` (a mass
    matrix inside the band), or when ``kl`` == KL_SPARSE the sparse LU ``slu`` of
    fastode.kernels.newton.sparse_w_factor (:func:`stage_newton_sparse`). Left out, ``slu`` is
    None and numba prunes its branch before typing it (the dense and banded copies are as
    without it).

    On convergence writes z = (M u - R) / gamma into Z[row]. Returns
    (converged, n_iter, rate (-1: none), eta, nfev, finite).
    """
    n = y.shape[0]
    dn_old = -1.0
    rate = -1.0
    eta = eta0
    converged = False
    finite = True
    nfev = 0
    k = 0
    inv_n = 1.0 / n
    for k in range(NEWTON_MAXITER):
        for m in range(n):
            ytmp[m] = y[m] + u[m]
        call_rhs(rhs, ti, ytmp, p, fbuf)
        nfev += 1
        for m in range(n):
            if not math.isfinite(fbuf[m]):
                finite = False
        if not finite:
            break
        if has_mass:
            for m in range(n):
                acc = 0.0
                for j in range(max(0, m - kl) if kl >= 0 else 0,
                               min(n, m + ku + 1) if kl >= 0 else n):
                    acc += mass[m, j] * u[j]
                res[m] = R[m] + hg * fbuf[m] - acc
        else:
            for m in range(n):
                res[m] = R[m] + hg * fbuf[m] - u[m]
        if kl >= 0:
            band_lu_solve(LU, kl, ku, piv, res)
        elif slu is not None and kl == KL_SPARSE:
            sparse_w_solve(slu, res)
        else:
            lu_solve(LU, piv, res)
        acc = 0.0
        for m in range(n):
            r = res[m] / scale[m]
            acc += r * r
        dn = math.sqrt(acc * inv_n)
        if not math.isfinite(dn):
            finite = False
            break
        if dn_old >= 0.0:
            rate = dn / dn_old
            if rate >= 1.0 or rate ** (NEWTON_MAXITER - k) / (1.0 - rate) * dn > tol:
                break
            eta = rate / (1.0 - rate)
        for m in range(n):
            u[m] += res[m]
        if dn == 0.0 or eta * dn <= tol:
            converged = True
            break
        dn_old = dn
    if converged:
        ig = 1.0 / gamma
        if has_mass:
            for m in range(n):
                acc = 0.0
                for j in range(max(0, m - kl) if kl >= 0 else 0,
                               min(n, m + ku + 1) if kl >= 0 else n):
                    acc += mass[m, j] * u[j]
                Z[row, m] = (acc - R[m]) * ig
        else:
            for m in range(n):
                Z[row, m] = (u[m] - R[m]) * ig
    return converged, k + 1, rate, eta, nfev, finite


@njit(cache=True, nogil=True)
def factor_w_band(Jb, mass, has_mass, hg, kl, ku, LU, piv):
    """:func:`factor_w` in band storage: ``Jb`` (kl + ku + 1, n) holds J[i, j] at
    [ku + i - j, j]; ``LU`` (2 kl + ku + 1, n) gets M - hg J in LAPACK's gbtrf layout, factored
    in place by fastode.kernels.linalg.band_lu_factor (M inside the band). True when
    singular."""
    fill_iteration_matrix_band(Jb, mass, has_mass, hg, kl, ku, LU)
    info = band_lu_factor(LU, kl, ku, piv)
    return info != 0


@njit(cache=True, nogil=True)
def stage_newton_band(rhs, p, ti, y, hg, gamma, R, u, Z, row, ytmp, fbuf, res, scale, tol, eta0,
                      LU, piv, mass, has_mass, kl, ku):
    """:func:`stage_newton` with the banded factors (one compiled copy for the banded path).
    Returns (converged, n_iter, rate (-1: none), eta, nfev, finite)."""
    return stage_newton(rhs, p, ti, y, hg, gamma, R, u, Z, row, ytmp, fbuf, res, scale, tol,
                        eta0, LU, piv, mass, has_mass, kl, ku)


@njit(cache=True, nogil=True)
def stage_newton_sparse(rhs, p, ti, y, hg, gamma, R, u, Z, row, ytmp, fbuf, res, scale, tol,
                        eta0, slu):
    """:func:`stage_newton` with the sparse LU ``slu`` of fastode.kernels.newton.sparse_w_factor
    (one compiled copy for the sparse path; no mass matrix). Returns (converged, n_iter, rate
    (-1: none), eta, nfev, finite)."""
    # Z and slu's Lp stand for the dense LU, pivots and mass matrix: not read
    return stage_newton(rhs, p, ti, y, hg, gamma, R, u, Z, row, ytmp, fbuf, res, scale, tol,
                        eta0, Z, slu[4], Z, False, KL_SPARSE, 0, slu)


@njit(cache=True, nogil=True, inline="always")
def predict_factor(h_abs, h_abs_old, error_norm, error_norm_old, exponent):
    """Gustafsson's predictive controller (Hairer-Wanner IV.8, eq. 8.25); None is < 0 here."""
    if error_norm == 0.0:
        return np.inf
    if error_norm_old < 0.0 or h_abs_old < 0.0:
        multiplier = 1.0
    else:
        multiplier = h_abs / h_abs_old * (error_norm_old / error_norm) ** exponent
    return min(1.0, multiplier) * error_norm ** -exponent
