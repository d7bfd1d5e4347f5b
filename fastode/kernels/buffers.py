"""Growable output buffers for kernels whose output length is not known in advance."""
import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def grow_1d(buffer, needed):
    """Return ``buffer`` or a copy with at least ``needed`` entries (capacity doubles)."""
    if needed <= buffer.shape[0]:
        return buffer
    capacity = max(needed, 2 * buffer.shape[0])
    bigger = np.empty(capacity, dtype=buffer.dtype)
    bigger[:buffer.shape[0]] = buffer
    return bigger


@njit(cache=True, nogil=True)
def grow_2d(buffer, needed):
    """Return ``buffer`` or a copy with at least ``needed`` rows (capacity doubles)."""
    if needed <= buffer.shape[0]:
        return buffer
    capacity = max(needed, 2 * buffer.shape[0])
    bigger = np.empty((capacity, buffer.shape[1]), dtype=buffer.dtype)
    bigger[:buffer.shape[0]] = buffer
    return bigger
