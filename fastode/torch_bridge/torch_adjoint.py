"""Backsolve adjoint on the torch fallback (torchdiffeq's ``odeint_adjoint`` algorithm).

The augmented state [y, a, dL/dt accumulator, dL/dparams] is solved backward between
consecutive output times with the same RK solver; y is reset to the stored forward output
and a receives the output gradient at every output time (torchdiffeq does the same).
"""
from __future__ import annotations

import torch

from ._stats import last_stats
from .torch_solver import rk_solve


class TorchBacksolveAdjoint(torch.autograd.Function):
    @staticmethod
    def forward(ctx, spec, y0, t, *params):
        with torch.no_grad():
            ys = rk_solve(spec.f, y0, t, spec.tab, spec.rtol, spec.atol, **spec.solver_kw,
                          stats=spec.stats)
        ctx.spec = spec
        ctx.save_for_backward(t, ys, *params)
        return ys

    @staticmethod
    def backward(ctx, grad_ys):
        spec = ctx.spec
        t, ys, *params = ctx.saved_tensors
        f = spec.f
        N = ys.shape[1]
        T = ys.shape[0]
        need_t = ctx.needs_input_grad[2]
        n_par = [p.numel() for p in params]
        P = sum(n_par)

        def aug(tt, z):
            y = z[:N]
            a = z[N:2 * N]
            with torch.enable_grad():
                y_ = y.detach().requires_grad_(True)
                t_ = tt.detach().requires_grad_(True)
                fy = f(t_, y_)
                inputs = (y_, t_) + tuple(params)
                g = torch.autograd.grad(fy, inputs, -a, allow_unused=True)
            parts = [fy.detach(), g[0] if g[0] is not None else torch.zeros_like(y),
                     (g[1] if g[1] is not None else torch.zeros_like(tt)).reshape(1)]
            for gp, p in zip(g[2:], params):
                parts.append(torch.zeros(p.numel(), dtype=z.dtype, device=z.device)
                             if gp is None else gp.reshape(-1).to(z.dtype))
            return torch.cat(parts)

        with torch.no_grad():
            a = grad_ys[-1].clone()
            tacc = torch.zeros(1, dtype=ys.dtype, device=ys.device)
            pacc = torch.zeros(P, dtype=ys.dtype, device=ys.device)
            time_vjps = torch.zeros(T, dtype=ys.dtype, device=ys.device) if need_t else None
            norm_dims = 2 * N if spec.seminorm else None
            for i in range(T - 1, 0, -1):
                if need_t:
                    d = torch.dot(f(t[i], ys[i]).reshape(-1), grad_ys[i].reshape(-1))
                    tacc = tacc - d
                    time_vjps[i] = d
                z0 = torch.cat([ys[i], a, tacc, pacc])
                zs = rk_solve(aug, z0, torch.stack([t[i], t[i - 1]]), spec.adj_tab,
                              spec.adj_rtol, spec.adj_atol, **spec.adj_solver_kw,
                              norm_dims=norm_dims, stats=spec.adj_stats)
                z = zs[-1]
                a = z[N:2 * N] + grad_ys[i - 1]
                tacc = z[2 * N:2 * N + 1]
                pacc = z[2 * N + 1:]
            if need_t:
                time_vjps[0] = tacc[0]
            # the backward pass runs after odeint_adjoint returned: its counters join the
            # call's stats (each augmented evaluation is one f and one VJP)
            nf = spec.adj_stats["nfev"]
            for key, v in (("adjoint_nfev", nf + (T - 1 if need_t else 0)),
                           ("adjoint_nvjp", nf), ("adjoint_naccept", spec.adj_stats["naccept"]),
                           ("adjoint_nreject", spec.adj_stats["nreject"])):
                last_stats[key] = last_stats.get(key, 0) + v
            grads = []
            off = 0
            for p, k in zip(params, n_par):
                grads.append(pacc[off:off + k].reshape(p.shape).to(p.dtype))
                off += k
        return (None, a, time_vjps, *grads)
