"""What a first solve would cost without compiling the new RHS (the "tiered" option of issue #11).

    python bench/startup_options/uncompiled_first_solve.py [--repeats 5]

Fresh processes with an empty user cache, Lotka-Volterra RK45 (rtol 1e-6): once as fastode does
it (the RHS compiled by numba), once with compiling switched off (the kernel calls the Python
function back through ctypes, the path fastode takes for a function numba cannot compile).
Prints the medians of the import, the first solve and one later solve.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = r'''
import json, sys, time, warnings
t0 = time.perf_counter()
import numpy as np
import fastode
import fastode.rhs
t1 = time.perf_counter()
if sys.argv[1] == "uncompiled":
    fastode.rhs._compile_user = lambda *a, **k: "compiling switched off (measurement)"
    warnings.simplefilter("ignore")
def lv(t, y, a, b, c, d):
    return np.array([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])
kw = dict(args=(1.5, 1.0, 3.0, 1.0), rtol=1e-6, atol=1e-9)
s = time.perf_counter(); fastode.solve_ivp(lv, (0, 15), [10.0, 5.0], **kw); first = time.perf_counter() - s
s = time.perf_counter(); fastode.solve_ivp(lv, (0, 15), [10.0, 5.0], **kw); later = time.perf_counter() - s
print("R " + json.dumps({"import": t1 - t0, "first": first, "later": later}))
'''


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    opts = parser.parse_args(argv)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    # the script is a file, as a user's is (a function defined in `python -c` has no source)
    script = os.path.join(tempfile.mkdtemp(prefix="fastode_uc_"), "first_solve.py")
    with open(script, "w") as fh:
        fh.write(CHILD)
    for mode in ("compiled", "uncompiled"):
        rows = []
        for _ in range(opts.repeats):
            env = dict(os.environ, PYTHONPATH=root, FASTODE_PROGRESS="0",
                       FASTODE_CACHE_DIR=tempfile.mkdtemp(prefix="fastode_uc_"))
            out = subprocess.run([sys.executable, script, mode], env=env, check=True,
                                 capture_output=True, text=True).stdout
            rows.append(json.loads([ln for ln in out.splitlines() if ln.startswith("R ")][-1][2:]))
        med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        print(f"{mode:10s}: import {med['import']:.3f} s, first solve {med['first']:.3f} s, "
              f"later solve {med['later'] * 1e6:.0f} us (medians of {opts.repeats})")


if __name__ == "__main__":
    main()
