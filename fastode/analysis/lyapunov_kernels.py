"""Benettin's method in one compiled kernel: RK4 on the state and its variational equations
dQ/dt = J(y) Q, with Q re-orthonormalised by modified Gram-Schmidt (a thin QR) every
``steps_per_renorm`` steps; the logarithms of R's diagonal accumulate the exponents.

The Jacobian is the user's ``jac`` (C address, row-major) or forward differences
(the increments of fastode.kernels.jacobian.fd_jacobian_dense, atol 1) at every RK stage.
Kernels never raise: a non-finite state or a collapsed direction stops the run with
NON_FINITE.
"""
import math

import numpy as np
from numba import njit

from ..kernels.callbacks import call_rhs, call_rhs_row
from ..kernels.jacobian import EPS, FD_REL_MAX
from ..kernels.status import NON_FINITE, SUCCESS


@njit(cache=True, nogil=True, error_model="numpy")
def mgs_qr_logs(Q, logs):
    """Orthonormalise the columns of Q in place (modified Gram-Schmidt, twice for columns that
    lost most of their norm); logs[j] = log R[j, j]. Returns False on a zero or NaN column."""
    n, k = Q.shape
    ok = True
    for j in range(k):
        norm0 = 0.0
        for i in range(n):
            norm0 += Q[i, j] * Q[i, j]
        norm0 = math.sqrt(norm0)
        for rep in range(2):
            for m in range(j):
                d = 0.0
                for i in range(n):
                    d += Q[i, m] * Q[i, j]
                for i in range(n):
                    Q[i, j] -= d * Q[i, m]
            r = 0.0
            for i in range(n):
                r += Q[i, j] * Q[i, j]
            r = math.sqrt(r)
            if rep == 0 and r > 0.5 * norm0:
                break  # little cancellation: one pass is orthogonal to working precision
        if not (r > 0.0 and math.isfinite(r)):
            ok = False
            r = 1.0
        logs[j] = math.log(r)
        for i in range(n):
            Q[i, j] /= r
    return ok


@njit(cache=True, nogil=True, error_model="numpy")
def benettin_rk4(rhs, jac, use_jac, p, t0, y, k, dt, n_transient, n_renorm, steps_per_renorm,
                 history):
    """Transient (``n_transient`` RK4 steps of the state alone), then ``n_renorm`` blocks of
    ``steps_per_renorm`` RK4 steps of the state and k tangent vectors, each block ending in a
    QR. ``history[b]`` = the running exponents after block b. ``y`` is overwritten with the
    final state. Returns (status, blocks done, sums of log R[j, j])."""
    n = y.shape[0]
    ytmp = np.empty(n)
    fbuf = np.empty(n)
    J = np.empty((n, n))
    Q = np.zeros((n, k))
    for j in range(k):
        Q[j, j] = 1.0
    k1 = np.empty(n)
    k2 = np.empty(n)
    k3 = np.empty(n)
    k4 = np.empty(n)
    ys = np.empty(n)
    ks = np.empty((4, n))       # f at the four RK4 stages
    Ks = np.empty((4, n, k))    # J Q at the four stages
    Qs = np.empty((n, k))
    cs = np.array([0.0, 0.5 * dt, 0.5 * dt, dt])
    sums = np.zeros(k)
    logs = np.empty(k)
    status = SUCCESS
    t = t0
    h2 = 0.5 * dt
    h6 = dt / 6.0
    for step in range(n_transient):
        call_rhs(rhs, t, y, p, k1)
        for i in range(n):
            ys[i] = y[i] + h2 * k1[i]
        call_rhs(rhs, t + h2, ys, p, k2)
        for i in range(n):
            ys[i] = y[i] + h2 * k2[i]
        call_rhs(rhs, t + h2, ys, p, k3)
        for i in range(n):
            ys[i] = y[i] + dt * k3[i]
        call_rhs(rhs, t + dt, ys, p, k4)
        total = 0.0
        for i in range(n):
            y[i] += h6 * (k1[i] + 2.0 * (k2[i] + k3[i]) + k4[i])
            total += y[i]
        t = t0 + (step + 1) * dt
        if not math.isfinite(total):
            status = NON_FINITE
            break
    t_start = t
    done = 0
    if status == SUCCESS:
        step = 0
        for b in range(n_renorm):
            for s in range(steps_per_renorm):
                # the four stages in one loop written out here, not a helper taking arrays:
                # a helper's array arguments cost numba reference-count pairs (atomic) per call
                # (docs/architecture.md), measured 2x on Lorenz
                for st in range(4):
                    c = cs[st]
                    if st == 0:
                        for i in range(n):
                            ys[i] = y[i]
                            for j in range(k):
                                Qs[i, j] = Q[i, j]
                    else:
                        for i in range(n):
                            ys[i] = y[i] + c * ks[st - 1, i]
                            for j in range(k):
                                Qs[i, j] = Q[i, j] + c * Ks[st - 1, i, j]
                    call_rhs_row(rhs, t + c, ys, p, ks, st)
                    if use_jac:
                        call_rhs(jac, t + c, ys, p, J)
                    else:
                        # forward differences, the increments of fd_jacobian_dense (atol 1)
                        for i in range(n):
                            ytmp[i] = ys[i]
                        for m in range(n):
                            ym = ys[m]
                            ay = abs(ym)
                            delta = max(math.sqrt(EPS * max(1e-5, ay)), 2.0 * EPS * ay)
                            delta = min(delta, FD_REL_MAX * max(1.0, ay))
                            delta = (ym + delta) - ym
                            ytmp[m] = ym + delta
                            call_rhs(rhs, t + c, ytmp, p, fbuf)
                            ytmp[m] = ym
                            inv = 1.0 / delta
                            for i in range(n):
                                J[i, m] = (fbuf[i] - ks[st, i]) * inv
                    for i in range(n):
                        for j in range(k):
                            acc = 0.0
                            for m in range(n):
                                acc += J[i, m] * Qs[m, j]
                            Ks[st, i, j] = acc
                for i in range(n):
                    y[i] += h6 * (ks[0, i] + 2.0 * (ks[1, i] + ks[2, i]) + ks[3, i])
                    for j in range(k):
                        Q[i, j] += h6 * (Ks[0, i, j] + 2.0 * (Ks[1, i, j] + Ks[2, i, j])
                                         + Ks[3, i, j])
                step += 1
                t = t_start + step * dt
            total = 0.0
            for i in range(n):
                total += y[i]
            if not math.isfinite(total) or not mgs_qr_logs(Q, logs):
                status = NON_FINITE
                break
            done += 1
            for j in range(k):
                sums[j] += logs[j]
                history[b, j] = sums[j] / (t - t_start)
    return status, done, sums
