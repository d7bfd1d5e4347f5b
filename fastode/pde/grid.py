"""Boundary conditions and grids of the method-of-lines helpers (plain Python, no compiled code).

Along one axis [a, b] the nodes are x_k = a + k h, k = 0..M. A Dirichlet end is not an unknown
(its value is given), a Neumann end is (its ghost node mirrors the first interior node, with the
given outward slope), and a periodic axis keeps x_0 and drops x_M (the same point). So n unknowns
on an axis mean M = n + 1 (Dirichlet at both ends), n (one Dirichlet end, or periodic) or n - 1
(Neumann at both ends): the second-order central difference is then second order everywhere.
"""
import numpy as np

# boundary codes shared with the compiled stencil (fastode.pde.stencil); NONE: no such axis (1-D)
DIRICHLET, NEUMANN, PERIODIC, NONE = 0, 1, 2, 3
_CODES = {"dirichlet": DIRICHLET, "neumann": NEUMANN, "periodic": PERIODIC}


def check_size(n, name):
    """A number of grid points per axis: an int >= 3 (the stencil needs two neighbours)."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise ValueError(f"{name} must be an integer >= 3, got {n!r}")
    if n < 3:
        raise ValueError(f"{name} must be >= 3 (grid points per axis), got {n}")
    return int(n)


def check_nonnegative(value, name):
    """A finite, non-negative coefficient (a diffusivity), as a float."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a non-negative number, got {value!r}") from None
    if not np.isfinite(v) or v < 0.0:
        raise ValueError(f"{name} must be finite and non-negative, got {value!r}")
    return v


def parse_bc(bc, name="bc"):
    """``bc`` for one axis -> (code at the low end, code at the high end).

    ``"dirichlet"``, ``"neumann"``, ``"periodic"`` or a pair ``(low, high)`` of the first two.
    """
    if isinstance(bc, str):
        code = _CODES.get(bc.lower())
        if code is None:
            raise ValueError(f"{name} must be 'dirichlet', 'neumann' or 'periodic' (or a pair of "
                             f"'dirichlet'/'neumann'), got {bc!r}")
        return code, code
    try:
        lo, hi = bc
        codes = tuple(_CODES.get(s.lower()) if isinstance(s, str) else None for s in (lo, hi))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a string or a pair (low, high), got {bc!r}") from None
    if None in codes or (PERIODIC in codes and codes != (PERIODIC, PERIODIC)):
        raise ValueError(f"{name} must be a pair of 'dirichlet'/'neumann' (periodic applies to "
                         f"both ends), got {bc!r}")
    return codes


def axis_nodes(n, lo, hi, codes):
    """Coordinates of the n unknowns on [lo, hi] and the spacing h, for the end ``codes``."""
    lo_code, hi_code = codes
    if lo_code == PERIODIC:
        h = (hi - lo) / n
        return lo + h * np.arange(n), h
    intervals = n - 1 + (lo_code == DIRICHLET) + (hi_code == DIRICHLET)
    h = (hi - lo) / intervals
    first = 1 if lo_code == DIRICHLET else 0
    return lo + h * (first + np.arange(n)), h


def check_domain(domain, name="domain"):
    """(lo, hi) with lo < hi, as floats."""
    try:
        lo, hi = (float(v) for v in domain)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high), got {domain!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"{name} must satisfy low < high (finite), got {domain!r}")
    return lo, hi
