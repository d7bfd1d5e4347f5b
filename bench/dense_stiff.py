"""A truly dense stiff system with ``jac`` given (issue #15): fastode vs scipy, n = 500 and 1000.

    python bench/dense_stiff.py [--sizes 500,1000] [--methods BDF,Radau] [--rtol 1e-6]
                                [--rounds 2] [--out bench/out/]

The problem: y' = A (y - g(t)) + g'(t), g(t) = sin(t) u, with A = -Q diag(lambda) Q^T, Q a fixed
random orthogonal matrix (seeded) and lambda spread log-uniformly over [1, 1e4]: every entry of A
and of the Jacobian (``jac`` returns A) is non-zero, and the stiffness ratio is 1e4. Its exact
solution is y(t) = g(t) + Q exp(-lambda t) Q^T (y0 - g(0)), so the error is measured against
it, at t_eval = 0, 1, ..., 10 (max |y - y_exact| / max |y_exact|).

fastode (the RHS and ``jac`` compiled by numba; ``A @ v`` calls BLAS there as in numpy) against
``scipy.integrate.solve_ivp`` with the same Python functions, atol = rtol * 1e-3. Every thread
pool is pinned to one thread (bench/harness.py; ``FASTODE_BENCH_THREADS`` to change). Each
contender is run once to compile (fastode) and then ``--rounds`` times; the minimum is reported.
fastode factors these matrices with LAPACK (fastode.kernels.lapack, n >= LAPACK_MIN_N); run with
``PYTHONPATH`` at an older checkout for the inlined LU's figures. Writes ``dense_stiff.md``.
"""
import argparse
import os
import sys
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.harness import (environment_note, fmt_err, fmt_ratio, fmt_time,  # noqa: E402
                           markdown_table)

import numpy as np  # noqa: E402
import scipy.integrate  # noqa: E402

import fastode  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
T_END = 10.0


def problem(n, seed=0):
    """(A, Q, lambdas, u, y0) of the dense stiff system of size n."""
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    q = q * np.sign(np.diag(r))                 # a fixed orthogonal matrix (Haar-distributed)
    lam = np.logspace(0.0, 4.0, n)
    a = -(q * lam) @ q.T
    u = rng.uniform(0.5, 1.5, n)
    y0 = rng.uniform(-1.0, 1.0, n)
    return np.ascontiguousarray(a), q, lam, u, y0


def rhs(t, y, a, u):
    return a @ (y - np.sin(t) * u) + np.cos(t) * u


def jac(t, y, a, u):
    return a


def exact(t_eval, q, lam, u, y0):
    """The exact solution at the times t_eval, shape (n, len(t_eval))."""
    c = q.T @ y0                                # g(0) = 0
    return np.sin(t_eval)[None, :] * u[:, None] + q @ (np.exp(-np.outer(lam, t_eval)) * c[:, None])


def run(solver, method, n, rtol, rounds, data):
    a, q, lam, u, y0 = data
    t_eval = np.linspace(0.0, T_END, 11)
    kwargs = dict(method=method, t_eval=t_eval, args=(a, u), jac=jac, rtol=rtol,
                  atol=rtol * 1e-3)
    if solver is fastode.solve_ivp:
        solver(rhs, (0.0, T_END), y0, **kwargs)  # compile the RHS and jac (cached after)
    best = np.inf
    for _ in range(rounds):
        start = time.perf_counter()
        sol = solver(rhs, (0.0, T_END), y0, **kwargs)
        best = min(best, time.perf_counter() - start)
    ref = exact(t_eval, q, lam, u, y0)
    err = np.abs(sol.y - ref).max() / np.abs(ref).max() if sol.success else np.inf
    return dict(time=best, err=err, nfev=sol.nfev, njev=sol.njev, nlu=sol.nlu,
                success=bool(sol.success))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,1000")
    parser.add_argument("--methods", default="BDF,Radau")
    parser.add_argument("--rtol", type=float, default=1e-6)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", default=os.path.join(HERE, "out"))
    args = parser.parse_args()
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        data = problem(n)
        for method in args.methods.split(","):
            f = run(fastode.solve_ivp, method, n, args.rtol, args.rounds, data)
            s = run(scipy.integrate.solve_ivp, method, n, args.rtol, args.rounds, data)
            row = [n, method, fmt_time(f["time"]), fmt_time(s["time"]),
                   fmt_ratio(s["time"] / f["time"]), fmt_err(f["err"]), fmt_err(s["err"]),
                   f"{f['nfev']}/{f['njev']}/{f['nlu']}", f"{s['nfev']}/{s['njev']}/{s['nlu']}"]
            print(" | ".join(str(c) for c in row), flush=True)
            rows.append(row)
    header = ["n", "method", "fastode", "scipy", "scipy / fastode", "error fastode",
              "error scipy", "nfev/njev/nlu fastode", "nfev/njev/nlu scipy"]
    try:
        from fastode.kernels.lapack import LAPACK_MIN_N
        note = f"fastode LAPACK_MIN_N = {LAPACK_MIN_N}"
    except ImportError:
        note = "fastode without LAPACK (inlined LU)"
    text = (f"Dense stiff system y' = A (y - sin(t) u) + cos(t) u, A = -Q diag(logspace(0, 4, n))"
            f" Q^T, jac given, t in [0, {T_END:g}], rtol {args.rtol:g}, atol rtol * 1e-3; error vs"
            f" the exact solution; {note}; best of {args.rounds}\n\n{environment_note()}\n\n"
            + markdown_table(header, rows) + "\n")
    print(text)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "dense_stiff.md"), "w") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
