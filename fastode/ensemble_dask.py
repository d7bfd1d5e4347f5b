"""The Dask backend of ``solve_ensemble``: chunks as tasks on a ``dask.distributed`` cluster, each
running the same threaded kernel on its worker (user functions compiled once per worker)."""
from __future__ import annotations

import hashlib
import os
import time
from typing import Any, Callable

import numba
import numpy as np
from numba.core.ccallback import CFunc

from .ensemble_chunk import _compile_for_plan, _Plan, _solve_chunk_arrays, _Threads
from .ensemble_input import _F64, _writeable
from .ensemble_store import callable_fingerprint


class _PicklableCFunc:
    """A numba @cfunc RHS crossing to a Dask worker: rebuilt there from its Python function."""

    def __init__(self, cf: Any) -> None:
        self.pyfunc = cf._pyfunc
        self.sig = cf._sig

    def build(self) -> Any:
        return numba.cfunc(self.sig)(self.pyfunc)


def _wire(f: Any) -> Any:
    return _PicklableCFunc(f) if isinstance(f, CFunc) else f


# worker side: first function object seen per fingerprint, so that each worker compiles a
# given fun once (every task unpickles a new function object)
_worker_functions: dict[str, Any] = {}


def _worker_function(f: Any) -> Any:
    if f is None or not callable(f) and not isinstance(f, _PicklableCFunc):
        return f  # None, or a constant jac matrix
    if isinstance(f, _PicklableCFunc):
        key = "cfunc:" + callable_fingerprint(f.pyfunc)
        if key not in _worker_functions:
            _worker_functions[key] = f.build()
        return _worker_functions[key]
    key = callable_fingerprint(f)
    return _worker_functions.setdefault(key, f)


def _dask_task(plan: _Plan, n_rows: int, y_rows: _F64, p_rows: _F64) -> dict[str, Any]:
    """One chunk on a Dask worker: compile (once per worker) and run the threaded kernel."""
    rtol, atol, t_eval, t_out = _writeable(plan.rtol, plan.atol, plan.t_eval, plan.t_out)
    plan = plan._replace(fun=_worker_function(plan.fun), observe=_worker_function(plan.observe),
                         rtol=rtol, atol=atol, t_eval=t_eval, t_out=t_out)
    plan = plan._replace(jac=_worker_function(plan.jac),
                         events=tuple((_worker_function(e), c, d) for e, c, d in plan.events))
    if plan.stiff is not None:  # (read-only arrays would be another numba type: a recompile)
        s = plan.stiff
        plan = plan._replace(stiff=s._replace(
            mass=_own(s.mass), structure=tuple(_own(a) for a in s.structure),
            lu_plan=(_own(s.lu_plan[0]), s.lu_plan[1])))
    y_rows, p_rows = _writeable(y_rows, p_rows)  # arrays from the wire may be read-only
    p_row = p_rows[0].copy()
    comp = _compile_for_plan(plan, y_rows[0].copy(), p_row)
    with _Threads(plan.n_threads):
        result = _solve_chunk_arrays(plan, n_rows, comp, y_rows, p_rows)
    del comp  # the compiled functions lived until the kernel was done with their addresses
    return result


def _own(a: Any) -> Any:
    """A C-contiguous, writeable array of the same dtype (a copy only where needed)."""
    return np.require(a, None, ["C", "W"])


def _run_dask(plan: _Plan, client: Any, todo: list[int], bounds: list[tuple[int, int]],
              chunk_inputs: Callable[..., Any], finished: Callable[[int, Any], None]) -> None:
    try:
        from distributed import as_completed, default_client
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("backend='dask' needs dask.distributed: "
                          "pip install 'fastode[dask]'") from None
    if client is None:
        try:
            client = default_client()
        except ValueError:
            raise ValueError("backend='dask' needs a `client` (distributed.Client) or a "
                             "current default client.") from None
    wire = plan._replace(fun=_wire(plan.fun), observe=_wire(plan.observe), jac=_wire(plan.jac),
                         events=tuple((_wire(e), c, d) for e, c, d in plan.events))
    token = hashlib.sha256(repr((time.time_ns(), os.getpid(), id(plan))).encode()).hexdigest()[:16]
    futures: dict[Any, int] = {}
    for j in todo:
        lo, hi = bounds[j]
        y_rows, p_rows = chunk_inputs(lo, hi)
        fut = client.submit(_dask_task, wire, hi - lo, y_rows, p_rows,
                            key=f"fastode-ensemble-{token}-{j}", pure=False)
        futures[fut] = j
    try:
        for fut in as_completed(list(futures)):
            j = futures.pop(fut)
            finished(j, fut.result())
            fut.release()
    finally:
        if futures:
            client.cancel(list(futures))
