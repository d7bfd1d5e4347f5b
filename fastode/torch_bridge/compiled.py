"""The compiled CPU path: forward solve and gradients of supported MLPs in numba.

Gradients: ``odeint`` -> the exact discrete adjoint (reverse mode through the stored accepted
steps: the numbers autograd through the solver gives); ``odeint_adjoint`` -> the backsolve
adjoint (torchdiffeq's algorithm) or, with ``adjoint="checkpoint"``, the discrete adjoint.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from . import kernels as K
from ._options import _check_tol, _solver_kw
from ._stats import last_stats
from .mlp import inspect
from .tableau import get_tableau
from .torch_solver import SolverError

_MESSAGES = {K.MAX_STEPS: "max_num_steps exceeded", K.STEP_TOO_SMALL: "step size too small",
             K.NON_FINITE: "non-finite values in the solution"}


def plan(func, ys, t, tab, is_tuple, adjoint_kw):
    """(MLPSpec, None) when the compiled path can solve this call, else (None, reason).

    Decided from the module's structure (fastode.torch_bridge.mlp.inspect), never by
    evaluating it. The spec is returned to the caller (no state between calls: threads)."""
    if is_tuple:
        return None, "a tuple state is solved by the torch path"
    y0 = ys[0]
    if y0.device.type != "cpu":
        return None, f"the compiled path runs on the CPU; y0 is on {y0.device}"
    if y0.dtype not in (torch.float32, torch.float64):
        return None, f"dtype {y0.dtype} is solved by the torch path"
    if y0.ndim == 0:
        return None, "a scalar state is solved by the torch path"
    ta = t.detach().numpy()     # strictly monotone (checked): increasing iff last > first
    if ta.shape[0] > 1 and not ta[-1] > ta[0]:
        return None, "decreasing t is solved by the torch path"
    spec, reason = inspect(func, int(y0.shape[-1]), y0.dtype)
    if spec is None:
        return None, reason
    if adjoint_kw is not None:
        if adjoint_kw.get("params") is not None and \
                {id(p) for p in adjoint_kw["params"]} != {id(p) for p in spec.params}:
            return None, "adjoint_params other than the net's parameters"
    return spec, None


def _failure(status, what="compiled solve"):
    """SolverError for a kernel status (fastode.kernels.status codes)."""
    err = SolverError(f"{what} failed: {_MESSAGES.get(status, f'status {status}')}")
    err.status = int(status)
    return err


def _to_fm(a, Bs, n):
    """(..., Bs * n) batch-major -> (..., n * Bs) feature-major (the kernels' layout)."""
    lead = a.shape[:-1]
    return np.ascontiguousarray(
        np.swapaxes(a.reshape(*lead, Bs, n), -1, -2)).reshape(*lead, n * Bs)


def _from_fm(a, Bs, n):
    """(..., n * Bs) feature-major -> (..., Bs * n) batch-major."""
    lead = a.shape[:-1]
    return np.ascontiguousarray(np.swapaxes(a.reshape(*lead, n, Bs), -1, -2)).reshape(
        *lead, Bs * n)


_tab_cache = {}   # id(tab) -> (tab, arrays): tableaus live for the process (lru_cache)


def _tab_arrays(tab):
    hit = _tab_cache.get(id(tab))
    if hit is not None and hit[0] is tab:
        return hit[1]
    arrays = _tab_arrays_of(tab)
    _tab_cache[id(tab)] = (tab, arrays)
    return arrays


def _tab_arrays_of(tab):
    nt = tab.np_tab
    return (np.ascontiguousarray(nt.C), np.ascontiguousarray(nt.A),
            np.ascontiguousarray(nt.B), np.ascontiguousarray(nt.E),
            np.ascontiguousarray(nt.E3), tab.use_e3, tab.fsal_error, tab.error_order,
            np.ascontiguousarray(nt.P), np.ascontiguousarray(nt.C_extra, dtype=np.float64),
            np.ascontiguousarray(nt.A_extra, dtype=np.float64),
            tab.adaptive)


class _Run:
    """Arrays of one compiled solve, kept for the backward pass."""


def _forward(run, store):
    tab = run.tab
    C, A, B, E, E3, use_e3, fsal_error, error_order, P, Cx, Ax, adaptive = _tab_arrays(tab)
    nsl, Ns = run.Z0.shape
    T = run.t.shape[0]
    cap = 64 if store else 0
    while True:
        hist_t = np.empty((nsl, cap))
        hist_h = np.empty((nsl, cap))
        hist_y = np.empty((nsl, cap, Ns))
        out_step = np.zeros((nsl, T), dtype=np.int64)
        n_hist = np.zeros(nsl, dtype=np.int64)
        Ys = np.empty((nsl, T, Ns))
        counters = np.zeros(3, dtype=np.int64)
        status = K.forward_all(
            run.Z0, run.t, Ys, run.rtol, run.atol, C, A, B, E, E3, use_e3, fsal_error,
            error_order, P, Cx, Ax, adaptive, run.first_step, run.step_size, run.max_step,
            run.max_steps, store, hist_t, hist_h, hist_y, out_step, n_hist, run.theta,
            *run.layout, run.n, run.Bs, run.Xs, run.Zs, run.G, counters)
        if status == K.HISTORY_FULL:
            cap = max(4 * cap, 256)
            continue
        break
    if status != K.OK:
        raise _failure(status)
    run.Ys, run.hist = Ys, (hist_t, hist_h, hist_y, out_step, n_hist)
    run.stats = {"nfev": int(counters[0]), "naccept": int(counters[1]),
                 "nreject": int(counters[2])}
    return Ys


def _as_f64(x):
    """A CPU float tensor as a float64 numpy array (a view of it when it is float64)."""
    try:
        a = x.detach().numpy()
    except RuntimeError:     # a tensor numpy cannot view (e.g. a negative-bit view)
        a = x.detach().resolve_neg().resolve_conj().numpy()
    return a if a.dtype == np.float64 else a.astype(np.float64)


class _CompiledFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, run, y0, t, *params):
        store = run.grad_mode == "discrete" and run.needs_grad
        Ys = _forward(run, store)
        ctx.run = run
        nsl, T, Ns = Ys.shape
        if nsl == 1 and run.Bs == 1:     # one sample: the kernels' layout is the output's
            # a copy: the backsolve adjoint reads run.Ys, which an in-place change of the
            # returned tensor must not reach
            ys = Ys.reshape(T, Ns).copy()
        else:
            ys = _from_fm(np.ascontiguousarray(Ys.transpose(1, 0, 2)), run.Bs,
                          run.n).reshape(T, nsl * Ns)
        # a tensor of its own (not a view made inside the Function): callers may change it
        # in place, as torchdiffeq's outputs
        out = torch.from_numpy(ys.reshape((T, *run.shape)))
        return out if run.dtype == torch.float64 else out.to(run.dtype)

    @staticmethod
    def backward(ctx, grad):
        run = ctx.run
        nsl, T, Ns = run.Ys.shape
        if nsl == 1 and run.Bs == 1:     # one sample: the output's layout is the kernels'
            Gout = np.ascontiguousarray(_as_f64(grad).reshape(1, T, Ns))
        else:
            Gout = _to_fm(np.ascontiguousarray(_as_f64(grad).reshape(T, nsl, Ns)
                                               .transpose(1, 0, 2)), run.Bs, run.n)
        ybar0 = np.zeros((nsl, Ns))
        gth = np.zeros(run.theta.shape[0])
        tgrad = np.zeros(T)
        C, A, B, E, E3, use_e3, fsal_error, error_order, P, Cx, Ax, adaptive = \
            _tab_arrays(run.tab)
        counters = np.zeros(4, dtype=np.int64)
        if run.grad_mode == "discrete":
            hist_t, hist_h, hist_y, out_step, n_hist = run.hist
            interp = bool(adaptive or run.step_size > 0)
            K.discrete_all(run.t, Gout, hist_t, hist_h, hist_y, n_hist, out_step, interp, C, A,
                           B, P, Cx, Ax, run.theta, *run.layout, run.n, run.Bs, run.Xs, run.Zs,
                           run.G, ybar0, gth, tgrad, counters)
            adj = {"adjoint_nfev": int(counters[0]), "adjoint_nvjp": int(counters[1])}
        else:
            at = run.adj
            C2, A2, B2, E2, E32, use_e32, fsal2, eo2, P2, Cx2, Ax2, adaptive2 = \
                _tab_arrays(at["tab"])
            status = K.backsolve_all(
                run.t, run.Ys, Gout, bool(ctx.needs_input_grad[2]), at["rtol"], at["atol"],
                at["seminorm"], C2, A2, B2, E2, E32, use_e32, fsal2, eo2, P2, Cx2, Ax2,
                adaptive2, at["first_step"], at["step_size"], at["max_step"], at["max_steps"],
                run.theta, *run.layout, run.n, run.Bs, run.Xs, run.Zs, run.G, ybar0, gth,
                tgrad, counters)
            if status != K.OK:
                raise _failure(status, "compiled adjoint solve")
            adj = {"adjoint_nfev": int(counters[0] + counters[3]),
                   "adjoint_nvjp": int(counters[0]), "adjoint_naccept": int(counters[1]),
                   "adjoint_nreject": int(counters[2])}
        # the backward pass runs after odeint returned: its counters join the call's stats
        for key, v in adj.items():
            last_stats[key] = last_stats.get(key, 0) + v
        if run.spec.owner is not None:
            run.spec.owner.count(adj["adjoint_nfev"])
        gy0 = None
        if ctx.needs_input_grad[1]:
            if run.Bs > 1:
                ybar0 = _from_fm(ybar0, run.Bs, run.n)
            gy0 = torch.from_numpy(ybar0.reshape(run.shape))
            if run.dtype != torch.float64:
                gy0 = gy0.to(run.dtype)
        gt = torch.from_numpy(tgrad).to(run.t_dtype) if ctx.needs_input_grad[2] else None
        gps = run.spec.split_grad(gth)
        return (None, gy0, gt, *gps)


def _kw(solver_kw):
    return (float(solver_kw.get("first_step") or 0.0), float(solver_kw.get("step_size") or 0.0),
            float(solver_kw.get("max_step", math.inf)),
            int(solver_kw.get("max_num_steps", 2**62)))


def solve(spec, y0, t, tab, rtol, atol, solver_kw, per_sample, adjoint, adjoint_kw):
    """Solve with the compiled kernels; returns (ys, the forward solve's counters)."""
    run = _Run()
    run.spec, run.tab, run.rtol, run.atol = spec, tab, rtol, atol
    run.first_step, run.step_size, run.max_step, run.max_steps = _kw(solver_kw)
    run.n = spec.n
    run.shape = y0.shape
    run.dtype = y0.dtype
    run.t_dtype = t.dtype
    run.t = np.array(_as_f64(t))    # a copy
    run.theta = spec.theta()
    run.layout = spec.layout()
    Btot = y0.numel() // spec.n
    z0 = _as_f64(y0).reshape(-1)
    if Btot == 1:     # one sample: batch-major is feature-major; a copy (never the user's)
        run.Bs = 1
        run.Z0 = np.array(z0.reshape(1, spec.n))
    elif per_sample:
        run.Bs = 1
        run.Z0 = np.ascontiguousarray(z0.reshape(Btot, spec.n))
    else:
        run.Bs = Btot
        run.Z0 = _to_fm(z0, Btot, spec.n).reshape(1, -1)
    # activations of every RK stage (the discrete adjoint keeps one block per stage,
    # extra dense-output stages included)
    nblk = tab.s + 1 + len(tab.C_extra)
    run.Xs = np.empty((nblk * spec.xwidth, run.Bs))
    run.Zs = np.empty((nblk * spec.zwidth, run.Bs))
    run.G = np.empty((spec.xwidth, run.Bs))
    params = spec.params
    run.needs_grad = torch.is_grad_enabled() and (
        y0.requires_grad or t.requires_grad or any(p.requires_grad for p in params))
    if adjoint is None or adjoint == "checkpoint":
        run.grad_mode = "discrete"
    else:
        run.grad_mode = "backsolve"
        adj_tab = get_tableau(adjoint_kw["method"]) if adjoint_kw["method"] else tab
        opts = adjoint_kw["options"]
        if opts is None:
            opts = {k: v for k, v in (adjoint_kw["fwd_options"] or {}).items() if k != "norm"}
        akw, seminorm = _solver_kw(opts, adj_tab, for_adjoint=True)
        fs, ss, ms, mx = _kw(akw)
        run.adj = {"tab": adj_tab, "seminorm": seminorm, "first_step": fs, "step_size": ss,
                   "max_step": ms, "max_steps": mx,
                   "rtol": rtol if adjoint_kw["rtol"] is None else
                   _check_tol("adjoint_rtol", adjoint_kw["rtol"]),
                   "atol": atol if adjoint_kw["atol"] is None else
                   _check_tol("adjoint_atol", adjoint_kw["atol"])}
    if run.needs_grad:
        out = _CompiledFunction.apply(run, y0, t, *params)
    else:
        out = _CompiledFunction.forward(_Ctx(), run, y0, t, *params)
    if spec.owner is not None:
        spec.owner.count(run.stats["nfev"])
    return out, run.stats


class _Ctx:
    pass
