"""POLLU: fastode's LSODA / auto against scipy's LSODA (ODEPACK), issue #16's goal >= 5x.

    python bench/lsoda_pollu.py [--rtols 1e-6,1e-7,1e-8,1e-9,1e-10] [--atol-factor 1e-4]
                                [--rounds 5] [--out bench/out/]

POLLU (bench/stiff.py's ``pollu``: 20 species, t 0..60), atol = rtol * atol-factor. Every
contender is called through ``solve_ivp`` with the same plain Python RHS (scipy's LSODA and
fastode's), warm, the minimum over interleaved rounds. Rows: scipy LSODA; fastode LSODA and auto
as shipped (Rodas4 stiff leg at rtol >= 1e-7, BDF leg below: fastode.ivp_auto); fastode LSODA
with the Rodas4 leg at every rtol (``fastode.ivp_auto.BDF_BELOW_RTOL = 0``, the stiff leg before
issue #16's change, bit for bit); numbalsoda's lsoda where importable (its kernel time on an
in-place RHS, bench/stiff.py's NumbalsodaInPlace: not like for like with the Python-RHS rows).
Columns: time, ratio scipy LSODA / contender, nfev, njev, nlu, naccept, the error at t = 60
(bench/stiff.py's measure, against scipy Radau at rtol 1e-12) and the stiff leg's name.
Writes OUT/lsoda_pollu.md (printed).

``--compare-legs``: instead, fastode's LSODA with each stiff leg forced (Rodas4 /
BDF) on bench/stiff.py's problems (Robertson, HIRES, Van der Pol mu=1e3, POLLU; their atol
rules) at rtol 1e-3, 1e-5, 1e-7, 1e-8, 1e-9: time, error, njev, naccept; the measurement behind
fastode.ivp_auto's BDF_BELOW_RTOL. Writes OUT/lsoda_legs.md.
"""
import argparse
import os
import sys

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import harness  # noqa: E402  (pins the thread pools before numba is imported)
from bench.harness import fmt_err, fmt_ratio, fmt_time, markdown_table  # noqa: E402
from bench.stiff import DEFAULT_OUT, PROBLEMS, NumbalsodaInPlace, error  # noqa: E402

import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy.integrate  # noqa: E402

import fastode  # noqa: E402
import fastode.ivp_auto as ivp_auto  # noqa: E402

PROBLEM = PROBLEMS["pollu"][0]
RTOLS = (1e-6, 1e-7, 1e-8, 1e-9, 1e-10)


def contenders(rtol, atol):
    """name -> a function returning (solution-like dict)."""
    p = PROBLEM
    shipped = ivp_auto.BDF_BELOW_RTOL

    def scipy_lsoda():
        s = scipy.integrate.solve_ivp(p.fun, p.t_span, p.y0, method="LSODA", rtol=rtol,
                                      atol=atol)
        return dict(y=s.y[:, -1], nfev=s.nfev, njev=s.njev, nlu=s.nlu, naccept=None, leg="",
                    ok=s.success)

    def fast(method, threshold):
        def run():
            ivp_auto.BDF_BELOW_RTOL = threshold
            try:
                s = fastode.solve_ivp(p.fun, p.t_span, p.y0, method=method, rtol=rtol,
                                      atol=atol)
            finally:
                ivp_auto.BDF_BELOW_RTOL = shipped
            legs = sorted({b for _, _, b in s.method_switches} - {"RK45", "Tsit5"})
            return dict(y=s.y[:, -1], nfev=s.nfev, njev=s.njev, nlu=s.nlu, naccept=s.naccept,
                        leg=",".join(legs), ok=s.success)
        return run

    out = {"scipy LSODA": scipy_lsoda,
           "fastode LSODA": fast("LSODA", shipped),
           "fastode auto": fast("auto", shipped),
           "fastode LSODA, Rodas4 leg (before)": fast("LSODA", 0.0)}
    if harness.numbalsoda_available():
        nbs = NumbalsodaInPlace(p, rtol, atol)

        def numbalsoda():
            r = nbs.solve()
            return dict(y=r["y"], nfev=None, njev=None, nlu=None, naccept=None, leg="",
                        ok=r["status"] == 0)
        out["numbalsoda lsoda (kernel)"] = numbalsoda
    return out


def measure(rtols, atol_factor, rounds):
    rows = []
    for rtol in rtols:
        atol = rtol * atol_factor
        fns = contenders(rtol, atol)
        best = {k: np.inf for k in fns}
        info = {k: f() for k, f in fns.items()}  # warm (compiles)
        for _ in range(rounds):
            for k, f in fns.items():
                t0 = time.perf_counter()
                f()
                best[k] = min(best[k], time.perf_counter() - t0)
        ref_t = best["scipy LSODA"]
        for k in fns:
            r = info[k]
            rows.append([f"{rtol:g}", k, fmt_time(best[k]), fmt_ratio(ref_t / best[k]),
                         r["nfev"] if r["nfev"] is not None else "—",
                         r["njev"] if r["njev"] is not None else "—",
                         r["nlu"] if r["nlu"] is not None else "—",
                         r["naccept"] if r["naccept"] is not None else "—",
                         fmt_err(error(PROBLEM, r["y"]) if r["ok"] else np.inf), r["leg"]])
            print(" | ".join(str(c) for c in rows[-1]), flush=True)
    return rows


def compare_legs(rounds, rtols=(1e-3, 1e-5, 1e-7, 1e-8, 1e-9)):
    """LSODA with the Rodas4 leg and with the BDF leg forced, on every bench/stiff.py problem."""
    shipped = ivp_auto.BDF_BELOW_RTOL
    rows = []
    for name, (problem, atol_factor) in PROBLEMS.items():
        for rtol in rtols:
            atol = rtol * atol_factor
            legs = {"Rodas4": 0.0, "BDF": np.inf}
            best = {k: np.inf for k in legs}
            sols = {}
            for _ in range(rounds + 1):  # the first round warms (compiles)
                for leg, threshold in legs.items():
                    ivp_auto.BDF_BELOW_RTOL = threshold
                    try:
                        t0 = time.perf_counter()
                        sol = fastode.solve_ivp(problem.fun, problem.t_span, problem.y0,
                                                method="LSODA", rtol=rtol, atol=atol,
                                                args=problem.args)
                        elapsed = time.perf_counter() - t0
                    finally:
                        ivp_auto.BDF_BELOW_RTOL = shipped
                    if leg in sols:
                        best[leg] = min(best[leg], elapsed)
                    sols[leg] = sol
            row = [name, f"{rtol:g}"]
            for leg in legs:
                sol = sols[leg]
                err = error(problem, sol.y[:, -1]) if sol.success else np.inf
                row += [fmt_time(best[leg]), fmt_err(err), sol.njev, sol.naccept]
            row.append(fmt_ratio(best["Rodas4"] / best["BDF"]))
            rows.append(row)
            print(" | ".join(str(c) for c in row), flush=True)
    header = ["problem", "rtol", "Rodas4 leg", "error", "njev", "naccept", "BDF leg", "error",
              "njev", "naccept", "Rodas4 time / BDF time"]
    return header, rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rtols", default=",".join(f"{r:g}" for r in RTOLS))
    ap.add_argument("--atol-factor", type=float, default=1e-4)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--compare-legs", action="store_true",
                    help="each stiff leg forced on bench/stiff.py's problems")
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    if a.compare_legs:
        header, rows = compare_legs(a.rounds)
        text = (f"LSODA's stiff legs forced, {a.rounds} rounds; {harness.environment_note()}\n\n"
                + markdown_table(header, rows) + "\n")
        with open(os.path.join(a.out, "lsoda_legs.md"), "w") as fh:
            fh.write(text)
        print(text)
        return
    rtols = [float(r) for r in a.rtols.split(",")]
    rows = measure(rtols, a.atol_factor, a.rounds)
    header = ["rtol", "solver", "time", "scipy LSODA / it", "nfev", "njev", "nlu", "naccept",
              "error", "stiff leg"]
    text = (f"POLLU, atol = rtol * {a.atol_factor:g}, {a.rounds} rounds; "
            f"{harness.environment_note()}\n\n" + markdown_table(header, rows) + "\n")
    with open(os.path.join(a.out, "lsoda_pollu.md"), "w") as fh:
        fh.write(text)
    print(text)


if __name__ == "__main__":
    main()
