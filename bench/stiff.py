"""Stiff problems: all of fastode's stiff methods vs scipy Radau/BDF/LSODA and numbalsoda's LSODA.

    python bench/stiff.py [--quick] [--out bench/out/] [--methods Radau,BDF,...]
                          [--problems robertson,hires,vdp1000] [--rounds N]

fastode: Radau, BDF, Rodas5P, Rodas4, Rosenbrock23, KenCarp4, Kvaerno5 and LSODA (fastode's
own stiffness switching: RK45 <-> Rodas4 at rtol >= 1e-7, RK45 <-> BDF below; fastode.ivp_auto).
Problems: Robertson (t 0..1e5), HIRES (t 0..321.8122), Van der Pol mu = 1e3 (t 0..3000), and on
request POLLU (``--problems pollu``, t 0..60, atol = rtol * 1e-4; bench/lsoda_pollu.py); rtol 1e-3, 1e-5, 1e-7, 1e-9 (--quick: 1e-3, 1e-7; atol = rtol
* 1e-4 for Robertson and HIRES, atol = rtol for Van der Pol). For each: seconds per solve (warm,
interleaved rounds (7, scipy 2), minimum), nfev, njev, nlu, and the error at t_end:
max_i |y_i - ref_i| / max(|ref_i|, ERR_FLOOR max|ref|) against scipy Radau at rtol 1e-12 (checked
against fastode Kvaerno5 at rtol 1e-12; the difference is printed in the header). fastode is
timed through ``fastode.solve_ivp`` with the plain Python RHS (what a user writes; the call
overhead and output at every step included); scipy through ``scipy.integrate.solve_ivp``;
numbalsoda's ``lsoda`` inside an @njit loop (kernel time only, output at t_end only).

Like for like with numbalsoda (column "kernel"): each fastode driver called inside an @njit
loop with the arguments ``fastode.solve_ivp`` would pass (``fastode.ivp_implicit.kernel_call``),
output at t_end only (``t_eval=[t_end]``), against numbalsoda's lsoda timed again on the same
in-place RHS code (``fastode.rhs_inplace`` writes ``out[i] = ...`` instead of returning a new
array; one cfunc per signature): the same RHS code on both sides, no Python in the loop.
fastode's LSODA runs there as ``fastode.kernels.switching.compiled.switching_solve`` (its legs
alternated in numba, the same steps as ``solve_ivp``). numbalsoda's nfev is
counted by its RHS (its finite-difference Jacobian calls included; njev, nlu not reported).

Besides the full table, a summary per problem and rtol: the fastest fastode method, its time and
error, its ratio to the faster of scipy's Radau/BDF (docs/design.md's target: >= 100x) and to
numbalsoda's lsoda (target: > 1), and the fastest fastode method at least as accurate as
numbalsoda's lsoda; then the same two numbalsoda comparisons like for like (kernel times).
Writes OUT/stiff.md (printed) and OUT/stiff.json (reused by
``bench/stiff_work_precision.py --from-json``).
"""
import argparse
import datetime
import json
import os
import sys
import time
import warnings

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import harness  # noqa: E402  (pins the thread pools before numba is imported)
from bench.harness import (Contender, fmt_err, fmt_ratio, fmt_time, interleaved,  # noqa: E402
                           markdown_table)
from bench.problems import Problem  # noqa: E402

import numpy as np  # noqa: E402
import scipy.integrate  # noqa: E402

import fastode  # noqa: E402
import fastode.nb  # noqa: E402,F401  (RHS_SIGNATURE)

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "out")


def robertson(t, y):
    return np.array([-0.04 * y[0] + 1e4 * y[1] * y[2],
                     0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                     3e7 * y[1] ** 2])


def hires(t, y):
    return np.array([
        -1.71 * y[0] + 0.43 * y[1] + 8.32 * y[2] + 0.0007,
        1.71 * y[0] - 8.75 * y[1],
        -10.03 * y[2] + 0.43 * y[3] + 0.035 * y[4],
        8.32 * y[1] + 1.71 * y[2] - 1.12 * y[3],
        -1.745 * y[4] + 0.43 * y[5] + 0.43 * y[6],
        -280.0 * y[5] * y[7] + 0.69 * y[3] + 1.71 * y[4] - 0.43 * y[5] + 0.69 * y[6],
        280.0 * y[5] * y[7] - 1.81 * y[6],
        -280.0 * y[5] * y[7] + 1.81 * y[6],
    ])


def van_der_pol(t, y, mu):
    return np.array([y[1], mu * ((1.0 - y[0] * y[0]) * y[1]) - y[0]])


# POLLU (Hairer & Wanner's stiff test set; Verwer 1994): air pollution, 20 species, 25 reactions
POLLU_K = np.array([.35, .266e2, .123e5, .86e-3, .82e-3, .15e5, .13e-3, .24e5, .165e5, .9e4,
                    .22e-1, .12e5, .188e1, .163e5, .48e7, .35e-3, .175e-1, .1e9, .444e12, .124e4,
                    .21e1, .578e1, .474e-1, .178e4, .312e1])
POLLU_Y0 = np.zeros(20)
POLLU_Y0[[1, 3, 6, 7, 8, 16]] = [0.2, 0.04, 0.1, 0.3, 0.01, 0.007]


def pollu(t, y):
    k = POLLU_K
    r1 = k[0] * y[0]
    r2 = k[1] * y[1] * y[3]
    r3 = k[2] * y[4] * y[1]
    r4 = k[3] * y[6]
    r5 = k[4] * y[6]
    r6 = k[5] * y[6] * y[5]
    r7 = k[6] * y[8]
    r8 = k[7] * y[8] * y[5]
    r9 = k[8] * y[10] * y[1]
    r10 = k[9] * y[10] * y[0]
    r11 = k[10] * y[12]
    r12 = k[11] * y[9] * y[1]
    r13 = k[12] * y[13]
    r14 = k[13] * y[0] * y[5]
    r15 = k[14] * y[2]
    r16 = k[15] * y[3]
    r17 = k[16] * y[3]
    r18 = k[17] * y[15]
    r19 = k[18] * y[15]
    r20 = k[19] * y[16] * y[5]
    r21 = k[20] * y[18]
    r22 = k[21] * y[18]
    r23 = k[22] * y[0] * y[3]
    r24 = k[23] * y[18] * y[0]
    r25 = k[24] * y[19]
    return np.array([
        -r1 - r10 - r14 - r23 - r24 + r2 + r3 + r9 + r11 + r12 + r22 + r25,
        -r2 - r3 - r9 - r12 + r1 + r21,
        -r15 + r1 + r17 + r19 + r22,
        -r2 - r16 - r17 - r23 + r15,
        -r3 + r4 + r4 + r6 + r7 + r13 + r20,
        -r6 - r8 - r14 - r20 + r3 + r18 + r18,
        -r4 - r5 - r6 + r13,
        r4 + r5 + r6 + r7,
        -r7 - r8,
        -r12 + r7 + r9,
        -r9 - r10 + r8 + r11,
        r9,
        -r11 + r10,
        -r13 + r12,
        r14,
        -r18 - r19 + r16,
        -r20,
        r20,
        -r21 - r22 - r24 + r23 + r25,
        -r25 + r24])


PROBLEMS = {
    "robertson": (Problem("robertson", robertson, np.array([1.0, 0.0, 0.0]), (0.0, 1e5), ()),
                  1e-4),
    "hires": (Problem("hires", hires, np.array([1.0, 0, 0, 0, 0, 0, 0, 0.0057]),
                      (0.0, 321.8122), ()), 1e-4),
    "vdp1000": (Problem("vdp1000", van_der_pol, np.array([2.0, 0.0]), (0.0, 3000.0), (1000.0,)),
                1.0),
    # not in the default set (the 12 rows): --problems pollu; bench/lsoda_pollu.py
    "pollu": (Problem("pollu", pollu, POLLU_Y0, (0.0, 60.0), ()), 1e-4),
}
DEFAULT_PROBLEMS = ("robertson", "hires", "vdp1000")
RTOLS = (1e-3, 1e-5, 1e-7, 1e-9)
QUICK_RTOLS = (1e-3, 1e-7)
FASTODE = ("Radau", "BDF", "Rodas5P", "Rodas4", "Rosenbrock23", "KenCarp4", "Kvaerno5", "LSODA")
SCIPY = ("Radau", "BDF", "LSODA")
NBS = "numbalsoda lsoda"
NBS_K = "numbalsoda lsoda, in-place RHS"  # the like-for-like partner of the kernel column
KERNEL_METHODS = ("Radau", "BDF", "Rodas5P", "Rodas4", "Rosenbrock23", "KenCarp4", "Kvaerno5",
                  "LSODA")
ERR_FLOOR = 1e-6  # error relative to max(|ref_i|, ERR_FLOOR * max|ref|)

_references = {}


def reference(problem):
    if problem.name not in _references:
        sol = scipy.integrate.solve_ivp(problem.fun, problem.t_span, problem.y0, method="Radau",
                                        rtol=1e-12, atol=1e-16, args=problem.args)
        _references[problem.name] = sol.y[:, -1]
    return _references[problem.name]


def error(problem, y_end):
    ref = reference(problem)
    if y_end is None or not np.all(np.isfinite(y_end)):
        return np.inf
    floor = ERR_FLOOR * np.max(np.abs(ref))
    return float(np.max(np.abs(y_end - ref) / np.maximum(np.abs(ref), floor)))


def reference_check(problem):
    """Error (same measure) of an independent reference: fastode Kvaerno5, rtol 1e-12."""
    sol = fastode.solve_ivp(problem.fun, problem.t_span, problem.y0, method="Kvaerno5",
                            rtol=1e-12, atol=1e-16, args=problem.args)
    return error(problem, sol.y[:, -1]) if sol.success else np.inf


def _have_numbalsoda():
    return harness.numbalsoda_available()


# ---- like for like with numbalsoda: fastode's drivers in an @njit loop -----------------------

_kernel_rhs = {}
_kernel_loops = {}


def _rhs_source(problem, signature_order, counter=False):
    """Source of a C callback around ``g``, the in-place form of the problem function
    (fastode.rhs_inplace: ``g(t, y, *args, out)`` writes what ``fun`` returns into ``out``,
    as a numbalsoda user writes ``du[i] = ...``). ``signature_order``: "fastode"
    ``(t, y, p, out)`` or "numbalsoda" ``(t, u, du, p)``. ``counter``: p[n_args] += 1."""
    n, n_p = problem.n, len(problem.args)
    arg_expr = "".join(f"p[{k}], " for k in range(n_p))
    head = ("def rhs(t, y_ptr, p_ptr, out_ptr):" if signature_order == "fastode"
            else "def rhs(t, y_ptr, out_ptr, p_ptr):")
    return "\n".join([
        head,
        f"    y = carray(y_ptr, ({n},))",
        f"    p = carray(p_ptr, ({n_p + 1 if counter else max(n_p, 1)},))",
        f"    out = carray(out_ptr, ({n},))",
        f"    p[{n_p}] += 1.0" if counter else "",
        f"    g(t, y, {arg_expr}out)", ""])


def _in_place(problem):
    from numba import njit
    from fastode.rhs_inplace import in_place_variant
    g = in_place_variant(problem.fun, problem.n)
    if g is None:
        raise RuntimeError(f"no in-place form of {problem.name}'s function")
    return njit(g)


def kernel_rhs(problem, flavour="fastode", counter=False):
    """The RHS as a C callback for fastode's drivers (``flavour="fastode"``) or numbalsoda's
    lsoda (``"numbalsoda"``): the same in-place @njit code on both sides (no array per call)."""
    key = (problem.name, flavour, counter)
    if key in _kernel_rhs:
        return _kernel_rhs[key]
    from numba import carray, cfunc
    namespace = {"carray": carray, "g": _in_place(problem)}
    exec(compile(_rhs_source(problem, flavour, counter), f"<{flavour} rhs {problem.name}>",
                 "exec"), namespace)
    if flavour == "fastode":
        signature = fastode.nb.RHS_SIGNATURE
    else:
        from numbalsoda import lsoda_sig as signature
    compiled = cfunc(signature)(namespace["rhs"])
    _kernel_rhs[key] = compiled
    return compiled


def _kernel_loop(driver):
    """``loop(reps, call_args)``: ``driver(*call_args)`` reps times in compiled code."""
    if driver not in _kernel_loops:
        from numba import njit

        @njit
        def loop(reps, call_args):
            out = driver(*call_args)
            for _ in range(reps - 1):
                out = driver(*call_args)
            n_out = out[3]
            return out[0], out[2][:n_out].copy(), out[12].copy()

        _kernel_loops[driver] = loop
    return _kernel_loops[driver]


class KernelCall:
    """One fastode method on a problem, its driver called from an @njit loop, t_end only."""

    def __init__(self, problem, method, rtol, atol):
        import fastode.ivp_implicit as implicit
        import fastode.ivp_auto as auto
        self.rhs = kernel_rhs(problem)
        # with p = problem.args packed as floats: the cfunc reads p[k]; LSODA / auto: the
        # compiled loop of legs (fastode.kernels.switching.compiled)
        kernel_call = auto.kernel_call if method in ("LSODA", "auto") else implicit.kernel_call
        self.driver, self.call_args, self.keep = kernel_call(
            self.rhs, problem.t_span, problem.y0, method, t_eval=[problem.t_span[1]],
            args=tuple(float(a) for a in problem.args), rtol=rtol, atol=atol)
        self.loop = _kernel_loop(self.driver)

    def solve(self):
        status, y_out, counters = self.loop(1, self.call_args)
        return dict(status=int(status), y=y_out[-1] if y_out.shape[0] else None,
                    nfev=int(counters[0]), njev=int(counters[4]), nlu=int(counters[5]))

    def loop_time(self, reps):
        self.loop(1, self.call_args)
        start = time.perf_counter()
        self.loop(reps, self.call_args)
        return (time.perf_counter() - start) / reps


def numbalsoda_nfev(problem, rtol, atol):
    """RHS calls of numbalsoda's lsoda (its finite-difference Jacobian included), counted by the
    in-place cfunc bumping a counter stored after the parameters."""
    from numbalsoda import lsoda
    cf = kernel_rhs(problem, "numbalsoda", counter=True)
    data = np.array(list(problem.args) + [0.0], dtype=np.float64)
    lsoda(cf.address, np.array(problem.y0, dtype=np.float64),
          np.array(problem.t_span, dtype=np.float64), data, rtol, atol)
    return int(data[-1])


class NumbalsodaInPlace:
    """numbalsoda's lsoda in an @njit loop (as bench.harness.NumbalsodaCall) on the in-place
    RHS cfunc that fastode's kernel column uses."""

    def __init__(self, problem, rtol, atol):
        self.cf = kernel_rhs(problem, "numbalsoda")
        self.loop = harness._numbalsoda_loop("lsoda")
        self.u0 = np.array(problem.y0, dtype=np.float64)
        self.t_eval = np.array([float(problem.t_span[0]), float(problem.t_span[1])])
        self.data = np.array(problem.args, dtype=np.float64) if problem.args else np.zeros(1)
        self.rtol, self.atol = float(rtol), float(atol)

    def solve(self):
        y, ok = self.loop(1, self.cf.address, self.u0, self.t_eval, self.data, self.rtol,
                          self.atol)
        return dict(y=y, status=0 if ok else -1)

    def loop_time(self, reps):
        self.solve()
        start = time.perf_counter()
        self.loop(reps, self.cf.address, self.u0, self.t_eval, self.data, self.rtol, self.atol)
        return (time.perf_counter() - start) / reps


def measure(problems=None, rtols=RTOLS, rounds=5, methods=FASTODE, verbose=True):
    """Time and check every solver on every problem and rtol.

    Returns {problem: {rtol_str: {solver: dict(time, nfev, njev, nlu, err, ok, message,
    switches)}}}; solvers that fail (success False or an exception) get time None, err inf.
    """
    have_nbs = _have_numbalsoda()
    results = {}
    for pname in (problems or DEFAULT_PROBLEMS):
        problem, atol_factor = PROBLEMS[pname]
        reference(problem)
        per_rtol = {}
        for rtol in rtols:
            atol = rtol * atol_factor
            contenders, stats = [], {}

            def record(name, sol, contender):
                ok = bool(sol.success)
                stats[name] = dict(nfev=int(sol.nfev), njev=int(sol.njev), nlu=int(sol.nlu),
                                   err=error(problem, sol.y[:, -1]) if ok else np.inf, ok=ok,
                                   message=str(sol.message),
                                   switches=len(getattr(sol, "method_switches", None) or ()))
                if ok:
                    contenders.append(contender)
                else:
                    print(f"  {pname} rtol {rtol:.0e} {name}: {sol.message}", file=sys.stderr)

            for m in methods:
                def fn(m=m):
                    return fastode.solve_ivp(problem.fun, problem.t_span, problem.y0, method=m,
                                             rtol=rtol, atol=atol, args=problem.args)
                name = f"fastode {m}"
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("error", fastode.FallbackWarning)
                        sol = fn()
                except Exception as exc:  # noqa: BLE001 (report and go on)
                    print(f"  {pname} rtol {rtol:.0e} {name} raised {exc!r}", file=sys.stderr)
                    stats[name] = dict(nfev=None, njev=None, nlu=None, err=np.inf, ok=False,
                                       message=repr(exc), switches=0)
                    continue
                record(name, sol, Contender(name, fn=fn))
                if m in KERNEL_METHODS and stats[name]["ok"]:
                    try:
                        kcall = KernelCall(problem, m, rtol, atol)
                        kres = kcall.solve()
                    except Exception as exc:  # noqa: BLE001 (report and go on)
                        print(f"  {pname} rtol {rtol:.0e} kernel {m} raised {exc!r}",
                              file=sys.stderr)
                        continue
                    if kres["status"] >= 0:
                        stats[name]["kernel_err"] = error(problem, kres["y"])
                        stats[name]["kernel_nfev"] = kres["nfev"]
                        contenders.append(Contender(f"kernel {m}", timer=kcall.loop_time))
            for m in SCIPY:
                def sfn(m=m):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        return scipy.integrate.solve_ivp(problem.fun, problem.t_span,
                                                         problem.y0, method=m, rtol=rtol,
                                                         atol=atol, args=problem.args)
                record(f"scipy {m}", sfn(),
                       Contender(f"scipy {m}", fn=sfn, max_rounds=2, target=0.05))
            if have_nbs:
                call = harness.NumbalsodaCall(problem, "lsoda", rtol, atol)
                res = call.solve()
                ok = res["status"] == 0
                stats[NBS] = dict(nfev=numbalsoda_nfev(problem, rtol, atol), njev=None,
                                  nlu=None, ok=ok, message="",
                                  err=error(problem, res["y"]) if ok else np.inf, switches=0)
                if ok:
                    contenders.append(Contender(NBS, timer=call.loop_time))
                kcall = NumbalsodaInPlace(problem, rtol, atol)
                res = kcall.solve()
                ok = res["status"] == 0
                stats[NBS_K] = dict(nfev=stats[NBS]["nfev"], njev=None, nlu=None, ok=ok,
                                    message="", err=error(problem, res["y"]) if ok else np.inf,
                                    switches=0)
                if ok:
                    contenders.append(Contender(NBS_K, timer=kcall.loop_time))
            timed = interleaved(contenders, rounds)
            for name, st in stats.items():
                st["time"] = timed[name].best if name in timed else None
                if name.startswith("fastode "):
                    kname = "kernel " + name[len("fastode "):]
                    st["kernel"] = timed[kname].best if kname in timed else None
            per_rtol[f"{rtol:.0e}"] = stats
            if verbose:
                print(f"  {pname:9s} rtol {rtol:.0e}: " + ", ".join(
                    f"{name.replace('fastode ', '')} {fmt_time(st['time'])}"
                    for name, st in stats.items()), file=sys.stderr, flush=True)
        results[pname] = per_rtol
    return results


def _t(st):
    return st["time"] if st and st.get("time") is not None else np.inf


def summarize(stats):
    """Per problem/rtol: the fastest fastode method and its ratios (dict)."""
    fast = {k: v for k, v in stats.items() if k.startswith("fastode ") and v["time"] is not None}
    best_name = min(fast, key=lambda k: fast[k]["time"]) if fast else None
    scipy_name = min((f"scipy {m}" for m in ("Radau", "BDF")), key=lambda k: _t(stats.get(k)))
    nbs = stats.get(NBS)
    out = dict(best=best_name, scipy_best=scipy_name)
    if best_name is None:
        return out
    b = fast[best_name]
    out["time"], out["err"] = b["time"], b["err"]
    out["vs_scipy"] = _t(stats[scipy_name]) / b["time"]
    out["scipy_err"] = stats[scipy_name]["err"]
    out["vs_nbs"] = _t(nbs) / b["time"] if nbs else None
    out["nbs_err"] = nbs["err"] if nbs else None
    if nbs and np.isfinite(nbs["err"]):
        accurate = {k: v for k, v in fast.items() if v["err"] <= nbs["err"]}
        if accurate:
            a = min(accurate, key=lambda k: accurate[k]["time"])
            out["acc_best"], out["acc_vs_nbs"] = a, _t(nbs) / accurate[a]["time"]
            out["acc_err"] = accurate[a]["err"]
    # like for like: kernel times (an @njit loop, t_end only), numbalsoda's error as the bar
    kern = {k: v for k, v in fast.items() if v.get("kernel") is not None}
    nbs = stats.get(NBS_K)
    if kern and nbs:
        k = min(kern, key=lambda k: kern[k]["kernel"])
        out["k_best"], out["k_time"] = k, kern[k]["kernel"]
        out["k_err"] = kern[k].get("kernel_err", np.inf)
        out["k_vs_nbs"] = _t(nbs) / kern[k]["kernel"]
        if np.isfinite(nbs["err"]):
            acc = {k: v for k, v in kern.items() if v.get("kernel_err", np.inf) <= nbs["err"]}
            if acc:
                a = min(acc, key=lambda k: acc[k]["kernel"])
                out["k_acc_best"], out["k_acc_vs_nbs"] = a, _t(nbs) / acc[a]["kernel"]
                out["k_acc_err"] = acc[a]["kernel_err"]
    return out


def report(results, quick=False, ref_checks=None, command=None):
    rows, srows, krows = [], [], []
    for pname, per_rtol in results.items():
        for rtol, stats in per_rtol.items():
            s = summarize(stats)
            best_scipy = _t(stats.get(s["scipy_best"]))
            nbs = _t(stats.get(NBS))
            nbs_k = _t(stats.get(NBS_K))
            for name, st in stats.items():
                t = st["time"]
                kt = st.get("kernel")
                note = ""
                if not st["ok"]:
                    note = " (failed: " + st["message"][:60] + ")"
                elif st.get("switches"):
                    note = f" ({st['switches']} switches)"
                rows.append([pname, rtol, name + note, fmt_time(t),
                             "—" if st["nfev"] is None else st["nfev"],
                             "—" if st["njev"] is None else st["njev"],
                             "—" if st["nlu"] is None else st["nlu"], fmt_err(st["err"]),
                             fmt_ratio(best_scipy / t) if t else "—",
                             fmt_ratio(nbs / t) if t and np.isfinite(nbs) else "—",
                             fmt_time(kt),
                             fmt_ratio(nbs_k / kt) if kt and np.isfinite(nbs_k) else "—"])
            if "k_best" in s:
                krows.append([
                    pname, rtol, fmt_time(nbs_k), fmt_err(stats[NBS_K]["err"]),
                    f"{s['k_best'].replace('fastode ', '')} {fmt_time(s['k_time'])} "
                    f"({fmt_err(s['k_err'])})", fmt_ratio(s["k_vs_nbs"]),
                    "—" if "k_acc_best" not in s else
                    f"{s['k_acc_best'].replace('fastode ', '')} {fmt_ratio(s['k_acc_vs_nbs'])} "
                    f"({fmt_err(s['k_acc_err'])})"])
            if s["best"] is None:
                srows.append([pname, rtol, "none succeeded"] + ["—"] * 8)
                continue
            srows.append([
                pname, rtol, s["best"].replace("fastode ", ""), fmt_time(s["time"]),
                fmt_err(s["err"]),
                f"{fmt_ratio(s['vs_scipy'])} ({s['scipy_best'].replace('scipy ', '')}, "
                f"{fmt_err(s['scipy_err'])})",
                "—" if s["vs_nbs"] is None else fmt_ratio(s["vs_nbs"]),
                fmt_err(s["nbs_err"]),
                "—" if "acc_best" not in s else
                f"{s['acc_best'].replace('fastode ', '')} {fmt_ratio(s['acc_vs_nbs'])} "
                f"({fmt_err(s['acc_err'])})"])
    header = ["problem", "rtol", "solver", "time", "nfev", "njev", "nlu", "error at t_end",
              "faster scipy of Radau/BDF / this", "numbalsoda lsoda / this",
              "kernel (njit loop, t_end only)", "numbalsoda lsoda (in-place RHS) / kernel"]
    kheader = ["problem", "rtol", "numbalsoda lsoda (in-place RHS)", "its error",
               "fastest fastode kernel (its error)", "numbalsoda lsoda / it",
               "fastest fastode kernel with error <= numbalsoda's: lsoda / it (its error)"]
    sheader = ["problem", "rtol", "fastest fastode", "time", "its error",
               "scipy Radau/BDF (faster) / it (that one's error)", "numbalsoda lsoda / it",
               "numbalsoda error", "fastest fastode with error <= numbalsoda's: lsoda / it "
               "(its error)"]
    ref_note = ""
    if ref_checks:
        ref_note = ("Reference check (fastode Kvaerno5 rtol 1e-12 vs the reference, same "
                    "measure): " + ", ".join(f"{k} {fmt_err(v)}" for k, v in ref_checks.items())
                    + ".\n")
    return "\n".join([
        f"## Stiff problems ({datetime.date.today().isoformat()})\n",
        f"Command: `{command or 'python bench/stiff.py' + (' --quick' if quick else '')}`; "
        f"{harness.environment_note()}.\n",
        "fastode and scipy: one `solve_ivp` call with the plain Python RHS (output at every step);"
        " numbalsoda: its `lsoda` in an `@njit` loop (kernel time, output at t_end only). "
        "Error: max relative error at t_end vs scipy Radau rtol 1e-12 (atol 1e-16), each "
        f"component relative to max(|ref_i|, {ERR_FLOOR:g} max|ref|). Time: minimum over "
        "interleaved rounds (scipy: 2 rounds). atol = rtol * 1e-4 (Robertson, HIRES), rtol "
        "(Van der Pol). Ratios > 1: fastode faster.\n",
        ref_note,
        "### Summary: the fastest fastode method per problem and rtol\n",
        "docs/design.md targets: >= 100x the faster of scipy's BDF/Radau; faster than numbalsoda's "
        "LSODA (ratio > 1). Fastest = least time whatever its error; the last column picks the "
        "fastest fastode method whose error is no larger than numbalsoda lsoda's.\n",
        markdown_table(sheader, srows), "",
        "### Like for like with numbalsoda: kernel times\n",
        "fastode's drivers (`fastode.ivp_implicit.kernel_call`) and numbalsoda's lsoda, each "
        "in an `@njit` loop with output at t_end only, on one in-place RHS (the problem "
        "function rewritten to write `out[i] = ...`, as fastode.solve_ivp does and as a "
        "numbalsoda user writes `du[i] = ...`; the numbalsoda rows above call a function that "
        "returns a new array). The fastode times above add `fastode.solve_ivp`'s fixed cost "
        "(~9 us per call: input checks, result object) and its output at every step.\n",
        markdown_table(kheader, krows), "",
        "### All solvers\n",
        markdown_table(header, rows), ""])


def _jsonable(results):
    def fix(v):
        if isinstance(v, float) and not np.isfinite(v):
            return None
        return v
    return {p: {r: {s: {k: fix(v) for k, v in st.items()} for s, st in stats.items()}
                for r, stats in per.items()} for p, per in results.items()}


def load_json(path):
    with open(path) as fh:
        data = json.load(fh)
    for per in data["results"].values():
        for stats in per.values():
            for st in stats.values():
                if st["err"] is None:
                    st["err"] = np.inf
    return data


def run(quick=False, out_dir=DEFAULT_OUT, methods=FASTODE, problems=None, rounds=None,
        command=None):
    rtols = QUICK_RTOLS if quick else RTOLS
    rounds = rounds or (2 if quick else 7)
    names = list(problems or DEFAULT_PROBLEMS)
    ref_checks = {p: reference_check(PROBLEMS[p][0]) for p in names}
    results = measure(names, rtols, rounds, methods)
    text = report(results, quick, ref_checks, command)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "stiff.md"), "w") as fh:
        fh.write(text)
    with open(os.path.join(out_dir, "stiff.json"), "w") as fh:
        json.dump(dict(environment=harness.environment_note(), quick=quick, rounds=rounds,
                       reference_check={k: (v if np.isfinite(v) else None)
                                        for k, v in ref_checks.items()},
                       results=_jsonable(results)), fh, indent=1)
    print(text)
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="rtol 1e-3 and 1e-7 only, 2 rounds")
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--methods", default=",".join(FASTODE))
    ap.add_argument("--problems", default=",".join(DEFAULT_PROBLEMS),
                    help="of " + ",".join(PROBLEMS))
    ap.add_argument("--rounds", type=int, default=None, help="timing rounds (default 7; quick 2)")
    a = ap.parse_args(argv)
    args = sys.argv[1:] if argv is None else list(argv)
    # the command as run, without --out (a local path)
    shown = [x for i, x in enumerate(args)
             if x != "--out" and not x.startswith("--out=") and (i == 0 or args[i - 1] != "--out")]
    run(a.quick, a.out, tuple(a.methods.split(",")), a.problems.split(","), a.rounds,
        " ".join(["python bench/stiff.py"] + shown))


if __name__ == "__main__":
    main()
