"""One step of each SDE method, on one path (numba, inlined into the drivers).

Every step reads the state ``y`` and writes ``y_new``; the user's drift and diffusion are C
addresses called through ``fastode.kernels.callbacks``. Noise: ``diag`` is 1 when component i
has its own Wiener process (diagonal and additive noise: W_i) and 0 for scalar noise (one W
shared by every component): the noise index of component i is ``i * diag``. ``z`` holds the
step's standard normals from ``zpos`` on: ``z[zpos + j]`` for dW_j, and for the order-1.5
methods ``z[zpos + m + j]`` for dZ_j (m = the number of Wiener processes).

Each helper returns the number of drift and diffusion calls it made and, for the order-1.5
methods, the error norm; every array argument is used last in one block at the end (the
refcount rule of docs/architecture.md).
"""
import math

from numba import njit

from ..kernels.callbacks import call_rhs, call_rhs_row

SQRT3 = math.sqrt(3.0)
# weight of the drift error E1 against the noise error E2 (Rackauckas & Nie 2017: delta)
DELTA = 1.0 / 6.0


@njit(inline="always", cache=True)
def em_step(drift, diff, p, t, h, sqh, y, y_new, f, g, z, zpos, diag):
    """Euler-Maruyama: y + f h + g dW."""
    call_rhs(drift, t, y, p, f)
    call_rhs(diff, t, y, p, g)
    for i in range(y.shape[0]):
        y_new[i] = y[i] + h * f[i] + g[i] * (sqh * z[zpos + i * diag])
    return 0 * (y.shape[0] + y_new.shape[0] + f.shape[0] + g.shape[0] + z.shape[0]
                + p.shape[0])


@njit(inline="always", cache=True)
def milstein_step(drift, diff, dderiv, use_dderiv, p, t, h, sqh, ito, y, y_new, f, g, g2,
                  ytmp, z, zpos, diag):
    """Milstein: y + f h + g dW + 1/2 D (dW^2 - ito h), D_i = sum_j g_j dg_i/dy_j.

    For diagonal noise (g_i depends on y_i only) and for scalar noise, D is one directional
    derivative of g along g: a finite difference costing one diffusion call, never a Jacobian;
    or, with a user ``diffusion_derivative`` (dg_i/dy_i), D_i = g_i dg_i/dy_i."""
    n = y.shape[0]
    call_rhs(drift, t, y, p, f)
    call_rhs(diff, t, y, p, g)
    if use_dderiv:
        call_rhs(dderiv, t, y, p, g2)
        for i in range(n):
            g2[i] = g2[i] * g[i]
    else:
        gmax = 0.0
        ymax = 0.0
        for i in range(n):
            gmax = max(gmax, abs(g[i]))
            ymax = max(ymax, abs(y[i]))
        eps = 1.4901161193847656e-08 * (1.0 + ymax) / gmax if gmax > 0.0 else 1.0
        for i in range(n):
            ytmp[i] = y[i] + eps * g[i]
        call_rhs(diff, t, ytmp, p, g2)
        for i in range(n):
            g2[i] = (g2[i] - g[i]) / eps
    for i in range(n):
        dw = sqh * z[zpos + i * diag]
        y_new[i] = y[i] + h * f[i] + g[i] * dw + 0.5 * g2[i] * (dw * dw - ito * h)
    return 0 * (y.shape[0] + y_new.shape[0] + f.shape[0] + g.shape[0] + g2.shape[0]
                + ytmp.shape[0] + z.shape[0] + p.shape[0])


@njit(inline="always", cache=True)
def heun_step(drift, diff, p, t, h, sqh, y, y_new, f, g, f2, g2, ytmp, z, zpos, diag):
    """Euler-Heun (Stratonovich): predictor y + f h + g dW, then the trapezoidal average."""
    n = y.shape[0]
    call_rhs(drift, t, y, p, f)
    call_rhs(diff, t, y, p, g)
    for i in range(n):
        ytmp[i] = y[i] + h * f[i] + g[i] * (sqh * z[zpos + i * diag])
    call_rhs(drift, t + h, ytmp, p, f2)
    call_rhs(diff, t + h, ytmp, p, g2)
    for i in range(n):
        y_new[i] = (y[i] + 0.5 * h * (f[i] + f2[i])
                    + 0.5 * (g[i] + g2[i]) * (sqh * z[zpos + i * diag]))
    return 0 * (y.shape[0] + y_new.shape[0] + f.shape[0] + g.shape[0] + f2.shape[0]
                + g2.shape[0] + ytmp.shape[0] + z.shape[0] + p.shape[0])


@njit(inline="always", cache=True)
def sri_step(drift, diff, p, t, h, y, y_new, K, G, H, dw, dz, m, diag, rtol, atol,
             A0, A1, B0, B1, c0, c1, alpha, beta1, beta2, beta3, beta4, fneed, gneed, n_err):
    """Rößler SRI (SRIW1, SOSRI) with increments ``dw``, ``dz`` (length m; dZ independent of
    dW, both N(0, h)). Returns the error norm (Rackauckas & Nie 2017: (delta E1 + E2) scaled
    by atol + rtol max(|y|, |y_new|), RMS over components). Rows of K and G that a tableau
    never evaluates stay zero."""
    n = y.shape[0]
    sqh = math.sqrt(h)
    s_count = alpha.shape[0]
    for s in range(s_count):
        if fneed[s]:
            for i in range(n):
                j = i * diag
                chi2 = 0.5 * (dw[j] + dz[j] / SQRT3)
                acc = y[i]
                for r in range(s):
                    acc += h * A0[s, r] * K[r, i] + chi2 * B0[s, r] * G[r, i]
                H[i] = acc
            call_rhs_row(drift, t + c0[s] * h, H, p, K, s)
        if gneed[s]:
            for i in range(n):
                acc = y[i]
                for r in range(s):
                    acc += h * A1[s, r] * K[r, i] + sqh * B1[s, r] * G[r, i]
                H[i] = acc
            call_rhs_row(diff, t + c1[s] * h, H, p, G, s)
    err = 0.0
    for i in range(n):
        j = i * diag
        w = dw[j]
        chi1 = (w * w - h) / (2.0 * sqh)
        chi2 = 0.5 * (w + dz[j] / SQRT3)
        chi3 = (w * w * w - 3.0 * w * h) / (6.0 * h)
        a = 0.0
        b = 0.0
        e2 = 0.0
        e1 = 0.0
        for s in range(s_count):
            a += alpha[s] * K[s, i]
            b += (beta1[s] * w + beta2[s] * chi1) * G[s, i]
            e2 += (beta3[s] * chi2 + beta4[s] * chi3) * G[s, i]
            if s < n_err:
                e1 += K[s, i]
        y_new[i] = y[i] + h * a + b + e2
        sc = atol + rtol * max(abs(y[i]), abs(y_new[i]))
        r = (DELTA * h * e1 + e2) / sc
        err += r * r
    return math.sqrt(err / n) + 0 * (y.shape[0] + y_new.shape[0] + K.shape[0] + G.shape[0]
                                     + H.shape[0] + dw.shape[0] + dz.shape[0] + p.shape[0])


@njit(inline="always", cache=True)
def sra_step(drift, diff, p, t, h, y, y_new, K, G, H, dw, dz, m, diag, rtol, atol,
             A0, B0, c0, c1, alpha, beta1, beta2, n_stages):
    """Rößler SRA (SRA1, SOSRA) for additive noise; returns the error norm as ``sri_step``."""
    n = y.shape[0]
    for s in range(n_stages):
        for i in range(n):
            j = i * diag
            chi2 = 0.5 * (dw[j] + dz[j] / SQRT3)
            acc = y[i]
            for r in range(s):
                acc += h * A0[s, r] * K[r, i] + chi2 * B0[s, r] * G[r, i]
            H[i] = acc
        call_rhs_row(drift, t + c0[s] * h, H, p, K, s)
        call_rhs_row(diff, t + c1[s] * h, H, p, G, s)
    err = 0.0
    for i in range(n):
        j = i * diag
        w = dw[j]
        chi2 = 0.5 * (w + dz[j] / SQRT3)
        a = 0.0
        b = 0.0
        e2 = 0.0
        e1 = 0.0
        for s in range(n_stages):
            a += alpha[s] * K[s, i]
            b += beta1[s] * G[s, i]
            e2 += beta2[s] * G[s, i]
            e1 += K[s, i]
        e2 *= chi2
        y_new[i] = y[i] + h * a + w * b + e2
        sc = atol + rtol * max(abs(y[i]), abs(y_new[i]))
        r = (DELTA * h * e1 + e2) / sc
        err += r * r
    return math.sqrt(err / n) + 0 * (y.shape[0] + y_new.shape[0] + K.shape[0] + G.shape[0]
                                     + H.shape[0] + dw.shape[0] + dz.shape[0] + p.shape[0])


@njit(inline="always", cache=True)
def em_general_step(drift, diff, p, t, h, sqh, y, y_new, f, G, ypad, z, zpos, m):
    """Euler-Maruyama with general noise: y + f h + G dW, G (n x m, row-major in ``G``). The
    diffusion reads its state from ``ypad`` (length n m: its compiled wrapper declares the
    length of its output for its input too, and uses the first n entries)."""
    n = y.shape[0]
    call_rhs(drift, t, y, p, f)
    for i in range(n):
        ypad[i] = y[i]
    call_rhs(diff, t, ypad, p, G)
    for i in range(n):
        acc = 0.0
        for j in range(m):
            acc += G[i * m + j] * z[zpos + j]
        y_new[i] = y[i] + h * f[i] + sqh * acc
    return 0 * (y.shape[0] + y_new.shape[0] + f.shape[0] + G.shape[0] + ypad.shape[0]
                + z.shape[0] + p.shape[0])


@njit(inline="always", cache=True)
def heun_general_step(drift, diff, p, t, h, sqh, y, y_new, f, G, f2, G2, ytmp, ypad, z, zpos,
                      m):
    """Euler-Heun (Stratonovich) with general noise (``G``, ``G2``: n x m row-major)."""
    n = y.shape[0]
    call_rhs(drift, t, y, p, f)
    for i in range(n):
        ypad[i] = y[i]
    call_rhs(diff, t, ypad, p, G)
    for i in range(n):
        acc = 0.0
        for j in range(m):
            acc += G[i * m + j] * z[zpos + j]
        ytmp[i] = y[i] + h * f[i] + sqh * acc
        ypad[i] = ytmp[i]
    call_rhs(drift, t + h, ytmp, p, f2)
    call_rhs(diff, t + h, ypad, p, G2)
    for i in range(n):
        acc = 0.0
        for j in range(m):
            acc += (G[i * m + j] + G2[i * m + j]) * z[zpos + j]
        y_new[i] = y[i] + 0.5 * h * (f[i] + f2[i]) + 0.5 * sqh * acc
    return 0 * (y.shape[0] + y_new.shape[0] + f.shape[0] + G.shape[0] + f2.shape[0]
                + G2.shape[0] + ytmp.shape[0] + ypad.shape[0] + z.shape[0] + p.shape[0])
