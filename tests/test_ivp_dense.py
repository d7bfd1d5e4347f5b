"""Dense output (``dense_output=True`` -> ``sol``) and ``t_eval`` of fastode.solve_ivp."""
import numpy as np
import pytest
import scipy.integrate

import fastode
from conftest import (ADAPTIVE, DENSE_ORDER, FIXED, SCIPY_METHODS, STANDARD, harmonic,
                      harmonic_exact, lotka_volterra, observed_order, reference, ycos,
                      ycos_exact)
from fastode.results import DenseOutput, OdeSolution
from fastode.tableaus import explicit as ex


def _rel(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


# ---- shapes and types --------------------------------------------------------------------------

@pytest.mark.parametrize("method", ADAPTIVE + ("rk4",))
def test_sol_shapes(method):
    kw = {"step": 0.1} if method == "rk4" else {}
    res = fastode.solve_ivp(harmonic, (0.0, 3.0), [1.0, 0.0], method=method, dense_output=True,
                            **kw)
    sol = res.sol
    assert isinstance(sol, OdeSolution)
    assert sol(1.5).shape == (2,)
    assert sol(np.float64(1.5)).shape == (2,)
    assert sol(np.array(1.5)).shape == (2,)
    assert sol([0.5, 1.5, 2.5]).shape == (2, 3)
    assert sol(np.linspace(0, 3, 7)).shape == (2, 7)
    assert sol(np.array([1.0])).shape == (2, 1)
    assert sol(np.zeros(0)).shape == (2, 0)
    assert sol.t_min == 0.0 and sol.t_max == 3.0
    np.testing.assert_array_equal(sol.ts, res.t)  # breakpoints = the accepted steps
    assert len(sol.interpolants) == res.t.size - 1
    with pytest.raises(ValueError):
        sol(np.zeros((2, 2)))
    # without dense_output there is no sol
    assert fastode.solve_ivp(harmonic, (0.0, 3.0), [1.0, 0.0], method=method, **kw).sol is None


def test_sol_complex_and_single_component():
    res = fastode.solve_ivp(lambda t, y: 1j * y, (0.0, 2.0), [1.0 + 0.0j], dense_output=True,
                            rtol=1e-10, atol=1e-12)
    assert res.sol(1.0).shape == (1,) and res.sol(1.0).dtype == np.complex128
    t = np.linspace(0, 2, 9)
    np.testing.assert_allclose(res.sol(t)[0], np.exp(1j * t), atol=1e-8)


@pytest.mark.parametrize("method", ADAPTIVE)
@pytest.mark.parametrize("problem", ["lotka_volterra", "arenstorf"])
def test_interpolants_evaluate_exactly_as_sol(problem, method):
    """``sol.interpolants[j](t)`` and ``sol(t)`` run the same arithmetic (Horner, elementwise,
    in the same order) on the same coefficients and theta: the same bits, on every CPU, inside
    the steps and when extrapolating (where the terms of the polynomial cancel, and a BLAS
    matmul's summation order, which depends on the CPU, showed ~50 ulp)."""
    fun, span, y0 = STANDARD[problem]
    res = fastode.solve_ivp(fun, span, y0, method=method, rtol=1e-6, atol=1e-9,
                            dense_output=True)
    sol, pieces = res.sol, res.sol.interpolants
    for j in range(0, len(pieces), 3):
        d = pieces[j]
        t = d.t_old + np.array([0.1, 0.37, 0.5, 0.93]) * (d.t - d.t_old)
        np.testing.assert_array_equal(d(t), sol(t))
        np.testing.assert_array_equal(d(t[1]), sol(t[1]))
    before, after = span[0] - 0.01, span[1] + 0.01  # sol extrapolates with the end steps
    np.testing.assert_array_equal(pieces[0](before), sol(before))
    np.testing.assert_array_equal(pieces[-1](after), sol(after))


# ---- agreement with scipy's continuous extensions --------------------------------------------

@pytest.mark.scipy_compare
@pytest.mark.parametrize("method", SCIPY_METHODS)
@pytest.mark.parametrize("problem", ["lotka_volterra", "van_der_pol", "arenstorf"])
def test_sol_agrees_with_scipy(problem, method):
    """sol(t) at 2001 points agrees with scipy's sol. The accepted steps agree to roundoff
    (test_ivp_accuracy), which moves the solutions apart by far less than their error: checked
    as 1e-10 relative, and (for Arenstorf, which amplifies any difference ~1e4) as at most 1% of
    scipy's own error against the tight reference. The interpolants themselves are compared
    step by step, on identical steps, in test_each_step_interpolant_matches_scipy."""
    fun, span, y0 = STANDARD[problem]
    kw = dict(method=method, rtol=1e-6, atol=1e-9, dense_output=True)
    ours = fastode.solve_ivp(fun, span, y0, **kw)
    theirs = scipy.integrate.solve_ivp(fun, span, y0, **kw)
    assert ours.t.size == theirs.t.size
    assert ours.nfev == theirs.nfev  # DOP853's three extra dense-output stages counted alike
    t = np.linspace(span[0], span[1], 2001)
    deviation = np.abs(ours.sol(t) - theirs.sol(t)).max()
    error = np.abs(theirs.sol(t) - reference(problem).sol(t)).max()
    assert deviation <= 1e-2 * error
    if problem != "arenstorf":
        assert _rel(ours.sol(t), theirs.sol(t)) < 1e-9
    # extrapolation outside [t_min, t_max] uses the end steps' polynomials, as scipy: the same
    # bits as the end interpolants (the same arithmetic, test_interpolants_evaluate_exactly_as_sol;
    # a 1e-14 relative check failed on Arenstorf with a BLAS-summed DenseOutput, its terms cancel)
    before, after = span[0] - 0.01, span[1] + 0.01
    first, last = ours.sol.interpolants[0], ours.sol.interpolants[-1]
    np.testing.assert_array_equal(ours.sol(before), first(before))
    np.testing.assert_array_equal(ours.sol(after), last(after))
    if problem != "arenstorf":  # (Arenstorf's first step is 1e-5 long: 0.01 before it the
        # 7th-degree polynomial is 1e9 and meaningless)
        assert _rel(ours.sol([before, after]), theirs.sol([before, after])) < 1e-4


@pytest.mark.scipy_compare
@pytest.mark.parametrize("method", SCIPY_METHODS)
def test_each_step_interpolant_matches_scipy(method):
    """scipy's solver, put on fastode's state and step, builds the same interpolant, to the
    rounding of the sums that build it.

    Both sides sum the same N = 1 + (stages) x (degree) terms, y_old and h P[i, p] K_i theta^p
    (fastode as Horner in theta of Q = h K^T P, scipy in its own form, with BLAS dot products
    whose order depends on the CPU): each sum is off by at most (N - 1) u sum|terms| (u = eps/2,
    Higham's worst case for any summation order), so the two differ by at most N eps |terms|.
    The stages themselves are sums of the same kind (fastode's loops vs scipy's np.dot), and
    their rounding reaches the dense output through these terms. A wrong coefficient or formula
    shows as O(h |K|), orders of magnitude above the bound (N eps = 3e-15 for RK23, 2.5e-14 for
    DOP853). (Measured: at most 0.96 eps |terms| for every method, on all five OpenBLAS
    kernel sets for x86-64.)"""
    fun, span, y0 = STANDARD["lotka_volterra"]
    ours = fastode.solve_ivp(fun, span, y0, method=method, rtol=1e-6, atol=1e-9,
                             dense_output=True)
    cls = {"RK23": scipy.integrate.RK23, "RK45": scipy.integrate.RK45,
           "DOP853": scipy.integrate.DOP853}[method]
    tab = {"RK23": ex.BOGACKI_SHAMPINE_32, "RK45": ex.DORMAND_PRINCE_54,
           "DOP853": ex.DOP853}[method]
    solver = cls(fun, span[0], np.array(y0, dtype=float), span[1], rtol=1e-6, atol=1e-9)
    theta = np.linspace(0.0, 1.0, 11)
    powers = theta[None, :] ** np.arange(1, tab.P.shape[1] + 1)[:, None]
    n_terms = 1 + tab.P.size
    for i in range(1, ours.t.size, 7):
        solver.t, solver.y = ours.t[i - 1], ours.y[:, i - 1].copy()
        solver.f = fun(solver.t, solver.y)
        solver.h_abs = ours.t[i] - ours.t[i - 1]
        solver.step()
        assert solver.t == ours.t[i]  # the same step, so the same theta at each t
        t = ours.t[i - 1] + theta * (ours.t[i] - ours.t[i - 1])
        theirs = solver.dense_output()(t)  # (for DOP853 this fills K_extended)
        K = solver.K_extended if method == "DOP853" else solver.K
        terms = (np.abs(ours.y[:, i - 1])[:, None]
                 + abs(solver.t - solver.t_old) * (np.abs(K).T @ (np.abs(tab.P) @ powers)))
        assert np.all(np.abs(theirs - ours.sol(t)) <= n_terms * np.finfo(float).eps * terms), i


# ---- interpolation order against exact solutions ----------------------------------------------

def _one_step_interpolation_errors(method, steps, t0=0.5):
    errors = []
    for h in steps:
        if method in FIXED:
            kw = dict(step=h)
        else:
            kw = dict(first_step=h, rtol=1e3, atol=1e3)
        res = fastode.solve_ivp(harmonic, (t0, t0 + h), harmonic_exact(t0), method=method,
                                dense_output=True, **kw)
        assert res.t.size == 2
        t = np.linspace(t0, t0 + h, 41)[1:-1]
        errors.append(np.abs(res.sol(t) - harmonic_exact(t)).max())
    return np.array(errors)


ONE_STEP_H = {  # powers of two from t0 = 0.5 keep t0 + h exact; asymptotic, above roundoff
    "RK23": 2.0 ** -np.arange(2, 6), "RK45": 2.0 ** -np.arange(2, 6),
    "Tsit5": 2.0 ** -np.arange(3, 7), "Vern7": 2.0 ** -np.arange(0, 3),
    "DOP853": 2.0 ** -np.arange(0, 4),
    "euler": 2.0 ** -np.arange(3, 7), "midpoint": 2.0 ** -np.arange(3, 7),
    "heun": 2.0 ** -np.arange(3, 7), "rk4": 2.0 ** -np.arange(5, 9),
    "rk38": 2.0 ** -np.arange(5, 9),
}


@pytest.mark.parametrize("method", list(ONE_STEP_H))
def test_interpolation_local_order(method):
    """One step from the exact value: the interpolant's error inside the step is
    O(h^(k+1)), k = min(order, order of the continuous extension)."""
    steps = ONE_STEP_H[method]
    errors = _one_step_interpolation_errors(method, steps)
    assert errors.min() > 1e-14
    assert abs(observed_order(steps, errors) - (DENSE_ORDER[method] + 1)) < 0.35, errors


@pytest.mark.parametrize("method", ["Tsit5", "Vern7"])
def test_interpolation_global_order(method):
    """Over many steps of size h (forced), the dense output's largest error is of the method's
    order (Tsit5 5, Vern7 7): the interpolant is as good as the steps."""
    steps = {"Tsit5": 2.0 ** -np.arange(3, 6), "Vern7": 2.0 ** -np.arange(1, 4)}[method]
    errors = []
    for h in steps:
        res = fastode.solve_ivp(harmonic, (0.0, 4.0), [1.0, 0.0], method=method, first_step=h,
                                max_step=h, rtol=1e3, atol=1e3, dense_output=True)
        t = np.linspace(0.0, 4.0, 1601)
        errors.append(np.abs(res.sol(t) - harmonic_exact(t)).max())
    order = {"Tsit5": 5, "Vern7": 7}[method]
    assert abs(observed_order(steps, errors) - order) < 0.35, errors


@pytest.mark.parametrize("method", ["Tsit5", "Vern7"])
def test_interpolation_error_at_tolerance(method):
    """Adaptive run: between the steps the dense output is as accurate as at the steps."""
    res = fastode.solve_ivp(ycos, (0.0, 10.0), [1.0], method=method, rtol=1e-8, atol=1e-10,
                            dense_output=True)
    at_steps = np.abs(res.y[0] - ycos_exact(res.t)[0]).max()
    mid = 0.5 * (res.t[1:] + res.t[:-1])
    between = np.abs(res.sol(mid)[0] - ycos_exact(mid)[0]).max()
    assert at_steps < 1e-7
    assert between < 3 * at_steps + 1e-12


# ---- t_eval --------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ADAPTIVE)
def test_t_eval_equals_sol(method):
    fun, span, y0 = STANDARD["lotka_volterra"]
    t_eval = np.linspace(span[0], span[1], 301)
    dense = fastode.solve_ivp(fun, span, y0, method=method, rtol=1e-7, atol=1e-9,
                              dense_output=True)
    ev = fastode.solve_ivp(fun, span, y0, method=method, rtol=1e-7, atol=1e-9, t_eval=t_eval)
    np.testing.assert_array_equal(ev.t, t_eval)
    assert ev.y.shape == (2, t_eval.size)
    # t_eval does not change the steps; the extra interpolation stages of DOP853 and Vern7 are
    # evaluated only on steps with a t_eval point strictly inside
    if method in ("DOP853", "Vern7"):
        assert ev.nfev <= dense.nfev
    else:
        assert ev.nfev == dense.nfev
    assert ev.naccept == dense.naccept and ev.nreject == dense.nreject
    # the same interpolant; at a step end t_eval takes y_new itself, the interpolant's value at
    # theta = 1 differs from it by roundoff (the polynomial's monomial coefficients cancel)
    np.testing.assert_allclose(ev.y, dense.sol(t_eval), rtol=0, atol=1e-11 * np.abs(ev.y).max())
    # sparse points: most steps have none inside (no interpolant is built for those)
    sparse = np.array([0.3, 7.77, 14.2])
    ev_sparse = fastode.solve_ivp(fun, span, y0, method=method, rtol=1e-7, atol=1e-9,
                                  t_eval=sparse)
    np.testing.assert_allclose(ev_sparse.y, dense.sol(sparse), rtol=1e-14)
    # t_eval endpoints are t_span's ends: exactly y0 and exactly the last step's state
    free = fastode.solve_ivp(fun, span, y0, method=method, rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(ev.y[:, 0], y0)
    np.testing.assert_array_equal(ev.y[:, -1], free.y[:, -1])
    # and they are as accurate as scipy's (same-named methods), or within 1e-5 relative
    ref = reference("lotka_volterra")
    error = np.abs(ev.y - ref.sol(t_eval)).max()
    if method in SCIPY_METHODS:
        theirs = scipy.integrate.solve_ivp(fun, span, y0, method=method, rtol=1e-7, atol=1e-9,
                                           t_eval=t_eval)
        assert error <= 1.01 * np.abs(theirs.y - ref.sol(t_eval)).max() + 1e-12
    else:
        assert error < 1e-5 * np.abs(ref.y).max()


@pytest.mark.parametrize("method", ADAPTIVE)
def test_t_eval_exact_hits_at_step_ends(method):
    """t_eval points that are step ends give the step's state exactly."""
    fun, span, y0 = STANDARD["van_der_pol"]
    free = fastode.solve_ivp(fun, span, y0, method=method, rtol=1e-6, atol=1e-9)
    ev = fastode.solve_ivp(fun, span, y0, method=method, rtol=1e-6, atol=1e-9, t_eval=free.t)
    np.testing.assert_array_equal(ev.t, free.t)
    np.testing.assert_array_equal(ev.y, free.y)
    some = free.t[::5]
    ev = fastode.solve_ivp(fun, span, y0, method=method, rtol=1e-6, atol=1e-9, t_eval=some)
    np.testing.assert_array_equal(ev.y, free.y[:, ::5])


@pytest.mark.parametrize("method", SCIPY_METHODS)
def test_t_eval_matches_scipy(method):
    fun, span, y0 = STANDARD["lotka_volterra"]
    t_eval = np.concatenate([[0.0], np.sort(np.random.default_rng(1).uniform(0, 15, 200)), [15.0]])
    kw = dict(method=method, rtol=1e-6, atol=1e-9, t_eval=t_eval)
    ours = fastode.solve_ivp(fun, span, y0, **kw)
    theirs = scipy.integrate.solve_ivp(fun, span, y0, **kw)
    np.testing.assert_array_equal(ours.t, theirs.t)
    assert _rel(ours.y, theirs.y) < 1e-10


@pytest.mark.parametrize("method", ["RK45", "DOP853", "Vern7"])
def test_backward_dense_and_t_eval(method):
    y_end = harmonic_exact(-6.0)
    kw = dict(method=method, rtol=1e-9, atol=1e-12)
    res = fastode.solve_ivp(harmonic, (0.0, -6.0), [1.0, 0.0], dense_output=True, **kw)
    assert np.all(np.diff(res.t) < 0) and res.t[-1] == -6.0
    assert res.sol.t_min == -6.0 and res.sol.t_max == 0.0
    t = np.linspace(0.0, -6.0, 97)
    np.testing.assert_allclose(res.sol(t), harmonic_exact(t), atol=1e-8)
    np.testing.assert_allclose(res.y[:, -1], y_end, atol=1e-8)
    ev = fastode.solve_ivp(harmonic, (0.0, -6.0), [1.0, 0.0], t_eval=t, **kw)
    np.testing.assert_array_equal(ev.t, t)
    np.testing.assert_allclose(ev.y, res.sol(t), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(ev.y[:, -1], res.y[:, -1])
    if method in SCIPY_METHODS:
        theirs = scipy.integrate.solve_ivp(harmonic, (0.0, -6.0), [1.0, 0.0], dense_output=True,
                                           **kw)
        assert _rel(res.sol(t), theirs.sol(t)) < 1e-10


def test_t_eval_single_point_and_fixed_step():
    res = fastode.solve_ivp(ycos, (0.0, 2.0), [1.0], t_eval=[1.0], rtol=1e-10, atol=1e-12)
    assert res.t.tolist() == [1.0] and res.y.shape == (1, 1)
    np.testing.assert_allclose(res.y[0, 0], np.exp(np.sin(1.0)), rtol=1e-9)
    # fixed step: t_eval on the step grid is exact, off the grid uses the Hermite interpolant
    free = fastode.solve_ivp(ycos, (0.0, 2.0), [1.0], method="rk4", step=0.125)
    grid = fastode.solve_ivp(ycos, (0.0, 2.0), [1.0], method="rk4", step=0.125, t_eval=free.t)
    np.testing.assert_array_equal(grid.y, free.y)
    off = fastode.solve_ivp(ycos, (0.0, 2.0), [1.0], method="rk4", step=0.125,
                            t_eval=[0.3, 1.1], dense_output=True)
    np.testing.assert_allclose(off.y, off.sol([0.3, 1.1]), rtol=1e-14)
    np.testing.assert_allclose(off.y[0], ycos_exact(np.array([0.3, 1.1]))[0], rtol=1e-5)


def test_zero_length_span():
    res = fastode.solve_ivp(harmonic, (1.0, 1.0), [1.0, 0.0], t_eval=[1.0], dense_output=True)
    assert res.success and res.t.tolist() == [1.0]
    np.testing.assert_array_equal(res.y[:, 0], [1.0, 0.0])
    np.testing.assert_array_equal(res.sol(1.0), [1.0, 0.0])


# ---- OdeSolution built by hand, scipy's way ---------------------------------------------------

def test_ode_solution_from_interpolants():
    res = fastode.solve_ivp(lotka_volterra, (0.0, 5.0), [10.0, 5.0], method="DOP853",
                            dense_output=True, rtol=1e-8, atol=1e-10)
    pieces = res.sol.interpolants
    rebuilt = OdeSolution(res.sol.ts, pieces)
    t = np.linspace(0.0, 5.0, 101)
    inside = ~np.isin(t, res.t)
    assert inside.sum() >= 99
    # away from the breakpoints: the same polynomials, evaluated with the same arithmetic
    np.testing.assert_array_equal(rebuilt(t[inside]), res.sol(t[inside]))
    # at a step's end res.sol returns the step's state (sol(t_i) == y_i); an OdeSolution built
    # from interpolants alone, as scipy's, sums the polynomial of the step ending there at
    # theta = 1, which is off from y_i by rounding (DOP853: up to ~50 ulp)
    np.testing.assert_array_equal(res.sol(res.t), res.y)
    np.testing.assert_array_equal(rebuilt(res.t[1:]),
                                  np.stack([d(d.t) for d in pieces], axis=1))
    step = pieces[3]
    assert isinstance(step, DenseOutput)
    assert step.t_old == res.t[3] and step.t == res.t[4]
    tm = 0.5 * (step.t_old + step.t)
    np.testing.assert_array_equal(step(tm), res.sol(tm))
    assert step(np.array([tm, tm])).shape == (2, 2)
    with pytest.raises(ValueError):
        OdeSolution(res.sol.ts, res.sol.interpolants[:-1])
