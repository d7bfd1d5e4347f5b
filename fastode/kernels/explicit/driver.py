"""Explicit Runge-Kutta: the solve_ivp driver ``explicit_rk_solve``, shared by every tableau.

This is the driver as written; fastode.kernels.expand generates ``solve.py`` from it with the
helpers listed in ``INLINE`` written out in place of their calls (no reference-count traffic
per step; docs/architecture.md). The kernels run the generated module.
"""

import math

import numpy as np
from numba import njit

from .. import status as st
from ..callbacks import call_rhs_row
from ..control import (error_scale, rk_error_norm, select_initial_step, step_factor_accept,
                       step_factor_reject)
from ..interpolation import dense_coefficients, extra_stages
from ..output import (grow_output, interpolant_needed, output_full, record_step, save_step,
                      solve_counters, start_output, start_status)
from .step import all_finite, all_finite_row, rk_step

# written out in place of their calls in the generated solve.py (fastode.kernels.expand)
INLINE = (interpolant_needed, save_step, record_step)


@njit(cache=True, nogil=True)
def explicit_rk_solve(rhs, p, t0, t1, y0, rtol, atol,
                      C, A, B, E, E3, use_e3, error_order, C_extra, A_extra, P,
                      adaptive, first_step, max_step, min_step, max_steps,
                      t_eval, use_t_eval, dense,
                      event_addresses, event_directions, event_terminal, event_samples):
    """Integrate y' = f(t, y, p) from t0 to t1 with an explicit RK tableau.

    Parameters are plain arrays and scalars (see fastode.ivp for their meaning). ``adaptive``
    False takes steps of exactly ``first_step`` (the last one shortened to end at t1).
    ``first_step`` <= 0 selects the initial step automatically; ``max_steps`` <= 0 is unlimited.

    Returns
    -------
    (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg,
     ev_t, ev_y, ev_index, n_ev, counters)
        ``t_out[:n_out]``, ``y_out[:n_out]``: t_eval points, or every accepted step.
        ``seg_*[:n_seg]``: dense-output segments (start, signed step, [y, Q.ravel()]).
        ``ev_*[:n_ev]``: event occurrences in time order.
        ``counters``: [nfev, naccept, nreject, t_final].
    """
    n = y0.shape[0]
    s = B.shape[0]
    m_extra = C_extra.shape[0]
    q = P.shape[1]
    n_events = event_addresses.shape[0]
    direction = 1.0 if t1 >= t0 else -1.0
    status = st.SUCCESS

    # zeros, not empty: the error norm multiplies every row of K[:s + 1] by E, and for methods
    # whose estimate does not use f_new (E[s] == 0, e.g. Vern7) K[s] is still unset on the first
    # step; 0 * garbage is NaN when the garbage is inf/NaN (a first step rejected forever)
    K = np.zeros((s + 1 + m_extra, n))
    y = y0.copy()
    y_new = np.empty(n)
    ytmp = np.empty(n)
    scale = np.empty(n)
    Q = np.zeros((n, q))

    # Output buffers. They grow only between steps, outside the hot loop: reassigning arrays
    # inside it costs reference-count traffic on every step.
    t = t0
    call_rhs_row(rhs, t, y, p, K, 0)
    nfev = 1
    naccept = nreject = attempts = 0
    # output buffers (kernels/output.py): they grow only between steps, outside the hot loop
    (t_out, y_out, n_out, seg_t, seg_h, seg_data, ev_t, ev_y, ev_index, events_per_step,
     ev_count, g_old, g_new, found_theta, found_index, ybuf) = start_output(
        n, q, t0, y0, p, t_eval, use_t_eval, dense, event_addresses, event_samples)
    i_eval = n_seg = n_ev = 0

    # a NaN in y0 would make the step size NaN, and no NaN comparison ends the loop
    if t1 == t0 or not (all_finite_row(K, 0) and all_finite(y0)):
        status, n_out = start_status(t0, t1, y0, t_eval, use_t_eval, t_out, y_out, n_out)
        return (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg, ev_t, ev_y, ev_index,
                n_ev, solve_counters(4, nfev, 0, 0, t0, 0, 0, 0.0, 0))

    error_exponent = -1.0 / (error_order + 1.0)
    n_fixed = 0
    if adaptive:
        if first_step > 0.0:
            h_abs = first_step
        else:
            h_abs = select_initial_step(rhs, p, t0, y0, K[0], t1, max_step, direction,
                                        error_order, rtol, atol, ytmp, K[1])
            nfev += 1
    else:
        # step k spans [t0 + k h, t0 + (k+1) h]; the last one ends exactly at t1
        h_abs = first_step
        n_fixed = max(1, int(math.ceil(abs(t1 - t0) / h_abs - 1e-9)))
    finished = False

    while not finished:
        t_out, y_out, seg_t, seg_h, seg_data, ev_t, ev_y, ev_index = grow_output(
            use_t_eval, dense, n_out, n_seg, n_ev, events_per_step, t_out, y_out, seg_t, seg_h,
            seg_data, ev_t, ev_y, ev_index)

        while True:
            finished = direction * (t - t1) >= 0.0
            if finished or output_full(use_t_eval, dense, n_out, n_seg, n_ev, events_per_step,
                                       t_out, seg_t, ev_t):
                break
            # ---- attempt steps until one is accepted ---------------------------------------
            spacing_min = 10.0 * abs(np.nextafter(t, direction * np.inf) - t)
            if adaptive:
                if h_abs > max_step:
                    h_abs = max_step
                elif h_abs < spacing_min:
                    h_abs = spacing_min
            step_rejected = False
            accepted = False
            error_norm = 0.0
            while not accepted:
                if max_steps > 0 and attempts >= max_steps:
                    status = st.MAX_STEPS
                    break
                attempts += 1
                if adaptive:
                    # written so that a NaN step size also ends here (never loops forever)
                    if not (h_abs >= spacing_min and h_abs >= min_step):
                        # a collapse caused by NaN/inf (f failed) is reported as such
                        # (solve_ivp only: the step-by-step classes keep scipy's message)
                        if math.isfinite(error_norm):
                            status = st.STEP_TOO_SMALL
                        else:
                            status = st.NON_FINITE
                        break
                    t_new = t + direction * h_abs
                    if direction * (t_new - t1) > 0.0:
                        t_new = t1
                elif naccept + 1 >= n_fixed:
                    t_new = t1
                else:
                    t_new = t0 + direction * (naccept + 1) * h_abs
                h = t_new - t
                rk_step(rhs, p, t, y, h, C, A, B, K, y_new, ytmp)
                nfev += s - 1
                # written out, not all_finite(y_new): the inlined helper's early return kept
                # one reference-count increment/decrement pair on y_new per step
                finite = True
                for i in range(n):
                    if not math.isfinite(y_new[i]):
                        finite = False
                        break
                if not adaptive:
                    if not finite:
                        status = st.NON_FINITE
                        break
                    call_rhs_row(rhs, t_new, y_new, p, K, s)
                    nfev += 1
                    accepted = True
                    break
                fsal_error = use_e3 or E[s] != 0.0
                if fsal_error:
                    # the error estimate uses f(t_new, y_new) (FSAL methods, DOP853)
                    call_rhs_row(rhs, t_new, y_new, p, K, s)
                    nfev += 1
                error_scale(y, y_new, rtol, atol, scale)
                error_norm = rk_error_norm(K, E, E3, use_e3, h, scale) if finite else np.inf
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
                # f is non-finite at the new state: keep the state reached, report the failure
                status = st.NON_FINITE

            # ---- dense output, events, saving ----------------------------------------------
            # the interpolant is needed for events, dense output, or a t_eval point strictly
            # inside this step (a point at the step end takes y_new itself)
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
            if status == st.EVENT_FAILED or status == st.TERMINATED:
                if status == st.TERMINATED:
                    t = t + theta_stop * h
                finished = True
                break
            # f(t_new, y_new) becomes the next step's first stage (FSAL)
            t = t_new
            for i in range(n):
                y[i] = y_new[i]
                K[0, i] = K[s, i]
            if status != st.SUCCESS:
                finished = True
                break

    counters = solve_counters(4, nfev, naccept, nreject, t, 0, 0, 0.0, 0)
    return (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg,
            ev_t, ev_y, ev_index, n_ev, counters)
