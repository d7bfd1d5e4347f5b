"""Lock-step batch ensembles: W trajectories of an explicit Runge-Kutta method stepped together.

The default ensemble driver (kernels/ensemble.py) runs one scalar solve per trajectory and calls
the RHS through a C pointer once per stage per trajectory. Here W trajectories ("lanes") share
one pass over the stages: the states are stored lane-contiguous (``Y[m, w]``, stages
``K[stage, m, w]``), so the stage arithmetic is a loop over lanes that LLVM vectorises, and the
RHS is called once per stage for all W lanes through a *batch* C function

    void f(const double *t, const double *Y, const double *P, double *out)

with ``t`` (W,), ``Y`` and ``out`` (n, W), ``P`` (n_p, W), all C-contiguous (fastode.ensemble_batch
compiles one per user function, the user's function inlined into its lane loop). The driver is
compiled once for every RHS, like the scalar one.

Each lane keeps its own t, step size, controller state (step_rejected, last error norm),
accept/reject, attempts, counters, status and t_eval cursor: a lane's arithmetic is the scalar
driver's (kernels/explicit/driver.py with advance_step), operation for operation, so its result
is the default mode's up to the RHS's own arithmetic (bitwise where the batch RHS computes the
same operations). A lane that finishes or fails writes its row of the outputs and is refilled
with the next trajectory of its block, so the lanes stay busy; a failing lane never touches the
others (a rejected or failed lane only stops taking part). Idle lanes (end of a block) still go
through the stage arithmetic on their last, finite state; their results are ignored.

Output modes are kernels/ensemble.py's (SAVE_TRAJECTORY, SAVE_FINAL, SAVE_OBSERVE,
SAVE_OBSERVE_FINAL), with the same NaN conventions.
"""
import math

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from . import status as st
from .callbacks import call_rhs
from .control import MAX_FACTOR, MIN_FACTOR, SAFETY

SAVE_TRAJECTORY = 0
SAVE_FINAL = 1
SAVE_OBSERVE = 2
SAVE_OBSERVE_FINAL = 3


@intrinsic
def call_batch(typingctx, address, t, y, p, out, row):
    """Call the batch C function at ``address`` as ``f(t.data, y.data, p.data, &out[row, 0])``
    (``out`` 2-D, C-contiguous: row ``row`` is one (n, W) block, flat) without creating a
    view."""
    if not all(isinstance(a, types.Array) for a in (t, y, p, out)):
        return None
    signature = types.void(address, t, y, p, out, row)

    def codegen(context, builder, sig, args):
        address_value, t_value, y_value, p_value, out_value, row_value = args
        double_ptr = ir.DoubleType().as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [double_ptr] * 4)
        fn = builder.inttoptr(address_value, fnty.as_pointer())

        def data(i, value):
            return context.make_array(sig.args[i])(context, builder, value).data

        out_array = context.make_array(sig.args[4])(context, builder, out_value)
        block = builder.extract_value(out_array.shape, 1)
        row_ptr = builder.gep(out_array.data, [builder.mul(row_value, block)])
        builder.call(fn, [data(1, t_value), data(2, y_value), data(3, p_value), row_ptr])
        return context.get_dummy_value()

    return signature, codegen


@njit(cache=True, nogil=True, error_model="numpy")
def _lane_state(w, W, Yv, Pl, ybuf, pbuf):
    """Copy lane ``w`` of the flat lane arrays into contiguous ``ybuf`` and ``pbuf``."""
    for m in range(ybuf.shape[0]):
        ybuf[m] = Yv[m * W + w]
    for m in range(pbuf.shape[0]):
        pbuf[m] = Pl[m * W + w]
    return 0 * (Yv.shape[0] + Pl.shape[0] + ybuf.shape[0] + pbuf.shape[0])


@njit(cache=True, nogil=True, error_model="numpy")
def _finish_lane(i, w, W, stat, t, mode, obs, t1, i_eval, Y, Pl, nfev, nacc, nrej, out, status,
                 counters, ybuf, pbuf, obuf):
    """Write lane ``w``'s trajectory ``i``: status, counters, and what the mode keeps beyond the
    t_eval points already written (NaN where not reached; the final state or observation)."""
    n = ybuf.shape[0]
    n_cols = out.shape[2]
    n_rows = out.shape[1]
    status[i] = stat
    counters[i, 0] = nfev
    counters[i, 1] = nacc
    counters[i, 2] = nrej
    counters[i, 3] = t
    if mode == SAVE_TRAJECTORY or mode == SAVE_OBSERVE:
        for k in range(i_eval, n_cols):
            for m in range(n_rows):
                out[i, m, k] = np.nan
    elif mode == SAVE_FINAL:
        for m in range(n):
            out[i, m, 0] = Y[m * W + w]
    else:  # SAVE_OBSERVE_FINAL: the observation at t1, NaN on failure
        if stat >= 0 and t == t1:
            _lane_state(w, W, Y, Pl, ybuf, pbuf)
            call_rhs(obs, t1, ybuf, pbuf, obuf)
            for m in range(n_rows):
                out[i, m, 0] = obuf[m]
        else:
            for m in range(n_rows):
                out[i, m, 0] = np.nan
    return 0 * (ybuf.shape[0] + pbuf.shape[0] + obuf.shape[0] + Y.shape[0] + Pl.shape[0]
                + out.shape[0] + status.shape[0] + counters.shape[0])


@njit(cache=True, nogil=True, error_model="numpy")
def _save_point(i, w, W, k, te, mode, obs, Yv, Pl, out, ybuf, pbuf, obuf):
    """Store lane ``w``'s state ``Yv`` at t_eval[k] (or its observation) in out[i, :, k]."""
    n = ybuf.shape[0]
    if mode == SAVE_TRAJECTORY:
        for m in range(n):
            out[i, m, k] = Yv[m * W + w]
    else:
        _lane_state(w, W, Yv, Pl, ybuf, pbuf)
        call_rhs(obs, te, ybuf, pbuf, obuf)
        for m in range(out.shape[1]):
            out[i, m, k] = obuf[m]
    return 0 * (ybuf.shape[0] + pbuf.shape[0] + obuf.shape[0] + Yv.shape[0] + Pl.shape[0]
                + out.shape[0])


@njit(cache=True, nogil=True, error_model="numpy")
def _batch_block(rhs, W, lo, hi, params, y0, t0, t1, rtol, atol, C, A, B, E, E3, use_e3,
                 error_order, C_extra, A_extra, P, adaptive, first_step, max_step, min_step,
                 max_steps, t_eval, mode, obs, out, status, counters):
    """Solve trajectories lo..hi-1 of the chunk on W lanes (see the module docstring).

    Lane arrays are flat: component m of lane w is at [m * W + w], so the stage loops run over
    n * W contiguous values (long enough for LLVM to vectorise them profitably).
    """
    n = y0.shape[1]
    n_p = params.shape[1]
    s = B.shape[0]
    m_extra = C_extra.shape[0]
    q = P.shape[1]
    n_eval = t_eval.shape[0]
    nW = n * W
    use_t_eval = mode == SAVE_TRAJECTORY or mode == SAVE_OBSERVE
    direction = 1.0 if t1 >= t0 else -1.0
    error_exponent = -1.0 / (error_order + 1.0)
    fsal_error = adaptive and (use_e3 or E[s] != 0.0)
    n_fixed = 0
    if not adaptive:
        n_fixed = max(1, int(math.ceil(abs(t1 - t0) / first_step - 1e-9)))

    # lane arrays
    K = np.zeros((s + 1 + m_extra, nW))
    S = np.zeros((2, nW))            # f(t0, y0) and the initial-step probe of starting lanes
    Y = np.zeros(nW)
    Y_new = np.zeros(nW)
    Y_tmp = np.zeros(nW)
    Pl = np.zeros(n_p * W)
    Q = np.zeros((q, nW))
    acc = np.zeros(nW)
    acc3 = np.zeros(nW)
    hrep = np.zeros(nW)              # each lane's h, repeated for its n components
    T_stage = np.zeros(W)
    # per-lane state
    traj = np.full(W, -1, dtype=np.int64)
    starting = np.zeros(W, dtype=np.bool_)
    go = np.zeros(W, dtype=np.bool_)
    accepted = np.zeros(W, dtype=np.bool_)
    fresh = np.zeros(W, dtype=np.bool_)
    rejected = np.zeros(W, dtype=np.bool_)
    t = np.zeros(W)
    t_new = np.zeros(W)
    h = np.zeros(W)
    h_abs = np.zeros(W)
    spacing = np.zeros(W)
    enorm = np.zeros(W)
    h0 = np.zeros(W)
    d1 = np.zeros(W)
    stat = np.zeros(W, dtype=np.int64)
    attempts = np.zeros(W, dtype=np.int64)
    nfev = np.zeros(W, dtype=np.int64)
    nacc = np.zeros(W, dtype=np.int64)
    nrej = np.zeros(W, dtype=np.int64)
    i_eval = np.zeros(W, dtype=np.int64)
    ybuf = np.empty(n)
    pbuf = np.empty(n_p)
    obuf = np.empty(out.shape[1])
    interval = abs(t1 - t0)

    next_i = lo
    n_active = 0
    while True:
        # ---- refill free lanes: f(t0, y0) and the initial step, batched --------------------
        while next_i < hi and n_active < W:
            n_start = 0
            for w in range(W):
                starting[w] = False
                if traj[w] < 0 and next_i < hi:
                    i = next_i
                    next_i += 1
                    traj[w] = i
                    starting[w] = True
                    n_start += 1
                    n_active += 1
                    r = 0 if y0.shape[0] == 1 else i
                    for m in range(n):
                        Y[m * W + w] = y0[r, m]
                    r = 0 if params.shape[0] == 1 else i
                    for m in range(n_p):
                        Pl[m * W + w] = params[r, m]
                    for j in range(K.shape[0]):
                        for m in range(n):
                            K[j, m * W + w] = 0.0
                    t[w] = t0
                    stat[w] = st.SUCCESS
                    attempts[w] = 0
                    nfev[w] = 1
                    nacc[w] = 0
                    nrej[w] = 0
                    i_eval[w] = 0
                    fresh[w] = True
            if n_start == 0:
                break
            call_batch(rhs, t, Y, Pl, S, 0)
            need_probe = False
            for w in range(W):
                if not starting[w]:
                    continue
                finite = True
                for m in range(n):
                    x = m * W + w
                    K[0, x] = S[0, x]
                    if not (math.isfinite(S[0, x]) and math.isfinite(Y[x])):
                        finite = False
                if t1 == t0 or not finite:
                    # an empty interval (every t_eval point at y0), or a non-finite f(t0, y0)
                    if t1 == t0:
                        if use_t_eval:
                            for k in range(n_eval):
                                _save_point(traj[w], w, W, k, t_eval[k], mode, obs, Y, Pl, out,
                                            ybuf, pbuf, obuf)
                            i_eval[w] = n_eval
                    else:
                        stat[w] = st.NON_FINITE
                    _finish_lane(traj[w], w, W, stat[w], t0, mode, obs, t1, i_eval[w], Y, Pl,
                                 nfev[w], 0, 0, out, status, counters, ybuf, pbuf, obuf)
                    traj[w] = -1
                    starting[w] = False
                    n_active -= 1
                    continue
                if not adaptive or first_step > 0.0:
                    h_abs[w] = first_step
                    continue
                # select_initial_step (kernels/control.py), up to its probe
                d0 = 0.0
                a1 = 0.0
                for m in range(n):
                    x = m * W + w
                    sc = atol[m] + abs(Y[x]) * rtol[m]
                    r0 = Y[x] / sc
                    d0 += r0 * r0
                    r1 = K[0, x] / sc
                    a1 += r1 * r1
                d0 = math.sqrt(d0 / n)
                d1[w] = math.sqrt(a1 / n)
                if d0 < 1e-5 or d1[w] < 1e-5:
                    h0[w] = 1e-6
                else:
                    h0[w] = 0.01 * d0 / d1[w]
                h0[w] = min(h0[w], interval)
                need_probe = True
            if need_probe:
                for w in range(W):
                    if starting[w]:
                        T_stage[w] = t0 + h0[w] * direction
                        for m in range(n):
                            x = m * W + w
                            Y_tmp[x] = Y[x] + h0[w] * direction * K[0, x]
                    else:
                        T_stage[w] = t[w]
                        for m in range(n):
                            Y_tmp[m * W + w] = Y[m * W + w]
                call_batch(rhs, T_stage, Y_tmp, Pl, S, 1)
                for w in range(W):
                    if not starting[w]:
                        continue
                    nfev[w] += 1
                    a2 = 0.0
                    for m in range(n):
                        x = m * W + w
                        sc = atol[m] + abs(Y[x]) * rtol[m]
                        r2 = (S[1, x] - K[0, x]) / sc
                        a2 += r2 * r2
                    d2 = math.sqrt(a2 / n) / h0[w]
                    if d1[w] <= 1e-15 and d2 <= 1e-15:
                        h1 = max(1e-6, h0[w] * 1e-3)
                    else:
                        h1 = (0.01 / max(d1[w], d2)) ** (1.0 / (error_order + 1))
                    h_abs[w] = min(100 * h0[w], h1, interval, max_step)
        if n_active == 0:
            break

        # ---- set up one attempt per lane (advance_step's checks) ----------------------------
        n_go = 0
        for w in range(W):
            go[w] = False
            accepted[w] = False
            h[w] = 0.0
            if traj[w] < 0:
                continue
            if fresh[w]:
                spacing[w] = 10.0 * abs(np.nextafter(t[w], direction * np.inf) - t[w])
                if adaptive:
                    if h_abs[w] > max_step:
                        h_abs[w] = max_step
                    elif h_abs[w] < spacing[w]:
                        h_abs[w] = spacing[w]
                rejected[w] = False
                enorm[w] = 0.0
                fresh[w] = False
            stop = False
            if max_steps > 0 and attempts[w] >= max_steps:
                stat[w] = st.MAX_STEPS
                stop = True
            else:
                attempts[w] += 1
                if adaptive:
                    if not (h_abs[w] >= spacing[w] and h_abs[w] >= min_step):
                        if not math.isfinite(enorm[w]):
                            stat[w] = st.NON_FINITE
                        else:
                            stat[w] = st.STEP_TOO_SMALL
                        stop = True
                    else:
                        t_new[w] = t[w] + direction * h_abs[w]
                        if direction * (t_new[w] - t1) > 0.0:
                            t_new[w] = t1
                elif nacc[w] + 1 >= n_fixed:
                    t_new[w] = t1
                else:
                    t_new[w] = t0 + direction * (nacc[w] + 1) * h_abs[w]
            if stop:
                _finish_lane(traj[w], w, W, stat[w], t[w], mode, obs, t1, i_eval[w], Y, Pl,
                             nfev[w], nacc[w], nrej[w], out, status, counters, ybuf, pbuf, obuf)
                traj[w] = -1
                n_active -= 1
                continue
            h[w] = t_new[w] - t[w]
            go[w] = True
            n_go += 1
        if n_go == 0:
            continue
        for m in range(n):
            for w in range(W):
                hrep[m * W + w] = h[w]

        # ---- the stages, all lanes together (rk_step) ----------------------------------------
        for i in range(1, s):
            for w in range(W):
                T_stage[w] = t[w] + C[i] * h[w]
            # acc = sum_j A[i, j] K[j], four rows per pass over the lanes, each lane adding in
            # the scalar driver's order (the same bits)
            for x in range(nW):
                acc[x] = 0.0
            j = 0
            while j + 4 <= i:
                a0, a1, a2, a3 = A[i, j], A[i, j + 1], A[i, j + 2], A[i, j + 3]
                for x in range(nW):
                    acc[x] = (((acc[x] + a0 * K[j, x]) + a1 * K[j + 1, x]) + a2 * K[j + 2, x]
                              + a3 * K[j + 3, x])
                j += 4
            while j < i:
                a0 = A[i, j]
                for x in range(nW):
                    acc[x] += a0 * K[j, x]
                j += 1
            for x in range(nW):
                Y_tmp[x] = Y[x] + hrep[x] * acc[x]
            call_batch(rhs, T_stage, Y_tmp, Pl, K, i)
        for x in range(nW):
            acc[x] = 0.0
        j = 0
        while j + 4 <= s:
            a0, a1, a2, a3 = B[j], B[j + 1], B[j + 2], B[j + 3]
            for x in range(nW):
                acc[x] = (((acc[x] + a0 * K[j, x]) + a1 * K[j + 1, x]) + a2 * K[j + 2, x]
                          + a3 * K[j + 3, x])
            j += 4
        while j < s:
            a0 = B[j]
            for x in range(nW):
                acc[x] += a0 * K[j, x]
            j += 1
        for x in range(nW):
            Y_new[x] = Y[x] + hrep[x] * acc[x]
        if fsal_error or not adaptive:
            # f(t_new, y_new): the error estimate uses it (FSAL methods, DOP853)
            call_batch(rhs, t_new, Y_new, Pl, K, s)
        if adaptive:
            # the embedded error estimates, all lanes (rk_error_norm's sums over stages)
            for x in range(nW):
                acc[x] = 0.0
                acc3[x] = 0.0
            n_e = E.shape[0]
            j = 0
            while j + 4 <= n_e:
                a0, a1, a2, a3 = E[j], E[j + 1], E[j + 2], E[j + 3]
                b0, b1, b2, b3 = E3[j], E3[j + 1], E3[j + 2], E3[j + 3]
                for x in range(nW):
                    acc[x] = (((acc[x] + a0 * K[j, x]) + a1 * K[j + 1, x]) + a2 * K[j + 2, x]
                              + a3 * K[j + 3, x])
                if use_e3:
                    for x in range(nW):
                        acc3[x] = (((acc3[x] + b0 * K[j, x]) + b1 * K[j + 1, x])
                                   + b2 * K[j + 2, x] + b3 * K[j + 3, x])
                j += 4
            while j < n_e:
                a0 = E[j]
                b0 = E3[j]
                for x in range(nW):
                    acc[x] += a0 * K[j, x]
                if use_e3:
                    for x in range(nW):
                        acc3[x] += b0 * K[j, x]
                j += 1

        # ---- accept or reject, per lane ------------------------------------------------------
        n_acc = 0
        for w in range(W):
            if not go[w]:
                continue
            nfev[w] += s - 1
            finite = True
            for m in range(n):
                if not math.isfinite(Y_new[m * W + w]):
                    finite = False
                    break
            if not adaptive:
                if not finite:
                    stat[w] = st.NON_FINITE
                    _finish_lane(traj[w], w, W, stat[w], t[w], mode, obs, t1, i_eval[w], Y, Pl,
                                 nfev[w], nacc[w], nrej[w], out, status, counters, ybuf, pbuf,
                                 obuf)
                    traj[w] = -1
                    n_active -= 1
                    go[w] = False
                    continue
                nfev[w] += 1
                accepted[w] = True
                n_acc += 1
                continue
            if fsal_error:
                nfev[w] += 1
            if finite:
                # error_scale and rk_error_norm (kernels/control.py)
                a5 = 0.0
                a3 = 0.0
                for m in range(n):
                    x = m * W + w
                    sc = atol[m] + max(abs(Y[x]), abs(Y_new[x])) * rtol[m]
                    r5 = acc[x] / sc
                    a5 += r5 * r5
                    if use_e3:
                        r3 = acc3[x] / sc
                        a3 += r3 * r3
                if not use_e3:
                    error_norm = abs(h[w]) * math.sqrt(a5 / n)
                elif a5 == 0.0 and a3 == 0.0:
                    error_norm = 0.0
                else:
                    error_norm = abs(h[w]) * a5 / math.sqrt((a5 + 0.01 * a3) * n)
            else:
                error_norm = np.inf
            enorm[w] = error_norm
            if error_norm < 1.0:
                # step_factor_accept
                if error_norm == 0.0:
                    factor = MAX_FACTOR
                else:
                    factor = min(MAX_FACTOR, SAFETY * error_norm ** error_exponent)
                if rejected[w]:
                    factor = min(1.0, factor)
                h_abs[w] = abs(h[w]) * factor
                accepted[w] = True
                n_acc += 1
            else:
                # step_factor_reject
                if not math.isfinite(error_norm):
                    factor = MIN_FACTOR
                else:
                    factor = max(MIN_FACTOR, SAFETY * error_norm ** error_exponent)
                h_abs[w] = abs(h[w]) * factor
                rejected[w] = True
                nrej[w] += 1
        if n_acc == 0:
            continue
        if not fsal_error and adaptive:
            call_batch(rhs, t_new, Y_new, Pl, K, s)
            for w in range(W):
                if accepted[w]:
                    nfev[w] += 1

        # ---- dense output where a t_eval point lies inside the step --------------------------
        need_dense = False
        if use_t_eval:
            for w in range(W):
                go[w] = False  # reused: this lane needs its interpolant
                if (accepted[w] and i_eval[w] < n_eval
                        and direction * (t_eval[i_eval[w]] - t_new[w]) < 0.0):
                    go[w] = True
                    need_dense = True
        if need_dense:
            for j in range(m_extra):
                row = s + 1 + j
                for w in range(W):
                    T_stage[w] = t[w] + C_extra[j] * h[w]
                for x in range(nW):
                    acc[x] = 0.0
                r = 0
                while r + 4 <= row:
                    a0, a1, a2, a3 = (A_extra[j, r], A_extra[j, r + 1], A_extra[j, r + 2],
                                      A_extra[j, r + 3])
                    for x in range(nW):
                        acc[x] = (((acc[x] + a0 * K[r, x]) + a1 * K[r + 1, x])
                                  + a2 * K[r + 2, x] + a3 * K[r + 3, x])
                    r += 4
                while r < row:
                    a0 = A_extra[j, r]
                    for x in range(nW):
                        acc[x] += a0 * K[r, x]
                    r += 1
                for x in range(nW):
                    Y_tmp[x] = Y[x] + hrep[x] * acc[x]
                call_batch(rhs, T_stage, Y_tmp, Pl, K, row)
            for w in range(W):
                if go[w]:
                    nfev[w] += m_extra
            # Q = h K^T P (dense_coefficients)
            n_r = P.shape[0]
            for c in range(q):
                for x in range(nW):
                    acc[x] = 0.0
                r = 0
                while r + 4 <= n_r:
                    p0, p1, p2, p3 = P[r, c], P[r + 1, c], P[r + 2, c], P[r + 3, c]
                    for x in range(nW):
                        acc[x] = (((acc[x] + K[r, x] * p0) + K[r + 1, x] * p1) + K[r + 2, x] * p2
                                  + K[r + 3, x] * p3)
                    r += 4
                while r < n_r:
                    p0 = P[r, c]
                    for x in range(nW):
                        acc[x] += K[r, x] * p0
                    r += 1
                for x in range(nW):
                    Q[c, x] = hrep[x] * acc[x]

        # ---- record the accepted steps and advance ------------------------------------------
        for w in range(W):
            if not accepted[w]:
                continue
            nacc[w] += 1
            for m in range(n):
                if not math.isfinite(K[s, m * W + w]):
                    # f is non-finite at the new state: keep the state reached, report it
                    stat[w] = st.NON_FINITE
            if use_t_eval:
                # save_step (kernels/output.py), written out for SAVE_TRAJECTORY
                i_w = traj[w]
                while i_eval[w] < n_eval and direction * (t_eval[i_eval[w]] - t_new[w]) <= 0.0:
                    k = i_eval[w]
                    te = t_eval[k]
                    if te == t_new[w]:
                        if mode == SAVE_TRAJECTORY:
                            for m in range(n):
                                out[i_w, m, k] = Y_new[m * W + w]
                        else:
                            _save_point(i_w, w, W, k, te, mode, obs, Y_new, Pl, out, ybuf, pbuf,
                                        obuf)
                    else:
                        theta = (te - t[w]) / h[w]
                        for m in range(n):
                            x = m * W + w
                            a = Q[q - 1, x]
                            for c in range(q - 2, -1, -1):
                                a = a * theta + Q[c, x]
                            Y_tmp[x] = Y[x] + a * theta
                        if mode == SAVE_TRAJECTORY:
                            for m in range(n):
                                out[i_w, m, k] = Y_tmp[m * W + w]
                        else:
                            _save_point(i_w, w, W, k, te, mode, obs, Y_tmp, Pl, out, ybuf, pbuf,
                                        obuf)
                    i_eval[w] += 1
            # f(t_new, y_new) becomes the next step's first stage (FSAL)
            t[w] = t_new[w]
            for m in range(n):
                x = m * W + w
                Y[x] = Y_new[x]
                K[0, x] = K[s, x]
            fresh[w] = True
            if stat[w] != st.SUCCESS or direction * (t[w] - t1) >= 0.0:
                _finish_lane(traj[w], w, W, stat[w], t[w], mode, obs, t1, i_eval[w], Y, Pl,
                             nfev[w], nacc[w], nrej[w], out, status, counters, ybuf, pbuf, obuf)
                traj[w] = -1
                n_active -= 1
    return 0


@njit(cache=True, nogil=True, parallel=True)
def ensemble_explicit_batch(rhs, W, block, params, y0, t0, t1, rtol, atol,
                            C, A, B, E, E3, use_e3, error_order, C_extra, A_extra, P,
                            adaptive, first_step, max_step, min_step, max_steps,
                            t_eval, mode, obs, out, status, counters):
    """Solve ``out.shape[0]`` trajectories in blocks of ``block``, each on W lock-step lanes.

    Parameters
    ----------
    rhs : int64
        Address of the batch RHS ``void f(const double *t, const double *Y, const double *P,
        double *out)`` for exactly this W, n and n_p (module docstring).
    W : int64
        Lanes per block.
    block : int64
        Trajectories per prange iteration (each refills its W lanes from its block).
    params, y0, rtol ... max_steps, t_eval, mode, obs, out, status, counters
        As for kernels.ensemble.ensemble_explicit (``params`` of at least one column).
    """
    n_rows = out.shape[0]
    n_blocks = (n_rows + block - 1) // block
    for b in prange(n_blocks):
        lo = b * block
        hi = min(lo + block, n_rows)
        _batch_block(rhs, W, lo, hi, params, y0, t0, t1, rtol, atol, C, A, B, E, E3, use_e3,
                     error_order, C_extra, A_extra, P, adaptive, first_step, max_step,
                     min_step, max_steps, t_eval, mode, obs, out, status, counters)
