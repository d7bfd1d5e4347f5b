"""Compile and cache every kernel once, so that later processes start fast.

numba compiles a kernel the first time it runs and caches the machine code on disk; the explicit
RK driver takes several seconds to compile. ``fastode.warmup()`` (or ``fastode warmup`` on the
command line, which ``make`` runs after installing) pays that once.
"""
import time

import numpy as np


def _decay(t, y, k):
    return np.array([-k * y[0]])


def _decay_p(t, y, p):
    return np.array([-p[0] * y[0]])


def _crossing(t, y, k):
    return y[0] - 0.5


def warmup(verbose=False):
    """Run a tiny problem through every kernel entry point; returns the seconds it took."""
    from .ensemble import solve_ensemble
    from .ivp import solve_ivp
    from .solvers import BDF, LSODA, RK45, Radau
    start = time.perf_counter()
    sol = solve_ivp(_decay, (0.0, 1.0), [1.0], args=(1.0,), dense_output=True,
                    events=_crossing, t_eval=[0.5, 1.0])
    sol.sol(0.25)
    for method in ("Rodas5P", "Rodas4", "Rosenbrock23", "Radau", "BDF", "KenCarp4",
                   "Kvaerno5", "implicit_euler"):
        solve_ivp(_decay, (0.0, 1.0), [1.0], args=(1.0,), method=method, dense_output=True,
                  events=_crossing, t_eval=[0.5, 1.0])
    solve_ivp(_decay, (0.0, 1.0), [1.0], args=(1.0,), method="implicit_euler", step=0.25)
    # stiff (k = 1e4): LSODA switches, compiling both legs of fastode.kernels.switching
    solve_ivp(_decay, (0.0, 1.0), [1.0], args=(1e4,), method="LSODA", dense_output=True,
              events=_crossing, t_eval=[0.5, 1.0])
    for cls in (RK45, Radau, BDF, LSODA):  # the step-by-step kernels
        solver = cls(lambda t, y: -y, 0.0, np.array([1.0]), 1.0)
        solver.step()
        solver.dense_output()(0.01)
    solve_ensemble(_decay_p, (0.0, 1.0), [1.0], params=np.ones((2, 1)), t_eval=[0.5, 1.0])
    elapsed = time.perf_counter() - start
    if verbose:
        print(f"fastode kernels compiled and cached in {elapsed:.1f} s")
    return elapsed
