"""Where one 1000-step solve_sde path spends its time: inside fastode.sde.driver.solve_one
(numba dispatch + kernel) vs the Python around it (docs/benchmarks.md, SDE section).
Run from the repository root: python bench/sde_one_path_split.py"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fastode.sde.driver as drv  # noqa: E402
from fastode import solve_sde  # noqa: E402


def drift(t, y):
    return np.array([-y[0]])


def diff(t, y):
    return np.array([0.5])


def main(n=3000):
    kw = dict(method="EM", dt=1e-3, seed=0, noise="additive")
    solve_sde(drift, diff, (0, 1), [1.0], **kw)
    orig = drv.solve_one
    spent = [0.0]
    saved = {}

    def timed(*a):
        start = time.perf_counter()
        r = orig(*a)
        spent[0] += time.perf_counter() - start
        saved["args"] = a
        return r

    drv.solve_one = timed
    try:
        start = time.perf_counter()
        for _ in range(n):
            solve_sde(drift, diff, (0, 1), [1.0], **kw)
        total = (time.perf_counter() - start) / n
    finally:
        drv.solve_one = orig
    inside = spent[0] / n
    print(f"solve_sde {total * 1e6:.1f} us per call; inside solve_one (dispatch + kernel) "
          f"{inside * 1e6:.1f} us; Python around it {(total - inside) * 1e6:.1f} us")
    start = time.perf_counter()
    for _ in range(n):
        orig(*saved["args"])
    print(f"solve_one alone, same arguments: {(time.perf_counter() - start) / n * 1e6:.1f} us")


if __name__ == "__main__":
    main()
