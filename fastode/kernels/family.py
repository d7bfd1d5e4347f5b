"""One compiled driver per method family; a method is the family driver plus its coefficients.

A thin ``@njit`` wrapper per method (``rodas4_solve`` calling ``rosenbrock_solve`` with Rodas4's
arrays) is a separate compiled entry point: numba links the whole family driver into it and LLVM
optimises that module again, ~15 s per method on a cold cache (measured: Rodas5P 16.8 s, then
Rodas4 16.0 s and Rosenbrock23 14.4 s more). Binding the coefficients in Python instead makes
every method of a family the same call signature of one driver: one compile per family. The
coefficients travel as arguments (the arrays were arguments of the family driver already), so
the arithmetic, and the results, are the same.
"""
import numba


class MethodDriver:
    """A family driver with one method's leading arguments bound.

    ``MethodDriver(name, family_driver, *coefficients)(*args)`` is
    ``family_driver(*coefficients, *args)``.
    """
    __slots__ = ("name", "driver", "coefficients")

    def __init__(self, name, driver, *coefficients):
        self.name = name
        self.driver = driver
        self.coefficients = coefficients

    def __call__(self, *args):
        return self.driver(*self.coefficients, *args)

    def kernel_args(self, *args):
        """``(kernel, full_args)``: the compiled family driver and everything it is called with
        (for calling it from numba code, e.g. a benchmark's ``@njit`` loop)."""
        return self.driver, self.coefficients + args

    def coefficient_types(self):
        """numba types of the bound arguments (equal across a family: one compile)."""
        return tuple(numba.typeof(c) for c in self.coefficients)

    def __repr__(self):
        return f"<MethodDriver {self.name}: {getattr(self.driver, '__name__', self.driver)}>"
