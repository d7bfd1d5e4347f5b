"""Tests of fastode.solvers: scipy's step-by-step solver classes, stepping in numba kernels.

Two kinds of side-by-side comparison with scipy's RK23 / RK45 / DOP853:

* **same arithmetic** (``exact_scipy`` fixture): scipy's own classes, with their floating-point
  reductions made reproducible: the stage and error sums run in the kernel's order without
  fused multiply-adds, and the RHS is the same compiled function. Everything else (constructor,
  initial step, ``_step_impl``, controller, ``step()``) is scipy's code. The two then agree to the
  last bit (checked to 1e-14 relative; the worst seen is 0), which shows the kernels implement
  scipy's algorithm exactly.
* **stock scipy**: scipy's classes unchanged, with the Python RHS. scipy computes the error
  estimate with BLAS (OpenBLAS's dgemv, which uses FMA on this CPU and sums in a different
  order); the estimate is a difference of nearly equal stage sums, so its rounding is amplified
  by ~1/rtol, and the step sizes differ by 1e-10..1e-8 relative at rtol 1e-6..1e-9 (by up to
  20 % where the first step is so small that the error estimate is rounding noise, e.g.
  Arenstorf with DOP853 at rtol 1e-9). The discrete behaviour (number of steps, nfev after
  every step, status) is identical; times and states agree to the conditioning of the error
  estimate, checked where it is well conditioned (rtol 1e-6).
"""
import ctypes
import math
import warnings

import numba
import numpy as np
import pytest
import scipy.integrate
from scipy.linalg import expm

import fastode
from fastode import solvers as fs
from fastode.results import DenseOutput, OdeSolution
from fastode.rhs import _RHS_CTYPES, FallbackWarning, compile_rhs

SCIPY_METHODS = ("RK23", "RK45", "DOP853")
_DOUBLE_P = ctypes.POINTER(ctypes.c_double)


# ---- problems --------------------------------------------------------------------------------

def lotka_volterra(t, y):
    return np.array([1.5 * y[0] - 1.0 * y[0] * y[1], -3.0 * y[1] + 1.0 * y[0] * y[1]])


def van_der_pol(t, y):
    return np.array([y[1], (1.0 - y[0] * y[0]) * y[1] - y[0]])


def arenstorf(t, y):
    mu = 0.012277471
    mu1 = 1.0 - mu
    d1 = ((y[0] + mu) ** 2 + y[1] ** 2) ** 1.5
    d2 = ((y[0] - mu1) ** 2 + y[1] ** 2) ** 1.5
    return np.array([y[2], y[3],
                     y[0] + 2.0 * y[3] - mu1 * (y[0] + mu) / d1 - mu * (y[0] - mu1) / d2,
                     y[1] - 2.0 * y[2] - mu1 * y[1] / d1 - mu * y[1] / d2])


ARENSTORF_PERIOD = 17.0652165601579625588917206249
A_COMPLEX = np.array([[-0.5 + 2.0j, 1.0], [-1.0, -0.3 - 1.0j]])


def complex_linear(t, y):
    return A_COMPLEX @ y


def lotka_volterra_vectorized(t, y):
    return np.stack((1.5 * y[0] - 1.0 * y[0] * y[1], -3.0 * y[1] + 1.0 * y[0] * y[1]))


def nan_after_one(t, y):
    if t > 1.0:
        return np.array([np.nan, 1.0])
    return -y


def nan_always(t, y):
    return np.array([np.nan, 1.0]) * y


# name -> (fun, t0, y0, t_bound, max number of steps compared)
PROBLEMS = {
    "lotka_volterra": (lotka_volterra, 0.0, [10.0, 5.0], 15.0, 3000),
    "van_der_pol": (van_der_pol, 0.0, [2.0, 0.0], 20.0, 3000),
    "arenstorf": (arenstorf, 0.0, [0.994, 0.0, 0.0, -2.00158510637908252240537862224],
                  ARENSTORF_PERIOD, 40),
    "van_der_pol_backward": (van_der_pol, 6.0, [2.0, 0.0], 0.0, 3000),
}


# ---- scipy with reproducible arithmetic -------------------------------------------------------

def _seq_dot(M, w):
    """sum_j w[j] M[j] in the order j = 0, 1, ..., without fused multiply-adds (the kernels')."""
    acc = np.zeros(M.shape[1], dtype=M.dtype)
    for j in range(w.shape[0]):
        acc = acc + w[j] * M[j]
    return acc


def _seq_sum_squares(x):
    acc = 0.0
    for v in x:
        acc += v * v
    return acc


def _seq_norm(x):
    return math.sqrt(_seq_sum_squares(x) / x.size)


def _seq_rk_step(fun, t, y, f, h, A, B, C, K):
    K[0] = f
    for s in range(1, len(C)):
        K[s] = fun(t + C[s] * h, y + h * _seq_dot(K[:s], A[s, :s]))
    y_new = y + h * _seq_dot(K[:-1], B)
    f_new = fun(t + h, y_new)
    K[-1] = f_new
    return y_new, f_new


def _seq_rk_error_norm(self, K, h, scale):
    return abs(h) * _seq_norm(_seq_dot(K, self.E) / scale)


def _seq_dop853_error_norm(self, K, h, scale):
    e5 = _seq_sum_squares(_seq_dot(K, self.E5) / scale)
    e3 = _seq_sum_squares(_seq_dot(K, self.E3) / scale)
    if e5 == 0.0 and e3 == 0.0:
        return 0.0
    return abs(h) * e5 / math.sqrt((e5 + 0.01 * e3) * len(scale))


@pytest.fixture
def exact_scipy(monkeypatch):
    """scipy's RK classes with reproducible reductions (see the module docstring)."""
    from scipy.integrate._ivp import common, rk
    if not (hasattr(rk, "rk_step") and hasattr(common, "norm")
            and hasattr(rk.DOP853, "_estimate_error_norm")):
        pytest.skip("scipy's private RK helpers changed; the stock-scipy tests still run")
    monkeypatch.setattr(rk, "rk_step", _seq_rk_step)
    monkeypatch.setattr(common, "norm", _seq_norm)
    monkeypatch.setattr(rk.RungeKutta, "_estimate_error_norm", _seq_rk_error_norm)
    monkeypatch.setattr(rk.DOP853, "_estimate_error_norm", _seq_dop853_error_norm)
    return scipy.integrate


def compiled(fun, n):
    """The compiled RHS fastode uses for ``fun``, callable from Python (for scipy)."""
    rhs = compile_rhs(fun, n, (), False, False)
    c_fun = _RHS_CTYPES(rhs.address)
    p = np.zeros(1)

    def call(t, y):
        y = np.ascontiguousarray(y, dtype=np.float64)
        out = np.empty(n)
        c_fun(t, y.ctypes.data_as(_DOUBLE_P), p.ctypes.data_as(_DOUBLE_P),
              out.ctypes.data_as(_DOUBLE_P))
        return out

    call._keepalive = rhs
    return call


def rel(a, b):
    """|a - b| / |b| (0 when equal, also at b = 0)."""
    return 0.0 if a == b else abs(a - b) / abs(b)


# ---- step by step against scipy: same arithmetic ------------------------------------------------

@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("method", SCIPY_METHODS)
@pytest.mark.parametrize("rtol", [1e-6, 1e-9])
def test_steps_identical_to_scipy_with_same_arithmetic(exact_scipy, problem, method, rtol):
    fun, t0, y0, t_bound, max_steps = PROBLEMS[problem]
    atol = rtol * 1e-3
    ours = getattr(fs, method)(fun, t0, y0, t_bound, rtol=rtol, atol=atol)
    theirs = getattr(exact_scipy, method)(compiled(fun, len(y0)), t0, y0, t_bound, rtol=rtol,
                                          atol=atol)
    assert ours.nfev == theirs.nfev == 2
    assert ours.h_abs == theirs.h_abs
    y_scale = np.max(np.abs(y0))
    steps = 0
    while theirs.status == "running" and steps < max_steps:
        assert theirs.step() is None
        assert ours.step() is None
        steps += 1
        y_scale = max(y_scale, np.max(np.abs(theirs.y)))
        assert ours.status == theirs.status
        assert ours.nfev == theirs.nfev, f"step {steps}"
        assert rel(ours.t, theirs.t) <= 1e-14, f"step {steps}"
        assert rel(ours.step_size, theirs.step_size) <= 1e-14, f"step {steps}"
        assert ours.t_old == theirs.t_old
        dy = np.max(np.abs(ours.y - theirs.y)) / y_scale
        assert dy <= 1e-14, f"step {steps}: |dy| / |y| = {dy:.2e}"
        if steps % 3 == 1 or theirs.status != "running":
            ts = theirs.t_old + np.array([0.2, 0.5, 0.9]) * (theirs.t - theirs.t_old)
            dense_ours, dense_theirs = ours.dense_output(), theirs.dense_output()
            assert ours.nfev == theirs.nfev  # DOP853's extra stages are counted alike
            # the same polynomial in another form (DOP853: monomial vs scipy's nested one);
            # seen: 8e-14 for DOP853, 4e-16 for RK23 / RK45
            dd = np.max(np.abs(dense_ours(ts) - dense_theirs(ts))) / y_scale
            assert dd <= 5e-13, f"step {steps}: dense output differs by {dd:.2e}"
            assert dense_ours(ts[1]).shape == dense_theirs(ts[1]).shape == (len(y0),)
            assert dense_ours(ts).shape == dense_theirs(ts).shape == (len(y0), 3)
    assert steps > 5
    assert ours.status == theirs.status


@pytest.mark.parametrize("method", SCIPY_METHODS)
@pytest.mark.parametrize("options", [
    {"max_step": 0.05},
    {"first_step": 1e-3},
    {"rtol": np.array([1e-7, 1e-5]), "atol": np.array([1e-9, 1e-6])},
    {"rtol": 1e-15, "atol": 1e-12},  # raised to 100 eps with a warning, as scipy
], ids=["max_step", "first_step", "array_tol", "tiny_rtol"])
def test_options_identical_to_scipy_with_same_arithmetic(exact_scipy, method, options):
    fun, t0, y0 = lotka_volterra, 0.0, [10.0, 5.0]
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        ours = getattr(fs, method)(fun, t0, y0, 3.0, **options)
    with warnings.catch_warnings(record=True) as theirs_warned:
        warnings.simplefilter("always")
        theirs = getattr(exact_scipy, method)(compiled(fun, 2), t0, y0, 3.0, **options)
    assert len(ours_warned) == len(theirs_warned)
    assert ours.nfev == theirs.nfev
    steps = 0
    while theirs.status == "running" and steps < 2000:
        theirs.step()
        ours.step()
        steps += 1
        assert ours.nfev == theirs.nfev
        assert rel(ours.t, theirs.t) <= 1e-14
        assert np.max(np.abs(ours.y - theirs.y)) <= 1e-14 * np.max(np.abs(theirs.y))
        if "max_step" in options:
            assert ours.step_size <= options["max_step"] * (1 + 1e-12)
    assert ours.status == theirs.status


# ---- step by step against stock scipy ---------------------------------------------------------

@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("method", SCIPY_METHODS)
@pytest.mark.parametrize("rtol", [1e-6, 1e-9])
def test_steps_match_stock_scipy(problem, method, rtol):
    fun, t0, y0, t_bound, max_steps = PROBLEMS[problem]
    atol = rtol * 1e-3
    ours = getattr(fs, method)(fun, t0, y0, t_bound, rtol=rtol, atol=atol)
    theirs = getattr(scipy.integrate, method)(fun, t0, y0, t_bound, rtol=rtol, atol=atol)
    assert ours.nfev == theirs.nfev == 2
    assert rel(ours.h_abs, theirs.h_abs) <= 1e-14
    y_scale = np.max(np.abs(y0))
    steps = 0
    while theirs.status == "running" and steps < max_steps:
        assert theirs.step() is None
        assert ours.step() is None
        steps += 1
        y_scale = max(y_scale, np.max(np.abs(theirs.y)))
        # identical discrete behaviour: the same accepted and rejected steps
        assert ours.status == theirs.status, f"step {steps}"
        assert ours.nfev == theirs.nfev, f"step {steps}"
        if rtol == 1e-6:
            # well-conditioned error estimates: times agree to 1e-6 of a step (seen: 1.5e-8),
            # states (moved by f dt to the same time) to 1e-5 rtol (seen: 3.5e-7)
            assert abs(ours.t - theirs.t) <= 1e-6 * theirs.step_size, f"step {steps}"
            moved = theirs.y + theirs.f * (ours.t - theirs.t)
            assert np.max(np.abs(ours.y - moved)) <= 1e-5 * rtol * y_scale, f"step {steps}"
        if steps % 5 == 1:
            # the two dense outputs agree where the two steps overlap
            lo = max(min(ours.t_old, ours.t), min(theirs.t_old, theirs.t))
            hi = min(max(ours.t_old, ours.t), max(theirs.t_old, theirs.t))
            ts = np.linspace(lo, hi, 5)[1:-1]
            dd = np.max(np.abs(ours.dense_output()(ts) - theirs.dense_output()(ts)))
            assert dd <= 10 * rtol * y_scale
            assert ours.nfev == theirs.nfev
    assert ours.status == theirs.status
    if problem != "arenstorf":  # 40 steps of a sensitive orbit: only the above is meaningful
        assert np.max(np.abs(ours.y - theirs.y)) <= 10 * rtol * y_scale


# ---- complex states ---------------------------------------------------------------------------

@pytest.mark.parametrize("method", SCIPY_METHODS + ("Tsit5", "Vern7"))
def test_complex_state(method):
    y0 = np.array([1.0 + 1.0j, 0.5 - 2.0j])
    t_bound = 4.0
    solver = getattr(fs, method)(complex_linear, 0.0, y0, t_bound, rtol=1e-8, atol=1e-10)
    assert solver.y.dtype == np.complex128 and solver.n == 2
    assert np.array_equal(solver.y, y0)
    ts, interpolants = [0.0], []
    while solver.status == "running":
        assert solver.step() is None
        assert solver.y.dtype == np.complex128 and solver.y.shape == (2,)
        ts.append(solver.t)
        interpolants.append(solver.dense_output())
    assert solver.t == t_bound
    exact = expm(A_COMPLEX * t_bound) @ y0
    assert np.max(np.abs(solver.y - exact)) <= 1e-6 * np.max(np.abs(exact))
    reference = getattr(scipy.integrate, method, None)
    if reference is not None:
        theirs = scipy.integrate.solve_ivp(complex_linear, (0.0, t_bound), y0, method=method,
                                           rtol=1e-8, atol=1e-10)
        assert np.max(np.abs(solver.y - theirs.y[:, -1])) <= 1e-6 * np.max(np.abs(exact))
    # dense output: complex, scipy's shapes, accurate inside the steps
    d = interpolants[len(interpolants) // 2]
    t_mid = 0.5 * (d.t_old + d.t)
    assert d(t_mid).shape == (2,) and d(t_mid).dtype == np.complex128
    assert d(np.array([d.t_old, t_mid, d.t])).shape == (2, 3)
    assert np.max(np.abs(d(t_mid) - expm(A_COMPLEX * t_mid) @ y0)) <= 1e-6
    sol = OdeSolution(ts, interpolants)
    tq = np.linspace(0.0, t_bound, 17)
    exact_q = np.stack([expm(A_COMPLEX * t) @ y0 for t in tq], axis=1)
    assert sol(tq).dtype == np.complex128
    assert np.max(np.abs(sol(tq) - exact_q)) <= 1e-6


@pytest.mark.xfail(strict=True, reason=(
    "kernel: complex states are stepped as real pairs, and error_scale / rk_error_norm / "
    "select_initial_step weigh real and imaginary parts separately (scale per real component, "
    "RMS over 2n values); scipy uses |y_i| of the complex component and the RMS over n. "
    "The steps therefore differ from scipy's for complex y0 (in fastode.solve_ivp too)."))
@pytest.mark.parametrize("method", ["RK45"])
def test_complex_steps_identical_to_scipy(method):
    y0 = np.array([1.0 + 1.0j, 0.5 - 2.0j])
    ours = getattr(fs, method)(complex_linear, 0.0, y0, 4.0, rtol=1e-6, atol=1e-9)
    theirs = getattr(scipy.integrate, method)(complex_linear, 0.0, y0, 4.0, rtol=1e-6,
                                              atol=1e-9)
    assert rel(ours.h_abs, theirs.h_abs) <= 1e-12
    while theirs.status == "running":
        theirs.step()
        ours.step()
        assert ours.nfev == theirs.nfev
        assert rel(ours.t, theirs.t) <= 1e-8


# ---- status, corner cases, failures -----------------------------------------------------------

def test_status_transitions_and_errors():
    solver = fs.RK45(lotka_volterra, 0.0, [10.0, 5.0], 2.0, rtol=1e-6, atol=1e-9)
    assert solver.status == "running"
    assert solver.t_old is None and solver.step_size is None and solver.y_old is None
    assert solver.n == 2 and solver.t == 0.0 and solver.t_bound == 2.0
    assert solver.direction == 1.0
    assert (solver.njev, solver.nlu) == (0, 0)
    with pytest.raises(RuntimeError, match="after a successful step"):
        solver.dense_output()
    statuses = []
    ys = []
    while solver.status == "running":
        assert solver.step() is None
        statuses.append(solver.status)
        ys.append(solver.y)  # no copy: each step makes a new array, as scipy
    assert statuses[-1] == "finished" and set(statuses[:-1]) <= {"running"}
    assert solver.t == 2.0
    assert solver.naccept == len(statuses)
    assert len({id(y) for y in ys}) == len(ys)
    assert not np.array_equal(ys[0], ys[-1])
    with pytest.raises(RuntimeError, match="finished"):
        solver.step()
    # dense output of the last step still works after finishing
    d = solver.dense_output()
    assert isinstance(d, DenseOutput)
    assert np.allclose(d(solver.t), solver.y, rtol=1e-14, atol=0)
    assert np.allclose(d(solver.t_old), solver.y_old, rtol=1e-14, atol=0)


def test_backward_integration():
    solver = fs.DOP853(van_der_pol, 6.0, [2.0, 0.0], 0.0, rtol=1e-9, atol=1e-12)
    theirs = scipy.integrate.DOP853(van_der_pol, 6.0, [2.0, 0.0], 0.0, rtol=1e-9, atol=1e-12)
    assert solver.direction == -1.0
    t_prev = solver.t
    while solver.status == "running":
        solver.step()
        theirs.step()
        assert solver.t < t_prev
        assert solver.t_old == t_prev
        assert solver.nfev == theirs.nfev
        d = solver.dense_output()
        theirs.dense_output()  # 3 more evaluations on each side
        assert d.t_min == solver.t and d.t_max == solver.t_old
        t_prev = solver.t
    assert solver.t == 0.0 and theirs.t == 0.0
    assert np.max(np.abs(solver.y - theirs.y)) <= 1e-8


def test_empty_interval_like_scipy():
    ours = fs.RK45(lotka_volterra, 1.0, [10.0, 5.0], 1.0)
    theirs = scipy.integrate.RK45(lotka_volterra, 1.0, [10.0, 5.0], 1.0)
    assert ours.nfev == theirs.nfev == 1
    assert ours.h_abs == theirs.h_abs == 0.0
    assert ours.step() is None and theirs.step() is None
    assert ours.status == theirs.status == "finished"
    assert ours.t_old == theirs.t_old == 1.0
    assert ours.step_size == 0.0
    d = ours.dense_output()
    assert np.array_equal(d(1.0), [10.0, 5.0])
    assert d(np.array([1.0, 1.0])).shape == (2, 2)


def test_nan_rhs_fails_like_scipy():
    ours = fs.RK45(nan_after_one, 0.0, [1.0, 2.0], 5.0)
    theirs = scipy.integrate.RK45(nan_after_one, 0.0, [1.0, 2.0], 5.0)
    for solver in (ours, theirs):
        message = None
        while solver.status == "running":
            message = solver.step()
        assert solver.status == "failed"
        assert message == "Required step size is less than spacing between numbers."
        assert 1.0 - 1e-12 < solver.t <= 1.0
        with pytest.raises(RuntimeError, match="failed"):
            solver.step()


@pytest.mark.parametrize("method", ["RK45", "Tsit5", "Vern7"])
def test_nan_at_the_start_fails_at_once(method):
    # scipy's own classes loop forever here (the initial step is NaN)
    solver = getattr(fs, method)(nan_always, 0.0, [1.0, 2.0], 5.0)
    message = solver.step()
    assert solver.status == "failed"
    assert "non-finite" in message
    assert solver.t == 0.0 and solver.t_old is None


def test_extraneous_options_warn_like_scipy():
    with pytest.warns(UserWarning) as ours:
        fs.RK45(lotka_volterra, 0.0, [10.0, 5.0], 1.0, jac=None, foo=3)
    with pytest.warns(UserWarning) as theirs:
        scipy.integrate.RK45(lotka_volterra, 0.0, [10.0, 5.0], 1.0, jac=None, foo=3)
    assert str(ours[0].message) == str(theirs[0].message)
    assert ours[0].filename == __file__


@pytest.mark.parametrize("kwargs, error", [
    ({"max_step": 0.0}, "`max_step` must be positive"),
    ({"max_step": -1.0}, "`max_step` must be positive"),
    ({"first_step": 0.0}, "`first_step` must be positive"),
    ({"first_step": 2.0}, "`first_step` exceeds bounds"),
    ({"atol": [1e-6, 1e-6, 1e-6]}, "atol"),
    ({"atol": -1.0}, "atol"),
])
def test_bad_options(kwargs, error):
    with pytest.raises(ValueError, match=error):
        fs.RK45(lotka_volterra, 0.0, [10.0, 5.0], 1.0, **kwargs)
    with pytest.raises(ValueError):
        scipy.integrate.RK45(lotka_volterra, 0.0, [10.0, 5.0], 1.0, **kwargs)


def test_bad_y0_and_fun():
    with pytest.raises(ValueError, match="1-dimensional"):
        fs.RK45(lotka_volterra, 0.0, [[10.0, 5.0]], 1.0)
    with pytest.raises(ValueError, match="finite"):
        fs.RK45(lotka_volterra, 0.0, [np.inf, 5.0], 1.0)
    with pytest.raises(TypeError, match="callable"):
        fs.RK45(None, 0.0, [10.0, 5.0], 1.0)
    with pytest.raises(TypeError, match="abstract"):
        fs.RungeKutta(lotka_volterra, 0.0, [10.0, 5.0], 1.0)


def test_empty_system_like_scipy():
    ours = fs.RK45(lambda t, y: y, 0.0, np.zeros(0), 1.0)
    theirs = scipy.integrate.RK45(lambda t, y: y, 0.0, np.zeros(0), 1.0)
    assert ours.n == theirs.n == 0 and ours.nfev == theirs.nfev == 1
    assert ours.step() is None and theirs.step() is None
    assert ours.status == theirs.status == "finished" and ours.t == 1.0
    assert ours.dense_output()(0.5).shape == (0,)


def test_unset_stage_rows_are_never_read():
    # Vern7's error weights skip f_new (E[s] == 0), yet the error sum runs over row s of K
    # before f_new is computed; leave NaN in freed heap memory first, so that an uninitialised
    # work array would pick it up (fastode.solve_ivp has this bug: see the report)
    poison = [np.full((16, 2), np.nan) for _ in range(64)]
    del poison
    _poison_heap(16, 2)
    solver = fs.Vern7(lotka_volterra, 0.0, [10.0, 5.0], 15.0)
    while solver.status == "running":
        assert solver.step() is None
    assert solver.t == 15.0


@numba.njit
def _poison_heap(rows, n):
    return np.full((rows, n), np.nan).sum()


# ---- interface ----------------------------------------------------------------------------------

@pytest.mark.parametrize("method", SCIPY_METHODS)
def test_class_attributes_and_isinstance(method):
    ours_cls, theirs_cls = getattr(fs, method), getattr(scipy.integrate, method)
    assert issubclass(ours_cls, scipy.integrate.OdeSolver)
    assert issubclass(ours_cls, fs.OdeSolver)
    assert ours_cls.order == theirs_cls.order
    assert ours_cls.error_estimator_order == theirs_cls.error_estimator_order
    assert ours_cls.n_stages == theirs_cls.n_stages
    assert ours_cls.__doc__ and "Parameters" in fs.RungeKutta.__doc__
    solver = ours_cls(lotka_volterra, 0, [10, 5], 1.0)
    assert isinstance(solver, scipy.integrate.OdeSolver)
    assert isinstance(solver.t, float) and solver.y.dtype == np.float64
    assert np.array_equal(solver.f, lotka_volterra(0.0, np.array([10.0, 5.0])))
    assert solver.fun(0.0, solver.y).shape == (2,)  # scipy's counting wrapper
    assert solver.nfev == 3


def test_vectorized_fun():
    plain = fs.RK45(lotka_volterra, 0.0, [10.0, 5.0], 5.0, rtol=1e-8, atol=1e-10)
    vec = fs.RK45(lotka_volterra_vectorized, 0.0, [10.0, 5.0], 5.0, rtol=1e-8, atol=1e-10,
                  vectorized=True)
    theirs = scipy.integrate.RK45(lotka_volterra_vectorized, 0.0, [10.0, 5.0], 5.0, rtol=1e-8,
                                  atol=1e-10, vectorized=True)
    while plain.status == "running":
        plain.step()
        vec.step()
        theirs.step()
        assert vec.t == plain.t and np.array_equal(vec.y, plain.y)
        assert vec.nfev == plain.nfev == theirs.nfev
    assert vec.status == "finished"


def test_python_fallback_fun():
    calls = []

    def counting(t, y):  # appends to a Python list: numba cannot compile it
        calls.append(t)
        return np.array([1.5 * y[0] - y[0] * y[1], -3.0 * y[1] + y[0] * y[1]])

    with pytest.warns(FallbackWarning):
        slow = fs.RK45(counting, 0.0, [10.0, 5.0], 3.0, rtol=1e-8, atol=1e-10)
    fast = fs.RK45(lotka_volterra, 0.0, [10.0, 5.0], 3.0, rtol=1e-8, atol=1e-10)
    n_before = len(calls)
    while fast.status == "running":
        fast.step()
        slow.step()
        assert slow.nfev == fast.nfev
        assert rel(slow.t, fast.t) <= 1e-12
    # construction: the compile-time check, f(t0, y0) and the initial step (nfev = 2)
    assert n_before == 3
    assert len(calls) == slow.nfev + 1
    assert slow.status == "finished"


def test_exception_in_python_fun_propagates():
    calls = []

    def failing(t, y):
        calls.append(t)  # appends to a Python list: numba cannot compile it
        if t > 0.5:
            raise KeyError("boom")
        return -y

    with pytest.warns(FallbackWarning):
        solver = fs.RK45(failing, 0.0, [1.0], 2.0)
    with pytest.raises(KeyError, match="boom"):
        while solver.status == "running":
            solver.step()


def test_cfunc_rhs():
    from numba import carray, cfunc

    from fastode.rhs import RHS_SIGNATURE

    @cfunc(RHS_SIGNATURE)
    def lv_c(t, y_ptr, p_ptr, out_ptr):
        y = carray(y_ptr, (2,))
        out = carray(out_ptr, (2,))
        out[0] = 1.5 * y[0] - 1.0 * y[0] * y[1]
        out[1] = -3.0 * y[1] + 1.0 * y[0] * y[1]

    ours = fs.RK45(lv_c, 0.0, [10.0, 5.0], 3.0, rtol=1e-8, atol=1e-10)
    plain = fs.RK45(lotka_volterra, 0.0, [10.0, 5.0], 3.0, rtol=1e-8, atol=1e-10)
    while plain.status == "running":
        plain.step()
        ours.step()
        assert ours.t == plain.t and np.array_equal(ours.y, plain.y)
    assert ours.status == "finished" and ours.nfev == plain.nfev


# ---- scipy's solve_ivp loop and OdeSolution with these classes --------------------------------

@pytest.mark.parametrize("method", SCIPY_METHODS)
def test_scipy_solve_ivp_drives_fastode_classes(method):
    def event(t, y):
        return y[0] - 5.0

    t_eval = np.linspace(0.0, 15.0, 31)
    kwargs = dict(rtol=1e-6, atol=1e-9, t_eval=t_eval, dense_output=True, events=event)
    ours = scipy.integrate.solve_ivp(lotka_volterra, (0.0, 15.0), [10.0, 5.0],
                                     method=getattr(fs, method), **kwargs)
    theirs = scipy.integrate.solve_ivp(lotka_volterra, (0.0, 15.0), [10.0, 5.0], method=method,
                                       **kwargs)
    assert ours.success and ours.status == theirs.status == 0
    assert ours.nfev == theirs.nfev
    assert np.array_equal(ours.t, theirs.t)
    assert np.max(np.abs(ours.y - theirs.y)) <= 1e-7 * np.max(np.abs(theirs.y))
    assert len(ours.t_events[0]) == len(theirs.t_events[0]) > 0
    assert np.max(np.abs(ours.t_events[0] - theirs.t_events[0])) <= 1e-8
    tq = np.linspace(0.0, 15.0, 101)
    assert np.max(np.abs(ours.sol(tq) - theirs.sol(tq))) <= 1e-7 * np.max(np.abs(theirs.y))


@pytest.mark.parametrize("method", ["RK45", "DOP853", "Tsit5", "Vern7"])
def test_hand_loop_builds_odesolution(method):
    solver = getattr(fs, method)(lotka_volterra, 0.0, [10.0, 5.0], 15.0, rtol=1e-8, atol=1e-10)
    ts, interpolants = [solver.t], []
    while solver.status == "running":
        solver.step()
        ts.append(solver.t)
        interpolants.append(solver.dense_output())
    reference = fastode.solve_ivp(lotka_volterra, (0.0, 15.0), [10.0, 5.0], method=method,
                                  rtol=1e-8, atol=1e-10, dense_output=True)
    assert np.array_equal(np.array(ts), reference.t)
    assert solver.nfev == reference.nfev
    tq = np.linspace(0.0, 15.0, 301)
    expected = reference.sol(tq)
    ours = OdeSolution(ts, interpolants)
    assert np.max(np.abs(ours(tq) - expected)) <= 1e-13 * np.max(np.abs(expected))
    assert ours(7.5).shape == (2,)
    scipy_sol = scipy.integrate.OdeSolution(ts, interpolants)  # duck-typed interpolants
    assert np.max(np.abs(scipy_sol(tq) - expected)) <= 1e-13 * np.max(np.abs(expected))


# ---- Tsit5 and Vern7 against fastode.solve_ivp ------------------------------------------------

@pytest.mark.parametrize("method", ["Tsit5", "Vern7"])
@pytest.mark.parametrize("rtol", [1e-6, 1e-9])
def test_tsit5_vern7_match_solve_ivp(method, rtol):
    atol = rtol * 1e-3
    reference = fastode.solve_ivp(lotka_volterra, (0.0, 15.0), [10.0, 5.0], method=method,
                                  rtol=rtol, atol=atol)
    assert reference.success
    solver = getattr(fs, method)(lotka_volterra, 0.0, [10.0, 5.0], 15.0, rtol=rtol, atol=atol)
    assert solver.order == fastode.methods.lookup(method).tableau.order
    k = 0
    while solver.status == "running":
        assert solver.step() is None
        k += 1
        assert rel(solver.t, reference.t[k]) <= 1e-14
        scale = np.max(np.abs(reference.y[:, k]))
        assert np.max(np.abs(solver.y - reference.y[:, k])) <= 1e-14 * scale
    assert solver.status == "finished"
    assert k == reference.t.size - 1
    assert solver.nfev == reference.nfev
    assert solver.naccept == reference.naccept and solver.nreject == reference.nreject
