"""Explicit Runge-Kutta: one step of a tableau and the finiteness checks (moved from
kernels/explicit.py; the switching family uses them too)."""

import math

from numba import njit

from ..callbacks import call_rhs_row


@njit(cache=True, nogil=True, inline="always")
def rk_step(rhs, p, t, y, h, C, A, B, K, y_new, ytmp):
    """One explicit RK step: K[0] must hold f(t, y); fills K[1:s] and y_new."""
    s = B.shape[0]
    n = y.shape[0]
    for i in range(1, s):
        for m in range(n):
            acc = 0.0
            for j in range(i):
                acc += A[i, j] * K[j, m]
            ytmp[m] = y[m] + h * acc
        call_rhs_row(rhs, t + C[i] * h, ytmp, p, K, i)
    for m in range(n):
        acc = 0.0
        for j in range(s):
            acc += B[j] * K[j, m]
        y_new[m] = y[m] + h * acc


@njit(cache=True, nogil=True, inline="always")
def all_finite(v):
    for i in range(v.shape[0]):
        if not math.isfinite(v[i]):
            return False
    return True


@njit(cache=True, nogil=True, inline="always")
def all_finite_row(M, row):
    for i in range(M.shape[1]):
        if not math.isfinite(M[row, i]):
            return False
    return True
