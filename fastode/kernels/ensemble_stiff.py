"""Ensemble drivers of the stiff families: many independent trajectories in a numba ``prange``.

The stiff counterpart of fastode.kernels.ensemble (its module docstring gives the output modes,
the event outputs and the row broadcasting of ``params``/``y0``): every trajectory is one
complete call of the family's driver with the implicit driver contract (fastode.ivp_implicit),
so each has its own Jacobian, LU, step size, order, counters and status, and its result is
bitwise the one ``fastode.solve_ivp`` gives for the same inputs.

One prange kernel per family driver (Rosenbrock, Radau, BDF, ESDIRK, and LSODA / auto's
switching loop): numba links the whole
family driver into each, so a family is one compile; the methods of a family differ only in the
``coefficients`` tuple (fastode.kernels.family), which is an argument (Rosenbrock, ESDIRK).
The option groups (``tolerances``, ``mass_matrix``, ``steps``, ``events``, ``jacobian``) are the
contract's, built once per sweep by the caller; ``t_eval``/``dense`` and ``mode`` as in
``ensemble_explicit``.
"""
import numpy as np
from numba import njit, prange

from .bdf import bdf_driver
from .ensemble import SAVE_OBSERVE, SAVE_TRAJECTORY, _store_explicit_one, store_events
from .esdirk import esdirk_solve
from .radau import radau_driver
from .rosenbrock import rosenbrock_solve
from .switching.compiled import switching_solve


@njit(cache=True, nogil=True)
def _store_one(i, mode, obs, t1, p, t_eval, result, out, status, counters, ev_t_out, ev_y_out,
               ev_count, n):
    """Row ``i`` of the outputs from one driver's 13-tuple."""
    ybuf = np.empty(n)
    obuf = np.empty(out.shape[1])
    _store_explicit_one(i, mode, obs, t1, p, t_eval, result[0], result[1], result[2],
                        result[3], result[12], out, status, counters, ybuf, obuf)
    store_events(i, result[8], result[9], result[10], result[11], ev_t_out, ev_y_out, ev_count)


@njit(cache=True, nogil=True)
def _rosenbrock_one(i, coefficients, rhs, jac, params, y0, t0, t1, tolerances,
                    mass_matrix, steps, t_eval, dense, events, jacobian, mode, obs, out,
                    status, counters, ev_t_out, ev_y_out, ev_count):
    """Trajectory ``i`` of ``ensemble_rosenbrock``: solve it and store its output."""
    p = params[0] if params.shape[0] == 1 else params[i]
    y0_i = y0[0] if y0.shape[0] == 1 else y0[i]
    use_t_eval = mode == SAVE_TRAJECTORY or mode == SAVE_OBSERVE
    result = rosenbrock_solve(coefficients, rhs, jac, p, t0, t1, y0_i, tolerances,
                              mass_matrix, steps, (t_eval, use_t_eval, dense), events,
                              jacobian)
    _store_one(i, mode, obs, t1, p, t_eval, result, out, status, counters, ev_t_out, ev_y_out,
               ev_count, y0.shape[1])


@njit(cache=True, nogil=True, parallel=True)
def ensemble_rosenbrock(coefficients, rhs, jac, params, y0, t0, t1, tolerances,
                        mass_matrix, steps, t_eval, dense, events, jacobian, mode, obs, out,
                        status, counters, ev_t_out, ev_y_out, ev_count):
    """Solve ``out.shape[0]`` independent trajectories with ``rosenbrock_solve`` in a prange
    (arguments: the module docstring and fastode.kernels.ensemble.ensemble_explicit)."""
    for i in prange(out.shape[0]):
        # the body is one call: the parfor stays small, so compiling it is quick
        _rosenbrock_one(i, coefficients, rhs, jac, params, y0, t0, t1, tolerances,
                        mass_matrix, steps, t_eval, dense, events, jacobian, mode, obs, out,
                        status, counters, ev_t_out, ev_y_out, ev_count)


@njit(cache=True, nogil=True)
def _radau_one(i, rhs, jac, params, y0, t0, t1, tolerances,
               mass_matrix, steps, t_eval, dense, events, jacobian, mode, obs, out,
               status, counters, ev_t_out, ev_y_out, ev_count):
    """Trajectory ``i`` of ``ensemble_radau``: solve it and store its output."""
    p = params[0] if params.shape[0] == 1 else params[i]
    y0_i = y0[0] if y0.shape[0] == 1 else y0[i]
    use_t_eval = mode == SAVE_TRAJECTORY or mode == SAVE_OBSERVE
    result = radau_driver(rhs, jac, p, t0, t1, y0_i, tolerances,
                          mass_matrix, steps, (t_eval, use_t_eval, dense), events,
                          jacobian)
    _store_one(i, mode, obs, t1, p, t_eval, result, out, status, counters, ev_t_out, ev_y_out,
               ev_count, y0.shape[1])


@njit(cache=True, nogil=True, parallel=True)
def ensemble_radau(rhs, jac, params, y0, t0, t1, tolerances,
                   mass_matrix, steps, t_eval, dense, events, jacobian, mode, obs, out,
                   status, counters, ev_t_out, ev_y_out, ev_count):
    """Solve ``out.shape[0]`` independent trajectories with ``radau_driver`` in a prange
    (arguments: the module docstring and fastode.kernels.ensemble.ensemble_explicit)."""
    for i in prange(out.shape[0]):
        # the body is one call: the parfor stays small, so compiling it is quick
        _radau_one(i, rhs, jac, params, y0, t0, t1, tolerances,
                   mass_matrix, steps, t_eval, dense, events, jacobian, mode, obs, out,
                   status, counters, ev_t_out, ev_y_out, ev_count)


@njit(cache=True, nogil=True)
def _bdf_one(i, rhs, jac, params, y0, t0, t1, tolerances,
             mass_matrix, steps, t_eval, dense, events, jacobian, mode, obs, out,
             status, counters, ev_t_out, ev_y_out, ev_count):
    """Trajectory ``i`` of ``ensemble_bdf``: solve it and store its output."""
    p = params[0] if params.shape[0] == 1 else params[i]
    y0_i = y0[0] if y0.shape[0] == 1 else y0[i]
    use_t_eval = mode == SAVE_TRAJECTORY or mode == SAVE_OBSERVE
    result = bdf_driver(rhs, jac, p, t0, t1, y0_i, tolerances,
                        mass_matrix, steps, (t_eval, use_t_eval, dense), events,
                        jacobian)
    _store_one(i, mode, obs, t1, p, t_eval, result, out, status, counters, ev_t_out, ev_y_out,
               ev_count, y0.shape[1])


@njit(cache=True, nogil=True, parallel=True)
def ensemble_bdf(rhs, jac, params, y0, t0, t1, tolerances,
                 mass_matrix, steps, t_eval, dense, events, jacobian, mode, obs, out,
                 status, counters, ev_t_out, ev_y_out, ev_count):
    """Solve ``out.shape[0]`` independent trajectories with ``bdf_driver`` in a prange
    (arguments: the module docstring and fastode.kernels.ensemble.ensemble_explicit)."""
    for i in prange(out.shape[0]):
        # the body is one call: the parfor stays small, so compiling it is quick
        _bdf_one(i, rhs, jac, params, y0, t0, t1, tolerances,
                 mass_matrix, steps, t_eval, dense, events, jacobian, mode, obs, out,
                 status, counters, ev_t_out, ev_y_out, ev_count)


@njit(cache=True, nogil=True)
def _esdirk_one(i, coefficients, rhs, jac, params, y0, t0, t1, tolerances,
                mass_matrix, steps, t_eval, dense, events, jacobian, mode, obs, out,
                status, counters, ev_t_out, ev_y_out, ev_count):
    """Trajectory ``i`` of ``ensemble_esdirk``: solve it and store its output."""
    p = params[0] if params.shape[0] == 1 else params[i]
    y0_i = y0[0] if y0.shape[0] == 1 else y0[i]
    use_t_eval = mode == SAVE_TRAJECTORY or mode == SAVE_OBSERVE
    result = esdirk_solve(coefficients, rhs, jac, p, t0, t1, y0_i, tolerances,
                          mass_matrix, steps, (t_eval, use_t_eval, dense), events,
                          jacobian)
    _store_one(i, mode, obs, t1, p, t_eval, result, out, status, counters, ev_t_out, ev_y_out,
               ev_count, y0.shape[1])


@njit(cache=True, nogil=True, parallel=True)
def ensemble_esdirk(coefficients, rhs, jac, params, y0, t0, t1, tolerances,
                    mass_matrix, steps, t_eval, dense, events, jacobian, mode, obs, out,
                    status, counters, ev_t_out, ev_y_out, ev_count):
    """Solve ``out.shape[0]`` independent trajectories with ``esdirk_solve`` in a prange
    (arguments: the module docstring and fastode.kernels.ensemble.ensemble_explicit)."""
    for i in prange(out.shape[0]):
        # the body is one call: the parfor stays small, so compiling it is quick
        _esdirk_one(i, coefficients, rhs, jac, params, y0, t0, t1, tolerances,
                    mass_matrix, steps, t_eval, dense, events, jacobian, mode, obs, out,
                    status, counters, ev_t_out, ev_y_out, ev_count)


@njit(cache=True, nogil=True)
def _switching_one(i, tableau, use_bdf, rhs, jac, params, y0, t0, t1, tolerances,
                   mass_matrix, steps, t_eval, dense, events, jacobian, mode, obs, out,
                   status, counters, ev_t_out, ev_y_out, ev_count):
    """Trajectory ``i`` of ``ensemble_switching``: solve it and store its output."""
    p = params[0] if params.shape[0] == 1 else params[i]
    y0_i = y0[0] if y0.shape[0] == 1 else y0[i]
    use_t_eval = mode == SAVE_TRAJECTORY or mode == SAVE_OBSERVE
    result = switching_solve(rhs, jac, p, t0, t1, y0_i, tolerances, mass_matrix, steps,
                             (t_eval, use_t_eval, dense), events, jacobian, tableau, use_bdf)
    _store_one(i, mode, obs, t1, p, t_eval, result, out, status, counters, ev_t_out, ev_y_out,
               ev_count, y0.shape[1])


@njit(cache=True, nogil=True, parallel=True)
def ensemble_switching(tableau, use_bdf, rhs, jac, params, y0, t0, t1, tolerances,
                       mass_matrix, steps, t_eval, dense, events, jacobian, mode, obs, out,
                       status, counters, ev_t_out, ev_y_out, ev_count):
    """Solve ``out.shape[0]`` independent trajectories with LSODA / auto's switching loop
    (fastode.kernels.switching.compiled.switching_solve) in a prange; ``tableau`` is the
    explicit leg's tableau group, ``use_bdf`` fastode.ivp_auto's choice of stiff leg (two
    arguments, not one nested tuple: a parfor does not take a tuple holding a tuple)."""
    for i in prange(out.shape[0]):
        # the body is one call: the parfor stays small, so compiling it is quick
        _switching_one(i, tableau, use_bdf, rhs, jac, params, y0, t0, t1, tolerances,
                       mass_matrix, steps, t_eval, dense, events, jacobian, mode, obs, out,
                       status, counters, ev_t_out, ev_y_out, ev_count)
