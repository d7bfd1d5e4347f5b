"""Rosenbrock methods: each tableau bound to the driver (``rodas4_solve``, ``rodas5p_solve``,
``rosenbrock23_solve``; moved from kernels/rosenbrock.py)."""

from ...tableaus.rosenbrock import ROS23_D
from ..family import MethodDriver
from .coefficients import (R4_A, R4_B, R4_C, R4_E, R4_GAMMA, R4_H, R4_c, R4_d, R5P_A, R5P_B, R5P_C,
                           R5P_E, R5P_GAMMA, R5P_H, R5P_c, R5P_d, _EMPTY_1D, _EMPTY_2D)
from .solve import rosenbrock_solve


# the methods: rosenbrock_solve with their coefficients bound (fastode.kernels.family: one
# compile for all three); each is called with the implicit driver contract (+ Jacobian structure,
# + band: kl, ku, -1 for dense)
# Rodas4 (Hairer & Wanner's RODAS)
# coefficients: (kind, gamma, A, C, c, d, B, E, H, error_order), see rosenbrock_solve
rodas4_solve = MethodDriver("Rodas4", rosenbrock_solve,
                            (0, R4_GAMMA, R4_A, R4_C, R4_c, R4_d, R4_B, R4_E, R4_H, 3))
rodas5p_solve = MethodDriver("Rodas5P", rosenbrock_solve,
                             (0, R5P_GAMMA, R5P_A, R5P_C, R5P_c, R5P_d, R5P_B, R5P_E, R5P_H, 4))
rosenbrock23_solve = MethodDriver("Rosenbrock23", rosenbrock_solve,
                                  (1, ROS23_D, _EMPTY_2D, _EMPTY_2D, _EMPTY_1D, _EMPTY_1D,
                                   _EMPTY_1D, _EMPTY_1D, _EMPTY_2D, 2))
