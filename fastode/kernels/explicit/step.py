"""Explicit Runge-Kutta: one step of a tableau and the finiteness checks (moved from
kernels/explicit.py; the switching family uses them too)."""

import math

import numpy as np
from numba import njit

from .. import status as st
from ..callbacks import call_rhs_row
from ..control import error_scale, rk_error_norm, step_factor_accept, step_factor_reject


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


@njit(cache=True, nogil=True, inline="always")
def advance_step(rhs, p, t, y, t0, t1, direction, h_abs, adaptive, n_fixed, naccept, max_step,
                 min_step, max_steps, attempts, rtol, atol, C, A, B, E, E3, use_e3,
                 error_exponent, K, y_new, ytmp, scale, report_non_finite):
    """Attempt steps from (t, y) until one is accepted (scipy's ``RungeKutta._step_impl``): the
    step of ``explicit_rk_solve``, of the switching method's explicit leg (both write it out:
    kernels/expand.py) and of the step-by-step classes.

    K[0] must hold f(t, y); on acceptance y_new and K[s] = f(t_new, y_new) are filled.
    Fixed-step (``adaptive`` False): step ``naccept`` of ``n_fixed`` steps of size ``h_abs``.
    ``report_non_finite``: a step size collapsing after a non-finite error estimate is reported
    as NON_FINITE (solve_ivp), not as scipy's STEP_TOO_SMALL (the step-by-step classes).

    Returns (status, accepted, t_new, h, h_abs_next, nfev, nreject, attempts).
    """
    s = B.shape[0]
    n = y.shape[0]
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
    error_norm = 0.0
    t_new = t
    h = 0.0
    while not accepted:
        if max_steps > 0 and attempts >= max_steps:
            status = st.MAX_STEPS
            break
        attempts += 1
        if adaptive:
            # written so that a NaN step size also ends here (never loops forever)
            if not (h_abs >= spacing_min and h_abs >= min_step):
                if report_non_finite and not math.isfinite(error_norm):
                    status = st.NON_FINITE
                else:
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
        finite = True
        for i in range(n):
            if not math.isfinite(y_new[i]):
                finite = False
                break
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
