"""Kernels callable from your own numba code: integrate inside an ``@njit`` loop.

Compile the right-hand side once in Python, then pass its address, a parameter array and a method
tableau into ``@njit`` code that calls :func:`solve` or :func:`solve_final`::

    import numpy as np, numba, fastode.nb as fnb

    def lotka_volterra(t, y, p):
        return np.array([p[0] * y[0] - p[1] * y[0] * y[1], -p[2] * y[1] + p[3] * y[0] * y[1]])

    rhs = fnb.compile_rhs(lotka_volterra, n=2, n_params=4)   # keep `rhs` alive while in use
    tableau = fnb.tableau("RK45")

    @numba.njit
    def final_prey(address, params, tableau):
        out = np.empty(params.shape[0])
        y0 = np.array([10.0, 5.0])
        for i in range(params.shape[0]):
            status, y = fnb.solve_final(address, params[i], 0.0, 15.0, y0, 1e-6, 1e-9, tableau)
            out[i] = y[0] if status >= 0 else np.nan
        return out

    final_prey(rhs.address, np.random.uniform(0.8, 1.2, (100, 4)) * [1.5, 1, 3, 1], tableau)

``solve_ensemble(address, params, t0, t1, y0, rtol, atol, tableau, t_eval, step=0.0,
max_step=np.inf)`` -> ``(status (n_traj,), y (n_traj, n, n_t))``, NaN after a failure; it runs its
own prange over trajectories, so call it from serial numba code.

Stiff problems: :func:`solve_stiff` / :func:`solve_stiff_final` run the Rosenbrock methods
(``"Rodas5P"``, ``"Rodas4"``, ``"Rosenbrock23"``) with a finite-difference Jacobian and a dense
LU, taking a :func:`stiff_tableau` in place of ``tableau``: the same steps as
``fastode.solve_ivp(..., method=name)``::

    stiff = fnb.stiff_tableau("Rodas5P")

    @numba.njit
    def final_states(address, y0s, stiff):
        out = np.empty_like(y0s)
        for i in range(y0s.shape[0]):
            status, y = fnb.solve_stiff_final(address, np.zeros(0), 0.0, 1e5, y0s[i], 1e-6,
                                              1e-10, stiff)
            out[i] = y
        return out
"""
from typing import NamedTuple

import numpy as np
from numba import njit

from . import methods as method_registry
from .kernels.ensemble import nb_solve_ensemble as solve_ensemble
from .kernels.explicit import explicit_rk_solve
from .kernels.jacobian import JAC_FD
from .kernels.rosenbrock import rosenbrock_solve
from .tableaus.rosenbrock import ROS23_D
from .rhs import EVENT_SIGNATURE, RHS_SIGNATURE, CompiledFunction
from .rhs import compile_rhs as _compile_rhs

__all__ = ["compile_rhs", "tableau", "solve", "solve_final", "solve_ensemble", "Tableau", "RHS_SIGNATURE",
           "EVENT_SIGNATURE", "StiffTableau", "stiff_tableau", "solve_stiff", "solve_stiff_final"]

_NO_EVENTS_I = np.zeros(0, dtype=np.int64)
_NO_EVENTS_F = np.zeros(0)


class Tableau(NamedTuple):
    """A method's tableau in the form the kernels take (a NamedTuple numba can pass around).

    Examples
    --------
    >>> import fastode.nb as fnb
    >>> tab = fnb.tableau("RK45")
    >>> isinstance(tab, fnb.Tableau), tab.A.shape, tab.error_order
    (True, (6, 6), 4)
    """
    C: np.ndarray
    A: np.ndarray
    B: np.ndarray
    E: np.ndarray
    E3: np.ndarray
    C_extra: np.ndarray
    A_extra: np.ndarray
    P: np.ndarray
    error_order: int
    adaptive: bool
    use_e3: bool


def tableau(method: str = "RK45") -> Tableau:
    """The kernel form of ``method`` (any name ``fastode.solve_ivp`` accepts).

    Examples
    --------
    >>> import fastode.nb as fnb
    >>> tab = fnb.tableau("DOP853")
    >>> tab.adaptive, tab.B.shape
    (True, (12,))
    """
    m = method_registry.lookup(method)
    t = m.tableau
    return Tableau(t.C, t.A, t.B, t.E, t.E3, t.C_extra, t.A_extra, t.P, int(t.error_order),
                   bool(m.adaptive), bool(m.use_e3))


def compile_rhs(fun, n: int, n_params: int = 0) -> CompiledFunction:
    """Compile ``fun(t, y, p) -> array (n,)`` (``p``: float64 array of ``n_params`` values) into a
    C function for the kernels. Use ``.address`` in numba code; keep the returned object alive.
    With ``n_params=0`` the function is ``fun(t, y)``. If ``fun`` raises (or returns another
    length than ``n``) inside a kernel, the kernel sees NaN; ``fastode.rhs.raise_failures(
    [compiled], args)`` then re-raises the exception from Python.

    Examples
    --------
    >>> import numpy as np, fastode.nb as fnb
    >>> def decay(t, y, p):
    ...     return np.array([-p[0] * y[0]])
    >>> rhs = fnb.compile_rhs(decay, n=1, n_params=1)    # keep `rhs` alive while in use
    >>> status, y1 = fnb.solve_final(rhs.address, np.array([2.0]), 0.0, 1.0, np.array([1.0]),
    ...                              1e-8, 1e-10, fnb.tableau("RK45"))
    >>> status >= 0, bool(abs(y1[0] - np.exp(-2.0)) < 1e-7)
    (True, True)
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"`n` must be a positive integer; got {n!r}.")
    if not isinstance(n_params, (int, np.integer)) or n_params < 0:
        raise ValueError(f"`n_params` must be a non-negative integer; got {n_params!r}.")
    args = (np.zeros(n_params),) if n_params else ()
    compiled = _compile_rhs(fun, int(n), args, False, False)
    if compiled.python_callback:
        raise TypeError(f"numba could not compile `fun` ({compiled.reason}); fastode.nb needs "
                        "a function numba can compile.")
    return compiled


@njit(cache=True)
def solve(address, p, t0, t1, y0, rtol, atol, tableau, t_eval, step=0.0, max_step=np.inf):
    """Integrate from t0 to t1 and return the state at the times ``t_eval``.

    ``rtol``/``atol`` are scalars; ``step`` is the step of fixed-step methods (or a first step
    for adaptive ones, 0 = automatic). Returns ``(status, y_out)`` with ``y_out`` of shape
    (len(t_eval), n); status >= 0 is success (see fastode.kernels.status).

    Examples
    --------
    Called from Python here; inside your own ``@numba.njit`` function it is called the same way:

    >>> import numpy as np, fastode.nb as fnb
    >>> rhs = fnb.compile_rhs(lambda t, y: np.array([y[1], -y[0]]), n=2)
    >>> t_eval = np.linspace(0.0, np.pi, 5)
    >>> status, y = fnb.solve(rhs.address, np.zeros(0), 0.0, np.pi, np.array([1.0, 0.0]),
    ...                       1e-9, 1e-12, fnb.tableau("DOP853"), t_eval)
    >>> y.shape, bool(np.allclose(y[:, 0], np.cos(t_eval), atol=1e-7))
    ((5, 2), True)
    """
    n = y0.shape[0]
    rtol_arr = np.full(n, rtol)
    atol_arr = np.full(n, atol)
    p_arr = p if p.shape[0] > 0 else np.zeros(1)
    result = explicit_rk_solve(
        address, p_arr, t0, t1, y0, (rtol_arr, atol_arr),
        (tableau.C, tableau.A, tableau.B, tableau.E, tableau.E3, tableau.use_e3,
         tableau.error_order, tableau.C_extra, tableau.A_extra, tableau.P),
        (tableau.adaptive, step, max_step, 0.0, 0), (t_eval, True, False),
        (np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64), 1))
    status = result[0]
    n_out = result[3]
    return status, result[2][:n_out]


@njit(cache=True)
def solve_final(address, p, t0, t1, y0, rtol, atol, tableau, step=0.0, max_step=np.inf):
    """Integrate from t0 to t1; returns ``(status, y(t1))`` (the last state reached on failure).

    Examples
    --------
    >>> import numpy as np, fastode.nb as fnb
    >>> rhs = fnb.compile_rhs(lambda t, y: -y, n=1)
    >>> status, y1 = fnb.solve_final(rhs.address, np.zeros(0), 0.0, 5.0, np.array([1.0]),
    ...                              0.0, 0.0, fnb.tableau("euler"), 0.005)   # step = 0.005
    >>> bool(abs(y1[0] - 0.995 ** 1000) < 1e-12)
    True
    """
    t_eval = np.array([t1])
    status, y_out = solve(address, p, t0, t1, y0, rtol, atol, tableau, t_eval, step, max_step)
    if y_out.shape[0] == 1:
        return status, y_out[0].copy()
    return status, np.full(y0.shape[0], np.nan)


# ---- stiff: Rosenbrock methods ------------------------------------------------------------

class StiffTableau(NamedTuple):
    """A Rosenbrock method in the form fastode.kernels.rosenbrock.rosenbrock_solve takes
    (``kind`` 0: Hairer form with these arrays, 1: ode23s, whose arrays are unused).

    Examples
    --------
    >>> import fastode.nb as fnb
    >>> tab = fnb.stiff_tableau("Rodas5P")
    >>> isinstance(tab, fnb.StiffTableau), tab.kind
    (True, 0)
    """
    kind: int
    gamma: float
    A: np.ndarray
    C: np.ndarray
    c: np.ndarray
    d: np.ndarray
    B: np.ndarray
    E: np.ndarray
    H: np.ndarray
    error_order: int


def stiff_tableau(method: str = "Rodas5P") -> StiffTableau:
    """The kernel form of a Rosenbrock method (``"Rodas5P"``, ``"Rodas4"``, ``"Rosenbrock23"``
    or an alias) for :func:`solve_stiff`.

    Examples
    --------
    >>> import fastode.nb as fnb
    >>> fnb.stiff_tableau("Rodas4").error_order
    3
    """
    m = method_registry.lookup(method)
    if m.family != "rosenbrock":
        raise ValueError(f"fastode.nb.solve_stiff runs the Rosenbrock methods (Rodas5P, Rodas4, "
                         f"Rosenbrock23); got {method!r} (family {m.family!r}).")
    t = m.tableau
    if m.name == "Rosenbrock23":
        empty_2d, empty_1d = np.zeros((1, 3)), np.zeros(3)
        return StiffTableau(1, float(ROS23_D), empty_2d, empty_2d.copy(), empty_1d,
                            empty_1d.copy(), empty_1d.copy(), empty_1d.copy(), empty_2d.copy(),
                            int(t.error_order))
    return StiffTableau(0, float(t.gamma), t.A.copy(), t.C.copy(), t.c.copy(), t.d.copy(),
                        t.B.copy(), t.E.copy(), t.H.copy(), int(t.error_order))


@njit(cache=True)
def solve_stiff(address, p, t0, t1, y0, rtol, atol, tableau, t_eval, first_step=0.0,
                max_step=np.inf):
    """Integrate a stiff problem from t0 to t1 with a Rosenbrock method; the state at ``t_eval``.

    ``tableau``: :func:`stiff_tableau`; ``rtol``/``atol`` scalars; ``first_step`` 0: automatic.
    The Jacobian is taken by forward differences (n RHS calls per step). Returns
    ``(status, y_out, counters)``: ``y_out`` of shape (len(t_eval), n) (the rows reached
    before a failure), status >= 0 success (fastode.kernels.status), ``counters`` = [nfev,
    naccept, nreject, t_final, njev, nlu].

    Examples
    --------
    >>> import numpy as np, fastode.nb as fnb
    >>> def robertson(t, y):
    ...     return np.array([-0.04 * y[0] + 1e4 * y[1] * y[2],
    ...                      0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2, 3e7 * y[1] ** 2])
    >>> rhs = fnb.compile_rhs(robertson, n=3)
    >>> status, y, counters = fnb.solve_stiff(rhs.address, np.zeros(0), 0.0, 100.0,
    ...                                       np.array([1.0, 0.0, 0.0]), 1e-6, 1e-10,
    ...                                       fnb.stiff_tableau("Rodas5P"), np.array([1.0, 100.0]))
    >>> status >= 0, y.shape, bool(abs(y[-1].sum() - 1.0) < 1e-6)
    (True, (2, 3), True)
    """
    n = y0.shape[0]
    rtol_arr = np.full(n, rtol)
    atol_arr = np.full(n, atol)
    p_arr = p if p.shape[0] > 0 else np.zeros(1)
    no_i = np.zeros(1, dtype=np.int64)
    result = rosenbrock_solve(
        (tableau.kind, tableau.gamma, tableau.A, tableau.C, tableau.c, tableau.d, tableau.B,
         tableau.E, tableau.H, tableau.error_order), address, 0, p_arr, t0, t1, y0,
        (rtol_arr, atol_arr), (np.zeros((1, 1)), False), (first_step, max_step, 0.0, 0),
        (t_eval, True, False), (np.zeros(0, dtype=np.int64), np.zeros(0),
                                np.zeros(0, dtype=np.int64), 1),
        (np.int64(JAC_FD), no_i, no_i, no_i, no_i, np.int64(-1), np.int64(-1), no_i,
         np.int64(0)))
    n_out = result[3]
    return result[0], result[2][:n_out], result[12]


@njit(cache=True)
def solve_stiff_final(address, p, t0, t1, y0, rtol, atol, tableau, first_step=0.0,
                      max_step=np.inf):
    """:func:`solve_stiff` to t1 only: ``(status, y(t1))`` (NaN after a failure).

    Examples
    --------
    >>> import numpy as np, fastode.nb as fnb
    >>> rhs = fnb.compile_rhs(lambda t, y: np.array([-1000.0 * (y[0] - np.cos(t))]), n=1)
    >>> status, y1 = fnb.solve_stiff_final(rhs.address, np.zeros(0), 0.0, 1.0, np.array([0.0]),
    ...                                    1e-8, 1e-10, fnb.stiff_tableau("Rodas5P"))
    >>> bool(abs(y1[0] - np.cos(1.0)) < 1e-3)       # y follows cos t to O(1/1000)
    True
    """
    t_eval = np.array([t1])
    status, y_out, _ = solve_stiff(address, p, t0, t1, y0, rtol, atol, tableau, t_eval,
                                   first_step, max_step)
    if y_out.shape[0] == 1:
        return status, y_out[0].copy()
    return status, np.full(y0.shape[0], np.nan)
