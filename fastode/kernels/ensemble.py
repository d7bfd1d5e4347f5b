"""Ensemble drivers: many independent trajectories of one RHS in a numba ``prange``.

Every trajectory is a complete, independent call of the family's single-trajectory driver
(``explicit_rk_solve`` for explicit Runge-Kutta): its own time, step size, controller state,
output cursor, counters and status. Nothing is lock-step, so one hard or failing trajectory
(blow-up, NaN, step-size collapse) neither slows nor spoils the others, and every trajectory's
result is bitwise the one ``fastode.solve_ivp`` gives for the same inputs (docs/design.md,
"Ensembles").

The drivers write into caller-owned output arrays (one slice of the full result per chunk), so
their memory is the output plus one driver's work arrays per thread, whatever the number of
trajectories.

Output modes (``mode``):
    SAVE_TRAJECTORY  out[i, :, k] = y_i(t_eval[k])          (NaN where not reached)
    SAVE_FINAL       out[i, :, 0] = last state reached        (y(t1) on success)
    SAVE_OBSERVE     out[i, :, k] = observe(t_eval[k], y_i(t_eval[k]), p_i)  (NaN where not reached)
    SAVE_OBSERVE_FINAL  out[i, :, 0] = observe(t1, y_i(t1), p_i)              (NaN on failure)

``observe`` reaches the kernel as a C function address with the RHS's signature
``void g(double t, const double *y, const double *p, double *out)``, so a new observe function
never recompiles the driver.

Events (any number, possibly none): ``ev_t_out[i, k, :]`` holds the first ``max_events``
(``ev_t_out.shape[2]``) times of event k on trajectory i (NaN-padded), ``ev_y_out[i, k, j]`` the
state there, ``ev_count[i, k]`` the number of occurrences (also those past ``max_events``).

Row broadcasting: ``params`` and ``y0`` have either one row per trajectory or a single row shared
by all (shape (1, .)); this keeps one compiled signature for every case.
"""
import numpy as np
from numba import njit, prange

from .callbacks import call_rhs
from .explicit import explicit_rk_solve

SAVE_TRAJECTORY = 0
SAVE_FINAL = 1
SAVE_OBSERVE = 2
SAVE_OBSERVE_FINAL = 3


@njit(cache=True, nogil=True)
def _store_explicit_one(i, mode, obs, t1, p, t_eval, status_i, t_out, y_out, n_out, counters_i,
                        out, status, counters, ybuf, obuf):
    """Copy one trajectory's driver output into row ``i`` of the ensemble outputs."""
    n = y_out.shape[1]
    n_cols = out.shape[2]
    n_obs = out.shape[1]
    status[i] = status_i
    for c in range(4):
        counters[i, c] = counters_i[c]
    if mode == SAVE_TRAJECTORY:
        for k in range(n_cols):
            if k < n_out:
                for m in range(n):
                    out[i, m, k] = y_out[k, m]
            else:
                for m in range(n):
                    out[i, m, k] = np.nan
    elif mode == SAVE_FINAL:
        for m in range(n):
            out[i, m, 0] = y_out[n_out - 1, m]
    elif mode == SAVE_OBSERVE:
        for k in range(n_cols):
            if k < n_out:
                for m in range(n):
                    ybuf[m] = y_out[k, m]
                call_rhs(obs, t_eval[k], ybuf, p, obuf)
                for m in range(n_obs):
                    out[i, m, k] = obuf[m]
            else:
                for m in range(n_obs):
                    out[i, m, k] = np.nan
    else:  # SAVE_OBSERVE_FINAL
        if status_i >= 0 and t_out[n_out - 1] == t1:
            for m in range(n):
                ybuf[m] = y_out[n_out - 1, m]
            call_rhs(obs, t1, ybuf, p, obuf)
            for m in range(n_obs):
                out[i, m, 0] = obuf[m]
        else:
            for m in range(n_obs):
                out[i, m, 0] = np.nan


@njit(cache=True, nogil=True)
def store_events(i, ev_t, ev_y, ev_index, n_ev, ev_t_out, ev_y_out, ev_count):
    """Copy one trajectory's event occurrences (a driver's ``ev_*[:n_ev]``, in time order) into
    row ``i`` of the ensemble's event outputs: the first ``ev_t_out.shape[2]`` of each event,
    NaN after them; ``ev_count`` counts them all."""
    n_events = ev_count.shape[1]
    max_events = ev_t_out.shape[2]
    n = ev_y_out.shape[3]
    for k in range(n_events):
        ev_count[i, k] = 0
        for j in range(max_events):
            ev_t_out[i, k, j] = np.nan
            for m in range(n):
                ev_y_out[i, k, j, m] = np.nan
    for e in range(n_ev):
        k = ev_index[e]
        c = ev_count[i, k]
        if c < max_events:
            ev_t_out[i, k, c] = ev_t[e]
            for m in range(n):
                ev_y_out[i, k, c, m] = ev_y[e, m]
        ev_count[i, k] = c + 1


@njit(cache=True, nogil=True)
def _explicit_one(i, rhs, params, y0, t0, t1, rtol, atol, C, A, B, E, E3, use_e3, error_order,
                  C_extra, A_extra, P, adaptive, first_step, max_step, min_step, max_steps,
                  t_eval, dense, event_addresses, event_directions, event_terminal,
                  event_samples, mode, obs, out, status, counters, ev_t_out, ev_y_out,
                  ev_count):
    """Trajectory ``i`` of ``ensemble_explicit``: solve it and store its output."""
    p = params[0] if params.shape[0] == 1 else params[i]
    y0_i = y0[0] if y0.shape[0] == 1 else y0[i]
    use_t_eval = mode == SAVE_TRAJECTORY or mode == SAVE_OBSERVE
    result = explicit_rk_solve(
        rhs, p, t0, t1, y0_i, (rtol, atol),
        (C, A, B, E, E3, use_e3, error_order, C_extra, A_extra, P),
        (adaptive, first_step, max_step, min_step, max_steps), (t_eval, use_t_eval, dense),
        (event_addresses, event_directions, event_terminal, event_samples))
    ybuf = np.empty(y0.shape[1])
    obuf = np.empty(out.shape[1])
    _store_explicit_one(i, mode, obs, t1, p, t_eval, result[0], result[1], result[2],
                        result[3], result[12], out, status, counters, ybuf, obuf)
    store_events(i, result[8], result[9], result[10], result[11], ev_t_out, ev_y_out, ev_count)


@njit(cache=True, nogil=True, parallel=True)
def ensemble_explicit(rhs, params, y0, t0, t1, rtol, atol,
                      C, A, B, E, E3, use_e3, error_order, C_extra, A_extra, P,
                      adaptive, first_step, max_step, min_step, max_steps,
                      t_eval, dense, event_addresses, event_directions, event_terminal,
                      event_samples, mode, obs, out, status, counters, ev_t_out, ev_y_out,
                      ev_count):
    """Solve ``out.shape[0]`` independent trajectories with ``explicit_rk_solve`` in a prange.

    Parameters
    ----------
    rhs : int64
        Address of ``void f(double t, const double *y, const double *p, double *dydt)``.
    params : (n_traj or 1, n_p) float64, C-contiguous
        Row i is trajectory i's parameter array ``p`` (one row: shared by all).
    y0 : (n_traj or 1, n) float64, C-contiguous
        Initial states (one row: shared by all).
    rtol, atol, C ... max_steps, dense, event_*
        As for ``explicit_rk_solve`` (``dense`` must be False: the ensemble keeps no dense
        output). They are arguments rather than constants
        so that ``explicit_rk_solve`` is called with exactly the types ``solve_ivp`` uses
        (writeable arrays, non-literal bool and int) and its compiled, cached version is shared.
    t_eval : (n_t,) float64
        Output times for SAVE_TRAJECTORY / SAVE_OBSERVE (ignored by the final modes).
    mode : int64
        One of SAVE_TRAJECTORY, SAVE_FINAL, SAVE_OBSERVE, SAVE_OBSERVE_FINAL.
    obs : int64
        Address of the observe function (modes SAVE_OBSERVE*), else ignored.
    out : (n_traj, n or n_obs, n_t or 1) float64
        Filled as the module docstring says.
    status : (n_traj,) int64
        Kernel status codes (fastode.kernels.status).
    counters : (n_traj, 4) float64
        nfev, naccept, nreject, t reached.
    ev_t_out, ev_y_out, ev_count : (n_traj, n_events, max_events), (n_traj, n_events,
        max_events, n) float64 and (n_traj, n_events) int64
        The events, as the module docstring says (n_events = 0: no events).
    """
    for i in prange(out.shape[0]):
        # the body is one call: the parfor stays small, so compiling it is quick
        _explicit_one(i, rhs, params, y0, t0, t1, rtol, atol, C, A, B, E, E3, use_e3,
                      error_order, C_extra, A_extra, P, adaptive, first_step, max_step,
                      min_step, max_steps, t_eval, dense, event_addresses, event_directions,
                      event_terminal, event_samples, mode, obs, out, status, counters,
                      ev_t_out, ev_y_out, ev_count)


@njit(cache=True, nogil=True)
def nb_solve_ensemble(address, params, t0, t1, y0, rtol, atol, tableau, t_eval, step=0.0,
                      max_step=np.inf):
    """Solve one trajectory per row of ``params`` in parallel, from numba code.

    The ensemble counterpart of ``fastode.nb.solve``: ``address`` is a compiled RHS
    (``fastode.nb.compile_rhs(fun, n, n_params).address``), ``params`` has shape (n_traj, n_p),
    ``y0`` shape (n,) (shared) or (n_traj, n), ``rtol``/``atol`` are scalars, ``tableau`` is
    ``fastode.nb.tableau(method)``; ``step`` is the step of fixed-step methods (required for
    them) or a first step for adaptive ones (0 = automatic). ``params`` of shape (n_traj,) means
    one parameter per trajectory.

    Returns ``(status, y)``: ``status`` (n_traj,) int64 kernel codes (>= 0 success), ``y``
    (n_traj, n, len(t_eval)) with NaN after a failure. Call it from serial numba code (it runs
    its own prange over numba's threads).
    """
    n = y0.shape[y0.ndim - 1]
    n_traj = params.shape[0]
    p2 = np.ascontiguousarray(params.reshape((n_traj, -1)))
    if p2.shape[1] == 0:
        p2 = np.zeros((n_traj, 1))
    y02 = np.ascontiguousarray(y0.reshape((-1, n)))
    n_t = t_eval.shape[0]
    out = np.empty((n_traj, n, n_t))
    status = np.empty(n_traj, dtype=np.int64)
    counters = np.empty((n_traj, 4))
    # ints and bools computed, not written as constants: numba would type a constant as a
    # Literal and compile the whole driver once more for it
    zero = n_t - n_t
    ensemble_explicit(address, p2, y02, float(t0), float(t1), np.full(n, float(rtol)),
                      np.full(n, float(atol)), tableau.C, tableau.A, tableau.B, tableau.E,
                      tableau.E3, tableau.use_e3, tableau.error_order, tableau.C_extra,
                      tableau.A_extra, tableau.P, tableau.adaptive, float(step),
                      float(max_step), 0.0, zero, np.ascontiguousarray(t_eval), zero < 0,
                      np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64),
                      zero + 1, zero + SAVE_TRAJECTORY, zero, out, status, counters,
                      np.empty((n_traj, 0, 1)), np.empty((n_traj, 0, 1, n)),
                      np.empty((n_traj, 0), dtype=np.int64))
    return status, out
