"""Rosenbrock methods (pure data, numpy only).

Form (Hairer & Wanner, Solving ODEs II, Sec. IV.7, eq. (7.4'): the transformed formulation that
needs one LU of ``W = M / (gamma h) - J`` per step and no matrix-vector product with J):

    W k_i = f(t + c_i h, y + sum_{j<i} A[i, j] k_j) + M sum_{j<i} (C[i, j] / h) k_j + h d_i f_t
    y_new = y + sum_i B[i] k_i,        error estimate  err = sum_i E[i] k_i

with J = df/dy and f_t = df/dt at (t, y). The stages k_i are (h times) the usual increments.
Dense output (``H``, m rows): with hv_r = sum_i H[r, i] k_i,

    y(t + theta h) = (1 - theta) y + theta (y_new + (1 - theta)(hv_1 + theta hv_2 + ...))

which fastode stores in monomial form (fastode.kernels.rosenbrock.rosenbrock_dense).

``Rosenbrock23`` (Shampine & Reichelt's ode23s, "The MATLAB ODE suite", SIAM J. Sci. Comput.
18, 1997) is a W-method with its own formulas (FSAL, error from f at the new point): its two
constants are stored here and its step is written out in the kernel.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = ["RosenbrockTableau", "RODAS4", "ROSENBROCK23", "TABLEAUS", "validate"]


class RosenbrockTableau(NamedTuple):
    name: str
    order: int           # order of y_new
    error_order: int     # order of the embedded solution (the estimate is O(h^(error_order+1)))
    dense_order: int     # order of the continuous extension on non-stiff steps
    gamma: float         # diagonal of the method
    A: np.ndarray        # (s, s) strictly lower: stage arguments
    C: np.ndarray        # (s, s) strictly lower: the (C[i, j] / h) k_j terms
    c: np.ndarray        # (s,) stage times
    d: np.ndarray        # (s,) df/dt coefficients (gamma_i = sum_j gamma_ij)
    B: np.ndarray        # (s,) weights of y_new
    E: np.ndarray        # (s,) error weights (y_new - y_embedded)
    H: np.ndarray        # (m, s) dense output vectors
    stiffly_accurate: bool


def _rodas4():
    """RODAS (Hairer & Wanner II, Sec. VI.4), the coefficients of Hairer's rodas.f (METH = 1).

    L-stable, stiffly accurate (y_new and the embedded solution are the last stage
    arguments), order 4 with an order-3 embedded solution, dense output of order 3.
    """
    s = 6
    A = np.zeros((s, s))
    C = np.zeros((s, s))
    A[1, 0] = 0.1544e+01
    A[2, 0] = 0.9466785280815826
    A[2, 1] = 0.2557011698983284
    A[3, 0] = 0.3314825187068521e+01
    A[3, 1] = 0.2896124015972201e+01
    A[3, 2] = 0.9986419139977817
    A[4, 0] = 0.1221224509226641e+01
    A[4, 1] = 0.6019134481288629e+01
    A[4, 2] = 0.1253708332932087e+02
    A[4, 3] = -0.6878860361058950
    A[5, :4] = A[4, :4]
    A[5, 4] = 1.0
    C[1, 0] = -0.56688e+01
    C[2, 0] = -0.2430093356833875e+01
    C[2, 1] = -0.2063599157091915
    C[3, 0] = -0.1073529058151375
    C[3, 1] = -0.9594562251023355e+01
    C[3, 2] = -0.2047028614809616e+02
    C[4, 0] = 0.7496443313967647e+01
    C[4, 1] = -0.1024680431464352e+02
    C[4, 2] = -0.3399990352819905e+02
    C[4, 3] = 0.1170890893206160e+02
    C[5, 0] = 0.8083246795921522e+01
    C[5, 1] = -0.7981132988064893e+01
    C[5, 2] = -0.3152159432874371e+02
    C[5, 3] = 0.1631930543123136e+02
    C[5, 4] = -0.6058818238834054e+01
    c = np.array([0.0, 0.386, 0.21, 0.63, 1.0, 1.0])
    d = np.array([0.25, -0.1043, 0.1035, -0.3620000000000023e-01, 0.0, 0.0])
    B = np.zeros(s)
    B[:5] = A[5, :5]
    B[5] = 1.0
    E = np.zeros(s)
    E[5] = 1.0
    H = np.array([
        [0.1012623508344586e+02, -0.7487995877610167e+01, -0.3480091861555747e+02,
         -0.7992771707568823e+01, 0.1025137723295662e+01, 0.0],
        [-0.6762803392801253, 0.6087714651680015e+01, 0.1643084320892478e+02,
         0.2476722511418386e+02, -0.6594389125716872e+01, 0.0],
    ])
    return RosenbrockTableau("Rodas4", 4, 3, 3, 0.25, A, C, c, d, B, E, H, True)


RODAS4 = _rodas4()

# Shampine & Reichelt's ode23s: d = 1 / (2 + sqrt 2), e32 = 6 + sqrt 2. Order 2, error
# estimate of order 3 (used as O(h^3): the controller exponent is 1/3), dense output of order 2.
# A placeholder RosenbrockTableau carries its traits; the kernel reads ROS23_D and ROS23_E32.
ROS23_D = 1.0 / (2.0 + math.sqrt(2.0))
ROS23_E32 = 6.0 + math.sqrt(2.0)
ROSENBROCK23 = RosenbrockTableau(
    "Rosenbrock23", 2, 2, 2, ROS23_D, np.zeros((3, 3)), np.zeros((3, 3)),
    np.array([0.0, 0.5, 1.0]), np.array([ROS23_D, 0.0, ROS23_D]), np.zeros(3), np.zeros(3),
    np.zeros((1, 3)), False)

TABLEAUS = {t.name: t for t in (RODAS4, ROSENBROCK23)}


def validate(tab: RosenbrockTableau, tol=1e-10):
    """Check the structural identities of a Hairer-form tableau; returns a list of problems.

    c_i = sum_j alpha_ij where alpha = A expressed in the untransformed form is not directly
    checkable here; we check the transformed-form identities that hold for every such method:
    A and C strictly lower triangular, and for stiffly accurate methods B equals the last row of
    A plus the unit weight of the last stage.
    """
    problems = []
    if np.any(np.triu(tab.A) != 0) or np.any(np.triu(tab.C) != 0):
        problems.append("A and C must be strictly lower triangular")
    if tab.stiffly_accurate:
        last = np.append(tab.A[-1, :-1], 1.0)
        if np.max(np.abs(last - tab.B)) > tol:
            problems.append("stiffly accurate: B must be [A[-1, :-1], 1]")
    return problems
