"""Result objects: OdeResult (scipy's fields), OdeSolution and DenseOutput (dense output)."""
import numpy as np
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


def scipy_status(kernel_status):
    """scipy's status: 0 end reached, 1 terminated by an event, -1 failure."""
    return int(kernel_status) if kernel_status >= 0 else -1


class OdeResult(_ScipyOdeResult):
    """Result of ``solve_ivp``: scipy's fields (``t, y, sol, t_events, y_events, nfev, njev,
    nlu, status, message, success``) plus ``naccept`` and ``nreject``.

    It is a subclass of scipy's ``OdeResult``, so code that checks ``isinstance`` keeps working.
    """


@njit(cache=True)
def _evaluate_segments(t_query, breakpoints, seg_t, seg_h, seg_data, n, q, ascending, out):
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
        theta = (tk - seg_t[j]) / seg_h[j]
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
    """

    def __init__(self, t_old, t, y_old, Q, complex_state=False):
        self.t_old = float(t_old)
        self.t = float(t)
        self.t_min = min(self.t, self.t_old)
        self.t_max = max(self.t, self.t_old)
        self.y_old = np.asarray(y_old, dtype=float)
        self.Q = np.asarray(Q, dtype=float)
        self.complex_state = complex_state

    def __call__(self, t):
        t = np.asarray(t, dtype=float)
        h = self.t - self.t_old
        theta = (np.atleast_1d(t) - self.t_old) / h if h != 0 else np.zeros(np.atleast_1d(t).shape)
        powers = theta[None, :] ** np.arange(1, self.Q.shape[1] + 1)[:, None]
        y = self.y_old[:, None] + self.Q @ powers
        if self.complex_state:
            y = y[0::2] + 1j * y[1::2]
        return y[:, 0] if t.ndim == 0 else y


class OdeSolution:
    """Continuous solution over the whole integration, callable like scipy's ``OdeSolution``.

    ``sol(t)`` returns shape (n,) for a scalar ``t`` and (n, len(t)) for an array. Outside
    ``[t_min, t_max]`` the first or last step's interpolant is extrapolated, as in scipy.

    Build it as scipy does, ``OdeSolution(ts, interpolants)``, from the breakpoints and a list of
    ``DenseOutput`` objects (for code that drives a solver step by step); ``solve_ivp`` builds it
    directly from its compiled segment arrays.
    """

    def __init__(self, ts, interpolants=None, alt_segment=False, *, _segments=None,
                 complex_state=False):
        ts = np.asarray(ts, dtype=float)
        if _segments is None:
            if interpolants is None or len(interpolants) != ts.size - 1:
                raise ValueError("`interpolants` must have len(ts) - 1 entries.")
            q = max(d.Q.shape[1] for d in interpolants)
            n = interpolants[0].y_old.shape[0]
            seg_t = np.array([d.t_old for d in interpolants])
            seg_h = np.array([d.t - d.t_old for d in interpolants])
            seg_data = np.zeros((len(interpolants), n * (q + 1)))
            for j, d in enumerate(interpolants):
                seg_data[j, :n] = d.y_old
                Q = np.zeros((n, q))
                Q[:, :d.Q.shape[1]] = d.Q
                seg_data[j, n:] = Q.ravel()
            complex_state = complex_state or interpolants[0].complex_state
        else:
            seg_t, seg_h, seg_data, n, q = _segments
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

    @property
    def interpolants(self):
        """The per-step ``DenseOutput`` objects (built on demand)."""
        n, q = self._n, self._q
        return [DenseOutput(self._seg_t[j], self._seg_t[j] + self._seg_h[j],
                            self._seg_data[j, :n], self._seg_data[j, n:].reshape(n, q),
                            self._complex)
                for j in range(self.n_segments)]

    def __call__(self, t):
        t_arr = np.asarray(t, dtype=float)
        if t_arr.ndim > 1:
            raise ValueError("`t` must be a float or a 1-D array.")
        query = np.ascontiguousarray(np.atleast_1d(t_arr))
        if self.n_segments == 0:
            raise ValueError("the solution has no steps to interpolate")
        out = np.empty((self._n, query.size))
        _evaluate_segments(query, self.ts, self._seg_t, self._seg_h, self._seg_data,
                           self._n, self._q, self.ascending, out)
        if self._complex:
            out = out[0::2] + 1j * out[1::2]
        return out[:, 0] if t_arr.ndim == 0 else out
