"""Where a warm stiff solve's time goes: the Python front end against the compiled kernel.

    python bench/solve_split.py [--t-end 1e5] [--methods Radau,BDF,Rodas5P]

Robertson (rtol 1e-6, atol 1e-10), minimum over repeated calls, one process:

* per implicit method: the whole ``solve_ivp`` and the compiled driver alone, called with the
  arguments solve_ivp passes it (``fastode.ivp_implicit.kernel_call``); the difference is the
  Python around it (checks, compiled-function lookup, packing, the result);
* LSODA: each leg kernel with the arguments of the solve (``explicit_leg_solve``,
  ``rodas_leg_solve``), and the solve with those legs memoised, i.e. the Python alone.

Run it with ``PYTHONPATH=<checkout>`` in two checkouts to compare them (issue #12's figures in
docs/benchmarks.md).
"""
import argparse
import os
import sys
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402


def robertson(t, y):
    return np.array([-0.04 * y[0] + 1e4 * y[1] * y[2],
                     0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2, 3e7 * y[1] ** 2])


def best(f, repeats):
    f()
    b = np.inf
    for _ in range(repeats):
        s = time.perf_counter()
        f()
        b = min(b, time.perf_counter() - s)
    return b * 1e6


def main():
    import fastode
    import fastode.ivp_auto as ivp_auto
    from fastode.ivp_implicit import kernel_call

    ap = argparse.ArgumentParser()
    ap.add_argument("--t-end", type=float, default=1e5)
    ap.add_argument("--methods", default="Radau,BDF,Rodas5P,KenCarp4")
    ap.add_argument("--repeats", type=int, default=2000)
    args = ap.parse_args()
    te, reps = args.t_end, args.repeats
    y0 = [1.0, 0.0, 0.0]
    print(f"fastode from {os.path.dirname(fastode.__file__)}; Robertson to t={te:g}")
    for m in args.methods.split(","):
        kernel, call_args, keep = kernel_call(robertson, (0, te), y0, m, rtol=1e-6, atol=1e-10)
        whole = best(lambda: fastode.solve_ivp(robertson, (0, te), y0, method=m, rtol=1e-6,
                                               atol=1e-10), reps)
        alone = best(lambda: kernel(*call_args), reps)
        print(f"{m:9s} solve_ivp {whole:8.2f} us  kernel {alone:8.2f} us  "
              f"Python {whole - alone:6.2f} us")

    # LSODA: the legs' kernels with the solve's own arguments, then the solve without them
    legs = {}
    originals = {name: getattr(ivp_auto, name) for name in ("explicit_leg_solve",
                                                            "rodas_leg_solve")}
    calls = []

    def timed(name):
        def leg(*a):
            out = originals[name](*a)
            legs.setdefault(name, []).append((best(lambda: originals[name](*a), reps),
                                              int(out[12][1])))
            return out
        return leg

    def memoised(name, memo):
        def leg(*a):
            k = len(calls)
            calls.append(k)
            if k not in memo:
                memo[k] = originals[name](*a)
            return memo[k]
        return leg

    def lsoda():
        return fastode.solve_ivp(robertson, (0, te), y0, method="LSODA", rtol=1e-6, atol=1e-10)

    try:
        for name in originals:
            setattr(ivp_auto, name, timed(name))
        lsoda()
        for name, fn in originals.items():
            setattr(ivp_auto, name, fn)
        for name, runs in legs.items():
            for us, steps in runs:
                print(f"LSODA {name:18s} {us:8.2f} us  ({steps} steps)")
        whole = best(lsoda, reps)
        memos = {name: {} for name in originals}
        for name in originals:
            setattr(ivp_auto, name, memoised(name, memos[name]))

        def python_only():
            calls.clear()
            lsoda()
        print(f"LSODA solve_ivp {whole:8.2f} us  Python alone (legs memoised) "
              f"{best(python_only, reps):6.2f} us")
    finally:
        for name, fn in originals.items():
            setattr(ivp_auto, name, fn)


if __name__ == "__main__":
    main()
