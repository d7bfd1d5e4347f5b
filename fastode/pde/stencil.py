"""The compiled transport stencil of the method-of-lines helpers: diffusion by second-order central
differences and first-order upwind advection, on a 1-D or 2-D grid, for m species.

Layout ("natural"): ``y[s * N + j * nx + i]`` is species s at node (x_i, y_j), N = nx * ny; a 1-D
grid is ny = 1 with the y axis code NONE. Boundary codes and node placement: fastode.pde.grid.
A ghost value outside the grid is the Dirichlet value, the periodic image, or the Neumann mirror
``u[1] - 2 h g`` (g = du/dx given at that end), so every node uses the same three-point formula.

The loops are written out with the neighbour values as scalars (no temporaries): the RHS of a
128 x 128 Brusselator calls this once per evaluation, and it is most of that evaluation's cost.
"""
import numpy as np
from numba import njit

from .grid import DIRICHLET, NEUMANN, NONE, PERIODIC


@njit(cache=True, nogil=True, error_model="numpy")
def add_transport(out, y, m, nx, ny, diff, hx, hy, bcx_lo, bcx_hi, bcy_lo, bcy_hi,
                  gx_lo, gx_hi, gy_lo, gy_hi, vx, vy):
    """``out += diff * laplacian(y) - v . grad(y)`` species by species (arrays of length m for
    ``diff``, the boundary values ``g*`` and the velocities ``vx``, ``vy``)."""
    npts = nx * ny
    cx = 1.0 / (hx * hx)
    cy = 1.0 / (hy * hy) if bcy_lo != NONE else 0.0
    for s in range(m):
        d = diff[s]
        ax = vx[s]
        ay = vy[s]
        base = s * npts
        for j in range(ny):
            row = base + j * nx
            for i in range(nx):
                k = row + i
                uc = y[k]
                # x neighbours
                if i > 0:
                    left = y[k - 1]
                elif bcx_lo == PERIODIC:
                    left = y[k + nx - 1]
                elif bcx_lo == NEUMANN:
                    left = y[k + 1] - 2.0 * hx * gx_lo[s]
                else:
                    left = gx_lo[s]
                if i < nx - 1:
                    right = y[k + 1]
                elif bcx_hi == PERIODIC:
                    right = y[k - nx + 1]
                elif bcx_hi == NEUMANN:
                    right = y[k - 1] + 2.0 * hx * gx_hi[s]
                else:
                    right = gx_hi[s]
                acc = d * cx * (left - 2.0 * uc + right)
                if ax > 0.0:
                    acc -= ax * (uc - left) / hx
                elif ax < 0.0:
                    acc -= ax * (right - uc) / hx
                if bcy_lo != NONE:
                    if j > 0:
                        down = y[k - nx]
                    elif bcy_lo == PERIODIC:
                        down = y[k + (ny - 1) * nx]
                    elif bcy_lo == NEUMANN:
                        down = y[k + nx] - 2.0 * hy * gy_lo[s]
                    else:
                        down = gy_lo[s]
                    if j < ny - 1:
                        up = y[k + nx]
                    elif bcy_hi == PERIODIC:
                        up = y[k - (ny - 1) * nx]
                    elif bcy_hi == NEUMANN:
                        up = y[k - nx] + 2.0 * hy * gy_hi[s]
                    else:
                        up = gy_hi[s]
                    acc += d * cy * (down - 2.0 * uc + up)
                    if ay > 0.0:
                        acc -= ay * (uc - down) / hy
                    elif ay < 0.0:
                        acc -= ay * (up - uc) / hy
                out[k] += acc


def transport_pattern(nx, ny, codes_x, codes_y, diff, vx, vy):
    """Boolean (N, N) neighbour pattern of one species' transport (scipy.sparse COO data):
    returns (rows, cols) of the nonzeros a diffusion ``diff`` and velocities ``vx``, ``vy`` give
    (the centre node always, as the reaction part depends on it)."""
    idx = np.arange(nx * ny).reshape(ny, nx)
    rows, cols = [idx.ravel()], [idx.ravel()]

    def link(src, dst):
        rows.append(src.ravel())
        cols.append(dst.ravel())

    for axis, n, codes, v in ((1, nx, codes_x, vx), (0, ny, codes_y, vy)):
        if codes[0] == NONE or (diff == 0.0 and v == 0.0):
            continue
        lo_ok = diff > 0.0 or v > 0.0   # the node reads its low neighbour
        hi_ok = diff > 0.0 or v < 0.0   # ... and its high neighbour
        take = (lambda a, sl: a[:, sl]) if axis == 1 else (lambda a, sl: a[sl, :])
        if lo_ok:
            link(take(idx, slice(1, None)), take(idx, slice(0, n - 1)))
            if codes[0] == PERIODIC:
                link(take(idx, slice(0, 1)), take(idx, slice(n - 1, n)))
            elif codes[0] == NEUMANN:  # the ghost mirrors node 1
                link(take(idx, slice(0, 1)), take(idx, slice(1, 2)))
        if hi_ok:
            link(take(idx, slice(0, n - 1)), take(idx, slice(1, None)))
            if codes[1] == PERIODIC:
                link(take(idx, slice(n - 1, n)), take(idx, slice(0, 1)))
            elif codes[1] == NEUMANN:
                link(take(idx, slice(n - 1, n)), take(idx, slice(n - 2, n - 1)))
    return np.concatenate(rows), np.concatenate(cols)


__all__ = ["add_transport", "transport_pattern", "DIRICHLET", "NEUMANN", "PERIODIC", "NONE"]
