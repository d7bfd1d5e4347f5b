"""Lyapunov exponents by Benettin's method (fastode.analysis.lyapunov_kernels)."""
import math

import numpy as np
from scipy.optimize import OptimizeResult

from ..kernels.status import SUCCESS
from .lyapunov_kernels import benettin_rk4
from .system import as_state, compile_system


class LyapunovResult(OptimizeResult):
    """Result of :func:`lyapunov_exponents` (a dict with attribute access).

    Attributes
    ----------
    exponents : ndarray (k,)
        The exponents, largest first (in the order of the Gram-Schmidt vectors).
    history_t : ndarray (m,)
        Times (since the end of the transient) of the running estimates.
    history : ndarray (m, k)
        The running estimates (convergence history).
    y : ndarray (n,)
        The final state.
    success : bool
    message : str

    Examples
    --------
    A linear system's exponents are the real parts of its eigenvalues:

    >>> import numpy as np
    >>> from fastode.analysis import lyapunov_exponents
    >>> res = lyapunov_exponents(lambda t, y: np.array([-1.0 * y[0], -3.0 * y[1]]), [1.0, 1.0],
    ...                          (0.0, 5.0))
    >>> np.round(res.exponents, 6).tolist(), res.success
    ([-1.0, -3.0], True)
    """


def lyapunov_exponents(fun, y0, t_span, k=None, jac=None, args=(), dt=0.01, dt_renorm=None,
                       transient=0.0):
    """Lyapunov exponents of ``fun(t, y, *args)`` along the orbit from ``y0`` (Benettin).

    The state and ``k`` tangent vectors (the variational equations dQ/dt = J(t, y) Q) are
    integrated together by the classical fourth-order Runge-Kutta method with the fixed step
    ``dt``, in one compiled kernel; every ``dt_renorm`` the vectors are re-orthonormalised
    (modified Gram-Schmidt QR) and the logarithms of the stretching factors summed. The
    exponents are those sums divided by the time averaged over.

    Parameters
    ----------
    fun : callable
        ``fun(t, y, *args) -> array (n,)``, as for ``solve_ivp``.
    y0 : array_like (n,)
    t_span : (t0, t1)
        The exponents average over ``[t0 + transient, t1]``.
    k : int, optional
        How many exponents (the k largest); default all n.
    jac : callable or array_like, optional
        ``jac(t, y, *args) -> (n, n)``; default forward differences (n extra calls of ``fun``
        per stage).
    args : tuple
    dt : float
        The RK4 step. It must resolve the dynamics: the result is that of the RK4 map, whose
        exponents differ from the flow's by O(dt^4).
    dt_renorm : float, optional
        Time between re-orthonormalisations, a multiple of ``dt`` (rounded); default 10 dt.
    transient : float
        Time integrated (state only) before averaging starts, to reach the attractor.

    Returns
    -------
    LyapunovResult
        ``exponents`` (k,), ``history_t``, ``history`` (the running estimates), ``y`` (the final
        state), ``success`` and ``message``.

    Examples
    --------
    >>> def lorenz(t, y, s, r, b):
    ...     return np.array([s * (y[1] - y[0]), y[0] * (r - y[2]) - y[1], y[0] * y[1] - b * y[2]])
    >>> res = lyapunov_exponents(lorenz, [1.0, 1.0, 1.0], (0, 1000), args=(10.0, 28.0, 8 / 3))
    >>> bool(abs(res.exponents[0] - 0.906) < 0.03)    # about [0.906, 0, -14.57]
    True
    >>> round(float(res.exponents.sum()), 2)           # the divergence -(s + 1 + b)
    -13.67
    """
    y = as_state(y0, "y0").copy()  # the kernel overwrites it with the final state
    n = y.size
    try:
        t0, t1 = (float(v) for v in t_span)
    except (TypeError, ValueError):
        raise ValueError("`t_span` must be a pair of numbers (t0, t1).") from None
    if not (math.isfinite(t0) and math.isfinite(t1) and t1 > t0):
        raise ValueError(f"`t_span` must be finite with t1 > t0; got {tuple(t_span)}.")
    if k is None:
        k = n
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise ValueError(f"`k` must be an int in 1..{n}; got {k!r}.")
    dt = float(dt)
    if not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"`dt` must be a positive number; got {dt!r}.")
    transient = float(transient)
    if not (math.isfinite(transient) and 0.0 <= transient < t1 - t0):
        raise ValueError(f"`transient` must be in [0, t1 - t0); got {transient!r}.")
    per = 10 if dt_renorm is None else int(round(float(dt_renorm) / dt))
    if per < 1:
        raise ValueError(f"`dt_renorm` must be at least `dt`; got {dt_renorm!r}.")
    n_transient = int(round(transient / dt))
    n_renorm = int(round((t1 - t0 - transient) / dt)) // per
    if n_renorm < 1:
        raise ValueError("`t_span` minus `transient` is shorter than one `dt_renorm`.")
    if not isinstance(args, tuple):
        args = (args,)
    system = compile_system(fun, y, args, jac, t0)
    history = np.full((n_renorm, int(k)), np.nan)
    status, done, sums = benettin_rk4(system.rhs, system.jac, system.use_jac, system.p, t0, y,
                                      int(k), dt, n_transient, n_renorm, per, history)
    system.check_failures()
    history_t = (np.arange(1, n_renorm + 1) * per) * dt
    ok = status == SUCCESS
    message = ("The exponents converged over the whole span." if ok else
               f"The orbit or a tangent vector became non-finite after {done} of {n_renorm} "
               "re-orthonormalisations; the estimates are those up to then.")
    exponents = history[done - 1].copy() if done else np.full(int(k), np.nan)
    return LyapunovResult(exponents=exponents, history_t=history_t[:done],
                          history=history[:done], y=y, success=ok, message=message,
                          status=int(status))
