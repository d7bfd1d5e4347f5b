"""Compile every kernel once, at install time, so that no user waits for it.

numba compiles a kernel the first time it runs and fastode keeps the machine code in its kernel
cache (``fastode/_kernel_cache``, see :mod:`fastode.kernel_cache`). ``fastode warmup`` (which
``make setup`` runs after installing) runs a tiny problem through every kernel entry point. The
entry points are independent, so they compile in parallel worker processes (one per core by
default); a last pass in this process then loads every one of them from the cache, which
recompiles any entry that two workers' index writes raced over, and proves the cache complete.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np


def _decay(t, y, k):
    return np.array([-k * y[0]])


def _decay_p(t, y, p):
    return np.array([-p[0] * y[0]])


def _crossing(t, y, k):
    return y[0] - 0.5


_OUTPUTS = dict(dense_output=True, events=_crossing, t_eval=[0.5, 1.0])


def _solve(method, k=1.0, **extra):
    from .ivp import solve_ivp
    return solve_ivp(_decay, (0.0, 1.0), [1.0], args=(k,), method=method, **extra)


def _explicit():
    sol = _solve("RK45", **_OUTPUTS)
    sol.sol(0.25)
    _solve("RK45")


def _step_class(name):
    from . import solvers
    solver = getattr(solvers, name)(lambda t, y: -y, 0.0, np.array([1.0]), 1.0)
    solver.step()
    solver.dense_output()(0.01)


def _switching_compiled():
    # LSODA / auto's compiled loop of legs (fastode.kernels.switching.compiled)
    from .ivp_auto import kernel_call
    solve, call_args, keep = kernel_call(_decay, (0.0, 1.0), [1.0], "LSODA", args=(1e4,),
                                         rtol=1e-9)
    solve(*call_args)


def _ensemble(method="RK45"):
    """One family's prange kernel (every option of a sweep -- events, jac, save mode -- is the
    same compiled signature)."""
    from .ensemble import solve_ensemble
    solve_ensemble(_decay_p, (0.0, 1.0), [1.0], params=np.ones((2, 1)), t_eval=[0.5, 1.0],
                   method=method)


def _ensemble_batch():
    from .ensemble import solve_ensemble
    solve_ensemble(_decay_p, (0.0, 1.0), [1.0], params=np.ones((2, 1)), t_eval=[0.5, 1.0],
                   mode="batch")


def _pendulum(t, y, b):
    return np.array([y[1], -np.sin(y[0]) - b * y[1]])


def _analysis():
    """fastode.analysis: the Newton, Jacobian, grid, Benettin and continuation kernels."""
    from .analysis import continuation, equilibria, lyapunov_check, lyapunov_exponents
    continuation(_pendulum, [0.0, 0.0], 0.5, 0, args=(0.5,), max_points=3)
    lyapunov_exponents(_pendulum, [1.0, 0.0], (0.0, 0.2), args=(0.5,), dt=0.1, dt_renorm=0.1)
    equilibria(_pendulum, bounds=[(-1.0, 1.0), (-1.0, 1.0)], args=(0.5,), n_starts=4)
    lyapunov_check(lambda y: y[0] ** 2 + y[1] ** 2, _pendulum, region=[(-1.0, 1.0)] * 2,
                   args=(0.5,), n_grid=3)


def _sde():
    from .sde import solve_sde

    def g(t, y, k):
        return 0.1 + 0.0 * y
    # one call per path kernel: low-order fixed steps, SRI adaptive (SRA shares its driver)
    solve_sde(_decay, g, (0.0, 1.0), [1.0], method="EM", dt=0.5, args=(1.0,), seed=0)
    solve_sde(_decay, g, (0.0, 1.0), [1.0], args=(1.0,), seed=0)


def _langevin():
    from .langevin import sample

    def grad(x):
        return -x

    def logp(x):
        return -0.5 * x[0] * x[0]
    sample(grad, [0.0], method="MALA", n_samples=2, log_density=logp, seed=0)


def _pde():
    """fastode.pde: the transport stencil (one signature for 1-D and 2-D) and the Brusselator
    reaction; the RHS around them is user-level code compiled per problem."""
    from .pde import brusselator_2d, heat_1d
    for prob in (brusselator_2d(3), heat_1d(3, 1.0)):
        prob.fun(0.0, prob.y0)
    heat_1d(3, 1.0).solve((0.0, 0.1))


def _linear(t, y):
    return -y


def _krylov():
    """fastode.kernels.krylov (issue #15): J's grouped values, ILU(0), GMRES (one compiled copy
    for every preconditioner kind), on a tridiagonal pattern."""
    from .kernels import krylov
    from .kernels.jacobian import band_groups
    from .rhs import compile_rhs
    n = 4
    compiled = compile_rhs(_linear, n, (), False, False)
    p, y = np.zeros(1), np.ones(n)
    f0 = -y
    group_ptr, group_cols, col_ptr, rows = band_groups(n, 1, 1)
    jvals = np.zeros(rows.size)
    krylov.grouped_jacobian_values(compiled.address, p, 0.0, y, f0, np.ones(n), group_ptr,
                                   group_cols, col_ptr, rows, jvals, *np.empty((3, n)))
    lu, diag, pos = krylov.ilu_workspace(col_ptr)
    krylov.ilu0_factor(col_ptr, rows, jvals, 0.1, lu, diag, pos)
    V, H = krylov.krylov_workspace(n, 2)
    krylov.gmres(compiled.address, p, 0.0, y, f0, 0.1, y, np.ones(n), 1e-6, 2, 1,
                 krylov.PREC_ILU0, col_ptr, rows, lu, diag, 0, np.empty(n), V, H)


# entry point -> what compiles it; largest first (measured cold on 2 cores, numba 0.68), so that
# workers taking the next job when free balance the load
JOBS = {
    "BDF": lambda: _solve("BDF", **_OUTPUTS),
    "Radau": lambda: _solve("Radau", **_OUTPUTS),
    "Rosenbrock": lambda: _solve("Rodas5P", **_OUTPUTS),
    "ESDIRK": lambda: (_solve("KenCarp4", **_OUTPUTS),
                       _solve("implicit_euler", step=0.25)),
    "Radau class": lambda: _step_class("Radau"),
    "BDF class": lambda: _step_class("BDF"),
    "explicit": _explicit,
    # stiff (k = 1e4): LSODA switches, compiling the legs of fastode.kernels.switching (the
    # Rodas4 leg at rtol 1e-3, the BDF leg at rtol 1e-9)
    "LSODA": lambda: (_solve("LSODA", k=1e4, **_OUTPUTS),
                      _solve("LSODA", k=1e4, rtol=1e-9, **_OUTPUTS), _switching_compiled()),
    "LSODA class": lambda: _step_class("LSODA"),
    "ensemble": _ensemble,
    # the stiff families' ensemble kernels (fastode.kernels.ensemble_stiff): each links its
    # family driver again (implicit_euler, other coefficient types, compiles on first use)
    "ensemble BDF": lambda: _ensemble("BDF"),
    "ensemble Radau": lambda: _ensemble("Radau"),
    "ensemble Rosenbrock": lambda: _ensemble("Rodas5P"),
    "ensemble ESDIRK": lambda: _ensemble("KenCarp4"),
    "ensemble switching": lambda: _ensemble("LSODA"),
    "ensemble batch": _ensemble_batch,
    "RK45 class": lambda: _step_class("RK45"),
    "analysis": _analysis,
    "SDE": _sde,
    "Langevin": _langevin,
    "PDE": _pde,
    "Krylov": _krylov,
}


def _run_jobs(names):
    """Run the named jobs here; returns {name: seconds}."""
    times = {}
    for name in names:
        start = time.perf_counter()
        JOBS[name]()
        times[name] = time.perf_counter() - start
    return times


def _worker(name):
    return name, _run_jobs([name])[name]


def warmup(verbose: bool = False, jobs: int | None = None) -> float:
    """Compile every kernel entry point into fastode's kernel cache.

    Parameters
    ----------
    verbose : bool
        Print what compiled and how long it took.
    jobs : int, optional
        Worker processes (default: the number of usable cores; 1 compiles in this process).

    Returns
    -------
    float
        Wall seconds the whole warm-up took.

    Examples
    --------
    Run once after ``pip install`` (``make setup`` and the ``fastode warmup`` command do it);
    it takes a minute or two:

    >>> from fastode.warmup import warmup
    >>> warmup(verbose=True)           # doctest: +SKIP
    """
    start = time.perf_counter()
    if jobs is None:
        jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
            (os.cpu_count() or 1)
    jobs = max(1, min(int(jobs), len(JOBS)))
    compiled = {}
    if jobs > 1:
        import concurrent.futures
        import multiprocessing
        # spawn: a forked child would inherit this process's numba state half-initialised
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
            for name, seconds in pool.map(_worker, JOBS):
                compiled[name] = seconds
    parallel = time.perf_counter() - start
    # everything again here: loads from the cache (and compiles what a worker's write lost)
    check = _run_jobs(JOBS)
    elapsed = time.perf_counter() - start
    if verbose:
        if compiled:
            worst = sorted(compiled.items(), key=lambda kv: -kv[1])
            print(f"fastode: kernels compiled in {parallel:.1f} s by {jobs} processes ("
                  + ", ".join(f"{k} {v:.0f} s" for k, v in worst) + ")")
        print(f"fastode: kernel cache checked in {sum(check.values()):.1f} s "
              f"({'; '.join(f'{k} {v:.2f} s' for k, v in check.items() if v > 1.0) or 'all loaded'})"
              f"; total {elapsed:.1f} s")
    return elapsed


if __name__ == "__main__":
    warmup(verbose=True, jobs=int(sys.argv[1]) if len(sys.argv) > 1 else None)
