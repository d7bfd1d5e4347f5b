"""
Work-precision: fastode against scipy
=====================================

Error at the end of the interval against wall time per solve, for a range of tolerances
(``atol = rtol * 1e-3``), fastode's compiled methods against ``scipy.integrate.solve_ivp`` with
the same plain Python right-hand side. Timed here, while the site was built (best of a few
repeats, warm): the numbers depend on that machine. The full diagrams are
``python -m bench.work_precision`` (non-stiff, four problems, eight tolerances) and
``python bench/stiff_work_precision.py`` (stiff); their figures and commands are on the
benchmarks page.
"""
import time

import matplotlib.pyplot as plt
import numpy as np
import scipy.integrate

import fastode


def best_time(solve, repeats=3):
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        sol = solve()
        best = min(best, time.perf_counter() - start)
    return best, sol


def diagram(ax, fun, t_span, y0, rtols, solvers, reference, title):
    for label, library, method, style in solvers:
        points = []
        for rtol in rtols:
            solve_ivp = fastode.solve_ivp if library == "fastode" else scipy.integrate.solve_ivp
            solve_ivp(fun, t_span, y0, method=method, rtol=rtol, atol=rtol * 1e-3)  # warm
            seconds, sol = best_time(lambda: solve_ivp(fun, t_span, y0, method=method,
                                                       rtol=rtol, atol=rtol * 1e-3))
            err = np.max(np.abs(sol.y[:, -1] - reference)) / np.max(np.abs(reference))
            points.append((seconds, err))
        t, e = np.array(points).T
        ax.loglog(t, e, label=label, **style)
    ax.set(xlabel="seconds per solve", ylabel="relative error at t_end", title=title)
    ax.legend(fontsize=8)


# %%
# Non-stiff: Lotka-Volterra
# -------------------------


def lotka_volterra(t, y):
    return np.array([1.5 * y[0] - y[0] * y[1], -3.0 * y[1] + y[0] * y[1]])


y0, t_span = [10.0, 5.0], (0.0, 15.0)
reference = scipy.integrate.solve_ivp(lotka_volterra, t_span, y0, method="DOP853", rtol=1e-13,
                                      atol=1e-13).y[:, -1]
solvers = [("fastode RK45", "fastode", "RK45", dict(color="C0", marker="o")),
           ("fastode DOP853", "fastode", "DOP853", dict(color="C1", marker="s")),
           ("fastode Vern7", "fastode", "Vern7", dict(color="C3", marker="D")),
           ("scipy RK45", "scipy", "RK45", dict(color="C0", marker="o", ls="--", mfc="none")),
           ("scipy DOP853", "scipy", "DOP853", dict(color="C1", marker="s", ls="--", mfc="none"))]
fig, ax = plt.subplots(figsize=(6, 4.2))
diagram(ax, lotka_volterra, t_span, y0, [1e-3, 1e-5, 1e-7, 1e-9], solvers, reference,
        "Lotka-Volterra, t in [0, 15]")
fig.tight_layout()

# %%
# Stiff: Robertson to t = 100
# ---------------------------


def robertson(t, y):
    return np.array([-0.04 * y[0] + 1e4 * y[1] * y[2],
                     0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                     3e7 * y[1] ** 2])


y0, t_span = [1.0, 0.0, 0.0], (0.0, 100.0)
reference = scipy.integrate.solve_ivp(robertson, t_span, y0, method="Radau", rtol=1e-12,
                                      atol=1e-16).y[:, -1]
solvers = [("fastode Radau", "fastode", "Radau", dict(color="C0", marker="o")),
           ("fastode BDF", "fastode", "BDF", dict(color="C1", marker="s")),
           ("fastode Rodas5P", "fastode", "Rodas5P", dict(color="C2", marker="^")),
           ("scipy Radau", "scipy", "Radau", dict(color="C0", marker="o", ls="--", mfc="none")),
           ("scipy BDF", "scipy", "BDF", dict(color="C1", marker="s", ls="--", mfc="none"))]
fig, ax = plt.subplots(figsize=(6, 4.2))
diagram(ax, robertson, t_span, y0, [1e-4, 1e-6, 1e-8], solvers, reference,
        "Robertson, t in [0, 100]")
fig.tight_layout()
