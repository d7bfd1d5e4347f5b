"""Reference-count operations of the real drivers, per accepted step and in their IR.

    NUMBA_DEBUG_NRT=1 FASTODE_KERNEL_CACHE_DIR=$(mktemp -d) PYTHONPATH=<tree> \
        python bench/refcount/drivers.py [--cases rk45,rodas5p,...]

NUMBA_DEBUG_NRT=1 makes numba print a line for every incref/decref of a live array; a solve is
run over two intervals and the difference of the counts divided by the difference of the
accepted steps (the per-solve set-up cancels). A fresh FASTODE_KERNEL_CACHE_DIR makes the
drivers compile in this process, so their optimized LLVM IR can be read: the NRT_incref/NRT_decref
call sites left inside loops are printed too. Run it once per tree (before/after a change).
"""
import argparse
import os
import sys

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))

import numpy as np  # noqa: E402


def lotka_volterra(t, y):
    return np.array([1.5 * y[0] - y[0] * y[1], -3.0 * y[1] + y[0] * y[1]])


def lv_event(t, y):
    return y[0] - 100.0  # never fires: the cost of checking


def robertson(t, y):
    return np.array([-0.04 * y[0] + 1e4 * y[1] * y[2],
                     0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                     3e7 * y[1] ** 2])


def rob_event(t, y):
    return y[0] - 1e-9  # never fires


CASES = {
    # name: (method, fun, y0, (t_end short, t_end long), event, driver module, driver name)
    "rk45": ("RK45", lotka_volterra, [10.0, 5.0], (15.0, 60.0), lv_event,
             "fastode.kernels.explicit", "explicit_rk_solve"),
    "rodas5p": ("Rodas5P", robertson, [1.0, 0.0, 0.0], (1e2, 1e5), rob_event,
                "fastode.kernels.rosenbrock", "rosenbrock_solve"),
    "radau": ("Radau", robertson, [1.0, 0.0, 0.0], (1e2, 1e5), rob_event,
              "fastode.kernels.radau", "radau_driver"),
    "bdf": ("BDF", robertson, [1.0, 0.0, 0.0], (1e2, 1e5), rob_event,
            "fastode.kernels.bdf", "bdf_solve"),
    "kvaerno5": ("Kvaerno5", robertson, [1.0, 0.0, 0.0], (1e2, 1e5), rob_event,
                 "fastode.kernels.esdirk", "esdirk_solve"),
    # Robertson stays stiff: LSODA runs its Rodas4 leg after a few explicit steps
    "lsoda": ("LSODA", robertson, [1.0, 0.0, 0.0], (1e2, 1e5), rob_event,
              "fastode.kernels.switching", "rodas_leg_solve"),
}
OPTIONS = {
    "plain": {},
    "t_eval": {"t_eval": "linspace"},
    "dense": {"dense_output": True},
    "event": {"events": "event"},
}


def main():
    import importlib

    import fastode
    from fastode.kernels.status import SUCCESS  # noqa: F401
    from bench.refcount.irtools import _capture_c_stdout, static_refops

    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default="rk45,rodas5p")
    args = ap.parse_args()
    if os.environ.get("NUMBA_DEBUG_NRT") != "1":
        sys.exit("run with NUMBA_DEBUG_NRT=1 FASTODE_KERNEL_CACHE_DIR=$(mktemp -d)")
    print(f"fastode from {os.path.dirname(fastode.__file__)}")
    print("| driver | options | refops per accepted step (inc/dec) | refop call sites in "
          "the driver's loops (inc/dec) |")
    print("| --- | --- | --- | --- |")
    for case in args.cases.split(","):
        method, fun, y0, (ta, tb), event, modname, drvname = CASES[case]
        for opt_name, opt in OPTIONS.items():
            counts = []
            for t_end in (ta, tb, ta, tb):  # the first pair compiles and warms up
                kw = {}
                if "t_eval" in opt:
                    kw["t_eval"] = np.linspace(0.0, t_end, 50)
                if "dense_output" in opt:
                    kw["dense_output"] = True
                if "events" in opt:
                    kw["events"] = event

                def solve():
                    return fastode.solve_ivp(fun, (0.0, t_end), y0, method=method, rtol=1e-6,
                                             atol=1e-9, **kw)
                sol, text = _capture_c_stdout(solve)
                assert sol.success, sol.message
                counts.append((text.count("NRT_Incref"), text.count("NRT_Decref"),
                               sol.naccept if hasattr(sol, "naccept") else sol.t.size))
            (ia, da, na), (ib, db, nb) = counts[2], counts[3]
            steps = nb - na
            mod = importlib.import_module(modname)
            static = static_refops(getattr(mod, drvname))
            print(f"| {drvname} ({method}) | {opt_name} | {(ib - ia) / steps:.2f}/"
                  f"{(db - da) / steps:.2f} | {static['loop_incref']}/{static['loop_decref']} |",
                  flush=True)


if __name__ == "__main__":
    main()
