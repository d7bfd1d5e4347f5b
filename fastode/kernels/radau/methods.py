"""Radau IIA: the method, the family driver called with the implicit driver contract's flat
arguments (fastode.kernels.family)."""

from ..family import MethodDriver
from .solve import radau_driver

radau_solve = MethodDriver("Radau", radau_driver)
