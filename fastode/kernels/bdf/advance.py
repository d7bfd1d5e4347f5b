"""Variable-order NDF/BDF, step by step: the kernels of the ``BDF`` class (``bdf_start``,
``bdf_advance``; moved from kernels/bdf.py)."""

import math

import numpy as np
from numba import njit

from .. import status as st
from ..callbacks import call_rhs
from ..control import select_initial_step
from ..jacobian import FD_NUM_JAC_BDF, JAC_CONSTANT, JAC_USER, SINGULAR, evaluate_jacobian
from ..linalg import band_lu_factor
from ..newton import lu_factor_inline as lu_factor, spacing10
from .newton import (ALPHA, C_ATTEMPTS, C_NFEV, C_NJEV, C_NLU, C_NREJECT, ERROR_CONST, FAIL_STATUS,
                     GAMMA, MAX_ORDER, MAX_SINGULAR_CUTS, MIN_FACTOR, NEWTON_MAXITER,
                     S_H_ABS, S_LU_VALID, S_N_EQUAL, S_ORDER, W_B, W_CMAX, W_CSCALE, W_D, W_F,
                     W_FJAC, W_HVEC, W_JFAC, W_PREDICT, W_PSI, W_SCALE, W_YSCALE, W_YTMP,
                     bdf_newton, change_D, select_order, update_differences)


# ---- the step-by-step interface (fastode.solvers_bdf.BDF) -----------------------------------

@njit(cache=True, nogil=True)
def bdf_start(rhs, jac, mode, p, t0, y0, t_bound, direction, rtol, atol, first_step, max_step,
              D, J, Jb, kl, ku, group_ptr, group_cols, col_ptr, rows, work, counts):
    """scipy's ``BDF.__init__`` after validation: f0 = f(t0, y0) (into ``work[W_F]``), the
    initial step (Hairer's, one more RHS call, unless ``first_step`` > 0), the first Jacobian
    (J, or Jb when kl >= 0; ``work[W_JFAC]`` must hold the initial increments sqrt(eps)),
    D[0] = y0, D[1] = h f0. Adds to ``counts``; returns (h_abs, f0 finite)."""
    n = y0.shape[0]
    f = work[W_F]
    call_rhs(rhs, t0, y0, p, f)
    counts[C_NFEV] += 1
    finite = True
    for i in range(n):
        if not math.isfinite(f[i]):
            finite = False
    if first_step > 0.0:
        h_abs = first_step
    else:
        h_abs = select_initial_step(rhs, p, t0, y0, f, t_bound, max_step, direction, 1, rtol,
                                    atol, work[W_YTMP], work[W_FJAC])
        if t_bound != t0:
            counts[C_NFEV] += 1
    evaluate_jacobian(mode, FD_NUM_JAC_BDF, rhs, jac, p, t0, y0, f, atol, J, Jb, kl, ku,
                      group_ptr, group_cols, col_ptr, rows, work[W_JFAC], work[W_HVEC],
                      work[W_YSCALE], work[W_YTMP], work[W_FJAC], work[W_CMAX], work[W_CSCALE])
    if mode != JAC_CONSTANT:
        counts[C_NJEV] += 1
    for i in range(n):
        D[0, i] = y0[i]
        D[1, i] = f[i] * h_abs * direction
    return h_abs, finite


@njit(cache=True, nogil=True)
def bdf_advance(rhs, jac, mode, p, t, t_bound, direction, state, opts, rtol, atol, D, J, Jb,
                LU, LUb, piv, kl, ku, group_ptr, group_cols, col_ptr, rows, y_new, work, Dtmp,
                counts):
    """One step of scipy's ``BDF._step_impl`` from t towards t_bound, resumable: the state
    lives in caller-owned arrays (no mass matrix; scipy's class has none).

    ``D`` (MAX_ORDER + 3, n): the differences; J (n, n) or, when kl >= 0, Jb (kl + ku + 1, n)
    F-ordered: the Jacobian; LU / LUb (2 kl + ku + 1, n) F-ordered and ``piv``: the factored
    iteration matrix; ``state`` = [h_abs, order, n_equal_steps, lu_valid] (updated);
    ``opts`` = [max_step, newton_tol]; ``work`` (WORK_ROWS, n): n-vectors, row W_JFAC (the
    finite-difference increments) persists; Dtmp (MAX_ORDER + 1, n): scratch; ``counts`` =
    [nfev, njev, nlu, nreject, attempts] (added to).

    Returns (status, t_new): SUCCESS with the new state in ``y_new`` (D, state: the next
    step's), or STEP_TOO_SMALL / NON_FINITE / SINGULAR / NEWTON_FAILED. The same algorithm as
    the step written out in :func:`bdf_solve`.
    """
    mass = np.zeros((1, 1))
    has_mass = False
    h_abs = state[S_H_ABS]
    order = int(state[S_ORDER])
    n_equal_steps = int(state[S_N_EQUAL])
    lu_valid = state[S_LU_VALID] != 0.0
    max_step = opts[0]
    newton_tol = opts[1]
    min_step = 0.0
    max_steps = 0
    t1 = t_bound
    R = np.empty((MAX_ORDER + 1, MAX_ORDER + 1))
    U = np.empty((MAX_ORDER + 1, MAX_ORDER + 1))
    RU = np.empty((MAX_ORDER + 1, MAX_ORDER + 1))
    y_predict = work[W_PREDICT]
    psi = work[W_PSI]
    scale = work[W_SCALE]
    d = work[W_D]
    b = work[W_B]
    fbuf = work[W_F]
    fjac = work[W_FJAC]
    ytmp = work[W_YTMP]
    hvec = work[W_HVEC]
    yscale = work[W_YSCALE]
    cmax = work[W_CMAX]
    cscale = work[W_CSCALE]
    jac_factor = work[W_JFAC]
    n = y_new.shape[0]
    status = st.SUCCESS
    spacing = spacing10(t, direction)
    if h_abs > max_step:
        change_D(D, order, max_step / h_abs, R, U, RU, Dtmp)
        h_abs = max_step
        n_equal_steps = 0
    elif h_abs < spacing:
        change_D(D, order, spacing / h_abs, R, U, RU, Dtmp)
        h_abs = spacing
        n_equal_steps = 0
    ha = h_abs
    # scipy: a constant Jacobian is always current (a failed Newton cuts the step at once)
    current_jac = mode == JAC_CONSTANT
    accepted = False
    fail_kind = 0
    n_singular = 0
    error_norm = 0.0
    n_iter = 0
    safety = 0.9
    t_new = t
    alpha = ALPHA[order]
    kv = kl + ku
    while not accepted:
        if max_steps > 0 and counts[C_ATTEMPTS] >= max_steps:
            status = st.MAX_STEPS
            break
        if ha < spacing or ha < min_step:
            status = FAIL_STATUS[fail_kind]
            break
        counts[C_ATTEMPTS] += 1
        h = ha * direction
        t_new = t + h
        if direction * (t_new - t1) > 0.0:
            t_new = t1
            change_D(D, order, abs(t_new - t) / ha, R, U, RU, Dtmp)
            n_equal_steps = 0
            lu_valid = False
        h = t_new - t
        ha = abs(h)
        for m in range(n):
            acc = D[0, m]
            for k in range(1, order + 1):
                acc += D[k, m]
            y_predict[m] = acc
            scale[m] = atol[m] + rtol[m] * abs(acc)
            acc = 0.0
            for k in range(1, order + 1):
                acc += D[k, m] * GAMMA[k]
            psi[m] = acc / alpha
        c = h / alpha
        converged = False
        finite = True
        while not converged:
            singular = False
            if not lu_valid:
                if kl >= 0:
                    # M - c J in gbtrf layout (the top kl rows: fill-in workspace)
                    for j in range(n):
                        for r in range(kl):
                            LUb[r, j] = 0.0
                        for i in range(max(0, j - ku), min(n, j + kl + 1)):
                            if has_mass:
                                mij = mass[i, j]
                            else:
                                mij = 1.0 if i == j else 0.0
                            LUb[kv + i - j, j] = mij - c * Jb[ku + i - j, j]
                    singular = band_lu_factor(LUb, kl, ku, piv) != 0
                else:
                    for i in range(n):
                        for j in range(n):
                            if has_mass:
                                mij = mass[i, j]
                            else:
                                mij = 1.0 if i == j else 0.0
                            LU[i, j] = mij - c * J[i, j]
                    singular = lu_factor(LU, piv) != 0
                counts[C_NLU] += 1
                lu_valid = not singular
            if not singular:
                if kl >= 0:
                    converged, n_iter, nf, finite = bdf_newton(
                        rhs, p, t_new, y_predict, c, psi, LUb, kl, ku, piv, scale, newton_tol,
                        y_new, d, fbuf, b, mass, has_mass)
                else:
                    converged, n_iter, nf, finite = bdf_newton(
                        rhs, p, t_new, y_predict, c, psi, LU, -1, -1, piv, scale, newton_tol,
                        y_new, d, fbuf, b, mass, has_mass)
                counts[C_NFEV] += nf
            if not converged:
                if current_jac:
                    break
                if mode != JAC_USER:
                    call_rhs(rhs, t_new, y_predict, p, fjac)
                evaluate_jacobian(mode, FD_NUM_JAC_BDF, rhs, jac, p, t_new, y_predict, fjac, atol,
                                  J, Jb, kl, ku, group_ptr, group_cols, col_ptr, rows,
                                  jac_factor, hvec, yscale, ytmp, fbuf, cmax, cscale)
                counts[C_NJEV] += 1
                lu_valid = False
                current_jac = True
        if not converged:
            fail_kind = 1 if not finite else (2 if singular else 3)
            n_singular = n_singular + 1 if singular else 0
            if n_singular >= MAX_SINGULAR_CUTS:
                status = SINGULAR
                break
            ha *= 0.5
            change_D(D, order, 0.5, R, U, RU, Dtmp)
            n_equal_steps = 0
            lu_valid = False
            counts[C_NREJECT] += 1
            continue
        fail_kind = 0
        safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter)
        ec = ERROR_CONST[order]
        acc = 0.0
        for m in range(n):
            scale[m] = atol[m] + rtol[m] * abs(y_new[m])
            r = ec * d[m] / scale[m]
            acc += r * r
        error_norm = math.sqrt(acc / n)
        if not (error_norm <= 1.0):
            if math.isfinite(error_norm):
                factor = max(MIN_FACTOR, safety * error_norm ** (-1.0 / (order + 1)))
            else:
                factor = MIN_FACTOR
                fail_kind = 1
            ha *= factor
            change_D(D, order, factor, R, U, RU, Dtmp)
            n_equal_steps = 0
            counts[C_NREJECT] += 1
        else:
            accepted = True
    if not accepted:
        return status, t
    n_equal_steps += 1
    h_abs = ha
    update_differences(D, d, order)
    if n_equal_steps >= order + 1:
        order, factor = select_order(D, order, scale, error_norm, safety)
        h_abs *= factor
        change_D(D, order, factor, R, U, RU, Dtmp)
        n_equal_steps = 0
        lu_valid = False
    state[S_H_ABS] = h_abs
    state[S_ORDER] = order
    state[S_N_EQUAL] = n_equal_steps
    state[S_LU_VALID] = 1.0 if lu_valid else 0.0
    return st.SUCCESS, t_new
