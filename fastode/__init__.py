"""fastode: fast, trustworthy ODE solvers with numba-compiled kernels.

The public face: ``solve_ivp`` (a drop-in for ``scipy.integrate.solve_ivp``), its result objects,
scipy's step-by-step solver classes, and ``fastode.nb`` for calling the kernels from numba code.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

# first: registers the kernels' numba cache locator before any kernel module is imported
from . import kernel_cache as _kernel_cache  # noqa: F401
from ._version import __version__
from .ivp import solve_ivp
from .methods import available_methods
from .results import ConstantDenseOutput, DenseOutput, OdeResult, OdeSolution
from .rhs import FallbackWarning

__all__ = ["solve_ivp", "solve_ensemble", "EnsembleResult", "load_ensemble", "OdeResult", "OdeSolution", "DenseOutput", "ConstantDenseOutput", "FallbackWarning",
           "OdeSolver", "RK23", "RK45", "DOP853", "Tsit5", "Vern7", "Radau", "BDF", "LSODA", "available_methods",
           "warmup",
           "analysis", "pde", "pinn", "plot", "solve_sde", "SdeResult", "LangevinResult", "__version__"]

# loaded on first use (PEP 562): importing them all costs ~0.1-0.2 s of start-up (their kernel
# modules define ~100 numba dispatchers) that a script solving one problem need not pay
_LAZY = {"solve_ensemble": "ensemble", "EnsembleResult": "ensemble", "load_ensemble": "ensemble",
         "OdeSolver": "solvers", "RK23": "solvers", "RK45": "solvers", "DOP853": "solvers",
         "Tsit5": "solvers", "Vern7": "solvers", "Radau": "solvers", "BDF": "solvers",
         "LSODA": "solvers", "warmup": "warmup",
         "analysis": "analysis",  # a subpackage: fastode.analysis (issue #14)
         "pde": "pde", "pinn": "pinn",  # subpackages (issue #15); pinn needs torch on first use
         "plot": "plot",  # a module (issue #17); matplotlib is imported when it draws
         "solve_sde": "sde", "SdeResult": "sde", "LangevinResult": "langevin"}


if TYPE_CHECKING:  # the lazy names' types for type checkers; nothing is imported at run time
    from . import analysis, pde, pinn, plot, warmup  # warmup: the module, as at run time
    from .ensemble import EnsembleResult, load_ensemble, solve_ensemble
    from .langevin import LangevinResult
    from .sde import SdeResult, solve_sde
    from .solvers import BDF, DOP853, LSODA, RK23, RK45, OdeSolver, Radau, Tsit5, Vern7


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fastode' has no attribute {name!r}")
    import importlib
    value = importlib.import_module(f"{__name__}.{module}")
    if module != name:  # a name in a module (a subpackage is itself the value)
        value = getattr(value, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
