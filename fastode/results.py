"""Result objects: OdeResult (scipy's fields), OdeSolution and DenseOutput (dense output)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import numpy.typing as npt
from numba import njit
from scipy.integrate._ivp.ivp import OdeResult as _ScipyOdeResult

from .kernels import status as st

MESSAGES = {
    st.SUCCESS: "The solver successfully reached the end of the integration interval.",
    st.TERMINATED: "A termination event occurred.",
    st.STEP_TOO_SMALL: "Required step size is less than spacing between numbers.",
    st.MAX_STEPS: "Maximum number of steps reached (max_steps={max_steps}).",
    st.NON_FINITE: ("`fun` returned a non-finite value (or raised inside compiled code) "
                    "near t={t}."),
    st.SINGULAR: "The iteration matrix was singular at every step size tried near t={t}.",
    st.NEWTON_FAILED: ("Newton iterations did not converge near t={t} even with a much "
                       "smaller step."),
    st.EVENT_FAILED: ("An event function returned NaN (or raised inside compiled code) on the "
                      "step after t={t}; the integration stopped there."),
}
MIN_STEP_MESSAGE = "Required step size is less than min_step={min_step}."


def scipy_status(kernel_status: int) -> int:
    """scipy's status: 0 end reached, 1 terminated by an event, -1 failure."""
    return int(kernel_status) if kernel_status >= 0 else -1


class OdeResult(_ScipyOdeResult):  # type: ignore[misc]  # scipy has no type information
    """Result of ``solve_ivp``: scipy's fields (``t, y, sol, t_events, y_events, nfev, njev,
    nlu, status, message, success``) plus ``naccept`` and ``nreject``.

    It is a subclass of scipy's ``OdeResult``, so code that checks ``isinstance`` keeps working.

    Examples
    --------
    >>> import numpy as np, fastode
    >>> sol = fastode.solve_ivp(lambda t, y: -y, (0.0, 1.0), [1.0], rtol=1e-8, atol=1e-10)
    >>> sol.success, sol.status
    (True, 0)
    >>> bool(sol.naccept > 0 and sol.nfev >= 6 * sol.naccept)
    True
    >>> float(abs(sol.y[0, -1] - np.exp(-1.0))) < 1e-7
    True
    """

    # for type checkers only (annotations without values create no attribute)
    t: npt.NDArray[np.float64]
    y: npt.NDArray[Any]
    sol: OdeSolution | None
    t_events: list[npt.NDArray[np.float64]] | None
    y_events: list[npt.NDArray[Any]] | None
    nfev: int
    njev: int
    nlu: int
    naccept: int | None
    nreject: int | None
    status: int
    message: str
    success: bool


@njit(cache=True)
def _evaluate_segments(t_query: Any, breakpoints: Any, seg_t: Any, seg_h: Any, seg_data: Any,
                       n: Any, q: Any, ascending: Any, out: Any, contiguous: Any,
                       node_states: Any, has_nodes: Any) -> Any:
    n_seg = seg_t.shape[0]
    for k in range(t_query.shape[0]):
        tk = t_query[k]
        # segment index as scipy's OdeSolution: the interval containing t, ties to the left
        if ascending:
            j = np.searchsorted(breakpoints, tk, side="left") - 1
        else:
            j = n_seg - np.searchsorted(breakpoints[::-1], tk, side="right")
        if j < 0:
            j = 0
        elif j > n_seg - 1:
            j = n_seg - 1
        # at a step's end, the state the step computed rather than its interpolant summed at
        # theta = 1 (DOP853's degree-7 polynomial is off there by up to ~50 ulp): so
        # sol(t_i) == y_i, as with scipy. ``node_states`` holds every step's state when the
        # solver returned them; otherwise, for a solver's own steps (``contiguous``), segment
        # j + 1 starts where segment j ends.
        if tk == breakpoints[j + 1]:
            if has_nodes:
                for i in range(n):
                    out[i, k] = node_states[j + 1, i]
                continue
            if contiguous and j + 1 < n_seg and seg_t[j + 1] == tk:
                for i in range(n):
                    out[i, k] = seg_data[j + 1, i]
                continue
        # a zero-length segment (a solve over an empty interval) is constant
        theta = (tk - seg_t[j]) / seg_h[j] if seg_h[j] != 0.0 else 0.0
        for i in range(n):
            acc = seg_data[j, n + i * q + q - 1]
            for r in range(q - 2, -1, -1):
                acc = acc * theta + seg_data[j, n + i * q + r]
            out[i, k] = seg_data[j, i] + acc * theta
    return out


class DenseOutput:
    """Interpolant of one step: ``y(t_old + theta h) = y_old + sum_j Q[:, j] theta^(j+1)``.

    Same interface as scipy's ``DenseOutput``: attributes ``t_old``, ``t``, ``t_min``, ``t_max``
    and ``__call__(t)`` for a scalar (shape (n,)) or an array of times (shape (n, len(t))).
    ``h`` (optional) is the step length when ``t`` is ``t_old + h`` rounded (default
    ``t - t_old``); ``theta = (t - t_old) / h``.

    The polynomial is summed by Horner's rule in the order of ``OdeSolution``'s compiled
    evaluation, with elementwise operations only (no BLAS, whose summation order depends on
    the CPU), so an interpolant of ``sol.interpolants`` returns exactly what ``sol`` returns
    away from the breakpoints, on every machine.

    Examples
    --------
    One step's interpolant, from the step-by-step solvers (``solver.dense_output()``):

    >>> import numpy as np
    >>> from fastode.solvers import RK45
    >>> solver = RK45(lambda t, y: -y, 0.0, [1.0], 1.0, rtol=1e-8, atol=1e-10)
    >>> solver.step()
    >>> piece = solver.dense_output()
    >>> t_mid = 0.5 * (piece.t_old + piece.t)
    >>> bool(abs(piece(t_mid)[0] - np.exp(-t_mid)) < 1e-7)
    True
    """

    def __init__(self, t_old: float, t: float, y_old: npt.ArrayLike, Q: npt.ArrayLike,
                 complex_state: bool = False, *, h: float | None = None) -> None:
        self.t_old = float(t_old)
        self.t = float(t)
        self.t_min = min(self.t, self.t_old)
        self.t_max = max(self.t, self.t_old)
        self.y_old = np.asarray(y_old, dtype=float)
        self.Q = np.asarray(Q, dtype=float)
        self.complex_state = complex_state
        self._h = self.t - self.t_old if h is None else float(h)

    def __call__(self, t: npt.ArrayLike) -> npt.NDArray[Any]:
        t = np.asarray(t, dtype=float)
        h = self._h
        theta = (np.atleast_1d(t) - self.t_old) / h if h != 0 else np.zeros(np.atleast_1d(t).shape)
        q = self.Q.shape[1]
        if q == 0:
            y = np.repeat(self.y_old[:, None], theta.size, axis=1)
        else:  # y_old + theta (Q_0 + theta (Q_1 + ... + theta Q_{q-1})), as _evaluate_segments
            acc = np.repeat(self.Q[:, q - 1:q], theta.size, axis=1)
            for r in range(q - 2, -1, -1):
                acc = acc * theta + self.Q[:, r:r + 1]
            y = self.y_old[:, None] + acc * theta
        if self.complex_state:
            y = y[0::2] + 1j * y[1::2]
        return y[:, 0] if t.ndim == 0 else y


class ConstantDenseOutput(DenseOutput):
    """Constant interpolant ``y(t) = value`` on ``[t_old, t]`` (scipy's ``ConstantDenseOutput``:
    the dense output of a solver that took no step).

    Examples
    --------
    >>> from fastode import ConstantDenseOutput
    >>> c = ConstantDenseOutput(0.0, 1.0, [2.0, 3.0])
    >>> c(0.5).tolist(), c([0.0, 1.0]).shape
    ([2.0, 3.0], (2, 2))
    """

    def __init__(self, t_old: float, t: float, value: npt.ArrayLike,
                 complex_state: bool = False) -> None:
        value = np.asarray(value)
        if np.iscomplexobj(value):
            value = np.ascontiguousarray(value, dtype=np.complex128).view(np.float64)
            complex_state = True
        value = np.asarray(value, dtype=float)
        super().__init__(t_old, t, value, np.zeros((value.shape[0], 0)), complex_state)
        self.value = value


class OdeSolution:
    """Continuous solution over the whole integration, callable like scipy's ``OdeSolution``.

    ``sol(t)`` returns shape (n,) for a scalar ``t`` and (n, len(t)) for an array. Outside
    ``[t_min, t_max]`` the first or last step's interpolant is extrapolated, as in scipy.

    Build it as scipy does, ``OdeSolution(ts, interpolants)``, from the breakpoints and a list of
    ``DenseOutput`` objects (for code that drives a solver step by step); ``solve_ivp`` builds it
    directly from its compiled segment arrays.

    Examples
    --------
    >>> import numpy as np, fastode
    >>> sol = fastode.solve_ivp(lambda t, y: -y, (0.0, 2.0), [1.0], dense_output=True,
    ...                         rtol=1e-8, atol=1e-10)
    >>> sol.sol(1.0).shape, sol.sol([0.5, 1.0, 1.5]).shape
    ((1,), (1, 3))
    >>> bool(np.allclose(sol.sol([0.5, 1.5])[0], np.exp([-0.5, -1.5]), rtol=1e-6))
    True
    """

    def __init__(self, ts: npt.ArrayLike, interpolants: Sequence[DenseOutput] | None = None,
                 alt_segment: bool = False, *, _segments: tuple[Any, ...] | None = None,
                 complex_state: bool = False) -> None:
        ts = np.asarray(ts, dtype=float)
        node_states = None
        if _segments is None:
            if interpolants is None or len(interpolants) != ts.size - 1:
                raise ValueError("`interpolants` must have len(ts) - 1 entries.")
            # at least one column: a ConstantDenseOutput has none, and the evaluation kernel
            # reads the highest coefficient
            q = max(max(d.Q.shape[1] for d in interpolants), 1)
            n = interpolants[0].y_old.shape[0]
            seg_t = np.array([d.t_old for d in interpolants])
            seg_h = np.array([getattr(d, "_h", d.t - d.t_old) for d in interpolants])
            seg_data = np.zeros((len(interpolants), n * (q + 1)))
            for j, d in enumerate(interpolants):
                seg_data[j, :n] = d.y_old
                Q = np.zeros((n, q))
                Q[:, :d.Q.shape[1]] = d.Q
                seg_data[j, n:] = Q.ravel()
            complex_state = complex_state or interpolants[0].complex_state
        else:
            seg_t, seg_h, seg_data, n, q = _segments[:5]
            if len(_segments) > 5:
                node_states = _segments[5]  # None when the solver did not return them
        self.ts = ts
        self.n_segments = seg_t.shape[0]
        self.t_min = float(min(ts[0], ts[-1]))
        self.t_max = float(max(ts[0], ts[-1]))
        self.ascending = bool(ts[-1] >= ts[0])
        self._seg_t = np.ascontiguousarray(seg_t)
        self._seg_h = np.ascontiguousarray(seg_h)
        self._seg_data = np.ascontiguousarray(seg_data)
        self._n = n
        self._q = q
        self._complex = complex_state
        # built by a solver from its own steps: each segment starts where the last one ended
        self._contiguous = _segments is not None
        # the state at every breakpoint, when the solver returned them (solve_ivp)
        self._has_nodes = node_states is not None
        self._node_states = (np.ascontiguousarray(node_states, dtype=float) if self._has_nodes
                             else np.zeros((1, max(n, 1))))

    @property
    def interpolants(self) -> list[DenseOutput]:
        """The per-step ``DenseOutput`` objects (built on demand)."""
        n, q = self._n, self._q
        return [DenseOutput(self._seg_t[j], self._seg_t[j] + self._seg_h[j],
                            self._seg_data[j, :n], self._seg_data[j, n:].reshape(n, q),
                            self._complex, h=self._seg_h[j])
                for j in range(self.n_segments)]

    def __call__(self, t: npt.ArrayLike) -> npt.NDArray[Any]:
        t_arr = np.asarray(t, dtype=float)
        if t_arr.ndim > 1:
            raise ValueError("`t` must be a float or a 1-D array.")
        query = np.ascontiguousarray(np.atleast_1d(t_arr))
        if self.n_segments == 0:
            raise ValueError("the solution has no steps to interpolate")
        out = np.empty((self._n, query.size))
        _evaluate_segments(query, self.ts, self._seg_t, self._seg_h, self._seg_data,
                           self._n, self._q, self.ascending, out, self._contiguous,
                           self._node_states, self._has_nodes)
        if self._complex:
            out = out[0::2] + 1j * out[1::2]
        return out[:, 0] if t_arr.ndim == 0 else out
