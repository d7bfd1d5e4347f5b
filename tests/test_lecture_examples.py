"""The lecture's classic examples (fastode.problems.LECTURE, which `fastode demo` runs) against
their closed forms and conserved quantities, and the lecture's Rust example numbers."""
import numpy as np
import pytest

import fastode
from conftest import ADAPTIVE, FIXED
from fastode.problems import LECTURE, decay, free_fall, harmonic_oscillator, lotka_volterra

BY_NAME = {p.name: p for p in LECTURE}
WITH_EXACT = [p.name for p in LECTURE if p.exact is not None]


def _solve(problem, method, **kw):
    if method in FIXED:
        kw.setdefault("step", 1e-3)
    else:
        kw.setdefault("rtol", 1e-10)
        kw.setdefault("atol", 1e-12)
    return fastode.solve_ivp(problem.fun, problem.t_span, problem.y0, method=method,
                             args=problem.args, **kw)


def test_lecture_set():
    assert {"decay", "growth", "harmonic oscillator", "free fall", "SIR epidemic",
            "predator-prey"} <= set(BY_NAME)


@pytest.mark.parametrize("method", ADAPTIVE + ("rk4", "rk38"))
@pytest.mark.parametrize("name", WITH_EXACT)
def test_closed_forms(name, method):
    problem = BY_NAME[name]
    res = _solve(problem, method)
    assert res.success
    exact = np.array([problem.exact(t) for t in res.t]).T
    scale = np.abs(exact).max()
    error = np.abs(res.y - exact).max() / scale
    # rtol 1e-10 (RK23 accumulates ~30 rtol); rk4 with h = 1e-3: ~1e-12
    assert error < (1e-8 if method == "RK23" else 2e-9), error
    np.testing.assert_allclose(res.y[:, 0], problem.y0)


def test_closed_forms_are_solutions():
    """The demo's exact solutions themselves: y(t0) = y0 and y' = f(t, y) (finite differences)."""
    for name in WITH_EXACT:
        problem = BY_NAME[name]
        np.testing.assert_allclose(problem.exact(problem.t_span[0]), problem.y0, rtol=1e-15)
        for t in np.linspace(*problem.t_span, 7)[1:-1]:
            dt = 1e-5
            derivative = (problem.exact(t + dt) - problem.exact(t - dt)) / (2 * dt)
            np.testing.assert_allclose(derivative, problem.fun(t, problem.exact(t), *problem.args),
                                       rtol=1e-8, atol=1e-8)


def test_decay_growth_values():
    res = fastode.solve_ivp(decay, (0.0, 5.0), [1.0], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(res.y[0, -1], np.exp(-5.0), rtol=1e-9)
    for k in (0.5, -0.3, 2.0):
        res = fastode.solve_ivp(BY_NAME["growth"].fun, (0.0, 2.0), [3.0], args=(k,), rtol=1e-10,
                                atol=1e-14)
        np.testing.assert_allclose(res.y[0], 3.0 * np.exp(k * res.t), rtol=1e-9)


def test_harmonic_oscillator_energy_and_period():
    omega = 2.0
    period = 2 * np.pi / omega
    res = fastode.solve_ivp(harmonic_oscillator, (0.0, 5 * period), [1.0, 0.0], args=(omega,),
                            method="DOP853", rtol=1e-11, atol=1e-13, dense_output=True)
    energy = res.y[1] ** 2 + omega ** 2 * res.y[0] ** 2
    np.testing.assert_allclose(energy, omega ** 2, rtol=1e-9)
    np.testing.assert_allclose(res.sol(period * np.arange(6)), [[1.0] * 6, [0.0] * 6], atol=1e-9)


# ---- free fall: exact quadratic --------------------------------------------------------------

G = 9.81


def test_free_fall_exact_for_order_two_and_up():
    """Methods of order >= 2 integrate a quadratic exactly: only roundoff remains."""
    h0 = 100.0
    t = np.linspace(0.0, 3.0, 13)
    exact = np.array([h0 - 0.5 * G * t ** 2, -G * t])
    for method in ("midpoint", "heun", "rk4", "rk38"):
        res = fastode.solve_ivp(free_fall, (0.0, 3.0), [h0, 0.0], method=method, step=0.25,
                                args=(G,))
        np.testing.assert_allclose(res.y, exact, rtol=0, atol=1e-12)
    for method in ADAPTIVE:
        res = fastode.solve_ivp(free_fall, (0.0, 3.0), [h0, 0.0], method=method, args=(G,),
                                rtol=1e-3, atol=1e-6, dense_output=True)
        exact_at_steps = np.array([h0 - 0.5 * G * res.t ** 2, -G * res.t])
        np.testing.assert_allclose(res.y, exact_at_steps, rtol=0, atol=1e-12)
        # the interpolants are exact too (up to the roundoff of their monomial form over
        # steps this long: Vern7's 7th-degree polynomial cancels to ~3e-13 relative)
        np.testing.assert_allclose(res.sol(t), exact, rtol=0, atol=1e-10)


def test_free_fall_euler_error_is_known():
    """Euler: v is exact (v' is constant) and the height is h0 - g t^2/2 + g t dt/2."""
    h0 = 100.0
    for dt in (0.1, 0.01, 0.001):
        res = fastode.solve_ivp(free_fall, (0.0, 3.0), [h0, 0.0], method="euler", step=dt,
                                args=(G,))
        t = res.t
        np.testing.assert_allclose(res.y[1], -G * t, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(res.y[0], h0 - 0.5 * G * t ** 2 + 0.5 * G * t * dt,
                                   rtol=1e-12, atol=1e-10)


# ---- SIR ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ADAPTIVE + ("rk4",))
def test_sir_conservation_and_decay(method):
    problem = BY_NAME["SIR epidemic"]
    res = _solve(problem, method, **({"step": 0.05} if method == "rk4" else
                                     {"rtol": 1e-8, "atol": 1e-12}))
    assert res.success
    s, i, r = res.y
    total = s + i + r
    # S + I + R is conserved up to roundoff (the three derivatives sum to exactly zero)
    np.testing.assert_allclose(total, 1.0, rtol=1e-12)
    assert np.all(np.diff(s) <= 1e-15) and np.all(np.diff(r) >= -1e-15)  # S falls, R rises
    peak = np.argmax(i)
    assert 0 < peak < res.t.size - 1  # an epidemic: I rises, then falls
    assert i[-1] < 0.05 * i[peak]  # and eventually decays
    # dS/dR = -(beta/gamma) S: S(t) = S0 exp(-R0 (R(t) - R(0))) along the whole solution
    beta, gamma = problem.args
    reproduction = beta / gamma
    np.testing.assert_allclose(s, problem.y0[0] * np.exp(-reproduction * (r - problem.y0[2])),
                               rtol=1e-6)


# ---- predator-prey -----------------------------------------------------------------------------

def lv_invariant(y, a, b, c, d):
    """V = d x - c ln x + b y - a ln y is constant along x' = a x - b x y, y' = -c y + d x y."""
    return d * y[0] - c * np.log(y[0]) + b * y[1] - a * np.log(y[1])


@pytest.mark.parametrize("method", ADAPTIVE)
@pytest.mark.parametrize("rtol", [1e-6, 1e-10])
def test_predator_prey_invariant(method, rtol):
    problem = BY_NAME["predator-prey"]
    res = fastode.solve_ivp(lotka_volterra, problem.t_span, problem.y0, method=method,
                            args=problem.args, rtol=rtol, atol=1e-3 * rtol)
    v = lv_invariant(res.y, *problem.args)
    drift = np.abs(v - v[0]).max() / abs(v[0])
    # the invariant drifts by the global error: a few (RK23: ~30) tolerances at most
    assert drift < (100 if method == "RK23" else 10) * rtol, drift


# ---- the lecture's Rust example numbers -------------------------------------------------------

def test_rust_example_euler_decay():
    """dy/dt = -y from 0 to 5 in 1000 Euler steps (dt = 0.005): y = (1 - dt)^1000."""
    res = fastode.solve_ivp(decay, (0.0, 5.0), [1.0], method="euler", step=0.005)
    assert res.t.size == 1001 and res.nfev == 1001
    np.testing.assert_allclose(res.y[0, -1], (1 - 0.005) ** 1000, rtol=1e-13)
    np.testing.assert_allclose(res.y[0], (1 - 0.005) ** np.arange(1001), rtol=1e-13)
    # and how far that is from e^-5
    assert abs(res.y[0, -1] - np.exp(-5.0)) > 1e-5


def test_rust_example_euler_harmonic_oscillator():
    """100 Euler steps of x' = v, v' = -x from (1, 0) to t = pi/2: the explicit matrix power."""
    h = (np.pi / 2) / 100
    res = fastode.solve_ivp(harmonic_oscillator, (0.0, np.pi / 2), [1.0, 0.0], method="euler",
                            step=h, args=(1.0,))
    assert res.t.size == 101
    step_matrix = np.array([[1.0, h], [-h, 1.0]])
    expected = np.linalg.matrix_power(step_matrix, 100) @ np.array([1.0, 0.0])
    np.testing.assert_allclose(res.y[:, -1], expected, rtol=1e-13, atol=1e-13)
    # every intermediate state too
    state = np.array([1.0, 0.0])
    for k in range(1, 101):
        state = step_matrix @ state
        np.testing.assert_allclose(res.y[:, k], state, rtol=1e-13, atol=1e-13)
    # Euler spirals outwards: |y|^2 grows by (1 + h^2) per step
    np.testing.assert_allclose(np.sum(res.y[:, -1] ** 2), (1 + h * h) ** 100, rtol=1e-13)
