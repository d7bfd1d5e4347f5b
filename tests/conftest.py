"""Shared test problems for the solve_ivp tests.

The right-hand sides are module-level functions so that each is compiled by numba once per test
session (fastode caches the compiled RHS per function object); test modules import them with
``from conftest import ...``. Exact solutions are given where they exist; the standard problems
without one (Lotka-Volterra, Van der Pol, Lorenz, Arenstorf) get a tight scipy DOP853 reference
(rtol = atol = 1e-12), computed once per session.
"""
import atexit
import functools
import os
import shutil
import tempfile

# the test session never writes into the user's real cache (~/.cache/fastode): compiled user
# functions go to a temporary folder of this session (subprocess tests set their own)
_USER_CACHE = tempfile.mkdtemp(prefix="fastode-test-cache-")
os.environ["FASTODE_CACHE_DIR"] = _USER_CACHE
atexit.register(shutil.rmtree, _USER_CACHE, True)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.integrate  # noqa: E402

# ---- which OpenBLAS kernels scipy runs on -----------------------------------------------------
# scipy's solvers take their error norms (np.linalg.norm), stage sums (np.dot) and LU factors
# through OpenBLAS, whose kernel set is picked per CPU (or by OPENBLAS_CORETYPE, read when numpy
# is loaded): the summation order, hence the last bits, differ per kernel set. Tests that compare
# with scipy assert only what holds for every kernel set (marker scipy_compare; .ci/run runs them
# under several); the one last-bit comparison (marker scipy_exact) runs only on SCIPY_EXACT_CORE.
SCIPY_EXACT_CORE = "Haswell"


@functools.lru_cache(maxsize=None)
def openblas_cores():
    """The OpenBLAS kernel sets in use in this process (numpy's and scipy's libraries), as
    OpenBLAS names them (``"Haswell"``, ``"SkylakeX"``, ...); empty when none can be found (not
    Linux, or another BLAS). What OpenBLAS reports, not what OPENBLAS_CORETYPE asks for: a core
    type the CPU cannot run falls back to an older one, and ``Zen`` runs the Haswell kernels."""
    import ctypes
    import scipy.linalg  # noqa: F401  (loads scipy's own OpenBLAS)

    try:
        with open("/proc/self/maps") as fh:
            paths = {line.split()[-1] for line in fh if "openblas" in line.lower()}
    except OSError:
        return frozenset()
    cores = set()
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                     "openblas_get_corename64_", "openblas_get_corename"):
            if hasattr(lib, name):
                getter = getattr(lib, name)
                getter.restype = ctypes.c_char_p
                cores.add(getter().decode())
                break
    return frozenset(cores)


def pytest_report_header(config):
    return "OpenBLAS kernels: " + (", ".join(sorted(openblas_cores())) or "unknown")


def pytest_collection_modifyitems(config, items):
    """Skip the scipy_exact tests unless scipy runs on the OpenBLAS kernels they are pinned to."""
    cores = openblas_cores()
    if cores == {SCIPY_EXACT_CORE}:
        return
    skip = pytest.mark.skip(
        reason=f"last-bit agreement with scipy is pinned to OpenBLAS's {SCIPY_EXACT_CORE} "
               f"kernels (this process: {', '.join(sorted(cores)) or 'unknown'}); run with "
               f"OPENBLAS_CORETYPE={SCIPY_EXACT_CORE} on a CPU with AVX2")
    for item in items:
        if item.get_closest_marker("scipy_exact"):
            item.add_marker(skip)

# ---- stiff problems ----------------------------------------------------------------------------


def robertson(t, y):
    """Robertson's chemical kinetics (Hairer & Wanner IV.10), the classic stiff test."""
    return np.array([-0.04 * y[0] + 1e4 * y[1] * y[2],
                     0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                     3e7 * y[1] ** 2])


def robertson_jac(t, y):
    return np.array([[-0.04, 1e4 * y[2], 1e4 * y[1]],
                     [0.04, -1e4 * y[2] - 6e7 * y[1], -1e4 * y[1]],
                     [0.0, 6e7 * y[1], 0.0]])


# ---- problems with exact solutions -----------------------------------------------------------


def harmonic(t, y):
    """y'' = -y; y(0) = (1, 0) gives (cos t, -sin t)."""
    return np.array([y[1], -y[0]])


def harmonic_exact(t):
    return np.array([np.cos(t), -np.sin(t)])


def ycos(t, y):
    """y' = y cos t; y(0) = 1 gives exp(sin t)."""
    return y * np.cos(t)


def ycos_exact(t):
    return np.array([np.exp(np.sin(t))])


def free_fall(t, y, g):
    """y'' = -g as (height, velocity): the exact solution is a quadratic in t."""
    return np.array([y[1], -g])


# ---- standard non-stiff problems (Hairer, Norsett & Wanner I) --------------------------------

def lotka_volterra(t, y):
    a, b, c, d = 1.5, 1.0, 3.0, 1.0
    return np.array([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])


def van_der_pol(t, y):
    """Van der Pol oscillator, mu = 1."""
    return np.array([y[1], (1.0 - y[0] ** 2) * y[1] - y[0]])


def lorenz(t, y):
    return np.array([10.0 * (y[1] - y[0]), y[0] * (28.0 - y[2]) - y[1],
                     y[0] * y[1] - 8.0 / 3.0 * y[2]])


ARENSTORF_MU = 0.012277471
ARENSTORF_Y0 = [0.994, 0.0, 0.0, -2.00158510637908252240537862224]
ARENSTORF_PERIOD = 17.0652165601579625588917206249


def arenstorf(t, y):
    """Restricted three-body problem (Arenstorf orbit); periodic with ARENSTORF_PERIOD."""
    mu = 0.012277471
    mu1 = 1.0 - mu
    d1 = ((y[0] + mu) ** 2 + y[1] ** 2) ** 1.5
    d2 = ((y[0] - mu1) ** 2 + y[1] ** 2) ** 1.5
    return np.array([y[2], y[3],
                     y[0] + 2.0 * y[3] - mu1 * (y[0] + mu) / d1 - mu * (y[0] - mu1) / d2,
                     y[1] - 2.0 * y[2] - mu1 * y[1] / d1 - mu * y[1] / d2])


# name -> (fun, t_span, y0)
STANDARD = {
    "lotka_volterra": (lotka_volterra, (0.0, 15.0), [10.0, 5.0]),
    "van_der_pol": (van_der_pol, (0.0, 10.0), [2.0, 0.0]),
    "lorenz": (lorenz, (0.0, 2.0), [1.0, 1.0, 1.0]),
    "arenstorf": (arenstorf, (0.0, ARENSTORF_PERIOD), ARENSTORF_Y0),
}

SCIPY_METHODS = ("RK23", "RK45", "DOP853")
ADAPTIVE = ("RK23", "RK45", "DOP853", "Tsit5", "Vern7")
FIXED = {"euler": 1, "midpoint": 2, "heun": 2, "rk4": 4, "rk38": 4}
ORDER = {"RK23": 3, "RK45": 5, "DOP853": 8, "Tsit5": 5, "Vern7": 7, **FIXED}
# order of the dense output error: min(order, order of the continuous extension); the
# fixed-step methods use the cubic Hermite interpolant. Vern7: Verner's 16-stage interpolant is
# of order 7 (measured: local error slope 8; fastode.tableaus declares dense_order = 6).
DENSE_ORDER = {"RK23": 3, "RK45": 4, "DOP853": 7, "Tsit5": 4, "Vern7": 7,
               "euler": 1, "midpoint": 2, "heun": 2, "rk4": 3, "rk38": 3}


@functools.lru_cache(maxsize=None)
def reference(name, t_end=None):
    """Tight scipy DOP853 solution (rtol = atol = 1e-12) of a STANDARD problem, dense."""
    fun, (t0, t1), y0 = STANDARD[name]
    if t_end is not None:
        t1 = t_end
    return scipy.integrate.solve_ivp(fun, (t0, t1), y0, method="DOP853", rtol=1e-12,
                                     atol=1e-12, dense_output=True)


def observed_order(steps, errors):
    """Least-squares slope of log(error) against log(step)."""
    return np.polyfit(np.log(steps), np.log(errors), 1)[0]
