"""Automatic stiffness switching (``method="LSODA"`` / ``"auto"``): the two legs' kernels.

fastode.ivp_auto alternates between two drivers, each of which integrates until the end of the
interval, a terminal event, a failure, or a switch point, where it stops with a status that is
not a public one (:data:`STIFF`, :data:`NONSTIFF`) and returns the state reached:

* :func:`explicit_leg_solve` - an adaptive explicit RK pair whose 6th stage sits at c = 1 and
  whose 7th stage is f(t_new, y_new) (FSAL): Dormand-Prince 5(4) (scipy's RK45) or Tsit5. The
  step loop is the one of fastode.kernels.explicit.explicit_rk_solve (same arithmetic, so with
  no switch the steps are those of RK45 bit for bit) plus Hairer's stiffness detection of
  DOPRI5 (Hairer & Wanner, Solving ODEs II, Sec. IV.2; dopri5.f "stiffness detection"):
  after every accepted step

      h rho,   rho = ||k7 - k6|| / ||y_new - y6||        (k6 = f(t + h, y6), k7 = f(t + h, y_new))

  estimates |h lambda| for the dominant eigenvalue; the stability boundary of DOPRI5 on the
  negative real axis is ~3.3. Every accepted step with h rho > 3.25 counts a stiff signal;
  6 consecutive non-stiff ones reset the count; :data:`STIFF_SIGNALS` (15) signals stop the leg
  with status :data:`STIFF` (dopri5.f's rule, checked at every step rather than every 1000th).
* :func:`rodas_leg_solve` - Rodas4 (no mass matrix), which
  evaluates J = df/dy at every step anyway; after each accepted step it bounds the spectral
  radius by ||J||_inf and counts the step as non-stiff when |h| ||J||_inf <= :data:`BACK_HRHO`
  (1.0: the explicit method would be stable, well inside its region, at the step the stiff
  method takes for accuracy). :data:`NONSTIFF_STEPS` (10) consecutive non-stiff steps stop the
  leg with status :data:`NONSTIFF`. The gap between 3.25 (to stiff) and 1.0 (back), and the
  step counts, keep the switching from oscillating.

Both follow the implicit driver contract's outputs (13-tuple, fastode.ivp_implicit) plus the
state reached ``y`` and the event occurrence counts ``ev_count`` (an in/out argument, so that a
terminal event counts its occurrences across legs); ``counters`` is
``[nfev, naccept, nreject, t_final, njev, nlu, h_abs_next, attempts]``.

:func:`bdf_leg_solve` is the stiff leg below rtol 1e-7 (fastode.ivp_auto's rule): variable-order
NDF/BDF that keeps J and its LU over many steps, with the same switch-back test on its J
(re-evaluated at least every :data:`JAC_AGE_STEPS` accepted steps).
fastode.kernels.switching.compiled.switching_solve runs the whole alternation of legs in one
compiled call (the implicit driver contract plus the explicit tableau and the choice of leg).

For the step-by-step class fastode.solvers_lsoda.LSODA, ``explicit_leg_start`` /
``explicit_leg_advance`` and ``rodas_leg_start`` / ``rodas_leg_advance`` take the same steps one
accepted step per call, from state kept in caller-owned arrays (``sv``, indices ``L_*``).

Why the Rodas4 step is written out in the generated drivers (``solve.py``, made from
``driver.py`` by fastode.kernels.expand): in rodas_leg_solve the helpers that took arrays (the
FD Jacobian, f_t, the LU, the stages and solves, the error norm; inlined or not) cost an atomic
reference-count increment or decrement per array argument per call, 40-70 per step that
numba's refcount pruning did not remove. Written out, ~1 per step is left (counted with
NUMBA_DEBUG_NRT=1 on Van der Pol mu=1e3, Robertson, HIRES), and the LSODA kernels of a whole
solve ran 1.6x (Van der Pol, Robertson) and 1.2x (HIRES, n = 8) faster, with bit-identical
results. The Rodas4 step is written once, in fastode.kernels.rosenbrock.step, shared with
rosenbrock_solve; the explicit legs share fastode.kernels.explicit's step.
"""

# The family's modules; every name the old single module defined is re-exported here.
# solve.py is generated from driver.py (fastode.kernels.expand), before it is imported
from ..expand import ensure_expanded

ensure_expanded("switching.driver", "switching.solve")
from .solve import (STIFF, NONSTIFF, STIFF_HRHO, STIFF_SIGNALS, NONSTIFF_RESET, BACK_HRHO,
                    NONSTIFF_STEPS, JAC_AGE_STEPS, explicit_leg_solve, rodas_leg_solve,
                    bdf_leg_solve)  # noqa: E402
from .advance import (L_T, L_H_ABS, L_H, L_NFEV, L_NJEV, L_NLU, L_NACCEPT, L_NREJECT, L_N_STIFF,
                      L_N_NONSTIFF, L_LEG_NACCEPT, L_H_ACC, L_ERR_ACC, L_N_SINGULAR, L_N_BACK,
                      L_NORM_J, L_SIZE, explicit_leg_start, explicit_leg_advance, rodas_leg_start,
                      rodas_leg_advance)
# the LSODA class (fastode.solvers_lsoda) sizes its Rodas4 buffers from the tableau
from ..rosenbrock.coefficients import R4_B, R4_H  # noqa: F401
