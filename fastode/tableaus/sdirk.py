"""Singly diagonally implicit Runge-Kutta methods with an explicit first stage (ESDIRK), pure data.

Form (all tableaus here are stiffly accurate: the last row of ``A`` is ``b``, so y_new is the
last stage value), with z_j = h f(t + c_j h, Y_j):

    Y_i = y + sum_{j<i} A[i, j] z_j + gamma z_i,   A[i, i] = gamma (i >= 1), A[0, 0] = 0
    y_new = Y_{s-1},   error estimate  err = sum_i E[i] z_i   (E = b - b_embedded)

``ALPHA`` (strictly lower) is the stage predictor: the Newton iteration of stage i starts from
z_i ~ sum_{j<i} ALPHA[i, j] z_j (an extrapolation of the stage derivatives, rows sum to 1).
``DENSE`` (s, 3), when present: y(t + theta h) = y + sum_i (sum_k DENSE[i, k] theta^(k+1)) z_i;
otherwise the driver uses the cubic Hermite interpolant of y, f at both ends. With a mass
matrix (f is not y' there) the driver interpolates the stage values instead: the cubic through
y, Y_a, Y_b, y_new (``STAGE_DENSE``, stages ``stage_a``, ``stage_b``), or linearly.

Methods
-------
* ``Kvaerno5``: A. Kvaernø, "Singly diagonally implicit Runge-Kutta methods with an explicit
  first stage", BIT 44 (2004) 489-502: 7 stages, order 5, embedded order 4 (stage 6, also
  stiffly accurate), L-stable. Coefficients as printed in the paper (as in diffrax's
  ``Kvaerno5`` and OrdinaryDiffEq.jl's ``Kvaerno5Tableau``); the stage predictor is
  OrdinaryDiffEq.jl's (with alpha_21 = 1). No dense output of its own: Hermite cubic.
* ``KenCarp4``: the implicit (ESDIRK) part of C. A. Kennedy, M. H. Carpenter, "Additive
  Runge-Kutta schemes for convection-diffusion-reaction equations", Appl. Numer. Math. 44
  (2003) 139-181, ARK4(3)6L[2]SA: 6 stages, order 4, embedded order 3, L-stable, with the
  paper's order-3 dense output (Table 5 / b*_ij). Predictor: linear extrapolation of the stage
  derivatives from z_1 and the latest stage with the largest c (as diffrax's KenCarp4).
* ``implicit_euler``: backward Euler y_new = y + h f(t + h, y_new), written as a 2-stage
  ESDIRK (gamma = 1, stage 1 explicit) whose embedded method is the trapezoidal rule, so the
  error estimate is h/2 (f(t+h, y_new) - f(t, y)) = O(h^2); the driver filters it through
  (I - h J)^-1 (``SMOOTH_EST``), which keeps it bounded on stiff components.
"""
from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple

import numpy as np

__all__ = ["SdirkTableau", "KVAERNO5", "KENCARP4", "IMPLICIT_EULER", "TABLEAUS",
           "stability_function"]


class SdirkTableau(NamedTuple):
    name: str
    order: int           # order of y_new
    error_order: int     # order of the embedded solution (the estimate is O(h^(error_order+1)))
    dense_order: int     # order of the continuous extension (Hermite cubic: 3)
    gamma: float         # diagonal
    A: np.ndarray        # (s, s) lower triangular, A[0, 0] = 0, A[i, i] = gamma for i >= 1
    b: np.ndarray        # (s,) weights (= A[s - 1])
    c: np.ndarray        # (s,) nodes (row sums of A)
    E: np.ndarray        # (s,) b - b_embedded
    ALPHA: np.ndarray    # (s, s) strictly lower stage predictor
    DENSE: np.ndarray    # (s, 3) dense output coefficients, or (0, 3): Hermite cubic
    smooth_est: bool     # filter the error estimate through (I - h gamma J)^-1
    STAGE_DENSE: np.ndarray  # (3, 3): cubic through the stage values (mass matrices), see below
    stage_a: int         # its two interior stages (-1: linear interpolation)
    stage_b: int


def _stage_cubic(c, a, b):
    """(3, 3) W with y(t + theta h) = y + sum_k theta^(k+1) (W[k, 0] u_a + W[k, 1] u_b +
    W[k, 2] u_end): the cubic through y, the stage values Y_a = y + u_a, Y_b = y + u_b at
    theta = c_a, c_b and y_new at theta = 1. Used with a mass matrix, where f is not y' and the
    Hermite cubic is not available."""
    # p(nodes) = V q, with V[i, k] = node_i^(k+1); inverted exactly (fractions) and rounded once,
    # not by LAPACK, whose result moves in the last bits with the CPU's BLAS kernels (and these
    # coefficients are frozen into the compiled, cached kernels)
    nodes = [Fraction(float(c[a])), Fraction(float(c[b])), Fraction(1)]
    V = [[x ** (k + 1) for k in range(3)] + [Fraction(int(i == r)) for r in range(3)]
         for i, x in enumerate(nodes)]
    for col in range(3):                     # Gauss-Jordan on [V | I] (V is invertible)
        piv = next(r for r in range(col, 3) if V[r][col] != 0)
        V[col], V[piv] = V[piv], V[col]
        V[col] = [v / V[col][col] for v in V[col]]
        for r in range(3):
            if r != col:
                V[r] = [v - V[r][col] * w for v, w in zip(V[r], V[col])]
    return np.array([[float(v) for v in row[3:]] for row in V])


def _kvaerno5():
    g = 0.26
    A = np.zeros((7, 7))
    A[1, :1] = [g]
    A[2, :2] = [0.13, 0.84033320996790809]
    A[3, :3] = [0.22371961478320505, 0.47675532319799699, -0.06470895363112615]
    A[4, :4] = [0.16648564323248321, 0.10450018841591720, 0.03631482272098715,
                -0.13090704451073998]
    A[5, :5] = [0.13855640231268224, 0.0, -0.04245337201752043, 0.02446657898003141,
                0.61943039072480676]
    A[6, :6] = [0.13659751177640291, 0.0, -0.05496908796538376, -0.04118626728321046,
                0.62993304899016403, 0.06962479448202728]
    for i in range(1, 7):
        A[i, i] = g
    b = A[6].copy()
    b_hat = A[5].copy()          # stage 6 is the embedded order-4 solution
    alpha = np.zeros((7, 7))
    alpha[1, :1] = [1.0]
    alpha[2, :2] = [-1.366025403784441, 2.3660254037844357]
    alpha[3, :3] = [-0.19650552613122207, 0.8113579546496623, 0.38514757148155954]
    alpha[4, :3] = [0.10375304369958693, 0.937994698066431, -0.04174774176601781]
    alpha[5, :3] = [-0.17281112873898072, 0.6235784481025847, 0.5492326806363959]
    alpha[6, :6] = A[5, :6]
    alpha[6, 5] = g
    c = A.sum(axis=1)
    return SdirkTableau("Kvaerno5", 5, 4, 3, g, A, b, c, b - b_hat, alpha,
                        np.zeros((0, 3)), True, _stage_cubic(c, 4, 3), 4, 3)


def _linear_predictor(c):
    """z_i ~ (1 - c_i / c_m) z_1 + (c_i / c_m) z_m, m: the stage before i with the largest c."""
    s = c.shape[0]
    alpha = np.zeros((s, s))
    alpha[1, 0] = 1.0
    for i in range(2, s):
        m = 1 + int(np.argmax(c[1:i]))
        r = c[i] / c[m]
        alpha[i, 0] = 1.0 - r
        alpha[i, m] = r
    return alpha


def _kencarp4():
    g = 0.25
    A = np.zeros((6, 6))
    A[1, :1] = [g]
    A[2, :2] = [8611 / 62500, -1743 / 31250]
    A[3, :3] = [5012029 / 34652500, -654441 / 2922500, 174375 / 388108]
    A[4, :4] = [15267082809 / 155376265600, -71443401 / 120774400, 730878875 / 902184768,
                2285395 / 8070912]
    A[5, :5] = [82889 / 524892, 0.0, 15625 / 83664, 69875 / 102672, -2260 / 8211]
    for i in range(1, 6):
        A[i, i] = g
    b = A[5].copy()
    b_hat = np.array([4586570599 / 29645900160, 0.0, 178811875 / 945068544,
                      814220225 / 1159782912, -3700637 / 11593932, 61727 / 225920])
    # b*_i(theta) = sum_k DENSE[i, k] theta^(k+1) (the paper's b*_ij, j = 1, 2, 3)
    dense = np.array([
        [6943876665148 / 7220017795957, -54480133 / 30881146, 6818779379841 / 7100303317025],
        [0.0, 0.0, 0.0],
        [7640104374378 / 9702883013639, -11436875 / 14766696, 2173542590792 / 12501825683035],
        [-20649996744609 / 7521556579894, 174696575 / 18121608,
         -31592104683404 / 5083833661969],
        [8854892464581 / 2390941311638, -12120380 / 966161, 61146701046299 / 7138195549469],
        [-11397109935349 / 6675773540249, 3843 / 706, -17219254887155 / 4939391667607],
    ])
    c = A.sum(axis=1)
    return SdirkTableau("KenCarp4", 4, 3, 3, g, A, b, c, b - b_hat, _linear_predictor(c),
                        dense, True, _stage_cubic(c, 2, 3), 2, 3)


def _implicit_euler():
    A = np.array([[0.0, 0.0], [0.0, 1.0]])
    b = np.array([0.0, 1.0])
    b_hat = np.array([0.5, 0.5])   # trapezoidal rule
    alpha = np.array([[0.0, 0.0], [1.0, 0.0]])
    return SdirkTableau("implicit_euler", 1, 2, 3, 1.0, A, b, A.sum(axis=1), b - b_hat, alpha,
                        np.zeros((0, 3)), True, np.zeros((3, 3)), -1, -1)


KVAERNO5 = _kvaerno5()
KENCARP4 = _kencarp4()
IMPLICIT_EULER = _implicit_euler()
TABLEAUS = {t.name: t for t in (KVAERNO5, KENCARP4, IMPLICIT_EULER)}


def stability_function(tableau, z):
    """R(z) = 1 + z b^T (I - z A)^-1 1 of the tableau (complex z)."""
    s = tableau.b.shape[0]
    one = np.ones(s)
    return 1.0 + z * (tableau.b @ np.linalg.solve(np.eye(s) - z * tableau.A, one))
