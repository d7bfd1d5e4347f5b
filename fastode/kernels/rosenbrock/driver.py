"""Rosenbrock methods: the solve_ivp driver ``rosenbrock_solve``, shared by every tableau.

This is the driver as written; fastode.kernels.expand generates ``solve.py`` from it with the
helpers listed in ``INLINE`` written out in place of their calls (no reference-count traffic
per step; docs/architecture.md). The kernels run the generated module.
"""

import math

import numpy as np
from numba import njit

from .. import status as st
from ..callbacks import call_rhs
from ..control import select_initial_step
from ..explicit.step import all_finite
from ..jacobian import (FD_SCALED, JAC_CONSTANT, JAC_FD, JAC_USER, KL_SPARSE, evaluate_jacobian,
                        fd_jacobian_dense, fd_time_derivative)
from ..linalg import lu_solve_row
from ..newton import lu_factor_inline as lu_factor, sparse_w_workspace
from ..output import (begin_solve, grow_output, interpolant_needed, output_full, record_step, save_step,
                      solve_counters, start_status)
from .dense import rosenbrock_dense
from .step import (rosenbrock_attempts, combine_stages, fill_w_hairer, hairer_stages, rosenbrock_error_norm,
                   rosenbrock_step_size)

# written out in place of their calls in the generated solve.py (fastode.kernels.expand)
INLINE = (rosenbrock_attempts, fill_w_hairer, lu_factor, hairer_stages, lu_solve_row, combine_stages,
          rosenbrock_error_norm, rosenbrock_step_size, interpolant_needed, save_step, record_step)
MACROS = (begin_solve,)


@njit(cache=True, nogil=True, error_model="numpy")
def rosenbrock_solve(coefficients, rhs, jac, p, t0, t1, y0, tolerances, mass_matrix, steps, output,
                     events, jacobian):
    """Integrate M y' = f(t, y, p) from t0 to t1 with a Rosenbrock method (see the module).

    ``kl`` >= 0: banded mode, J has kl sub- and ku super-diagonals (finite differences by the
    column groups, which must lie in the band; ``use_jac`` is JAC_FD_GROUPED) and W is
    factored by the banded LU of fastode.kernels.linalg; ``kl`` == KL_SPARSE: J holds the
    grouped differences as the CSC values of the pattern ``col_ptr, rows`` and W is factored
    by fastode.kernels.sparse_lu in the column order ``lu_order`` (room for ``lu_capacity``
    entries; no mass matrix); ``kl`` == -1: dense.

    Returns the implicit driver contract's 13-tuple (fastode.ivp_implicit); counters are
    [nfev, naccept, nreject, t_final, njev, nlu].
    """
    kind, gamma, A, C, c, d, B, E, H, error_order = coefficients
    rtol, atol = tolerances
    mass, has_mass = mass_matrix
    first_step, max_step, min_step, max_steps = steps
    t_eval, use_t_eval, dense = output
    event_addresses, event_directions, event_terminal, event_samples = events
    use_jac, group_ptr, group_cols, col_ptr, rows, kl, ku, lu_order, lu_capacity = jacobian
    n = y0.shape[0]
    s = 3 if kind == 1 else B.shape[0]
    q = 2 if kind == 1 else H.shape[0] + 1
    n_events = event_addresses.shape[0]
    direction = 1.0 if t1 >= t0 else -1.0
    status = st.SUCCESS
    exponent = 1.0 / (error_order + 1.0)

    K = np.zeros((s, n))
    banded = kl >= 0
    sparse = kl == KL_SPARSE
    if banded:
        # band arrays F-ordered (each column contiguous, as LAPACK's); dense ones unused
        J = np.zeros((1, 1))
        W = np.empty((1, 1))
        Jb = np.zeros((n, kl + ku + 1)).T
        Wb = np.zeros((n, 2 * kl + ku + 1)).T
    elif sparse:
        # J's values on the pattern col_ptr, rows (CSC); W's LU in fastode.kernels.sparse_lu
        J = np.zeros((1, rows.shape[0]))
        W = np.empty((1, 1))
        Jb = np.zeros((1, 1)).T
        Wb = np.zeros((1, 1)).T
    else:
        J = np.zeros((n, n))
        W = np.empty((n, n))
        Jb = np.zeros((1, 1)).T
        Wb = np.zeros((1, 1)).T
    kv = kl + ku
    piv = np.empty(n, dtype=np.int64)
    y = y0.copy()
    y_new = np.empty(n)
    fy = np.empty(n)
    f_new = np.empty(n)
    ft = np.zeros(n)
    ytmp = np.empty(n)
    ftmp = np.empty(n)
    fbuf = np.empty(n)
    cbuf = np.empty(n)
    err = np.empty(n)
    deltas = np.empty(n)
    hv = np.empty(max(q - 1, 1))
    Q = np.zeros((n, q))
    # the sparse LU (fastode.kernels.newton.sparse_w_factor; one-entry placeholders unless
    # sparse)
    slu = sparse_w_workspace(n, col_ptr, rows, lu_order, lu_capacity, sparse)

    t = t0
    call_rhs(rhs, t, y, p, fy)
    # the counters, output buffers and event workspace (a macro: kernels/output.py)
    begin_solve(n, q, t0, y0, p, t_eval, use_t_eval, dense, event_addresses, event_samples,
                ev_count)

    if t1 == t0 or not all_finite(fy):
        status, n_out = start_status(t0, t1, y0, t_eval, use_t_eval, t_out, y_out, n_out)
        return (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg, ev_t, ev_y, ev_index,
                n_ev, solve_counters(6, nfev, 0, 0, t0, 0, 0, 0.0, 0))

    if first_step > 0.0:
        h_abs = first_step
    else:
        h_abs = select_initial_step(rhs, p, t0, y0, fy, t1, max_step, direction,
                                    error_order, rtol, atol, ytmp, ftmp)
        nfev += 1
    if use_jac == JAC_CONSTANT:
        call_rhs(jac, t, y, p, J)
        njev += 1
    n_singular = 0
    h_acc = 0.0
    err_acc = 1.0
    while status == st.SUCCESS and direction * (t - t1) < 0.0:
        t_out, y_out, seg_t, seg_h, seg_data, ev_t, ev_y, ev_index = grow_output(
            use_t_eval, dense, n_out, n_seg, n_ev, events_per_step, t_out, y_out, seg_t, seg_h,
            seg_data, ev_t, ev_y, ev_index)

        while (status == st.SUCCESS and direction * (t - t1) < 0.0
               and not output_full(use_t_eval, dense, n_out, n_seg, n_ev, events_per_step, t_out,
                                   seg_t, ev_t)):
            # ---- Jacobian and df/dt at (t, y) -----------------------------------------------
            # (every step: the dense and user modes inlined, the others evaluate_jacobian's call)
            if use_jac == JAC_FD:
                nfev += fd_jacobian_dense(rhs, p, t, y, fy, atol, J, ytmp, ftmp)
                njev += 1
            elif use_jac == JAC_USER:
                call_rhs(jac, t, y, p, J)
                njev += 1
            elif use_jac != JAC_CONSTANT:
                nfev += evaluate_jacobian(use_jac, FD_SCALED, rhs, jac, p, t, y, fy, atol, J, Jb,
                                          kl, ku, group_ptr, group_cols, col_ptr, rows, deltas,
                                          deltas, deltas, ytmp, ftmp, deltas, deltas)
                njev += 1
            nfev += fd_time_derivative(rhs, p, t, y, fy, ft, ftmp)

            # ---- attempt steps until one is accepted (rosenbrock/step.py) ------------------
            (status, accepted, t_new, h, h_abs, nf, nl, nr, attempts, n_singular, h_acc,
             err_acc) = rosenbrock_attempts(
                kind, gamma, A, C, c, d, B, E, exponent, rhs, p, t, t1, direction, y, fy, ft,
                J, Jb, W, Wb, piv, banded, kl, ku, mass, has_mass, K, y_new, f_new, ytmp, fbuf,
                cbuf, err, rtol, atol, h_abs, max_step, min_step, max_steps, attempts, naccept,
                n_singular, h_acc, err_acc, slu)
            nfev += nf
            nlu += nl
            nreject += nr
            if not accepted:
                break
            naccept += 1
            n_singular = 0
            if kind != 1:
                call_rhs(rhs, t_new, y_new, p, f_new)
                nfev += 1
            for i in range(n):
                if not math.isfinite(f_new[i]):
                    status = st.NON_FINITE

            # ---- dense output, events, saving ----------------------------------------------
            if interpolant_needed(dense, n_events, use_t_eval, t_eval, i_eval, direction, t_new):
                rosenbrock_dense(kind, H, h, y, y_new, K, hv, Q)
            # ---- events and output of the step (kernels/output.py) -----------------------
            status, theta_stop, n_ev, n_out, i_eval, n_seg = record_step(
                t, h, t_new, y, y_new, Q, status, p, event_addresses, event_directions,
                event_terminal, event_samples, g_old, g_new, ybuf, found_theta, found_index,
                ev_count, ev_t, ev_y, ev_index, n_ev, dense, use_t_eval, t_eval, i_eval,
                direction, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg)
            if status == st.TERMINATED:
                t = t + theta_stop * h
            elif status != st.EVENT_FAILED:
                t = t_new
                for i in range(n):
                    y[i] = y_new[i]
                    fy[i] = f_new[i]

    counters = solve_counters(6, nfev, naccept, nreject, t, njev, nlu, 0.0, 0)
    return (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg,
            ev_t, ev_y, ev_index, n_ev, counters)
