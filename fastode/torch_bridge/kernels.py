"""Numba kernels of the compiled Neural-ODE path: MLP vector field, its hand-written VJP,
the forward RK driver, the backsolve adjoint and the discrete (checkpointed) adjoint.

The MLP arrives as plain arrays (fastode.torch_bridge.mlp): ``theta`` holds every weight and
bias (float64), ``dims[l]`` the width entering layer ``l`` (``dims[0]`` = n + 1 with the time
appended), ``woff``/``boff`` the offsets of W_l (row-major, dims[l+1] x dims[l]) and b_l
(-1: no bias), ``act``/``actp`` the activation after each layer and its parameters, ``xoff``
the first row of each layer's input (``xoff[L]``: the output) and ``zoff`` the first row of
each layer's pre-activation.

Layout: the state of a batch of ``Bs`` samples of ``n`` features is one flat vector stored
**feature-major**: feature ``i`` of sample ``b`` at ``i * Bs + b`` (the bridge transposes on the
way in and out). The MLP is then evaluated layer by layer on the whole batch at once, one
feature row (``Bs`` contiguous numbers) at a time: a Linear layer is a sum of
``W[j, i] * X[i, :]`` row updates, the activation is a loop over a contiguous row, and the
vector-Jacobian product is row updates with ``W^T`` plus row dot products for the weight
gradients. Every inner loop runs over the batch, so LLVM vectorises it (the activations use
branch-free, vectorisable ``exp``/``tanh`` below: numba's ``math.tanh`` is a scalar libm call
and was the bottleneck at batch 512). Activations of one evaluation are kept for the VJP in
``Xs`` (rows ``xb + xoff[l] + i``: every layer's input and output) and ``Zs`` (rows
``zb + zoff[l] + j``: pre-activations), 2-D arrays with ``Bs`` columns; ``xb``/``zb`` select a
block of rows (one block per RK stage in the discrete adjoint). ``G`` (``xwidth`` x ``Bs``)
holds the cotangents of a VJP.

All kernels use ``error_model="numpy"`` (a division by zero gives inf/nan instead of raising,
and lets loops vectorise); failures are status codes. Tableaus and controller:
fastode.tableaus.explicit / fastode.kernels.control (scipy's controller, RMS norm), the same as
fastode.solve_ivp and the torch fallback.
"""
import math

import numpy as np
from numba import njit

from ..kernels.control import MAX_FACTOR, MIN_FACTOR, SAFETY
# one table of status codes for every kernel (fastode.kernels.status); the bridge used to
# have its own, with -1 and -2 swapped
from ..kernels.status import MAX_STEPS, NON_FINITE, STEP_TOO_SMALL  # noqa: F401
from ..kernels.status import SUCCESS as OK

# bridge-internal, never returned to a user: the step-history buffer is full (the caller
# grows it and solves again); outside the range of fastode.kernels.status
HISTORY_FULL = -10

ACT_CODES = {"identity": 0, "tanh": 1, "relu": 2, "softplus": 3, "silu": 4, "elu": 5,
             "sigmoid": 6}

# the numba options (vector_math.py: also the vectorisable exp/tanh) and the MLP the drivers
# below call (mlp_kernels.py)
from .mlp_kernels import _rhs, mlp_eval, mlp_vjp  # noqa: E402
from .vector_math import _INL, _JIT  # noqa: E402


@njit(**_INL)
def _finite(v):
    ok = True
    for i in range(v.shape[0]):
        if not math.isfinite(v[i]):
            ok = False
    return ok


@njit(**_INL)
def _stage_input(A, i, K, y, h, acc, out):
    """out = y + h * (sum_{j<i} A[i, j] K[j]) (the sum in the order j = 0, 1, ...)."""
    _stage_input_n(A, i, i, K, y, h, acc, out)


@njit(**_INL)
def _stage_input_n(A, i, nj, K, y, h, acc, out):
    """out = y + h * (sum_{j<nj} A[i, j] K[j]) (the sum in the order j = 0, 1, ...)."""
    Nz = y.shape[0]
    a0 = A[i, 0]
    for m in range(Nz):
        acc[m] = a0 * K[0, m]
    for j in range(1, nj):
        aij = A[i, j]
        for m in range(Nz):
            acc[m] += aij * K[j, m]
    for m in range(Nz):
        out[m] = y[m] + h * acc[m]


@njit(**_INL)
def _weighted(W, nj, K, acc):
    """acc = sum_{j<nj} W[j] K[j] (in the order j = 0, 1, ...)."""
    Nz = acc.shape[0]
    w0 = W[0]
    for m in range(Nz):
        acc[m] = w0 * K[0, m]
    for j in range(1, nj):
        wj = W[j]
        for m in range(Nz):
            acc[m] += wj * K[j, m]


@njit(**_JIT)
def rk_drive(mode, z0, t_eval, Yout, rtol, atol, norm_dims,
             C, A, B, E, E3, use_e3, fsal_error, error_order, P, Cx, Ax, adaptive, first_step,
             step_size, max_step, max_steps, store, hist_t, hist_h, hist_y, out_step,
             theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, Xs, Zs, G):
    """Integrate from t_eval[0] through t_eval[-1] (either direction); Yout[i] = z(t_eval[i]).

    Adaptive methods interpolate the outputs with the dense output P (over the s + 1 stages
    and, when the method has them (DOP853, Verner 7), the m extra stages
    f(t + Cx[j] h, y + h sum_r Ax[j, r] K_r), evaluated once per step that holds an output,
    as the torch path does); fixed-step methods step
    on t_eval (``step_size`` <= 0, torchdiffeq) or on t0 + k step_size (fastode's grid).
    ``store``: record every accepted step (start, size, state) in hist_* and the step of
    each output in out_step (for the discrete adjoint). Returns
    (status, nfev, naccept, nreject, n_hist).
    """
    Nz = z0.shape[0]
    T = t_eval.shape[0]
    s = B.shape[0]
    nq = P.shape[1]
    nd = norm_dims if norm_dims > 0 else Nz
    mx = Cx.shape[0]
    K = np.zeros((s + 1 + mx, Nz))
    y = z0.copy()
    y_new = np.empty(Nz)
    ytmp = np.empty(Nz)
    acc = np.empty(Nz)
    acc3 = np.empty(Nz)
    wts = np.empty(s + 1 + mx)
    for i in range(Nz):
        Yout[0, i] = z0[i]
    nfev = 0
    naccept = 0
    nreject = 0
    n_hist = 0
    if T == 1:
        return OK, nfev, naccept, nreject, n_hist
    t0 = t_eval[0]
    t_end = t_eval[T - 1]
    direction = 1.0 if t_end > t0 else -1.0
    _rhs(mode, theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, t0, y, K, 0,
         Xs, Zs, G)
    nfev += 1
    if not _finite(K[0]):
        return NON_FINITE, nfev, naccept, nreject, n_hist
    exponent = -1.0 / (error_order + 1.0)
    n_fixed = 0
    on_t = False
    h_abs = 0.0
    if adaptive:
        if first_step > 0.0:
            h_abs = first_step
        else:
            # Hairer's initial step (fastode.kernels.control.select_initial_step)
            interval = abs(t_end - t0)
            a0 = 0.0
            a1 = 0.0
            for i in range(nd):
                sc = atol + abs(y[i]) * rtol
                a0 += (y[i] / sc) ** 2
                a1 += (K[0, i] / sc) ** 2
            d0 = math.sqrt(a0 / nd)
            d1 = math.sqrt(a1 / nd)
            if d0 < 1e-5 or d1 < 1e-5:
                h0 = 1e-6
            else:
                h0 = 0.01 * d0 / d1
            h0 = min(h0, interval)
            for i in range(Nz):
                ytmp[i] = y[i] + h0 * direction * K[0, i]
            _rhs(mode, theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs,
                 t0 + h0 * direction, ytmp, K, 1, Xs, Zs, G)
            nfev += 1
            a2 = 0.0
            for i in range(nd):
                sc = atol + abs(y[i]) * rtol
                a2 += ((K[1, i] - K[0, i]) / sc) ** 2
            d2 = math.sqrt(a2 / nd) / h0
            if d1 <= 1e-15 and d2 <= 1e-15:
                h1 = max(1e-6, h0 * 1e-3)
            else:
                h1 = (0.01 / max(d1, d2)) ** (1.0 / (error_order + 1))
            h_abs = min(100 * h0, h1, interval, max_step)
    elif step_size > 0.0:
        n_fixed = max(1, int(math.ceil(abs(t_end - t0) / step_size - 1e-9)))
        h_abs = step_size
    else:
        on_t = True
        n_fixed = T - 1

    t = t0
    next_out = 1
    attempts = 0
    status = OK
    while next_out < T:
        step_rejected = False
        accepted = False
        t_new = t
        h = 0.0
        while not accepted:
            if attempts >= max_steps:
                status = MAX_STEPS
                break
            attempts += 1
            if adaptive:
                spacing_min = 10.0 * abs(np.nextafter(t, direction * np.inf) - t)
                if h_abs > max_step:
                    h_abs = max_step
                if h_abs < spacing_min:
                    status = STEP_TOO_SMALL
                    break
                t_new = t + direction * h_abs
                if direction * (t_new - t_end) > 0.0:
                    t_new = t_end
            elif on_t:
                t_new = t_eval[naccept + 1]
            elif naccept + 1 >= n_fixed:
                t_new = t_end
            else:
                t_new = t0 + direction * (naccept + 1) * h_abs
            h = t_new - t
            for i in range(1, s):
                _stage_input(A, i, K, y, h, acc, ytmp)
                _rhs(mode, theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs,
                     t + C[i] * h, ytmp, K, i, Xs, Zs, G)
            nfev += s - 1
            _weighted(B, s, K, acc)
            for m in range(Nz):
                y_new[m] = y[m] + h * acc[m]
            if not adaptive:
                _rhs(mode, theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs,
                     t_new, y_new, K, s, Xs, Zs, G)
                nfev += 1
                if not _finite(K[s]):
                    status = NON_FINITE
                    break
                accepted = True
                break
            if fsal_error:
                _rhs(mode, theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs,
                     t_new, y_new, K, s, Xs, Zs, G)
                nfev += 1
                ne = s + 1
            else:
                ne = s
            _weighted(E, ne, K, acc)
            if use_e3:
                _weighted(E3, ne, K, acc3)
            sum5 = 0.0
            sum3 = 0.0
            for m in range(nd):
                sc = atol + rtol * max(abs(y[m]), abs(y_new[m]))
                sum5 += (acc[m] / sc) ** 2
                if use_e3:
                    sum3 += (acc3[m] / sc) ** 2
            if use_e3:
                if sum5 == 0.0 and sum3 == 0.0:
                    error_norm = 0.0
                else:
                    error_norm = abs(h) * sum5 / math.sqrt((sum5 + 0.01 * sum3) * nd)
            else:
                error_norm = abs(h) * math.sqrt(sum5 / nd)
            if not math.isfinite(error_norm):
                error_norm = np.inf
            if error_norm < 1.0:
                if error_norm == 0.0:
                    factor = MAX_FACTOR
                else:
                    factor = min(MAX_FACTOR, SAFETY * error_norm ** exponent)
                if step_rejected:
                    factor = min(1.0, factor)
                h_abs = abs(h) * factor
                if not fsal_error:
                    _rhs(mode, theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n,
                         Bs, t_new, y_new, K, s, Xs, Zs, G)
                    nfev += 1
                accepted = True
            else:
                if math.isfinite(error_norm):
                    factor = max(MIN_FACTOR, SAFETY * error_norm ** exponent)
                else:
                    factor = MIN_FACTOR
                h_abs = abs(h) * factor
                step_rejected = True
                nreject += 1
        if status != OK:
            break
        if store:
            if n_hist >= hist_t.shape[0]:
                status = HISTORY_FULL
                break
            hist_t[n_hist] = t
            hist_h[n_hist] = h
            for m in range(Nz):
                hist_y[n_hist, m] = y[m]
        extra_done = False
        while next_out < T and direction * (t_eval[next_out] - t_new) <= 0.0:
            if on_t:
                for m in range(Nz):
                    Yout[next_out, m] = y_new[m]
            else:
                if mx > 0 and not extra_done:
                    for j in range(mx):
                        _stage_input_n(Ax, j, s + 1 + j, K, y, h, acc, ytmp)
                        _rhs(mode, theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n,
                             Bs, t + Cx[j] * h, ytmp, K, s + 1 + j, Xs, Zs, G)
                    nfev += mx
                    extra_done = True
                th = (t_eval[next_out] - t) / h
                for j in range(s + 1 + mx):
                    wj = P[j, nq - 1]
                    for r in range(nq - 2, -1, -1):
                        wj = wj * th + P[j, r]
                    wts[j] = wj * th
                _weighted(wts, s + 1 + mx, K, acc)
                for m in range(Nz):
                    Yout[next_out, m] = y[m] + h * acc[m]
            if store:
                out_step[next_out] = n_hist
            next_out += 1
        n_hist += 1
        naccept += 1
        for m in range(Nz):
            y[m] = y_new[m]
            K[0, m] = K[s, m]
        t = t_new
        if not _finite(y):
            status = NON_FINITE
            break
    return status, nfev, naccept, nreject, n_hist


@njit(**_JIT)
def discrete_adjoint(t_eval, Gout, hist_t, hist_h, hist_y, n_hist, out_step, interp,
                     C, A, B, P, Cx, Ax, theta, dims, woff, boff, act, actp, xoff, zoff, time_in,
                     n, Bs, Xs, Zs, G, ybar0, gth, tgrad, counters):
    """Exact reverse mode through the recorded forward steps (what autograd through the solver
    computes, with the step sizes held fixed): each step's stages are recomputed from the
    stored state (stage i's activations in block i of Xs/Zs; the extra dense-output stages
    of a step with outputs in blocks s + 1 + j), then back-propagated. Adds
    dL/dy0 into ybar0, dL/dtheta into gth and dL/dt into tgrad; counters[0] += f evaluations,
    counters[1] += VJPs. ``interp``: outputs come from the dense output (else step ends).
    """
    N = Bs * n
    s = B.shape[0]
    T = t_eval.shape[0]
    nq = P.shape[1]
    L = act.shape[0]
    xw = xoff[L] + dims[L]
    zw = zoff[L - 1] + dims[L]
    mx = Cx.shape[0]
    K = np.zeros((s + 1 + mx, N))
    Kbar = np.zeros((s + 1 + mx, N))
    ytmp = np.empty(N)
    acc = np.empty(N)
    ycur = np.zeros(N)      # adjoint of y_k
    ynext = np.zeros(N)     # adjoint of y_{k+1}
    fbar = np.zeros(N)      # adjoint of f(t_{k+1}, y_{k+1}) from step k+1 (its K_0)
    tb = np.zeros(1)
    nf = 0
    nv = 0
    o = T - 1
    for k in range(n_hist - 1, -1, -1):
        t = hist_t[k]
        h = hist_h[k]
        yk = hist_y[k]
        # recompute the stages of step k
        mlp_eval(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, t, yk,
                 K, 0, Xs, Zs, 0, 0)
        for i in range(1, s):
            _stage_input(A, i, K, yk, h, acc, ytmp)
            mlp_eval(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs,
                     t + C[i] * h, ytmp, K, i, Xs, Zs, i * xw, i * zw)
        _weighted(B, s, K, acc)
        for m in range(N):
            ytmp[m] = yk[m] + h * acc[m]
        mlp_eval(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, t + h, ytmp,
                 K, s, Xs, Zs, s * xw, s * zw)
        nf += s + 1
        for j in range(s + 1 + mx):
            for m in range(N):
                Kbar[j, m] = 0.0
        # the extra dense-output stages, when an output lies in this step
        extra = interp and mx > 0 and o >= 1 and out_step[o] == k
        if extra:
            for j in range(mx):
                _stage_input_n(Ax, j, s + 1 + j, K, yk, h, acc, ytmp)
                mlp_eval(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs,
                         t + Cx[j] * h, ytmp, K, s + 1 + j, Xs, Zs, (s + 1 + j) * xw,
                         (s + 1 + j) * zw)
            nf += mx
        nrow = s + 1 + mx if extra else s + 1
        # outputs inside step k
        while o >= 1 and out_step[o] == k:
            if interp:
                th = (t_eval[o] - t) / h
                dt_acc = 0.0
                for j in range(nrow):
                    wj = P[j, nq - 1]
                    dw = nq * P[j, nq - 1]
                    for r in range(nq - 2, -1, -1):
                        wj = wj * th + P[j, r]
                        dw = dw * th + (r + 1) * P[j, r]
                    wj = wj * th
                    hw = h * wj
                    for m in range(N):
                        g = Gout[o, m]
                        Kbar[j, m] += hw * g
                        dt_acc += K[j, m] * dw * g
                tgrad[o] += dt_acc
                tgrad[0] -= dt_acc
                for m in range(N):
                    ycur[m] += Gout[o, m]
            else:
                for m in range(N):
                    ynext[m] += Gout[o, m]
            o -= 1
        tb[0] = 0.0
        if extra:
            # extra stage j: K_{s+1+j} = f(t + Cx[j] h, y_k + h sum_r Ax[j, r] K_r)
            for j in range(mx - 1, -1, -1):
                for m in range(N):
                    ytmp[m] = 0.0
                mlp_vjp(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, Xs,
                        Zs, (s + 1 + j) * xw, (s + 1 + j) * zw, Kbar[s + 1 + j], 0, 1.0, ytmp,
                        0, tb, 0, gth, 0, G)
                for m in range(N):
                    ycur[m] += ytmp[m]
                for r in range(s + 1 + j):
                    ha = h * Ax[j, r]
                    for m in range(N):
                        Kbar[r, m] += ha * ytmp[m]
            nv += mx
        # f(t_{k+1}, y_{k+1}): K_s of this step and K_0 of the next one
        for m in range(N):
            fbar[m] += Kbar[s, m]
        mlp_vjp(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, Xs, Zs,
                s * xw, s * zw, fbar, 0, 1.0, ynext, 0, tb, 0, gth, 0, G)
        # y_{k+1} = y_k + h sum_j B_j K_j
        for m in range(N):
            ycur[m] += ynext[m]
        for j in range(s):
            hb = h * B[j]
            for m in range(N):
                Kbar[j, m] += hb * ynext[m]
        for i in range(s - 1, 0, -1):
            for m in range(N):
                ytmp[m] = 0.0
            mlp_vjp(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, Xs, Zs,
                    i * xw, i * zw, Kbar[i], 0, 1.0, ytmp, 0, tb, 0, gth, 0, G)
            for m in range(N):
                ycur[m] += ytmp[m]
            for j in range(i):
                ha = h * A[i, j]
                for m in range(N):
                    Kbar[j, m] += ha * ytmp[m]
        nv += s
        tgrad[0] += tb[0]
        for m in range(N):
            fbar[m] = Kbar[0, m]
            ynext[m] = ycur[m]
            ycur[m] = 0.0
    # f(t_0, y_0)
    if n_hist > 0:
        mlp_eval(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, hist_t[0],
                 hist_y[0], K, 0, Xs, Zs, 0, 0)
        tb[0] = 0.0
        mlp_vjp(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, Xs, Zs, 0, 0,
                fbar, 0, 1.0, ynext, 0, tb, 0, gth, 0, G)
        tgrad[0] += tb[0]
        nf += 1
        nv += 1
    for m in range(N):
        ybar0[m] += ynext[m] + Gout[0, m]
    counters[0] += nf
    counters[1] += nv


@njit(**_JIT)
def output_time_grads(t_eval, Yout, Gout, theta, dims, woff, boff, act, actp, xoff, zoff,
                      time_in, n, Bs, Xs, Zs, tvjp):
    """tvjp[i] = g_i . f(t_i, y_i) (the backsolve adjoint's dL/dt_i for i >= 1)."""
    T = t_eval.shape[0]
    N = Bs * n
    F = np.empty((1, N))
    for i in range(1, T):
        mlp_eval(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, t_eval[i],
                 Yout[i], F, 0, Xs, Zs, 0, 0)
        acc = 0.0
        for m in range(N):
            acc += F[0, m] * Gout[i, m]
        tvjp[i] = acc


@njit(**_JIT)
def mlp_apply(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, t, Y):
    """f(t, Y) for a flat feature-major batch Y (probe and tests)."""
    L = act.shape[0]
    Xs = np.empty((xoff[L] + dims[L], Bs))
    Zs = np.empty((zoff[L - 1] + dims[L], Bs))
    F = np.empty((1, Bs * n))
    mlp_eval(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, t, Y, F, 0,
             Xs, Zs, 0, 0)
    return F[0]


@njit(**_JIT)
def forward_all(Z0, t_eval, Ys, rtol, atol, C, A, B, E, E3, use_e3, fsal_error, error_order,
                P, Cx, Ax, adaptive, first_step, step_size, max_step, max_steps, store, hist_t,
                hist_h, hist_y, out_step, n_hist, theta, dims, woff, boff, act, actp, xoff, zoff,
                time_in, n, Bs, Xs, Zs, G, counters):
    """Forward solve of every slice (one slice = the whole batch, or one sample each)."""
    status = OK
    for b in range(Z0.shape[0]):
        st, nfev, nacc, nrej, nh = rk_drive(
            0, Z0[b], t_eval, Ys[b], rtol, atol, 0, C, A, B, E, E3, use_e3, fsal_error,
            error_order, P, Cx, Ax, adaptive, first_step, step_size, max_step, max_steps, store,
            hist_t[b], hist_h[b], hist_y[b], out_step[b], theta, dims, woff, boff, act, actp,
            xoff, zoff, time_in, n, Bs, Xs, Zs, G)
        counters[0] += nfev
        counters[1] += nacc
        counters[2] += nrej
        n_hist[b] = nh
        if st != OK:
            return st
    return status


@njit(**_JIT)
def discrete_all(t_eval, Gout, hist_t, hist_h, hist_y, n_hist, out_step, interp, C, A, B, P,
                 Cx, Ax, theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, Xs, Zs, G,
                 ybar0, gth, tgrad, counters):
    for b in range(Gout.shape[0]):
        discrete_adjoint(t_eval, Gout[b], hist_t[b], hist_h[b], hist_y[b], n_hist[b],
                         out_step[b], interp, C, A, B, P, Cx, Ax, theta, dims, woff, boff, act,
                         actp, xoff, zoff, time_in, n, Bs, Xs, Zs, G, ybar0[b], gth, tgrad,
                         counters)


@njit(**_JIT)
def backsolve_all(t_eval, Ys, Gout, need_t, rtol, atol, seminorm, C, A, B, E, E3, use_e3,
                  fsal_error, error_order, P, Cx, Ax, adaptive, first_step, step_size, max_step,
                  max_steps, theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs,
                  Xs, Zs, G, ybar0, gth, tgrad, counters):
    """torchdiffeq's backsolve adjoint for every slice: [y, a, t, theta] solved backward
    between consecutive output times, y reset to the forward output and a += dL/dy_i there.
    counters: [f evaluations of the augmented system (each one f and one VJP), accepted,
    rejected steps, f evaluations for the output-time gradients]."""
    T = t_eval.shape[0]
    Ns = Ys.shape[2]
    Pn = theta.shape[0]
    Nz = 2 * Ns + 1 + Pn
    z = np.zeros(Nz)
    Yp = np.empty((2, Nz))
    tp = np.empty(2)
    tv = np.zeros(T)
    dummy_h = np.empty(0)
    dummy_y = np.empty((0, 0))
    dummy_o = np.empty(0, dtype=np.int64)
    nd = 2 * Ns if seminorm else 0
    for b in range(Ys.shape[0]):
        if need_t:
            output_time_grads(t_eval, Ys[b], Gout[b], theta, dims, woff, boff, act, actp, xoff,
                              zoff, time_in, n, Bs, Xs, Zs, tv)
            counters[3] += T - 1
        for m in range(Nz):
            z[m] = 0.0
        for m in range(Ns):
            z[Ns + m] = Gout[b, T - 1, m]
        for i in range(T - 1, 0, -1):
            for m in range(Ns):
                z[m] = Ys[b, i, m]
            if need_t:
                tgrad[i] += tv[i]
                z[2 * Ns] -= tv[i]
            tp[0] = t_eval[i]
            tp[1] = t_eval[i - 1]
            st, nfev, nacc, nrej, _ = rk_drive(
                1, z, tp, Yp, rtol, atol, nd, C, A, B, E, E3, use_e3,
                fsal_error, error_order, P, Cx, Ax, adaptive, first_step, step_size, max_step,
                max_steps, False, dummy_h, dummy_h, dummy_y, dummy_o, theta, dims, woff, boff,
                act, actp, xoff, zoff, time_in, n, Bs, Xs, Zs, G)
            counters[0] += nfev
            counters[1] += nacc
            counters[2] += nrej
            if st != OK:
                return st
            for m in range(Nz):
                z[m] = Yp[1, m]
            for m in range(Ns):
                z[Ns + m] += Gout[b, i - 1, m]
        for m in range(Ns):
            ybar0[b, m] += z[Ns + m]
        if need_t:
            tgrad[0] += z[2 * Ns]
        for k in range(Pn):
            gth[k] += z[2 * Ns + 1 + k]
    return OK
