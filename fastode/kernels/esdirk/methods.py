"""ESDIRK methods: each tableau bound to the driver (``kvaerno5_solve``, ``kencarp4_solve``,
``implicit_euler_solve``, ``implicit_euler_fixed_solve``; moved from kernels/sdirk.py)."""


from ...tableaus.sdirk import IMPLICIT_EULER, KENCARP4, KVAERNO5
from ..family import MethodDriver
from .solve import esdirk_solve

KV5_A, KV5_C, KV5_E, KV5_AL, KV5_D = (KVAERNO5.A, KVAERNO5.c, KVAERNO5.E, KVAERNO5.ALPHA,
                                      KVAERNO5.DENSE)
KV5_SD, KV5_SA, KV5_SB = KVAERNO5.STAGE_DENSE, KVAERNO5.stage_a, KVAERNO5.stage_b
KC4_A, KC4_C, KC4_E, KC4_AL, KC4_D = (KENCARP4.A, KENCARP4.c, KENCARP4.E, KENCARP4.ALPHA,
                                      KENCARP4.DENSE)
KC4_SD, KC4_SA, KC4_SB = KENCARP4.STAGE_DENSE, KENCARP4.stage_a, KENCARP4.stage_b
IE_A, IE_C, IE_E, IE_AL, IE_D = (IMPLICIT_EULER.A, IMPLICIT_EULER.c, IMPLICIT_EULER.E,
                                 IMPLICIT_EULER.ALPHA, IMPLICIT_EULER.DENSE)
IE_SD = IMPLICIT_EULER.STAGE_DENSE


# (A, C, E, ALPHA, DENSE, SD, sa, sb, exponent, smooth_est, init_order, fixed): see esdirk_solve
# Kvaerno5 (ESDIRK 5(4), 7 stages)
kvaerno5_solve = MethodDriver("Kvaerno5", esdirk_solve, (KV5_A, KV5_C, KV5_E, KV5_AL, KV5_D,
                                                         KV5_SD, KV5_SA, KV5_SB, 0.2, True, 4,
                                                         False))
# KenCarp4 (ESDIRK 4(3), 6 stages, implicit part of ARK4(3)6L[2]SA)
kencarp4_solve = MethodDriver("KenCarp4", esdirk_solve, (KC4_A, KC4_C, KC4_E, KC4_AL, KC4_D,
                                                         KC4_SD, KC4_SA, KC4_SB, 0.25, True, 3,
                                                         False))
# adaptive backward Euler (error: filtered trapezoidal difference)
implicit_euler_solve = MethodDriver("implicit_euler", esdirk_solve,
                                    (IE_A, IE_C, IE_E, IE_AL, IE_D, IE_SD, -1, -1, 0.5, True, 1,
                                     False))
# backward Euler with steps of exactly first_step (Newton to rtol/atol)
implicit_euler_fixed_solve = MethodDriver("implicit_euler", esdirk_solve,
                                          (IE_A, IE_C, IE_E, IE_AL, IE_D, IE_SD, -1, -1, 0.5,
                                           True, 1, True))
