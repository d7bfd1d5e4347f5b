"""Parameter sweep benchmark: 10,000 Lotka-Volterra trajectories (docs/design.md, "The figures").

Rates a, b, c, d uniformly within +-20% of (1.5, 1, 3, 1), y0 = (10, 5), t in [0, 15], 100 output
times, rtol 1e-6, atol 1e-9. Reports trajectories per second for

* ``fastode.solve_ensemble`` (RK45, DOP853, Tsit5) with 1 and 2 numba threads, in its default
  mode (one solve per trajectory) and ``mode="batch"`` (W trajectories in lock-step, SIMD);
* heyoka's batch mode (``taylor_adaptive_batch`` with its SIMD width, through
  ``ensemble_propagate_grid_batch`` with 1 and 2 worker threads), if importable
  (``pip install heyoka``; it is in fastode's ``bench`` extra);
* scipy's ``solve_ivp`` in a Python loop (RK45, DOP853), timed on the first ``--scipy-n``
  trajectories and extrapolated;
* numbalsoda's ``dop853`` and ``lsoda`` in a numba ``prange`` loop (1 and 2 threads), diffrax
  (``jax.vmap``) and torchode: each only if it is already importable (nothing is installed);
* growth of fastode's time from 1e3 to 1e4 trajectories (1e5 with ``--full``);
* an easy and a hard sweep for both modes (``--hard``): the LV sweep above against Van der Pol
  with mu uniform in [1, 100] (very different step counts per trajectory), 2 threads.

The machine is small and shared: every contender is timed ``--repeats`` times in interleaved
rounds and the best (minimum) time is reported. Run from the repository root:

    python bench/ensemble_sweep.py [--full] [--repeats 5] [--out bench/out]
"""
import argparse
import os
import platform
import sys
import time

if "numba" not in sys.modules:  # the thread pool must be sized before numba starts
    os.environ.setdefault("NUMBA_NUM_THREADS", str(min(os.cpu_count() or 1, 2)))
    os.environ.setdefault("OMP_NUM_THREADS", "1")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numba  # noqa: E402
import numpy as np  # noqa: E402
from numba import njit, prange  # noqa: E402

from fastode.ensemble import solve_ensemble  # noqa: E402

RATES = np.array([1.5, 1.0, 3.0, 1.0])
Y0 = np.array([10.0, 5.0])
T_SPAN = (0.0, 15.0)
T_EVAL = np.linspace(0.0, 15.0, 100)
RTOL, ATOL = 1e-6, 1e-9


def lotka_volterra(t, y, p):
    return np.array([p[0] * y[0] - p[1] * y[0] * y[1], -p[2] * y[1] + p[3] * y[0] * y[1]])


def van_der_pol(t, y, p):
    return np.array([y[1], p[0] * (1.0 - y[0] * y[0]) * y[1] - y[0]])


def lorenz96(t, y, p):
    n = y.shape[0]
    d = np.empty(n)
    for i in range(n):
        d[i] = (y[(i + 1) % n] - y[i - 2]) * y[i - 1] - y[i] + p[0]
    return d


def decay_chain(t, y, p):
    d = np.empty_like(y)
    d[0] = -p[0] * y[0]
    for i in range(1, y.shape[0]):
        d[i] = p[0] * y[i - 1] - p[1] * y[i]
    return d


def size_rows(sizes, repeats, n_traj=1000):
    """Both modes on systems of n equations (DOP853, one thread, process time): Lorenz-96
    (F in [7.5, 8.5], t in [0, 2]) and a linear decay chain (rates in [0.5, 1.5], t in [0, 5]),
    50 outputs; both right-hand sides allocate their result."""
    rows = []
    rng = np.random.default_rng(0)
    for name, fun, params, t1 in (("Lorenz-96", lorenz96, rng.uniform(7.5, 8.5, (n_traj, 1)), 2.0),
                                  ("decay chain", decay_chain,
                                   rng.uniform(0.5, 1.5, (n_traj, 2)), 5.0)):
        for n in sizes:
            y0 = np.linspace(1.0, 2.0, n)
            best = {}
            with Threads(1):
                for _ in range(repeats):
                    for mode in ("default", "batch"):
                        start = time.process_time()
                        res = solve_ensemble(fun, (0.0, t1), y0, params=params,
                                             t_eval=np.linspace(0.0, t1, 50), method="DOP853",
                                             rtol=RTOL, atol=ATOL, mode=mode)
                        best[mode] = min(best.get(mode, np.inf), time.process_time() - start)
            rows.append([name, n, f"{res.naccept.mean():.0f}", f"{n_traj / best['default']:,.0f}",
                         f"{n_traj / best['batch']:,.0f}",
                         f"{best['default'] / best['batch']:.2f}x"])
    return rows


def sweep_params(n, seed=0):
    return RATES * np.random.default_rng(seed).uniform(0.8, 1.2, (n, 4))


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


# ---- contenders ----------------------------------------------------------------------------
def lotka_volterra_cfunc():
    """The same RHS written by hand as a C-signature cfunc (as the numbalsoda contender's)."""
    from numba import carray, cfunc

    from fastode.rhs import RHS_SIGNATURE

    @cfunc(RHS_SIGNATURE)
    def rhs(t, y_ptr, p_ptr, out_ptr):
        u = carray(y_ptr, (2,))
        p = carray(p_ptr, (4,))
        du = carray(out_ptr, (2,))
        du[0] = p[0] * u[0] - p[1] * u[0] * u[1]
        du[1] = -p[2] * u[1] + p[3] * u[0] * u[1]
    return rhs


class FastodeSweep:
    def __init__(self, method, threads, params, final_only=False, cfunc_rhs=None,
                 mode="default", fun=None, t_span=T_SPAN, y0=Y0, t_eval=T_EVAL):
        self.name = f"fastode solve_ensemble {method}" + (
            ", mode='batch'" if mode == "batch" else "") + (
            ", hand-written cfunc RHS" if cfunc_rhs is not None else "") + (
            ", save='final'" if final_only else "")
        self.method, self.threads, self.params = method, threads, params
        self.final_only, self.mode = final_only, mode
        self.fun = cfunc_rhs if cfunc_rhs is not None else (fun or lotka_volterra)
        self.t_span, self.y0, self.t_eval = t_span, y0, t_eval

    def run(self):
        if self.final_only:
            return solve_ensemble(self.fun, self.t_span, self.y0, params=self.params,
                                  save="final", method=self.method, rtol=RTOL, atol=ATOL,
                                  n_threads=self.threads, mode=self.mode)
        return solve_ensemble(self.fun, self.t_span, self.y0, params=self.params,
                              t_eval=self.t_eval, method=self.method, rtol=RTOL, atol=ATOL,
                              n_threads=self.threads, mode=self.mode)


class HeyokaSweep:
    """heyoka's batch mode: ``taylor_adaptive_batch`` of its SIMD width (compiled once, outside
    the timing), propagated over the same output grid for each batch of trajectories.

    ``api=False``: one integrator per thread, reused for its share of the batches (state,
    parameters and time reset per batch), threads from a ``ThreadPoolExecutor``. ``api=True``:
    heyoka's own ``ensemble_propagate_grid_batch`` (``max_workers`` threads), which deep-copies
    the integrator for every batch (measured 8x slower here). heyoka has one tolerance
    (relative and absolute): ``tol`` = the sweep's rtol.
    """

    def __init__(self, threads, params, api=False):
        import copy

        import heyoka as hy
        self.hy, self.api = hy, api
        x, y = hy.make_vars("x", "y")
        a, b, c, d = (hy.par[i] for i in range(4))
        self.width = w = hy.recommended_simd_size()
        self.ta = hy.taylor_adaptive_batch([(x, a * x - b * x * y), (y, -c * y + d * x * y)],
                                           np.repeat(Y0[:, None], w, axis=1), tol=RTOL,
                                           pars=np.repeat(RATES[:, None], w, axis=1))
        self.copies = [copy.deepcopy(self.ta) for _ in range(threads)]
        self.threads, self.params = threads, params
        n = params.shape[0]
        self.n_iter = -(-n // w)
        padded = np.concatenate([params, np.repeat(params[-1:], self.n_iter * w - n, 0)])
        self.pars = [np.ascontiguousarray(padded[i * w:(i + 1) * w].T)
                     for i in range(self.n_iter)]
        self.y0 = np.repeat(Y0[:, None], w, axis=1)
        self.grid = np.ascontiguousarray(np.repeat(T_EVAL[:, None], w, axis=1))
        self.name = (f"heyoka taylor_adaptive_batch (width {w}), "
                     + ("ensemble_propagate_grid_batch" if api
                        else "one integrator per thread, reused"))

    def _reset(self, ta, i):
        ta.set_time(0.0)
        ta.state[:] = self.y0
        ta.pars[:] = self.pars[i]
        return ta

    def run(self):
        hy, n = self.hy, self.params.shape[0]
        if self.api:
            ret = hy.ensemble_propagate_grid_batch(self.ta, T_EVAL, self.n_iter, self._reset,
                                                   max_workers=self.threads)
            grids = [r[-1] for r in ret]
            ok = [o[0] == hy.taylor_outcome.time_limit for r in ret for o in r[0].propagate_res]
        else:
            from concurrent.futures import ThreadPoolExecutor
            per = -(-self.n_iter // self.threads)

            def work(k):
                ta, found, flags = self.copies[k], [], []
                for i in range(k * per, min((k + 1) * per, self.n_iter)):
                    found.append(self._reset(ta, i).propagate_grid(self.grid)[1])
                    flags += [o[0] == hy.taylor_outcome.time_limit for o in ta.propagate_res]
                return found, flags

            if self.threads == 1:
                parts = [work(0)]
            else:
                with ThreadPoolExecutor(self.threads) as pool:
                    parts = list(pool.map(work, range(self.threads)))
            grids = [g for found, _ in parts for g in found]
            ok = [f for _, flags in parts for f in flags]
        # (n_iter * width, n, n_t) states; the padding lanes dropped
        y = np.concatenate([np.transpose(g, (2, 1, 0)) for g in grids])[:n]
        return y, np.array(ok)[:n]


def numbalsoda_sweep(solver_name):
    import numbalsoda
    from numba import carray, cfunc
    solver = getattr(numbalsoda, solver_name)

    @cfunc(numbalsoda.lsoda_sig)
    def rhs(t, u_ptr, du_ptr, p_ptr):
        u = carray(u_ptr, (2,))
        p = carray(p_ptr, (4,))
        du = carray(du_ptr, (2,))
        du[0] = p[0] * u[0] - p[1] * u[0] * u[1]
        du[1] = -p[2] * u[1] + p[3] * u[0] * u[1]

    @njit(parallel=True)
    def sweep(address, params, u0, t_eval, rtol, atol):
        n = params.shape[0]
        out = np.empty((n, t_eval.shape[0], u0.shape[0]))
        ok = np.empty(n, dtype=np.bool_)
        for i in prange(n):
            usol, success = solver(address, u0, t_eval, params[i].copy(), rtol, atol, 10_000_000)
            out[i] = usol
            ok[i] = success
        return out, ok

    return rhs, sweep


class NumbalsodaSweep:
    def __init__(self, solver_name, threads, params, final_only=False):
        self.name = f"numbalsoda {solver_name} in numba prange" + (
            ", t_eval=[0, 15]" if final_only else "")
        self.rhs, self.sweep = numbalsoda_sweep(solver_name)
        self.threads, self.params = threads, params
        self.t_eval = np.array([0.0, 15.0]) if final_only else T_EVAL

    def run(self):
        return self.sweep(self.rhs.address, self.params, Y0, self.t_eval, RTOL, ATOL)


def _importable(name):
    try:
        __import__(name)
        return True
    except Exception:
        return False


class Threads:
    def __init__(self, n):
        self.n = n

    def __enter__(self):
        self.old = numba.get_num_threads()
        numba.set_num_threads(self.n)

    def __exit__(self, *exc):
        numba.set_num_threads(self.old)


# ---- main ----------------------------------------------------------------------------------
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="trajectories (default 10,000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds; best is kept")
    parser.add_argument("--scipy-n", type=int, default=200,
                        help="trajectories timed for scipy's loop (extrapolated)")
    parser.add_argument("--full", action="store_true", help="growth up to 1e5 trajectories")
    parser.add_argument("--methods", default="RK45,DOP853,Tsit5")
    parser.add_argument("--heyoka-api", action="store_true",
                        help="also time heyoka's ensemble_propagate_grid_batch (slower: it "
                             "deep-copies the integrator per batch)")
    parser.add_argument("--sizes", default="",
                        help="comma-separated system sizes n: both modes on Lorenz-96 and a "
                             "decay chain of n equations (1 thread), e.g. 4,10,20,40")
    parser.add_argument("--hard", action="store_true",
                        help="also time both modes on an easy (LV) and a hard (Van der Pol, "
                             "mu in [1, 100]) sweep of --n / 5 trajectories")
    parser.add_argument("--out", default=os.path.join("bench", "out"),
                        help="directory for ensemble_sweep.md ('' for none)")
    args = parser.parse_args(argv)
    command = "python bench/ensemble_sweep.py " + " ".join(argv if argv is not None
                                                            else sys.argv[1:])
    max_threads = numba.config.NUMBA_NUM_THREADS
    thread_counts = [1, 2] if max_threads >= 2 else [1]
    params = sweep_params(args.n)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    notes = []

    # ---- warm up (compile / load the caches) and check agreement ---------------------------
    start = time.perf_counter()
    ref = solve_ensemble(lotka_volterra, T_SPAN, Y0, params=params[:8], t_eval=T_EVAL,
                         method="DOP853", rtol=1e-12, atol=1e-12)
    first_call = time.perf_counter() - start
    # (kind, label, threads, contender); label keys the accuracy check and the 1-thread base
    contenders = []
    for m in methods:
        for mode in ("default", "batch"):
            label = m + (" batch" if mode == "batch" else "")
            for th in thread_counts:
                contenders.append(("fastode", label, th, FastodeSweep(m, th, params, mode=mode)))
    hand = lotka_volterra_cfunc()
    for th in thread_counts:  # the RHS numbalsoda gets, to compare the solvers alone
        contenders.append(("fastode", "DOP853 cfunc", th,
                           FastodeSweep("DOP853", th, params, cfunc_rhs=hand)))
    for final_rhs, mode in ((None, "default"), (hand, "default"), (None, "batch")):
        for th in thread_counts:  # the final state only: no dense output needed
            label = "DOP853 final" + (" cfunc" if final_rhs is not None else "") + (
                " batch" if mode == "batch" else "")
            contenders.append(("fastode", label, th,
                               FastodeSweep("DOP853", th, params, final_only=True,
                                            cfunc_rhs=final_rhs, mode=mode)))
    if _importable("heyoka"):
        for api in ((False, True) if args.heyoka_api else (False,)):
            for th in thread_counts:
                contenders.append(("heyoka", "api" if api else "batch", th,
                                   HeyokaSweep(th, params, api=api)))
    else:
        notes.append("heyoka is not importable here: not measured (pip install heyoka).")
    if _importable("numbalsoda"):
        for solver_name in ("dop853", "lsoda"):
            for th in thread_counts:
                contenders.append(("numbalsoda", solver_name, th,
                                   NumbalsodaSweep(solver_name, th, params)))
        for th in thread_counts:
            contenders.append(("numbalsoda", "dop853 final", th,
                               NumbalsodaSweep("dop853", th, params, final_only=True)))
    else:
        notes.append("numbalsoda is not importable here: not measured.")
    for name in ("diffrax", "torchode"):
        if not _importable(name):
            notes.append(f"{name} is not importable here: not measured (not installed).")
    errors = {}
    for kind, m, th, c in contenders:
        with Threads(th):
            res = c.run()
        if kind == "fastode":
            y_end = res.y[:8] if res.y.ndim == 2 else res.y[:8, :, -1]
            ok = bool(res.success.all())
            nfev = float(res.nfev.mean())
        elif kind == "heyoka":
            y_end = res[0][:8, :, -1]
            ok = bool(res[1].all())
            nfev = None
        else:
            y_end = res[0][:8, -1, :]
            ok = bool(res[1].all())
            nfev = None
        err = float(np.max(np.abs(y_end - ref.y[:, :, -1]) / np.abs(ref.y[:, :, -1])))
        errors[(kind, m)] = (err, ok, nfev)

    # ---- timed rounds, interleaved -------------------------------------------------------------
    best = {}
    for _ in range(args.repeats):
        for kind, m, th, c in contenders:
            with Threads(th):
                t = best_of(c.run, 1)
            key = (kind, m, th)
            best[key] = min(best.get(key, np.inf), t)

    # ---- scipy in a Python loop (extrapolated) ---------------------------------------------------
    import scipy
    import scipy.integrate
    scipy_rate = {}
    n_sc = min(args.scipy_n, args.n)
    for m in ("RK45", "DOP853"):
        def loop(m=m):
            for i in range(n_sc):
                scipy.integrate.solve_ivp(lotka_volterra, T_SPAN, Y0, method=m, t_eval=T_EVAL,
                                          args=(params[i],), rtol=RTOL, atol=ATOL)
        t = best_of(loop, max(1, min(args.repeats, 2)))
        scipy_rate[m] = n_sc / t
        sol = scipy.integrate.solve_ivp(lotka_volterra, T_SPAN, Y0, method=m, t_eval=T_EVAL,
                                        args=(params[0],), rtol=RTOL, atol=ATOL)
        errors[("scipy", m)] = (float(np.max(np.abs(sol.y[:, -1] - ref.y[0, :, -1])
                                             / np.abs(ref.y[0, :, -1]))), sol.success,
                                float(sol.nfev))

    # ---- growth (interleaved rounds too) -----------------------------------------------------
    sizes = [1_000, 10_000] + ([100_000] if args.full else [])
    th_growth = thread_counts[-1]
    sweeps = {n: FastodeSweep("RK45", th_growth, sweep_params(n, seed=1)) for n in sizes}
    grow_best = {}
    with Threads(th_growth):
        for r in range(args.repeats):
            for n, c in sweeps.items():
                if n > 10_000 and r >= 3:
                    continue  # the 1e5 sweep: 3 rounds
                t = best_of(c.run, 1)
                grow_best[n] = min(grow_best.get(n, np.inf), t)
    growth = [(n, grow_best[n]) for n in sizes]

    # ---- easy and hard sweeps, both modes (interleaved rounds) --------------------------------
    hard_rows = []
    if args.hard:
        n_h = max(1, args.n // 5)
        mu = np.random.default_rng(2).uniform(1.0, 100.0, (n_h, 1))
        t_vdp = np.linspace(0.0, 20.0, 100)
        sweeps = {}
        for m in ("RK45", "DOP853"):
            for mode in ("default", "batch"):
                sweeps[("easy", m, mode)] = FastodeSweep(m, th_growth, sweep_params(n_h, 3),
                                                         mode=mode)
                sweeps[("hard", m, mode)] = FastodeSweep(m, th_growth, mu, mode=mode,
                                                         fun=van_der_pol, t_span=(0.0, 20.0),
                                                         y0=np.array([2.0, 0.0]),
                                                         t_eval=t_vdp)
        info = {}
        for key, c in sweeps.items():
            with Threads(th_growth):
                res = c.run()
            info[key] = (bool(res.success.all()), res.naccept)
        hard_best = {}
        with Threads(th_growth):
            for _ in range(args.repeats):
                for key, c in sweeps.items():
                    hard_best[key] = min(hard_best.get(key, np.inf), best_of(c.run, 1))
        for sweep in ("easy", "hard"):
            for m in ("RK45", "DOP853"):
                t_d, t_b = hard_best[(sweep, m, "default")], hard_best[(sweep, m, "batch")]
                ok, steps = info[(sweep, m, "batch")]
                hard_rows.append([sweep, m, f"{steps.min()}-{steps.max()} "
                                  f"(mean {steps.mean():.0f})", f"{n_h / t_d:,.0f}",
                                  f"{n_h / t_b:,.0f}", f"{t_d / t_b:.2f}x",
                                  "yes" if ok else "failures"])

    sizes_table = (size_rows([int(v) for v in args.sizes.split(",")], args.repeats)
                   if args.sizes else [])

    # ---- report ------------------------------------------------------------------------------
    lines = [f"## Parameter sweep: {args.n:,} Lotka-Volterra trajectories", "",
             f"`{command.strip()}` — python {platform.python_version()}, numpy "
             f"{np.__version__}, scipy {scipy.__version__}, numba {numba.__version__} "
             f"(threading layer {numba.threading_layer()}), {os.cpu_count()} CPUs, "
             f"{time.strftime('%Y-%m-%d %H:%M')}.", "",
             "Rates uniform within +-20% of (1.5, 1, 3, 1), y0 = (10, 5), t in [0, 15], 100 output "
             "times, rtol 1e-6, atol 1e-9. Best of "
             f"{args.repeats} interleaved rounds (the machine's 2 cores are shared with other "
             "work, so the best round is the least disturbed one). scipy: the first "
             f"{n_sc} trajectories in a Python loop, extrapolated to trajectories/s. "
             "err: max relative error of y(15) over 8 trajectories against DOP853 at "
             "rtol = atol = 1e-12. Rows marked save='final' / t_eval=[0, 15] keep only the "
             "final state (no dense output is computed). fastode compiles the Python RHS "
             "`fun(t, y, p)` itself; the rows marked 'hand-written cfunc RHS' get the same C "
             "function body as the numbalsoda rows, so they compare the solvers alone. "
             "mode='batch' rows: W trajectories per lock-step batch (fastode.ensemble_batch; the "
             "same steps and values as the default mode). heyoka: one tolerance tol = rtol "
             "(relative and absolute), its Taylor method's own steps.", ""]
    header = ["solver", "threads", "time for the sweep", "trajectories/s", "speed-up 1 -> 2 "
              "threads", "vs scipy RK45 loop", "mean nfev", "err y(15)"]
    rows = []
    base = scipy_rate["RK45"]
    for m in ("RK45", "DOP853"):
        err, ok, nfev = errors[("scipy", m)]
        rows.append([f"scipy solve_ivp {m}, Python loop", 1,
                     f"{args.n / scipy_rate[m]:.1f} s (extrapolated)",
                     f"{scipy_rate[m]:,.0f}", "—", f"{scipy_rate[m] / base:.2f}x",
                     f"{nfev:.0f} (traj 0)", f"{err:.1e}"])
    for kind, m, th, c in contenders:
        t = best[(kind, m, th)]
        rate = args.n / t
        one = best.get((kind, m, 1))
        speedup = f"{one / t:.2f}x" if th > 1 and one else "—"
        err, ok, nfev = errors[(kind, m)]
        rows.append([c.name, th,
                     f"{t * 1e3:.0f} ms", f"{rate:,.0f}", speedup, f"{rate / base:,.0f}x",
                     f"{nfev:.0f}" if nfev is not None else "—",
                     f"{err:.1e}" + ("" if ok else " (failures)")])
    lines.append(markdown_table(header, rows))
    for th in thread_counts:  # the best of each mode against heyoka, per thread count
        rates = {}
        for kind, m, t_, c in contenders:
            if t_ == th and not m.startswith("DOP853 final"):
                group = "heyoka" if kind == "heyoka" else (
                    "batch" if m.endswith("batch") else "default" if kind == "fastode" else None)
                if group:
                    rates[group] = max(rates.get(group, 0.0), args.n / best[(kind, m, th)])
        if "batch" in rates:
            text = (f"{th} thread(s), 100 outputs: fastode's best batch row "
                    f"{rates['batch']:,.0f} traj/s = {rates['batch'] / base:,.0f}x scipy's loop, "
                    f"{rates['batch'] / rates['default']:.2f}x the best default-mode row")
            if "heyoka" in rates:
                text += f", {rates['batch'] / rates['heyoka']:.2f}x heyoka"
            lines += ["", text + "."]
    lines += ["", f"Growth (fastode RK45, {th_growth} threads):", ""]
    t_small = growth[0][1] / growth[0][0]
    lines.append(markdown_table(
        ["trajectories", "time", "trajectories/s", "time per trajectory / at 1e3"],
        [[f"{n:,}", f"{t * 1e3:.0f} ms", f"{n / t:,.0f}", f"{(t / n) / t_small:.2f}"]
         for n, t in growth]))
    if args.full:
        lines += ["", "The 1e5 sweep gets 3 rounds; its result array (160 MB) is fresh memory "
                  "each time, whose first touch costs up to 0.3 s on this VM."]
    if hard_rows:
        lines += ["", f"Easy and hard sweeps, {max(1, args.n // 5):,} trajectories each, "
                  f"{th_growth} threads, rtol 1e-6, atol 1e-9, 100 output times: easy = the "
                  "LV sweep above; hard = Van der Pol y0 = (2, 0), t in [0, 20], mu uniform in "
                  "[1, 100]:", ""]
        lines.append(markdown_table(
            ["sweep", "method", "accepted steps per trajectory", "default traj/s",
             "batch traj/s", "batch / default", "all succeeded"], hard_rows))
    if sizes_table:
        lines += ["", "Larger systems, DOP853, 1,000 trajectories, 1 thread, process time, "
                  "50 output times:", ""]
        lines.append(markdown_table(["system", "n", "mean steps", "default traj/s",
                                     "batch traj/s", "batch / default"], sizes_table))
    lines += ["", f"First call in this process (compile or load the cached kernel, compile the "
              f"RHS): {first_call:.2f} s."]
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    text = "\n".join(lines)
    print(text)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "ensemble_sweep.md"), "w") as fh:
            fh.write(text + "\n")


def markdown_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


if __name__ == "__main__":
    main()
