"""The lecture's heat equation by a PINN (issue #15): fastode.pinn, three seeds, one thread,
beside the method of lines and (where installed) DeepXDE with the PyTorch backend.

    python bench/pinn.py [--seeds 0,1,2] [--soft] [--out bench/out/]

u_t = alpha u_xx, alpha = 0.4/pi^2, u(x, 0) = sin(pi x), u = 0 at x = 0, 1, x, t in [0, 1]
(exact: exp(-0.4 t) sin(pi x)). fastode.pinn.train's defaults: a 3 x 32 tanh network with the
initial and boundary data built in (constraints="hard"), 1000 Sobol residual points, Adam 300
steps (float32) then float64 L-BFGS (at most 300 iterations). ``--soft`` also runs the classic
soft-constraint PINN (data in the loss, as DeepXDE's example) with Adam 2000 + L-BFGS 1000.
Error: relative L2 on the 257 x 101 grid of the method-of-lines reference (fastode.pde.heat_1d,
255 unknowns, BDF rtol 1e-10), printed against the exact solution and against that reference.
DeepXDE: the same network and points as its heat example (Adam 5000 at lr 1e-3, then L-BFGS,
float32), DDE_BACKEND=pytorch, if it imports. Writes OUT/pinn.md.
"""
import argparse
import datetime
import os
import sys
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/..")

from bench import harness  # noqa: E402  (one thread for numba/BLAS)
from bench.harness import markdown_table  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def deepxde_run(seed):
    """DeepXDE's heat example on the lecture problem; (seconds, relative L2 error) or None."""
    os.environ.setdefault("DDE_BACKEND", "pytorch")
    try:
        import deepxde as dde
    except Exception:  # not installed, or its backend failed to load
        return None
    import torch
    torch.set_num_threads(1)
    dde.config.set_random_seed(seed)
    alpha = 0.4 / np.pi ** 2
    geom = dde.geometry.GeometryXTime(dde.geometry.Interval(0, 1), dde.geometry.TimeDomain(0, 1))

    def pde_(x, y):
        return dde.grad.jacobian(y, x, i=0, j=1) - alpha * dde.grad.hessian(y, x, i=0, j=0)

    def exact(x):
        return np.exp(-0.4 * x[:, 1:2]) * np.sin(np.pi * x[:, 0:1])
    bc = dde.icbc.DirichletBC(geom, lambda x: 0, lambda _, on_boundary: on_boundary)
    ic = dde.icbc.IC(geom, lambda x: np.sin(np.pi * x[:, 0:1]), lambda _, on_initial: on_initial)
    data = dde.data.TimePDE(geom, pde_, [bc, ic], num_domain=2540, num_boundary=80,
                            num_initial=160, num_test=2540, solution=exact)
    net = dde.nn.FNN([2] + [20] * 3 + [1], "tanh", "Glorot normal")
    model = dde.Model(data, net)
    start = time.perf_counter()
    model.compile("adam", lr=1e-3)
    model.train(iterations=5000, display_every=100000)
    model.compile("L-BFGS")
    model.train(display_every=100000)
    seconds = time.perf_counter() - start
    x = np.linspace(0, 1, 257)
    t = np.linspace(0, 1, 101)
    X, T = np.meshgrid(x, t)
    pts = np.stack([X.ravel(), T.ravel()], 1)
    u = model.predict(pts).ravel()
    ref = exact(pts).ravel()
    return seconds, float(np.linalg.norm(u - ref) / np.linalg.norm(ref))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--soft", action="store_true")
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    from fastode import pinn
    seeds = [int(s) for s in a.seeds.split(",")]
    configs = [("fastode.pinn, hard constraints (defaults)", {})]
    if a.soft:
        configs.append(("fastode.pinn, soft constraints, Adam 2000 + L-BFGS 1000",
                        dict(constraints="soft", adam_steps=2000, lbfgs_steps=1000)))
    rows, mol = [], None
    for label, opts in configs:
        res = pinn.run_lecture_example(seeds=seeds, verbose=True, **opts)
        mol = res[0]
        rows.append([label, ", ".join(f"{r['pinn_vs_exact']:.1e}" for r in res),
                     f"{np.median([r['pinn_vs_exact'] for r in res]):.1e}",
                     ", ".join(f"{r['pinn_vs_mol']:.1e}" for r in res),
                     ", ".join(f"{r['seconds']:.1f}" for r in res),
                     f"{np.median([r['seconds'] for r in res]):.1f}",
                     ", ".join(r["stop_reason"] for r in res)])
    rows.append(["method of lines (fastode.pde.heat_1d, 255 points, BDF rtol 1e-10)",
                 f"{mol['mol_vs_exact']:.1e}", f"{mol['mol_vs_exact']:.1e}", "—",
                 f"{mol['mol_seconds']:.4f}", f"{mol['mol_seconds']:.4f}", "—"])
    dx = [deepxde_run(s) for s in seeds[:1]]
    if dx[0] is None:
        note = "DeepXDE: not installed here (pip install deepxde; DDE_BACKEND=pytorch)."
    else:
        dx = [dx[0]] + [deepxde_run(s) for s in seeds[1:]]
        rows.append(["DeepXDE (pytorch backend, Adam 5000 + L-BFGS, float32)",
                     ", ".join(f"{e:.1e}" for _, e in dx), f"{np.median([e for _, e in dx]):.1e}",
                     "—", ", ".join(f"{s:.1f}" for s, _ in dx),
                     f"{np.median([s for s, _ in dx]):.1f}", "—"])
        note = ""
    header = ["solver", "rel. L2 vs exact (per seed)", "median", "rel. L2 vs MOL",
              "training s (per seed)", "median s", "L-BFGS stop"]
    text = (f"# PINN, heat equation u_t = 0.4/pi^2 u_xx (issue #15)\n\n"
            f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; "
            f"{harness.environment_note()}, torch {torch.__version__} (1 thread)\n\n"
            f"Command: `python bench/pinn.py --seeds {a.seeds}{' --soft' if a.soft else ''}`\n\n"
            f"{markdown_table(header, rows)}\n\n{note}\n")
    print(text)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "pinn.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
