"""Time to first solution of a NEW right-hand side in a fresh Python process.

    python -m bench.first_solve [--quick] [--out bench/out/] [--repeats 5]

Each run starts a subprocess that imports the solver, defines a new Lotka-Volterra function (a
fresh name every run) and solves it once (rtol 1e-6, atol 1e-9). Three set-ups:
  * scipy: ``scipy.integrate.solve_ivp``;
  * fastode, warm cache: NUMBA_CACHE_DIR points at a temporary folder filled by one run first
    (what a user sees from the second script on);
  * fastode, cold cache: NUMBA_CACHE_DIR points at a new empty folder for every run (first use
    after installing: every kernel compiles).
Reports the median over the repeats of the whole process's wall time, and inside it the import
and first-solve times. Target (docs/design.md): fastode warm - scipy <= 0.8 s. scipy and warm runs
are interleaved. Subprocesses get NUMBA_NUM_THREADS=1 / OMP_NUM_THREADS=1.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.harness import fmt_time, markdown_table, environment_note  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_OUT = os.path.join(HERE, "out")
TARGET_S = 0.8

SCRIPT = """\
import time
_t0 = time.perf_counter()
import numpy as np
from {module} import solve_ivp
_t1 = time.perf_counter()


def {name}(t, y, a, b, c, d):
    return np.array([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])


sol = solve_ivp({name}, (0.0, 15.0), np.array([10.0, 5.0]), args=(1.5, 1.0, 3.0, 1.0),
                rtol=1e-6, atol=1e-9)
_t2 = time.perf_counter()
assert sol.success and abs(sol.y[0, -1] - 0.7137) < 1e-3, sol.y[:, -1]
import json
print("FIRST_SOLVE " + json.dumps({{"import": _t1 - _t0, "solve": _t2 - _t1}}))
"""


def run_once(module, cache_dir, workdir, timeout=600):
    """Wall seconds of one fresh process, plus its own import/solve split."""
    name = "rhs_" + uuid.uuid4().hex[:10]
    path = os.path.join(workdir, f"first_{name}.py")
    with open(path, "w") as fh:
        fh.write(SCRIPT.format(module=module, name=name))
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, path], env=env, cwd=workdir, capture_output=True,
                          text=True, timeout=timeout)
    wall = time.perf_counter() - start
    os.unlink(path)
    if proc.returncode != 0:
        raise RuntimeError(f"{module} first-solve script failed:\n{proc.stderr[-2000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("FIRST_SOLVE ")][-1]
    inner = json.loads(line.split(" ", 1)[1])
    return dict(wall=wall, **inner)


def _summary(samples):
    return {k: statistics.median(s[k] for s in samples) for k in ("wall", "import", "solve")}


def run(quick=False, repeats=None, cold_repeats=None, out_dir=DEFAULT_OUT, verbose=True):
    repeats = repeats or (3 if quick else 5)
    cold_repeats = cold_repeats or (1 if quick else repeats)
    work = tempfile.mkdtemp(prefix="fastode_first_solve_")
    try:
        warm_cache = os.path.join(work, "warm_cache")
        os.makedirs(warm_cache)
        run_once("fastode", warm_cache, work)  # fill the cache (compiles every kernel used)
        samples = {"scipy": [], "fastode (warm cache)": [], "fastode (cold cache)": []}
        for i in range(repeats):
            samples["scipy"].append(run_once("scipy.integrate", None, work))
            samples["fastode (warm cache)"].append(run_once("fastode", warm_cache, work))
            if verbose:
                print(f"  round {i + 1}: scipy {samples['scipy'][-1]['wall']:.3f} s, fastode "
                      f"warm {samples['fastode (warm cache)'][-1]['wall']:.3f} s",
                      file=sys.stderr, flush=True)
        for i in range(cold_repeats):
            cold = os.path.join(work, f"cold_cache_{i}")
            os.makedirs(cold)
            samples["fastode (cold cache)"].append(run_once("fastode", cold, work))
            if verbose:
                print(f"  cold {i + 1}: {samples['fastode (cold cache)'][-1]['wall']:.2f} s",
                      file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = {k: _summary(v) for k, v in samples.items()}
    base = summary["scipy"]["wall"]
    rows = []
    for k, s in summary.items():
        rows.append([k, len(samples[k]), f"{s['wall']:.3f} s", f"{s['import']:.3f} s",
                     fmt_time(s["solve"]), f"{s['wall'] - base:+.3f} s"])
    diff = summary["fastode (warm cache)"]["wall"] - base
    verdict = "meets" if diff <= TARGET_S else "MISSES"
    md = (f"## Time to first solution of a new RHS, fresh process\n\n"
          f"`python -m bench.first_solve{' --quick' if quick else ''}` — {environment_note()}. "
          f"Median over runs; wall = whole process (interpreter start included).\n\n"
          + markdown_table(["set-up", "runs", "wall", "import", "first solve", "vs scipy"], rows)
          + f"\n\nfastode (warm cache) - scipy = {diff:+.3f} s: {verdict} the target "
          f"(<= {TARGET_S} s).\n")
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "first_solve.md"), "w") as fh:
            fh.write(md)
        with open(os.path.join(out_dir, "first_solve.json"), "w") as fh:
            json.dump(dict(samples=samples, summary=summary), fh, indent=1)
    return md, summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 runs each, 1 cold run")
    parser.add_argument("--repeats", type=int, default=None, help="runs per set-up (5)")
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder (default bench/out)")
    opts = parser.parse_args(argv)
    md, _ = run(quick=opts.quick, repeats=opts.repeats, out_dir=opts.out)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
