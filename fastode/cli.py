"""Command line: `fastode demo`, `fastode warmup`."""
import argparse
import sys


def main(argv=None):
    """Entry point of the ``fastode`` console script."""
    parser = argparse.ArgumentParser(prog="fastode", description="fastode command line")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="solve the lecture's examples and a standard set, "
                                        "fastode against scipy")
    demo.add_argument("--rtol", type=float, default=1e-8)
    demo.add_argument("--atol", type=float, default=1e-10)
    demo.add_argument("--quick", action="store_true", help="fewer timing repeats")
    warm = sub.add_parser("warmup", help="compile and cache the kernels (done once after installing)")
    warm.add_argument("--jobs", type=int, default=None,
                      help="worker processes (default: one per usable core)")
    args = parser.parse_args(argv)
    if args.command == "warmup":
        from .warmup import warmup
        warmup(verbose=True, jobs=args.jobs)
        return 0
    if args.command == "demo":
        from .demo import run_demo
        rows = run_demo(rtol=args.rtol, atol=args.atol, quick=args.quick)
        return 0 if all(r["success"] for r in rows) else 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
