"""The 2-D Brusselator (Hairer & Wanner) by the method of lines, with a picture.

    python examples/brusselator_2d.py [n]

u' = 1 + u^2 v - 4.4 u + 0.02 lap u, v' = 3.4 u - u^2 v + 0.02 lap v on the periodic unit square,
u(x, y, 0) = 22 y (1 - y)^1.5, v(x, y, 0) = 27 x (1 - x)^1.5, an n x n grid (default 16: the
2 n^2 unknowns are coupled by a non-banded sparsity, which fastode's stiff solvers factor densely
for now, so larger grids are slow; see README "PDEs"). Writes examples/brusselator_2d.png.
"""
import os
import sys
import time

import numpy as np

from fastode import pde


def main(n=16, png=os.path.join(os.path.dirname(os.path.abspath(__file__)), "brusselator_2d.png")):
    prob = pde.brusselator_2d(n)
    times = np.array([0.0, 0.5, 1.0, 1.5])
    start = time.perf_counter()
    sol = prob.solve((0.0, 1.5), method="BDF", t_eval=times, rtol=1e-6, atol=1e-8)
    print(f"{prob}: {sol.message} ({time.perf_counter() - start:.2f} s with compile, "
          f"nfev {sol.nfev}, nlu {sol.nlu})")
    fields = prob.fields(sol.y)  # (2, n, n, len(times))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, len(times), figsize=(3.2 * len(times), 6.2))
    for s, name in enumerate("uv"):
        lo, hi = fields[s].min(), fields[s].max()
        for i, t in enumerate(times):
            ax = axes[s, i]
            im = ax.imshow(fields[s, :, :, i], origin="lower", extent=(0, 1, 0, 1), vmin=lo,
                           vmax=hi, cmap="viridis", interpolation="bicubic")
            ax.set_title(f"{name}, t = {t:.1f}")
            ax.set_xticks([])
            ax.set_yticks([])
        fig.colorbar(im, ax=axes[s].tolist(), shrink=0.8)
    fig.savefig(png, dpi=100)
    print(f"wrote {png}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 16)
