"""Error norms, initial step selection and step-size controllers (shared by all adaptive kernels)."""
import math

import numpy as np
from numba import njit

from .callbacks import call_rhs

# Step-size controller constants, as scipy's explicit RK (scipy/integrate/_ivp/rk.py).
SAFETY = 0.9
MIN_FACTOR = 0.2
MAX_FACTOR = 10.0


@njit(cache=True, nogil=True, inline="always")
def rms_norm_scaled(v, scale):
    """Root-mean-square of v / scale (Hairer's norm, scipy's ``norm(x) / sqrt(n)``)."""
    n = v.shape[0]
    acc = 0.0
    for i in range(n):
        r = v[i] / scale[i]
        acc += r * r
    return math.sqrt(acc / n)


@njit(cache=True, nogil=True, inline="always")
def error_scale(y, y_new, rtol, atol, scale):
    """scale_i = atol_i + max(|y_i|, |y_new_i|) rtol_i (Hairer I, eq. II.4.10)."""
    for i in range(y.shape[0]):
        scale[i] = atol[i] + max(abs(y[i]), abs(y_new[i])) * rtol[i]


@njit(cache=True, nogil=True, inline="always")
def rk_error_norm(K, E, E3, use_e3, h, scale):
    """Norm of the embedded error estimate h K^T E relative to ``scale``.

    With ``use_e3`` (DOP853) the 5th- and 3rd-order estimates are blended as in Hairer's DOP853
    and scipy: |h| e5^2 / sqrt(e5^2 + 0.01 e3^2) / sqrt(n).
    """
    n = scale.shape[0]
    stages = E.shape[0]
    acc5 = 0.0
    acc3 = 0.0
    for m in range(n):
        e5 = 0.0
        e3 = 0.0
        for j in range(stages):
            e5 += E[j] * K[j, m]
        r5 = e5 / scale[m]
        acc5 += r5 * r5
        if use_e3:
            for j in range(stages):
                e3 += E3[j] * K[j, m]
            r3 = e3 / scale[m]
            acc3 += r3 * r3
    if not use_e3:
        return abs(h) * math.sqrt(acc5 / n)
    if acc5 == 0.0 and acc3 == 0.0:
        return 0.0
    return abs(h) * acc5 / math.sqrt((acc5 + 0.01 * acc3) * n)


@njit(cache=True, nogil=True)
def select_initial_step(rhs, p, t0, y0, f0, t_bound, max_step, direction, error_order, rtol, atol,
                        y1, f1):
    """Hairer's initial step (Solving ODEs I, Sec. II.4), as scipy's ``select_initial_step``.

    Costs one RHS evaluation (written into ``f1``); ``y1`` is work space.
    """
    n = y0.shape[0]
    interval_length = abs(t_bound - t0)
    if interval_length == 0.0:
        return 0.0
    scale = np.empty(n)
    for i in range(n):
        scale[i] = atol[i] + abs(y0[i]) * rtol[i]
    d0 = rms_norm_scaled(y0, scale)
    d1 = rms_norm_scaled(f0, scale)
    if d0 < 1e-5 or d1 < 1e-5:
        h0 = 1e-6
    else:
        h0 = 0.01 * d0 / d1
    h0 = min(h0, interval_length)
    for i in range(n):
        y1[i] = y0[i] + h0 * direction * f0[i]
    call_rhs(rhs, t0 + h0 * direction, y1, p, f1)
    acc = 0.0
    for i in range(n):
        r = (f1[i] - f0[i]) / scale[i]
        acc += r * r
    d2 = math.sqrt(acc / n) / h0
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / (error_order + 1))
    return min(100 * h0, h1, interval_length, max_step)


@njit(cache=True, nogil=True, inline="always")
def step_factor_accept(error_norm, error_exponent, step_rejected):
    """Growth factor after an accepted step (error_norm < 1), scipy's elementary controller."""
    if error_norm == 0.0:
        factor = MAX_FACTOR
    else:
        factor = min(MAX_FACTOR, SAFETY * error_norm ** error_exponent)
    if step_rejected:
        factor = min(1.0, factor)
    return factor


@njit(cache=True, nogil=True, inline="always")
def step_factor_reject(error_norm, error_exponent):
    """Shrink factor after a rejected step; a non-finite error shrinks by MIN_FACTOR."""
    if not math.isfinite(error_norm):
        return MIN_FACTOR
    return max(MIN_FACTOR, SAFETY * error_norm ** error_exponent)
