"""ESDIRK methods (Kvaerno5, KenCarp4, adaptive backward Euler) for y' = f(t, y) and M y' = f(t, y).

One driver, :func:`esdirk_solve`, takes a stiffly accurate ESDIRK tableau of
fastode.tableaus.sdirk as arguments; the per-method drivers (:func:`kvaerno5_solve`,
:func:`kencarp4_solve`, :func:`implicit_euler_solve`) bind its module-level arrays and follow
the implicit driver contract of fastode.ivp_implicit. :func:`implicit_euler_fixed_solve` takes
steps of exactly ``first_step`` (no error control).

Per step (stage values Y_i = y + u_i, stage derivatives z_i = h f(t + c_i h, Y_i)):

* z_0 = h f(t, y) (first same as last: f(t_new, y_new) = z_{s-1} / h after convergence);
* stage i >= 1: simplified Newton on G(u) = M u - R_i - h gamma f(t + c_i h, y + u) = 0 with
  R_i = sum_{j<i} A[i, j] z_j and the iteration matrix W = M - h gamma J (one LU, shared by
  all stages), from the predictor u = R_i + gamma sum_j ALPHA[i, j] z_j; stopped when
  eta ||du|| <= newton_tol (Hairer & Wanner II, Sec. IV.8: eta = theta / (1 - theta) from the
  observed contraction theta, or max(eta_old, eps)^0.8 on the first iteration, as in Hairer's
  SDIRK4); diverging (theta >= 1) or too slow iterations fail; then z_i = (M u - R_i) / gamma;
* y_new = y + u_{s-1} (stiffly accurate); error estimate sum_i E[i] z_i, filtered through
  W^-1 (the tableau's ``smooth_est``; always with a mass matrix), RMS norm with
  atol + rtol max(|y|, |y_new|);
* step size: Gustafsson's predictive controller (as fastode.kernels.radau) with exponent
  1 / (min(order, error_order) + 1), safety 0.9 (2 maxit + 1) / (2 maxit + newton iterations);
  factors 0.2 .. 10;
* reuse: J is kept across steps and recomputed after an accepted step whose Newton needed more
  than 2 iterations at a rate above 1e-3 in some stage, or when the next step is more than
  ``JAC_GROWTH`` = 10 times the first step taken with this J, or when Newton fails with an
  old J; the LU is kept while h is kept (a step-size factor in [1, 1.2] is not taken);
* Newton failure with a fresh J (or a singular W, or a non-finite f) halves the step.

Structured and banded Jacobians: with column groups of a sparsity pattern (``jac_sparsity``,
``lband``/``uband``) J comes from grouped finite differences (scipy's ``_sparse_num_jac``,
fastode.kernels.jacobian.num_jac_grouped: one RHS call per group); in banded mode (``kl`` >= 0)
J is kept in band storage (kl + ku + 1, n) and W = M - h gamma J is factored by the banded LU
of fastode.kernels.linalg (LAPACK gbtrf layout): O(n (kl + ku)) memory and O(n kl (kl + ku))
work per factorisation instead of O(n^2) and O(n^3). Same steps as the dense path, up to
rounding.

Dense output in monomial form: the tableau's continuous extension when it has one (KenCarp4,
order 3), else the cubic Hermite interpolant of y, f at both ends (Kvaerno5, implicit Euler);
with a mass matrix (f is not y' there), the cubic through y, two interior stage values and
y_new (stage order 2: O(h^3)), or linear interpolation for backward Euler.

Counters: [nfev, naccept, nreject, t_final, njev, nlu]; nfev counts the RHS calls of the
method (a finite-difference Jacobian's are counted in njev, as scipy); nreject counts
error-test rejections and Newton failures.
"""

# The family's modules; every name the old single module defined is re-exported here.
from .newton import (NEWTON_MAXITER, MIN_FACTOR, MAX_FACTOR, KEEP_LO, KEEP_HI, JAC_RATE, JAC_GROWTH,
                     MAX_SINGULAR_CUTS, FAIL_STATUS, factor_w, fresh_jacobian, stage_newton,
                     factor_w_band, stage_newton_band, predict_factor)
# solve.py is generated from driver.py (fastode.kernels.expand), before it is imported
from ..expand import ensure_expanded

ensure_expanded("esdirk.driver", "esdirk.solve")
from .solve import esdirk_solve  # noqa: E402
from .methods import (KV5_A, KV5_C, KV5_E, KV5_AL, KV5_D, KV5_SD, KV5_SA, KV5_SB, KC4_A, KC4_C,
                      KC4_E, KC4_AL, KC4_D, KC4_SD, KC4_SA, KC4_SB, IE_A, IE_C, IE_E, IE_AL, IE_D,
                      IE_SD, kvaerno5_solve, kencarp4_solve, implicit_euler_solve,
                      implicit_euler_fixed_solve)
