"""Dynamical-systems analysis on fastode's compiled kernels (issue #14).

* :func:`equilibria`, :func:`classify`: equilibria by compiled Newton from many starts, their
  Jacobians, eigenvalues and linear type;
* :func:`lyapunov_check`: the sign of dV/dt = grad V . f on a grid or along trajectories;
* :func:`lyapunov_exponents`: Benettin's method (variational equations, QR re-orthonormalisation);
* :func:`continuation`: pseudo-arclength continuation of equilibria, folds and Hopf points;
* :func:`phase_portrait`, :func:`bifurcation_diagram`: pictures (matplotlib, the ``[plot]``
  extra, imported only when drawing) and brute-force sweeps through ``solve_ensemble``.

Loaded on first use: each public name's module is imported when the name is first read.
"""
import importlib
import types

_NAMES = {"equilibria": "equilibrium", "classify": "equilibrium",
          "EquilibriumResult": "equilibrium",
          "lyapunov_check": "lyapunov_function",
          "lyapunov_exponents": "lyapunov", "LyapunovResult": "lyapunov",
          "continuation": "continuation", "ContinuationResult": "continuation",
          "phase_portrait": "portrait",
          "bifurcation_diagram": "sweep", "BifurcationDiagram": "sweep"}

__all__ = sorted(_NAMES)


def __getattr__(name):
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'fastode.analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    _unshadow()
    return value


def _unshadow():
    # importing a submodule binds it on the package: `continuation` (the function) would become
    # the module `continuation` once any name from that module had been loaded
    g = globals()
    for name, module in _NAMES.items():
        if name == module and isinstance(g.get(name), types.ModuleType):
            g[name] = getattr(g[name], name)


def __dir__():
    return sorted(set(globals()) | set(_NAMES))
