"""fastode.analysis (issue #14): equilibria and their classification, Lyapunov functions and
exponents, continuation (folds, Hopf points), sweeps and portraits."""
import numpy as np
import pytest

from fastode.analysis import classify, equilibria, lyapunov_check


def pendulum(t, y, b):
    return np.array([y[1], -np.sin(y[0]) - b * y[1]])


def lotka_volterra(t, y, a, b, c, d):
    return np.array([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])


def saddle_node(t, y, r):
    return np.array([r - y[0] ** 2, -y[1]])


# ---- equilibria and classification ---------------------------------------------------------

def test_damped_pendulum_equilibria():
    eq = equilibria(pendulum, bounds=[(-4, 4), (-2, 2)], args=(0.5,))
    assert len(eq) == 3
    np.testing.assert_allclose(eq.points[:, 0], [-np.pi, 0.0, np.pi], atol=1e-10)
    np.testing.assert_allclose(eq.points[:, 1], 0.0, atol=1e-10)
    assert eq.kinds == ["saddle", "stable focus", "saddle"]
    assert list(eq.stable) == [False, True, False]
    # eigenvalues at the bottom: l^2 + 0.5 l + 1 = 0
    np.testing.assert_allclose(sorted(eq.eigenvalues[1], key=np.imag),
                               np.roots([1, 0.5, 1])[np.argsort(np.roots([1, 0.5, 1]).imag)],
                               rtol=1e-8)
    # overdamped (b = 3): the bottom is a stable node
    assert equilibria(pendulum, bounds=[(-1, 1), (-1, 1)], args=(3.0,)).kinds == ["stable node"]
    # undamped: a centre of the linearisation
    assert equilibria(pendulum, bounds=[(-1, 1), (-1, 1)], args=(0.0,)).kinds == ["centre"]


def test_lotka_volterra_equilibria_with_user_jacobian():
    args = (1.0, 0.5, 0.75, 0.25)

    def jac(t, y, a, b, c, d):
        return np.array([[a - b * y[1], -b * y[0]], [d * y[1], -c + d * y[0]]])

    for j in (None, jac):
        eq = equilibria(lotka_volterra, bounds=[(-1, 5), (-1, 5)], args=args, jac=j)
        np.testing.assert_allclose(eq.points, [[0, 0], [3, 2]], atol=1e-10)
        assert eq.kinds == ["saddle", "centre"]
        np.testing.assert_allclose(np.abs(eq.eigenvalues[1].imag), np.sqrt(0.75), rtol=1e-8)


def test_saddle_node_normal_form():
    two = equilibria(saddle_node, bounds=[(-3, 3), (-3, 3)], args=(1.0,))
    np.testing.assert_allclose(two.points, [[-1, 0], [1, 0]], atol=1e-10)
    assert two.kinds == ["saddle", "stable node"]
    one = equilibria(saddle_node, bounds=[(-3, 3), (-3, 3)], args=(0.0,))
    assert len(one) == 1 and one.kinds == ["degenerate"]
    assert abs(one.points[0, 0]) < 1e-4  # a double root: Newton converges linearly
    # no equilibria: an empty result, not an error
    none = equilibria(saddle_node, bounds=[(-3, 3), (-3, 3)], args=(-1.0,))
    assert len(none) == 0 and none.points.shape == (0, 2) and none.kinds == []


def test_region_without_equilibria_and_guesses():
    assert len(equilibria(pendulum, bounds=[(0.5, 2), (0.5, 1)], args=(0.5,))) == 0
    eq = equilibria(pendulum, guesses=[[3.0, 0.1], [2.9, -0.1], [0.2, 0.0]], args=(0.5,))
    np.testing.assert_allclose(eq.points[:, 0], [0.0, np.pi], atol=1e-10)
    assert list(eq.counts) == [1, 2]


def test_classify_kinds():
    assert classify([-1.0, -2.0]) == "stable node"
    assert classify([1.0, 2.0]) == "unstable node"
    assert classify([1 + 1j, 1 - 1j]) == "unstable focus"
    assert classify([-1 + 1j, -1 - 1j]) == "stable focus"
    assert classify([-1.0, 2.0]) == "saddle"
    assert classify([2j, -2j]) == "centre"
    assert classify([0.0, -1.0]) == "degenerate"
    assert classify(np.array([[0.0, 1.0], [-1.0, -0.1]])) == "stable focus"


def test_bad_input():
    with pytest.raises(ValueError, match="bounds"):
        equilibria(pendulum, bounds=[(1, 0), (0, 1)], args=(0.5,))
    with pytest.raises(ValueError, match="bounds"):
        equilibria(pendulum, bounds=[(0, 1, 2)], args=(0.5,))
    with pytest.raises(ValueError, match="guesses"):
        equilibria(pendulum, guesses=[[np.nan, 0.0]], args=(0.5,))
    with pytest.raises(ValueError, match="bounds.*guesses"):
        equilibria(pendulum, args=(0.5,))
    with pytest.raises(ValueError, match="jac"):  # non-square Jacobian
        equilibria(pendulum, guesses=[0.1, 0.0], args=(0.5,),
                   jac=lambda t, y, b: np.zeros((2, 3)))
    with pytest.raises(ValueError, match="jac"):
        equilibria(pendulum, guesses=[0.1, 0.0], args=(0.5,), jac=np.eye(3))
    with pytest.raises(ValueError, match="bounds"):  # 3 pairs for a 2-component guess
        equilibria(pendulum, guesses=[0.1, 0.0], bounds=[(0, 1)] * 3, args=(0.5,))
    with pytest.raises(ValueError, match="n_starts"):
        equilibria(pendulum, bounds=[(0, 1), (0, 1)], args=(0.5,), n_starts=0)
    with pytest.raises(TypeError, match="fun"):
        equilibria(3.0, guesses=[0.0, 0.0])
    with pytest.raises(ValueError, match="eigenvalues"):
        classify(np.zeros((2, 3)))


def test_user_exception_is_raised():
    def broken(t, y):
        if y[0] > 0.5:
            raise RuntimeError("boom")
        return np.array([y[0] - 1.0])

    with pytest.raises(RuntimeError, match="boom"):
        equilibria(broken, guesses=[[0.0]])


# ---- Lyapunov functions ----------------------------------------------------------------------

def test_lyapunov_check_pendulum_energy():
    def energy(y):
        return 0.5 * y[1] ** 2 + 1.0 - np.cos(y[0])

    damped = lyapunov_check(energy, pendulum, region=[(-2, 2), (-2, 2)], args=(0.5,))
    # dE/dt = -b y1^2 <= 0: non-increasing, not strictly decreasing (zero on y1 = 0)
    assert damped.non_increasing and not damped.decreasing
    assert damped.max_vdot <= 1e-8
    grid = damped.points
    np.testing.assert_allclose(damped.vdot, -0.5 * grid[:, 1] ** 2, atol=1e-8)
    # a wrong sign of damping: E grows, the failing points are reported
    growing = lyapunov_check(energy, pendulum, region=[(-2, 2), (-2, 2)], args=(-0.5,),
                             grad=lambda y: np.array([np.sin(y[0]), y[1]]))
    assert not growing.non_increasing
    assert np.all(growing.violations[:, 1] != 0.0)
    # strict: V = x^2 + y^2 for x' = -x, y' = -y, the origin excluded
    strict = lyapunov_check(lambda y: y @ y, lambda t, y: -y, region=[(-1, 1), (-1, 1)],
                            equilibrium=[0.0, 0.0])
    assert strict.decreasing


def test_lyapunov_check_on_trajectories():
    import fastode
    sol = fastode.solve_ivp(pendulum, (0, 10), [1.0, 0.0], args=(0.5,), rtol=1e-8)
    res = lyapunov_check(lambda y: 0.5 * y[1] ** 2 + 1 - np.cos(y[0]), pendulum,
                         trajectories=sol, args=(0.5,))
    assert res.points.shape == (sol.t.size, 2) and res.non_increasing


# ---- Lyapunov exponents ----------------------------------------------------------------------

def lorenz(t, y, s, r, b):
    return np.array([s * (y[1] - y[0]), y[0] * (r - y[2]) - y[1], y[0] * y[1] - b * y[2]])


LORENZ_ARGS = (10.0, 28.0, 8.0 / 3.0)


def test_lorenz_spectrum_t1000():
    from fastode.analysis import lyapunov_exponents
    res = lyapunov_exponents(lorenz, [1.0, 1.0, 1.0], (0, 1010), args=LORENZ_ARGS, transient=10)
    assert res.success and res.exponents.shape == (3,)
    # the sum is the (constant) trace -(sigma + 1 + beta): RK4 (dt 0.01) keeps it to ~1e-4
    assert abs(res.exponents.sum() + (10.0 + 1.0 + 8.0 / 3.0)) < 1e-3
    # NOT the issue's +-0.002: a finite-time estimate at T = 1000 scatters more than that (16
    # starts, transient 100, dt 0.01: 0.8956..0.9160, std 0.0052; dt 0.005 / 0.02 std 0.0042 /
    # 0.0055; docs/benchmarks.md), so this is a sanity bound; the +-0.002 is asserted at T = 5e4
    # in test_lorenz_largest_exponent_long
    assert abs(res.exponents[0] - 0.9056) < 0.02
    assert abs(res.exponents[1]) < 0.01
    assert abs(res.exponents[2] + 14.5723) < 0.02
    assert res.history.shape == (res.history_t.size, 3)
    np.testing.assert_allclose(res.history[-1], res.exponents)
    # first k only: the same leading exponents (the leading vectors do not see the others)
    two = lyapunov_exponents(lorenz, [1.0, 1.0, 1.0], (0, 1010), args=LORENZ_ARGS,
                             transient=10, k=2)
    np.testing.assert_allclose(two.exponents, res.exponents[:2], rtol=1e-6, atol=1e-6)


def test_lorenz_largest_exponent_long():
    from fastode.analysis import lyapunov_exponents
    # Viswanath's 0.9056 to +-0.002 needs a long orbit (T = 5e4: 4 starts gave 0.9038..0.9073)
    res = lyapunov_exponents(lorenz, [1.0, 1.0, 1.0], (0, 50010), args=LORENZ_ARGS,
                             transient=10, k=1)
    assert abs(res.exponents[0] - 0.9056) < 0.002


def henon_heiles(t, z):
    x, y, px, py = z
    return np.array([px, py, -x - 2 * x * y, -y - x * x + y * y])


def henon_heiles_start(energy, y, py):
    """(0, y, px, py) with px > 0 on the energy surface H = energy."""
    potential = 0.5 * y * y - y ** 3 / 3
    return [0.0, y, np.sqrt(2 * (energy - potential) - py * py), py]


def test_henon_heiles_hamiltonian_pairs():
    from fastode.analysis import lyapunov_exponents
    # a Hamiltonian flow conserves volume (sum 0) and its exponents come in pairs +-lambda, two
    # of them 0 (the flow direction and the energy); measured at T = 2000 (dt 0.01): sum ~1e-11,
    # |l1 + l4| <= 9e-4, |l2|, |l3| <= 4e-3 (they fall as 1/T)
    chaotic = lyapunov_exponents(henon_heiles, henon_heiles_start(1 / 6, 0.2, 0.2), (0, 2000))
    ex = chaotic.exponents
    assert chaotic.success
    assert abs(ex.sum()) < 1e-8
    assert ex[0] > 0.1  # chaotic sea at E = 1/6: about 0.13..0.15
    assert abs(ex[0] + ex[3]) < 2e-3
    assert abs(ex[1]) < 1e-2 and abs(ex[2]) < 1e-2
    # a regular (quasi-periodic) orbit at E = 1/12: every exponent tends to 0 (max 2.8e-3 here)
    regular = lyapunov_exponents(henon_heiles, henon_heiles_start(1 / 12, 0.0, 0.0), (0, 2000))
    assert abs(regular.exponents.sum()) < 1e-8
    assert np.abs(regular.exponents).max() < 1e-2


def test_linear_systems_known_exponents():
    from fastode.analysis import lyapunov_exponents
    # a focus: every vector shrinks as exp(-t / 2), areas as exp(-t): both exponents -1/2
    focus = np.array([[-0.5, -2.0], [2.0, -0.5]])
    res = lyapunov_exponents(lambda t, y: focus @ y, [1.0, 0.0], (0, 200))
    np.testing.assert_allclose(res.exponents, [-0.5, -0.5], atol=1e-6)
    # non-normal, triangular: the real parts of the eigenvalues, largest first
    tri = np.array([[-1.0, 5.0], [0.0, -3.0]])
    res = lyapunov_exponents(lambda t, y: tri @ y, [1.0, 1.0], (0, 500), jac=tri)
    np.testing.assert_allclose(res.exponents, [-1.0, -3.0], atol=1e-3)
    diag = np.diag([0.3, -1.0, -2.0])
    res = lyapunov_exponents(lambda t, y: diag @ y, [1.0, 1.0, 1.0], (0, 20), dt=0.005)
    np.testing.assert_allclose(res.exponents, [0.3, -1.0, -2.0], atol=1e-6)


def test_lyapunov_bad_input_and_blow_up():
    from fastode.analysis import lyapunov_exponents
    with pytest.raises(ValueError, match="k"):
        lyapunov_exponents(lorenz, [1.0, 1.0, 1.0], (0, 10), args=LORENZ_ARGS, k=4)
    with pytest.raises(ValueError, match="t_span"):
        lyapunov_exponents(lorenz, [1.0, 1.0, 1.0], (10, 0), args=LORENZ_ARGS)
    with pytest.raises(ValueError, match="y0"):
        lyapunov_exponents(lorenz, [1.0, np.nan, 1.0], (0, 10), args=LORENZ_ARGS)
    with pytest.raises(ValueError, match="jac"):
        lyapunov_exponents(lorenz, [1.0, 1.0, 1.0], (0, 10), args=LORENZ_ARGS,
                           jac=lambda t, y, s, r, b: np.eye(2))
    # finite-time blow-up (y' = y^2): reported, not a number with success=True
    res = lyapunov_exponents(lambda t, y: y ** 2, [1.0], (0, 5))
    assert not res.success and "non-finite" in res.message


# ---- continuation ----------------------------------------------------------------------------

def brusselator(t, y, a, b):
    x, v = y
    return np.array([a - (b + 1) * x + x * x * v, b * x - x * x * v])


def test_brusselator_hopf_located():
    from fastode.analysis import continuation
    res = continuation(brusselator, [1.0, 1.0], 1.0, 1, args=(1.0, 1.0), p_max=3.0)
    assert res.success
    assert [s["kind"] for s in res.special] == ["hopf"]
    hopf = res.hopfs[0]
    assert hopf["located"]
    assert abs(hopf["param"] - 2.0) < 1e-8            # b = 1 + a^2
    np.testing.assert_allclose(hopf["state"], [1.0, 2.0], atol=1e-8)  # (a, b / a)
    assert abs(hopf["frequency"] - 1.0) < 1e-6        # omega = a
    # stable before the Hopf point, unstable after; the branch is x = a, y = b / a
    assert np.all(res.stable[res.param < 2.0 - 1e-6]) and not np.any(res.stable[res.param > 2.0 + 1e-6])
    np.testing.assert_allclose(res.states[:, 1], res.param, atol=1e-9)


def test_fold_of_normal_form_located():
    from fastode.analysis import continuation

    def fold(t, y, r):
        return np.array([r - y[0] ** 2])

    res = continuation(fold, [1.0], 1.0, 0, args=(1.0,), direction=-1, p_max=2.0)
    assert [s["kind"] for s in res.special] == ["fold"]
    f = res.folds[0]
    assert f["located"] and abs(f["param"]) < 1e-8 and abs(f["state"][0]) < 1e-8
    # around the fold: x > 0 stable (f' = -2x), x < 0 unstable; the branch r = x^2 followed
    np.testing.assert_allclose(res.param, res.states[:, 0] ** 2, atol=1e-10)
    assert np.all(res.stable[res.states[:, 0] > 1e-6]) and not np.any(res.stable[res.states[:, 0] < -1e-6])
    assert res.param[-1] > 2.0  # came back up the lower branch to p_max
    # in two dimensions with a user Jacobian (the saddle-node normal form)
    res2 = continuation(saddle_node, [1.0, 0.0], 1.0, 0, args=(1.0,), direction=-1, p_max=2.0,
                        jac=lambda t, y, r: np.array([[-2 * y[0], 0.0], [0.0, -1.0]]))
    assert [s["kind"] for s in res2.special] == ["fold"]
    assert abs(res2.folds[0]["param"]) < 1e-8


def test_continuation_bad_input():
    from fastode.analysis import continuation
    with pytest.raises(TypeError, match="param"):
        continuation(brusselator, [1.0, 1.0], 1.0, 1.5, args=(1.0, 1.0))
    with pytest.raises(ValueError, match="param"):
        continuation(brusselator, [1.0, 1.0], 1.0, 2, args=(1.0, 1.0))
    with pytest.raises(TypeError, match="args"):
        continuation(brusselator, [1.0, 1.0], 1.0, 1, args=(1.0, np.ones(2)))
    with pytest.raises(ValueError, match="y0"):
        continuation(brusselator, [1.0, np.inf], 1.0, 1, args=(1.0, 1.0))
    with pytest.raises(ValueError, match="y0"):  # no equilibrium near y0 at p0 (r < 0)
        continuation(lambda t, y, r: np.array([r - y[0] ** 2]), [1.0], -1.0, 0, args=(1.0,))


# ---- sweeps and pictures ---------------------------------------------------------------------

def rossler(t, y, p):
    return np.array([-y[1] - y[2], y[0] + p[0] * y[1], p[1] + y[2] * (y[0] - p[2])])


def test_rossler_period_doubling_sweep():
    from fastode.analysis import bifurcation_diagram
    # c = 2.5: a period-1 cycle (one maximum of x); c = 3.5: period 2 (two maxima)
    d = bifurcation_diagram(rossler, [1.0, 1.0, 0.0], 2, [2.5, 3.5], params=[0.2, 0.2, 0.0],
                            transient=300.0, record=60.0, rtol=1e-9, atol=1e-11)
    assert d.success.all()
    # distinct maxima: groups more than 0.01 apart (the parabola through samples 0.05 apart
    # places a maximum to ~1e-4)
    distinct = [1 + int(np.sum(np.diff(np.sort(p)) > 0.01)) for p in d.points]
    assert distinct == [1, 2]
    assert d.param.shape == d.observed.shape and d.param.size == sum(len(p) for p in d.points)
    final = bifurcation_diagram(lambda t, y, p: np.array([p[0] - y[0]]), [0.0], 0, [1.0, 2.0],
                                transient=0.0, record=30.0, observable="final")
    np.testing.assert_allclose(final.observed, [1.0, 2.0], atol=1e-6)
    with pytest.raises(ValueError, match="observable"):
        bifurcation_diagram(rossler, [1.0, 1.0, 0.0], 2, [2.5], params=[0.2, 0.2, 0.0],
                            observable="mean")
    with pytest.raises(ValueError, match="values"):
        bifurcation_diagram(rossler, [1.0, 1.0, 0.0], 2, [np.nan], params=[0.2, 0.2, 0.0])
    with pytest.raises(ValueError, match="param_index"):
        bifurcation_diagram(rossler, [1.0, 1.0, 0.0], 3, [1.0], params=[0.2, 0.2, 0.0])


def test_local_extrema_refined():
    from fastode.analysis.sweep import local_extrema
    t = np.arange(0.0, 20.0, 0.05)
    peaks = local_extrema(np.sin(t)[None, :])[0]
    np.testing.assert_allclose(peaks, 1.0, atol=1e-5)   # the samples alone: 1 - 3e-4
    assert peaks.size == 3
    np.testing.assert_allclose(local_extrema(np.sin(t)[None, :], maxima=False)[0], -1.0,
                               atol=1e-5)


def test_phase_portrait_and_branch_plot():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from fastode.analysis import continuation, phase_portrait
    ax = phase_portrait(pendulum, (-4, 4), (-3, 3), args=(0.5,), trajectories=[[0.0, 2.0]],
                        t_span=(0, 5), n_grid=15)
    assert ax.fastode_equilibria.kinds == ["saddle", "stable focus", "saddle"]
    labels = ax.get_legend_handles_labels()[1]
    assert "stable focus" in labels and "saddle" in labels
    path = ax.lines[-1].get_xydata()
    np.testing.assert_allclose(path[0], [0.0, 2.0])
    with pytest.raises(ValueError, match="fun"):  # a 3-component system called with (x, y)
        phase_portrait(lorenz, (-1, 1), (-1, 1), args=LORENZ_ARGS)
    with pytest.raises(ValueError, match="xlim"):
        phase_portrait(pendulum, (1, -1), (-1, 1), args=(0.5,))
    res = continuation(brusselator, [1.0, 1.0], 1.0, 1, args=(1.0, 1.0), p_max=3.0)
    ax2 = res.plot(component=0)
    assert "hopf" in ax2.get_legend_handles_labels()[1]
    plt.close("all")


def lorenz_jac(t, y, s, r, b):
    return np.array([[-s, s, 0.0], [r - y[2], -1.0, -y[0]], [y[1], y[0], -b]])


def test_lyapunov_keeps_y0_and_repeats_exactly():
    from fastode.analysis import lyapunov_exponents
    # the kernel integrates in a copy: the caller's array is not the final state afterwards,
    # and a second identical call gives the identical result
    y0 = np.array([1.0, 1.0, 1.0])
    first = lyapunov_exponents(lorenz, y0, (0, 50), args=LORENZ_ARGS, transient=5)
    np.testing.assert_array_equal(y0, [1.0, 1.0, 1.0])
    second = lyapunov_exponents(lorenz, y0, (0, 50), args=LORENZ_ARGS, transient=5)
    np.testing.assert_array_equal(first.exponents, second.exponents)
    # the user jac (compiled to write in place) gives the finite-difference spectrum
    user = lyapunov_exponents(lorenz, y0, (0, 50), args=LORENZ_ARGS, transient=5, jac=lorenz_jac)
    np.testing.assert_allclose(user.exponents, first.exponents, rtol=1e-5, atol=1e-5)


def test_bifurcation_diagram_parameter_by_name():
    """param_index may name the swept entry of p through param_names: the same diagram."""
    from fastode.analysis import bifurcation_diagram
    def decay(t, y, p):
        return np.array([p[0] - p[1] * y[0]])
    kw = dict(params=[1.0, 2.0], observable="final", transient=0.0, record=5.0, sample_dt=0.5)
    by_index = bifurcation_diagram(decay, [0.0], 1, [1.0, 2.0], **kw)
    by_name = bifurcation_diagram(decay, [0.0], "rate", [1.0, 2.0], param_names=["r", "rate"],
                                  **kw)
    for a, b in zip(by_index.points, by_name.points):
        np.testing.assert_array_equal(a, b)
    exact = [(1.0 / k) * (1.0 - np.exp(-5.0 * k)) for k in (1.0, 2.0)]  # y(5), y(0) = 0
    np.testing.assert_allclose([pt[0] for pt in by_name.points], exact, rtol=1e-4)
    with pytest.raises(ValueError, match="param_names"):
        bifurcation_diagram(decay, [0.0], "k", [1.0], param_names=["r", "rate"], **kw)
    with pytest.raises(ValueError, match="param_names"):
        bifurcation_diagram(decay, [0.0], "r", [1.0], param_names=["r"], **kw)
