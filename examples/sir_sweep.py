"""SIR epidemic over a grid of infection rate beta and recovery rate gamma (fastode.solve_ensemble).

    S' = -beta S I,   I' = beta S I - gamma I,   R' = gamma I       (fractions of the population)

For each of 160 x 160 = 25,600 (beta, gamma) pairs it integrates one year from 0.1% infected and
keeps only what the plot needs:

* the infected fraction I(t) on a daily grid, through an ``observe`` function (1 value per output
  time instead of 3), whose maximum is the epidemic's peak;
* the final epidemic size R(365), with ``save="final"``.

Both panels show the threshold R0 = beta / gamma = 1: below it the infection dies out. Run:

    python examples/sir_sweep.py [--n 160] [--out examples/sir_sweep.png]
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from fastode.ensemble import solve_ensemble  # noqa: E402


def sir(t, y, p):
    beta, gamma = p[0], p[1]
    s, i = y[0], y[1]
    return np.array([-beta * s * i, beta * s * i - gamma * i, gamma * i])


def infected(t, y, p):
    return y[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=160, help="grid points per axis")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "sir_sweep.png"))
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    betas = np.linspace(0.05, 1.0, args.n)
    gammas = np.linspace(0.02, 0.5, args.n)
    B, G = np.meshgrid(betas, gammas, indexing="ij")           # (n_beta, n_gamma)
    params = np.column_stack([B.ravel(), G.ravel()])           # one row per trajectory
    y0 = [0.999, 0.001, 0.0]
    days = np.linspace(0.0, 365.0, 366)
    common = dict(params=params, method="DOP853", rtol=1e-8, atol=1e-10,
                  progress=not args.no_progress)

    start = time.perf_counter()
    peak_run = solve_ensemble(sir, (0.0, 365.0), y0, t_eval=days, save=infected, **common)
    final_run = solve_ensemble(sir, (0.0, 365.0), y0, save="final", **common)
    elapsed = time.perf_counter() - start
    print(peak_run.message)
    print(f"{2 * len(params):,} trajectories in {elapsed:.2f} s "
          f"(including compilation on a first run)")

    peak = peak_run.y[:, 0, :].max(axis=1).reshape(B.shape)
    final_size = final_run.y[:, 2].reshape(B.shape)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
    extent = [gammas[0], gammas[-1], betas[0], betas[-1]]
    panels = [(peak, "peak infected fraction  max_t I(t)", "magma"),
              (final_size, "final epidemic size  R(365 days)", "viridis")]
    for ax, (values, title, cmap) in zip(axes, panels):
        im = ax.imshow(values, origin="lower", extent=extent, aspect="auto", cmap=cmap,
                       vmin=0.0, vmax=1.0, interpolation="nearest")
        ax.plot(gammas, gammas, color="white", lw=1.2, ls="--")
        ax.text(0.40, 0.445, "R0 = 1", color="white", rotation=25, fontsize=9)
        ax.set_xlim(gammas[0], gammas[-1])
        ax.set_ylim(betas[0], betas[-1])
        ax.set_xlabel("recovery rate gamma (1/day)")
        ax.set_ylabel("infection rate beta (1/day)")
        ax.set_title(title, fontsize=11)
        fig.colorbar(im, ax=ax, shrink=0.9)
    fig.suptitle(f"SIR over {len(params):,} (beta, gamma) pairs, I(0) = 0.1%, one year "
                 "(fastode.solve_ensemble, DOP853)", fontsize=11)
    fig.savefig(args.out, dpi=90)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
