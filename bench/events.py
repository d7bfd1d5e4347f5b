"""The cost of event location: fastode vs scipy with 0, 1 and 2 events that never fire.

    python bench/events.py [--rounds N]

Lotka-Volterra (t to 15, rtol 1e-6, atol 1e-9), RK45 and DOP853, warm `solve_ivp` calls with plain
Python RHS and event functions, interleaved rounds, minimum. Events g = y0 - 100 and
g = y1 - 100 are checked on every step (fastode: at ``event_samples`` = 4 points of the step's
interpolant; scipy: at the step end) and never fire, so the time difference is the checking.
"""
import argparse
import os
import sys

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import harness  # noqa: E402  (pins the thread pools before numba is imported)
from bench.harness import Contender, fmt_ratio, fmt_time, interleaved, markdown_table  # noqa: E402

import numpy as np  # noqa: E402
import scipy.integrate  # noqa: E402

import fastode  # noqa: E402


def lotka_volterra(t, y):
    return np.array([1.5 * y[0] - y[0] * y[1], -3.0 * y[1] + y[0] * y[1]])


def prey_above_100(t, y):
    return y[0] - 100.0


def predators_above_100(t, y):
    return y[1] - 100.0


EVENT_SETS = [("none", None), ("1 event", [prey_above_100]),
              ("2 events", [prey_above_100, predators_above_100])]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    rows = []
    for method in ("RK45", "DOP853"):
        base = None
        for label, events in EVENT_SETS:
            def ours(m=method, e=events):
                return fastode.solve_ivp(lotka_volterra, (0.0, 15.0), [10.0, 5.0], method=m,
                                         rtol=1e-6, atol=1e-9, events=e)

            def theirs(m=method, e=events):
                return scipy.integrate.solve_ivp(lotka_volterra, (0.0, 15.0), [10.0, 5.0],
                                                 method=m, rtol=1e-6, atol=1e-9, events=e)
            sol = ours()
            steps = sol.t.size - 1
            res = interleaved([Contender("fastode", ours),
                               Contender("scipy", theirs, max_rounds=2)], args.rounds)
            tf, ts = res["fastode"].best, res["scipy"].best
            base = tf if base is None else base
            per_step = "—" if events is None else f"{(tf - base) / steps * 1e9:.0f} ns"
            rows.append([method, label, steps, fmt_time(tf), per_step, fmt_time(ts),
                         fmt_ratio(ts / tf, 1)])
    print(f"python bench/events.py --rounds {args.rounds}  ({harness.thread_note()})\n")
    print(markdown_table(["method", "events", "steps", "fastode", "event cost per step",
                          "scipy", "speed-up"], rows))


if __name__ == "__main__":
    main()
