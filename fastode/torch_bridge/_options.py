"""Tolerance and ``options`` checks shared by the torch and compiled paths.

A module of its own so that ``compiled`` imports them without importing the package's
``__init__`` by file name (``from .__init__ import`` executed the package a second time, as a
module ``fastode.torch_bridge.__init__`` with its own ``last_stats``).
"""
from __future__ import annotations

import math
import warnings

import torch

_KNOWN_OPTIONS = {"step_size", "first_step", "max_num_steps", "max_step", "norm", "dtype"}


def _check_tol(name, v):
    if isinstance(v, torch.Tensor):
        if v.numel() != 1:
            raise ValueError(f"`{name}` must be a scalar (per-element tolerances are not "
                             f"supported)")
        v = float(v)
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a float; got {type(v).__name__}") from None
    if not (v >= 0.0) or not math.isfinite(v):
        raise ValueError(f"`{name}` must be finite and non-negative; got {v}")
    return v


def _solver_kw(options, tab, for_adjoint=False):
    options = dict(options or {})
    unknown = set(options) - _KNOWN_OPTIONS
    if unknown:
        warnings.warn(f"options {sorted(unknown)} are not used by fastode.torch_bridge",
                      UserWarning, stacklevel=4)
    kw = {}
    if options.get("step_size") is not None:
        step = float(options["step_size"])
        if not step > 0:
            raise ValueError(f"options['step_size'] must be positive; got {step}")
        if tab.adaptive:
            warnings.warn("options['step_size'] is for fixed-step methods; ignored",
                          UserWarning, stacklevel=4)
        else:
            kw["step_size"] = step
    if options.get("first_step") is not None:
        kw["first_step"] = float(options["first_step"])
    if options.get("max_num_steps") is not None:
        kw["max_num_steps"] = int(options["max_num_steps"])
    if options.get("max_step") is not None:
        kw["max_step"] = float(options["max_step"])
    norm = options.get("norm")
    seminorm = False
    if norm is not None:
        if norm == "seminorm" and for_adjoint:
            seminorm = True
        else:
            raise ValueError("options['norm'] supports only 'seminorm' in adjoint_options")
    return kw, seminorm
