"""Training the heat-equation PINN: residual points, the loss, Adam then float64 L-BFGS."""
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .model import HeatPINN, residual

SAMPLINGS = ("uniform", "sobol", "adaptive")


def sample_points(problem, n, method="sobol", seed=0, dtype=torch.float64):
    """``n`` residual points (x, t) in the space-time domain: ``"uniform"`` (independent uniform
    draws) or ``"sobol"`` (a scrambled Sobol sequence; also the start of ``"adaptive"``).

    Returns
    -------
    (x, t) : tensors of shape (n,)

    Examples
    --------
    >>> from fastode import pinn
    >>> x, t = pinn.sample_points(pinn.lecture_problem(), 64)
    >>> x.shape, bool((x >= 0).all() and (x <= 1).all() and (t >= 0).all() and (t <= 1).all())
    (torch.Size([64]), True)
    """
    if method not in SAMPLINGS:
        raise ValueError(f"method must be one of {SAMPLINGS}, got {method!r}")
    if int(n) < 1:
        raise ValueError(f"n must be >= 1, got {n!r}")
    a, b = problem.domain
    gen = torch.Generator().manual_seed(int(seed))
    if method == "uniform":
        s = torch.rand(int(n), 2, generator=gen, dtype=torch.float64)
    else:
        s = torch.quasirandom.SobolEngine(2, scramble=True, seed=int(seed)).draw(
            int(n), dtype=torch.float64)
    s = s.to(dtype)
    return a + (b - a) * s[:, 0], problem.t_end * s[:, 1]


@dataclass
class TrainResult:
    """What :func:`train` did.

    Attributes
    ----------
    model : HeatPINN
        The trained network (float64).
    loss : ndarray
        The loss after every Adam step, then at every L-BFGS function evaluation.
    adam_steps : int
        Adam steps taken (the L-BFGS part starts at ``loss[adam_steps]``).
    lbfgs_iterations : int
    stop_reason : str
        Why L-BFGS stopped: ``"gradient tolerance"``, ``"no progress"`` (loss or step change
        below ``tolerance_change``), ``"iteration limit"``, ``"time budget"`` or
        ``"non-finite loss"``.
    seconds : dict
        Wall time of ``"adam"`` and ``"lbfgs"``.
    points : (x, t)
        The residual points of the end of training.

    Examples
    --------
    >>> from fastode import pinn
    >>> result = pinn.train(pinn.lecture_problem(), n_points=100, adam_steps=5, lbfgs_steps=2,
    ...                     width=8, depth=2)
    >>> sorted(result.seconds), result.stop_reason in ("iteration limit", "no progress",
    ...                                                "gradient tolerance")
    (['adam', 'lbfgs'], True)
    """
    model: HeatPINN
    loss: np.ndarray
    adam_steps: int
    lbfgs_iterations: int
    stop_reason: str
    seconds: dict = field(default_factory=dict)
    points: tuple = ()


def _data_points(problem, n, dtype):
    """Boundary times and initial positions for the data terms (a fixed uniform grid)."""
    a, b = problem.domain
    t = torch.linspace(0.0, problem.t_end, n, dtype=dtype)
    x = torch.linspace(a, b, n, dtype=dtype)
    return x, t


def make_loss(model, xr, tr, n_data=101, data_weight=1.0):
    """The loss of ``model``: mean squared residual at (xr, tr) plus ``data_weight`` times the
    mean squared misfit of the data the network does not satisfy by construction."""
    p = model.problem
    dtype = xr.dtype
    xd, td = _data_points(p, n_data, dtype)
    a, b = p.domain
    ends = []
    for k, (kind, g, x_end) in enumerate(zip(p.bc, p.bc_values, (a, b))):
        if not model.hard_dirichlet[k]:
            ends.append((kind, g, torch.full_like(td, x_end)))
    soft_ic = model.constraints == "soft"
    u0 = p.u0(xd) if soft_ic else None

    def loss():
        params = dict(model.named_parameters())
        r, _ = residual(model, params)(xr, tr)
        total = torch.mean(r ** 2)
        data = []
        if soft_ic:
            data.append(model(xd, torch.zeros_like(xd)) - u0)
        for kind, g, xe in ends:
            if kind == "dirichlet":
                data.append(model(xe, td) - g)
            else:
                data.append(residual(model, params)(xe, td)[1] - g)
        if data:
            total = total + data_weight * torch.mean(torch.cat(data) ** 2)
        return total
    return loss


def _resample(model, problem, n, seed, dtype):
    """Residual-based adaptive distribution (RAD): half the points fresh Sobol, half drawn from a
    Sobol pool of 8 n with probability proportional to the squared residual."""
    xs, ts = sample_points(problem, 8 * n, "sobol", seed=seed, dtype=dtype)
    with torch.no_grad():
        r, _ = residual(model)(xs, ts)
    w = (r.detach() ** 2).to(torch.float64)
    gen = torch.Generator().manual_seed(int(seed))
    if not torch.all(torch.isfinite(w)) or float(w.sum()) == 0.0:
        pick = torch.randperm(xs.numel(), generator=gen)[: n - n // 2]
    else:
        pick = torch.multinomial(w / w.sum(), n - n // 2, replacement=False, generator=gen)
    xf, tf = sample_points(problem, n // 2, "sobol", seed=seed + 7919, dtype=dtype)
    return torch.cat([xf, xs[pick]]), torch.cat([tf, ts[pick]])


def train(problem, n_points=1000, sampling="sobol", adam_steps=300, lr=2e-3, lbfgs_steps=300,
          width=32, depth=3, constraints="hard", seed=0, threads=1, resample_every=500,
          tolerance_grad=1e-9, tolerance_change=1e-14, time_budget=None, adam_dtype=torch.float32,
          verbose=False):
    """Train a :class:`HeatPINN` on ``problem``: Adam, then L-BFGS in float64.

    Parameters
    ----------
    problem : HeatPINNProblem
    n_points : int
        Residual points.
    sampling : {"uniform", "sobol", "adaptive"}
        How they are placed; "adaptive" redraws them every ``resample_every`` Adam steps from
        the residual (RAD) and keeps the last set for L-BFGS.
    adam_steps, lr : int, float
        Adam steps (learning rate decays to lr/10 over them).
    lbfgs_steps : int
        The most L-BFGS iterations (strong Wolfe line search, history 50).
    width, depth, constraints
        The network (:class:`HeatPINN`).
    seed : int
        torch's seed and the point sequence's.
    threads : int or None
        torch intra-op threads during training (restored after); None leaves them.
    tolerance_grad, tolerance_change : float
        L-BFGS stop tests (on the largest gradient entry and on loss/step changes).
    time_budget : float, optional
        Seconds; L-BFGS stops (``stop_reason="time budget"``) once training took this long.
    adam_dtype : torch.dtype
        Precision of the Adam phase (L-BFGS is float64).

    Returns
    -------
    TrainResult

    Examples
    --------
    A short run (the lecture's problem reaches a relative error of about 3.5e-5 with the
    defaults, in about 8 s):

    >>> from fastode import pinn
    >>> result = pinn.train(pinn.lecture_problem(), n_points=200, adam_steps=20, lbfgs_steps=5,
    ...                     width=8, depth=2)
    >>> result.adam_steps, result.lbfgs_iterations <= 5, bool(result.loss[-1] < result.loss[0])
    (20, True, True)
    """
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")
    for name, v, low in (("n_points", n_points, 1), ("adam_steps", adam_steps, 0),
                         ("lbfgs_steps", lbfgs_steps, 0), ("resample_every", resample_every, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {v!r}")
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be positive, got {lr!r}")
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        torch.manual_seed(int(seed))
        model = HeatPINN(problem, width, depth, constraints).to(adam_dtype)
        xr, tr = sample_points(problem, n_points, sampling, seed, adam_dtype)
        losses = []
        start = time.perf_counter()
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda k: 0.1 ** (k / max(1, adam_steps)))
        loss = make_loss(model, xr, tr)
        for k in range(adam_steps):
            if sampling == "adaptive" and k > 0 and k % resample_every == 0:
                xr, tr = _resample(model, problem, n_points, seed + k, adam_dtype)
                loss = make_loss(model, xr, tr)
            opt.zero_grad(set_to_none=True)
            value = loss()
            value.backward()
            opt.step()
            sched.step()
            losses.append(value.item())
            if verbose and k % 500 == 0:
                print(f"adam {k:5d}  loss {losses[-1]:.3e}")
        adam_s = time.perf_counter() - start
        model = model.double()
        xr, tr = xr.double(), tr.double()
        loss = make_loss(model, xr, tr)
        chunk = 50
        opt = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=chunk, history_size=50,
                                tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                                line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad(set_to_none=True)
            value = loss()
            value.backward()
            losses.append(value.item())
            return value

        done, reason = 0, "iteration limit"
        t_lbfgs = time.perf_counter()
        while done < lbfgs_steps:
            opt.param_groups[0]["max_iter"] = min(chunk, lbfgs_steps - done)
            before = opt.state[opt._params[0]].get("n_iter", 0)
            opt.step(closure)
            ran = opt.state[opt._params[0]]["n_iter"] - before
            done += ran
            if not math.isfinite(losses[-1]):
                reason = "non-finite loss"
                break
            gmax = max(float(p.grad.abs().max()) for p in model.parameters()
                       if p.grad is not None)
            if gmax <= tolerance_grad:
                reason = "gradient tolerance"
                break
            if ran < opt.param_groups[0]["max_iter"]:
                reason = "no progress"
                break
            if time_budget is not None and time.perf_counter() - start > time_budget:
                reason = "time budget"
                break
            if verbose:
                print(f"lbfgs {done:5d}  loss {losses[-1]:.3e}")
        lbfgs_s = time.perf_counter() - t_lbfgs
    finally:
        torch.set_num_threads(old_threads)
    return TrainResult(model, np.array(losses), adam_steps, done, reason,
                       {"adam": adam_s, "lbfgs": lbfgs_s}, (xr, tr))
