"""fastode.analysis against the same work done with scipy (issue #14's Figures, one run).

1. Full Lorenz Lyapunov spectrum, T = 1000 (transient 10, RK4 dt = 0.01, QR every 0.1):
   ``lyapunov_exponents`` with finite-difference and with user Jacobians; scipy: the same
   Benettin method, ``solve_ivp`` (RK45, rtol 1e-8, atol 1e-10) on the 12-dimensional
   augmented system between QR steps of numpy.
2. Fold of x' = r - x^2 (at r = 0) and Hopf point of the Brusselator (a = 1, at b = 2), time
   to a located point and its error: ``continuation`` from r = 1 / b = 1; scipy: ``fsolve`` on
   the extended system [f = 0, det J = 0] (fold) and ``brentq`` on the real part of the
   eigenvalues along the branch of ``fsolve`` equilibria (Hopf), each from a bracket given.
3. Rossler (a = b = 0.2) bifurcation sweep over c in [2, 6]: transient 200, record 100
   (samples every 0.05, maxima of x), RK45 rtol 1e-6, atol 1e-9: parameter values per second
   for ``bifurcation_diagram`` with 1 and 2 threads; scipy ``solve_ivp`` (same settings)
   in a loop, timed on ``--scipy-n`` values and extrapolated.
4. Equilibria of the damped pendulum in [-10, 10] x [-3, 3] from 256 starts: ``equilibria``;
   scipy: ``fsolve`` from the same starts, de-duplicated the same way.

Every contender runs ``--repeats`` times (after one untimed call that compiles); the minimum
is reported (the machine is small and shared). Run from the repository root:

    python bench/analysis.py [--repeats 5] [--scipy-n 20]
"""
import argparse
import os
import platform
import sys
import time

if "numba" not in sys.modules:  # the thread pool must be sized before numba starts
    os.environ.setdefault("NUMBA_NUM_THREADS", str(min(os.cpu_count() or 1, 2)))
    os.environ.setdefault("OMP_NUM_THREADS", "1")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import scipy  # noqa: E402
from scipy.integrate import solve_ivp as scipy_solve_ivp  # noqa: E402
from scipy.optimize import brentq, fsolve  # noqa: E402

from fastode.analysis import (bifurcation_diagram, continuation, equilibria,  # noqa: E402
                              lyapunov_exponents)
from fastode.analysis.sweep import local_extrema  # noqa: E402

LORENZ = (10.0, 28.0, 8.0 / 3.0)


def lorenz(t, y, s, r, b):
    return np.array([s * (y[1] - y[0]), y[0] * (r - y[2]) - y[1], y[0] * y[1] - b * y[2]])


def lorenz_jac(t, y, s, r, b):
    return np.array([[-s, s, 0.0], [r - y[2], -1.0, -y[0]], [y[1], y[0], -b]])


def fold_rhs(t, y, r):
    return np.array([r - y[0] ** 2])


def brusselator(t, y, a, b):
    return np.array([a - (b + 1) * y[0] + y[0] ** 2 * y[1], b * y[0] - y[0] ** 2 * y[1]])


def rossler(t, y, p):
    return np.array([-y[1] - y[2], y[0] + p[0] * y[1], p[1] + y[2] * (y[0] - p[2])])


def pendulum(t, y, b):
    return np.array([y[1], -np.sin(y[0]) - b * y[1]])


def best(run, repeats):
    run()  # compiles
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - start)
    return min(times), out


# ---- 1. Lyapunov spectrum ----------------------------------------------------------------

def scipy_benettin(T=1000.0, transient=10.0, renorm=0.1):
    y = scipy_solve_ivp(lorenz, (0, transient), [1.0, 1.0, 1.0], args=LORENZ, rtol=1e-8,
                        atol=1e-10).y[:, -1]
    Q = np.eye(3)
    sums = np.zeros(3)

    def aug(t, z):
        x = z[:3]
        M = z[3:].reshape(3, 3)
        return np.concatenate([lorenz(t, x, *LORENZ), (lorenz_jac(t, x, *LORENZ) @ M).ravel()])

    steps = int(round(T / renorm))
    for k in range(steps):
        z = scipy_solve_ivp(aug, (0, renorm), np.concatenate([y, Q.ravel()]), rtol=1e-8,
                            atol=1e-10).y[:, -1]
        y = z[:3]
        Q, R = np.linalg.qr(z[3:].reshape(3, 3))
        d = np.diag(R)
        Q = Q * np.sign(d)
        sums += np.log(np.abs(d))
    return sums / T


# ---- 2. fold and Hopf ------------------------------------------------------------------------

def scipy_fold():
    def ext(z):
        x, r = z
        h = 1e-7
        dfdx = ((r - (x + h) ** 2) - (r - (x - h) ** 2)) / (2 * h)
        return [r - x * x, dfdx]
    return fsolve(ext, [1.0, 1.0], xtol=1e-14)


def scipy_hopf():
    guess = [1.0, 1.0]

    def eq(b):
        import warnings
        with warnings.catch_warnings():  # "not making good progress" at round-off level
            warnings.simplefilter("ignore", RuntimeWarning)
            return fsolve(lambda y: brusselator(0.0, y, 1.0, b), guess, xtol=1e-14)

    def re(b):
        y = eq(b)
        h = 1e-6
        J = np.empty((2, 2))
        for j in range(2):
            e = np.zeros(2)
            e[j] = h
            J[:, j] = (brusselator(0, y + e, 1.0, b) - brusselator(0, y - e, 1.0, b)) / (2 * h)
        return np.max(np.linalg.eigvals(J).real)
    return brentq(re, 1.5, 2.5, xtol=1e-14)


# ---- 3. sweep --------------------------------------------------------------------------------

SWEEP = dict(transient=200.0, record=100.0, sample_dt=0.05, rtol=1e-6, atol=1e-9)


def scipy_sweep(values):
    t_eval = np.linspace(200.0, 300.0, 2001)
    out = []
    for c in values:
        sol = scipy_solve_ivp(rossler, (0, 300.0), [1.0, 1.0, 0.0], args=(np.array([0.2, 0.2, c]),),
                              t_eval=t_eval, rtol=1e-6, atol=1e-9)
        out.append(local_extrema(sol.y[0][None, :])[0])
    return out


# ---- 4. equilibria ---------------------------------------------------------------------------

def scipy_equilibria(starts):
    found = []
    for s in starts:
        y, info, ier, _ = fsolve(lambda y: pendulum(0.0, y, 0.5), s, full_output=True,
                                 xtol=1e-12)
        if ier == 1 and -10 <= y[0] <= 10 and -3 <= y[1] <= 3:
            if not any(np.all(np.abs(y - f) <= 1e-6 * (1 + np.abs(f))) for f in found):
                found.append(y)
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scipy-n", type=int, default=20)
    args = parser.parse_args(argv)
    r = args.repeats
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores; numpy "
          f"{np.__version__}, scipy {scipy.__version__}; best of {r}")
    rows = []

    # 1
    y0 = [1.0, 1.0, 1.0]
    t_fd, res_fd = best(lambda: lyapunov_exponents(lorenz, y0, (0, 1010), args=LORENZ,
                                                   transient=10), r)
    t_uj, res_uj = best(lambda: lyapunov_exponents(lorenz, y0, (0, 1010), args=LORENZ,
                                                   transient=10, jac=lorenz_jac), r)
    start = time.perf_counter()
    sp = scipy_benettin()
    t_sp = time.perf_counter() - start
    for name, t, ex in (("fastode, FD Jacobian", t_fd, res_fd.exponents),
                        ("fastode, user jac", t_uj, res_uj.exponents),
                        ("scipy solve_ivp + numpy QR (1 run)", t_sp, sp)):
        rows.append(("Lorenz spectrum T=1000", name, f"{t * 1e3:.1f} ms",
                     f"{ex[0]:.4f}, {ex[1]:.4f}, {ex[2]:.4f}; sum {ex.sum():.5f}"))

    # 2
    t_f, res_f = best(lambda: continuation(fold_rhs, [1.0], 1.0, 0, args=(1.0,), direction=-1,
                                           p_max=1.0), r)
    f = res_f.folds[0]
    t_sf, sf = best(scipy_fold, r)
    t_h, res_h = best(lambda: continuation(brusselator, [1.0, 1.0], 1.0, 1, args=(1.0, 1.0),
                                           p_max=3.0), r)
    h = res_h.hopfs[0]
    t_sh, sh = best(scipy_hopf, r)
    rows.append(("fold of r - x^2", "fastode continuation (whole branch)", f"{t_f * 1e3:.2f} ms",
                 f"|r| = {abs(f['param']):.1e}, |x| = {abs(f['state'][0]):.1e}"))
    rows.append(("fold of r - x^2", "scipy fsolve on [f, det J] (point only)",
                 f"{t_sf * 1e3:.2f} ms", f"|r| = {abs(sf[1]):.1e}, |x| = {abs(sf[0]):.1e}"))
    rows.append(("Brusselator Hopf", "fastode continuation (whole branch)", f"{t_h * 1e3:.2f} ms",
                 f"|b - 2| = {abs(h['param'] - 2):.1e}"))
    rows.append(("Brusselator Hopf", "scipy brentq(max Re eig) over fsolve (point only)",
                 f"{t_sh * 1e3:.2f} ms", f"|b - 2| = {abs(sh - 2):.1e}"))

    # 3
    values = np.linspace(2.0, 6.0, 400)
    for threads in (1, 2):
        t_b, d = best(lambda: bifurcation_diagram(rossler, [1.0, 1.0, 0.0], 2, values,
                                                  params=[0.2, 0.2, 0.0], n_threads=threads,
                                                  **SWEEP), r)
        rows.append(("Rossler sweep, 400 values", f"fastode bifurcation_diagram, {threads} thread"
                     f"{'s' if threads > 1 else ''}", f"{t_b:.3f} s",
                     f"{values.size / t_b / threads:.0f} values/s/thread; {d.observed.size} maxima"))
    start = time.perf_counter()
    scipy_sweep(values[:args.scipy_n])
    t_s = (time.perf_counter() - start) / args.scipy_n
    rows.append(("Rossler sweep, 400 values", f"scipy solve_ivp loop ({args.scipy_n} timed)",
                 f"{t_s * values.size:.1f} s", f"{1 / t_s:.1f} values/s"))

    # 4
    box = [(-10.0, 10.0), (-3.0, 3.0)]
    t_e, eq = best(lambda: equilibria(pendulum, bounds=box, args=(0.5,), n_starts=256), r)
    from fastode.analysis.equilibrium import _halton
    starts = np.array(box)[:, 0] + np.ptp(np.array(box), axis=1) * _halton(256, 2)
    t_se, seq = best(lambda: scipy_equilibria(starts), 1)
    rows.append(("pendulum equilibria, 256 starts", "fastode equilibria", f"{t_e * 1e3:.1f} ms",
                 f"{len(eq)} found ({', '.join(sorted(set(eq.kinds)))})"))
    rows.append(("pendulum equilibria, 256 starts", "scipy fsolve loop", f"{t_se * 1e3:.1f} ms",
                 f"{len(seq)} found"))

    print("| task | contender | time | result |")
    print("|---|---|---:|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
