"""
Adaptive steps: the SIR epidemic
================================

A fixed step must be small enough for the fastest part of the solution everywhere. An adaptive
method estimates its own error at every step (an embedded lower-order solution) and chooses
the next step so that the error stays near ``rtol * |y| + atol``: small steps where the
solution changes fast, large ones where it does not.

The lecture's SIR model of an epidemic (fractions susceptible, infected, recovered)::

    dS/dt = -beta S I
    dI/dt =  beta S I - gamma I
    dR/dt =  gamma I
"""
import matplotlib.pyplot as plt
import numpy as np

import fastode


def sir(t, y, beta, gamma):
    s, i = y[0], y[1]
    return np.array([-beta * s * i, beta * s * i - gamma * i, gamma * i])


y0 = [0.999, 0.001, 0.0]
args = (0.5, 0.1)   # R0 = beta / gamma = 5

sol = fastode.solve_ivp(sir, (0.0, 120.0), y0, args=args, method="RK45", rtol=1e-6,
                        atol=1e-9, dense_output=True)
print(sol.message)
print(f"{sol.naccept} accepted steps, {sol.nreject} rejected, {sol.nfev} evaluations")
print("S + I + R at the end:", sol.y[:, -1].sum())

# %%
# The steps the solver chose
# --------------------------
# ``sol.t`` holds the accepted step ends. The step is short while the infection grows fastest and
# long once the epidemic is over. The dense output ``sol.sol(t)`` evaluates the solution anywhere
# in between at the method's own order, without extra steps.

t = np.linspace(0.0, 120.0, 400)
fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(6, 5), sharex=True)
for k, name in enumerate("SIR"):
    ax1.plot(t, sol.sol(t)[k], label=name)
ax1.plot(sol.t, sol.y[1], "k.", ms=3, label="step ends (I)")
ax1.set_ylabel("fraction")
ax1.legend(ncol=4, fontsize=8)
ax2.semilogy(sol.t[1:], np.diff(sol.t), "o-", ms=3)
ax2.set_xlabel("t [days]")
ax2.set_ylabel("step size")
fig.tight_layout()

# %%
# Tolerance, error and work
# -------------------------
# Tightening ``rtol`` buys accuracy with more evaluations. A reference from DOP853 at a very
# tight tolerance gives the error. The 8th-order DOP853 needs far fewer evaluations than the
# 3rd-order RK23 for the same error, the more so the tighter the tolerance.
# :func:`fastode.plot.work_precision` draws the results as they are (the error of each against
# the reference, its ``nfev`` as the work).

ref = fastode.solve_ivp(sir, (0.0, 120.0), y0, args=args, method="DOP853", rtol=1e-13,
                        atol=1e-15).y[:, -1]
rtols = 10.0 ** -np.arange(3, 11)
results = {method: [fastode.solve_ivp(sir, (0.0, 120.0), y0, args=args, method=method,
                                      rtol=rtol, atol=rtol * 1e-3) for rtol in rtols]
           for method in ("RK23", "RK45", "DOP853", "Tsit5")}
ax = fastode.plot.work_precision(results, reference=ref)
ax.set_title("SIR: error against work, rtol 1e-3 ... 1e-10")
ax.figure.tight_layout()

# %%
# The same accuracy with a fixed step
# -----------------------------------
# RK4 with a fixed step needs a step small enough for the outbreak even where nothing happens.
# Halving the step until the error matches RK45's at ``rtol=1e-6``:

target = np.max(np.abs(sol.y[:, -1] - ref))
step = 8.0
while True:
    fixed = fastode.solve_ivp(sir, (0.0, 120.0), y0, args=args, method="rk4", step=step)
    if np.max(np.abs(fixed.y[:, -1] - ref)) <= target:
        break
    step /= 2
print(f"RK45: {sol.nfev} evaluations; RK4 needs step {step} ({fixed.nfev} evaluations)")

# %%
# Events on the dense output
# --------------------------
# When does the epidemic peak? ``dI/dt`` changes sign from + to -: an event with
# ``direction=-1``, found by root finding on the dense output (no extra steps).


def peak(t, y, beta, gamma):
    return beta * y[0] * y[1] - gamma * y[1]


peak.direction = -1
sol = fastode.solve_ivp(sir, (0.0, 120.0), y0, args=args, events=peak, rtol=1e-8, atol=1e-10)
print(f"peak at t = {sol.t_events[0][0]:.4f} days, I = {sol.y_events[0][0][1]:.4f} "
      f"(theory: S = gamma/beta = {args[1] / args[0]} there; S = {sol.y_events[0][0][0]:.6f})")
