"""Stiff problems: fastode's Rosenbrock methods vs scipy Radau/BDF/LSODA and numbalsoda's LSODA.

    python bench/stiff.py [--quick] [--out bench/out/] [--methods Rodas4,Rosenbrock23,Radau]

Problems: Robertson (t 0..1e5), HIRES (t 0..321.8122), Van der Pol mu = 1e3 (t 0..3000);
rtol 1e-3, 1e-5, 1e-7, 1e-9 (atol = rtol * 1e-4 for Robertson and HIRES, atol = rtol for Van
der Pol). For each: seconds per solve (warm, interleaved rounds, minimum), nfev, njev, nlu,
and the error at t_end: max_i |y_i - ref_i| / max(|ref_i|, ERR_FLOOR max|ref|) against scipy
Radau at rtol 1e-12. fastode is timed through ``fastode.solve_ivp`` with the plain Python
RHS (what a user writes; the call overhead is included); scipy through
``scipy.integrate.solve_ivp``; numbalsoda's ``lsoda`` inside an @njit loop (kernel time only).
Any fastode method name registered with the implicit path can be added with --methods.
Writes OUT/stiff.md (and prints it).
"""
import argparse
import datetime
import os
import sys
import warnings

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import harness  # noqa: E402  (pins the thread pools before numba is imported)
from bench.harness import (Contender, fmt_err, fmt_ratio, fmt_time, interleaved,  # noqa: E402
                           markdown_table)
from bench.problems import Problem  # noqa: E402

import numpy as np  # noqa: E402
import scipy.integrate  # noqa: E402

import fastode  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "out")


def robertson(t, y):
    return np.array([-0.04 * y[0] + 1e4 * y[1] * y[2],
                     0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                     3e7 * y[1] ** 2])


def hires(t, y):
    return np.array([
        -1.71 * y[0] + 0.43 * y[1] + 8.32 * y[2] + 0.0007,
        1.71 * y[0] - 8.75 * y[1],
        -10.03 * y[2] + 0.43 * y[3] + 0.035 * y[4],
        8.32 * y[1] + 1.71 * y[2] - 1.12 * y[3],
        -1.745 * y[4] + 0.43 * y[5] + 0.43 * y[6],
        -280.0 * y[5] * y[7] + 0.69 * y[3] + 1.71 * y[4] - 0.43 * y[5] + 0.69 * y[6],
        280.0 * y[5] * y[7] - 1.81 * y[6],
        -280.0 * y[5] * y[7] + 1.81 * y[6],
    ])


def van_der_pol(t, y, mu):
    return np.array([y[1], mu * ((1.0 - y[0] * y[0]) * y[1]) - y[0]])


PROBLEMS = {
    "robertson": (Problem("robertson", robertson, np.array([1.0, 0.0, 0.0]), (0.0, 1e5), ()),
                  1e-4),
    "hires": (Problem("hires", hires, np.array([1.0, 0, 0, 0, 0, 0, 0, 0.0057]),
                      (0.0, 321.8122), ()), 1e-4),
    "vdp1000": (Problem("vdp1000", van_der_pol, np.array([2.0, 0.0]), (0.0, 3000.0), (1000.0,)),
                1.0),
}
RTOLS = (1e-3, 1e-5, 1e-7, 1e-9)
FASTODE = ("Rodas4", "Rosenbrock23")
SCIPY = ("Radau", "BDF", "LSODA")
ERR_FLOOR = 1e-6  # error relative to max(|ref_i|, ERR_FLOOR * max|ref|)

_references = {}


def reference(problem):
    if problem.name not in _references:
        sol = scipy.integrate.solve_ivp(problem.fun, problem.t_span, problem.y0, method="Radau",
                                        rtol=1e-12, atol=1e-16, args=problem.args)
        _references[problem.name] = sol.y[:, -1]
    return _references[problem.name]


def error(problem, y_end):
    ref = reference(problem)
    if y_end is None or not np.all(np.isfinite(y_end)):
        return np.inf
    floor = ERR_FLOOR * np.max(np.abs(ref))
    return float(np.max(np.abs(y_end - ref) / np.maximum(np.abs(ref), floor)))


def run(quick=False, out_dir=DEFAULT_OUT, methods=FASTODE, problems=None):
    rtols = RTOLS[::2] if quick else RTOLS
    rounds = 2 if quick else 5
    try:
        harness.NumbalsodaCall  # noqa: B018
        import numbalsoda  # noqa: F401
        have_nbs = True
    except ImportError:
        have_nbs = False
    rows = []
    for pname in (problems or PROBLEMS):
        problem, atol_factor = PROBLEMS[pname]
        for rtol in rtols:
            atol = rtol * atol_factor
            contenders, stats = [], {}
            for m in methods:
                def fn(m=m):
                    return fastode.solve_ivp(problem.fun, problem.t_span, problem.y0, method=m,
                                             rtol=rtol, atol=atol, args=problem.args)
                sol = fn()
                stats[f"fastode {m}"] = (sol.nfev, sol.njev, sol.nlu, sol.y[:, -1]
                                         if sol.success else None)
                contenders.append(Contender(f"fastode {m}", fn=fn))
            for m in SCIPY:
                def sfn(m=m):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        return scipy.integrate.solve_ivp(problem.fun, problem.t_span,
                                                         problem.y0, method=m, rtol=rtol,
                                                         atol=atol, args=problem.args)
                sol = sfn()
                stats[f"scipy {m}"] = (sol.nfev, sol.njev, sol.nlu,
                                       sol.y[:, -1] if sol.success else None)
                contenders.append(Contender(f"scipy {m}", fn=sfn, max_rounds=2, target=0.05))
            if have_nbs:
                call = harness.NumbalsodaCall(problem, "lsoda", rtol, atol)
                res = call.solve()
                stats["numbalsoda lsoda"] = (None, None, None,
                                             res["y"] if res["status"] == 0 else None)
                contenders.append(Contender("numbalsoda lsoda", timer=call.loop_time))
            timed = interleaved(contenders, rounds)
            # DESIGN.md's target is against scipy's BDF/Radau (LSODA is compiled Fortran)
            best_scipy = min(timed[f"scipy {m}"].best for m in ("Radau", "BDF"))
            nbs = timed["numbalsoda lsoda"].best if have_nbs else None
            for name, c in timed.items():
                nfev, njev, nlu, y_end = stats[name]
                rows.append([pname, f"{rtol:.0e}", name, fmt_time(c.best),
                             "—" if nfev is None else nfev, "—" if njev is None else njev,
                             "—" if nlu is None else nlu, fmt_err(error(problem, y_end)),
                             fmt_ratio(best_scipy / c.best),
                             fmt_ratio(nbs / c.best) if nbs else "—"])
    header = ["problem", "rtol", "solver", "time", "nfev", "njev", "nlu", "error at t_end",
              "faster scipy of Radau/BDF / this", "numbalsoda lsoda / this"]
    text = "\n".join([
        f"## Stiff problems ({datetime.date.today().isoformat()})\n",
        f"Command: `python bench/stiff.py{' --quick' if quick else ''}`; "
        f"{harness.environment_note()}.\n",
        "fastode and scipy: one `solve_ivp` call with the plain Python RHS (output at every step);"
        " numbalsoda: its `lsoda` in an `@njit` loop (kernel time, output at t_end only). "
        "Error: max relative error at t_end vs scipy Radau rtol 1e-12 (atol 1e-16), each "
        f"component relative to max(|ref_i|, {ERR_FLOOR:g} max|ref|). Time: minimum over "
        "interleaved rounds.\n",
        markdown_table(header, rows), ""])
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "stiff.md"), "w") as fh:
        fh.write(text)
    print(text)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="rtol 1e-3 and 1e-7 only, 2 rounds")
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--methods", default=",".join(FASTODE))
    ap.add_argument("--problems", default=",".join(PROBLEMS))
    a = ap.parse_args(argv)
    run(a.quick, a.out, tuple(a.methods.split(",")), a.problems.split(","))


if __name__ == "__main__":
    main()
