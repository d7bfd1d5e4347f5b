"""Shared pieces of the Newton-based stiff drivers (Radau, BDF).

* ``fd_jacobian``: forward-difference Jacobian with scipy's adaptive increments
  (``scipy.integrate._ivp.common.num_jac``, dense case: n extra RHS calls, plus one more for
  each column whose difference drowned in round-off), so the steps match scipy's solvers.
* ``evaluate_jacobian``: the user's Jacobian (a C function writing n x n row-major, the same C
  signature as the RHS) or the finite-difference one.
* ``lu_factor_inline`` / ``lu_solve_inline``: fastode.kernels.linalg's LU, inlined.

Counting follows scipy: ``nfev`` counts the RHS calls of the method itself; the calls made by a
finite-difference Jacobian are counted by ``njev`` (one per Jacobian), not in ``nfev``.
"""

import numpy as np
from numba import njit

from .callbacks import call_rhs
from .linalg import lu_factor as _lu_factor, lu_solve as _lu_solve

# linalg's LU, inlined into the drivers: a call per solve costs reference-count traffic
# (atomic increments of every array argument), measured 45% of Radau's time on Robertson
lu_factor_inline = njit(cache=True, nogil=True, inline="always")(_lu_factor.py_func)
lu_solve_inline = njit(cache=True, nogil=True, inline="always")(_lu_solve.py_func)

EPS = np.finfo(np.float64).eps
NUM_JAC_DIFF_REJECT = EPS ** 0.875
NUM_JAC_DIFF_SMALL = EPS ** 0.75
NUM_JAC_DIFF_BIG = EPS ** 0.25
NUM_JAC_MIN_FACTOR = 1e3 * EPS
NUM_JAC_FACTOR_INCREASE = 10.0
NUM_JAC_FACTOR_DECREASE = 0.1


@njit(cache=True, nogil=True)
def fd_jacobian(rhs, p, t, y, f, threshold, factor, J, hvec, yscale, ytmp, fbuf):
    """J[i, j] ~ d f_i / d y_j by forward differences (scipy's ``num_jac``, dense).

    ``f`` = f(t, y); ``threshold`` = atol; ``factor`` (n,) carries the relative increments from
    call to call (start with sqrt(eps)) and is updated. Returns the number of RHS calls.
    """
    n = y.shape[0]
    nfev = 0
    for i in range(n):
        sign = 1.0 if f[i] >= 0.0 else -1.0
        yscale[i] = sign * max(threshold[i], abs(y[i]))
        hi = (y[i] + factor[i] * yscale[i]) - y[i]
        while hi == 0.0:
            factor[i] *= 10.0
            hi = (y[i] + factor[i] * yscale[i]) - y[i]
        hvec[i] = hi
        ytmp[i] = y[i]
    for j in range(n):
        ytmp[j] = y[j] + hvec[j]
        call_rhs(rhs, t, ytmp, p, fbuf)
        nfev += 1
        best = -1.0
        bi = 0
        for i in range(n):
            d = fbuf[i] - f[i]
            J[i, j] = d
            if abs(d) > best:
                best = abs(d)
                bi = i
        max_diff = best
        scale = max(abs(f[bi]), abs(fbuf[bi]))
        if max_diff < NUM_JAC_DIFF_REJECT * scale:
            # the difference is lost in round-off: try a 10x larger increment
            new_factor = NUM_JAC_FACTOR_INCREASE * factor[j]
            h_new = (y[j] + new_factor * yscale[j]) - y[j]
            ytmp[j] = y[j] + h_new
            call_rhs(rhs, t, ytmp, p, fbuf)
            nfev += 1
            best2 = -1.0
            bi2 = 0
            for i in range(n):
                d = abs(fbuf[i] - f[i])
                if d > best2:
                    best2 = d
                    bi2 = i
            scale_new = max(abs(f[bi2]), abs(fbuf[bi2]))
            if max_diff * scale_new < best2 * scale:
                factor[j] = new_factor
                hvec[j] = h_new
                for i in range(n):
                    J[i, j] = fbuf[i] - f[i]
                scale = scale_new
                max_diff = best2
        ytmp[j] = y[j]
        hj = hvec[j]
        for i in range(n):
            J[i, j] /= hj
        if max_diff < NUM_JAC_DIFF_SMALL * scale:
            factor[j] *= NUM_JAC_FACTOR_INCREASE
        elif max_diff > NUM_JAC_DIFF_BIG * scale:
            factor[j] *= NUM_JAC_FACTOR_DECREASE
        if factor[j] < NUM_JAC_MIN_FACTOR:
            factor[j] = NUM_JAC_MIN_FACTOR
    return nfev


@njit(cache=True, nogil=True)
def evaluate_jacobian(rhs, jac, use_jac, p, t, y, f, atol, factor, J, hvec, yscale, ytmp, fbuf):
    """Fill J with df/dy at (t, y): the user's C Jacobian, else forward differences."""
    if use_jac:
        call_rhs(jac, t, y, p, J)
        return 0
    return fd_jacobian(rhs, p, t, y, f, atol, factor, J, hvec, yscale, ytmp, fbuf)


@njit(cache=True, nogil=True, inline="always")
def spacing10(t, direction):
    """scipy's minimal step: 10 times the spacing of floating-point numbers at t."""
    return 10.0 * abs(np.nextafter(t, direction * np.inf) - t)


@njit(cache=True, nogil=True, inline="always")
def needs_interpolant(dense, n_events, use_t_eval, t_eval, i_eval, t_new, direction):
    """Whether an accepted step's interpolant is used (dense output, events, inner t_eval)."""
    return dense or n_events > 0 or (
        use_t_eval and i_eval < t_eval.shape[0]
        and direction * (t_eval[i_eval] - t_new) < 0.0)
