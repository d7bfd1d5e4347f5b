"""``fastode.solve_sde``: stochastic differential equations on compiled kernels.

dy = f(t, y) dt + g(t, y) dW (Itô) or dy = f dt + g o dW (Stratonovich). ``drift`` and
``diffusion`` are plain Python functions compiled exactly as ``solve_ivp``'s ``fun``
(fastode.rhs: same rules, run-time globals, Python fallback with a FallbackWarning); the kernel
(fastode.sde.driver) calls them through their C addresses.
"""
from __future__ import annotations

import math
import os
import weakref
from typing import Any, Callable, NamedTuple, cast

import numpy as np
import numpy.typing as npt

from ..ensemble_input import _validate_params
from ..ivp_common import compiled_rhs, pack, validate_args, validate_t_eval, validate_t_span, \
    validate_y0
from ..kernels import status as st
from ..rhs import Extras, _cache_for, raise_failures
from . import driver, tableaus
from .result import SdeResult, summary_message
from .store import solve_sde_chunked


class Method(NamedTuple):
    kind: int
    noises: tuple[str, ...]          # noise types it handles
    interpretations: tuple[str, ...]
    adaptive: bool         # has an error estimate (adaptive without dt)
    strong_order: float
    tableau: str = ""


_LOW = ("diagonal", "scalar", "additive")
METHODS = {
    "euler_maruyama": Method(driver.EM, _LOW + ("general",), ("ito",), False, 0.5),
    "milstein": Method(driver.MILSTEIN, _LOW, ("ito", "stratonovich"), False, 1.0),
    "euler_heun": Method(driver.HEUN, _LOW + ("general",), ("stratonovich",), False, 0.5),
    "SRIW1": Method(driver.SRI, _LOW, ("ito",), True, 1.5, "SRIW1"),
    "SOSRI": Method(driver.SRI, _LOW, ("ito",), True, 1.5, "SOSRI"),
    # additive noise: Itô and Stratonovich are the same equation
    "SRA1": Method(driver.SRA, ("additive",), ("ito", "stratonovich"), True, 1.5, "SRA1"),
    "SOSRA": Method(driver.SRA, ("additive",), ("ito", "stratonovich"), True, 1.5, "SOSRA"),
}
ALIASES = {"EM": "euler_maruyama", "em": "euler_maruyama", "sriw1": "SRIW1", "sosri": "SOSRI",
           "sra1": "SRA1", "sosra": "SOSRA", "heun": "euler_heun"}
NOISES = ("diagonal", "scalar", "additive", "general")

_NO_ZSRC = np.zeros((1, 1))
_ONE_PATH_OK = summary_message(np.zeros(1, dtype=np.int64))


_TABLEAUS: dict[Method, tuple[Any, ...]] = {}


def _tableau_arrays(method: Method) -> tuple[Any, ...]:
    """(mats (4, 4, 4): A0, A1, B0, B1; vecs (7, 4): c0, c1, alpha, beta1..4; flags (2, 4):
    the stages whose f and g the step evaluates; n_err; n_stages), zeros for the low-order
    methods; built once per method."""
    hit = _TABLEAUS.get(method)
    if hit is not None:
        return hit
    mats = np.zeros((4, 4, 4))
    vecs = np.zeros((7, 4))
    flags = np.zeros((2, 4), dtype=np.int64)
    n_err = n_stages = 0
    if method.kind == driver.SRI:
        tab = getattr(tableaus, method.tableau)
        for k, key in enumerate(("A0", "A1", "B0", "B1")):
            mats[k] = tab[key]
        for k, key in enumerate(("c0", "c1", "alpha", "beta1", "beta2", "beta3", "beta4")):
            vecs[k] = tab[key]
        n_err, n_stages = tab["n_err"], 4
        A0, A1, B0, B1 = mats
        # which stages' f and g the step uses (SRIW1 evaluates f at 2 of its 4 stages)
        for s in range(4):
            flags[0, s] = (vecs[2, s] != 0 or s < n_err or A0[:, s].any() or A1[:, s].any())
            flags[1, s] = (vecs[3:, s].any() or B0[:, s].any() or B1[:, s].any())
    elif method.kind == driver.SRA:
        tab = getattr(tableaus, method.tableau)
        k = tableaus.SRA_STAGES[method.tableau]
        mats[0, :3, :3] = tab["A0"]
        mats[2, :3, :3] = tab["B0"]
        for row, key in ((0, "c0"), (1, "c1"), (2, "alpha"), (3, "beta1"), (4, "beta2")):
            vecs[row, :3] = tab[key]
        n_stages = k
    hit = _TABLEAUS[method] = (mats, vecs, flags, n_err, n_stages)
    return hit


_CHOSEN: dict[tuple[str, str, str], tuple[str, Method, str]] = {}


def _method(method: Any, noise: Any, interpretation: Any) -> tuple[str, Method, str]:
    """(name, Method, interpretation) of the options, or a clear error; a valid combination of
    strings is remembered (a hit is one dict look-up instead of ~0.8 us of checks)."""
    if type(method) is str and type(noise) is str and type(interpretation) is str:
        key = (method, noise, interpretation)
        hit = _CHOSEN.get(key)
        if hit is None:
            hit = _CHOSEN[key] = _check_method(method, noise, interpretation)
        return hit
    return _check_method(method, noise, interpretation)


def _check_method(method: Any, noise: Any,
                  interpretation: Any) -> tuple[str, Method, str]:
    if not isinstance(method, str):
        raise TypeError(f"`method` must be a string, one of {sorted(METHODS)}; got {method!r}.")
    name = ALIASES.get(method, method)
    if name not in METHODS:
        raise ValueError(f"Unknown `method` {method!r}; choose one of {sorted(METHODS)} "
                         f"(or 'EM').")
    if noise not in NOISES:
        raise ValueError(f"`noise` must be one of {NOISES}; got {noise!r}.")
    if not isinstance(interpretation, str) or interpretation.lower() not in ("ito",
                                                                             "stratonovich"):
        raise ValueError(f"`interpretation` must be 'ito' or 'stratonovich'; "
                         f"got {interpretation!r}.")
    interpretation = interpretation.lower()
    chosen = METHODS[name]
    if noise not in chosen.noises:
        able = [k for k, v in METHODS.items() if noise in v.noises]
        raise ValueError(f"`method` {name!r} does not handle noise={noise!r} (it handles "
                         f"{', '.join(chosen.noises)}); methods that do: {', '.join(able)}.")
    if interpretation not in chosen.interpretations:
        able = [k for k, v in METHODS.items()
                if interpretation in v.interpretations and noise in v.noises]
        raise ValueError(f"`method` {name!r} solves the {' or '.join(chosen.interpretations)} "
                         f"equation, not interpretation={interpretation!r}; methods that do "
                         f"(with noise={noise!r}): {', '.join(able)}.")
    return name, chosen, interpretation


_flat: "weakref.WeakKeyDictionary[Any, dict[int, Callable[..., Any]]]" = \
    weakref.WeakKeyDictionary()


def _flat_diffusion(diffusion: Callable[..., Any], n: int) -> Callable[..., Any]:
    """``diffusion`` of general noise (returning (n, m)) as a function of a padded state
    returning the n m entries row-major: the compiled wrapper (fastode.rhs) gives a function's
    input and output one length, so the kernel passes a state padded to n m and this reads its
    first n entries. Compiled like any user function (``diffusion`` is a helper it calls)."""
    cache = _flat.setdefault(diffusion, {})
    hit = cache.get(n)
    if hit is None:
        namespace: dict[str, Any] = {"user": diffusion, "np": np}
        exec(f"def flat(t, y, *args):\n    return user(t, y[:{n}], *args).ravel()\n",
             namespace)
        hit = cache[n] = namespace["flat"]
    return hit


def _check_output(what: str, fun: Callable[..., Any], t0: float, y0: npt.NDArray[np.float64],
                  args: tuple[Any, ...], n: str, expected: tuple[int, ...]) -> Any:
    try:
        r = fun(t0, y0.copy(), *args)
    except Exception as exc:
        raise ValueError(f"`{what}` raised {type(exc).__name__} when called as "
                         f"{what}(t0, y0, *args): {exc}") from exc
    try:
        r = np.asarray(r, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"`{what}` must return an array of real numbers; got "
                         f"{type(r).__name__}.") from None
    if r.shape != expected:
        raise ValueError(f"`{what}` returned shape {r.shape}; expected {expected}{n}.")
    return r


def _general_width(diffusion: Callable[..., Any], t0: float, y0: npt.NDArray[np.float64],
                   args: tuple[Any, ...], n: int) -> int:
    """m, the number of Wiener processes, from the shape (n, m) diffusion returns at t0."""
    try:
        shape = np.shape(diffusion(t0, y0.copy(), *args))
    except Exception as exc:
        raise ValueError(f"`diffusion` raised {type(exc).__name__} when called as "
                         f"diffusion(t0, y0, *args): {exc}") from exc
    if len(shape) != 2 or shape[0] != n or shape[1] < 1:
        raise ValueError(f"`diffusion` returned shape {shape}; expected (n, m) = ({n}, m) for "
                         f"noise='general' (n components x m Wiener processes).")
    return cast(int, shape[1])


def _positive(name: str, value: object) -> float:
    if type(value) is float and 0.0 < value < math.inf:
        return value  # the common case without the general checks
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"`{name}` must be a real number; got {value!r}.")
    value = float(value)
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"`{name}` must be positive and finite; got {value!r}.")
    return value


def _seed(seed: object) -> int:
    if type(seed) is int and 0 <= seed < 18446744073709551616:
        return seed
    if seed is None:
        return int(cast(int, np.random.SeedSequence().entropy)) & 0xFFFFFFFFFFFFFFFF
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"`seed` must be a non-negative integer or None; got {seed!r}.")
    if not 0 <= int(seed) < 2 ** 64:
        raise ValueError(f"`seed` must be in [0, 2**64); got {seed!r}.")
    return int(seed)


def _count(name: str, value: object, minimum: int) -> int:
    if type(value) is int and value >= minimum:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an integer; got {value!r}.")
    if int(value) < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}; got {value!r}.")
    return int(value)


def _supplied_normals(dW: npt.ArrayLike, n_paths: int, n_steps: int, m: int, h: float,
                      order15: bool) -> npt.NDArray[np.float64]:
    """The driver's normals from supplied increments: per step dW/sqrt(h) (m of them), and for
    the order-1.5 methods dZ/sqrt(h) after them, from I_(1,0) = int (W_s - W_t) ds."""
    dW = np.asarray(dW, dtype=np.float64)
    shape = (n_paths, n_steps, m, 2) if order15 else (n_paths, n_steps, m)
    what = ("(n_paths, n_steps, m, 2): [..., 0] the increments dW and [..., 1] the integrals "
            "I_(1,0) = int_t^{t+h} (W_s - W_t) ds" if order15 else "(n_paths, n_steps, m)")
    if dW.shape != shape:
        raise ValueError(f"`dW` has shape {dW.shape}; this method and noise need {shape}, "
                         f"i.e. {what}.")
    if not np.isfinite(dW).all():
        raise ValueError("`dW` must be finite.")
    sq = math.sqrt(h)
    if not order15:
        return np.ascontiguousarray(dW.reshape(n_paths, n_steps * m) / sq)
    w = dW[..., 0]
    dz = math.sqrt(3.0) * (2.0 * dW[..., 1] / h - w)
    z = np.concatenate([w / sq, dz / sq], axis=2)
    return np.ascontiguousarray(z.reshape(n_paths, n_steps * 2 * m))


def solve_sde(drift: Callable[..., Any], diffusion: Callable[..., Any], t_span: npt.ArrayLike,
              y0: npt.ArrayLike, *, method: str = "SRIW1", noise: str = "diagonal",
              t_eval: npt.ArrayLike | None = None, dt: float | None = None,
              rtol: npt.ArrayLike = 1e-3, atol: npt.ArrayLike = 1e-6, args: tuple[Any, ...] = (),
              n_paths: int = 1, seed: int | None = None, interpretation: str = "ito",
              save: str = "t_eval", dW: npt.ArrayLike | None = None,
              diffusion_derivative: Callable[..., Any] | None = None, first_path: int = 0,
              max_steps: int = 1_000_000, first_step: float | None = None,
              params: npt.ArrayLike | None = None, common_noise: bool = True,
              store: str | os.PathLike[str] | None = None, resume: bool = False,
              chunk_size: int | None = None, backend: str = "threads",
              client: Any = None) -> SdeResult:
    """Solve dy = drift(t, y) dt + diffusion(t, y) dW on many paths in parallel.

    Parameters
    ----------
    drift : callable ``drift(t, y, *args) -> array (n,)``
    diffusion : callable ``diffusion(t, y, *args) -> array (n,)`` (``(n, m)`` for general noise)
        Diagonal noise: component i is driven by its own W_i (for Milstein and the SRI
        methods to reach their order, g_i may depend on y_i only). Scalar noise: one W drives
        every component. Additive: g does not depend on y (checked at t0).
        Both are compiled as ``solve_ivp``'s ``fun`` (same rules and fallbacks).
    t_span : (t0, t1) with t1 > t0
    y0 : array_like (n,), finite
    method : str
        'euler_maruyama' ('EM'), 'milstein', 'euler_heun', 'SRIW1', 'SOSRI' (diagonal, scalar
        or additive noise, strong order 0.5, 1, 0.5, 1.5, 1.5), 'SRA1', 'SOSRA' (additive
        noise, strong order 1.5).
    noise : {'diagonal', 'scalar', 'additive', 'general'}
        'general': ``diffusion`` returns (n, m), dy_i = ... + sum_j g_ij dW_j
        (euler_maruyama and euler_heun).
    t_eval : array_like, optional
        Save times (sorted, within t_span); points between steps are linearly interpolated.
        Default: t0 and t1.
    dt : float, optional
        Fixed step: the interval is cut into ceil((t1 - t0) / dt) equal steps. Without it the
        SRI/SRA methods adapt the step (rtol, atol) by rejection sampling with memory; the
        other methods need ``dt``.
    rtol, atol : float
        Tolerances of the adaptive step.
    args : tuple
        Extra arguments of drift and diffusion (numbers or numeric arrays).
    n_paths : int
        Number of paths, run in parallel (numba threads).
    seed : int, optional
        Key of the random streams (default: fresh entropy; the result's ``seed`` says which).
        Path k's stream depends only on (seed, k): the same whatever n_paths, the thread count
        or the chunking.
    interpretation : {'ito', 'stratonovich'}
        Which equation: EM and the SRI methods solve Itô, euler_heun Stratonovich, milstein
        either, SRA either (the same for additive noise).
    save : {'t_eval', 'steps'}
        'steps' saves every fixed step (needs dt, no t_eval).
    dW : array_like, optional
        Brownian increments to use instead of drawing them (fixed steps): shape
        (n_paths, n_steps, m) with m = n (diagonal/additive) or 1 (scalar); for the order-1.5
        methods (n_paths, n_steps, m, 2) with the integrals I_(1,0) in [..., 1].
    diffusion_derivative : callable, optional
        ``(t, y, *args) -> array (n,)``, dg_i/dy_i, for milstein (default: a finite
        difference, one extra diffusion call per step).
    first_path : int
        Path index of the first path (to regenerate paths first_path, ... alone).
    max_steps : int
        Steps (accepted and rejected) allowed per path.
    first_step : float, optional
        Initial step of the adaptive methods (default (t1 - t0) / 100).
    params : array_like, shape (n_sets, n_params), optional
        Parameter sets: ``n_paths`` paths for each, all in one parallel loop; drift and
        diffusion are then called as ``f(t, y, p)`` with ``p`` one row (no ``args``).
    common_noise : bool
        With ``params``: path r of every set is driven by the same Brownian path (stream
        first_path + r: common random numbers, so differences between sets are not noise);
        False gives set s the streams first_path + s * n_paths + r.

    store : str or path, optional
        A folder for the results as they are computed, in chunks of paths of one parameter set
        (the store of ``solve_ensemble``: ``manifest.json`` and one ``.npz`` per chunk); needs
        a fixed ``seed``. A killed run continues with ``resume=True`` (finished chunks are read,
        not solved again); a store of other inputs is refused.
    resume : bool
        Continue the ensemble in ``store``.
    chunk_size : int, optional
        Paths per chunk (default 10,000; a resumed store keeps its own). Every path keeps its
        random stream, so the result does not depend on the chunking.
    backend : {'threads', 'dask'}
        'dask': the chunks are tasks on a ``dask.distributed`` cluster (``client``, or the
        default client); each runs ``solve_sde`` on its paths.
    client : distributed.Client, optional

    Returns
    -------
    SdeResult
        ``t``, ``y`` (n_paths, n, len(t)), or (n_sets, n_paths, n, len(t)) with ``params``,
        ``status`` per path, ``success``, ``message``, counters and the ``seed`` used.

    Examples
    --------
    Geometric Brownian motion ``dX = mu X dt + sigma X dW``; ``E X_1 = e^mu``:

    >>> import numpy as np, fastode
    >>> def drift(t, y, mu, sigma):
    ...     return np.array([mu * y[0]])
    >>> def diffusion(t, y, mu, sigma):
    ...     return np.array([sigma * y[0]])
    >>> res = fastode.solve_sde(drift, diffusion, (0.0, 1.0), [1.0], args=(1.0, 0.5),
    ...                         n_paths=4000, seed=42, t_eval=[0.0, 0.5, 1.0])
    >>> res.y.shape, res.success
    ((4000, 1, 3), True)
    >>> bool(abs(res.y[:, 0, -1].mean() - np.e) < 0.1)
    True
    """
    name, chosen, interpretation = _method(method, noise, interpretation)
    if store is not None or chunk_size is not None or backend != "threads" or resume \
            or client is not None:
        if store is not None and seed is None:
            raise ValueError("a resumable `store` needs a fixed `seed` (the chunks of a "
                             "resumed run must continue the same random streams).")
        kw = dict(method=method, noise=noise, t_eval=t_eval, dt=dt, rtol=rtol, atol=atol,
                  args=args, n_paths=_count("n_paths", n_paths, 1), seed=_seed(seed),
                  interpretation=interpretation, save=save, dW=dW,
                  diffusion_derivative=diffusion_derivative,
                  first_path=_count("first_path", first_path, 0), max_steps=max_steps,
                  first_step=first_step, params=params, common_noise=common_noise)
        if chunk_size is not None:
            chunk_size = _count("chunk_size", chunk_size, 1)
        return cast(SdeResult, solve_sde_chunked(solve_sde, drift, diffusion, t_span, y0, kw,
                                                 store, resume, chunk_size, backend, client,
                                                 name))
    t0, t1 = validate_t_span(t_span)
    if not (math.isfinite(t1) and t1 > t0):
        raise ValueError(f"`t_span` must be (t0, t1) with finite t1 > t0; "
                         f"got {tuple(cast(Any, t_span))}.")
    # (numpy's ArrayLike hint is a union that `type(y0) is list` does not narrow)
    if (type(y0) is list  # type: ignore[comparison-overlap]
            and 0 < len(y0) <= 32 and all(type(v) is float for v in y0)
            and all(map(math.isfinite, y0))):
        # a short list of finite floats (the usual literal): ~0.5 us instead of ~2.5 us
        y0_arr, n = np.array(y0), len(y0)
    else:
        y0_arr, n, is_complex = validate_y0(y0)
        if is_complex:
            raise TypeError("`y0` must be real for solve_sde.")
    args = validate_args(args)
    seed = _seed(seed)
    specs, p = pack(args)
    # repeated calls with the same plain options (no t_eval, dW, params, ...): what the checks
    # below derive from them is remembered per (drift, diffusion, options), and only y0, args,
    # the seed and the compiled functions' run-time values are handled per call
    plan_key = None
    if (params is None and dW is None and t_eval is None and diffusion_derivative is None
            and first_step is None and save == "t_eval" and noise != "general"
            and specs is not None and (dt is None or type(dt) is float) and type(rtol) is float
            and type(atol) is float and type(n_paths) is int and type(first_path) is int
            and type(max_steps) is int):
        plan_key = ("sde-plan", diffusion, name, noise, interpretation, t0, t1, dt, rtol, atol,
                    n, specs, n_paths, first_path, max_steps)
    plan = _cache_for(drift).get(plan_key) if plan_key is not None else None
    if plan is not None:
        n_sets, m, use_dderiv, t_save, ints, reals, mats, vecs, flags = plan
        t_save = t_save.copy()
    else:
        n_sets = 1
        if params is not None:
            if args:
                raise TypeError("Pass either `args` or `params` (drift and diffusion then get one "
                                "row p of params: f(t, y, p)), not both.")
            params = _validate_params(params)
            n_sets = cast(npt.NDArray[np.float64], params).shape[0]
            args = (cast(npt.NDArray[np.float64], params)[0].copy(),)
            specs, p = pack(args)
        n_paths = _count("n_paths", n_paths, 1)
        first_path = _count("first_path", first_path, 0)
        max_steps = _count("max_steps", max_steps, 1)
        if save not in ("t_eval", "steps"):
            raise ValueError(f"`save` must be 't_eval' or 'steps'; got {save!r}.")
        if dt is not None:
            dt = _positive("dt", dt)
        rtol = _positive("rtol", rtol)
        atol = _positive("atol", atol)
        order15 = chosen.kind >= driver.SRI
        m = 1 if noise == "scalar" else n
        if noise == "general":
            m = _general_width(diffusion, t0, y0_arr, args, n)
        if dW is not None and params is not None and not common_noise:
            raise ValueError("`dW` with `params` drives every parameter set with the same "
                             "increments: it needs common_noise=True.")
        if dW is not None:
            n_steps = np.shape(dW)[1] if np.ndim(dW) >= 2 else 0
            if n_steps < 1:
                raise ValueError(f"`dW` must have shape (n_paths, n_steps, "
                                 f"m{', 2' if order15 else ''}); got shape {np.shape(dW)}.")
            if dt is not None and math.ceil((t1 - t0) / dt * (1 - 1e-12)) != n_steps:
                raise ValueError(f"`dW` has {n_steps} steps but `dt` cuts `t_span` into "
                                 f"{math.ceil((t1 - t0) / dt * (1 - 1e-12))}.")
            adaptive = False
        elif dt is not None:
            n_steps = max(1, math.ceil((t1 - t0) / dt * (1 - 1e-12)))
            adaptive = False
        else:
            if not chosen.adaptive:
                able = [k for k, v in METHODS.items() if v.adaptive and noise in v.noises]
                raise ValueError(f"`method` {name!r} has no error estimate: pass a fixed step `dt`"
                                 f" (adaptive methods for noise={noise!r}: {', '.join(able)}).")
            n_steps = 0
            adaptive = True
        h_fixed = (t1 - t0) / n_steps if n_steps else 0.0
        if save == "steps":
            if t_eval is not None:
                raise ValueError("`save='steps'` saves every step: pass no `t_eval` with it.")
            if adaptive:
                raise ValueError("`save='steps'` needs fixed steps (`dt`): adaptive paths take "
                                 "different steps.")
            t_save = t0 + h_fixed * np.arange(n_steps + 1)
            t_save[-1] = t1
        elif t_eval is None:
            t_save = np.array([t0, t1])
        else:
            t_save = validate_t_eval(t_eval, t0, t1)
        h0 = _positive("first_step", first_step) if first_step is not None else (t1 - t0) / 100

        use_dderiv = diffusion_derivative is not None
        if use_dderiv and name != "milstein":
            raise ValueError("`diffusion_derivative` is used by method='milstein' only.")
        # the functions: called once in Python (shapes, with errors naming them), then compiled;
        # the checks are remembered per function and argument layout, as the compiled code is
        check_key = ("sde-check", n, specs, noise)
        checked = _cache_for(drift).get(check_key) is diffusion and (
            not use_dderiv or _cache_for(diffusion).get(check_key) is diffusion_derivative)
        if not checked:
            _check_output("drift", drift, t0, y0_arr, args, "", (n,))
            if noise == "general":
                g0 = _check_output("diffusion", diffusion, t0, y0_arr, args,
                                   " for noise='general' (n components x m Wiener processes)",
                                   (n, m))
            else:
                g0 = _check_output("diffusion", diffusion, t0, y0_arr, args,
                                   f" for noise={noise!r} (one entry per component)", (n,))
            if noise == "additive":
                bumped = y0_arr + 0.5 + np.abs(y0_arr)
                g1 = np.asarray(diffusion(t0, bumped, *args), dtype=np.float64)
                if not np.allclose(g0, g1, rtol=1e-12, atol=0.0):
                    raise ValueError("noise='additive' but `diffusion` depends on y (its values "
                                     "changed when y0 changed); use noise='diagonal' or 'scalar'.")
            if use_dderiv:
                _check_output("diffusion_derivative",
                              cast(Callable[..., Any], diffusion_derivative), t0, y0_arr, args,
                              "", (n,))
            if specs is not None:
                _cache_for(drift)[check_key] = diffusion
                if use_dderiv:
                    _cache_for(diffusion)[check_key] = diffusion_derivative
        mats, vecs, flags, n_err, n_stages = _tableau_arrays(chosen)
        diag = {"scalar": 0, "general": driver.GENERAL}.get(noise, 1)
        ints = np.array([chosen.kind, use_dderiv, n_steps, adaptive, n_err, n_stages, m, diag,
                         first_path, dW is not None, max_steps, 0, 0, n_paths,
                         not common_noise], dtype=np.int64)
        reals = np.array([t0, t1, h0, rtol, atol, 1.0 if interpretation == "ito" else 0.0])
        if plan_key is not None:
            plans = _cache_for(drift)
            if len(plans) > 256:
                # a sweep over dt or t_span: forget the plans rather than grow without bound
                for key in [k for k in plans if type(k) is tuple and k[0] == "sde-plan"]:
                    del plans[key]
            plans[plan_key] = (n_sets, m, use_dderiv, t_save.copy(), ints, reals, mats, vecs,
                               flags)
    ints = ints.copy()
    ints[11] = seed & 0xFFFFFFFF   # the Philox key words (random.seed_key)
    ints[12] = seed >> 32
    extras = Extras(specs)
    c_drift = compiled_rhs(drift, t0, y0_arr, n, False, args, specs, False, extras)
    if noise == "general":
        padded = np.zeros(n * m)
        padded[:n] = y0_arr
        c_diff = compiled_rhs(_flat_diffusion(diffusion, n), t0, padded, n * m, False, args,
                              specs, False, extras)
    else:
        c_diff = compiled_rhs(diffusion, t0, y0_arr, n, False, args, specs, False, extras)
    compiled = [c_drift, c_diff]
    if use_dderiv:
        compiled.append(compiled_rhs(diffusion_derivative, t0, y0_arr, n, False, args, specs,
                                     False, extras))
    p = extras.pack(args, specs, p)
    for c in compiled:
        if c.failure is not None and c.failure.flag[0]:
            c.failure.buffer[0] = 0.0
    P = p.reshape(1, -1)
    if params is not None:
        # one packed p per set: its row of params, then the run-time values the functions read
        P = np.tile(p, (n_sets, 1))
        P[:, :cast(npt.NDArray[np.float64], params).shape[1]] = params

    if dW is not None:
        zsrc = _supplied_normals(dW, n_paths, n_steps, m, h_fixed, order15)
    else:
        zsrc = _NO_ZSRC
    rows = n_sets * n_paths
    out = np.empty((rows, n, t_save.size))
    out.fill(np.nan)   # what a path does not reach stays NaN (np.full costs ~2x more)
    status: npt.NDArray[np.int64] = np.zeros(rows, dtype=np.int64)
    counters: npt.NDArray[np.int64] = np.zeros((rows, 4), dtype=np.int64)
    run = driver.solve_one if rows == 1 else driver.solve_paths
    run(c_drift.address, c_diff.address, compiled[2].address if use_dderiv else c_diff.address,
        P, y0_arr.reshape(1, n), ints, reals, mats, vecs, flags, zsrc, t_save, out, status,
        counters)
    for c in compiled:
        if c.errors or (c.failure is not None and c.failure.flag[0]):
            raise_failures(compiled, args, 1.0)
            break
    # one path: plain Python on its row (the array reductions cost ~1 us each per call)
    totals = counters[0].tolist() if rows == 1 else counters.sum(axis=0).tolist()
    if rows == 1 and status[0] == st.SUCCESS:
        success, message = True, _ONE_PATH_OK
    else:
        success, message = bool((status >= 0).all()), summary_message(status)
    if params is not None:
        out = out.reshape(n_sets, n_paths, n, t_save.size)
        status = status.reshape(n_sets, n_paths)
        counters = counters.reshape(n_sets, n_paths, 4)
    return SdeResult(t=t_save, y=out, status=status, success=success, message=message,
                     nfev=totals[0], ngev=totals[1], naccept=totals[2], nreject=totals[3],
                     counters=counters, seed=seed, method=name, noise=noise,
                     interpretation=interpretation)
