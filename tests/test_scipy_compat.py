"""solve_ivp behaves as scipy's where scipy's own tests (tests/scipy_conformance) look.

Each test here failed before the change it guards: the wording code written against scipy
matches on, inputs scipy accepts (an infinite ``t_bound``, an empty state, a tiny ``rtol``, a
``terminal`` of None, scipy's solver classes as ``method``), and the ``jac`` forms scipy takes
(a number for one component, a complex df/dz, a sparse matrix).
"""
import warnings

import numpy as np
import pytest
import scipy.integrate
import scipy.sparse

import fastode
from fastode.results import ConstantDenseOutput


def decay(t, y):
    return -0.5 * y


def at_quarter(t, y):
    return y[0] - 0.25


at_quarter.terminal = True

ALL_METHODS = ["RK23", "RK45", "DOP853", "Radau", "BDF", "LSODA"]


def test_y0_not_finite_uses_scipys_sentence():
    with pytest.raises(ValueError, match="All components of the initial state `y0` must be "
                                         "finite"):
        fastode.solve_ivp(decay, (0.0, 1.0), [1.0, np.nan])


def test_args_not_unpackable_uses_scipys_sentence():
    with pytest.raises(TypeError, match="Supplied 'args' cannot be unpacked."):
        fastode.solve_ivp(lambda t, y, a: a * y, (0.0, 0.1), [1.0], args=-1)


@pytest.mark.parametrize("rtol", [0.0, 1e-17, [1e-1, 1e-16]])
def test_tiny_rtol_warns_and_is_raised_to_100_eps(rtol):
    with pytest.warns(UserWarning, match="At least one element of `rtol` is too small"):
        res = fastode.solve_ivp(decay, (0.0, 1.0), [1.0, 2.0], rtol=rtol, atol=1e-14)
    assert res.success
    np.testing.assert_allclose(res.y[:, -1], [np.exp(-0.5), 2 * np.exp(-0.5)], rtol=1e-10)


@pytest.mark.parametrize("method", ["RK45", "DOP853", "Radau", "BDF", "LSODA", "Rodas5P"])
def test_infinite_t_bound_ends_at_terminal_event(method):
    # y = exp(-t/2) reaches 1/4 at t = 2 ln 4
    res = fastode.solve_ivp(decay, (0.0, np.inf), [1.0], method=method, events=at_quarter,
                            rtol=1e-8, atol=1e-10)
    assert res.status == 1
    np.testing.assert_allclose(res.t_events[0], [2 * np.log(4.0)], rtol=1e-6)
    assert res.t[-1] == res.t_events[0][0]


@pytest.mark.parametrize("method", ALL_METHODS)
@pytest.mark.parametrize("t_bound", [10.0, np.inf])
def test_empty_state(method, t_bound):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = fastode.solve_ivp(lambda t, y: np.zeros(0), (0.0, t_bound), np.zeros(0),
                                method=method, dense_output=True)
    assert res.success and res.status == 0
    assert res.y.shape == (0, res.t.size)
    assert res.sol(10.0).shape == (0,)
    assert res.sol([1.0, 2.0, 3.0]).shape == (0, 3)


def test_terminal_none_means_not_terminal():
    def crossing(t, y):
        return y[0] - 0.5

    crossing.terminal = None
    res = fastode.solve_ivp(decay, (0.0, 5.0), [1.0], events=crossing)
    assert res.status == 0
    assert res.t_events[0].size == 1


@pytest.mark.parametrize("method", ["RK45", "Radau", "BDF", "LSODA"])
def test_t_eval_with_early_terminal_event_is_empty_like_scipys(method):
    def early(t, y):
        return t - 7

    early.terminal = True
    res = fastode.solve_ivp(decay, (5.0, 9.0), [1.0], method=method,
                            t_eval=np.linspace(7.5, 9, 16), events=early)
    ref = scipy.integrate.solve_ivp(decay, (5.0, 9.0), [1.0], method=method,
                                    t_eval=np.linspace(7.5, 9, 16), events=early)
    assert res.status == ref.status == 1
    assert not res.t and not res.y  # scipy returns empty lists here
    assert type(res.t) is type(ref.t) and type(res.y) is type(ref.y)
    np.testing.assert_allclose(res.t_events[0], [7.0])


@pytest.mark.parametrize("name", ALL_METHODS)
def test_scipy_solver_class_runs_the_compiled_method(name):
    scipy_class = getattr(scipy.integrate, name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # it used to fall back to scipy with a warning
        res = fastode.solve_ivp(decay, (0.0, 2.0), [1.0], method=scipy_class, rtol=1e-8,
                                atol=1e-10)
    assert res.naccept is not None  # fastode's counter: the compiled driver ran
    np.testing.assert_allclose(res.y[0, -1], np.exp(-1.0), rtol=1e-6)


def test_scipy_solver_subclass_stays_with_scipy():
    class MyRK45(scipy.integrate.RK45):
        pass

    with pytest.warns(UserWarning, match="not compiled by fastode"):
        res = fastode.solve_ivp(decay, (0.0, 2.0), [1.0], method=MyRK45)
    assert res.success


@pytest.mark.parametrize("method", ["Radau", "BDF", "LSODA"])
def test_jac_returning_a_number_for_one_component(method):
    def fun(t, y):
        return y * (t - 2)

    def jac(t, y):
        return t - 2

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = fastode.solve_ivp(fun, (0.0, 3.0), [1.0], method=method, jac=jac, rtol=1e-8,
                                atol=1e-10)
    assert res.success
    np.testing.assert_allclose(res.y[0, -1], np.exp(4.5 - 6.0), rtol=1e-5)


@pytest.mark.parametrize("method", ["BDF", "Radau"])
@pytest.mark.parametrize("form", ["dense", "sparse", "constant"])
def test_complex_jac_is_df_dz(method, form):
    lam = -1.0 + 3.0j

    def fun(t, y):
        return lam * y

    J = np.array([[lam]])
    jac = {"dense": lambda t, y: J, "sparse": lambda t, y: scipy.sparse.csc_matrix(J),
           "constant": J}[form]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = fastode.solve_ivp(fun, (0.0, 1.0), [0.5 + 1j], method=method, jac=jac,
                                rtol=1e-8, atol=1e-10)
    assert res.success and res.nlu > 0 and (res.njev == 0) == (form == "constant")
    np.testing.assert_allclose(res.y[0, -1], (0.5 + 1j) * np.exp(lam), rtol=1e-6)


def test_complex_jac_wrong_derivative_is_not_ignored():
    # a jac that is not df/dz changes the Newton iteration: if the kernel ignored it, njev
    # would stay 0 (the finite-difference path counts no user Jacobian calls)
    def jac(t, y):
        return np.array([[-2.0 + 0j]])

    res = fastode.solve_ivp(lambda t, y: -2.0 * y, (0.0, 1.0), [1.0 + 1j], method="BDF",
                            jac=jac, rtol=1e-8, atol=1e-10)
    assert res.success and res.njev >= 1
    np.testing.assert_allclose(res.y[0, -1], (1 + 1j) * np.exp(-2.0), rtol=1e-6)


def test_constant_dense_output():
    sol = ConstantDenseOutput(0, 1, np.array([1, 2]))
    np.testing.assert_allclose(sol(1.5), [1, 2])
    np.testing.assert_allclose(sol([1, 1.5, 2]), [[1, 1, 1], [2, 2, 2]])
    assert sol.Q.shape == (2, 0)
    sol = fastode.OdeSolution(np.array([0.0, 2.0, 5.0]),
                              [ConstantDenseOutput(0, 2, np.array([-1.0])),
                               ConstantDenseOutput(2, 5, np.array([1.0]))])
    np.testing.assert_array_equal(sol([0, 6, -2, 1.5, 4.5, 2]), [[-1, 1, -1, -1, 1, -1]])


@pytest.mark.parametrize("name", ["RK23", "RK45", "DOP853"])
def test_error_estimate_bounds_the_error_like_scipys(name):
    step = 0.2
    solver = getattr(fastode, name)(lambda t, y: y, 0, [1.0], 1, first_step=step)
    reference = getattr(scipy.integrate, name)(lambda t, y: y, 0, [1.0], 1, first_step=step)
    solver.step()
    reference.step()
    estimate = solver._estimate_error(solver.K, step)
    assert abs(solver.y[0] - np.exp(step)) < abs(estimate[0])
    # scipy's formula on the same stages: equal up to the rounding of a sum that cancels to
    # ~1e-12, so the bound is a few ulps of the sum of the magnitudes of its terms
    same = reference._estimate_error(solver.K.copy(), step)
    bound = 16 * np.finfo(float).eps * step * (np.abs(solver.K).T @ np.abs(solver.E))
    assert np.all(np.abs(estimate - same) <= bound)
    # and the stages are scipy's (the same method), to rounding
    np.testing.assert_allclose(solver.K, reference.K, rtol=1e-13)
    scale = np.array([1.0])
    norm = solver._estimate_error_norm(solver.K, step, scale)
    assert norm > 0
    # the norm inherits the estimate's relative rounding (squared terms: twice, three for margin)
    relative = float(np.max(bound / np.abs(same)))
    np.testing.assert_allclose(norm, reference._estimate_error_norm(solver.K.copy(), step, scale),
                               rtol=3 * relative)


def zero_rhs(t, y):
    return np.zeros_like(y)


@pytest.mark.timeout(300)  # it used to loop forever (NaN step size) once zero_rhs was compiled
@pytest.mark.parametrize("method", ALL_METHODS + ["Rodas5P", "KenCarp4", "auto"])
@pytest.mark.parametrize("fill", [np.nan, np.inf])
def test_non_finite_y0_raises_even_when_fun_is_already_compiled(method, fill):
    fastode.solve_ivp(zero_rhs, (0.0, 1.0), np.ones(3), method=method)  # compiled and cached
    with pytest.raises(ValueError, match="All components of the initial state `y0` must be "
                                         "finite"):
        fastode.solve_ivp(zero_rhs, (0.0, 10.0), np.full(3, fill), method=method)


def mixed_hstack_rhs(t, y):
    # scipy's test problem fun_medazko pads its state this way: numbers and arrays in a tuple
    padded = np.hstack((1.0, 0, y, y[-1]))
    return padded[2:-1] - 0.5 * padded[:-3]


def list_hstack_rhs(t, y):
    return np.hstack([-y[:1], -2.0 * y[1:]])


@pytest.mark.parametrize("fun", [mixed_hstack_rhs, list_hstack_rhs])
def test_hstack_forms_numba_lacks_compile(fun):
    y0 = np.array([1.0, 2.0, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a FallbackWarning (not compiled) fails the test
        res = fastode.solve_ivp(fun, (0.0, 1.0), y0, rtol=1e-10, atol=1e-12)
    ref = scipy.integrate.solve_ivp(fun, (0.0, 1.0), y0, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.y[:, -1], ref.y[:, -1], rtol=1e-8)


def test_hstack_extension_matches_numpy():
    import numba

    @numba.njit
    def mixed(y):
        return np.hstack((2, 0, y, y[-2]))

    @numba.njit
    def ints(y):
        return np.hstack((2, y))

    y = np.arange(4.0)
    for f, arg in ((mixed, y), (ints, np.arange(3))):
        got, want = f(arg), f.py_func(arg)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_constant_jac_is_not_counted_as_evaluations():
    J = np.array([[-1.0, -5.0], [1.0, 1.0]])
    for method in ("Radau", "BDF"):
        for jac in (J, scipy.sparse.csc_matrix(J)):
            res = fastode.solve_ivp(lambda t, y: J @ y, (0.0, 2.0), [0.0, 2.0], method=method,
                                    jac=jac)
            assert res.success and res.njev == 0 and 0 < res.nlu


@pytest.mark.parametrize("method", ["RK23", "DOP853", "Radau", "BDF", "LSODA"])
def test_dense_output_reproduces_the_steps(method):
    # at a step's end the solution object returns the step's state itself
    res = fastode.solve_ivp(lambda t, y: np.array([y[1] / t, y[1] * (y[0] - 2 * y[1]) / t]),
                            (5.0, 1.0), [1 / 3, 2 / 9], method=method, max_step=0.5,
                            dense_output=True)
    np.testing.assert_array_equal(res.sol(res.t), res.y)


def test_lsoda_class_evaluates_nothing_before_the_first_step():
    solver = fastode.LSODA(lambda t, y: -y, 0.0, [1.0, 2.0], 1.0)
    assert (solver.nfev, solver.njev, solver.nlu) == (0, 0, 0)
    assert solver.step() is None and solver.nfev > 0 and solver.t > 0


def test_jac_mixing_int_args_and_floats_in_nested_lists_compiles():
    # scipy's test_args: numba cannot type np.array of nested lists mixing int and float
    def sys3(t, w, omega, k, zfinal):
        x, y, z = w
        return [-omega * y, omega * x, k * z * (1 - z)]

    def sys3_jac(t, w, omega, k, zfinal):
        x, y, z = w
        return np.array([[0, -omega, 0], [omega, 0, 0], [0, 0, k * (1 - 2 * z)]])

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no FallbackWarning
        res = fastode.solve_ivp(sys3, (0.0, 1.0), [0.0, -1.0, 0.5], method="Radau",
                                jac=sys3_jac, args=(2, 4, 0.99), rtol=1e-10, atol=1e-12)
    assert res.success and res.njev >= 1
    np.testing.assert_allclose(res.y[:2, -1], [np.sin(2.0), -np.cos(2.0)], rtol=1e-7)


def test_infinite_t_bound_without_an_end_is_an_error():
    with pytest.raises(ValueError, match="infinite end"):
        fastode.solve_ivp(decay, (0.0, np.inf), [1.0])
    res = fastode.solve_ivp(decay, (0.0, np.inf), [1.0], max_steps=50)
    assert res.status == -1 and res.naccept + res.nreject == 50 and res.t.size == res.naccept + 1


def test_ensemble_rejects_an_infinite_t_bound():
    # it has no events to end such a solve (it ran until memory ran out)
    with pytest.raises(ValueError, match="`t_span`"):
        fastode.solve_ensemble(decay, (0.0, np.inf), [1.0], params=np.ones((2, 0)))
