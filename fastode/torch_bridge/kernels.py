"""Numba kernels of the compiled Neural-ODE path: MLP vector field, its hand-written VJP,
the forward RK driver, the backsolve adjoint and the discrete (checkpointed) adjoint.

The MLP arrives as plain arrays (fastode.torch_bridge.mlp): ``theta`` holds every weight and
bias (float64), ``dims[l]`` the width entering layer ``l`` (``dims[0]`` = n + 1 with the time
appended), ``woff``/``boff`` the offsets of W_l (row-major, dims[l+1] x dims[l]) and b_l
(-1: no bias), ``act``/``actp`` the activation after each layer and its parameters.
Activations of one evaluation are kept in ``Xs[st, b]`` (inputs and post-activations of every
layer) and ``Zs[st, b]`` (pre-activations) for the VJP.

The state of a batch is one flat vector of Bs * n entries (row b of the batch at b * n).
Tableaus and controller: fastode.tableaus.explicit / fastode.kernels.control (scipy's
controller, RMS norm), the same as fastode.solve_ivp and the torch fallback.
"""
import math

import numpy as np
from numba import njit

from ..kernels.control import MAX_FACTOR, MIN_FACTOR, SAFETY

OK = 0
MAX_STEPS = -1
STEP_TOO_SMALL = -2
NON_FINITE = -3
HISTORY_FULL = -10

ACT_CODES = {"identity": 0, "tanh": 1, "relu": 2, "softplus": 3, "silu": 4, "elu": 5,
             "sigmoid": 6}


@njit(cache=True, nogil=True, inline="always")
def _act(code, z, p0, p1):
    if code == 1:
        return math.tanh(z)
    elif code == 2:
        return z if z > 0.0 else 0.0
    elif code == 3:
        bz = p0 * z
        return z if bz > p1 else math.log1p(math.exp(bz)) / p0
    elif code == 4:
        return z / (1.0 + math.exp(-z))
    elif code == 5:
        return z if z > 0.0 else p0 * math.expm1(z)
    elif code == 6:
        return 1.0 / (1.0 + math.exp(-z))
    return z


@njit(cache=True, nogil=True, inline="always")
def _dact(code, z, x, p0, p1):
    if code == 1:
        return 1.0 - x * x
    elif code == 2:
        return 1.0 if z > 0.0 else 0.0
    elif code == 3:
        bz = p0 * z
        return 1.0 if bz > p1 else 1.0 / (1.0 + math.exp(-bz))
    elif code == 4:
        sg = 1.0 / (1.0 + math.exp(-z))
        return sg * (1.0 + z * (1.0 - sg))
    elif code == 5:
        return 1.0 if z > 0.0 else x + p0
    elif code == 6:
        return x * (1.0 - x)
    return 1.0


@njit(cache=True, nogil=True, inline="always")
def mlp_eval(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs,
             t, Y, F, frow, Xs, Zs, st):
    """F[frow, b*n:(b+1)*n] = net(y_b [, t]) for b < Bs, keeping activations in Xs/Zs[st]."""
    L = act.shape[0]
    xl = xoff[L]
    for b in range(Bs):
        base = b * n
        for i in range(n):
            Xs[st, b, i] = Y[base + i]
        if time_in:
            Xs[st, b, n] = t
        for l in range(L):
            din = dims[l]
            dout = dims[l + 1]
            xi = xoff[l]
            xo = xoff[l + 1]
            zo = zoff[l]
            w = woff[l]
            bo = boff[l]
            code = act[l]
            p0 = actp[l, 0]
            p1 = actp[l, 1]
            for j in range(dout):
                acc = theta[bo + j] if bo >= 0 else 0.0
                wr = w + j * din
                for i in range(din):
                    acc += theta[wr + i] * Xs[st, b, xi + i]
                Zs[st, b, zo + j] = acc
                Xs[st, b, xo + j] = _act(code, acc, p0, p1)
        for i in range(n):
            F[frow, base + i] = Xs[st, b, xl + i]


@njit(cache=True, nogil=True, inline="always")
def mlp_vjp(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n,
            Xs, Zs, st, b, V, voff, scale, ybar, yoff, tbar, toff, gth, goff, G):
    """Reverse mode through one sample's evaluation (activations in Xs/Zs[st, b]).

    With v = V[voff:voff+n]: ybar[yoff:yoff+n] += scale v^T df/dy,
    tbar[toff] += scale v^T df/dt (time input only), gth[goff + k] += scale v^T df/dtheta_k.
    """
    L = act.shape[0]
    for j in range(n):
        G[L, j] = V[voff + j]
    for l in range(L - 1, -1, -1):
        din = dims[l]
        dout = dims[l + 1]
        xi = xoff[l]
        xo = xoff[l + 1]
        zo = zoff[l]
        w = woff[l]
        bo = boff[l]
        code = act[l]
        p0 = actp[l, 0]
        p1 = actp[l, 1]
        for i in range(din):
            G[l, i] = 0.0
        for j in range(dout):
            gz = G[l + 1, j] * _dact(code, Zs[st, b, zo + j], Xs[st, b, xo + j], p0, p1)
            if gz == 0.0:
                continue
            sg = scale * gz
            if bo >= 0:
                gth[goff + bo + j] += sg
            wr = w + j * din
            for i in range(din):
                gth[goff + wr + i] += sg * Xs[st, b, xi + i]
                G[l, i] += theta[wr + i] * gz
    for i in range(n):
        ybar[yoff + i] += scale * G[0, i]
    if time_in:
        tbar[toff] += scale * G[0, n]


@njit(cache=True, nogil=True, inline="always")
def _rhs(mode, theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs,
         t, z, K, row, Xs, Zs, G):
    """mode 0: K[row] = f(t, y). mode 1: the augmented adjoint dynamics of z = [y, a, t, theta]:
    [f, -a^T f_y, -a^T f_t, -a^T f_theta] (a backward solve of it is torchdiffeq's adjoint)."""
    mlp_eval(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, t, z, K, row,
             Xs, Zs, 0)
    if mode == 1:
        N = Bs * n
        Nz = z.shape[0]
        for k in range(N, Nz):
            K[row, k] = 0.0
        Krow = K[row]
        for b in range(Bs):
            mlp_vjp(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Xs, Zs, 0, b,
                    z, N + b * n, -1.0, Krow, N + b * n, Krow, 2 * N, Krow, 2 * N + 1, G)


@njit(cache=True, nogil=True, inline="always")
def _finite(v):
    for i in range(v.shape[0]):
        if not math.isfinite(v[i]):
            return False
    return True


@njit(cache=True, nogil=True)
def rk_drive(mode, z0, t_eval, Yout, rtol, atol, norm_dims,
             C, A, B, E, E3, use_e3, fsal_error, error_order, P, adaptive, first_step,
             step_size, max_step, max_steps, store, hist_t, hist_h, hist_y, out_step,
             theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, Xs, Zs, G):
    """Integrate from t_eval[0] through t_eval[-1] (either direction); Yout[i] = z(t_eval[i]).

    Adaptive methods interpolate the outputs with the dense output P; fixed-step methods step
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
    K = np.zeros((s + 1, Nz))
    y = z0.copy()
    y_new = np.empty(Nz)
    ytmp = np.empty(Nz)
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
                for m in range(Nz):
                    acc = 0.0
                    for j in range(i):
                        acc += A[i, j] * K[j, m]
                    ytmp[m] = y[m] + h * acc
                _rhs(mode, theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs,
                     t + C[i] * h, ytmp, K, i, Xs, Zs, G)
            nfev += s - 1
            for m in range(Nz):
                acc = 0.0
                for j in range(s):
                    acc += B[j] * K[j, m]
                y_new[m] = y[m] + h * acc
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
            acc5 = 0.0
            acc3 = 0.0
            for m in range(nd):
                sc = atol + rtol * max(abs(y[m]), abs(y_new[m]))
                e5 = 0.0
                for j in range(s + 1):
                    e5 += E[j] * K[j, m]
                acc5 += (e5 / sc) ** 2
                if use_e3:
                    e3 = 0.0
                    for j in range(s + 1):
                        e3 += E3[j] * K[j, m]
                    acc3 += (e3 / sc) ** 2
            if use_e3:
                if acc5 == 0.0 and acc3 == 0.0:
                    error_norm = 0.0
                else:
                    error_norm = abs(h) * acc5 / math.sqrt((acc5 + 0.01 * acc3) * nd)
            else:
                error_norm = abs(h) * math.sqrt(acc5 / nd)
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
        while next_out < T and direction * (t_eval[next_out] - t_new) <= 0.0:
            if on_t:
                for m in range(Nz):
                    Yout[next_out, m] = y_new[m]
            else:
                th = (t_eval[next_out] - t) / h
                for m in range(Nz):
                    acc = 0.0
                    for j in range(s + 1):
                        wj = P[j, nq - 1]
                        for r in range(nq - 2, -1, -1):
                            wj = wj * th + P[j, r]
                        acc += K[j, m] * wj * th
                    Yout[next_out, m] = y[m] + h * acc
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


@njit(cache=True, nogil=True)
def discrete_adjoint(t_eval, Gout, hist_t, hist_h, hist_y, n_hist, out_step, interp,
                     C, A, B, P, theta, dims, woff, boff, act, actp, xoff, zoff, time_in,
                     n, Bs, Xs, Zs, G, ybar0, gth, tgrad):
    """Exact reverse mode through the recorded forward steps (what autograd through the solver
    computes, with the step sizes held fixed): each step's stages are recomputed from the
    stored state, then back-propagated. Adds dL/dy0 into ybar0, dL/dtheta into gth and dL/dt
    into tgrad. ``interp``: outputs come from the dense output (else they are step ends).
    """
    N = Bs * n
    s = B.shape[0]
    T = t_eval.shape[0]
    nq = P.shape[1]
    K = np.zeros((s + 1, N))
    Kbar = np.zeros((s + 1, N))
    ytmp = np.empty(N)
    ycur = np.zeros(N)      # adjoint of y_k
    ynext = np.zeros(N)     # adjoint of y_{k+1}
    fbar = np.zeros(N)      # adjoint of f(t_{k+1}, y_{k+1}) from step k+1 (its K_0)
    tb = np.zeros(1)
    o = T - 1
    for k in range(n_hist - 1, -1, -1):
        t = hist_t[k]
        h = hist_h[k]
        # recompute the stages of step k (activations of stage i in Xs[i])
        for m in range(N):
            ytmp[m] = hist_y[k, m]
        mlp_eval(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, t, ytmp,
                 K, 0, Xs, Zs, 0)
        for i in range(1, s):
            for m in range(N):
                acc = 0.0
                for j in range(i):
                    acc += A[i, j] * K[j, m]
                ytmp[m] = hist_y[k, m] + h * acc
            mlp_eval(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs,
                     t + C[i] * h, ytmp, K, i, Xs, Zs, i)
        for m in range(N):
            acc = 0.0
            for j in range(s):
                acc += B[j] * K[j, m]
            ytmp[m] = hist_y[k, m] + h * acc
        mlp_eval(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, t + h, ytmp,
                 K, s, Xs, Zs, s)
        for j in range(s + 1):
            for m in range(N):
                Kbar[j, m] = 0.0
        # outputs inside step k
        while o >= 1 and out_step[o] == k:
            if interp:
                th = (t_eval[o] - t) / h
                dt_acc = 0.0
                for j in range(s + 1):
                    wj = P[j, nq - 1]
                    dw = nq * P[j, nq - 1]
                    for r in range(nq - 2, -1, -1):
                        wj = wj * th + P[j, r]
                        dw = dw * th + (r + 1) * P[j, r]
                    wj = wj * th
                    for m in range(N):
                        g = Gout[o, m]
                        Kbar[j, m] += h * wj * g
                        dt_acc += K[j, m] * dw * g
                tgrad[o] += dt_acc
                tgrad[0] -= dt_acc
                for m in range(N):
                    ycur[m] += Gout[o, m]
            else:
                for m in range(N):
                    ynext[m] += Gout[o, m]
            o -= 1
        # f(t_{k+1}, y_{k+1}): K_s of this step and K_0 of the next one
        for m in range(N):
            fbar[m] += Kbar[s, m]
        tb[0] = 0.0
        for b in range(Bs):
            mlp_vjp(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Xs, Zs, s, b,
                    fbar, b * n, 1.0, ynext, b * n, tb, 0, gth, 0, G)
        # y_{k+1} = y_k + h sum_j B_j K_j
        for m in range(N):
            g = ynext[m]
            ycur[m] += g
            for j in range(s):
                Kbar[j, m] += h * B[j] * g
        for i in range(s - 1, 0, -1):
            for m in range(N):
                ytmp[m] = 0.0
            for b in range(Bs):
                mlp_vjp(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Xs, Zs, i,
                        b, Kbar[i], b * n, 1.0, ytmp, b * n, tb, 0, gth, 0, G)
            for m in range(N):
                g = ytmp[m]
                ycur[m] += g
                for j in range(i):
                    Kbar[j, m] += h * A[i, j] * g
        tgrad[0] += tb[0]
        for m in range(N):
            fbar[m] = Kbar[0, m]
            ynext[m] = ycur[m]
            ycur[m] = 0.0
    # f(t_0, y_0)
    for m in range(N):
        ytmp[m] = hist_y[0, m] if n_hist > 0 else 0.0
    if n_hist > 0:
        mlp_eval(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, hist_t[0],
                 ytmp, K, 0, Xs, Zs, 0)
        tb[0] = 0.0
        for b in range(Bs):
            mlp_vjp(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Xs, Zs, 0, b,
                    fbar, b * n, 1.0, ynext, b * n, tb, 0, gth, 0, G)
        tgrad[0] += tb[0]
    for m in range(N):
        ybar0[m] += ynext[m] + Gout[0, m]


@njit(cache=True, nogil=True)
def output_time_grads(t_eval, Yout, Gout, theta, dims, woff, boff, act, actp, xoff, zoff,
                      time_in, n, Bs, Xs, Zs, tvjp):
    """tvjp[i] = g_i . f(t_i, y_i) (the backsolve adjoint's dL/dt_i for i >= 1)."""
    T = t_eval.shape[0]
    N = Bs * n
    F = np.empty((1, N))
    ytmp = np.empty(N)
    for i in range(1, T):
        for m in range(N):
            ytmp[m] = Yout[i, m]
        mlp_eval(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, t_eval[i],
                 ytmp, F, 0, Xs, Zs, 0)
        acc = 0.0
        for m in range(N):
            acc += F[0, m] * Gout[i, m]
        tvjp[i] = acc


@njit(cache=True, nogil=True)
def mlp_apply(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, t, Y):
    """f(t, Y) for a flat batch Y (probe and tests)."""
    Xs = np.empty((1, Bs, xoff[act.shape[0]] + dims[act.shape[0]]))
    Zs = np.empty((1, Bs, Xs.shape[2]))
    F = np.empty((1, Bs * n))
    mlp_eval(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, t, Y, F, 0,
             Xs, Zs, 0)
    return F[0]


@njit(cache=True, nogil=True)
def forward_all(Z0, t_eval, Ys, rtol, atol, C, A, B, E, E3, use_e3, fsal_error, error_order,
                P, adaptive, first_step, step_size, max_step, max_steps, store, hist_t, hist_h,
                hist_y, out_step, n_hist, theta, dims, woff, boff, act, actp, xoff, zoff,
                time_in, n, Bs, Xs, Zs, G, counters):
    """Forward solve of every slice (one slice = the whole batch, or one sample each)."""
    status = OK
    for b in range(Z0.shape[0]):
        st, nfev, nacc, nrej, nh = rk_drive(
            0, Z0[b], t_eval, Ys[b], rtol, atol, 0, C, A, B, E, E3, use_e3, fsal_error,
            error_order, P, adaptive, first_step, step_size, max_step, max_steps, store,
            hist_t[b], hist_h[b], hist_y[b], out_step[b], theta, dims, woff, boff, act, actp,
            xoff, zoff, time_in, n, Bs, Xs, Zs, G)
        counters[0] += nfev
        counters[1] += nacc
        counters[2] += nrej
        n_hist[b] = nh
        if st != OK:
            return st
    return status


@njit(cache=True, nogil=True)
def discrete_all(t_eval, Gout, hist_t, hist_h, hist_y, n_hist, out_step, interp, C, A, B, P,
                 theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, Xs, Zs, G,
                 ybar0, gth, tgrad):
    for b in range(Gout.shape[0]):
        discrete_adjoint(t_eval, Gout[b], hist_t[b], hist_h[b], hist_y[b], n_hist[b],
                         out_step[b], interp, C, A, B, P, theta, dims, woff, boff, act, actp,
                         xoff, zoff, time_in, n, Bs, Xs, Zs, G, ybar0[b], gth, tgrad)


@njit(cache=True, nogil=True)
def backsolve_all(t_eval, Ys, Gout, need_t, rtol, atol, seminorm, C, A, B, E, E3, use_e3,
                  fsal_error, error_order, P, adaptive, first_step, step_size, max_step,
                  max_steps, theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs,
                  Xs, Zs, G, ybar0, gth, tgrad, counters):
    """torchdiffeq's backsolve adjoint for every slice: [y, a, t, theta] solved backward
    between consecutive output times, y reset to the forward output and a += dL/dy_i there."""
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
                fsal_error, error_order, P, adaptive, first_step, step_size, max_step,
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
