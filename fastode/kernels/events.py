"""Event location on the dense output of an accepted step.

Each step is cut into ``samples`` sub-intervals; a sign change of g in a sub-interval (in the
event's direction) is refined by Brent's method (R. P. Brent, Algorithms for Minimization without
Derivatives, 1973, ch. 4; the variant of scipy's brentq) on the interpolant. Sampling finds
crossings that leave g with the same sign at both ends of a step.

The sampling loop lives in ``record_events`` (kernels/record.py), written out without
array-argument calls: each such call costs reference-count updates (atomic) per array, which on
a step without a crossing cost more than the event checks themselves. The helpers here are
inlined for the same reason.

Crossing rule: g_a -> g_b is a crossing when g_a != 0 and (g_b == 0 or signs differ). A root that
lands exactly on a sample point is reported in the sub-interval that ends there and not again in
the next one; a zero of g at t0 is not an event.
"""
import math

import numpy as np
from numba import njit

from .callbacks import call_event
from .interpolation import evaluate_dense

EPS = np.finfo(np.float64).eps


@njit(cache=True, nogil=True, inline="always")
def event_value_on_step(address, p, t_step, h, theta, y_step, Q, ybuf):
    """g at t_step + theta h on the interpolant; the state is written into ybuf[0].

    ``ybuf`` (1 x n, C-contiguous) goes to the event whole: its data pointer is row 0's, and
    the view ``ybuf[0]`` would cost a reference-count round trip per sample.
    """
    evaluate_dense(y_step, Q, theta, ybuf, 0)
    return call_event(address, t_step + theta * h, ybuf, p)


@njit(cache=True, nogil=True, inline="always")
def is_crossing(g_a, g_b, direction):
    """True when g goes from g_a to g_b through zero in ``direction`` (0: either way)."""
    if g_a == 0.0 or math.isnan(g_a) or math.isnan(g_b):
        return False
    up = g_a < 0.0 and g_b >= 0.0
    down = g_a > 0.0 and g_b <= 0.0
    return (up and direction >= 0.0) or (down and direction <= 0.0)


@njit(cache=True, nogil=True, inline="always")
def brent_root_theta(address, p, t_step, h, y_step, Q, ybuf, theta_a, g_a, theta_b, g_b):
    """Root of g(t_step + theta h, y(theta)) for theta in [theta_a, theta_b], g_a g_b <= 0.

    The tolerance in t is 4 eps (1 + |t|), as scipy's event location (brentq xtol=rtol=4 eps).
    Returns NaN when g returns NaN (a failed event function).
    """
    if g_b == 0.0:
        return theta_b
    xpre = theta_a
    xcur = theta_b
    fpre = g_a
    fcur = g_b
    xblk = 0.0
    fblk = 0.0
    spre = 0.0
    scur = 0.0
    habs = abs(h)
    for _ in range(200):
        if fpre != 0.0 and fcur != 0.0 and (fpre < 0.0) != (fcur < 0.0):
            xblk = xpre
            fblk = fpre
            spre = xcur - xpre
            scur = spre
        if abs(fblk) < abs(fcur):
            xpre = xcur
            xcur = xblk
            xblk = xpre
            fpre = fcur
            fcur = fblk
            fblk = fpre
        t_cur = abs(t_step + xcur * h)
        delta = 0.5 * (4.0 * EPS * (1.0 + t_cur)) / habs
        sbis = 0.5 * (xblk - xcur)
        if fcur == 0.0 or abs(sbis) < delta:
            return xcur
        if abs(spre) > delta and abs(fcur) < abs(fpre):
            if xpre == xblk:
                stry = -fcur * (xcur - xpre) / (fcur - fpre)
            else:
                dpre = (fpre - fcur) / (xpre - xcur)
                dblk = (fblk - fcur) / (xblk - xcur)
                stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
            if 2.0 * abs(stry) < min(abs(spre), 3.0 * abs(sbis) - delta):
                spre = scur
                scur = stry
            else:
                spre = sbis
                scur = sbis
        else:
            spre = sbis
            scur = sbis
        xpre = xcur
        fpre = fcur
        if abs(scur) > delta:
            xcur += scur
        elif sbis > 0.0:
            xcur += delta
        else:
            xcur -= delta
        fcur = event_value_on_step(address, p, t_step, h, xcur, y_step, Q, ybuf)
        if math.isnan(fcur):
            return math.nan  # g failed: no root to report (the caller ends the integration)
    return xcur
