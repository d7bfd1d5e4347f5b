"""A user function compiled once, loaded by the next process (fastode.user_cache, issue #11).

    python -m bench.user_cache [--repeats 5]

For each problem and repeat: a fresh, empty FASTODE_CACHE_DIR; a first process that solves once
(compiles the user function and saves it), then a second process that does the same (loads it).
Reported: medians over the repeats of the time spent making the user function callable
("to compiled": fastode.rhs._compile, compile or load), of numba's one-off set-up in a process
(its registries, ~0.3 s, paid by whatever numba compiles or loads first, the kernel included;
done before the solve so that it is not counted in "to compiled") and of the first solve
(RK45 over a short span, so the solve itself is negligible). The RK45 kernel is warmed in numba's cache by one
process before the timings. Problems:
  * the 2-D Brusselator of the PDE issue, written with plain Python loops: N = 32 grid, 2 N^2 =
    2048 unknowns, periodic 5-point Laplacian, A = 1, B = 3.4, alpha = 0.002 (scaled by N^2);
  * Lotka-Volterra (2 unknowns).
Prints a markdown table. Target (issue #11): second process <= 0.3 s to compiled (Brusselator).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.harness import environment_note, markdown_table  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PROBLEMS = {
    "brusselator": '''
        import numpy as np

        N = 32
        A = 1.0
        B = 3.4
        ALPHA = 0.002

        def fun(t, y):
            n = N
            k = n * n
            c = ALPHA * n * n
            out = np.empty(2 * k)
            for i in range(n):
                for j in range(n):
                    idx = i * n + j
                    up = ((i - 1) % n) * n + j
                    down = ((i + 1) % n) * n + j
                    left = i * n + (j - 1) % n
                    right = i * n + (j + 1) % n
                    u = y[idx]
                    v = y[k + idx]
                    lap_u = y[up] + y[down] + y[left] + y[right] - 4.0 * u
                    lap_v = y[k + up] + y[k + down] + y[k + left] + y[k + right] - 4.0 * v
                    uuv = u * u * v
                    out[idx] = A + uuv - (B + 1.0) * u + c * lap_u
                    out[k + idx] = B * u - uuv + c * lap_v
            return out

        def y0():
            x = np.arange(N) / N
            xx, yy = np.meshgrid(x, x)
            return np.concatenate([(22.0 * yy * (1.0 - yy) ** 1.5).ravel(),
                                   (27.0 * xx * (1.0 - xx) ** 1.5).ravel()])
    ''',
    "lotka_volterra": '''
        import numpy as np

        def fun(t, y):
            return np.array([1.5 * y[0] - y[0] * y[1], -3.0 * y[1] + y[0] * y[1]])

        def y0():
            return np.array([10.0, 5.0])
    ''',
}

RUNNER = '''
import json, time
t0 = time.perf_counter()
import fastode
import fastode.rhs
import problem
t_import = time.perf_counter() - t0
# numba's one-off set-up in a process (its typing and lowering registries), paid by the first
# compile or cache load of anything (the kernel's too): timed apart from the user function
t1 = time.perf_counter()
from numba.core.registry import cpu_target
cpu_target.target_context.refresh()
t_numba = time.perf_counter() - t1
spent = [0.0]
real = fastode.rhs._compile

def timed(*a, **k):
    start = time.perf_counter()
    try:
        return real(*a, **k)
    finally:
        spent[0] += time.perf_counter() - start

fastode.rhs._compile = timed
start = time.perf_counter()
res = fastode.solve_ivp(problem.fun, (0.0, 1e-3), problem.y0(), method="RK45")
t_solve = time.perf_counter() - start
assert res.success
print("RESULT " + json.dumps({"import": t_import, "numba": t_numba, "compile": spent[0],
                              "solve": t_solve,
                              "stats": fastode.user_cache.stats}))
'''


def run_once(folder, cache):
    env = dict(os.environ, FASTODE_CACHE_DIR=cache, FASTODE_PROGRESS="0",
               PYTHONPATH=os.pathsep.join([folder, ROOT]), NUMBA_NUM_THREADS="1",
               OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, os.path.join(folder, "runner.py")], env=env,
                         capture_output=True, text=True, check=True, cwd=folder).stdout
    line = [s for s in out.splitlines() if s.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ns = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="fastode-bench-user-cache-") as tmp:
        for name, source in PROBLEMS.items():
            folder = os.path.join(tmp, name)
            os.makedirs(folder)
            with open(os.path.join(folder, "problem.py"), "w") as fh:
                fh.write(textwrap.dedent(source))
            with open(os.path.join(folder, "runner.py"), "w") as fh:
                fh.write(RUNNER)
            run_once(folder, os.path.join(tmp, "warm-kernel"))  # the RK45 kernel, numba's cache
            first, second = [], []
            for r in range(ns.repeats):
                cache = os.path.join(tmp, f"{name}-{r}")
                a = run_once(folder, cache)
                b = run_once(folder, cache)
                assert a["stats"]["saved"] >= 1 and b["stats"]["loaded"] >= 1, (a, b)
                assert b["stats"]["compiled"] == 0, b
                first.append(a)
                second.append(b)
            for label, runs in (("first process", first), ("second process", second)):
                rows.append([name, label,
                             f"{statistics.median(r['compile'] for r in runs):.3f}",
                             f"{statistics.median(r['numba'] for r in runs):.3f}",
                             f"{statistics.median(r['solve'] for r in runs):.3f}",
                             f"{statistics.median(r['import'] for r in runs):.2f}"])
    print(f"User cache, medians of {ns.repeats} fresh processes ({environment_note()})\n")
    print(markdown_table(["problem", "process", "to compiled (s)", "numba set-up (s)",
                          "first solve (s)",
                          "import fastode (s)"], rows))


if __name__ == "__main__":
    main()
