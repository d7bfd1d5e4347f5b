"""The Rust reference solvers (``rust_ref/``) through cffi, for checks and benchmarks.

``rust_ref`` is an independent implementation (written from the method papers, not from
fastode's kernels) of fixed-step Euler and RK4, Dormand-Prince 5(4) with scipy's step control
and dense output, and the stiff Rosenbrock method Rodas4 (finite-difference Jacobian, dense LU).
It calls the very same compiled RHS as fastode's numba kernels (the C function
``void f(double t, const double *y, const double *p, double *dydt)`` that
``fastode.rhs.compile_rhs`` makes), so comparing the two checks the kernels and measures how
close they come to compiled speed.

    >>> import fastode.reference as ref                                   # doctest: +SKIP
    >>> ref.solve_ivp(lambda t, y: -y, (0, 5), [1.0], method="RK45")      # doctest: +SKIP

The shared library is ``rust_ref/target/release/libfastode_ref.so`` (``FASTODE_REF_LIB``
overrides the path). Build it with ``cargo build --release --offline`` in ``rust_ref/``, or
``fastode.reference.build()``; using this module without it raises ``ReferenceLibraryMissing``
saying so. The library is loaded in cffi's ABI mode (``ffi.dlopen``): no C compiler is needed.
"""
import os
import shutil
import subprocess
import threading

import numpy as np

from .ivp_common import (compiled_rhs, validate_args, validate_t_eval, validate_t_span,
                         validate_tolerances, validate_y0)
from .results import OdeResult
from .rhs import arg_specs, pack_args

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATE_DIR = os.path.join(ROOT, "rust_ref")
DEFAULT_LIBRARY = os.path.join(CRATE_DIR, "target", "release", "libfastode_ref.so")
BUILD_COMMAND = ("cargo", "build", "--release", "--offline")
ABI_VERSION = 1

# status codes (rust_ref/include/fastode_ref.h)
SUCCESS = 0
OUTPUT_TRUNCATED = 2
STEP_TOO_SMALL = -1
MAX_STEPS = -2
NON_FINITE = -3
SINGULAR = -4
ERR_NULL_POINTER = -100
ERR_BAD_SIZE = -101
ERR_BAD_TOLERANCE = -102
ERR_BAD_T_EVAL = -103
ERR_BAD_STEP = -104
ERR_BAD_SPAN = -105
ERR_OUTPUT_TOO_SMALL = -106
ERR_NO_MEMORY = -107
ERR_BAD_Y0 = -108
ERR_PANIC = -199

# method name -> (library function, adaptive)
METHODS = {
    "RK45": ("dopri5", True), "dopri5": ("dopri5", True), "DOPRI5": ("dopri5", True),
    "dormand_prince_54": ("dopri5", True),
    "euler": ("euler", False), "Euler": ("euler", False),
    "rk4": ("rk4", False), "RK4": ("rk4", False),
    "Rodas4": ("rodas4", True), "rodas4": ("rodas4", True), "RODAS": ("rodas4", True),
}

CDEF = """
typedef void (*fastode_rhs_fn)(double t, const double *y, const double *p, double *dydt);
typedef struct {
    uint64_t nfev; uint64_t njev; uint64_t nlu; uint64_t naccept; uint64_t nreject;
    double t_final;
} fastode_ref_stats;
int fastode_ref_euler(fastode_rhs_fn f, const double *p, size_t n, double t0, double t1,
                      const double *y0, double h, const double *t_eval, size_t n_eval,
                      double *t_out, double *y_out, size_t max_out, size_t *n_out,
                      fastode_ref_stats *stats);
int fastode_ref_rk4(fastode_rhs_fn f, const double *p, size_t n, double t0, double t1,
                    const double *y0, double h, const double *t_eval, size_t n_eval,
                    double *t_out, double *y_out, size_t max_out, size_t *n_out,
                    fastode_ref_stats *stats);
int fastode_ref_dopri5(fastode_rhs_fn f, const double *p, size_t n, double t0, double t1,
                       const double *y0, const double *rtol, const double *atol,
                       double first_step, double max_step, uint64_t max_steps,
                       const double *t_eval, size_t n_eval, double *t_out, double *y_out,
                       size_t max_out, size_t *n_out, fastode_ref_stats *stats);
int fastode_ref_dopri5_repeat(fastode_rhs_fn f, const double *p, size_t n, double t0, double t1,
                              const double *y0, const double *rtol, const double *atol,
                              double first_step, double max_step, uint64_t max_steps,
                              const double *t_eval, size_t n_eval, double *t_out,
                              double *y_out, size_t max_out, size_t *n_out,
                              fastode_ref_stats *stats, uint64_t reps);
int fastode_ref_rodas4(fastode_rhs_fn f, const double *p, size_t n, double t0, double t1,
                       const double *y0, const double *rtol, const double *atol,
                       double first_step, double max_step, uint64_t max_steps,
                       const double *t_eval, size_t n_eval, double *t_out, double *y_out,
                       size_t max_out, size_t *n_out, fastode_ref_stats *stats);
const char *fastode_ref_status_message(int status);
uint32_t fastode_ref_abi_version(void);
int fastode_ref_lecture_euler_decay(double *out);
int fastode_ref_lecture_harmonic(double *out);
"""


class ReferenceLibraryMissing(RuntimeError):
    """The Rust reference library is not built (the message says how to build it)."""


class ReferenceArgumentError(ValueError):
    """The Rust library refused its arguments; ``code`` is its status code (<= -100)."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


_lock = threading.Lock()
_loaded = None  # (ffi, lib)


def library_path():
    """Where the shared library is looked for (``FASTODE_REF_LIB`` overrides the default)."""
    return os.environ.get("FASTODE_REF_LIB") or DEFAULT_LIBRARY


def build_command_text():
    return f"cd {CRATE_DIR} && {' '.join(BUILD_COMMAND)}"


def build(verbose=False):
    """Build the library with cargo (``cargo build --release --offline`` in rust_ref/).

    Returns the library path. Raises ``RuntimeError`` when cargo is missing or the build fails
    (with cargo's output).

    Examples
    --------
    >>> import fastode.reference as ref
    >>> path = ref.build()                # doctest: +SKIP
    """
    cargo = shutil.which("cargo")
    if cargo is None:
        raise RuntimeError("cannot build the Rust reference: `cargo` is not on PATH "
                           "(install Rust from https://rustup.rs, then run "
                           f"`{build_command_text()}`).")
    proc = subprocess.run([cargo, *BUILD_COMMAND[1:]], cwd=CRATE_DIR, capture_output=not verbose,
                          text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"`{build_command_text()}` failed:\n{proc.stderr or ''}")
    return DEFAULT_LIBRARY


def load():
    """(ffi, lib) for the built library, loaded once. Raises ``ReferenceLibraryMissing``."""
    global _loaded
    if _loaded is not None:
        return _loaded
    with _lock:
        if _loaded is None:
            path = library_path()
            if not os.path.exists(path):
                raise ReferenceLibraryMissing(
                    f"the Rust reference library {path} is not built. Build it with "
                    f"`{build_command_text()}` (or call fastode.reference.build()).")
            import cffi
            ffi = cffi.FFI()
            ffi.cdef(CDEF)
            lib = ffi.dlopen(path)
            version = lib.fastode_ref_abi_version()
            if version != ABI_VERSION:
                raise ReferenceLibraryMissing(
                    f"{path} has C interface version {version}, this module expects "
                    f"{ABI_VERSION}: rebuild it with `{build_command_text()}`.")
            _loaded = (ffi, lib)
    return _loaded


def available():
    """True when the library is built and loads.

    Examples
    --------
    >>> import fastode.reference as ref
    >>> ref.available() in (True, False)
    True
    """
    try:
        load()
        return True
    except (ReferenceLibraryMissing, OSError, ImportError):
        return False


def status_message(code):
    ffi, lib = load()
    return ffi.string(lib.fastode_ref_status_message(int(code))).decode()


def _check(code):
    """Raise for argument errors (<= -100); return the code otherwise."""
    if code > -100:
        return code
    message = f"fastode_ref: {status_message(code)} (status {code})"
    if code == ERR_NO_MEMORY:
        raise MemoryError(message)
    if code == ERR_PANIC:
        raise RuntimeError(message)
    raise ReferenceArgumentError(message, code)


def _double_ptr(ffi, arr):
    return ffi.NULL if arr is None else ffi.cast("double *", arr.ctypes.data)


def _f64(a):
    return np.ascontiguousarray(a, dtype=np.float64)


def call(method, address, p, t0, t1, y0, rtol=None, atol=None, h=0.0, t_eval=None,
         first_step=0.0, max_step=np.inf, max_steps=0, capacity=256):
    """Run one library solver on plain arrays, with no validation beyond the library's own.

    ``method`` is 'euler', 'rk4', 'dopri5' or 'rodas4'; ``address`` the C function address of
    the RHS; ``rtol``/``atol`` arrays of length n (adaptive methods); ``h`` the fixed step.
    Returns (status, t (k,), y (k, n), stats dict). Invalid arguments raise
    ``ReferenceArgumentError`` (a ValueError) carrying the library's status code.
    """
    ffi, lib = load()
    y0 = _f64(y0)
    p = _f64(p)
    n = y0.shape[0]
    te = None if t_eval is None else _f64(t_eval)
    n_eval = 0 if te is None else te.shape[0]
    rt = None if rtol is None else _f64(rtol)
    at = None if atol is None else _f64(atol)
    fn_ptr = ffi.cast("fastode_rhs_fn", int(address))
    n_out = ffi.new("size_t *")
    stats = ffi.new("fastode_ref_stats *")
    max_out = n_eval if n_eval else max(int(capacity), 1)
    while True:
        t_out = np.empty(max_out)
        y_out = np.empty((max_out, n))
        args_head = (fn_ptr, _double_ptr(ffi, p), n, float(t0), float(t1), _double_ptr(ffi, y0))
        args_tail = (_double_ptr(ffi, te), n_eval, _double_ptr(ffi, t_out),
                     _double_ptr(ffi, y_out), max_out, n_out, stats)
        if method in ("euler", "rk4"):
            fn = getattr(lib, f"fastode_ref_{method}")
            code = fn(*args_head, float(h), *args_tail)
        elif method in ("dopri5", "rodas4"):
            fn = getattr(lib, f"fastode_ref_{method}")
            code = fn(*args_head, _double_ptr(ffi, rt), _double_ptr(ffi, at), float(first_step),
                      float(max_step), int(max_steps), *args_tail)
        else:
            raise ValueError(f"unknown library method {method!r}")
        code = _check(code)
        count = int(n_out[0])
        if count > max_out and not n_eval:
            max_out = count  # the solve is deterministic: run again with room for every step
            continue
        break
    info = dict(nfev=int(stats.nfev), njev=int(stats.njev), nlu=int(stats.nlu),
                naccept=int(stats.naccept), nreject=int(stats.nreject),
                t_final=float(stats.t_final))
    return code, t_out[:count].copy(), y_out[:count].copy(), info


def solve_ivp(fun, t_span, y0, method="RK45", t_eval=None, rtol=1e-3, atol=1e-6, args=None,
              step=None, first_step=None, max_step=np.inf, max_steps=None):
    """Solve an initial value problem with the Rust reference solvers.

    Same call and result as ``fastode.solve_ivp`` (a ``fastode.results.OdeResult``, ``sol``
    and events None) for the methods the reference has: ``'RK45'`` (alias ``'dopri5'``),
    ``'euler'`` and ``'rk4'`` (fixed step: pass ``step``), ``'Rodas4'`` (stiff). ``fun`` is
    compiled exactly as ``fastode.solve_ivp`` compiles it (the same cached C function), so the
    two run the same RHS code. ``max_steps`` limits the step attempts of adaptive methods.

    Bad arguments raise ``ValueError``/``TypeError`` (fastode's own validation first; anything the
    library refuses raises ``ReferenceArgumentError``, a ``ValueError``); a failed integration
    returns ``success=False`` with the solution up to the failure.

    Examples
    --------
    >>> import numpy as np
    >>> import fastode.reference as ref
    >>> sol = ref.solve_ivp(lambda t, y: -y, (0.0, 5.0), [1.0], method="euler", step=0.005)
    >>> bool(abs(sol.y[0, -1] - 0.995 ** 1000) < 1e-12)
    True
    """
    if not callable(fun):
        raise TypeError("`fun` must be callable.")
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {sorted(METHODS)}; got {method!r}.")
    kind, adaptive = METHODS[method]
    t0, t1 = validate_t_span(t_span)
    y0_real, n, is_complex = validate_y0(y0)
    args = validate_args(args)
    t_eval_arr = validate_t_eval(t_eval, t0, t1)
    h = 0.0
    rtol_arr = atol_arr = None
    if adaptive:
        if step is not None:
            raise ValueError(f"`step` is for fixed-step methods; {method!r} is adaptive.")
        rtol_arr, atol_arr = validate_tolerances(rtol, atol, n, is_complex)
    else:
        h = step if step is not None else first_step
        if h is None:
            if t1 != t0:
                raise ValueError(f"fixed-step method {method!r} needs a step size: pass `step=`.")
            h = 1.0
    if max_steps is not None and (not isinstance(max_steps, (int, np.integer)) or max_steps <= 0):
        raise ValueError(f"`max_steps` must be a positive integer; got {max_steps!r}.")
    load()  # a missing library is reported before anything is compiled

    specs = arg_specs(args)
    p = pack_args(args, specs) if specs is not None else np.zeros(1)
    rhs = compiled_rhs(fun, t0, y0_real, n, is_complex, args, specs, False)
    code, t_out, y_out, info = call(
        kind, rhs.address, p, t0, t1, y0_real, rtol_arr, atol_arr, h=h, t_eval=t_eval_arr,
        first_step=0.0 if first_step is None or not adaptive else first_step,
        max_step=max_step, max_steps=max_steps or 0)
    if rhs.errors:  # an exception in a Python-callback RHS: re-raise it, as scipy would
        raise rhs.errors[0]
    y_sol = y_out.T
    y_sol = y_sol[0::2] + 1j * y_sol[1::2] if is_complex else np.ascontiguousarray(y_sol)
    return OdeResult(t=t_out, y=y_sol, sol=None, t_events=None, y_events=None,
                     nfev=info["nfev"], njev=info["njev"], nlu=info["nlu"],
                     status=0 if code >= 0 else -1, message=status_message(code),
                     success=code >= 0, naccept=info["naccept"], nreject=info["nreject"])


def lecture_examples():
    """The lecture's two Rust Euler examples as computed by the library:
    (y(5) of dy/dt = -y with 1000 steps, y(pi/2) of the harmonic oscillator with 100 steps)."""
    ffi, lib = load()
    decay = ffi.new("double *")
    harmonic = ffi.new("double[2]")
    _check(lib.fastode_ref_lecture_euler_decay(decay))
    _check(lib.fastode_ref_lecture_harmonic(harmonic))
    return float(decay[0]), np.array([harmonic[0], harmonic[1]])


def dopri5_repeat(address, p, t0, t1, y0, rtol, atol, t_eval, reps):
    """Run the Rust DOPRI5 ``reps`` times in one foreign call (benchmarks); returns
    (status, y at the t_eval points (k, n), stats dict) of the last run."""
    ffi, lib = load()
    y0, p, te = _f64(y0), _f64(p), _f64(t_eval)
    rt, at = _f64(rtol), _f64(atol)
    n = y0.shape[0]
    t_out = np.empty(te.shape[0])
    y_out = np.empty((te.shape[0], n))
    n_out = ffi.new("size_t *")
    stats = ffi.new("fastode_ref_stats *")
    code = lib.fastode_ref_dopri5_repeat(
        ffi.cast("fastode_rhs_fn", int(address)), _double_ptr(ffi, p), n, float(t0), float(t1),
        _double_ptr(ffi, y0), _double_ptr(ffi, rt), _double_ptr(ffi, at), 0.0, np.inf, 0,
        _double_ptr(ffi, te), te.shape[0], _double_ptr(ffi, t_out), _double_ptr(ffi, y_out),
        te.shape[0], n_out, stats, int(reps))
    _check(code)
    return code, y_out, dict(nfev=int(stats.nfev), naccept=int(stats.naccept),
                             nreject=int(stats.nreject))
