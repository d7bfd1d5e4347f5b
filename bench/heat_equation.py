"""The heat equation by the method of lines: fastode's banded BDF and Rosenbrock vs scipy.

    python bench/heat_equation.py [--quick] [--sizes 100,1000,10000] [--rtols 1e-3,1e-6]
                                  [--methods BDF,Rodas4] [--rounds 3] [--out bench/out/]

u_t = u_xx on (0, 1), u = 0 at both ends, n interior points, second-order central differences
(a tridiagonal Jacobian, eigenvalues down to -4/dx^2), t in [0, 0.1], u(x, 0) = sin(pi x) +
sin(3 pi x)/2 + sin(7 pi x)/4; atol = rtol * 1e-3. Error: max_i |u_i(T) - exact_i| against the
exact solution of the semi-discrete system (the sine modes are eigenvectors of the difference
matrix with eigenvalues -4/dx^2 sin^2(k pi dx/2)), so it measures the integrator alone.

fastode: ``solve_ivp(..., lband=1, uband=1)`` (banded finite-difference Jacobian, 3 RHS calls,
and banded LU; BDF is scipy's algorithm, so it takes scipy BDF's steps); scipy: BDF and Radau with ``jac_sparsity`` (grouped finite differences and a
sparse LU), LSODA with ``lband=1, uband=1`` (its banded solver). All get the same plain Python
RHS (fastode compiles it with numba) and store the solution at every step. Time: minimum over
interleaved rounds, warm (compile excluded). Writes OUT/heat_equation.md (and prints it).
"""
import argparse
import datetime
import os
import sys
import warnings

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import harness  # noqa: E402  (pins the thread pools before numba is imported)
from bench.harness import (Contender, fmt_err, fmt_ratio, fmt_time, interleaved,  # noqa: E402
                           markdown_table)

import numpy as np  # noqa: E402
import scipy.integrate  # noqa: E402
import scipy.sparse  # noqa: E402

import fastode  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "out")
SIZES = (100, 1000, 10000)
RTOLS = (1e-3, 1e-4, 1e-5, 1e-6)
T_END = 0.1
MODES = ((1, 1.0), (3, 0.5), (7, 0.25))
FASTODE = ("BDF", "Rodas4", "Rosenbrock23")
SCIPY = ("BDF", "Radau", "LSODA")


def heat_problem(n):
    """(rhs, u0, exact semi-discrete solution at T_END) for n interior points."""
    dx = 1.0 / (n + 1)
    x = np.arange(1, n + 1) * dx
    c = 1.0 / dx ** 2

    def heat(t, u):
        du = np.empty_like(u)
        du[0] = c * (u[1] - 2.0 * u[0])
        du[-1] = c * (u[-2] - 2.0 * u[-1])
        du[1:-1] = c * (u[:-2] - 2.0 * u[1:-1] + u[2:])
        return du

    u0 = sum(a * np.sin(k * np.pi * x) for k, a in MODES)
    exact = sum(a * np.exp(-4.0 / dx ** 2 * np.sin(k * np.pi * dx / 2) ** 2 * T_END)
                * np.sin(k * np.pi * x) for k, a in MODES)
    return heat, u0, exact


def run(sizes=SIZES, rtols=RTOLS, rounds=3, out_dir=DEFAULT_OUT, command="", methods=FASTODE):
    rows = []
    for n in sizes:
        heat, u0, exact = heat_problem(n)
        sparsity = scipy.sparse.diags([np.ones(n - 1), np.ones(n), np.ones(n - 1)], [-1, 0, 1],
                                      format="csc")
        for rtol in rtols:
            atol = rtol * 1e-3
            contenders, stats = [], {}
            for m in methods:
                def fn(m=m):
                    return fastode.solve_ivp(heat, (0.0, T_END), u0, method=m, rtol=rtol,
                                             atol=atol, lband=1, uband=1)
                sol = fn()
                stats[f"fastode {m} (banded)"] = sol
                contenders.append(Contender(f"fastode {m} (banded)", fn=fn))
            for m in SCIPY:
                kw = dict(lband=1, uband=1) if m == "LSODA" else dict(jac_sparsity=sparsity)
                label = f"scipy {m} ({'lband/uband' if m == 'LSODA' else 'jac_sparsity'})"

                def sfn(m=m, kw=kw):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        return scipy.integrate.solve_ivp(heat, (0.0, T_END), u0, method=m,
                                                         rtol=rtol, atol=atol, **kw)
                stats[label] = sfn()
                contenders.append(Contender(label, fn=sfn, max_rounds=2 if n < 10000 else 1,
                                            target=0.05))
            timed = interleaved(contenders, rounds)
            best_scipy = min(c.best for name, c in timed.items() if name.startswith("scipy"))
            for name, c in timed.items():
                sol = stats[name]
                err = (float(np.abs(sol.y[:, -1] - exact).max())
                       if sol.success and sol.t[-1] == T_END else np.inf)
                rows.append([n, f"{rtol:.0e}", name, fmt_time(c.best), sol.nfev, sol.njev,
                             sol.nlu, fmt_err(err), fmt_ratio(best_scipy / c.best)])
            print(markdown_table(["n", "rtol", "solver", "time", "nfev", "njev", "nlu",
                                  "max error", "fastest scipy / this"], rows[-len(timed):]),
                  flush=True)
    header = ["n", "rtol", "solver", "time", "nfev", "njev", "nlu", "max error vs exact",
              "fastest scipy / this"]
    text = "\n".join([
        f"## Heat equation, method of lines ({datetime.date.today().isoformat()})\n",
        f"Command: `python bench/heat_equation.py{command}`; {harness.environment_note()}.\n",
        "u_t = u_xx on (0, 1), zero boundary values, n interior points (tridiagonal Jacobian), "
        "t in [0, 0.1], atol = rtol * 1e-3. fastode: `lband=1, uband=1` (banded FD Jacobian "
        "and banded LU); scipy BDF/Radau: `jac_sparsity` (sparse LU); scipy LSODA: "
        "`lband=1, uband=1`. Plain Python RHS for all, output at every step. Error: max "
        "|u_i(T) - exact_i| vs the exact semi-discrete solution. Time: minimum over "
        "interleaved rounds, warm.\n",
        markdown_table(header, rows), ""])
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "heat_equation.md"), "w") as fh:
        fh.write(text)
    print(text)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="rtol 1e-3 and 1e-6 only, 2 rounds")
    ap.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    ap.add_argument("--rtols", default=None)
    ap.add_argument("--methods", default=",".join(FASTODE), help="fastode methods to run")
    ap.add_argument("--rounds", type=int, default=None, help="timing rounds (default 3, 2 quick)")
    ap.add_argument("--out", default=DEFAULT_OUT)
    a = ap.parse_args(argv)
    rtols = ((1e-3, 1e-6) if a.quick else RTOLS) if a.rtols is None else \
        tuple(float(r) for r in a.rtols.split(","))
    sizes = tuple(int(s) for s in a.sizes.split(","))
    command = "".join(f" {arg}" for arg in (argv if argv is not None else sys.argv[1:]))
    rounds = a.rounds if a.rounds is not None else (2 if a.quick else 3)
    run(sizes, rtols, rounds, a.out, command, tuple(a.methods.split(",")))


if __name__ == "__main__":
    main()
