"""The result of ``fastode.solve_sde``."""
import numpy as np

from ..kernels import status as st

PATH_MESSAGES = {
    st.SUCCESS: "reached the end of the interval",
    st.STEP_TOO_SMALL: "the step size fell below the spacing of floating-point numbers "
                       "(or too many rejections in a row)",
    st.MAX_STEPS: "max_steps steps were taken",
    st.NON_FINITE: "the drift or diffusion returned a non-finite value (the state became "
                   "NaN or inf); the path is kept up to its last saved point before that",
}


class SdeResult(dict):
    """The paths of an SDE solve; a dict whose keys are also attributes.

    Attributes
    ----------
    t : ndarray, shape (n_points,)
        The save times (``t_eval``, every step with ``save="steps"``, or ``t_span``'s ends).
    y : ndarray, shape (n_paths, n, n_points) or (n_sets, n_paths, n, n_points)
        The states; points after a path's failure are NaN.
    status : ndarray of int, shape (n_paths,) or (n_sets, n_paths)
        Per path: 0 success, or a negative code of ``fastode.kernels.status``.
    success : bool
        Every path succeeded.
    message : str
        What happened (the failures counted by kind).
    nfev, ngev : int
        Drift and diffusion calls, all paths together.
    naccept, nreject : int
        Accepted and rejected steps, all paths together.
    counters : ndarray, shape (n_paths, 4) or (n_sets, n_paths, 4)
        Per path: drift calls, diffusion calls, accepted and rejected steps.
    seed : int
        The seed used (pass it back as ``seed=`` to draw the same paths again).
    method, noise, interpretation : str

    Examples
    --------
    >>> import numpy as np, fastode
    >>> res = fastode.solve_sde(lambda t, y: -y, lambda t, y: np.array([0.1]), (0.0, 1.0), [1.0],
    ...                         method="euler_maruyama", noise="additive", dt=0.01, n_paths=3,
    ...                         seed=7)
    >>> res.t.tolist(), res.y.shape, res.status.tolist(), res.seed
    ([0.0, 1.0], (3, 1, 2), [0, 0, 0], 7)
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    __setattr__ = dict.__setitem__

    def __repr__(self):
        keys = ("message", "success", "method", "seed", "nfev", "ngev", "naccept", "nreject")
        lines = [f"{k:>9}: {self[k]!r}" for k in keys if k in self]
        lines.append(f"{'t':>9}: array of shape {np.shape(self.get('t'))}")
        lines.append(f"{'y':>9}: array of shape {np.shape(self.get('y'))}")
        return "\n".join(lines)


def summary_message(status) -> str:
    """One line for the whole ensemble: success, or the failures counted by kind."""
    status = np.asarray(status).ravel()
    if not status.any():
        return f"All {status.size} paths reached the end of the interval."
    bad = status[status < 0]
    if bad.size == 0:
        return f"All {status.size} paths reached the end of the interval."
    parts = []
    for code in sorted(set(bad.tolist())):
        count = int(np.sum(bad == code))
        first = int(np.flatnonzero(status == code)[0])
        parts.append(f"{count} path(s) (the first: path {first}): "
                     f"{PATH_MESSAGES.get(code, f'status {code}')}")
    return f"{bad.size} of {status.size} paths failed: " + "; ".join(parts) + "."
