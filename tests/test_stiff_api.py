"""solve_ivp's implicit path: options, result fields, failures and bad input."""
import numpy as np
import pytest

import fastode
from fastode.methods import lookup
from test_rosenbrock import ROSENBROCK, robertson, robertson_jac

Y0 = [1.0, 0.0, 0.0]


def test_method_names_and_aliases():
    for name in ("Rodas4", "rodas4", "RODAS4"):
        assert lookup(name).name == "Rodas4"
    for name in ("Rosenbrock23", "ros23", "ode23s"):
        assert lookup(name).name == "Rosenbrock23"
    assert lookup("Rodas4").family == "rosenbrock"
    assert "Rodas4" in fastode.available_methods()


@pytest.mark.parametrize("method", ROSENBROCK)
def test_result_fields(method):
    sol = fastode.solve_ivp(robertson, (0.0, 10.0), Y0, method=method, dense_output=True)
    assert sol.success and sol.status == 0
    assert sol.t[0] == 0.0 and sol.t[-1] == 10.0
    assert sol.y.shape == (3, sol.t.size)
    assert sol.nfev > 0 and sol.njev == sol.naccept and sol.nlu == sol.naccept + sol.nreject
    np.testing.assert_allclose(sol.sol(sol.t), sol.y, rtol=1e-12, atol=1e-15)


def test_scipy_solver_classes_run_compiled_and_subclasses_go_to_scipy():
    # scipy's own LSODA class names fastode's compiled LSODA (fastode.ivp_auto); a user's
    # subclass of a scipy solver is handed to scipy with a warning
    import scipy.integrate
    sol = fastode.solve_ivp(robertson, (0.0, 1.0), Y0, method=scipy.integrate.LSODA,
                            rtol=1e-8, atol=1e-10)
    assert sol.success and sol.naccept is not None
    np.testing.assert_allclose(sol.y[:, -1].sum(), 1.0, rtol=1e-7)

    class MyBDF(scipy.integrate.BDF):
        pass

    with pytest.warns(UserWarning, match="scipy"):
        sol = fastode.solve_ivp(robertson, (0.0, 1.0), Y0, method=MyBDF, rtol=1e-8, atol=1e-10)
    assert sol.success and sol.naccept is None


def test_radau_and_bdf_are_compiled():
    for name in ("Radau", "BDF", "Rodas4", "Rosenbrock23"):
        sol = fastode.solve_ivp(robertson, (0.0, 1.0), Y0, method=name, rtol=1e-6, atol=1e-10)
        assert sol.success and sol.naccept is not None and sol.njev >= 1


def test_explicit_methods_still_ignore_jac():
    with pytest.warns(UserWarning, match="`jac`"):
        fastode.solve_ivp(robertson, (0.0, 1e-3), Y0, method="RK45", jac=robertson_jac)


def test_complex_state_with_fd_jacobian():
    def f(t, z):
        return np.array([(-50.0 + 10j) * z[0]])

    sol = fastode.solve_ivp(f, (0.0, 0.1), np.array([1.0 + 0j]), method="Rodas4", rtol=1e-9,
                            atol=1e-12)
    assert sol.y.dtype == np.complex128
    np.testing.assert_allclose(sol.y[0, -1], np.exp((-50.0 + 10j) * 0.1), rtol=1e-6)


def test_vectorized_fun():
    def f(t, y):
        return np.array([-1000.0 * y[0] + y[1], -y[1]])

    sol = fastode.solve_ivp(f, (0.0, 1.0), [1.0, 1.0], method="Rodas4", vectorized=True,
                            rtol=1e-8, atol=1e-12)
    assert sol.success


def test_args_reach_the_rhs():
    from test_rosenbrock import van_der_pol
    a = fastode.solve_ivp(van_der_pol, (0.0, 1.0), [2.0, 0.0], method="Rodas4", args=(10.0,))
    b = fastode.solve_ivp(van_der_pol, (0.0, 1.0), [2.0, 0.0], method="Rodas4", args=(100.0,))
    assert a.success and b.success and abs(a.y[1, -1] - b.y[1, -1]) > 1e-3


# ---- failures --------------------------------------------------------------------------------

def constant_source(t, y):
    return np.array([1.0, 2.0])


def test_singular_iteration_matrix_fails_with_message():
    sol = fastode.solve_ivp(constant_source, (0.0, 1.0), [0.0, 0.0], method="Rodas4",
                            mass=np.zeros((2, 2)))
    assert not sol.success and sol.status == -1
    assert "singular" in sol.message
    assert sol.t.size == 1  # the solution so far


def test_max_steps():
    sol = fastode.solve_ivp(robertson, (0.0, 1e5), Y0, method="Rodas4", max_steps=10)
    assert sol.status == -1 and "max_steps=10" in sol.message
    assert sol.t.size > 1


def nan_after_one(t, y):
    return np.array([-y[0] if t < 1.0 else np.nan])


def test_non_finite_rhs():
    sol = fastode.solve_ivp(nan_after_one, (0.0, 2.0), [1.0], method="Rodas4")
    assert not sol.success and "non-finite" in sol.message
    assert sol.t[-1] <= 1.0 + 1e-12


def test_min_step():
    sol = fastode.solve_ivp(robertson, (0.0, 1e5), Y0, method="Rodas4", min_step=1.0)
    assert not sol.success and "min_step" in sol.message


def test_jac_exception_in_compiled_code_is_raised(capfd):
    def bad_jac(t, y):
        if t > 0.5:
            raise RuntimeError("boom")
        return np.eye(3)

    # numba compiles the raise; the wrapper catches it inside the kernel (NaN in J ends the
    # integration) and solve_ivp re-raises it afterwards, as scipy (tests/test_user_errors.py)
    with pytest.raises(RuntimeError, match="boom"):
        fastode.solve_ivp(robertson, (0.0, 1.0), Y0, method="Rodas4", jac=bad_jac)
    assert "Exception ignored" not in capfd.readouterr().err


def test_jac_exception_in_python_fallback_is_raised():
    def bad_jac(t, y):
        if t > 0.5:
            raise RuntimeError("boom")
        return {"not": "compilable"} and np.eye(3)

    with pytest.raises(RuntimeError, match="boom"):
        with pytest.warns(fastode.rhs.FallbackWarning):
            fastode.solve_ivp(robertson, (0.0, 1.0), Y0, method="Rodas4", jac=bad_jac)


# ---- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("options, match", [
    (dict(jac=np.eye(2)), "`jac` must have shape"),
    (dict(jac=lambda t, y: np.eye(2)), "`jac` returned shape"),
    (dict(jac="x"), "`jac`"),
    (dict(mass=np.eye(2)), "`mass` must have shape"),
    (dict(mass=np.full((3, 3), np.nan)), "`mass` must be finite"),
    (dict(lband=1), "`lband` and `uband`"),
    (dict(uband=1), "`lband` and `uband`"),
    (dict(lband=-1, uband=1), "`lband` must be a non-negative integer"),
    (dict(lband=1.5, uband=1), "`lband`"),
    (dict(lband=1, uband=1, jac_sparsity=np.ones((3, 3))), "not both"),
    (dict(jac_sparsity=np.ones((2, 2))), "`jac_sparsity` must have shape"),
    (dict(step=0.1), "`step` is for fixed-step methods"),
    (dict(max_step=-1.0), "`max_step`"),
    (dict(first_step=10.0), "`first_step` exceeds"),
    (dict(max_steps=0), "`max_steps`"),
])
def test_bad_input(options, match):
    with pytest.raises((ValueError, TypeError), match=match):
        fastode.solve_ivp(robertson, (0.0, 1.0), Y0, method="Rodas4", **options)


def test_jac_raising_in_check_call():
    def jac(t, y):
        raise KeyError("nope")

    with pytest.raises(ValueError, match="`jac` raised KeyError"):
        fastode.solve_ivp(robertson, (0.0, 1.0), Y0, method="Rodas4", jac=jac)


def test_cfunc_jac_with_wrong_signature():
    from numba import cfunc, types
    sig = types.void(types.float64, types.CPointer(types.float64))

    @cfunc(sig)
    def jac(t, y):
        pass

    with pytest.raises(TypeError, match="signature"):
        fastode.solve_ivp(robertson, (0.0, 1.0), Y0, method="Rodas4", jac=jac)


def test_complex_with_mass_rejected_and_with_jac_solved():
    def f(t, z):
        return -z

    # a complex jac is df/dz, as in scipy (tests/test_scipy_compat.py checks the forms)
    sol = fastode.solve_ivp(f, (0.0, 1.0), np.array([1.0 + 0j]), method="Rodas4", jac=-np.eye(1),
                            rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(sol.y[0, -1], np.exp(-1.0), rtol=1e-6)
    with pytest.raises(ValueError, match="complex"):
        fastode.solve_ivp(f, (0.0, 1.0), np.array([1.0 + 0j]), method="Rodas4",
                          mass=np.eye(1))


def test_unknown_option_warns():
    with pytest.warns(UserWarning, match="`frobnicate`"):
        fastode.solve_ivp(robertson, (0.0, 1.0), Y0, method="Rodas4", frobnicate=1)


def test_non_finite_y0():
    with pytest.raises(ValueError, match="finite"):
        fastode.solve_ivp(robertson, (0.0, 1.0), [np.nan, 0.0, 0.0], method="Rodas4")


# ---- the fast path without options, kernel_call, t_eval checks -----------------------------

@pytest.mark.parametrize("method", ["Rodas5P", "Radau", "BDF", "Kvaerno5"])
def test_default_setup_equals_parsed_options(method):
    """No option: a cached setup (fastode.ivp_implicit._default_setup); the same defaults given
    explicitly go through the option parser: the results must be identical."""
    kw = dict(method=method, rtol=1e-6, atol=1e-10)
    a = fastode.solve_ivp(robertson, (0.0, 1e5), Y0, **kw)
    b = fastode.solve_ivp(robertson, (0.0, 1e5), Y0, max_step=np.inf, min_step=0.0, **kw)
    assert a.success and b.success
    np.testing.assert_array_equal(a.t, b.t)
    np.testing.assert_array_equal(a.y, b.y)
    assert (a.nfev, a.njev, a.nlu) == (b.nfev, b.njev, b.nlu)


@pytest.mark.parametrize("method", ["Rodas5P", "Rosenbrock23", "Radau", "BDF", "KenCarp4"])
def test_kernel_call_matches_solve_ivp(method):
    from fastode.ivp_implicit import kernel_call
    t_eval = [1.0, 1e3, 1e5]
    driver, call_args, keep = kernel_call(robertson, (0.0, 1e5), Y0, method, t_eval=t_eval,
                                          rtol=1e-6, atol=1e-10)
    status, t_out, y_out, n_out = driver(*call_args)[:4]
    counters = driver(*call_args)[12]
    ref = fastode.solve_ivp(robertson, (0.0, 1e5), Y0, method=method, t_eval=t_eval,
                            rtol=1e-6, atol=1e-10)
    assert status == 0 and n_out == 3 and keep
    np.testing.assert_array_equal(t_out[:n_out], ref.t)
    np.testing.assert_array_equal(y_out[:n_out].T, ref.y)
    assert (counters[0], counters[4], counters[5]) == (ref.nfev, ref.njev, ref.nlu)


@pytest.mark.parametrize("size", [3, 40])  # the plain-Python checks (<= 16 points) and numpy's
@pytest.mark.parametrize("case, message", [
    ("nan", "finite"), ("outside", "within"), ("unsorted", "sorted"), ("repeated", "sorted"),
    ("backwards_unsorted", "sorted"), ("2d", "1-dimensional")])
def test_t_eval_errors_small_and_large(size, case, message):
    t1 = -10.0 if case.startswith("backwards") else 10.0
    t_eval = np.linspace(0.0, t1, size)
    if case == "nan":
        t_eval[1] = np.nan
    elif case == "outside":
        t_eval[-1] = 11.0
    elif case in ("unsorted", "backwards_unsorted"):
        t_eval[[0, 1]] = t_eval[[1, 0]]
    elif case == "repeated":
        t_eval[2] = t_eval[1]
    elif case == "2d":
        t_eval = t_eval.reshape(1, -1)
    with pytest.raises(ValueError, match=message):
        fastode.solve_ivp(robertson, (0.0, t1), Y0, method="Rodas4", t_eval=t_eval)


@pytest.mark.parametrize("size", [1, 3, 40])
def test_t_eval_accepted_both_directions(size):
    for t1 in (1.0, -1.0):
        t_eval = list(np.linspace(0.0, t1, size)) if size > 1 else [t1]
        sol = fastode.solve_ivp(lambda t, y: -y, (0.0, t1), [1.0], method="Rodas4",
                                t_eval=t_eval, rtol=1e-8, atol=1e-10)
        assert sol.success
        np.testing.assert_allclose(sol.y[0], np.exp(-np.asarray(t_eval)), rtol=1e-6)
