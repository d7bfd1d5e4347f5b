"""NumPy calls that right-hand sides written for scipy use and numba does not compile.

Registered as additional numba overloads: each accepts only argument types that numba's own
implementation rejects, so code numba already compiled keeps numba's implementation, and code that
failed to compile now compiles to what NumPy computes.

- ``np.hstack`` of a tuple mixing numbers and 1-D arrays, e.g. ``np.hstack((phi, 0, y, y[-2]))``
  (scipy's own test problem ``fun_medazko``); numba accepts only tuples of arrays.
- ``np.hstack`` / ``np.concatenate`` of a list of 1-D arrays, e.g. ``np.hstack([a, b])``; numba
  accepts only tuples.
"""
import numpy as np
from numba import njit, types
from numba.extending import overload


def _is_number(t) -> bool:
    return isinstance(t, (types.Number, types.Boolean))


def _is_vector(t) -> bool:
    return isinstance(t, types.Array) and t.ndim == 1


def _result_dtype(item_types):
    """NumPy's result dtype for concatenating these numba types (int, float or complex)."""
    dtypes = []
    for t in item_types:
        dtype = t.dtype if isinstance(t, types.Array) else t
        if isinstance(dtype, types.Boolean):
            dtypes.append(np.dtype(np.bool_))
        elif isinstance(dtype, types.Integer):
            dtypes.append(np.dtype(f"{'u' if not dtype.signed else ''}int{dtype.bitwidth}"))
        elif isinstance(dtype, types.Float):
            dtypes.append(np.dtype(f"float{dtype.bitwidth}"))
        else:
            dtypes.append(np.dtype(np.complex128))
    # numba types a Python float as float64, so a float next to float32 arrays gives float64
    # here (NumPy 2 keeps float32): wider, never less precise
    return np.result_type(*dtypes)


def _mixed_hstack_impl(item_types):
    dtype = _result_dtype(item_types)
    lines = ["def impl(tup):", "    size = 0"]
    for i, t in enumerate(item_types):
        lines.append(f"    size += {'1' if _is_number(t) else f'tup[{i}].shape[0]'}")
    lines += ["    out = np.empty(size, dtype=DTYPE)", "    k = 0"]
    for i, t in enumerate(item_types):
        if _is_number(t):
            lines += [f"    out[k] = tup[{i}]", "    k += 1"]
        else:
            lines += [f"    m = tup[{i}].shape[0]", f"    out[k:k + m] = tup[{i}]", "    k += m"]
    lines.append("    return out")
    namespace = {"np": np, "DTYPE": dtype}
    exec("\n".join(lines), namespace)
    return namespace["impl"]


@overload(np.hstack)
def _hstack_numbers_and_vectors(tup):
    if isinstance(tup, types.BaseTuple) and len(tup.types) > 0:
        item_types = tuple(tup.types)
        if (all(_is_number(t) or _is_vector(t) for t in item_types)
                and any(_is_number(t) for t in item_types)):
            return _mixed_hstack_impl(item_types)
    if isinstance(tup, types.List) and _is_vector(tup.dtype):
        impl = _list_concatenate_impl(tup.dtype.dtype)

        def hstack_impl(tup):
            return impl(tup)

        return hstack_impl
    return None


@overload(np.concatenate)
def _concatenate_list_of_vectors(arrays, axis=0):
    if isinstance(arrays, types.List) and _is_vector(arrays.dtype):
        impl = _list_concatenate_impl(arrays.dtype.dtype)

        def concatenate_impl(arrays, axis=0):
            return impl(arrays)

        return concatenate_impl
    return None


def _list_concatenate_impl(numba_dtype):
    dtype = np.dtype(str(numba_dtype))

    def impl(arrays):
        size = 0
        for a in arrays:
            size += a.shape[0]
        out = np.empty(size, dtype=dtype)
        k = 0
        for a in arrays:
            m = a.shape[0]
            out[k:k + m] = a
            k += m
        return out

    return njit(impl)
