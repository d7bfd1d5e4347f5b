"""Newton-Krylov linear solves (issue #15): fastode.kernels.krylov's GMRES + ILU(0) against
scipy.sparse.linalg.splu on the iteration matrix A = I - c J of the 2-D Brusselator.

    python bench/krylov.py [--sizes 32,64,128] [--c 0.01,0.1] [--maxl 30] [--rounds 5]

``fastode.pde.brusselator_2d(N)`` (natural [u, v] layout, 2 N^2 unknowns), J at a smooth state
around the steady state (u, v) = (1, 3.4) (tests/test_krylov.py's ``smooth_state``), b a random
vector of WRMS norm ~1 in the Newton iteration's norm (scale = atol + rtol |y|, rtol 1e-6, atol
1e-8), GMRES's tolerance delta = 0.05 x scipy BDF's Newton tolerance (5e-5). One thread.
Timed, interleaved, best of ``--rounds``:

* ``J (FD)``: J's values on the pattern by grouped forward differences (one RHS call per group);
* ``ILU(0)``: its factorisation of I - c J; ``GMRES+ILU0`` / ``GMRES``: one solve of A x = b,
  matrix-free (one RHS call per Krylov vector), with ILU(0) / without preconditioner;
* ``splu``: scipy's SuperLU factorisation of the same A (CSC, COLAMD), and ``splu solve``.

``err`` is ||x - x_splu||_wrms (GMRES stops at ||b - A x||_wrms <= delta). A driver factors once
per Jacobian (or c) change and solves in every Newton iteration, so both columns matter.
Writes OUT/krylov.md.
"""
import argparse
import os
import sys

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)) + "/..")

from bench import harness  # noqa: E402  (pins the thread pools before numba is imported)
from bench.harness import Contender, fmt_time, interleaved, markdown_table  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import scipy.sparse.linalg as spl  # noqa: E402

from fastode import pde  # noqa: E402
from fastode.kernels import krylov as K  # noqa: E402
from fastode.kernels.jacobian import cpr_groups, pattern_columns  # noqa: E402
from fastode.rhs import compile_rhs  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RTOL, ATOL = 1e-6, 1e-8
DELTA = 0.05 * max(10 * np.finfo(float).eps / RTOL, min(0.03, RTOL ** 0.5))


def smooth_state(N):
    x = np.arange(N) / N
    X, Y = np.meshgrid(x, x)
    u = 1.0 + 0.5 * np.sin(2 * np.pi * X) * np.cos(2 * np.pi * Y)
    v = 3.4 + 0.5 * np.cos(2 * np.pi * (X + Y))
    return np.concatenate([u.ravel(), v.ravel()])


def wrms(v, scale):
    return float(np.sqrt(np.mean((v / scale) ** 2)))


def run(N, cs, maxl, rounds):
    prob = pde.brusselator_2d(N)
    n = prob.n
    compiled = compile_rhs(prob.fun, n, (), False, False)
    rhs, p = compiled.address, np.zeros(1)
    group_ptr, group_cols, col_ptr, rows = cpr_groups(pattern_columns(prob.jac_sparsity), n)
    y = smooth_state(N)
    f0 = prob.fun(0.0, y)
    atol = np.full(n, ATOL)
    scale = ATOL + RTOL * np.abs(y)
    b = scale * np.random.default_rng(0).standard_normal(n)
    jvals = np.empty(rows.size)
    scratch = np.empty((3, n))
    jac_args = (rhs, p, 0.0, y, f0, atol, group_ptr, group_cols, col_ptr, rows, jvals, *scratch)
    K.grouped_jacobian_values(*jac_args)
    J = sp.csc_matrix((jvals.copy(), rows, col_ptr), shape=(n, n))
    lu, diag, pos = K.ilu_workspace(col_ptr)
    V, H = K.krylov_workspace(n, maxl)
    x = np.empty(n)
    out = []
    for c in cs:
        A = (sp.identity(n, format="csc") - c * J).tocsc()
        A.sort_indices()

        def factor(c=c):
            return K.ilu0_factor(col_ptr, rows, jvals, c, lu, diag, pos)

        def gmres(prec, c=c):
            return K.gmres(rhs, p, 0.0, y, f0, c, b, scale, DELTA, maxl, 20, prec, col_ptr,
                           rows, lu, diag, 0, x, V, H)
        assert factor() == K.KRYLOV_SUCCESS
        slu = spl.splu(A)
        x_lu = slu.solve(b)
        stats = {}
        for prec in (K.PREC_ILU0, K.PREC_NONE):
            status, iters, nfev, res = gmres(prec)
            stats[prec] = (status, iters, nfev, res, wrms(x - x_lu, scale),
                           wrms(b - A @ x, scale))
        timed = interleaved([
            Contender("J (FD)", lambda: K.grouped_jacobian_values(*jac_args)),
            Contender("ILU(0)", factor),
            Contender("GMRES+ILU0", lambda: gmres(K.PREC_ILU0)),
            Contender("GMRES", lambda: gmres(K.PREC_NONE)),
            Contender("splu", lambda: spl.splu(A)),
            Contender("splu solve", lambda: slu.solve(b)),
        ], rounds)
        t = {k: v.best for k, v in timed.items()}
        fill = (slu.L.nnz + slu.U.nnz) / A.nnz
        out.append(dict(N=N, n=n, c=c, nnz=A.nnz, groups=group_ptr.size - 1, t=t, stats=stats,
                        fill=fill))
        s1, s0 = stats[K.PREC_ILU0], stats[K.PREC_NONE]
        print(f"N={N} n={n} c={c:g}: J {fmt_time(t['J (FD)'])}, ILU(0) {fmt_time(t['ILU(0)'])}, "
              f"GMRES+ILU0 {fmt_time(t['GMRES+ILU0'])} ({s1[1]} it, status {s1[0]}, err "
              f"{s1[4]:.1e}), GMRES {fmt_time(t['GMRES'])} ({s0[1]} it, status {s0[0]}), "
              f"splu {fmt_time(t['splu'])} + {fmt_time(t['splu solve'])} (fill {fill:.1f}x)",
              flush=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="32,64,128")
    ap.add_argument("--c", default="0.01,0.1")
    ap.add_argument("--maxl", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    args = ap.parse_args()
    cs = [float(c) for c in args.c.split(",")]
    results = []
    for N in (int(s) for s in args.sizes.split(",")):
        results += run(N, cs, args.maxl, args.rounds)
    rows = []
    for r in results:
        t, s1, s0 = r["t"], r["stats"][K.PREC_ILU0], r["stats"][K.PREC_NONE]
        rows.append([f"{r['N']}^2 ({r['n']})", f"{r['c']:g}", fmt_time(t["J (FD)"]),
                     fmt_time(t["ILU(0)"]),
                     f"{fmt_time(t['GMRES+ILU0'])} ({s1[1]} it, {s1[4]:.0e})",
                     f"{fmt_time(t['GMRES'])} ({s0[1]} it"
                     + ("" if s0[0] == 0 else f", status {s0[0]}") + ")",
                     fmt_time(t["splu"]), fmt_time(t["splu solve"]), f"{r['fill']:.1f}",
                     f"{(t['ILU(0)'] + t['GMRES+ILU0']) / (t['splu'] + t['splu solve']):.2f}"])
    table = markdown_table(["grid (n)", "c", "J (FD)", "ILU(0)", "GMRES+ILU0 (iters, err)",
                            "GMRES (iters)", "splu", "splu solve", "LU fill",
                            "(ILU+GMRES)/(splu+solve)"], rows)
    text = (f"# Newton-Krylov linear solves: GMRES + ILU(0) vs splu (2-D Brusselator)\n\n"
            f"{harness.environment_note()}; maxl {args.maxl}, delta {DELTA:.1e}, best of "
            f"{args.rounds} interleaved rounds.\n\n{table}\n")
    print(text)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "krylov.md"), "w") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
