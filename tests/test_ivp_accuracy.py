"""Accuracy of fastode.solve_ivp: convergence orders, tolerance proportionality, agreement with
scipy step by step, and agreement with a tight scipy reference on standard problems.

Everything is measured against truth: exact solutions (harmonic oscillator, y' = y cos t), or a
scipy DOP853 solution at rtol = atol = 1e-12 (Lotka-Volterra, Van der Pol, Lorenz, Arenstorf).
"""
import numba
import numpy as np
import pytest
import scipy.integrate
from scipy.integrate import DOP853 as ScipyDOP853
from scipy.integrate import RK23 as ScipyRK23
from scipy.integrate import RK45 as ScipyRK45

import fastode
from conftest import (ADAPTIVE, ARENSTORF_PERIOD, ARENSTORF_Y0, FIXED, ORDER, SCIPY_METHODS,
                      STANDARD, arenstorf, harmonic, harmonic_exact, lorenz, lotka_volterra,
                      observed_order, reference, van_der_pol, ycos, ycos_exact)

SCIPY_CLASSES = {"RK23": ScipyRK23, "RK45": ScipyRK45, "DOP853": ScipyDOP853}
EXACT = {"harmonic": (harmonic, harmonic_exact, [1.0, 0.0]), "ycos": (ycos, ycos_exact, [1.0])}


def _scale(y):
    """Per-component magnitude of a solution, for relative errors."""
    return np.maximum(np.abs(y).max(axis=1), 1e-300)


# ---- 1. convergence order ----------------------------------------------------------------------

@pytest.mark.parametrize("problem", ["harmonic", "ycos"])
@pytest.mark.parametrize("method", list(FIXED))
def test_fixed_step_convergence_order(method, problem):
    """Error at t_end against the step size: observed slope = the method's order."""
    fun, exact, y0 = EXACT[problem]
    t_end = 2.0
    steps = t_end / np.array([20, 40, 80, 160])
    errors = []
    for h in steps:
        sol = fastode.solve_ivp(fun, (0.0, t_end), y0, method=method, step=h)
        assert sol.success and sol.status == 0
        n_steps = int(round(t_end / h))
        # exactly the requested steps: every accepted step is returned
        assert sol.t.size == n_steps + 1
        np.testing.assert_allclose(np.diff(sol.t), h, rtol=1e-12)
        assert sol.t[-1] == t_end
        stages = fastode.methods.lookup(method).tableau.B.shape[0]
        assert sol.nfev == 1 + n_steps * stages
        errors.append(np.abs(sol.y[:, -1] - exact(t_end)).max())
    assert np.all(np.diff(errors) < 0)
    assert abs(observed_order(steps, errors) - ORDER[method]) < 0.3, errors


# Adaptive methods run with a fixed step: first_step = max_step = h and a tolerance so loose that
# every step is accepted. Then the error measures the order of the propagated formula. The error
# is the largest over all steps (at a single time the leading error terms of Tsit5 can cancel),
# and the step sizes are powers of two (t accumulates exactly), in each method's asymptotic range
# and above the roundoff floor.
FORCED_STEPS = {
    "RK23": 2.0 ** -np.arange(3, 7),
    "RK45": 2.0 ** -np.arange(2, 6),
    "Tsit5": 2.0 ** -np.arange(4, 7),
    "Vern7": 2.0 ** -np.arange(1, 4),
    "DOP853": 2.0 ** -np.arange(0, 3),
}


@pytest.mark.parametrize("problem", ["harmonic", "ycos"])
@pytest.mark.parametrize("method", ADAPTIVE)
def test_adaptive_method_order_with_fixed_steps(method, problem):
    fun, exact, y0 = EXACT[problem]
    t_end = 4.0
    steps = FORCED_STEPS[method]
    errors = []
    for h in steps:
        sol = fastode.solve_ivp(fun, (0.0, t_end), y0, method=method, first_step=h, max_step=h,
                                rtol=1e3, atol=1e3)
        assert sol.success and sol.nreject == 0
        np.testing.assert_array_equal(np.diff(sol.t), h)
        errors.append(np.abs(sol.y - exact(sol.t)).max())
    assert min(errors) > 5e-14, "step sizes chosen too small: roundoff floor"
    assert abs(observed_order(steps, errors) - ORDER[method]) < 0.3, errors


@pytest.mark.parametrize("problem", ["harmonic", "ycos"])
@pytest.mark.parametrize("method", ADAPTIVE)
def test_error_tracks_tolerance(method, problem):
    """Error falls as rtol falls, roughly in proportion (tolerance proportionality)."""
    fun, exact, y0 = EXACT[problem]
    t_end = 10.0
    rtols = np.array([1e-3, 1e-5, 1e-7, 1e-9, 1e-11])
    errors = []
    for rtol in rtols:
        sol = fastode.solve_ivp(fun, (0.0, t_end), y0, method=method, rtol=rtol,
                                atol=1e-3 * rtol)
        assert sol.success
        errors.append(np.abs(sol.y - exact(sol.t)).max())
    errors = np.array(errors)
    # each 100x tighter tolerance gives a smaller error, at least 5x (DOP853's proportionality
    # is the least regular: 9x on y' = y cos t from 1e-7 to 1e-9)
    assert np.all(errors[1:] < errors[:-1] / 5), errors
    ratio = errors / rtols
    # error within a small factor of the tolerance and proportional to it (RK23 accumulates the
    # most: its error is ~10 rtol at 1e-3 and ~30 rtol at 1e-11 on y' = y cos t, as scipy's)
    assert ratio.max() < 50, ratio
    assert ratio.max() / ratio.min() < 30, ratio
    # the log-log slope of error against tolerance is close to 1
    slope = observed_order(rtols, errors)
    assert 0.75 < slope < 1.25, slope


# ---- accuracy target: no worse than scipy's same-named method --------------------------------

def _error_vs_truth(name, sol):
    if name in EXACT:
        truth = EXACT[name][1](sol.t[-1])
        return np.abs(sol.y[:, -1] - truth).max()
    ref = reference(name)
    return (np.abs(sol.y[:, -1] - ref.y[:, -1]) / _scale(ref.y)).max()


def _problem(name):
    if name in EXACT:
        fun, _, y0 = EXACT[name]
        return fun, (0.0, 10.0), y0
    return STANDARD[name]


ACCURACY_PROBLEMS = ["harmonic", "ycos", "lotka_volterra", "van_der_pol", "lorenz", "arenstorf"]


# rounding-level changes of rtol (1e-14 relative, ~45 ulp): each gives scipy another of the step
# sequences that the last bits of its error norm choose between
ROUNDING_REALIZATIONS = 1.0 + 1e-14 * np.arange(1, 8)


@pytest.mark.scipy_compare
@pytest.mark.parametrize("problem", ACCURACY_PROBLEMS)
@pytest.mark.parametrize("method", SCIPY_METHODS)
def test_error_no_worse_than_scipy_same_method(method, problem):
    """fastode's error against the truth is no worse than scipy's same method's (1%).

    The same method takes the same steps, up to the rounding of the error norm, so the errors
    agree to roundoff -- while the steps agree. Where a step decision is close to the line, the
    last bits of the norm (scipy's goes through BLAS, whose summation order depends on the CPU)
    pick one of several equally valid step sequences, and the error at t_end moves with it: on
    y' = y cos t, DOP853, rtol = 1e-7, a 1e-14 relative change of rtol moves fastode's error and
    scipy's over 4.00e-9..4.10e-9, and scipy's error is 4.035e-9 on OpenBLAS's Prescott kernels,
    4.077e-9 (= fastode's) on Haswell. So "scipy's error" is the worst of the runs that such
    rounding-level changes give scipy (computed only when fastode's error is above scipy's
    plain run's)."""
    fun, span, y0 = _problem(problem)
    rtols = [1e-4, 1e-7] if method == "RK23" else [1e-4, 1e-7, 1e-10]
    for rtol in rtols:
        kw = dict(method=method, rtol=rtol, atol=1e-3 * rtol)
        ours = fastode.solve_ivp(fun, span, y0, **kw)
        theirs = scipy.integrate.solve_ivp(fun, span, y0, **kw)
        e_ours, e_theirs = _error_vs_truth(problem, ours), _error_vs_truth(problem, theirs)
        if e_ours > 1.01 * e_theirs + 1e-14:
            for factor in ROUNDING_REALIZATIONS:
                other = scipy.integrate.solve_ivp(fun, span, y0, method=method,
                                                  rtol=rtol * factor, atol=1e-3 * rtol)
                e_theirs = max(e_theirs, _error_vs_truth(problem, other))
        assert e_ours <= 1.01 * e_theirs + 1e-14, (rtol, e_ours, e_theirs)


def _work_precision(fun, span, y0, name, method, rtols, solver):
    nfev, err = [], []
    for rtol in rtols:
        sol = solver(fun, span, y0, method=method, rtol=rtol, atol=1e-2 * rtol)
        nfev.append(sol.nfev)
        err.append(_error_vs_truth(name, sol))
    return np.array(nfev, dtype=float), np.array(err)


@pytest.mark.parametrize("problem", ["harmonic", "van_der_pol", "lorenz", "lotka_volterra"])
@pytest.mark.parametrize("method,baseline", [("Tsit5", "RK45"), ("Vern7", "RK45")])
def test_work_precision_against_scipy(method, baseline, problem):
    """Tsit5 and Vern7 have no scipy namesake: compare work-precision (error at equal cost).

    Tsit5 against scipy's RK45 (both 5th order): at equal nfev its error is no larger, up to
    0.2 decades in the median over rtol 1e-4..1e-10 (at equal *rtol* its error can be 2-3x
    RK45's on Lotka-Volterra: Tsit5's estimator is less conservative). Vern7 (7th order) must
    beat RK45 at rtol <= 1e-6. (Against scipy's DOP853, Vern7 is up to 10x less accurate at
    equal cost on Lotka-Volterra and the harmonic oscillator at rtol 1e-6..1e-9, as DOP853's
    8th order predicts; it is more accurate on Arenstorf and y' = y cos t.)
    """
    fun, span, y0 = _problem(problem)
    rtols = 10.0 ** -np.arange(4, 11)
    n_ours, e_ours = _work_precision(fun, span, y0, problem, method, rtols, fastode.solve_ivp)
    n_base, e_base = _work_precision(fun, span, y0, problem, baseline, rtols,
                                     scipy.integrate.solve_ivp)
    assert np.all(np.diff(n_ours) > 0) and np.all(np.diff(n_base) > 0)
    # baseline error at the same nfev, by log-log interpolation of the baseline's curve
    inside = (n_ours >= n_base[0]) & (n_ours <= n_base[-1])
    assert inside.sum() >= 4
    interp = np.interp(np.log(n_ours[inside]), np.log(n_base), np.log10(e_base))
    delta = np.log10(e_ours[inside]) - interp  # decades worse (+) or better (-)
    if method == "Tsit5":
        assert np.median(delta) < 0.2, delta
    else:
        tight = rtols[inside] <= 1e-6
        assert np.all(delta[tight] < 0), delta


# ---- 2. step-by-step agreement with scipy ----------------------------------------------------

FREE_RUN_OPTIONS = {
    "default": dict(rtol=1e-3, atol=1e-6),
    "moderate": dict(rtol=1e-6, atol=1e-9),
    "first_step_max_step": dict(rtol=1e-6, atol=1e-9, first_step=1e-3, max_step=0.1),
}


def _check_same_run(ours, theirs, ref_sol, span):
    """Same accepted steps (count, times), same nfev, states far closer than the error.

    The step sizes cannot agree to 1e-12: the error estimate is a difference of stages that
    cancels to ~rtol |y|, so a one-ulp difference in the stages (numpy's dot product sums in
    another order) changes the error norm by up to ~1e-7 relative, and the next step by ~1e-8;
    scipy's own error norm differs from a long-double evaluation by as much. The controller is
    contractive, so the times stay within ~1e-8 of the span (1e-6 allowed below), and the tight
    per-step comparison is test_each_step_matches_scipy (identical states from identical steps).
    Most steps agree to ~1e-9 relative; where an error norm is tiny (near the growth cap) its
    roundoff is relatively large, hence the median below.
    """
    assert ours.success and theirs.success
    assert ours.t.size == theirs.t.size
    assert ours.nfev == theirs.nfev
    length = abs(span[1] - span[0])
    assert np.abs(ours.t - theirs.t).max() <= 1e-6 * length
    h_ours, h_theirs = np.diff(ours.t), np.diff(theirs.t)
    assert np.median(np.abs(h_ours - h_theirs) / np.abs(h_theirs)) < 1e-7
    assert ours.t[0] == theirs.t[0] and ours.t[-1] == theirs.t[-1]
    # fastode's states against scipy's dense output at fastode's times: the two implementations
    # differ by far less (1%) than either differs from the truth
    deviation = np.abs(ours.y - theirs.sol(ours.t)).max()
    error = np.abs(theirs.y - ref_sol(theirs.t)).max()
    assert deviation <= 1e-2 * error, (deviation, error)


@pytest.mark.parametrize("options", list(FREE_RUN_OPTIONS))
@pytest.mark.parametrize("method", SCIPY_METHODS)
@pytest.mark.parametrize("problem", list(STANDARD))
def test_same_steps_as_scipy(problem, method, options):
    fun, span, y0 = STANDARD[problem]
    kw = dict(method=method, **FREE_RUN_OPTIONS[options])
    ours = fastode.solve_ivp(fun, span, y0, **kw)
    theirs = scipy.integrate.solve_ivp(fun, span, y0, **kw)
    dense_theirs = scipy.integrate.solve_ivp(fun, span, y0, dense_output=True, **kw)
    np.testing.assert_array_equal(dense_theirs.t, theirs.t)
    _check_same_run(ours, _with_nfev(dense_theirs, theirs.nfev), reference(problem).sol, span)
    if "max_step" in kw:
        assert np.diff(ours.t).max() <= kw["max_step"] * (1 + 1e-12)


def _with_nfev(sol, nfev):
    """scipy's dense run counts the dense-output stages of DOP853 in nfev: use the plain run's."""
    sol.nfev = nfev
    return sol


@pytest.mark.parametrize("method", SCIPY_METHODS)
def test_same_steps_as_scipy_backward(method):
    """Backward integration (t_span reversed) of the well-conditioned Lotka-Volterra cycle."""
    fun, (t0, t1), _ = STANDARD["lotka_volterra"]
    ref = reference("lotka_volterra")
    y_end = ref.y[:, -1]
    kw = dict(method=method, rtol=1e-6, atol=1e-9)
    ours = fastode.solve_ivp(fun, (t1, t0), y_end, **kw)
    theirs = scipy.integrate.solve_ivp(fun, (t1, t0), y_end, dense_output=True, **kw)
    plain = scipy.integrate.solve_ivp(fun, (t1, t0), y_end, **kw)
    assert np.all(np.diff(ours.t) < 0)
    _check_same_run(ours, _with_nfev(theirs, plain.nfev), ref.sol, (t1, t0))
    # it comes back to the initial value of the forward problem as closely as scipy does
    error = np.abs(ours.y[:, -1] - [10.0, 5.0]).max()
    assert error <= 1.01 * np.abs(plain.y[:, -1] - [10.0, 5.0]).max()


@pytest.mark.parametrize("method", SCIPY_METHODS)
@pytest.mark.parametrize("problem", ["lotka_volterra", "arenstorf"])
def test_same_steps_as_scipy_atol_array(method, problem):
    fun, span, y0 = STANDARD[problem]
    atol = np.array([1e-9, 1e-6, 1e-8, 1e-7])[:len(y0)]
    kw = dict(method=method, rtol=1e-6, atol=atol)
    ours = fastode.solve_ivp(fun, span, y0, **kw)
    theirs = scipy.integrate.solve_ivp(fun, span, y0, dense_output=True, **kw)
    plain = scipy.integrate.solve_ivp(fun, span, y0, **kw)
    _check_same_run(ours, _with_nfev(theirs, plain.nfev), reference(problem).sol, span)
    # the per-component atol matters: a scalar atol gives different steps
    scalar = fastode.solve_ivp(fun, span, y0, method=method, rtol=1e-6, atol=1e-9)
    assert scalar.t.size != ours.t.size or not np.allclose(scalar.t, ours.t)


@pytest.mark.parametrize("options", ["moderate", "tight", "max_step"])
@pytest.mark.parametrize("method", SCIPY_METHODS)
@pytest.mark.parametrize("problem", list(STANDARD))
def test_each_step_matches_scipy(problem, method, options):
    """Drive scipy's solver class through fastode's accepted steps, one at a time.

    From fastode's state at t_i, scipy's solver, told to take fastode's step h_i, must accept it
    at once and land on fastode's next state to roundoff (2e-13 relative: DOP853's 12 stages
    with coefficients up to ~40 near Arenstorf's close approach). Its proposal for the
    next step must be fastode's next step (to 1e-6), except where fastode
    * rejected that proposal and retried with a smaller step (at most nreject times), or
    * had just rejected a step: the growth factor is capped at 1 (scipy's controller, which does
      not know that fastode rejected one, proposes more), or
    * got an error norm below 1e-5 (a growth factor near the cap of 10): such a norm is mostly
      roundoff (at rtol 1e-9 it is ~1e-14 |y| absolute) and the proposals may differ by 1%.
    """
    fun, span, y0 = STANDARD[problem]
    kw = {"moderate": dict(rtol=1e-6, atol=1e-9), "tight": dict(rtol=1e-9, atol=1e-12),
          "max_step": dict(rtol=1e-3, atol=1e-6, max_step=0.05)}[options]
    ours = fastode.solve_ivp(fun, span, y0, method=method, **kw)
    assert ours.success
    solver = SCIPY_CLASSES[method](fun, span[0], np.array(y0, dtype=float), span[1], **kw)
    exponent = solver.error_estimator_order + 1
    scale = _scale(ours.y)
    max_step = kw.get("max_step", np.inf)
    shrunk = capped = noisy = 0
    for i in range(1, ours.t.size):
        solver.t = ours.t[i - 1]
        solver.y = ours.y[:, i - 1].copy()
        solver.f = fun(solver.t, solver.y)
        h = abs(ours.t[i] - ours.t[i - 1])
        solver.h_abs = h
        solver.step()
        assert abs(solver.t - ours.t[i]) <= 4e-16 * max(1.0, abs(ours.t[i])), i
        np.testing.assert_allclose(solver.y / scale, ours.y[:, i] / scale, rtol=0, atol=2e-13)
        if i + 1 == ours.t.size:
            break
        proposal = min(solver.h_abs, max_step, abs(span[1] - ours.t[i]))
        h_next = abs(ours.t[i + 1] - ours.t[i])
        if abs(proposal - h_next) <= 1e-6 * h_next:
            continue
        if abs(h_next - h) <= 1e-9 * h and proposal > h:
            capped += 1  # growth capped at 1 after a rejected step
        elif h_next < proposal * (1 - 1e-3):
            shrunk += 1  # fastode rejected the proposal and retried with a smaller step
        else:
            error_norm = (solver.h_abs / h / 0.9) ** -exponent  # scipy's, from its proposal
            assert error_norm < 1e-5 and abs(proposal - h_next) < 1e-2 * h_next, \
                (i, proposal, h_next, h)
            noisy += 1
    assert shrunk <= ours.nreject and capped <= ours.nreject and noisy <= 3


@pytest.mark.parametrize("method", SCIPY_METHODS)
def test_complex_y0_matches_scipy(method):
    """Complex y0: fastode integrates real pairs, and measures the error per real component,
    scipy uses the complex modulus in its norm; the steps differ, so the solutions are compared
    (at a tight tolerance) with each other and with the exact solution."""

    def fun(t, y):
        return np.array([1j * y[0], -0.5 * y[1] + 1j * y[0]])

    y0 = np.array([1.0 + 0.0j, 0.5 - 0.5j])

    def exact(t):
        # y0' = i y0 -> y0 e^{it}; y1' + y1/2 = i y0 -> particular solution c e^{it}
        c = 1j / (0.5 + 1j)
        z0 = y0[0] * np.exp(1j * t)
        z1 = c * z0 + (y0[1] - c * y0[0]) * np.exp(-0.5 * t)
        return np.array([z0, z1])

    kw = dict(method=method, rtol=1e-10, atol=1e-12)
    ours = fastode.solve_ivp(fun, (0.0, 5.0), y0, dense_output=True, **kw)
    theirs = scipy.integrate.solve_ivp(fun, (0.0, 5.0), y0, **kw)
    assert ours.success
    assert ours.y.dtype == np.complex128 and ours.y.shape == (2, ours.t.size)
    err_ours = np.abs(ours.y[:, -1] - exact(5.0)).max()
    err_theirs = np.abs(theirs.y[:, -1] - exact(5.0)).max()
    assert err_ours < 1e-8
    # the real-pair norm is at least as strict as scipy's complex one
    assert err_ours <= 1.5 * err_theirs
    np.testing.assert_allclose(ours.y[:, -1], theirs.y[:, -1], rtol=0, atol=1e-8)
    t = np.linspace(0.0, 5.0, 23)
    np.testing.assert_allclose(ours.sol(t), exact(t), rtol=0, atol=1e-8)
    assert ours.sol(1.0).dtype == np.complex128


# ---- 3. scipy at a tight tolerance as the reference -----------------------------------------

TIGHT_CASES = {
    # name: (fun, span, y0, bound on the relative error at rtol = atol = 1e-10)
    "lotka_volterra": (lotka_volterra, (0.0, 15.0), [10.0, 5.0], 1e-8),
    "van_der_pol": (van_der_pol, (0.0, 10.0), [2.0, 0.0], 1e-8),
    "lorenz": (lorenz, (0.0, 5.0), [1.0, 1.0, 1.0], 1e-7),  # chaotic: errors grow e^(0.9 t)
    # the orbit passes close to the moon: errors are amplified ~1e4
    "arenstorf": (arenstorf, (0.0, ARENSTORF_PERIOD), ARENSTORF_Y0, 1e-5),
}


@pytest.mark.parametrize("method", ADAPTIVE)
@pytest.mark.parametrize("problem", list(TIGHT_CASES))
def test_tight_tolerance_against_scipy_reference(problem, method):
    fun, span, y0, bound = TIGHT_CASES[problem]
    ref = reference(problem, span[1])
    ours = fastode.solve_ivp(fun, span, y0, method=method, rtol=1e-10, atol=1e-10)
    assert ours.success
    scale = _scale(ref.y)
    error = (np.abs(ours.y[:, -1] - ref.y[:, -1]) / scale).max()
    assert error < bound, error
    # along the whole trajectory too, not only at the end
    along = (np.abs(ours.y - ref.sol(ours.t)) / scale[:, None]).max()
    assert along < 10 * bound, along
    if method in ("RK45", "DOP853"):
        theirs = scipy.integrate.solve_ivp(fun, span, y0, method=method, rtol=1e-10, atol=1e-10)
        error_theirs = (np.abs(theirs.y[:, -1] - ref.y[:, -1]) / scale).max()
        assert error <= 1.01 * error_theirs + 1e-13
    if problem == "arenstorf":
        # one period: the orbit returns to its start
        np.testing.assert_allclose(ours.y[:, -1], ARENSTORF_Y0, rtol=0, atol=1e-5)


# ---- regression: the first step must not depend on uninitialised memory -----------------------

@numba.njit
def _leave_nan_garbage(rows, n):
    """Allocate and free a NaN-filled block: the next allocation of that size (inside the
    kernel) usually gets the same memory back."""
    block = np.full((rows, n), np.nan)
    return block[0, 0]


@pytest.mark.parametrize("method", ADAPTIVE)
def test_result_independent_of_uninitialised_memory(method):
    """Vern7's error estimate has a zero weight on f_new, which is not evaluated before the
    first error norm: a stage array allocated with np.empty made 0 * NaN = NaN there, and the
    first step was rejected until the step size underflowed (status -1, naccept 0), depending
    on what the allocator returned."""
    tab = fastode.methods.lookup(method).tableau
    rows = tab.B.shape[0] + 1 + tab.C_extra.shape[0]
    first = fastode.solve_ivp(ycos, (0.0, 1.0), [1.0], method=method, rtol=1e-6, atol=1e-9)
    for _ in range(5):
        _leave_nan_garbage(rows, 1)
        again = fastode.solve_ivp(ycos, (0.0, 1.0), [1.0], method=method, rtol=1e-6, atol=1e-9)
        assert again.success, again.message
        np.testing.assert_array_equal(again.t, first.t)
        np.testing.assert_array_equal(again.y, first.y)
