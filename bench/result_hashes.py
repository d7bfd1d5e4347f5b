"""Hashes of fastode's results over a grid of methods, problems, tolerances and options.

    python bench/result_hashes.py [--out FILE.json] [--compare OTHER.json] [--only Radau,BDF]

A refactoring of the kernels must not change a single bit of any result. This script solves every
case (``solve_ivp`` with and without dense output, t_eval and an event; the step-by-step classes;
an ensemble) and prints one sha256 per case over t, y, the event times and states, the dense
output at fixed points and the counters. ``--compare`` reports the cases whose hash differs from
a file written by another checkout (e.g. ``git worktree add ../base <commit>``, run there with
``PYTHONPATH=../base``).
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import fastode  # noqa: E402


def lotka_volterra(t, y, a, b, c, d):
    return np.array([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])


def lv_event(t, y, a, b, c, d):
    return y[0] - 3.0


def robertson(t, y):
    return np.array([-0.04 * y[0] + 1e4 * y[1] * y[2],
                     0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                     3e7 * y[1] ** 2])


def robertson_event(t, y):
    return y[0] - 0.5


def van_der_pol(t, y, mu):
    return np.array([y[1], mu * ((1.0 - y[0] ** 2) * y[1] - y[0])])


def vdp_event(t, y, mu):
    return y[0]


def heat(t, u):
    # 1-D heat equation, 40 points, Dirichlet ends (banded)
    n = u.shape[0]
    out = np.empty(n)
    for i in range(n):
        left = u[i - 1] if i > 0 else 0.0
        right = u[i + 1] if i < n - 1 else 0.0
        out[i] = (left - 2.0 * u[i] + right) * (n + 1) ** 2
    return out


NONSTIFF = ["RK23", "RK45", "DOP853", "Tsit5", "Vern7"]
STIFF = ["Radau", "BDF", "LSODA", "Rodas5P", "Rodas4", "Rosenbrock23", "KenCarp4", "Kvaerno5",
         "implicit_euler"]
PROBLEMS = {
    "lotka_volterra": (lotka_volterra, lv_event, (0.0, 15.0), [10.0, 5.0], (1.5, 1.0, 3.0, 1.0)),
    "robertson": (robertson, robertson_event, (0.0, 1e3), [1.0, 0.0, 0.0], ()),
    "van_der_pol": (van_der_pol, vdp_event, (0.0, 2.0), [2.0, 0.0], (1e3,)),
}


class Digest:
    def __init__(self):
        self.h = hashlib.sha256()

    def add(self, *values):
        for v in values:
            if v is None:
                self.h.update(b"None")
            elif isinstance(v, (list, tuple)):
                self.h.update(b"[")
                self.add(*v)
                self.h.update(b"]")
            else:
                a = np.ascontiguousarray(np.asarray(v, dtype=float))
                self.h.update(str(a.shape).encode())
                self.h.update(a.tobytes())

    def hexdigest(self):
        return self.h.hexdigest()[:16]


def solve_case(method, problem, rtol, outputs):
    fun, event, t_span, y0, args = PROBLEMS[problem]
    kw = dict(method=method, rtol=rtol, atol=rtol * 1e-3, args=args or None)
    if outputs:
        kw.update(dense_output=True, events=event,
                  t_eval=np.linspace(t_span[0], t_span[1], 7)[1:])
    sol = fastode.solve_ivp(fun, t_span, y0, **kw)
    d = Digest()
    d.add(sol.status, sol.t, sol.y, sol.nfev, sol.njev, sol.nlu)
    if outputs:
        d.add(list(sol.t_events), list(sol.y_events))
        d.add(sol.sol(np.linspace(t_span[0], t_span[1], 11)))
    return d.hexdigest()


def class_case(name, problem, rtol):
    fun, _, (t0, t1), y0, args = PROBLEMS[problem]
    cls = getattr(fastode, name)
    solver = cls(lambda t, y: fun(t, y, *args), t0, np.array(y0, dtype=float), t1, rtol=rtol,
                 atol=rtol * 1e-3)
    d = Digest()
    for _ in range(100000):
        if solver.status != "running":
            break
        solver.step()
        d.add(solver.t, solver.y)
        if solver.status == "running" and solver.t_old is not None:
            d.add(solver.dense_output()(0.5 * (solver.t_old + solver.t)))
    d.add(solver.nfev, solver.njev, solver.nlu)
    return d.hexdigest()


def ensemble_case(rtol):
    params = np.array([[1.5, 1.0, 3.0, 1.0], [1.2, 0.9, 2.5, 1.1], [2.0, 1.0, 3.0, 0.5]])

    def lv(t, y, p):
        return np.array([p[0] * y[0] - p[1] * y[0] * y[1], -p[2] * y[1] + p[3] * y[0] * y[1]])
    res = fastode.solve_ensemble(lv, (0.0, 15.0), [10.0, 5.0], params=params,
                                 t_eval=np.linspace(0.0, 15.0, 16), rtol=rtol, atol=rtol * 1e-3)
    d = Digest()
    d.add(res.y, res.status)
    return d.hexdigest()


def heat_case(method):
    u0 = np.sin(np.pi * np.arange(1, 41) / 41.0)
    sol = fastode.solve_ivp(heat, (0.0, 0.1), u0, method=method, lband=1, uband=1, rtol=1e-6,
                            atol=1e-9)
    d = Digest()
    d.add(sol.status, sol.t, sol.y, sol.nfev, sol.njev, sol.nlu)
    return d.hexdigest()


def all_cases(only=None):
    """Every case's hash; ``only``: substrings, a case runs when its key contains one."""
    out = {}

    def want(key):
        return only is None or any(part in key for part in only)
    for rtol in (1e-3, 1e-6, 1e-9):
        for outputs in (False, True):
            for method in NONSTIFF:
                key = f"{method}/lotka_volterra/{rtol:g}/{'outputs' if outputs else 'plain'}"
                if want(key):
                    out[key] = solve_case(method, "lotka_volterra", rtol, outputs)
            for method in STIFF:
                for problem in ("robertson", "van_der_pol"):
                    key = f"{method}/{problem}/{rtol:g}/{'outputs' if outputs else 'plain'}"
                    if want(key):
                        out[key] = solve_case(method, problem, rtol, outputs)
        for name, problem in (("RK45", "lotka_volterra"), ("DOP853", "lotka_volterra"),
                              ("Radau", "robertson"), ("BDF", "robertson"),
                              ("LSODA", "van_der_pol")):
            if want(f"class {name}/{problem}/{rtol:g}"):
                out[f"class {name}/{problem}/{rtol:g}"] = class_case(name, problem, rtol)
        if want(f"ensemble/{rtol:g}"):
            out[f"ensemble/{rtol:g}"] = ensemble_case(rtol)
    for method in ("Radau", "BDF", "Rodas5P", "KenCarp4"):
        if want(f"banded {method}/heat"):
            out[f"banded {method}/heat"] = heat_case(method)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", help="write the hashes to this JSON file")
    parser.add_argument("--compare", help="a JSON file from another checkout")
    parser.add_argument("--only", help="comma-separated substrings: run the cases whose key "
                        "contains one (a comparison then covers those cases only)")
    opts = parser.parse_args(argv)
    only = opts.only.split(",") if opts.only else None
    hashes = all_cases(only)
    if opts.out:
        with open(opts.out, "w") as fh:
            json.dump(hashes, fh, indent=1, sort_keys=True)
    total = hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()[:16]
    print(f"{len(hashes)} cases, combined hash {total}")
    if opts.compare:
        with open(opts.compare) as fh:
            other = json.load(fh)
        if only is not None:
            other = {k: v for k, v in other.items() if any(part in k for part in only)}
        differ = sorted(k for k in set(hashes) | set(other) if hashes.get(k) != other.get(k))
        for key in differ:
            print(f"  DIFFERENT: {key}: {other.get(key)} -> {hashes.get(key)}")
        print(f"{len(differ)} of {len(hashes)} cases differ")
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
