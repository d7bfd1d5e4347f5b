"""Per-call cost of fastode.torch_bridge's compiled path at small batch (one thread).

    NUMBA_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python bench/neural_ode_overhead.py \
        [--batch 1] [--calls 2000] [--profile]

The benchmark's model (bench/neural_ode.py: MLP 2-50-2 tanh with an ``nfev`` counter, t in
[0, 1] with 10 outputs, dopri5, rtol 1e-3 / atol 1e-6): median and minimum microseconds per
call of ``odeint`` and ``odeint_adjoint`` forward (no grad) and forward+backward, and with
``--profile`` the cProfile of the fwd+bwd calls (top functions by own time), which splits the
call into the numba kernels and the Python/torch work around them.
"""
import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import cProfile  # noqa: E402
import gc  # noqa: E402
import pstats  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(1)

from fastode.torch_bridge import odeint, odeint_adjoint  # noqa: E402


class ODEFunc(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 50), nn.Tanh(), nn.Linear(50, 2))
        self.nfev = 0

    def forward(self, t, y):
        self.nfev += 1
        return self.net(y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    dtype = getattr(torch, args.dtype)
    torch.manual_seed(0)
    func = ODEFunc().to(dtype)
    y0 = torch.randn(args.batch, 2, dtype=dtype)
    t = torch.linspace(0.0, 1.0, 10, dtype=dtype)
    kw = dict(rtol=1e-3, atol=1e-6, method="dopri5", path="compiled")

    def fwd(solve):
        with torch.no_grad():
            solve(func, y0, t, **kw)

    def fwdbwd(solve):
        for p in func.parameters():
            p.grad = None
        (solve(func, y0, t, **kw) ** 2).sum().backward()

    print(f"# batch {args.batch}, {args.dtype}, {args.calls} calls each; us per call "
          f"(median / min)")
    for solve in (odeint, odeint_adjoint):
        for name, call in (("forward", fwd), ("fwd+bwd", fwdbwd)):
            for _ in range(20):
                call(solve)
            ts = np.empty(args.calls)
            gc.collect()
            gc.disable()
            try:
                for i in range(args.calls):
                    t0 = time.perf_counter()
                    call(solve)
                    ts[i] = time.perf_counter() - t0
            finally:
                gc.enable()
            print(f"{solve.__name__:15s} {name:8s} {np.median(ts) * 1e6:8.1f} "
                  f"{ts.min() * 1e6:8.1f}")
    if args.profile:
        for solve in (odeint, odeint_adjoint):
            pr = cProfile.Profile()
            pr.enable()
            for _ in range(args.calls):
                fwdbwd(solve)
            pr.disable()
            print(f"\n## cProfile, {solve.__name__} fwd+bwd, {args.calls} calls")
            pstats.Stats(pr).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
