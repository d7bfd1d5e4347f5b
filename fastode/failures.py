"""Failures of compiled user functions: noted in compiled code, re-raised in Python.

An exception cannot leave a numba ``cfunc``. The wrapper that :mod:`fastode.rhs` generates
catches it, writes NaN and notes the first failure (kind, t, y) in a :class:`FailureRecord`
buffer; after the kernel returns, :func:`raise_failures` calls the function again there in Python
and re-raises, as scipy would (docs/design.md, "Failures of user functions").
"""
import itertools
import re
import weakref
from typing import NamedTuple, Optional

import numba
import numpy as np
from llvmlite import binding as llvm_binding
from llvmlite import ir
from numba import types
from numba.core.errors import NumbaError
from numba.core.registry import CPUDispatcher
from numba.extending import intrinsic


def _jit(fun):
    if isinstance(fun, CPUDispatcher):
        return fun
    return numba.njit(fun)



# what a compiled wrapper noted in its FailureRecord (buffer[0]; 0: nothing)
RAISED = 1.0        # the user function raised
WRONG_LENGTH = 2.0  # fun returned an array of another length (buffer[2]) than y
WRONG_SHAPE = 3.0   # jac returned another shape (buffer[2], buffer[3]) than (n, n)


@intrinsic
def record_pointer(typingctx, symbol):
    """``double *`` address of the external symbol named by the string literal ``symbol``.

    The generated wrappers reach their FailureRecord's buffer through it: the address is filled
    in when the code is linked in this process (:meth:`FailureRecord.attach` registers the
    symbol first), so a wrapper loaded from the user cache writes into this process's buffer,
    not into an address from the process that compiled it. Only the failure branch uses it.
    """
    if not isinstance(symbol, types.StringLiteral):
        return None
    name = symbol.literal_value
    signature = types.CPointer(types.float64)(symbol)

    def codegen(context, builder, sig, args):
        module = builder.module
        gv = module.globals.get(name)
        if gv is None:
            gv = ir.GlobalVariable(module, ir.DoubleType(), name)  # a declaration, external
            gv.linkage = "external"
        return gv

    return signature, codegen


# the wrapper source names a record by this token with its serial; _compile replaces it with the
# symbol the record is registered under
_RECORD_TOKEN = re.compile(r"__fastode_record_(\d+)__")
_records: "weakref.WeakValueDictionary" = weakref.WeakValueDictionary()
_record_serials = itertools.count(1)
_symbol_serials = itertools.count(1)


class FailureRecord:
    """The first failure of a compiled user function during a kernel call.

    ``buffer`` = [kind, t, a, b, y...] (kind: RAISED, WRONG_LENGTH or WRONG_SHAPE; a, b: the
    length or shape returned) is written by the generated wrapper, which reaches it through a
    linker symbol (:func:`record_pointer`, :meth:`attach`); ``flag`` reads ``buffer[0]`` cheaply
    from Python. :func:`raise_failures` turns it into an exception and clears it. Concurrent
    kernels sharing one compiled function (an ensemble's threads) share the record: the first
    failure noted wins.
    """
    __slots__ = ("buffer", "flag", "what", "n", "is_complex", "vectorized", "_function",
                 "serial", "__weakref__")

    def __init__(self, what, function, n, is_complex=False, vectorized=False):
        self.buffer = np.zeros(4 + (2 * n if is_complex else n))
        self.flag = memoryview(self.buffer)
        self.what = what
        self.n = n
        self.is_complex = is_complex
        self.vectorized = vectorized
        try:
            self._function = weakref.ref(function)
        except TypeError:
            self._function = lambda: function
        self.serial = next(_record_serials)
        _records[self.serial] = self

    def attach(self, symbol):
        """Make the linker symbol ``symbol`` the address of this record's buffer, for code
        compiled or loaded from now on (code already linked keeps the address it got)."""
        llvm_binding.add_symbol(symbol, self.buffer.ctypes.data)

    def bind(self, function):
        """Re-raise failures by calling ``function`` (the same code, another closure)."""
        try:
            self._function = weakref.ref(function)
        except TypeError:
            self._function = lambda: function

    def source_lines(self, indent, kind, a="0", b="0"):
        """Wrapper source that notes a failure (the first one only) and the state (t, y)."""
        pad = " " * indent
        size = self.buffer.shape[0]
        return [
            f"{pad}rec = carray(record_pointer(\"__fastode_record_{self.serial}__\"), "
            f"({size},))",
            f"{pad}if rec[0] == 0.0:",
            f"{pad}    rec[1] = t",
            f"{pad}    rec[2] = {a}",
            f"{pad}    rec[3] = {b}",
            f"{pad}    for i in range({size - 4}):",
            f"{pad}        rec[4 + i] = y[i]",
            f"{pad}    rec[0] = {kind!r}",
        ]

    def summary(self):
        """A one-line description of the noted failure (no call of the function); clears it."""
        kind, t, a, _ = self.buffer[:4].tolist()
        self.buffer[0] = 0.0
        if kind == WRONG_LENGTH:
            return length_message(self.what, int(a), self.n, t)
        return f"`{self.what}` raised an exception inside compiled code (first at t={t!r})."

    def exception(self, args):
        """The exception to raise for the noted failure; clears the record."""
        kind, t, a, b = self.buffer[:4].tolist()
        y = self.buffer[4:].copy()
        self.buffer[0] = 0.0
        if kind == WRONG_LENGTH:
            return ValueError(length_message(self.what, int(a), self.n, t))
        if kind == WRONG_SHAPE:
            return ValueError(f"`{self.what}` returned shape ({int(a)}, {int(b)}) at t={t!r}; "
                              f"expected ({self.n}, {self.n}).")
        # the exception itself died in compiled code: call the function again at (t, y), in
        # Python first (a traceback into the user's code), then the numba-compiled version
        state = y.view(np.complex128) if self.is_complex else y
        if self.vectorized:
            state = state[:, None]
        function = self._function()
        for compiled in (False, True):
            if function is None:
                break
            try:
                (_jit(function) if compiled else function)(t, state.copy(), *args)
            except NumbaError:
                continue  # numba could not compile it for Python's argument types
            except Exception as exc:  # the user's exception: re-raised by the caller
                if hasattr(exc, "add_note"):  # Python >= 3.11
                    exc.add_note(f"fastode: `{self.what}` raised this inside compiled code at "
                                 f"t={t!r}; it was called again there to re-raise it.")
                return exc
        return RuntimeError(f"`{self.what}` raised an exception inside compiled code at t={t!r}; "
                            "calling it again there did not raise (does it depend on state "
                            "other than its arguments?).")


def length_message(what, got, n, t):
    return (f"`{what}` returned an array of length {got} at t={t!r}; expected {n} (the length "
            "of `y0`): the output of `fun` must keep the length of `y` throughout.")


class CompiledFunction(NamedTuple):
    """A user function made callable from kernels.

    ``address`` is the C function address; ``keepalive`` owns the code behind it (keep this
    object alive while the address is used); ``python_callback`` is True for the slow path, whose
    exceptions are collected in ``errors``; ``failure`` is the compiled wrapper's
    :class:`FailureRecord` (None for the Python path and for a user's own ``cfunc``).
    """
    address: int
    keepalive: object
    python_callback: bool
    errors: list
    reason: str
    failure: Optional[FailureRecord] = None


def failed(compiled) -> bool:
    """Whether a user function failed (raised, wrong length) during the last kernel call."""
    for c in compiled:
        if c.errors or (c.failure is not None and c.failure.flag[0]):
            return True
    return False


def forget_stale_failures(compiled) -> None:
    """Clear notes left by kernel calls that nobody reported (a kernel called from the user's
    own numba code, ``kernel_call``): call before a kernel, so only its failures are raised."""
    for c in compiled:
        f = c.failure
        if f is not None and f.flag[0]:
            f.buffer[0] = 0.0


def clear_failures(compiled) -> None:
    """Forget the failures noted during the last kernel call (when another error is raised)."""
    for c in compiled:
        c.errors.clear()
        if c.failure is not None:
            c.failure.buffer[0] = 0.0


def raise_failures(compiled, args=(), direction=1.0) -> None:
    """Re-raise, as scipy would, the failure of a user function during the last kernel call.

    An exception in a Python-callback function is re-raised as it is; a failure noted by a
    compiled wrapper (the earliest in the direction of integration, when several are) becomes
    the function's own exception (it is called again at the noted (t, y) with ``args``) or a
    ValueError for a wrong output length or shape. Does nothing when nothing failed.
    """
    for c in compiled:
        if c.errors:
            exc = c.errors[0]
            c.errors.clear()
            raise exc
    records = [c.failure for c in compiled if c.failure is not None and c.failure.flag[0]]
    if records:
        first = min(records, key=lambda r: direction * r.buffer[1])
        for r in records:
            if r is not first:
                r.buffer[0] = 0.0
        raise first.exception(args)
