"""Langevin sampling of a 1-D double well, histogram against the true density (fastode.langevin).

    pi(x) ~ exp(-U(x) / T),   U(x) = (x^2 - 1)^2,  T = 0.3

Chains start in the left well; the barrier (U(0) = 1, about 3.3 T) makes hops between the wells
rare, which is what the effective sample size reports. Each method's histogram is drawn over
the exact density (normalised by quadrature). Run:

    python examples/langevin_double_well.py [--chains 64] [--out examples/langevin_double_well.png]
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from fastode.langevin import sample  # noqa: E402

TEMPERATURE = 0.3


def grad_log_density(x, temperature):
    return np.array([-4.0 * x[0] * (x[0] * x[0] - 1.0) / temperature])


def log_density(x, temperature):
    return -((x[0] * x[0] - 1.0) ** 2) / temperature


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, default=64)
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__),
                                                      "langevin_double_well.png"))
    opts = parser.parse_args()
    grid = np.linspace(-2.0, 2.0, 801)
    density = np.exp(-((grid ** 2 - 1.0) ** 2) / TEMPERATURE)
    density /= np.trapezoid(density, grid)
    runs = {}
    for method, step in (("ULA", 0.01), ("MALA", 0.05), ("BAOAB", 0.05), ("OBABO", 0.05)):
        sample(grad_log_density, [-1.0], method=method, step=step, n_samples=2,
               log_density=log_density, args=(TEMPERATURE,))  # compiles (first run only)
        start = time.perf_counter()
        res = sample(grad_log_density, [-1.0], method=method, step=step,
                     n_samples=opts.samples, thin=5, burn_in=2000, n_chains=opts.chains,
                     friction=1.0, log_density=log_density, args=(TEMPERATURE,), seed=2024)
        elapsed = time.perf_counter() - start
        x = res.samples.ravel()
        print(f"{method:6s} step {step}: {res.n_steps * opts.chains / elapsed / 1e6:6.1f} M "
              f"steps/s, acceptance {res.acceptance_rate.mean():.3f}, ESS {res.ess[0]:8.0f}, "
              f"P(x > 0) = {np.mean(x > 0):.3f} (exact 0.5)")
        runs[method] = (x, res)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure")
        return
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.4), sharey=True)
    for ax, (method, (x, res)) in zip(axes, runs.items()):
        ax.hist(x, bins=120, range=(-2, 2), density=True, color="tab:blue", alpha=0.6,
                label="samples")
        ax.plot(grid, density, "k", lw=1.2, label="exact")
        ax.set_title(f"{method}: ESS {res.ess[0]:.0f}, acc. {res.acceptance_rate.mean():.2f}")
        ax.set_xlabel("x")
    axes[0].set_ylabel("density")
    axes[0].legend(loc="upper center", fontsize=8)
    fig.suptitle(f"double well U(x) = (x^2 - 1)^2 at T = {TEMPERATURE}, {opts.chains} chains "
                 f"(fastode.langevin)")
    fig.tight_layout()
    fig.savefig(opts.out, dpi=110)
    print(f"wrote {opts.out}")


if __name__ == "__main__":
    main()
