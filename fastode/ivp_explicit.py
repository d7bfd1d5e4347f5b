"""The explicit Runge-Kutta path of fastode.solve_ivp: options -> compiled RHS -> kernel -> result.

One driver, fastode.kernels.explicit.explicit_rk_solve, runs every explicit tableau of
fastode.methods (family "explicit"), adaptive or fixed-step.
"""
import warnings

import numpy as np

from .ivp_common import (DUMMY_T_EVAL, NO_EVENTS_F, NO_EVENTS_I, compiled_rhs, pack,
                         positive_option, fixed_or_adaptive_first_step, parse_step_options,
                         shape_result)
from .kernels import status as st
from .kernels import explicit as _explicit_kernels
from .kernels.explicit import explicit_rk_solve
from .kernels.progress import announce_compiles
from .results import MESSAGES, MIN_STEP_MESSAGE
from .rhs import Extras, compile_event, forget_stale_failures, raise_failures

# options of scipy.integrate.solve_ivp that explicit methods ignore (scipy warns for them too)
_IMPLICIT_ONLY_OPTIONS = ("jac", "jac_sparsity", "lband", "uband")


# a compile (or cache load) that outlasts a second says so on stderr
announce_compiles(_explicit_kernels)


def solve_explicit(fun, chosen, method, t0, t1, y0_real, n, is_complex, args, rtol, atol,
                   t_eval_arr, dense_output, event_list, vectorized, options):
    """solve_ivp for an explicit method (called by fastode.ivp.solve_ivp after the common
    validation of t_span, y0, rtol/atol, t_eval and events; ``method`` as the user gave it)."""
    if "mass" in options:
        # an explicit method cannot solve M y' = f: ignoring `mass` would solve y' = f
        raise ValueError(f"`mass` is not supported by the explicit method {chosen.name!r}; "
                         "use a stiff method that accepts it: 'Radau', 'BDF', 'Rodas5P', "
                         "'Rodas4', 'Rosenbrock23', 'KenCarp4', 'Kvaerno5' or 'implicit_euler'.")
    step = positive_option(options, "step", 0.0)
    max_step, first_step, min_step, max_steps, event_samples = parse_step_options(options, t0, t1)
    first_step = fixed_or_adaptive_first_step(chosen, method, step, first_step, t0, t1)
    if options:
        ignored = [k for k in options if k in _IMPLICIT_ONLY_OPTIONS]
        unknown = [k for k in options if k not in _IMPLICIT_ONLY_OPTIONS]
        warnings.warn(f"The following arguments have no effect for a chosen solver: "
                      f"{', '.join('`%s`' % k for k in ignored + unknown)}.", UserWarning,
                      stacklevel=3)
    return run_explicit(fun, chosen, t0, t1, y0_real, n, is_complex, args, rtol, atol,
                        t_eval_arr, dense_output, event_list, vectorized, first_step, max_step,
                        min_step, max_steps, event_samples)


def run_explicit(fun, chosen, t0, t1, y0_real, n, is_complex, args, rtol, atol, t_eval_arr,
                 dense_output, event_list, vectorized, first_step, max_step, min_step,
                 max_steps, event_samples):
    """Compile (or fetch) the user functions, run the explicit RK kernel, shape the result."""
    specs, p = pack(args)
    extras = Extras(specs)
    rhs = compiled_rhs(fun, t0, y0_real, n, is_complex, args, specs, vectorized, extras)
    compiled_events = [compile_event(e, n, args, is_complex, extras) for e, _, _ in event_list]
    p = extras.pack(args, specs, p)  # + the current values of numeric globals the functions read

    tab = chosen.tableau
    failure = rhs.failure
    if failure is not None and failure.flag[0]:  # a note nobody reported (see forget_stale)
        failure.buffer[0] = 0.0
    if event_list:
        forget_stale_failures(compiled_events)
        addresses = np.array([c.address for c in compiled_events], dtype=np.int64)
        terminal = np.array([c for _, c, _ in event_list], dtype=np.int64)
        directions = np.array([d for _, _, d in event_list])
    else:
        addresses, terminal, directions = NO_EVENTS_I, NO_EVENTS_I, NO_EVENTS_F
    (status, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg, ev_t, ev_y, ev_index, n_ev,
     counters) = explicit_rk_solve(
        rhs.address, p, t0, t1, y0_real, (rtol, atol),
        (tab.C, tab.A, tab.B, tab.E, tab.E3, chosen.use_e3, tab.error_order, tab.C_extra,
         tab.A_extra, tab.P),
        (chosen.adaptive, first_step, max_step, min_step, int(max_steps or 0)),
        (t_eval_arr if t_eval_arr is not None else DUMMY_T_EVAL, t_eval_arr is not None,
         bool(dense_output)),
        (addresses, directions, terminal, event_samples))
    status = int(status)
    if rhs.errors or compiled_events or (rhs.failure is not None and rhs.failure.flag[0]):
        # fun or an event raised (or fun returned another length): re-raise it, as scipy
        raise_failures([rhs] + compiled_events, args, 1.0 if t1 >= t0 else -1.0)

    message = MESSAGES[status]
    if status == st.STEP_TOO_SMALL and min_step > 0:
        message = MIN_STEP_MESSAGE.format(min_step=min_step)
    if "{" in message:
        message = message.format(max_steps=max_steps, t=float(counters[3]))
    return shape_result(status, message, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg,
                        ev_t, ev_y, ev_index, n_ev, counters, t0, y0_real, n, is_complex,
                        tab.P.shape[1], dense_output, len(event_list), 0, 0)

