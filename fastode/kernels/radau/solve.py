"""Radau IIA (order 5): the solve_ivp driver, ``radau_solve`` / ``radau_driver`` (moved from
kernels/radau.py)."""

import math

import numpy as np
from numba import njit

from .. import status as st
from ...tableaus import radau as tab
from ..buffers import grow_1d, grow_2d
from ..callbacks import call_event, call_rhs, call_rhs_row
from ..control import select_initial_step
from ..explicit.record import record_events, record_segment
from ..interpolation import evaluate_dense
from ..jacobian import (FD_NUM_JAC, JAC_CONSTANT, JAC_FD, JAC_USER, SINGULAR, evaluate_jacobian,
                        num_jac_dense)
from ..linalg import band_lu_solve
from ..newton import EPS, spacing10
from .newton import (C0, C1, C2, E0, E1, E2, FAIL_STATUS, MAX_FACTOR, MAX_SINGULAR_CUTS, MIN_FACTOR,
                     MU_CI, MU_CR, MU_REAL, NEWTON_MAXITER, P00, P01, P02, P10, P11, P12, P20, P21,
                     P22, T00, T01, T02, T10, T11, T12, T20, T21, T22, TI00, TI01, TI02, TI10, TI11,
                     TI12, TI20, TI21, TI22, factor_radau_band, mass_times_band, predict_factor,
                     radau_newton_band)


@njit(cache=True, nogil=True)
def radau_solve(rhs, jac, use_jac, p, t0, t1, y0, rtol, atol, mass, has_mass, first_step,
                max_step, min_step, max_steps, t_eval, use_t_eval, dense,
                event_addresses, event_directions, event_terminal, event_samples,
                group_ptr=None, group_cols=None, col_ptr=None, rows=None, kl=-1, ku=-1):
    """Integrate M y' = f(t, y, p) from t0 to t1 with Radau IIA order 5 (see the module doc).

    The implicit driver contract of fastode.ivp_implicit, structured and banded: ``use_jac``
    is a Jacobian mode of fastode.kernels.jacobian (JAC_FD, JAC_USER, JAC_CONSTANT (called
    like JAC_USER), JAC_FD_GROUPED; a bool is read as JAC_FD / JAC_USER), then the column
    groups ``group_ptr, group_cols, col_ptr, rows`` and ``kl, ku`` (``kl`` >= 0: banded mode).
    Without the trailing arguments: dense, as before them. ``mass`` (n, n) is used when
    ``has_mass`` (in banded mode, inside the band only). Returns the 13-tuple of the contract,
    counters = [nfev, naccept, nreject, t_final, njev, nlu].
    """
    if group_ptr is None:
        no_groups = np.zeros(1, dtype=np.int64)
        return radau_driver(rhs, jac, np.int64(use_jac), p, t0, t1, y0, rtol, atol, mass,
                            has_mass, first_step, max_step, min_step, max_steps, t_eval,
                            use_t_eval, dense, event_addresses, event_directions,
                            event_terminal, event_samples, no_groups, no_groups, no_groups,
                            no_groups, np.int64(-1), np.int64(-1))
    return radau_driver(rhs, jac, np.int64(use_jac), p, t0, t1, y0, rtol, atol, mass, has_mass,
                        first_step, max_step, min_step, max_steps, t_eval, use_t_eval, dense,
                        event_addresses, event_directions, event_terminal, event_samples,
                        group_ptr, group_cols, col_ptr, rows, np.int64(kl), np.int64(ku))


# Why radau_driver's dense path has the Newton iteration, the factorisations, the LU solves, the
# error estimate and the FD Jacobian after an accepted step written out in the loop body
# (radau_newton, factor_radau, mass_times, linalg's lu_factor/lu_solve, newton.fd_jacobian, line
# for line): numba increfs and decrefs every array argument of every helper call, inlined or
# not, with an atomic update each that its refcount pruning leaves in. Counted with
# NUMBA_DEBUG_NRT=1 per solve (Robertson / HIRES / Van der Pol mu=1e3, rtol 1e-3): 4465 / 5701 /
# 24853 updates (80-105 per step) before, 233 / 273 / 1073 after; kernel time 1.2-2.1x lower,
# same results bit for bit. The banded path keeps its helpers (its O(n) work per call dwarfs
# the refcounts); so do the rare calls (first Jacobian, Jacobian after a Newton failure) and the
# output helpers (events, dense segments).
@njit(cache=True, nogil=True)
def radau_driver(rhs, jac, use_jac, p, t0, t1, y0, rtol, atol, mass, has_mass, first_step,
                 max_step, min_step, max_steps, t_eval, use_t_eval, dense,
                 event_addresses, event_directions, event_terminal, event_samples,
                 group_ptr, group_cols, col_ptr, rows, kl, ku):
    """:func:`radau_solve` with every argument given (``use_jac`` an int mode).

    Banded mode (``kl`` >= 0): J in band storage (kl + ku + 1, n) from
    fastode.kernels.jacobian.num_jac_grouped (the column groups must lie in the band), the
    real and complex iteration matrices in LAPACK's gbtrf layout (2 kl + ku + 1, n), factored
    and solved by fastode.kernels.linalg's banded LU: O(n (kl + ku)) memory and
    O(n kl (kl + ku)) work per factorisation. ``JAC_FD_GROUPED`` with ``kl`` < 0: the dense
    path with J from the column groups (a sparse pattern that is not a narrow band). Otherwise
    the dense path, unchanged.
    """
    n = y0.shape[0]
    q = 3
    n_events = event_addresses.shape[0]
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
    user_jac = use_jac == JAC_USER or use_jac == JAC_CONSTANT
    if banded:
        # band arrays F-ordered (each column contiguous, as LAPACK's); dense ones unused
        J = np.zeros((1, 1))
        LUr = np.empty((1, 1))
        LUc = np.empty((1, 1), dtype=np.complex128)
        Jb = np.zeros((n, kl + ku + 1)).T
        LUrb = np.zeros((n, 2 * kl + ku + 1)).T
        LUcb = np.zeros((n, 2 * kl + ku + 1), dtype=np.complex128).T
    else:
        J = np.zeros((n, n))
        LUr = np.empty((n, n))
        LUc = np.empty((n, n), dtype=np.complex128)
        Jb = np.zeros((1, 1)).T
        LUrb = np.zeros((1, 1)).T
        LUcb = np.zeros((1, 1), dtype=np.complex128).T
    cmax = np.empty(n)    # scratch of the grouped Jacobians
    cscale = np.empty(n)
    pivr = np.empty(n, dtype=np.int64)
    pivc = np.empty(n, dtype=np.int64)
    br = np.empty(n)
    bc = np.empty(n, dtype=np.complex128)
    Q = np.zeros((n, q))
    y_sol = np.empty(n)           # previous step's interpolant: start, size, Q
    Q_sol = np.zeros((n, q))
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
                        else:
                            # -- LUr = MU_REAL/h M - J, LUc = MU_COMPLEX/h M - J (factor_radau)
                            mr = MU_REAL / h
                            mcr = MU_CR / h
                            mci = MU_CI / h
                            for i in range(n):
                                for j in range(n):
                                    if has_mass:
                                        mij = mass[i, j]
                                    else:
                                        mij = 1.0 if i == j else 0.0
                                    LUr[i, j] = mr * mij - J[i, j]
                                    LUc[i, j] = complex(mcr * mij - J[i, j], mci * mij)
                            # -- real LU in place (fastode.kernels.linalg.lu_factor)
                            info_r = 0
                            for k in range(n):
                                pk = k
                                best = abs(LUr[k, k])
                                for i in range(k + 1, n):
                                    av = abs(LUr[i, k])
                                    if av > best:
                                        best = av
                                        pk = i
                                pivr[k] = pk
                                if best == 0.0:
                                    if info_r == 0:
                                        info_r = k + 1
                                    continue
                                if pk != k:
                                    for j in range(n):
                                        tr = LUr[k, j]
                                        LUr[k, j] = LUr[pk, j]
                                        LUr[pk, j] = tr
                                invr = 1.0 / LUr[k, k]
                                for i in range(k + 1, n):
                                    LUr[i, k] *= invr
                                    lr = LUr[i, k]
                                    if lr != 0.0:
                                        for j in range(k + 1, n):
                                            LUr[i, j] -= lr * LUr[k, j]
                            # -- complex LU in place (the same, complex128)
                            info_c = 0
                            for k in range(n):
                                pk = k
                                best = abs(LUc[k, k])
                                for i in range(k + 1, n):
                                    av = abs(LUc[i, k])
                                    if av > best:
                                        best = av
                                        pk = i
                                pivc[k] = pk
                                if best == 0.0:
                                    if info_c == 0:
                                        info_c = k + 1
                                    continue
                                if pk != k:
                                    for j in range(n):
                                        tc = LUc[k, j]
                                        LUc[k, j] = LUc[pk, j]
                                        LUc[pk, j] = tc
                                invc = 1.0 / LUc[k, k]
                                for i in range(k + 1, n):
                                    LUc[i, k] *= invc
                                    lc = LUc[i, k]
                                    if lc != 0.0:
                                        for j in range(k + 1, n):
                                            LUc[i, j] -= lc * LUc[k, j]
                            singular = info_r != 0 or info_c != 0
                        nlu += 2
                        lu_valid = not singular
                    if not singular:
                        if banded:
                            converged, n_iter, rate, nf, finite = radau_newton_band(
                                rhs, p, t, y, h, Z0, Z, W, F, ytmp, scale, newton_tol, LUrb,
                                pivr, LUcb, pivc, br, bc, mass, has_mass, mw, kl, ku)
                        else:
                            # ---- simplified Newton on W = TI Z from Z0 (radau_newton) ----
                            mr = MU_REAL / h
                            mcr = MU_CR / h
                            mci = MU_CI / h
                            mc = complex(mcr, mci)
                            for m in range(n):
                                z0 = Z0[0, m]
                                z1 = Z0[1, m]
                                z2 = Z0[2, m]
                                Z[0, m] = z0
                                Z[1, m] = z1
                                Z[2, m] = z2
                                W[0, m] = TI00 * z0 + TI01 * z1 + TI02 * z2
                                W[1, m] = TI10 * z0 + TI11 * z1 + TI12 * z2
                                W[2, m] = TI20 * z0 + TI21 * z1 + TI22 * z2
                            dw_norm_old = -1.0
                            rate = -1.0
                            converged = False
                            finite = True
                            nf = 0
                            n_iter = 0
                            ch0 = h * C0
                            ch1 = h * C1
                            ch2 = h * C2
                            inv_size = 1.0 / (3 * n)
                            for it in range(NEWTON_MAXITER):
                                n_iter = it + 1
                                # -- F[i] = f(t + c_i h, y + Z[i])
                                for m in range(n):
                                    ytmp[m] = y[m] + Z[0, m]
                                call_rhs_row(rhs, t + ch0, ytmp, p, F, 0)
                                for m in range(n):
                                    ytmp[m] = y[m] + Z[1, m]
                                call_rhs_row(rhs, t + ch1, ytmp, p, F, 1)
                                for m in range(n):
                                    ytmp[m] = y[m] + Z[2, m]
                                call_rhs_row(rhs, t + ch2, ytmp, p, F, 2)
                                nf += 3
                                for i in range(3):
                                    for m in range(n):
                                        if not math.isfinite(F[i, m]):
                                            finite = False
                                if not finite:
                                    break
                                # -- right-hand sides: br (real), bc (complex) = TI F - mu/h M W
                                if has_mass:
                                    for m in range(n):
                                        a0 = 0.0
                                        a1 = 0.0
                                        a2 = 0.0
                                        for j in range(n):
                                            a0 += mass[m, j] * W[0, j]
                                            a1 += mass[m, j] * W[1, j]
                                            a2 += mass[m, j] * W[2, j]
                                        mw[0, m] = a0
                                        mw[1, m] = a1
                                        mw[2, m] = a2
                                    for m in range(n):
                                        f0 = F[0, m]
                                        f1 = F[1, m]
                                        f2 = F[2, m]
                                        br[m] = (f0 * TI00 + f1 * TI01 + f2 * TI02) - mr * mw[0, m]
                                        bc[m] = (complex(f0 * TI10 + f1 * TI11 + f2 * TI12,
                                                         f0 * TI20 + f1 * TI21 + f2 * TI22)
                                                 - mc * complex(mw[1, m], mw[2, m]))
                                else:
                                    for m in range(n):
                                        f0 = F[0, m]
                                        f1 = F[1, m]
                                        f2 = F[2, m]
                                        br[m] = (f0 * TI00 + f1 * TI01 + f2 * TI02) - mr * W[0, m]
                                        bc[m] = (complex(f0 * TI10 + f1 * TI11 + f2 * TI12,
                                                         f0 * TI20 + f1 * TI21 + f2 * TI22)
                                                 - mc * complex(W[1, m], W[2, m]))
                                # -- br = LUr^-1 br (fastode.kernels.linalg.lu_solve)
                                for k in range(n):
                                    pk = pivr[k]
                                    if pk != k:
                                        tr = br[k]
                                        br[k] = br[pk]
                                        br[pk] = tr
                                for i in range(n):
                                    sr = br[i]
                                    for j in range(i):
                                        sr -= LUr[i, j] * br[j]
                                    br[i] = sr
                                for i in range(n - 1, -1, -1):
                                    sr = br[i]
                                    for j in range(i + 1, n):
                                        sr -= LUr[i, j] * br[j]
                                    br[i] = sr / LUr[i, i]
                                # -- bc = LUc^-1 bc
                                for k in range(n):
                                    pk = pivc[k]
                                    if pk != k:
                                        tc = bc[k]
                                        bc[k] = bc[pk]
                                        bc[pk] = tc
                                for i in range(n):
                                    sc = bc[i]
                                    for j in range(i):
                                        sc -= LUc[i, j] * bc[j]
                                    bc[i] = sc
                                for i in range(n - 1, -1, -1):
                                    sc = bc[i]
                                    for j in range(i + 1, n):
                                        sc -= LUc[i, j] * bc[j]
                                    bc[i] = sc / LUc[i, i]
                                # -- convergence test on the scaled RMS norm of the increment
                                acc = 0.0
                                for m in range(n):
                                    s = scale[m]
                                    r0 = br[m] / s
                                    r1 = bc[m].real / s
                                    r2 = bc[m].imag / s
                                    acc += r0 * r0 + r1 * r1 + r2 * r2
                                dw_norm = math.sqrt(acc * inv_size)
                                if not math.isfinite(dw_norm):
                                    finite = False
                                    break
                                has_rate = dw_norm_old >= 0.0
                                if has_rate:
                                    rate = dw_norm / dw_norm_old
                                    if (rate >= 1.0 or rate ** (NEWTON_MAXITER - it)
                                            / (1.0 - rate) * dw_norm > newton_tol):
                                        break
                                # -- W += dW, Z = T W
                                for m in range(n):
                                    w0 = W[0, m] + br[m]
                                    w1 = W[1, m] + bc[m].real
                                    w2 = W[2, m] + bc[m].imag
                                    W[0, m] = w0
                                    W[1, m] = w1
                                    W[2, m] = w2
                                    Z[0, m] = T00 * w0 + T01 * w1 + T02 * w2
                                    Z[1, m] = T10 * w0 + T11 * w1 + T12 * w2
                                    Z[2, m] = T20 * w0 + T21 * w1 + T22 * w2
                                if dw_norm == 0.0 or (has_rate
                                                      and rate / (1.0 - rate) * dw_norm
                                                      < newton_tol):
                                    converged = True
                                    break
                                dw_norm_old = dw_norm
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
                else:
                    # -- err = LUr^-1 (f + M Z^T E / h) (mass_times, then linalg.lu_solve)
                    if has_mass:
                        for i in range(n):
                            acc = 0.0
                            for j in range(n):
                                acc += mass[i, j] * ze[j]
                            err[i] = f[i] + acc
                    else:
                        for i in range(n):
                            err[i] = f[i] + ze[i]
                    for k in range(n):
                        pk = pivr[k]
                        if pk != k:
                            tr = err[k]
                            err[k] = err[pk]
                            err[pk] = tr
                    for i in range(n):
                        sr = err[i]
                        for j in range(i):
                            sr -= LUr[i, j] * err[j]
                        err[i] = sr
                    for i in range(n - 1, -1, -1):
                        sr = err[i]
                        for j in range(i + 1, n):
                            sr -= LUr[i, j] * err[j]
                        err[i] = sr / LUr[i, i]
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
                    else:
                        # -- err = LUr^-1 (fbuf + M Z^T E / h) (mass_times, then linalg.lu_solve)
                        if has_mass:
                            for i in range(n):
                                acc = 0.0
                                for j in range(n):
                                    acc += mass[i, j] * ze[j]
                                err[i] = fbuf[i] + acc
                        else:
                            for i in range(n):
                                err[i] = fbuf[i] + ze[i]
                        for k in range(n):
                            pk = pivr[k]
                            if pk != k:
                                tr = err[k]
                                err[k] = err[pk]
                                err[pk] = tr
                        for i in range(n):
                            sr = err[i]
                            for j in range(i):
                                sr -= LUr[i, j] * err[j]
                            err[i] = sr
                        for i in range(n - 1, -1, -1):
                            sr = err[i]
                            for j in range(i + 1, n):
                                sr -= LUr[i, j] * err[j]
                            err[i] = sr / LUr[i, i]
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
                finished = True
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
            stop = False
            t_stop = t_new
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
            if dense:
                record_segment(t, h, y, Q, seg_t, seg_h, seg_data, n_seg)
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
                        evaluate_dense(y, Q, (te - t) / h, y_out, n_out)
                    n_out += 1
                    i_eval += 1
            else:
                t_out[n_out] = t_stop
                if stop:
                    evaluate_dense(y, Q, (t_stop - t) / h, y_out, n_out)
                else:
                    for m in range(n):
                        y_out[n_out, m] = y_new[m]
                n_out += 1
            if stop:
                status = st.TERMINATED
                t = t_stop
                finished = True
                break
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
