"""solve_ivp with automatic stiffness switching: ``method="LSODA"`` and ``method="auto"``.

The switching rule
------------------
Integration starts with an explicit method (``LSODA``: Dormand-Prince 5(4), scipy's RK45;
``auto``: Tsitouras 5(4), Tsit5) and switches to a stiff method and back. The stiff leg depends
on the tolerance (measured on Robertson, HIRES, Van der Pol mu=1e3 and POLLU, docs/benchmarks.md):

* ``max(rtol) >= BDF_BELOW_RTOL`` (1e-7): Rodas4 (L-stable Rosenbrock, a Jacobian and an LU at
  every step, no Newton iteration). At loose tolerances it takes few, long steps and is more
  accurate than BDF at the same rtol (Van der Pol at rtol 1e-3: 0.13 ms against 0.25 ms).
* ``max(rtol) < BDF_BELOW_RTOL``: variable-order NDF/BDF (fastode.kernels.bdf's step, scipy's
  BDF), which keeps J and the LU of I - (h / alpha) J over many steps: J is re-evaluated after a
  Newton failure with an old J and after 20 accepted steps (ODEPACK's LSODA does the same), the
  LU when h / alpha changes. At tight tolerances Rodas4 paid n + 1 RHS calls and an LU per
  step (POLLU at rtol 1e-10: 1074 Jacobians in 1101 steps; the BDF leg: 33 Jacobians, 147 LUs,
  4.5x faster).

The switching rule:

* explicit -> stiff: after every accepted step, Hairer's DOPRI5 estimate of the dominant
  eigenvalue from the two last stages, both at t + h,
  ``h rho = h ||f(t+h, y_new) - f(t+h, y6)|| / ||y_new - y6||``. ``h rho > 3.25`` (the
  stability boundary on the negative real axis is ~3.3) is a stiff signal: the step is limited
  by stability, not accuracy. 15 signals, not interrupted by 6 non-stiff steps in a row,
  declare the problem stiff (dopri5.f's counters; Hairer & Wanner, Solving ODEs II, Sec. IV.2,
  "Automatic stiffness detection"). The stiff leg starts from the explicit leg's last (t, y)
  with its own initial step (Hairer's initial-step estimate).
* stiff -> explicit: ``||J||_inf`` (of the J the stiff leg holds: Rodas4's of the step, BDF's at
  most 20 steps old) bounds the spectral radius. A step with ``|h| ||J||_inf <= 1`` is one the
  explicit method could take stably, well inside its region; 10 such accepted steps in a row
  switch back, starting the explicit leg with the stiff leg's proposed step (at most
  2 / ||J||_inf).
The thresholds are apart (3.25 in, 1 out) and both need a run of steps, so the switching does
not oscillate. A problem that never looks stiff is integrated by the explicit method alone,
step for step as ``RK45`` (``LSODA``) or ``Tsit5`` (``auto``) would.

The legs' outputs are joined as one integration: ``t``/``y`` (each switch point once; with
``t_eval``, each leg gets the points left), dense output (one ``OdeSolution`` over every
segment of both methods; the shorter polynomial is padded with zero coefficients), events
(terminal counts carry across legs), and the counters ``nfev``, ``njev``, ``nlu``,
``naccept``, ``nreject`` (summed; ``nfev`` includes the RHS calls of finite-difference
Jacobians in both stiff legs). ``sol.method_switches`` lists ``(t, from, to)`` for every
switch, e.g. ``(0.0123, "RK45", "Rodas4")``, or ``(0.0123, "RK45", "BDF")`` below rtol 1e-7.

Options: those of the explicit methods plus ``jac``, ``jac_sparsity``, ``lband``/``uband``
(used by the stiff legs to group finite differences; their LU is dense). ``mass`` is not supported (use Radau, BDF or Rodas4).
"""
import warnings

import numpy as np

from .ivp_common import (DUMMY_T_EVAL, NO_EVENTS_F, NO_EVENTS_I, Y0_NOT_FINITE, _all_finite,
                         compiled_rhs, pack, parse_step_options, shape_result)
from .ivp_jacobian import FD_STRUCT, NO_LU_ORDER, compile_jac, jacobian_structure, real_pairs_structure
from .kernels import status as st
from .kernels import switching as _switching_kernels
from .kernels.progress import announce_compiles
from .kernels.switching import NONSTIFF, STIFF, bdf_leg_solve, explicit_leg_solve, rodas_leg_solve
from .results import MESSAGES, MIN_STEP_MESSAGE
from .rhs import Extras, compile_event, failed, forget_stale_failures, raise_failures
from .tableaus import explicit as explicit_tableaus

# a kernel compile (or cache load) that outlasts a second says so on stderr
announce_compiles(_switching_kernels)

# switching method name -> (name shown in method_switches, explicit tableau)
NONSTIFF_METHODS = {
    "LSODA": ("RK45", "dormand_prince_54"),
    "auto": ("Tsit5", "tsitouras_54"),
}
# the stiff leg: Rodas4 (a J and an LU at every step) where the largest rtol is at least
# BDF_BELOW_RTOL, variable-order BDF (J and LU kept over many steps) below it
STIFF_NAME = "Rodas4"
BDF_NAME = "BDF"
BDF_BELOW_RTOL = 1e-7

_TABLEAU_GROUPS = {}


def _tableau_group(name):
    """The explicit leg's tableau group (kernels/options.Tableau order), built once per
    tableau."""
    group = _TABLEAU_GROUPS.get(name)
    if group is None:
        tab = explicit_tableaus.TABLEAUS[name]
        group = _TABLEAU_GROUPS[name] = (tab.C, tab.A, tab.B, tab.E, tab.E3, False,
                                         tab.error_order, tab.C_extra, tab.A_extra, tab.P)
    return group


def _parse_options(options, method_name, t0, t1):
    if options.pop("step", None) is not None:
        raise ValueError(f"`step` is for fixed-step methods; {method_name!r} is adaptive "
                         "(use `first_step` / `max_step`).")
    max_step, first_step, min_step, max_steps, event_samples = parse_step_options(options, t0,
                                                                                  t1)
    if options.pop("mass", None) is not None:
        raise ValueError(f"`mass` is not supported by method {method_name!r}; use 'Radau', "
                         "'BDF' or 'Rodas4'.")
    return max_step, first_step, min_step, max_steps, event_samples


def _pad_segments(seg_data, n, q, q_max):
    """seg_data rows [y, Q.ravel()] with Q (n, q) -> the same with Q padded to (n, q_max)."""
    if q == q_max:
        return seg_data
    k = seg_data.shape[0]
    out = np.zeros((k, n * (q_max + 1)))
    out[:, :n] = seg_data[:, :n]
    out[:, n:].reshape(k, n, q_max)[:, :, :q] = seg_data[:, n:].reshape(k, n, q)
    return out


def solve_auto(fun, chosen, t0, t1, y0_real, n, is_complex, args, rtol, atol, t_eval_arr,
               dense_output, event_list, vectorized, options):
    """solve_ivp for a switching method (called by fastode.ivp.solve_ivp after the common
    validation of t_span, y0, rtol/atol, t_eval and events)."""
    max_step, first_step, min_step, max_steps, event_samples = _parse_options(
        options, chosen.name, t0, t1)
    jac = options.pop("jac", None)
    jac_sparsity = options.pop("jac_sparsity", None)
    lband = options.pop("lband", None)
    uband = options.pop("uband", None)
    if options:
        warnings.warn(f"The following arguments have no effect for a chosen solver: "
                      f"{', '.join('`%s`' % k for k in options)}.", UserWarning, stacklevel=3)
    m = y0_real.size
    if is_complex and (jac_sparsity is not None or lband is not None or uband is not None):
        jac_sparsity, lband, uband = real_pairs_structure(jac_sparsity, lband, uband, n)
    mode_struct, structure = jacobian_structure(jac_sparsity, lband, uband, m)
    if not _all_finite(y0_real):
        raise ValueError(Y0_NOT_FINITE)

    specs, p = pack(args)
    extras = Extras(specs)
    rhs = compiled_rhs(fun, t0, y0_real, n, is_complex, args, specs, vectorized, extras)
    mode, jac_compiled = compile_jac(jac, n, args, is_complex, t0, y0_real, extras)
    if jac_compiled is None:
        mode = mode_struct
    else:
        structure = FD_STRUCT
    jac_address = jac_compiled.address if jac_compiled is not None else 0
    compiled_events = [compile_event(e, n, args, is_complex, extras) for e, _, _ in event_list]
    p = extras.pack(args, specs, p)  # + the current values of numeric globals they read
    n_events = len(event_list)
    if event_list:
        addresses = np.array([c.address for c in compiled_events], dtype=np.int64)
        terminal = np.array([c for _, c, _ in event_list], dtype=np.int64)
        directions = np.array([d for _, _, d in event_list])
    else:
        addresses, terminal, directions = NO_EVENTS_I, NO_EVENTS_I, NO_EVENTS_F
    ev_count = np.zeros(n_events, dtype=np.int64) if n_events else NO_EVENTS_I
    explicit_name, tableau_name = NONSTIFF_METHODS[chosen.name]
    tableau = _tableau_group(tableau_name)
    q_explicit = tableau[9].shape[1]
    use_t_eval = t_eval_arr is not None
    callbacks = [rhs] + compiled_events + ([jac_compiled] if jac_compiled is not None else [])
    forget_stale_failures(callbacks)

    # the option groups of the legs (fastode.kernels.options) that stay the same from leg to leg
    tolerances = (rtol, atol)
    events = (addresses, directions, terminal, event_samples)
    jacobian = (int(mode), *structure, -1, -1, NO_LU_ORDER, 0)
    dense = bool(dense_output)

    use_bdf = float(np.max(rtol)) < BDF_BELOW_RTOL
    stiff_leg = bdf_leg_solve if use_bdf else rodas_leg_solve
    stiff_name = BDF_NAME if use_bdf else STIFF_NAME
    t, y, h_next = t0, y0_real, first_step
    stiff = False
    switches = []
    legs = []  # (q, out)
    i_eval = 0
    attempts = 0
    status = st.SUCCESS
    while True:
        if max_steps is not None:
            left = max_steps - attempts
            if left <= 0:
                status = st.MAX_STEPS
                break
        else:
            left = 0
        te = np.ascontiguousarray(t_eval_arr[i_eval:]) if use_t_eval else DUMMY_T_EVAL
        if stiff:
            out = stiff_leg(rhs.address, jac_address, p, t, t1, y, tolerances,
                                  (h_next, max_step, min_step, left), (te, use_t_eval, dense),
                                  events, ev_count, jacobian, True)
            q = out[6].shape[1] // m - 1
        else:
            out = explicit_leg_solve(rhs.address, p, t, t1, y, tolerances, tableau,
                                     (True, h_next, max_step, min_step, left),
                                     (te, use_t_eval, dense), events, ev_count, True)
            q = q_explicit
        legs.append((q, out))
        status = int(out[0])
        counters = out[12]
        attempts += int(counters[7])
        if use_t_eval:
            i_eval += int(out[3])
        if failed(callbacks):  # fun, jac or an event failed: no further leg
            break
        t, y, h_next = float(counters[3]), out[13], float(counters[6])
        if status == STIFF:
            switches.append((t, explicit_name, stiff_name))
            stiff, h_next = True, 0.0
        elif status == NONSTIFF:
            switches.append((t, stiff_name, explicit_name))
            stiff = False
        else:
            break
    # fun, jac or an event raised (or returned a wrong shape): re-raise it, as scipy
    raise_failures(callbacks, args, 1.0 if t1 >= t0 else -1.0)
    if status in (STIFF, NONSTIFF):  # max_steps used up exactly at a switch
        status = st.MAX_STEPS
    return _join(legs, status, t0, y0_real, n, m, is_complex, use_t_eval, dense_output,
                 n_events, min_step, max_steps, switches)


def _join(legs, status, t0, y0_real, n, m, is_complex, use_t_eval, dense_output, n_events,
          min_step, max_steps, switches):
    """One OdeResult from the legs' 14-tuples."""
    if len(legs) == 1:  # no switch: the leg's arrays as they are
        q, out = legs[0]
        counters = out[12]
        res = shape_result(status, _message(status, min_step, max_steps, float(counters[3])),
                           *out[1:13], t0, y0_real, n, is_complex, q, dense_output, n_events,
                           int(counters[4]), int(counters[5]))
        res.method_switches = switches
        return res
    q_max = max(q for q, _ in legs)
    t_parts, y_parts, st_parts, sh_parts, sd_parts = [], [], [], [], []
    et_parts, ey_parts, ei_parts = [], [], []
    nfev = naccept = nreject = njev = nlu = 0
    for k, (q, out) in enumerate(legs):
        (_, t_out, y_out, n_out, seg_t, seg_h, seg_data, n_seg, ev_t, ev_y, ev_index, n_ev,
         counters, _) = out
        # without t_eval every leg starts with its first point, the previous leg's last
        skip = 1 if (k > 0 and n_out and not use_t_eval) else 0
        t_parts.append(t_out[skip:n_out])
        y_parts.append(y_out[skip:n_out])
        if dense_output:
            st_parts.append(seg_t[:n_seg])
            sh_parts.append(seg_h[:n_seg])
            sd_parts.append(_pad_segments(seg_data[:n_seg], m, q, q_max))
        if n_ev:
            et_parts.append(ev_t[:n_ev])
            ey_parts.append(ev_y[:n_ev])
            ei_parts.append(ev_index[:n_ev])
        c = counters.tolist()
        nfev += c[0]
        naccept += c[1]
        nreject += c[2]
        njev += c[4]
        nlu += c[5]
    totals = np.array([nfev, naccept, nreject, c[3], njev, nlu])
    t_out = np.concatenate(t_parts)
    y_out = np.concatenate(y_parts) if y_parts else np.zeros((0, m))
    n_out = t_out.shape[0]
    if dense_output:
        seg_t = np.concatenate(st_parts)
        seg_h = np.concatenate(sh_parts)
        seg_data = np.concatenate(sd_parts)
    else:
        seg_t = seg_h = np.zeros(0)
        seg_data = np.zeros((0, m * (q_max + 1)))
    if et_parts:
        ev_t, ev_y, ev_index = (np.concatenate(et_parts), np.concatenate(ey_parts),
                                np.concatenate(ei_parts))
    else:
        ev_t, ev_y, ev_index = np.zeros(0), np.zeros((0, m)), np.zeros(0, dtype=np.int64)
    message = _message(status, min_step, max_steps, float(totals[3]))
    res = shape_result(status, message, t_out, y_out, n_out, seg_t, seg_h, seg_data,
                       seg_t.shape[0], ev_t, ev_y, ev_index, ev_t.shape[0], totals, t0, y0_real,
                       n, is_complex, q_max, dense_output, n_events, int(totals[4]),
                       int(totals[5]))
    res.method_switches = switches
    return res


def _message(status, min_step, max_steps, t_final):
    message = MESSAGES.get(status, f"Integration failed (status {status}) near t={{t}}.")
    if status == st.STEP_TOO_SMALL and min_step > 0:
        message = MIN_STEP_MESSAGE.format(min_step=min_step)
    return message.format(max_steps=max_steps, t=t_final)


def kernel_call(fun, t_span, y0, method="LSODA", t_eval=None, args=(), **options):
    """The compiled switching loop and the arguments that run ``fastode.solve_ivp(method=...)``
    (``"LSODA"`` or ``"auto"``) in one compiled call, without events.

    For benchmarks, ensembles and numba users: ``switching_solve(*call_args)``
    (fastode.kernels.switching.compiled) returns the implicit driver contract's 13-tuple, then
    the number of switches; its steps, outputs and counters are those of ``solve_ivp``. ``keep``
    holds the compiled user functions whose addresses are in ``call_args``: keep it alive while
    calling. Real ``y0`` only. Options: ``rtol``, ``atol``, ``dense_output``, ``jac``,
    ``jac_sparsity``, ``lband``/``uband`` and the step options.

    Returns
    -------
    (switching_solve, call_args, keep)
    """
    from .ivp_common import validate_t_eval, validate_t_span, validate_tolerances, validate_y0
    from .kernels.switching.compiled import switching_solve
    from .methods import lookup
    chosen = lookup(method)
    if chosen.name not in NONSTIFF_METHODS:
        raise ValueError(f"kernel_call is for 'LSODA' and 'auto', not {method!r}.")
    t0, t1 = validate_t_span(t_span)
    y0_real, n, is_complex = validate_y0(y0)
    if is_complex:
        raise ValueError("kernel_call takes a real `y0`.")
    rtol, atol = validate_tolerances(options.pop("rtol", 1e-3), options.pop("atol", 1e-6), n,
                                     False)
    dense = bool(options.pop("dense_output", False))
    t_eval_arr = validate_t_eval(t_eval, t0, t1)
    max_step, first_step, min_step, max_steps, event_samples = _parse_options(
        options, chosen.name, t0, t1)
    jac = options.pop("jac", None)
    mode_struct, structure = jacobian_structure(options.pop("jac_sparsity", None),
                                                options.pop("lband", None),
                                                options.pop("uband", None), n)
    if options:
        raise TypeError(f"unknown options: {', '.join(options)}")
    args = tuple(args)
    specs, p = pack(args)
    extras = Extras(specs)
    rhs = compiled_rhs(fun, t0, y0_real, n, False, args, specs, False, extras)
    mode, jac_compiled = compile_jac(jac, n, args, False, t0, y0_real, extras)
    if jac_compiled is None:
        mode = mode_struct
    else:
        structure = FD_STRUCT
    p = extras.pack(args, specs, p)
    use_t_eval = t_eval_arr is not None
    call_args = (
        rhs.address, jac_compiled.address if jac_compiled is not None else 0, p, t0, t1,
        y0_real, (rtol, atol), (np.zeros((1, 1)), False),
        (first_step, max_step, min_step, max_steps if max_steps is not None else 0),
        (np.ascontiguousarray(t_eval_arr) if use_t_eval else DUMMY_T_EVAL, use_t_eval, dense),
        (NO_EVENTS_I, NO_EVENTS_F, NO_EVENTS_I, event_samples),
        (int(mode), *structure, -1, -1, NO_LU_ORDER, 0),
        _tableau_group(NONSTIFF_METHODS[chosen.name][1]),
        bool(float(np.max(rtol)) < BDF_BELOW_RTOL))
    keep = (rhs,) + ((jac_compiled,) if jac_compiled is not None else ())
    return switching_solve, call_args, keep
