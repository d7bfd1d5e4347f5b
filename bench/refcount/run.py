"""Reference-count operations and time per iteration of the patterns in bench/refcount/patterns.py.

    python -m bench.refcount.run [--patterns a,b,...] [--steps N] [--rounds R]

For each pattern: the NRT_incref/NRT_decref call sites left in the loops of the optimized LLVM
IR (static), the ones executed per iteration (dynamic: a subprocess with NUMBA_DEBUG_NRT=1, which
prints a line for every refop on a live array; counted over two run lengths and differenced), and
the time per iteration (min over rounds, N steps). Prints a markdown table.
"""
import argparse
import json
import os
import subprocess
import sys
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))


def _dynamic(names):
    from bench.refcount import patterns
    from bench.refcount.irtools import dynamic_refops
    out = {}
    for name in names:
        fn = patterns.build(name)
        fn(*patterns.make_args(10))
        out[name] = dynamic_refops(fn, patterns.make_args, 1000, 3000)
    print("JSON" + json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--patterns", default="")
    ap.add_argument("--steps", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--dynamic-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    from bench.refcount import patterns
    names = [n for n in args.patterns.split(",") if n] or list(patterns.PATTERNS)
    if args.dynamic_only:
        _dynamic(names)
        return
    from bench.refcount.irtools import static_refops

    env = dict(os.environ, NUMBA_DEBUG_NRT="1")
    proc = subprocess.run([sys.executable, "-m", "bench.refcount.run", "--dynamic-only",
                           "--patterns", ",".join(names)], env=env, capture_output=True,
                          text=True, cwd=os.getcwd())
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("JSON")]
    if not line:
        sys.exit(proc.stderr[-3000:])
    dynamic = json.loads(line[0][4:])

    fns = {}
    rows = {}
    for name in names:
        fn = patterns.build(name)
        fn(*patterns.make_args(10))
        fns[name] = fn
        rows[name] = static_refops(fn)
    # interleaved timing: every round runs every pattern once
    best = {name: float("inf") for name in names}
    call_args = patterns.make_args(args.steps)
    for _ in range(args.rounds):
        for name in names:
            t0 = time.perf_counter()
            fns[name](*call_args)
            best[name] = min(best[name], time.perf_counter() - t0)
    ref = best.get("written_out")
    print("| pattern | what | refop call sites in loops (inc/dec) | executed per iteration "
          "(inc/dec) | ns per iteration | vs written_out |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in names:
        r = rows[name]
        inc, dec = dynamic[name]
        ns = best[name] / args.steps * 1e9
        rel = f"{best[name] / ref:.2f}x" if ref else ""
        print(f"| `{name}` | {patterns.PATTERNS[name][0]} | {r['loop_incref']}/"
              f"{r['loop_decref']} | {inc:.2f}/{dec:.2f} | {ns:.2f} | {rel} |")


if __name__ == "__main__":
    main()
