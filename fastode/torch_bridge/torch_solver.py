"""The torch fallback: explicit Runge-Kutta in tensor operations, any device, autograd-friendly.

Same tableaus (fastode.tableaus.explicit) and the same controller as fastode's kernels
(fastode.kernels.control: scipy's elementary controller, SAFETY 0.9, factors 0.2..10, Hairer's
initial step, RMS norm of err / (atol + rtol max(|y|, |y_new|))), and the same dense output
(the tableau's P matrix) at the output times, so a run here and ``fastode.solve_ivp(...,
t_eval=t)`` take the same steps.

Step-size decisions are made on detached values (Python floats): gradients flow through the
stages and the interpolation, not through the controller (as diffrax and torchode do). The
time grid is ``t[0] + offset`` with detached offsets, so gradients with respect to ``t``
are those of the discrete solver for that grid.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .tableau import TorchTableau, fixed_grid_count

SAFETY = 0.9
MIN_FACTOR = 0.2
MAX_FACTOR = 10.0


class SolverError(RuntimeError):
    """The integration failed (step size too small, max_num_steps, non-finite values).

    Raised by the compiled path, it has ``status``: the kernel's code
    (fastode.kernels.status: STEP_TOO_SMALL, MAX_STEPS, NON_FINITE)."""


def _lin(y, h, coeffs, K):
    """y + h * sum_j c_j K_j (only the non-zero coefficients)."""
    acc = None
    for j, c in coeffs:
        term = K[j] * c
        acc = term if acc is None else acc + term
    if acc is None:
        return y
    return y + acc * h


def _comb(coeffs, K):
    acc = None
    for j, c in coeffs:
        term = K[j] * c
        acc = term if acc is None else acc + term
    return acc


def _rms(x):
    return torch.sqrt(torch.mean(x * x))


def _error_norm(err, y, y_new, rtol, atol, norm_dims):
    if norm_dims is not None:
        err, y, y_new = err[..., :norm_dims], y[..., :norm_dims], y_new[..., :norm_dims]
    scale = atol + rtol * torch.maximum(y.abs(), y_new.abs())
    return _rms(err / scale)


def _initial_step(f, tt, t0, y0, f0, t_end, direction, error_order, rtol, atol, max_step,
                  norm_dims):
    """Hairer's initial step (fastode.kernels.control.select_initial_step); one f evaluation."""
    interval = abs(t_end - t0)
    if interval == 0.0:
        return 0.0
    yn, fn = (y0, f0) if norm_dims is None else (y0[:norm_dims], f0[:norm_dims])
    scale = atol + yn.abs() * rtol
    d0 = float(_rms(yn / scale).detach())
    d1 = float(_rms(fn / scale).detach())
    h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
    h0 = min(h0, interval)
    y1 = y0 + (h0 * direction) * f0
    f1 = f(tt(t0 + h0 * direction), y1)
    df = (f1 - f0) if norm_dims is None else (f1[:norm_dims] - f0[:norm_dims])
    d2 = float(_rms(df / scale).detach()) / h0
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / (error_order + 1))
    return min(100 * h0, h1, interval, max_step)


def rk_solve(f, y0, t, tab: TorchTableau, rtol, atol, *, first_step=None, step_size=None,
             max_num_steps=2**31 - 1, max_step=math.inf, norm_dims=None, stats=None):
    """Integrate y' = f(t, y) for a 1-D state ``y0``; return the states at ``t`` (len(t), N).

    ``t`` is a 1-D strictly monotone tensor (validated by the caller). ``f(t_tensor, y)``
    returns a tensor shaped like ``y``. Adaptive methods step freely and interpolate the
    output times with the tableau's dense output; fixed-step methods step on ``t`` itself
    (torchdiffeq) or, with ``step_size``, on t[0] + k step_size (fastode's grid) with dense
    output in between. ``norm_dims``: the error norm looks at ``y[:norm_dims]`` only
    (torchdiffeq's seminorm for the adjoint).
    """
    tf = [float(v) for v in t.detach().cpu().tolist()]
    T = len(tf)
    out = [y0]
    if stats is None:
        stats = {}
    for key in ("nfev", "naccept", "nreject"):
        stats.setdefault(key, 0)
    if T == 1:
        return torch.stack(out)
    t0f, t_end = tf[0], tf[-1]
    direction = 1.0 if t_end > t0f else -1.0
    t0_tensor = t[0]

    def tt(x):
        # a time tensor that carries the gradient of t[0] (offsets are detached)
        return t0_tensor + (x - t0f)

    s = tab.s
    nfev = 0
    y = y0
    f0 = f(tt(t0f), y)
    nfev += 1
    if f0.shape != y.shape:
        raise ValueError(f"`func` returned shape {tuple(f0.shape)}; expected the state's shape "
                         f"{tuple(y.shape)}")
    adaptive = tab.adaptive
    exponent = -1.0 / (tab.error_order + 1.0) if adaptive else 0.0
    if adaptive:
        if first_step is not None and first_step > 0:
            h_abs = float(first_step)
        else:
            h_abs = _initial_step(f, tt, t0f, y, f0, t_end, direction, tab.error_order, rtol,
                                  atol, max_step, norm_dims)
            nfev += 1
        grid = None
    else:
        if step_size is None:
            grid = tf
        else:
            n_fixed = fixed_grid_count(t0f, t_end, float(step_size))
            grid = [t0f + direction * k * float(step_size) for k in range(n_fixed)] + [t_end]
        h_abs = 0.0

    t_cur = t0f
    next_out = 1
    naccept = 0
    nreject = 0
    attempts = 0
    while next_out < T:
        step_rejected = False
        while True:
            if attempts >= max_num_steps:
                raise SolverError(f"max_num_steps ({max_num_steps}) exceeded at t={t_cur}")
            attempts += 1
            if adaptive:
                spacing_min = 10.0 * abs(np.nextafter(t_cur, direction * np.inf) - t_cur)
                h_abs = min(h_abs, max_step)
                if h_abs < spacing_min:
                    raise SolverError(f"step size too small at t={t_cur}")
                t_new = t_cur + direction * h_abs
                if direction * (t_new - t_end) > 0.0:
                    t_new = t_end
            else:
                t_new = grid[naccept + 1]
            h = t_new - t_cur
            tk = tt(t_cur)
            K = [f0]
            for i in range(1, s):
                yi = _lin(y, h, tab.A[i], K)
                K.append(f(tk + tab.C[i] * h, yi))
            nfev += s - 1
            y_new = _lin(y, h, tab.B, K)
            if not adaptive:
                K.append(f(tt(t_new), y_new))
                nfev += 1
                if not bool(torch.isfinite(K[-1]).all()):
                    raise SolverError(f"non-finite values at t={t_new}")
                break
            if tab.fsal_error:
                K.append(f(tt(t_new), y_new))
                nfev += 1
            else:
                K.append(torch.zeros_like(y))
            err5 = _comb(tab.E, K) * h
            scale_dims = norm_dims
            if tab.use_e3:
                yy, yn = (y, y_new) if scale_dims is None else (y[:scale_dims], y_new[:scale_dims])
                e5 = err5 if scale_dims is None else err5[:scale_dims]
                e3 = _comb(tab.E3, K) * h
                e3 = e3 if scale_dims is None else e3[:scale_dims]
                scale = atol + rtol * torch.maximum(yy.abs(), yn.abs())
                acc5 = float(torch.sum((e5 / scale) ** 2).detach())
                acc3 = float(torch.sum((e3 / scale) ** 2).detach())
                n = e5.numel()
                if acc5 == 0.0 and acc3 == 0.0:
                    error_norm = 0.0
                else:
                    # |h| folded into err: |h| e5^2 / sqrt(e5^2 + 0.01 e3^2) / sqrt(n) with e=h K^T E
                    error_norm = acc5 / math.sqrt((acc5 + 0.01 * acc3) * n)
            else:
                error_norm = float(_error_norm(err5, y, y_new, rtol, atol, norm_dims).detach())
            if not math.isfinite(error_norm):
                error_norm = math.inf
            if error_norm < 1.0:
                if error_norm == 0.0:
                    factor = MAX_FACTOR
                else:
                    factor = min(MAX_FACTOR, SAFETY * error_norm ** exponent)
                if step_rejected:
                    factor = min(1.0, factor)
                h_abs = abs(h) * factor
                if not tab.fsal_error:
                    K[-1] = f(tt(t_new), y_new)
                    nfev += 1
                break
            factor = MIN_FACTOR if not math.isfinite(error_norm) else max(
                MIN_FACTOR, SAFETY * error_norm ** exponent)
            h_abs = abs(h) * factor
            step_rejected = True
            nreject += 1
        naccept += 1
        # outputs in (t_cur, t_new]
        extra_done = False
        while next_out < T and direction * (tf[next_out] - t_new) <= 0.0:
            if not adaptive and step_size is None:
                out.append(y_new)
            else:
                if tab.C_extra and not extra_done:
                    for j, c in enumerate(tab.C_extra):
                        yj = _lin(y, h, tab.A_extra[j], K)
                        K.append(f(tk + c * h, yj))
                    nfev += len(tab.C_extra)
                    extra_done = True
                theta = (t[next_out] - tk) / h
                out.append(_dense(y, h, K, tab.P, theta))
            next_out += 1
        y = y_new
        f0 = K[s]
        t_cur = t_new
    stats["nfev"] += nfev
    stats["naccept"] += naccept
    stats["nreject"] += nreject
    return torch.stack(out)


def _dense(y, h, K, P, theta):
    """y + h sum_j K_j sum_r P[j][r] theta^(r+1)."""
    q = len(P[0])
    acc = None
    for j, row in enumerate(P):
        if all(v == 0.0 for v in row):
            continue
        w = row[q - 1]
        for r in range(q - 2, -1, -1):
            w = w * theta + row[r]
        w = w * theta
        term = K[j] * w
        acc = term if acc is None else acc + term
    return y + acc * h
