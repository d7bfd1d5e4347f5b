"""LSODA-style switching, step by step: the state layout ``L_*`` and the kernels of the ``LSODA``
class (``*_leg_start``, ``*_leg_advance``; moved from kernels/switching.py)."""

import math

from numba import njit

from .. import status as st
from ..callbacks import call_rhs, call_rhs_row
from ..control import select_initial_step
from ..explicit.step import advance_step, all_finite, all_finite_row
from ..interpolation import dense_coefficients
from ..jacobian import (FD_SCALED, JAC_CONSTANT, JAC_FD_GROUPED, JAC_USER, evaluate_jacobian,
                        fd_jacobian_dense, fd_time_derivative)
from ..rosenbrock.coefficients import R4_A, R4_B, R4_C, R4_E, R4_GAMMA, R4_H, R4_c, R4_d
from ..rosenbrock.dense import rosenbrock_dense
from ..rosenbrock.step import rosenbrock_attempts_call as rosenbrock_attempts
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
    sv[L_H] = 0.0
    # the attempts of explicit_leg_solve
    status, accepted, t_new, h, h_abs, nf, nr, _ = advance_step(
        rhs, p, t, y, t, t1, direction, h_abs, True, 0, 0, max_step, min_step, 0, 0, rtol, atol,
        C, A, B, E, E, False, error_exponent, K, y_new, ytmp, scale, True)
    sv[L_NFEV] += nf
    sv[L_NREJECT] += nr
    sv[L_H_ABS] = h_abs
    if not accepted:
        return status
    sv[L_NACCEPT] += 1.0
    if status == st.SUCCESS:
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
    (sv[L_H] != 0). ``scale``: a scratch row.
    """
    n = y.shape[0]
    gamma, A, C, c, d, B, E, H = R4_GAMMA, R4_A, R4_C, R4_c, R4_d, R4_B, R4_E, R4_H
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
    # the attempts of rodas_leg_solve (``scale`` serves as the stages' scratch row)
    (status, accepted, t_new, h, h_abs, nf, nl, nr, _, n_singular, h_acc,
     err_acc) = rosenbrock_attempts(
        0, gamma, A, C, c, d, B, E, exponent, rhs, p, t, t1, direction, y, fy, ft, J, W, W, W,
        piv, False, -1, 0, J, False, K, y_new, f_new, ytmp, fbuf, scale, err, rtol, atol, h_abs,
        max_step, min_step, 0, 0, sv[L_LEG_NACCEPT], n_singular, h_acc, err_acc)
    sv[L_NFEV] += nf
    sv[L_NLU] += nl
    sv[L_NREJECT] += nr
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
