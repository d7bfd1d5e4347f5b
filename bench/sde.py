"""SDE and Langevin figures of issue #13, side by side in one run (one thread unless said).

    python -m bench.sde [--quick] [--out bench/out/sde.md]

Peers are optional (measured when importable): torchsde, sdeint, diffrax. They are not
dependencies; e.g. ``pip install --target /tmp/sde_peers --no-deps torchsde sdeint trampoline``
and ``PYTHONPATH=.:/tmp/sde_peers``.

Rows:
* Euler-Maruyama, OU and GBM, 10,000 paths x 1000 fixed steps (CPU time, paths/s): the
  hand-written numba loop (np.random normals; the reference), fastode ``solve_sde`` (drift and
  diffusion written with ``np.array([...])`` returns, and with array expressions, which
  allocate per call), numpy vectorised over paths, torchsde euler, sdeint itoEuler (on fewer
  paths, per path), diffrax Euler (if installed);
* order 1.5 on GBM: the largest fixed step whose mean strong error at T (against the exact
  solution on the same Brownian path, 1000 paths) is <= 1e-5, and the time to solve there:
  fastode SRIW1 and torchsde srk;
* one path of 1000 EM steps, time per call (fastode ``solve_sde``; the hand-written loop), and
  of one step (solve_sde's fixed cost per call);
* Langevin, 1-D double well, ULA and BAOAB (steps/s, one thread, 100 chains, thin 100);
* the random numbers (ns per normal): Philox4x32-10 + ziggurat vs numba's np.random;
* scaling of the EM row from 1 to 2 threads (wall time), beside a trivially parallel numba loop
  (the most 2 threads give on the machine).
"""
import argparse
import math
import os
import sys
import time

import numba
import numpy as np
from numba import njit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from fastode.langevin import sample  # noqa: E402
from fastode.sde import solve_sde  # noqa: E402
from fastode.sde.random import fill_normals, normals, seed_key  # noqa: E402

THETA, MU, SIG = 1.0, 0.0, 0.5     # OU: dX = theta (mu - X) dt + sig dW
GM, GS = 1.0, 0.5                 # GBM: dX = GM X dt + GS X dW


@njit(cache=False)
def hand_em(n_paths, n_steps, dt, gbm, x0, seed):
    """The reference: the Euler-Maruyama loop one writes by hand in numba."""
    np.random.seed(seed)
    out = np.empty(n_paths)
    sq = math.sqrt(dt)
    for p in range(n_paths):
        x = x0
        for _ in range(n_steps):
            if gbm:
                x += GM * x * dt + GS * x * sq * np.random.standard_normal()
            else:
                x += THETA * (MU - x) * dt + SIG * sq * np.random.standard_normal()
        out[p] = x
    return out


def ou_f(t, y):
    return np.array([THETA * (MU - y[0])])


def ou_g(t, y):
    return np.array([SIG])


def gbm_f(t, y):
    return np.array([GM * y[0]])


def gbm_g(t, y):
    return np.array([GS * y[0]])


def ou_f_expr(t, y):
    return THETA * (MU - y)


def ou_g_expr(t, y):
    return SIG + 0.0 * y


def cpu(fn, repeat=3):
    """Best CPU time of ``repeat`` calls (after one warm call)."""
    fn()
    best = math.inf
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def cpu_interleaved(functions, rounds=3):
    """Best CPU time of each function, measured in alternation (the machine's load shifts)."""
    for fn in functions:
        fn()
    best = [math.inf] * len(functions)
    for _ in range(rounds):
        for k, fn in enumerate(functions):
            start = time.process_time()
            fn()
            best[k] = min(best[k], time.process_time() - start)
    return best


def numpy_em(n_paths, n_steps, dt, gbm, rng):
    x = np.ones(n_paths)
    sq = math.sqrt(dt)
    for _ in range(n_steps):
        z = rng.standard_normal(n_paths)
        if gbm:
            x += GM * x * dt + GS * x * sq * z
        else:
            x += THETA * (MU - x) * dt + SIG * sq * z
    return x


def em_rows(paths, steps, quick):
    dt = 1.0 / steps
    rows = []
    for name, gbm, f, g, noise in (("OU", False, ou_f, ou_g, "additive"),
                                   ("GBM", True, gbm_f, gbm_g, "diagonal")):
        ref, ours = cpu_interleaved([
            lambda: hand_em(paths, steps, dt, gbm, 1.0, 0),
            lambda: solve_sde(f, g, (0, 1), [1.0], method="EM", dt=dt, n_paths=paths, seed=0,
                              noise=noise)])
        rows.append((f"EM {name}: hand-written numba loop (reference)", paths / ref, 1.0))
        rows.append((f"EM {name}: fastode solve_sde", paths / ours, ref / ours))
        if not gbm:
            expr = cpu(lambda: solve_sde(ou_f_expr, ou_g_expr, (0, 1), [1.0], method="EM",
                                         dt=dt, n_paths=paths, seed=0, noise="additive"))
            rows.append(("EM OU: fastode, functions returning array expressions",
                         paths / expr, ref / expr))
        rng = np.random.default_rng(0)
        vec = cpu(lambda: numpy_em(paths, steps, dt, gbm, rng), repeat=1)
        rows.append((f"EM {name}: numpy vectorised", paths / vec, ref / vec))
        rows += torchsde_em(name, gbm, paths, steps, ref)
        rows += sdeint_em(name, gbm, 20 if quick else 100, steps, ref, paths)
        rows += diffrax_em(name, gbm, paths, steps, ref)
    return rows


def torchsde_em(name, gbm, paths, steps, ref):
    try:
        import torch
        import torchsde
    except ImportError:
        return [(f"EM {name}: torchsde euler (not installed)", math.nan, math.nan)]
    torch.set_num_threads(1)

    class SDE(torch.nn.Module):
        noise_type = "diagonal"
        sde_type = "ito"

        def f(self, t, y):
            return GM * y if gbm else THETA * (MU - y)

        def g(self, t, y):
            return GS * y if gbm else torch.full_like(y, SIG)
    y0 = torch.ones(paths, 1, dtype=torch.float64)
    ts = torch.tensor([0.0, 1.0], dtype=torch.float64)
    sde = SDE()
    with torch.no_grad():
        t = cpu(lambda: torchsde.sdeint(sde, y0, ts, method="euler", dt=1.0 / steps), 1)
    return [(f"EM {name}: torchsde euler", paths / t, ref / t)]


def sdeint_em(name, gbm, paths, steps, ref, ref_paths):
    try:
        import sdeint
    except ImportError:
        return [(f"EM {name}: sdeint itoEuler (not installed)", math.nan, math.nan)]
    tspan = np.linspace(0.0, 1.0, steps + 1)
    if gbm:
        def f(x, t):
            return GM * x

        def g(x, t):
            return np.diag(GS * x)
    else:
        def f(x, t):
            return THETA * (MU - x)

        def g(x, t):
            return np.diag([SIG])

    def run():
        for _ in range(paths):
            sdeint.itoEuler(f, g, np.array([1.0]), tspan)
    t = cpu(run, 1)
    return [(f"EM {name}: sdeint itoEuler ({paths} paths, per path)", paths / t,
             (ref / ref_paths) / (t / paths))]


def diffrax_em(name, gbm, paths, steps, ref):
    try:
        import diffrax  # noqa: F401
        import jax
    except ImportError:
        return [(f"EM {name}: diffrax Euler (not installed)", math.nan, math.nan)]
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)

    def one(key):
        # the fastest Brownian motion diffrax has for fixed steps (no consistency on re-query)
        bm = diffrax.UnsafeBrownianPath(shape=(), key=key)
        drift = (lambda t, y, a: GM * y) if gbm else (lambda t, y, a: THETA * (MU - y))
        diff = (lambda t, y, a: GS * y) if gbm else (lambda t, y, a: SIG)
        terms = diffrax.MultiTerm(diffrax.ODETerm(drift), diffrax.ControlTerm(diff, bm))
        return diffrax.diffeqsolve(terms, diffrax.Euler(), 0.0, 1.0, 1.0 / steps, 1.0,
                                   adjoint=diffrax.ForwardMode()).ys
    run = jax.jit(jax.vmap(one))
    keys = jax.random.split(jax.random.PRNGKey(0), paths)
    t = cpu(lambda: run(keys).block_until_ready(), 1)
    return [(f"EM {name}: diffrax Euler", paths / t, ref / t)]


STEP_GRID = sorted(2 ** k * r for k in range(4, 14) for r in (1, 1.5))


def brownian_end(seed, paths, steps):
    """W(1) of each path of an SRIW1 solve with fixed steps: the sum of its dW normals (the
    first of each step's two; the kernel fills 1024 normals = 256 whole Philox blocks at a time,
    so one long draw gives the same sequence)."""
    h = 1.0 / steps
    return np.array([math.sqrt(h) * normals(seed, k, 2 * steps)[0::2].sum()
                     for k in range(paths)])


def order15_rows(paths, quick):
    """The fewest steps (on a grid of 2^k and 1.5 2^k) at which SRIW1 / torchsde srk reach a
    mean strong error <= 1e-5 at t = 1 on GBM against the exact solution on the same Brownian
    path, and the CPU time of that solve. fastode: W(1) from the paths' Philox streams;
    torchsde: from its Brownian interval."""
    rows = []
    target = 1e-5
    for steps in (int(s) for s in STEP_GRID):
        res = solve_sde(gbm_f, gbm_g, (0, 1), [1.0], method="SRIW1", dt=1.0 / steps,
                        n_paths=paths, seed=1)
        exact = np.exp((GM - GS ** 2 / 2) + GS * brownian_end(1, paths, steps))
        err = np.mean(np.abs(res.y[:, 0, -1] - exact))
        if err <= target:
            t = cpu(lambda: solve_sde(gbm_f, gbm_g, (0, 1), [1.0], method="SRIW1",
                                      dt=1.0 / steps, n_paths=paths, seed=1))
            rows.append((f"fastode SRIW1, {steps} steps, error {err:.2e}", t, steps))
            break
    try:
        import torch
        import torchsde
    except ImportError:
        rows.append(("torchsde srk (not installed)", math.nan, math.nan))
        return rows
    torch.set_num_threads(1)

    class SDE(torch.nn.Module):
        noise_type = "diagonal"
        sde_type = "ito"

        def f(self, t, y):
            return GM * y

        def g(self, t, y):
            return GS * y
    ts = torch.tensor([0.0, 1.0], dtype=torch.float64)
    for steps in (int(s) for s in STEP_GRID if s <= (3000 if quick else 9000)):
        bm = torchsde.BrownianInterval(0.0, 1.0, size=(paths, 1), dtype=torch.float64, entropy=1,
                                       levy_area_approximation="space-time")
        y0 = torch.ones(paths, 1, dtype=torch.float64)
        with torch.no_grad():
            start = time.process_time()
            ys = torchsde.sdeint(SDE(), y0, ts, method="srk", dt=1.0 / steps, bm=bm)
            t = time.process_time() - start
            exact = torch.exp((GM - GS ** 2 / 2) + GS * bm(0.0, 1.0))
        err = float((ys[-1] - exact).abs().mean())
        if err <= target:
            rows.append((f"torchsde srk, {steps} steps, error {err:.2e}", t, steps))
            break
    else:
        rows.append((f"torchsde srk did not reach {target} by {steps} steps (error {err:.1e},"
                     f" {t:.2f} s)", math.nan, steps))
    return rows


def _ou_drift_plain(t, y):
    return np.array([-y[0]])


def _ou_diffusion_plain(t, y):
    return np.array([0.5])


def one_path_rows():
    kw = dict(method="EM", dt=1e-3, seed=0, noise="additive")
    solve_sde(ou_f, ou_g, (0, 1), [1.0], **kw)
    n = 300
    best = math.inf
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            solve_sde(ou_f, ou_g, (0, 1), [1.0], **kw)
        best = min(best, (time.perf_counter() - start) / n)
    # the same OU path with functions that read no globals (nothing to pack per call)
    solve_sde(_ou_drift_plain, _ou_diffusion_plain, (0, 1), [1.0], **kw)
    plain = math.inf
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            solve_sde(_ou_drift_plain, _ou_diffusion_plain, (0, 1), [1.0], **kw)
        plain = min(plain, (time.perf_counter() - start) / n)
    hand_em(1, 1000, 1e-3, False, 1.0, 0)
    hand = math.inf
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            hand_em(1, 1000, 1e-3, False, 1.0, 0)
        hand = min(hand, (time.perf_counter() - start) / n)
    # the fixed cost of a call: one step
    kw["dt"] = 1.0
    solve_sde(ou_f, ou_g, (0, 1), [1.0], **kw)
    fixed = math.inf
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            solve_sde(ou_f, ou_g, (0, 1), [1.0], **kw)
        fixed = min(fixed, (time.perf_counter() - start) / n)
    return [("one 1000-step EM path: fastode solve_sde (us per call, best of 5)", best * 1e6),
            ("one 1000-step EM path, functions without globals: fastode solve_sde (us)",
             plain * 1e6),
            ("one 1000-step EM path: hand-written numba loop (us per call, best of 5)",
             hand * 1e6),
            ("one 1-step EM path: fastode solve_sde (us per call: the fixed cost)",
             fixed * 1e6)]


def dw_grad(x):
    return np.array([-4.0 * x[0] * (x[0] * x[0] - 1.0)])


def langevin_rows(quick):
    rows = []
    chains, samples, thin = 100, (200 if quick else 1000), 100
    for method in ("ULA", "BAOAB", "OBABO"):
        t = cpu(lambda: sample(dw_grad, [0.0], method=method, step=0.01, n_samples=samples,
                               thin=thin, n_chains=chains, seed=0), 3)
        rows.append((f"Langevin double well {method} (M steps/s, one core)",
                     chains * samples * thin / t / 1e6))
    return rows


@njit(cache=False)
def numba_normals(buf, reps):
    for _ in range(reps):
        for i in range(buf.shape[0]):
            buf[i] = np.random.standard_normal()


def rng_rows():
    buf = np.empty(1024)
    k0, k1 = seed_key(1)
    reps = 2000
    fill_normals(buf, 0, 1024, k0, k1, 0, 0)
    start = time.process_time()
    for r in range(reps):
        fill_normals(buf, 0, 1024, k0, k1, r, 0)
    ours = (time.process_time() - start) / reps / 1024 * 1e9
    numba_normals(buf, 1)
    start = time.process_time()
    numba_normals(buf, reps)
    theirs = (time.process_time() - start) / reps / 1024 * 1e9
    return [("normal: Philox4x32-10 + ziggurat (ns)", ours),
            ("normal: numba np.random.standard_normal (ns)", theirs)]


@njit(parallel=True, cache=True)
def _parallel_reference(n, work):
    """A trivially parallel loop (no memory traffic, no shared state): what 2 threads can give
    on this machine at best."""
    s = np.zeros(n)
    for i in numba.prange(n):
        acc = 0.0
        for k in range(work):
            acc += math.sin(k * 1e-3 + i)
        s[i] = acc
    return s


def scaling_rows(paths, steps):
    out = []
    for threads in (1, 2):
        numba.set_num_threads(threads)
        _parallel_reference(64, 20000)
        best = math.inf
        for _ in range(3):
            start = time.perf_counter()
            _parallel_reference(2000, 20000)
            best = min(best, time.perf_counter() - start)
        out.append((f"reference: a trivially parallel numba loop, {threads} thread(s): wall s",
                    best))
    for n_paths in (paths, 4 * paths):
        for threads in (1, 2):
            numba.set_num_threads(threads)
            solve_sde(ou_f, ou_g, (0, 1), [1.0], method="EM", dt=1.0 / steps,
                      n_paths=n_paths, seed=0, noise="additive")
            best = math.inf
            for _ in range(3):
                start = time.perf_counter()
                solve_sde(ou_f, ou_g, (0, 1), [1.0], method="EM", dt=1.0 / steps,
                          n_paths=n_paths, seed=0, noise="additive")
                best = min(best, time.perf_counter() - start)
            out.append((f"EM OU {n_paths} x {steps}, {threads} thread(s): wall s", best))
    numba.set_num_threads(1)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=os.path.join("bench", "out", "sde.md"))
    opts = parser.parse_args()
    numba.set_num_threads(1)
    paths, steps = (2000, 1000) if opts.quick else (10000, 1000)
    lines = [f"paths x steps = {paths} x {steps}, one thread, CPU time (best of 3)", "",
             "| row | paths/s | vs hand-written numba |", "| --- | --- | --- |"]
    for name, rate, ratio in em_rows(paths, steps, opts.quick):
        lines.append(f"| {name} | {rate:,.0f} | {ratio:.2f}x |")
    lines += ["", "| order 1.5, GBM, 1000 paths, strong error <= 1e-5 | CPU s | steps |",
              "| --- | --- | --- |"]
    for name, t, n in order15_rows(1000, opts.quick):
        lines.append(f"| {name} | {t:.3f} | {n} |")
    lines += ["", "| row | value |", "| --- | --- |"]
    for name, value in one_path_rows() + langevin_rows(opts.quick) + rng_rows():
        lines.append(f"| {name} | {value:.1f} |")
    for name, value in scaling_rows(paths, steps):
        lines.append(f"| {name} | {value:.3f} |")
    text = "\n".join(lines)
    print(text)
    os.makedirs(os.path.dirname(opts.out) or ".", exist_ok=True)
    with open(opts.out, "w") as fh:
        fh.write(text + "\n")


if __name__ == "__main__":
    main()
