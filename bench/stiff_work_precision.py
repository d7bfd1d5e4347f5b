"""Work-precision diagram for stiff problems: error at t_end vs time per solve, one panel per
problem (Robertson, HIRES, Van der Pol mu = 1e3).

    python bench/stiff_work_precision.py [--quick] [--out bench/out/] [--rounds N]
    python bench/stiff_work_precision.py --from-json bench/out/stiff.json   # plot only

fastode Radau, BDF, Rodas5P, Rodas4, Rosenbrock23, KenCarp4, Kvaerno5, LSODA (solid lines)
vs scipy Radau, BDF, LSODA (dashed) and numbalsoda's lsoda (black, dotted; @njit loop, kernel
time; grey: on the in-place RHS of bench/stiff.py's like-for-like kernel column).
Problems, atol, error measure, reference and timing are bench/stiff.py's (its ``measure``):
rtol 1e-3..1e-9 every decade (--quick: 1e-3, 1e-5, 1e-7, 1e-9 with 2 rounds). ``--from-json``
plots bench/stiff.py's own measurements (OUT/stiff.json) instead of timing again.
Writes OUT/stiff_work_precision.png and OUT/stiff_work_precision.json.
"""
import argparse
import json
import os
import sys

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import harness  # noqa: E402  (thread pools first)
from bench import stiff  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "out")
FULL_RTOLS = tuple(10.0 ** -k for k in range(3, 10))
QUICK_RTOLS = stiff.RTOLS

STYLES = {
    "fastode Radau": dict(color="C0", marker="o", ls="-"),
    "fastode BDF": dict(color="C1", marker="s", ls="-"),
    "fastode Rodas5P": dict(color="C8", marker="<", ls="-"),
    "fastode Rodas4": dict(color="C2", marker="^", ls="-"),
    "fastode Rosenbrock23": dict(color="C3", marker="v", ls="-"),
    "fastode KenCarp4": dict(color="C4", marker="D", ls="-"),
    "fastode Kvaerno5": dict(color="C5", marker="P", ls="-"),
    "fastode LSODA": dict(color="C6", marker="X", ls="-"),
    "scipy Radau": dict(color="C0", marker="o", ls="--", mfc="none"),
    "scipy BDF": dict(color="C1", marker="s", ls="--", mfc="none"),
    "scipy LSODA": dict(color="C6", marker="X", ls="--", mfc="none"),
    stiff.NBS: dict(color="k", marker="*", ls=":", ms=8),
    stiff.NBS_K: dict(color="0.5", marker="*", ls=":", ms=8),
}
TITLES = {"robertson": "Robertson, t to 1e5 (atol = rtol*1e-4)",
          "hires": "HIRES, t to 321.8122 (atol = rtol*1e-4)",
          "vdp1000": "Van der Pol mu=1e3, t to 3000 (atol = rtol)"}


def series(results):
    """{problem: {solver: [(rtol, seconds, error), ...]}} from stiff.measure's results."""
    out = {}
    for pname, per_rtol in results.items():
        per_solver = {}
        for rtol, stats in per_rtol.items():
            for name, st in stats.items():
                if st.get("time") is None or st["err"] is None or not np.isfinite(st["err"]):
                    continue
                per_solver.setdefault(name, []).append((float(rtol), st["time"], st["err"]))
        out[pname] = per_solver
    return out


def plot(results, path, note=""):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = series(results)
    names = list(data)
    fig, axes = plt.subplots(1, len(names), figsize=(6.0 * len(names), 5.4), squeeze=False)
    for ax, pname in zip(axes.flat, names):
        for name, pts in data[pname].items():
            pts = sorted(pts, reverse=True)
            _, t, e = zip(*pts)
            style = dict(STYLES.get(name, dict(marker=".", ls="-")))
            style.setdefault("ms", 5)
            ax.loglog(np.array(t) * 1e3, np.maximum(e, 1e-17), label=name, lw=1.2, **style)
        ax.set_title(TITLES.get(pname, pname), fontsize=10)
        ax.set_xlabel("time per solve [ms]")
        ax.set_ylabel("relative error at t_end")
        ax.grid(True, which="major", alpha=0.35)
        ax.grid(True, which="minor", alpha=0.12)
    handles, labels = {}, {}
    for ax in axes.flat:  # legend from all panels (a solver may be missing from one)
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    order = [k for k in STYLES if k in handles] + [k for k in handles if k not in STYLES]
    fig.legend([handles[k] for k in order], order, loc="lower center", ncol=6, fontsize=9,
               frameon=False)
    fig.suptitle("Stiff work-precision: solid fastode (solve_ivp, Python RHS), dashed scipy "
                 "(solve_ivp), dotted numbalsoda lsoda (@njit loop, kernel only); one point per "
                 "rtol, 1e-3 (top left) to 1e-9\nerror at t_end relative to scipy Radau "
                 "rtol 1e-12, min time over interleaved rounds; " + note, fontsize=9)
    fig.tight_layout(rect=(0, 0.08, 1, 0.93))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(quick=False, out_dir=DEFAULT_OUT, from_json=None, rounds=None, problems=None):
    os.makedirs(out_dir, exist_ok=True)
    if from_json:
        data = stiff.load_json(from_json)
        results, env = data["results"], data.get("environment", "")
        if problems:
            results = {p: results[p] for p in problems}
    else:
        rtols = QUICK_RTOLS if quick else FULL_RTOLS
        rounds = rounds or (2 if quick else 3)
        results = stiff.measure(problems or list(stiff.PROBLEMS), rtols, rounds)
        env = harness.environment_note()
        with open(os.path.join(out_dir, "stiff_work_precision.json"), "w") as fh:
            json.dump(dict(environment=env, quick=quick, rounds=rounds,
                           results=stiff._jsonable(results)), fh, indent=1)
    path = os.path.join(out_dir, "stiff_work_precision.png")
    plot(results, path, note=harness.thread_note())
    print(f"wrote {path}")
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="rtol 1e-3, 1e-5, 1e-7, 1e-9 and 2 rounds (default: every decade, 3)")
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--problems", default=",".join(stiff.PROBLEMS))
    ap.add_argument("--from-json", default=None,
                    help="plot these bench/stiff.py results (stiff.json) instead of measuring")
    a = ap.parse_args(argv)
    run(a.quick, a.out, a.from_json, a.rounds, a.problems.split(","))


if __name__ == "__main__":
    main()
