"""Stiff sweep benchmark: 10,000 Robertson trajectories with varied rate constants (issue #16).

Robertson's kinetics y0' = -k1 y0 + k3 y1 y2, y1' = k1 y0 - k3 y1 y2 - k2 y1^2, y2' = k2 y1^2,
y(0) = (1, 0, 0), t in [0, 1e5], 50 outputs (t = 0 and 49 log-spaced times from 1e-5 to 1e5);
(k1, k2, k3) = (0.04, 3e7, 1e4), each scaled by its own log-uniform factor in [0.5, 2] (seed 0);
rtol 1e-6, atol 1e-10. Reports trajectories per second for

* ``fastode.solve_ensemble`` (Rodas5P, Radau, BDF, KenCarp4; a plain Python RHS compiled by
  fastode, finite-difference Jacobians) with 1 and 2 numba threads;
* scipy's ``solve_ivp`` (LSODA, BDF, Radau) in a Python loop over the first ``--scipy-n``
  trajectories (per-trajectory throughput; the best of them is "scipy's best");
* numbalsoda's ``lsoda`` in a numba ``prange`` loop (1 and 2 threads) when numbalsoda is
  importable (``PYTHONPATH`` may point at it);
* accuracy: the largest error of the final states of the first ``--acc-n`` trajectories against
  a tight reference (scipy Radau, rtol 1e-12, atol 1e-16, analytic Jacobian), in units of the
  requested tolerance, ``max |y - ref| / (atol + rtol |ref|)`` over components and trajectories.

Every contender is timed ``--repeats`` times and the best (minimum) time is kept (the machine is
small and shared). Run from the repository root:

    python bench/ensemble_stiff.py [--quick] [--n 10000] [--repeats 3]
"""
import argparse
import os
import platform
import sys
import time

if "numba" not in sys.modules:  # the thread pool must be sized before numba starts
    os.environ.setdefault("NUMBA_NUM_THREADS", str(min(os.cpu_count() or 1, 2)))
    os.environ.setdefault("OMP_NUM_THREADS", "1")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numba  # noqa: E402
import numpy as np  # noqa: E402
from numba import njit, prange  # noqa: E402

from fastode.ensemble import solve_ensemble  # noqa: E402

K = np.array([0.04, 3e7, 1e4])
Y0 = np.array([1.0, 0.0, 0.0])
T_SPAN = (0.0, 1e5)
T_EVAL = np.concatenate([[0.0], np.logspace(-5, 5, 49)])
RTOL, ATOL = 1e-6, 1e-10


def robertson(t, y, p):
    return np.array([-p[0] * y[0] + p[2] * y[1] * y[2],
                     p[0] * y[0] - p[2] * y[1] * y[2] - p[1] * y[1] * y[1],
                     p[1] * y[1] * y[1]])


def robertson_jac(t, y, p):
    return np.array([[-p[0], p[2] * y[2], p[2] * y[1]],
                     [p[0], -p[2] * y[2] - 2.0 * p[1] * y[1], -p[2] * y[1]],
                     [0.0, 2.0 * p[1] * y[1], 0.0]])


def sweep_params(n, seed=0):
    rng = np.random.default_rng(seed)
    return K * np.exp(rng.uniform(np.log(0.5), np.log(2.0), (n, 3)))


def best_of(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def numbalsoda_sweep():
    import numbalsoda
    from numba import carray, cfunc

    @cfunc(numbalsoda.lsoda_sig)
    def rhs(t, u_ptr, du_ptr, p_ptr):
        u = carray(u_ptr, (3,))
        p = carray(p_ptr, (3,))
        du = carray(du_ptr, (3,))
        du[0] = -p[0] * u[0] + p[2] * u[1] * u[2]
        du[1] = p[0] * u[0] - p[2] * u[1] * u[2] - p[1] * u[1] * u[1]
        du[2] = p[1] * u[1] * u[1]

    @njit(parallel=True)
    def sweep(address, params, u0, t_eval, rtol, atol):
        n = params.shape[0]
        out = np.empty((n, t_eval.shape[0], u0.shape[0]))
        ok = np.empty(n, dtype=np.bool_)
        for i in prange(n):
            usol, success = numbalsoda.lsoda(address, u0, t_eval, params[i].copy(), rtol, atol,
                                             10_000_000)
            out[i] = usol
            ok[i] = success
        return out, ok

    return rhs, sweep


def error_units(final, ref):
    """max |y - ref| / (atol + rtol |ref|) over components and trajectories."""
    return float(np.max(np.abs(final - ref) / (ATOL + RTOL * np.abs(ref))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="trajectories (default 10000)")
    ap.add_argument("--quick", action="store_true",
                    help="1000 trajectories, 10 in the scipy loop, 1 repeat")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scipy-n", type=int, default=50)
    ap.add_argument("--acc-n", type=int, default=20)
    ap.add_argument("--methods", default="Rodas5P,Radau,BDF,KenCarp4,LSODA")
    ap.add_argument("--threads", default="1,2")
    args = ap.parse_args()
    if args.quick:
        args.n, args.scipy_n, args.repeats, args.acc_n = 1000, 10, 1, 5
    import scipy
    from scipy.integrate import solve_ivp

    params = sweep_params(args.n)
    threads = [int(t) for t in args.threads.split(",")]
    print(f"# Robertson sweep: {args.n} trajectories, {T_EVAL.size} outputs, rtol {RTOL}, "
          f"atol {ATOL}; numba {numba.__version__}, scipy {scipy.__version__}, "
          f"{platform.machine()}, {os.cpu_count()} CPUs, repeats {args.repeats}", flush=True)

    # reference for the accuracy column
    m = min(args.acc_n, args.n)
    ref = np.array([solve_ivp(robertson, T_SPAN, Y0, method="Radau", rtol=1e-12, atol=1e-16,
                              jac=robertson_jac, args=(params[i],)).y[:, -1] for i in range(m)])

    rows = []
    # scipy's methods in a Python loop
    scipy_best = 0.0
    for method in ("LSODA", "BDF", "Radau"):
        def loop(method=method):
            return np.array([solve_ivp(robertson, T_SPAN, Y0, method=method, t_eval=T_EVAL,
                                       args=(params[i],), rtol=RTOL, atol=ATOL).y[:, -1]
                             for i in range(args.scipy_n)])
        sec, final = best_of(loop, 1)
        rate = args.scipy_n / sec
        scipy_best = max(scipy_best, rate)
        k = min(m, args.scipy_n)
        rows.append((f"scipy solve_ivp {method} (Python loop, {args.scipy_n} traj)", 1, rate,
                     error_units(final[:k], ref[:k])))
        print(rows[-1], flush=True)

    # fastode (one warm-up call per method compiles or loads the kernel)
    for method in args.methods.split(","):
        solve_ensemble(robertson, T_SPAN, Y0, params=params[:4], t_eval=T_EVAL, method=method,
                       rtol=RTOL, atol=ATOL)
        for th in threads:
            sec, res = best_of(lambda: solve_ensemble(
                robertson, T_SPAN, Y0, params=params, t_eval=T_EVAL, method=method,
                rtol=RTOL, atol=ATOL, n_threads=th), args.repeats)
            assert res.success.all(), res.message
            rows.append((f"fastode solve_ensemble {method}", th, args.n / sec,
                         error_units(res.y[:m, :, -1], ref)))
            print(rows[-1], flush=True)

    # numbalsoda
    try:
        rhs, sweep = numbalsoda_sweep()
    except ImportError:
        print("# numbalsoda is not importable: not measured", flush=True)
    else:
        sweep(rhs.address, params[:4], Y0, T_EVAL, RTOL, ATOL)  # compile
        old = numba.get_num_threads()
        for th in threads:
            numba.set_num_threads(th)
            sec, (out, ok) = best_of(lambda: sweep(rhs.address, params, Y0, T_EVAL, RTOL, ATOL),
                                     args.repeats)
            rows.append(("numbalsoda lsoda (numba prange)", th, args.n / sec,
                         error_units(out[:m, -1, :], ref)))
            print(rows[-1], "all ok" if ok.all() else f"{(~ok).sum()} failed", flush=True)
        numba.set_num_threads(old)

    print()
    print(f"| contender | threads | traj/s | x scipy's best loop ({scipy_best:.0f} traj/s) | "
          "max error / tolerance |")
    print("|---|---|---|---|---|")
    for name, th, rate, err in rows:
        print(f"| {name} | {th} | {rate:,.0f} | {rate / scipy_best:.1f} | {err:.2g} |")


if __name__ == "__main__":
    main()
