"""pytest-benchmark suite: fastode.solve_ivp vs scipy.integrate.solve_ivp on the standard problems.

    pytest bench/ --benchmark-only                 # all groups
    pytest bench/ --benchmark-only -k lotka        # one problem

Not part of the main test run (pyproject's testpaths = ["tests"]). Groups are
"<problem>-<method>" (fastode and scipy side by side; scipy gets 3 rounds) and
"kernel-<problem>" (fastode's RK45 kernel vs the C DOPRI5 on the same cfunc, 100 solves per
round in a compiled loop). rtol 1e-6, atol 1e-9. Thread pools pinned to one thread
(bench/harness.py). Timings are for reading side by side, never asserted.
"""
import pytest

from bench import harness  # noqa: F401  (pins thread pools before numba is imported)
from bench.harness import KernelCall
from bench.problems import PROBLEMS

import scipy.integrate

import fastode

RTOL = 1e-6
ATOL = 1e-9
SCIPY_ROUNDS = 3
NAMES = list(PROBLEMS)


def _kwargs(p, method):
    return dict(method=method, args=p.args, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("method", ["RK45", "DOP853"])
@pytest.mark.parametrize("name", NAMES)
def test_fastode(benchmark, name, method):
    p = PROBLEMS[name]
    benchmark.group = f"{name}-{method}"
    fastode.solve_ivp(p.fun, p.t_span, p.y0, **_kwargs(p, method))  # compile outside the timing
    res = benchmark(fastode.solve_ivp, p.fun, p.t_span, p.y0, **_kwargs(p, method))
    assert res.success


@pytest.mark.parametrize("method", ["RK45", "DOP853"])
@pytest.mark.parametrize("name", NAMES)
def test_scipy(benchmark, name, method):
    p = PROBLEMS[name]
    benchmark.group = f"{name}-{method}"
    res = benchmark.pedantic(scipy.integrate.solve_ivp, args=(p.fun, p.t_span, p.y0),
                             kwargs=_kwargs(p, method), rounds=SCIPY_ROUNDS, iterations=1,
                             warmup_rounds=1)
    assert res.success


@pytest.mark.parametrize("method", ["Tsit5", "Vern7"])
@pytest.mark.parametrize("name", NAMES)
def test_fastode_more_methods(benchmark, name, method):
    p = PROBLEMS[name]
    benchmark.group = f"{name}-fastode-only"
    fastode.solve_ivp(p.fun, p.t_span, p.y0, **_kwargs(p, method))
    res = benchmark(fastode.solve_ivp, p.fun, p.t_span, p.y0, **_kwargs(p, method))
    assert res.success


LOOP = 100  # solves per benchmark round in the kernel group


@pytest.mark.parametrize("name", NAMES)
def test_kernel_rk45(benchmark, name):
    kernel = KernelCall(PROBLEMS[name], "RK45", RTOL, ATOL)
    kernel.loop_time(1)  # compile / load the loop outside the timing
    benchmark.group = f"kernel-{name} ({LOOP} solves per round)"
    benchmark(kernel.loop_time, LOOP)


@pytest.mark.parametrize("name", NAMES)
def test_c_dopri5(benchmark, name):
    try:
        from bench.c_ref import dopri5_time, load_dopri5
        load_dopri5()
    except Exception as exc:  # no C compiler here
        pytest.skip(f"C reference unavailable: {exc}")
    k = KernelCall(PROBLEMS[name], "RK45", RTOL, ATOL)
    benchmark.group = f"kernel-{name} ({LOOP} solves per round)"
    benchmark(dopri5_time, k.address, k.p, k.t0, k.t1, k.y0, k.rtol, k.atol, LOOP)
