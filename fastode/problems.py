"""Test and demo problems: the lecture's classic examples and a standard non-stiff set.

Every problem is a scipy-style ``fun(t, y, *args)`` with its ``args``, interval, initial state and,
where one exists, the exact solution; the others get a reference from scipy's DOP853 at
rtol = atol = 1e-13 (``reference_solution``).
"""
from typing import Callable, NamedTuple, Optional

import numpy as np


class Problem(NamedTuple):
    name: str
    fun: Callable
    t_span: tuple
    y0: np.ndarray
    args: tuple
    exact: Optional[Callable]  # exact(t) -> y, or None
    description: str


def decay(t, y):
    """dy/dt = -y (the lecture's first example)."""
    return -y


def growth(t, y, k):
    """dy/dt = k y."""
    return k * y


def harmonic_oscillator(t, y, omega):
    """y'' = -omega^2 y as the system (y, v)."""
    return np.array([y[1], -omega * omega * y[0]])


def free_fall(t, y, g):
    """d^2y/dt^2 = -g as the system (height, velocity)."""
    return np.array([y[1], -g])


def sir(t, y, beta, gamma):
    """SIR epidemic: S' = -beta S I, I' = beta S I - gamma I, R' = gamma I (fractions)."""
    s, i = y[0], y[1]
    return np.array([-beta * s * i, beta * s * i - gamma * i, gamma * i])


def lotka_volterra(t, y, a, b, c, d):
    """Predator-prey: x' = a x - b x y, y' = -c y + d x y."""
    return np.array([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])


def van_der_pol(t, y, mu):
    """Van der Pol oscillator y'' = mu (1 - y^2) y' - y."""
    return np.array([y[1], mu * (1.0 - y[0] * y[0]) * y[1] - y[0]])


def lorenz(t, y, sigma, rho, beta):
    """Lorenz system (chaotic for sigma=10, rho=28, beta=8/3)."""
    return np.array([sigma * (y[1] - y[0]), y[0] * (rho - y[2]) - y[1], y[0] * y[1] - beta * y[2]])


def arenstorf(t, y, mu):
    """Restricted three-body problem (Hairer I, eq. II.0.1): a periodic Arenstorf orbit."""
    mu_prime = 1.0 - mu
    d1 = ((y[0] + mu) ** 2 + y[1] ** 2) ** 1.5
    d2 = ((y[0] - mu_prime) ** 2 + y[1] ** 2) ** 1.5
    return np.array([
        y[2],
        y[3],
        y[0] + 2.0 * y[3] - mu_prime * (y[0] + mu) / d1 - mu * (y[0] - mu_prime) / d2,
        y[1] - 2.0 * y[2] - mu_prime * y[1] / d1 - mu * y[1] / d2,
    ])


ARENSTORF_PERIOD = 17.0652165601579625588917206249
ARENSTORF_Y0 = np.array([0.994, 0.0, 0.0, -2.00158510637908252240537862224])

LECTURE = [
    Problem("decay", decay, (0.0, 5.0), np.array([1.0]), (),
            lambda t: np.array([np.exp(-t)]), "dy/dt = -y, y = e^-t"),
    Problem("growth", growth, (0.0, 2.0), np.array([1.0]), (0.7,),
            lambda t: np.array([np.exp(0.7 * t)]), "dy/dt = k y, y = e^(k t)"),
    Problem("harmonic oscillator", harmonic_oscillator, (0.0, 10.0), np.array([1.0, 0.0]), (2.0,),
            lambda t: np.array([np.cos(2.0 * t), -2.0 * np.sin(2.0 * t)]), "y'' = -w^2 y"),
    Problem("free fall", free_fall, (0.0, 3.0), np.array([100.0, 0.0]), (9.81,),
            lambda t: np.array([100.0 - 0.5 * 9.81 * t * t, -9.81 * t]), "y'' = -g"),
    Problem("SIR epidemic", sir, (0.0, 100.0), np.array([0.99, 0.01, 0.0]), (0.3, 0.1), None,
            "S' = -bSI, I' = bSI - gI, R' = gI"),
    Problem("predator-prey", lotka_volterra, (0.0, 15.0), np.array([10.0, 5.0]),
            (1.5, 1.0, 3.0, 1.0), None, "Lotka-Volterra"),
]

STANDARD = [
    Problem("Lotka-Volterra", lotka_volterra, (0.0, 15.0), np.array([10.0, 5.0]),
            (1.5, 1.0, 3.0, 1.0), None, "predator-prey, t in [0, 15]"),
    Problem("Van der Pol mu=1", van_der_pol, (0.0, 20.0), np.array([2.0, 0.0]), (1.0,), None,
            "non-stiff Van der Pol"),
    Problem("Lorenz", lorenz, (0.0, 5.0), np.array([1.0, 1.0, 1.0]), (10.0, 28.0, 8.0 / 3.0),
            None, "chaotic, t in [0, 5]"),
    Problem("Arenstorf", arenstorf, (0.0, ARENSTORF_PERIOD), ARENSTORF_Y0,
            (0.012277471,), None, "one period of a periodic orbit"),
]

def robertson(t, y):
    """Robertson's stiff chemical kinetics (Hairer-Wanner II, eq. IV.1.3)."""
    return np.array([-0.04 * y[0] + 1e4 * y[1] * y[2],
                     0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] * y[1],
                     3e7 * y[1] * y[1]])


# stiff problems: references by scipy's Radau at rtol 1e-10 (an explicit reference would take
# millions of steps)
STIFF = [
    Problem("Robertson (stiff)", robertson, (0.0, 1e5), np.array([1.0, 0.0, 0.0]), (), None,
            "stiff chemical kinetics, t in [0, 1e5]"),
    Problem("Van der Pol mu=1e3 (stiff)", van_der_pol, (0.0, 3000.0), np.array([2.0, 0.0]),
            (1000.0,), None, "relaxation oscillations, t in [0, 3000]"),
]

_references: dict = {}


def reference_solution(problem: Problem) -> np.ndarray:
    """y(t_end): exact where known, else scipy DOP853 at rtol = atol = 1e-13, or for the stiff
    problems scipy Radau at rtol 1e-10, atol 1e-12 (cached)."""
    if problem.exact is not None:
        return problem.exact(problem.t_span[1])
    if problem.name not in _references:
        from scipy.integrate import solve_ivp
        if any(problem is p for p in STIFF):
            sol = solve_ivp(problem.fun, problem.t_span, problem.y0, method="Radau",
                            args=problem.args, rtol=1e-10, atol=1e-12)
        else:
            sol = solve_ivp(problem.fun, problem.t_span, problem.y0, method="DOP853",
                            args=problem.args, rtol=1e-13, atol=1e-13)
        _references[problem.name] = sol.y[:, -1]
    return _references[problem.name]
