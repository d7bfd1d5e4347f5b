"""
SDEs and Langevin sampling
==========================

A stochastic differential equation adds noise to the rate of change:
``dy = f(t, y) dt + g(t, y) dW``, with ``W`` a Wiener process (Brownian motion: independent
Gaussian increments of variance dt). The solution is random: one draws *paths* and studies
their statistics. In machine learning the best-known SDE is **Langevin dynamics**,
``dx = grad log pi(x) dt + sqrt(2) dW``, whose paths sample the density ``pi``: the basis of
Langevin MCMC and of score-based diffusion models.

:func:`fastode.solve_sde` solves many paths in parallel in compiled code, each path with its own
reproducible random stream; :func:`fastode.langevin.sample` runs Langevin samplers.
"""
import matplotlib.pyplot as plt
import numpy as np

import fastode
from fastode.langevin import sample

# %%
# Geometric Brownian motion
# -------------------------
# ``dX = mu X dt + sigma X dW``: the stock-price model. Drift and diffusion are written like an
# ODE right-hand side (diagonal noise: the diffusion returns one entry per component). The mean
# is ``E X_t = X_0 e^{mu t}``.


def drift(t, y, mu, sigma):
    return np.array([mu * y[0]])


def diffusion(t, y, mu, sigma):
    return np.array([sigma * y[0]])


mu, sigma = 1.0, 0.5
t_eval = np.linspace(0.0, 1.0, 101)
res = fastode.solve_sde(drift, diffusion, (0.0, 1.0), [1.0], args=(mu, sigma), n_paths=10_000,
                        seed=42, t_eval=t_eval)
print(res.message)
print("mean of X_1:", res.y[:, 0, -1].mean(), " exact e^mu =", np.e)

fig, ax = plt.subplots(figsize=(5.5, 3.5))
ax.plot(t_eval, res.y[:30, 0, :].T, lw=0.6, color="0.6")
ax.plot(t_eval, res.y[:, 0, :].mean(axis=0), "C0", lw=2, label="mean of 10,000 paths")
ax.plot(t_eval, np.exp(mu * t_eval), "k--", label="e^{mu t}")
ax.set(xlabel="t", ylabel="X", title="geometric Brownian motion")
ax.legend()
fig.tight_layout()

# %%
# Strong convergence: Euler-Maruyama and Milstein
# -----------------------------------------------
# GBM has the exact solution ``X_t = X_0 exp((mu - sigma^2/2) t + sigma W_t)``, so the *strong*
# error (on the same Brownian path) can be measured. Supplying the Brownian increments ``dW``
# drives both methods with the very same paths at every step size: Euler-Maruyama's error falls
# like ``dt^0.5``, Milstein's (which adds the ``g g'`` term) like ``dt^1``.

rng = np.random.default_rng(0)
n_paths, n_fine = 2000, 2 ** 10
dW_fine = rng.normal(0.0, np.sqrt(1.0 / n_fine), (n_paths, n_fine, 1))
exact = np.exp((mu - sigma ** 2 / 2) + sigma * dW_fine.sum(axis=(1, 2)))

dts, errors = [], {"euler_maruyama": [], "milstein": []}
for n_steps in (2 ** 4, 2 ** 5, 2 ** 6, 2 ** 7, 2 ** 8):
    dW = dW_fine.reshape(n_paths, n_steps, n_fine // n_steps, 1).sum(axis=2)  # coarser steps
    dts.append(1.0 / n_steps)
    for method in errors:
        r = fastode.solve_sde(drift, diffusion, (0.0, 1.0), [1.0], args=(mu, sigma),
                              method=method, n_paths=n_paths, dt=1.0 / n_steps, dW=dW)
        errors[method].append(np.abs(r.y[:, 0, -1] - exact).mean())

fig, ax = plt.subplots(figsize=(5, 3.5))
for method, err in errors.items():
    order = np.polyfit(np.log(dts), np.log(err), 1)[0]
    ax.loglog(dts, err, "o-", label=f"{method} (order {order:.2f})")
    print(f"{method}: observed strong order {order:.2f}")
ax.set(xlabel="dt", ylabel="E |X_1 - exact|", title="strong error, same Brownian paths")
ax.legend()
fig.tight_layout()

# %%
# Ornstein-Uhlenbeck: noise against a restoring force
# ---------------------------------------------------
# ``dX = -theta X dt + s dW`` relaxes to a stationary Gaussian of variance ``s^2 / (2 theta)``.
# With additive noise (g does not depend on X) the Rossler SRA1 method has strong order 1.5;
# here it takes fixed steps ``dt`` (without ``dt`` it adapts the step to ``rtol``/``atol``).


def ou_drift(t, y, theta, s):
    return np.array([-theta * y[0]])


def ou_noise(t, y, theta, s):
    return np.array([s])


ou = fastode.solve_sde(ou_drift, ou_noise, (0.0, 10.0), [3.0], args=(2.0, 1.0), method="SRA1",
                       noise="additive", dt=0.05, n_paths=20_000, seed=1, t_eval=[10.0])
print("stationary variance:", ou.y[:, 0, -1].var(), " theory s^2 / (2 theta) =", 1.0 / 4.0)

# %%
# Langevin sampling of a double well
# ----------------------------------
# Sample ``pi(x) ~ exp(-U(x) / T)`` with ``U(x) = (x^2 - 1)^2`` at temperature ``T = 0.3``: two
# modes at +-1 separated by a barrier. ULA (the Euler-Maruyama discretisation of overdamped
# Langevin) is biased by O(step) and unstable if the step is too large for the steep walls;
# MALA adds a Metropolis test and is exact; BAOAB integrates underdamped Langevin dynamics (with
# momentum and friction) with an O(step^2) bias on averages of x. 32 chains each, in parallel;
# ``ess`` is the effective sample size over all chains.


def grad_log_density(x, temperature):
    return np.array([-4.0 * x[0] * (x[0] * x[0] - 1.0) / temperature])


def log_density(x, temperature):
    return -((x[0] * x[0] - 1.0) ** 2) / temperature


xs = np.linspace(-2.0, 2.0, 400)
density = np.exp(-((xs ** 2 - 1) ** 2) / 0.3)
density /= density.sum() * (xs[1] - xs[0])
print(f"exact:             E x^2 = {np.sum(xs ** 2 * density) * (xs[1] - xs[0]):.4f}")

fig, ax = plt.subplots(figsize=(6, 3.8))
ax.plot(xs, density, "k", lw=2, label="exact")
for method, step in (("ULA", 0.02), ("MALA", 0.05), ("BAOAB", 0.1)):
    r = sample(grad_log_density, [-1.0], method=method, step=step, n_samples=4000, thin=5,
               burn_in=500, n_chains=32, friction=1.0, args=(0.3,), seed=1,
               log_density=log_density if method == "MALA" else None)
    x = r.samples[..., 0].ravel()
    extra = f", acceptance {r.acceptance_rate.mean():.2f}" if method == "MALA" else ""
    print(f"{method:5s} step {step:4}: E x^2 = {np.mean(x ** 2):.4f}, ESS {r.ess[0]:.0f}{extra}")
    ax.hist(x, bins=80, range=(-2, 2), density=True, histtype="step", label=f"{method}, {step}")
ax.set(xlabel="x", ylabel="density", title="double well, T = 0.3")
ax.legend()
fig.tight_layout()

# %%
# A failed chain is reported, never hidden: ULA at step 0.05 is unstable on these walls (the
# explicit step overshoots where the force is large), its chains blow up, and the result says so.

r = sample(grad_log_density, [-1.0], method="ULA", step=0.05, n_samples=1000, n_chains=4,
           args=(0.3,), seed=1)
print("ULA, step 0.05: success =", r.success, "; chains with NaN samples:",
      int(np.isnan(r.samples).any(axis=(1, 2)).sum()))
