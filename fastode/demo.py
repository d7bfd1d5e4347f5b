"""`fastode demo`: the lecture's examples and a standard problem set, fastode against scipy."""
import sys
import time
import warnings

import numpy as np

from .ivp import solve_ivp
from .problems import LECTURE, STANDARD, STIFF, reference_solution


def _best_time(run, min_total=0.2, max_repeats=200):
    """Smallest wall time of repeated calls (at least 3, until ``min_total`` seconds)."""
    best = np.inf
    start = time.perf_counter()
    repeats = 0
    while repeats < 3 or (time.perf_counter() - start < min_total and repeats < max_repeats):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
        repeats += 1
    return best


def _relative_error(y, ref):
    return float(np.max(np.abs(y - ref)) / max(np.max(np.abs(ref)), 1e-300))


def _format_time(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    return f"{seconds * 1e3:.2f} ms"


def run_demo(rtol=1e-8, atol=1e-10, quick=False, file=None):
    """Solve each problem with fastode and scipy (same method and tolerances) and print a table.

    Returns the list of rows (dicts) that were printed.
    """
    from scipy.integrate import solve_ivp as scipy_solve_ivp
    from tqdm.auto import tqdm

    file = file or sys.stdout
    cases = [(p, "RK45") for p in LECTURE]
    cases += [(p, m) for p in STANDARD for m in ("RK45", "DOP853")]
    cases += [(p, m) for p in STIFF for m in ("Radau", "BDF")]
    rows = []
    min_total = 0.05 if quick else 0.3
    _print_header(rtol, atol, file)
    # the bar shows only when the run takes more than a second (numba compiles on first use);
    # each row is printed as soon as it is measured
    bar = tqdm(cases, desc="fastode demo", unit="problem", delay=1.0, file=sys.stderr,
               leave=False)
    for problem, method in bar:
        kwargs = dict(method=method, args=problem.args, rtol=rtol, atol=atol)
        ours = solve_ivp(problem.fun, problem.t_span, problem.y0, **kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = scipy_solve_ivp(problem.fun, problem.t_span, problem.y0, **kwargs)
        ref = reference_solution(problem)
        t_ours = _best_time(lambda: solve_ivp(problem.fun, problem.t_span, problem.y0, **kwargs),
                            min_total=min_total)
        t_theirs = _best_time(lambda: scipy_solve_ivp(problem.fun, problem.t_span, problem.y0,
                                                      **kwargs),
                              min_total=min_total, max_repeats=5)
        rows.append(dict(problem=problem.name, method=method, t_fastode=t_ours,
                         t_scipy=t_theirs, speedup=t_theirs / t_ours,
                         err_fastode=_relative_error(ours.y[:, -1], ref),
                         err_scipy=_relative_error(theirs.y[:, -1], ref),
                         nfev_fastode=ours.nfev, nfev_scipy=theirs.nfev,
                         exact=problem.exact is not None, success=ours.success))
        line = _format_row(rows[-1])
        if file is sys.stdout:
            bar.write(line, file=file)  # above the progress bar, which redraws below it
        else:
            print(line, file=file)
        file.flush()
    bar.close()
    speedups = np.array([r["speedup"] for r in rows])
    print(f"\nspeed-up over scipy: median {np.median(speedups):.0f}x, "
          f"min {speedups.min():.0f}x, max {speedups.max():.0f}x", file=file)
    return rows


def _print_header(rtol, atol, file):
    print(f"\nfastode vs scipy.integrate.solve_ivp: same method, rtol={rtol:g}, atol={atol:g}, "
          "plain Python right-hand sides, warm (best of repeats)", file=file)
    print("error: relative max-norm error at t_end against the exact solution (*), scipy "
          "DOP853 at rtol=atol=1e-13, or (stiff) scipy Radau at rtol=1e-10\n", file=file)
    header = ("| problem | method | fastode | scipy | speed-up | fastode error | scipy error "
              "| nfev (fastode/scipy) |")
    print(header, file=file)
    print("|" + "---|" * 8, file=file, flush=True)


def _format_row(r):
    star = "*" if r["exact"] else ""
    return (f"| {r['problem']}{star} | {r['method']} | {_format_time(r['t_fastode'])} | "
            f"{_format_time(r['t_scipy'])} | {r['speedup']:.0f}x | {r['err_fastode']:.1e} | "
            f"{r['err_scipy']:.1e} | {r['nfev_fastode']}/{r['nfev_scipy']} |")
