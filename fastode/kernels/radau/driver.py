"""Radau IIA (order 5): the solve_ivp driver, ``radau_solve`` / ``radau_driver``.

This is the driver as written; fastode.kernels.expand generates ``solve.py`` from it with the
helpers listed in ``INLINE`` written out in place of their calls (no reference-count traffic
per step; docs/architecture.md). The kernels run the generated module.
"""

import math

import numpy as np
from numba import njit

from .. import status as st
from ...tableaus import radau as tab
from ..callbacks import call_rhs
from ..control import select_initial_step
from ..explicit.step import all_finite
from ..jacobian import (FD_NUM_JAC, JAC_CONSTANT, JAC_FD, JAC_USER, KL_SPARSE, SINGULAR, evaluate_jacobian,
                        num_jac_dense)
from ..linalg import band_lu_solve
from ..newton import sparse_w_solve, sparse_w_workspace, sparse_w_workspace_of
from ..newton import jacobian_scratch, newton_tolerance, lu_factor_inline, lu_solve_inline as lu_solve, spacing10
from ..output import (begin_solve, grow_output, output_full, record_step, save_step, solve_counters,
                      start_status)
from .newton import (E0, E1, E2, FAIL_STATUS, MAX_FACTOR, MAX_SINGULAR_CUTS, MIN_FACTOR,
                     NEWTON_MAXITER, P00, P01, P02, P10, P11, P12, P20, P21, P22, factor_radau,
                     factor_radau_band, factor_radau_sparse, mass_times, mass_times_band,
                     predict_factor, radau_newton_sparse,
                     radau_newton, radau_newton_band)

# written out in place of their calls in the generated solve.py (fastode.kernels.expand)
INLINE = (factor_radau, radau_newton, mass_times, lu_factor_inline, lu_solve, save_step,
          record_step)
MACROS = (begin_solve,)
# written out as the driver and a loop taking the unpacked option groups as arguments (faster
# here: fastode.kernels.expand._split_option_groups)
SEPARATE_LOOP = ("radau_driver",)


# The hot loop's helpers (INLINE) are written out in the generated solve.py: numba would incref
# and decref every array argument of each call (80-105 atomic updates per step on small systems,
# kernel 1.2-2.1x slower; python bench/refcount/drivers.py --cases radau counts them).
@njit(cache=True, nogil=True, error_model="numpy")
def radau_driver(rhs, jac, p, t0, t1, y0, tolerances, mass_matrix, steps, output, events, jacobian):
    """:func:`radau_solve` with every argument given (``use_jac`` an int mode).

    Banded mode (``kl`` >= 0): J in band storage (kl + ku + 1, n) from
    fastode.kernels.jacobian.num_jac_grouped (the column groups must lie in the band), the
    real and complex iteration matrices in LAPACK's gbtrf layout (2 kl + ku + 1, n), factored
    and solved by fastode.kernels.linalg's banded LU: O(n (kl + ku)) memory and
    O(n kl (kl + ku)) work per factorisation. ``JAC_FD_GROUPED`` with ``kl`` < 0: the dense
    path with J from the column groups. ``kl == KL_SPARSE`` (no mass matrix): J as the CSC values
    of the pattern ``col_ptr, rows``, both iteration matrices factored by
    fastode.kernels.sparse_lu in the column order ``lu_order`` (room for ``lu_capacity``
    entries, grown as needed). Otherwise the dense path, unchanged.
    """
    rtol, atol = tolerances
    mass, has_mass = mass_matrix
    first_step, max_step, min_step, max_steps = steps
    t_eval, use_t_eval, dense = output
    event_addresses, event_directions, event_terminal, event_samples = events
    use_jac, group_ptr, group_cols, col_ptr, rows, kl, ku, lu_order, lu_capacity = jacobian
    n = y0.shape[0]
    q = 3
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
    sparse = kl == KL_SPARSE
    user_jac = use_jac == JAC_USER or use_jac == JAC_CONSTANT
    if banded or sparse:
        # band arrays F-ordered (each column contiguous, as LAPACK's); dense ones unused
        # (sparse: J's CSC values on the pattern col_ptr, rows; the LUs in sparse_lu)
        J = np.zeros((1, rows.shape[0] if sparse else 1))
        LUr = np.empty((1, 1))
        LUc = np.empty((1, 1), dtype=np.complex128)
        kb = max(kl, 0) + max(ku, 0)
        Jb = np.zeros((n if banded else 1, kb + 1)).T
        LUrb = np.zeros((n if banded else 1, kb + max(kl, 0) + 1)).T
        LUcb = np.zeros((n if banded else 1, kb + max(kl, 0) + 1), dtype=np.complex128).T
    else:
        J = np.zeros((n, n))
        LUr = np.empty((n, n))
        LUc = np.empty((n, n), dtype=np.complex128)
        Jb = np.zeros((1, 1)).T
        LUrb = np.zeros((1, 1)).T
        LUcb = np.zeros((1, 1), dtype=np.complex128).T
    jac_factor, hvec, yscale, cmax, cscale = jacobian_scratch(n)  # FD Jacobians
    pivr = np.empty(n, dtype=np.int64)
    pivc = np.empty(n, dtype=np.int64)
    br = np.empty(n)
    bc = np.empty(n, dtype=np.complex128)
    # the sparse LUs, real and complex (fastode.kernels.newton.sparse_w_workspace: one-entry
    # placeholders unless sparse; not rebound in the step loop)
    slu_r = sparse_w_workspace(n, col_ptr, rows, lu_order, lu_capacity, sparse)
    slu_c = sparse_w_workspace_of(n, col_ptr, rows, lu_order, lu_capacity, sparse, bc)
    Q = np.zeros((n, q))
    y_sol = np.empty(n)           # previous step's interpolant: start, size, Q
    Q_sol = np.zeros((n, q))

    t = t0
    call_rhs(rhs, t, y, p, f)
    # the counters, output buffers and event workspace (a macro: kernels/output.py)
    begin_solve(n, q, t0, y0, p, t_eval, use_t_eval, dense, event_addresses, event_samples,
                ev_count)

    if t1 == t0 or not all_finite(f):
        status, n_out = start_status(t0, t1, y0, t_eval, use_t_eval, t_out, y_out, n_out)
        return (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg, ev_t, ev_y, ev_index,
                n_ev, solve_counters(6, nfev, 0, 0, t0, 0, 0, 0.0, 0))

    newton_tol = newton_tolerance(rtol)
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
    while status == st.SUCCESS and direction * (t - t1) < 0.0:
        t_out, y_out, seg_t, seg_h, seg_data, ev_t, ev_y, ev_index = grow_output(
            use_t_eval, dense, n_out, n_seg, n_ev, events_per_step, t_out, y_out, seg_t, seg_h,
            seg_data, ev_t, ev_y, ev_index)

        while (status == st.SUCCESS and direction * (t - t1) < 0.0
               and not output_full(use_t_eval, dense, n_out, n_seg, n_ev, events_per_step, t_out,
                                   seg_t, ev_t)):
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
                        elif sparse:
                            singular = factor_radau_sparse(J, h, slu_r, slu_c)
                        else:
                            singular = factor_radau(J, mass, has_mass, h, LUr, pivr, LUc, pivc)
                        nlu += 2
                        lu_valid = not singular
                    if not singular:
                        if banded:
                            converged, n_iter, rate, nf, finite = radau_newton_band(
                                rhs, p, t, y, h, Z0, Z, W, F, ytmp, scale, newton_tol, LUrb,
                                pivr, LUcb, pivc, br, bc, mass, has_mass, mw, kl, ku)
                        elif sparse:
                            converged, n_iter, rate, nf, finite = radau_newton_sparse(
                                rhs, p, t, y, h, Z0, Z, W, F, ytmp, scale, newton_tol, LUr, pivr,
                                LUc, pivc, br, bc, mw, slu_r, slu_c)
                        else:
                            converged, n_iter, rate, nf, finite = radau_newton(
                                rhs, p, t, y, h, Z0, Z, W, F, ytmp, scale, newton_tol, LUr, pivr,
                                LUc, pivc, br, bc, mass, has_mass, mw, -1, 0)
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
                elif sparse:
                    for m in range(n):
                        err[m] = f[m] + ze[m]
                    sparse_w_solve(slu_r, err)
                else:
                    mass_times(mass, has_mass, -1, 0, ze, err)
                    for m in range(n):
                        err[m] = f[m] + err[m]
                    lu_solve(LUr, pivr, err)
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
                    elif sparse:
                        for m in range(n):
                            err[m] = fbuf[m] + ze[m]
                        sparse_w_solve(slu_r, err)
                    else:
                        mass_times(mass, has_mass, -1, 0, ze, err)
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
            if not accepted:
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
            # ---- events and output of the step (kernels/output.py) -----------------------
            status, theta_stop, n_ev, n_out, i_eval, n_seg = record_step(
                t, h, t_new, y, y_new, Q, status, p, event_addresses, event_directions,
                event_terminal, event_samples, g_old, g_new, ybuf, found_theta, found_index,
                ev_count, ev_t, ev_y, ev_index, n_ev, dense, use_t_eval, t_eval, i_eval,
                direction, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg)
            if status == st.TERMINATED:
                t = t + theta_stop * h
            elif status != st.EVENT_FAILED:
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

    counters = solve_counters(6, nfev, naccept, nreject, t, njev, nlu, 0.0, 0)
    return (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg,
            ev_t, ev_y, ev_index, n_ev, counters)
