"""Phase portraits of planar systems: streamlines, nullclines, equilibria, trajectories.

matplotlib is the optional ``[plot]`` extra: imported only when a picture is drawn.
"""
import numpy as np

from .newton_kernels import rhs_many
from .system import as_points, compile_system

# equilibrium kind -> (marker, face colour, label): filled = stable, open = unstable
MARKERS = {"stable node": ("o", "k", "stable node"), "stable focus": ("o", "k", "stable focus"),
           "unstable node": ("o", "w", "unstable node"),
           "unstable focus": ("o", "w", "unstable focus"),
           "saddle": ("X", "C3", "saddle"), "centre": ("D", "C2", "centre (linear)"),
           "degenerate": ("s", "C1", "degenerate")}


def _axes(ax):
    """``ax``, or a new Axes (matplotlib imported here, not before)."""
    if ax is not None:
        return ax
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("drawing needs matplotlib: pip install 'fastode[plot]'") from None
    return plt.subplots(figsize=(6, 5))[1]


def _limits(lim, name):
    try:
        lo, hi = (float(v) for v in lim)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a pair of numbers (low, high).") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"`{name}` must be finite with low < high; got {tuple(lim)}.")
    return lo, hi


def phase_portrait(fun, xlim, ylim, args=(), ax=None, n_grid=40, density=1.2,
                   nullclines=True, equilibria=True, trajectories=None, t_span=(0.0, 20.0),
                   n_starts=64, t=0.0, stream_kw=None, traj_kw=None):
    """Draw the phase portrait of the planar system ``fun(t, y, *args)`` (n = 2).

    Parameters
    ----------
    fun : callable
        ``fun(t, y, *args) -> array (2,)`` (compiled as for ``solve_ivp``).
    xlim, ylim : (low, high)
        The window.
    args : tuple
    ax : matplotlib Axes, optional
        Drawn into (default: a new figure).
    n_grid : int
        Grid points per axis of the vector field (streamlines and nullclines).
    density : float
        ``streamplot``'s density.
    nullclines : bool
        Draw f_0 = 0 and f_1 = 0 (zero contours on the grid).
    equilibria : bool
        Find the equilibria in the window (:func:`fastode.analysis.equilibria`, ``n_starts``
        starts) and mark them by kind: filled = stable, open = unstable, X = saddle,
        diamond = centre of the linearisation, square = degenerate.
    trajectories : array_like (m, 2), optional
        Initial states of trajectories drawn over ``t_span`` (``fastode.solve_ensemble``
        without ``args``, ``fastode.solve_ivp`` per start with them; DOP853, rtol 1e-8).
    t_span : (t0, t1)
    stream_kw, traj_kw : dict, optional
        Extra keywords for ``streamplot`` and the trajectories' ``plot``.

    Returns
    -------
    matplotlib Axes
        With ``ax.fastode_equilibria`` (the :func:`equilibria` result or None).

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from fastode.analysis import phase_portrait
    >>> def predator_prey(t, y, a, b, c, d):
    ...     return np.array([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])
    >>> ax = phase_portrait(predator_prey, (0.01, 9), (0.01, 6), args=(1.0, 0.5, 0.75, 0.25),
    ...                     trajectories=[[3.0, 1.0]], n_grid=20)
    >>> ax.fastode_equilibria.kinds
    ['centre']
    """
    x0, x1 = _limits(xlim, "xlim")
    y0, y1 = _limits(ylim, "ylim")
    if isinstance(n_grid, bool) or not isinstance(n_grid, (int, np.integer)) or n_grid < 3:
        raise ValueError(f"`n_grid` must be an int >= 3; got {n_grid!r}.")
    if not isinstance(args, tuple):
        args = (args,)
    xs, ys = np.linspace(x0, x1, n_grid), np.linspace(y0, y1, n_grid)
    X, Y = np.meshgrid(xs, ys)
    grid = np.ascontiguousarray(np.stack([X.ravel(), Y.ravel()], axis=1))
    system = compile_system(fun, grid[len(grid) // 2], args, None, t)
    if system.n != 2:
        raise ValueError(f"phase_portrait draws planar systems; `fun` has {system.n} components.")
    F = np.empty_like(grid)
    rhs_many(system.rhs, system.p, float(t), grid, F)
    system.check_failures()
    U, V = F[:, 0].reshape(X.shape), F[:, 1].reshape(X.shape)
    ax = _axes(ax)
    kw = dict(density=density, color="0.6", linewidth=0.7, arrowsize=0.8)
    kw.update(stream_kw or {})
    ax.streamplot(xs, ys, np.where(np.isfinite(U), U, 0.0), np.where(np.isfinite(V), V, 0.0),
                  **kw)
    if nullclines:
        for Z, colour, label in ((U, "C0", "$\\dot x = 0$"), (V, "C1", "$\\dot y = 0$")):
            if np.nanmin(Z) < 0 < np.nanmax(Z):
                ax.contour(X, Y, Z, levels=[0.0], colors=colour, linewidths=1.2)
                ax.plot([], [], color=colour, label=label)
    eq = None
    if equilibria:
        from .equilibrium import equilibria as find
        eq = find(fun, bounds=[(x0, x1), (y0, y1)], args=args, n_starts=n_starts, t=t)
        for point, kind in zip(eq.points, eq.kinds):
            marker, face, label = MARKERS[kind]
            ax.plot(point[0], point[1], marker, mfc=face, mec="k", ms=8, zorder=5, label=label)
    if trajectories is not None:
        starts = as_points(trajectories, "trajectories", 2)
        t_eval = np.linspace(t_span[0], t_span[1], 600)
        kw = dict(lw=1.3)
        kw.update(traj_kw or {})
        for k, path in enumerate(_trajectories(fun, args, starts, t_span, t_eval)):
            ax.plot(path[0], path[1], color=kw.pop("color", None) or f"C{(k + 2) % 10}", **kw)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    handles, labels = ax.get_legend_handles_labels()
    if labels:
        uniq = dict(zip(labels, handles))
        ax.legend(uniq.values(), uniq.keys(), fontsize=8, loc="upper right")
    ax.fastode_equilibria = eq
    return ax


def _trajectories(fun, args, starts, t_span, t_eval):
    """(2, n_t) paths from each start: solve_ensemble (all at once) when ``fun`` takes no
    ``args`` (its ``params`` are one array per trajectory), solve_ivp per start otherwise."""
    if not args:
        from ..ensemble import solve_ensemble
        res = solve_ensemble(fun, tuple(t_span), starts, t_eval=t_eval, method="DOP853",
                             rtol=1e-8, atol=1e-10)
        return [res.y[i] for i in range(len(starts))]
    from ..ivp import solve_ivp
    return [solve_ivp(fun, tuple(t_span), s, t_eval=t_eval, args=args, method="DOP853",
                      rtol=1e-8, atol=1e-10).y for s in starts]
