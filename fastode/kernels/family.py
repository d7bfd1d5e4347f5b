"""One compiled driver per method family; a method is the family driver plus its coefficients.

A thin ``@njit`` wrapper per method (``rodas4_solve`` calling ``rosenbrock_solve`` with Rodas4's
arrays) is a separate compiled entry point: numba links the whole family driver into it and LLVM
optimises that module again, ~15 s per method on a cold cache (measured: Rodas5P 16.8 s, then
Rodas4 16.0 s and Rosenbrock23 14.4 s more). Binding the coefficients in Python instead makes
every method of a family the same call signature of one driver: one compile per family. The
coefficients travel as the driver's first argument (a tuple), so the arithmetic, and the
results, are the same.
"""
import numba

from .options import implicit_groups


class MethodDriver:
    """A family driver with one method's coefficients bound.

    ``MethodDriver(name, family_driver, coefficients)(*groups)`` is
    ``family_driver(coefficients, *groups)``, without coefficients (Radau, BDF)
    ``family_driver(*groups)``; ``groups``: the implicit driver contract (fastode.ivp_implicit),
    its options in the groups of kernels/options.py. :meth:`flat` takes them as one flat list.
    """
    __slots__ = ("name", "driver", "coefficients")

    def __init__(self, name, driver, coefficients=None):
        self.name = name
        self.driver = driver
        self.coefficients = () if coefficients is None else (coefficients,)

    def __call__(self, *groups):
        return self.driver(*self.coefficients, *groups)

    def flat(self, *args):
        """Call with the contract's flat arguments (kernels/options.implicit_groups)."""
        return self.driver(*self.coefficients, *implicit_groups(*args))

    def kernel_args(self, *args):
        """``(kernel, full_args)`` for the flat arguments: the compiled family driver and
        everything it is called with (for calling it from numba code, e.g. a benchmark's
        ``@njit`` loop)."""
        return self.driver, self.coefficients + implicit_groups(*args)

    def coefficient_types(self):
        """numba types of the bound coefficients (equal across a family: one compile)."""
        return tuple(numba.typeof(c) for c in self.coefficients)

    def __repr__(self):
        return f"<MethodDriver {self.name}: {getattr(self.driver, '__name__', self.driver)}>"
