"""Variable-order (1-5) numerical differentiation formulas, step for step as scipy's ``BDF``.

L. F. Shampine, M. W. Reichelt, "The MATLAB ODE Suite", SIAM J. Sci. Comput. 18 (1997)
(the Klopfenstein-Shampine NDFs, kappa below, in the backward-difference form of ode15s);
scipy/integrate/_ivp/bdf.py implements the same scheme:

* the state is the modified divided-difference array D (MAX_ORDER + 3 rows) of the
  interpolating polynomial through the last order + 1 solution values at equal spacing h;
  a step-size change by ``factor`` re-samples that polynomial (``change_D``, Shampine-Reichelt
  eq. 2.6: D <- (R U)^T D);
* predictor y_p = sum D[:order + 1]; the corrector d solves
  ``(M d + M psi) = c f(t_new, y_p + d)``, c = h / alpha_k, psi = sum gamma_j D_j / alpha_k,
  by simplified Newton with ``M - c J`` (at most 4 iterations, rate test as scipy);
* J is kept across steps and recomputed only when Newton fails with an old J; the LU is kept
  while h is unchanged (after an error-test rejection it is kept too, as scipy does);
* error estimate error_const[k] d; after order + 1 steps of equal size the order moves by at
  most one to the one promising the largest step (estimates from D[k] and D[k + 2]);
* dense output: the interpolating polynomial of the step, converted to monomial form
  y(t + theta h) = y(t) + sum_j Q[:, j] theta^(j+1), Q of width 5 (unused columns zero).

Jacobians (the ``use_jac`` mode of fastode.kernels.jacobian; a bool is read as JAC_USER /
JAC_FD): the user's (JAC_USER), a constant one evaluated once (JAC_CONSTANT: as scipy, never
re-evaluated and not counted in njev), or scipy's ``num_jac`` forward differences with adaptive
increments, dense (JAC_FD: n RHS calls) or by column groups of a sparsity pattern
(JAC_FD_GROUPED, scipy's sparse ``num_jac``: one call per group, and the same numbers as the
dense differences).

Banded mode (``kl >= 0``, from ``lband``/``uband`` or a banded ``jac_sparsity``): J is stored
in band form (kl + ku + 1, n), the iteration matrix M - c J in LAPACK's gbtrf layout
(2 kl + ku + 1, n), both F-ordered, factored and solved by fastode.kernels.linalg's banded LU;
the mass matrix must lie inside the band. O(n (kl + ku)) memory and work per step instead of
O(n^2) and O(n^3): one banded LU is then reused over many steps. For a tridiagonal J the steps
are those of the dense path to the last bit (same J entries, the same LU operations).

Mass matrices (``M y' = f``, constant M) enter the Newton matrix and residual. With a singular
M the first derivative y'(t0) is unknown: the start uses y'(t0) = 0 for all components at
h = 1e-6 unless ``first_step`` is given (order 1 then corrects it within a few steps).

Kernels: :func:`bdf_solve`, the solve_ivp driver (steps, output, events, dense output);
:func:`bdf_start` and :func:`bdf_advance`, the same start and one step of it with the state in
caller-owned arrays, for the step-by-step class fastode.solvers_bdf.BDF. The step's control
flow is written out in each (an inlined step function would pass ~25 arrays per step, each a
reference-count round trip: measured 1.3-1.5x slower on Robertson and Van der Pol).
:func:`bdf_solve` also writes out the per-step helpers that take arrays (D update, Newton, LU
factor and solve, interpolant, dense segment): each array argument of an inlined helper costs
an atomic NRT incref/decref pair per call, measured ~45-50 per step, 1.2-1.7x of its kernel
time (see bdf_solve); :func:`bdf_advance` calls the helpers below (it runs one step per Python
call, where that traffic is small next to the call itself).

Counters: [nfev, naccept, nreject, t_final, njev, nlu]; as scipy, the RHS calls of a
finite-difference Jacobian are not in nfev.
"""

# The family's modules; every name the old single module defined is re-exported here.
from .newton import (MAX_ORDER, NEWTON_MAXITER, MIN_FACTOR, FAIL_STATUS, MAX_SINGULAR_CUTS,
                     MAX_FACTOR, KAPPA, GAMMA, ALPHA, ERROR_CONST, W_PREDICT, W_PSI, W_SCALE, W_D,
                     W_B, W_FJAC, W_YTMP, W_HVEC, W_YSCALE, W_CMAX, W_CSCALE, W_F, W_JFAC,
                     WORK_ROWS, S_H_ABS, S_ORDER, S_N_EQUAL, S_LU_VALID, C_NFEV, C_NJEV, C_NLU,
                     C_NREJECT, C_ATTEMPTS, band_lu_solve_inline, compute_R, change_D, bdf_newton)
from .dense import bdf_interpolant, bdf_dense
# solve.py is generated from driver.py (fastode.kernels.expand), before it is imported
from ..expand import ensure_expanded

ensure_expanded("bdf.driver", "bdf.solve")
from .solve import bdf_driver  # noqa: E402
from .methods import bdf_solve  # noqa: E402
from .advance import bdf_start, bdf_advance
