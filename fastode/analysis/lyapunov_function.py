"""Checking a Lyapunov function candidate: the sign of dV/dt = grad V . f."""
import numpy as np
from scipy.optimize import OptimizeResult

from .newton_kernels import rhs_many
from .system import as_bounds, as_points, compile_system


def _grid(box, n_grid):
    axes = [np.linspace(lo, hi, n_grid) for lo, hi in box]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1)


def _points_of(trajectories, n):
    """Rows of states from OdeResults (``.y`` (n, m)), EnsembleResults (``.y`` (k, n, m)) or
    arrays (m, n)."""
    if hasattr(trajectories, "y"):
        trajectories = [trajectories]
    rows = []
    for tr in trajectories:
        y = np.asarray(tr.y if hasattr(tr, "y") else tr, dtype=float)
        if y.ndim == 3:          # an EnsembleResult: (n_traj, n, n_t)
            y = np.moveaxis(y, 1, 2).reshape(-1, y.shape[1])
        elif hasattr(tr, "y"):   # an OdeResult: (n, n_t)
            y = y.T
        rows.append(as_points(y[np.isfinite(y).all(axis=-1)] if y.ndim == 2 else y,
                              "trajectories", n))
    return np.vstack(rows)


def lyapunov_check(V, fun, region=None, trajectories=None, args=(), grad=None, n_grid=41,
                   equilibrium=None, exclude=1e-6, tol=0.0, t=0.0):
    """Check a Lyapunov function candidate ``V`` for ``fun``: the sign of dV/dt = grad V . f.

    Parameters
    ----------
    V : callable
        ``V(y) -> float``.
    fun : callable
        ``fun(t, y, *args) -> array (n,)`` (compiled as for ``solve_ivp``).
    region : sequence of (low, high), optional
        A box sampled on a grid of ``n_grid`` points per component.
    trajectories : OdeResult, EnsembleResult, array (m, n) or a list of them, optional
        States to check instead of (or besides) the grid, e.g. ``solve_ivp`` results.
    args : tuple
        Extra arguments of ``fun``.
    grad : callable, optional
        ``grad(y) -> array (n,)``, the gradient of V; default central differences.
    equilibrium : array_like (n,), optional
        Points within ``exclude`` (max-norm, relative to ``1 + |y|``) of it are not judged (dV/dt
        vanishes there).
    tol : float
        dV/dt <= tol counts as non-increasing, dV/dt < -tol as decreasing.

    Returns
    -------
    OptimizeResult
        ``points`` (m, n), ``vdot`` (m,), ``decreasing`` (bool: dV/dt < -tol at every judged
        point: V is a strict Lyapunov function there), ``non_increasing`` (dV/dt <= tol
        everywhere), ``violations`` (the points where dV/dt > tol), ``max_vdot`` and
        ``worst`` (the point of the largest dV/dt).

    Examples
    --------
    ``V = |y|^2`` for the damped oscillator: ``dV/dt = -2 b v^2 <= 0``.

    >>> import numpy as np
    >>> from fastode.analysis import lyapunov_check
    >>> def oscillator(t, y, b):
    ...     return np.array([y[1], -y[0] - b * y[1]])
    >>> res = lyapunov_check(lambda y: y[0] ** 2 + y[1] ** 2, oscillator,
    ...                      region=[(-1, 1), (-1, 1)], args=(0.5,), tol=1e-9)
    >>> res.non_increasing, res.decreasing                # zero wherever v = 0
    (True, False)
    """
    if not callable(V):
        raise TypeError("`V` must be callable as V(y) -> float.")
    if region is None and trajectories is None:
        raise ValueError("give `region` (a box to sample) or `trajectories`, or both.")
    if isinstance(n_grid, bool) or not isinstance(n_grid, (int, np.integer)) or n_grid < 2:
        raise ValueError(f"`n_grid` must be an int >= 2; got {n_grid!r}.")
    if not isinstance(args, tuple):
        args = (args,)
    parts = []
    n = None
    if region is not None:
        box = as_bounds(region)
        n = box.shape[0]
        if n_grid ** n > 2_000_000:
            raise ValueError(f"`n_grid` ** n = {n_grid ** n} grid points is too many; lower "
                             "`n_grid` or pass `trajectories`.")
        parts.append(_grid(box, int(n_grid)))
    if trajectories is not None:
        parts.append(_points_of(trajectories, n))
    points = np.ascontiguousarray(np.vstack(parts))
    n = points.shape[1]
    system = compile_system(fun, points[0], args, None, t)
    f = np.empty_like(points)
    rhs_many(system.rhs, system.p, float(t), points, f)
    system.check_failures()
    g = np.empty_like(points)
    for i, y in enumerate(points):
        if grad is not None:
            gi = np.asarray(grad(y), dtype=float).ravel()
            if gi.shape != (n,):
                raise ValueError(f"`grad` must return an array of shape ({n},); got {gi.shape}.")
            g[i] = gi
        else:
            h = 6.055454452393343e-06 * np.maximum(1.0, np.abs(y))
            for j in range(n):
                e = np.zeros(n)
                e[j] = h[j]
                g[i, j] = (float(V(y + e)) - float(V(y - e))) / (2.0 * h[j])
    vdot = np.einsum("ij,ij->i", g, f)
    judged = np.isfinite(vdot)
    if equilibrium is not None:
        eq = np.asarray(equilibrium, dtype=float).ravel()
        if eq.shape != (n,):
            raise ValueError(f"`equilibrium` must have shape ({n},); got {eq.shape}.")
        judged &= ~np.all(np.abs(points - eq) <= exclude * (1.0 + np.abs(eq)), axis=1)
    bad = judged & (vdot > tol)
    worst = int(np.nanargmax(np.where(judged, vdot, -np.inf))) if judged.any() else None
    return OptimizeResult(points=points, vdot=vdot,
                          decreasing=bool(np.all(vdot[judged] < -tol)),
                          non_increasing=bool(not bad.any()), violations=points[bad],
                          max_vdot=float(vdot[worst]) if worst is not None else np.nan,
                          worst=points[worst] if worst is not None else None)
