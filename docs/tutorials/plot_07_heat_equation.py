"""
The heat equation: method of lines and PINN
===========================================

A partial differential equation involves derivatives in several variables. The lecture's
example is the heat equation ``u_t = alpha u_xx``: heat diffuses along a rod, here with the ends
held at zero. Two ways to solve it:

* the **method of lines**: discretise x on a grid, replace ``u_xx`` by finite differences, and
  the PDE becomes a large stiff ODE system ``du_i/dt = alpha (u_{i-1} - 2 u_i + u_{i+1}) / dx^2``
  for an ODE solver (:mod:`fastode.pde`);
* a **physics-informed neural network** (PINN): a network ``u_theta(x, t)`` trained so that the
  PDE residual ``u_t - alpha u_xx`` vanishes at sampled points and the initial and boundary data
  hold (:mod:`fastode.pinn`, needs torch).

Both are checked against the exact solution: for ``u(x, 0) = sin(pi x)`` on [0, 1] it is
``u = exp(-alpha pi^2 t) sin(pi x)``.
"""
import math

import matplotlib.pyplot as plt
import numpy as np

from fastode import pde

# %%
# The method of lines
# -------------------
# :func:`~fastode.pde.heat_1d` returns the semi-discrete system: a compiled right-hand side, its
# sparsity (tridiagonal: each node talks to its neighbours), the grid and the initial state. The
# Dirichlet ends are not unknowns. ``prob.solve`` uses BDF with the band, so each step solves a
# tridiagonal system.

alpha = 0.4 / math.pi ** 2


def exact(x, t):
    return np.exp(-alpha * math.pi ** 2 * t) * np.sin(math.pi * x)


prob = pde.heat_1d(63, alpha=alpha, bc="dirichlet", u0=lambda x: np.sin(np.pi * x))
t_eval = np.linspace(0.0, 1.0, 6)
sol = prob.solve((0.0, 1.0), t_eval=t_eval, rtol=1e-8, atol=1e-10)
x = prob.grid[0]
print(sol.message, f"({sol.naccept} steps, {sol.nlu} LU factorisations)")
print("max error at t = 1:", np.abs(sol.y[:, -1] - exact(x, 1.0)).max())

fig, ax = plt.subplots(figsize=(5.5, 3.5))
for k, t in enumerate(t_eval):
    ax.plot(x, sol.y[:, k], label=f"t = {t:.1f}")
ax.set(xlabel="x", ylabel="u", title="heat equation, method of lines (63 nodes)")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The error is that of the second-order finite differences: doubling the nodes divides it by four
# (the time error is kept far below by the tight tolerance).

for n in (31, 63, 127):
    p = pde.heat_1d(n, alpha=alpha, bc="dirichlet", u0=lambda x: np.sin(np.pi * x))
    s = p.solve((0.0, 1.0), t_eval=[1.0], rtol=1e-10, atol=1e-12)
    err = np.abs(s.y[:, -1] - exact(p.grid[0], 1.0)).max()
    print(f"n = {n:3d}: dx = {1 / (n + 1):.4f}, max error {err:.3e}")

# %%
# A physics-informed neural network
# ---------------------------------
# The same problem for a PINN (:func:`fastode.pinn.lecture_problem`). The network's output is
# built so that the initial state and the zero ends hold exactly ("hard" constraints); training
# minimises the mean squared PDE residual at Sobol-sampled points, with derivatives by automatic
# differentiation: Adam in float32, then L-BFGS in float64. Kept short here (a few seconds, a
# time budget stops L-BFGS); ``pinn.run_lecture_example()`` trains longer, to a relative error of
# about 3.5e-5.

import torch  # noqa: E402

from fastode import pinn  # noqa: E402

problem = pinn.lecture_problem()
result = pinn.train(problem, n_points=600, adam_steps=150, lbfgs_steps=150, width=24,
                    time_budget=4.0, seed=0)
print(f"trained in {sum(result.seconds.values()):.1f} s "
      f"({result.adam_steps} Adam steps, {result.lbfgs_iterations} L-BFGS iterations, "
      f"stopped: {result.stop_reason})")

# %%
# :func:`~fastode.pinn.evaluate` compares the network with the exact solution and with the
# method-of-lines solution on a grid, side by side:

ev = pinn.evaluate(result.model, n_mol=127, nt=51)

fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
axes[0].semilogy(result.loss)
axes[0].axvline(result.adam_steps, color="k", lw=0.5)
axes[0].set(xlabel="Adam step, then L-BFGS evaluation", ylabel="loss", title="training")
extent = (ev["x"][0], ev["x"][-1], ev["t"][0], ev["t"][-1])
im = axes[1].imshow(ev["pinn"], origin="lower", aspect="auto", extent=extent)
axes[1].set(xlabel="x", ylabel="t", title="PINN u(x, t)")
fig.colorbar(im, ax=axes[1])
im = axes[2].imshow(np.abs(ev["pinn"] - ev["exact"]), origin="lower", aspect="auto",
                    extent=extent, cmap="magma")
axes[2].set(xlabel="x", ylabel="t", title="|PINN - exact|")
fig.colorbar(im, ax=axes[2])
fig.tight_layout()

# %%
# The method of lines is faster and more accurate on this small, smooth, one-dimensional problem;
# a PINN earns its keep where grids are awkward (irregular domains, high dimensions) or where the
# equation must be fitted to scattered data. Evaluating the trained network at new points costs
# one forward pass:

with torch.no_grad():
    x_new = torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64)
    t_new = torch.full_like(x_new, 0.5)
    print("PINN u(x, 0.5) =", result.model(x_new, t_new).numpy())
    print("exact          =", exact(x_new.numpy(), 0.5))
