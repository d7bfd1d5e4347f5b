"""Shared pieces of the Newton-based stiff drivers (Radau, BDF, ESDIRK).

* ``lu_factor_inline`` / ``lu_solve_inline``: fastode.kernels.linalg's LU, inlined.
* ``spacing10``, ``needs_interpolant``: scipy's minimal step; whether a step's interpolant is used.

Their Jacobians (scipy's ``num_jac`` finite differences, or the user's) come from
fastode.kernels.jacobian.

Counting follows scipy: ``nfev`` counts the RHS calls of the method itself; the calls made by a
finite-difference Jacobian are counted by ``njev`` (one per Jacobian), not in ``nfev``.
"""

import numpy as np
from numba import njit

from .linalg import lu_factor as _lu_factor, lu_solve as _lu_solve

# linalg's LU, inlined into the drivers: a call per solve costs reference-count traffic
# (atomic increments of every array argument), measured 45% of Radau's time on Robertson
lu_factor_inline = njit(cache=True, nogil=True, inline="always")(_lu_factor.py_func)
lu_solve_inline = njit(cache=True, nogil=True, inline="always")(_lu_solve.py_func)

EPS = np.finfo(np.float64).eps


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
