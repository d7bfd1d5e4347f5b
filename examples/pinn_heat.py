"""The lecture's heat equation by a physics-informed neural network (needs torch).

    python examples/pinn_heat.py [seeds...]

u_t = alpha u_xx, alpha = 0.4/pi^2, u(x, 0) = sin(pi x), u = 0 at x = 0 and 1, x, t in [0, 1].
fastode.pinn trains a small tanh network (Adam, then float64 L-BFGS, one torch thread) and prints
its relative L2 error against the exact solution and against fastode's method-of-lines solution;
writes examples/pinn_heat.png (loss curve and error heat maps of the first seed).
"""
import os
import sys

from fastode import pinn

if __name__ == "__main__":
    seeds = tuple(int(s) for s in sys.argv[1:]) or (0,)
    png = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pinn_heat.png")
    pinn.run_lecture_example(seeds=seeds, png=png)
    print(f"wrote {png}")
