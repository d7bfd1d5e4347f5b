"""Output recording shared by the families' drivers: event sampling ``record_events`` and the
dense-output segment store ``record_segment`` (moved from kernels/explicit.py)."""

import math

from numba import njit

from .callbacks import call_event
from .events import brent_root_theta, is_crossing


@njit(cache=True, nogil=True, error_model="numpy")
def record_events(event_addresses, event_directions, event_terminal, event_samples, p, t, h, y,
                  y_new, Q, g_old, g_new, ybuf, found_theta, found_index, ev_count,
                  ev_t, ev_y, ev_index, n_ev):
    """Locate the events of one accepted step and append them to the event buffers.

    The buffers must have room for ``found_theta.shape[0]`` more rows. Returns
    (n_ev, stop, theta_stop, failed): ``stop`` when a terminal event ended the integration at
    t + theta_stop h; ``failed`` when an event function returned NaN on this step (its
    compiled wrapper writes NaN when it raises): then nothing of the step is recorded, and the
    driver ends the integration with EVENT_FAILED (a NaN compares False, so sampling on would
    miss or invent roots).
    """
    # The sampling of events.py's crossing rule, written out (Horner as evaluate_dense): no
    # array-argument call on a step without a crossing (each costs reference-count updates);
    # a crossing is refined by brent_root_theta (inlined) and inserted in time order.
    # Reference counts: numba increfs the array arguments on entry; LLVM's refcount pruning
    # removes them only when they are released together at one exit, so the loops below have
    # no break (a break gives a variable a second release point) and the function cannot raise
    # (error_model numpy; inlined helpers, no calls).
    n = Q.shape[0]
    q = Q.shape[1]
    n_found = 0
    failed = False
    for e in range(event_addresses.shape[0]):
        address = event_addresses[e]
        g_a = g_old[e]
        theta_a = 0.0
        r = 1
        if math.isnan(g_a):  # g failed at the step start (t0: the driver's first call)
            failed = True
            r = event_samples + 1
        while r <= event_samples:  # a loop without break: see the note above
            theta_b = r / event_samples
            if r == event_samples:
                g_b = call_event(address, t + h, y_new, p)
                g_new[e] = g_b
            else:
                for i in range(n):
                    acc = Q[i, q - 1]
                    for j in range(q - 2, -1, -1):
                        acc = acc * theta_b + Q[i, j]
                    ybuf[0, i] = y[i] + acc * theta_b
                # ybuf (1 x n) whole: its data pointer is row 0's, without a view
                g_b = call_event(address, t + theta_b * h, ybuf, p)
            if math.isnan(g_b):
                failed = True
                r = event_samples  # no more samples of this event
            elif is_crossing(g_a, g_b, event_directions[e]):
                theta = brent_root_theta(address, p, t, h, y, Q, ybuf, theta_a, g_a, theta_b,
                                         g_b)
                if math.isnan(theta):  # g returned NaN inside the root search
                    failed = True
                    r = event_samples
                elif n_found == found_theta.shape[0]:
                    r = event_samples  # buffers full: stop this event's samples
                else:
                    # insertion sort by theta: events inside one step are few
                    j = n_found
                    while j > 0 and found_theta[j - 1] > theta:
                        found_theta[j] = found_theta[j - 1]
                        found_index[j] = found_index[j - 1]
                        j -= 1
                    found_theta[j] = theta
                    found_index[j] = e
                    n_found += 1
            g_a = g_b
            theta_a = theta_b
            r += 1
    stop = False
    theta_stop = 1.0
    if failed:
        n_found = 0  # report no event of a step on which g failed
    r = 0
    while r < n_found and not stop:
        e = found_index[r]
        theta = found_theta[r]
        ev_t[n_ev] = t + theta * h
        for i in range(n):  # evaluate_dense(y, Q, theta, ev_y, n_ev)
            acc = Q[i, q - 1]
            for j in range(q - 2, -1, -1):
                acc = acc * theta + Q[i, j]
            ev_y[n_ev, i] = y[i] + acc * theta
        ev_index[n_ev] = e
        n_ev += 1
        ev_count[e] += 1
        if event_terminal[e] > 0 and ev_count[e] >= event_terminal[e]:
            stop = True
            theta_stop = found_theta[r]
        r += 1
    for e in range(g_old.shape[0]):
        g_old[e] = g_new[e]
    # a last use of every array argument: all are released here, together (see the note on
    # reference counts above)
    n_ev += 0 * (ybuf.shape[0] + y_new.shape[0] + p.shape[0] + event_directions.shape[0]
                 + event_addresses.shape[0] + y.shape[0] + Q.shape[0] + found_theta.shape[0]
                 + found_index.shape[0] + event_terminal.shape[0] + ev_count.shape[0]
                 + ev_t.shape[0] + ev_y.shape[0] + ev_index.shape[0])
    return n_ev, stop, theta_stop, failed


@njit(cache=True, nogil=True)
def record_segment(t, h, y, Q, seg_t, seg_h, seg_data, n_seg):
    """Append one dense-output segment: start, signed step, [y, Q.ravel()]."""
    n = y.shape[0]
    q = Q.shape[1]
    seg_t[n_seg] = t
    seg_h[n_seg] = h
    for i in range(n):
        seg_data[n_seg, i] = y[i]
        for j in range(q):
            seg_data[n_seg, n + i * q + j] = Q[i, j]
