"""Plain-C Dormand-Prince 5(4) reference (dopri5.c), built on demand and loaded with ctypes.

    from bench.c_ref import dopri5_solve, dopri5_time
    res = dopri5_solve(address, p, t0, t1, y0, rtol, atol)   # dict: y, t, status, nfev, ...
    sec = dopri5_time(address, p, t0, t1, y0, rtol, atol, reps=1000)

``address`` is the C function address of ``void f(double t, const double *y, const double *p,
double *dydt)``, e.g. ``fastode.rhs.compile_rhs(...).address``. The library is compiled with
gcc -O2 -shared -fPIC into bench/c_ref/build/ the first time it is needed (and again when
dopri5.c is newer); ``CC`` and ``FASTODE_BENCH_CFLAGS`` (default ``-O2``) override compiler and
flags. ``python -m bench.c_ref.build [--force]`` builds it explicitly.
"""
import ctypes
import os
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "dopri5.c")
BUILD_DIR = os.path.join(HERE, "build")
LIBRARY = os.path.join(BUILD_DIR, "libdopri5.so")

_lib = None
_DOUBLE_P = ctypes.POINTER(ctypes.c_double)
_LONG_P = ctypes.POINTER(ctypes.c_long)


def cflags():
    return shlex.split(os.environ.get("FASTODE_BENCH_CFLAGS", "-O2"))


def build(force=False, verbose=False):
    """Compile dopri5.c into LIBRARY if missing or older than the source; return its path.

    Raises RuntimeError (with the compiler's output) when no C compiler works.
    """
    if (not force and os.path.exists(LIBRARY)
            and os.path.getmtime(LIBRARY) >= os.path.getmtime(SOURCE)):
        return LIBRARY
    os.makedirs(BUILD_DIR, exist_ok=True)
    cc = os.environ.get("CC", "gcc")
    # build into a temporary name, then rename: concurrent builds never load a half-written file
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=BUILD_DIR)
    os.close(fd)
    cmd = [cc, *cflags(), "-shared", "-fPIC", "-o", tmp, SOURCE, "-lm"]
    if verbose:
        print(" ".join(cmd), file=sys.stderr)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as exc:
        os.unlink(tmp)
        raise RuntimeError(f"cannot run the C compiler {cc!r}: {exc}") from None
    if proc.returncode != 0:
        os.unlink(tmp)
        raise RuntimeError(f"building the C reference failed:\n{' '.join(cmd)}\n{proc.stderr}")
    os.replace(tmp, LIBRARY)
    return LIBRARY


def load_dopri5():
    """The ctypes library with ``dopri5_solve`` and ``dopri5_repeat`` (built on first use)."""
    global _lib
    if _lib is None:
        lib = ctypes.CDLL(build())
        common = [ctypes.c_void_p, _DOUBLE_P, ctypes.c_int, ctypes.c_double, ctypes.c_double]
        tail = [_DOUBLE_P, _DOUBLE_P, ctypes.c_double, ctypes.c_double, ctypes.c_long, _LONG_P,
                _DOUBLE_P]
        lib.dopri5_solve.argtypes = common + [_DOUBLE_P] + tail
        lib.dopri5_solve.restype = ctypes.c_int
        lib.dopri5_repeat.argtypes = common + [_DOUBLE_P, _DOUBLE_P] + tail + [ctypes.c_long]
        lib.dopri5_repeat.restype = ctypes.c_int
        _lib = lib
    return _lib


def _ptr(a):
    return a.ctypes.data_as(_DOUBLE_P)


def _prepare(p, y0, rtol, atol):
    y0 = np.ascontiguousarray(y0, dtype=np.float64)
    n = y0.shape[0]
    p = np.ascontiguousarray(p, dtype=np.float64)
    rtol = np.ascontiguousarray(np.broadcast_to(np.asarray(rtol, dtype=np.float64), (n,)))
    atol = np.ascontiguousarray(np.broadcast_to(np.asarray(atol, dtype=np.float64), (n,)))
    return p, y0, n, rtol, atol


def dopri5_solve(address, p, t0, t1, y0, rtol, atol, first_step=0.0, max_step=np.inf,
                 max_steps=0):
    """One C solve through the RHS at ``address``.

    Returns a dict: y (final state), t (final time), status, nfev, naccept, nreject.
    """
    lib = load_dopri5()
    p, y0, n, rtol, atol = _prepare(p, y0, rtol, atol)
    y = y0.copy()
    counters = np.zeros(4, dtype=np.int64)
    t_final = np.zeros(1)
    status = lib.dopri5_solve(ctypes.c_void_p(address), _ptr(p), n, t0, t1, _ptr(y), _ptr(rtol),
                              _ptr(atol), first_step, max_step, max_steps,
                              counters.ctypes.data_as(_LONG_P), _ptr(t_final))
    return dict(y=y, t=float(t_final[0]), status=int(status), nfev=int(counters[0]),
                naccept=int(counters[1]), nreject=int(counters[2]))


def dopri5_time(address, p, t0, t1, y0, rtol, atol, reps, first_step=0.0, max_step=np.inf):
    """Seconds per solve of ``reps`` solves run in one C loop (no per-solve foreign call)."""
    lib = load_dopri5()
    p, y0, n, rtol, atol = _prepare(p, y0, rtol, atol)
    y = y0.copy()
    counters = np.zeros(4, dtype=np.int64)
    t_final = np.zeros(1)
    args = (ctypes.c_void_p(address), _ptr(p), n, t0, t1, _ptr(y0), _ptr(y), _ptr(rtol),
            _ptr(atol), first_step, max_step, 0, counters.ctypes.data_as(_LONG_P), _ptr(t_final),
            reps)
    start = time.perf_counter()
    lib.dopri5_repeat(*args)
    return (time.perf_counter() - start) / reps

