"""fastode.pde: partial differential equations by the method of lines (issue #15).

A reaction–diffusion(–advection) system on a 1-D or 2-D grid becomes an ODE system for
:func:`fastode.solve_ivp`: :func:`heat_1d`, :func:`reaction_diffusion_1d`,
:func:`reaction_diffusion_2d` and :func:`brusselator_2d` return a :class:`MOLProblem` with a
numba-compilable ``fun``, its ``jac_sparsity``, the grid and an initial state ``y0``.
"""
from .problem import (MOLProblem, brusselator_2d, heat_1d, reaction_diffusion_1d,
                      reaction_diffusion_2d)

__all__ = ["MOLProblem", "heat_1d", "reaction_diffusion_1d", "reaction_diffusion_2d",
           "brusselator_2d"]
