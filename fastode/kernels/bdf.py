"""Variable-order (1-5) numerical differentiation formulas, step for step as scipy's ``BDF``.

L. F. Shampine, M. W. Reichelt, "The MATLAB ODE Suite", SIAM J. Sci. Comput. 18 (1997)
(the Klopfenstein-Shampine NDFs, kappa below, in the backward-difference form of ode15s);
scipy/integrate/_ivp/bdf.py implements the same scheme:

* the state is the modified divided-difference array D (MAX_ORDER + 3 rows) of the
  interpolating polynomial through the last order + 1 solution values at equal spacing h;
  a step-size change by ``factor`` re-samples that polynomial (``change_D``, Shampine-Reichelt
  eq. 2.6: D <- (R U)^T D);
* predictor y_p = sum D[:order + 1]; the corrector d solves
  ``(M d + M psi) = c f(t_new, y_p + d)``, c = h / alpha_k, psi = sum gamma_j D_j / alpha_k,
  by simplified Newton with ``M - c J`` (at most 4 iterations, rate test as scipy);
* J is kept across steps and recomputed only when Newton fails with an old J; the LU is kept
  while h is unchanged (after an error-test rejection it is kept too, as scipy does);
* error estimate error_const[k] d; after order + 1 steps of equal size the order moves by at
  most one to the one promising the largest step (estimates from D[k] and D[k + 2]);
* dense output: the interpolating polynomial of the step, converted to monomial form
  y(t + theta h) = y(t) + sum_j Q[:, j] theta^(j+1), Q of width 5 (unused columns zero).

Jacobians (the ``use_jac`` mode of fastode.kernels.jacobian; a bool is read as JAC_USER /
JAC_FD): the user's (JAC_USER), a constant one evaluated once (JAC_CONSTANT: as scipy, never
re-evaluated and not counted in njev), or scipy's ``num_jac`` forward differences with adaptive
increments, dense (JAC_FD: n RHS calls) or by column groups of a sparsity pattern
(JAC_FD_GROUPED, scipy's sparse ``num_jac``: one call per group, and the same numbers as the
dense differences).

Banded mode (``kl >= 0``, from ``lband``/``uband`` or a banded ``jac_sparsity``): J is stored
in band form (kl + ku + 1, n), the iteration matrix M - c J in LAPACK's gbtrf layout
(2 kl + ku + 1, n), both F-ordered, factored and solved by fastode.kernels.linalg's banded LU;
the mass matrix must lie inside the band. O(n (kl + ku)) memory and work per step instead of
O(n^2) and O(n^3): one banded LU is then reused over many steps. For a tridiagonal J the steps
are those of the dense path to the last bit (same J entries, the same LU operations).

Mass matrices (``M y' = f``, constant M) enter the Newton matrix and residual. With a singular
M the first derivative y'(t0) is unknown: the start uses y'(t0) = 0 for all components at
h = 1e-6 unless ``first_step`` is given (order 1 then corrects it within a few steps).

Kernels: :func:`bdf_solve`, the solve_ivp driver (steps, output, events, dense output);
:func:`bdf_start` and :func:`bdf_advance`, the same start and one step of it with the state in
caller-owned arrays, for the step-by-step class fastode.solvers_bdf.BDF. The step's control
flow is written out in each (an inlined step function would pass ~25 arrays per step, each a
reference-count round trip: measured 1.3-1.5x slower on Robertson and Van der Pol).
:func:`bdf_solve` also writes out the per-step helpers that take arrays (D update, Newton, LU
factor and solve, interpolant, dense segment): each array argument of an inlined helper costs
an atomic NRT incref/decref pair per call, measured ~45-50 per step, 1.2-1.7x of its kernel
time (see bdf_solve); :func:`bdf_advance` calls the helpers below (it runs one step per Python
call, where that traffic is small next to the call itself).

Counters: [nfev, naccept, nreject, t_final, njev, nlu]; as scipy, the RHS calls of a
finite-difference Jacobian are not in nfev.
"""
import math

import numpy as np
from numba import njit

from . import status as st
from .buffers import grow_1d, grow_2d
from .callbacks import call_event, call_rhs
from .control import select_initial_step
from .explicit import record_events
from .interpolation import evaluate_dense
from .jacobian import (FD_NUM_JAC_BDF, JAC_CONSTANT, JAC_USER, NEWTON_FAILED, SINGULAR,
                       evaluate_jacobian)
from .linalg import band_lu_factor, band_lu_solve
from .newton import EPS, lu_factor_inline as lu_factor, lu_solve_inline as lu_solve, spacing10

MAX_ORDER = 5
NEWTON_MAXITER = 4
MIN_FACTOR = 0.2
# status when the step collapses, by the last failure: error test, f non-finite, singular
# iteration matrix, Newton not converging
FAIL_STATUS = (st.STEP_TOO_SMALL, st.NON_FINITE, SINGULAR, NEWTON_FAILED)
# a step cut this many times in a row with a singular iteration matrix ends the integration
MAX_SINGULAR_CUTS = 20
MAX_FACTOR = 10.0

KAPPA = np.array([0.0, -0.1850, -1.0 / 9.0, -0.0823, -0.0415, 0.0])
GAMMA = np.hstack((0.0, np.cumsum(1.0 / np.arange(1, MAX_ORDER + 1))))
ALPHA = (1.0 - KAPPA) * GAMMA
ERROR_CONST = KAPPA * GAMMA + 1.0 / np.arange(1, MAX_ORDER + 2)
for _a in (KAPPA, GAMMA, ALPHA, ERROR_CONST):
    _a.setflags(write=False)

# rows of the n-vector work array of bdf_start / bdf_advance
(W_PREDICT, W_PSI, W_SCALE, W_D, W_B, W_FJAC, W_YTMP, W_HVEC, W_YSCALE, W_CMAX, W_CSCALE,
 W_F, W_JFAC) = range(13)
WORK_ROWS = 13
# state[:] of bdf_advance: h_abs, order, n_equal_steps, lu_valid
S_H_ABS, S_ORDER, S_N_EQUAL, S_LU_VALID = range(4)
# counts[:] of bdf_start / bdf_advance: nfev, njev, nlu, nreject, attempts
C_NFEV, C_NJEV, C_NLU, C_NREJECT, C_ATTEMPTS = range(5)

# linalg's banded solve, inlined (as newton.py inlines the dense LU: no call overhead per solve)
band_lu_solve_inline = njit(cache=True, nogil=True, inline="always")(band_lu_solve.py_func)


@njit(cache=True, nogil=True, inline="always")
def compute_R(order, factor, R):
    """R[:order + 1, :order + 1] of Shampine-Reichelt's step-change matrix (scipy compute_R)."""
    for c in range(order + 1):
        R[0, c] = 1.0
    for r in range(1, order + 1):
        R[r, 0] = 0.0
        for c in range(1, order + 1):
            R[r, c] = R[r - 1, c] * ((r - 1 - factor * c) / r)


@njit(cache=True, nogil=True, inline="always")
def change_D(D, order, factor, R, U, RU, tmp):
    """Re-sample D for a step size multiplied by ``factor``: D[:order+1] <- (R U)^T D."""
    n = D.shape[1]
    compute_R(order, factor, R)
    compute_R(order, 1.0, U)
    k = order + 1
    for i in range(k):
        for j in range(k):
            acc = 0.0
            for m in range(k):
                acc += R[i, m] * U[m, j]
            RU[i, j] = acc
    for i in range(k):
        for m in range(n):
            acc = 0.0
            for j in range(k):
                acc += RU[j, i] * D[j, m]
            tmp[i, m] = acc
    for i in range(k):
        for m in range(n):
            D[i, m] = tmp[i, m]


@njit(cache=True, nogil=True, inline="always")
def bdf_newton(rhs, p, t_new, y_predict, c, psi, LU, kl, ku, piv, scale, tol, y, d, fbuf, b,
               mass, has_mass):
    """Simplified Newton for the NDF corrector with the factored iteration matrix: dense LU,
    or, when kl >= 0, banded in gbtrf layout (call it with the matrix in use only: each array
    argument of an inlined function costs a reference-count round trip). Returns (converged,
    n_iter, nfev, finite); y holds y_predict + d."""
    n = y.shape[0]
    for m in range(n):
        y[m] = y_predict[m]
        d[m] = 0.0
    dy_norm_old = -1.0
    converged = False
    finite = True
    nfev = 0
    k = 0
    for k in range(NEWTON_MAXITER):
        call_rhs(rhs, t_new, y, p, fbuf)
        nfev += 1
        for m in range(n):
            if not math.isfinite(fbuf[m]):
                finite = False
        if not finite:
            break
        if has_mass:
            for m in range(n):
                # a banded M has row m in columns m - kl .. m + ku (checked in Python)
                j0 = max(0, m - kl) if kl >= 0 else 0
                j1 = min(n, m + ku + 1) if kl >= 0 else n
                acc = 0.0
                for j in range(j0, j1):
                    acc += mass[m, j] * (psi[j] + d[j])
                b[m] = c * fbuf[m] - acc
        else:
            for m in range(n):
                b[m] = c * fbuf[m] - psi[m] - d[m]
        if kl >= 0:
            band_lu_solve_inline(LU, kl, ku, piv, b)
        else:
            lu_solve(LU, piv, b)
        acc = 0.0
        for m in range(n):
            r = b[m] / scale[m]
            acc += r * r
        dy_norm = math.sqrt(acc / n)
        if not math.isfinite(dy_norm):
            finite = False
            break
        has_rate = dy_norm_old >= 0.0
        rate = 0.0
        if has_rate:
            rate = dy_norm / dy_norm_old
            if rate >= 1.0 or rate ** (NEWTON_MAXITER - k) / (1.0 - rate) * dy_norm > tol:
                break
        for m in range(n):
            y[m] += b[m]
            d[m] += b[m]
        if dy_norm == 0.0 or (has_rate and rate / (1.0 - rate) * dy_norm < tol):
            converged = True
            break
        dy_norm_old = dy_norm
    return converged, k + 1, nfev, finite


@njit(cache=True, nogil=True, inline="always")
def bdf_interpolant(D, order, t, t_new, h_next, ybase, Q, coef):
    """Monomial form on [t, t_new] of scipy's BdfDenseOutput: ybase = P(t), Q (n, 5)."""
    n = D.shape[1]
    hs = t_new - t
    for m in range(n):
        ybase[m] = D[0, m]
        for j in range(Q.shape[1]):
            Q[m, j] = 0.0
    # coef: coefficients in theta of prod_{m<k} (tau - (t_new - m h)) / ((m + 1) h)
    for j in range(MAX_ORDER + 1):
        coef[j] = 0.0
    coef[0] = 1.0
    for k in range(1, order + 1):
        denom = h_next * k
        a = (t - (t_new - h_next * (k - 1))) / denom
        b = hs / denom
        for j in range(k, 0, -1):
            coef[j] = coef[j] * a + coef[j - 1] * b
        coef[0] = coef[0] * a
        for m in range(n):
            dk = D[k, m]
            ybase[m] += dk * coef[0]
            for j in range(1, k + 1):
                Q[m, j - 1] += dk * coef[j]


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


# ---- the step-by-step interface (fastode.solvers_bdf.BDF) -----------------------------------

@njit(cache=True, nogil=True)
def bdf_start(rhs, jac, mode, p, t0, y0, t_bound, direction, rtol, atol, first_step, max_step,
              D, J, Jb, kl, ku, group_ptr, group_cols, col_ptr, rows, work, counts):
    """scipy's ``BDF.__init__`` after validation: f0 = f(t0, y0) (into ``work[W_F]``), the
    initial step (Hairer's, one more RHS call, unless ``first_step`` > 0), the first Jacobian
    (J, or Jb when kl >= 0; ``work[W_JFAC]`` must hold the initial increments sqrt(eps)),
    D[0] = y0, D[1] = h f0. Adds to ``counts``; returns (h_abs, f0 finite)."""
    n = y0.shape[0]
    f = work[W_F]
    call_rhs(rhs, t0, y0, p, f)
    counts[C_NFEV] += 1
    finite = True
    for i in range(n):
        if not math.isfinite(f[i]):
            finite = False
    if first_step > 0.0:
        h_abs = first_step
    else:
        h_abs = select_initial_step(rhs, p, t0, y0, f, t_bound, max_step, direction, 1, rtol,
                                    atol, work[W_YTMP], work[W_FJAC])
        if t_bound != t0:
            counts[C_NFEV] += 1
    evaluate_jacobian(mode, FD_NUM_JAC_BDF, rhs, jac, p, t0, y0, f, atol, J, Jb, kl, ku,
                      group_ptr, group_cols, col_ptr, rows, work[W_JFAC], work[W_HVEC],
                      work[W_YSCALE], work[W_YTMP], work[W_FJAC], work[W_CMAX], work[W_CSCALE])
    if mode != JAC_CONSTANT:
        counts[C_NJEV] += 1
    for i in range(n):
        D[0, i] = y0[i]
        D[1, i] = f[i] * h_abs * direction
    return h_abs, finite


@njit(cache=True, nogil=True)
def bdf_advance(rhs, jac, mode, p, t, t_bound, direction, state, opts, rtol, atol, D, J, Jb,
                LU, LUb, piv, kl, ku, group_ptr, group_cols, col_ptr, rows, y_new, work, Dtmp,
                counts):
    """One step of scipy's ``BDF._step_impl`` from t towards t_bound, resumable: the state
    lives in caller-owned arrays (no mass matrix; scipy's class has none).

    ``D`` (MAX_ORDER + 3, n): the differences; J (n, n) or, when kl >= 0, Jb (kl + ku + 1, n)
    F-ordered: the Jacobian; LU / LUb (2 kl + ku + 1, n) F-ordered and ``piv``: the factored
    iteration matrix; ``state`` = [h_abs, order, n_equal_steps, lu_valid] (updated);
    ``opts`` = [max_step, newton_tol]; ``work`` (WORK_ROWS, n): n-vectors, row W_JFAC (the
    finite-difference increments) persists; Dtmp (MAX_ORDER + 1, n): scratch; ``counts`` =
    [nfev, njev, nlu, nreject, attempts] (added to).

    Returns (status, t_new): SUCCESS with the new state in ``y_new`` (D, state: the next
    step's), or STEP_TOO_SMALL / NON_FINITE / SINGULAR / NEWTON_FAILED. The same algorithm as
    the step written out in :func:`bdf_solve`.
    """
    mass = np.zeros((1, 1))
    has_mass = False
    h_abs = state[S_H_ABS]
    order = int(state[S_ORDER])
    n_equal_steps = int(state[S_N_EQUAL])
    lu_valid = state[S_LU_VALID] != 0.0
    max_step = opts[0]
    newton_tol = opts[1]
    min_step = 0.0
    max_steps = 0
    t1 = t_bound
    R = np.empty((MAX_ORDER + 1, MAX_ORDER + 1))
    U = np.empty((MAX_ORDER + 1, MAX_ORDER + 1))
    RU = np.empty((MAX_ORDER + 1, MAX_ORDER + 1))
    y_predict = work[W_PREDICT]
    psi = work[W_PSI]
    scale = work[W_SCALE]
    d = work[W_D]
    b = work[W_B]
    fbuf = work[W_F]
    fjac = work[W_FJAC]
    ytmp = work[W_YTMP]
    hvec = work[W_HVEC]
    yscale = work[W_YSCALE]
    cmax = work[W_CMAX]
    cscale = work[W_CSCALE]
    jac_factor = work[W_JFAC]
    n = y_new.shape[0]
    status = st.SUCCESS
    spacing = spacing10(t, direction)
    if h_abs > max_step:
        change_D(D, order, max_step / h_abs, R, U, RU, Dtmp)
        h_abs = max_step
        n_equal_steps = 0
    elif h_abs < spacing:
        change_D(D, order, spacing / h_abs, R, U, RU, Dtmp)
        h_abs = spacing
        n_equal_steps = 0
    ha = h_abs
    # scipy: a constant Jacobian is always current (a failed Newton cuts the step at once)
    current_jac = mode == JAC_CONSTANT
    accepted = False
    fail_kind = 0
    n_singular = 0
    error_norm = 0.0
    n_iter = 0
    safety = 0.9
    t_new = t
    alpha = ALPHA[order]
    kv = kl + ku
    while not accepted:
        if max_steps > 0 and counts[C_ATTEMPTS] >= max_steps:
            status = st.MAX_STEPS
            break
        if ha < spacing or ha < min_step:
            status = FAIL_STATUS[fail_kind]
            break
        counts[C_ATTEMPTS] += 1
        h = ha * direction
        t_new = t + h
        if direction * (t_new - t1) > 0.0:
            t_new = t1
            change_D(D, order, abs(t_new - t) / ha, R, U, RU, Dtmp)
            n_equal_steps = 0
            lu_valid = False
        h = t_new - t
        ha = abs(h)
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
                if kl >= 0:
                    # M - c J in gbtrf layout (the top kl rows: fill-in workspace)
                    for j in range(n):
                        for r in range(kl):
                            LUb[r, j] = 0.0
                        for i in range(max(0, j - ku), min(n, j + kl + 1)):
                            if has_mass:
                                mij = mass[i, j]
                            else:
                                mij = 1.0 if i == j else 0.0
                            LUb[kv + i - j, j] = mij - c * Jb[ku + i - j, j]
                    singular = band_lu_factor(LUb, kl, ku, piv) != 0
                else:
                    for i in range(n):
                        for j in range(n):
                            if has_mass:
                                mij = mass[i, j]
                            else:
                                mij = 1.0 if i == j else 0.0
                            LU[i, j] = mij - c * J[i, j]
                    singular = lu_factor(LU, piv) != 0
                counts[C_NLU] += 1
                lu_valid = not singular
            if not singular:
                if kl >= 0:
                    converged, n_iter, nf, finite = bdf_newton(
                        rhs, p, t_new, y_predict, c, psi, LUb, kl, ku, piv, scale, newton_tol,
                        y_new, d, fbuf, b, mass, has_mass)
                else:
                    converged, n_iter, nf, finite = bdf_newton(
                        rhs, p, t_new, y_predict, c, psi, LU, -1, -1, piv, scale, newton_tol,
                        y_new, d, fbuf, b, mass, has_mass)
                counts[C_NFEV] += nf
            if not converged:
                if current_jac:
                    break
                if mode != JAC_USER:
                    call_rhs(rhs, t_new, y_predict, p, fjac)
                evaluate_jacobian(mode, FD_NUM_JAC_BDF, rhs, jac, p, t_new, y_predict, fjac, atol,
                                  J, Jb, kl, ku, group_ptr, group_cols, col_ptr, rows,
                                  jac_factor, hvec, yscale, ytmp, fbuf, cmax, cscale)
                counts[C_NJEV] += 1
                lu_valid = False
                current_jac = True
        if not converged:
            fail_kind = 1 if not finite else (2 if singular else 3)
            n_singular = n_singular + 1 if singular else 0
            if n_singular >= MAX_SINGULAR_CUTS:
                status = SINGULAR
                break
            ha *= 0.5
            change_D(D, order, 0.5, R, U, RU, Dtmp)
            n_equal_steps = 0
            lu_valid = False
            counts[C_NREJECT] += 1
            continue
        fail_kind = 0
        safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter)
        ec = ERROR_CONST[order]
        acc = 0.0
        for m in range(n):
            scale[m] = atol[m] + rtol[m] * abs(y_new[m])
            r = ec * d[m] / scale[m]
            acc += r * r
        error_norm = math.sqrt(acc / n)
        if not (error_norm <= 1.0):
            if math.isfinite(error_norm):
                factor = max(MIN_FACTOR, safety * error_norm ** (-1.0 / (order + 1)))
            else:
                factor = MIN_FACTOR
                fail_kind = 1
            ha *= factor
            change_D(D, order, factor, R, U, RU, Dtmp)
            n_equal_steps = 0
            counts[C_NREJECT] += 1
        else:
            accepted = True
    if not accepted:
        return status, t
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
                r = ec * D[order, m] / scale[m]
                acc += r * r
            error_m_norm = math.sqrt(acc / n)
        else:
            error_m_norm = np.inf
        if order < MAX_ORDER:
            ec = ERROR_CONST[order + 1]
            acc = 0.0
            for m in range(n):
                r = ec * D[order + 2, m] / scale[m]
                acc += r * r
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
        change_D(D, order, factor, R, U, RU, Dtmp)
        n_equal_steps = 0
        lu_valid = False
    state[S_H_ABS] = h_abs
    state[S_ORDER] = order
    state[S_N_EQUAL] = n_equal_steps
    state[S_LU_VALID] = 1.0 if lu_valid else 0.0
    return st.SUCCESS, t_new


@njit(cache=True, nogil=True)
def bdf_dense(D, order, t_old, t, h_next):
    """(y_old, Q) of the last step's interpolant (scipy's ``BdfDenseOutput`` in monomial form,
    fastode.results.DenseOutput's layout); h_next = h_abs * direction after the step."""
    n = D.shape[1]
    ybase = np.empty(n)
    Q = np.zeros((n, MAX_ORDER))
    coef = np.empty(MAX_ORDER + 1)
    bdf_interpolant(D, order, t_old, t, h_next, ybase, Q, coef)
    return ybase, Q
