"""The forms of the right-hand side fastode.solve_ivp accepts, compilation and its cache, and the
Python fallback (fastode.rhs)."""
import warnings

import numba
import numpy as np
import pytest
from numba import carray, cfunc, types

import fastode
from fastode.kernels.explicit import explicit_rk_solve
from fastode.rhs import RHS_SIGNATURE, _cache_for

KW = dict(rtol=1e-10, atol=1e-12)
T_END = 1.0
HARMONIC_END = np.array([np.cos(T_END), -np.sin(T_END)])


def _compiled_entries(fun):
    """Distinct compiled objects cached for ``fun`` (fallback reasons are stored as strings; one
    compiled object may be stored under several keys)."""
    return list({id(v): v for v in _cache_for(fun).values() if not isinstance(v, str)}.values())


# ---- forms of fun ------------------------------------------------------------------------------

def harmonic_array(t, y):
    return np.array([y[1], -y[0]])


def harmonic_list(t, y):
    return [y[1], -y[0]]


def harmonic_tuple(t, y):
    return (y[1], -y[0])


def harmonic_stack(t, y):
    out = np.empty(2)
    out[0] = y[1]
    out[1] = -y[0]
    return out


def harmonic_branches(t, y):
    if t < 0.5:
        return np.array([y[1], -y[0]])
    return [y[1], -1.0 * y[0]]


@numba.njit
def harmonic_njit(t, y):
    return np.array([y[1], -y[0]])


@cfunc(RHS_SIGNATURE)
def harmonic_cfunc(t, y_ptr, p_ptr, out_ptr):
    y = carray(y_ptr, (2,))
    p = carray(p_ptr, (1,))
    out = carray(out_ptr, (2,))
    out[0] = y[1]
    out[1] = -p[0] * y[0]


@pytest.mark.parametrize("fun", [harmonic_array, harmonic_list, harmonic_tuple, harmonic_stack,
                                 harmonic_branches, harmonic_njit],
                         ids=lambda f: f.__name__)
def test_forms_of_fun(fun):
    with warnings.catch_warnings():
        warnings.simplefilter("error", fastode.FallbackWarning)
        res = fastode.solve_ivp(fun, (0.0, T_END), [1.0, 0.0], **KW)
    assert res.success
    np.testing.assert_allclose(res.y[:, -1], HARMONIC_END, atol=1e-9)
    assert len(_compiled_entries(fun)) == 1


def test_all_forms_give_identical_results():
    """The in-place rewrite of list/array literals and the allocating wrapper compute the same."""
    ref = fastode.solve_ivp(harmonic_stack, (0.0, 5.0), [1.0, 0.0], **KW)
    for fun in (harmonic_array, harmonic_list, harmonic_tuple, harmonic_njit):
        res = fastode.solve_ivp(fun, (0.0, 5.0), [1.0, 0.0], **KW)
        np.testing.assert_array_equal(res.t, ref.t)
        np.testing.assert_array_equal(res.y, ref.y)


def test_cfunc():
    res = fastode.solve_ivp(harmonic_cfunc, (0.0, T_END), [1.0, 0.0], args=(1.0,), **KW)
    assert res.success
    np.testing.assert_allclose(res.y[:, -1], HARMONIC_END, atol=1e-9)
    # its parameter array is args, at run time
    res4 = fastode.solve_ivp(harmonic_cfunc, (0.0, T_END), [1.0, 0.0], args=(4.0,), **KW)
    np.testing.assert_allclose(res4.y[:, -1], [np.cos(2 * T_END), -2 * np.sin(2 * T_END)],
                               atol=1e-9)
    # with events and dense output too
    res = fastode.solve_ivp(harmonic_cfunc, (0.0, 5.0), [1.0, 0.0], args=(1.0,),
                            events=lambda t, y, w: y[0], dense_output=True, **KW)
    np.testing.assert_allclose(res.t_events[0], [np.pi / 2, 1.5 * np.pi], atol=1e-9)
    np.testing.assert_allclose(res.sol(2.0), [np.cos(2.0), -np.sin(2.0)], atol=1e-9)


@cfunc(types.float64(types.float64, types.CPointer(types.float64)))
def wrong_signature(t, y_ptr):
    return 0.0


def test_cfunc_wrong_signature():
    with pytest.raises(TypeError, match="`fun`"):
        fastode.solve_ivp(wrong_signature, (0.0, 1.0), [1.0])


def scalar_decay(t, y):
    return -2.0 * y[0]


def scalar_array_decay(t, y):
    return -2.0 * y


def test_scalar_return_for_one_component():
    for fun in (scalar_decay, scalar_array_decay):
        with warnings.catch_warnings():
            warnings.simplefilter("error", fastode.FallbackWarning)
            res = fastode.solve_ivp(fun, (0.0, 1.0), [1.0], **KW)
            again = fastode.solve_ivp(fun, (0.0, 1.0), 3.0, **KW)
        assert res.y.shape == (1, res.t.size)
        np.testing.assert_allclose(res.y[0, -1], np.exp(-2.0), rtol=1e-9)
        np.testing.assert_allclose(again.y[0, -1], 3 * np.exp(-2.0), rtol=1e-9)


# ---- args ------------------------------------------------------------------------------------

def oscillator_args(t, y, omega, damping, n_terms, weights):
    """Damped oscillator; n_terms (int) and weights (array) scale the force."""
    force = 0.0
    for k in range(n_terms):
        force += weights[k]
    return np.array([y[1], -omega * omega * y[0] * force - damping * y[1]])


def _exact_damped(t, omega, damping):
    # y'' + c y' + w^2 y = 0, y(0) = 1, y'(0) = 0, underdamped
    wd = np.sqrt(omega ** 2 - damping ** 2 / 4)
    a = -damping / 2
    y = np.exp(a * t) * (np.cos(wd * t) - a / wd * np.sin(wd * t))
    return y


def test_args_scalars_ints_arrays_without_recompiling():
    n_before = len(explicit_rk_solve.signatures)
    cases = [(1.0, 0.1, 2, np.array([0.5, 0.5, 9.0])),   # force = 1
             (2.0, 0.3, 3, np.array([0.25, 0.25, 0.5])),  # force = 1
             (1.5, 0.0, 1, np.array([1.0, 7.0, 7.0]))]     # force = 1, undamped
    for omega, damping, n_terms, weights in cases:
        res = fastode.solve_ivp(oscillator_args, (0.0, 3.0), [1.0, 0.0],
                                args=(omega, damping, n_terms, weights), **KW)
        np.testing.assert_allclose(res.y[0, -1], _exact_damped(3.0, omega, damping), atol=1e-8)
    # one compiled RHS for the argument layout (float, float, int, float array of 3); the
    # kernel itself is not recompiled for a new RHS either
    assert len(_compiled_entries(oscillator_args)) == 1
    assert len(explicit_rk_solve.signatures) == n_before
    # a new layout (an array of another length) compiles a second version
    fastode.solve_ivp(oscillator_args, (0.0, 1.0), [1.0, 0.0],
                      args=(1.0, 0.0, 1, np.array([1.0])))
    assert len(_compiled_entries(oscillator_args)) == 2


def floor_half(t, y, k):
    return -(k // 2) * y  # k // 2 is 1 for k = 3 (int) and 1.0 for k = 3.0


def test_argument_layout_follows_types_after_a_float_call():
    """pack's fast path (a cache of all-float layouts keyed by the arguments' exact types) gives
    each call the layout of its own argument types: a float call first does not make a later
    (float, int) or (bool, float) call take the all-float layout."""
    from fastode.ivp_common import pack
    from fastode.rhs import arg_specs, pack_args
    for args in [(1.0, 2.0), (1.0, 2), (True, 2.0), (np.float64(1.0), 2.0), (1.0, 2.0),
                 (1, 2.0), (1.0, 2.0, 3.0), (1.0, np.array([2.0, 3.0]))]:
        specs, p = pack(args)
        assert specs == arg_specs(args), args
        np.testing.assert_array_equal(p[:len(pack_args(args, specs))], pack_args(args, specs))
    for k in (3.0, 3, 3.0):
        res = fastode.solve_ivp(floor_half, (0.0, 1.0), [1.0], args=(k,), **KW)
        np.testing.assert_allclose(res.y[0, -1], np.exp(-1.0), rtol=1e-7)


def bool_and_int_array_args(t, y, flip, index, matrix):
    sign = -1.0 if flip else 1.0
    return sign * matrix[index[0], index[1]] * y


def test_bool_int_array_and_2d_args():
    matrix = np.array([[1.0, 2.0], [3.0, 4.0]])
    for flip, index, rate in [(True, np.array([1, 0]), -3.0), (False, np.array([0, 1]), 2.0)]:
        res = fastode.solve_ivp(bool_and_int_array_args, (0.0, 0.5), [1.0],
                                args=(flip, index, matrix), **KW)
        np.testing.assert_allclose(res.y[0, -1], np.exp(rate * 0.5), rtol=1e-9)
    assert len(_compiled_entries(bool_and_int_array_args)) == 1


def huge_int_arg(t, y, k):
    return y * (k * k) * 1e-30


def test_compiled_result_checked_against_python():
    """numba's int64 overflows where Python's int does not: the compiled function is checked
    against the Python call at t0. With the int argument compiled as int64 it disagrees; the
    second layout fastode tries passes it as a float (exact below 2**53), which agrees and
    gives the right answer, so nothing falls back."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", fastode.FallbackWarning)
        res = fastode.solve_ivp(huge_int_arg, (0.0, 1.0), [1.0], args=(2 ** 40,), **KW)
    np.testing.assert_allclose(res.y[0, -1], np.exp(2.0 ** 80 * 1e-30), rtol=1e-9)


def overflow_int_only(t, y, k):
    return y * float((k * k) >> 79) - y  # a shift: int only; k * k overflows int64


def test_compiled_result_disagreeing_with_python_falls_back():
    """No layout agrees with Python at t0 (int64 overflow, and a float cannot do `&`): the
    Python function is used, with a warning, and the answer is Python's."""
    with pytest.warns(fastode.FallbackWarning, match="different values"):
        res = fastode.solve_ivp(overflow_int_only, (0.0, 1.0), [1.0], args=(2 ** 40 + 1,), **KW)
    # Python: (k * k) >> 79 == 2, so y' = y (int64 would give 0: y' = -y)
    np.testing.assert_allclose(res.y[0, -1], np.e, rtol=1e-6)


# ---- vectorized ----------------------------------------------------------------------------

def harmonic_vectorized(t, y):
    assert_shape = y.shape[1]  # (n, k) in, scipy's vectorized convention
    return np.vstack((y[1], -y[0] * assert_shape))


def test_vectorized():
    with warnings.catch_warnings():
        warnings.simplefilter("error", fastode.FallbackWarning)
        res = fastode.solve_ivp(harmonic_vectorized, (0.0, T_END), [1.0, 0.0], vectorized=True,
                                **KW)
    np.testing.assert_allclose(res.y[:, -1], HARMONIC_END, atol=1e-9)

    def python_vectorized(t, y):
        return np.vstack([y[1], -y[0]])  # a list: numba cannot type it -> Python path

    with pytest.warns(fastode.FallbackWarning):
        res = fastode.solve_ivp(python_vectorized, (0.0, T_END), [1.0, 0.0], vectorized=True,
                                **KW)
    np.testing.assert_allclose(res.y[:, -1], HARMONIC_END, atol=1e-9)


# ---- complex -------------------------------------------------------------------------------

def rotate(t, y, omega):
    return 1j * omega * y


def test_complex_compiled():
    with warnings.catch_warnings():
        warnings.simplefilter("error", fastode.FallbackWarning)
        res = fastode.solve_ivp(rotate, (0.0, 2.0), [1.0 + 0.5j, -1j], args=(1.5,), **KW)
    assert res.y.dtype == np.complex128
    np.testing.assert_allclose(res.y[:, -1], np.array([1.0 + 0.5j, -1j]) * np.exp(3j),
                               atol=1e-9)


# ---- the Python fallback ----------------------------------------------------------------------

SETTINGS = {"rate": 2.0}


def uses_dict(t, y):
    return -SETTINGS["rate"] * y


class Model:
    rate = 0.5

    def rhs(self, t, y):
        return np.array([-self.rate * y[0], self.rate * y[0]])


def test_fallback_one_warning_per_function():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = fastode.solve_ivp(uses_dict, (0.0, 1.0), [1.0], **KW)
        second = fastode.solve_ivp(uses_dict, (0.0, 1.0), [2.0], **KW)
        third = fastode.solve_ivp(uses_dict, (0.0, 2.0), [1.0], method="DOP853", **KW)
    fallback = [w for w in caught if issubclass(w.category, fastode.FallbackWarning)]
    assert len(fallback) == 1
    message = str(fallback[0].message)
    assert "could not compile" in message and "slower" in message
    assert "dict" in message  # says why
    np.testing.assert_allclose(first.y[0, -1], np.exp(-2.0), rtol=1e-9)
    np.testing.assert_allclose(second.y[0, -1], 2 * np.exp(-2.0), rtol=1e-9)
    np.testing.assert_allclose(third.y[0, -1], np.exp(-4.0), rtol=1e-9)
    # the Python value is used at run time (no compiled copy of the dict)
    SETTINGS["rate"] = 1.0
    try:
        res = fastode.solve_ivp(uses_dict, (0.0, 1.0), [1.0], **KW)
    finally:
        SETTINGS["rate"] = 2.0
    np.testing.assert_allclose(res.y[0, -1], np.exp(-1.0), rtol=1e-9)


def test_fallback_bound_method_and_object_args():
    model = Model()
    with pytest.warns(fastode.FallbackWarning):
        res = fastode.solve_ivp(model.rhs, (0.0, 1.0), [1.0, 0.0], **KW)
    np.testing.assert_allclose(res.y[:, -1], [np.exp(-0.5), 1 - np.exp(-0.5)], rtol=1e-9)

    def with_object(t, y, model):
        return -model.rate * y

    with pytest.warns(fastode.FallbackWarning, match="args"):
        res = fastode.solve_ivp(with_object, (0.0, 1.0), [1.0], args=(model,), **KW)
    np.testing.assert_allclose(res.y[0, -1], np.exp(-0.5), rtol=1e-9)


def test_python_callback_exception_propagates():
    calls = []

    def fails_later(t, y):
        calls.append(t)
        if t > 0.5:
            raise RuntimeError("rhs failed at t > 0.5")
        return -y

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastode.FallbackWarning)
        with pytest.raises(RuntimeError, match="rhs failed"):
            fastode.solve_ivp(fails_later, (0.0, 2.0), [1.0])
    assert max(calls) > 0.5


# ---- failures inside compiled code -------------------------------------------------------------

def nan_after_half(t, y):
    if t > 0.5:
        return np.array([np.nan, y[1]])
    return np.array([y[1], -y[0]])


def inf_after_half(t, y):
    if t > 0.5:
        return np.array([y[1], -np.inf])
    return np.array([y[1], -y[0]])


@numba.njit
def raises_after_half(t, y):
    if t > 0.5:
        raise ValueError("compiled rhs failed")
    return np.array([y[1], -y[0]])


@pytest.mark.parametrize("fun", [nan_after_half, inf_after_half], ids=lambda f: f.__name__)
@pytest.mark.parametrize("method", ["RK45", "DOP853", "Vern7", "rk4"])
def test_compiled_failure_mid_integration(fun, method):
    """NaN/inf stops the integration: status -1, success False, a message, and the solution
    up to the failure. Not a hang, not a crash."""
    kw = dict(step=0.01) if method == "rk4" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", fastode.FallbackWarning)
        res = fastode.solve_ivp(fun, (0.0, 2.0), [1.0, 0.0], method=method, **kw)
    assert res.status == -1 and not res.success
    assert "non-finite" in res.message
    assert 0.3 < res.t[-1] <= 0.5
    assert np.all(np.isfinite(res.y))
    np.testing.assert_allclose(res.y[0], np.cos(res.t), atol=1e-2)


@pytest.mark.parametrize("method", ["RK45", "DOP853", "Vern7", "rk4"])
def test_compiled_exception_mid_integration_is_reraised(method, capfd):
    """An exception of a numba @njit fun inside the kernel is re-raised after it, as scipy
    would (tests/test_user_errors.py has the other methods and functions)."""
    kw = dict(step=0.01) if method == "rk4" else {}
    with pytest.raises(ValueError, match="compiled rhs failed"):
        fastode.solve_ivp(raises_after_half, (0.0, 2.0), [1.0, 0.0], method=method, **kw)
    assert "Exception ignored" not in capfd.readouterr().err


def nan_at_start(t, y):
    return np.array([np.nan, 1.0])


def test_nan_at_t0():
    res = fastode.solve_ivp(nan_at_start, (0.0, 1.0), [1.0, 0.0])
    assert res.status == -1 and not res.success
    assert res.t.tolist() == [0.0]
    np.testing.assert_array_equal(res.y[:, 0], [1.0, 0.0])


# ---- compile once ------------------------------------------------------------------------------

def test_new_rhs_does_not_recompile_the_kernel():
    fastode.solve_ivp(harmonic_array, (0.0, 1.0), [1.0, 0.0])
    n_before = len(explicit_rk_solve.signatures)

    def brand_new(t, y):
        return np.array([-3.0 * y[0]])

    res = fastode.solve_ivp(brand_new, (0.0, 1.0), [1.0], **KW)
    np.testing.assert_allclose(res.y[0, -1], np.exp(-3.0), rtol=1e-9)
    assert len(explicit_rk_solve.signatures) == n_before
    # the compiled RHS is cached per function: a second solve does not compile it again
    entry = _compiled_entries(brand_new)[0]
    fastode.solve_ivp(brand_new, (0.0, 2.0), [5.0], **KW)
    assert _compiled_entries(brand_new) == [entry]
