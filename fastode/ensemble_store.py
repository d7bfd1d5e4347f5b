"""The result store of ``solve_ensemble(..., store=path)``: input fingerprints and chunk files.

A store is a folder with ``manifest.json`` (what was solved: fingerprints of the function, its
helpers and the inputs, fastode's version) and one ``.npz`` file per finished chunk, so a killed
sweep resumes with ``resume=True`` and a store from other inputs is refused.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import time
import types as pytypes

import numpy as np
from numba.core.ccallback import CFunc
from numba.core.registry import CPUDispatcher

from ._version import __version__

STORE_FORMAT = "fastode-ensemble"
STORE_VERSION = 1


def _update_value(h, value, depth, seen):
    if isinstance(value, np.ndarray):
        h.update(f"ndarray{value.dtype.str}{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, (bool, int, float, complex, str, bytes, type(None), np.generic)):
        h.update(repr(value).encode())
    elif isinstance(value, (tuple, list)):
        h.update(f"{type(value).__name__}{len(value)}".encode())
        for v in value:
            _update_value(h, v, depth, seen)
    elif isinstance(value, pytypes.ModuleType):
        h.update(f"module {value.__name__}".encode())
    elif callable(value):
        _update_callable(h, value, depth + 1, seen)
    else:
        h.update(f"<{type(value).__module__}.{type(value).__qualname__}>".encode())


def _update_code(h, code):
    h.update(code.co_code)
    h.update(repr(code.co_names).encode())
    h.update(repr(code.co_varnames).encode())
    for c in code.co_consts:
        if isinstance(c, pytypes.CodeType):
            _update_code(h, c)
        else:
            h.update(repr(c).encode())


def _code_names(code):
    names = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, pytypes.CodeType):
            names |= _code_names(c)
    return names


def _update_callable(h, f, depth=0, seen=None):
    seen = set() if seen is None else seen
    if isinstance(f, CFunc):
        f = f._pyfunc
    if isinstance(f, CPUDispatcher):
        f = f.py_func
    h.update(f"{getattr(f, '__module__', '')}.{getattr(f, '__qualname__', type(f).__qualname__)}"
             .encode())
    if id(f) in seen or depth > 4:
        return
    seen.add(id(f))
    if isinstance(f, functools.partial):
        _update_callable(h, f.func, depth + 1, seen)
        _update_value(h, (f.args, tuple(sorted(f.keywords.items()))), depth, seen)
        return
    code = getattr(f, "__code__", None)
    if code is None:  # a callable object: its class's __call__ and its simple attributes
        call = getattr(type(f), "__call__", None)
        code = getattr(call, "__code__", None)
        if code is None:
            return
        _update_code(h, code)
        attrs = getattr(f, "__dict__", {})
        _update_value(h, tuple((k, attrs[k]) for k in sorted(attrs)
                               if isinstance(attrs[k], (int, float, str, np.ndarray))),
                      depth, seen)
        return
    _update_code(h, code)
    _update_value(h, getattr(f, "__defaults__", None), depth, seen)
    for cell in getattr(f, "__closure__", None) or ():
        try:
            _update_value(h, cell.cell_contents, depth, seen)
        except ValueError:  # empty cell
            pass
    glob = getattr(f, "__globals__", {})
    for name in sorted(_code_names(code)):
        if name in glob:
            h.update(name.encode())
            _update_value(h, glob[name], depth, seen)


def callable_fingerprint(f) -> str:
    """sha256 of a function's qualified name, bytecode, constants, defaults, closure values and
    the simple global values (numbers, arrays, helper functions) it refers to."""
    h = hashlib.sha256()
    _update_callable(h, f)
    return h.hexdigest()


def _digest(value) -> str:
    h = hashlib.sha256()
    _update_value(h, value, 0, set())
    return h.hexdigest()


def _fingerprint_any(f):
    """A callable's fingerprint, or the digest of a value (a constant ``jac`` matrix)."""
    return callable_fingerprint(f) if callable(f) else _digest(f)


def _fingerprints(plan, y0, params):
    """Per-input sha256 digests; the store refuses to resume when any of them differs (the
    event and stiff entries only where a sweep has them: stores written before them resume)."""
    found = {
        "fun": callable_fingerprint(plan.fun),
        "observe": callable_fingerprint(plan.observe) if plan.observe is not None else "",
        "save": plan.save,
        "method": plan.method,
        "t_span": _digest((plan.t0, plan.t1)),
        "t_eval": _digest(plan.t_eval),
        "y0": _digest(y0),
        "params": _digest(params),
        "rtol": _digest(plan.rtol),
        "atol": _digest(plan.atol),
        "step options": _digest((plan.first_step, plan.max_step, plan.min_step,
                                 plan.max_steps)),
    }
    if plan.events:
        found["events"] = _digest(tuple((_fingerprint_any(e), count, direction)
                                        for e, count, direction in plan.events)
                                  + (plan.event_samples, plan.max_events))
    if plan.jac is not None:
        found["jac"] = _fingerprint_any(plan.jac)
    if plan.stiff is not None:
        found["method options"] = _digest(tuple(plan.stiff))
    return found


# ---------------------------------------------------------------------------------------------
# result store: one .npz per chunk + manifest.json
# ---------------------------------------------------------------------------------------------
class _Store:
    kind = "npz"
    extra_inputs: dict = {}  # the Zarr store adds its coordinate labels to the fingerprints

    def __init__(self, path):
        self.path = os.fspath(path)
        self.manifest_path = os.path.join(self.path, "manifest.json")

    def read_times(self):
        return np.load(os.path.join(self.path, "t.npy"))

    def chunk_path(self, j):
        return os.path.join(self.path, f"chunk_{j:06d}.npz")

    def read_manifest(self):
        try:
            with open(self.manifest_path) as fh:
                manifest = json.load(fh)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise ValueError(f"`store` {self.path!r} has an unreadable manifest.json "
                             f"({exc}); remove it or use another path.") from None
        if manifest.get("format") != STORE_FORMAT:
            raise ValueError(f"`store` {self.path!r} is not a fastode ensemble store.")
        return manifest

    def write_manifest(self, manifest, t_out):
        os.makedirs(self.path, exist_ok=True)
        np.save(os.path.join(self.path, "t.npy"), t_out)
        tmp = self.manifest_path + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(manifest, fh, indent=1, sort_keys=True)
        os.replace(tmp, self.manifest_path)

    def write_chunk(self, j, lo, hi, out, status, counters, **extra):
        """One finished chunk: ``out``, ``status``, ``counters`` and any more per-trajectory
        arrays (``extra``: the event arrays, ...)."""
        self.write_arrays(j, lo, hi, dict(extra, out=out, status=status, counters=counters))

    def read_chunk(self, j, lo, hi, out_shape):
        """Every array of the chunk (``out``, ``status``, ``counters`` and the extra ones), or
        None when it is missing or its ``out`` does not fit."""
        return self.read_arrays(j, lo, hi, {"out": out_shape, "status": None,
                                            "counters": None}, everything=True)

    def write_arrays(self, j, lo, hi, arrays):
        """``arrays``: name -> array (``out``, ``status``, ``counters``, and the event arrays
        ``ev_t``, ``ev_y``, ``ev_n`` of a sweep with events)."""
        tmp = self.chunk_path(j) + ".tmp"
        with open(tmp, "wb") as fh:
            np.savez(fh, lo=lo, hi=hi, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.chunk_path(j))  # atomic: a killed run never leaves half a chunk

    def read_arrays(self, j, lo, hi, shapes, everything=False):
        """The chunk's arrays (name -> array for each name of ``shapes``, name -> shape), or
        None when it is missing or does not fit (a shape None: not checked); ``everything``:
        the other arrays of the chunk too."""
        path = self.chunk_path(j)
        if not os.path.exists(path):
            return None
        try:
            with np.load(path) as data:
                if int(data["lo"]) != lo or int(data["hi"]) != hi:
                    return None
                got = {}
                for name, shape in shapes.items():
                    if name not in data.files or (shape is not None
                                                  and data[name].shape != tuple(shape)):
                        return None
                    got[name] = data[name]
                if everything:
                    got.update((k, data[k]) for k in data.files if k not in ("lo", "hi"))
                return got
        except Exception:  # unreadable (should not happen: chunks are written atomically)
            return None


def new_manifest(expected, plan, chunk, n_chunks, trajectory_without_t_eval):
    """The manifest of a new store: the fingerprints (``expected``), the chunking, what
    ``load_ensemble`` needs to rebuild the result, and a readable summary."""
    fun = plan.fun
    small = plan.n <= 16
    summary = {
        "fun": f"{getattr(fun, '__module__', '')}."
               f"{getattr(fun, '__qualname__', type(fun).__qualname__)}",
        "method": plan.method, "t_span": [plan.t0, plan.t1],
        "n_t": int(plan.t_out.size), "rtol": plan.rtol.tolist() if small else "array",
        "atol": plan.atol.tolist() if small else "array",
    }
    return dict(expected, chunk_size=chunk, n_chunks=n_chunks, save=plan.save,
                options=plan.options, trajectory_without_t_eval=trajectory_without_t_eval,
                t1=plan.t1, summary=summary, fastode_version=__version__,
                created=time.strftime("%Y-%m-%d %H:%M:%S"))


STORE_FORMATS = ("npz", "zarr")


def _detect_format(path):
    """The format of the store at ``path``: what is there, else the name (``.zarr``: Zarr)."""
    path = os.fspath(path)
    if os.path.exists(os.path.join(path, "zarr.json")) \
            or os.path.exists(os.path.join(path, ".zgroup")):
        return "zarr"
    if os.path.exists(os.path.join(path, "manifest.json")):
        return "npz"
    return "zarr" if path.rstrip("/\\").endswith(".zarr") else "npz"


def check_store_options(store, store_format, param_names, state_names, n_params, n):
    """Validate ``store_format``, ``param_names`` and ``state_names`` (before any compile);
    returns ``(format, param_names, state_names)``, the names as tuples or None."""
    if store_format is not None and store_format not in STORE_FORMATS:
        raise ValueError(f"`store_format` must be 'npz', 'zarr' or None (from the path: "
                         f"'.zarr' is Zarr); got {store_format!r}.")
    if store is None:
        if store_format is not None:
            raise ValueError("`store_format` needs a `store` path.")
        fmt = None
    else:
        found = _detect_format(store)
        if store_format is not None and os.path.isdir(store) and os.listdir(store) \
                and found != store_format:
            raise ValueError(f"`store` {os.fspath(store)!r} holds a {found!r} store, not "
                             f"store_format={store_format!r}.")
        fmt = store_format or found
    if (param_names is not None or state_names is not None) and fmt != "zarr":
        raise ValueError("`param_names` and `state_names` label the coordinates of a Zarr "
                         "store: they need store='....zarr' (or store_format='zarr').")
    from .ensemble_zarr import validate_names
    if param_names is not None and n_params == 0:
        raise ValueError("`param_names` needs `params`.")
    param_names = validate_names(param_names, "param_names", n_params, "parameters (columns "
                                 "of `params`)", array_names=True)
    state_names = validate_names(state_names, "state_names", n, "state components")
    if fmt == "zarr":
        from .ensemble_zarr import import_zarr
        import_zarr()
    return fmt, param_names, state_names


def open_store(path, store_format=None, params=None, param_names=None, state_names=None,
               extra_variables=None):
    """The store object for ``path``: the ``.npz`` folder (:class:`_Store`) or a Zarr group
    (:class:`fastode.ensemble_zarr.ZarrStore`); ``store_format`` None: detected.

    ``extra_variables``: ``{name: (trailing dims, trailing shape, dtype, fill)}``, more
    per-trajectory arrays (events) that ``write_chunk(..., name=array)`` stores and
    ``read_chunk`` returns (the npz store keeps any such keyword arrays without a declaration).
    """
    fmt = store_format or _detect_format(path)
    if fmt == "zarr":
        from .ensemble_zarr import ZarrStore
        return ZarrStore(path, params=params, param_names=param_names, state_names=state_names,
                         extra_variables=extra_variables)
    return _Store(path)


def _check_manifest(store, manifest, expected):
    stored = manifest.get("inputs", {})
    wanted = expected["inputs"]
    differ = [k for k in dict.fromkeys([*wanted, *stored]) if stored.get(k) != wanted.get(k)]
    for key in ("n_traj", "n", "n_out", "out_cols", "n_events", "max_events"):
        if manifest.get(key) != expected.get(key):
            differ.append(key)
    if manifest.get("version") != STORE_VERSION:
        differ.append("store version")
    if differ:
        raise ValueError(
            f"`store` {store.path!r} holds results of a different sweep: "
            f"{', '.join(dict.fromkeys(differ))} differ from this call's inputs, so its chunks "
            "cannot be reused. Use a new `store` path (or delete the old one) to start afresh.")
