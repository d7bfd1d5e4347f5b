"""Langevin sampling on compiled kernels: ``sample`` (ULA, MALA, BAOAB, OBABO), many chains
in parallel, with acceptance rates and effective sample sizes (fastode.langevin.api; the
kernels in fastode.langevin.kernels)."""
from .api import METHODS, LangevinResult, effective_sample_size, sample

__all__ = ["sample", "LangevinResult", "effective_sample_size", "METHODS"]
