"""Where LAPACK's LU overtakes the kernels' inlined LU (issue #15): the measured crossover
behind ``fastode.kernels.lapack.LAPACK_MIN_N``.

    python bench/lapack_threshold.py [--sizes 20,50,100,200,400] [--rounds 5]

For each size n, a random well-conditioned real matrix (and a complex one, as Radau factors):
the time of one factorisation and of one solve with one right-hand side, by

* the inlined unblocked LU: ``fastode.kernels.linalg``'s ``lu_factor`` / ``lu_solve`` compiled
  with ``LAPACK_MIN_N`` set above every size (the code the drivers inline below the threshold);
* LAPACK: the same functions compiled with ``LAPACK_MIN_N = 0`` (scipy's getrf / getrs through
  ``fastode.kernels.lapack``).

Each sample is a compiled loop of copies + factorisations (the copy, timed alone, subtracted)
or of solves; the minimum over interleaved rounds is reported. Thread pools are pinned to one
thread (bench/harness.py; ``FASTODE_BENCH_THREADS=2`` for two). "factor + 3 solves" is the cost
per Jacobian update of a stiff solver doing three Newton iterations on it (BDF reuses a
factorisation for several steps, so solves weigh more there). Writes bench/out/lapack_threshold.md.
"""
import argparse
import os
import sys
import time
import types

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.harness import environment_note, fmt_ratio, fmt_time, markdown_table  # noqa: E402

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

from fastode.kernels import linalg  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def _variant(func, threshold):
    """``func`` (a linalg kernel) compiled with ``LAPACK_MIN_N = threshold``."""
    py = func.py_func
    scope = dict(py.__globals__, LAPACK_MIN_N=threshold)
    return njit(nogil=True)(types.FunctionType(py.__code__, scope, py.__name__))


def _loops(factor, solve):
    @njit(nogil=True)
    def factor_loop(reps, a, work, piv):
        info = 0
        for _ in range(reps):
            work[:, :] = a
            info += factor(work, piv)
        return info

    @njit(nogil=True)
    def copy_loop(reps, a, work):
        s = 0.0
        for _ in range(reps):
            work[:, :] = a
            s += work[0, 0].real
        return s

    @njit(nogil=True)
    def solve_loop(reps, lu, piv, b, x):
        s = 0.0
        for _ in range(reps):
            x[:] = b
            solve(lu, piv, x)
            s += x[0].real
        return s

    return factor_loop, copy_loop, solve_loop


def _time(fn, *args):
    """Seconds per repetition of ``fn(reps, *args)``, reps chosen for ~20 ms."""
    reps = 1
    while True:
        start = time.perf_counter()
        fn(reps, *args)
        elapsed = time.perf_counter() - start
        if elapsed > 0.02 or reps >= 1 << 24:
            return elapsed / reps
        reps *= 4 if elapsed < 0.005 else 2


def matrix(n, dtype, seed=0):
    """A random matrix shifted to be well conditioned (diagonal n)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n))
    if dtype == np.complex128:
        a = a + 1j * rng.standard_normal((n, n))
    return a + n * np.eye(n)


def measure(sizes, rounds):
    variants = {
        "inline": _loops(_variant(linalg.lu_factor, 1 << 30), _variant(linalg.lu_solve, 1 << 30)),
        "lapack": _loops(_variant(linalg.lu_factor, 0), _variant(linalg.lu_solve, 0)),
    }
    rows = []
    for dtype in (np.float64, np.complex128):
        for n in sizes:
            a = matrix(n, dtype)
            b = np.ones(n, dtype=dtype)
            best = {}
            for _ in range(rounds):
                for name, (factor_loop, copy_loop, solve_loop) in variants.items():
                    work = np.empty_like(a)
                    piv = np.empty(n, dtype=np.int64)
                    tf = _time(factor_loop, a, work, piv) - _time(copy_loop, a, np.empty_like(a))
                    x = np.empty_like(b)
                    ts = _time(solve_loop, work, piv, b, x)
                    if np.abs(a @ x - b).max() > 1e-10 * n:
                        raise AssertionError(f"{name} n={n}: wrong solution")
                    old = best.get(name, (np.inf, np.inf))
                    best[name] = (min(old[0], tf), min(old[1], ts))
            rows.append((dtype, n, best))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20,50,100,200,400")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(HERE, "out"))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = measure(sizes, args.rounds)
    header = ["dtype", "n", "factor inline", "factor LAPACK", "solve inline", "solve LAPACK",
              "factor + 3 solves inline", "factor + 3 solves LAPACK", "LAPACK speed-up"]
    table = []
    for dtype, n, best in rows:
        fi, si = best["inline"]
        fl, sl = best["lapack"]
        ti, tl = fi + 3 * si, fl + 3 * sl
        table.append([np.dtype(dtype).name, n, fmt_time(fi), fmt_time(fl), fmt_time(si),
                      fmt_time(sl), fmt_time(ti), fmt_time(tl), fmt_ratio(ti / tl)])
    text = (f"LU factor / solve: inlined unblocked LU vs LAPACK getrf/getrs "
            f"(LAPACK_MIN_N = {linalg.LAPACK_MIN_N} in fastode)\n\n{environment_note()}\n\n"
            + markdown_table(header, table) + "\n")
    print(text)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "lapack_threshold.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
