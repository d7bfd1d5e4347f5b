"""Radau IIA (order 5): the coefficients, the step-size predictor, and the simplified Newton
iteration with its real and complex factorisations, dense and banded (moved from
kernels/radau.py)."""

import math

import numpy as np
from numba import njit

from .. import status as st
from ...tableaus import radau as tab
from ..callbacks import call_rhs_row
from ..jacobian import KL_SPARSE, NEWTON_FAILED, SINGULAR
from ..linalg import band_lu_factor, band_lu_solve
from ..newton import sparse_w_factor, sparse_w_solve
from ..newton import lu_factor_inline as lu_factor, lu_solve_inline as lu_solve

NEWTON_MAXITER = tab.NEWTON_MAXITER
MIN_FACTOR = 0.2
# status when the step collapses, by the last failure: error test, f non-finite, singular
# iteration matrix, Newton not converging
FAIL_STATUS = (st.STEP_TOO_SMALL, st.NON_FINITE, SINGULAR, NEWTON_FAILED)
# a step cut this many times in a row with a singular iteration matrix ends the integration
MAX_SINGULAR_CUTS = 20
MAX_FACTOR = 10.0

C0, C1, C2 = float(tab.C[0]), float(tab.C[1]), float(tab.C[2])
E0, E1, E2 = float(tab.E[0]), float(tab.E[1]), float(tab.E[2])
MU_REAL = float(tab.MU_REAL)
MU_CR = float(tab.MU_COMPLEX_RE)
MU_CI = float(tab.MU_COMPLEX_IM)
T00, T01, T02 = float(tab.T[0, 0]), float(tab.T[0, 1]), float(tab.T[0, 2])
T10, T11, T12 = float(tab.T[1, 0]), float(tab.T[1, 1]), float(tab.T[1, 2])
T20, T21, T22 = float(tab.T[2, 0]), float(tab.T[2, 1]), float(tab.T[2, 2])
TI00, TI01, TI02 = float(tab.TI[0, 0]), float(tab.TI[0, 1]), float(tab.TI[0, 2])
TI10, TI11, TI12 = float(tab.TI[1, 0]), float(tab.TI[1, 1]), float(tab.TI[1, 2])
TI20, TI21, TI22 = float(tab.TI[2, 0]), float(tab.TI[2, 1]), float(tab.TI[2, 2])
P00, P01, P02 = float(tab.P[0, 0]), float(tab.P[0, 1]), float(tab.P[0, 2])
P10, P11, P12 = float(tab.P[1, 0]), float(tab.P[1, 1]), float(tab.P[1, 2])
P20, P21, P22 = float(tab.P[2, 0]), float(tab.P[2, 1]), float(tab.P[2, 2])


@njit(cache=True, nogil=True, inline="always")
def predict_factor(h_abs, h_abs_old, error_norm, error_norm_old):
    """Gustafsson's predictive controller (Hairer-Wanner IV.8, eq. 8.25); None is < 0 here."""
    if error_norm_old < 0.0 or h_abs_old < 0.0 or error_norm == 0.0:
        multiplier = 1.0
    else:
        multiplier = h_abs / h_abs_old * (error_norm_old / error_norm) ** 0.25
    if error_norm == 0.0:
        return np.inf
    return min(1.0, multiplier) * error_norm ** -0.25


@njit(cache=True, nogil=True, inline="always")
def factor_radau(J, mass, has_mass, h, LUr, pivr, LUc, pivc):
    """LUr = MU_REAL/h M - J, LUc = MU_COMPLEX/h M - J, factored in place. Returns info != 0
    when either is singular."""
    n = J.shape[0]
    mr = MU_REAL / h
    mcr = MU_CR / h
    mci = MU_CI / h
    for i in range(n):
        for j in range(n):
            if has_mass:
                m = mass[i, j]
            else:
                m = 1.0 if i == j else 0.0
            LUr[i, j] = mr * m - J[i, j]
            LUc[i, j] = complex(mcr * m - J[i, j], mci * m)
    info = lu_factor(LUr, pivr)
    info2 = lu_factor(LUc, pivc)
    return info != 0 or info2 != 0


@njit(cache=True, nogil=True, inline="always")
def radau_newton(rhs, p, t, y, h, Z0, Z, W, F, ytmp, scale, tol, LUr, pivr, LUc, pivc,
                 br, bc, mass, has_mass, mw, kl, ku, slu_r=None, slu_c=None):
    """Solve the collocation system by simplified Newton from the guess Z0 (3, n), with the
    factors of :func:`factor_radau` (``kl`` < 0) or, when ``kl`` >= 0, the banded ones of
    :func:`factor_radau_band` (a mass matrix inside the band), or when ``kl`` == KL_SPARSE the
    sparse ones of :func:`factor_radau_sparse` (``slu_r``, ``slu_c``: fastode.kernels.newton's
    sparse_w_workspace; no mass matrix). Left out, they are None and numba prunes their branch
    before typing it (the dense and banded copies are as without it).

    Returns (converged, n_iter, rate (-1: none), nfev, finite); Z holds the last iterate.
    """
    n = y.shape[0]
    mr = MU_REAL / h
    mcr = MU_CR / h
    mci = MU_CI / h
    mc = complex(mcr, mci)
    for m in range(n):
        z0 = Z0[0, m]
        z1 = Z0[1, m]
        z2 = Z0[2, m]
        Z[0, m] = z0
        Z[1, m] = z1
        Z[2, m] = z2
        W[0, m] = TI00 * z0 + TI01 * z1 + TI02 * z2
        W[1, m] = TI10 * z0 + TI11 * z1 + TI12 * z2
        W[2, m] = TI20 * z0 + TI21 * z1 + TI22 * z2
    dw_norm_old = -1.0
    rate = -1.0
    converged = False
    finite = True
    nfev = 0
    k = 0
    ch0 = h * C0
    ch1 = h * C1
    ch2 = h * C2
    inv_size = 1.0 / (3 * n)
    for k in range(NEWTON_MAXITER):
        for m in range(n):
            ytmp[m] = y[m] + Z[0, m]
        call_rhs_row(rhs, t + ch0, ytmp, p, F, 0)
        for m in range(n):
            ytmp[m] = y[m] + Z[1, m]
        call_rhs_row(rhs, t + ch1, ytmp, p, F, 1)
        for m in range(n):
            ytmp[m] = y[m] + Z[2, m]
        call_rhs_row(rhs, t + ch2, ytmp, p, F, 2)
        nfev += 3
        for i in range(3):
            for m in range(n):
                if not math.isfinite(F[i, m]):
                    finite = False
        if not finite:
            break
        if has_mass:
            for m in range(n):
                a0 = 0.0
                a1 = 0.0
                a2 = 0.0
                for j in range(max(0, m - kl) if kl >= 0 else 0,
                               min(n, m + ku + 1) if kl >= 0 else n):
                    a0 += mass[m, j] * W[0, j]
                    a1 += mass[m, j] * W[1, j]
                    a2 += mass[m, j] * W[2, j]
                mw[0, m] = a0
                mw[1, m] = a1
                mw[2, m] = a2
            for m in range(n):
                f0 = F[0, m]
                f1 = F[1, m]
                f2 = F[2, m]
                br[m] = (f0 * TI00 + f1 * TI01 + f2 * TI02) - mr * mw[0, m]
                bc[m] = (complex(f0 * TI10 + f1 * TI11 + f2 * TI12,
                                 f0 * TI20 + f1 * TI21 + f2 * TI22)
                         - mc * complex(mw[1, m], mw[2, m]))
        else:
            for m in range(n):
                f0 = F[0, m]
                f1 = F[1, m]
                f2 = F[2, m]
                br[m] = (f0 * TI00 + f1 * TI01 + f2 * TI02) - mr * W[0, m]
                bc[m] = (complex(f0 * TI10 + f1 * TI11 + f2 * TI12,
                                 f0 * TI20 + f1 * TI21 + f2 * TI22)
                         - mc * complex(W[1, m], W[2, m]))
        if kl >= 0:
            band_lu_solve(LUr, kl, ku, pivr, br)
            band_lu_solve(LUc, kl, ku, pivc, bc)
        elif slu_r is not None and kl == KL_SPARSE:
            sparse_w_solve(slu_r, br)
            sparse_w_solve(slu_c, bc)
        else:
            lu_solve(LUr, pivr, br)
            lu_solve(LUc, pivc, bc)
        acc = 0.0
        for m in range(n):
            s = scale[m]
            r0 = br[m] / s
            r1 = bc[m].real / s
            r2 = bc[m].imag / s
            acc += r0 * r0 + r1 * r1 + r2 * r2
        dw_norm = math.sqrt(acc * inv_size)
        if not math.isfinite(dw_norm):
            finite = False
            break
        has_rate = dw_norm_old >= 0.0
        if has_rate:
            rate = dw_norm / dw_norm_old
            if rate >= 1.0 or rate ** (NEWTON_MAXITER - k) / (1.0 - rate) * dw_norm > tol:
                break
        for m in range(n):
            w0 = W[0, m] + br[m]
            w1 = W[1, m] + bc[m].real
            w2 = W[2, m] + bc[m].imag
            W[0, m] = w0
            W[1, m] = w1
            W[2, m] = w2
            Z[0, m] = T00 * w0 + T01 * w1 + T02 * w2
            Z[1, m] = T10 * w0 + T11 * w1 + T12 * w2
            Z[2, m] = T20 * w0 + T21 * w1 + T22 * w2
        if dw_norm == 0.0 or (has_rate and rate / (1.0 - rate) * dw_norm < tol):
            converged = True
            break
        dw_norm_old = dw_norm
    return converged, k + 1, rate, nfev, finite


@njit(cache=True, nogil=True, inline="always")
def mass_times(mass, has_mass, kl, ku, v, out):
    """out = M v (or v); ``kl`` >= 0: M lies inside the band (kl sub-, ku super-diagonals)."""
    n = v.shape[0]
    if has_mass:
        for i in range(n):
            acc = 0.0
            for j in range(max(0, i - kl) if kl >= 0 else 0, min(n, i + ku + 1) if kl >= 0 else n):
                acc += mass[i, j] * v[j]
            out[i] = acc
    else:
        for i in range(n):
            out[i] = v[i]


@njit(cache=True, nogil=True)
def mass_times_band(mass, has_mass, kl, ku, v, out):
    """:func:`mass_times` for a mass matrix inside the band (one compiled copy)."""
    mass_times(mass, has_mass, kl, ku, v, out)


@njit(cache=True, nogil=True)
def factor_radau_band(Jb, mass, has_mass, h, kl, ku, LUr, pivr, LUc, pivc):
    """:func:`factor_radau` in band storage: ``Jb`` (kl + ku + 1, n) holds J[i, j] at
    [ku + i - j, j]; ``LUr`` (float) and ``LUc`` (complex), (2 kl + ku + 1, n), get
    MU_REAL/h M - J and MU_COMPLEX/h M - J in LAPACK's gbtrf layout, factored in place by
    fastode.kernels.linalg.band_lu_factor. Returns True when either is singular."""
    n = Jb.shape[1]
    kv = kl + ku
    mr = MU_REAL / h
    mcr = MU_CR / h
    mci = MU_CI / h
    for j in range(n):
        for r in range(kl):
            LUr[r, j] = 0.0
            LUc[r, j] = 0.0
        for i in range(max(0, j - ku), min(n, j + kl + 1)):
            if has_mass:
                m = mass[i, j]
            else:
                m = 1.0 if i == j else 0.0
            jv = Jb[ku + i - j, j]
            LUr[kv + i - j, j] = mr * m - jv
            LUc[kv + i - j, j] = complex(mcr * m - jv, mci * m)
    info = band_lu_factor(LUr, kl, ku, pivr)
    info2 = band_lu_factor(LUc, kl, ku, pivc)
    return info != 0 or info2 != 0


@njit(cache=True, nogil=True)
def radau_newton_band(rhs, p, t, y, h, Z0, Z, W, F, ytmp, scale, tol, LUr, pivr, LUc, pivc,
                      br, bc, mass, has_mass, mw, kl, ku):
    """:func:`radau_newton` with the banded factors (one compiled copy for the banded path:
    its O(n (kl + ku)) work per call dwarfs the call's reference counts)."""
    return radau_newton(rhs, p, t, y, h, Z0, Z, W, F, ytmp, scale, tol, LUr, pivr, LUc, pivc,
                        br, bc, mass, has_mass, mw, kl, ku)


@njit(cache=True, nogil=True)
def radau_newton_sparse(rhs, p, t, y, h, Z0, Z, W, F, ytmp, scale, tol, LUr, pivr, LUc, pivc,
                        br, bc, mw, slu_r, slu_c):
    """:func:`radau_newton` with the sparse factors of :func:`factor_radau_sparse` (one
    compiled copy for the sparse path; no mass matrix). ``LUr``, ``LUc``: placeholders of the
    dense LUs' types (their branch is typed, not run)."""
    # W stands for the mass matrix: not read
    return radau_newton(rhs, p, t, y, h, Z0, Z, W, F, ytmp, scale, tol, LUr, pivr, LUc, pivc,
                        br, bc, W, False, mw, KL_SPARSE, -1, slu_r, slu_c)


@njit(cache=True, nogil=True)
def factor_radau_sparse(Jv, h, slu_r, slu_c):
    """:func:`factor_radau` on the sparse path: ``Jv`` (1, nnz) holds J's values on the pattern
    of ``slu_r``/``slu_c`` (fastode.kernels.newton.sparse_w_workspace, real and complex);
    MU_REAL/h I - J and MU_COMPLEX/h I - J are factored into them
    (fastode.kernels.newton.sparse_w_factor: the last pivots kept where they serve). Returns
    True when either is singular."""
    info = sparse_w_factor(slu_r, Jv, MU_REAL / h, 1.0)
    info2 = sparse_w_factor(slu_c, Jv, complex(MU_CR / h, MU_CI / h), 1.0)
    return info != 0 or info2 != 0
