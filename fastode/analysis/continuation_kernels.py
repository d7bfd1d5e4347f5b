"""Compiled pieces of pseudo-arclength continuation (fastode.analysis.continuation).

The unknowns are X = (x, lambda): the state and the parameter, which lives at ``p[off]`` of
the packed parameter array the user's C function reads (no recompilation as it moves).
"""
import math

import numpy as np
from numba import njit

from ..kernels.callbacks import call_rhs
from ..kernels.linalg import lu_factor, lu_solve
from ..kernels.status import NEWTON_FAILED, NON_FINITE, SINGULAR
from .newton_kernels import jacobian_at

CONVERGED = 0


@njit(cache=True, nogil=True, error_model="numpy")
def residual(rhs, p, off, t, X, f):
    """f = F(X) = f(t, x; p with p[off] = lambda); returns ||f||_inf (NaN propagates)."""
    n = X.shape[0] - 1
    q = p.copy()
    q[off] = X[n]
    x = X[:n].copy()
    call_rhs(rhs, t, x, q, f)
    m = 0.0
    for i in range(n):
        a = abs(f[i])
        if not a <= m:
            m = a
    return m


@njit(cache=True, nogil=True, error_model="numpy")
def extended_jacobian(rhs, jac, use_jac, p, off, t, X, A):
    """A (n, n + 1) = [df/dx, df/dlambda] at X: the user's ``jac`` or central differences
    for df/dx, a central difference for df/dlambda."""
    n = X.shape[0] - 1
    q = p.copy()
    lam = X[n]
    q[off] = lam
    x = X[:n].copy()
    J = jacobian_at(rhs, jac, use_jac, q, t, x)
    for i in range(n):
        for j in range(n):
            A[i, j] = J[i, j]
    h = 6.055454452393343e-06 * max(1.0, abs(lam))
    h = (lam + h) - lam
    fp = np.empty(n)
    fm = np.empty(n)
    q[off] = lam + h
    call_rhs(rhs, t, x, q, fp)
    q[off] = lam - h
    call_rhs(rhs, t, x, q, fm)
    for i in range(n):
        A[i, n] = (fp[i] - fm[i]) * (0.5 / h)


@njit(cache=True, nogil=True, error_model="numpy")
def tangent(A, previous, out):
    """The unit null vector of A (n, n + 1), oriented along ``previous``: solves
    [A; previous^T] v = e_{n+1}. Returns False when that matrix is singular."""
    n1 = A.shape[1]
    n = n1 - 1
    M = np.empty((n1, n1))
    for i in range(n):
        for j in range(n1):
            M[i, j] = A[i, j]
    for j in range(n1):
        M[n, j] = previous[j]
        out[j] = 0.0
    out[n] = 1.0
    piv = np.empty(n1, dtype=np.int64)
    ok = lu_factor(M, piv) == 0
    if ok:
        lu_solve(M, piv, out)
        s = 0.0
        for j in range(n1):
            s += out[j] * out[j]
        s = math.sqrt(s)
        ok = s > 0.0 and math.isfinite(s)
        if ok:
            for j in range(n1):
                out[j] /= s
    return ok


@njit(cache=True, nogil=True, error_model="numpy")
def corrector(rhs, jac, use_jac, p, off, t, X, T, xtol, ftol, max_iter):
    """Bordered Newton on F(X) = 0, T . (X - X_pred) = 0, from X = X_pred (overwritten):
    the pseudo-arclength corrector, and with T = e_{n+1} Newton at a fixed parameter.
    Converged: a Newton step below xtol (1 + |X_i|) and ||F||_inf <= ftol.
    Returns (status, iterations)."""
    n1 = X.shape[0]
    n = n1 - 1
    Xp = X.copy()
    f = np.empty(n)
    A = np.empty((n, n1))
    M = np.empty((n1, n1))
    r = np.empty(n1)
    piv = np.empty(n1, dtype=np.int64)
    status = NEWTON_FAILED
    it = 0
    fnorm = residual(rhs, p, off, t, X, f)
    if not math.isfinite(fnorm):
        status = NON_FINITE
    while status == NEWTON_FAILED and it < max_iter:
        it += 1
        extended_jacobian(rhs, jac, use_jac, p, off, t, X, A)
        s = 0.0
        for j in range(n1):
            s += T[j] * (X[j] - Xp[j])
        for i in range(n):
            r[i] = -f[i]
            for j in range(n1):
                M[i, j] = A[i, j]
        r[n] = -s
        for j in range(n1):
            M[n, j] = T[j]
        if lu_factor(M, piv) != 0:
            status = SINGULAR
            break
        lu_solve(M, piv, r)
        small = True
        for j in range(n1):
            if abs(r[j]) > xtol * (1.0 + abs(X[j])):
                small = False
            X[j] += r[j]
        fnorm = residual(rhs, p, off, t, X, f)
        if not math.isfinite(fnorm):
            status = NON_FINITE
        elif small and fnorm <= ftol:
            status = CONVERGED
    return status, it
