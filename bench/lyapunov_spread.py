"""Spread of the finite-time largest Lorenz exponent over starts and dt (docs/benchmarks.md,
fastode.analysis section). Run from the repository root: python bench/lyapunov_spread.py"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from fastode.analysis import lyapunov_exponents  # noqa: E402

TRUE = 0.9056  # Viswanath


def lorenz(t, y, s, r, b):
    return np.array([s * (y[1] - y[0]), y[0] * (r - y[2]) - y[1], y[0] * y[1] - b * y[2]])


def main():
    args = (10.0, 28.0, 8 / 3)
    rng = np.random.default_rng(0)
    starts = [np.array([1.0, 1.0, 1.0])]
    starts += [np.array([1.0, 1.0, 1.0]) + rng.uniform(-1, 1, 3) for _ in range(15)]
    for dt, T in ((0.01, 1000.0), (0.01, 10000.0), (0.005, 1000.0), (0.02, 1000.0)):
        l1 = np.array([lyapunov_exponents(lorenz, s, (0, 100 + T), args=args, transient=100,
                                          dt=dt, k=1).exponents[0] for s in starts])
        print(f"dt={dt} T={T:g} transient=100: standard start {l1[0]:.4f}; 16 starts min "
              f"{l1.min():.4f} max {l1.max():.4f} mean {l1.mean():.4f} std "
              f"{l1.std(ddof=1):.4f}; within 0.002 of {TRUE}: "
              f"{np.sum(abs(l1 - TRUE) < 0.002)}/16", flush=True)


if __name__ == "__main__":
    main()
