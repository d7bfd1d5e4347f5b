"""The Python fallback against scipy: a 2-D Brusselator whose RHS numba cannot compile.

    python bench/fallback.py [--n 32] [--t-end 1.0] [--methods BDF,RK45] [--rounds 3]

The RHS multiplies by a ``scipy.sparse`` Laplacian (numba cannot compile it), so fastode calls
it through Python (one FallbackWarning). Both libraries get the same Python function; BDF gets
``jac_sparsity`` (the 5-point stencil + the local coupling). Prints seconds per solve (minimum
over interleaved rounds), nfev, njev, nlu, and the largest difference between the two final
states relative to max|y|.
"""
import argparse
import os
import sys
import time
import warnings

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import scipy.integrate  # noqa: E402
import scipy.sparse as sp  # noqa: E402

import fastode  # noqa: E402


def laplacian(m, alpha):
    """Periodic 5-point Laplacian on an m x m grid (unit square), times alpha."""
    one = sp.diags([np.ones(m - 1), -2 * np.ones(m), np.ones(m - 1)], [-1, 0, 1]).tolil()
    one[0, m - 1] = one[m - 1, 0] = 1.0
    eye = sp.identity(m)
    return (alpha * (m ** 2) * (sp.kron(one, eye) + sp.kron(eye, one))).tocsr()


def brusselator(m, alpha=0.002, a=1.0, b=3.4):
    lap = laplacian(m, alpha)
    k = m * m

    def fun(t, y):
        u, v = y[:k], y[k:]
        uuv = u * u * v
        return np.concatenate([a + uuv - (b + 1.0) * u + lap @ u, b * u - uuv + lap @ v])

    pattern = sp.bmat([[lap != 0, sp.identity(k)], [sp.identity(k), lap != 0]]).tocsr()
    pattern = (pattern + sp.identity(2 * k)).astype(bool).astype(float)
    x = np.arange(m) / m
    xx, yy = np.meshgrid(x, x)
    u0 = 22.0 * yy * (1.0 - yy) ** 1.5
    v0 = 27.0 * xx * (1.0 - xx) ** 1.5
    return fun, pattern, np.concatenate([u0.ravel(), v0.ravel()])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=32, help="grid side (2 n^2 states)")
    ap.add_argument("--t-end", type=float, default=1.0)
    ap.add_argument("--methods", default="BDF,RK45")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rtol", type=float, default=1e-6)
    ns = ap.parse_args()
    fun, pattern, y0 = brusselator(ns.n)
    print(f"2-D Brusselator, {ns.n}x{ns.n} grid, {y0.size} states, t 0..{ns.t_end}, "
          f"rtol {ns.rtol}, atol {ns.rtol * 1e-3}")
    warnings.simplefilter("ignore", fastode.FallbackWarning)
    print("| method | library | s/solve | nfev | njev | nlu | max diff / max|y| |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for method in ns.methods.split(","):
        kw = dict(method=method, rtol=ns.rtol, atol=ns.rtol * 1e-3)
        if method in ("BDF", "Radau", "LSODA"):
            kw["jac_sparsity"] = pattern
        best = {"scipy": np.inf, "fastode": np.inf}
        res = {}
        fastode.solve_ivp(fun, (0.0, ns.t_end), y0, **kw)  # compile the drivers first
        for _ in range(ns.rounds):
            for name, solve in (("scipy", scipy.integrate.solve_ivp), ("fastode",
                                                                      fastode.solve_ivp)):
                t = time.perf_counter()
                res[name] = solve(fun, (0.0, ns.t_end), y0, **kw)
                best[name] = min(best[name], time.perf_counter() - t)
        diff = (np.abs(res["fastode"].y[:, -1] - res["scipy"].y[:, -1]).max()
                / np.abs(res["scipy"].y[:, -1]).max())
        for name in ("scipy", "fastode"):
            r = res[name]
            print(f"| {method} | {name} | {best[name]:.3f} | {r.nfev} | {r.njev} | {r.nlu} | "
                  f"{diff:.1e} |" + ("" if r.success else f" FAILED: {r.message}"))


if __name__ == "__main__":
    main()
