"""Per-call cost of a small warm solve: Lotka-Volterra, RK45, t 0..15, rtol 1e-6, atol 1e-9.

fastode (min of 7 x 300 calls) against scipy (min of 3 x 5) in the same process; the ratio is the
figure to read. Compare two versions of fastode side by side in fresh processes, e.g.
``git worktree add /tmp/base <commit>`` then alternate
``PYTHONPATH=/tmp/base python bench/solve_overhead.py`` and ``python bench/solve_overhead.py``.
"""
import timeit

import numpy as np
import scipy.integrate

import fastode


def lotka_volterra(t, y, a, b, c, d):
    return np.array([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])


def main():
    args = (1.5, 1.0, 3.0, 1.0)
    kwargs = dict(args=args, rtol=1e-6, atol=1e-9)

    def ours():
        return fastode.solve_ivp(lotka_volterra, (0.0, 15.0), [10.0, 5.0], **kwargs)

    def theirs():
        return scipy.integrate.solve_ivp(lotka_volterra, (0.0, 15.0), [10.0, 5.0], **kwargs)

    ours()  # compile (or load) once
    t_ours = min(timeit.repeat(ours, number=300, repeat=7)) / 300
    t_scipy = min(timeit.repeat(theirs, number=5, repeat=3)) / 5
    print(f"fastode {fastode.__file__}: {t_ours * 1e6:.1f} us; scipy {t_scipy * 1e3:.2f} ms; "
          f"ratio {t_scipy / t_ours:.0f}x")


if __name__ == "__main__":
    main()
