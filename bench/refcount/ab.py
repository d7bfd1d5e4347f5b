"""Warm solve_ivp time of two checkouts, interleaved (A B A B ... in fresh processes).

    python bench/refcount/ab.py A_TREE B_TREE [--rounds 8] [--repeats 200]

Each round starts one process per tree (PYTHONPATH=<tree>), in alternating order; a process
solves each case once to warm up (loading the cached kernels), then times ``repeats`` solves
and reports the minimum. The table gives the minimum over rounds, and B / A.
Cases: Lotka-Volterra RK45 (t 0..15) and Robertson Rodas5P (t 0..1e5), rtol 1e-6; with
``--options`` also t_eval (50 points), dense output and one event that never fires.
"""
import argparse
import json
import os
import subprocess
import sys

CHILD = r'''
import json, sys, time
import numpy as np
import fastode
assert fastode.__file__.startswith(sys.argv[1]), fastode.__file__

def lv(t, y):
    return np.array([1.5 * y[0] - y[0] * y[1], -3.0 * y[1] + y[0] * y[1]])

def lv_event(t, y):
    return y[0] - 100.0

def rob(t, y):
    return np.array([-0.04 * y[0] + 1e4 * y[1] * y[2],
                     0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                     3e7 * y[1] ** 2])

def rob_event(t, y):
    return y[0] - 1e-9

base = {
    "LV RK45": (lv, (0.0, 15.0), [10.0, 5.0], "RK45", 1e-9, lv_event),
    "Robertson Rodas5P": (rob, (0.0, 1e5), [1.0, 0.0, 0.0], "Rodas5P", 1e-10, rob_event),
}
options = {"": {}}
if sys.argv[3] == "1":
    options.update({" t_eval": "t_eval", " dense": {"dense_output": True}, " event": "event"})
out = {}
for name, (f, span, y0, method, atol, ev) in base.items():
    for oname, opt in options.items():
        kw = {}
        if opt == "t_eval":
            kw["t_eval"] = np.linspace(span[0], span[1], 50)
        elif opt == "event":
            kw["events"] = ev
        else:
            kw.update(opt)
        def solve():
            return fastode.solve_ivp(f, span, y0, method=method, rtol=1e-6, atol=atol, **kw)
        solve()
        best = float("inf")
        for _ in range(int(sys.argv[2])):
            t0 = time.perf_counter()
            solve()
            best = min(best, time.perf_counter() - t0)
        out[name + oname] = best
print("JSON" + json.dumps(out))
'''


def run(tree, repeats, options):
    env = dict(os.environ, PYTHONPATH=tree, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", CHILD, os.path.join(tree, "fastode"),
                           str(repeats), "1" if options else "0"], env=env, cwd=tree,
                          capture_output=True, text=True)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("JSON")]
    if not line:
        sys.exit(proc.stderr[-3000:])
    return json.loads(line[0][4:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--options", action="store_true")
    args = ap.parse_args()
    trees = [os.path.abspath(args.a), os.path.abspath(args.b)]
    best = {t: {} for t in trees}
    for r in range(args.rounds):
        for tree in (trees if r % 2 == 0 else trees[::-1]):
            for case, sec in run(tree, args.repeats, args.options).items():
                best[tree][case] = min(best[tree].get(case, float("inf")), sec)
    print(f"A = {trees[0]}\nB = {trees[1]}\n")
    print("| case | A (us) | B (us) | B / A |")
    print("| --- | --- | --- | --- |")
    for case in best[trees[0]]:
        a = best[trees[0]][case] * 1e6
        b = best[trees[1]][case] * 1e6
        print(f"| {case} | {a:.1f} | {b:.1f} | {b / a:.3f} |")


if __name__ == "__main__":
    main()
