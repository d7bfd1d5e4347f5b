"""User code is read at call time (docs/design.md, "User code read at call time"; fastode.usercode):
numeric module globals and closure cells are values of this call, not constants frozen at the
first compile; the same code object never compiles twice; plain Python helpers are compiled with
the function that calls them; what cannot compile warns once, naming the line."""
import warnings

import numpy as np
import pytest

import fastode
import fastode.rhs
from fastode.rhs import FallbackWarning

KW = dict(rtol=1e-10, atol=1e-12)

RATE = 1.0
RATES = np.array([1.0, 2.0])
N_TERMS = 1
FLIP = False
COEFFS = (1.0, 0.0)
RATE32 = np.float32(1.0)
LEVEL = 0.5
SETTINGS = {"rate": 1.0}


@pytest.fixture
def no_fallback():
    with warnings.catch_warnings():
        warnings.simplefilter("error", FallbackWarning)
        yield


@pytest.fixture
def count_compiles(monkeypatch):
    """The number of cfuncs fastode compiles (fastode.rhs._compile) while the test runs."""
    calls = []
    real = fastode.rhs._compile

    def counting(*a, **k):
        calls.append(a[2])
        return real(*a, **k)

    monkeypatch.setattr(fastode.rhs, "_compile", counting)
    return calls


def _final(fun, y0=(1.0,), t1=1.0, **kw):
    return fastode.solve_ivp(fun, (0.0, t1), list(y0), **KW, **kw).y[:, -1]


# ---- 1. numeric globals and closure cells are read at call time ---------------------------------

def decay_global(t, y):
    return -RATE * y


def test_module_global_read_at_call_time(no_fallback):
    global RATE
    try:
        RATE = 1.0
        np.testing.assert_allclose(_final(decay_global), [np.exp(-1.0)], rtol=1e-8)
        RATE = 2.0
        np.testing.assert_allclose(_final(decay_global), [np.exp(-2.0)], rtol=1e-8)
    finally:
        RATE = 1.0


def decay_array_int_bool(t, y):
    s = 0.0
    for i in range(N_TERMS):
        s += RATES[i]
    return (1.0 if FLIP else -1.0) * s * y


def test_array_int_bool_globals_read_at_call_time(no_fallback):
    global RATES, N_TERMS, FLIP
    try:
        np.testing.assert_allclose(_final(decay_array_int_bool), [np.exp(-1.0)], rtol=1e-8)
        N_TERMS = 2  # 1 + 2
        np.testing.assert_allclose(_final(decay_array_int_bool), [np.exp(-3.0)], rtol=1e-8)
        RATES[1] = 0.5  # changed in place: 1 + 0.5
        np.testing.assert_allclose(_final(decay_array_int_bool), [np.exp(-1.5)], rtol=1e-8)
        FLIP = True
        np.testing.assert_allclose(_final(decay_array_int_bool), [np.exp(1.5)], rtol=1e-8)
        RATES = np.array([0.25, 0.25, 7.0])  # a new array of another length
        np.testing.assert_allclose(_final(decay_array_int_bool), [np.exp(0.5)], rtol=1e-8)
    finally:
        RATES, N_TERMS, FLIP = np.array([1.0, 2.0]), 1, False


def test_closure_cell_read_at_call_time(no_fallback):
    k = 1.0

    def decay(t, y):
        return -k * y

    np.testing.assert_allclose(_final(decay), [np.exp(-1.0)], rtol=1e-8)
    k = 2.0  # the same function object, a new value in its cell
    np.testing.assert_allclose(_final(decay), [np.exp(-2.0)], rtol=1e-8)


def decay_tuple_float32(t, y):
    return -(COEFFS[0] + COEFFS[1]) * RATE32 * y


def test_values_that_do_not_pack_are_keyed_not_frozen():
    """A tuple or a float32 global cannot be a float64 run-time value: a new value compiles a new
    copy (never the stale one)."""
    global COEFFS, RATE32
    try:
        np.testing.assert_allclose(_final(decay_tuple_float32), [np.exp(-1.0)], rtol=1e-6)
        COEFFS = (1.0, 1.0)
        np.testing.assert_allclose(_final(decay_tuple_float32), [np.exp(-2.0)], rtol=1e-6)
        RATE32 = np.float32(0.5)
        np.testing.assert_allclose(_final(decay_tuple_float32), [np.exp(-1.0)], rtol=1e-6)
    finally:
        COEFFS, RATE32 = (1.0, 0.0), np.float32(1.0)


def rate_helper(y):
    return -RATE * y


def decay_via_helper(t, y):
    return rate_helper(y)


def test_helper_global_read_at_call_time(no_fallback):
    global RATE
    try:
        np.testing.assert_allclose(_final(decay_via_helper), [np.exp(-1.0)], rtol=1e-8)
        RATE = 3.0
        np.testing.assert_allclose(_final(decay_via_helper), [np.exp(-3.0)], rtol=1e-8)
    finally:
        RATE = 1.0


def stiff_decay(t, y):
    return -RATE * y


def stiff_decay_jac(t, y):
    return np.array([[-RATE]])


def crossing(t, y):
    return y[0] - LEVEL


@pytest.mark.parametrize("method", ["Radau", "BDF", "LSODA"])
def test_jac_and_events_read_globals_at_call_time(method, no_fallback):
    global RATE, LEVEL
    try:
        for rate, level in [(1.0, 0.5), (2.0, 0.25)]:
            RATE, LEVEL = rate, level
            res = fastode.solve_ivp(stiff_decay, (0.0, 1.0), [1.0], method=method,
                                    jac=stiff_decay_jac, events=crossing, **KW)
            np.testing.assert_allclose(res.y[0, -1], np.exp(-rate), rtol=1e-6)
            np.testing.assert_allclose(res.t_events[0], [np.log(1.0 / level) / rate],
                                       rtol=1e-6)
    finally:
        RATE, LEVEL = 1.0, 0.5


def decay_params_global(t, y, p):
    return -RATE * p[0] * y


def test_ensemble_reads_globals_at_call_time(no_fallback):
    global RATE
    params = np.array([[1.0], [2.0]])
    try:
        for rate in (1.0, 2.0):
            RATE = rate
            res = fastode.solve_ensemble(decay_params_global, (0.0, 1.0), [1.0], params=params,
                                         save="final", **KW)
            np.testing.assert_allclose(res.y[:, 0], np.exp(-rate * params[:, 0]), rtol=1e-8)
    finally:
        RATE = 1.0


# ---- 2. the same code with new captured numbers reuses its compiled copy ------------------------

def test_lambda_in_a_loop_compiles_once(count_compiles, no_fallback):
    for k in [1.5, 2.5, 3.5, 4.5, 5.5]:
        res = fastode.solve_ivp(lambda t, y: -k * y, (0.0, 1.0), [1.0], **KW)
        np.testing.assert_allclose(res.y[0, -1], np.exp(-k), rtol=1e-8)
    assert len(count_compiles) == 1


def make_rhs(a, b):
    def rhs(t, y):
        return np.array([a * y[1], -b * y[0]])
    return rhs


def test_closure_factory_compiles_once(count_compiles, no_fallback):
    for w in [1.0, 2.0, 3.0]:
        y = _final(make_rhs(w, w), y0=(0.0, 1.0))
        np.testing.assert_allclose(y, [np.sin(w), np.cos(w)], atol=1e-8)
    assert len(count_compiles) == 1


# ---- 3. helpers are compiled with the function; the fallback names the line ---------------------

def stack_helper(y, a):
    return np.hstack((a * y[:1], -a * y[1:]))


def uses_stack_helper(t, y, a):
    return stack_helper(y, a)


def test_plain_helper_compiles(no_fallback):
    y = fastode.solve_ivp(uses_stack_helper, (0.0, 1.0), [1.0, 1.0], args=(0.5,), **KW).y[:, -1]
    np.testing.assert_allclose(y, [np.exp(0.5), np.exp(-0.5)], rtol=1e-8)


def sys3(t, w, omega, k, zfinal):
    x, y, z = w
    return [-omega * y, omega * x, k * z * (1 - z)]


def sys3_jac(t, w, omega, k, zfinal):
    x, y, z = w
    return np.array([[0.0, -omega, 0.0], [omega, 0.0, 0.0], [0.0, 0.0, k * (1 - 2 * z)]])


def sys3_x0decreasing(t, w, omega, k, zfinal):
    return w[0]


def sys3_zfinal(t, w, omega, k, zfinal):
    return w[2] - zfinal


def test_scipy_test_args_pattern(no_fallback):
    """scipy's test_args (test_ivp.py): module-level functions with args, jac and events."""
    sys3_x0decreasing.direction = -1
    sys3_zfinal.terminal = True
    omega, k, tfinal, zfinal = 2, 4, 5, 0.99
    z0 = np.exp(-k * tfinal) / ((1 - zfinal) / zfinal + np.exp(-k * tfinal))
    sol = fastode.solve_ivp(sys3, [0, 2 * tfinal], [0, -1, z0], method="Radau", jac=sys3_jac,
                            events=[sys3_x0decreasing, sys3_zfinal], args=(omega, k, zfinal),
                            rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(sol.t_events[0], [0.5 * np.pi, 1.5 * np.pi])
    np.testing.assert_allclose(sol.t_events[1], [tfinal])
    np.testing.assert_allclose(sol.t[-1], tfinal)


def uses_dict(t, y):
    return -SETTINGS["rate"] * y  # the line the warning names


def test_fallback_warning_names_file_line_and_what_to_change():
    with pytest.warns(FallbackWarning) as caught:
        y = _final(uses_dict)
    np.testing.assert_allclose(y, [np.exp(-1.0)], rtol=1e-8)
    message = str([w for w in caught if w.category is FallbackWarning][0].message)
    line = uses_dict.__code__.co_firstlineno + 1
    assert f"test_user_code.py:{line}" in message
    assert "SETTINGS" in message and "to compile it" in message


# ---- 4. the fallback stays no slower than scipy -------------------------------------------------

def test_large_fallback_on_the_dense_path_runs_scipys_solver(monkeypatch):
    """A RHS numba cannot compile (a scipy.sparse product) on a system too large for fastode's
    dense LU (a periodic Laplacian has no band): scipy's own BDF/Radau runs the solve (sparse LU;
    measured 60x faster at 2048 states, bench/fallback.py), never fastode's dense kernel."""
    import scipy.integrate
    import scipy.sparse as sp
    import fastode.ivp_implicit as implicit
    from fastode.results import OdeResult

    m = 256
    lap = sp.diags([np.ones(m - 1), -2 * np.ones(m), np.ones(m - 1)], [-1, 0, 1]).tolil()
    lap[0, m - 1] = lap[m - 1, 0] = 1.0
    lap = (0.5 * m * m * lap).tocsr()

    def fun(t, y):
        return lap @ y - y ** 3

    from fastode.kernels.family import MethodDriver

    def dense_kernel(*args):
        raise AssertionError("fastode's dense kernel ran a large fallback solve")

    for name in ("bdf", "radau_iia_5"):
        monkeypatch.setitem(implicit.DRIVERS, name, MethodDriver(name, dense_kernel))
    y0 = 1.0 + 0.5 * np.sin(2 * np.pi * np.arange(m) / m)
    for method in ("BDF", "Radau"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FallbackWarning)
            res = fastode.solve_ivp(fun, (0.0, 0.5), y0, method=method, jac_sparsity=lap != 0,
                                    t_eval=[0.25, 0.5], rtol=1e-6, atol=1e-9)
        theirs = scipy.integrate.solve_ivp(fun, (0.0, 0.5), y0, method=method,
                                           jac_sparsity=lap != 0, t_eval=[0.25, 0.5],
                                           rtol=1e-6, atol=1e-9)
        assert res.success and isinstance(res, OdeResult)
        np.testing.assert_allclose(res.y, theirs.y, rtol=1e-8, atol=1e-12)
        assert res.nfev == theirs.nfev and res.nlu == theirs.nlu


def test_function_without_source_compiles_and_is_never_stale():
    # `python -c`, exec, some notebooks: no source for the run-time copy; the function is
    # compiled as it is, its globals keyed by value (it fell back to Python before)
    namespace = {"np": np, "K": 2.0}
    exec("def no_source(t, y):\n    return -K * y\n", namespace)
    fun = namespace["no_source"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", fastode.FallbackWarning)
        res = fastode.solve_ivp(fun, (0.0, 1.0), [1.0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(res.y[0, -1], np.exp(-2.0), rtol=1e-8)
        namespace["K"] = 1.0
        res = fastode.solve_ivp(fun, (0.0, 1.0), [1.0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(res.y[0, -1], np.exp(-1.0), rtol=1e-8)
