"""Compiled Newton iterations and Jacobians for fastode.analysis (equilibria, Lyapunov checks).

The user's functions are C addresses (fastode.kernels.callbacks): ``rhs`` is f(t, y, p, out),
``jac`` (when ``use_jac``) writes df/dy row-major. Forward-difference Jacobians reuse
fastode.kernels.jacobian (the Rosenbrock increment); :func:`central_jacobian` (error O(h^2),
~1e-10 relative) is for eigenvalues, where a forward difference's ~1e-8 would blur the
classification near a centre and the location of a Hopf point.

Status codes: 0 converged, NEWTON_FAILED (max_iter without convergence or a stalled line
search), SINGULAR (a Jacobian with an exactly zero pivot), NON_FINITE (f returned NaN/inf at
the start). Kernels never raise.
"""
import math

import numpy as np
from numba import njit, prange

from ..kernels.callbacks import call_rhs
from ..kernels.jacobian import fd_jacobian_dense
from ..kernels.linalg import lu_factor, lu_solve
from ..kernels.status import NEWTON_FAILED, NON_FINITE, SINGULAR

CONVERGED = 0
EPS = np.finfo(np.float64).eps


@njit(cache=True, nogil=True, error_model="numpy")
def central_jacobian(rhs, p, t, y, J):
    """J = df/dy at (t, y) by central differences, h_j = eps^(1/3) max(1, |y_j|) (rounded so
    that y_j +- h_j is exact)."""
    n = y.shape[0]
    ytmp = y.copy()
    fp = np.empty(n)
    fm = np.empty(n)
    for j in range(n):
        yj = y[j]
        h = 6.055454452393343e-06 * max(1.0, abs(yj))  # eps ** (1/3)
        h = (yj + h) - yj
        ytmp[j] = yj + h
        call_rhs(rhs, t, ytmp, p, fp)
        ytmp[j] = yj - h
        call_rhs(rhs, t, ytmp, p, fm)
        ytmp[j] = yj
        inv = 0.5 / h
        for i in range(n):
            J[i, j] = (fp[i] - fm[i]) * inv


@njit(cache=True, nogil=True, error_model="numpy")
def jacobian_at(rhs, jac, use_jac, p, t, y):
    """The (n, n) Jacobian at (t, y): the user's ``jac`` or central differences."""
    n = y.shape[0]
    J = np.empty((n, n))
    if use_jac:
        call_rhs(jac, t, y, p, J)
    else:
        central_jacobian(rhs, p, t, y, J)
    return J


@njit(cache=True, nogil=True, error_model="numpy")
def _inf_norm(v):
    m = 0.0
    for i in range(v.shape[0]):
        a = abs(v[i])
        if not a <= m:  # NaN propagates
            m = a
    return m


@njit(cache=True, nogil=True, error_model="numpy")
def newton_one(rhs, jac, use_jac, p, t, y, xtol, ftol, max_iter):
    """Damped Newton on f(t, y) = 0 from ``y`` (overwritten with the last iterate).

    Steps are halved (down to 1/1024) until ||f||_inf decreases (Armijo, 1e-4), so that starts
    far from a root do not jump across the region. Converged: a Newton step dy (before
    damping) with |dy_i| <= xtol (1 + |y_i|) for every i, and ||f||_inf <= ftol after it.
    Returns (status, iterations, ||f||_inf)."""
    n = y.shape[0]
    f = np.empty(n)
    ftrial = np.empty(n)
    ytrial = np.empty(n)
    dy = np.empty(n)
    J = np.empty((n, n))
    piv = np.empty(n, dtype=np.int64)
    ones = np.ones(n)
    ytmp = np.empty(n)
    fbuf = np.empty(n)
    call_rhs(rhs, t, y, p, f)
    fnorm = _inf_norm(f)
    status = NEWTON_FAILED
    it = 0
    if not math.isfinite(fnorm):
        status = NON_FINITE
    while status == NEWTON_FAILED and it < max_iter:
        it += 1
        if use_jac:
            call_rhs(jac, t, y, p, J)
        else:
            fd_jacobian_dense(rhs, p, t, y, f, ones, J, ytmp, fbuf)
        if lu_factor(J, piv) != 0:
            status = SINGULAR
            break
        for i in range(n):
            dy[i] = -f[i]
        lu_solve(J, piv, dy)
        lam = 1.0
        tnorm = np.inf
        while True:
            for i in range(n):
                ytrial[i] = y[i] + lam * dy[i]
            call_rhs(rhs, t, ytrial, p, ftrial)
            tnorm = _inf_norm(ftrial)
            if tnorm <= (1.0 - 1e-4 * lam) * fnorm or lam < 1.0 / 1024.0:
                break
            lam *= 0.5
        if not math.isfinite(tnorm):
            status = NON_FINITE
            break
        # converged on the full Newton step (a damped step near a root can be cut to 1/1024
        # when ||f|| is at round-off level and cannot decrease)
        small = True
        for i in range(n):
            if abs(dy[i]) > xtol * (1.0 + abs(y[i])):
                small = False
            y[i] = ytrial[i]
            f[i] = ftrial[i]
        fnorm = tnorm
        if small and fnorm <= ftol:
            status = CONVERGED
    return status, it, fnorm


@njit(cache=True, parallel=True, error_model="numpy")
def newton_starts(rhs, jac, use_jac, p, t, starts, xtol, ftol, max_iter, status, iters, fnorm):
    """:func:`newton_one` from every row of ``starts`` (overwritten with the results), in
    parallel (prange): one start per task, each with its own work arrays."""
    m = starts.shape[0]
    for s in prange(m):
        y = starts[s].copy()
        st, it, fn = newton_one(rhs, jac, use_jac, p, t, y, xtol, ftol, max_iter)
        starts[s, :] = y
        status[s] = st
        iters[s] = it
        fnorm[s] = fn


@njit(cache=True, parallel=True, error_model="numpy")
def rhs_many(rhs, p, t, points, out):
    """out[i] = f(t, points[i]) for every row (a grid for a portrait or a Lyapunov check)."""
    m = points.shape[0]
    for i in prange(m):
        call_rhs(rhs, t, points[i], p, out[i])
