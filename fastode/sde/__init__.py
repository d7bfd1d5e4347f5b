"""Stochastic differential equations on compiled kernels: ``solve_sde`` (fastode.sde.api),
the counter-based random streams (``random``), the methods' coefficients (``tableaus``), their
steps (``steps``) and the parallel driver (``driver``)."""
from .api import METHODS, solve_sde
from .result import SdeResult

__all__ = ["solve_sde", "SdeResult", "METHODS"]
