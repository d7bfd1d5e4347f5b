"""The heat-equation PINN: the problem, the network with its hard constraints, the residual.

The network ``N(x, t)`` is a tanh MLP on inputs scaled to [-1, 1]. With ``constraints="hard"``
the initial state (and Dirichlet data, which must then agree with u0 at the ends) hold exactly by
construction, ``u = u0(x) + (t / T) (x - a)(b - x) / (b - a)^2 N``;
Neumann ends (or ``constraints="soft"``) add their data to the loss instead.
Derivatives: ``torch.func.grad`` of the scalar ``u(params, x, t)``, vmapped over the points.
"""
import math
from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

_BCS = ("dirichlet", "neumann")


@dataclass
class HeatPINNProblem:
    """``u_t = alpha u_xx + source(x, t)`` on ``domain`` x [0, t_end].

    Attributes
    ----------
    alpha : float
        Diffusivity (> 0).
    u0 : callable
        ``u0(x)`` on torch tensors (and numpy arrays, for the method-of-lines reference).
    domain : (float, float)
    t_end : float
    bc : (str, str)
        ``"dirichlet"`` or ``"neumann"`` at the left and right ends.
    bc_values : (float, float)
        The value (Dirichlet) or the slope du/dx (Neumann) at each end, constant in time.
    source : callable, optional
        ``source(x, t)`` on torch tensors (and numpy arrays).
    exact : callable, optional
        ``exact(x, t)`` on numpy arrays, for the error report.

    Examples
    --------
    >>> import math, torch
    >>> from fastode import pinn
    >>> problem = pinn.HeatPINNProblem(alpha=0.1, u0=lambda x: torch.cos(math.pi * x),
    ...                                bc="neumann")
    >>> problem.bc, problem.domain
    (('neumann', 'neumann'), (0.0, 1.0))
    """
    alpha: float
    u0: Callable
    domain: tuple = (0.0, 1.0)
    t_end: float = 1.0
    bc: tuple = ("dirichlet", "dirichlet")
    bc_values: tuple = (0.0, 0.0)
    source: Optional[Callable] = None
    exact: Optional[Callable] = None

    def __post_init__(self):
        try:
            alpha = float(self.alpha)
        except (TypeError, ValueError):
            raise ValueError(f"alpha must be a positive number, got {self.alpha!r}") from None
        if not (math.isfinite(alpha) and alpha > 0):
            raise ValueError(f"alpha must be finite and positive, got {self.alpha!r}")
        self.alpha = alpha
        try:
            a, b = (float(v) for v in self.domain)
        except (TypeError, ValueError):
            raise ValueError(f"domain must be a pair (a, b), got {self.domain!r}") from None
        if not (math.isfinite(a) and math.isfinite(b) and a < b):
            raise ValueError(f"domain must satisfy a < b, got {self.domain!r}")
        self.domain = (a, b)
        if not (math.isfinite(float(self.t_end)) and float(self.t_end) > 0):
            raise ValueError(f"t_end must be finite and positive, got {self.t_end!r}")
        self.t_end = float(self.t_end)
        bc = (self.bc, self.bc) if isinstance(self.bc, str) else tuple(self.bc)
        if len(bc) != 2 or any(not isinstance(s, str) or s.lower() not in _BCS for s in bc):
            raise ValueError(f"bc must be 'dirichlet', 'neumann' or a pair of them, "
                             f"got {self.bc!r}")
        self.bc = tuple(s.lower() for s in bc)
        self.bc_values = tuple(float(v) for v in self.bc_values)
        if not callable(self.u0):
            raise ValueError(f"u0 must be callable, got {self.u0!r}")


def lecture_problem():
    """The lecture's heat equation as the issue states it: ``u_t = alpha u_xx``,
    ``alpha = 0.4 / pi^2``, ``u(x, 0) = sin(pi x)``, ``u = 0`` at x = 0 and 1, x, t in [0, 1];
    exact solution ``exp(-0.4 t) sin(pi x)``.

    Examples
    --------
    >>> from fastode import pinn
    >>> problem = pinn.lecture_problem()
    >>> round(problem.alpha * 3.141592653589793 ** 2, 6), problem.t_end
    (0.4, 1.0)
    """
    import numpy as np

    def u0(x):
        return torch.sin(math.pi * x) if isinstance(x, torch.Tensor) else np.sin(np.pi * x)

    def exact(x, t):
        return np.exp(-0.4 * t) * np.sin(np.pi * x)
    return HeatPINNProblem(alpha=0.4 / math.pi ** 2, u0=u0, exact=exact)


class HeatPINN(nn.Module):
    """``u(x, t)`` for a :class:`HeatPINNProblem`: a tanh MLP with the problem's constraints.

    Parameters
    ----------
    problem : HeatPINNProblem
    width, depth : int
        Hidden layer width and number of hidden layers.
    constraints : {"hard", "soft"}
        "hard": the initial state always, and Dirichlet data, hold by construction; "soft": all
        data enter the loss (the classic PINN of the lecture: loss = data + lambda * residual).

    Examples
    --------
    With hard constraints the untrained network already meets the initial state:

    >>> import torch
    >>> from fastode import pinn
    >>> problem = pinn.lecture_problem()
    >>> model = pinn.HeatPINN(problem, width=8, depth=2).double()
    >>> x = torch.linspace(0.0, 1.0, 5, dtype=torch.float64)
    >>> u = model(x, torch.zeros_like(x))
    >>> bool(torch.allclose(u, torch.sin(torch.pi * x), atol=1e-12))
    True
    """

    def __init__(self, problem, width=32, depth=3, constraints="hard"):
        super().__init__()
        if constraints not in ("hard", "soft"):
            raise ValueError(f"constraints must be 'hard' or 'soft', got {constraints!r}")
        if int(width) < 1 or int(depth) < 1:
            raise ValueError(f"width and depth must be >= 1, got {width!r}, {depth!r}")
        self.problem = problem
        self.constraints = constraints
        layers, fan_in = [], 2
        for _ in range(int(depth)):
            layers += [nn.Linear(fan_in, int(width)), nn.Tanh()]
            fan_in = int(width)
        layers.append(nn.Linear(fan_in, 1))
        self.net = nn.Sequential(*layers)
        a, b = problem.domain
        self._a, self._b, self._T = a, b, problem.t_end
        self.hard_dirichlet = [constraints == "hard" and s == "dirichlet" for s in problem.bc]
        for end, x_end, g in zip(self.hard_dirichlet, (a, b), problem.bc_values):
            # u = u0(x) + (t/T)(x-a)(b-x) N keeps u(end, t) = u0(end): the data must agree
            u0_end = float(problem.u0(torch.tensor(x_end, dtype=torch.float64)))
            if end and abs(u0_end - g) > 1e-12 * max(1.0, abs(g)):
                raise ValueError(f"constraints='hard' needs u0 to match the Dirichlet value "
                                 f"at x = {x_end} ({u0_end} != {g}); use constraints='soft'")

    def forward(self, x, t):
        """u at points (x, t): tensors of one shape (scalars under vmap)."""
        a, b, T = self._a, self._b, self._T
        z = torch.stack([2.0 * (x - a) / (b - a) - 1.0, 2.0 * t / T - 1.0], dim=-1)
        n = self.net(z)[..., 0]
        if self.constraints == "soft":
            return n
        factor = t / T
        if self.hard_dirichlet[0]:
            factor = factor * (x - a) / (b - a)
        if self.hard_dirichlet[1]:
            factor = factor * (b - x) / (b - a)
        return self.problem.u0(x) + factor * n


def residual(model, params=None):
    """A function ``r(x, t)`` of point tensors (vmapped over them) giving
    ``u_t - alpha u_xx - source`` of ``model`` (with ``params``, default its own), and ``u_x``:
    returns ``(r, u_x)`` of the points' shape.

    Examples
    --------
    >>> import torch
    >>> from fastode import pinn
    >>> model = pinn.HeatPINN(pinn.lecture_problem(), width=8, depth=2).double()
    >>> r = pinn.residual(model)
    >>> x = torch.rand(10, dtype=torch.float64)
    >>> res, u_x = r(x, torch.rand(10, dtype=torch.float64))
    >>> res.shape, u_x.shape
    (torch.Size([10]), torch.Size([10]))
    """
    if params is None:
        params = dict(model.named_parameters())
    p = model.problem

    def u(x, t):
        return functional_call(model, params, (x, t))

    u_x = grad(u, argnums=0)
    u_t = grad(u, argnums=1)
    u_xx = grad(u_x, argnums=0)

    def point(x, t):
        r = u_t(x, t) - p.alpha * u_xx(x, t)
        if p.source is not None:
            r = r - p.source(x, t)
        return r, u_x(x, t)
    return vmap(point)
