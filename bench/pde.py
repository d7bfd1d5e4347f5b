"""PDEs by the method of lines (issue #15): the 2-D Brusselator, fastode BDF vs scipy BDF.

    python bench/pde.py [--sizes 32,64,128] [--solvers auto,sparse] [--rtol 1e-6]
                        [--timeout 240] [--out bench/out/]

``fastode.pde.brusselator_2d(n)``: u' = 1 + u^2 v - 4.4 u + alpha lap u, v' = 3.4 u - u^2 v +
alpha lap v, alpha = 0.02, periodic unit square, Hairer–Wanner's initial data, t in [0, 1.5],
natural [u, v] layout (2 n^2 unknowns, five-point Laplacian), BDF, rtol as given, atol = 1e-8.
Both solvers get the problem's ``fun`` (fastode compiles it; scipy calls it in Python: its
reaction is numpy over the grid, its stencil a compiled numba function) and its ``jac_sparsity``.
One thread (bench.harness pins the pools). fastode runs once per ``linear_solver`` of
``--solvers`` ("auto": what solve_ivp picks, Newton-Krylov with ILU(0) from 512 unknowns;
"sparse": the sparse LU; "dense" for the record), each in a child process killed after
``--timeout`` seconds. Time: one warm solve each (the child compiles on a short solve first,
and the sparse LU's symbolic analysis, once per pattern, is done there too; its cold cost is
reported beside). Error: max relative difference of the final state against scipy BDF at rtol
1e-10 (up to ``--reference-max``), and against scipy's solution at the same rtol.
scikit-sundae (CVODE) runs beside them where installed. Writes OUT/pde.md.
"""
import argparse
import datetime
import importlib.util
import json
import os
import subprocess
import sys
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/..")

from bench import harness  # noqa: E402  (pins the thread pools before numba is imported)
from bench.harness import fmt_err, fmt_ratio, fmt_time, markdown_table  # noqa: E402

import numpy as np  # noqa: E402
import scipy.integrate  # noqa: E402

import fastode  # noqa: E402
from fastode import pde  # noqa: E402
from fastode.rhs import compile_rhs  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
T_END = 1.5
ATOL = 1e-8


def rhs_costs(prob, calls=2000):
    """Seconds per RHS call: scipy's Python call of ``fun``, and fastode's compiled wrapper
    (through ctypes: includes ~0.3-1 us of call overhead)."""
    y = prob.y0.copy()
    prob.fun(0.0, y)  # loads the stencil from numba's cache
    start = time.perf_counter()
    for _ in range(calls // 10):
        prob.fun(0.0, y)
    python = (time.perf_counter() - start) / (calls // 10)
    import ctypes
    compiled = compile_rhs(prob.fun, prob.n, (), False, False)
    cfun = ctypes.CFUNCTYPE(None, ctypes.c_double, ctypes.c_void_p, ctypes.c_void_p,
                            ctypes.c_void_p)(compiled.address)
    out, p = np.empty(prob.n), np.zeros(1)
    args = (y.ctypes.data, p.ctypes.data, out.ctypes.data)
    cfun(0.0, *args)
    assert np.allclose(out, prob.fun(0.0, y), rtol=1e-14, atol=1e-12)
    start = time.perf_counter()
    for _ in range(calls):
        cfun(0.0, *args)
    return python, (time.perf_counter() - start) / calls


def child(n, rtol, linear_solver):
    """Run in a subprocess: a warm fastode BDF solve; prints JSON."""
    prob = pde.brusselator_2d(n)
    opts = dict(method="BDF", rtol=rtol, atol=ATOL, jac_sparsity=prob.jac_sparsity)
    if linear_solver != "auto":
        opts["linear_solver"] = linear_solver
    start = time.perf_counter()
    fastode.solve_ivp(prob.fun, (0.0, 1e-6), prob.y0, **opts)  # compiles the RHS
    first = time.perf_counter() - start
    start = time.perf_counter()
    sol = fastode.solve_ivp(prob.fun, (0.0, T_END), prob.y0, **opts)
    seconds = time.perf_counter() - start
    print(json.dumps(dict(seconds=seconds, first=first, status=int(sol.status),
                          nfev=int(sol.nfev), njev=int(sol.njev), nlu=int(sol.nlu),
                          nli=int(sol.get("nli", 0) or 0), linear_solver=sol.linear_solver,
                          y=sol.y[:, -1].tolist())))


def run_fastode(n, rtol, timeout, linear_solver):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", str(n), "--rtol", str(rtol),
           "--solvers", linear_solver]
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    start = time.perf_counter()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return dict(killed=True, wall=time.perf_counter() - start)
    if out.returncode != 0:
        return dict(error=out.stderr.strip().splitlines()[-1:] or ["?"])
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_scipy(prob, rtol, atol):
    start = time.perf_counter()
    sol = scipy.integrate.solve_ivp(prob.fun, (0.0, T_END), prob.y0, method="BDF", rtol=rtol,
                                    atol=atol, jac_sparsity=prob.jac_sparsity)
    return time.perf_counter() - start, sol


def run_sundae(prob, rtol):
    try:
        import sksundae
    except ImportError:
        return None

    def rhs(t, y, yp):
        yp[:] = prob.fun(t, y)
    start = time.perf_counter()
    sol = sksundae.cvode.CVODE(rhs, rtol=rtol, atol=ATOL, linsolver="sparse",
                               sparsity=prob.jac_sparsity).solve((0.0, T_END), prob.y0)
    return time.perf_counter() - start, np.asarray(sol.y)[-1]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="32,64,128")
    ap.add_argument("--solvers", default="auto,sparse",
                    help="fastode's linear_solver values to run (auto, sparse, krylov, dense)")
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--timeout", type=float, default=240.0)
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--dense-max", type=int, default=32,
                    help="larger grids: no fastode run with linear_solver='dense'")
    ap.add_argument("--reference-max", type=int, default=64,
                    help="larger grids: no rtol 1e-10 reference (errors not reported)")
    ap.add_argument("--sundae-max", type=int, default=64,
                    help="larger grids: no CVODE run (its difference-quotient Jacobian calls the "
                         "Python RHS once per column)")
    ap.add_argument("--child", type=int, default=None)
    a = ap.parse_args(argv)
    if a.child is not None:
        child(a.child, a.rtol, a.solvers)
        return
    rows = []
    for n in (int(s) for s in a.sizes.split(",")):
        prob = pde.brusselator_2d(n)
        py_cost, c_cost = rhs_costs(prob)
        run_scipy(prob, a.rtol, ATOL)  # warm the numba stencil and scipy's imports
        yref = run_scipy(prob, 1e-10, 1e-12)[1].y[:, -1] if n <= a.reference_max else None

        def err(y):
            if yref is None:
                return None
            return float(np.max(np.abs(np.asarray(y) - yref) / (np.abs(yref) + 1e-3)))
        sp_t, sp = run_scipy(prob, a.rtol, ATOL)
        grid = f"{n}x{n} ({2 * n * n} unknowns)"
        yscipy = sp.y[:, -1]

        def diff(y):
            return fmt_err(float(np.max(np.abs(np.asarray(y) - yscipy) / (np.abs(yscipy) + 1e-3))))
        rows.append([grid, "scipy BDF (SuperLU)", fmt_time(sp_t), f"{sp.nfev}/{sp.njev}/{sp.nlu}",
                     fmt_err(err(sp.y[:, -1])), "", "1", "", fmt_time(py_cost)])
        print(rows[-1], flush=True)
        for solver in a.solvers.split(","):
            if solver == "dense" and n > a.dense_max:
                continue
            fo = run_fastode(n, a.rtol, a.timeout, solver)
            if "seconds" in fo:
                stats = f"{fo['nfev']}/{fo['njev']}/{fo['nlu']}"
                if fo["nli"]:
                    stats += f" (nli {fo['nli']})"
                rows.append([grid, f"fastode BDF, {solver} -> {fo['linear_solver']}",
                             fmt_time(fo["seconds"]), stats, fmt_err(err(fo["y"])), diff(fo["y"]),
                             fmt_ratio(sp_t / fo["seconds"]), fmt_time(fo["first"]),
                             fmt_time(c_cost)])
            else:
                what = f"killed after {a.timeout:.0f} s" if fo.get("killed") else str(fo)
                rows.append([grid, f"fastode BDF, {solver}", what, "", "", "",
                             f"< {sp_t / a.timeout:.3f}", "", fmt_time(c_cost)])
            print(rows[-1], flush=True)
        sd = run_sundae(prob, a.rtol) if n <= a.sundae_max else None
        if sd is not None:
            rows.append([grid, "CVODE (scikit-sundae, sparse)", fmt_time(sd[0]), "",
                         fmt_err(err(sd[1])), diff(sd[1]), fmt_ratio(sp_t / sd[0]), "", ""])
    header = ["grid", "solver", "time (warm)", "nfev/njev/nlu", "err",
              "diff from scipy (same rtol)", "scipy time / time",
              "fastode's first call (compile, analysis)", "RHS per call"]
    table = markdown_table(header, rows)
    text = (f"# 2-D Brusselator, natural layout, BDF rtol {a.rtol:g}, atol {ATOL:g}\n\n"
            f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; "
            f"{harness.environment_note()}\n\n"
            f"Command: `python bench/pde.py --sizes {a.sizes} --solvers {a.solvers} "
            f"--rtol {a.rtol:g} --timeout {a.timeout:g} --dense-max {a.dense_max} "
            f"--sundae-max {a.sundae_max} "
            f"--reference-max {a.reference_max}`\n\n"
            f"scikit-sundae (CVODE): "
            f"{'installed' if importlib.util.find_spec('sksundae') else 'not installed'}"
            f"\n\n{table}\n")
    print(text)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "pde.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
