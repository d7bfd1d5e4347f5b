"""Bad input to fastode.solve_ivp: clear errors naming the argument, raised before anything is
compiled; failed integrations return success=False, a message and the partial solution."""
import warnings

import numpy as np
import pytest
import scipy.integrate

import fastode
import fastode.ivp_common
import fastode.ivp_explicit
import fastode.rhs
from conftest import harmonic

EPS = np.finfo(float).eps


def decay(t, y):
    return -y


@pytest.fixture
def no_compile(monkeypatch):
    """Fail the test if anything is compiled or integrated."""
    def forbidden(*args, **kwargs):
        raise AssertionError("compiled or ran a kernel before rejecting the input")

    monkeypatch.setattr(fastode.ivp_common, "compile_rhs", forbidden)
    monkeypatch.setattr(fastode.ivp_explicit, "compile_event", forbidden)
    monkeypatch.setattr(fastode.ivp_explicit, "explicit_rk_solve", forbidden)
    monkeypatch.setattr(fastode.rhs, "_compile", forbidden)


def _fresh_decay():
    """A new function object (nothing cached for it)."""
    def fun(t, y):
        return -y
    return fun


BAD_INPUT = {
    # id: (kwargs for solve_ivp over defaults, exception, text the message must contain)
    "fun not callable": (dict(fun=3.0), TypeError, "`fun`"),
    "fun None": (dict(fun=None), TypeError, "`fun`"),
    "t_span 3 values": (dict(t_span=(0.0, 1.0, 2.0)), ValueError, "`t_span`"),
    "t_span 1 value": (dict(t_span=(0.0,)), ValueError, "`t_span`"),
    "t_span scalar": (dict(t_span=1.0), ValueError, "`t_span`"),
    "t_span nan": (dict(t_span=(np.nan, 1.0)), ValueError, "`t_span`"),
    "t_span infinite start": (dict(t_span=(-np.inf, 1.0)), ValueError, "`t_span`"),
    "t_span nan end": (dict(t_span=(0.0, np.nan)), ValueError, "`t_span`"),
    "t_span text": (dict(t_span=("a", "b")), ValueError, "`t_span`"),
    "y0 2-D": (dict(y0=[[1.0, 2.0]]), ValueError, "`y0`"),
    "y0 nan": (dict(y0=[1.0, np.nan]), ValueError, "`y0`"),
    "y0 inf": (dict(y0=[np.inf]), ValueError, "`y0`"),
    "y0 text": (dict(y0=["a"]), TypeError, "`y0`"),
    "y0 objects": (dict(y0=[object()]), TypeError, "`y0`"),
    "y0 None": (dict(y0=None), TypeError, "`y0`"),
    "rtol negative": (dict(rtol=-1e-3), ValueError, "`rtol`"),
    "rtol nan": (dict(rtol=np.nan), ValueError, "`rtol`"),
    "rtol wrong shape": (dict(rtol=[1e-3, 1e-3, 1e-3]), ValueError, "`rtol`"),
    "atol wrong shape": (dict(atol=[1e-6, 1e-6, 1e-6]), ValueError, "`atol`"),
    "atol 2-D": (dict(atol=[[1e-6, 1e-6]]), ValueError, "`atol`"),
    "atol negative": (dict(atol=-1e-6), ValueError, "`atol`"),
    "atol negative entry": (dict(atol=[1e-6, -1e-6]), ValueError, "`atol`"),
    "t_eval unsorted": (dict(t_eval=[0.5, 0.2]), ValueError, "`t_eval`"),
    "t_eval repeated": (dict(t_eval=[0.2, 0.2]), ValueError, "`t_eval`"),
    "t_eval outside": (dict(t_eval=[0.5, 2.0]), ValueError, "`t_eval`"),
    "t_eval before t0": (dict(t_eval=[-0.1, 0.5]), ValueError, "`t_eval`"),
    "t_eval 2-D": (dict(t_eval=[[0.5, 0.6]]), ValueError, "`t_eval`"),
    "t_eval nan": (dict(t_eval=[0.5, np.nan]), ValueError, "`t_eval`"),
    "t_eval ascending backward": (dict(t_span=(1.0, 0.0), t_eval=[0.2, 0.5]), ValueError,
                                  "`t_eval`"),
    # more than 16 points: the numpy checks (validate_t_eval's fast path for sorted arrays)
    "long t_eval nan inside": (dict(t_eval=np.where(np.arange(40) == 20, np.nan,
                                                    np.linspace(0.0, 1.0, 40))),
                               ValueError, "`t_eval` must be finite"),
    "long t_eval unsorted inside": (dict(t_eval=np.linspace(0.0, 1.0, 40)[
        np.r_[0:20, 21, 20, 22:40]]), ValueError, "not properly sorted"),
    "long t_eval repeated inside": (dict(t_eval=np.linspace(0.0, 1.0, 40)[
        np.r_[0:21, 20, 21:39]]), ValueError, "not properly sorted"),
    "long t_eval outside": (dict(t_eval=np.linspace(0.0, 1.5, 40)), ValueError, "not within"),
    "long t_eval before t0": (dict(t_eval=np.linspace(-0.1, 1.0, 40)), ValueError,
                              "not within"),
    "long t_eval ascending backward": (dict(t_span=(1.0, 0.0),
                                            t_eval=np.linspace(0.0, 1.0, 40)),
                                       ValueError, "not properly sorted"),
    "long t_eval descending nan inside": (dict(t_span=(1.0, 0.0), t_eval=np.where(
        np.arange(40) == 7, np.nan, np.linspace(1.0, 0.0, 40))), ValueError,
        "`t_eval` must be finite"),
    "long t_eval ends at inf": (dict(t_span=(0.0, np.inf), max_steps=10,
                                     t_eval=np.r_[np.linspace(0.0, 1.0, 39), np.inf]),
                                ValueError, "`t_eval` must be finite"),
    "long t_eval ends at -inf": (dict(t_span=(0.0, -np.inf), max_steps=10,
                                      t_eval=np.r_[np.linspace(0.0, -1.0, 39), -np.inf]),
                                 ValueError, "`t_eval` must be finite"),
    "long t_eval 2-D": (dict(t_eval=np.linspace(0.0, 1.0, 40).reshape(2, 20)), ValueError,
                        "`t_eval`"),
    "method unknown": (dict(method="RK99"), ValueError, "`method`"),
    "method not a string": (dict(method=3), TypeError, "`method`"),
    "fixed step without step": (dict(method="rk4"), ValueError, "step"),
    "step on adaptive": (dict(step=0.1), ValueError, "`step`"),
    "step negative": (dict(method="euler", step=-0.1), ValueError, "`step`"),
    "step text": (dict(method="euler", step="0.1"), TypeError, "`step`"),
    "max_step zero": (dict(max_step=0.0), ValueError, "`max_step`"),
    "max_step negative": (dict(max_step=-1.0), ValueError, "`max_step`"),
    "max_step nan": (dict(max_step=np.nan), ValueError, "`max_step`"),
    "first_step zero": (dict(first_step=0.0), ValueError, "`first_step`"),
    "first_step negative": (dict(first_step=-0.1), ValueError, "`first_step`"),
    "first_step beyond span": (dict(first_step=2.0), ValueError, "`first_step`"),
    "first_step inf": (dict(first_step=np.inf), ValueError, "`first_step`"),
    "min_step negative": (dict(min_step=-1.0), ValueError, "`min_step`"),
    "max_steps zero": (dict(max_steps=0), ValueError, "`max_steps`"),
    "max_steps float": (dict(max_steps=10.5), ValueError, "`max_steps`"),
    "event_samples zero": (dict(event_samples=0), ValueError, "`event_samples`"),
    "args scalar": (dict(args=2.0), TypeError, "`args`"),
    "args string": (dict(args="ab"), TypeError, "`args`"),
    "event not callable": (dict(events=[3.0]), TypeError, "`events[0]`"),
    "second event not callable": (dict(events=[harmonic, "x"]), TypeError, "`events[1]`"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_rejected_before_compiling(case, no_compile):
    changes, exc, text = BAD_INPUT[case]
    kwargs = dict(fun=_fresh_decay(), t_span=(0.0, 1.0), y0=[1.0, 2.0])
    kwargs.update(changes)
    fun, t_span, y0 = kwargs.pop("fun"), kwargs.pop("t_span"), kwargs.pop("y0")
    with pytest.raises(exc) as info:
        fastode.solve_ivp(fun, t_span, y0, **kwargs)
    assert text in str(info.value)


def test_long_t_eval_accepted_as_given():
    """A valid t_eval of more than 16 points (either direction) is used as it is, its end points
    included: the fast path rejects nothing valid."""
    for t_span, t_eval in (((0.0, 1.0), np.linspace(0.0, 1.0, 40)),
                           ((1.0, 0.0), np.linspace(1.0, 0.0, 40)),
                           ((0.0, 1.0), np.linspace(0.2, 0.7, 17)[::1].copy()),
                           ((0.0, 1.0), np.linspace(0.0, 1.0, 80)[::2])):  # not contiguous
        res = fastode.solve_ivp(decay, t_span, [1.0, 2.0], t_eval=t_eval, rtol=1e-8, atol=1e-10)
        assert res.success
        np.testing.assert_array_equal(res.t, t_eval)
        np.testing.assert_allclose(res.y[0], np.exp(-(t_eval - t_span[0])), rtol=1e-6)


class _Event:
    def __init__(self, terminal=False, direction=0.0):
        self.terminal = terminal
        self.direction = direction

    def __call__(self, t, y):
        return y[0]


@pytest.mark.parametrize("terminal", ["yes", -1, 1.5])
def test_bad_terminal(terminal, no_compile):
    with pytest.raises(ValueError, match="terminal"):
        fastode.solve_ivp(_fresh_decay(), (0.0, 1.0), [1.0], events=_Event(terminal=terminal))


@pytest.mark.parametrize("direction", ["up", np.nan, np.inf])
def test_bad_direction(direction, no_compile):
    with pytest.raises(ValueError, match="direction"):
        fastode.solve_ivp(_fresh_decay(), (0.0, 1.0), [1.0], events=_Event(direction=direction))


def test_fun_wrong_shape():
    def wrong(t, y):
        return np.array([1.0, 2.0, 3.0])

    with pytest.raises(ValueError, match=r"`fun` returned shape \(3,\); expected \(2,\)"):
        fastode.solve_ivp(wrong, (0.0, 1.0), [1.0, 2.0])

    def matrix(t, y):
        return np.ones((2, 2))

    with pytest.raises(ValueError, match="`fun`"):
        fastode.solve_ivp(matrix, (0.0, 1.0), [1.0, 2.0])

    def text(t, y):
        return "dy"

    with pytest.raises(ValueError, match="`fun`"):
        fastode.solve_ivp(text, (0.0, 1.0), [1.0, 2.0])


def test_fun_raising_at_t0():
    def broken(t, y):
        return y / undefined_name  # noqa: F821

    with pytest.raises(ValueError, match="`fun` raised NameError") as info:
        fastode.solve_ivp(broken, (0.0, 1.0), [1.0])
    assert isinstance(info.value.__cause__, NameError)


def test_fun_with_wrong_args():
    def needs_two(t, y, a, b):
        return -a * b * y

    with pytest.raises(ValueError, match="`fun` raised TypeError"):
        fastode.solve_ivp(needs_two, (0.0, 1.0), [1.0], args=(1.0,))


def test_rtol_between_eps_and_100_eps_warns():
    with pytest.warns(UserWarning, match="`rtol` is too small"):
        res = fastode.solve_ivp(decay, (0.0, 1.0), [1.0], rtol=10 * EPS, atol=1e-14)
    assert res.success
    np.testing.assert_allclose(res.y[0, -1], np.exp(-1.0), rtol=1e-12)
    with pytest.warns(UserWarning, match="`rtol` is too small"):
        fastode.solve_ivp(decay, (0.0, 1.0), [1.0], rtol=np.array([1e-6]) * 1e-9)
    # exactly 100 eps is fine
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fastode.solve_ivp(decay, (0.0, 1.0), [1.0], rtol=100 * EPS)


def test_unknown_options_warn_like_scipy():
    with pytest.warns(UserWarning, match="The following arguments have no effect for a chosen "
                                         "solver: `rotl`."):
        res = fastode.solve_ivp(decay, (0.0, 1.0), [1.0], rotl=1e-8)
    assert res.success
    # options of scipy's implicit methods are accepted and ignored, with the same warning
    with pytest.warns(UserWarning, match="`jac`"):
        fastode.solve_ivp(decay, (0.0, 1.0), [1.0], jac=lambda t, y: -np.eye(1))
    # known options do not warn
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fastode.solve_ivp(decay, (0.0, 1.0), [1.0], rtol=1e-6, atol=1e-9, first_step=0.1,
                          max_step=0.5, min_step=0.0, max_steps=10 ** 6, event_samples=8)


def test_scalar_rtol_atol_types_accepted():
    for rtol, atol in [(1e-6, 1e-9), (np.float32(1e-6), 1e-9), (1e-6, 0), ([1e-6, 1e-7],
                                                                           [1e-9, 1e-10])]:
        res = fastode.solve_ivp(decay, (0.0, 1.0), [1.0, 2.0], rtol=rtol, atol=atol)
        assert res.success
        np.testing.assert_allclose(res.y[:, -1], np.exp(-1.0) * np.array([1.0, 2.0]),
                                   rtol=1e-5)


def test_integer_and_scalar_y0():
    res = fastode.solve_ivp(decay, (0, 1), 1, rtol=1e-10, atol=1e-12)  # ints, scalar y0
    assert res.y.shape == (1, res.t.size) and res.y.dtype == np.float64
    np.testing.assert_allclose(res.y[0, -1], np.exp(-1.0), rtol=1e-9)


# ---- failed integrations ----------------------------------------------------------------------

def blow_up(t, y):
    return y * y


@pytest.mark.scipy_compare
@pytest.mark.parametrize("method", ["RK45", "DOP853", "RK23"])
def test_blow_up_returns_partial_solution(method):
    """y' = y^2, y(0) = 1 is 1/(1 - t): it blows up at t = 1. The step size collapses there:
    status -1, the step-size message, and the solution up to that point (as scipy's).

    scipy fails the same way; its steps are not compared (its error norm goes through BLAS,
    whose last bits differ per CPU: the step-for-step agreement is test_scipy_exact)."""
    kw = dict(method=method, rtol=1e-8, atol=1e-10)
    res = fastode.solve_ivp(blow_up, (0.0, 2.0), [1.0], **kw)
    assert not res.success and res.status == -1
    assert res.message == "Required step size is less than spacing between numbers."
    assert abs(res.t[-1] - 1.0) < 1e-6
    assert res.y[0, -1] > 1e10
    assert res.t.size == res.y.shape[1] > 10
    # the partial solution is right (up to where 1/(1 - t) is still well conditioned)
    early = res.t < 0.999
    np.testing.assert_allclose(res.y[0, early], 1.0 / (1.0 - res.t[early]), rtol=1e-4)
    theirs = scipy.integrate.solve_ivp(blow_up, (0.0, 2.0), [1.0], **kw)
    assert theirs.status == -1 and theirs.message == res.message
    assert abs(theirs.t[-1] - 1.0) < 1e-6


def test_blow_up_fixed_step_reports_non_finite():
    res = fastode.solve_ivp(blow_up, (0.0, 2.0), [1.0], method="rk4", step=0.01)
    assert not res.success and res.status == -1
    assert "non-finite" in res.message
    assert 1.0 <= res.t[-1] < 2.0
    assert np.all(np.isfinite(res.y))


def test_max_steps():
    res = fastode.solve_ivp(decay, (0.0, 10.0), [1.0], max_steps=5)
    assert res.status == -1 and not res.success
    assert "max_steps=5" in res.message
    assert res.naccept + res.nreject == 5
    assert res.t.size == res.naccept + 1 and res.t[-1] < 10.0
    np.testing.assert_allclose(res.y[0], np.exp(-res.t), rtol=1e-2)
    # enough steps: success
    assert fastode.solve_ivp(decay, (0.0, 10.0), [1.0], max_steps=1000).success


def test_min_step_too_large():
    res = fastode.solve_ivp(decay, (0.0, 10.0), [1.0], min_step=0.5, rtol=1e-8)
    assert res.status == -1 and not res.success
    assert "min_step" in res.message
    assert res.t[0] == 0.0 and res.t[-1] < 10.0
    # a min_step the solver never needs does not matter
    ok = fastode.solve_ivp(decay, (0.0, 10.0), [1.0], min_step=1e-8)
    plain = fastode.solve_ivp(decay, (0.0, 10.0), [1.0])
    assert ok.success
    np.testing.assert_array_equal(ok.t, plain.t)


@pytest.mark.scipy_compare
def test_step_size_collapse_returns_partial():
    """A singular right-hand side, y' = 1 / (t - 1), y = log(1 - t): the step collapses just
    before t = 1, as scipy's.

    Near the collapse the steps shrink geometrically and where the last one lands depends on
    the last bits of the error norm (scipy's goes through BLAS: 190-218 steps for scipy across
    OpenBLAS kernel sets, fastode 214 on every CPU), so scipy is compared by its outcome."""
    def singular(t, y):
        return np.array([1.0 / (t - 1.0)])

    res = fastode.solve_ivp(singular, (0.0, 2.0), [0.0], rtol=1e-8, atol=1e-10)
    assert not res.success and res.status == -1
    assert 1.0 - 1e-9 < res.t[-1] < 1.0
    early = res.t < 1.0 - 1e-6
    np.testing.assert_allclose(res.y[0, early], np.log(1.0 - res.t[early]), atol=1e-6)
    theirs = scipy.integrate.solve_ivp(singular, (0.0, 2.0), [0.0], rtol=1e-8, atol=1e-10)
    assert theirs.status == -1 and theirs.message == res.message
    assert 1.0 - 1e-9 < theirs.t[-1] < 1.0
