"""
First ODEs: Euler and RK4
=========================

An ordinary differential equation ``dy/dt = f(t, y)`` with ``y(t0) = y0`` gives the rate of
change; a solver turns it into the trajectory. This tutorial takes the lecture's first examples
(decay, growth, the harmonic oscillator, free fall) through the two classic fixed-step methods:

* **Euler**: ``y_{n+1} = y_n + h f(t_n, y_n)``, error O(h);
* **RK4**: four slopes per step, weighted; error O(h^4).

In fastode both are ``solve_ivp`` methods with a fixed ``step``. The right-hand side is a plain
Python function: fastode compiles it with numba the first time it is used.
"""
import matplotlib.pyplot as plt
import numpy as np

import fastode

# %%
# Decay: ``dy/dt = -y``
# ---------------------
# The exact solution is ``y = e^{-t}``. Euler with step h multiplies y by ``(1 - h)`` each step,
# so after 1000 steps of 0.005 it gives exactly ``0.995^1000``.


def decay(t, y):
    return -y


sol = fastode.solve_ivp(decay, (0.0, 5.0), [1.0], method="euler", step=0.005)
print(f"Euler y(5) = {sol.y[0, -1]:.10f}   0.995^1000 = {0.995 ** 1000:.10f}   "
      f"e^-5 = {np.exp(-5):.10f}")

# %%
# The order of a method shows in how the error falls with the step: halve h, and Euler's error
# halves while RK4's falls 16-fold. On a log-log plot the slopes are 1 and 4.

steps = np.array([0.5, 0.25, 0.1, 0.05, 0.025, 0.01])
errors = {}
for method in ("euler", "rk4"):
    errors[method] = [abs(fastode.solve_ivp(decay, (0.0, 5.0), [1.0], method=method,
                                            step=h).y[0, -1] - np.exp(-5.0)) for h in steps]
    slope = np.polyfit(np.log(steps), np.log(errors[method]), 1)[0]
    print(f"{method:5s}: observed order {slope:.2f}")

fig, ax = plt.subplots(figsize=(5, 3.5))
for method, err in errors.items():
    ax.loglog(steps, err, "o-", label=method)
ax.set_xlabel("step h")
ax.set_ylabel("|y(5) - e^-5|")
ax.set_title("Decay: error against step")
ax.legend()
fig.tight_layout()

# %%
# Growth: ``dy/dt = k y``
# -----------------------
# Parameters go in ``args``, as in scipy: the function receives them after ``t`` and ``y``.
# A new value of ``k`` does not recompile anything.


def growth(t, y, k):
    return k * y


for k in (0.5, 1.0):
    sol = fastode.solve_ivp(growth, (0.0, 2.0), [1.0], method="rk4", step=0.1, args=(k,))
    print(f"k = {k}: RK4 y(2) = {sol.y[0, -1]:.8f}, exact {np.exp(2 * k):.8f}")

# %%
# The harmonic oscillator: a second-order equation as a system
# ------------------------------------------------------------
# ``y'' = -y`` becomes the first-order system ``(y, v)' = (v, -y)``. Its energy
# ``(y^2 + v^2) / 2`` is conserved. Euler does not conserve it: each step multiplies the
# radius by ``sqrt(1 + h^2)``, so the numerical orbit spirals outwards, while RK4 stays on the
# circle to within its small error.


def oscillator(t, y):
    return np.array([y[1], -y[0]])


h = 0.1
euler = fastode.solve_ivp(oscillator, (0.0, 20.0), [1.0, 0.0], method="euler", step=h)
rk4 = fastode.solve_ivp(oscillator, (0.0, 20.0), [1.0, 0.0], method="rk4", step=h)
print("radius at t = 20: Euler", np.hypot(*euler.y[:, -1]), " RK4", np.hypot(*rk4.y[:, -1]),
      " (1 + h^2)^(n/2) =", (1 + h * h) ** (len(euler.t[1:]) / 2))

fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.plot(euler.y[0], euler.y[1], label="Euler, h = 0.1")
ax.plot(rk4.y[0], rk4.y[1], label="RK4, h = 0.1")
ax.set_aspect("equal")
ax.set_xlabel("y")
ax.set_ylabel("v = dy/dt")
ax.set_title("Harmonic oscillator, t in [0, 20]")
ax.legend(loc="upper right")
fig.tight_layout()

# %%
# Free fall, stopped by an event
# ------------------------------
# ``d^2y/dt^2 = -g`` from a height of 100 m: the state is (height, velocity). An *event*
# function stops the integration where it crosses zero: here, where the height reaches the
# ground. The exact landing time is ``sqrt(2 * 100 / g)``.


def fall(t, y, g):
    return np.array([y[1], -g])


def hits_ground(t, y, g):
    return y[0]


hits_ground.terminal = True   # stop there
hits_ground.direction = -1    # only while falling

sol = fastode.solve_ivp(fall, (0.0, 10.0), [100.0, 0.0], args=(9.81,), events=hits_ground,
                        dense_output=True)
print("lands at t =", sol.t_events[0][0], " exact", np.sqrt(2 * 100 / 9.81))

t = np.linspace(0.0, sol.t[-1], 100)
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot(t, sol.sol(t)[0])
ax.plot(sol.t_events[0], [0.0], "ro", label="event: height = 0")
ax.set_xlabel("t [s]")
ax.set_ylabel("height [m]")
ax.legend()
fig.tight_layout()
