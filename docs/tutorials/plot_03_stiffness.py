"""
Stiffness: when explicit methods crawl
======================================

A problem is *stiff* when some component relaxes much faster than the solution you want to
follow. An explicit method (Euler, RK45) is stable only if its step is below a bound set by the
fastest time scale, even long after that component has settled: it takes tiny steps for no
accuracy gain. Implicit methods (backward Euler ``y_{n+1} = y_n + h f(t_{n+1}, y_{n+1})``, Radau,
BDF, Rosenbrock methods) are stable with large steps and pay for it with a linear solve per step.
"""
import matplotlib.pyplot as plt
import numpy as np

import fastode

# %%
# The simplest stiff problem
# --------------------------
# ``dy/dt = -lam (y - cos t)`` with ``lam = 1000``: y follows ``cos t`` after a transient of
# about 1/1000. Euler is stable only for ``h < 2 / lam``; backward Euler for every h.


def relax(t, y, lam):
    return -lam * (y - np.cos(t))


for h in (0.0019, 0.0021):
    e = fastode.solve_ivp(relax, (0.0, 1.0), [0.0], args=(1000.0,), method="euler", step=h)
    print(f"Euler,          h = {h}: y(1) = {e.y[0, -1]: .4e}")
ie = fastode.solve_ivp(relax, (0.0, 1.0), [0.0], args=(1000.0,), method="implicit_euler",
                       step=0.1)
print(f"backward Euler, h = 0.1:    y(1) = {ie.y[0, -1]: .6f}   (cos 1 = {np.cos(1.0):.6f})")

# %%
# Robertson's chemical kinetics
# -----------------------------
# Three species with rate constants from 0.04 to 3e7: the classic stiff test. RK45 has to keep
# its step near the stability bound for the whole interval; the stiff methods take a few hundred
# steps to t = 1e5 (the counters: ``njev`` Jacobians, ``nlu`` LU factorisations).


def robertson(t, y):
    return np.array([-0.04 * y[0] + 1e4 * y[1] * y[2],
                     0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                     3e7 * y[1] ** 2])


y0 = [1.0, 0.0, 0.0]
print(f"{'method':13s} {'t end':>8s} {'steps':>7s} {'nfev':>7s} {'njev':>5s} {'nlu':>5s}")
for method, t1 in (("RK45", 1e2), ("Radau", 1e5), ("BDF", 1e5), ("Rodas5P", 1e5),
                   ("KenCarp4", 1e5)):
    s = fastode.solve_ivp(robertson, (0.0, t1), y0, method=method, rtol=1e-6, atol=1e-10)
    print(f"{method:13s} {t1:8.0e} {s.naccept:7d} {s.nfev:7d} {s.njev:5d} {s.nlu:5d}")

# %%
# RK45 needed thousands of steps to reach only t = 100. The stiff solution over eleven decades
# of time (y2 is scaled by 1e4 to be visible):

sol = fastode.solve_ivp(robertson, (0.0, 1e5), y0, method="Radau", rtol=1e-6, atol=1e-10,
                        dense_output=True)
t = np.logspace(-5, 5, 300)
y = sol.sol(t)
fig, ax = plt.subplots(figsize=(5.5, 3.5))
ax.semilogx(t, y[0], label="y1")
ax.semilogx(t, 1e4 * y[1], label="1e4 y2")
ax.semilogx(t, y[2], label="y3")
ax.set_xlabel("t")
ax.legend()
ax.set_title("Robertson, Radau")
fig.tight_layout()

# %%
# Stiff only part of the time: automatic switching
# -------------------------------------------------
# The Van der Pol oscillator with ``mu = 1000`` is stiff on its slow branches and not during its
# fast jumps. ``method="LSODA"`` (or ``"auto"``) starts explicit, detects stiffness from the
# step-size history and switches to the Rosenbrock method Rodas4, and back.


def vdp(t, y, mu):
    return np.array([y[1], mu * (1 - y[0] ** 2) * y[1] - y[0]])


sol = fastode.solve_ivp(vdp, (0.0, 3000.0), [2.0, 0.0], args=(1000.0,), method="LSODA",
                        rtol=1e-6, atol=1e-9)
print(sol.message, f"{sol.naccept} steps")
for t_switch, old, new in sol.method_switches[:4]:
    print(f"  t = {t_switch:9.4f}: {old} -> {new}")

fig, ax = plt.subplots(figsize=(5.5, 3.2))
ax.plot(sol.t, sol.y[0], ".-", ms=2)
for t_switch, _, new in sol.method_switches:
    ax.axvline(t_switch, color="r" if new == "Rodas4" else "g", lw=0.6)
ax.set_xlabel("t")
ax.set_ylabel("y")
ax.set_title("Van der Pol mu = 1000: switches to Rodas4 (red) and back (green)")
fig.tight_layout()
