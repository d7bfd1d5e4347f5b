"""LSODA-style switching between Dormand-Prince 5(4) and Rodas4: the switching constants and the
solve_ivp legs ``explicit_leg_solve`` / ``rodas_leg_solve`` (moved from kernels/switching.py)."""

import math

import numpy as np
from numba import njit

from .. import status as st
from ..buffers import grow_1d, grow_2d
from ..callbacks import call_event, call_rhs, call_rhs_row
from ..control import (error_scale, rk_error_norm, select_initial_step, step_factor_accept,
                       step_factor_reject)
from ..explicit.record import record_events, record_segment
from ..explicit.step import all_finite, all_finite_row, rk_step
from ..interpolation import dense_coefficients, evaluate_dense, extra_stages
from ..jacobian import (FD_SCALED, JAC_CONSTANT, JAC_FD_GROUPED, JAC_USER, SINGULAR,
                        evaluate_jacobian, fd_jacobian_dense, fd_time_derivative)
from ..rosenbrock.coefficients import (FAC_MAX, FAC_MIN, MAX_SINGULAR, R4_A, R4_B, R4_C, R4_E,
                                       R4_GAMMA, R4_H, R4_c, R4_d, SAFE)
from ..rosenbrock.dense import rosenbrock_dense

# internal statuses: a leg stopped at a switch point (never returned by solve_ivp)
STIFF = 2
NONSTIFF = 3

STIFF_HRHO = 3.25      # h rho above this: the explicit step is limited by stability
STIFF_SIGNALS = 15     # stiff signals (not reset by 6 non-stiff steps in a row) -> switch
NONSTIFF_RESET = 6
BACK_HRHO = 1.0        # |h| ||J||_inf at or below this: the explicit method would be stable
NONSTIFF_STEPS = 10    # consecutive such stiff-method steps -> switch back


@njit(cache=True, nogil=True)
def explicit_leg_solve(rhs, p, t0, t1, y0, rtol, atol, C, A, B, E, error_order, C_extra,
                       A_extra, P, first_step, max_step, min_step, max_steps, t_eval,
                       use_t_eval, dense, event_addresses, event_directions, event_terminal,
                       event_samples, ev_count, detect):
    """An explicit FSAL RK leg with stiffness detection (see the module docstring).

    ``detect`` False: no detection (the leg runs to the end like RK45). ``max_steps`` <= 0:
    unlimited, else the attempts left. Returns the 13-tuple, then y at t_final.
    """
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
    g_old = np.empty(n_events)
    g_new = np.empty(n_events)
    found_theta = np.empty(events_per_step)
    found_index = np.empty(events_per_step, dtype=np.int64)

    counters = np.zeros(8)
    nfev = 0
    naccept = 0
    nreject = 0
    attempts = 0
    t = t0
    call_rhs_row(rhs, t, y, p, K, 0)
    nfev += 1
    for e in range(n_events):
        g_old[e] = call_event(event_addresses[e], t, y, p)
    h_abs = 0.0
    if t1 == t0 or not all_finite_row(K, 0):
        if t1 == t0:
            if use_t_eval:
                for k in range(t_eval.shape[0]):
                    t_out[k] = t0
                    y_out[k] = y0
                n_out = t_eval.shape[0]
        else:
            status = st.NON_FINITE
        counters[0] = nfev
        counters[3] = t0
        return (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg,
                ev_t, ev_y, ev_index, n_ev, counters, y)

    error_exponent = -1.0 / (error_order + 1.0)
    if first_step > 0.0:
        h_abs = first_step
    else:
        h_abs = select_initial_step(rhs, p, t0, y0, K[0], t1, max_step, direction,
                                    error_order, rtol, atol, ytmp, K[1])
        nfev += 1
    n_stiff = 0
    n_nonstiff = 0
    fsal_error = E[s] != 0.0
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
            # ---- attempt steps until one is accepted (as explicit_rk_solve) ----------------
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
                if max_steps > 0 and attempts >= max_steps:
                    status = st.MAX_STEPS
                    break
                attempts += 1
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
                nfev += s - 1
                finite = all_finite(y_new)
                if fsal_error:
                    call_rhs_row(rhs, t_new, y_new, p, K, s)
                    nfev += 1
                error_scale(y, y_new, rtol, atol, scale)
                error_norm = rk_error_norm(K, E, E, False, h, scale) if finite else np.inf
                if error_norm < 1.0:
                    h_abs = abs(h) * step_factor_accept(error_norm, error_exponent, step_rejected)
                    if not fsal_error:
                        call_rhs_row(rhs, t_new, y_new, p, K, s)
                        nfev += 1
                    accepted = True
                else:
                    h_abs = abs(h) * step_factor_reject(error_norm, error_exponent)
                    step_rejected = True
                    nreject += 1
            if not accepted:
                finished = True
                break
            naccept += 1
            if not all_finite_row(K, s):
                status = st.NON_FINITE
            elif detect:
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
            if dense or n_events > 0 or (
                    use_t_eval and i_eval < t_eval.shape[0]
                    and direction * (t_eval[i_eval] - t_new) < 0.0):
                if m_extra > 0:
                    nfev += extra_stages(rhs, p, t, y, h, K, s, C_extra, A_extra, ytmp)
                dense_coefficients(K, P, h, Q)
            stop = False
            t_stop = t_new
            theta_stop = 1.0
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
                    status = st.TERMINATED
            if dense:
                record_segment(t, h, y, Q, seg_t, seg_h, seg_data, n_seg)
                n_seg += 1
            if use_t_eval:
                while i_eval < t_eval.shape[0] and direction * (t_eval[i_eval] - t_stop) <= 0.0:
                    te = t_eval[i_eval]
                    t_out[n_out] = te
                    if te == t_new:
                        for i in range(n):
                            y_out[n_out, i] = y_new[i]
                    else:
                        evaluate_dense(y, Q, (te - t) / h, y_out, n_out)
                    n_out += 1
                    i_eval += 1
            else:
                t_out[n_out] = t_stop
                if stop:
                    evaluate_dense(y, Q, (t_stop - t) / h, y_out, n_out)
                else:
                    for i in range(n):
                        y_out[n_out, i] = y_new[i]
                n_out += 1
            if stop:
                t = t_stop
                evaluate_dense(y, Q, theta_stop, ybuf, 0)
                for i in range(n):
                    y[i] = ybuf[0, i]
                finished = True
                break
            t = t_new
            for i in range(n):
                y[i] = y_new[i]
                K[0, i] = K[s, i]
            if status != st.SUCCESS:
                finished = True
                break
            if n_stiff >= STIFF_SIGNALS and direction * (t - t1) < 0.0:
                status = STIFF
                finished = True
                break

    counters[0] = nfev
    counters[1] = naccept
    counters[2] = nreject
    counters[3] = t
    counters[6] = h_abs
    counters[7] = attempts
    return (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg,
            ev_t, ev_y, ev_index, n_ev, counters, y)


@njit(cache=True, nogil=True, error_model="numpy")
def rodas_leg_solve(rhs, jac, use_jac, p, t0, t1, y0, rtol, atol, first_step, max_step,
                    min_step, max_steps, t_eval, use_t_eval, dense, event_addresses,
                    event_directions, event_terminal, event_samples, ev_count,
                    group_ptr, group_cols, col_ptr, rows, detect):
    """A Rodas4 leg (no mass matrix) that stops with :data:`NONSTIFF` when the problem no
    longer looks stiff (see the module docstring); ``detect`` False: never.

    The loop is fastode.kernels.rosenbrock.rosenbrock_solve's for Hairer-form methods
    without a mass matrix, dense LU (the step written out: see the module docstring).
    Returns the 13-tuple, then y at t_final.
    """
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
    g_old = np.empty(n_events)
    g_new = np.empty(n_events)
    found_theta = np.empty(events_per_step)
    found_index = np.empty(events_per_step, dtype=np.int64)

    counters = np.zeros(8)
    nfev = 0
    njev = 0
    nlu = 0
    naccept = 0
    nreject = 0
    attempts = 0
    t = t0
    call_rhs(rhs, t, y, p, fy)
    nfev += 1
    for e in range(n_events):
        g_old[e] = call_event(event_addresses[e], t, y, p)
    h_abs = 0.0
    if t1 == t0 or not all_finite(fy):
        if t1 == t0:
            if use_t_eval:
                for k in range(t_eval.shape[0]):
                    t_out[k] = t0
                    y_out[k] = y0
                n_out = t_eval.shape[0]
        else:
            status = st.NON_FINITE
        counters[0] = nfev
        counters[3] = t0
        return (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg,
                ev_t, ev_y, ev_index, n_ev, counters, y)

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

            # ---- attempt steps until one is accepted ---------------------------------------
            step_rejected = False
            accepted = False
            err_norm = 0.0
            t_new = t
            h = 0.0
            while not accepted:
                if max_steps > 0 and attempts >= max_steps:
                    status = st.MAX_STEPS
                    break
                spacing_min = 10.0 * abs(np.nextafter(t, direction * np.inf) - t)
                if h_abs > max_step:
                    h_abs = max_step
                if not (h_abs >= spacing_min and h_abs >= min_step):  # NaN-safe
                    status = st.STEP_TOO_SMALL if math.isfinite(err_norm) else st.NON_FINITE
                    break
                attempts += 1
                t_new = t + direction * h_abs
                if direction * (t_new - t1) > 0.0:
                    t_new = t1
                h = t_new - t
                fac = 1.0 / (gamma * h)
                for i in range(n):
                    for j in range(n):
                        W[i, j] = -J[i, j]
                    W[i, i] += fac
                # ---- LU of W = I / (gamma h) - J, partial pivoting (linalg.lu_factor) ---------
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
                nlu += 1
                if info != 0:
                    n_singular += 1
                    nreject += 1
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
                nfev += s - 1
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
                    if naccept > 0:
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
                    nreject += 1
            if not accepted:
                finished = True
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
            if dense or n_events > 0 or (
                    use_t_eval and i_eval < t_eval.shape[0]
                    and direction * (t_eval[i_eval] - t_new) < 0.0):
                rosenbrock_dense(0, H, h, y, y_new, K, hv, Q)
            stop = False
            t_stop = t_new
            theta_stop = 1.0
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
                    status = st.TERMINATED
            if dense:
                record_segment(t, h, y, Q, seg_t, seg_h, seg_data, n_seg)
                n_seg += 1
            if use_t_eval:
                while i_eval < t_eval.shape[0] and direction * (t_eval[i_eval] - t_stop) <= 0.0:
                    te = t_eval[i_eval]
                    t_out[n_out] = te
                    if te == t_new:
                        for i in range(n):
                            y_out[n_out, i] = y_new[i]
                    else:
                        evaluate_dense(y, Q, (te - t) / h, y_out, n_out)
                    n_out += 1
                    i_eval += 1
            else:
                t_out[n_out] = t_stop
                if stop:
                    evaluate_dense(y, Q, (t_stop - t) / h, y_out, n_out)
                else:
                    for i in range(n):
                        y_out[n_out, i] = y_new[i]
                n_out += 1
            if stop:
                t = t_stop
                evaluate_dense(y, Q, theta_stop, ybuf, 0)
                for i in range(n):
                    y[i] = ybuf[0, i]
                finished = True
                break
            t = t_new
            for i in range(n):
                y[i] = y_new[i]
                fy[i] = f_new[i]
            if status != st.SUCCESS:
                finished = True
                break
            if n_back >= NONSTIFF_STEPS and direction * (t - t1) < 0.0:
                status = NONSTIFF
                # the explicit leg starts from the stiff method's next step, capped so that
                # it starts inside its stability region
                if norm_j > 0.0:
                    h_abs = min(h_abs, 2.0 / norm_j)
                finished = True
                break

    counters[0] = nfev
    counters[1] = naccept
    counters[2] = nreject
    counters[3] = t
    counters[4] = njev
    counters[5] = nlu
    counters[6] = h_abs
    counters[7] = attempts
    return (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg,
            ev_t, ev_y, ev_index, n_ev, counters, y)
