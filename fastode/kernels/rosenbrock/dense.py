"""Rosenbrock methods: the dense-output interpolant ``rosenbrock_dense`` (moved from
kernels/rosenbrock.py)."""

from numba import njit

from ...tableaus.rosenbrock import ROS23_D


@njit(cache=True, nogil=True, inline="always")
def rosenbrock_dense(kind, H, h, y, y_new, K, hv, Q):
    """Dense-output coefficients Q (monomial form) of the accepted step."""
    n = y.shape[0]
    if kind == 1:
        inv = h / (1.0 - 2.0 * ROS23_D)
        for i in range(n):
            Q[i, 0] = inv * (K[0, i] - 2.0 * ROS23_D * K[1, i])
            Q[i, 1] = inv * (K[1, i] - K[0, i])
    else:
        m = H.shape[0]
        s = H.shape[1]
        for i in range(n):
            for r in range(m):
                acc = 0.0
                for j in range(s):
                    acc += H[r, j] * K[j, i]
                hv[r] = acc
            # (1-th) y + th (y_new + (1-th)(hv_1 + th hv_2 + ...)) in powers of th
            Q[i, 0] = y_new[i] - y[i] + hv[0]
            for r in range(1, m):
                Q[i, r] = hv[r] - hv[r - 1]
            Q[i, m] = -hv[m - 1]
    # one exit and a last use of every array in one block: the inlined helper's reference
    # counts are then pruned (an early return here cost 6 incref/decref pairs per step;
    # kernels/output.py)
    n += 0 * (H.shape[0] + y.shape[0] + y_new.shape[0] + K.shape[0] + hv.shape[0]
              + Q.shape[0])
