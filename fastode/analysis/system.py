"""A user's ``fun(t, y, *args)`` (and ``jac``) as C addresses for the analysis kernels.

The same compilation as ``solve_ivp`` (fastode.ivp_common.compiled_rhs, fastode.ivp_jacobian
.compile_jac, the run-time values of fastode.rhs.Extras): the analysis kernels call the user's
functions through their C addresses (fastode.kernels.callbacks) and never recompile for new
``args`` values. Input checks here raise ValueError/TypeError naming the argument.
"""
from typing import NamedTuple

import numpy as np

from ..failures import raise_failures
from ..ivp_common import compiled_rhs, pack
from ..ivp_jacobian import compile_jac
from ..kernels.jacobian import JAC_FD
from ..rhs import Extras, _packed_size


class System(NamedTuple):
    """A compiled system: addresses, the packed parameter array ``p`` and what keeps them alive."""
    n: int
    rhs: int            # address of void f(t, y, p, dydt)
    jac: int            # address of the user Jacobian (0 when finite differences)
    use_jac: bool
    p: np.ndarray
    compiled: tuple     # CompiledFunction objects (failure records, keep-alive)
    args: tuple

    def check_failures(self):
        """Re-raise an exception a user function raised inside a kernel (as solve_ivp)."""
        raise_failures(self.compiled, self.args)


def as_state(y, name, n=None) -> np.ndarray:
    """``y`` as a finite float64 (n,) array, or a ValueError naming ``name``."""
    try:
        arr = np.asarray(y, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be an array of real numbers.") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"`{name}` must be a non-empty 1-D array; got shape {arr.shape}.")
    if n is not None and arr.size != n:
        raise ValueError(f"`{name}` must have {n} entries; got {arr.size}.")
    if not np.isfinite(arr).all():
        raise ValueError(f"`{name}` must be finite (it contains NaN or inf).")
    return np.ascontiguousarray(arr)


def as_points(y, name, n=None) -> np.ndarray:
    """``y`` as a finite float64 (m, n) array (a single (n,) point becomes (1, n))."""
    try:
        arr = np.asarray(y, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be an array of real numbers.") from None
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise ValueError(f"`{name}` must have shape (m, n); got {np.shape(y)}.")
    if n is not None and arr.shape[1] != n:
        raise ValueError(f"`{name}` must have shape (m, {n}); got {arr.shape}.")
    if not np.isfinite(arr).all():
        raise ValueError(f"`{name}` must be finite (it contains NaN or inf).")
    return np.ascontiguousarray(arr)


def as_bounds(bounds, n=None) -> np.ndarray:
    """``bounds`` [(lo, hi), ...] as a (n, 2) array with lo < hi, finite."""
    try:
        b = np.asarray(bounds, dtype=float)
    except (TypeError, ValueError):
        raise TypeError("`bounds` must be a sequence of (low, high) pairs of numbers.") from None
    if b.ndim != 2 or b.shape[1] != 2:
        raise ValueError(f"`bounds` must have shape (n, 2): one (low, high) per component; "
                         f"got {b.shape}.")
    if n is not None and b.shape[0] != n:
        raise ValueError(f"`bounds` must give {n} (low, high) pairs; got {b.shape[0]}.")
    if not np.isfinite(b).all() or not (b[:, 0] < b[:, 1]).all():
        raise ValueError("`bounds` must be finite with low < high for every component.")
    return b


def compile_system(fun, y_probe, args=(), jac=None, t=0.0) -> System:
    """Compile ``fun(t, y, *args)`` (and ``jac(t, y, *args)``) for the analysis kernels.

    ``y_probe`` is the state the functions are first called (and checked) at. A wrong output
    shape, a non-square or wrong-sized ``jac`` raise ValueError naming the function.
    """
    if not callable(fun):
        raise TypeError("`fun` must be callable as fun(t, y, *args).")
    if not isinstance(args, tuple):
        args = (args,) if not isinstance(args, list) else tuple(args)
    y_probe = as_state(y_probe, "y0")
    n = y_probe.size
    specs, p = pack(args)
    extras = Extras(specs)
    rhs = compiled_rhs(fun, float(t), y_probe, n, False, args, specs, False, extras)
    mode, jac_c = compile_jac(jac, n, args, False, float(t), y_probe, extras)
    p = np.ascontiguousarray(extras.pack(args, specs, p), dtype=np.float64)
    compiled = (rhs,) if jac_c is None else (rhs, jac_c)
    return System(n, rhs.address, 0 if jac_c is None else jac_c.address, mode != JAC_FD, p,
                  compiled, args)


def parameter_offset(args, param) -> int:
    """Where ``args[param]`` (a real scalar) lies in the packed ``p``."""
    if not isinstance(param, (int, np.integer)) or isinstance(param, bool):
        raise TypeError("`param` must be the index (an int) of a scalar in `args`.")
    if not -len(args) <= param < len(args):
        raise ValueError(f"`param` = {param} is not an index of `args` (length {len(args)}).")
    param = int(param) % len(args)
    value = args[param]
    if not isinstance(value, (float, int, np.floating, np.integer)) or isinstance(value, bool):
        raise TypeError(f"`args[{param}]` (the continuation parameter) must be a real scalar.")
    from ..rhs import arg_specs
    specs = arg_specs(args[:param])
    if specs is None:
        raise TypeError("`args` before the parameter must be numbers or numeric arrays.")
    return _packed_size(specs)
