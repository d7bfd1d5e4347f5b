"""What a user function reads besides its arguments: numeric globals, closure cells, helpers.

numba compiles the module globals and closure cells a function reads as constants, so a
function compiled once would keep the values of its first call (``K = 1.0``, solve, ``K = 2.0``,
solve: the second solve used ``K = 1.0``). The contract (docs/design.md) is that these are values
of this call. This module finds them and builds a copy of the function that takes them as extra
trailing parameters, so the wrapper in ``fastode.rhs`` can read them from the run-time float64
parameter array ``p`` like ``args``:

* numeric globals and closure cells (Python/numpy int, float, bool scalars; float64 and integer
  numpy arrays) become parameters ("slots"), read afresh at every solve;
* plain Python helper functions among the globals/cells (module-level ``def g(y): ...``) are
  rebuilt the same way and compiled with ``numba.njit`` automatically; their own numeric globals
  are slots too, passed down by the caller;
* everything else (modules, numba functions, other objects) is part of the compile-cache key by
  identity (or by value for hashable constants) and is checked at every call.

The cache key is built from code objects, not function objects, so a lambda or closure
re-created in a loop reuses its compiled copy with the new numbers. Where the source is not
available or the rewritten copy does not compile (e.g. a global flag that selects a branch numba
can only type when it is a constant), the "frozen" build compiles the function as it is (helpers
substituted) and puts the VALUES of its numeric globals/cells in the cache key: slower (a new
value recompiles) but never stale.
"""
import ast
import copy
import hashlib
import inspect
import types
import weakref
from typing import NamedTuple, Optional

import numba
import numpy as np

PARAM = "__fastode_rt"
# modules whose Python functions numba may know by identity (overloads): never rebuilt as helpers
_LIBRARY_ROOTS = {"numpy", "scipy", "numba", "fastode", "math", "cmath", "builtins", "llvmlite"}


class CannotRewrite(Exception):
    """The run-time-parameter copy cannot be built (no source, defaults, odd use of a helper)."""


class ArgSpec(NamedTuple):
    """How one entry of ``args`` is stored in ``p``: kind 's' scalar float, 'i' int, 'b' bool,
    'a' float array, 'ia' int array; ``shape`` for arrays. In wrapper layouts, kind 'skip' with
    shape (k,) passes over k entries of ``p`` (another function's run-time values)."""
    kind: str
    shape: tuple


_MISSING = object()


class _Ident:
    """Hashable by identity; keeps the object alive while a cache key holds it."""
    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __hash__(self):
        return id(self.obj)

    def __eq__(self, other):
        return isinstance(other, _Ident) and other.obj is self.obj


def _is_value(v) -> bool:
    """Numbers and numpy arrays: numba freezes them, so they are slots (or frozen keys)."""
    return isinstance(v, (int, float, complex, np.number, np.bool_, np.ndarray))


_SPECS = {}


def slot_spec(v):
    """ArgSpec-like (kind, shape) for a value that packs into float64 ``p`` exactly, else None.

    Stricter than ``args``: a float32/bool/complex array would change dtype (a bool mask would
    become int indexing), so those are frozen keys instead.
    """
    if type(v) is float:
        spec = _SPECS.get("s")
        if spec is None:
            spec = _SPECS["s"] = ArgSpec("s", ())
        return spec
    if isinstance(v, (bool, np.bool_)):
        return ArgSpec("b", ())
    if isinstance(v, (int, np.integer)):
        return ArgSpec("i", ()) if abs(int(v)) < 2 ** 53 else None
    if isinstance(v, (float, np.floating)):
        return ArgSpec("s", ()) if isinstance(v, (float, np.float64)) else None
    if isinstance(v, np.ndarray) and v.ndim >= 1:
        if v.dtype == np.float64:
            return ArgSpec("a", v.shape)
        if v.dtype.kind == "i" and v.dtype.itemsize == 8 and np.abs(v).max(initial=0) < 2 ** 53:
            return ArgSpec("ia", v.shape)
    return None


def frozen_key(v):
    """A hashable key of a value compiled in as a constant."""
    if isinstance(v, np.ndarray):
        data = np.ascontiguousarray(v)
        return ("array", data.dtype.str, data.shape,
                hashlib.sha1(data.view(np.uint8).reshape(-1)).hexdigest())
    return (type(v).__name__, repr(v))  # repr: NaN keys equal themselves, 1 vs 1.0 vs True differ


def _ident_key(v):
    if isinstance(v, (str, bytes, tuple, frozenset, type(None))):
        try:
            hash(v)
            return ("value", type(v).__name__, v)
        except TypeError:
            pass
    return _Ident(v)


def _is_helper(v) -> bool:
    """A plain Python function of the user's (not a library function numba may know)."""
    if type(v) is not types.FunctionType:
        return False
    module = getattr(v, "__module__", None) or ""
    return module.split(".")[0] not in _LIBRARY_ROOTS


def _code_names(code, out):
    for name in code.co_names:
        if name not in out:
            out[name] = None
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _code_names(const, out)
    return out


class _Fn:
    """One analysed function: its deps by name."""
    __slots__ = ("fn", "own_slots", "helpers", "consts", "key", "slots")

    def __init__(self, fn):
        self.fn = fn
        self.own_slots = []    # (name, slot index)
        self.helpers = {}      # name -> _Fn
        self.consts = {}       # name -> value (free variables and frozen values for the build)
        self.slots = []        # transitive slot indices, sorted
        self.key = None


class Analysis:
    """The deps of a root function, flattened: slots (values read per call) and identity checks."""

    def __init__(self, fun):
        self.slot_refs = []   # (globals dict, name) or (None, cell)
        self.checks = []      # (globals dict, name, expected) or (None, cell, expected)
        self._slot_ids = {}
        self._stack = []
        self.root = self._analyse(fun)
        # a small int stands for the (nested, slow to hash) key in the per-call cache keys
        self.static_key = _intern(self.root.key)
        self.n_slots = len(self.slot_refs)
        self.last = {}  # runtime flag -> (values, State): reused while the values are the same
        del self._stack

    def _slot(self, d, name_or_cell):
        ident = (id(d), name_or_cell if d is not None else id(name_or_cell))
        i = self._slot_ids.get(ident)
        if i is None:
            i = self._slot_ids[ident] = len(self.slot_refs)
            self.slot_refs.append((d, name_or_cell))
        return i

    def _analyse(self, fn) -> _Fn:
        info = _Fn(fn)
        self._stack.append(fn)
        code = fn.__code__
        g = fn.__globals__
        parts = [code]
        own = set()
        sources = []
        for name in _code_names(code, {}):
            # names not in the globals are builtins or attribute names (np.exp -> "exp")
            if name in g:
                sources.append((name, g, name, g[name]))
        closure = fn.__closure__ or ()
        for name, cell in zip(code.co_freevars, closure):
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell: numba cannot compile it; key it by identity
                raise CannotRewrite("empty closure cell") from None
            sources.append((name, None, cell, value))
        for name, d, ref, value in sources:
            if _is_value(value):
                i = self._slot(d, ref)
                info.own_slots.append((name, i))
                own.add(i)
                parts.append((name, "slot", i))
            elif _is_helper(value) and value not in self._stack and value.__code__ is not code:
                self.checks.append((d, ref, value))
                child = self._analyse(value)
                info.helpers[name] = child
                own.update(child.slots)
                parts.append((name, "helper", child.key))
            else:
                self.checks.append((d, ref, value))
                if d is None:
                    info.consts[name] = value
                parts.append((name, "ident", _ident_key(value)))
        info.slots = sorted(own)
        info.key = tuple(parts)
        self._stack.pop()
        return info

    def valid(self) -> bool:
        """Every non-numeric name still refers to the object the copy was built with."""
        for d, ref, expected in self.checks:
            if d is not None:
                if d.get(ref, _MISSING) is not expected:
                    return False
            else:
                try:
                    if ref.cell_contents is not expected:
                        return False
                except ValueError:
                    return False
        return True

    def values(self):
        out = []
        for d, ref in self.slot_refs:
            out.append(d[ref] if d is not None else ref.cell_contents)
        return out


_interned: dict = {}


def _intern(key) -> int:
    i = _interned.get(key)
    if i is None:
        i = _interned[key] = len(_interned)
    return i


class State(NamedTuple):
    """The deps of ``fun`` at this call: ``key`` (with ``static_key``) selects the compiled copy;
    ``values``/``specs`` are the run-time slots to pack into ``p`` (empty when frozen)."""
    analysis: Analysis
    runtime: bool
    kinds: tuple      # per slot: ArgSpec (run-time parameter) or ("frozen", key)
    values: tuple     # values of the run-time slots, in slot order
    specs: tuple      # their ArgSpecs
    key: tuple


# static keys whose run-time copy failed to build or compile: frozen builds from then on
runtime_failed: set = set()
_NO_ANALYSIS = "no analysis"


# id(fun) -> (weak reference to fun, Analysis): a hit costs no new weak reference
_analyses: dict = {}


def _forget(ref, key, table):
    entry = table.get(key)
    if entry is not None and entry[0] is ref:
        del table[key]


def _set_analysis(fun, analysis):
    key = id(fun)
    # the table is bound now: at interpreter exit the module's globals may already be None
    ref = weakref.ref(fun, lambda r, key=key, table=_analyses: _forget(r, key, table))
    _analyses[key] = (ref, analysis)


def state(fun, runtime: bool) -> Optional[State]:
    """The current State of a plain Python function ``fun``, or None (other callables, numba
    dispatchers: compiled as they are)."""
    entry = _analyses.get(id(fun))
    analysis = entry[1] if entry is not None and entry[0]() is fun else None
    if analysis is None or (analysis is not _NO_ANALYSIS and not analysis.valid()):
        if type(fun) is not types.FunctionType:
            return None
        try:
            analysis = Analysis(fun)
        except (CannotRewrite, RecursionError):
            analysis = _NO_ANALYSIS
        _set_analysis(fun, analysis)
    if analysis is _NO_ANALYSIS:
        return None
    runtime = runtime and analysis.static_key not in runtime_failed
    last = analysis.last.get(runtime)
    if not analysis.n_slots:
        if last is None:
            last = analysis.last[runtime] = ((), State(analysis, runtime, (), (), (),
                                                        _intern((analysis.static_key, ()))))
        return last[1]
    values = analysis.values()
    if last is not None:
        # the same objects as last time: the same State (arrays are read when ``p`` is packed;
        # a frozen array's content is in the key, so those States are not reused)
        old, st = last
        if all(a is b for a, b in zip(values, old)):
            return st
    kinds, run_values, specs = [], [], []
    reusable = True
    for v in values:
        if not _is_value(v):
            # a slot's value is no longer a number (rebound to a function?): analyse again
            _analyses.pop(id(fun), None)
            return state(fun, runtime)
        spec = slot_spec(v) if runtime else None
        if spec is None:
            kinds.append(("frozen", frozen_key(v)))
            reusable = reusable and not isinstance(v, np.ndarray)
        else:
            kinds.append(spec)
            run_values.append(v)
            specs.append(spec)
    kinds = tuple(kinds)
    st = State(analysis, runtime, kinds, tuple(run_values), tuple(specs),
               _intern((analysis.static_key, kinds)))
    if reusable:
        analysis.last[runtime] = (values, st)
    return st


# ---- builds ---------------------------------------------------------------------------------

_parsed: dict = {}


def _module_tree(fn):
    try:
        lines, _ = inspect.findsource(fn)
        filename = inspect.getsourcefile(fn) or fn.__code__.co_filename
    except (OSError, TypeError):
        raise CannotRewrite("no source") from None
    key = (filename, len(lines), hash(tuple(lines)))
    tree = _parsed.get(key)
    if tree is None:
        try:
            tree = ast.parse("".join(lines))
        except SyntaxError:
            raise CannotRewrite("source does not parse") from None
        if len(_parsed) > 64:
            _parsed.clear()
        _parsed[key] = tree
    return tree, filename


def _arg_names(args: ast.arguments):
    return [a.arg for a in args.posonlyargs + args.args]


def _function_node(fn):
    """A fresh FunctionDef for ``fn`` (a lambda becomes a def), found in its file's AST."""
    code = fn.__code__
    tree, filename = _module_tree(fn)
    argnames = list(code.co_varnames[:code.co_argcount])
    first = code.co_firstlineno
    if code.co_name == "<lambda>":
        found = [node for node in ast.walk(tree)
                 if isinstance(node, ast.Lambda) and node.lineno == first
                 and _arg_names(node.args) == argnames]
        if len(found) > 1:
            # several lambdas on one line: the one whose body holds the code's first column
            cols = [p[2] for p in code.co_positions() if p[0] == first and p[2]]
            col = cols[0] if cols else None
            found = [node for node in found
                     if col is not None and node.col_offset <= col <= (node.end_col_offset or 0)
                     and node.lineno == node.end_lineno]
        if len(found) != 1:
            raise CannotRewrite("lambda not found in its source")
        lam = found[0]
        node = ast.FunctionDef(name="__fastode_lambda", args=copy.deepcopy(lam.args),
                               body=[ast.Return(value=copy.deepcopy(lam.body))],
                               decorator_list=[], returns=None, type_comment=None)
        ast.copy_location(node, lam)
        node.body[0].lineno = lam.lineno
        node.body[0].col_offset = lam.col_offset
    else:
        found = [node for node in ast.walk(tree)
                 if isinstance(node, ast.FunctionDef) and node.name == code.co_name
                 and min([node.lineno] + [d.lineno for d in node.decorator_list]) == first]
        if len(found) != 1 or _arg_names(found[0].args) != argnames:
            raise CannotRewrite("function not found in its source")
        node = copy.deepcopy(found[0])
        node.decorator_list = []
    _check_source_matches(node, code, filename)
    return node, filename


def _check_source_matches(node, code, filename):
    """The file may have changed since the function was defined: compile the found source as it
    is and compare its constants and names with the live code object."""
    module = ast.Module(body=[copy.deepcopy(node)], type_ignores=[])
    ast.fix_missing_locations(module)
    compiled = compile(module, filename, "exec")
    inner = [c for c in compiled.co_consts if isinstance(c, types.CodeType)]
    if len(inner) != 1:
        raise CannotRewrite("source does not match")
    inner = inner[0]

    def consts(c):
        return [repr(x) for x in c.co_consts if not isinstance(x, types.CodeType)]

    if (consts(inner) != consts(code)
            or set(inner.co_names) | set(inner.co_freevars)
            != set(code.co_names) | set(code.co_freevars)
            or inner.co_argcount != code.co_argcount):
        raise CannotRewrite("the source file changed since the function was defined")


class _CallRewriter(ast.NodeTransformer):
    """Append the run-time parameters a helper needs to each call of it."""

    def __init__(self, needs: dict):
        self.needs = needs  # helper name -> [parameter names]

    def visit_FunctionDef(self, node):
        self.generic_visit(node)
        return node

    def visit_Call(self, node):
        if isinstance(node.func, ast.Name) and node.func.id in self.needs:
            extra = self.needs[node.func.id]
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                raise CannotRewrite(f"call of helper {node.func.id} with keywords or *args")
            node.func.fastode_call = True
            self.generic_visit(node)
            node.args = node.args + [ast.Name(id=p, ctx=ast.Load()) for p in extra]
            return node
        self.generic_visit(node)
        return node

    def visit_Name(self, node):
        if node.id in self.needs and not getattr(node, "fastode_call", False):
            raise CannotRewrite(f"helper {node.id} used other than by a call")
        return node


def _param(i):
    return f"{PARAM}{i}"


def build(st: State, in_place=None):
    """The Python function to compile for State ``st``: run-time slots as trailing parameters
    (in slot order) when ``st.runtime``, else the function with its helpers substituted.

    ``in_place`` = (n, rewrite) applies ``rewrite(node, n, numpy_names)`` (fastode.rhs_inplace)
    to the root and adds its ``out`` parameter after the slots; returns None if it does not
    apply.
    """
    runtime_slots = {i for i, k in enumerate(st.kinds) if not (isinstance(k, tuple)
                                                               and k and k[0] == "frozen")}
    memo = {}
    if st.runtime:
        return _build_runtime(st.analysis.root, runtime_slots, memo, in_place)
    if in_place is not None:
        return None
    return _build_frozen(st.analysis.root, memo)


def _needs(info, runtime_slots):
    return [i for i in info.slots if i in runtime_slots]


def _build_runtime(info: _Fn, runtime_slots, memo, in_place=None):
    fn = info.fn
    node, filename = _function_node(fn)
    params = _needs(info, runtime_slots)
    if params and (node.args.defaults or node.args.kwonlyargs or node.args.vararg
                   or node.args.kwarg):
        raise CannotRewrite(f"{fn.__name__} has default or variable arguments")
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Global, ast.Nonlocal)):
            raise CannotRewrite("global/nonlocal statement")
    namespace = dict(fn.__globals__)
    needs = {}
    for name, child in info.helpers.items():
        key = id(child)
        if key not in memo:
            memo[key] = None  # recursion guard
            memo[key] = numba.njit(_build_runtime(child, runtime_slots, memo))
        namespace[name] = memo[key]
        child_params = _needs(child, runtime_slots)
        if child_params:
            needs[name] = [_param(i) for i in child_params]
    for name, value in info.consts.items():
        namespace[name] = value
    if needs:
        node = _CallRewriter(needs).visit(node)
    prologue = []
    for name, i in info.own_slots:
        if i in runtime_slots:
            prologue.append(ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())],
                                       value=ast.Name(id=_param(i), ctx=ast.Load())))
        else:  # a frozen slot (not packable): its current value, in the key by value
            d, ref = _slot_ref(info, name)
            namespace[name] = d[ref] if d is not None else ref.cell_contents
    for stmt in prologue:
        ast.copy_location(stmt, node.body[0])
    node.body = prologue + node.body
    node.args.args = node.args.args + [ast.arg(arg=_param(i)) for i in params]
    if in_place is not None:
        n, rewrite = in_place
        numpy_names = {k for k, v in namespace.items() if getattr(v, "__name__", None) == "numpy"}
        if not rewrite(node, n, numpy_names):
            return None
    module = ast.Module(body=[node], type_ignores=[])
    ast.fix_missing_locations(module)
    exec(compile(module, filename, "exec"), namespace)
    built = namespace[node.name]
    built.__fastode_built__ = True  # fastode.user_cache may rename it (never a user's object)
    return built


def _slot_ref(info: _Fn, name):
    fn = info.fn
    if name in fn.__code__.co_freevars:
        return None, fn.__closure__[fn.__code__.co_freevars.index(name)]
    return fn.__globals__, name


def _build_frozen(info: _Fn, memo):
    fn = info.fn
    if not info.helpers:
        # a copy, not the user's function: fastode.user_cache names built functions by content
        built = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__,
                                   fn.__closure__)
        built.__kwdefaults__ = fn.__kwdefaults__
        built.__qualname__ = fn.__qualname__
        built.__fastode_built__ = True
        return built
    namespace = dict(fn.__globals__)
    closure = list(fn.__closure__ or ())
    freevars = fn.__code__.co_freevars
    for name, child in info.helpers.items():
        key = id(child)
        if key not in memo:
            memo[key] = None
            memo[key] = numba.njit(_build_frozen(child, memo))
        if name in freevars:
            closure[freevars.index(name)] = types.CellType(memo[key])
        else:
            namespace[name] = memo[key]
    built = types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__,
                               tuple(closure) if closure else None)
    built.__kwdefaults__ = fn.__kwdefaults__
    built.__qualname__ = fn.__qualname__
    built.__fastode_built__ = True
    return built
