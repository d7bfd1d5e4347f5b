"""Shared benchmark machinery: thread pools, interleaved timing, direct kernel calls, peers.

Import this module before anything imports numba: it pins numba's and OpenMP/BLAS thread pools to
one thread (NUMBA_NUM_THREADS=1, OMP_NUM_THREADS=1, ...) unless ``FASTODE_BENCH_THREADS`` says
otherwise, so that benchmarks on a small shared machine do not fight over cores (docs/design.md).

Timing rules (the machine is small and shared): contenders are timed in interleaved rounds, each
sample is a batch of calls long enough to swamp the timer, and the minimum over rounds is
reported; only ratios measured in the same run are meaningful.
"""
import gc
import os
import sys
import time

_THREADS = os.environ.get("FASTODE_BENCH_THREADS", "1")
if "numba" not in sys.modules:
    for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                 "MKL_NUM_THREADS"):
        os.environ[_var] = _THREADS

import numpy as np  # noqa: E402
import numba  # noqa: E402
from numba import njit  # noqa: E402

import fastode  # noqa: E402
from fastode import methods as method_registry  # noqa: E402
from fastode.kernels.explicit import explicit_rk_solve  # noqa: E402
from fastode.rhs import arg_specs, compile_rhs, pack_args  # noqa: E402

_NO_EVENTS_I = np.zeros(0, dtype=np.int64)
_NO_EVENTS_F = np.zeros(0)


def thread_note():
    """One line saying how the thread pools are set (for report headers)."""
    return (f"numba threads {numba.config.NUMBA_NUM_THREADS}, "
            f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
            f"{os.cpu_count()} CPUs")


def environment_note():
    import platform
    import scipy
    return (f"python {platform.python_version()}, numpy {np.__version__}, scipy "
            f"{scipy.__version__}, numba {numba.__version__}, {platform.machine()}, "
            f"{thread_note()}")


# ---------------------------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------------------------
def batch_time(fn, calls):
    """Seconds per call of ``calls`` back-to-back calls of ``fn()`` (garbage collector paused)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        return (time.perf_counter() - start) / calls
    finally:
        if enabled:
            gc.enable()


def calibrate(fn, target=0.01, max_calls=100_000):
    """Number of calls of ``fn`` that take about ``target`` seconds (at least 1)."""
    calls = 1
    while True:
        per_call = batch_time(fn, calls)
        total = per_call * calls
        if total >= target / 4 or calls >= max_calls:
            return max(1, min(max_calls, int(round(target / max(per_call, 1e-9)))))
        calls *= 10


class Contender:
    """Something to time: ``fn()`` runs one solve, or ``timer(calls)`` returns seconds per solve
    for ``calls`` solves run in compiled code. ``max_rounds`` limits slow contenders (scipy)."""

    def __init__(self, name, fn=None, timer=None, max_rounds=None, target=0.01):
        self.name = name
        self.fn = fn
        self.timer = timer
        self.max_rounds = max_rounds
        self.target = target
        self.calls = None
        self.samples = []

    def prepare(self):
        if self.timer is not None:
            per_call = self.timer(1)
            self.calls = max(1, int(round(self.target / max(per_call, 1e-9))))
        else:
            self.calls = calibrate(self.fn, self.target)

    def sample(self):
        if self.timer is not None:
            self.samples.append(self.timer(self.calls))
        else:
            self.samples.append(batch_time(self.fn, self.calls))

    @property
    def best(self):
        return min(self.samples) if self.samples else float("nan")

    @property
    def median(self):
        return float(np.median(self.samples)) if self.samples else float("nan")


def interleaved(contenders, rounds):
    """Time the contenders in ``rounds`` interleaved rounds; returns {name: Contender}."""
    for c in contenders:
        c.prepare()
    for r in range(rounds):
        for c in contenders:
            if c.max_rounds is None or r < c.max_rounds:
                c.sample()
    return {c.name: c for c in contenders}


# ---------------------------------------------------------------------------------------------
# fastode's kernel, called directly (as fastode/ivp.py calls it)
# ---------------------------------------------------------------------------------------------
class KernelCall:
    """Everything ``explicit_rk_solve`` needs for one problem/method/tolerance.

    ``t_eval_end`` True passes t_eval = [t_end] (nothing stored per step, but dense-output
    coefficients are computed every step); False stores every accepted step (solve_ivp's default).
    Keeps the compiled RHS alive while its address is in use.
    """

    def __init__(self, problem, method, rtol, atol, t_eval_end=False):
        chosen = method_registry.lookup(method)
        if chosen.family != "explicit" or not chosen.adaptive:
            raise ValueError(f"{method!r} is not an adaptive explicit method")
        self.problem = problem
        self.method = chosen
        n = problem.n
        specs = arg_specs(problem.args)
        self.p = pack_args(problem.args, specs)
        # the same compiled cfunc solve_ivp uses (solve_ivp caches it per function and layout)
        self.compiled = compile_rhs(problem.fun, n, problem.args, False, False)
        if self.compiled.python_callback:
            raise RuntimeError(f"{problem.name}: fastode could not compile the RHS "
                               f"({self.compiled.reason})")
        self.address = self.compiled.address
        self.rtol = np.full(n, float(rtol))
        self.atol = np.full(n, float(atol))
        t0, t1 = problem.t_span
        self.t0, self.t1 = float(t0), float(t1)
        self.y0 = np.array(problem.y0, dtype=np.float64)
        self.t_eval_end = t_eval_end
        self.t_eval = np.array([self.t1]) if t_eval_end else np.zeros(1)
        tab = chosen.tableau
        # the option groups of fastode.kernels.options, as fastode/ivp_explicit.py passes them
        self.args = (self.address, self.p, self.t0, self.t1, self.y0, (self.rtol, self.atol),
                     (tab.C, tab.A, tab.B, tab.E, tab.E3, chosen.use_e3, tab.error_order,
                      tab.C_extra, tab.A_extra, tab.P), (True, 0.0, np.inf, 0.0, 0),
                     (self.t_eval, bool(t_eval_end), False),
                     (_NO_EVENTS_I, _NO_EVENTS_F, _NO_EVENTS_I, 4))

    def __call__(self):
        return explicit_rk_solve(*self.args)

    def solve(self):
        """dict: y (final state), status, nfev, naccept, nreject."""
        out = self()
        status, y_out, n_out, counters = out[0], out[2], out[3], out[12]
        return dict(y=y_out[n_out - 1].copy(), status=int(status), nfev=int(counters[0]),
                    naccept=int(counters[1]), nreject=int(counters[2]))

    def loop_time(self, reps):
        """Seconds per solve of ``reps`` solves run in one compiled loop (no Python per solve)."""
        a = self.args
        _kernel_loop(1, *a)  # compiled on first use (and cached on disk)
        start = time.perf_counter()
        _kernel_loop(reps, *a)
        return (time.perf_counter() - start) / reps


# Not cached on disk: numba's cache would not notice changes to explicit_rk_solve (defined in
# another file, numba#1833) and would keep timing the old kernel. Compiling costs ~1-2 s.
@njit(cache=False, nogil=True)
def _kernel_loop(reps, rhs, p, t0, t1, y0, tolerances, tableau, steps, output, events):
    nfev = 0.0
    for _ in range(reps):
        out = explicit_rk_solve(rhs, p, t0, t1, y0, tolerances, tableau, steps, output, events)
        nfev += out[12][0]
    return nfev


# ---------------------------------------------------------------------------------------------
# numbalsoda (optional peer)
# ---------------------------------------------------------------------------------------------
def numbalsoda_available():
    try:
        import numbalsoda  # noqa: F401
        return True
    except Exception:  # not installed, or its shared libraries fail to load
        return False


_numbalsoda_cache = {}


def _numbalsoda_rhs(problem):
    """A numbalsoda cfunc ``f(t, u, du, p)`` around the same problem function (jitted)."""
    key = problem.name
    if key in _numbalsoda_cache:
        return _numbalsoda_cache[key]
    from numba import carray, cfunc
    from numbalsoda import lsoda_sig
    n = problem.n
    n_p = len(problem.args)
    fun = njit(problem.fun)
    arg_expr = ", ".join(f"p[{k}]" for k in range(n_p))
    src = (f"def rhs(t, u_ptr, du_ptr, p_ptr):\n"
           f"    u = carray(u_ptr, ({n},))\n"
           f"    p = carray(p_ptr, ({max(n_p, 1)},))\n"
           f"    du = carray(du_ptr, ({n},))\n"
           f"    r = fun(t, u{', ' + arg_expr if arg_expr else ''})\n"
           f"    for i in range({n}):\n"
           f"        du[i] = r[i]\n")
    namespace = {"carray": carray, "fun": fun}
    exec(compile(src, f"<numbalsoda rhs {problem.name}>", "exec"), namespace)
    compiled = cfunc(lsoda_sig)(namespace["rhs"])
    _numbalsoda_cache[key] = compiled
    return compiled


_numbalsoda_loops = {}


def _numbalsoda_loop(solver_name):
    if solver_name not in _numbalsoda_loops:
        import numbalsoda
        solver = getattr(numbalsoda, solver_name)

        @njit
        def loop(reps, address, u0, t_eval, data, rtol, atol):
            usol = np.empty((2, u0.shape[0]))
            ok = True
            for _ in range(reps):
                usol, ok = solver(address, u0, t_eval, data, rtol, atol, 10_000_000)
            return usol[-1].copy(), ok

        _numbalsoda_loops[solver_name] = loop
    return _numbalsoda_loops[solver_name]


class NumbalsodaCall:
    """numbalsoda's ``dop853`` or ``lsoda`` on a problem, called inside a numba loop."""

    def __init__(self, problem, solver_name, rtol, atol):
        self.cf = _numbalsoda_rhs(problem)
        self.address = self.cf.address
        self.loop = _numbalsoda_loop(solver_name)
        self.u0 = np.array(problem.y0, dtype=np.float64)
        self.t_eval = np.array([float(problem.t_span[0]), float(problem.t_span[1])])
        self.data = np.array(problem.args, dtype=np.float64) if problem.args else np.zeros(1)
        self.rtol, self.atol = float(rtol), float(atol)

    def solve(self):
        y, ok = self.loop(1, self.address, self.u0, self.t_eval, self.data, self.rtol, self.atol)
        return dict(y=y, status=0 if ok else -1)

    def loop_time(self, reps):
        self.solve()
        start = time.perf_counter()
        self.loop(reps, self.address, self.u0, self.t_eval, self.data, self.rtol, self.atol)
        return (time.perf_counter() - start) / reps


# ---------------------------------------------------------------------------------------------
# formatting
# ---------------------------------------------------------------------------------------------
def fmt_time(seconds):
    """'12.3 us', '4.56 ms', '1.23 s' (3 significant digits)."""
    if seconds is None or not np.isfinite(seconds):
        return "—"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            v = seconds / scale
            return f"{v:.3g} {unit}" if v < 100 else f"{v:.0f} {unit}"
    return f"{seconds:.3g} s"


def fmt_err(e):
    if e is None:
        return "—"
    if not np.isfinite(e):
        return "fail"
    return f"{e:.1e}"


def fmt_ratio(r, digits=2):
    if r is None or not np.isfinite(r):
        return "—"
    return f"{r:.{digits}f}" if r < 10 else f"{r:.0f}"


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
