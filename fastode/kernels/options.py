"""The option groups every whole-interval driver takes, in their order (issue #12: a few groups,
not 26-40 positional arguments).

The drivers receive them as plain tuples in the field order below and unpack them on their
first lines. Plain tuples, not these namedtuples: numba's dispatcher types a tuple of arrays
and scalars in ~0.1 us per call, a namedtuple in ~0.6 us (measured with 5 groups: 1.4 against
4.2 us per call; a flat 28-argument call 1.0 us: bench/dispatch_groups.py). The namedtuples give the fields their names
for Python callers and documentation: ``tuple(Tolerances(rtol, atol))`` is the group.

    explicit_rk_solve(rhs, p, t0, t1, y0, tolerances, tableau, steps, output, events)
    rosenbrock_solve(coefficients, rhs, jac, p, t0, t1, y0, tolerances, mass_matrix, steps,
                     output, events, jacobian)     (esdirk_solve: the same)
    radau_driver / bdf_solve(rhs, jac, p, t0, t1, y0, tolerances, mass_matrix, steps, output,
                             events, jacobian)

They return the 13-tuple (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg, ev_t, ev_y,
ev_index, n_ev, counters) described in fastode.ivp_implicit.
"""
from collections import namedtuple

import numpy as np

# rtol, atol: float64 arrays of length n
Tolerances = namedtuple("Tolerances", "rtol atol")
# first_step (<= 0: chosen), max_step, min_step, max_steps (<= 0: unlimited); explicit methods
# lead with ``adaptive`` (False: steps of exactly first_step)
StepLimits = namedtuple("StepLimits", "first_step max_step min_step max_steps")
ExplicitStepLimits = namedtuple("ExplicitStepLimits",
                                "adaptive first_step max_step min_step max_steps")
# t_eval (float64 array), use_t_eval, dense (record dense-output segments)
Output = namedtuple("Output", "t_eval use_t_eval dense")
# event function addresses (int64), directions (float64), terminal counts (int64), samples
Events = namedtuple("Events", "addresses directions terminal samples")
# mass (n, n) float64 (or a placeholder), has_mass
MassMatrix = namedtuple("MassMatrix", "mass has_mass")
# Jacobian mode (fastode.kernels.jacobian.JAC_*), the column groups of a sparsity pattern
# (fastode.kernels.jacobian.cpr_groups), the band (kl >= 0: banded mode), and for the sparse
# direct path (kl == KL_SPARSE) the LU's column order (int64, n) and storage bound (entries of
# L, and of U; fastode.ivp_jacobian.sparse_lu_plan); otherwise a placeholder array and 0
Jacobian = namedtuple("Jacobian", "use_jac group_ptr group_cols col_ptr rows kl ku lu_order "
                      "lu_capacity")
# an explicit tableau as fastode.tableaus.explicit holds it
Tableau = namedtuple("Tableau", "C A B E E3 use_e3 error_order C_extra A_extra P")

_NO_GROUPS = np.zeros(1, dtype=np.int64)


def dense_jacobian(use_jac):
    """The Jacobian group of a dense solve: mode ``use_jac``, no column groups, no band."""
    return (np.int64(use_jac), _NO_GROUPS, _NO_GROUPS, _NO_GROUPS, _NO_GROUPS, np.int64(-1),
            np.int64(-1), _NO_GROUPS, np.int64(0))


def implicit_groups(rhs, jac, use_jac, p, t0, t1, y0, rtol, atol, mass, has_mass, first_step,
                    max_step, min_step, max_steps, t_eval, use_t_eval, dense, event_addresses,
                    event_directions, event_terminal, event_samples, group_ptr=None,
                    group_cols=None, col_ptr=None, rows=None, kl=-1, ku=-1, lu_order=None,
                    lu_capacity=0):
    """The implicit driver contract's flat arguments (fastode.ivp_implicit) as the compiled
    drivers take them: (rhs, jac, p, t0, t1, y0, tolerances, mass_matrix, steps, output, events,
    jacobian). Without the trailing column groups and band: dense; ``use_jac`` may be a bool
    (JAC_USER / JAC_FD)."""
    if group_ptr is None:
        group_ptr = group_cols = col_ptr = rows = _NO_GROUPS
        kl = ku = -1
    if lu_order is None:
        lu_order = _NO_GROUPS
    return (rhs, jac, p, t0, t1, y0, (rtol, atol), (mass, has_mass),
            (first_step, max_step, min_step, max_steps), (t_eval, use_t_eval, dense),
            (event_addresses, event_directions, event_terminal, event_samples),
            (int(use_jac), group_ptr, group_cols, col_ptr, rows, int(kl), int(ku), lu_order,
             int(lu_capacity)))
