"""fastode.plot (issue #17): the lines drawn hold the result's own numbers; docstring examples run."""
import doctest
import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import fastode  # noqa: E402
import fastode.plot  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _oscillator(t, y, w):
    return np.array([y[1], -w * w * y[0]])


def _decay(t, y, k):
    return np.array([-k * y[0]])


def _decay_p(t, y, p):
    return np.array([-p[0] * y[0]])


def _noise(t, y, k):
    return np.array([0.3])


@pytest.fixture(scope="module")
def sol():
    return fastode.solve_ivp(_oscillator, (0.0, 3.0), [1.0, 0.0], args=(2.0,), rtol=1e-6)


def test_solution_lines_are_the_result(sol):
    ax = fastode.plot.solution(sol)
    assert len(ax.lines) == 2
    for i, line in enumerate(ax.lines):
        assert np.array_equal(line.get_xdata(), sol.t)
        assert np.array_equal(line.get_ydata(), sol.y[i])
        assert line.get_label() == f"y[{i}]"


def test_solution_components_labels_and_given_axes(sol):
    fig, ax = plt.subplots()
    out = fastode.plot.solution(sol, components=[1], ax=ax, labels=["v"], lw=2)
    assert out is ax and len(ax.lines) == 1
    assert np.array_equal(ax.lines[0].get_ydata(), sol.y[1])
    assert ax.lines[0].get_label() == "v" and ax.lines[0].get_linewidth() == 2
    with pytest.raises(ValueError, match="labels"):
        fastode.plot.solution(sol, components=[0, 1], labels=["x"])
    with pytest.raises(IndexError):
        fastode.plot.solution(sol, components=[2])


def test_phase_lines_are_the_result(sol):
    ax = fastode.plot.phase(sol, i=1, j=0)
    line, start = ax.lines
    assert np.array_equal(line.get_xdata(), sol.y[1])
    assert np.array_equal(line.get_ydata(), sol.y[0])
    assert np.array_equal(start.get_xdata(), [sol.y[1, 0]])
    assert np.array_equal(start.get_ydata(), [sol.y[0, 0]])
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("y[1]", "y[0]")


def test_ensemble_one_line_per_trajectory_and_component():
    k = np.array([[0.5], [1.0], [2.0]])
    res = fastode.solve_ensemble(_decay_p, (0.0, 2.0), [1.0], params=k,
                                 t_eval=np.linspace(0.0, 2.0, 9), rtol=1e-8, atol=1e-10)
    ax = fastode.plot.solution(res)
    assert len(ax.lines) == 3
    for r, line in enumerate(ax.lines):
        assert np.array_equal(line.get_xdata(), res.t)
        assert np.array_equal(line.get_ydata(), res.y[r, 0])
    ax = fastode.plot.solution(res, paths=[2, 0])
    assert [np.array_equal(ln.get_ydata(), res.y[r, 0]) for ln, r in zip(ax.lines, [2, 0])] \
        == [True, True]
    final = fastode.solve_ensemble(_decay_p, (0.0, 2.0), [1.0], params=k, save="final")
    with pytest.raises(ValueError, match="save='final'"):
        fastode.plot.solution(final)


def test_sde_paths_and_parameter_sets():
    t_eval = np.linspace(0.0, 1.0, 5)
    res = fastode.solve_sde(_decay, _noise, (0.0, 1.0), [1.0], args=(1.0,), n_paths=3, seed=1,
                            t_eval=t_eval, method="EM", dt=0.01)
    ax = fastode.plot.solution(res)
    assert len(ax.lines) == 3
    for r, line in enumerate(ax.lines):
        assert np.array_equal(line.get_xdata(), res.t)
        assert np.array_equal(line.get_ydata(), res.y[r, 0])
    sets = fastode.solve_sde(_decay_p, _noise, (0.0, 1.0), [1.0], params=np.array([[1.0], [3.0]]),
                             n_paths=2, seed=1, t_eval=t_eval, method="EM", dt=0.01)
    assert sets.y.shape == (2, 2, 1, 5)
    ax = fastode.plot.solution(sets)
    drawn = [line.get_ydata() for line in ax.lines]
    assert all(np.array_equal(d, y) for d, y in zip(drawn, sets.y.reshape(4, 5)))
    assert len(drawn) == 4


def test_work_precision_from_results_and_rows():
    exact = np.exp(-2.0)
    runs = {m: [fastode.solve_ivp(_decay, (0.0, 4.0), [1.0], args=(0.5,), method=m, rtol=r,
                                  atol=r * 1e-3) for r in (1e-4, 1e-7)]
            for m in ("RK45", "DOP853")}
    ax = fastode.plot.work_precision(runs, reference=[exact])
    assert [line.get_label() for line in ax.lines] == ["RK45", "DOP853"]
    for line, results in zip(ax.lines, runs.values()):
        assert np.array_equal(line.get_xdata(), [r.nfev for r in results])
        assert np.array_equal(line.get_ydata(),
                              [abs(r.y[0, -1] - exact) / exact for r in results])
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    # bench rows (rtol, seconds, error, nfev) and mappings; a non-finite point is left out
    rows = {"a": [(1e-3, 0.002, 1e-4, 50), (1e-6, 0.004, float("nan"), 90),
                  (1e-9, 0.008, 1e-9, 200)],
            "b": [{"time": 0.001, "error": 1e-3}, {"time": 0.003, "error": 1e-6}]}
    ax = fastode.plot.work_precision(rows, styles={"b": {"ls": "--"}})
    assert np.array_equal(ax.lines[0].get_xdata(), [0.002, 0.008])
    assert np.array_equal(ax.lines[0].get_ydata(), [1e-4, 1e-9])
    assert np.array_equal(ax.lines[1].get_xdata(), [0.001, 0.003])
    assert ax.lines[1].get_linestyle() == "--"
    ax = fastode.plot.work_precision({"a": rows["a"]}, work="nfev")
    assert np.array_equal(ax.lines[0].get_xdata(), [50, 200])
    with pytest.raises(ValueError, match="reference"):
        fastode.plot.work_precision(runs)


def test_docstring_examples_run():
    failed, attempted = doctest.testmod(fastode.plot, optionflags=doctest.ELLIPSIS)
    assert attempted >= 3 and failed == 0


def test_import_does_not_load_matplotlib():
    code = "import sys, fastode, fastode.plot; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
