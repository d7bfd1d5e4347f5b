"""fastode vs scipy (and a C DOPRI5, and numbalsoda when installed) on the standard problems.

    python -m bench.compare [--quick] [--out bench/out/] [--problems lorenz,arenstorf]
    python bench/compare.py --quick

For each problem and rtol (atol = rtol * 1e-3), methods RK45 and DOP853:
  * wall time per solve of ``fastode.solve_ivp`` (warm; the problem's plain Python RHS) and of
    ``scipy.integrate.solve_ivp``, same method and tolerances; nfev of each; error at t_end vs a
    scipy DOP853 rtol=atol=1e-13 reference;
  * for RK45, fastode's kernel (``explicit_rk_solve`` called directly) against an independent C
    DOPRI5 (bench/c_ref/dopri5.c) running the SAME compiled numba cfunc, both timed in a compiled
    loop, with nfev/naccept checked equal;
  * numbalsoda's ``dop853`` and ``lsoda`` in a numba loop, when numbalsoda is importable.
Prints markdown tables and writes them to OUT/compare.md (raw numbers in OUT/compare.json).

Thread pools are pinned to one thread (NUMBA_NUM_THREADS=1, OMP_NUM_THREADS=1; see
bench/harness.py). Timing: interleaved rounds, minimum over rounds; read ratios, not absolutes.
"""
import argparse
import datetime
import json
import os
import sys
import warnings

if __package__ in (None, ""):  # run as a script: make `bench` and `fastode` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import harness  # noqa: E402  (sets the thread pools before numba is imported)
from bench.harness import (Contender, KernelCall, NumbalsodaCall, fmt_err, fmt_ratio,  # noqa: E402
                           fmt_time, interleaved, markdown_table)
from bench.problems import PROBLEMS, error, reference, reference_error  # noqa: E402

import numpy as np  # noqa: E402
import scipy.integrate  # noqa: E402

import fastode  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "out")
ATOL_FACTOR = 1e-3
FULL_RTOLS = [10.0 ** -k for k in range(3, 11)]
QUICK_RTOLS = [1e-3, 1e-6, 1e-9]
METHODS = ("RK45", "DOP853")


def _safe(fn, *args, **kwargs):
    """(value, None) or (None, 'ExcType: message')."""
    try:
        return fn(*args, **kwargs), None
    except Exception as exc:  # a benchmark run reports failures, it does not stop on them
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def _first_diff(t_a, t_b):
    """The first time at which two step sequences differ (as a string)."""
    m = min(len(t_a), len(t_b))
    diff = np.nonzero(t_a[:m] != t_b[:m])[0]
    k = int(diff[0]) if diff.size else m
    return f"{t_b[k]:.6g} (step {k})" if k < len(t_b) else f"end (step {k})"


def _c_available():
    try:
        from bench.c_ref import load_dopri5
        load_dopri5()
        return True, ""
    except Exception as exc:
        return False, str(exc).strip().splitlines()[0]


def measure_cell(problem, method, rtol, rounds, target, c_ok, nbs_ok):
    """All numbers for one (problem, method, rtol)."""
    atol = rtol * ATOL_FACTOR
    fun, t_span, y0, args = problem.fun, problem.t_span, problem.y0, problem.args
    row = dict(problem=problem.name, method=method, rtol=rtol, atol=atol, notes=[])

    def fastode_call():
        return fastode.solve_ivp(fun, t_span, y0, method=method, args=args, rtol=rtol, atol=atol)

    def scipy_call():
        return scipy.integrate.solve_ivp(fun, t_span, y0, method=method, args=args, rtol=rtol,
                                         atol=atol)

    contenders = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", fastode.FallbackWarning)  # the fast path or nothing
        res_f, err_f = _safe(fastode_call)
    if res_f is not None:
        row.update(fastode_nfev=int(res_f.nfev), fastode_naccept=res_f.naccept,
                   fastode_nreject=res_f.nreject, fastode_success=bool(res_f.success),
                   fastode_err=error(problem, res_f.y[:, -1]))
        contenders.append(Contender("fastode", fastode_call, target=target))
    else:
        row["notes"].append(f"fastode failed: {err_f}")
    res_s, err_s = _safe(scipy_call)
    if res_s is not None:
        row.update(scipy_nfev=int(res_s.nfev), scipy_success=bool(res_s.success),
                   scipy_err=error(problem, res_s.y[:, -1]))
        if res_f is not None and int(res_f.nfev) != int(res_s.nfev):
            row["notes"].append(f"nfev fastode {int(res_f.nfev)} != scipy {int(res_s.nfev)} "
                                f"(first differing step t = {_first_diff(res_f.t, res_s.t)})")
        contenders.append(Contender("scipy", scipy_call, target=0.0))  # 1 call per sample
    else:
        row["notes"].append(f"scipy failed: {err_s}")

    if res_f is not None:
        kernel, err_k = _safe(KernelCall, problem, method, rtol, atol)
        if kernel is not None:
            ks = kernel.solve()
            row.update(kernel_nfev=ks["nfev"], kernel_naccept=ks["naccept"],
                       kernel_nreject=ks["nreject"])
            contenders.append(Contender("kernel_py", kernel, target=target))
            contenders.append(Contender("kernel_loop", timer=kernel.loop_time, target=target))
            if method == "RK45":
                kernel_te = KernelCall(problem, method, rtol, atol, t_eval_end=True)
                contenders.append(Contender("kernel_teval_loop", timer=kernel_te.loop_time,
                                            target=target))
            if method == "RK45" and c_ok:
                from bench.c_ref import dopri5_solve, dopri5_time
                cs = dopri5_solve(kernel.address, kernel.p, kernel.t0, kernel.t1, kernel.y0,
                                  kernel.rtol, kernel.atol)
                row.update(c_nfev=cs["nfev"], c_naccept=cs["naccept"], c_nreject=cs["nreject"],
                           c_status=cs["status"], c_err=error(problem, cs["y"]),
                           c_vs_kernel=float(np.max(np.abs(cs["y"] - ks["y"]))
                                             / np.max(np.abs(ks["y"]))))
                if cs["nfev"] != ks["nfev"]:
                    row["notes"].append(f"nfev kernel {ks['nfev']} != C {cs['nfev']}")

                def c_timer(reps, k=kernel):
                    return dopri5_time(k.address, k.p, k.t0, k.t1, k.y0, k.rtol, k.atol, reps)

                contenders.append(Contender("c_loop", timer=c_timer, target=target))
        else:
            row["notes"].append(f"kernel call failed: {err_k}")

    if nbs_ok and method == "DOP853":  # numbalsoda once per (problem, rtol): its dop853 + lsoda
        for solver in ("dop853", "lsoda"):
            nb_call, err_n = _safe(NumbalsodaCall, problem, solver, rtol, atol)
            res_n, err_n2 = _safe(nb_call.solve) if nb_call is not None else (None, err_n)
            if res_n is not None:
                row[f"nbs_{solver}_err"] = error(problem, res_n["y"])
                contenders.append(Contender(f"nbs_{solver}", timer=nb_call.loop_time,
                                            target=target))
            else:
                row["notes"].append(f"numbalsoda {solver} failed: {err_n2}")

    for c in contenders:
        if c.name == "scipy":
            c.max_rounds = rounds
    timed = interleaved(contenders, rounds)
    for name, c in timed.items():
        row[f"{name}_time"] = c.best
        row[f"{name}_median"] = c.median
        row[f"{name}_samples"] = len(c.samples)
    return row


def _ratio(a, b):
    if a is None or b is None or not (a > 0 and b > 0):
        return None
    return a / b


def tables(rows, c_ok, c_note, nbs_ok):
    out = []
    header = ["problem", "rtol", "method", "scipy", "fastode", "speed-up", "nfev scipy",
              "nfev fastode", "err scipy", "err fastode", "kernel/C"]
    body = []
    for r in rows:
        body.append([
            r["problem"], f"{r['rtol']:.0e}", r["method"], fmt_time(r.get("scipy_time")),
            fmt_time(r.get("fastode_time")),
            fmt_ratio(_ratio(r.get("scipy_time"), r.get("fastode_time")), 0) + "x"
            if _ratio(r.get("scipy_time"), r.get("fastode_time")) else "—",
            r.get("scipy_nfev", "—"), r.get("fastode_nfev", "—"),
            fmt_err(r.get("scipy_err")), fmt_err(r.get("fastode_err")),
            fmt_ratio(_ratio(r.get("kernel_loop_time"), r.get("c_loop_time")))])
    out.append("### fastode.solve_ivp vs scipy.integrate.solve_ivp (same method, rtol, "
               "atol = rtol*1e-3)\n")
    out.append(markdown_table(header, body))
    out.append("\nTimes are per solve (warm, plain Python RHS, every step stored as both do by "
               "default); err = max|y(t_end) - ref| / max|ref|; kernel/C: fastode's kernel vs "
               "the C DOPRI5 on the same cfunc, both in a compiled loop (RK45 only).\n")

    rk45 = [r for r in rows if r["method"] == "RK45" and "kernel_loop_time" in r]
    if rk45:
        header = ["problem", "rtol", "nfev kernel / C", "naccept kernel / C", "solve_ivp",
                  "kernel (Python call)", "kernel (loop)", "kernel t_eval=[t_end] (loop)",
                  "C (loop)", "kernel/C", "kernel t_eval/C", "|y_kernel - y_C|"]
        body = []
        for r in rk45:
            body.append([
                r["problem"], f"{r['rtol']:.0e}",
                f"{r.get('kernel_nfev', '—')} / {r.get('c_nfev', '—')}",
                f"{r.get('kernel_naccept', '—')} / {r.get('c_naccept', '—')}",
                fmt_time(r.get("fastode_time")), fmt_time(r.get("kernel_py_time")),
                fmt_time(r.get("kernel_loop_time")), fmt_time(r.get("kernel_teval_loop_time")),
                fmt_time(r.get("c_loop_time")),
                fmt_ratio(_ratio(r.get("kernel_loop_time"), r.get("c_loop_time"))),
                fmt_ratio(_ratio(r.get("kernel_teval_loop_time"), r.get("c_loop_time"))),
                fmt_err(r.get("c_vs_kernel"))])
        out.append("### RK45: fastode kernel vs plain-C DOPRI5 on the same numba cfunc\n")
        if not c_ok:
            out.append(f"C reference unavailable: {c_note}\n")
        out.append(markdown_table(header, body))
        out.append("\nkernel = `fastode.kernels.explicit.explicit_rk_solve`, called from Python "
                   "(one dispatch per solve) or in an `@njit` loop; default mode stores every "
                   "step like solve_ivp, the t_eval=[t_end] mode stores nothing but computes "
                   "dense-output coefficients every step. C: bench/c_ref/dopri5.c, gcc "
                   f"{' '.join(_cflags())}, stores nothing, timed in a C loop. |y_kernel - y_C| "
                   "is relative.\n")

    if nbs_ok:
        dop = [r for r in rows if r["method"] == "DOP853"]
        header = ["problem", "rtol", "fastode DOP853 kernel (loop)", "numbalsoda dop853 (loop)",
                  "fastode/numbalsoda", "err fastode", "err nbs dop853", "numbalsoda lsoda (loop)",
                  "err lsoda"]
        body = []
        for r in dop:
            body.append([
                r["problem"], f"{r['rtol']:.0e}", fmt_time(r.get("kernel_loop_time")),
                fmt_time(r.get("nbs_dop853_time")),
                fmt_ratio(_ratio(r.get("kernel_loop_time"), r.get("nbs_dop853_time"))),
                fmt_err(r.get("fastode_err")), fmt_err(r.get("nbs_dop853_err")),
                fmt_time(r.get("nbs_lsoda_time")), fmt_err(r.get("nbs_lsoda_err"))])
        out.append("### DOP853: fastode kernel vs numbalsoda (both called in an `@njit` loop)\n")
        out.append(markdown_table(header, body))
        out.append("\nnumbalsoda's dop853 is Hairer's Fortran-derived code with its own step "
                   "control (different steps and errors than scipy's/fastode's DOP853), "
                   "so compare at equal error, not equal rtol.\n")
    else:
        out.append("numbalsoda is not importable: its columns are skipped "
                   "(`pip install numbalsoda` needs gfortran and cmake).\n")

    notes = [f"- {r['problem']} {r['method']} rtol {r['rtol']:.0e}: {n}"
             for r in rows for n in r["notes"]]
    if notes:
        out.append("### Notes\n")
        out.append("\n".join(notes) + "\n")
    return "\n".join(out)


def _cflags():
    from bench.c_ref import cflags
    return ["-O2"] if not cflags() else cflags()


def run(quick=False, out_dir=DEFAULT_OUT, problems=None, rtols=None, methods=METHODS,
        rounds=None, write=True, verbose=True):
    """Measure everything; returns (markdown, rows). Writes OUT/compare.md and .json."""
    rtols = rtols or (QUICK_RTOLS if quick else FULL_RTOLS)
    rounds = rounds or (3 if quick else 5)
    target = 0.005 if quick else 0.01
    names = problems or list(PROBLEMS)
    c_ok, c_note = _c_available()
    nbs_ok = harness.numbalsoda_available()
    rows = []
    for name in names:
        problem = PROBLEMS[name]
        reference(problem)
        for rtol in rtols:
            for method in methods:
                row = measure_cell(problem, method, rtol, rounds, target, c_ok, nbs_ok)
                rows.append(row)
                if verbose:
                    print(f"  {name:15s} {method:6s} rtol {rtol:.0e}: scipy "
                          f"{fmt_time(row.get('scipy_time')):>8s}  fastode "
                          f"{fmt_time(row.get('fastode_time')):>8s}  kernel/C "
                          f"{fmt_ratio(_ratio(row.get('kernel_loop_time'), row.get('c_loop_time')))}",
                          file=sys.stderr, flush=True)
    ref_notes = ", ".join(f"{n} {reference_error(PROBLEMS[n]):.0e}" for n in names)
    head = (f"## fastode benchmark: {datetime.datetime.now():%Y-%m-%d %H:%M}\n\n"
            f"`{' '.join(['python -m bench.compare'] + sys.argv[1:])}` — {harness.environment_note()}. "
            f"Each time is the minimum over {rounds} interleaved rounds. "
            f"Reference: scipy DOP853 rtol=atol=1e-13; its own error (vs 3e-14): {ref_notes}.\n")
    markdown = head + "\n" + tables(rows, c_ok, c_note, nbs_ok)
    if write:
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "compare.md"), "w") as fh:
            fh.write(markdown)
        with open(os.path.join(out_dir, "compare.json"), "w") as fh:
            json.dump(rows, fh, indent=1, default=float)
    return markdown, rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 tolerances, 3 rounds (< 1 min)")
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder (default bench/out)")
    parser.add_argument("--problems", default=None,
                        help=f"comma-separated subset of {','.join(PROBLEMS)}")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds")
    opts = parser.parse_args(argv)
    problems = opts.problems.split(",") if opts.problems else None
    for p in problems or []:
        if p not in PROBLEMS:
            parser.error(f"unknown problem {p!r}; choose from {', '.join(PROBLEMS)}")
    markdown, _ = run(quick=opts.quick, out_dir=opts.out, problems=problems, rounds=opts.rounds)
    print(markdown)
    print(f"(written to {os.path.join(opts.out, 'compare.md')})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
