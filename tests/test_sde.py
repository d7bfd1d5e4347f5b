"""fastode.solve_sde: strong and weak order, Itô/Stratonovich, reproducibility, bad input.

The strong-order tests drive every method with the same Brownian path at several step sizes
(increments summed from a fine grid, and the integrals I_(1,0) combined exactly) and compare with
the exact solution on that path; the slope of log(error) against log(dt) is the strong order.
"""
import math

import numba
import numpy as np
import pytest

from fastode.kernels import status as st
from fastode.sde import solve_sde
from fastode.sde.random import normals

T = 1.0
FINE = 2 ** 10
LEVELS = (2 ** 3, 2 ** 4, 2 ** 5, 2 ** 6, 2 ** 7)
PATHS = 200


def gbm_f(t, y, mu, sigma):
    return mu * y


def gbm_g(t, y, mu, sigma):
    return sigma * y


def ou_f(t, y, a, b):
    return a * y


def ou_g(t, y, a, b):
    return b + 0.0 * y


def fine_brownian(seed=1, paths=PATHS, m=1):
    """Fine increments dW and I_(1,0) = int (W_s - W_t) ds on each fine step."""
    rng = np.random.default_rng(seed)
    h = T / FINE
    dw = rng.standard_normal((paths, FINE, m)) * math.sqrt(h)
    dz = rng.standard_normal((paths, FINE, m)) * math.sqrt(h)
    i10 = 0.5 * h * (dw + dz / math.sqrt(3.0))
    return dw, i10


def coarsen(dw, i10, steps):
    """Increments and I_(1,0) of ``steps`` equal steps, exactly from the fine ones."""
    paths, fine, m = dw.shape
    r = fine // steps
    hf = T / fine
    w = dw.reshape(paths, steps, r, m)
    # W at the start of each fine step, relative to the start of its coarse step
    before = np.cumsum(w, axis=2) - w
    big_i10 = (i10.reshape(paths, steps, r, m) + before * hf).sum(axis=2)
    return np.stack([w.sum(axis=2), big_i10], axis=-1)


def slope(dts, errors):
    return np.polyfit(np.log(dts), np.log(errors), 1)[0]


def strong_errors(method, f, g, args, exact, noise="diagonal", interpretation="ito"):
    dw, i10 = fine_brownian()
    order15 = method in ("SRIW1", "SOSRI", "SRA1", "SOSRA")
    errors = []
    for steps in LEVELS:
        inc = coarsen(dw, i10, steps)
        res = solve_sde(f, g, (0.0, T), [1.0], method=method, noise=noise, args=args,
                        n_paths=PATHS, dW=inc if order15 else inc[..., 0],
                        interpretation=interpretation)
        assert res.success
        errors.append(np.mean(np.abs(res.y[:, 0, -1] - exact(dw, i10))))
    return np.array(errors)


def gbm_exact(mu, sigma, stratonovich=False):
    drift = mu if stratonovich else mu - 0.5 * sigma ** 2
    return lambda dw, i10: np.exp(drift * T + sigma * dw[:, :, 0].sum(axis=1))


def ou_exact(a, b):
    """x(T) = e^{aT} + b int e^{a(T-s)} dW_s, the integral expanded on each fine step to
    first order in a (h dW - I_(1,0) = int (s - t) dW): error O(h_fine^2), far below the
    coarse levels' errors."""
    def exact(dw, i10):
        h = T / FINE
        tk = h * np.arange(FINE)
        w, i = dw[:, :, 0], i10[:, :, 0]
        return math.exp(a * T) + b * np.sum(np.exp(a * (T - tk)) * (w - a * (h * w - i)),
                                            axis=1)
    return exact


@pytest.mark.parametrize("method, order", [("EM", 0.5), ("milstein", 1.0), ("SRIW1", 1.5),
                                           ("SOSRI", 1.5)])
def test_strong_order_gbm(method, order):
    errors = strong_errors(method, gbm_f, gbm_g, (1.0, 0.5), gbm_exact(1.0, 0.5))
    dts = T / np.array(LEVELS)
    assert abs(slope(dts, errors) - order) < 0.2, (errors, slope(dts, errors))


@pytest.mark.parametrize("method, low, high", [("SRA1", 1.35, 2.3), ("SOSRA", 1.35, 2.3),
                                               ("SRIW1", 1.35, 2.3), ("EM", 0.8, 1.2)])
def test_strong_order_additive(method, low, high):
    """Additive noise: the order-1.5 methods reach at least 1.5 (on this linear drift the
    leading error term vanishes and they reach about 2), Euler-Maruyama only 1 (so the test
    tells the orders apart)."""
    errors = strong_errors(method, ou_f, ou_g, (-1.0, 0.5), ou_exact(-1.0, 0.5),
                           noise="additive")
    dts = T / np.array(LEVELS)
    assert low < slope(dts, errors) < high, (errors, slope(dts, errors))


def test_strong_order_scalar_noise_linear():
    """A 2-component linear SDE driven by one W (commuting diffusions): SRIW1 is order 1.5."""
    A = np.array([[-1.0, 0.0], [0.0, -2.0]])

    def f(t, y):
        return np.array([A[0, 0] * y[0], A[1, 1] * y[1]])

    def g(t, y):
        return np.array([0.3 * y[0], 0.6 * y[1]])
    dw, i10 = fine_brownian()
    W = dw[:, :, 0].sum(axis=1)
    exact = np.exp((-2.0 - 0.5 * 0.36) * T + 0.6 * W)
    errors = []
    for steps in LEVELS:
        res = solve_sde(f, g, (0.0, T), [1.0, 1.0], method="SRIW1", noise="scalar",
                        n_paths=PATHS, dW=coarsen(dw, i10, steps))
        errors.append(np.mean(np.abs(res.y[:, 1, -1] - exact)))
    assert abs(slope(T / np.array(LEVELS), errors) - 1.5) < 0.25, errors


def test_ito_stratonovich_conversion():
    """Stratonovich dX = aX dt + bX o dW is Itô dX = (a + b^2/2) X dt + bX dW: the Stratonovich
    solvers and the Itô solvers of the converted equation agree on one path, and with
    X0 exp(aT + b W_T)."""
    a, b = 0.5, 0.8
    dw, i10 = fine_brownian(paths=50)
    exact = np.exp(a * T + b * dw[:, :, 0].sum(axis=1))
    inc = coarsen(dw, i10, 256)
    heun = solve_sde(gbm_f, gbm_g, (0, T), [1.0], method="euler_heun", args=(a, b), n_paths=50,
                     dW=inc[..., 0], interpretation="stratonovich").y[:, 0, -1]
    mil_s = solve_sde(gbm_f, gbm_g, (0, T), [1.0], method="milstein", args=(a, b),
                      n_paths=50, dW=inc[..., 0], interpretation="stratonovich").y[:, 0, -1]
    mil_i = solve_sde(gbm_f, gbm_g, (0, T), [1.0], method="milstein", args=(a + b * b / 2, b),
                      n_paths=50, dW=inc[..., 0]).y[:, 0, -1]
    sri = solve_sde(gbm_f, gbm_g, (0, T), [1.0], method="SRIW1", args=(a + b * b / 2, b),
                    n_paths=50, dW=inc).y[:, 0, -1]
    for approx in (heun, mil_s, mil_i, sri):
        assert np.mean(np.abs(approx - exact) / exact) < 0.02
    # the Itô solvers of the unconverted drift are far off (the conversion matters)
    wrong = solve_sde(gbm_f, gbm_g, (0, T), [1.0], method="SRIW1", args=(a, b), n_paths=50,
                      dW=inc).y[:, 0, -1]
    assert np.mean(np.abs(wrong - exact) / exact) > 0.2


def test_weak_order_ou_moments():
    """Euler-Maruyama on OU: the errors of the mean and variance fall like dt (weak order 1);
    the order-1.5 methods match the exact moments. 20k paths from the Philox streams."""
    theta, mu, sigma, x0 = 1.0, 0.0, 0.5, 5.0

    def f(t, y):
        return -theta * (y - mu)

    def g(t, y):
        return sigma + 0.0 * y
    mean = mu + (x0 - mu) * math.exp(-theta * T)
    var = sigma ** 2 / (2 * theta) * (1 - math.exp(-2 * theta * T))
    paths = 20000
    mean_err, var_err = [], []
    dts = [0.2, 0.1, 0.05]
    for dt in dts:
        y = solve_sde(f, g, (0, T), [x0], method="EM", noise="additive", dt=dt, n_paths=paths,
                      seed=3).y[:, 0, -1]
        mean_err.append(abs(y.mean() - mean))
        var_err.append(abs(y.var() - var))
    assert abs(slope(dts, mean_err) - 1.0) < 0.25, mean_err
    assert abs(slope(dts, var_err) - 1.0) < 0.35, var_err
    for method in ("SRA1", "SOSRA", "SRIW1"):
        y = solve_sde(f, g, (0, T), [x0], method=method, noise="additive", dt=0.05,
                      n_paths=paths, seed=4).y[:, 0, -1]
        se_mean = math.sqrt(var / paths)
        assert abs(y.mean() - mean) < 4 * se_mean + 1e-3
        assert abs(y.var() - var) < 4 * var * math.sqrt(2 / paths) + 1e-3


def test_adaptive_rswm_accuracy():
    """Adaptive SRIW1 (rejection sampling with memory): rejected steps happen, the Brownian
    path stays Brownian (the GBM mean and variance of log X are right), and tighter
    tolerances take more steps."""
    mu, sigma = 1.0, 0.5
    loose = solve_sde(gbm_f, gbm_g, (0, T), [1.0], args=(mu, sigma), n_paths=4000, seed=5,
                      rtol=1e-2, atol=1e-2)
    tight = solve_sde(gbm_f, gbm_g, (0, T), [1.0], args=(mu, sigma), n_paths=4000, seed=5,
                      rtol=1e-4, atol=1e-4)
    assert loose.success and tight.success
    assert loose.nreject > 0
    assert tight.naccept > 2 * loose.naccept
    for res in (loose, tight):
        logx = np.log(res.y[:, 0, -1])
        assert abs(logx.mean() - (mu - sigma ** 2 / 2)) < 4 * sigma / math.sqrt(4000)
        assert abs(logx.var() - sigma ** 2) < 4 * sigma ** 2 * math.sqrt(2 / 4000)


def test_reproducible_across_threads_and_chunks():
    args = dict(args=(1.0, 0.5), seed=11, t_eval=[0.0, 0.5, 1.0])
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = solve_sde(gbm_f, gbm_g, (0, 1), [1.0], n_paths=8, **args)
        fixed_one = solve_sde(gbm_f, gbm_g, (0, 1), [1.0], method="EM", dt=0.01, n_paths=8,
                              **args)
        numba.set_num_threads(previous)
        two = solve_sde(gbm_f, gbm_g, (0, 1), [1.0], n_paths=8, **args)
        fixed_two = solve_sde(gbm_f, gbm_g, (0, 1), [1.0], method="EM", dt=0.01, n_paths=8,
                              **args)
    finally:
        numba.set_num_threads(previous)
    assert np.array_equal(one.y, two.y) and np.array_equal(fixed_one.y, fixed_two.y)
    # path k is the same whatever n_paths and wherever the chunk starts
    part = solve_sde(gbm_f, gbm_g, (0, 1), [1.0], n_paths=3, **args)
    tail = solve_sde(gbm_f, gbm_g, (0, 1), [1.0], n_paths=3, first_path=5, **args)
    assert np.array_equal(part.y, one.y[:3]) and np.array_equal(tail.y, one.y[5:8])
    assert np.array_equal(part.counters, one.counters[:3])
    assert len({float(v) for v in one.y[:, 0, -1]}) == 8  # the paths differ
    other = solve_sde(gbm_f, gbm_g, (0, 1), [1.0], n_paths=3, **{**args, "seed": 12})
    assert not np.array_equal(other.y, part.y)


def test_seed_reported_and_reused():
    res = solve_sde(gbm_f, gbm_g, (0, 1), [1.0], args=(1.0, 0.5), n_paths=2)
    again = solve_sde(gbm_f, gbm_g, (0, 1), [1.0], args=(1.0, 0.5), n_paths=2, seed=res.seed)
    assert np.array_equal(res.y, again.y)


def test_supplied_dw_reproduces_hand_written_em():
    rng = np.random.default_rng(2)
    n_steps, paths = 50, 4
    dw = rng.standard_normal((paths, n_steps, 2)) * math.sqrt(1.0 / n_steps)

    def f(t, y):
        return np.array([-y[0] + y[1], -2.0 * y[1]])

    def g(t, y):
        return np.array([0.3 * y[0], 0.1 + 0.0 * y[1]])
    res = solve_sde(f, g, (0, 1), [1.0, 2.0], method="EM", dW=dw, n_paths=paths, save="steps")
    y = np.tile(np.array([1.0, 2.0]), (paths, 1))
    h = 1.0 / n_steps
    for k in range(n_steps):
        fy = np.stack([-y[:, 0] + y[:, 1], -2.0 * y[:, 1]], axis=1)
        gy = np.stack([0.3 * y[:, 0], 0.1 + 0.0 * y[:, 1]], axis=1)
        y = y + h * fy + gy * dw[:, k, :]
        assert np.allclose(res.y[:, :, k + 1], y, rtol=1e-12, atol=1e-14)
    again = solve_sde(f, g, (0, 1), [1.0, 2.0], method="EM", dW=dw, n_paths=paths,
                      save="steps")
    assert np.array_equal(res.y, again.y)
    assert np.allclose(res.t, np.linspace(0, 1, n_steps + 1))


def test_one_path_result_as_many_paths():
    """One path (solve_sde's short path for the result) reports what the ensemble code does:
    counters, success and message, also for a failed path."""
    one = solve_sde(ou_f, ou_g, (0, 1), [1.0], args=(-1.0, 0.5), method="EM", dt=0.01, seed=3)
    three = solve_sde(ou_f, ou_g, (0, 1), [1.0], args=(-1.0, 0.5), method="EM", dt=0.01,
                      seed=3, n_paths=3)
    assert np.array_equal(one.y[0], three.y[0])
    assert one.success and one.message == "All 1 paths reached the end of the interval."
    assert (one.nfev, one.ngev, one.naccept, one.nreject) == (100, 100, 100, 0)
    assert type(one.nfev) is int and 3 * one.nfev == three.nfev

    def f(t, y):
        return np.array([np.nan if y[0] > 10.0 else -0.1 * y[0]])

    def g(t, y):
        return np.array([1.0])
    dw = np.full((1, 40, 1), 5.0)
    bad = solve_sde(f, g, (0, 1), [1.0], method="EM", noise="additive", dW=dw)
    assert bad.status.tolist() == [st.NON_FINITE] and not bad.success
    assert "1 of 1 paths failed" in bad.message


def test_drift_nan_fails_only_its_path():
    """A drift returning NaN: that path gets NON_FINITE and keeps its points before; the
    other paths are what they are without it."""
    def f(t, y):
        return np.array([np.nan if y[0] > 10.0 else -0.1 * y[0]])

    def g(t, y):
        return np.array([1.0])
    n_steps, paths = 40, 4
    dw = np.full((paths, n_steps, 1), 0.01)
    dw[2, 20:, 0] = 5.0  # path 2 jumps above 10 after step 22
    res = solve_sde(f, g, (0, 1), [1.0], method="EM", noise="additive", dW=dw, n_paths=paths,
                    save="steps")
    assert res.status.tolist() == [0, 0, st.NON_FINITE, 0] and not res.success
    assert "1 of 4 paths failed" in res.message and "path 2" in res.message
    good = np.isfinite(res.y[2, 0])
    assert good[:21].all() and not good[-1]  # kept up to the failure, NaN after
    clean = solve_sde(f, g, (0, 1), [1.0], method="EM", noise="additive",
                      dW=np.full((paths, n_steps, 1), 0.01), n_paths=paths, save="steps")
    assert np.array_equal(res.y[[0, 1, 3]], clean.y[[0, 1, 3]])
    assert np.array_equal(res.y[2, :, :21], clean.y[2, :, :21])


def test_philox_stream_normal():
    z = normals(123, 4, 200_000)
    assert abs(z.mean()) < 4 / math.sqrt(z.size)
    assert abs(z.var() - 1) < 4 * math.sqrt(2 / z.size)
    assert abs(np.mean(z ** 4) - 3) < 0.1
    assert abs(np.mean(np.abs(z) > 3) - 0.0027) < 0.0006  # the tails (ziggurat slow path)
    assert np.array_equal(normals(123, 4, 100), z[:100])
    assert not np.array_equal(normals(123, 5, 100), z[:100])


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(method="nope"), ValueError, ["method", "SRIW1"]),
    (dict(method=3), TypeError, ["method"]),
    (dict(method="SRA1"), ValueError, ["SRA1", "noise='diagonal'", "SRIW1"]),
    (dict(method="EM", interpretation="stratonovich", dt=0.1), ValueError,
     ["euler_heun", "milstein"]),
    (dict(method="euler_heun", dt=0.1), ValueError, ["stratonovich", "interpretation"]),
    (dict(method="EM"), ValueError, ["dt", "SRIW1"]),
    (dict(dt=-0.1), ValueError, ["dt"]),
    (dict(dt=0.0), ValueError, ["dt"]),
    (dict(rtol=-1.0), ValueError, ["rtol"]),
    (dict(n_paths=0), ValueError, ["n_paths"]),
    (dict(n_paths=2.5), TypeError, ["n_paths"]),
    (dict(seed=-1), ValueError, ["seed"]),
    (dict(seed="a"), TypeError, ["seed"]),
    (dict(noise="general"), ValueError, ["SRIW1", "noise='general'", "euler_maruyama",
                                         "euler_heun"]),
    (dict(noise="nope"), ValueError, ["noise"]),
    (dict(interpretation="x"), ValueError, ["interpretation"]),
    (dict(save="all"), ValueError, ["save"]),
    (dict(save="steps"), ValueError, ["save", "dt"]),
    (dict(t_eval=[0.5, 2.0]), ValueError, ["t_eval"]),
    (dict(dW=np.zeros((1, 10, 1))), ValueError, ["dW", "(1, 10, 1, 2)"]),
    (dict(method="EM", dW=np.zeros((2, 10, 1))), ValueError, ["dW", "(1, 10, 1)"]),
    (dict(method="EM", dt=0.1, dW=np.zeros((1, 7, 1))), ValueError, ["dW", "dt"]),
])
def test_bad_input(kwargs, error, words):
    with pytest.raises(error) as info:
        solve_sde(gbm_f, gbm_g, (0, 1), [1.0], args=(1.0, 0.5), **kwargs)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_bad_functions_and_state():
    with pytest.raises(ValueError, match="y0"):
        solve_sde(gbm_f, gbm_g, (0, 1), [np.nan], args=(1.0, 0.5))
    with pytest.raises(ValueError, match="t_span"):
        solve_sde(gbm_f, gbm_g, (1, 0), [1.0], args=(1.0, 0.5))
    with pytest.raises(ValueError, match=r"`diffusion` returned shape \(2, 2\).*noise='diagonal'"):
        solve_sde(lambda t, y: -y, lambda t, y: np.eye(2), (0, 1), [1.0, 1.0])
    with pytest.raises(ValueError, match=r"`drift` returned shape \(3,\)"):
        solve_sde(lambda t, y: np.zeros(3), lambda t, y: y, (0, 1), [1.0, 1.0])
    with pytest.raises(ValueError, match="additive.*depends on y"):
        solve_sde(lambda t, y: -y, lambda t, y: 0.1 * y, (0, 1), [1.0], method="SRA1",
                  noise="additive")
    with pytest.raises(ValueError, match="`drift` raised ZeroDivisionError"):
        solve_sde(lambda t, y: 1 / 0, lambda t, y: y, (0, 1), [1.0])
    with pytest.raises(ValueError, match="diffusion_derivative"):
        solve_sde(gbm_f, gbm_g, (0, 1), [1.0], args=(1.0, 0.5),
                  diffusion_derivative=lambda t, y, a, b: b + 0 * y)


def test_milstein_user_derivative_matches_finite_difference():
    dw, i10 = fine_brownian(paths=20)
    inc = coarsen(dw, i10, 32)[..., 0]
    fd = solve_sde(gbm_f, gbm_g, (0, T), [1.0], method="milstein", args=(1.0, 0.5),
                   n_paths=20, dW=inc)
    user = solve_sde(gbm_f, gbm_g, (0, T), [1.0], method="milstein", args=(1.0, 0.5),
                     n_paths=20, dW=inc, diffusion_derivative=lambda t, y, mu, s: s + 0 * y)
    assert np.allclose(fd.y, user.y, rtol=1e-6)
    assert user.ngev == fd.ngev // 2


def test_parameter_sets():
    """params: every set's paths are what a solve with args=(row,) gives (common random
    numbers: the same Brownian paths for every set), or with common_noise=False the streams
    of the paths first_path + s * n_paths + r."""
    def f(t, y, p):
        return np.array([p[0] * y[0]])

    def g(t, y, p):
        return np.array([p[1] * y[0]])
    P = np.array([[1.0, 0.5], [0.5, 0.2], [-1.0, 0.8]])
    for method, extra in (("EM", dict(dt=0.01)), ("SRIW1", {})):
        res = solve_sde(f, g, (0, 1), [1.0], method=method, params=P, n_paths=4, seed=9,
                        **extra)
        assert res.y.shape == (3, 4, 1, 2) and res.status.shape == (3, 4)
        for s in range(3):
            alone = solve_sde(f, g, (0, 1), [1.0], method=method, args=(P[s],), n_paths=4,
                              seed=9, **extra)
            assert np.array_equal(res.y[s], alone.y)
            assert np.array_equal(res.counters[s], alone.counters)
    apart = solve_sde(f, g, (0, 1), [1.0], method="EM", dt=0.01, params=P, n_paths=4, seed=9,
                      common_noise=False)
    for s in range(3):
        alone = solve_sde(f, g, (0, 1), [1.0], method="EM", dt=0.01, args=(P[s],), n_paths=4,
                          seed=9, first_path=4 * s)
        assert np.array_equal(apart.y[s], alone.y)
    with pytest.raises(TypeError, match="args.*params"):
        solve_sde(f, g, (0, 1), [1.0], params=P, args=(1.0,))
    with pytest.raises(ValueError, match="params"):
        solve_sde(f, g, (0, 1), [1.0], params=[1.0, 2.0])


def test_general_noise_em_and_heun_match_hand_written():
    """noise='general': diffusion (n, m) with m != n, EM and Euler-Heun against numpy loops
    on the same increments."""
    rng = np.random.default_rng(5)
    n_steps, paths, m = 40, 3, 3
    dw = rng.standard_normal((paths, n_steps, m)) * math.sqrt(1.0 / n_steps)

    def f(t, y, a):
        return np.array([-a * y[0] + y[1], -y[1]])

    def g(t, y, a):
        return np.array([[0.2 * y[0], 0.1, 0.0], [0.05 * y[1], 0.0, 0.3 + 0.0 * t]])
    h = 1.0 / n_steps
    for method, interp in (("EM", "ito"), ("euler_heun", "stratonovich")):
        res = solve_sde(f, g, (0, 1), [1.0, 0.5], method=method, noise="general", args=(2.0,),
                        dW=dw, n_paths=paths, save="steps", interpretation=interp)
        for k in range(paths):
            y = np.array([1.0, 0.5])
            for s in range(n_steps):
                t = s * h
                step = y + h * f(t, y, 2.0) + g(t, y, 2.0) @ dw[k, s]
                if method == "euler_heun":
                    step = (y + 0.5 * h * (f(t, y, 2.0) + f(t + h, step, 2.0))
                            + 0.5 * (g(t, y, 2.0) + g(t + h, step, 2.0)) @ dw[k, s])
                y = step
            assert np.allclose(res.y[k, :, -1], y, rtol=1e-12, atol=1e-14)
    drawn = solve_sde(f, g, (0, 1), [1.0, 0.5], method="EM", noise="general", args=(2.0,),
                      dt=0.01, n_paths=200, seed=3)
    assert drawn.success and np.isfinite(drawn.y).all()
    with pytest.raises(ValueError, match=r"shape \(2,\); expected \(n, m\)"):
        solve_sde(f, lambda t, y, a: y, (0, 1), [1.0, 0.5], method="EM", noise="general",
                  args=(2.0,), dt=0.1)


def test_fast_paths_give_the_general_result():
    """solve_sde's shortcuts (a list of floats as y0, plain int/float options, the remembered
    method check) give what the general conversions give."""
    kw = dict(args=(1.0, 0.5), method="EM", noise="diagonal")
    ref = solve_sde(gbm_f, gbm_g, (0, 1), np.array([1.0, 2.0]), dt=np.float64(0.01),
                    seed=np.uint64(9), n_paths=np.int64(2), **kw)
    for y0 in ([1.0, 2.0], (1.0, 2.0), [1, 2], [np.float64(1.0), 2.0]):
        res = solve_sde(gbm_f, gbm_g, (0, 1), y0, dt=0.01, seed=9, n_paths=2, **kw)
        assert np.array_equal(res.y, ref.y), y0
        assert res.seed == 9 and res.method == "euler_maruyama"


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(dt=math.nan), ValueError, ["dt"]),
    (dict(dt=math.inf), ValueError, ["dt"]),
    (dict(dt=-0.01), ValueError, ["dt"]),
    (dict(dt=0.01, seed=2 ** 64), ValueError, ["seed"]),
    (dict(dt=0.01, seed=True), TypeError, ["seed"]),
    (dict(dt=0.01, n_paths=True), TypeError, ["n_paths"]),
    (dict(dt=0.01, y0=[1.0, math.nan]), ValueError, ["y0"]),
    (dict(dt=0.01, y0=[math.inf]), ValueError, ["y0"]),
    (dict(dt=0.01, y0=[1.0 + 1j]), TypeError, ["y0"]),
    (dict(dt=0.01, interpretation="stratonovich"), ValueError, ["euler_heun", "milstein"]),
    (dict(dt=0.01, noise="nope"), ValueError, ["noise"]),
])
def test_fast_paths_still_reject_bad_input(kwargs, error, words):
    """After a good call has primed the caches, bad input raises as before (twice: a failed
    check is not remembered)."""
    solve_sde(gbm_f, gbm_g, (0, 1), [1.0], args=(1.0, 0.5), method="EM", dt=0.01, seed=1)
    call = dict(y0=[1.0], args=(1.0, 0.5), method="EM", seed=1)
    call.update(kwargs)
    for _ in range(2):
        with pytest.raises(error) as info:
            solve_sde(gbm_f, gbm_g, (0, 1), **call)
        for word in words:
            assert word in str(info.value), (word, str(info.value))


@pytest.mark.parametrize("n, steps", [(1, 5), (1, 1000), (3, 7), (3, 400)])
def test_em_stream_is_the_documented_philox_stream(n, steps):
    """A path's normals are the Philox stream of (seed, path) in fills of the kernel's buffer
    (1024 // need * need normals; a short path draws only what it uses): the seeded solve equals
    the solve given those normals as dW, for paths shorter and longer than one buffer."""
    h = 1.0 / steps
    total, size = steps * n, (1024 // n) * n
    z = np.concatenate([normals(5, 2, min(size, total - k), ctr=(k // size) * -(-size // 4))
                        for k in range(0, total, size)])
    args = (0.5, 0.3)
    y0 = [1.0] * n
    seeded = solve_sde(gbm_f, gbm_g, (0, 1), y0, args=args, method="EM", dt=h, seed=5,
                       first_path=2, save="steps")
    given = solve_sde(gbm_f, gbm_g, (0, 1), y0, args=args, method="EM", dt=h,
                      dW=(z * math.sqrt(h)).reshape(1, steps, n), save="steps")
    assert np.allclose(seeded.y, given.y, rtol=1e-12, atol=0.0)
    assert seeded.naccept == steps and seeded.nfev == steps and seeded.ngev == steps


def test_fill_normals_is_the_blockwise_philox_ziggurat():
    """fill_normals against the scalar definition (normal i: word i % 4 of Philox block
    ctr + i // 4, through the ziggurat), for counts that are not multiples of 4 and a start
    counter; and a stream drawn in pieces is the stream drawn at once."""
    from fastode.sde.random import _normal_of, philox4x32_10, seed_key
    k0, k1 = seed_key(123)
    path, ctr, count = 4, 3, 4 * 300 + 3
    p0, p1 = np.uint64(path), np.uint64(0)
    z = normals(123, path, count, ctr=ctr)
    for i in range(count):
        c = np.uint64(ctr + i // 4)
        word = philox4x32_10.py_func(c, np.uint64(0), p0, p1, k0, k1)[i % 4]
        assert z[i] == _normal_of.py_func(word, k0, k1, p0, p1, c, i % 4), i
    whole = normals(123, path, 64)
    assert np.array_equal(np.concatenate([normals(123, path, 24), normals(123, path, 40, ctr=6)]),
                          whole)
    assert np.array_equal(normals(123, path, 7), whole[:7])


def test_slow_branch_draws_of_one_block_are_independent():
    """Two words of one Philox block that both fall in the ziggurat's tail (beyond r) must get
    their own uniforms: they drew the same ones, and came out with the same magnitude, when the
    rare branch's stream was keyed by the block alone. A compiled scan finds such blocks (about
    2 per million)."""
    from numba import njit

    from fastode.sde.random import KN, _R, philox4x32_10, seed_key

    @njit(cache=False)
    def tail_pair_blocks(n_blocks, k0, k1, kn0):
        found = []
        for block in range(n_blocks):
            w = philox4x32_10(np.uint64(block), np.uint64(0), np.uint64(0), np.uint64(0), k0, k1)
            tails = 0
            for word in w:
                hz = np.int64(word) - 4294967296 if word >= 2147483648 else np.int64(word)
                if hz & 127 == 0 and abs(hz) >= kn0:
                    tails += 1
            if tails >= 2:
                found.append(block)
        return found

    k0, k1 = seed_key(7)
    blocks = tail_pair_blocks(8_000_000, k0, k1, KN[0])
    assert len(blocks) >= 3  # the scan met the case it checks
    for block in blocks:
        z = normals(7, 0, 4, ctr=block)  # the block's four normals
        tail = np.abs(z)[np.abs(z) > _R]
        assert tail.size >= 2
        assert np.unique(tail).size == tail.size, (block, z)


_NOISE_LEVEL = 0.5


def _level_g(t, y):
    return np.array([_NOISE_LEVEL])


def _decay_f(t, y):
    return np.array([-y[0]])


@pytest.mark.parametrize("method, dt", [("EM", 0.01), ("milstein", 0.01), ("SRIW1", None),
                                        ("SRA1", 0.05)])
def test_repeated_calls_reuse_only_what_the_options_fix(method, dt):
    """A repeat call with the same plain options takes solve_sde's remembered plan: it gives
    what a first call gives, draws a new seed each time, reads the functions' globals anew, and
    a result's arrays belong to it (mutating them does not reach the next call)."""
    global _NOISE_LEVEL
    kw = dict(method=method, dt=dt, noise="additive", n_paths=2)
    first = solve_sde(_decay_f, _level_g, (0.0, 1.0), [1.0], seed=4, **kw)
    first.t[:] = -1.0
    again = solve_sde(_decay_f, _level_g, (0.0, 1.0), [1.0], seed=4, **kw)
    assert again.t.tolist() == [0.0, 1.0]
    again.t[:] = -1.0
    again = solve_sde(_decay_f, _level_g, (0.0, 1.0), [1.0], seed=4, **kw)
    assert again.t.tolist() == [0.0, 1.0]
    other = solve_sde(_decay_f, _level_g, (0.0, 1.0), [1.0], seed=5, **kw)
    assert not np.array_equal(other.y, again.y) and other.seed == 5
    # np.float64 options go the general way: the same numbers
    general = solve_sde(_decay_f, _level_g, (0.0, 1.0), [1.0], seed=4, rtol=np.float64(1e-3),
                        **kw)
    assert np.array_equal(again.y, general.y) and np.array_equal(again.y, first.y)
    assert again.counters.tolist() == general.counters.tolist()
    assert not np.array_equal(solve_sde(_decay_f, _level_g, (0.0, 1.0), [1.0], **kw).y,
                              solve_sde(_decay_f, _level_g, (0.0, 1.0), [1.0], **kw).y)
    try:
        _NOISE_LEVEL = 0.0
        quiet = solve_sde(_decay_f, _level_g, (0.0, 1.0), [1.0], seed=4, **kw)
    finally:
        _NOISE_LEVEL = 0.5
    if dt is not None:  # no noise: dy = -y dt, the deterministic scheme on every path
        assert np.allclose(quiet.y[:, 0, -1], quiet.y[0, 0, -1], rtol=0, atol=0)
    assert not np.array_equal(quiet.y, again.y)
    assert np.array_equal(solve_sde(_decay_f, _level_g, (0.0, 1.0), [1.0], seed=4, **kw).y,
                          first.y)
