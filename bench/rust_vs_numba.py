"""fastode's numba DOPRI5 kernel vs the Rust reference DOPRI5 (rust_ref/), same RHS, same steps.

    python bench/rust_vs_numba.py [--rtol 1e-6] [--atol 1e-9] [--rounds 30] [--out bench/out/]
    python -m bench.rust_vs_numba --quick

Both solvers get the very same compiled numba cfunc (its C address), the same tolerances and
t_eval = [t_end]: fastode's ``explicit_rk_solve`` called directly (as fastode/ivp.py calls it),
in a compiled numba loop, against ``fastode_ref_dopri5_repeat``, a Rust loop over the same
solve. They take the same accepted steps (checked: nfev, naccept, nreject and y(t_end) must be
equal), so the time per solve and per RHS call compares only the solver code.

Thread pools are pinned to one thread (NUMBA_NUM_THREADS=1; see bench/harness.py). Timing:
interleaved rounds, each a batch of ~10 ms of solves, minimum over rounds. Only the ratio
numba/Rust measured in one run is meaningful. Target (docs/design.md / issue 6): numba <= 1.2x Rust.
The Rust library is built with cargo when missing (``cargo build --release --offline``).
"""
import argparse
import datetime
import json
import os
import sys
import time

if __package__ in (None, ""):  # run as a script: make `bench` and `fastode` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import harness  # noqa: E402  (pins the thread pools before numba is imported)
from bench.harness import (Contender, KernelCall, fmt_ratio, fmt_time, interleaved,  # noqa: E402
                           markdown_table)
from bench.problems import PROBLEMS  # noqa: E402

import numpy as np  # noqa: E402

import fastode.reference as ref  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "out")
TARGET = 1.2


def problems():
    """Lotka-Volterra, Van der Pol (mu=1), Lorenz on 0..2 (short: chaotic), Arenstorf."""
    lorenz = PROBLEMS["lorenz"]._replace(t_span=(0.0, 2.0), note="short span 0..2")
    return [PROBLEMS["lotka_volterra"], PROBLEMS["van_der_pol"], lorenz, PROBLEMS["arenstorf"]]


class RustCall:
    """The Rust DOPRI5 on the same cfunc, parameters and tolerances as a ``KernelCall``."""

    def __init__(self, kernel):
        self.k = kernel
        self.t_eval = np.array([kernel.t1])

    def run(self, reps):
        k = self.k
        return ref.dopri5_repeat(k.address, k.p, k.t0, k.t1, k.y0, k.rtol, k.atol, self.t_eval,
                                 reps)

    def solve(self):
        status, y, stats = self.run(1)
        return dict(y=y[-1].copy(), status=int(status), **stats)

    def loop_time(self, reps):
        start = time.perf_counter()
        self.run(reps)
        return (time.perf_counter() - start) / reps


def _pair(problem, rtol, atol):
    kernel = KernelCall(problem, "RK45", rtol, atol, t_eval_end=True)
    rust = RustCall(kernel)
    a, b = kernel.solve(), rust.solve()
    same = (a["status"] == b["status"] == 0
            and (a["nfev"], a["naccept"], a["nreject"]) == (b["nfev"], b["naccept"], b["nreject"]))
    y_diff = float(np.max(np.abs(a["y"] - b["y"])) / np.max(np.abs(a["y"])))
    if not same or y_diff > 1e-12:
        raise RuntimeError(f"{problem.name}: numba and Rust disagree: {a} vs {b}")
    return kernel, rust, a, b, y_diff


def measure(problem, rtol, atol, rounds):
    kernel, rust, a, b, y_diff = _pair(problem, rtol, atol)
    # the same problem over 1e-4 of its span (one or two steps): separates the fixed cost of a
    # solve (work arrays, initial step) from the cost per step attempt
    t0, t1 = problem.t_span
    short = problem._replace(t_span=(t0, t0 + 1e-4 * (t1 - t0)))
    kernel_s, rust_s, a_s, _, _ = _pair(short, rtol, atol)
    timed = interleaved([Contender("numba", timer=kernel.loop_time),
                         Contender("rust", timer=rust.loop_time),
                         Contender("numba_short", timer=kernel_s.loop_time),
                         Contender("rust_short", timer=rust_s.loop_time)], rounds)
    t_numba, t_rust = timed["numba"].best, timed["rust"].best
    attempts = a["naccept"] + a["nreject"]
    attempts_s = a_s["naccept"] + a_s["nreject"]
    split = {}
    for who in ("numba", "rust"):
        full, part = timed[who].best, timed[who + "_short"].best
        per_attempt = (full - part) / max(attempts - attempts_s, 1)
        split[who + "_per_attempt_s"] = per_attempt
        split[who + "_fixed_s"] = part - attempts_s * per_attempt
    return dict(**split, problem=problem.name, note=problem.note, n=problem.n,
                t_span=list(problem.t_span), rtol=rtol, atol=atol, nfev=a["nfev"],
                naccept=a["naccept"], nreject=a["nreject"], y_rel_diff=y_diff,
                bitwise_equal=bool(np.array_equal(a["y"], b["y"])),
                numba_s=t_numba, rust_s=t_rust, ratio=t_numba / t_rust,
                numba_per_rhs_s=t_numba / a["nfev"], rust_per_rhs_s=t_rust / a["nfev"],
                numba_median_s=timed["numba"].median, rust_median_s=timed["rust"].median)


def table(rows):
    header = ["problem", "n", "steps (rej)", "nfev", "numba kernel / solve", "Rust / solve",
              "numba / Rust", "numba / RHS call", "Rust / RHS call", "same steps, y(t_end)"]
    body = []
    for r in rows:
        name = r["problem"] + (f" ({r['note']})" if r["note"].startswith("short") else "")
        body.append([name, r["n"], f"{r['naccept']} ({r['nreject']})", r["nfev"],
                     fmt_time(r["numba_s"]), fmt_time(r["rust_s"]), fmt_ratio(r["ratio"]),
                     fmt_time(r["numba_per_rhs_s"]), fmt_time(r["rust_per_rhs_s"]),
                     "bitwise" if r["bitwise_equal"] else f"{r['y_rel_diff']:.0e}"])
    return markdown_table(header, body)


def split_table(rows):
    header = ["problem", "fixed cost / solve: numba", "Rust", "per step attempt: numba", "Rust",
              "numba / Rust per step"]
    body = [[r["problem"], fmt_time(r["numba_fixed_s"]), fmt_time(r["rust_fixed_s"]),
             fmt_time(r["numba_per_attempt_s"]), fmt_time(r["rust_per_attempt_s"]),
             fmt_ratio(r["numba_per_attempt_s"] / r["rust_per_attempt_s"])] for r in rows]
    return markdown_table(header, body)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rtol", type=float, action="append",
                        help="relative tolerance (repeatable; default 1e-6)")
    parser.add_argument("--atol-factor", type=float, default=1e-3,
                        help="atol = rtol * this (default 1e-3)")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="5 rounds")
    parser.add_argument("--out", default=DEFAULT_OUT, help="directory for rust_vs_numba.md/.json")
    args = parser.parse_args(argv)
    rounds = 5 if args.quick else args.rounds
    rtols = args.rtol or [1e-6]

    if not ref.available():
        print(f"building the Rust reference: {ref.build_command_text()}", file=sys.stderr)
        ref.build()
    rows = []
    for rtol in rtols:
        for problem in problems():
            rows.append(measure(problem, rtol, rtol * args.atol_factor, rounds))

    given = argv if argv is not None else sys.argv[1:]
    command = "python bench/rust_vs_numba.py " + " ".join(given)
    lines = ["# fastode numba DOPRI5 kernel vs Rust reference DOPRI5",
             "",
             f"{datetime.datetime.now().isoformat(timespec='seconds')}; `{command.strip()}`; "
             f"{harness.environment_note()}; rustc release build (opt-level 3, LTO).",
             "Same cfunc RHS, same tolerances, t_eval = [t_end]; both timed in compiled loops "
             f"(min of {rounds} interleaved rounds). Target: numba / Rust <= {TARGET}."]
    for rtol in rtols:
        sel = [r for r in rows if r["rtol"] == rtol]
        worst = max(r["ratio"] for r in sel)
        lines += ["", f"## rtol = {rtol:g}, atol = {rtol * args.atol_factor:g}", "", table(sel),
                  "", f"worst numba / Rust: {worst:.2f} "
                  f"({'within' if worst <= TARGET else 'OVER'} the {TARGET}x target)",
                  "", "Where the time goes: each solve timed again over 1e-4 of its span "
                  "(1-2 steps); fixed = work arrays + initial step + first f, per step attempt = "
                  "the difference over the extra attempts.", "", split_table(sel)]
    text = "\n".join(lines)
    print(text)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "rust_vs_numba.md"), "w") as fh:
        fh.write(text + "\n")
    with open(os.path.join(args.out, "rust_vs_numba.json"), "w") as fh:
        json.dump(dict(command=command.strip(), environment=harness.environment_note(),
                       rounds=rounds, rows=rows), fh, indent=1)
    return rows


if __name__ == "__main__":
    main()
