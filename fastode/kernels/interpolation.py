"""Dense output: continuous extensions of Runge-Kutta steps in monomial form.

A step from (t, y) with size h stores Q (n x q) such that
    y(t + theta h) = y + sum_j Q[:, j] theta^(j+1),     Q = h K^T P
where K stacks the stages (and f_new and any extra dense-output stages) and P is the method's
interpolation matrix (fastode.tableaus).
"""
from numba import njit

from .callbacks import call_rhs_row


@njit(cache=True, nogil=True)
def extra_stages(rhs, p, t, y, h, K, n_main, C_extra, A_extra, ytmp):
    """Evaluate the extra stages some interpolants need (DOP853, Vern7) into K[n_main + 1 + j].

    Returns the number of RHS evaluations.
    """
    m = C_extra.shape[0]
    n = y.shape[0]
    for j in range(m):
        row = n_main + 1 + j
        for i in range(n):
            acc = 0.0
            for r in range(row):
                acc += A_extra[j, r] * K[r, i]
            ytmp[i] = y[i] + h * acc
        call_rhs_row(rhs, t + C_extra[j] * h, ytmp, p, K, row)
    return m


@njit(cache=True, nogil=True, inline="always")
def dense_coefficients(K, P, h, Q):
    """Q = h K^T P (n x q)."""
    n = Q.shape[0]
    q = Q.shape[1]
    stages = P.shape[0]
    for i in range(n):
        for j in range(q):
            acc = 0.0
            for r in range(stages):
                acc += K[r, i] * P[r, j]
            Q[i, j] = h * acc
    return Q


@njit(cache=True, nogil=True, inline="always")
def evaluate_dense(y, Q, theta, out, row):
    """out[row] = y + sum_j Q[:, j] theta^(j+1), by Horner's rule."""
    n = Q.shape[0]
    q = Q.shape[1]
    for i in range(n):
        acc = Q[i, q - 1]
        for j in range(q - 2, -1, -1):
            acc = acc * theta + Q[i, j]
        out[row, i] = y[i] + acc * theta
