"""Warm Robertson (t 0..1e5, rtol 1e-6, atol 1e-10) solve times of several checkouts, interleaved
in fresh processes (one thread); the minimum over rounds. Used to bisect issue #12's regressions.

    python bench/ab_robertson.py ../base,../after Radau,LSODA 5

(trees comma-separated, methods comma-separated, rounds; each tree needs its kernels compiled.)
"""
import json, os, subprocess, sys
CHILD = r'''
import json, time, numpy as np, fastode, sys
def rob(t, y):
    return np.array([-0.04 * y[0] + 1e4 * y[1] * y[2], 0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2, 3e7 * y[1] ** 2])
out = {}
for m in sys.argv[1].split(","):
    f = lambda: fastode.solve_ivp(rob, (0, 1e5), [1.0, 0, 0], method=m, rtol=1e-6, atol=1e-10)
    f()
    best = 1e9
    for _ in range(400):
        t0 = time.perf_counter(); f(); best = min(best, time.perf_counter() - t0)
    out[m] = best
print("AB " + json.dumps(out))
'''
trees = sys.argv[1].split(","); methods = sys.argv[2]; rounds = int(sys.argv[3])
best = {t: {} for t in trees}
for r in range(rounds):
    for t in (trees if r % 2 == 0 else trees[::-1]):
        env = dict(os.environ, PYTHONPATH=t, NUMBA_NUM_THREADS="1", FASTODE_PROGRESS="0")
        p = subprocess.run([sys.executable, "-c", CHILD, methods], env=env, capture_output=True, text=True, cwd=t)
        line = [l for l in p.stdout.splitlines() if l.startswith("AB ")]
        if not line: print(p.stderr[-2000:]); sys.exit(1)
        for k, v in json.loads(line[-1][3:]).items():
            best[t][k] = min(v, best[t].get(k, 1e9))
for k in best[trees[0]]:
    print(k, " ".join(f"{t}: {best[t][k]*1e6:.1f}us" for t in trees), " ratio last/first %.3f" % (best[trees[-1]][k] / best[trees[0]][k]))
