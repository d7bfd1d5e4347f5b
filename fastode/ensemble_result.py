"""The result of ``solve_ensemble``: :class:`EnsembleResult` built from the kernels' arrays
(per-trajectory status and messages, the failure summary, the events)."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
import numpy.typing as npt
from scipy.optimize import OptimizeResult

from .ensemble_input import _F64
from .kernels import status as st
from .results import MESSAGES, MIN_STEP_MESSAGE


class EnsembleResult(OptimizeResult):  # type: ignore[misc]  # scipy has no type information
    """Result of :func:`solve_ensemble` (a dict with attribute access, like ``OdeResult``).

    Attributes
    ----------
    t : ndarray, shape (n_t,)
        Output times: ``t_eval``, or ``[t_bound]`` when ``t_eval`` is None or ``save="final"``.
    y : ndarray
        ``save="trajectory"``: shape (n_traj, n, n_t), the states at ``t`` (NaN at times a
        trajectory did not reach: after a failure or a terminal event). ``save="final"``: shape
        (n_traj, n), the last state reached (y(t_bound) for a trajectory that reached the end,
        the state at the event for one a terminal event stopped). ``save=observe``: shape
        (n_traj, n_obs, n_t), ``observe(t, y, p)`` at each output time (NaN where not reached).
    status : ndarray of int, shape (n_traj,)
        scipy's status per trajectory: 0 reached the end, 1 a terminal event stopped it,
        -1 failed.
    status_code : ndarray of int, shape (n_traj,)
        fastode's kernel status (fastode.kernels.status): 1 terminal event, -1 step too small,
        -2 max_steps, -3 non-finite values, -4 singular iteration matrix, -5 Newton failed,
        -6 an event function returned NaN.
    success : ndarray of bool, shape (n_traj,)
    t_final : ndarray, shape (n_traj,)
        The time each trajectory reached (t_bound on success, the event time after a terminal
        event).
    nfev, naccept, nreject : ndarray of int, shape (n_traj,)
    t_events : ndarray, shape (n_traj, n_events, max_events), or None
        With ``events``: the times of the first ``max_events`` occurrences of each event per
        trajectory, NaN-padded. None without events.
    y_events : ndarray, shape (n_traj, n_events, max_events, n), or None
        The states at those times (NaN-padded).
    n_events : ndarray of int, shape (n_traj, n_events), or None
        How many times each event occurred (also those beyond ``max_events``).
    message : str
        One-line summary (how many succeeded; failure kinds and counts; event overflows).
    messages : ndarray of str (object), shape (n_traj,)
        scipy's message of each trajectory.
    failures : dict
        ``{"count": int, "indices": int array, "by_message": {message: count}}``.
    save : str
        ``"trajectory"``, ``"final"`` or ``"observe"``.

    Examples
    --------
    >>> import numpy as np, fastode
    >>> def decay(t, y, p):
    ...     return -p[0] * y
    >>> res = fastode.solve_ensemble(decay, (0.0, 1.0), [1.0], params=[[1.0], [2.0], [3.0]],
    ...                              t_eval=[0.5, 1.0])
    >>> res.y.shape, bool(res.success.all()), res.status.tolist()
    ((3, 1, 2), True, [0, 0, 0])
    """

    def __repr__(self) -> str:
        n = len(self.get("status", ()))
        return (f"EnsembleResult({n} trajectories, save={self.get('save')!r}, "
                f"y{tuple(np.shape(self.get('y')))}: {self.get('message')})")


def _message(code: int, t_final: float, options: dict[str, Any]) -> str:
    text = MESSAGES.get(int(code), f"Integration failed (status {int(code)}) near t={{t}}.")
    if code == st.STEP_TOO_SMALL and options.get("min_step", 0.0) > 0:
        text = MIN_STEP_MESSAGE.format(min_step=options["min_step"])
    return text.format(max_steps=options.get("max_steps") or 0, t=float(t_final))


class _Events:
    """The event outputs of a sweep (None when it has no events)."""

    def __init__(self, t: _F64, y: _F64, count: npt.NDArray[np.int64]) -> None:
        self.t, self.y, self.count = t, y, count


def _build_result(t: _F64, y: _F64, status_code: npt.NDArray[np.int64], counters: _F64, save: str,
                  options: dict[str, Any], extra_failure: str | None = None,
                  events: Optional[_Events] = None) -> EnsembleResult:
    n_traj = status_code.shape[0]
    status = np.where(status_code >= 0, status_code, -1).astype(np.int64)
    success = status_code >= 0
    t_final = counters[:, 3].copy()
    failed = np.flatnonzero(~success)
    terminated = int(np.count_nonzero(status_code == st.TERMINATED))
    messages = np.empty(n_traj, dtype=object)
    messages[success] = MESSAGES[st.SUCCESS]
    messages[status_code == st.TERMINATED] = MESSAGES[st.TERMINATED]
    by_message: dict[str, int] = {}
    for i in failed:
        m = _message(status_code[i], t_final[i], options)
        messages[i] = m
        generic = _message(status_code[i], np.nan, options).replace(" near t=nan", "")
        by_message[generic] = by_message.get(generic, 0) + 1
    stopped = (f"; {terminated} stopped at a terminal event" if terminated else "")
    if failed.size == 0 and not terminated:
        summary = (f"All {n_traj} trajectories reached the end of the integration interval."
                   if n_traj != 1 else MESSAGES[st.SUCCESS])
    elif failed.size == 0:
        summary = (f"{n_traj - terminated} of {n_traj} trajectories reached the end of the "
                   f"integration interval{stopped}.")
    else:
        kinds = "; ".join(f"{c} x {m.rstrip('.')}" for m, c in by_message.items())
        shown = ", ".join(str(i) for i in failed[:10]) + (", ..." if failed.size > 10 else "")
        summary = (f"{n_traj - failed.size - terminated} of {n_traj} trajectories reached the "
                   f"end{stopped}; {failed.size} failed ({kinds}). Failed trajectories: "
                   f"[{shown}].")
    if events is not None and events.count.size:
        max_events = events.t.shape[2]
        over = int(np.count_nonzero((events.count > max_events).any(axis=1)))
        if over:
            summary += (f" {over} trajector{'y' if over == 1 else 'ies'} had more than "
                        f"max_events={max_events} occurrences of an event: the first {max_events}"
                        " of each are kept (n_events has the full counts).")
    if extra_failure:
        summary += " " + extra_failure
    failures = {"count": int(failed.size), "indices": failed, "by_message": by_message}
    return EnsembleResult(t=t, y=y, status=status, status_code=status_code.astype(np.int64),
                          success=success, t_final=t_final,
                          nfev=counters[:, 0].astype(np.int64),
                          naccept=counters[:, 1].astype(np.int64),
                          nreject=counters[:, 2].astype(np.int64),
                          t_events=events.t if events is not None else None,
                          y_events=events.y if events is not None else None,
                          n_events=events.count if events is not None else None,
                          message=summary, messages=messages, failures=failures, save=save)


def _finish(arrays: dict[str, Any], t_out: _F64, save: str, options: dict[str, Any],
            trajectory_without_t_eval: bool, t1: float, has_events: bool) -> EnsembleResult:
    """The result from the assembled arrays ``out``, ``status``, ``counters`` (and ``ev_t``,
    ``ev_y``, ``ev_n`` with events)."""
    out, status, counters = arrays["out"], arrays["status"], arrays["counters"]
    if save == "final":
        y = out[:, :, 0]
    else:
        y = out
        if trajectory_without_t_eval:
            # t = [t_bound]: a trajectory that did not get there has no value at t
            y[(status < 0) | (counters[:, 3] != t1), :, 0] = np.nan
    events = (_Events(arrays["ev_t"], arrays["ev_y"], arrays["ev_n"]) if has_events else None)
    return _build_result(t_out, y, status, counters, save, options, events=events)


def _chunk_bounds(n_traj: int, chunk: int) -> list[tuple[int, int]]:
    return [(lo, min(lo + chunk, n_traj)) for lo in range(0, n_traj, chunk)]
