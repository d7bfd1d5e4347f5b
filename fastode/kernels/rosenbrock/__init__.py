"""Rosenbrock methods: Rodas4 and Rodas5P (Hairer-Wanner form, any tableau of
fastode.tableaus.rosenbrock) and Rosenbrock23 (Shampine-Reichelt's ode23s), for y' = f(t, y)
and M y' = f(t, y).

One driver, :func:`rosenbrock_solve`, takes the tableau as arguments (``kind`` 0: Hairer form,
1: ode23s); the per-method drivers :func:`rodas4_solve`, :func:`rodas5p_solve` and
:func:`rosenbrock23_solve` bind
the module-level tableau arrays and follow the implicit driver contract of
fastode.ivp_implicit (plus the four trailing Jacobian-structure arrays of
fastode.kernels.jacobian.fd_jacobian_grouped).

Per step: J = df/dy (user function, constant, or forward differences, grouped when a sparsity
pattern is known, with the increments of fastode.kernels.jacobian.fd_increment_scaled) and
f_t = df/dt (one forward difference) at (t, y), recomputed after every
accepted step; one LU of W = M / (gamma h) - J (ode23s: W = M - h d J) per attempted step.
A singular W halves the step; five in a row end the integration with status SINGULAR.

Banded mode (``kl >= 0``, from ``lband``/``uband`` or a banded ``jac_sparsity``): J is kept in
band storage (kl + ku + 1, n) filled by column-grouped finite differences
(:func:`fastode.kernels.jacobian.fd_jacobian_grouped` with ``banded``, kl + ku + 1 RHS
calls), W in LAPACK's
gbtrf layout (2 kl + ku + 1, n), both F-ordered, factored and solved by
:func:`fastode.kernels.linalg.band_lu_factor` / ``band_lu_solve_row``: O(n (kl + ku)) memory
and O(n kl (kl + ku)) work per step instead of O(n^2) and O(n^3). Same steps as the dense path
up to rounding.

Step-size control (Hairer & Wanner II, Sec. IV.8; Hairer's rodas.f): err = RMS norm of the
error estimate with atol + rtol max(|y|, |y_new|); h_new = h / fac with
fac = clamp(err^(1/(q+1)) / 0.9, 1/6, 5) (q: order of the embedded solution); after an
accepted step Gustafsson's predictive controller may shrink the step further; no growth right
after a rejection.

Dense output in monomial form y(t + theta h) = y + sum_j Q[:, j] theta^(j+1): Hairer-form
methods use y(theta) = (1-theta) y + theta (y_new + (1-theta)(hv_1 + theta hv_2 + ...));
ode23s uses y + h (theta (1-theta) k1 + theta (theta - 2d) k2) / (1 - 2d).
"""

# The family's modules; every name the old single module defined is re-exported here.
from .coefficients import (SAFE, FAC_MIN, FAC_MAX, MAX_SINGULAR, R4_GAMMA, R4_A, R4_C, R4_c, R4_d,
                           R4_B, R4_E, R4_H, R5P_GAMMA, R5P_A, R5P_C, R5P_c, R5P_d, R5P_B, R5P_E,
                           R5P_H, _EMPTY_2D, _EMPTY_1D)
from .dense import rosenbrock_dense
# solve.py is generated from driver.py (fastode.kernels.expand), before it is imported
from ..expand import ensure_expanded

ensure_expanded("rosenbrock.driver", "rosenbrock.solve")
from .solve import rosenbrock_solve  # noqa: E402
from .methods import rodas4_solve, rodas5p_solve, rosenbrock23_solve
