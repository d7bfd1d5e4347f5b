"""Command line: `fastode demo [analysis]`, `fastode warmup`, `fastode cache info|clear`."""
import argparse
import sys


def main(argv=None):
    """Entry point of the ``fastode`` console script."""
    parser = argparse.ArgumentParser(prog="fastode", description="fastode command line")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="solve the lecture's examples and a standard set, "
                                        "fastode against scipy")
    demo.add_argument("what", nargs="?", choices=["solvers", "analysis"], default="solvers",
                      help="solvers: the comparison table (default); analysis: draw the "
                           "fastode.analysis gallery as PNGs (needs matplotlib)")
    demo.add_argument("--out", default=".", help="analysis: folder for the PNGs")
    demo.add_argument("--rtol", type=float, default=1e-8)
    demo.add_argument("--atol", type=float, default=1e-10)
    demo.add_argument("--quick", action="store_true",
                      help="fewer timing repeats (analysis: smaller sizes)")
    warm = sub.add_parser("warmup", help="compile and cache the kernels (done once after installing)")
    warm.add_argument("--jobs", type=int, default=None,
                      help="worker processes (default: one per usable core)")
    cache = sub.add_parser("cache", help="what fastode's cache holds, or empty it")
    cache.add_argument("action", choices=["info", "clear"])
    cache.add_argument("--kernels", action="store_true",
                       help="clear: the compiled kernels too (`fastode warmup` rebuilds them)")
    args = parser.parse_args(argv)
    if args.command == "cache":
        return _cache(args.action, args.kernels)
    if args.command == "warmup":
        from .warmup import warmup
        warmup(verbose=True, jobs=args.jobs)
        return 0
    if args.command == "demo" and args.what == "analysis":
        from .demo_analysis import run_analysis_demo
        for path in run_analysis_demo(args.out, quick=args.quick):
            print(path)
        return 0
    if args.command == "demo":
        from .demo import run_demo
        rows = run_demo(rtol=args.rtol, atol=args.atol, quick=args.quick)
        return 0 if all(r["success"] for r in rows) else 1
    return 2


def _size(n):
    return f"{n / 2 ** 20:.1f} MB"


def _cache(action, kernels=False):
    """``fastode cache info`` / ``fastode cache clear [--kernels]``."""
    from . import kernel_cache, user_cache
    if action == "clear":
        removed = user_cache.clear()
        print(f"removed {removed} files of compiled user functions from {user_cache.user_dir()}")
        if kernels:
            removed = kernel_cache.clear()
            print(f"removed {removed} files of compiled kernels from {kernel_cache.cache_root()}"
                  f"; `fastode warmup` compiles them again")
        return 0
    info = user_cache.info()
    print(f"cache directory: {info['directory']}  (FASTODE_CACHE_DIR overrides)")
    cap = (f"cap {_size(info['max_bytes'])} (FASTODE_CACHE_MAX_MB)" if info["max_bytes"]
           else "off (FASTODE_CACHE_MAX_MB=0)")
    print(f"user functions: {info['entries']} entries, {_size(info['bytes'])} in "
          f"{info['user_dir']}; {cap}")
    kern = kernel_cache.info()
    print(f"kernels: {kern['files']} files, {_size(kern['bytes'])} in {kern['path']} "
          f"(FASTODE_KERNEL_CACHE_DIR overrides; built by `fastode warmup`)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
