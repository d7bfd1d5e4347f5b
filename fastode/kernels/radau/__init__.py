"""Radau IIA of order 5: Hairer & Wanner's RADAU5 scheme, step for step as scipy's ``Radau``.

E. Hairer, G. Wanner, Solving Ordinary Differential Equations II, 2nd ed., Sec. IV.8.
The scheme (scipy/integrate/_ivp/radau.py follows the same one):

* simplified Newton on the transformed stage system W = TI Z: per iteration three RHS calls,
  one real solve with ``MU_REAL/h M - J`` and one complex solve with ``MU_COMPLEX/h M - J``
  (``M`` = identity, or the mass matrix of ``M y' = f(t, y)``), stopped on the estimated
  convergence rate (at most NEWTON_MAXITER iterations);
* Jacobian reuse: J is kept across steps and recomputed after an accepted step whose Newton
  needed more than 2 iterations with rate > 1e-3, or when Newton fails with an old J; the LU
  factors are kept while the step size is kept (a step-size factor below 1.2 is not taken);
* Newton failure with a fresh J halves the step;
* error estimate ``(MU_REAL/h M - J)^{-1} (f + M Z^T E / h)``, refined with one more RHS call
  after a rejection (Hairer-Wanner IV.8, eq. 8.20-8.21);
* Gustafsson's predictive step-size controller (``predict_factor``);
* collocation dense output, the cubic y + Z^T P [theta, theta^2, theta^3] in monomial form; it
  also predicts the next step's stage values.

Mass matrices: ``M y' = f`` with constant M, singular M allowed (index-1 DAEs: the algebraic
components need consistent initial values). Without ``first_step`` a DAE starts at h = 1e-6
(RADAU5's default), since f(t0, y0) is not y'(t0) there.

Counters: [nfev, naccept, nreject, t_final, njev, nlu]; nreject counts error-test rejections
and Newton failures; nlu counts each real and each complex factorisation (2 per refactor), as
scipy does.

Structured and banded Jacobians (``radau_solve`` only): with column groups of a sparsity
pattern (``jac_sparsity``, ``lband``/``uband``) J comes from grouped finite differences, scipy's
``_sparse_num_jac`` (fastode.kernels.jacobian.num_jac_grouped: one RHS call per group);
in banded mode (``kl`` >= 0) J is kept in band storage and both iteration matrices, real and
complex, are factored by the banded LU of fastode.kernels.linalg: O(n (kl + ku)) memory,
O(n kl (kl + ku)) work per factorisation, where the dense path needs O(n^2) and O(n^3)
(n = 10^4: 2.4 GB of matrices). Same steps as the dense path, up to rounding.

``radau_solve`` integrates a whole interval. ``radau_init`` + ``radau_advance`` run the same
step one call at a time from state kept in caller-owned arrays (``radau_workspace``), for the
step-by-step class fastode.solvers_radau.Radau.
"""

# The family's modules; every name the old single module defined is re-exported here.
# solve.py is generated from driver.py (fastode.kernels.expand), before it is imported.
from ..expand import ensure_expanded

ensure_expanded("radau.driver", "radau.solve")
from .newton import (NEWTON_MAXITER, MIN_FACTOR, FAIL_STATUS, MAX_SINGULAR_CUTS, MAX_FACTOR, C0, C1,
                     C2, E0, E1, E2, MU_REAL, MU_CR, MU_CI, T00, T01, T02, T10, T11, T12, T20, T21,
                     T22, TI00, TI01, TI02, TI10, TI11, TI12, TI20, TI21, TI22, P00, P01, P02, P10,
                     P11, P12, P20, P21, P22, predict_factor, factor_radau, radau_newton,
                     mass_times, mass_times_band, factor_radau_band, radau_newton_band)
from .solve import radau_driver  # noqa: E402
from .methods import radau_solve  # noqa: E402
from .advance import (SV_T, SV_T1, SV_DIRECTION, SV_MAX_STEP, SV_MIN_STEP, SV_MAX_STEPS,
                      SV_NEWTON_TOL, SV_H_ABS, SV_H_ABS_OLD, SV_ERR_OLD, SV_CURRENT_JAC,
                      SV_LU_VALID, SV_HAVE_SOL, SV_T_SOL, SV_H_SOL, SV_ATTEMPTS, SV_NFEV, SV_NJEV,
                      SV_NLU, SV_NACCEPT, SV_NREJECT, SV_ACCEPTED, SV_T_NEW, SV_H, SV_SIZE,
                      step_jacobian, radau_step, radau_commit, V_Y, V_Y_NEW, V_F, V_F_NEW, V_YTMP,
                      V_FBUF, V_SCALE, V_ERR, V_BR, VEC_ROWS, radau_workspace, radau_init,
                      radau_advance)
