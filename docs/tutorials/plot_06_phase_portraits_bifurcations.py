"""
Phase portraits and bifurcations
================================

A *phase portrait* draws a system's trajectories in state space instead of against time: for a
planar system the whole qualitative behaviour (equilibria, cycles, separatrices) fits in one
picture. A *bifurcation* is a qualitative change of that picture as a parameter moves: an
equilibrium loses stability, a cycle is born.

The lecture's visual example is the predator-prey cycle. :func:`fastode.analysis.phase_portrait`
draws streamlines, nullclines, equilibria (classified) and trajectories;
:func:`fastode.analysis.continuation` follows an equilibrium through a parameter and locates
where it changes stability; :func:`fastode.analysis.bifurcation_diagram` sweeps a parameter by
brute force, many solves in parallel.
"""
import matplotlib.pyplot as plt
import numpy as np

import fastode
from fastode.analysis import bifurcation_diagram, continuation, equilibria, phase_portrait

# %%
# Predator and prey
# -----------------
# Lotka-Volterra: prey x grow at rate a and are eaten (b x y); predators y die at rate c and grow
# by eating (d x y). The coexistence equilibrium ``(c/d, a/b)`` is a *centre* of the
# linearisation, and the orbits around it are closed: populations cycle forever, each cycle's
# size fixed by its start.


def predator_prey(t, y, a, b, c, d):
    return np.array([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])


args = (1.0, 0.5, 0.75, 0.25)
fig, ax = plt.subplots(figsize=(5.5, 4.5))
phase_portrait(predator_prey, (0.01, 9), (0.01, 6), args=args, ax=ax,
               trajectories=[[3.0, 1.0], [3.0, 1.5], [3.0, 3.0]], t_span=(0.0, 12.0))
ax.set(xlabel="prey x", ylabel="predators y", title="Lotka-Volterra")
fig.tight_layout()
print(equilibria(predator_prey, bounds=[(0.5, 9), (0.5, 6)], args=args).kinds)

# %%
# Along one cycle the predators lag the prey by a quarter period:

sol = fastode.solve_ivp(predator_prey, (0.0, 30.0), [3.0, 1.0], args=args, rtol=1e-8,
                        atol=1e-10, t_eval=np.linspace(0, 30, 500))
fig, ax = plt.subplots(figsize=(5.5, 3))
ax.plot(sol.t, sol.y[0], label="prey")
ax.plot(sol.t, sol.y[1], label="predators")
ax.set(xlabel="t")
ax.legend()
fig.tight_layout()

# %%
# Damping changes the picture
# ---------------------------
# The damped oscillator ``x'' + 2 zeta x' + x = 0``: a centre without damping, a stable focus
# (spiral) for ``0 < zeta < 1``, a stable node for ``zeta > 1``. Same equations, three phase
# portraits: the equilibrium's type is read off its eigenvalues.


def oscillator(t, y, omega, zeta):
    return np.array([y[1], -omega ** 2 * y[0] - 2 * zeta * omega * y[1]])


fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
for ax, zeta in zip(axes, (0.0, 0.25, 1.5)):
    phase_portrait(oscillator, (-2, 2), (-2, 2), args=(1.0, zeta), ax=ax,
                   trajectories=[[1.5, 0.0]], t_span=(0.0, 15.0))
    kind = equilibria(oscillator, guesses=[[0.1, 0.1]], args=(1.0, zeta)).kinds[0]
    ax.set_title(f"zeta = {zeta}: {kind}")
fig.tight_layout()

# %%
# A Hopf bifurcation: the Brusselator
# -----------------------------------
# The Brusselator's equilibrium ``(a, b/a)`` is stable for ``b < 1 + a^2`` and loses stability
# there as a pair of complex eigenvalues crosses the imaginary axis: a *Hopf bifurcation*, where
# a limit cycle is born. Pseudo-arclength continuation follows the equilibrium in b and locates
# the crossing.


def brusselator(t, y, a, b):
    return np.array([a - (b + 1) * y[0] + y[0] ** 2 * y[1], b * y[0] - y[0] ** 2 * y[1]])


branch = continuation(brusselator, [1.0, 0.5], 0.5, 1, args=(1.0, 0.5), p_max=3.5)
hopf = branch.hopfs[0]
print(f"Hopf at b = {hopf['param']:.10f} (theory 1 + a^2 = 2), "
      f"frequency {hopf['frequency']:.6f} (theory a = 1)")

fig, axes = plt.subplots(1, 2, figsize=(10, 4))
branch.plot(axes[0], component=1)
axes[0].set(xlabel="b", ylabel="y* (second component)",
            title="equilibrium branch (dashed: unstable)")
phase_portrait(brusselator, (0, 4), (0, 5), args=(1.0, 2.5), ax=axes[1], n_grid=30,
               trajectories=[[1.0, 2.6], [3.5, 4.5]], t_span=(0.0, 40.0))
axes[1].set(xlabel="x", ylabel="y", title="b = 2.5: unstable focus inside a limit cycle")
fig.tight_layout()

# %%
# A period-doubling cascade: the Rossler system
# ---------------------------------------------
# Past a Hopf point the cycle itself can bifurcate. In the Rossler system the maxima of x on the
# attractor, against the parameter c, show the cycle doubling its period again and again until
# chaos. Each value of c is one solve; all of them run in parallel through
# :func:`fastode.solve_ensemble` (the right-hand side takes the parameters as one array ``p``).


def rossler(t, y, p):
    return np.array([-y[1] - y[2], y[0] + p[0] * y[1], p[1] + y[2] * (y[0] - p[2])])


diagram = bifurcation_diagram(rossler, [1.0, 1.0, 0.0], "c", np.linspace(2.0, 6.0, 160),
                              params=[0.2, 0.2, 0.0], param_names=["a", "b", "c"],
                              transient=150.0, record=80.0)
fig, ax = plt.subplots(figsize=(6, 4))
diagram.plot(ax)
ax.set(xlabel="c", ylabel="maxima of x", title="Rossler (a = b = 0.2)")
fig.tight_layout()
