"""Plots of results: solutions against t, phase plots, work-precision diagrams (matplotlib).

matplotlib is the optional ``plot`` extra (``pip install fastode[plot]``); it is imported when a
function here draws, not when fastode or this module is imported. Every function draws into
``ax`` (a new figure's axes when None) and returns the Axes. The lines hold the result's own
numbers (no resampling), so what is drawn is what was computed.

Results accepted: ``OdeResult`` from ``fastode.solve_ivp`` (``y`` of shape (n, n_t)), and the
stacked results of ``solve_ensemble`` (``save="trajectory"`` or an observable: ``y`` of shape
(n_traj, n, n_t)) and ``solve_sde`` (``y`` of shape (n_paths, n, n_t), or (n_sets, n_paths, n,
n_t): the sets' paths one after another), drawn one line per trajectory.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["solution", "phase", "work_precision"]


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # the optional dependency, on first use
    return plt.subplots()[1]


def _stacked(result: Any) -> tuple[npt.NDArray[np.float64], npt.NDArray[Any]]:
    """``(t, y)`` with y of shape (n_trajectories, n, n_t) for any accepted result."""
    t = np.asarray(result.t, dtype=float)
    y = np.asarray(result.y)
    if getattr(result, "save", None) == "final":
        raise ValueError("an ensemble saved with save='final' holds one state per trajectory, "
                         "no trajectories to draw (solve it with t_eval and save='trajectory')")
    if y.ndim == 2 and y.shape[1] == t.size:
        y = y[None]                                  # one trajectory (solve_ivp)
    elif y.ndim == 4:
        y = y.reshape(-1, *y.shape[2:])              # solve_sde parameter sets x paths
    if y.ndim != 3 or y.shape[2] != t.size:
        raise ValueError(
            f"cannot draw y of shape {np.shape(result.y)} against t of shape {t.shape}: "
            "expected (n, n_t), (n_traj, n, n_t) or (n_sets, n_paths, n, n_t)")
    return t, y


def _select(count: int, which: int | Sequence[int] | None, what: str) -> list[int]:
    if which is None:
        return list(range(count))
    chosen = [which] if isinstance(which, (int, np.integer)) else list(which)
    for k in chosen:
        if not -count <= k < count:
            raise IndexError(f"{what} {k} out of range for {count}")
    return [int(k) % count for k in chosen]


def solution(result: Any, components: int | Sequence[int] | None = None, *,
             paths: int | Sequence[int] | None = None, ax: Axes | None = None,
             labels: Sequence[str] | None = None, **line_kwargs: Any) -> Axes:
    """Draw the solution's components against t.

    Parameters
    ----------
    result : OdeResult, EnsembleResult or SdeResult
        A result with ``t`` and ``y`` (see the module docstring for the shapes accepted).
    components : int or sequence of int, optional
        Which components of the state (rows of ``y``); all by default.
    paths : int or sequence of int, optional
        For an ensemble or SDE result, which trajectories; all by default.
    ax : matplotlib Axes, optional
        Where to draw; a new figure's axes by default.
    labels : sequence of str, optional
        One legend label per component (default ``y[i]``). Labels are given to the first
        trajectory's lines only.
    **line_kwargs
        Passed to ``Axes.plot`` (e.g. ``lw``, ``alpha``); by default a component keeps one colour
        across trajectories.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn into: one line per (trajectory, component), x = ``result.t``,
        y = ``result.y`` as stored.

    Examples
    --------
    >>> import fastode, fastode.plot
    >>> sol = fastode.solve_ivp(lambda t, y: [y[1], -y[0]], (0.0, 6.0), [1.0, 0.0], rtol=1e-8)
    >>> ax = fastode.plot.solution(sol, labels=["x", "v"])
    >>> len(ax.lines)
    2
    """
    t, y = _stacked(result)
    comps = _select(y.shape[1], components, "component")
    rows = _select(y.shape[0], paths, "path")
    if labels is not None and len(labels) != len(comps):
        raise ValueError(f"{len(labels)} labels for {len(comps)} components")
    ax = _axes(ax)
    for k, row in enumerate(rows):
        for c, i in enumerate(comps):
            kwargs = dict(line_kwargs)
            if "color" not in kwargs and "c" not in kwargs:
                kwargs["color"] = f"C{c % 10}"
            if k == 0:
                kwargs.setdefault("label", labels[c] if labels is not None else f"y[{i}]")
            ax.plot(t, y[row, i], **kwargs)
    ax.set_xlabel("t")
    if len(comps) > 1 or labels is not None:
        ax.legend()
    return ax


def phase(result: Any, i: int = 0, j: int = 1, *, paths: int | Sequence[int] | None = None,
          ax: Axes | None = None, mark_start: bool = True, **line_kwargs: Any) -> Axes:
    """Draw a phase plot: component ``j`` against component ``i``.

    Parameters
    ----------
    result : OdeResult, EnsembleResult or SdeResult
        A result with ``t`` and ``y`` (see the module docstring for the shapes accepted).
    i, j : int, optional
        The components on the x and y axes (default 0 and 1).
    paths : int or sequence of int, optional
        For an ensemble or SDE result, which trajectories; all by default.
    ax : matplotlib Axes, optional
        Where to draw; a new figure's axes by default.
    mark_start : bool, optional
        Mark each trajectory's first point with a dot (a separate ``Line2D`` after the lines).
    **line_kwargs
        Passed to ``Axes.plot``.

    Returns
    -------
    matplotlib.axes.Axes
        The axes: first one line per trajectory, x = ``y[i]``, y = ``y[j]`` as stored, then (with
        ``mark_start``) one marker line of the start points.

    Examples
    --------
    >>> import fastode, fastode.plot
    >>> def vdp(t, y):
    ...     return [y[1], 2.0 * (1 - y[0] ** 2) * y[1] - y[0]]
    >>> sol = fastode.solve_ivp(vdp, (0.0, 20.0), [2.0, 0.0], rtol=1e-6)
    >>> ax = fastode.plot.phase(sol)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('y[0]', 'y[1]')
    """
    t, y = _stacked(result)
    i, j = _select(y.shape[1], [i, j], "component")
    rows = _select(y.shape[0], paths, "path")
    ax = _axes(ax)
    kwargs = dict(line_kwargs)
    if len(rows) > 1 and "color" not in kwargs and "c" not in kwargs:
        kwargs["color"] = "C0"
    for row in rows:
        ax.plot(y[row, i], y[row, j], **kwargs)
    if mark_start:
        ax.plot(y[rows, i, 0], y[rows, j, 0], ls="none", marker="o", color="k", ms=4,
                label="start")
    ax.set_xlabel(f"y[{i}]")
    ax.set_ylabel(f"y[{j}]")
    return ax


def _error(result: Any, reference: npt.NDArray[Any]) -> float:
    """max |y(t_end) - ref| / max |ref| (the benchmarks' error measure)."""
    end = np.asarray(result.y)[..., -1]
    return float(np.max(np.abs(end - reference)) / np.max(np.abs(reference)))


def _points(rows: Sequence[Any], work: str, reference: npt.NDArray[Any] | None
            ) -> tuple[list[float], list[float]]:
    """(work, error) of each row: an OdeResult, a mapping, or a bench row tuple."""
    xs: list[float] = []
    es: list[float] = []
    for row in rows:
        if hasattr(row, "y") and hasattr(row, "nfev"):
            if reference is None:
                raise ValueError("results need `reference`, the exact state at t_end")
            if work != "nfev":
                raise ValueError("a result carries no time: use work='nfev', or pass rows "
                                 "with a 'time'")
            x, e = float(row.nfev), _error(row, reference)
        elif isinstance(row, Mapping):
            x, e = float(row[work]), float(row["error"])
        else:   # bench/work_precision.py's rows: (rtol, seconds, error, nfev)
            _, seconds, err, nfev = row
            x, e = float(seconds if work == "time" else nfev), float(err)
        if math.isfinite(x) and math.isfinite(e):
            xs.append(x)
            es.append(e)
    return xs, es


def work_precision(results_or_data: Mapping[str, Sequence[Any]],
                   reference: npt.ArrayLike | None = None, *, work: str | None = None,
                   ax: Axes | None = None, styles: Mapping[str, Mapping[str, Any]] | None = None
                   ) -> Axes:
    """Draw a work-precision diagram: the work of each solve against its error, log-log.

    Parameters
    ----------
    results_or_data : mapping of str to sequence
        One line per key (its legend label), one point per entry, in the given order
        (typically tolerances from loose to tight). An entry is

        * an ``OdeResult`` (or any result with ``y`` and ``nfev``): error
          ``max|y(t_end) - reference| / max|reference|``, work ``nfev``;
        * a mapping with ``"error"`` and the work (``"time"`` or ``"nfev"``);
        * a tuple ``(rtol, seconds, error, nfev)``, a row of ``bench/work_precision.py``'s JSON.

        Points whose work or error is not finite are left out.
    reference : array_like, optional
        The exact (or a much more accurate) state at ``t_end``; needed for results.
    work : {"time", "nfev"}, optional
        The x axis: seconds per solve or right-hand-side evaluations. Default ``"nfev"`` when the
        first entry is a result, else ``"time"``.
    ax : matplotlib Axes, optional
        Where to draw; a new figure's axes by default.
    styles : mapping of str to dict, optional
        ``Axes.plot`` keywords per label (e.g. ``{"RK45": {"color": "C0", "ls": "--"}}``).

    Returns
    -------
    matplotlib.axes.Axes
        The axes, log-log, one line per label (x = work, y = error) in the mapping's order.

    Examples
    --------
    >>> import numpy as np, fastode, fastode.plot
    >>> exact = np.exp(-5.0)
    >>> runs = {m: [fastode.solve_ivp(lambda t, y: -y, (0.0, 5.0), [1.0], method=m,
    ...                               rtol=rtol, atol=rtol * 1e-3)
    ...             for rtol in (1e-4, 1e-6, 1e-8)] for m in ("RK45", "DOP853")}
    >>> ax = fastode.plot.work_precision(runs, reference=[exact])
    >>> [line.get_label() for line in ax.lines]
    ['RK45', 'DOP853']
    """
    ref = None if reference is None else np.asarray(reference)
    if work is None:
        first = next((rows[0] for rows in results_or_data.values() if len(rows)), None)
        work = "nfev" if hasattr(first, "nfev") and hasattr(first, "y") else "time"
    if work not in ("time", "nfev"):
        raise ValueError(f"`work` must be 'time' or 'nfev'; got {work!r}")
    ax = _axes(ax)
    for label, rows in results_or_data.items():
        xs, es = _points(rows, work, ref)
        style = dict((styles or {}).get(label, {}))
        style.setdefault("marker", "o")
        ax.loglog(xs, es, label=label, **style)
    ax.set_xlabel("time per solve [s]" if work == "time" else "right-hand-side evaluations")
    ax.set_ylabel("relative error at t_end")
    ax.grid(True, which="major", alpha=0.35)
    ax.legend()
    return ax
