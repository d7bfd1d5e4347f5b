"""Neural ODE benchmark: MLP 2-50-2 tanh, t in [0, 1] with 10 output times, CPU, one thread each.

    NUMBA_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python bench/neural_ode.py [--dtype float32]

Forward (no grad) and forward+backward (sum of squares of the outputs) wall time and function
evaluations: fastode's compiled path (odeint: exact discrete adjoint; odeint_adjoint: backsolve
adjoint), fastode's torch path, torchdiffeq odeint / odeint_adjoint, and torchode (if
installed) at batch 1 and 512, rtol 1e-3 and 1e-6 (atol = rtol / 1000).

Timing: the cases of one (batch, rtol) row group are run interleaved (each round runs every
case once, in a new random order, after one warm-up call each) and each reports the minimum
over the rounds, so a burst of load from other processes on a shared machine hits every case
alike; Python's garbage collector is off while timing. ``nfev fwd+bwd`` counts every
evaluation of the vector field, forward and backward: the backward solve of a backsolve
adjoint (each evaluation there also takes one vector-Jacobian product), and the stages the
compiled discrete adjoint recomputes from its stored steps; backpropagation through the
solver evaluates nothing more. ``x adj`` is torchdiffeq ``odeint_adjoint``'s fwd+bwd time over
the case's.

Also: the gradient difference between the compiled discrete adjoint and autograd through the
torch-path solver (float64, batch 512).
"""
import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
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


class Case:
    def __init__(self, name, solve, func, y0, t, kw):
        self.name, self.solve, self.func, self.y0, self.t, self.kw = name, solve, func, y0, t, kw
        self.tf = []
        self.tb = []

    def fwd(self):
        with torch.no_grad():
            return self.solve(self.func, self.y0, self.t, **self.kw)

    def fwdbwd(self):
        for p in self.func.parameters():
            p.grad = None
        ys = self.solve(self.func, self.y0, self.t, **self.kw)
        (ys ** 2).sum().backward()

    def counts(self):
        """(nfev forward, nfev forward + backward)."""
        fastode = self.name.startswith("fastode")
        self.func.nfev = 0
        last_stats.clear()
        self.fwd()
        nf = last_stats.get("nfev") if fastode else self.func.nfev
        self.func.nfev = 0
        last_stats.clear()
        self.fwdbwd()
        if fastode:
            nb = last_stats.get("nfev", 0) + last_stats.get("adjoint_nfev", 0)
        else:
            nb = self.func.nfev
        return nf, nb

    def round(self):
        t0 = time.perf_counter()
        self.fwd()
        t1 = time.perf_counter()
        self.fwdbwd()
        t2 = time.perf_counter()
        self.tf.append(t1 - t0)
        self.tb.append(t2 - t1)


def run_group(cases, rounds, budget):
    alive = []
    for c in cases:
        try:
            c.round()   # warm-up (compilation, caches)
            alive.append(c)
        except Exception as exc:  # a peer failing must not stop the table
            c.error = f"{type(exc).__name__}: {str(exc)[:60]}"
    for c in alive:
        c.tf.clear()
        c.tb.clear()
    start = time.perf_counter()
    r = 0
    # a new order every round: the case run right after a heavy one (torchdiffeq's adjoint)
    # starts with cold caches, ~0.3 ms at batch 1
    rng = np.random.default_rng(0)
    # the garbage collector is off while timing (else the first case after torchdiffeq's
    # adjoint pays ~0.3 ms of collecting its garbage); objects are freed by reference counts
    gc.collect()
    gc.disable()
    try:
        while r < 3 or (r < rounds and time.perf_counter() - start < budget):
            for c in rng.permutation(len(alive)):
                alive[c].round()
            r += 1
    finally:
        gc.enable()
        gc.collect()
    return alive


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--batches", default="1,512")
    ap.add_argument("--rtols", default="1e-3,1e-6")
    ap.add_argument("--rounds", type=int, default=30, help="at most this many rounds per group")
    ap.add_argument("--budget", type=float, default=20.0, help="seconds per group (>= 3 rounds)")
    ap.add_argument("--no-torch-adjoint", action="store_true",
                    help="leave out fastode's torch-path odeint_adjoint (slow)")
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
          f"{os.environ['NUMBA_NUM_THREADS']}; min over interleaved rounds")
    print("| batch | rtol | solver | forward ms | nfev fwd | fwd+bwd ms | nfev fwd+bwd | x adj |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for B in [int(b) for b in args.batches.split(",")]:
        y0 = torch.randn(B, 2, dtype=dtype)
        for rtol in [float(r) for r in args.rtols.split(",")]:
            kw = dict(rtol=rtol, atol=rtol / 1000, method="dopri5")
            spec = [
                ("fastode compiled odeint", odeint, dict(kw, path="compiled")),
                ("fastode compiled odeint_adjoint", odeint_adjoint, dict(kw, path="compiled")),
                ("fastode torch-path odeint", odeint, dict(kw, path="torch")),
            ]
            if not args.no_torch_adjoint:
                spec.append(("fastode torch-path odeint_adjoint", odeint_adjoint,
                             dict(kw, path="torch")))
            if torchdiffeq is not None:
                spec += [("torchdiffeq odeint", torchdiffeq.odeint, kw),
                         ("torchdiffeq odeint_adjoint", torchdiffeq.odeint_adjoint, kw)]
            if torchode is not None:
                spec.append(("torchode (per-sample steps)", torchode_solve,
                             dict(rtol=rtol, atol=rtol / 1000)))
            cases = [Case(name, solve, func, y0, t, ckw) for name, solve, ckw in spec]
            alive = run_group(cases, args.rounds, args.budget)
            ref = next((c for c in alive if c.name == "torchdiffeq odeint_adjoint"), None)
            for c in cases:
                if c not in alive:
                    print(f"| {B} | {rtol:g} | {c.name} | failed: {c.error} | | | | |",
                          flush=True)
                    continue
                nf, nb = c.counts()
                tf, tb = min(c.tf), min(c.tb)
                ratio = f"{min(ref.tb) / tb:.1f}" if ref is not None else ""
                print(f"| {B} | {rtol:g} | {c.name} | {tf * 1e3:.2f} | {nf} | {tb * 1e3:.2f} | "
                      f"{nb} | {ratio} |", flush=True)

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
