"""The lecture's heat equation by the method of lines, against its Fourier-series solution.

    python examples/heat_equation.py

u_t = u_xx on (0, 1), u = 0 at both ends, u(x, 0) = x (1 - x), whose solution is the series
sum over odd k of 8 / (k pi)^3 sin(k pi x) exp(-(k pi)^2 t). fastode.pde.heat_1d discretises
space (second-order central differences), fastode.solve_ivp (BDF, tridiagonal band) integrates
in time; the error falls as dx^2. Writes examples/heat_equation.png.
"""
import os

import numpy as np

from fastode import pde

T_END = 0.1


def fourier(x, t, terms=500):
    k = np.arange(1, 2 * terms, 2)[:, None]
    return np.sum(8 / (k * np.pi) ** 3 * np.sin(k * np.pi * x) * np.exp(-(k * np.pi) ** 2 * t),
                  axis=0)


def main(png=os.path.join(os.path.dirname(os.path.abspath(__file__)), "heat_equation.png")):
    times = np.linspace(0.0, T_END, 6)
    print("   n      dx      max error   ratio")
    errors, steps, last = [], [], None
    for n in (15, 31, 63, 127):
        prob = pde.heat_1d(n, 1.0, bc="dirichlet", u0=lambda x: x * (1 - x))
        sol = prob.solve((0.0, T_END), t_eval=times, rtol=1e-10, atol=1e-12)
        x = prob.grid[0]
        err = max(np.max(np.abs(sol.y[:, i] - fourier(x, t))) for i, t in enumerate(times))
        ratio = f"{errors[-1] / err:5.2f}" if errors else ""
        errors.append(err)
        steps.append(x[1] - x[0])
        print(f"{n:4d}  {steps[-1]:.5f}   {err:.2e}   {ratio}")
        last = (x, sol)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    x, sol = last
    xf = np.linspace(0, 1, 401)
    for i, t in enumerate(times):
        ax1.plot(xf, fourier(xf, t), "k-", lw=0.8)
        ax1.plot(x[::8], sol.y[::8, i], "o", ms=3, label=f"t = {t:.2f}")
    ax1.set_xlabel("x")
    ax1.set_ylabel("u")
    ax1.set_title("method of lines (dots) vs Fourier series (lines)")
    ax1.legend(fontsize=8)
    ax2.loglog(steps, errors, "o-", label="max error")
    ax2.loglog(steps, errors[0] * (np.array(steps) / steps[0]) ** 2, "k--", label="dx^2")
    ax2.set_xlabel("dx")
    ax2.set_ylabel("max |MOL - series|")
    ax2.set_title("second-order convergence")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    print(f"wrote {png}")


if __name__ == "__main__":
    main()
