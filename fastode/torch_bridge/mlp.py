"""Recognise the MLPs the compiled path understands and describe them as plain arrays.

Supported: an ``nn.Sequential`` of ``nn.Linear`` layers, each optionally followed by one of
Tanh, ReLU, Softplus, SiLU, ELU, Sigmoid (nn.Identity is skipped), whose first layer takes the
state's last dimension ``n`` (``f(t, y) = net(y)``) or ``n + 1`` (the time appended:
``f(t, y) = net(cat([y, t]))``); passed directly as ``func``, or as the ``net`` attribute of a
module whose parameters are exactly the net's. A probe evaluation compares ``func(t0, y0)``
with the compiled evaluation, so a module whose forward does something else falls back.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .kernels import ACT_CODES


class MLPSpec:
    """Layout arrays of one MLP (see fastode.torch_bridge.kernels) and its parameter list."""

    def __init__(self, net, linears, acts, time_in, n):
        self.net = net
        self.time_in = time_in
        self.n = n
        L = len(linears)
        self.params = []
        dims = [linears[0].in_features] + [lin.out_features for lin in linears]
        woff, boff = [], []
        off = 0
        for lin in linears:
            woff.append(off)
            self.params.append(lin.weight)
            off += lin.weight.numel()
            if lin.bias is not None:
                boff.append(off)
                self.params.append(lin.bias)
                off += lin.bias.numel()
            else:
                boff.append(-1)
        self.n_theta = off
        self.dims = np.array(dims, dtype=np.int64)
        self.woff = np.array(woff, dtype=np.int64)
        self.boff = np.array(boff, dtype=np.int64)
        self.act = np.array([a[0] for a in acts], dtype=np.int64)
        self.actp = np.array([[a[1], a[2]] for a in acts], dtype=np.float64).reshape(L, 2)
        self.xoff = np.concatenate([[0], np.cumsum(dims)]).astype(np.int64)[:L + 1]
        self.zoff = np.concatenate([[0], np.cumsum(dims[1:])]).astype(np.int64)[:L]
        self.xwidth = int(sum(dims))
        self.zwidth = int(sum(dims[1:]))

    def theta(self):
        """All weights and biases as one float64 array (one small copy per call)."""
        with torch.no_grad():
            flat = torch.cat([p.detach().reshape(-1) for p in self.params])
        return flat.to(torch.float64).numpy()

    def layout(self):
        return (self.dims, self.woff, self.boff, self.act, self.actp, self.xoff, self.zoff,
                self.time_in)

    def split_grad(self, g):
        out = []
        off = 0
        for p in self.params:
            k = p.numel()
            out.append(torch.from_numpy(g[off:off + k].copy()).reshape(p.shape).to(p.dtype))
            off += k
        return out


def _activation(mod):
    if isinstance(mod, nn.Tanh):
        return (ACT_CODES["tanh"], 0.0, 0.0)
    if isinstance(mod, nn.ReLU):
        return (ACT_CODES["relu"], 0.0, 0.0)
    if isinstance(mod, nn.Softplus):
        return (ACT_CODES["softplus"], float(mod.beta), float(mod.threshold))
    if isinstance(mod, nn.SiLU):
        return (ACT_CODES["silu"], 0.0, 0.0)
    if isinstance(mod, nn.ELU):
        return (ACT_CODES["elu"], float(mod.alpha), 0.0)
    if isinstance(mod, nn.Sigmoid):
        return (ACT_CODES["sigmoid"], 0.0, 0.0)
    return None


def inspect(func, n):
    """(MLPSpec, None) when ``func`` is a supported MLP for states of last dimension n;
    (None, reason) otherwise."""
    if isinstance(func, nn.Sequential):
        net = func
    elif isinstance(func, nn.Module) and isinstance(getattr(func, "net", None), nn.Sequential):
        net = func.net
        own = {id(p) for p in func.parameters()}
        if own != {id(p) for p in net.parameters()}:
            return None, (f"{type(func).__name__} has parameters outside its `net`; "
                          f"the compiled path supports only the net's")
    else:
        name = type(func).__name__ if isinstance(func, nn.Module) else "a plain function"
        return None, (f"func is {name}, not an nn.Sequential MLP or a module holding one "
                      f"as `net`")
    linears, acts = [], []
    for mod in net:
        if isinstance(mod, nn.Linear):
            linears.append(mod)
            acts.append((0, 0.0, 0.0))
        elif isinstance(mod, nn.Identity):
            continue
        else:
            a = _activation(mod)
            if a is None:
                return None, f"layer {type(mod).__name__} is not supported by the compiled path"
            if not linears or acts[-1][0] != 0:
                return None, "an activation must follow a Linear layer (one per layer)"
            acts[-1] = a
    if not linears:
        return None, "the net has no Linear layer"
    for a, b in zip(linears[:-1], linears[1:]):
        if a.out_features != b.in_features:
            return None, "the Linear layers' sizes do not chain"
    if linears[-1].out_features != n:
        return None, f"the net's output size {linears[-1].out_features} is not the state's {n}"
    if linears[0].in_features == n:
        time_in = False
    elif linears[0].in_features == n + 1:
        time_in = True
    else:
        return None, (f"the net's input size {linears[0].in_features} is neither the state's "
                      f"{n} nor {n} + 1 (time appended)")
    return MLPSpec(net, linears, acts, time_in, n), None
