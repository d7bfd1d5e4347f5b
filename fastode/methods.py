"""Method registry: name -> family, tableau and traits; scipy's and common aliases."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .tableaus import explicit as explicit_tableaus
from .tableaus import radau as radau_tableau
from .tableaus import rosenbrock as rosenbrock_tableaus
from .tableaus import sdirk as sdirk_tableaus


class Method(NamedTuple):
    """A registered method.

    ``adaptive`` methods control the error with an embedded estimate; fixed-step methods take the
    ``step`` given by the user.
    """
    name: str
    family: str
    tableau: object
    adaptive: bool
    use_e3: bool
    description: str


def _explicit(name: str, description: str) -> Method:
    tableau = explicit_tableaus.TABLEAUS[name]
    return Method(name, "explicit", tableau, tableau.error_order > 0,
                  bool(np.any(tableau.E3 != 0)), description)


def _rosenbrock(name: str, description: str) -> Method:
    return Method(name, "rosenbrock", rosenbrock_tableaus.TABLEAUS[name], True, False,
                  description)


METHODS = {m.name: m for m in [
    _explicit("euler", "forward Euler, order 1, fixed step"),
    _explicit("midpoint", "explicit midpoint, order 2, fixed step"),
    _explicit("heun", "Heun (explicit trapezoid), order 2, fixed step"),
    _explicit("rk4", "classic Runge-Kutta, order 4, fixed step"),
    _explicit("rk38", "Kutta's 3/8 rule, order 4, fixed step"),
    _explicit("bogacki_shampine_32", "Bogacki-Shampine 3(2), scipy's RK23"),
    _explicit("dormand_prince_54", "Dormand-Prince 5(4), scipy's RK45"),
    _explicit("dop853", "Hairer's DOP853, order 8 with 5(3) error estimate, scipy's DOP853"),
    _explicit("tsitouras_54", "Tsitouras 5(4) (Tsit5)"),
    _explicit("verner_76", "Verner's efficient 7(6) (Vern7)"),
    # stiff: Rosenbrock methods (fastode.kernels.rosenbrock), solved by fastode.ivp_implicit
    _rosenbrock("Rodas4", "Hairer-Wanner RODAS, L-stable stiffly accurate Rosenbrock 4(3), "
                          "mass matrices and index-1 DAEs"),
    _rosenbrock("Rodas5P", "Steinebach's Rodas5P (2023), L-stable stiffly accurate Rosenbrock "
                           "5(4), 8 stages; mass matrices and index-1 DAEs"),
    _rosenbrock("Rosenbrock23", "Shampine-Reichelt ode23s, L-stable Rosenbrock W-method 2(3)"),
    # stiff: Radau IIA and NDF (fastode.kernels.radau, fastode.kernels.bdf)
    Method("radau_iia_5", "radau", radau_tableau, True, False,
           "Radau IIA order 5, Hairer-Wanner's RADAU5 scheme, scipy's Radau; mass matrices"),
    Method("bdf", "bdf", None, True, False,
           "variable-order (1-5) NDF/BDF as scipy's BDF (Shampine-Reichelt ode15s)"),
    # automatic stiffness switching: explicit <-> Rodas4 (fastode.ivp_auto)
    Method("LSODA", "switching", None, True, False,
           "RK45 with DOPRI5 stiffness detection, switching to Rodas4 and back"),
    Method("auto", "switching", None, True, False,
           "Tsit5 with DOPRI5 stiffness detection, switching to Rodas4 and back"),
    # stiff: ESDIRK methods (fastode.kernels.esdirk)
    Method("Kvaerno5", "sdirk", sdirk_tableaus.KVAERNO5, True, False,
           "Kvaerno's ESDIRK 5(4), 7 stages, L-stable, stiffly accurate; mass matrices"),
    Method("KenCarp4", "sdirk", sdirk_tableaus.KENCARP4, True, False,
           "Kennedy-Carpenter ESDIRK 4(3) (implicit part of ARK4(3)6L[2]SA), L-stable; "
           "mass matrices"),
    Method("implicit_euler", "sdirk", sdirk_tableaus.IMPLICIT_EULER, True, False,
           "backward Euler, order 1, adaptive (trapezoidal error estimate) or fixed `step`"),
]}

ALIASES = {
    "RK23": "bogacki_shampine_32", "bs3": "bogacki_shampine_32", "bosh3": "bogacki_shampine_32",
    "RK45": "dormand_prince_54", "dopri5": "dormand_prince_54",
    "DOP853": "dop853", "dopri8": "dop853",
    "Tsit5": "tsitouras_54", "tsit5": "tsitouras_54",
    "Vern7": "verner_76", "vern7": "verner_76",
    "Euler": "euler", "RK4": "rk4", "explicit_midpoint": "midpoint",
    "rodas4": "Rodas4", "RODAS4": "Rodas4", "rodas5p": "Rodas5P", "RODAS5P": "Rodas5P",
    "rosenbrock23": "Rosenbrock23", "ros23": "Rosenbrock23", "ode23s": "Rosenbrock23",
    "Radau": "radau_iia_5", "radau5": "radau_iia_5", "BDF": "bdf", "ndf": "bdf",
    "kvaerno5": "Kvaerno5", "kencarp4": "KenCarp4",
    "ImplicitEuler": "implicit_euler", "backward_euler": "implicit_euler",
    "lsoda": "LSODA",
}

# every spelling solve_ivp accepts as-is -> Method (the case-insensitive ones go through lookup)
METHODS_BY_NAME = {**METHODS, **{alias: METHODS[name] for alias, name in ALIASES.items()}}

# Methods of scipy.integrate.solve_ivp that fastode does not compile yet: solved by scipy.
SCIPY_ONLY = ()


def available_methods() -> list[str]:
    """All method names solve_ivp accepts (canonical names and aliases).

    Examples
    --------
    >>> import fastode
    >>> names = fastode.available_methods()
    >>> all(m in names for m in ("RK45", "DOP853", "Radau", "BDF", "Rodas5P", "rk4", "euler"))
    True
    """
    return sorted(set(METHODS) | set(ALIASES))


def lookup(name: str) -> Method:
    """The Method for ``name`` (canonical, alias, or a case-insensitive spelling of either)."""
    if name in METHODS:
        return METHODS[name]
    if name in ALIASES:
        return METHODS[ALIASES[name]]
    folded = {k.lower(): v for k, v in ALIASES.items()}
    key = str(name).lower()
    if key in METHODS:
        return METHODS[key]
    if key in folded:
        return METHODS[folded[key]]
    raise ValueError(f"`method` must be one of {available_methods() + list(SCIPY_ONLY)} "
                     f"or an OdeSolver class; got {name!r}.")
