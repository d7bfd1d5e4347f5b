"""numba kernels: all compiled code lives here and imports nothing from the layers above."""
