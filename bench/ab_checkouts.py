"""Warm solve times of two checkouts of fastode, interleaved in one run (before/after a change).

    git worktree add ../fastode-base <commit>
    python bench/ab_checkouts.py ../fastode-base . [--rounds 7] [--only ensemble --min-time 2]

Each round starts one fresh process per checkout (``PYTHONPATH=<checkout>``, one thread) that
solves every case once to warm up, then times each case as the minimum over repeated calls;
rounds alternate the order of the checkouts, and the table reports each case's minimum over
rounds and the ratio after/before. Both checkouts must have their kernels compiled already
(``fastode warmup`` in each), or the first round pays the compile.
"""
import argparse
import json
import os
import subprocess
import sys

CASES = """
import json, time, numpy as np
import fastode

def lv(t, y, a, b, c, d):
    return np.array([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])

def robertson(t, y):
    return np.array([-0.04 * y[0] + 1e4 * y[1] * y[2],
                     0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2, 3e7 * y[1] ** 2])

def vdp(t, y, mu):
    return np.array([y[1], mu * ((1.0 - y[0] ** 2) * y[1] - y[0])])

def lv_p(t, y, p):
    return np.array([p[0] * y[0] - p[1] * y[0] * y[1], -p[2] * y[1] + p[3] * y[0] * y[1]])

PARAMS = np.random.default_rng(0).uniform(0.5, 1.5, (2000, 4)) * [1.5, 1.0, 3.0, 1.0]
CASES = {
    "LV RK45 1e-6": lambda: fastode.solve_ivp(lv, (0, 15), [10.0, 5.0], args=(1.5, 1, 3, 1),
                                              rtol=1e-6, atol=1e-9),
    "LV DOP853 1e-9": lambda: fastode.solve_ivp(lv, (0, 15), [10.0, 5.0], method="DOP853",
                                                args=(1.5, 1, 3, 1), rtol=1e-9, atol=1e-12),
}
for m in ("Radau", "BDF", "Rodas5P", "KenCarp4", "LSODA"):
    CASES[f"Robertson {m} 1e-6"] = (lambda m=m: fastode.solve_ivp(
        robertson, (0, 1e5), [1.0, 0, 0], method=m, rtol=1e-6, atol=1e-10))
    CASES[f"VdP1000 {m} 1e-6"] = (lambda m=m: fastode.solve_ivp(
        vdp, (0, 3000), [2.0, 0.0], method=m, args=(1e3,), rtol=1e-6, atol=1e-6))
CASES["ensemble 2000 LV RK45"] = lambda: fastode.solve_ensemble(
    lv_p, (0, 15), [10.0, 5.0], params=PARAMS, rtol=1e-6, atol=1e-9, save="final")

import os
ONLY = os.environ.get("AB_ONLY", "")
MIN_TIME = float(os.environ.get("AB_MIN_TIME", "0.3"))
CASES = {k: v for k, v in CASES.items() if ONLY in k}
for f in CASES.values():
    f()
out = {}
for name, f in CASES.items():
    best = float("inf")
    start = time.perf_counter()
    n = 0
    while n < 3 or (time.perf_counter() - start < MIN_TIME and n < 2000):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
        n += 1
    out[name] = best
print("AB " + json.dumps(out))
"""


def run(checkout, only="", min_time=0.3):
    env = dict(os.environ, PYTHONPATH=os.path.abspath(checkout), NUMBA_NUM_THREADS="1",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", FASTODE_PROGRESS="0",
               AB_ONLY=only, AB_MIN_TIME=str(min_time))
    proc = subprocess.run([sys.executable, "-c", CASES], env=env, capture_output=True, text=True,
                          timeout=1800, cwd=os.path.abspath(checkout))
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("AB ")][-1]
    return json.loads(line[3:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", default="", help="only the cases whose name contains this")
    parser.add_argument("--min-time", type=float, default=0.3,
                        help="seconds each case is repeated for (at least 3 calls)")
    opts = parser.parse_args(argv)
    best = {"before": {}, "after": {}}
    for r in range(opts.rounds):
        order = ("before", "after") if r % 2 == 0 else ("after", "before")
        for which in order:
            times = run(getattr(opts, which), opts.only, opts.min_time)
            for k, v in times.items():
                best[which][k] = min(v, best[which].get(k, float("inf")))
        print(f"  round {r + 1} done", file=sys.stderr, flush=True)
    print(f"| case | before ({opts.before}) | after ({opts.after}) | after / before |")
    print("| --- | --- | --- | --- |")
    for k in best["before"]:
        b, a = best["before"][k], best["after"][k]
        print(f"| {k} | {b * 1e6:.1f} us | {a * 1e6:.1f} us | {a / b:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
