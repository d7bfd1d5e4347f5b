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

__all__ = ["RosenbrockTableau", "RODAS4", "RODAS5P", "ROSENBROCK23", "TABLEAUS", "validate",
           "standard_form", "order_residuals"]


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


def _rodas5p():
    """Rodas5P (G. Steinebach, "Construction of Rosenbrock-Wanner method Rodas5P and numerical
    benchmarks within the Julia Differential Equations package", BIT Numer. Math. 63, 2023).

    L-stable, stiffly accurate, 8 stages (7 new f evaluations per step), order 5 with an
    order-4 embedded solution (error estimate = the last stage), dense output of order 4 (three
    H rows). Coefficients in the transformed form, as OrdinaryDiffEq.jl's ``Rodas5PTableau``:
    stages 6-8 are evaluated at t + h with arguments ``g_7 = g_6 + k_6`` and
    ``g_8 = g_7 + k_7``, and ``y_new = g_8 + k_8``.
    """
    s = 8
    gamma = 0.21193756319429014
    A = np.zeros((s, s))
    C = np.zeros((s, s))
    A[1, 0] = 3.0
    A[2, :2] = [2.849394379747939, 0.45842242204463923]
    A[3, :3] = [-6.954028509809101, 2.489845061869568, -10.358996098473584]
    A[4, :4] = [2.8029986275628964, 0.5072464736228206, -0.3988312541770524,
                -0.04721187230404641]
    A[5, :5] = [-7.502846399306121, 2.561846144803919, -11.627539656261098,
                -0.18268767659942256, 0.030198172008377946]
    A[6, :5] = A[5, :5]
    A[6, 5] = 1.0
    A[7, :6] = A[6, :6]
    A[7, 6] = 1.0
    C[1, 0] = -14.155112264123755
    C[2, :2] = [-17.97296035885952, -2.859693295451294]
    C[3, :3] = [147.12150275711716, -1.41221402718213, 71.68940251302358]
    C[4, :4] = [165.43517024871676, -0.4592823456491126, 42.90938336958603, -5.961986721573306]
    C[5, :5] = [24.854864614690072, -3.0009227002832186, 47.4931110020768, 5.5814197821558125,
                -0.6610691825249471]
    C[6, :6] = [30.91273214028599, -3.1208243349937974, 77.79954646070892, 34.28646028294783,
                -19.097331116725623, -28.087943162872662]
    C[7, :7] = [37.80277123390563, -3.2571969029072276, 112.26918849496327, 66.9347231244047,
                -40.06618937091002, -54.66780262877968, -9.48861652309627]
    c = np.array([0.0, 0.6358126895828704, 0.4095798393397535, 0.9769306725060716,
                  0.4288403609558664, 1.0, 1.0, 1.0])
    d = np.array([0.21193756319429014, -0.42387512638858027, -0.3384627126235924,
                  1.8046452872882734, 2.325825639765069, 0.0, 0.0, 0.0])
    B = np.append(A[7, :7], 1.0)
    E = np.zeros(s)
    E[7] = 1.0
    H = np.array([
        [25.948786856663858, -2.5579724845846235, 10.433815404888879, -2.3679251022685204,
         0.524948541321073, 1.1241088310450404, 0.4272876194431874, -0.17202221070155493],
        [-9.91568850695171, -0.9689944594115154, 3.0438037242978453, -24.495224566215796,
         20.176138334709044, 15.98066361424651, -6.789040303419874, -6.710236069923372],
        [11.419903575922262, 2.8879645146136994, 72.92137995996029, 80.12511834622643,
         -52.072871366152654, -59.78993625266729, -0.15582684282751913, 4.883087185713722],
    ])
    return RosenbrockTableau("Rodas5P", 5, 4, 4, gamma, A, C, c, d, B, E, H, True)


RODAS5P = _rodas5p()

# Shampine & Reichelt's ode23s: d = 1 / (2 + sqrt 2), e32 = 6 + sqrt 2. Order 2, error
# estimate of order 3 (used as O(h^3): the controller exponent is 1/3), dense output of order 2.
# A placeholder RosenbrockTableau carries its traits; the kernel reads ROS23_D and ROS23_E32.
ROS23_D = 1.0 / (2.0 + math.sqrt(2.0))
ROS23_E32 = 6.0 + math.sqrt(2.0)
ROSENBROCK23 = RosenbrockTableau(
    "Rosenbrock23", 2, 2, 2, ROS23_D, np.zeros((3, 3)), np.zeros((3, 3)),
    np.array([0.0, 0.5, 1.0]), np.array([ROS23_D, 0.0, ROS23_D]), np.zeros(3), np.zeros(3),
    np.zeros((1, 3)), False)

TABLEAUS = {t.name: t for t in (RODAS4, RODAS5P, ROSENBROCK23)}


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


def standard_form(tab: RosenbrockTableau):
    """(alpha, Gamma, b, b_hat) of a transformed-form tableau (Hairer & Wanner II, Sec. IV.7):
    Gamma^-1 = I / gamma - C, alpha = A Gamma, b = B Gamma, b_hat = (B - E) Gamma (the weights
    of the embedded solution)."""
    s = tab.B.shape[0]
    G = np.linalg.inv(np.eye(s) / tab.gamma - tab.C)
    return tab.A @ G, G, tab.B @ G, (tab.B - tab.E) @ G


def _trees(order):
    """Rooted trees with ``order`` nodes, each a sorted tuple of its subtrees."""
    if order == 1:
        return [()]
    out = set()

    def partitions(n, max_part):
        if n == 0:
            yield []
            return
        for k in range(min(n, max_part), 0, -1):
            for rest in partitions(n - k, k):
                yield [k] + rest

    def combos(parts):
        if not parts:
            yield ()
            return
        for t in _trees(parts[0]):
            for rest in combos(parts[1:]):
                yield (t,) + rest

    for parts in partitions(order - 1, order - 1):
        for children in combos(parts):
            out.add(tuple(sorted(children)))
    return sorted(out)


def _density(t):
    """Tree factorial t! (the exact solution's B-series coefficient is 1 / t!)."""
    n = 1 + sum(_size(c) for c in t)
    prod = n
    for c in t:
        prod *= _density(c)
    return prod


def _size(t):
    return 1 + sum(_size(c) for c in t)


def _weights(t, alpha, beta):
    """Elementary weights of a Rosenbrock method (exact Jacobian): a node with one child takes
    beta = alpha + Gamma (the J Gamma k term), other nodes the product of alpha-weighted
    children."""
    s = alpha.shape[0]
    if len(t) == 1:
        return beta @ _weights(t[0], alpha, beta)
    v = np.ones(s)
    for c in t:
        v = v * (alpha @ _weights(c, alpha, beta))
    return v


def order_residuals(tab: RosenbrockTableau, max_order: int, embedded: bool = False):
    """{order: max |b . Phi(t) - 1/t!| over the rooted trees t of that order} for y_new (or the
    embedded solution), plus the consistency of the stage times c = alpha 1 and of the df/dt
    coefficients d = Gamma 1 under the key 0."""
    alpha, G, b, b_hat = standard_form(tab)
    w = b_hat if embedded else b
    beta = alpha + G
    out = {0: max(np.max(np.abs(alpha.sum(axis=1) - tab.c)),
                  np.max(np.abs(G.sum(axis=1) - tab.d)))}
    for p in range(1, max_order + 1):
        out[p] = max(abs(w @ _weights(t, alpha, beta) - 1.0 / _density(t)) for t in _trees(p))
    return out
