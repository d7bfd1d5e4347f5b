"""Variable-order NDF/BDF: the coefficients, the state layout, the difference-array updates and the
Newton iteration (moved from kernels/bdf.py)."""

import math

import numpy as np
from numba import njit

from .. import status as st
from ..callbacks import call_rhs
from ..jacobian import KL_KRYLOV, KL_SPARSE, NEWTON_FAILED, SINGULAR
from ..krylov import KRYLOV_NON_FINITE, KRYLOV_RES_REDUCED, gmres
from ..linalg import band_lu_solve
from ..newton import sparse_w_solve
from ..newton import lu_solve_inline as lu_solve

MAX_ORDER = 5
NEWTON_MAXITER = 4
MIN_FACTOR = 0.2
# status when the step collapses, by the last failure: error test, f non-finite, singular
# iteration matrix, Newton not converging
FAIL_STATUS = (st.STEP_TOO_SMALL, st.NON_FINITE, SINGULAR, NEWTON_FAILED)
# a step cut this many times in a row with a singular iteration matrix ends the integration
MAX_SINGULAR_CUTS = 20
MAX_FACTOR = 10.0

KAPPA = np.array([0.0, -0.1850, -1.0 / 9.0, -0.0823, -0.0415, 0.0])
GAMMA = np.hstack((0.0, np.cumsum(1.0 / np.arange(1, MAX_ORDER + 1))))
ALPHA = (1.0 - KAPPA) * GAMMA
ERROR_CONST = KAPPA * GAMMA + 1.0 / np.arange(1, MAX_ORDER + 2)
for _a in (KAPPA, GAMMA, ALPHA, ERROR_CONST):
    _a.setflags(write=False)

# rows of the n-vector work array of bdf_start / bdf_advance
(W_PREDICT, W_PSI, W_SCALE, W_D, W_B, W_FJAC, W_YTMP, W_HVEC, W_YSCALE, W_CMAX, W_CSCALE,
 W_F, W_JFAC) = range(13)
WORK_ROWS = 13
# state[:] of bdf_advance: h_abs, order, n_equal_steps, lu_valid
S_H_ABS, S_ORDER, S_N_EQUAL, S_LU_VALID = range(4)
# counts[:] of bdf_start / bdf_advance: nfev, njev, nlu, nreject, attempts
C_NFEV, C_NJEV, C_NLU, C_NREJECT, C_ATTEMPTS = range(5)

# linalg's banded solve, inlined (as newton.py inlines the dense LU: no call overhead per solve)
band_lu_solve_inline = njit(cache=True, nogil=True, inline="always")(band_lu_solve.py_func)


@njit(cache=True, nogil=True, inline="always")
def compute_R(order, factor, R):
    """R[:order + 1, :order + 1] of Shampine-Reichelt's step-change matrix (scipy compute_R)."""
    for c in range(order + 1):
        R[0, c] = 1.0
    for r in range(1, order + 1):
        R[r, 0] = 0.0
        for c in range(1, order + 1):
            R[r, c] = R[r - 1, c] * ((r - 1 - factor * c) / r)


@njit(cache=True, nogil=True, inline="always")
def change_D(D, order, factor, R, U, RU, tmp):
    """Re-sample D for a step size multiplied by ``factor``: D[:order+1] <- (R U)^T D."""
    n = D.shape[1]
    compute_R(order, factor, R)
    compute_R(order, 1.0, U)
    k = order + 1
    for i in range(k):
        for j in range(k):
            acc = 0.0
            for m in range(k):
                acc += R[i, m] * U[m, j]
            RU[i, j] = acc
    for i in range(k):
        for m in range(n):
            acc = 0.0
            for j in range(k):
                acc += RU[j, i] * D[j, m]
            tmp[i, m] = acc
    for i in range(k):
        for m in range(n):
            D[i, m] = tmp[i, m]


@njit(cache=True, nogil=True, inline="always")
def bdf_newton(rhs, p, t_new, y_predict, c, psi, LU, kl, ku, piv, scale, tol, y, d, fbuf, b,
               mass, has_mass, slu=None, kry=None):
    """Simplified Newton for the NDF corrector with the factored iteration matrix: dense LU,
    or, when kl >= 0, banded in gbtrf layout (call it with the matrix in use only: each array
    argument of an inlined function costs a reference-count round trip), or when kl ==
    KL_SPARSE the sparse LU ``slu`` of fastode.kernels.newton.sparse_w_factor (no mass
    matrix), or when kl == KL_KRYLOV GMRES
    (fastode.kernels.krylov) with ``kry`` = (V, H, lu, diag, x, col_ptr, rows, prec, maxl,
    max_restarts, psolve, iterations): J v at the current iterate, to 0.05 times the Newton
    tolerance (CVODE's default), an unconverged GMRES ending the iteration as a divergence
    would (a GMRES that only reduced the residual is accepted on the first iteration, as
    CVODE); its Krylov iterations are added to ``iterations[0]``. Left out, ``slu`` and ``kry``
    are None and numba prunes their branches before typing them: the dense and banded copies
    written into the driver are as without them (:func:`bdf_newton_structured` is the
    compiled copy for the sparse and Krylov paths). Returns (converged, n_iter, nfev, finite);
    y holds y_predict + d."""
    n = y.shape[0]
    for m in range(n):
        y[m] = y_predict[m]
        d[m] = 0.0
    dy_norm_old = -1.0
    converged = False
    finite = True
    nfev = 0
    k = 0
    for k in range(NEWTON_MAXITER):
        call_rhs(rhs, t_new, y, p, fbuf)
        nfev += 1
        for m in range(n):
            if not math.isfinite(fbuf[m]):
                finite = False
        if not finite:
            break
        if has_mass:
            for m in range(n):
                # a banded M has row m in columns m - kl .. m + ku (checked in Python)
                j0 = max(0, m - kl) if kl >= 0 else 0
                j1 = min(n, m + ku + 1) if kl >= 0 else n
                acc = 0.0
                for j in range(j0, j1):
                    acc += mass[m, j] * (psi[j] + d[j])
                b[m] = c * fbuf[m] - acc
        else:
            for m in range(n):
                b[m] = c * fbuf[m] - psi[m] - d[m]
        if kl >= 0:
            band_lu_solve_inline(LU, kl, ku, piv, b)
        elif slu is not None and kl == KL_SPARSE:
            sparse_w_solve(slu, b)
        elif kry is not None and kl == KL_KRYLOV:
            kstatus, knf = krylov_newton_solve(rhs, p, t_new, y, fbuf, c, b, scale, tol, kry)
            nfev += knf
            if kstatus == KRYLOV_NON_FINITE:
                finite = False
                break
            if kstatus < 0 or (kstatus == KRYLOV_RES_REDUCED and k > 0):
                break
        else:
            lu_solve(LU, piv, b)
        acc = 0.0
        for m in range(n):
            r = b[m] / scale[m]
            acc += r * r
        dy_norm = math.sqrt(acc / n)
        if not math.isfinite(dy_norm):
            finite = False
            break
        has_rate = dy_norm_old >= 0.0
        rate = 0.0
        if has_rate:
            rate = dy_norm / dy_norm_old
            if rate >= 1.0 or rate ** (NEWTON_MAXITER - k) / (1.0 - rate) * dy_norm > tol:
                break
        for m in range(n):
            y[m] += b[m]
            d[m] += b[m]
        if dy_norm == 0.0 or (has_rate and rate / (1.0 - rate) * dy_norm < tol):
            converged = True
            break
        dy_norm_old = dy_norm
    return converged, k + 1, nfev, finite


@njit(cache=True, nogil=True)
def krylov_newton_solve(rhs, p, t, y, f, c, b, scale, tol, kry):
    """b = (I - c J)^-1 b by GMRES (fastode.kernels.krylov) to 0.05 times the Newton tolerance
    ``tol`` (CVODE's default), J v at (t, y) with f = f(t, y); ``kry`` = (V, H, lu, diag, x,
    col_ptr, rows, prec, maxl, max_restarts, psolve, iterations), its Krylov iterations added
    to ``iterations[0]``. Returns (GMRES status, RHS calls); b is replaced only on a usable
    status (>= 0)."""
    x = kry[4]
    status, iters, nfev, _ = gmres(rhs, p, t, y, f, c, b, scale, 0.05 * tol, kry[8], kry[9],
                                   kry[7], kry[5], kry[6], kry[2], kry[3], kry[10], x, kry[0],
                                   kry[1])
    kry[11][0] += iters
    if status >= 0:
        for m in range(b.shape[0]):
            b[m] = x[m]
    return status, nfev


@njit(cache=True, nogil=True)
def bdf_newton_structured(rhs, p, t_new, y_predict, c, psi, kl, piv, scale, tol, y, d, fbuf, b,
                          slu, kry):
    """:func:`bdf_newton` on the sparse LU (kl == KL_SPARSE) or Newton-Krylov (kl == KL_KRYLOV)
    path: one compiled copy, outside the driver's loop (no mass matrix). Returns (converged,
    n_iter, nfev, finite)."""
    # kry[0] and kry[2] stand for the dense LU and mass matrix: not read
    return bdf_newton(rhs, p, t_new, y_predict, c, psi, kry[0], kl, -1, piv, scale, tol, y, d,
                      fbuf, b, kry[0], False, slu, kry)


@njit(cache=True, nogil=True, inline="always")
def update_differences(D, d, order):
    """The modified divided differences after an accepted step with correction d (scipy's
    BDF._step_impl): D[order + 2] = d - D[order + 1], D[order + 1] = d, then D[i] += D[i + 1]."""
    n = D.shape[1]
    for m in range(n):
        D[order + 2, m] = d[m] - D[order + 1, m]
        D[order + 1, m] = d[m]
    for i in range(order, -1, -1):
        for m in range(n):
            D[i, m] += D[i + 1, m]


@njit(cache=True, nogil=True, inline="always")
def select_order(D, order, scale, error_norm, safety):
    """The next order (order - 1, order or order + 1) and step-size factor from the error
    estimates at the three orders, as scipy's BDF (np.argmax: the first of equal maxima).
    Returns (order, factor)."""
    n = D.shape[1]
    if order > 1:
        ec = ERROR_CONST[order - 1]
        acc = 0.0
        for m in range(n):
            rm = ec * D[order, m] / scale[m]
            acc += rm * rm
        error_m_norm = math.sqrt(acc / n)
    else:
        error_m_norm = np.inf
    if order < MAX_ORDER:
        ec = ERROR_CONST[order + 1]
        acc = 0.0
        for m in range(n):
            rm = ec * D[order + 2, m] / scale[m]
            acc += rm * rm
        error_p_norm = math.sqrt(acc / n)
    else:
        error_p_norm = np.inf
    f_m = 0.0 if error_m_norm == np.inf else (
        np.inf if error_m_norm == 0.0 else error_m_norm ** (-1.0 / order))
    f_0 = np.inf if error_norm == 0.0 else error_norm ** (-1.0 / (order + 1))
    f_p = 0.0 if error_p_norm == np.inf else (
        np.inf if error_p_norm == 0.0 else error_p_norm ** (-1.0 / (order + 2)))
    best = f_m
    delta_order = -1
    if f_0 > best:
        best = f_0
        delta_order = 0
    if f_p > best:
        best = f_p
        delta_order = 1
    return order + delta_order, min(MAX_FACTOR, safety * best)
