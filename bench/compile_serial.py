"""Cold compile of the ODE kernels, serial, in one process: the CPU seconds issue #12's
before/after figure compares.

    FASTODE_KERNEL_CACHE_DIR=$(mktemp -d) FASTODE_CACHE_DIR=$(mktemp -d) \
        PYTHONPATH=<checkout> python bench/compile_serial.py

Runs the eleven ODE jobs of ``fastode.warmup.JOBS`` one after the other (an empty kernel cache
makes each compile what it uses) and prints each job's wall seconds and the process's CPU
seconds, which a shared machine inflates less than wall time. Copy it into a checkout's bench/
to run it there (it imports the checkout's fastode). A tree without ``warmup.JOBS`` (before
issue #11) compiles the same entry points with its own ``fastode.warmup.warmup()``.
"""
import os
import resource
import sys
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ODE_JOBS = ["BDF", "Radau", "Rosenbrock", "ESDIRK", "Radau class", "BDF class", "explicit",
            "LSODA", "LSODA class", "ensemble", "RK45 class"]


def main():
    import fastode.warmup as warmup
    start = time.perf_counter()
    times = warmup._run_jobs(ODE_JOBS)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print({name: round(seconds, 1) for name, seconds in times.items()})
    print(f"ODE jobs serial: wall {wall:.1f} s, cpu {usage.ru_utime + usage.ru_stime:.1f} s")


if __name__ == "__main__":
    main()
