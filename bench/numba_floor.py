"""numba's own start-up floor: what any process that compiles a new function with numba pays.

    python bench/numba_floor.py

Times, in this fresh process: importing numba; compiling a trivial ``cfunc`` (the first compile
in a process also sets up numba's typing and target registries and LLVM); then a ``cfunc`` shaped
like fastode's right-hand-side wrapper (an ``@njit`` function called inside try/except, with a
length check). fastode's first solve of a new right-hand side cannot start sooner than this.
"""
import time

_t0 = time.perf_counter()
import numpy as np  # noqa: E402
_t1 = time.perf_counter()
import numba  # noqa: E402
from numba import carray, cfunc, types  # noqa: E402
_t2 = time.perf_counter()

SIGNATURE = types.void(types.float64, types.CPointer(types.float64),
                       types.CPointer(types.float64), types.CPointer(types.float64))


@cfunc(SIGNATURE)
def trivial(t, y_ptr, p_ptr, out_ptr):
    y = carray(y_ptr, (2,))
    out = carray(out_ptr, (2,))
    out[0] = y[0] * 2.0
    out[1] = y[1]


_t3 = time.perf_counter()


@numba.njit
def rhs(t, y, a):
    return np.array([a * y[0], -y[1]])


@cfunc(SIGNATURE)
def wrapper(t, y_ptr, p_ptr, out_ptr):
    y = carray(y_ptr, (2,))
    p = carray(p_ptr, (1,))
    out = carray(out_ptr, (2,))
    try:
        r = rhs(t, y, p[0])
        if len(r) == 2:
            for i in range(2):
                out[i] = r[i]
        else:
            out[0] = np.nan
    except Exception:
        out[0] = np.nan


_t4 = time.perf_counter()
print(f"import numpy {_t1 - _t0:.3f} s; import numba {_t2 - _t1:.3f} s; first (trivial) cfunc "
      f"{_t3 - _t2:.3f} s; a wrapper-like cfunc + njit function {_t4 - _t3:.3f} s")
