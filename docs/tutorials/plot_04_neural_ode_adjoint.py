"""
Neural ODEs and the adjoint method
==================================

A residual network updates its hidden state by ``z_{l+1} = z_l + f(z_l)``: one Euler step of
``dz/dt = f(z)`` with step 1. A *Neural ODE* takes the limit: ``dz/dt = f_theta(t, z)``, a
network ``f_theta``, and the output ``z(T) = ODESolve(z(0), f_theta, 0, T)`` computed by an
adaptive solver. Training needs ``dL/dtheta`` through the solve: either backpropagation through
the solver's steps, or the **adjoint method**, which integrates ``a(t) = dL/dz(t)`` backward,
``da/dt = -a^T df/dz``, together with ``dL/dtheta = -int a^T df/dtheta dt``, in constant memory.

``fastode.torch_bridge`` has torchdiffeq's ``odeint`` and ``odeint_adjoint``. An MLP vector field
such as the lecture's ``ODEFunc`` is solved and differentiated in compiled code on the CPU.
"""
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

import fastode
from fastode.torch_bridge import last_stats, odeint, odeint_adjoint

torch.manual_seed(0)
torch.set_num_threads(1)


class ODEFunc(torch.nn.Module):
    """The lecture's vector field: a 2 -> 50 -> 2 tanh MLP."""

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(2, 50), torch.nn.Tanh(),
                                       torch.nn.Linear(50, 2))

    def forward(self, t, y):
        return self.net(y)


func = ODEFunc().double()

# %%
# The lecture's Euler loop, and an adaptive solve
# -----------------------------------------------
# The lecture integrates the network with a hand-written Euler loop on 10 points. ``odeint``
# solves the same ODE adaptively (Dormand-Prince 5(4)) and returns the state at every requested
# time: shape ``(len(t), *y0.shape)``.

y0 = torch.tensor([1.0, 0.0], dtype=torch.float64)
ts = torch.linspace(0.0, 1.0, 10, dtype=torch.float64)


def neural_ode_euler(func, y0, ts):
    y, ys = y0, [y0]
    for i in range(1, len(ts)):
        y = y + func(None, y) * (ts[i] - ts[i - 1])
        ys.append(y)
    return torch.stack(ys)


with torch.no_grad():
    euler_traj = neural_ode_euler(func, y0, ts)
    traj = odeint(func, y0, ts, rtol=1e-8, atol=1e-10)
print("trajectory shape:", tuple(traj.shape), " evaluations:", last_stats["nfev"])
print("Euler (9 steps) vs adaptive at t = 1:", euler_traj[-1].numpy(), traj[-1].numpy())

# %%
# Two ways to the gradient, the same numbers
# ------------------------------------------
# ``odeint`` differentiates the discrete solver exactly (reverse mode through its stored steps);
# ``odeint_adjoint`` solves the continuous adjoint backward, so its gradient matches to about the
# tolerance.

target = torch.tensor([0.0, 1.0], dtype=torch.float64)


def gradient(solver):
    func.zero_grad()
    y = solver(func, y0, ts, rtol=1e-9, atol=1e-11)
    loss = ((y[-1] - target) ** 2).sum()
    loss.backward()
    return torch.cat([p.grad.flatten() for p in func.parameters()]).clone()


g_direct = gradient(odeint)
g_adjoint = gradient(odeint_adjoint)
print(f"adjoint: {last_stats['adjoint_nfev']} backward evaluations, "
      f"{last_stats['adjoint_nvjp']} vector-Jacobian products")
print("relative difference of the gradients:",
      float((g_direct - g_adjoint).norm() / g_direct.norm()))

# %%
# Training: learn the harmonic oscillator from data
# -------------------------------------------------
# Observations of ``y'' = -y`` (solved with ``fastode.solve_ivp``) from a few starting points;
# the network learns the vector field from them. A few seconds of L-BFGS on the whole batch.


def oscillator(t, y):
    return np.array([y[1], -y[0]])


t_obs = np.linspace(0.0, 3.0, 16)
starts = np.array([[1.0, 0.0], [0.0, 1.5], [-0.5, -0.5], [2.0, 0.5]])
data = np.stack([fastode.solve_ivp(oscillator, (0.0, 3.0), s, t_eval=t_obs, rtol=1e-10,
                                   atol=1e-12).y.T for s in starts], axis=1)  # (16, 4, 2)
data = torch.tensor(data)
t_obs = torch.tensor(t_obs)
z0 = data[0]

optimizer = torch.optim.LBFGS(func.parameters(), lr=1.0, max_iter=20,
                              line_search_fn="strong_wolfe")
losses = []


def closure():
    optimizer.zero_grad()
    loss = ((odeint(func, z0, t_obs, rtol=1e-6, atol=1e-8) - data) ** 2).mean()
    loss.backward()
    losses.append(loss.item())
    return loss


start = time.perf_counter()
while time.perf_counter() - start < 3.0 and len(losses) < 400:
    optimizer.step(closure)
print(f"{len(losses)} loss evaluations in {time.perf_counter() - start:.1f} s: "
      f"loss {losses[0]:.3g} -> {losses[-1]:.3g}")

# %%
# The learned vector field against the true one ``(v, -y)``, and a trajectory from a start it
# was not trained on, integrated past the training interval:

grid = np.linspace(-2.0, 2.0, 15)
Y, V = np.meshgrid(grid, grid)
points = torch.tensor(np.stack([Y.ravel(), V.ravel()], axis=1))
with torch.no_grad():
    learned = func(None, points).numpy()
    test = odeint(func, torch.tensor([[1.2, -0.8]], dtype=torch.float64),
                  torch.linspace(0.0, 6.0, 100, dtype=torch.float64))[:, 0].numpy()
exact = fastode.solve_ivp(oscillator, (0.0, 6.0), [1.2, -0.8], t_eval=np.linspace(0, 6, 100)).y

fig, axes = plt.subplots(1, 2, figsize=(9, 4))
axes[0].quiver(Y, V, V, -Y, color="0.7", label="true")
axes[0].quiver(Y, V, learned[:, 0].reshape(Y.shape), learned[:, 1].reshape(Y.shape),
               color="C0", label="learned")
axes[0].plot(data[:, :, 0], data[:, :, 1], "k.", ms=3)
axes[0].set_title("vector field (training points in black)")
axes[0].set_aspect("equal")
axes[0].legend(loc="lower right")
axes[1].plot(exact[0], exact[1], "k--", label="exact")
axes[1].plot(test[:, 0], test[:, 1], "C1", label="Neural ODE")
axes[1].set_title("unseen start, t in [0, 6]")
axes[1].set_aspect("equal")
axes[1].legend()
fig.tight_layout()
