"""Explicit Runge-Kutta: one step function and one driver for fixed and adaptive stepping.

The driver is compiled once for every tableau and every RHS: the tableau arrives as arrays
(fastode.tableaus.explicit), the RHS and event functions as C function addresses
(kernels/callbacks.py).
"""

# The family's modules; every name the old single module defined is re-exported here.
from .step import rk_step, all_finite, all_finite_row
from ..record import record_events, record_segment
from .advance import advance_step, explicit_rk_advance, explicit_rk_step_dense
# solve.py is generated from driver.py (fastode.kernels.expand), before it is imported
from ..expand import ensure_expanded

ensure_expanded("explicit.driver", "explicit.solve")
from .solve import explicit_rk_solve  # noqa: E402
