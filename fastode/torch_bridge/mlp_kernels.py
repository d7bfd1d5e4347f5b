"""The MLP vector field and its hand-written vector-Jacobian product on a feature-major batch
(the layout is described in fastode.torch_bridge.kernels): row operations, batch and
single-sample evaluation, and the right-hand side the bridge's drivers call.
"""
import math

from numba import njit

from .vector_math import _INL, _JIT, _RED, vexp, vtanh

# ----------------------------------------------------------------------------------------
# row operations (the Bs columns of one row)

@njit(**_INL)
def _act_row(code, p0, p1, Zs, zr, Xs, xr, Bs):
    """Xs[xr, c] = act(Zs[zr, c]); one loop per activation so each vectorises."""
    if code == 1:
        for c in range(Bs):
            Xs[xr, c] = vtanh(Zs[zr, c])
    elif code == 0:
        for c in range(Bs):
            Xs[xr, c] = Zs[zr, c]
    elif code == 2:
        for c in range(Bs):
            z = Zs[zr, c]
            Xs[xr, c] = z if z > 0.0 else 0.0
    elif code == 3:
        for c in range(Bs):
            z = Zs[zr, c]
            bz = p0 * z
            Xs[xr, c] = z if bz > p1 else math.log1p(vexp(bz)) / p0
    elif code == 4:
        for c in range(Bs):
            z = Zs[zr, c]
            Xs[xr, c] = z / (1.0 + vexp(-z))
    elif code == 5:
        for c in range(Bs):
            z = Zs[zr, c]
            th = vtanh(0.5 * z)        # expm1(z) = 2 tanh(z/2) / (1 - tanh(z/2))
            Xs[xr, c] = z if z > 0.0 else p0 * (2.0 * th / (1.0 - th))
    elif code == 6:
        for c in range(Bs):
            Xs[xr, c] = 1.0 / (1.0 + vexp(-Zs[zr, c]))


@njit(**_INL)
def _dact_row(code, p0, p1, Zs, zr, Xs, xr, G, gr, Bs):
    """G[gr, c] *= act'(z) (z = Zs[zr, c], x = act(z) = Xs[xr, c])."""
    if code == 1:
        for c in range(Bs):
            x = Xs[xr, c]
            G[gr, c] *= 1.0 - x * x
    elif code == 0:
        return
    elif code == 2:
        for c in range(Bs):
            G[gr, c] = G[gr, c] if Zs[zr, c] > 0.0 else 0.0
    elif code == 3:
        for c in range(Bs):
            bz = p0 * Zs[zr, c]
            G[gr, c] *= 1.0 if bz > p1 else 1.0 / (1.0 + vexp(-bz))
    elif code == 4:
        for c in range(Bs):
            z = Zs[zr, c]
            sg = 1.0 / (1.0 + vexp(-z))
            G[gr, c] *= sg * (1.0 + z * (1.0 - sg))
    elif code == 5:
        for c in range(Bs):
            G[gr, c] *= 1.0 if Zs[zr, c] > 0.0 else Xs[xr, c] + p0
    elif code == 6:
        for c in range(Bs):
            x = Xs[xr, c]
            G[gr, c] *= x * (1.0 - x)


@njit(**_INL)
def _lin4(Zs, zr, Xs, r, w0, w1, w2, w3, init, bias, Bs):
    """Zs[zr] = base + w0 Xs[r] + w1 Xs[r+1] + w2 Xs[r+2] + w3 Xs[r+3] (in this order),
    base = bias (init) or Zs[zr]: four inputs of a Linear layer in one pass over the row."""
    if init:
        for c in range(Bs):
            Zs[zr, c] = (((bias + w0 * Xs[r, c]) + w1 * Xs[r + 1, c]) + w2 * Xs[r + 2, c]) \
                + w3 * Xs[r + 3, c]
    else:
        for c in range(Bs):
            Zs[zr, c] = (((Zs[zr, c] + w0 * Xs[r, c]) + w1 * Xs[r + 1, c])
                         + w2 * Xs[r + 2, c]) + w3 * Xs[r + 3, c]


@njit(**_INL)
def _lin2(Zs, zr, Xs, r, w0, w1, init, bias, Bs):
    if init:
        for c in range(Bs):
            Zs[zr, c] = (bias + w0 * Xs[r, c]) + w1 * Xs[r + 1, c]
    else:
        for c in range(Bs):
            Zs[zr, c] = (Zs[zr, c] + w0 * Xs[r, c]) + w1 * Xs[r + 1, c]


@njit(**_INL)
def _lin1(Zs, zr, Xs, r, w0, init, bias, Bs):
    if init:
        for c in range(Bs):
            Zs[zr, c] = bias + w0 * Xs[r, c]
    else:
        for c in range(Bs):
            Zs[zr, c] = Zs[zr, c] + w0 * Xs[r, c]


@njit(**_RED)
def _vjp4(G, g, Xs, xr, ir_, w0, w1, w2, w3, init, Bs):
    """For the output rows g..g+3 of a layer and its input row i: returns the four dot
    products G[g+k] . Xs[xr] (weight gradients) and sets G[ir_] = base + sum_k w_k G[g+k]
    (input cotangent; base = 0 (init) or G[ir_]), in one pass over the row."""
    d0 = 0.0
    d1 = 0.0
    d2 = 0.0
    d3 = 0.0
    if init:
        for c in range(Bs):
            x = Xs[xr, c]
            a0 = G[g, c]
            a1 = G[g + 1, c]
            a2 = G[g + 2, c]
            a3 = G[g + 3, c]
            d0 += a0 * x
            d1 += a1 * x
            d2 += a2 * x
            d3 += a3 * x
            G[ir_, c] = ((w0 * a0 + w1 * a1) + w2 * a2) + w3 * a3
    else:
        for c in range(Bs):
            x = Xs[xr, c]
            a0 = G[g, c]
            a1 = G[g + 1, c]
            a2 = G[g + 2, c]
            a3 = G[g + 3, c]
            d0 += a0 * x
            d1 += a1 * x
            d2 += a2 * x
            d3 += a3 * x
            G[ir_, c] = (((G[ir_, c] + w0 * a0) + w1 * a1) + w2 * a2) + w3 * a3
    return d0, d1, d2, d3


@njit(**_RED)
def _vjp2(G, g, Xs, xr, ir_, w0, w1, init, Bs):
    d0 = 0.0
    d1 = 0.0
    if init:
        for c in range(Bs):
            x = Xs[xr, c]
            a0 = G[g, c]
            a1 = G[g + 1, c]
            d0 += a0 * x
            d1 += a1 * x
            G[ir_, c] = w0 * a0 + w1 * a1
    else:
        for c in range(Bs):
            x = Xs[xr, c]
            a0 = G[g, c]
            a1 = G[g + 1, c]
            d0 += a0 * x
            d1 += a1 * x
            G[ir_, c] = (G[ir_, c] + w0 * a0) + w1 * a1
    return d0, d1


@njit(**_RED)
def _vjp1(G, g, Xs, xr, ir_, w0, init, Bs):
    d0 = 0.0
    if init:
        for c in range(Bs):
            a0 = G[g, c]
            d0 += a0 * Xs[xr, c]
            G[ir_, c] = w0 * a0
    else:
        for c in range(Bs):
            a0 = G[g, c]
            d0 += a0 * Xs[xr, c]
            G[ir_, c] = G[ir_, c] + w0 * a0
    return d0


@njit(**_RED)
def _row_sum(A, ra, Bs):
    acc = 0.0
    for c in range(Bs):
        acc += A[ra, c]
    return acc


# ----------------------------------------------------------------------------------------
# the MLP and its VJP on a feature-major batch

@njit(**_JIT)
def _eval_batch(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs,
                t, Y, F, frow, Xs, Zs, xb, zb):
    """mlp_eval for Bs > 1: layer by layer, one pass over the batch row per output
    feature and group of up to 4 inputs."""
    L = act.shape[0]
    xl = xb + xoff[L]
    for i in range(n):
        yo = i * Bs
        for c in range(Bs):
            Xs[xb + i, c] = Y[yo + c]
    if time_in:
        for c in range(Bs):
            Xs[xb + n, c] = t
    for l in range(L):
        din = dims[l]
        dout = dims[l + 1]
        xi = xb + xoff[l]
        xo = xb + xoff[l + 1]
        zo = zb + zoff[l]
        w = woff[l]
        bo = boff[l]
        code = act[l]
        p0 = actp[l, 0]
        p1 = actp[l, 1]
        for j in range(dout):
            zr = zo + j
            bias = theta[bo + j] if bo >= 0 else 0.0
            wr = w + j * din
            # z_j = b_j + sum_i W[j, i] x_i, in the order i = 0, 1, ..., up to 4 inputs a pass
            i = 0
            while i < din:
                k = din - i
                if k >= 4:
                    _lin4(Zs, zr, Xs, xi + i, theta[wr + i], theta[wr + i + 1],
                          theta[wr + i + 2], theta[wr + i + 3], i == 0, bias, Bs)
                    i += 4
                elif k >= 2:
                    _lin2(Zs, zr, Xs, xi + i, theta[wr + i], theta[wr + i + 1], i == 0, bias,
                          Bs)
                    i += 2
                else:
                    _lin1(Zs, zr, Xs, xi + i, theta[wr + i], i == 0, bias, Bs)
                    i += 1
            _act_row(code, p0, p1, Zs, zr, Xs, xo + j, Bs)
    for i in range(n):
        fo = i * Bs
        for c in range(Bs):
            F[frow, fo + c] = Xs[xl + i, c]


@njit(**_JIT)
def _vjp_batch(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs,
               Xs, Zs, xb, zb, V, voff, scale, ybar, yoff, tbar, toff, gth, goff, G):
    """mlp_vjp for Bs > 1: one pass over the batch row per input feature and group of up
    to 4 output features (weight gradients as row dot products, input cotangents as W^T
    row updates)."""
    L = act.shape[0]
    xl = xoff[L]
    for j in range(n):
        vo = voff + j * Bs
        for c in range(Bs):
            G[xl + j, c] = V[vo + c]
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
        for j in range(dout):
            _dact_row(code, p0, p1, Zs, zb + zo + j, Xs, xb + xo + j, G, xo + j, Bs)
        if bo >= 0:
            for j in range(dout):
                gth[goff + bo + j] += scale * _row_sum(G, xo + j, Bs)
        # for each input row i: dW[j, i] = g_j . x_i and g_i = sum_j W[j, i] g_j (in the
        # order j = 0, 1, ...), up to 4 output rows j a pass
        for i in range(din):
            xr = xb + xi + i
            gw = goff + w + i
            j = 0
            while j < dout:
                k = dout - j
                wj = w + j * din + i
                if k >= 4:
                    d0, d1, d2, d3 = _vjp4(G, xo + j, Xs, xr, xi + i, theta[wj],
                                           theta[wj + din], theta[wj + 2 * din],
                                           theta[wj + 3 * din], j == 0, Bs)
                    gth[gw + j * din] += scale * d0
                    gth[gw + (j + 1) * din] += scale * d1
                    gth[gw + (j + 2) * din] += scale * d2
                    gth[gw + (j + 3) * din] += scale * d3
                    j += 4
                elif k >= 2:
                    d0, d1 = _vjp2(G, xo + j, Xs, xr, xi + i, theta[wj], theta[wj + din],
                                   j == 0, Bs)
                    gth[gw + j * din] += scale * d0
                    gth[gw + (j + 1) * din] += scale * d1
                    j += 2
                else:
                    gth[gw + j * din] += scale * _vjp1(G, xo + j, Xs, xr, xi + i, theta[wj],
                                                       j == 0, Bs)
                    j += 1
    for i in range(n):
        yo = yoff + i * Bs
        for c in range(Bs):
            ybar[yo + c] += scale * G[i, c]
    if time_in:
        tbar[toff] += scale * _row_sum(G, n, Bs)


# one sample (Bs = 1: the batch of one, or per_sample solves): the same arithmetic in plain
# scalar loops (a row pass of length 1 costs more in loop set-up than in work)

@njit(**_INL)
def _act(code, z, p0, p1):
    if code == 1:
        return vtanh(z)
    elif code == 2:
        return z if z > 0.0 else 0.0
    elif code == 3:
        bz = p0 * z
        return z if bz > p1 else math.log1p(vexp(bz)) / p0
    elif code == 4:
        return z / (1.0 + vexp(-z))
    elif code == 5:
        th = vtanh(0.5 * z)
        return z if z > 0.0 else p0 * (2.0 * th / (1.0 - th))
    elif code == 6:
        return 1.0 / (1.0 + vexp(-z))
    return z


@njit(**_INL)
def _dact(code, z, x, p0, p1):
    if code == 1:
        return 1.0 - x * x
    elif code == 2:
        return 1.0 if z > 0.0 else 0.0
    elif code == 3:
        bz = p0 * z
        return 1.0 if bz > p1 else 1.0 / (1.0 + vexp(-bz))
    elif code == 4:
        sg = 1.0 / (1.0 + vexp(-z))
        return sg * (1.0 + z * (1.0 - sg))
    elif code == 5:
        return 1.0 if z > 0.0 else x + p0
    elif code == 6:
        return x * (1.0 - x)
    return 1.0


@njit(**_JIT)
def _eval_one(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n,
              t, Y, F, frow, Xs, Zs, xb, zb):
    L = act.shape[0]
    for i in range(n):
        Xs[xb + i, 0] = Y[i]
    if time_in:
        Xs[xb + n, 0] = t
    for l in range(L):
        din = dims[l]
        xi = xb + xoff[l]
        xo = xb + xoff[l + 1]
        zo = zb + zoff[l]
        w = woff[l]
        bo = boff[l]
        code = act[l]
        p0 = actp[l, 0]
        p1 = actp[l, 1]
        for j in range(dims[l + 1]):
            acc = theta[bo + j] if bo >= 0 else 0.0
            wr = w + j * din
            for i in range(din):
                acc += theta[wr + i] * Xs[xi + i, 0]
            Zs[zo + j, 0] = acc
            Xs[xo + j, 0] = _act(code, acc, p0, p1)
    xl = xb + xoff[L]
    for i in range(n):
        F[frow, i] = Xs[xl + i, 0]


@njit(**_JIT)
def _vjp_one(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n,
             Xs, Zs, xb, zb, V, voff, scale, ybar, yoff, tbar, toff, gth, goff, G):
    L = act.shape[0]
    xl = xoff[L]
    for j in range(n):
        G[xl + j, 0] = V[voff + j]
    for l in range(L - 1, -1, -1):
        din = dims[l]
        xi = xoff[l]
        xo = xoff[l + 1]
        zo = zb + zoff[l]
        w = woff[l]
        bo = boff[l]
        code = act[l]
        p0 = actp[l, 0]
        p1 = actp[l, 1]
        for i in range(din):
            G[xi + i, 0] = 0.0
        for j in range(dims[l + 1]):
            gz = G[xo + j, 0] * _dact(code, Zs[zo + j, 0], Xs[xb + xo + j, 0], p0, p1)
            sg = scale * gz
            if bo >= 0:
                gth[goff + bo + j] += sg
            wr = w + j * din
            for i in range(din):
                gth[goff + wr + i] += sg * Xs[xb + xi + i, 0]
                G[xi + i, 0] += theta[wr + i] * gz
    for i in range(n):
        ybar[yoff + i] += scale * G[i, 0]
    if time_in:
        tbar[toff] += scale * G[n, 0]


@njit(**_JIT)
def mlp_eval(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs,
             t, Y, F, frow, Xs, Zs, xb, zb):
    """F[frow, i*Bs + b] = net(y_b [, t])_i with y_b[i] = Y[i*Bs + b], keeping the
    activations in Xs[xb + ...] / Zs[zb + ...]."""
    if Bs == 1:
        _eval_one(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, t, Y, F, frow,
                  Xs, Zs, xb, zb)
    else:
        _eval_batch(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, t, Y, F,
                    frow, Xs, Zs, xb, zb)


@njit(**_JIT)
def mlp_vjp(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs,
            Xs, Zs, xb, zb, V, voff, scale, ybar, yoff, tbar, toff, gth, goff, G):
    """Reverse mode through one batch evaluation (activations in Xs/Zs at xb/zb).

    With v_b[i] = V[voff + i*Bs + b]: ybar[yoff + i*Bs + b] += scale (v_b^T df/dy_b)_i,
    tbar[toff] += scale sum_b v_b^T df/dt (time input only),
    gth[goff + k] += scale sum_b v_b^T df_b/dtheta_k.
    """
    if Bs == 1:
        _vjp_one(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Xs, Zs, xb, zb,
                 V, voff, scale, ybar, yoff, tbar, toff, gth, goff, G)
    else:
        _vjp_batch(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, Xs, Zs,
                   xb, zb, V, voff, scale, ybar, yoff, tbar, toff, gth, goff, G)


@njit(**_JIT)
def _rhs(mode, theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs,
         t, z, K, row, Xs, Zs, G):
    """mode 0: K[row] = f(t, y). mode 1: the augmented adjoint dynamics of z = [y, a, t, theta]:
    [f, -a^T f_y, -a^T f_t, -a^T f_theta] (a backward solve of it is torchdiffeq's adjoint)."""
    mlp_eval(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, t, z, K, row,
             Xs, Zs, 0, 0)
    if mode == 1:
        N = Bs * n
        Nz = z.shape[0]
        for k in range(N, Nz):
            K[row, k] = 0.0
        Krow = K[row]
        mlp_vjp(theta, dims, woff, boff, act, actp, xoff, zoff, time_in, n, Bs, Xs, Zs, 0, 0,
                z, N, -1.0, Krow, N, Krow, 2 * N, Krow, 2 * N + 1, G)
