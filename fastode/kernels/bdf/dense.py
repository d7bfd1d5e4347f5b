"""Variable-order NDF/BDF: the dense-output interpolant of the difference array (moved from
kernels/bdf.py)."""

import numpy as np
from numba import njit

from .newton import MAX_ORDER


@njit(cache=True, nogil=True, inline="always")
def bdf_interpolant(D, order, t, t_new, h_next, ybase, Q, coef):
    """Monomial form on [t, t_new] of scipy's BdfDenseOutput: ybase = P(t), Q (n, 5)."""
    n = D.shape[1]
    hs = t_new - t
    for m in range(n):
        ybase[m] = D[0, m]
        for j in range(Q.shape[1]):
            Q[m, j] = 0.0
    # coef: coefficients in theta of prod_{m<k} (tau - (t_new - m h)) / ((m + 1) h)
    for j in range(MAX_ORDER + 1):
        coef[j] = 0.0
    coef[0] = 1.0
    for k in range(1, order + 1):
        denom = h_next * k
        a = (t - (t_new - h_next * (k - 1))) / denom
        b = hs / denom
        for j in range(k, 0, -1):
            coef[j] = coef[j] * a + coef[j - 1] * b
        coef[0] = coef[0] * a
        for m in range(n):
            dk = D[k, m]
            ybase[m] += dk * coef[0]
            for j in range(1, k + 1):
                Q[m, j - 1] += dk * coef[j]


@njit(cache=True, nogil=True)
def bdf_dense(D, order, t_old, t, h_next):
    """(y_old, Q) of the last step's interpolant (scipy's ``BdfDenseOutput`` in monomial form,
    fastode.results.DenseOutput's layout); h_next = h_abs * direction after the step."""
    n = D.shape[1]
    ybase = np.empty(n)
    Q = np.zeros((n, MAX_ORDER))
    coef = np.empty(MAX_ORDER + 1)
    bdf_interpolant(D, order, t_old, t, h_next, ybase, Q, coef)
    return ybase, Q
