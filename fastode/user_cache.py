"""The user cache: compiled user functions kept on disk for the next process.

fastode compiles a user's ``fun`` (``jac``, events) into a numba ``cfunc`` wrapper
(fastode.rhs). Compiling a large RHS takes seconds, so the result is stored in the user cache
directory and loaded by later processes. The entry is found by a content key
(:func:`content_key`) that covers everything the compiled code depends on:

* the generated wrapper source (argument layout, sizes, failure handling) and its C signature;
* the bytecode, constants, defaults and closure values of the user function and of every helper
  it calls (as fastode.usercode built them: run-time parameters, frozen values), and every
  global they read, by value (numbers, arrays) or by name for library objects (``np``,
  ``math.sin``; the library's version is in the key);
* the versions of Python, numpy, numba, llvmlite and the source of fastode itself.

A function that reads anything the key cannot describe by value (an arbitrary object, a numba
function of the user's own, a module outside numpy/scipy/numba/math) is compiled as before and
kept for this process only. Every name a cached object defines carries the content hash, so
code loaded from disk never binds to another function's code of the same name.

Where: ``FASTODE_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/fastode`` (``~/.cache/fastode``;
``~/Library/Caches/fastode`` on macOS, ``%LOCALAPPDATA%\\fastode\\Cache`` on Windows); user
functions are in its ``user`` folder. Size cap: ``FASTODE_CACHE_MAX_MB`` (default 500; 0
turns the user cache off); after each write the least recently used entries are removed until
the folder is under the cap. numba writes every file to a temporary name and renames it, so
processes writing at once do not corrupt an entry (the loser's write replaces the same content).
``fastode cache info`` / ``fastode cache clear`` on the command line; :func:`info` and
:func:`clear` here.
"""
import dis
import hashlib
import os
import re
import sys
import time
import types
from pathlib import Path

import numpy as np

# bump when the key's layout or the stored entries change meaning
FORMAT = 1
DEFAULT_MAX_MB = 500
# modules whose objects are keyed by name (their version is in the key): numba knows their
# functions by identity, and a new version of one is a new key
_LIBRARY_ROOTS = {"numpy", "scipy", "numba", "fastode", "math", "cmath", "builtins", "llvmlite",
                  "operator"}

# what this process did with the user cache (the tests read it)
stats = {"loaded": 0, "saved": 0, "compiled": 0, "uncacheable": 0}


class Unkeyable(Exception):
    """A compiled function depends on something the content key cannot describe by value."""


# ---- where ------------------------------------------------------------------------------------

def cache_dir() -> Path:
    """The root of fastode's cache directory (``FASTODE_CACHE_DIR`` overrides the default).

    Returns
    -------
    pathlib.Path
        ``FASTODE_CACHE_DIR``, else the platform's user cache directory plus ``fastode``.
    """
    env = os.environ.get("FASTODE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "fastode" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "fastode"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fastode"


def user_dir() -> Path:
    """The folder of the compiled user functions."""
    return cache_dir() / "user"


def max_bytes() -> int:
    """The size cap of the user cache in bytes (``FASTODE_CACHE_MAX_MB``, default 500)."""
    try:
        mb = float(os.environ.get("FASTODE_CACHE_MAX_MB", DEFAULT_MAX_MB))
    except ValueError:
        mb = DEFAULT_MAX_MB
    return max(int(mb * 2 ** 20), 0)


def enabled() -> bool:
    """Whether user functions are cached on disk (off with ``FASTODE_CACHE_MAX_MB=0``)."""
    return max_bytes() > 0


# ---- entries ----------------------------------------------------------------------------------

# numba's files of one entry: <base>.nbi (index) and <base>.<n>.nbc (data), where <base> ends in
# the 20 hex digits of the content hash; temporary files add .tmp.<uid>
_ENTRY = re.compile(r"^(.*-[0-9a-f]{20})\.py\d+")


def _entries(folder: Path) -> dict:
    """{entry name: [(path, size, mtime), ...]} of the files in ``folder``."""
    groups: dict = {}
    try:
        scan = list(os.scandir(folder))
    except OSError:
        return groups
    for e in scan:
        if not e.is_file(follow_symlinks=False):
            continue
        m = _ENTRY.match(e.name)
        name = m.group(1) if m else e.name
        try:
            st = e.stat(follow_symlinks=False)
        except OSError:
            continue
        groups.setdefault(name, []).append((e.path, st.st_size, st.st_mtime))
    return groups


def info() -> dict:
    """What the user cache holds.

    Returns
    -------
    dict
        ``directory`` (the root), ``user_dir``, ``entries`` (compiled user functions),
        ``bytes`` (their size on disk), ``max_bytes`` (the cap; 0: disk cache off).
    """
    groups = _entries(user_dir())
    size = sum(s for files in groups.values() for _, s, _ in files)
    return {"directory": str(cache_dir()), "user_dir": str(user_dir()),
            "entries": sum(1 for files in groups.values()
                           if any(p.endswith(".nbi") for p, _, _ in files)),
            "bytes": size, "max_bytes": max_bytes()}


def clear() -> int:
    """Remove every compiled user function from the cache; returns the number of files removed.

    Functions already loaded in running processes keep working (their code is in memory).
    """
    removed = 0
    for files in _entries(user_dir()).values():
        for path, _, _ in files:
            try:
                os.remove(path)
                removed += 1
            except OSError:
                pass
    return removed


def evict(limit=None) -> int:
    """Remove least recently used entries until the user cache is under ``limit`` bytes
    (default: :func:`max_bytes`); returns the number of files removed. An entry's time is its
    newest file's (a load touches the index)."""
    limit = max_bytes() if limit is None else limit
    groups = _entries(user_dir())
    total = sum(s for files in groups.values() for _, s, _ in files)
    if total <= limit:
        return 0
    removed = 0
    now = time.time()
    for name, files in sorted(groups.items(), key=lambda kv: max(f[2] for f in kv[1])):
        if total <= limit:
            break
        if any(".tmp." in os.path.basename(p) and now - t < 60 for p, _, t in files):
            continue  # another process is writing it
        for path, size, _ in files:
            try:
                os.remove(path)
                removed += 1
                total -= size
            except OSError:
                pass
    return removed


# ---- the key ----------------------------------------------------------------------------------

_environment = None


def _fastode_source_hash() -> str:
    """A hash of fastode's own source: wrappers, numpy extensions and helpers it compiles in."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        h.update(str(path.relative_to(root)).encode())
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(b"?")
    return h.hexdigest()


def environment_key() -> tuple:
    """Versions of everything that compiles or is compiled into a user function."""
    global _environment
    if _environment is None:
        import llvmlite
        import numba
        from ._version import __version__
        from numba.core import config
        # numba settings that change the generated code (bounds checks, optimisation level)
        settings = tuple(repr(getattr(config, name, None))
                         for name in ("BOUNDSCHECK", "OPT", "DEBUGINFO_DEFAULT", "FASTMATH"))
        _environment = (FORMAT, sys.version, sys.platform, np.__version__, numba.__version__,
                        llvmlite.__version__, __version__, _fastode_source_hash(), settings)
    return _environment


def _code_key(code) -> tuple:
    """What numba compiles of a code object (not its line numbers or file name)."""
    return ("code", code.co_name, code.co_argcount, code.co_posonlyargcount,
            code.co_kwonlyargcount, code.co_flags, code.co_code.hex(),
            tuple(_const_key(c) for c in code.co_consts), code.co_names, code.co_varnames,
            code.co_freevars, code.co_cellvars,
            getattr(code, "co_exceptiontable", b"").hex())


def _const_key(c):
    if isinstance(c, types.CodeType):
        return _code_key(c)
    if isinstance(c, tuple):
        return ("tuple", tuple(_const_key(x) for x in c))
    if isinstance(c, frozenset):
        return ("frozenset", tuple(sorted(repr(_const_key(x)) for x in c)))
    return (type(c).__name__, repr(c))


def _global_names(code, out=None) -> set:
    """The global names the code (and code nested in it) reads."""
    out = set() if out is None else out
    for ins in dis.get_instructions(code):
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL", "DELETE_GLOBAL"):
            out.add(ins.argval)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            _global_names(c, out)
    return out


def _library_ref(v):
    """("lib", module, qualname, version) for an object its library module exposes by that
    name, else None."""
    module = getattr(v, "__module__", None)
    qualname = getattr(v, "__qualname__", None) or getattr(v, "__name__", None)
    candidates = []
    if isinstance(module, str) and isinstance(qualname, str):
        candidates.append((module, qualname))
    name = getattr(v, "__name__", None)
    if isinstance(name, str):  # numpy ufuncs and others exposed at the top level
        candidates += [("numpy", name), ("math", name), ("cmath", name)]
    for module, qualname in candidates:
        root = module.split(".")[0]
        if root not in _LIBRARY_ROOTS:
            continue
        obj = sys.modules.get(module)
        for part in qualname.split("."):
            obj = getattr(obj, part, None)
        if obj is v:
            return ("lib", module, qualname, _version(root))
    return None


def _version(root):
    if root in ("math", "cmath", "builtins", "operator"):
        return ""  # Python's version is in environment_key
    return str(getattr(sys.modules.get(root), "__version__", ""))


def _value_key(v, stack):
    """The key of a value a compiled function reads (a global, a closure cell, a default)."""
    t = type(v)
    if v is None or t in (bool, int, float, complex, str, bytes):
        return (t.__name__, repr(v))
    if isinstance(v, np.ndarray):
        if v.dtype.hasobject:
            raise Unkeyable("an object array")
        from .usercode import frozen_key
        return frozen_key(v)
    if isinstance(v, np.generic):
        return ("np", t.__name__, repr(v))
    if t is tuple:
        return ("tuple", tuple(_value_key(x, stack) for x in v))
    if t is frozenset:
        return ("frozenset", tuple(sorted(repr(_value_key(x, stack)) for x in v)))
    if isinstance(v, types.ModuleType):
        root = v.__name__.split(".")[0]
        if root in _LIBRARY_ROOTS:
            return ("module", v.__name__, _version(root))
        raise Unkeyable(f"module {v.__name__}")
    from numba.core.dispatcher import Dispatcher
    if isinstance(v, Dispatcher):
        py_func = v.py_func
        if getattr(py_func, "__fastode_built__", False):
            # a helper fastode.usercode rebuilt: keyed by content, and named after it
            options = repr(sorted((k, repr(o)) for k, o in v.targetoptions.items()))
            key = ("helper", options, function_key(py_func, stack))
            name_by_content(py_func, key)
            return key
        if py_func.__closure__ is None:
            ref = _library_ref(v)
            if ref is not None:
                return ref
        raise Unkeyable(f"the numba function {getattr(v, '__name__', '?')}")
    if t is types.FunctionType:
        ref = _library_ref(v)
        if ref is not None:
            return ref
        return ("function", function_key(v, stack))
    ref = _library_ref(v)
    if ref is not None:
        return ref
    if isinstance(v, type) and issubclass(v, BaseException):
        # a user's exception class: compiled code only raises it (and the wrapper catches it),
        # so its module-level name is its key
        module = sys.modules.get(getattr(v, "__module__", None) or "")
        if getattr(module, v.__qualname__, None) is v:
            return ("exception", v.__module__, v.__qualname__)
    from numba.core import types as nbtypes
    if isinstance(v, nbtypes.Type) and getattr(nbtypes, str(v), None) is v:
        return ("numba type", str(v))
    raise Unkeyable(f"a {t.__name__}")


def function_key(fn, stack=()) -> tuple:
    """The key of a plain Python function as numba compiles it: its code, defaults, closure
    values and the globals it reads (helpers recursively). Raises :class:`Unkeyable`."""
    if any(fn is f for f in stack):
        raise Unkeyable("a recursive function")
    stack = stack + (fn,)
    code = fn.__code__
    parts = [_code_key(code)]
    if fn.__defaults__:
        parts.append(("defaults", _value_key(fn.__defaults__, stack)))
    if fn.__kwdefaults__:
        parts.append(("kwdefaults", tuple((k, _value_key(fn.__kwdefaults__[k], stack))
                                          for k in sorted(fn.__kwdefaults__))))
    for name, cell in zip(code.co_freevars, fn.__closure__ or ()):
        try:
            value = cell.cell_contents
        except ValueError:
            raise Unkeyable("an empty closure cell") from None
        parts.append(("cell", name, _value_key(value, stack)))
    g = fn.__globals__
    for name in sorted(_global_names(code)):
        if name in g:
            parts.append(("global", name, _value_key(g[name], stack)))
    return tuple(parts)


def digest(key) -> str:
    return hashlib.sha256(repr(key).encode()).hexdigest()


def name_by_content(fn, key) -> None:
    """Give a function built by fastode a ``__qualname__`` that carries its content hash.

    numba names compiled functions after module, qualname and a per-process counter, and links
    callees as weak symbols: a cached object whose callee has the same name as another function
    compiled in this process would call that one. With the hash in the name, equal names mean
    equal code.
    """
    base = getattr(fn, "__fastode_qualname__", None)
    if base is None:
        base = fn.__fastode_qualname__ = fn.__qualname__
    fn.__qualname__ = f"{base}__fastode_{digest(key)[:20]}"


def content_key(fn, source: str, wrapper: str, signature) -> tuple:
    """The content key of the wrapper ``source`` (named ``wrapper``, compiled with C signature
    ``signature``) around the built user function ``fn``. Raises :class:`Unkeyable`."""
    return (environment_key(), wrapper, str(signature), source, function_key(fn))


# ---- numba's cache, pointed at the user cache ---------------------------------------------------

def _caching():
    from numba.core import caching
    return caching


_cache_class = None


def _make_cache_class():
    caching = _caching()

    class _Locator(caching._CacheLocator):
        """Entries in the user cache folder; the content hash is the source stamp."""

        def __init__(self, path, stamp):
            self._path = path
            self._stamp = stamp
            self._py_file = "<fastode user function>"  # numba's warnings name it

        def ensure_cache_path(self):
            os.makedirs(self._path, exist_ok=True)

        def get_cache_path(self):
            return self._path

        def get_source_stamp(self):
            return self._stamp

        def get_disambiguator(self):
            return self._stamp[:20]

        @classmethod
        def from_function(cls, py_func, py_file):
            stamp = getattr(py_func, "__fastode_cache_key__", None)
            return None if stamp is None else cls(str(user_dir()), stamp)

    class _Impl(caching.CompileResultCacheImpl):
        # not CacheImpl.__init__: it would consult NUMBA_CACHE_LOCATOR_CLASSES and the file
        def __init__(self, py_func):
            self._lineno = 0
            self._locator = _Locator.from_function(py_func, None)
            name = re.sub(r"[^A-Za-z0-9_]", "", getattr(py_func, "__fastode_qualname__",
                                                        py_func.__name__))[:40]
            self._filename_base = (f"{name}-{self._locator.get_disambiguator()}"
                                   f".py{sys.version_info[0]}{sys.version_info[1]}")

    class UserFunctionCache(caching.FunctionCache):
        """numba's FunctionCache in the user cache; a broken or unreadable entry is a miss and
        a failed write is skipped (the function is compiled either way)."""
        _impl_class = _Impl

        def load_overload(self, sig, target_context):
            try:
                data = super().load_overload(sig, target_context)
            except Exception:  # a truncated, foreign or unreadable entry: compile instead
                data = None
            if data is not None:
                stats["loaded"] += 1
                try:  # the entry's time for the least-recently-used eviction
                    os.utime(self._cache_file._index_path)
                except OSError:
                    pass
            return data

        def save_overload(self, sig, data):
            stats["compiled"] += 1
            try:
                super().save_overload(sig, data)
            except Exception:  # unpicklable constants, a full disk, a read-only folder
                return
            stats["saved"] += 1
            try:
                evict()
            except OSError:
                pass

    return UserFunctionCache


def compile_cfunc(py_func, signature, key, **options):
    """``numba.cfunc(signature, **options)(py_func)``, loaded from / saved to the user cache
    under ``key`` (a content key; None: compiled for this process only).

    The returned object's ``cache_hits`` is 1 when it was loaded from disk.
    """
    from numba.core import sigutils
    from numba.core.ccallback import CFunc
    global _cache_class
    args, return_type = sigutils.normalize_signature(signature)
    cf = CFunc(py_func, (args, return_type), locals={}, options=options)
    if key is not None and enabled():
        if _cache_class is None:
            _cache_class = _make_cache_class()
        py_func.__fastode_cache_key__ = digest(key)
        try:
            cf._cache = _cache_class(py_func)
        except Exception:  # e.g. no home directory: this process only
            pass
    cf.compile()
    return cf
