"""LSODA-style switching, step by step: the state layout ``L_*`` and the kernels of the ``LSODA``
class (``*_leg_start``, ``*_leg_advance``; moved from kernels/switching.py)."""

import math

import numpy as np
from numba import njit

from .. import status as st
from ..callbacks import call_rhs, call_rhs_row
from ..control import (error_scale, rk_error_norm, select_initial_step, step_factor_accept,
                       step_factor_reject)
from ..explicit.step import all_finite, all_finite_row, rk_step
from ..interpolation import dense_coefficients
from ..jacobian import (FD_SCALED, JAC_CONSTANT, JAC_FD_GROUPED, JAC_USER, SINGULAR,
                        evaluate_jacobian, fd_jacobian_dense, fd_time_derivative)
from ..rosenbrock.coefficients import (FAC_MAX, FAC_MIN, MAX_SINGULAR, R4_A, R4_B, R4_C, R4_E,
                                       R4_GAMMA, R4_H, R4_c, R4_d, SAFE)
from ..rosenbrock.dense import rosenbrock_dense
from .solve import (BACK_HRHO, NONSTIFF, NONSTIFF_RESET, NONSTIFF_STEPS, STIFF, STIFF_HRHO,
                    STIFF_SIGNALS)


# ---- resumable legs, for the step-by-step class fastode.solvers_lsoda.LSODA ------------------
# explicit_leg_solve / rodas_leg_solve keep their own loops (a shared step function would bring
# back the reference-count traffic of the module docstring); the two *_advance kernels below
# take one accepted step each with the same arithmetic, written out the same way, and the same
# switching decisions (tests/test_solvers_implicit.py checks that the step times equal
# solve_ivp(method="LSODA")'s). State scalars, in a float64 array ``sv``:
L_T = 0             # current t
L_H_ABS = 1         # next step size to try
L_H = 2             # signed size of the last accepted step
L_NFEV = 3
L_NJEV = 4
L_NLU = 5
L_NACCEPT = 6
L_NREJECT = 7
L_N_STIFF = 8       # explicit leg: stiff signals counted (dopri5.f)
L_N_NONSTIFF = 9    # explicit leg: non-stiff steps in a row
L_LEG_NACCEPT = 10  # stiff leg: accepted steps of this leg (Gustafsson's controller needs one)
L_H_ACC = 11        # stiff leg: last accepted |h| and error (Gustafsson)
L_ERR_ACC = 12
L_N_SINGULAR = 13   # stiff leg: singular iteration matrices in a row
L_N_BACK = 14       # stiff leg: steps in a row that the explicit method could take
L_NORM_J = 15       # stiff leg: ||J||_inf of the last step
L_SIZE = 16


@njit(cache=True, nogil=True)
def explicit_leg_start(rhs, p, sv, t, t1, y, K, first_step, max_step, rtol, atol, error_order,
                       ytmp):
    """Start an explicit leg at (t, y) as explicit_leg_solve does: K[0] = f(t, y), the first
    step (``first_step`` <= 0: Hairer's estimate), the stiffness counters reset.

    Returns SUCCESS, or NON_FINITE when f(t, y) is not finite.
    """
    sv[L_T] = t
    sv[L_N_STIFF] = 0.0
    sv[L_N_NONSTIFF] = 0.0
    call_rhs_row(rhs, t, y, p, K, 0)
    sv[L_NFEV] += 1.0
    if not all_finite_row(K, 0):
        return st.NON_FINITE
    if first_step > 0.0:
        sv[L_H_ABS] = first_step
    else:
        direction = 1.0 if t1 >= t else -1.0
        sv[L_H_ABS] = select_initial_step(rhs, p, t, y, K[0], t1, max_step, direction,
                                          error_order, rtol, atol, ytmp, K[1])
        if t1 != t:
            sv[L_NFEV] += 1.0
    return st.SUCCESS


@njit(cache=True, nogil=True)
def explicit_leg_advance(rhs, p, sv, t1, y, y_new, K, ytmp, scale, Q, rtol, atol, C, A, B, E,
                         error_order, P, max_step, min_step):
    """One accepted step of the explicit leg from (sv[L_T], y), K[0] = f(t, y):
    explicit_leg_solve's step and stiffness detection, taken in place.

    After a step y, K[0] = f(t, y) and sv[L_T] are the new point, ``y_new`` holds the state
    at the start of the step and Q its dense-output coefficients (monomial form, with
    sv[L_H] the signed step). Returns SUCCESS, :data:`STIFF`
    (the step was taken and the leg should switch), or a failure: STEP_TOO_SMALL / NON_FINITE
    with no step taken, or NON_FINITE with the step taken (f(t_new, y_new) is not finite; then
    sv[L_H] != 0).
    """
    n = y.shape[0]
    s = B.shape[0]
    t = sv[L_T]
    h_abs = sv[L_H_ABS]
    direction = 1.0 if t1 >= t else -1.0
    error_exponent = -1.0 / (error_order + 1.0)
    fsal_error = E[s] != 0.0
    status = st.SUCCESS
    sv[L_H] = 0.0
    spacing_min = 10.0 * abs(np.nextafter(t, direction * np.inf) - t)
    if h_abs > max_step:
        h_abs = max_step
    elif h_abs < spacing_min:
        h_abs = spacing_min
    step_rejected = False
    accepted = False
    error_norm = 0.0
    h = 0.0
    t_new = t
    while not accepted:
        if not (h_abs >= spacing_min and h_abs >= min_step):  # NaN-safe
            if math.isfinite(error_norm):
                status = st.STEP_TOO_SMALL
            else:
                status = st.NON_FINITE
            break
        t_new = t + direction * h_abs
        if direction * (t_new - t1) > 0.0:
            t_new = t1
        h = t_new - t
        rk_step(rhs, p, t, y, h, C, A, B, K, y_new, ytmp)
        sv[L_NFEV] += s - 1
        finite = all_finite(y_new)
        if fsal_error:
            call_rhs_row(rhs, t_new, y_new, p, K, s)
            sv[L_NFEV] += 1.0
        error_scale(y, y_new, rtol, atol, scale)
        error_norm = rk_error_norm(K, E, E, False, h, scale) if finite else np.inf
        if error_norm < 1.0:
            h_abs = abs(h) * step_factor_accept(error_norm, error_exponent, step_rejected)
            if not fsal_error:
                call_rhs_row(rhs, t_new, y_new, p, K, s)
                sv[L_NFEV] += 1.0
            accepted = True
        else:
            h_abs = abs(h) * step_factor_reject(error_norm, error_exponent)
            step_rejected = True
            sv[L_NREJECT] += 1.0
    sv[L_H_ABS] = h_abs
    if not accepted:
        return status
    sv[L_NACCEPT] += 1.0
    if not all_finite_row(K, s):
        status = st.NON_FINITE
    else:
        # stiffness detection (dopri5.f): h ||k7 - k6|| / ||y_new - y6||, ytmp holds y6
        num = 0.0
        den = 0.0
        for i in range(n):
            dk = K[s, i] - K[s - 1, i]
            dy = y_new[i] - ytmp[i]
            num += dk * dk
            den += dy * dy
        if den > 0.0 and abs(h) * math.sqrt(num / den) > STIFF_HRHO:
            sv[L_N_NONSTIFF] = 0.0
            sv[L_N_STIFF] += 1.0
        else:
            sv[L_N_NONSTIFF] += 1.0
            if sv[L_N_NONSTIFF] == NONSTIFF_RESET:
                sv[L_N_STIFF] = 0.0
    dense_coefficients(K, P, h, Q)
    sv[L_H] = h
    sv[L_T] = t_new
    for i in range(n):
        yi = y[i]
        y[i] = y_new[i]
        y_new[i] = yi
        K[0, i] = K[s, i]
    if (status == st.SUCCESS and sv[L_N_STIFF] >= STIFF_SIGNALS
            and direction * (t_new - t1) < 0.0):
        status = STIFF
    return status


@njit(cache=True, nogil=True)
def rodas_leg_start(rhs, jac, use_jac, p, sv, t, t1, y, fy, J, first_step, max_step, rtol,
                    atol, ytmp, ftmp):
    """Start a Rodas4 leg at (t, y) as rodas_leg_solve does: fy = f(t, y), the first step
    (``first_step`` <= 0: Hairer's estimate), J once for a constant Jacobian, the leg's
    counters reset. Returns SUCCESS, or NON_FINITE when f(t, y) is not finite."""
    sv[L_T] = t
    sv[L_LEG_NACCEPT] = 0.0
    sv[L_H_ACC] = 0.0
    sv[L_ERR_ACC] = 1.0
    sv[L_N_SINGULAR] = 0.0
    sv[L_N_BACK] = 0.0
    sv[L_NORM_J] = 0.0
    call_rhs(rhs, t, y, p, fy)
    sv[L_NFEV] += 1.0
    if not all_finite(fy):
        return st.NON_FINITE
    if first_step > 0.0:
        sv[L_H_ABS] = first_step
    else:
        direction = 1.0 if t1 >= t else -1.0
        sv[L_H_ABS] = select_initial_step(rhs, p, t, y, fy, t1, max_step, direction, 3, rtol,
                                          atol, ytmp, ftmp)
        sv[L_NFEV] += 1.0
    if use_jac == JAC_CONSTANT:
        call_rhs(jac, t, y, p, J)
        sv[L_NJEV] += 1.0
    return st.SUCCESS


@njit(cache=True, nogil=True, error_model="numpy")
def rodas_leg_advance(rhs, jac, use_jac, p, sv, t1, y, y_new, fy, f_new, J, W, piv, ft, K,
                      ytmp, ftmp, fbuf, err, scale, deltas, hv, Q, rtol, atol, max_step,
                      min_step, group_ptr, group_cols, col_ptr, rows):
    """One accepted Rodas4 step from (sv[L_T], y), fy = f(t, y): rodas_leg_solve's step and
    its test for switching back. On success y_new holds the state before the step and y, fy,
    sv[L_T] the new point; Q = the step's dense-output coefficients. Returns SUCCESS,
    :data:`NONSTIFF` (the step was taken and the leg should switch; sv[L_H_ABS] is then the
    explicit leg's first step), or a failure: no step taken, or NON_FINITE with the step taken
    (sv[L_H] != 0). ``scale`` is no longer used (the error norm computes the scale on the fly);
    it stays in the signature of the caller's work arrays.
    """
    n = y.shape[0]
    gamma, A, C, c, d, B, E, H = R4_GAMMA, R4_A, R4_C, R4_c, R4_d, R4_B, R4_E, R4_H
    s = B.shape[0]
    t = sv[L_T]
    h_abs = sv[L_H_ABS]
    direction = 1.0 if t1 >= t else -1.0
    exponent = 1.0 / 4.0  # embedded order 3
    status = st.SUCCESS
    sv[L_H] = 0.0
    # ---- Jacobian, its infinity norm, and df/dt at (t, y), as rodas_leg_solve ------------------
    if use_jac != JAC_CONSTANT:
        if use_jac == JAC_USER:
            call_rhs(jac, t, y, p, J)
        elif use_jac == JAC_FD_GROUPED:
            sv[L_NFEV] += evaluate_jacobian(use_jac, FD_SCALED, rhs, jac, p, t, y, fy, atol, J, J,
                                            -1, 0, group_ptr, group_cols, col_ptr, rows, deltas,
                                            deltas, deltas, ytmp, ftmp, deltas, deltas)
        else:
            sv[L_NFEV] += fd_jacobian_dense(rhs, p, t, y, fy, atol, J, ytmp, ftmp)
        sv[L_NJEV] += 1.0
    norm_j = 0.0
    for i in range(n):
        row = 0.0
        for j in range(n):
            row += abs(J[i, j])
        if row > norm_j:
            norm_j = row
    sv[L_NORM_J] = norm_j
    sv[L_NFEV] += fd_time_derivative(rhs, p, t, y, fy, ft, ftmp)
    n_singular = sv[L_N_SINGULAR]
    h_acc = sv[L_H_ACC]
    err_acc = sv[L_ERR_ACC]
    step_rejected = False
    accepted = False
    err_norm = 0.0
    t_new = t
    h = 0.0
    while not accepted:
        spacing_min = 10.0 * abs(np.nextafter(t, direction * np.inf) - t)
        if h_abs > max_step:
            h_abs = max_step
        if not (h_abs >= spacing_min and h_abs >= min_step):  # NaN-safe
            status = st.STEP_TOO_SMALL if math.isfinite(err_norm) else st.NON_FINITE
            break
        t_new = t + direction * h_abs
        if direction * (t_new - t1) > 0.0:
            t_new = t1
        h = t_new - t
        fac = 1.0 / (gamma * h)
        for i in range(n):
            for j in range(n):
                W[i, j] = -J[i, j]
            W[i, i] += fac
        # ---- LU of W = I / (gamma h) - J, partial pivoting (linalg.lu_factor) ---------------
        info = 0
        for k in range(n):
            pk = k
            best = abs(W[k, k])
            for i in range(k + 1, n):
                v = abs(W[i, k])
                if v > best:
                    best = v
                    pk = i
            piv[k] = pk
            if best == 0.0:
                if info == 0:
                    info = k + 1
                continue
            if pk != k:
                for j in range(n):
                    tmp = W[k, j]
                    W[k, j] = W[pk, j]
                    W[pk, j] = tmp
            inv = 1.0 / W[k, k]
            for i in range(k + 1, n):
                W[i, k] *= inv
                f = W[i, k]
                if f != 0.0:
                    for j in range(k + 1, n):
                        W[i, j] -= f * W[k, j]
        sv[L_NLU] += 1.0
        if info != 0:
            n_singular += 1
            sv[L_NREJECT] += 1.0
            step_rejected = True
            if n_singular >= MAX_SINGULAR:
                status = SINGULAR
                break
            h_abs = 0.5 * abs(h)
            continue
        # ---- stages: W k_i = f(t + c_i h, y + sum_j A_ij k_j) + sum_j (C_ij / h) k_j
        #      + h d_i f_t, then y_new = y + sum b_i k_i, err = sum e_i k_i
        hinv = 1.0 / h
        for i in range(s):
            if i == 0:
                for m in range(n):
                    fbuf[m] = fy[m]
            else:
                for m in range(n):
                    acc = 0.0
                    for j in range(i):
                        acc += A[i, j] * K[j, m]
                    ytmp[m] = y[m] + acc
                call_rhs(rhs, t + c[i] * h, ytmp, p, fbuf)
            hd = h * d[i]
            for m in range(n):
                acc = 0.0
                for j in range(i):
                    acc += C[i, j] * K[j, m]
                K[i, m] = fbuf[m] + acc * hinv + hd * ft[m]
            # K[i] = W^-1 K[i] with the LU factors (linalg.lu_solve_row)
            for k in range(n):
                pk = piv[k]
                if pk != k:
                    tmp = K[i, k]
                    K[i, k] = K[i, pk]
                    K[i, pk] = tmp
            for k in range(n):
                acc = K[i, k]
                for j in range(k):
                    acc -= W[k, j] * K[i, j]
                K[i, k] = acc
            for k in range(n - 1, -1, -1):
                acc = K[i, k]
                for j in range(k + 1, n):
                    acc -= W[k, j] * K[i, j]
                K[i, k] = acc / W[k, k]
        for m in range(n):
            acc = 0.0
            acc_e = 0.0
            for i in range(s):
                acc += B[i] * K[i, m]
                acc_e += E[i] * K[i, m]
            y_new[m] = y[m] + acc
            err[m] = acc_e
        sv[L_NFEV] += s - 1
        # ---- error norm: RMS of err / (atol + rtol max(|y|, |y_new|)) (control.py's
        #      error_scale + rms_norm_scaled), y_new finite
        acc = 0.0
        finite = True
        for i in range(n):
            sc = atol[i] + max(abs(y[i]), abs(y_new[i])) * rtol[i]
            ri = err[i] / sc
            acc += ri * ri
            if not math.isfinite(y_new[i]):
                finite = False
        err_norm = math.sqrt(acc / n)
        if not (err_norm < np.inf) or not finite:
            err_norm = np.inf
        if err_norm <= 1.0:
            fac = min(FAC_MAX, max(FAC_MIN, err_norm ** exponent / SAFE))
            if sv[L_LEG_NACCEPT] > 0:
                fac_gus = (h_acc / abs(h)) * (err_norm * err_norm / err_acc) ** exponent
                fac_gus = min(FAC_MAX, max(FAC_MIN, fac_gus / SAFE))
                fac = max(fac, fac_gus)
            h_acc = abs(h)
            err_acc = max(err_norm, 1e-2)
            h_abs = abs(h) / fac
            if step_rejected:
                h_abs = min(h_abs, abs(h))
            accepted = True
        else:
            if math.isfinite(err_norm):
                fac = min(FAC_MAX, max(FAC_MIN, err_norm ** exponent / SAFE))
            else:
                fac = FAC_MAX
            h_abs = abs(h) / fac
            step_rejected = True
            sv[L_NREJECT] += 1.0
    sv[L_H_ABS] = h_abs
    sv[L_N_SINGULAR] = n_singular
    sv[L_H_ACC] = h_acc
    sv[L_ERR_ACC] = err_acc
    if not accepted:
        return status
    sv[L_NACCEPT] += 1.0
    sv[L_LEG_NACCEPT] += 1.0
    sv[L_N_SINGULAR] = 0.0
    call_rhs(rhs, t_new, y_new, p, f_new)
    sv[L_NFEV] += 1.0
    finite = True
    for i in range(n):
        if not math.isfinite(f_new[i]):
            finite = False
    if not finite:
        status = st.NON_FINITE
    elif abs(h) * norm_j <= BACK_HRHO:
        sv[L_N_BACK] += 1.0
    else:
        sv[L_N_BACK] = 0.0
    rosenbrock_dense(0, H, h, y, y_new, K, hv, Q)
    sv[L_H] = h
    sv[L_T] = t_new
    for i in range(n):
        yi = y[i]
        y[i] = y_new[i]
        y_new[i] = yi
        fy[i] = f_new[i]
    if (status == st.SUCCESS and sv[L_N_BACK] >= NONSTIFF_STEPS
            and direction * (t_new - t1) < 0.0):
        status = NONSTIFF
        # the explicit leg starts from the stiff method's next step, capped so that it starts
        # inside its stability region
        if norm_j > 0.0:
            sv[L_H_ABS] = min(h_abs, 2.0 / norm_j)
    return status
