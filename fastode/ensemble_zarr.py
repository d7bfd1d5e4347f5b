"""The Zarr result store of ``solve_ensemble(..., store="sweep.zarr")``: what ``xarray`` reads.

Same interface and the same guarantees as the ``.npz`` store of :mod:`fastode.ensemble_store`
(``read_manifest``/``write_manifest``/``read_chunk``/``write_chunk``): the inputs' fingerprints
(in the root group's attribute ``fastode_manifest``) make a killed sweep resumable and a store
of other inputs refused. The layout is a Zarr (format 3) group that ``xarray.open_zarr`` opens
as a Dataset at any time, chunked along ``traj`` with the ensemble's chunk size:

* data variables ``y`` (traj, state, time) -- (traj, state) for ``save="final"``, (traj,
  observable, time) for an observe function --, ``status``, ``status_code``, ``t_final``,
  ``nfev``, ``naccept``, ``nreject``, and ``complete`` (bool: the trajectory's chunk is written);
* coordinates ``traj``, ``time`` (a scalar, t_bound, for ``save="final"``), ``params`` (traj,
  param), one 1-D coordinate per parameter name and ``param``/``state`` labels when
  ``param_names``/``state_names`` are given;
* attributes: method, rtol, atol, t_span, fastode_version, save, chunk_size, and the manifest.

Every array and coordinate is created (and the metadata consolidated) before the first chunk is
solved, so chunks not written yet read as NaN (floats) or :data:`NOT_SOLVED` / -1 (status,
counters). A chunk's ``complete`` flags are written after its data: zarr writes each chunk file
through a temporary file and a rename, so a process killed in the middle of a chunk leaves that
chunk unflagged (solved again on resume), never flagged with partial data.

New per-trajectory arrays (events, say) become more variables: pass ``extra_variables`` when
creating the store and the arrays as keywords of ``write_chunk``; ``read_chunk`` returns them.
"""
from __future__ import annotations

import json
import os
import warnings

import numpy as np

from ._version import __version__

GROUP_FORMAT = "fastode-ensemble-zarr"
NOT_SOLVED = -99      # status/status_code of a trajectory whose chunk is not written yet
NO_COUNT = -1         # nfev/naccept/nreject likewise
INSTALL_HINT = "pip install 'fastode[zarr]'"

# counters columns (the kernels' layout: fastode.kernels.ensemble) -> variable, dtype, fill
_COUNTERS = (("nfev", np.int64, NO_COUNT), ("naccept", np.int64, NO_COUNT),
             ("nreject", np.int64, NO_COUNT), ("t_final", np.float64, np.nan))
_BUILTIN = ("y", "status", "status_code", "t_final", "nfev", "naccept", "nreject", "complete",
            "traj", "time", "params", "param", "state", "observable")


def import_zarr():
    """The zarr module, or ImportError naming the extra that installs it."""
    try:
        import zarr
    except ImportError:
        raise ImportError("a Zarr store (store='....zarr' or store_format='zarr') needs the "
                          f"zarr package: {INSTALL_HINT}") from None
    return zarr


def validate_names(names, what, count, count_what, array_names=False):
    """A tuple of ``count`` distinct, non-empty str names, or None. ``array_names``: each
    becomes a Zarr array (a coordinate): no '/', no leading '.', none of the store's names."""
    if names is None:
        return None
    if isinstance(names, (str, bytes)) or not hasattr(names, "__iter__"):
        raise TypeError(f"`{what}` must be a list of strings; got {names!r}.")
    names = tuple(names)
    bad = [v for v in names if not isinstance(v, str)]
    if bad:
        raise TypeError(f"`{what}` must be a list of strings; got {bad[0]!r}.")
    if len(names) != count:
        raise ValueError(f"`{what}` has {len(names)} names for {count} {count_what}.")
    for v in names:
        if not v or (array_names and ("/" in v or v.startswith("."))):
            raise ValueError(f"`{what}`: {v!r} is not usable as a name (empty, or with '/' or "
                             "a leading '.').")
        if array_names and v in _BUILTIN:
            raise ValueError(f"`{what}`: {v!r} is taken by the store's own variables "
                             f"({', '.join(_BUILTIN)}); choose another name.")
    dup = sorted({v for v in names if names.count(v) > 1})
    if dup:
        raise ValueError(f"`{what}` names must be distinct; repeated: {', '.join(dup)}.")
    return names


# solve_ensemble's event arrays -> their variables in the store
EVENT_VARIABLES = {"ev_t": "t_events", "ev_y": "y_events", "ev_n": "n_events"}


def event_variables(n_events, max_events, n):
    """``extra_variables`` of a sweep with events (NaN / -1 where nothing was written)."""
    return {"t_events": (("event", "occurrence"), (n_events, max_events), "f8", np.nan),
            "y_events": (("event", "occurrence", "state"), (n_events, max_events, n), "f8",
                         np.nan),
            "n_events": (("event",), (n_events,), "i8", -1)}


class ZarrStore:
    """A Zarr group holding one ensemble (see the module's docstring for the layout)."""

    kind = "zarr"

    def __init__(self, path, params=None, param_names=None, state_names=None,
                 extra_variables=None):
        self.zarr = import_zarr()
        self.path = os.fspath(path)
        self.params = params
        self.param_names = param_names
        self.state_names = state_names
        # name -> (trailing dims, trailing shape, dtype, fill): more per-trajectory arrays
        self.extra_variables = dict(extra_variables or {})
        self.manifest = None
        self._group = None
        self._writable = False
        self._arrays = {}

    @property
    def extra_inputs(self):
        """Fingerprint entries beyond the solve's inputs: the labels written as coordinates."""
        return {"param_names": list(self.param_names or ()),
                "state_names": list(self.state_names or ())}

    # ---- manifest ------------------------------------------------------------------------------
    def _open(self, write=False):
        if self._group is None or (write and not self._writable):
            self._group = self.zarr.open_group(self.path, mode="r+" if write else "r",
                                               use_consolidated=False)
            self._writable = write
            self._arrays = {}
        return self._group

    def _array(self, name, write=False):
        """The array ``name``, opened once (each opening reads its metadata from disk)."""
        group = self._open(write)
        if name not in self._arrays:
            self._arrays[name] = group[name]
        return self._arrays[name]

    def read_manifest(self):
        if not os.path.exists(self.path):
            return None
        if os.path.isdir(self.path) and not os.listdir(self.path):
            return None  # an empty folder: ours to fill
        try:
            group = self.zarr.open_group(self.path, mode="r", use_consolidated=False)
            attrs = dict(group.attrs)
        except Exception as exc:
            raise ValueError(f"`store` {self.path!r} is not a Zarr group ({type(exc).__name__}: "
                             f"{exc}); remove it or use another path.") from None
        if attrs.get("fastode_store") != GROUP_FORMAT:
            raise ValueError(f"`store` {self.path!r} is a Zarr group but not a fastode ensemble "
                             "store; use another path.")
        manifest = attrs.get("fastode_manifest")
        if manifest is None:
            return None  # ours, but killed while being created: created again
        self.manifest = manifest
        return manifest

    def write_manifest(self, manifest, t_out):
        """Create the group, every array and coordinate, then the manifest (last: a store
        killed while being created has none and is created again)."""
        zarr = self.zarr
        m = manifest
        n_traj, chunk, rows, cols = m["n_traj"], m["chunk_size"], m["n_out"], m["out_cols"]
        final = m["save"] == "final"
        second = "observable" if m["save"] == "observe" else "state"
        group = zarr.open_group(self.path, mode="w", zarr_format=3,
                                attributes={"fastode_store": GROUP_FORMAT})
        self._group, self._writable, self._arrays = group, True, {}

        def array(name, dims, shape, dtype, fill, chunks=None, data=None):
            arr = group.create_array(name, shape=shape, dtype=dtype, fill_value=fill,
                                     chunks=chunks or (shape if shape else ()),
                                     dimension_names=dims)
            if data is not None:
                arr[...] = data
            return arr

        if final:
            array("y", ("traj", "state"), (n_traj, rows), "f8", np.nan, (chunk, rows))
            array("time", (), (), "f8", np.nan, data=np.float64(t_out[-1]))
        else:
            array("y", ("traj", second, "time"), (n_traj, rows, cols), "f8", np.nan,
                  (chunk, rows, cols))
            array("time", ("time",), (cols,), "f8", np.nan, data=t_out)
        for name in ("status", "status_code"):
            array(name, ("traj",), (n_traj,), "i8", NOT_SOLVED, (chunk,))
        for name, dtype, fill in _COUNTERS:
            array(name, ("traj",), (n_traj,), np.dtype(dtype).str, fill, (chunk,))
        for name, (dims, shape, dtype, fill) in self.extra_variables.items():
            array(name, ("traj",) + tuple(dims), (n_traj,) + tuple(shape), dtype, fill,
                  (chunk,) + tuple(shape))
        array("complete", ("traj",), (n_traj,), "bool", False, (chunk,))
        array("traj", ("traj",), (n_traj,), "i8", -1, (chunk,), np.arange(n_traj))
        coords = ["time"] if final else []  # a scalar: xarray needs to be told
        if self.params is not None:
            n_p = self.params.shape[1]
            array("params", ("traj", "param"), (n_traj, n_p), "f8", np.nan, (chunk, n_p),
                  self.params)
            coords.append("params")
            if self.param_names:
                array("param", ("param",), (n_p,), str, None, data=np.array(self.param_names,
                                                                             dtype=object))
                for k, name in enumerate(self.param_names):
                    array(name, ("traj",), (n_traj,), "f8", np.nan, (chunk,),
                          np.ascontiguousarray(self.params[:, k]))
                    coords.append(name)
        if self.state_names:
            array("state", ("state",), (len(self.state_names),), str, None,
                  data=np.array(self.state_names, dtype=object))
        summary = m.get("summary", {})
        group.attrs.update({
            # xarray reads the non-index coordinates from here (CF's "coordinates")
            **({"coordinates": " ".join(coords)} if coords else {}),
            "method": summary.get("method", ""), "rtol": summary.get("rtol"),
            "atol": summary.get("atol"), "t_span": summary.get("t_span"),
            "fun": summary.get("fun", ""), "save": m["save"], "chunk_size": chunk,
            "fastode_version": __version__,
            "fastode_manifest": json.loads(json.dumps(m)),
        })
        with warnings.catch_warnings():
            # zarr warns that format 3 has no consolidated metadata in its specification yet;
            # xarray and zarr-python read it, and without it xarray warns at every open
            warnings.filterwarnings("ignore", message=".*[Cc]onsolidated metadata")
            zarr.consolidate_metadata(self.path)
        self.manifest = m

    # ---- chunks --------------------------------------------------------------------------------
    def _chunk_values(self, out, status, counters, extra):
        m = self.manifest
        out = np.asarray(out)
        if m["save"] == "final":
            y = out[:, :, 0]
        else:
            y = out
            if m.get("trajectory_without_t_eval"):
                # as the result shows it: NaN at t_bound for a trajectory that did not get there
                y = y.copy()
                y[(status < 0) | (counters[:, 3] != m["t1"]), :, 0] = np.nan
        values = {"y": y, "status_code": np.asarray(status, dtype=np.int64),
                  "status": np.where(status >= 0, status, -1).astype(np.int64)}
        for k, (name, dtype, _) in enumerate(_COUNTERS):
            values[name] = counters[:, k].astype(dtype)
        unknown = set(extra) - set(self.extra_variables)
        if unknown:
            raise KeyError(f"no variable declared for {sorted(unknown)}")
        values.update(extra)
        return values

    def write_chunk(self, j, lo, hi, out, status, counters, **extra):
        for name, value in self._chunk_values(out, status, counters, extra).items():
            self._array(name, write=True)[lo:hi] = value
        # last, once the data is written: only a fully written chunk counts as done
        self._array("complete", write=True)[lo:hi] = True

    def read_chunk(self, j, lo, hi, out_shape):
        """The chunk's arrays, or None when it is not (completely) written or does not fit."""
        try:
            array = self._array
            if not np.all(array("complete")[lo:hi]):
                return None
            y = np.asarray(array("y")[lo:hi])
            out = y[:, :, None] if y.ndim == 2 else y
            if out.shape != tuple(out_shape):
                return None
            counters = np.empty((hi - lo, 4))
            for k, (name, _, _) in enumerate(_COUNTERS):
                counters[:, k] = array(name)[lo:hi]
            got = {"out": out, "status": np.asarray(array("status_code")[lo:hi]),
                   "counters": counters}
            for name in self.extra_variables:
                got[name] = np.asarray(array(name)[lo:hi])
            return got
        except Exception:  # unreadable: solved again
            return None

    # the generic interface of solve_ensemble (name -> array; the event arrays ev_t, ev_y, ev_n
    # are the variables t_events, y_events, n_events here: event_variables declares them)
    def write_arrays(self, j, lo, hi, arrays):
        extra = {EVENT_VARIABLES.get(k, k): v for k, v in arrays.items()
                 if k not in ("out", "status", "counters")}
        self.write_chunk(j, lo, hi, arrays["out"], arrays["status"], arrays["counters"], **extra)

    def read_arrays(self, j, lo, hi, shapes):
        got = self.read_chunk(j, lo, hi, shapes["out"])
        if got is None:
            return None
        found = {}
        for name, shape in shapes.items():
            value = got.get(EVENT_VARIABLES.get(name, name))
            if value is None or (shape is not None and value.shape != tuple(shape)):
                return None
            found[name] = value
        return found

    def read_times(self):
        return np.atleast_1d(np.asarray(self._array("time")[...], dtype=np.float64))
