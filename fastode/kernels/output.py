"""Output recording shared by the whole-interval drivers: buffers, their growth, the per-step save
(dense segment, ``t_eval`` points or every accepted step).

A driver uses them as (see kernels/explicit/driver.explicit_rk_solve)::

    (t_out, y_out, n_out, seg_t, seg_h, seg_data, ev_t, ev_y, ev_index,
     events_per_step) = output_buffers(n, q, t0, y0, t_eval, use_t_eval, dense, n_events,
                                       event_samples)
    while not finished:                      # once per buffer fill
        (t_out, y_out, seg_t, seg_h, seg_data, ev_t, ev_y,
         ev_index) = grow_output(...)
        while True:                          # the hot loop: one accepted step per pass
            if output_full(...): break
            ... step, events ...
            n_out, i_eval, n_seg = save_step(...)

Reference counts (docs/architecture.md, "Why the hot loops look the way they do"; the
reproducers in bench/refcount): numba increfs every array argument of an inlined helper where
the helper starts and decrefs it where the variable dies; LLVM's refcount pruning (llvmlite's
refprune pass) removes such a pair only when the decref post-dominates the incref or every path
reaches it, with no other decref on the way (it cannot rule out aliasing) and no exception
exit. An array whose last use is in one branch, an early return, or a division that may raise
(error_model="python") then leaves one atomic incref/decref pair per array per step. So:

- ``save_step`` is a plain (not inlined) function: numba prunes a function's refops when it
  compiles that function, on its own control flow, so whatever the caller's loop looks like the
  call costs none; it has one exit, reads every array argument once more in its last block
  (``0 * (y.shape[0] + ...)``) and uses error_model="numpy" (its divisions are by an accepted
  step's h, never 0). In the explicit driver (error_model "python") the same code inlined kept
  9 pairs per step;
- the inlined helpers (``output_full``, ``interpolant_needed``) have one exit and the last
  use of every array argument in one block, outside any branch;
- the output buffers are reassigned only in the outer loop (``grow_output``), never per step.
"""
import numpy as np
from numba import njit

from . import status as st
from .buffers import grow_1d, grow_2d
from .callbacks import call_event
from .record import record_events


@njit(cache=True, nogil=True)
def output_buffers(n, q, t0, y0, t_eval, use_t_eval, dense, n_events, event_samples):
    """Allocate a driver's output buffers.

    ``q``: columns of the dense-output matrix Q (a segment row is ``[y, Q.ravel()]``). Without
    ``t_eval`` the first output row is (t0, y0).

    Returns
    -------
    (t_out, y_out, n_out, seg_t, seg_h, seg_data, ev_t, ev_y, ev_index, events_per_step)
        ``events_per_step``: the most event rows one step can add (the event buffers keep that
        much room before every step).
    """
    if use_t_eval:
        t_out = np.empty(t_eval.shape[0])
        y_out = np.empty((t_eval.shape[0], n))
    else:
        t_out = np.empty(256)
        y_out = np.empty((256, n))
        t_out[0] = t0
        y_out[0] = y0
    n_out = 0 if use_t_eval else 1
    seg_t = np.empty(256 if dense else 0)
    seg_h = np.empty(seg_t.shape[0])
    seg_data = np.empty((seg_t.shape[0], n * (q + 1)))
    events_per_step = n_events * max(event_samples, 1)
    ev_t = np.empty(events_per_step + 8)
    ev_y = np.empty((ev_t.shape[0], n))
    ev_index = np.empty(ev_t.shape[0], dtype=np.int64)
    return (t_out, y_out, n_out, seg_t, seg_h, seg_data, ev_t, ev_y, ev_index,
            events_per_step)


@njit(cache=True, nogil=True)
def event_workspace(n_events, event_samples):
    """Work arrays of ``record_events``: (ev_count, g_old, g_new, found_theta, found_index)."""
    events_per_step = n_events * max(event_samples, 1)
    return (np.zeros(n_events, dtype=np.int64), np.empty(n_events), np.empty(n_events),
            np.empty(events_per_step), np.empty(events_per_step, dtype=np.int64))


@njit(cache=True, nogil=True)
def fill_constant(t_eval, use_t_eval, t0, y0, t_out, y_out, n_out):
    """Output of an empty interval (t1 == t0): every ``t_eval`` point at (t0, y0). Returns n_out."""
    if use_t_eval:
        for k in range(t_eval.shape[0]):
            t_out[k] = t0
            y_out[k] = y0
        return t_eval.shape[0]
    return n_out


@njit(cache=True, nogil=True)
def grow_output(use_t_eval, dense, n_out, n_seg, n_ev, events_per_step, t_out, y_out, seg_t,
                seg_h, seg_data, ev_t, ev_y, ev_index):
    """Make room for one more step's output (called between runs of steps, not per step).

    Returns (t_out, y_out, seg_t, seg_h, seg_data, ev_t, ev_y, ev_index): the same arrays, or
    copies with doubled capacity.
    """
    if not use_t_eval and n_out == t_out.shape[0]:
        t_out = grow_1d(t_out, n_out + 1)
        y_out = grow_2d(y_out, n_out + 1)
    if dense and n_seg == seg_t.shape[0]:
        seg_t = grow_1d(seg_t, n_seg + 1)
        seg_h = grow_1d(seg_h, n_seg + 1)
        seg_data = grow_2d(seg_data, n_seg + 1)
    if n_ev + events_per_step > ev_t.shape[0]:
        ev_t = grow_1d(ev_t, n_ev + events_per_step)
        ev_y = grow_2d(ev_y, n_ev + events_per_step)
        ev_index = grow_1d(ev_index, n_ev + events_per_step)
    return t_out, y_out, seg_t, seg_h, seg_data, ev_t, ev_y, ev_index


@njit(cache=True, nogil=True, inline="always")
def output_full(use_t_eval, dense, n_out, n_seg, n_ev, events_per_step, t_out, seg_t, ev_t):
    """True when a buffer has no room for one more step (the driver then leaves the hot loop
    to grow them)."""
    # the capacities first, in one block: every array dies here (see the module's note)
    cap_out = t_out.shape[0]
    cap_seg = seg_t.shape[0]
    cap_ev = ev_t.shape[0]
    return ((not use_t_eval and n_out == cap_out) or (dense and n_seg == cap_seg)
            or n_ev + events_per_step > cap_ev)


@njit(cache=True, nogil=True, inline="always")
def interpolant_needed(dense, n_events, use_t_eval, t_eval, i_eval, direction, t_new):
    """True when the step's interpolant Q is needed: for dense output, events, or a ``t_eval``
    point strictly inside the step (a point at the step's end takes y_new itself)."""
    n_eval = t_eval.shape[0]
    t_next = t_new
    if use_t_eval and i_eval < n_eval:
        t_next = t_eval[i_eval]
    n_eval += 0 * t_eval.shape[0]  # a last use outside the branch (see the module's note)
    return dense or n_events > 0 or (
        use_t_eval and i_eval < n_eval and direction * (t_next - t_new) < 0.0)


@njit(cache=True, nogil=True, error_model="numpy")
def save_step(t, h, t_new, t_stop, stop, y, y_new, Q, dense, use_t_eval, t_eval, i_eval,
              direction, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg):
    """Record one accepted step from (t, y) to (t_new, y_new), ending at t_stop (< t_new when a
    terminal event stopped it).

    Appends the dense-output segment (start, signed step, [y, Q.ravel()]) when ``dense``; then
    the ``t_eval`` points in (t, t_stop] (interpolated by Q, Horner's rule; a point equal to
    t_new takes y_new), or the step's end (t_stop, y(t_stop)). ``y`` is the base of the
    interpolant y(t + theta h) = y + sum_j Q[:, j] theta^(j+1); the buffers must have room.

    Returns (n_out, i_eval, n_seg).
    """
    n = y.shape[0]
    q = Q.shape[1]
    if dense:
        seg_t[n_seg] = t
        seg_h[n_seg] = h
        for i in range(n):
            seg_data[n_seg, i] = y[i]
            for j in range(q):
                seg_data[n_seg, n + i * q + j] = Q[i, j]
        n_seg += 1
    if use_t_eval:
        while i_eval < t_eval.shape[0] and direction * (t_eval[i_eval] - t_stop) <= 0.0:
            te = t_eval[i_eval]
            t_out[n_out] = te
            if te == t_new:
                for i in range(n):
                    y_out[n_out, i] = y_new[i]
            else:
                theta = (te - t) / h
                for i in range(n):  # interpolation.evaluate_dense
                    acc = Q[i, q - 1]
                    for j in range(q - 2, -1, -1):
                        acc = acc * theta + Q[i, j]
                    y_out[n_out, i] = y[i] + acc * theta
            n_out += 1
            i_eval += 1
    else:
        t_out[n_out] = t_stop
        if stop:
            theta = (t_stop - t) / h
            for i in range(n):
                acc = Q[i, q - 1]
                for j in range(q - 2, -1, -1):
                    acc = acc * theta + Q[i, j]
                y_out[n_out, i] = y[i] + acc * theta
        else:
            for i in range(n):
                y_out[n_out, i] = y_new[i]
        n_out += 1
    # a last use of every array argument, in one block (see the module's note)
    n_seg += 0 * (y.shape[0] + y_new.shape[0] + Q.shape[0] + t_eval.shape[0] + t_out.shape[0]
                  + y_out.shape[0] + seg_t.shape[0] + seg_h.shape[0] + seg_data.shape[0])
    return n_out, i_eval, n_seg


@njit(cache=True, nogil=True)
def start_output(n, q, t0, y0, p, t_eval, use_t_eval, dense, event_addresses, event_samples):
    """A driver's output buffers and event workspace, with the event functions' values at
    (t0, y0) in ``g_old`` (call it after the first RHS evaluation, as scipy does).

    Returns
    -------
    (t_out, y_out, n_out, seg_t, seg_h, seg_data, ev_t, ev_y, ev_index, events_per_step,
     ev_count, g_old, g_new, found_theta, found_index, ybuf)
        :func:`output_buffers`, :func:`event_workspace`, and a (1, n) row for the event
        functions' states.
    """
    n_events = event_addresses.shape[0]
    (t_out, y_out, n_out, seg_t, seg_h, seg_data, ev_t, ev_y, ev_index,
     events_per_step) = output_buffers(n, q, t0, y0, t_eval, use_t_eval, dense, n_events,
                                       event_samples)
    ev_count, g_old, g_new, found_theta, found_index = event_workspace(n_events, event_samples)
    for e in range(n_events):
        g_old[e] = call_event(event_addresses[e], t0, y0, p)
    return (t_out, y_out, n_out, seg_t, seg_h, seg_data, ev_t, ev_y, ev_index, events_per_step,
            ev_count, g_old, g_new, found_theta, found_index, np.empty((1, n)))


@njit(cache=True, nogil=True)
def start_status(t0, t1, y0, t_eval, use_t_eval, t_out, y_out, n_out):
    """Status of a solve that ends where it starts: an empty interval (every ``t_eval`` point
    at (t0, y0), SUCCESS), or else a non-finite f(t0, y0) (NON_FINITE). Returns (status, n_out)."""
    if t1 == t0:
        return st.SUCCESS, fill_constant(t_eval, use_t_eval, t0, y0, t_out, y_out, n_out)
    return st.NON_FINITE, n_out


@njit(cache=True, nogil=True)
def solve_counters(size, nfev, naccept, nreject, t, njev, nlu, h_abs, attempts):
    """The counters a driver returns, the first ``size`` of
    [nfev, naccept, nreject, t_final, njev, nlu, h_abs_next, attempts]."""
    out = np.zeros(size)
    out[0] = nfev
    out[1] = naccept
    out[2] = nreject
    out[3] = t
    if size > 4:
        out[4] = njev
        out[5] = nlu
    if size > 6:
        out[6] = h_abs
        out[7] = attempts
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def record_step(t, h, t_new, y, y_new, Q, status, p, event_addresses, event_directions,
                event_terminal, event_samples, g_old, g_new, ybuf, found_theta, found_index,
                ev_count, ev_t, ev_y, ev_index, n_ev, dense, use_t_eval, t_eval, i_eval,
                direction, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg):
    """Record an accepted step from (t, y) to (t_new, y_new) with interpolant Q: its events
    (while ``status`` is SUCCESS), then its output up to the end or a terminal event
    (:func:`save_step`). The buffers must have room (:func:`output_full`).

    Returns (status, theta_stop, n_ev, n_out, i_eval, n_seg): ``status`` EVENT_FAILED when an
    event function failed on the step (nothing of it recorded: the driver ends at t),
    TERMINATED when a terminal event ended the integration at t + theta_stop h, otherwise the
    status given. The drivers write it out (kernels/expand.py).
    """
    stop = False
    theta_stop = 1.0
    t_stop = t_new
    if event_addresses.shape[0] > 0 and status == st.SUCCESS:
        n_ev, stop, theta_stop, event_failed = record_events(
            event_addresses, event_directions, event_terminal, event_samples, p, t, h, y, y_new,
            Q, g_old, g_new, ybuf, found_theta, found_index, ev_count, ev_t, ev_y, ev_index,
            n_ev)
        if event_failed:  # the step's events are unknown
            status = st.EVENT_FAILED
        elif stop:
            t_stop = t + theta_stop * h
            status = st.TERMINATED
    if status != st.EVENT_FAILED:
        n_out, i_eval, n_seg = save_step(t, h, t_new, t_stop, stop, y, y_new, Q, dense,
                                         use_t_eval, t_eval, i_eval, direction, t_out, y_out,
                                         n_out, seg_t, seg_h, seg_data, n_seg)
    return status, theta_stop, n_ev, n_out, i_eval, n_seg


def begin_solve(n, q, t0, y0, p, t_eval, use_t_eval, dense, event_addresses, event_samples,
                ev_count):
    """The common start of a whole-interval driver, after f(t0, y0): a MACRO (kernels/expand.py
    writes its body into the driver, where the names it assigns become the driver's variables):
    the counters nfev (1), njev, nlu, naccept, nreject, attempts (0); the output buffers and
    event workspace of :func:`start_output` (``ev_count``: the name to set with the terminal
    events' counts); the positions i_eval, n_seg, n_ev (0)."""
    nfev = 1
    njev = nlu = naccept = nreject = attempts = 0
    (t_out, y_out, n_out, seg_t, seg_h, seg_data, ev_t, ev_y, ev_index, events_per_step,
     ev_count, g_old, g_new, found_theta, found_index, ybuf) = start_output(
        n, q, t0, y0, p, t_eval, use_t_eval, dense, event_addresses, event_samples)
    i_eval = n_seg = n_ev = 0
