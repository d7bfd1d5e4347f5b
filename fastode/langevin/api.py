"""``fastode.langevin.sample``: Langevin samplers for a user log-density, many chains at once.

``grad_log_density(x, *args) -> array (d,)`` (and for MALA ``log_density(x, *args) -> float``)
are plain Python functions compiled as ``solve_ivp``'s ``fun`` is (fastode.rhs): a copy of the
function with a leading, unused time argument is built from its source (so the in-place
rewrite of ``return np.array([...])`` and the run-time globals work as for an RHS); a function
without source or with a closure goes through a thin wrapper instead.
"""
import ast
import inspect
import itertools
import linecache
import math
import textwrap
import weakref
from typing import Any, Callable

import numpy as np
import numpy.typing as npt

from ..ivp_common import compiled_rhs, pack, validate_args
from ..rhs import Extras, compile_event, raise_failures
from ..sde.api import _count, _positive, _seed
from ..sde.random import seed_key
from . import kernels

METHODS = {"ULA": kernels.ULA, "MALA": kernels.MALA, "BAOAB": kernels.BAOAB,
           "OBABO": kernels.OBABO}
_timed: "weakref.WeakKeyDictionary[Any, Callable[..., Any]]" = weakref.WeakKeyDictionary()
_serial = itertools.count()


def _with_time(fun: Callable[..., Any]) -> Callable[..., Any]:
    """``fun(x, *args)`` as ``f(t, x, *args)`` (t unused), built from its source when it has one."""
    hit = _timed.get(fun)
    if hit is not None:
        return hit
    made: Callable[..., Any] | None = None
    try:
        if fun.__closure__ is None and fun.__name__ != "<lambda>":
            tree = ast.parse(textwrap.dedent(inspect.getsource(fun)))
            node = tree.body[0]
            if isinstance(node, ast.FunctionDef):
                node.decorator_list = []
                node.args.args.insert(0, ast.arg("__fastode_t"))
                source = ast.unparse(tree) + "\n"
                filename = f"<fastode langevin {fun.__qualname__} {next(_serial)}>"
                # inspect.getsource (fastode.usercode, the in-place rewrite) reads it here
                linecache.cache[filename] = (len(source), None, source.splitlines(True),
                                             filename)
                local: dict[str, Any] = {}
                exec(compile(source, filename, "exec"), fun.__globals__, local)
                made = local[node.name]
    except (OSError, TypeError, SyntaxError, AttributeError):
        made = None
    if made is None:
        namespace: dict[str, Any] = {"user": fun}
        exec("def timed(t, x, *args):\n    return user(x, *args)\n", namespace)
        made = namespace["timed"]
    _timed[fun] = made
    return made


class LangevinResult(dict[str, Any]):
    """Samples of a Langevin run; a dict whose keys are also attributes.

    Attributes
    ----------
    samples : ndarray, shape (n_chains, n_saved, d)
        States after ``burn_in`` steps, every ``thin``-th (NaN after a chain failed).
    acceptance_rate : ndarray, shape (n_chains,)
        MALA: accepted proposals / steps; 1.0 for the unadjusted methods.
    ess : ndarray, shape (d,)
        Effective sample size per coordinate, all chains together (Geyer's initial
        monotone sequence on the chains' mean autocorrelation, as in Stan).
    success : bool
        No chain met a non-finite gradient or log-density.
    message : str
        What happened, naming the failed chains when ``success`` is False.
    failed_chains : ndarray of int
        Indices of the chains whose last sample is not finite.
    seed : int
    method : str
    n_steps, burn_in, thin, step : as given

    Examples
    --------
    >>> from fastode.langevin import sample
    >>> res = sample(lambda x: -x, [0.0], method="MALA", log_density=lambda x: -0.5 * x[0] ** 2,
    ...              step=0.5, n_samples=500, n_chains=4, seed=3)
    >>> res.method, res.seed, res.acceptance_rate.shape, res.ess.shape
    ('MALA', 3, (4,), (1,))
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return (f"LangevinResult(method={self['method']!r}, samples shape "
                f"{self['samples'].shape}, mean acceptance {self['acceptance_rate'].mean():.3f},"
                f" ess {np.round(self['ess'], 1).tolist()}, seed={self['seed']})")


def effective_sample_size(samples: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """ESS per coordinate of ``samples`` (n_chains, n, d): Stan's estimator (split chains not
    used), autocorrelations by FFT, Geyer's initial positive and monotone sequence.

    Examples
    --------
    Independent draws: the ESS is about the number of draws.

    >>> import numpy as np
    >>> from fastode.langevin import effective_sample_size
    >>> draws = np.random.default_rng(0).normal(size=(4, 1000, 1))
    >>> bool(3000 < effective_sample_size(draws)[0] < 5000)
    True
    """
    x = np.asarray(samples, dtype=float)
    m, n, d = x.shape
    if n < 4:
        return np.full(d, np.nan)
    x = x - x.mean(axis=1, keepdims=True)
    size = 1 << (2 * n - 1).bit_length()
    spec = np.fft.rfft(x, size, axis=1)
    acov = np.fft.irfft(spec * np.conj(spec), size, axis=1)[:, :n] / n  # (m, n, d)
    chain_var = acov[:, 0, :] * n / (n - 1)
    W = chain_var.mean(axis=0)
    means = np.asarray(samples, dtype=float).mean(axis=1)
    B_over_n = means.var(axis=0, ddof=1) if m > 1 else np.zeros(d)
    var_plus = W * (n - 1) / n + B_over_n
    ess = np.empty(d)
    for k in range(d):
        if not var_plus[k] > 0:
            ess[k] = np.nan
            continue
        rho = 1.0 - (W[k] - acov[:, :, k].mean(axis=0)) / var_plus[k]
        rho[0] = 1.0
        total = 0.0
        prev = np.inf
        t = 0
        while t + 1 < n:
            pair = rho[t] + rho[t + 1]
            if pair <= 0:
                break
            pair = min(pair, prev)  # monotone
            total += pair
            prev = pair
            t += 2
        tau = -1.0 + 2.0 * total
        ess[k] = m * n / max(tau, 1.0 / math.log10(max(m * n, 10)))
    return ess


def sample(grad_log_density: Callable[..., Any], x0: npt.ArrayLike, *, method: str = "BAOAB",
           step: float = 0.01, n_samples: int = 1000, n_chains: int = 1, burn_in: int = 0,
           thin: int = 1, friction: float = 1.0,
           log_density: Callable[..., Any] | None = None, args: tuple[Any, ...] = (),
           seed: int | None = None, first_chain: int = 0) -> LangevinResult:
    """Sample from pi(x) ~ exp(log_density(x)) with Langevin dynamics.

    Parameters
    ----------
    grad_log_density : callable ``(x, *args) -> array (d,)``
        The gradient of log pi (the force -grad U). Compiled like an ODE right-hand side.
    x0 : array_like (d,) or (n_chains, d)
        Initial state (of every chain, or one row per chain).
    method : {'ULA', 'MALA', 'BAOAB', 'OBABO'}
        Overdamped unadjusted (biased by O(step)), Metropolis-adjusted (exact; needs
        ``log_density``), or underdamped (unit mass, ``friction``) with the BAOAB or OBABO
        splitting (bias O(step^2) on configurational averages).
    step : float
        Time step h (ULA/MALA: x + h grad + sqrt(2h) xi).
    n_samples, burn_in, thin : int
        ``burn_in`` steps first, then ``n_samples * thin`` steps keeping every ``thin``-th.
    n_chains : int
        Independent chains, run in parallel; chain k's random stream depends only on
        (seed, first_chain + k).
    friction : float
        gamma of the underdamped methods.
    log_density : callable ``(x, *args) -> float``, optional
        log pi up to a constant (MALA's acceptance test).
    args : tuple
    seed : int, optional
        Default: fresh entropy (reported in the result).
    first_chain : int
        Stream index of the first chain.

    Returns
    -------
    LangevinResult
        ``samples``, ``acceptance_rate``, ``ess``, ``success``, ``seed``.

    Examples
    --------
    A standard normal, ``grad log pi(x) = -x``:

    >>> import numpy as np
    >>> from fastode.langevin import sample
    >>> res = sample(lambda x: -x, [0.0], method="BAOAB", step=0.2, n_samples=2000, thin=2,
    ...              burn_in=200, n_chains=8, seed=0)
    >>> res.samples.shape, res.success
    ((8, 2000, 1), True)
    >>> bool(abs(res.samples.var() - 1.0) < 0.1)
    True
    """
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise ValueError(f"Unknown `method` {method!r}; choose one of {list(METHODS)}.")
    method = method.upper()
    kind = METHODS[method]
    step = _positive("step", step)
    friction = _positive("friction", friction)
    n_samples = _count("n_samples", n_samples, 1)
    n_chains = _count("n_chains", n_chains, 1)
    burn_in = _count("burn_in", burn_in, 0)
    thin = _count("thin", thin, 1)
    first_chain = _count("first_chain", first_chain, 0)
    seed = _seed(seed)
    args = validate_args(args)
    try:
        x0_arr = np.array(x0, dtype=float, ndmin=1)
    except (TypeError, ValueError):
        raise TypeError(f"`x0` must be an array of real numbers; got {x0!r}.") from None
    if x0_arr.ndim > 2 or x0_arr.size == 0:
        raise ValueError(f"`x0` must have shape (d,) or (n_chains, d); got {x0_arr.shape}.")
    if x0_arr.ndim == 2 and x0_arr.shape[0] != n_chains:
        raise ValueError(f"`x0` has {x0_arr.shape[0]} rows; expected n_chains="
                         f"{n_chains} (or pass one state of shape (d,)).")
    if not np.isfinite(x0_arr).all():
        raise ValueError("`x0` must be finite (no NaN or inf).")
    x0s = np.ascontiguousarray(x0_arr.reshape(-1, x0_arr.shape[-1]))
    d = x0s.shape[1]
    if kind == kernels.MALA and log_density is None:
        raise ValueError("method='MALA' needs `log_density` (its acceptance test).")
    start = x0s[0].copy()
    try:
        g0 = np.asarray(grad_log_density(start.copy(), *args), dtype=float)
    except Exception as exc:
        raise ValueError(f"`grad_log_density` raised {type(exc).__name__} when called as "
                         f"grad_log_density(x0, *args): {exc}") from exc
    if g0.shape != (d,):
        raise ValueError(f"`grad_log_density` returned shape {g0.shape}; expected ({d},).")
    specs, p = pack(args)
    extras = Extras(specs)
    c_grad = compiled_rhs(_with_time(grad_log_density), 0.0, start, d, False, args, specs,
                          False, extras)
    compiled = [c_grad]
    if log_density is not None:
        c_logp = compile_event(_with_time(log_density), d, args, False, extras)
        compiled.append(c_logp)
    p = extras.pack(args, specs, p)
    for c in compiled:
        if c.failure is not None and c.failure.flag[0]:
            c.failure.buffer[0] = 0.0
    k0, k1 = seed_key(seed)
    out = np.full((n_chains, n_samples, d), np.nan)
    accepted = np.zeros(n_chains, dtype=np.int64)
    kernels.run_chains(kind, c_grad.address, compiled[-1].address, p, x0s, step, friction,
                       n_samples * thin, burn_in, thin, k0, k1, first_chain, out, accepted)
    if any(c.errors or (c.failure is not None and c.failure.flag[0]) for c in compiled):
        raise_failures(compiled, args, 1.0)
    total = burn_in + n_samples * thin
    failed_chains = np.flatnonzero(~np.isfinite(out[:, -1, :]).all(axis=1))
    ok = failed_chains.size == 0
    if ok:
        message = "All chains ran to the end."
    else:
        message = (f"{failed_chains.size} of {n_chains} chains met a non-finite gradient or "
                   f"log-density (chains {failed_chains[:10].tolist()}"
                   f"{' ...' if failed_chains.size > 10 else ''}): their samples from there on are "
                   f"NaN; a smaller `step` keeps an unadjusted method stable (step={step}).")
    return LangevinResult(samples=out, acceptance_rate=accepted / total,
                          ess=effective_sample_size(out) if ok else np.full(d, np.nan),
                          success=ok, message=message, failed_chains=failed_chains, seed=seed,
                          method=method, n_steps=total, burn_in=burn_in, thin=thin, step=step)
