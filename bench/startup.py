"""Start-up: how long a new process takes to its first solution (issue #11's figures).

    python -m bench.startup [--quick] [--repeats 5] [--warmup] [--kernels-cold] [--fresh-clone]

Every figure is the median over fresh Python processes, scipy in the same run (interleaved):

* **first solve per method, empty user cache**: ``FASTODE_CACHE_DIR`` and ``NUMBA_CACHE_DIR``
  point at new empty folders; the kernels come from the installed kernel cache (``fastode
  warmup``). Each process defines a right-hand side with a new name (so the user function
  compiles) and solves once. Target: import + first solve <= 2 s.
* **new small RHS, warm**: the same, Lotka-Volterra, against ``scipy.integrate.solve_ivp`` in the
  same kind of process. Target: fastode - scipy <= 0.4 s.
* ``--warmup``: ``fastode warmup`` into an empty kernel cache (the install-time compile), its wall
  time and the cache's size.
* ``--kernels-cold``: RK45 and Radau with an empty kernel cache too (what a user would wait
  without the install-time compile); one run each.
* ``--fresh-clone``: ``git clone`` of this repository into a temporary folder, then ``make demo``
  until the first row of its table (pip's cache warm); one run.

Subprocesses get NUMBA_NUM_THREADS=1 / OMP_NUM_THREADS=1. Writes bench/out/startup.md (+ .json).
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

from bench.harness import environment_note, markdown_table  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_OUT = os.path.join(HERE, "out")
TARGET_FIRST_SOLVE_S = 2.0
TARGET_VS_SCIPY_S = 0.4

_LV = """
def {name}(t, y, a, b, c, d):
    return np.array([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])

sol = solve_ivp({name}, (0.0, 15.0), np.array([10.0, 5.0]), method="{method}",
                args=(1.5, 1.0, 3.0, 1.0), rtol=1e-6, atol=1e-9)
assert sol.success and abs(sol.y[0, -1] - 0.7137) < 1e-3, sol.y[:, -1]
"""
_ROBERTSON = """
def {name}(t, y):
    return np.array([-0.04 * y[0] + 1e4 * y[1] * y[2],
                     0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                     3e7 * y[1] ** 2])

sol = solve_ivp({name}, (0.0, 1e5), np.array([1.0, 0.0, 0.0]), method="{method}",
                rtol=1e-6, atol=1e-10)
assert sol.success and abs(sol.y.sum(axis=0)[-1] - 1.0) < 1e-5, sol.message
"""
SCRIPT = """\
import time
_t0 = time.perf_counter()
import numpy as np
from {module} import solve_ivp
_t1 = time.perf_counter()
{problem}
_t2 = time.perf_counter()
import json
print("STARTUP " + json.dumps({{"import": _t1 - _t0, "solve": _t2 - _t1}}))
"""
NONSTIFF = ("RK45", "DOP853")
STIFF = ("Radau", "BDF", "Rodas5P", "LSODA")
# scipy's counterpart where it lacks the method
SCIPY_METHOD = {"Rodas5P": "Radau"}


def _env(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1", FASTODE_PROGRESS="0")
    env.update(extra)
    return env


def run_once(module, method, workdir, env, timeout=900):
    """Wall seconds of one fresh process, with its own import / first-solve split."""
    name = "rhs_" + uuid.uuid4().hex[:10]
    problem = (_ROBERTSON if method in STIFF else _LV).format(name=name, method=method)
    path = os.path.join(workdir, f"startup_{name}.py")
    with open(path, "w") as fh:
        fh.write(SCRIPT.format(module=module, problem=problem))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, path], env=env, cwd=workdir, capture_output=True,
                          text=True, timeout=timeout)
    wall = time.perf_counter() - start
    os.unlink(path)
    if proc.returncode != 0:
        raise RuntimeError(f"{module} {method} start-up script failed:\n{proc.stderr[-3000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("STARTUP ")][-1]
    return dict(wall=wall, **json.loads(line.split(" ", 1)[1]))


def _median(samples, key):
    return statistics.median(s[key] for s in samples)


def _empty_caches(work):
    user = tempfile.mkdtemp(dir=work, prefix="user_")
    numba_dir = tempfile.mkdtemp(dir=work, prefix="numba_")
    return dict(FASTODE_CACHE_DIR=user, NUMBA_CACHE_DIR=numba_dir)


def first_solves(work, repeats, verbose):
    """Per method: fastode with empty user caches, scipy alongside; medians."""
    rows, data = [], {}
    for method in NONSTIFF + STIFF:
        ours, theirs = [], []
        for _ in range(repeats):
            theirs.append(run_once("scipy.integrate", SCIPY_METHOD.get(method, method), work,
                                   _env()))
            ours.append(run_once("fastode", method, work, _env(**_empty_caches(work))))
        data[method] = dict(fastode=ours, scipy=theirs)
        first = _median(ours, "import") + _median(ours, "solve")
        diff = _median(ours, "wall") - _median(theirs, "wall")
        rows.append([method, f"{_median(ours, 'import'):.3f} s", f"{_median(ours, 'solve'):.3f} s",
                     f"{first:.2f} s", "yes" if first <= TARGET_FIRST_SOLVE_S else "NO",
                     f"{_median(ours, 'wall'):.3f} s", f"{_median(theirs, 'wall'):.3f} s",
                     f"{diff:+.3f} s"])
        if verbose:
            print(f"  {method}: import+first solve {first:.2f} s, fastode-scipy {diff:+.3f} s",
                  file=sys.stderr, flush=True)
    header = ["method", "import", "first solve", "import + solve",
              f"<= {TARGET_FIRST_SOLVE_S:g} s", "fastode wall", "scipy wall", "fastode - scipy"]
    return markdown_table(header, rows), data


def cold_kernels(work, verbose):
    rows = []
    for method in ("RK45", "Radau"):
        env = _env(FASTODE_KERNEL_CACHE_DIR=tempfile.mkdtemp(dir=work, prefix="kernels_"),
                   **_empty_caches(work))
        s = run_once("fastode", method, work, env)
        rows.append([method, f"{s['import']:.2f} s", f"{s['solve']:.1f} s"])
        if verbose:
            print(f"  cold kernels {method}: {s['solve']:.1f} s", file=sys.stderr, flush=True)
    return markdown_table(["method (empty kernel cache)", "import", "first solve"], rows)


def warmup_build(work, verbose):
    folder = tempfile.mkdtemp(dir=work, prefix="kernels_")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "fastode.cli", "warmup"], cwd=work,
                          env=_env(FASTODE_KERNEL_CACHE_DIR=folder, NUMBA_NUM_THREADS="2"),
                          capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(folder) for f in fs)
    if verbose:
        print(f"  warmup: {wall:.1f} s, {size / 1e6:.1f} MB", file=sys.stderr, flush=True)
    return wall, size, proc.stdout.strip()


def fresh_clone(work, verbose):
    """Seconds from `git clone` to the demo's first result row (it prints each row when done)."""
    target = os.path.join(work, "clone")
    start = time.perf_counter()
    subprocess.run(["git", "clone", "--quiet", ROOT, target], check=True)
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    proc = subprocess.Popen(["make", "demo"], cwd=target, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    first_table = None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        row = line.strip()
        if (first_table is None and row.startswith("|") and not row.startswith("| problem")
                and not row.startswith("|---")):
            first_table = time.perf_counter() - start
            if verbose:
                print(f"  fresh clone: first table after {first_table:.1f} s", file=sys.stderr,
                      flush=True)
    proc.wait()
    if proc.returncode != 0 or first_table is None:
        raise RuntimeError("make demo failed:\n" + "".join(lines[-40:]))
    return first_table, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 runs per figure")
    parser.add_argument("--repeats", type=int, default=None, help="runs per figure (5)")
    parser.add_argument("--warmup", action="store_true", help="time `fastode warmup` cold")
    parser.add_argument("--kernels-cold", action="store_true",
                        help="RK45 and Radau with an empty kernel cache (one run each)")
    parser.add_argument("--fresh-clone", action="store_true",
                        help="git clone + make demo to the first table (one run, minutes)")
    parser.add_argument("--out", default=DEFAULT_OUT)
    opts = parser.parse_args(argv)
    repeats = opts.repeats or (3 if opts.quick else 5)
    work = tempfile.mkdtemp(prefix="fastode_startup_")
    parts = [f"## Start-up (issue #11)\n\n`python -m bench.startup {' '.join(argv or sys.argv[1:])}`"
             f" — {environment_note()}. Medians of {repeats} fresh processes; wall = whole "
             f"process, interpreter start included.\n"]
    record = {}
    try:
        if opts.warmup:
            wall, size, log = warmup_build(work, True)
            record["warmup"] = dict(wall=wall, bytes=size)
            parts.append(f"### Install-time compile\n\n`fastode warmup` into an empty kernel "
                         f"cache: {wall:.1f} s wall; kernel cache {size / 1e6:.1f} MB.\n\n"
                         f"```\n{log}\n```\n")
        table, data = first_solves(work, repeats, True)
        record["first_solves"] = data
        parts.append("### First solve of a new RHS, empty user cache (kernels installed)\n\n"
                     "Lotka-Volterra for RK45/DOP853, Robertson to 1e5 for the stiff methods; "
                     "scipy solves the same in its own fresh processes (Radau for Rodas5P).\n\n" + table + "\n")
        if opts.kernels_cold:
            parts.append("### Without the install-time compile\n\n" + cold_kernels(work, True)
                         + "\n")
        if opts.fresh_clone:
            first, total = fresh_clone(work, True)
            record["fresh_clone"] = dict(first_table=first, total=total)
            parts.append(f"### Fresh clone to the demo's first table\n\n`git clone` + `make "
                         f"demo` (pip cache warm): first result row after {first:.0f} s (target "
                         f"<= 120 s); demo finished after {total:.0f} s.\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    md = "\n".join(parts)
    if opts.out:
        os.makedirs(opts.out, exist_ok=True)
        with open(os.path.join(opts.out, "startup.md"), "w") as fh:
            fh.write(md)
        with open(os.path.join(opts.out, "startup.json"), "w") as fh:
            json.dump(record, fh, indent=1)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
