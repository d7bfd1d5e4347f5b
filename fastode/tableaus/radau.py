"""Radau IIA of order 5 (3 stages) in the form of Hairer & Wanner's RADAU5 (pure data).

E. Hairer, G. Wanner, Solving Ordinary Differential Equations II: Stiff and
Differential-Algebraic Problems, 2nd ed., Springer 1996, Sec. IV.8; the numbers are those of
the Fortran code RADAU5 and of scipy.integrate's ``Radau``.

* Collocation nodes ``C`` (the zeros of the Radau polynomial, C[2] = 1) and the Butcher matrix
  ``A`` (stage values ``Z_i = y_i - y = h sum_j A[i, j] f(t + C[j] h, y + Z_j)``).
* ``A^{-1} = T diag(MU_REAL, [[alpha, beta], [-beta, alpha]]) TI`` with
  ``MU_COMPLEX = alpha - i beta`` (beta > 0): the simplified Newton iteration on ``W = TI Z`` decouples into
  one real n x n system with ``MU_REAL / h M - J`` and one complex system with
  ``MU_COMPLEX / h M - J`` (Hairer-Wanner IV.8, eq. 8.16-8.19).
* ``E``: the embedded error estimate ``err = (MU_REAL/h M - J)^{-1} (f(t, y) + M Z^T E / h)``
  (Hairer-Wanner IV.8, eq. 8.20 with gamma_0 = MU_REAL).
* ``P``: collocation dense output ``y(t + theta h) = y + sum_j (Z^T P)[:, j] theta^(j+1)``.
"""
import numpy as np

S6 = 6 ** 0.5
ORDER = 5
ERROR_ORDER = 3          # the embedded estimate is O(h^4): step factors use err^(-1/4)
NEWTON_MAXITER = 6

C = np.array([(4 - S6) / 10, (4 + S6) / 10, 1.0])
A = np.array([
    [(88 - 7 * S6) / 360, (296 - 169 * S6) / 1800, (-2 + 3 * S6) / 225],
    [(296 + 169 * S6) / 1800, (88 + 7 * S6) / 360, (-2 - 3 * S6) / 225],
    [(16 - S6) / 36, (16 + S6) / 36, 1 / 9]])
B = A[2].copy()

E = np.array([-13 - 7 * S6, -13 + 7 * S6, -1]) / 3

# eigenvalues of A^{-1}
MU_REAL = 3 + 3 ** (2 / 3) - 3 ** (1 / 3)
MU_COMPLEX_RE = 3 + 0.5 * (3 ** (1 / 3) - 3 ** (2 / 3))
MU_COMPLEX_IM = -0.5 * (3 ** (5 / 6) + 3 ** (7 / 6))
MU_COMPLEX = MU_COMPLEX_RE + 1j * MU_COMPLEX_IM

T = np.array([
    [0.09443876248897524, -0.14125529502095421, 0.03002919410514742],
    [0.25021312296533332, 0.20412935229379994, -0.38294211275726192],
    [1.0, 1.0, 0.0]])
TI = np.array([
    [4.17871859155190428, 0.32768282076106237, 0.52337644549944951],
    [-4.17871859155190428, -0.32768282076106237, 0.47662355450055044],
    [0.50287263494578682, -2.57192694985560522, 0.59603920482822492]])

P = np.array([
    [13 / 3 + 7 * S6 / 3, -23 / 3 - 22 * S6 / 3, 10 / 3 + 5 * S6],
    [13 / 3 - 7 * S6 / 3, -23 / 3 + 22 * S6 / 3, 10 / 3 - 5 * S6],
    [1 / 3, -8 / 3, 10 / 3]])

for _a in (C, A, B, E, T, TI, P):
    _a.setflags(write=False)
