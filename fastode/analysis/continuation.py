"""Pseudo-arclength continuation of equilibria, with folds and Hopf points located.

The branch X(s) = (x(s), lambda(s)) of f(t, x; lambda) = 0 is followed by a tangent predictor
and a bordered Newton corrector (fastode.analysis.continuation_kernels), with the stability
(eigenvalues of df/dx) at every point. Between two points:

* a fold (limit point) is where the parameter component of the tangent changes sign; it is
  located as the zero of that component along the step;
* a Hopf point is where a complex pair crosses the imaginary axis (the number of complex
  eigenvalues with Re > 0 changes); it is located as the zero of the real part of the pair
  nearest the axis;
* a branch point is where a real eigenvalue crosses zero without a fold (reported, not
  located).

Location: the Illinois variant of regula falsi on the arclength step s, each trial point
corrected on the hyperplane orthogonal to the step's tangent (bordered Newton), until the test
function's bracket is below ``locate_tol`` in s (the located point is corrected to 1e-12).
"""
import math

import numpy as np
from scipy.optimize import OptimizeResult

from .continuation_kernels import CONVERGED, corrector, extended_jacobian, tangent
from .system import as_state, compile_system, parameter_offset


class ContinuationResult(OptimizeResult):
    """Result of :func:`continuation` (a dict with attribute access).

    Attributes
    ----------
    param : ndarray (m,)
        The parameter along the branch.
    states : ndarray (m, n)
    eigenvalues : ndarray (m, n) complex
    stable : ndarray (m,) bool
        All eigenvalues with a negative real part.
    special : list of dict
        Each detected point: ``kind`` ("fold", "hopf" or "branch point"), ``param``,
        ``state``, ``index`` (the branch point after which it lies), ``located`` (bool) and,
        for a Hopf point, ``frequency`` (the imaginary part of the crossing pair).
    folds, hopfs : lists of dict
        The special points of each kind.
    success : bool
    message : str

    Examples
    --------
    A fold: ``y' = p - y^2`` has equilibria ``+-sqrt(p)`` for ``p > 0`` only.

    >>> import numpy as np
    >>> from fastode.analysis import continuation
    >>> branch = continuation(lambda t, y, p: np.array([p - y[0] ** 2]), [1.0], 1.0, 0,
    ...                       args=(1.0,), direction=-1.0, p_min=-1.0, max_points=400)
    >>> fold = branch.folds[0]
    >>> abs(round(fold["param"], 8)), bool(branch.stable[0])
    (0.0, True)
    """

    def plot(self, ax=None, component=0, **kwargs):
        """Draw the branch (solid: stable, dashed: unstable) of ``states[:, component]``
        against the parameter, with the special points marked; returns the Axes."""
        from .portrait import _axes
        ax = _axes(ax)
        p, y, st = self.param, self.states[:, component], self.stable
        start = 0
        for i in range(1, len(p) + 1):
            if i == len(p) or st[i] != st[start]:
                seg = slice(start, min(i + 1, len(p)))
                ax.plot(p[seg], y[seg], "-" if st[start] else "--", color=kwargs.get(
                    "color", "C0"), lw=kwargs.get("lw", 1.5))
                start = i
        marks = {"fold": ("o", "C3"), "hopf": ("s", "C2"), "branch point": ("^", "C1")}
        for sp in self.special:
            m, c = marks[sp["kind"]]
            ax.plot(sp["param"], sp["state"][component], m, color=c, label=sp["kind"])
        handles, labels = ax.get_legend_handles_labels()
        if labels:
            uniq = dict(zip(labels, handles))
            ax.legend(uniq.values(), uniq.keys())
        return ax


def _unstable_counts(ev, tol):
    """(real eigenvalues with Re > 0, complex ones with Re > 0)."""
    scale = max(1.0, float(np.max(np.abs(ev))))
    cplx = np.abs(ev.imag) > tol * scale
    pos = ev.real > 0
    return int(np.sum(pos & ~cplx)), int(np.sum(pos & cplx))


def _hopf_test(ev, tol):
    """Real part of the complex eigenvalue nearest the imaginary axis (NaN if none)."""
    scale = max(1.0, float(np.max(np.abs(ev))))
    cplx = ev[np.abs(ev.imag) > tol * scale]
    if cplx.size == 0:
        return math.nan, math.nan
    i = int(np.argmin(np.abs(cplx.real)))
    return float(cplx[i].real), float(abs(cplx[i].imag))


class _Branch:
    """The compiled system and the Newton settings shared by the steps."""

    def __init__(self, system, off, xtol, ftol, max_iter):
        self.s, self.off = system, off
        self.xtol, self.ftol, self.max_iter = xtol, ftol, max_iter
        self.n = system.n
        self.A = np.empty((self.n, self.n + 1))

    def correct(self, X, T):
        s = self.s
        st, it = corrector(s.rhs, s.jac, s.use_jac, s.p, self.off, 0.0, X, T, self.xtol,
                           self.ftol, self.max_iter)
        return st == CONVERGED, it

    def analyse(self, X, T_prev):
        """(tangent at X oriented along T_prev, eigenvalues of df/dx) or (None, None)."""
        s = self.s
        extended_jacobian(s.rhs, s.jac, s.use_jac, s.p, self.off, 0.0, X, self.A)
        T = np.empty(self.n + 1)
        if not tangent(self.A, T_prev, T):
            return None, None
        return T, np.linalg.eigvals(self.A[:, :self.n])

    def point_at(self, X0, T0, s):
        """The branch point at arclength ~s from X0 along T0, corrected on the hyperplane."""
        X = X0 + s * T0
        ok, _ = self.correct(X, T0)
        return X if ok else None


def _locate(branch, X0, T0, ds, phi0, phi1, test, tol):
    """Zero of test(X, T) for s in (0, ds) (Illinois regula falsi); returns (X, T) or None."""
    a, b, fa, fb = 0.0, ds, phi0, phi1
    side = 0
    best = None
    for _ in range(100):
        s = (a * fb - b * fa) / (fb - fa) if fb != fa else 0.5 * (a + b)
        if not (min(a, b) < s < max(a, b)):
            s = 0.5 * (a + b)
        X = branch.point_at(X0, T0, s)
        if X is None:
            return best
        T, ev = branch.analyse(X, T0)
        if T is None:
            return best
        fs = test(T, ev)
        best = (X, T, ev)
        if fs == 0.0 or abs(b - a) < tol or not math.isfinite(fs):
            break
        if (fs > 0) == (fb > 0):
            b, fb = s, fs
            if side == -1:
                fa *= 0.5
            side = -1
        else:
            a, fa = s, fs
            if side == 1:
                fb *= 0.5
            side = 1
    return best


def continuation(fun, y0, p0, param, args=(), jac=None, p_min=-np.inf, p_max=np.inf,
                 ds=0.01, ds_min=1e-8, ds_max=0.1, max_points=1000, direction=1.0,
                 xtol=1e-12, ftol=1e-10, max_iter=20, classify_tol=1e-8, locate_tol=1e-12):
    """Follow a branch of equilibria of ``fun(t, y, *args)`` as ``args[param]`` varies.

    Pseudo-arclength continuation (tangent predictor, bordered Newton corrector, compiled),
    the stability along the branch, and the folds and Hopf points on it located by bordered
    Newton refinement (see the module docstring).

    Parameters
    ----------
    fun : callable
        ``fun(t, y, *args) -> array (n,)`` (autonomous: called at t = 0).
    y0 : array_like (n,)
        An approximate equilibrium at the parameter ``p0`` (corrected first).
    p0 : float
        The start value of the parameter.
    param : int
        Index in ``args`` of the parameter (a real scalar there; its value is replaced by
        ``p0``).
    args : tuple
    jac : callable, optional
        ``jac(t, y, *args) -> (n, n)`` (df/dy; df/dparam is a central difference); default
        central differences.
    p_min, p_max : float
        Stop when the parameter leaves this interval.
    ds, ds_min, ds_max : float
        Initial, smallest and largest arclength steps (in (y, parameter) space); a step whose
        corrector fails is halved, an easy one grows by 1.5.
    max_points : int
    direction : float
        +1: start towards increasing parameter, -1: decreasing.
    xtol, ftol, max_iter : Newton's settings (as in :func:`equilibria`).
    classify_tol : float
        Eigenvalues with ``|Im| <= classify_tol * max(1, max |lambda|)`` count as real.
    locate_tol : float
        Width (in arclength) of the bracket that ends the location of a fold or Hopf point.

    Returns
    -------
    ContinuationResult
        ``param``, ``states``, ``eigenvalues``, ``stable``, ``special`` (with ``folds`` and
        ``hopfs``), ``success``, ``message``; ``plot(ax)`` draws it.

    Examples
    --------
    The Brusselator's equilibrium loses stability at a Hopf point, ``b = 1 + a^2``:

    >>> import numpy as np
    >>> from fastode.analysis import continuation
    >>> def brusselator(t, y, a, b):
    ...     return np.array([a - (b + 1) * y[0] + y[0] ** 2 * y[1], b * y[0] - y[0] ** 2 * y[1]])
    >>> branch = continuation(brusselator, [1.0, 1.0], 1.0, 1, args=(1.0, 1.0), p_max=3.0)
    >>> round(branch.hopfs[0]["param"], 8)
    2.0
    """
    if not isinstance(args, tuple):
        args = (args,)
    off = parameter_offset(args, param)
    k = int(param) % len(args)
    args = args[:k] + (float(p0),) + args[k + 1:]  # a float: it is read from p as a float
    y = as_state(y0, "y0")
    n = y.size
    for name, v in (("ds", ds), ("ds_min", ds_min), ("ds_max", ds_max)):
        if not (isinstance(v, (int, float, np.floating)) and math.isfinite(v) and v > 0):
            raise ValueError(f"`{name}` must be a positive number; got {v!r}.")
    if not ds_min <= ds <= ds_max:
        raise ValueError("need `ds_min` <= `ds` <= `ds_max`.")
    if not math.isfinite(float(p0)):
        raise ValueError("`p0` must be finite.")
    system = compile_system(fun, y, args, jac, 0.0)
    branch = _Branch(system, off, float(xtol), float(ftol), int(max_iter))
    X = np.append(y, float(p0))
    e = np.zeros(n + 1)
    e[n] = 1.0
    ok, _ = branch.correct(X, e)  # Newton at the fixed parameter p0
    system.check_failures()
    if not ok:
        raise ValueError("Newton did not converge to an equilibrium from `y0` at `p0`; give a "
                         "closer `y0` (fastode.analysis.equilibria finds one).")
    T0 = np.zeros(n + 1)
    T0[n] = 1.0 if direction >= 0 else -1.0
    T, ev = branch.analyse(X, T0)
    if T is None:
        raise ValueError("the branch has no unique tangent at (`y0`, `p0`) (a singular point); "
                         "start elsewhere.")
    points, eigs, special = [X.copy()], [ev], []
    counts = _unstable_counts(ev, classify_tol)
    h = float(ds)
    message = f"Reached max_points = {max_points}."
    success = True
    while len(points) < max_points:
        Xn = X + h * T
        good, its = branch.correct(Xn, T)
        Tn, evn = branch.analyse(Xn, T) if good else (None, None)
        if Tn is None:
            if h <= ds_min:
                message = "The corrector failed at the smallest step `ds_min`."
                success = False
                break
            h = max(0.5 * h, ds_min)
            continue
        new_counts = _unstable_counts(evn, classify_tol)
        if T[n] * Tn[n] < 0:
            loc = _locate(branch, X, T, h, T[n], Tn[n], lambda Tt, e_: Tt[n], locate_tol)
            _add(special, "fold", loc, len(points) - 1, None)
        elif new_counts[0] != counts[0]:
            special.append(dict(kind="branch point", param=0.5 * (X[n] + Xn[n]),
                                state=0.5 * (X[:n] + Xn[:n]), index=len(points) - 1,
                                located=False))
        if new_counts[1] != counts[1]:
            r0, _ = _hopf_test(ev, classify_tol)
            r1, _ = _hopf_test(evn, classify_tol)
            loc = None
            if math.isfinite(r0) and math.isfinite(r1) and r0 * r1 <= 0:
                loc = _locate(branch, X, T, h, r0, r1,
                              lambda Tt, e_: _hopf_test(e_, classify_tol)[0], locate_tol)
            _add(special, "hopf", loc, len(points) - 1, classify_tol,
                 fallback=(X, Xn))
        X, T, ev, counts = Xn, Tn, evn, new_counts
        points.append(X.copy())
        eigs.append(ev)
        if not p_min <= X[n] <= p_max:
            message = "The parameter left [p_min, p_max]."
            break
        if its <= 3:
            h = min(1.5 * h, ds_max)
    system.check_failures()
    P = np.array(points)
    E = np.array(eigs, dtype=complex)
    stable = np.all(E.real < 0, axis=1)
    return ContinuationResult(param=P[:, n], states=P[:, :n], eigenvalues=E, stable=stable,
                              special=special,
                              folds=[s for s in special if s["kind"] == "fold"],
                              hopfs=[s for s in special if s["kind"] == "hopf"],
                              success=success, message=message)


def _add(special, kind, loc, index, tol, fallback=None):
    if loc is None:
        if fallback is None:
            return
        a, b = fallback
        special.append(dict(kind=kind, param=0.5 * (a[-1] + b[-1]), state=0.5 * (a[:-1] + b[:-1]),
                            index=index, located=False))
        return
    X, T, ev = loc
    entry = dict(kind=kind, param=float(X[-1]), state=X[:-1].copy(), index=index, located=True,
                 eigenvalues=ev)
    if kind == "hopf":
        entry["frequency"] = _hopf_test(ev, tol)[1]
    special.append(entry)
