"""ESDIRK methods: the solve_ivp driver ``esdirk_solve``, shared by every tableau.

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
from ..jacobian import FD_NUM_JAC, KL_SPARSE, SINGULAR, evaluate_jacobian
from ..linalg import band_lu_solve
from ..newton import (EPS, jacobian_scratch, newton_tolerance, fill_iteration_matrix, lu_factor_inline,
                      lu_solve_inline as lu_solve, sparse_w_factor, sparse_w_solve, sparse_w_workspace,
                      spacing10)
from ..output import (begin_solve, grow_output, output_full, record_step, save_step, solve_counters,
                      start_status)
from .newton import (FAIL_STATUS, JAC_GROWTH, JAC_RATE, KEEP_HI, KEEP_LO, MAX_FACTOR,
                     MAX_SINGULAR_CUTS, MIN_FACTOR, NEWTON_MAXITER, factor_w, factor_w_band,
                     fresh_jacobian, predict_factor, stage_newton, stage_newton_band,
                     stage_newton_sparse)

# written out in place of their calls in the generated solve.py (fastode.kernels.expand)
INLINE = (factor_w, fill_iteration_matrix, lu_factor_inline, stage_newton, lu_solve, save_step,
          record_step)
MACROS = (begin_solve,)


@njit(cache=True, nogil=True, error_model="numpy")
def esdirk_solve(coefficients, rhs, jac, p, t0, t1, y0, tolerances, mass_matrix, steps, output,
                 events, jacobian):
    """Integrate M y' = f(t, y, p) from t0 to t1 with a stiffly accurate ESDIRK tableau (see the
    module doc). ``fixed``: steps of exactly ``first_step``, no error control.

    Arguments after ``fixed`` and the returned 13-tuple: the implicit driver contract
    (fastode.ivp_implicit), structured and banded: ``use_jac`` an int Jacobian mode
    (JAC_CONSTANT is called like JAC_USER), the column groups, and ``kl, ku`` (``kl`` >= 0:
    banded mode, J and W in band storage; ``JAC_FD_GROUPED`` with ``kl`` == -1: dense W, J by
    grouped finite differences; ``kl`` == KL_SPARSE: J as the CSC values of the pattern
    ``col_ptr, rows`` and W factored by fastode.kernels.sparse_lu in the column order
    ``lu_order`` with room for ``lu_capacity`` entries, no mass matrix). Counters = [nfev,
    naccept, nreject, t_final, njev, nlu].
    """
    A, C, E, ALPHA, DENSE, SD, sa, sb, exponent, smooth_est, init_order, fixed = coefficients
    rtol, atol = tolerances
    mass, has_mass = mass_matrix
    first_step, max_step, min_step, max_steps = steps
    t_eval, use_t_eval, dense = output
    event_addresses, event_directions, event_terminal, event_samples = events
    use_jac, group_ptr, group_cols, col_ptr, rows, kl, ku, lu_order, lu_capacity = jacobian
    n = y0.shape[0]
    s = C.shape[0]
    gamma = A[s - 1, s - 1]
    has_dense = DENSE.shape[0] == s
    q = 3
    direction = 1.0 if t1 >= t0 else -1.0
    status = st.SUCCESS

    y = y0.copy()
    y_new = np.empty(n)
    f = np.empty(n)
    ytmp = np.empty(n)
    fbuf = np.empty(n)
    res = np.empty(n)
    R = np.empty(n)
    u = np.empty(n)
    scale = np.empty(n)
    err = np.empty(n)
    Z = np.zeros((s, n))
    Ua = np.zeros(n)      # stage values sa, sb (dense output with a mass matrix)
    Ub = np.zeros(n)
    banded = kl >= 0
    sparse = kl == KL_SPARSE
    if banded:
        # band arrays F-ordered (each column contiguous, as LAPACK's); dense ones unused
        J = np.zeros((1, 1))
        LU = np.empty((1, 1))
        Jb = np.zeros((n, kl + ku + 1)).T
        LUb = np.zeros((n, 2 * kl + ku + 1)).T
    elif sparse:
        # J's values on the pattern col_ptr, rows (CSC); the LU in fastode.kernels.sparse_lu
        J = np.zeros((1, rows.shape[0]))
        LU = np.empty((1, 1))
        Jb = np.zeros((1, 1)).T
        LUb = np.zeros((1, 1)).T
    else:
        J = np.zeros((n, n))
        LU = np.empty((n, n))
        Jb = np.zeros((1, 1)).T
        LUb = np.zeros((1, 1)).T
    jac_factor, hvec, yscale, cmax, cscale = jacobian_scratch(n)  # FD Jacobians
    piv = np.empty(n, dtype=np.int64)
    Q = np.zeros((n, q))
    # the sparse LU (one-entry placeholders unless sparse)
    slu = sparse_w_workspace(n, col_ptr, rows, lu_order, lu_capacity, sparse)

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
    if fixed or first_step > 0.0:
        h_abs = min(first_step, max_step) if not fixed else first_step
    elif has_mass:
        h_abs = min(1e-6, abs(t1 - t0), max_step)
    else:
        h_abs = select_initial_step(rhs, p, t0, y0, f, t1, max_step, direction, init_order,
                                    rtol, atol, ytmp, fbuf)
        nfev += 1
    h_abs_old = -1.0
    error_norm_old = -1.0
    eta_old = 1.0     # Hairer's FACCON: the first iteration is never accepted at the start

    evaluate_jacobian(use_jac, FD_NUM_JAC, rhs, jac, p, t, y, f, atol, J, Jb, kl, ku, group_ptr,
                      group_cols, col_ptr, rows, jac_factor, hvec, yscale, ytmp, fbuf, cmax,
                      cscale)
    njev += 1
    current_jac = True
    h_jac = 0.0       # |h| of the first step attempted with the current J (0: none yet)
    lu_valid = False
    h_lu = 0.0
    while status == st.SUCCESS and direction * (t - t1) < 0.0:
        t_out, y_out, seg_t, seg_h, seg_data, ev_t, ev_y, ev_index = grow_output(
            use_t_eval, dense, n_out, n_seg, n_ev, events_per_step, t_out, y_out, seg_t, seg_h,
            seg_data, ev_t, ev_y, ev_index)

        while (status == st.SUCCESS and direction * (t - t1) < 0.0
               and not output_full(use_t_eval, dense, n_out, n_seg, n_ev, events_per_step, t_out,
                                   seg_t, ev_t)):
            # ---- one step ----------------------------------------------------------------
            spacing = spacing10(t, direction)
            if fixed:
                ha = h_abs
                ha_old = -1.0
                en_old = -1.0
            elif h_abs > max_step:
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
            accepted = False
            fail_kind = 0
            n_singular = 0
            error_norm = 0.0
            max_iter = 0
            max_rate = -1.0
            t_new = t
            h = 0.0
            while not accepted:
                if max_steps > 0 and attempts >= max_steps:
                    status = st.MAX_STEPS
                    break
                if (ha < spacing or ha < min_step) and not (fixed and fail_kind == 0):
                    status = FAIL_STATUS[fail_kind]
                    break
                attempts += 1
                h = ha * direction
                t_new = t + h
                if direction * (t_new - t1) > 0.0 or (fixed and abs(t1 - t_new) <= 1e-9 * ha):
                    t_new = t1
                h = t_new - t
                ha = abs(h)
                hg = h * gamma
                if h_jac == 0.0:
                    h_jac = ha
                for m in range(n):
                    scale[m] = atol[m] + abs(y[m]) * rtol[m]
                converged = False
                finite = True
                singular = False
                while True:
                    if not lu_valid or h_lu != h:
                        if banded:
                            singular = factor_w_band(Jb, mass, has_mass, hg, kl, ku, LUb, piv)
                        elif sparse:
                            # W = I - hg J
                            singular = sparse_w_factor(slu, J, 1.0, hg) != 0
                        else:
                            singular = factor_w(J, mass, has_mass, hg, LU, piv)
                        nlu += 1
                        lu_valid = not singular
                        h_lu = h
                    max_iter = 0
                    max_rate = -1.0
                    converged = not singular
                    if not singular:
                        for m in range(n):
                            Z[0, m] = h * f[m]
                        eta = max(eta_old, EPS) ** 0.8
                        for i in range(1, s):
                            for m in range(n):
                                acc = 0.0
                                pred = 0.0
                                for j in range(i):
                                    zj = Z[j, m]
                                    acc += A[i, j] * zj
                                    pred += ALPHA[i, j] * zj
                                R[m] = acc
                                u[m] = acc + gamma * pred
                            if banded:
                                converged, n_it, rate, eta, nf, finite = stage_newton_band(
                                    rhs, p, t + C[i] * h, y, hg, gamma, R, u, Z, i, ytmp, fbuf,
                                    res, scale, newton_tol, eta, LUb, piv, mass, has_mass, kl,
                                    ku)
                                nfev += nf
                            elif sparse:
                                converged, n_it, rate, eta, nf, finite = stage_newton_sparse(
                                    rhs, p, t + C[i] * h, y, hg, gamma, R, u, Z, i, ytmp, fbuf,
                                    res, scale, newton_tol, eta, slu)
                                nfev += nf
                            else:
                                converged, n_it, rate, eta, nf, finite = stage_newton(
                                    rhs, p, t + C[i] * h, y, hg, gamma, R, u, Z, i, ytmp, fbuf,
                                    res, scale, newton_tol, eta, LU, piv, mass, has_mass, -1, 0)
                                nfev += nf
                            max_iter = max(max_iter, n_it)
                            max_rate = max(max_rate, rate)
                            if not converged:
                                break
                            if i == sa:
                                for m in range(n):
                                    Ua[m] = u[m]
                            elif i == sb:
                                for m in range(n):
                                    Ub[m] = u[m]
                            eta = max(eta, EPS) ** 0.8
                        if converged:
                            eta_old = eta
                    if converged or current_jac:
                        break
                    njev += 1
                    nfev += fresh_jacobian(use_jac, rhs, jac, p, t, y, res, atol, J, Jb, kl, ku,
                                           group_ptr, group_cols, col_ptr, rows, jac_factor, hvec,
                                           yscale, ytmp, fbuf, cmax, cscale)
                    current_jac = True
                    h_jac = ha
                    lu_valid = False
                if not converged:
                    fail_kind = 1 if not finite else (2 if singular else 3)
                    eta_old = 1.0
                    n_singular = n_singular + 1 if singular else 0
                    if n_singular >= MAX_SINGULAR_CUTS:
                        status = SINGULAR
                        break
                    if fixed:
                        status = FAIL_STATUS[fail_kind]
                        break
                    ha *= 0.5
                    lu_valid = False
                    nreject += 1
                    continue
                fail_kind = 0
                for m in range(n):
                    y_new[m] = y[m] + u[m]
                if fixed:
                    accepted = True
                    break
                for m in range(n):
                    acc = 0.0
                    for i in range(s):
                        acc += E[i] * Z[i, m]
                    err[m] = acc
                if banded:
                    if smooth_est or has_mass:
                        band_lu_solve(LUb, kl, ku, piv, err)
                elif sparse:
                    if smooth_est:
                        sparse_w_solve(slu, err)
                elif smooth_est or has_mass:
                    lu_solve(LU, piv, err)
                acc = 0.0
                for m in range(n):
                    sc = atol[m] + max(abs(y[m]), abs(y_new[m])) * rtol[m]
                    r = err[m] / sc
                    acc += r * r
                error_norm = math.sqrt(acc / n)
                safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + max_iter)
                if not (error_norm <= 1.0):
                    if math.isfinite(error_norm):
                        factor = predict_factor(ha, ha_old, error_norm, en_old, exponent)
                        ha *= max(MIN_FACTOR, safety * factor)
                    else:
                        ha *= MIN_FACTOR
                        fail_kind = 1
                    nreject += 1
                else:
                    accepted = True
            if not accepted:
                break
            naccept += 1
            # f(t_new, y_new) from the last stage (first same as last)
            hinv = 1.0 / h
            f_finite = True
            for m in range(n):
                fbuf[m] = Z[s - 1, m] * hinv
                if not math.isfinite(fbuf[m]) or not math.isfinite(y_new[m]):
                    f_finite = False
            recompute_jac = max_iter > 2 and max_rate > JAC_RATE
            if not fixed:
                safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + max_iter)
                factor = predict_factor(ha, ha_old, error_norm, en_old, exponent)
                factor = min(MAX_FACTOR, safety * factor)
                if not recompute_jac and KEEP_LO <= factor <= KEEP_HI:
                    factor = 1.0
                h_abs_old = h_abs
                error_norm_old = error_norm
                h_abs = ha * factor
                # A J validated only at much shorter steps is not trusted: the simplified
                # Newton's contraction ~ ||(M - h gamma J)^-1 h gamma (J(y) - J)|| grows with h,
                # and a stale W both stalls Newton unseen (increments look small) and shrinks
                # the filtered error estimate. Seen on Van der Pol mu=1e3 at rtol 1e-3: a J from
                # the middle of a relaxation jump kept while h grew 1e6-fold gave wrong stages
                # accepted with estimates ~1e-6 (tests/test_sdirk.py). At most one extra J per
                # decade of step-size growth.
                if h_abs > JAC_GROWTH * h_jac:
                    recompute_jac = True
            if not f_finite:
                status = st.NON_FINITE

            # ---- dense output of this step (monomial form) --------------------------------
            if has_dense and not has_mass:
                for m in range(n):
                    a0 = 0.0
                    a1 = 0.0
                    a2 = 0.0
                    for i in range(s):
                        zi = Z[i, m]
                        a0 += DENSE[i, 0] * zi
                        a1 += DENSE[i, 1] * zi
                        a2 += DENSE[i, 2] * zi
                    Q[m, 0] = a0
                    Q[m, 1] = a1
                    Q[m, 2] = a2
            elif not has_mass:
                for m in range(n):
                    d = y_new[m] - y[m]
                    z0 = Z[0, m]
                    z1 = Z[s - 1, m]
                    Q[m, 0] = z0
                    Q[m, 1] = 3.0 * d - 2.0 * z0 - z1
                    Q[m, 2] = z0 + z1 - 2.0 * d
            elif sa >= 0:
                for m in range(n):
                    ua = Ua[m]
                    ub = Ub[m]
                    ue = y_new[m] - y[m]
                    Q[m, 0] = SD[0, 0] * ua + SD[0, 1] * ub + SD[0, 2] * ue
                    Q[m, 1] = SD[1, 0] * ua + SD[1, 1] * ub + SD[1, 2] * ue
                    Q[m, 2] = SD[2, 0] * ua + SD[2, 1] * ub + SD[2, 2] * ue
            else:
                for m in range(n):
                    Q[m, 0] = y_new[m] - y[m]
                    Q[m, 1] = 0.0
                    Q[m, 2] = 0.0
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
                for m in range(n):
                    y[m] = y_new[m]
                    f[m] = fbuf[m]
                t = t_new
                if status == st.SUCCESS:
                    if recompute_jac:
                        nfev += fresh_jacobian(use_jac, rhs, jac, p, t, y, res, atol, J, Jb, kl, ku,
                                               group_ptr, group_cols, col_ptr, rows, jac_factor, hvec,
                                               yscale, ytmp, fbuf, cmax, cscale)
                        njev += 1
                        current_jac = True
                        h_jac = 0.0
                        lu_valid = False
                    else:
                        current_jac = False

    counters = solve_counters(6, nfev, naccept, nreject, t, njev, nlu, 0.0, 0)
    return (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg,
            ev_t, ev_y, ev_index, n_ev, counters)
