"""Radau IIA of order 5: Hairer & Wanner's RADAU5 scheme, step for step as scipy's ``Radau``.

E. Hairer, G. Wanner, Solving Ordinary Differential Equations II, 2nd ed., Sec. IV.8.
The scheme (scipy/integrate/_ivp/radau.py follows the same one):

* simplified Newton on the transformed stage system W = TI Z: per iteration three RHS calls,
  one real solve with ``MU_REAL/h M - J`` and one complex solve with ``MU_COMPLEX/h M - J``
  (``M`` = identity, or the mass matrix of ``M y' = f(t, y)``), stopped on the estimated
  convergence rate (at most NEWTON_MAXITER iterations);
* Jacobian reuse: J is kept across steps and recomputed after an accepted step whose Newton
  needed more than 2 iterations with rate > 1e-3, or when Newton fails with an old J; the LU
  factors are kept while the step size is kept (a step-size factor below 1.2 is not taken);
* Newton failure with a fresh J halves the step;
* error estimate ``(MU_REAL/h M - J)^{-1} (f + M Z^T E / h)``, refined with one more RHS call
  after a rejection (Hairer-Wanner IV.8, eq. 8.20-8.21);
* Gustafsson's predictive step-size controller (``predict_factor``);
* collocation dense output, the cubic y + Z^T P [theta, theta^2, theta^3] in monomial form; it
  also predicts the next step's stage values.

Mass matrices: ``M y' = f`` with constant M, singular M allowed (index-1 DAEs: the algebraic
components need consistent initial values). Without ``first_step`` a DAE starts at h = 1e-6
(RADAU5's default), since f(t0, y0) is not y'(t0) there.

Counters: [nfev, naccept, nreject, t_final, njev, nlu]; nreject counts error-test rejections
and Newton failures; nlu counts each real and each complex factorisation (2 per refactor), as
scipy does.

Structured and banded Jacobians (``radau_solve`` only): with column groups of a sparsity
pattern (``jac_sparsity``, ``lband``/``uband``) J comes from grouped finite differences, scipy's
``_sparse_num_jac`` (fastode.kernels.jacobian.num_jac_grouped: one RHS call per group);
in banded mode (``kl`` >= 0) J is kept in band storage and both iteration matrices, real and
complex, are factored by the banded LU of fastode.kernels.linalg: O(n (kl + ku)) memory,
O(n kl (kl + ku)) work per factorisation, where the dense path needs O(n^2) and O(n^3)
(n = 10^4: 2.4 GB of matrices). Same steps as the dense path, up to rounding.

``radau_solve`` integrates a whole interval. ``radau_init`` + ``radau_advance`` run the same
step one call at a time from state kept in caller-owned arrays (``radau_workspace``), for the
step-by-step class fastode.solvers_implicit.Radau.
"""
import math

import numpy as np
from numba import njit

from . import status as st
from ..tableaus import radau as tab
from .buffers import grow_1d, grow_2d
from .callbacks import call_event, call_rhs, call_rhs_row
from .control import select_initial_step
from .explicit import record_events, record_segment
from .interpolation import evaluate_dense
from .jacobian import (FD_NUM_JAC, JAC_CONSTANT, JAC_FD, JAC_USER, NEWTON_FAILED, SINGULAR,
                       evaluate_jacobian, num_jac_dense)
from .linalg import band_lu_factor, band_lu_solve
from .newton import EPS, lu_factor_inline as lu_factor, lu_solve_inline as lu_solve, spacing10

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
                 br, bc, mass, has_mass, mw):
    """Solve the collocation system by simplified Newton from the guess Z0 (3, n).

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
                for j in range(n):
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
def mass_times(mass, has_mass, v, out):
    """out = M v (or v)."""
    n = v.shape[0]
    if has_mass:
        for i in range(n):
            acc = 0.0
            for j in range(n):
                acc += mass[i, j] * v[j]
            out[i] = acc
    else:
        for i in range(n):
            out[i] = v[i]


@njit(cache=True, nogil=True)
def mass_times_band(mass, has_mass, kl, ku, v, out):
    """out = M v (or v) for a mass matrix inside the band (kl sub-, ku super-diagonals)."""
    n = v.shape[0]
    if has_mass:
        for i in range(n):
            acc = 0.0
            for j in range(max(0, i - kl), min(n, i + ku + 1)):
                acc += mass[i, j] * v[j]
            out[i] = acc
    else:
        for i in range(n):
            out[i] = v[i]


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
    """:func:`radau_newton` with the banded factors of :func:`factor_radau_band` (a mass
    matrix inside the band). Returns (converged, n_iter, rate (-1: none), nfev, finite)."""
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
                for j in range(max(0, m - kl), min(n, m + ku + 1)):
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
        band_lu_solve(LUr, kl, ku, pivr, br)
        band_lu_solve(LUc, kl, ku, pivc, bc)
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


@njit(cache=True, nogil=True)
def radau_solve(rhs, jac, use_jac, p, t0, t1, y0, rtol, atol, mass, has_mass, first_step,
                max_step, min_step, max_steps, t_eval, use_t_eval, dense,
                event_addresses, event_directions, event_terminal, event_samples,
                group_ptr=None, group_cols=None, col_ptr=None, rows=None, kl=-1, ku=-1):
    """Integrate M y' = f(t, y, p) from t0 to t1 with Radau IIA order 5 (see the module doc).

    The implicit driver contract of fastode.ivp_implicit, structured and banded: ``use_jac``
    is a Jacobian mode of fastode.kernels.jacobian (JAC_FD, JAC_USER, JAC_CONSTANT (called
    like JAC_USER), JAC_FD_GROUPED; a bool is read as JAC_FD / JAC_USER), then the column
    groups ``group_ptr, group_cols, col_ptr, rows`` and ``kl, ku`` (``kl`` >= 0: banded mode).
    Without the trailing arguments: dense, as before them. ``mass`` (n, n) is used when
    ``has_mass`` (in banded mode, inside the band only). Returns the 13-tuple of the contract,
    counters = [nfev, naccept, nreject, t_final, njev, nlu].
    """
    if group_ptr is None:
        no_groups = np.zeros(1, dtype=np.int64)
        return radau_driver(rhs, jac, np.int64(use_jac), p, t0, t1, y0, rtol, atol, mass,
                            has_mass, first_step, max_step, min_step, max_steps, t_eval,
                            use_t_eval, dense, event_addresses, event_directions,
                            event_terminal, event_samples, no_groups, no_groups, no_groups,
                            no_groups, np.int64(-1), np.int64(-1))
    return radau_driver(rhs, jac, np.int64(use_jac), p, t0, t1, y0, rtol, atol, mass, has_mass,
                        first_step, max_step, min_step, max_steps, t_eval, use_t_eval, dense,
                        event_addresses, event_directions, event_terminal, event_samples,
                        group_ptr, group_cols, col_ptr, rows, np.int64(kl), np.int64(ku))


# Why radau_driver's dense path has the Newton iteration, the factorisations, the LU solves, the
# error estimate and the FD Jacobian after an accepted step written out in the loop body
# (radau_newton, factor_radau, mass_times, linalg's lu_factor/lu_solve, newton.fd_jacobian, line
# for line): numba increfs and decrefs every array argument of every helper call, inlined or
# not, with an atomic update each that its refcount pruning leaves in. Counted with
# NUMBA_DEBUG_NRT=1 per solve (Robertson / HIRES / Van der Pol mu=1e3, rtol 1e-3): 4465 / 5701 /
# 24853 updates (80-105 per step) before, 233 / 273 / 1073 after; kernel time 1.2-2.1x lower,
# same results bit for bit. The banded path keeps its helpers (its O(n) work per call dwarfs
# the refcounts); so do the rare calls (first Jacobian, Jacobian after a Newton failure) and the
# output helpers (events, dense segments).
@njit(cache=True, nogil=True)
def radau_driver(rhs, jac, use_jac, p, t0, t1, y0, rtol, atol, mass, has_mass, first_step,
                 max_step, min_step, max_steps, t_eval, use_t_eval, dense,
                 event_addresses, event_directions, event_terminal, event_samples,
                 group_ptr, group_cols, col_ptr, rows, kl, ku):
    """:func:`radau_solve` with every argument given (``use_jac`` an int mode).

    Banded mode (``kl`` >= 0): J in band storage (kl + ku + 1, n) from
    fastode.kernels.jacobian.num_jac_grouped (the column groups must lie in the band), the
    real and complex iteration matrices in LAPACK's gbtrf layout (2 kl + ku + 1, n), factored
    and solved by fastode.kernels.linalg's banded LU: O(n (kl + ku)) memory and
    O(n kl (kl + ku)) work per factorisation. ``JAC_FD_GROUPED`` with ``kl`` < 0: the dense
    path with J from the column groups (a sparse pattern that is not a narrow band). Otherwise
    the dense path, unchanged.
    """
    n = y0.shape[0]
    q = 3
    n_events = event_addresses.shape[0]
    direction = 1.0 if t1 >= t0 else -1.0
    status = st.SUCCESS

    y = y0.copy()
    y_new = np.empty(n)
    f = np.empty(n)
    f_new = np.empty(n)
    ytmp = np.empty(n)
    fbuf = np.empty(n)
    scale = np.empty(n)
    err = np.empty(n)
    ze = np.empty(n)
    Z0 = np.zeros((3, n))
    Z = np.zeros((3, n))
    W = np.empty((3, n))
    F = np.empty((3, n))
    mw = np.empty((3, n))
    banded = kl >= 0
    user_jac = use_jac == JAC_USER or use_jac == JAC_CONSTANT
    if banded:
        # band arrays F-ordered (each column contiguous, as LAPACK's); dense ones unused
        J = np.zeros((1, 1))
        LUr = np.empty((1, 1))
        LUc = np.empty((1, 1), dtype=np.complex128)
        Jb = np.zeros((n, kl + ku + 1)).T
        LUrb = np.zeros((n, 2 * kl + ku + 1)).T
        LUcb = np.zeros((n, 2 * kl + ku + 1), dtype=np.complex128).T
    else:
        J = np.zeros((n, n))
        LUr = np.empty((n, n))
        LUc = np.empty((n, n), dtype=np.complex128)
        Jb = np.zeros((1, 1)).T
        LUrb = np.zeros((1, 1)).T
        LUcb = np.zeros((1, 1), dtype=np.complex128).T
    cmax = np.empty(n)    # scratch of the grouped Jacobians
    cscale = np.empty(n)
    pivr = np.empty(n, dtype=np.int64)
    pivc = np.empty(n, dtype=np.int64)
    br = np.empty(n)
    bc = np.empty(n, dtype=np.complex128)
    Q = np.zeros((n, q))
    y_sol = np.empty(n)           # previous step's interpolant: start, size, Q
    Q_sol = np.zeros((n, q))
    jac_factor = np.full(n, math.sqrt(EPS))
    hvec = np.empty(n)
    yscale = np.empty(n)
    ybuf = np.empty((1, n))

    if use_t_eval:
        t_out = np.empty(t_eval.shape[0])
        y_out = np.empty((t_eval.shape[0], n))
    else:
        t_out = np.empty(256)
        y_out = np.empty((256, n))
        t_out[0] = t0
        y_out[0] = y0
    n_out = 0 if use_t_eval else 1
    i_eval = 0
    seg_t = np.empty(256 if dense else 0)
    seg_h = np.empty(seg_t.shape[0])
    seg_data = np.empty((seg_t.shape[0], n * (q + 1)))
    n_seg = 0
    events_per_step = n_events * max(event_samples, 1)
    ev_t = np.empty(events_per_step + 8)
    ev_y = np.empty((ev_t.shape[0], n))
    ev_index = np.empty(ev_t.shape[0], dtype=np.int64)
    n_ev = 0
    ev_count = np.zeros(n_events, dtype=np.int64)
    g_old = np.empty(n_events)
    g_new = np.empty(n_events)
    found_theta = np.empty(events_per_step)
    found_index = np.empty(events_per_step, dtype=np.int64)

    counters = np.zeros(6)
    nfev = 0
    njev = 0
    nlu = 0
    naccept = 0
    nreject = 0
    attempts = 0
    t = t0
    call_rhs(rhs, t, y, p, f)
    nfev += 1
    for e in range(n_events):
        g_old[e] = call_event(event_addresses[e], t, y, p)

    finite0 = True
    for i in range(n):
        if not math.isfinite(f[i]):
            finite0 = False
    if t1 == t0 or not finite0:
        if t1 == t0 and use_t_eval:
            for k in range(t_eval.shape[0]):
                t_out[k] = t0
                y_out[k] = y0
            n_out = t_eval.shape[0]
        counters[0] = nfev
        counters[3] = t0
        return (st.SUCCESS if t1 == t0 else st.NON_FINITE, t_out, y_out, n_out, seg_t, seg_h,
                seg_data, n_seg, ev_t, ev_y, ev_index, n_ev, counters)

    rtol_min = rtol[0]
    for i in range(n):
        rtol_min = min(rtol_min, rtol[i])
    newton_tol = max(10.0 * EPS / rtol_min, min(0.03, rtol_min ** 0.5))
    if first_step > 0.0:
        h_abs = first_step
    elif has_mass:
        # f(t0, y0) is not y'(t0) for M != I: RADAU5's default first step
        h_abs = min(1e-6, abs(t1 - t0), max_step)
    else:
        h_abs = select_initial_step(rhs, p, t0, y0, f, t1, max_step, direction, 3, rtol, atol,
                                    ytmp, fbuf)
        nfev += 1
    h_abs_old = -1.0
    error_norm_old = -1.0

    evaluate_jacobian(use_jac, FD_NUM_JAC, rhs, jac, p, t, y, f, atol, J, Jb, kl, ku,
                      group_ptr, group_cols, col_ptr, rows, jac_factor, hvec, yscale,
                      ytmp, fbuf, cmax, cscale)
    njev += 1
    current_jac = True
    lu_valid = False
    have_sol = False
    t_sol = t0
    h_sol = 1.0
    finished = False

    while not finished:
        if not use_t_eval and n_out == t_out.shape[0]:
            t_out = grow_1d(t_out, n_out + 1)
            y_out = grow_2d(y_out, n_out + 1)
        if dense and n_seg == seg_t.shape[0]:
            seg_t = grow_1d(seg_t, n_seg + 1)
            seg_h = grow_1d(seg_h, n_seg + 1)
            seg_data = grow_2d(seg_data, n_seg + 1)
        if n_ev + events_per_step > ev_t.shape[0]:
            ev_t = grow_1d(ev_t, n_ev + events_per_step)
            ev_y = grow_2d(ev_y, n_ev + events_per_step)
            ev_index = grow_1d(ev_index, n_ev + events_per_step)

        while True:
            if direction * (t - t1) >= 0.0:
                finished = True
                break
            if ((not use_t_eval and n_out == t_out.shape[0])
                    or (dense and n_seg == seg_t.shape[0])
                    or n_ev + events_per_step > ev_t.shape[0]):
                break
            # ---- one step, as scipy's Radau._step_impl ---------------------------------
            spacing = spacing10(t, direction)
            if h_abs > max_step:
                ha = max_step
                ha_old = -1.0
                en_old = -1.0
            elif h_abs < spacing:
                ha = spacing
                ha_old = -1.0
                en_old = -1.0
            else:
                ha = h_abs
                ha_old = h_abs_old
                en_old = error_norm_old
            rejected = False
            accepted = False
            fail_kind = 0
            n_singular = 0
            error_norm = 0.0
            n_iter = 0
            rate = -1.0
            safety = 0.9
            t_new = t
            h = 0.0
            while not accepted:
                if max_steps > 0 and attempts >= max_steps:
                    status = st.MAX_STEPS
                    break
                if ha < spacing or ha < min_step:
                    status = FAIL_STATUS[fail_kind]
                    break
                attempts += 1
                h = ha * direction
                t_new = t + h
                if direction * (t_new - t1) > 0.0:
                    t_new = t1
                h = t_new - t
                ha = abs(h)
                if have_sol:
                    for i in range(3):
                        x = (t + h * tab.C[i] - t_sol) / h_sol
                        x2 = x * x
                        x3 = x2 * x
                        for m in range(n):
                            Z0[i, m] = ((Q_sol[m, 0] * x + Q_sol[m, 1] * x2 + Q_sol[m, 2] * x3)
                                        + y_sol[m]) - y[m]
                for m in range(n):
                    scale[m] = atol[m] + abs(y[m]) * rtol[m]
                converged = False
                finite = True
                while not converged:
                    singular = False
                    if not lu_valid:
                        if banded:
                            singular = factor_radau_band(Jb, mass, has_mass, h, kl, ku, LUrb,
                                                         pivr, LUcb, pivc)
                        else:
                            # -- LUr = MU_REAL/h M - J, LUc = MU_COMPLEX/h M - J (factor_radau)
                            mr = MU_REAL / h
                            mcr = MU_CR / h
                            mci = MU_CI / h
                            for i in range(n):
                                for j in range(n):
                                    if has_mass:
                                        mij = mass[i, j]
                                    else:
                                        mij = 1.0 if i == j else 0.0
                                    LUr[i, j] = mr * mij - J[i, j]
                                    LUc[i, j] = complex(mcr * mij - J[i, j], mci * mij)
                            # -- real LU in place (fastode.kernels.linalg.lu_factor)
                            info_r = 0
                            for k in range(n):
                                pk = k
                                best = abs(LUr[k, k])
                                for i in range(k + 1, n):
                                    av = abs(LUr[i, k])
                                    if av > best:
                                        best = av
                                        pk = i
                                pivr[k] = pk
                                if best == 0.0:
                                    if info_r == 0:
                                        info_r = k + 1
                                    continue
                                if pk != k:
                                    for j in range(n):
                                        tr = LUr[k, j]
                                        LUr[k, j] = LUr[pk, j]
                                        LUr[pk, j] = tr
                                invr = 1.0 / LUr[k, k]
                                for i in range(k + 1, n):
                                    LUr[i, k] *= invr
                                    lr = LUr[i, k]
                                    if lr != 0.0:
                                        for j in range(k + 1, n):
                                            LUr[i, j] -= lr * LUr[k, j]
                            # -- complex LU in place (the same, complex128)
                            info_c = 0
                            for k in range(n):
                                pk = k
                                best = abs(LUc[k, k])
                                for i in range(k + 1, n):
                                    av = abs(LUc[i, k])
                                    if av > best:
                                        best = av
                                        pk = i
                                pivc[k] = pk
                                if best == 0.0:
                                    if info_c == 0:
                                        info_c = k + 1
                                    continue
                                if pk != k:
                                    for j in range(n):
                                        tc = LUc[k, j]
                                        LUc[k, j] = LUc[pk, j]
                                        LUc[pk, j] = tc
                                invc = 1.0 / LUc[k, k]
                                for i in range(k + 1, n):
                                    LUc[i, k] *= invc
                                    lc = LUc[i, k]
                                    if lc != 0.0:
                                        for j in range(k + 1, n):
                                            LUc[i, j] -= lc * LUc[k, j]
                            singular = info_r != 0 or info_c != 0
                        nlu += 2
                        lu_valid = not singular
                    if not singular:
                        if banded:
                            converged, n_iter, rate, nf, finite = radau_newton_band(
                                rhs, p, t, y, h, Z0, Z, W, F, ytmp, scale, newton_tol, LUrb,
                                pivr, LUcb, pivc, br, bc, mass, has_mass, mw, kl, ku)
                        else:
                            # ---- simplified Newton on W = TI Z from Z0 (radau_newton) ----
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
                            nf = 0
                            n_iter = 0
                            ch0 = h * C0
                            ch1 = h * C1
                            ch2 = h * C2
                            inv_size = 1.0 / (3 * n)
                            for it in range(NEWTON_MAXITER):
                                n_iter = it + 1
                                # -- F[i] = f(t + c_i h, y + Z[i])
                                for m in range(n):
                                    ytmp[m] = y[m] + Z[0, m]
                                call_rhs_row(rhs, t + ch0, ytmp, p, F, 0)
                                for m in range(n):
                                    ytmp[m] = y[m] + Z[1, m]
                                call_rhs_row(rhs, t + ch1, ytmp, p, F, 1)
                                for m in range(n):
                                    ytmp[m] = y[m] + Z[2, m]
                                call_rhs_row(rhs, t + ch2, ytmp, p, F, 2)
                                nf += 3
                                for i in range(3):
                                    for m in range(n):
                                        if not math.isfinite(F[i, m]):
                                            finite = False
                                if not finite:
                                    break
                                # -- right-hand sides: br (real), bc (complex) = TI F - mu/h M W
                                if has_mass:
                                    for m in range(n):
                                        a0 = 0.0
                                        a1 = 0.0
                                        a2 = 0.0
                                        for j in range(n):
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
                                # -- br = LUr^-1 br (fastode.kernels.linalg.lu_solve)
                                for k in range(n):
                                    pk = pivr[k]
                                    if pk != k:
                                        tr = br[k]
                                        br[k] = br[pk]
                                        br[pk] = tr
                                for i in range(n):
                                    sr = br[i]
                                    for j in range(i):
                                        sr -= LUr[i, j] * br[j]
                                    br[i] = sr
                                for i in range(n - 1, -1, -1):
                                    sr = br[i]
                                    for j in range(i + 1, n):
                                        sr -= LUr[i, j] * br[j]
                                    br[i] = sr / LUr[i, i]
                                # -- bc = LUc^-1 bc
                                for k in range(n):
                                    pk = pivc[k]
                                    if pk != k:
                                        tc = bc[k]
                                        bc[k] = bc[pk]
                                        bc[pk] = tc
                                for i in range(n):
                                    sc = bc[i]
                                    for j in range(i):
                                        sc -= LUc[i, j] * bc[j]
                                    bc[i] = sc
                                for i in range(n - 1, -1, -1):
                                    sc = bc[i]
                                    for j in range(i + 1, n):
                                        sc -= LUc[i, j] * bc[j]
                                    bc[i] = sc / LUc[i, i]
                                # -- convergence test on the scaled RMS norm of the increment
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
                                    if (rate >= 1.0 or rate ** (NEWTON_MAXITER - it)
                                            / (1.0 - rate) * dw_norm > newton_tol):
                                        break
                                # -- W += dW, Z = T W
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
                                if dw_norm == 0.0 or (has_rate
                                                      and rate / (1.0 - rate) * dw_norm
                                                      < newton_tol):
                                    converged = True
                                    break
                                dw_norm_old = dw_norm
                        nfev += nf
                    if not converged:
                        if current_jac:
                            break
                        njev += 1
                        evaluate_jacobian(use_jac, FD_NUM_JAC, rhs, jac, p, t, y, f, atol, J,
                                          Jb, kl, ku, group_ptr, group_cols, col_ptr, rows,
                                          jac_factor, hvec, yscale, ytmp, fbuf, cmax, cscale)
                        current_jac = True
                        lu_valid = False
                if not converged:
                    fail_kind = 1 if not finite else (2 if singular else 3)
                    n_singular = n_singular + 1 if singular else 0
                    if n_singular >= MAX_SINGULAR_CUTS:
                        status = SINGULAR
                        break
                    ha *= 0.5
                    lu_valid = False
                    nreject += 1
                    continue
                fail_kind = 0
                for m in range(n):
                    y_new[m] = y[m] + Z[2, m]
                    ze[m] = (Z[0, m] * E0 + Z[1, m] * E1 + Z[2, m] * E2) / h
                if banded:
                    mass_times_band(mass, has_mass, kl, ku, ze, err)
                    for m in range(n):
                        err[m] = f[m] + err[m]
                    band_lu_solve(LUrb, kl, ku, pivr, err)
                else:
                    # -- err = LUr^-1 (f + M Z^T E / h) (mass_times, then linalg.lu_solve)
                    if has_mass:
                        for i in range(n):
                            acc = 0.0
                            for j in range(n):
                                acc += mass[i, j] * ze[j]
                            err[i] = f[i] + acc
                    else:
                        for i in range(n):
                            err[i] = f[i] + ze[i]
                    for k in range(n):
                        pk = pivr[k]
                        if pk != k:
                            tr = err[k]
                            err[k] = err[pk]
                            err[pk] = tr
                    for i in range(n):
                        sr = err[i]
                        for j in range(i):
                            sr -= LUr[i, j] * err[j]
                        err[i] = sr
                    for i in range(n - 1, -1, -1):
                        sr = err[i]
                        for j in range(i + 1, n):
                            sr -= LUr[i, j] * err[j]
                        err[i] = sr / LUr[i, i]
                acc = 0.0
                for m in range(n):
                    scale[m] = atol[m] + max(abs(y[m]), abs(y_new[m])) * rtol[m]
                    r = err[m] / scale[m]
                    acc += r * r
                error_norm = math.sqrt(acc / n)
                safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter)
                if rejected and error_norm > 1.0:
                    for m in range(n):
                        ytmp[m] = y[m] + err[m]
                    call_rhs(rhs, t, ytmp, p, fbuf)
                    nfev += 1
                    acc = 0.0
                    if banded:
                        mass_times_band(mass, has_mass, kl, ku, ze, err)
                        for m in range(n):
                            err[m] = fbuf[m] + err[m]
                        band_lu_solve(LUrb, kl, ku, pivr, err)
                    else:
                        # -- err = LUr^-1 (fbuf + M Z^T E / h) (mass_times, then linalg.lu_solve)
                        if has_mass:
                            for i in range(n):
                                acc = 0.0
                                for j in range(n):
                                    acc += mass[i, j] * ze[j]
                                err[i] = fbuf[i] + acc
                        else:
                            for i in range(n):
                                err[i] = fbuf[i] + ze[i]
                        for k in range(n):
                            pk = pivr[k]
                            if pk != k:
                                tr = err[k]
                                err[k] = err[pk]
                                err[pk] = tr
                        for i in range(n):
                            sr = err[i]
                            for j in range(i):
                                sr -= LUr[i, j] * err[j]
                            err[i] = sr
                        for i in range(n - 1, -1, -1):
                            sr = err[i]
                            for j in range(i + 1, n):
                                sr -= LUr[i, j] * err[j]
                            err[i] = sr / LUr[i, i]
                    for m in range(n):
                        r = err[m] / scale[m]
                        acc += r * r
                    error_norm = math.sqrt(acc / n)
                if not (error_norm <= 1.0):
                    if math.isfinite(error_norm):
                        factor = predict_factor(ha, ha_old, error_norm, en_old)
                        ha *= max(MIN_FACTOR, safety * factor)
                    else:
                        ha *= MIN_FACTOR
                        fail_kind = 1
                    lu_valid = False
                    rejected = True
                    nreject += 1
                else:
                    accepted = True
            if not accepted:
                finished = True
                break
            naccept += 1
            recompute_jac = n_iter > 2 and rate > 1e-3
            factor = predict_factor(ha, ha_old, error_norm, en_old)
            factor = min(MAX_FACTOR, safety * factor)
            if not recompute_jac and factor < 1.2:
                factor = 1.0
            else:
                lu_valid = False
            call_rhs(rhs, t_new, y_new, p, f_new)
            nfev += 1
            f_finite = True
            for m in range(n):
                if not math.isfinite(f_new[m]):
                    f_finite = False
            if not f_finite:
                status = st.NON_FINITE
            elif recompute_jac:
                if use_jac == JAC_FD:
                    # scipy's num_jac, inlined: the Jacobian after an accepted step is the
                    # frequent one (the others below are evaluate_jacobian's call)
                    num_jac_dense(rhs, p, t_new, y_new, f_new, atol, J, jac_factor, hvec, yscale,
                                  ytmp, fbuf)
                elif user_jac:
                    call_rhs(jac, t_new, y_new, p, J)
                else:
                    evaluate_jacobian(use_jac, FD_NUM_JAC, rhs, jac, p, t_new, y_new, f_new, atol,
                                      J, Jb, kl, ku, group_ptr, group_cols, col_ptr, rows,
                                      jac_factor, hvec, yscale, ytmp, fbuf, cmax, cscale)
                njev += 1
                current_jac = True
            else:
                current_jac = False
            h_abs_old = h_abs
            error_norm_old = error_norm
            h_abs = ha * factor

            # collocation polynomial of this step: Q = Z^T P (also the next step's predictor)
            for m in range(n):
                z0 = Z[0, m]
                z1 = Z[1, m]
                z2 = Z[2, m]
                Q[m, 0] = z0 * P00 + z1 * P10 + z2 * P20
                Q[m, 1] = z0 * P01 + z1 * P11 + z2 * P21
                Q[m, 2] = z0 * P02 + z1 * P12 + z2 * P22
            # ---- events, dense output, saved points (as the explicit driver) ----------
            stop = False
            t_stop = t_new
            if n_events > 0 and status == st.SUCCESS:
                n_ev, stop, theta_stop, event_failed = record_events(
                    event_addresses, event_directions, event_terminal, event_samples, p, t, h,
                    y, y_new, Q, g_old, g_new, ybuf, found_theta, found_index, ev_count,
                    ev_t, ev_y, ev_index, n_ev)
                if event_failed:  # end at the step start: the step's events are unknown
                    status = st.EVENT_FAILED
                    finished = True
                    break
                if stop:
                    t_stop = t + theta_stop * h
            if dense:
                record_segment(t, h, y, Q, seg_t, seg_h, seg_data, n_seg)
                n_seg += 1
            if use_t_eval:
                while (i_eval < t_eval.shape[0]
                       and direction * (t_eval[i_eval] - t_stop) <= 0.0):
                    te = t_eval[i_eval]
                    t_out[n_out] = te
                    if te == t_new:
                        for m in range(n):
                            y_out[n_out, m] = y_new[m]
                    else:
                        evaluate_dense(y, Q, (te - t) / h, y_out, n_out)
                    n_out += 1
                    i_eval += 1
            else:
                t_out[n_out] = t_stop
                if stop:
                    evaluate_dense(y, Q, (t_stop - t) / h, y_out, n_out)
                else:
                    for m in range(n):
                        y_out[n_out, m] = y_new[m]
                n_out += 1
            if stop:
                status = st.TERMINATED
                t = t_stop
                finished = True
                break
            have_sol = True
            t_sol = t
            h_sol = h
            for m in range(n):
                y_sol[m] = y[m]
                Q_sol[m, 0] = Q[m, 0]
                Q_sol[m, 1] = Q[m, 1]
                Q_sol[m, 2] = Q[m, 2]
                y[m] = y_new[m]
                f[m] = f_new[m]
            t = t_new
            if status != st.SUCCESS:
                finished = True
                break

    counters[0] = nfev
    counters[1] = naccept
    counters[2] = nreject
    counters[3] = t
    counters[4] = njev
    counters[5] = nlu
    return (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg,
            ev_t, ev_y, ev_index, n_ev, counters)


# ---- resumable stepping, for the step-by-step class fastode.solvers_implicit.Radau --------------
# radau_solve keeps its own copy of the step loop: measured here, moving the step into an
# inline="always" function costs radau_solve 1.3x on Robertson (rtol 1e-6), because numba
# increfs/decrefs every array passed to a function, inlined or not (~12 ns per array and call,
# about 30 arrays per step), and a call with more than 30 arguments compiles to
# CALL_FUNCTION_EX, which numba cannot inline. radau_step below is the same algorithm, line for
# line (tests/test_solvers_implicit.py checks that both take the same steps), for one step per
# Python call, where that cost does not matter.
#
# The state scalars of a resumable integration, in a float64 array ``sv`` (flags 0.0 / 1.0,
# counts as floats):
SV_T = 0            # current t
SV_T1 = 1           # end of the interval (t_bound)
SV_DIRECTION = 2    # +1.0 or -1.0
SV_MAX_STEP = 3
SV_MIN_STEP = 4
SV_MAX_STEPS = 5    # <= 0: unlimited
SV_NEWTON_TOL = 6
SV_H_ABS = 7        # step size to try next
SV_H_ABS_OLD = 8    # previous accepted step size (< 0: none)
SV_ERR_OLD = 9      # previous accepted error norm (< 0: none)
SV_CURRENT_JAC = 10  # J was evaluated at the current (t, y)
SV_LU_VALID = 11    # the LU factors belong to the current step size
SV_HAVE_SOL = 12    # the previous step's interpolant exists (Q_sol)
SV_T_SOL = 13       # its start
SV_H_SOL = 14       # its signed size
SV_ATTEMPTS = 15
SV_NFEV = 16
SV_NJEV = 17
SV_NLU = 18
SV_NACCEPT = 19
SV_NREJECT = 20
SV_ACCEPTED = 21    # the last step call accepted a step
SV_T_NEW = 22       # ... ending at t_new
SV_H = 23           # ... of signed size h
SV_SIZE = 24


@njit(cache=True, nogil=True)
def step_jacobian(rhs, jac, use_jac, p, t, y, f, aux, J, ytmp, fbuf):
    """The step-by-step class's J at (t, y): the user's (``use_jac``) or scipy's num_jac with
    the increment factors ``aux[2]`` (fastode.kernels.jacobian.evaluate_jacobian; dense only)."""
    no_groups = np.empty(0, dtype=np.int64)
    evaluate_jacobian(JAC_USER if use_jac else JAC_FD, FD_NUM_JAC, rhs, jac, p, t, y, f, aux[1],
                      J, J, -1, 0, no_groups, no_groups, no_groups, no_groups, aux[2], aux[3],
                      aux[4], ytmp, fbuf, aux[3], aux[4])


@njit(cache=True, nogil=True, inline="always")
def radau_step(rhs, jac, use_jac, p, sv, y, f, aux, mass, has_mass, y_new, f_new, ytmp, fbuf,
               scale, err, br, bc, Z0, Z, W, F, mw, J, LUr, LUc, pivr, pivc, Q, Q_sol):
    """One step from (t, y), with its rejections, as scipy's ``Radau._step_impl``
    (radau_solve's step, on state kept in caller-owned arrays).

    The state scalars are in ``sv`` (``SV_*``); ``f`` = f(t, y); ``aux`` (5, n) = [rtol, atol,
    the finite-difference increment factors (carried from call to call), work, work]. Also
    carried: J, the LU factors (``LUr``/``pivr``, ``LUc``/``pivc``, valid when
    ``SV_LU_VALID``), and the previous step's interpolant ``Q_sol`` (n, 4) = [Q | y at its
    start] on [t_sol, t_sol + h_sol], which predicts the stage values (Z0). Work: ``Z0``, ``Z``,
    ``W``, ``F``, ``mw`` (3, n) and the n-vectors.

    On acceptance (``sv[SV_ACCEPTED]`` = 1) it leaves t_new and h in ``sv``, y(t_new) in
    ``y_new``, f(t_new, y_new) in ``f_new`` and the step's collocation polynomial in ``Q``
    (n, 3), monomial form; :func:`radau_commit` then moves on. Returns the status: SUCCESS; a
    failure with no step accepted (MAX_STEPS, or a collapsed step: FAIL_STATUS); NON_FINITE with
    the step accepted when f(t_new, y_new) is not finite.
    """
    n = y.shape[0]
    status = st.SUCCESS
    t = sv[SV_T]
    t1 = sv[SV_T1]
    direction = sv[SV_DIRECTION]
    max_step = sv[SV_MAX_STEP]
    min_step = sv[SV_MIN_STEP]
    max_steps = sv[SV_MAX_STEPS]
    newton_tol = sv[SV_NEWTON_TOL]
    h_abs = sv[SV_H_ABS]
    current_jac = sv[SV_CURRENT_JAC] != 0.0
    lu_valid = sv[SV_LU_VALID] != 0.0
    have_sol = sv[SV_HAVE_SOL] != 0.0
    t_sol = sv[SV_T_SOL]
    h_sol = sv[SV_H_SOL]
    attempts = sv[SV_ATTEMPTS]
    nfev = 0
    njev = 0
    nlu = 0
    nreject = 0
    spacing = spacing10(t, direction)
    if h_abs > max_step:
        ha = max_step
        ha_old = -1.0
        en_old = -1.0
    elif h_abs < spacing:
        ha = spacing
        ha_old = -1.0
        en_old = -1.0
    else:
        ha = h_abs
        ha_old = sv[SV_H_ABS_OLD]
        en_old = sv[SV_ERR_OLD]
    rejected = False
    accepted = False
    fail_kind = 0
    n_singular = 0
    error_norm = 0.0
    n_iter = 0
    rate = -1.0
    safety = 0.9
    t_new = t
    h = 0.0
    while not accepted:
        if max_steps > 0 and attempts >= max_steps:
            status = st.MAX_STEPS
            break
        if ha < spacing or ha < min_step:
            status = FAIL_STATUS[fail_kind]
            break
        attempts += 1
        h = ha * direction
        t_new = t + h
        if direction * (t_new - t1) > 0.0:
            t_new = t1
        h = t_new - t
        ha = abs(h)
        if have_sol:
            for i in range(3):
                x = (t + h * tab.C[i] - t_sol) / h_sol
                x2 = x * x
                x3 = x2 * x
                for m in range(n):
                    Z0[i, m] = ((Q_sol[m, 0] * x + Q_sol[m, 1] * x2 + Q_sol[m, 2] * x3)
                                + Q_sol[m, 3]) - y[m]
        for m in range(n):
            scale[m] = aux[1, m] + abs(y[m]) * aux[0, m]
        converged = False
        finite = True
        while not converged:
            singular = False
            if not lu_valid:
                singular = factor_radau(J, mass, has_mass, h, LUr, pivr, LUc, pivc)
                nlu += 2
                lu_valid = not singular
            if not singular:
                converged, n_iter, rate, nf, finite = radau_newton(
                    rhs, p, t, y, h, Z0, Z, W, F, ytmp, scale, newton_tol, LUr, pivr, LUc,
                    pivc, br, bc, mass, has_mass, mw)
                nfev += nf
            if not converged:
                if current_jac:
                    break
                njev += 1
                step_jacobian(rhs, jac, use_jac, p, t, y, f, aux, J, ytmp, fbuf)
                current_jac = True
                lu_valid = False
        if not converged:
            fail_kind = 1 if not finite else (2 if singular else 3)
            n_singular = n_singular + 1 if singular else 0
            if n_singular >= MAX_SINGULAR_CUTS:
                status = SINGULAR
                break
            ha *= 0.5
            lu_valid = False
            nreject += 1
            continue
        fail_kind = 0
        ze = mw[0]  # Newton's M W work row holds Z^T E / h
        for m in range(n):
            y_new[m] = y[m] + Z[2, m]
            ze[m] = (Z[0, m] * E0 + Z[1, m] * E1 + Z[2, m] * E2) / h
        mass_times(mass, has_mass, ze, err)
        for m in range(n):
            err[m] = f[m] + err[m]
        lu_solve(LUr, pivr, err)
        acc = 0.0
        for m in range(n):
            scale[m] = aux[1, m] + max(abs(y[m]), abs(y_new[m])) * aux[0, m]
            r = err[m] / scale[m]
            acc += r * r
        error_norm = math.sqrt(acc / n)
        safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter)
        if rejected and error_norm > 1.0:
            for m in range(n):
                ytmp[m] = y[m] + err[m]
            call_rhs(rhs, t, ytmp, p, fbuf)
            nfev += 1
            mass_times(mass, has_mass, ze, err)
            acc = 0.0
            for m in range(n):
                err[m] = fbuf[m] + err[m]
            lu_solve(LUr, pivr, err)
            for m in range(n):
                r = err[m] / scale[m]
                acc += r * r
            error_norm = math.sqrt(acc / n)
        if not (error_norm <= 1.0):
            if math.isfinite(error_norm):
                factor = predict_factor(ha, ha_old, error_norm, en_old)
                ha *= max(MIN_FACTOR, safety * factor)
            else:
                ha *= MIN_FACTOR
                fail_kind = 1
            lu_valid = False
            rejected = True
            nreject += 1
        else:
            accepted = True
    if accepted:
        recompute_jac = n_iter > 2 and rate > 1e-3
        factor = predict_factor(ha, ha_old, error_norm, en_old)
        factor = min(MAX_FACTOR, safety * factor)
        if not recompute_jac and factor < 1.2:
            factor = 1.0
        else:
            lu_valid = False
        call_rhs(rhs, t_new, y_new, p, f_new)
        nfev += 1
        f_finite = True
        for m in range(n):
            if not math.isfinite(f_new[m]):
                f_finite = False
        if not f_finite:
            status = st.NON_FINITE
        elif recompute_jac:
            step_jacobian(rhs, jac, use_jac, p, t_new, y_new, f_new, aux, J, ytmp, fbuf)
            njev += 1
            current_jac = True
        else:
            current_jac = False
        sv[SV_H_ABS_OLD] = h_abs
        sv[SV_ERR_OLD] = error_norm
        sv[SV_H_ABS] = ha * factor
        sv[SV_NACCEPT] += 1.0
        # collocation polynomial of this step: Q = Z^T P (also the next step's predictor)
        for m in range(n):
            z0 = Z[0, m]
            z1 = Z[1, m]
            z2 = Z[2, m]
            Q[m, 0] = z0 * P00 + z1 * P10 + z2 * P20
            Q[m, 1] = z0 * P01 + z1 * P11 + z2 * P21
            Q[m, 2] = z0 * P02 + z1 * P12 + z2 * P22
    sv[SV_ACCEPTED] = 1.0 if accepted else 0.0
    sv[SV_T_NEW] = t_new
    sv[SV_H] = h
    sv[SV_CURRENT_JAC] = 1.0 if current_jac else 0.0
    sv[SV_LU_VALID] = 1.0 if lu_valid else 0.0
    sv[SV_ATTEMPTS] = attempts
    sv[SV_NFEV] += nfev
    sv[SV_NJEV] += njev
    sv[SV_NLU] += nlu
    sv[SV_NREJECT] += nreject
    return status


@njit(cache=True, nogil=True, inline="always")
def radau_commit(sv, y, f, y_new, f_new, Q, Q_sol):
    """Move on after an accepted step: Q_sol = [Q | y] (the step just taken, the next step's
    predictor), t = t_new, y = y_new, f = f_new."""
    n = y.shape[0]
    sv[SV_HAVE_SOL] = 1.0
    sv[SV_T_SOL] = sv[SV_T]
    sv[SV_H_SOL] = sv[SV_H]
    for m in range(n):
        Q_sol[m, 0] = Q[m, 0]
        Q_sol[m, 1] = Q[m, 1]
        Q_sol[m, 2] = Q[m, 2]
        Q_sol[m, 3] = y[m]
        y[m] = y_new[m]
        f[m] = f_new[m]
    sv[SV_T] = sv[SV_T_NEW]


V_Y, V_Y_NEW, V_F, V_F_NEW, V_YTMP, V_FBUF, V_SCALE, V_ERR, V_BR = range(9)
VEC_ROWS = 9


def radau_workspace(n):
    """Allocate the state of a resumable Radau integration of n equations (plain numpy).

    Returns (sv, vec, aux, stage, J, LUr, LUc, bc, piv, Q, Q_sol): ``sv`` (SV_SIZE,) the
    scalars; ``vec`` (VEC_ROWS, n) the n-vectors (rows V_Y, V_Y_NEW, V_F, ...); ``aux`` (5, n) =
    [rtol, atol, increment factors, work, work] (the caller fills rtol and atol); ``stage``
    (5, 3, n) = [Z0, Z, W, F, M W]; ``J``, ``LUr`` (n, n); ``LUc`` (n, n) and ``bc`` (n,)
    complex; ``piv`` (2, n) int64; ``Q`` (n, 3) the last step's polynomial; ``Q_sol`` (n, 4).
    """
    return (np.zeros(SV_SIZE), np.zeros((VEC_ROWS, n)), np.zeros((5, n)), np.zeros((5, 3, n)),
            np.zeros((n, n)), np.zeros((n, n)), np.zeros((n, n), dtype=np.complex128),
            np.zeros(n, dtype=np.complex128), np.zeros((2, n), dtype=np.int64),
            np.zeros((n, 3)), np.zeros((n, 4)))


@njit(cache=True, nogil=True)
def radau_init(rhs, jac, use_jac, p, t0, t_bound, first_step, max_step, has_mass, sv, vec, aux,
               J):
    """Start a resumable Radau integration from (t0, vec[V_Y]) as radau_solve (and scipy's
    ``Radau`` constructor) does: f(t0, y0); if it is finite, Newton's tolerance, the first
    step (``first_step`` <= 0: Hairer's estimate, one RHS call; with a mass matrix 1e-6) and
    J(t0, y0). ``aux[0]``, ``aux[1]`` must hold rtol and atol.

    Returns the status: SUCCESS, or NON_FINITE when f(t0, y0) is not finite.
    """
    y = vec[V_Y]
    f = vec[V_F]
    n = y.shape[0]
    direction = 1.0 if t_bound >= t0 else -1.0
    for k in range(SV_SIZE):
        sv[k] = 0.0
    sv[SV_T] = t0
    sv[SV_T1] = t_bound
    sv[SV_DIRECTION] = direction
    sv[SV_MAX_STEP] = max_step
    sv[SV_H_ABS_OLD] = -1.0
    sv[SV_ERR_OLD] = -1.0
    call_rhs(rhs, t0, y, p, f)
    sv[SV_NFEV] = 1.0
    for m in range(n):
        if not math.isfinite(f[m]):
            return st.NON_FINITE
    rtol_min = aux[0, 0]
    for i in range(n):
        rtol_min = min(rtol_min, aux[0, i])
    sv[SV_NEWTON_TOL] = max(10.0 * EPS / rtol_min, min(0.03, rtol_min ** 0.5))
    if first_step > 0.0:
        h_abs = first_step
    elif has_mass:
        h_abs = min(1e-6, abs(t_bound - t0), max_step)
    else:
        h_abs = select_initial_step(rhs, p, t0, y, f, t_bound, max_step, direction, 3, aux[0],
                                    aux[1], vec[V_YTMP], vec[V_FBUF])
        if t_bound != t0:  # an empty interval returns 0 without calling f (as scipy)
            sv[SV_NFEV] += 1.0
    sv[SV_H_ABS] = h_abs
    for m in range(n):
        aux[2, m] = math.sqrt(EPS)
    step_jacobian(rhs, jac, use_jac, p, t0, y, f, aux, J, vec[V_YTMP], vec[V_FBUF])
    sv[SV_NJEV] = 1.0
    sv[SV_CURRENT_JAC] = 1.0
    return st.SUCCESS


@njit(cache=True, nogil=True)
def radau_advance(rhs, jac, use_jac, p, mass, has_mass, sv, vec, aux, stage, J, LUr, LUc, bc,
                  piv, Q, Q_sol):
    """Take one step (with its rejections) from the state left by :func:`radau_init` or the
    previous call: :func:`radau_step`, then :func:`radau_commit` when a step was accepted.

    After an accepted step (``sv[SV_ACCEPTED]`` = 1) t = sv[SV_T], y = vec[V_Y], f = vec[V_F]
    are the new point, and the step just taken, from t_sol = sv[SV_T_SOL] with signed size
    h_sol = sv[SV_H_SOL], has the interpolant ``y(t_sol + theta h_sol) = Q_sol[:, 3] +
    Q_sol[:, :3] [theta, theta^2, theta^3]``. Returns the status: SUCCESS; a failure code with
    no step taken; or NON_FINITE with the step taken (f(t_new, y_new) is not finite).
    """
    y = vec[V_Y]
    f = vec[V_F]
    y_new = vec[V_Y_NEW]
    f_new = vec[V_F_NEW]
    status = radau_step(rhs, jac, use_jac, p, sv, y, f, aux, mass, has_mass, y_new, f_new,
                        vec[V_YTMP], vec[V_FBUF], vec[V_SCALE], vec[V_ERR], vec[V_BR], bc,
                        stage[0], stage[1], stage[2], stage[3], stage[4], J, LUr, LUc, piv[0],
                        piv[1], Q, Q_sol)
    if sv[SV_ACCEPTED] != 0.0:
        radau_commit(sv, y, f, y_new, f_new, Q, Q_sol)
    return status
