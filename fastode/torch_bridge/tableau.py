"""Method names (torchdiffeq's spellings) -> the fastode tableaus, as plain Python data.

The torch fallback and the compiled path read the same tableaus (fastode.tableaus.explicit)
through ``fastode.methods.lookup``; nothing here defines coefficients of its own.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from .. import methods as _methods

# torchdiffeq's names that fastode's registry spells differently
_TORCHDIFFEQ_ALIASES = {
    "dopri5": "dormand_prince_54",
    "dopri8": "dop853",       # torchdiffeq's dopri8 is Dormand-Prince 8(7); fastode has DOP853
    "dop853": "dop853",
    "bosh3": "bogacki_shampine_32",
    "tsit5": "tsitouras_54",
    "rk4": "rk4",
    "euler": "euler",
    "midpoint": "midpoint",
    "heun": "heun",
    "rk38": "rk38",
    "vern7": "verner_76",
}


class TorchTableau(NamedTuple):
    name: str
    s: int                 # main stages
    adaptive: bool
    use_e3: bool
    fsal_error: bool       # the error estimate needs f(t_new, y_new)
    error_order: int
    C: tuple
    A: tuple               # A[i] = ((j, a_ij), ...) non-zero entries only
    B: tuple               # ((j, b_j), ...)
    E: tuple               # ((j, e_j), ...) over s + 1 rows
    E3: tuple
    C_extra: tuple
    A_extra: tuple
    P: tuple               # P[j] = (p_j1, ..., p_jq)
    np_tab: object         # the ExplicitTableau (numpy arrays) for the compiled path


def _nz(row):
    return tuple((j, float(v)) for j, v in enumerate(row) if v != 0.0)


@functools.lru_cache(maxsize=None)
def get_tableau(method: str | None) -> TorchTableau:
    if method is None:
        method = "dopri5"
    if not isinstance(method, str):
        raise TypeError(f"`method` must be a string; got {type(method).__name__}")
    name = _TORCHDIFFEQ_ALIASES.get(method.lower(), method)
    try:
        m = _methods.lookup(name)
    except ValueError:
        raise ValueError(f"`method` must be one of {sorted(_TORCHDIFFEQ_ALIASES)} (or a fastode "
                         f"explicit method name); got {method!r}") from None
    if m.family != "explicit":
        raise ValueError(f"`method` {method!r} is not an explicit Runge-Kutta method")
    tab = m.tableau
    s = tab.C.shape[0]
    return TorchTableau(
        name=tab.name, s=s, adaptive=m.adaptive, use_e3=m.use_e3,
        fsal_error=bool(m.use_e3 or tab.E[s] != 0.0), error_order=int(tab.error_order),
        C=tuple(float(c) for c in tab.C),
        A=tuple(_nz(tab.A[i, :i]) for i in range(s)),
        B=_nz(tab.B), E=_nz(tab.E), E3=_nz(tab.E3),
        C_extra=tuple(float(c) for c in tab.C_extra),
        A_extra=tuple(_nz(r) for r in tab.A_extra),
        P=tuple(tuple(float(v) for v in row) for row in tab.P),
        np_tab=tab,
    )


def fixed_grid_count(t0: float, t1: float, step: float) -> int:
    """Number of fixed steps of size ``step`` (the last one shortened), as fastode's kernel."""
    return max(1, int(np.ceil(abs(t1 - t0) / step - 1e-9)))
