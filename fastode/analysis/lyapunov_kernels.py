"""Benettin's method in one compiled kernel: RK4 on the state and its variational equations
dQ/dt = J(y) Q, with Q re-orthonormalised by modified Gram-Schmidt (a thin QR) every
``steps_per_renorm`` steps; the logarithms of R's diagonal accumulate the exponents.

The Jacobian is the user's ``jac`` (C address, row-major) or forward differences
(fastode.kernels.jacobian.fd_jacobian_dense) at every RK stage. Kernels never raise: a
non-finite state or a collapsed direction stops the run with NON_FINITE.
"""
import math

import numpy as np
from numba import njit

from ..kernels.callbacks import call_rhs
from ..kernels.jacobian import fd_jacobian_dense
from ..kernels.status import NON_FINITE, SUCCESS


@njit(cache=True, nogil=True, error_model="numpy")
def _stage(rhs, jac, use_jac, p, t, y, Q, fy, FQ, J, ones, ytmp, fbuf):
    """fy = f(t, y), FQ = J(t, y) Q."""
    n = y.shape[0]
    k = Q.shape[1]
    call_rhs(rhs, t, y, p, fy)
    if use_jac:
        call_rhs(jac, t, y, p, J)
    else:
        fd_jacobian_dense(rhs, p, t, y, fy, ones, J, ytmp, fbuf)
    for i in range(n):
        for j in range(k):
            acc = 0.0
            for m in range(n):
                acc += J[i, m] * Q[m, j]
            FQ[i, j] = acc


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
    ones = np.ones(n)
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
    K1 = np.empty((n, k))
    K2 = np.empty((n, k))
    K3 = np.empty((n, k))
    K4 = np.empty((n, k))
    Qs = np.empty((n, k))
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
                _stage(rhs, jac, use_jac, p, t, y, Q, k1, K1, J, ones, ytmp, fbuf)
                for i in range(n):
                    ys[i] = y[i] + h2 * k1[i]
                    for j in range(k):
                        Qs[i, j] = Q[i, j] + h2 * K1[i, j]
                _stage(rhs, jac, use_jac, p, t + h2, ys, Qs, k2, K2, J, ones, ytmp, fbuf)
                for i in range(n):
                    ys[i] = y[i] + h2 * k2[i]
                    for j in range(k):
                        Qs[i, j] = Q[i, j] + h2 * K2[i, j]
                _stage(rhs, jac, use_jac, p, t + h2, ys, Qs, k3, K3, J, ones, ytmp, fbuf)
                for i in range(n):
                    ys[i] = y[i] + dt * k3[i]
                    for j in range(k):
                        Qs[i, j] = Q[i, j] + dt * K3[i, j]
                _stage(rhs, jac, use_jac, p, t + dt, ys, Qs, k4, K4, J, ones, ytmp, fbuf)
                for i in range(n):
                    y[i] += h6 * (k1[i] + 2.0 * (k2[i] + k3[i]) + k4[i])
                    for j in range(k):
                        Q[i, j] += h6 * (K1[i, j] + 2.0 * (K2[i, j] + K3[i, j]) + K4[i, j])
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
