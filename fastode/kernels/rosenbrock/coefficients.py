"""Rosenbrock methods: the step-size controller's constants and the Rodas4 / Rodas5P tableaus as
arrays (moved from kernels/rosenbrock.py)."""

import numpy as np

from ...tableaus.rosenbrock import RODAS4, RODAS5P

SAFE = 0.9
FAC_MIN = 1.0 / 6.0   # h_new / h <= 6
FAC_MAX = 5.0         # h_new / h >= 0.2
MAX_SINGULAR = 5

R4_GAMMA = RODAS4.gamma
R4_A = RODAS4.A
R4_C = RODAS4.C
R4_c = RODAS4.c
R4_d = RODAS4.d
R4_B = RODAS4.B
R4_E = RODAS4.E
R4_H = RODAS4.H
R5P_GAMMA = RODAS5P.gamma
R5P_A = RODAS5P.A
R5P_C = RODAS5P.C
R5P_c = RODAS5P.c
R5P_d = RODAS5P.d
R5P_B = RODAS5P.B
R5P_E = RODAS5P.E
R5P_H = RODAS5P.H
_EMPTY_2D = np.zeros((1, 3))
_EMPTY_1D = np.zeros(3)
