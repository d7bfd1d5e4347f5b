"""Standard non-stiff test problems, scipy style: ``fun(t, y, *args) -> array``.

Each ``Problem`` has the RHS as a plain Python function (what a user would pass to
``scipy.integrate.solve_ivp`` or ``fastode.solve_ivp``), its ``args``, ``y0`` and ``t_span``.
``reference(problem)`` is y(t_end) from scipy's DOP853 at rtol = atol = 1e-13, computed on first
use and kept for the process (about a second for all four problems).

Lorenz is chaotic: over t 0..20 an error made early grows by ~e^(0.9 t) ~ 1e7, so its error at
t_end is large at every tolerance, and the reference itself is only good to ~1e-6 relative
(see ``reference_error``); compare methods on it with that in mind.
"""
from typing import NamedTuple

import numpy as np

REFERENCE_TOL = 1e-13


def lotka_volterra(t, y, a, b, c, d):
    """Predator-prey: x' = a x - b x y, y' = -c y + d x y."""
    return np.array([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])


def van_der_pol(t, y, mu):
    """x'' - mu (1 - x^2) x' + x = 0 as a first-order system."""
    return np.array([y[1], mu * (1.0 - y[0] * y[0]) * y[1] - y[0]])


def lorenz(t, y, sigma, rho, beta):
    return np.array([sigma * (y[1] - y[0]),
                     y[0] * (rho - y[2]) - y[1],
                     y[0] * y[1] - beta * y[2]])


def arenstorf(t, y, mu):
    """Restricted three-body problem (Hairer I, eq. II.0.1); y = [x, y, x', y']."""
    mu_p = 1.0 - mu
    d1 = ((y[0] + mu) ** 2 + y[1] ** 2) ** 1.5
    d2 = ((y[0] - mu_p) ** 2 + y[1] ** 2) ** 1.5
    return np.array([y[2],
                     y[3],
                     y[0] + 2.0 * y[3] - mu_p * (y[0] + mu) / d1 - mu * (y[0] - mu_p) / d2,
                     y[1] - 2.0 * y[2] - mu_p * y[1] / d1 - mu * y[1] / d2])


ARENSTORF_PERIOD = 17.0652165601579625588917206249


class Problem(NamedTuple):
    name: str
    fun: object
    y0: np.ndarray
    t_span: tuple
    args: tuple
    note: str = ""

    @property
    def n(self):
        return self.y0.shape[0]


LOTKA_VOLTERRA = Problem("lotka_volterra", lotka_volterra, np.array([10.0, 5.0]), (0.0, 15.0),
                         (1.5, 1.0, 3.0, 1.0))
VAN_DER_POL = Problem("van_der_pol", van_der_pol, np.array([2.0, 0.0]), (0.0, 20.0), (1.0,))
LORENZ = Problem("lorenz", lorenz, np.array([1.0, 1.0, 1.0]), (0.0, 20.0),
                 (10.0, 28.0, 8.0 / 3.0), note="chaotic: errors at t=20 amplified ~1e7")
ARENSTORF = Problem("arenstorf", arenstorf,
                    np.array([0.994, 0.0, 0.0, -2.00158510637908252240537862224]),
                    (0.0, ARENSTORF_PERIOD), (0.012277471,), note="one period")

PROBLEMS = {p.name: p for p in (LOTKA_VOLTERRA, VAN_DER_POL, LORENZ, ARENSTORF)}

_references = {}


def reference(problem, tol=REFERENCE_TOL):
    """y(t_end) by scipy DOP853 at rtol = atol = ``tol`` (cached per process)."""
    if isinstance(problem, str):
        problem = PROBLEMS[problem]
    key = (problem.name, tol)
    if key not in _references:
        import scipy.integrate
        sol = scipy.integrate.solve_ivp(problem.fun, problem.t_span, problem.y0, method="DOP853",
                                        args=problem.args, rtol=tol, atol=tol)
        if not sol.success:
            raise RuntimeError(f"reference solve of {problem.name} failed: {sol.message}")
        _references[key] = sol.y[:, -1].copy()
    return _references[key]


def error(problem, y_end):
    """Relative max-norm error of y(t_end): max|y - ref| / max|ref|."""
    ref = reference(problem)
    y_end = np.asarray(y_end, dtype=float)
    if y_end.shape != ref.shape or not np.all(np.isfinite(y_end)):
        return np.inf
    return float(np.max(np.abs(y_end - ref)) / np.max(np.abs(ref)))


def reference_error(problem):
    """Rough accuracy of the reference: its distance from scipy DOP853 at 3e-14 (near the
    tightest tolerance scipy accepts)."""
    if isinstance(problem, str):
        problem = PROBLEMS[problem]
    ref = reference(problem)
    tighter = reference(problem, 3e-14)
    return float(np.max(np.abs(ref - tighter)) / np.max(np.abs(ref)))
