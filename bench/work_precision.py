"""Work-precision diagram: error at t_end vs wall time per solve, one panel per problem.

    python -m bench.work_precision [--quick] [--out bench/out/]

fastode.solve_ivp with RK45, DOP853, Tsit5, Vern7 and scipy.integrate.solve_ivp with RK45,
DOP853 (plain Python RHS, warm), rtol 1e-3..1e-10, atol = rtol * 1e-3. Error = max|y(t_end) -
ref| / max|ref|, ref = scipy DOP853 at rtol=atol=1e-13. Writes OUT/work_precision.png (and
.md/.json with the numbers). One thread per pool (see bench/harness.py); interleaved rounds,
minimum time over rounds.
"""
import argparse
import json
import os
import sys
import warnings

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import harness  # noqa: E402  (thread pools first)
from bench.harness import Contender, fmt_err, fmt_time, interleaved, markdown_table  # noqa: E402
from bench.problems import PROBLEMS, error, reference, reference_error  # noqa: E402

import numpy as np  # noqa: E402
import scipy.integrate  # noqa: E402

import fastode  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "out")
ATOL_FACTOR = 1e-3
FULL_RTOLS = [10.0 ** -k for k in range(3, 11)]
QUICK_RTOLS = [1e-3, 1e-5, 1e-7, 1e-9]
# (label, library, method, matplotlib style)
SOLVERS = [
    ("fastode RK45", "fastode", "RK45", dict(color="C0", marker="o", ls="-")),
    ("fastode DOP853", "fastode", "DOP853", dict(color="C1", marker="s", ls="-")),
    ("fastode Tsit5", "fastode", "Tsit5", dict(color="C2", marker="^", ls="-")),
    ("fastode Vern7", "fastode", "Vern7", dict(color="C3", marker="D", ls="-")),
    ("scipy RK45", "scipy", "RK45", dict(color="C0", marker="o", ls="--", mfc="none")),
    ("scipy DOP853", "scipy", "DOP853", dict(color="C1", marker="s", ls="--", mfc="none")),
]


def _solver_call(lib, problem, method, rtol, atol):
    solve = fastode.solve_ivp if lib == "fastode" else scipy.integrate.solve_ivp

    def call():
        return solve(problem.fun, problem.t_span, problem.y0, method=method, args=problem.args,
                     rtol=rtol, atol=atol)
    return call


def measure(problems, rtols, rounds, target, verbose=True):
    """{problem: {label: [(rtol, seconds, error, nfev), ...]}}"""
    results = {}
    for name in problems:
        problem = PROBLEMS[name]
        reference(problem)
        per_label = {label: [] for label, *_ in SOLVERS}
        for rtol in rtols:
            atol = rtol * ATOL_FACTOR
            contenders, info = [], {}
            for label, lib, method, _ in SOLVERS:
                call = _solver_call(lib, problem, method, rtol, atol)
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("error", fastode.FallbackWarning)
                        res = call()
                except Exception as exc:
                    print(f"  {name} {label} rtol {rtol:.0e} failed: {exc}", file=sys.stderr)
                    continue
                if not res.success:
                    print(f"  {name} {label} rtol {rtol:.0e}: {res.message}", file=sys.stderr)
                    continue
                info[label] = (error(problem, res.y[:, -1]), int(res.nfev))
                contenders.append(Contender(label, call, target=target if lib == "fastode"
                                            else 0.0))
            timed = interleaved(contenders, rounds)
            for label, c in timed.items():
                err, nfev = info[label]
                per_label[label].append((rtol, c.best, err, nfev))
            if verbose:
                print(f"  {name:15s} rtol {rtol:.0e}: " + ", ".join(
                    f"{label} {fmt_time(c.best)}" for label, c in timed.items()),
                    file=sys.stderr, flush=True)
        results[name] = per_label
    return results


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    ncols = 2 if len(names) > 1 else 1
    nrows = (len(names) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(6.2 * ncols, 4.6 * nrows), squeeze=False)
    styles = {label: style for label, _, _, style in SOLVERS}
    for ax, name in zip(axes.flat, names):
        for label, points in results[name].items():
            if not points:
                continue
            pts = [(t, max(e, 1e-17)) for _, t, e, _ in points if np.isfinite(e)]
            if not pts:
                continue
            t, e = zip(*pts)
            ax.loglog(np.array(t) * 1e3, e, label=label, ms=5, lw=1.3, **styles[label])
        ref_err = reference_error(PROBLEMS[name])
        lo, hi = ax.get_ylim()
        if ref_err >= lo:  # draw the reference's accuracy only when it is within the data range
            ax.axhline(ref_err, color="0.6", lw=0.8, ls=":")
            ax.set_ylim(lo, hi)
        note = PROBLEMS[name].note
        ax.set_title(name.replace("_", " ") + (f" ({note})" if note else ""), fontsize=10)
        ax.set_xlabel("time per solve [ms]")
        ax.set_ylabel("relative error at t_end")
        ax.grid(True, which="major", alpha=0.35)
        ax.grid(True, which="minor", alpha=0.12)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=9,
               frameon=False)
    fig.suptitle("Work-precision: rtol 1e-3..1e-10, atol = rtol*1e-3; solid fastode, dashed "
                 "scipy; dotted: reference accuracy (when visible); " + harness.thread_note(), fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 0.96))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(results):
    header = ["problem", "solver"] + [f"{r:.0e}" for r in
                                      sorted({p[0] for v in results.values() for pts in v.values()
                                              for p in pts}, reverse=True)]
    rtol_cols = header[2:]
    rows = []
    for name, per_label in results.items():
        for label, points in per_label.items():
            by_rtol = {f"{r:.0e}": (t, e) for r, t, e, _ in points}
            rows.append([name, label] + [
                f"{fmt_time(by_rtol[c][0])} / {fmt_err(by_rtol[c][1])}" if c in by_rtol else "—"
                for c in rtol_cols])
    return ("Time per solve / relative error at t_end, by rtol:\n\n"
            + markdown_table(header, rows) + "\n")


def run(quick=False, out_dir=DEFAULT_OUT, problems=None, rounds=None, verbose=True):
    rtols = QUICK_RTOLS if quick else FULL_RTOLS
    rounds = rounds or (2 if quick else 3)
    target = 0.005 if quick else 0.01
    results = measure(problems or list(PROBLEMS), rtols, rounds, target, verbose)
    os.makedirs(out_dir, exist_ok=True)
    png = os.path.join(out_dir, "work_precision.png")
    plot(results, png)
    md = (f"## Work-precision ({harness.environment_note()}; min of {rounds} interleaved "
          f"rounds)\n\n![work-precision](work_precision.png)\n\n" + table(results))
    with open(os.path.join(out_dir, "work_precision.md"), "w") as fh:
        fh.write(md)
    with open(os.path.join(out_dir, "work_precision.json"), "w") as fh:
        json.dump(results, fh, indent=1)
    return png, md, results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 tolerances, 2 rounds")
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder (default bench/out)")
    parser.add_argument("--problems", default=None,
                        help=f"comma-separated subset of {','.join(PROBLEMS)}")
    parser.add_argument("--rounds", type=int, default=None)
    opts = parser.parse_args(argv)
    problems = opts.problems.split(",") if opts.problems else None
    for p in problems or []:
        if p not in PROBLEMS:
            parser.error(f"unknown problem {p!r}; choose from {', '.join(PROBLEMS)}")
    png, md, _ = run(quick=opts.quick, out_dir=opts.out, problems=problems, rounds=opts.rounds)
    print(md)
    print(f"(plot written to {png})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
