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
from ..control import select_initial_step
from ..interpolation import dense_coefficients, extra_stages
from ..output import (begin_solve, grow_output, interpolant_needed, output_full, record_step, save_step,
                      solve_counters, start_status)
from .step import advance_step, all_finite, all_finite_row

# written out in place of their calls in the generated solve.py (fastode.kernels.expand)
INLINE = (advance_step, interpolant_needed, save_step, record_step)
MACROS = (begin_solve,)


@njit(cache=True, nogil=True)
def explicit_rk_solve(rhs, p, t0, t1, y0, tolerances, tableau, steps, output, events):
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
    rtol, atol = tolerances
    C, A, B, E, E3, use_e3, error_order, C_extra, A_extra, P = tableau
    adaptive, first_step, max_step, min_step, max_steps = steps
    t_eval, use_t_eval, dense = output
    event_addresses, event_directions, event_terminal, event_samples = events
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
    # the counters, output buffers and event workspace (a macro: kernels/output.py)
    begin_solve(n, q, t0, y0, p, t_eval, use_t_eval, dense, event_addresses, event_samples,
                ev_count)

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
    while status == st.SUCCESS and direction * (t - t1) < 0.0:
        t_out, y_out, seg_t, seg_h, seg_data, ev_t, ev_y, ev_index = grow_output(
            use_t_eval, dense, n_out, n_seg, n_ev, events_per_step, t_out, y_out, seg_t, seg_h,
            seg_data, ev_t, ev_y, ev_index)

        while (status == st.SUCCESS and direction * (t - t1) < 0.0
               and not output_full(use_t_eval, dense, n_out, n_seg, n_ev, events_per_step, t_out,
                                   seg_t, ev_t)):
            # ---- attempt steps until one is accepted (explicit/step.py) ---------------------
            status, accepted, t_new, h, h_abs, nf, nr, attempts = advance_step(
                rhs, p, t, y, t0, t1, direction, h_abs, adaptive, n_fixed, naccept, max_step,
                min_step, max_steps, attempts, rtol, atol, C, A, B, E, E3, use_e3,
                error_exponent, K, y_new, ytmp, scale, True)
            nfev += nf
            nreject += nr
            if not accepted:
                break
            naccept += 1

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
            if status == st.TERMINATED:
                t = t + theta_stop * h
            elif status != st.EVENT_FAILED:
                # f(t_new, y_new) becomes the next step's first stage (FSAL)
                t = t_new
                for i in range(n):
                    y[i] = y_new[i]
                    K[0, i] = K[s, i]

    counters = solve_counters(4, nfev, naccept, nreject, t, 0, 0, 0.0, 0)
    return (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg,
            ev_t, ev_y, ev_index, n_ev, counters)
