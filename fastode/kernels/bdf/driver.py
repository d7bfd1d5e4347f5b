"""Variable-order NDF/BDF: the solve_ivp driver ``bdf_solve``.

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
from ..jacobian import (FD_NUM_JAC_BDF, JAC_CONSTANT, JAC_USER, KL_KRYLOV, KL_SPARSE, SINGULAR,
                        evaluate_jacobian)
from ..krylov import PREC_ILU0, ilu0_factor
from ..linalg import band_lu_factor
from ..newton import (jacobian_scratch, newton_tolerance, fill_iteration_matrix, fill_iteration_matrix_band,
                      lu_factor_inline as lu_factor, lu_solve_inline as lu_solve, spacing10)
from ..output import (begin_solve, grow_output, interpolant_needed, output_full, record_step, save_step,
                      solve_counters, start_status)
from ..newton import sparse_w_factor, sparse_w_workspace
from .dense import bdf_interpolant
from .newton import (ALPHA, ERROR_CONST, FAIL_STATUS, GAMMA, MAX_ORDER,
                     MAX_SINGULAR_CUTS, MIN_FACTOR, NEWTON_MAXITER, band_lu_solve_inline, bdf_newton,
                     bdf_newton_structured, change_D,
                     select_order, update_differences)

# written out in place of their calls in the generated solve.py (fastode.kernels.expand)
INLINE = (change_D, update_differences, select_order, fill_iteration_matrix, fill_iteration_matrix_band, lu_factor, band_lu_factor,
          bdf_newton, lu_solve, band_lu_solve_inline, bdf_interpolant, interpolant_needed,
          save_step, record_step)
MACROS = (begin_solve,)


@njit(cache=True, nogil=True, error_model="numpy")
def bdf_driver(rhs, jac, p, t0, t1, y0, tolerances, mass_matrix, steps, output, events, jacobian):
    """Integrate M y' = f(t, y, p) from t0 to t1 with variable-order NDF (see the module doc).

    The implicit driver contract of fastode.ivp_implicit, in its STRUCTURED and BANDED form:
    ``use_jac`` is a Jacobian mode (JAC_FD, JAC_USER, JAC_CONSTANT, JAC_FD_GROUPED; a bool
    reads as JAC_USER / JAC_FD), ``group_ptr, group_cols, col_ptr, rows`` the column groups of
    a sparsity pattern (fastode.kernels.jacobian.cpr_groups; for JAC_FD_GROUPED), ``kl, ku``
    >= 0 the band of banded mode (then ``mass`` is a (1, 1) placeholder unless ``has_mass``,
    and a mass matrix lies inside the band). ``kl == KL_SPARSE``: J as the CSC values of the
    pattern ``col_ptr, rows``, the iteration matrix factored by fastode.kernels.sparse_lu in
    the column order ``lu_order`` (room for ``lu_capacity`` entries, grown as needed);
    ``kl == KL_KRYLOV``: Newton-Krylov (fastode.kernels.krylov) with ``lu_order`` =
    [preconditioner, maxl, max_restarts, psolve address], the ILU(0) preconditioner on that
    pattern; no mass matrix in either. Returns the contract's 13-tuple; its counters have 8
    slots, the last the GMRES iterations.

    The step's helpers (``INLINE``) are written out in the generated module: every array
    argument of an inlined (or called) numba function costs an atomic NRT incref/decref pair
    per call. Measured (NUMBA_DEBUG_NRT=1, its NRT_Incref/Decref lines counted around one warm kernel
    solve): Robertson rtol 1e-3 5563 -> 615 reference-count operations per solve (48.8 -> 5.4
    per step), Van der Pol mu=1e3 33899 -> 4311; kernel time 1.5x (Robertson), 1.2x (HIRES),
    1.7x (Van der Pol) faster, the results bit-identical. What is left calls helpers once per
    solve, once per Jacobian evaluation (evaluate_jacobian, after a failed Newton) or per event
    step (record_events). The code follows scipy's ``BDF._step_impl`` line by line.
    """
    rtol, atol = tolerances
    mass, has_mass = mass_matrix
    first_step, max_step, min_step, max_steps = steps
    t_eval, use_t_eval, dense = output
    event_addresses, event_directions, event_terminal, event_samples = events
    use_jac, group_ptr, group_cols, col_ptr, rows, kl, ku, lu_order, lu_capacity = jacobian
    n = y0.shape[0]
    q = MAX_ORDER
    n_events = event_addresses.shape[0]
    direction = 1.0 if t1 >= t0 else -1.0
    status = st.SUCCESS
    banded = kl >= 0
    sparse = kl == KL_SPARSE
    krylov = kl == KL_KRYLOV
    kv = kl + ku

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
    if banded:
        # band arrays F-ordered (each column contiguous, as LAPACK's); dense ones unused
        J = np.zeros((1, 1))
        LU = np.empty((1, 1))
        Jb = np.zeros((n, kl + ku + 1)).T
        LUb = np.zeros((n, 2 * kl + ku + 1)).T
    elif sparse or krylov:
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
    piv = np.empty(n, dtype=np.int64)
    Q = np.zeros((n, q))
    # the sparse LU (fastode.kernels.newton.sparse_w_workspace: one-entry placeholders unless
    # sparse) and Newton-Krylov's arrays (without them, placeholders made of arrays the solve
    # has anyway); neither is rebound in the step loop (that cost the dense path ~1.8x in
    # reference counts)
    k_iterations = np.zeros(1, dtype=np.int64)
    slu = sparse_w_workspace(n, col_ptr, rows, lu_order, lu_capacity, sparse)
    if krylov:
        # fastode.kernels.krylov: lu_order holds [preconditioner, maxl, max_restarts, psolve
        # address]; GMRES's basis and Hessenberg matrix, ILU(0)'s factors
        k_prec = lu_order[0]
        k_maxl = lu_order[1]
        k_lu = np.zeros(rows.shape[0] if k_prec == PREC_ILU0 else 1)
        k_diag = np.zeros(n, dtype=np.int64)
        k_pos = np.full(n, -1, dtype=np.int64)
        kry = (np.zeros((k_maxl + 5, n)), np.zeros((k_maxl + 1, k_maxl + 4)), k_lu, k_diag,
               np.zeros(n), col_ptr, rows, k_prec, k_maxl, lu_order[2], lu_order[3],
               k_iterations)
    else:
        k_prec = 0
        k_lu = b
        k_diag = piv
        k_pos = piv
        kry = (R, R, b, piv, b, col_ptr, rows, 0, 1, 0, 0, k_iterations)

    t = t0
    call_rhs(rhs, t, y, p, f)
    # the counters, output buffers and event workspace (a macro: kernels/output.py)
    begin_solve(n, q, t0, y0, p, t_eval, use_t_eval, dense, event_addresses, event_samples,
                ev_count)

    if t1 == t0 or not all_finite(f):
        status, n_out = start_status(t0, t1, y0, t_eval, use_t_eval, t_out, y_out, n_out)
        return (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg, ev_t, ev_y, ev_index,
                n_ev, solve_counters(8, nfev, 0, 0, t0, 0, 0, 0.0, 0))

    newton_tol = newton_tolerance(rtol)
    # y'(t0): f, or M^{-1} f (0 where M is singular)
    for i in range(n):
        ytmp[i] = f[i]
    if has_mass and banded:
        for j in range(n):
            for r in range(kl):
                LUb[r, j] = 0.0
            for i in range(max(0, j - ku), min(n, j + kl + 1)):
                LUb[kv + i - j, j] = mass[i, j]
        info = band_lu_factor(LUb, kl, ku, piv)
        if info == 0:
            band_lu_solve_inline(LUb, kl, ku, piv, ytmp)
        else:
            for i in range(n):
                ytmp[i] = 0.0
    elif has_mass:
        for i in range(n):
            for j in range(n):
                LU[i, j] = mass[i, j]
        info = lu_factor(LU, piv)
        if info == 0:
            lu_solve(LU, piv, ytmp)
        else:
            for i in range(n):
                ytmp[i] = 0.0
    if first_step > 0.0:
        h_abs = first_step
    elif has_mass:
        h_abs = min(1e-6, abs(t1 - t0), max_step)
    else:
        h_abs = select_initial_step(rhs, p, t0, y0, f, t1, max_step, direction, 1, rtol, atol,
                                    y_new, fbuf)
        nfev += 1
    evaluate_jacobian(use_jac, FD_NUM_JAC_BDF, rhs, jac, p, t, y, f, atol, J, Jb, kl, ku,
                      group_ptr, group_cols, col_ptr, rows, jac_factor, hvec, yscale, y_new, fbuf,
                      cmax, cscale)
    if use_jac != JAC_CONSTANT:  # scipy does not count a constant Jacobian
        njev += 1
    for i in range(n):
        D[0, i] = y[i]
        D[1, i] = ytmp[i] * h_abs * direction
    order = 1
    n_equal_steps = 0
    lu_valid = False
    while status == st.SUCCESS and direction * (t - t1) < 0.0:
        t_out, y_out, seg_t, seg_h, seg_data, ev_t, ev_y, ev_index = grow_output(
            use_t_eval, dense, n_out, n_seg, n_ev, events_per_step, t_out, y_out, seg_t, seg_h,
            seg_data, ev_t, ev_y, ev_index)

        while (status == st.SUCCESS and direction * (t - t1) < 0.0
               and not output_full(use_t_eval, dense, n_out, n_seg, n_ev, events_per_step, t_out,
                                   seg_t, ev_t)):
            # ---- one step, as scipy's BDF._step_impl -----------------------------------
            spacing = spacing10(t, direction)
            # a change of h re-samples D (scipy's change_D, written out at the top of the
            # next attempt): the clamp to max_step / spacing and a rejection leave the
            # factor pending in `rescale` (D is not read before then)
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
            # scipy: a constant Jacobian is always current (a failed Newton cuts the step)
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
                # ---- change_D: the pending factor, then the clip to t1 ------------------
                # D[:order + 1] <- (R U)^T D, Shampine-Reichelt eq. 2.6
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
                        # ---- factor M - c J ----------------------------------------------
                        if banded:
                            fill_iteration_matrix_band(Jb, mass, has_mass, c, kl, ku, LUb)
                            info = band_lu_factor(LUb, kl, ku, piv)
                        elif sparse:
                            # the last factorisation's pivots and patterns when they still
                            # serve, else a factorisation with pivoting
                            info = sparse_w_factor(slu, J, 1.0, c)
                        elif krylov:
                            # the preconditioner's "factorisation": ILU(0) of I - c J
                            info = 0
                            if k_prec == PREC_ILU0:
                                info = ilu0_factor(col_ptr, rows, J[0], c, k_lu, k_diag, k_pos)
                        else:
                            fill_iteration_matrix(J, mass, has_mass, c, LU)
                            info = lu_factor(LU, piv)
                        singular = info != 0
                        nlu += 1
                        lu_valid = not singular
                    if not singular:
                        # ---- simplified Newton (scipy's solve_bdf_system) ---------------
                        if banded:
                            converged, n_iter, nf, finite = bdf_newton(
                                rhs, p, t_new, y_predict, c, psi, LUb, kl, ku, piv, scale,
                                newton_tol, y_new, d, fbuf, b, mass, has_mass)
                        elif sparse or krylov:
                            converged, n_iter, nf, finite = bdf_newton_structured(
                                rhs, p, t_new, y_predict, c, psi, kl, piv, scale, newton_tol,
                                y_new, d, fbuf, b, slu, kry)
                        else:
                            converged, n_iter, nf, finite = bdf_newton(
                                rhs, p, t_new, y_predict, c, psi, LU, kl, ku, piv, scale,
                                newton_tol, y_new, d, fbuf, b, mass, has_mass)
                        nfev += nf
                    if not converged:
                        if current_jac:
                            break
                        # a new J at the predictor (once per failed Newton, not per step)
                        if use_jac != JAC_USER:
                            call_rhs(rhs, t_new, y_predict, p, fjac)
                        evaluate_jacobian(use_jac, FD_NUM_JAC_BDF, rhs, jac, p, t_new,
                                          y_predict, fjac, atol, J, Jb, kl, ku, group_ptr,
                                          group_cols, col_ptr, rows, jac_factor, hvec, yscale,
                                          ytmp, fbuf, cmax, cscale)
                        njev += 1
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
                # D may hold a pending re-sampling: unused from here on
                break
            # ---- accepted: update D, choose order and next h ---------------------------
            naccept += 1
            n_equal_steps += 1
            h_abs = ha
            update_differences(D, d, order)
            if n_equal_steps >= order + 1:
                order, factor = select_order(D, order, scale, error_norm, safety)
                h_abs *= factor
                # change_D now (the interpolant below uses the re-sampled D, as scipy's)
                change_D(D, order, factor, R, U, RU, Dtmp)
                n_equal_steps = 0
                lu_valid = False

            for m in range(n):
                if not math.isfinite(y_new[m]):
                    status = st.NON_FINITE
            h = t_new - t
            # ---- the step's interpolant, when used (dense output, events, an inner t_eval)
            if interpolant_needed(dense, n_events, use_t_eval, t_eval, i_eval, direction, t_new):
                bdf_interpolant(D, order, t, t_new, h_abs * direction, ybase, Q, coef)
            # ---- events, dense output, saved points (as the explicit driver) ----------
            # ---- events and output of the step (kernels/output.py) -----------------------
            status, theta_stop, n_ev, n_out, i_eval, n_seg = record_step(
                t, h, t_new, ybase, y_new, Q, status, p, event_addresses, event_directions,
                event_terminal, event_samples, g_old, g_new, ybuf, found_theta, found_index,
                ev_count, ev_t, ev_y, ev_index, n_ev, dense, use_t_eval, t_eval, i_eval,
                direction, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg)
            if status == st.TERMINATED:
                t = t + theta_stop * h
            elif status != st.EVENT_FAILED:
                t = t_new
                for m in range(n):
                    y[m] = y_new[m]

    # the 8-slot form: its last slot carries the Krylov iterations (0 unless kl == KL_KRYLOV)
    counters = solve_counters(8, nfev, naccept, nreject, t, njev, nlu, 0.0, k_iterations[0])
    return (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg,
            ev_t, ev_y, ev_index, n_ev, counters)
