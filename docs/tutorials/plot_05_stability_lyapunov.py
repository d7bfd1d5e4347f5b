"""
Stability, equilibria and Lyapunov
==================================

An *equilibrium* is a state ``y*`` with ``f(y*) = 0``. It is *stable* if small perturbations stay
small, *asymptotically stable* if they die out. Near ``y*`` the system behaves like its
linearisation ``dy/dt = J (y - y*)``: if every eigenvalue of the Jacobian J has a negative real
part, ``y*`` is asymptotically stable; one with a positive real part makes it unstable.

Lyapunov's direct method needs no linearisation: a function ``V`` with a minimum at ``y*`` that
decreases along every trajectory (``dV/dt = grad V . f < 0``) proves stability. And for chaotic
systems the *Lyapunov exponents* measure how fast nearby trajectories separate.

This tutorial uses :mod:`fastode.analysis` on the damped pendulum and the Lorenz system.
"""
import matplotlib.pyplot as plt
import numpy as np

import fastode
from fastode.analysis import equilibria, lyapunov_check, lyapunov_exponents

# %%
# Equilibria of the damped pendulum
# ---------------------------------
# ``theta'' = -sin(theta) - b theta'``: hanging down (``theta = 0``) and standing up
# (``theta = +-pi``). :func:`~fastode.analysis.equilibria` runs compiled Newton iterations from
# many starts in a box, merges the results and classifies each point by its eigenvalues.


def pendulum(t, y, b):
    return np.array([y[1], -np.sin(y[0]) - b * y[1]])


eq = equilibria(pendulum, bounds=[(-4, 4), (-2, 2)], args=(0.5,))
for point, kind, ev in zip(eq.points, eq.kinds, eq.eigenvalues):
    print(f"theta = {point[0]: .6f}, omega = {point[1]: .1e}: {kind:13s} eigenvalues {ev}")

# %%
# A Lyapunov function: the energy
# -------------------------------
# The pendulum's energy ``V = omega^2 / 2 + 1 - cos(theta)`` has its minimum at the bottom.
# Along trajectories ``dV/dt = -b omega^2 <= 0``: it never increases, so the bottom is stable.
# (It is only non-increasing, zero wherever ``omega = 0``, which is why LaSalle's principle is
# needed for asymptotic stability.) :func:`~fastode.analysis.lyapunov_check` evaluates the sign
# of dV/dt on a grid.


def energy(y):
    return 0.5 * y[1] ** 2 + 1.0 - np.cos(y[0])


check = lyapunov_check(energy, pendulum, region=[(-2.5, 2.5), (-2, 2)], args=(0.5,),
                       equilibrium=[0.0, 0.0], tol=1e-9)
print(f"non-increasing: {check.non_increasing}, strictly decreasing: {check.decreasing}, "
      f"largest dV/dt = {check.max_vdot:.2e}")

# %%
# A trajectory from near the top loses energy monotonically and spirals into the bottom:

sol = fastode.solve_ivp(pendulum, (0.0, 30.0), [3.0, 0.0], args=(0.5,), rtol=1e-9, atol=1e-12,
                        t_eval=np.linspace(0.0, 30.0, 600))
V = np.array([energy(y) for y in sol.y.T])
print("energy never increased:", bool(np.all(np.diff(V) <= 1e-12)))

fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
th, om = np.meshgrid(np.linspace(-3.5, 3.5, 200), np.linspace(-2.5, 2.5, 200))
axes[0].contour(th, om, 0.5 * om ** 2 + 1 - np.cos(th), levels=12, colors="0.75")
axes[0].plot(sol.y[0], sol.y[1])
axes[0].plot(eq.points[:, 0], eq.points[:, 1], "kx")
axes[0].set(xlabel="theta", ylabel="omega", title="trajectory over the level sets of V")
axes[1].plot(sol.t, V)
axes[1].set(xlabel="t", ylabel="V", title="energy along the trajectory")
fig.tight_layout()

# %%
# Lyapunov exponents of the Lorenz system
# ---------------------------------------
# On a chaotic attractor there is no stable equilibrium to find. The largest Lyapunov exponent is
# the average rate at which a small perturbation grows, ``|dy(t)| ~ e^{lambda_1 t} |dy(0)|``.
# :func:`~fastode.analysis.lyapunov_exponents` integrates the state and the variational equations
# together (Benettin's method). For Lorenz the exponents are about (0.906, 0, -14.57), and they
# sum to the divergence ``-(sigma + 1 + beta) = -13.667``. A short average (T = 200) gives the
# first digits; the running estimates show how the average settles.


def lorenz(t, y, s, r, b):
    return np.array([s * (y[1] - y[0]), y[0] * (r - y[2]) - y[1], y[0] * y[1] - b * y[2]])


args = (10.0, 28.0, 8.0 / 3.0)
res = lyapunov_exponents(lorenz, [1.0, 1.0, 1.0], (0.0, 210.0), args=args, transient=10.0)
print("exponents:", res.exponents, " sum:", res.exponents.sum())

fig, ax = plt.subplots(figsize=(5.5, 3.5))
for j in range(3):
    ax.plot(res.history_t, res.history[:, j], label=f"lambda_{j + 1}")
ax.axhline(0.0, color="k", lw=0.5)
ax.set(xscale="log", xlabel="averaging time", ylabel="running estimate")
ax.legend()
fig.tight_layout()

# %%
# Sensitive dependence, directly: two Lorenz trajectories starting 1e-9 apart separate at the
# rate ``e^{lambda_1 t}`` until the distance reaches the size of the attractor.

t = np.linspace(0.0, 30.0, 3000)
a = fastode.solve_ivp(lorenz, (0, 30), res.y, args=args, method="DOP853", rtol=1e-12,
                      atol=1e-12, t_eval=t)
b = fastode.solve_ivp(lorenz, (0, 30), res.y + [1e-9, 0, 0], args=args, method="DOP853",
                      rtol=1e-12, atol=1e-12, t_eval=t)
fig, ax = plt.subplots(figsize=(5.5, 3.2))
ax.semilogy(t, np.linalg.norm(a.y - b.y, axis=0), label="distance")
ax.semilogy(t, 1e-9 * np.exp(res.exponents[0] * t), "--", label="1e-9 exp(lambda_1 t)")
ax.set(xlabel="t", ylim=(1e-10, 1e2))
ax.legend()
fig.tight_layout()
