"""Train the lecture's ODEFunc (Linear(2,50), Tanh, Linear(50,2)) on the spiral
dy/dt = (y**3) A, A = [[-0.1, 2.0], [-2.0, -0.1]], y0 = [2, 0], t in [0, 25]
(torchdiffeq's ode_demo), with fastode.torch_bridge; plot true vs learned trajectories and
report the time per training iteration of each path.

    NUMBA_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python examples/neural_ode_spiral.py [--iters 300]
"""
import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from fastode.torch_bridge import odeint, odeint_adjoint  # noqa: E402

torch.set_num_threads(1)


class ODEFunc(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 50), nn.Tanh(), nn.Linear(50, 2))
        for m in self.net.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0, std=0.1)
                nn.init.constant_(m.bias, val=0)

    def forward(self, t, y):
        return self.net(y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__),
                                                  "neural_ode_spiral.png"))
    args = ap.parse_args()
    torch.manual_seed(0)
    np.random.seed(0)
    data_size, batch_time, batch_size = 1000, 10, 20
    A = torch.tensor([[-0.1, 2.0], [-2.0, -0.1]])
    true_y0 = torch.tensor([[2.0, 0.0]])
    t = torch.linspace(0.0, 25.0, data_size)
    with torch.no_grad():
        true_y = odeint(lambda tt, y: (y ** 3) @ A, true_y0, t, method="dopri5",
                        path="torch")

    def get_batch():
        s = torch.from_numpy(np.random.choice(np.arange(data_size - batch_time),
                                              batch_size, replace=False))
        return true_y[s], t[:batch_time], torch.stack([true_y[s + i] for i in
                                                        range(batch_time)], dim=0)

    func = ODEFunc()
    opt = torch.optim.Adam(func.parameters(), lr=3e-3)
    losses = []
    t0 = time.perf_counter()
    for it in range(1, args.iters + 1):
        opt.zero_grad()
        by0, bt, by = get_batch()
        pred = odeint(func, by0, bt, rtol=1e-7, atol=1e-9)   # compiled path
        loss = torch.mean(torch.abs(pred - by))
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if it % 250 == 0 or it == 1:
            with torch.no_grad():
                full = torch.mean(torch.abs(odeint(func, true_y0, t) - true_y)).item()
            print(f"iter {it:4d}  batch loss {loss.item():.4f}  full-trajectory loss {full:.4f}")
    train_s = time.perf_counter() - t0
    print(f"trained {args.iters} iterations in {train_s:.1f} s (compiled path)")

    # time per iteration of each path (same batch, same model)
    warnings.simplefilter("ignore")
    by0, bt, by = get_batch()
    paths = [("fastode compiled odeint (discrete adjoint)", odeint, {"path": "compiled"}),
             ("fastode compiled odeint_adjoint (backsolve)", odeint_adjoint,
              {"path": "compiled"}),
             ("fastode torch path odeint (backprop)", odeint, {"path": "torch"}),
             ("fastode torch path odeint_adjoint", odeint_adjoint, {"path": "torch"})]
    try:
        import torchdiffeq
        paths += [("torchdiffeq odeint", torchdiffeq.odeint, {}),
                  ("torchdiffeq odeint_adjoint", torchdiffeq.odeint_adjoint, {})]
    except ImportError:
        pass
    print("\ntime per training iteration (batch 20 x 10 times, rtol 1e-7, atol 1e-9, "
          "one thread):")
    for name, solve, kw in paths:
        reps = []
        for _ in range(6):
            s = time.perf_counter()
            opt.zero_grad()
            loss = torch.mean(torch.abs(solve(func, by0, bt, rtol=1e-7, atol=1e-9, **kw) - by))
            loss.backward()
            reps.append(time.perf_counter() - s)
        print(f"  {name:46s} {1e3 * np.median(reps[1:]):8.2f} ms")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    with torch.no_grad():
        pred_y = odeint(func, true_y0, t)
    fig, ax = plt.subplots(1, 3, figsize=(12, 3.6), dpi=80)
    ty, py = true_y[:, 0].numpy(), pred_y[:, 0].numpy()
    ax[0].plot(t, ty[:, 0], "g-", label="true y1")
    ax[0].plot(t, py[:, 0], "b--", label="learned y1")
    ax[0].plot(t, ty[:, 1], "g-", alpha=0.5, label="true y2")
    ax[0].plot(t, py[:, 1], "b--", alpha=0.5, label="learned y2")
    ax[0].set_xlabel("t")
    ax[0].legend(fontsize=7)
    ax[0].set_title("trajectories")
    ax[1].plot(ty[:, 0], ty[:, 1], "g-", label="true")
    ax[1].plot(py[:, 0], py[:, 1], "b--", label="learned")
    ax[1].set_title("phase portrait")
    ax[1].legend(fontsize=7)
    ax[2].semilogy(losses)
    ax[2].set_title("training loss (batch L1)")
    ax[2].set_xlabel("iteration")
    fig.tight_layout()
    fig.savefig(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
