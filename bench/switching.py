"""fastode's LSODA/auto (explicit <-> Rodas4 switching) against scipy's LSODA and fastode's own
single methods, warm solve_ivp calls, rtol 1e-6.

    python bench/switching.py [--rounds N]

Times: minimum over interleaved rounds (2 shared cores: ratios from one run only).
"""
import argparse
import time
import warnings

import numpy as np
from scipy.integrate import solve_ivp as scipy_solve_ivp

import fastode
from fastode.problems import lotka_volterra, robertson, van_der_pol

PROBLEMS = [
    ("Van der Pol mu=1e3, t to 3000", van_der_pol, (0.0, 3000.0), [2.0, 0.0], (1000.0,), 1e-9),
    ("Robertson, t to 1e5", robertson, (0.0, 1e5), [1.0, 0.0, 0.0], (), 1e-10),
    ("Lotka-Volterra, t to 15", lotka_volterra, (0.0, 15.0), [10.0, 5.0], (1.5, 1.0, 3.0, 1.0),
     1e-9),
]
RTOL = 1e-6


def best_time(run, rounds, calls):
    best = np.inf
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            run()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    print(f"`python bench/switching.py --rounds {a.rounds}`, rtol {RTOL:g}; err = max |y - ref| "
          "/ (atol + rtol |ref|) at t_end, ref = fastode Radau at rtol 1e-11\n")
    print("| problem | fastode `LSODA` | fastode `auto` | fastode `BDF` | fastode `Rodas4` | "
          "scipy `LSODA` | LSODA speed-up | nfev (LSODA / auto / scipy) | err (LSODA / scipy) |")
    print("|" + " --- |" * 9)
    for name, fun, span, y0, args, atol in PROBLEMS:
        ref = fastode.solve_ivp(fun, span, y0, method="Radau", args=args, rtol=1e-11,
                                atol=atol * 1e-3).y[:, -1]
        kw = dict(args=args, rtol=RTOL, atol=atol)
        sols, times = {}, {}
        for m in ("LSODA", "auto", "BDF", "Rodas4"):
            sols[m] = fastode.solve_ivp(fun, span, y0, method=m, **kw)
            times[m] = lambda m=m: fastode.solve_ivp(fun, span, y0, method=m, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sols["scipy"] = scipy_solve_ivp(fun, span, y0, method="LSODA", **kw)
            times["scipy"] = lambda: scipy_solve_ivp(fun, span, y0, method="LSODA", **kw)
        best = {m: np.inf for m in times}
        for _ in range(a.rounds):  # interleaved
            for m, run in times.items():
                best[m] = min(best[m], best_time(run, 1, 3 if m == "scipy" else 20))

        def err(sol):
            return float(np.max(np.abs(sol.y[:, -1] - ref) / (atol + RTOL * np.abs(ref))))

        ms = {m: f"{best[m] * 1e3:.3f} ms" for m in best}
        print(f"| {name} | {ms['LSODA']} | {ms['auto']} | {ms['BDF']} | {ms['Rodas4']} | "
              f"{ms['scipy']} | {best['scipy'] / best['LSODA']:.0f}x | "
              f"{sols['LSODA'].nfev} / {sols['auto'].nfev} / {sols['scipy'].nfev} | "
              f"{err(sols['LSODA']):.2g} / {err(sols['scipy']):.2g} |")


if __name__ == "__main__":
    main()
