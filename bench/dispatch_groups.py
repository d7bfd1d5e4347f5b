"""numba's per-call dispatch cost of a driver signature: 28 flat arguments, five option groups as
namedtuples, the same groups as plain tuples (why kernels/options.py passes plain tuples).

    python bench/dispatch_groups.py
"""
import time, numpy as np
from collections import namedtuple
from numba import njit
Tol = namedtuple("Tol", "rtol atol")
Steps = namedtuple("Steps", "first_step max_step min_step max_steps")
Out = namedtuple("Out", "t_eval use_t_eval dense")
Ev = namedtuple("Ev", "addresses directions terminal samples")
Jac = namedtuple("Jac", "use_jac group_ptr group_cols col_ptr rows kl ku")

@njit(cache=False)
def flat(rhs, jac, use_jac, p, t0, t1, y0, rtol, atol, mass, has_mass, first_step, max_step, min_step, max_steps, t_eval, use_t_eval, dense, ea, ed, et, es, gp, gc, cp, rows, kl, ku):
    return y0[0] + rtol[0] + kl

@njit(cache=False)
def grouped(rhs, jac, p, t0, t1, y0, mass, has_mass, tol, steps, out, ev, jc):
    rtol, atol = tol.rtol, tol.atol
    return y0[0] + rtol[0] + jc.kl

@njit(cache=False)
def tupled(rhs, jac, p, t0, t1, y0, mass, has_mass, tol, steps, out, ev, jc):
    return y0[0] + tol[0][0] + jc[5]

y0 = np.ones(3); rt = np.full(3, 1e-6); at = np.full(3, 1e-9); m = np.zeros((1, 1)); te = np.zeros(0)
ea = np.zeros(0, np.int64); ed = np.zeros(0); et = np.zeros(0, np.bool_); g = np.zeros(1, np.int64); p = np.zeros(0)
args = (1, 0, 1, p, 0.0, 1.0, y0, rt, at, m, False, 0.0, np.inf, 0.0, 0, te, False, False, ea, ed, et, 0, g, g, g, g, -1, -1)
tol = Tol(rt, at); st = Steps(0.0, np.inf, 0.0, 0); out = Out(te, False, False); ev = Ev(ea, ed, et, 0); jc = Jac(1, g, g, g, g, -1, -1)
gargs = (1, 0, p, 0.0, 1.0, y0, m, False, tol, st, out, ev, jc)
targs = (1, 0, p, 0.0, 1.0, y0, m, False, tuple(tol), tuple(st), tuple(out), tuple(ev), tuple(jc))
for f, a in ((flat, args), (grouped, gargs), (tupled, targs)):
    f(*a)
    best = 1e9
    for r in range(5):
        t = time.perf_counter()
        for i in range(20000): f(*a)
        best = min(best, (time.perf_counter() - t) / 20000)
    print(f.__name__, f"{best*1e6:.2f} us per call")
