"""Neural ODE benchmark: MLP 2-50-2 tanh, t in [0, 1] with 10 output times, CPU, one thread each.

    NUMBA_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python bench/neural_ode.py [--dtype float32]

Forward (no grad) and forward+backward (sum of squares of the outputs) wall time and function
evaluations: fastode's compiled path (odeint: exact discrete adjoint; odeint_adjoint: backsolve
adjoint), fastode's torch path, torchdiffeq odeint / odeint_adjoint, and torchode (if
installed) at batch 1 and 512, rtol 1e-3 and 1e-6 (atol = rtol / 1000); diffrax (if installed:
JAX on the CPU, one thread) with the same weights, initial states, output times, Dormand-Prince
5(4) (``diffrax.Dopri5``, the method fastode's rows use) and ``PIDController(rtol, atol)``, the
batch as one state (one step size for all rows, as torchdiffeq and fastode's default), in two
modes: ``RecursiveCheckpointAdjoint`` (backpropagation through the solver, diffrax's default;
compare with fastode's compiled ``odeint``) and ``BacksolveAdjoint`` (compare with fastode's
compiled ``odeint_adjoint``). diffrax's loss is ``jax.jit(jax.value_and_grad(loss))`` of the same
sum of squares, its forward a jitted solve; compile time is left out of the rounds and printed
after the table. ``x diffrax`` is diffrax's fwd+bwd time in the same mode over fastode's.

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
torch-path solver (float64, batch 512), and between fastode and diffrax in the same mode
(float64, batch 1 and 512, rtol 1e-6 and 1e-10: different step sequences, so they agree to the
order of the tolerance, not to round-off).

diffrax: ``pip install --target DIR --no-deps diffrax equinox jax jaxlib jaxtyping lineax
optimistix wadler_lindig ml_dtypes opt_einsum`` and ``PYTHONPATH=.:DIR`` (see bench/README.md).
"""
import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
# JAX/XLA on one CPU thread (read when jax is imported)
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

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


class DiffraxCase:
    """diffrax with the torch model's weights copied into a plain JAX function.

    The batch ``(B, 2)`` is one state: one step size for all rows, error norm RMS over all of
    them (diffrax's default), as torchdiffeq and fastode's default. Gradients are taken with
    respect to the weights, passed as ``args`` (``BacksolveAdjoint`` differentiates ``args``).
    """

    def __init__(self, name, dfx, func, y0, t, rtol, atol, adjoint):
        import jax
        import jax.numpy as jnp
        self.name, self.tf, self.tb = name, [], []
        self.compile_s = None
        self._jax = jax
        jdt = jnp.float64 if y0.dtype == torch.float64 else jnp.float32
        net = func.net
        self.params = tuple(jnp.asarray(a.detach().cpu().numpy(), dtype=jdt)
                            for a in (net[0].weight, net[0].bias, net[2].weight, net[2].bias))
        self.y0 = jnp.asarray(y0.cpu().numpy(), dtype=jdt)
        ts = jnp.asarray(t.cpu().numpy(), dtype=jdt)
        adj = dfx.BacksolveAdjoint() if adjoint == "backsolve" else \
            dfx.RecursiveCheckpointAdjoint()
        self.count = [0]

        def make(counting):
            def vf(tt, y, args):
                if counting:   # host callback per evaluation (counting runs only, never timed)
                    jax.debug.callback(self._bump)
                W1, b1, W2, b2 = args
                return jnp.tanh(y @ W1.T + b1) @ W2.T + b2

            def solve(args, y0_):
                return dfx.diffeqsolve(
                    dfx.ODETerm(vf), dfx.Dopri5(), ts[0], ts[-1], None, y0_, args=args,
                    saveat=dfx.SaveAt(ts=ts),
                    stepsize_controller=dfx.PIDController(rtol=rtol, atol=atol),
                    adjoint=adj, max_steps=4096)

            def loss(args, y0_):
                return jnp.sum(solve(args, y0_).ys ** 2)

            return (jax.jit(lambda a, y: solve(a, y).ys), jax.jit(jax.value_and_grad(loss)),
                    jax.jit(lambda a, y: solve(a, y).stats))

        self._fwd, self._fwdbwd, self._stats = make(False)
        self._cfwd, self._cfwdbwd, _ = make(True)

    def _bump(self):
        self.count[0] += 1

    def fwd(self):
        return self._jax.block_until_ready(self._fwd(self.params, self.y0))

    def fwdbwd(self):
        return self._jax.block_until_ready(self._fwdbwd(self.params, self.y0))

    def grad(self):
        """Gradient w.r.t. (W1, b1, W2, b2), flattened in torch's parameter order."""
        g = self.fwdbwd()[1]
        return np.concatenate([np.asarray(a).reshape(-1) for a in g])

    def counts(self):
        """(nfev forward, nfev forward + backward), counted by a host callback in the field."""
        self.count[0] = 0
        self._jax.block_until_ready(self._cfwd(self.params, self.y0))
        nf = self.count[0]
        self.count[0] = 0
        self._jax.block_until_ready(self._cfwdbwd(self.params, self.y0))
        st = self._stats(self.params, self.y0)
        self.steps = (int(st["num_accepted_steps"]), int(st["num_rejected_steps"]))
        return nf, self.count[0]

    def round(self):
        if self.compile_s is None:   # first call: trace + XLA compile, kept out of the rounds
            t0 = time.perf_counter()
            self.fwd()
            t1 = time.perf_counter()
            self.fwdbwd()
            self.compile_s = (t1 - t0, time.perf_counter() - t1)
        t0 = time.perf_counter()
        self.fwd()
        t1 = time.perf_counter()
        self.fwdbwd()
        t2 = time.perf_counter()
        self.tf.append(t1 - t0)
        self.tb.append(t2 - t1)


def import_diffrax(dtype):
    """diffrax or None; float64 needs JAX's x64 mode, set before any array is made."""
    try:
        import jax
        if dtype == torch.float64:
            jax.config.update("jax_enable_x64", True)
        import diffrax
    except ImportError:
        return None
    return diffrax


# fastode row -> diffrax row in the same mode
SAME_MODE = {"fastode compiled odeint": "diffrax backprop (RecursiveCheckpointAdjoint)",
             "fastode compiled odeint_adjoint": "diffrax BacksolveAdjoint"}


def run_group(cases, rounds, budget, repeat=1):
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
                for _ in range(repeat):   # back to back: the later calls run warm
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
    ap.add_argument("--no-diffrax", action="store_true", help="leave out diffrax")
    ap.add_argument("--repeat", type=int, default=3,
                    help="calls of each case back to back in a round (min over all)")
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
    dfx = None if args.no_diffrax else import_diffrax(dtype)
    if dfx is None:
        print("# diffrax: " + ("left out (--no-diffrax)" if args.no_diffrax else "not installed"))
    else:
        import jax
        print(f"# diffrax {dfx.__version__}, jax {jax.__version__} ({jax.default_backend()}, "
              f"{args.dtype}, XLA_FLAGS={os.environ.get('XLA_FLAGS')!r}), Dopri5, PIDController")
    print("| batch | rtol | solver | forward ms | nfev fwd | fwd+bwd ms | nfev fwd+bwd | x adj | "
          "x diffrax |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    notes = []
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
            if dfx is not None:
                for name, mode in (("diffrax backprop (RecursiveCheckpointAdjoint)", "backprop"),
                                   ("diffrax BacksolveAdjoint", "backsolve")):
                    cases.append(DiffraxCase(name, dfx, func, y0, t, rtol, rtol / 1000, mode))
            alive = run_group(cases, args.rounds, args.budget, args.repeat)
            ref = next((c for c in alive if c.name == "torchdiffeq odeint_adjoint"), None)
            by_name = {c.name: c for c in alive}
            for c in cases:
                if c not in alive:
                    print(f"| {B} | {rtol:g} | {c.name} | failed: {c.error} | | | | | |",
                          flush=True)
                    continue
                nf, nb = c.counts()
                tf, tb = min(c.tf), min(c.tb)
                ratio = f"{min(ref.tb) / tb:.1f}" if ref is not None else ""
                peer = by_name.get(SAME_MODE.get(c.name))
                xdfx = f"{min(peer.tb) / tb:.2f}" if peer is not None else ""
                print(f"| {B} | {rtol:g} | {c.name} | {tf * 1e3:.2f} | {nf} | {tb * 1e3:.2f} | "
                      f"{nb} | {ratio} | {xdfx} |", flush=True)
                if isinstance(c, DiffraxCase):
                    notes.append(f"batch {B}, rtol {rtol:g}, {c.name}: compile {c.compile_s[0]:.1f} s "
                                 f"(forward) + {c.compile_s[1]:.1f} s (fwd+bwd); forward steps "
                                 f"{c.steps[0]} accepted + {c.steps[1]} rejected; "
                                 f"{len(c.tb)} timed calls")
            if dfx is None and not args.no_diffrax:
                print(f"| {B} | {rtol:g} | diffrax | not installed | | | | | |", flush=True)
    for line in notes:
        print(f"\n{line}" if line is notes[0] else line)

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
    if dfx is not None and dtype == torch.float64:
        check_against_diffrax(dfx)


def check_against_diffrax(dfx):
    """Gradients of fastode and diffrax in the same mode, float64, the benchmark's model."""
    torch.manual_seed(0)
    func = ODEFunc().double()
    t = torch.linspace(0.0, 1.0, 10, dtype=torch.float64)
    print("\nGradient check, float64 (the benchmark's weights and y0), max |g_fastode - "
          "g_diffrax| / max |g_diffrax| over the MLP's parameters, and the loss's relative "
          "difference:")
    print("| batch | rtol | fastode vs diffrax | max rel. gradient difference | "
          "loss rel. difference |")
    print("| --- | --- | --- | --- | --- |")
    for B in (1, 512):
        y0 = torch.randn(B, 2, dtype=torch.float64)
        for rtol in (1e-6, 1e-10):
            for solve, mode in ((odeint, "backprop"), (odeint_adjoint, "backsolve")):
                func.zero_grad()
                loss = (solve(func, y0, t, rtol=rtol, atol=rtol / 1000, method="dopri5",
                              path="compiled") ** 2).sum()
                loss.backward()
                g = torch.cat([p.grad.reshape(-1) for p in func.parameters()]).numpy()
                dc = DiffraxCase("", dfx, func, y0, t, rtol, rtol / 1000, mode)
                dloss, _ = dc.fwdbwd()
                gd = dc.grad()
                rel = np.abs(g - gd).max() / np.abs(gd).max()
                lrel = abs(float(loss) - float(dloss)) / abs(float(dloss))
                pair = ("compiled odeint vs RecursiveCheckpointAdjoint" if mode == "backprop"
                        else "compiled odeint_adjoint vs BacksolveAdjoint")
                print(f"| {B} | {rtol:g} | {pair} | {rel:.2e} | {lrel:.2e} |", flush=True)


if __name__ == "__main__":
    main()
