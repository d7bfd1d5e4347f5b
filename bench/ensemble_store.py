"""What a result store costs a sweep: solve_ensemble without a store, with the .npz store and with
the Zarr store (store="x.zarr"), on the README's Lotka-Volterra sweep (100 outputs, rtol 1e-6).

    python bench/ensemble_store.py [--n 10000] [--repeat 3]

Prints the best of ``--repeat`` runs per variant (each store run writes a new store) and the
store's size on disk. The first, untimed, run compiles.
"""
import argparse
import os
import shutil
import tempfile
import time

import numpy as np

import fastode


def lotka_volterra(t, y, p):
    return np.array([p[0] * y[0] - p[1] * y[0] * y[1], -p[2] * y[1] + p[3] * y[0] * y[1]])


def folder_size(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path)
               for f in files)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rates = [1.5, 1.0, 3.0, 1.0] * np.random.default_rng(0).uniform(0.8, 1.2, (args.n, 4))
    kw = dict(params=rates, t_eval=np.linspace(0.0, 15.0, 100), rtol=1e-6, atol=1e-9)
    fastode.solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], **dict(kw, params=rates[:8]))
    tmp = tempfile.mkdtemp()
    try:
        for name, store in (("no store", None), ("npz store", "s"), ("zarr store", "s.zarr")):
            best, size = np.inf, 0
            for r in range(args.repeat):
                path = None if store is None else os.path.join(tmp, f"{r}-{store}")
                t0 = time.perf_counter()
                fastode.solve_ensemble(lotka_volterra, (0.0, 15.0), [10.0, 5.0], store=path,
                                       **kw)
                best = min(best, time.perf_counter() - t0)
                if path is not None:
                    size = folder_size(path)
                    shutil.rmtree(path)
            extra = f", {size / 1e6:.1f} MB on disk" if store else ""
            print(f"{name:>10}: {best:.3f} s ({args.n / best:,.0f} traj/s){extra}")
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
