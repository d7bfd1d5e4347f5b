"""Per-call cost of a small warm explicit solve, against scipy, split into Python and kernel.

    python bench/solve_overhead.py [--rounds 15] [--calls 300]

Lotka-Volterra (y0 = [10, 5], a=1.5, b=1, c=3, d=1 passed as ``args``, t in [0, 15]), RK45 at
rtol 1e-3 / atol 1e-6 and rtol 1e-6 / atol 1e-9 (atol = rtol * 1e-3, as ``bench.compare``), with
no ``t_eval`` (every step stored) and with a 100-point ``t_eval``. One thread.

Per case, interleaved rounds (fastode ``--calls`` calls, then scipy 2 calls, then the pieces);
each figure is the minimum over rounds of a round's mean per call:

* ``fastode`` and ``scipy``: the whole ``solve_ivp``; ``ratio`` = scipy / fastode;
* ``kernel``: the compiled driver (``fastode.kernels.explicit.explicit_rk_solve``, numba's
  argument dispatch included) called with the arguments the solve passed it;
* ``before`` / ``after``: the Python of ``solve_ivp`` before the kernel is entered and after it
  returns (result building), measured with ``perf_counter_ns`` inside a solve whose kernel is
  memoised (so those calls cost no kernel time); before + kernel + after ~= fastode.

``--return-cost`` adds what the kernel call costs before any work: the driver with t1 = t0, and
``@njit`` stubs taking the same arguments that return nothing, the driver's 13-tuple (9 fresh
arrays) or a 5-tuple (2 arrays): the cost of numba's dispatch, unboxing and boxing.

Compare two versions of fastode by running it with ``PYTHONPATH=<checkout>`` in each
(``git worktree add /tmp/base <commit>``), alternating.
"""
import argparse
import os
import sys
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import scipy.integrate  # noqa: E402


def lotka_volterra(t, y, a, b, c, d):
    return np.array([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])


ARGS = (1.5, 1.0, 3.0, 1.0)
Y0 = [10.0, 5.0]
T_SPAN = (0.0, 15.0)


def per_call(f, calls):
    s = time.perf_counter_ns()
    for _ in range(calls):
        f()
    return (time.perf_counter_ns() - s) / calls / 1e3


def main():
    import fastode
    import fastode.ivp_explicit as ivp_explicit

    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--return-cost", action="store_true")
    a = ap.parse_args()
    print(f"fastode from {os.path.dirname(fastode.__file__)}; Lotka-Volterra RK45, t 0..15; "
          f"min over {a.rounds} rounds of {a.calls} calls (scipy 2)")
    print(f"{'rtol':>6s} {'t_eval':>6s} {'scipy':>9s} {'fastode':>9s} {'ratio':>6s} "
          f"{'before':>7s} {'kernel':>7s} {'after':>7s}  (us)")
    real_kernel = ivp_explicit.explicit_rk_solve
    for rtol in (1e-3, 1e-6):
        for t_eval in (None, np.linspace(0.0, 15.0, 100)):
            kw = dict(args=ARGS, rtol=rtol, atol=rtol * 1e-3, t_eval=t_eval)

            def ours():
                return fastode.solve_ivp(lotka_volterra, T_SPAN, Y0, **kw)

            def theirs():
                return scipy.integrate.solve_ivp(lotka_volterra, T_SPAN, Y0, **kw)

            captured = {}

            def capture(*call_args):
                captured["args"] = call_args
                captured["out"] = real_kernel(*call_args)
                return captured["out"]

            stamps = []

            def memoised(*call_args):
                stamps.append(time.perf_counter_ns())
                return captured["out"]

            ivp_explicit.explicit_rk_solve = capture
            try:
                ours()
            finally:
                ivp_explicit.explicit_rk_solve = real_kernel
            call_args = captured["args"]

            def kernel():
                return real_kernel(*call_args)

            best = dict(scipy=np.inf, fastode=np.inf, kernel=np.inf, before=np.inf, after=np.inf)
            theirs()
            for _ in range(a.rounds):
                best["fastode"] = min(best["fastode"], per_call(ours, a.calls))
                best["scipy"] = min(best["scipy"], per_call(theirs, 2))
                best["kernel"] = min(best["kernel"], per_call(kernel, a.calls))
                ivp_explicit.explicit_rk_solve = memoised
                try:
                    before = after = 0
                    for _ in range(a.calls):
                        stamps.clear()
                        s = time.perf_counter_ns()
                        ours()
                        e = time.perf_counter_ns()
                        before += stamps[0] - s
                        after += e - stamps[0]
                finally:
                    ivp_explicit.explicit_rk_solve = real_kernel
                best["before"] = min(best["before"], before / a.calls / 1e3)
                best["after"] = min(best["after"], after / a.calls / 1e3)
            print(f"{rtol:6.0e} {'-' if t_eval is None else len(t_eval):>6} "
                  f"{best['scipy']:9.1f} {best['fastode']:9.2f} "
                  f"{best['scipy'] / best['fastode']:5.0f}x {best['before']:7.2f} "
                  f"{best['kernel']:7.2f} {best['after']:7.2f}", flush=True)

            if a.return_cost and rtol == 1e-6 and t_eval is None:
                return_cost(call_args, real_kernel, a.rounds, a.calls)


def return_cost(call_args, real_kernel, rounds, calls):
    from numba import njit

    @njit
    def nothing(rhs, p, t0, t1, y0, tolerances, tableau, steps, output, events):
        return 0

    @njit
    def thirteen(rhs, p, t0, t1, y0, tolerances, tableau, steps, output, events):
        n = y0.shape[0]
        return (0, np.empty(256), np.empty((256, n)), 1, np.empty(0), np.empty(0),
                np.empty((0, 8 * n)), 0, np.empty(8), np.empty((8, n)),
                np.empty(8, np.int64), 0, np.zeros(6))

    @njit
    def five(rhs, p, t0, t1, y0, tolerances, tableau, steps, output, events):
        n = y0.shape[0]
        return (0, np.empty(256), np.empty((256, n)), 1, np.zeros(6))

    empty = list(call_args)
    empty[3] = empty[2]  # t1 = t0: the driver's set-up and result, no step
    cases = {"driver, t1 = t0": (real_kernel, empty), "stub -> 0": (nothing, call_args),
             "stub -> 13-tuple, 9 arrays": (thirteen, call_args),
             "stub -> 5-tuple, 2 arrays": (five, call_args)}
    best = dict.fromkeys(cases, np.inf)
    for f, args in cases.values():
        f(*args)
    for _ in range(rounds):
        for name, (f, args) in cases.items():
            best[name] = min(best[name], per_call(lambda: f(*args), calls))
    for name, us in best.items():
        print(f"    {name:28s} {us:6.2f} us")


if __name__ == "__main__":
    main()
