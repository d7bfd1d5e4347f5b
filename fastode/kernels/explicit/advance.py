"""Explicit Runge-Kutta, step by step: the kernels of the explicit step-by-step classes
(``advance_step``, ``explicit_rk_advance``, ``explicit_rk_step_dense``; moved from
kernels/explicit.py)."""

import numpy as np
from numba import njit

from .. import status as st
from ..callbacks import call_rhs_row
from ..control import error_scale, rk_error_norm, step_factor_accept, step_factor_reject
from ..interpolation import dense_coefficients, extra_stages
from .step import all_finite, all_finite_row, rk_step


@njit(cache=True, nogil=True, inline="always")
def advance_step(rhs, p, t, y, t0, t1, direction, h_abs, adaptive, n_fixed, naccept, max_step,
                 min_step, max_steps, attempts, rtol, atol, C, A, B, E, E3, use_e3,
                 error_exponent, K, y_new, ytmp, scale):
    """Attempt steps from (t, y) until one is accepted (scipy's ``RungeKutta._step_impl``).

    ``explicit_rk_solve`` repeats this loop in its own body instead of calling it: inlined there
    it measured 1.8x slower on Lotka-Volterra (more reference counting in the hot loop), and
    called, 2.8x slower.

    K[0] must hold f(t, y); on acceptance y_new and K[s] = f(t_new, y_new) are filled.
    Fixed-step (``adaptive`` False): step ``naccept`` of ``n_fixed`` steps of size ``h_abs``.

    Returns (status, accepted, t_new, h, h_abs_next, nfev, nreject, attempts).
    """
    s = B.shape[0]
    nfev = 0
    nreject = 0
    status = st.SUCCESS
    spacing_min = 10.0 * abs(np.nextafter(t, direction * np.inf) - t)
    if adaptive:
        if h_abs > max_step:
            h_abs = max_step
        elif h_abs < spacing_min:
            h_abs = spacing_min
    step_rejected = False
    accepted = False
    t_new = t
    h = 0.0
    while not accepted:
        if max_steps > 0 and attempts >= max_steps:
            status = st.MAX_STEPS
            break
        attempts += 1
        if adaptive:
            if not (h_abs >= spacing_min and h_abs >= min_step):  # NaN-safe
                status = st.STEP_TOO_SMALL
                break
            t_new = t + direction * h_abs
            if direction * (t_new - t1) > 0.0:
                t_new = t1
        elif naccept + 1 >= n_fixed:
            t_new = t1
        else:
            t_new = t0 + direction * (naccept + 1) * h_abs
        h = t_new - t
        rk_step(rhs, p, t, y, h, C, A, B, K, y_new, ytmp)
        nfev += s - 1
        finite = all_finite(y_new)
        if not adaptive:
            if not finite:
                status = st.NON_FINITE
                break
            call_rhs_row(rhs, t_new, y_new, p, K, s)
            nfev += 1
            accepted = True
            break
        fsal_error = use_e3 or E[s] != 0.0
        if fsal_error:
            # the error estimate uses f(t_new, y_new) (FSAL methods, DOP853)
            call_rhs_row(rhs, t_new, y_new, p, K, s)
            nfev += 1
        error_scale(y, y_new, rtol, atol, scale)
        error_norm = rk_error_norm(K, E, E3, use_e3, h, scale) if finite else np.inf
        if error_norm < 1.0:
            h_abs = abs(h) * step_factor_accept(error_norm, error_exponent, step_rejected)
            if not fsal_error:
                call_rhs_row(rhs, t_new, y_new, p, K, s)
                nfev += 1
            accepted = True
        else:
            h_abs = abs(h) * step_factor_reject(error_norm, error_exponent)
            step_rejected = True
            nreject += 1
    if accepted and not all_finite_row(K, s):
        # f is non-finite at the new state: keep the state reached, report the failure
        status = st.NON_FINITE
    return status, accepted, t_new, h, h_abs, nfev, nreject, attempts


@njit(cache=True, nogil=True)
def explicit_rk_advance(rhs, p, t, y, t_bound, h_abs, max_step, rtol, atol, C, A, B, E, E3,
                        use_e3, error_order, K, y_new, ytmp, scale):
    """One accepted adaptive step for the step-by-step solver classes (fastode.solvers).

    Returns (status, accepted, t_new, h, h_abs_next, nfev, nreject).
    """
    direction = 1.0 if t_bound >= t else -1.0
    status, accepted, t_new, h, h_abs, nfev, nreject, _ = advance_step(
        rhs, p, t, y, t, t_bound, direction, h_abs, True, 0, 0, max_step, 0.0, 0, 0, rtol,
        atol, C, A, B, E, E3, use_e3, -1.0 / (error_order + 1.0), K, y_new, ytmp, scale)
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
