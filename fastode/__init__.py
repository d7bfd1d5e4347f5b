"""fastode: fast, trustworthy ODE solvers with numba-compiled kernels.

The public face: ``solve_ivp`` (a drop-in for ``scipy.integrate.solve_ivp``), its result objects,
scipy's step-by-step solver classes, and ``fastode.nb`` for calling the kernels from numba code.
"""
# first: registers the kernels' numba cache locator before any kernel module is imported
from . import kernel_cache as _kernel_cache  # noqa: F401
from ._version import __version__
from .ensemble import EnsembleResult, load_ensemble, solve_ensemble
from .ivp import solve_ivp
from .methods import available_methods
from .results import ConstantDenseOutput, DenseOutput, OdeResult, OdeSolution
from .rhs import FallbackWarning
from .solvers import BDF, DOP853, LSODA, RK23, RK45, OdeSolver, Radau, Tsit5, Vern7
from .warmup import warmup

__all__ = ["solve_ivp", "solve_ensemble", "EnsembleResult", "load_ensemble", "OdeResult", "OdeSolution", "DenseOutput", "ConstantDenseOutput", "FallbackWarning",
           "OdeSolver", "RK23", "RK45", "DOP853", "Tsit5", "Vern7", "Radau", "BDF", "LSODA", "available_methods",
           "warmup",
           "__version__"]
