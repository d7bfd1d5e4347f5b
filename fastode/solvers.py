"""scipy's step-by-step solver interface, stepping in fastode's numba kernels.

Code that drives ``scipy.integrate.RK45`` (or ``RK23``, ``DOP853``) by hand switches to fastode by
changing the import::

    from fastode.solvers import RK45          # was: from scipy.integrate import RK45
    solver = RK45(fun, t0, y0, t_bound, rtol=1e-6, atol=1e-9)
    while solver.status == "running":
        message = solver.step()
        ...

The classes have scipy's constructors, attributes (``n, status, t_bound, direction, t, y, t_old,
step_size, nfev, njev, nlu``) and methods (``step()``, ``dense_output()``), and run scipy's
algorithm: with scipy's sums done in the kernels' order (no BLAS), the steps are identical to
the last bit (tests/test_solvers.py). Against stock scipy the accepted and rejected steps and
``nfev`` are the same, and ``t``, ``y`` agree to the rounding of the error estimate (which scipy
computes with BLAS; at tight tolerances it is a difference of nearly equal sums). Complex states
take slightly different steps (see ``RungeKutta``). ``Tsit5`` and ``Vern7`` are fastode's own,
with the same interface. The implicit ``Radau`` (scipy's RADAU5, same steps), ``BDF`` (scipy's
NDF, same steps) and ``LSODA`` (scipy's constructor, fastode's RK45 <-> Rodas4 switching) are
importable from here too.

The RHS is compiled once with numba (``fastode.rhs.compile_rhs``) and each ``step()`` is one call
into a compiled kernel (``fastode.kernels.explicit.explicit_rk_advance`` for the explicit
methods): all stage evaluations, the error norm and the step-size controller run in compiled
code. The classes subclass ``scipy.integrate.OdeSolver``, so ``isinstance`` checks hold and
``scipy.integrate.solve_ivp(..., method=fastode.solvers.RK45)`` runs them.

This module only re-exports: the classes live in fastode.solvers_base (``OdeSolver``),
.solvers_explicit, .solvers_radau, .solvers_bdf and .solvers_lsoda (docs/architecture.md).
"""

from .solvers_base import OdeSolver
from .solvers_bdf import BDF
from .solvers_explicit import DOP853, RK23, RK45, RungeKutta, Tsit5, Vern7
from .solvers_lsoda import LSODA
from .solvers_radau import Radau

__all__ = ["OdeSolver", "RungeKutta", "RK23", "RK45", "DOP853", "Tsit5", "Vern7", "Radau",
           "BDF", "LSODA"]
