"""Variable-order NDF/BDF: the method, the family driver called with the implicit driver
contract's flat arguments (fastode.kernels.family)."""

from ..family import MethodDriver
from .solve import bdf_driver

bdf_solve = MethodDriver("BDF", bdf_driver)
