"""Equilibria of autonomous systems: compiled Newton from many starts, de-duplicated, classified.

``fun(t, y, *args)`` is solve_ivp's form (evaluated at ``t`` = 0 unless told): the function a
user integrates is the one analysed.
"""
import numpy as np
from scipy.optimize import OptimizeResult

from .newton_kernels import CONVERGED, jacobian_at, newton_starts
from .system import as_bounds, as_points, compile_system

KINDS = ("stable node", "stable focus", "unstable node", "unstable focus", "saddle", "centre",
         "degenerate")


def classify(eigenvalues, tol=1e-8):
    """Classify an equilibrium by the eigenvalues of its Jacobian (linear stability).

    Parameters
    ----------
    eigenvalues : array_like, shape (n,) (complex), or a square Jacobian (n, n)
    tol : float
        An eigenvalue with ``|Re| <= tol * max(1, max |lambda|)`` counts as on the imaginary
        axis (a finite-difference Jacobian is accurate to ~1e-10 relative).

    Returns
    -------
    str
        ``"stable node"`` / ``"unstable node"`` (all real parts of one sign, all eigenvalues
        real), ``"stable focus"`` / ``"unstable focus"`` (the same with a complex pair),
        ``"saddle"`` (real parts of both signs, none zero), ``"centre"`` (all eigenvalues
        purely imaginary and nonzero: a centre of the linearisation only; the nonlinear terms
        decide), ``"degenerate"`` (otherwise non-hyperbolic: a zero eigenvalue, or an
        imaginary pair beside others).

    Examples
    --------
    >>> import numpy as np
    >>> from fastode.analysis import classify
    >>> classify(np.array([-1 + 2j, -1 - 2j])), classify(np.array([1.0, -1.0]))
    ('stable focus', 'saddle')
    >>> classify(np.array([[0.0, 1.0], [-1.0, 0.0]]))     # a Jacobian: its eigenvalues are +-i
    'centre'
    """
    ev = np.asarray(eigenvalues)
    if ev.ndim == 2:
        if ev.shape[0] != ev.shape[1]:
            raise ValueError(f"`eigenvalues` given as a matrix must be square; got {ev.shape}.")
        ev = np.linalg.eigvals(ev.astype(float))
    ev = ev.astype(complex).ravel()
    if ev.size == 0 or not np.isfinite(ev).all():
        raise ValueError("`eigenvalues` must be a non-empty array of finite numbers.")
    scale = max(1.0, float(np.max(np.abs(ev))))
    re, im = ev.real, ev.imag
    zero_re = np.abs(re) <= tol * scale
    has_complex = bool(np.any(np.abs(im) > tol * scale))
    if zero_re.any():
        if zero_re.all() and np.all(np.abs(im) > tol * scale):
            return "centre"
        return "degenerate"
    if (re < 0).all():
        return "stable focus" if has_complex else "stable node"
    if (re > 0).all():
        return "unstable focus" if has_complex else "unstable node"
    return "saddle"


def _halton(m, d):
    """m points of the Halton sequence in [0, 1)^d (deterministic, evenly spread)."""
    primes = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71]
    out = np.empty((m, d))
    for k in range(d):
        base = primes[k % len(primes)]
        shift = (k // len(primes)) * 0.61803398875  # beyond 20 dimensions: shifted copies
        idx = np.arange(1, m + 1)
        x = np.zeros(m)
        f = 1.0 / base
        i = idx.copy()
        while np.any(i > 0):
            x += f * (i % base)
            i //= base
            f /= base
        out[:, k] = (x + shift) % 1.0
    return out


def _deduplicate(points, fnorm, tol):
    """Indices of one representative (smallest ||f||) per cluster of points closer than
    ``tol * (1 + |y|)`` in every component, and the cluster sizes."""
    order = np.argsort(fnorm, kind="stable")
    reps, counts = [], []
    for i in order:
        y = points[i]
        for k, r in enumerate(reps):
            if np.all(np.abs(points[r] - y) <= tol * (1.0 + np.abs(points[r]))):
                counts[k] += 1
                break
        else:
            reps.append(i)
            counts.append(1)
    return np.array(reps, dtype=np.int64), np.array(counts, dtype=np.int64)


def equilibria(fun, bounds=None, guesses=None, args=(), jac=None, n_starts=256, t=0.0,
               xtol=1e-12, ftol=1e-9, max_iter=60, dedup_tol=1e-6, classify_tol=1e-8):
    """Find, de-duplicate and classify the equilibria f(t, y) = 0 of ``fun(t, y, *args)``.

    Damped Newton iterations (compiled, with the user ``jac`` or forward differences) run from
    every start in parallel; converged points are merged when they agree to ``dedup_tol``, and
    each equilibrium gets its Jacobian (``jac`` or central differences), eigenvalues and
    :func:`classify`.

    Parameters
    ----------
    fun : callable
        ``fun(t, y, *args) -> array (n,)``, as for ``solve_ivp``.
    bounds : sequence of (low, high), optional
        The box to search: ``n_starts`` quasi-random (Halton) starts inside it, and only
        equilibria inside it (to 1e-9 of its width) are returned. A box without equilibria
        gives an empty result.
    guesses : array_like, shape (m, n) or (n,), optional
        Starts of your own (all results kept unless ``bounds`` is given too). At least one of
        ``bounds`` and ``guesses`` is needed.
    args : tuple
        Extra arguments of ``fun`` (and ``jac``).
    jac : callable or array_like, optional
        ``jac(t, y, *args) -> (n, n)`` or a constant matrix; default finite differences.
    n_starts : int
        Starts drawn in ``bounds``.
    t : float
        The time ``fun`` is evaluated at (for an autonomous system it does not matter).
    xtol, ftol, max_iter : float, float, int
        Newton converged: a full step below ``xtol (1 + |y_i|)`` in every component, and
        ``||f||_inf <= ftol``; at most ``max_iter`` iterations per start.
    dedup_tol : float
        Converged points closer than ``dedup_tol (1 + |y_i|)`` are one equilibrium.
    classify_tol : float
        ``tol`` of :func:`classify`.

    Returns
    -------
    OptimizeResult
        ``points`` (k, n), ``jacobians`` (k, n, n), ``eigenvalues`` (k, n) complex, ``kinds``
        (list of k str), ``stable`` (k,) bool (all real parts < 0), ``counts`` (how many starts
        reached each), ``residuals`` (k,) ||f||_inf, ``n_starts``, ``n_converged``. Sorted by
        the first component, then the next. ``len(result)`` is k.

    Examples
    --------
    >>> def pendulum(t, y, b):
    ...     return np.array([y[1], -np.sin(y[0]) - b * y[1]])
    >>> eq = equilibria(pendulum, bounds=[(-4, 4), (-2, 2)], args=(0.5,))
    >>> eq.kinds
    ['saddle', 'stable focus', 'saddle']
    """
    if bounds is None and guesses is None:
        raise ValueError("give `bounds` (a box to search) or `guesses` (starts), or both.")
    if isinstance(n_starts, bool) or not isinstance(n_starts, (int, np.integer)) or n_starts < 1:
        raise ValueError(f"`n_starts` must be a positive int; got {n_starts!r}.")
    if not isinstance(args, tuple):
        args = (args,)
    box = None
    starts = []
    if guesses is not None:
        starts.append(as_points(guesses, "guesses"))
    n = starts[0].shape[1] if starts else None
    if bounds is not None:
        box = as_bounds(bounds, n)
        n = box.shape[0]
        starts.append(box[:, 0] + (box[:, 1] - box[:, 0]) * _halton(int(n_starts), n))
    starts = np.ascontiguousarray(np.vstack(starts))
    probe = starts[0] if box is None else 0.5 * (box[:, 0] + box[:, 1])
    system = compile_system(fun, probe, args, jac, t)
    m = starts.shape[0]
    status = np.empty(m, dtype=np.int64)
    iters = np.empty(m, dtype=np.int64)
    fnorm = np.empty(m)
    newton_starts(system.rhs, system.jac, system.use_jac, system.p, float(t), starts,
                  float(xtol), float(ftol), int(max_iter), status, iters, fnorm)
    system.check_failures()
    ok = status == CONVERGED
    if box is not None:
        margin = 1e-9 * (box[:, 1] - box[:, 0])
        ok &= np.all((starts >= box[:, 0] - margin) & (starts <= box[:, 1] + margin), axis=1)
    found, res = starts[ok], fnorm[ok]
    reps, counts = _deduplicate(found, res, dedup_tol)
    points = found[reps] if reps.size else np.empty((0, n))
    residuals = res[reps] if reps.size else np.empty(0)
    order = np.lexsort(points.T[::-1]) if len(points) else np.empty(0, dtype=np.int64)
    points, residuals, counts = points[order], residuals[order], counts[order]
    jacobians = np.empty((len(points), n, n))
    for i, y in enumerate(points):
        jacobians[i] = jacobian_at(system.rhs, system.jac, system.use_jac, system.p, float(t),
                                   np.ascontiguousarray(y))
    system.check_failures()
    eigenvalues = np.array([np.linalg.eigvals(J) for J in jacobians], dtype=complex).reshape(
        len(points), n)
    kinds = [classify(ev, classify_tol) for ev in eigenvalues]
    stable = np.array([bool((ev.real < 0).all()) and k != "degenerate"
                       for ev, k in zip(eigenvalues, kinds)], dtype=bool)
    return EquilibriumResult(points=points, jacobians=jacobians, eigenvalues=eigenvalues,
                             kinds=kinds, stable=stable, counts=counts, residuals=residuals,
                             n_starts=m, n_converged=int(ok.sum()))


class EquilibriumResult(OptimizeResult):
    """Result of :func:`equilibria` (a dict with attribute access); ``len()`` is the number of
    equilibria found.

    Examples
    --------
    >>> import numpy as np
    >>> from fastode.analysis import equilibria
    >>> eq = equilibria(lambda t, y: np.array([y[0] - y[0] ** 3, -y[1]]),
    ...                 bounds=[(-2, 2), (-1, 1)])
    >>> len(eq), eq.kinds, eq.stable.tolist()
    (3, ['stable node', 'saddle', 'stable node'], [True, False, True])
    """

    def __len__(self):
        return len(self["points"])

    def __repr__(self):
        lines = [f"{len(self)} equilibri{'um' if len(self) == 1 else 'a'} "
                 f"({self['n_converged']} of {self['n_starts']} starts converged)"]
        for y, kind in zip(self["points"], self["kinds"]):
            lines.append(f"  {np.array2string(y, precision=6)}: {kind}")
        return "\n".join(lines)
