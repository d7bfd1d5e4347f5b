"""Brute-force bifurcation diagrams: one trajectory per parameter value through
``fastode.solve_ensemble`` (compiled, in parallel), the attractor's maxima (or minima, or final
state) of one component after a transient."""
import numpy as np
from scipy.optimize import OptimizeResult

from .system import as_state


class BifurcationDiagram(OptimizeResult):
    """Result of :func:`bifurcation_diagram` (a dict with attribute access).

    Attributes
    ----------
    values : ndarray (m,)
        The parameter values.
    points : list of m ndarrays
        The observed values (e.g. the maxima) for each parameter value (empty where the
        trajectory failed or had none).
    param, observed : ndarray
        The same flattened into pairs, for a scatter plot.
    success : ndarray (m,) bool
        Whether each trajectory reached the end.
    ensemble : EnsembleResult
        The sweep itself (samples after the transient).

    Examples
    --------
    >>> import numpy as np
    >>> from fastode.analysis import bifurcation_diagram
    >>> def oscillator(t, y, p):
    ...     return np.array([y[1], -y[0]])
    >>> d = bifurcation_diagram(oscillator, [1.0, 0.0], 0, [0.0, 1.0], params=[0.0],
    ...                         transient=1.0, record=20.0)
    >>> bool(np.allclose(d.points, 1.0, atol=1e-4))        # the maxima of x: the amplitude
    True
    """

    def plot(self, ax=None, **kwargs):
        """Scatter the observed values against the parameter; returns the Axes."""
        from .portrait import _axes
        ax = _axes(ax)
        kw = dict(s=0.3, c="k", marker=".", linewidths=0)
        kw.update(kwargs)
        ax.scatter(self.param, self.observed, **kw)
        return ax


def local_extrema(samples, maxima=True):
    """Interior local maxima (or minima) of each row of ``samples`` (m, n_t), refined by the
    parabola through the three samples around each; returns a list of m arrays."""
    s = np.asarray(samples, dtype=float)
    if not maxima:
        s = -s
    a, b, c = s[:, :-2], s[:, 1:-1], s[:, 2:]
    peak = (b > a) & (b >= c) & np.isfinite(a) & np.isfinite(c)
    curv = a - 2.0 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        refined = np.where(curv < 0, b - (c - a) ** 2 / (8.0 * curv), b)
    out = []
    for row in range(s.shape[0]):
        v = refined[row][peak[row]]
        out.append(v if maxima else -v)
    return out


def bifurcation_diagram(fun, y0, param_index, values, params=None, transient=200.0,
                        record=100.0, observable="maxima", component=0, sample_dt=0.05,
                        method="RK45", rtol=1e-6, atol=1e-9, n_threads=None, ax=None,
                        plot=False, param_names=None):
    """Sweep one parameter and record the attractor: a brute-force bifurcation diagram.

    Parameters
    ----------
    fun : callable
        ``fun(t, y, p) -> array (n,)`` with ``p`` a float64 parameter array, as for
        ``fastode.solve_ensemble``.
    y0 : array_like (n,) or (m, n)
        The initial state (for every value, or one per value).
    param_index : int or str
        Which entry of ``p`` is swept: its index, or its name in ``param_names``.
    values : array_like (m,)
        The values of ``p[param_index]``.
    params : array_like (n_params,), optional
        The other entries of ``p`` (default: only the swept one, ``n_params`` =
        ``param_index + 1`` with zeros before it).
    transient, record : float
        Integrate over ``[0, transient]`` unrecorded, then sample ``record`` time units.
    observable : "maxima", "minima" or "final"
        The local maxima (minima) of ``y[component]`` over the record (parabola-refined between
        samples ``sample_dt`` apart), or its final value (one point per value).
    component : int
    sample_dt : float
    method, rtol, atol, n_threads :
        As for ``fastode.solve_ensemble``.
    ax, plot :
        With ``plot`` (or an ``ax``), the diagram is drawn too (matplotlib).
    param_names : sequence of str, optional
        Names of the entries of ``p``, so that ``param_index`` can name one
        (``bifurcation_diagram(rossler, y0, "c", values, params=[0.2, 0.2, 0.0],
        param_names=["a", "b", "c"])``).

    Returns
    -------
    BifurcationDiagram

    Examples
    --------
    The logistic-growth equilibrium ``y* = p[0]`` (``observable="final"``: one point per value):

    >>> import numpy as np
    >>> from fastode.analysis import bifurcation_diagram
    >>> def logistic(t, y, p):
    ...     return np.array([y[0] * (1.0 - y[0] / p[0])])
    >>> d = bifurcation_diagram(logistic, [0.1], 0, [1.0, 2.0, 3.0], transient=50.0,
    ...                         record=1.0, observable="final")
    >>> np.round(d.points, 4).ravel().tolist()
    [1.0, 2.0, 3.0]
    """
    values = np.asarray(values, dtype=float).ravel()
    if values.size == 0 or not np.isfinite(values).all():
        raise ValueError("`values` must be a non-empty array of finite numbers.")
    if isinstance(param_index, str):
        names = list(param_names) if param_names is not None else []
        if param_index not in names:
            raise ValueError(f"`param_index` = {param_index!r} is not one of `param_names` "
                             f"({names}).")
        param_index = names.index(param_index)
    if isinstance(param_index, bool) or not isinstance(param_index, (int, np.integer)) \
            or param_index < 0:
        raise TypeError("`param_index` must be a non-negative int (an index of `p`) or a name "
                        "in `param_names`.")
    if param_names is not None and params is not None \
            and len(list(param_names)) != np.asarray(params).size:
        raise ValueError("`param_names` must name every entry of `params`.")
    if params is None:
        base = np.zeros(param_index + 1)
    else:
        base = as_state(params, "params")
        if param_index >= base.size:
            raise ValueError(f"`param_index` = {param_index} is outside `params` "
                             f"(length {base.size}).")
    if observable not in ("maxima", "minima", "final"):
        raise ValueError(f"`observable` must be 'maxima', 'minima' or 'final'; got {observable!r}.")
    transient, record, sample_dt = float(transient), float(record), float(sample_dt)
    if not (transient >= 0 and record > 0 and 0 < sample_dt <= record):
        raise ValueError("need `transient` >= 0, `record` > 0 and 0 < `sample_dt` <= `record`.")
    y0 = np.asarray(y0, dtype=float)
    n = y0.shape[-1]
    if not 0 <= component < n:
        raise ValueError(f"`component` must be in 0..{n - 1}; got {component!r}.")
    P = np.repeat(base[None, :], values.size, axis=0)
    P[:, param_index] = values
    t1 = transient + record
    n_t = int(round(record / sample_dt)) + 1
    t_eval = np.linspace(transient, t1, n_t)
    from ..ensemble import solve_ensemble
    res = solve_ensemble(fun, (0.0, t1), y0, params=P, t_eval=t_eval, method=method,
                         rtol=rtol, atol=atol, n_threads=n_threads)
    samples = res.y[:, component, :]
    if observable == "final":
        points = [row[-1:] if np.isfinite(row[-1]) else row[:0] for row in samples]
    else:
        points = local_extrema(samples, observable == "maxima")
    param = np.concatenate([np.full(len(p), v) for p, v in zip(points, values)])
    observed = np.concatenate(points) if points else np.empty(0)
    out = BifurcationDiagram(values=values, points=points, param=param, observed=observed,
                             success=np.asarray(res.success), ensemble=res)
    if plot or ax is not None:
        out.plot(ax)
    return out
