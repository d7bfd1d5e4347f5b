"""Step-by-step stiff solvers: fastode's Radau / BDF / LSODA classes vs scipy's.

    python bench/step_classes.py [--rounds N]

Each contender builds the solver and calls ``step()`` until it finishes (scipy's OdeSolver
interface, what code that drives a solver by hand does), on Robertson (t to 1e5, rtol 1e-6,
atol 1e-10) and Van der Pol mu=1e3 (t to 3000, rtol 1e-6, atol 1e-9). Warm (compiled and cached
beforehand), interleaved rounds, minimum; steps and nfev of each. fastode's LSODA is its own RK45 <->
Rodas4 switching, not ODEPACK's, so its step count differs from scipy's LSODA.
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


def robertson(t, y):
    return np.array([-0.04 * y[0] + 1e4 * y[1] * y[2],
                     0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                     3e7 * y[1] ** 2])


def vdp1000(t, y):
    return np.array([y[1], 1000.0 * (1.0 - y[0] ** 2) * y[1] - y[0]])


PROBLEMS = [("Robertson", robertson, [1.0, 0.0, 0.0], 1e5, 1e-6, 1e-10),
            ("Van der Pol mu=1e3", vdp1000, [2.0, 0.0], 3000.0, 1e-6, 1e-9)]
PAIRS = [("Radau", fastode.Radau, scipy.integrate.Radau),
         ("BDF", fastode.BDF, scipy.integrate.BDF),
         ("LSODA", fastode.LSODA, scipy.integrate.LSODA)]


def run_to_end(cls, fun, y0, t1, rtol, atol):
    solver = cls(fun, 0.0, y0, t1, rtol=rtol, atol=atol)
    steps = 0
    while solver.status == "running":
        solver.step()
        steps += 1
    if solver.status != "finished":
        raise RuntimeError(f"{cls.__module__}.{cls.__name__} failed")
    return steps, solver.nfev


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    rows = []
    for pname, fun, y0, t1, rtol, atol in PROBLEMS:
        for mname, ours, theirs in PAIRS:
            counts = {who: run_to_end(cls, fun, y0, t1, rtol, atol)   # also compiles
                      for who, cls in (("fastode", ours), ("scipy", theirs))}
            res = interleaved([
                Contender("fastode", lambda c=ours: run_to_end(c, fun, y0, t1, rtol, atol)),
                Contender("scipy", lambda c=theirs: run_to_end(c, fun, y0, t1, rtol, atol),
                          max_rounds=2)], args.rounds)
            tf, ts = res["fastode"].best, res["scipy"].best
            rows.append([pname, mname, fmt_time(tf), fmt_time(ts), fmt_ratio(ts / tf, 1),
                         f"{counts['fastode'][0]} / {counts['scipy'][0]}",
                         f"{counts['fastode'][1]} / {counts['scipy'][1]}"])
    print(f"python bench/step_classes.py --rounds {args.rounds}  ({harness.thread_note()})\n")
    print(markdown_table(["problem", "class", "fastode", "scipy", "speed-up",
                          "steps (fastode / scipy)", "nfev (fastode / scipy)"], rows))


if __name__ == "__main__":
    main()
