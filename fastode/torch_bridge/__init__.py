"""Neural ODEs on fastode: ``odeint`` / ``odeint_adjoint`` with torchdiffeq's signatures.

``from fastode.torch_bridge import odeint, odeint_adjoint`` replaces
``from torchdiffeq import odeint, odeint_adjoint``.

Two paths solve with the same tableaus and step-size controller:

* **compiled** (CPU, float32/float64): when ``func`` is an MLP the bridge understands
  (an ``nn.Sequential`` of ``nn.Linear`` and Tanh/ReLU/Softplus/SiLU/ELU/Sigmoid, or a module
  whose ``forward(t, y)`` returns ``self.net(y)`` / ``self.net(cat([y, t]))``; decided from
  the module's structure and the source of its forward, never by evaluating it: see
  fastode.torch_bridge.mlp), the forward solve and the gradients run in numba
  (fastode.torch_bridge.kernels) with hand-written vector-Jacobian products, in float64 for
  float32 inputs too, every method included (DOP853 / Verner 7 with their extra dense-output
  stages); tuple states always take the torch path (no supported MLP takes a tuple).
  ``odeint`` returns exact gradients of the discrete solver (reverse mode through the stored
  steps: what autograd through the solver computes); ``odeint_adjoint`` solves torchdiffeq's
  backsolve adjoint, or with ``adjoint="checkpoint"`` the checkpointed (discrete) adjoint.
* **torch** (any module, any device): fastode.torch_bridge.torch_solver, tensor operations
  only, on the input's device; ``odeint`` backpropagates through the solver steps,
  ``odeint_adjoint`` is torchdiffeq's backsolve adjoint.

Extra keywords (after torchdiffeq's): ``path`` ("auto", "compiled", "torch"),
``per_sample`` (independent step sizes per batch row, torchode's semantics; dim 0 of ``y0`` is
the batch), and for ``odeint_adjoint`` ``adjoint`` ("backsolve" or "checkpoint").
Each call's counters are in ``fastode.torch_bridge.last_stats``: ``nfev``, ``naccept``,
``nreject`` of the forward solve; after ``backward()`` also ``adjoint_nfev`` (f evaluations
of the backward pass: the adjoint solve's, or the discrete adjoint's recomputed stages) and
``adjoint_nvjp`` (vector-Jacobian products).
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Optional, Union

import numpy as np
import torch

from ._options import _check_tol, _solver_kw
from ._stats import last_stats
from .tableau import get_tableau
from .torch_adjoint import TorchBacksolveAdjoint
from .torch_solver import SolverError, rk_solve

__all__ = ["odeint", "odeint_adjoint", "SolverError", "FallbackWarning", "last_stats"]


class FallbackWarning(UserWarning):
    """The compiled path does not handle this call; the torch path solves it."""


_warned: set[Any] = set()


def _fallback_note(key: Any, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, FallbackWarning, stacklevel=4)


class _Spec:
    """What a solve needs, shared by the forward and backward passes."""

    # set by _run_torch, read by TorchBacksolveAdjoint (annotations only: no class attributes)
    f: Callable[..., Any]
    tab: Any
    rtol: Any
    atol: Any
    solver_kw: dict[str, Any]
    stats: dict[str, int]
    adj_tab: Any
    adj_rtol: Any
    adj_atol: Any
    adj_solver_kw: dict[str, Any]
    seminorm: Any
    adj_stats: dict[str, int]


def _validate(func: Any, y0: Any,
              t: Any) -> tuple[bool, tuple[torch.Tensor, ...], torch.Tensor]:
    if not callable(func):
        raise TypeError("`func` must be callable as func(t, y)")
    if isinstance(y0, torch.Tensor) and isinstance(t, torch.Tensor):
        fast = _validate_cpu(y0, t)
        if fast is not None:
            return False, (y0,), fast
    is_tuple = isinstance(y0, (tuple, list))
    ys = tuple(y0) if is_tuple else (y0,)
    if len(ys) == 0:
        raise ValueError("`y0` must not be an empty tuple")
    for k, y in enumerate(ys):
        if not isinstance(y, torch.Tensor):
            raise TypeError(f"`y0` must be a tensor or a tuple of tensors; got "
                            f"{type(y).__name__}")
        if not torch.is_floating_point(y):
            raise TypeError(f"`y0` must be floating point; got {y.dtype}")
        if y.dtype != ys[0].dtype or y.device != ys[0].device:
            raise ValueError("the tensors of a tuple `y0` must share dtype and device")
        if not bool(torch.isfinite(y).all()):
            raise ValueError("`y0` contains non-finite values (inf or nan)")
    dtype, device = ys[0].dtype, ys[0].device
    if not isinstance(t, torch.Tensor):
        t = torch.as_tensor(t, dtype=dtype, device=device)
    if t.ndim != 1 or t.numel() == 0:
        raise ValueError(f"`t` must be a non-empty 1-D tensor; got shape {tuple(t.shape)}")
    if not torch.is_floating_point(t):
        t = t.to(dtype)
    if not bool(torch.isfinite(t).all()):
        raise ValueError("`t` contains non-finite values")
    t = t.to(device=device, dtype=dtype)
    if t.numel() > 1:
        d = (t[1:] - t[:-1]).detach()
        if not (bool((d > 0).all()) or bool((d < 0).all())):
            raise ValueError("`t` must be strictly increasing (or strictly decreasing)")
    return is_tuple, ys, t


_NP_FLOATS = (torch.float32, torch.float64)


def _validate_cpu(y0: torch.Tensor, t: torch.Tensor) -> Optional[torch.Tensor]:
    """The checks of ``_validate`` in numpy for the common case (a float32/float64 CPU
    tensor ``y0`` and a 1-D ``t`` of its dtype): ``t`` when they pass, None when this is not
    that case or a check fails (the general checks then run and raise the usual error)."""
    if y0.dtype not in _NP_FLOATS or t.dtype is not y0.dtype or y0.device.type != "cpu" \
            or t.device.type != "cpu" or t.ndim != 1 or t.shape[0] == 0:
        return None
    try:
        a = y0.detach().numpy()
        ta = t.detach().numpy()
    except RuntimeError:     # a tensor numpy cannot view (e.g. a negative-bit view)
        return None
    # a finite sum means every entry is finite (inf and nan propagate); an overflowing sum
    # of finite values falls back to the exact check
    if not (math.isfinite(sum(a.reshape(-1).tolist()) if a.size <= 64 else a.sum())
            or np.isfinite(a).all()):
        return None
    if ta.shape[0] <= 64:    # short t (the usual case): Python floats beat numpy calls
        tl = ta.tolist()
        if not math.isfinite(sum(tl)) and not all(map(math.isfinite, tl)):
            return None
        if len(tl) > 1 and not (all(map(float.__lt__, tl, tl[1:]))
                                or all(map(float.__gt__, tl, tl[1:]))):
            return None
        return t
    if not np.isfinite(ta).all():
        return None
    d = ta[1:] - ta[:-1]
    if not ((d > 0).all() or (d < 0).all()):
        return None
    return t


def _flatten(func: Any, ys: tuple[torch.Tensor, ...], is_tuple: bool) -> tuple[
        Callable[[Any, torch.Tensor], torch.Tensor], torch.Tensor,
        Callable[[torch.Tensor], tuple[torch.Tensor, ...]]]:
    shapes = [y.shape for y in ys]
    sizes = [y.numel() for y in ys]

    def unflat(z: torch.Tensor) -> tuple[torch.Tensor, ...]:
        # z (..., N) -> tuple of (..., *shape)
        lead = z.shape[:-1]
        parts = torch.split(z, sizes, dim=-1)
        return tuple(p.reshape(*lead, *s) for p, s in zip(parts, shapes))

    if isinstance(func, torch.nn.Sequential):
        seq = func
        func = lambda tt, y: seq(y)  # noqa: E731  (a bare Sequential: f(t, y) = net(y))

    def f(tt: Any, z: torch.Tensor) -> torch.Tensor:
        out = func(tt, unflat(z) if is_tuple else z.reshape(shapes[0]))
        outs = tuple(out) if is_tuple else (out,)
        if len(outs) != len(ys):
            raise ValueError(f"`func` returned {len(outs)} tensors; the state has {len(ys)}")
        for o, s in zip(outs, shapes):
            if not isinstance(o, torch.Tensor) or o.shape != s:
                got = tuple(o.shape) if isinstance(o, torch.Tensor) else type(o).__name__
                raise ValueError(f"`func` returned shape {got}; expected the state's shape "
                                 f"{tuple(s)}")
        return torch.cat([o.reshape(-1) for o in outs])

    z0 = torch.cat([y.reshape(-1) for y in ys])
    return f, z0, unflat


def _per_sample_solve(func: Any, y0: torch.Tensor, t: torch.Tensor,
                      run_one: Callable[[Any, torch.Tensor], Any]) -> torch.Tensor:
    """Solve each batch row (dim 0 of y0) on its own; stack to (len(t), B, ...)."""
    outs: list[Any] = []
    for b in range(y0.shape[0]):
        def fb(tt: Any, yb: torch.Tensor, _b: int = b) -> Any:
            return func(tt, yb)
        outs.append(run_one(fb, y0[b:b + 1]))
    return torch.cat(outs, dim=1)


def _solve(func: Any, y0: Any, t: Any, rtol: Any, atol: Any, method: Optional[str],
           options: Optional[dict[str, Any]], event_fn: Any, path: str, per_sample: bool,
           adjoint: Optional[str], adjoint_kw: Optional[dict[str, Any]]) -> Any:
    if event_fn is not None:
        raise NotImplementedError("event_fn is not supported by fastode.torch_bridge yet")
    rtol = _check_tol("rtol", rtol)
    atol = _check_tol("atol", atol)
    if path not in ("auto", "compiled", "torch"):
        raise ValueError(f"`path` must be 'auto', 'compiled' or 'torch'; got {path!r}")
    is_tuple, ys, t = _validate(func, y0, t)
    tab = get_tableau(method)
    solver_kw, _ = _solver_kw(options, tab)
    stats = {"nfev": 0, "naccept": 0, "nreject": 0}
    last_stats.clear()
    last_stats.update(stats)

    if per_sample and (is_tuple or ys[0].ndim < 1):
        raise ValueError("per_sample needs a single tensor `y0` whose dim 0 is the batch")

    if path != "torch":
        from . import compiled   # noqa: PLC0415  (numba kernels: imported on first use)
        spec, reason = compiled.plan(func, ys, t, tab, is_tuple, adjoint_kw)
        if spec is not None:
            out, run_stats = compiled.solve(spec, ys[0], t, tab, rtol, atol, solver_kw,
                                            per_sample, adjoint, adjoint_kw)
            last_stats.update(run_stats)
            last_stats["path"] = "compiled"
            return out
        if path == "compiled":
            raise ValueError(f"the compiled path cannot solve this call: {reason}")
        _fallback_note(reason, f"fastode.torch_bridge: {reason}; using the torch path")

    def run_one(fn: Any, y0_: Any) -> Any:
        f, z0, unflat = _flatten(fn, (y0_,) if not is_tuple else y0_, is_tuple)
        zs = _run_torch(fn, f, z0, t, tab, rtol, atol, solver_kw, adjoint, adjoint_kw, stats)
        return unflat(zs) if is_tuple else zs.reshape(len(t), *y0_.shape)

    if per_sample:
        out = _per_sample_solve(func, ys[0], t, run_one)
    else:
        out = run_one(func, tuple(ys) if is_tuple else ys[0])
    last_stats.update(stats)
    last_stats["path"] = "torch"
    return out


def _run_torch(func: Any, f: Callable[..., Any], z0: torch.Tensor, t: torch.Tensor, tab: Any,
               rtol: Any, atol: Any, solver_kw: dict[str, Any], adjoint: Optional[str],
               adjoint_kw: Any, stats: dict[str, int]) -> Any:
    if adjoint is None:
        return rk_solve(f, z0, t, tab, rtol, atol, **solver_kw, stats=stats)
    spec = _Spec()
    spec.f, spec.tab, spec.rtol, spec.atol = f, tab, rtol, atol
    spec.solver_kw, spec.stats = solver_kw, stats
    adj_tab = get_tableau(adjoint_kw["method"]) if adjoint_kw["method"] else tab
    spec.adj_tab = adj_tab
    spec.adj_rtol = rtol if adjoint_kw["rtol"] is None else _check_tol("adjoint_rtol",
                                                                       adjoint_kw["rtol"])
    spec.adj_atol = atol if adjoint_kw["atol"] is None else _check_tol("adjoint_atol",
                                                                       adjoint_kw["atol"])
    adj_options = adjoint_kw["options"]
    if adj_options is None:
        adj_options = {k: v for k, v in (adjoint_kw["fwd_options"] or {}).items()
                       if k != "norm"}
    spec.adj_solver_kw, spec.seminorm = _solver_kw(adj_options, adj_tab, for_adjoint=True)
    spec.adj_stats = {"nfev": 0, "naccept": 0, "nreject": 0}
    params = adjoint_kw["params"]
    if params is None:
        params = tuple(func.parameters()) if isinstance(func, torch.nn.Module) else ()
    params = tuple(p for p in params if p.requires_grad)
    out = TorchBacksolveAdjoint.apply(spec, z0, t, *params)
    return out


def odeint(func: Callable[..., Any], y0: Union[torch.Tensor, tuple[torch.Tensor, ...]],
           t: torch.Tensor, *, rtol: float = 1e-7, atol: float = 1e-9,
           method: Optional[str] = None, options: Optional[dict[str, Any]] = None,
           event_fn: Optional[Callable[..., Any]] = None, path: str = "auto",
           per_sample: bool = False) -> Any:
    """Solve y' = func(t, y) from t[0]; return y at every t, shape ``(len(t), *y0.shape)``.

    torchdiffeq's ``odeint``: ``y0`` a tensor of any shape or a tuple of tensors, ``t`` a 1-D
    strictly monotone tensor, ``method`` in dopri5 (default), tsit5, bosh3, dopri8/dop853, rk4,
    euler, midpoint, heun, rk38, vern7; ``options``: step_size (fixed-step methods), first_step,
    max_num_steps, max_step. Gradients: backpropagation through the solver steps (torch path)
    or the exact discrete adjoint in numba (compiled path) -- the same numbers.

    Examples
    --------
    The lecture's ``ODEFunc`` (an MLP: the compiled path), a batch of two states:

    >>> import torch
    >>> from fastode.torch_bridge import odeint, last_stats
    >>> class ODEFunc(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.net = torch.nn.Sequential(torch.nn.Linear(2, 50), torch.nn.Tanh(),
    ...                                        torch.nn.Linear(50, 2))
    ...     def forward(self, t, y):
    ...         return self.net(y)
    >>> func = ODEFunc().double()
    >>> y0 = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> t = torch.linspace(0.0, 1.0, 10, dtype=torch.float64)
    >>> ys = odeint(func, y0, t, rtol=1e-6, atol=1e-8)
    >>> ys.shape, last_stats["nfev"] > 0
    (torch.Size([10, 2, 2]), True)
    >>> ys[-1].sum().backward()                  # gradients of the discrete solver
    >>> func.net[0].weight.grad.shape
    torch.Size([50, 2])
    """
    return _solve(func, y0, t, rtol, atol, method, options, event_fn, path, per_sample, None,
                  None)


def odeint_adjoint(func: Callable[..., Any], y0: Union[torch.Tensor, tuple[torch.Tensor, ...]],
                   t: torch.Tensor, *, rtol: float = 1e-7, atol: float = 1e-9,
                   method: Optional[str] = None, options: Optional[dict[str, Any]] = None,
                   event_fn: Optional[Callable[..., Any]] = None,
                   adjoint_rtol: Optional[float] = None, adjoint_atol: Optional[float] = None,
                   adjoint_method: Optional[str] = None,
                   adjoint_options: Optional[dict[str, Any]] = None,
                   adjoint_params: Any = None, path: str = "auto", per_sample: bool = False,
                   adjoint: str = "backsolve") -> Any:
    """torchdiffeq's ``odeint_adjoint``: gradients by solving the adjoint ODE backward.

    ``adjoint_options={"norm": "seminorm"}`` leaves the parameter-gradient integrals out of the
    adjoint's error norm. ``adjoint="checkpoint"`` (compiled path) stores the accepted forward
    steps and computes the exact discrete adjoint step by step instead of re-solving y backward.

    Examples
    --------
    >>> import torch
    >>> from fastode.torch_bridge import odeint, odeint_adjoint, last_stats
    >>> func = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(),
    ...                            torch.nn.Linear(16, 2)).double()
    >>> y0 = torch.tensor([1.0, 0.0], dtype=torch.float64)
    >>> t = torch.tensor([0.0, 1.0], dtype=torch.float64)
    >>> def grad(solver):
    ...     func.zero_grad()
    ...     solver(func, y0, t, rtol=1e-10, atol=1e-12)[-1].sum().backward()
    ...     return func[0].weight.grad.clone()
    >>> g_adjoint, g_direct = grad(odeint_adjoint), grad(odeint)
    >>> bool(torch.allclose(g_adjoint, g_direct, rtol=1e-6, atol=1e-9))
    True
    """
    if adjoint not in ("backsolve", "checkpoint"):
        raise ValueError(f"`adjoint` must be 'backsolve' or 'checkpoint'; got {adjoint!r}")
    if isinstance(func, torch.nn.Module) is False and adjoint_params is None:
        adjoint_params = ()
    adjoint_kw = {"rtol": adjoint_rtol, "atol": adjoint_atol, "method": adjoint_method,
                  "options": adjoint_options, "params": adjoint_params,
                  "fwd_options": options}
    if adjoint == "checkpoint" and path == "torch":
        # the torch path's exact discrete gradient is backpropagation through the solver
        return _solve(func, y0, t, rtol, atol, method, options, event_fn, path, per_sample,
                      None, None)
    return _solve(func, y0, t, rtol, atol, method, options, event_fn, path, per_sample,
                  adjoint, adjoint_kw)
