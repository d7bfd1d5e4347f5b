"""Input checks of ``solve_ensemble``: y0 rows, parameter rows, their count, step options, the
stiff options (as solve_ivp reads them: fastode.ivp_implicit._parse_options) and events."""
from __future__ import annotations

import math
import warnings
from numbers import Integral
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from .ivp_common import (fixed_or_adaptive_first_step, parse_step_options, positive_option,
                         validate_events)

_F64 = npt.NDArray[np.float64]  # a type alias for fastode.ensemble's annotations

# options of solve_ivp that an ensemble cannot take (yet), with the reason given to the user
_UNSUPPORTED = {
    "args": "pass per-trajectory parameters as `params` (fun(t, y, p) gets one row)",
    "dense_output": "dense output is not supported by solve_ensemble (use `t_eval`)",
    "vectorized": "`vectorized` is not supported by solve_ensemble",
}


class _Stiff(NamedTuple):
    """The stiff options of a sweep (fastode.ivp_implicit._parse_options), shared by all its
    trajectories: the mass matrix and the Jacobian group's pattern, band and linear solver."""
    fixed_step: bool      # implicit_euler with `step`: its fixed-step driver
    mass: np.ndarray
    has_mass: bool
    jac_mode: int         # without a user jac (compile_jac gives the mode with one)
    structure: tuple      # (group_ptr, group_cols, col_ptr, rows)
    kl: int
    ku: int
    lu_plan: tuple        # (lu_order, lu_capacity)


# method families solve_ensemble runs (fastode.ensemble_chunk has their kernels)
ENSEMBLE_FAMILIES = ("explicit", "rosenbrock", "radau", "bdf", "sdirk", "switching")


def _real_array(value, name):
    try:
        arr = np.asarray(value)
    except Exception:
        raise TypeError(f"`{name}` must be array-like of real numbers.") from None
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        kind = "complex numbers are not supported" if arr.dtype.kind == "c" else \
            f"got dtype {arr.dtype}"
        raise TypeError(f"`{name}` must contain real numbers ({kind}).")
    return np.require(arr, np.float64, ["C", "W"])


def _writeable(*arrays):
    """C-contiguous, writeable float64 versions (copies only where needed): the kernel is
    compiled for those, and a read-only array would be another type, another compile."""
    return tuple(None if a is None else np.require(a, np.float64, ["C", "W"]) for a in arrays)


def _validate_y0(y0):
    arr = _real_array(y0, "y0")
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim not in (1, 2):
        raise ValueError(f"`y0` must have shape (n,) (shared by all trajectories) or "
                         f"(n_traj, n); got shape {arr.shape}.")
    if arr.shape[-1] == 0:
        raise ValueError("`y0` must have at least one component.")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = "" if arr.ndim == 1 else f" (row {int(np.argwhere(bad)[0][0])})"
        raise ValueError(f"`y0` must be finite (no NaN or inf){where}.")
    return arr


def _validate_params(params):
    if params is None:
        return None
    arr = _real_array(params, "params")
    if arr.ndim != 2:
        hint = ""
        if arr.ndim == 1:
            hint = (" Use `params[:, None]` for one parameter per trajectory, or "
                    "`np.tile(params, (n_traj, 1))` to share one parameter set.")
        raise ValueError(f"`params` must be 2-dimensional, shape (n_traj, n_params); got shape "
                         f"{arr.shape}.{hint}")
    if arr.shape[1] == 0:
        raise ValueError(f"`params` has no columns (shape {arr.shape}); use params=None for "
                         "fun(t, y) without parameters.")
    bad = ~np.isfinite(arr)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        raise ValueError(f"`params` must be finite: params[{row}, {col}] = {arr[row, col]!r} "
                         f"({int(bad.any(axis=1).sum())} rows have NaN or inf).")
    return arr


def _resolve_n_traj(y0, params, n_traj):
    sources = []
    if params is not None:
        sources.append(("params", params.shape[0]))
    if y0.ndim == 2:
        sources.append(("y0", y0.shape[0]))
    if n_traj is not None:
        if isinstance(n_traj, bool) or not isinstance(n_traj, Integral) or n_traj < 0:
            raise ValueError(f"`n_traj` must be a non-negative integer; got {n_traj!r}.")
        sources.append(("n_traj", int(n_traj)))
    if not sources:
        return 1
    counts = {c for _, c in sources}
    if len(counts) > 1:
        said = ", ".join(f"`{name}` {'has' if name != 'n_traj' else 'is'} {c}"
                         + (" rows" if name != "n_traj" else "") for name, c in sources)
        raise ValueError(f"the number of trajectories disagrees: {said}.")
    return sources[0][1]


def _step_options(chosen, options, t0, t1, method):
    """Step options exactly as solve_ivp reads them; unknown ones warn like scipy."""
    step = positive_option(options, "step", 0.0)
    max_step, first_step, min_step, max_steps, _ = parse_step_options(options, t0, t1,
                                                                      events=False)
    first_step = fixed_or_adaptive_first_step(chosen, method, step, first_step, t0, t1)
    _pop_unsupported(options)
    if options:
        warnings.warn(f"The following arguments have no effect for a chosen solver: "
                      f"{', '.join('`%s`' % k for k in options)}.", UserWarning, stacklevel=3)
    return first_step, max_step, float(min_step), int(max_steps or 0), \
        {"min_step": float(min_step), "max_steps": max_steps}


def _pop_unsupported(options):
    for name, why in _UNSUPPORTED.items():
        if name in options:
            value = options.pop(name)
            if value is None or value is False or (name == "args" and value == ()):
                continue
            raise TypeError(f"`{name}`: {why}.")


def _stiff_options(chosen, options, t0, t1, y0_row, n):
    """The stiff options exactly as solve_ivp reads them (fastode.ivp_implicit._parse_options:
    ``jac``, ``jac_sparsity``, ``lband``/``uband``, ``linear_solver``, ``mass``, the step
    options, ``step`` for implicit_euler); returns (_Stiff, first_step, max_step, min_step,
    max_steps, jac, options for messages).

    ``linear_solver="auto"`` takes the sparse LU where solve_ivp would take Newton-Krylov (and
    solve a failed trajectory again with the sparse LU): an ensemble does not retry."""
    if chosen.family == "switching":
        return _switching_options(chosen, options, t0, t1, n)
    # (imported here: an explicit sweep, and fastode.sde, do not load the stiff families)
    from .ivp_implicit import _parse_options, driver_for
    from .kernels.jacobian import KL_KRYLOV
    _pop_unsupported(options)
    auto = options.get("linear_solver", "auto") == "auto"
    given = dict(options)
    driver = driver_for(chosen)
    parsed = _parse_options(chosen, driver, t0, t1, y0_row, n, False, options)
    if auto and parsed[5] == KL_KRYLOV:
        parsed = _parse_options(chosen, driver, t0, t1, y0_row, n, False,
                                dict(given, linear_solver="sparse"))
    (run_driver, mass, has_mass, mode, structure, kl, ku, lu_plan, jac, first_step, max_step,
     min_step, max_steps, _) = parsed
    stiff = _Stiff(run_driver is not driver, mass, bool(has_mass), int(mode), tuple(structure),
                   int(kl), int(ku), tuple(lu_plan))
    return (stiff, float(first_step), float(max_step), float(min_step), int(max_steps or 0), jac,
            {"min_step": float(min_step), "max_steps": max_steps})


def _switching_options(chosen, options, t0, t1, n):
    """:func:`_stiff_options` for LSODA / auto, as fastode.ivp_auto.solve_auto reads them:
    the step options, ``jac``, ``jac_sparsity``, ``lband``/``uband`` (their stiff legs' LU is
    dense: the pattern groups the finite differences); no ``mass``."""
    from .ivp_auto import _parse_options as switching_step_options
    from .ivp_jacobian import NO_LU_ORDER, jacobian_structure
    _pop_unsupported(options)
    max_step, first_step, min_step, max_steps, _ = switching_step_options(options, chosen.name,
                                                                          t0, t1)
    jac = options.pop("jac", None)
    mode, structure = jacobian_structure(options.pop("jac_sparsity", None),
                                         options.pop("lband", None), options.pop("uband", None),
                                         n)
    if options:
        warnings.warn(f"The following arguments have no effect for a chosen solver: "
                      f"{', '.join('`%s`' % k for k in options)}.", UserWarning, stacklevel=4)
    stiff = _Stiff(False, np.zeros((1, 1)), False, int(mode), tuple(structure), -1, -1,
                   (NO_LU_ORDER, 0))
    return (stiff, float(first_step), float(max_step), float(min_step), int(max_steps or 0), jac,
            {"min_step": float(min_step), "max_steps": max_steps})


def _event_options(events, max_events, options):
    """(event list as solve_ivp's validate_events, event_samples, max_events)."""
    event_list = validate_events(events)
    if (isinstance(max_events, bool) or not isinstance(max_events, Integral)
            or max_events < 1):
        raise ValueError(f"`max_events` must be a positive integer; got {max_events!r}.")
    event_samples = options.pop("event_samples", 4) if event_list else 4
    if (isinstance(event_samples, bool) or not isinstance(event_samples, Integral)
            or event_samples < 1):
        raise ValueError(f"`event_samples` must be a positive integer; got {event_samples!r}.")
    return event_list, int(event_samples), int(max_events)


def _default_chunk(n_traj, n_threads):
    # about 32 chunks (progress updates, resumable pieces, Dask tasks), at least 256
    # trajectories per thread (each chunk is one parallel launch and ends with a tail where
    # threads wait for the last trajectories: measured 8% slower with 157-trajectory chunks),
    # at most 50,000 per chunk
    return int(min(max(math.ceil(n_traj / 32), 256 * n_threads), 50_000, max(n_traj, 1)))


# ---------------------------------------------------------------------------------------------
# public entry point
# ---------------------------------------------------------------------------------------------
