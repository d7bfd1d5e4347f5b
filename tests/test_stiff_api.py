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


def test_scipy_solver_classes_still_go_to_scipy():
    # LSODA is compiled (fastode.ivp_auto, tests/test_switching.py); scipy's OdeSolver classes
    # are handed to scipy with a warning
    import scipy.integrate
    with pytest.warns(UserWarning, match="scipy"):
        sol = fastode.solve_ivp(robertson, (0.0, 1.0), Y0, method=scipy.integrate.LSODA,
                                rtol=1e-8, atol=1e-10)
    assert sol.success
    np.testing.assert_allclose(sol.y[:, -1].sum(), 1.0, rtol=1e-7)


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


def test_jac_exception_in_compiled_code_fails_the_solve():
    def bad_jac(t, y):
        if t > 0.5:
            raise RuntimeError("boom")
        return np.eye(3)

    # numba compiles the raise; inside a cfunc the exception is swallowed and the NaN the
    # wrapper leaves in J ends the integration
    sol = fastode.solve_ivp(robertson, (0.0, 1.0), Y0, method="Rodas4", jac=bad_jac)
    assert not sol.success and 0.5 <= sol.t[-1] < 0.51


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


def test_complex_with_jac_or_mass_rejected():
    def f(t, z):
        return -z

    with pytest.raises(ValueError, match="complex"):
        fastode.solve_ivp(f, (0.0, 1.0), np.array([1.0 + 0j]), method="Rodas4",
                          jac=np.eye(1))
    with pytest.raises(ValueError, match="complex"):
        fastode.solve_ivp(f, (0.0, 1.0), np.array([1.0 + 0j]), method="Rodas4",
                          mass=np.eye(1))


def test_unknown_option_warns():
    with pytest.warns(UserWarning, match="`frobnicate`"):
        fastode.solve_ivp(robertson, (0.0, 1.0), Y0, method="Rodas4", frobnicate=1)


def test_non_finite_y0():
    with pytest.raises(ValueError, match="finite"):
        fastode.solve_ivp(robertson, (0.0, 1.0), [np.nan, 0.0, 0.0], method="Rodas4")
