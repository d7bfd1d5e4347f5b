"""`fastode demo analysis`: the lecture's stability and phase-plane examples drawn with
fastode.analysis, one PNG each (the gallery of examples/analysis_gallery.py).

* analysis_sir.png: the SIR model in the (S, I) plane (nullclines, trajectories; the line
  I = 0 is all equilibria, so none are marked);
* analysis_predator_prey.png: Lotka-Volterra cycles around the centre (3, 2), the saddle at 0;
* analysis_oscillators.png: harmonic (a centre) and damped (a stable focus) oscillators;
* analysis_pendulum.png: the damped pendulum (foci at 2 k pi, saddles at (2 k + 1) pi), with
  the energy as a Lyapunov function (dE/dt = -b v^2 <= 0 checked on the window);
* analysis_lorenz.png: the Lorenz attractor and the convergence of its Lyapunov spectrum;
* analysis_bifurcations.png: the Brusselator's branch of equilibria with its Hopf point at
  b = 1 + a^2 (continuation), and the Rossler period-doubling diagram (a sweep).

Figures are matplotlib ``Figure`` objects saved directly (no pyplot, so no backend or window is
needed); matplotlib is imported only here (``pip install 'fastode[plot]'``).
"""
import os
import time

import numpy as np

from .analysis import (bifurcation_diagram, continuation, lyapunov_check, lyapunov_exponents,
                       phase_portrait)
from .ivp import solve_ivp


def _figure(size, n_axes=1):
    """A pyplot-free Figure and its Axes (one, or a row of ``n_axes``)."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=size)
    return fig, fig.subplots(1, n_axes) if n_axes > 1 else fig.subplots()


def sir(t, y, beta, gamma):
    s, i = y[0], y[1]
    return np.array([-beta * s * i, beta * s * i - gamma * i])


def predator_prey(t, y, a, b, c, d):
    return np.array([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])


def oscillator(t, y, omega, zeta):
    return np.array([y[1], -omega ** 2 * y[0] - 2.0 * zeta * omega * y[1]])


def pendulum(t, y, b):
    return np.array([y[1], -np.sin(y[0]) - b * y[1]])


def lorenz(t, y, s, r, b):
    return np.array([s * (y[1] - y[0]), y[0] * (r - y[2]) - y[1], y[0] * y[1] - b * y[2]])


def brusselator(t, y, a, b):
    return np.array([a - (b + 1) * y[0] + y[0] ** 2 * y[1], b * y[0] - y[0] ** 2 * y[1]])


def rossler(t, y, p):
    return np.array([-y[1] - y[2], y[0] + p[0] * y[1], p[1] + y[2] * (y[0] - p[2])])


def figure_sir(out, quick=False):
    fig, ax = _figure((6, 5))
    starts = [[0.999, 0.001], [0.9, 0.1], [0.7, 0.3], [0.5, 0.5], [0.3, 0.05]]
    phase_portrait(sir, (0, 1), (0, 0.6), args=(0.5, 0.1), ax=ax, equilibria=False,
                   trajectories=starts, t_span=(0, 150))
    ax.axvline(0.1 / 0.5, color="k", ls=":", lw=1, label="S = gamma / beta (peak of I)")
    ax.set(xlabel="S", ylabel="I", title="SIR (beta = 0.5, gamma = 0.1)")
    ax.legend(fontsize=8)
    fig.savefig(os.path.join(out, "analysis_sir.png"), dpi=110, bbox_inches="tight")


def figure_predator_prey(out, quick=False):
    fig, ax = _figure((6, 5))
    phase_portrait(predator_prey, (0.01, 9), (0.01, 6), args=(1.0, 0.5, 0.75, 0.25), ax=ax,
                   trajectories=[[3.0, 1.0], [3.0, 0.5], [2.0, 2.0], [1.0, 1.0]],
                   t_span=(0, 12))
    ax.set(xlabel="prey", ylabel="predators", title="Lotka-Volterra: cycles around a centre")
    fig.savefig(os.path.join(out, "analysis_predator_prey.png"), dpi=110, bbox_inches="tight")


def figure_oscillators(out, quick=False):
    fig, axes = _figure((11, 5), 2)
    for ax, zeta, title in ((axes[0], 0.0, "harmonic (zeta = 0): centre"),
                            (axes[1], 0.15, "damped (zeta = 0.15): stable focus")):
        phase_portrait(oscillator, (-2, 2), (-2, 2), args=(1.0, zeta), ax=ax,
                       trajectories=[[1.0, 0.0], [1.8, 0.0]], t_span=(0, 25))
        ax.set(xlabel="x", ylabel="v", title=title)
    fig.savefig(os.path.join(out, "analysis_oscillators.png"), dpi=110, bbox_inches="tight")


def figure_pendulum(out, quick=False):
    fig, ax = _figure((8, 5))
    phase_portrait(pendulum, (-7, 7), (-3.2, 3.2), args=(0.25,), ax=ax,
                   trajectories=[[0.0, 2.5], [-6.5, 3.0], [2.0, 0.0]], t_span=(0, 30))
    check = lyapunov_check(lambda y: 0.5 * y[1] ** 2 + 1 - np.cos(y[0]), pendulum,
                           region=[(-7, 7), (-3.2, 3.2)], args=(0.25,))
    ax.set(xlabel="angle", ylabel="angular velocity",
           title=f"damped pendulum (b = 0.25); energy: max dE/dt = {check.max_vdot:.1e}")
    fig.savefig(os.path.join(out, "analysis_pendulum.png"), dpi=110, bbox_inches="tight")


def figure_lorenz(out, quick=False):
    args = (10.0, 28.0, 8.0 / 3.0)
    t_end, big_t = (10.0, 50.0) if quick else (60.0, 1000.0)
    sol = solve_ivp(lorenz, (0, t_end), [1.0, 1.0, 1.0], args=args, method="DOP853",
                    rtol=1e-9, atol=1e-9, t_eval=np.linspace(0, t_end, int(200 * t_end)))
    start = time.perf_counter()
    res = lyapunov_exponents(lorenz, [1.0, 1.0, 1.0], (0, 10 + big_t), args=args, transient=10)
    seconds = time.perf_counter() - start
    fig, axes = _figure((11, 4.5), 2)
    axes[0].plot(sol.y[0], sol.y[2], lw=0.4)
    axes[0].set(xlabel="x", ylabel="z", title="Lorenz attractor (sigma 10, rho 28, beta 8/3)")
    for j in range(3):
        axes[1].plot(res.history_t, res.history[:, j], label=f"lambda_{j + 1} = "
                     f"{res.exponents[j]:.4f}")
    axes[1].set(xscale="log", xlabel="t", ylabel="running estimate",
                title=f"Lyapunov spectrum (Benettin, T = {big_t:g}, {seconds * 1e3:.0f} ms); "
                      f"sum {res.exponents.sum():.4f}")
    axes[1].axhline(0, color="k", lw=0.5)
    axes[1].legend(fontsize=8)
    fig.savefig(os.path.join(out, "analysis_lorenz.png"), dpi=110, bbox_inches="tight")


def figure_bifurcations(out, quick=False):
    fig, axes = _figure((11, 4.5), 2)
    res = continuation(brusselator, [1.0, 1.0], 0.5, 1, args=(1.0, 0.5), p_max=3.5)
    res.plot(axes[0], component=1)
    h = res.hopfs[0]
    axes[0].set(xlabel="b", ylabel="y*", title=f"Brusselator (a = 1): Hopf at b = "
                f"{h['param']:.10f} (solid: stable)")
    n_values, transient, record = (40, 100.0, 50.0) if quick else (800, 300.0, 150.0)
    d = bifurcation_diagram(rossler, [1.0, 1.0, 0.0], 2, np.linspace(2.0, 6.0, n_values),
                            params=[0.2, 0.2, 0.0], transient=transient, record=record)
    d.plot(axes[1])
    axes[1].set(xlabel="c", ylabel="maxima of x", title="Rossler (a = b = 0.2): period doubling")
    fig.savefig(os.path.join(out, "analysis_bifurcations.png"), dpi=110, bbox_inches="tight")


FIGURES = (figure_sir, figure_predator_prey, figure_oscillators, figure_pendulum,
           figure_lorenz, figure_bifurcations)


def run_analysis_demo(out=".", quick=False, file=None):
    """Draw the analysis gallery into the folder ``out``.

    Parameters
    ----------
    out : str
        Folder for the PNGs (created if missing).
    quick : bool
        Smaller work (Lorenz spectrum over T = 50, a 40-value Rossler sweep): for tests.
    file : file-like, optional
        Where the progress lines go (default: stdout).

    Returns
    -------
    list of str
        The paths written.
    """
    os.makedirs(out, exist_ok=True)
    for make in FIGURES:
        start = time.perf_counter()
        make(out, quick)
        print(f"{make.__name__}: {time.perf_counter() - start:.1f} s", file=file)
    names = [f"analysis_{f.__name__[len('figure_'):]}.png" for f in FIGURES]
    return [os.path.join(out, name) for name in names]
