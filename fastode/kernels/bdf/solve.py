"""Variable-order NDF/BDF: the solve_ivp driver ``bdf_solve`` (moved from kernels/bdf.py)."""

import math

import numpy as np
from numba import njit

from .. import status as st
from ..buffers import grow_1d, grow_2d
from ..callbacks import call_event, call_rhs
from ..control import select_initial_step
from ..explicit.record import record_events
from ..interpolation import evaluate_dense
from ..jacobian import FD_NUM_JAC_BDF, JAC_CONSTANT, JAC_USER, SINGULAR, evaluate_jacobian
from ..linalg import band_lu_factor
from ..newton import EPS, lu_factor_inline as lu_factor, lu_solve_inline as lu_solve, spacing10
from .newton import (ALPHA, ERROR_CONST, FAIL_STATUS, GAMMA, MAX_FACTOR, MAX_ORDER,
                     MAX_SINGULAR_CUTS, MIN_FACTOR, NEWTON_MAXITER, band_lu_solve_inline)


@njit(cache=True, nogil=True)
def bdf_solve(rhs, jac, use_jac, p, t0, t1, y0, rtol, atol, mass, has_mass, first_step,
              max_step, min_step, max_steps, t_eval, use_t_eval, dense,
              event_addresses, event_directions, event_terminal, event_samples,
              group_ptr=None, group_cols=None, col_ptr=None, rows=None, kl=-1, ku=-1):
    """Integrate M y' = f(t, y, p) from t0 to t1 with variable-order NDF (see the module doc).

    The implicit driver contract of fastode.ivp_implicit, in its STRUCTURED and BANDED form:
    ``use_jac`` is a Jacobian mode (JAC_FD, JAC_USER, JAC_CONSTANT, JAC_FD_GROUPED; a bool
    reads as JAC_USER / JAC_FD), ``group_ptr, group_cols, col_ptr, rows`` the column groups of
    a sparsity pattern (fastode.kernels.jacobian.cpr_groups; for JAC_FD_GROUPED), ``kl, ku``
    >= 0 the band of banded mode (then ``mass`` is a (1, 1) placeholder unless ``has_mass``,
    and a mass matrix lies inside the band). The six trailing arguments may be left out: dense
    mode. Returns the contract's 13-tuple.

    The step is written out here, helpers included (change_D, bdf_newton, the dense and banded
    LU factor and solve, bdf_interpolant, record_segment, evaluate_dense): every array argument
    of an inlined (or called) numba function costs an atomic NRT incref/decref pair per call.
    Measured (NUMBA_DEBUG_NRT=1, its NRT_Incref/Decref lines counted around one warm kernel
    solve): Robertson rtol 1e-3 5563 -> 615 reference-count operations per solve (48.8 -> 5.4
    per step), Van der Pol mu=1e3 33899 -> 4311; kernel time 1.5x (Robertson), 1.2x (HIRES),
    1.7x (Van der Pol) faster, the results bit-identical. What is left calls helpers once per
    solve, once per Jacobian evaluation (evaluate_jacobian, after a failed Newton) or per event
    step (record_events). The code follows scipy's ``BDF._step_impl`` line by line.
    """
    if group_ptr is None:
        group_ptr = np.zeros(1, dtype=np.int64)
        group_cols = np.zeros(1, dtype=np.int64)
        col_ptr = np.zeros(1, dtype=np.int64)
        rows = np.zeros(1, dtype=np.int64)
    n = y0.shape[0]
    q = MAX_ORDER
    n_events = event_addresses.shape[0]
    direction = 1.0 if t1 >= t0 else -1.0
    status = st.SUCCESS
    banded = kl >= 0
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
    cmax = np.empty(n)
    cscale = np.empty(n)
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
    else:
        J = np.zeros((n, n))
        LU = np.empty((n, n))
        Jb = np.zeros((1, 1)).T
        LUb = np.zeros((1, 1)).T
    piv = np.empty(n, dtype=np.int64)
    Q = np.zeros((n, q))
    jac_factor = np.full(n, math.sqrt(EPS))
    hvec = np.empty(n)
    yscale = np.empty(n)
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
    ev_count = np.zeros(n_events, dtype=np.int64)
    g_old = np.empty(n_events)
    g_new = np.empty(n_events)
    found_theta = np.empty(events_per_step)
    found_index = np.empty(events_per_step, dtype=np.int64)

    counters = np.zeros(6)
    nfev = 0
    njev = 0
    nlu = 0
    naccept = 0
    nreject = 0
    attempts = 0
    t = t0
    call_rhs(rhs, t, y, p, f)
    nfev += 1
    for e in range(n_events):
        g_old[e] = call_event(event_addresses[e], t, y, p)

    finite0 = True
    for i in range(n):
        if not math.isfinite(f[i]):
            finite0 = False
    if t1 == t0 or not finite0:
        if t1 == t0 and use_t_eval:
            for k in range(t_eval.shape[0]):
                t_out[k] = t0
                y_out[k] = y0
            n_out = t_eval.shape[0]
        counters[0] = nfev
        counters[3] = t0
        return (st.SUCCESS if t1 == t0 else st.NON_FINITE, t_out, y_out, n_out, seg_t, seg_h,
                seg_data, n_seg, ev_t, ev_y, ev_index, n_ev, counters)

    rtol_min = rtol[0]
    for i in range(n):
        rtol_min = min(rtol_min, rtol[i])
    newton_tol = max(10.0 * EPS / rtol_min, min(0.03, rtol_min ** 0.5))
    # y'(t0): f, or M^{-1} f (0 where M is singular)
    for i in range(n):
        ytmp[i] = f[i]
    if has_mass and banded:
        for j in range(n):
            for r in range(kl):
                LUb[r, j] = 0.0
            for i in range(max(0, j - ku), min(n, j + kl + 1)):
                LUb[kv + i - j, j] = mass[i, j]
        if band_lu_factor(LUb, kl, ku, piv) == 0:
            band_lu_solve_inline(LUb, kl, ku, piv, ytmp)
        else:
            for i in range(n):
                ytmp[i] = 0.0
    elif has_mass:
        for i in range(n):
            for j in range(n):
                LU[i, j] = mass[i, j]
        if lu_factor(LU, piv) == 0:
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
                # D[:order + 1] <- (R U)^T D, Shampine-Reichelt eq. 2.6 (R: compute_R of
                # the factor, U: of 1)
                for stage in range(2):
                    if stage == 0:
                        if not rescale_pending:
                            continue
                        fac = rescale
                        rescale_pending = False
                    else:
                        if not clipped:
                            continue
                        fac = clip_factor
                    kd = order + 1
                    for cc in range(kd):
                        R[0, cc] = 1.0
                        U[0, cc] = 1.0
                    for rr in range(1, kd):
                        R[rr, 0] = 0.0
                        U[rr, 0] = 0.0
                        for cc in range(1, kd):
                            R[rr, cc] = R[rr - 1, cc] * ((rr - 1 - fac * cc) / rr)
                            U[rr, cc] = U[rr - 1, cc] * ((rr - 1 - 1.0 * cc) / rr)
                    for i in range(kd):
                        for j in range(kd):
                            acc = 0.0
                            for mm in range(kd):
                                acc += R[i, mm] * U[mm, j]
                            RU[i, j] = acc
                    for i in range(kd):
                        for m in range(n):
                            acc = 0.0
                            for j in range(kd):
                                acc += RU[j, i] * D[j, m]
                            Dtmp[i, m] = acc
                    for i in range(kd):
                        for m in range(n):
                            D[i, m] = Dtmp[i, m]
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
                        # ---- factor M - c J (linalg's LU / banded LU, written out) -----
                        if banded:
                            # gbtrf layout (top kl rows: fill-in workspace); the same
                            # operations as the dense LU on the band's entries
                            for j in range(n):
                                for r in range(kl):
                                    LUb[r, j] = 0.0
                                for i in range(max(0, j - ku), min(n, j + kl + 1)):
                                    if has_mass:
                                        mij = mass[i, j]
                                    else:
                                        mij = 1.0 if i == j else 0.0
                                    LUb[kv + i - j, j] = mij - c * Jb[ku + i - j, j]
                            # linalg.band_lu_factor (unblocked dgbtf2)
                            info = 0
                            for j in range(ku + 1, min(kv, n)):
                                for i in range(kv - j, kl):
                                    LUb[i, j] = 0.0
                            ju = 0
                            for j in range(n):
                                if j + kv < n:
                                    for i in range(kl):
                                        LUb[i, j + kv] = 0.0
                                km = min(kl, n - 1 - j)
                                jp = 0
                                best = abs(LUb[kv, j])
                                for i in range(1, km + 1):
                                    v = abs(LUb[kv + i, j])
                                    if v > best:
                                        best = v
                                        jp = i
                                piv[j] = j + jp
                                if best == 0.0:
                                    if info == 0:
                                        info = j + 1
                                    continue
                                ju = max(ju, min(j + ku + jp, n - 1))
                                if jp != 0:
                                    for kk in range(ju - j + 1):
                                        tmp = LUb[kv + jp - kk, j + kk]
                                        LUb[kv + jp - kk, j + kk] = LUb[kv - kk, j + kk]
                                        LUb[kv - kk, j + kk] = tmp
                                if km > 0:
                                    inv = 1.0 / LUb[kv, j]
                                    for i in range(1, km + 1):
                                        LUb[kv + i, j] *= inv
                                    for kk in range(1, ju - j + 1):
                                        u = LUb[kv - kk, j + kk]
                                        if u != 0.0:
                                            for i in range(1, km + 1):
                                                LUb[kv + i - kk, j + kk] -= LUb[kv + i, j] * u
                            singular = info != 0
                        else:
                            for i in range(n):
                                for j in range(n):
                                    if has_mass:
                                        mij = mass[i, j]
                                    else:
                                        mij = 1.0 if i == j else 0.0
                                    LU[i, j] = mij - c * J[i, j]
                            # linalg.lu_factor (partial pivoting)
                            info = 0
                            for kk in range(n):
                                pk = kk
                                best = abs(LU[kk, kk])
                                for i in range(kk + 1, n):
                                    v = abs(LU[i, kk])
                                    if v > best:
                                        best = v
                                        pk = i
                                piv[kk] = pk
                                if best == 0.0:
                                    if info == 0:
                                        info = kk + 1
                                    continue
                                if pk != kk:
                                    for j in range(n):
                                        tmp = LU[kk, j]
                                        LU[kk, j] = LU[pk, j]
                                        LU[pk, j] = tmp
                                inv = 1.0 / LU[kk, kk]
                                for i in range(kk + 1, n):
                                    LU[i, kk] *= inv
                                    fik = LU[i, kk]
                                    if fik != 0.0:
                                        for j in range(kk + 1, n):
                                            LU[i, j] -= fik * LU[kk, j]
                            singular = info != 0
                        nlu += 1
                        lu_valid = not singular
                    if not singular:
                        # ---- simplified Newton (scipy's solve_bdf_system) ---------------
                        # y_new = y_predict + d; at most NEWTON_MAXITER iterations, the
                        # rate test as scipy
                        for m in range(n):
                            y_new[m] = y_predict[m]
                            d[m] = 0.0
                        dy_norm_old = -1.0
                        converged = False
                        finite = True
                        it = 0
                        for it in range(NEWTON_MAXITER):
                            call_rhs(rhs, t_new, y_new, p, fbuf)
                            nfev += 1
                            for m in range(n):
                                if not math.isfinite(fbuf[m]):
                                    finite = False
                            if not finite:
                                break
                            if has_mass:
                                for m in range(n):
                                    # a banded M has row m in columns m - kl .. m + ku
                                    j0 = max(0, m - kl) if banded else 0
                                    j1 = min(n, m + ku + 1) if banded else n
                                    acc = 0.0
                                    for j in range(j0, j1):
                                        acc += mass[m, j] * (psi[j] + d[j])
                                    b[m] = c * fbuf[m] - acc
                            else:
                                for m in range(n):
                                    b[m] = c * fbuf[m] - psi[m] - d[m]
                            if banded:
                                # linalg.band_lu_solve (dgbtrs): L, then U row by row
                                if kl > 0:
                                    for j in range(n - 1):
                                        lm = min(kl, n - 1 - j)
                                        lp = piv[j]
                                        if lp != j:
                                            tmp = b[lp]
                                            b[lp] = b[j]
                                            b[j] = tmp
                                        bj = b[j]
                                        if bj != 0.0:
                                            for i in range(1, lm + 1):
                                                b[j + i] -= LUb[kv + i, j] * bj
                                for i in range(n - 1, -1, -1):
                                    acc = b[i]
                                    for j in range(i + 1, min(n, i + kv + 1)):
                                        acc -= LUb[kv + i - j, j] * b[j]
                                    b[i] = acc / LUb[kv, i]
                            else:
                                # linalg.lu_solve
                                for kk in range(n):
                                    pk = piv[kk]
                                    if pk != kk:
                                        tmp = b[kk]
                                        b[kk] = b[pk]
                                        b[pk] = tmp
                                for i in range(n):
                                    acc = b[i]
                                    for j in range(i):
                                        acc -= LU[i, j] * b[j]
                                    b[i] = acc
                                for i in range(n - 1, -1, -1):
                                    acc = b[i]
                                    for j in range(i + 1, n):
                                        acc -= LU[i, j] * b[j]
                                    b[i] = acc / LU[i, i]
                            acc = 0.0
                            for m in range(n):
                                rm = b[m] / scale[m]
                                acc += rm * rm
                            dy_norm = math.sqrt(acc / n)
                            if not math.isfinite(dy_norm):
                                finite = False
                                break
                            has_rate = dy_norm_old >= 0.0
                            rate = 0.0
                            if has_rate:
                                rate = dy_norm / dy_norm_old
                                if (rate >= 1.0 or rate ** (NEWTON_MAXITER - it)
                                        / (1.0 - rate) * dy_norm > newton_tol):
                                    break
                            for m in range(n):
                                y_new[m] += b[m]
                                d[m] += b[m]
                            if dy_norm == 0.0 or (has_rate
                                                  and rate / (1.0 - rate) * dy_norm < newton_tol):
                                converged = True
                                break
                            dy_norm_old = dy_norm
                        n_iter = it + 1
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
                finished = True
                break
            # ---- accepted: update D, choose order and next h ---------------------------
            naccept += 1
            n_equal_steps += 1
            h_abs = ha
            for m in range(n):
                D[order + 2, m] = d[m] - D[order + 1, m]
                D[order + 1, m] = d[m]
            for i in range(order, -1, -1):
                for m in range(n):
                    D[i, m] += D[i + 1, m]
            if n_equal_steps >= order + 1:
                if order > 1:
                    ec = ERROR_CONST[order - 1]
                    acc = 0.0
                    for m in range(n):
                        rm = ec * D[order, m] / scale[m]
                        acc += rm * rm
                    error_m_norm = math.sqrt(acc / n)
                else:
                    error_m_norm = np.inf
                if order < MAX_ORDER:
                    ec = ERROR_CONST[order + 1]
                    acc = 0.0
                    for m in range(n):
                        rm = ec * D[order + 2, m] / scale[m]
                        acc += rm * rm
                    error_p_norm = math.sqrt(acc / n)
                else:
                    error_p_norm = np.inf
                f_m = 0.0 if error_m_norm == np.inf else (
                    np.inf if error_m_norm == 0.0 else error_m_norm ** (-1.0 / order))
                f_0 = np.inf if error_norm == 0.0 else error_norm ** (-1.0 / (order + 1))
                f_p = 0.0 if error_p_norm == np.inf else (
                    np.inf if error_p_norm == 0.0 else error_p_norm ** (-1.0 / (order + 2)))
                # np.argmax: the first of equal maxima
                best = f_m
                delta_order = -1
                if f_0 > best:
                    best = f_0
                    delta_order = 0
                if f_p > best:
                    best = f_p
                    delta_order = 1
                order += delta_order
                factor = min(MAX_FACTOR, safety * best)
                h_abs *= factor
                # change_D now (the interpolant below uses the re-sampled D, as scipy's)
                kd = order + 1
                for cc in range(kd):
                    R[0, cc] = 1.0
                    U[0, cc] = 1.0
                for rr in range(1, kd):
                    R[rr, 0] = 0.0
                    U[rr, 0] = 0.0
                    for cc in range(1, kd):
                        R[rr, cc] = R[rr - 1, cc] * ((rr - 1 - factor * cc) / rr)
                        U[rr, cc] = U[rr - 1, cc] * ((rr - 1 - 1.0 * cc) / rr)
                for i in range(kd):
                    for j in range(kd):
                        acc = 0.0
                        for mm in range(kd):
                            acc += R[i, mm] * U[mm, j]
                        RU[i, j] = acc
                for i in range(kd):
                    for m in range(n):
                        acc = 0.0
                        for j in range(kd):
                            acc += RU[j, i] * D[j, m]
                        Dtmp[i, m] = acc
                for i in range(kd):
                    for m in range(n):
                        D[i, m] = Dtmp[i, m]
                n_equal_steps = 0
                lu_valid = False

            for m in range(n):
                if not math.isfinite(y_new[m]):
                    status = st.NON_FINITE
            h = t_new - t
            # ---- the step's interpolant (bdf_interpolant, written out), when used -------
            # (dense output, events, or a t_eval point inside the step)
            if dense or n_events > 0 or (
                    use_t_eval and i_eval < t_eval.shape[0]
                    and direction * (t_eval[i_eval] - t_new) < 0.0):
                h_next = h_abs * direction
                for m in range(n):
                    ybase[m] = D[0, m]
                    for j in range(q):
                        Q[m, j] = 0.0
                # coef: coefficients in theta of prod_{m<k} (tau - (t_new - m h)) / ((m+1) h)
                for j in range(MAX_ORDER + 1):
                    coef[j] = 0.0
                coef[0] = 1.0
                for k in range(1, order + 1):
                    denom = h_next * k
                    ca = (t - (t_new - h_next * (k - 1))) / denom
                    cb = h / denom
                    for j in range(k, 0, -1):
                        coef[j] = coef[j] * ca + coef[j - 1] * cb
                    coef[0] = coef[0] * ca
                    for m in range(n):
                        dk = D[k, m]
                        ybase[m] += dk * coef[0]
                        for j in range(1, k + 1):
                            Q[m, j - 1] += dk * coef[j]
            # ---- events, dense output, saved points (as the explicit driver) ----------
            stop = False
            t_stop = t_new
            if n_events > 0 and status == st.SUCCESS:
                n_ev, stop, theta_stop, event_failed = record_events(
                    event_addresses, event_directions, event_terminal, event_samples, p, t, h,
                    ybase, y_new, Q, g_old, g_new, ybuf, found_theta, found_index, ev_count,
                    ev_t, ev_y, ev_index, n_ev)
                if event_failed:  # end at the step start: the step's events are unknown
                    status = st.EVENT_FAILED
                    finished = True
                    break
                if stop:
                    t_stop = t + theta_stop * h
            if dense:
                # explicit.record_segment: start, signed step, [y, Q.ravel()]
                seg_t[n_seg] = t
                seg_h[n_seg] = h
                for m in range(n):
                    seg_data[n_seg, m] = ybase[m]
                    for j in range(q):
                        seg_data[n_seg, n + m * q + j] = Q[m, j]
                n_seg += 1
            if use_t_eval:
                while (i_eval < t_eval.shape[0]
                       and direction * (t_eval[i_eval] - t_stop) <= 0.0):
                    te = t_eval[i_eval]
                    t_out[n_out] = te
                    if te == t_new:
                        for m in range(n):
                            y_out[n_out, m] = y_new[m]
                    else:
                        # interpolation.evaluate_dense (Horner in theta)
                        theta = (te - t) / h
                        for m in range(n):
                            acc = Q[m, q - 1]
                            for j in range(q - 2, -1, -1):
                                acc = acc * theta + Q[m, j]
                            y_out[n_out, m] = ybase[m] + acc * theta
                    n_out += 1
                    i_eval += 1
            else:
                t_out[n_out] = t_stop
                if stop:
                    evaluate_dense(ybase, Q, (t_stop - t) / h, y_out, n_out)
                else:
                    for m in range(n):
                        y_out[n_out, m] = y_new[m]
                n_out += 1
            if stop:
                status = st.TERMINATED
                t = t_stop
                finished = True
                break
            t = t_new
            for m in range(n):
                y[m] = y_new[m]
            if status != st.SUCCESS:
                finished = True
                break

    counters[0] = nfev
    counters[1] = naccept
    counters[2] = nreject
    counters[3] = t
    counters[4] = njev
    counters[5] = nlu
    return (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg,
            ev_t, ev_y, ev_index, n_ev, counters)
