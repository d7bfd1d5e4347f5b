"""``switching_solve``: LSODA / auto's alternation of legs as one compiled function.

fastode.ivp_auto alternates the legs from Python (one call per leg, the outputs joined with
numpy). Here the same loop runs in numba, so that compiled callers (a per-trajectory loop of
fastode's ensembles, a benchmark's @njit loop) can run a switching solve without Python:

    switching_solve(rhs, jac, p, t0, t1, y0, (rtol, atol), (mass, has_mass),
                    (first_step, max_step, min_step, max_steps), (t_eval, use_t_eval, dense),
                    (event_addresses, event_directions, event_terminal, event_samples),
                    (use_jac, group_ptr, group_cols, col_ptr, rows, kl, ku, lu_order,
                     lu_capacity),
                    tableau, use_bdf)

the implicit driver contract of fastode.ivp_implicit (``mass`` is ignored: no mass matrix;
``kl, ku, lu_order, lu_capacity`` are ignored: the stiff legs' LU is dense, the column groups
only group finite differences), plus the explicit leg's tableau group (fastode.ivp_auto's
``_tableau_group``: DOPRI5 for LSODA, Tsit5 for auto) and ``use_bdf`` (True: the BDF stiff leg,
fastode.ivp_auto's rule ``max(rtol) < BDF_BELOW_RTOL``; False: Rodas4). Returns the contract's
13-tuple, dense segments padded to :data:`Q_MAX` columns, counters
``[nfev, naccept, nreject, t_final, njev, nlu]``, then ``n_switches``. The steps, outputs
and counters are those of ``fastode.solve_ivp(method="LSODA" / "auto")`` bit for bit (tested);
the switch points are not returned (only their number).
"""
import numpy as np
from numba import njit

from .. import status as st
from .solve import NONSTIFF, STIFF, bdf_leg_solve, explicit_leg_solve, rodas_leg_solve

Q_MAX = 5  # the widest leg's dense polynomial (BDF; DOPRI5 and Tsit5 4, Rodas4 3)


@njit(cache=True, nogil=True)
def _append(parts_t, parts_y, t_out, y_out, skip, n_out):
    return (np.concatenate((parts_t, t_out[skip:n_out])),
            np.concatenate((parts_y, y_out[skip:n_out])))


@njit(cache=True, nogil=True)
def _padded(seg_data, n_seg, n):
    """seg_data[:n_seg] rows [y, Q.ravel()] with Q (n, q) -> the same with Q (n, Q_MAX)."""
    q = seg_data.shape[1] // n - 1
    out = np.zeros((n_seg, n * (Q_MAX + 1)))
    for k in range(n_seg):
        for i in range(n):
            out[k, i] = seg_data[k, i]
            for j in range(q):
                out[k, n + i * Q_MAX + j] = seg_data[k, n + i * q + j]
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def switching_solve(rhs, jac, p, t0, t1, y0, tolerances, mass_matrix, steps, output, events,
                    jacobian, tableau, use_bdf):
    """LSODA / auto in one compiled call (see the module docstring)."""
    first_step, max_step, min_step, max_steps = steps
    t_eval, use_t_eval, dense = output
    use_jac, group_ptr, group_cols, col_ptr, rows, _, _, lu_order, _ = jacobian
    leg_jacobian = (use_jac, group_ptr, group_cols, col_ptr, rows, -1, -1, lu_order, 0)
    n = y0.shape[0]
    n_events = events[0].shape[0]
    ev_count = np.zeros(n_events, dtype=np.int64)
    t_all = np.zeros(0)
    y_all = np.zeros((0, n))
    st_all = np.zeros(0)
    sh_all = np.zeros(0)
    sd_all = np.zeros((0, n * (Q_MAX + 1)))
    et_all = np.zeros(0)
    ey_all = np.zeros((0, n))
    ei_all = np.zeros(0, dtype=np.int64)
    nfev = naccept = nreject = njev = nlu = 0.0
    t_final = t0
    t = t0
    y = y0.copy()
    h_next = first_step
    stiff = False
    i_eval = 0
    attempts = 0
    n_switches = 0
    k = 0
    status = st.SUCCESS
    while True:
        if max_steps > 0:
            left = max_steps - attempts
            if left <= 0:
                status = st.MAX_STEPS
                break
        else:
            left = 0
        te = t_eval[i_eval:].copy() if use_t_eval else t_eval
        if stiff:
            if use_bdf:
                out = bdf_leg_solve(rhs, jac, p, t, t1, y, tolerances,
                                    (h_next, max_step, min_step, left), (te, use_t_eval, dense),
                                    events, ev_count, leg_jacobian, True)
            else:
                out = rodas_leg_solve(rhs, jac, p, t, t1, y, tolerances,
                                      (h_next, max_step, min_step, left),
                                      (te, use_t_eval, dense), events, ev_count, leg_jacobian,
                                      True)
        else:
            out = explicit_leg_solve(rhs, p, t, t1, y, tolerances, tableau,
                                     (True, h_next, max_step, min_step, left),
                                     (te, use_t_eval, dense), events, ev_count, True)
        (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg, ev_t, ev_y, ev_index, n_ev,
         counters, y_end) = out
        # without t_eval every leg starts with its first point, the previous leg's last
        skip = 1 if (k > 0 and n_out > 0 and not use_t_eval) else 0
        t_all, y_all = _append(t_all, y_all, t_out, y_out, skip, n_out)
        if dense:
            st_all = np.concatenate((st_all, seg_t[:n_seg]))
            sh_all = np.concatenate((sh_all, seg_h[:n_seg]))
            sd_all = np.concatenate((sd_all, _padded(seg_data, n_seg, n)))
        if n_ev > 0:
            et_all = np.concatenate((et_all, ev_t[:n_ev]))
            ey_all = np.concatenate((ey_all, ev_y[:n_ev]))
            ei_all = np.concatenate((ei_all, ev_index[:n_ev]))
        nfev += counters[0]
        naccept += counters[1]
        nreject += counters[2]
        njev += counters[4]
        nlu += counters[5]
        attempts += int(counters[7])
        if use_t_eval:
            i_eval += n_out
        t_final = counters[3]
        k += 1
        t = counters[3]
        y = y_end
        h_next = counters[6]
        if status == STIFF:
            stiff = True
            h_next = 0.0
            n_switches += 1
        elif status == NONSTIFF:
            stiff = False
            n_switches += 1
        else:
            break
    if status == STIFF or status == NONSTIFF:  # max_steps used up exactly at a switch
        status = st.MAX_STEPS
    totals = np.array([nfev, naccept, nreject, t_final, njev, nlu])
    return (status, t_all, y_all, t_all.shape[0], st_all, sh_all, sd_all, st_all.shape[0],
            et_all, ey_all, ei_all, et_all.shape[0], totals, n_switches)
