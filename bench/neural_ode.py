"""Neural ODE benchmark: MLP 2-50-2 tanh, t in [0, 1] with 10 output times, CPU, one thread each.

    NUMBA_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python bench/neural_ode.py [--dtype float32]

Forward (no grad) and forward+backward (sum of squares of the outputs) wall time (median)
and function evaluations: fastode's compiled path (odeint: exact discrete adjoint;
odeint_adjoint: backsolve adjoint), fastode's torch path, torchdiffeq odeint / odeint_adjoint,
and torchode (if installed) at batch 1 and 512, rtol 1e-3 and 1e-6 (atol = rtol / 1000).
Also the gradient difference between the compiled discrete adjoint and autograd through the
torch path (float64).
"""
import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(1)

from fastode.torch_bridge import last_stats, odeint, odeint_adjoint  # noqa: E402


class ODEFunc(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 50), nn.Tanh(), nn.Linear(50, 2))
        self.nfev = 0

    def forward(self, t, y):
        self.nfev += 1
        return self.net(y)


def timeit(fn, budget=1.5, min_reps=3, max_reps=50):
    fn()  # warm-up (compilation, caches)
    times = []
    start = time.perf_counter()
    while len(times) < min_reps or (time.perf_counter() - start < budget
                                    and len(times) < max_reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_case(name, solve, func, y0, t, kw):
    def fwd():
        with torch.no_grad():
            return solve(func, y0, t, **kw)

    def fwdbwd():
        for p in func.parameters():
            p.grad = None
        ys = solve(func, y0, t, **kw)
        (ys ** 2).sum().backward()

    tf = timeit(fwd)
    func.nfev = 0
    fwd()
    nfev_f = last_stats.get("nfev") if name.startswith("fastode") else func.nfev
    tb = timeit(fwdbwd)
    func.nfev = 0
    last_stats.clear()
    fwdbwd()
    if name.startswith("fastode compiled"):
        nfev_b = last_stats.get("nfev", 0) + last_stats.get("adjoint_nfev", 0)
    else:
        nfev_b = func.nfev
    return tf, nfev_f, tb, nfev_b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--batches", default="1,512")
    ap.add_argument("--rtols", default="1e-3,1e-6")
    args = ap.parse_args()
    dtype = getattr(torch, args.dtype)
    warnings.simplefilter("ignore")
    try:
        import torchdiffeq
    except ImportError:
        torchdiffeq = None
    try:
        import torchode
    except ImportError:
        torchode = None

    def torchode_solve(func, y0, t, rtol, atol, method="dopri5"):
        term = torchode.ODETerm(lambda tt, y: func(tt, y))
        step = torchode.Dopri5(term=term)
        ctrl = torchode.IntegralController(atol=atol, rtol=rtol, term=term)
        solver = torchode.AutoDiffAdjoint(step, ctrl)
        tb = t.expand(y0.shape[0], -1)
        sol = solver.solve(torchode.InitialValueProblem(y0=y0, t_eval=tb))
        return sol.ys.transpose(0, 1)

    torch.manual_seed(0)
    func = ODEFunc().to(dtype)
    t = torch.linspace(0.0, 1.0, 10, dtype=dtype)
    print(f"# MLP 2-50-2 tanh, {args.dtype}, t in [0,1] (10 outputs), dopri5, CPU, "
          f"torch threads={torch.get_num_threads()}, NUMBA_NUM_THREADS="
          f"{os.environ['NUMBA_NUM_THREADS']}")
    print("| batch | rtol | solver | forward ms | nfev | fwd+bwd ms | nfev (fwd+bwd) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for B in [int(b) for b in args.batches.split(",")]:
        y0 = torch.randn(B, 2, dtype=dtype)
        for rtol in [float(r) for r in args.rtols.split(",")]:
            kw = dict(rtol=rtol, atol=rtol / 1000, method="dopri5")
            cases = [
                ("fastode compiled odeint", odeint, dict(kw, path="compiled")),
                ("fastode compiled odeint_adjoint", odeint_adjoint, dict(kw, path="compiled")),
                ("fastode torch-path odeint", odeint, dict(kw, path="torch")),
            ]
            if torchdiffeq is not None:
                cases += [("torchdiffeq odeint", torchdiffeq.odeint, kw),
                          ("torchdiffeq odeint_adjoint", torchdiffeq.odeint_adjoint, kw)]
            if torchode is not None:
                cases.append(("torchode (per-sample steps)", torchode_solve,
                              dict(rtol=rtol, atol=rtol / 1000)))
            for name, solve, ckw in cases:
                try:
                    tf, nf, tb, nb = run_case(name, solve, func, y0, t, ckw)
                    print(f"| {B} | {rtol:g} | {name} | {tf * 1e3:.2f} | {nf} | {tb * 1e3:.2f} | "
                          f"{nb} |", flush=True)
                except Exception as exc:  # a peer failing must not stop the table
                    print(f"| {B} | {rtol:g} | {name} | failed: {type(exc).__name__}: "
                          f"{str(exc)[:60]} | | | |", flush=True)

    # gradient agreement, float64
    f64 = ODEFunc().double()
    y0 = torch.randn(512, 2, dtype=torch.float64)
    t64 = torch.linspace(0.0, 1.0, 10, dtype=torch.float64)
    grads = {}
    for path in ("compiled", "torch"):
        for p in f64.parameters():
            p.grad = None
        (odeint(f64, y0, t64, rtol=1e-6, atol=1e-9, path=path) ** 2).sum().backward()
        grads[path] = torch.cat([p.grad.reshape(-1) for p in f64.parameters()])
    rel = float((grads["compiled"] - grads["torch"]).abs().max() / grads["torch"].abs().max())
    print(f"\nfloat64, batch 512, rtol 1e-6: compiled discrete adjoint vs autograd through the "
          f"torch-path solver: max relative gradient difference {rel:.2e}")


if __name__ == "__main__":
    main()
