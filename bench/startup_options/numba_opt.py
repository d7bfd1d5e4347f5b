"""Compile time and warm speed of two kernels under each NUMBA_OPT level (fresh processes).

    python bench/startup_options/numba_opt.py [--levels 3,2,1]

Each level runs in a new process with an empty kernel cache (FASTODE_KERNEL_CACHE_DIR): the
first RK45 (Lotka-Volterra) and Radau (Robertson) solves, which compile the kernels, then the
best of 300 / 100 warm solves.
"""
import argparse
import os
import subprocess
import sys
import tempfile

CHILD = r'''
import os, time, numpy as np
from fastode import solve_ivp
def lv(t, y, a, b, c, d): return np.array([a*y[0]-b*y[0]*y[1], -c*y[1]+d*y[0]*y[1]])
def rob(t, y): return np.array([-0.04*y[0]+1e4*y[1]*y[2], 0.04*y[0]-1e4*y[1]*y[2]-3e7*y[1]**2, 3e7*y[1]**2])
rk = lambda: solve_ivp(lv, (0, 15), [10., 5.], args=(1.5, 1, 3, 1), rtol=1e-6, atol=1e-9)
ra = lambda: solve_ivp(rob, (0, 1e5), [1., 0, 0], method="Radau", rtol=1e-6, atol=1e-10)
def timed(f):
    s = time.perf_counter(); f(); return time.perf_counter() - s
c1, c2 = timed(rk), timed(ra)
r1 = min(timed(rk) for _ in range(300)); r2 = min(timed(ra) for _ in range(100))
print(f"NUMBA_OPT={os.environ['NUMBA_OPT']}: compile RK45 {c1:.1f} s, Radau {c2:.1f} s | "
      f"warm RK45 {r1*1e6:.1f} us, Radau {r2*1e6:.1f} us", flush=True)
'''


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", default="3,2,1")
    opts = parser.parse_args(argv)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for level in opts.levels.split(","):
        env = dict(os.environ, NUMBA_OPT=level, FASTODE_PROGRESS="0", PYTHONPATH=root,
                   FASTODE_KERNEL_CACHE_DIR=tempfile.mkdtemp(prefix="fastode_opt_"))
        subprocess.run([sys.executable, "-c", CHILD], env=env, check=True)


if __name__ == "__main__":
    main()
