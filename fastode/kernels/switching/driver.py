"""LSODA-style switching between an explicit pair (Dormand-Prince 5(4), Tsit5) and a stiff method
(Rodas4, or variable-order NDF/BDF): the switching constants and the solve_ivp legs
``explicit_leg_solve`` / ``rodas_leg_solve`` / ``bdf_leg_solve``.

This is the module as written; fastode.kernels.expand generates ``solve.py`` from it with the
helpers listed in ``INLINE`` written out in place of their calls (no reference-count traffic
per step; docs/architecture.md). The kernels run the generated module.
"""

import math

import numpy as np
from numba import njit

from .. import status as st
from ..callbacks import call_rhs, call_rhs_row
from ..control import select_initial_step
from ..explicit.step import advance_step, all_finite, all_finite_row
from ..interpolation import dense_coefficients, evaluate_dense, extra_stages
from ..jacobian import (FD_NUM_JAC_BDF, FD_SCALED, JAC_CONSTANT, JAC_FD_GROUPED, JAC_USER,
                        SINGULAR, evaluate_jacobian, fd_jacobian_dense, fd_time_derivative)
from ..linalg import lu_solve_row
from ..newton import (fill_iteration_matrix, jacobian_scratch, lu_factor_inline as lu_factor,
                      lu_solve_inline as lu_solve, newton_tolerance, spacing10)
from ..bdf.dense import bdf_interpolant
from ..bdf.newton import (ALPHA, ERROR_CONST, FAIL_STATUS, GAMMA, MAX_ORDER, MAX_SINGULAR_CUTS,
                          MIN_FACTOR, NEWTON_MAXITER, bdf_newton, change_D, select_order,
                          update_differences)
from ..output import (begin_solve, grow_output, interpolant_needed, output_full, record_step, save_step,
                      solve_counters, start_status)
from ..rosenbrock.coefficients import (R4_A, R4_B, R4_C, R4_E, R4_GAMMA, R4_H, R4_c,
                                       R4_d)
from ..rosenbrock.dense import rosenbrock_dense
from ..rosenbrock.step import (rosenbrock_attempts, combine_stages, fill_w_hairer, hairer_stages,
                               rosenbrock_error_norm, rosenbrock_step_size)

# written out in place of their calls in the generated solve.py (fastode.kernels.expand)
INLINE = (rosenbrock_attempts, advance_step, fill_w_hairer, lu_factor, hairer_stages, lu_solve_row, combine_stages,
          rosenbrock_error_norm, rosenbrock_step_size, interpolant_needed, save_step, record_step,
          change_D, update_differences, select_order, fill_iteration_matrix, bdf_newton, lu_solve,
          bdf_interpolant)
MACROS = (begin_solve,)

# internal statuses: a leg stopped at a switch point (never returned by solve_ivp)
STIFF = 2
NONSTIFF = 3

STIFF_HRHO = 3.25      # h rho above this: the explicit step is limited by stability
STIFF_SIGNALS = 15     # stiff signals (not reset by 6 non-stiff steps in a row) -> switch
NONSTIFF_RESET = 6
BACK_HRHO = 1.0        # |h| ||J||_inf at or below this: the explicit method would be stable
NONSTIFF_STEPS = 10    # consecutive such stiff-method steps -> switch back
# the BDF leg keeps J over many steps; it evaluates a new one after a Newton failure with an old
# J (as scipy's BDF) and, for the switch-back test, after this many accepted steps with the same
# J (ODEPACK's LSODA: MSBP = 20)
JAC_AGE_STEPS = 20


@njit(cache=True, nogil=True)
def explicit_leg_solve(rhs, p, t0, t1, y0, tolerances, tableau, steps, output, events, ev_count,
                       detect):
    """An explicit FSAL RK leg with stiffness detection (see the module docstring).

    ``detect`` False: no detection (the leg runs to the end like RK45). ``max_steps`` <= 0:
    unlimited, else the attempts left. Returns the 13-tuple, then y at t_final.
    """
    rtol, atol = tolerances
    C, A, B, E, _, _, error_order, C_extra, A_extra, P = tableau
    _, first_step, max_step, min_step, max_steps = steps
    t_eval, use_t_eval, dense = output
    event_addresses, event_directions, event_terminal, event_samples = events
    n = y0.shape[0]
    s = B.shape[0]
    m_extra = C_extra.shape[0]
    q = P.shape[1]
    n_events = event_addresses.shape[0]
    direction = 1.0 if t1 >= t0 else -1.0
    status = st.SUCCESS

    K = np.zeros((s + 1 + m_extra, n))
    y = y0.copy()
    y_new = np.empty(n)
    ytmp = np.empty(n)
    scale = np.empty(n)
    Q = np.zeros((n, q))

    t = t0
    call_rhs_row(rhs, t, y, p, K, 0)
    # the counters, output buffers and event workspace (a macro: kernels/output.py)
    begin_solve(n, q, t0, y0, p, t_eval, use_t_eval, dense, event_addresses, event_samples,
                _)
    h_abs = 0.0
    if t1 == t0 or not all_finite_row(K, 0):
        status, n_out = start_status(t0, t1, y0, t_eval, use_t_eval, t_out, y_out, n_out)
        return (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg, ev_t, ev_y, ev_index,
                n_ev, solve_counters(8, nfev, 0, 0, t0, 0, 0, 0.0, 0), y)

    error_exponent = -1.0 / (error_order + 1.0)
    if first_step > 0.0:
        h_abs = first_step
    else:
        h_abs = select_initial_step(rhs, p, t0, y0, K[0], t1, max_step, direction,
                                    error_order, rtol, atol, ytmp, K[1])
        nfev += 1
    n_stiff = 0
    n_nonstiff = 0
    while status == st.SUCCESS and direction * (t - t1) < 0.0:
        t_out, y_out, seg_t, seg_h, seg_data, ev_t, ev_y, ev_index = grow_output(
            use_t_eval, dense, n_out, n_seg, n_ev, events_per_step, t_out, y_out, seg_t, seg_h,
            seg_data, ev_t, ev_y, ev_index)

        while (status == st.SUCCESS and direction * (t - t1) < 0.0
               and not output_full(use_t_eval, dense, n_out, n_seg, n_ev, events_per_step, t_out,
                                   seg_t, ev_t)):
            # ---- attempt steps until one is accepted (explicit/step.py) ---------------------
            status, accepted, t_new, h, h_abs, nf, nr, attempts = advance_step(
                rhs, p, t, y, t0, t1, direction, h_abs, True, 0, 0, max_step, min_step,
                max_steps, attempts, rtol, atol, C, A, B, E, E, False, error_exponent, K, y_new,
                ytmp, scale, True)
            nfev += nf
            nreject += nr
            if not accepted:
                break
            naccept += 1
            if status == st.SUCCESS and detect:
                # ---- stiffness detection (dopri5.f): h ||k7 - k6|| / ||y_new - y6|| ----------
                # ytmp still holds y6, the input of the last stage (c = 1)
                num = 0.0
                den = 0.0
                for i in range(n):
                    dk = K[s, i] - K[s - 1, i]
                    dy = y_new[i] - ytmp[i]
                    num += dk * dk
                    den += dy * dy
                if den > 0.0 and abs(h) * math.sqrt(num / den) > STIFF_HRHO:
                    n_nonstiff = 0
                    n_stiff += 1
                else:
                    n_nonstiff += 1
                    if n_nonstiff == NONSTIFF_RESET:
                        n_stiff = 0

            # ---- dense output, events, saving (as explicit_rk_solve) -----------------------
            if interpolant_needed(dense, n_events, use_t_eval, t_eval, i_eval, direction, t_new):
                if m_extra > 0:
                    nfev += extra_stages(rhs, p, t, y, h, K, s, C_extra, A_extra, ytmp)
                dense_coefficients(K, P, h, Q)
            # ---- events and output of the step (kernels/output.py) -----------------------
            status, theta_stop, n_ev, n_out, i_eval, n_seg = record_step(
                t, h, t_new, y, y_new, Q, status, p, event_addresses, event_directions,
                event_terminal, event_samples, g_old, g_new, ybuf, found_theta, found_index,
                ev_count, ev_t, ev_y, ev_index, n_ev, dense, use_t_eval, t_eval, i_eval,
                direction, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg)
            if status == st.TERMINATED:
                t = t + theta_stop * h
                evaluate_dense(y, Q, theta_stop, ybuf, 0)
                for i in range(n):
                    y[i] = ybuf[0, i]
            elif status != st.EVENT_FAILED:
                t = t_new
                for i in range(n):
                    y[i] = y_new[i]
                    K[0, i] = K[s, i]
                if status == st.SUCCESS and n_stiff >= STIFF_SIGNALS and direction * (t - t1) < 0.0:
                    status = STIFF

    counters = solve_counters(8, nfev, naccept, nreject, t, 0, 0, h_abs, attempts)
    return (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg,
            ev_t, ev_y, ev_index, n_ev, counters, y)


@njit(cache=True, nogil=True, error_model="numpy")
def rodas_leg_solve(rhs, jac, p, t0, t1, y0, tolerances, steps, output, events, ev_count, jacobian,
                    detect):
    """A Rodas4 leg (no mass matrix) that stops with :data:`NONSTIFF` when the problem no
    longer looks stiff (see the module docstring); ``detect`` False: never.

    The loop is fastode.kernels.rosenbrock.rosenbrock_solve's for Hairer-form methods
    without a mass matrix, dense LU (the step written out: see the module docstring).
    Returns the 13-tuple, then y at t_final.
    """
    rtol, atol = tolerances
    first_step, max_step, min_step, max_steps = steps
    t_eval, use_t_eval, dense = output
    event_addresses, event_directions, event_terminal, event_samples = events
    use_jac, group_ptr, group_cols, col_ptr, rows, _, _, _, _ = jacobian
    n = y0.shape[0]
    gamma, A, C, c, d, B, E, H = R4_GAMMA, R4_A, R4_C, R4_c, R4_d, R4_B, R4_E, R4_H
    s = B.shape[0]
    q = H.shape[0] + 1
    n_events = event_addresses.shape[0]
    direction = 1.0 if t1 >= t0 else -1.0
    status = st.SUCCESS
    exponent = 1.0 / 4.0  # embedded order 3

    K = np.zeros((s, n))
    J = np.zeros((n, n))
    W = np.empty((n, n))
    piv = np.empty(n, dtype=np.int64)
    y = y0.copy()
    y_new = np.empty(n)
    fy = np.empty(n)
    f_new = np.empty(n)
    ft = np.zeros(n)
    ytmp = np.empty(n)
    ftmp = np.empty(n)
    fbuf = np.empty(n)
    err = np.empty(n)
    deltas = np.empty(n)
    hv = np.empty(max(q - 1, 1))
    Q = np.zeros((n, q))
    cbuf = np.empty(n)

    t = t0
    call_rhs(rhs, t, y, p, fy)
    # the counters, output buffers and event workspace (a macro: kernels/output.py)
    begin_solve(n, q, t0, y0, p, t_eval, use_t_eval, dense, event_addresses, event_samples,
                _)
    h_abs = 0.0
    if t1 == t0 or not all_finite(fy):
        status, n_out = start_status(t0, t1, y0, t_eval, use_t_eval, t_out, y_out, n_out)
        return (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg, ev_t, ev_y, ev_index,
                n_ev, solve_counters(8, nfev, 0, 0, t0, 0, 0, 0.0, 0), y)

    if first_step > 0.0:
        h_abs = first_step
    else:
        h_abs = select_initial_step(rhs, p, t0, y0, fy, t1, max_step, direction,
                                    3, rtol, atol, ytmp, ftmp)
        nfev += 1
    if use_jac == JAC_CONSTANT:
        call_rhs(jac, t, y, p, J)
        njev += 1
    n_singular = 0
    h_acc = 0.0
    err_acc = 1.0
    n_back = 0
    norm_j = 0.0
    while status == st.SUCCESS and direction * (t - t1) < 0.0:
        t_out, y_out, seg_t, seg_h, seg_data, ev_t, ev_y, ev_index = grow_output(
            use_t_eval, dense, n_out, n_seg, n_ev, events_per_step, t_out, y_out, seg_t, seg_h,
            seg_data, ev_t, ev_y, ev_index)

        while (status == st.SUCCESS and direction * (t - t1) < 0.0
               and not output_full(use_t_eval, dense, n_out, n_seg, n_ev, events_per_step, t_out,
                                   seg_t, ev_t)):
            # ---- Jacobian, its infinity norm, and df/dt at (t, y) ---------------------------
            # (fastode.kernels.jacobian; every step: the dense and user modes inlined)
            if use_jac != JAC_CONSTANT:
                if use_jac == JAC_USER:
                    call_rhs(jac, t, y, p, J)
                elif use_jac == JAC_FD_GROUPED:
                    nfev += evaluate_jacobian(use_jac, FD_SCALED, rhs, jac, p, t, y, fy, atol, J,
                                              J, -1, 0, group_ptr, group_cols, col_ptr, rows,
                                              deltas, deltas, deltas, ytmp, ftmp, deltas, deltas)
                else:
                    nfev += fd_jacobian_dense(rhs, p, t, y, fy, atol, J, ytmp, ftmp)
                njev += 1
            if detect:
                norm_j = 0.0
                for i in range(n):
                    row = 0.0
                    for j in range(n):
                        row += abs(J[i, j])
                    if row > norm_j:
                        norm_j = row
            nfev += fd_time_derivative(rhs, p, t, y, fy, ft, ftmp)

            # ---- attempt steps until one is accepted (rosenbrock/step.py) ------------------
            (status, accepted, t_new, h, h_abs, nf, nl, nr, attempts, n_singular, h_acc,
             err_acc) = rosenbrock_attempts(
                0, gamma, A, C, c, d, B, E, exponent, rhs, p, t, t1, direction, y, fy, ft, J, W,
                W, W, piv, False, -1, 0, J, False, K, y_new, f_new, ytmp, fbuf, cbuf, err, rtol,
                atol, h_abs, max_step, min_step, max_steps, attempts, naccept, n_singular, h_acc,
                err_acc)
            nfev += nf
            nlu += nl
            nreject += nr
            if not accepted:
                break
            naccept += 1
            n_singular = 0
            call_rhs(rhs, t_new, y_new, p, f_new)
            nfev += 1
            finite = True
            for i in range(n):
                if not math.isfinite(f_new[i]):
                    finite = False
            if not finite:
                status = st.NON_FINITE
            elif detect:
                if abs(h) * norm_j <= BACK_HRHO:
                    n_back += 1
                else:
                    n_back = 0

            # ---- dense output, events, saving ----------------------------------------------
            if interpolant_needed(dense, n_events, use_t_eval, t_eval, i_eval, direction, t_new):
                rosenbrock_dense(0, H, h, y, y_new, K, hv, Q)
            # ---- events and output of the step (kernels/output.py) -----------------------
            status, theta_stop, n_ev, n_out, i_eval, n_seg = record_step(
                t, h, t_new, y, y_new, Q, status, p, event_addresses, event_directions,
                event_terminal, event_samples, g_old, g_new, ybuf, found_theta, found_index,
                ev_count, ev_t, ev_y, ev_index, n_ev, dense, use_t_eval, t_eval, i_eval,
                direction, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg)
            if status == st.TERMINATED:
                t = t + theta_stop * h
                evaluate_dense(y, Q, theta_stop, ybuf, 0)
                for i in range(n):
                    y[i] = ybuf[0, i]
            elif status != st.EVENT_FAILED:
                t = t_new
                for i in range(n):
                    y[i] = y_new[i]
                    fy[i] = f_new[i]
                if status == st.SUCCESS and n_back >= NONSTIFF_STEPS and direction * (t - t1) < 0.0:
                    status = NONSTIFF
                    # the explicit leg starts from the stiff method's next step, capped so that
                    # it starts inside its stability region
                    if norm_j > 0.0:
                        h_abs = min(h_abs, 2.0 / norm_j)

    counters = solve_counters(8, nfev, naccept, nreject, t, njev, nlu, h_abs, attempts)
    return (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg,
            ev_t, ev_y, ev_index, n_ev, counters, y)


@njit(cache=True, nogil=True, error_model="numpy")
def bdf_leg_solve(rhs, jac, p, t0, t1, y0, tolerances, steps, output, events, ev_count, jacobian,
                  detect):
    """A variable-order NDF/BDF leg (no mass matrix, dense LU) that keeps J and its LU over
    many steps and stops with :data:`NONSTIFF` when the problem no longer looks stiff;
    ``detect`` False: never.

    The step is fastode.kernels.bdf's (scipy's ``BDF._step_impl``): J is evaluated at the
    start, after a Newton failure with an old J, and after :data:`JAC_AGE_STEPS` accepted
    steps with the same J (so that the switch-back test ``|h| ||J||_inf <= BACK_HRHO`` reads a
    recent J); the LU of I - c J is kept while c = h / alpha is unchanged. Unlike
    fastode.kernels.bdf's counters, ``nfev`` includes the RHS calls of finite-difference
    Jacobians (as the Rodas4 leg's and ODEPACK's). Returns the 13-tuple, then y at t_final.
    """
    rtol, atol = tolerances
    first_step, max_step, min_step, max_steps = steps
    t_eval, use_t_eval, dense = output
    event_addresses, event_directions, event_terminal, event_samples = events
    use_jac, group_ptr, group_cols, col_ptr, rows, _, _, _, _ = jacobian
    n = y0.shape[0]
    q = MAX_ORDER
    n_events = event_addresses.shape[0]
    direction = 1.0 if t1 >= t0 else -1.0
    status = st.SUCCESS
    kl = -1
    ku = 0

    y = y0.copy()
    y_new = np.empty(n)
    f = np.empty(n)
    ytmp = np.empty(n)
    fbuf = np.empty(n)
    fjac = np.empty(n)
    scale = np.empty(n)
    y_predict = np.empty(n)
    psi = np.empty(n)
    d = np.empty(n)
    b = np.empty(n)
    ybase = np.empty(n)
    jac_factor, hvec, yscale, cmax, cscale = jacobian_scratch(n)  # FD Jacobians
    coef = np.empty(MAX_ORDER + 1)
    D = np.zeros((MAX_ORDER + 3, n))
    R = np.empty((MAX_ORDER + 1, MAX_ORDER + 1))
    U = np.empty((MAX_ORDER + 1, MAX_ORDER + 1))
    RU = np.empty((MAX_ORDER + 1, MAX_ORDER + 1))
    Dtmp = np.empty((MAX_ORDER + 1, n))
    J = np.zeros((n, n))
    LU = np.empty((n, n))
    mass = np.zeros((1, 1))
    piv = np.empty(n, dtype=np.int64)
    Q = np.zeros((n, q))

    t = t0
    call_rhs(rhs, t, y, p, f)
    # the counters, output buffers and event workspace (a macro: kernels/output.py)
    begin_solve(n, q, t0, y0, p, t_eval, use_t_eval, dense, event_addresses, event_samples,
                _)
    h_abs = 0.0
    if t1 == t0 or not all_finite(f):
        status, n_out = start_status(t0, t1, y0, t_eval, use_t_eval, t_out, y_out, n_out)
        return (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg, ev_t, ev_y, ev_index,
                n_ev, solve_counters(8, nfev, 0, 0, t0, 0, 0, 0.0, 0), y)

    newton_tol = newton_tolerance(rtol)
    if first_step > 0.0:
        h_abs = first_step
    else:
        h_abs = select_initial_step(rhs, p, t0, y0, f, t1, max_step, direction, 1, rtol, atol,
                                    y_new, fbuf)
        nfev += 1
    nfev += evaluate_jacobian(use_jac, FD_NUM_JAC_BDF, rhs, jac, p, t, y, f, atol, J, J, kl, ku,
                              group_ptr, group_cols, col_ptr, rows, jac_factor, hvec, yscale,
                              y_new, fbuf, cmax, cscale)
    njev += 1
    jac_age = 0
    norm_j = 0.0
    for i in range(n):
        row = 0.0
        for j in range(n):
            row += abs(J[i, j])
        norm_j = max(norm_j, row)
    for i in range(n):
        D[0, i] = y[i]
        D[1, i] = f[i] * h_abs * direction
    order = 1
    n_equal_steps = 0
    lu_valid = False
    n_back = 0
    while status == st.SUCCESS and direction * (t - t1) < 0.0:
        t_out, y_out, seg_t, seg_h, seg_data, ev_t, ev_y, ev_index = grow_output(
            use_t_eval, dense, n_out, n_seg, n_ev, events_per_step, t_out, y_out, seg_t, seg_h,
            seg_data, ev_t, ev_y, ev_index)

        while (status == st.SUCCESS and direction * (t - t1) < 0.0
               and not output_full(use_t_eval, dense, n_out, n_seg, n_ev, events_per_step, t_out,
                                   seg_t, ev_t)):
            # ---- one step, as fastode.kernels.bdf (scipy's BDF._step_impl) ---------------
            spacing = spacing10(t, direction)
            rescale_pending = False
            rescale = 1.0
            if h_abs > max_step:
                rescale = max_step / h_abs
                rescale_pending = True
                h_abs = max_step
                n_equal_steps = 0
            elif h_abs < spacing:
                rescale = spacing / h_abs
                rescale_pending = True
                h_abs = spacing
                n_equal_steps = 0
            ha = h_abs
            # as scipy: a J from an earlier step is re-evaluated once when Newton fails
            current_jac = use_jac == JAC_CONSTANT
            accepted = False
            fail_kind = 0
            n_singular = 0
            error_norm = 0.0
            n_iter = 0
            safety = 0.9
            t_new = t
            alpha = ALPHA[order]
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
                clipped = False
                clip_factor = 1.0
                if direction * (t_new - t1) > 0.0:
                    t_new = t1
                    clip_factor = abs(t_new - t) / ha
                    clipped = True
                    n_equal_steps = 0
                    lu_valid = False
                if rescale_pending:
                    rescale_pending = False
                    change_D(D, order, rescale, R, U, RU, Dtmp)
                if clipped:
                    change_D(D, order, clip_factor, R, U, RU, Dtmp)
                h = t_new - t
                ha = abs(h)
                # ---- predictor, error scale, psi ----------------------------------------
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
                        fill_iteration_matrix(J, mass, False, c, LU)
                        info = lu_factor(LU, piv)
                        singular = info != 0
                        nlu += 1
                        lu_valid = not singular
                    if not singular:
                        converged, n_iter, nf, finite = bdf_newton(
                            rhs, p, t_new, y_predict, c, psi, LU, kl, ku, piv, scale,
                            newton_tol, y_new, d, fbuf, b, mass, False)
                        nfev += nf
                    if not converged:
                        if current_jac:
                            break
                        # a new J at the predictor (once per failed Newton, not per step)
                        if use_jac != JAC_USER:
                            call_rhs(rhs, t_new, y_predict, p, fjac)
                            nfev += 1
                        nfev += evaluate_jacobian(use_jac, FD_NUM_JAC_BDF, rhs, jac, p, t_new,
                                                  y_predict, fjac, atol, J, J, kl, ku,
                                                  group_ptr, group_cols, col_ptr, rows,
                                                  jac_factor, hvec, yscale, ytmp, fbuf, cmax,
                                                  cscale)
                        njev += 1
                        jac_age = 0
                        norm_j = 0.0
                        for i in range(n):
                            row = 0.0
                            for j in range(n):
                                row += abs(J[i, j])
                            norm_j = max(norm_j, row)
                        lu_valid = False
                        current_jac = True
                if not converged:
                    fail_kind = 1 if not finite else (2 if singular else 3)
                    n_singular = n_singular + 1 if singular else 0
                    if n_singular >= MAX_SINGULAR_CUTS:
                        status = SINGULAR
                        break
                    ha *= 0.5
                    rescale = 0.5
                    rescale_pending = True
                    n_equal_steps = 0
                    lu_valid = False
                    nreject += 1
                    continue
                # ---- error test ----------------------------------------------------------
                fail_kind = 0
                safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter)
                ec = ERROR_CONST[order]
                acc = 0.0
                for m in range(n):
                    scale[m] = atol[m] + rtol[m] * abs(y_new[m])
                    rm = ec * d[m] / scale[m]
                    acc += rm * rm
                error_norm = math.sqrt(acc / n)
                if not (error_norm <= 1.0):
                    if math.isfinite(error_norm):
                        factor = max(MIN_FACTOR, safety * error_norm ** (-1.0 / (order + 1)))
                    else:
                        factor = MIN_FACTOR
                        fail_kind = 1
                    ha *= factor
                    rescale = factor
                    rescale_pending = True
                    n_equal_steps = 0
                    nreject += 1
                else:
                    accepted = True
            if not accepted:
                break
            # ---- accepted: update D, choose order and next h ---------------------------
            naccept += 1
            n_equal_steps += 1
            jac_age += 1
            h_abs = ha
            update_differences(D, d, order)
            if n_equal_steps >= order + 1:
                order, factor = select_order(D, order, scale, error_norm, safety)
                h_abs *= factor
                change_D(D, order, factor, R, U, RU, Dtmp)
                n_equal_steps = 0
                lu_valid = False

            for m in range(n):
                if not math.isfinite(y_new[m]):
                    status = st.NON_FINITE
            h = t_new - t
            if status == st.SUCCESS and detect:
                # the switch-back test with the J in use (at most JAC_AGE_STEPS steps old)
                if ha * norm_j <= BACK_HRHO:
                    n_back += 1
                else:
                    n_back = 0
            # ---- the step's interpolant, when used (dense output, events, an inner t_eval)
            if interpolant_needed(dense, n_events, use_t_eval, t_eval, i_eval, direction, t_new):
                bdf_interpolant(D, order, t, t_new, h_abs * direction, ybase, Q, coef)
            # ---- events and output of the step (kernels/output.py) -----------------------
            status, theta_stop, n_ev, n_out, i_eval, n_seg = record_step(
                t, h, t_new, ybase, y_new, Q, status, p, event_addresses, event_directions,
                event_terminal, event_samples, g_old, g_new, ybuf, found_theta, found_index,
                ev_count, ev_t, ev_y, ev_index, n_ev, dense, use_t_eval, t_eval, i_eval,
                direction, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg)
            if status == st.TERMINATED:
                t = t + theta_stop * h
                evaluate_dense(ybase, Q, theta_stop, ybuf, 0)
                for m in range(n):
                    y[m] = ybuf[0, m]
            elif status != st.EVENT_FAILED:
                t = t_new
                for m in range(n):
                    y[m] = y_new[m]
                if status == st.SUCCESS and n_back >= NONSTIFF_STEPS and direction * (t - t1) < 0.0:
                    status = NONSTIFF
                    if norm_j > 0.0:
                        h_abs = min(h_abs, 2.0 / norm_j)
                elif (status == st.SUCCESS and detect and use_jac != JAC_CONSTANT
                      and jac_age >= JAC_AGE_STEPS and direction * (t - t1) < 0.0):
                    # a fresh J at the new point (f(t, y) first for the differences)
                    if use_jac != JAC_USER:
                        call_rhs(rhs, t, y, p, fjac)
                        nfev += 1
                    nfev += evaluate_jacobian(use_jac, FD_NUM_JAC_BDF, rhs, jac, p, t, y, fjac,
                                              atol, J, J, kl, ku, group_ptr, group_cols, col_ptr,
                                              rows, jac_factor, hvec, yscale, ytmp, fbuf, cmax,
                                              cscale)
                    njev += 1
                    jac_age = 0
                    norm_j = 0.0
                    for i in range(n):
                        row = 0.0
                        for j in range(n):
                            row += abs(J[i, j])
                        norm_j = max(norm_j, row)
                    lu_valid = False

    counters = solve_counters(8, nfev, naccept, nreject, t, njev, nlu, h_abs, attempts)
    return (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg,
            ev_t, ev_y, ev_index, n_ev, counters, y)
