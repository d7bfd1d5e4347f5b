"""Where a cold compile of fastode's kernels spends its time: per warm-up job, per compiled
function, and how much of it is LLVM (optimisation and machine code) rather than numba's own
typing and lowering.

    python bench/compile_profile.py [JOB ...] [--json out.json]

Each job (the names of fastode.warmup.JOBS; default: all) runs in a fresh process with an
empty kernel cache (FASTODE_KERNEL_CACHE_DIR in a temporary folder), so it compiles everything
it uses. Times are the process's CPU seconds, so a machine shared with other work inflates them
less than wall time would. Per function: inclusive compile time (a function's compile includes
those of the functions it calls that were not compiled yet).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _child(job):
    from numba.core import event

    from fastode.warmup import JOBS

    compiles = []      # (qualname, cpu seconds inclusive)
    llvm = [0.0]
    starts = {}
    passes = {}        # pass name -> cpu seconds, exclusive of the passes nested in it
    stack = []         # [start, nested seconds] of the passes running

    class Listener(event.Listener):
        def on_start(self, ev):
            if ev.kind == "numba:run_pass":
                stack.append([time.process_time(), 0.0])
                return
            starts[id(ev.data) if ev.kind != "numba:llvm_lock" else "llvm"] = time.process_time()

        def on_end(self, ev):
            if ev.kind == "numba:run_pass":
                start, nested = stack.pop()
                spent = time.process_time() - start
                passes[ev.data["name"]] = passes.get(ev.data["name"], 0.0) + spent - nested
                if stack:
                    stack[-1][1] += spent
            elif ev.kind == "numba:llvm_lock":
                llvm[0] += time.process_time() - starts.pop("llvm")
            else:
                dispatcher = ev.data["dispatcher"]
                start = starts.pop(id(ev.data), None)
                if start is not None:
                    compiles.append((dispatcher.py_func.__module__ + "."
                                     + dispatcher.py_func.__qualname__,
                                     time.process_time() - start))

    listener = Listener()
    # the compile event's data dict is the same object at start and end
    event.register("numba:compile", listener)
    event.register("numba:llvm_lock", listener)
    event.register("numba:run_pass", listener)
    start = time.process_time()
    JOBS[job]()
    total = time.process_time() - start
    print(json.dumps({"job": job, "cpu_s": total, "llvm_s": llvm[0], "compiles": compiles,
                      "passes": passes}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("jobs", nargs="*")
    ap.add_argument("--json")
    ap.add_argument("--top", type=int, default=6, help="functions listed per job")
    ap.add_argument("--passes", action="store_true", help="also the numba passes' totals")
    ap.add_argument("--child")
    args = ap.parse_args()
    if args.child:
        _child(args.child)
        return
    sys.path.insert(0, ROOT)
    from fastode.warmup import JOBS
    jobs = args.jobs or list(JOBS)
    results = []
    for job in jobs:
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, FASTODE_KERNEL_CACHE_DIR=cache, FASTODE_CACHE_DIR=cache,
                       PYTHONPATH=ROOT)
            out = subprocess.run([sys.executable, __file__, "--child", job], env=env,
                                 capture_output=True, text=True, check=True)
        res = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(res)
        top = sorted(res["compiles"], key=lambda kv: -kv[1])[:args.top]
        print(f"{job:12s} cpu {res['cpu_s']:6.1f} s  llvm {res['llvm_s']:6.1f} s  | "
              + ", ".join(f"{name.split('.')[-1]} {s:.1f}" for name, s in top), flush=True)
    if args.passes:
        totals = {}
        for r in results:
            for name, sec in r["passes"].items():
                totals[name] = totals.get(name, 0.0) + sec
        print("passes (exclusive cpu s): " + ", ".join(
            f"{k} {v:.1f}" for k, v in sorted(totals.items(), key=lambda kv: -kv[1])[:12]))
    print(f"total cpu {sum(r['cpu_s'] for r in results):.1f} s, "
          f"llvm {sum(r['llvm_s'] for r in results):.1f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
