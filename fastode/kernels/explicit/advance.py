"""Explicit Runge-Kutta, step by step: the kernels of the explicit step-by-step classes
(``advance_step``, ``explicit_rk_advance``, ``explicit_rk_step_dense``; moved from
kernels/explicit.py)."""

import numpy as np
from numba import njit

from ..interpolation import dense_coefficients, extra_stages
from .step import advance_step


@njit(cache=True, nogil=True)
def explicit_rk_advance(rhs, p, t, y, t_bound, h_abs, max_step, rtol, atol, C, A, B, E, E3,
                        use_e3, error_order, K, y_new, ytmp, scale):
    """One accepted adaptive step for the step-by-step solver classes (fastode.solvers).

    Returns (status, accepted, t_new, h, h_abs_next, nfev, nreject).
    """
    direction = 1.0 if t_bound >= t else -1.0
    status, accepted, t_new, h, h_abs, nfev, nreject, _ = advance_step(
        rhs, p, t, y, t, t_bound, direction, h_abs, True, 0, 0, max_step, 0.0, 0, 0, rtol,
        atol, C, A, B, E, E3, use_e3, -1.0 / (error_order + 1.0), K, y_new, ytmp, scale, False)
    return status, accepted, t_new, h, h_abs, nfev, nreject


@njit(cache=True, nogil=True)
def explicit_rk_step_dense(rhs, p, t, y, h, K, n_main, C_extra, A_extra, P, ytmp):
    """Dense-output coefficients Q of one accepted step (extra stages included).

    Returns (Q, nfev).
    """
    nfev = 0
    if C_extra.shape[0] > 0:
        nfev = extra_stages(rhs, p, t, y, h, K, n_main, C_extra, A_extra, ytmp)
    Q = np.empty((y.shape[0], P.shape[1]))
    dense_coefficients(K, P, h, Q)
    return Q, nfev
